# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# watch: mappings written with "wan" follow the WAN interface's address.
# Sourced by tests/run.sh after lib.sh, with the test network up.

NEW_PUB=203.0.113.9
CONF=$(mktemp)
cat >"$CONF" <<CONF
map tcp wan:8080 $SRV_ADDR:80
map udp wan:5353 $SRV_ADDR:53
map tcp 198.51.100.7:9000 $SRV_ADDR:80 any-address
CONF

test_watch_follows_wan_address() {
	tcp_server 80
	hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"
	nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN" watch >"$CONF.log" 2>&1 &
	watcher=$!
	for _ in $(seq 50); do grep -q following "$CONF.log" && break; sleep 0.05; done
	expect_prefix "before the change" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "

	# A new address, as a DHCP renewal or PPPoE reconnect brings it.
	start=$(date +%s%N)
	in_ns "$R" ip addr del $PUB/24 dev wan0
	in_ns "$R" ip addr add $NEW_PUB/24 dev wan0
	until hp map list | grep -q "^tcp *$NEW_PUB:8080 "; do
		[ $((($(date +%s%N) - start) / 1000000)) -lt 1000 ] ||
			fail "mappings not moved within 1 s: $(hp map list; cat "$CONF.log")"
		sleep 0.02
	done
	expect_prefix "the new address" "$(tcp_get "$W" $NEW_PUB 8080)" "$WAN_CLIENT "
	got=$(tcp_get "$W" $PUB 8080) || true
	expect_eq "the old address" "$got" ""
	hp map list | grep -q "^udp *$NEW_PUB:5353 " || fail "udp mapping: $(hp map list)"
	hp map list | grep -q "^tcp *198.51.100.7:9000 " || fail "fixed address moved: $(hp map list)"
	hp show | grep -qx "map tcp wan:8080 $SRV_ADDR:80" || fail "show: $(hp show)"
	grep -q "wan0 address $PUB -> $NEW_PUB: 2 mappings moved" "$CONF.log" ||
		fail "log: $(cat "$CONF.log")"
	# The counters moved with their mapping.
	hp -j map list | grep -q '"wan_conns":2' || fail "counters: $(hp -j map list)"

	kill $watcher
	wait $watcher || fail "watch exited $? on SIGTERM"
	grep -q "stopped" "$CONF.log" || fail "log: $(cat "$CONF.log")"
}

test_watch_needs_an_instance() {
	expect_refused "no hairpin instance" hp watch
}

# A large table moves in one walk, each entry once: a walk that went on from
# the key it just deleted would start again at the first (the kernel's
# answer for a missing key) and take minutes here. 12000 entries of one
# range, then SIGTERM is obeyed at once.
test_watch_moves_many_mappings_in_one_walk() {
	local start ms
	hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"
	hp map add tcpudp wan:20000-25999 $SRV_ADDR:20000-25999
	nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN" watch >"$CONF.log" 2>&1 &
	watcher=$!
	for _ in $(seq 50); do grep -q following "$CONF.log" && break; sleep 0.05; done
	start=$(date +%s%N)
	in_ns "$R" ip addr del $PUB/24 dev wan0
	in_ns "$R" ip addr add $NEW_PUB/24 dev wan0
	until grep -q "mappings moved" "$CONF.log"; do
		[ $((($(date +%s%N) - start) / 1000000)) -lt 10000 ] ||
			fail "12000 entries not moved within 10 s: $(cat "$CONF.log")"
		sleep 0.05
	done
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "moved in $ms ms"
	grep -q "wan0 address $PUB -> $NEW_PUB: 4 mappings moved" "$CONF.log" ||
		fail "log: $(cat "$CONF.log")"
	hp map list | grep -q "^tcp *$NEW_PUB:20000-25999 " || fail "tcp range: $(hp map list)"
	hp map list | grep -q "^udp *$NEW_PUB:20000-25999 " || fail "udp range: $(hp map list)"
	! hp map list | grep -q " $PUB:" || fail "left at the old address: $(hp map list)"
	expect_eq "entries" "$(hp -j status | python3 -c 'import json, sys; print(json.load(sys.stdin)["mapping_entries"])')" 12003
	start=$(date +%s%N)
	kill $watcher
	wait $watcher || fail "watch exited $? on SIGTERM"
	ms=$((($(date +%s%N) - start) / 1000000))
	[ $ms -lt 2000 ] || fail "watch took $ms ms to stop"
}
