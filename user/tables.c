// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The tables' sizes and what they hold: the sizes a config asks for, set
 * before load and checked against a live instance, the entries a table
 * holds, and the kernel memory an instance locks.
 *
 * A table's size is fixed when the kernel creates it, so the sizes of a
 * live instance change only with a new instance (detach, attach).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hp.h"
#include "hairpin.skel.h"

/*
 * Size the tables of @skel before it is loaded. map_counters has an entry
 * for each mappings entry. Every table stays preallocated: an entry written
 * never fails for want of memory, and the memory an instance locks is known
 * at attach.
 */
int sizes_set(struct hairpin *skel, const struct hp_sizes *s)
{
	/* The queues of conns have room for a slot of every entry (bpf/room.h). */
	int err = bpf_map__set_max_entries(skel->maps.hp_conns, s->conns) ?:
		  bpf_map__set_max_entries(skel->maps.hp_conn_queue, s->conns) ?:
		  bpf_map__set_max_entries(skel->maps.hp_conn_assured, s->conns) ?:
		  bpf_map__set_max_entries(skel->maps.hp_mappings, s->mappings) ?:
		  bpf_map__set_max_entries(skel->maps.hp_map_counters, s->mappings);

	if (err)
		hp_err("cannot size the tables: %s", strerror(-err));
	return err;
}

int table_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		return -errno;
	return 0;
}

int prog_maps(int fd, struct bpf_prog_info *info, __u32 ids[MAX_PROG_MAPS])
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	info->nr_map_ids = MAX_PROG_MAPS;
	info->map_ids = (uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		return -errno;
	return info->nr_map_ids < MAX_PROG_MAPS ? info->nr_map_ids : MAX_PROG_MAPS;
}

bool prog_on_table(__u32 prog_id, const char *name, __u32 table_id)
{
	struct bpf_prog_info info;
	__u32 ids[MAX_PROG_MAPS];
	int fd, n, i;
	bool on = false;

	fd = table_id ? bpf_prog_get_fd_by_id(prog_id) : -1;
	if (fd < 0)
		return false;
	n = prog_maps(fd, &info, ids);
	for (i = 0; n > 0 && !strcmp(info.name, name) && i < n; i++)
		on |= ids[i] == table_id;
	close(fd);
	return on;
}

int sizes_live(struct hp_sizes *s)
{
	struct bpf_map_info info;
	size_t i;
	int fd, err;

	for (i = 0; i < HP_N_SIZES; i++) {
		fd = pins_open_quiet(hp_sizes[i].pin);
		if (fd < 0)
			return fd;
		err = table_info(fd, &info);
		close(fd);
		if (err)
			return err;
		*config_size(s, i) = info.max_entries;
	}
	return 0;
}

int sizes_check(const struct hp_sizes *want, const struct hp_sizes *live, const char *where)
{
	size_t i;

	for (i = 0; i < HP_N_SIZES; i++) {
		if (*config_size(want, i) == *config_size(live, i))
			continue;
		hp_err("%s: size %s %u, but the live instance's is %u: a size changes only on a "
		       "new instance: run 'hairpin detach' (established connections are dropped), "
		       "then attach again",
		       where, hp_sizes[i].name, *config_size(want, i), *config_size(live, i));
		return -EINVAL;
	}
	return 0;
}

int sizes_check_live(const struct hp_sizes *want, const char *where)
{
	struct hp_sizes live;
	int err;

	err = sizes_live(&live);
	if (err == -ENOENT)
		return 0; /* no instance yet: the sizes are for the new one */
	if (err) {
		hp_err("%s: cannot read the table sizes: %s", env.pin_dir, strerror(-err));
		return err;
	}
	return sizes_check(want, &live, where);
}

/* Bytes of a value in a lookup buffer: per-CPU tables hold one 8-aligned copy per CPU. */
static size_t value_bytes(const struct bpf_map_info *info)
{
	int ncpu;

	switch (info->type) {
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		ncpu = libbpf_num_possible_cpus();
		return ncpu > 0 ? ((info->value_size + 7) & ~7U) * ncpu : 0;
	default:
		return info->value_size;
	}
}

#define BATCH 4096

/* Count the entries key by key: for the small tables without batched lookups (xdp_tx). */
static __u32 walk_entries(int fd, __u32 max)
{
	char key[64], next[64];
	__u32 n = 0;

	while (n < max && !bpf_map_get_next_key(fd, n ? key : NULL, next)) {
		memcpy(key, next, sizeof(key));
		n++;
	}
	return n;
}

/*
 * Count the entries of a hash table with batched lookups. They walk the
 * table bucket by bucket and never start over, unlike bpf_map_get_next_key,
 * which restarts from the first bucket whenever the key it continues from
 * was deleted meanwhile, and so counts a churning table many times over.
 * Entries moving while the walk runs (some milliseconds) may still be
 * counted twice, hence the cap at the table's size.
 */
int table_entries(int fd, __u32 *entries)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct bpf_map_info info;
	size_t vsize, tsize;
	void *keys = NULL, *vals = NULL, *in = NULL, *out = NULL, *tmp;
	__u32 batch = BATCH, count, total = 0;
	bool first = true;
	int err;

	err = table_info(fd, &info);
	if (err)
		return err;
	vsize = value_bytes(&info);
	tsize = info.key_size > sizeof(__u32) ? info.key_size : sizeof(__u32);
	in = malloc(tsize);
	out = malloc(tsize);
	if (!vsize || !in || !out) {
		err = vsize ? -ENOMEM : -EINVAL;
		goto out;
	}
	for (;;) {
		if (!keys) {
			keys = calloc(batch, info.key_size);
			vals = calloc(batch, vsize);
			if (!keys || !vals) {
				err = -ENOMEM;
				break;
			}
		}
		count = batch;
		err = bpf_map_lookup_batch(fd, first ? NULL : in, out, keys, vals, &count, &opts);
		if (err == -ENOSPC) {
			/* One bucket holds more than a batch: retry with room for it. */
			free(keys);
			free(vals);
			keys = vals = NULL;
			batch *= 2;
			continue;
		}
		if (err && err != -ENOENT && first && info.key_size <= 64) {
			/* A device map has no batched lookups. */
			total = walk_entries(fd, info.max_entries);
			err = 0;
			break;
		}
		if (err && err != -ENOENT)
			break;
		total += count;
		if (err) {
			err = 0; /* -ENOENT: the walk is done */
			break;
		}
		tmp = in;
		in = out;
		out = tmp;
		first = false;
	}
	*entries = total < info.max_entries ? total : info.max_entries;
out:
	free(keys);
	free(vals);
	free(in);
	free(out);
	return err;
}

/* The kernel's own account of a table's memory: "memlock:" in its fdinfo. */
int table_memlock(int fd, __u64 *bytes)
{
	char path[64], line[256];
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", (unsigned long long *)bytes) == 1) {
			err = 0;
			break;
		}
	fclose(f);
	return err;
}

#define MAX_TABLES 32

static int add_id(__u32 *ids, int n, __u32 id)
{
	int i;

	for (i = 0; i < n && ids[i] != id; i++)
		;
	if (i == n && n < MAX_TABLES)
		ids[n++] = id;
	return n;
}

/*
 * The tables of the instance: those pinned, and those only its programs
 * hold (frags, made anew by each attach), so that the total is what the
 * instance costs the kernel.
 */
static int instance_tables(const __u32 *progs, int n_progs, __u32 *ids)
{
	struct bpf_map_info info;
	struct bpf_prog_info pi;
	__u32 map_ids[MAX_TABLES], len, j;
	int i, n = 0, fd;

	for (i = 0; i < HP_PIN_COUNT; i++) {
		fd = pins_open_quiet(i);
		if (fd < 0)
			continue;
		if (!table_info(fd, &info))
			n = add_id(ids, n, info.id);
		close(fd);
	}
	for (i = 0; i < n_progs; i++) {
		fd = progs[i] ? bpf_prog_get_fd_by_id(progs[i]) : -1;
		if (fd < 0)
			continue;
		memset(&pi, 0, sizeof(pi));
		pi.nr_map_ids = MAX_TABLES;
		pi.map_ids = (__u64)(unsigned long)map_ids;
		len = sizeof(pi);
		if (!bpf_obj_get_info_by_fd(fd, &pi, &len))
			for (j = 0; j < pi.nr_map_ids && j < MAX_TABLES; j++)
				n = add_id(ids, n, map_ids[j]);
		close(fd);
	}
	return n;
}

static char *fmt_bytes(char *buf, size_t len, __u64 b)
{
	if (b >= 1 << 20)
		snprintf(buf, len, "%.1f MiB", b / 1048576.0);
	else if (b >= 1 << 10)
		snprintf(buf, len, "%.1f KiB", b / 1024.0);
	else
		snprintf(buf, len, "%llu B", (unsigned long long)b);
	return buf;
}

static bool countable(const struct bpf_map_info *info)
{
	return info->type != BPF_MAP_TYPE_QUEUE && info->type != BPF_MAP_TYPE_ARRAY &&
	       info->type != BPF_MAP_TYPE_PERCPU_ARRAY;
}

void tables_print(const __u32 *progs, int n_progs)
{
	__u32 ids[MAX_TABLES], entries;
	struct bpf_map_info info;
	__u64 memlock, total = 0;
	int i, n, fd, rodata = -1;
	char mem[32];
	const char *name;

	n = instance_tables(progs, n_progs, ids);
	if (env.json)
		json_begin_array("tables");
	for (i = 0; i < n; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		memlock = 0;
		entries = 0;
		/*
		 * A queue cannot be walked without emptying it, and an array is
		 * always full (map_counters has a slot in use for each mappings
		 * entry): their entries are not shown.
		 */
		if (table_info(fd, &info) ||
		    (countable(&info) && table_entries(fd, &entries)) ||
		    table_memlock(fd, &memlock)) {
			close(fd);
			continue;
		}
		name = strncmp(info.name, "hp_", 3) ? info.name : info.name + 3;
		if (strchr(name, '.'))
			name = strchr(name, '.') + 1; /* libbpf's "<object>.rodata": constants */
		if (!strcmp(name, "rodata") && rodata < 0)
			rodata = dup(fd);
		close(fd);
		total += memlock;
		if (env.json) {
			json_begin_object();
			json_str("name", name);
			if (countable(&info))
				json_u64("entries", entries);
			json_u64("max_entries", info.max_entries);
			json_u64("memlock", memlock);
			json_end_object();
		} else if (!countable(&info)) {
			printf("table        %-13s %8s of %8u entries %10s\n", name, "-",
			       info.max_entries, fmt_bytes(mem, sizeof(mem), memlock));
		} else {
			printf("table        %-13s %8u of %8u entries %10s\n", name, entries,
			       info.max_entries, fmt_bytes(mem, sizeof(mem), memlock));
		}
	}
	if (env.json) {
		json_end_array();
		json_u64("memlock", total);
	} else {
		printf("memory       %s locked by the tables\n",
		       fmt_bytes(mem, sizeof(mem), total));
	}
	skb_csum_state_print(rodata);
	if (rodata >= 0)
		close(rodata);
}
