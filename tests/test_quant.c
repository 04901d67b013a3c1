/*
 * test_quant.c — Check tests of the quantizers (libecqf/quant) and of the rate-control
 * helpers (tools/common/ratecontrol.c): exact dequantization formulas (spec section 7),
 * MLX affine semantics and edge cases, Q4_0/Q8_0 rules, the ECSQ error bound on Gaussian,
 * heavy-tailed and outlier data (never clipped), the alphabet choice with and without
 * escapes, step snapping, and the SQNR / bpw / model-wide searches.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecqf.h"
#include "ratecontrol.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static void rng_seed(uint64_t s) { rng_state = s ? s : 1; }
static uint64_t rng_u64(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}
static double rng_unif(void) { return ((double)(rng_u64() >> 11) + 0.5) / 9007199254740992.0; }
static double rng_gauss(void) {
    return sqrt(-2.0 * log(rng_unif())) * cos(6.283185307179586 * rng_unif());
}
/* Student-t with nu degrees of freedom: N(0,1) / sqrt(chi2_nu / nu) */
static double rng_student(int nu) {
    double chi = 0.0;
    for (int i = 0; i < nu; i++) {
        double g = rng_gauss();
        chi += g * g;
    }
    return rng_gauss() / sqrt(chi / nu);
}

static float param_get(const void *base, uint64_t i, int dtype) {
    const uint8_t *p = base;
    if (dtype == ECQF_DTYPE_F32) {
        uint32_t u = (uint32_t)p[4 * i] | ((uint32_t)p[4 * i + 1] << 8) |
                     ((uint32_t)p[4 * i + 2] << 16) | ((uint32_t)p[4 * i + 3] << 24);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
    return dtype == ECQF_DTYPE_F16 ? ecqf_f16_to_f32(h) : ecqf_bf16_to_f32(h);
}
static float to_dtype(float v, int dtype) {
    if (dtype == ECQF_DTYPE_F16) return ecqf_f16_to_f32(ecqf_f32_to_f16(v));
    if (dtype == ECQF_DTYPE_BF16) return ecqf_bf16_to_f32(ecqf_f32_to_bf16(v));
    return v;
}

/* spec 7.1, one binary32 operation at a time */
static float affine_deq(float scale, uint8_t u, float bias) {
    volatile float t = scale * (float)u;
    return t + bias;
}
/* spec 7.2 */
static float sym_deq(float d, uint8_t u, unsigned bits) {
    return d * (float)((int)u - (1 << (bits - 1)));
}
/* spec 7.3 */
static float ecsq_deq(float step, int32_t k) {
    volatile float kf = (float)k;
    return step * kf;
}

/* An independent transcription of MLX's affine rule (see affine.c), for bit comparisons. */
static void ref_affine_group(const float *x, unsigned g, unsigned bits, uint8_t *u, float *s_out,
                             float *b_out) {
    volatile float n_bins = (float)((1u << bits) - 1), eps = (float)1e-7;
    volatile float hi = -INFINITY, lo = INFINITY;
    for (unsigned j = 0; j < g; j++) {
        hi = fmaxf(hi, x[j]);
        lo = fminf(lo, x[j]);
    }
    int mask = fabsf(lo) > fabsf(hi);
    volatile float s = (hi - lo) / n_bins;
    s = fmaxf(s, eps);
    s = mask ? s : -s;
    volatile float edge = mask ? lo : hi;
    volatile float q0 = rintf(edge / s);
    volatile float bias = 0.0f;
    if (q0 != 0.0f) {
        s = edge / q0;
        bias = edge;
    }
    for (unsigned j = 0; j < g; j++) {
        volatile float t = (x[j] - bias) / s;
        float q = rintf(t);
        q = fminf(fmaxf(q, 0.0f), n_bins);
        u[j] = (uint8_t)q;
    }
    *s_out = s;
    *b_out = bias;
}

/* ---- affine ------------------------------------------------------------------------------ */

START_TEST(affine_exact_dyadic) {
    /* values k/4, k = -8..7: hi 1.75, lo -2 -> |lo| wins, scale 3.75/15 = 0.25, q0 = -8,
     * bias -2: codes k+8 and an exact round trip in every param dtype */
    float w[32];
    uint8_t u[32], s[4 * 1], b[4 * 1];
    for (int i = 0; i < 32; i++) w[i] = (float)((i % 16) - 8) / 4.0f;
    for (int dt = 0; dt < 3; dt++) {
        ck_assert_int_eq(ecqf_quantize_affine(w, 1, 32, 4, 32, dt, u, s, b), ECQF_OK);
        ck_assert(param_get(s, 0, dt) == 0.25f);
        ck_assert(param_get(b, 0, dt) == -2.0f);
        for (int i = 0; i < 32; i++) {
            ck_assert_uint_eq(u[i], (unsigned)(i % 16));
            ck_assert(affine_deq(param_get(s, 0, dt), u[i], param_get(b, 0, dt)) == w[i]);
        }
    }
    /* mirrored: hi has the larger magnitude -> negative scale, code 0 is the maximum */
    for (int i = 0; i < 32; i++) w[i] = (float)(8 - (i % 16)) / 4.0f; /* 2 .. -1.75 */
    ck_assert_int_eq(ecqf_quantize_affine(w, 1, 32, 4, 32, ECQF_DTYPE_F32, u, s, b), ECQF_OK);
    ck_assert(param_get(s, 0, ECQF_DTYPE_F32) == -0.25f);
    ck_assert(param_get(b, 0, ECQF_DTYPE_F32) == 2.0f);
    for (int i = 0; i < 32; i++) {
        ck_assert_uint_eq(u[i], (unsigned)(i % 16));
        ck_assert(affine_deq(-0.25f, u[i], 2.0f) == w[i]);
    }
}
END_TEST

START_TEST(affine_constant_groups) {
    const float consts[] = {0.0f, 0.5f, -0.25f, 3.0e4f, -1.0e-3f};
    float w[64];
    uint8_t u[64], s[4 * 2], b[4 * 2];
    for (size_t c = 0; c < sizeof consts / sizeof consts[0]; c++) {
        for (int dt = 0; dt < 3; dt++) {
            for (unsigned bits = 2; bits <= 8; bits++) {
                for (int i = 0; i < 64; i++) w[i] = to_dtype(consts[c], dt);
                ck_assert_int_eq(ecqf_quantize_affine(w, 1, 64, bits, 32, dt, u, s, b), ECQF_OK);
                for (int g = 0; g < 2; g++) {
                    float sc = param_get(s, (uint64_t)g, dt), bi = param_get(b, (uint64_t)g, dt);
                    ck_assert(isfinite(sc) && isfinite(bi));
                    for (int i = 0; i < 32; i++) {
                        ck_assert_uint_eq(u[g * 32 + i], 0);
                        /* code 0 decodes to the bias, which is the constant itself */
                        ck_assert(affine_deq(sc, u[g * 32 + i], bi) == w[g * 32 + i]);
                    }
                }
            }
        }
    }
}
END_TEST

/* Random, negative-only, positive-only and heavy-tailed groups, bits 2..8, groups 32/64/128
 * and all param dtypes: bit-identical to the reference rule, and a bounded error. */
START_TEST(affine_matches_reference) {
    enum { R = 6, C = 256 };
    static float w[R * C];
    static uint8_t u[R * C], uref[C];
    static uint8_t s[4 * R * C / 32], b[4 * R * C / 32];
    const unsigned groups[] = {32, 64, 128};
    rng_seed(7);
    for (int kind = 0; kind < 4; kind++) {
        for (int i = 0; i < R * C; i++) {
            double v = kind == 3 ? 0.02 * rng_student(3) : 0.02 * rng_gauss();
            if (kind == 1) v = -fabs(v) - 0.001; /* negative only */
            if (kind == 2) v = fabs(v) + 0.001;  /* positive only */
            w[i] = (float)v;
        }
        for (int dt = 0; dt < 3; dt++) {
            for (unsigned bits = 2; bits <= 8; bits++) {
                for (size_t gi = 0; gi < 3; gi++) {
                    unsigned g = groups[gi];
                    float in[R * C];
                    for (int i = 0; i < R * C; i++) in[i] = to_dtype(w[i], dt);
                    ck_assert_int_eq(ecqf_quantize_affine(in, R, C, bits, g, dt, u, s, b), ECQF_OK);
                    for (unsigned grp = 0; grp < R * C / g; grp++) {
                        float rs, rb;
                        ref_affine_group(in + grp * g, g, bits, uref, &rs, &rb);
                        ck_assert(param_get(s, grp, dt) == to_dtype(rs, dt));
                        ck_assert(param_get(b, grp, dt) == to_dtype(rb, dt));
                        float sc = param_get(s, grp, dt), bi = param_get(b, grp, dt);
                        for (unsigned j = 0; j < g; j++) {
                            ck_assert_uint_eq(u[grp * g + j], uref[j]);
                            ck_assert_uint_lt(u[grp * g + j], 1u << bits);
                            /* MLX's zero-point adjustment can stretch the scale so that the far
                             * edge is clamped: the error stays below one step (plus param
                             * rounding), and below half a step elsewhere. */
                            float d = fabsf(affine_deq(sc, u[grp * g + j], bi) - in[grp * g + j]);
                            float tol = dt == ECQF_DTYPE_F32 ? 1e-6f : 0.02f;
                            ck_assert(d <= fabsf(sc) * (1.0f + tol) + fabsf(bi) * tol * 0.25f);
                        }
                    }
                }
            }
        }
    }
}
END_TEST

START_TEST(affine_rejects) {
    float w[64] = {0};
    uint8_t u[64], s[16], b[16];
    ck_assert_int_eq(ecqf_quantize_affine(w, 1, 64, 1, 32, 0, u, s, b), ECQF_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ecqf_quantize_affine(w, 1, 64, 9, 32, 0, u, s, b), ECQF_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ecqf_quantize_affine(w, 1, 64, 4, 48, 0, u, s, b), ECQF_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ecqf_quantize_affine(w, 1, 48, 4, 32, 0, u, s, b), ECQF_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ecqf_quantize_affine(w, 1, 64, 4, 32, 7, u, s, b), ECQF_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ecqf_quantize_affine(w, UINT64_MAX, 64, 4, 32, 0, u, s, b),
                     ECQF_ERR_INVALID_ARGUMENT);
    w[5] = NAN;
    ck_assert_int_eq(ecqf_quantize_affine(w, 1, 64, 4, 32, 0, u, s, b), ECQF_ERR_INVALID_ARGUMENT);
    w[5] = INFINITY;
    ck_assert_int_eq(ecqf_quantize_affine(w, 1, 64, 4, 32, 0, u, s, b), ECQF_ERR_INVALID_ARGUMENT);
    /* f16 cannot hold a bias of 1e6 */
    for (int i = 0; i < 64; i++) w[i] = 1.0e6f + (float)i;
    ck_assert_int_eq(ecqf_quantize_affine(w, 1, 64, 4, 32, ECQF_DTYPE_F16, u, s, b),
                     ECQF_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ecqf_quantize_affine(w, 1, 64, 4, 32, ECQF_DTYPE_BF16, u, s, b), ECQF_OK);
    /* empty tensors are fine */
    ck_assert_int_eq(ecqf_quantize_affine(NULL, 0, 64, 4, 32, 0, NULL, NULL, NULL), ECQF_OK);
}
END_TEST

/* ---- symmetric --------------------------------------------------------------------------- */

START_TEST(symmetric_q4_0_exact) {
    float w[64];
    uint8_t u[64], s[2 * 2];
    /* block 0: k/2 for k = -8..7 (max magnitude -4 -> d = 0.5); block 1: mirrored, max +4
     * -> d = -0.5 and the +4 maps to code 0 */
    for (int i = 0; i < 32; i++) w[i] = (float)((i % 16) - 8) / 2.0f;
    for (int i = 0; i < 32; i++) w[32 + i] = (float)(8 - (i % 16)) / 2.0f;
    ck_assert_int_eq(ecqf_quantize_symmetric(w, 1, 64, 4, 32, ECQF_DTYPE_F16, u, s), ECQF_OK);
    ck_assert(param_get(s, 0, ECQF_DTYPE_F16) == 0.5f);
    ck_assert(param_get(s, 1, ECQF_DTYPE_F16) == -0.5f);
    for (int i = 0; i < 64; i++) {
        ck_assert_uint_eq(u[i], (unsigned)(i % 16));
        ck_assert(sym_deq(param_get(s, (uint64_t)(i / 32), ECQF_DTYPE_F16), u[i], 4) == w[i]);
    }
    /* ties: the first value of largest magnitude decides the sign */
    for (int i = 0; i < 32; i++) w[i] = (i == 3) ? -2.0f : (i == 9) ? 2.0f : 0.25f;
    ck_assert_int_eq(ecqf_quantize_symmetric(w, 1, 32, 4, 32, ECQF_DTYPE_F32, u, s), ECQF_OK);
    ck_assert(param_get(s, 0, ECQF_DTYPE_F32) == 0.25f);
    ck_assert_uint_eq(u[3], 0);
    ck_assert_uint_eq(u[9], 15); /* +2 / 0.25 = 8 -> 16, clamped to 15 */
    /* an all-zero block: d = 0, every code is the zero point */
    memset(w, 0, sizeof w);
    ck_assert_int_eq(ecqf_quantize_symmetric(w, 2, 32, 4, 32, ECQF_DTYPE_F16, u, s), ECQF_OK);
    for (int i = 0; i < 64; i++) ck_assert_uint_eq(u[i], 8);
    ck_assert(param_get(s, 0, ECQF_DTYPE_F16) == 0.0f);
}
END_TEST

START_TEST(symmetric_q8_0_exact) {
    float w[256];
    uint8_t u[256], s[2 * 8];
    /* k/4 for k = -127..127 (+ zero padding): d = amax / 127 = 0.25 and codes k + 128 */
    for (int i = 0; i < 256; i++) w[i] = i < 255 ? (float)(i - 127) / 4.0f : 0.0f;
    ck_assert_int_eq(ecqf_quantize_symmetric(w, 1, 256, 8, 32, ECQF_DTYPE_F16, u, s), ECQF_OK);
    for (int blk = 0; blk < 8; blk++) {
        float d = param_get(s, (uint64_t)blk, ECQF_DTYPE_F16);
        float amax = 0.0f;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(w[blk * 32 + i]));
        ck_assert(d == to_dtype(amax / 127.0f, ECQF_DTYPE_F16));
        for (int i = 0; i < 32; i++) {
            int k = (int)u[blk * 32 + i] - 128;
            ck_assert_int_ge(k, -127);
            ck_assert_int_le(k, 127);
            ck_assert(fabsf(sym_deq(d, u[blk * 32 + i], 8) - w[blk * 32 + i]) <= 0.5f * d * 1.0001f);
        }
    }
}
END_TEST

START_TEST(symmetric_random) {
    enum { C = 256 };
    float w[4 * C];
    uint8_t u[4 * C], s[4 * 4 * C / 16];
    const unsigned blocks[] = {16, 32, 64, 128, 256};
    rng_seed(11);
    for (int i = 0; i < 4 * C; i++) w[i] = (float)(0.05 * rng_student(4));
    for (int dt = 0; dt < 3; dt++)
        for (unsigned bits = 2; bits <= 8; bits++)
            for (int bi = 0; bi < 5; bi++) {
                unsigned bs = blocks[bi];
                ck_assert_int_eq(ecqf_quantize_symmetric(w, 4, C, bits, bs, dt, u, s), ECQF_OK);
                for (int i = 0; i < 4 * C; i++) {
                    float d = param_get(s, (uint64_t)(i / (int)bs), dt);
                    int half = 1 << (bits - 1);
                    /* the codes are those of the stored d (round half away, clamped) */
                    long k = d != 0.0f ? lroundf(w[i] / d) : 0;
                    long c = k + half;
                    if (c < 0) c = 0;
                    if (c > (1 << bits) - 1) c = (1 << bits) - 1;
                    ck_assert_int_eq(u[i], c);
                    float e = fabsf(sym_deq(d, u[i], bits) - w[i]);
                    if (c == k + half) ck_assert(e <= 0.5f * fabsf(d) * 1.0001f);
                    else ck_assert(e <= fabsf(d) * 1.02f); /* the clamped top of Q4_0's grid */
                }
            }
    ck_assert_int_eq(ecqf_quantize_symmetric(w, 4, C, 4, 32, 3, u, s), ECQF_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ecqf_quantize_symmetric(w, 4, C, 4, 24, 0, u, s), ECQF_ERR_INVALID_ARGUMENT);
    w[17] = NAN;
    ck_assert_int_eq(ecqf_quantize_symmetric(w, 4, C, 4, 32, 0, u, s), ECQF_ERR_INVALID_ARGUMENT);
    w[17] = 1.0e9f; /* d = 1.25e8 overflows f16 */
    ck_assert_int_eq(ecqf_quantize_symmetric(w, 4, C, 4, 32, ECQF_DTYPE_F16, u, s),
                     ECQF_ERR_INVALID_ARGUMENT);
}
END_TEST

/* ---- ECSQ -------------------------------------------------------------------------------- */

static void check_ecsq_bound(const float *w, uint64_t rows, uint64_t cols, const float *steps,
                             int per_row, const int32_t *k) {
    for (uint64_t r = 0; r < rows; r++) {
        float st = steps[per_row ? r : 0];
        for (uint64_t c = 0; c < cols; c++) {
            uint64_t i = r * cols + c;
            double e = fabs((double)w[i] - (double)ecsq_deq(st, k[i]));
            ck_assert_msg(e <= 0.5 * (double)st, "w=%a step=%a k=%d", (double)w[i], (double)st,
                          k[i]);
        }
    }
}

START_TEST(ecsq_bound_random_and_heavy_tails) {
    enum { R = 64, C = 512 };
    static float w[R * C];
    static int32_t k[R * C];
    float steps[R];
    rng_seed(3);
    for (int kind = 0; kind < 4; kind++) {
        for (int i = 0; i < R * C; i++) {
            double v = kind == 0 ? rng_gauss() : kind == 1 ? rng_student(3) : rng_student(1);
            if (kind == 3) v = rng_gauss() * ((i % 997) == 0 ? 1.0e4 : 1.0); /* far outliers */
            w[i] = (float)(0.02 * v);
        }
        /* arbitrary (unsnapped) per-tensor steps; a refusal is allowed only when no k can
         * meet the bound, which is vanishingly rare at these magnitudes */
        const float raw[] = {0.0037f, 0.011f, 0.0123456f, 0.1f};
        for (int si = 0; si < 4; si++) {
            int rc = ecqf_quantize_ecsq(w, R, C, &raw[si], 0, k);
            ck_assert_int_eq(rc, ECQF_OK);
            check_ecsq_bound(w, R, C, &raw[si], 0, k);
        }
        /* per-row snapped steps from the rate control helper */
        ck_assert_int_eq(rc_ecsq_steps(w, R, C, RC_PER_ROW, 0.37, steps), ECQF_OK);
        ck_assert_int_eq(ecqf_quantize_ecsq(w, R, C, steps, 1, k), ECQF_OK);
        check_ecsq_bound(w, R, C, steps, 1, k);
        /* outliers are never clipped: the largest |w| keeps its |k| */
        float amax = 0.0f;
        int32_t kmax = 0;
        for (int i = 0; i < R * C; i++) {
            if (fabsf(w[i]) > amax) amax = fabsf(w[i]);
            if (abs(k[i]) > kmax) kmax = abs(k[i]);
        }
        ck_assert(kmax >= 1);
    }
}
END_TEST

START_TEST(ecsq_rounding_fixups) {
    /* round(w/step) = 68008 but binary32 rounding of step*68008 lands more than step/2 away;
     * 68007 meets the bound */
    float st = 0x1.ed6522p-2f, w = 0x1.000042p+15f;
    int32_t k;
    ck_assert_int_eq(ecqf_quantize_ecsq(&w, 1, 1, &st, 0, &k), ECQF_OK);
    ck_assert_int_eq(k, 68007);
    check_ecsq_bound(&w, 1, 1, &st, 0, &k);
    /* here no integer meets the bound with step 0.1 (two consecutive products round apart by
     * more than a step): refused ... */
    st = 0.1f;
    w = 0x1.00089ap+14f;
    ck_assert_int_eq(ecqf_quantize_ecsq(&w, 1, 1, &st, 0, &k), ECQF_ERR_INVALID_ARGUMENT);
    /* ... and fine once the step is snapped */
    st = rc_snap_step(0.1f, w);
    /* |k| reaches 163862 (18 bits), so 6 significant bits of the step are kept */
    ck_assert(st != 0.1f && fabsf(st - 0.1f) <= 0.1f / 128.0f);
    ck_assert_int_eq(ecqf_quantize_ecsq(&w, 1, 1, &st, 0, &k), ECQF_OK);
    check_ecsq_bound(&w, 1, 1, &st, 0, &k);
    /* half away from zero on exact ties */
    float ties[4] = {0.25f, -0.25f, 0.75f, -0.75f};
    int32_t kt[4];
    st = 0.5f;
    ck_assert_int_eq(ecqf_quantize_ecsq(ties, 1, 4, &st, 0, kt), ECQF_OK);
    ck_assert_int_eq(kt[0], 1);
    ck_assert_int_eq(kt[1], -1);
    ck_assert_int_eq(kt[2], 2);
    ck_assert_int_eq(kt[3], -2);
}
END_TEST

START_TEST(ecsq_rejects) {
    float w[4] = {0.1f, -0.2f, 0.0f, 0.3f}, st = 0.1f, zero = 0.0f, neg = -0.1f;
    float steps2[2] = {0.0f, 0.125f};
    int32_t k[4];
    ck_assert_int_eq(ecqf_quantize_ecsq(w, 1, 4, &neg, 0, k), ECQF_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ecqf_quantize_ecsq(w, 1, 4, &zero, 0, k), ECQF_ERR_INVALID_ARGUMENT);
    float nanstep = NAN, infstep = INFINITY;
    ck_assert_int_eq(ecqf_quantize_ecsq(w, 1, 4, &nanstep, 0, k), ECQF_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ecqf_quantize_ecsq(w, 1, 4, &infstep, 0, k), ECQF_ERR_INVALID_ARGUMENT);
    /* a zero step is fine for an all-zero row */
    float w2[4] = {0.0f, -0.0f, 0.5f, 0.3125f};
    ck_assert_int_eq(ecqf_quantize_ecsq(w2, 2, 2, steps2, 1, k), ECQF_OK);
    ck_assert_int_eq(k[0], 0);
    ck_assert_int_eq(k[1], 0);
    ck_assert_int_eq(k[2], 4);
    ck_assert_int_eq(k[3], 3); /* 2.5 -> 3, half away */
    w[2] = NAN;
    ck_assert_int_eq(ecqf_quantize_ecsq(w, 1, 4, &st, 0, k), ECQF_ERR_INVALID_ARGUMENT);
    w[2] = -INFINITY;
    ck_assert_int_eq(ecqf_quantize_ecsq(w, 1, 4, &st, 0, k), ECQF_ERR_INVALID_ARGUMENT);
    /* |k| would reach 2^24 */
    float big = 2.0e7f, one = 1.0f;
    ck_assert_int_eq(ecqf_quantize_ecsq(&big, 1, 1, &one, 0, k), ECQF_ERR_INVALID_ARGUMENT);
    big = 1.6e7f;
    ck_assert_int_eq(ecqf_quantize_ecsq(&big, 1, 1, &one, 0, k), ECQF_OK);
    ck_assert_int_eq(k[0], 16000000);
}
END_TEST

/* ---- alphabet ---------------------------------------------------------------------------- */

static void choose(const int32_t *k, uint64_t n, unsigned maxq, unsigned *q, unsigned *z,
                   unsigned *f) {
    ck_assert_int_eq(ecqf_ecsq_choose_alphabet(k, n, maxq, q, z, f), ECQF_OK);
}

START_TEST(alphabet_without_escape) {
    enum { N = 20000 };
    static int32_t k[N];
    unsigned q, z, f;
    rng_seed(5);
    for (int i = 0; i < N; i++) k[i] = (int32_t)(rng_u64() % 8) - 3; /* -3..4 */
    choose(k, N, 256, &q, &z, &f);
    ck_assert_uint_eq(q, 8);
    ck_assert_uint_eq(z, 3);
    ck_assert_uint_eq(f, 0);
    /* exactly 16 values fit max_alphabet 16 */
    for (int i = 0; i < N; i++) k[i] = (int32_t)(rng_u64() % 16) - 7; /* -7..8 */
    choose(k, N, 16, &q, &z, &f);
    ck_assert_uint_eq(q, 16);
    ck_assert_uint_eq(z, 7);
    ck_assert_uint_eq(f, 0);
    /* a Gaussian that fits in 256 codes */
    for (int i = 0; i < N; i++) k[i] = (int32_t)lround(12.0 * rng_gauss());
    choose(k, N, 256, &q, &z, &f);
    int32_t mn = 0, mx = 0;
    for (int i = 0; i < N; i++) {
        if (k[i] < mn) mn = k[i];
        if (k[i] > mx) mx = k[i];
    }
    ck_assert_uint_eq(f, 0);
    ck_assert_uint_eq(q, (unsigned)(mx - mn + 1));
    ck_assert_uint_eq(z, (unsigned)-mn);
    /* the window always holds 0: all values 5 -> codes 0..5 */
    for (int i = 0; i < 100; i++) k[i] = 5;
    choose(k, 100, 256, &q, &z, &f);
    ck_assert_uint_eq(q, 6);
    ck_assert_uint_eq(z, 0);
    ck_assert_uint_eq(f, 0);
    /* all zero and empty */
    memset(k, 0, sizeof k);
    choose(k, N, 256, &q, &z, &f);
    ck_assert_uint_eq(q, 1);
    ck_assert_uint_eq(z, 0);
    choose(NULL, 0, 256, &q, &z, &f);
    ck_assert_uint_eq(q, 1);
    ck_assert_uint_eq(f, 0);
    choose(k, N, 1, &q, &z, &f);
    ck_assert_uint_eq(q, 1);
}
END_TEST

START_TEST(alphabet_with_escape) {
    enum { N = 50000 };
    static int32_t k[N];
    unsigned q, z, f;
    rng_seed(9);
    /* mostly -7..7 with a few far outliers: 15 direct codes + escape */
    for (int i = 0; i < N; i++) k[i] = (int32_t)(rng_u64() % 15) - 7;
    k[100] = 1000;
    k[2000] = -5000000;
    k[3000] = 16777215;
    choose(k, N, 16, &q, &z, &f);
    ck_assert_uint_eq(q, 16);
    ck_assert_uint_eq(z, 7);
    ck_assert_uint_eq(f, ECQF_ECSQ_HAS_ESCAPE);
    choose(k, N, 256, &q, &z, &f);
    ck_assert_uint_eq(q, 16);
    ck_assert_uint_eq(z, 7);
    ck_assert_uint_eq(f, ECQF_ECSQ_HAS_ESCAPE);
    /* 17 values in a 16-code alphabet: one side must be escaped; the rarer tail goes */
    for (int i = 0; i < N; i++) k[i] = (int32_t)lround(2.5 * rng_gauss());
    for (int i = 0; i < 50; i++) k[i] = 8;
    for (int i = 50; i < 60; i++) k[i] = -8;
    choose(k, N, 16, &q, &z, &f);
    ck_assert_uint_eq(f, ECQF_ECSQ_HAS_ESCAPE);
    ck_assert_uint_le(q, 16);
    ck_assert_uint_lt(z, q - 1);
    /* a wide Gaussian that does not fit 256 codes: full window plus escape */
    for (int i = 0; i < N; i++) k[i] = (int32_t)lround(80.0 * rng_gauss());
    choose(k, N, 256, &q, &z, &f);
    ck_assert_uint_eq(q, 256);
    ck_assert_uint_eq(f, ECQF_ECSQ_HAS_ESCAPE);
    ck_assert(z > 100 && z < 155); /* roughly centred */
    /* all values would fit 256 codes, but one isolated far value would cost 200 table entries:
     * escaping it is cheaper */
    for (int i = 0; i < N; i++) k[i] = (int32_t)(rng_u64() % 7) - 3;
    k[77] = 200;
    choose(k, N, 256, &q, &z, &f);
    ck_assert_uint_eq(f, ECQF_ECSQ_HAS_ESCAPE);
    ck_assert_uint_eq(q, 8);
    ck_assert_uint_eq(z, 3);
    /* escaped values must stay below 2^24; max_alphabet 1 cannot escape */
    k[77] = 16777216;
    ck_assert_int_eq(ecqf_ecsq_choose_alphabet(k, N, 256, &q, &z, &f), ECQF_ERR_INVALID_ARGUMENT);
    k[77] = 0;
    ck_assert_int_eq(ecqf_ecsq_choose_alphabet(k, N, 1, &q, &z, &f), ECQF_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ecqf_ecsq_choose_alphabet(k, N, 0, &q, &z, &f), ECQF_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ecqf_ecsq_choose_alphabet(k, N, 257, &q, &z, &f), ECQF_ERR_INVALID_ARGUMENT);
    /* Q = 2: the window is {0} plus the escape */
    for (int i = 0; i < N; i++) k[i] = (i % 3) ? 0 : (int32_t)(i % 1000) + 1;
    choose(k, N, 2, &q, &z, &f);
    ck_assert_uint_eq(q, 2);
    ck_assert_uint_eq(z, 0);
    ck_assert_uint_eq(f, ECQF_ECSQ_HAS_ESCAPE);
}
END_TEST

/* ---- rate control ------------------------------------------------------------------------ */

START_TEST(rc_snap_makes_products_exact) {
    rng_seed(21);
    for (int it = 0; it < 2000; it++) {
        float step = (float)(rng_unif() * pow(2.0, (double)(int)(rng_u64() % 40) - 30));
        float amax = step * (float)(1 + rng_u64() % (it % 2 ? 300 : 5000000));
        float s = rc_snap_step(step, amax);
        ck_assert(s > 0.0f);
        ck_assert(fabs((double)s - (double)step) <= 0.5 * (double)step);
        int32_t kmax = (int32_t)(amax / s) + 2;
        for (int j = 0; j < 50; j++) {
            int32_t kk = (int32_t)(rng_u64() % (uint64_t)kmax) * ((j & 1) ? -1 : 1);
            double exact = (double)s * (double)kk;
            ck_assert((double)(float)exact == exact);
        }
        if (amax / step < 1000.0f) /* typical weights keep >= 13 bits of the step */
            ck_assert(fabs((double)s - (double)step) <= (double)step * 1.0 / 8192.0);
    }
    ck_assert(rc_snap_step(0.0f, 1.0f) == 0.0f);
    ck_assert(rc_snap_step(0.5f, 1.0f) == 0.5f);
}
END_TEST

START_TEST(rc_measure_and_targets) {
    enum { R = 48, C = 256 };
    static float w[R * C];
    float steps[R];
    rc_result r, r2;
    double f;
    rng_seed(33);
    for (int row = 0; row < R; row++) {
        double sc = 0.01 * (1.0 + (row % 5)); /* rows of different scales */
        for (int c = 0; c < C; c++) w[row * C + c] = (float)(sc * rng_student(5));
    }
    /* measure: SQNR matches a direct computation; sizes add up */
    ck_assert_int_eq(rc_ecsq_measure_factor(w, R, C, RC_PER_TENSOR, 0.3, 256, steps, &r), ECQF_OK);
    {
        static int32_t k[R * C];
        double sse = 0, sig = 0;
        ck_assert_int_eq(ecqf_quantize_ecsq(w, R, C, steps, 0, k), ECQF_OK);
        for (int i = 0; i < R * C; i++) {
            double d = (double)w[i] - (double)ecsq_deq(steps[0], k[i]);
            sse += d * d;
            sig += (double)w[i] * w[i];
        }
        ck_assert(fabs(r.sqnr_db - 10.0 * log10(sig / sse)) < 1e-9);
        ck_assert(r.entropy > 2.0 && r.entropy < 8.0);
        ck_assert(r.entropy <= r.entropy_k + 1e-9);
        ck_assert(fabs(r.bpw * R * C - r.coded_bits) < 1e-6);
        ck_assert(r.side_bpw > 0.0);
        /* at high rate, SQNR ~ 10 log10(12 / f^2) for step = f * RMS */
        ck_assert(fabs(r.sqnr_db - 10.0 * log10(12.0 / 0.09)) < 0.5);
    }
    /* SQNR target */
    ck_assert_int_eq(rc_ecsq_for_sqnr(w, R, C, RC_PER_ROW, 256, 20.0, &f, steps, &r), ECQF_OK);
    ck_assert(r.sqnr_db >= 20.0 && r.sqnr_db < 20.1);
    {
        static int32_t k[R * C];
        ck_assert_int_eq(ecqf_quantize_ecsq(w, R, C, steps, 1, k), ECQF_OK);
        check_ecsq_bound(w, R, C, steps, 1, k);
    }
    /* bpw target */
    ck_assert_int_eq(rc_ecsq_for_bpw(w, R, C, RC_PER_TENSOR, 256, 3.5, &f, NULL, &r2), ECQF_OK);
    ck_assert(r2.bpw <= 3.5 && r2.bpw > 3.4);
    /* affine and symmetric comparisons */
    ck_assert_int_eq(rc_affine_measure(w, R, C, 4, 64, ECQF_DTYPE_F16, &r), ECQF_OK);
    ck_assert(fabs(r.raw_bpw - 4.5) < 1e-12);
    ck_assert(r.entropy > 3.0 && r.entropy <= 4.0);
    ck_assert(r.sqnr_db > 15.0 && r.sqnr_db < 25.0);
    ck_assert_int_eq(rc_symmetric_measure(w, R, C, 4, 32, ECQF_DTYPE_F16, &r), ECQF_OK);
    ck_assert(fabs(r.raw_bpw - 4.5) < 1e-12);
    ck_assert(r.sqnr_db > 15.0 && r.sqnr_db < 25.0);
}
END_TEST

START_TEST(rc_model_equal_slope) {
    enum { C = 256, R1 = 32, R2 = 64 };
    static float a[R1 * C], b[R2 * C];
    rc_tensor t[2];
    double bpw, lambda;
    rng_seed(44);
    for (int i = 0; i < R1 * C; i++) a[i] = (float)(0.1 * rng_gauss());
    for (int i = 0; i < R2 * C; i++) b[i] = (float)(0.01 * rng_gauss());
    memset(t, 0, sizeof t);
    t[0].w = a, t[0].rows = R1, t[0].cols = C;
    t[1].w = b, t[1].rows = R2, t[1].cols = C;
    /* relative distortion: same factor (same SQNR) for both at high rate */
    ck_assert_int_eq(rc_model_allocate(t, 2, RC_PER_TENSOR, 256, RC_DIST_RELATIVE, 4.0, &bpw,
                                       &lambda), ECQF_OK);
    ck_assert(bpw <= 4.0 && bpw > 3.8);
    ck_assert(lambda > 0.0);
    ck_assert(fabs(log2(t[0].factor / t[1].factor)) <= 0.25);
    ck_assert(fabs(t[0].result.sqnr_db - t[1].result.sqnr_db) < 1.5);
    /* absolute distortion: the same absolute step, so the small tensor gets fewer bits */
    ck_assert_int_eq(rc_model_allocate(t, 2, RC_PER_TENSOR, 256, RC_DIST_ABSOLUTE, 4.0, &bpw,
                                       NULL), ECQF_OK);
    ck_assert(bpw <= 4.0 && bpw > 3.8);
    ck_assert(fabs(log2((t[0].factor * 0.1) / (t[1].factor * 0.01))) <= 0.3);
    ck_assert(t[1].result.bpw < t[0].result.bpw - 2.0);
}
END_TEST

static Suite *quant_suite(void) {
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("affine");
    tcase_add_test(tc, affine_exact_dyadic);
    tcase_add_test(tc, affine_constant_groups);
    tcase_add_test(tc, affine_matches_reference);
    tcase_add_test(tc, affine_rejects);
    suite_add_tcase(s, tc);
    tc = tcase_create("symmetric");
    tcase_add_test(tc, symmetric_q4_0_exact);
    tcase_add_test(tc, symmetric_q8_0_exact);
    tcase_add_test(tc, symmetric_random);
    suite_add_tcase(s, tc);
    tc = tcase_create("ecsq");
    tcase_add_test(tc, ecsq_bound_random_and_heavy_tails);
    tcase_add_test(tc, ecsq_rounding_fixups);
    tcase_add_test(tc, ecsq_rejects);
    tcase_add_test(tc, alphabet_without_escape);
    tcase_add_test(tc, alphabet_with_escape);
    suite_add_tcase(s, tc);
    tc = tcase_create("ratecontrol");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rc_snap_makes_products_exact);
    tcase_add_test(tc, rc_measure_and_targets);
    tcase_add_test(tc, rc_model_equal_slope);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(quant_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
