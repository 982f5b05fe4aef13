#!/bin/sh
# datapath_smoke.sh XO_DATAPATH JSON: runs the benchmark briefly and checks
# that the JSON has every key of the RFC table with a positive rate, the
# generator's ceiling and the per-packet cost rows.
set -eu
bin="$1"
json="$2"
rm -f "$json"
# 0.2 s per measurement and the default session nice (-20): enough CPU for the
# guest-side reader even next to busy builds, ~10 s in all.
"$bin" --seconds 0.2 --rounds 1 --cost-repeat 20000 --cost-rounds 1 --json "$json"
fail=0
check() {  # check JQ_EXPR DESCRIPTION
  if ! jq -e "$1" "$json" >/dev/null; then
    echo "FAIL: $2 ($1)" >&2
    fail=1
  fi
}
check '.generator_mpps > 0' "generator_mpps positive"
for c in case1 case2; do
  for p in xdp1 xdp2; do
    for k in no_offload_mpps offload_mpps ratio; do
      check ".$c.$p.$k > 0" "$c.$p.$k positive"
    done
    check "(.$c.$p.ratio - .$c.$p.offload_mpps / .$c.$p.no_offload_mpps | fabs) < 0.01 * .$c.$p.ratio" \
      "$c.$p.ratio = offload / no offload"
  done
done
check '[.cost[] | select(.native_ns > 0 and .translated_ns > 0 and .translated_stats_ns > 0)] | length == 4' \
  "4 cost rows with positive ns"
check '[.cost[] | "\(.prog)/\(.hook)"] | sort == ["xdp1/chain","xdp1/tc","xdp2/chain","xdp2/tc"]' \
  "cost rows for xdp1/xdp2 x tc/chain"
# What the offload figures count must not reach the guest side: with
# offload, the tap sees (almost) nothing of the generator's frames.
check '.case1.xdp1.guest_rx_offload_mpps < 0.1 * .case1.xdp1.offload_mpps' "case1 xdp1 offload keeps frames off the tap"
check '.case2.xdp1.guest_rx_offload_mpps < 0.1 * .case2.xdp1.offload_mpps' "case2 xdp1 offload keeps frames off the tap"
exit $fail
