/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The connection table: creating a connection's entries, their lifetime,
 * and the hairpin SNAT port search. See struct hp_conn for the entries a
 * connection has.
 */
#ifndef HP_BPF_CONN_H
#define HP_BPF_CONN_H

#include "room.h"

/*
 * Write a conns entry of a new connection; a key new to the table is
 * counted. Its queue slot is the caller's to push once the connection is whole.
 */
static __always_inline int conn_put(struct nat_ctx *nc, const struct hp_conn_key *k,
				    const struct hp_conn *c)
{
	int is_new = !bpf_map_lookup_elem(&hp_conns, k);

	if (conn_write(nc, k, c, BPF_ANY))
		return -1;
	if (is_new)
		nc->st->conn_inserts++;
	return 0;
}

/*
 * Is @old, found under a key new connection @c needs, an entry of another
 * connection that is still alive? Taking it would rewrite the live one's
 * packets with the newcomer's addresses. Each entry keeps the times and
 * flags of its own direction, so the answer takes the connection's ORIG
 * entry into account too: once either side closed, or both went quiet past
 * the timeout, the tuple may be reused.
 */
static __always_inline int conn_taken(const struct nat_ctx *nc, const struct hp_conn *old,
				      const struct hp_conn *c)
{
	struct hp_conn_key k;
	struct hp_conn *o;
	int closing, fresh;

	if (!old || same_conn(old, c))
		return 0;
	closing = old->flags & HP_CONN_CLOSING;
	fresh = !expired(nc, old);
	conn_key(&k, old->client_addr, old->client_port, old->public_addr, old->public_port,
		 old->proto, HP_DIR_INGRESS);
	o = bpf_map_lookup_elem(&hp_conns, &k);
	if (o && o->kind == HP_CONN_ORIG && same_conn(o, old)) {
		closing |= o->flags & HP_CONN_CLOSING;
		fresh |= !expired(nc, o);
	}
	return fresh && !closing;
}

/*
 * The connection's FWD_SNAT entry @f outlived its ORIG entry (gone stale, or
 * removed to make room): new connection @c keeps its SNAT port, so that the
 * server keeps seeing the same source, while the port's REPLY_SNAT entry
 * points back at this connection, or can be put back. @f is read first:
 * making room for that entry may take @f's.
 */
static __always_inline void snat_keep(struct nat_ctx *nc, const struct hp_conn *f,
				      struct hp_conn *c)
{
	struct hp_conn_key k;
	struct hp_conn *r;

	c->snat_addr = f->snat_addr;
	c->snat_port = f->snat_port;
	conn_key(&k, c->server_addr, c->server_port, c->snat_addr, c->snat_port, c->proto,
		 HP_DIR_INGRESS);
	r = bpf_map_lookup_elem(&hp_conns, &k);
	if (r) {
		if (r->kind == HP_CONN_REPLY_SNAT && same_conn(r, c))
			return;
		goto lost;
	}
	/* Written from @c itself (a copy would not fit the stack), as it has the port. */
	c->kind = HP_CONN_REPLY_SNAT;
	if (conn_write(nc, &k, c, BPF_NOEXIST))
		goto lost;
	nc->st->conn_inserts++;
	conn_track(nc, &k, c->created_ns);
	return;
lost:
	c->snat_addr = 0;
	c->snat_port = 0;
}

/* The SNAT mode and scope of a new connection to @m, as HP_CONN_* flags. */
static __always_inline __u8 snat_flags(const struct nat_ctx *nc, const struct hp_map_val *m)
{
	__u32 mode, subnet;

	if (m->flags & HP_MAP_SNAT_OWN) {
		mode = (m->flags >> HP_MAP_SNAT_SHIFT) & 3;
		subnet = m->flags & HP_MAP_SCOPE_SUBNET;
	} else {
		mode = nc->cfg->snat_mode;
		subnet = nc->cfg->snat_scope == HP_SCOPE_SUBNET;
	}
	return (mode == HP_SNAT_EXTERNAL ? HP_CONN_SNAT_EXTERNAL : 0) |
	       (mode == HP_SNAT_OFF ? HP_CONN_NO_SNAT : 0) | (subnet ? HP_CONN_SNAT_SUBNET : 0);
}

enum {
	CONN_OK = 0,
	CONN_FULL = -1,	 /* no room: the table is full of assured connections */
	CONN_CLASH = -2, /* a live connection holds the reply tuple */
};

/*
 * A new connection to a mapping: write its state, return the ORIG entry's
 * copy. Nothing is written when a live connection of another public
 * endpoint holds the reply tuple (the same client port to the same server
 * through two public ports); netfilter would remap the source port, hairpin
 * drops the packet and counts it in conn_clash.
 */
static __always_inline int conn_create(struct nat_ctx *nc, const struct hp_map_val *m,
				       struct hp_conn *c)
{
	const struct pkt *p = &nc->p;
	struct hp_iface *ifc = nat_iface(nc);
	struct hp_conn_key k_reply, k_fwd;
	struct hp_conn *old;
	int snat;

	__builtin_memset(c, 0, sizeof(*c));
	c->client_addr = p->t.saddr;
	c->client_port = p->t.sport;
	c->public_addr = p->t.daddr;
	c->public_port = p->t.dport;
	c->server_addr = m->addr;
	c->server_port = m->port;
	c->proto = p->t.proto;
	c->counters = m->counters;
	c->created_ns = nc->now;
	c->last_ns = nc->now;
	if (ifc && ifc->role == HP_ROLE_LAN)
		c->flags |= HP_CONN_HAIRPIN | snat_flags(nc, m);
	else
		c->flags |= HP_CONN_NO_SNAT;
	touch(nc, c);
	/*
	 * The forward direction has an egress entry too: the hairpin SNAT of a
	 * hairpinned client, and for every connection the place where egress
	 * notes that the direction was forwarded (the fast path's condition).
	 */
	snat = !(c->flags & HP_CONN_NO_SNAT);

	conn_key(&k_reply, c->server_addr, c->server_port, c->client_addr, c->client_port, c->proto,
		 HP_DIR_EGRESS);
	if (conn_taken(nc, bpf_map_lookup_elem(&hp_conns, &k_reply), c))
		return CONN_CLASH;
	conn_key(&k_fwd, c->client_addr, c->client_port, c->server_addr, c->server_port, c->proto,
		 HP_DIR_EGRESS);
	old = bpf_map_lookup_elem(&hp_conns, &k_fwd);
	if (conn_taken(nc, old, c))
		return CONN_CLASH;
	if (snat && old && old->snat_port && same_conn(old, c))
		snat_keep(nc, old, c);

	c->kind = HP_CONN_ORIG;
	if (conn_put(nc, &p->t, c))
		return CONN_FULL;
	c->kind = HP_CONN_REPLY_DNAT;
	if (conn_put(nc, &k_reply, c))
		goto undo_orig;
	c->kind = HP_CONN_FWD_SNAT;
	if (conn_put(nc, &k_fwd, c))
		goto undo_reply;
	/* Queued only now, so that making room for one entry never takes another. */
	conn_track(nc, &p->t, c->created_ns);
	conn_track(nc, &k_reply, c->created_ns);
	conn_track(nc, &k_fwd, c->created_ns);
	c->kind = HP_CONN_ORIG;
	return CONN_OK;

	/* A connection is whole or not there: no entry may stay without a slot. */
undo_reply:
	conn_del(nc->st, c, HP_CONN_REPLY_DNAT);
undo_orig:
	conn_del(nc->st, c, HP_CONN_ORIG);
	return CONN_FULL;
}

/*
 * Only a plain SYN opens a TCP connection to a mapping. Another TCP packet for a
 * mapped port with no state of ours belongs to someone else: most likely a
 * reply to a connection the router itself or netfilter's masquerade made
 * from that port, which conntrack knows and hairpin must not take over. The
 * exceptions are connections of ours whose ORIG entry @orig went stale, or
 * went while their reply entry lives on.
 */
static __always_inline int tcp_may_open(const struct nat_ctx *nc, const struct hp_conn *orig,
					const struct hp_map_val *m)
{
	const struct pkt *p = &nc->p;
	struct hp_conn_key k;
	struct hp_conn *r;

	if (plain_syn(p) || (orig && orig->kind == HP_CONN_ORIG))
		return 1;
	conn_key(&k, m->addr, m->port, p->t.saddr, p->t.sport, IPPROTO_TCP, HP_DIR_EGRESS);
	r = bpf_map_lookup_elem(&hp_conns, &k);
	return r && r->kind == HP_CONN_REPLY_DNAT && r->public_addr == p->t.daddr &&
	       r->public_port == p->t.dport;
}

/*
 * Is the SNAT port held by REPLY_SNAT entry @r still in use? It is while the
 * connection that owns it is alive: its FWD_SNAT entry still points at this
 * port and one direction has seen traffic within the timeout.
 */
static __always_inline int snat_port_busy(const struct nat_ctx *nc, const struct hp_conn *r)
{
	struct hp_conn_key k;
	struct hp_conn *f;

	conn_key(&k, r->client_addr, r->client_port, r->server_addr, r->server_port, r->proto,
		 HP_DIR_EGRESS);
	f = bpf_map_lookup_elem(&hp_conns, &k);
	if (!f || f->snat_addr != r->snat_addr || f->snat_port != r->snat_port)
		return 0;
	return !expired(nc, f) || !expired(nc, r);
}

/*
 * Choose the hairpin SNAT port for connection @c leaving through this
 * interface: the client's own port if it lies in the range and is free,
 * otherwise the next free one from a hash of the client. Returns 0 with the
 * choice written into @c and the ORIG entry, -1 if no port is free, -2 if
 * the table has no room, 1 if the connection is not source-NATed here.
 */
static __always_inline int snat_alloc(struct nat_ctx *nc, struct hp_conn *c)
{
	struct hp_iface *ifc = nat_iface(nc);
	__u32 min, range, start, cport, i;
	struct hp_conn_key k;
	struct hp_conn r, *old;
	int err, full = 0;

	if (!ifc || !ifc->snat_addr)
		return 1;
	/* Scope "subnet": a client from another subnet keeps its address. */
	if ((c->flags & HP_CONN_SNAT_SUBNET) && ifc->prefix_len &&
	    ((c->client_addr ^ ifc->snat_addr) & bpf_htonl(~0U << (32 - ifc->prefix_len)))) {
		c->flags |= HP_CONN_NO_SNAT;
		return 1;
	}
	min = nc->cfg->snat_port_min;
	if (nc->cfg->snat_port_max < min)
		return -1;
	range = nc->cfg->snat_port_max - min + 1;
	cport = bpf_ntohs(c->client_port);
	if (cport >= min && cport - min < range)
		start = cport - min;
	else
		start = ((__u32)c->client_addr * 2654435761U ^ cport * 40503U) % range;

	r = *c;
	r.kind = HP_CONN_REPLY_SNAT;
	r.fast = 0; /* the fast path checks the new direction afresh */
	r.snat_addr = (c->flags & HP_CONN_SNAT_EXTERNAL) ? c->public_addr : ifc->snat_addr;
	for (i = 0; i < HP_SNAT_TRIES && i < range; i++) {
		r.snat_port = bpf_htons(min + (start + i) % range);
		conn_key(&k, r.server_addr, r.server_port, r.snat_addr, r.snat_port, r.proto,
			 HP_DIR_INGRESS);
		old = bpf_map_lookup_elem(&hp_conns, &k);
		if (!old) {
			err = bpf_map_update_elem(&hp_conns, &k, &r, BPF_NOEXIST);
			if (err == -E2BIG) {
				full = 1;
				break;
			}
			if (err)
				continue; /* taken meanwhile */
			nc->st->conn_inserts++;
			goto found;
		}
		if (old->kind == HP_CONN_REPLY_SNAT && !snat_port_busy(nc, old) &&
		    !bpf_map_update_elem(&hp_conns, &k, &r, BPF_EXIST))
			goto found;
	}
	/* Room is made out of the loop: one free port is all it needs. */
	if (!full)
		return -1;
	if (conn_write(nc, &k, &r, BPF_NOEXIST))
		return -2;
	nc->st->conn_inserts++;

found:
	conn_track(nc, &k, r.created_ns);
	c->snat_addr = r.snat_addr;
	c->snat_port = r.snat_port;
	conn_key(&k, c->client_addr, c->client_port, c->public_addr, c->public_port, c->proto,
		 HP_DIR_INGRESS);
	old = bpf_map_lookup_elem(&hp_conns, &k);
	if (old && old->kind == HP_CONN_ORIG) {
		old->snat_addr = r.snat_addr;
		old->snat_port = r.snat_port;
	}
	return 0;
}

/*
 * Count a packet of connection @c against its mapping's public port (@opens:
 * its first). A GSO packet counts as the packets it will be on the wire.
 */
static __always_inline void count_mapping(const struct nat_ctx *nc, const struct hp_conn *c,
					  int opens)
{
	struct hp_map_counters *mc = bpf_map_lookup_elem(&hp_map_counters, &c->counters);
	__u32 segs = ctx_wire_packets(nc->ctx);
	__u32 bytes = ctx_len(nc->ctx) - nc->p.l3_off;

	if (!mc || mc->port.addr != c->public_addr || mc->port.port != c->public_port ||
	    mc->port.proto != c->proto)
		return; /* the slot is no longer this connection's mapping's */
	if (c->flags & HP_CONN_HAIRPIN) {
		mc->hairpin_packets += segs;
		mc->hairpin_bytes += bytes;
		mc->hairpin_conns += opens;
	} else {
		mc->wan_packets += segs;
		mc->wan_bytes += bytes;
		mc->wan_conns += opens;
	}
}

#endif /* HP_BPF_CONN_H */
