#!/bin/sh
# campaign.sh BUILDDIR TARGET SECONDS [libFuzzer flags...] — one campaign leg as recorded in
# fuzz/README.md: runs BUILDDIR/fuzz/fuzz_TARGET (a tree configured with --enable-fuzzing
# CC=clang) under nice -n 19 with the target's seed corpus (and, for open and decode, the
# conformance vectors) as read-only seeds, a work corpus and artifacts under
# ${FUZZ_WORK:-/tmp/ecqf-fuzz}, and the CPU time measured by /usr/bin/time.
#   fuzz/campaign.sh /tmp/b-fuzz-lf decode 3600 -dict=fuzz/ecqf.dict -max_len=65536
# SECONDS is wall time, unless FUZZ_CPU=1: then the leg ends once the fuzzer has used SECONDS of
# CPU (user+system, read from /proc every 5 s) and is stopped with SIGINT, after which libFuzzer
# prints its final statistics. On a shared machine that is the budget that matters.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
bdir=$1 t=$2 secs=$3
shift 3
work=${FUZZ_WORK:-/tmp/ecqf-fuzz}
mkdir -p "$work/corpus-$t" "$work/artifacts-$t"
leg=$(date +%Y%m%d-%H%M%S)
extra=
case $t in open|decode) extra="$src/conformance/vectors/valid $src/conformance/vectors/invalid" ;; esac
wall=$secs
[ "${FUZZ_CPU:-0}" = 1 ] && wall=$((secs * 20))
# shellcheck disable=SC2086
/usr/bin/time -f "CPU user %U sys %S wall %e" -o "$work/$t-$leg.time" \
    nice -n 19 "$bdir/fuzz/fuzz_$t" -max_total_time="$wall" -print_final_stats=1 -rss_limit_mb=2048 \
    -timeout=20 -artifact_prefix="$work/artifacts-$t/" "$@" \
    "$work/corpus-$t" "$src/fuzz/corpus/$t" $extra >"$work/$t-$leg.log" 2>&1 &
timer=$!
if [ "${FUZZ_CPU:-0}" = 1 ]; then
    tck=$(getconf CLK_TCK)
    sleep 2
    fuzzer=$(pgrep -P "$timer" | head -n 1)
    while [ -n "$fuzzer" ] && [ -r "/proc/$fuzzer/stat" ]; do
        # fields 14 and 15 of /proc/PID/stat (after the parenthesised name) are utime and stime
        used=$(sed 's/.*) //' "/proc/$fuzzer/stat" | awk -v t="$tck" '{ print int(($12 + $13) / t) }')
        if [ "$used" -ge "$secs" ]; then
            kill -INT "$fuzzer" 2>/dev/null || true
            break
        fi
        sleep 5
    done
fi
wait "$timer" || true
cat "$work/$t-$leg.time"
grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units|run interrupted' "$work/$t-$leg.log" || true
ls "$work/artifacts-$t"
