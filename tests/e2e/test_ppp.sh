# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A real PPPoE WAN: pppd on the router's wan0, the WAN host as the access
# concentrator (pppoe-server), the router's address on ppp0. The link goes
# and comes back as a PPPoE reconnect takes it: ppp0 deleted, a new one made
# under its name. Needs a kernel with PPPoE (Debian's has it as modules:
# the qemu run), pppd and pppoe-server; skipped without them.
# Sourced by tests/run.sh after lib.sh, with the test network up.

CONF=$(iface_conf)
sed -i 's/^wan wan0$/wan ppp0/' "$CONF"
echo "map tcp wan:8081 $SRV_ADDR:81" >>"$CONF"

ppp_usable() {
	[ -c /dev/ppp ] && command -v pppd >/dev/null && command -v pppoe-server >/dev/null &&
		command -v pppoe >/dev/null &&
		[ -n "$(ls /usr/lib/pppd/*/rp-pppoe.so 2>/dev/null)" ]
}

# The router's PPPoE session on wan0 as ppp0; pppd's pid in /var/run/ppp-$ID.pid.
ppp_dial() {
	in_ns "$R" pppd plugin rp-pppoe.so nic-wan0 ifname ppp0 linkname "$ID" noauth nodetach \
		noipdefault nodefaultroute noaccomp nopcomp novj nodeflate nobsdcomp \
		lcp-echo-interval 0 persist maxfail 0 holdoff 1 >>"$CONF.pppd" 2>&1 &
	for _ in $(seq 100); do
		in_ns "$R" ip -4 addr show dev ppp0 2>/dev/null | grep -q "inet $PUB " && return 0
		sleep 0.1
	done
	fail "no ppp0 with $PUB: $(cat "$CONF.pppd" "$CONF.server")"
}

test_pppoe_reconnect_keeps_connections() {
	local dir
	ppp_usable || exit 77
	dir=$(mktemp -d)
	# PPPoE instead of addresses on the Ethernet link.
	in_ns "$R" ip addr flush dev wan0
	in_ns "$W" ip addr flush dev eth0
	# The concentrator's pppd asks no authentication, whatever /etc/ppp/options says.
	printf 'noauth\nlcp-echo-interval 0\nlogfile %s\n' "$CONF.server" >"$CONF.server-options"
	in_ns "$W" pppoe-server -I eth0 -L $WAN_CLIENT -R $PUB -N 1 -O "$CONF.server-options" \
		>"$CONF.server" 2>&1
	ppp_dial
	tcp_server 80
	echo_server 81
	hp attach -c "$CONF"
	hp status | grep -q "^interface *ppp0 .* ingress attached  egress attached$" ||
		fail "status: $(hp status)"
	start_watch
	expect_prefix "port forward over PPPoE" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	expect_prefix "hairpin" "$(tcp_get "$C1" $PUB 8080)" "$LAN_ROUTER "
	IDLE_PIDS=
	idle_start "$W" 8081 "$dir/wan"

	# The reconnect: pppd ends, ppp0 goes, a new session makes it again.
	old=$(in_ns "$R" cat /sys/class/net/ppp0/ifindex)
	kill "$(head -n 1 /var/run/ppp-$ID.pid)"
	for _ in $(seq 100); do
		in_ns "$R" ip link show ppp0 >/dev/null 2>&1 || break
		sleep 0.1
	done
	ppp_dial
	new=$(in_ns "$R" cat /sys/class/net/ppp0/ifindex)
	[ "$new" != "$old" ] || fail "ppp0 kept its ifindex $old"
	for _ in $(seq 50); do
		grep -q "ppp0 is back" "$CONF.log" && break
		sleep 0.1
	done
	grep -q "ppp0 is back (ifindex $old -> $new): attached" "$CONF.log" ||
		fail "watch: $(cat "$CONF.log")"
	expect_prefix "port forward after the reconnect" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	touch "$dir/wan"
	wait $IDLE_PIDS || true
	expect_eq "connection across the reconnect" "$(tail -n 1 "$dir/wan.out")" ok
	kill $watcher "$(head -n 1 /var/run/ppp-$ID.pid)" 2>/dev/null || true
	rm -rf "$dir"
}
