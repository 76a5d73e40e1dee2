// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * When a connection becomes assured, and so safe from early drop: TCP once
 * the client acknowledged the server's SYN-ACK, UDP once a packet passes
 * after a reply and 2 s after the first, as netfilter's conntrack decides.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "hp.h"
#include "test_progs.h"

#define NS_PER_SEC 1000000000ULL

static struct flow client_pkt(__u8 proto, __u32 client, __u8 flags, __u32 ack)
{
	return (struct flow){ .saddr = client,
			      .sport = 40000,
			      .daddr = A_PUBLIC,
			      .dport = 8080,
			      .proto = proto,
			      .tcp_flags = flags,
			      .tcp_ack = ack };
}

/* The server's reply to @client:40000, as it leaves through egress (WAN connections). */
static struct flow server_pkt(__u8 proto, __u32 client, __u8 flags)
{
	return (struct flow){ .saddr = A_SERVER,
			      .sport = 80,
			      .daddr = client,
			      .dport = 40000,
			      .proto = proto,
			      .tcp_flags = flags };
}

static bool through(const struct flow *f, bool ingress)
{
	struct pkt in, out;

	pkt_build(&in, f);
	return ASSERT_EQ(ingress ? run_ingress(&in, &out) : run_egress(&in, &out), TC_ACT_UNSPEC,
			 ingress ? "ingress verdict" : "egress verdict");
}

/* Is the connection of @client:40000 to port 8080 assured (its ORIG entry says)? */
static bool assured(__u8 proto, __u32 client)
{
	struct hp_conn_key k = { .saddr = htonl(client),
				 .daddr = htonl(A_PUBLIC),
				 .sport = htons(40000),
				 .dport = htons(8080),
				 .proto = proto,
				 .dir = HP_DIR_INGRESS };
	struct hp_conn c;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.hp_conns), &k, &c))
		return false;
	return c.flags & HP_CONN_ASSURED;
}

static void setup(__u8 proto)
{
	reset_tables(HP_ROLE_WAN);
	add_mapping(proto, A_PUBLIC, 8080, A_SERVER, 80);
}

void test_assured_tcp_after_handshake(void)
{
	struct flow f = client_pkt(IPPROTO_TCP, A_WAN, TH_SYN, 0);
	struct flow r = server_pkt(IPPROTO_TCP, A_WAN, TH_SYN | TH_ACK);

	setup(IPPROTO_TCP);
	if (!through(&f, true) || !ASSERT_TRUE(!assured(IPPROTO_TCP, A_WAN), "after the SYN"))
		return;
	/* An ACK before any SYN-ACK is a guess, as from a spoofed source. */
	f = client_pkt(IPPROTO_TCP, A_WAN, TH_ACK, PKT_SEQ + 1);
	if (!through(&f, true) || !ASSERT_TRUE(!assured(IPPROTO_TCP, A_WAN), "blind ACK"))
		return;
	if (!through(&r, false) || !ASSERT_TRUE(!assured(IPPROTO_TCP, A_WAN), "after the SYN-ACK"))
		return;
	/* One that does not acknowledge the SYN-ACK is a guess too. */
	f = client_pkt(IPPROTO_TCP, A_WAN, TH_ACK, PKT_SEQ + 1 - 100);
	if (!through(&f, true) || !ASSERT_TRUE(!assured(IPPROTO_TCP, A_WAN), "wrong ACK"))
		return;
	f = client_pkt(IPPROTO_TCP, A_WAN, TH_ACK, PKT_SEQ + 1);
	if (through(&f, true))
		ASSERT_TRUE(assured(IPPROTO_TCP, A_WAN), "after the handshake's ACK");
}

void test_assured_udp_after_reply_and_2s(void)
{
	struct flow f = client_pkt(IPPROTO_UDP, A_WAN, 0, 0);
	struct flow r = server_pkt(IPPROTO_UDP, A_WAN, 0);
	struct flow g = client_pkt(IPPROTO_UDP, A_OTHER, 0, 0);

	setup(IPPROTO_UDP);
	/* A request answered at once (a DNS query) is not assured. */
	if (!through(&f, true) || !through(&r, false) || !through(&f, true) ||
	    !ASSERT_TRUE(!assured(IPPROTO_UDP, A_WAN), "answered, younger than 2 s"))
		return;
	/* Nor is a flow with no answer, however long it goes on. */
	if (!through(&g, true))
		return;
	conns_age(HP_UDP_ASSURE * NS_PER_SEC);
	if (!through(&g, true) || !ASSERT_TRUE(!assured(IPPROTO_UDP, A_OTHER), "never answered"))
		return;
	/* Answered and 2 s old: the next packet either way assures it, here a reply. */
	if (through(&r, false))
		ASSERT_TRUE(assured(IPPROTO_UDP, A_WAN), "answered and 2 s old");
}

/* A hairpinned TCP connection: the same, through its four hooks. */
void test_assured_hairpin_tcp(void)
{
	struct flow f = client_pkt(IPPROTO_TCP, A_CLIENT, TH_SYN, 0), g, r;
	struct pkt in, mid, out;

	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	if (!ASSERT_EQ(run_ingress(&in, &mid), TC_ACT_UNSPEC, "SYN ingress") ||
	    !ASSERT_EQ(run_egress(&mid, &out), TC_ACT_UNSPEC, "SYN egress") ||
	    !ASSERT_TRUE(pkt_parse(&out, &g), "parse"))
		return;
	r = (struct flow){ .saddr = A_SERVER,
			   .sport = 80,
			   .daddr = A_ROUTER,
			   .dport = g.sport,
			   .proto = IPPROTO_TCP,
			   .tcp_flags = TH_SYN | TH_ACK };
	pkt_build(&in, &r);
	if (!ASSERT_EQ(run_ingress(&in, &mid), TC_ACT_UNSPEC, "SYN-ACK ingress") ||
	    !ASSERT_EQ(run_egress(&mid, &out), TC_ACT_UNSPEC, "SYN-ACK egress") ||
	    !ASSERT_TRUE(!assured(IPPROTO_TCP, A_CLIENT), "after the SYN-ACK"))
		return;
	f = client_pkt(IPPROTO_TCP, A_CLIENT, TH_ACK, PKT_SEQ + 1);
	if (through(&f, true))
		ASSERT_TRUE(assured(IPPROTO_TCP, A_CLIENT), "after the handshake's ACK");
}
