// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The XDP program: the fast path of the NAT core before an skb exists.
 * Only established connections the stack has already forwarded are
 * translated and redirected here; every other frame goes on (XDP_PASS) to
 * the next program in libxdp's chain and then to the TC programs, as if
 * this one were not there.
 */
#include "ctx_xdp.h"
#include "fastpath.h"

#include <xdp/xdp_helpers.h>

/* libxdp's dispatcher: run early, and let what this program passes go on down the chain. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(hp_xdp);

SEC("xdp")
int hp_xdp(struct xdp_md *ctx)
{
	struct nat_ctx nc;

	if (nat_init(&nc, ctx, HP_DIR_INGRESS) || parse(ctx, &nc.p) != PARSE_OK)
		return XDP_PASS;
	switch (nat_fast(&nc, bpf_map_lookup_elem(&hp_conns, &nc.p.t))) {
	case NAT_REDIRECT:
		nc.st->packets++;
		nc.st->xdp_fastpath++;
		return bpf_redirect_map(&hp_xdp_tx, nc.out_ifindex, 0);
	case NAT_DROP:
		return XDP_DROP;
	}
	return XDP_PASS;
}
