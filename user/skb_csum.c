// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Where the TC programs read an skb's checksum state: struct sk_buff's
 * ip_summed, two bits that struct __sk_buff does not show. The kernel's BTF
 * says where they are; the programs read their byte with
 * bpf_probe_read_kernel() and edit the checksums of packets in a known state
 * by hand (bpf/ctx_tc.h). The place is used only once the kernel itself
 * confirmed it, as a wrong one would have packets that hold a partial sum
 * edited as if they held a full one. Without BTF, or where the kernel
 * refuses that helper to TC programs (lockdown=confidentiality), the place
 * stays unknown and every checksum edit goes through the kernel's checksum
 * helpers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
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

#define INSN(c, d, s, o, i)                                                                        \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_X(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_K(d, k) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)
#define ADD_K(d, k) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, k)
#define CALL(f) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
/* The byte at @byte of the skb (r6) into the stack at @at. */
#define READ_BYTE(at, byte)                                                                        \
	MOV_X(1, 10), ADD_K(1, at), MOV_K(2, 1), MOV_X(3, 6), ADD_K(3, byte),                      \
		CALL(BPF_FUNC_probe_read_kernel)

/*
 * Is ip_summed where @byte and @shift say? A test run's skb starts as
 * CHECKSUM_NONE (0), and bpf_csum_level(BPF_CSUM_LEVEL_INC) makes it
 * CHECKSUM_UNNECESSARY (1): a program reads the byte before and after, and
 * returns both.
 */
bool skb_csum_state_confirmed(__u32 byte, __u32 shift)
{
	struct bpf_insn prog[] = {
		MOV_X(6, 1),
		INSN(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 0),
		INSN(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -16, 0),
		READ_BYTE(-8, byte),
		MOV_X(1, 6),
		MOV_K(2, BPF_CSUM_LEVEL_INC),
		CALL(BPF_FUNC_csum_level),
		READ_BYTE(-16, byte),
		INSN(BPF_LDX | BPF_MEM | BPF_B, 0, 10, -16, 0),
		INSN(BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 8),
		INSN(BPF_LDX | BPF_MEM | BPF_B, 1, 10, -8, 0),
		INSN(BPF_ALU64 | BPF_OR | BPF_X, 0, 1, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	__u8 frame[64] = { [12] = 0x08 }; /* an Ethernet frame of IPv4, all zero */
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .data_size_in = sizeof(frame));
	int fd, err;

	if (!byte || shift > 6)
		return false;
	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "hp_csum_state", "GPL", prog,
			   sizeof(prog) / sizeof(prog[0]), NULL);
	if (fd < 0)
		return false;
	err = bpf_prog_test_run_opts(fd, &run);
	close(fd);
	return !err && ((run.retval >> shift) & 3) == 0 && ((run.retval >> (8 + shift)) & 3) == 1;
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
	/* The running kernel's own: a vmlinux file of the same release may be another build. */
	btf = btf__parse("/sys/kernel/btf/vmlinux", NULL);
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
		if (bits % 8 + size <= 8 && skb_csum_state_confirmed(bits / 8, shift)) {
			skel->rodata->hp_ip_summed_byte = bits / 8;
			skel->rodata->hp_ip_summed_shift = shift;
		}
	}
	btf__free(btf);
}

/* The value of constant @name in the programs' constants @data, described by @btf's @sec. */
static int rodata_u32(const struct btf *btf, const struct btf_type *sec, const void *data,
		      const char *name, __u32 *v)
{
	const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
	int i;

	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const char *n = btf__name_by_offset(btf, btf__type_by_id(btf, vs->type)->name_off);

		if (n && !strcmp(n, name) && vs->size == sizeof(*v)) {
			memcpy(v, (const char *)data + vs->offset, sizeof(*v));
			return 0;
		}
	}
	return -ENOENT;
}

void skb_csum_state_print(int rodata_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0, byte = 0, shift = 0;
	const struct btf_type *sec;
	struct btf *btf = NULL;
	void *data = NULL;

	if (rodata_fd >= 0 && !bpf_obj_get_info_by_fd(rodata_fd, &info, &len) && info.btf_id &&
	    (data = calloc(1, info.value_size)) && !bpf_map_lookup_elem(rodata_fd, &zero, data) &&
	    (btf = btf__load_from_kernel_by_id(info.btf_id)) &&
	    (sec = btf__type_by_id(btf, info.btf_value_type_id)) && btf_is_datasec(sec) &&
	    !rodata_u32(btf, sec, data, "hp_ip_summed_byte", &byte))
		rodata_u32(btf, sec, data, "hp_ip_summed_shift", &shift);
	btf__free(btf);
	free(data);
	if (env.json) {
		json_bool("checksums_by_hand", byte != 0);
		return;
	}
	if (byte)
		printf("checksums    by hand where the packet holds the full sum "
		       "(ip_summed at byte %u, bit %u)\n",
		       byte, shift);
	else
		printf("checksums    kernel helpers only (the skb's checksum state is unknown)\n");
}
