/*
 * rawpack.c — RAW coding of codes (spec 8.1, [K-3], [K-4]): code i occupies bits
 * i*width .. i*width+width-1, bit j being bit j mod 8 of byte j div 8 (LSB first).
 * Widths are 1..8; 0 and larger widths are invalid (packed size UINT64_MAX, pack does
 * nothing, unpack returns ECQF_ERR_INVALID_ARGUMENT).
 *
 * ecqf_raw_unpack reads only the bytes that hold bits of codes [first, first+count), that
 * is bytes floor(first*width/8) .. ceil((first+count)*width/8)-1. Checking the unused high
 * bits of the part's last byte ([K-3]) is the caller's job.
 */
#include "codec.h"
#include "common/internal.h"

uint64_t ecqf_raw_packed_size(uint64_t count, unsigned width) {
    uint64_t bits;
    if (width < 1 || width > 8) return UINT64_MAX;
    if (ecqf_mul_overflow(count, width, &bits)) return UINT64_MAX;
    return bits / 8 + (bits % 8 != 0);
}

void ecqf_raw_pack(const uint8_t *codes, uint64_t count, unsigned width, uint8_t *out) {
    uint64_t i, o = 0;
    uint32_t acc = 0, mask;
    unsigned nacc = 0;
    if (width < 1 || width > 8) return;
    if (width == 8) {
        if (count) memcpy(out, codes, (size_t)count);
        return;
    }
    mask = (1u << width) - 1;
    for (i = 0; i < count; i++) {
        acc |= (codes[i] & mask) << nacc;
        nacc += width;
        if (nacc >= 8) {
            out[o++] = (uint8_t)acc;
            acc >>= 8;
            nacc -= 8;
        }
    }
    if (nacc) out[o] = (uint8_t)acc; /* unused high bits are zero */
}

int ecqf_raw_unpack(const uint8_t *in, uint64_t first, uint64_t count, unsigned width, unsigned q,
                    uint8_t *codes) {
    uint64_t bit, i, end;
    uint8_t bad = 0;
    if (width < 1 || width > 8 || q == 0) return ECQF_ERR_INVALID_ARGUMENT;
    if (ecqf_add_overflow(first, count, &end) || ecqf_mul_overflow(end, width, &end))
        return ECQF_ERR_INVALID_ARGUMENT;
    if (count == 0) return ECQF_OK;
    bit = first * width;
    if (width == 8) {
        memcpy(codes, in + first, (size_t)count);
    } else if (width == 4 || width == 2 || width == 1) {
        /* codes never straddle bytes */
        const unsigned mask = (1u << width) - 1;
        for (i = 0; i < count; i++, bit += width)
            codes[i] = (uint8_t)((in[bit >> 3] >> (bit & 7)) & mask);
    } else {
        const unsigned mask = (1u << width) - 1;
        for (i = 0; i < count; i++, bit += width) {
            unsigned sh = (unsigned)(bit & 7), v = in[bit >> 3] >> sh;
            if (sh + width > 8) v |= (unsigned)in[(bit >> 3) + 1] << (8 - sh);
            codes[i] = (uint8_t)(v & mask);
        }
    }
    if (q >= (1u << width)) return ECQF_OK; /* every width-bit value is < q */
    for (i = 0; i < count; i++) bad |= (uint8_t)(codes[i] >= q);
    return bad ? ECQF_ERR_CORRUPT_STREAM : ECQF_OK;
}
