// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The TC hooks of an interface: our programs as tcx links where the kernel
 * has them (tcx.c), else as filters on its clsact qdisc's ingress and
 * egress. Filters and qdiscs that belong to others are never touched; a
 * clsact attach made is removed only when no filter of anyone else is left
 * on it. The tables learn of a clsact before attach makes it (hooks.c).
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

static __u32 tc_prog_id(unsigned int ifindex, bool ingress)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;

	tc_ids(ifindex, ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS, &h, &o);
	if (bpf_tc_query(&h, &o))
		return 0;
	return o.prog_id;
}

struct tc_count {
	unsigned int ifindex;
	bool (*match)(const struct tcmsg *tc, unsigned int ifindex);
	int n;
};

static int tc_count_one(const struct nlmsghdr *nh, void *ctx)
{
	struct tc_count *c = ctx;

	if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct tcmsg)) &&
	    c->match(NLMSG_DATA(nh), c->ifindex))
		c->n++;
	return 0;
}

/* Dump TC objects of type @type (RTM_GETQDISC, RTM_GETTFILTER) and count those @match takes. */
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
	struct tc_count c = { ifindex, match, 0 };
	int err = nl_request(NETLINK_ROUTE, &req.nh, tc_count_one, &c);

	return err ?: c.n;
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

/* The filter at our handle and priority. */
static bool is_our_slot(const struct tcmsg *tc, unsigned int ifindex)
{
	return tc->tcm_handle == HP_TC_HANDLE && TC_H_MAJ(tc->tcm_info) == (HP_TC_PRIO << 16);
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

static enum bpf_tc_attach_point tc_point(const struct hp_hook *hook)
{
	return hook == &tc_ingress_hook ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

/* Ours: the program at our handle and priority is the one of that hook. */
static bool tc_ours(const struct hp_hook *hook, __u32 prog_id)
{
	return prog_is_hairpin(prog_id, hook == &tc_ingress_hook);
}

/* This instance's program for @hook: hairpin's, on this pin dir's ifaces table. */
static bool tc_mine(const struct hp_hook *hook, __u32 prog_id)
{
	int fd = pins_open_quiet(HP_PIN_IFACES);
	struct bpf_map_info info;
	__u32 tid = fd >= 0 && !table_info(fd, &info) ? info.id : 0;

	if (fd >= 0)
		close(fd);
	return prog_on_table(prog_id, hook == &tc_ingress_hook ? "hp_ingress" : "hp_egress", tid);
}

/*
 * Our clsact filter off @hook, if the one at our handle and priority is this
 * instance's (tc_mine()).
 * Another instance's goes on, even on an interface this one's tables still
 * name.
 */
static int tc_filter_detach(const struct hp_hook *hook, unsigned int ifindex)
{
	__u32 id = tc_prog_id(ifindex, hook == &tc_ingress_hook);
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	int err;

	if (!tc_mine(hook, id))
		return 0;
	tc_ids(ifindex, tc_point(hook), &h, &o);
	err = bpf_tc_detach(&h, &o);
	return err && !tc_gone(err) ? err : 0;
}

int tc_check(unsigned int ifindex, const char *name)
{
	const struct hp_hook *hook;
	__u32 id;
	int i;

	if (tcx_usable())
		return tcx_check(ifindex, name); /* links take no handle */
	for (i = 0; i < 2; i++) {
		hook = i ? &tc_egress_hook : &tc_ingress_hook;
		if (tc_dump_count(RTM_GETTFILTER, ifindex,
				  TC_H_MAKE(TC_H_CLSACT, i ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS),
				  is_our_slot) <= 0)
			continue;
		id = tc_prog_id(ifindex, !i);
		if (!tc_ours(hook, id)) {
			hp_err("%s: a filter of another tool holds hairpin's TC %s handle and "
			       "priority 0x%x: hairpin does not replace it",
			       name, hook->name, HP_TC_HANDLE);
			return -EBUSY;
		}
		/* Ours uses our tables: the pin dir's are in place before any filter. */
		if (!tc_mine(hook, id)) {
			hp_err("%s: hairpin's %s program (id %u) of another instance, another pin "
			       "dir, is on it: detach that one first (left by a pin dir that is "
			       "gone: tc filter del dev %s %s pref %u)",
			       name, hook->name, id, name, hook->name, HP_TC_HANDLE);
			return -EBUSY;
		}
	}
	return 0;
}

/* Ours off the hook, whichever way it is attached. */
static int tc_detach(const struct hp_hook *hook, const struct hook_ctx *c)
{
	int err = tcx_detach(c->ifindex, hook == &tc_ingress_hook);

	return err ?: tc_filter_detach(hook, c->ifindex);
}

static int tc_ingress_detach(const struct hook_ctx *c)
{
	return tc_detach(&tc_ingress_hook, c);
}

static int tc_egress_detach(const struct hook_ctx *c)
{
	return tc_detach(&tc_egress_hook, c);
}

int tc_clsact_release(unsigned int ifindex, const struct hp_iface *ifc)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	int err;

	/* Our clsact goes only when empty: another tool may have put a filter on it. */
	if (!(ifc->flags & HP_IFACE_OWN_QDISC) || tc_filters(ifindex) != 0)
		return 0;
	tc_ids(ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS, &h, &o);
	err = bpf_tc_hook_destroy(&h);
	return err && !tc_gone(err) ? err : 0;
}

static int tc_attach(const struct hp_hook *hook, const struct hook_ctx *c, int prog_fd)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	int err;

	if (tcx_usable()) {
		err = tcx_attach(c->ifindex, hook == &tc_ingress_hook, prog_fd);
		/*
		 * Not both beyond this switch: a filter of ours from an attach the
		 * other way would translate again.
		 */
		if (!err)
			err = tc_filter_detach(hook, c->ifindex);
	} else {
		tc_ids(c->ifindex, tc_point(hook), &h, &o);
		o.prog_fd = prog_fd;
		o.flags = BPF_TC_F_REPLACE;
		err = bpf_tc_attach(&h, &o);
		if (!err) {
			err = tcx_detach(c->ifindex, hook == &tc_ingress_hook);
			hp_crash_point();
		}
	}
	if (err)
		hp_err("%s: cannot attach to TC: %s", c->name, strerror(-err));
	return err;
}

static int tc_ingress_attach(const struct hook_ctx *c)
{
	return tc_attach(&tc_ingress_hook, c, c->p->ingress_fd);
}

static int tc_egress_attach(const struct hook_ctx *c)
{
	return tc_attach(&tc_egress_hook, c, c->p->egress_fd);
}

static bool tc_ingress_ours(const struct hook_ctx *c, __u32 prog_id)
{
	return tc_ours(&tc_ingress_hook, prog_id);
}

static bool tc_egress_ours(const struct hook_ctx *c, __u32 prog_id)
{
	return tc_ours(&tc_egress_hook, prog_id);
}

/*
 * Our program on a hook of @ifindex: a pinned tcx link's, else our clsact
 * filter's (another instance's there is not); 0 if none.
 */
static __u32 tc_hook_prog_id(unsigned int ifindex, bool ingress)
{
	__u32 id = tcx_prog_id(ifindex, ingress);

	if (!id) {
		id = tc_prog_id(ifindex, ingress);
		if (!tc_mine(ingress ? &tc_ingress_hook : &tc_egress_hook, id))
			id = 0;
	}
	return id;
}

static __u32 tc_ingress_query(const struct hook_ctx *c)
{
	return tc_hook_prog_id(c->ifindex, true);
}

static __u32 tc_egress_query(const struct hook_ctx *c)
{
	return tc_hook_prog_id(c->ifindex, false);
}

const struct hp_hook tc_ingress_hook = {
	.name = "ingress",
	.required = true,
	.attach = tc_ingress_attach,
	.detach = tc_ingress_detach,
	.query = tc_ingress_query,
	.ours = tc_ingress_ours,
};

const struct hp_hook tc_egress_hook = {
	.name = "egress",
	.required = true,
	.attach = tc_egress_attach,
	.detach = tc_egress_detach,
	.query = tc_egress_query,
	.ours = tc_egress_ours,
};

int tc_clsact_prepare(unsigned int ifindex, struct hp_iface *val, bool *missing)
{
	int qdiscs = tc_dump_count(RTM_GETQDISC, ifindex, 0, is_clsact);

	if (qdiscs < 0)
		return qdiscs;
	*missing = !qdiscs;
	if (*missing)
		val->flags |= HP_IFACE_OWN_QDISC;
	return 0;
}

int tc_clsact_make(const struct iface_tables *t, unsigned int ifindex, struct hp_iface *val)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	int err;

	tc_ids(ifindex, BPF_TC_INGRESS, &h, &o);
	err = bpf_tc_hook_create(&h);
	if (err == -EEXIST) { /* made by someone else since the dump: theirs */
		val->flags &= ~HP_IFACE_OWN_QDISC;
		bpf_map_update_elem(t->ifaces_fd, &ifindex, val, BPF_ANY);
	} else if (err) {
		return err;
	}
	hp_crash_point();
	return 0;
}

/* The programs of the live instance, from the filters on one of its interfaces. */
int iface_live_progs(int ifaces_fd, struct iface_progs *p)
{
	__u32 key, *prev = NULL, in_id, eg_id;

	while (!bpf_map_get_next_key(ifaces_fd, prev, &key)) {
		prev = &key;
		in_id = tc_hook_prog_id(key, true);
		eg_id = tc_hook_prog_id(key, false);
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

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

void iface_print_config(int ifaces_fd, int names_fd)
{
	char names[HP_MAX_IFACES][HP_IFNAMSIZ], wan[HP_IFNAMSIZ] = "";
	__u32 key, *prev = NULL;
	struct hp_iface ifc;
	__u8 xdp = HP_XDP_OFF;
	int i, n = 0;

	while (!bpf_map_get_next_key(ifaces_fd, prev, &key) && n < HP_MAX_IFACES) {
		prev = &key;
		if (bpf_map_lookup_elem(ifaces_fd, &key, &ifc))
			continue;
		xdp = xdp_mode_of(&ifc); /* attach gives every interface the same */
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
		json_str("xdp", xdp_mode_name(xdp));
		return;
	}
	printf("lan");
	for (i = 0; i < n; i++)
		printf(" %s", names[i]);
	printf("\nwan %s\n", wan);
	printf("xdp %s\n", xdp_mode_name(xdp));
}
