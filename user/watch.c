// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * watch: mappings written with "wan" follow the WAN interface's IPv4
 * address. It listens to rtnetlink address events (no polling) and, when
 * the WAN's primary address changes, moves every such mapping and its
 * counters to the new address: the new entry is written before the old one
 * goes. Connections made to the old address keep their state until it ages
 * out. Runs until killed; one line on stdout per change.
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

/* Move the "wan" entry @k to address @addr, counters too; new before old. */
static int move_entry(int maps_fd, int counters_fd, const struct hp_map_key *k,
		      const struct hp_map_val *v, __be32 addr)
{
	int ncpu = libbpf_num_possible_cpus();
	struct hp_map_key nk = *k;
	struct hp_map_counters *per;
	int err = 0;

	nk.addr = addr;
	per = calloc(ncpu > 0 ? ncpu : 1, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (!bpf_map_lookup_elem(counters_fd, k, per))
		bpf_map_update_elem(counters_fd, &nk, per, BPF_ANY);
	else
		err = mapping_counters_create(counters_fd, &nk);
	if (!err && bpf_map_update_elem(maps_fd, &nk, v, BPF_ANY))
		err = -errno;
	if (!err) {
		bpf_map_delete_elem(maps_fd, k);
		bpf_map_delete_elem(counters_fd, k);
	}
	free(per);
	return err;
}

/*
 * Bring the "wan" mappings to the WAN interface's current address. Returns
 * 0, also when there is nothing to do, or a negative errno.
 */
static int sync_wan(void)
{
	int lock = -1, maps_fd = -1, counters_fd = -1, ifaces_fd = -1, moved = 0, err;
	struct hp_map_key key, next, *prev = NULL;
	char name[IF_NAMESIZE] = "?", was[INET_ADDRSTRLEN] = "", now[INET_ADDRSTRLEN];
	struct hp_iface ifc;
	struct hp_map_val v;
	__u32 wan;
	__be32 addr;

	err = pins_attached();
	if (err)
		return err;
	lock = pins_lock();
	maps_fd = pins_open(HP_PIN_MAPPINGS);
	counters_fd = pins_open(HP_PIN_COUNTERS);
	ifaces_fd = pins_open(HP_PIN_IFACES);
	if (lock < 0 || maps_fd < 0 || counters_fd < 0 || ifaces_fd < 0) {
		err = -ENOENT;
		goto out;
	}
	err = wan_ifindex(ifaces_fd, &wan, &ifc);
	if (err)
		goto out;
	if_indextoname(wan, name);
	if (iface_ipv4(wan, &addr)) {
		log_line("%s has no IPv4 address: wan mappings stay as they are", name);
		goto out;
	}
	inet_ntop(AF_INET, &addr, now, sizeof(now));

	while (!bpf_map_get_next_key(maps_fd, prev, &next)) {
		key = next;
		if (!bpf_map_lookup_elem(maps_fd, &key, &v) && (v.flags & HP_MAP_WAN) &&
		    key.addr != addr) {
			inet_ntop(AF_INET, &key.addr, was, sizeof(was));
			err = move_entry(maps_fd, counters_fd, &key, &v, addr);
			if (err) {
				hp_err("watch: cannot move a mapping to %s: %s", now,
				       strerror(-err));
				goto out;
			}
			if (ntohs(key.port) == v.range_first)
				moved++;
			continue; /* key is gone: go on from the same place */
		}
		prev = &key;
	}
	if (ifc.snat_addr != addr) {
		ifc.snat_addr = addr;
		bpf_map_update_elem(ifaces_fd, &wan, &ifc, BPF_EXIST);
	}
	if (moved)
		log_line("%s address %s -> %s: %d mapping%s moved", name, was, now, moved,
			 moved == 1 ? "" : "s");
out:
	if (ifaces_fd >= 0)
		close(ifaces_fd);
	if (counters_fd >= 0)
		close(counters_fd);
	if (maps_fd >= 0)
		close(maps_fd);
	pins_unlock(lock);
	return err;
}

static int open_rtnl(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR };
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

/* Does the batch of messages in @buf hold an IPv4 address change? */
static bool address_changed(const char *buf, ssize_t len)
{
	const struct nlmsghdr *nh;

	for (nh = (const void *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len))
		if (nh->nlmsg_type == RTM_NEWADDR || nh->nlmsg_type == RTM_DELADDR)
			return true;
	return false;
}

int cmd_watch(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	char buf[8192];
	int fd, err;
	ssize_t n;

	if (argc > 1) {
		hp_err("watch: unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	err = require_root() ?: pins_attached();
	if (err)
		return err;
	fd = open_rtnl();
	if (fd < 0)
		return fd;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	log_line("following the WAN address of %s", env.pin_dir);
	/* Whatever changed while nobody watched, then every change as it comes. */
	err = sync_wan();
	while (!err && !stop) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* events were lost: look again */
				err = sync_wan();
				continue;
			}
			err = -errno;
			hp_err("watch: rtnetlink: %s", strerror(-err));
			break;
		}
		if (address_changed(buf, n))
			err = sync_wan();
	}
	close(fd);
	if (!err)
		log_line("stopped");
	return err;
}
