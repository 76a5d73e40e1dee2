// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What every command shares: global options, error output, command tables. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hp.h"

struct hp_env env = {
	.pin_dir = HP_DEFAULT_PIN_DIR,
};

/*
 * Errors quote what the user wrote, which may hold any byte: control
 * characters are shown as '?' so that an error stays one line.
 */
void hp_err(const char *fmt, ...)
{
	char msg[1024], *c;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	fprintf(stderr, "hairpin: %s\n", msg);
}

/*
 * getopt_long() with its complaint as one "hairpin: " line, as every other
 * error: @shortopts starts with ':' (after a '+'). '?' once it is said.
 */
int hp_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
	      const struct option *longopts)
{
	const struct option *o = longopts;
	const char *arg, *why = "is unknown";
	int opt, len;

	opterr = 0;
	opt = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (opt != '?' && opt != ':')
		return opt;
	/* A long option is the argument getopt just passed; a short one is optopt. */
	arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	len = strncmp(arg, "--", 2) ? 0 : (int)strcspn(arg, "=");
	for (; len && o->name; o++)
		if ((int)strlen(o->name) == len - 2 && !strncmp(o->name, arg + 2, len - 2))
			why = "takes no argument"; /* a known one: the '=' is what is wrong */
	if (opt == ':')
		why = "needs an argument";
	if (!len && optopt)
		hp_err("%s%soption '-%c' %s", cmd, *cmd ? ": " : "", optopt, why);
	else
		hp_err("%s%soption '%.*s' %s", cmd, *cmd ? ": " : "", len ?: (int)strlen(arg), arg,
		       why);
	return '?';
}

void hp_crash_point(void)
{
	static long n;
	const char *at = getenv("HAIRPIN_TEST_CRASH_AT");

	if (at && ++n == atol(at))
		raise(SIGKILL);
}

int hp_dispatch(const struct hp_cmd *cmds, const char *level, int argc, char **argv)
{
	const struct hp_cmd *c;

	if (argc < 1) {
		hp_err("%s: missing command (try 'hairpin help')", level);
		return -EINVAL;
	}
	for (c = cmds; c->name; c++) {
		if (strcmp(argv[0], c->name))
			continue;
		if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			printf("Usage: hairpin %s%s%s %s\n", strcmp(level, "hairpin") ? level : "",
			       strcmp(level, "hairpin") ? " " : "", c->name, c->help);
			return 0;
		}
		return c->fn(argc, argv);
	}
	hp_err("%s: unknown command '%s' (try 'hairpin help')", level, argv[0]);
	return -EINVAL;
}
