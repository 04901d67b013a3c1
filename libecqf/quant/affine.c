/*
 * affine.c — MLX-compatible affine group-wise quantization (spec section 7.1).
 *
 * Goal: for every input, the codes, scales and biases are bit for bit those of
 * `mx.quantize(w, group_size, bits)` (mode "affine") on MLX's CPU backend, where `w` holds
 * the same values in the dtype named by param_dtype (MLX stores scales and biases in the
 * dtype of w). Verified against MLX 0.32.4 (mlx + mlx-cpu wheels) by
 * tests/python/test_mlx_affine.py.
 *
 * The algorithm (our own description of MLX's definition; every operation is one IEEE
 * binary32 operation, round-to-nearest-even, no fused multiply-add):
 *
 *   n_bins = 2^bits - 1, eps = (float)1e-7
 *   per group of group_size consecutive elements of a row:
 *     hi = max(w), lo = min(w)                       (exact)
 *     neg = |lo| > |hi|                              (which edge has the larger magnitude)
 *     s = max((hi - lo) / n_bins, eps)               (eps keeps a constant group finite)
 *     if not neg: s = -s                             (sign handling, see below)
 *     edge = neg ? lo : hi
 *     q0 = rint(edge / s)                            (rint = round half to even)
 *     if q0 != 0: s = edge / q0, bias = edge         (zero lands exactly on code -q0)
 *     else:       bias = 0
 *     u = clamp(rint((w - bias) / s), 0, n_bins)
 *     stored scale = param_dtype(s), stored bias = param_dtype(bias)   (round to nearest even)
 *
 * The sign handling: the scale is negative when the largest-magnitude value is the maximum,
 * so code 0 always maps to the edge of larger magnitude, which is reproduced exactly
 * (bias = edge), and the scale is adjusted so that 0 is (up to rounding) a grid point.
 * The codes are computed with the unrounded binary32 scale and bias; only the stored
 * parameters are rounded to param_dtype, exactly as MLX does. Dequantization (spec 7.1,
 * w = scale * f32(u) + bias) uses the stored, rounded parameters.
 *
 * Where we differ from MLX, on purpose: NaN or infinite weights, and parameters that do not
 * fit param_dtype (an f16 overflow), are refused with ECQF_ERR_INVALID_ARGUMENT instead of
 * producing garbage; MLX accepts bits 2,3,4,5,6,8 and groups 32/64/128 only, we accept every
 * combination the spec allows (bits 2..8, groups 16..256) with the same formulas. MLX's Metal
 * kernel rounds ties away from zero and may not round its divisions correctly, so GPU-made
 * MLX files can differ in rare codes; the lossless recoding path never re-quantizes them.
 */
#include <math.h>

#include "common/internal.h"

/* Store v (already rounded to binary32) as element i of a param_dtype array, little-endian
 * (the params part layout; native arrays on little-endian hosts). Returns 0 if the stored
 * value is finite, 1 otherwise. */
static int store_param(void *base, uint64_t i, int dtype, float v) {
    uint8_t *p = (uint8_t *)base;
    uint32_t u32;
    uint16_t u16;
    switch (dtype) {
    case ECQF_DTYPE_F32:
        memcpy(&u32, &v, 4);
        ecqf_wr32(p + 4 * i, u32);
        return !isfinite(v);
    case ECQF_DTYPE_F16:
        u16 = ecqf_f32_to_f16(v);
        ecqf_wr16(p + 2 * i, u16);
        return (u16 & 0x7C00) == 0x7C00;
    default: /* BF16 */
        u16 = ecqf_f32_to_bf16(v);
        ecqf_wr16(p + 2 * i, u16);
        return (u16 & 0x7F80) == 0x7F80;
    }
}

static int valid_group(unsigned g) { return g == 16 || g == 32 || g == 64 || g == 128 || g == 256; }

int ecqf_quantize_affine(const float *w, uint64_t rows, uint64_t cols, unsigned bits,
                         unsigned group_size, int param_dtype, uint8_t *codes, void *scales,
                         void *biases) {
    uint64_t numel, groups, g;
    if (bits < 2 || bits > 8 || !valid_group(group_size)) return ECQF_ERR_INVALID_ARGUMENT;
    if (param_dtype != ECQF_DTYPE_F32 && param_dtype != ECQF_DTYPE_F16 &&
        param_dtype != ECQF_DTYPE_BF16)
        return ECQF_ERR_INVALID_ARGUMENT;
    if (cols % group_size != 0) return ECQF_ERR_INVALID_ARGUMENT;
    if (ecqf_mul_overflow(rows, cols, &numel) || numel > ECQF_MAX_NUMEL || numel > SIZE_MAX)
        return ECQF_ERR_INVALID_ARGUMENT;
    if (numel == 0) return ECQF_OK;
    if (!w || !codes || !scales || !biases) return ECQF_ERR_INVALID_ARGUMENT;
    for (uint64_t i = 0; i < numel; i++)
        if (!isfinite(w[i])) return ECQF_ERR_INVALID_ARGUMENT;

    const float n_bins = (float)((1u << bits) - 1u);
    const float eps = (float)1e-7; /* MLX: float eps = 1e-7 */
    groups = numel / group_size;
    for (g = 0; g < groups; g++) {
        const float *x = w + g * group_size;
        uint8_t *u = codes + g * group_size;
        float hi = x[0], lo = x[0];
        for (unsigned j = 1; j < group_size; j++) {
            if (x[j] > hi) hi = x[j];
            if (x[j] < lo) lo = x[j];
        }
        const int neg = fabsf(lo) > fabsf(hi);
        float range = hi - lo;
        float s = range / n_bins;
        if (!(s >= eps)) s = eps;   /* max(s, eps); s is never NaN here */
        if (!neg) s = -s;
        const float edge = neg ? lo : hi;
        float ratio = edge / s;
        const float q0 = rintf(ratio);
        float bias = 0.0f;
        if (q0 != 0.0f) {
            s = edge / q0;
            bias = edge;
        }
        for (unsigned j = 0; j < group_size; j++) {
            float d = x[j] - bias;
            float t = d / s;
            float q = rintf(t);
            /* NaN (only from 0/0 when |edge| is so large that edge/eps overflowed) -> 0 */
            if (!(q > 0.0f)) q = 0.0f;
            if (q > n_bins) q = n_bins;
            u[j] = (uint8_t)q;
        }
        if (store_param(scales, g, param_dtype, s) | store_param(biases, g, param_dtype, bias))
            return ECQF_ERR_INVALID_ARGUMENT;
    }
    return ECQF_OK;
}
