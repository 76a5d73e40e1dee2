// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The mapping grammar, shared by the command line and the config file:
 *   PROTO PUBLIC:PORT[-PORT] PRIVATE:PORT[-PORT]
 * Parsers write a reason into @why and return -EINVAL; they never print, so
 * the caller can prefix "file:line:" or nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "hp.h"

int parse_proto(const char *s, unsigned int *protos)
{
	if (!strcmp(s, "tcp"))
		*protos = HP_PROTO_MASK_TCP;
	else if (!strcmp(s, "udp"))
		*protos = HP_PROTO_MASK_UDP;
	else if (!strcmp(s, "tcpudp"))
		*protos = HP_PROTO_MASK_TCP | HP_PROTO_MASK_UDP;
	else
		return -EINVAL;
	return 0;
}

const char *proto_name(__u8 proto)
{
	return proto == HP_PROTO_TCP ? "tcp" : proto == HP_PROTO_UDP ? "udp" : "?";
}

int parse_ipv4(const char *s, __be32 *addr)
{
	struct in_addr a;

	/* inet_pton takes only the dotted quad, no "1.2" shorthands. */
	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*addr = a.s_addr;
	return 0;
}

/*
 * A number from @s to @end, decimal or 0x hex, at most @max. Never octal: a
 * leading 0 is decimal, "010" is ten, as nft reads it.
 */
static int parse_num(const char *s, const char *end, unsigned long long max, unsigned long long *v)
{
	unsigned long long x = 0;
	unsigned int base = 10, d;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (s >= end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f'))
			d = (*s | 0x20) - 'a' + 10;
		else
			return -EINVAL;
		x = x * base + d;
		if (x > max)
			return -EINVAL;
	}
	*v = x;
	return 0;
}

static int parse_port(const char *s, const char *end, __u16 *port)
{
	unsigned long long v;

	if (parse_num(s, end, 65535, &v) || v < 1)
		return -EINVAL;
	*port = v;
	return 0;
}

/* Whole seconds, 1 to HP_TIMEOUT_MAX. */
int parse_seconds(const char *s, __u32 *secs)
{
	unsigned long long v;

	if (parse_num(s, s + strlen(s), HP_TIMEOUT_MAX, &v) || v < 1)
		return -EINVAL;
	*secs = v;
	return 0;
}

/* A table size, HP_SIZE_MIN to HP_SIZE_MAX entries. */
int parse_entries(const char *s, __u32 *n)
{
	unsigned long long v;

	if (parse_num(s, s + strlen(s), HP_SIZE_MAX, &v) || v < HP_SIZE_MIN)
		return -EINVAL;
	*n = v;
	return 0;
}

static int parse_u32(const char *s, const char *end, __u32 *v)
{
	unsigned long long x;

	if (parse_num(s, end, 0xffffffffULL, &x))
		return -EINVAL;
	*v = x;
	return 0;
}

/* VALUE[/MASK], decimal or 0x hex; MASK defaults to VALUE's bits. */
int parse_mark(const char *s, __u32 *mark, __u32 *mask)
{
	const char *slash = strchr(s, '/'), *end = s + strlen(s);

	if (parse_u32(s, slash ? slash : end, mark) || (slash && parse_u32(slash + 1, end, mask)))
		return -EINVAL;
	if (!slash)
		*mask = *mark;
	return !*mark || (*mark & ~*mask) ? -EINVAL : 0;
}

int parse_port_range(const char *s, __u16 *lo, __u16 *hi)
{
	const char *dash = strchr(s, '-');
	const char *end = s + strlen(s);

	if (!dash)
		return parse_port(s, end, lo) ?: parse_port(s, end, hi);
	if (parse_port(s, dash, lo) || parse_port(dash + 1, end, hi) || *hi < *lo)
		return -EINVAL;
	return 0;
}

/*
 * Why @addr cannot be either side of a port forward, or NULL if it can: it
 * must be unicast, as netfilter's DNAT and the router's routes need.
 */
const char *addr_not_unicast(__be32 addr)
{
	__u32 h = ntohl(addr);

	if (h >> 24 == 0)
		return "an unspecified address (0.0.0.0/8)";
	if (h >> 24 == 127)
		return "a loopback address (127.0.0.0/8)";
	if (h == 0xffffffff)
		return "the broadcast address";
	if (h >> 28 == 0xe)
		return "a multicast address (224.0.0.0/4)";
	if (h >> 28 == 0xf)
		return "a reserved address (240.0.0.0/4)";
	return NULL;
}

/* "ADDR:PORT[-PORT]" with ADDR an IPv4 address, or "wan" when @wan is set. */
static int parse_endpoint(const char *s, bool wan_ok, bool *is_wan, __be32 *addr, __u16 *lo,
			  __u16 *hi, char *why, size_t len)
{
	const char *colon = strrchr(s, ':'), *bad;
	char host[64];

	if (!colon || (size_t)(colon - s) >= sizeof(host)) {
		snprintf(why, len, "'%s' is not ADDRESS:PORT[-PORT]", s);
		return -EINVAL;
	}
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	if (is_wan)
		*is_wan = false;
	if (wan_ok && !strcmp(host, "wan")) {
		*is_wan = true;
		*addr = 0;
	} else if (parse_ipv4(host, addr)) {
		snprintf(why, len, "'%s' is not an IPv4 address%s", host,
			 wan_ok ? " or 'wan'" : "");
		return -EINVAL;
	} else if ((bad = addr_not_unicast(*addr))) {
		snprintf(why, len, "'%s' is %s, not a unicast address a port forward can use", host,
			 bad);
		return -EINVAL;
	}
	if (parse_port_range(colon + 1, lo, hi)) {
		snprintf(why, len, "'%s' is not a port or port range (1-65535)", colon + 1);
		return -EINVAL;
	}
	return 0;
}

int parse_public(const char *s, struct hp_mapping *m, char *why, size_t len)
{
	return parse_endpoint(s, true, &m->pub_wan, &m->pub_addr, &m->pub_lo, &m->pub_hi, why, len);
}

static const char *const snat_modes[] = {
	[HP_SNAT_INTERNAL] = "internal",
	[HP_SNAT_EXTERNAL] = "external",
	[HP_SNAT_OFF] = "off",
};
static const char *const snat_scopes[] = {
	[HP_SCOPE_ALL] = "all",
	[HP_SCOPE_SUBNET] = "same-subnet",
};

const char *snat_mode_name(__u8 mode)
{
	return mode < sizeof(snat_modes) / sizeof(snat_modes[0]) ? snat_modes[mode] : "?";
}

const char *snat_scope_name(__u8 scope)
{
	return scope < sizeof(snat_scopes) / sizeof(snat_scopes[0]) ? snat_scopes[scope] : "?";
}

char *fmt_snat(char *buf, size_t len, __u8 mode, __u8 scope)
{
	snprintf(buf, len, "snat %s%s%s", snat_mode_name(mode), scope ? " " : "",
		 scope ? snat_scope_name(scope) : "");
	return buf;
}

const char *fastpath_name(const struct hp_config *cfg)
{
	return (cfg->flags & HP_CFG_NO_FASTPATH) ? "off" : "on";
}

static const char *const xdp_modes[] = {
	[HP_XDP_OFF] = "off",
	[HP_XDP_NATIVE] = "native",
	[HP_XDP_SKB] = "skb",
};

int parse_xdp_mode(const char *s, __u8 *mode)
{
	__u8 i;

	for (i = 0; i < sizeof(xdp_modes) / sizeof(xdp_modes[0]); i++) {
		if (!strcmp(s, xdp_modes[i])) {
			*mode = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *xdp_mode_name(__u8 mode)
{
	return mode < sizeof(xdp_modes) / sizeof(xdp_modes[0]) ? xdp_modes[mode] : "?";
}

int parse_snat(int argc, char **argv, __u8 *mode, __u8 *scope, char *why, size_t len)
{
	__u8 i;

	*scope = HP_SCOPE_ALL;
	for (i = 0; argc >= 1 && argc <= 2 && i < sizeof(snat_modes) / sizeof(snat_modes[0]); i++) {
		if (strcmp(argv[0], snat_modes[i]))
			continue;
		*mode = i;
		if (argc == 1 || !strcmp(argv[1], "all"))
			return 0;
		if (!strcmp(argv[1], "same-subnet")) {
			*scope = HP_SCOPE_SUBNET;
			return 0;
		}
		break;
	}
	snprintf(why, len, "expected 'snat internal|external|off [all|same-subnet]'");
	return -EINVAL;
}

/* The words a mapping may end with, each at most once. */
static int parse_mapping_options(int argc, char **argv, struct hp_mapping *m, char *why, size_t len)
{
	bool *flag;
	int i, n;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "snat") && !m->snat_own) {
			/* MODE, and SCOPE if the next word is one */
			n = argc - i - 1 < 2 ? argc - i - 1 : 2;
			if (n == 2 && strcmp(argv[i + 2], "all") &&
			    strcmp(argv[i + 2], "same-subnet"))
				n = 1;
			if (parse_snat(n, argv + i + 1, &m->snat_mode, &m->snat_scope, why, len))
				return -EINVAL;
			m->snat_own = true;
			i += n;
			continue;
		}
		flag = !strcmp(argv[i], "any-address")	   ? &m->any_addr
		       : !strcmp(argv[i], "hide-listener") ? &m->hide_listener
							   : NULL;
		if (flag && !*flag) {
			*flag = true;
			continue;
		}
		if (flag || !strcmp(argv[i], "snat"))
			snprintf(why, len, "'%s' given twice", argv[i]);
		else
			snprintf(why, len,
				 "unexpected '%s' after the private address (snat MODE [SCOPE], "
				 "any-address, hide-listener)",
				 argv[i]);
		return -EINVAL;
	}
	return 0;
}

/* PROTO PUBLIC PRIVATE [snat MODE [SCOPE]] [any-address] [hide-listener] */
int parse_mapping(int argc, char **argv, struct hp_mapping *m, char *why, size_t len)
{
	memset(m, 0, sizeof(*m));
	if (argc < 3) {
		snprintf(why, len,
			 "expected PROTO PUBLIC:PORT[-PORT] PRIVATE:PORT[-PORT] [snat MODE "
			 "[SCOPE]] [any-address] [hide-listener]");
		return -EINVAL;
	}
	if (parse_proto(argv[0], &m->protos)) {
		snprintf(why, len, "unknown protocol '%s' (tcp, udp or tcpudp)", argv[0]);
		return -EINVAL;
	}
	if (parse_public(argv[1], m, why, len) ||
	    parse_endpoint(argv[2], false, NULL, &m->priv_addr, &m->priv_lo, &m->priv_hi, why,
			   len) ||
	    parse_mapping_options(argc - 3, argv + 3, m, why, len))
		return -EINVAL;
	if (m->pub_hi - m->pub_lo != m->priv_hi - m->priv_lo) {
		snprintf(why, len, "port ranges %u-%u and %u-%u differ in length", m->pub_lo,
			 m->pub_hi, m->priv_lo, m->priv_hi);
		return -EINVAL;
	}
	return 0;
}

char *fmt_public(char *buf, size_t len, const struct hp_mapping *m)
{
	if (!m->pub_wan)
		return fmt_endpoint(buf, len, m->pub_addr, m->pub_lo, m->pub_hi);
	if (m->pub_lo == m->pub_hi)
		snprintf(buf, len, "wan:%u", m->pub_lo);
	else
		snprintf(buf, len, "wan:%u-%u", m->pub_lo, m->pub_hi);
	return buf;
}

char *fmt_private(char *buf, size_t len, const struct hp_mapping *m)
{
	return fmt_endpoint(buf, len, m->priv_addr, m->priv_lo, m->priv_hi);
}

const char *mapping_proto_name(const struct hp_mapping *m)
{
	if (m->protos == (HP_PROTO_MASK_TCP | HP_PROTO_MASK_UDP))
		return "tcpudp";
	return m->protos == HP_PROTO_MASK_TCP ? "tcp" : "udp";
}

char *fmt_endpoint(char *buf, size_t len, __be32 addr, __u16 lo, __u16 hi)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &addr, a, sizeof(a));
	if (lo == hi)
		snprintf(buf, len, "%s:%u", a, lo);
	else
		snprintf(buf, len, "%s:%u-%u", a, lo, hi);
	return buf;
}
