# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The fast path: established connections translated and forwarded from TC
# ingress. Sourced by tests/run.sh after lib.sh, with the test network up.

CONF=$(mktemp)
cat >"$CONF" <<CONF
map tcp wan:8080 $SRV_ADDR:80
map udp wan:5353 $SRV_ADDR:53
CONF

attach() { hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"; }

# Datagrams of one flow: the first each way goes through the stack, which
# marks the direction forwarded. 2 s later the client's next one, through
# the stack still, makes the flow assured; every later one takes the fast
# path. Each hop costs exactly one TTL, whichever path the datagram took.
udp_fast_from() { # udp_fast_from NS ADDRESS-THE-SERVER-SEES
	local before after out seen
	before=$(counter fastpath)
	seen=$(counter packets)
	out=$(ttl_client "$1" $PUB 5353 10 2.1)
	after=$(counter fastpath)
	seen=$(($(counter packets) - seen))
	expect_eq "answers from $1" "$(echo "$out" | grep -c .)" 10
	expect_eq "TTLs seen by server and client from $1" "$(echo "$out" | sort -u)" "63 $2 63"
	expect_eq "fast-pathed datagrams from $1" $((after - before)) 17
	# Each datagram through the stack meets both programs, one redirected
	# by the ingress program never meets the egress program.
	expect_eq "datagrams the programs parsed from $1" $seen $((3 * 2 + 17))
}

test_udp_forward_and_hairpin_take_the_fast_path() {
	ttl_server 53
	attach
	udp_fast_from "$W" $WAN_CLIENT
	udp_fast_from "$C1" $LAN_ROUTER
	hp flows | grep -q "udp 203.0.113.2:.* fast both" ||
		fail "flows shows no fast connection: $(hp flows)"
}

# A TCP download and upload through the port forward and the hairpin: the
# segments after the handshake take the fast path, and the server sees every
# one with the TTL decreased by exactly one.
test_tcp_forward_and_hairpin_take_the_fast_path() {
	attach
	tcp_uploads fastpath 20 "$W:$WAN_CLIENT" "$C1:$LAN_ROUTER"
}

# "fastpath off": every packet through the stack, the counter never moves.
test_fastpath_off_in_config() {
	ttl_server 53
	echo "fastpath off" >>"$CONF"
	attach
	hp status | grep -q "^fastpath *off" || fail "status: $(hp status)"
	out=$(ttl_client "$W" $PUB 5353 10)
	expect_eq "TTLs with fastpath off" "$(echo "$out" | sort -u)" "63 $WAN_CLIENT 63"
	expect_eq "fast-pathed with fastpath off" "$(counter fastpath)" 0
	# Turned on by apply, the same flow goes fast.
	sed -i '/^fastpath/d' "$CONF"
	hp apply -c "$CONF" | grep -q "change fastpath on (was off)" || fail "apply did not say it"
	ttl_client "$W" $PUB 5353 10 2.1 >/dev/null
	[ "$(counter fastpath)" -gt 0 ] || fail "fastpath on again: counter still 0"
}

# A shaper on the WAN still holds for a fast-pathed download: redirected
# packets leave through the device's own qdisc.
test_tbf_on_wan_shapes_fast_download() {
	head -c 3000000 /dev/urandom >"$CONF.data"
	in_ns "$SRV" socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:"cat $CONF.data" &
	wait_listen "$SRV" 80 tcp
	attach
	in_ns "$R" tc qdisc add dev wan0 root tbf rate 8mbit burst 32k latency 400ms
	start=${EPOCHREALTIME/./}
	bytes=$(in_ns "$W" timeout 30 socat -u TCP:$PUB:8080,connect-timeout=3 - | wc -c)
	ms=$(((${EPOCHREALTIME/./} - start) / 1000))
	expect_eq "bytes downloaded" "$bytes" 3000000
	# 3 MB at 8 Mbit/s is 3 s; unshaped, veth moves it in a fraction of that.
	[ $ms -ge 2500 ] || fail "download took $ms ms: the 8 Mbit/s shaper did not hold"
	# GRO makes a few large packets of many segments: count some, not a number of segments.
	[ "$(counter fastpath)" -gt 100 ] || fail "fast-pathed: $(counter fastpath)"
	in_ns "$R" tc -s qdisc show dev wan0 | grep -q "Sent [1-9][0-9]\{6\} bytes" ||
		fail "tbf saw too little: $(in_ns "$R" tc -s qdisc show dev wan0)"
}

# A forward-chain drop for a mapping's server keeps its connections from
# working at all: nothing the stack refused becomes fast.
test_forward_chain_drop_holds() {
	tcp_server 80
	ttl_server 53
	attach
	in_ns "$R" nft -f - <<NFT
table ip filter {
	chain forward {
		type filter hook forward priority filter;
		ip daddr $SRV_ADDR tcp dport 80 drop
		ip daddr $SRV_ADDR udp dport 53 drop
	}
}
NFT
	for ns in "$W" "$C1"; do
		expect_eq "TCP from $ns" "$(tcp_get "$ns" $PUB 8080)" ""
		expect_eq "UDP from $ns" "$(ttl_client "$ns" $PUB 5353 3)" ""
	done
	expect_eq "fast-pathed" "$(counter fastpath)" 0
}

# A forward chain that drops "ct state invalid" (fw4's drop_invalid, many a
# hand-written ruleset): conntrack misses the fast-pathed segments, so attach
# makes its TCP tracking liberal, as flowtables do for their connections,
# and the close of a fast-pathed connection still gets through.
test_ct_state_invalid_drop_keeps_working() {
	head -c 2000000 /dev/urandom >"$CONF.data"
	want=$(sha256sum <"$CONF.data" | cut -d' ' -f1)
	in_ns "$SRV" socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:"sha256sum | head -c 64" &
	wait_listen "$SRV" 80 tcp
	in_ns "$R" nft -f - <<NFT
table ip filter {
	chain forward {
		type filter hook forward priority filter;
		ct state invalid counter drop
	}
}
NFT
	in_ns "$R" sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=0
	attach | grep -q "nf_conntrack_tcp_be_liberal=1" || fail "attach did not say it"
	expect_eq "liberal" "$(in_ns "$R" sysctl -n net.netfilter.nf_conntrack_tcp_be_liberal)" 1
	for ns in "$W" "$C1"; do
		got=$(in_ns "$ns" timeout 20 socat -t 10 -T 10 - TCP:$PUB:8080 <"$CONF.data")
		expect_eq "upload from $ns" "$got" "$want"
	done
	[ "$(counter fastpath)" -gt 100 ] || fail "fast-pathed: $(counter fastpath)"
	in_ns "$R" nft list ruleset | grep -q "invalid counter packets 0 " ||
		fail "invalid packets: $(in_ns "$R" nft list ruleset | grep invalid)"
	# Reset behind its back: status says so, and apply sets it again, changes or none.
	in_ns "$R" sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=0
	hp status | grep -q "^conntrack *not liberal" || fail "status: $(hp status)"
	out=$(hp apply -c "$CONF")
	echo "$out" | grep -q "^no change" || fail "apply of the same file: $out"
	echo "$out" | grep -q "nf_conntrack_tcp_be_liberal=1" || fail "apply did not say it: $out"
	expect_eq "liberal after apply" \
		"$(in_ns "$R" sysctl -n net.netfilter.nf_conntrack_tcp_be_liberal)" 1
}
