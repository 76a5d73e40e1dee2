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

/*
 * Is @nc's packet one for the fast path? Fills @plan with its translation
 * and returns the ingress entry (@in, may be NULL) and the egress entry
 * (@out) it follows; returns 0 when the packet must take the stack path.
 * Nothing is written.
 */
static __always_inline int fast_eligible(struct nat_ctx *nc, struct hp_conn *in,
					 struct hp_conn **out, struct rewrite_to *plan)
{
	const struct pkt *p = &nc->p;
	struct hp_conn_key k;
	struct hp_conn *e;

	if (p->ip_options || p->first_frag || p->ttl <= 1 ||
	    (p->tcp_flags & (TH_SYN | TH_FIN | TH_RST)) ||
	    !ctx_l4_csum_full(nc->ctx, p->csum_off, p->t.saddr, p->t.daddr, p->t.proto,
			      p->tot_len - (p->l4_off - p->l3_off)))
		return 0;
	plan->saddr = p->t.saddr;
	plan->sport = p->t.sport;
	plan->daddr = p->t.daddr;
	plan->dport = p->t.dport;
	/* The time only for a packet of a connection: most packets are none of ours. */
	if (in) {
		nc->now = now_ns();
		if (in->kind == HP_CONN_ORIG) {
			if (expired(nc, in))
				return 0;
			plan->daddr = in->server_addr;
			plan->dport = in->server_port;
		} else if (in->kind == HP_CONN_REPLY_SNAT) {
			plan->daddr = in->client_addr;
			plan->dport = in->client_port;
		} else {
			return 0;
		}
	}
	conn_key(&k, plan->saddr, plan->sport, plan->daddr, plan->dport, p->t.proto, HP_DIR_EGRESS);
	e = bpf_map_lookup_elem(&hp_conns, &k);
	if (!e || !(e->flags & HP_CONN_FORWARDED))
		return 0;
	/* Without an ingress entry, only a reply's un-DNAT is ours to do. */
	if (in ? !same_conn(in, e) : e->kind != HP_CONN_REPLY_DNAT)
		return 0;
	/* Only assured connections: the others' packets are how they get assured. */
	if (!((in && in->kind == HP_CONN_ORIG ? in : e)->flags & HP_CONN_ASSURED))
		return 0;
	if (e->kind == HP_CONN_REPLY_DNAT) {
		plan->saddr = e->public_addr;
		plan->sport = e->public_port;
	} else if (e->kind == HP_CONN_FWD_SNAT && e->snat_port) {
		plan->saddr = e->snat_addr;
		plan->sport = e->snat_port;
	} else if (e->kind != HP_CONN_FWD_SNAT || !(e->flags & HP_CONN_NO_SNAT)) {
		return 0;
	}
	if (!for_this_host(nc))
		return 0;
	if (!in)
		nc->now = now_ns();
	*out = e;
	return 1;
}

/*
 * The next hop of @plan: the egress device, which must be one of hairpin's,
 * and its MACs. The MTU check is the route's (PMTU exceptions included),
 * on the size of the packet's segments. Returns -1 for none, else 1 for a
 * device without a link-layer header, 0 for an Ethernet one.
 */
static __always_inline int fast_route(struct nat_ctx *nc, const struct rewrite_to *plan,
				      struct bpf_fib_lookup *fib)
{
	const struct pkt *p = &nc->p;
	const struct hp_iface *out;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tos = p->tos;
	fib->l4_protocol = p->t.proto;
	fib->sport = plan->sport;
	fib->dport = plan->dport;
	fib->tot_len = ctx_segment_len(nc->ctx, p->l4_hlen + (p->l4_off - p->l3_off), p->tot_len);
	fib->ipv4_src = plan->saddr;
	fib->ipv4_dst = plan->daddr;
	fib->ifindex = nc->ifindex;
	if (ctx_fib_lookup(nc->ctx, fib) != BPF_FIB_LKUP_RET_SUCCESS)
		return -1;
	out = iface_get(fib->ifindex);
	if (!out || (out->flags & HP_IFACE_PPP) || !ctx_can_redirect(out))
		return -1;
	return !!(out->flags & HP_IFACE_L3);
}

/*
 * Translate and forward @nc's packet by the fast path if it qualifies.
 * Returns NAT_REDIRECT (nc->out_ifindex set; the hook counts it), NAT_DROP
 * if a rewrite failed half way, or NAT_TRANSLATE for the stack path, with
 * nothing changed.
 */
static __always_inline int nat_fast(struct nat_ctx *nc, struct hp_conn *in)
{
	const struct pkt *p = &nc->p;
	struct bpf_fib_lookup fib;
	struct rewrite_to plan;
	struct hp_conn *out;
	const struct hp_conn *pub;
	__u32 pad;
	int out_l3;

	if (nc->cfg->flags & HP_CFG_NO_FASTPATH)
		return NAT_TRANSLATE;
	if (!fast_eligible(nc, in, &out, &plan))
		return NAT_TRANSLATE;
	out_l3 = fast_route(nc, &plan, &fib);
	if (out_l3 < 0)
		return NAT_TRANSLATE;
	/* What ip_rcv() does first: drop a bad header (the stack path will), trim padding. */
	pad = ctx_len(nc->ctx) - p->l3_end;
	if (!ctx_ip_csum_ok(nc->ctx, p->l3_off) || (pad && ctx_trim(nc->ctx, pad)))
		return NAT_TRANSLATE;

	if (rewrite_to(nc, &plan))
		return NAT_DROP;
	if (in) {
		touch(nc, in);
		if (in->kind == HP_CONN_ORIG)
			nc->st->dnat++;
		else
			nc->st->unsnat++;
	}
	touch(nc, out);
	if (plan.saddr != p->t.saddr || plan.sport != p->t.sport) {
		if (out->kind == HP_CONN_REPLY_DNAT)
			nc->st->undnat++;
		else
			nc->st->snat++;
	}
	if (ctx_dec_ttl(nc->ctx, p->l3_off, p->ttl))
		return NAT_DROP;
	ctx_as_forwarded(nc->ctx, p->tos);
	/* Counted before a pushed link-layer header changes the length. */
	pub = out->kind == HP_CONN_REPLY_DNAT ? out : in;
	if (pub)
		count_mapping(nc, pub, 0);
	if (!out_l3 && ctx_set_l2(nc->ctx, p->l3_off, fib.dmac, fib.smac))
		return NAT_DROP;
	nc->out_ifindex = fib.ifindex;
	return NAT_REDIRECT;
}

#endif /* HP_BPF_FASTPATH_H */
