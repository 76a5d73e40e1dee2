// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Port forwards from the WAN: DNAT on ingress, un-DNAT of replies on egress. */
#include <string.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "test_progs.h"

static struct flow wan_syn(__u8 proto)
{
	return (struct flow){ .saddr = A_WAN,
			      .sport = 40000,
			      .daddr = A_PUBLIC,
			      .dport = 8080,
			      .proto = proto,
			      .tcp_flags = TH_SYN,
			      .payload_len = 32 };
}

static void dnat_wan(__u8 proto)
{
	struct flow f = wan_syn(proto);
	struct pkt in, out;
	struct hp_stats st;

	reset_tables(HP_ROLE_WAN);
	add_mapping(proto, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	if (!ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "verdict"))
		return;
	if (!expect_rewrite(&in, &out, A_WAN, 40000, A_SERVER, 80))
		return;
	st = read_stats();
	ASSERT_EQ(st.dnat, 1, "dnat counter");
	ASSERT_EQ(st.conns_new, 1, "conns_new counter");

	/* The next packet of the connection takes the state, not the mapping. */
	f.tcp_flags = TH_ACK;
	pkt_build(&in, &f);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "verdict 2");
	expect_rewrite(&in, &out, A_WAN, 40000, A_SERVER, 80);
	ASSERT_EQ(read_stats().conns_new, 1, "still one connection");
}

void test_dnat_wan_tcp(void)
{
	dnat_wan(IPPROTO_TCP);
}

void test_dnat_wan_udp(void)
{
	dnat_wan(IPPROTO_UDP);
}

void test_undnat_server_reply(void)
{
	struct flow f = wan_syn(IPPROTO_TCP);
	struct flow r = { .saddr = A_SERVER,
			  .sport = 80,
			  .daddr = A_WAN,
			  .dport = 40000,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN | TH_ACK,
			  .payload_len = 5 };
	struct pkt in, out;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	run_ingress(&in, &out);

	/* The reply enters on the LAN (nothing to undo there) and leaves by the WAN. */
	pkt_build(&in, &r);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "reply ingress verdict");
	if (!expect_unchanged(&in, &out))
		return;
	ASSERT_EQ(run_egress(&in, &out), TC_ACT_UNSPEC, "reply egress verdict");
	expect_rewrite(&in, &out, A_PUBLIC, 8080, A_WAN, 40000);
	ASSERT_EQ(read_stats().undnat, 1, "undnat counter");
}

/* A connection from the WAN is forwarded with its source intact. */
void test_wan_connection_not_snated(void)
{
	struct flow f = wan_syn(IPPROTO_TCP);
	struct pkt in, mid, out;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	run_ingress(&in, &mid);
	ASSERT_EQ(run_egress(&mid, &out), TC_ACT_UNSPEC, "egress verdict");
	expect_unchanged(&mid, &out);
	ASSERT_EQ(read_stats().snat, 0, "snat counter");
}

/* Two public ports on one server port: each reply goes back as its own public port. */
void test_two_public_ports_one_server_port(void)
{
	struct flow a = wan_syn(IPPROTO_TCP), b = wan_syn(IPPROTO_TCP);
	struct flow ra = { .saddr = A_SERVER,
			   .sport = 80,
			   .daddr = A_WAN,
			   .dport = 40000,
			   .proto = IPPROTO_TCP,
			   .tcp_flags = TH_SYN | TH_ACK };
	struct flow rb = ra;
	struct pkt in, out;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8081, A_SERVER, 80);
	b.sport = rb.dport = 40001;
	b.dport = 8081;
	pkt_build(&in, &a);
	run_ingress(&in, &out);
	pkt_build(&in, &b);
	run_ingress(&in, &out);
	if (!expect_rewrite(&in, &out, A_WAN, 40001, A_SERVER, 80))
		return;

	pkt_build(&in, &rb);
	run_egress(&in, &out);
	expect_rewrite(&in, &out, A_PUBLIC, 8081, A_WAN, 40001);
	pkt_build(&in, &ra);
	run_egress(&in, &out);
	expect_rewrite(&in, &out, A_PUBLIC, 8080, A_WAN, 40000);
}

/* With a mark configured, packets whose destination ingress rewrote carry it. */
void test_mark_on_rewritten_packets(void)
{
	struct hp_config cfg = HP_CONFIG_DEFAULT;
	struct flow f = wan_syn(IPPROTO_TCP), r;
	struct pkt in, out;
	__u32 zero = 0;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	run_ctx.mark = 0x1234;
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "no mark configured");
	ASSERT_EQ(run_ctx_out.mark, 0x1234, "mark untouched");

	cfg.mark = 0x50;
	cfg.mark_mask = 0xf0;
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "DNAT");
	ASSERT_EQ(run_ctx_out.mark, 0x1254, "mark within its mask, other bits kept");
	/* Egress rewrites sources only and marks nothing. */
	r = (struct flow){ .saddr = A_SERVER,
			   .sport = 80,
			   .daddr = A_WAN,
			   .dport = f.sport,
			   .proto = IPPROTO_TCP,
			   .tcp_flags = TH_SYN | TH_ACK };
	pkt_build(&in, &r);
	ASSERT_EQ(run_egress(&in, &out), TC_ACT_UNSPEC, "un-DNAT");
	ASSERT_EQ(run_ctx_out.mark, 0x1234, "un-DNAT leaves the mark");
	/* Traffic of no mapping is not marked. */
	f.dport = 9999;
	pkt_build(&in, &f);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "unmapped");
	ASSERT_EQ(run_ctx_out.mark, 0x1234, "unmapped, unmarked");
	run_ctx.mark = 0;
}

/*
 * A frame whose destination MAC begins with the two bytes its IP header
 * begins with (45 00): from the bytes alone it could start at 0 (a device
 * with no link-layer header) or at 14, so the interface's entry decides.
 * As an Ethernet interface's, the datagram is translated; as a PPP/tun
 * interface's, the bytes at 0 are its header, not one of ours, and it passes.
 */
void test_ip_header_offset_from_the_interface(void)
{
	struct flow f = wan_syn(IPPROTO_UDP);
	struct hp_iface ifc = { .snat_addr = htonl(A_ROUTER), .role = HP_ROLE_WAN };
	struct pkt in, out;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_UDP, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	memcpy(in.data, in.data + ETH_HLEN, 2);
	if (!ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "verdict as Ethernet") ||
	    !expect_rewrite(&in, &out, A_WAN, 40000, A_SERVER, 80))
		return;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_UDP, A_PUBLIC, 8080, A_SERVER, 80);
	ifc.flags = HP_IFACE_L3;
	set_iface(TEST_IFINDEX, &ifc, in.data);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "verdict as L3");
	expect_unchanged(&in, &out);
	ASSERT_EQ(read_stats().dnat, 0, "dnat counter");
	ASSERT_EQ(read_stats().packets, 0, "packets parsed as TCP/UDP");
}

/*
 * What the stack drops or conntrack holds invalid opens no connection and
 * leaves untouched, to the stack: a SYN whose IP header checksum is wrong,
 * a SYN with FIN, a SYN with RST. A good SYN then opens one.
 */
void test_invalid_openers_open_nothing(void)
{
	static const __u8 flags[] = { TH_SYN, TH_SYN | TH_FIN, TH_SYN | TH_RST };
	struct flow f = wan_syn(IPPROTO_TCP);
	struct pkt in, out;
	unsigned int i;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	for (i = 0; i < sizeof(flags); i++) {
		f.tcp_flags = flags[i];
		pkt_build(&in, &f);
		if (!i)
			in.data[ETH_HLEN + 10] ^= 0x01; /* the IP header checksum */
		if (!ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "verdict") ||
		    !expect_unchanged(&in, &out))
			return;
	}
	ASSERT_EQ(read_stats().conns_new, 0, "no connection");
	ASSERT_EQ(read_stats().tcp_no_syn, 2, "SYN+FIN and SYN+RST counted as no SYN");
	f.tcp_flags = TH_SYN;
	pkt_build(&in, &f);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "good SYN");
	expect_rewrite(&in, &out, A_WAN, 40000, A_SERVER, 80);
	ASSERT_EQ(read_stats().conns_new, 1, "one connection");
	/* Closing: SYN+FIN and SYN+RST do not start it again, a SYN does. */
	f.tcp_flags = TH_FIN | TH_ACK;
	pkt_build(&in, &f);
	run_ingress(&in, &out);
	for (i = 1; i < sizeof(flags); i++) {
		f.tcp_flags = flags[i];
		pkt_build(&in, &f);
		run_ingress(&in, &out);
	}
	ASSERT_EQ(read_stats().conns_new, 1, "not reopened by SYN+FIN or SYN+RST");
	f.tcp_flags = TH_SYN;
	pkt_build(&in, &f);
	run_ingress(&in, &out);
	ASSERT_EQ(read_stats().conns_new, 2, "reopened by a SYN");
}
