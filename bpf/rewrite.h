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
	__u32 field = dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr);

	if (ctx_set_ip_addr(nc->ctx, nc->p.l3_off, field, old_addr, new_addr))
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

/* What a packet's addresses and ports become. */
struct rewrite_to {
	__be32 saddr, daddr;
	__be16 sport, dport;
};

/*
 * Rewrite the packet's addresses and ports to @to, each field only if it
 * changes (the stack path changes one end, the fast path may change both).
 * The IPv4 header checksum covers the addresses; the L4 checksum covers them
 * through the pseudo header and the ports directly: the two kinds of change
 * are kept apart, as a checksum the device is to finish takes only the
 * first (ctx_l4_csum_add()).
 */
static __always_inline int rewrite_to(const struct nat_ctx *nc, const struct rewrite_to *to)
{
	const struct pkt *p = &nc->p;
	int new_saddr = to->saddr != p->t.saddr, new_daddr = to->daddr != p->t.daddr;
	__u32 d_addr = 0, d_port = 0;

	if (new_saddr)
		d_addr += csum_diff4(p->t.saddr, to->saddr);
	if (new_daddr)
		d_addr += csum_diff4(p->t.daddr, to->daddr);
	if (to->sport != p->t.sport)
		d_port += csum_diff2(p->t.sport, to->sport);
	if (to->dport != p->t.dport)
		d_port += csum_diff2(p->t.dport, to->dport);
	if ((d_addr || d_port) &&
	    ctx_l4_csum_add(nc->ctx, p->csum_off, d_addr, d_port, p->t.proto == IPPROTO_UDP))
		return -1;
	if ((new_saddr && set_addr(nc, 0, p->t.saddr, to->saddr)) ||
	    (new_daddr && set_addr(nc, 1, p->t.daddr, to->daddr)))
		return -1;
	if (to->sport != p->t.sport && ctx_store(nc->ctx, p->l4_off, &to->sport, sizeof(to->sport)))
		return -1;
	if (to->dport != p->t.dport) {
		if (ctx_store(nc->ctx, p->l4_off + 2, &to->dport, sizeof(to->dport)))
			return -1;
		if (!new_daddr)
			mark_rewritten(nc); /* a port-only DNAT is a rewrite too */
	}
	return 0;
}

/* Rewrite one end, the destination (@dst) or the source, to @new_addr:@new_port. */
static __always_inline int rewrite(const struct nat_ctx *nc, int dst, __be32 new_addr,
				   __be16 new_port)
{
	const struct pkt *p = &nc->p;
	struct rewrite_to to = {
		.saddr = dst ? p->t.saddr : new_addr,
		.sport = dst ? p->t.sport : new_port,
		.daddr = dst ? new_addr : p->t.daddr,
		.dport = dst ? new_port : p->t.dport,
	};

	if (rewrite_to(nc, &to))
		return -1;
	if (p->first_frag)
		frag_note(nc, dst, new_addr);
	return 0;
}

#endif /* HP_BPF_REWRITE_H */
