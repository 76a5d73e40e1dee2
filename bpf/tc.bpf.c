// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The TC programs: the NAT core on a router's ingress and egress hooks.
 * What they let through they return as TC_ACT_UNSPEC, tcx's TCX_NEXT: the
 * hook's next program or filter, another tool's, still runs, as if ours
 * were not there (TC_ACT_OK would end the hook's run).
 */
#include "ctx_tc.h"
#include "nat.h"

static __always_inline int tc_verdict(const struct nat_ctx *nc, int verdict)
{
	switch (verdict) {
	case NAT_DROP:
		return TC_ACT_SHOT;
	case NAT_REDIRECT:
		nc->st->fastpath++;
		ctx_mark_redirected(nc->ctx);
		return bpf_redirect(nc->out_ifindex, 0);
	}
	return TC_ACT_UNSPEC;
}

SEC("tc")
int hp_ingress(struct __sk_buff *skb)
{
	struct nat_ctx nc;

	if (nat_init(&nc, skb, HP_DIR_INGRESS))
		return TC_ACT_UNSPEC;
	return tc_verdict(&nc, nat_ingress(&nc));
}

SEC("tc")
int hp_egress(struct __sk_buff *skb)
{
	struct nat_ctx nc;

	if (ctx_take_redirected(skb))
		return TC_ACT_UNSPEC;
	if (nat_init(&nc, skb, HP_DIR_EGRESS))
		return TC_ACT_UNSPEC;
	return tc_verdict(&nc, nat_egress(&nc));
}
