# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A WAN without a link-layer header, as PPPoE's ppp0 is: the router's wan0 is
# a tun device whose packets a process carries to the WAN host's, so the TC
# programs there see packets that start with the IPv4 header.
# Sourced by tests/run.sh after lib.sh, with the test network up.

CONF=$(iface_conf)

# wan0 and the WAN host's eth0 as the two ends of a tun link; packets written
# to $CONF.inject arrive on wan0 as they are.
l3_wan() {
	in_ns "$R" ip link del wan0 2>/dev/null || true # the veth, or nothing after a reconnect
	[ -p "$CONF.inject" ] || mkfifo "$CONF.inject"
	tun_link "$R" wan0 "$W" eth0 "$CONF.inject" || fail "no tun link"
	in_ns "$R" ip link set wan0 up
	in_ns "$R" ip addr add $PUB/24 dev wan0
	in_ns "$W" ip link set eth0 up
	in_ns "$W" ip addr add $WAN_CLIENT/24 dev eth0
	in_ns "$W" ip route add default dev eth0
	wait_ping "$W" $PUB
}

# Port forwards over the L3 WAN, TCP and UDP, and the hairpin beside them.
# What is not ours passes.
test_port_forward_over_l3_wan() {
	l3_wan
	tcp_server 80
	udp_server 53
	hp attach -c "$CONF"
	hp status | grep -q "^interface *wan0 .* ingress attached  egress attached$" ||
		fail "status: $(hp status)"
	expect_prefix "TCP port forward" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	expect_prefix "UDP port forward" "$(udp_get "$W" $PUB 5353)" "$WAN_CLIENT "
	expect_prefix "hairpin" "$(tcp_get "$C1" $PUB 8080)" "$LAN_ROUTER "
	in_ns "$W" ping -c1 -W2 -q $PUB >/dev/null || fail "ping of the router over the L3 WAN"
	in_ns "$C3" ping -c1 -W2 -q $WAN_CLIENT >/dev/null || fail "ping across the router"
	kill $tunlinker
}

# Bulk TCP through the port forward over the L3 WAN: every byte arrives,
# the server sees the client's address and the segments' TTL one less. They
# take the fast path from the L3 WAN to the Ethernet LAN, which gives each an
# Ethernet header it did not have.
test_l3_wan_uploads() {
	l3_wan
	hp attach -c "$CONF"
	tcp_uploads fastpath 100 "$W:$WAN_CLIENT"
	kill $tunlinker
}

# And back: the server's bulk reply takes the fast path from the LAN to the L3
# WAN, where it leaves without its Ethernet header, every byte right and the
# TTL one less.
test_l3_wan_downloads() {
	local want got before cap
	l3_wan
	head -c 2000000 /dev/urandom >"$CONF.data"
	want=$(sha256sum <"$CONF.data" | cut -d' ' -f1)
	in_ns "$SRV" socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:"cat $CONF.data" &
	wait_listen "$SRV" 80 tcp
	hp attach -c "$CONF"
	in_ns "$W" timeout 30 tcpdump -i eth0 -n -v -c 400 "tcp src port 8080" >"$CONF.cap" 2>/dev/null &
	cap=$!
	sleep 1
	before=$(counter fastpath)
	got=$(in_ns "$W" timeout 20 socat -T 10 -u TCP:$PUB:8080 - | sha256sum | cut -d' ' -f1)
	expect_eq "download" "$got" "$want"
	[ $(($(counter fastpath) - before)) -gt 100 ] ||
		fail "fast-pathed: $(($(counter fastpath) - before))"
	capture_ttl_63 $cap "the WAN client"
	kill $tunlinker
}

# pppd on a reconnect: wan0 goes and comes back with a new index. watch
# attaches it again and the port forward works again.
test_l3_wan_remade_while_watching() {
	l3_wan
	tcp_server 80
	hp attach -c "$CONF"
	start_watch
	expect_prefix "before" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	kill $tunlinker
	wait $tunlinker 2>/dev/null || true
	l3_wan
	for _ in $(seq 50); do hp status >/dev/null 2>&1 && break; sleep 0.1; done
	hp status >/dev/null || fail "status after the reconnect: $(hp status 2>&1)"
	expect_prefix "after" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	kill $watcher
	kill $tunlinker
}

# A packet on the L3 WAN whose header at 0 is broken (header length 4) but
# whose bytes from 14 on are a valid datagram to a mapping: the programs must
# read it where the IP header is, find it malformed and leave it to the
# stack, which drops it; it must not be translated as if those 14 bytes were
# an Ethernet header.
test_l3_wan_reads_at_the_ip_header() {
	l3_wan
	hp attach -c "$CONF"
	python3 - $WAN_CLIENT $PUB >"$CONF.inject" <<'PY'
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16)
    return ~((s & 0xffff) + (s >> 16)) & 0xffff
src, dst = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2])
udp = struct.pack("!HHHH", 5013, 5353, 13, 0) + b"inner"
hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
inner = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + udp
outer = struct.pack("!BBHHHBBH", 0x44, 0, 14 + len(inner), 2, 0, 64, 17, 0)[:12] + src[:2]
print((outer + inner).hex())
PY
	sleep 0.5
	expect_eq "DNATed" "$(counter dnat)" 0
	expect_eq "malformed" "$(counter malformed)" 1
	expect_eq "connections" "$(hp flows | grep -c 5013)" 0
	kill $tunlinker
}
