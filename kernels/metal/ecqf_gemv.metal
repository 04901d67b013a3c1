/*
 * ecqf_gemv.metal — Metal backend of the fused decode + GEMV: the portable kernel body
 * (kernels/common/ecqf_kernel_body.h) with format lanes on SIMD lanes.
 *
 * Mapping: one threadgroup of W threads (W = the tensor's lane count <= 32, one simdgroup) per
 * tile row; thread l is lane l. The shared word stream (spec 9.3) is handed out with
 * simd_ballot and a popcount of the lanes below; the partial sums are reduced with a fixed
 * simd_shuffle_xor tree (offsets W/2 .. 1), the same tree as the C reference, so the result is
 * bit-identical to the scalar CPU backend when the library is compiled with safe math (the
 * host sets MTLCompileOptions.mathMode = safe / fastMathEnabled = NO).
 *
 * Decode tables: in threadgroup memory when the host compiles with ECQF_METAL_TG_TABLES=1
 * (rANS precision <= 12, prefix codes: at most 20 KiB of the 32 KiB), else in device memory.
 *
 * Includes are relative to kernels/ (xcrun metal -I kernels, or the host program inlines them).
 */
#include <metal_stdlib>
using namespace metal;

#ifndef ECQF_METAL_TG_TABLES
#define ECQF_METAL_TG_TABLES 1
#endif
/* [[threadgroup(n)]] spelled through a macro: a compiler that is not Apple's sees the address
 * space `threadgroup` as a macro (metal_compat.h), which would break the attribute */
#ifndef ECQF_TG_ATTR
#define ECQF_TG_ATTR(n) [[threadgroup(n)]]
#endif

#define ECQF_KB_U8 uchar
#define ECQF_KB_U16 ushort
#define ECQF_KB_U32 uint
#define ECQF_KB_I32 int
#define ECQF_KB_U64 ulong
#define ECQF_KB_GLOBAL device
#if ECQF_METAL_TG_TABLES
#define ECQF_KB_TABLE threadgroup
#else
#define ECQF_KB_TABLE device
#endif
#define ECQF_KB_SCRATCH device
#define ECQF_KB_PRIVATE thread
#define ECQF_KB_FN inline
#define ECQF_KB_AS_FLOAT(u) as_type<float>((uint)(u))
/* One IEEE multiply that the compiler may not fuse with the following add: an explicit fma
 * with -0 (x*y + -0 == x*y exactly, for every x, y). */
#define ECQF_KB_FMUL(a, b) ((float)fma((float)(a), (float)(b), -0.0f))
#define ECQF_KB_FADD(a, b) ((float)((a) + (b)))
/* Lanes: the lane id is the number of active lanes below (all W lanes are active at every
 * lane block of the body). The body has no context parameter that could carry it. */
#define ECQF_KB_LANES_BEGIN(l, W) { (l) = simd_prefix_exclusive_sum(1u);
#define ECQF_KB_LANES_END }
#define ECQF_KB_LANE_ARRAY(type, name) type name[1]
#define ECQF_KB_LV(name, l) ((name)[0])
/* The shared word stream: ballot of the lanes that take, popcount of those below lane l (the
 * body's lane variable, set by ECQF_KB_LANES_BEGIN). */
#define ECQF_KB_TAKE(need, ctr, idx)                                        \
    do {                                                                    \
        uint b_ = ecqf_mtl_ballot((need) != 0u);                            \
        (idx) = (ctr) + popcount(b_ & ((1u << l) - 1u));                    \
        (ctr) += popcount(b_);                                              \
    } while (0)
#define ECQF_KB_TAKE2(n0, n1, ctr, idx)                                     \
    do {                                                                    \
        uint b0_ = ecqf_mtl_ballot((n0) != 0u), b1_ = ecqf_mtl_ballot((n1) != 0u); \
        uint lt_ = (1u << l) - 1u;                                          \
        (idx) = (ctr) + popcount(b0_ & lt_) + popcount(b1_ & lt_);          \
        (ctr) += popcount(b0_) + popcount(b1_);                             \
    } while (0)
#define ECQF_KB_LD16(p, off) ((uint)((device const ushort *)(p))[(off) >> 1])
#define ECQF_KB_LD32(p, off) (((device const uint *)(p))[(off) >> 2])
#define ECQF_GPU_ARGS constant
#define ECQF_GPU_TREE_SUM(v, W) ecqf_mtl_tree_sum((v), (W))

inline uint ecqf_mtl_ballot(bool p) {
    return (uint)(simd_vote::vote_t)simd_ballot(p);
}

/* The fixed reduction tree: at each level lane l adds the value of lane l ^ off. */
inline float ecqf_mtl_tree_sum(float v, uint W) {
    for (uint off = W / 2u; off >= 1u; off /= 2u) v = v + simd_shuffle_xor(v, (ushort)off);
    return v;
}

#include "common/ecqf_kernel_body.h"
#include "metal/ecqf_gpu_common.h"

/* Dispatch: threadgroups = tile rows, threads per threadgroup = W. */
kernel void ecqf_gemv(device const ushort *params [[buffer(0)]],
                      device const uint *tile_index [[buffer(1)]],
                      device const uint *escapes [[buffer(2)]],
                      device const uchar *data [[buffer(3)]],
                      device const uint *tables [[buffer(4)]],
                      device const float *x [[buffer(5)]],
                      device float *y [[buffer(6)]],
                      device float *scratch [[buffer(7)]],
                      device atomic_uint *err [[buffer(8)]],
                      constant uint *args [[buffer(9)]],
                      threadgroup uint *tg_tab ECQF_TG_ATTR(0),
                      uint tg [[threadgroup_position_in_grid]],
                      uint lane [[thread_index_in_threadgroup]],
                      uint W [[threads_per_threadgroup]]) {
    ecqf_kb_tensor T;
    const ulong tr = tg;
    const ulong TC = (ulong)args[ECQF_GPU_A_TC_LO] | ((ulong)args[ECQF_GPU_A_TC_HI] << 32);
    const ulong ntiles = (ulong)args[ECQF_GPU_A_T_LO] | ((ulong)args[ECQF_GPU_A_T_HI] << 32);
    device float *part = scratch + tr * args[ECQF_GPU_A_PART_STRIDE] + args[ECQF_GPU_A_PART_PAD];
#if ECQF_METAL_TG_TABLES
    for (uint i = lane; i < args[ECQF_GPU_A_TABLE_WORDS]; i += W) tg_tab[i] = tables[i];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    threadgroup const uint *tab = tg_tab;
#else
    device const uint *tab = tables;
    (void)tg_tab;
    (void)W;
#endif
    ecqf_gpu_unpack(args, &T);
    uint e = ecqf_gpu_tile_row(&T, tr, TC, ntiles, args[ECQF_GPU_A_HAS_ESC], lane, params, tile_index,
                               escapes, data, tab,
                               (ECQF_KB_TABLE const uchar *)tab + args[ECQF_GPU_A_DSYM_OFFSET], x, y, part);
    if (e) atomic_fetch_or_explicit(err, e, memory_order_relaxed);
}
