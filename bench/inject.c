// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Inject prebuilt 60-byte UDP frames at an interface for a number of
 * seconds, as fast as one core can: AF_PACKET, PACKET_QDISC_BYPASS and
 * sendmmsg batches, so that the sender's own stack costs almost nothing and
 * the router behind the interface is what the rate measures.
 *
 *   inject [-s SOURCES] [-r REPEAT] [-o FIRST] [-t] IFNAME DST_MAC SRC_IP DST_IP DST_PORT
 *          SECONDS [FLOWS]
 * prints the number of frames sent. The frames come from FLOWS source ports
 * (default 64) of each of SOURCES source addresses (default 1, counting up
 * from SRC_IP), round robin, so that the router sees that many connections;
 * each frame is sent REPEAT times in a row (default 1), starting with the
 * FIRST (default 0: a run can go on where the last stopped). -t sends TCP SYNs
 * instead of UDP datagrams. A flood from spoofed sources is, say,
 * "-s 16 -r 3 ... 5 40000": 640 000 connections of three datagrams each.
 * SECONDS 0 sends every frame once (to the next batch's end).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "pkt.h"

#define FLOWS 64	/* source ports by default */
#define MAX_FLOWS 40000 /* source ports 20000-59999 */
#define MAX_SOURCES 64
#define BATCH 64
/* Frames lie packed, as a packet generator keeps them: no cache misses of the sender's own. */
#define FRAME_LEN 64

int main(int argc, char **argv)
{
	struct mmsghdr msgs[BATCH];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct ifreq ifr = {};
	unsigned int mac[6], i, one = 1, flows = FLOWS, next = 0;
	unsigned int sources = 1, repeat = 1, rep = 0, tuples;
	int tcp = 0, opt;
	struct in_addr src, dst;
	unsigned long long sent = 0;
	struct timespec t0, t;
	struct iovec *iov;
	unsigned char(*frames)[FRAME_LEN];
	struct pkt built;
	double secs;
	int fd;

	while ((opt = getopt(argc, argv, "s:r:o:t")) != -1) {
		switch (opt) {
		case 's':
			sources = atoi(optarg);
			break;
		case 'r':
			repeat = atoi(optarg);
			break;
		case 'o':
			next = strtoul(optarg, NULL, 10);
			break;
		case 't':
			tcp = 1;
			break;
		default:
			sources = 0;
		}
	}
	argv += optind - 1;
	argc -= optind - 1;
	if (argc > 7)
		flows = atoi(argv[7]);
	if ((argc != 7 && argc != 8) || flows < 1 || flows > MAX_FLOWS || sources < 1 ||
	    sources > MAX_SOURCES || repeat < 1 ||
	    sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
		   &mac[5]) != 6 ||
	    !inet_aton(argv[3], &src) || !inet_aton(argv[4], &dst)) {
		fprintf(stderr,
			"usage: inject [-s SOURCES] [-r REPEAT] [-o FIRST] [-t] IFNAME DST_MAC "
			"SRC_IP DST_IP DST_PORT SECONDS [FLOWS]\n");
		return 2;
	}
	tuples = flows * sources;
	next %= tuples;
	frames = calloc(tuples, sizeof(*frames));
	iov = calloc(tuples, sizeof(*iov));
	if (!frames || !iov) {
		fprintf(stderr, "inject: out of memory\n");
		return 1;
	}
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	sll.sll_ifindex = if_nametoindex(argv[1]);
	if (fd < 0 || !sll.sll_ifindex || ioctl(fd, SIOCGIFHWADDR, &ifr) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) {
		fprintf(stderr, "inject: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (i = 0; i < tuples; i++) {
		struct flow f = { .saddr = ntohl(src.s_addr) + i % sources,
				  .daddr = ntohl(dst.s_addr),
				  .sport = 20000 + i / sources,
				  .dport = atoi(argv[5]),
				  .proto = tcp ? IPPROTO_TCP : IPPROTO_UDP,
				  .tcp_flags = TH_SYN,
				  .payload_len = tcp ? 0 : 18 };
		int b;

		pkt_build(&built, &f);
		for (b = 0; b < 6; b++)
			built.data[b] = mac[b];
		memcpy(built.data + 6, ifr.ifr_hwaddr.sa_data, 6);
		memcpy(frames[i], built.data, built.len);
		iov[i] = (struct iovec){ frames[i], built.len };
	}
	secs = atof(argv[6]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int n;

		for (i = 0; i < BATCH; i++) {
			msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[next],
								 .msg_iovlen = 1 } };
			if (++rep == repeat) {
				rep = 0;
				next = (next + 1) % tuples;
			}
		}
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += n;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (secs > 0 ? t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs
			  : sent < (unsigned long long)tuples * repeat);
	printf("%llu\n", sent);
	close(fd);
	free(frames);
	free(iov);
	return 0;
}
