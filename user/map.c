// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* map add / del / list: edit the live mapping table of an attached instance. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "hp.h"

/* The tables a map edit writes, under the pin dir lock. */
static int open_for_edit(struct hp_pins *p)
{
	return pins_open_set(p,
			     HP_PIN_BIT(HP_PIN_MAPPINGS) | HP_PIN_BIT(HP_PIN_COUNTERS) |
				     HP_PIN_BIT(HP_PIN_IFACES),
			     0, true);
}

/* What the router owns, checked once "wan" is resolved. */
static int map_check_local(const struct hp_mapping *m)
{
	char why[256];

	if (!mapping_check_local(m, why, sizeof(why)))
		return 0;
	hp_err("map add: %s", why);
	return -EINVAL;
}

static int map_add(int argc, char **argv)
{
	struct hp_pins p;
	struct hp_mapping m;
	char why[256];
	int err;

	if (parse_mapping(argc - 1, argv + 1, &m, why, sizeof(why))) {
		hp_err("map add: %s", why);
		return -EINVAL;
	}
	err = open_for_edit(&p) ?: mapping_resolve_wan(p.fd[HP_PIN_IFACES], &m) ?:
	      map_check_local(&m);
	if (!err)
		mapping_tidy(p.fd[HP_PIN_MAPPINGS], p.fd[HP_PIN_COUNTERS]);
	err = err ?: mapping_check_add(p.fd[HP_PIN_MAPPINGS], &m, false, "map add", false) ?:
	      mapping_check_room(p.fd[HP_PIN_MAPPINGS], p.fd[HP_PIN_COUNTERS], &m, 1, 0, 0,
				 "map add") ?:
	      mapping_write(p.fd[HP_PIN_MAPPINGS], p.fd[HP_PIN_COUNTERS], &m);
	pins_close_set(&p);
	return err;
}

static int map_del(int argc, char **argv)
{
	struct hp_mapping m = {};
	struct hp_pins p;
	char why[256];
	int err;

	if (argc != 3) {
		hp_err("map del: expected PROTO PUBLIC:PORT[-PORT]");
		return -EINVAL;
	}
	if (parse_proto(argv[1], &m.protos)) {
		hp_err("map del: unknown protocol '%s' (tcp, udp or tcpudp)", argv[1]);
		return -EINVAL;
	}
	if (parse_public(argv[2], &m, why, sizeof(why))) {
		hp_err("map del: %s", why);
		return -EINVAL;
	}
	err = open_for_edit(&p) ?: mapping_resolve_wan(p.fd[HP_PIN_IFACES], &m);
	if (!err)
		mapping_tidy(p.fd[HP_PIN_MAPPINGS], p.fd[HP_PIN_COUNTERS]);
	err = err ?: mapping_delete(p.fd[HP_PIN_MAPPINGS], p.fd[HP_PIN_COUNTERS], &m);
	if (!err)
		counters_gc(p.fd[HP_PIN_MAPPINGS], p.fd[HP_PIN_COUNTERS]);
	pins_close_set(&p);
	return err;
}

static int map_list(int argc, char **argv)
{
	static const char half_written[] = "a command was killed; the next map add, map del or "
					   "apply finishes it (after a killed apply, run it again)";
	struct hp_mapping *all = NULL;
	struct hp_map_counters mc;
	int err, n = 0, i, headless;
	struct hp_pins p;
	bool busy;

	if (argc > 1) {
		hp_err("map list: unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	err = pins_open_set(&p, HP_PIN_BIT(HP_PIN_MAPPINGS) | HP_PIN_BIT(HP_PIN_COUNTERS), 0, false)
		      ?: mapping_read_all(p.fd[HP_PIN_MAPPINGS], &all, &n);
	if (err)
		goto out;

	busy = pins_busy();
	headless = busy ? 0 : mapping_headless(p.fd[HP_PIN_MAPPINGS]);
	if (headless > 0)
		hp_err("%d mapping entr%s forward%s with no mapping listed: %s", headless,
		       headless == 1 ? "y" : "ies", headless == 1 ? "s" : "", half_written);
	if (env.json)
		json_begin_array(NULL);
	else
		printf("%-6s %-22s %-22s %9s %9s %11s %9s %9s %11s\n", "proto", "public", "private",
		       "wan conns", "wan pkts", "wan bytes", "hp conns", "hp pkts", "hp bytes");
	for (i = 0; i < n; i++) {
		const struct hp_mapping *m = &all[i];
		unsigned int ports, range = m->pub_hi - m->pub_lo + 1;
		char pub[64], priv[64];

		err = mapping_counters_sum(p.fd[HP_PIN_MAPPINGS], p.fd[HP_PIN_COUNTERS], m, &mc,
					   &ports);
		if (err) {
			hp_err("cannot read counters: %s", strerror(-err));
			goto out;
		}
		fmt_endpoint(pub, sizeof(pub), m->pub_addr, m->pub_lo, m->pub_hi);
		if (ports != range)
			hp_err("%s %s is half written, %u of %u ports: %s", mapping_proto_name(m),
			       pub, ports, range, busy ? "a command is writing it" : half_written);

		if (env.json) {
			inet_ntop(AF_INET, &m->pub_addr, pub, sizeof(pub));
			inet_ntop(AF_INET, &m->priv_addr, priv, sizeof(priv));
			json_begin_object();
			json_str("proto", mapping_proto_name(m));
			json_str("public_addr", pub);
			json_bool("public_is_wan", m->pub_wan);
			json_u64("public_port_first", m->pub_lo);
			json_u64("public_port_last", m->pub_hi);
			json_str("private_addr", priv);
			json_u64("private_port_first", m->priv_lo);
			json_u64("private_port_last", m->priv_hi);
			json_u64("ports_written", ports);
			json_u64("wan_conns", mc.wan_conns);
			json_u64("wan_packets", mc.wan_packets);
			json_u64("wan_bytes", mc.wan_bytes);
			json_u64("hairpin_conns", mc.hairpin_conns);
			json_u64("hairpin_packets", mc.hairpin_packets);
			json_u64("hairpin_bytes", mc.hairpin_bytes);
			json_end_object();
		} else {
			printf("%-6s %-22s %-22s %9llu %9llu %11llu %9llu %9llu %11llu\n",
			       mapping_proto_name(m), pub, fmt_private(priv, sizeof(priv), m),
			       (unsigned long long)mc.wan_conns, (unsigned long long)mc.wan_packets,
			       (unsigned long long)mc.wan_bytes,
			       (unsigned long long)mc.hairpin_conns,
			       (unsigned long long)mc.hairpin_packets,
			       (unsigned long long)mc.hairpin_bytes);
		}
	}
	if (env.json) {
		json_end_array();
		json_done();
	}
out:
	free(all);
	pins_close_set(&p);
	return err;
}

static const struct hp_cmd map_cmds[] = {
	{ "add", map_add,
	  "PROTO PUBLIC:PORT[-PORT] PRIVATE:PORT[-PORT] [snat MODE [SCOPE]] [any-address] "
	  "[hide-listener]" },
	{ "del", map_del, "PROTO PUBLIC:PORT[-PORT]" },
	{ "list", map_list, "" },
	{ 0 },
};

int cmd_map(int argc, char **argv)
{
	return hp_dispatch(map_cmds, "map", argc - 1, argv + 1);
}
