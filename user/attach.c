// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * attach, detach, status: the programs on the TC hooks and the pinned tables.
 *
 * attach is idempotent: the tables are pinned by name and reused by the next
 * attach, so connections survive it, and our filters are replaced in place.
 * Filters and clsact qdiscs that belong to others are never touched.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hp.h"
#include "hairpin.skel.h"

struct attach_opts {
	char *lan;
	const char *wan;
	const char *config;
	const char *snat_ports;
};

struct iface_cfg {
	unsigned int ifindex;
	char name[IF_NAMESIZE];
	struct hp_iface val;
};

static void tc_ids(unsigned int ifindex, enum bpf_tc_attach_point point, struct bpf_tc_hook *h,
		   struct bpf_tc_opts *o)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = point;
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->handle = HP_TC_HANDLE;
	o->priority = HP_TC_PRIO;
}

/* Our filter's program id on one hook, 0 if none. */
static __u32 tc_prog_id(unsigned int ifindex, enum bpf_tc_attach_point point)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;

	tc_ids(ifindex, point, &h, &o);
	if (bpf_tc_query(&h, &o))
		return 0;
	return o.prog_id;
}

static int detach_iface(unsigned int ifindex, const struct hp_iface *ifc)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	int err, ret = 0;

	tc_ids(ifindex, BPF_TC_INGRESS, &h, &o);
	err = bpf_tc_detach(&h, &o);
	if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL)
		ret = err;
	tc_ids(ifindex, BPF_TC_EGRESS, &h, &o);
	err = bpf_tc_detach(&h, &o);
	if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL)
		ret = err;
	if (ifc->flags & HP_IFACE_OWN_QDISC) {
		h.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		err = bpf_tc_hook_destroy(&h);
		if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL)
			ret = err;
	}
	if (ret) {
		char name[IF_NAMESIZE] = "?";

		if_indextoname(ifindex, name);
		hp_err("%s: cannot remove filters: %s", name, strerror(-ret));
	}
	return ret;
}

static int attach_iface(struct hairpin *skel, struct iface_cfg *ic)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	int err;

	tc_ids(ic->ifindex, BPF_TC_INGRESS, &h, &o);
	err = bpf_tc_hook_create(&h);
	if (!err)
		ic->val.flags |= HP_IFACE_OWN_QDISC;
	else if (err != -EEXIST)
		goto fail;

	o.prog_fd = bpf_program__fd(skel->progs.hp_ingress);
	o.flags = BPF_TC_F_REPLACE;
	err = bpf_tc_attach(&h, &o);
	if (err)
		goto fail;

	tc_ids(ic->ifindex, BPF_TC_EGRESS, &h, &o);
	o.prog_fd = bpf_program__fd(skel->progs.hp_egress);
	o.flags = BPF_TC_F_REPLACE;
	err = bpf_tc_attach(&h, &o);
	if (err)
		goto fail;
	return 0;
fail:
	hp_err("%s: cannot attach to TC: %s", ic->name, strerror(-err));
	return err;
}

static int add_iface(struct iface_cfg *ics, int *n, const char *name, enum hp_role role)
{
	struct iface_cfg *ic = &ics[*n];
	int i, err;

	if (*n == HP_MAX_IFACES) {
		hp_err("too many interfaces (at most %d)", HP_MAX_IFACES);
		return -E2BIG;
	}
	memset(ic, 0, sizeof(*ic));
	if (iface_index(name, &ic->ifindex)) {
		hp_err("interface '%s' does not exist", name);
		return -ENODEV;
	}
	for (i = 0; i < *n; i++) {
		if (ics[i].ifindex == ic->ifindex) {
			hp_err("interface '%s' is named twice", name);
			return -EINVAL;
		}
	}
	snprintf(ic->name, sizeof(ic->name), "%s", name);
	ic->val.role = role;
	err = iface_ipv4_net(ic->ifindex, &ic->val.snat_addr, &ic->val.prefix_len);
	if (err && role == HP_ROLE_LAN) {
		hp_err("LAN interface '%s' has no IPv4 address to source-NAT hairpin clients to",
		       name);
		return err;
	}
	(*n)++;
	return 0;
}

static int parse_attach(int argc, char **argv, struct attach_opts *o)
{
	static const struct option opts[] = {
		{ "lan", required_argument, NULL, 'l' },
		{ "wan", required_argument, NULL, 'w' },
		{ "config", required_argument, NULL, 'c' },
		{ "snat-ports", required_argument, NULL, 's' },
		{ 0 },
	};
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			o->lan = optarg;
			break;
		case 'w':
			o->wan = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 's':
			o->snat_ports = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc) {
		hp_err("attach: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!o->lan || !o->wan) {
		hp_err("attach: --lan IF[,IF...] and --wan IF are required");
		return -EINVAL;
	}
	return 0;
}

/* Remove from the live interface table, and from TC, what this attach no longer names. */
static void drop_stale_ifaces(int ifaces_fd, const struct iface_cfg *ics, int n)
{
	__u32 key, next, *prev = NULL;
	struct hp_iface ifc;
	int i;

	while (!bpf_map_get_next_key(ifaces_fd, prev, &next)) {
		key = next;
		for (i = 0; i < n && ics[i].ifindex != key; i++)
			;
		if (i == n && !bpf_map_lookup_elem(ifaces_fd, &key, &ifc)) {
			detach_iface(key, &ifc);
			bpf_map_delete_elem(ifaces_fd, &key);
			continue; /* restart from the same prev: key is gone */
		}
		prev = &key;
	}
}

static void unpin_all(void)
{
	char path[4096];
	int i;

	for (i = 0; i < HP_PIN_COUNT; i++)
		if (!pins_path(path, sizeof(path), hp_pin_names[i]))
			unlink(path);
	rmdir(env.pin_dir);
}

/* Detach every interface in the pinned table, then remove the pins. */
static int detach_all(int ifaces_fd)
{
	__u32 key, *prev = NULL;
	struct hp_iface ifc;
	int err = 0;

	while (!bpf_map_get_next_key(ifaces_fd, prev, &key)) {
		prev = &key;
		if (!bpf_map_lookup_elem(ifaces_fd, &key, &ifc))
			err = detach_iface(key, &ifc) ?: err;
	}
	if (!err)
		unpin_all();
	return err;
}

/* Everything an attach applies, gathered and checked before anything changes. */
struct attach_ctx {
	struct attach_opts o;
	struct iface_cfg ics[HP_MAX_IFACES]; /* the LAN interfaces, then the WAN one */
	int n;
	struct hp_config_file cf;
	struct hp_config cfg;
	struct hp_sizes sizes;
};

static int attach_prepare(int argc, char **argv, struct attach_ctx *a)
{
	char *save = NULL, *name;
	int err, i;

	err = parse_attach(argc, argv, &a->o) ?: require_root();
	if (err)
		return err;
	for (name = strtok_r(a->o.lan, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		err = add_iface(a->ics, &a->n, name, HP_ROLE_LAN);
		if (err)
			return err;
	}
	if (!a->n) {
		hp_err("attach: --lan names no interface");
		return -EINVAL;
	}
	err = add_iface(a->ics, &a->n, a->o.wan, HP_ROLE_WAN);
	if (err)
		return err;

	a->cfg = (struct hp_config)HP_CONFIG_DEFAULT;
	a->sizes = (struct hp_sizes)HP_SIZES_DEFAULT;
	if (a->o.config) {
		err = config_load(a->o.config, &a->cf);
		if (err)
			return err;
		a->cfg = a->cf.cfg;
		a->sizes = a->cf.sizes;
	}
	if (a->o.snat_ports &&
	    parse_port_range(a->o.snat_ports, &a->cfg.snat_port_min, &a->cfg.snat_port_max)) {
		hp_err("attach: --snat-ports '%s' is not LOW-HIGH with ports 1-65535",
		       a->o.snat_ports);
		return -EINVAL;
	}
	err = config_check_local_ports(&a->cfg);
	if (err)
		return err;
	for (i = 0; i < a->cf.n_maps; i++) {
		if (!a->cf.maps[i].pub_wan)
			continue;
		err = iface_ipv4(a->ics[a->n - 1].ifindex, &a->cf.maps[i].pub_addr);
		if (err) {
			hp_err("%s: 'wan': WAN interface '%s' has no IPv4 address", a->o.config,
			       a->o.wan);
			return err;
		}
	}
	return a->o.config ? config_check_mappings(a->o.config, &a->cf) : 0;
}

/* Open and load the programs; tables already pinned are reused, new ones pinned. */
static int load_pinned(struct hairpin **skelp, const struct hp_sizes *sizes)
{
	struct hairpin *skel = hairpin__open();
	struct bpf_map *maps[HP_PIN_COUNT];
	char path[4096];
	int i, err;

	*skelp = skel;
	if (!skel) {
		err = -errno;
		hp_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	maps[HP_PIN_MAPPINGS] = skel->maps.hp_mappings;
	maps[HP_PIN_IFACES] = skel->maps.hp_ifaces;
	maps[HP_PIN_CONNS] = skel->maps.hp_conns;
	maps[HP_PIN_CONFIG] = skel->maps.hp_config;
	maps[HP_PIN_STATS] = skel->maps.hp_stats;
	maps[HP_PIN_LAYOUT] = skel->maps.hp_layout;
	maps[HP_PIN_COUNTERS] = skel->maps.hp_map_counters;
	for (i = 0; i < HP_PIN_COUNT; i++) {
		err = pins_path(path, sizeof(path), hp_pin_names[i]);
		if (!err)
			err = bpf_map__set_pin_path(maps[i], path);
		if (err)
			return err;
	}
	err = sizes_set(skel, sizes) ?: hp_load_skeleton(skel->skeleton);
	if (!err) {
		__u32 zero = 0, version = HP_LAYOUT_VERSION;

		err = bpf_map_update_elem(bpf_map__fd(skel->maps.hp_layout), &zero, &version,
					  BPF_ANY);
	}
	return err;
}

/* Write the tables and attach to every interface. */
static int attach_apply(struct hairpin *skel, struct attach_ctx *a)
{
	int fd, i, err;
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &a->cfg, BPF_ANY)) {
		err = -errno;
		hp_err("cannot write the config table: %s", strerror(-err));
		return err;
	}
	fd = bpf_map__fd(skel->maps.hp_ifaces);
	for (i = 0; i < a->n; i++) {
		struct iface_cfg *ic = &a->ics[i];
		struct hp_iface old;

		/* Keep the qdisc ownership learnt by an earlier attach. */
		if (!bpf_map_lookup_elem(fd, &ic->ifindex, &old))
			ic->val.flags |= old.flags & HP_IFACE_OWN_QDISC;
		err = attach_iface(skel, ic);
		if (err)
			return err;
		if (bpf_map_update_elem(fd, &ic->ifindex, &ic->val, BPF_ANY)) {
			err = -errno;
			hp_err("cannot write the interface table: %s", strerror(-err));
			return err;
		}
	}
	drop_stale_ifaces(fd, a->ics, a->n);

	fd = bpf_map__fd(skel->maps.hp_mappings);
	for (i = 0; i < a->cf.n_maps; i++) {
		err = mapping_write(fd, bpf_map__fd(skel->maps.hp_map_counters), &a->cf.maps[i]);
		if (err)
			return err;
	}
	return 0;
}

/* The file's mappings fit beside the live ones, once stale counters are gone. */
static int attach_check_room(int old_maps, const struct attach_ctx *a)
{
	char path[4096];
	int counters = -1, err;

	if (old_maps >= 0 && !pins_path(path, sizeof(path), hp_pin_names[HP_PIN_COUNTERS])) {
		counters = bpf_obj_get(path);
		if (counters >= 0)
			mapping_counters_gc(old_maps, counters);
	}
	err = mapping_check_room(old_maps, counters, a->cf.maps, a->cf.n_maps, 0, a->sizes.mappings,
				 a->o.config);
	if (counters >= 0)
		close(counters);
	return err;
}

int cmd_attach(int argc, char **argv)
{
	struct attach_ctx a = {};
	struct hairpin *skel = NULL;
	int i, err, lock = -1, old_maps = -1, fd;
	bool fresh = false;
	char path[4096];

	err = attach_prepare(argc, argv, &a) ?: pins_check_fs(true);
	if (err)
		goto out;
	lock = pins_lock();
	if (lock < 0) {
		err = lock;
		goto out;
	}
	err = pins_check_layout() ?: sizes_check_live(&a.sizes, a.o.config ?: "attach");
	if (err)
		goto out;
	/* Check the file against the live table before anything changes. */
	err = pins_path(path, sizeof(path), hp_pin_names[HP_PIN_MAPPINGS]);
	if (err)
		goto out;
	old_maps = bpf_obj_get(path);
	fresh = old_maps < 0;
	for (i = 0; !fresh && i < a.cf.n_maps; i++) {
		err = mapping_check_add(old_maps, &a.cf.maps[i], true, a.o.config, true);
		if (err)
			goto out;
	}
	err = attach_check_room(old_maps, &a);
	if (err)
		goto out;

	err = load_pinned(&skel, &a.sizes);
	if (err)
		goto out;
	err = attach_apply(skel, &a) ?: conntrack_fastpath_ready(&a.cfg);
	if (err && fresh) {
		/* A first attach that failed half way leaves nothing behind. */
		fd = bpf_map__fd(skel->maps.hp_ifaces);
		for (i = 0; i < a.n; i++)
			if (a.ics[i].val.flags & HP_IFACE_OWN_QDISC)
				bpf_map_update_elem(fd, &a.ics[i].ifindex, &a.ics[i].val, BPF_ANY);
		detach_all(fd);
	}
out:
	hairpin__destroy(skel);
	if (err && fresh)
		rmdir(env.pin_dir); /* only if empty: a first attach leaves no pin dir behind */
	if (old_maps >= 0)
		close(old_maps);
	pins_unlock(lock);
	config_free(&a.cf);
	return err;
}

int cmd_detach(int argc, char **argv)
{
	int err, lock, fd;

	if (argc > 1) {
		hp_err("detach: unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	err = require_root() ?: pins_check_fs(false); /* any layout: detach is the way out */
	if (err)
		return err;
	lock = pins_lock();
	if (lock < 0)
		return lock;
	fd = pins_open(HP_PIN_IFACES);
	if (fd < 0) {
		pins_unlock(lock);
		return fd;
	}
	err = detach_all(fd);
	close(fd);
	pins_unlock(lock);
	return err;
}

int cmd_status(int argc, char **argv)
{
	int err, ifaces_fd, maps_fd, cfg_fd;
	struct hp_config cfg = {};
	struct hp_iface ifc;
	__u32 key, *prev = NULL, zero = 0, n_maps = 0, progs[2 * HP_MAX_IFACES];
	int n_progs = 0;

	if (argc > 1) {
		hp_err("status: unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	err = require_root() ?: pins_attached();
	if (err)
		return err;
	ifaces_fd = pins_open(HP_PIN_IFACES);
	if (ifaces_fd < 0)
		return ifaces_fd;
	maps_fd = pins_open(HP_PIN_MAPPINGS);
	cfg_fd = pins_open(HP_PIN_CONFIG);
	if (maps_fd < 0 || cfg_fd < 0) {
		err = maps_fd < 0 ? maps_fd : cfg_fd;
		goto out;
	}
	bpf_map_lookup_elem(cfg_fd, &zero, &cfg);
	table_entries(maps_fd, &n_maps);

	if (env.json) {
		json_begin_object();
		json_str("pin_dir", env.pin_dir);
		json_u64("snat_port_min", cfg.snat_port_min);
		json_u64("snat_port_max", cfg.snat_port_max);
		json_u64("timeout_tcp_established", cfg.timeout_tcp_est);
		json_u64("timeout_tcp_closing", cfg.timeout_tcp_close);
		json_u64("timeout_udp", cfg.timeout_udp);
		json_str("snat_mode", snat_mode_name(cfg.snat_mode));
		json_str("snat_scope", snat_scope_name(cfg.snat_scope));
		json_u64("mark", cfg.mark);
		json_u64("mark_mask", cfg.mark_mask);
		json_str("fastpath", fastpath_name(&cfg));
		json_bool("conntrack_liberal", conntrack_liberal() != 0);
		json_u64("mapping_entries", n_maps);
		json_begin_array("interfaces");
	} else {
		printf("pin dir      %s\n", env.pin_dir);
		printf("snat ports   %u-%u\n", cfg.snat_port_min, cfg.snat_port_max);
		printf("timeouts     tcp-established %u s, tcp-closing %u s, udp %u s\n",
		       cfg.timeout_tcp_est, cfg.timeout_tcp_close, cfg.timeout_udp);
		printf("hairpin snat %s %s\n", snat_mode_name(cfg.snat_mode),
		       snat_scope_name(cfg.snat_scope));
		printf("mark         %#x/%#x\n", cfg.mark, cfg.mark_mask);
		printf("fastpath     %s%s\n", fastpath_name(&cfg),
		       !(cfg.flags & HP_CFG_NO_FASTPATH) && !conntrack_liberal()
			       ? " (conntrack not liberal: run 'hairpin apply', see README)"
			       : "");
	}
	while (!bpf_map_get_next_key(ifaces_fd, prev, &key)) {
		char name[IF_NAMESIZE] = "(gone)", addr[INET_ADDRSTRLEN];
		__u32 in_id, eg_id;

		prev = &key;
		if (bpf_map_lookup_elem(ifaces_fd, &key, &ifc))
			continue;
		if_indextoname(key, name);
		inet_ntop(AF_INET, &ifc.snat_addr, addr, sizeof(addr));
		in_id = tc_prog_id(key, BPF_TC_INGRESS);
		eg_id = tc_prog_id(key, BPF_TC_EGRESS);
		if (n_progs < (int)(sizeof(progs) / sizeof(progs[0])) - 1) {
			progs[n_progs++] = in_id;
			progs[n_progs++] = eg_id;
		}
		if (env.json) {
			json_begin_object();
			json_str("name", name);
			json_u64("ifindex", key);
			json_str("role", ifc.role == HP_ROLE_LAN ? "lan" : "wan");
			json_str("address", addr);
			json_u64("ingress_prog_id", in_id);
			json_u64("egress_prog_id", eg_id);
			json_end_object();
		} else {
			printf("interface    %-12s %s  address %s  ingress %s  egress %s\n", name,
			       ifc.role == HP_ROLE_LAN ? "lan" : "wan", addr,
			       in_id ? "attached" : "MISSING", eg_id ? "attached" : "MISSING");
		}
	}
	if (env.json)
		json_end_array();
	tables_print(progs, n_progs);
	if (env.json) {
		json_end_object();
		json_done();
	}
out:
	close(ifaces_fd);
	if (maps_fd >= 0)
		close(maps_fd);
	if (cfg_fd >= 0)
		close(cfg_fd);
	return err;
}
