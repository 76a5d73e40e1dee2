// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Fragmented datagrams: the first fragment is translated with its ports,
 * later ones by what the first taught the fragment table. The fragments are
 * joined again in the test and the datagram's checksum verified from scratch.
 */
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "test_progs.h"

#define IP_OFF ETH_HLEN
#define SPLIT 32 /* bytes of the UDP datagram in the first fragment */

/* Both fragments through one hook, in place; a later fragment may change only an address. */
static bool frags_through(struct pkt *first, struct pkt *later, bool ingress, const char *hook)
{
	struct pkt out1, out2;
	size_t i;

	if (!ASSERT_EQ(ingress ? run_ingress(first, &out1) : run_egress(first, &out1), TC_ACT_UNSPEC,
		       hook) ||
	    !ASSERT_EQ(ingress ? run_ingress(later, &out2) : run_egress(later, &out2), TC_ACT_UNSPEC,
		       hook) ||
	    !ASSERT_EQ(out2.len, later->len, "later fragment length") ||
	    !ASSERT_TRUE(pkt_ip_csum_ok(&out1), "first fragment IPv4 checksum") ||
	    !ASSERT_TRUE(pkt_ip_csum_ok(&out2), "later fragment IPv4 checksum"))
		return false;
	for (i = 0; i < later->len; i++)
		if (!(i >= IP_OFF + 10 && i < IP_OFF + 20) &&
		    !ASSERT_EQ(out2.data[i], later->data[i],
			       "untouched byte of the later fragment"))
			return false;
	*first = out1;
	*later = out2;
	return true;
}

/* @f as two fragments through ingress, egress or both (as routed), joined into @whole. */
static bool through(const struct flow *f, bool ingress, bool egress, struct pkt *whole)
{
	struct pkt in, first, later;

	pkt_build(&in, f);
	pkt_fragment(&in, SPLIT, &first, &later);
	if ((ingress && !frags_through(&first, &later, true, "ingress")) ||
	    (egress && !frags_through(&first, &later, false, "egress")))
		return false;
	pkt_reassemble(&first, &later, whole);
	return true;
}

/* @whole carries the given tuple and a UDP checksum that verifies. */
static bool expect_datagram(const struct pkt *whole, __u32 saddr, __u16 sport, __u32 daddr,
			    __u16 dport)
{
	struct flow g;

	return ASSERT_TRUE(pkt_parse(whole, &g), "parse") && ASSERT_EQ(g.saddr, saddr, "saddr") &&
	       ASSERT_EQ(g.sport, sport, "sport") && ASSERT_EQ(g.daddr, daddr, "daddr") &&
	       ASSERT_EQ(g.dport, dport, "dport") &&
	       ASSERT_TRUE(pkt_l4_csum_ok(whole), "UDP checksum of the joined datagram");
}

void test_fragments_port_forward(void)
{
	struct flow f = { .saddr = A_WAN,
			  .sport = 40000,
			  .daddr = A_PUBLIC,
			  .dport = 5353,
			  .proto = IPPROTO_UDP,
			  .payload_len = 100 };
	struct flow r = { .saddr = A_SERVER,
			  .sport = 53,
			  .daddr = A_WAN,
			  .dport = 40000,
			  .proto = IPPROTO_UDP,
			  .payload_len = 200 };
	struct pkt whole;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_UDP, A_PUBLIC, 5353, A_SERVER, 53);
	if (!through(&f, true, false, &whole) ||
	    !expect_datagram(&whole, A_WAN, 40000, A_SERVER, 53))
		return;
	if (!through(&r, false, true, &whole) ||
	    !expect_datagram(&whole, A_PUBLIC, 5353, A_WAN, 40000))
		return;
	ASSERT_EQ(read_stats().fragments, 2, "later fragments translated");
	ASSERT_EQ(read_stats().frag_unknown, 0, "frag_unknown");
}

void test_fragments_hairpin(void)
{
	struct flow f = { .saddr = A_CLIENT,
			  .sport = 5000,
			  .daddr = A_PUBLIC,
			  .dport = 5353,
			  .proto = IPPROTO_UDP,
			  .payload_len = 150 };
	struct flow g, r;
	struct pkt whole;

	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_UDP, A_PUBLIC, 5353, A_SERVER, 53);
	/* DNAT at ingress, then SNAT at egress, of the same two fragments. */
	if (!through(&f, true, true, &whole) || !pkt_parse(&whole, &g) ||
	    !expect_datagram(&whole, A_ROUTER, g.sport, A_SERVER, 53))
		return;
	/* The server's fragmented answer: un-SNAT at ingress, un-DNAT at egress. */
	r = (struct flow){ .saddr = A_SERVER,
			   .sport = 53,
			   .daddr = A_ROUTER,
			   .dport = g.sport,
			   .proto = IPPROTO_UDP,
			   .payload_len = 300 };
	if (!through(&r, true, true, &whole) ||
	    !expect_datagram(&whole, A_PUBLIC, 5353, A_CLIENT, 5000))
		return;
	ASSERT_EQ(read_stats().fragments, 4, "later fragments translated");
}

/* Expire every fragment table entry by backdating it. */
static void age_frags(void)
{
	int fd = bpf_map__fd(skel->maps.hp_frags);
	struct hp_frag_key k, next, *prev = NULL;
	struct hp_frag v;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, &v)) {
			v.created_ns -= (HP_FRAG_TIMEOUT + 1) * 1000000000ULL;
			bpf_map_update_elem(fd, &k, &v, BPF_EXIST);
		}
	}
}

void test_fragments_unknown_pass_unchanged(void)
{
	struct flow f = { .saddr = A_WAN,
			  .sport = 40000,
			  .daddr = A_PUBLIC,
			  .dport = 5353,
			  .proto = IPPROTO_UDP,
			  .payload_len = 100 };
	struct pkt in, first, later, out;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_UDP, A_PUBLIC, 5353, A_SERVER, 53);
	pkt_build(&in, &f);
	pkt_fragment(&in, SPLIT, &first, &later);

	/* Before its first fragment: not ours to know, passed as it is. */
	if (ASSERT_EQ(run_ingress(&later, &out), TC_ACT_UNSPEC, "later fragment first"))
		expect_unchanged(&later, &out);
	ASSERT_EQ(read_stats().frag_unknown, 1, "counted in frag_unknown");

	/* Another datagram's later fragment (another IP id) after this first one. */
	ASSERT_EQ(run_ingress(&first, &out), TC_ACT_UNSPEC, "first fragment");
	later.data[IP_OFF + 5] ^= 1;
	if (ASSERT_EQ(run_ingress(&later, &out), TC_ACT_UNSPEC, "other datagram"))
		expect_unchanged(&later, &out);
	later.data[IP_OFF + 5] ^= 1;

	/* After the fragment timeout. */
	age_frags();
	if (ASSERT_EQ(run_ingress(&later, &out), TC_ACT_UNSPEC, "after the timeout"))
		expect_unchanged(&later, &out);
	ASSERT_EQ(read_stats().frag_unknown, 3, "frag_unknown");

	/* The first fragment of a datagram to no mapping passes too. */
	f.dport = 5354;
	pkt_build(&in, &f);
	pkt_fragment(&in, SPLIT, &first, &later);
	if (ASSERT_EQ(run_ingress(&first, &out), TC_ACT_UNSPEC, "unmapped first fragment"))
		expect_unchanged(&first, &out);
	ASSERT_EQ(read_stats().fragments, 0, "nothing translated");
}
