#!/bin/bash
# Builds the end-to-end benchmark capture: at least PACKETS packets (default 600000) of real TCP,
# as one microsecond pcap. Not committed (tens of MB); made at bench time.
#
#   sudo scripts/make-bench-capture.sh OUT.pcap [PACKETS]
#
# Three captures of real traffic between two network namespaces (../shared/tools/capture-veth.sh:
# kernel TCP, curl against Python's http.server): IPv4 with many short connections and one large
# download, IPv4 with 1% loss (real retransmissions), and IPv4 + IPv6. They are concatenated into
# one base trace, and the base is repeated, each copy shifted in time to start after the previous
# one ends (editcap -t, mergecap -a), until there are PACKETS packets; the last copy is cut short.
# A repeated connection is the same 4-tuple reused after it closed, as a busy client reuses ports.
#
# Needs root (network namespaces), iproute2, tcpdump, curl, python3, nftables, and Wireshark's
# editcap, mergecap and capinfos. CAPTURE_VETH overrides the path of capture-veth.sh; RUNS, the
# capture-veth.sh options of each run, ';' between runs (many short connections, IPv4 and IPv6:
# RUNS="--ipv6 --big 20000 --requests 1500"). BASE=FILE repeats that capture instead of making
# new ones (scripts/make-short-capture.sh uses it).
set -euo pipefail
out=${1:?usage: make-bench-capture.sh OUT.pcap [PACKETS]}
packets=${2:-600000}
here=$(cd "$(dirname "$0")" && pwd)
veth=${CAPTURE_VETH:-$here/../../shared/tools/capture-veth.sh}
# a worktree under /work/wt sits one level deeper than /work/main
[ -f "$veth" ] || [ -n "${CAPTURE_VETH:-}" ] || veth=$here/../../../shared/tools/capture-veth.sh
base=${BASE:-}
[ -n "$base" ] || [ -f "$veth" ] || { echo "make-bench-capture: $veth not found (set CAPTURE_VETH)" >&2; exit 2; }
[ -z "$base" ] || [ -f "$base" ] || { echo "make-bench-capture: BASE $base not found" >&2; exit 2; }
case $packets in ''|*[!0-9]*) echo "make-bench-capture: bad PACKETS \"$packets\": expected a whole number" >&2; exit 2 ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "$base" ]; then
  editcap -F pcap "$base" "$tmp/base.pcap"
else
  runs=${RUNS:---big 10000000 --requests 400;--loss 1 --big 8000000 --requests 60;--ipv6 --big 8000000 --requests 60}
  IFS=';' read -ra sets <<< "$runs"
  captured=()
  for i in "${!sets[@]}"; do
    # shellcheck disable=SC2086 # each set is a list of options
    bash "$veth" "$tmp/run$i.pcap" ${sets[$i]} >/dev/null
    captured+=("$tmp/run$i.pcap")
  done
  mergecap -F pcap -a -w "$tmp/base.pcap" "${captured[@]}"
fi

count=$(capinfos -T -r -c "$tmp/base.pcap" | cut -f2)
# whole seconds from the first packet to the last, plus one: the shift between copies
span=$(capinfos -T -r -u "$tmp/base.pcap" | cut -f2 | cut -d. -f1)
span=$((span + 1))
full=$((packets / count)) rest=$((packets % count))
parts=()
for i in $(seq 0 $((full - 1))); do
  editcap -F pcap -t $((i * span)) "$tmp/base.pcap" "$tmp/copy$i.pcap"
  parts+=("$tmp/copy$i.pcap")
done
if [ "$rest" -gt 0 ]; then
  editcap -F pcap -t $((full * span)) -r "$tmp/base.pcap" "$tmp/rest.pcap" "1-$rest"
  parts+=("$tmp/rest.pcap")
fi
mergecap -F pcap -a -w "$out" "${parts[@]}"
copies=$((full + (rest > 0)))
echo "wrote $out: $packets packets ($copies copies of a $count-packet base trace, ${span}s apart)"
