// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flows: the live translated connections, like `conntrack -L`. Each
 * connection is listed once, from its ORIG entry; entries past their timeout
 * are state the datapath will replace, not connections, and are left out.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "hp.h"

#define NSEC_PER_SEC 1000000000ULL

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of bpf_ktime_get_ns() */
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Has egress marked the entry of this direction forwarded (the fast path's condition)? */
static bool dir_fast(int fd, __be32 saddr, __be16 sport, __be32 daddr, __be16 dport, __u8 proto)
{
	struct hp_conn_key k = { .saddr = saddr,
				 .daddr = daddr,
				 .sport = sport,
				 .dport = dport,
				 .proto = proto,
				 .dir = HP_DIR_EGRESS };
	struct hp_conn e;

	return !bpf_map_lookup_elem(fd, &k, &e) && (e.flags & HP_CONN_FORWARDED);
}

/* Which directions of @c take the fast path: "both", "orig", "reply" or "none". */
static const char *fast_dirs(int fd, const struct hp_config *cfg, const struct hp_conn *c)
{
	static const char *const names[] = { "none", "orig", "reply", "both" };
	int orig, reply;

	if (cfg->flags & HP_CFG_NO_FASTPATH)
		return names[0];
	orig = dir_fast(fd, c->client_addr, c->client_port, c->server_addr, c->server_port,
			c->proto);
	reply = dir_fast(fd, c->server_addr, c->server_port, c->client_addr, c->client_port,
			 c->proto);
	return names[orig | reply << 1];
}

static void print_flow(const struct hp_conn *c, __u64 now, const char *fast)
{
	bool snat = c->snat_port != 0;
	__be32 src = snat ? c->snat_addr : c->client_addr;
	__u16 sport = ntohs(snat ? c->snat_port : c->client_port);
	char cl[32], pub[32], tsrc[32], srv[32];
	unsigned long long age = (now - c->created_ns) / NSEC_PER_SEC;
	unsigned long long idle = (now - c->last_ns) / NSEC_PER_SEC;

	fmt_endpoint(cl, sizeof(cl), c->client_addr, ntohs(c->client_port), ntohs(c->client_port));
	fmt_endpoint(pub, sizeof(pub), c->public_addr, ntohs(c->public_port),
		     ntohs(c->public_port));
	fmt_endpoint(tsrc, sizeof(tsrc), src, sport, sport);
	fmt_endpoint(srv, sizeof(srv), c->server_addr, ntohs(c->server_port),
		     ntohs(c->server_port));
	if (!env.json) {
		printf("%s %s > %s => %s > %s %s%s%s fast %s age %llus idle %llus\n",
		       proto_name(c->proto), cl, pub, tsrc, srv,
		       (c->flags & HP_CONN_HAIRPIN) ? "hairpin" : "forward",
		       (c->flags & HP_CONN_ASSURED) ? "" : " unassured",
		       (c->flags & HP_CONN_CLOSING) ? " closing" : "", fast, age, idle);
		return;
	}
	json_begin_object();
	json_str("proto", proto_name(c->proto));
	json_str("kind", (c->flags & HP_CONN_HAIRPIN) ? "hairpin" : "forward");
	json_str("orig_src", cl);
	json_str("orig_dst", pub);
	json_str("reply_dst", tsrc);
	json_str("reply_src", srv);
	json_bool("assured", c->flags & HP_CONN_ASSURED);
	json_bool("closing", c->flags & HP_CONN_CLOSING);
	json_str("fast", fast);
	json_u64("age", age);
	json_u64("idle", idle);
	json_end_object();
}

int cmd_flows(int argc, char **argv)
{
	struct hp_conn_key key, *prev = NULL;
	struct hp_config cfg = {};
	struct hp_pins p;
	struct hp_conn c;
	int err, fd;
	__u32 zero = 0;
	__u64 now;

	if (argc > 1) {
		hp_err("flows: unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	err = pins_open_set(&p, HP_PIN_BIT(HP_PIN_CONFIG) | HP_PIN_BIT(HP_PIN_CONNS), 0, false);
	if (err)
		goto out;
	fd = p.fd[HP_PIN_CONNS];
	bpf_map_lookup_elem(p.fd[HP_PIN_CONFIG], &zero, &cfg);
	now = now_ns();
	if (env.json)
		json_begin_array(NULL);
	while (!bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &c) || c.kind != HP_CONN_ORIG)
			continue;
		if (now > c.last_ns && now - c.last_ns > hp_conn_timeout(&cfg, &c) * NSEC_PER_SEC)
			continue;
		print_flow(&c, now, fast_dirs(fd, &cfg, &c));
	}
	if (env.json) {
		json_end_array();
		json_done();
	}
out:
	pins_close_set(&p);
	return err;
}
