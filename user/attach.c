// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * attach, detach: the programs on the TC and XDP hooks and the pinned tables.
 *
 * attach is idempotent: the tables are pinned by name and reused by the next
 * attach, so connections survive it, and our programs are replaced. Filters,
 * clsact qdiscs and XDP programs that belong to others are never touched.
 *
 * A command killed at any point leaves a pin dir that detach removes and
 * the next attach takes up: the layout pin is the first in and the last
 * out, and the tables learn of each interface before its hooks do (hooks.c).
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "hp.h"
#include "hairpin.skel.h"

struct attach_opts {
	char *lan;
	const char *wan;
	const char *config;
	const char *snat_ports;
	const char *xdp;
};

struct iface_cfg {
	unsigned int ifindex;
	char name[IF_NAMESIZE];
	struct hp_iface val;
};

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
	err = iface_link_flag(ic->ifindex, name, &ic->val);
	if (err)
		return err;
	err = iface_mac(ic->ifindex, ic->val.mac);
	if (err) {
		hp_err("interface '%s': cannot read its MAC address: %s", name, strerror(-err));
		return err;
	}
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
		{ "xdp", required_argument, NULL, 'x' },
		{ 0 },
	};
	int opt;

	optind = 0;
	while ((opt = hp_getopt("attach", argc, argv, ":c:", opts)) != -1) {
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
		case 'x':
			o->xdp = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc) {
		hp_err("attach: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Detach and forget every interface of the instance that this attach does not name. */
static void drop_stale_ifaces(const struct iface_tables *t, const struct iface_cfg *ics, int n)
{
	__u32 key, next, *prev = NULL;
	int i;

	while (!bpf_map_get_next_key(t->ifaces_fd, prev, &next)) {
		key = next;
		for (i = 0; i < n && ics[i].ifindex != key; i++)
			;
		if (i == n && !iface_forget(t, key))
			continue; /* restart from the same prev: key is gone */
		prev = &key;
	}
}

/*
 * Remove the pins. The layout pin goes last: as long as a table is pinned,
 * its layout is pinned beside it.
 */
static void unpin_all(void)
{
	char path[4096];
	int i;

	for (i = HP_PIN_COUNT - 1; i >= 0; i--)
		if (i != HP_PIN_LAYOUT && !pins_path(path, sizeof(path), hp_pin_names[i]))
			unlink(path);
	if (!pins_path(path, sizeof(path), hp_pin_names[HP_PIN_LAYOUT]))
		unlink(path);
	rmdir(env.pin_dir);
}

/* Detach every interface in the pinned table (if any), then remove the pins. */
static int detach_all(const struct iface_tables *t)
{
	__u32 key, next, *prev = NULL;
	int err = 0, e;

	while (t->ifaces_fd >= 0 && !bpf_map_get_next_key(t->ifaces_fd, prev, &next)) {
		key = next;
		e = iface_forget(t, key);
		if (!e)
			continue; /* gone: go on from the same place */
		err = e;
		prev = &key;
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
	__u8 xdp; /* enum hp_xdp_mode */
};

/* The interfaces: the command line's, else the config file's. */
static int attach_ifaces(struct attach_ctx *a)
{
	const struct hp_config_ifaces *ci = &a->cf.ifaces;
	char *save = NULL, *name;
	const char *wan = a->o.wan ?: (ci->wan[0] ? ci->wan : NULL);
	int err, i;

	if (a->o.lan) {
		for (name = strtok_r(a->o.lan, ",", &save); name;
		     name = strtok_r(NULL, ",", &save)) {
			err = add_iface(a->ics, &a->n, name, HP_ROLE_LAN);
			if (err)
				return err;
		}
		if (!a->n) {
			hp_err("attach: --lan names no interface");
			return -EINVAL;
		}
	} else {
		for (i = 0; i < ci->n_lan; i++) {
			err = add_iface(a->ics, &a->n, ci->lan[i], HP_ROLE_LAN);
			if (err)
				return err;
		}
	}
	if (!a->n || !wan) {
		hp_err("attach: which interfaces? --lan IF[,IF...] and --wan IF, or 'lan' and "
		       "'wan' lines in the config file");
		return -EINVAL;
	}
	return add_iface(a->ics, &a->n, wan, HP_ROLE_WAN);
}

static int attach_prepare(int argc, char **argv, struct attach_ctx *a)
{
	const struct iface_cfg *wan;
	int err, i;

	err = parse_attach(argc, argv, &a->o) ?: require_root();
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
	a->xdp = a->cf.xdp;
	if (a->o.xdp && parse_xdp_mode(a->o.xdp, &a->xdp)) {
		hp_err("attach: --xdp '%s' is not native, skb or off", a->o.xdp);
		return -EINVAL;
	}
	err = attach_ifaces(a);
	if (err)
		return err;
	for (i = 0; i < a->n; i++)
		xdp_mode_set(&a->ics[i].val, a->xdp);
	if (a->o.snat_ports &&
	    parse_port_range(a->o.snat_ports, &a->cfg.snat_port_min, &a->cfg.snat_port_max)) {
		hp_err("attach: --snat-ports '%s' is not LOW-HIGH with ports 1-65535",
		       a->o.snat_ports);
		return -EINVAL;
	}
	err = config_check_local_ports(&a->cfg);
	if (err)
		return err;
	wan = &a->ics[a->n - 1];
	for (i = 0; i < a->cf.n_maps; i++) {
		if (!a->cf.maps[i].pub_wan)
			continue;
		err = iface_ipv4(wan->ifindex, &a->cf.maps[i].pub_addr);
		if (err) {
			hp_err("%s: 'wan': WAN interface '%s' has no IPv4 address", a->o.config,
			       wan->name);
			return err;
		}
	}
	return a->o.config ? config_check_mappings(a->o.config, &a->cf) : 0;
}

/*
 * Pin the layout table, its version written, before libbpf pins any other:
 * then no pin dir holds a table without its layout. Its key and value get
 * BTF of their own, as libbpf's tables do, so that bpftool prints them.
 */
static int pin_layout(const struct bpf_map *m)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = bpf_map__map_flags(m));
	__u32 zero = 0, version = HP_LAYOUT_VERSION;
	struct btf *btf = NULL;
	char path[4096];
	int fd = -1, u32, err;

	err = pins_path(path, sizeof(path), hp_pin_names[HP_PIN_LAYOUT]);
	if (err || !access(path, F_OK))
		return err; /* pinned: pins_check_layout() has read it */
	btf = btf__new_empty();
	u32 = btf ? btf__add_int(btf, "unsigned int", 4, 0) : -ENOMEM;
	err = u32 < 0 ? u32 : btf__load_into_kernel(btf);
	if (err)
		goto out;
	opts.btf_fd = btf__fd(btf);
	opts.btf_key_type_id = u32;
	opts.btf_value_type_id = u32;
	fd = bpf_map_create(bpf_map__type(m), "hp_layout", bpf_map__key_size(m),
			    bpf_map__value_size(m), bpf_map__max_entries(m), &opts);
	if (fd < 0 || bpf_map_update_elem(fd, &zero, &version, BPF_ANY) || bpf_obj_pin(fd, path))
		err = -errno;
out:
	if (fd >= 0)
		close(fd);
	btf__free(btf);
	if (err)
		hp_err("cannot pin %s: %s", path, strerror(-err));
	return err;
}

/*
 * The kernel gives a device map BPF_F_RDONLY_PROG, which libbpf does not
 * expect of a pinned table it checks against the object: xdp_tx, when
 * pinned, is taken as it is.
 */
static int reuse_xdp_tx(struct bpf_map *m)
{
	int fd = pins_open_quiet(HP_PIN_XDP_TX), err;

	if (fd == -ENOENT)
		return 0;
	err = fd < 0 ? fd : bpf_map__reuse_fd(m, fd);
	if (fd >= 0)
		close(fd);
	if (err)
		hp_err("%s/%s: %s", env.pin_dir, hp_pin_names[HP_PIN_XDP_TX], strerror(-err));
	return err;
}

/* Open and load the programs; tables already pinned are reused, new ones pinned. */
int attach_load(struct hairpin **skelp, struct iface_progs *p, const struct hp_sizes *sizes)
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
	maps[HP_PIN_IFNAMES] = skel->maps.hp_ifnames;
	maps[HP_PIN_CONN_QUEUE] = skel->maps.hp_conn_queue;
	maps[HP_PIN_CONN_ASSURED] = skel->maps.hp_conn_assured;
	maps[HP_PIN_XDP_TX] = skel->maps.hp_xdp_tx;
	maps[HP_PIN_HOPS] = skel->maps.hp_hops;
	for (i = 0; i < HP_PIN_COUNT; i++) {
		err = pins_path(path, sizeof(path), hp_pin_names[i]);
		if (!err)
			err = bpf_map__set_pin_path(maps[i], path);
		if (err)
			return err;
	}
	err = pin_layout(skel->maps.hp_layout) ?: reuse_xdp_tx(skel->maps.hp_xdp_tx);
	if (err)
		return err;
	hp_crash_point();
	skb_csum_state_set(skel);
	err = sizes_set(skel, sizes) ?: hp_load_skeleton(skel->skeleton);
	if (err)
		return err;
	p->ingress_fd = bpf_program__fd(skel->progs.hp_ingress);
	p->egress_fd = bpf_program__fd(skel->progs.hp_egress);
	hops_gc(bpf_map__fd(skel->maps.hp_hops));
	return 0;
}

void attach_unload(struct hairpin *skel)
{
	hairpin__destroy(skel);
}

/* Write the tables and attach to every interface. */
static int attach_apply(struct hairpin *skel, struct attach_ctx *a, const struct iface_progs *p)
{
	struct iface_tables t = { bpf_map__fd(skel->maps.hp_ifaces),
				  bpf_map__fd(skel->maps.hp_ifnames),
				  bpf_map__fd(skel->maps.hp_xdp_tx) };
	int fd, i, err;
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &a->cfg, BPF_ANY)) {
		err = -errno;
		hp_err("cannot write the config table: %s", strerror(-err));
		return err;
	}
	hp_crash_point();
	for (i = 0; i < a->n; i++) {
		err = iface_attach(&t, a->ics[i].ifindex, a->ics[i].name, &a->ics[i].val, p);
		if (err)
			return err;
	}
	drop_stale_ifaces(&t, a->ics, a->n);
	xdp_tx_update(&t, NULL);
	hp_crash_point();

	fd = bpf_map__fd(skel->maps.hp_mappings);
	for (i = 0; i < a->cf.n_maps; i++) {
		err = mapping_write(fd, bpf_map__fd(skel->maps.hp_map_counters), &a->cf.maps[i]);
		if (err)
			return err;
		hp_crash_point();
	}
	return 0;
}

/* The pinned counters table of a live instance (@old_maps: its mappings), or -1. */
static int old_counters(int old_maps)
{
	char path[4096];

	if (old_maps < 0 || pins_path(path, sizeof(path), hp_pin_names[HP_PIN_COUNTERS]))
		return -1;
	return bpf_obj_get(path);
}

/* What a killed map command left half written is finished before the file is checked. */
static void attach_tidy(int old_maps)
{
	int counters = old_counters(old_maps);

	if (counters < 0)
		return;
	mapping_tidy(old_maps, counters);
	close(counters);
}

/* The file's mappings fit beside the live ones (attach_tidy() freed stale counters). */
static int attach_check_room(int old_maps, const struct attach_ctx *a)
{
	int counters = old_counters(old_maps), err;

	err = mapping_check_room(old_maps, counters, a->cf.maps, a->cf.n_maps, 0, a->sizes.mappings,
				 a->o.config);
	if (counters >= 0)
		close(counters);
	return err;
}

/*
 * Bring the live "wan" mappings to the WAN's address before the file's are
 * checked against them, so that entries of an old address (the WAN made
 * again, or no watch running) do not stay beside the new ones.
 */
static int follow_wan(int maps_fd, const struct attach_ctx *a)
{
	int counters_fd, n;
	__be32 addr, was;

	if (iface_ipv4(a->ics[a->n - 1].ifindex, &addr))
		return 0;
	counters_fd = pins_open_quiet(HP_PIN_COUNTERS);
	if (counters_fd == -ENOENT)
		return 0; /* an attach killed before it wrote a mapping: nothing to move */
	if (counters_fd < 0) {
		hp_err("%s/%s: %s", env.pin_dir, hp_pin_names[HP_PIN_COUNTERS],
		       strerror(-counters_fd));
		return counters_fd;
	}
	n = wan_follow(maps_fd, counters_fd, addr, &was);
	close(counters_fd);
	return n < 0 ? n : 0;
}

/* Our programs can join what is on each interface's hooks: checked before anything changes. */
static int attach_check_hooks(const struct attach_ctx *a)
{
	struct iface_tables t = { pins_open_quiet(HP_PIN_IFACES), -1, -1 };
	int i, err = 0;

	for (i = 0; !err && i < a->n; i++)
		err = tc_check(a->ics[i].ifindex, a->ics[i].name) ?:
		      xdp_check(&t, a->ics[i].ifindex, a->ics[i].name, a->xdp);
	if (t.ifaces_fd >= 0)
		close(t.ifaces_fd);
	return err;
}

int cmd_attach(int argc, char **argv)
{
	struct attach_ctx a = {};
	struct hairpin *skel = NULL;
	struct iface_progs progs = { -1, -1 };
	int i, err, lock = -1, old_maps = -1;
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
	hp_crash_point();
	/* Check the file against the live table before anything changes. */
	err = pins_path(path, sizeof(path), hp_pin_names[HP_PIN_MAPPINGS]);
	if (err)
		goto out;
	old_maps = bpf_obj_get(path);
	fresh = old_maps < 0;
	err = attach_check_hooks(&a);
	if (err)
		goto out;
	if (!fresh) {
		/* Moved first: a move killed half way is finished, not mended back. */
		err = follow_wan(old_maps, &a);
		if (err)
			goto out;
		attach_tidy(old_maps);
	}
	for (i = 0; !fresh && i < a.cf.n_maps; i++) {
		err = mapping_check_add(old_maps, &a.cf.maps[i], true, a.o.config, true);
		if (err)
			goto out;
	}
	err = attach_check_room(old_maps, &a);
	if (err)
		goto out;

	err = attach_load(&skel, &progs, &a.sizes);
	if (!err)
		err = attach_apply(skel, &a, &progs) ?: conntrack_fastpath_ready(&a.cfg);
	if (err && fresh && skel) {
		/* A first attach that failed half way leaves nothing behind. */
		struct iface_tables t = { bpf_map__fd(skel->maps.hp_ifaces),
					  bpf_map__fd(skel->maps.hp_ifnames),
					  bpf_map__fd(skel->maps.hp_xdp_tx) };

		detach_all(&t);
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
	struct iface_tables t;
	int err, lock;

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
	/* Whatever an attach killed half way pinned, detach removes. */
	t.ifaces_fd = pins_open_quiet(HP_PIN_IFACES);
	t.names_fd = pins_open_quiet(HP_PIN_IFNAMES);
	t.xdp_tx_fd = pins_open_quiet(HP_PIN_XDP_TX);
	if (t.ifaces_fd < 0 && t.ifaces_fd != -ENOENT) {
		err = t.ifaces_fd;
		hp_err("%s/%s: %s", env.pin_dir, hp_pin_names[HP_PIN_IFACES], strerror(-err));
	} else {
		err = detach_all(&t);
	}
	if (t.ifaces_fd >= 0)
		close(t.ifaces_fd);
	if (t.names_fd >= 0)
		close(t.names_fd);
	if (t.xdp_tx_fd >= 0)
		close(t.xdp_tx_fd);
	pins_unlock(lock);
	return err;
}
