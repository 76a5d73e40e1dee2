// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-packet cost of each datapath path, from BPF_PROG_TEST_RUN with repeat,
 * beside an empty TC program measured in the same run.
 *
 * A repeated test run feeds the same skb to the program again, already
 * rewritten. So every path is set up with a mirror entry that translates the
 * rewritten packet back: the program flips the packet between two states of
 * an established connection, and every iteration does a real lookup and
 * rewrite with checksum updates. These paths run with the fast path off:
 * they are the stack path's costs.
 *
 * The fast path is measured the same way, flipping a port-forwarded packet
 * between two connections that each take the fast path, through real FIB
 * lookups on veth devices with static neighbours in this run's namespace.
 * It decrements the TTL, so it runs in batches that start at TTL 255. Two
 * instances alternate, one with 1000 and one with 200000 live connections
 * in its table, to show that the cost does not grow with the table. The
 * XDP program runs the same fast path on each instance's tables, beside an
 * empty XDP program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hp.h"
#include "hairpin.skel.h"
#include "hairpin_xdp.skel.h"
#include "pkt.h"

#define REPEAT 1000000
#define ROUNDS 7
#define FAST_BATCH 250 /* fast path runs per test run: TTL 255 down to 5 */
#define FAST_RUNS (REPEAT / FAST_BATCH)
#define FAST_SMALL 1000
#define FAST_BIG 200000
#define CONNS_MAX 262144

#define C_ADDR 0xc000020a /* 192.0.2.10 */
#define S_ADDR 0xc0000214 /* 192.0.2.20 */
#define R_ADDR 0xc0000201 /* 192.0.2.1 */
#define P_ADDR 0xcb007101 /* 203.0.113.1 */
#define W_ADDR 0xc6336402 /* 198.51.100.2 */

static struct hairpin *skel;

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct endpoint {
	__u32 addr;
	__u16 port;
};

static const struct endpoint C = { C_ADDR, 50000 }, S = { S_ADDR, 80 }, R = { R_ADDR, 61000 },
			     P = { P_ADDR, 8080 }, W = { W_ADDR, 40000 };

/*
 * A conn entry seen at @dir for @src -> @dst, of @kind, whose rewrite target
 * is @to; of an established connection, assured.
 */
static void put_conn(__u8 dir, struct endpoint src, struct endpoint dst, __u8 kind,
		     struct endpoint to)
{
	struct hp_conn_key k = { .saddr = htonl(src.addr),
				 .daddr = htonl(dst.addr),
				 .sport = htons(src.port),
				 .dport = htons(dst.port),
				 .proto = IPPROTO_TCP,
				 .dir = dir };
	struct hp_conn c = { .public_addr = htonl(P.addr),
			     .public_port = htons(P.port),
			     .proto = IPPROTO_TCP,
			     .kind = kind,
			     .flags = HP_CONN_ASSURED,
			     .last_ns = now_ns() };
	__be32 a = htonl(to.addr);
	__be16 p = htons(to.port);

	switch (kind) {
	case HP_CONN_ORIG:
		c.server_addr = a, c.server_port = p;
		break;
	case HP_CONN_FWD_SNAT:
		c.snat_addr = a, c.snat_port = p;
		break;
	case HP_CONN_REPLY_SNAT:
		c.client_addr = a, c.client_port = p;
		break;
	case HP_CONN_REPLY_DNAT:
		c.public_addr = a, c.public_port = p;
		break;
	}
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_conns), &k, &c, BPF_ANY);
}

/* Slot @slot of @h's map_counters counts for TCP port @pub, as map add makes it. */
static void own_counters(struct hairpin *h, __u32 slot, struct endpoint pub)
{
	int ncpu = libbpf_num_possible_cpus(), cpu;
	struct hp_map_counters *per = calloc(ncpu > 0 ? ncpu : 1, sizeof(*per));

	for (cpu = 0; per && cpu < ncpu; cpu++)
		per[cpu].port = (struct hp_map_key){ .addr = htonl(pub.addr),
						     .port = htons(pub.port),
						     .proto = IPPROTO_TCP };
	if (per)
		bpf_map_update_elem(bpf_map__fd(h->maps.hp_map_counters), &slot, per, BPF_ANY);
	free(per);
}

/*
 * A port-forward connection W -> @pub mapped to @srv, both directions taking
 * the fast path: its ORIG entry, assured, and its forwarded, unNATed egress
 * entry, whose packets came in on @in_if; they count in counters slot @slot.
 */
static void put_fast_conn(struct hairpin *h, struct endpoint pub, struct endpoint srv, __u32 slot,
			  unsigned int in_if)
{
	struct hp_conn c = { .client_addr = htonl(W.addr),
			     .client_port = htons(W.port),
			     .public_addr = htonl(pub.addr),
			     .public_port = htons(pub.port),
			     .server_addr = htonl(srv.addr),
			     .server_port = htons(srv.port),
			     .proto = IPPROTO_TCP,
			     .last_ns = now_ns(),
			     .counters = slot,
			     .in_ifindex = in_if };
	struct hp_conn_key k = { .saddr = htonl(W.addr),
				 .sport = htons(W.port),
				 .daddr = htonl(pub.addr),
				 .dport = htons(pub.port),
				 .proto = IPPROTO_TCP,
				 .dir = HP_DIR_INGRESS };
	int fd = bpf_map__fd(h->maps.hp_conns);

	c.kind = HP_CONN_ORIG;
	c.flags = HP_CONN_ASSURED;
	bpf_map_update_elem(fd, &k, &c, BPF_ANY);
	k.daddr = c.server_addr;
	k.dport = c.server_port;
	k.dir = HP_DIR_EGRESS;
	c.kind = HP_CONN_FWD_SNAT;
	c.flags = HP_CONN_NO_SNAT | HP_CONN_FORWARDED;
	bpf_map_update_elem(fd, &k, &c, BPF_ANY);
}

/* Fill @h's conns table up to @n entries with connections of other clients. */
static void fill_conns(struct hairpin *h, unsigned int n)
{
	int fd = bpf_map__fd(h->maps.hp_conns);
	struct hp_conn c = { .proto = IPPROTO_UDP, .kind = HP_CONN_ORIG, .last_ns = now_ns() };
	struct hp_conn_key k = { .daddr = htonl(P_ADDR), .proto = IPPROTO_UDP };
	unsigned int i;

	for (i = 0; i < n; i++) {
		k.saddr = htonl(0xc6120000 + i / 60000); /* 198.18.0.0/15, for benchmarks */
		k.sport = htons(1024 + i % 60000);
		k.dport = htons(5353);
		bpf_map_update_elem(fd, &k, &c, BPF_ANY);
	}
}

static int sh(const char *cmd)
{
	int err = system(cmd);

	if (err)
		fprintf(stderr, "bench: '%s' failed\n", cmd);
	return err;
}

/*
 * The namespace's devices: the fast path's FIB lookups need real routes and
 * neighbours. "pa" (the MAC pkt_build() sends to) leads to the public side,
 * "pb" to the server. Both neighbours have pa's MAC too: a repeated run
 * feeds the program the frame as it sent it, and XDP takes only frames
 * addressed to the interface.
 */
static int fast_net(unsigned int *ifindex)
{
	if (sh("ip link add pa address 02:00:00:00:00:01 type veth peer name pa1") ||
	    sh("ip link add pb type veth peer name pb1") ||
	    sh("for d in pa pa1 pb pb1; do ip link set $d up || exit 1; done") ||
	    sh("ip addr add 203.0.113.254/24 dev pa && ip addr add 192.0.2.1/24 dev pb") ||
	    sh("sysctl -qw net.ipv4.ip_forward=1") ||
	    sh("ip neigh replace 203.0.113.1 lladdr 02:00:00:00:00:01 dev pa nud permanent") ||
	    sh("ip neigh replace 192.0.2.20 lladdr 02:00:00:00:00:01 dev pb nud permanent"))
		return -1;
	ifindex[0] = if_nametoindex("pa");
	ifindex[1] = if_nametoindex("pb");
	return ifindex[0] && ifindex[1] ? 0 : -1;
}

/* An instance with the fast path on, @n live connections, and the flip pair. */
static struct hairpin *fast_instance(const unsigned int *ifindex, unsigned int n)
{
	struct hp_config cfg = HP_CONFIG_DEFAULT;
	struct hp_iface ifc = { .role = HP_ROLE_WAN, .flags = HP_IFACE_XDP_TX };
	struct hairpin *h = hairpin__open();
	__u32 zero = 0;
	int i;

	if (!h)
		return NULL;
	skb_csum_state_set(h);
	if (bpf_map__set_max_entries(h->maps.hp_conns, CONNS_MAX) || hairpin__load(h))
		return NULL;
	bpf_map_update_elem(bpf_map__fd(h->maps.hp_config), &zero, &cfg, BPF_ANY);
	/* "pa" has the MAC test frames go to: XDP's "for this host". */
	memcpy(ifc.mac, PKT_DST_MAC, ETH_ALEN);
	for (i = 0; i < 2; i++) {
		bpf_map_update_elem(bpf_map__fd(h->maps.hp_xdp_tx), &ifindex[i], &ifindex[i],
				    BPF_ANY);
		bpf_map_update_elem(bpf_map__fd(h->maps.hp_ifaces), &ifindex[i], &ifc, BPF_ANY);
	}
	fill_conns(h, n - 4);
	/* W > P becomes W > S, whose own entries turn it back into W > P. */
	put_fast_conn(h, P, S, 0, ifindex[0]);
	put_fast_conn(h, S, P, 1, ifindex[0]);
	own_counters(h, 0, P);
	own_counters(h, 1, S);
	return h;
}

/* The XDP program on @h's tables. */
static struct hairpin_xdp *xdp_instance(struct hairpin *h)
{
	struct hairpin_xdp *x = hairpin_xdp__open();
	struct bpf_map *map, *same;

	if (!x)
		return NULL;
	bpf_object__for_each_map(map, x->obj) {
		same = bpf_object__find_map_by_name(h->obj, bpf_map__name(map));
		if (same && bpf_map__reuse_fd(map, bpf_map__fd(same)))
			goto fail;
	}
	if (!hairpin_xdp__load(x))
		return x;
fail:
	hairpin_xdp__destroy(x);
	return NULL;
}

/*
 * Mean ns per fast-path run of @prog_fd (TC ingress, or XDP with @xdp) over
 * FAST_RUNS batches of FAST_BATCH, from TTL 255.
 */
static int run_fast(int prog_fd, bool xdp, const struct pkt *p, unsigned int ifindex, __u32 *ns)
{
	struct __sk_buff ctx = { .ifindex = ifindex };
	struct xdp_md xctx = { .data_end = p->len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = p->len,
		    .ctx_in = xdp ? (void *)&xctx : (void *)&ctx,
		    .ctx_size_in = xdp ? sizeof(xctx) : sizeof(ctx), .repeat = FAST_BATCH);
	__u64 total = 0;
	int i, err;

	for (i = 0; i < FAST_RUNS; i++) {
		err = bpf_prog_test_run_opts(prog_fd, &opts);
		if (err || opts.retval != (xdp ? XDP_REDIRECT : TC_ACT_REDIRECT)) {
			fprintf(stderr, "bench: %s fast path run failed: %s, verdict %u\n", xdp ? "XDP" : "TC",
				strerror(-err), opts.retval);
			return -1;
		}
		total += opts.duration;
	}
	*ns = total / FAST_RUNS;
	return 0;
}

static int run(int prog_fd, bool xdp, const struct pkt *p, __u32 *ns)
{
	struct __sk_buff ctx = { .ifindex = 1 };
	struct xdp_md xctx = { .data_end = p->len, .ingress_ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = p->len,
		    .ctx_in = xdp ? (void *)&xctx : (void *)&ctx,
		    .ctx_size_in = xdp ? sizeof(xctx) : sizeof(ctx), .repeat = REPEAT);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	if (err || opts.retval != (__u32)(xdp ? XDP_PASS : TC_ACT_UNSPEC)) {
		fprintf(stderr, "bench: test run failed: %s, verdict %u\n", strerror(-err),
			opts.retval);
		return -1;
	}
	*ns = opts.duration;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	return *(const __u32 *)a - *(const __u32 *)b;
}

struct path {
	const char *name;
	int prog_fd;
	bool xdp;
	struct pkt pkt;
	__u32 ns[ROUNDS];
};

/* A path through an established connection, and the mirror entry that flips it back. */
struct flip {
	const char *name;
	__u8 dir, kind;
	struct endpoint src, dst, to;
};

static void packet(struct pkt *p, struct endpoint src, struct endpoint dst)
{
	struct flow f = { .saddr = src.addr,
			  .sport = src.port,
			  .daddr = dst.addr,
			  .dport = dst.port,
			  .proto = IPPROTO_TCP,
			  .tcp_flags = TH_ACK,
			  .payload_len = 6 };

	pkt_build(p, &f);
}

int main(void)
{
	static const struct bpf_insn ret_next[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_UNSPEC },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct hp_config cfg = HP_CONFIG_DEFAULT;
	struct hp_iface ifc = { .snat_addr = htonl(R_ADDR), .role = HP_ROLE_LAN };
	const struct flip flips[] = {
		{ "ingress DNAT", HP_DIR_INGRESS, HP_CONN_ORIG, C, P, S },
		{ "egress hairpin SNAT", HP_DIR_EGRESS, HP_CONN_FWD_SNAT, C, S, R },
		{ "ingress un-SNAT", HP_DIR_INGRESS, HP_CONN_REPLY_SNAT, S, R, C },
		{ "egress un-DNAT", HP_DIR_EGRESS, HP_CONN_REPLY_DNAT, S, C, P },
	};
	static const struct bpf_insn ret_pass[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct path paths[7];
	struct hairpin *fast[2];
	struct hairpin_xdp *xdp[2];
	unsigned int fast_n[2] = { FAST_SMALL, FAST_BIG }, ifindex[2];
	__u32 fast_ns[2][ROUNDS], xdp_ns[2][ROUNDS];
	struct pkt fast_pkt;
	struct hp_stats sum;
	__u64 want = (__u64)ROUNDS * REPEAT;
	__u32 zero = 0, one = 1;
	int empty_fd, empty_xdp_fd, i, r, n = 0;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "bench: unshare: %s (run as root)\n", strerror(errno));
		return 1;
	}
	hp_libbpf_setup();
	skel = hairpin__open();
	if (skel) {
		skb_csum_state_set(skel);
		if (hairpin__load(skel)) {
			hairpin__destroy(skel);
			skel = NULL;
		}
	}
	empty_fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "empty", "GPL", ret_next, 2, NULL);
	empty_xdp_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "empty_xdp", "GPL", ret_pass, 2, NULL);
	if (!skel || empty_fd < 0 || empty_xdp_fd < 0) {
		fprintf(stderr, "bench: cannot load programs\n");
		return 1;
	}
	cfg.flags = HP_CFG_NO_FASTPATH;
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_ifaces), &one, &ifc, BPF_ANY);
	own_counters(skel, 0, P);
	if (fast_net(ifindex))
		return 1;
	for (i = 0; i < 2; i++) {
		fast[i] = fast_instance(ifindex, fast_n[i]);
		xdp[i] = fast[i] ? xdp_instance(fast[i]) : NULL;
		if (!xdp[i]) {
			fprintf(stderr, "bench: cannot load the fast path instance\n");
			return 1;
		}
	}
	packet(&fast_pkt, W, P);
	fast_pkt.data[ETH_HLEN + 8] = 255; /* TTL */
	pkt_fix_csums(&fast_pkt);

	paths[n] = (struct path){ .name = "empty TC program", .prog_fd = empty_fd };
	packet(&paths[n++].pkt, C, P);
	paths[n] = (struct path){ .name = "empty XDP program", .prog_fd = empty_xdp_fd, .xdp = true };
	packet(&paths[n++].pkt, C, P);
	paths[n] = (struct path){ .name = "unmatched, passed",
				  .prog_fd = bpf_program__fd(skel->progs.hp_ingress) };
	packet(&paths[n++].pkt, C, (struct endpoint){ S_ADDR, 22 });

	for (i = 0; i < (int)(sizeof(flips) / sizeof(flips[0])); i++) {
		const struct flip *f = &flips[i];

		/* The packet src > dst becomes src > to (dst rewrite) or to > dst, and back. */
		put_conn(f->dir, f->src, f->dst, f->kind, f->to);
		if (f->dir == HP_DIR_INGRESS)
			put_conn(f->dir, f->src, f->to, f->kind, f->dst);
		else
			put_conn(f->dir, f->to, f->dst, f->kind, f->src);
		paths[n] =
			(struct path){ .name = f->name,
				       .prog_fd =
					       f->dir == HP_DIR_INGRESS
						       ? bpf_program__fd(skel->progs.hp_ingress)
						       : bpf_program__fd(skel->progs.hp_egress) };
		packet(&paths[n++].pkt, f->src, f->dst);
	}

	/* Interleave the paths round by round, so that machine noise hits all alike. */
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < n; i++)
			if (run(paths[i].prog_fd, paths[i].xdp, &paths[i].pkt, &paths[i].ns[r]))
				return 1;
		for (i = 0; i < 2; i++)
			if (run_fast(bpf_program__fd(fast[i]->progs.hp_ingress), false, &fast_pkt,
				     ifindex[0], &fast_ns[i][r]) ||
			    run_fast(bpf_program__fd(xdp[i]->progs.hp_xdp), true, &fast_pkt,
				     ifindex[0], &xdp_ns[i][r]))
				return 1;
	}

	printf("per-packet cost, BPF_PROG_TEST_RUN, %d x %d runs, median ns\n", ROUNDS, REPEAT);
	for (i = 0; i < n; i++) {
		qsort(paths[i].ns, ROUNDS, sizeof(__u32), cmp_u32);
		printf("  %-26s %4u ns", paths[i].name, paths[i].ns[ROUNDS / 2]);
		if (i > 1)
			printf("   (+%d ns over empty)",
			       (int)paths[i].ns[ROUNDS / 2] - (int)paths[0].ns[ROUNDS / 2]);
		printf("\n");
	}
	for (i = 0; i < 2; i++) {
		qsort(fast_ns[i], ROUNDS, sizeof(__u32), cmp_u32);
		qsort(xdp_ns[i], ROUNDS, sizeof(__u32), cmp_u32);
		printf("  TC fast path, %6u conns %4u ns   (+%d ns over empty)\n", fast_n[i],
		       fast_ns[i][ROUNDS / 2],
		       (int)fast_ns[i][ROUNDS / 2] - (int)paths[0].ns[ROUNDS / 2]);
		printf("  XDP fast path, %6u conns %3u ns   (+%d ns over empty XDP)\n", fast_n[i],
		       xdp_ns[i][ROUNDS / 2],
		       (int)xdp_ns[i][ROUNDS / 2] - (int)paths[1].ns[ROUNDS / 2]);
	}
	printf("  fast path cost ratio, %u / %u conns: TC %.2f, XDP %.2f\n", FAST_BIG, FAST_SMALL,
	       (double)fast_ns[1][ROUNDS / 2] / fast_ns[0][ROUNDS / 2],
	       (double)xdp_ns[1][ROUNDS / 2] / xdp_ns[0][ROUNDS / 2]);
	printf("  XDP / TC fast path cost, %u conns: %.2f\n", FAST_SMALL,
	       (double)xdp_ns[0][ROUNDS / 2] / fast_ns[0][ROUNDS / 2]);
	/* Every rewrite path must really have rewritten on every run. */
	if (stats_sum(bpf_map__fd(skel->maps.hp_stats), &sum) || sum.dnat < want ||
	    sum.snat < want || sum.unsnat < want || sum.undnat < want) {
		fprintf(stderr, "bench: a path did not rewrite on every run\n");
		return 1;
	}
	for (i = 0; i < 2; i++) {
		if (stats_sum(bpf_map__fd(fast[i]->maps.hp_stats), &sum) || sum.fastpath < want ||
		    sum.xdp_fastpath < want) {
			fprintf(stderr, "bench: the fast path was not taken on every run\n");
			return 1;
		}
		hairpin_xdp__destroy(xdp[i]);
		hairpin__destroy(fast[i]);
	}
	hairpin__destroy(skel);
	return 0;
}
