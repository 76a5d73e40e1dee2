/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the libFuzzer targets share: a failed check aborts, stderr is captured. */
#ifndef HP_FUZZ_H
#define HP_FUZZ_H

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static inline void check(int ok)
{
	if (!ok)
		abort();
}

/* Send fd 2 to a fresh memory file; returns the saved fd 2 for stderr_take(). */
static inline int stderr_grab(int *mem)
{
	int saved = dup(2);

	*mem = memfd_create("stderr", 0);
	check(saved >= 0 && *mem >= 0);
	dup2(*mem, 2);
	return saved;
}

/* Put fd 2 back; what was written meanwhile lands in @out. Returns its length. */
static inline ssize_t stderr_take(int saved, int mem, char *out, size_t len)
{
	ssize_t n;

	dup2(saved, 2);
	close(saved);
	n = pread(mem, out, len - 1, 0);
	close(mem);
	out[n > 0 ? n : 0] = '\0';
	return n > 0 ? n : 0;
}

/* Exactly one line, as hp_err() writes it. */
static inline int one_error_line(const char *out, ssize_t n)
{
	return n > 9 && !strncmp(out, "hairpin: ", 9) && strchr(out, '\n') == out + n - 1;
}

#endif
