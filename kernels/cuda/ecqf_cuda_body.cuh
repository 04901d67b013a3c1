/*
 * ecqf_cuda_body.cuh — CUDA backend of the portable kernel body (kernels/common/
 * ecqf_kernel_body.h): one block of W threads (W = the tensor's lane count <= 32, one warp)
 * per tile row, format lane l = thread l, the shared word stream handed out by __ballot_sync
 * and a popcount of the lanes below, the partial sums reduced by the same __shfl_xor_sync tree
 * as the Metal and OpenCL backends. Bit-identical to the scalar CPU backend (__fmul_rn and
 * __fadd_rn are never contracted into FMAs).
 *
 * This is the portable path: every scheme, coding, tiling and lane count up to 32, and every
 * check of the stream. The tuned kernels for the common case are in ecqf_cuda_fast.cuh.
 */
#ifndef ECQF_CUDA_BODY_CUH
#define ECQF_CUDA_BODY_CUH

#define ECQF_KB_U8 unsigned char
#define ECQF_KB_U16 unsigned short
#define ECQF_KB_U32 unsigned int
#define ECQF_KB_I32 int
#define ECQF_KB_U64 unsigned long long
#define ECQF_KB_GLOBAL
#define ECQF_KB_TABLE
#define ECQF_KB_SCRATCH
#define ECQF_KB_PRIVATE
#define ECQF_KB_FN static __device__ __forceinline__
#define ECQF_KB_AS_FLOAT(u) __uint_as_float((unsigned)(u))
#define ECQF_KB_FMUL(a, b) __fmul_rn((a), (b))
#define ECQF_KB_FADD(a, b) __fadd_rn((a), (b))
#define ECQF_KB_LANES_BEGIN(l, W) { (l) = threadIdx.x & 31u;
#define ECQF_KB_LANES_END }
#define ECQF_KB_LANE_ARRAY(type, name) type name[1]
#define ECQF_KB_LV(name, l) ((name)[0])
#define ECQF_KB_TAKE(need, ctr, idx)                                              \
    do {                                                                          \
        unsigned m_ = __ballot_sync(__activemask(), (need) != 0u);                \
        (idx) = (ctr) + __popc(m_ & ecqf_cu_lanemask_lt());                       \
        (ctr) += __popc(m_);                                                      \
    } while (0)
#define ECQF_KB_TAKE2(n0, n1, ctr, idx)                                           \
    do {                                                                          \
        unsigned am_ = __activemask();                                            \
        unsigned m0_ = __ballot_sync(am_, (n0) != 0u), m1_ = __ballot_sync(am_, (n1) != 0u); \
        unsigned lt_ = ecqf_cu_lanemask_lt();                                     \
        (idx) = (ctr) + __popc(m0_ & lt_) + __popc(m1_ & lt_);                    \
        (ctr) += __popc(m0_) + __popc(m1_);                                       \
    } while (0)
#define ECQF_KB_LD16(p, off) ((unsigned)((const unsigned short *)(p))[(off) >> 1])
#define ECQF_KB_LD32(p, off) (((const unsigned *)(p))[(off) >> 2])
#define ECQF_GPU_TREE_SUM(v, W) ecqf_cu_tree_sum((v), (W))

static __device__ __forceinline__ unsigned ecqf_cu_lanemask_lt() {
    unsigned m;
    asm("mov.u32 %0, %%lanemask_lt;" : "=r"(m));
    return m;
}

/* The fixed reduction tree: at each level lane l adds the value of lane l ^ off. */
static __device__ __forceinline__ float ecqf_cu_tree_sum(float v, unsigned W) {
    unsigned am = __activemask();
    for (unsigned off = W / 2u; off >= 1u; off /= 2u) v = __fadd_rn(v, __shfl_xor_sync(am, v, off));
    return v;
}

#include "common/ecqf_kernel_body.h"
#include "metal/ecqf_gpu_common.h"

/* grid = tile rows, block = W threads, dynamic shared memory = the decode tables. */
__global__ void ecqf_cu_gemv_body(const unsigned short *params, const unsigned *tile_index, const unsigned *escapes,
                                  const unsigned char *data, const unsigned *tables, const float *x, float *y,
                                  float *scratch, unsigned *err, const unsigned *args) {
    extern __shared__ unsigned ecqf_cu_tab[];
    ecqf_kb_tensor T;
    const unsigned lane = threadIdx.x, W = blockDim.x;
    const unsigned long long tr = blockIdx.x;
    const unsigned long long TC = (unsigned long long)args[ECQF_GPU_A_TC_LO] | ((unsigned long long)args[ECQF_GPU_A_TC_HI] << 32);
    const unsigned long long nt = (unsigned long long)args[ECQF_GPU_A_T_LO] | ((unsigned long long)args[ECQF_GPU_A_T_HI] << 32);
    float *part = scratch + tr * args[ECQF_GPU_A_PART_STRIDE] + args[ECQF_GPU_A_PART_PAD];
    for (unsigned i = lane; i < args[ECQF_GPU_A_TABLE_WORDS]; i += W) ecqf_cu_tab[i] = tables[i];
    __syncthreads();
    ecqf_gpu_unpack(args, &T);
    unsigned e = ecqf_gpu_tile_row(&T, tr, TC, nt, args[ECQF_GPU_A_HAS_ESC], lane, params, tile_index, escapes, data,
                                   ecqf_cu_tab, (const unsigned char *)ecqf_cu_tab + args[ECQF_GPU_A_DSYM_OFFSET], x, y,
                                   part);
    if (e) atomicOr(err, e);
}

#endif
