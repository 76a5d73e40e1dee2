// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Writing mappings into tables that fill up: the room check counts what a
 * change adds, a write that fails half way takes back what it wrote,
 * counters too, and stale counters go. Small tables of the real key and
 * value types stand in for the pinned ones.
 */
#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "hp.h"
#include "test_progs.h"

static struct hp_mapping map_of(unsigned int protos, __u16 lo, __u16 hi)
{
	struct hp_mapping m = {
		.protos = protos,
		.pub_addr = htonl(0xcb007101),
		.pub_lo = lo,
		.pub_hi = hi,
		.priv_addr = htonl(0xc0000214),
		.priv_lo = lo,
		.priv_hi = hi,
	};

	return m;
}

static unsigned int entries(int fd)
{
	__u32 n = 0;

	table_entries(fd, &n);
	return n;
}

/* @call with its error line captured into @err; what it returned. */
#define CAPTURE(err, call)                                                                         \
	({                                                                                         \
		int __saved = stderr_capture(), __ret = (call);                                    \
		stderr_restore(__saved, err, sizeof(err));                                         \
		__ret;                                                                             \
	})

void test_mapping_capacity(void)
{
	const unsigned int both = HP_PROTO_MASK_TCP | HP_PROTO_MASK_UDP;
	struct hp_mapping big = map_of(both, 1, 5), three = map_of(both, 1, 3);
	struct hp_mapping two = map_of(HP_PROTO_MASK_UDP, 10, 11);
	struct hp_mapping udp3 = map_of(HP_PROTO_MASK_UDP, 3, 3);
	struct hp_map_key orphan = { .addr = htonl(0xcb007101), .proto = HP_PROTO_TCP }, lost = {};
	int maps, counters, ncpu = libbpf_num_possible_cpus();
	struct hp_map_counters zero[ncpu > 0 ? ncpu : 1];
	char err[512] = "";
	__u16 port;

	memset(zero, 0, sizeof(zero));
	maps = bpf_map_create(BPF_MAP_TYPE_HASH, "t_mappings", sizeof(struct hp_map_key),
			      sizeof(struct hp_map_val), 8, NULL);
	counters = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "t_counters", sizeof(struct hp_map_key),
				  sizeof(struct hp_map_counters), 7, NULL);
	if (!ASSERT_TRUE(maps >= 0 && counters >= 0, "tables"))
		goto out;

	/* 10 entries: more than the counters table's 7 free slots. */
	ASSERT_EQ(CAPTURE(err, mapping_check_room(maps, counters, &big, 1, 0, 0, "add")), -ENOSPC,
		  "too big refused");
	ASSERT_TRUE(strstr(err, "hairpin: add: needs 10 new mapping entries, 7 are free (the table "
				"holds 8") != NULL,
		    "needs and free in the message");
	ASSERT_OK(mapping_check_room(-1, -1, &big, 1, 0, 10, "fresh"), "fits a fresh table of 10");

	if (!ASSERT_OK(mapping_check_room(maps, counters, &three, 1, 0, 0, "add")
			       ?: mapping_write(maps, counters, &three),
		       "6 entries written"))
		goto out;
	ASSERT_EQ(entries(maps), 6, "mapping entries");
	ASSERT_EQ(entries(counters), 6, "counters entries");
	ASSERT_OK(mapping_check_room(maps, counters, &three, 1, 0, 0, "again"),
		  "entries already there need no room");
	ASSERT_EQ(CAPTURE(err, mapping_check_room(maps, counters, &two, 1, 0, 0, "add")), -ENOSPC,
		  "2 more refused");
	ASSERT_TRUE(strstr(err, "needs 2 new mapping entries, 1 is free") != NULL,
		    "the smaller table's room");
	ASSERT_OK(mapping_check_room(maps, counters, &two, 1, 1, 0, "apply"),
		  "fits once an entry is deleted");

	/* Past the check: the second entry finds the counters table full. */
	ASSERT_EQ(CAPTURE(err, mapping_write(maps, counters, &two)), -E2BIG, "write fails");
	ASSERT_TRUE(strstr(err, "the table is full") && !strstr(err, "Argument list too long"),
		    "E2BIG in words");
	ASSERT_EQ(entries(maps), 6, "rolled back: mapping entries");
	ASSERT_EQ(entries(counters), 6, "rolled back: counters with their entries");

	/* A mapping half there (udp 3 lost) meets a full counters table: the
	 * entries that were there before stay, the one written goes. */
	lost.addr = udp3.pub_addr;
	lost.port = htons(3);
	lost.proto = HP_PROTO_UDP;
	ASSERT_OK(bpf_map_delete_elem(maps, &lost) ?: bpf_map_delete_elem(counters, &lost),
		  "udp 3 lost");
	for (port = 100; port < 102; port++) {
		orphan.port = htons(port);
		bpf_map_update_elem(counters, &orphan, zero, BPF_NOEXIST);
	}
	ASSERT_EQ(entries(counters), 7, "counters full of stale ones");
	ASSERT_EQ(CAPTURE(err, mapping_write(maps, counters, &three)), -E2BIG, "half there, full");
	ASSERT_EQ(entries(maps), 5, "entries that were there stay");
	ASSERT_EQ(mapping_counters_gc(maps, counters), 2, "stale counters deleted");
	ASSERT_EQ(entries(counters), 5, "counters of live entries kept");
	ASSERT_OK(mapping_write(maps, counters, &three), "fits after the cleanup");
	ASSERT_EQ(entries(maps), 6, "whole again");
	ASSERT_EQ(entries(counters), 6, "every entry has counters");
out:
	if (maps >= 0)
		close(maps);
	if (counters >= 0)
		close(counters);
}
