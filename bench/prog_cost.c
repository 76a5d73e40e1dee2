// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-packet cost of each datapath path, from BPF_PROG_TEST_RUN with repeat,
 * beside an empty TC program measured in the same run.
 *
 * A repeated test run feeds the same skb to the program again, already
 * rewritten. So every path is set up with a mirror entry that translates the
 * rewritten packet back: the program flips the packet between two states of
 * an established connection, and every iteration does a real lookup and
 * rewrite with checksum updates.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hp.h"
#include "hairpin.skel.h"
#include "pkt.h"

#define REPEAT 1000000
#define ROUNDS 7

#define C_ADDR 0xc000020a /* 192.0.2.10 */
#define S_ADDR 0xc0000214 /* 192.0.2.20 */
#define R_ADDR 0xc0000201 /* 192.0.2.1 */
#define P_ADDR 0xcb007101 /* 203.0.113.1 */

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
			     P = { P_ADDR, 8080 };

/* A conn entry seen at @dir for @src -> @dst, of @kind, whose rewrite target is @to. */
static void put_conn(__u8 dir, struct endpoint src, struct endpoint dst, __u8 kind,
		     struct endpoint to)
{
	struct hp_conn_key k = { .saddr = htonl(src.addr),
				 .daddr = htonl(dst.addr),
				 .sport = htons(src.port),
				 .dport = htons(dst.port),
				 .proto = IPPROTO_TCP,
				 .dir = dir };
	struct hp_conn c = { .proto = IPPROTO_TCP, .kind = kind, .last_ns = now_ns() };
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

static int run(int prog_fd, const struct pkt *p, __u32 *ns)
{
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = p->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = REPEAT);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	if (err || opts.retval != TC_ACT_OK) {
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
	static const struct bpf_insn ret_ok[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_OK },
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
	struct path paths[6];
	struct hp_stats sum;
	__u64 want = (__u64)ROUNDS * REPEAT;
	__u32 zero = 0, one = 1;
	int empty_fd, i, r, n = 0;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "bench: unshare: %s (run as root)\n", strerror(errno));
		return 1;
	}
	skel = hairpin__open_and_load();
	empty_fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "empty", "GPL", ret_ok, 2, NULL);
	if (!skel || empty_fd < 0) {
		fprintf(stderr, "bench: cannot load programs\n");
		return 1;
	}
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_ifaces), &one, &ifc, BPF_ANY);

	paths[n] = (struct path){ .name = "empty TC program", .prog_fd = empty_fd };
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
	for (r = 0; r < ROUNDS; r++)
		for (i = 0; i < n; i++)
			if (run(paths[i].prog_fd, &paths[i].pkt, &paths[i].ns[r]))
				return 1;

	printf("per-packet cost, BPF_PROG_TEST_RUN, %d x %d runs, median ns\n", ROUNDS, REPEAT);
	for (i = 0; i < n; i++) {
		qsort(paths[i].ns, ROUNDS, sizeof(__u32), cmp_u32);
		printf("  %-22s %4u ns", paths[i].name, paths[i].ns[ROUNDS / 2]);
		if (i)
			printf("   (+%d ns over empty)",
			       (int)paths[i].ns[ROUNDS / 2] - (int)paths[0].ns[ROUNDS / 2]);
		printf("\n");
	}
	/* Every rewrite path must really have rewritten on every run. */
	if (stats_sum(bpf_map__fd(skel->maps.hp_stats), &sum) || sum.dnat < want ||
	    sum.snat < want || sum.unsnat < want || sum.undnat < want) {
		fprintf(stderr, "bench: a path did not rewrite on every run\n");
		return 1;
	}
	hairpin__destroy(skel);
	return 0;
}
