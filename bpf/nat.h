/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The NAT core, hook-neutral. Ingress rewrites destinations only (DNAT to a
 * mapping, un-SNAT of replies to hairpinned connections); egress rewrites
 * sources only (hairpin SNAT, un-DNAT of server replies). The kernel routes
 * between the two hooks and so always sees real addresses, the way
 * netfilter's PREROUTING/POSTROUTING NAT does. Packets that belong to no
 * mapping and no connection leave untouched.
 */
#ifndef HP_BPF_NAT_H
#define HP_BPF_NAT_H

#include "assure.h"
#include "compiler.h"
#include "conn.h"
#include "fastpath.h"
#include "icmp.h"
#include "rewrite.h"

/*
 * What both hooks do first: parse, and hand ICMP errors and later fragments
 * to their own paths. Returns their verdict, NAT_PASS for what is not ours,
 * or NAT_TRANSLATE with nc->p filled in.
 */
static __always_inline int classify(struct nat_ctx *nc)
{
	switch (parse(nc->ctx, &nc->p)) {
	case PARSE_OK:
		nc->st->packets++;
		return NAT_TRANSLATE;
	case PARSE_ICMP:
		return icmp_error(nc);
	case PARSE_FRAGMENT:
		return frag_later(nc);
	case PARSE_MALFORMED:
		nc->st->malformed++;
		break;
	}
	return NAT_PASS;
}

/* Ingress: DNAT of new and established connections, un-SNAT of hairpin replies. */
static __always_inline int nat_ingress(struct nat_ctx *nc)
{
	struct hp_map_key mk = {};
	struct hp_map_val *m;
	struct hp_conn *c, new_conn;
	int ret;

	ret = classify(nc);
	if (ret != NAT_TRANSLATE)
		return ret;

	c = bpf_map_lookup_elem(&hp_conns, &nc->p.t);
	ret = nat_fast(nc, c);
	if (likely(ret != NAT_TRANSLATE))
		return ret;
	if (c) {
		nc->now = now_ns();
		if (c->kind == HP_CONN_REPLY_SNAT) {
			touch(nc, c);
			if (rewrite(nc, 1, c->client_addr, c->client_port))
				return NAT_DROP;
			nc->st->unsnat++;
			return NAT_PASS;
		}
		if (c->kind == HP_CONN_ORIG && !expired(nc, c) && !reopens(nc, c)) {
			touch(nc, c);
			if (!(c->flags & HP_CONN_ASSURED))
				assure_client(nc, c);
			if (rewrite(nc, 1, c->server_addr, c->server_port))
				return NAT_DROP;
			count_mapping(nc, c, 0);
			nc->st->dnat++;
			return NAT_PASS;
		}
		if (c->kind == HP_CONN_ORIG)
			nc->st->conns_expired++;
	}

	mk.addr = nc->p.t.daddr;
	mk.port = nc->p.t.dport;
	mk.proto = nc->p.t.proto;
	m = bpf_map_lookup_elem(&hp_mappings, &mk);
	if (!m)
		return NAT_PASS;
	if (nc->p.t.proto == IPPROTO_TCP && !tcp_may_open(nc, c, m)) {
		nc->st->tcp_no_syn++;
		return NAT_PASS;
	}
	/* A header the stack will drop opens nothing (and is left to it). */
	if (!nc->p.ip_options && !ctx_ip_csum_ok(nc->ctx, nc->p.l3_off))
		return NAT_PASS;
	nc->now = now_ns();
	ret = conn_create(nc, m, &new_conn);
	if (ret == CONN_CLASH)
		nc->st->conn_clash++;
	else if (ret)
		nc->st->conn_table_full++;
	if (ret)
		return NAT_DROP;
	nc->st->conns_new++;
	if (rewrite(nc, 1, new_conn.server_addr, new_conn.server_port))
		return NAT_DROP;
	count_mapping(nc, &new_conn, 1);
	nc->st->dnat++;
	return NAT_PASS;
}

/*
 * A packet of @c's direction leaves the router: the kernel routed it and the
 * forward chain let it through, so the direction may take the fast path,
 * for packets that come in where this one did (which passed rp_filter).
 * For TCP only once past the handshake, so that conntrack saw it complete.
 * Where the stack names another device than hairpin's hook saw (a VRF's
 * master), 0: the fast path does not know where to expect the packets.
 */
static __always_inline void forwarded(const struct nat_ctx *nc, struct hp_conn *c)
{
	__u32 in = ctx_in_ifindex(nc->ctx);

	if (nc->p.tcp_flags & (TH_SYN | TH_FIN | TH_RST))
		return;
	if (c->in_ifindex != in)
		c->in_ifindex = iface_get(in) ? in : 0;
	if (!(c->flags & HP_CONN_FORWARDED))
		c->flags |= HP_CONN_FORWARDED;
}

/* Egress: hairpin SNAT (choosing the port on a connection's first packet), un-DNAT. */
static __always_inline int nat_egress(struct nat_ctx *nc)
{
	struct hp_conn *c;
	int ret;

	ret = classify(nc);
	if (ret != NAT_TRANSLATE)
		return ret;

	c = bpf_map_lookup_elem(&hp_conns, &nc->p.t);
	if (!c)
		return NAT_PASS;
	nc->now = now_ns();
	touch(nc, c);

	if (c->kind == HP_CONN_REPLY_DNAT) {
		if (!(c->flags & HP_CONN_ASSURED))
			assure_reply(nc, c);
		if (rewrite(nc, 0, c->public_addr, c->public_port))
			return NAT_DROP;
		count_mapping(nc, c, 0);
		nc->st->undnat++;
		forwarded(nc, c);
		return NAT_PASS;
	}
	if (c->kind != HP_CONN_FWD_SNAT)
		return NAT_PASS;
	if (!c->snat_port) {
		if (c->flags & HP_CONN_NO_SNAT) {
			forwarded(nc, c);
			return NAT_PASS;
		}
		ret = snat_alloc(nc, c);
		if (ret > 0)
			return NAT_PASS; /* this interface has no SNAT address */
		if (ret == -2) {
			nc->st->conn_table_full++;
			return NAT_DROP;
		}
		if (ret < 0) {
			nc->st->snat_exhausted++;
			return NAT_DROP;
		}
	}
	if (rewrite(nc, 0, c->snat_addr, c->snat_port))
		return NAT_DROP;
	nc->st->snat++;
	forwarded(nc, c);
	return NAT_PASS;
}

#endif /* HP_BPF_NAT_H */
