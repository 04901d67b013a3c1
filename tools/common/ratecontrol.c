/* ratecontrol.c — see ratecontrol.h for the size model, the step rule and the equal-slope
 * model-wide allocation. */
#include "ratecontrol.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecqf.h"

double rc_sqnr_db(double signal, double sse) {
    if (sse <= 0.0) return INFINITY;
    if (signal <= 0.0) return -INFINITY;
    return 10.0 * log10(signal / sse);
}

double rc_entropy_bits(const uint64_t *hist, size_t n) {
    double total = 0.0, acc = 0.0;
    for (size_t i = 0; i < n; i++) total += (double)hist[i];
    if (total <= 0.0) return 0.0;
    for (size_t i = 0; i < n; i++)
        if (hist[i]) {
            double c = (double)hist[i];
            acc += c * log2(c);
        }
    double h = log2(total) - acc / total;
    return h > 0.0 ? h : 0.0;
}

float rc_snap_step(float step, float max_abs) { return ecqf_ecsq_snap_step(step, max_abs); }

static double sum_sq(const float *x, uint64_t n, float *amax) {
    double acc = 0.0;
    float m = 0.0f;
    for (uint64_t i = 0; i < n; i++) {
        acc += (double)x[i] * (double)x[i];
        float a = fabsf(x[i]);
        if (a > m) m = a;
    }
    if (amax) *amax = m;
    return acc;
}

int rc_ecsq_steps(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode,
                  double factor, float *steps) {
    if (!steps || !(factor > 0.0) || !isfinite(factor)) return ECQF_ERR_INVALID_ARGUMENT;
    if (rows && cols && !w) return ECQF_ERR_INVALID_ARGUMENT;
    if (mode == RC_PER_ROW) {
        for (uint64_t r = 0; r < rows; r++) {
            float amax;
            double ss = sum_sq(w + r * cols, cols, &amax);
            double rms = cols ? sqrt(ss / (double)cols) : 0.0;
            float st = (float)(factor * rms);
            if (!isfinite(st)) return ECQF_ERR_INVALID_ARGUMENT;
            steps[r] = rc_snap_step(st, amax);
        }
    } else {
        float amax;
        uint64_t n = rows * cols;
        double ss = sum_sq(w, n, &amax);
        double rms = n ? sqrt(ss / (double)n) : 0.0;
        float st = (float)(factor * rms);
        if (!isfinite(st)) return ECQF_ERR_INVALID_ARGUMENT;
        steps[0] = rc_snap_step(st, amax);
    }
    return ECQF_OK;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

#define KSPAN 65536

/* Order-0 entropy of the integers themselves: dense counts for |k| <= KSPAN, the rest sorted. */
static int entropy_of_ints(const int32_t *k, uint64_t n, double *out) {
    uint64_t *hist = calloc(2 * KSPAN + 1, sizeof *hist);
    int32_t *far = NULL;
    uint64_t nfar = 0, cap = 0;
    double acc = 0.0;
    if (!hist) return ECQF_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) {
        if (k[i] >= -KSPAN && k[i] <= KSPAN) {
            hist[k[i] + KSPAN]++;
        } else {
            if (nfar == cap) {
                uint64_t nc = cap ? 2 * cap : 64;
                int32_t *nf = realloc(far, nc * sizeof *nf);
                if (!nf) {
                    free(far);
                    free(hist);
                    return ECQF_ERR_NOMEM;
                }
                far = nf;
                cap = nc;
            }
            far[nfar++] = k[i];
        }
    }
    for (size_t i = 0; i < 2 * KSPAN + 1; i++)
        if (hist[i]) acc += (double)hist[i] * log2((double)hist[i]);
    if (nfar) {
        qsort(far, nfar, sizeof *far, cmp_i32);
        for (uint64_t i = 0; i < nfar;) {
            uint64_t j = i;
            while (j < nfar && far[j] == far[i]) j++;
            acc += (double)(j - i) * log2((double)(j - i));
            i = j;
        }
    }
    free(far);
    free(hist);
    *out = n ? log2((double)n) - acc / (double)n : 0.0;
    if (*out < 0.0) *out = 0.0;
    return ECQF_OK;
}

int rc_ecsq_measure(const float *w, uint64_t rows, uint64_t cols, const float *steps,
                    int per_row, unsigned max_alphabet, rc_result *out) {
    uint64_t n = rows * cols;
    int32_t *k;
    int rc;
    if (!out || !steps || (rows && cols > UINT64_MAX / rows)) return ECQF_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (n > SIZE_MAX / sizeof(int32_t)) return ECQF_ERR_INVALID_ARGUMENT;
    k = malloc((n ? n : 1) * sizeof *k);
    if (!k) return ECQF_ERR_NOMEM;
    rc = ecqf_quantize_ecsq(w, rows, cols, steps, per_row, k);
    if (rc == ECQF_OK)
        rc = ecqf_ecsq_choose_alphabet(k, n, max_alphabet, &out->alphabet, &out->zero_code,
                                       &out->flags);
    if (rc == ECQF_OK) rc = entropy_of_ints(k, n, &out->entropy_k);
    if (rc != ECQF_OK) {
        free(k);
        return rc;
    }
    uint64_t hist[ECQF_MAX_ALPHABET];
    memset(hist, 0, sizeof hist);
    const int64_t z = out->zero_code;
    const int esc = (out->flags & ECQF_ECSQ_HAS_ESCAPE) != 0;
    const int64_t qd = (int64_t)out->alphabet - esc; /* direct codes */
    double sse = 0.0, sig = 0.0;
    for (uint64_t r = 0; r < rows; r++) {
        const float step = steps[per_row ? r : 0];
        for (uint64_t c = 0; c < cols; c++) {
            uint64_t i = r * cols + c;
            int64_t u = (int64_t)k[i] + z;
            if (u >= 0 && u < qd) {
                hist[u]++;
            } else {
                hist[out->alphabet - 1]++;
                out->escapes++;
            }
            float rec = (float)((double)step * (double)k[i]); /* spec 7.3: step * f32(k) */
            double d = (double)w[i] - (double)rec;
            sse += d * d;
            sig += (double)w[i] * (double)w[i];
        }
    }
    free(k);
    out->numel = n;
    out->entropy = rc_entropy_bits(hist, out->alphabet);
    out->sse = sse;
    out->signal = sig;
    out->sqnr_db = rc_sqnr_db(sig, sse);
    double side = RC_STEP_BITS * (double)(per_row ? rows : 1) +
                  RC_TABLE_BITS * (double)out->alphabet + RC_ESCAPE_BITS * (double)out->escapes;
    out->coded_bits = (1.0 + RC_CODER_OVERHEAD) * (double)n * out->entropy + side;
    out->bpw = n ? out->coded_bits / (double)n : 0.0;
    out->side_bpw = n ? side / (double)n : 0.0;
    out->raw_bpw = 0.0;
    return ECQF_OK;
}

int rc_ecsq_measure_factor(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode,
                           double factor, unsigned max_alphabet, float *steps, rc_result *out) {
    uint64_t ns = mode == RC_PER_ROW ? rows : 1;
    float one;
    float *st = steps;
    int rc;
    if (!st) {
        if (ns > 1) {
            if (ns > SIZE_MAX / sizeof(float)) return ECQF_ERR_INVALID_ARGUMENT;
            st = malloc(ns * sizeof *st);
            if (!st) return ECQF_ERR_NOMEM;
        } else {
            st = &one;
        }
    }
    rc = rc_ecsq_steps(w, rows, cols, mode, factor, st);
    if (rc == ECQF_OK) rc = rc_ecsq_measure(w, rows, cols, st, mode == RC_PER_ROW, max_alphabet, out);
    if (st != steps && st != &one) free(st);
    return rc;
}

/* The largest max|w|/RMS over the units that get a step: bounds how small a factor may be
 * before |k| reaches 2^24. */
static double crest(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode) {
    double c = 1.0;
    if (mode == RC_PER_ROW) {
        for (uint64_t r = 0; r < rows; r++) {
            float amax;
            double ss = sum_sq(w + r * cols, cols, &amax);
            if (ss > 0.0) {
                double t = (double)amax / sqrt(ss / (double)cols);
                if (t > c) c = t;
            }
        }
    } else {
        float amax;
        uint64_t n = rows * cols;
        double ss = sum_sq(w, n, &amax);
        if (ss > 0.0) c = (double)amax / sqrt(ss / (double)n);
    }
    return c;
}

/* Bisection on log2(factor). want_sqnr: keep SQNR >= target (largest factor); else keep
 * bpw <= target (smallest factor). */
static int bisect(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode,
                  unsigned max_alphabet, int want_sqnr, double target, double *factor,
                  float *steps, rc_result *out) {
    double lo = log2(crest(w, rows, cols, mode)) - 21.0; /* |k| <= 2^21 + 1 at lo */
    double hi = 8.0;
    rc_result rlo, rhi, rm;
    int rc;
    /* at lo: highest rate, best SQNR; at hi: lowest rate */
    if ((rc = rc_ecsq_measure_factor(w, rows, cols, mode, exp2(lo), max_alphabet, NULL, &rlo)))
        return rc;
    if ((rc = rc_ecsq_measure_factor(w, rows, cols, mode, exp2(hi), max_alphabet, NULL, &rhi)))
        return rc;
    int ok_hi = want_sqnr ? rhi.sqnr_db >= target : rhi.bpw <= target;
    int ok_lo = want_sqnr ? rlo.sqnr_db >= target : rlo.bpw <= target;
    double fsel;
    if (want_sqnr ? ok_hi : ok_lo) {
        /* already satisfied at the extreme that wins */
        fsel = want_sqnr ? hi : lo;
    } else if (want_sqnr ? !ok_lo : !ok_hi) {
        /* unreachable: return the best effort extreme */
        fsel = want_sqnr ? lo : hi;
    } else {
        /* sqnr: ok at lo, not at hi; bpw: ok at hi, not at lo */
        double good = want_sqnr ? lo : hi, bad = want_sqnr ? hi : lo;
        while (fabs(good - bad) > 1e-3) {
            double mid = 0.5 * (good + bad);
            if ((rc = rc_ecsq_measure_factor(w, rows, cols, mode, exp2(mid), max_alphabet, NULL,
                                             &rm)))
                return rc;
            int ok = want_sqnr ? rm.sqnr_db >= target : rm.bpw <= target;
            if (ok) good = mid;
            else bad = mid;
        }
        fsel = good;
    }
    *factor = exp2(fsel);
    return rc_ecsq_measure_factor(w, rows, cols, mode, *factor, max_alphabet, steps, out);
}

int rc_ecsq_for_sqnr(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode,
                     unsigned max_alphabet, double target_db, double *factor, float *steps,
                     rc_result *out) {
    if (!factor || !out || !w || rows == 0 || cols == 0) return ECQF_ERR_INVALID_ARGUMENT;
    return bisect(w, rows, cols, mode, max_alphabet, 1, target_db, factor, steps, out);
}

int rc_ecsq_for_bpw(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode,
                    unsigned max_alphabet, double target_bpw, double *factor, float *steps,
                    rc_result *out) {
    if (!factor || !out || !w || rows == 0 || cols == 0) return ECQF_ERR_INVALID_ARGUMENT;
    return bisect(w, rows, cols, mode, max_alphabet, 0, target_bpw, factor, steps, out);
}

/* ---- model-wide allocation -------------------------------------------------------------- */

static double dist_of(const rc_result *r, rc_distortion dist) {
    if (dist == RC_DIST_ABSOLUTE) return r->sse;
    return r->signal > 0.0 ? (double)r->numel * r->sse / r->signal : 0.0;
}

static double curve_factor(const rc_curve *c, int j) {
    return c->f0 * exp2((double)(j - RC_CURVE_HALF) / 8.0);
}

/* For a given lambda, every tensor's best curve point; returns the total coded bits. */
static double pick_all(const rc_curve *curves, size_t count, rc_distortion dist, double lambda,
                       int *pick) {
    double total = 0.0;
    for (size_t t = 0; t < count; t++) {
        const rc_result *g = curves[t].point;
        int best = 0;
        double bc = INFINITY;
        for (int j = 0; j < RC_CURVE_POINTS; j++) {
            double c = dist_of(&g[j], dist) + lambda * g[j].coded_bits;
            if (c < bc) {
                bc = c;
                best = j;
            }
        }
        pick[t] = best;
        total += g[best].coded_bits;
    }
    return total;
}

int rc_curve_sample(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode,
                    unsigned max_alphabet, double target_bpw, rc_curve *out) {
    rc_result r0;
    int rc;
    if (!w || !out || !(target_bpw > 0.0)) return ECQF_ERR_INVALID_ARGUMENT;
    out->numel = rows * cols;
    rc = rc_ecsq_for_bpw(w, rows, cols, mode, max_alphabet, target_bpw, &out->f0, NULL, &r0);
    for (int j = 0; j < RC_CURVE_POINTS && rc == ECQF_OK; j++)
        rc = rc_ecsq_measure_factor(w, rows, cols, mode, curve_factor(out, j), max_alphabet,
                                    NULL, &out->point[j]);
    return rc;
}

int rc_curves_allocate(const rc_curve *curves, size_t count, rc_distortion dist,
                       double target_bpw, double *factors, rc_result *results,
                       double *achieved_bpw, double *lambda_out) {
    double total_n = 0.0, budget, bits;
    double llo = -80.0, lhi = 80.0; /* log2 lambda */
    int *pick;
    if (!curves || !factors || count == 0 || !(target_bpw > 0.0))
        return ECQF_ERR_INVALID_ARGUMENT;
    pick = malloc(count * sizeof *pick);
    if (!pick) return ECQF_ERR_NOMEM;
    for (size_t t = 0; t < count; t++) total_n += (double)curves[t].numel;
    budget = target_bpw * total_n;
    /* total bits decrease as lambda grows; find the smallest lambda within budget by
     * bisection on log(lambda) */
    if (pick_all(curves, count, dist, exp2(llo), pick) > budget) {
        if (pick_all(curves, count, dist, exp2(lhi), pick) > budget) {
            llo = lhi; /* unreachable: cheapest curve points */
        } else {
            for (int it = 0; it < 200 && lhi - llo > 1e-6; it++) {
                double mid = 0.5 * (llo + lhi);
                if (pick_all(curves, count, dist, exp2(mid), pick) > budget) llo = mid;
                else lhi = mid;
            }
            llo = lhi;
        }
    }
    bits = pick_all(curves, count, dist, exp2(llo), pick);
    for (size_t t = 0; t < count; t++) {
        factors[t] = curve_factor(&curves[t], pick[t]);
        if (results) results[t] = curves[t].point[pick[t]];
    }
    if (achieved_bpw) *achieved_bpw = total_n > 0 ? bits / total_n : 0.0;
    if (lambda_out) *lambda_out = exp2(llo);
    free(pick);
    return ECQF_OK;
}

int rc_model_allocate(rc_tensor *tensors, size_t count, rc_step_mode mode,
                      unsigned max_alphabet, rc_distortion dist, double target_bpw,
                      double *achieved_bpw, double *lambda_out) {
    rc_curve *curves;
    double *factors;
    rc_result *results;
    int rc = ECQF_OK;
    if (!tensors || count == 0 || !(target_bpw > 0.0)) return ECQF_ERR_INVALID_ARGUMENT;
    if (count > SIZE_MAX / sizeof(rc_curve)) return ECQF_ERR_INVALID_ARGUMENT;
    curves = malloc(count * sizeof *curves);
    factors = malloc(count * sizeof *factors);
    results = malloc(count * sizeof *results);
    if (!curves || !factors || !results) rc = ECQF_ERR_NOMEM;
    for (size_t t = 0; t < count && rc == ECQF_OK; t++)
        rc = rc_curve_sample(tensors[t].w, tensors[t].rows, tensors[t].cols, mode, max_alphabet,
                             target_bpw, &curves[t]);
    if (rc == ECQF_OK)
        rc = rc_curves_allocate(curves, count, dist, target_bpw, factors, results, achieved_bpw,
                                lambda_out);
    for (size_t t = 0; t < count && rc == ECQF_OK; t++) {
        tensors[t].factor = factors[t];
        tensors[t].result = results[t];
    }
    free(curves);
    free(factors);
    free(results);
    return rc;
}

/* bytes of one parameter of dtype (0 if unknown) */
static size_t param_size(int dtype) {
    return dtype == ECQF_DTYPE_F32 ? 4 : (dtype == ECQF_DTYPE_F16 || dtype == ECQF_DTYPE_BF16) ? 2 : 0;
}

/* ---- affine and symmetric, for comparison ---------------------------------------------- */

static float param_at(const uint8_t *p, uint64_t i, int dtype) {
    uint32_t u;
    float f;
    switch (dtype) {
    case ECQF_DTYPE_F32:
        u = (uint32_t)p[4 * i] | ((uint32_t)p[4 * i + 1] << 8) | ((uint32_t)p[4 * i + 2] << 16) |
            ((uint32_t)p[4 * i + 3] << 24);
        memcpy(&f, &u, 4);
        return f;
    case ECQF_DTYPE_F16:
        return ecqf_f16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
    default:
        return ecqf_bf16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
    }
}

static void finish_fixed(rc_result *out, const float *w, const float *wq, const uint8_t *codes,
                         uint64_t n, unsigned bits, double param_bits) {
    uint64_t hist[256];
    double sse = 0.0, sig = 0.0;
    memset(hist, 0, sizeof hist);
    for (uint64_t i = 0; i < n; i++) {
        double d = (double)w[i] - (double)wq[i];
        sse += d * d;
        sig += (double)w[i] * (double)w[i];
        hist[codes[i]]++;
    }
    out->numel = n;
    out->alphabet = 1u << bits;
    out->entropy = rc_entropy_bits(hist, out->alphabet);
    out->entropy_k = out->entropy;
    out->sse = sse;
    out->signal = sig;
    out->sqnr_db = rc_sqnr_db(sig, sse);
    double side = param_bits + RC_TABLE_BITS * (double)out->alphabet;
    out->coded_bits = (1.0 + RC_CODER_OVERHEAD) * (double)n * out->entropy + side;
    out->bpw = n ? out->coded_bits / (double)n : 0.0;
    out->side_bpw = n ? side / (double)n : 0.0;
    out->raw_bpw = n ? ((double)bits * (double)n + param_bits) / (double)n : 0.0;
}

int rc_affine_measure(const float *w, uint64_t rows, uint64_t cols, unsigned bits,
                      unsigned group_size, int param_dtype, rc_result *out) {
    uint64_t n = rows * cols, ng;
    size_t ps = param_size(param_dtype);
    uint8_t *codes = NULL, *sc = NULL, *bi = NULL;
    float *wq = NULL;
    int rc;
    if (!out || ps == 0 || group_size == 0 || (rows && cols > UINT64_MAX / rows) ||
        n > SIZE_MAX / sizeof(float))
        return ECQF_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    ng = n / group_size;
    codes = malloc(n ? n : 1);
    wq = malloc((n ? n : 1) * sizeof *wq);
    sc = malloc(ng ? ng * ps : 1);
    bi = malloc(ng ? ng * ps : 1);
    if (!codes || !wq || !sc || !bi) {
        rc = ECQF_ERR_NOMEM;
        goto out;
    }
    rc = ecqf_quantize_affine(w, rows, cols, bits, group_size, param_dtype, codes, sc, bi);
    if (rc != ECQF_OK) goto out;
    for (uint64_t i = 0; i < n; i++) {
        float s = param_at(sc, i / group_size, param_dtype);
        float b = param_at(bi, i / group_size, param_dtype);
        float t = s * (float)codes[i]; /* spec 7.1: scale * f32(u) + bias, no FMA */
        wq[i] = t + b;
    }
    finish_fixed(out, w, wq, codes, n, bits, 2.0 * 8.0 * (double)ps * (double)ng);
out:
    free(codes);
    free(wq);
    free(sc);
    free(bi);
    return rc;
}

int rc_symmetric_measure(const float *w, uint64_t rows, uint64_t cols, unsigned bits,
                         unsigned block_size, int param_dtype, rc_result *out) {
    uint64_t n = rows * cols, nb;
    size_t ps = param_size(param_dtype);
    uint8_t *codes = NULL, *sc = NULL;
    float *wq = NULL;
    int rc;
    if (!out || ps == 0 || block_size == 0 || (rows && cols > UINT64_MAX / rows) ||
        n > SIZE_MAX / sizeof(float))
        return ECQF_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    nb = n / block_size;
    codes = malloc(n ? n : 1);
    wq = malloc((n ? n : 1) * sizeof *wq);
    sc = malloc(nb ? nb * ps : 1);
    if (!codes || !wq || !sc) {
        rc = ECQF_ERR_NOMEM;
        goto out;
    }
    rc = ecqf_quantize_symmetric(w, rows, cols, bits, block_size, param_dtype, codes, sc);
    if (rc != ECQF_OK) goto out;
    for (uint64_t i = 0; i < n; i++) {
        float d = param_at(sc, i / block_size, param_dtype);
        wq[i] = d * (float)((int)codes[i] - (1 << (bits - 1))); /* spec 7.2 */
    }
    finish_fixed(out, w, wq, codes, n, bits, 8.0 * (double)ps * (double)nb);
out:
    free(codes);
    free(wq);
    free(sc);
    return rc;
}
