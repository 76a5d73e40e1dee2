# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Real traffic through the datapath: ICMP errors and path MTU discovery.
# Sourced by tests/run.sh after lib.sh, with the test network up.

CONF=$(mktemp)
cat >"$CONF" <<CONF
map tcp wan:8080 $SRV_ADDR:80
map udp wan:5353 $SRV_ADDR:53
CONF

attach() { hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"; }

sha() { sha256sum "$@" | cut -d' ' -f1; }

# The router forwards towards $1 with a 1280-byte path MTU, while both ends
# of every link (and so both TCP MSS) stay at 1500: full-sized segments then
# need the router's "fragmentation needed" to reach their sender.
narrow_path_to() {
	in_ns "$R" ip route replace "$1/32" dev "$2" mtu lock 1280
}

# The server stores what it receives and answers with its sha256.
upload() { # upload NS FILE: prints the sha256 the server computed
	in_ns "$1" timeout 30 socat -t 20 -T 20 - TCP:$PUB:8080,connect-timeout=3 <"$2"
}

# Uploads need the error about the client's oversized segment, sent by the
# router after DNAT, to be translated back to the public address on its way
# to the client; unchanged, the client's stack finds no socket for it.
test_pmtu_upload_through_forward_and_hairpin() {
	in_ns "$SRV" socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:"sha256sum | head -c 64" &
	wait_listen "$SRV" 80 tcp
	attach
	narrow_path_to $SRV_ADDR br-lan
	head -c 3000000 /dev/urandom >"$CONF.data"
	want=$(sha "$CONF.data")
	expect_eq "WAN client upload" "$(upload "$W" "$CONF.data")" "$want"
	expect_eq "hairpinned upload" "$(upload "$C1" "$CONF.data")" "$want"
	[ "$(counter icmp_errors)" -gt 0 ] ||
		fail "no ICMP error was translated: $(hp stats)"
}

# Downloads from the server: to the hairpinned client the error goes to the
# server about the reply as un-SNAT left it, and must quote the router's SNAT
# address and port; to the WAN client the router's error is about the
# server's own packet and passes as it is.
test_pmtu_download_to_wan_and_hairpin() {
	head -c 3000000 /dev/urandom >"$CONF.data"
	in_ns "$SRV" socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:"cat $CONF.data" &
	wait_listen "$SRV" 80 tcp
	attach
	narrow_path_to $C1_ADDR br-lan
	narrow_path_to $WAN_CLIENT wan0
	want=$(sha "$CONF.data")
	got=$(in_ns "$W" timeout 30 socat -u TCP:$PUB:8080,connect-timeout=3 - | sha)
	expect_eq "download to the WAN client" "$got" "$want"
	got=$(in_ns "$C1" timeout 30 socat -u TCP:$PUB:8080,connect-timeout=3 - | sha)
	expect_eq "hairpinned download" "$got" "$want"
}

# A datagram to a forwarded port nobody listens on: the server's port
# unreachable reaches the client as an error from the public address about
# what the client sent, so a connected socket sees ECONNREFUSED at once.
udp_refused() { # udp_refused NS: prints "refused" or what happened instead
	in_ns "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[1], 5353))
s.send(b"ping")
try:
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")' $PUB
}

test_port_unreachable_reaches_client() {
	attach
	expect_eq "WAN client" "$(udp_refused "$W")" refused
	expect_eq "hairpinned client" "$(udp_refused "$C1")" refused
}

# Pings to the public address are the router's to answer, hairpin or not.
test_ping_public_address_untouched() {
	attach
	in_ns "$W" ping -c1 -W2 -q $PUB >/dev/null || fail "WAN client cannot ping $PUB"
	in_ns "$C1" ping -c1 -W2 -q $PUB >/dev/null || fail "LAN client cannot ping $PUB"
	expect_eq "ICMP errors translated" "$(counter icmp_errors)" 0
}

# A 4000-byte datagram leaves its sender in three fragments; the server
# echoes it, so the answer comes back in three fragments too.
udp_big_echo() { # udp_big_echo NS: "intact" if the echo is what was sent
	in_ns "$1" python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect((sys.argv[1], 5353))
data = os.urandom(4000)
s.send(data)
try:
    got = s.recv(65535)
    print("intact" if got == data else "corrupt: %d bytes" % len(got))
except socket.timeout:
    print("timeout")' $PUB
}

test_fragmented_udp_forward_and_hairpin() {
	udp_server 53 echo
	attach
	expect_eq "WAN client" "$(udp_big_echo "$W")" intact
	expect_eq "hairpinned client" "$(udp_big_echo "$C1")" intact
	# Two later fragments each way, for each of the two clients.
	frags=$(counter fragments)
	[ "$frags" -ge 8 ] || fail "later fragments translated: $frags, want at least 8"
}

# Four SNAT ports and five concurrent hairpinned connections: the fifth is
# dropped and counted, the four keep working, and once they have closed
# (and the closing timeout passed) their ports serve new connections.
test_snat_exhaustion_recovers() {
	printf 'map tcp wan:8080 %s:80\nsnat-ports 61000-61003\ntimeout tcp-closing 1\n' \
		$SRV_ADDR >"$CONF.small"
	in_ns "$SRV" socat TCP-LISTEN:80,fork,reuseaddr \
		SYSTEM:"echo \$SOCAT_PEERADDR \$SOCAT_PEERPORT; sleep 3; echo alive; sleep 30" &
	wait_listen "$SRV" 80 tcp
	hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF.small"
	pids=
	for i in 1 2 3 4; do
		# Each client keeps its side open for 6 s, then closes.
		sleep 6 | in_ns "$C1" timeout 15 socat -t1 - TCP:$PUB:8080,connect-timeout=3 \
			>"$CONF.$i" 2>/dev/null &
		pids="$pids $!"
	done
	sleep 1
	got=$(tcp_get "$C2" $PUB 8080) || true
	expect_eq "a fifth connection while all four ports are held" "$got" ""
	[ "$(counter snat_exhausted)" -gt 0 ] || fail "snat_exhausted not counted: $(hp stats)"
	wait $pids
	for i in 1 2 3 4; do
		expect_prefix "held connection $i" "$(head -n1 "$CONF.$i")" "$LAN_ROUTER 6100"
		expect_eq "held connection $i after the drop" "$(sed -n 2p "$CONF.$i")" alive
	done
	sleep 2
	got=$(tcp_get "$C2" $PUB 8080)
	expect_prefix "after the ports freed up" "$got" "$LAN_ROUTER 6100"
}

# Timeouts from the config file reach the datapath and the listings.
test_timeouts_from_config() {
	printf 'map udp wan:5353 %s:53\ntimeout udp 2\ntimeout tcp-established 600\n' \
		$SRV_ADDR >"$CONF.t"
	udp_server 53
	hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF.t"
	expect_eq "timeouts in status" "$(hp status | grep '^timeout ')" "timeout tcp-established 600
timeout tcp-closing 10
timeout udp 2"
	got=$(udp_get "$W" $PUB 5353)
	expect_prefix "UDP from the WAN" "$got" "$WAN_CLIENT "
	expect_eq "flows right after" "$(hp flows | grep -c '^udp')" 1
	sleep 3
	expect_eq "flows after the 2 s UDP timeout" "$(hp flows | grep -c '^udp')" 0
}

# Offloads on (TSO/GSO, GRO, checksum offload: CHECKSUM_PARTIAL packets and
# GRO super-packets through the programs) and off: 100 MB each way through
# the hairpin arrive with the same sha256.
offloads() { # offloads on|off
	local dev
	for dev in p-c1 p-srv br-lan; do
		in_ns "$R" ethtool -K $dev tso $1 gso $1 gro $1 tx $1 rx $1 sg $1 >/dev/null 2>&1 || true
	done
	for ns in "$C1" "$SRV"; do
		in_ns "$ns" ethtool -K eth0 tso $1 gso $1 gro $1 tx $1 rx $1 sg $1 >/dev/null 2>&1 || true
	done
}

test_offloads_100mb_both_ways() {
	head -c 100000000 /dev/urandom >"$CONF.big"
	want=$(sha "$CONF.big")
	in_ns "$SRV" socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:"sha256sum | head -c 64" &
	wait_listen "$SRV" 80 tcp
	in_ns "$SRV" socat TCP-LISTEN:81,fork,reuseaddr SYSTEM:"cat $CONF.big" &
	wait_listen "$SRV" 81 tcp
	echo "map tcp wan:8081 $SRV_ADDR:81" >>"$CONF"
	attach
	for mode in on off; do
		offloads $mode
		expect_eq "upload, offloads $mode" "$(upload "$C1" "$CONF.big")" "$want"
		got=$(in_ns "$C1" timeout 60 socat -u TCP:$PUB:8081,connect-timeout=3 - | sha)
		expect_eq "download, offloads $mode" "$got" "$want"
	done
	# Most of it took the fast path, unless this run turned it off.
	if [ "${HP_TEST_FASTPATH:-on}" = on ]; then
		[ "$(counter fastpath)" -gt 10000 ] || fail "fast-pathed: $(counter fastpath)"
	else
		expect_eq "fast-pathed with fastpath off" "$(counter fastpath)" 0
	fi
}

# With the router's own nftables doing masquerade and a forward filter:
# port forwards and the hairpin work through the filter, and connections
# that netfilter or the router made are never taken over, even when they
# use a mapped port number. The filter admits from the WAN only what
# hairpin marked as coming through a mapping.
test_nftables_masquerade_and_filter() {
	in_ns "$R" nft -f - <<NFT
table ip filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname { "br-lan", "lan2" } accept
		iifname "wan0" meta mark and 0x10 == 0x10 accept
	}
}
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
	}
}
NFT
	tcp_server 80
	udp_server 53
	for port in 9000 9001; do
		in_ns "$W" socat TCP-LISTEN:$port,fork,reuseaddr \
			SYSTEM:"echo \$SOCAT_PEERADDR \$SOCAT_PEERPORT" &
		wait_listen "$W" $port tcp
	done
	echo "mark 0x10" >>"$CONF"
	attach
	expect_prefix "forward, TCP" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	expect_prefix "forward, UDP" "$(udp_get "$W" $PUB 5353)" "$WAN_CLIENT "
	expect_prefix "hairpin, TCP" "$(tcp_get "$C1" $PUB 8080)" "$LAN_ROUTER "
	expect_prefix "hairpin, UDP" "$(udp_get "$C1" $PUB 5353)" "$LAN_ROUTER "
	# LAN to WAN, masqueraded by netfilter; from the mapped port 8080 too,
	# whose replies arrive for the public address's port 8080.
	expect_prefix "masqueraded" "$(tcp_get "$C1" $WAN_CLIENT 9000)" "$PUB "
	expect_eq "masqueraded from the mapped port" \
		"$(tcp_get "$C1" $WAN_CLIENT 9000 sourceport=8080)" "$PUB 8080"
	# The router's own connections: to the server from its LAN address, and
	# out of its public address from the mapped port (another tuple than the
	# one masquerade used above, which conntrack still holds).
	expect_prefix "router to the server" "$(tcp_get "$R" $SRV_ADDR 80)" "$LAN_ROUTER "
	expect_eq "router from its public address's port 8080" \
		"$(tcp_get "$R" $WAN_CLIENT 9001 sourceport=8080,bind=$PUB)" "$PUB 8080"
	# The filter is in force: the server's own address, even its forwarded
	# port, stays closed to a WAN host that routes to it directly.
	in_ns "$W" ip route add $SRV_ADDR via $PUB
	expect_prefix "LAN to the server directly" "$(tcp_get "$C3" $SRV_ADDR 80)" "$C3_ADDR "
	got=$(tcp_get "$W" $SRV_ADDR 80) || true
	expect_eq "WAN to the server directly" "$got" ""
	expect_prefix "WAN through the mapping still" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
}
