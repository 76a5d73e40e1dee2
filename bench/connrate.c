// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * TCP connection rate: the server accepts and closes at once (so TIME_WAIT
 * stays on its side); the client opens, waits for the close, and counts.
 *
 *   connrate server PORT
 *   connrate client ADDR PORT SECONDS     prints connections completed
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int server(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, c;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4096)) {
		perror("connrate: server");
		return 1;
	}
	for (;;) {
		c = accept(fd, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}

static int client(const char *addr, int port, int seconds)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 1 };
	unsigned long done = 0, failed = 0;
	struct timespec t0, t;
	char buf[16];

	if (!inet_aton(addr, &a.sin_addr))
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)) && !read(fd, buf, sizeof(buf)))
			done++;
		else
			failed++;
		close(fd);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
	printf("%lu %lu\n", done, failed);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: connrate server PORT | connrate client ADDR PORT SECONDS\n");
	return 2;
}
