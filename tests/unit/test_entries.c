// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Counting a connection table's entries (stats' conn_entries): exact on a
 * quiet table, right while another thread deletes and inserts, never above
 * the table's size while a full table evicts, and fast on a full table.
 * Fast is against a bpf_map_get_next_key walk of the same table on the same
 * machine, so that it holds on a slow one (qemu without KVM) too.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "hp.h"
#include "test_progs.h"

#define TABLE HP_MAX_CONNS
#define HALF (TABLE / 2)
#define COUNTS 20
/* The most a count may miss by while entries move: entries moved during the walk. */
#define SLACK (TABLE / 50)
/* A count takes less than a key-by-key walk by this factor (about 10 here, 2 on 6.1 in qemu). */
#define FASTER 1.5

/* A table as conns is, from the same structs: same bucket and entry layout. */
static int conns_like(void)
{
	return bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "test_conns", sizeof(struct hp_conn_key),
			      sizeof(struct hp_conn), TABLE, NULL);
}

static struct hp_conn_key key_of(__u32 i)
{
	return (struct hp_conn_key){ .saddr = htonl(0xc6120000 + i), /* 198.18.0.0/15 */
				     .daddr = htonl(A_PUBLIC),
				     .sport = htons(1024 + i % 60000),
				     .dport = htons(8080),
				     .proto = IPPROTO_TCP };
}

static bool fill(int fd, __u32 from, __u32 n)
{
	struct hp_conn c = { .proto = IPPROTO_TCP, .kind = HP_CONN_ORIG };
	struct hp_conn_key k;
	__u32 i;

	for (i = from; i < from + n; i++) {
		k = key_of(i);
		if (!ASSERT_OK(bpf_map_update_elem(fd, &k, &c, BPF_ANY), "fill"))
			return false;
	}
	return true;
}

struct churn {
	int fd;
	__u32 next; /* the next key to insert */
	bool evict; /* insert only, the LRU evicts; else delete one, insert one */
	atomic_bool stop;
	atomic_ulong moves;
};

static void *churn_run(void *arg)
{
	struct churn *ch = arg;
	struct hp_conn c = { .proto = IPPROTO_TCP, .kind = HP_CONN_ORIG };
	struct hp_conn_key k;

	while (!atomic_load(&ch->stop)) {
		if (!ch->evict) {
			k = key_of(ch->next - HALF);
			bpf_map_delete_elem(ch->fd, &k);
		}
		k = key_of(ch->next++);
		bpf_map_update_elem(ch->fd, &k, &c, BPF_ANY);
		atomic_fetch_add(&ch->moves, 1);
	}
	return NULL;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* A walk of @fd key by key, as stats once counted (without the restarts): its ms. */
static double walk_ms(int fd)
{
	struct hp_conn_key key, next, *prev = NULL;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
	}
	return ms_since(&t0);
}

/* The quickest of a few counts of the quiet table: one run can be slowed by the machine. */
static int count_ms(int fd, __u32 *n, double *best)
{
	struct timespec t0;
	double ms;
	int i, err;

	*best = 1e9;
	for (i = 0; i < 3; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = table_entries(fd, n);
		if (err)
			return err;
		ms = ms_since(&t0);
		*best = ms < *best ? ms : *best;
	}
	return 0;
}

/*
 * Count @COUNTS times while @ch churns; each count within [lo, hi], and
 * faster than a walk of the quiet table (@walk ms) would be.
 */
static void count_during(struct churn *ch, __u32 lo, __u32 hi, double walk)
{
	struct timespec t0;
	pthread_t thr;
	double ms;
	__u32 n;
	int i;

	if (!ASSERT_OK(pthread_create(&thr, NULL, churn_run, ch), "churn thread"))
		return;
	while (atomic_load(&ch->moves) < 1000)
		usleep(1000);
	for (i = 0; i < COUNTS; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (!ASSERT_OK(table_entries(ch->fd, &n), "count"))
			break;
		ms = ms_since(&t0);
		if (!ASSERT_TRUE(ms < walk, "counted faster than a walk") ||
		    !ASSERT_TRUE(n >= lo && n <= hi, "count within bounds")) {
			fprintf(stderr, "    count %u in %.1f ms (walk %.1f ms), want %u-%u\n", n,
				ms, walk, lo, hi);
			break;
		}
	}
	atomic_store(&ch->stop, true);
	pthread_join(thr, NULL);
	ASSERT_TRUE(atomic_load(&ch->moves) > 1000, "entries moved while counting");
}

void test_entries_quiet_exact(void)
{
	int fd = conns_like();
	__u32 n = 0;

	if (!ASSERT_TRUE(fd >= 0, "create"))
		return;
	if (ASSERT_OK(table_entries(fd, &n), "empty") && ASSERT_EQ(n, 0, "empty table") &&
	    fill(fd, 0, 1) && ASSERT_OK(table_entries(fd, &n), "one") &&
	    ASSERT_EQ(n, 1, "one entry") && fill(fd, 1, HALF - 1) &&
	    ASSERT_OK(table_entries(fd, &n), "half"))
		ASSERT_EQ(n, HALF, "half-full table");
	close(fd);
}

/*
 * Half the table, one entry deleted and another inserted without pause:
 * the table always holds HALF (or HALF - 1) entries. A walk that starts over
 * whenever its last key is deleted counts many times that.
 */
void test_entries_right_under_churn(void)
{
	struct churn ch = { .next = HALF };

	ch.fd = conns_like();
	if (!ASSERT_TRUE(ch.fd >= 0, "create"))
		return;
	if (fill(ch.fd, 0, HALF))
		count_during(&ch, HALF - SLACK, HALF + SLACK, walk_ms(ch.fd));
	close(ch.fd);
}

/* A full table evicting for every insert: never more than it holds, and close to it. */
void test_entries_full_table_within_capacity(void)
{
	struct churn ch = { .next = TABLE, .evict = true };
	double ms, walk, quickest;
	__u32 n;
	int i;

	ch.fd = conns_like();
	if (!ASSERT_TRUE(ch.fd >= 0, "create"))
		return;
	if (!fill(ch.fd, 0, TABLE))
		goto out;
	walk = quickest = walk_ms(ch.fd);
	for (i = 0; i < 2; i++) {
		ms = walk_ms(ch.fd);
		quickest = ms < quickest ? ms : quickest;
	}
	if (ASSERT_OK(count_ms(ch.fd, &n, &ms), "count full table") &&
	    !ASSERT_TRUE(ms * FASTER < quickest, "counted fast"))
		fprintf(stderr, "    %u entries counted in %.1f ms, walked in %.1f ms\n", n, ms,
			quickest);
	count_during(&ch, TABLE - SLACK, TABLE, walk);
out:
	close(ch.fd);
}
