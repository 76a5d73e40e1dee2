/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The TC hook adapter: what the NAT core may do to a packet, on an skb.
 * Another hook provides the same functions on its own context; the core
 * never touches a hook's types or verdicts directly.
 */
#ifndef HP_BPF_CTX_TC_H
#define HP_BPF_CTX_TC_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "csum.h"
#include "hdr_ptr.h"

#define hp_ctx __sk_buff

static __always_inline __be16 ctx_l3_proto(const struct __sk_buff *skb)
{
	return skb->protocol;
}

static __always_inline __u32 ctx_len(const struct __sk_buff *skb)
{
	return skb->len;
}

/* The interface the packet arrived on (ingress) or leaves by (egress). */
static __always_inline __u32 ctx_ifindex(const struct __sk_buff *skb)
{
	return skb->ifindex;
}

/* The interface the packet came in on (at egress: 0 for the router's own). */
static __always_inline __u32 ctx_in_ifindex(const struct __sk_buff *skb)
{
	return skb->ingress_ifindex;
}

/* How many packets this one is on the wire: a GSO packet is several. */
static __always_inline __u32 ctx_wire_packets(const struct __sk_buff *skb)
{
	return skb->gso_segs ?: 1;
}

/* @len header bytes at @off in the skb's linear data, or NULL when they are not there. */
static __always_inline void *ctx_ptr(const struct __sk_buff *skb, __u32 off, const __u32 len)
{
	return hdr_ptr((void *)(long)skb->data, (void *)(long)skb->data_end, off, len);
}

/*
 * The same to write through: headers a driver left in page fragments are
 * pulled into the linear data first (as the stack would pull them), which
 * happens only to a packet being translated. Writing directly is far
 * cheaper than a store helper per field; the verifier unclones a cloned skb
 * once, at the program's start.
 */
static __always_inline void *ctx_wptr(struct __sk_buff *skb, __u32 off, const __u32 len)
{
	void *p = ctx_ptr(skb, off, len);

	if (p || off > 0xff || bpf_skb_pull_data(skb, off + len))
		return p;
	return ctx_ptr(skb, off, len);
}

#include "ip_edit.h"

static __always_inline int ctx_load(struct __sk_buff *skb, __u32 off, void *to, const __u32 len)
{
	void *p = ctx_ptr(skb, off, len);

	if (p) {
		__builtin_memcpy(to, p, len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

static __always_inline int ctx_store(struct __sk_buff *skb, __u32 off, const void *from,
				     const __u32 len)
{
	void *p = ctx_wptr(skb, off, len);

	if (!p)
		return -1;
	__builtin_memcpy(p, from, len);
	return 0;
}

/*
 * Where struct sk_buff keeps its checksum state (ip_summed, two bits), which
 * struct __sk_buff does not show: the byte's offset and the shift to its
 * bits, set by the loader before the load from the kernel's BTF
 * (user/skb_csum.c). 0 when unknown (no BTF, or a kernel that does not let
 * a TC program call bpf_probe_read_kernel()): the verifier then removes the
 * call as dead code.
 */
const volatile __u32 hp_ip_summed_byte;
const volatile __u32 hp_ip_summed_shift;

#define HP_CHECKSUM_NONE 0
#define HP_CHECKSUM_UNNECESSARY 1

/* The skb's ip_summed (CHECKSUM_*), or -1 when it cannot be read. */
static __always_inline int ctx_ip_summed(struct __sk_buff *skb)
{
	__u8 b;

	if (!hp_ip_summed_byte || bpf_probe_read_kernel(&b, 1, (void *)skb + hp_ip_summed_byte))
		return -1;
	return (b >> hp_ip_summed_shift) & 3;
}

/*
 * Add @d_pseudo (pseudo-header changes) and @d_data (changes to the
 * segment's own bytes), csum_diff4/2() sums or bpf_csum_diff()'s, to the
 * checksum at @csum_off (@udp: a UDP checksum).
 *
 * How depends on the skb's checksum state. A field of a packet whose
 * checksum nobody checked yet (CHECKSUM_NONE) or the device verified
 * (CHECKSUM_UNNECESSARY) holds the full sum and nothing else follows it: it
 * is edited by hand, at once. Otherwise, or when the state is unknown,
 * through the helper, which sees the state: a field that holds the pseudo
 * header's sum alone (CHECKSUM_PARTIAL) takes pseudo-header changes only,
 * and a CHECKSUM_COMPLETE skb's csum must follow them. The helper costs
 * more than its call: it makes the skb writable and invalidates every
 * packet pointer the program holds.
 */
static __always_inline int ctx_l4_csum_add(struct __sk_buff *skb, __u32 csum_off, __u32 d_pseudo,
					   __u32 d_data, int udp)
{
	__u64 mangled_0 = udp ? BPF_F_MARK_MANGLED_0 : 0;
	int state = ctx_ip_summed(skb);
	__sum16 *check;

	if (state == HP_CHECKSUM_NONE || state == HP_CHECKSUM_UNNECESSARY) {
		check = ctx_wptr(skb, csum_off, sizeof(*check));
		if (!check)
			return -1;
		csum_field_add(check, d_pseudo + d_data, udp);
		return 0;
	}
	if (d_pseudo &&
	    bpf_l4_csum_replace(skb, csum_off, 0, d_pseudo, mangled_0 | BPF_F_PSEUDO_HDR))
		return -1;
	if (d_data && bpf_l4_csum_replace(skb, csum_off, 0, d_data, mangled_0))
		return -1;
	return 0;
}

static __always_inline void ctx_set_mark(struct __sk_buff *skb, __u32 mark, __u32 mask)
{
	skb->mark = (skb->mark & ~mask) | (mark & mask);
}

/*
 * Does the IPv4 packet start at offset 0, with no link-layer header before
 * it (PPP, tun)? 1 if so, 0 if after an Ethernet header, -1 if the bytes
 * cannot tell and the interface's entry must. The skb's network header says
 * where the IP header is, but is not a field the program can read: its
 * first bytes, read relative to it (a helper call), are compared with those
 * at 0 and 14. Most Ethernet frames need no call: an IPv4 header at 0
 * starts with version 4, and a frame whose first byte (of the destination
 * MAC) does not, and whose EtherType is IPv4's, has its IP header at 14.
 */
static __always_inline int ctx_l3_at_0(struct __sk_buff *skb)
{
	const __u16 *at0 = ctx_ptr(skb, 0, 2), *at14 = ctx_ptr(skb, ETH_HLEN, 2);
	const __be16 *type = ctx_ptr(skb, ETH_ALEN * 2, 2);
	__u16 net;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (at0 && type && *type == bpf_htons(ETH_P_IP) && (*(const __u8 *)at0 & 0xf0) != 0x40)
		return 0;
	if (bpf_skb_load_bytes_relative(skb, 0, &net, sizeof(net), BPF_HDR_START_NET))
		return 0;
	if (at0 && net == *at0 && !(at14 && net == *at14))
		return 1;
	if (at14 && net == *at14 && !(at0 && net == *at0))
		return 0;
	return -1;
}

/* Addressed to this host's MAC: a packet the stack would forward. */
static __always_inline int ctx_for_host(const struct __sk_buff *skb)
{
	return skb->pkt_type == 0; /* PACKET_HOST */
}

/* The checksum helpers know the skb's offload state: any checksum can be edited. */
static __always_inline int ctx_l4_csum_full(const struct __sk_buff *skb, __u32 csum_off,
					    __be32 saddr, __be32 daddr, __u8 proto, __u16 l4_len)
{
	return 1;
}

/* The size of the IP packets this one is on the wire: a GSO packet's segments. */
static __always_inline __u32 ctx_segment_len(const struct __sk_buff *skb, __u32 hdr_len,
					     __u32 tot_len)
{
	return skb->gso_size ? hdr_len + skb->gso_size : tot_len;
}

/*
 * A GSO packet: bpf_fib_lookup() judges it by its segments against the
 * device's MTU, and its mtu_result is the device's, not the route's.
 */
static __always_inline int ctx_is_gso(const struct __sk_buff *skb)
{
	return skb->gso_size != 0;
}

static __always_inline long ctx_fib_lookup(struct __sk_buff *skb, struct bpf_fib_lookup *fib)
{
	return bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
}

/*
 * What forwarding by the stack does to an skb beside the headers: no receive
 * timestamp (ip_forward_finish(); fq would take it for a departure time) and
 * the priority from the TOS (ip_forward(), rt_tos2priority()), which egress
 * qdiscs such as prio classify by.
 */
static __always_inline void ctx_as_forwarded(struct __sk_buff *skb, __u8 tos)
{
	/*
	 * TOS bits 4-3 of 0, 1, 2, 3 give TC_PRIO_BESTEFFORT (0), _BULK (2),
	 * _INTERACTIVE (6), _INTERACTIVE_BULK (4).
	 */
	__u32 i = (tos >> 3) & 3;

	skb->tstamp = 0;
	skb->priority = (i ^ (i >> 1)) * 2;
}

/*
 * A packet the ingress program sent out by redirect is whole already: the
 * egress program must not look at it again. The mark is two words of the
 * skb's control block (qdisc_skb_cb's data, which no layer touches between
 * a TC ingress redirect and the egress device's TC hook) and is taken off
 * where it is read. A packet of the stack path carries whatever the layers
 * before left there, never both words.
 */
#define HP_CB_REDIRECTED0 0x68707270 /* "hprp" */
#define HP_CB_REDIRECTED1 0x66617374 /* "fast" */

static __always_inline void ctx_mark_redirected(struct __sk_buff *skb)
{
	skb->cb[0] = HP_CB_REDIRECTED0;
	skb->cb[1] = HP_CB_REDIRECTED1;
}

static __always_inline int ctx_take_redirected(struct __sk_buff *skb)
{
	if (skb->cb[0] != HP_CB_REDIRECTED0 || skb->cb[1] != HP_CB_REDIRECTED1)
		return 0;
	skb->cb[0] = 0;
	skb->cb[1] = 0;
	return 1;
}

/*
 * Cut @n bytes off the packet's end: what follows the IP packet (a short
 * frame's padding), as ip_rcv() trims it. A GSO packet is never padded.
 */
static __always_inline int ctx_trim(struct __sk_buff *skb, __u32 n)
{
	return skb->gso_size ? -1 : bpf_skb_change_tail(skb, skb->len - n, 0);
}

/*
 * The Ethernet header of the next hop, on a packet whose IP header is at
 * @l3_off. One that came in without a link-layer header (PPP, tun) gets room
 * for it first: bpf_skb_change_head() is there for an L3 skb redirected to an
 * L2 device. It invalidates every packet pointer: the last edit of a packet.
 */
static __always_inline int ctx_set_l2(struct __sk_buff *skb, __u32 l3_off, const __u8 *dmac,
				      const __u8 *smac)
{
	struct ethhdr *eth;

	if (!l3_off && bpf_skb_change_head(skb, ETH_HLEN, 0))
		return -1;
	eth = ctx_wptr(skb, 0, sizeof(*eth));
	if (!eth)
		return -1;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	return 0;
}

#endif /* HP_BPF_CTX_TC_H */
