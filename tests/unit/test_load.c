// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Loading: what the command says when the kernel's verifier refuses a program. */
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
