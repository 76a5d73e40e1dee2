// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test packets. Checksums here are computed over the whole header or segment
 * from first principles (RFC 1071), never incrementally, so that they check
 * the datapath's incremental updates instead of repeating them.
 */
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/icmp.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "pkt.h"

#define IP_OFF ETH_HLEN

static __u32 sum16(const void *data, size_t len, __u32 sum)
{
	const unsigned char *b = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	return sum;
}

static __u16 fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static size_t ihl_len(const struct pkt *p)
{
	return (p->data[IP_OFF] & 0x0f) * 4;
}

/* Sum of the pseudo header and the L4 segment as it stands in the packet. */
static __u32 l4_sum(const struct pkt *p)
{
	const struct iphdr *ip = (const void *)(p->data + IP_OFF);
	size_t l4 = IP_OFF + ihl_len(p), l4_len = ntohs(ip->tot_len) - ihl_len(p);
	__u32 sum = 0;

	sum = sum16(&ip->saddr, 4, sum);
	sum = sum16(&ip->daddr, 4, sum);
	sum += ip->protocol;
	sum += l4_len;
	return sum16(p->data + l4, l4_len, sum);
}

void pkt_build(struct pkt *p, const struct flow *f)
{
	struct ethhdr *eth = (void *)p->data;
	struct iphdr *ip = (void *)(p->data + IP_OFF);
	size_t l4 = IP_OFF + sizeof(*ip) + f->ip_opt_len;
	size_t l4_hlen = f->proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);
	int i;

	memset(p, 0, sizeof(*p));
	memcpy(eth->h_dest, PKT_DST_MAC, ETH_ALEN);
	memcpy(eth->h_source, PKT_SRC_MAC, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = (sizeof(*ip) + f->ip_opt_len) / 4;
	ip->tot_len = htons(sizeof(*ip) + f->ip_opt_len + l4_hlen + f->payload_len);
	ip->id = htons(0x1234);
	ip->frag_off = htons(0x4000); /* DF */
	ip->ttl = 64;
	ip->protocol = f->proto;
	ip->saddr = htonl(f->saddr);
	ip->daddr = htonl(f->daddr);
	/* Options: NOPs ending in an End of Option List, enough to move the L4 header. */
	for (i = 0; i < f->ip_opt_len; i++)
		p->data[IP_OFF + sizeof(*ip) + i] = i == f->ip_opt_len - 1 ? 0 : 1;
	ip->check = htons(~fold(sum16(ip, sizeof(*ip) + f->ip_opt_len, 0)) & 0xffff);

	for (i = 0; i < f->payload_len; i++)
		p->data[l4 + l4_hlen + i] = 'a' + i % 26;
	p->len = l4 + l4_hlen + f->payload_len;

	if (f->proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)(p->data + l4);

		th->source = htons(f->sport);
		th->dest = htons(f->dport);
		th->seq = htonl(PKT_SEQ);
		th->ack_seq = htonl(f->tcp_ack);
		th->doff = 5;
		p->data[l4 + 13] = f->tcp_flags;
		th->window = htons(65535);
		th->check = htons(~fold(l4_sum(p)) & 0xffff);
	} else {
		struct udphdr *uh = (void *)(p->data + l4);
		__u16 c;

		uh->source = htons(f->sport);
		uh->dest = htons(f->dport);
		uh->len = htons(l4_hlen + f->payload_len);
		if (!f->udp_no_csum) {
			c = ~fold(l4_sum(p)) & 0xffff;
			uh->check = htons(c ? c : 0xffff);
		}
	}
}

bool pkt_parse(const struct pkt *p, struct flow *f)
{
	const struct iphdr *ip = (const void *)(p->data + IP_OFF);
	size_t l4;

	memset(f, 0, sizeof(*f));
	if (p->len < IP_OFF + sizeof(*ip) || ip->version != 4 || ihl_len(p) < sizeof(*ip))
		return false;
	l4 = IP_OFF + ihl_len(p);
	if (p->len < l4 + 8)
		return false;
	f->saddr = ntohl(ip->saddr);
	f->daddr = ntohl(ip->daddr);
	f->proto = ip->protocol;
	f->ip_opt_len = ihl_len(p) - sizeof(*ip);
	f->sport = (p->data[l4] << 8) | p->data[l4 + 1];
	f->dport = (p->data[l4 + 2] << 8) | p->data[l4 + 3];
	if (f->proto == IPPROTO_TCP)
		f->tcp_flags = p->data[l4 + 13];
	return true;
}

bool pkt_ip_csum_ok(const struct pkt *p)
{
	return fold(sum16(p->data + IP_OFF, ihl_len(p), 0)) == 0xffff;
}

bool pkt_l4_csum_ok(const struct pkt *p)
{
	return fold(l4_sum(p)) == 0xffff;
}

__u16 pkt_udp_csum_field(const struct pkt *p)
{
	size_t off = IP_OFF + ihl_len(p) + 6;

	return (p->data[off] << 8) | p->data[off + 1];
}

void pkt_build_icmp(struct pkt *p, __u32 saddr, __u32 daddr, __u8 type, __u8 code,
		    const struct pkt *quoted, size_t quote_len)
{
	struct iphdr *ip = (void *)(p->data + IP_OFF);
	struct icmphdr *ih = (void *)(p->data + IP_OFF + sizeof(*ip));
	size_t qlen = quote_len ? quote_len : quoted->len - IP_OFF;
	struct flow f = { .saddr = saddr, .daddr = daddr, .proto = IPPROTO_UDP };

	pkt_build(p, &f); /* Ethernet and IPv4 header; the rest is rewritten below */
	memset(ih, 0, sizeof(*ih));
	ih->type = type;
	ih->code = code;
	if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED)
		ih->un.frag.mtu = htons(1280);
	memcpy(p->data + IP_OFF + sizeof(*ip) + sizeof(*ih), quoted->data + IP_OFF, qlen);
	p->len = IP_OFF + sizeof(*ip) + sizeof(*ih) + qlen;
	ip->protocol = IPPROTO_ICMP;
	ip->frag_off = 0;
	ip->tot_len = htons(p->len - IP_OFF);
	ip->check = 0;
	ip->check = htons(~fold(sum16(ip, sizeof(*ip), 0)) & 0xffff);
	ih->checksum = htons(~fold(sum16(ih, p->len - IP_OFF - sizeof(*ip), 0)) & 0xffff);
}

bool pkt_icmp_csum_ok(const struct pkt *p)
{
	size_t l4 = IP_OFF + ihl_len(p);

	return fold(sum16(p->data + l4, p->len - l4, 0)) == 0xffff;
}

void pkt_icmp_quote(const struct pkt *p, struct pkt *quote)
{
	size_t q = IP_OFF + ihl_len(p) + sizeof(struct icmphdr);

	memset(quote, 0, sizeof(*quote));
	memcpy(quote->data, p->data, IP_OFF);
	memcpy(quote->data + IP_OFF, p->data + q, p->len - q);
	quote->len = IP_OFF + p->len - q;
}

static void set_ip(struct pkt *p, size_t payload, __u16 frag_off)
{
	struct iphdr *ip = (void *)(p->data + IP_OFF);

	ip->tot_len = htons(sizeof(*ip) + payload);
	ip->frag_off = htons(frag_off);
	ip->check = 0;
	ip->check = htons(~fold(sum16(ip, sizeof(*ip), 0)) & 0xffff);
	p->len = IP_OFF + sizeof(*ip) + payload;
}

void pkt_fragment(const struct pkt *whole, size_t split, struct pkt *first, struct pkt *later)
{
	size_t hdr = IP_OFF + sizeof(struct iphdr), payload = whole->len - hdr;

	*first = *whole;
	set_ip(first, split, 0x2000); /* MF */
	memset(later, 0, sizeof(*later));
	memcpy(later->data, whole->data, hdr);
	memcpy(later->data + hdr, whole->data + hdr + split, payload - split);
	set_ip(later, payload - split, split / 8);
}

void pkt_reassemble(const struct pkt *first, const struct pkt *later, struct pkt *whole)
{
	size_t hdr = IP_OFF + sizeof(struct iphdr);
	size_t a = first->len - hdr, b = later->len - hdr;

	*whole = *first;
	memcpy(whole->data + hdr + a, later->data + hdr, b);
	set_ip(whole, a + b, 0);
}

/* Where the L4 checksum of @p lies and how many bytes it covers; false if nowhere sane. */
static bool l4_span(const struct pkt *p, size_t *l4, size_t *len, size_t *csum_off)
{
	const struct iphdr *ip = (const void *)(p->data + IP_OFF);
	size_t ihl, tot;

	if (p->len < IP_OFF + sizeof(*ip) || p->data[12] != 0x08 || p->data[13] != 0x00 ||
	    ip->version != 4)
		return false;
	ihl = ihl_len(p);
	tot = ntohs(ip->tot_len);
	if (ihl < sizeof(*ip) || tot < ihl || IP_OFF + tot > p->len ||
	    (ntohs(ip->frag_off) & 0x3fff))
		return false;
	*l4 = IP_OFF + ihl;
	*len = tot - ihl;
	switch (ip->protocol) {
	case IPPROTO_TCP:
		*csum_off = *l4 + 16;
		return *len >= sizeof(struct tcphdr);
	case IPPROTO_UDP:
		*csum_off = *l4 + 6;
		return *len >= sizeof(struct udphdr) &&
		       (p->data[*csum_off] | p->data[*csum_off + 1]);
	case IPPROTO_ICMP:
		*csum_off = *l4 + 2;
		return *len >= sizeof(struct icmphdr);
	}
	return false;
}

static bool ip_span(const struct pkt *p)
{
	return p->len >= IP_OFF + sizeof(struct iphdr) && p->data[12] == 0x08 &&
	       p->data[13] == 0x00 && (p->data[IP_OFF] >> 4) == 4 && ihl_len(p) >= 20 &&
	       IP_OFF + ihl_len(p) <= p->len;
}

static __u32 l4_full_sum(const struct pkt *p, size_t l4, size_t len)
{
	const struct iphdr *ip = (const void *)(p->data + IP_OFF);
	__u32 sum = 0;

	if (ip->protocol != IPPROTO_ICMP) {
		sum = sum16(&ip->saddr, 4, sum);
		sum = sum16(&ip->daddr, 4, sum);
		sum += ip->protocol;
		sum += len;
	}
	return sum16(p->data + l4, len, sum);
}

void pkt_csums(const struct pkt *p, struct pkt_csums *c)
{
	size_t l4, len, csum_off;

	memset(c, 0, sizeof(*c));
	c->ip_checkable = ip_span(p);
	c->ip_ok = c->ip_checkable && fold(sum16(p->data + IP_OFF, ihl_len(p), 0)) == 0xffff;
	c->l4_checkable = l4_span(p, &l4, &len, &csum_off);
	c->l4_ok = c->l4_checkable && fold(l4_full_sum(p, l4, len)) == 0xffff;
}

void pkt_fix_csums(struct pkt *p)
{
	size_t l4, len, csum_off;
	__u16 c;

	if (l4_span(p, &l4, &len, &csum_off)) {
		p->data[csum_off] = p->data[csum_off + 1] = 0;
		c = ~fold(l4_full_sum(p, l4, len)) & 0xffff;
		if (!c && p->data[IP_OFF + 9] == IPPROTO_UDP)
			c = 0xffff;
		p->data[csum_off] = c >> 8;
		p->data[csum_off + 1] = c & 0xff;
	}
	if (ip_span(p)) {
		p->data[IP_OFF + 10] = p->data[IP_OFF + 11] = 0;
		c = ~fold(sum16(p->data + IP_OFF, ihl_len(p), 0)) & 0xffff;
		p->data[IP_OFF + 10] = c >> 8;
		p->data[IP_OFF + 11] = c & 0xff;
	}
}

void pkt_partial_csum(struct pkt *p)
{
	const struct iphdr *ip = (const void *)(p->data + IP_OFF);
	size_t l4, len, csum_off;
	__u32 sum = 0;
	__u16 c;

	if (!l4_span(p, &l4, &len, &csum_off))
		return;
	sum = sum16(&ip->saddr, 4, sum);
	sum = sum16(&ip->daddr, 4, sum);
	sum += ip->protocol;
	sum += len;
	c = fold(sum);
	p->data[csum_off] = c >> 8;
	p->data[csum_off + 1] = c & 0xff;
}
