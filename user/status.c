// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * status: the instance's settings and interfaces. It exits 1 when an
 * interface of the instance is missing, was made again (a new index) or
 * lost our filters: its traffic is not translated, and a monitor must see
 * that without parsing the text. An interface without its XDP program is
 * still attached: the TC programs translate all its traffic.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
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
 * An interface's XDP program and whether the XDP program may redirect to it.
 * Returns true when it is a target that takes no frames now: what the XDP
 * program sends there is lost until attach or watch takes it out.
 */
static bool print_xdp(const struct hook_ctx *c, __u32 xdp_id, enum iface_state state)
{
	__u8 want = xdp_mode_of(c->val);
	bool target = c->val->flags & HP_IFACE_XDP_TX;
	bool unsupported = want != HP_XDP_OFF && (c->val->flags & HP_IFACE_XDP_UNSUPPORTED);
	char why[64] = "", how[96];
	struct xdp_tx_eval e = { .why = XDP_TX_UNKNOWN };
	struct xdp_state st = {};

	if (state != IFACE_GONE) {
		xdp_state(c->t, c->ifindex, &st);
		xdp_tx_eval(c->ifindex, &e);
	}
	/* The flag is what the program reads; a new verdict waits for attach or watch. */
	if (target != (e.why == XDP_TX_YES))
		snprintf(why, sizeof(why), "stale: ");
	if (target != (e.why == XDP_TX_YES) || !target)
		xdp_tx_why(&e, why + strlen(why), sizeof(why) - strlen(why));
	if (env.json) {
		json_str("xdp", xdp_mode_name(want));
		json_str("xdp_load", !xdp_id ? "none" : st.dispatcher ? "dispatcher" : "single");
		json_str("xdp_attach_mode", xdp_id ? xdp_mode_name(st.mode) : "off");
		json_bool("xdp_unsupported", unsupported);
		json_bool("xdp_target", target);
		json_str("xdp_target_why", why);
		return target && e.why != XDP_TX_YES;
	}
	if (xdp_id)
		snprintf(how, sizeof(how), " attached%s%s (%s)", st.mode == want ? "" : " in ",
			 st.mode == want ? "" : xdp_mode_name(st.mode),
			 st.dispatcher ? "libxdp's dispatcher" : "single program");
	else if (unsupported)
		snprintf(how, sizeof(how), " unsupported (%s)",
			 xdp_unsupported_why(c->ifindex, want));
	else
		snprintf(how, sizeof(how), "%s", want == HP_XDP_OFF ? "" : " MISSING");
	printf("xdp          %-12s %s%s  redirect target %s%s%s%s\n", c->name, xdp_mode_name(want),
	       how, target ? "yes" : "no", why[0] ? " (" : "", why, why[0] ? ")" : "");
	return target && e.why != XDP_TX_YES;
}

/* Append "@name (@what)" to the list in @buf. */
static void add_bad(char *buf, size_t len, const char *name, const char *what)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s (%s)", used ? ", " : "", name, what);
}

/*
 * Print the interfaces; the names of those not attached go to @bad, those
 * that are XDP redirect targets taking no frames to @lossy, the ids of the
 * programs attached to them to @progs (at most @max, counted in @n).
 */
static void print_ifaces(const struct iface_tables *t, char *bad, char *lossy, size_t len,
			 __u32 *progs, int max, int *n)
{
	char name[HP_IFNAMSIZ], addr[INET_ADDRSTRLEN], key_name[32], now_name[IF_NAMESIZE];
	__u32 key, *prev = NULL, ids[HP_N_HOOKS];
	enum iface_state state;
	struct hp_iface ifc;
	int h;

	if (env.json)
		json_begin_array("interfaces");
	while (!bpf_map_get_next_key(t->ifaces_fd, prev, &key)) {
		struct hook_ctx c = { t, key, name, &ifc, NULL };

		prev = &key;
		if (bpf_map_lookup_elem(t->ifaces_fd, &key, &ifc))
			continue;
		iface_name(t->names_fd, key, name);
		state = iface_state(t, key, name);
		inet_ntop(AF_INET, &ifc.snat_addr, addr, sizeof(addr));
		for (h = 0; h < HP_N_HOOKS; h++) {
			ids[h] = state == IFACE_GONE ? 0 : hp_hooks[h]->query(&c);
			if (*n < max)
				progs[(*n)++] = ids[h];
		}
		if (state != IFACE_ATTACHED)
			add_bad(bad, len, name, iface_state_name(state));
		if (env.json) {
			json_begin_object();
			json_str("name", name);
			json_u64("ifindex", key);
			json_str("role", ifc.role == HP_ROLE_LAN ? "lan" : "wan");
			json_str("address", addr);
			json_str("state", iface_state_name(state));
			if (state == IFACE_RENAMED && if_indextoname(key, now_name))
				json_str("now_named", now_name);
			json_str("tc", ifc.flags & HP_IFACE_TCX ? "tcx" : "clsact");
			for (h = 0; h < HP_N_HOOKS; h++) {
				snprintf(key_name, sizeof(key_name), "%s_prog_id",
					 hp_hooks[h]->name);
				json_u64(key_name, ids[h]);
			}
			if (print_xdp(&c, ids[HP_HOOK_XDP], state))
				add_bad(lossy, len, name, "takes no XDP frames");
			json_end_object();
			continue;
		}
		printf("interface    %-12s %s  address %s  tc %s", name,
		       ifc.role == HP_ROLE_LAN ? "lan" : "wan", addr,
		       ifc.flags & HP_IFACE_TCX ? "tcx" : "clsact");
		for (h = 0; h < HP_N_HOOKS; h++)
			if (hp_hooks[h]->required)
				printf("  %s %s", hp_hooks[h]->name,
				       ids[h] ? "attached" : "MISSING");
		printf("%s%s", state == IFACE_ATTACHED ? "" : "  ",
		       state == IFACE_ATTACHED ? "" : iface_state_name(state));
		if (state == IFACE_RENAMED && if_indextoname(key, now_name))
			printf(" (now %s)", now_name);
		printf("\n");
		if (print_xdp(&c, ids[HP_HOOK_XDP], state))
			add_bad(lossy, len, name, "takes no XDP frames");
	}
	if (env.json)
		json_end_array();
}

int cmd_status(int argc, char **argv)
{
	struct iface_tables t = { -1, -1, -1 };
	__u32 n_maps = 0, progs[HP_N_HOOKS * HP_MAX_IFACES];
	struct hp_sizes sizes;
	struct hp_config cfg;
	struct hp_pins p;
	char bad[512] = "", lossy[512] = "";
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
	t.ifaces_fd = p.fd[HP_PIN_IFACES];
	t.names_fd = p.fd[HP_PIN_IFNAMES];
	table_entries(p.fd[HP_PIN_MAPPINGS], &n_maps);
	print_config(&cfg, &sizes, n_maps);
	print_ifaces(&t, bad, lossy, sizeof(bad), progs, sizeof(progs) / sizeof(progs[0]),
		     &n_progs);
	tables_print(progs, n_progs);
	if (env.json) {
		json_bool("healthy", !bad[0] && !lossy[0]);
		json_end_object();
		json_done();
	}
	if (bad[0]) {
		hp_err("not attached: %s; 'hairpin watch' attaches an interface that comes back, "
		       "or run 'hairpin attach' again",
		       bad);
		err = 1;
	} else if (lossy[0]) {
		hp_err("XDP frames are lost: %s; 'hairpin watch' keeps redirect targets current, "
		       "or run 'hairpin attach' again",
		       lossy);
		err = 1;
	}
out:
	pins_close_set(&p);
	return err;
}
