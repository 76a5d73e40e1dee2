/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tables, shared by every program of the object: each entry file
 * includes this header, and the linker keeps one copy of each (__weak).
 * Layouts are in include/hairpin.h.
 */
#ifndef HP_BPF_MAPS_H
#define HP_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "hairpin.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HP_MAX_MAPPINGS);
	__type(key, struct hp_map_key);
	__type(value, struct hp_map_val);
} hp_mappings SEC(".maps") __weak;

/* Written by user space with each mapping, so that only mapped ports count. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HP_MAX_MAPPINGS);
	__type(key, __u32);
	__type(value, struct hp_map_counters);
} hp_map_counters SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct hp_iface);
} hp_ifaces SEC(".maps") __weak;

/* The names of the interfaces in hp_ifaces, for user space only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct hp_ifname);
} hp_ifnames SEC(".maps") __weak;

/* A plain hash: it never evicts; conn.h makes room by early drop (struct hp_conn). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HP_MAX_CONNS);
	__type(key, struct hp_conn_key);
	__type(value, struct hp_conn);
} hp_conns SEC(".maps") __weak;

/* Sized as hp_conns, each room for a slot of every entry (room.h). */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, HP_MAX_CONNS);
	__type(value, struct hp_conn_slot);
} hp_conn_queue SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, HP_MAX_CONNS);
	__type(value, struct hp_conn_slot);
} hp_conn_assured SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HP_MAX_FRAGS);
	__type(key, struct hp_frag_key);
	__type(value, struct hp_frag);
} hp_frags SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hp_config);
} hp_config SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hp_stats);
} hp_stats SEC(".maps") __weak;

/*
 * xdp_tx: ifindex -> ifindex, the devices the XDP program may redirect to:
 * those the loader found take XDP frames (HP_IFACE_XDP_TX in ifaces). A
 * frame sent to a device without that would be lost, not passed on.
 */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, HP_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} hp_xdp_tx SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HP_MAX_HOPS);
	__type(key, __u32);
	__type(value, struct hp_hop);
} hp_hops SEC(".maps") __weak;

/* HP_LAYOUT_VERSION of the pinned tables, for user space only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} hp_layout SEC(".maps") __weak;

static __always_inline struct hp_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&hp_config, &zero);
}

static __always_inline struct hp_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&hp_stats, &zero);
}

static __always_inline struct hp_iface *iface_get(__u32 ifindex)
{
	return bpf_map_lookup_elem(&hp_ifaces, &ifindex);
}

#endif /* HP_BPF_MAPS_H */
