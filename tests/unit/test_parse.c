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

void test_parse_addresses_and_options(void)
{
	static const char *const not_unicast[] = { "0.0.0.0",	"0.1.2.3",   "127.0.0.1",
						   "224.0.0.1", "239.1.1.1", "255.255.255.255",
						   "240.0.0.1" };
	char pub[64], priv[64];
	struct hp_mapping m;
	size_t i;

	for (i = 0; i < sizeof(not_unicast) / sizeof(not_unicast[0]); i++) {
		snprintf(pub, sizeof(pub), "%s:80", not_unicast[i]);
		ASSERT_TRUE(parse_words("tcp", pub, "192.0.2.9:80", &m), not_unicast[i]);
		ASSERT_TRUE(parse_words("tcp", "wan:80", pub, &m), not_unicast[i]);
	}
	snprintf(priv, sizeof(priv), "192.0.2.9:80");
	ASSERT_OK(parse_words("tcp", "223.255.255.254:80", priv, &m), "last unicast address");

	{
		char *argv[] = { "tcp", "8.8.8.8:53",  priv,	       "snat",
				 "off", "any-address", "hide-listener" };
		char why[256];

		if (ASSERT_OK(parse_mapping(7, argv, &m, why, sizeof(why)), "every option")) {
			ASSERT_TRUE(m.any_addr && m.hide_listener && m.snat_own, "options set");
			ASSERT_EQ(m.snat_mode, HP_SNAT_OFF, "snat mode before an option");
		}
		argv[5] = "hide-listener";
		ASSERT_TRUE(parse_mapping(7, argv, &m, why, sizeof(why)), "option given twice");
		ASSERT_TRUE(strstr(why, "'hide-listener' given twice") != NULL, "twice message");
		argv[3] = "any-address", argv[4] = "snat", argv[5] = "internal",
		argv[6] = "same-subnet";
		if (ASSERT_OK(parse_mapping(7, argv, &m, why, sizeof(why)), "snat last")) {
			ASSERT_EQ(m.snat_scope, HP_SCOPE_SUBNET, "snat scope last");
			ASSERT_TRUE(m.any_addr && !m.hide_listener, "any-address only");
		}
		argv[6] = "frob";
		ASSERT_TRUE(parse_mapping(7, argv, &m, why, sizeof(why)), "unknown option");
		ASSERT_TRUE(strstr(why, "unexpected 'frob'") != NULL, "unknown option message");
	}
	ASSERT_OK(parse_words("tcp", "wan:0x50", "192.0.2.9:080", &m),
		  "hex and leading-zero ports");
	ASSERT_EQ(m.pub_lo, 80, "0x50 is 80");
	ASSERT_EQ(m.priv_lo, 80, "080 is decimal 80");
}

/* Bytes, numbers, repeated statements and size of a config file. */
void test_config_file_hygiene(void)
{
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		const char *err;
	} bad[] = {
		{ "map tcp wan:80 192.0.2.2:80\0 # rest", 35, ":1: a NUL byte at column 28" },
		{ "\xef\xbb\xbfmark 1\n", 0, ":1: the file starts with a UTF-8 byte order mark" },
		{ "mark 1\ntimeout\vudp 60\n", 0, ":2: control character 0x0b at column 8" },
		{ "mark 1\rmark 2\n", 0, ":1: control character 0x0d at column 7" },
		{ "mark 1\x7f\n", 0, ":1: control character 0x7f at column 7" },
		{ "map tcp wan:80 192.0.2.2:80 \xc3\xa9\n", 0,
		  ":1: non-ASCII byte 0xc3 at column 29" },
		{ "mark 1\nmark 2\n", 0, ":2: a second 'mark' statement (the first is on line 1)" },
		{ "snat off\nsnat internal\n", 0, ":2: a second 'snat' statement" },
		{ "snat-ports 1000-2000\n\nsnat-ports 1000-2000\n", 0,
		  ":3: a second 'snat-ports'" },
		{ "timeout udp 1\ntimeout udp 1\n", 0, ":2: a second 'timeout udp' statement" },
		{ "fastpath off\nfastpath on\n", 0, ":2: a second 'fastpath' statement" },
		{ "mark 0o10\n", 0, ":1: expected 'mark VALUE[/MASK]'" },
		{ "mark 0x\n", 0, ":1: expected 'mark VALUE[/MASK]'" },
		{ "timeout udp 1e3\n", 0, ":1: timeout udp: '1e3' is not a number" },
	};
	char path[] = "/tmp/hairpin-test-conf-XXXXXX", err[512], name[64];
	struct hp_config_file cf;
	size_t i, len;
	int fd, saved;
	char *big;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = bad[i].len ? bad[i].len : strlen(bad[i].text);
		strcpy(path, "/tmp/hairpin-test-conf-XXXXXX");
		fd = mkstemp(path);
		if (write(fd, bad[i].text, len) != (ssize_t)len)
			ASSERT_TRUE(0, "write");
		close(fd);
		saved = stderr_capture();
		ASSERT_TRUE(config_load(path, &cf), bad[i].err);
		stderr_restore(saved, err, sizeof(err));
		unlink(path);
		snprintf(name, sizeof(name), "message %zu", i);
		if (!ASSERT_TRUE(strstr(err, bad[i].err) &&
					 strchr(err, '\n') == err + strlen(err) - 1,
				 name))
			fprintf(stderr, "      got: %s", err);
	}

	if (ASSERT_OK(load_text("mark 010\nmap tcp wan:80 192.0.2.2:80 # caf\xc3\xa9\r\n", &cf, err,
				sizeof(err)),
		      "decimal 010, non-ASCII comment, CRLF")) {
		ASSERT_EQ(cf.cfg.mark, 10, "010 is ten, not octal eight");
		ASSERT_EQ(cf.maps[0].line, 2, "line of a mapping");
		config_free(&cf);
	}
	if (ASSERT_OK(load_text("mark 0X1F/0xff\ntimeout udp 0x3c\n", &cf, err, sizeof(err)),
		      "hex numbers")) {
		ASSERT_EQ(cf.cfg.mark, 0x1f, "0X1F");
		ASSERT_EQ(cf.cfg.timeout_udp, 60, "0x3c seconds");
		config_free(&cf);
	}

	/* A file over the bound is refused before it is parsed, a line too long by its number. */
	big = malloc(HP_CONFIG_MAX_BYTES + 2);
	if (!ASSERT_TRUE(big != NULL, "malloc"))
		return;
	memset(big, '\n', HP_CONFIG_MAX_BYTES + 1);
	big[HP_CONFIG_MAX_BYTES + 1] = '\0';
	ASSERT_TRUE(load_text(big, &cf, err, sizeof(err)), "file over the bound");
	ASSERT_TRUE(strstr(err, ": larger than 1024 KiB") != NULL, "size message");
	big[HP_CONFIG_MAX_BYTES] = '\0';
	ASSERT_OK(load_text(big, &cf, err, sizeof(err)), "file at the bound");
	config_free(&cf);
	memset(big, '#', HP_CONFIG_MAX_LINE + 1);
	big[HP_CONFIG_MAX_LINE + 1] = '\0';
	ASSERT_TRUE(load_text(big, &cf, err, sizeof(err)), "line over the bound");
	ASSERT_TRUE(strstr(err, ":1: line longer than 1024 bytes") != NULL, "line message");
	big[HP_CONFIG_MAX_LINE] = '\0';
	ASSERT_OK(load_text(big, &cf, err, sizeof(err)), "line at the bound");
	config_free(&cf);
	free(big);
}

void test_config_sizes(void)
{
	struct hp_config_file cf;
	char err[256];

	if (ASSERT_OK(load_text("map tcp wan:80 192.0.2.20:80\n", &cf, err, sizeof(err)),
		      "no size statement")) {
		ASSERT_EQ(cf.sizes.conns, HP_MAX_CONNS, "conns default");
		ASSERT_EQ(cf.sizes.mappings, HP_MAX_MAPPINGS, "mappings default");
		config_free(&cf);
	}
	if (ASSERT_OK(load_text("size conns 4096\nsize mappings 64\n", &cf, err, sizeof(err)),
		      "sizes")) {
		ASSERT_EQ(cf.sizes.conns, 4096, "size conns");
		ASSERT_EQ(cf.sizes.mappings, HP_SIZE_MIN, "size mappings, the least");
		config_free(&cf);
	}
	if (ASSERT_OK(load_text("size conns 0x1000\n", &cf, err, sizeof(err)), "hex size")) {
		ASSERT_EQ(cf.sizes.conns, 4096, "0x1000 is 4096");
		config_free(&cf);
	}
	ASSERT_TRUE(load_text("size conns 4096\nsize mappings 64\nsize conns 8192\n", &cf, err,
			      sizeof(err)),
		    "size conns twice");
	ASSERT_TRUE(strstr(err, ":3: a second 'size conns' statement (the first is on line 1)") !=
			    NULL,
		    "twice message");
	ASSERT_TRUE(load_text("size conns 63\n", &cf, err, sizeof(err)), "below the least");
	ASSERT_TRUE(strstr(err, ":1: size conns: '63' is not a number of entries (64-16777216)") !=
			    NULL,
		    "size message");
	ASSERT_TRUE(load_text("size mappings 16777217\n", &cf, err, sizeof(err)), "above the most");
	ASSERT_TRUE(load_text("size conns 4k\n", &cf, err, sizeof(err)), "size with a unit");
	ASSERT_TRUE(load_text("size conns -4096\n", &cf, err, sizeof(err)), "negative size");
	ASSERT_TRUE(load_text("size conns\n", &cf, err, sizeof(err)), "size without entries");
	ASSERT_TRUE(load_text("size frags 1024\n", &cf, err, sizeof(err)), "unknown table");
	ASSERT_TRUE(strstr(err, ":1: expected 'size conns|mappings ENTRIES'") != NULL,
		    "unknown table message");
}

/* "lan IF [IF...]" and "wan IF": the interfaces attach takes without --lan and --wan. */
void test_config_interfaces(void)
{
	struct hp_config_file cf;
	char err[512];

	if (ASSERT_OK(load_text("lan br-lan lan2\nwan pppoe-wan\nmap tcp wan:80 192.0.2.20:80\n",
				&cf, err, sizeof(err)),
		      "lan and wan")) {
		ASSERT_EQ(cf.ifaces.n_lan, 2, "two LAN interfaces");
		ASSERT_TRUE(!strcmp(cf.ifaces.lan[0], "br-lan"), "first LAN interface");
		ASSERT_TRUE(!strcmp(cf.ifaces.lan[1], "lan2"), "second LAN interface");
		ASSERT_TRUE(!strcmp(cf.ifaces.wan, "pppoe-wan"), "WAN interface");
		config_free(&cf);
	}
	if (ASSERT_OK(load_text("map tcp wan:80 192.0.2.20:80\n", &cf, err, sizeof(err)),
		      "no interfaces")) {
		ASSERT_EQ(cf.ifaces.n_lan, 0, "no LAN interface");
		ASSERT_TRUE(!strcmp(cf.ifaces.wan, ""), "no WAN interface");
		config_free(&cf);
	}
	ASSERT_TRUE(load_text("wan a b\n", &cf, err, sizeof(err)), "two WAN interfaces");
	ASSERT_TRUE(strstr(err, ":1: expected 'wan IF'") != NULL, "wan message");
	ASSERT_TRUE(load_text("lan\n", &cf, err, sizeof(err)), "lan without a name");
	ASSERT_TRUE(load_text("wan a\nwan b\n", &cf, err, sizeof(err)), "wan twice");
	ASSERT_TRUE(strstr(err, ":2: a second 'wan' statement (the first is on line 1)") != NULL, "wan twice message");
	ASSERT_TRUE(load_text("lan a\nlan b\n", &cf, err, sizeof(err)), "lan twice");
	ASSERT_TRUE(load_text("lan a b a\n", &cf, err, sizeof(err)), "a name twice");
	ASSERT_TRUE(strstr(err, "interface 'a' is named twice") != NULL, "named twice message");
	ASSERT_TRUE(load_text("lan a\nwan a\n", &cf, err, sizeof(err)), "LAN and WAN at once");
	ASSERT_TRUE(load_text("lan 0123456789abcdef\n", &cf, err, sizeof(err)), "16 characters");
	ASSERT_OK(load_text("lan 0123456789abcde\n", &cf, err, sizeof(err)), "15 characters");
	config_free(&cf);
	ASSERT_TRUE(load_text("lan eth0/1\n", &cf, err, sizeof(err)), "a slash");
	ASSERT_TRUE(load_text("lan eth0:1\n", &cf, err, sizeof(err)), "a colon (an alias)");
	ASSERT_TRUE(load_text("lan ..\n", &cf, err, sizeof(err)), "..");
}
