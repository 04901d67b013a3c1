/*
 * simd_avx512.c — AVX-512 primitives of the SIMD backend (kern.h: kern_isa_ops). Compiled with
 * target attributes, so the file builds with the default flags and runs only after the
 * runtime check (ecqf_fast_isa_best).
 */
#include <string.h>

#include "kern.h"
#include "common/internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))

/* sum_g s[g] * sum_{c in g} u[c] x[c] over columns [c0, c0+w); masked loads at the ends of
 * each group segment, so nothing outside u[0..w) and x[0..w) is read. */
static T512 float a512_row_dot(const uint8_t *u, const float *x, uint64_t c0, size_t w, unsigned gs,
                               const float *s, float off) {
    const __m512 vo = _mm512_set1_ps(off);
    __m512 acc = _mm512_setzero_ps();
    uint64_t g = c0 / gs;
    size_t i = 0, seg = (size_t)((g + 1) * gs - c0);
    while (i < w) {
        size_t k = 0;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        if (seg > w - i) seg = w - i;
        for (; k + 32 <= seg; k += 32) {
            __m512 q0 = _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(u + i + k)))), vo);
            __m512 q1 = _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(u + i + k + 16)))), vo);
            a0 = _mm512_fmadd_ps(q0, _mm512_loadu_ps(x + i + k), a0);
            a1 = _mm512_fmadd_ps(q1, _mm512_loadu_ps(x + i + k + 16), a1);
        }
        for (; k + 16 <= seg; k += 16) {
            __m512 q0 = _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(u + i + k)))), vo);
            a0 = _mm512_fmadd_ps(q0, _mm512_loadu_ps(x + i + k), a0);
        }
        if (k < seg) {
            __mmask16 m = (__mmask16)((1u << (seg - k)) - 1);
            __m512 q0 = _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, u + i + k))), vo);
            a0 = _mm512_fmadd_ps(q0, _mm512_maskz_loadu_ps(m, x + i + k), a0);
        }
        acc = _mm512_fmadd_ps(_mm512_add_ps(a0, a1), _mm512_set1_ps(s[g]), acc);
        i += seg;
        g++;
        seg = gs;
    }
    return _mm512_reduce_add_ps(acc);
}

/* RAW 4-bit row: per 16 bytes (32 columns), the low nibbles via vpermps of the table 0..15
 * (vpermps reads only the low 4 bits of each index), the high ones after a shift; xperm holds
 * x in that order. One group at a time (gs a multiple of 32, or one group per row). */
static T512 float a512_raw4_row(const uint8_t *packed, const float *xperm, size_t cols, unsigned gs,
                                const float *s, float off) {
    const __m512 tab = _mm512_sub_ps(_mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_ps(off));
    const size_t gcols = gs >= cols ? cols : gs, G = cols / gcols;
    __m512 acc = _mm512_setzero_ps();
    size_t g, c;
    if (gcols == 64) { /* MLX's group size: one 32-byte block per group, two groups per turn */
        __m512 acc1 = _mm512_setzero_ps();
#define A512_G64(P, X, A, S)                                                                                   \
    do {                                                                                                       \
        __m512i v0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(P)));               \
        __m512i v1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)((P) + 16)));        \
        __m512 t0 = _mm512_mul_ps(_mm512_permutexvar_ps(v0, tab), _mm512_loadu_ps(X));                        \
        __m512 t1 = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v0, 4), tab), _mm512_loadu_ps((X) + 16)); \
        t0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(v1, tab), _mm512_loadu_ps((X) + 32), t0);                  \
        t1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v1, 4), tab), _mm512_loadu_ps((X) + 48), t1); \
        A = _mm512_fmadd_ps(_mm512_add_ps(t0, t1), _mm512_set1_ps(S), A);                                     \
    } while (0)
        for (g = 0; g + 2 <= G; g += 2, packed += 64, xperm += 128) {
            A512_G64(packed, xperm, acc, s[g]);
            A512_G64(packed + 32, xperm + 64, acc1, s[g + 1]);
        }
        if (g < G) A512_G64(packed, xperm, acc, s[g]);
#undef A512_G64
        return _mm512_reduce_add_ps(_mm512_add_ps(acc, acc1));
    }
    for (g = 0; g < G; g++, packed += gcols / 2, xperm += gcols) {
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        for (c = 0; c + 64 <= gcols; c += 64) {
            __m512i v0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(packed + c / 2)));
            __m512i v1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(packed + c / 2 + 16)));
            a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(v0, tab), _mm512_loadu_ps(xperm + c), a0);
            a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v0, 4), tab), _mm512_loadu_ps(xperm + c + 16), a1);
            a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(v1, tab), _mm512_loadu_ps(xperm + c + 32), a0);
            a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v1, 4), tab), _mm512_loadu_ps(xperm + c + 48), a1);
        }
        if (c < gcols) { /* 32 columns left */
            __m512i v0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(packed + c / 2)));
            a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(v0, tab), _mm512_loadu_ps(xperm + c), a0);
            a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v0, 4), tab), _mm512_loadu_ps(xperm + c + 16), a1);
        }
        acc = _mm512_fmadd_ps(_mm512_add_ps(a0, a1), _mm512_set1_ps(s[g]), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

/* Four rows of RAW 4-bit codes, groups of 64: each x vector is loaded once for the four rows. */
static T512 void a512_raw4_rows4(const uint8_t *packed, size_t stride, const float *xperm, size_t cols, unsigned gs,
                                 const float *s, size_t G, float off, float *out) {
    const __m512 tab = _mm512_sub_ps(_mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_ps(off));
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    const uint8_t *q0 = packed, *q1 = packed + stride, *q2 = packed + 2 * stride, *q3 = packed + 3 * stride;
    size_t g, k;
    if (gs != 64 || cols < 64) {
        for (k = 0; k < 4; k++) out[k] = a512_raw4_row(packed + k * stride, xperm, cols, gs, s + k * G, off);
        return;
    }
#define A512_ROW(Q, A, S)                                                                                 \
    do {                                                                                                  \
        __m512i v0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)((Q) + 32 * g)));       \
        __m512i v1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)((Q) + 32 * g + 16)));  \
        __m512 t0 = _mm512_mul_ps(_mm512_permutexvar_ps(v0, tab), x0);                                     \
        __m512 t1 = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v0, 4), tab), x1);               \
        t0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(v1, tab), x2, t0);                                      \
        t1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v1, 4), tab), x3, t1);                \
        A = _mm512_fmadd_ps(_mm512_add_ps(t0, t1), _mm512_set1_ps(S), A);                                  \
    } while (0)
    for (g = 0; g < cols / 64; g++) {
        const __m512 x0 = _mm512_loadu_ps(xperm + 64 * g), x1 = _mm512_loadu_ps(xperm + 64 * g + 16);
        const __m512 x2 = _mm512_loadu_ps(xperm + 64 * g + 32), x3 = _mm512_loadu_ps(xperm + 64 * g + 48);
        A512_ROW(q0, a0, s[g]);
        A512_ROW(q1, a1, s[G + g]);
        A512_ROW(q2, a2, s[2 * G + g]);
        A512_ROW(q3, a3, s[3 * G + g]);
    }
#undef A512_ROW
    out[0] = _mm512_reduce_add_ps(a0);
    out[1] = _mm512_reduce_add_ps(a1);
    out[2] = _mm512_reduce_add_ps(a2);
    out[3] = _mm512_reduce_add_ps(a3);
}

static T512 float a512_dot_f32(const float *w, const float *x, size_t n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 16), _mm512_loadu_ps(x + i + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 32), _mm512_loadu_ps(x + i + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 48), _mm512_loadu_ps(x + i + 48), a3);
    }
    for (; i + 16 <= n; i += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(x + i), a0);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + i), _mm512_maskz_loadu_ps(m, x + i), a1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

static T512 void a512_cvt(const uint8_t *src, int dtype, size_t n, float *dst) {
    size_t i = 0;
    if (dtype == ECQF_DTYPE_F32) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    if (dtype == ECQF_DTYPE_F16) {
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(src + 2 * i))));
        for (; i < n; i++) dst[i] = ecqf_f16_to_f32(ecqf_rd16(src + 2 * i));
        return;
    }
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(
                                      _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(src + 2 * i))), 16)));
    for (; i < n; i++) dst[i] = ecqf_bf16_to_f32(ecqf_rd16(src + 2 * i));
}

/* Tile straight from symbols. Per stripe, per row (pack 1) or row pair (pack 2): the symbols
 * of column step j for that row sit at W consecutive bytes, so each 16 of them are one vector
 * load; pack 2 holds the pair's first row in the low nibbles and the second in the high ones
 * (vpermps of the table 0..15 reads only the low 4 bits of each index, so the low nibble needs
 * no mask). Each group's partial sums are scaled when the column steps leave the group. NV is
 * W/16; the row loop is specialized for the common counts so the vectors stay in registers. */
static inline __attribute__((always_inline)) T512 void a512_tile_dot_t(
    const uint8_t *sym, const unsigned pack, const unsigned NV, unsigned S, uint32_t h, uint32_t q, const float *x,
    uint64_t c0, unsigned gs, const float *s, size_t G, float *y, float off) {
    const __m512 vo = _mm512_set1_ps(off);
    const __m512 tab = _mm512_sub_ps(_mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), vo);
    const unsigned W = 16 * NV;
    uint32_t s0, r, j, v;
    for (s0 = 0; s0 < h; s0 += S) {
        const uint32_t sh = h - s0 < S ? h - s0 : S;
        const size_t stride = (size_t)sh / pack * W; /* bytes between column steps of one row */
        const uint8_t *sb = sym + (size_t)s0 * q * W / pack;
        for (r = 0; r < sh; r += pack) {
            const float *s_a = s + (size_t)(s0 + r) * G, *s_b = s_a + (pack == 2 ? G : 0);
            const uint8_t *row = sb + (size_t)(r / pack) * W;
            __m512 ya = _mm512_setzero_ps(), yb = _mm512_setzero_ps();
            __m512 ga = _mm512_setzero_ps(), gb = _mm512_setzero_ps();
            uint64_t g = c0 / gs, next = (g + 1) * gs, c = c0;
            for (j = 0; j < q; j++, row += stride, c += W) {
                const float *xj = x + (size_t)j * W;
                if (c >= next) {
                    ya = _mm512_fmadd_ps(ga, _mm512_set1_ps(s_a[g]), ya);
                    yb = _mm512_fmadd_ps(gb, _mm512_set1_ps(s_b[g]), yb);
                    ga = gb = _mm512_setzero_ps();
                    g++;
                    next += gs;
                }
                for (v = 0; v < NV; v++) {
                    __m512i cv = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(row + 16 * v)));
                    __m512 xv = _mm512_loadu_ps(xj + 16 * v);
                    if (pack == 2) {
                        ga = _mm512_fmadd_ps(_mm512_permutexvar_ps(cv, tab), xv, ga);
                        gb = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(cv, 4), tab), xv, gb);
                    } else {
                        ga = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_cvtepi32_ps(cv), vo), xv, ga);
                    }
                }
            }
            ya = _mm512_fmadd_ps(ga, _mm512_set1_ps(s_a[g]), ya);
            y[s0 + r] += _mm512_reduce_add_ps(ya);
            if (pack == 2) {
                yb = _mm512_fmadd_ps(gb, _mm512_set1_ps(s_b[g]), yb);
                y[s0 + r + 1] += _mm512_reduce_add_ps(yb);
            }
        }
    }
}

#define A512_TD(name, PACK, NV)                                                                                \
    static T512 void name(const uint8_t *sym, unsigned S, uint32_t h, uint32_t q, const float *x, uint64_t c0, \
                          unsigned gs, const float *s, size_t G, float *y, float off) {                        \
        a512_tile_dot_t(sym, PACK, NV, S, h, q, x, c0, gs, s, G, y, off);                                     \
    }
A512_TD(a512_td_1_1, 1, 1)
A512_TD(a512_td_1_2, 1, 2)
A512_TD(a512_td_1_4, 1, 4)
A512_TD(a512_td_2_1, 2, 1)
A512_TD(a512_td_2_2, 2, 2)
A512_TD(a512_td_2_4, 2, 4)

static T512 void a512_tile_dot(const uint8_t *sym, unsigned pack, unsigned W, unsigned S, uint32_t h, uint32_t q,
                               const float *x, uint64_t c0, unsigned gs, const float *s, size_t G, float *y, float off) {
    switch ((pack << 8) | W) {
    case 0x110: a512_td_1_1(sym, S, h, q, x, c0, gs, s, G, y, off); break;
    case 0x120: a512_td_1_2(sym, S, h, q, x, c0, gs, s, G, y, off); break;
    case 0x140: a512_td_1_4(sym, S, h, q, x, c0, gs, s, G, y, off); break;
    case 0x210: a512_td_2_1(sym, S, h, q, x, c0, gs, s, G, y, off); break;
    case 0x220: a512_td_2_2(sym, S, h, q, x, c0, gs, s, G, y, off); break;
    default: a512_td_2_4(sym, S, h, q, x, c0, gs, s, G, y, off); break;
    }
}

const kern_isa_ops kern_ops_avx512 = {ECQF_ISA_AVX512, a512_row_dot, a512_raw4_row, a512_raw4_rows4, a512_dot_f32, a512_cvt,
                                      a512_tile_dot, 16};

#endif
