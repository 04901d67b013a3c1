/*
 * ratecontrol.h — rate and distortion estimates for the packer: how many bits a tensor costs
 * and what quality it keeps, for ECSQ (at a given step, a target SQNR, a target bits/weight,
 * or a model-wide bits/weight budget) and, for comparison, for MLX-style affine and
 * Q4_0/Q8_0-style symmetric quantization.
 *
 * This is tool code, not part of libecqf's ABI; it calls only libecqf's public quantizers.
 * A tensor is a row-major float matrix (rows x cols, the spec's matrix view). Functions that
 * can fail return 0 (ECQF_OK) or an enum ecqf_status code; they allocate with malloc.
 *
 * ---- the size model (all in bits) ----
 *   coded = (1 + RC_CODER_OVERHEAD) * N * H        order-0 entropy H of the stored codes
 *                                                  (the escape code counts as one symbol)
 *         + RC_ESCAPE_BITS * escapes               one i32 per escaped value
 *         + RC_TABLE_BITS * Q                      one u16 rANS frequency per code
 *         + RC_STEP_BITS * (rows or 1)             the f32 steps (params part)
 * This matches ecqf_ecsq_choose_alphabet's cost (which omits the constant step and overhead
 * terms). Tile index and lane states are covered by the overhead term for large tensors; small
 * tensors pay more than this model says.
 *
 * ---- steps ----
 * ECSQ steps are chosen as step = factor * RMS, with the RMS of the tensor (RC_PER_TENSOR) or
 * of each row (RC_PER_ROW). Every step is then *snapped* (rc_snap_step): its significand is
 * shortened so that step * k is exact in binary32 for every k the row can produce. This makes
 * the spec's reconstruction step * f32(k) exact on every backend and guarantees that
 * ecqf_quantize_ecsq meets |w - step*k| <= step/2 (it refuses steps where binary32 rounding
 * would make that impossible). The snap changes a step by at most 2^-p relative, p >= 1 bits
 * kept (p = 24 - bitlength(max |k|), typically 15..20 bits).
 *
 * ---- model-wide rate control (rc_model_allocate) ----
 * The equal-slope rule: minimize D = sum_i D_i subject to sum_i R_i <= budget. With a
 * Lagrange multiplier lambda every tensor independently picks the factor minimizing
 * D_i + lambda * R_i (so all tensors sit at the same slope -dD_i/dR_i = lambda), and lambda is
 * bisected until the total rate meets the budget. Each tensor's (R_i, D_i) curve is sampled on
 * a grid of factors 2^(j/8) (1/8 octave, about 1/8 bit apart), j = -24..24, around its own
 * solution for the target alone, so a tensor can move about +-3 bits/weight away from the
 * target and the search costs about 65 quantization passes per tensor (MiniLM-L6, 22.7M
 * weights: about 20 s on one core).
 * What D_i is matters:
 *  - RC_DIST_ABSOLUTE: D_i = sum of squared errors. At high rate D_i = N_i step_i^2 / 12 and
 *    R_i = N_i (h_i - log2 step_i), so the equal-slope condition gives the *same absolute step
 *    for every tensor*; tensors of small weights then get a poor SQNR.
 *  - RC_DIST_RELATIVE (the default, and what we recommend): D_i = N_i * SSE_i / SUM_i(w^2),
 *    the size-weighted noise-to-signal ratio, which is what matters for a layer whose output
 *    is normalized or added to a residual stream of fixed scale. At high rate the condition
 *    becomes step_i / RMS_i = constant: *the same factor, hence the same SQNR, for every
 *    tensor*. The Lagrangian search is still exact where the high-rate model fails (low rates,
 *    heavy tails, escapes), which is why it is implemented rather than assumed.
 */
#ifndef ECQF_RATECONTROL_H
#define ECQF_RATECONTROL_H

#include <stddef.h>
#include <stdint.h>

#define RC_ESCAPE_BITS 32.0
#define RC_TABLE_BITS 16.0
#define RC_STEP_BITS 32.0
#define RC_CODER_OVERHEAD 0.004

typedef enum rc_step_mode { RC_PER_TENSOR = 0, RC_PER_ROW = 1 } rc_step_mode;
typedef enum rc_distortion { RC_DIST_RELATIVE = 0, RC_DIST_ABSOLUTE = 1 } rc_distortion;

/* What one quantization of one tensor costs and keeps. */
typedef struct rc_result {
    uint64_t numel;
    double entropy;     /* order-0 entropy of the stored codes, bits per weight */
    double entropy_k;   /* ECSQ: order-0 entropy of the integers k (no alphabet limit) */
    double coded_bits;  /* estimated entropy-coded size, all side information included */
    double bpw;         /* coded_bits / numel */
    double side_bpw;    /* the part of bpw that is not N*H: steps or scales, table, escapes */
    double raw_bpw;     /* affine/symmetric: stored size with fixed-width codes (bits +
                           params), as MLX or GGUF store it; ECSQ: 0 */
    double sse;         /* sum of (w - wq)^2, wq from the spec's dequantization formula */
    double signal;      /* sum of w^2 */
    double sqnr_db;     /* 10 log10(signal / sse); +inf when sse = 0 */
    uint64_t escapes;   /* ECSQ */
    unsigned alphabet;  /* Q */
    unsigned zero_code; /* ECSQ z */
    unsigned flags;     /* ECSQ flags (ECQF_ECSQ_*) */
} rc_result;

/* 10 log10(signal / sse), +inf when sse is 0 (and signal is finite). */
double rc_sqnr_db(double signal, double sse);

/* Order-0 entropy in bits per symbol of a histogram of `n` counts. */
double rc_entropy_bits(const uint64_t *hist, size_t n);

/* Shorten step's significand (round to nearest) so that step * k is exact in binary32 for
 * every |k| <= max_abs / step + 1. Returns step unchanged when it is 0, not finite, or
 * already short enough. */
float rc_snap_step(float step, float max_abs);

/* Steps for a factor: step = factor * RMS of the tensor (steps[0]) or of each row
 * (steps[0..rows-1]), snapped. A zero RMS gives step 0 (valid for an all-zero row). */
int rc_ecsq_steps(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode,
                  double factor, float *steps);

/* Quantize with the given steps (ecqf_quantize_ecsq), choose the alphabet
 * (ecqf_ecsq_choose_alphabet with max_alphabet) and measure. */
int rc_ecsq_measure(const float *w, uint64_t rows, uint64_t cols, const float *steps,
                    int per_row, unsigned max_alphabet, rc_result *out);

/* rc_ecsq_steps + rc_ecsq_measure. steps may be NULL (a scratch array is used). */
int rc_ecsq_measure_factor(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode,
                           double factor, unsigned max_alphabet, float *steps, rc_result *out);

/* The largest factor whose SQNR is >= target_db (bisection in log2(factor) to 1/1000
 * octave). Fills *factor, steps (1 or rows floats; may be NULL) and *out. */
int rc_ecsq_for_sqnr(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode,
                     unsigned max_alphabet, double target_db, double *factor, float *steps,
                     rc_result *out);

/* The smallest factor whose estimated bpw is <= target_bpw (bisection as above). */
int rc_ecsq_for_bpw(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode,
                    unsigned max_alphabet, double target_bpw, double *factor, float *steps,
                    rc_result *out);

/* The two phases of the model-wide allocation, for callers that hold one tensor at a time:
 * sample each tensor's rate/distortion curve (rc_curve_sample; w is needed only during the
 * call), then choose every factor from the curves alone (rc_curves_allocate). */
#define RC_CURVE_HALF 24 /* points j = -24..24 at factor f0 * 2^(j/8): +-3 octaves */
#define RC_CURVE_POINTS (2 * RC_CURVE_HALF + 1)
typedef struct rc_curve {
    uint64_t numel;
    double f0; /* the factor that alone meets target_bpw */
    rc_result point[RC_CURVE_POINTS];
} rc_curve;

int rc_curve_sample(const float *w, uint64_t rows, uint64_t cols, rc_step_mode mode,
                    unsigned max_alphabet, double target_bpw, rc_curve *out);
/* factors[count] (and results[count] unless NULL) receive each tensor's choice. */
int rc_curves_allocate(const rc_curve *curves, size_t count, rc_distortion dist,
                       double target_bpw, double *factors, rc_result *results,
                       double *achieved_bpw, double *lambda_out);

/* One tensor of a model-wide allocation. The caller fills w, rows, cols; rc_model_allocate
 * fills factor and result (the steps follow from rc_ecsq_steps(mode, factor)). */
typedef struct rc_tensor {
    const float *w;
    uint64_t rows, cols;
    double factor;    /* out */
    rc_result result; /* out */
} rc_tensor;

/* Model-wide rate control by the equal-slope rule (see above): choose every tensor's factor
 * so that the total estimated size is at most target_bpw * (total weights) and the total
 * distortion is minimal. *achieved_bpw (may be NULL) receives the resulting average and
 * *lambda_out (may be NULL) the multiplier, in distortion units per bit. */
int rc_model_allocate(rc_tensor *tensors, size_t count, rc_step_mode mode,
                      unsigned max_alphabet, rc_distortion dist, double target_bpw,
                      double *achieved_bpw, double *lambda_out);

/* For comparison: MLX-style affine (ecqf_quantize_affine) and Q4_0/Q8_0-style symmetric
 * (ecqf_quantize_symmetric) quantization, measured with the spec's dequantization formulas.
 * entropy, coded_bits and bpw assume the codes entropy-coded (scales and biases kept raw);
 * raw_bpw is bits + params per weight, the fixed-width storage. */
int rc_affine_measure(const float *w, uint64_t rows, uint64_t cols, unsigned bits,
                      unsigned group_size, int param_dtype, rc_result *out);
int rc_symmetric_measure(const float *w, uint64_t rows, uint64_t cols, unsigned bits,
                         unsigned block_size, int param_dtype, rc_result *out);

#endif
