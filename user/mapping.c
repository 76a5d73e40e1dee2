// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Mappings in the live table. A mapping of N ports over tcpudp is 2*N
 * entries; every change checks all of them first and writes all or none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hp.h"

static const __u8 protos[] = { HP_PROTO_TCP, HP_PROTO_UDP };

static bool has_proto(const struct hp_mapping *m, int i)
{
	return m->protos & (1U << i);
}

static void entry(const struct hp_mapping *m, int i, unsigned int off, struct hp_map_key *k,
		  struct hp_map_val *v)
{
	memset(k, 0, sizeof(*k));
	k->addr = m->pub_addr;
	k->port = htons(m->pub_lo + off);
	k->proto = protos[i];
	if (!v)
		return;
	memset(v, 0, sizeof(*v));
	v->addr = m->priv_addr;
	v->port = htons(m->priv_lo + off);
	v->range_first = m->pub_lo;
	v->range_len = m->pub_hi - m->pub_lo + 1;
	v->flags = m->pub_wan ? HP_MAP_WAN : 0;
	if (m->snat_own)
		v->flags |= HP_MAP_SNAT_OWN | m->snat_mode << HP_MAP_SNAT_SHIFT |
			    (m->snat_scope == HP_SCOPE_SUBNET ? HP_MAP_SCOPE_SUBNET : 0);
	if (m->any_addr)
		v->flags |= HP_MAP_ANY_ADDR;
	if (m->hide_listener)
		v->flags |= HP_MAP_HIDE_LISTENER;
}

static int cmp_mapping(const void *pa, const void *pb)
{
	const struct hp_mapping *a = pa, *b = pb;

	if (a->pub_addr != b->pub_addr)
		return ntohl(a->pub_addr) < ntohl(b->pub_addr) ? -1 : 1;
	if (a->pub_lo != b->pub_lo)
		return a->pub_lo - b->pub_lo;
	return (int)a->protos - (int)b->protos;
}

/*
 * Every mapping of the live table, one protocol each, sorted by public
 * address, port and protocol: the entry of a range's first public port
 * stands for the range.
 */
int mapping_read_all(int map_fd, struct hp_mapping **out, int *n_out)
{
	struct hp_mapping *all = NULL, *grown;
	struct hp_map_key key, *prev = NULL;
	struct hp_map_val v;
	int n = 0, i;

	while (!bpf_map_get_next_key(map_fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(map_fd, &key, &v) || ntohs(key.port) != v.range_first)
			continue;
		grown = realloc(all, (n + 1) * sizeof(*all));
		if (!grown) {
			free(all);
			hp_err("out of memory");
			return -ENOMEM;
		}
		all = grown;
		memset(&all[n], 0, sizeof(all[n]));
		for (i = 0; i < 2; i++)
			if (key.proto == protos[i])
				all[n].protos = 1U << i;
		all[n].pub_wan = v.flags & HP_MAP_WAN;
		all[n].pub_addr = key.addr;
		all[n].pub_lo = v.range_first;
		all[n].pub_hi = v.range_first + v.range_len - 1;
		all[n].priv_addr = v.addr;
		all[n].priv_lo = ntohs(v.port);
		all[n].priv_hi = all[n].priv_lo + v.range_len - 1;
		all[n].snat_own = v.flags & HP_MAP_SNAT_OWN;
		all[n].snat_mode = (v.flags >> HP_MAP_SNAT_SHIFT) & 3;
		all[n].snat_scope = v.flags & HP_MAP_SCOPE_SUBNET ? HP_SCOPE_SUBNET : HP_SCOPE_ALL;
		all[n].any_addr = v.flags & HP_MAP_ANY_ADDR;
		all[n].hide_listener = v.flags & HP_MAP_HIDE_LISTENER;
		n++;
	}
	qsort(all, n, sizeof(*all), cmp_mapping);
	*out = all;
	*n_out = n;
	return 0;
}

/*
 * Call @fn on every table entry of @m, port by port from the first, each
 * port's protocols together; stops at the first error. So a command killed
 * half way has written (or deleted) the first port's entry of every
 * protocol, which is what mapping_mend() goes by.
 */
int mapping_for_each_entry(const struct hp_mapping *m,
			   int (*fn)(const struct hp_map_key *k, const struct hp_map_val *v,
				     void *ctx),
			   void *ctx)
{
	struct hp_map_key k;
	struct hp_map_val v;
	unsigned int off, n = m->pub_hi - m->pub_lo + 1;
	int i, err;

	for (off = 0; off < n; off++) {
		for (i = 0; i < 2; i++) {
			if (!has_proto(m, i))
				continue;
			entry(m, i, off, &k, &v);
			err = fn(&k, &v, ctx);
			if (err)
				return err;
		}
	}
	return 0;
}

/* The attached WAN interface: its index and table entry. */
int wan_ifindex(int ifaces_fd, __u32 *ifindex, struct hp_iface *ifc)
{
	__u32 key, *prev = NULL;

	while (!bpf_map_get_next_key(ifaces_fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(ifaces_fd, &key, ifc) || ifc->role != HP_ROLE_WAN)
			continue;
		*ifindex = key;
		return 0;
	}
	hp_err("no WAN interface is attached");
	return -ENODEV;
}

int mapping_resolve_wan(int ifaces_fd, struct hp_mapping *m)
{
	struct hp_iface ifc;
	__u32 wan;
	int err;

	if (!m->pub_wan)
		return 0;
	err = wan_ifindex(ifaces_fd, &wan, &ifc);
	if (err)
		return err;
	err = iface_ipv4(wan, &m->pub_addr);
	if (err)
		hp_err("'wan': the WAN interface has no IPv4 address");
	return err;
}

/* Is the live entry @cur already @v? (@v's counters slot is not compared: the table chose it.) */
bool mapping_val_same(const struct hp_map_val *cur, const struct hp_map_val *v)
{
	struct hp_map_val want = *v;

	want.counters = cur->counters;
	return !memcmp(cur, &want, sizeof(want));
}

struct check_ctx {
	int map_fd;
	bool allow_same;
	struct hp_map_key taken;
};

static int check_free(const struct hp_map_key *k, const struct hp_map_val *v, void *ctx)
{
	struct check_ctx *c = ctx;
	struct hp_map_val cur;

	if (bpf_map_lookup_elem(c->map_fd, k, &cur) || (c->allow_same && mapping_val_same(&cur, v)))
		return 0;
	c->taken = *k;
	return -EEXIST;
}

/*
 * Is every entry of @m free (or, with @allow_same, already exactly @m)? The
 * error names @where, the command or the file being applied.
 */
int mapping_check_add(int map_fd, const struct hp_mapping *m, bool allow_same, const char *where,
		      bool hint_apply)
{
	struct check_ctx c = { .map_fd = map_fd, .allow_same = allow_same };
	char pub[64];
	int err = mapping_for_each_entry(m, check_free, &c);

	if (err)
		hp_err("%s: mapping %s %s already exists%s", where, proto_name(c.taken.proto),
		       fmt_endpoint(pub, sizeof(pub), c.taken.addr, ntohs(c.taken.port),
				    ntohs(c.taken.port)),
		       hint_apply ? " (to change live mappings: hairpin apply -c FILE)" : "");
	return err;
}

/*
 * Write one entry: it keeps the counters slot of the entry it replaces, or
 * claims one, which goes again if the entry cannot be written. A full table
 * (E2BIG) is checked for by mapping_check_room() first: meeting it here
 * means something else wrote meanwhile.
 */
static int entry_write(int map_fd, int counters_fd, const struct hp_map_key *k,
		       const struct hp_map_val *v)
{
	struct hp_map_val cur, nv = *v;
	bool claimed = false;
	int err = 0;

	if (!bpf_map_lookup_elem(map_fd, k, &cur) && counters_owned(counters_fd, cur.counters, k)) {
		nv.counters = cur.counters;
	} else {
		err = counters_claim(counters_fd, k, &nv.counters);
		claimed = !err;
		if (err == -ENOSPC)
			err = -E2BIG;
	}
	if (!err && bpf_map_update_elem(map_fd, k, &nv, BPF_ANY)) {
		err = -errno;
		if (claimed)
			counters_release(counters_fd, nv.counters, k);
	}
	return err;
}

static const char *write_error(int err)
{
	return err == -E2BIG ? "the table is full" : strerror(-err);
}

int mapping_write_entry(int map_fd, int counters_fd, const struct hp_map_key *k,
			const struct hp_map_val *v)
{
	int err = entry_write(map_fd, counters_fd, k, v);

	if (err)
		hp_err("cannot write mapping: %s", write_error(err));
	return err;
}

/* Delete the entry at @k and free its counters slot. */
void mapping_delete_entry(int map_fd, int counters_fd, const struct hp_map_key *k)
{
	struct hp_map_val cur;

	if (bpf_map_lookup_elem(map_fd, k, &cur) || bpf_map_delete_elem(map_fd, k))
		return;
	counters_release(counters_fd, cur.counters, k);
}

struct write_ctx {
	int map_fd, counters_fd;
	unsigned int done;   /* entries visited, in mapping_for_each_entry() order */
	unsigned int undone; /* of those, how many the rollback went through */
	unsigned char *kept; /* bit per visited entry: it was there already, as it is */
};

static int write_one(const struct hp_map_key *k, const struct hp_map_val *v, void *ctx)
{
	struct write_ctx *w = ctx;
	struct hp_map_val cur;
	int err = 0;

	/* There already as @m has it: it stays on a rollback, and gets a slot if it has none. */
	if (!bpf_map_lookup_elem(w->map_fd, k, &cur) && mapping_val_same(&cur, v)) {
		w->kept[w->done / 8] |= 1U << (w->done % 8);
		if (!counters_owned(w->counters_fd, cur.counters, k))
			err = mapping_write_entry(w->map_fd, w->counters_fd, k, v);
	} else {
		err = mapping_write_entry(w->map_fd, w->counters_fd, k, v);
	}
	if (!err)
		w->done++;
	hp_crash_point();
	return err;
}

static int unwrite_one(const struct hp_map_key *k, const struct hp_map_val *v, void *ctx)
{
	struct write_ctx *w = ctx;
	unsigned int i = w->undone++;

	if (i == w->done)
		return 1; /* all undone */
	if (!(w->kept[i / 8] & (1U << (i % 8))))
		mapping_delete_entry(w->map_fd, w->counters_fd, k);
	return 0;
}

/*
 * Write @m; call mapping_check_add() and mapping_prepare_write() first. On
 * failure, what this call wrote is deleted again, counters too, and entries
 * that were there already as @m has them stay.
 */
int mapping_write(int map_fd, int counters_fd, const struct hp_mapping *m)
{
	unsigned int n = (m->pub_hi - m->pub_lo + 1) * 2;
	struct write_ctx w = { .map_fd = map_fd, .counters_fd = counters_fd };
	int err;

	w.kept = calloc(n / 8 + 1, 1);
	if (!w.kept) {
		hp_err("out of memory");
		return -ENOMEM;
	}
	err = mapping_for_each_entry(m, write_one, &w);
	if (err)
		mapping_for_each_entry(m, unwrite_one, &w);
	free(w.kept);
	return err;
}

/* A table's size and the entries it holds; no room when they cannot be read. */
static void table_use(int fd, unsigned int *max, unsigned int *used)
{
	struct bpf_map_info info;
	__u32 n;

	*max = table_info(fd, &info) ? 0 : info.max_entries;
	*used = table_entries(fd, &n) ? *max : n;
}

/* Free slots of a table of @max entries holding @used, once @freed go. */
static unsigned int room(unsigned int max, unsigned int used, unsigned int freed)
{
	used -= freed < used ? freed : used;
	return used > max ? 0 : max - used;
}

struct room_ctx {
	int map_fd;
	unsigned int need;
};

static int count_new(const struct hp_map_key *k, const struct hp_map_val *v, void *ctx)
{
	struct room_ctx *c = ctx;
	struct hp_map_val cur;

	if (c->map_fd < 0 || bpf_map_lookup_elem(c->map_fd, k, &cur))
		c->need++;
	return 0;
}

int mapping_check_room(int map_fd, int counters_fd, const struct hp_mapping *ms, int n,
		       unsigned int freed, unsigned int fresh_max, const char *where)
{
	struct room_ctx c = { .map_fd = map_fd };
	unsigned int max = fresh_max, free_slots = fresh_max, used, cmax, cfree;
	struct bpf_map_info info;
	int i;

	if (map_fd >= 0) {
		table_use(map_fd, &max, &used);
		free_slots = room(max, used, freed);
	}
	if (map_fd >= 0 && counters_fd >= 0) {
		/*
		 * Every entry has a slot of its own (those of killed commands
		 * gone: counters_gc() runs first): both tables must have room.
		 */
		cmax = table_info(counters_fd, &info) ? 0 : info.max_entries;
		cfree = room(cmax, used, freed);
		if (cfree < free_slots)
			free_slots = cfree;
	}
	for (i = 0; i < n; i++)
		mapping_for_each_entry(&ms[i], count_new, &c);
	if (c.need <= free_slots)
		return 0;
	hp_err("%s: needs %u new mapping entr%s, %u %s free (the table holds %u; a port of a "
	       "tcpudp mapping takes 2)",
	       where, c.need, c.need == 1 ? "y" : "ies", free_slots, free_slots == 1 ? "is" : "are",
	       max);
	return -ENOSPC;
}

struct sum_ctx {
	int map_fd, counters_fd;
	struct hp_map_counters *sum;
	unsigned int whole; /* entries there as @m has them */
};

static int add_counters(const struct hp_map_key *k, const struct hp_map_val *v, void *ctx)
{
	struct sum_ctx *c = ctx;
	struct hp_map_val cur;
	int err;

	if (bpf_map_lookup_elem(c->map_fd, k, &cur))
		return 0;
	c->whole += mapping_val_same(&cur, v);
	err = counters_add(c->counters_fd, cur.counters, k, c->sum);
	return err == -ENOENT ? 0 : err;
}

/*
 * Add up the counters of every public port of @m over every CPU. Into
 * @ports, how many of its ports have their entry as @m says: fewer than
 * the range's when a killed command left it half written.
 */
int mapping_counters_sum(int map_fd, int counters_fd, const struct hp_mapping *m,
			 struct hp_map_counters *sum, unsigned int *ports)
{
	struct sum_ctx c = { .map_fd = map_fd, .counters_fd = counters_fd, .sum = sum };
	int err;

	memset(sum, 0, sizeof(*sum));
	err = mapping_for_each_entry(m, add_counters, &c);
	*ports = c.whole;
	return err;
}

struct delete_ctx {
	int map_fd, counters_fd;
};

static int delete_one(const struct hp_map_key *k, const struct hp_map_val *v, void *ctx)
{
	const struct delete_ctx *d = ctx;

	mapping_delete_entry(d->map_fd, d->counters_fd, k);
	hp_crash_point();
	return 0;
}

/* Delete @m, which must name an existing mapping's whole public range. */
int mapping_delete(int map_fd, int counters_fd, const struct hp_mapping *m)
{
	struct hp_map_key k;
	struct hp_map_val cur;
	unsigned int n = m->pub_hi - m->pub_lo + 1;
	char pub[64];
	int i;

	for (i = 0; i < 2; i++) {
		if (!has_proto(m, i))
			continue;
		entry(m, i, 0, &k, NULL);
		if (bpf_map_lookup_elem(map_fd, &k, &cur) || cur.range_first != m->pub_lo ||
		    cur.range_len != n) {
			hp_err("no mapping %s %s", proto_name(protos[i]),
			       fmt_endpoint(pub, sizeof(pub), m->pub_addr, m->pub_lo, m->pub_hi));
			return -ENOENT;
		}
	}
	return mapping_for_each_entry(m, delete_one, &(struct delete_ctx){ map_fd, counters_fd });
}

struct mend_ctx {
	int map_fd, counters_fd;
	int mended;
};

/* An entry of a range whose first port's entry is there: as that one says. */
static int mend_one(const struct hp_map_key *k, const struct hp_map_val *v, void *ctx)
{
	struct mend_ctx *c = ctx;
	struct hp_map_val cur;

	if (!bpf_map_lookup_elem(c->map_fd, k, &cur) && mapping_val_same(&cur, v))
		return 0;
	c->mended++;
	return entry_write(c->map_fd, c->counters_fd, k, v);
}

/* Does the entry of its range's first port describe entry @v at @k? */
static bool entry_headed(int map_fd, const struct hp_map_key *k, const struct hp_map_val *v)
{
	struct hp_map_key hk = *k;
	struct hp_map_val hv;
	unsigned int off = (unsigned int)ntohs(k->port) - v->range_first;

	hk.port = htons(v->range_first);
	if (bpf_map_lookup_elem(map_fd, &hk, &hv) || hv.range_first != v->range_first ||
	    off >= hv.range_len)
		return false;
	hv.port = htons(ntohs(hv.port) + off);
	return mapping_val_same(v, &hv);
}

/*
 * The keys of the entries that no first entry describes, into @out (to
 * free); returns how many, or a negative errno. Collected before any is
 * deleted: a walk goes on from a key it kept.
 */
static int headless(int map_fd, struct hp_map_key **out)
{
	struct hp_map_key key, kept, *prev = NULL, *gone = NULL, *grown;
	struct hp_map_val v;
	int n = 0;

	while (!bpf_map_get_next_key(map_fd, prev, &key)) {
		kept = key;
		prev = &kept;
		if (bpf_map_lookup_elem(map_fd, &key, &v) || entry_headed(map_fd, &key, &v))
			continue;
		grown = realloc(gone, (n + 1) * sizeof(*gone));
		if (!grown) {
			free(gone);
			hp_err("out of memory");
			return -ENOMEM;
		}
		gone = grown;
		gone[n++] = key;
	}
	*out = gone;
	return n;
}

/* How many entries forward that no mapping shows: what a killed map del left. */
int mapping_headless(int map_fd)
{
	struct hp_map_key *keys = NULL;
	int n = headless(map_fd, &keys);

	free(keys);
	return n;
}

/*
 * Finish what a command killed half way left in the table, as it would have
 * finished: map add and apply write a range's first port first, map del
 * deletes it first. So a range whose first entry is there gets every port
 * written as that entry says (or, without room, goes whole), and an entry
 * that no first entry describes goes. Returns how many entries it wrote or
 * deleted, or a negative errno.
 */
int mapping_mend(int map_fd, int counters_fd)
{
	struct mend_ctx c = { .map_fd = map_fd, .counters_fd = counters_fd };
	struct delete_ctx d = { map_fd, counters_fd };
	struct hp_map_key *gone = NULL;
	struct hp_mapping *heads = NULL;
	int n = 0, n_gone, i, err;
	char pub[64];

	/*
	 * The entries no first entry describes go first: a range a killed move
	 * to a new WAN address left on both has its first entry on one, and
	 * completing it needs the room the other's take.
	 */
	n_gone = headless(map_fd, &gone);
	if (n_gone < 0)
		return n_gone;
	for (i = 0; i < n_gone; i++)
		mapping_delete_entry(map_fd, counters_fd, &gone[i]);
	free(gone);

	err = mapping_read_all(map_fd, &heads, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		err = mapping_for_each_entry(&heads[i], mend_one, &c);
		if (!err)
			continue;
		fmt_endpoint(pub, sizeof(pub), heads[i].pub_addr, heads[i].pub_lo, heads[i].pub_hi);
		hp_err("cannot finish %s %s, which a killed command left half written (%s): "
		       "it is removed",
		       mapping_proto_name(&heads[i]), pub, write_error(err));
		mapping_for_each_entry(&heads[i], delete_one, &d);
	}
	free(heads);
	return c.mended + n_gone;
}

/*
 * What every change does first: mend what a killed command left, then free
 * the counters slots no entry names.
 */
void mapping_tidy(int map_fd, int counters_fd)
{
	int n = mapping_mend(map_fd, counters_fd);

	if (n > 0)
		hp_err("mended %d mapping entr%s a killed command left half written", n,
		       n == 1 ? "y" : "ies");
	counters_gc(map_fd, counters_fd);
}
