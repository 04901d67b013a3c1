/* decode.c — turning a validated tensor's parts into codes, integers and values
 * (spec sections 7, 8 and 9), and full verification in bounded memory. */
#include <stdlib.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader: window size check [K-5] */
#include <zstd.h>

#include "layout.h"

#define FAIL(code, off, ...) return ecqf_set_error(err, (code), (off), __VA_ARGS__)

/* Everything needed to decode one tensor, tables built once. */
typedef struct tensor_decoder {
    const ecqf_reader *r;
    ecqf_tensor_info info;
    ecqf_tiling tiling;
    ecqf_rans_table *rans;
    ecqf_prefix_table *prefix;
    uint8_t *symbols;      /* tile scratch: symbols in symbol order */
    uint32_t *positions;   /* tile scratch: element of each code in symbol order (escapes) */
    const ecqf_allocator *a;
} tensor_decoder;

static void decoder_free(tensor_decoder *d) {
    ecqf_free(d->a, d->rans);
    ecqf_free(d->a, d->symbols);
    ecqf_free(d->a, d->positions);
    ecqf_free(d->a, d->prefix);
}

static uint64_t tile_capacity(const ecqf_tensor_info *info) {
    uint64_t h = info->tile_rows < info->rows ? info->tile_rows : info->rows;
    uint64_t w = info->tile_cols < info->cols ? info->tile_cols : info->cols;
    return h * w; /* <= 2^20 by [K-10] */
}

static int decoder_init(tensor_decoder *d, const ecqf_reader *r, size_t index, ecqf_error *err) {
    int rc;
    memset(d, 0, sizeof *d);
    d->r = r;
    d->a = ecqf_reader_allocator(r);
    if (!r || index >= ecqf_reader_tensor_count(r))
        FAIL(ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "tensor index %zu out of range", index);
    rc = ecqf_reader_tensor_info(r, index, &d->info);
    if (rc) FAIL(rc, ECQF_NO_OFFSET, "tensor entry unreadable");
    if (d->info.coding == ECQF_CODING_RANS || d->info.coding == ECQF_CODING_PREFIX) {
        const ecqf_tensor_info *in = &d->info;
        unsigned A = in->pack == 2 ? 256u : in->alphabet;
        uint64_t cap = tile_capacity(in);
        ecqf_info_tiling(in, &d->tiling);
        d->symbols = ecqf_alloc(d->a, (size_t)cap + 1);
        if (!d->symbols) FAIL(ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
        if (in->coding == ECQF_CODING_RANS) {
            uint16_t freq[256];
            d->rans = ecqf_alloc(d->a, sizeof *d->rans);
            if (!d->rans) { decoder_free(d); FAIL(ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory"); }
            for (unsigned s = 0; s < A; s++) freq[s] = ecqf_rd16(in->part[ECQF_PART_TABLE] + 2 * s);
            rc = ecqf_rans_table_init(d->rans, freq, A, in->precision);
        } else {
            d->prefix = ecqf_alloc(d->a, sizeof *d->prefix);
            if (!d->prefix) { decoder_free(d); FAIL(ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory"); }
            rc = ecqf_prefix_table_init(d->prefix, in->part[ECQF_PART_TABLE], A, in->max_length);
        }
        if (rc) {
            decoder_free(d);
            FAIL(rc, in->part_offset[ECQF_PART_TABLE], "invalid table of '%.*s'", (int)in->name_length, in->name);
        }
    }
    return ECQF_OK;
}

static int has_escape(const ecqf_tensor_info *in) {
    return in->scheme == ECQF_SCHEME_ECSQ && (in->ecsq_flags & ECQF_ECSQ_HAS_ESCAPE);
}

/* Tile-local element index of each code in symbol order (spec 9.2/9.3); padding -> UINT32_MAX.
 * Code m of lane l belongs to step m/pack, whose symbols start at base(step) =
 * sum over lanes of min(lane_len, step), since the active lanes of a step are a prefix. */
void ecqf_symbol_positions(const ecqf_tiling *t, const ecqf_tile_geom *g, uint32_t *pos) {
    unsigned W = t->lanes, pack = t->pack;
    uint64_t w = g->c1 - g->c0;
    uint64_t codes_per_lane[ECQF_MAX_LANES] = {0};
    for (uint64_t i = 0; i < g->symbols * pack; i++) pos[i] = UINT32_MAX;
    for (uint64_t r = g->r0; r < g->r1;) {
        uint64_t s1 = r + t->stripe_rows < g->r1 ? r + t->stripe_rows : g->r1;
        for (uint64_t j = 0; j * W < w; j++)
            for (uint64_t rr = r; rr < s1; rr++)
                for (unsigned l = 0; l < W && j * W + l < w; l++) {
                    uint64_t m = codes_per_lane[l]++, step = m / pack, base = 0;
                    for (unsigned q = 0; q < W; q++) base += g->lane_len[q] < step ? g->lane_len[q] : step;
                    pos[(base + l) * pack + (m % pack)] = (uint32_t)((rr - g->r0) * w + j * W + l);
                }
        r = s1;
    }
}

/* Decode tile `t` of a tiled tensor into tile-local codes; count its escapes ([E-2]) and, if
 * ints is given, resolve integers (ECSQ). */
static int decode_tile(tensor_decoder *d, uint64_t t, uint8_t *codes, int32_t *ints, ecqf_error *err) {
    const ecqf_tensor_info *in = &d->info;
    ecqf_tile_geom g;
    const uint8_t *ti = in->part[ECQF_PART_TILE_INDEX];
    uint64_t start = ecqf_rd64(ti + 8 * t), end = ecqf_rd64(ti + 8 * t + 8);
    const uint8_t *src = in->part[ECQF_PART_DATA] ? in->part[ECQF_PART_DATA] + start : NULL;
    uint64_t src_off = in->part_offset[ECQF_PART_DATA] + start;
    unsigned Q = in->alphabet, esc = has_escape(in) ? Q - 1 : 256;
    uint64_t n_esc = 0;
    int rc;
    ecqf_tile_geometry(&d->tiling, t, &g);
    if (in->coding == ECQF_CODING_RANS)
        rc = ecqf_rans_decode_tile(d->rans, in->lanes, &g, src, (size_t)(end - start), d->symbols);
    else
        rc = ecqf_prefix_decode_tile(d->prefix, in->lanes, &g, src, (size_t)(end - start), d->symbols);
    if (rc == ECQF_ERR_NONZERO_PADDING)
        FAIL(rc, src_off, "nonzero padding word at the end of tile %llu of '%.*s' [R-4, P-5]", (unsigned long long)t,
             (int)in->name_length, in->name);
    if (rc) FAIL(ECQF_ERR_CORRUPT_STREAM, src_off, "corrupt %s stream in tile %llu of '%.*s' [R-5..R-8, P-6..P-8]",
                 ecqf_coding_name(in->coding), (unsigned long long)t, (int)in->name_length, in->name);
    rc = ecqf_tile_scatter(&d->tiling, &g, d->symbols, codes);
    if (rc) FAIL(ECQF_ERR_CORRUPT_STREAM, src_off, "nonzero padding code in tile %llu of '%.*s' [G-2]",
                 (unsigned long long)t, (int)in->name_length, in->name);
    for (uint64_t i = 0; i < g.elements; i++) {
        if (codes[i] >= Q) FAIL(ECQF_ERR_CORRUPT_STREAM, src_off, "code %u >= alphabet %u in tile %llu of '%.*s' [G-4]",
                                codes[i], Q, (unsigned long long)t, (int)in->name_length, in->name);
        n_esc += codes[i] == esc;
    }
    if (has_escape(in)) {
        const uint8_t *es = in->part[ECQF_PART_ESCAPES];
        uint64_t e0 = ecqf_rd32(es + 4 * t), e1 = ecqf_rd32(es + 4 * t + 4);
        if (e1 - e0 != n_esc)
            FAIL(ECQF_ERR_BAD_ESCAPES, in->part_offset[ECQF_PART_ESCAPES] + 4 * t,
                 "tile %llu of '%.*s' has %llu escape codes but its index says %llu [E-2]", (unsigned long long)t,
                 (int)in->name_length, in->name, (unsigned long long)n_esc, (unsigned long long)(e1 - e0));
        if (ints) {
            const uint8_t *vals = es + 4 * (in->tile_count + 1) + 4 * e0;
            if (!d->positions) {
                d->positions = ecqf_alloc(d->a, (size_t)(tile_capacity(in) + ECQF_MAX_LANES) * sizeof(uint32_t));
                if (!d->positions) FAIL(ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
            }
            ecqf_symbol_positions(&d->tiling, &g, d->positions);
            for (uint64_t i = 0; i < g.elements; i++) ints[i] = (int32_t)codes[i] - (int32_t)in->zero_code;
            for (uint64_t i = 0, k = 0; i < g.symbols * in->pack; i++) {
                uint32_t p = d->positions[i];
                if (p != UINT32_MAX && codes[p] == esc) ints[p] = (int32_t)ecqf_rd32(vals + 4 * k++);
            }
        }
    } else if (ints)
        for (uint64_t i = 0; i < g.elements; i++) ints[i] = (int32_t)codes[i] - (int32_t)in->zero_code;
    return ECQF_OK;
}

/* RAW or ZSTD data of a quantized tensor or NONE values: the raw bytes, decompressed if
 * needed, into a new buffer (or pointing into the file for RAW). */
static int raw_bytes(tensor_decoder *d, const uint8_t **bytes, uint8_t **owned, uint64_t *size, ecqf_error *err) {
    const ecqf_tensor_info *in = &d->info;
    uint64_t bits = in->numel * in->code_width, want = bits / 8 + (bits % 8 != 0);
    *owned = NULL;
    *size = want;
    if (in->coding == ECQF_CODING_RAW) {
        *bytes = in->part[ECQF_PART_DATA];
        return ECQF_OK;
    }
    {
        const uint8_t *src = in->part[ECQF_PART_DATA];
        size_t srcn = (size_t)in->part_size[ECQF_PART_DATA];
        unsigned long long declared = ZSTD_getFrameContentSize(src, srcn);
        size_t framesz = ZSTD_findFrameCompressedSize(src, srcn);
        uint8_t *buf;
        size_t got;
        if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN || declared != want)
            FAIL(ECQF_ERR_CORRUPT_STREAM, in->part_offset[ECQF_PART_DATA], "zstd frame of '%.*s' does not declare its size %llu [K-5]",
                 (int)in->name_length, in->name, (unsigned long long)want);
        ZSTD_frameHeader zfh;
        if (ZSTD_isError(framesz) || framesz != srcn)
            FAIL(ECQF_ERR_CORRUPT_STREAM, in->part_offset[ECQF_PART_DATA], "zstd data of '%.*s' is not exactly one frame [K-5]",
                 (int)in->name_length, in->name);
        if (ZSTD_getDictID_fromFrame(src, srcn) != 0 || ZSTD_getFrameHeader(&zfh, src, srcn) != 0 || zfh.windowSize > (1ull << 27))
            FAIL(ECQF_ERR_CORRUPT_STREAM, in->part_offset[ECQF_PART_DATA], "zstd frame of '%.*s' names a dictionary or needs a window above 2^27 [K-5]",
                 (int)in->name_length, in->name);
        if (want > SIZE_MAX) FAIL(ECQF_ERR_LIMIT, ECQF_NO_OFFSET, "tensor too large for this machine");
        buf = ecqf_alloc(d->a, (size_t)want);
        if (!buf) FAIL(ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory for %llu bytes", (unsigned long long)want);
        got = ZSTD_decompress(buf, (size_t)want, src, srcn);
        if (ZSTD_isError(got) || got != want) {
            ecqf_free(d->a, buf);
            FAIL(ECQF_ERR_CORRUPT_STREAM, in->part_offset[ECQF_PART_DATA], "zstd frame of '%.*s' is corrupt: %s [K-5]",
                 (int)in->name_length, in->name, ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong size");
        }
        *bytes = buf;
        *owned = buf;
        return ECQF_OK;
    }
}

/* Unpack RAW codes and check [K-3] (zero tail bits) and [K-4]. */
static int unpack_codes(const tensor_decoder *d, const uint8_t *bytes, uint64_t size, uint8_t *codes, ecqf_error *err) {
    const ecqf_tensor_info *in = &d->info;
    uint64_t bits = in->numel * in->code_width;
    if (ecqf_raw_unpack(bytes, 0, in->numel, in->code_width, in->alphabet, codes))
        FAIL(ECQF_ERR_CORRUPT_STREAM, in->part_offset[ECQF_PART_DATA], "a code of '%.*s' is >= its alphabet %u [K-4]",
             (int)in->name_length, in->name, in->alphabet);
    if (bits % 8 && (bytes[size - 1] >> (bits % 8)))
        FAIL(ECQF_ERR_NONZERO_PADDING, in->part_offset[ECQF_PART_DATA] + size - 1, "unused high bits of the last data byte of '%.*s' are not zero [K-3]",
             (int)in->name_length, in->name);
    return ECQF_OK;
}

static int raw_ints(const tensor_decoder *d, const uint8_t *codes, int32_t *ints, ecqf_error *err) {
    const ecqf_tensor_info *in = &d->info;
    unsigned esc = has_escape(in) ? in->alphabet - 1 : 256;
    uint64_t k = 0, n = in->escape_count;
    const uint8_t *vals = has_escape(in) ? in->part[ECQF_PART_ESCAPES] + 8 : NULL;
    for (uint64_t i = 0; i < in->numel; i++) {
        if (codes[i] == esc) {
            if (k >= n) FAIL(ECQF_ERR_BAD_ESCAPES, in->part_offset[ECQF_PART_ESCAPES], "more escape codes than escape values in '%.*s' [E-2]",
                             (int)in->name_length, in->name);
            ints[i] = (int32_t)ecqf_rd32(vals + 4 * k++);
        } else
            ints[i] = (int32_t)codes[i] - (int32_t)in->zero_code;
    }
    if (has_escape(in) && k != n)
        FAIL(ECQF_ERR_BAD_ESCAPES, in->part_offset[ECQF_PART_ESCAPES], "fewer escape codes than escape values in '%.*s' [E-2]",
             (int)in->name_length, in->name);
    return ECQF_OK;
}

int ecqf_tensor_decode_tile(const ecqf_reader *r, size_t index, uint64_t tile, uint8_t *codes,
                            uint64_t count, ecqf_error *err) {
    tensor_decoder d;
    int rc = decoder_init(&d, r, index, err);
    if (rc) return rc;
    if (d.info.scheme == ECQF_SCHEME_NONE) {
        decoder_free(&d);
        FAIL(ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "tensor '%.*s' is not quantized", (int)d.info.name_length, d.info.name);
    }
    if (tile >= d.info.tile_count || !codes) {
        decoder_free(&d);
        FAIL(ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "tile %llu out of range", (unsigned long long)tile);
    }
    if (d.info.coding == ECQF_CODING_RAW || d.info.coding == ECQF_CODING_ZSTD) {
        decoder_free(&d);
        return ecqf_tensor_decode_codes(r, index, codes, count, err);
    }
    {
        ecqf_tile_geom g;
        ecqf_tile_geometry(&d.tiling, tile, &g);
        if (count != g.elements) {
            decoder_free(&d);
            FAIL(ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "tile %llu has %llu elements, buffer has %llu",
                 (unsigned long long)tile, (unsigned long long)g.elements, (unsigned long long)count);
        }
        rc = decode_tile(&d, tile, codes, NULL, err);
    }
    decoder_free(&d);
    return rc;
}

/* Decode the whole tensor's codes and optionally ints (ECSQ), row-major. */
static int decode_all(tensor_decoder *d, uint8_t *codes, int32_t *ints, ecqf_error *err) {
    const ecqf_tensor_info *in = &d->info;
    int rc = ECQF_OK;
    if (in->numel == 0) return ECQF_OK;
    if (in->coding == ECQF_CODING_RAW || in->coding == ECQF_CODING_ZSTD) {
        const uint8_t *bytes;
        uint8_t *owned;
        uint64_t size;
        rc = raw_bytes(d, &bytes, &owned, &size, err);
        if (rc) return rc;
        rc = unpack_codes(d, bytes, size, codes, err);
        if (!rc && ints) rc = raw_ints(d, codes, ints, err);
        ecqf_free(d->a, owned);
        return rc;
    }
    {
        uint64_t cap = tile_capacity(in);
        uint8_t *tc = ecqf_alloc(d->a, (size_t)cap);
        int32_t *tint = ints ? ecqf_alloc(d->a, (size_t)cap * sizeof(int32_t)) : NULL;
        if (!tc || (ints && !tint)) {
            ecqf_free(d->a, tc);
            ecqf_free(d->a, tint);
            FAIL(ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
        }
        for (uint64_t t = 0; t < in->tile_count && !rc; t++) {
            ecqf_tile_geom g;
            ecqf_tile_geometry(&d->tiling, t, &g);
            rc = decode_tile(d, t, tc, tint, err);
            if (rc) break;
            uint64_t w = g.c1 - g.c0;
            for (uint64_t rr = g.r0; rr < g.r1; rr++) {
                memcpy(codes + rr * in->cols + g.c0, tc + (rr - g.r0) * w, (size_t)w);
                if (ints) memcpy(ints + rr * in->cols + g.c0, tint + (rr - g.r0) * w, (size_t)w * sizeof(int32_t));
            }
        }
        ecqf_free(d->a, tc);
        ecqf_free(d->a, tint);
    }
    return rc;
}

int ecqf_tensor_decode_codes(const ecqf_reader *r, size_t index, uint8_t *codes, uint64_t count,
                             ecqf_error *err) {
    tensor_decoder d;
    int rc = decoder_init(&d, r, index, err);
    if (rc) return rc;
    if (d.info.scheme == ECQF_SCHEME_NONE) rc = ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "tensor '%.*s' is not quantized", (int)d.info.name_length, d.info.name);
    else if (count != d.info.numel || (!codes && count)) rc = ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "buffer holds %llu codes, tensor has %llu", (unsigned long long)count, (unsigned long long)d.info.numel);
    else rc = decode_all(&d, codes, NULL, err);
    decoder_free(&d);
    return rc;
}

int ecqf_tensor_decode_ints(const ecqf_reader *r, size_t index, int32_t *ints, uint64_t count,
                            ecqf_error *err) {
    tensor_decoder d;
    uint8_t *codes = NULL;
    int rc = decoder_init(&d, r, index, err);
    if (rc) return rc;
    if (d.info.scheme != ECQF_SCHEME_ECSQ) rc = ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "tensor '%.*s' is not ECSQ", (int)d.info.name_length, d.info.name);
    else if (count != d.info.numel || (!ints && count)) rc = ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "buffer holds %llu ints, tensor has %llu", (unsigned long long)count, (unsigned long long)d.info.numel);
    else if (!(codes = ecqf_alloc(d.a, (size_t)count))) rc = ecqf_set_error(err, ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
    else rc = decode_all(&d, codes, ints, err);
    ecqf_free(d.a, codes);
    decoder_free(&d);
    return rc;
}

static float param_at(const uint8_t *p, int dtype, uint64_t i) {
    switch (dtype) {
    case ECQF_DTYPE_F16: return ecqf_f16_to_f32(ecqf_rd16(p + 2 * i));
    case ECQF_DTYPE_BF16: return ecqf_bf16_to_f32(ecqf_rd16(p + 2 * i));
    default: {
        uint32_t u = ecqf_rd32(p + 4 * i);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    }
}

static void store(void *out, int dtype, uint64_t i, float v) {
    uint8_t *o = out;
    switch (dtype) {
    case ECQF_DTYPE_F16: { uint16_t h = ecqf_f32_to_f16(v); memcpy(o + 2 * i, &h, 2); break; }
    case ECQF_DTYPE_BF16: { uint16_t h = ecqf_f32_to_bf16(v); memcpy(o + 2 * i, &h, 2); break; }
    default: memcpy(o + 4 * i, &v, 4); break;
    }
}

int ecqf_tensor_dequantize(const ecqf_reader *r, size_t index, int out_dtype, void *out,
                           size_t out_size, ecqf_error *err) {
    tensor_decoder d;
    const ecqf_tensor_info *in;
    uint64_t need;
    uint8_t *codes = NULL;
    int32_t *ints = NULL;
    int rc = decoder_init(&d, r, index, err);
    if (rc) return rc;
    in = &d.info;
    if (!ecqf_dtype_size(out_dtype) || ecqf_mul_overflow(in->numel, ecqf_dtype_size(out_dtype), &need) || need != out_size || (!out && need)) {
        decoder_free(&d);
        FAIL(ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "output buffer of %zu bytes does not fit %llu elements of dtype %d",
             out_size, (unsigned long long)in->numel, out_dtype);
    }
    if (in->scheme == ECQF_SCHEME_NONE) {
        const uint8_t *bytes = NULL;
        uint8_t *owned = NULL;
        uint64_t size;
        if (in->numel) {
            rc = raw_bytes(&d, &bytes, &owned, &size, err);
            if (!rc)
                for (uint64_t i = 0; i < in->numel; i++) store(out, out_dtype, i, param_at(bytes, in->dtype, i));
        }
        ecqf_free(d.a, owned);
        decoder_free(&d);
        return rc;
    }
    if (in->numel > SIZE_MAX / 4) { decoder_free(&d); FAIL(ECQF_ERR_LIMIT, ECQF_NO_OFFSET, "tensor too large"); }
    codes = ecqf_alloc(d.a, (size_t)in->numel);
    if (in->scheme == ECQF_SCHEME_ECSQ) ints = ecqf_alloc(d.a, (size_t)in->numel * sizeof(int32_t));
    if (!codes || (in->scheme == ECQF_SCHEME_ECSQ && !ints)) rc = ecqf_set_error(err, ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
    else rc = decode_all(&d, codes, ints, err);
    if (!rc) {
        const uint8_t *params = in->part[ECQF_PART_PARAMS];
        uint64_t cols = in->cols;
        if (in->scheme == ECQF_SCHEME_AFFINE) {
            uint64_t G = cols / in->group_size, ng = in->rows * G;
            size_t psz = ecqf_dtype_size(in->param_dtype);
            for (uint64_t i = 0; i < in->numel; i++) {
                uint64_t gi = (i / cols) * G + (i % cols) / in->group_size;
                float s = param_at(params, in->param_dtype, gi);
                float b = param_at(params + ng * psz, in->param_dtype, gi);
                float prod = s * (float)codes[i];
                store(out, out_dtype, i, prod + b);
            }
        } else if (in->scheme == ECQF_SCHEME_SYMMETRIC) {
            uint64_t G = cols / in->group_size;
            int half = 1 << (in->bits - 1);
            for (uint64_t i = 0; i < in->numel; i++) {
                float dd = param_at(params, in->param_dtype, (i / cols) * G + (i % cols) / in->group_size);
                store(out, out_dtype, i, dd * (float)((int)codes[i] - half));
            }
        } else {
            int per_row = (in->ecsq_flags & ECQF_ECSQ_PER_ROW) != 0;
            for (uint64_t i = 0; i < in->numel; i++) {
                float step = param_at(params, ECQF_DTYPE_F32, per_row ? i / cols : 0);
                store(out, out_dtype, i, step * (float)ints[i]);
            }
        }
    }
    ecqf_free(d.a, codes);
    ecqf_free(d.a, ints);
    decoder_free(&d);
    return rc;
}

int ecqf_reader_verify_tensor(const ecqf_reader *r, size_t index, ecqf_error *err) {
    ecqf_tensor_info in;
    uint8_t sum[32];
    int rc;
    if (!r || index >= ecqf_reader_tensor_count(r)) FAIL(ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "tensor index out of range");
    rc = ecqf_reader_tensor_info(r, index, &in);
    if (rc) return rc;
    rc = ecqf_blake2b_256(in.blob_size ? in.blob : (const uint8_t *)"", (size_t)in.blob_size, sum);
    if (rc) FAIL(rc, ECQF_NO_OFFSET, "checksum unavailable");
    if (memcmp(sum, in.blob_checksum, 32) != 0)
        FAIL(ECQF_ERR_BLOB_CHECKSUM, in.blob_offset, "blob checksum mismatch for tensor '%.*s' at %llu [T-11]",
             (int)in.name_length, in.name, (unsigned long long)in.blob_offset);
    return ECQF_OK;
}

/* Full decode of one tensor in memory bounded by one tile (tiled) or one chunk (RAW/ZSTD). */
static int verify_decode(const ecqf_reader *r, size_t index, ecqf_error *err) {
    tensor_decoder d;
    const ecqf_tensor_info *in;
    int rc = decoder_init(&d, r, index, err);
    if (rc) return rc;
    in = &d.info;
    if (in->numel == 0 || (in->scheme == ECQF_SCHEME_NONE && in->coding == ECQF_CODING_RAW)) {
        decoder_free(&d);
        return ECQF_OK;
    }
    if (in->coding == ECQF_CODING_RANS || in->coding == ECQF_CODING_PREFIX) {
        uint64_t cap = tile_capacity(in);
        uint8_t *tc = ecqf_alloc(d.a, (size_t)cap);
        int32_t *tint = has_escape(in) ? ecqf_alloc(d.a, (size_t)cap * sizeof(int32_t)) : NULL;
        if (!tc || (has_escape(in) && !tint)) rc = ecqf_set_error(err, ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
        for (uint64_t t = 0; t < in->tile_count && !rc; t++) rc = decode_tile(&d, t, tc, tint, err);
        ecqf_free(d.a, tc);
        ecqf_free(d.a, tint);
        decoder_free(&d);
        return rc;
    }
    /* RAW or ZSTD: stream in chunks of whole bytes holding whole codes. */
    {
        const unsigned width = in->code_width;
        const size_t chunk = (size_t)width * 4096u; /* 32768 codes per chunk (the codes buffer) */
        uint64_t bits = in->numel * width, total = bits / 8 + (bits % 8 != 0), done = 0, code_i = 0, esc = 0;
        uint8_t *buf = ecqf_alloc(d.a, chunk), *codes = in->scheme != ECQF_SCHEME_NONE ? ecqf_alloc(d.a, 8u * 4096u) : NULL;
        ZSTD_DCtx *z = in->coding == ECQF_CODING_ZSTD ? ZSTD_createDCtx() : NULL;
        ZSTD_inBuffer zin = {in->part[ECQF_PART_DATA], (size_t)in->part_size[ECQF_PART_DATA], 0};
        unsigned esc_code = has_escape(in) ? in->alphabet - 1 : 256;
        size_t last_ret = 1;
        if (!buf || (in->scheme != ECQF_SCHEME_NONE && !codes) || (in->coding == ECQF_CODING_ZSTD && !z))
            rc = ecqf_set_error(err, ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
        if (!rc && z) {
            unsigned long long declared = ZSTD_getFrameContentSize(zin.src, zin.size);
            if (declared != total || ZSTD_getDictID_fromFrame(zin.src, zin.size) != 0)
                rc = ecqf_set_error(err, ECQF_ERR_CORRUPT_STREAM, in->part_offset[ECQF_PART_DATA],
                                    "zstd frame of '%.*s' does not declare its size %llu [K-5]", (int)in->name_length, in->name, (unsigned long long)total);
        }
        while (!rc && done < total) {
            size_t n = total - done < chunk ? (size_t)(total - done) : chunk;
            const uint8_t *src;
            if (z) {
                ZSTD_outBuffer zo = {buf, n, 0};
                while (zo.pos < zo.size) {
                    size_t ret = ZSTD_decompressStream(z, &zo, &zin);
                    last_ret = ret;
                    if (ZSTD_isError(ret) || (ret == 0 && zo.pos < zo.size) || (zin.pos == zin.size && zo.pos < zo.size && ret != 0 && zo.pos == 0)) {
                        rc = ecqf_set_error(err, ECQF_ERR_CORRUPT_STREAM, in->part_offset[ECQF_PART_DATA], "zstd frame of '%.*s' is corrupt%s%s [K-5]",
                                            (int)in->name_length, in->name, ZSTD_isError(ret) ? ": " : " or short", ZSTD_isError(ret) ? ZSTD_getErrorName(ret) : "");
                        break;
                    }
                    if (zin.pos == zin.size && zo.pos < zo.size && ret != 0) {
                        /* no more input but output still wanted */
                        size_t before = zo.pos;
                        ret = ZSTD_decompressStream(z, &zo, &zin);
                        last_ret = ret;
                        if (ZSTD_isError(ret) || zo.pos == before) {
                            rc = ecqf_set_error(err, ECQF_ERR_CORRUPT_STREAM, in->part_offset[ECQF_PART_DATA], "zstd frame of '%.*s' is truncated [K-5]",
                                                (int)in->name_length, in->name);
                            break;
                        }
                    }
                }
                src = buf;
            } else
                src = in->part[ECQF_PART_DATA] + done;
            if (rc) break;
            if (codes) {
                uint64_t ncodes = (uint64_t)n * 8 / width;
                if (code_i + ncodes > in->numel) ncodes = in->numel - code_i;
                if (ecqf_raw_unpack(src, 0, ncodes, width, in->alphabet, codes)) {
                    rc = ecqf_set_error(err, ECQF_ERR_CORRUPT_STREAM, in->part_offset[ECQF_PART_DATA], "a code of '%.*s' is >= its alphabet %u [K-4]",
                                        (int)in->name_length, in->name, in->alphabet);
                    break;
                }
                for (uint64_t i = 0; i < ncodes; i++) esc += codes[i] == esc_code;
                code_i += ncodes;
                if (done + n == total && bits % 8 && (src[n - 1] >> (bits % 8)))
                    rc = ecqf_set_error(err, ECQF_ERR_NONZERO_PADDING, in->part_offset[ECQF_PART_DATA], "unused high bits of the last data byte of '%.*s' are not zero [K-3]",
                                        (int)in->name_length, in->name);
            }
            done += n;
        }
        if (!rc && z) {
            /* the frame must end exactly here, with no input left */
            uint8_t extra;
            ZSTD_outBuffer zo = {&extra, 1, 0};
            size_t ret = last_ret;
            if (ret != 0) ret = ZSTD_decompressStream(z, &zo, &zin);
            if (ZSTD_isError(ret) || ret != 0 || zo.pos != 0 || zin.pos != zin.size ||
                ZSTD_findFrameCompressedSize(zin.src, zin.size) != zin.size)
                rc = ecqf_set_error(err, ECQF_ERR_CORRUPT_STREAM, in->part_offset[ECQF_PART_DATA], "zstd data of '%.*s' is not exactly one frame of the declared size [K-5]",
                                    (int)in->name_length, in->name);
        }
        if (!rc && has_escape(in) && esc != in->escape_count)
            rc = ecqf_set_error(err, ECQF_ERR_BAD_ESCAPES, in->part_offset[ECQF_PART_ESCAPES], "'%.*s' has %llu escape codes but %llu escape values [E-2]",
                                (int)in->name_length, in->name, (unsigned long long)esc, (unsigned long long)in->escape_count);
        ZSTD_freeDCtx(z);
        ecqf_free(d.a, buf);
        ecqf_free(d.a, codes);
    }
    decoder_free(&d);
    return rc;
}

int ecqf_reader_verify_all(const ecqf_reader *r, ecqf_error *err) {
    size_t n = ecqf_reader_tensor_count(r);
    if (!r) FAIL(ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "NULL reader");
    for (size_t i = 0; i < n; i++) {
        int rc = ecqf_reader_verify_tensor(r, i, err);
        if (rc) return rc;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = verify_decode(r, i, err);
        if (rc) return rc;
    }
    return ECQF_OK;
}
