/*
 * symmetric.c — Q4_0/Q8_0-style symmetric block quantization (spec section 7.2).
 *
 * Per block of block_size consecutive elements of a row (binary32 arithmetic):
 *   bits < 8 (Q4_0 rule, as ggml's reference Q4_0 quantizer defines it):
 *       m = the signed value of largest magnitude (the first one on ties),
 *       d = m / -(2^(bits-1)),
 *     so the extreme value maps to code 0 exactly and the grid keeps one more level on the
 *     opposite side;
 *   bits == 8 (Q8_0 rule): d = amax / 127, codes span 1..255 (k in -127..127).
 *   D = param_dtype(d) (round to nearest even) is what the params part stores;
 *   k = round_half_away(w / D) computed with the stored D (not ggml's unrounded 1/d), so that
 *     a re-quantization of the dequantized tensor reproduces the same codes;
 *   u = clamp(k + 2^(bits-1), 0, 2^bits - 1).
 * A block whose D is 0 (all zero, or too small for param_dtype) gets k = 0 everywhere.
 * Dequantization (spec 7.2): w = D * f32(u - 2^(bits-1)).
 *
 * Differences from ggml, on purpose: ggml multiplies by the reciprocal of the unrounded d and
 * rounds half up (Q4_0) or half away (Q8_0); codes can therefore differ from a ggml-made file
 * in rare ties and where fp16 rounding of d moves a value across a decision boundary. Lossless
 * recoding of GGUF files copies the file's codes and never calls this function.
 * NaN or infinite weights, or a d that overflows param_dtype, give ECQF_ERR_INVALID_ARGUMENT.
 */
#include <math.h>

#include "common/internal.h"

/* Round v to param_dtype; store it little-endian at index i; return the rounded value. */
static float round_store(void *base, uint64_t i, int dtype, float v) {
    uint8_t *p = (uint8_t *)base;
    uint32_t u32;
    uint16_t u16;
    switch (dtype) {
    case ECQF_DTYPE_F32:
        memcpy(&u32, &v, 4);
        ecqf_wr32(p + 4 * i, u32);
        return v;
    case ECQF_DTYPE_F16:
        u16 = ecqf_f32_to_f16(v);
        ecqf_wr16(p + 2 * i, u16);
        return ecqf_f16_to_f32(u16);
    default:
        u16 = ecqf_f32_to_bf16(v);
        ecqf_wr16(p + 2 * i, u16);
        return ecqf_bf16_to_f32(u16);
    }
}

static int valid_block(unsigned b) { return b == 16 || b == 32 || b == 64 || b == 128 || b == 256; }

int ecqf_quantize_symmetric(const float *w, uint64_t rows, uint64_t cols, unsigned bits,
                            unsigned block_size, int param_dtype, uint8_t *codes, void *scales) {
    uint64_t numel, blocks;
    if (bits < 2 || bits > 8 || !valid_block(block_size)) return ECQF_ERR_INVALID_ARGUMENT;
    if (param_dtype != ECQF_DTYPE_F32 && param_dtype != ECQF_DTYPE_F16 &&
        param_dtype != ECQF_DTYPE_BF16)
        return ECQF_ERR_INVALID_ARGUMENT;
    if (cols % block_size != 0) return ECQF_ERR_INVALID_ARGUMENT;
    if (ecqf_mul_overflow(rows, cols, &numel) || numel > ECQF_MAX_NUMEL || numel > SIZE_MAX)
        return ECQF_ERR_INVALID_ARGUMENT;
    if (numel == 0) return ECQF_OK;
    if (!w || !codes || !scales) return ECQF_ERR_INVALID_ARGUMENT;
    for (uint64_t i = 0; i < numel; i++)
        if (!isfinite(w[i])) return ECQF_ERR_INVALID_ARGUMENT;

    const int half = 1 << (bits - 1);
    const int umax = (1 << bits) - 1;
    blocks = numel / block_size;
    for (uint64_t b = 0; b < blocks; b++) {
        const float *x = w + b * block_size;
        uint8_t *u = codes + b * block_size;
        float amax = 0.0f, m = 0.0f, d;
        for (unsigned j = 0; j < block_size; j++) {
            float a = fabsf(x[j]);
            if (a > amax) {
                amax = a;
                m = x[j];
            }
        }
        if (bits == 8)
            d = amax / 127.0f;
        else
            d = m / (float)-half;
        const float ds = round_store(scales, b, param_dtype, d);
        if (!isfinite(ds)) return ECQF_ERR_INVALID_ARGUMENT;
        for (unsigned j = 0; j < block_size; j++) {
            long k = 0;
            if (ds != 0.0f) {
                float t = x[j] / ds;
                k = lroundf(t); /* |t| <= 2^(bits-1) * (1 + 2^-8) or so: no overflow */
            }
            long c = k + half;
            if (c < 0) c = 0;
            if (c > umax) c = umax;
            u[j] = (uint8_t)c;
        }
    }
    return ECQF_OK;
}
