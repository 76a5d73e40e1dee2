// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Mappings written with "wan" follow the WAN interface's IPv4 address: each
 * entry and its counters move to the new address, the new entry written
 * before the old one goes, so the port forward is never missing. Used by
 * watch on every address or link change and by attach, so that entries of
 * an old address never stay beside those of the new one.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hp.h"

/*
 * Move the "wan" entry @k to address @addr, counters too: the new entry is
 * written (with @k's slot) before the slot is its, and @k goes last.
 */
static int move_entry(int maps_fd, int counters_fd, const struct hp_map_key *k,
		      const struct hp_map_val *v, __be32 addr)
{
	struct hp_map_key nk = *k;
	struct hp_map_val nv = *v;
	int err = 0;

	nk.addr = addr;
	if (bpf_map_update_elem(maps_fd, &nk, v, BPF_ANY))
		return -errno;
	/* Moved already (by a command killed before @k went), or @k's to move. */
	if (!counters_owned(counters_fd, v->counters, &nk) &&
	    counters_move(counters_fd, v->counters, k, &nk)) {
		/* the slot was neither's (a killed command's): a new one */
		err = counters_claim(counters_fd, &nk, &nv.counters);
		if (!err && bpf_map_update_elem(maps_fd, &nk, &nv, BPF_ANY)) {
			err = -errno;
			counters_release(counters_fd, nv.counters, &nk);
		}
	}
	if (!err)
		bpf_map_delete_elem(maps_fd, k);
	return err;
}

/*
 * Move every "wan" entry that is not at @addr there. Returns how many
 * mappings moved (a range counts once) or a negative errno; @was gets an
 * address they moved from.
 */
int wan_follow(int maps_fd, int counters_fd, __be32 addr, __be32 *was)
{
	struct hp_map_key key, next, kept, *prev = NULL;
	struct hp_map_val v;
	char now[INET_ADDRSTRLEN];
	int moved = 0, err;

	while (!bpf_map_get_next_key(maps_fd, prev, &next)) {
		key = next;
		if (!bpf_map_lookup_elem(maps_fd, &key, &v) && (v.flags & HP_MAP_WAN) &&
		    key.addr != addr) {
			*was = key.addr;
			err = move_entry(maps_fd, counters_fd, &key, &v, addr);
			if (err) {
				hp_err("cannot move a 'wan' mapping to %s: %s",
				       inet_ntop(AF_INET, &addr, now, sizeof(now)), strerror(-err));
				return err;
			}
			if (ntohs(key.port) == v.range_first)
				moved++;
			hp_crash_point();
			/*
			 * key is gone: go on from the last key kept. From a
			 * missing key the kernel would start again at the
			 * first, and every move would walk the table anew.
			 */
			continue;
		}
		kept = key;
		prev = &kept;
	}
	return moved;
}
