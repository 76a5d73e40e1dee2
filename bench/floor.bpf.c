// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The benchmark's floor for a TC fast path: forward every IPv4 packet at
 * ingress as hairpin's fast path does (FIB lookup, TTL, next-hop MACs,
 * redirect) with nothing else: no parsing beyond the IP header, no tables,
 * no translation, no program on the egress device. What it costs the
 * router is what any TC fast path costs before it does any NAT.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../bpf/csum.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int floor_fwd(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + sizeof(*eth);
	struct bpf_fib_lookup fib = {};

	if ((void *)(iph + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || iph->ttl <= 1)
		return TC_ACT_OK;
	fib.family = 2; /* AF_INET */
	fib.tos = iph->tos;
	fib.l4_protocol = iph->protocol;
	fib.tot_len = bpf_ntohs(iph->tot_len);
	fib.ipv4_src = iph->saddr;
	fib.ipv4_dst = iph->daddr;
	fib.ifindex = skb->ifindex;
	if (bpf_fib_lookup(skb, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return TC_ACT_OK;
	iph->check = csum_replace2(iph->check, bpf_htons(iph->ttl << 8),
				   bpf_htons((iph->ttl - 1) << 8));
	iph->ttl--;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect(fib.ifindex, 0);
}
