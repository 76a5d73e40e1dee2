// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Where the TC programs read an skb's checksum state: struct sk_buff's
 * ip_summed, two bits that struct __sk_buff does not show. The kernel's BTF
 * says where they are; the programs read their byte with
 * bpf_probe_read_kernel() and edit the checksums of packets in a known state
 * by hand (bpf/ctx_tc.h). Without BTF, or where the kernel refuses that
 * helper to TC programs (lockdown=confidentiality), the place stays unknown
 * and every checksum edit goes through the kernel's checksum helpers.
 */
#include <string.h>
#include <linux/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "hp.h"
#include "hairpin.skel.h"

/* Member @name of struct or union @id, or of one of its anonymous members: bit offset and size. */
static int member_bits(const struct btf *btf, __u32 id, const char *name, __u32 base, __u32 *bits,
		       __u32 *size)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m = btf_members(t);
	int i;

	for (i = 0; i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);
		__u32 at = base + btf_member_bit_offset(t, i);
		int sub = btf__resolve_type(btf, m->type);

		if (n && !strcmp(n, name)) {
			*bits = at;
			*size = btf_member_bitfield_size(t, i);
			return 0;
		}
		if ((!n || !*n) && sub > 0 && btf_is_composite(btf__type_by_id(btf, sub)) &&
		    !member_bits(btf, sub, name, at, bits, size))
			return 0;
	}
	return -ENOENT;
}

/*
 * Tell the programs of @skel, before they are loaded, where ip_summed is.
 * Nothing to tell when it cannot be read: the programs then do without.
 */
void skb_csum_state_set(struct hairpin *skel)
{
	struct btf *btf;
	__u32 bits, size, shift;
	int id;

	skel->rodata->hp_ip_summed_byte = 0;
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_probe_read_kernel, NULL) != 1)
		return;
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return;
	id = btf__find_by_name_kind(btf, "sk_buff", BTF_KIND_STRUCT);
	if (id > 0 && !member_bits(btf, id, "ip_summed", 0, &bits, &size) && size == 2) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		shift = bits % 8;
#else
		shift = 8 - size - bits % 8;
#endif
		/* Both bits in one byte; never at byte 0, the skb's list pointer. */
		if (bits % 8 + size <= 8 && bits / 8) {
			skel->rodata->hp_ip_summed_byte = bits / 8;
			skel->rodata->hp_ip_summed_shift = shift;
		}
	}
	btf__free(btf);
}
