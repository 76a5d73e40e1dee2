// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Hairpin: a LAN client opens the public address of a LAN server. The packet
 * walk is ingress DNAT, egress SNAT, then for the reply ingress un-SNAT and
 * egress un-DNAT, all four on the LAN interface.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "hp.h"
#include "test_progs.h"

/* Walk one client packet and the server's reply through the four hooks. */
static bool round_trip(__u8 proto, __u32 client, __u16 cport, __u16 want_snat_port,
		       __u16 *snat_port)
{
	struct flow f = { .saddr = client,
			  .sport = cport,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = proto,
			  .tcp_flags = TH_SYN,
			  .payload_len = 20 };
	struct flow g, r;
	struct pkt in, mid, out;

	pkt_build(&in, &f);
	if (!ASSERT_EQ(run_ingress(&in, &mid), TC_ACT_UNSPEC, "forward ingress verdict") ||
	    !expect_rewrite(&in, &mid, client, cport, A_SERVER, 80))
		return false;
	if (!ASSERT_EQ(run_egress(&mid, &out), TC_ACT_UNSPEC, "forward egress verdict") ||
	    !ASSERT_TRUE(pkt_parse(&out, &g), "parse SNAT output"))
		return false;
	if (want_snat_port && !ASSERT_EQ(g.sport, want_snat_port, "SNAT port"))
		return false;
	if (!ASSERT_TRUE(g.sport >= HP_SNAT_PORT_MIN, "SNAT port in range") ||
	    !expect_rewrite(&mid, &out, A_ROUTER, g.sport, A_SERVER, 80))
		return false;
	*snat_port = g.sport;

	r = (struct flow){ .saddr = A_SERVER,
			   .sport = 80,
			   .daddr = A_ROUTER,
			   .dport = g.sport,
			   .proto = proto,
			   .tcp_flags = TH_SYN | TH_ACK,
			   .payload_len = 7 };
	pkt_build(&in, &r);
	if (!ASSERT_EQ(run_ingress(&in, &mid), TC_ACT_UNSPEC, "reply ingress verdict") ||
	    !expect_rewrite(&in, &mid, A_SERVER, 80, client, cport))
		return false;
	return ASSERT_EQ(run_egress(&mid, &out), TC_ACT_UNSPEC, "reply egress verdict") &&
	       expect_rewrite(&mid, &out, A_PUBLIC, 8080, client, cport);
}

static void hairpin(__u8 proto)
{
	struct hp_stats st;
	__u16 port;

	reset_tables(HP_ROLE_LAN);
	add_mapping(proto, A_PUBLIC, 8080, A_SERVER, 80);
	if (!round_trip(proto, A_CLIENT, 50484, 0, &port))
		return;
	st = read_stats();
	ASSERT_EQ(st.dnat, 1, "dnat");
	ASSERT_EQ(st.snat, 1, "snat");
	ASSERT_EQ(st.unsnat, 1, "unsnat");
	ASSERT_EQ(st.undnat, 1, "undnat");
	ASSERT_EQ(st.conns_new, 1, "conns_new");
}

void test_hairpin_tcp_round_trip(void)
{
	hairpin(IPPROTO_TCP);
}

void test_hairpin_udp_round_trip(void)
{
	hairpin(IPPROTO_UDP);
}

void test_hairpin_keeps_client_port_in_range(void)
{
	__u16 port;

	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	round_trip(IPPROTO_TCP, A_CLIENT, 62000, 62000, &port);
}

/* Two clients with the same source port at once get different SNAT ports. */
void test_hairpin_same_client_port_collision(void)
{
	__u16 p1, p2;

	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	if (!round_trip(IPPROTO_TCP, A_CLIENT, 62000, 62000, &p1) ||
	    !round_trip(IPPROTO_TCP, A_CLIENT2, 62000, 0, &p2))
		return;
	ASSERT_TRUE(p1 != p2, "distinct SNAT ports");
	/* The first client's connection still maps back to it. */
	round_trip(IPPROTO_TCP, A_CLIENT, 62000, 62000, &p1);
}

/* With every SNAT port taken, a new hairpin connection is dropped and counted. */
void test_hairpin_port_exhaustion_drops(void)
{
	struct hp_config cfg = {
		.snat_port_min = 61000,
		.snat_port_max = 61001,
		.timeout_tcp_est = HP_TIMEOUT_TCP_EST,
		.timeout_tcp_close = HP_TIMEOUT_TCP_CLOSE,
		.timeout_udp = HP_TIMEOUT_UDP,
	};
	struct flow f = { .saddr = A_CLIENT,
			  .sport = 3000,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN };
	struct pkt in, mid, out;
	__u32 zero = 0;
	__u16 p;

	reset_tables(HP_ROLE_LAN);
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	if (!round_trip(IPPROTO_TCP, A_CLIENT, 1000, 0, &p) ||
	    !round_trip(IPPROTO_TCP, A_CLIENT, 2000, 0, &p))
		return;
	pkt_build(&in, &f);
	run_ingress(&in, &mid);
	ASSERT_EQ(run_egress(&mid, &out), TC_ACT_SHOT, "third connection dropped");
	ASSERT_EQ(read_stats().snat_exhausted, 1, "snat_exhausted counter");
}

/* Each packet counts once against its mapping, as WAN or hairpin traffic. */
void test_mapping_counters(void)
{
	struct hp_mapping m = { .protos = HP_PROTO_MASK_TCP,
				.pub_addr = htonl(A_PUBLIC),
				.pub_lo = 8080,
				.pub_hi = 8080 };
	struct flow f = { .saddr = A_WAN,
			  .sport = 40000,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN,
			  .payload_len = 10 };
	struct hp_map_key k = { .addr = htonl(A_PUBLIC), .port = htons(8080), .proto = IPPROTO_TCP };
	struct hp_map_key other = { .addr = htonl(A_PUBLIC), .port = htons(9090), .proto = IPPROTO_TCP };
	int maps_fd = bpf_map__fd(skel->maps.hp_mappings);
	int counters_fd = bpf_map__fd(skel->maps.hp_map_counters);
	int ncpu = libbpf_num_possible_cpus(), cpu;
	struct hp_map_counters mc, taken[ncpu > 0 ? ncpu : 1];
	struct hp_map_val v;
	struct hp_mapping *all = NULL;
	struct pkt in, out;
	unsigned int ports;
	int n = 0;
	__u16 port;

	memset(taken, 0, sizeof(taken));
	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	pkt_build(&in, &f);
	run_ingress(&in, &out);
	f.tcp_flags = TH_ACK;
	pkt_build(&in, &f);
	run_ingress(&in, &out);
	/* As map list reads it back: its one port written as it says. */
	if (!ASSERT_OK(mapping_read_all(maps_fd, &all, &n), "read back") ||
	    !ASSERT_EQ(n, 1, "one mapping"))
		goto out;
	ASSERT_OK(mapping_counters_sum(maps_fd, counters_fd, &all[0], &mc, &ports), "sum");
	ASSERT_EQ(ports, 1, "ports written");
	ASSERT_EQ(mc.wan_conns, 1, "wan_conns");
	ASSERT_EQ(mc.wan_packets, 2, "wan_packets");
	ASSERT_EQ(mc.wan_bytes, 2 * (in.len - ETH_HLEN), "wan_bytes: IP lengths");
	ASSERT_EQ(mc.hairpin_packets, 0, "hairpin_packets");

	/* A hairpinned round trip: DNAT and un-DNAT count, SNAT and un-SNAT do not. */
	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	if (!round_trip(IPPROTO_TCP, A_CLIENT, 50000, 0, &port))
		goto out;
	mapping_counters_sum(maps_fd, counters_fd, &m, &mc, &ports);
	ASSERT_EQ(mc.hairpin_conns, 1, "hairpin_conns");
	ASSERT_EQ(mc.hairpin_packets, 2, "hairpin_packets");
	ASSERT_EQ(mc.wan_packets, 0, "wan_packets");

	/*
	 * A slot that is no longer the port's counts nothing, not even for the
	 * port that took it next (a mapping deleted, another added, while
	 * connections of the first live on).
	 */
	if (!ASSERT_OK(bpf_map_lookup_elem(maps_fd, &k, &v), "entry") ||
	    !ASSERT_OK(counters_release(counters_fd, v.counters, &k), "slot freed"))
		goto out;
	for (cpu = 0; cpu < ncpu; cpu++)
		taken[cpu].port = other;
	if (!ASSERT_OK(bpf_map_update_elem(counters_fd, &v.counters, taken, BPF_ANY),
		       "slot taken by another port"))
		goto out;
	round_trip(IPPROTO_TCP, A_CLIENT, 50001, 0, &port);
	ASSERT_EQ(mapping_counters_sum(maps_fd, counters_fd, &m, &mc, &ports), 0, "sum");
	ASSERT_EQ(mc.hairpin_packets, 0, "uncounted");
	memset(&mc, 0, sizeof(mc));
	ASSERT_OK(counters_add(counters_fd, v.counters, &other, &mc), "the other port's");
	ASSERT_EQ(mc.hairpin_packets + mc.hairpin_conns, 0, "nothing for the other port");
out:
	free(all);
}

/* The SYN of @client through ingress then egress: where egress sent it from. */
static bool hairpin_syn(__u32 client, struct flow *got, struct pkt *mid, struct pkt *out)
{
	struct flow f = { .saddr = client,
			  .sport = 41000,
			  .daddr = A_PUBLIC,
			  .dport = 8080,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN };
	struct pkt in;

	pkt_build(&in, &f);
	return ASSERT_EQ(run_ingress(&in, mid), TC_ACT_UNSPEC, "ingress") &&
	       ASSERT_EQ(run_egress(mid, out), TC_ACT_UNSPEC, "egress") &&
	       ASSERT_TRUE(pkt_parse(out, got), "parse");
}

/* Write mapping 8080 with its own SNAT mode, and the LAN interface's prefix. */
static void snat_setup(__u16 own_flags)
{
	struct hp_map_key k = { .addr = htonl(A_PUBLIC),
				.port = htons(8080),
				.proto = IPPROTO_TCP };
	struct hp_map_val v = { .addr = htonl(A_SERVER),
				.port = htons(80),
				.range_first = 8080,
				.range_len = 1,
				.flags = own_flags };
	struct hp_iface ifc = { .snat_addr = htonl(A_ROUTER),
				.role = HP_ROLE_LAN,
				.prefix_len = 24 };
	__u32 ifindex = TEST_IFINDEX;

	reset_tables(HP_ROLE_LAN);
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_ifaces), &ifindex, &ifc, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_mappings), &k, &v, BPF_ANY);
}

void test_snat_modes(void)
{
	struct pkt mid, out;
	struct flow g;

	/* external: the public address, a port of the range. */
	snat_setup(HP_MAP_SNAT_OWN | HP_SNAT_EXTERNAL << HP_MAP_SNAT_SHIFT);
	if (hairpin_syn(A_CLIENT, &g, &mid, &out))
		expect_rewrite(&mid, &out, A_PUBLIC, g.sport, A_SERVER, 80);
	/* off: destination NAT only; egress leaves the packet alone. */
	snat_setup(HP_MAP_SNAT_OWN | HP_SNAT_OFF << HP_MAP_SNAT_SHIFT);
	if (hairpin_syn(A_CLIENT, &g, &mid, &out))
		expect_unchanged(&mid, &out);
	ASSERT_EQ(read_stats().snat, 0, "no SNAT");
	/* same-subnet: a client of 192.0.2.0/24 is source-NATed, one of another is not. */
	snat_setup(HP_MAP_SNAT_OWN | HP_MAP_SCOPE_SUBNET);
	if (hairpin_syn(A_CLIENT, &g, &mid, &out))
		expect_rewrite(&mid, &out, A_ROUTER, g.sport, A_SERVER, 80);
	if (hairpin_syn(A_OTHER, &g, &mid, &out))
		expect_unchanged(&mid, &out);
	/* The global mode, for a mapping without its own. */
	snat_setup(0);
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &(__u32){ 0 },
			    &(struct hp_config){ .snat_port_min = HP_SNAT_PORT_MIN,
						 .snat_port_max = HP_SNAT_PORT_MAX,
						 .timeout_tcp_est = HP_TIMEOUT_TCP_EST,
						 .timeout_tcp_close = HP_TIMEOUT_TCP_CLOSE,
						 .timeout_udp = HP_TIMEOUT_UDP,
						 .snat_mode = HP_SNAT_EXTERNAL },
			    BPF_ANY);
	if (hairpin_syn(A_CLIENT, &g, &mid, &out))
		expect_rewrite(&mid, &out, A_PUBLIC, g.sport, A_SERVER, 80);
}
