/*
 * simd_avx2.c — AVX2 primitives of the SIMD backend (kern.h: kern_isa_ops), compiled with
 * target attributes and used only after the runtime check.
 */
#include <string.h>

#include "kern.h"
#include "common/internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define T256 __attribute__((target("avx2,fma,f16c")))

static T256 float a2_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static T256 __m256 a2_u8x8(const uint8_t *u) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)u)));
}

static T256 float a2_row_dot(const uint8_t *u, const float *x, uint64_t c0, size_t w, unsigned gs, const float *s,
                             float off) {
    const __m256 vo = _mm256_set1_ps(off);
    __m256 acc = _mm256_setzero_ps();
    float tail = 0.0f;
    uint64_t g = c0 / gs;
    size_t i = 0, seg = (size_t)((g + 1) * gs - c0);
    while (i < w) {
        size_t k = 0;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        float t = 0.0f;
        if (seg > w - i) seg = w - i;
        for (; k + 16 <= seg; k += 16) {
            a0 = _mm256_fmadd_ps(_mm256_sub_ps(a2_u8x8(u + i + k), vo), _mm256_loadu_ps(x + i + k), a0);
            a1 = _mm256_fmadd_ps(_mm256_sub_ps(a2_u8x8(u + i + k + 8), vo), _mm256_loadu_ps(x + i + k + 8), a1);
        }
        for (; k + 8 <= seg; k += 8)
            a0 = _mm256_fmadd_ps(_mm256_sub_ps(a2_u8x8(u + i + k), vo), _mm256_loadu_ps(x + i + k), a0);
        for (; k < seg; k++) t += ((float)u[i + k] - off) * x[i + k];
        acc = _mm256_fmadd_ps(_mm256_add_ps(a0, a1), _mm256_set1_ps(s[g]), acc);
        tail += s[g] * t;
        i += seg;
        g++;
        seg = gs;
    }
    return a2_hsum(acc) + tail;
}

static T256 float a2_raw4_row(const uint8_t *packed, const float *xperm, size_t cols, unsigned gs, const float *s,
                              float off) {
    const size_t gcols = gs >= cols ? cols : gs, G = cols / gcols;
    const __m256i m15 = _mm256_set1_epi32(15);
    const __m256 vo = _mm256_set1_ps(off);
    __m256 acc = _mm256_setzero_ps();
    size_t g, c, k;
    for (g = 0; g < G; g++, packed += gcols / 2, xperm += gcols) {
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (c = 0; c < gcols; c += 32)
            for (k = 0; k < 16; k += 8) {
                __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(packed + c / 2 + k)));
                const float *xp = xperm + c + k;
                a0 = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_and_si256(v, m15)), vo), _mm256_loadu_ps(xp), a0);
                a1 = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4)), vo), _mm256_loadu_ps(xp + 16), a1);
            }
        acc = _mm256_fmadd_ps(_mm256_add_ps(a0, a1), _mm256_set1_ps(s[g]), acc);
    }
    return a2_hsum(acc);
}

static T256 float a2_dot_f32(const float *w, const float *x, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    float t = 0.0f;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
    for (; i < n; i++) t += w[i] * x[i];
    return a2_hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) + t;
}

static T256 void a2_cvt(const uint8_t *src, int dtype, size_t n, float *dst) {
    size_t i = 0;
    if (dtype == ECQF_DTYPE_F32) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    if (dtype == ECQF_DTYPE_F16) {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i))));
        for (; i < n; i++) dst[i] = ecqf_f16_to_f32(ecqf_rd16(src + 2 * i));
        return;
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(
                                      _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i))), 16)));
    for (; i < n; i++) dst[i] = ecqf_bf16_to_f32(ecqf_rd16(src + 2 * i));
}

/* Tile straight from symbols (see a512_tile_dot_t), 8 lanes per vector. */
static T256 void a2_tile_dot(const uint8_t *sym, unsigned pack, unsigned W, unsigned S, uint32_t h, uint32_t q,
                             const float *x, uint64_t c0, unsigned gs, const float *s, size_t G, float *y, float off) {
    const __m256i m15 = _mm256_set1_epi32(15);
    const __m256 vo = _mm256_set1_ps(off);
    const unsigned nv = W / 8;
    uint32_t s0, r, j, v;
    for (s0 = 0; s0 < h; s0 += S) {
        const uint32_t sh = h - s0 < S ? h - s0 : S;
        const size_t stride = (size_t)sh / pack * W;
        const uint8_t *sb = sym + (size_t)s0 * q * W / pack;
        for (r = 0; r < sh; r += pack) {
            const float *s_a = s + (size_t)(s0 + r) * G, *s_b = s_a + (pack == 2 ? G : 0);
            const uint8_t *row = sb + (size_t)(r / pack) * W;
            __m256 ya = _mm256_setzero_ps(), yb = _mm256_setzero_ps();
            __m256 ga = _mm256_setzero_ps(), gb = _mm256_setzero_ps();
            uint64_t g = c0 / gs, next = (g + 1) * gs, c = c0;
            for (j = 0; j < q; j++, row += stride, c += W) {
                const float *xj = x + (size_t)j * W;
                if (c >= next) {
                    ya = _mm256_fmadd_ps(ga, _mm256_set1_ps(s_a[g]), ya);
                    yb = _mm256_fmadd_ps(gb, _mm256_set1_ps(s_b[g]), yb);
                    ga = gb = _mm256_setzero_ps();
                    g++;
                    next += gs;
                }
                if (pack == 2) {
                    for (v = 0; v < nv; v++) {
                        __m256i cv = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(row + 8 * v)));
                        __m256 xv = _mm256_loadu_ps(xj + 8 * v);
                        ga = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_and_si256(cv, m15)), vo), xv, ga);
                        gb = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(cv, 4)), vo), xv, gb);
                    }
                } else {
                    for (v = 0; v < nv; v++) {
                        __m256i cv = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(row + 8 * v)));
                        ga = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(cv), vo), _mm256_loadu_ps(xj + 8 * v), ga);
                    }
                }
            }
            ya = _mm256_fmadd_ps(ga, _mm256_set1_ps(s_a[g]), ya);
            y[s0 + r] += a2_hsum(ya);
            if (pack == 2) {
                yb = _mm256_fmadd_ps(gb, _mm256_set1_ps(s_b[g]), yb);
                y[s0 + r + 1] += a2_hsum(yb);
            }
        }
    }
}

const kern_isa_ops kern_ops_avx2 = {ECQF_ISA_AVX2, a2_row_dot, a2_raw4_row, NULL, a2_dot_f32, a2_cvt, a2_tile_dot, 8};

#endif
