#!/bin/bash
# run-h100.sh — build the CUDA backend for Hopper (sm_90), check it, benchmark it, count its
# instructions, and leave everything under $OUT (default ./cuda-out). Runs in a few minutes on
# one H100. Needs nvcc, gcc and an NVIDIA GPU; ncu and cuobjdump are used when present.
#
#   MODE=smoke kernels/cuda/run-h100.sh      quick: checks, 2 shapes, batch 1
#   MODE=full  kernels/cuda/run-h100.sh      every shape, batches 1..16, ncu counters (default)
#
# The benchmark links libecqf, which needs libsodium and libzstd. A machine without their
# development packages can use static copies: put sodium.h, sodium/, zstd.h, zstd_errors.h
# under $CARRY/include and libsodium.a, libzstd.a under $CARRY/lib (CARRY=.gpu-carry by
# default; kernels/cuda/README section "Running on a lent GPU" shows how). The real-model checks
# read $CARRY/stories260K.safetensors (else ../shared/models/stories260K.safetensors).
set -u
set -o pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
OUT=${OUT:-$top/cuda-out}
MODE=${MODE:-full}
CARRY=${CARRY:-$top/.gpu-carry}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
B=${BUILD:-/tmp/ecqf-cuda-build}
mkdir -p "$OUT" "$B/obj"
rm -f "$B/failed" "$B/build.log" "$B"/obj/*.o
export PATH="$PATH:/usr/local/cuda/bin"
log() { echo "[$(date +%H:%M:%S)] $*"; }

log "mode $MODE, out $OUT"
{ nvidia-smi; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem,power.limit --format=csv; nvcc --version; } > "$OUT/device.txt" 2>&1
grep -E "NVIDIA|Driver|release" "$OUT/device.txt" | head -4

# ---- build ---------------------------------------------------------------------------------
inc="-I$top/libecqf -I$top/libecqf/common -I$top/libecqf/codec -I$top/kernels -I$top/tools/common -I$top/tests"
[ -d "$CARRY/include" ] && inc="$inc -I$CARRY/include"
cflags="-std=c11 -O2 -D_POSIX_C_SOURCE=200809L -ffp-contract=off -pthread"
srcs="$(ls libecqf/common/*.c libecqf/codec/*.c libecqf/quant/*.c libecqf/format/*.c libecqf/io/*.c) \
      kernels/cpu/plan.c kernels/cpu/scalar.c kernels/cpu/simd.c kernels/cpu/simd_avx2.c kernels/cpu/simd_avx512.c \
      kernels/metal/ecqf_gpu.c tools/common/safetensors.c tools/common/text.c tools/common/filemap.c tests/test_gpu_common.c tests/gemv_cases.c"
log "compiling $(echo $srcs | wc -w) C files"
fail=0
n=0
for f in $srcs; do
    gcc $cflags -DECQF_BUILDING_LIBRARY $inc -c "$f" -o "$B/obj/$(echo "$f" | tr / _).o" >> "$B/build.log" 2>&1 || echo "$f" >> "$B/failed" &
    n=$((n + 1))
    [ $((n % JOBS)) -eq 0 ] && wait
done
wait
cat "$B/build.log" 2>/dev/null
if [ -s "$B/failed" ]; then fail=1; log "C compile failed: $(cat "$B/failed")"; fi
libs=""
if [ -f "$CARRY/lib/libsodium.a" ]; then libs="$CARRY/lib/libsodium.a $CARRY/lib/libzstd.a"; else libs="-lsodium -lzstd"; fi
log "nvcc -arch=sm_90 kernels/cuda/ecqf-cuda-bench.cu"
nvcc -std=c++17 -arch=sm_90 -O3 -lineinfo -Xptxas -v $inc -o "$B/ecqf-cuda-bench" kernels/cuda/ecqf-cuda-bench.cu \
    "$B"/obj/*.o -lcublas $libs -lpthread > "$OUT/nvcc.log" 2>&1 || fail=1
grep -E "error" "$OUT/nvcc.log" | head -20
if [ $fail -ne 0 ] || [ ! -x "$B/ecqf-cuda-bench" ]; then log "BUILD FAILED"; tail -40 "$OUT/nvcc.log"; exit 1; fi
grep -A2 "Function properties for .*ecqf_cu_\(fused\|decode\|plain4\)" "$OUT/nvcc.log" | grep -E "properties|registers|spill" \
    | paste - - - | sed 's/ptxas info *: //g' > "$OUT/registers.txt" || true

# ---- SASS: static instruction counts of the hot loops ----------------------------------------
if command -v cuobjdump >/dev/null 2>&1; then
    cuobjdump -sass "$B/ecqf-cuda-bench" > "$B/bench.sass" 2>/dev/null && \
        python3 kernels/cuda/sass_count.py "$B/bench.sass" > "$OUT/sass_counts.txt" 2>&1
    grep -A2 "fused\|decode\|plain4" "$OUT/sass_counts.txt" | head -60 > /dev/null
fi

# ---- run ---------------------------------------------------------------------------------------
model="$CARRY/stories260K.safetensors"
[ -f "$model" ] || model="$top/../shared/models/stories260K.safetensors"
if [ "$MODE" = smoke ]; then
    args="--quick --shapes 4096x4096,28672x8192 --batches 1"
else
    args="--shapes 4096x4096,11008x4096,4096x11008,14336x4096,28672x8192 --batches 1,2,4,8,16"
fi
log "ecqf-cuda-bench $args"
"$B/ecqf-cuda-bench" --model "$model" --json "$OUT/results.json" $args 2>&1
rc=$?
log "bench exit $rc"

# ---- hardware counters: warp instructions per 32 weights ----------------------------------------
if [ "$MODE" != smoke ] && command -v ncu >/dev/null 2>&1; then
    log "ncu: instructions executed (28672x8192, one launch of each kernel)"
    timeout 240 ncu --metrics smsp__inst_executed.sum,smsp__cycles_active.avg,sm__throughput.avg.pct_of_peak_sustained_elapsed,dram__throughput.avg.pct_of_peak_sustained_elapsed,gpu__time_duration.sum \
        -k regex:'ecqf_cu_(fused|plain4)' --csv "$B/ecqf-cuda-bench" --model "$model" --profile-once --shapes 28672x8192 \
        > "$OUT/ncu.csv" 2> "$OUT/ncu.err" || log "ncu failed (see ncu.err)"
    python3 - "$OUT/ncu.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
if not rows: sys.exit(0)
h = rows[0]; data = rows[1:]
ki, mi, vi = h.index("Kernel Name"), h.index("Metric Name"), h.index("Metric Value")
n = 28672 * 8192
for r in data:
    if r[mi] == "smsp__inst_executed.sum":
        v = float(r[vi].replace(",", ""))
        print("%-60s %.3g warp-instructions, %.2f per 32 weights" % (r[ki][:60], v, v / (n / 32)))
EOF
fi
ls -la "$OUT"
exit $rc
