// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* hairpin: the command line, global options and the top-level command table. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "hp.h"

static int cmd_help(int argc, char **argv);

static const struct hp_cmd top_cmds[] = {
	{ "attach", cmd_attach,
	  "[--lan IF[,IF...] --wan IF] [-c FILE] [--snat-ports LO-HI] [--xdp native|skb|off]" },
	{ "detach", cmd_detach, "" },
	{ "status", cmd_status, "" },
	{ "map", cmd_map,
	  "{ add PROTO PUBLIC:PORT[-PORT] PRIVATE:PORT[-PORT] [snat MODE [SCOPE]] [any-address] "
	  "[hide-listener] | "
	  "del PROTO PUBLIC:PORT[-PORT] | list }" },
	{ "flows", cmd_flows, "" },
	{ "stats", cmd_stats, "" },
	{ "show", cmd_show, "" },
	{ "apply", cmd_apply, "[--check] -c FILE" },
	{ "watch", cmd_watch, "" },
	{ "help", cmd_help, "" },
	{ 0 },
};

static int cmd_help(int argc, char **argv)
{
	const struct hp_cmd *c;

	printf("Usage: hairpin [--pin-dir DIR] [-j] [-v] COMMAND\n\n");
	for (c = top_cmds; c->name; c++)
		printf("  hairpin %s%s%s\n", c->name, *c->help ? " " : "", c->help);
	printf("\n  PROTO is tcp, udp or tcpudp; PUBLIC is an IPv4 address or 'wan'.\n"
	       "  MODE is internal, external or off; SCOPE is all or same-subnet.\n"
	       "  --pin-dir DIR  where tables are pinned (default %s)\n"
	       "  -j, --json     JSON output for status, map list, flows, stats and show\n"
	       "  -v, --verbose  libbpf's and libxdp's messages\n"
	       "  See hairpin(8).\n",
	       HP_DEFAULT_PIN_DIR);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt, ret;

	/* '+': stop at the first command word, the rest belongs to the command. */
	while ((opt = hp_getopt("", argc, argv, "+:p:jvh", opts)) != -1) {
		switch (opt) {
		case 'p':
			env.pin_dir = optarg;
			break;
		case 'j':
			env.json = true;
			break;
		case 'v':
			env.verbose = true;
			break;
		case 'h':
			return cmd_help(0, NULL);
		default:
			return 2;
		}
	}
	hp_libbpf_setup();
	if (optind >= argc) {
		hp_err("missing command (try 'hairpin help')");
		return 2;
	}
	/* A negative errno is an error (2); status reports an unhealthy instance with 1. */
	ret = hp_dispatch(top_cmds, "hairpin", argc - optind, argv + optind);
	return ret < 0 ? 2 : ret;
}
