/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Translating a packet's addresses and ports: the hook adapter edits the
 * bytes and checksums; here is what a translation means beyond them (the
 * mark of a rewritten destination, the state later fragments need).
 */
#ifndef HP_BPF_REWRITE_H
#define HP_BPF_REWRITE_H

#include "state.h"

#define FRAG_TIMEOUT_NS (HP_FRAG_TIMEOUT * NSEC_PER_SEC)

/*
 * Mark a packet whose destination ingress rewrote (to a server, or back to
 * a hairpinned client): netfilter's forward chain sees only the new
 * address, and the mark tells it the packet came through a mapping rather
 * than straight to that address ("ct status dnat" for netfilter's own NAT).
 */
static __always_inline void mark_rewritten(const struct nat_ctx *nc)
{
	if (nc->cfg->mark_mask)
		ctx_set_mark(nc->ctx, nc->cfg->mark, nc->cfg->mark_mask);
}

/*
 * Rewrite the source (@dst 0) or destination address of the IP header and
 * its checksum; a destination rewritten on the way in is marked. A TCP/UDP
 * checksum that covers the address is the caller's to update first.
 */
static __always_inline int set_addr(const struct nat_ctx *nc, int dst, __be32 old_addr,
				    __be32 new_addr)
{
	__u32 off = L3_OFF + (dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr));

	if (ctx_set_ip_addr(nc->ctx, off, old_addr, new_addr))
		return -1;
	if (dst)
		mark_rewritten(nc);
	return 0;
}

static __always_inline void frag_key(struct hp_frag_key *k, const struct pkt *p)
{
	k->saddr = p->t.saddr;
	k->daddr = p->t.daddr;
	k->id = p->ip_id;
	k->proto = p->t.proto;
	k->dir = p->t.dir;
}

/* The first fragment was translated: the later ones get the same addresses. */
static __always_inline void frag_note(const struct nat_ctx *nc, int dst, __be32 new_addr)
{
	struct hp_frag_key k;
	struct hp_frag f = {
		.addr = new_addr,
		.dst = dst,
		.created_ns = nc->now,
	};

	frag_key(&k, &nc->p);
	bpf_map_update_elem(&hp_frags, &k, &f, BPF_ANY);
}

/*
 * A later fragment carries no ports: it is translated as its first fragment
 * was, address and IP checksum only (the TCP/UDP checksum travelled in the
 * first fragment). One whose first fragment was not translated here (not
 * ours, or not seen yet) passes unchanged: it may well belong to traffic
 * that is no business of ours, and a missing first fragment loses the
 * datagram anyway.
 */
static __always_inline int frag_later(struct nat_ctx *nc)
{
	const struct pkt *p = &nc->p;
	struct hp_frag_key k;
	struct hp_frag *f;

	frag_key(&k, p);
	f = bpf_map_lookup_elem(&hp_frags, &k);
	nc->now = now_ns();
	if (!f || nc->now - f->created_ns > FRAG_TIMEOUT_NS) {
		nc->st->frag_unknown++;
		return NAT_PASS;
	}
	if (set_addr(nc, f->dst, f->dst ? p->t.daddr : p->t.saddr, f->addr))
		return NAT_DROP;
	nc->st->fragments++;
	return NAT_PASS;
}

/*
 * Rewrite one address and port. The IPv4 header checksum covers the address;
 * the L4 checksum covers it through the pseudo header and the port directly.
 */
static __always_inline int rewrite(const struct nat_ctx *nc, int dst, __be32 new_addr,
				   __be16 new_port)
{
	const struct pkt *p = &nc->p;
	__u32 port_off = p->l4_off + (dst ? 2 : 0);
	__be32 old_addr = dst ? p->t.daddr : p->t.saddr;
	__be16 old_port = dst ? p->t.dport : p->t.sport;
	int udp = p->t.proto == IPPROTO_UDP;

	if (old_addr != new_addr) {
		if (ctx_l4_csum_addr(nc->ctx, p->csum_off, old_addr, new_addr, udp) ||
		    set_addr(nc, dst, old_addr, new_addr))
			return -1;
	} else if (dst) {
		mark_rewritten(nc); /* a port-only DNAT is a rewrite too */
	}
	if (old_port != new_port &&
	    ctx_set_l4_port(nc->ctx, p->csum_off, port_off, old_port, new_port, udp))
		return -1;
	if (p->first_frag)
		frag_note(nc, dst, new_addr);
	return 0;
}

#endif /* HP_BPF_REWRITE_H */
