/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Edits of the IPv4 header, the same on every hook: direct stores through
 * the adapter's ctx_wptr() with the header checksum updated by hand. The
 * header's sum does not change, so neither does a CHECKSUM_COMPLETE skb's
 * csum. Each hook adapter includes this once it has defined hp_ctx and
 * ctx_wptr().
 */
#ifndef HP_BPF_IP_EDIT_H
#define HP_BPF_IP_EDIT_H

#include <stddef.h>
#include <linux/ip.h>

#include "csum.h"

/* Rewrite the IPv4 address at @field of the header at @l3_off, with the header checksum. */
static __always_inline int ctx_set_ip_addr(struct hp_ctx *ctx, __u32 l3_off, __u32 field,
					   __be32 old_addr, __be32 new_addr)
{
	struct iphdr *iph = ctx_wptr(ctx, l3_off, sizeof(*iph));

	if (!iph)
		return -1;
	iph->check = csum_replace4(iph->check, old_addr, new_addr);
	if (field == offsetof(struct iphdr, daddr))
		iph->daddr = new_addr;
	else
		iph->saddr = new_addr;
	return 0;
}

/* Decrement the TTL, @ttl, of the header at @l3_off with its checksum, as forwarding does. */
static __always_inline int ctx_dec_ttl(struct hp_ctx *ctx, __u32 l3_off, __u8 ttl)
{
	struct iphdr *iph = ctx_wptr(ctx, l3_off, sizeof(*iph));

	if (!iph)
		return -1;
	/* The TTL is the high byte of a 16-bit word of the header checksum. */
	iph->check = csum_replace2(iph->check, bpf_htons(ttl << 8), bpf_htons((ttl - 1) << 8));
	iph->ttl = ttl - 1;
	return 0;
}

/*
 * Is the checksum of the option-less IPv4 header at @l3_off right? ip_rcv()
 * drops a packet whose header is not; a path around it must check too.
 */
static __always_inline int ctx_ip_csum_ok(struct hp_ctx *ctx, __u32 l3_off)
{
	const __u32 *w = ctx_wptr(ctx, l3_off, sizeof(struct iphdr));

	return w && csum_fold64((__u64)w[0] + w[1] + w[2] + w[3] + w[4]) == 0xffff;
}

#endif /* HP_BPF_IP_EDIT_H */
