#!/bin/sh
# campaign-summary.sh [WORKDIR] — one line per campaign leg recorded by fuzz/campaign.sh under
# WORKDIR (default ${FUZZ_WORK:-/tmp/ecqf-fuzz}): target, leg, CPU minutes (user+system from
# /usr/bin/time), executions, edges (cov) and features (ft) at the start and the end, and the
# number of saved artifacts (crashes, timeouts, out-of-memory inputs) of that target.
set -eu
work=${1:-${FUZZ_WORK:-/tmp/ecqf-fuzz}}
printf '%-12s %-16s %8s %13s %11s %11s %9s\n' target leg cpu_min executions cov ft artifacts
for log in "$work"/*-*.log; do
    [ -f "$log" ] || continue
    base=${log%.log}
    leg=${base##*/}
    t=${leg%%-*}
    leg=${leg#*-}
    cpu=$(awk '/^CPU user/ { printf "%.1f", ($3 + $5) / 60 }' "$base.time" 2>/dev/null)
    execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
    start=$(grep -m 1 'INITED' "$log" | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p')
    end=$(grep 'cov:' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p')
    arts=$(find "$work/artifacts-$t" -type f 2>/dev/null | wc -l)
    # shellcheck disable=SC2086
    set -- ${start:-? ?} ${end:-? ?}
    printf '%-12s %-16s %8s %13s %11s %11s %9s\n' "$t" "$leg" "${cpu:-?}" "${execs:-?}" \
        "$1->$3" "$2->$4" "$arts"
done
