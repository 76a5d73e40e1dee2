/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Test packets: build Ethernet/IPv4/TCP|UDP frames and read them back. */
#ifndef HP_TEST_PKT_H
#define HP_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PKT_MAX 1600

struct pkt {
	unsigned char data[PKT_MAX];
	size_t len;
};

/* What a frame carries; addresses and ports in host order. */
struct flow {
	__u32 saddr, daddr;
	__u16 sport, dport;
	__u8 proto;
	__u8 tcp_flags; /* TCP only */
	__u32 tcp_ack; /* TCP only: the acknowledgement number (every sequence number is PKT_SEQ) */
	int ip_opt_len; /* bytes of IPv4 options, a multiple of 4 up to 40 */
	int payload_len;
	bool udp_no_csum; /* UDP sent with a zero (absent) checksum */
};

#define PKT_SEQ 1000
/* The MACs pkt_build() writes: the test interface's own as the destination. */
#define PKT_DST_MAC "\x02\x00\x00\x00\x00\x01"
#define PKT_SRC_MAC "\x02\x00\x00\x00\x00\x02"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

void pkt_build(struct pkt *p, const struct flow *f);
/* Parse @p back into @f; false if it is not a well-formed IPv4 TCP/UDP frame. */
bool pkt_parse(const struct pkt *p, struct flow *f);
/* The IPv4 header checksum and the TCP/UDP checksum, each recomputed from scratch. */
bool pkt_ip_csum_ok(const struct pkt *p);
bool pkt_l4_csum_ok(const struct pkt *p);
__u16 pkt_udp_csum_field(const struct pkt *p);

/*
 * Checksums of any frame, however odd: each is "checkable" only where the
 * headers say where it is and the frame holds all it covers. The fuzzer
 * asserts that a rewrite keeps every valid one valid.
 */
struct pkt_csums {
	bool ip_checkable, ip_ok;
	bool l4_checkable, l4_ok; /* TCP, UDP (unless absent) or ICMP; not for fragments */
};
void pkt_csums(const struct pkt *p, struct pkt_csums *c);
/* Recompute from scratch every checksum pkt_csums() can check. */
void pkt_fix_csums(struct pkt *p);

/*
 * Split @whole (no IP options) after @split bytes of its IP payload, a
 * multiple of 8, into a first and a later fragment; and join two such
 * fragments back into one datagram. IP checksums are computed afresh.
 */
void pkt_fragment(const struct pkt *whole, size_t split, struct pkt *first, struct pkt *later);
void pkt_reassemble(const struct pkt *first, const struct pkt *later, struct pkt *whole);

/*
 * An ICMP error from @saddr to @daddr (host order) quoting the first
 * @quote_len bytes of @quoted's IP packet (0: all of it).
 */
void pkt_build_icmp(struct pkt *p, __u32 saddr, __u32 daddr, __u8 type, __u8 code,
		    const struct pkt *quoted, size_t quote_len);
/* The ICMP checksum, recomputed from scratch. */
bool pkt_icmp_csum_ok(const struct pkt *p);
/* The quoted packet of an ICMP error as a frame of its own, to check with the above. */
void pkt_icmp_quote(const struct pkt *p, struct pkt *quote);

/*
 * The TCP/UDP checksum field as a sender that leaves the checksum to the
 * device writes it (CHECKSUM_PARTIAL): the pseudo header's sum alone.
 */
void pkt_partial_csum(struct pkt *p);

#endif
