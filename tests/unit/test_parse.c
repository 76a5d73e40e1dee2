// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The mapping grammar and the config file, as the command line and attach use them. */
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "hp.h"
#include "test_progs.h"

static int parse_words(const char *proto, const char *pub, const char *priv, struct hp_mapping *m)
{
	char *argv[] = { (char *)proto, (char *)pub, (char *)priv };
	char why[256];

	return parse_mapping(3, argv, m, why, sizeof(why));
}

void test_parse_mapping(void)
{
	struct hp_mapping m;

	if (!ASSERT_OK(parse_words("tcp", "wan:8080", "192.168.1.20:80", &m), "wan mapping"))
		return;
	ASSERT_EQ(m.protos, HP_PROTO_MASK_TCP, "protos");
	ASSERT_TRUE(m.pub_wan, "public is wan");
	ASSERT_EQ(m.pub_lo, 8080, "public port");
	ASSERT_EQ(m.pub_hi, 8080, "public port, one");
	ASSERT_EQ(ntohl(m.priv_addr), 0xc0a80114, "private address");
	ASSERT_EQ(m.priv_lo, 80, "private port");

	if (!ASSERT_OK(parse_words("tcpudp", "203.0.113.1:5000-5010", "192.0.2.9:6000-6010", &m),
		       "range"))
		return;
	ASSERT_EQ(m.protos, HP_PROTO_MASK_TCP | HP_PROTO_MASK_UDP, "tcpudp");
	ASSERT_TRUE(!m.pub_wan, "public is an address");
	ASSERT_EQ(ntohl(m.pub_addr), 0xcb007101, "public address");
	ASSERT_EQ(m.pub_hi - m.pub_lo, 10, "public range");
	ASSERT_EQ(m.priv_hi, 6010, "private range end");

	ASSERT_TRUE(parse_words("sctp", "wan:1", "192.0.2.9:1", &m), "unknown protocol");
	ASSERT_TRUE(parse_words("tcp", "wan:0", "192.0.2.9:1", &m), "port 0");
	ASSERT_TRUE(parse_words("tcp", "wan:65536", "192.0.2.9:1", &m), "port 65536");
	ASSERT_TRUE(parse_words("tcp", "wan:80x", "192.0.2.9:1", &m), "port with junk");
	ASSERT_TRUE(parse_words("tcp", "wan:90-80", "192.0.2.9:1-11", &m), "reversed range");
	ASSERT_TRUE(parse_words("tcp", "wan:80-81", "192.0.2.9:80-82", &m), "range lengths");
	ASSERT_TRUE(parse_words("tcp", "wan", "192.0.2.9:1", &m), "no port");
	ASSERT_TRUE(parse_words("tcp", "1.2.3:80", "192.0.2.9:1", &m), "short address");
	ASSERT_TRUE(parse_words("tcp", "0.0.0.0:80", "192.0.2.9:1", &m), "zero address");
	ASSERT_TRUE(parse_words("tcp", "wan:80", "wan:80", &m), "private cannot be wan");
	ASSERT_TRUE(parse_words("tcp", "wan:80", "192.0.2.9:", &m), "empty port");
}

/* Load @text as a config file; the error line, if any, lands in @err. */
static int load_text(const char *text, struct hp_config_file *cf, char *err, size_t len)
{
	char path[] = "/tmp/hairpin-test-conf-XXXXXX";
	int fd = mkstemp(path), saved, ret;

	if (write(fd, text, strlen(text)) < 0)
		return -1;
	close(fd);
	saved = stderr_capture();
	ret = config_load(path, cf);
	stderr_restore(saved, err, len);
	err[strcspn(err, "\n")] = '\0';
	unlink(path);
	return ret;
}

void test_config_file(void)
{
	struct hp_config_file cf;
	char err[256];

	if (!ASSERT_OK(load_text("# forwards\n\nmap tcp wan:80 192.0.2.20:80  # web\n"
				 "map udp 203.0.113.1:53 192.0.2.20:53\r\n"
				 "snat-ports 62000-62999\n"
				 "timeout udp 300\ntimeout tcp-established 86400\n",
				 &cf, err, sizeof(err)),
		       "valid file"))
		return;
	ASSERT_EQ(cf.n_maps, 2, "map lines");
	ASSERT_EQ(cf.cfg.snat_port_min, 62000, "snat-ports low");
	ASSERT_EQ(cf.cfg.snat_port_max, 62999, "snat-ports high");
	ASSERT_EQ(cf.cfg.timeout_udp, 300, "timeout udp");
	ASSERT_EQ(cf.cfg.timeout_tcp_est, 86400, "timeout tcp-established");
	ASSERT_EQ(cf.cfg.timeout_tcp_close, HP_TIMEOUT_TCP_CLOSE, "tcp-closing keeps its default");
	ASSERT_EQ(cf.maps[1].protos, HP_PROTO_MASK_UDP, "second line's protocol");
	config_free(&cf);

	ASSERT_TRUE(load_text("map tcp wan:80 192.0.2.20:80\nmap tcp wan:81 nowhere:81\n", &cf, err,
			      sizeof(err)),
		    "bad address refused");
	ASSERT_TRUE(!strncmp(err, "hairpin: /tmp/hairpin-test-conf-", 32) &&
			    strstr(err, ":2: 'nowhere' is not an IPv4 address"),
		    "error names the file and line 2");
	ASSERT_EQ(cf.n_maps, 0, "nothing kept from an invalid file");

	ASSERT_TRUE(load_text("map tcpudp wan:80-90 192.0.2.20:80-90\nmap udp wan:85 192.0.2.2:1\n",
			      &cf, err, sizeof(err)),
		    "overlap refused");
	ASSERT_TRUE(strstr(err, ":2: public port wan:85 overlaps") != NULL, "overlap message");
	ASSERT_TRUE(load_text("forward tcp 1 2\n", &cf, err, sizeof(err)), "unknown statement");
	ASSERT_TRUE(load_text("snat-ports 100\nsnat-ports 5-1\n", &cf, err, sizeof(err)),
		    "bad snat-ports");
	ASSERT_TRUE(strstr(err, ":2: expected 'snat-ports") != NULL, "snat-ports line 2");
	ASSERT_TRUE(load_text("timeout udp 0\n", &cf, err, sizeof(err)), "timeout 0");
	ASSERT_TRUE(strstr(err, ":1: timeout udp: '0' is not a number of seconds") != NULL,
		    "timeout 0 message");
	ASSERT_TRUE(load_text("timeout udp 30s\n", &cf, err, sizeof(err)), "timeout with a unit");
	ASSERT_TRUE(load_text("timeout udp 99999999999\n", &cf, err, sizeof(err)), "huge timeout");
	ASSERT_TRUE(load_text("timeout icmp 60\n", &cf, err, sizeof(err)), "unknown timeout");
	ASSERT_TRUE(strstr(err, "expected 'timeout tcp-established|tcp-closing|udp SECONDS'") !=
			    NULL,
		    "unknown timeout message");
	ASSERT_TRUE(load_text("timeout udp\n", &cf, err, sizeof(err)), "timeout without seconds");

	if (ASSERT_OK(load_text("mark 0x10\n", &cf, err, sizeof(err)), "mark")) {
		ASSERT_EQ(cf.cfg.mark, 0x10, "mark value");
		ASSERT_EQ(cf.cfg.mark_mask, 0x10, "mark mask: the value's bits");
		config_free(&cf);
	}
	if (ASSERT_OK(load_text("mark 0x50/0xf0\n", &cf, err, sizeof(err)), "mark/mask")) {
		ASSERT_EQ(cf.cfg.mark_mask, 0xf0, "mark mask");
		config_free(&cf);
	}
	ASSERT_TRUE(load_text("mark 0\n", &cf, err, sizeof(err)), "mark 0");
	ASSERT_TRUE(load_text("mark 0x100/0xff\n", &cf, err, sizeof(err)), "mark outside its mask");
	ASSERT_TRUE(load_text("mark -1\n", &cf, err, sizeof(err)), "negative mark");
	ASSERT_TRUE(load_text("mark 0x1ffffffff\n", &cf, err, sizeof(err)), "mark over 32 bits");
	ASSERT_TRUE(strstr(err, ":1: expected 'mark VALUE[/MASK]'") != NULL, "mark message");
}
