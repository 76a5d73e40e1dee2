# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Traffic through the router: the field report's failure, then hairpin NAT.
# Sourced by tests/run.sh after lib.sh, with the test network up.

CONF=$(mktemp)
cat >"$CONF" <<CONF
# the router's forwards
map tcp wan:8080 $SRV_ADDR:80
map tcp wan:8081 $SRV_ADDR:80
map udp wan:5353 $SRV_ADDR:53
CONF

attach() { hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"; }

# Without hairpin NAT (DNAT alone, as in the field report) the client answers
# the server's SYN/ACK with a RST and the connection never comes up.
test_field_report_failure_without_hairpin() {
	nft_dnat_only 8080
	tcp_server 80
	in_ns "$SRV" timeout 8 tcpdump -l -n -i eth0 -c 1 \
		"tcp[tcpflags] & tcp-rst != 0 and src host $C1_ADDR" >"$CONF.rst" 2>/dev/null &
	dump=$!
	sleep 1
	got=$(tcp_get "$C1" $PUB 8080) || true
	expect_eq "LAN client through the public address" "$got" ""
	wait $dump || true
	grep -q "$C1_ADDR.* > $SRV_ADDR.80: Flags \[R" "$CONF.rst" ||
		fail "no RST from the client to the server: $(cat "$CONF.rst")"
	# The WAN client is fine with DNAT alone.
	got=$(tcp_get "$W" $PUB 8080)
	expect_prefix "WAN client" "$got" "$WAN_CLIENT "
}

test_hairpin_tcp() {
	tcp_server 80
	attach
	got=$(tcp_get "$C1" $PUB 8080)
	# The server sees the router's LAN address, so its reply comes back through it.
	expect_prefix "server saw" "$got" "$LAN_ROUTER "
	hp flows | grep -q "^tcp $C1_ADDR:[0-9]* > $PUB:8080 => $LAN_ROUTER:[0-9]* > $SRV_ADDR:80 hairpin" ||
		fail "flows does not list the hairpin connection: $(hp flows)"
}

test_hairpin_udp() {
	udp_server 53
	attach
	got=$(udp_get "$C1" $PUB 5353)
	expect_prefix "server saw" "$got" "$LAN_ROUTER "
}

test_wan_client_tcp_udp() {
	tcp_server 80
	udp_server 53
	attach
	got=$(tcp_get "$W" $PUB 8080)
	expect_prefix "TCP: server saw" "$got" "$WAN_CLIENT "
	got=$(udp_get "$W" $PUB 5353)
	expect_prefix "UDP: server saw" "$got" "$WAN_CLIENT "
}

# Two LAN clients with the same source port, connected at the same time.
test_same_source_port_two_clients() {
	tcp_server 80 2
	attach
	tcp_get "$C1" $PUB 8080 sourceport=61500 >"$CONF.1" &
	one=$!
	tcp_get "$C2" $PUB 8080 sourceport=61500 >"$CONF.2" &
	wait $one $!
	a=$(cat "$CONF.1") b=$(cat "$CONF.2")
	expect_prefix "client 1" "$a" "$LAN_ROUTER "
	expect_prefix "client 2" "$b" "$LAN_ROUTER "
	[ "$a" != "$b" ] || fail "both clients got the same SNAT port: $a"
	case "$a $b" in *" 61500"*) ;; *) fail "neither kept its source port 61500: $a $b" ;; esac
}

# Two public ports on one server port: each connection answers from its own port.
test_two_public_ports_same_server_port() {
	tcp_server 80 1
	attach
	for port in 8080 8081; do
		got=$(tcp_get "$W" $PUB $port sourceport=40000,reuseaddr) || true
		expect_prefix "WAN via $port" "$got" "$WAN_CLIENT 40000"
		got=$(tcp_get "$C1" $PUB $port) || true
		expect_prefix "LAN via $port" "$got" "$LAN_ROUTER "
	done
}

# A client on another routed subnet reaching the server's private address
# directly is routed as is; through the public address it is hairpinned.
test_routed_subnet_direct_not_rewritten() {
	tcp_server 80
	attach
	got=$(tcp_get "$C3" $SRV_ADDR 80)
	expect_prefix "direct" "$got" "$C3_ADDR "
	got=$(tcp_get "$C3" $PUB 8080)
	expect_prefix "via public address" "$got" "$LAN_ROUTER "
	# The direct connection was never translated.
	! hp flows | grep -q "$C3_ADDR:[0-9]* > $SRV_ADDR" || fail "direct connection in flows"
}

# Mappings change while a connection of another mapping streams data.
test_map_add_del_while_traffic_runs() {
	# 3 MB over 3 s, so that the stream spans the edits below.
	in_ns "$SRV" socat TCP-LISTEN:80,reuseaddr \
		SYSTEM:"for i in \$(seq 30); do head -c 100000 /dev/zero; sleep 0.1; done" &
	wait_listen "$SRV" 80 tcp
	tcp_server 81
	attach
	in_ns "$C1" timeout 20 socat -u TCP:$PUB:8080 - | wc -c >"$CONF.bytes" &
	stream=$!
	sleep 0.5
	hp map add tcp wan:9000 $SRV_ADDR:81
	got=$(tcp_get "$C1" $PUB 9000)
	expect_prefix "new mapping" "$got" "$LAN_ROUTER "
	hp map del tcp wan:9000
	got=$(tcp_get "$C1" $PUB 9000) || true
	expect_eq "deleted mapping" "$got" ""
	wait $stream
	expect_eq "bytes of the stream across the edits" "$(cat "$CONF.bytes")" 3000000
}

# Clients hand the router CHECKSUM_PARTIAL packets (veth offloads on); with
# checksum offload off on the router's ports, the router finishes the
# checksums in software from what the programs left, and the server verifies
# them. A wrong pseudo-header update would show here as lost packets.
test_checksums_finished_by_router() {
	for dev in p-srv p-c1 wan0; do in_ns "$R" ethtool -K $dev tx off >/dev/null; done
	in_ns "$SRV" ethtool -K eth0 tx off >/dev/null
	in_ns "$SRV" timeout 15 socat -u TCP-LISTEN:80,reuseaddr SYSTEM:"sha256sum >$CONF.sum" &
	srv=$!
	wait_listen "$SRV" 80 tcp
	udp_server 53
	attach
	head -c 2000000 /dev/urandom >"$CONF.data"
	in_ns "$C1" timeout 10 socat -u FILE:"$CONF.data" TCP:$PUB:8080
	wait $srv
	expect_eq "sha256 at the server" "$(cut -d' ' -f1 "$CONF.sum")" \
		"$(sha256sum <"$CONF.data" | cut -d' ' -f1)"
	got=$(udp_get "$C1" $PUB 5353)
	expect_prefix "UDP hairpin" "$got" "$LAN_ROUTER "
	got=$(udp_get "$W" $PUB 5353)
	expect_prefix "UDP from the WAN" "$got" "$WAN_CLIENT "
}

# A kernel without BTF (here the kernel's BTF hidden from attach, in a mount
# namespace of its own): the TC programs cannot read the skb's checksum
# state, status says so, and every checksum edit goes through the kernel's
# helpers. The clients send full checksums (transmit offload off), which the
# server checks.
test_checksums_without_btf() {
	local conf=$CONF
	[ "${HP_TEST_FASTPATH:-on}" = off ] && { cat "$CONF"; echo "fastpath off"; } >"$CONF.off" &&
		conf=$CONF.off
	for ns in "$C1" "$W"; do in_ns "$ns" ethtool -K eth0 tx off >/dev/null; done
	in_ns "$SRV" timeout 15 socat -u TCP-LISTEN:80,reuseaddr SYSTEM:"sha256sum >$CONF.sum" &
	srv=$!
	wait_listen "$SRV" 80 tcp
	udp_server 53
	unshare -m sh -c '[ ! -e /sys/kernel/btf/vmlinux ] ||
		mount --bind /dev/null /sys/kernel/btf/vmlinux || exit 1
		exec nsenter --net="/run/netns/$1" "$2" --pin-dir "$3" attach --lan br-lan,lan2 \
			--wan wan0 -c "$4"' sh "$R" "$HP" "$PIN" "$conf"
	hp status | grep -q "^checksums  *kernel helpers only" ||
		fail "status: $(hp status | grep checksums)"
	head -c 2000000 /dev/urandom >"$CONF.data"
	in_ns "$C1" timeout 10 socat -u FILE:"$CONF.data" TCP:$PUB:8080
	wait $srv
	expect_eq "sha256 at the server" "$(cut -d' ' -f1 "$CONF.sum")" \
		"$(sha256sum <"$CONF.data" | cut -d' ' -f1)"
	expect_prefix "UDP hairpin" "$(udp_get "$C1" $PUB 5353)" "$LAN_ROUTER "
	expect_prefix "UDP from the WAN" "$(udp_get "$W" $PUB 5353)" "$WAN_CLIENT "
}
