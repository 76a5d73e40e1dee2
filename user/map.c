// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* map add / del / list: edit the live mapping table of an attached instance. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "hp.h"

/* Open the tables a map edit needs, under the pin dir lock. */
static int open_for_edit(int *lock, int *maps_fd, int *ifaces_fd)
{
	int err = require_root() ?: pins_attached();

	*lock = *maps_fd = *ifaces_fd = -1;
	if (err)
		return err;
	*lock = pins_lock();
	if (*lock < 0)
		return *lock;
	*maps_fd = pins_open(HP_PIN_MAPPINGS);
	if (*maps_fd < 0)
		return *maps_fd;
	*ifaces_fd = pins_open(HP_PIN_IFACES);
	return *ifaces_fd < 0 ? *ifaces_fd : 0;
}

static void close_edit(int lock, int maps_fd, int ifaces_fd)
{
	if (maps_fd >= 0)
		close(maps_fd);
	if (ifaces_fd >= 0)
		close(ifaces_fd);
	pins_unlock(lock);
}

static int map_add(int argc, char **argv)
{
	struct hp_mapping m;
	int err, lock, maps_fd, ifaces_fd;
	char why[256];

	if (parse_mapping(argc - 1, argv + 1, &m, why, sizeof(why))) {
		hp_err("map add: %s", why);
		return -EINVAL;
	}
	err = open_for_edit(&lock, &maps_fd, &ifaces_fd) ?:
	      mapping_resolve_wan(ifaces_fd, &m) ?:
	      mapping_check_add(maps_fd, &m, false, "map add") ?:
	      mapping_write(maps_fd, &m);
	close_edit(lock, maps_fd, ifaces_fd);
	return err;
}

static int map_del(int argc, char **argv)
{
	struct hp_mapping m = {};
	int err, lock, maps_fd, ifaces_fd;
	char why[256];

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
	err = open_for_edit(&lock, &maps_fd, &ifaces_fd) ?:
	      mapping_resolve_wan(ifaces_fd, &m) ?:
	      mapping_delete(maps_fd, &m);
	close_edit(lock, maps_fd, ifaces_fd);
	return err;
}

static int map_list(int argc, char **argv)
{
	struct hp_mapping *all = NULL;
	int err, fd, n = 0, i;

	if (argc > 1) {
		hp_err("map list: unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	err = require_root() ?: pins_attached();
	if (err)
		return err;
	fd = pins_open(HP_PIN_MAPPINGS);
	if (fd < 0)
		return fd;
	err = mapping_read_all(fd, &all, &n);
	close(fd);
	if (err)
		return err;

	if (env.json)
		json_begin_array(NULL);
	else
		printf("%-5s %-28s %s\n", "proto", "public", "private");
	for (i = 0; i < n; i++) {
		const struct hp_mapping *m = &all[i];
		char pub[64], priv[64];

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
			json_end_object();
		} else {
			fmt_endpoint(pub, sizeof(pub), m->pub_addr, m->pub_lo, m->pub_hi);
			printf("%-5s %-28s %s\n", mapping_proto_name(m), pub,
			       fmt_private(priv, sizeof(priv), m));
		}
	}
	if (env.json) {
		json_end_array();
		json_done();
	}
	free(all);
	return 0;
}

static const struct hp_cmd map_cmds[] = {
	{ "add", map_add, "PROTO PUBLIC:PORT[-PORT] PRIVATE:PORT[-PORT]" },
	{ "del", map_del, "PROTO PUBLIC:PORT[-PORT]" },
	{ "list", map_list, "" },
	{ 0 },
};

int cmd_map(int argc, char **argv)
{
	return hp_dispatch(map_cmds, "map", argc - 1, argv + 1);
}
