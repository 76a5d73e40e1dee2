/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One conns entry: its key, its lifetime, and the other entries of its
 * connection (struct hp_conn lists them).
 */
#ifndef HP_BPF_ENTRY_H
#define HP_BPF_ENTRY_H

#include "state.h"

/*
 * Has @c gone without traffic past its timeout at @now? An egress entry
 * gets the fast path's lag on top (HP_FAST_RECHECK_NS), so that no
 * connection is taken for dead before its timeout.
 */
static __always_inline int expired_at(const struct hp_config *cfg, __u64 now,
				      const struct hp_conn *c)
{
	__u64 grace = 0;

	if (c->kind == HP_CONN_FWD_SNAT || c->kind == HP_CONN_REPLY_DNAT)
		grace = HP_FAST_RECHECK_NS;

	return now - c->last_ns > hp_conn_timeout(cfg, c) * NSEC_PER_SEC + grace;
}

static __always_inline int expired(const struct nat_ctx *nc, const struct hp_conn *c)
{
	return expired_at(nc->cfg, nc->now, c);
}

static __always_inline void touch(const struct nat_ctx *nc, struct hp_conn *c)
{
	c->last_ns = nc->now;
	if (nc->p.tcp_flags & (TH_FIN | TH_RST))
		c->flags |= HP_CONN_CLOSING;
}

static __always_inline void conn_key(struct hp_conn_key *k, __be32 saddr, __be16 sport,
				     __be32 daddr, __be16 dport, __u8 proto, __u8 dir)
{
	k->saddr = saddr;
	k->daddr = daddr;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->dir = dir;
	k->pad = 0;
}

/* A plain TCP SYN: not with ACK, nor with FIN or RST, which conntrack holds invalid. */
static __always_inline int plain_syn(const struct pkt *p)
{
	return (p->tcp_flags & (TH_SYN | TH_ACK | TH_FIN | TH_RST)) == TH_SYN;
}

/* A plain SYN on a closing connection starts a new one. */
static __always_inline int reopens(const struct nat_ctx *nc, const struct hp_conn *c)
{
	return (c->flags & HP_CONN_CLOSING) && plain_syn(&nc->p);
}

/* Entries of one connection: same client, public endpoint and server. */
static __always_inline int same_conn(const struct hp_conn *a, const struct hp_conn *b)
{
	return a->client_addr == b->client_addr && a->client_port == b->client_port &&
	       a->public_addr == b->public_addr && a->public_port == b->public_port &&
	       a->server_addr == b->server_addr && a->server_port == b->server_port;
}

/* The key connection @c's entry of @kind is stored under (REPLY_SNAT: @c's SNAT port). */
static __always_inline void conn_entry_key(struct hp_conn_key *k, const struct hp_conn *c,
					   __u8 kind)
{
	switch (kind) {
	case HP_CONN_ORIG:
		conn_key(k, c->client_addr, c->client_port, c->public_addr, c->public_port,
			 c->proto, HP_DIR_INGRESS);
		break;
	case HP_CONN_REPLY_DNAT:
		conn_key(k, c->server_addr, c->server_port, c->client_addr, c->client_port,
			 c->proto, HP_DIR_EGRESS);
		break;
	case HP_CONN_FWD_SNAT:
		conn_key(k, c->client_addr, c->client_port, c->server_addr, c->server_port,
			 c->proto, HP_DIR_EGRESS);
		break;
	default:
		conn_key(k, c->server_addr, c->server_port, c->snat_addr, c->snat_port, c->proto,
			 HP_DIR_INGRESS);
	}
}

/* Connection @c's entry of @kind, if the table holds it for this connection. */
static __always_inline struct hp_conn *conn_entry(const struct hp_conn *c, __u8 kind)
{
	struct hp_conn_key k;
	struct hp_conn *e;

	conn_entry_key(&k, c, kind);
	e = bpf_map_lookup_elem(&hp_conns, &k);
	return e && e->kind == kind && same_conn(e, c) ? e : NULL;
}

#endif /* HP_BPF_ENTRY_H */
