// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * hops: the next hops fast-pathed directions were last checked to take
 * (include/hairpin.h). The datapath writes them, and takes an entry no
 * check has found for a while for another next hop. An entry of a device
 * that is gone can only be wrong: cleared here, so that it is free at once
 * (a PPP link comes back under a new index on every reconnect).
 */
#include <errno.h>
#include <net/if.h>
#include <bpf/bpf.h>

#include "hp.h"

int hops_gc(int fd)
{
	const struct hp_hop none = {};
	char name[IF_NAMESIZE];
	struct hp_hop h;
	int gone = 0;
	__u32 i;

	for (i = 0; i < HP_MAX_HOPS; i++) {
		/* An entry being written is not looked at; the datapath never rewrites one. */
		if (bpf_map_lookup_elem(fd, &i, &h) || !h.ifindex || (h.ifindex & HP_HOP_CLAIMED) ||
		    if_indextoname(h.ifindex, name) || errno != ENXIO)
			continue;
		if (!bpf_map_update_elem(fd, &i, &none, BPF_ANY))
			gone++;
	}
	return gone;
}
