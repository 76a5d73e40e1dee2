# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# SNAT modes and scope: the source address the server sees.
# Sourced by tests/run.sh after lib.sh, with the test network up.
#
# c1 shares the server's subnet (br-lan); c3 is on another LAN subnet (lan2).

CONF=$(mktemp)

attach_with() { # attach_with CONFIG-LINES...
	printf '%s\n' "$@" >"$CONF"
	hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"
}

test_snat_internal_is_the_default() {
	tcp_server 80
	attach_with "map tcp wan:8080 $SRV_ADDR:80"
	hp status | grep -qx "snat internal" || fail "status: $(hp status)"
	expect_prefix "same subnet" "$(tcp_get "$C1" $PUB 8080)" "$LAN_ROUTER "
	expect_prefix "other subnet" "$(tcp_get "$C3" $PUB 8080)" "$LAN_ROUTER "
}

test_snat_external() {
	tcp_server 80
	attach_with "snat external" "map tcp wan:8080 $SRV_ADDR:80"
	expect_prefix "same subnet" "$(tcp_get "$C1" $PUB 8080)" "$PUB "
	expect_prefix "other subnet" "$(tcp_get "$C3" $PUB 8080)" "$PUB "
	hp flows | grep -q "^tcp $C1_ADDR:[0-9]* > $PUB:8080 => $PUB:[0-9]* > $SRV_ADDR:80 hairpin" ||
		fail "flows: $(hp flows)"
}

# Destination NAT only: a client on another subnet keeps its address, and
# its replies come back through the router anyway. On the server's own
# subnet the server would answer directly: the field report's failure.
test_snat_off() {
	tcp_server 80
	attach_with "map tcp wan:8080 $SRV_ADDR:80 snat off"
	expect_prefix "other subnet" "$(tcp_get "$C3" $PUB 8080)" "$C3_ADDR "
	got=$(tcp_get "$C1" $PUB 8080) || true
	expect_eq "same subnet" "$got" ""
}

# Only clients of the server's subnet are source-NATed; the others keep
# their address for the server's logs (and fail2ban).
test_snat_scope_same_subnet() {
	tcp_server 80
	attach_with "snat internal same-subnet" "map tcp wan:8080 $SRV_ADDR:80"
	expect_prefix "same subnet" "$(tcp_get "$C1" $PUB 8080)" "$LAN_ROUTER "
	expect_prefix "other subnet" "$(tcp_get "$C3" $PUB 8080)" "$C3_ADDR "
	expect_prefix "WAN client" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
}

# A mapping's own mode wins over the global one; apply changes either.
test_snat_per_mapping_and_apply() {
	tcp_server 80
	attach_with "snat external" "map tcp wan:8080 $SRV_ADDR:80" \
		"map tcp wan:8081 $SRV_ADDR:80 snat internal same-subnet"
	expect_prefix "8080, global external" "$(tcp_get "$C1" $PUB 8080)" "$PUB "
	expect_prefix "8081, own internal" "$(tcp_get "$C1" $PUB 8081)" "$LAN_ROUTER "
	expect_prefix "8081, other subnet" "$(tcp_get "$C3" $PUB 8081)" "$C3_ADDR "
	hp show | grep -qx "map tcp wan:8081 $SRV_ADDR:80 snat internal same-subnet" ||
		fail "show: $(hp show)"
	hp show | grep -qx "snat external" || fail "show: $(hp show)"
	printf '%s\n' "map tcp wan:8080 $SRV_ADDR:80" \
		"map tcp wan:8081 $SRV_ADDR:80 snat external" >"$CONF.new"
	expect_eq "apply" "$(hp apply -c "$CONF.new")" \
		"change snat internal (was snat external)
change map tcp wan:8081 $SRV_ADDR:80 snat external (was $SRV_ADDR:80 snat internal same-subnet)"
	expect_prefix "8080, now internal" "$(tcp_get "$C1" $PUB 8080)" "$LAN_ROUTER "
	expect_prefix "8081, now external" "$(tcp_get "$C3" $PUB 8081)" "$PUB "
}

test_snat_bad_input() {
	attach_with "map tcp wan:8080 $SRV_ADDR:80"
	expect_refused "expected 'snat internal|external|off \[all|same-subnet\]'" \
		hp map add tcp wan:9000 $SRV_ADDR:80 snat sideways
	printf 'snat internal everyone\n' >"$CONF.bad"
	expect_refused "$CONF.bad:1: expected 'snat" hp apply -c "$CONF.bad"
}
