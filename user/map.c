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

struct listed {
	struct hp_map_key k;
	struct hp_map_val v;
};

static int cmp_listed(const void *pa, const void *pb)
{
	const struct listed *a = pa, *b = pb;

	if (a->k.proto != b->k.proto)
		return a->k.proto - b->k.proto;
	if (a->k.addr != b->k.addr)
		return ntohl(a->k.addr) < ntohl(b->k.addr) ? -1 : 1;
	return ntohs(a->k.port) - ntohs(b->k.port);
}

static int map_list(int argc, char **argv)
{
	struct listed *all = NULL, *grown;
	struct hp_map_key key, *prev = NULL;
	size_t n = 0, i;
	int err, fd;

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
	/* One line per mapping: the entry of its first public port stands for the range. */
	while (!bpf_map_get_next_key(fd, prev, &key)) {
		struct hp_map_val v;

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v) || ntohs(key.port) != v.range_first)
			continue;
		grown = realloc(all, (n + 1) * sizeof(*all));
		if (!grown) {
			err = -ENOMEM;
			hp_err("out of memory");
			goto out;
		}
		all = grown;
		all[n].k = key;
		all[n++].v = v;
	}
	qsort(all, n, sizeof(*all), cmp_listed);

	if (env.json)
		json_begin_array(NULL);
	else
		printf("%-5s %-28s %s\n", "proto", "public", "private");
	for (i = 0; i < n; i++) {
		const struct listed *l = &all[i];
		unsigned int first = l->v.range_first, last = first + l->v.range_len - 1;
		unsigned int pfirst = ntohs(l->v.port), plast = pfirst + l->v.range_len - 1;
		char pub[64], priv[64];

		fmt_endpoint(pub, sizeof(pub), l->k.addr, first, last);
		fmt_endpoint(priv, sizeof(priv), l->v.addr, pfirst, plast);
		if (env.json) {
			inet_ntop(AF_INET, &l->k.addr, pub, sizeof(pub));
			inet_ntop(AF_INET, &l->v.addr, priv, sizeof(priv));
			json_begin_object();
			json_str("proto", proto_name(l->k.proto));
			json_str("public_addr", pub);
			json_u64("public_port_first", first);
			json_u64("public_port_last", last);
			json_str("private_addr", priv);
			json_u64("private_port_first", pfirst);
			json_u64("private_port_last", plast);
			json_end_object();
		} else {
			printf("%-5s %-28s %s\n", proto_name(l->k.proto), pub, priv);
		}
	}
	if (env.json) {
		json_end_array();
		json_done();
	}
out:
	free(all);
	close(fd);
	return err;
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
