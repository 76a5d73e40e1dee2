// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The TC hooks as tcx links (Linux 6.6+): each of our programs on an
 * interface is a BPF link pinned in the pin dir as tcx_in_IFINDEX or
 * tcx_eg_IFINDEX. A link costs a packet less than a clsact filter does (no
 * qdisc, no classifier walk), it cannot be replaced by another tool's
 * filter at our handle, and one made by a command killed before it pinned
 * it goes with the command. A deleted interface takes our programs off its
 * hooks; the links' pins, and with them the programs, stay until the
 * interface is forgotten. A link goes after the tcx programs already on its
 * hook, as a clsact filter at a late priority did; every clsact filter runs
 * after all tcx programs.
 *
 * Debian 12's headers and libbpf 1.1 predate tcx: the attach types are
 * spelled out here, and the kernel takes an ifindex where libbpf passes a
 * target fd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "hp.h"

#define HP_BPF_TCX_INGRESS 46 /* enum bpf_attach_type of Linux 6.6 */
#define HP_BPF_TCX_EGRESS 47

static int tcx_type(bool ingress)
{
	return ingress ? HP_BPF_TCX_INGRESS : HP_BPF_TCX_EGRESS;
}

static int tcx_pin(char *buf, size_t len, unsigned int ifindex, bool ingress)
{
	char name[32];

	snprintf(name, sizeof(name), "tcx_%s_%u", ingress ? "in" : "eg", ifindex);
	return pins_path(buf, len, name);
}

bool tcx_usable(void)
{
	static int usable = -1;
	LIBBPF_OPTS(bpf_prog_query_opts, q); /* no ids asked for: only whether it answers */

	if (usable < 0) {
		/* Kernels without tcx refuse the attach type; lo is ifindex 1 in every netns. */
		usable = !bpf_prog_query_opts(1, tcx_type(true), &q);
		if (getenv("HAIRPIN_TEST_CLSACT")) /* tests: as on a kernel without tcx */
			usable = 0;
	}
	return usable;
}

/* Is program @prog_id on the tcx hook of @ifindex? */
static bool tcx_has(unsigned int ifindex, bool ingress, __u32 prog_id)
{
	__u32 ids[64], i;
	LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = 64);

	if (bpf_prog_query_opts(ifindex, tcx_type(ingress), &q))
		return false;
	for (i = 0; i < q.prog_cnt && i < 64; i++)
		if (ids[i] == prog_id)
			return true;
	return false;
}

/*
 * Is program @id hairpin's, by name, for the ingress or egress hook? Another
 * instance's, from another pin dir, has the name too.
 */
bool prog_is_hairpin(__u32 id, bool ingress)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = id ? bpf_prog_get_fd_by_id(id) : -1;
	bool is;

	if (fd < 0)
		return false;
	is = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	     !strcmp(info.name, ingress ? "hp_ingress" : "hp_egress");
	close(fd);
	return is;
}

/*
 * Another instance's programs on a hook of @ifindex: both would translate
 * every packet. Refused, before anything changes.
 */
int tcx_check(unsigned int ifindex, const char *name)
{
	__u32 ids[64], ours, i;
	bool ingress;
	int h;

	for (h = 0; h < 2; h++) {
		LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = 64);

		ingress = !h;
		if (bpf_prog_query_opts(ifindex, tcx_type(ingress), &q))
			continue;
		ours = tcx_prog_id(ifindex, ingress);
		for (i = 0; i < q.prog_cnt && i < 64; i++) {
			if (ids[i] == ours || !prog_is_hairpin(ids[i], ingress))
				continue;
			hp_err("%s: hairpin's %s program (id %u) of another instance, another "
			       "pin dir, is on it: detach that one first",
			       name, ingress ? "ingress" : "egress", ids[i]);
			return -EBUSY;
		}
	}
	return 0;
}

/* The program of our pinned link on a hook of @ifindex, 0 if none or not on the hook. */
__u32 tcx_prog_id(unsigned int ifindex, bool ingress)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[4096];
	int fd;

	if (tcx_pin(path, sizeof(path), ifindex, ingress))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.prog_id = 0;
	close(fd);
	/* A link whose interface went, or that someone detached, holds its program on no hook. */
	return info.prog_id && tcx_has(ifindex, ingress, info.prog_id) ? info.prog_id : 0;
}

int tcx_detach(unsigned int ifindex, bool ingress)
{
	char path[4096];
	int fd, err;

	err = tcx_pin(path, sizeof(path), ifindex, ingress);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Off the hook now, even if a dump or another process still holds the link. */
	bpf_link_detach(fd);
	close(fd);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

int tcx_attach(unsigned int ifindex, bool ingress, int prog_fd)
{
	char path[4096];
	int fd, err;

	err = tcx_pin(path, sizeof(path), ifindex, ingress);
	if (err)
		return err;
	/* Attached before: the new program takes the old one's place with no gap. */
	if (tcx_prog_id(ifindex, ingress)) {
		fd = bpf_obj_get(path);
		if (fd < 0)
			return -errno;
		err = bpf_link_update(fd, prog_fd, NULL) ? -errno : 0;
		close(fd);
		return err;
	}
	err = tcx_detach(ifindex, ingress); /* a pin whose link is off its hook */
	if (err)
		return err;
	fd = bpf_link_create(prog_fd, ifindex, tcx_type(ingress), NULL);
	if (fd < 0)
		return -errno;
	hp_crash_point(); /* killed here, the unpinned link goes with us */
	err = bpf_obj_pin(fd, path) ? -errno : 0;
	close(fd);
	if (!err)
		hp_crash_point();
	return err;
}
