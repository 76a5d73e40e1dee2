// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Checksums and header lengths: zero UDP checksums and IPv4 options. */
#include <netinet/in.h>

#include "test_progs.h"

void test_udp_zero_checksum_stays_zero(void)
{
	struct flow f = { .saddr = A_WAN,
			  .sport = 5000,
			  .daddr = A_PUBLIC,
			  .dport = 5353,
			  .proto = IPPROTO_UDP,
			  .payload_len = 40,
			  .udp_no_csum = true };
	struct flow r = { .saddr = A_SERVER,
			  .sport = 53,
			  .daddr = A_WAN,
			  .dport = 5000,
			  .proto = IPPROTO_UDP,
			  .payload_len = 3,
			  .udp_no_csum = true };
	struct pkt in, out;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_UDP, A_PUBLIC, 5353, A_SERVER, 53);
	pkt_build(&in, &f);
	if (!ASSERT_EQ(pkt_udp_csum_field(&in), 0, "input has no checksum"))
		return;
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "verdict");
	expect_rewrite(&in, &out, A_WAN, 5000, A_SERVER, 53);
	ASSERT_EQ(pkt_udp_csum_field(&out), 0, "DNAT keeps it absent");
	pkt_build(&in, &r);
	run_egress(&in, &out);
	expect_rewrite(&in, &out, A_PUBLIC, 5353, A_WAN, 5000);
	ASSERT_EQ(pkt_udp_csum_field(&out), 0, "un-DNAT keeps it absent");
}

/* IPv4 options move the L4 header: every header length from 20 to 60 bytes. */
void test_ip_options_l4_offset(void)
{
	struct pkt in, mid, out;
	int opt, proto;
	__u16 cport = 40000;

	for (proto = 0; proto < 2; proto++) {
		for (opt = 0; opt <= 40; opt += 4) {
			struct flow f = { .saddr = A_CLIENT,
					  .sport = ++cport,
					  .daddr = A_PUBLIC,
					  .dport = 8080,
					  .proto = proto ? IPPROTO_UDP : IPPROTO_TCP,
					  .tcp_flags = TH_SYN,
					  .ip_opt_len = opt,
					  .payload_len = 11 };
			struct flow g;

			reset_tables(HP_ROLE_LAN);
			add_mapping(f.proto, A_PUBLIC, 8080, A_SERVER, 80);
			pkt_build(&in, &f);
			if (!ASSERT_EQ(run_ingress(&in, &mid), TC_ACT_UNSPEC, "DNAT verdict") ||
			    !expect_rewrite(&in, &mid, A_CLIENT, cport, A_SERVER, 80) ||
			    !ASSERT_EQ(run_egress(&mid, &out), TC_ACT_UNSPEC, "SNAT verdict") ||
			    !ASSERT_TRUE(pkt_parse(&out, &g), "parse") ||
			    !ASSERT_EQ(g.ip_opt_len, opt, "options kept") ||
			    !expect_rewrite(&mid, &out, A_ROUTER, g.sport, A_SERVER, 80))
				return;
		}
	}
}
