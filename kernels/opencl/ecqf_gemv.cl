/*
 * ecqf_gemv.cl — OpenCL C backend of the fused decode + GEMV: the portable kernel body
 * (kernels/common/ecqf_kernel_body.h) on one work-group of W work-items per tile row, the
 * decode tables in __local memory (or __global with -DECQF_CL_TABLE_GLOBAL, for devices with
 * little local memory), the shared word stream handed out by a ballot emulated with memory and
 * barriers, and the partial sums reduced by the same xor tree as the other backends.
 *
 * Build options (clBuildProgram): -I <top_srcdir>/kernels, and optionally
 * -DECQF_CL_LOCAL_WORDS=n (u32 words of __local table; default 40960 = rANS precision 15).
 *
 * The body has no parameter for a backend context, so the exchange area of the ballot and of
 * the tree is found from `part` (this work-group's scratch in __global memory, which the host
 * allocates with ECQF_GPU_A_PART_PAD floats in front of it).
 */
#pragma OPENCL FP_CONTRACT OFF

#define ECQF_KB_U8 uchar
#define ECQF_KB_U16 ushort
#define ECQF_KB_U32 uint
#define ECQF_KB_I32 int
#define ECQF_KB_U64 ulong
#define ECQF_KB_GLOBAL __global
#ifdef ECQF_CL_TABLE_GLOBAL
#define ECQF_KB_TABLE __global
#else
#define ECQF_KB_TABLE __local
#endif
#define ECQF_KB_SCRATCH __global
#define ECQF_KB_PRIVATE
#define ECQF_KB_FN static inline
#define ECQF_KB_AS_FLOAT(u) as_float((uint)(u))
#define ECQF_KB_FMUL(a, b) ((float)((a) * (b)))   /* FP_CONTRACT OFF: never fused */
#define ECQF_KB_FADD(a, b) ((float)((a) + (b)))
#define ECQF_KB_LANES_BEGIN(l, W) { (l) = (uint)get_local_id(0);
#define ECQF_KB_LANES_END }
#define ECQF_KB_LANE_ARRAY(type, name) type name
#define ECQF_KB_LV(name, l) (name)
#define ECQF_CL_EXCH(part) ((__global uint *)(part) - 2 * 32)
#define ECQF_KB_TAKE(need, ctr, idx) ECQF_KB_TAKE2(need, 0u, ctr, idx)
#define ECQF_KB_TAKE2(n0, n1, ctr, idx)                                   \
    do {                                                                  \
        uint2 bt_ = ecqf_cl_scan((n0) + (n1), ECQF_CL_EXCH(part));        \
        (idx) = (ctr) + bt_.x;                                            \
        (ctr) += bt_.y;                                                   \
    } while (0)
#define ECQF_KB_LD16(p, off) ((uint)((__global const ushort *)(p))[(off) >> 1])
#define ECQF_KB_LD32(p, off) (((__global const uint *)(p))[(off) >> 2])
#define ECQF_GPU_ARGS __constant
#define ECQF_GPU_TREE_SUM(v, W) ecqf_cl_tree_sum((v), (W), ECQF_CL_EXCH(part))

#ifndef ECQF_CL_LOCAL_WORDS
#define ECQF_CL_LOCAL_WORDS 40960
#endif

/* The ballot + popcount of spec 9.3 for a work-group of W work-items: (the sum of n over the
 * work-items below this one, the sum over all). */
static inline uint2 ecqf_cl_scan(uint n, __global uint *x) {
    const uint lid = (uint)get_local_id(0), W = (uint)get_local_size(0);
    uint below = 0, total = 0, i;
    x[lid] = n;
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (i = 0; i < W; i++) {
        uint v = x[i];
        total += v;
        below += i < lid ? v : 0u;
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    return (uint2)(below, total);
}

/* Shuffle-xor tree over W work-items: at each level v += v of work-item lid ^ off. */
static inline float ecqf_cl_tree_sum(float v, uint W, __global uint *x) {
    const uint lid = (uint)get_local_id(0);
    uint off;
    for (off = W / 2u; off >= 1u; off /= 2u) {
        float o;
        x[lid] = as_uint(v);
        barrier(CLK_GLOBAL_MEM_FENCE);
        o = as_float(x[lid ^ off]);
        barrier(CLK_GLOBAL_MEM_FENCE);
        v = v + o;
    }
    return v;
}

#include "common/ecqf_kernel_body.h"
#include "metal/ecqf_gpu_common.h"


/* One work-group of W work-items per tile row; global size = TR * W, local size = W. */
__kernel void ecqf_gemv(__global const ushort *params, __global const uint *tile_index,
                        __global const uint *escapes, __global const uchar *data,
                        __global const uint *tables, __global const float *x, __global float *y,
                        __global float *scratch, __global uint *err, __constant uint *args) {
    ecqf_kb_tensor T;
    const uint lane = (uint)get_local_id(0), W = (uint)get_local_size(0);
    const ulong tr = (ulong)get_group_id(0);
    const ulong TC = (ulong)args[ECQF_GPU_A_TC_LO] | ((ulong)args[ECQF_GPU_A_TC_HI] << 32);
    const ulong ntiles = (ulong)args[ECQF_GPU_A_T_LO] | ((ulong)args[ECQF_GPU_A_T_HI] << 32);
    __global float *part = scratch + tr * args[ECQF_GPU_A_PART_STRIDE] + args[ECQF_GPU_A_PART_PAD];
    uint e;
#ifdef ECQF_CL_TABLE_GLOBAL
    __global const uint *tab = tables;
#else
    __local uint tab[ECQF_CL_LOCAL_WORDS];
    {
        uint i;
        for (i = lane; i < args[ECQF_GPU_A_TABLE_WORDS]; i += W) tab[i] = tables[i];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
#endif
    ecqf_gpu_unpack(args, &T);
    e = ecqf_gpu_tile_row(&T, tr, TC, ntiles, args[ECQF_GPU_A_HAS_ESC], lane, params, tile_index,
                          escapes, data, tab, (ECQF_KB_TABLE const uchar *)tab + args[ECQF_GPU_A_DSYM_OFFSET],
                          x, y, part);
    if (e) atomic_or(err, e);
}
