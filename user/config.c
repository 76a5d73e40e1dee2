// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The config file: the command line's grammar, one statement per line.
 *
 *   # comment
 *   map tcp wan:8080 192.168.1.20:80
 *   map udp 203.0.113.1:5353 192.168.1.20:53
 *   snat-ports 61000-65535
 *   timeout udp 300
 *   fastpath off
 *   xdp native
 *   size conns 65536
 *   lan br-lan lan2
 *   wan wan
 *
 * The whole file is parsed and checked before anything is applied, so an
 * invalid file changes nothing.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include "hp.h"

#define MAX_WORDS 12

/* timeout NAME SECONDS: the names netfilter's admins know, where in struct hp_config. */
const struct hp_timeout_name hp_timeouts[HP_N_TIMEOUTS] = {
	{ "tcp-established", offsetof(struct hp_config, timeout_tcp_est) },
	{ "tcp-closing", offsetof(struct hp_config, timeout_tcp_close) },
	{ "udp", offsetof(struct hp_config, timeout_udp) },
};

__u32 *config_timeout(const struct hp_config *cfg, size_t i)
{
	return (__u32 *)((char *)cfg + hp_timeouts[i].off);
}

/* size NAME ENTRIES: the tables an admin sizes, and the pin whose size is the live one. */
const struct hp_size_name hp_sizes[HP_N_SIZES] = {
	{ "conns", offsetof(struct hp_sizes, conns), HP_PIN_CONNS },
	{ "mappings", offsetof(struct hp_sizes, mappings), HP_PIN_MAPPINGS },
};

__u32 *config_size(const struct hp_sizes *s, size_t i)
{
	return (__u32 *)((char *)s + hp_sizes[i].off);
}

/* Returns which size the statement sets, or -EINVAL. */
static int parse_size(int n, char **words, struct hp_sizes *sizes, char *why, size_t len)
{
	int i;

	for (i = 0; n == 3 && i < HP_N_SIZES; i++) {
		if (strcmp(words[1], hp_sizes[i].name))
			continue;
		if (parse_entries(words[2], config_size(sizes, i))) {
			snprintf(why, len, "size %s: '%s' is not a number of entries (%u-%u)",
				 words[1], words[2], HP_SIZE_MIN, HP_SIZE_MAX);
			return -EINVAL;
		}
		return i;
	}
	snprintf(why, len, "expected 'size conns|mappings ENTRIES'");
	return -EINVAL;
}

static int parse_timeout(int n, char **words, struct hp_config *cfg, char *why, size_t len)
{
	size_t i;

	for (i = 0; n == 3 && i < HP_N_TIMEOUTS; i++) {
		if (strcmp(words[1], hp_timeouts[i].name))
			continue;
		if (parse_seconds(words[2], config_timeout(cfg, i))) {
			snprintf(why, len, "timeout %s: '%s' is not a number of seconds (1-%u)",
				 words[1], words[2], HP_TIMEOUT_MAX);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(why, len, "expected 'timeout tcp-established|tcp-closing|udp SECONDS'");
	return -EINVAL;
}

/* A name the kernel would take for an interface (dev_valid_name()). */
static bool valid_ifname(const char *s)
{
	return *s && strlen(s) < HP_IFNAMSIZ && strcmp(s, ".") && strcmp(s, "..") &&
	       !strpbrk(s, "/:");
}

static bool named(const struct hp_config_ifaces *ci, const char *name)
{
	int i;

	for (i = 0; i < ci->n_lan; i++)
		if (!strcmp(ci->lan[i], name))
			return true;
	return !strcmp(ci->wan, name);
}

/* "lan IF [IF...]" and "wan IF": the interfaces attach uses without --lan/--wan. */
static int parse_iface_line(int n, char **words, struct hp_config_ifaces *ci, char *why, size_t len)
{
	bool wan = !strcmp(words[0], "wan");
	int i;

	if (n < 2 || (wan && n != 2)) {
		snprintf(why, len, wan ? "expected 'wan IF'" : "expected 'lan IF [IF...]'");
		return -EINVAL;
	}
	if (!wan && n - 1 > (int)(sizeof(ci->lan) / sizeof(ci->lan[0]))) {
		snprintf(why, len, "too many LAN interfaces (at most %zu)",
			 sizeof(ci->lan) / sizeof(ci->lan[0]));
		return -EINVAL;
	}
	for (i = 1; i < n; i++) {
		if (!valid_ifname(words[i])) {
			snprintf(why, len,
				 "'%s' is not an interface name (1-%d characters, no '/' or ':')",
				 words[i], HP_IFNAMSIZ - 1);
			return -EINVAL;
		}
		if (named(ci, words[i])) {
			snprintf(why, len, "interface '%s' is named twice", words[i]);
			return -EINVAL;
		}
		if (wan)
			snprintf(ci->wan, sizeof(ci->wan), "%s", words[i]);
		else
			snprintf(ci->lan[ci->n_lan++], sizeof(ci->lan[0]), "%s", words[i]);
	}
	return 0;
}

/* Two mappings take a common public port; @resolved: compare "wan" by its address. */
static bool overlaps(const struct hp_mapping *a, const struct hp_mapping *b, bool resolved)
{
	return (a->protos & b->protos) && (resolved || a->pub_wan == b->pub_wan) &&
	       a->pub_addr == b->pub_addr && a->pub_lo <= b->pub_hi && b->pub_lo <= a->pub_hi;
}

/* Statements that set one thing appear once; the line each was first seen on. */
enum {
	ONCE_SNAT_PORTS,
	ONCE_SNAT,
	ONCE_MARK,
	ONCE_FASTPATH,
	ONCE_XDP,
	ONCE_LAN,
	ONCE_WAN,
	ONCE_TIMEOUT,
	ONCE_SIZE = ONCE_TIMEOUT + HP_N_TIMEOUTS,
	ONCE_COUNT = ONCE_SIZE + HP_N_SIZES
};

struct parse_state {
	struct hp_config_file *cf;
	int line;
	int first[ONCE_COUNT];
};

static int once(struct parse_state *ps, int which, const char *name, char *why, size_t len)
{
	if (ps->first[which]) {
		snprintf(why, len, "a second '%s' statement (the first is on line %d)", name,
			 ps->first[which]);
		return -EINVAL;
	}
	ps->first[which] = ps->line;
	return 0;
}

static int parse_line(char *line, struct parse_state *ps, char *why, size_t len)
{
	char *words[MAX_WORDS], *save = NULL, *w, name[64];
	struct hp_config_file *cf = ps->cf;
	struct hp_mapping m, *grown;
	int n = 0, i;
	size_t t;

	line[strcspn(line, "#\r\n")] = '\0';
	for (w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_WORDS) {
			snprintf(why, len, "too many words");
			return -EINVAL;
		}
		words[n++] = w;
	}
	if (!n)
		return 0;

	if (!strcmp(words[0], "snat-ports")) {
		if (n != 2 ||
		    parse_port_range(words[1], &cf->cfg.snat_port_min, &cf->cfg.snat_port_max)) {
			snprintf(why, len, "expected 'snat-ports LOW-HIGH' with ports 1-65535");
			return -EINVAL;
		}
		return once(ps, ONCE_SNAT_PORTS, "snat-ports", why, len);
	}
	if (!strcmp(words[0], "timeout")) {
		if (parse_timeout(n, words, &cf->cfg, why, len))
			return -EINVAL;
		for (t = 0; strcmp(words[1], hp_timeouts[t].name); t++)
			;
		snprintf(name, sizeof(name), "timeout %s", hp_timeouts[t].name);
		return once(ps, ONCE_TIMEOUT + t, name, why, len);
	}
	if (!strcmp(words[0], "size")) {
		i = parse_size(n, words, &cf->sizes, why, len);
		if (i < 0)
			return i;
		snprintf(name, sizeof(name), "size %s", hp_sizes[i].name);
		return once(ps, ONCE_SIZE + i, name, why, len);
	}
	if (!strcmp(words[0], "mark")) {
		if (n != 2 || parse_mark(words[1], &cf->cfg.mark, &cf->cfg.mark_mask)) {
			snprintf(why, len,
				 "expected 'mark VALUE[/MASK]' with VALUE non-zero "
				 "and within MASK (decimal or 0x hex)");
			return -EINVAL;
		}
		return once(ps, ONCE_MARK, "mark", why, len);
	}
	if (!strcmp(words[0], "fastpath")) {
		if (n != 2 || (strcmp(words[1], "on") && strcmp(words[1], "off"))) {
			snprintf(why, len, "expected 'fastpath on|off'");
			return -EINVAL;
		}
		if (!strcmp(words[1], "off"))
			cf->cfg.flags |= HP_CFG_NO_FASTPATH;
		else
			cf->cfg.flags &= ~HP_CFG_NO_FASTPATH;
		return once(ps, ONCE_FASTPATH, "fastpath", why, len);
	}
	if (!strcmp(words[0], "xdp")) {
		if (n != 2 || parse_xdp_mode(words[1], &cf->xdp)) {
			snprintf(why, len, "expected 'xdp native|skb|off'");
			return -EINVAL;
		}
		return once(ps, ONCE_XDP, "xdp", why, len);
	}
	if (!strcmp(words[0], "lan") || !strcmp(words[0], "wan"))
		return once(ps, words[0][0] == 'l' ? ONCE_LAN : ONCE_WAN, words[0], why, len)
			       ?: parse_iface_line(n, words, &cf->ifaces, why, len);
	if (!strcmp(words[0], "snat"))
		return parse_snat(n - 1, words + 1, &cf->cfg.snat_mode, &cf->cfg.snat_scope, why,
				  len)
			       ?: once(ps, ONCE_SNAT, "snat", why, len);
	if (strcmp(words[0], "map")) {
		snprintf(why, len,
			 "unknown statement '%s' (fastpath, lan, map, mark, size, snat, "
			 "snat-ports, timeout, wan, xdp)",
			 words[0]);
		return -EINVAL;
	}
	if (parse_mapping(n - 1, words + 1, &m, why, len))
		return -EINVAL;
	m.line = ps->line;
	for (i = 0; i < cf->n_maps; i++) {
		if (overlaps(&cf->maps[i], &m, false)) {
			snprintf(why, len, "public port %s overlaps line %d", words[2],
				 cf->maps[i].line);
			return -EINVAL;
		}
	}
	grown = realloc(cf->maps, (cf->n_maps + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	cf->maps = grown;
	cf->maps[cf->n_maps++] = m;
	return 0;
}

/*
 * Bytes the grammar never holds, named so that the error shows them: a line
 * is printable ASCII and tabs, a CR only before its LF, other bytes only in
 * comments (where a name may be written in any language).
 */
static int check_bytes(const unsigned char *s, size_t n, int lineno, char *why, size_t len)
{
	size_t i, comment = n;

	if (lineno == 1 && n >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf) {
		snprintf(why, len,
			 "the file starts with a UTF-8 byte order mark (EF BB BF): save it without "
			 "one");
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (s[i] == '#' && comment == n)
			comment = i;
		if (s[i] == '\0') {
			snprintf(why, len, "a NUL byte at column %zu", i + 1);
			return -EINVAL;
		}
		if ((s[i] < 0x20 && s[i] != '\t' && !(s[i] == '\r' && i + 1 == n)) ||
		    s[i] == 0x7f) {
			snprintf(why, len, "control character 0x%02x at column %zu", s[i], i + 1);
			return -EINVAL;
		}
		if (s[i] >= 0x80 && i < comment) {
			snprintf(why, len, "non-ASCII byte 0x%02x at column %zu outside a comment",
				 s[i], i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* The whole file, at most HP_CONFIG_MAX_BYTES, read before any of it is parsed. */
static int read_file(const char *path, char **buf, size_t *size)
{
	size_t cap = 4096, n = 0, got;
	char *grown;
	struct stat st;
	int err = 0;
	FILE *f;

	*buf = NULL;
	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		hp_err("%s: %s", path, strerror(errno));
		return err;
	}
	/* A regular file's size is known: refuse a huge one without reading it. */
	if (!fstat(fileno(f), &st) && S_ISREG(st.st_mode) && st.st_size > HP_CONFIG_MAX_BYTES)
		err = -EFBIG;
	while (!err) {
		if (n == cap || !*buf) {
			cap = *buf ? cap * 2 : cap;
			grown = realloc(*buf, cap);
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			*buf = grown;
		}
		got = fread(*buf + n, 1, cap - n, f);
		n += got;
		if (n > HP_CONFIG_MAX_BYTES)
			err = -EFBIG;
		else if (!got)
			break;
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (err == -EFBIG)
		hp_err("%s: larger than %u KiB, more than any config file", path,
		       HP_CONFIG_MAX_BYTES / 1024);
	else if (err)
		hp_err("%s: %s", path, err == -EIO ? "read error" : strerror(-err));
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	*size = n;
	return err;
}

int config_load(const char *path, struct hp_config_file *cf)
{
	struct parse_state ps = { .cf = cf };
	char *buf = NULL, *p, *nl, line[HP_CONFIG_MAX_LINE + 1], why[256];
	size_t size = 0, n;
	int err;

	memset(cf, 0, sizeof(*cf));
	cf->cfg = (struct hp_config)HP_CONFIG_DEFAULT;
	cf->sizes = (struct hp_sizes)HP_SIZES_DEFAULT;
	err = read_file(path, &buf, &size);
	if (err)
		return err;
	for (p = buf; !err && p < buf + size; p = nl + 1) {
		nl = memchr(p, '\n', buf + size - p);
		if (!nl)
			nl = buf + size;
		n = nl - p;
		ps.line++;
		if (n > HP_CONFIG_MAX_LINE) {
			snprintf(why, sizeof(why), "line longer than %d bytes", HP_CONFIG_MAX_LINE);
			err = -EINVAL;
		} else {
			memcpy(line, p, n);
			line[n] = '\0';
			err = check_bytes((unsigned char *)line, n, ps.line, why, sizeof(why))
				      ?: parse_line(line, &ps, why, sizeof(why));
		}
		if (err)
			hp_err("%s:%d: %s", path, ps.line, why);
	}
	free(buf);
	if (err)
		config_free(cf);
	return err;
}

int config_check_mappings(const char *path, const struct hp_config_file *cf)
{
	const struct hp_mapping *m;
	char why[256], pub[64], addr[INET_ADDRSTRLEN];
	int i, j;

	for (i = 0; i < cf->n_maps; i++) {
		m = &cf->maps[i];
		for (j = 0; j < i; j++) {
			if (!overlaps(&cf->maps[j], m, true))
				continue;
			inet_ntop(AF_INET, &m->pub_addr, addr, sizeof(addr));
			hp_err("%s:%d: public port %s overlaps line %d (wan is %s)", path, m->line,
			       fmt_public(pub, sizeof(pub), m), cf->maps[j].line, addr);
			return -EINVAL;
		}
		if (mapping_check_local(m, why, sizeof(why))) {
			hp_err("%s:%d: %s", path, m->line, why);
			return -EINVAL;
		}
	}
	return 0;
}

void config_free(struct hp_config_file *cf)
{
	free(cf->maps);
	cf->maps = NULL;
	cf->n_maps = 0;
}

/*
 * Hairpin SNAT uses the router's own address, as the router's own sockets
 * do: their ports must not meet, or a hairpinned connection and one of the
 * router's could share a tuple. The kernel picks local ports from
 * net.ipv4.ip_local_port_range (of this network namespace).
 */
int config_check_local_ports(const struct hp_config *cfg)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	unsigned int lo, hi;
	int n;

	if (!f)
		return 0; /* no procfs: nothing to check against */
	n = fscanf(f, "%u %u", &lo, &hi);
	fclose(f);
	if (n != 2 || cfg->snat_port_max < lo || cfg->snat_port_min > hi)
		return 0;
	hp_err("snat-ports %u-%u overlaps the router's local ports %u-%u "
	       "(net.ipv4.ip_local_port_range); its own connections could collide with hairpinned "
	       "ones",
	       cfg->snat_port_min, cfg->snat_port_max, lo, hi);
	return -EINVAL;
}
