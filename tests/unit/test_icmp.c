// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ICMP errors about translated connections: the quoted packet, the outer
 * header and every checksum (outer IP, ICMP, quoted IP, quoted TCP/UDP) are
 * checked from scratch after each hook. Other ICMP passes byte for byte.
 */
#include <linux/icmp.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "test_progs.h"

#define ICMP_OFF (ETH_HLEN + 20)
#define QUOTE_OFF (ICMP_OFF + 8)

struct icmp_want {
	__u32 saddr, daddr; /* outer */
	struct flow quote;  /* the quoted packet as it should read, built from scratch */
};

/*
 * @out is the error @in with only the outer addresses and checksums changed,
 * a valid ICMP checksum, and a quote that reads byte for byte like the
 * packet @w->quote built from scratch (so its IP and TCP/UDP checksums are
 * the ones that packet has, even when the quote stops short of its end).
 */
static bool expect_icmp(const struct pkt *in, const struct pkt *out, const struct icmp_want *w)
{
	struct pkt want;
	struct flow o;
	size_t i;

	pkt_build(&want, &w->quote);
	if (!ASSERT_EQ(out->len, in->len, "length") || !ASSERT_TRUE(pkt_parse(out, &o), "outer"))
		return false;
	for (i = 0; i < QUOTE_OFF; i++)
		if (!(i >= ETH_HLEN + 10 && i < ETH_HLEN + 20) && i != ICMP_OFF + 2 &&
		    i != ICMP_OFF + 3 && !ASSERT_EQ(out->data[i], in->data[i], "untouched byte"))
			return false;
	return ASSERT_EQ(o.saddr, w->saddr, "outer saddr") &&
	       ASSERT_EQ(o.daddr, w->daddr, "outer daddr") &&
	       ASSERT_TRUE(pkt_ip_csum_ok(out), "outer IPv4 checksum") &&
	       ASSERT_TRUE(pkt_icmp_csum_ok(out), "ICMP checksum") &&
	       ASSERT_TRUE(out->len - QUOTE_OFF <= want.len - ETH_HLEN, "quote length") &&
	       ASSERT_TRUE(
		       !memcmp(out->data + QUOTE_OFF, want.data + ETH_HLEN, out->len - QUOTE_OFF),
		       "quote reads as the translated packet");
}

/* A WAN client's connection to the public port, forwarded to the server. */
static bool wan_connection(__u8 proto)
{
	struct flow f = { .saddr = A_WAN,
			  .sport = 40000,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = proto,
			  .tcp_flags = TH_SYN };
	struct pkt in, out;

	reset_tables(HP_ROLE_WAN);
	add_mapping(proto, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	return ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "SYN") &&
	       expect_rewrite(&in, &out, A_WAN, 40000, A_SERVER, 80);
}

/*
 * The router cannot forward the client's packet to the server (fragmentation
 * needed): the error quotes the packet as DNAT left it, and must reach the
 * client quoting what the client sent.
 */
void test_icmp_error_to_wan_client(void)
{
	struct flow sent = { .saddr = A_WAN,
			     .sport = 40000,
			     .daddr = A_SERVER,
			     .dport = 80,
			     .proto = IPPROTO_TCP,
			     .tcp_flags = TH_ACK,
			     .payload_len = 100 };
	struct icmp_want w = { A_PUBLIC, A_WAN, sent };
	struct pkt quoted, in, out;

	w.quote.daddr = A_PUBLIC;
	w.quote.dport = 8080;
	if (!wan_connection(IPPROTO_TCP))
		return;
	pkt_build(&quoted, &sent);
	pkt_build_icmp(&in, A_ROUTER, A_WAN, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, &quoted, 0);
	ASSERT_EQ(run_egress(&in, &out), TC_ACT_UNSPEC, "verdict");
	expect_icmp(&in, &out, &w);
	/* Quoting only the IP header and 8 bytes, as RFC 792 allows. */
	pkt_build_icmp(&in, A_ROUTER, A_WAN, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, &quoted, 28);
	ASSERT_EQ(run_egress(&in, &out), TC_ACT_UNSPEC, "short quote verdict");
	expect_icmp(&in, &out, &w);
	ASSERT_EQ(read_stats().icmp_errors, 2, "icmp_errors");
}

/*
 * A router beyond the WAN cannot pass the server's reply (as un-DNAT left
 * it) on to the client: the error is addressed to the public address and
 * must reach the server quoting what the server sent.
 */
void test_icmp_error_to_server(void)
{
	struct flow sent = { .saddr = A_PUBLIC,
			     .sport = 8080,
			     .daddr = A_WAN,
			     .dport = 40000,
			     .proto = IPPROTO_UDP,
			     .payload_len = 60 };
	struct icmp_want w = { A_OTHER, A_SERVER, sent };
	struct pkt quoted, in, out;

	w.quote.saddr = A_SERVER;
	w.quote.sport = 80;
	if (!wan_connection(IPPROTO_UDP))
		return;
	pkt_build(&quoted, &sent);
	pkt_build_icmp(&in, A_OTHER, A_PUBLIC, ICMP_TIME_EXCEEDED, 0, &quoted, 0);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "verdict");
	expect_icmp(&in, &out, &w);
	/* An absent UDP checksum in the quote stays absent. */
	sent.udp_no_csum = w.quote.udp_no_csum = true;
	pkt_build(&quoted, &sent);
	pkt_build_icmp(&in, A_OTHER, A_PUBLIC, ICMP_TIME_EXCEEDED, 0, &quoted, 0);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "verdict, no UDP checksum");
	expect_icmp(&in, &out, &w);
}

/*
 * Hairpin: the server answers a hairpinned datagram with port unreachable.
 * Ingress un-SNATs the error towards the client, egress un-DNATs it, and the
 * client gets an error from the public address about what it sent there.
 */
void test_icmp_error_hairpin_both_hooks(void)
{
	struct flow f = { .saddr = A_CLIENT,
			  .sport = 5000,
			  .daddr = A_PUBLIC,
			  .dport = 5353,
			  .proto = IPPROTO_UDP,
			  .payload_len = 30 };
	struct icmp_want w1 = { A_SERVER, A_CLIENT, f }, w2 = { A_PUBLIC, A_CLIENT, f };
	struct pkt in, mid, out;
	struct flow snat;

	w1.quote.daddr = A_SERVER;
	w1.quote.dport = 53;

	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_UDP, A_PUBLIC, 5353, A_SERVER, 53);
	pkt_build(&in, &f);
	if (!ASSERT_EQ(run_ingress(&in, &mid), TC_ACT_UNSPEC, "DNAT") ||
	    !ASSERT_EQ(run_egress(&mid, &out), TC_ACT_UNSPEC, "SNAT") || !pkt_parse(&out, &snat) ||
	    !ASSERT_EQ(snat.saddr, A_ROUTER, "SNAT address"))
		return;

	/* What the server got, quoted back to the router's address. */
	pkt_build_icmp(&in, A_SERVER, A_ROUTER, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, &out, 0);
	ASSERT_EQ(run_ingress(&in, &mid), TC_ACT_UNSPEC, "ingress verdict");
	if (!expect_icmp(&in, &mid, &w1))
		return;
	ASSERT_EQ(run_egress(&mid, &out), TC_ACT_UNSPEC, "egress verdict");
	expect_icmp(&mid, &out, &w2);
	ASSERT_EQ(read_stats().icmp_errors, 2, "icmp_errors");
}

/*
 * The router cannot pass the server's reply to a hairpinned client on: the
 * error quotes the reply as un-SNAT left it and must reach the server
 * quoting what the server sent, to the router's SNAT address.
 */
void test_icmp_error_hairpin_reply_frag_needed(void)
{
	struct flow f = { .saddr = A_CLIENT,
			  .sport = 40001,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN };
	struct pkt in, mid, out, quoted;
	struct flow snat, reply;
	struct icmp_want w;

	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	if (!ASSERT_EQ(run_ingress(&in, &mid), TC_ACT_UNSPEC, "DNAT") ||
	    !ASSERT_EQ(run_egress(&mid, &out), TC_ACT_UNSPEC, "SNAT") || !pkt_parse(&out, &snat))
		return;
	reply = (struct flow){ .saddr = A_SERVER,
			       .sport = 80,
			       .daddr = A_CLIENT,
			       .dport = 40001,
			       .proto = IPPROTO_TCP,
			       .tcp_flags = TH_ACK,
			       .payload_len = 1400 };
	pkt_build(&quoted, &reply);
	pkt_build_icmp(&in, A_ROUTER, A_SERVER, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, &quoted, 548);
	w = (struct icmp_want){ A_ROUTER, A_SERVER, reply };
	w.quote.daddr = A_ROUTER;
	w.quote.dport = snat.sport;
	ASSERT_EQ(run_egress(&in, &out), TC_ACT_UNSPEC, "verdict");
	expect_icmp(&in, &out, &w);
}

static void expect_icmp_untouched(const struct pkt *in, int ingress, const char *what)
{
	struct pkt out;

	if (ASSERT_EQ(ingress ? run_ingress(in, &out) : run_egress(in, &out), TC_ACT_UNSPEC, what))
		expect_unchanged(in, &out);
}

void test_icmp_unrelated_passes_unchanged(void)
{
	struct flow sent = { .saddr = A_WAN,
			     .sport = 40000,
			     .daddr = A_SERVER,
			     .dport = 80,
			     .proto = IPPROTO_TCP,
			     .tcp_flags = TH_ACK };
	struct pkt quoted, in;

	if (!wan_connection(IPPROTO_TCP))
		return;
	pkt_build(&quoted, &sent);
	/* An echo request to the public address is the router's to answer. */
	pkt_build_icmp(&in, A_WAN, A_PUBLIC, ICMP_ECHO, 0, &quoted, 28);
	expect_icmp_untouched(&in, 1, "echo request");
	/* An error sent to someone other than the quoted packet's sender. */
	pkt_build_icmp(&in, A_ROUTER, A_OTHER, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, &quoted, 0);
	expect_icmp_untouched(&in, 0, "error to a third party");
	/* A quote of no known connection: another source port. */
	sent.sport = 40001;
	pkt_build(&quoted, &sent);
	pkt_build_icmp(&in, A_ROUTER, A_WAN, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, &quoted, 0);
	expect_icmp_untouched(&in, 0, "unknown connection");
	/* A quote too short to hold the ports. */
	sent.sport = 40000;
	pkt_build(&quoted, &sent);
	pkt_build_icmp(&in, A_ROUTER, A_WAN, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, &quoted, 24);
	expect_icmp_untouched(&in, 0, "truncated quote");
	/* A quoted later fragment carries no ports. */
	pkt_build(&quoted, &sent);
	quoted.data[ETH_HLEN + 6] = 0x00;
	quoted.data[ETH_HLEN + 7] = 0x10;
	pkt_build_icmp(&in, A_ROUTER, A_WAN, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, &quoted, 0);
	expect_icmp_untouched(&in, 0, "quoted later fragment");
	ASSERT_EQ(read_stats().icmp_errors, 0, "icmp_errors");
}

/*
 * Bytes after the IP packet (Ethernet padding) are not part of the ICMP
 * message: a quoted TCP checksum that lies only there is neither read nor
 * written, and the ICMP checksum stays right for the message it covers.
 */
void test_icmp_error_padding_untouched(void)
{
	struct flow sent = { .saddr = A_WAN,
			     .sport = 40000,
			     .daddr = A_SERVER,
			     .dport = 80,
			     .proto = IPPROTO_TCP,
			     .tcp_flags = TH_ACK,
			     .payload_len = 100 };
	struct icmp_want w = { A_PUBLIC, A_WAN, sent };
	struct pkt quoted, in, out;
	size_t i, end;

	w.quote.daddr = A_PUBLIC;
	w.quote.dport = 8080;
	if (!wan_connection(IPPROTO_TCP))
		return;
	pkt_build(&quoted, &sent);
	pkt_build_icmp(&in, A_ROUTER, A_WAN, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, &quoted, 28);
	/* Padding that happens to hold the rest of the quoted TCP header. */
	end = in.len;
	memcpy(in.data + end, quoted.data + ETH_HLEN + 28, 12);
	in.len += 12;
	if (!ASSERT_EQ(run_egress(&in, &out), TC_ACT_UNSPEC, "verdict"))
		return;
	for (i = end; i < in.len; i++)
		if (!ASSERT_EQ(out.data[i], in.data[i], "padding byte"))
			return;
	out.len = in.len = end;
	expect_icmp(&in, &out, &w);
}
