// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the datapath does not own leaves it byte for byte: traffic matching no
 * mapping, direct access to a server, and malformed or truncated headers
 * (passed unchanged and counted in `malformed`; the kernel's own IP input
 * then decides about them).
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "test_progs.h"

#define IP_OFF ETH_HLEN

static struct flow to_public(void)
{
	return (struct flow){ .saddr = A_CLIENT,
			      .sport = 40000,
			      .daddr = A_PUBLIC,
			      .dport = 8080,
			      .proto = IPPROTO_TCP,
			      .tcp_flags = TH_SYN,
			      .payload_len = 16 };
}

static void both_hooks_unchanged(const struct pkt *in, const char *what)
{
	struct pkt out;

	if (!ASSERT_EQ(run_ingress(in, &out), TC_ACT_UNSPEC, what) || !expect_unchanged(in, &out))
		return;
	if (!ASSERT_EQ(run_egress(in, &out), TC_ACT_UNSPEC, what))
		return;
	expect_unchanged(in, &out);
}

void test_unmatched_passes_unchanged(void)
{
	struct flow f = to_public();
	struct pkt in;

	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	f.dport = 8081; /* another port of the public address */
	pkt_build(&in, &f);
	both_hooks_unchanged(&in, "other port");
	f.dport = 8080;
	f.proto = IPPROTO_UDP; /* the mapping is TCP only */
	pkt_build(&in, &f);
	both_hooks_unchanged(&in, "other protocol");
	f.daddr = A_OTHER;
	f.proto = IPPROTO_TCP;
	pkt_build(&in, &f);
	both_hooks_unchanged(&in, "other address");
	ASSERT_EQ(read_stats().conns_new, 0, "no state created");
}

/* A client that talks to the server's private address is routed, not translated. */
void test_direct_server_access_unchanged(void)
{
	struct flow f = { .saddr = A_OTHER,
			  .sport = 40000,
			  .daddr = A_SERVER,
			  .dport = 80,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN };
	struct flow r = { .saddr = A_SERVER,
			  .sport = 80,
			  .daddr = A_OTHER,
			  .dport = 40000,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN | TH_ACK };
	struct pkt in;

	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	both_hooks_unchanged(&in, "direct request");
	pkt_build(&in, &r);
	both_hooks_unchanged(&in, "direct reply");
}

/* A packet to the mapping cut short at every byte: never rewritten, never a crash. */
void test_truncated_headers_pass_unchanged(void)
{
	struct flow f = to_public();
	struct pkt full, in, out;
	size_t len;
	__u64 want = 0;

	for (int proto = 0; proto < 2; proto++) {
		f.proto = proto ? IPPROTO_UDP : IPPROTO_TCP;
		f.ip_opt_len = 8;
		f.payload_len = 0;
		reset_tables(HP_ROLE_LAN);
		add_mapping(f.proto, A_PUBLIC, 8080, A_SERVER, 80);
		pkt_build(&full, &f);
		want = 0;
		/*
		 * BPF_PROG_TEST_RUN refuses an IPv4 frame shorter than an IPv4
		 * header, so cutting starts there (the program checks it anyway).
		 */
		for (len = ETH_HLEN + 20; len < full.len; len++) {
			in = full;
			in.len = len;
			if (!ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "verdict") ||
			    !expect_unchanged(&in, &out))
				return;
			want++;
		}
		ASSERT_EQ(read_stats().malformed, want, "malformed counter");
		ASSERT_EQ(read_stats().dnat, 0, "nothing translated");
	}
}

static void corrupt(const struct flow *f, void (*mangle)(struct pkt *), const char *what)
{
	struct pkt in, out;

	reset_tables(HP_ROLE_LAN);
	add_mapping(f->proto, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, f);
	mangle(&in);
	if (!ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, what) || !expect_unchanged(&in, &out))
		return;
	ASSERT_EQ(read_stats().malformed, 1, what);
}

static void ihl_too_small(struct pkt *p)
{
	p->data[IP_OFF] = 0x44;
}

static void ihl_past_end(struct pkt *p)
{
	p->data[IP_OFF] = 0x4f;
}

static void tot_len_past_end(struct pkt *p)
{
	p->data[IP_OFF + 2] = 0x05;
}

static void tot_len_below_ihl(struct pkt *p)
{
	p->data[IP_OFF + 2] = 0;
	p->data[IP_OFF + 3] = 19;
}

static void bad_version(struct pkt *p)
{
	p->data[IP_OFF] = 0x65;
}

static void tcp_doff_small(struct pkt *p)
{
	p->data[IP_OFF + 20 + 12] = 0x40;
}

static void tcp_doff_past_end(struct pkt *p)
{
	p->data[IP_OFF + 20 + 12] = 0xf0;
}

static void udp_len_small(struct pkt *p)
{
	p->data[IP_OFF + 20 + 4] = 0;
	p->data[IP_OFF + 20 + 5] = 7;
}

static void udp_len_past_end(struct pkt *p)
{
	p->data[IP_OFF + 20 + 4] = 0x05;
}

void test_malformed_headers_pass_unchanged(void)
{
	struct flow t = to_public(), u = to_public();

	u.proto = IPPROTO_UDP;
	corrupt(&t, ihl_too_small, "IHL < 5");
	corrupt(&t, ihl_past_end, "IHL past the end");
	corrupt(&t, tot_len_past_end, "total length past the end");
	corrupt(&t, tot_len_below_ihl, "total length below the header");
	corrupt(&t, bad_version, "IP version 6 in an IPv4 frame");
	corrupt(&t, tcp_doff_small, "TCP data offset < 5");
	corrupt(&t, tcp_doff_past_end, "TCP data offset past the end");
	corrupt(&u, udp_len_small, "UDP length < 8");
	corrupt(&u, udp_len_past_end, "UDP length past the end");
}

void test_non_ip_passes_unchanged(void)
{
	struct flow f = to_public();
	struct pkt in;

	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	in.data[12] = 0x86; /* EtherType IPv6, payload unchanged */
	in.data[13] = 0xdd;
	both_hooks_unchanged(&in, "IPv6 ethertype");
	pkt_build(&in, &f);
	in.data[IP_OFF + 9] = IPPROTO_ICMP;
	both_hooks_unchanged(&in, "ICMP");
	ASSERT_EQ(read_stats().malformed, 0, "not counted as malformed");
}
