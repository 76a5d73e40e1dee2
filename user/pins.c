// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The pin dir: where attach pins the tables, and what every other command
 * opens. It must be on a bpf filesystem; a lock on it serializes commands.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <bpf/bpf.h>

#include "hp.h"

/* Pin file names, in the order of enum hp_pin; the BPF map is "hp_" + name. */
const char *const hp_pin_names[HP_PIN_COUNT] = {
	[HP_PIN_MAPPINGS] = "mappings",	    [HP_PIN_IFACES] = "ifaces",
	[HP_PIN_CONNS] = "conns",	    [HP_PIN_CONFIG] = "config",
	[HP_PIN_STATS] = "stats",	    [HP_PIN_LAYOUT] = "layout",
	[HP_PIN_COUNTERS] = "map_counters", [HP_PIN_IFNAMES] = "ifnames",
	[HP_PIN_CONN_QUEUE] = "conn_queue", [HP_PIN_CONN_ASSURED] = "conn_assured",
	[HP_PIN_XDP_TX] = "xdp_tx",	    [HP_PIN_HOPS] = "hops",
};

int pins_path(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", env.pin_dir, name) >= len) {
		hp_err("pin dir path too long: %s", env.pin_dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

int require_root(void)
{
	if (geteuid() == 0)
		return 0;
	hp_err("must be run as root (needs CAP_BPF and CAP_NET_ADMIN)");
	return -EPERM;
}

static int on_bpffs(const char *path)
{
	struct statfs st;

	if (statfs(path, &st))
		return -errno;
	return st.f_type == BPF_FS_MAGIC ? 0 : -EMEDIUMTYPE;
}

static void err_not_bpffs(const char *path)
{
	hp_err("%s is not on a bpf filesystem (mount it with 'mount -t bpf bpf /sys/fs/bpf'; "
	       "'ip netns exec' remounts /sys and hides it, use 'nsenter --net=/run/netns/NAME')",
	       path);
}

/*
 * Check that the pin dir is usable. With @create (attach) a missing pin dir
 * is made inside an existing bpf filesystem; otherwise it means "not attached".
 */
int pins_check_fs(bool create)
{
	char parent[4096];
	int err;

	err = on_bpffs(env.pin_dir);
	if (!err)
		return 0;
	if (err == -EMEDIUMTYPE) {
		err_not_bpffs(env.pin_dir);
		return err;
	}
	if (err != -ENOENT) {
		hp_err("%s: %s", env.pin_dir, strerror(-err));
		return err;
	}
	snprintf(parent, sizeof(parent), "%s", env.pin_dir);
	err = on_bpffs(dirname(parent));
	if (err == -EMEDIUMTYPE || err == -ENOENT) {
		err_not_bpffs(env.pin_dir);
		return -EMEDIUMTYPE;
	}
	if (!err && !create) {
		hp_err("%s: no hairpin instance is attached here", env.pin_dir);
		return -ENOENT;
	}
	if (err || mkdir(env.pin_dir, 0700)) {
		err = err ?: -errno;
		hp_err("%s: %s", env.pin_dir, strerror(-err));
		return err;
	}
	return 0;
}

/*
 * Tables pinned by a build with another layout must not be reused: libbpf
 * would refuse some, and others (same size, other meaning) it would take.
 * Returns 0 also when nothing is pinned yet.
 */
int pins_check_layout(void)
{
	char path[4096];
	__u32 zero = 0, version = 1;
	int fd, err;

	err = pins_path(path, sizeof(path), hp_pin_names[HP_PIN_LAYOUT]);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_map_lookup_elem(fd, &zero, &version);
		close(fd);
	} else {
		err = pins_path(path, sizeof(path), hp_pin_names[HP_PIN_MAPPINGS]);
		if (err || access(path, F_OK))
			return err; /* nothing pinned */
	}
	if (version == HP_LAYOUT_VERSION)
		return 0;
	hp_err("%s holds tables of layout %u, this build uses layout %u: run 'hairpin detach' "
	       "(established connections are dropped), then attach again",
	       env.pin_dir, version, HP_LAYOUT_VERSION);
	return -EPROTO;
}

int pins_attached(void)
{
	return pins_check_fs(false) ?: pins_check_layout();
}

int pins_lock(void)
{
	int fd = open(env.pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || flock(fd, LOCK_EX)) {
		int err = -errno;

		hp_err("%s: cannot lock: %s", env.pin_dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

/* Does a command hold the pin dir's lock, changing the instance right now? */
bool pins_busy(void)
{
	int fd = open(env.pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool busy;

	if (fd < 0)
		return false;
	busy = flock(fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

void pins_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int pins_open_quiet(enum hp_pin which)
{
	char path[4096];
	int fd, err;

	err = pins_path(path, sizeof(path), hp_pin_names[which]);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

static int pins_open(enum hp_pin which)
{
	int fd = pins_open_quiet(which);

	if (fd == -ENOENT)
		hp_err("%s: no hairpin instance is attached here", env.pin_dir);
	else if (fd < 0 && fd != -ENAMETOOLONG)
		hp_err("%s/%s: %s", env.pin_dir, hp_pin_names[which], strerror(-fd));
	return fd;
}

int pins_open_set(struct hp_pins *p, unsigned int need, unsigned int may, bool lock)
{
	int i, fd, err;

	*p = (struct hp_pins)HP_PINS_NONE;
	err = require_root() ?: pins_attached();
	if (err)
		return err;
	if (lock) {
		p->lock = pins_lock();
		if (p->lock < 0)
			return p->lock;
	}
	for (i = 0; i < HP_PIN_COUNT; i++) {
		if (need & HP_PIN_BIT(i))
			fd = pins_open(i);
		else if (may & HP_PIN_BIT(i))
			fd = pins_open_quiet(i);
		else
			continue;
		if (fd >= 0)
			p->fd[i] = fd;
		else if (need & HP_PIN_BIT(i))
			return fd;
	}
	return 0;
}

void pins_close_set(struct hp_pins *p)
{
	int i;

	for (i = 0; i < HP_PIN_COUNT; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
	}
	pins_unlock(p->lock);
	p->lock = -1;
}
