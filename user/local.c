// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the router itself owns, in the network namespace the command runs
 * in: its IPv4 addresses and its listening sockets. A port forward is for
 * packets to the router, to a server behind it:
 *
 *   - its public address is one of the router's: a mapping of another
 *     address would take traffic the router only routes (LAN clients' DNS
 *     to 8.8.8.8 answered by a LAN server), so it needs "any-address";
 *   - its public ports are none the router listens on itself: the mapping
 *     would take them from every client, so it needs "hide-listener";
 *   - its private address is no address of the router's, nor the broadcast
 *     address of one of its subnets.
 */
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "hp.h"

enum addr_kind {
	ADDR_OTHER,
	ADDR_OWN,	/* configured on one of the router's interfaces */
	ADDR_BROADCAST, /* the broadcast address of one of its subnets */
};

static enum addr_kind addr_kind(__be32 addr, char *ifname, size_t len)
{
	enum addr_kind kind = ADDR_OTHER;
	struct ifaddrs *ifa, *i;
	__be32 a, mask;

	if (getifaddrs(&ifa))
		return ADDR_OTHER; /* nothing to check against */
	for (i = ifa; i && kind == ADDR_OTHER; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		mask = i->ifa_netmask ? ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr
				      : 0xffffffff;
		if (a == addr)
			kind = ADDR_OWN;
		/* /31 and /32 have no broadcast address (RFC 3021). */
		else if (ntohl(mask) < 0xfffffffe && addr == ((a & mask) | ~mask))
			kind = ADDR_BROADCAST;
		else
			continue;
		snprintf(ifname, len, "%s", i->ifa_name);
	}
	freeifaddrs(ifa);
	return kind;
}

/* The name of the process that holds socket @inode, if any can be found. */
static void socket_owner(unsigned long inode, char *comm, size_t len)
{
	char path[PATH_MAX], link[64], want[64];
	struct dirent *p, *fd;
	DIR *procs, *fds;
	FILE *f;

	snprintf(comm, len, "a process");
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	procs = opendir("/proc");
	if (!procs)
		return;
	while (!strcmp(comm, "a process") && (p = readdir(procs))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fd = readdir(fds))) {
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, fd->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n < 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
			f = fopen(path, "r");
			if (f && fgets(comm, len, f))
				comm[strcspn(comm, "\n")] = '\0';
			if (f)
				fclose(f);
			break;
		}
		closedir(fds);
	}
	closedir(procs);
}

/*
 * A socket of the router's that takes @proto packets to @addr on a port in
 * [@lo, @hi]: a TCP listener or an unconnected UDP socket, bound to @addr or
 * to any address (an IPv6 one too: it takes IPv4 unless IPV6_V6ONLY, which
 * /proc does not show). Writes where it listens into @on, its process into
 * @comm.
 */
static bool listener(__u8 proto, __be32 addr, __u16 lo, __u16 hi, char *on, size_t len, char *comm,
		     size_t comm_len)
{
	static const char *const files[][2] = { { "/proc/net/tcp", "/proc/net/tcp6" },
						{ "/proc/net/udp", "/proc/net/udp6" } };
	/* TCP_LISTEN for TCP, TCP_CLOSE (unconnected) for UDP */
	unsigned int state = proto == HP_PROTO_TCP ? 0x0a : 0x07;
	unsigned int a[4], port, st, i;
	char line[512], shown[INET_ADDRSTRLEN];
	unsigned long inode;
	bool found = false;
	__be32 v4;
	FILE *f;

	for (i = 0; i < 2 && !found; i++) {
		f = fopen(files[proto == HP_PROTO_UDP][i], "r");
		if (!f)
			continue;
		while (!found && fgets(line, sizeof(line), f)) {
			if (i == 0) {
				if (sscanf(line,
					   " %*u: %8X:%4X %*X:%*X %X %*X:%*X %*X:%*X %*X %*u %*u "
					   "%lu",
					   &a[0], &port, &st, &inode) != 4)
					continue;
				v4 = a[0];
			} else {
				if (sscanf(line,
					   " %*u: %8X%8X%8X%8X:%4X %*X:%*X %X %*X:%*X %*X:%*X %*X "
					   "%*u %*u %lu",
					   &a[0], &a[1], &a[2], &a[3], &port, &st, &inode) != 7)
					continue;
				/* only :: and ::ffff:ADDR, words as the kernel prints them */
				if (a[0] || a[1] || (a[2] ? a[2] != htonl(0xffff) : a[3] != 0))
					continue;
				v4 = a[3];
			}
			if (st != state || port < lo || port > hi || (v4 && v4 != addr))
				continue;
			inet_ntop(AF_INET, &v4, shown, sizeof(shown));
			if (i == 0)
				snprintf(on, len, "%s:%u", shown, port);
			else
				snprintf(on, len, "[%s%s]:%u",
					 v4 ? "::ffff:" : "::", v4 ? shown : "", port);
			socket_owner(inode, comm, comm_len);
			found = true;
		}
		fclose(f);
	}
	return found;
}

int mapping_check_local(const struct hp_mapping *m, char *why, size_t len)
{
	char ifname[IF_NAMESIZE], on[64], comm[64], a[INET_ADDRSTRLEN], pub[64];
	int i;

	inet_ntop(AF_INET, &m->priv_addr, a, sizeof(a));
	switch (addr_kind(m->priv_addr, ifname, sizeof(ifname))) {
	case ADDR_OWN:
		snprintf(why, len,
			 "private address %s is the router's own (on %s): a port forward leads to "
			 "a server behind the router",
			 a, ifname);
		return -EINVAL;
	case ADDR_BROADCAST:
		snprintf(why, len, "private address %s is the broadcast address of %s's subnet", a,
			 ifname);
		return -EINVAL;
	default:
		break;
	}
	inet_ntop(AF_INET, &m->pub_addr, a, sizeof(a));
	switch (m->pub_wan ? ADDR_OWN : addr_kind(m->pub_addr, ifname, sizeof(ifname))) {
	case ADDR_BROADCAST:
		snprintf(why, len, "public address %s is the broadcast address of %s's subnet", a,
			 ifname);
		return -EINVAL;
	case ADDR_OTHER:
		if (m->any_addr)
			break;
		snprintf(why, len,
			 "public address %s is not the router's: the mapping would take traffic "
			 "the router only forwards to it (add 'any-address' if that is meant)",
			 a);
		return -EINVAL;
	default:
		break;
	}
	for (i = 0; i < 2 && !m->hide_listener; i++) {
		__u8 proto = i ? HP_PROTO_UDP : HP_PROTO_TCP;

		if (!(m->protos & (1U << i)) || !listener(proto, m->pub_addr, m->pub_lo, m->pub_hi,
							  on, sizeof(on), comm, sizeof(comm)))
			continue;
		snprintf(why, len,
			 "%s %s would hide the router's own listener: %s on %s (add "
			 "'hide-listener' to forward it anyway)",
			 proto_name(proto),
			 fmt_endpoint(pub, sizeof(pub), m->pub_addr, m->pub_lo, m->pub_hi), comm,
			 on);
		return -EINVAL;
	}
	return 0;
}
