# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# show and apply: the live state as a config file, a config file made live.
# Sourced by tests/run.sh after lib.sh, with the test network up.

CONF=$(mktemp)
cat >"$CONF" <<CONF
map tcp wan:8080 $SRV_ADDR:80
map tcp wan:8081 $SRV_ADDR:80
map udp wan:5353 $SRV_ADDR:53
CONF

attach() { hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"; }

# The file the tests apply: 8080 moves to port 81, 9000 is new, 5353 goes,
# 8081 stays as it is, the UDP timeout changes.
new_conf() {
	cat >"$CONF.new" <<CONF
map tcp wan:8080 $SRV_ADDR:81
map tcp wan:8081 $SRV_ADDR:80
map tcpudp wan:9000-9001 $SRV_ADDR:7000-7001
timeout udp 60
CONF
}

test_show_round_trip() {
	attach
	hp show >"$CONF.shown"
	grep -qx "map tcp wan:8080 $SRV_ADDR:80" "$CONF.shown" || fail "show: $(cat "$CONF.shown")"
	grep -qx "snat-ports 61000-65535" "$CONF.shown" || fail "show: $(cat "$CONF.shown")"
	grep -qx "timeout tcp-established 7440" "$CONF.shown" || fail "show: $(cat "$CONF.shown")"
	expect_eq "apply of show's output" "$(hp apply -c "$CONF.shown")" "no change"
	new_conf
	hp apply -c "$CONF.new" >/dev/null
	hp show >"$CONF.shown"
	grep -qx "map tcpudp wan:9000-9001 $SRV_ADDR:7000-7001" "$CONF.shown" ||
		fail "show does not merge tcp and udp: $(cat "$CONF.shown")"
	expect_eq "apply of show's output after a change" "$(hp apply -c "$CONF.shown")" "no change"
	hp -j show | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["timeout_udp"] == 60 and s["snat_mode"] == "internal", s
assert {"proto": "tcpudp", "public": "wan:9000-9001", "private": "192.0.2.20:7000-7001"} \
    in s["mappings"], s["mappings"]' || fail "show -j: $(hp -j show)"
}

test_apply_check_then_apply() {
	tcp_server 80
	tcp_server 81
	udp_server 53
	attach
	new_conf
	before=$(hp map list; hp status)
	hp apply --check -c "$CONF.new" >"$CONF.out"
	want="change timeout udp 60 (was 120)
change map tcp wan:8080 $SRV_ADDR:81 (was $SRV_ADDR:80)
add map tcp wan:9000-9001 $SRV_ADDR:7000-7001
add map udp wan:9000-9001 $SRV_ADDR:7000-7001
remove map udp wan:5353 $SRV_ADDR:53"
	expect_eq "apply --check" "$(cat "$CONF.out")" "$want"
	expect_eq "nothing changed by --check" "$(hp map list; hp status)" "$before"

	expect_eq "apply" "$(hp apply -c "$CONF.new")" "$want"
	expect_prefix "8080 now reaches port 81" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	in_ns "$SRV" ss -tn state time-wait "sport = :81" | grep -q . ||
		fail "no connection reached port 81"
	expect_prefix "8081 unchanged" "$(tcp_get "$C1" $PUB 8081)" "$LAN_ROUTER "
	got=$(udp_get "$W" $PUB 5353) || true
	expect_eq "5353 removed" "$got" ""
	hp status | grep -qx "timeout udp 60" || fail "status: $(hp status)"
	expect_eq "apply again" "$(hp apply -c "$CONF.new")" "no change"
}

# A mapping in both files is never missing while apply runs: new flows to
# it (a datagram from a new port each, so that no connection state carries
# them), sent one after another while apply switches back and forth between
# two files, all get their answer. A 10000-port range in both files makes
# each apply long enough that a gap would show.
test_apply_keeps_unchanged_mappings_live() {
	udp_server 53
	# Some 60000 new flows of 3 conns entries each: a table that holds them
	# all, so that a lost datagram is apply's doing, not an eviction's.
	printf 'map udp wan:20000-29999 %s:20000-29999\nsize conns 262144\n' $SRV_ADDR >>"$CONF"
	attach
	new_conf
	printf 'map udp wan:20000-29999 %s:20000-29999\nmap udp wan:5353 %s:53\n' \
		$SRV_ADDR $SRV_ADDR >>"$CONF.new"
	echo "size conns 262144" >>"$CONF.new"
	(for _ in $(seq 10); do
		hp apply -c "$CONF.new" >/dev/null
		hp apply -c "$CONF" >/dev/null
	done) &
	applier=$!
	got=$(in_ns "$W" python3 -c '
import os, socket, sys
sent = lost = 0
while sent < 200 or os.path.exists("/proc/%s" % sys.argv[2]):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.connect((sys.argv[1], 5353))
        s.send(b"x")
        sent += 1
        try:
            s.recv(100)
        except (socket.timeout, ConnectionRefusedError):
            lost += 1
print("%d %d" % (sent, lost))' $PUB $applier)
	wait $applier
	[ "${got% *}" -ge 200 ] || fail "too few datagrams sent: $got"
	expect_eq "datagrams lost to 5353 during 20 applies (sent ${got% *})" "${got#* }" 0
}

test_apply_refuses_bad_input() {
	attach
	printf 'map tcp wan:1 %s:1\nmap tcp wan:2 nowhere:2\n' $SRV_ADDR >"$CONF.bad"
	expect_refused "$CONF.bad:2: 'nowhere' is not an IPv4 address" hp apply -c "$CONF.bad"
	expect_refused "missing -c FILE" hp apply
	expect_refused "overlaps the router's local ports" \
		hp apply -c <(echo "snat-ports 40000-40010")
}

# Commands on one pin dir wait for each other: one holding the lock delays
# the next until it lets go.
test_commands_serialized_by_lock() {
	attach
	flock "$PIN" sleep 2 &
	holder=$!
	sleep 0.3
	start=$(date +%s%N)
	hp map add tcp wan:9999 $SRV_ADDR:80
	waited=$((($(date +%s%N) - start) / 1000000))
	wait $holder
	[ "$waited" -ge 1200 ] || fail "map add did not wait for the lock: ${waited} ms"
	hp map list | grep -q ":9999" || fail "map add after the wait"
}
