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
 * Write @port's claim to @slot on every CPU: zero counters, or with @keep
 * the counts the slot has (a port that moves keeps them).
 */
static int slot_set(int fd, __u32 slot, const struct hp_map_key *port, bool keep,
		    const struct hp_map_key *if_port)
{
	int n = ncpus(), cpu, err;
	struct hp_map_counters *per;

	if (n < 0)
		return n;
	per = calloc(n, sizeof(*per));
	if (!per)
		return -ENOMEM;
	err = keep || if_port ? slot_read(fd, slot, per) : 0;
	if (!err && if_port && !is_port(&per[0], if_port))
		err = -ENOENT;
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
 * The port of every slot (CPU 0's copy; a free slot's proto is 0), read
 * in batches. Returns the table's size, or a negative errno.
 */
static int slots_read(int fd, struct hp_map_key **ports)
{
	int n = ncpus(), max = slots_max(fd), err;
	struct hp_map_counters *vals = NULL;
	__u32 *keys = NULL, batch, count, i, done = 0;
	bool first = true;

	*ports = NULL;
	if (n < 0 || max < 0)
		return n < 0 ? n : max;
	*ports = calloc(max ?: 1, sizeof(**ports));
	keys = calloc(SLOTS_BATCH, sizeof(*keys));
	vals = calloc((size_t)SLOTS_BATCH * n, sizeof(*vals));
	if (!*ports || !keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (done < (__u32)max) {
		count = SLOTS_BATCH;
		if (bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals, &count,
					 NULL) &&
		    errno != ENOENT) {
			err = -errno;
			goto out;
		}
		first = false;
		for (i = 0; i < count; i++)
			if (keys[i] < (__u32)max)
				(*ports)[keys[i]] = vals[(size_t)i * n].port;
		done += count;
		if (count < SLOTS_BATCH)
			break;
	}
	err = max;
out:
	free(keys);
	free(vals);
	if (err < 0) {
		free(*ports);
		*ports = NULL;
	}
	return err;
}

/*
 * Where claims look first: the slot after the last one claimed, in this
 * process (a command claims a range's slots one after another), one slot
 * at a time for a few; then the whole table is read for a free one.
 */
static __u32 next_slot;
#define CLAIM_PROBES 64

static int claim_at(int fd, __u32 s, const struct hp_map_key *port, __u32 *slot)
{
	int err = slot_set(fd, s, port, false, NULL);

	if (!err) {
		*slot = s;
		next_slot = s + 1;
	}
	return err;
}

int counters_claim(int fd, const struct hp_map_key *port, __u32 *slot)
{
	const struct hp_map_key none = {};
	struct hp_map_key *ports;
	int max = slots_max(fd), i, err = -ENOSPC;
	__u32 s;

	for (i = 0; max > 0 && i < CLAIM_PROBES && i < max; i++) {
		s = (next_slot + i) % max;
		if (counters_owned(fd, s, &none))
			return claim_at(fd, s, port, slot);
	}
	max = slots_read(fd, &ports);
	if (max < 0)
		return max;
	for (i = 0; i < max; i++) {
		s = (next_slot + i) % max;
		if (!ports[s].proto) {
			err = claim_at(fd, s, port, slot);
			break;
		}
	}
	free(ports);
	return err;
}

bool counters_owned(int fd, __u32 slot, const struct hp_map_key *port)
{
	int n = ncpus();
	struct hp_map_counters *per;
	bool owned;

	if (n < 0)
		return false;
	per = calloc(n, sizeof(*per));
	owned = per && !slot_read(fd, slot, per) && is_port(&per[0], port);
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

	if (n < 0)
		return n;
	per = calloc(n, sizeof(*per));
	if (!per)
		return -ENOMEM;
	err = slot_read(fd, slot, per);
	if (!err && !is_port(&per[0], port))
		err = -ENOENT;
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

int counters_gc(int map_fd, int fd)
{
	struct hp_map_key *ports;
	struct hp_map_val v;
	int max = slots_read(fd, &ports), gone = 0, i;

	if (max < 0)
		return max;
	for (i = 0; i < max; i++) {
		if (!ports[i].proto)
			continue;
		if ((bpf_map_lookup_elem(map_fd, &ports[i], &v) || v.counters != (__u32)i) &&
		    !counters_release(fd, i, &ports[i]))
			gone++;
	}
	free(ports);
	return gone;
}

int counters_free_slots(int fd, unsigned int *n)
{
	struct hp_map_key *ports;
	int max = slots_read(fd, &ports), i;

	if (max < 0)
		return max;
	*n = 0;
	for (i = 0; i < max; i++)
		*n += !ports[i].proto;
	free(ports);
	return 0;
}
