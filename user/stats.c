// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stats: the per-CPU global counters, summed over CPUs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hp.h"

/* Field names as in struct hp_stats, which is what bpftool prints too. */
static const char *const names[] = {
	"packets",	   "dnat",	    "snat",	   "unsnat",	   "undnat",
	"conns_new",	   "conns_expired", "malformed",   "fragments",	   "snat_exhausted",
	"conn_table_full", "frag_unknown",  "icmp_errors", "conn_inserts", "conn_clash",
	"tcp_no_syn",	   "fastpath",	    "conn_early_drop", "conn_deletes",	  "xdp_fastpath",
};
_Static_assert(sizeof(names) / sizeof(names[0]) == sizeof(struct hp_stats) / sizeof(__u64),
	       "a counter of struct hp_stats has no name");

/*
 * Add the per-CPU values of @key in @fd, @n_u64 counters each, into @sum.
 * Returns -ENOENT without touching @sum when the key is not there.
 */
int percpu_add(int fd, const void *key, __u64 *sum, size_t n_u64)
{
	int ncpu = libbpf_num_possible_cpus(), cpu, err = 0;
	__u64 *per;
	size_t f;

	if (ncpu < 1)
		return ncpu < 0 ? ncpu : -EINVAL;
	per = calloc(ncpu, n_u64 * sizeof(__u64));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, per))
		err = -errno;
	for (cpu = 0; !err && cpu < ncpu; cpu++)
		for (f = 0; f < n_u64; f++)
			sum[f] += per[cpu * n_u64 + f];
	free(per);
	return err;
}

int stats_sum(int fd, struct hp_stats *sum)
{
	__u32 zero = 0;

	memset(sum, 0, sizeof(*sum));
	return percpu_add(fd, &zero, (__u64 *)sum, sizeof(*sum) / sizeof(__u64));
}

int stats_conns(const struct hp_stats *sum, int conns_fd, __u64 *live, __u64 *evicted)
{
	__u32 n;
	int err = table_entries(conns_fd, &n);

	if (err) {
		hp_err("cannot count the connection table's entries: %s", strerror(-err));
		return err;
	}
	/* The datapath counts the entries it deletes: any other key that left was evicted. */
	*live = n;
	*evicted = sum->conn_inserts > *live + sum->conn_deletes
			   ? sum->conn_inserts - *live - sum->conn_deletes
			   : 0;
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	struct hp_stats sum;
	__u64 live = 0, evicted = 0;
	struct hp_pins p;
	int err;
	size_t f;

	if (argc > 1) {
		hp_err("stats: unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	err = pins_open_set(&p, HP_PIN_BIT(HP_PIN_STATS) | HP_PIN_BIT(HP_PIN_CONNS), 0, false);
	if (!err) {
		err = stats_sum(p.fd[HP_PIN_STATS], &sum);
		if (err)
			hp_err("cannot read counters: %s", strerror(-err));
	}
	err = err ?: stats_conns(&sum, p.fd[HP_PIN_CONNS], &live, &evicted);
	pins_close_set(&p);
	if (err)
		return err;
	if (env.json)
		json_begin_object();
	for (f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		if (env.json)
			json_u64(names[f], ((__u64 *)&sum)[f]);
		else
			printf("%-16s %llu\n", names[f], (unsigned long long)((__u64 *)&sum)[f]);
	}
	if (env.json) {
		json_u64("conn_entries", live);
		json_u64("conn_evicted", evicted);
	} else {
		printf("%-16s %llu\n", "conn_entries", (unsigned long long)live);
		printf("%-16s %llu\n", "conn_evicted", (unsigned long long)evicted);
	}
	if (env.json) {
		json_end_object();
		json_done();
	}
	return 0;
}
