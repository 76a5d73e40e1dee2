// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The XDP program's redirect targets: the xdp_tx device map and the
 * HP_IFACE_XDP_TX flag of each interface's ifaces entry.
 *
 * A frame the XDP program redirects is handed to the target's driver
 * (ndo_xdp_xmit): a device without one loses it (a veth takes frames only
 * while its peer has an XDP program or GRO on), and the device's qdisc
 * never sees it, so a shaper there (SQM) would be bypassed. An interface is
 * a target only while the kernel says it takes XDP frames (xdp_features,
 * NETDEV_XDP_ACT_NDO_XMIT: Linux 6.3 and later) and no qdisc on it shapes.
 * Towards any other interface the XDP program passes the packet on and the
 * TC fast path forwards it, through the qdisc.
 *
 * The map entry is written before the flag is set, and the flag cleared
 * before the entry is removed: the program never redirects to a device the
 * map lacks (bpf_redirect_map() would drop the frame).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "hp.h"

/* From the uapi header linux/netdev.h (Linux 6.3), which Debian 12's headers lack. */
#ifndef NETDEV_FAMILY_NAME
#define NETDEV_FAMILY_NAME "netdev"
#define NETDEV_MCGRP_MGMT "mgmt"
#define NETDEV_CMD_DEV_GET 1
#define NETDEV_A_DEV_IFINDEX 1
#define NETDEV_A_DEV_XDP_FEATURES 3
#define NETDEV_XDP_ACT_NDO_XMIT 4
#endif

/* Root qdiscs that only queue (and mq's children): a redirect that skips them loses nothing. */
static const char *const plain_qdiscs[] = { "noqueue", "mq", "pfifo_fast", "fq_codel", "fq" };

struct features {
	bool found;
	__u64 val;
};

static int features_answer(const struct nlmsghdr *nh, void *ctx)
{
	const struct nlattr *a =
		nl_attr_find((const char *)NLMSG_DATA(nh) + GENL_HDRLEN,
			     nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), NETDEV_A_DEV_XDP_FEATURES);
	struct features *f = ctx;

	if (a && a->nla_len >= NLA_HDRLEN + sizeof(f->val)) {
		memcpy(&f->val, nl_attr_data(a), sizeof(f->val));
		f->found = true;
	}
	return 0;
}

/* The device's xdp_features: -ENOENT on a kernel without them. */
static int xdp_features(unsigned int ifindex, __u64 *val)
{
	static struct genl_family family;
	struct {
		struct nlmsghdr nh;
		struct genlmsghdr g;
		char attrs[16];
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN),
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
		.g = { .cmd = NETDEV_CMD_DEV_GET, .version = 1 },
	};
	struct features f = {};
	__u32 idx = ifindex;
	int err;

	if (!family.id) {
		err = genl_family(NETDEV_FAMILY_NAME, NULL, &family);
		if (err)
			return err;
	}
	req.nh.nlmsg_type = family.id;
	nl_attr_put(&req.nh, sizeof(req), NETDEV_A_DEV_IFINDEX, &idx, sizeof(idx));
	err = nl_request(NETLINK_GENERIC, &req.nh, features_answer, &f);
	if (err)
		return err;
	if (!f.found)
		return -ENOENT;
	*val = f.val;
	return 0;
}

struct qdisc_scan {
	unsigned int ifindex;
	char *shaper;
	size_t len;
};

static int qdisc_answer(const struct nlmsghdr *nh, void *ctx)
{
	const struct tcmsg *tc = NLMSG_DATA(nh);
	struct qdisc_scan *q = ctx;
	const struct nlattr *kind;
	size_t i;
	int len;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*tc)) || tc->tcm_ifindex != (int)q->ifindex ||
	    tc->tcm_parent == TC_H_INGRESS || q->shaper[0])
		return 0; /* clsact and ingress sit on the way in */
	len = nh->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*tc)));
	kind = nl_attr_find((const char *)tc + NLMSG_ALIGN(sizeof(*tc)), len, TCA_KIND);
	if (!kind)
		return 0;
	for (i = 0; i < sizeof(plain_qdiscs) / sizeof(plain_qdiscs[0]); i++)
		if (!strncmp(nl_attr_data(kind), plain_qdiscs[i], kind->nla_len - NLA_HDRLEN))
			return 0;
	snprintf(q->shaper, q->len, "%.*s", (int)(kind->nla_len - NLA_HDRLEN),
		 (const char *)nl_attr_data(kind));
	return 0;
}

/* The kind of the first qdisc on @ifindex that may shape, "" if none. */
static int qdisc_shaper(unsigned int ifindex, char *shaper, size_t len)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETQDISC,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex },
	};
	struct qdisc_scan q = { ifindex, shaper, len };

	shaper[0] = '\0';
	return nl_request(NETLINK_ROUTE, &req.nh, qdisc_answer, &q);
}

int xdp_tx_eval(unsigned int ifindex, struct xdp_tx_eval *e)
{
	__u64 features;
	int err;

	memset(e, 0, sizeof(*e));
	if (!iface_is_ether(ifindex)) {
		e->why = XDP_TX_NOT_ETHER;
		return 0;
	}
	err = xdp_features(ifindex, &features);
	if (err == -ENOENT) {
		e->why = XDP_TX_OLD_KERNEL;
		return 0;
	}
	if (!err && !(features & NETDEV_XDP_ACT_NDO_XMIT)) {
		e->why = XDP_TX_NO_XMIT;
		return 0;
	}
	if (!err)
		err = qdisc_shaper(ifindex, e->qdisc, sizeof(e->qdisc));
	if (err) {
		e->why = XDP_TX_UNKNOWN;
		return err;
	}
	e->why = e->qdisc[0] ? XDP_TX_SHAPER : XDP_TX_YES;
	return 0;
}

const char *xdp_tx_why(const struct xdp_tx_eval *e, char *buf, size_t len)
{
	switch (e->why) {
	case XDP_TX_YES:
		snprintf(buf, len, "it takes XDP frames");
		break;
	case XDP_TX_NO_XMIT:
		snprintf(buf, len, "no ndo_xdp_xmit");
		break;
	case XDP_TX_NOT_ETHER:
		snprintf(buf, len, "not Ethernet");
		break;
	case XDP_TX_SHAPER:
		snprintf(buf, len, "qdisc %s may shape", e->qdisc);
		break;
	case XDP_TX_OLD_KERNEL:
		snprintf(buf, len, "kernel too old, no xdp_features");
		break;
	default:
		snprintf(buf, len, "cannot tell");
	}
	return buf;
}

/* Make interface @key a target, or not, as @want says; true if that changed it. */
static bool set_target(const struct iface_tables *t, __u32 key, struct hp_iface *ifc, bool want)
{
	bool was = ifc->flags & HP_IFACE_XDP_TX;

	__u32 cur;

	if (want && (bpf_map_lookup_elem(t->xdp_tx_fd, &key, &cur) || cur != key) &&
	    bpf_map_update_elem(t->xdp_tx_fd, &key, &key, BPF_ANY))
		want = false; /* gone since, or the map is full */
	if (!!(ifc->flags & HP_IFACE_XDP_TX) != want) {
		ifc->flags ^= HP_IFACE_XDP_TX;
		bpf_map_update_elem(t->ifaces_fd, &key, ifc, BPF_EXIST);
	}
	if (!want)
		bpf_map_delete_elem(t->xdp_tx_fd, &key);
	return was != want;
}

void xdp_tx_update(const struct iface_tables *t, xdp_tx_note_fn note)
{
	char name[HP_IFNAMSIZ], why[64];
	__u32 key, *prev = NULL;
	struct xdp_tx_eval e;
	struct hp_iface ifc;

	if (t->xdp_tx_fd < 0)
		return;
	while (!bpf_map_get_next_key(t->ifaces_fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(t->ifaces_fd, &key, &ifc))
			continue;
		xdp_tx_eval(key, &e);
		if (set_target(t, key, &ifc, e.why == XDP_TX_YES) && note) {
			iface_name(t->names_fd, key, name);
			note(name, ifc.flags & HP_IFACE_XDP_TX, xdp_tx_why(&e, why, sizeof(why)));
		}
	}
}

void xdp_tx_forget(const struct iface_tables *t, __u32 ifindex)
{
	if (t->xdp_tx_fd >= 0)
		bpf_map_delete_elem(t->xdp_tx_fd, &ifindex);
}

int xdp_tx_listen(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct genl_family family;
	int fd, err;

	err = genl_family(NETDEV_FAMILY_NAME, NETDEV_MCGRP_MGMT, &family);
	if (!err && !family.group)
		err = -ENOENT;
	if (err)
		return err;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &family.group,
		       sizeof(family.group))) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}
