# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Test network for the end-to-end tests, sourced by each test.
#
#   c1 192.0.2.10 ─┐
#   c2 192.0.2.11 ─┼─ br-lan 192.0.2.1 ┐
#   srv 192.0.2.20 ┘                   ├ router ── wan0 203.0.113.1 ── w 203.0.113.2
#   c3 198.51.100.10 ── lan2 198.51.100.1
#
# Every host is a network namespace named after this run; all addresses are
# documentation ranges and no interface of the root namespace is touched.
# A hairpin instance is driven with nsenter, not 'ip netns exec', which
# would remount /sys and hide /sys/fs/bpf.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The system's tools, which make deps installs: not a wrapper or another
# version earlier on a user's PATH (pyenv's python3 shim costs half a
# second a call, and the tests make hundreds).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
HP=${HP:-$TOP/build/hairpin}
ID=${HP_TEST_ID:-$$}
R=hp$ID-r
C1=hp$ID-c1
C2=hp$ID-c2
C3=hp$ID-c3
SRV=hp$ID-srv
W=hp$ID-w
ALL_NS="$R $C1 $C2 $C3 $SRV $W"
PIN=/sys/fs/bpf/hairpin-test-$ID

PUB=203.0.113.1
WAN_CLIENT=203.0.113.2
LAN_ROUTER=192.0.2.1
C1_ADDR=192.0.2.10
C2_ADDR=192.0.2.11
SRV_ADDR=192.0.2.20
C3_ADDR=198.51.100.10

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# hairpin inside the router namespace, with this run's own pin dir. With
# HP_TEST_FASTPATH=off every config file it reads gets "fastpath off" too.
hp() {
	local args=() a next=
	for a in "$@"; do
		if [ -n "$next" ] && [ "${HP_TEST_FASTPATH:-on}" = off ]; then
			# Same name under a prefix: errors still name FILE:LINE.
			mkdir -p "$(dirname "/tmp/hp-nofast-$ID$a")"
			{ cat "$a"; echo "fastpath off"; } >"/tmp/hp-nofast-$ID$a"
			a=/tmp/hp-nofast-$ID$a
		fi
		next=
		[ "$a" = -c ] && next=1
		args+=("$a")
	done
	nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN" "${args[@]}"
}

ensure_bpffs() {
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
}

link() { # link NS_A IF_A NS_B IF_B
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	in_ns "$1" ip link set "$2" up
	in_ns "$3" ip link set "$4" up
}

host() { # host NS IF ADDR/LEN GATEWAY
	in_ns "$1" ip link set lo up
	in_ns "$1" ip addr add "$3" dev "$2"
	in_ns "$1" ip route add default via "$4"
}

topo_up() {
	local ns
	router_up
	# With br_netfilter loaded, bridged LAN traffic would go through the
	# router's conntrack, which hides the field report's failure.
	in_ns "$R" sh -c 'f=/proc/sys/net/bridge/bridge-nf-call-iptables; [ ! -e $f ] || echo 0 >$f'
	in_ns "$R" ip link add br-lan type bridge
	in_ns "$R" ip link set br-lan up
	in_ns "$R" ip addr add $LAN_ROUTER/24 dev br-lan
	for ns in "$C1:c1" "$C2:c2" "$SRV:srv"; do
		link "$R" "p-${ns#*:}" "${ns%:*}" eth0
		in_ns "$R" ip link set "p-${ns#*:}" master br-lan
	done
	link "$R" lan2 "$C3" eth0
	in_ns "$R" ip addr add 198.51.100.1/24 dev lan2
	link "$R" wan0 "$W" eth0
	in_ns "$R" ip addr add $PUB/24 dev wan0
	host "$C1" eth0 $C1_ADDR/24 $LAN_ROUTER
	host "$C2" eth0 $C2_ADDR/24 $LAN_ROUTER
	host "$SRV" eth0 $SRV_ADDR/24 $LAN_ROUTER
	host "$C3" eth0 $C3_ADDR/24 198.51.100.1
	host "$W" eth0 $WAN_CLIENT/24 $PUB
	wait_ping "$C1" $SRV_ADDR
}

netns_del() { # netns_del NS...: the namespaces and every process in them
	local ns
	for ns; do
		# A process may end on its own between the listing and the kill.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	return 0
}

topo_down() {
	[ -d "$PIN" ] && hp detach >/dev/null 2>&1
	netns_del $ALL_NS
	# A test's other instances ($PIN-2...), which a failed test may not have detached.
	rm -rf "$PIN" "$PIN"-* "/tmp/hp-nofast-$ID"
}

# A TCP server on srv that answers each connection with "ADDR PORT", the
# address and port it sees the client at, then holds it open $2 seconds.
# (socat would take a ':' in the command for an address separator.)
tcp_server() { # tcp_server PORT [HOLD]
	in_ns "$SRV" socat TCP-LISTEN:"$1",fork,reuseaddr \
		SYSTEM:"echo \$SOCAT_PEERADDR \$SOCAT_PEERPORT; sleep ${2:-0}" &
	wait_listen "$SRV" "$1" tcp
}

# A TCP echo server on srv.
echo_server() { # echo_server PORT
	in_ns "$SRV" socat TCP-LISTEN:"$1",fork,reuseaddr EXEC:cat &
	wait_listen "$SRV" "$1" tcp
}

# A TCP connection from NS to the public address's PORT, served by
# echo_server: used once, then idle until the file GO_FILE appears, then used
# again. Prints "open" once connected, then "ok", or what broke.
idle_client() { # idle_client NS PORT GO_FILE
	in_ns "$1" timeout 90 bash -c '
echo_line() {
	local got
	echo "$1" >&3 && read -r -t 5 got <&3 && [ "$got" = "$1" ] && return
	echo "broken: sent \"$1\", got \"$got\""
	exit 1
}
exec 3<>"/dev/tcp/$0/$1" || exit
echo_line before
echo open
while [ ! -e "$2" ]; do sleep 0.1; done
echo_line "after the wait"
echo ok' $PUB "$2" "$3"
}

# idle_client in the background, its output in GO_FILE.out, its pid added to
# $IDLE_PIDS; returns once it is connected.
idle_start() { # idle_start NS PORT GO_FILE
	idle_client "$1" "$2" "$3" >"$3.out" 2>&1 &
	IDLE_PIDS="${IDLE_PIDS:-} $!"
	for _ in $(seq 50); do
		grep -q open "$3.out" && return 0
		sleep 0.1
	done
	fail "no connection from $1: $(cat "$3.out")"
}

# A UDP server on srv that answers each datagram with "ADDR PORT" of its
# sender or, with "echo", with the datagram itself.
udp_server() { # udp_server PORT [echo]
	in_ns "$SRV" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(data if sys.argv[2] == "echo" else ("%s %d\n" % peer).encode(), peer)' \
		"$1" "${2:-addr}" &
	wait_listen "$SRV" "$1" udp
}

wait_listen() { # wait_listen NS PORT tcp|udp
	local flag=-tln
	[ "$3" = udp ] && flag=-uln
	for _ in $(seq 50); do
		in_ns "$1" ss -H $flag "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	fail "nothing listens on $3 port $2 in $1"
}

# A UDP server on srv that answers each datagram with "TTL ADDR": the TTL
# it arrived with and the address it came from.
ttl_server() { # ttl_server PORT
	in_ns "$SRV" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL: ancillary IP_TTL (2)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    data, anc, flags, peer = s.recvmsg(2048, 64)
    ttl = [int.from_bytes(d[:4], sys.byteorder) for l, t, d in anc if t == 2]
    s.sendto(("%d %s" % (ttl[0], peer[0])).encode(), peer)' "$1" &
	wait_listen "$SRV" "$1" udp
}

# $3 datagrams on one socket, sent with TTL 64; for each a line "SEEN ADDR
# BACK": the TTL and source address the server saw and the TTL its answer
# arrived with. With WAIT, the second goes WAIT seconds after the first answer.
ttl_client() { # ttl_client NS ADDR PORT COUNT [WAIT]
	in_ns "$1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 64)
s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL: ancillary IP_TTL (2)
s.settimeout(5)
for i in range(int(sys.argv[3])):
    if i == 1:
        time.sleep(float(sys.argv[4]))
    s.sendto(b"ttl?", (sys.argv[1], int(sys.argv[2])))
    data, anc, flags, peer = s.recvmsg(2048, 64)
    ttl = [int.from_bytes(d[:4], sys.byteorder) for l, t, d in anc if t == 2]
    print(data.decode(), ttl[0])' "$2" "$3" "$4" "${5:-0}" 2>/dev/null
}

# A 2 MB upload from each client through the port forward (8080 to srv:80)
# of an attached instance: the server answers with the address it saw the
# client at and the upload's sha256, each upload moves counter COUNTER by
# more than MIN, and every segment the server gets has its TTL one less.
# Its files go beside the test's $CONF.
tcp_uploads() { # tcp_uploads COUNTER MIN NS:SEEN-ADDRESS...
	local name=$1 min=$2 want ns before got cap
	shift 2
	head -c 2000000 /dev/urandom >"$CONF.data"
	want=$(sha256sum <"$CONF.data" | cut -d' ' -f1)
	in_ns "$SRV" socat TCP-LISTEN:80,fork,reuseaddr \
		SYSTEM:'echo $SOCAT_PEERADDR $(sha256sum | head -c 64)' &
	wait_listen "$SRV" 80 tcp
	in_ns "$SRV" timeout 30 tcpdump -i eth0 -n -v -c 400 "tcp dst port 80" >"$CONF.cap" 2>/dev/null &
	cap=$!
	sleep 1
	for ns in "$@"; do
		before=$(counter "$name")
		got=$(in_ns "${ns%:*}" timeout 20 socat -t 10 -T 10 - TCP:$PUB:8080 <"$CONF.data")
		expect_eq "upload from ${ns%:*}" "$got" "${ns#*:} $want"
		before=$(($(counter "$name") - before))
		[ $before -gt "$min" ] || fail "$name: $before segments from ${ns%:*}"
	done
	capture_ttl_63 $cap "the server"
}

# Every segment has arrived: give tcpdump (PID, writing $CONF.cap with -v) a
# moment to print them, stop it (it may have fewer than it was asked for when
# GRO merged segments), and check what it saw: TTL 63, one router hop, on
# every segment, and at least 100 of them.
capture_ttl_63() { # capture_ttl_63 PID WHO
	local ttls
	sleep 1
	kill $1 2>/dev/null || true
	wait $1 || true
	ttls=$(grep -o 'ttl [0-9]*' "$CONF.cap" | sort | uniq -c)
	expect_eq "TTLs $2 saw" "$(echo "$ttls" | awk '{print $3}' | sort -u)" 63
	[ "$(grep -c 'ttl 63' "$CONF.cap")" -ge 100 ] || fail "too few segments captured: $ttls"
}

# A config file that names the router's interfaces and forwards TCP 8080
# and UDP 5353 to the server; prints its name.
iface_conf() {
	local f
	f=$(mktemp)
	cat >"$f" <<CONF
lan br-lan lan2
wan wan0
map tcp wan:8080 $SRV_ADDR:80
map udp wan:5353 $SRV_ADDR:53
CONF
	echo "$f"
}

# A point-to-point link with no link-layer header, as PPP is: tun devices
# IF_A in NS_A and IF_B in NS_B and a process that carries each packet
# across ($tunlinker; it ends with NS_B). Both devices go when it ends.
# With FIFO, each line written to it (a packet in hex) arrives on IF_A as if
# sent from IF_B: packets no socket would send.
tun_link() { # tun_link NS_A IF_A NS_B IF_B [FIFO]
	python3 - "$@" <<'PY' &
import ctypes, fcntl, os, select, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def tun(ns, name):
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    if libc.setns(fd, 0x40000000):  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns " + ns)
    os.close(fd)
    t = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(t, 0x400454ca, struct.pack("16sH", name.encode(), 0x1001))  # TUNSETIFF: TUN, NO_PI
    return t
a = tun(sys.argv[1], sys.argv[2])
b = tun(sys.argv[3], sys.argv[4])
peer = {a: b, b: a}
fifo = os.open(sys.argv[5], os.O_RDWR) if len(sys.argv) > 5 else None
lines = b""
while True:
    for fd in select.select([a, b] + ([fifo] if fifo else []), [], [])[0]:
        if fd == fifo:  # one packet per line, however many lines came at once
            lines += os.read(fifo, 65536)
            while b"\n" in lines:
                line, lines = lines.split(b"\n", 1)
                if line.strip():
                    os.write(a, bytes.fromhex(line.strip().decode()))
            continue
        try:
            os.write(peer[fd], os.read(fd, 65536))
        except OSError:
            pass  # the other side down for a moment: the packet is lost, as on a wire
PY
	tunlinker=$!
	for _ in $(seq 50); do
		in_ns "$3" ip link show "$4" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# Wait until NS reaches ADDR (bridge ports forward, DAD and carrier settle).
wait_ping() { # wait_ping NS ADDR
	for _ in $(seq 50); do
		in_ns "$1" ping -c1 -W1 -q "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
}

# The namespaces of $ALL_NS, the router's forwarding on.
router_up() {
	local ns
	ensure_bpffs
	for ns in $ALL_NS; do ip netns add "$ns"; done
	in_ns "$R" ip link set lo up
	in_ns "$R" sysctl -qw net.ipv4.ip_forward=1
}

# A watch of the instance in the background ($watcher), its output in $CONF.log.
start_watch() {
	nsenter --net=/run/netns/"$R" "$HP" --pin-dir "$PIN" watch >"$CONF.log" 2>&1 &
	watcher=$!
	for _ in $(seq 50); do grep -q following "$CONF.log" && break; sleep 0.05; done
}

# within MS CMD...: CMD succeeds within MS milliseconds of $start.
within() {
	local ms=$1
	shift
	until "$@" >/dev/null 2>&1; do
		[ $((($(date +%s%N) - start) / 1000000)) -lt "$ms" ] || return 1
		sleep 0.02
	done
}

# Print what the server saw; empty on failure.
tcp_get() { # tcp_get NS ADDR PORT [socat address options]
	in_ns "$1" timeout 5 socat -T3 - TCP:"$2:$3",connect-timeout=3${4:+,$4} </dev/null 2>/dev/null
}

# One datagram, one answer within 5 s (socat would give up 0.5 s after its
# input ends, too soon on a loaded machine).
udp_get() { # udp_get NS ADDR PORT
	in_ns "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"ping", (sys.argv[1], int(sys.argv[2])))
print(s.recv(200).decode().strip())' "$2" "$3" 2>/dev/null
}

# The field report's router: a port forward by nftables DNAT alone, no hairpin.
nft_dnat_only() { # nft_dnat_only PUBLIC_PORT
	in_ns "$R" nft -f - <<NFT
table ip nat {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr $PUB tcp dport $1 dnat to $SRV_ADDR:80
	}
}
NFT
}

# One global counter of the instance, from `hairpin -j stats`.
# How many public ports have a counters slot, in bpftool's own words: a
# slot names its port (CPU 0's copy is read), a free one's protocol is 0.
counter_slots() {
	bpftool map dump pinned "$PIN/map_counters" |
		awk '/"cpu":/ {cpu = $2 + 0} /"proto":/ && cpu == 0 && $2 + 0 {n++} END {print n + 0}'
}

counter() { # counter NAME
	hp -j stats | grep -o "\"$1\":[0-9]*" | cut -d: -f2
}

# Every qdisc, filter, tcx and XDP program on the router's interfaces DEV
# (by default those of $TC_DEVS).
TC_DEVS="br-lan lan2 wan0"
tc_state() { # tc_state [DEV...]
	local dev devs=("$@")
	[ $# -gt 0 ] || devs=($TC_DEVS)
	for dev in "${devs[@]}"; do
		in_ns "$R" tc qdisc show dev $dev
		in_ns "$R" tc filter show dev $dev ingress 2>/dev/null
		in_ns "$R" tc filter show dev $dev egress 2>/dev/null
		in_ns "$R" ip -d link show dev $dev | grep -o 'prog/xdp.*name [^ ]*' || true
	done
	in_ns "$R" "$TOP/build/e2e/tcx_show" "${devs[@]}" || true # an interface may be gone
}

# Does the kernel have tcx links (Linux 6.6)? Then attach uses them.
has_tcx() { uname -r | awk -F. '{ exit !($1 > 6 || ($1 == 6 && $2 >= 6)) }'; }

# The names and ids of the programs on a TC hook of DEV, "NAME id ID" a line:
# tcx programs first, as they run, then clsact filters.
tc_progs() { # tc_progs DEV ingress|egress
	in_ns "$R" "$TOP/build/e2e/tcx_show" "$1" | awk -v h="$2" '$2 == h {print $3, $4, $5}'
	in_ns "$R" tc filter show dev "$1" "$2" | grep -o ' id [0-9]* name [^ ]*' |
		awk '{print $4, "id", $2}'
}

# Take our program off a TC hook of DEV as another tool or an admin would:
# the clsact filter at our handle, or the tcx link that holds it.
tc_unhook() { # tc_unhook DEV ingress|egress
	if in_ns "$R" "$TOP/build/e2e/tcx_show" "$1" | grep -q "^$1 $2 hp_"; then
		in_ns "$R" "$TOP/build/e2e/tcx_show" -d "$1" "$2"
	else
		in_ns "$R" tc filter del dev "$1" "$2" pref $((0x4850)) handle 0x4850 bpf
	fi
}

# Each bad input: exit status 2, one line on stderr, nothing changed (tables,
# config, TC).
expect_refused() { # expect_refused PATTERN CMD...
	local pattern=$1 err rc state
	shift
	state=$(hp show 2>/dev/null; tc_state)
	err=$("$@" 2>&1 >/dev/null) && rc=0 || rc=$?
	expect_eq "exit status of '$*'" "$rc" 2
	expect_eq "stderr lines of '$*'" "$(echo "$err" | wc -l)" 1
	echo "$err" | grep -q -- "$pattern" || fail "'$*' said '$err', want /$pattern/"
	expect_eq "state after '$*'" "$(hp show 2>/dev/null; tc_state)" "$state"
}

fail() { echo "    $*" >&2; return 1; }

# The ERR trap of a test (set -eE): the command that ended it and where, so a
# test stopped by a command that failed silently still says why.
stopped_at() { # stopped_at STATUS COMMAND
	local i where=
	# A command substitution's or a background job's failure is not the test's.
	[[ $- == *e* ]] && [ "$BASHPID" = "$$" ] || return 0
	for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
		where="$where ${FUNCNAME[i]}@${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]}"
	done
	echo "    stopped: '$2' exited $1 in$where" >&2
}

expect_eq() { # expect_eq WHAT GOT WANT
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

expect_prefix() { # expect_prefix WHAT GOT PREFIX
	case "$2" in "$3"*) return 0 ;; esac
	fail "$1: got '$2', want '$3...'"
}
