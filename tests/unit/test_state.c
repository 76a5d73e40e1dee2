// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Connection state: reopening a closed TCP connection, expired state replaced. */
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "test_progs.h"

static __u16 snat_port_of(__u32 client, __u16 cport, __u8 flags)
{
	struct flow f = { .saddr = client,
			  .sport = cport,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = flags };
	struct pkt in, mid, out;
	struct flow g;

	pkt_build(&in, &f);
	if (run_ingress(&in, &mid) != TC_ACT_UNSPEC || run_egress(&mid, &out) != TC_ACT_UNSPEC ||
	    !pkt_parse(&out, &g))
		return 0;
	return g.sport;
}

/* After FIN, a new SYN on the same tuple is a new connection, as in netfilter. */
void test_tcp_reopen_after_close(void)
{
	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	ASSERT_EQ(snat_port_of(A_CLIENT, 62000, TH_SYN), 62000, "first SYN");
	ASSERT_EQ(snat_port_of(A_CLIENT, 62000, TH_FIN | TH_ACK), 62000, "FIN");
	ASSERT_EQ(read_stats().conns_new, 1, "one connection");
	ASSERT_EQ(snat_port_of(A_CLIENT, 62000, TH_SYN), 62000, "SYN again");
	ASSERT_EQ(read_stats().conns_new, 2, "a second connection");
}

/* State past its timeout is replaced; a mapping changed meanwhile takes effect. */
void test_expired_connection_recreated(void)
{
	struct hp_config cfg = {
		.snat_port_min = HP_SNAT_PORT_MIN,
		.snat_port_max = HP_SNAT_PORT_MAX,
		.timeout_tcp_est = 0,
		.timeout_tcp_close = 0,
		.timeout_udp = 0,
	};
	struct flow f = { .saddr = A_WAN,
			  .sport = 4000,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN };
	struct pkt in, out;
	__u32 zero = 0;

	reset_tables(HP_ROLE_WAN);
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	run_ingress(&in, &out);
	if (!expect_rewrite(&in, &out, A_WAN, 4000, A_SERVER, 80))
		return;
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_OTHER, 81);
	usleep(20000); /* past a timeout of 0 s, on the datapath's coarse clock (a jiffy) */
	/* Not a SYN, but its stale ORIG entry says the tuple was ours. */
	f.tcp_flags = TH_ACK;
	pkt_build(&in, &f);
	run_ingress(&in, &out);
	expect_rewrite(&in, &out, A_WAN, 4000, A_OTHER, 81);
	ASSERT_EQ(read_stats().conns_expired, 1, "conns_expired counter");
}

/*
 * Only a SYN opens a TCP connection to a mapping: an ACK, FIN or RST to a
 * mapped port with no state is someone else's (a reply to a connection the
 * router or its masquerade made from that port) and passes as it is.
 */
void test_tcp_without_syn_passes_unchanged(void)
{
	static const __u8 flags[] = { TH_ACK, TH_SYN | TH_ACK, TH_FIN | TH_ACK, TH_RST | TH_ACK,
				      TH_RST };
	struct flow f = { .saddr = A_WAN,
			  .sport = 443,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = IPPROTO_TCP,
			  .payload_len = 10 };
	struct pkt in, out;
	size_t i;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	for (i = 0; i < sizeof(flags); i++) {
		f.tcp_flags = flags[i];
		pkt_build(&in, &f);
		if (ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "verdict"))
			expect_unchanged(&in, &out);
	}
	ASSERT_EQ(read_stats().tcp_no_syn, sizeof(flags), "tcp_no_syn");
	ASSERT_EQ(read_stats().conns_new, 0, "no connection");
	f.tcp_flags = TH_SYN;
	pkt_build(&in, &f);
	run_ingress(&in, &out);
	expect_rewrite(&in, &out, A_WAN, 443, A_SERVER, 80);
}
