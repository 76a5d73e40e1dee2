# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Table sizes from the config file, the memory an instance holds as the
# kernel reports it (bpftool, not hairpin), and a size change refused on a
# live instance. Sourced by tests/run.sh after lib.sh, with the test network up.

CONF=$(mktemp)
SMALL=$(mktemp)

attach() { hp attach --lan br-lan,lan2 --wan wan0 -c "$1"; }

# A field of the JSON object on stdin; a list one item a line.
field() { # field NAME
	python3 -c '
import json, sys
v = json.load(sys.stdin)[sys.argv[1]]
print(*(v if isinstance(v, list) else [v]), sep="\n")' "$1"
}

pinned() { bpftool -j map show pinned "$PIN/$1" | field "$2"; } # pinned PIN-NAME FIELD

# The CPUs the kernel may bring up: a per-CPU table has an entry for each.
possible_cpus() {
	python3 -c '
n = 0
for r in open("/sys/devices/system/cpu/possible").read().strip().split(","):
    a, _, b = r.partition("-")
    n += int(b or a) - int(a) + 1
print(n)'
}
max_entries() { pinned "$1" max_entries; }
status_memlock() { hp -j status | field memlock; }

# The ids of the tables of the instance: pinned, or held by its programs on
# the router's interfaces (frags is not pinned). One per line.
table_ids() {
	local dev dir f id
	for f in "$PIN"/*; do
		case ${f##*/} in tcx_*) continue ;; esac # links, not tables
		pinned "${f##*/}" id
	done
	for dev in br-lan lan2 wan0; do
		for dir in ingress egress; do
			for id in $(tc_progs $dev $dir | cut -d' ' -f3); do
				bpftool -j prog show id "$id" | field map_ids
			done
		done
	done
}

# The kernel's memlock of every table of the instance, in bytes.
kernel_memlock() {
	# One listing of every table: bpftool's "map show id" takes half a second.
	table_ids | python3 -c '
import json, subprocess, sys
ids = {int(line) for line in sys.stdin if line.strip()}
maps = json.loads(subprocess.check_output(["bpftool", "-j", "map", "show"]))
print(sum(m["bytes_memlock"] for m in maps if m["id"] in ids))'
}

test_small_sizes_from_config() {
	tcp_server 80
	cat >"$CONF" <<CONF
size conns 4096
size mappings 1024
map tcp wan:8080 $SRV_ADDR:80
CONF
	attach "$CONF"
	expect_eq "conns max_entries" "$(max_entries conns)" 4096
	expect_eq "mappings max_entries" "$(max_entries mappings)" 1024
	expect_eq "map_counters max_entries" "$(max_entries map_counters)" 1024
	# 4096 connection entries of 136 bytes, 1024 of mappings: 2 MiB in all
	# (frags, 768 KiB, is not sized by the config).
	mem=$(pinned conns bytes_memlock)
	[ "$mem" -le $((4096 * 160)) ] || fail "conns memlock $mem bytes, want <= 640 KiB"
	mem=$(kernel_memlock)
	[ "$mem" -gt 0 ] && [ "$mem" -lt $((2 << 20)) ] || fail "memlock $mem bytes, want < 2 MiB"
	expect_eq "status -j memlock, the kernel's" "$(status_memlock)" "$mem"
	hp status | grep -q "^table        conns .* of     4096 entries" || fail "status: $(hp status)"
	hp status | grep -Eq "^table +map_counters +- of +1024 entries" || fail "status: $(hp status)"
	hp status | grep -q "^memory " || fail "status: $(hp status)"
	hp show | grep -qx "size conns 4096" || fail "show: $(hp show)"
	hp -j show | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["size_conns"] == 4096 and s["size_mappings"] == 1024, s' || fail "show -j: $(hp -j show)"
	# The small tables work: a port forward from the WAN.
	tcp_get "$W" $PUB 8080 | grep -q "^$WAN_CLIENT " || fail "no answer through small tables"
	expect_eq "apply of show's output" "$(hp show | hp apply -c /dev/stdin)" "no change"
	# Attach again with the same sizes: the same tables, reused.
	id=$(pinned conns id)
	attach "$CONF" || fail "attach again with the same sizes"
	expect_eq "conns reused" "$(pinned conns id)" "$id"
}

# Defaults on this machine, by the kernel's account: at most 16.5 MiB with
# every mapping entry in use (896 KiB more per possible CPU above 2, as
# map_counters is per CPU).
test_default_fits_small_router() {
	local cpus limit mem
	cpus=$(possible_cpus)
	limit=$((33 << 19)) # 16.5 MiB
	[ "$cpus" -le 2 ] || limit=$((limit + (cpus - 2) * 16384 * 56))
	# Every entry of the mappings table: 8192 ports, tcp and udp.
	echo "map tcpudp wan:40000-48191 $SRV_ADDR:40000-48191" >"$CONF"
	attach "$CONF" || fail "attach with 16384 mapping entries"
	expect_eq "conns max_entries" "$(max_entries conns)" 65536
	expect_eq "mappings max_entries" "$(max_entries mappings)" 16384
	expect_eq "mapping entries" "$(hp -j status | field mapping_entries)" 16384
	mem=$(kernel_memlock)
	[ "$mem" -le "$limit" ] || fail "defaults hold $mem bytes on $cpus CPUs, want <= $limit"
	expect_eq "status -j memlock, the kernel's" "$(status_memlock)" "$mem"
}

# attach as a router with little free memory runs it: in a memory cgroup of
# its own, limited to 64 MiB (and 1 MiB for each CPU past two, as the
# per-CPU tables grow), which the kernel charges with the tables and with
# what its verifier holds while it checks the programs. Past the limit the
# kernel kills attach.
test_attach_fits_in_64_mib() {
	local cg limit peak_file peak rc=0
	limit=$(((64 + $(possible_cpus) - 2) << 20))
	if [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
		cg=/sys/fs/cgroup/memory/hairpin-test-$ID
		mkdir "$cg"
		echo $limit >"$cg/memory.limit_in_bytes"
		peak_file=memory.max_usage_in_bytes
	elif grep -qw memory /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
		cg=/sys/fs/cgroup/hairpin-test-$ID
		mkdir "$cg"
		echo $limit >"$cg/memory.max"
		peak_file=memory.peak
	else
		echo "no memory cgroup to run attach in" >&2
		exit 77
	fi
	echo "map tcp wan:8080 $SRV_ADDR:80" >"$CONF"
	bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' - "$cg" \
		nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN" attach --lan br-lan,lan2 \
		--wan wan0 -c "$CONF" || rc=$?
	peak=$(cat "$cg/$peak_file")
	rmdir "$cg"
	echo "attach's peak: $((peak >> 20)) MiB, limit $((limit >> 20)) MiB"
	expect_eq "exit status of attach within $((limit >> 20)) MiB" $rc 0
	hp status >/dev/null || fail "status after attach"
}

# A size other than the live one is refused by apply and attach alike, and
# the instance keeps its tables and its connections.
test_size_change_refused() {
	tcp_server 80 30
	echo "map tcp wan:8080 $SRV_ADDR:80" >"$CONF"
	attach "$CONF"
	# A connection that stays open, idle, through the refusals.
	in_ns "$W" python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 8080))
time.sleep(30)' $PUB &
	for _ in $(seq 50); do
		hp flows | grep -q "$WAN_CLIENT" && break
		sleep 0.1
	done
	flows=$(hp flows | sed 's/ fast .*//') # which directions are fast may change meanwhile
	entries=$(counter conn_entries)
	echo "$flows" | grep -q "$WAN_CLIENT" || fail "no flow to keep: $flows"
	id=$(pinned conns id)
	printf 'size conns 4096\nmap tcp wan:8080 %s:80\n' "$SRV_ADDR" >"$SMALL"
	want="size conns 4096, but the live instance's is 65536: .*run 'hairpin detach'"
	expect_refused "$want" hp apply -c "$SMALL"
	expect_refused "$want" hp apply --check -c "$SMALL"
	expect_refused "$want" attach "$SMALL"
	printf 'size mappings 65536\nmap tcp wan:8080 %s:80\n' "$SRV_ADDR" >"$SMALL"
	expect_refused "size mappings 65536, but the live instance's is 16384" attach "$SMALL"
	expect_refused "size mappings" hp attach --lan br-lan,lan2 --wan wan0 -c "$SMALL"
	expect_eq "conns max_entries" "$(max_entries conns)" 65536
	expect_eq "conns table" "$(pinned conns id)" "$id"
	expect_eq "flows kept" "$(hp flows | sed 's/ fast .*//')" "$flows"
	expect_eq "conn entries kept" "$(counter conn_entries)" "$entries"
	# Once detached, the new sizes are taken.
	hp detach
	attach "$SMALL"
	expect_eq "mappings max_entries after detach" "$(max_entries mappings)" 65536
}
