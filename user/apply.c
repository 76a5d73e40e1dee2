// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * show, apply: the live state in the config file's grammar, and a config
 * file made the live state.
 *
 * apply writes every entry the file wants before it deletes any the file
 * does not: an entry is replaced in place, never deleted and re-added, so a
 * mapping present before and after is never missing in between.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "hp.h"

static bool same_mapping(const struct hp_mapping *a, const struct hp_mapping *b)
{
	return a->protos == b->protos && a->pub_wan == b->pub_wan && a->pub_addr == b->pub_addr &&
	       a->pub_lo == b->pub_lo && a->pub_hi == b->pub_hi && a->priv_addr == b->priv_addr &&
	       a->priv_lo == b->priv_lo && a->snat_own == b->snat_own &&
	       a->any_addr == b->any_addr && a->hide_listener == b->hide_listener &&
	       (!a->snat_own || (a->snat_mode == b->snat_mode && a->snat_scope == b->snat_scope));
}

static bool same_public(const struct hp_mapping *a, const struct hp_mapping *b)
{
	return a->protos == b->protos && a->pub_addr == b->pub_addr && a->pub_lo == b->pub_lo &&
	       a->pub_hi == b->pub_hi;
}

/*
 * The private side of @m and the words that follow it, as the config grammar
 * writes them: "ADDR:PORT[ snat MODE[ SCOPE]][ any-address][ hide-listener]".
 */
static char *fmt_target(char *buf, size_t len, const struct hp_mapping *m)
{
	char priv[64], snat[64];

	snprintf(buf, len, "%s%s%s%s%s", fmt_private(priv, sizeof(priv), m), m->snat_own ? " " : "",
		 m->snat_own ? fmt_snat(snat, sizeof(snat), m->snat_mode, m->snat_scope) : "",
		 m->any_addr ? " any-address" : "", m->hide_listener ? " hide-listener" : "");
	return buf;
}

static void print_map(const char *prefix, const struct hp_mapping *m, const char *suffix)
{
	char pub[64], target[128];

	printf("%smap %s %s %s%s\n", prefix, mapping_proto_name(m), fmt_public(pub, sizeof(pub), m),
	       fmt_target(target, sizeof(target), m), suffix);
}

/*
 * Print the live state: the settings, the interfaces and the mappings;
 * tcp and udp mappings that agree in all else merge.
 */
static void print_config(const struct hp_config *cfg, const struct hp_sizes *sizes,
			 struct hp_mapping *maps, int n, int ifaces_fd, int names_fd)
{
	char pub[64], priv[64];
	int i, j;

	if (env.json)
		json_begin_object();
	settings_print(cfg, sizes);
	iface_print_config(ifaces_fd, names_fd);
	if (env.json)
		json_begin_array("mappings");
	for (i = 0; i < n; i++) {
		struct hp_mapping m = maps[i];

		if (!m.protos)
			continue; /* merged into an earlier line */
		for (j = i + 1;
		     j < n && maps[j].pub_addr == m.pub_addr && maps[j].pub_lo == m.pub_lo; j++) {
			struct hp_mapping other = maps[j];

			other.protos = m.protos;
			if (same_mapping(&other, &m)) {
				m.protos |= maps[j].protos;
				maps[j].protos = 0;
			}
		}
		if (!env.json) {
			print_map("", &m, "");
			continue;
		}
		json_begin_object();
		json_str("proto", mapping_proto_name(&m));
		json_str("public", fmt_public(pub, sizeof(pub), &m));
		json_str("private", fmt_private(priv, sizeof(priv), &m));
		if (m.snat_own) {
			json_str("snat_mode", snat_mode_name(m.snat_mode));
			json_str("snat_scope", snat_scope_name(m.snat_scope));
		}
		if (m.any_addr)
			json_bool("any_address", true);
		if (m.hide_listener)
			json_bool("hide_listener", true);
		json_end_object();
	}
	if (env.json) {
		json_end_array();
		json_end_object();
		json_done();
	}
}

/* The tables show and apply read, under the pin dir lock. */
static int open_tables(struct hp_pins *p)
{
	return pins_open_set(p,
			     HP_PIN_BIT(HP_PIN_MAPPINGS) | HP_PIN_BIT(HP_PIN_COUNTERS) |
				     HP_PIN_BIT(HP_PIN_CONFIG) | HP_PIN_BIT(HP_PIN_IFACES),
			     HP_PIN_BIT(HP_PIN_IFNAMES), true);
}

/* The live tables' mappings, config and sizes, under the lock the caller holds. */
static int read_live(const struct hp_pins *p, struct hp_mapping **maps, int *n,
		     struct hp_config *cfg, struct hp_sizes *sizes)
{
	return settings_read(p->fd[HP_PIN_CONFIG], cfg, sizes)
		       ?: mapping_read_all(p->fd[HP_PIN_MAPPINGS], maps, n);
}

int cmd_show(int argc, char **argv)
{
	struct hp_mapping *maps = NULL;
	struct hp_sizes sizes;
	struct hp_config cfg;
	struct hp_pins p;
	int err, n = 0;

	if (argc > 1) {
		hp_err("show: unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	err = open_tables(&p) ?: read_live(&p, &maps, &n, &cfg, &sizes);
	if (!err) {
		if (!env.json)
			printf("# the live state of %s, as a config file for 'hairpin apply -c'\n",
			       env.pin_dir);
		print_config(&cfg, &sizes, maps, n, p.fd[HP_PIN_IFACES], p.fd[HP_PIN_IFNAMES]);
	}
	free(maps);
	pins_close_set(&p);
	return err;
}

/* The file's mappings, one protocol each, public addresses resolved. */
static int wanted_mappings(struct hp_config_file *cf, int ifaces_fd, struct hp_mapping **out,
			   int *n_out)
{
	struct hp_mapping *w = calloc(2 * cf->n_maps + 1, sizeof(*w));
	int i, b, n = 0, err;

	if (!w) {
		hp_err("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < cf->n_maps; i++) {
		err = mapping_resolve_wan(ifaces_fd, &cf->maps[i]);
		if (err) {
			free(w);
			return err;
		}
		for (b = 0; b < 2; b++) {
			if (!(cf->maps[i].protos & (1U << b)))
				continue;
			w[n] = cf->maps[i];
			w[n++].protos = 1U << b;
		}
	}
	*out = w;
	*n_out = n;
	return 0;
}

/* Print what applying changes; returns how many changes there are. */
static int print_changes(const struct hp_config *old_cfg, const struct hp_config *cfg,
			 const struct hp_mapping *live, int n_live, const struct hp_mapping *want,
			 int n_want)
{
	int i, j, changes = 0;
	char was[160], target[128], snat[64], old_snat[64];
	size_t t;

	if (old_cfg->snat_mode != cfg->snat_mode || old_cfg->snat_scope != cfg->snat_scope) {
		printf("change %s (was %s)\n",
		       fmt_snat(snat, sizeof(snat), cfg->snat_mode, cfg->snat_scope),
		       fmt_snat(old_snat, sizeof(old_snat), old_cfg->snat_mode,
				old_cfg->snat_scope));
		changes++;
	}
	if (old_cfg->mark != cfg->mark || old_cfg->mark_mask != cfg->mark_mask) {
		printf("change mark %#x/%#x (was %#x/%#x)\n", cfg->mark, cfg->mark_mask,
		       old_cfg->mark, old_cfg->mark_mask);
		changes++;
	}
	if ((old_cfg->flags ^ cfg->flags) & HP_CFG_NO_FASTPATH) {
		printf("change fastpath %s (was %s)\n", fastpath_name(cfg), fastpath_name(old_cfg));
		changes++;
	}
	if (old_cfg->snat_port_min != cfg->snat_port_min ||
	    old_cfg->snat_port_max != cfg->snat_port_max) {
		printf("change snat-ports %u-%u (was %u-%u)\n", cfg->snat_port_min,
		       cfg->snat_port_max, old_cfg->snat_port_min, old_cfg->snat_port_max);
		changes++;
	}
	for (t = 0; t < HP_N_TIMEOUTS; t++) {
		if (*config_timeout(old_cfg, t) == *config_timeout(cfg, t))
			continue;
		printf("change timeout %s %u (was %u)\n", hp_timeouts[t].name,
		       *config_timeout(cfg, t), *config_timeout(old_cfg, t));
		changes++;
	}
	for (i = 0; i < n_want; i++) {
		const struct hp_mapping *other = NULL;

		for (j = 0; j < n_live && !same_mapping(&live[j], &want[i]); j++)
			if (same_public(&live[j], &want[i]))
				other = &live[j];
		if (j < n_live)
			continue;
		if (other) {
			snprintf(was, sizeof(was), " (was %s)",
				 fmt_target(target, sizeof(target), other));
			print_map("change ", &want[i], was);
		} else {
			print_map("add ", &want[i], "");
		}
		changes++;
	}
	for (j = 0; j < n_live; j++) {
		for (i = 0; i < n_want && !same_public(&live[j], &want[i]); i++)
			;
		if (i == n_want) {
			print_map("remove ", &live[j], "");
			changes++;
		}
	}
	if (!changes)
		printf("no change\n");
	return changes;
}

static int write_entry(const struct hp_map_key *k, const struct hp_map_val *v, void *ctx)
{
	const struct hp_pins *p = ctx;
	struct hp_map_val cur;

	if (!bpf_map_lookup_elem(p->fd[HP_PIN_MAPPINGS], k, &cur) && mapping_val_same(&cur, v) &&
	    counters_owned(p->fd[HP_PIN_COUNTERS], cur.counters, k))
		return 0;
	return mapping_write_entry(p->fd[HP_PIN_MAPPINGS], p->fd[HP_PIN_COUNTERS], k, v);
}

/* Is @k an entry of a wanted mapping? (A file's public ports never overlap.) */
static bool wanted(const struct hp_mapping *want, int n, const struct hp_map_key *k)
{
	int i;

	for (i = 0; i < n; i++)
		if (want[i].pub_addr == k->addr && ntohs(k->port) >= want[i].pub_lo &&
		    ntohs(k->port) <= want[i].pub_hi &&
		    (want[i].protos == HP_PROTO_MASK_TCP) == (k->proto == HP_PROTO_TCP))
			return true;
	return false;
}

/*
 * How many live entries no wanted mapping has: apply deletes them, which
 * makes room for new ones.
 */
static unsigned int count_unwanted(int maps_fd, const struct hp_mapping *want, int n_want)
{
	struct hp_map_key key, *prev = NULL;
	unsigned int n = 0;

	while (!bpf_map_get_next_key(maps_fd, prev, &key)) {
		prev = &key;
		n += !wanted(want, n_want, &key);
	}
	return n;
}

/*
 * Delete the live entries nobody wants, then write every wanted one. No
 * wanted entry is ever deleted, so a mapping in both states stays live;
 * deleting first lets a file that fits the table replace one that filled it.
 */
static int apply_tables(const struct hp_pins *p, const struct hp_config *cfg,
			const struct hp_mapping *want, int n_want)
{
	int maps_fd = p->fd[HP_PIN_MAPPINGS], counters_fd = p->fd[HP_PIN_COUNTERS];
	struct hp_map_key key, next, *prev = NULL;
	__u32 zero = 0;
	int i, err;

	while (!bpf_map_get_next_key(maps_fd, prev, &next)) {
		key = next;
		if (!wanted(want, n_want, &key)) {
			mapping_delete_entry(maps_fd, counters_fd, &key);
			continue; /* deleted: go on from the same place */
		}
		prev = &key;
	}
	for (i = 0; i < n_want; i++) {
		err = mapping_for_each_entry(&want[i], write_entry, (void *)p);
		if (err)
			return err;
	}
	if (bpf_map_update_elem(p->fd[HP_PIN_CONFIG], &zero, cfg, BPF_ANY)) {
		err = -errno;
		hp_err("cannot write the config table: %s", strerror(-err));
		return err;
	}
	return 0;
}

struct apply_opts {
	const char *config;
	bool check;
};

static int parse_apply(int argc, char **argv, struct apply_opts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{},
	};
	int opt;

	optind = 1;
	while ((opt = hp_getopt("apply", argc, argv, ":c:n", opts)) != -1) {
		switch (opt) {
		case 'c':
			o->config = optarg;
			break;
		case 'n':
			o->check = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		hp_err("apply: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!o->config) {
		hp_err("apply: missing -c FILE");
		return -EINVAL;
	}
	return 0;
}

int cmd_apply(int argc, char **argv)
{
	struct hp_mapping *live = NULL, *want = NULL;
	struct hp_pins p = HP_PINS_NONE;
	struct hp_config_file cf = {};
	struct hp_config old_cfg;
	struct hp_sizes old_sizes;
	struct apply_opts o = {};
	int err, n_live = 0, n_want = 0, maps_fd, counters_fd;

	/* Root is checked before the file is read, so a user without it is told that first. */
	err = parse_apply(argc, argv, &o) ?: require_root() ?: config_load(o.config, &cf) ?:
	      config_check_local_ports(&cf.cfg) ?: open_tables(&p);
	/* Before the live mappings are read, as they will be once they are changed. */
	if (!err && !o.check)
		mapping_tidy(p.fd[HP_PIN_MAPPINGS], p.fd[HP_PIN_COUNTERS]);
	err = err ?: read_live(&p, &live, &n_live, &old_cfg, &old_sizes) ?:
	      sizes_check(&cf.sizes, &old_sizes, o.config) ?:
	      wanted_mappings(&cf, p.fd[HP_PIN_IFACES], &want, &n_want) ?:
	      config_check_mappings(o.config, &cf);
	if (err)
		goto out;
	maps_fd = p.fd[HP_PIN_MAPPINGS];
	counters_fd = p.fd[HP_PIN_COUNTERS];
	err = mapping_check_room(maps_fd, counters_fd, want, n_want,
				 count_unwanted(maps_fd, want, n_want), 0, o.config);
	if (err)
		goto out;
	if (print_changes(&old_cfg, &cf.cfg, live, n_live, want, n_want) && !o.check)
		err = apply_tables(&p, &cf.cfg, want, n_want);
	/* Even with no change: conntrack may have been made strict again behind our back. */
	if (!err && !o.check)
		err = conntrack_fastpath_ready(&cf.cfg);
out:
	free(live);
	free(want);
	config_free(&cf);
	pins_close_set(&p);
	return err;
}
