# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Capacity: a change that does not fit the mapping table is refused whole,
# before anything is written; counters slots never outlive their mapping.
# Sourced by tests/run.sh after lib.sh, with the test network up.

CONF=$(mktemp)
echo "map tcp wan:8080 $SRV_ADDR:80" >"$CONF"
# 40000 ports over tcp and udp: 80000 entries, more than the 16384 the table holds.
printf 'map tcp wan:8080 %s:80\nmap tcpudp wan:10000-49999 %s:10000-49999\n' \
	$SRV_ADDR $SRV_ADDR >"$CONF.big"

attach() { hp attach --lan br-lan,lan2 --wan wan0 "$@"; }

test_change_that_does_not_fit_is_refused_whole() {
	attach -c "$CONF"
	expect_refused "$CONF.big: needs 80000 new mapping entries, 16383 are free (the table holds 16384" \
		hp apply -c "$CONF.big"
	expect_eq "apply's output when refused" "$(hp apply -c "$CONF.big" 2>/dev/null)" ""
	expect_refused "map add: needs 80002 new mapping entries, 16383 are free" \
		hp map add tcpudp wan:10000-50000 $SRV_ADDR:10000-50000
	expect_refused "$CONF.big: needs 80000 new mapping entries" attach -c "$CONF.big"
	expect_eq "counters after the refusals" "$(counter_slots)" 1
	# Nothing is left to block the next change.
	hp map add tcpudp wan:9000 $SRV_ADDR:80
	expect_eq "counters after a map add" "$(counter_slots)" 3
	hp detach
	expect_refused "needs 80001 new mapping entries, 16384 are free" attach -c "$CONF.big"
	[ ! -e "$PIN" ] || fail "a refused first attach left $PIN"
}

# The table fills to its last entry and no further; a file that fits once
# the entries it drops are gone applies, even on a full table.
test_full_table_to_the_last_entry() {
	attach
	hp map add tcpudp wan:1-8191 $SRV_ADDR:1-8191
	hp map add tcpudp wan:40000 $SRV_ADDR:80
	expect_refused "map add: needs 1 new mapping entry, 0 are free" \
		hp map add tcp wan:40001 $SRV_ADDR:80
	! hp map add tcp wan:40001 $SRV_ADDR:80 2>&1 | grep -q "Argument list too long" ||
		fail "E2BIG reached the user"
	printf 'map tcpudp wan:2-8192 %s:2-8192\n' $SRV_ADDR >"$CONF.shift"
	hp apply -c "$CONF.shift" >/dev/null
	expect_eq "mappings after the apply" "$(hp map list | tail -n +2 | awk '{print $1, $2}')" \
		"tcp $PUB:2-8192
udp $PUB:2-8192"
	expect_eq "counters after the apply" "$(counter_slots)" 16382
	expect_eq "apply again" "$(hp apply -c "$CONF.shift")" "no change"
}

# A counters slot claimed for a port whose entry does not name it (what a
# command killed between its two writes leaves) is freed by the next write.
test_stale_counters_cleaned_by_next_write() {
	attach -c "$CONF"
	# The last slot, claimed for 203.0.113.1:7777/tcp, zero on every CPU.
	stale="key 0xff 0x3f 0 0 value 203 0 113 1 0x1e 0x61 6 0 $(printf '0 %.0s' $(seq 48))"
	bpftool map update pinned "$PIN/map_counters" $stale
	expect_eq "counters with a stale one" "$(counter_slots)" 2
	hp map add tcp wan:9000 $SRV_ADDR:80
	expect_eq "counters after map add" "$(counter_slots)" 2
	bpftool map lookup pinned "$PIN/map_counters" key 0xff 0x3f 0 0 -j | grep -q '"0x1e","0x61"' &&
		fail "stale slot kept: $(bpftool map lookup pinned "$PIN/map_counters" key 0xff 0x3f 0 0)"
	bpftool map update pinned "$PIN/map_counters" $stale
	hp apply -c "$CONF" >/dev/null
	expect_eq "counters after apply" "$(counter_slots)" 1
}
