/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Parsing an IPv4 TCP/UDP/ICMP packet into what the NAT core needs. Reads
 * through the hook adapter's ctx_load(), writes nothing.
 */
#ifndef HP_BPF_PARSE_H
#define HP_BPF_PARSE_H

#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "hairpin.h"

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

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
	__u8 ttl;
	__u8 ip_options; /* the IP header is longer than 20 bytes */
	__u16 tot_len;	 /* host order */
	__u8 tos;
	__u8 l4_hlen; /* TCP or UDP header length */
	__u8 l3_off;  /* where the IP header starts: after the Ethernet header, or at 0 */
	__u8 pad;
};

enum parse_result {
	PARSE_OK = 0,
	PARSE_PASS,	 /* not IPv4 TCP/UDP/ICMP: not ours */
	PARSE_MALFORMED, /* bad or truncated header */
	PARSE_FRAGMENT,	 /* a later fragment: addresses, proto and ip_id are set */
	PARSE_ICMP,	 /* an unfragmented ICMP message: l4_off and the addresses are set */
};

/* @p->l3_off says where the IP header starts. */
static __always_inline int parse(struct hp_ctx *ctx, struct pkt *p)
{
	struct iphdr iph;
	__u32 ihl_len, tot_len;

	if (ctx_l3_proto(ctx) != bpf_htons(ETH_P_IP))
		return PARSE_PASS;
	if (ctx_load(ctx, p->l3_off, &iph, sizeof(iph)))
		return PARSE_MALFORMED;
	if (iph.protocol != IPPROTO_TCP && iph.protocol != IPPROTO_UDP &&
	    iph.protocol != IPPROTO_ICMP)
		return PARSE_PASS;
	ihl_len = iph.ihl * 4;
	tot_len = bpf_ntohs(iph.tot_len);
	if (iph.version != 4 || ihl_len < sizeof(iph) || tot_len < ihl_len ||
	    tot_len > ctx_len(ctx) - p->l3_off)
		return PARSE_MALFORMED;

	p->l4_off = p->l3_off + ihl_len;
	p->l3_end = p->l3_off + tot_len;
	p->tot_len = tot_len;
	p->ttl = iph.ttl;
	p->tos = iph.tos;
	p->ip_options = ihl_len > sizeof(iph);
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

		if (tot_len < ihl_len + sizeof(th) || ctx_load(ctx, p->l4_off, &th, sizeof(th)))
			return PARSE_MALFORMED;
		if (th.doff < 5 || tot_len < ihl_len + th.doff * 4)
			return PARSE_MALFORMED;
		p->t.sport = th.source;
		p->t.dport = th.dest;
		p->tcp_flags = ((__u8 *)&th)[13];
		p->l4_hlen = th.doff * 4;
		p->csum_off = p->l4_off + offsetof(struct tcphdr, check);
	} else {
		struct udphdr uh;
		__u32 ulen;

		if (tot_len < ihl_len + sizeof(uh) || ctx_load(ctx, p->l4_off, &uh, sizeof(uh)))
			return PARSE_MALFORMED;
		ulen = bpf_ntohs(uh.len);
		/* A first fragment holds only the start of the datagram. */
		if (ulen < sizeof(uh) || (!p->first_frag && ulen > tot_len - ihl_len))
			return PARSE_MALFORMED;
		p->t.sport = uh.source;
		p->t.dport = uh.dest;
		p->l4_hlen = sizeof(uh);
		p->csum_off = p->l4_off + offsetof(struct udphdr, check);
	}
	return PARSE_OK;
}

#endif /* HP_BPF_PARSE_H */
