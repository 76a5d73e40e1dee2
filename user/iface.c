// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Interface names, indexes and their IPv4 addresses. */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "hp.h"

int iface_index(const char *name, unsigned int *ifindex)
{
	if (!*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	*ifindex = if_nametoindex(name);
	return *ifindex ? 0 : -ENODEV;
}

int iface_ipv4(unsigned int ifindex, __be32 *addr)
{
	return iface_ipv4_net(ifindex, addr, NULL);
}

/* The interface's primary IPv4 address (the first the kernel reports) and its prefix. */
int iface_ipv4_net(unsigned int ifindex, __be32 *addr, __u8 *prefix_len)
{
	char name[IF_NAMESIZE];
	struct ifaddrs *ifa, *i;
	int err = -EADDRNOTAVAIL;

	if (!if_indextoname(ifindex, name))
		return -ENODEV;
	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || strcmp(i->ifa_name, name))
			continue;
		*addr = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		if (prefix_len)
			*prefix_len =
				i->ifa_netmask
					? __builtin_popcount(((struct sockaddr_in *)i->ifa_netmask)
								     ->sin_addr.s_addr)
					: 32;
		err = 0;
		break;
	}
	freeifaddrs(ifa);
	return err;
}
