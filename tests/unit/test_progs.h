/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Unit tests of the BPF programs: packets built here go through
 * bpf_prog_test_run_opts(), and what comes out is checked field by field,
 * with checksums recomputed from scratch by pkt.c.
 */
#ifndef HP_TEST_PROGS_H
#define HP_TEST_PROGS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hairpin.h"
#include "hairpin.skel.h"
#include "hairpin_xdp.skel.h"
#include "pkt.h"

extern struct hairpin *skel;
extern struct hairpin_xdp *xdp_skel;
extern bool test_failed;
/* The packet tests' second run: the XDP program in front of every ingress packet. */
extern bool xdp_mode;

/* Assertions return whether they held, so a test can stop at the first miss. */
#define ASSERT_TRUE(cond, name)                                                                    \
	({                                                                                         \
		bool ___ok = (cond);                                                               \
		if (!___ok) {                                                                      \
			test_failed = true;                                                        \
			fprintf(stderr, "    %s:%d: %s: %s is false\n", __func__, __LINE__,        \
				(name), #cond);                                                    \
		}                                                                                  \
		___ok;                                                                             \
	})

#define ASSERT_EQ(a, b, name)                                                                      \
	({                                                                                         \
		long long ___a = (long long)(a), ___b = (long long)(b);                            \
		bool ___ok = ___a == ___b;                                                         \
		if (!___ok) {                                                                      \
			test_failed = true;                                                        \
			fprintf(stderr, "    %s:%d: %s: got %lld (0x%llx), want %lld (0x%llx)\n",  \
				__func__, __LINE__, (name), ___a, (unsigned long long)___a, ___b,  \
				(unsigned long long)___b);                                         \
		}                                                                                  \
		___ok;                                                                             \
	})

#define ASSERT_OK(err, name) ASSERT_EQ((err), 0, (name))

/* The interface every test packet arrives on or leaves by (lo of the test's netns). */
#define TEST_IFINDEX 1

/* Addresses of the test network, host order. */
#define A_CLIENT 0xc000020a  /* 192.0.2.10 */
#define A_CLIENT2 0xc000020b /* 192.0.2.11 */
#define A_SERVER 0xc0000214  /* 192.0.2.20 */
#define A_ROUTER 0xc0000201  /* 192.0.2.1 */
#define A_PUBLIC 0xcb007101  /* 203.0.113.1 */
#define A_WAN 0xcb007102     /* 203.0.113.2 */
#define A_OTHER 0xc6336402   /* 198.51.100.2 */

/* Empty every table and set up this interface's role. */
void reset_tables(enum hp_role role);
/* Interface @ifindex as attach writes it, with its own @mac, and a target for XDP redirects. */
void set_iface(__u32 ifindex, struct hp_iface *ifc, const __u8 *mac);
void add_mapping(__u8 proto, __u32 pub, __u16 pub_port, __u32 priv, __u16 priv_port);
struct hp_stats read_stats(void);
/* The packets the hook under test (TC, or XDP in XDP mode) sent by its fast path. */
__u64 fast_count(const struct hp_stats *st);
/* Make every connection @ns older, as if its first packet had come that much earlier. */
void conns_age(__u64 ns);
/* Make every connection quiet for @ns longer, as if its last packet had come that much earlier. */
void conns_idle(__u64 ns);

/*
 * Run a program on @in; the result lands in @out. Returns the TC verdict or
 * RUN_FAILED, which no program returns (-1 is TC_ACT_UNSPEC, the pass
 * verdict). run_ingress: XDP's first in XDP mode, its redirect as
 * TC_ACT_REDIRECT. The skb fields go in from run_ctx (ifindex, mark) and
 * come back in run_ctx_out.
 */
#define RUN_FAILED (-1000)
extern struct __sk_buff run_ctx, run_ctx_out;
int run_prog(int prog_fd, const struct pkt *in, struct pkt *out);
int run_ingress(const struct pkt *in, struct pkt *out);
int run_egress(const struct pkt *in, struct pkt *out);

/*
 * @out is @in with only addresses, ports and checksums changed, to the given
 * tuple, and both checksums verify from scratch (an absent UDP one stays absent).
 */
bool expect_rewrite(const struct pkt *in, const struct pkt *out, __u32 saddr, __u16 sport,
		    __u32 daddr, __u16 dport);
bool expect_unchanged(const struct pkt *in, const struct pkt *out);

/* What the code under test writes to stderr: capture, then restore into @buf. */
int stderr_capture(void);
void stderr_restore(int saved, char *buf, size_t len);

#endif
