// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Interface names, indexes, kinds and their MAC and IPv4 addresses. */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

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

/* The interface's hardware address and, in its sa_family, its link type (ARPHRD_*). */
static int hwaddr(unsigned int ifindex, struct sockaddr *sa)
{
	struct ifreq ifr = {};
	int fd, err = 0;

	if (!if_indextoname(ifindex, ifr.ifr_name))
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		*sa = ifr.ifr_hwaddr;
	if (fd >= 0)
		close(fd);
	return err;
}

int iface_mac(unsigned int ifindex, __u8 mac[6])
{
	struct sockaddr sa;
	int err = hwaddr(ifindex, &sa);

	if (!err)
		memcpy(mac, sa.sa_data, 6);
	return err;
}

/*
 * Where the interface's packets start at the TC hooks, as HP_IFACE_* flags in
 * @flags: after an Ethernet header or at the IPv4 header (tun, IP-in-IP:
 * HP_IFACE_L3; PPP: HP_IFACE_L3 | HP_IFACE_PPP). -ELOOP for the loopback,
 * which is no router's LAN or WAN, -EPROTONOSUPPORT for any other link type.
 */
static int iface_link(unsigned int ifindex, __u8 *flags)
{
	struct sockaddr sa;
	int err = hwaddr(ifindex, &sa);

	if (err)
		return err;
	switch (sa.sa_family) {
	case ARPHRD_ETHER:
		*flags = 0;
		return 0;
	case ARPHRD_LOOPBACK:
		return -ELOOP;
	/* Not ARPHRD_IPGRE: GRE without a fixed remote has a header of its own. */
	case ARPHRD_NONE: /* tun, WireGuard */
	case ARPHRD_RAWIP:
	case ARPHRD_TUNNEL:
		*flags = HP_IFACE_L3;
		return 0;
	case ARPHRD_PPP:
		*flags = HP_IFACE_L3 | HP_IFACE_PPP;
		return 0;
	}
	return -EPROTONOSUPPORT;
}

int iface_link_flag(unsigned int ifindex, const char *name, struct hp_iface *val)
{
	__u8 flags;
	int err = iface_link(ifindex, &flags);

	if (err == -ELOOP)
		hp_err("interface '%s' is the loopback: a LAN or WAN is an interface to other hosts",
		       name);
	else if (err == -EPROTONOSUPPORT)
		hp_err("interface '%s' is neither Ethernet nor without a link-layer header "
		       "(PPP, tun): its packets cannot be read",
		       name);
	else if (err)
		hp_err("interface '%s': cannot read its link type: %s", name, strerror(-err));
	else
		val->flags = (val->flags & ~(HP_IFACE_L3 | HP_IFACE_PPP)) | flags;
	return err;
}

/* Answer to RTM_GETLINK: is IFLA_LINKINFO's IFLA_INFO_KIND "bridge"? */
static int link_is_bridge(const struct nlmsghdr *nh, void *ctx)
{
	const struct nlattr *info, *kind;

	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	info = nl_attr_find(IFLA_RTA(NLMSG_DATA(nh)), IFLA_PAYLOAD(nh), IFLA_LINKINFO);
	kind = info ? nl_attr_find(nl_attr_data(info), info->nla_len - NLA_HDRLEN, IFLA_INFO_KIND)
		    : NULL;
	*(bool *)ctx = kind && !strncmp(nl_attr_data(kind), "bridge", kind->nla_len - NLA_HDRLEN);
	return 0;
}

bool iface_is_ether(unsigned int ifindex)
{
	struct sockaddr sa;

	return !hwaddr(ifindex, &sa) && sa.sa_family == ARPHRD_ETHER;
}

bool iface_is_bridge(unsigned int ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	bool bridge = false;

	nl_request(NETLINK_ROUTE, &req.nh, link_is_bridge, &bridge);
	return bridge;
}
