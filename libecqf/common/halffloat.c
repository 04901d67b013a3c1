/* halffloat.c — exact f16/bf16 <-> f32 conversions, round-to-nearest-even on narrowing,
 * in portable C (the spec requires bit-exact results on every backend). */
#include "internal.h"

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float ecqf_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    if (exp == 0) {
        if (man == 0) return u2f(sign);
        /* subnormal: value = man * 2^-24, exact in f32 */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 31) return u2f(sign | 0x7F800000u | (man << 13));
    return u2f(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t ecqf_f32_to_f16(float f) {
    uint32_t u = f2u(f), sign = (u >> 16) & 0x8000;
    uint32_t absu = u & 0x7FFFFFFFu;
    if (absu > 0x7F800000u) { /* NaN: keep sign and the top payload bits, never quiet it, so
                               * f16 -> f32 -> f16 is the identity; a payload that truncates to 0
                               * sets the top mantissa bit to stay a NaN (spec [S-2]) */
        uint32_t m = (absu >> 13) & 0x3FF;
        return (uint16_t)(sign | 0x7C00 | (m ? m : 0x200));
    }
    if (absu == 0x7F800000u) return (uint16_t)(sign | 0x7C00);
    if (absu >= 0x477FF000u) return (uint16_t)(sign | 0x7C00); /* rounds to >= 65520: inf */
    if (absu < 0x38800000u) { /* result subnormal or zero: round absu * 2^24 to integer */
        if (absu < 0x33000000u) return (uint16_t)sign; /* < 2^-25: rounds to 0 */
        uint32_t e = absu >> 23, m = (absu & 0x7FFFFF) | 0x800000;
        unsigned shift = 126 - e; /* value = m * 2^(e-150); want m * 2^(e-150+24) */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = absu - 0x38000000u; /* rebias exponent 127 -> 15 */
    uint32_t rem = r & 0x1FFF;
    r >>= 13;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
    return (uint16_t)(sign | r);
}

float ecqf_bf16_to_f32(uint16_t h) { return u2f((uint32_t)h << 16); }

uint16_t ecqf_f32_to_bf16(float f) {
    uint32_t u = f2u(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) /* NaN: truncate the payload; keep it a NaN */
        return (uint16_t)((u >> 16) & 0x7F ? (u >> 16) : ((u >> 16) | 0x40));
    uint32_t lsb = (u >> 16) & 1;
    u += 0x7FFFu + lsb;
    return (uint16_t)(u >> 16);
}
