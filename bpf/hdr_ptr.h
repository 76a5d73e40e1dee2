/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Direct access to a packet's headers, for every hook that has data pointers. */
#ifndef HP_BPF_HDR_PTR_H
#define HP_BPF_HDR_PTR_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/*
 * @len bytes at @off of the packet between @data and @end, or NULL past it.
 * Headers only: the bound on @off is what lets the verifier accept a
 * variable offset.
 */
static __always_inline void *hdr_ptr(void *data, void *end, __u32 off, const __u32 len)
{
	void *p;

	if (off > 0xff)
		return NULL;
	/* Masked in an instruction the compiler cannot drop as redundant. */
	asm volatile("%0 &= 0xff" : "+r"(off));
	p = data + off;
	if (p + len > end)
		return NULL;
	return p;
}

#endif /* HP_BPF_HDR_PTR_H */
