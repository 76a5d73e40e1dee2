// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A program every kernel's verifier refuses (a packet read without a bounds
 * check), beside one it accepts: test_load checks what hairpin says then.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int hp_accepted(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("tc")
int hp_refused(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;

	return *(__u8 *)(data + 14) ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
