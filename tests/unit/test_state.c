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
	if (run_ingress(&in, &mid) != TC_ACT_OK || run_egress(&mid, &out) != TC_ACT_OK ||
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
			  .tcp_flags = TH_ACK };
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
	run_ingress(&in, &out);
	expect_rewrite(&in, &out, A_WAN, 4000, A_OTHER, 81);
	ASSERT_EQ(read_stats().conns_expired, 1, "conns_expired counter");
}

/* A connection first seen with a RST is stored closing, on every entry. */
void test_first_packet_rst_is_closing(void)
{
	struct flow f = { .saddr = A_CLIENT,
			  .sport = 62001,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_RST | TH_ACK };
	struct hp_conn_key k = { .saddr = htonl(A_CLIENT),
				 .daddr = htonl(A_PUBLIC),
				 .sport = htons(62001),
				 .dport = htons(8080),
				 .proto = IPPROTO_TCP,
				 .dir = HP_DIR_INGRESS };
	int fd = bpf_map__fd(skel->maps.hp_conns);
	struct pkt in, out;
	struct hp_conn c;

	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_OK, "verdict");
	if (!ASSERT_OK(bpf_map_lookup_elem(fd, &k, &c), "ORIG entry"))
		return;
	ASSERT_TRUE(c.flags & HP_CONN_CLOSING, "ORIG closing");
	k = (struct hp_conn_key){ .saddr = htonl(A_SERVER),
				  .daddr = htonl(A_CLIENT),
				  .sport = htons(80),
				  .dport = htons(62001),
				  .proto = IPPROTO_TCP,
				  .dir = HP_DIR_EGRESS };
	if (!ASSERT_OK(bpf_map_lookup_elem(fd, &k, &c), "REPLY_DNAT entry"))
		return;
	ASSERT_EQ(c.kind, HP_CONN_REPLY_DNAT, "kind");
	ASSERT_TRUE(c.flags & HP_CONN_CLOSING, "REPLY_DNAT closing");
}
