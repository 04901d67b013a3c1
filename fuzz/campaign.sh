#!/bin/sh
# campaign.sh BUILDDIR TARGET SECONDS [libFuzzer flags...] — one campaign leg as recorded in
# fuzz/README.md: runs BUILDDIR/fuzz/fuzz_TARGET (a tree configured with --enable-fuzzing
# CC=clang) under nice -n 19 for SECONDS of wall time, with the target's seed corpus (and, for
# open and decode, the conformance vectors) as read-only seeds, a work corpus and artifacts
# under ${FUZZ_WORK:-/tmp/ecqf-fuzz}, and the CPU time measured by /usr/bin/time.
#   fuzz/campaign.sh /tmp/b-fuzz-lf decode 3600 -dict=fuzz/ecqf.dict -max_len=65536
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
bdir=$1 t=$2 secs=$3
shift 3
work=${FUZZ_WORK:-/tmp/ecqf-fuzz}
mkdir -p "$work/corpus-$t" "$work/artifacts-$t"
leg=$(date +%Y%m%d-%H%M%S)
extra=
case $t in open|decode) extra="$src/conformance/vectors/valid $src/conformance/vectors/invalid" ;; esac
# shellcheck disable=SC2086
/usr/bin/time -f "CPU user %U sys %S wall %e" -o "$work/$t-$leg.time" \
    nice -n 19 "$bdir/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
    -timeout=20 -artifact_prefix="$work/artifacts-$t/" "$@" \
    "$work/corpus-$t" "$src/fuzz/corpus/$t" $extra >"$work/$t-$leg.log" 2>&1 || true
cat "$work/$t-$leg.time"
grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units' "$work/$t-$leg.log" || true
ls "$work/artifacts-$t"
