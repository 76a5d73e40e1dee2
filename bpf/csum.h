/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Ones' complement arithmetic on checksum fields as they lie in the packet
 * (RFC 1071, RFC 1624), for edits the hook's own helpers cannot express.
 */
#ifndef HP_BPF_CSUM_H
#define HP_BPF_CSUM_H

#include <linux/types.h>

/* Fold a 64-bit ones' complement sum to 16 bits. */
static __always_inline __u16 csum_fold64(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/*
 * RFC 1624: HC' = ~(~HC + m' - m), where @diff is m' - m as bpf_csum_diff()
 * sums it.
 */
static __always_inline __sum16 csum_adjust(__sum16 check, __s64 diff)
{
	return (__sum16)~csum_fold64((__u16)~check + (__u64)(__u32)diff);
}

/* The 16-bit ones' complement sum of a 32-bit word, as it lies in memory. */
static __always_inline __u32 csum_words(__u32 w)
{
	return (w & 0xffff) + (w >> 16);
}

/* What a 32-bit field changing from @from to @to adds to a checksum (~m + m'): csum_adjust(). */
static __always_inline __u32 csum_diff4(__u32 from, __u32 to)
{
	return csum_words(~from) + csum_words(to);
}

/* The same for a 16-bit field (a port, the TTL's word). */
static __always_inline __u32 csum_diff2(__u16 from, __u16 to)
{
	return (__u16)~from + to;
}

/* RFC 1624 eqn. 3 for a 32-bit field (an address) that changed from @from to @to. */
static __always_inline __sum16 csum_replace4(__sum16 check, __u32 from, __u32 to)
{
	return csum_adjust(check, csum_diff4(from, to));
}

static __always_inline __sum16 csum_replace2(__sum16 check, __u16 from, __u16 to)
{
	return csum_adjust(check, csum_diff2(from, to));
}

/*
 * Add @diff to a TCP, UDP or ICMP checksum field that holds the full sum.
 * A UDP checksum (@udp) of zero means "none" and stays zero; one that comes
 * out zero is sent as all ones (RFC 768), as the TC helper's mangled-zero
 * flag does.
 */
static __always_inline void csum_field_add(__sum16 *check, __u32 diff, int udp)
{
	if (!udp)
		*check = csum_adjust(*check, diff);
	else if (*check)
		*check = csum_adjust(*check, diff) ?: (__sum16)0xffff;
}

#endif /* HP_BPF_CSUM_H */
