/*
 * ecqf_kernel_body.h — the portable kernel body of ECQF: the rANS and prefix-code decode
 * steps of spec 9.5/9.6 on the shared word stream, dequantization (spec 7), and the dot
 * product of a tile's rows with x, written once in plain C with a few macros so that the same
 * text compiles as C (the CPU reference), OpenCL C, CUDA and Metal Shading Language.
 *
 * ---- Execution model ----------------------------------------------------------------------
 * One tile is decoded by one group of W "lanes" (a warp, a simdgroup, or a loop in C). The
 * body is written SIMT-style: code between ECQF_KB_LANES_BEGIN(l) and ECQF_KB_LANES_END runs
 * for every lane l. In C the macros are a loop over l = 0..W-1, and because the loop visits
 * lanes in increasing order, a plain running counter hands out the shared word stream exactly
 * as the spec orders it. On a GPU the macros set l to the lane id, and ECQF_KB_TAKE becomes a
 * ballot plus a popcount of the lanes below (spec 9.3). Every ECQF_KB_TAKE* site is reached
 * by every lane of the group in every step (the predicate says whether the lane really takes),
 * so the GPU versions stay convergent.
 *
 * Per-lane state is kept in "lane arrays": ECQF_KB_LANE_ARRAY(type, name) declares the
 * storage and ECQF_KB_LV(name, l) names lane l's element. In C that is an array of
 * ECQF_KB_MAX_LANES; on a GPU an array of 1 indexed by 0 (a register).
 *
 * ---- What a backend defines before including this file (defaults are the C ones) --------
 *   ECQF_KB_GLOBAL      address space of file data and x        (OpenCL __global, Metal device)
 *   ECQF_KB_TABLE       address space of the decode tables      (OpenCL __local/__constant,
 *                                                                Metal threadgroup/constant)
 *   ECQF_KB_SCRATCH     address space of the per-tile partial sums (OpenCL __local, Metal
 *                                                                threadgroup)
 *   ECQF_KB_FN          function qualifiers                     (CUDA: static __device__ inline)
 *   ECQF_KB_U8 .. ECQF_KB_U64, ECQF_KB_I32   integer types
 *   ECQF_KB_AS_FLOAT(u) bit cast u32 -> float                   (as_float, __uint_as_float,
 *                                                                as_type<float>)
 *   ECQF_KB_FMUL(a, b), ECQF_KB_FADD(a, b)  one IEEE binary32 operation each, never contracted
 *                                           into an FMA (CUDA: __fmul_rn, __fadd_rn)
 *   ECQF_KB_LANES_BEGIN(l, W), ECQF_KB_LANES_END, ECQF_KB_LANE_ARRAY, ECQF_KB_LV
 *   ECQF_KB_TAKE(need, ctr, idx)       need in {0,1}: idx = ctr + number of lanes below this
 *                                      one with need; then ctr += total need (ctr is uniform)
 *   ECQF_KB_TAKE2(n0, n1, ctr, idx)    the same with a count n0 + n1 per lane (n0, n1 in {0,1})
 *   ECQF_KB_LD16(p, off), ECQF_KB_LD32(p, off)  little-endian loads at byte offset off of a
 *                                      u8 pointer (GPUs: aligned u16/u32 loads; tiles start on
 *                                      4-byte boundaries, spec 9.4)
 * The reduction of the partial sums over the lanes is the backend's (shuffle-xor tree with
 * offsets W/2, W/4, .., 1; ecqf_kb_tree_sum below is that tree emulated in C, so results match
 * bit for bit when the backend uses the same tree and no FMA contraction).
 *
 * ---- Tables (built on the host from the file's table part; codec.h builds the reference) --
 *   rANS:   dtab[v] = freq[s] << 16 | (v - cum[s]),  dsym[v] = s   for every slot v < 2^precision
 *   prefix: dtab[i] = s | length << 8 for the top max_length bits i (0 = unused code); dsym unused
 *
 * ---- Partial sums -------------------------------------------------------------------------
 * Lane l adds its products for tile row r into part[r*W + l] (scratch of h*W floats), in its
 * own element order, so each lane owns a column and the order of every addition is fixed.
 * Lanes may be in different stripes at the same step (when the tile width is not a multiple of
 * W the two lane groups have different lengths, spec 9.3), which is why the sums are kept per
 * row rather than per stripe. A tile's row r result is tree_sum(part[r*W .. r*W + W)).
 */
#ifndef ECQF_KERNEL_BODY_H
#define ECQF_KERNEL_BODY_H

/* ---- defaults: C ---------------------------------------------------------------------- */
#ifndef ECQF_KB_U32
#include <stdint.h>
#include <string.h>
#define ECQF_KB_U8 uint8_t
#define ECQF_KB_U16 uint16_t
#define ECQF_KB_U32 uint32_t
#define ECQF_KB_I32 int32_t
#define ECQF_KB_U64 uint64_t
#endif
#ifndef ECQF_KB_GLOBAL
#define ECQF_KB_GLOBAL
#endif
#ifndef ECQF_KB_TABLE
#define ECQF_KB_TABLE
#endif
#ifndef ECQF_KB_SCRATCH
#define ECQF_KB_SCRATCH
#endif
#ifndef ECQF_KB_PRIVATE /* address space of pointers to thread-private data (Metal: thread) */
#define ECQF_KB_PRIVATE
#endif
#ifndef ECQF_KB_FN
#define ECQF_KB_FN static inline
#endif
#ifndef ECQF_KB_AS_FLOAT
static inline float ecqf_kb_as_float_c(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
#define ECQF_KB_AS_FLOAT(u) ecqf_kb_as_float_c(u)
#endif
#ifndef ECQF_KB_FMUL
#define ECQF_KB_FMUL(a, b) ((float)((a) * (b)))
#define ECQF_KB_FADD(a, b) ((float)((a) + (b)))
#endif
#ifndef ECQF_KB_MAX_LANES
#define ECQF_KB_MAX_LANES 64
#endif
#ifndef ECQF_KB_LANES_BEGIN
#define ECQF_KB_LANES_BEGIN(l, W) for ((l) = 0; (l) < (W); (l)++) {
#define ECQF_KB_LANES_END }
#define ECQF_KB_LANE_ARRAY(type, name) type name[ECQF_KB_MAX_LANES]
#define ECQF_KB_LV(name, l) ((name)[(l)])
/* lanes run in increasing order, so a running counter is the ballot + popcount */
#define ECQF_KB_TAKE(need, ctr, idx) \
    do {                             \
        (idx) = (ctr);               \
        (ctr) += (need);             \
    } while (0)
#define ECQF_KB_TAKE2(n0, n1, ctr, idx) \
    do {                                \
        (idx) = (ctr);                  \
        (ctr) += (n0) + (n1);           \
    } while (0)
#endif
#ifndef ECQF_KB_LD16
#define ECQF_KB_LD16(p, off) \
    ((ECQF_KB_U32)(p)[(off)] | ((ECQF_KB_U32)(p)[(off) + 1] << 8))
#define ECQF_KB_LD32(p, off)                                                             \
    ((ECQF_KB_U32)(p)[(off)] | ((ECQF_KB_U32)(p)[(off) + 1] << 8) |                      \
     ((ECQF_KB_U32)(p)[(off) + 2] << 16) | ((ECQF_KB_U32)(p)[(off) + 3] << 24))
#endif

/* ---- constants (values of the format) ------------------------------------------------- */
#define ECQF_KB_SCHEME_AFFINE 1u
#define ECQF_KB_SCHEME_SYMMETRIC 2u
#define ECQF_KB_SCHEME_ECSQ 3u
#define ECQF_KB_CODING_RAW 0u
#define ECQF_KB_CODING_RANS 1u
#define ECQF_KB_CODING_PREFIX 2u
#define ECQF_KB_DTYPE_F32 0u
#define ECQF_KB_DTYPE_F16 1u
#define ECQF_KB_DTYPE_BF16 2u
#define ECQF_KB_NO_ESCAPE 0x100u

/* error bits returned by the tile functions */
#define ECQF_KB_ERR_STREAM 1u   /* ..[R-8], [P-6]..[P-8], [G-2] */
#define ECQF_KB_ERR_PADDING 2u  /* [P-5]: nonzero padding word */
#define ECQF_KB_ERR_ESCAPES 4u  /* [E-2]: escape count of the tile */

/* Everything the body needs to know about a tensor: plain integers, no pointers. */
typedef struct ecqf_kb_tensor {
    ECQF_KB_U64 rows, cols;
    ECQF_KB_U32 scheme, coding;
    ECQF_KB_U32 lanes, pack, stripe;
    ECQF_KB_U32 precision;      /* RANS */
    ECQF_KB_U32 max_length;     /* PREFIX */
    ECQF_KB_U32 tile_rows, tile_cols;
    ECQF_KB_U32 param_dtype;    /* AFFINE, SYMMETRIC */
    ECQF_KB_U32 group_size;     /* AFFINE group, SYMMETRIC block */
    ECQF_KB_U32 bits;           /* AFFINE, SYMMETRIC; RAW code width for all schemes */
    ECQF_KB_U32 zero_code;      /* ECSQ */
    ECQF_KB_U32 escape_code;    /* ECSQ with escapes: Q-1; else ECQF_KB_NO_ESCAPE */
    ECQF_KB_U32 per_row;        /* ECSQ: one step per row */
    ECQF_KB_U64 groups;         /* cols / group_size (AFFINE, SYMMETRIC) */
} ecqf_kb_tensor;

/* One tile's geometry (spec 9.1-9.3), from ecqf_kb_tile_init. */
typedef struct ecqf_kb_tile {
    ECQF_KB_U64 r0, c0;
    ECQF_KB_U32 h, w;           /* rows and columns */
    ECQF_KB_U32 q, rem;         /* w = q*W + rem: lanes [0, rem) own q+1 columns */
    ECQF_KB_U32 len_hi, len_lo; /* symbols of lanes [0, rem) and of lanes [rem, W) */
    ECQF_KB_U32 steps;          /* len_hi when rem > 0, else len_lo */
} ecqf_kb_tile;

/* Per-lane state: decoder and position in the lane's element sequence (spec 9.2). */
typedef struct ecqf_kb_lane {
    ECQF_KB_U32 x;              /* rANS state, or prefix bit buffer B */
    ECQF_KB_U32 n;              /* prefix: bits in B */
    ECQF_KB_U32 len;            /* symbols of this lane */
    ECQF_KB_U32 left;           /* codes left in the lane's element sequence */
    ECQF_KB_U32 ncols;          /* columns of this lane */
    ECQF_KB_U32 s0, sh, sr, j;  /* stripe start, stripe height, row in stripe, column step */
} ecqf_kb_lane;

ECQF_KB_FN ECQF_KB_U32 ecqf_kb_min32(ECQF_KB_U32 a, ECQF_KB_U32 b) { return a < b ? a : b; }

/* Geometry of tile `t` (row-major tile numbering, spec 9.1). */
ECQF_KB_FN void ecqf_kb_tile_init(const ECQF_KB_PRIVATE ecqf_kb_tensor *T, ECQF_KB_U64 t, ECQF_KB_PRIVATE ecqf_kb_tile *g) {
    ECQF_KB_U64 tc = (T->cols + T->tile_cols - 1) / T->tile_cols;
    ECQF_KB_U64 e_hi, e_lo;
    g->r0 = (t / tc) * T->tile_rows;
    g->c0 = (t % tc) * T->tile_cols;
    g->h = (ECQF_KB_U32)(T->rows - g->r0 < T->tile_rows ? T->rows - g->r0 : T->tile_rows);
    g->w = (ECQF_KB_U32)(T->cols - g->c0 < T->tile_cols ? T->cols - g->c0 : T->tile_cols);
    g->q = g->w / T->lanes;
    g->rem = g->w % T->lanes;
    e_hi = (ECQF_KB_U64)g->h * (g->q + 1);
    e_lo = (ECQF_KB_U64)g->h * g->q;
    g->len_hi = (ECQF_KB_U32)(T->pack == 2 ? (e_hi + 1) / 2 : e_hi);
    g->len_lo = (ECQF_KB_U32)(T->pack == 2 ? (e_lo + 1) / 2 : e_lo);
    g->steps = g->rem ? g->len_hi : g->len_lo;
}

/* ---- parameters and dequantization (spec 7, exactly its f32 formulas) ----------------- */

/* binary16 -> binary32, exact (subnormals, infinities and NaN included) */
ECQF_KB_FN float ecqf_kb_half(ECQF_KB_U32 h) {
    ECQF_KB_U32 s = (h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    float f;
    if (e == 0) {
        f = ECQF_KB_FMUL((float)m, 5.9604644775390625e-8f); /* m * 2^-24, exact */
        return s ? -f : f;
    }
    if (e == 31) return ECQF_KB_AS_FLOAT(s | 0x7F800000u | (m << 13));
    return ECQF_KB_AS_FLOAT(s | ((e + 112u) << 23) | (m << 13));
}

/* Parameter i of an array of param_dtype values (params part seen as u16 words). */
ECQF_KB_FN float ecqf_kb_param(const ECQF_KB_GLOBAL ECQF_KB_U16 *p, ECQF_KB_U64 i,
                               ECQF_KB_U32 dtype) {
    if (dtype == ECQF_KB_DTYPE_F32)
        return ECQF_KB_AS_FLOAT((ECQF_KB_U32)p[2 * i] | ((ECQF_KB_U32)p[2 * i + 1] << 16));
    if (dtype == ECQF_KB_DTYPE_F16) return ecqf_kb_half(p[i]);
    return ECQF_KB_AS_FLOAT((ECQF_KB_U32)p[i] << 16);
}

/* The weight of element (r, c) with code u (and integer k for ECSQ, escapes resolved). */
ECQF_KB_FN float ecqf_kb_weight(const ECQF_KB_PRIVATE ecqf_kb_tensor *T, const ECQF_KB_GLOBAL ECQF_KB_U16 *params,
                                ECQF_KB_U64 r, ECQF_KB_U64 c, ECQF_KB_U32 u, ECQF_KB_I32 k) {
    if (T->scheme == ECQF_KB_SCHEME_ECSQ) {
        float step = ecqf_kb_param(params, T->per_row ? r : 0, ECQF_KB_DTYPE_F32);
        return ECQF_KB_FMUL(step, (float)k);
    } else {
        ECQF_KB_U64 gi = r * T->groups + c / T->group_size;
        float s = ecqf_kb_param(params, gi, T->param_dtype);
        if (T->scheme == ECQF_KB_SCHEME_AFFINE) {
            float b = ecqf_kb_param(params, T->rows * T->groups + gi, T->param_dtype);
            return ECQF_KB_FADD(ECQF_KB_FMUL(s, (float)u), b);
        }
        return ECQF_KB_FMUL(s, (float)((ECQF_KB_I32)u - (ECQF_KB_I32)(1u << (T->bits - 1))));
    }
}

/* ---- decode steps (spec 9.5, 9.6) ------------------------------------------------------ */

/* rANS: the symbol of state x; x becomes the pre-renormalization state. */
ECQF_KB_FN ECQF_KB_U32 ecqf_kb_rans_decode(ECQF_KB_PRIVATE ECQF_KB_U32 *x, ECQF_KB_U32 precision,
                                           const ECQF_KB_TABLE ECQF_KB_U32 *dtab,
                                           const ECQF_KB_TABLE ECQF_KB_U8 *dsym) {
    ECQF_KB_U32 v = *x & ((1u << precision) - 1u), e = dtab[v];
    *x = (e >> 16) * (*x >> precision) + (e & 0xFFFFu);
    return dsym[v];
}

/* prefix: the table entry (symbol | length << 8) of the code at the top of B. */
ECQF_KB_FN ECQF_KB_U32 ecqf_kb_prefix_lookup(ECQF_KB_U32 B, ECQF_KB_U32 max_length,
                                             const ECQF_KB_TABLE ECQF_KB_U32 *dtab) {
    return dtab[B >> (32u - max_length)];
}

/* ---- lane element sequence (spec 9.2) -------------------------------------------------- */

ECQF_KB_FN void ecqf_kb_lane_start(const ECQF_KB_PRIVATE ecqf_kb_tensor *T, const ECQF_KB_PRIVATE ecqf_kb_tile *g,
                                   ECQF_KB_U32 l, ECQF_KB_PRIVATE ecqf_kb_lane *s) {
    s->ncols = g->q + (l < g->rem ? 1u : 0u);
    s->len = l < g->rem ? g->len_hi : g->len_lo;
    s->left = g->h * s->ncols;
    s->s0 = 0;
    s->sh = ecqf_kb_min32(T->stripe, g->h);
    s->sr = 0;
    s->j = 0;
}

ECQF_KB_FN void ecqf_kb_lane_advance(const ECQF_KB_PRIVATE ecqf_kb_tensor *T, const ECQF_KB_PRIVATE ecqf_kb_tile *g,
                                     ECQF_KB_PRIVATE ecqf_kb_lane *s) {
    s->left--;
    if (++s->sr < s->sh) return;
    s->sr = 0;
    if (++s->j < s->ncols) return;
    s->j = 0;
    s->s0 += s->sh;
    s->sh = s->s0 < g->h ? ecqf_kb_min32(T->stripe, g->h - s->s0) : 0;
}

/* ---- a whole tile: decode, dequantize, partial dot products ---------------------------- */

/*
 * Decode tile `g` of tensor T from its bytes (tile[0 .. nbytes)), multiply every weight with
 * x[c] and add the products into part[r*W + l] (tile-local row r, lane l; h*W floats, zeroed
 * here). esc points to the escape values of this tile (esc_count of them) for ECSQ with
 * escapes. Returns 0 or ECQF_KB_ERR_* bits. Reads nothing outside the tile, the tables, the
 * params, esc[0 .. esc_count) and x[c0 .. c0 + w).
 */
ECQF_KB_FN ECQF_KB_U32 ecqf_kb_gemv_tile(const ECQF_KB_PRIVATE ecqf_kb_tensor *T, const ECQF_KB_PRIVATE ecqf_kb_tile *g,
                                         const ECQF_KB_GLOBAL ECQF_KB_U8 *tile, ECQF_KB_U32 nbytes,
                                         const ECQF_KB_TABLE ECQF_KB_U32 *dtab,
                                         const ECQF_KB_TABLE ECQF_KB_U8 *dsym,
                                         const ECQF_KB_GLOBAL ECQF_KB_U16 *params,
                                         const ECQF_KB_GLOBAL ECQF_KB_I32 *esc, ECQF_KB_U32 esc_count,
                                         const ECQF_KB_GLOBAL float *x, ECQF_KB_SCRATCH float *part) {
    const ECQF_KB_U32 W = T->lanes, rans = T->coding == ECQF_KB_CODING_RANS;
    const ECQF_KB_U32 head = rans ? 4u * W : 0u;
    ECQF_KB_U32 nwords, wctr = 0, ectr = 0, err = 0, t, l;
    ECQF_KB_LANE_ARRAY(ecqf_kb_lane, ls);

    if (nbytes < head || (nbytes - head) % 4u != 0) return ECQF_KB_ERR_STREAM;
    nwords = (nbytes - head) / 2u;

    /* start: zero the partial sums, read the states (rANS) or the first words (prefix) */
    ECQF_KB_LANES_BEGIN(l, W)
        ECQF_KB_PRIVATE ecqf_kb_lane *s = &ECQF_KB_LV(ls, l);
        ECQF_KB_U32 r, need, idx;
        for (r = 0; r < g->h; r++) part[r * W + l] = 0.0f;
        ecqf_kb_lane_start(T, g, l, s);
        s->x = 0;
        s->n = 0;
        if (rans) {
            s->x = ECQF_KB_LD32(tile, 4u * l);
            if (s->x < 0x10000u) err |= ECQF_KB_ERR_STREAM; /* */
            need = 0;
        } else {
            need = s->len > 0 ? 1u : 0u;
        }
        ECQF_KB_TAKE(need, wctr, idx);
        if (need) {
            if (idx < nwords) {
                s->x = ECQF_KB_LD16(tile, head + 2u * idx) << 16;
                s->n = 16;
            } else {
                err |= ECQF_KB_ERR_STREAM; /* */
            }
        }
    ECQF_KB_LANES_END

    for (t = 0; t < g->steps; t++) {
        ECQF_KB_LANES_BEGIN(l, W)
            ECQF_KB_PRIVATE ecqf_kb_lane *s = &ECQF_KB_LV(ls, l);
            ECQF_KB_U32 active = t < s->len ? 1u : 0u, sym = 0, need = 0, idx, eidx;
            ECQF_KB_U32 u0, u1, real1, e0, e1, ci;
            /* decode one symbol */
            if (rans) {
                if (active) {
                    sym = ecqf_kb_rans_decode(&s->x, T->precision, dtab, dsym);
                    need = s->x < 0x10000u ? 1u : 0u;
                }
                ECQF_KB_TAKE(need, wctr, idx);
                if (need) {
                    if (idx < nwords) s->x = (s->x << 16) | ECQF_KB_LD16(tile, head + 2u * idx);
                    else err |= ECQF_KB_ERR_STREAM; /* */
                }
            } else {
                if (active) {
                    ECQF_KB_U32 e = ecqf_kb_prefix_lookup(s->x, T->max_length, dtab), len = (e >> 8) & 0xFFu;
                    if (len == 0 || len > s->n) {
                        err |= ECQF_KB_ERR_STREAM; /* [P-6], [P-7] */
                        len = len > s->n ? s->n : len;
                    }
                    sym = e & 0xFFu;
                    s->x = len < 32u ? s->x << len : 0u;
                    s->n -= len;
                    need = s->n < 16u && t + 1u < s->len ? 1u : 0u;
                }
                ECQF_KB_TAKE(need, wctr, idx);
                if (need) {
                    if (idx < nwords) {
                        s->x += ECQF_KB_LD16(tile, 2u * idx) << (16u - s->n);
                        s->n += 16u;
                    } else {
                        err |= ECQF_KB_ERR_STREAM; /* */
                    }
                }
            }
            /* the symbol's codes, their escapes (in symbol order: lanes, then low before high) */
            u0 = T->pack == 2 ? sym & 15u : sym;
            u1 = sym >> 4;
            real1 = T->pack == 2 && s->left >= 2u ? 1u : 0u;
            if (active && T->pack == 2 && !real1 && u1 != 0) err |= ECQF_KB_ERR_STREAM; /* [G-2] */
            e0 = active && u0 == T->escape_code ? 1u : 0u;
            e1 = active && real1 && u1 == T->escape_code ? 1u : 0u;
            ECQF_KB_TAKE2(e0, e1, ectr, eidx);
            /* dequantize and accumulate */
            if (active) {
                for (ci = 0; ci < (real1 ? 2u : 1u); ci++) {
                    ECQF_KB_U32 u = ci ? u1 : u0, row = s->s0 + s->sr, c = s->j * W + l;
                    ECQF_KB_I32 k = (ECQF_KB_I32)u - (ECQF_KB_I32)T->zero_code;
                    float w;
                    if (ci ? e1 : e0) {
                        ECQF_KB_U32 ei = eidx + (ci ? e0 : 0u);
                        if (ei < esc_count) k = esc[ei];
                        else err |= ECQF_KB_ERR_ESCAPES; /* [E-2] */
                    }
                    w = ecqf_kb_weight(T, params, g->r0 + row, g->c0 + c, u, k);
                    part[row * W + l] = ECQF_KB_FADD(part[row * W + l], ECQF_KB_FMUL(w, x[g->c0 + c]));
                    ecqf_kb_lane_advance(T, g, s);
                }
            }
        ECQF_KB_LANES_END
    }

    /* end of tile: [R-7] / [P-8], [R-8] and the padding word, [E-2] */
    ECQF_KB_LANES_BEGIN(l, W)
        const ECQF_KB_PRIVATE ecqf_kb_lane *s = &ECQF_KB_LV(ls, l);
        if (rans ? s->x != 0x10000u : s->x != 0u) err |= ECQF_KB_ERR_STREAM;
    ECQF_KB_LANES_END
    if (wctr != nwords) {
        if (wctr + 1u == nwords && (wctr & 1u)) {
            if (ECQF_KB_LD16(tile, head + 2u * wctr) != 0) err |= ECQF_KB_ERR_PADDING;
        } else {
            err |= ECQF_KB_ERR_STREAM;
        }
    }
    if (ectr != esc_count) err |= ECQF_KB_ERR_ESCAPES;
    return err;
}

/* RAW coding (spec 8.1): code i of a bit-packed array, LSB first. */
ECQF_KB_FN ECQF_KB_U32 ecqf_kb_raw_code(const ECQF_KB_GLOBAL ECQF_KB_U8 *data, ECQF_KB_U64 i,
                                        ECQF_KB_U32 width) {
    ECQF_KB_U64 bit = i * width;
    ECQF_KB_U32 v = 0, got = 0;
    while (got < width) {
        ECQF_KB_U32 b = data[bit >> 3], sh = (ECQF_KB_U32)(bit & 7u), take = 8u - sh;
        if (take > width - got) take = width - got;
        v |= ((b >> sh) & ((1u << take) - 1u)) << got;
        got += take;
        bit += take;
    }
    return v;
}

/* The fixed reduction tree over W lanes: at each level every lane adds the value of lane
 * l ^ off (off = W/2, .., 1), as a shuffle-xor does; returns lane 0's value. v is clobbered. */
ECQF_KB_FN float ecqf_kb_tree_sum(ECQF_KB_PRIVATE float *v, ECQF_KB_U32 W) {
    ECQF_KB_U32 off, l;
    for (off = W / 2u; off >= 1u; off /= 2u) {
        for (l = 0; l < W; l++)
            if (l < (l ^ off)) {
                float a = ECQF_KB_FADD(v[l], v[l ^ off]);
                v[l] = a;
                v[l ^ off] = a;
            }
    }
    return v[0];
}

#endif /* ECQF_KERNEL_BODY_H */
