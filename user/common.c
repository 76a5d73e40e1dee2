// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What every command shares: global options, error output, command tables. */
#include <errno.h>
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
