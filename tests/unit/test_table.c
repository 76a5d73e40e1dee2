// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The connection table under pressure: a full table makes room by early
 * drop of connections not assured and by removing dead ones, never by
 * evicting assured ones; a removed entry's partners are never rewritten for
 * another connection, and a new connection may not take a live one's reply
 * tuple.
 */
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "hp.h"
#include "test_progs.h"

static struct flow syn(__u32 client, __u16 cport, __u16 pub_port, __u8 flags)
{
	return (struct flow){ .saddr = client,
			      .sport = cport,
			      .daddr = A_PUBLIC,
			      .dport = pub_port,
			      .proto = IPPROTO_TCP,
			      .tcp_flags = flags };
}

/* The reply to connection @client:@cport, as the server sends it, through egress. */
static bool reply_undnat_to(__u32 client, __u16 cport, __u16 want_pub_port)
{
	struct flow r = { .saddr = A_SERVER,
			  .sport = 80,
			  .daddr = client,
			  .dport = cport,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_ACK };
	struct pkt in, out;

	pkt_build(&in, &r);
	return ASSERT_EQ(run_egress(&in, &out), TC_ACT_UNSPEC, "reply verdict") &&
	       expect_rewrite(&in, &out, A_PUBLIC, want_pub_port, client, cport);
}

/*
 * One WAN client port, two public ports on the same server port: the
 * second connection would share the first's reply tuple. It is refused
 * while the first lives; the first's replies keep their public port.
 */
void test_conn_clash_keeps_live_partner(void)
{
	struct flow f = syn(A_WAN, 40000, 8080, TH_SYN);
	struct pkt in, out;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8081, A_SERVER, 80);
	pkt_build(&in, &f);
	if (!ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "first connection"))
		return;
	f = syn(A_WAN, 40000, 8081, TH_SYN);
	pkt_build(&in, &f);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_SHOT, "second connection, same reply tuple");
	ASSERT_EQ(read_stats().conn_clash, 1, "conn_clash");
	if (!reply_undnat_to(A_WAN, 40000, 8080))
		return;

	/* Once the first closes, the tuple is free for the second. */
	f = syn(A_WAN, 40000, 8080, TH_FIN | TH_ACK);
	pkt_build(&in, &f);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "first connection's FIN");
	f = syn(A_WAN, 40000, 8081, TH_SYN);
	pkt_build(&in, &f);
	if (ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "second connection after the close"))
		reply_undnat_to(A_WAN, 40000, 8081);
}

static int conns_fd(void)
{
	return bpf_map__fd(skel->maps.hp_conns);
}

/* A hairpinned packet of @client:@cport through ingress and egress: its SNAT port. */
static __u16 hairpin_snat_port(__u32 client, __u16 cport, __u8 flags)
{
	struct flow f = syn(client, cport, 8080, flags), g;
	struct pkt in, mid, out;

	pkt_build(&in, &f);
	if (!ASSERT_EQ(run_ingress(&in, &mid), TC_ACT_UNSPEC, "DNAT") ||
	    !ASSERT_EQ(run_egress(&mid, &out), TC_ACT_UNSPEC, "SNAT") ||
	    !ASSERT_TRUE(pkt_parse(&out, &g), "parse"))
		return 0;
	return g.sport;
}

/*
 * A hairpinned connection loses its ORIG entry (what a full LRU table does
 * to the least recently used). Its next packet re-creates the state with
 * the SNAT port the server already knows, even where a fresh choice would
 * now pick another one.
 */
void test_evicted_entry_keeps_snat_port(void)
{
	struct hp_config cfg = HP_CONFIG_DEFAULT;
	struct hp_conn_key k = { .saddr = htonl(A_CLIENT2),
				 .daddr = htonl(A_PUBLIC),
				 .sport = htons(61500),
				 .dport = htons(8080),
				 .proto = IPPROTO_TCP,
				 .dir = HP_DIR_INGRESS };
	struct flow g;
	struct pkt in, out;
	__u32 zero = 0;
	__u16 port;

	reset_tables(HP_ROLE_LAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	/* Client 1 keeps its port 61500; client 2, same port, gets the next one. */
	if (!ASSERT_EQ(hairpin_snat_port(A_CLIENT, 61500, TH_SYN), 61500, "client 1") ||
	    !ASSERT_EQ(port = hairpin_snat_port(A_CLIENT2, 61500, TH_SYN), 61501, "client 2"))
		return;
	/* Client 1 resets; with timeouts of 0 every entry is soon stale and 61500 free. */
	cfg.timeout_tcp_est = 0;
	cfg.timeout_tcp_close = 0;
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);
	hairpin_snat_port(A_CLIENT, 61500, TH_RST | TH_ACK);
	usleep(20000);
	if (!ASSERT_OK(bpf_map_delete_elem(conns_fd(), &k), "evict client 2's ORIG entry"))
		return;
	ASSERT_EQ(hairpin_snat_port(A_CLIENT2, 61500, TH_ACK), port, "client 2 after eviction");
	/* The server's answer still finds its way back. */
	g = (struct flow){ .saddr = A_SERVER,
			   .sport = 80,
			   .daddr = A_ROUTER,
			   .dport = port,
			   .proto = IPPROTO_TCP,
			   .tcp_flags = TH_ACK };
	pkt_build(&in, &g);
	ASSERT_EQ(run_ingress(&in, &out), TC_ACT_UNSPEC, "un-SNAT");
	expect_rewrite(&in, &out, A_SERVER, 80, A_CLIENT2, 61500);
}

/* Is every entry of the table stored under the key its own kind implies? */
static bool entries_consistent(int fd)
{
	struct hp_conn_key k, next, want, *prev = NULL;
	struct hp_conn c;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &c))
			continue;
		memset(&want, 0, sizeof(want));
		want.proto = c.proto;
		switch (c.kind) {
		case HP_CONN_ORIG:
			want.saddr = c.client_addr;
			want.sport = c.client_port;
			want.daddr = c.public_addr;
			want.dport = c.public_port;
			want.dir = HP_DIR_INGRESS;
			break;
		case HP_CONN_REPLY_DNAT:
			want.saddr = c.server_addr;
			want.sport = c.server_port;
			want.daddr = c.client_addr;
			want.dport = c.client_port;
			want.dir = HP_DIR_EGRESS;
			break;
		case HP_CONN_FWD_SNAT:
			if (!ASSERT_TRUE(c.flags & HP_CONN_NO_SNAT,
					 "a WAN connection's is not SNATed"))
				return false;
			want.saddr = c.client_addr;
			want.sport = c.client_port;
			want.daddr = c.server_addr;
			want.dport = c.server_port;
			want.dir = HP_DIR_EGRESS;
			break;
		default:
			return ASSERT_TRUE(false, "only WAN connections here");
		}
		if (!ASSERT_TRUE(!memcmp(&k, &want, sizeof(k)), "entry under its own key"))
			return false;
	}
	return true;
}

#define SMALL_TABLE 64 /* entries: 21 connections of three */
#define FLOOD 100      /* connections that never complete their handshake */
#define PROVEN 5

/*
 * An instance sharing every table with the main one but a small conns (and
 * its queue, sized alike), on fresh tables with one TCP mapping (public
 * 8080 to the server's 80); the tests run on it with skel pointing at it.
 */
static struct hairpin *small_open(void)
{
	struct hairpin *small;

	reset_tables(HP_ROLE_WAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	small = hairpin__open();

	if (!ASSERT_TRUE(small != NULL, "open"))
		return NULL;
	small->rodata->hp_ip_summed_byte = skel->rodata->hp_ip_summed_byte;
	small->rodata->hp_ip_summed_shift = skel->rodata->hp_ip_summed_shift;
	if (!ASSERT_OK(bpf_map__set_max_entries(small->maps.hp_conns, SMALL_TABLE), "resize") ||
	    !ASSERT_OK(bpf_map__set_max_entries(small->maps.hp_conn_queue, SMALL_TABLE),
		       "resize queue") ||
	    !ASSERT_OK(bpf_map__set_max_entries(small->maps.hp_conn_assured, SMALL_TABLE),
		       "resize assured queue") ||
	    !ASSERT_OK(
		    bpf_map__reuse_fd(small->maps.hp_mappings, bpf_map__fd(skel->maps.hp_mappings)),
		    "mappings") ||
	    !ASSERT_OK(bpf_map__reuse_fd(small->maps.hp_ifaces, bpf_map__fd(skel->maps.hp_ifaces)),
		       "ifaces") ||
	    !ASSERT_OK(bpf_map__reuse_fd(small->maps.hp_config, bpf_map__fd(skel->maps.hp_config)),
		       "config") ||
	    !ASSERT_OK(bpf_map__reuse_fd(small->maps.hp_stats, bpf_map__fd(skel->maps.hp_stats)),
		       "stats") ||
	    !ASSERT_OK(hp_load_skeleton(small->skeleton), "load")) {
		hairpin__destroy(small);
		return NULL;
	}
	return small;
}

/* A packet of @f through a hook: @want_verdict, and DNATed to the server at ingress. */
static bool pass(const struct flow *f, bool ingress, int want_verdict, const char *what)
{
	struct pkt in, out;

	pkt_build(&in, f);
	if (!ASSERT_EQ(ingress ? run_ingress(&in, &out) : run_egress(&in, &out), want_verdict,
		       what))
		return false;
	return !ingress || want_verdict != TC_ACT_UNSPEC ||
	       expect_rewrite(&in, &out, f->saddr, f->sport, A_SERVER, 80);
}

/* WAN client @client:@cport's connection to port 8080 through its handshake: assured. */
static bool handshake(__u32 client, __u16 cport)
{
	struct flow f = syn(client, cport, 8080, TH_SYN);
	struct flow r = { .saddr = A_SERVER,
			  .sport = 80,
			  .daddr = client,
			  .dport = cport,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_SYN | TH_ACK };

	if (!pass(&f, true, TC_ACT_UNSPEC, "SYN") || !pass(&r, false, TC_ACT_UNSPEC, "SYN-ACK"))
		return false;
	f.tcp_flags = TH_ACK;
	f.tcp_ack = PKT_SEQ + 1;
	return pass(&f, true, TC_ACT_UNSPEC, "ACK");
}

/* Does @client:@cport's connection still work both ways, its entries all there? */
static bool still_works(__u32 client, __u16 cport)
{
	struct flow f = syn(client, cport, 8080, TH_ACK);

	return pass(&f, true, TC_ACT_UNSPEC, "established client packet") &&
	       reply_undnat_to(client, cport, 8080);
}

static void check_counts(void)
{
	struct hp_stats st = read_stats();
	__u64 live, evicted;

	stats_conns(&st, conns_fd(), &live, &evicted);
	ASSERT_TRUE(live <= SMALL_TABLE, "the table holds no more than its size");
	ASSERT_EQ(evicted, 0, "every entry that left was counted: inserts - deletes = live");
	entries_consistent(conns_fd());
}

/*
 * A table of 64 entries, 5 assured connections, then 100 that never get
 * past their SYN: each newcomer gets in by early drop of a connection not
 * assured, the assured ones keep working, and nothing is evicted.
 */
void test_flood_spares_assured_connections(void)
{
	struct hairpin *saved = skel, *small;
	struct hp_stats st;
	int i;

	small = small_open();
	if (!small)
		return;
	skel = small;
	for (i = 0; i < PROVEN; i++)
		if (!handshake(A_WAN, 30000 + i))
			goto out;
	for (i = 0; i < FLOOD; i++) {
		struct flow f = syn(A_OTHER + i, 20000 + i, 8080, TH_SYN);

		if (!pass(&f, true, TC_ACT_UNSPEC, "a new connection during the flood"))
			goto out;
	}
	st = read_stats();
	ASSERT_EQ(st.conn_table_full, 0, "no newcomer refused");
	ASSERT_EQ(st.conn_early_drop, PROVEN + FLOOD - SMALL_TABLE / 3, "early drops");
	ASSERT_EQ(st.conn_deletes, 3 * st.conn_early_drop, "entries of the dropped connections");
	check_counts();
	for (i = 0; i < PROVEN; i++)
		if (!still_works(A_WAN, 30000 + i))
			goto out;
	/* The newest connection of the flood is there too, and can still complete. */
	handshake(A_OTHER + FLOOD - 1, 20000 + FLOOD - 1);
out:
	skel = saved;
	hairpin__destroy(small);
}

/*
 * A table full of assured connections refuses a newcomer and counts it. A
 * closing connection may go (netfilter's early drop takes those too), and
 * so may dead ones: each makes room for one.
 */
void test_full_table_of_assured_refuses(void)
{
	struct hp_config cfg = HP_CONFIG_DEFAULT;
	struct hairpin *saved = skel, *small;
	struct flow f;
	__u32 zero = 0;
	int i, n = SMALL_TABLE / 3;

	small = small_open();
	if (!small)
		return;
	skel = small;
	for (i = 0; i < n; i++)
		if (!handshake(A_WAN, 30000 + i))
			goto out;
	f = syn(A_OTHER, 20000, 8080, TH_SYN);
	if (!pass(&f, true, TC_ACT_SHOT, "a newcomer to a table of assured connections") ||
	    !ASSERT_EQ(read_stats().conn_table_full, 1, "conn_table_full") ||
	    !ASSERT_EQ(read_stats().conn_early_drop, 0, "nothing dropped"))
		goto out;
	for (i = 0; i < n; i++)
		if (!still_works(A_WAN, 30000 + i))
			goto out;

	/* One closes: its room goes to the next newcomer. */
	f = syn(A_WAN, 30000, 8080, TH_FIN | TH_ACK);
	if (!pass(&f, true, TC_ACT_UNSPEC, "FIN"))
		goto out;
	f = syn(A_OTHER, 20000, 8080, TH_SYN);
	if (!pass(&f, true, TC_ACT_UNSPEC, "a newcomer after a close") ||
	    !ASSERT_EQ(read_stats().conn_early_drop, 1, "the closing one dropped"))
		goto out;
	for (i = 1; i < n; i++)
		if (!still_works(A_WAN, 30000 + i))
			goto out;

	/* All gone quiet past their timeout: dead, their entries make room one by one. */
	cfg.timeout_tcp_est = 0;
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);
	conns_idle(1000000000ULL); /* a second later */
	f = syn(A_OTHER, 20001, 8080, TH_SYN);
	if (pass(&f, true, TC_ACT_UNSPEC, "a newcomer to a table of dead connections"))
		ASSERT_TRUE(read_stats().conn_deletes >= 3 + 3, "dead entries deleted");
	check_counts();
out:
	skel = saved;
	hairpin__destroy(small);
}
