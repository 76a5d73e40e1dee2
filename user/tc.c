// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One interface of an instance: our filters on its clsact hooks and its
 * entries in the ifaces and ifnames tables.
 *
 * The tables learn of an interface before TC does, and of a clsact qdisc
 * before attach makes it, so that a command killed at any point leaves
 * nothing on an interface that detach does not know of. Filters and qdiscs
 * that belong to others are never touched; a clsact attach made is removed
 * only when no filter of anyone else is left on it.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hp.h"

static void tc_ids(unsigned int ifindex, enum bpf_tc_attach_point point, struct bpf_tc_hook *h,
		   struct bpf_tc_opts *o)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = point;
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->handle = HP_TC_HANDLE;
	o->priority = HP_TC_PRIO;
}

__u32 tc_prog_id(unsigned int ifindex, bool ingress)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;

	tc_ids(ifindex, ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS, &h, &o);
	if (bpf_tc_query(&h, &o))
		return 0;
	return o.prog_id;
}

/*
 * Dump TC objects of type @type (RTM_GETQDISC, RTM_GETTFILTER) and count
 * the answers @match accepts. libbpf has no dump, so this is rtnetlink.
 */
static int tc_dump_count(__u16 type, unsigned int ifindex, __u32 parent,
			 bool (*match)(const struct tcmsg *tc, unsigned int ifindex))
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = type,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1 },
		.tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = parent },
	};
	static char buf[65536];
	struct nlmsghdr *nh;
	int fd, n = 0, err = 0;
	ssize_t len;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0 || send(fd, &req, sizeof(req), 0) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0) {
			err = -errno;
			goto out;
		}
		for (nh = (void *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				goto out;
			}
			if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct tcmsg)) &&
			    match(NLMSG_DATA(nh), ifindex))
				n++;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	return err ?: n;
}

/* A qdisc in the clsact slot: clsact, or the older ingress qdisc. */
static bool is_clsact(const struct tcmsg *tc, unsigned int ifindex)
{
	return tc->tcm_ifindex == (int)ifindex && tc->tcm_parent == TC_H_CLSACT;
}

static bool is_filter(const struct tcmsg *tc, unsigned int ifindex)
{
	return true; /* the kernel dumps only the filters of the hook asked for */
}

/* Filters of anyone on the clsact qdisc of @ifindex, both hooks. */
static int tc_filters(unsigned int ifindex)
{
	int in = tc_dump_count(RTM_GETTFILTER, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS),
			       is_filter);
	int eg = tc_dump_count(RTM_GETTFILTER, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS),
			       is_filter);

	if (in < 0 || eg < 0)
		return in < 0 ? in : eg;
	return in + eg;
}

static bool tc_gone(int err)
{
	return err == -ENOENT || err == -ENODEV || err == -EINVAL;
}

int iface_detach(unsigned int ifindex, const struct hp_iface *ifc)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	int err, ret = 0;

	tc_ids(ifindex, BPF_TC_INGRESS, &h, &o);
	err = bpf_tc_detach(&h, &o);
	if (err && !tc_gone(err))
		ret = err;
	tc_ids(ifindex, BPF_TC_EGRESS, &h, &o);
	err = bpf_tc_detach(&h, &o);
	if (err && !tc_gone(err))
		ret = err;
	/* Our clsact goes only when empty: another tool may have put a filter on it. */
	if (!ret && (ifc->flags & HP_IFACE_OWN_QDISC) && tc_filters(ifindex) == 0) {
		h.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		err = bpf_tc_hook_destroy(&h);
		if (err && !tc_gone(err))
			ret = err;
	}
	if (ret) {
		char name[IF_NAMESIZE] = "?";

		if_indextoname(ifindex, name);
		hp_err("%s: cannot remove filters: %s", name, strerror(-ret));
	}
	return ret;
}

static int tc_attach_prog(unsigned int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;

	tc_ids(ifindex, point, &h, &o);
	o.prog_fd = prog_fd;
	o.flags = BPF_TC_F_REPLACE;
	return bpf_tc_attach(&h, &o);
}

int iface_attach(const struct iface_tables *t, unsigned int ifindex, const char *name,
		 struct hp_iface *val, const struct iface_progs *p)
{
	struct hp_ifname n = {};
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	struct hp_iface old;
	int err, qdiscs;

	/* Keep the qdisc ownership learnt by an earlier attach. */
	if (!bpf_map_lookup_elem(t->ifaces_fd, &ifindex, &old))
		val->flags |= old.flags & HP_IFACE_OWN_QDISC;
	qdiscs = tc_dump_count(RTM_GETQDISC, ifindex, 0, is_clsact);
	if (qdiscs < 0) {
		err = qdiscs;
		goto fail;
	}
	if (!qdiscs)
		val->flags |= HP_IFACE_OWN_QDISC;
	snprintf(n.name, sizeof(n.name), "%s", name);
	if (bpf_map_update_elem(t->names_fd, &ifindex, &n, BPF_ANY) ||
	    bpf_map_update_elem(t->ifaces_fd, &ifindex, val, BPF_ANY)) {
		err = -errno;
		hp_err("cannot write the interface table: %s", strerror(-err));
		return err;
	}
	hp_crash_point();
	if (!qdiscs) {
		tc_ids(ifindex, BPF_TC_INGRESS, &h, &o);
		err = bpf_tc_hook_create(&h);
		if (err == -EEXIST) { /* made by someone else since the dump: theirs */
			val->flags &= ~HP_IFACE_OWN_QDISC;
			bpf_map_update_elem(t->ifaces_fd, &ifindex, val, BPF_ANY);
		} else if (err) {
			goto fail;
		}
		hp_crash_point();
	}
	err = tc_attach_prog(ifindex, BPF_TC_INGRESS, p->ingress_fd);
	if (err)
		goto fail;
	hp_crash_point();
	err = tc_attach_prog(ifindex, BPF_TC_EGRESS, p->egress_fd);
	if (err)
		goto fail;
	hp_crash_point();
	return 0;
fail:
	hp_err("%s: cannot attach to TC: %s", name, strerror(-err));
	return err;
}

/* The programs of the live instance, from the filters on one of its interfaces. */
int iface_live_progs(int ifaces_fd, struct iface_progs *p)
{
	__u32 key, *prev = NULL, in_id, eg_id;

	while (!bpf_map_get_next_key(ifaces_fd, prev, &key)) {
		prev = &key;
		in_id = tc_prog_id(key, true);
		eg_id = tc_prog_id(key, false);
		if (!in_id || !eg_id)
			continue;
		p->ingress_fd = bpf_prog_get_fd_by_id(in_id);
		p->egress_fd = bpf_prog_get_fd_by_id(eg_id);
		if (p->ingress_fd >= 0 && p->egress_fd >= 0)
			return 0;
		iface_progs_close(p);
	}
	return -ENOENT;
}

void iface_progs_close(struct iface_progs *p)
{
	if (p->ingress_fd >= 0)
		close(p->ingress_fd);
	if (p->egress_fd >= 0)
		close(p->egress_fd);
	p->ingress_fd = p->egress_fd = -1;
}

void iface_name(int names_fd, __u32 ifindex, char name[HP_IFNAMSIZ])
{
	struct hp_ifname n;

	if (names_fd >= 0 && !bpf_map_lookup_elem(names_fd, &ifindex, &n) && n.name[0]) {
		memcpy(name, n.name, HP_IFNAMSIZ);
		name[HP_IFNAMSIZ - 1] = '\0';
		return;
	}
	if (!if_indextoname(ifindex, name))
		snprintf(name, HP_IFNAMSIZ, "?");
}

enum iface_state iface_state(__u32 ifindex, const char *name)
{
	unsigned int now = if_nametoindex(name);

	if (!now)
		return IFACE_GONE;
	if (now != ifindex)
		return IFACE_REPLACED;
	if (!tc_prog_id(ifindex, true) || !tc_prog_id(ifindex, false))
		return IFACE_UNATTACHED;
	return IFACE_ATTACHED;
}

const char *iface_state_name(enum iface_state s)
{
	static const char *const names[] = {
		[IFACE_ATTACHED] = "attached",
		[IFACE_UNATTACHED] = "unattached",
		[IFACE_GONE] = "missing",
		[IFACE_REPLACED] = "re-created",
	};

	return names[s];
}

int iface_forget(const struct iface_tables *t, __u32 ifindex)
{
	struct hp_iface ifc;
	int err = 0;

	/* A deleted interface took our filters along (iface_detach() ignores ENODEV). */
	if (!bpf_map_lookup_elem(t->ifaces_fd, &ifindex, &ifc))
		err = iface_detach(ifindex, &ifc);
	if (err)
		return err;
	bpf_map_delete_elem(t->ifaces_fd, &ifindex);
	if (t->names_fd >= 0)
		bpf_map_delete_elem(t->names_fd, &ifindex);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

void iface_print_config(int ifaces_fd, int names_fd)
{
	char names[HP_MAX_IFACES][HP_IFNAMSIZ], wan[HP_IFNAMSIZ] = "";
	__u32 key, *prev = NULL;
	struct hp_iface ifc;
	int i, n = 0;

	while (!bpf_map_get_next_key(ifaces_fd, prev, &key) && n < HP_MAX_IFACES) {
		prev = &key;
		if (bpf_map_lookup_elem(ifaces_fd, &key, &ifc))
			continue;
		if (ifc.role == HP_ROLE_WAN)
			iface_name(names_fd, key, wan);
		else
			iface_name(names_fd, key, names[n++]);
	}
	qsort(names, n, sizeof(names[0]), cmp_name);
	if (env.json) {
		json_begin_array("lan");
		for (i = 0; i < n; i++)
			json_str(NULL, names[i]);
		json_end_array();
		json_str("wan", wan);
		return;
	}
	printf("lan");
	for (i = 0; i < n; i++)
		printf(" %s", names[i]);
	printf("\nwan %s\n", wan);
}
