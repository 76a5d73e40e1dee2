# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The hairpin command: attach/detach lifecycle, listings, JSON, bad input.
# Sourced by tests/run.sh after lib.sh, with the test network up.

CONF=$(mktemp)
echo "map tcp wan:8080 $SRV_ADDR:80" >"$CONF"

attach() { hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"; }

# A clsact qdisc and filter of someone else's stay as they were.
test_detach_leaves_nothing_behind() {
	in_ns "$R" tc qdisc add dev wan0 clsact
	# A classic BPF filter that matches nothing: cls_bpf is all a router needs here.
	in_ns "$R" tc filter add dev wan0 ingress prio 7 bpf bytecode '1,6 0 0 0,'
	before=$(tc_state)
	attach
	[ "$(tc_progs br-lan ingress | grep -c '^hp_ingress ')" = 1 ] ||
		fail "no ingress program on br-lan"
	[ "$(tc_progs wan0 egress | grep -c '^hp_egress ')" = 1 ] || fail "no egress program on wan0"
	hp detach
	expect_eq "TC state after detach" "$(tc_state)" "$before"
	[ ! -e "$PIN" ] || fail "pin dir left behind: $(ls "$PIN")"
	! hp status 2>/dev/null || fail "status succeeds after detach"
}

# Another tool's filter at hairpin's own TC handle and priority: where
# hairpin attaches clsact filters, attach refuses and changes nothing; tcx
# links take no handle, and the filter is left alone by attach and detach.
test_filter_at_our_handle_is_left_alone() {
	tcp_server 80
	in_ns "$R" tc qdisc add dev wan0 clsact
	in_ns "$R" tc filter add dev wan0 egress pref $((0x4850)) handle 0x4850 bpf \
		bytecode '1,6 0 0 0,'
	before=$(tc_state)
	HAIRPIN_TEST_CLSACT=1 expect_refused \
		"wan0: a filter of another tool holds hairpin's TC egress handle and priority 0x4850" \
		attach
	if has_tcx; then
		attach
		hp status | grep -q "^interface *wan0 .* tc tcx " || fail "not on tcx: $(hp status)"
		expect_prefix "port forward" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
		hp detach
	else
		expect_refused "holds hairpin's TC egress handle" attach
	fi
	expect_eq "TC state" "$(tc_state)" "$before"
}

# What hairpin lets through goes on to the hook's next program: another
# tool's filter after ours still sees it (with tcx links, every clsact
# filter runs after them).
test_later_filters_still_run() {
	local id map n
	tcp_server 80
	attach
	in_ns "$R" tc qdisc add dev wan0 clsact 2>/dev/null || true # ours where there is no tcx
	in_ns "$R" tc filter add dev wan0 ingress pref 49152 bpf da obj "$TOP/build/e2e/count.bpf.o" \
		sec tc
	id=$(tc_progs wan0 ingress | awk '$1 == "count" {print $3}')
	map=$(bpftool -j prog show id "$id" | grep -o '"map_ids":\[[0-9]*' | grep -o '[0-9]*$')
	expect_prefix "port forward" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	in_ns "$W" ping -c 3 -i 0.2 -W 1 -q $PUB >/dev/null
	n=$(bpftool -j map dump id "$map" | grep -o '"value":[0-9][0-9]*' | cut -d: -f2)
	# Three echo requests and the connection's packets the stack path took.
	[ "$n" -ge 4 ] || fail "the filter after hairpin's saw $n packets, want 4 or more"
	hp detach
	expect_eq "other tool's filter" "$(tc_progs wan0 ingress | awk '{print $1}')" count
}

# Attaching again with the same arguments changes nothing and keeps state:
# connections open across it, from the WAN and hairpinned, go on working.
# A second instance (another pin dir) on an interface of the first is
# refused before it makes anything: both would translate every packet.
test_second_instance_refused() {
	tcp_server 80
	attach
	expect_refused "another" nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN-2" attach \
		--lan lan2 --wan wan0 -c "$CONF"
	[ ! -e "$PIN-2" ] || fail "the refused instance left $PIN-2: $(ls "$PIN-2")"
	expect_prefix "port forward" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
}

# An instance whose filters someone removed by hand, with another attached
# since on the same interfaces (clsact, as on Debian 12's kernel): the first
# one's detach takes only what is its own, and the other goes on.
test_detach_leaves_another_instance_alone() {
	local dev hook
	export HAIRPIN_TEST_CLSACT=1
	tcp_server 80
	attach
	for dev in $TC_DEVS; do
		for hook in ingress egress; do
			in_ns "$R" tc filter del dev $dev $hook pref $((0x4850))
		done
	done
	nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN-2" attach --lan br-lan,lan2 \
		--wan wan0 -c "$CONF" >/dev/null
	before=$(tc_state)
	hp detach
	expect_eq "TC state after the first instance's detach" "$(tc_state)" "$before"
	expect_prefix "port forward by the other" "$(tcp_get "$W" $PUB 8080)" "$WAN_CLIENT "
	nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN-2" detach
}

# A pin dir that lost its config pin still knows its filters by its other
# tables: detach takes them off (clsact, where filters are found by handle).
test_detach_without_config_pin() {
	export HAIRPIN_TEST_CLSACT=1
	tcp_server 80
	before=$(tc_state)
	attach
	rm "$PIN/config"
	hp detach
	expect_eq "TC state after detach" "$(tc_state)" "$before"
	got=$(tcp_get "$W" $PUB 8080) || true
	expect_eq "port forward after detach" "$got" ""
}

# Another instance on an interface whose filters someone took from this one
# (clsact): this one's status does not count that instance's programs as
# its own, and its watch neither takes them for another interface nor
# replaces them.
test_watch_leaves_another_instance_alone() {
	local hook b_ids
	export HAIRPIN_TEST_CLSACT=1
	tcp_server 80
	hp attach --lan lan2 --wan wan0 -c "$CONF"
	for hook in ingress egress; do in_ns "$R" tc filter del dev lan2 $hook pref $((0x4850)); done
	nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN-2" attach --lan lan2 --wan br-lan \
		-c "$CONF" >/dev/null
	b_ids=$(tc_progs lan2 ingress; tc_progs lan2 egress)
	hp status 2>/dev/null | grep -q "^interface *lan2 .* ingress MISSING  egress MISSING  unattached$" ||
		fail "status: $(hp status)"
	for hook in ingress egress; do in_ns "$R" tc filter del dev wan0 $hook pref $((0x4850)); done
	timeout 3 nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN" watch >"$CONF.log" 2>&1 || true
	grep -q "wan0 had lost its filters: attached again" "$CONF.log" || fail "watch: $(cat "$CONF.log")"
	grep -q "lan2: hairpin's ingress program .* of another instance" "$CONF.log" ||
		fail "watch: $(cat "$CONF.log")"
	expect_eq "the other instance's programs on lan2" "$(tc_progs lan2 ingress; tc_progs lan2 egress)" \
		"$b_ids"
	expect_prefix "port forward by this instance's programs on wan0" "$(tcp_get "$W" $PUB 8080)" \
		"$WAN_CLIENT "
	nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN-2" detach
}

test_attach_twice_is_harmless() {
	local dir
	dir=$(mktemp -d)
	echo_server 80
	attach
	IDLE_PIDS=
	idle_start "$W" 8080 "$dir/wan"
	idle_start "$C1" 8080 "$dir/hairpin"
	before=$(tc_state)
	flows=$(hp flows | wc -l)
	expect_eq "flows before" "$flows" 2
	attach
	# The programs are new, so only their ids may differ.
	expect_eq "TC state" "$(tc_state | sed 's/:\[[0-9]*\]//; s/ id [0-9]*//')" \
		"$(echo "$before" | sed 's/:\[[0-9]*\]//; s/ id [0-9]*//')"
	expect_eq "flows kept" "$(hp flows | wc -l)" "$flows"
	expect_eq "mappings" "$(hp map list | wc -l)" 2
	touch "$dir/wan" "$dir/hairpin" "$dir/new"
	wait $IDLE_PIDS || true # what broke is in the files
	expect_eq "WAN connection across the re-attach" "$(tail -n1 "$dir/wan.out")" ok
	expect_eq "hairpinned connection across the re-attach" \
		"$(tail -n1 "$dir/hairpin.out")" ok
	expect_eq "new connection" "$(idle_client "$W" 8080 "$dir/new" | tail -n1)" ok
	rm -rf "$dir"
}

test_map_add_list_del() {
	attach
	hp map add udp 198.51.100.7:5000-5002 $SRV_ADDR:6000-6002 any-address
	hp map add tcpudp wan:2222 $SRV_ADDR:22
	list=$(hp map list)
	zeros=" +0 +0 +0 +0 +0 +0$"
	echo "$list" | grep -Eq "^udp +198.51.100.7:5000-5002 +$SRV_ADDR:6000-6002$zeros" ||
		fail "range not listed: $list"
	echo "$list" | grep -Eq "^tcp +$PUB:2222 +$SRV_ADDR:22$zeros" || fail "tcp of tcpudp: $list"
	echo "$list" | grep -Eq "^udp +$PUB:2222 +$SRV_ADDR:22$zeros" || fail "udp of tcpudp: $list"
	hp map del udp 198.51.100.7:5000-5002
	hp map del tcpudp wan:2222
	expect_eq "mappings left" "$(hp map list | tail -n +2 | awk '{print $1, $2, $3}')" \
		"tcp $PUB:8080 $SRV_ADDR:80"
	expect_eq "counters left" "$(counter_slots)" 1
}

# Per mapping: connections, packets and bytes from the WAN and from the
# hairpin, in map list, its JSON, and bpftool's dump by field name.
test_map_counters() {
	tcp_server 80
	attach
	for _ in 1 2; do tcp_get "$W" $PUB 8080 >/dev/null; done
	tcp_get "$C1" $PUB 8080 >/dev/null
	json=$(hp -j map list)
	field() { echo "$json" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
	expect_eq "wan_conns" "$(field wan_conns)" 2
	expect_eq "hairpin_conns" "$(field hairpin_conns)" 1
	# A connection is at least SYN, SYN/ACK, ACK, data, and a FIN each way.
	[ "$(field wan_packets)" -ge 10 ] || fail "wan_packets: $json"
	[ "$(field hairpin_packets)" -ge 5 ] || fail "hairpin_packets: $json"
	[ "$(field wan_bytes)" -ge $(($(field wan_packets) * 40)) ] || fail "wan_bytes: $json"
	[ "$(field hairpin_bytes)" -ge $(($(field hairpin_packets) * 40)) ] ||
		fail "hairpin_bytes: $json"
	hp map list | grep -Eq "^tcp +$PUB:8080 +$SRV_ADDR:80 +2 +$(field wan_packets) " ||
		fail "map list: $(hp map list)"
	bpftool map dump pinned "$PIN/map_counters" | grep -q '"hairpin_conns": 1' ||
		fail "bpftool: $(bpftool map dump pinned "$PIN/map_counters")"
}

# -j output is JSON, and bpftool prints the counters by name.
test_json_and_bpftool_counters() {
	tcp_server 80
	attach
	tcp_get "$W" $PUB 8080 >/dev/null
	for cmd in status "map list" flows stats; do
		hp -j $cmd | python3 -c 'import json, sys; json.load(sys.stdin)' ||
			fail "'hp -j $cmd' is not JSON: $(hp -j $cmd)"
	done
	dnat=$(hp -j stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["dnat"])')
	[ "$dnat" -ge 2 ] || fail "dnat counter $dnat after a TCP connection"
	bpftool map dump pinned "$PIN/stats" | grep -q '"dnat": ' ||
		fail "bpftool does not print named counters: $(bpftool map dump pinned "$PIN/stats")"
	hp -j flows | python3 -c '
import json, sys
f = json.load(sys.stdin)[0]
assert f["proto"] == "tcp" and f["orig_dst"] == "'$PUB':8080" and f["reply_src"] == "'$SRV_ADDR':80", f
assert f["assured"], f'
}

# status and show print the live settings alike: the same statements, the same -j keys.
test_status_and_show_agree() {
	local settings='^(snat-ports|snat|mark|fastpath|timeout|size) '
	printf '%s\n' "timeout udp 60" "mark 0x10/0x30" "snat external same-subnet" \
		"size conns 4096" >>"$CONF"
	attach
	hp show | grep -qx "timeout udp 60" || fail "show: $(hp show)"
	hp show | grep -qx "mark 0x10/0x30" || fail "show: $(hp show)"
	expect_eq "settings in status and in show" "$(hp status | grep -E "$settings")" \
		"$(hp show | grep -E "$settings")"
	# Where the kernel has BTF, the programs read the skb's checksum state.
	if [ -r /sys/kernel/btf/vmlinux ]; then
		hp status | grep -q "^checksums  *by hand .*(ip_summed at byte [1-9]" ||
			fail "status: $(hp status | grep checksums)"
	fi
	{
		hp -j status
		hp -j show
	} | python3 -c '
import json, sys
status, show = (json.loads(line) for line in sys.stdin)
settings = {k: v for k, v in show.items() if k not in ("lan", "wan", "xdp", "mappings")}
assert set(settings) == {"snat_port_min", "snat_port_max", "snat_mode", "snat_scope", "mark",
                         "mark_mask", "fastpath", "timeout_tcp_established",
                         "timeout_tcp_closing", "timeout_udp", "size_conns",
                         "size_mappings"}, settings
assert all(status[k] == v for k, v in settings.items()), (status, settings)
assert (settings["timeout_udp"], settings["mark"], settings["mark_mask"]) == (60, 16, 48), settings
assert (settings["snat_mode"], settings["snat_scope"]) == ("external", "same-subnet"), settings
assert (settings["size_conns"], settings["size_mappings"]) == (4096, 16384), settings
keys = list(status) + list(show) + [k for m in show["mappings"] for k in m]
assert all(k.islower() and not set(k) & set(" -") for k in keys), keys' ||
		fail "status -j and show -j: $(hp -j status; hp -j show)"
}

test_bad_input_is_refused() {
	attach
	expect_refused "interface 'nope0' does not exist" hp attach --lan nope0 --wan wan0
	expect_refused "unknown protocol 'sctp'" hp map add sctp wan:1 $SRV_ADDR:1
	expect_refused "'300.1.1.1' is not an IPv4 address" hp map add tcp 300.1.1.1:1 $SRV_ADDR:1
	expect_refused "differ in length" hp map add tcp wan:1000-1001 $SRV_ADDR:1000-1002
	expect_refused "not a port" hp map add tcp wan:0 $SRV_ADDR:1
	expect_refused "'8?0' is not a port" hp map add tcp $'wan:8\n0' $SRV_ADDR:1
	expect_refused "already exists" hp map add tcp wan:8080 $SRV_ADDR:81
	expect_refused "no mapping tcp" hp map del tcp wan:8081
	expect_refused "unknown command" hp map frob
	expect_refused "^hairpin: missing command (try 'hairpin help')$" hp
	expect_refused "^hairpin: missing command" hp -v
	# getopt's own complaints are one "hairpin:" line too, apply's without a usage line.
	expect_refused "^hairpin: attach: option '--xdp' needs an argument$" \
		hp attach --lan br-lan --wan wan0 --xdp
	expect_refused "^hairpin: attach: option '--bogus' is unknown$" hp attach --bogus
	expect_refused "^hairpin: apply: option '-c' needs an argument$" hp apply -c
	expect_refused "^hairpin: apply: option '--check' takes no argument$" hp apply --check=1 -c "$CONF"
	expect_refused "^hairpin: option '-x' is unknown$" hp -x status
	expect_refused "must be run as root" nsenter --net=/run/netns/"$R" \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$HP" --pin-dir "$PIN" map add tcp wan:1 $SRV_ADDR:1
	expect_refused "not on a bpf filesystem" nsenter --net=/run/netns/"$R" "$HP" \
		--pin-dir /tmp/hairpin-not-bpffs-$ID attach --lan br-lan --wan wan0
	expect_refused "ip netns exec" ip netns exec "$R" "$HP" status
	expect_refused "overlaps the router's local ports 32768-60999" \
		hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF" --snat-ports 40000-41000
	printf 'map tcp wan:7000 %s:70\nmap tcp wan:7001 nowhere:71\n' $SRV_ADDR >"$CONF.bad"
	expect_refused "$CONF.bad:2: 'nowhere' is not an IPv4 address" \
		hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF.bad"
	printf 'map tcp wan:7000 %s:70\nfrobnicate\n' $SRV_ADDR >"$CONF.bad"
	expect_refused "$CONF.bad:2: unknown statement" \
		hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF.bad"
	printf 'map tcp wan:8080 %s:99\n' $SRV_ADDR >"$CONF.bad"
	expect_refused "already exists" hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF.bad"
}

# Without a running instance, commands say so and fail.
test_not_attached() {
	expect_refused "no hairpin instance" hp map list
	expect_refused "no hairpin instance" hp detach
}

test_help() {
	"$HP" --help | grep -q "^Usage: hairpin \[--pin-dir DIR\]" || fail "hairpin --help"
	"$HP" attach --help | grep -q "^Usage: hairpin attach \[--lan IF" || fail "attach --help"
	"$HP" map del --help | grep -q "^Usage: hairpin map del PROTO" || fail "map del --help"
	[ ! -e "$PIN" ] || fail "--help created the pin dir"
}

# The example configs shipped in examples/ apply as they are.
test_example_config_applies() {
	local f
	hp attach --lan br-lan,lan2 --wan wan0 -c "$TOP/examples/hairpin.conf"
	# Five map lines; the tcpudp one lists as a tcp and a udp mapping.
	expect_eq "mappings" "$(hp -j map list | grep -o '"proto"' | wc -l)" 6
	expect_eq "timeouts in status" "$(hp status | grep '^timeout ')" "timeout tcp-established 7440
timeout tcp-closing 10
timeout udp 120"
	for f in "$TOP"/examples/*.conf; do
		hp apply --check -c "$f" >/dev/null || fail "apply --check -c $f"
	done
}

# Tables pinned by a build of another layout are refused with what to do,
# never reused; detach still cleans them up.
test_layout_version_mismatch() {
	local v
	v=$(sed -n 's/^#define HP_LAYOUT_VERSION \([0-9]*\)$/\1/p' "$TOP/include/hairpin.h")
	attach
	expect_eq "layout pinned" \
		"$(bpftool map dump pinned "$PIN/layout" -j | grep -o '"formatted":{[^}]*}')" \
		"\"formatted\":{\"key\":0,\"value\":$v}"
	bpftool map update pinned "$PIN/layout" key 0 0 0 0 value 1 0 0 0
	expect_refused "holds tables of layout 1, this build uses layout $v: run 'hairpin detach'" \
		hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"
	expect_refused "holds tables of layout 1" hp map list
	# A pin dir from before the layout pin existed counts as layout 1.
	rm "$PIN/layout"
	expect_refused "holds tables of layout 1" hp flows
	hp detach
	[ ! -e "$PIN" ] || fail "pin dir left behind: $(ls "$PIN")"
	attach
	hp map list | grep -q ":8080" || fail "attach after the detach: $(hp map list)"
}

# The man page covers every command --help lists and every config statement
# and timeout the parser knows (as its own error messages name them).
test_man_page_covers_everything() {
	local man cmd word n=0
	man=$(sed 's/\\-/-/g' "$TOP/doc/hairpin.8") # troff's \- as a plain -
	for cmd in $("$HP" --help | awk '$1 == "hairpin" && $2 != "[--pin-dir" {print $2}'); do
		echo "$man" | grep -q "^\.SS $cmd\b" || fail "no section for command '$cmd'"
		n=$((n + 1))
	done
	[ $n -ge 10 ] || fail "only $n commands in --help"
	err=$(hp apply --check -c <(echo frobnicate) 2>&1) || true
	n=0
	for word in $(echo "$err" | sed -n 's/.*unknown statement.*(\(.*\)).*/\1/p' | tr -d ,); do
		echo "$man" | grep -q "^\.BI* \"*$word\b" || fail "no entry for statement '$word'"
		n=$((n + 1))
	done
	[ $n -ge 4 ] || fail "statements in '$err'"
	err=$(hp apply --check -c <(echo "timeout x 1") 2>&1) || true
	n=0
	for word in $(echo "$err" | sed -n "s/.*'timeout \([^ ]*\) SECONDS'.*/\1/p" | tr '|' ' '); do
		echo "$man" | grep -q "timeout $word " || fail "no entry for timeout '$word'"
		n=$((n + 1))
	done
	[ $n -ge 3 ] || fail "timeouts in '$err'"
	! man --warnings -l "$TOP/doc/hairpin.8" 2>&1 >/dev/null | grep . || fail "man warns"
}
