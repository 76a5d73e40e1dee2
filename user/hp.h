/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Declarations shared by the files of the hairpin command. */
#ifndef HP_USER_H
#define HP_USER_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "hairpin.h"

#define HP_DEFAULT_PIN_DIR "/sys/fs/bpf/hairpin"

/* TC filter identity of our programs: "HP" in both the handle and the priority. */
#define HP_TC_HANDLE 0x4850
#define HP_TC_PRIO 0x4850

/* Options every command sees. */
struct hp_env {
	const char *pin_dir;
	bool json;
	bool verbose;
};

extern struct hp_env env;

/* One line on stderr, "hairpin: ..." */
void hp_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct option;
/* getopt_long() for command @cmd ("" for hairpin's own options), its errors one hp_err() line. */
int hp_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
	      const struct option *longopts);

/*
 * For the tests only: with HAIRPIN_TEST_CRASH_AT=N in the environment, the
 * Nth call kills the command with SIGKILL, as an OOM kill or a power cut
 * would. Without it, nothing.
 */
void hp_crash_point(void);

/*
 * A command table entry, as in bpftool: name, handler, one-line help. The
 * handler gets its own name as argv[0], so it can run getopt directly.
 */
struct hp_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};
int hp_dispatch(const struct hp_cmd *cmds, const char *level, int argc, char **argv);

/* Command handlers; return 0 or a negative errno after printing the error. */
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_watch(int argc, char **argv);

/* parse.c: the grammar shared by the command line and the config file. */
#define HP_PROTO_MASK_TCP (1U << 0)
#define HP_PROTO_MASK_UDP (1U << 1)

struct hp_mapping {
	unsigned int protos; /* HP_PROTO_MASK_* */
	bool pub_wan;	     /* public address is "wan": resolve before writing */
	__be32 pub_addr;
	__u16 pub_lo, pub_hi; /* host order, inclusive */
	__be32 priv_addr;
	__u16 priv_lo, priv_hi;
	bool snat_own; /* its own "snat MODE [SCOPE]", else the global one */
	__u8 snat_mode, snat_scope;
	bool any_addr;	    /* "any-address": the public address need not be the router's */
	bool hide_listener; /* "hide-listener": may take a port the router listens on */
	int line;	    /* of the config file it came from; 0 on the command line */
};

int parse_proto(const char *s, unsigned int *protos);
int parse_ipv4(const char *s, __be32 *addr);
/* Why @addr is no address a port forward can use (not unicast), or NULL. */
const char *addr_not_unicast(__be32 addr);
int parse_port_range(const char *s, __u16 *lo, __u16 *hi);
int parse_seconds(const char *s, __u32 *secs);
/* A table size, HP_SIZE_MIN to HP_SIZE_MAX entries. */
int parse_entries(const char *s, __u32 *n);
int parse_mark(const char *s, __u32 *mark, __u32 *mask);
int parse_mapping(int argc, char **argv, struct hp_mapping *m, char *why, size_t len);
/* "snat MODE [SCOPE]" words after "snat": internal|external|off, all|same-subnet. */
int parse_snat(int argc, char **argv, __u8 *mode, __u8 *scope, char *why, size_t len);
const char *snat_mode_name(__u8 mode);
const char *snat_scope_name(__u8 scope);
/* "snat MODE[ SCOPE]" as the grammar writes it (no SCOPE for "all"). */
char *fmt_snat(char *buf, size_t len, __u8 mode, __u8 scope);
/* "on" or "off": the fast path of @cfg. */
const char *fastpath_name(const struct hp_config *cfg);
/* "xdp native|skb|off": where attach loads the XDP program, xdp-loader's mode names. */
enum hp_xdp_mode {
	HP_XDP_OFF,
	HP_XDP_NATIVE,
	HP_XDP_SKB,
};
int parse_xdp_mode(const char *s, __u8 *mode);
const char *xdp_mode_name(__u8 mode);
int parse_public(const char *s, struct hp_mapping *m, char *why, size_t len);
const char *proto_name(__u8 proto);
char *fmt_endpoint(char *buf, size_t len, __be32 addr, __u16 lo, __u16 hi);

/*
 * Table sizes in entries, fixed when an instance's tables are created:
 * "size conns|mappings ENTRIES" (mappings sizes map_counters too).
 */
struct hp_sizes {
	__u32 conns;
	__u32 mappings;
};
#define HP_SIZES_DEFAULT                                                                           \
	{                                                                                          \
		.conns = HP_MAX_CONNS, .mappings = HP_MAX_MAPPINGS                                 \
	}
#define HP_SIZE_MIN 64
#define HP_SIZE_MAX (1U << 24)

/* config.c: a whole file is parsed before any line of it is applied. */
struct hp_config_ifaces {
	char lan[HP_MAX_IFACES - 1][HP_IFNAMSIZ]; /* "lan IF [IF...]" */
	int n_lan;
	char wan[HP_IFNAMSIZ]; /* "wan IF"; empty if none */
};

struct hp_config_file {
	struct hp_mapping *maps;
	int n_maps;
	struct hp_config cfg;  /* HP_CONFIG_DEFAULT with the file's settings */
	struct hp_sizes sizes; /* HP_SIZES_DEFAULT with the file's sizes */
	struct hp_config_ifaces ifaces;
	__u8 xdp; /* enum hp_xdp_mode, for attach; apply leaves it as it is */
};
/* A config file larger than this, or a line longer than this, is refused unread. */
#define HP_CONFIG_MAX_BYTES (1 << 20)
#define HP_CONFIG_MAX_LINE 1024
int config_load(const char *path, struct hp_config_file *cf);
/*
 * Once "wan" is resolved: no two lines take the same public port, and every
 * line passes mapping_check_local(); the error names @path and the line.
 */
int config_check_mappings(const char *path, const struct hp_config_file *cf);
/* The timeout statements: name and field of struct hp_config. */
#define HP_N_TIMEOUTS 3
struct hp_timeout_name {
	const char *name;
	size_t off;
};
extern const struct hp_timeout_name hp_timeouts[HP_N_TIMEOUTS];
__u32 *config_timeout(const struct hp_config *cfg, size_t i);
/* The size statements: name, field of struct hp_sizes, and the pinned table it sizes. */
#define HP_N_SIZES 2
struct hp_size_name {
	const char *name;
	size_t off;
	int pin; /* enum hp_pin */
};
extern const struct hp_size_name hp_sizes[HP_N_SIZES];
__u32 *config_size(const struct hp_sizes *s, size_t i);
/* SNAT ports must stay off the router's own local ports. */
int config_check_local_ports(const struct hp_config *cfg);
void config_free(struct hp_config_file *cf);

/*
 * settings.c: the live settings (the config table, the tables' sizes) as
 * show and status print them: config statements, or with -j keys named
 * after them in snake_case.
 */
int settings_read(int cfg_fd, struct hp_config *cfg, struct hp_sizes *sizes);
void settings_print(const struct hp_config *cfg, const struct hp_sizes *sizes);

/* iface.c */
int iface_index(const char *name, unsigned int *ifindex);
/* The interface's own MAC address. */
int iface_mac(unsigned int ifindex, __u8 mac[6]);
/* Is it a bridge (rtnetlink's link kind)? An Ethernet device? */
bool iface_is_bridge(unsigned int ifindex);
bool iface_is_ether(unsigned int ifindex);
/*
 * HP_IFACE_L3 in @val's flags if the interface's packets start at the IPv4
 * header (PPP, tun, IP-in-IP), and HP_IFACE_PPP too for PPP; both cleared
 * if after an Ethernet header (Ethernet, loopback). Any other link type (GRE
 * among them: without a fixed remote it has a header of its own) is a
 * one-line error naming @name.
 */
int iface_link_flag(unsigned int ifindex, const char *name, struct hp_iface *val);
/* Why interface @ifindex cannot run the XDP program in @mode (enum hp_xdp_mode). */
const char *xdp_unsupported_why(unsigned int ifindex, __u8 mode);
int iface_ipv4(unsigned int ifindex, __be32 *addr);
int iface_ipv4_net(unsigned int ifindex, __be32 *addr, __u8 *prefix_len);

/*
 * local.c: what the router itself owns, its addresses and listening sockets,
 * in the network namespace the command runs in. A mapping's public address
 * must be the router's (or "wan", or "any-address"), its public ports none
 * the router listens on (unless "hide-listener"), its private address none
 * of the router's nor a subnet's broadcast address. Writes why into @why.
 */
int mapping_check_local(const struct hp_mapping *m, char *why, size_t len);

/* pins.c: the pin dir, its lock and the pinned tables. */
enum hp_pin {
	HP_PIN_MAPPINGS,
	HP_PIN_IFACES,
	HP_PIN_CONNS,
	HP_PIN_CONFIG,
	HP_PIN_STATS,
	HP_PIN_LAYOUT,
	HP_PIN_COUNTERS,
	HP_PIN_IFNAMES,
	HP_PIN_CONN_QUEUE,
	HP_PIN_CONN_ASSURED,
	HP_PIN_XDP_TX,
	HP_PIN_HOPS,
	HP_PIN_COUNT,
};
extern const char *const hp_pin_names[HP_PIN_COUNT];
int pins_path(char *buf, size_t len, const char *name);
int pins_check_fs(bool create);
/* An instance is attached at the pin dir, with tables of this build's layout. */
int pins_attached(void);
int pins_check_layout(void);
int pins_lock(void);
bool pins_busy(void);
void pins_unlock(int fd);
int require_root(void);
/* A pinned table; -ENOENT, quietly, if it is not pinned (an older or half-made instance). */
int pins_open_quiet(enum hp_pin which);

/* The pinned tables a command works on, by enum hp_pin; -1 for those not open. */
struct hp_pins {
	int fd[HP_PIN_COUNT];
	int lock; /* the pin dir's, or -1 */
};
#define HP_PINS_NONE                                                                               \
	{                                                                                          \
		.fd = { [0 ... HP_PIN_COUNT - 1] = -1 }, .lock = -1                                \
	}
#define HP_PIN_BIT(which) (1U << (which))
/*
 * As root, on an attached instance of this build's layout: with @lock the
 * pin dir lock (no other command changes the tables meanwhile), then the
 * tables of @need (bits HP_PIN_BIT()), each missing one an error, and those
 * of @may that are pinned. pins_close_set() undoes it, also half done.
 */
int pins_open_set(struct hp_pins *p, unsigned int need, unsigned int may, bool lock);
void pins_close_set(struct hp_pins *p);

/* hooks.c: one interface of an instance, on its hooks and in the tables. */
struct iface_tables {
	int ifaces_fd, names_fd;
	int xdp_tx_fd; /* -1: an instance pinned before it existed */
};
struct iface_progs {
	int ingress_fd, egress_fd;
};
enum iface_state {
	IFACE_ATTACHED,
	IFACE_UNATTACHED, /* there, without our filters */
	IFACE_GONE,	  /* no interface of that name */
	IFACE_REPLACED,	  /* made again: the name has another index */
	IFACE_RENAMED,	  /* the name is gone, the index has another: our programs too */
};

/* One interface on one hook, as the hooks see it. */
struct hook_ctx {
	const struct iface_tables *t;
	unsigned int ifindex;
	const char *name;	     /* for messages */
	struct hp_iface *val;	     /* its ifaces entry */
	const struct iface_progs *p; /* attach only: the instance's TC programs */
};

/*
 * A hook an interface gets: TC ingress, TC egress, XDP. attach puts ours
 * there (or, for XDP off, takes it away), detach takes ours away and leaves
 * others' alone, query says which program of ours is there, ours says
 * whether a program is this instance's.
 */
struct hp_hook {
	const char *name; /* "ingress", "egress", "xdp" */
	bool required;	  /* without it the interface is not attached; XDP only accelerates */
	int (*attach)(const struct hook_ctx *c);
	int (*detach)(const struct hook_ctx *c);
	__u32 (*query)(const struct hook_ctx *c); /* the id of ours there, 0 if none */
	bool (*ours)(const struct hook_ctx *c, __u32 prog_id);
};
#define HP_N_HOOKS 3
#define HP_HOOK_XDP 2 /* hp_hooks[HP_HOOK_XDP] is &xdp_hook */
extern const struct hp_hook *const hp_hooks[HP_N_HOOKS];

int iface_attach(const struct iface_tables *t, unsigned int ifindex, const char *name,
		 struct hp_iface *val, const struct iface_progs *p);
int iface_detach(const struct iface_tables *t, unsigned int ifindex, struct hp_iface *ifc);
/* Detach interface @ifindex of the instance if it still is there, and drop its entries. */
int iface_forget(const struct iface_tables *t, __u32 ifindex);
enum iface_state iface_state(const struct iface_tables *t, __u32 ifindex, const char *name);
const char *iface_state_name(enum iface_state s);

/* tc.c: the TC hooks and the clsact qdisc they share. */
extern const struct hp_hook tc_ingress_hook, tc_egress_hook;
/* Before anything changes: can our programs go on interface @name's TC hooks? */
int tc_check(unsigned int ifindex, const char *name);
/* Before the tables learn of the interface: is there a clsact? If not, it will be ours. */
int tc_clsact_prepare(unsigned int ifindex, struct hp_iface *val, bool *missing);
int tc_clsact_make(const struct iface_tables *t, unsigned int ifindex, struct hp_iface *val);
/* After our filters are gone: remove a clsact attach made, if nobody else's filter is on it. */
int tc_clsact_release(unsigned int ifindex, const struct hp_iface *ifc);
int iface_live_progs(int ifaces_fd, struct iface_progs *p);
void iface_progs_close(struct iface_progs *p);
/* The name of instance interface @ifindex: from ifnames, else the kernel's, else "?". */
void iface_name(int names_fd, __u32 ifindex, char name[HP_IFNAMSIZ]);
/* The instance's interfaces as the config file's "lan", "wan" and "xdp" lines (or JSON). */
void iface_print_config(int ifaces_fd, int names_fd);

/* tcx.c: the TC hooks as pinned tcx links, where the kernel has them. */
bool tcx_usable(void);
int tcx_attach(unsigned int ifindex, bool ingress, int prog_fd);
int tcx_detach(unsigned int ifindex, bool ingress);
__u32 tcx_prog_id(unsigned int ifindex, bool ingress);
int tcx_check(unsigned int ifindex, const char *name);
bool prog_is_hairpin(__u32 id, bool ingress);

/*
 * xdp.c: the XDP hook, through libxdp. Where the kernel runs libxdp's
 * dispatcher, our program is one of its programs beside others'; where it
 * cannot, libxdp loads it alone, and then only where no other is.
 */
extern const struct hp_hook xdp_hook;
/* What is on the XDP hook of an interface. */
struct xdp_state {
	__u32 ours;	     /* the id of our program, 0 if none */
	__u8 mode;	     /* enum hp_xdp_mode it runs in, HP_XDP_OFF if nothing is there */
	bool dispatcher;     /* loaded through libxdp's dispatcher, else a single program */
	int others;	     /* programs of others */
	__u32 other_id;	     /* the first of them */
	char other_name[16]; /* its name (BPF_OBJ_NAME_LEN) */
};
int xdp_state(const struct iface_tables *t, unsigned int ifindex, struct xdp_state *st);
/*
 * Before anything changes: can our program run on interface @name in
 * @mode? Not beside a program loaded without the dispatcher, nor in another
 * mode than the dispatcher's. One line and -EBUSY if not.
 */
int xdp_check(const struct iface_tables *t, unsigned int ifindex, const char *name, __u8 mode);
/* The XDP mode attach asks for on an interface, from its ifaces flags. */
__u8 xdp_mode_of(const struct hp_iface *ifc);
void xdp_mode_set(struct hp_iface *ifc, __u8 mode);

/*
 * xdp_tx.c: the devices the XDP program may redirect to. Only those that
 * take XDP frames (ndo_xdp_xmit, per the kernel's xdp_features) and whose
 * qdisc does not shape: a redirected frame skips the qdisc.
 */
enum xdp_tx_why {
	XDP_TX_YES,
	XDP_TX_NOT_ETHER,  /* no Ethernet header: the XDP program's frames have one */
	XDP_TX_NO_XMIT,	   /* no ndo_xdp_xmit now (a veth: its peer has no XDP nor GRO) */
	XDP_TX_SHAPER,	   /* a qdisc that shapes */
	XDP_TX_OLD_KERNEL, /* no xdp_features: Linux before 6.3 */
	XDP_TX_UNKNOWN,	   /* could not ask */
};
struct xdp_tx_eval {
	enum xdp_tx_why why;
	char qdisc[16]; /* XDP_TX_SHAPER: its kind */
};
int xdp_tx_eval(unsigned int ifindex, struct xdp_tx_eval *e);
const char *xdp_tx_why(const struct xdp_tx_eval *e, char *buf, size_t len);
/*
 * Every interface of the instance made a redirect target, or not, as it is
 * now; @note, if any, hears of each change.
 */
typedef void (*xdp_tx_note_fn)(const char *name, bool target, const char *why);
void xdp_tx_update(const struct iface_tables *t, xdp_tx_note_fn note);
/* A socket that hears of every change of xdp_features; -ENOENT before Linux 6.3. */
int xdp_tx_listen(void);
/* Remove interface @ifindex from the redirect targets (its ifaces entry is gone or flagged off). */
void xdp_tx_forget(const struct iface_tables *t, __u32 ifindex);

/* nl.c: netlink requests, one socket each. */
struct nlmsghdr;
struct nlattr;
typedef int (*nl_answer_fn)(const struct nlmsghdr *nh, void *ctx);
/*
 * Send @req (NLM_F_DUMP, or NLM_F_ACK) on a new @proto socket and hand
 * each answer to @fn, which stops the walk by returning non-zero. Returns
 * that, 0, or a negative errno (the kernel's).
 */
int nl_request(int proto, const struct nlmsghdr *req, nl_answer_fn fn, void *ctx);
const struct nlattr *nl_attr_find(const void *data, int len, __u16 type);
const void *nl_attr_data(const struct nlattr *a);
/* Append attribute @type to @nh, a buffer of @room bytes. */
void nl_attr_put(struct nlmsghdr *nh, size_t room, __u16 type, const void *data, __u16 len);
struct genl_family {
	__u16 id;
	__u32 group; /* the multicast group asked for, 0 if none */
};
/* A generic netlink family's id and, with @group, that multicast group's: -ENOENT if none. */
int genl_family(const char *name, const char *group, struct genl_family *out);

/* attach.c: the programs loaded over the pinned tables, for watch too. */
struct hairpin;
/* With the sizes of the tables it may have to create (those pinned must match). */
int attach_load(struct hairpin **skelp, struct iface_progs *p, const struct hp_sizes *sizes);
void attach_unload(struct hairpin *skel);

/* wanaddr.c: mappings written with "wan" to the WAN's current address. */
int wan_follow(int maps_fd, int counters_fd, __be32 addr, __be32 *was);

/* skb_csum.c: where the TC programs read an skb's checksum state. */
void skb_csum_state_set(struct hairpin *skel);
bool skb_csum_state_confirmed(__u32 byte, __u32 shift);
/* What the TC programs whose constants are table @rodata_fd (-1: none found) do. */
void skb_csum_state_print(int rodata_fd);

/* tables.c: the tables' sizes, entries and memory. */
struct bpf_map_info;
struct bpf_prog_info;
/* Set the sizes of @skel's tables, before it is loaded. */
int sizes_set(struct hairpin *skel, const struct hp_sizes *s);
/* The sizes of the instance at the pin dir; -ENOENT when nothing is pinned. */
int sizes_live(struct hp_sizes *s);
/* Refuse sizes @want other than @live (@where: the config file, or the command). */
int sizes_check(const struct hp_sizes *want, const struct hp_sizes *live, const char *where);
/* The same against the instance at the pin dir, if there is one. */
int sizes_check_live(const struct hp_sizes *want, const char *where);
int table_info(int fd, struct bpf_map_info *info);
#define MAX_PROG_MAPS 64
/* The ids of the maps program @fd uses, at most MAX_PROG_MAPS; how many, or a negative errno. */
int prog_maps(int fd, struct bpf_prog_info *info, __u32 ids[MAX_PROG_MAPS]);
/*
 * Is program @prog_id named @name, and on table @table_id (0: none is)? An
 * instance knows its programs so, by its ifaces table: another instance's
 * have the same names.
 */
bool prog_on_table(__u32 prog_id, const char *name, __u32 table_id);
/* The entries a table holds, never more than its size; fast on a large churning table. */
int table_entries(int fd, __u32 *entries);
/* The memory the kernel charges for a table, as its fdinfo says. */
int table_memlock(int fd, __u64 *bytes);
/* status: each table of the instance (pinned or used by @progs), its entries and memory. */
void tables_print(const __u32 *progs, int n_progs);

/* mapping.c: writing mappings into the live table, all or nothing. */
int wan_ifindex(int ifaces_fd, __u32 *ifindex, struct hp_iface *ifc);
int mapping_resolve_wan(int ifaces_fd, struct hp_mapping *m);
int mapping_check_add(int map_fd, const struct hp_mapping *m, bool allow_same, const char *where,
		      bool hint_apply);
/*
 * Before a write: the entries of @ms the table lacks fit, once @freed
 * entries are deleted, or the error says how many it needs and how many are
 * free. @map_fd < 0: a table about to be made, of @fresh_max entries.
 */
int mapping_check_room(int map_fd, int counters_fd, const struct hp_mapping *ms, int n,
		       unsigned int freed, unsigned int fresh_max, const char *where);
int mapping_write(int map_fd, int counters_fd, const struct hp_mapping *m);
int mapping_delete(int map_fd, int counters_fd, const struct hp_mapping *m);
bool mapping_val_same(const struct hp_map_val *cur, const struct hp_map_val *v);
int mapping_write_entry(int map_fd, int counters_fd, const struct hp_map_key *k,
			const struct hp_map_val *v);
void mapping_delete_entry(int map_fd, int counters_fd, const struct hp_map_key *k);
int mapping_mend(int map_fd, int counters_fd);
int mapping_headless(int map_fd);
void mapping_tidy(int map_fd, int counters_fd);
int mapping_counters_sum(int map_fd, int counters_fd, const struct hp_mapping *m,
			 struct hp_map_counters *sum, unsigned int *ports);

/* hops.c: clear the next hops of deleted devices; returns how many went. */
int hops_gc(int fd);

/*
 * counters.c: the slots of map_counters, one per public port (@port) of a
 * mapping. Each returns a negative errno; -ENOENT when the slot is not
 * @port's (or @from's), -ENOSPC when no slot is free.
 */
int counters_claim(int fd, const struct hp_map_key *port, __u32 *slot);
/* Is @slot @port's? (A zero @port: is it free?) */
bool counters_owned(int fd, __u32 slot, const struct hp_map_key *port);
int counters_release(int fd, __u32 slot, const struct hp_map_key *port);
/* @slot counts for @to from now on, with what it counted for @from. */
int counters_move(int fd, __u32 slot, const struct hp_map_key *from, const struct hp_map_key *to);
int counters_add(int fd, __u32 slot, const struct hp_map_key *port, struct hp_map_counters *sum);
/* Free the slots no mappings entry names (a killed command's); every write starts with it. */
int counters_gc(int map_fd, int fd);
int mapping_read_all(int map_fd, struct hp_mapping **out, int *n_out);
int mapping_for_each_entry(const struct hp_mapping *m,
			   int (*fn)(const struct hp_map_key *k, const struct hp_map_val *v,
				     void *ctx),
			   void *ctx);
/* "wan:PORT[-PORT]" for a mapping written with "wan", else ADDRESS:PORT[-PORT]. */
char *fmt_public(char *buf, size_t len, const struct hp_mapping *m);
char *fmt_private(char *buf, size_t len, const struct hp_mapping *m);
/* The config grammar's protocol word of @m: tcp, udp or tcpudp. */
const char *mapping_proto_name(const struct hp_mapping *m);

/*
 * load.c: libbpf's and libxdp's messages only with -v; load a skeleton so
 * that a verifier refusal names the program and shows the log's tail.
 */
struct bpf_object_skeleton;
struct bpf_object;
void hp_libbpf_setup(void);
int hp_load_skeleton(struct bpf_object_skeleton *s);
/*
 * Run @load(@arg), which loads the programs of @obj: a program the verifier
 * refuses is named, with the tail of its log, and *@refused is set (also
 * when the error was said otherwise); any other error is the caller's to say.
 */
int hp_load_object(struct bpf_object *obj, int (*load)(void *arg), void *arg, bool *refused);

/*
 * conntrack.c: with the fast path on, conntrack's TCP tracking must be
 * liberal. _ready() sets it where conntrack is loaded and not liberal yet;
 * _liberal() says 1 or 0, or a negative errno without conntrack.
 */
int conntrack_fastpath_ready(const struct hp_config *cfg);
int conntrack_liberal(void);

/* stats.c */
int percpu_add(int fd, const void *key, __u64 *sum, size_t n_u64);
int stats_sum(int fd, struct hp_stats *sum);
/* Live conns entries and how many left uncounted: inserts less the live and the deleted ones. */
int stats_conns(const struct hp_stats *sum, int conns_fd, __u64 *live, __u64 *evicted);

/* json.c: a minimal streaming JSON writer for -j. */
void json_begin_object(void);
void json_end_object(void);
void json_begin_array(const char *key);
void json_end_array(void);
void json_str(const char *key, const char *val);
void json_u64(const char *key, unsigned long long val);
void json_bool(const char *key, bool val);
void json_done(void);

#endif /* HP_USER_H */
