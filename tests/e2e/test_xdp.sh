# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The XDP program, loaded through libxdp with attach --xdp. Sourced by
# tests/run.sh after lib.sh; the network is this file's own, since lib.sh's
# puts the server behind a bridge, which takes no XDP frames:
#
#   c1 198.51.100.10 ── lcli 198.51.100.1 ┐
#                                          router ── wan0 203.0.113.1 ── w 203.0.113.2
#   srv 192.0.2.20 ──── lsrv 192.0.2.1 ───┘
#
# Every link is a veth pair; the router's sides run the XDP program. The
# hosts' sides have GRO on, so each router side takes XDP frames
# (ndo_xdp_xmit), and fill in their checksums themselves (tx offload off):
# the XDP program leaves a checksum a veth left for the device to the TC
# programs.

ALL_NS="$R $C1 $SRV $W"
C1_ADDR=198.51.100.10
LAN_ROUTER=192.0.2.1
DROP_PROG=$TOP/build/e2e/drop_port.bpf.o

CONF=$(mktemp)
cat >"$CONF" <<CONF
lan lsrv lcli
wan wan0
map tcp wan:8080 $SRV_ADDR:80
map udp wan:5353 $SRV_ADDR:53
CONF

topo_up() {
	local ns
	router_up
	link "$R" wan0 "$W" eth0
	link "$R" lsrv "$SRV" eth0
	link "$R" lcli "$C1" eth0
	in_ns "$R" ip addr add $PUB/24 dev wan0
	in_ns "$R" ip addr add $LAN_ROUTER/24 dev lsrv
	in_ns "$R" ip addr add 198.51.100.1/24 dev lcli
	host "$W" eth0 $WAN_CLIENT/24 $PUB
	host "$SRV" eth0 $SRV_ADDR/24 $LAN_ROUTER
	host "$C1" eth0 $C1_ADDR/24 198.51.100.1
	for ns in "$W" "$SRV" "$C1"; do in_ns "$ns" ethtool -K eth0 tx off gro on >/dev/null; done
	wait_ping "$C1" $SRV_ADDR
}

attach() { hp attach -c "$CONF" "$@"; }

TC_DEVS="wan0 lsrv lcli" # tc_state's: what detach must leave as before the first attach

# XDP programs named hp_xdp on the router's interfaces.
ours_on() { in_ns "$R" ip -d link show | grep -c 'prog/xdp.* name hp_xdp ' || true; }

# The programs on the router's interface $1 as xdp-loader lists them.
loader_status() { nsenter --net=/run/netns/"$R" xdp-loader status "$1" 2>&1; }

# $4 datagrams from $1 through the port forward, as in test_fastpath.sh:
# the TTL and address the server saw, the TTL the answer came back with.
# Prints "XDP TC PARSED": how many packets the XDP program forwarded, how
# many the TC fast path did, how many the programs counted.
udp_flow() { # udp_flow NS SEEN-ADDRESS COUNT
	local x t p out
	x=$(counter xdp_fastpath)
	t=$(counter fastpath)
	p=$(counter packets)
	out=$(ttl_client "$1" $PUB 5353 "$3" 2.1)
	expect_eq "answers from $1" "$(echo "$out" | grep -c .)" "$3" || return 1
	expect_eq "TTL and address seen by the server, TTL back, from $1" \
		"$(echo "$out" | sort -u)" "63 $2 63" || return 1
	echo $(($(counter xdp_fastpath) - x)) $(($(counter fastpath) - t)) \
		$(($(counter packets) - p))
}

# An established flow each way: the first datagram of each direction and
# the one that makes the flow assured (2 s later) go through the stack,
# which the TC programs see at ingress and egress; the other 17 the XDP
# program translates, decrements and redirects, counted once.
test_udp_forward_and_hairpin_take_xdp() {
	ttl_server 53
	attach --xdp native
	expect_eq "XDP fast path from the WAN" "$(udp_flow "$W" $WAN_CLIENT 10)" "17 0 23"
	expect_eq "XDP fast path of the hairpin" "$(udp_flow "$C1" $LAN_ROUTER 10)" "17 0 23"
	hp flows | grep -q "udp $C1_ADDR:.* hairpin fast both" || fail "flows: $(hp flows)"
}

# A TCP upload each way, with the server seeing the client's address (the
# router's for the hairpin) and every segment with the TTL decreased by one.
test_tcp_forward_and_hairpin_take_xdp() {
	attach --xdp native
	tcp_uploads xdp_fastpath 100 "$W:$WAN_CLIENT" "$C1:$LAN_ROUTER"
}

# A veth whose peer has neither an XDP program nor GRO takes no XDP frames:
# attach does not make it a redirect target, and the replies to c1 take the
# TC fast path instead. Nothing is lost; the XDP counter moves only for the
# direction towards the server.
test_target_without_xdp_frames_loses_nothing() {
	ttl_server 53
	in_ns "$C1" ethtool -K eth0 gro off
	attach --xdp native
	hp status | grep -q "^xdp *lcli *native attached (single program)  redirect target no (no ndo_xdp_xmit)$" ||
		fail "status: $(hp status)"
	hp -j status | grep -q '"name":"lcli",[^}]*"xdp_target":false,"xdp_target_why":"no ndo_xdp_xmit"' ||
		fail "status -j: $(hp -j status)"
	hp status | grep -q "^table *xdp_tx *2 of" || fail "xdp_tx: $(hp status)"
	# 50 each way: 48 towards the server by XDP, 49 answers by TC.
	expect_eq "forwarded by XDP, by TC, parsed" "$(udp_flow "$C1" $LAN_ROUTER 50)" "48 49 $((48 + 49 + 3 * 2))"
}

# A shaper on the WAN: a redirected frame would skip it, so wan0 is no
# target, and the answers to the WAN client go through its tbf.
test_shaper_keeps_its_traffic() {
	ttl_server 53
	in_ns "$R" tc qdisc add dev wan0 root tbf rate 8mbit burst 32k latency 400ms
	attach --xdp native
	hp status | grep -q "^xdp *wan0 .* redirect target no (qdisc tbf may shape)$" ||
		fail "status: $(hp status)"
	expect_eq "forwarded by XDP, by TC, parsed" "$(udp_flow "$W" $WAN_CLIENT 10)" "8 9 23"
	in_ns "$R" tc -s qdisc show dev wan0 | grep -q "Sent [0-9]* bytes 1[0-9] pkt" ||
		fail "tbf: $(in_ns "$R" tc -s qdisc show dev wan0)"
}

# Generic XDP (skb mode) forwards the same way.
test_skb_mode() {
	ttl_server 53
	attach --xdp skb
	hp status | grep -q "^xdp *wan0 *skb attached (single program)  redirect target yes$" ||
		fail "status: $(hp status)"
	expect_eq "XDP fast path in skb mode" "$(udp_flow "$W" $WAN_CLIENT 10)" "17 0 23"
	# Back to native, then off: each attach replaces the last one's programs.
	attach --xdp native
	expect_eq "our programs after native" "$(ours_on)" 3
	in_ns "$R" ip link show wan0 | grep -q "mtu [0-9]* xdp " || fail "wan0 not native"
	attach --xdp off
	expect_eq "our programs after off" "$(ours_on)" 0
	expect_eq "flow after off" "$(udp_flow "$W" $WAN_CLIENT 3 | cut -d' ' -f1)" 0
}

# Another tool's program (drop_port: TCP and UDP to port 7777 dropped)
# loaded with xdp-loader before attach. Where the kernel runs libxdp's
# dispatcher, ours joins it, both act, and detach leaves theirs. Where it
# cannot, xdp-loader loaded theirs alone, and attach --xdp refuses to
# replace it, changing nothing; without --xdp, attach and detach leave it.
# HP_TEST_XDP_DISPATCHER=1 (the 6.1 VM) says the dispatcher's way is due.
test_xdp_loader_program_stays() {
	[ -e "$DROP_PROG" ] || fail "$DROP_PROG missing: make build/e2e/drop_port.bpf.o"
	tcp_server 80
	in_ns "$R" socat TCP-LISTEN:7777,fork,reuseaddr SYSTEM:'echo open' &
	wait_listen "$R" 7777 tcp
	expect_eq "port 7777 before drop_port" "$(tcp_get "$W" $PUB 7777)" open
	nsenter --net=/run/netns/"$R" xdp-loader load -m native wan0 "$DROP_PROG"
	expect_eq "port 7777 with drop_port" "$(tcp_get "$W" $PUB 7777)" ""
	if loader_status wan0 | grep -q xdp_dispatcher; then
		attach --xdp native
		loader_status wan0 | grep -q "drop_port" || fail "after attach: $(loader_status wan0)"
		loader_status wan0 | grep -q "hp_xdp" || fail "after attach: $(loader_status wan0)"
		hp status | grep -q "^xdp *wan0 *native attached (libxdp's dispatcher)" ||
			fail "status: $(hp status)"
		expect_eq "port 7777 beside hairpin" "$(tcp_get "$W" $PUB 7777)" ""
		expect_prefix "port forward beside drop_port" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	else
		[ "${HP_TEST_XDP_DISPATCHER:-}" != 1 ] ||
			fail "libxdp's dispatcher did not load on a kernel that runs it: $(loader_status wan0)"
		echo "    libxdp's dispatcher cannot load here: attach --xdp must refuse" >&2
		before=$(tc_state; ls "$PIN" 2>&1 || true)
		err=$(attach --xdp native 2>&1) && rc=0 || rc=$?
		expect_eq "exit status of attach --xdp beside drop_port" $rc 2
		expect_eq "stderr lines" "$(echo "$err" | wc -l)" 1
		echo "$err" | grep -q "^hairpin: wan0: XDP program 'drop_port' (id [0-9]*) is attached alone" ||
			fail "said: $err"
		expect_eq "state after the refused attach" "$(tc_state; ls "$PIN" 2>&1 || true)" "$before"
		expect_eq "our programs after the refused attach" "$(ours_on)" 0
		attach
		expect_prefix "port forward beside drop_port" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	fi
	hp detach
	loader_status wan0 | grep -q "drop_port" || fail "after detach: $(loader_status wan0)"
	expect_eq "our programs after detach" "$(ours_on)" 0
	expect_eq "port 7777 after detach" "$(tcp_get "$W" $PUB 7777)" ""
	expect_eq "port 7777 from the LAN, where drop_port is not" \
		"$(tcp_get "$C1" 198.51.100.1 7777)" open
}

# A bridge takes no native XDP program, a tun device (no Ethernet header)
# none at all: one line each says so, their TC programs work. status and
# show report XDP; bad values are refused.
test_bridge_status_and_bad_input() {
	in_ns "$R" ip link add br0 type bridge
	in_ns "$R" ip tuntap add dev tun0 mode tun
	for dev in br0:10.99.0.1 tun0:10.98.0.1; do
		in_ns "$R" ip link set "${dev%:*}" up
		in_ns "$R" ip addr add "${dev#*:}/24" dev "${dev%:*}"
	done
	err=$(hp attach --lan lsrv,lcli,br0,tun0 --wan wan0 -c "$CONF" --xdp native 2>&1 >/dev/null)
	expect_eq "attach beside a bridge and a tun said" "$err" \
"hairpin: br0: a bridge cannot run native XDP: its packets take the TC programs
hairpin: tun0: XDP runs only on Ethernet devices: its packets take the TC programs"
	hp status | grep -q "^xdp *tun0 *native unsupported (XDP runs only on Ethernet devices)" ||
		fail "status: $(hp status)"
	expect_eq "tun0's XDP program" "$(in_ns "$R" ip -d link show tun0 | grep -c prog/xdp)" 0
	hp status >/dev/null || fail "status: $(hp status 2>&1)"
	hp status | grep -q "^interface *br0 .* ingress attached  egress attached$" ||
		fail "status: $(hp status)"
	hp status | grep -q "^xdp *br0 *native unsupported (a bridge cannot run native XDP)" ||
		fail "status: $(hp status)"
	hp -j status | grep -q '"name":"lsrv",[^}]*"xdp":"native","xdp_load":"single","xdp_attach_mode":"native","xdp_unsupported":false,"xdp_target":true' ||
		fail "status -j: $(hp -j status)"
	hp -j status | grep -q '"name":"br0",[^}]*"xdp_prog_id":0,"xdp":"native","xdp_load":"none"' ||
		fail "status -j: $(hp -j status)"
	hp show | grep -qx "xdp native" || fail "show: $(hp show)"
	hp -j show | grep -q '"xdp":"native"' || fail "show -j: $(hp -j show)"
	# show's output applies unchanged; apply leaves XDP as it is.
	hp show >"$CONF.show"
	expect_eq "apply of show" "$(hp apply -c "$CONF.show")" "no change"
	sed -i 's/^xdp native/xdp off/' "$CONF.show"
	hp apply -c "$CONF.show" >/dev/null
	expect_eq "our programs after apply" "$(ours_on)" 3
	expect_refused "is not native, skb or off" hp attach -c "$CONF" --xdp fast
	echo "xdp fast" >"$CONF.bad"
	expect_refused "expected 'xdp native|skb|off'" hp attach -c "$CONF.bad"
	printf 'xdp native\nxdp skb\n' >"$CONF.bad"
	expect_refused "a second 'xdp' statement (the first is on line 1)" hp attach -c "$CONF.bad"
	# The command line wins over the file.
	# In skb mode the bridge takes one, the tun device still none.
	err=$(hp attach --lan lsrv,lcli,br0,tun0 --wan wan0 -c "$CONF" --xdp skb 2>&1 >/dev/null)
	expect_eq "attach in skb mode said" "$err" \
		"hairpin: tun0: XDP runs only on Ethernet devices: its packets take the TC programs"
	hp status | grep -q "^xdp *br0 *skb attached (single program)" || fail "status: $(hp status)"
	{ cat "$CONF"; echo "xdp skb"; } >"$CONF.skb"
	hp attach --lan lsrv,lcli --wan wan0 -c "$CONF.skb" --xdp native 2>/dev/null
	hp status | grep -q "^xdp *wan0 *native attached" || fail "status: $(hp status)"
}

# attach --xdp killed at every step, then detach: no XDP program of ours,
# no filter, no pin left.
test_attach_killed_at_every_step_leaves_no_xdp() {
	before=$(tc_state)
	n=1
	while :; do
		rc=0
		HAIRPIN_TEST_CRASH_AT=$n attach --xdp native 2>/dev/null || rc=$?
		[ $rc != 0 ] || break
		expect_eq "exit status of attach killed at step $n" $rc 137
		hp detach || fail "detach after a kill at step $n"
		expect_eq "TC and XDP after a kill at step $n and detach" "$(tc_state)" "$before"
		[ ! -e "$PIN" ] || fail "pin dir left after a kill at step $n: $(ls "$PIN")"
		n=$((n + 1))
	done
	# 3 interfaces x (tables, qdisc, ingress, egress, XDP) and more.
	[ $n -gt 15 ] || fail "attach ran to the end after $((n - 1)) steps"
	expect_eq "our programs after the last attach" "$(ours_on)" 3
}

# watch follows the redirect targets (a peer's GRO turned off and on, a
# shaper added) and gives an interface made again its XDP program.
# A target that stops taking frames with no watch to notice: status says
# frames are being lost and exits 1, until attach takes it out.
test_stale_target_is_unhealthy() {
	attach --xdp native >/dev/null
	hp status >/dev/null || fail "status before: $(hp status 2>&1)"
	in_ns "$C1" ethtool -K eth0 gro off
	out=$(hp status 2>&1 >/dev/null) && rc=0 || rc=$?
	expect_eq "status exit" $rc 1
	expect_eq "status error" "$out" "hairpin: XDP frames are lost: lcli (takes no XDP frames); 'hairpin watch' keeps redirect targets current, or run 'hairpin attach' again"
	hp -j status 2>/dev/null | grep -q '"healthy":false' || fail "status -j: $(hp -j status 2>&1)"
	attach --xdp native >/dev/null
	hp status >/dev/null || fail "status after attach: $(hp status 2>&1)"
}

test_watch_follows_xdp() {
	attach --xdp native
	start_watch
	start=$(date +%s%N)
	in_ns "$C1" ethtool -K eth0 gro off
	within 2000 sh -c "nsenter --net=/run/netns/$R $HP --pin-dir $PIN status | grep -q '^xdp *lcli .*target no (no ndo_xdp_xmit)'" ||
		fail "lcli still a target: $(hp status; cat "$CONF.log")"
	grep -q "lcli is no XDP redirect target: no ndo_xdp_xmit" "$CONF.log" || fail "log: $(cat "$CONF.log")"
	start=$(date +%s%N)
	in_ns "$R" tc qdisc add dev lsrv root tbf rate 8mbit burst 32k latency 400ms
	within 2000 sh -c "nsenter --net=/run/netns/$R $HP --pin-dir $PIN status | grep -q '^xdp *lsrv .*target no (qdisc tbf may shape)'" ||
		fail "lsrv still a target: $(hp status; cat "$CONF.log")"
	# lcli made again (a new index): the programs, XDP too, come back.
	in_ns "$R" ip link del lcli
	start=$(date +%s%N)
	link "$R" lcli "$C1" eth0
	in_ns "$R" ip addr add 198.51.100.1/24 dev lcli
	within 3000 sh -c "nsenter --net=/run/netns/$R $HP --pin-dir $PIN status" ||
		fail "not attached again: $(hp status 2>&1; cat "$CONF.log")"
	within 3000 sh -c "nsenter --net=/run/netns/$R ip -d link show lcli | grep -q 'prog/xdp.* name hp_xdp '" ||
		fail "no XDP program on the new lcli: $(cat "$CONF.log")"
	kill $watcher
}
