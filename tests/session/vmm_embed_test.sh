#!/bin/sh
# vmm_embed_test.sh VMM_EMBED GUEST_TOOL GUEST_OBJECT: runs the C "VMM"
# (vmm_embed.c) in a fresh network namespace with its own tap and pin root;
# the real guest tool offloads GUEST_OBJECT through it. Afterwards nothing
# of the session may be left: no pins, no tc filter on the tap.
set -eu
vmm="$1" guest="$2" obj="$3"
exec unshare -n sh -eu -c '
vmm="$1" guest="$2" obj="$3"
tap="xocapi$$"
pins="/sys/fs/bpf/xo_capi_$$"
sock="/tmp/xo_capi_$$.sock"
trap "ip link del \"$tap\" 2>/dev/null || true; rm -rf \"$pins\" \"$sock\"" EXIT
ip link set lo up
ip tuntap add dev "$tap" mode tap
ip link set "$tap" up
mkdir -p "$pins"
"$vmm" "xo_capi$$" "$tap" "$sock" "$pins" "$guest" "$obj"
left=$(find "$pins" -mindepth 1 | wc -l)
if [ "$left" -ne 0 ]; then
  echo "FAIL: $left pins left under $pins:" >&2
  find "$pins" -mindepth 1 >&2
  exit 1
fi
filters=$(tc filter show dev "$tap" egress 2>/dev/null | wc -l)
if [ "$filters" -ne 0 ]; then
  echo "FAIL: tc filters left on $tap:" >&2
  tc filter show dev "$tap" egress >&2
  exit 1
fi
echo "no pins and no filters left"
' sh "$vmm" "$guest" "$obj"
