// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Another tool's TC program, for the end-to-end tests to put on a hook after
 * hairpin's: it counts the packets it sees in count_pkts and lets each
 * through to whatever comes next (TC_ACT_UNSPEC), as a monitoring tool does.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} count_pkts SEC(".maps");

SEC("tc")
int count(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&count_pkts, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
