// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One interface of an instance: its entries in the ifaces and ifnames
 * tables and our programs on its hooks, which attach, detach and status
 * walk in the order of hp_hooks[].
 *
 * The tables learn of an interface before any hook does, and of a clsact
 * qdisc before attach makes it (where the TC programs are not tcx links),
 * so that a command killed at any point leaves nothing on an interface that
 * detach does not know of. XDP comes after TC: the TC programs alone
 * translate everything, the XDP program only takes a shortcut for some of it.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <bpf/bpf.h>

#include "hp.h"

const struct hp_hook *const hp_hooks[HP_N_HOOKS] = {
	&tc_ingress_hook,
	&tc_egress_hook,
	[HP_HOOK_XDP] = &xdp_hook,
};

int iface_attach(const struct iface_tables *t, unsigned int ifindex, const char *name,
		 struct hp_iface *val, const struct iface_progs *p)
{
	struct hook_ctx c = { t, ifindex, name, val, p };
	struct hp_ifname n = {};
	struct hp_iface old;
	bool no_clsact;
	int err, i;

	/* Keep what an earlier attach learnt: the qdisc's owner, the XDP redirect target. */
	if (!bpf_map_lookup_elem(t->ifaces_fd, &ifindex, &old))
		val->flags |= old.flags & (HP_IFACE_OWN_QDISC | HP_IFACE_XDP_TX);
	err = iface_link_flag(ifindex, name, val);
	if (err)
		return err;
	err = tc_check(ifindex, name);
	if (err)
		return err;
	no_clsact = false;
	val->flags &= ~HP_IFACE_TCX; /* watch passes the entry as it was */
	if (tcx_usable())
		val->flags |= HP_IFACE_TCX;
	else
		err = tc_clsact_prepare(ifindex, val, &no_clsact);
	if (err)
		goto tc_fail;
	snprintf(n.name, sizeof(n.name), "%s", name);
	if (bpf_map_update_elem(t->names_fd, &ifindex, &n, BPF_ANY) ||
	    bpf_map_update_elem(t->ifaces_fd, &ifindex, val, BPF_ANY)) {
		err = -errno;
		hp_err("cannot write the interface table: %s", strerror(-err));
		return err;
	}
	hp_crash_point();
	if (no_clsact) {
		err = tc_clsact_make(t, ifindex, val);
		if (err)
			goto tc_fail;
	}
	for (i = 0; i < HP_N_HOOKS; i++) {
		err = hp_hooks[i]->attach(&c);
		if (err)
			return err;
	}
	return 0;
tc_fail:
	hp_err("%s: cannot attach to TC: %s", name, strerror(-err));
	return err;
}

int iface_detach(const struct iface_tables *t, unsigned int ifindex, struct hp_iface *ifc)
{
	char name[IF_NAMESIZE] = "?";
	struct hook_ctx c = { t, ifindex, name, ifc, NULL };
	int err, ret = 0, i;

	if_indextoname(ifindex, name);
	for (i = HP_N_HOOKS - 1; i >= 0; i--) {
		err = hp_hooks[i]->detach(&c);
		if (err && !ret)
			ret = err;
	}
	if (!ret)
		ret = tc_clsact_release(ifindex, ifc);
	if (ret)
		hp_err("%s: cannot remove our programs: %s", name, strerror(-ret));
	return ret;
}

int iface_forget(const struct iface_tables *t, __u32 ifindex)
{
	struct hp_iface ifc;
	int err = 0;

	/* A deleted interface took our programs along (the hooks ignore ENODEV). */
	if (!bpf_map_lookup_elem(t->ifaces_fd, &ifindex, &ifc))
		err = iface_detach(t, ifindex, &ifc);
	if (err)
		return err;
	/* Not a redirect target once its entry, and with it the flag, is gone. */
	bpf_map_delete_elem(t->ifaces_fd, &ifindex);
	xdp_tx_forget(t, ifindex);
	if (t->names_fd >= 0)
		bpf_map_delete_elem(t->names_fd, &ifindex);
	return 0;
}

enum iface_state iface_state(const struct iface_tables *t, __u32 ifindex, const char *name)
{
	unsigned int now = if_nametoindex(name);
	struct hook_ctx c = { t, ifindex, name, NULL, NULL };
	char renamed[IF_NAMESIZE];
	int i;

	if (!now)
		return if_indextoname(ifindex, renamed) ? IFACE_RENAMED : IFACE_GONE;
	if (now != ifindex)
		return IFACE_REPLACED;
	for (i = 0; i < HP_N_HOOKS; i++)
		if (hp_hooks[i]->required && !hp_hooks[i]->query(&c))
			return IFACE_UNATTACHED;
	return IFACE_ATTACHED;
}

const char *iface_state_name(enum iface_state s)
{
	static const char *const names[] = {
		[IFACE_ATTACHED] = "attached", [IFACE_UNATTACHED] = "unattached",
		[IFACE_GONE] = "missing",      [IFACE_REPLACED] = "re-created",
		[IFACE_RENAMED] = "renamed",
	};

	return names[s];
}
