// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: the command line's word parsers, as `map add`,
 * `map del` and `attach --snat-ports` use them. The input is split into
 * words at spaces. Each parser must not crash, a rejection must come out of
 * hp_err() as one line whatever bytes the words hold, and what a parser
 * accepts must hold together.
 */
#include <stdint.h>

#include "fuzz.h"
#include "hp.h"

#define MAX_WORDS 10

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *words[MAX_WORDS], *save = NULL, *w, why[256] = "", out[1024];
	struct hp_mapping m;
	unsigned int protos;
	__u16 lo, hi;
	__u32 secs;
	__be32 addr;
	int n = 0, i, mem, saved;

	check(buf != NULL);
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (w = strtok_r(buf, " ", &save); w && n < MAX_WORDS; w = strtok_r(NULL, " ", &save))
		words[n++] = w;

	if (parse_mapping(n, words, &m, why, sizeof(why))) {
		saved = stderr_grab(&mem);
		hp_err("map add: %s", why);
		check(one_error_line(out, stderr_take(saved, mem, out, sizeof(out))));
	} else {
		/* three words, then at most snat MODE SCOPE, any-address, hide-listener */
		check(n >= 3 && n <= 8 && m.protos && m.pub_lo <= m.pub_hi &&
		      m.priv_lo <= m.priv_hi && m.pub_hi - m.pub_lo == m.priv_hi - m.priv_lo &&
		      !addr_not_unicast(m.priv_addr) &&
		      (m.pub_wan || !addr_not_unicast(m.pub_addr)));
	}
	for (i = 0; i < n; i++) {
		if (!parse_port_range(words[i], &lo, &hi))
			check(lo >= 1 && lo <= hi);
		if (!parse_seconds(words[i], &secs))
			check(secs >= 1 && secs <= HP_TIMEOUT_MAX);
		if (!parse_proto(words[i], &protos))
			check(protos != 0);
		parse_ipv4(words[i], &addr);
	}
	free(buf);
	return 0;
}
