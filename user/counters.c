// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The slots of map_counters: each public port of a mapping has one, named
 * by its mappings entry, and the slot names its port back in every CPU's
 * copy (struct hp_map_counters.port). Commands that write mappings claim
 * and release slots under the pin dir's lock; the datapath only counts.
 *
 * A command killed between a slot and its entry leaves a slot claimed for a
 * port whose entry does not name it: counters_gc() frees those, and every
 * command that writes mappings runs it first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hp.h"

/* Slots read at a time when the whole table is read. */
#define SLOTS_BATCH 1024

static int ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n < 1 ? (n < 0 ? n : -EINVAL) : n;
}

/* One slot, every CPU's copy: @per has room for ncpus() values. */
static int slot_read(int fd, __u32 slot, struct hp_map_counters *per)
{
	return bpf_map_lookup_elem(fd, &slot, per) ? -errno : 0;
}

static int slot_write(int fd, __u32 slot, const struct hp_map_counters *per)
{
	return bpf_map_update_elem(fd, &slot, per, BPF_ANY) ? -errno : 0;
}

/* Does @c count for @port? A zero @port asks whether @c is free. */
static bool is_port(const struct hp_map_counters *c, const struct hp_map_key *port)
{
	return port->proto ? !memcmp(&c->port, port, sizeof(*port)) : !c->port.proto;
}

/* The table's size (how many slots), or a negative errno. */
static int slots_max(int fd)
{
	struct bpf_map_info info;
	int err = table_info(fd, &info);

	return err ?: (int)info.max_entries;
}

/*
 * @slot's copy of every CPU, into a buffer for ncpus() values (@per, the
 * caller's to free), when it counts for @port (any, if NULL): -ENOENT if
 * it does not.
 */
static int slot_get(int fd, __u32 slot, const struct hp_map_key *port,
		    struct hp_map_counters **per)
{
	int n = ncpus(), err;

	*per = n < 0 ? NULL : calloc(n, sizeof(**per));
	if (!*per)
		return n < 0 ? n : -ENOMEM;
	err = slot_read(fd, slot, *per);
	return !err && port && !is_port(&(*per)[0], port) ? -ENOENT : err;
}

/*
 * Write @port's claim to @slot on every CPU: zero counters, or with @keep
 * the counts the slot has (a port that moves keeps them); with @if_port
 * only if the slot is that port's.
 */
static int slot_set(int fd, __u32 slot, const struct hp_map_key *port, bool keep,
		    const struct hp_map_key *if_port)
{
	int n = ncpus(), cpu, err;
	struct hp_map_counters *per;

	err = slot_get(fd, slot, if_port, &per);
	for (cpu = 0; !err && cpu < n; cpu++) {
		if (!keep)
			memset(&per[cpu], 0, sizeof(per[cpu]));
		if (port)
			per[cpu].port = *port;
	}
	if (!err)
		err = slot_write(fd, slot, per);
	free(per);
	return err;
}

/*
 * Call @fn with every slot's port (CPU 0's copy; a free slot's proto is 0),
 * from slot @from on, then from 0, read in batches, until it returns
 * nonzero: that, or 0 when all were seen, or a negative errno.
 */
static int slots_walk(int fd, __u32 from,
		      int (*fn)(int fd, __u32 slot, const struct hp_map_key *port, void *ctx),
		      void *ctx)
{
	int n = ncpus(), max = slots_max(fd), err = 0;
	struct hp_map_counters *vals;
	__u32 *keys, prev, out, count, i, seen = 0;
	bool start; /* at slot 0: a batch goes on after the slot it is given */

	if (n < 0 || max <= 0)
		return n < 0 ? n : max;
	keys = calloc(SLOTS_BATCH, sizeof(*keys));
	vals = calloc((size_t)SLOTS_BATCH * n, sizeof(*vals));
	from %= max;
	start = !from;
	prev = from - 1;
	while (!err && keys && vals && seen < (__u32)max) {
		count = SLOTS_BATCH;
		if (count > (__u32)max - seen)
			count = max - seen;
		if (bpf_map_lookup_batch(fd, start ? NULL : &prev, &out, keys, vals, &count, NULL) &&
		    errno != ENOENT) {
			err = -errno;
			break;
		}
		for (i = 0; i < count && !err; i++)
			err = fn(fd, keys[i], &vals[(size_t)i * n].port, ctx);
		seen += count;
		if (!count)
			break;
		prev = keys[count - 1];
		start = prev + 1 >= (__u32)max; /* the end: on from the start */
	}
	if (!keys || !vals)
		err = -ENOMEM;
	free(keys);
	free(vals);
	return err;
}

/*
 * Where claims look first: the slot after the last one claimed, in this
 * process (a command claims a range's slots one after another).
 */
static __u32 next_slot;

static int claim_free(int fd, __u32 s, const struct hp_map_key *port, void *ctx)
{
	const struct hp_map_key *want = ctx;
	int err;

	if (port->proto)
		return 0;
	err = slot_set(fd, s, want, false, NULL);
	if (err)
		return err;
	next_slot = s + 1;
	return (int)(s + 1); /* found: slot + 1 */
}

int counters_claim(int fd, const struct hp_map_key *port, __u32 *slot)
{
	int ret = slots_walk(fd, next_slot, claim_free, (void *)port);

	if (ret <= 0)
		return ret ?: -ENOSPC;
	*slot = ret - 1;
	return 0;
}

bool counters_owned(int fd, __u32 slot, const struct hp_map_key *port)
{
	struct hp_map_counters *per;
	bool owned = !slot_get(fd, slot, port, &per);

	free(per);
	return owned;
}

int counters_release(int fd, __u32 slot, const struct hp_map_key *port)
{
	return slot_set(fd, slot, NULL, false, port);
}

int counters_move(int fd, __u32 slot, const struct hp_map_key *from, const struct hp_map_key *to)
{
	return slot_set(fd, slot, to, true, from);
}

int counters_add(int fd, __u32 slot, const struct hp_map_key *port, struct hp_map_counters *sum)
{
	int n = ncpus(), cpu, err;
	struct hp_map_counters *per;

	err = slot_get(fd, slot, port, &per);
	for (cpu = 0; !err && cpu < n; cpu++) {
		sum->wan_packets += per[cpu].wan_packets;
		sum->wan_bytes += per[cpu].wan_bytes;
		sum->wan_conns += per[cpu].wan_conns;
		sum->hairpin_packets += per[cpu].hairpin_packets;
		sum->hairpin_bytes += per[cpu].hairpin_bytes;
		sum->hairpin_conns += per[cpu].hairpin_conns;
	}
	free(per);
	return err;
}

static int gc_one(int fd, __u32 s, const struct hp_map_key *port, void *ctx)
{
	int *c = ctx, map_fd = c[0];
	struct hp_map_val v;

	if (port->proto && (bpf_map_lookup_elem(map_fd, port, &v) || v.counters != s) &&
	    !counters_release(fd, s, port))
		c[1]++;
	return 0;
}

int counters_gc(int map_fd, int fd)
{
	int c[2] = { map_fd, 0 }, err = slots_walk(fd, 0, gc_one, c);

	return err ?: c[1];
}
