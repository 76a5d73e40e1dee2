#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# make bench: what hairpin costs, measured against the alternatives in one run.
#
# 1. Per-packet cost of each datapath path (BPF_PROG_TEST_RUN), the fast
#    path's with 1000 and with 200000 connections in the table.
# 2. Through a router in namespaces (tests/e2e/lib.sh's network), two paths
#    to the LAN server: the hairpin (a client on a routed LAN subnet, c3, to
#    the public address) and the port forward (the WAN client, w, to the
#    public address), each by four configurations:
#      a) plain routing to the server's address, no NAT
#      b) nftables DNAT (+ masquerade for the hairpin: fw4's reflection)
#      c) hairpin with every packet through the stack (fastpath off)
#      d) hairpin with the fast path (the default)
#      f) the floor of any TC fast path: bench/floor.bpf.c forwards each
#         packet at the router's ingress (FIB lookup, TTL, MACs, redirect)
#         to the server's address, with no NAT and no tables
#    and, as the baseline, 0) a client on the server's own LAN (c1) that
#    reaches it through the bridge without the router's IP layer.
#    UDP: 60-byte frames from 64 source ports injected at the client's
#    interface, dropped by a TC program at the server; the rate is what
#    reaches the server. (d) also with 10000 source ports, to show the fast
#    path's rate does not fall with the number of flows. TCP: connections
#    per second over the hairpin, each one SYN to close. Configurations
#    alternate round by round (0 a b c d 0 a b c d ...), medians are
#    compared. On veth the whole path runs in the sender's softirq, so
#    1/rate is the CPU time of a packet; minus the baseline's, it is what
#    the router itself spends.
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
wan_mac=$(in_ns "$R" cat /sys/class/net/wan0/address)
in_ns "$W" ping -c1 -W1 -q $SRV_ADDR >/dev/null
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
{ cat "/tmp/hp-bench-$ID.conf"; echo "fastpath off"; } >"/tmp/hp-bench-$ID-stack.conf"

config() { # config 0|a|b|c|d|f: set the router up for one configuration
	local dev
	[ "$1" = "${current:-}" ] && return
	if [ "${current:-}" = f ]; then
		for dev in lan2 wan0; do in_ns "$R" tc qdisc del dev $dev clsact; done
	fi
	current=$1
	[ -d "$PIN" ] && hp detach >/dev/null
	in_ns "$R" nft flush ruleset
	case $1 in
	f)
		for dev in lan2 wan0; do
			in_ns "$R" tc qdisc add dev $dev clsact
			in_ns "$R" tc filter add dev $dev ingress bpf da obj $B/floor.bpf.o sec tc
		done
		;;
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
		ip saddr 198.51.100.0/24 ip daddr $SRV_ADDR ct status dnat masquerade
	}
}
NFT
		;;
	c) hp attach --lan br-lan,lan2 --wan wan0 -c "/tmp/hp-bench-$ID-stack.conf" >/dev/null ;;
	d) hp attach --lan br-lan,lan2 --wan wan0 -c "/tmp/hp-bench-$ID.conf" >/dev/null ;;
	esac
}

target() { # target 0|a|b|c|d PROTO: the address and port the client sends to
	case $1:$2 in
	[0af]:udp) echo "$SRV_ADDR 53" ;;
	[0a]:tcp) echo "$SRV_ADDR 80" ;;
	*:udp) echo "$PUB 5353" ;;
	*:tcp) echo "$PUB 8080" ;;
	esac
}

# UDP runs: configuration, path (lan: the baseline; hp: hairpin from c3;
# pf: port forward from w), source ports.
UDP_RUNS="0:lan:64 a:hp:64 a:pf:64 f:hp:64 f:pf:64 b:hp:64 b:pf:64 c:hp:64 c:pf:64 d:hp:64 d:pf:64 d:hp:10000"

rx() { in_ns "$SRV" cat /sys/class/net/eth0/statistics/rx_packets; }

sink() { # sink on|off: the server's TC program that counts and drops, or its echo server
	if [ $1 = on ]; then
		in_ns "$SRV" tc filter add dev eth0 ingress bpf da obj $B/sink.bpf.o sec tc
	else
		in_ns "$SRV" tc filter del dev eth0 ingress
	fi
}

# Every flow answered by the echo server, then one more datagram 2 s later.
assure() { # assure NS MAC SRC DST PORT FLOWS
	sink off
	for pass in 1 2; do
		in_ns $1 $B/inject eth0 "$2" $3 "$4" "$5" 0 "$6" >/dev/null
		sleep 0.3
	done
	sleep 2
	in_ns $1 $B/inject eth0 "$2" $3 "$4" "$5" 0 "$6" >/dev/null
	sleep 0.3
	sink on
}

declare -A udp tcp udp_m tcp_m names
echo "UDP: 60-byte frames, $ROUNDS rounds of ${SECS}s per configuration, alternating"
in_ns "$SRV" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 1 << 24)  # SO_RCVBUFFORCE: 10000 flows at once
s.bind(("0.0.0.0", 53))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)' &
disown
wait_listen "$SRV" 53 udp
in_ns "$SRV" tc qdisc add dev eth0 clsact
sink on
in_ns "$C3" $B/inject eth0 "$router_mac" $C3_ADDR $SRV_ADDR 53 1 >/dev/null # warm-up
for r in $(seq "$ROUNDS"); do
	for run in $UDP_RUNS; do
		IFS=: read -r c path flows <<<"$run"
		config $c
		set -- $(target $c udp)
		case $path in
		lan) ns=$C1 mac=$srv_mac src=$C1_ADDR ;;
		hp) ns=$C3 mac=$router_mac src=$C3_ADDR ;;
		pf) ns=$W mac=$wan_mac src=$WAN_CLIENT ;;
		esac
		# Each flow's first packet goes through the stack: not part of the measure.
		in_ns $ns $B/inject eth0 "$mac" $src "$1" "$2" 0.5 "$flows" >/dev/null
		# The fast path takes assured connections, as flowtables take
		# established ones: a UDP flow is once a reply came and 2 s passed.
		[ $c = d ] && assure $ns "$mac" $src "$1" "$2" "$flows"
		before=$(rx)
		sent=$(in_ns $ns taskset -c 1 $B/inject eth0 "$mac" $src "$1" "$2" "$SECS" "$flows")
		got=$(($(rx) - before))
		udp[$run]="${udp[$run]:-} $((got / SECS))"
		extra=
		[ $c = d ] && extra=", fast-pathed so far $(counter fastpath)"
		printf '  round %d %-12s sent %d/s, reached the server %d/s%s\n' "$r" "$run" \
			$((sent / SECS)) $((got / SECS)) "$extra"
	done
done
in_ns "$SRV" tc qdisc del dev eth0 clsact

echo "TCP: connections per second, $ROUNDS rounds of ${SECS}s per configuration, alternating"
ip netns exec "$SRV" $B/connrate server 80 &
disown # ended with the namespace, quietly
wait_listen "$SRV" 80 tcp
for r in $(seq "$ROUNDS"); do
	for c in 0 a b c d; do
		config $c
		set -- $(target $c tcp)
		ns=$C3
		[ $c = 0 ] && ns=$C1
		res=($(in_ns $ns taskset -c 1 $B/connrate client "$1" "$2" "$SECS"))
		tcp[$c]="${tcp[$c]:-} $((res[0] / SECS))"
		extra=
		case $c in [cd]) extra=", snat_exhausted $(counter snat_exhausted)" ;; esac
		printf '  round %d %s: %d conn/s, %d failed%s\n' "$r" $c $((res[0] / SECS)) "${res[1]}" "$extra"
	done
done
config a

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# Round by round: the speed of a shared machine drifts from one round to the
# next, while the configurations of one round ran within a minute of each
# other. So every cost and ratio below is the median over rounds of that
# round's own figure, against that round's own baseline.
rounds() { tr ' ' '\n' <<<"$1" | grep .; } # one value per line, in round order
# The router's own cost of one packet or connection in each round: 1/rate
# minus the round's baseline's.
round_costs() { # round_costs RATES BASE_RATES UNIT
	paste -d' ' <(rounds "$1") <(rounds "$2") |
		awk -v unit="$3" '{print $1 && $2 ? unit / $1 - unit / $2 : 0}'
}
round_ratio() { # round_ratio LIST_X LIST_Y: the median of the rounds' x/y
	paste -d' ' <(echo "$1") <(echo "$2") | awk '{print $2 ? $1 / $2 : 0}' | median |
		xargs printf '%.2f'
}
fmt() { xargs printf "%.${1}f"; }
declare -A ucost tcost
for run in $UDP_RUNS; do
	udp_m[$run]=$(rounds "${udp[$run]}" | median)
	ucost[$run]=$(round_costs "${udp[$run]}" "${udp[0:lan:64]}" 1e9)
done
for c in 0 a b c d; do
	tcp_m[$c]=$(rounds "${tcp[$c]}" | median)
	tcost[$c]=$(round_costs "${tcp[$c]}" "${tcp[0]}" 1e6)
done

echo
names=([a]="a) plain routing, no NAT" [b]="b) nftables DNAT (+ masquerade)"
	[c]="c) hairpin, stack (fastpath off)" [d]="d) hairpin, fast path"
	[f]="f) TC floor: FIB + redirect, no NAT")
printf '%-36s %10s %9s %10s %9s %11s %9s\n' "median" "hairpin" "router" "port fwd" "router" \
	"TCP conn/s" "router"
printf '%-36s %10s %9s %10s %9s %11s %9s\n' "" "UDP pkt/s" "ns/pkt" "UDP pkt/s" "ns/pkt" \
	"(hairpin)" "us/conn"
printf '%-36s %10d %9s %10s %9s %11d %9s\n' "0) same LAN, bridge only (baseline)" \
	"${udp_m[0:lan:64]}" - - - "${tcp_m[0]}" -
for c in a b c d; do
	printf '%-36s %10d %9s %10d %9s %11d %9s\n' "${names[$c]}" "${udp_m[$c:hp:64]}" \
		"$(median <<<"${ucost[$c:hp:64]}" | fmt 0)" "${udp_m[$c:pf:64]}" \
		"$(median <<<"${ucost[$c:pf:64]}" | fmt 0)" "${tcp_m[$c]}" \
		"$(median <<<"${tcost[$c]}" | fmt 1)"
done
printf '%-36s %10d %9s %10d %9s %11s %9s\n' "${names[f]}" "${udp_m[f:hp:64]}" \
	"$(median <<<"${ucost[f:hp:64]}" | fmt 0)" "${udp_m[f:pf:64]}" \
	"$(median <<<"${ucost[f:pf:64]}" | fmt 0)" - -
# Router cost ratios x/d: how many times what the fast path costs the router.
costratio() { round_ratio "${ucost[$1:$2:64]}" "${ucost[d:$2:64]}"; } # costratio CONFIG PATH
rateratio() { round_ratio "$(rounds "${udp[$1]}")" "$(rounds "${udp[$2]}")"; } # rateratio RUN RUN
printf '%-36s %10s %9s %10s %9s %11s\n' "router cost ratio b/d (nft / fast)" "" \
	"$(costratio b hp)" "" "$(costratio b pf)" ""
printf '%-36s %10s %9s %10s %9s %11s\n' "router cost ratio a/d (routing / fast)" "" \
	"$(costratio a hp)" "" "$(costratio a pf)" ""
printf '%-36s %10s %9s %10s %9s %11s\n' "router cost ratio c/d (stack / fast)" "" \
	"$(costratio c hp)" "" "$(costratio c pf)" ""
printf '%-36s %10s %9s %10s %9s %11s\n' "router cost ratio f/d (floor / fast)" "" \
	"$(costratio f hp)" "" "$(costratio f pf)" ""
# The floor against routing: how far below routing any TC fast path can go.
printf '%-36s %10s %9s %10s %9s %11s\n' "router cost ratio a/f (routing / floor)" "" \
	"$(round_ratio "${ucost[a:hp:64]}" "${ucost[f:hp:64]}")" "" \
	"$(round_ratio "${ucost[a:pf:64]}" "${ucost[f:pf:64]}")" ""
printf '%-36s %10s %9s %10s %9s %11s\n' "rate ratio d/b (fast / nftables)" \
	"$(rateratio d:hp:64 b:hp:64)" "" "$(rateratio d:pf:64 b:pf:64)" "" \
	"$(round_ratio "$(rounds "${tcp[d]}")" "$(rounds "${tcp[b]}")")"
printf '%-36s %10s %9s %10s %9s %11s\n' "rate ratio d/a (fast / routing)" \
	"$(rateratio d:hp:64 a:hp:64)" "" "$(rateratio d:pf:64 a:pf:64)" "" \
	"$(round_ratio "$(rounds "${tcp[d]}")" "$(rounds "${tcp[a]}")")"
echo
printf 'fast path, hairpin UDP with 64 flows: %d pkt/s, with 10000 flows: %d pkt/s (ratio %s)\n' \
	"${udp_m[d:hp:64]}" "${udp_m[d:hp:10000]}" "$(rateratio d:hp:64 d:hp:10000)"
rm -f "/tmp/hp-bench-$ID.conf" "/tmp/hp-bench-$ID-stack.conf"

# The XDP program, on a network of its own.
topo_down
trap - EXIT
source bench/xdp.sh
xdp_bench
