// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loading a skeleton so that a verifier refusal says which program and why.
 *
 * Each program gets its own log buffer. libbpf loads with log level 0 and
 * only on a failure loads again with level 1 into that buffer, so a
 * successful load costs nothing extra. Kernels before 6.4 keep the head of
 * the log when it overflows and the verdict is at its tail, hence a buffer
 * as large as libbpf's own.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "hp.h"

#define VLOG_SIZE (16U << 20)
#define VLOG_TAIL_LINES 12

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	/* Every failure gets its own one-line error; libbpf's account is for -v. */
	if (!env.verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void hp_libbpf_setup(void)
{
	libbpf_set_print(libbpf_print);
}

/* The last @n lines of @log, indented, on stderr. */
static void print_tail(const char *log, int n)
{
	const char *end = log + strlen(log), *p = end;

	while (p > log && (p[-1] == '\n' || p[-1] == ' '))
		p--;
	end = p;
	while (p > log && n > 0)
		if (*--p == '\n')
			n--;
	if (*p == '\n')
		p++;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		int len = nl ? nl - p : end - p;

		fprintf(stderr, "    %.*s\n", len, p);
		p += len + 1;
	}
}

int hp_load_skeleton(struct bpf_object_skeleton *s)
{
	struct bpf_object *obj = *s->obj;
	struct bpf_program *prog;
	char **logs;
	int i, n = 0, err = 0, refused = 0;

	bpf_object__for_each_program(prog, obj) n++;
	logs = calloc(n, sizeof(*logs));
	if (!logs)
		err = -ENOMEM;
	i = 0;
	bpf_object__for_each_program(prog, obj)
	{
		if (err)
			break;
		logs[i] = calloc(1, VLOG_SIZE);
		if (!logs[i])
			err = -ENOMEM;
		else
			err = bpf_program__set_log_buf(prog, logs[i], VLOG_SIZE);
		i++;
	}
	if (err) {
		hp_err("cannot load the BPF programs: %s", strerror(-err));
		goto out;
	}

	err = bpf_object__load_skeleton(s);
	if (!err)
		goto out;
	i = 0;
	bpf_object__for_each_program(prog, obj)
	{
		const char *log = logs[i++];

		if (!log[0])
			continue;
		refused++;
		hp_err("the kernel's verifier refused program '%s' (%s): %s",
		       bpf_program__name(prog), bpf_program__section_name(prog), strerror(-err));
		print_tail(log, env.verbose ? INT_MAX : VLOG_TAIL_LINES);
	}
	if (!refused)
		hp_err("cannot load the BPF programs: %s%s", strerror(-err),
		       env.verbose ? "" : " (-v shows libbpf's messages)");
out:
	for (i = 0; logs && i < n; i++)
		free(logs[i]);
	free(logs);
	return err;
}
