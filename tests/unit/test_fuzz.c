// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Both programs on random and mutated packets: valid seeds (every IP header
 * length, fragments, ICMP errors, replies) cut at every byte, then mutated
 * at random, half of them with checksums made valid again so that odd but
 * well-formed packets reach the translations. Whatever comes in:
 *
 *   - the verdict is TC_ACT_UNSPEC or TC_ACT_SHOT and the length is unchanged;
 *   - nothing before the IP addresses is ever touched (Ethernet, version,
 *     lengths, id, fragment bits, TTL, protocol);
 *   - every checksum valid on the way in is valid on the way out,
 *     recomputed from scratch.
 *
 * As a packet test it runs again with the XDP program in front of ingress,
 * which must pass each of these frames byte for byte.
 *
 * HP_FUZZ_CASES (default 100000) and HP_FUZZ_SEED (default 1) set the run;
 * `make fuzz` runs it long. A failing input is saved for replay.
 */
#include <stdlib.h>
#include <linux/icmp.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "test_progs.h"

#define IP_OFF ETH_HLEN
#define MIN_FRAME (ETH_HLEN + 20) /* BPF_PROG_TEST_RUN refuses shorter IPv4 frames */

static __u64 rng_state;

static __u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static __u64 env_u64(const char *name, __u64 def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

#define MAX_SEEDS 512
static struct pkt seeds[MAX_SEEDS];
static int n_seeds;

static void add_seed(const struct pkt *p)
{
	if (n_seeds < MAX_SEEDS)
		seeds[n_seeds++] = *p;
}

/* Packets of every kind the programs translate, in both directions. */
static void build_seeds(void)
{
	static const __u32 srcs[] = { A_WAN, A_CLIENT, A_SERVER };
	static const __u8 flags[] = { TH_SYN, TH_ACK, TH_FIN | TH_ACK, TH_RST };
	struct pkt p, first, later, err;
	int opt, s, pl, pr;

	for (pr = 0; pr < 2; pr++)
		for (opt = 0; opt <= 40; opt += 4)
			for (s = 0; s < 3; s++)
				for (pl = 0; pl < 3; pl++) {
					struct flow f = {
						.saddr = srcs[s],
						.sport = srcs[s] == A_SERVER ? 80 : 40000 + pl,
						.daddr = srcs[s] == A_SERVER ? A_ROUTER : A_PUBLIC,
						.dport = srcs[s] == A_SERVER ? 61000 : 8080,
						.proto = pr ? IPPROTO_UDP : IPPROTO_TCP,
						.tcp_flags = flags[(opt / 4 + pl) % 4],
						.ip_opt_len = opt,
						.payload_len = pl * 57,
						.udp_no_csum = pr && pl == 2,
					};

					pkt_build(&p, &f);
					add_seed(&p);
					if (opt)
						continue;
					if (pl) {
						pkt_fragment(&p, 8, &first, &later);
						add_seed(&first);
						add_seed(&later);
					}
					pkt_build_icmp(&err, A_OTHER, f.saddr, ICMP_DEST_UNREACH,
						       ICMP_FRAG_NEEDED, &p, pl ? 0 : 28);
					add_seed(&err);
				}
}

static void mutate(struct pkt *p)
{
	size_t ihl_off = IP_OFF, l4 = IP_OFF + (p->data[IP_OFF] & 0x0f) * 4;
	int i, n = 1 + rnd() % 4;

	for (i = 0; i < n; i++) {
		switch (rnd() % 9) {
		case 0: /* a bit anywhere */
			p->data[rnd() % p->len] ^= 1 << (rnd() % 8);
			break;
		case 1: /* a byte in the headers */
			p->data[IP_OFF + rnd() % 60 % (p->len - IP_OFF)] = rnd();
			break;
		case 2: /* cut short */
			p->len = MIN_FRAME + rnd() % (p->len - MIN_FRAME + 1);
			break;
		case 3: /* IHL */
			p->data[ihl_off] = (p->data[ihl_off] & 0xf0) | (rnd() % 16);
			break;
		case 4: /* total length */
			p->data[IP_OFF + 2] = rnd() % 8;
			p->data[IP_OFF + 3] = rnd();
			break;
		case 5: /* fragment bits and offset */
			p->data[IP_OFF + 6] = rnd() & 0xbf;
			p->data[IP_OFF + 7] = rnd() % 4 ? 0 : rnd();
			break;
		case 6: /* protocol */
			p->data[IP_OFF + 9] = (const __u8[]){ 1, 6, 17, 47 }[rnd() % 4];
			break;
		case 7: /* TCP data offset, UDP length, ICMP type */
			if (l4 + 13 < p->len)
				p->data[l4 + (rnd() % 2 ? 12 : 4)] = rnd();
			else if (l4 < p->len)
				p->data[l4] = rnd();
			break;
		case 8: /* grow with junk */
			while (p->len < PKT_MAX - 1 && rnd() % 8)
				p->data[p->len++] = rnd();
			break;
		}
	}
}

/* One program run, checked; false (with the reason printed) on a violation. */
static bool check_run(int ingress, const struct pkt *in, struct pkt *out)
{
	struct pkt_csums a, b;
	int ret = ingress ? run_ingress(in, out) : run_egress(in, out);
	size_t i;

	if (!ASSERT_TRUE(ret == TC_ACT_UNSPEC || ret == TC_ACT_SHOT, "verdict UNSPEC or SHOT") ||
	    !ASSERT_EQ(out->len, in->len, "length unchanged"))
		return false;
	if (!memcmp(in->data, out->data, in->len))
		return true;
	for (i = 0; i < IP_OFF + 10; i++)
		if (!ASSERT_EQ(out->data[i], in->data[i], "byte before the IP checksum"))
			return false;
	pkt_csums(in, &a);
	pkt_csums(out, &b);
	return ASSERT_TRUE(!a.ip_ok || b.ip_ok, "IPv4 checksum stays valid") &&
	       ASSERT_TRUE(!a.l4_ok || !b.l4_checkable || b.l4_ok, "L4 checksum stays valid");
}

static void save_failure(const struct pkt *p, __u64 seed, __u64 n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/hairpin-fuzz-%llu-%llu.bin", (unsigned long long)seed,
		 (unsigned long long)n);
	f = fopen(path, "w");
	if (f) {
		fwrite(p->data, 1, p->len, f);
		fclose(f);
	}
	fprintf(stderr, "    fuzz: case %llu of seed %llu failed; frame saved to %s\n",
		(unsigned long long)n, (unsigned long long)seed, path);
}

/* The last frame the programs rewrote, as they left it: replies and errors answer it. */
static struct pkt last_out;
static bool have_last;

/* One frame through ingress, egress, and ingress then egress, as routed. */
static bool check_frame(const struct pkt *in)
{
	struct pkt mid, out;

	if (!check_run(1, in, &mid) || !check_run(0, &mid, &out))
		return false;
	if (memcmp(in->data, out.data, in->len) && (out.data[IP_OFF + 9] != IPPROTO_ICMP)) {
		last_out = out;
		have_last = true;
	}
	return check_run(0, in, &out);
}

/* A reply to, or an ICMP error about, the last rewritten frame: reaches un-SNAT, un-DNAT. */
static bool answer_last(struct pkt *p)
{
	struct flow f, r;

	if (!have_last || !pkt_parse(&last_out, &f) ||
	    (f.proto != IPPROTO_TCP && f.proto != IPPROTO_UDP))
		return false;
	if (rnd() % 3 == 0) {
		pkt_build_icmp(p, A_OTHER, f.saddr, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, &last_out,
			       rnd() % 2 ? 28 : 0);
		return true;
	}
	r = (struct flow){ .saddr = f.daddr,
			   .sport = f.dport,
			   .daddr = f.saddr,
			   .dport = f.sport,
			   .proto = f.proto,
			   .tcp_flags = TH_ACK | (rnd() % 4 ? 0 : TH_FIN),
			   .ip_opt_len = rnd() % 3 ? 0 : 4 * (rnd() % 11),
			   .payload_len = rnd() % 200 };
	pkt_build(p, &r);
	return true;
}

static void reset_fuzz_tables(__u64 n)
{
	reset_tables(n % 2 ? HP_ROLE_LAN : HP_ROLE_WAN);
	add_mapping(IPPROTO_TCP, A_PUBLIC, 8080, A_SERVER, 80);
	add_mapping(IPPROTO_UDP, A_PUBLIC, 8080, A_SERVER, 80);
}

void test_fuzz_programs(void)
{
	__u64 seed = env_u64("HP_FUZZ_SEED", 1), cases = env_u64("HP_FUZZ_CASES", 100000), n;
	struct hp_stats st;
	struct pkt p;
	int s;
	size_t len;

	rng_state = seed * 0x9e3779b97f4a7c15ULL | 1;
	n_seeds = 0;
	have_last = false;
	build_seeds();
	reset_fuzz_tables(0);

	/* Every seed cut at every byte. */
	for (s = 0; s < n_seeds; s++) {
		for (len = MIN_FRAME; len <= seeds[s].len; len++) {
			p = seeds[s];
			p.len = len;
			if (!check_frame(&p)) {
				save_failure(&p, seed, 0);
				return;
			}
		}
	}
	for (n = 1; n <= cases; n++) {
		if (n % 1000 == 0 && n < cases)
			reset_fuzz_tables(n / 1000);
		if (rnd() % 4 || !answer_last(&p))
			p = seeds[rnd() % n_seeds];
		if (rnd() % 4)
			mutate(&p);
		if (rnd() % 2)
			pkt_fix_csums(&p);
		if (!check_frame(&p)) {
			save_failure(&p, seed, n);
			return;
		}
	}
	st = read_stats(); /* since the last reset: a glimpse of what the cases reached */
	printf("    fuzz: %d seeds cut at every byte, %llu mutated cases, seed %llu; last batch: "
	       "dnat %llu snat %llu unsnat %llu undnat %llu icmp %llu frag %llu malformed %llu\n",
	       n_seeds, (unsigned long long)cases, (unsigned long long)seed,
	       (unsigned long long)st.dnat, (unsigned long long)st.snat,
	       (unsigned long long)st.unsnat, (unsigned long long)st.undnat,
	       (unsigned long long)st.icmp_errors, (unsigned long long)st.fragments,
	       (unsigned long long)st.malformed);
}
