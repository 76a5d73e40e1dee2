/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The NAT core's per-packet state: the packet as parsed, and what every
 * decision needs (config, counters, time, the interface), looked up once.
 * The core returns a hook-neutral verdict; each hook's entry turns it into
 * its own.
 */
#ifndef HP_BPF_STATE_H
#define HP_BPF_STATE_H

#include "maps.h"
#include "parse.h"

#define NSEC_PER_SEC 1000000000ULL

enum nat_verdict {
	NAT_PASS = 0, /* on through the stack, changed or not */
	NAT_DROP,
	NAT_REDIRECT, /* translated whole: out of nat_ctx.out_ifindex */
};

/* Not decided yet: a step that returns it leaves the packet to the next one. */
#define NAT_TRANSLATE (-1)

struct nat_ctx {
	struct hp_ctx *ctx;
	struct hp_config *cfg;
	struct hp_stats *st;
	__u64 now; /* set by the paths that need it: most packets never do */
	__u32 ifindex;
	__u32 out_ifindex; /* NAT_REDIRECT's target */
	struct pkt p;
};

/*
 * Connection times: CLOCK_MONOTONIC at jiffy resolution, plenty for timeouts
 * in seconds and far cheaper per packet than bpf_ktime_get_ns().
 */
static __always_inline __u64 now_ns(void)
{
	return bpf_ktime_get_coarse_ns();
}

/*
 * The interface the packet is on, looked up where needed: most packets never
 * need it, and those that do once or twice (not kept: the programs' stack is
 * short).
 */
static __always_inline struct hp_iface *nat_iface(const struct nat_ctx *nc)
{
	return iface_get(nc->ifindex);
}

/* Returns -1 when the tables are not there (nothing can be done). */
static __always_inline int nat_init(struct nat_ctx *nc, struct hp_ctx *ctx, __u8 dir)
{
	nc->ctx = ctx;
	nc->cfg = config_get();
	nc->st = stats_get();
	if (!nc->cfg || !nc->st)
		return -1;
	nc->ifindex = ctx_ifindex(ctx);
	nc->out_ifindex = 0;
	nc->now = 0;
	nc->p.t.dir = dir;
	switch (ctx_l3_at_0(ctx)) {
	case 0:
		nc->p.l3_off = ETH_HLEN;
		break;
	case 1:
		nc->p.l3_off = 0;
		break;
	default: {
		const struct hp_iface *ifc = nat_iface(nc);

		nc->p.l3_off = ifc && (ifc->flags & HP_IFACE_L3) ? 0 : ETH_HLEN;
	}
	}
	return 0;
}

#endif /* HP_BPF_STATE_H */
