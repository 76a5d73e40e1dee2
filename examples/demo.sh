#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The field report, replayed in throwaway namespaces: a LAN client opens the
# router's public address and fails with DNAT alone; hairpin fixes it.
set -eu
cd "$(dirname "$0")/.."
source tests/e2e/lib.sh
trap topo_down EXIT

step() { printf '\n== %s\n' "$*"; }
show() { printf '# hairpin %s\n' "${*:2}"; "$@"; } # show hp ARGS

step "Building a router ($R) with a LAN bridge, a LAN server and client, and a WAN client"
topo_up
tcp_server 80
echo "router: br-lan $LAN_ROUTER/24, wan0 $PUB/24; server $SRV_ADDR:80; LAN client $C1_ADDR"

step "1. Port forward with DNAT only (nftables), as in the field report"
nft_dnat_only 8080
echo "WAN client -> $PUB:8080: server saw $(tcp_get "$W" $PUB 8080)"
in_ns "$C1" timeout 6 tcpdump -l -n -i eth0 -c 3 tcp 2>/dev/null &
dump=$!
sleep 1
got=$(tcp_get "$C1" $PUB 8080) || true
wait $dump || true
[ -n "$got" ] || got="FAILED: the client reset the SYN/ACK that came straight from the server"
echo "LAN client -> $PUB:8080: $got"
in_ns "$R" nft delete table ip nat

step "2. The same forward with hairpin"
printf 'map tcp wan:8080 %s:80\n' $SRV_ADDR >"/tmp/hairpin-demo-$ID.conf"
show hp attach --lan br-lan --wan wan0 -c "/tmp/hairpin-demo-$ID.conf"
echo "WAN client -> $PUB:8080: server saw $(tcp_get "$W" $PUB 8080)"
echo "LAN client -> $PUB:8080: server saw $(tcp_get "$C1" $PUB 8080)"
show hp map list
show hp flows
show hp stats
show hp detach
rm -f "/tmp/hairpin-demo-$ID.conf"
echo
echo "demo: the LAN client reaches the server through the public address with hairpin."
