// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The unit test runner: loads the BPF object (unpinned) in a network namespace
 * of its own and runs every test_*() listed in tests.h against fresh tables.
 * Prints PASS/FAIL per test and exits non-zero on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_ether.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hp.h"
#include "test_progs.h"

struct hairpin *skel;
struct hairpin_xdp *xdp_skel;
static struct hairpin *helpers_skel;
bool test_failed;
bool xdp_mode;

#define DEFINE_TEST(name) void test_##name(void);
#define DEFINE_PKT_TEST(name) DEFINE_TEST(name)
#include "tests.h"
#undef DEFINE_TEST
#undef DEFINE_PKT_TEST

static const struct {
	const char *name;
	void (*fn)(void);
	bool pkt; /* runs again with the XDP program in front of ingress */
} tests[] = {
#define DEFINE_TEST(name) { #name, test_##name, false },
#define DEFINE_PKT_TEST(name) { #name, test_##name, true },
#include "tests.h"
#undef DEFINE_TEST
#undef DEFINE_PKT_TEST
};

static void clear_map(struct bpf_map *map)
{
	int fd = bpf_map__fd(map);
	char key[64];

	while (!bpf_map_get_next_key(fd, NULL, key))
		bpf_map_delete_elem(fd, key);
}

/* An array's entries cannot be deleted: every slot is zeroed instead. */
static void clear_array(struct bpf_map *map)
{
	int ncpu = libbpf_num_possible_cpus();
	void *zero = calloc(ncpu > 0 ? ncpu : 1, bpf_map__value_size(map));
	__u32 i;

	for (i = 0; zero && i < bpf_map__max_entries(map); i++)
		bpf_map_update_elem(bpf_map__fd(map), &i, zero, BPF_ANY);
	free(zero);
}

static void clear_queue(struct bpf_map *map)
{
	struct hp_conn_slot s;

	while (!bpf_map_lookup_and_delete_elem(bpf_map__fd(map), NULL, &s))
		;
}

/*
 * Move a time of every conns entry @ns back (@last: the last packet's, else
 * the creation's). The keys are read first: an updated entry moves to the
 * head of its bucket, where a walk that updates as it goes could meet it
 * again, and again.
 */
static void conns_shift(__u64 ns, bool last)
{
	int fd = bpf_map__fd(skel->maps.hp_conns);
	__u32 n = 0, i, max = bpf_map__max_entries(skel->maps.hp_conns);
	struct hp_conn_key *keys = calloc(max, sizeof(*keys)), *prev = NULL;
	struct hp_conn c;

	if (!ASSERT_TRUE(keys != NULL, "conns_shift keys"))
		return;
	while (n < max && !bpf_map_get_next_key(fd, prev, &keys[n])) {
		prev = &keys[n];
		n++;
	}
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], &c))
			continue;
		if (last) {
			/* The quarter second of the fast path's last check is a time too. */
			__u8 epoch = (c.fast >> HP_FAST_EPOCH_SHIFT) - (ns >> HP_FAST_RECHECK_SHIFT);

			c.last_ns -= ns;
			c.fast = (c.fast & ~HP_FAST_EPOCH_MASK) |
				 ((epoch << HP_FAST_EPOCH_SHIFT) & HP_FAST_EPOCH_MASK);
		} else
			c.created_ns -= ns;
		bpf_map_update_elem(fd, &keys[i], &c, BPF_EXIST);
	}
	free(keys);
}

/* Queue slots name the creation time: theirs no longer match, as for entries written anew. */
void conns_age(__u64 ns)
{
	conns_shift(ns, false);
}

void conns_idle(__u64 ns)
{
	conns_shift(ns, true);
}

void reset_tables(enum hp_role role)
{
	struct hp_config cfg = HP_CONFIG_DEFAULT;
	struct hp_iface ifc = { .snat_addr = htonl(A_ROUTER), .role = role };
	__u32 zero = 0, ifindex = TEST_IFINDEX;
	struct hp_stats *none;
	int ncpu = libbpf_num_possible_cpus();

	clear_map(skel->maps.hp_mappings);
	clear_map(skel->maps.hp_conns);
	clear_queue(skel->maps.hp_conn_queue);
	clear_queue(skel->maps.hp_conn_assured);
	clear_map(skel->maps.hp_frags);
	clear_array(skel->maps.hp_map_counters);
	clear_array(skel->maps.hp_hops);
	clear_map(skel->maps.hp_ifaces);
	clear_map(skel->maps.hp_xdp_tx);
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_config), &zero, &cfg, BPF_ANY);
	set_iface(ifindex, &ifc, (const __u8 *)PKT_DST_MAC);
	none = calloc(ncpu, sizeof(*none));
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_stats), &zero, none, BPF_ANY);
	free(none);
}

void set_iface(__u32 ifindex, struct hp_iface *ifc, const __u8 *mac)
{
	memcpy(ifc->mac, mac, ETH_ALEN);
	ifc->flags |= HP_IFACE_XDP_TX;
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_xdp_tx), &ifindex, &ifindex, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(skel->maps.hp_ifaces), &ifindex, ifc, BPF_ANY);
}

void add_mapping(__u8 proto, __u32 pub, __u16 pub_port, __u32 priv, __u16 priv_port)
{
	struct hp_map_key k = { .addr = htonl(pub), .port = htons(pub_port), .proto = proto };
	struct hp_map_val v = {
		.addr = htonl(priv),
		.port = htons(priv_port),
		.range_first = pub_port,
		.range_len = 1,
	};

	mapping_write_entry(bpf_map__fd(skel->maps.hp_mappings),
			    bpf_map__fd(skel->maps.hp_map_counters), &k, &v);
}

struct hp_stats read_stats(void)
{
	struct hp_stats sum = {};

	stats_sum(bpf_map__fd(skel->maps.hp_stats), &sum);
	return sum;
}

struct __sk_buff run_ctx = { .ifindex = TEST_IFINDEX };
struct __sk_buff run_ctx_out;

int run_prog(int prog_fd, const struct pkt *in, struct pkt *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data), .ctx_in = &run_ctx,
		    .ctx_size_in = sizeof(run_ctx), .ctx_out = &run_ctx_out,
		    .ctx_size_out = sizeof(run_ctx_out), .repeat = 1);
	int err;

	memset(out, 0, sizeof(*out));
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err) {
		fprintf(stderr, "    bpf_prog_test_run_opts: %s\n", strerror(-err));
		return RUN_FAILED;
	}
	out->len = opts.data_size_out;
	return opts.retval;
}

/*
 * The XDP program on @in, as the device would run it before TC ingress.
 * Returns its verdict, or RUN_FAILED.
 */
static int run_xdp(const struct pkt *in, struct pkt *out)
{
	struct xdp_md ctx = { .data_end = in->len, .ingress_ifindex = run_ctx.ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(xdp_skel->progs.hp_xdp), &opts);
	if (err) {
		fprintf(stderr, "    bpf_prog_test_run_opts (xdp): %s\n", strerror(-err));
		return RUN_FAILED;
	}
	out->len = opts.data_size_out;
	return opts.retval;
}

/*
 * In XDP mode the XDP program sees the packet first: what it passes must be
 * byte for byte what came in, and then goes to TC ingress; what it
 * redirects comes back as TC's redirect verdict would, so that every test
 * holds the XDP path to the same expectations.
 */
int run_ingress(const struct pkt *in, struct pkt *out)
{
	int ret;

	if (xdp_mode) {
		ret = run_xdp(in, out);
		if (ret == XDP_REDIRECT)
			return TC_ACT_REDIRECT;
		if (!ASSERT_EQ(ret, XDP_PASS, "XDP verdict") || !expect_unchanged(in, out))
			return RUN_FAILED;
	}
	return run_prog(bpf_program__fd(skel->progs.hp_ingress), in, out);
}

__u64 fast_count(const struct hp_stats *st)
{
	return xdp_mode ? st->xdp_fastpath : st->fastpath;
}

int run_egress(const struct pkt *in, struct pkt *out)
{
	return run_prog(bpf_program__fd(skel->progs.hp_egress), in, out);
}

/* Bytes a NAT rewrite may change: IP checksum and addresses, ports, L4 checksum. */
static bool may_change(const struct pkt *p, size_t off)
{
	size_t ip = ETH_HLEN, l4 = ip + (p->data[ip] & 0x0f) * 4;
	size_t l4_csum = l4 + (p->data[ip + 9] == IPPROTO_TCP ? 16 : 6);

	return (off >= ip + 10 && off < ip + 20) || (off >= l4 && off < l4 + 4) || off == l4_csum ||
	       off == l4_csum + 1;
}

bool expect_rewrite(const struct pkt *in, const struct pkt *out, __u32 saddr, __u16 sport,
		    __u32 daddr, __u16 dport)
{
	struct flow f;
	size_t i;

	if (!ASSERT_EQ(out->len, in->len, "length") ||
	    !ASSERT_TRUE(pkt_parse(out, &f), "parse output"))
		return false;
	for (i = 0; i < in->len; i++)
		if (!may_change(in, i) && !ASSERT_EQ(out->data[i], in->data[i], "untouched byte"))
			return false;
	return ASSERT_EQ(f.saddr, saddr, "saddr") && ASSERT_EQ(f.sport, sport, "sport") &&
	       ASSERT_EQ(f.daddr, daddr, "daddr") && ASSERT_EQ(f.dport, dport, "dport") &&
	       ASSERT_TRUE(pkt_ip_csum_ok(out), "IPv4 header checksum") &&
	       (f.proto == IPPROTO_UDP && pkt_udp_csum_field(in) == 0
			? ASSERT_EQ(pkt_udp_csum_field(out), 0, "absent UDP checksum")
			: ASSERT_TRUE(pkt_l4_csum_ok(out), "L4 checksum"));
}

bool expect_unchanged(const struct pkt *in, const struct pkt *out)
{
	return ASSERT_EQ(out->len, in->len, "length") &&
	       ASSERT_TRUE(!memcmp(out->data, in->data, in->len), "bytes unchanged");
}

int stderr_capture(void)
{
	FILE *f = tmpfile();
	int saved;

	if (!f)
		return -1;
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(f), 2);
	fclose(f); /* fd 2 keeps the file open */
	return saved;
}

void stderr_restore(int saved, char *buf, size_t len)
{
	ssize_t n;

	fflush(stderr);
	n = pread(2, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
}

/* The tables of @obj, its own constants aside, made @tc's before it is loaded. */
static int share_tables(struct bpf_object *obj, struct hairpin *tc)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		struct bpf_map *same = bpf_object__find_map_by_name(tc->obj, bpf_map__name(map));

		if (!bpf_map__is_internal(map) && same && bpf_map__reuse_fd(map, bpf_map__fd(same)))
			return -1;
	}
	return 0;
}

/* The XDP object on @tc's tables, as attach loads it on the pinned ones. */
static struct hairpin_xdp *xdp_load(struct hairpin *tc)
{
	struct hairpin_xdp *x = hairpin_xdp__open();

	if (!x) {
		fprintf(stderr, "cannot open the XDP object: %s\n", strerror(errno));
		return NULL;
	}
	if (share_tables(x->obj, tc) || hp_load_skeleton(x->skeleton)) {
		hairpin_xdp__destroy(x);
		return NULL;
	}
	return x;
}

/*
 * A second TC object on @tc's tables that does not know where the skb's
 * checksum state is, as on a kernel without BTF: every checksum edit goes
 * through the kernel's helpers.
 */
static struct hairpin *helpers_load(struct hairpin *tc)
{
	struct hairpin *h = hairpin__open();

	if (!h) {
		fprintf(stderr, "cannot open the BPF object: %s\n", strerror(errno));
		return NULL;
	}
	if (share_tables(h->obj, tc) || hp_load_skeleton(h->skeleton)) {
		hairpin__destroy(h);
		return NULL;
	}
	return h;
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0;
	size_t i;

	/* A network namespace of our own: its lo is the test interface. */
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (run as root)\n", strerror(errno));
		return 1;
	}
	hp_libbpf_setup();
	skel = hairpin__open();
	if (!skel) {
		fprintf(stderr, "cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	/* The tables as attach sizes them by default. */
	skb_csum_state_set(skel);
	if (sizes_set(skel, &(struct hp_sizes)HP_SIZES_DEFAULT) ||
	    hp_load_skeleton(skel->skeleton)) {
		hairpin__destroy(skel);
		return 1;
	}
	xdp_skel = xdp_load(skel);
	if (!xdp_skel) {
		hairpin__destroy(skel);
		return 1;
	}
	/*
	 * The packet tests run three times: through the TC programs, which edit
	 * the checksums of CHECKSUM_NONE skbs (all a test run makes) by hand;
	 * with the XDP program in front; and through TC programs that leave
	 * every checksum to the kernel's helpers (when the first are not those).
	 */
	if (skel->rodata->hp_ip_summed_byte) {
		helpers_skel = helpers_load(skel);
		if (!helpers_skel) {
			hairpin_xdp__destroy(xdp_skel);
			hairpin__destroy(skel);
			return 1;
		}
	}
	for (int pass = 0; pass < 3; pass++) {
		static const char *const prefix[] = { "", "xdp/", "helpers/" };
		struct hairpin *tc = skel;

		if (pass == 2 && !helpers_skel)
			break;
		xdp_mode = pass == 1;
		if (pass == 2)
			skel = helpers_skel;
		for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
			char name[128];

			snprintf(name, sizeof(name), "%s%s", prefix[pass], tests[i].name);
			if ((pass && !tests[i].pkt) || (only && !strstr(name, only)))
				continue;
			test_failed = false;
			tests[i].fn();
			printf("%s  unit/%s\n", test_failed ? "FAIL" : "PASS", name);
			fflush(stdout);
			if (test_failed)
				failed++;
			else
				passed++;
		}
		skel = tc;
	}
	hairpin_xdp__destroy(xdp_skel);
	hairpin__destroy(helpers_skel);
	hairpin__destroy(skel);
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
