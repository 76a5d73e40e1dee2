// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loading BPF programs so that a verifier refusal says which program and why:
 * a skeleton, or an object libxdp loads.
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
#include <xdp/libxdp.h>

#include "hp.h"

#define VLOG_SIZE (16U << 20)
#define VLOG_TAIL_LINES 12

/* Every failure gets its own one-line error; the libraries' account is for -v. */
static int print_verbose(const char *fmt, va_list args)
{
	if (!env.verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return print_verbose(fmt, args);
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list args)
{
	return print_verbose(fmt, args);
}

void hp_libbpf_setup(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
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

int hp_load_object(struct bpf_object *obj, int (*load)(void *arg), void *arg, bool *refused)
{
	struct bpf_program *prog;
	char **logs;
	int i, n = 0, err = 0;

	*refused = false;
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
		*refused = true; /* said */
		goto out;
	}

	err = load(arg);
	if (!err)
		goto out;
	i = 0;
	bpf_object__for_each_program(prog, obj)
	{
		const char *log = logs[i++];

		if (!log[0])
			continue;
		*refused = true;
		hp_err("the kernel's verifier refused program '%s' (%s): %s",
		       bpf_program__name(prog), bpf_program__section_name(prog), strerror(-err));
		print_tail(log, env.verbose ? INT_MAX : VLOG_TAIL_LINES);
	}
out:
	/* The buffers go: a later load of these programs must not write into them. */
	bpf_object__for_each_program(prog, obj) bpf_program__set_log_buf(prog, NULL, 0);
	for (i = 0; logs && i < n; i++)
		free(logs[i]);
	free(logs);
	return err;
}

static int load_skeleton(void *s)
{
	return bpf_object__load_skeleton(s);
}

int hp_load_skeleton(struct bpf_object_skeleton *s)
{
	bool refused;
	int err = hp_load_object(*s->obj, load_skeleton, s, &refused);

	if (err && !refused)
		hp_err("cannot load the BPF programs: %s%s", strerror(-err),
		       env.verbose ? "" : " (-v shows libbpf's messages)");
	return err;
}
