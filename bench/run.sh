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
#    UDP: 60-byte frames injected at c3's interface, dropped by a TC program
#    at the server; the rate is what reaches the server. TCP: connections
#    per second, each one SYN to close. Configurations alternate round by
#    round (a b c a b c ...), medians are compared.
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
# SNAT ports from the same space masquerade uses, so that the TCP test
# measures forwarding and not the size of the default range: every test
# connection holds its port for the closing timeout after it ends.
printf 'map udp wan:5353 %s:53\nmap tcp wan:8080 %s:80\nsnat-ports 1024-65535\n' \
	$SRV_ADDR $SRV_ADDR >"/tmp/hp-bench-$ID.conf"

config() { # config a|b|c: set the router up for one configuration
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

target() { # target a|b|c PROTO: the address and port the client sends to
	case $1:$2 in
	a:udp) echo "$SRV_ADDR 53" ;;
	a:tcp) echo "$SRV_ADDR 80" ;;
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
	for c in a b c; do
		config $c
		set -- $(target $c udp)
		before=$(rx)
		sent=$(in_ns "$C3" taskset -c 1 $B/inject eth0 "$router_mac" $C3_ADDR "$1" "$2" "$SECS")
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
	for c in a b c; do
		config $c
		set -- $(target $c tcp)
		res=($(in_ns "$C3" taskset -c 1 $B/connrate client "$1" "$2" "$SECS"))
		tcp[$c]="${tcp[$c]:-} $((res[0] / SECS))"
		extra=
		[ $c = c ] && extra=", snat_exhausted $(hp -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["snat_exhausted"])')"
		printf '  round %d %s: %d conn/s, %d failed%s\n' "$r" $c $((res[0] / SECS)) "${res[1]}" "$extra"
	done
done
config a

echo
printf '%-34s %12s %12s\n' "median" "UDP pkt/s" "TCP conn/s"
names=([a]="a) plain routing, no NAT" [b]="b) nftables DNAT + masquerade" [c]="c) hairpin")

for c in a b c; do
	udp_m[$c]=$(echo ${udp[$c]} | tr ' ' '\n' | median)
	tcp_m[$c]=$(echo ${tcp[$c]} | tr ' ' '\n' | median)
	printf '%-34s %12d %12d\n' "${names[$c]}" "${udp_m[$c]}" "${tcp_m[$c]}"
done
ratio() { awk -v x="$1" -v y="$2" 'BEGIN {printf "%.2f", y ? x / y : 0}'; }
printf '%-34s %12s %12s\n' "ratio c/b (hairpin / nftables)" "$(ratio ${udp_m[c]} ${udp_m[b]})" "$(ratio ${tcp_m[c]} ${tcp_m[b]})"
printf '%-34s %12s %12s\n' "ratio c/a (hairpin / routing)" "$(ratio ${udp_m[c]} ${udp_m[a]})" "$(ratio ${tcp_m[c]} ${tcp_m[a]})"
rm -f "/tmp/hp-bench-$ID.conf"
