// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the fast path needs of netfilter's connection tracking. Conntrack
 * does not see the segments the fast path forwards, so its TCP window
 * tracking falls behind, and a later segment that goes through the stack
 * (a FIN, an RST, one larger than the MTU) looks out of window: "ct state
 * invalid". nftables' flowtables mark the connections they offload
 * "be liberal" for the same reason; hairpin cannot reach a conntrack entry
 * from BPF, so it asks for liberal tracking in the router's namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "hp.h"

#define LIBERAL "/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal"

int conntrack_liberal(void)
{
	char c = 0;
	int fd = open(LIBERAL, O_RDONLY);

	if (fd < 0)
		return -errno; /* no conntrack here: nothing to fall behind */
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == '1';
}

int conntrack_fastpath_ready(const struct hp_config *cfg)
{
	int fd;

	if ((cfg->flags & HP_CFG_NO_FASTPATH) || conntrack_liberal() != 0)
		return 0;
	fd = open(LIBERAL, O_WRONLY);
	if (fd < 0 || write(fd, "1\n", 2) != 2) {
		hp_err("fastpath: cannot set net.netfilter.nf_conntrack_tcp_be_liberal=1: %s "
		       "(set it, or 'fastpath off')",
		       strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	close(fd);
	printf("fastpath: set net.netfilter.nf_conntrack_tcp_be_liberal=1 (conntrack does not see "
	       "fast-pathed TCP segments)\n");
	return 0;
}
