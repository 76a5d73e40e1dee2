// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The config file: the command line's grammar, one statement per line.
 *
 *   # comment
 *   map tcp wan:8080 192.168.1.20:80
 *   map udp 203.0.113.1:5353 192.168.1.20:53
 *   snat-ports 61000-65535
 *   timeout udp 300
 *   fastpath off
 *
 * The whole file is parsed and checked before anything is applied, so an
 * invalid file changes nothing.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hp.h"

#define MAX_WORDS 8

/* timeout NAME SECONDS: the names netfilter's admins know, where in struct hp_config. */
const struct hp_timeout_name hp_timeouts[HP_N_TIMEOUTS] = {
	{ "tcp-established", offsetof(struct hp_config, timeout_tcp_est) },
	{ "tcp-closing", offsetof(struct hp_config, timeout_tcp_close) },
	{ "udp", offsetof(struct hp_config, timeout_udp) },
};

__u32 *config_timeout(const struct hp_config *cfg, size_t i)
{
	return (__u32 *)((char *)cfg + hp_timeouts[i].off);
}

static int parse_timeout(int n, char **words, struct hp_config *cfg, char *why, size_t len)
{
	size_t i;

	for (i = 0; n == 3 && i < HP_N_TIMEOUTS; i++) {
		if (strcmp(words[1], hp_timeouts[i].name))
			continue;
		if (parse_seconds(words[2], config_timeout(cfg, i))) {
			snprintf(why, len, "timeout %s: '%s' is not a number of seconds (1-%u)",
				 words[1], words[2], HP_TIMEOUT_MAX);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(why, len, "expected 'timeout tcp-established|tcp-closing|udp SECONDS'");
	return -EINVAL;
}

static bool overlaps(const struct hp_mapping *a, const struct hp_mapping *b)
{
	return (a->protos & b->protos) && a->pub_wan == b->pub_wan && a->pub_addr == b->pub_addr &&
	       a->pub_lo <= b->pub_hi && b->pub_lo <= a->pub_hi;
}

static int parse_line(char *line, struct hp_config_file *cf, char *why, size_t len)
{
	char *words[MAX_WORDS], *save = NULL, *w;
	struct hp_mapping m, *grown;
	int n = 0, i;

	line[strcspn(line, "#\r\n")] = '\0';
	for (w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_WORDS) {
			snprintf(why, len, "too many words");
			return -EINVAL;
		}
		words[n++] = w;
	}
	if (!n)
		return 0;

	if (!strcmp(words[0], "snat-ports")) {
		if (n != 2 ||
		    parse_port_range(words[1], &cf->cfg.snat_port_min, &cf->cfg.snat_port_max)) {
			snprintf(why, len, "expected 'snat-ports LOW-HIGH' with ports 1-65535");
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(words[0], "timeout"))
		return parse_timeout(n, words, &cf->cfg, why, len);
	if (!strcmp(words[0], "mark")) {
		if (n != 2 || parse_mark(words[1], &cf->cfg.mark, &cf->cfg.mark_mask)) {
			snprintf(why, len,
				 "expected 'mark VALUE[/MASK]' with VALUE non-zero "
				 "and within MASK");
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(words[0], "fastpath")) {
		if (n != 2 || (strcmp(words[1], "on") && strcmp(words[1], "off"))) {
			snprintf(why, len, "expected 'fastpath on|off'");
			return -EINVAL;
		}
		if (!strcmp(words[1], "off"))
			cf->cfg.flags |= HP_CFG_NO_FASTPATH;
		else
			cf->cfg.flags &= ~HP_CFG_NO_FASTPATH;
		return 0;
	}
	if (!strcmp(words[0], "snat"))
		return parse_snat(n - 1, words + 1, &cf->cfg.snat_mode, &cf->cfg.snat_scope, why,
				  len);
	if (strcmp(words[0], "map")) {
		snprintf(why, len,
			 "unknown statement '%s' (map, fastpath, mark, snat, snat-ports, "
			 "timeout)",
			 words[0]);
		return -EINVAL;
	}
	if (parse_mapping(n - 1, words + 1, &m, why, len))
		return -EINVAL;
	for (i = 0; i < cf->n_maps; i++) {
		if (overlaps(&cf->maps[i], &m)) {
			snprintf(why, len, "public port %s overlaps an earlier map line", words[2]);
			return -EINVAL;
		}
	}
	grown = realloc(cf->maps, (cf->n_maps + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	cf->maps = grown;
	cf->maps[cf->n_maps++] = m;
	return 0;
}

int config_load(const char *path, struct hp_config_file *cf)
{
	char *line = NULL, why[256];
	size_t cap = 0;
	int lineno = 0, err = 0;
	FILE *f;

	memset(cf, 0, sizeof(*cf));
	cf->cfg = (struct hp_config)HP_CONFIG_DEFAULT;
	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		hp_err("%s: %s", path, strerror(errno));
		return err;
	}
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		err = parse_line(line, cf, why, sizeof(why));
		if (err) {
			hp_err("%s:%d: %s", path, lineno, why);
			break;
		}
	}
	if (!err && ferror(f)) {
		err = -EIO;
		hp_err("%s: read error", path);
	}
	free(line);
	fclose(f);
	if (err)
		config_free(cf);
	return err;
}

void config_free(struct hp_config_file *cf)
{
	free(cf->maps);
	cf->maps = NULL;
	cf->n_maps = 0;
}

/*
 * Hairpin SNAT uses the router's own address, as the router's own sockets
 * do: their ports must not meet, or a hairpinned connection and one of the
 * router's could share a tuple. The kernel picks local ports from
 * net.ipv4.ip_local_port_range (of this network namespace).
 */
int config_check_local_ports(const struct hp_config *cfg)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	unsigned int lo, hi;
	int n;

	if (!f)
		return 0; /* no procfs: nothing to check against */
	n = fscanf(f, "%u %u", &lo, &hi);
	fclose(f);
	if (n != 2 || cfg->snat_port_max < lo || cfg->snat_port_min > hi)
		return 0;
	hp_err("snat-ports %u-%u overlaps the router's local ports %u-%u "
	       "(net.ipv4.ip_local_port_range); its own connections could collide with hairpinned "
	       "ones",
	       cfg->snat_port_min, cfg->snat_port_max, lo, hi);
	return -EINVAL;
}
