// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The fast path's verdicts. The test's network namespace gets two veth
 * devices with addresses, routes and static neighbours, so that the
 * program's FIB lookup has a real answer: "wan" (fpa0, 203.0.113.1/24, the
 * MAC test frames are sent to) and "lan" (fpb0, 192.0.2.1/24). A
 * connection is first walked through both hooks the way the stack would
 * carry it; after that its packets must come out of ingress translated,
 * TTL decremented, with the next hop's MACs and TC_ACT_REDIRECT, or, for
 * each case the stack must see, exactly as the stack path leaves them.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hp.h"
#include "test_progs.h"

#define MAC_WAN_DEV "\x02\x00\x00\x00\x00\x01" /* the destination pkt_build() writes */
#define MAC_LAN_DEV "\x02\x00\x00\x00\x00\xb0"
#define MAC_SERVER "\x02\x00\x00\x00\x00\x20"
#define MAC_CLIENT "\x02\x00\x00\x00\x00\x10"
#define MAC_WAN_PEER "\x02\x00\x00\x00\x00\xa2"

extern char **environ;

static unsigned int if_wan, if_lan;

/*
 * Run a command line (words split at spaces) with the PATH's programs: not
 * through /bin/sh, whose busybox in the test VM would take its own "ip".
 */
static bool sh(const char *cmd)
{
	char buf[256], *argv[16], *save = NULL;
	int n = 0, status = -1;
	pid_t pid;

	snprintf(buf, sizeof(buf), "%s", cmd);
	for (argv[n] = strtok_r(buf, " ", &save); argv[n] && n < 15;
	     argv[++n] = strtok_r(NULL, " ", &save))
		;
	argv[n] = NULL;
	if (!posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ))
		waitpid(pid, &status, 0);
	return ASSERT_OK(status, cmd);
}

/* The devices, once per test_progs run (the namespace is the runner's own). */
static bool net_up(void)
{
	if (if_wan)
		return true;
	if (!sh("ip link add fpa0 address 02:00:00:00:00:01 type veth peer name fpa1") ||
	    !sh("ip link add fpb0 address 02:00:00:00:00:b0 type veth peer name fpb1") ||
	    !sh("ip link set fpa0 up") || !sh("ip link set fpa1 up") ||
	    !sh("ip link set fpb0 up") || !sh("ip link set fpb1 up") ||
	    !sh("ip addr add 203.0.113.1/24 dev fpa0") ||
	    !sh("ip addr add 192.0.2.1/24 dev fpb0") || !sh("sysctl -qw net.ipv4.ip_forward=1") ||
	    !sh("ip neigh replace 203.0.113.2 lladdr 02:00:00:00:00:a2 dev fpa0 nud permanent") ||
	    !sh("ip neigh replace 192.0.2.10 lladdr 02:00:00:00:00:10 dev fpb0 nud permanent"))
		return false;
	if_wan = if_nametoindex("fpa0");
	if_lan = if_nametoindex("fpb0");
	return ASSERT_TRUE(if_wan && if_lan, "veth ifindexes");
}

static bool server_neigh(bool present)
{
	return sh(present ? "ip neigh replace 192.0.2.20 lladdr 02:00:00:00:00:20 dev fpb0 "
			    "nud permanent"
			  : "ip neigh del 192.0.2.20 dev fpb0");
}

static void add_iface(unsigned int ifindex, __u32 addr, enum hp_role role)
{
	struct hp_iface ifc = { .snat_addr = htonl(addr), .role = role, .prefix_len = 24 };

	set_iface(ifindex, &ifc, (const __u8 *)(ifindex == if_lan ? MAC_LAN_DEV : MAC_WAN_DEV));
}

static bool setup(void)
{
	if (!net_up() || !server_neigh(true))
		return false;
	reset_tables(HP_ROLE_WAN);
	add_iface(if_wan, A_PUBLIC, HP_ROLE_WAN);
	add_iface(if_lan, A_ROUTER, HP_ROLE_LAN);
	add_mapping(IPPROTO_UDP, A_PUBLIC, 5353, A_SERVER, 53);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	return true;
}

/* A frame the previous hop sent to device @ifindex: its MAC as the destination. */
static void addressed_to(struct pkt *p, unsigned int ifindex)
{
	memcpy(p->data, ifindex == if_lan ? MAC_LAN_DEV : MAC_WAN_DEV, ETH_ALEN);
}

static int run_on(unsigned int ifindex, bool ingress, const struct pkt *in, struct pkt *out)
{
	int ret;

	run_ctx.ifindex = ifindex;
	ret = ingress ? run_ingress(in, out) : run_egress(in, out);
	run_ctx.ifindex = TEST_IFINDEX;
	return ret;
}

/* Egress on @out_if of a packet that came in on @in_if, as the stack forwards it. */
static int run_out(unsigned int out_if, unsigned int in_if, const struct pkt *in, struct pkt *out)
{
	int ret;

	run_ctx.ingress_ifindex = in_if;
	ret = run_on(out_if, false, in, out);
	run_ctx.ingress_ifindex = 0;
	return ret;
}

static struct flow udp(__u32 saddr, __u16 sport, __u32 daddr, __u16 dport)
{
	return (struct flow){ .saddr = saddr,
			      .sport = sport,
			      .daddr = daddr,
			      .dport = dport,
			      .proto = IPPROTO_UDP,
			      .payload_len = 32 };
}

/*
 * @in through the stack path: ingress on @in_if, egress on @out_if, with
 * the translations the two hooks give it, and nothing else changed.
 */
static bool via_stack(const struct flow *f, unsigned int in_if, unsigned int out_if,
		      const struct flow *want)
{
	struct pkt in, mid, out;

	pkt_build(&in, f);
	addressed_to(&in, in_if);
	return ASSERT_EQ(run_on(in_if, true, &in, &mid), TC_ACT_UNSPEC, "stack path ingress") &&
	       ASSERT_EQ(run_out(out_if, in_if, &mid, &out), TC_ACT_UNSPEC, "stack path egress") &&
	       expect_rewrite(&in, &out, want->saddr, want->sport, want->daddr, want->dport);
}

/*
 * @in through ingress alone on the fast path: translated to @want, TTL one
 * less, the next hop's MACs, redirected; every checksum recomputed from
 * scratch by expect_rewrite(). The output through egress stays as it is.
 */
static bool via_fast(const struct flow *f, unsigned int in_if, unsigned int out_if,
		     const struct flow *want, const char *dmac, const char *smac)
{
	struct pkt in, hop, out, again;
	struct hp_stats before = read_stats(), after;

	pkt_build(&in, f);
	addressed_to(&in, in_if);
	if (!ASSERT_EQ(run_on(in_if, true, &in, &out), TC_ACT_REDIRECT, "fast path verdict"))
		return false;
	/* The frame as a router would have sent it on: next hop MACs, TTL 63. */
	hop = in;
	memcpy(hop.data, dmac, ETH_ALEN);
	memcpy(hop.data + ETH_ALEN, smac, ETH_ALEN);
	hop.data[ETH_HLEN + 8]--;
	if (!ASSERT_TRUE(!memcmp(out.data, hop.data, 2 * ETH_ALEN), "next hop MACs") ||
	    !ASSERT_EQ(out.data[ETH_HLEN + 8], 63, "TTL") ||
	    !expect_rewrite(&hop, &out, want->saddr, want->sport, want->daddr, want->dport))
		return false;
	after = read_stats();
	if (!ASSERT_EQ(fast_count(&after) - fast_count(&before), 1, "fastpath counter"))
		return false;
	/* The redirect leaves through the egress hook: it must not translate again. */
	return ASSERT_EQ(run_out(out_if, in_if, &out, &again), TC_ACT_UNSPEC,
			 "egress after redirect") &&
	       expect_unchanged(&out, &again);
}

/* One packet that must take the stack path: ingress verdict OK, TTL and MACs as they were. */
static bool stays_on_stack(const struct pkt *in, unsigned int in_if, const char *why)
{
	struct pkt out;

	return ASSERT_EQ(run_on(in_if, true, in, &out), TC_ACT_UNSPEC, why) &&
	       ASSERT_EQ(out.data[ETH_HLEN + 8], in->data[ETH_HLEN + 8], why) &&
	       ASSERT_TRUE(!memcmp(out.data, in->data, 2 * ETH_ALEN), why);
}

/*
 * A WAN client's UDP flow, each direction once through the stack, then,
 * 2 s later, once more from the client: assured, the fast path's condition.
 */
static bool udp_established(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353), r = udp(A_SERVER, 53, A_WAN, 40000);
	struct flow fw = udp(A_WAN, 40000, A_SERVER, 53), rw = udp(A_PUBLIC, 5353, A_WAN, 40000);

	if (!via_stack(&f, if_wan, if_lan, &fw) || !via_stack(&r, if_lan, if_wan, &rw))
		return false;
	conns_age(HP_UDP_ASSURE * 1000000000ULL);
	return via_stack(&f, if_wan, if_lan, &fw);
}

void test_fastpath_port_forward_udp(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353), r = udp(A_SERVER, 53, A_WAN, 40000);
	struct flow fw = udp(A_WAN, 40000, A_SERVER, 53), rw = udp(A_PUBLIC, 5353, A_WAN, 40000);
	struct hp_mapping m = { .protos = HP_PROTO_MASK_UDP,
				.pub_addr = htonl(A_PUBLIC),
				.pub_lo = 5353,
				.pub_hi = 5353 };
	struct hp_map_counters mc;
	unsigned int ports;
	struct hp_stats st;
	struct pkt p;

	if (!setup() || !udp_established())
		return;
	if (!via_fast(&f, if_wan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV) ||
	    !via_fast(&r, if_lan, if_wan, &rw, MAC_WAN_PEER, MAC_WAN_DEV))
		return;
	st = read_stats();
	/* Through the stack (two and one), then fast: counted alike. */
	ASSERT_EQ(st.dnat, 3, "dnat");
	ASSERT_EQ(st.undnat, 2, "undnat");
	ASSERT_EQ(fast_count(&st), 2, "fastpath");
	/* And in the mapping's counters, by their IP lengths. */
	pkt_build(&p, &f);
	if (!ASSERT_OK(mapping_counters_sum(bpf_map__fd(skel->maps.hp_mappings),
					    bpf_map__fd(skel->maps.hp_map_counters), &m, &mc,
					    &ports),
		       "mapping counters"))
		return;
	ASSERT_EQ(mc.wan_conns, 1, "wan_conns");
	ASSERT_EQ(mc.wan_packets, 5, "wan_packets");
	ASSERT_EQ(mc.wan_bytes, 5 * (p.len - ETH_HLEN), "wan_bytes");
}

/*
 * A direction takes the fast path only from the interface the stack last
 * forwarded its packets from (nftables' flowtables key flows by it too): a
 * reply to a WAN client forged on the WAN side, which strict rp_filter
 * would drop, goes to the stack, changed by nothing but its stack path's
 * translation. The real one stays fast, and so does the other direction.
 */
void test_fastpath_only_from_the_forwarding_interface(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353), r = udp(A_SERVER, 53, A_WAN, 40000);
	struct flow fw = udp(A_WAN, 40000, A_SERVER, 53), rw = udp(A_PUBLIC, 5353, A_WAN, 40000);
	struct hp_stats before, after;
	struct pkt in, out;

	if (!setup() || !udp_established() ||
	    !via_fast(&r, if_lan, if_wan, &rw, MAC_WAN_PEER, MAC_WAN_DEV))
		return;
	before = read_stats();
	pkt_build(&in, &r);
	addressed_to(&in, if_wan);
	if (!ASSERT_EQ(run_on(if_wan, true, &in, &out), TC_ACT_UNSPEC, "forged on the WAN") ||
	    !expect_unchanged(&in, &out))
		return;
	after = read_stats();
	ASSERT_EQ(fast_count(&after), fast_count(&before), "fastpath counter");
	if (!via_fast(&r, if_lan, if_wan, &rw, MAC_WAN_PEER, MAC_WAN_DEV) ||
	    !via_fast(&f, if_wan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV))
		return;
	/* The client's packets from the LAN side: the stack's, DNAT as ever. */
	pkt_build(&in, &f);
	addressed_to(&in, if_lan);
	if (!ASSERT_EQ(run_on(if_lan, true, &in, &out), TC_ACT_UNSPEC, "client from the LAN"))
		return;
	expect_rewrite(&in, &out, A_WAN, 40000, A_SERVER, 53);
}

/*
 * Where the stack names a device that is not hairpin's as a direction's
 * input (a VRF's master), the direction is fast from any of hairpin's
 * interfaces: it cannot be told from where to expect it.
 */
void test_fastpath_unbound_where_stack_names_another_device(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353), r = udp(A_SERVER, 53, A_WAN, 40000);
	struct flow fw = udp(A_WAN, 40000, A_SERVER, 53), rw = udp(A_PUBLIC, 5353, A_WAN, 40000);
	struct pkt in, mid, out;

	if (!setup() || !via_stack(&f, if_wan, if_lan, &fw))
		return;
	/* The reply through the stack, its input named as no interface of hairpin's. */
	pkt_build(&in, &r);
	addressed_to(&in, if_lan);
	if (!ASSERT_EQ(run_on(if_lan, true, &in, &mid), TC_ACT_UNSPEC, "reply ingress") ||
	    !ASSERT_EQ(run_out(if_wan, 999, &mid, &out), TC_ACT_UNSPEC, "reply egress") ||
	    !expect_rewrite(&in, &out, A_PUBLIC, 5353, A_WAN, 40000))
		return;
	conns_age(HP_UDP_ASSURE * 1000000000ULL);
	if (!via_stack(&f, if_wan, if_lan, &fw))
		return;
	if (via_fast(&r, if_lan, if_wan, &rw, MAC_WAN_PEER, MAC_WAN_DEV))
		via_fast(&r, if_wan, if_wan, &rw, MAC_WAN_PEER, MAC_WAN_DEV);
}

/*
 * To a device without a link-layer header (tun): translated, TTL one less,
 * redirected with the Ethernet header it came with, which the redirect takes
 * off; no next-hop MACs are written.
 */
void test_fastpath_to_l3_device(void)
{
	struct flow r = udp(A_SERVER, 53, A_WAN, 40000), rw = udp(A_PUBLIC, 5353, A_WAN, 40000);
	struct hp_iface ifc = { .snat_addr = htonl(A_PUBLIC),
				.role = HP_ROLE_WAN,
				.prefix_len = 24,
				.flags = HP_IFACE_L3 };
	struct pkt in, out, hop;

	if (!setup() || !udp_established())
		return;
	set_iface(if_wan, &ifc, (const __u8 *)MAC_WAN_DEV);
	pkt_build(&in, &r);
	addressed_to(&in, if_lan);
	if (!ASSERT_EQ(run_on(if_lan, true, &in, &out), TC_ACT_REDIRECT, "fast path verdict"))
		return;
	hop = in;
	hop.data[ETH_HLEN + 8]--;
	if (!ASSERT_TRUE(!memcmp(out.data, in.data, 2 * ETH_ALEN), "MACs as they came") ||
	    !ASSERT_EQ(out.data[ETH_HLEN + 8], 63, "TTL") ||
	    !expect_rewrite(&hop, &out, rw.saddr, rw.sport, rw.daddr, rw.dport))
		return;
	/* Not to PPP: a kernel may not know to take the Ethernet header off for it. */
	ifc.flags |= HP_IFACE_PPP;
	set_iface(if_wan, &ifc, (const __u8 *)MAC_WAN_DEV);
	conns_idle(HP_FAST_RECHECK_NS); /* seen at the direction's next whole check */
	stays_on_stack(&in, if_lan, "to a PPP device");
}

/*
 * Bytes after the IP packet in its frame (a short frame's padding): cut off
 * on the fast path as ip_rcv() cuts them on the stack path; the packet comes
 * out as the same packet without them does.
 */
void test_fastpath_padding_cut(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353);
	struct pkt bare, padded, want, out;

	if (!setup() || !udp_established())
		return;
	pkt_build(&bare, &f);
	addressed_to(&bare, if_wan);
	padded = bare;
	memset(padded.data + padded.len, 0xa5, 10);
	padded.len += 10;
	if (!ASSERT_EQ(run_on(if_wan, true, &bare, &want), TC_ACT_REDIRECT, "fast path, bare") ||
	    !ASSERT_EQ(run_on(if_wan, true, &padded, &out), TC_ACT_REDIRECT, "fast path, padded"))
		return;
	ASSERT_EQ(out.len, bare.len, "padding cut");
	ASSERT_TRUE(out.len == want.len && !memcmp(out.data, want.data, out.len),
		    "same as without padding");
}

/* A zero UDP checksum means none and stays zero on the fast path too. */
void test_fastpath_udp_zero_checksum(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353);
	struct pkt in, out;

	if (!setup() || !udp_established())
		return;
	f.udp_no_csum = true;
	pkt_build(&in, &f);
	if (ASSERT_EQ(run_on(if_wan, true, &in, &out), TC_ACT_REDIRECT, "verdict"))
		ASSERT_EQ(pkt_udp_csum_field(&out), 0, "absent UDP checksum");
}

void test_fastpath_hairpin_tcp(void)
{
	struct flow f = { .saddr = A_CLIENT,
			  .sport = 50000,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN,
			  .payload_len = 0 };
	struct flow r = { .saddr = A_SERVER,
			  .sport = 80,
			  .daddr = A_ROUTER,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN | TH_ACK };
	struct flow fw, rw, got;
	struct pkt in, mid, out;

	if (!setup())
		return;
	/* The SYN: DNAT at ingress, SNAT (port chosen) at egress. */
	pkt_build(&in, &f);
	addressed_to(&in, if_lan);
	if (!ASSERT_EQ(run_on(if_lan, true, &in, &mid), TC_ACT_UNSPEC, "SYN ingress") ||
	    !ASSERT_EQ(run_out(if_lan, if_lan, &mid, &out), TC_ACT_UNSPEC, "SYN egress") ||
	    !ASSERT_TRUE(pkt_parse(&out, &got), "parse"))
		return;
	r.dport = got.sport;
	fw = (struct flow){ .saddr = A_ROUTER, .sport = got.sport, .daddr = A_SERVER, .dport = 80 };
	rw = (struct flow){ .saddr = A_PUBLIC, .sport = 8080, .daddr = A_CLIENT, .dport = 50000 };
	/* SYN/ACK, then the handshake's ACK and a reply segment: all through the stack. */
	if (!via_stack(&r, if_lan, if_lan, &rw))
		return;
	f.tcp_flags = TH_ACK;
	f.tcp_ack = PKT_SEQ + 1;
	r.tcp_flags = TH_ACK;
	r.payload_len = 100;
	if (!via_stack(&f, if_lan, if_lan, &fw) || !via_stack(&r, if_lan, if_lan, &rw))
		return;
	/* Established both ways: both directions fast, all four translations at ingress. */
	f.payload_len = 200;
	if (!via_fast(&f, if_lan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV) ||
	    !via_fast(&r, if_lan, if_lan, &rw, MAC_CLIENT, MAC_LAN_DEV))
		return;
	/* FIN and RST change the connection's state: the stack sees them. */
	f.tcp_flags = TH_FIN | TH_ACK;
	pkt_build(&in, &f);
	addressed_to(&in, if_lan);
	stays_on_stack(&in, if_lan, "FIN");
	r.tcp_flags = TH_RST;
	pkt_build(&in, &r);
	addressed_to(&in, if_lan);
	stays_on_stack(&in, if_lan, "RST");
}

/* The handshake alone marks nothing: conntrack must see it complete first. */
void test_fastpath_waits_for_tcp_handshake(void)
{
	struct flow f = { .saddr = A_WAN,
			  .sport = 41000,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN };
	struct flow r = { .saddr = A_SERVER,
			  .sport = 80,
			  .daddr = A_WAN,
			  .dport = 41000,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN | TH_ACK };
	struct flow fw = { .saddr = A_WAN, .sport = 41000, .daddr = A_SERVER, .dport = 80 };
	struct flow rw = { .saddr = A_PUBLIC, .sport = 8080, .daddr = A_WAN, .dport = 41000 };
	struct pkt in;

	if (!setup() || !via_stack(&f, if_wan, if_lan, &fw) || !via_stack(&r, if_lan, if_wan, &rw))
		return;
	f.tcp_flags = TH_ACK;
	f.tcp_ack = PKT_SEQ + 1;
	pkt_build(&in, &f);
	if (!stays_on_stack(&in, if_wan, "the handshake's ACK") ||
	    !via_stack(&f, if_wan, if_lan, &fw))
		return;
	via_fast(&f, if_wan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV);
}

/*
 * Beside the headers, the skb as the stack's forwarding leaves it: no
 * receive timestamp (fq would take it for a departure time), the priority
 * from the TOS (prio qdiscs classify by it).
 */
void test_fastpath_skb_as_forwarded(void)
{
	static const struct {
		__u8 tos, prio;
	} cases[] = { { 0x00, 0 }, { 0x08, 2 }, { 0x10, 6 }, { 0x18, 4 }, { 0xb8, 4 } };
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353);
	struct pkt in, out;
	size_t i;

	if (!setup() || !udp_established())
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pkt_build(&in, &f);
		in.data[ETH_HLEN + 1] = cases[i].tos;
		pkt_fix_csums(&in);
		run_ctx.tstamp = 1234567890;
		run_ctx.priority = 7;
		if (!ASSERT_EQ(run_on(if_wan, true, &in, &out), TC_ACT_REDIRECT, "verdict"))
			break;
		ASSERT_EQ(run_ctx_out.tstamp, 0, "receive timestamp cleared");
		ASSERT_EQ(run_ctx_out.priority, cases[i].prio, "priority from the TOS");
	}
	run_ctx.tstamp = 0;
	run_ctx.priority = 0;
}

/* Each case the stack must handle, on an established flow. */
void test_fastpath_falls_back_to_stack(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353);
	struct hp_config cfg = HP_CONFIG_DEFAULT;
	struct pkt in, later;
	__u32 zero = 0;

	if (!setup() || !udp_established())
		return;

	pkt_build(&in, &f);
	in.data[ETH_HLEN + 8] = 1;
	pkt_fix_csums(&in);
	stays_on_stack(&in, if_wan, "TTL 1");

	f.ip_opt_len = 4;
	pkt_build(&in, &f);
	stays_on_stack(&in, if_wan, "IP options");
	f.ip_opt_len = 0;

	/* ip_rcv() drops it: the fast path must not forward it. */
	pkt_build(&in, &f);
	in.data[ETH_HLEN + 10] ^= 0x55;
	stays_on_stack(&in, if_wan, "bad IP header checksum");

	f.payload_len = 64;
	pkt_build(&in, &f);
	pkt_fragment(&in, 40, &in, &later);
	stays_on_stack(&in, if_wan, "first fragment");
	f.payload_len = 32;

	pkt_build(&in, &f);
	memcpy(in.data, "\x02\x00\x00\x00\x00\x99", ETH_ALEN);
	stays_on_stack(&in, if_wan, "another host's MAC");

	/* Next hops (MTU included) as the direction's last check found them: the next. */
	f.payload_len = 1200;
	pkt_build(&in, &f);
	if (sh("ip link set fpb0 mtu 1000")) {
		conns_idle(HP_FAST_RECHECK_NS);
		stays_on_stack(&in, if_wan, "larger than the egress MTU");
		sh("ip link set fpb0 mtu 1500");
	}
	f.payload_len = 32;

	pkt_build(&in, &f);
	if (server_neigh(false)) {
		conns_idle(HP_FAST_RECHECK_NS);
		stays_on_stack(&in, if_wan, "no neighbour entry");
		server_neigh(true);
	}

	bpf_map_delete_elem(bpf_map__fd(skel->maps.hp_ifaces), &if_lan);
	conns_idle(HP_FAST_RECHECK_NS); /* seen at the direction's next whole check */
	stays_on_stack(&in, if_wan, "egress device not hairpin's");
	add_iface(if_lan, A_ROUTER, HP_ROLE_LAN);

	cfg.flags = HP_CFG_NO_FASTPATH;
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);
	stays_on_stack(&in, if_wan, "fastpath off");
	cfg.flags = 0;
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);

	/* And with everything back, the same packet goes fast. */
	ASSERT_EQ(run_on(if_wan, true, &in, &later), TC_ACT_REDIRECT, "fast again");
}

/*
 * Between two checks of a direction, its packets go to the next hop the
 * last one found (hops), without a FIB lookup: a neighbour's new MAC, or a
 * smaller MTU, reaches them at the next check. A packet larger than the
 * noted next hop takes asks the FIB at once.
 */
static void quarter_second_start(void)
{
	struct timespec ts;
	__u64 now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* the datapath's clock */
	now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	usleep((HP_FAST_RECHECK_NS - (now & (HP_FAST_RECHECK_NS - 1))) / 1000 + 10000);
}

void test_fastpath_next_hop_until_next_check(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353), fw = udp(A_WAN, 40000, A_SERVER, 53);
	struct hp_hop h;
	struct pkt in, out;
	__u32 i, found = 0;

	if (!setup() || !udp_established())
		return;
	/* What follows runs within one quarter second: between two checks. */
	quarter_second_start();
	if (!via_fast(&f, if_wan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV))
		return;
	for (i = 0; i < HP_MAX_HOPS; i++)
		if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.hp_hops), &i, &h) &&
		    h.ifindex == if_lan && !memcmp(h.dmac, MAC_SERVER, ETH_ALEN) &&
		    !memcmp(h.smac, MAC_LAN_DEV, ETH_ALEN) && h.mtu == 1500)
			found++;
	if (!ASSERT_EQ(found, 1, "the next hop noted once") ||
	    !sh("ip neigh replace 192.0.2.20 lladdr 02:00:00:00:00:21 dev fpb0 nud permanent"))
		return;
	/* Still the MAC the check found, and its MTU; */
	if (!via_fast(&f, if_wan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV) ||
	    !sh("ip link set fpb0 mtu 1000"))
		goto out;
	f.payload_len = 1200;
	pkt_build(&in, &f);
	addressed_to(&in, if_wan);
	ASSERT_EQ(run_on(if_wan, true, &in, &out), TC_ACT_REDIRECT, "noted MTU still 1500");
	/* larger than that: the FIB's own answer, and a frag-needed stays on the stack. */
	f.payload_len = 1480;
	pkt_build(&in, &f);
	stays_on_stack(&in, if_wan, "larger than the noted MTU");
	/* At the next check, the new MAC. */
	f.payload_len = 32;
	conns_idle(HP_FAST_RECHECK_NS);
	via_fast(&f, if_wan, if_lan, &fw, "\x02\x00\x00\x00\x00\x21", MAC_LAN_DEV);
out:
	sh("ip link set fpb0 mtu 1500");
	server_neigh(true);
}

/*
 * A check that finds the destination no longer forwarded (a blackhole
 * route) takes the direction off the fast path until a check finds it
 * forwarded again: its next packets are checked, not sent by what an
 * earlier check noted.
 */
void test_fastpath_unrouted_at_check(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353), fw = udp(A_WAN, 40000, A_SERVER, 53);
	struct hp_conn_key k = { .saddr = htonl(A_WAN),
				 .daddr = htonl(A_PUBLIC),
				 .sport = htons(40000),
				 .dport = htons(5353),
				 .proto = IPPROTO_UDP,
				 .dir = HP_DIR_INGRESS };
	struct hp_conn c;
	struct pkt in;

	if (!setup() || !udp_established() ||
	    !via_fast(&f, if_wan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV) ||
	    !sh("ip route add blackhole 192.0.2.20/32"))
		return;
	pkt_build(&in, &f);
	conns_idle(HP_FAST_RECHECK_NS);
	stays_on_stack(&in, if_wan, "blackholed at the check");
	if (ASSERT_OK(bpf_map_lookup_elem(bpf_map__fd(skel->maps.hp_conns), &k, &c), "entry"))
		ASSERT_EQ(c.fast & HP_FAST_READY, 0, "no longer fast");
	stays_on_stack(&in, if_wan, "blackholed, the next packet");
	if (sh("ip route del blackhole 192.0.2.20/32"))
		via_fast(&f, if_wan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV);
}

/*
 * A next hop is noted for the TOS of the packet checked: a packet of
 * another TOS (which routing may look at) asks the FIB.
 */
void test_fastpath_next_hop_by_tos(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353), fw = udp(A_WAN, 40000, A_SERVER, 53);
	struct pkt in, out;

	if (!setup() || !udp_established())
		return;
	quarter_second_start();
	if (!via_fast(&f, if_wan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV) ||
	    !sh("ip route add 192.0.2.20/32 tos 0x10 via 192.0.2.10 dev fpb0"))
		return;
	pkt_build(&in, &f);
	addressed_to(&in, if_wan);
	in.data[ETH_HLEN + 1] = 0x10;
	pkt_fix_csums(&in);
	if (ASSERT_EQ(run_on(if_wan, true, &in, &out), TC_ACT_REDIRECT, "TOS 0x10 fast"))
		ASSERT_TRUE(!memcmp(out.data, MAC_CLIENT, ETH_ALEN), "by the TOS's own route");
	via_fast(&f, if_wan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV);
	sh("ip route del 192.0.2.20/32 tos 0x10 via 192.0.2.10 dev fpb0");
}

/*
 * Each whole check of a direction refreshes its egress entry's time, to the
 * packet's own: timeouts stay exact for a connection that only the fast
 * path carries. And a check is made again once HP_FAST_RECHECK_NS passed:
 * an egress entry gone since sends the direction back to the stack.
 */
void test_fastpath_checks_direction_again(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353), fw = udp(A_WAN, 40000, A_SERVER, 53);
	struct hp_conn_key ko = { .saddr = htonl(A_WAN),
				  .daddr = htonl(A_PUBLIC),
				  .sport = htons(40000),
				  .dport = htons(5353),
				  .proto = IPPROTO_UDP,
				  .dir = HP_DIR_INGRESS };
	struct hp_conn_key kf = ko;
	int fd = bpf_map__fd(skel->maps.hp_conns);
	struct hp_conn o, e;
	struct pkt in, out;

	kf.daddr = htonl(A_SERVER);
	kf.dport = htons(53);
	kf.dir = HP_DIR_EGRESS;
	if (!setup() || !udp_established() ||
	    !via_fast(&f, if_wan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV))
		return;
	conns_idle(10 * 1000000000ULL);
	/* Ingress alone: the egress hook would refresh the entry itself. */
	pkt_build(&in, &f);
	addressed_to(&in, if_wan);
	if (!ASSERT_EQ(run_on(if_wan, true, &in, &out), TC_ACT_REDIRECT, "fast after 10 s") ||
	    !ASSERT_OK(bpf_map_lookup_elem(fd, &ko, &o), "ORIG entry") ||
	    !ASSERT_OK(bpf_map_lookup_elem(fd, &kf, &e), "egress entry"))
		return;
	ASSERT_EQ(e.last_ns, o.last_ns, "egress entry's time after a check");
	ASSERT_TRUE(o.fast & HP_FAST_READY, "checked");

	bpf_map_delete_elem(fd, &kf);
	conns_idle(HP_FAST_RECHECK_NS);
	stays_on_stack(&in, if_wan, "egress entry gone");
}

/*
 * Packets that take the stack path on an entry (TTL 1 here) move its time
 * on too: the checks follow the time of the last check, not the entry's.
 * Neither a stack-path packet first in every quarter second nor a time
 * with the fast path off spares the direction its check.
 */
void test_fastpath_checks_despite_stack_path(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353), fw = udp(A_WAN, 40000, A_SERVER, 53);
	struct hp_config cfg = HP_CONFIG_DEFAULT;
	struct pkt in, ttl1, out;
	__u32 zero = 0;
	int i;

	if (!setup() || !udp_established() ||
	    !via_fast(&f, if_wan, if_lan, &fw, MAC_SERVER, MAC_LAN_DEV))
		return;
	pkt_build(&in, &f);
	addressed_to(&in, if_wan);
	ttl1 = in;
	ttl1.data[ETH_HLEN + 8] = 1;
	pkt_fix_csums(&ttl1);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.hp_ifaces), &if_lan);
	for (i = 0; i < 3; i++) {
		conns_idle(HP_FAST_RECHECK_NS);
		if (!stays_on_stack(&ttl1, if_wan, "TTL 1") ||
		    !stays_on_stack(&in, if_wan, "egress device not hairpin's, after a TTL 1"))
			return;
	}
	add_iface(if_lan, A_ROUTER, HP_ROLE_LAN);
	if (!ASSERT_EQ(run_on(if_wan, true, &in, &out), TC_ACT_REDIRECT, "fast again"))
		return;

	cfg.flags = HP_CFG_NO_FASTPATH;
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.hp_ifaces), &if_lan);
	for (i = 0; i < 10; i++) {
		conns_idle(HP_FAST_RECHECK_NS);
		stays_on_stack(&in, if_wan, "fastpath off");
	}
	cfg.flags = 0;
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);
	stays_on_stack(&in, if_wan, "fastpath on again, egress device gone meanwhile");
	add_iface(if_lan, A_ROUTER, HP_ROLE_LAN);
}

/* A direction the stack never forwarded (say, the forward chain dropped it) is never fast. */
void test_fastpath_needs_forwarded_direction(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353);
	struct hp_stats st;
	struct pkt in, mid;
	int i;

	if (!setup())
		return;
	for (i = 0; i < 3; i++) {
		pkt_build(&in, &f);
		if (!ASSERT_EQ(run_on(if_wan, true, &in, &mid), TC_ACT_UNSPEC, "ingress only"))
			return;
	}
	st = read_stats();
	ASSERT_EQ(st.fastpath + st.xdp_fastpath, 0, "fastpath counters");
}

/* A destination the FIB delivers locally stays with the stack, forwarded flag or not. */
void test_fastpath_local_destination_on_stack(void)
{
	struct flow f = udp(A_WAN, 40001, A_PUBLIC, 5354);
	struct hp_conn_key k = { .saddr = htonl(A_WAN),
				 .daddr = htonl(A_ROUTER),
				 .sport = htons(40001),
				 .dport = htons(53),
				 .proto = IPPROTO_UDP,
				 .dir = HP_DIR_EGRESS };
	int fd = bpf_map__fd(skel->maps.hp_conns);
	struct pkt in, out;
	struct hp_conn c;

	if (!setup())
		return;
	add_mapping(IPPROTO_UDP, A_PUBLIC, 5354, A_ROUTER, 53);
	pkt_build(&in, &f);
	if (!ASSERT_EQ(run_on(if_wan, true, &in, &out), TC_ACT_UNSPEC, "first datagram") ||
	    !ASSERT_OK(bpf_map_lookup_elem(fd, &k, &c), "forward entry"))
		return;
	c.flags |= HP_CONN_FORWARDED;
	c.in_ifindex = if_wan;
	bpf_map_update_elem(fd, &k, &c, BPF_EXIST);
	stays_on_stack(&in, if_wan, "local destination");
}

/*
 * What XDP must leave to TC on an established flow, each passed byte for
 * byte and then fast-pathed by TC: a checksum the sender left for the
 * device to finish (XDP cannot see the offload state; TC's helpers can),
 * and an egress device that does not take XDP frames.
 */
void test_xdp_leaves_to_tc(void)
{
	struct flow f = udp(A_WAN, 40000, A_PUBLIC, 5353);
	struct hp_iface ifc;
	struct hp_stats before, after;
	struct pkt in, out;
	bool was = xdp_mode;

	xdp_mode = true;
	if (!setup() || !udp_established())
		goto out;
	pkt_build(&in, &f);
	pkt_partial_csum(&in);
	before = read_stats();
	if (!ASSERT_EQ(run_on(if_wan, true, &in, &out), TC_ACT_REDIRECT, "partial checksum"))
		goto out;
	after = read_stats();
	ASSERT_EQ(after.xdp_fastpath - before.xdp_fastpath, 0, "partial checksum: XDP fast path");
	ASSERT_EQ(after.fastpath - before.fastpath, 1, "partial checksum: TC fast path");

	if (!ASSERT_OK(bpf_map_lookup_elem(bpf_map__fd(skel->maps.hp_ifaces), &if_lan, &ifc),
		       "lan iface"))
		goto out;
	ifc.flags &= ~HP_IFACE_XDP_TX;
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_ifaces), &if_lan, &ifc, BPF_EXIST);
	pkt_build(&in, &f);
	before = read_stats();
	if (!ASSERT_EQ(run_on(if_wan, true, &in, &out), TC_ACT_REDIRECT, "no XDP target"))
		goto out;
	after = read_stats();
	ASSERT_EQ(after.xdp_fastpath - before.xdp_fastpath, 0, "no XDP target: XDP fast path");
	ASSERT_EQ(after.fastpath - before.fastpath, 1, "no XDP target: TC fast path");
out:
	xdp_mode = was;
}
