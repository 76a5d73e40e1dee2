// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Hairpin NAT on the TC hooks of a router.
 *
 * Ingress rewrites destinations only (DNAT to a mapping, un-SNAT of replies to
 * hairpinned connections); egress rewrites sources only (hairpin SNAT,
 * un-DNAT of server replies). The kernel routes between the two hooks and so
 * always sees real addresses, the way netfilter's PREROUTING/POSTROUTING NAT
 * does. Packets that belong to no mapping and no connection leave untouched.
 */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "hairpin.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HP_MAX_MAPPINGS);
	__type(key, struct hp_map_key);
	__type(value, struct hp_map_val);
} hp_mappings SEC(".maps");

/* Written by user space with each mapping, so that only mapped ports count. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, HP_MAX_MAPPINGS);
	__type(key, struct hp_map_key);
	__type(value, struct hp_map_counters);
} hp_map_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct hp_iface);
} hp_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HP_MAX_CONNS);
	__type(key, struct hp_conn_key);
	__type(value, struct hp_conn);
} hp_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HP_MAX_FRAGS);
	__type(key, struct hp_frag_key);
	__type(value, struct hp_frag);
} hp_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hp_config);
} hp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hp_stats);
} hp_stats SEC(".maps");

/* HP_LAYOUT_VERSION of the pinned tables, for user space only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} hp_layout SEC(".maps");

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define L3_OFF ETH_HLEN
#define NSEC_PER_SEC 1000000000ULL

/* ICMP, spelt out: linux/icmp.h pulls in libc headers a BPF target lacks. */
#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest;
};

/* TCP flag bits, byte 13 of the header. */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* What the parser learnt about a TCP or UDP packet. */
struct pkt {
	struct hp_conn_key t; /* the tuple as this hook sees it */
	__u32 l4_off;
	__u32 csum_off; /* offset of the L4 checksum */
	__u32 l3_end;	/* where the IP packet ends (its total length); padding may follow */
	__be16 ip_id;
	__u8 tcp_flags;
	__u8 first_frag; /* the first fragment of a datagram: ports, but not all of it */
};

enum parse_result {
	PARSE_OK = 0,
	PARSE_PASS,	 /* not IPv4 TCP/UDP/ICMP: not ours */
	PARSE_MALFORMED, /* bad or truncated header */
	PARSE_FRAGMENT,	 /* a later fragment: addresses, proto and ip_id are set */
	PARSE_ICMP,	 /* an unfragmented ICMP message: l4_off and the addresses are set */
};

static __always_inline struct hp_iface *iface_of(const struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex; /* map keys cannot point into the context */

	return bpf_map_lookup_elem(&hp_ifaces, &ifindex);
}

/*
 * Connection times: CLOCK_MONOTONIC at jiffy resolution, plenty for timeouts
 * in seconds and far cheaper per packet than bpf_ktime_get_ns().
 */
static __always_inline __u64 now_ns(void)
{
	return bpf_ktime_get_coarse_ns();
}

static __always_inline struct hp_stats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&hp_stats, &zero);
}

/*
 * Copy @len header bytes at @off: straight from the linear packet data when
 * they are there (nearly always), through the helper when they are not.
 */
static __always_inline int load(struct __sk_buff *skb, __u32 off, void *to, const __u32 len)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (off <= L3_OFF + 60 && data + off + len <= end) {
		__builtin_memcpy(to, data + off, len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

static __always_inline int parse(struct __sk_buff *skb, struct pkt *p)
{
	struct iphdr iph;
	__u32 ihl_len, tot_len;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return PARSE_PASS;
	if (load(skb, L3_OFF, &iph, sizeof(iph)))
		return PARSE_MALFORMED;
	if (iph.protocol != IPPROTO_TCP && iph.protocol != IPPROTO_UDP &&
	    iph.protocol != IPPROTO_ICMP)
		return PARSE_PASS;
	ihl_len = iph.ihl * 4;
	tot_len = bpf_ntohs(iph.tot_len);
	if (iph.version != 4 || ihl_len < sizeof(iph) || tot_len < ihl_len ||
	    tot_len > skb->len - L3_OFF)
		return PARSE_MALFORMED;

	p->l4_off = L3_OFF + ihl_len;
	p->l3_end = L3_OFF + tot_len;
	p->t.saddr = iph.saddr;
	p->t.daddr = iph.daddr;
	p->t.proto = iph.protocol;
	p->t.pad = 0;
	p->tcp_flags = 0;
	p->ip_id = iph.id;
	p->first_frag = !!(iph.frag_off & bpf_htons(IP_MF));
	if (iph.frag_off & bpf_htons(IP_OFFSET))
		return PARSE_FRAGMENT;
	if (iph.protocol == IPPROTO_ICMP)
		return p->first_frag ? PARSE_PASS : PARSE_ICMP;

	if (iph.protocol == IPPROTO_TCP) {
		struct tcphdr th;

		if (tot_len < ihl_len + sizeof(th) || load(skb, p->l4_off, &th, sizeof(th)))
			return PARSE_MALFORMED;
		if (th.doff < 5 || tot_len < ihl_len + th.doff * 4)
			return PARSE_MALFORMED;
		p->t.sport = th.source;
		p->t.dport = th.dest;
		p->tcp_flags = ((__u8 *)&th)[13];
		p->csum_off = p->l4_off + offsetof(struct tcphdr, check);
	} else {
		struct udphdr uh;
		__u32 ulen;

		if (tot_len < ihl_len + sizeof(uh) || load(skb, p->l4_off, &uh, sizeof(uh)))
			return PARSE_MALFORMED;
		ulen = bpf_ntohs(uh.len);
		/* A first fragment holds only the start of the datagram. */
		if (ulen < sizeof(uh) || (!p->first_frag && ulen > tot_len - ihl_len))
			return PARSE_MALFORMED;
		p->t.sport = uh.source;
		p->t.dport = uh.dest;
		p->csum_off = p->l4_off + offsetof(struct udphdr, check);
	}
	return PARSE_OK;
}

/*
 * Mark a packet whose destination ingress rewrote (to a server, or back to
 * a hairpinned client): netfilter's forward chain sees only the new
 * address, and the mark tells it the packet came through a mapping rather
 * than straight to that address ("ct status dnat" for netfilter's own NAT).
 */
static __always_inline void mark_rewritten(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct hp_config *cfg = bpf_map_lookup_elem(&hp_config, &zero);

	if (cfg && cfg->mark_mask)
		skb->mark = (skb->mark & ~cfg->mark_mask) | (cfg->mark & cfg->mark_mask);
}

/*
 * Rewrite the source (@dst 0) or destination address of the IP header and
 * its checksum; a destination rewritten on the way in is marked. A TCP/UDP
 * checksum that covers the address is the caller's to update first.
 */
static __always_inline int set_addr(struct __sk_buff *skb, int dst, __be32 old_addr,
				    __be32 new_addr)
{
	__u32 off = L3_OFF + (dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr));

	if (bpf_l3_csum_replace(skb, L3_OFF + offsetof(struct iphdr, check), old_addr, new_addr,
				sizeof(new_addr)) ||
	    bpf_skb_store_bytes(skb, off, &new_addr, sizeof(new_addr), 0))
		return -1;
	if (dst)
		mark_rewritten(skb);
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
static __always_inline void frag_note(const struct pkt *p, int dst, __be32 new_addr)
{
	struct hp_frag_key k;
	struct hp_frag f = {
		.addr = new_addr,
		.dst = dst,
		.created_ns = now_ns(),
	};

	frag_key(&k, p);
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
static __always_inline int frag_later(struct __sk_buff *skb, const struct pkt *p,
				      struct hp_stats *st)
{
	struct hp_frag_key k;
	struct hp_frag *f;

	frag_key(&k, p);
	f = bpf_map_lookup_elem(&hp_frags, &k);
	if (!f || now_ns() - f->created_ns > HP_FRAG_TIMEOUT * NSEC_PER_SEC) {
		st->frag_unknown++;
		return TC_ACT_OK;
	}
	if (set_addr(skb, f->dst, f->dst ? p->t.daddr : p->t.saddr, f->addr))
		return TC_ACT_SHOT;
	st->fragments++;
	return TC_ACT_OK;
}

/*
 * Rewrite one address and port. The IPv4 header checksum covers the address;
 * the L4 checksum covers it through the pseudo header and the port directly.
 * A UDP checksum of zero means "none" and must stay zero (MARK_MANGLED_0).
 */
static __always_inline int rewrite(struct __sk_buff *skb, const struct pkt *p, int dst,
				   __be32 new_addr, __be16 new_port)
{
	__u32 port_off = p->l4_off + (dst ? 2 : 0);
	__be32 old_addr = dst ? p->t.daddr : p->t.saddr;
	__be16 old_port = dst ? p->t.dport : p->t.sport;
	__u64 l4_flags = p->t.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (old_addr != new_addr) {
		if (bpf_l4_csum_replace(skb, p->csum_off, old_addr, new_addr,
					l4_flags | BPF_F_PSEUDO_HDR | sizeof(new_addr)) ||
		    set_addr(skb, dst, old_addr, new_addr))
			return -1;
	} else if (dst) {
		mark_rewritten(skb); /* a port-only DNAT is a rewrite too */
	}
	if (old_port != new_port) {
		if (bpf_l4_csum_replace(skb, p->csum_off, old_port, new_port,
					l4_flags | sizeof(new_port)) ||
		    bpf_skb_store_bytes(skb, port_off, &new_port, sizeof(new_port), 0))
			return -1;
	}
	if (p->first_frag)
		frag_note(p, dst, new_addr);
	return 0;
}

static __always_inline int expired(const struct hp_conn *c, __u64 now)
{
	__u32 zero = 0;
	struct hp_config *cfg = bpf_map_lookup_elem(&hp_config, &zero);

	return cfg && now - c->last_ns > hp_conn_timeout(cfg, c) * NSEC_PER_SEC;
}

static __always_inline void touch(struct hp_conn *c, const struct pkt *p, __u64 now)
{
	c->last_ns = now;
	if (p->tcp_flags & (TH_FIN | TH_RST))
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

/* A TCP SYN without ACK on a closing connection starts a new one. */
static __always_inline int reopens(const struct hp_conn *c, const struct pkt *p)
{
	return (c->flags & HP_CONN_CLOSING) && (p->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN;
}

/*
 * Count a packet of connection @c against its mapping's public port (@opens:
 * its first). A GSO packet counts as the packets it will be on the wire.
 */
static __always_inline void count_mapping(const struct __sk_buff *skb, const struct hp_conn *c,
					  int opens)
{
	struct hp_map_key k = {
		.addr = c->public_addr,
		.port = c->public_port,
		.proto = c->proto,
	};
	struct hp_map_counters *mc = bpf_map_lookup_elem(&hp_map_counters, &k);
	__u32 segs = skb->gso_segs ?: 1;
	__u32 bytes = skb->len - L3_OFF;

	if (!mc)
		return;
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

/*
 * Write a conns entry; a key new to the table is counted (inserts less live
 * entries = evictions). Looked up first rather than tried with BPF_NOEXIST:
 * an LRU update takes a free node before it checks the key, so a failed
 * attempt on a full table could evict another entry for nothing.
 */
static __always_inline int conn_put(const struct hp_conn_key *k, const struct hp_conn *c,
				    struct hp_stats *st)
{
	int is_new = !bpf_map_lookup_elem(&hp_conns, k);

	if (bpf_map_update_elem(&hp_conns, k, c, BPF_ANY))
		return -1;
	if (is_new)
		st->conn_inserts++;
	return 0;
}

/* Entries of one connection: same client, public endpoint and server. */
static __always_inline int same_conn(const struct hp_conn *a, const struct hp_conn *b)
{
	return a->client_addr == b->client_addr && a->client_port == b->client_port &&
	       a->public_addr == b->public_addr && a->public_port == b->public_port &&
	       a->server_addr == b->server_addr && a->server_port == b->server_port;
}

/*
 * Is @old, found under a key new connection @c needs, an entry of another
 * connection that is still alive? Taking it would rewrite the live one's
 * packets with the newcomer's addresses. Each entry keeps the times and
 * flags of its own direction, so the answer takes the connection's ORIG
 * entry into account too: once either side closed, or both went quiet past
 * the timeout, the tuple may be reused.
 */
static __always_inline int conn_taken(const struct hp_conn *old, const struct hp_conn *c, __u64 now)
{
	struct hp_conn_key k;
	struct hp_conn *o;
	int closing, fresh;

	if (!old || same_conn(old, c))
		return 0;
	closing = old->flags & HP_CONN_CLOSING;
	fresh = !expired(old, now);
	conn_key(&k, old->client_addr, old->client_port, old->public_addr, old->public_port,
		 old->proto, HP_DIR_INGRESS);
	o = bpf_map_lookup_elem(&hp_conns, &k);
	if (o && o->kind == HP_CONN_ORIG && same_conn(o, old)) {
		closing |= o->flags & HP_CONN_CLOSING;
		fresh |= !expired(o, now);
	}
	return fresh && !closing;
}

/*
 * The connection's FWD_SNAT entry @f outlived its ORIG entry (a full table
 * evicts the least recently used): is its SNAT port still the connection's,
 * so that the server keeps seeing the same source? It is while the port's
 * REPLY_SNAT entry points back at this connection, or can be put back.
 */
static __always_inline int snat_still_ours(const struct hp_conn *f, const struct hp_conn *c,
					   struct hp_stats *st)
{
	struct hp_conn_key k;
	struct hp_conn *r, nr;

	conn_key(&k, f->server_addr, f->server_port, f->snat_addr, f->snat_port, f->proto,
		 HP_DIR_INGRESS);
	r = bpf_map_lookup_elem(&hp_conns, &k);
	if (r)
		return r->kind == HP_CONN_REPLY_SNAT && same_conn(r, c);
	nr = *c;
	nr.kind = HP_CONN_REPLY_SNAT;
	nr.snat_addr = f->snat_addr;
	nr.snat_port = f->snat_port;
	if (bpf_map_update_elem(&hp_conns, &k, &nr, BPF_NOEXIST))
		return 0;
	st->conn_inserts++;
	return 1;
}

/* The SNAT mode and scope of a new connection to @m, as HP_CONN_* flags. */
static __always_inline __u8 snat_flags(const struct hp_map_val *m)
{
	__u32 zero = 0, mode, subnet;
	struct hp_config *cfg;

	if (m->flags & HP_MAP_SNAT_OWN) {
		mode = (m->flags >> HP_MAP_SNAT_SHIFT) & 3;
		subnet = m->flags & HP_MAP_SCOPE_SUBNET;
	} else {
		cfg = bpf_map_lookup_elem(&hp_config, &zero);
		if (!cfg)
			return 0;
		mode = cfg->snat_mode;
		subnet = cfg->snat_scope == HP_SCOPE_SUBNET;
	}
	return (mode == HP_SNAT_EXTERNAL ? HP_CONN_SNAT_EXTERNAL : 0) |
	       (mode == HP_SNAT_OFF ? HP_CONN_NO_SNAT : 0) | (subnet ? HP_CONN_SNAT_SUBNET : 0);
}

enum {
	CONN_OK = 0,
	CONN_FULL = -1,	 /* the table refused the entry */
	CONN_CLASH = -2, /* a live connection holds the reply tuple */
};

/*
 * A new connection to a mapping: write its state, return the ORIG entry's
 * copy. Nothing is written when a live connection of another public
 * endpoint holds the reply tuple (the same client port to the same server
 * through two public ports); netfilter would remap the source port, hairpin
 * drops the packet and counts it in conn_clash.
 */
static __always_inline int conn_create(struct __sk_buff *skb, const struct pkt *p,
				       const struct hp_map_val *m, struct hp_conn *c, __u64 now,
				       struct hp_stats *st)
{
	struct hp_iface *ifc = iface_of(skb);
	struct hp_conn_key k_reply, k_fwd;
	struct hp_conn *old;
	int fwd;

	__builtin_memset(c, 0, sizeof(*c));
	c->client_addr = p->t.saddr;
	c->client_port = p->t.sport;
	c->public_addr = p->t.daddr;
	c->public_port = p->t.dport;
	c->server_addr = m->addr;
	c->server_port = m->port;
	c->proto = p->t.proto;
	c->created_ns = now;
	c->last_ns = now;
	if (ifc && ifc->role == HP_ROLE_LAN)
		c->flags |= HP_CONN_HAIRPIN | snat_flags(m);
	touch(c, p, now);
	/* A hairpinned client is source-NATed at egress, by its FWD_SNAT entry. */
	fwd = (c->flags & HP_CONN_HAIRPIN) && !(c->flags & HP_CONN_NO_SNAT);

	conn_key(&k_reply, c->server_addr, c->server_port, c->client_addr, c->client_port, c->proto,
		 HP_DIR_EGRESS);
	if (conn_taken(bpf_map_lookup_elem(&hp_conns, &k_reply), c, now))
		return CONN_CLASH;
	if (fwd) {
		conn_key(&k_fwd, c->client_addr, c->client_port, c->server_addr, c->server_port,
			 c->proto, HP_DIR_EGRESS);
		old = bpf_map_lookup_elem(&hp_conns, &k_fwd);
		if (conn_taken(old, c, now))
			return CONN_CLASH;
		if (old && old->snat_port && same_conn(old, c) && snat_still_ours(old, c, st)) {
			c->snat_addr = old->snat_addr;
			c->snat_port = old->snat_port;
		}
	}

	c->kind = HP_CONN_ORIG;
	if (conn_put(&p->t, c, st))
		return CONN_FULL;
	c->kind = HP_CONN_REPLY_DNAT;
	if (conn_put(&k_reply, c, st))
		return CONN_FULL;
	if (fwd) {
		c->kind = HP_CONN_FWD_SNAT;
		if (conn_put(&k_fwd, c, st))
			return CONN_FULL;
	}
	c->kind = HP_CONN_ORIG;
	return CONN_OK;
}

/*
 * Ones' complement arithmetic on checksum fields as they lie in the packet.
 * RFC 1624: HC' = ~(~HC + m' - m), where @diff is m' - m as bpf_csum_diff()
 * sums it.
 */
static __always_inline __sum16 csum_adjust(__sum16 check, __s64 diff)
{
	__u64 s = (__u16)~check + (__u64)(__u32)diff;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__sum16)~s;
}

/* The start of the packet an ICMP error quotes: its IP header and 8 bytes of TCP/UDP. */
struct icmp_quote {
	struct iphdr ip;
	__be16 sport;
	__be16 dport;
	__be16 w2; /* UDP: length; TCP: half the sequence number */
	__be16 w3; /* UDP: checksum */
};

/*
 * An ICMP error (unreachable, fragmentation needed, time exceeded, parameter
 * problem) quotes a packet that went the other way. When that packet belongs
 * to a connection, the error is translated the way the connection's own
 * packets in the error's direction are: at ingress the quoted source and the
 * outer destination, at egress the quoted destination and the outer source,
 * as netfilter's NAT does. The quoted IP and TCP/UDP checksums and the ICMP
 * checksum follow. Every other ICMP message (echo among them) is left alone.
 */
static __always_inline int icmp_error(struct __sk_buff *skb, const struct pkt *p,
				      struct hp_stats *st)
{
	__u32 qoff = p->l4_off + sizeof(struct icmphdr), ql4, tcp_csum_off;
	struct icmp_quote q, nq;
	struct icmphdr ih;
	struct hp_conn_key k;
	struct hp_conn *c;
	__be32 new_addr, old_addr;
	__be16 new_port;
	__be32 tcp_w[2];
	__s64 d_addr, d_l4, d_icmp;
	int ingress = p->t.dir == HP_DIR_INGRESS, has_tcp_csum = 0;

	if (load(skb, p->l4_off, &ih, sizeof(ih)))
		return TC_ACT_OK;
	if (ih.type != ICMP_DEST_UNREACH && ih.type != ICMP_TIME_EXCEEDED &&
	    ih.type != ICMP_PARAMETERPROB)
		return TC_ACT_OK;
	if (load(skb, qoff, &q.ip, sizeof(q.ip)))
		return TC_ACT_OK;
	if (q.ip.version != 4 || q.ip.ihl < 5 ||
	    (q.ip.protocol != IPPROTO_TCP && q.ip.protocol != IPPROTO_UDP) ||
	    (q.ip.frag_off & bpf_htons(IP_OFFSET)))
		return TC_ACT_OK;
	/* Only what the ICMP message holds is quoted: the frame may have padding after it. */
	ql4 = qoff + q.ip.ihl * 4;
	if (ql4 + 8 > p->l3_end || load(skb, ql4, &q.sport, 8))
		return TC_ACT_OK;
	/* Only an error sent to the quoted packet's sender can be about it. */
	if (p->t.daddr != q.ip.saddr)
		return TC_ACT_OK;

	/* The quoted packet reversed is what this hook sees of the connection. */
	conn_key(&k, q.ip.daddr, q.dport, q.ip.saddr, q.sport, q.ip.protocol, p->t.dir);
	c = bpf_map_lookup_elem(&hp_conns, &k);
	if (!c)
		return TC_ACT_OK;
	switch (c->kind) {
	case HP_CONN_ORIG:
		new_addr = c->server_addr;
		new_port = c->server_port;
		break;
	case HP_CONN_REPLY_SNAT:
		new_addr = c->client_addr;
		new_port = c->client_port;
		break;
	case HP_CONN_REPLY_DNAT:
		new_addr = c->public_addr;
		new_port = c->public_port;
		break;
	case HP_CONN_FWD_SNAT:
		if (!c->snat_port)
			return TC_ACT_OK;
		new_addr = c->snat_addr;
		new_port = c->snat_port;
		break;
	default:
		return TC_ACT_OK;
	}

	nq = q;
	if (ingress) {
		old_addr = q.ip.saddr;
		nq.ip.saddr = new_addr;
		nq.sport = new_port;
	} else {
		old_addr = p->t.saddr;
		nq.ip.daddr = new_addr;
		nq.dport = new_port;
	}
	d_addr = bpf_csum_diff((__be32 *)&q.ip.saddr, 8, (__be32 *)&nq.ip.saddr, 8, 0);
	d_l4 = bpf_csum_diff((__be32 *)&q.sport, 4, (__be32 *)&nq.sport, 4, d_addr);
	nq.ip.check = csum_adjust(q.ip.check, d_addr);
	if (q.ip.protocol == IPPROTO_UDP && q.w3) {
		nq.w3 = csum_adjust(q.w3, d_l4);
		if (!nq.w3)
			nq.w3 = 0xffff; /* zero would mean "no checksum" */
	}
	/* A quoted TCP header is often whole: its checksum is then kept right too. */
	tcp_csum_off = ql4 + offsetof(struct tcphdr, check);
	if (q.ip.protocol == IPPROTO_TCP && tcp_csum_off + 4 <= p->l3_end &&
	    !load(skb, tcp_csum_off, &tcp_w[0], 4)) {
		tcp_w[1] = tcp_w[0];
		((__sum16 *)&tcp_w[1])[0] = csum_adjust(((__sum16 *)&tcp_w[0])[0], d_l4);
		has_tcp_csum = 1;
	}
	d_icmp = bpf_csum_diff((__be32 *)&q, sizeof(q), (__be32 *)&nq, sizeof(nq), 0);
	if (has_tcp_csum)
		d_icmp = bpf_csum_diff(&tcp_w[0], 4, &tcp_w[1], 4, d_icmp);

	if (bpf_l4_csum_replace(skb, p->l4_off + offsetof(struct icmphdr, checksum), 0, d_icmp,
				0) ||
	    bpf_skb_store_bytes(skb, qoff, &nq.ip, sizeof(nq.ip), 0) ||
	    bpf_skb_store_bytes(skb, ql4, &nq.sport, 8, 0) ||
	    (has_tcp_csum && bpf_skb_store_bytes(skb, tcp_csum_off, &tcp_w[1], 4, 0)))
		return TC_ACT_SHOT;
	/* The outer header: no pseudo header in ICMP, so only the IP checksum. */
	if ((ingress || old_addr != new_addr) && set_addr(skb, ingress, old_addr, new_addr))
		return TC_ACT_SHOT;
	st->icmp_errors++;
	return TC_ACT_OK;
}

#define TRANSLATE (-1) /* classify(): a TCP/UDP packet for the hook's own lookup */

/*
 * What both hooks do first: parse, and hand ICMP errors and later fragments
 * to their own paths. Returns their verdict, TC_ACT_OK for what is not ours,
 * or TRANSLATE with @p filled in.
 */
static __always_inline int classify(struct __sk_buff *skb, struct pkt *p, __u8 dir,
				    struct hp_stats *st)
{
	int ret = parse(skb, p);

	p->t.dir = dir;
	switch (ret) {
	case PARSE_OK:
		st->packets++;
		return TRANSLATE;
	case PARSE_ICMP:
		return icmp_error(skb, p, st);
	case PARSE_FRAGMENT:
		return frag_later(skb, p, st);
	case PARSE_MALFORMED:
		st->malformed++;
		break;
	}
	return TC_ACT_OK;
}

/*
 * Only a SYN opens a TCP connection to a mapping. Another TCP packet for a
 * mapped port with no state of ours belongs to someone else: most likely a
 * reply to a connection the router itself or netfilter's masquerade made
 * from that port, which conntrack knows and hairpin must not take over. The
 * exceptions are connections of ours whose ORIG entry @orig went stale, or
 * was evicted while their reply entry lives on.
 */
static __always_inline int tcp_may_open(const struct pkt *p, const struct hp_conn *orig,
					const struct hp_map_val *m)
{
	struct hp_conn_key k;
	struct hp_conn *r;

	if ((p->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN || (orig && orig->kind == HP_CONN_ORIG))
		return 1;
	conn_key(&k, m->addr, m->port, p->t.saddr, p->t.sport, IPPROTO_TCP, HP_DIR_EGRESS);
	r = bpf_map_lookup_elem(&hp_conns, &k);
	return r && r->kind == HP_CONN_REPLY_DNAT && r->public_addr == p->t.daddr &&
	       r->public_port == p->t.dport;
}

SEC("tc")
int hp_ingress(struct __sk_buff *skb)
{
	struct hp_stats *st = stats();
	struct hp_map_key mk = {};
	struct hp_map_val *m;
	struct hp_conn *c, nc;
	struct pkt p;
	__u64 now;
	int ret;

	if (!st)
		return TC_ACT_OK;
	ret = classify(skb, &p, HP_DIR_INGRESS, st);
	if (ret != TRANSLATE)
		return ret;

	c = bpf_map_lookup_elem(&hp_conns, &p.t);
	if (c) {
		now = now_ns();
		if (c->kind == HP_CONN_REPLY_SNAT) {
			touch(c, &p, now);
			if (rewrite(skb, &p, 1, c->client_addr, c->client_port))
				return TC_ACT_SHOT;
			st->unsnat++;
			return TC_ACT_OK;
		}
		if (c->kind == HP_CONN_ORIG && !expired(c, now) && !reopens(c, &p)) {
			touch(c, &p, now);
			if (rewrite(skb, &p, 1, c->server_addr, c->server_port))
				return TC_ACT_SHOT;
			count_mapping(skb, c, 0);
			st->dnat++;
			return TC_ACT_OK;
		}
		if (c->kind == HP_CONN_ORIG)
			st->conns_expired++;
	}

	mk.addr = p.t.daddr;
	mk.port = p.t.dport;
	mk.proto = p.t.proto;
	m = bpf_map_lookup_elem(&hp_mappings, &mk);
	if (!m)
		return TC_ACT_OK;
	if (p.t.proto == IPPROTO_TCP && !tcp_may_open(&p, c, m)) {
		st->tcp_no_syn++;
		return TC_ACT_OK;
	}
	now = now_ns();
	ret = conn_create(skb, &p, m, &nc, now, st);
	if (ret == CONN_CLASH)
		st->conn_clash++;
	else if (ret)
		st->conn_table_full++;
	if (ret)
		return TC_ACT_SHOT;
	st->conns_new++;
	if (rewrite(skb, &p, 1, nc.server_addr, nc.server_port))
		return TC_ACT_SHOT;
	count_mapping(skb, &nc, 1);
	st->dnat++;
	return TC_ACT_OK;
}

/*
 * Is the SNAT port held by REPLY_SNAT entry @r still in use? It is while the
 * connection that owns it is alive: its FWD_SNAT entry still points at this
 * port and one direction has seen traffic within the timeout.
 */
static __always_inline int snat_port_busy(const struct hp_conn *r, __u64 now)
{
	struct hp_conn_key k;
	struct hp_conn *f;

	conn_key(&k, r->client_addr, r->client_port, r->server_addr, r->server_port, r->proto,
		 HP_DIR_EGRESS);
	f = bpf_map_lookup_elem(&hp_conns, &k);
	if (!f || f->snat_addr != r->snat_addr || f->snat_port != r->snat_port)
		return 0;
	return !expired(f, now) || !expired(r, now);
}

/*
 * Choose the hairpin SNAT port for connection @c leaving through this
 * interface: the client's own port if it lies in the range and is free,
 * otherwise the next free one from a hash of the client. Returns 0 with the
 * choice written into @c and the ORIG entry, -1 if no port is free.
 */
static __always_inline int snat_alloc(struct __sk_buff *skb, struct hp_conn *c, __u64 now,
				      struct hp_stats *st)
{
	struct hp_iface *ifc = iface_of(skb);
	__u32 zero = 0, min, range, start, cport, i;
	struct hp_config *cfg = bpf_map_lookup_elem(&hp_config, &zero);
	struct hp_conn_key k;
	struct hp_conn r, *old;

	if (!ifc || !ifc->snat_addr || !cfg)
		return 1;
	/* Scope "subnet": a client from another subnet keeps its address. */
	if ((c->flags & HP_CONN_SNAT_SUBNET) && ifc->prefix_len &&
	    ((c->client_addr ^ ifc->snat_addr) & bpf_htonl(~0U << (32 - ifc->prefix_len)))) {
		c->flags |= HP_CONN_NO_SNAT;
		return 1;
	}
	min = cfg->snat_port_min;
	if (cfg->snat_port_max < min)
		return -1;
	range = cfg->snat_port_max - min + 1;
	cport = bpf_ntohs(c->client_port);
	if (cport >= min && cport - min < range)
		start = cport - min;
	else
		start = ((__u32)c->client_addr * 2654435761U ^ cport * 40503U) % range;

	r = *c;
	r.kind = HP_CONN_REPLY_SNAT;
	r.snat_addr = (c->flags & HP_CONN_SNAT_EXTERNAL) ? c->public_addr : ifc->snat_addr;
	for (i = 0; i < HP_SNAT_TRIES && i < range; i++) {
		r.snat_port = bpf_htons(min + (start + i) % range);
		conn_key(&k, r.server_addr, r.server_port, r.snat_addr, r.snat_port, r.proto,
			 HP_DIR_INGRESS);
		old = bpf_map_lookup_elem(&hp_conns, &k);
		if (!old) {
			if (bpf_map_update_elem(&hp_conns, &k, &r, BPF_NOEXIST))
				continue; /* taken meanwhile */
			st->conn_inserts++;
			goto found;
		}
		if (old->kind == HP_CONN_REPLY_SNAT && !snat_port_busy(old, now) &&
		    !bpf_map_update_elem(&hp_conns, &k, &r, BPF_EXIST))
			goto found;
	}
	return -1;

found:
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

SEC("tc")
int hp_egress(struct __sk_buff *skb)
{
	struct hp_stats *st = stats();
	struct hp_conn *c;
	struct pkt p;
	__u64 now;
	int ret;

	if (!st)
		return TC_ACT_OK;
	ret = classify(skb, &p, HP_DIR_EGRESS, st);
	if (ret != TRANSLATE)
		return ret;

	c = bpf_map_lookup_elem(&hp_conns, &p.t);
	if (!c)
		return TC_ACT_OK;
	now = now_ns();
	touch(c, &p, now);

	if (c->kind == HP_CONN_REPLY_DNAT) {
		if (rewrite(skb, &p, 0, c->public_addr, c->public_port))
			return TC_ACT_SHOT;
		count_mapping(skb, c, 0);
		st->undnat++;
		return TC_ACT_OK;
	}
	if (c->kind != HP_CONN_FWD_SNAT)
		return TC_ACT_OK;
	if (!c->snat_port) {
		if (c->flags & HP_CONN_NO_SNAT)
			return TC_ACT_OK;
		ret = snat_alloc(skb, c, now, st);
		if (ret > 0)
			return TC_ACT_OK; /* this interface has no SNAT address */
		if (ret < 0) {
			st->snat_exhausted++;
			return TC_ACT_SHOT;
		}
	}
	if (rewrite(skb, &p, 0, c->snat_addr, c->snat_port))
		return TC_ACT_SHOT;
	st->snat++;
	return TC_ACT_OK;
}
