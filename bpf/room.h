/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Room in the connection table. It is a plain hash that never evicts: a
 * flood of new connections must not push out established ones, as an LRU
 * would. Every entry written for a new connection has a slot in conn_queue.
 * When the table is full, a new entry gets room the way netfilter's early
 * drop makes it: from the oldest slots, an entry of a dead connection is
 * removed, or a whole connection that is not assured or is closing. Slots
 * of assured connections move to conn_assured, where only dead and closing
 * connections are taken from, and only when conn_queue had none: a table
 * full of live assured connections refuses the newcomer. Nothing depends
 * on a daemon: dead entries stay until their room is needed, as in an LRU.
 */
#ifndef HP_BPF_ROOM_H
#define HP_BPF_ROOM_H

#include "entry.h"

#ifndef E2BIG
#define E2BIG 7
#endif

/* Slots a full table looks at for room in each queue, per entry it writes. */
#define RECLAIM_TRIES 16

/*
 * Is the connection of entry @e alive: has either direction seen traffic
 * within its timeout? @o and @d are its ORIG and REPLY_DNAT entries, if any.
 */
static __always_inline int entries_alive(const struct hp_config *cfg, __u64 now,
					 const struct hp_conn *e, const struct hp_conn *o,
					 const struct hp_conn *d)
{
	return !expired_at(cfg, now, e) || (o && !expired_at(cfg, now, o)) ||
	       (d && !expired_at(cfg, now, d));
}

/* The same, for entry @e alone. */
static __always_inline int conn_alive(const struct hp_config *cfg, __u64 now,
				      const struct hp_conn *e)
{
	return entries_alive(cfg, now, e, conn_entry(e, HP_CONN_ORIG),
			     conn_entry(e, HP_CONN_REPLY_DNAT));
}

/* Remove connection @c's entry of @kind. */
static __always_inline void conn_del(struct hp_stats *st, const struct hp_conn *c, __u8 kind)
{
	struct hp_conn_key k;
	struct hp_conn *e;

	conn_entry_key(&k, c, kind);
	e = bpf_map_lookup_elem(&hp_conns, &k);
	if (e && e->kind == kind && same_conn(e, c) && !bpf_map_delete_elem(&hp_conns, &k))
		st->conn_deletes++;
}

/*
 * Early drop: every entry of the connection whose ORIG entry is @orig, which
 * goes last, as the keys of the others are made from it. The SNAT port is
 * the FWD_SNAT entry's, copied into @orig first, as the fast path does.
 */
static __always_inline void conn_drop(struct hp_stats *st, struct hp_conn *orig)
{
	struct hp_conn *f = conn_entry(orig, HP_CONN_FWD_SNAT);

	if (f && f->snat_port) {
		orig->snat_addr = f->snat_addr;
		orig->snat_port = f->snat_port;
	}
	if (orig->snat_port)
		conn_del(st, orig, HP_CONN_REPLY_SNAT);
	conn_del(st, orig, HP_CONN_FWD_SNAT);
	conn_del(st, orig, HP_CONN_REPLY_DNAT);
	conn_del(st, orig, HP_CONN_ORIG);
	st->conn_early_drop++;
}

/*
 * The entry slot @s was pushed for, if it is still there: NULL when it went
 * or was written again for a newer connection (the slot is stale).
 */
static __always_inline struct hp_conn *slot_entry(const struct hp_conn_slot *s)
{
	struct hp_conn *e = bpf_map_lookup_elem(&hp_conns, &s->key);

	return e && e->created_ns == s->created_ns ? e : NULL;
}

/* Delete slot @s's entry if its connection is dead. Returns whether it did. */
static __always_inline int slot_collect(const struct hp_config *cfg, struct hp_stats *st, __u64 now,
					const struct hp_conn_slot *s, const struct hp_conn *e)
{
	if (conn_alive(cfg, now, e))
		return 0;
	if (!bpf_map_delete_elem(&hp_conns, &s->key))
		st->conn_deletes++;
	return 1;
}

/*
 * Move slot @s to conn_assured. A full conn_assured first gets its head
 * looked at: a stale or dead one leaves room, a live one goes back in.
 */
static __always_inline int slot_assured(const struct hp_config *cfg, struct hp_stats *st, __u64 now,
					const struct hp_conn_slot *s)
{
	struct hp_conn_slot h;
	struct hp_conn *e;

	if (!bpf_map_push_elem(&hp_conn_assured, s, 0))
		return 0;
	if (bpf_map_pop_elem(&hp_conn_assured, &h))
		return -1;
	e = slot_entry(&h);
	if (e && !slot_collect(cfg, st, now, &h, e)) {
		bpf_map_push_elem(&hp_conn_assured, &h, 0);
		return -1;
	}
	return bpf_map_push_elem(&hp_conn_assured, s, 0);
}

/*
 * One slot from the head of conn_queue, or of conn_assured if @assured.
 * Returns 1 once it made the room asked for (@table: a conns entry, else a
 * slot in conn_queue), -1 when there is nothing more to look at, 0 for the
 * next slot. A slot found assured in conn_queue moves to conn_assured, so
 * that the slots a flood pushes stay together and a full table finds them
 * quickly. A function of its own, checked once by the verifier, not again
 * at every place a connection is written.
 */
__noinline int reclaim_one(__u64 now, int table, int assured)
{
	struct hp_config *cfg = config_get();
	struct hp_stats *st = stats_get();
	struct hp_conn *e, *o, *d;
	struct hp_conn_slot s;
	__u8 flags;

	if (!cfg || !st)
		return -1;
	if (assured ? bpf_map_pop_elem(&hp_conn_assured, &s) : bpf_map_pop_elem(&hp_conn_queue, &s))
		return -1;
	e = slot_entry(&s);
	if (!e)
		return !table;
	o = conn_entry(e, HP_CONN_ORIG);
	d = conn_entry(e, HP_CONN_REPLY_DNAT);
	if (!entries_alive(cfg, now, e, o, d)) {
		/* Its connection is dead: the entry goes. */
		if (!bpf_map_delete_elem(&hp_conns, &s.key))
			st->conn_deletes++;
		return 1;
	}
	flags = (o ? o->flags : HP_CONN_ASSURED) | (d ? d->flags & HP_CONN_CLOSING : 0);
	if (table && o && (!(flags & HP_CONN_ASSURED) || (flags & HP_CONN_CLOSING))) {
		conn_drop(st, o);
		return 1;
	}
	if (assured) {
		bpf_map_push_elem(&hp_conn_assured, &s, 0);
		return 0;
	}
	if ((flags & HP_CONN_ASSURED) && !slot_assured(cfg, st, now, &s))
		return !table;
	bpf_map_push_elem(&hp_conn_queue, &s, 0);
	return 0;
}

/*
 * Make room for a conns entry (@table) or a slot in conn_queue, looking at
 * up to RECLAIM_TRIES slots of each queue. Returns 0 if it did.
 * conn_assured is looked at only when conn_queue had nothing to give.
 */
static __always_inline int conn_reclaim(const struct nat_ctx *nc, int table)
{
	int i, ret = 0;

	for (i = 0; i < RECLAIM_TRIES && !ret; i++)
		ret = reclaim_one(nc->now, table, 0);
	if (ret <= 0 && table)
		for (i = 0, ret = 0; i < RECLAIM_TRIES && !ret; i++)
			ret = reclaim_one(nc->now, table, 1);
	return ret > 0 ? 0 : -1;
}

/*
 * Queue a slot for the entry under @k, just written for a connection created
 * at @created. A queue that stays full leaves the entry without one: it then
 * stays until its key is written again.
 */
static __always_inline void conn_track(const struct nat_ctx *nc, const struct hp_conn_key *k,
				       __u64 created)
{
	struct hp_conn_slot s = { .key = *k, .created_ns = created };

	if (bpf_map_push_elem(&hp_conn_queue, &s, 0) && !conn_reclaim(nc, 0))
		bpf_map_push_elem(&hp_conn_queue, &s, 0);
}

/* bpf_map_update_elem() of a conns entry, with room made if the table is full. */
static __always_inline int conn_write(const struct nat_ctx *nc, const struct hp_conn_key *k,
				      const struct hp_conn *c, __u64 flags)
{
	int err = bpf_map_update_elem(&hp_conns, k, c, flags);

	if (err == -E2BIG && !conn_reclaim(nc, 1))
		err = bpf_map_update_elem(&hp_conns, k, c, flags);
	return err;
}

#endif /* HP_BPF_ROOM_H */
