# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Interfaces that come and go: named in the config file, followed by watch
# when they are deleted and made again (pppd on every reconnect), reported
# by status when they are not attached.
# Sourced by tests/run.sh after lib.sh, with the test network up.

NEW_PUB=203.0.113.9
CONF=$(iface_conf)

moved() { hp map list | grep -q "^tcp *$NEW_PUB:8080 "; }

status_rc() { hp status >/dev/null 2>&1 && echo 0 || echo $?; }

# wan0 deleted and made again, as pppd does: same name, a new index, here a
# new address too. Peer and routes in the WAN namespace come back with it.
remake_wan0() { # remake_wan0 ADDRESS
	in_ns "$R" ip link del wan0
	link "$R" wan0 "$W" eth0
	in_ns "$R" ip addr add "$1"/24 dev wan0
	in_ns "$W" ip addr add $WAN_CLIENT/24 dev eth0
	in_ns "$W" ip route add default via "$1"
}

remake_lan2() {
	in_ns "$R" ip link del lan2
	link "$R" lan2 "$C3" eth0
	in_ns "$R" ip addr add 198.51.100.1/24 dev lan2
	in_ns "$C3" ip addr add $C3_ADDR/24 dev eth0
	in_ns "$C3" ip route add default via 198.51.100.1
}

# show's output applies with no change and names each mapping once.
expect_show_round_trips() {
	hp show >"$CONF.shown"
	expect_eq "wan:8080 lines in show" "$(grep -c '^map tcp wan:8080 ' "$CONF.shown")" 1
	expect_eq "apply of show's output" "$(hp apply -c "$CONF.shown" 2>&1)" "no change"
}

# attach -c FILE alone: the file names the interfaces; show prints them.
test_config_names_the_interfaces() {
	tcp_server 80
	hp attach -c "$CONF"
	expect_eq "interfaces" "$(hp status | awk '$1 == "interface" {print $2, $3, $9}' | sort)" \
		"$(printf 'br-lan lan attached\nlan2 lan attached\nwan0 wan attached')"
	expect_prefix "port forward" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	hp show | grep -qx "lan br-lan lan2" || fail "show: $(hp show)"
	hp show | grep -qx "wan wan0" || fail "show: $(hp show)"
	expect_show_round_trips
	# The command line wins over the file.
	hp attach --lan br-lan --wan wan0 -c "$CONF"
	expect_eq "interfaces after --lan" "$(hp status | awk '$1 == "interface" {print $2}' | sort)" \
		"$(printf 'br-lan\nwan0')"
	for bad in "wan wan0 lan2" "lan" "lan a/b" "lan 0123456789abcdef" "lan br-lan br-lan"; do
		printf '%s\n' "$bad" >"$CONF.bad"
		expect_refused "$CONF.bad:1: " hp attach -c "$CONF.bad"
	done
	# The loopback is no router's LAN or WAN.
	expect_refused "'lo' is the loopback" hp attach --lan br-lan --wan lo -c "$CONF"
	expect_refused "'lo' is the loopback" hp attach --lan lo,br-lan --wan wan0 -c "$CONF"
	printf 'wan wan0\nwan wan0\n' >"$CONF.bad"
	expect_refused "$CONF.bad:2: a second 'wan' statement" hp attach -c "$CONF.bad"
	printf 'map tcp wan:8080 %s:80\n' $SRV_ADDR >"$CONF.bad"
	expect_refused "which interfaces" hp attach -c "$CONF.bad"
	# apply leaves the interfaces to attach, and takes a file that names them.
	expect_eq "apply of the file" "$(hp apply -c "$CONF")" "no change"
}

# While watch runs, wan0 goes and comes back with a new address: within 1 s
# the programs are on it again, the mappings on the new address, and the
# tables (every connection) kept.
test_wan_remade_while_watching() {
	tcp_server 80 30
	hp attach -c "$CONF"
	start_watch
	tcp_get "$W" $PUB 8080 >/dev/null &
	client=$!
	sleep 0.5
	flows=$(hp flows | grep -c "$WAN_CLIENT:[0-9]* > $PUB:8080") || true
	expect_eq "flows before" "$flows" 1

	in_ns "$R" ip link del wan0
	start=$(date +%s%N)
	within 1000 grep -q "wan0 is gone" "$CONF.log" || fail "log: $(cat "$CONF.log")"
	expect_eq "status exit while wan0 is gone" "$(status_rc)" 1
	hp -j status 2>/dev/null | grep -q '"name":"wan0",[^}]*"state":"missing"' ||
		fail "status -j: $(hp -j status 2>&1)"
	hp -j status 2>/dev/null | grep -q '"healthy":false' || fail "status -j: $(hp -j status)"

	link "$R" wan0 "$W" eth0
	in_ns "$R" ip addr add $NEW_PUB/24 dev wan0
	start=$(date +%s%N)
	in_ns "$W" ip addr add $WAN_CLIENT/24 dev eth0
	in_ns "$W" ip route add default via $NEW_PUB
	within 1000 hp status || fail "not attached within 1 s: $(hp status 2>&1; cat "$CONF.log")"
	within 1000 moved ||
		fail "mappings not moved within 1 s: $(hp map list; cat "$CONF.log")"
	expect_prefix "port forward to the new address" "$(tcp_get "$W" $NEW_PUB 8080)" \
		"$WAN_CLIENT "
	hp -j status | grep -q '"healthy":true' || fail "status -j: $(hp -j status)"
	expect_eq "interfaces" "$(hp status | awk '$1 == "interface" {print $2, $9}' | sort)" \
		"$(printf 'br-lan attached\nlan2 attached\nwan0 attached')"
	! hp map list | grep -q "$PUB:" || fail "old address entries left: $(hp map list)"
	expect_show_round_trips
	expect_eq "flows kept" "$(hp flows | grep -c "$WAN_CLIENT:[0-9]* > $PUB:8080")" 1
	expect_eq "log lines" "$(grep -c 'wan0 is back (ifindex' "$CONF.log")" 1
	expect_eq "log lines" \
		"$(grep -c "wan0 address $PUB -> $NEW_PUB: 2 mappings moved" "$CONF.log")" 1
	kill $client 2>/dev/null || true
	kill $watcher
	wait $watcher || fail "watch exited $? on SIGTERM"
}

# The same for a LAN interface: a hairpinned client behind lan2 works again.
test_lan_remade_while_watching() {
	tcp_server 80
	hp attach -c "$CONF"
	start_watch
	expect_prefix "hairpin from lan2" "$(tcp_get "$C3" $PUB 8080)" "$LAN_ROUTER "
	remake_lan2
	start=$(date +%s%N)
	within 1000 hp status || fail "not attached within 1 s: $(hp status 2>&1; cat "$CONF.log")"
	expect_prefix "hairpin from lan2 made again" "$(tcp_get "$C3" $PUB 8080)" "$LAN_ROUTER "
	expect_eq "log lines" "$(grep -c 'lan2 is back (ifindex' "$CONF.log")" 1
	hp -j status | grep -q '"name":"lan2",[^}]*"state":"attached"' ||
		fail "status -j: $(hp -j status)"
	expect_show_round_trips
}

# An interface renamed under the instance keeps its programs, which go on
# translating; status says so and exits 1 (the name the instance follows is
# gone), and watch logs it once. Named back, all is as before.
test_wan_renamed() {
	tcp_server 80
	hp attach -c "$CONF"
	start_watch
	in_ns "$R" ip link set wan0 down
	in_ns "$R" ip link set wan0 name wanx
	in_ns "$R" ip link set wanx up
	start=$(date +%s%N)
	within 1000 grep -q "wan0 is renamed" "$CONF.log" || fail "log: $(cat "$CONF.log")"
	expect_eq "status exit, renamed" "$(status_rc)" 1
	hp status 2>/dev/null |
		grep -q "^interface *wan0 .* ingress attached  egress attached  renamed (now wanx)$" ||
		fail "status: $(hp status 2>&1)"
	hp -j status 2>/dev/null | grep -q '"state":"renamed","now_named":"wanx"' ||
		fail "status -j: $(hp -j status 2>&1)"
	expect_prefix "port forward through wanx" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	in_ns "$R" ip link set wanx down
	in_ns "$R" ip link set wanx name wan0
	in_ns "$R" ip link set wan0 up
	expect_eq "status exit, named back" "$(status_rc)" 0
	expect_prefix "port forward through wan0" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	expect_eq "log lines" "$(grep -c 'wan0 is renamed' "$CONF.log")" 1
	kill $watcher
	wait $watcher || fail "watch exited $? on SIGTERM"
}

# Without watch: status says what is wrong and exits 1; attach again mends
# it, with no entries of the old address left beside the new ones.
test_status_and_attach_without_watch() {
	tcp_server 80
	hp attach -c "$CONF"
	expect_eq "status exit" "$(status_rc)" 0
	tc_unhook br-lan ingress
	err=$(hp status 2>&1 >/dev/null) || true
	expect_eq "status exit, a filter removed" "$(status_rc)" 1
	expect_eq "status error" "$err" "hairpin: not attached: br-lan (unattached); 'hairpin watch' attaches an interface that comes back, or run 'hairpin attach' again"
	hp status 2>/dev/null | grep -q "^interface *br-lan .* ingress MISSING  egress attached  unattached$" ||
		fail "status: $(hp status 2>&1)"
	remake_lan2
	remake_wan0 $NEW_PUB
	expect_eq "status exit, remade" "$(status_rc)" 1
	hp -j status 2>/dev/null | grep -q '"name":"wan0",[^}]*"state":"re-created"' ||
		fail "status -j: $(hp -j status 2>&1)"
	hp attach -c "$CONF"
	expect_eq "status exit after attach" "$(status_rc)" 0
	expect_eq "interfaces" "$(hp status | grep -c '^interface')" 3
	expect_eq "mappings" "$(hp map list | tail -n +2 | awk '{print $2}' | sort | tr '\n' ' ')" \
		"$NEW_PUB:5353 $NEW_PUB:8080 "
	expect_show_round_trips
	expect_prefix "port forward" "$(tcp_get "$W" $NEW_PUB 8080)" "$WAN_CLIENT "
	expect_prefix "hairpin from lan2" "$(tcp_get "$C3" $NEW_PUB 8080)" "$LAN_ROUTER "
}

# examples/: the watch runs in a unit of its own that never detaches, so its
# crash or restart keeps every connection; stopping hairpin.service detaches.
test_service_units() {
	local units
	units=$(mktemp -d)
	cp "$TOP"/examples/hairpin.service "$TOP"/examples/hairpin-watch.service "$units"
	sed -i "s|/usr/local/sbin/hairpin|$(command -v true)|" "$units"/*.service
	if command -v systemd-analyze >/dev/null; then
		systemd-analyze verify "$units"/hairpin.service "$units"/hairpin-watch.service ||
			fail "systemd-analyze verify"
	fi
	u=$TOP/examples/hairpin-watch.service
	grep -qx "ExecStart=/usr/local/sbin/hairpin watch" "$u" || fail "$u: no watch"
	! grep "^Exec" "$u" | grep -q detach || fail "$u: the watch unit detaches"
	grep -qx "BindsTo=hairpin.service" "$u" || fail "$u: not bound to hairpin.service"
	u=$TOP/examples/hairpin.service
	expect_eq "detach in hairpin.service" "$(grep "^Exec" "$u" | grep -c detach)" 1
	grep -qx "ExecStop=/usr/local/sbin/hairpin detach" "$u" || fail "$u: stop does not detach"
	! grep -q "hairpin watch" "$u" || fail "$u: runs watch itself"
	rm -r "$units"

	# What makes that safe: a watch killed changes nothing, and the next one
	# takes over.
	tcp_server 80 5
	hp attach -c "$CONF"
	start_watch
	tcp_get "$W" $PUB 8080 >/dev/null &
	sleep 0.5
	kill -9 $watcher
	wait $watcher 2>/dev/null || true
	expect_eq "status after watch was killed" "$(status_rc)" 0
	expect_eq "flows after watch was killed" \
		"$(hp flows | grep -c "$WAN_CLIENT:[0-9]* > $PUB:8080")" 1
	start_watch
	remake_wan0 $NEW_PUB
	start=$(date +%s%N)
	within 1000 moved || fail "the next watch: $(cat "$CONF.log")"
}
