// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Another tool's XDP program, for the end-to-end tests to load with
 * xdp-loader beside hairpin's, as a router runs xdp-filter: it drops TCP and
 * UDP to port 7777 and passes everything else down libxdp's chain. Its
 * priority runs it before hairpin's (10).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

#define DROP_PORT 7777

struct {
	__uint(priority, 5);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(drop_port);

SEC("xdp")
int drop_port(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + sizeof(*eth);
	struct udphdr *l4;

	if ((void *)(iph + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || iph->ihl != 5 ||
	    (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP))
		return XDP_PASS;
	/* TCP's destination port is where UDP's is. */
	l4 = (void *)(iph + 1);
	if ((void *)(l4 + 1) > end)
		return XDP_PASS;
	return l4->dest == bpf_htons(DROP_PORT) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
