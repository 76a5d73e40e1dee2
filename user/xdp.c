// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The XDP hook: hp_xdp on each interface of the instance, loaded through
 * libxdp as xdp-loader loads its programs, on the TC programs' tables.
 *
 * Where the kernel runs libxdp's dispatcher (freplace programs), ours is
 * one of its programs, run by priority beside those other tools loaded, and
 * what it passes goes on to the next. Where it cannot, libxdp loads ours
 * alone: then only on an interface without another XDP program, which
 * attach checks before it changes anything. detach takes away only ours.
 *
 * Each interface gets a program of its own, the object opened and loaded
 * anew: a program already attached to one dispatcher cannot be attached to
 * another on every kernel.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "hp.h"
#include "hairpin_xdp.skel.h"

#define XDP_PROG_NAME "hp_xdp"
/* Maps a program may use, as many as we read of one. */

__u8 xdp_mode_of(const struct hp_iface *ifc)
{
	if (ifc->flags & HP_IFACE_XDP_NATIVE)
		return HP_XDP_NATIVE;
	return ifc->flags & HP_IFACE_XDP_SKB ? HP_XDP_SKB : HP_XDP_OFF;
}

void xdp_mode_set(struct hp_iface *ifc, __u8 mode)
{
	ifc->flags &= ~(HP_IFACE_XDP_NATIVE | HP_IFACE_XDP_SKB);
	if (mode == HP_XDP_NATIVE)
		ifc->flags |= HP_IFACE_XDP_NATIVE;
	else if (mode == HP_XDP_SKB)
		ifc->flags |= HP_IFACE_XDP_SKB;
}

static enum xdp_attach_mode libxdp_mode(__u8 mode)
{
	return mode == HP_XDP_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE;
}

/* The id of the instance's ifaces table: programs on it are ours, no one else's are. */
static __u32 tables_id(const struct iface_tables *t)
{
	struct bpf_map_info info;

	return t && t->ifaces_fd >= 0 && !table_info(t->ifaces_fd, &info) ? info.id : 0;
}

/* Program @prog_id is ours: hp_xdp, on the instance's tables (@tid). */
static bool prog_ours(__u32 prog_id, __u32 tid)
{
	return prog_on_table(prog_id, XDP_PROG_NAME, tid);
}

static void note_prog(struct xdp_state *st, const struct xdp_program *prog, __u32 tid)
{
	__u32 id = xdp_program__id(prog);

	if (prog_ours(id, tid)) {
		st->ours = id;
		return;
	}
	if (!st->others++) {
		st->other_id = id;
		snprintf(st->other_name, sizeof(st->other_name), "%s", xdp_program__name(prog));
	}
}

int xdp_state(const struct iface_tables *t, unsigned int ifindex, struct xdp_state *st)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	const struct xdp_program *prog;
	long err = libxdp_get_error(mp);
	__u32 tid;

	memset(st, 0, sizeof(*st));
	if (err == -ENOENT || err == -ENODEV)
		return 0; /* nothing there, or no interface */
	if (err)
		return err;
	switch (xdp_multiprog__attach_mode(mp)) {
	case XDP_MODE_NATIVE:
		st->mode = HP_XDP_NATIVE;
		break;
	case XDP_MODE_SKB:
		st->mode = HP_XDP_SKB;
		break;
	default: /* offloaded to the NIC only: not a hook hairpin uses */
		goto out;
	}
	tid = tables_id(t);
	st->dispatcher = !xdp_multiprog__is_legacy(mp);
	if (!st->dispatcher)
		note_prog(st, xdp_multiprog__main_prog(mp), tid);
	for (prog = st->dispatcher ? xdp_multiprog__next_prog(NULL, mp) : NULL; prog;
	     prog = xdp_multiprog__next_prog(prog, mp))
		note_prog(st, prog, tid);
out:
	xdp_multiprog__close(mp);
	return 0;
}

int xdp_check(const struct iface_tables *t, unsigned int ifindex, const char *name, __u8 mode)
{
	struct xdp_state st;
	int err;

	if (mode == HP_XDP_OFF)
		return 0;
	err = xdp_state(t, ifindex, &st);
	if (err) {
		hp_err("%s: cannot read its XDP programs: %s", name, strerror(-err));
		return err;
	}
	if (!st.others)
		return 0;
	if (!st.dispatcher) {
		hp_err("%s: XDP program '%s' (id %u) is attached alone, not through libxdp's "
		       "dispatcher (this kernel may not run it), and hairpin does not replace it: "
		       "unload it, or attach without --xdp",
		       name, st.other_name, st.other_id);
		return -EBUSY;
	}
	if (st.mode != mode) {
		hp_err("%s: its XDP programs run in %s mode: hairpin's cannot join them in %s mode",
		       name, xdp_mode_name(st.mode), xdp_mode_name(mode));
		return -EBUSY;
	}
	return 0;
}

/* A table the XDP program shares: pinned, else one of the TC program @tc_fd's. */
static int shared_map(const char *name, int tc_fd)
{
	struct bpf_prog_info info;
	struct bpf_map_info mi;
	__u32 ids[MAX_PROG_MAPS];
	int i, n, fd;

	for (i = 0; i < HP_PIN_COUNT; i++)
		if (!strncmp(name, "hp_", 3) && !strcmp(name + 3, hp_pin_names[i]))
			return pins_open_quiet(i);
	n = prog_maps(tc_fd, &info, ids);
	for (i = 0; i < n; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd >= 0 && !table_info(fd, &mi) && !strcmp(mi.name, name))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	return n < 0 ? n : -ENOENT;
}

/* Every table of the XDP object is the instance's own, none a new one. */
static int share_maps(struct bpf_object *obj, int tc_fd)
{
	struct bpf_map *m;
	int fd, err;

	bpf_object__for_each_map(m, obj)
	{
		fd = shared_map(bpf_map__name(m), tc_fd);
		err = fd < 0 ? fd : bpf_map__reuse_fd(m, fd);
		if (fd >= 0)
			close(fd);
		if (err) {
			hp_err("the XDP program cannot share table %s: %s", bpf_map__name(m),
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

struct xdp_load {
	struct xdp_program *prog;
	unsigned int ifindex;
	enum xdp_attach_mode mode;
};

static int xdp_load_attach(void *arg)
{
	struct xdp_load *l = arg;

	return xdp_program__attach(l->prog, l->ifindex, l->mode, 0);
}

/* Load our program for interface @c and attach it in @mode. */
static int xdp_load(const struct hook_ctx *c, __u8 mode)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, opts);
	struct xdp_load l = { NULL, c->ifindex, libxdp_mode(mode) };
	struct hairpin_xdp *skel = hairpin_xdp__open();
	bool refused = false;
	int err;

	if (!skel) {
		err = -errno;
		hp_err("cannot open the XDP object: %s", strerror(-err));
		return err;
	}
	err = share_maps(skel->obj, c->p->ingress_fd);
	if (err) {
		refused = true;
		goto out;
	}
	opts.obj = skel->obj;
	opts.prog_name = XDP_PROG_NAME;
	l.prog = xdp_program__create(&opts);
	err = libxdp_get_error(l.prog);
	if (err)
		l.prog = NULL;
	else
		err = hp_load_object(skel->obj, xdp_load_attach, &l, &refused);
out:
	/* A device that cannot run it is the caller's to say: it is no error. */
	if (err && !refused && err != -EOPNOTSUPP)
		hp_err("%s: cannot attach the XDP program in %s mode: %s%s", c->name,
		       xdp_mode_name(mode), strerror(-err),
		       env.verbose ? "" : " (-v shows libbpf's and libxdp's messages)");
	xdp_program__close(l.prog);
	hairpin_xdp__destroy(skel);
	return err;
}

static int xdp_detach(const struct hook_ctx *c)
{
	struct xdp_program *prog;
	struct xdp_state st;
	int err, tries;

	/* At most one of ours, unless a killed command left more: take them all. */
	for (tries = 0; tries < 16; tries++) {
		err = xdp_state(c->t, c->ifindex, &st);
		if (err || !st.ours)
			return err;
		/* In a dispatcher libxdp makes a new one without ours: the others keep running. */
		prog = xdp_program__from_id(st.ours);
		err = libxdp_get_error(prog);
		if (!err)
			err = xdp_program__detach(prog, c->ifindex, libxdp_mode(st.mode), 0);
		else
			prog = NULL;
		xdp_program__close(prog);
		if (err == -ENODEV)
			return 0;
		if (err)
			return err;
	}
	return -EBUSY;
}

/* Note in the interface's entry whether its device cannot run the XDP program. */
static void note_unsupported(const struct hook_ctx *c, bool unsupported)
{
	if (!!(c->val->flags & HP_IFACE_XDP_UNSUPPORTED) == unsupported)
		return;
	c->val->flags ^= HP_IFACE_XDP_UNSUPPORTED;
	bpf_map_update_elem(c->t->ifaces_fd, &c->ifindex, c->val, BPF_EXIST);
}

const char *xdp_unsupported_why(unsigned int ifindex, __u8 mode)
{
	if (!iface_is_ether(ifindex))
		return "XDP runs only on Ethernet devices";
	if (mode == HP_XDP_NATIVE && iface_is_bridge(ifindex))
		return "a bridge cannot run native XDP";
	return mode == HP_XDP_NATIVE ? "its driver cannot run native XDP"
				     : "it cannot run generic XDP";
}

static int xdp_attach(const struct hook_ctx *c)
{
	__u8 mode = xdp_mode_of(c->val);
	int err;

	/* An earlier attach's program goes first: libxdp adds programs, it replaces none. */
	err = xdp_detach(c);
	if (err) {
		hp_err("%s: cannot remove the XDP program of an earlier attach: %s", c->name,
		       strerror(-err));
		return err;
	}
	if (mode == HP_XDP_OFF) {
		note_unsupported(c, false);
		return 0;
	}
	/* The program reads Ethernet headers: on a PPP or tunnel device it would misread. */
	err = iface_is_ether(c->ifindex) ? xdp_load(c, mode) : -EOPNOTSUPP;
	if (err == -EOPNOTSUPP) {
		hp_err("%s: %s: its packets take the TC programs", c->name,
		       xdp_unsupported_why(c->ifindex, mode));
		note_unsupported(c, true);
		return 0;
	}
	if (err)
		return err;
	note_unsupported(c, false);
	hp_crash_point();
	return 0;
}

static __u32 xdp_query(const struct hook_ctx *c)
{
	struct xdp_state st;

	return xdp_state(c->t, c->ifindex, &st) ? 0 : st.ours;
}

static bool xdp_ours(const struct hook_ctx *c, __u32 prog_id)
{
	return prog_ours(prog_id, tables_id(c->t));
}

const struct hp_hook xdp_hook = {
	.name = "xdp",
	.required = false,
	.attach = xdp_attach,
	.detach = xdp_detach,
	.query = xdp_query,
	.ours = xdp_ours,
};
