/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The fast path: a packet of an established connection, whose direction the
 * stack has already forwarded, gets at ingress the whole translation both
 * hooks would give it, its TTL decremented, its next hop from the FIB, and
 * leaves straight from the egress device's queue (so shapers still see it),
 * skipping routing, netfilter and the neighbour code: the model of
 * nftables' flowtables.
 *
 * "Already forwarded": the egress hook marks an entry HP_CONN_FORWARDED when
 * a packet of its direction leaves the router, which it does only after the
 * kernel routed it and the forward chain accepted it. A connection the
 * forward chain refuses never gets there.
 *
 * What a direction's packets need of its egress entry and of the egress
 * device's, checked on its first fast packet, is kept in the entry they are
 * looked up by (struct hp_conn.fast) and checked again once in each
 * HP_FAST_RECHECK_NS: two hash lookups a packet fewer (nat_fast()).
 *
 * Devices without a link-layer header (PPP, tun) take part: a packet from
 * one gets an Ethernet header pushed in front, one to one leaves without
 * its own (the redirect takes it off), except to PPP (HP_IFACE_PPP).
 *
 * Everything the stack must still see takes the stack path unchanged: the
 * packets of connections not assured yet (assure.h), TCP SYN, FIN and RST
 * (they change the connection's state), IP headers with a bad checksum (the
 * stack drops them), fragments, IP options, TTL 1,
 * packets not addressed to this host's MAC, destinations the FIB does not
 * forward or whose neighbour is unresolved, egress devices that are not
 * hairpin's, and packets larger than the route's MTU (the stack sends
 * "fragmentation needed"; a GSO packet is judged by its segments). What
 * follows the IP packet in its frame (padding) is cut off, as the stack does.
 */
#ifndef HP_BPF_FASTPATH_H
#define HP_BPF_FASTPATH_H

#include "compiler.h"
#include "conn.h"
#include "rewrite.h"

#ifndef AF_INET
#define AF_INET 2
#endif

/* Addressed to this host's MAC: a packet the stack would forward. */
static __always_inline int for_this_host(struct nat_ctx *nc)
{
#ifdef CTX_HOST_BY_MAC
	const struct hp_iface *ifc = nat_iface(nc);

	return ifc && ctx_dst_mac_is(nc->ctx, ifc->mac);
#else
	return ctx_for_host(nc->ctx);
#endif
}

/* Does the egress device take what this hook redirects? Any takes an skb. */
static __always_inline int fast_can_redirect(__u32 ifindex)
{
#ifdef CTX_REDIRECT_XDP_TX
	const struct hp_iface *out = iface_get(ifindex);

	return out && (out->flags & HP_IFACE_XDP_TX);
#else
	return 1;
#endif
}

/* Nothing about the packet itself keeps it off the fast path. */
static __always_inline int fast_packet(const struct nat_ctx *nc)
{
	const struct pkt *p = &nc->p;

	return !p->ip_options && !p->first_frag && p->ttl > 1 &&
	       !(p->tcp_flags & (TH_SYN | TH_FIN | TH_RST)) &&
	       ctx_l4_csum_full(nc->ctx, p->csum_off, p->t.saddr, p->t.daddr, p->t.proto,
				p->tot_len - (p->l4_off - p->l3_off));
}

/*
 * The entry that holds the fast path's state of the packet's direction:
 * @in, the ingress entry (ORIG or REPLY_SNAT), or without one the
 * REPLY_DNAT entry of a reply that is only un-DNATed, keyed by the
 * packet's own tuple at egress.
 */
static __always_inline struct hp_conn *fast_entry(const struct nat_ctx *nc, struct hp_conn *in)
{
	const struct pkt *p = &nc->p;
	struct hp_conn_key k;
	struct hp_conn *e;

	if (in)
		return in->kind == HP_CONN_ORIG || in->kind == HP_CONN_REPLY_SNAT ? in : NULL;
	conn_key(&k, p->t.saddr, p->t.sport, p->t.daddr, p->t.dport, p->t.proto, HP_DIR_EGRESS);
	e = bpf_map_lookup_elem(&hp_conns, &k);
	return e && e->kind == HP_CONN_REPLY_DNAT ? e : NULL;
}

/*
 * The whole check of @c's direction: its egress entry belongs to the same
 * connection and was forwarded, the connection is assured (the others'
 * packets are how they get assured), and the egress entry says how the
 * source is rewritten (an ORIG entry gets a copy). The egress entry's time
 * is refreshed. Returns 0 if the direction may take the fast path.
 */
static __always_inline int fast_check(const struct nat_ctx *nc, struct hp_conn *c)
{
	struct hp_conn *e = c;

	if (c->kind != HP_CONN_REPLY_DNAT) {
		e = conn_entry(c, c->kind == HP_CONN_ORIG ? HP_CONN_FWD_SNAT : HP_CONN_REPLY_DNAT);
		if (!e)
			return -1;
	}
	if (!(e->flags & HP_CONN_FORWARDED) ||
	    !((c->kind == HP_CONN_ORIG ? c : e)->flags & HP_CONN_ASSURED))
		return -1;
	if (e->kind == HP_CONN_FWD_SNAT) {
		if (!e->snat_port && !(e->flags & HP_CONN_NO_SNAT))
			return -1; /* not decided yet */
		c->snat_addr = e->snat_addr;
		c->snat_port = e->snat_port;
	}
	if (e != c) {
		c->in_ifindex = e->in_ifindex;
		e->last_ns = nc->now;
	}
	return 0;
}

/* The translation the two hooks would give a packet of @c's direction. */
static __always_inline void fast_plan(const struct hp_conn *c, const struct pkt *p,
				      struct rewrite_to *plan)
{
	plan->saddr = p->t.saddr;
	plan->sport = p->t.sport;
	plan->daddr = p->t.daddr;
	plan->dport = p->t.dport;
	switch (c->kind) {
	case HP_CONN_ORIG:
		plan->daddr = c->server_addr;
		plan->dport = c->server_port;
		if (c->snat_port) {
			plan->saddr = c->snat_addr;
			plan->sport = c->snat_port;
		}
		break;
	case HP_CONN_REPLY_SNAT:
		plan->daddr = c->client_addr;
		plan->dport = c->client_port;
		/* fallthrough */
	default:
		plan->saddr = c->public_addr;
		plan->sport = c->public_port;
	}
}

/* @now's quarter second, as struct hp_conn.fast keeps it. */
static __always_inline __u8 fast_epoch(__u64 now)
{
	return (now >> HP_FAST_RECHECK_SHIFT << HP_FAST_EPOCH_SHIFT) & HP_FAST_EPOCH_MASK;
}

/*
 * The hash of a next hop's contents, the FIB's answer @fib for packets up
 * to @mtu of TOS @tos (@flags: HP_HOP_*): its place in hops (low bits) and
 * its tag.
 */
static __always_inline __u32 hop_hash(const struct bpf_fib_lookup *fib, __u32 more)
{
	__u32 d, s, h;
	__u16 d2, s2;

	__builtin_memcpy(&d, fib->dmac, 4);
	__builtin_memcpy(&d2, fib->dmac + 4, 2);
	__builtin_memcpy(&s, fib->smac + 2, 4);
	__builtin_memcpy(&s2, fib->smac, 2);
	h = fib->ifindex * 0x9e3779b1U ^ d;
	h = h * 0x9e3779b1U ^ ((__u32)d2 << 16 | s2);
	h = h * 0x9e3779b1U ^ s;
	h = h * 0x9e3779b1U ^ more;
	h *= 0x9e3779b1U;
	return h ^ h >> 15;
}

/* @more: mtu << 16 | tos << 8 | flags, as hop_note() takes them. */
static __always_inline int hop_is(const struct hp_hop *h, const struct bpf_fib_lookup *fib,
				  __u32 more, __u32 tag)
{
	__u32 a, b;
	__u16 a2, b2;

	if (h->ifindex != fib->ifindex || h->tag != tag ||
	    ((__u32)h->mtu << 16 | h->tos << 8 | h->flags) != more)
		return 0;
	__builtin_memcpy(&a, h->dmac, 4);
	__builtin_memcpy(&b, fib->dmac, 4);
	__builtin_memcpy(&a2, h->dmac + 4, 2);
	__builtin_memcpy(&b2, fib->dmac + 4, 2);
	if (a != b || a2 != b2)
		return 0;
	__builtin_memcpy(&a, h->smac, 4);
	__builtin_memcpy(&b, fib->smac, 4);
	__builtin_memcpy(&a2, h->smac + 4, 2);
	__builtin_memcpy(&b2, fib->smac + 4, 2);
	return a == b && a2 == b2;
}

/*
 * The hops entry of the FIB's answer @fib for packets up to @mtu of TOS
 * @tos (@flags: HP_HOP_*): found where its hash puts it (or a few further),
 * or written into the first entry there that is free or stale. Returns what
 * struct hp_conn.fast_hop keeps of it (index and tag), or HP_HOP_NONE when
 * all of them are in use by others.
 */
__noinline __u32 hop_note(const struct bpf_fib_lookup *fib, __u32 mtu, __u32 tos, __u32 flags,
			  __u64 now)
{
	__u32 more = mtu << 16 | tos << 8 | flags, hash, tag, i, slot;
	struct hp_hop *h;
	__u64 was;

	/* A function of its own, checked once by the verifier, not on every path to it. */
	if (!fib)
		return HP_HOP_NONE;
	hash = hop_hash(fib, more);
	tag = hash >> HP_HOP_SLOT_BITS;
	for (i = 0; i < HP_HOP_PROBES; i++) {
		slot = (hash + i) & (HP_MAX_HOPS - 1);
		h = bpf_map_lookup_elem(&hp_hops, &slot);
		if (!h)
			break;
		if (hop_is(h, fib, more, tag)) {
			h->noted_ns = now;
			return slot | tag << HP_HOP_SLOT_BITS;
		}
		was = h->ifindex;
		if ((was && (was & HP_HOP_CLAIMED || now - h->noted_ns < HP_HOP_STALE_NS)) ||
		    __sync_val_compare_and_swap(&h->ifindex, was, HP_HOP_CLAIMED) != was)
			continue;
		/* Claimed, then written whole, then given its ifindex. */
		__builtin_memcpy(h->dmac, fib->dmac, ETH_ALEN);
		__builtin_memcpy(h->smac, fib->smac, ETH_ALEN);
		h->mtu = mtu;
		h->tos = tos;
		h->flags = flags;
		h->tag = tag;
		h->noted_ns = now;
		__sync_lock_test_and_set(&h->ifindex, fib->ifindex);
		return slot | tag << HP_HOP_SLOT_BITS;
	}
	return HP_HOP_NONE;
}

/* The bits of the TOS routing may look at (DSCP): a next hop is found for them. */
static __always_inline __u8 hop_tos(__u8 tos)
{
	return tos & 0xfc;
}

/*
 * The next hop of a packet of @seg bytes (its segments' size) between two
 * checks of its direction, as the last one found it: into @fib's ifindex
 * and MACs. Returns 0, or -1 when there is none, or not for this packet
 * (larger than it takes, another TOS), and the FIB must be asked.
 */
static __always_inline int fast_hop(const struct nat_ctx *nc, const struct hp_conn *c, __u32 seg,
				    struct bpf_fib_lookup *fib)
{
	__u32 at = c->fast_hop, slot = at & (HP_MAX_HOPS - 1);
	const struct hp_hop *h = bpf_map_lookup_elem(&hp_hops, &slot);

	if (!h || at == HP_HOP_NONE || h->ifindex != c->fast_ifindex ||
	    h->tag != at >> HP_HOP_SLOT_BITS || seg > h->mtu || h->tos != hop_tos(nc->p.tos) ||
	    ((h->flags & HP_HOP_GSO) && !ctx_is_gso(nc->ctx)))
		return -1;
	fib->ifindex = c->fast_ifindex;
	__builtin_memcpy(fib->dmac, h->dmac, ETH_ALEN);
	__builtin_memcpy(fib->smac, h->smac, ETH_ALEN);
	return 0;
}

/*
 * The next hop of @plan from the FIB: the MTU check is the route's (PMTU
 * exceptions included), on the size of the packet's segments, @seg. The
 * egress device must be one of hairpin's: looked up in ifaces when @check
 * asks for the whole check (which is then complete, and noted) or the route
 * changed. The next hop is noted for the packets until the next check.
 * Returns @c's fast flags for this packet, -1 for the stack path; read
 * once, as another CPU may be writing them.
 */
static __always_inline int fast_route(struct nat_ctx *nc, struct hp_conn *c, int check,
				      const struct rewrite_to *plan, struct bpf_fib_lookup *fib,
				      __u32 seg)
{
	const struct pkt *p = &nc->p;
	const struct hp_iface *out;
	__u8 fast, flags;
	long ret;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tos = p->tos;
	fib->l4_protocol = p->t.proto;
	fib->sport = plan->sport;
	fib->dport = plan->dport;
	fib->tot_len = seg;
	fib->ipv4_src = plan->saddr;
	fib->ipv4_dst = plan->daddr;
	fib->ifindex = nc->ifindex;
	ret = ctx_fib_lookup(nc->ctx, fib);
	if (ret != BPF_FIB_LKUP_RET_SUCCESS) {
		/* Not forwarded (a packet too large aside): nor are the others until checked. */
		if (check || ret != BPF_FIB_LKUP_RET_FRAG_NEEDED)
			c->fast = 0;
		return -1;
	}
	/* The MTU the lookup judged by: a GSO packet's is the device's, for GSO packets only. */
	flags = ctx_is_gso(nc->ctx) ? HP_HOP_GSO : 0;
	fast = c->fast;
	if (!check && fib->ifindex == c->fast_ifindex) {
		if (!(fast & HP_FAST_READY))
			return -1;
		/* Once the table had no room for it: again at the next check, not every packet. */
		if (c->fast_hop != HP_HOP_NONE)
			c->fast_hop = hop_note(fib, fib->mtu_result, hop_tos(p->tos), flags, nc->now);
		return fast;
	}
	out = iface_get(fib->ifindex);
	if (!out || (out->flags & HP_IFACE_PPP)) {
		c->fast = 0;
		return -1;
	}
	fast = HP_FAST_READY | (out->flags & HP_IFACE_L3 ? HP_FAST_L3 : 0) |
	       (check ? fast_epoch(nc->now) : fast & HP_FAST_EPOCH_MASK);
	c->fast_ifindex = fib->ifindex;
	c->fast_hop = hop_note(fib, fib->mtu_result, hop_tos(p->tos), flags, nc->now);
	c->fast = fast;
	return fast;
}

/*
 * Translate and forward @nc's packet by the fast path if it qualifies.
 * Returns NAT_REDIRECT (nc->out_ifindex set; the hook counts it), NAT_DROP
 * if a rewrite failed half way, or NAT_TRANSLATE for the stack path, with
 * nothing changed.
 *
 * A direction gets the whole check (fast_check(), and the egress device's
 * entry) on its first packet here and then on its first packet in each
 * new HP_FAST_RECHECK_NS of the clock; the packets in between are
 * forwarded on what the entry keeps of it, two table lookups fewer.
 */
static __always_inline int nat_fast(struct nat_ctx *nc, struct hp_conn *in)
{
	const struct pkt *p = &nc->p;
	struct bpf_fib_lookup fib;
	struct rewrite_to plan;
	struct hp_conn *c;
	__u32 pad, seg;
	int check, fast;

	if ((nc->cfg->flags & HP_CFG_NO_FASTPATH) || !fast_packet(nc))
		return NAT_TRANSLATE;
	c = fast_entry(nc, in);
	if (!c)
		return NAT_TRANSLATE;
	nc->now = now_ns();
	if (c->kind == HP_CONN_ORIG && (expired(nc, c) || !(c->flags & HP_CONN_ASSURED)))
		return NAT_TRANSLATE;
	if (!for_this_host(nc))
		return NAT_TRANSLATE;
	/*
	 * Checked whole when not in this quarter second, or not since a pause
	 * as long (a quarter second's number wraps): not by the entry's time,
	 * which the stack path moves too.
	 */
	fast = c->fast;
	check = !(fast & HP_FAST_READY) || (fast & HP_FAST_EPOCH_MASK) != fast_epoch(nc->now) ||
		nc->now - c->last_ns >= HP_FAST_RECHECK_NS;
	if (unlikely(check) && fast_check(nc, c)) {
		if (fast)
			c->fast = 0;
		return NAT_TRANSLATE;
	}
	/* From elsewhere than the stack let the direction's packets in from: its to judge. */
	if (unlikely(c->in_ifindex != nc->ifindex && c->in_ifindex))
		return NAT_TRANSLATE;
	fast_plan(c, p, &plan);
	seg = ctx_segment_len(nc->ctx, p->l4_hlen + (p->l4_off - p->l3_off), p->tot_len);
	fast = c->fast;
	if (unlikely(check || !(fast & HP_FAST_READY) || fast_hop(nc, c, seg, &fib)))
		fast = fast_route(nc, c, check, &plan, &fib, seg);
	if (unlikely(fast < 0 || !fast_can_redirect(fib.ifindex)))
		return NAT_TRANSLATE;
	/* What ip_rcv() does first: drop a bad header (the stack path will), trim padding. */
	pad = ctx_len(nc->ctx) - p->l3_end;
	if (unlikely(!ctx_ip_csum_ok(nc->ctx, p->l3_off) || (pad && ctx_trim(nc->ctx, pad))))
		return NAT_TRANSLATE;

	if (rewrite_to(nc, &plan))
		return NAT_DROP;
	touch(nc, c);
	switch (c->kind) {
	case HP_CONN_ORIG:
		nc->st->dnat++;
		if (c->snat_port)
			nc->st->snat++;
		break;
	case HP_CONN_REPLY_SNAT:
		nc->st->unsnat++;
		/* fallthrough */
	default:
		nc->st->undnat++;
	}
	if (ctx_dec_ttl(nc->ctx, p->l3_off, p->ttl))
		return NAT_DROP;
	ctx_as_forwarded(nc->ctx, p->tos);
	/* Counted before a pushed link-layer header changes the length. */
	count_mapping(nc, c, 0);
	if (!(fast & HP_FAST_L3) && ctx_set_l2(nc->ctx, p->l3_off, fib.dmac, fib.smac))
		return NAT_DROP;
	nc->out_ifindex = fib.ifindex;
	return NAT_REDIRECT;
}

#endif /* HP_BPF_FASTPATH_H */
