// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: the config file parser. Whatever the file holds, the
 * parser must not crash or leak, must reject with exactly one line on
 * stderr ("hairpin: FILE:LINE: why") and accept silently, and what it
 * accepts must hold together (ranges the same length, timeouts in range).
 */
#include <stdint.h>

#include "fuzz.h"
#include "hp.h"

static void check_accepted(const struct hp_config_file *cf)
{
	int i;

	for (i = 0; i < cf->n_maps; i++) {
		const struct hp_mapping *m = &cf->maps[i];

		check(m->protos && m->pub_lo && m->pub_lo <= m->pub_hi && m->priv_lo &&
		      m->priv_lo <= m->priv_hi &&
		      m->pub_hi - m->pub_lo == m->priv_hi - m->priv_lo &&
		      !addr_not_unicast(m->priv_addr) &&
		      (m->pub_wan || !addr_not_unicast(m->pub_addr)) && m->line >= 1 &&
		      (!i || m->line > cf->maps[i - 1].line));
	}
	check(cf->cfg.snat_port_min && cf->cfg.snat_port_min <= cf->cfg.snat_port_max);
	check(!(cf->cfg.mark & ~cf->cfg.mark_mask) && (cf->cfg.mark || !cf->cfg.mark_mask));
	check(cf->cfg.timeout_tcp_est >= 1 && cf->cfg.timeout_tcp_est <= HP_TIMEOUT_MAX);
	check(cf->cfg.timeout_tcp_close >= 1 && cf->cfg.timeout_tcp_close <= HP_TIMEOUT_MAX);
	check(cf->cfg.timeout_udp >= 1 && cf->cfg.timeout_udp <= HP_TIMEOUT_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int in = memfd_create("config", 0), mem, saved, ret;
	struct hp_config_file cf;
	char path[64], out[2048];
	ssize_t n;

	check(in >= 0 && write(in, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", in);
	saved = stderr_grab(&mem);
	ret = config_load(path, &cf);
	n = stderr_take(saved, mem, out, sizeof(out));
	if (ret) {
		check(one_error_line(out, n));
	} else {
		check(n == 0);
		check_accepted(&cf);
		config_free(&cf);
	}
	close(in);
	return 0;
}
