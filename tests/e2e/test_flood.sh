# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Floods of new connections from spoofed WAN sources: the connection table
# early-drops connections that are not assured and never evicts established
# ones, which stay usable however long they were idle, and new connections
# still get in during the flood. Sourced by tests/run.sh after lib.sh, with
# the test network up.

TABLE=65536 # conns entries: room for 21845 connections, filled in a second
CONF=$(mktemp)
cat >"$CONF" <<CONF
size conns $TABLE
map tcp wan:8080 $SRV_ADDR:80
map tcp wan:8081 $SRV_ADDR:81
map udp wan:5353 $SRV_ADDR:53
CONF

INJECT=$TOP/build/bench/inject
SPOOFED=203.0.113.100 # and the 15 addresses after it
SOURCES=16

attach() { hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"; }

# The router sends what it forwards to the spoofed sources to w's MAC,
# where it is dropped, instead of asking ARP for each.
spoofed_neighbours() {
	local mac i
	mac=$(in_ns "$W" cat /sys/class/net/eth0/address)
	for i in $(seq 0 $((SOURCES - 1))); do
		in_ns "$R" ip neigh replace "${SPOOFED%.*}.$((${SPOOFED##*.} + i))" \
			lladdr "$mac" dev wan0 nud permanent
	done
}

# From w: frames from $SOURCES spoofed addresses and 40000 ports each, to
# the public port $1, $2 per source tuple (-t: SYNs), half a second at a
# time, each going on with tuples the last did not send, until the flood's
# connections took the room of a whole table of them and the process
# $NEW_PID is done (10 s at most). Prints the frames sent.
flood() { # flood [-t] PORT REPEAT
	local mac proto= sent=0 n
	[ "$1" = -t ] && { proto=-t; shift; }
	mac=$(in_ns "$R" cat /sys/class/net/wan0/address)
	for _ in $(seq 20); do
		n=$(in_ns "$W" "$INJECT" $proto -s $SOURCES -r "$2" -o $((sent / $2)) eth0 "$mac" \
			$SPOOFED $PUB "$1" 0.5 40000)
		sent=$((sent + n))
		kill -0 "$NEW_PID" 2>/dev/null ||
			[ "$(counter conn_early_drop)" -lt $((TABLE / 3)) ] 2>/dev/null || break
	done
	echo $sent
}

# New connections, one from the WAN and one hairpinned, while the flood runs.
new_connections() { # new_connections LOG
	sleep 0.5
	{
		tcp_get "$W" $PUB 8081
		tcp_get "$C1" $PUB 8081
	} >"$1"
}

# Idle connections from the WAN and from the LAN, then the flood, then the
# idle connections used again: with an LRU table the flood's entries took
# theirs and they were reset.
flood_spares_idle() { # flood_spares_idle [-t] PORT REPEAT
	local dir sent
	dir=$(mktemp -d)
	IDLE_PIDS=
	echo_server 80
	tcp_server 81
	udp_server 53 echo
	attach
	spoofed_neighbours
	idle_start "$W" 8080 "$dir/wan"
	idle_start "$C1" 8080 "$dir/hairpin"
	new_connections "$dir/new" &
	NEW_PID=$!
	sent=$(flood "$@")
	wait $NEW_PID
	touch "$dir/wan" "$dir/hairpin"
	wait $IDLE_PIDS || true # what broke is in the files
	echo "flood: $sent frames; $(hp stats | tr '\n' ' ')"
	expect_eq "idle WAN connection" "$(tail -n1 "$dir/wan.out")" ok
	expect_eq "idle hairpinned connection" "$(tail -n1 "$dir/hairpin.out")" ok
	expect_eq "new connections during the flood" "$(cut -d' ' -f1 "$dir/new" | tr '\n' ' ')" \
		"$WAN_CLIENT $LAN_ROUTER "
	# The flood filled the table: room was made by early drop, never eviction.
	[ "$(counter conn_early_drop)" -ge $((TABLE / 3)) ] || fail "the flood never filled the table"
	expect_eq "entries evicted" "$(counter conn_evicted)" 0
	rm -rf "$dir"
}

# The field report's UDP flood: three datagrams per spoofed source tuple to
# an echoing server, which answers each; a reply and younger than 2 s is
# not assured.
test_udp_flood_spares_idle_connections() {
	flood_spares_idle 5353 3
}

test_syn_flood_spares_idle_connections() {
	flood_spares_idle -t 8080 1
}
