// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The TC programs: the NAT core on a router's ingress and egress hooks. */
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
	return TC_ACT_OK;
}

SEC("tc")
int hp_ingress(struct __sk_buff *skb)
{
	struct nat_ctx nc;

	if (nat_init(&nc, skb, HP_DIR_INGRESS))
		return TC_ACT_OK;
	return tc_verdict(&nc, nat_ingress(&nc));
}

SEC("tc")
int hp_egress(struct __sk_buff *skb)
{
	struct nat_ctx nc;

	if (ctx_take_redirected(skb))
		return TC_ACT_OK;
	if (nat_init(&nc, skb, HP_DIR_EGRESS))
		return TC_ACT_OK;
	return tc_verdict(&nc, nat_egress(&nc));
}
