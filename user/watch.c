// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * watch: the instance follows its interfaces. It listens to rtnetlink link
 * and address events (no polling) and
 *  - attaches the programs again to an interface of the instance that was
 *    deleted and made again under its name (pppd does that on every
 *    reconnect: a new index) or that lost our filters; the tables, and with
 *    them every connection, stay;
 *  - keeps each interface's SNAT address current, and moves the mappings
 *    written with "wan" and their counters to the WAN's new address (the new
 *    entry is written before the old one goes). Connections made to the old
 *    address keep their state until it ages out;
 *  - makes each interface an XDP redirect target, or not, as it is now
 *    (xdp_tx.c): it hears of qdiscs and, from Linux 6.3, of xdp_features;
 *  - clears the fast path's next hops of deleted devices (hops.c).
 * Runs until killed; one line on stdout per change.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hp.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void log_line(const char *fmt, ...)
{
	char when[32];
	time_t now = time(NULL);
	va_list ap;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", localtime(&now));
	printf("%s hairpin watch: ", when);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* The WAN's lack of an address was logged (or needs no line: it just came back). */
static bool no_addr_logged;

/* Names of the instance's interfaces seen gone, so that each is logged once. */
static char gone[HP_MAX_IFACES][HP_IFNAMSIZ];
static int n_gone;

/* Note that @name is gone or not; true if that is news. */
static bool note_gone(const char *name, bool is_gone)
{
	int i;

	for (i = 0; i < n_gone && strcmp(gone[i], name); i++)
		;
	if (is_gone == (i < n_gone) || (is_gone && n_gone == HP_MAX_IFACES))
		return false;
	if (is_gone)
		snprintf(gone[n_gone++], HP_IFNAMSIZ, "%s", name);
	else
		memcpy(gone[i], gone[--n_gone], HP_IFNAMSIZ);
	return true;
}

struct instance {
	struct iface_tables t;
	int maps_fd, counters_fd;
	struct iface_progs progs; /* the live programs, once an interface needs them */
	struct hairpin *skel;	  /* loaded only if no interface had them */
};

static int live_progs(struct instance *in)
{
	struct hp_sizes sizes = HP_SIZES_DEFAULT;
	int err;

	if (in->progs.ingress_fd >= 0 || !iface_live_progs(in->t.ifaces_fd, &in->progs))
		return 0;
	/* The pinned tables' own sizes, or libbpf would not reuse them. */
	err = sizes_live(&sizes);
	return err ?: attach_load(&in->skel, &in->progs, &sizes);
}

/*
 * Attach interface @key of the instance again where it is now: the same
 * index if only our filters went, the new index of its name if it was made
 * again. The tables keep every connection.
 */
static int reattach(struct instance *in, __u32 key, const char *name, enum iface_state state)
{
	struct hp_iface old, val = {};
	unsigned int now = state == IFACE_REPLACED ? if_nametoindex(name) : key;
	int err;

	if (bpf_map_lookup_elem(in->t.ifaces_fd, &key, &old))
		return 0;
	val.role = old.role;
	xdp_mode_set(&val, xdp_mode_of(&old));
	if (now == key)
		val = old;
	iface_mac(now, val.mac); /* if it fails, the interface is gone again: attach says so */
	if (iface_ipv4_net(now, &val.snat_addr, &val.prefix_len)) {
		val.snat_addr = 0; /* none yet: sync_addrs() writes it when it comes */
		no_addr_logged = val.role == HP_ROLE_WAN;
	}
	/* Another instance's programs on it are not ours to replace, as attach refuses them. */
	if (tc_check(now, name))
		return 0;
	err = live_progs(in) ?: iface_attach(&in->t, now, name, &val, &in->progs);
	if (!err && now != key)
		err = iface_forget(&in->t, key);
	if (err)
		return err;
	note_gone(name, false);
	if (now != key)
		log_line("%s is back (ifindex %u -> %u): attached", name, key, now);
	else
		log_line("%s had lost its filters: attached again", name);
	return 0;
}

/* The instance's interfaces as they are now: those back by name get their programs again. */
static int sync_ifaces(struct instance *in)
{
	__u32 keys[HP_MAX_IFACES], key, *prev = NULL;
	char name[HP_IFNAMSIZ];
	enum iface_state state;
	int i, n = 0, err;

	while (n < HP_MAX_IFACES && !bpf_map_get_next_key(in->t.ifaces_fd, prev, &key)) {
		keys[n] = key;
		prev = &keys[n++];
	}
	for (i = 0; i < n; i++) {
		iface_name(in->t.names_fd, keys[i], name);
		state = iface_state(&in->t, keys[i], name);
		if (state == IFACE_GONE) {
			if (note_gone(name, true))
				log_line("%s is gone: its programs return with it", name);
			continue;
		}
		if (state == IFACE_RENAMED) {
			if (note_gone(name, true))
				log_line("%s is renamed: its programs stay on it (ifindex %u) until an "
					 "interface is named %s again",
					 name, keys[i], name);
			continue;
		}
		note_gone(name, false);
		if (state == IFACE_ATTACHED)
			continue;
		err = reattach(in, keys[i], name, state);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The addresses of the instance's interfaces as they are now: the SNAT
 * address of each, and "wan" mappings to the WAN's.
 */
static int sync_addrs(struct instance *in)
{
	char name[HP_IFNAMSIZ], was[INET_ADDRSTRLEN] = "", now[INET_ADDRSTRLEN];
	__u32 key, *prev = NULL, wan = 0;
	struct hp_iface ifc, cur;
	__be32 addr = 0, from = 0;
	int moved;

	while (!bpf_map_get_next_key(in->t.ifaces_fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(in->t.ifaces_fd, &key, &ifc))
			continue;
		cur = ifc;
		if (iface_ipv4_net(key, &cur.snat_addr, &cur.prefix_len))
			cur = ifc; /* no address now: keep the last one */
		iface_mac(key, cur.mac);
		if (memcmp(&cur, &ifc, sizeof(cur)))
			bpf_map_update_elem(in->t.ifaces_fd, &key, &cur, BPF_EXIST);
		if (ifc.role == HP_ROLE_WAN)
			wan = key;
	}
	if (!wan)
		return 0;
	iface_name(in->t.names_fd, wan, name);
	if (iface_ipv4(wan, &addr)) {
		if (!no_addr_logged && if_nametoindex(name) == wan)
			log_line("%s has no IPv4 address: wan mappings stay as they are", name);
		no_addr_logged = if_nametoindex(name) == wan;
		return 0;
	}
	no_addr_logged = false;
	moved = wan_follow(in->maps_fd, in->counters_fd, addr, &from);
	if (moved > 0)
		log_line("%s address %s -> %s: %d mapping%s moved", name,
			 inet_ntop(AF_INET, &from, was, sizeof(was)),
			 inet_ntop(AF_INET, &addr, now, sizeof(now)), moved, moved == 1 ? "" : "s");
	return moved < 0 ? moved : 0;
}

static void note_target(const char *name, bool target, const char *why)
{
	if (target)
		log_line("%s takes XDP frames: an XDP redirect target", name);
	else
		log_line("%s is no XDP redirect target: %s", name, why);
}

/*
 * Bring the instance to the interfaces as they are now. Returns 0, also
 * when there is nothing to do, or a negative errno.
 */
static int sync_instance(void)
{
	struct instance in = { .progs = { -1, -1 } };
	struct hp_pins p;
	int err;

	err = pins_open_set(&p,
			    HP_PIN_BIT(HP_PIN_MAPPINGS) | HP_PIN_BIT(HP_PIN_COUNTERS) |
				    HP_PIN_BIT(HP_PIN_IFACES),
			    HP_PIN_BIT(HP_PIN_IFNAMES) | HP_PIN_BIT(HP_PIN_XDP_TX) |
				    HP_PIN_BIT(HP_PIN_HOPS),
			    true);
	if (!err) {
		in.t = (struct iface_tables){ p.fd[HP_PIN_IFACES], p.fd[HP_PIN_IFNAMES],
					      p.fd[HP_PIN_XDP_TX] };
		in.maps_fd = p.fd[HP_PIN_MAPPINGS];
		in.counters_fd = p.fd[HP_PIN_COUNTERS];
		err = sync_ifaces(&in) ?: sync_addrs(&in);
		if (p.fd[HP_PIN_HOPS] >= 0)
			hops_gc(p.fd[HP_PIN_HOPS]);
	}
	if (!err)
		xdp_tx_update(&in.t, note_target);
	if (in.skel)
		attach_unload(in.skel); /* its programs stay on the hooks */
	else
		iface_progs_close(&in.progs);
	pins_close_set(&p);
	return err;
}

static int open_rtnl(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_LINK | RTMGRP_TC };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), err;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		hp_err("watch: cannot listen to rtnetlink: %s", strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

/* Does the batch of messages in @buf hold a link, IPv4 address or qdisc change? */
static bool changed(const char *buf, ssize_t len)
{
	const struct nlmsghdr *nh;

	for (nh = (const void *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len))
		if (nh->nlmsg_type == RTM_NEWADDR || nh->nlmsg_type == RTM_DELADDR ||
		    nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK ||
		    nh->nlmsg_type == RTM_NEWQDISC || nh->nlmsg_type == RTM_DELQDISC)
			return true;
	return false;
}

int cmd_watch(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd fds[2] = { { .fd = -1, .events = POLLIN }, { .fd = -1, .events = POLLIN } };
	char buf[8192];
	int err, i;
	ssize_t n;

	if (argc > 1) {
		hp_err("watch: unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	err = require_root() ?: pins_attached();
	if (err)
		return err;
	fds[0].fd = open_rtnl();
	if (fds[0].fd < 0)
		return fds[0].fd;
	/* xdp_features changes (a veth's peer gets an XDP program): none before Linux 6.3. */
	fds[1].fd = xdp_tx_listen();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	log_line("following the interfaces and the WAN address of %s", env.pin_dir);
	/* Whatever changed while nobody watched, then every change as it comes. */
	err = sync_instance();
	while (!err && !stop) {
		if (poll(fds, fds[1].fd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			hp_err("watch: poll: %s", strerror(-err));
			break;
		}
		for (i = 0; !err && i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & POLLIN))
				continue;
			n = recv(fds[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n < 0 && errno == ENOBUFS) { /* events were lost: look again */
				err = sync_instance();
				continue;
			}
			if (n < 0) {
				err = -errno;
				hp_err("watch: netlink: %s", strerror(-err));
				break;
			}
			/* Any xdp_features message is a change; rtnetlink's are sorted. */
			if (i == 1 || changed(buf, n))
				err = sync_instance();
		}
	}
	for (i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	if (!err)
		log_line("stopped");
	return err;
}
