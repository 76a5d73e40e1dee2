/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The XDP hook adapter: the functions of ctx_tc.h on a frame that has no
 * skb yet. Edits are direct stores with the checksums updated here (XDP has
 * no checksum helpers); what an skb would carry beside the headers (mark,
 * priority, timestamp) does not exist yet and is left alone.
 *
 * XDP sees no offload state either. A TCP/UDP checksum field that holds
 * only the pseudo header's sum is one the sender left for the device to
 * finish (CHECKSUM_PARTIAL, as a veth carries from a local socket); such a
 * packet is left to the TC programs, whose helpers know the difference.
 */
#ifndef HP_BPF_CTX_XDP_H
#define HP_BPF_CTX_XDP_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "csum.h"
#include "hdr_ptr.h"
#include "hairpin.h"

#define hp_ctx xdp_md

/* XDP knows no packet type: "for this host" is the interface's own MAC. */
#define CTX_HOST_BY_MAC 1
/* A frame is sent only to a device the loader found takes XDP frames (HP_IFACE_XDP_TX). */
#define CTX_REDIRECT_XDP_TX 1

/* @len header bytes at @off, or NULL past the frame. */
static __always_inline void *ctx_ptr(const struct xdp_md *ctx, __u32 off, const __u32 len)
{
	return hdr_ptr((void *)(long)ctx->data, (void *)(long)ctx->data_end, off, len);
}

/* A frame is writable as it is. */
static __always_inline void *ctx_wptr(const struct xdp_md *ctx, __u32 off, const __u32 len)
{
	return ctx_ptr(ctx, off, len);
}

#include "ip_edit.h"

static __always_inline __be16 ctx_l3_proto(const struct xdp_md *ctx)
{
	const struct ethhdr *eth = ctx_ptr(ctx, 0, sizeof(*eth));

	return eth ? eth->h_proto : 0;
}

static __always_inline __u32 ctx_len(const struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data;
}

static __always_inline __u32 ctx_ifindex(const struct xdp_md *ctx)
{
	return ctx->ingress_ifindex;
}

static __always_inline __u32 ctx_in_ifindex(const struct xdp_md *ctx)
{
	return ctx->ingress_ifindex;
}

/* A frame is one packet on the wire: XDP runs before GRO. */
static __always_inline __u32 ctx_wire_packets(const struct xdp_md *ctx)
{
	return 1;
}

static __always_inline int ctx_load(struct xdp_md *ctx, __u32 off, void *to, const __u32 len)
{
	void *p = ctx_ptr(ctx, off, len);

	if (!p)
		return -1;
	__builtin_memcpy(to, p, len);
	return 0;
}

static __always_inline int ctx_store(struct xdp_md *ctx, __u32 off, const void *from,
				     const __u32 len)
{
	void *p = ctx_ptr(ctx, off, len);

	if (!p)
		return -1;
	__builtin_memcpy(p, from, len);
	return 0;
}

/*
 * Add @d_pseudo (pseudo-header changes) and @d_data (changes to the
 * segment's own bytes), csum_diff4/2() sums or bpf_csum_diff()'s, to the
 * checksum at @csum_off (@udp: a UDP checksum). Every field here holds a
 * full sum (ctx_l4_csum_full()), so both are applied alike.
 */
static __always_inline int ctx_l4_csum_add(struct xdp_md *ctx, __u32 csum_off, __u32 d_pseudo,
					   __u32 d_data, int udp)
{
	__sum16 *check = ctx_ptr(ctx, csum_off, sizeof(*check));

	if (!check)
		return -1;
	csum_field_add(check, d_pseudo + d_data, udp);
	return 0;
}

/* No skb, no mark: the XDP program takes only the fast path, which netfilter never sees. */
static __always_inline void ctx_set_mark(struct xdp_md *ctx, __u32 mark, __u32 mask)
{
}

/* The XDP program runs on Ethernet devices only. */
static __always_inline int ctx_l3_at_0(const struct xdp_md *ctx)
{
	return 0;
}

/* Addressed to @mac, the interface's own. */
static __always_inline int ctx_dst_mac_is(const struct xdp_md *ctx, const __u8 *mac)
{
	const struct ethhdr *eth = ctx_ptr(ctx, 0, sizeof(*eth));
	__u32 a4, b4;
	__u16 a2, b2;

	if (!eth)
		return 0;
	__builtin_memcpy(&a4, eth->h_dest, 4);
	__builtin_memcpy(&a2, eth->h_dest + 4, 2);
	__builtin_memcpy(&b4, mac, 4);
	__builtin_memcpy(&b2, mac + 4, 2);
	return a4 == b4 && a2 == b2;
}

/*
 * Does the checksum at @csum_off cover the whole segment? Not when it holds
 * the pseudo header's sum alone: the device was to finish it.
 */
static __always_inline int ctx_l4_csum_full(const struct xdp_md *ctx, __u32 csum_off, __be32 saddr,
					    __be32 daddr, __u8 proto, __u16 l4_len)
{
	const __sum16 *check = ctx_ptr(ctx, csum_off, sizeof(*check));
	__u64 pseudo;

	if (!check)
		return 0;
	pseudo = csum_words(saddr) + csum_words(daddr) + bpf_htons(proto) + bpf_htons(l4_len);
	return *check != (__sum16)csum_fold64(pseudo);
}

static __always_inline __u32 ctx_segment_len(const struct xdp_md *ctx, __u32 hdr_len, __u32 tot_len)
{
	return tot_len;
}

/* A frame is one packet. */
static __always_inline int ctx_is_gso(const struct xdp_md *ctx)
{
	return 0;
}

static __always_inline long ctx_fib_lookup(struct xdp_md *ctx, struct bpf_fib_lookup *fib)
{
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/* Nothing beside the headers exists to be made to look forwarded. */
static __always_inline void ctx_as_forwarded(struct xdp_md *ctx, __u8 tos)
{
}

/* Cut @n bytes off the frame's end: what follows the IP packet (a short frame's padding). */
static __always_inline int ctx_trim(struct xdp_md *ctx, __u32 n)
{
	return bpf_xdp_adjust_tail(ctx, -(int)n);
}

/* The Ethernet header of the next hop. */
static __always_inline int ctx_set_l2(struct xdp_md *ctx, __u32 l3_off, const __u8 *dmac,
				      const __u8 *smac)
{
	struct ethhdr *eth = ctx_ptr(ctx, 0, sizeof(*eth));

	if (!eth || !l3_off)
		return -1;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	return 0;
}

#endif /* HP_BPF_CTX_XDP_H */
