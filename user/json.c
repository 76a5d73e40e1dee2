// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A minimal streaming JSON writer for -j: objects, arrays, strings, numbers.
 * It tracks only whether a comma is due, which is all a flat listing needs.
 */
#include <stdio.h>

#include "hp.h"

static bool need_comma;

static void sep(void)
{
	if (need_comma)
		putchar(',');
	need_comma = false;
}

static void key(const char *k)
{
	sep();
	if (k)
		printf("\"%s\":", k);
}

static void str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

void json_begin_object(void)
{
	key(NULL);
	putchar('{');
}

void json_end_object(void)
{
	putchar('}');
	need_comma = true;
}

void json_begin_array(const char *k)
{
	key(k);
	putchar('[');
}

void json_end_array(void)
{
	putchar(']');
	need_comma = true;
}

void json_str(const char *k, const char *val)
{
	key(k);
	str(val);
	need_comma = true;
}

void json_u64(const char *k, unsigned long long val)
{
	key(k);
	printf("%llu", val);
	need_comma = true;
}

void json_bool(const char *k, bool val)
{
	key(k);
	fputs(val ? "true" : "false", stdout);
	need_comma = true;
}

void json_done(void)
{
	putchar('\n');
	need_comma = false;
}
