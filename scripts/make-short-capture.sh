#!/bin/bash
# Builds the short-connection benchmark capture: real HTTP connections opened and closed one after
# another (curl fetching a 6-byte page, IPv4 then IPv6, plus one 1 MB download each), repeated to
# PACKETS packets (default 500000) as one microsecond pcap. Not committed (about 90 MB); made at
# bench time.
#
#   scripts/make-short-capture.sh OUT.pcap [PACKETS] [REQUESTS]
#
# One capture of REQUESTS (default 1000) connections per family between two network namespaces
# (../shared/tools/capture-veth.sh --ipv6 --big 1000000: kernel TCP, curl against Python's
# http.server; about 3 minutes, curl is started once per connection), then repeated by
# scripts/make-bench-capture.sh (each copy shifted in time to start after the previous one ends):
# about 12 packets a connection, 175 bytes a packet on average, 40,000 connections in 500,000
# packets. Needs root and what make-bench-capture.sh needs.
set -euo pipefail
out=${1:?usage: make-short-capture.sh OUT.pcap [PACKETS] [REQUESTS]}
packets=${2:-500000}
requests=${3:-1000}
here=$(cd "$(dirname "$0")" && pwd)
veth=${CAPTURE_VETH:-$here/../../shared/tools/capture-veth.sh}
# a worktree under /work/wt sits one level deeper than /work/main
[ -f "$veth" ] || [ -n "${CAPTURE_VETH:-}" ] || veth=$here/../../../shared/tools/capture-veth.sh
[ -f "$veth" ] || { echo "make-short-capture: $veth not found (set CAPTURE_VETH)" >&2; exit 2; }
case $requests in ''|*[!0-9]*|0) echo "make-short-capture: bad REQUESTS \"$requests\": expected a whole number >= 1" >&2; exit 2 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$veth" "$tmp/short.pcap" --ipv6 --big 1000000 --requests "$requests" >/dev/null
BASE="$tmp/short.pcap" bash "$here/make-bench-capture.sh" "$out" "$packets"
