// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Loading: what the command says when the verifier refuses a program; what the kernel BTF gives. */
#include <unistd.h>

#include "hp.h"
#include "refused.skel.h"
#include "test_progs.h"

void test_verifier_refusal_names_program(void)
{
	struct refused *r = refused__open();
	const char *want = "hairpin: the kernel's verifier refused program 'hp_refused' (tc): ";
	char out[8192], *second;
	int err, saved;

	if (!ASSERT_TRUE(r != NULL, "open"))
		return;
	saved = stderr_capture();
	err = hp_load_skeleton(r->skeleton);
	stderr_restore(saved, out, sizeof(out));
	refused__destroy(r);

	ASSERT_TRUE(err < 0, "load fails");
	ASSERT_TRUE(!strncmp(out, want, strlen(want)), "the first line names the program");
	ASSERT_TRUE(strstr(out, "hp_accepted") == NULL, "the accepted program is not blamed");
	/* The verifier's verdict, indented, after the one error line. */
	second = strchr(out, '\n');
	ASSERT_TRUE(second && !strncmp(second + 1, "    ", 4), "log lines are indented");
	ASSERT_TRUE(strstr(out, "invalid access to packet") != NULL, "the verifier's reason");
	ASSERT_TRUE(strstr(out, "\nhairpin: ") == NULL, "one error line");
}

/*
 * Where a kernel has BTF and lets TC programs read kernel memory, attach
 * finds the skb's checksum state for them, as the kernel confirms it:
 * without it every checksum edit would go through the helpers, slower, and
 * no other test would notice. A place the kernel does not confirm (a byte
 * or two bits off) is not used.
 */
void test_checksum_state_found(void)
{
	__u32 byte = skel->rodata->hp_ip_summed_byte, shift = skel->rodata->hp_ip_summed_shift;

	if (access("/sys/kernel/btf/vmlinux", R_OK) ||
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_probe_read_kernel, NULL) != 1)
		return; /* nothing to find it with: the helpers do every edit */
	if (!ASSERT_TRUE(byte > 0, "ip_summed's byte found"))
		return;
	ASSERT_TRUE(skb_csum_state_confirmed(byte, shift), "the place confirmed");
	ASSERT_TRUE(!skb_csum_state_confirmed(byte + 1, shift), "the next byte refused");
	ASSERT_TRUE(!skb_csum_state_confirmed(byte - 1, shift), "the byte before refused");
	ASSERT_TRUE(!skb_csum_state_confirmed(byte, shift ? 0 : 2), "other bits refused");
}
