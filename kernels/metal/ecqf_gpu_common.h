/*
 * ecqf_gpu_common.h — what the GPU backends (Metal, OpenCL, CUDA) share on top of the portable
 * kernel body (kernels/common/ecqf_kernel_body.h): the argument block the host fills, and the
 * per-tile-row driver that runs the body on one simdgroup (warp, work-group) and reduces the
 * per-lane partial sums with the fixed shuffle-xor tree.
 *
 * It lives beside the Metal sources because Metal is the target the format was designed for;
 * the OpenCL and CUDA backends include it from here. It is plain C in the same dialect as the
 * body (C11, OpenCL C 1.2, C++14 for Metal, CUDA C++), included after the body.
 *
 * Thread mapping (all three backends): one threadgroup of exactly W threads (W = the tensor's
 * lane count, at most 32 so that it is one simdgroup) per tile row; the threadgroup walks the
 * tiles of its tile row left to right. Lane l of the format is thread l. For each tile the body
 * leaves lane l's partial sum of tile row r in part[r*W + l]; the driver reduces each row over
 * the lanes with offsets W/2, .., 1 (ECQF_GPU_TREE_SUM, a shuffle-xor on Metal and CUDA, memory
 * and barriers on OpenCL) and adds it to y[r] in tile order: exactly the order of the scalar
 * CPU backend (kernels/cpu/scalar.c), so every backend gives the same bits.
 *
 * A backend defines before including this file (besides the body's macros):
 *   ECQF_GPU_ARGS      address space of the argument block (Metal constant, OpenCL __constant)
 *   ECQF_GPU_TREE_SUM(v, W)  sum of v over lanes [0, W) by the xor tree; every lane gets it
 *   ECQF_KB_PRIVATE    address space of pointers to thread-private data (Metal: thread)
 *
 * The host side (kernels/metal/ecqf_gpu.c) includes this file as C to fill the argument block.
 */
#ifndef ECQF_GPU_COMMON_H
#define ECQF_GPU_COMMON_H

#ifndef ECQF_GPU_ARGS
#define ECQF_GPU_ARGS
#endif
#ifndef ECQF_KB_PRIVATE
#define ECQF_KB_PRIVATE
#endif

/* ---- the argument block: ECQF_GPU_NARGS u32 words ------------------------------------- */
#define ECQF_GPU_A_ROWS_LO 0
#define ECQF_GPU_A_ROWS_HI 1
#define ECQF_GPU_A_COLS_LO 2
#define ECQF_GPU_A_COLS_HI 3
#define ECQF_GPU_A_SCHEME 4
#define ECQF_GPU_A_CODING 5
#define ECQF_GPU_A_LANES 6
#define ECQF_GPU_A_PACK 7
#define ECQF_GPU_A_STRIPE 8
#define ECQF_GPU_A_PRECISION 9
#define ECQF_GPU_A_MAX_LENGTH 10
#define ECQF_GPU_A_TILE_ROWS 11
#define ECQF_GPU_A_TILE_COLS 12
#define ECQF_GPU_A_PARAM_DTYPE 13
#define ECQF_GPU_A_GROUP_SIZE 14
#define ECQF_GPU_A_BITS 15
#define ECQF_GPU_A_ZERO_CODE 16
#define ECQF_GPU_A_ESCAPE_CODE 17
#define ECQF_GPU_A_PER_ROW 18
#define ECQF_GPU_A_GROUPS_LO 19
#define ECQF_GPU_A_GROUPS_HI 20
#define ECQF_GPU_A_TC_LO 21       /* tiles per tile row */
#define ECQF_GPU_A_TC_HI 22
#define ECQF_GPU_A_T_LO 23        /* tiles */
#define ECQF_GPU_A_T_HI 24
#define ECQF_GPU_A_HAS_ESC 25
#define ECQF_GPU_A_TABLE_WORDS 26 /* u32 words of the decode tables (dtab, then dsym bytes) */
#define ECQF_GPU_A_DSYM_OFFSET 27 /* byte offset of dsym in the tables (rANS), else 0 */
#define ECQF_GPU_A_PART_STRIDE 28 /* floats of scratch per threadgroup (tile height * W + pad) */
#define ECQF_GPU_A_PART_PAD 29    /* floats before each threadgroup's part[] (OpenCL exchange) */
#define ECQF_GPU_NARGS 32

/* Rebuild the body's tensor description from the argument block. */
ECQF_KB_FN void ecqf_gpu_unpack(const ECQF_GPU_ARGS ECQF_KB_U32 *a, ECQF_KB_PRIVATE ecqf_kb_tensor *T) {
    T->rows = (ECQF_KB_U64)a[ECQF_GPU_A_ROWS_LO] | ((ECQF_KB_U64)a[ECQF_GPU_A_ROWS_HI] << 32);
    T->cols = (ECQF_KB_U64)a[ECQF_GPU_A_COLS_LO] | ((ECQF_KB_U64)a[ECQF_GPU_A_COLS_HI] << 32);
    T->scheme = a[ECQF_GPU_A_SCHEME];
    T->coding = a[ECQF_GPU_A_CODING];
    T->lanes = a[ECQF_GPU_A_LANES];
    T->pack = a[ECQF_GPU_A_PACK];
    T->stripe = a[ECQF_GPU_A_STRIPE];
    T->precision = a[ECQF_GPU_A_PRECISION];
    T->max_length = a[ECQF_GPU_A_MAX_LENGTH];
    T->tile_rows = a[ECQF_GPU_A_TILE_ROWS];
    T->tile_cols = a[ECQF_GPU_A_TILE_COLS];
    T->param_dtype = a[ECQF_GPU_A_PARAM_DTYPE];
    T->group_size = a[ECQF_GPU_A_GROUP_SIZE];
    T->bits = a[ECQF_GPU_A_BITS];
    T->zero_code = a[ECQF_GPU_A_ZERO_CODE];
    T->escape_code = a[ECQF_GPU_A_ESCAPE_CODE];
    T->per_row = a[ECQF_GPU_A_PER_ROW];
    T->groups = (ECQF_KB_U64)a[ECQF_GPU_A_GROUPS_LO] | ((ECQF_KB_U64)a[ECQF_GPU_A_GROUPS_HI] << 32);
}

#ifndef ECQF_GPU_HOST_ONLY
/*
 * One tile row: y[r] for the rows of tile row `tr`, and the body's error bits (ECQF_KB_ERR_*)
 * of this lane. Every lane of the threadgroup calls it (lane = thread index, 0..W-1).
 *   tile_index: the file's tile_index part as u32 words (u64 little-endian offsets)
 *   escapes:    the file's escapes part as u32 words (start[T+1] then the i32 values), or any
 *               valid pointer when the tensor has no escapes
 *   part:       this threadgroup's scratch, (tile height)*W floats
 */
ECQF_KB_FN ECQF_KB_U32 ecqf_gpu_tile_row(const ECQF_KB_PRIVATE ecqf_kb_tensor *T, ECQF_KB_U64 tr,
                                         ECQF_KB_U64 TC, ECQF_KB_U64 ntiles, ECQF_KB_U32 has_esc,
                                         ECQF_KB_U32 lane,
                                         const ECQF_KB_GLOBAL ECQF_KB_U16 *params,
                                         const ECQF_KB_GLOBAL ECQF_KB_U32 *tile_index,
                                         const ECQF_KB_GLOBAL ECQF_KB_U32 *escapes,
                                         const ECQF_KB_GLOBAL ECQF_KB_U8 *data,
                                         const ECQF_KB_TABLE ECQF_KB_U32 *dtab,
                                         const ECQF_KB_TABLE ECQF_KB_U8 *dsym,
                                         const ECQF_KB_GLOBAL float *x, ECQF_KB_GLOBAL float *y,
                                         ECQF_KB_SCRATCH float *part) {
    const ECQF_KB_U32 W = T->lanes;
    ECQF_KB_U32 err = 0, r;
    ECQF_KB_U64 tc;
    for (tc = 0; tc < TC; tc++) {
        const ECQF_KB_U64 t = tr * TC + tc;
        const ECQF_KB_U64 o0 = (ECQF_KB_U64)tile_index[2 * t] | ((ECQF_KB_U64)tile_index[2 * t + 1] << 32);
        const ECQF_KB_U64 o1 = (ECQF_KB_U64)tile_index[2 * t + 2] | ((ECQF_KB_U64)tile_index[2 * t + 3] << 32);
        ECQF_KB_U32 e0 = 0, e1 = 0;
        const ECQF_KB_GLOBAL ECQF_KB_I32 *ev = (const ECQF_KB_GLOBAL ECQF_KB_I32 *)escapes;
        ecqf_kb_tile g;
        if (has_esc) {
            e0 = escapes[t];
            e1 = escapes[t + 1];
            ev = (const ECQF_KB_GLOBAL ECQF_KB_I32 *)(escapes + ntiles + 1) + e0;
        }
        ecqf_kb_tile_init(T, t, &g);
        err |= ecqf_kb_gemv_tile(T, &g, data + o0, (ECQF_KB_U32)(o1 - o0), dtab, dsym, params, ev,
                                 e1 - e0, x, part);
        for (r = 0; r < g.h; r++) {
            float v = part[r * W + lane];
            v = ECQF_GPU_TREE_SUM(v, W);
            if (lane == 0) {
                if (tc == 0) y[g.r0 + r] = v;
                else y[g.r0 + r] = ECQF_KB_FADD(y[g.r0 + r], v);
            }
        }
    }
    return err;
}
#endif /* !ECQF_GPU_HOST_ONLY */

#endif /* ECQF_GPU_COMMON_H */
