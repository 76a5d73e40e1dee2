# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Crash safety of attach and detach: whatever point an attach is killed at,
# detach cleans up and the next attach works.
# Sourced by tests/run.sh after lib.sh, with the test network up.

CONF=$(mktemp)
printf 'map tcp wan:8080 %s:80\nmap udp wan:5353 %s:53\n' $SRV_ADDR $SRV_ADDR >"$CONF"

attach() { hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"; }

# Someone else's clsact and filter on wan0: the crashes must never touch them.
others_filter() {
	in_ns "$R" tc qdisc add dev wan0 clsact
	in_ns "$R" tc filter add dev wan0 ingress prio 7 bpf bytecode '1,6 0 0 0,'
}

# After a detach: TC as before the first attach, no pin dir.
expect_clean() { # expect_clean WHAT
	expect_eq "TC state after $1" "$(tc_state)" "$before"
	[ ! -e "$PIN" ] || fail "pin dir left after $1: $(ls "$PIN")"
}

# An attach that works, and traffic through it.
expect_working() { # expect_working WHAT
	hp status >/dev/null || fail "status after $1: $(hp status 2>&1)"
	expect_eq "mappings after $1" "$(hp map list | tail -n +2 | wc -l)" 2
	expect_prefix "port forward after $1" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
}

# HAIRPIN_TEST_CRASH_AT=N kills attach with SIGKILL at its Nth step: every
# step once. Odd steps recover by detach, even ones by attaching again.
test_attach_killed_at_every_step() {
	tcp_server 80
	others_filter
	before=$(tc_state)
	n=1
	while :; do
		rc=0
		HAIRPIN_TEST_CRASH_AT=$n attach 2>/dev/null || rc=$?
		[ $rc != 0 ] || break # fewer than n steps: it ran to the end
		expect_eq "exit status of attach killed at step $n" $rc 137
		if [ $((n % 2)) = 1 ]; then
			hp detach || fail "detach after a kill at step $n"
			expect_clean "a kill at step $n and detach"
			attach || fail "attach after a kill at step $n and detach"
		else
			attach || fail "attach again after a kill at step $n"
		fi
		expect_working "a kill at step $n"
		hp detach
		expect_clean "a kill at step $n, attach and detach"
		n=$((n + 1))
	done
	# mkdir, layout, load, config, 3 interfaces x (tables, qdisc, ingress,
	# egress) less wan0's qdisc, the mappings; with tcx links no qdisc, and
	# each hook twice (made, pinned).
	[ $n -gt 15 ] || fail "attach ran to the end after $((n - 1)) steps"
	expect_working "the attach that was not killed"
}

# kill -9 at random moments of a fresh attach (which takes about 0.1 s here).
test_attach_killed_at_random() {
	tcp_server 80
	others_filter
	before=$(tc_state)
	for i in $(seq 20); do
		# nsenter execs hairpin: $! is the attach itself, not a subshell.
		nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN" attach --lan br-lan,lan2 \
			--wan wan0 -c "$CONF" 2>/dev/null &
		pid=$!
		sleep "0.$(printf %03d $((RANDOM % 150)))"
		kill -9 $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		if [ -e "$PIN" ]; then
			hp detach || fail "detach after kill $i"
		fi
		expect_clean "kill $i and detach"
		attach || fail "attach after kill $i"
		expect_working "kill $i"
		hp detach
	done
}

# The pins an earlier build's attach left when killed before TC: only conns
# and mappings, no layout. detach removes them; attach then works.
test_detach_takes_any_leftover() {
	tcp_server 80
	before=$(tc_state)
	rc=0
	HAIRPIN_TEST_CRASH_AT=3 attach 2>/dev/null || rc=$? # tables loaded, nothing on TC
	expect_eq "exit status of attach killed at step 3" $rc 137
	for pin in ifaces ifnames config stats map_counters layout; do rm "$PIN/$pin"; done
	expect_refused "run 'hairpin detach'" attach
	hp detach
	expect_clean "detach of a half-made pin dir"
	# An empty pin dir (attach killed right after making it).
	mkdir "$PIN"
	hp detach
	[ ! -e "$PIN" ] || fail "empty pin dir left"
	# This build's attach killed while libbpf pinned the tables: the layout
	# and some tables. attach takes them up.
	rc=0
	HAIRPIN_TEST_CRASH_AT=3 attach 2>/dev/null || rc=$?
	expect_eq "exit status of attach killed at step 3" $rc 137
	rm "$PIN/map_counters" "$PIN/ifaces" "$PIN/ifnames"
	attach || fail "attach over a half-pinned dir"
	expect_working "attach over a half-pinned dir"
}

# detach removes the clsact attach made, unless another tool put a filter
# on it meanwhile: then only our filters go.
test_detach_keeps_a_clsact_in_use() {
	export HAIRPIN_TEST_CLSACT=1 # as on a kernel without tcx links
	attach
	in_ns "$R" tc qdisc show dev wan0 | grep -q clsact || fail "no clsact on wan0"
	in_ns "$R" tc filter add dev wan0 egress prio 7 bpf bytecode '1,6 0 0 0,'
	hp detach
	in_ns "$R" tc qdisc show dev wan0 | grep -q clsact || fail "clsact in use removed"
	expect_eq "filters left on wan0" \
		"$(in_ns "$R" tc filter show dev wan0 egress | grep -c 'pref 7 .*handle')" 1
	! in_ns "$R" tc filter show dev wan0 egress | grep -q hp_ || fail "our filter left"
	! in_ns "$R" tc filter show dev wan0 ingress | grep -q . || fail "ingress not empty"
	# Unused ones go.
	in_ns "$R" tc qdisc show dev lan2 | grep -q clsact && fail "clsact left on lan2"
	true
}

# map add and map del killed half way through a range (HAIRPIN_TEST_CRASH_AT
# counts the entries they write or delete): the next command that changes
# the mappings finishes what they started. add writes a range's first port
# first, so the range is completed; del deletes it first, so what is left
# of the range goes, and stops forwarding.
test_killed_map_edits_are_mended() {
	local base rc err killed locker
	udp_server 10500
	attach
	base=$(hp -j status | python3 -c 'import json, sys; print(json.load(sys.stdin)["mapping_entries"])')
	rc=0
	HAIRPIN_TEST_CRASH_AT=1500 hp map add tcpudp wan:10000-10999 $SRV_ADDR:10000-10999 || rc=$?
	expect_eq "exit status of the killed add" $rc 137
	expect_eq "entries after the killed add" "$(entries)" $((base + 1500))
	# The killed add wrote the first 750 ports, each tcp and udp.
	err=$(hp map list 2>&1 >/dev/null)
	killed="a command was killed; the next map add, map del or apply finishes it (after a killed apply, run it again)"
	expect_eq "map list says" "$err" "hairpin: tcp $PUB:10000-10999 is half written, 750 of 1000 ports: $killed
hairpin: udp $PUB:10000-10999 is half written, 750 of 1000 ports: $killed"
	# While a command holds the pin dir's lock, it is that one's writing.
	exec {locker}<"$PIN"
	flock "$locker"
	expect_eq "map list, a command at work, says" "$(hp map list 2>&1 >/dev/null)" \
		"hairpin: tcp $PUB:10000-10999 is half written, 750 of 1000 ports: a command is writing it
hairpin: udp $PUB:10000-10999 is half written, 750 of 1000 ports: a command is writing it"
	exec {locker}<&-
	expect_eq "ports written, as JSON" "$(hp -j map list 2>/dev/null | python3 -c '
import json, sys
print(" ".join("%s:%d" % (m["proto"], m["ports_written"]) for m in json.load(sys.stdin)
               if m["public_port_first"] == 10000))')" "tcp:750 udp:750"
	err=$(hp map add tcp wan:9999 $SRV_ADDR:9999 2>&1 >/dev/null)
	expect_eq "the next command says" "$err" "hairpin: mended 500 mapping entries a killed command left half written"
	expect_eq "entries once mended" "$(entries)" $((base + 2001))
	hp map list | grep -q "^udp *$PUB:10000-10999 " || fail "udp range: $(hp map list)"
	expect_eq "map list once mended says" "$(hp map list 2>&1 >/dev/null)" ""
	expect_prefix "forwarded, port 10500" "$(udp_get "$W" $PUB 10500)" "$WAN_CLIENT "

	rc=0
	HAIRPIN_TEST_CRASH_AT=1300 hp map del tcpudp wan:10000-10999 || rc=$?
	expect_eq "exit status of the killed del" $rc 137
	hp map list 2>/dev/null | grep -q ":10000-10999 " &&
		fail "range listed after the killed del: $(hp map list)"
	expect_eq "map list after the killed del says" "$(hp map list 2>&1 >/dev/null)" \
		"hairpin: 700 mapping entries forward with no mapping listed: $killed"
	err=$(hp map del tcp wan:9999 2>&1 >/dev/null)
	expect_eq "the next command says" "$err" "hairpin: mended 700 mapping entries a killed command left half written"
	expect_eq "entries once mended" "$(entries)" "$base"
	got=$(udp_get "$W" $PUB 10500) || true
	expect_eq "forwarded after del, port 10500" "$got" ""
	hp map add tcpudp wan:10000-10999 $SRV_ADDR:10000-10999 || fail "add again"

	# Killed at its third entry: the first port's of both protocols are there.
	rc=0
	HAIRPIN_TEST_CRASH_AT=3 hp map add tcpudp wan:12000-12999 $SRV_ADDR:12000-12999 || rc=$?
	expect_eq "exit status of the add killed at its third entry" $rc 137
	hp map add tcp wan:9998 $SRV_ADDR:9998 2>/dev/null
	hp map list | grep -q "^udp *$PUB:12000-12999 " || fail "udp of tcpudp: $(hp map list)"
	hp map list | grep -q "^tcp *$PUB:12000-12999 " || fail "tcp of tcpudp: $(hp map list)"
}

# What a killed map del left is mended before attach checks the file: the
# rest of the deleted range does not stand in the way of the file's mappings.
test_attach_mends_before_it_checks() {
	local rc err conf
	udp_server 10501
	attach
	hp map add udp wan:10000-10999 $SRV_ADDR:10000-10999
	rc=0
	HAIRPIN_TEST_CRASH_AT=300 hp map del udp wan:10000-10999 || rc=$?
	expect_eq "exit status of the killed del" $rc 137
	conf=$(mktemp)
	{ cat "$CONF"; echo "map udp wan:10500 $SRV_ADDR:10501"; } >"$conf"
	err=$(hp attach --lan br-lan,lan2 --wan wan0 -c "$conf" 2>&1 >/dev/null) ||
		fail "attach refused: $err"
	expect_eq "attach says" "$err" "hairpin: mended 700 mapping entries a killed command left half written"
	expect_prefix "forwarded by the file's mapping" "$(udp_get "$W" $PUB 10500)" "$WAN_CLIENT "
	rm -f "$conf"
}

# An attach killed while it moved the wan mappings to a new WAN address, in
# a table with little room: what it left on both addresses is finished by
# the next command, and no mapping is lost.
test_killed_wan_move_loses_nothing() {
	local conf rc err
	conf=$(mktemp)
	printf 'size mappings 4096\nmap tcp wan:8080 %s:80\n' $SRV_ADDR >"$conf"
	hp attach --lan br-lan,lan2 --wan wan0 -c "$conf"
	hp map add tcpudp wan:10000-11999 $SRV_ADDR:10000-11999 # 4001 of 4096 entries
	in_ns "$R" ip addr flush dev wan0
	in_ns "$R" ip addr add 203.0.113.9/24 dev wan0
	rc=0
	HAIRPIN_TEST_CRASH_AT=2000 hp attach --lan br-lan,lan2 --wan wan0 -c "$conf" || rc=$?
	expect_eq "exit status of the killed attach" $rc 137
	# Which first entries moved depends on the hash order: map list names what is half done.
	err=$(hp map list 2>&1 >/dev/null)
	[ -n "$err" ] || fail "the killed move left nothing half done: $(hp map list)"
	err=$(hp map add tcp wan:9999 $SRV_ADDR:9999 2>&1 >/dev/null) || fail "map add: $err"
	case $err in *"cannot finish"*) fail "the next command said: $err" ;; esac
	expect_eq "entries after the next command" "$(entries)" 4002
	hp attach --lan br-lan,lan2 --wan wan0 -c "$conf" || fail "attach again"
	expect_eq "entries at the new address" "$(hp map list | grep -c ' 203.0.113.9:')" 4
	expect_eq "map list says" "$(hp map list 2>&1 >/dev/null)" ""
	expect_eq "entries" "$(entries)" 4002
	rm -f "$conf"
}

entries() { hp -j status | python3 -c 'import json, sys; print(json.load(sys.stdin)["mapping_entries"])'; }
