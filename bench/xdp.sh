# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# make bench, last part: the XDP program through a namespace router. Sourced
# by bench/run.sh after its own network is down. The server sits on a veth
# of its own here (a bridge takes no XDP frames), with GRO on so that the
# router's side takes frames redirected to it:
#
#   wb 192.0.2.30 ── eth1 ┐
#                          srv 192.0.2.20 ── eth0 ── lsrv 192.0.2.1 router wan0 203.0.113.1 ── w
#
# Port-forwarded UDP from w, configurations alternating round by round:
#   0) baseline: wb straight to the server, no router
#   a) plain routing from w to the server's address
#   d) hairpin's TC fast path (no XDP)
#   e) hairpin's XDP fast path, native XDP on the router's veths
# On veth, native XDP gets each frame as an skb from the sending side and
# copies it into an XDP buffer first (veth_xdp_rcv_skb), and hands the
# server's side an XDP frame it must make an skb of again: costs a NIC with
# native XDP does not have, where XDP sees the frame in the driver's own
# buffer before any skb is allocated.

XR=hp$ID-xr XW=hp$ID-xw XB=hp$ID-xb XS=hp$ID-xs
XNS="$XR $XW $XB $XS"

xhp() { nsenter --net=/run/netns/"$XR" "$HP" --pin-dir "$PIN-xdp" "$@"; }

xdp_topo_up() {
	local ns
	for ns in $XNS; do ip netns add "$ns"; done
	in_ns "$XR" ip link set lo up
	in_ns "$XR" sysctl -qw net.ipv4.ip_forward=1
	link "$XR" wan0 "$XW" eth0
	link "$XR" lsrv "$XS" eth0
	link "$XB" eth0 "$XS" eth1
	in_ns "$XR" ip addr add $PUB/24 dev wan0
	in_ns "$XR" ip addr add $LAN_ROUTER/24 dev lsrv
	host "$XW" eth0 $WAN_CLIENT/24 $PUB
	host "$XS" eth0 $SRV_ADDR/24 $LAN_ROUTER
	in_ns "$XS" ip addr add 192.0.2.129/25 dev eth1
	in_ns "$XB" ip link set lo up
	in_ns "$XB" ip addr add 192.0.2.130/25 dev eth0
	for ns in "$XW:eth0" "$XS:eth0" "$XS:eth1"; do
		in_ns "${ns%:*}" ethtool -K "${ns#*:}" tx off gro on >/dev/null
	done
	in_ns "$XW" ping -c1 -W2 -q $SRV_ADDR >/dev/null
	in_ns "$XB" ping -c1 -W2 -q 192.0.2.129 >/dev/null
	# The sink drops ARP too: static neighbours towards the server.
	in_ns "$XR" ip neigh replace $SRV_ADDR lladdr "$(in_ns "$XS" cat /sys/class/net/eth0/address)" \
		dev lsrv nud permanent
	in_ns "$XB" ip neigh replace 192.0.2.129 \
		lladdr "$(in_ns "$XS" cat /sys/class/net/eth1/address)" dev eth0 nud permanent
}

xdp_topo_down() {
	[ -d "$PIN-xdp" ] && xhp detach >/dev/null 2>&1
	netns_del $XNS
	rm -rf "$PIN-xdp" "/tmp/hp-bench-$ID-xdp.conf"
}

xconfig() { # xconfig 0|a|d|e
	[ "$1" = "${xcurrent:-}" ] && return
	xcurrent=$1
	[ -d "$PIN-xdp" ] && xhp detach >/dev/null
	case $1 in
	d) xhp attach --lan lsrv --wan wan0 -c "/tmp/hp-bench-$ID-xdp.conf" >/dev/null ;;
	e) xhp attach --lan lsrv --wan wan0 --xdp native -c "/tmp/hp-bench-$ID-xdp.conf" >/dev/null ;;
	esac
}

xsink() { # xsink on|off: drop (and count) at the server's TC ingress, or let the echo server answer
	local dev
	for dev in eth0 eth1; do
		if [ $1 = on ]; then
			in_ns "$XS" tc filter add dev $dev ingress bpf da obj $B/sink.bpf.o sec tc
		else
			in_ns "$XS" tc filter del dev $dev ingress
		fi
	done
}

xrx() { in_ns "$XS" cat /sys/class/net/$1/statistics/rx_packets; }

xdp_bench() {
	local r c ns mac src dst port dev before sent got
	declare -A xudp xudp_m xcost xnames
	trap xdp_topo_down EXIT
	xdp_topo_up
	printf 'map udp wan:5353 %s:53\n' $SRV_ADDR >"/tmp/hp-bench-$ID-xdp.conf"
	in_ns "$XS" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)' &
	disown
	for dev in eth0 eth1; do in_ns "$XS" tc qdisc add dev $dev clsact; done
	xsink on
	echo
	echo "XDP: port-forwarded 60-byte UDP frames from 64 flows, server on its own veth (GRO on)," \
		"$ROUNDS rounds of ${SECS}s, alternating"
	for r in $(seq "$ROUNDS"); do
		for c in 0 a d e; do
			xconfig $c
			case $c in
			0) ns=$XB dev=eth1 src=192.0.2.130 dst="192.0.2.129 53"
			   mac=$(in_ns "$XS" cat /sys/class/net/eth1/address) ;;
			a) ns=$XW dev=eth0 src=$WAN_CLIENT dst="$SRV_ADDR 53"
			   mac=$(in_ns "$XR" cat /sys/class/net/wan0/address) ;;
			*) ns=$XW dev=eth0 src=$WAN_CLIENT dst="$PUB 5353"
			   mac=$(in_ns "$XR" cat /sys/class/net/wan0/address) ;;
			esac
			if [ $c = d ] || [ $c = e ]; then
				# Assured flows: answered, then one more datagram 2 s later.
				xsink off
				in_ns $ns $B/inject eth0 "$mac" $src $dst 0 64 >/dev/null
				sleep 2.1
				in_ns $ns $B/inject eth0 "$mac" $src $dst 0 64 >/dev/null
				sleep 0.3
				xsink on
			fi
			before=$(xrx $dev)
			sent=$(in_ns $ns taskset -c 1 $B/inject eth0 "$mac" $src $dst "$SECS" 64)
			got=$(($(xrx $dev) - before))
			xudp[$c]="${xudp[$c]:-} $((got / SECS))"
			extra=
			[ $c = d ] || [ $c = e ] && extra=", fast path: TC $(xhp -j stats |
				grep -o '"fastpath":[0-9]*' | cut -d: -f2), XDP $(xhp -j stats |
				grep -o '"xdp_fastpath":[0-9]*' | cut -d: -f2)"
			printf '  round %d %s: sent %d/s, reached the server %d/s%s\n' "$r" $c \
				$((sent / SECS)) $((got / SECS)) "$extra"
		done
	done
	xconfig 0
	for c in 0 a d e; do
		xudp_m[$c]=$(rounds "${xudp[$c]}" | median)
		xcost[$c]=$(round_costs "${xudp[$c]}" "${xudp[0]}" 1e9)
	done
	echo
	printf '%-40s %10s %9s\n' "median" "UDP pkt/s" "router ns/pkt"
	printf '%-40s %10d %9s\n' "0) server's own link, no router" "${xudp_m[0]}" -
	xnames=([a]="a) plain routing, no NAT" [d]="d) hairpin, TC fast path"
		[e]="e) hairpin, XDP fast path (native, veth)")
	for c in a d e; do
		printf '%-40s %10d %9s\n' "${xnames[$c]}" "${xudp_m[$c]}" \
			"$(median <<<"${xcost[$c]}" | fmt 0)"
	done
	printf '%-40s %10s %9s\n' "rate ratio e/d (XDP / TC fast path)" \
		"$(round_ratio "$(rounds "${xudp[e]}")" "$(rounds "${xudp[d]}")")" ""
	printf '%-40s %10s %9s\n' "rate ratio e/a (XDP / routing)" \
		"$(round_ratio "$(rounds "${xudp[e]}")" "$(rounds "${xudp[a]}")")" ""
	printf '%-40s %10s %9s\n' "router cost ratio d/e (TC / XDP)" "" \
		"$(round_ratio "${xcost[d]}" "${xcost[e]}")"
	printf '%-40s %10s %9s\n' "router cost ratio a/e (routing / XDP)" "" \
		"$(round_ratio "${xcost[a]}" "${xcost[e]}")"
	xdp_topo_down
	trap - EXIT
}
