// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * status: the instance's settings and interfaces. It exits 1 when an
 * interface of the instance is missing, was made again (a new index) or
 * lost our filters: its traffic is not translated, and a monitor must see
 * that without parsing the text.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "hp.h"

/*
 * The pin dir, the settings as show prints them, then what only status
 * says: whether conntrack lets the fast path be, and the mapping entries.
 */
static void print_config(const struct hp_config *cfg, const struct hp_sizes *sizes,
			 unsigned int n_maps)
{
	bool liberal = conntrack_liberal() != 0;

	if (env.json)
		json_str("pin_dir", env.pin_dir);
	else
		printf("pin dir      %s\n", env.pin_dir);
	settings_print(cfg, sizes);
	if (env.json) {
		json_bool("conntrack_liberal", liberal);
		json_u64("mapping_entries", n_maps);
		return;
	}
	if (!(cfg->flags & HP_CFG_NO_FASTPATH) && !liberal)
		printf("conntrack    not liberal: the fast path needs it; run 'hairpin apply', "
		       "see README\n");
	printf("mapping entries %u\n", n_maps);
}

/*
 * Print the interfaces; the names of those not attached go to @bad, the ids
 * of the programs attached to them to @progs (at most @max, counted in @n).
 */
static void print_ifaces(int ifaces_fd, int names_fd, char *bad, size_t len, __u32 *progs,
			 int max, int *n)
{
	__u32 key, *prev = NULL, in_id, eg_id;
	char name[HP_IFNAMSIZ], addr[INET_ADDRSTRLEN];
	enum iface_state state;
	struct hp_iface ifc;
	size_t used;

	if (env.json)
		json_begin_array("interfaces");
	while (!bpf_map_get_next_key(ifaces_fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(ifaces_fd, &key, &ifc))
			continue;
		iface_name(names_fd, key, name);
		state = iface_state(key, name);
		inet_ntop(AF_INET, &ifc.snat_addr, addr, sizeof(addr));
		in_id = state == IFACE_GONE ? 0 : tc_prog_id(key, true);
		eg_id = state == IFACE_GONE ? 0 : tc_prog_id(key, false);
		if (*n + 2 <= max) {
			progs[(*n)++] = in_id;
			progs[(*n)++] = eg_id;
		}
		if (state != IFACE_ATTACHED) {
			used = strlen(bad);
			snprintf(bad + used, len - used, "%s%s (%s)", used ? ", " : "", name,
				 iface_state_name(state));
		}
		if (env.json) {
			json_begin_object();
			json_str("name", name);
			json_u64("ifindex", key);
			json_str("role", ifc.role == HP_ROLE_LAN ? "lan" : "wan");
			json_str("address", addr);
			json_str("state", iface_state_name(state));
			json_u64("ingress_prog_id", in_id);
			json_u64("egress_prog_id", eg_id);
			json_end_object();
		} else {
			printf("interface    %-12s %s  address %s  ingress %s  egress %s%s%s\n",
			       name, ifc.role == HP_ROLE_LAN ? "lan" : "wan", addr,
			       in_id ? "attached" : "MISSING", eg_id ? "attached" : "MISSING",
			       state == IFACE_ATTACHED ? "" : "  ",
			       state == IFACE_ATTACHED ? "" : iface_state_name(state));
		}
	}
	if (env.json)
		json_end_array();
}

int cmd_status(int argc, char **argv)
{
	__u32 n_maps = 0, progs[2 * HP_MAX_IFACES];
	struct hp_sizes sizes;
	struct hp_config cfg;
	struct hp_pins p;
	char bad[512] = "";
	int err, n_progs = 0;

	if (argc > 1) {
		hp_err("status: unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	/* conns for its size; ifnames may be missing: an instance attached before it existed. */
	err = pins_open_set(&p,
			    HP_PIN_BIT(HP_PIN_MAPPINGS) | HP_PIN_BIT(HP_PIN_IFACES) |
				    HP_PIN_BIT(HP_PIN_CONNS) | HP_PIN_BIT(HP_PIN_CONFIG),
			    HP_PIN_BIT(HP_PIN_IFNAMES), false)
		      ?: settings_read(p.fd[HP_PIN_CONFIG], &cfg, &sizes);
	if (err)
		goto out;
	if (env.json)
		json_begin_object();
	table_entries(p.fd[HP_PIN_MAPPINGS], &n_maps);
	print_config(&cfg, &sizes, n_maps);
	print_ifaces(p.fd[HP_PIN_IFACES], p.fd[HP_PIN_IFNAMES], bad, sizeof(bad), progs,
		     sizeof(progs) / sizeof(progs[0]), &n_progs);
	tables_print(progs, n_progs);
	if (env.json) {
		json_bool("healthy", !bad[0]);
		json_end_object();
		json_done();
	}
	if (bad[0]) {
		hp_err("not attached: %s; 'hairpin watch' attaches an interface that comes back, "
		       "or run 'hairpin attach' again",
		       bad);
		err = 1;
	}
out:
	pins_close_set(&p);
	return err;
}
