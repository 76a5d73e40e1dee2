// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcx_show DEV...: the programs on the tcx hooks of each DEV, one line each,
 * "DEV ingress|egress NAME id ID", in the order they run. Prints nothing on
 * a kernel without tcx.
 * tcx_show -d DEV ingress|egress: detach every tcx link on that hook, as an
 * admin with a newer bpftool would.
 * Debian 12's tc and bpftool predate tcx and show none of them, and its
 * headers lack the attach types and the link info's tcx member.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#define TCX_INGRESS 46 /* enum bpf_attach_type */
#define TCX_EGRESS 47
#define LINK_TYPE_TCX 11 /* enum bpf_link_type */

/*
 * The links say which ifindex they are on, not in which netns: another
 * netns's device may have the same index. A link is this hook's if its
 * program is also among those the hook (asked in our netns) runs.
 */
static int detach(unsigned int ifindex, int type)
{
	__u32 ids[64], id = 0, i;
	LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = 64);
	int fd, n = 0;

	if (bpf_prog_query_opts(ifindex, type, &q))
		return -errno;
	while (!bpf_link_get_next_id(id, &id)) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);

		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		/* tcx's { ifindex; attach_type; }: where xdp's ifindex, netns's attach_type are. */
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != LINK_TYPE_TCX ||
		    info.xdp.ifindex != ifindex || (int)info.netns.attach_type != type)
			info.prog_id = 0;
		for (i = 0; info.prog_id && i < q.prog_cnt && i < 64; i++) {
			if (ids[i] != info.prog_id)
				continue;
			if (bpf_link_detach(fd))
				n = -errno;
			else if (n >= 0)
				n++;
			break;
		}
		close(fd);
		if (n < 0)
			return n;
	}
	return n ? 0 : -ENOENT;
}

static int show(const char *dev, unsigned int ifindex, int type, const char *hook)
{
	__u32 ids[64], i;
	LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = 64);

	if (bpf_prog_query_opts(ifindex, type, &q))
		return errno == EINVAL ? 0 : -errno; /* EINVAL: no tcx in this kernel */
	for (i = 0; i < q.prog_cnt && i < 64; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			snprintf(info.name, sizeof(info.name), "?");
		if (fd >= 0)
			close(fd);
		printf("%s %s %s id %u\n", dev, hook, info.name, ids[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int ifindex;
	int i, err;

	if (argc == 4 && !strcmp(argv[1], "-d")) {
		ifindex = if_nametoindex(argv[2]);
		if (!ifindex)
			err = -errno;
		else if (strcmp(argv[3], "ingress") && strcmp(argv[3], "egress"))
			err = -EINVAL;
		else
			err = detach(ifindex, strcmp(argv[3], "egress") ? TCX_INGRESS : TCX_EGRESS);
		if (err)
			fprintf(stderr, "tcx_show: %s %s: %s\n", argv[2], argv[3], strerror(-err));
		return !!err;
	}
	for (i = 1; i < argc; i++) {
		ifindex = if_nametoindex(argv[i]);
		if (!ifindex) {
			fprintf(stderr, "tcx_show: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		err = show(argv[i], ifindex, TCX_INGRESS, "ingress");
		if (!err)
			err = show(argv[i], ifindex, TCX_EGRESS, "egress");
		if (err) {
			fprintf(stderr, "tcx_show: %s: %s\n", argv[i], strerror(-err));
			return 1;
		}
	}
	return 0;
}
