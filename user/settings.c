// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The live settings, the config table and the tables' sizes, as show and
 * status print them: the config file's statements, or with -j one key a
 * value, named after its statement in snake_case ("timeout tcp-established"
 * is "timeout_tcp_established"), as every listing's -j output is.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "hp.h"

int settings_read(int cfg_fd, struct hp_config *cfg, struct hp_sizes *sizes)
{
	__u32 zero = 0;
	int err;

	if (bpf_map_lookup_elem(cfg_fd, &zero, cfg)) {
		err = -errno;
		hp_err("cannot read the config table: %s", strerror(-err));
		return err;
	}
	err = sizes_live(sizes);
	if (err)
		hp_err("cannot read the table sizes: %s", strerror(-err));
	return err;
}

/* The JSON key of statement "@word @name": "timeout tcp-closing" is "timeout_tcp_closing". */
static const char *json_key(char *buf, size_t len, const char *word, const char *name)
{
	char *c;

	snprintf(buf, len, "%s_%s", word, name);
	for (c = buf; *c; c++)
		if (*c == '-')
			*c = '_';
	return buf;
}

void settings_print(const struct hp_config *cfg, const struct hp_sizes *sizes)
{
	char buf[64];
	size_t i;

	if (env.json) {
		json_u64("snat_port_min", cfg->snat_port_min);
		json_u64("snat_port_max", cfg->snat_port_max);
		json_str("snat_mode", snat_mode_name(cfg->snat_mode));
		json_str("snat_scope", snat_scope_name(cfg->snat_scope));
		json_u64("mark", cfg->mark);
		json_u64("mark_mask", cfg->mark_mask);
		json_str("fastpath", fastpath_name(cfg));
		for (i = 0; i < HP_N_TIMEOUTS; i++)
			json_u64(json_key(buf, sizeof(buf), "timeout", hp_timeouts[i].name),
				 *config_timeout(cfg, i));
		for (i = 0; i < HP_N_SIZES; i++)
			json_u64(json_key(buf, sizeof(buf), "size", hp_sizes[i].name),
				 *config_size(sizes, i));
		return;
	}
	printf("snat-ports %u-%u\n", cfg->snat_port_min, cfg->snat_port_max);
	printf("%s\n", fmt_snat(buf, sizeof(buf), cfg->snat_mode, cfg->snat_scope));
	if (cfg->mark_mask) /* no mark: the grammar has no "mark 0/0" */
		printf("mark %#x/%#x\n", cfg->mark, cfg->mark_mask);
	printf("fastpath %s\n", fastpath_name(cfg));
	for (i = 0; i < HP_N_TIMEOUTS; i++)
		printf("timeout %s %u\n", hp_timeouts[i].name, *config_timeout(cfg, i));
	for (i = 0; i < HP_N_SIZES; i++)
		printf("size %s %u\n", hp_sizes[i].name, *config_size(sizes, i));
}
