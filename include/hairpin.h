/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one definition of every table shared by the BPF programs and the
 * hairpin command. Fields are in network byte order where named __be*,
 * host order otherwise. Every struct has explicit padding and a size check,
 * because user space and BPF must agree on the layout byte for byte.
 */
#ifndef HAIRPIN_H
#define HAIRPIN_H

#include <linux/types.h>

#define HP_PROTO_TCP 6
#define HP_PROTO_UDP 17

/*
 * Bumped whenever a pinned table's layout or what else the pin dir holds
 * changes; the "layout" pin holds the version of the tables pinned beside
 * it (1: made before it existed).
 */
#define HP_LAYOUT_VERSION 8

/*
 * Table sizes, in entries. conns and mappings (with map_counters) are the
 * defaults of the config's "size" statements (conns sizes its two queues
 * too), set at load: a 2-CPU router with both tables full holds about
 * 16 MiB (README, "Memory").
 */
#define HP_MAX_MAPPINGS 16384
#define HP_MAX_IFACES 64
#define HP_MAX_CONNS 65536
#define HP_MAX_FRAGS 8192
/* conn_queue and conn_assured have room for a slot of every conns entry: sized as conns. */

/* Default hairpin SNAT port range: above Linux's ephemeral range (32768-60999). */
#define HP_SNAT_PORT_MIN 61000
#define HP_SNAT_PORT_MAX 65535
/* How many SNAT ports a new connection tries before it is dropped. */
#define HP_SNAT_TRIES 64

/* Default timeouts, seconds (RFC 5382 for TCP, RFC 4787 for UDP). */
#define HP_TIMEOUT_TCP_EST 7440
#define HP_TIMEOUT_TCP_CLOSE 10
#define HP_TIMEOUT_UDP 120
/* The longest timeout the config accepts: a year. */
#define HP_TIMEOUT_MAX (366U * 24 * 3600)

/* mappings: (proto, public ip, public port) -> (private ip, private port) */
struct hp_map_key {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

/*
 * A range of N ports is stored as N entries, offset for offset; each entry
 * remembers its range so that `map list` and `map del` can treat the range
 * as one mapping.
 */
/*
 * How hairpinned clients are source-NATed: to the router's address towards
 * the server (internal), to the public address (external), or not at all
 * (off: destination NAT only, for clients whose replies come back through
 * the router anyway). The scope limits it to clients in the server's own
 * subnet; others keep their address (which the server's logs then show).
 */
enum hp_snat_mode {
	HP_SNAT_INTERNAL = 0,
	HP_SNAT_EXTERNAL = 1,
	HP_SNAT_OFF = 2,
};

enum hp_snat_scope {
	HP_SCOPE_ALL = 0,
	HP_SCOPE_SUBNET = 1,
};

/* struct hp_map_val.flags */
#define HP_MAP_WAN (1U << 0)	      /* written as "wan": follows the WAN interface's address */
#define HP_MAP_SNAT_OWN (1U << 1)     /* the mapping's own SNAT mode and scope, not the global */
#define HP_MAP_SNAT_SHIFT 2	      /* then: enum hp_snat_mode in bits 2-3, */
#define HP_MAP_SCOPE_SUBNET (1U << 4) /* and HP_SCOPE_SUBNET here */
/* Checks the user waived, kept so that `show` prints them; the datapath ignores them. */
#define HP_MAP_ANY_ADDR (1U << 5)      /* public address need not be the router's */
#define HP_MAP_HIDE_LISTENER (1U << 6) /* may take a port the router listens on */

struct hp_map_val {
	__be32 addr;
	__be16 port;
	__u16 range_first; /* first public port of the range, host order */
	__u16 range_len;   /* number of ports in the range */
	__u16 flags;
	__u32 counters; /* this public port's index in map_counters */
};

/*
 * map_counters: per-CPU traffic of each public port of a mapping, in the
 * slot its mappings entry names (struct hp_map_val.counters) and every
 * connection to it carries (struct hp_conn.counters): an array, so that a
 * packet finds its counters without a hash lookup. The slot names the port
 * it counts for, the same in every CPU's copy; proto 0 marks a free slot.
 * A connection counts only while the slot is still its public port's: one
 * that outlives its mapping (deleted, or moved to the WAN's new address)
 * counts nowhere, and never for another port that took the slot since. Packets
 * are counted once each, where the public side is rewritten (ingress DNAT,
 * egress un-DNAT), by where the client came from.
 */
struct hp_map_counters {
	struct hp_map_key port; /* whose: written by user space, read-only in BPF */
	__u64 wan_packets;
	__u64 wan_bytes;
	__u64 wan_conns;
	__u64 hairpin_packets;
	__u64 hairpin_bytes;
	__u64 hairpin_conns;
};

/* ifaces: ifindex -> role and the address hairpinned clients are SNATed to */
enum hp_role {
	HP_ROLE_LAN = 1,
	HP_ROLE_WAN = 2,
};

/* struct hp_iface.flags */
#define HP_IFACE_OWN_QDISC (1U << 0) /* the clsact qdisc was created by attach */
/* In xdp_tx: the device takes frames the XDP program redirects to it. */
#define HP_IFACE_XDP_TX (1U << 1)
/* For user space only: the mode attach loads the XDP program in here, if any, */
#define HP_IFACE_XDP_NATIVE (1U << 2)
#define HP_IFACE_XDP_SKB (1U << 3)
/* and the device cannot run it so (a bridge natively): its packets take the TC programs. */
#define HP_IFACE_XDP_UNSUPPORTED (1U << 4)
/* Packets start with the IPv4 header, no link-layer header before it (PPP, tun). */
#define HP_IFACE_L3 (1U << 5)
/*
 * And it is PPP: the fast path sends nothing to it. bpf_redirect() takes
 * the Ethernet header off for PPP only since a 2023 kernel fix; a kernel
 * without it would send the header as data, and the version cannot tell.
 */
#define HP_IFACE_PPP (1U << 6)
/* Its TC programs are pinned tcx links (Linux 6.6+), not clsact filters. */
#define HP_IFACE_TCX (1U << 7)

struct hp_iface {
	__be32 snat_addr; /* the router's own IPv4 address on this interface */
	__u8 role;
	__u8 flags;
	__u8 prefix_len; /* of snat_addr's subnet */
	__u8 pad;
	__u8 mac[6]; /* the interface's own: XDP sees no packet type, only the destination MAC */
	__u8 pad2[2];
};

/*
 * ifnames: ifindex -> the interface's name, beside ifaces, for user space
 * only: an interface deleted and made again (pppd on every reconnect) has a
 * new index, and the name is how watch finds it and status reports it.
 */
#define HP_IFNAMSIZ 16 /* IFNAMSIZ, with its NUL */

struct hp_ifname {
	char name[HP_IFNAMSIZ];
};

/*
 * conns: connection state, one entry per tuple a hook sees. A hairpinned
 * connection client C -> public P, mapped to server S and source-NATed to
 * router address R, has four entries:
 *
 *   ingress C:c -> P:p   HP_CONN_ORIG       dst := S:s   (DNAT)
 *   egress  C:c -> S:s   HP_CONN_FWD_SNAT   src := R:r   (hairpin SNAT)
 *   ingress S:s -> R:r   HP_CONN_REPLY_SNAT dst := C:c   (un-SNAT)
 *   egress  S:s -> C:c   HP_CONN_REPLY_DNAT src := P:p   (un-DNAT)
 *
 * A connection from the WAN (or one not source-NATed) has the same, with an
 * egress entry C:c -> S:s that rewrites nothing (HP_CONN_NO_SNAT): egress
 * marks each direction's egress entry HP_CONN_FORWARDED when it has seen it
 * leave the router, the fast path's condition. Every entry carries
 * the whole connection, so each hook rewrites with one lookup and `flows`
 * lists the ORIG entries.
 *
 * The table never evicts (a plain hash: a full one refuses inserts). A
 * connection is "assured", as netfilter says, once it has proven itself: TCP
 * when the client acknowledged the server's SYN-ACK, UDP when a packet passes
 * after a reply and at least HP_UDP_ASSURE seconds after the first. When a
 * new entry does not fit, room is made (bpf/room.h): entries of dead
 * connections are removed, and so are whole connections that are not
 * assured or are closing ("early drop"); live assured ones are never removed
 * for a newcomer, which is refused instead.
 */
enum hp_dir {
	HP_DIR_INGRESS = 0,
	HP_DIR_EGRESS = 1,
};

struct hp_conn_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir; /* enum hp_dir */
	__u16 pad;
};

enum hp_conn_kind {
	HP_CONN_ORIG = 1,
	HP_CONN_FWD_SNAT = 2,
	HP_CONN_REPLY_SNAT = 3,
	HP_CONN_REPLY_DNAT = 4,
};

/* struct hp_conn.flags */
#define HP_CONN_HAIRPIN (1U << 0)	/* client came in on a LAN interface */
#define HP_CONN_CLOSING (1U << 1)	/* TCP FIN or RST seen */
#define HP_CONN_SNAT_EXTERNAL (1U << 2) /* hairpin SNAT to the public address */
#define HP_CONN_SNAT_SUBNET (1U << 3)	/* hairpin SNAT only for a client in the server's subnet */
#define HP_CONN_NO_SNAT (1U << 4)	/* decided: this connection is not source-NATed */
#define HP_CONN_FORWARDED (1U << 5) /* egress entry: its direction left the router (fast path) */
#define HP_CONN_ASSURED (1U << 6)   /* ORIG and REPLY_DNAT entries: the connection proved itself */
#define HP_CONN_REPLIED (1U << 7)   /* REPLY_DNAT entry: a reply left the router */

/* A UDP connection is assured no sooner than this after its first packet (netfilter's 2 s). */
#define HP_UDP_ASSURE 2

struct hp_conn {
	__be32 client_addr;
	__be32 public_addr;
	__be32 server_addr;
	__be32 snat_addr; /* 0 until the egress hook has chosen it */
	__be16 client_port;
	__be16 public_port;
	__be16 server_port;
	__be16 snat_port;
	__u8 proto;
	__u8 kind; /* enum hp_conn_kind */
	__u8 flags;
	__u8 fast; /* HP_FAST_* */
	union {
		/* REPLY_DNAT of TCP, until assured: the server's SYN-ACK seq + 1, host order */
		__u32 synack_next;
		/* HP_FAST_READY (only ever on an assured entry): the direction's egress device */
		__u32 fast_ifindex;
	};
	__u64 created_ns; /* CLOCK_MONOTONIC */
	__u64 last_ns;
	__u32 counters; /* the mapping's slot in map_counters (struct hp_map_val.counters) */
	__u32 fast_hop; /* HP_FAST_READY: the direction's next hop, its index and tag in hops */
	/*
	 * The interface the direction's packets come in on: on an egress entry,
	 * where the last one the stack forwarded came from (HP_CONN_FORWARDED);
	 * on the entry the fast path looks up, a copy made at each check. A
	 * packet from another interface takes the stack path, and its rp_filter.
	 * 0 where the stack named a device hairpin is not on (a VRF's master).
	 */
	__u32 in_ifindex;
	__u32 pad;
};

/*
 * The fast path checks a direction whole again on its first packet in each
 * new 2^HP_FAST_RECHECK_SHIFT ns (a quarter second) of the clock, and after
 * as long a pause, and only then refreshes the time of the direction's
 * egress entry (FWD_SNAT, or a hairpinned reply's REPLY_DNAT), which may so
 * lag by up to HP_FAST_RECHECK_NS. A change of interfaces reaches
 * fast-pathed directions as late.
 */
#define HP_FAST_RECHECK_SHIFT 28
#define HP_FAST_RECHECK_NS (1ULL << HP_FAST_RECHECK_SHIFT)

/*
 * struct hp_conn.fast, on the entry a direction's packets are looked up by
 * at ingress (ORIG, REPLY_SNAT, or REPLY_DNAT of a connection not
 * source-NATed): the fast path checked the whole direction (bpf/fastpath.h)
 * and its egress device is fast_ifindex. Bits 2-7 hold the quarter second
 * of the last whole check (its time >> HP_FAST_RECHECK_SHIFT, modulo 64).
 */
#define HP_FAST_READY (1U << 0)
#define HP_FAST_L3 (1U << 1) /* the egress device has no link-layer header */
#define HP_FAST_EPOCH_SHIFT 2
#define HP_FAST_EPOCH_MASK (0x3fU << HP_FAST_EPOCH_SHIFT)

/*
 * hops: the next hops fast-pathed directions were last checked to take
 * (struct hp_conn.fast_hop), so that the packets between two checks need
 * no FIB lookup: what bpf_fib_lookup() answered for the packet that was
 * checked, the MTU and the TOS's routing bits included. An entry is where
 * the low bits of the hash of its contents put it (or up to HP_HOP_PROBES
 * further); a direction keeps its index and the hash's high bits, the
 * entry's tag, and uses it only while both still match. ifindex is written
 * last, so an entry whose ifindex a direction expects is whole;
 * HP_HOP_CLAIMED while it is being written. An entry no check has found for
 * HP_HOP_STALE_NS is one no direction uses, and is taken for another next
 * hop when its place is wanted; attach and watch clear those of deleted
 * devices.
 */
#define HP_MAX_HOPS 1024 /* a power of 2 */
#define HP_HOP_SLOT_BITS 10
#define HP_HOP_PROBES 8
#define HP_HOP_CLAIMED (1ULL << 63)
#define HP_HOP_NONE 0xffffffffU /* struct hp_conn.fast_hop: no entry, the FIB every packet */
#define HP_HOP_STALE_NS (4 * HP_FAST_RECHECK_NS)

/* struct hp_hop.flags */
#define HP_HOP_GSO (1U << 0) /* mtu is the device's, which GSO packets are judged by: for them only */

struct hp_hop {
	__u64 ifindex;	/* 0: a free entry */
	__u64 noted_ns; /* when a check last found it */
	__u8 dmac[6];
	__u8 smac[6];
	__u16 mtu; /* the largest IP packet (GSO: segment) the route takes */
	__u8 tos;  /* the DSCP bits of the packets it was found for */
	__u8 flags;
	__u32 tag; /* the hash's bits above the index's, kept by the directions too */
	__u32 pad;
};

/*
 * conn_queue: a FIFO of slots, one pushed for each conns entry written for
 * a new connection; conn_assured: the slots of those found assured since. A
 * full table pops slots to make room; a slot whose entry is gone or belongs
 * to a newer connection (another created_ns) is stale and dropped.
 */
struct hp_conn_slot {
	struct hp_conn_key key;
	__u64 created_ns; /* of the entry the slot was pushed for */
};

/*
 * frags: the translation of a fragmented datagram, learnt from its first
 * fragment (the one with the ports) and applied to the later ones, which
 * carry only addresses. Keyed by the header as this hook sees it.
 */
#define HP_FRAG_TIMEOUT 30 /* seconds, as the kernel's ipfrag_time */

struct hp_frag_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id;
	__u8 proto;
	__u8 dir; /* enum hp_dir */
};

struct hp_frag {
	__be32 addr; /* the new address */
	__u8 dst;    /* 1: it replaces the destination, 0: the source */
	__u8 pad[3];
	__u64 created_ns;
};

/* config: a single entry, written by attach */
struct hp_config {
	__u16 snat_port_min;
	__u16 snat_port_max;
	__u32 timeout_tcp_est;	 /* seconds */
	__u32 timeout_tcp_close; /* seconds */
	__u32 timeout_udp;	 /* seconds */
	__u8 snat_mode;		 /* enum hp_snat_mode, for mappings without their own */
	__u8 snat_scope;	 /* enum hp_snat_scope */
	__u8 flags;		 /* HP_CFG_* */
	__u8 pad;
	__u32 mark;	 /* set on packets ingress DNATs, within mark_mask; */
	__u32 mark_mask; /* 0: marks nothing */
};

/* struct hp_config.flags */
#define HP_CFG_NO_FASTPATH (1U << 0) /* "fastpath off": every packet through the stack */

/* stats: per-CPU global counters; field names are what bpftool prints */
struct hp_stats {
	__u64 packets;	       /* IPv4 TCP/UDP packets inspected */
	__u64 dnat;	       /* destination rewritten to a server */
	__u64 snat;	       /* hairpin source rewritten to the router */
	__u64 unsnat;	       /* reply destination rewritten back to the client */
	__u64 undnat;	       /* reply source rewritten back to the public address */
	__u64 conns_new;       /* connections created */
	__u64 conns_expired;   /* stale state replaced by a new connection */
	__u64 malformed;       /* bad or truncated header, passed unchanged */
	__u64 fragments;       /* later fragments translated as their first one was */
	__u64 snat_exhausted;  /* no free hairpin SNAT port: dropped */
	__u64 conn_table_full; /* table full of assured connections: new one refused (dropped) */
	__u64 frag_unknown;    /* later fragments of no translated datagram: passed unchanged */
	__u64 icmp_errors;     /* ICMP errors about a connection, translated */
	__u64 conn_inserts;    /* conns entries written under a new key */
	__u64 conn_clash;      /* new connection would take a live one's reply tuple: dropped */
	__u64 tcp_no_syn;      /* TCP to a mapped port, not a SYN, no state: passed unchanged */
	__u64 fastpath;	       /* translated and sent to the egress device from ingress */
	__u64 conn_early_drop; /* connections not assured (or closing) removed to make room */
	__u64 conn_deletes; /* conns entries removed to make room (early drop, dead connections) */
	__u64 xdp_fastpath; /* translated and redirected by the XDP program, before any skb */
};

#define HP_CONFIG_DEFAULT                                                                          \
	{                                                                                          \
		.snat_port_min = HP_SNAT_PORT_MIN, .snat_port_max = HP_SNAT_PORT_MAX,              \
		.timeout_tcp_est = HP_TIMEOUT_TCP_EST, .timeout_tcp_close = HP_TIMEOUT_TCP_CLOSE,  \
		.timeout_udp = HP_TIMEOUT_UDP,                                                     \
	}

/* How long connection @c lives without traffic, in seconds. */
static inline __u64 hp_conn_timeout(const struct hp_config *cfg, const struct hp_conn *c)
{
	if (c->proto == HP_PROTO_TCP)
		return (c->flags & HP_CONN_CLOSING) ? cfg->timeout_tcp_close : cfg->timeout_tcp_est;
	return cfg->timeout_udp;
}

_Static_assert(sizeof(struct hp_map_key) == 8, "hp_map_key layout");
_Static_assert(sizeof(struct hp_map_val) == 16, "hp_map_val layout");
_Static_assert(sizeof(struct hp_map_counters) == 8 + 6 * 8, "hp_map_counters layout");
_Static_assert(sizeof(struct hp_iface) == 16, "hp_iface layout");
_Static_assert(sizeof(struct hp_ifname) == 16, "hp_ifname layout");
_Static_assert(sizeof(struct hp_conn_key) == 16, "hp_conn_key layout");
_Static_assert(sizeof(struct hp_conn) == 64, "hp_conn layout");
_Static_assert(sizeof(struct hp_conn_slot) == 24, "hp_conn_slot layout");
_Static_assert(sizeof(struct hp_hop) == 40, "hp_hop layout");
_Static_assert(sizeof(struct hp_frag_key) == 12, "hp_frag_key layout");
_Static_assert(sizeof(struct hp_frag) == 16, "hp_frag layout");
_Static_assert(sizeof(struct hp_config) == 28, "hp_config layout");
_Static_assert(sizeof(struct hp_stats) == 20 * 8, "hp_stats layout");

#endif /* HAIRPIN_H */
