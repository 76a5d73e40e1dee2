#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# make bench: what hairpin costs, measured against the alternatives in one run.
#
# 1. Per-packet cost of each datapath path (BPF_PROG_TEST_RUN).
# 2. Through a router in namespaces (tests/e2e/lib.sh's network), a client on
#    a routed subnet (c3) reaches the LAN server by three configurations:
#      a) plain routing to the server's address, no NAT
#      b) nftables DNAT + masquerade to the public address (fw4's reflection)
#      c) hairpin to the public address
#    and, as the baseline, 0) a client on the server's own LAN (c1) that
#    reaches it through the bridge without the router's IP layer.
#    UDP: 60-byte frames injected at the client's interface, dropped by a TC
#    program at the server; the rate is what reaches the server. TCP:
#    connections per second, each one SYN to close. Configurations alternate
#    round by round (0 a b c 0 a b c ...), medians are compared. On veth the
#    whole path runs in the sender's softirq, so 1/rate is the CPU time of a
#    packet; minus the baseline's, it is what the router itself spends.
set -eu
cd "$(dirname "$0")/.."
source tests/e2e/lib.sh
B=build/bench
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-2}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
echo
$B/prog_cost
echo

trap topo_down EXIT
topo_up
in_ns "$C3" ping -c1 -W1 -q $SRV_ADDR >/dev/null
in_ns "$R" ping -c1 -W1 -q $SRV_ADDR >/dev/null
# The sink drops ARP too: pin the router's neighbour entry for the server.
srv_mac=$(in_ns "$SRV" cat /sys/class/net/eth0/address)
in_ns "$R" ip neigh replace $SRV_ADDR lladdr "$srv_mac" dev br-lan nud permanent
router_mac=$(in_ns "$R" cat /sys/class/net/lan2/address)
in_ns "$C1" ip neigh replace $SRV_ADDR lladdr "$srv_mac" dev eth0 nud permanent
# SNAT ports from nearly the space masquerade uses, so that the TCP test
# measures forwarding and not the size of the default range: every test
# connection holds its port for the closing timeout after it ends. The range
# covers the client's ephemeral ports, so each keeps its own port, as
# masquerade keeps it; a port handed to another client while the server
# still holds the last connection on it in TIME_WAIT would cost a SYN
# retransmission (README, SNAT ports). The router's own local ports move
# out of the way, as attach insists.
in_ns "$R" sysctl -qw net.ipv4.ip_local_port_range="1024 2047"
printf 'map udp wan:5353 %s:53\nmap tcp wan:8080 %s:80\nsnat-ports 2048-65535\n' \
	$SRV_ADDR $SRV_ADDR >"/tmp/hp-bench-$ID.conf"

config() { # config 0|a|b|c: set the router up for one configuration
	[ -d "$PIN" ] && hp detach
	in_ns "$R" nft flush ruleset
	case $1 in
	b)
		in_ns "$R" nft -f - <<NFT
table ip nat {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr $PUB udp dport 5353 dnat to $SRV_ADDR:53
		ip daddr $PUB tcp dport 8080 dnat to $SRV_ADDR:80
	}
	chain post {
		type nat hook postrouting priority srcnat;
		ip daddr $SRV_ADDR ct status dnat masquerade
	}
}
NFT
		;;
	c) hp attach --lan br-lan,lan2 --wan wan0 -c "/tmp/hp-bench-$ID.conf" ;;
	esac
}

client() { # client 0|a|b|c: the namespace that sends
	[ $1 = 0 ] && echo "$C1" || echo "$C3"
}

target() { # target 0|a|b|c PROTO: the address and port the client sends to
	case $1:$2 in
	[0a]:udp) echo "$SRV_ADDR 53" ;;
	[0a]:tcp) echo "$SRV_ADDR 80" ;;
	*:udp) echo "$PUB 5353" ;;
	*:tcp) echo "$PUB 8080" ;;
	esac
}

rx() { in_ns "$SRV" cat /sys/class/net/eth0/statistics/rx_packets; }

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

declare -A udp tcp udp_m tcp_m names
echo "UDP: 60-byte frames, $ROUNDS rounds of ${SECS}s per configuration, alternating"
in_ns "$SRV" tc qdisc add dev eth0 clsact
in_ns "$SRV" tc filter add dev eth0 ingress bpf da obj $B/sink.bpf.o sec tc
in_ns "$C3" $B/inject eth0 "$router_mac" $C3_ADDR $SRV_ADDR 53 1 >/dev/null # warm-up
for r in $(seq "$ROUNDS"); do
	for c in 0 a b c; do
		config $c
		set -- $(target $c udp)
		mac=$router_mac src=$C3_ADDR
		[ $c = 0 ] && mac=$srv_mac src=$C1_ADDR
		before=$(rx)
		sent=$(in_ns "$(client $c)" taskset -c 1 $B/inject eth0 "$mac" $src "$1" "$2" "$SECS")
		got=$(($(rx) - before))
		udp[$c]="${udp[$c]:-} $((got / SECS))"
		printf '  round %d %s: sent %d/s, reached the server %d/s\n' "$r" $c $((sent / SECS)) $((got / SECS))
	done
done
in_ns "$SRV" tc qdisc del dev eth0 clsact

echo "TCP: connections per second, $ROUNDS rounds of ${SECS}s per configuration, alternating"
ip netns exec "$SRV" $B/connrate server 80 &
disown # ended with the namespace, quietly
wait_listen "$SRV" 80 tcp
for r in $(seq "$ROUNDS"); do
	for c in 0 a b c; do
		config $c
		set -- $(target $c tcp)
		res=($(in_ns "$(client $c)" taskset -c 1 $B/connrate client "$1" "$2" "$SECS"))
		tcp[$c]="${tcp[$c]:-} $((res[0] / SECS))"
		extra=
		[ $c = c ] && extra=", snat_exhausted $(hp -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["snat_exhausted"])')"
		printf '  round %d %s: %d conn/s, %d failed%s\n' "$r" $c $((res[0] / SECS)) "${res[1]}" "$extra"
	done
done
config a

echo
names=([0]="0) same LAN, bridge only (baseline)" [a]="a) plain routing, no NAT"
	[b]="b) nftables DNAT + masquerade" [c]="c) hairpin")
# The router's own cost of one packet or connection: 1/rate minus the baseline's.
cost() { # cost RATE BASE_RATE UNIT [DECIMALS]
	awk -v x="$1" -v base="$2" -v unit="$3" -v d="${4:-0}" \
		'BEGIN {printf "%.*f", d, x ? unit / x - unit / base : 0}'
}
printf '%-36s %10s %9s %11s %9s\n' "median" "UDP pkt/s" "router ns" "TCP conn/s" "router us"
for c in 0 a b c; do
	udp_m[$c]=$(echo ${udp[$c]} | tr ' ' '\n' | median)
	tcp_m[$c]=$(echo ${tcp[$c]} | tr ' ' '\n' | median)
	printf '%-36s %10d %9s %11d %9s\n' "${names[$c]}" "${udp_m[$c]}" \
		"$([ $c = 0 ] && echo - || cost ${udp_m[$c]} ${udp_m[0]} 1e9)" "${tcp_m[$c]}" \
		"$([ $c = 0 ] && echo - || cost ${tcp_m[$c]} ${tcp_m[0]} 1e6 1)"
done
ratio() { awk -v x="$1" -v y="$2" 'BEGIN {printf "%.2f", y ? x / y : 0}'; }
printf '%-36s %10s %9s %11s %9s\n' "rate ratio c/b (hairpin / nftables)" \
	"$(ratio ${udp_m[c]} ${udp_m[b]})" "" "$(ratio ${tcp_m[c]} ${tcp_m[b]})" ""
printf '%-36s %10s %9s %11s %9s\n' "rate ratio c/a (hairpin / routing)" \
	"$(ratio ${udp_m[c]} ${udp_m[a]})" "" "$(ratio ${tcp_m[c]} ${tcp_m[a]})" ""
printf '%-36s %10s %9s %11s %9s\n' "router cost ratio c/b" "" \
	"$(ratio $(cost ${udp_m[c]} ${udp_m[0]} 1e9) $(cost ${udp_m[b]} ${udp_m[0]} 1e9))" "" \
	"$(ratio $(cost ${tcp_m[c]} ${tcp_m[0]} 1e9) $(cost ${tcp_m[b]} ${tcp_m[0]} 1e9))"
rm -f "/tmp/hp-bench-$ID.conf"
