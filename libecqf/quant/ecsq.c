/*
 * ecsq.c — uniform entropy-constrained scalar quantization (spec section 7.3): the integers
 * k, and the choice of the code alphabet (window plus escape).
 *
 * Quantization: k = round_half_away(w / step), then checked against the spec's
 * reconstruction r = step * f32(k), one binary32 multiplication. The bound |w - r| <= step/2
 * is tested exactly (in binary64, where the difference of two binary32 values near each other
 * is exact); if binary32 rounding of the product breaks it, the neighbour k +- 1 with the
 * smaller error is taken. When step*k is exact (as it is whenever the step's significand has
 * at most 24 - bitlength(max |k|) bits, which tools/common/ratecontrol.h's step snapping
 * ensures) the rounded quotient always satisfies the bound. For an arbitrary step, binary32
 * rounding of two consecutive products can leave a gap wider than step; a weight within one
 * ulp of the middle of such a gap has no k meeting the bound, and the function then returns
 * ECQF_ERR_INVALID_ARGUMENT rather than break its promise.
 *
 * |k| must stay below 2^24 (spec [E-3], and f32(k) must be exact): larger quotients are
 * refused (the step is too small for the weights). NaN or infinite weights, and steps that are
 * negative, NaN or infinite, are refused; a step of 0 is allowed only for an all-zero row.
 */
#include <math.h>

#include "common/internal.h"

#define K_LIMIT 16777216.0 /* 2^24: |k| must be below this */

/* The spec's reconstruction, as one correctly rounded binary32 product. step*k is exact in
 * binary64 (24 + 24 significant bits), so rounding it once to binary32 is that product. */
static float recon(float step, int32_t k) { return (float)((double)step * (double)k); }

static double err_of(float w, float step, int32_t k) {
    return fabs((double)w - (double)recon(step, k));
}

int ecqf_quantize_ecsq(const float *w, uint64_t rows, uint64_t cols, const float *steps,
                       int per_row, int32_t *ints) {
    uint64_t numel;
    if (ecqf_mul_overflow(rows, cols, &numel) || numel > ECQF_MAX_NUMEL || numel > SIZE_MAX)
        return ECQF_ERR_INVALID_ARGUMENT;
    if (!steps) return ECQF_ERR_INVALID_ARGUMENT;
    /* Steps are checked even for an empty tensor: they go to the params part. */
    for (uint64_t r = 0; r < (per_row ? rows : 1); r++)
        if (!(steps[r] >= 0.0f) || !isfinite(steps[r])) return ECQF_ERR_INVALID_ARGUMENT;
    if (numel == 0) return ECQF_OK;
    if (!w || !ints) return ECQF_ERR_INVALID_ARGUMENT;

    for (uint64_t r = 0; r < rows; r++) {
        const float step = steps[per_row ? r : 0];
        const double half = 0.5 * (double)step;
        const float *x = w + r * cols;
        int32_t *k = ints + r * cols;
        for (uint64_t c = 0; c < cols; c++) {
            const float v = x[c];
            if (!isfinite(v)) return ECQF_ERR_INVALID_ARGUMENT;
            if (step == 0.0f) {
                if (v != 0.0f) return ECQF_ERR_INVALID_ARGUMENT;
                k[c] = 0;
                continue;
            }
            const double q = (double)v / (double)step;
            double kr = round(q); /* half away from zero */
            if (!(fabs(kr) < K_LIMIT)) return ECQF_ERR_INVALID_ARGUMENT;
            int32_t kk = (int32_t)kr;
            double e = err_of(v, step, kk);
            if (e > half) {
                /* binary32 rounding of step*kk broke the bound: try both neighbours */
                int32_t best = kk;
                double be = e;
                for (int d = -1; d <= 1; d += 2) {
                    int64_t kn = (int64_t)kk + d;
                    if (kn <= -(int64_t)K_LIMIT || kn >= (int64_t)K_LIMIT) continue;
                    double en = err_of(v, step, (int32_t)kn);
                    if (en < be) {
                        be = en;
                        best = (int32_t)kn;
                    }
                }
                if (be > half) return ECQF_ERR_INVALID_ARGUMENT;
                kk = best;
            }
            k[c] = kk;
        }
    }
    return ECQF_OK;
}

/* ---- alphabet choice --------------------------------------------------------------------
 *
 * The window of direct codes always contains k = 0 (z < Q), so it is [lo, hi] with
 * -(L-1) <= lo <= 0 <= hi <= L-1, where L <= max_alphabet. Every other value is escaped.
 * Estimated coded size of a choice, in bits:
 *     N*H(symbols)  + ESC_BITS * escapes + TABLE_BITS * Q
 *   = N log2 N - sum_{v in window} c_v log2 c_v - e log2 e + ESC_BITS*e + TABLE_BITS*Q
 * where e is the number of escapes (their symbol is code Q-1), ESC_BITS = 32 (the i32 value
 * in the escapes part) and TABLE_BITS = 16 (one u16 rANS frequency per code).
 * Every window with lo, hi in range is tried (at most 256 x 256) with prefix sums over a
 * histogram of [-255, 255]; the minimum wins, and among equal costs (within 1e-9 relative)
 * the smaller Q. A window covering all values needs no escape; because each escape costs
 * 32 bits against at most ~log2(N) for a code of its own, the no-escape window wins whenever
 * all values fit and are not a few isolated far outliers that would inflate Q (and table)
 * far more than they cost as escapes. */

#define ESC_BITS 32.0
#define TABLE_BITS 16.0
#define HSPAN 255

static double xlog2x(double c) { return c > 0 ? c * log2(c) : 0.0; }

int ecqf_ecsq_choose_alphabet(const int32_t *ints, uint64_t count, unsigned max_alphabet,
                              unsigned *alphabet, unsigned *zero_code, unsigned *flags) {
    uint64_t hist[2 * HSPAN + 1];
    double cl[2 * HSPAN + 2]; /* prefix sums of c log2 c, index i covers values < i - HSPAN */
    uint64_t cc[2 * HSPAN + 2];
    int32_t vmin = 0, vmax = 0;
    if (!alphabet || !zero_code || !flags) return ECQF_ERR_INVALID_ARGUMENT;
    if (max_alphabet < 1 || max_alphabet > ECQF_MAX_ALPHABET) return ECQF_ERR_INVALID_ARGUMENT;
    if (count > 0 && !ints) return ECQF_ERR_INVALID_ARGUMENT;
    memset(hist, 0, sizeof hist);
    for (uint64_t i = 0; i < count; i++) {
        int32_t v = ints[i];
        if (v < vmin) vmin = v;
        if (v > vmax) vmax = v;
        if (v >= -HSPAN && v <= HSPAN) hist[v + HSPAN]++;
    }
    /* Any value that might need an escape must satisfy [E-3]. Values within +-255 never
     * need one when they fit; values beyond must be escaped and so must be < 2^24. */
    if (vmin <= -16777216 || vmax >= 16777216) return ECQF_ERR_INVALID_ARGUMENT;

    const int fits = (int64_t)vmax - (int64_t)vmin + 1 <= (int64_t)max_alphabet;
    if (count == 0 || (fits && vmin == vmax)) {
        /* empty, or a single value (necessarily containing 0 in the window) */
        *alphabet = (unsigned)(vmax - vmin + 1);
        *zero_code = (unsigned)(-vmin);
        *flags = 0;
        return ECQF_OK;
    }
    if (max_alphabet < 2 && !fits) return ECQF_ERR_INVALID_ARGUMENT;

    cc[0] = 0;
    cl[0] = 0.0;
    for (int i = 0; i <= 2 * HSPAN; i++) {
        cc[i + 1] = cc[i] + hist[i];
        cl[i + 1] = cl[i] + xlog2x((double)hist[i]);
    }
    const double n = (double)count;
    const double base = xlog2x(n);
    double best = INFINITY;
    int best_lo = 0, best_hi = 0, best_esc = 0;
    unsigned best_q = 0;
    for (int lo = 0; lo >= -(int)max_alphabet + 1 && lo >= -HSPAN; lo--) {
        for (int hi = 0; hi - lo + 1 <= (int)max_alphabet && hi <= HSPAN; hi++) {
            uint64_t in = cc[hi + HSPAN + 1] - cc[lo + HSPAN];
            uint64_t e = count - in;
            unsigned q = (unsigned)(hi - lo + 1) + (e > 0);
            if (q > max_alphabet) continue;
            double cost = base - (cl[hi + HSPAN + 1] - cl[lo + HSPAN]) - xlog2x((double)e) +
                          ESC_BITS * (double)e + TABLE_BITS * (double)q;
            double tol = 1e-9 * (cost > 0 ? cost : 1.0);
            if (cost < best - tol || (cost <= best + tol && q < best_q)) {
                best = cost;
                best_lo = lo;
                best_hi = hi;
                best_q = q;
                best_esc = e > 0;
            }
        }
    }
    (void)best_hi;
    *alphabet = best_q;
    *zero_code = (unsigned)(-best_lo);
    *flags = best_esc ? ECQF_ECSQ_HAS_ESCAPE : 0;
    return ECQF_OK;
}

/* Step snapping: shorten the step's significand so that step * k is exact in binary32 for
 * every |k| up to the largest the weights need; then neighbouring reconstructions are exactly
 * one step apart and the step/2 error bound of ecqf_quantize_ecsq always holds. */
static int snap_bitlength(uint64_t x) {
    int b = 0;
    while (x) { b++; x >>= 1; }
    return b;
}
static double snap_kmax(float s, float max_abs) { return floor(fabs((double)max_abs) / (double)s + 0.5) + 1.0; }

float ecqf_ecsq_snap_step(float step, float max_abs) {
    if (!(step > 0.0f) || !isfinite(step) || !isfinite(max_abs)) return step;
    double k0 = snap_kmax(step, max_abs);
    int p = 24 - (k0 >= 9.0e15 ? 64 : snap_bitlength((uint64_t)k0));
    if (p < 1) p = 1;
    for (;; p--) {
        int e;
        double m = frexp((double)step, &e);
        double mr = nearbyint(ldexp(m, p));
        float s = (float)ldexp(mr, e - p);
        double k = snap_kmax(s, max_abs);
        if (p == 1 || (k < 9.0e15 && snap_bitlength((uint64_t)k) + p <= 24)) return s;
    }
}
