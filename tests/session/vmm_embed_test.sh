#!/bin/sh
# vmm_embed_test.sh VMM_EMBED GUEST_TOOL GUEST_OBJECT: runs the C "VMM"
# (vmm_embed.c) in a fresh network namespace with its own tap and pin root;
# the real guest tool offloads GUEST_OBJECT through it. Afterwards nothing
# of the session may be left: no pins, no program on the tap's egress (tcx,
# asked of the kernel by tcx_egress_count.py; nor a cls_bpf filter).
set -eu
vmm="$1" guest="$2" obj="$3"
tcx_count="$(dirname "$0")/tcx_egress_count.py"
exec unshare -n sh -eu -c '
vmm="$1" guest="$2" obj="$3" tcx_count="$4"
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
progs=$(python3 "$tcx_count" "$tap")
if [ "$progs" != 0 ]; then
  echo "FAIL: $progs programs left on the tcx egress of $tap" >&2
  exit 1
fi
echo "no pins, no tcx programs and no filters left"
' sh "$vmm" "$guest" "$obj" "$tcx_count"
