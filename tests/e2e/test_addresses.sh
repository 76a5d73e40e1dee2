# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Addresses and config lines that are no port forward: refused with one
# line, exit status 2 and nothing changed, unless said explicitly.
# Sourced by tests/run.sh after lib.sh, with the test network up.

CONF=$(mktemp)
echo "map tcp wan:8080 $SRV_ADDR:80" >"$CONF"

attach() { hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF"; }

test_non_unicast_refused_on_either_side() {
	local a
	attach
	for a in 255.255.255.255 224.0.0.1 239.1.1.1 127.0.0.1 0.0.0.0 240.0.0.1; do
		expect_refused "'$a' is .*not a unicast address" hp map add tcp $a:80 $SRV_ADDR:80
		expect_refused "'$a' is .*not a unicast address" hp map add udp wan:53 $a:53
		printf 'map udp wan:53 %s:53\n' $a >"$CONF.bad"
		expect_refused "$CONF.bad:1: '$a' is .*not a unicast address" hp apply -c "$CONF.bad"
	done
	expect_refused "private address $PUB is the router's own (on wan0)" \
		hp map add udp wan:53 $PUB:53
	expect_refused "private address $LAN_ROUTER is the router's own (on br-lan)" \
		hp map add tcp wan:81 $LAN_ROUTER:80
	expect_refused "private address 192.0.2.255 is the broadcast address of br-lan's subnet" \
		hp map add udp wan:53 192.0.2.255:53
}

# 8.8.8.8:53 would answer LAN clients' DNS from a LAN server: the router
# does not own it, so it takes 'any-address', which show keeps.
test_foreign_public_address_needs_any_address() {
	udp_server 53
	attach
	expect_refused "public address 8.8.8.8 is not the router's.*'any-address'" \
		hp map add udp 8.8.8.8:53 $SRV_ADDR:53
	printf 'map tcp wan:8080 %s:80\nmap udp 8.8.8.8:53 %s:53\n' $SRV_ADDR $SRV_ADDR >"$CONF.bad"
	expect_refused "$CONF.bad:2: public address 8.8.8.8 is not the router's" \
		hp apply -c "$CONF.bad"
	expect_refused "$CONF.bad:2: public address 8.8.8.8" \
		hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF.bad"
	# Addresses of the router's other interfaces are its own.
	hp map add udp 198.51.100.1:5353 $SRV_ADDR:53
	hp map add udp 8.8.8.8:53 $SRV_ADDR:53 any-address
	hp show | grep -qx "map udp 8.8.8.8:53 $SRV_ADDR:53 any-address" || fail "show: $(hp show)"
	hp show >"$CONF.shown"
	expect_eq "apply of show's output" "$(hp apply -c "$CONF.shown")" "no change"
}

# A port the router listens on itself (its sshd, here a python socket) is
# refused, naming the listener, unless 'hide-listener'.
test_router_listener_needs_hide_listener() {
	in_ns "$R" python3 -c '
import socket, time
t = socket.socket(socket.AF_INET6)
t.bind(("::", 2222))
t.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 5353))
time.sleep(60)' &
	wait_listen "$R" 2222 tcp
	wait_listen "$R" 5353 udp
	attach
	expect_refused "tcp $PUB:2222 would hide the router's own listener: python3 on \[::\]:2222.*'hide-listener'" \
		hp map add tcp wan:2222 $SRV_ADDR:22
	expect_refused "udp $PUB:5300-5400 would hide the router's own listener: python3 on 0.0.0.0:5353" \
		hp map add tcpudp wan:5300-5400 $SRV_ADDR:5300-5400
	printf 'map tcp wan:2222 %s:22\n' $SRV_ADDR >"$CONF.bad"
	expect_refused "$CONF.bad:1: tcp $PUB:2222 would hide" hp apply -c "$CONF.bad"
	hp map add udp wan:2222 $SRV_ADDR:22 # udp: nothing listens there
	hp map add tcp wan:2222 $SRV_ADDR:22 hide-listener
	hp show >"$CONF.shown"
	grep -qx "map tcp wan:2222 $SRV_ADDR:22 hide-listener" "$CONF.shown" ||
		fail "show: $(cat "$CONF.shown")"
	expect_eq "apply of show's output" "$(hp apply -c "$CONF.shown")" "no change"
}

# 'wan' is the router's address: a line with it and a line with the address
# itself take the same port, which apply could never converge on.
test_conflicting_lines_refused_with_file_line() {
	attach
	printf 'map tcp wan:8080 %s:80\n# B\nmap tcp %s:8080 %s:81\n' $SRV_ADDR $PUB $SRV_ADDR \
		>"$CONF.bad"
	expect_refused "$CONF.bad:3: public port $PUB:8080 overlaps line 1 (wan is $PUB)" \
		hp apply -c "$CONF.bad"
	expect_refused "$CONF.bad:3: public port $PUB:8080 overlaps line 1" \
		hp attach --lan br-lan,lan2 --wan wan0 -c "$CONF.bad"
	printf 'map udp %s:5000-6000 %s:5000-6000\nmap tcpudp wan:5999 %s:1\n' $PUB $SRV_ADDR \
		$SRV_ADDR >"$CONF.bad"
	expect_refused "$CONF.bad:2: public port wan:5999 overlaps line 1" hp apply -c "$CONF.bad"
}

# Bytes and numbers the grammar never holds, and statements given twice.
test_config_bytes_numbers_and_repeats() {
	attach
	printf 'map tcp wan:8080 %s:80\nmap tcp wan:8081 %s:81\0 garbage\n' $SRV_ADDR $SRV_ADDR \
		>"$CONF.bad"
	expect_refused "$CONF.bad:2: a NUL byte at column 31" hp apply -c "$CONF.bad"
	printf '\xef\xbb\xbfmap tcp wan:8080 %s:80\n' $SRV_ADDR >"$CONF.bad"
	expect_refused "$CONF.bad:1: the file starts with a UTF-8 byte order mark (EF BB BF)" \
		hp apply -c "$CONF.bad"
	printf 'timeout udp 60\x1b[2K\n' >"$CONF.bad"
	expect_refused "$CONF.bad:1: control character 0x1b at column 15" hp apply -c "$CONF.bad"
	printf 'snat-ports 62000-62999\nsnat-ports 63000-63999\n' >"$CONF.bad"
	expect_refused "$CONF.bad:2: a second 'snat-ports' statement (the first is on line 1)" \
		hp apply -c "$CONF.bad"
	printf 'timeout udp 60\ntimeout tcp-closing 20\ntimeout udp 30\n' >"$CONF.bad"
	expect_refused "$CONF.bad:3: a second 'timeout udp' statement" hp apply -c "$CONF.bad"
	expect_refused "$CONF.bad.none: No such file" hp apply -c "$CONF.bad.none"
	# Numbers are decimal or 0x hex: 010 is ten, as in nft, never octal eight.
	printf 'map tcp wan:8080 %s:80\nmark 010\n' $SRV_ADDR >"$CONF.mark"
	hp apply -c "$CONF.mark" >/dev/null
	hp show | grep -qx "mark 0xa/0xa" || fail "mark 010: $(hp show)"
	expect_refused "expected 'mark VALUE" hp apply -c <(echo "mark 0o10")
}

# Input is bounded: an endless or huge file is refused at once.
test_config_size_bounded() {
	attach
	start=$(date +%s%N)
	expect_refused "/dev/zero: larger than 1024 KiB" timeout 10 "$HP" --pin-dir "$PIN" apply -c /dev/zero
	head -c 2000000 /dev/zero | tr '\0' '#' >"$CONF.huge"
	expect_refused "$CONF.huge: larger than 1024 KiB" hp apply -c "$CONF.huge"
	ms=$((($(date +%s%N) - start) / 1000000))
	[ $ms -lt 5000 ] || fail "refusing took $ms ms"
	printf '%2000s\n' "# long" >"$CONF.bad"
	expect_refused "$CONF.bad:1: line longer than 1024 bytes" hp apply -c "$CONF.bad"
}
