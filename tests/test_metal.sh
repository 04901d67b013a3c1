#!/bin/sh
# test_metal.sh — compile every kernels/metal/*.metal with clang (no Apple toolchain needed):
#   1. as C++17 through kernels/metal/compat/metal_stdlib (the CPU-emulation build), and
#   2. as C++ for OpenCL 2021 with the generic address space turned off, where device,
#      constant, threadgroup and thread are __global, __constant, __local and __private, so
#      every pointer conversion between address spaces is checked;
# each for both table placements (ECQF_METAL_TG_TABLES=1 and 0). Warnings are errors.
# Skips (77) without clang.
set -u
srcdir=${srcdir:-.}
top="$srcdir"
[ -d "$top/kernels/metal" ] || top="$srcdir/.."
CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null 2>&1 || { echo "SKIP: no clang"; exit 77; }
fail=0
n=0
for f in "$top"/kernels/metal/*.metal; do
    for tg in 1 0; do
        if "$CLANG" -x c++ -std=c++17 -fsyntax-only -Wall -Wextra -Werror -DECQF_METAL_TG_TABLES=$tg \
            -I "$top/kernels/metal/compat" -I "$top/kernels" "$f"; then
            echo "ok   c++     TG_TABLES=$tg $f"
        else
            echo "FAIL c++     TG_TABLES=$tg $f"; fail=1
        fi
        if "$CLANG" -x clcpp -cl-std=clc++2021 \
            -Xclang -cl-ext=-__opencl_c_generic_address_space,-__opencl_c_pipes,-__opencl_c_device_enqueue \
            -fsyntax-only -Wall -Wextra -Werror -DECQF_METAL_TG_TABLES=$tg \
            -I "$top/kernels/metal/compat" -I "$top/kernels" "$f"; then
            echo "ok   clc++   TG_TABLES=$tg $f"
        else
            echo "FAIL clc++   TG_TABLES=$tg $f"; fail=1
        fi
        n=$((n + 1))
    done
done
[ "$n" -gt 0 ] || { echo "FAIL: no .metal file under $top/kernels/metal"; exit 1; }
exit $fail
