// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Writing mappings into tables that fill up: the room check counts what a
 * change adds, a write that fails half way takes back what it wrote,
 * counters slots too, and stale slots are freed. Small tables of the real key and
 * value types stand in for the pinned ones.
 */
#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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

/* The counters slots taken, of @max: those whose CPU 0 copy names a port. */
static unsigned int slots_taken(int fd, unsigned int max)
{
	int ncpu = libbpf_num_possible_cpus();
	struct hp_map_counters per[ncpu > 0 ? ncpu : 1];
	unsigned int n = 0;
	__u32 i;

	for (i = 0; i < max; i++)
		n += !bpf_map_lookup_elem(fd, &i, per) && per[0].port.proto;
	return n;
}

/* Does every entry of @maps name a slot of its own, each another? */
static bool slots_own(int maps, int counters)
{
	struct hp_map_key k, *prev = NULL;
	struct hp_map_val v;
	unsigned long long seen = 0;

	while (!bpf_map_get_next_key(maps, prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(maps, &k, &v) || v.counters >= 64 ||
		    (seen & (1ULL << v.counters)) || !counters_owned(counters, v.counters, &k))
			return false;
		seen |= 1ULL << v.counters;
	}
	return true;
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
	struct hp_map_val v;
	int maps, counters;
	char err[512] = "";
	__u32 slot;
	__u16 port;

	maps = bpf_map_create(BPF_MAP_TYPE_HASH, "t_mappings", sizeof(struct hp_map_key),
			      sizeof(struct hp_map_val), 8, NULL);
	counters = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "t_counters", sizeof(__u32),
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
	ASSERT_EQ(slots_taken(counters, 7), 6, "counters slots");
	ASSERT_TRUE(slots_own(maps, counters), "a slot of its own each");
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
	ASSERT_EQ(slots_taken(counters, 7), 6, "rolled back: slots with their entries");

	/* A mapping half there (udp 3 lost) meets a full counters table: the
	 * entries that were there before stay, the one written goes. */
	lost.addr = udp3.pub_addr;
	lost.port = htons(3);
	lost.proto = HP_PROTO_UDP;
	ASSERT_OK(bpf_map_lookup_elem(maps, &lost, &v) ?: bpf_map_delete_elem(maps, &lost) ?:
			  counters_release(counters, v.counters, &lost),
		  "udp 3 lost");
	/* Slots claimed by a command killed before it wrote their entries. */
	for (port = 100; port < 102; port++) {
		orphan.port = htons(port);
		ASSERT_OK(counters_claim(counters, &orphan, &slot), "orphan slot");
	}
	ASSERT_EQ(slots_taken(counters, 7), 7, "slots full of stale ones");
	ASSERT_EQ(CAPTURE(err, mapping_write(maps, counters, &three)), -E2BIG, "half there, full");
	ASSERT_EQ(entries(maps), 5, "entries that were there stay");
	ASSERT_EQ(counters_gc(maps, counters), 2, "stale slots freed");
	ASSERT_EQ(slots_taken(counters, 7), 5, "slots of live entries kept");
	ASSERT_TRUE(slots_own(maps, counters), "still their own");
	ASSERT_OK(mapping_write(maps, counters, &three), "fits after the cleanup");
	ASSERT_EQ(entries(maps), 6, "whole again");
	ASSERT_EQ(slots_taken(counters, 7), 6, "every entry has a slot");
	ASSERT_TRUE(slots_own(maps, counters), "a slot of its own each, again");
out:
	if (maps >= 0)
		close(maps);
	if (counters >= 0)
		close(counters);
}

/*
 * The fast path's next hops: those of a deleted device are cleared, those
 * of a live one and one being written stay.
 */
void test_hops_of_deleted_devices_cleared(void)
{
	struct hp_hop live = { .ifindex = 1, .mtu = 65536 - 1 }, dead = { .ifindex = 0x7ffffff0 },
		      busy = { .ifindex = HP_HOP_CLAIMED }, got;
	__u32 at[] = { 3, 700, 1023 };
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_hops", sizeof(__u32), sizeof(struct hp_hop),
				HP_MAX_HOPS, NULL);

	if (!ASSERT_TRUE(fd >= 0, "table"))
		return;
	memcpy(dead.dmac, "\x02\x00\x00\x00\x00\x20", 6);
	bpf_map_update_elem(fd, &at[0], &live, BPF_ANY);
	bpf_map_update_elem(fd, &at[1], &dead, BPF_ANY);
	bpf_map_update_elem(fd, &at[2], &busy, BPF_ANY);
	ASSERT_EQ(hops_gc(fd), 1, "one cleared");
	ASSERT_TRUE(!bpf_map_lookup_elem(fd, &at[0], &got) && got.ifindex == 1, "lo's kept");
	ASSERT_TRUE(!bpf_map_lookup_elem(fd, &at[1], &got) && !got.ifindex && !got.dmac[0],
		    "deleted device's cleared whole");
	ASSERT_TRUE(!bpf_map_lookup_elem(fd, &at[2], &got) && got.ifindex == HP_HOP_CLAIMED,
		    "one being written kept");
	ASSERT_EQ(hops_gc(fd), 0, "nothing more");
	close(fd);
}
