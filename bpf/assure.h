/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * When a connection becomes assured (netfilter's word): it proved itself,
 * and a full table no longer removes it to make room. TCP once the client
 * acknowledged the server's SYN-ACK; UDP once a packet passes after a reply
 * and HP_UDP_ASSURE seconds after the first, so that a request answered
 * once is not. Both hooks look only at connections not assured yet, on the
 * entries each sees anyway (ORIG at ingress, REPLY_DNAT at egress).
 */
#ifndef HP_BPF_ASSURE_H
#define HP_BPF_ASSURE_H

#include "entry.h"

#define UDP_ASSURE_NS (HP_UDP_ASSURE * NSEC_PER_SEC)
/*
 * How far the client's acknowledgement may be past the SYN-ACK: the data
 * the server sent before the router saw the client's first ACK. A blind
 * spoofer guesses right once in 256 tries.
 */
#define ACK_WINDOW (1U << 24)

/* A TCP sequence number of @nc's packet (@off 4: seq, 8: ack), host order. */
static __always_inline int tcp_seq(const struct nat_ctx *nc, __u32 off, __u32 *v)
{
	__be32 x;

	if (ctx_load(nc->ctx, nc->p.l4_off + off, &x, sizeof(x)))
		return -1;
	*v = bpf_ntohl(x);
	return 0;
}

static __always_inline void assure(struct hp_conn *orig, struct hp_conn *reply)
{
	if (orig)
		orig->flags |= HP_CONN_ASSURED;
	reply->flags |= HP_CONN_ASSURED;
}

/* A reply of connection @r (its REPLY_DNAT entry, not assured) leaves the router. */
static __always_inline void assure_reply(const struct nat_ctx *nc, struct hp_conn *r)
{
	const struct pkt *p = &nc->p;
	__u32 seq;

	r->flags |= HP_CONN_REPLIED;
	if (p->t.proto == IPPROTO_TCP) {
		/* Kept for the client's ACK, which only a client that got it can send. */
		if ((p->tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) &&
		    !tcp_seq(nc, 4, &seq))
			r->synack_next = seq + 1;
		return;
	}
	if (nc->now - r->created_ns >= UDP_ASSURE_NS)
		assure(conn_entry(r, HP_CONN_ORIG), r);
}

/* The client of connection @o (its ORIG entry, not assured) sends. */
static __always_inline void assure_client(const struct nat_ctx *nc, struct hp_conn *o)
{
	const struct pkt *p = &nc->p;
	struct hp_conn *r = conn_entry(o, HP_CONN_REPLY_DNAT);
	__u32 ack;

	if (!r || !(r->flags & HP_CONN_REPLIED))
		return;
	if (p->t.proto == IPPROTO_TCP) {
		if ((p->tcp_flags & (TH_SYN | TH_RST | TH_ACK)) != TH_ACK)
			return;
		/* No SYN-ACK seen: a connection picked up in the middle (tcp_may_open). */
		if (r->synack_next && (tcp_seq(nc, 8, &ack) || ack - r->synack_next >= ACK_WINDOW))
			return;
	} else if (nc->now - o->created_ns < UDP_ASSURE_NS) {
		return;
	}
	assure(o, r);
}

#endif /* HP_BPF_ASSURE_H */
