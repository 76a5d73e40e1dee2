/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* ICMP errors about a translated connection. */
#ifndef HP_BPF_ICMP_H
#define HP_BPF_ICMP_H

#include "conn.h"
#include "csum.h"
#include "rewrite.h"

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
static __always_inline int icmp_error(struct nat_ctx *nc)
{
	const struct pkt *p = &nc->p;
	struct hp_ctx *ctx = nc->ctx;
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

	if (ctx_load(ctx, p->l4_off, &ih, sizeof(ih)))
		return NAT_PASS;
	if (ih.type != ICMP_DEST_UNREACH && ih.type != ICMP_TIME_EXCEEDED &&
	    ih.type != ICMP_PARAMETERPROB)
		return NAT_PASS;
	if (ctx_load(ctx, qoff, &q.ip, sizeof(q.ip)))
		return NAT_PASS;
	if (q.ip.version != 4 || q.ip.ihl < 5 ||
	    (q.ip.protocol != IPPROTO_TCP && q.ip.protocol != IPPROTO_UDP) ||
	    (q.ip.frag_off & bpf_htons(IP_OFFSET)))
		return NAT_PASS;
	/* Only what the ICMP message holds is quoted: the frame may have padding after it. */
	ql4 = qoff + q.ip.ihl * 4;
	if (ql4 + 8 > p->l3_end || ctx_load(ctx, ql4, &q.sport, 8))
		return NAT_PASS;
	/* Only an error sent to the quoted packet's sender can be about it. */
	if (p->t.daddr != q.ip.saddr)
		return NAT_PASS;

	/* The quoted packet reversed is what this hook sees of the connection. */
	conn_key(&k, q.ip.daddr, q.dport, q.ip.saddr, q.sport, q.ip.protocol, p->t.dir);
	c = bpf_map_lookup_elem(&hp_conns, &k);
	if (!c)
		return NAT_PASS;
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
			return NAT_PASS;
		new_addr = c->snat_addr;
		new_port = c->snat_port;
		break;
	default:
		return NAT_PASS;
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
	    !ctx_load(ctx, tcp_csum_off, &tcp_w[0], 4)) {
		tcp_w[1] = tcp_w[0];
		((__sum16 *)&tcp_w[1])[0] = csum_adjust(((__sum16 *)&tcp_w[0])[0], d_l4);
		has_tcp_csum = 1;
	}
	d_icmp = bpf_csum_diff((__be32 *)&q, sizeof(q), (__be32 *)&nq, sizeof(nq), 0);
	if (has_tcp_csum)
		d_icmp = bpf_csum_diff(&tcp_w[0], 4, &tcp_w[1], 4, d_icmp);

	if (ctx_l4_csum_add(ctx, p->l4_off + offsetof(struct icmphdr, checksum), 0, d_icmp, 0) ||
	    ctx_store(ctx, qoff, &nq.ip, sizeof(nq.ip)) || ctx_store(ctx, ql4, &nq.sport, 8) ||
	    (has_tcp_csum && ctx_store(ctx, tcp_csum_off, &tcp_w[1], 4)))
		return NAT_DROP;
	/* The outer header: no pseudo header in ICMP, so only the IP checksum. */
	if ((ingress || old_addr != new_addr) && set_addr(nc, ingress, old_addr, new_addr))
		return NAT_DROP;
	nc->st->icmp_errors++;
	return NAT_PASS;
}

#endif /* HP_BPF_ICMP_H */
