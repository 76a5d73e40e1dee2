// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The benchmark's server: drop every frame at TC ingress, so that what the
 * router forwards is counted (the veth's rx counter) and costs nothing more.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int sink(struct __sk_buff *skb)
{
	return TC_ACT_SHOT;
}
