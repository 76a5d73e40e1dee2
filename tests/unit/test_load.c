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
 * Where a kernel has BTF, attach finds the skb's checksum state for the TC
 * programs: ip_summed, whose byte then reads CHECKSUM_NONE (0) on a packet
 * a test run makes. A wrong place would make a run's checksums come out
 * wrong in the other packet tests, an unknown one only slower.
 */
void test_checksum_state_found(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return; /* nothing to find it in: the helpers do every edit */
	ASSERT_TRUE(skel->rodata->hp_ip_summed_byte > 0, "ip_summed's byte found");
	ASSERT_TRUE(skel->rodata->hp_ip_summed_shift <= 6, "both of its bits in the byte");
}
