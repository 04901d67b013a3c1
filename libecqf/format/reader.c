/* reader.c — opening and validating an ECQF file (spec sections 2 to 9.4).
 *
 * Everything that can be checked without decoding the coded streams is checked here, before
 * any tensor is exposed: header, checksum of header+directory, every entry, the computed
 * layout of every blob and part, padding, tables, tile indexes and escape indexes. The reader
 * keeps only 4 bytes per tensor and per metadata entry (offsets into the directory), so its
 * allocations stay below the directory's own size plus a constant. */
#include <stdlib.h>

#include "layout.h"

#define FAIL(code, off, ...) return ecqf_set_error(err, (code), (off), __VA_ARGS__)

static const char *const part_names[5] = {"params", "table", "tile_index", "escapes", "data"};

unsigned ecqf_code_width(int scheme, unsigned bits, unsigned alphabet, int dtype) {
    unsigned w = 1;
    switch (scheme) {
    case ECQF_SCHEME_NONE: return (unsigned)ecqf_dtype_size(dtype) * 8u;
    case ECQF_SCHEME_AFFINE:
    case ECQF_SCHEME_SYMMETRIC: return bits;
    default:
        while ((1u << w) < alphabet) w++;
        return w;
    }
}

uint64_t ecqf_params_size(int scheme, uint64_t rows, uint64_t cols, unsigned group_size,
                          int param_dtype, unsigned ecsq_flags) {
    uint64_t n, s;
    switch (scheme) {
    case ECQF_SCHEME_AFFINE:
    case ECQF_SCHEME_SYMMETRIC:
        if (ecqf_mul_overflow(rows, cols / group_size, &n)) return UINT64_MAX;
        if (ecqf_mul_overflow(n, ecqf_dtype_size(param_dtype), &s)) return UINT64_MAX;
        if (scheme == ECQF_SCHEME_AFFINE && ecqf_mul_overflow(s, 2, &s)) return UINT64_MAX;
        return s;
    case ECQF_SCHEME_ECSQ:
        if (!(ecsq_flags & ECQF_ECSQ_PER_ROW)) return 4;
        if (ecqf_mul_overflow(rows, 4, &s)) return UINT64_MAX;
        return s;
    default: return 0;
    }
}

void ecqf_info_tiling(const ecqf_tensor_info *info, ecqf_tiling *t) {
    t->rows = info->rows;
    t->cols = info->cols;
    t->lanes = info->lanes;
    t->pack = info->pack;
    t->stripe_rows = info->stripe_rows;
    t->tile_rows = info->tile_rows;
    t->tile_cols = info->tile_cols;
}

static int all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* First nonzero byte in [from, to) of the file, or UINT64_MAX. */
static uint64_t nonzero_at(const uint8_t *file, uint64_t from, uint64_t to) {
    for (uint64_t i = from; i < to; i++)
        if (file[i]) return i;
    return UINT64_MAX;
}

int ecqf_check_table(const ecqf_tensor_info *info, ecqf_error *err) {
    const uint8_t *tb = info->part[ECQF_PART_TABLE];
    uint64_t off = info->part_offset[ECQF_PART_TABLE];
    unsigned A = info->pack == 2 ? 256u : info->alphabet, Q = info->alphabet;
    if (info->coding == ECQF_CODING_RANS) {
        uint64_t sum = 0;
        for (unsigned s = 0; s < A; s++) {
            uint16_t f = ecqf_rd16(tb + 2 * s);
            if (f && info->pack == 2 && ((s & 15u) >= Q || (s >> 4) >= Q))
                FAIL(ECQF_ERR_BAD_TABLE, off + 2 * s,
                     "rANS table: symbol %u packs a code >= alphabet %u but has frequency %u [R-3]", s,
                     Q, f);
            sum += f;
        }
        if (sum != (1ull << info->precision))
            FAIL(ECQF_ERR_BAD_TABLE, off, "rANS frequencies sum to %llu, not 2^%u [R-2]",
                 (unsigned long long)sum, info->precision);
    } else if (info->coding == ECQF_CODING_PREFIX) {
        uint64_t kraft = 0; /* in units of 2^-max_length */
        unsigned used = 0, last_len = 0;
        for (unsigned s = 0; s < A; s++) {
            unsigned len = tb[s];
            if (!len) continue;
            if (len > info->max_length)
                FAIL(ECQF_ERR_BAD_TABLE, off + s, "prefix code length %u of symbol %u exceeds max_length %u [P-2]",
                     len, s, info->max_length);
            if (info->pack == 2 && ((s & 15u) >= Q || (s >> 4) >= Q))
                FAIL(ECQF_ERR_BAD_TABLE, off + s,
                     "prefix table: symbol %u packs a code >= alphabet %u but is used [P-3]", s, Q);
            kraft += 1ull << (info->max_length - len);
            used++;
            last_len = len;
        }
        if (used == 0) FAIL(ECQF_ERR_BAD_TABLE, off, "prefix table uses no symbol [P-4]");
        if (!(used == 1 && last_len == 1) && kraft != (1ull << info->max_length))
            FAIL(ECQF_ERR_BAD_TABLE, off, "prefix code is not complete (Kraft sum %llu/%llu) [P-4]",
                 (unsigned long long)kraft, (unsigned long long)(1ull << info->max_length));
    }
    return ECQF_OK;
}

static int valid_group(unsigned g) { return g == 16 || g == 32 || g == 64 || g == 128 || g == 256; }

int ecqf_parse_tensor_entry(const uint8_t *file, uint64_t blob_limit, uint64_t pos,
                            uint64_t dir_end, uint64_t expected_blob_offset, int deep,
                            ecqf_tensor_info *info, uint64_t *entry_end, ecqf_error *err) {
    const uint8_t *p;
    uint64_t need, end, numel = 1;
    unsigned name_len;
    memset(info, 0, sizeof *info);
    if (dir_end - pos < 8) FAIL(ECQF_ERR_BAD_DIRECTORY, pos, "tensor entry at %llu runs past the directory end [D-2]", (unsigned long long)pos);
    p = file + pos;
    name_len = ecqf_rd16(p);
    info->ndim = p[2];
    info->scheme = p[3];
    info->coding = p[4];
    info->dtype = p[5];
    if (name_len == 0 || name_len > ECQF_MAX_NAME_LENGTH)
        FAIL(ECQF_ERR_LIMIT, pos, "tensor name length %u is outside 1..%u [T-1]", name_len, ECQF_MAX_NAME_LENGTH);
    if (info->ndim > ECQF_MAX_DIMS)
        FAIL(ECQF_ERR_LIMIT, pos + 2, "tensor has %u dimensions, more than %u [T-2]", info->ndim, ECQF_MAX_DIMS);
    if (info->scheme > ECQF_SCHEME_ECSQ)
        FAIL(ECQF_ERR_BAD_SCHEME, pos + 3, "unknown scheme %d [T-3]", info->scheme);
    if (info->coding > ECQF_CODING_ZSTD)
        FAIL(ECQF_ERR_BAD_CODING, pos + 4, "unknown coding %d [T-4]", info->coding);
    if (info->dtype > ECQF_DTYPE_BF16) FAIL(ECQF_ERR_BAD_DTYPE, pos + 5, "unknown dtype %d [T-5]", info->dtype);
    if (ecqf_rd16(p + 6)) FAIL(ECQF_ERR_RESERVED_NONZERO, pos + 6, "tensor entry reserved field is not zero [T-6]");
    need = 8 + (uint64_t)name_len + 8ull * info->ndim + 16 + 16 + 8 + 40 + 32;
    if (dir_end - pos < need)
        FAIL(ECQF_ERR_BAD_DIRECTORY, pos, "tensor entry at %llu runs past the directory end [D-2]", (unsigned long long)pos);
    end = pos + need;
    info->name = (const char *)(p + 8);
    info->name_length = name_len;
    if (!ecqf_utf8_valid(p + 8, name_len))
        FAIL(ECQF_ERR_BAD_UTF8, pos + 8, "tensor name at %llu is not valid UTF-8 [T-7]", (unsigned long long)(pos + 8));
    for (unsigned k = 0; k < name_len; k++)
        if (p[8 + k] < 0x20 || p[8 + k] == 0x7F)
            FAIL(ECQF_ERR_BAD_UTF8, pos + 8 + k, "tensor name at %llu contains a control character [T-7]", (unsigned long long)(pos + 8));
    p += 8 + name_len;
    /* [T-8]: numel <= 2^48; rows (all dims but the last) must fit 64 bits even when a
     * dimension is 0 and numel is therefore 0. */
    {
        int any_zero = 0;
        uint64_t r = 1;
        for (unsigned d = 0; d < info->ndim; d++) {
            info->dims[d] = ecqf_rd64(p + 8 * d);
            any_zero |= info->dims[d] == 0;
            if (d + 1 < info->ndim && ecqf_mul_overflow(r, info->dims[d], &r))
                FAIL(ECQF_ERR_LIMIT, (uint64_t)(p - file) + 8 * d, "tensor '%.*s' row count overflows 64 bits [T-8]",
                     (int)name_len, info->name);
        }
        if (any_zero) numel = 0;
        else
            for (unsigned d = 0; d < info->ndim; d++)
                if (ecqf_mul_overflow(numel, info->dims[d], &numel) || numel > ECQF_MAX_NUMEL)
                    FAIL(ECQF_ERR_LIMIT, (uint64_t)(p - file) + 8 * d, "tensor '%.*s' has more than 2^48 elements [T-8]",
                         (int)name_len, info->name);
        info->numel = numel;
        info->cols = info->ndim ? info->dims[info->ndim - 1] : 1;
        info->rows = info->ndim ? r : 1;
    }
    p += 8ull * info->ndim;

    /* scheme parameters (section 7) */
    {
        const uint8_t *sp = p;
        uint64_t spo = (uint64_t)(sp - file);
        switch (info->scheme) {
        case ECQF_SCHEME_NONE:
            if (!all_zero(sp, 16)) FAIL(ECQF_ERR_RESERVED_NONZERO, spo, "scheme parameters of a NONE tensor are not zero [S-1]");
            if (info->coding != ECQF_CODING_RAW && info->coding != ECQF_CODING_ZSTD)
                FAIL(ECQF_ERR_BAD_SCHEME, pos + 4, "scheme NONE allows only RAW and ZSTD codings [S-3]");
            break;
        case ECQF_SCHEME_AFFINE:
        case ECQF_SCHEME_SYMMETRIC:
            info->bits = sp[0];
            info->param_dtype = sp[1];
            info->group_size = ecqf_rd16(sp + 2);
            if (!all_zero(sp + 4, 12)) FAIL(ECQF_ERR_RESERVED_NONZERO, spo + 4, "unused scheme parameter bytes are not zero [S-1]");
            {
                const char *tag = info->scheme == ECQF_SCHEME_AFFINE ? "S-4" : "S-6";
                if (info->bits < 2 || info->bits > 8) FAIL(ECQF_ERR_BAD_SCHEME, spo, "bits %u outside 2..8 [%s]", info->bits, tag);
                if (info->param_dtype > ECQF_DTYPE_BF16) FAIL(ECQF_ERR_BAD_SCHEME, spo + 1, "unknown parameter dtype %d [%s]", info->param_dtype, tag);
                if (!valid_group(info->group_size)) FAIL(ECQF_ERR_BAD_SCHEME, spo + 2, "group size %u is not 16, 32, 64, 128 or 256 [%s]", info->group_size, tag);
            }
            if (info->cols % info->group_size)
                FAIL(ECQF_ERR_BAD_SCHEME, spo + 2, "last dimension %llu is not a multiple of the group size %u [S-5]",
                     (unsigned long long)info->cols, info->group_size);
            info->alphabet = 1u << info->bits;
            break;
        case ECQF_SCHEME_ECSQ:
            info->alphabet = ecqf_rd16(sp);
            info->zero_code = ecqf_rd16(sp + 2);
            info->ecsq_flags = sp[4];
            if (!all_zero(sp + 5, 11)) FAIL(ECQF_ERR_RESERVED_NONZERO, spo + 5, "unused scheme parameter bytes are not zero [S-1]");
            if (info->alphabet == 0) FAIL(ECQF_ERR_BAD_SCHEME, spo, "ECSQ alphabet is 0 [S-7]");
            if (info->alphabet > ECQF_MAX_ALPHABET) FAIL(ECQF_ERR_LIMIT, spo, "ECSQ alphabet %u exceeds 256 [S-7]", info->alphabet);
            if (info->ecsq_flags & ~3u) FAIL(ECQF_ERR_BAD_SCHEME, spo + 4, "unknown ECSQ flag bits 0x%x [S-7]", info->ecsq_flags);
            if (info->zero_code >= info->alphabet) FAIL(ECQF_ERR_BAD_SCHEME, spo + 2, "ECSQ zero code %u is not below the alphabet %u [S-7]", info->zero_code, info->alphabet);
            if ((info->ecsq_flags & ECQF_ECSQ_HAS_ESCAPE) && (info->alphabet < 2 || info->zero_code >= info->alphabet - 1))
                FAIL(ECQF_ERR_BAD_SCHEME, spo, "ECSQ escape code collides with the zero code [S-7]");
            break;
        }
        info->code_width = ecqf_code_width(info->scheme, info->bits, info->alphabet, info->dtype);
        p += 16;
    }

    /* coding parameters (section 8) */
    {
        const uint8_t *cp = p;
        uint64_t cpo = (uint64_t)(cp - file);
        if (info->coding == ECQF_CODING_RAW || info->coding == ECQF_CODING_ZSTD) {
            if (!all_zero(cp, 16)) FAIL(ECQF_ERR_RESERVED_NONZERO, cpo, "coding parameters of a %s tensor are not zero [K-1]", ecqf_coding_name(info->coding));
            info->tile_count = 1;
        } else {
            uint64_t tr, tc, t;
            if (info->coding == ECQF_CODING_RANS) {
                info->precision = cp[0];
                if (info->precision < ECQF_MIN_PRECISION || info->precision > ECQF_MAX_PRECISION)
                    FAIL(ECQF_ERR_BAD_CODING, cpo, "rANS precision %u outside 10..15 [K-6]", info->precision);
            } else {
                info->max_length = cp[0];
                if (info->max_length < 1 || info->max_length > ECQF_MAX_PREFIX_LENGTH)
                    FAIL(ECQF_ERR_BAD_CODING, cpo, "prefix max_length %u outside 1..12 [K-6]", info->max_length);
            }
            info->lanes = cp[1];
            info->pack = cp[2];
            info->stripe_rows = cp[3];
            info->tile_rows = ecqf_rd32(cp + 4);
            info->tile_cols = ecqf_rd32(cp + 8);
            if (ecqf_rd32(cp + 12)) FAIL(ECQF_ERR_RESERVED_NONZERO, cpo + 12, "coding parameter reserved field is not zero [K-1]");
            if (!ecqf_is_pow2(info->lanes) || info->lanes > ECQF_MAX_LANES)
                FAIL(ECQF_ERR_BAD_CODING, cpo + 1, "lane count %u is not a power of two in 1..64 [K-7]", info->lanes);
            if (info->pack != 1 && info->pack != 2) FAIL(ECQF_ERR_BAD_CODING, cpo + 2, "pack %u is not 1 or 2 [K-8]", info->pack);
            if (info->pack == 2 && info->alphabet > 16)
                FAIL(ECQF_ERR_BAD_CODING, cpo + 2, "pack 2 needs an alphabet of at most 16, not %u [K-8]", info->alphabet);
            if (info->stripe_rows == 0) FAIL(ECQF_ERR_BAD_CODING, cpo + 3, "stripe_rows is 0 [K-9]");
            if (info->tile_rows == 0 || info->tile_cols == 0) FAIL(ECQF_ERR_BAD_CODING, cpo + 4, "tile dimensions must be at least 1 [K-10]");
            if ((uint64_t)info->tile_rows * info->tile_cols > ECQF_MAX_TILE_ELEMENTS)
                FAIL(ECQF_ERR_LIMIT, cpo + 4, "tile of %u x %u exceeds 2^20 elements [K-10]", info->tile_rows, info->tile_cols);
            tr = (info->rows + info->tile_rows - 1) / info->tile_rows;
            tc = (info->cols + info->tile_cols - 1) / info->tile_cols;
            if (ecqf_mul_overflow(tr, tc, &t) || t > UINT32_MAX - 1)
                FAIL(ECQF_ERR_LIMIT, cpo + 4, "tensor '%.*s' would have more than 2^32-1 tiles [G-1]", (int)name_len, info->name);
            info->tile_count = t;
        }
        if (info->numel == 0 && info->coding != ECQF_CODING_RAW)
            FAIL(ECQF_ERR_BAD_CODING, pos + 4, "an empty tensor must use RAW coding [K-2]");
        p += 16;
    }

    info->blob_offset = ecqf_rd64(p);
    for (int k = 0; k < 5; k++) info->part_size[k] = ecqf_rd64(p + 8 + 8 * k);
    info->blob_checksum = p + 48;
    if (entry_end) *entry_end = end;
    if (expected_blob_offset != UINT64_MAX && info->blob_offset != expected_blob_offset)
        FAIL(ECQF_ERR_BAD_LAYOUT, (uint64_t)(p - file), "tensor '%.*s' blob offset %llu differs from the computed %llu [T-9]",
             (int)name_len, info->name, (unsigned long long)info->blob_offset, (unsigned long long)expected_blob_offset);

    /* expected part sizes [B-2] */
    {
        uint64_t psz = ecqf_params_size(info->scheme, info->rows, info->cols, info->group_size,
                                        info->param_dtype, info->ecsq_flags);
        uint64_t want[5] = {psz, 0, 0, UINT64_MAX, UINT64_MAX};
        uint64_t field = (uint64_t)(p - file) + 8;
        unsigned A = info->pack == 2 ? 256u : info->alphabet;
        int tiled = info->coding == ECQF_CODING_RANS || info->coding == ECQF_CODING_PREFIX;
        if (psz == UINT64_MAX) FAIL(ECQF_ERR_LIMIT, field, "params size overflows");
        if (info->coding == ECQF_CODING_RANS) want[1] = 2ull * A;
        if (info->coding == ECQF_CODING_PREFIX) want[1] = A;
        if (tiled) want[2] = 8ull * (info->tile_count + 1);
        if (!(info->scheme == ECQF_SCHEME_ECSQ && (info->ecsq_flags & ECQF_ECSQ_HAS_ESCAPE)) || info->numel == 0) want[3] = 0;
        if (info->numel == 0) want[4] = 0;
        else if (info->coding == ECQF_CODING_RAW) {
            uint64_t bits;
            if (ecqf_mul_overflow(info->numel, info->code_width, &bits)) FAIL(ECQF_ERR_LIMIT, field, "data size overflows");
            want[4] = bits / 8 + (bits % 8 != 0);
        }
        for (int k = 0; k < 5; k++)
            if (want[k] != UINT64_MAX && info->part_size[k] != want[k])
                FAIL(ECQF_ERR_BAD_LAYOUT, field + 8 * k, "tensor '%.*s' %s part is %llu bytes, expected %llu [B-2]",
                     (int)name_len, info->name, part_names[k], (unsigned long long)info->part_size[k],
                     (unsigned long long)want[k]);
    }

    /* blob layout [B-1] */
    {
        uint64_t off = 0, end_off = 0;
        for (int k = 0; k < 5; k++) {
            uint64_t start, e;
            if (info->part_size[k] == 0) { info->part_offset[k] = info->blob_offset + end_off; continue; }
            if (ecqf_align_up(end_off, ECQF_PART_ALIGN, &start) || ecqf_add_overflow(start, info->part_size[k], &e))
                FAIL(ECQF_ERR_LIMIT, (uint64_t)(p - file), "blob size overflows");
            info->part_offset[k] = start; /* blob-relative for now */
            off = start;
            end_off = e;
        }
        (void)off;
        info->blob_size = end_off;
        if (ecqf_add_overflow(info->blob_offset, info->blob_size, &off) || off > blob_limit)
            FAIL(ECQF_ERR_BAD_LAYOUT, (uint64_t)(p - file), "tensor '%.*s' blob [%llu, +%llu) extends past its section [L-1]",
                 (int)name_len, info->name, (unsigned long long)info->blob_offset, (unsigned long long)info->blob_size);
        info->blob = file + info->blob_offset;
        for (int k = 0; k < 5; k++) {
            if (info->part_size[k]) {
                info->part_offset[k] += info->blob_offset;
                info->part[k] = file + info->part_offset[k];
            } else {
                info->part_offset[k] = info->blob_offset + (k ? 0 : 0);
                info->part[k] = NULL;
            }
        }
    }
    if (info->part_size[ECQF_PART_ESCAPES] >= 4 * (info->tile_count + 1))
        info->escape_count = ecqf_rd32(info->part[ECQF_PART_ESCAPES] + 4 * info->tile_count);
    if (!deep) return ECQF_OK;

    /* padding between parts must be zero [B-1] */
    {
        uint64_t prev = info->blob_offset;
        for (int k = 0; k < 5; k++) {
            if (!info->part_size[k]) continue;
            uint64_t bad = nonzero_at(file, prev, info->part_offset[k]);
            if (bad != UINT64_MAX)
                FAIL(ECQF_ERR_NONZERO_PADDING, bad, "nonzero padding byte at %llu before the %s part of '%.*s' [B-1]",
                     (unsigned long long)bad, part_names[k], (int)name_len, info->name);
            prev = info->part_offset[k] + info->part_size[k];
        }
    }

    /* parameters [S-8] [S-9]: finite (and steps >= 0), so values are reproducible */
    if (info->scheme != ECQF_SCHEME_NONE && info->part_size[ECQF_PART_PARAMS]) {
        const uint8_t *pp = info->part[ECQF_PART_PARAMS];
        int pd = info->scheme == ECQF_SCHEME_ECSQ ? ECQF_DTYPE_F32 : info->param_dtype;
        size_t es = ecqf_dtype_size(pd);
        uint64_t n = info->part_size[ECQF_PART_PARAMS] / es;
        for (uint64_t i = 0; i < n; i++) {
            uint32_t bitsv;
            if (es == 4) bitsv = ecqf_rd32(pp + 4 * i);
            else if (pd == ECQF_DTYPE_BF16) bitsv = (uint32_t)ecqf_rd16(pp + 2 * i) << 16;
            else {
                uint16_t h = ecqf_rd16(pp + 2 * i);
                bitsv = ((h & 0x7C00u) == 0x7C00u) ? 0x7F800000u : 0; /* f16 inf/nan -> nonfinite marker */
            }
            int nonfinite = (bitsv & 0x7F800000u) == 0x7F800000u;
            int negative = info->scheme == ECQF_SCHEME_ECSQ && (bitsv >> 31) && (bitsv & 0x7FFFFFFFu);
            if (nonfinite || negative)
                FAIL(ECQF_ERR_BAD_SCHEME, info->part_offset[ECQF_PART_PARAMS] + es * i,
                     "parameter %llu of '%.*s' is %s [%s]", (unsigned long long)i, (int)name_len, info->name,
                     nonfinite ? "not finite" : "a negative step", info->scheme == ECQF_SCHEME_ECSQ ? "S-8" : "S-9");
        }
    }

    /* tables [R-*] [P-*] */
    if (info->coding == ECQF_CODING_RANS || info->coding == ECQF_CODING_PREFIX) {
        int rc = ecqf_check_table(info, err);
        if (rc) return rc;
        /* tile index [G-3] */
        const uint8_t *ti = info->part[ECQF_PART_TILE_INDEX];
        uint64_t tio = info->part_offset[ECQF_PART_TILE_INDEX], prev = 0;
        uint64_t min_tile = info->coding == ECQF_CODING_RANS ? 4ull * info->lanes : 0;
        if (ecqf_rd64(ti) != 0) FAIL(ECQF_ERR_BAD_TILE_INDEX, tio, "tile index of '%.*s' does not start at 0 [G-3]", (int)name_len, info->name);
        for (uint64_t t = 1; t <= info->tile_count; t++) {
            uint64_t v = ecqf_rd64(ti + 8 * t);
            if (v < prev || v - prev < min_tile || (v - prev) % 4)
                FAIL(ECQF_ERR_BAD_TILE_INDEX, tio + 8 * t, "tile %llu of '%.*s' has an invalid size [G-3]",
                     (unsigned long long)(t - 1), (int)name_len, info->name);
            prev = v;
        }
        if (prev != info->part_size[ECQF_PART_DATA])
            FAIL(ECQF_ERR_BAD_TILE_INDEX, tio + 8 * info->tile_count, "tile index of '%.*s' ends at %llu, data part is %llu bytes [G-3]",
                 (int)name_len, info->name, (unsigned long long)prev, (unsigned long long)info->part_size[ECQF_PART_DATA]);
    }

    /* escapes [E-1] [E-3] */
    if (info->part_size[ECQF_PART_ESCAPES] || (info->scheme == ECQF_SCHEME_ECSQ && (info->ecsq_flags & ECQF_ECSQ_HAS_ESCAPE) && info->numel)) {
        const uint8_t *es = info->part[ECQF_PART_ESCAPES];
        uint64_t eo = info->part_offset[ECQF_PART_ESCAPES], T = info->tile_count, prev = 0, head, count, sz;
        int64_t lo = -(int64_t)info->zero_code, hi = (int64_t)info->alphabet - 2 - (int64_t)info->zero_code;
        head = 4 * (T + 1);
        sz = info->part_size[ECQF_PART_ESCAPES];
        if (sz < head) FAIL(ECQF_ERR_BAD_ESCAPES, eo, "escape part of '%.*s' is shorter than its index [E-1]", (int)name_len, info->name);
        if (ecqf_rd32(es) != 0) FAIL(ECQF_ERR_BAD_ESCAPES, eo, "escape index of '%.*s' does not start at 0 [E-1]", (int)name_len, info->name);
        for (uint64_t t = 1; t <= T; t++) {
            uint64_t v = ecqf_rd32(es + 4 * t);
            if (v < prev) FAIL(ECQF_ERR_BAD_ESCAPES, eo + 4 * t, "escape index of '%.*s' decreases [E-1]", (int)name_len, info->name);
            prev = v;
        }
        count = prev;
        if (sz - head != 4 * count)
            FAIL(ECQF_ERR_BAD_ESCAPES, eo, "escape part of '%.*s' holds %llu bytes of values for %llu escapes [E-1]",
                 (int)name_len, info->name, (unsigned long long)(sz - head), (unsigned long long)count);
        if (count > info->numel) FAIL(ECQF_ERR_BAD_ESCAPES, eo, "more escapes than elements [E-2]");
        for (uint64_t i = 0; i < count; i++) {
            int32_t k = (int32_t)ecqf_rd32(es + head + 4 * i);
            if ((k >= lo && k <= hi) || k <= -(1 << 24) || k >= (1 << 24))
                FAIL(ECQF_ERR_BAD_ESCAPES, eo + head + 4 * i, "escape value %d of '%.*s' is representable without escape or too large [E-3]",
                     (int)k, (int)name_len, info->name);
        }
        info->escape_count = count;
    }
    return ECQF_OK;
}

/* ---- opening ------------------------------------------------------------------------- */

static int name_cmp(const ecqf_reader *r, uint32_t a, uint32_t b) {
    const uint8_t *d = r->data + r->file.directory_offset;
    const uint8_t *pa = d + r->tensor_entry[a], *pb = d + r->tensor_entry[b];
    size_t la = ecqf_rd16(pa), lb = ecqf_rd16(pb);
    int c = memcmp(pa + 8, pb + 8, la < lb ? la : lb);
    if (c) return c;
    return la < lb ? -1 : la > lb;
}

/* Heapsort: in place (no allocation) and with a context, which qsort lacks. */
static void sift(const ecqf_reader *r, uint32_t *v, size_t i, size_t n) {
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && name_cmp(r, v[c], v[c + 1]) < 0) c++;
        if (name_cmp(r, v[i], v[c]) >= 0) return;
        uint32_t t = v[i]; v[i] = v[c]; v[c] = t;
        i = c;
    }
}
static void sort_names(const ecqf_reader *r, uint32_t *v, size_t n) {
    for (size_t i = n / 2; i-- > 0;) sift(r, v, i, n);
    for (size_t e = n; e-- > 1;) {
        uint32_t t = v[0]; v[0] = v[e]; v[e] = t;
        sift(r, v, 0, e);
    }
}

static int parse_metadata(const uint8_t *file, uint64_t pos, uint64_t dir_end, ecqf_metadata *m,
                          uint64_t *next, ecqf_error *err) {
    uint64_t klen, vlen = 0;
    memset(m, 0, sizeof *m);
    if (dir_end - pos < 3) FAIL(ECQF_ERR_BAD_DIRECTORY, pos, "metadata entry at %llu runs past the directory end [D-2]", (unsigned long long)pos);
    klen = ecqf_rd16(file + pos);
    if (klen == 0 || klen > ECQF_MAX_KEY_LENGTH) FAIL(ECQF_ERR_LIMIT, pos, "metadata key length %llu outside 1..256 [M-1]", (unsigned long long)klen);
    if (dir_end - pos - 2 < klen + 1) FAIL(ECQF_ERR_BAD_DIRECTORY, pos, "metadata entry at %llu runs past the directory end [D-2]", (unsigned long long)pos);
    m->key = (const char *)(file + pos + 2);
    m->key_length = (size_t)klen;
    if (!ecqf_utf8_valid(file + pos + 2, (size_t)klen)) FAIL(ECQF_ERR_BAD_UTF8, pos + 2, "metadata key at %llu is not valid UTF-8 [M-2]", (unsigned long long)(pos + 2));
    pos += 2 + klen;
    m->type = file[pos];
    pos += 1;
    switch (m->type) {
    case ECQF_META_U64: case ECQF_META_I64: case ECQF_META_F64: vlen = 8; break;
    case ECQF_META_BOOL: vlen = 1; break;
    case ECQF_META_STRING: case ECQF_META_BYTES:
        if (dir_end - pos < 4) FAIL(ECQF_ERR_BAD_DIRECTORY, pos, "metadata value at %llu runs past the directory end [D-2]", (unsigned long long)pos);
        m->length = ecqf_rd32(file + pos);
        if (m->length > ECQF_MAX_META_VALUE_SIZE) FAIL(ECQF_ERR_LIMIT, pos, "metadata value of %zu bytes exceeds 16 MiB [M-7]", m->length);
        pos += 4;
        vlen = m->length;
        break;
    default: FAIL(ECQF_ERR_BAD_DIRECTORY, pos - 1, "unknown metadata type %d [M-3]", m->type);
    }
    if (dir_end - pos < vlen) FAIL(ECQF_ERR_BAD_DIRECTORY, pos, "metadata value at %llu runs past the directory end [D-2]", (unsigned long long)pos);
    switch (m->type) {
    case ECQF_META_U64: m->u64 = ecqf_rd64(file + pos); break;
    case ECQF_META_I64: m->u64 = ecqf_rd64(file + pos); memcpy(&m->i64, &m->u64, 8); break;
    case ECQF_META_F64: m->u64 = ecqf_rd64(file + pos); memcpy(&m->f64, &m->u64, 8); break;
    case ECQF_META_BOOL:
        m->u64 = file[pos];
        if (m->u64 > 1) FAIL(ECQF_ERR_BAD_DIRECTORY, pos, "boolean metadata value %u is not 0 or 1 [M-5]", (unsigned)m->u64);
        break;
    case ECQF_META_STRING:
        if (!ecqf_utf8_valid(file + pos, m->length)) FAIL(ECQF_ERR_BAD_UTF8, pos, "metadata string at %llu is not valid UTF-8 [M-2]", (unsigned long long)pos);
        /* fall through */
    default: m->bytes = file + pos; break;
    }
    *next = pos + vlen;
    return ECQF_OK;
}

static int parse_file(ecqf_reader *r, unsigned flags, ecqf_error *err) {
    const uint8_t *f = r->data;
    uint64_t size = r->size, dir_off, dir_size, file_size, dir_end, pos, prev_end, expect_dir;
    uint32_t align, ntensors, nmeta;
    ecqf_file_info *fi = &r->file;
    const ecqf_allocator *a = ecqf_reader_allocator(r);

    if (size < 8) {
        if (size == 0 || memcmp(f, ecqf_magic, (size_t)size) == 0)
            FAIL(ECQF_ERR_TRUNCATED, size, "file of %llu bytes is shorter than the 96-byte header [H-1]", (unsigned long long)size);
        FAIL(ECQF_ERR_BAD_MAGIC, 0, "not an ECQF file (bad magic) [H-1]");
    }
    if (memcmp(f, ecqf_magic, 8) != 0) FAIL(ECQF_ERR_BAD_MAGIC, 0, "not an ECQF file (bad magic; text-mode transfer?) [H-1]");
    if (size < ECQF_HEADER_SIZE) FAIL(ECQF_ERR_TRUNCATED, size, "file of %llu bytes is shorter than the 96-byte header [H-1]", (unsigned long long)size);
    fi->version_major = ecqf_rd16(f + HDR_MAJOR);
    fi->version_minor = ecqf_rd16(f + HDR_MINOR);
    if (fi->version_major != ECQF_FORMAT_VERSION_MAJOR)
        FAIL(ECQF_ERR_UNSUPPORTED_VERSION, HDR_MAJOR, "major version %u is not supported (this reader implements %u) [H-2]",
             fi->version_major, ECQF_FORMAT_VERSION_MAJOR);
    if (ecqf_rd32(f + HDR_SIZE) != ECQF_HEADER_SIZE) FAIL(ECQF_ERR_BAD_HEADER, HDR_SIZE, "header_size is %u, not 96 [H-4]", ecqf_rd32(f + HDR_SIZE));
    fi->required_features = ecqf_rd64(f + HDR_REQUIRED);
    fi->optional_features = ecqf_rd64(f + HDR_OPTIONAL);
    if (fi->required_features)
        FAIL(ECQF_ERR_UNSUPPORTED_FEATURE, HDR_REQUIRED, "file requires unknown features 0x%llx [F-1]", (unsigned long long)fi->required_features);
    file_size = ecqf_rd64(f + HDR_FILE_SIZE);
    if (file_size > size) FAIL(ECQF_ERR_TRUNCATED, size, "file is %llu bytes but declares %llu [H-7]", (unsigned long long)size, (unsigned long long)file_size);
    if (file_size < size) FAIL(ECQF_ERR_TRAILING_DATA, file_size, "%llu bytes follow the declared end at %llu [H-7]",
                               (unsigned long long)(size - file_size), (unsigned long long)file_size);
    align = ecqf_rd32(f + HDR_ALIGNMENT);
    if (!ecqf_is_pow2(align) || align < ECQF_MIN_ALIGNMENT || align > ECQF_MAX_ALIGNMENT)
        FAIL(ECQF_ERR_BAD_HEADER, HDR_ALIGNMENT, "alignment %u is not a power of two in 64..65536 [H-10]", align);
    if (ecqf_rd32(f + HDR_RESERVED)) FAIL(ECQF_ERR_RESERVED_NONZERO, HDR_RESERVED, "header reserved field is not zero [H-11]");
    dir_off = ecqf_rd64(f + HDR_DIR_OFFSET);
    dir_size = ecqf_rd64(f + HDR_DIR_SIZE);
    if (dir_off < ECQF_HEADER_SIZE || dir_off > file_size || dir_size != file_size - dir_off)
        FAIL(ECQF_ERR_BAD_LAYOUT, HDR_DIR_OFFSET, "directory [%llu, +%llu) does not end at the file end %llu [H-8]",
             (unsigned long long)dir_off, (unsigned long long)dir_size, (unsigned long long)file_size);
    if (dir_size > ECQF_MAX_DIRECTORY_SIZE) FAIL(ECQF_ERR_LIMIT, HDR_DIR_SIZE, "directory of %llu bytes exceeds 256 MiB [D-3]", (unsigned long long)dir_size);
    fi->file_size = file_size;
    fi->directory_offset = dir_off;
    fi->directory_size = dir_size;
    fi->alignment = align;

    if (!(flags & ECQF_OPEN_SKIP_HEADER_CHECKSUM)) {
        uint8_t sum[32];
        {
            /* BLAKE2b over header[0,64) || directory, without copying */
            int rc = ecqf_blake2b_256_2(f, HDR_CHECKSUM, f + dir_off, (size_t)dir_size, sum);
            if (rc) return ecqf_set_error(err, rc, ECQF_NO_OFFSET, "checksum unavailable");
        }
        if (memcmp(sum, f + HDR_CHECKSUM, 32) != 0)
            FAIL(ECQF_ERR_HEADER_CHECKSUM, HDR_CHECKSUM, "header/directory checksum mismatch [H-12]");
    }

    if (dir_size < 16) FAIL(ECQF_ERR_BAD_DIRECTORY, dir_off, "directory of %llu bytes is shorter than its 16-byte head [D-2]", (unsigned long long)dir_size);
    nmeta = ecqf_rd32(f + dir_off);
    ntensors = ecqf_rd32(f + dir_off + 4);
    if (ecqf_rd64(f + dir_off + 8)) FAIL(ECQF_ERR_RESERVED_NONZERO, dir_off + 8, "directory reserved field is not zero [D-1]");
    if (nmeta > ECQF_MAX_METADATA) FAIL(ECQF_ERR_LIMIT, dir_off, "%u metadata entries exceed 65536 [D-3]", nmeta);
    if (ntensors > ECQF_MAX_TENSORS) FAIL(ECQF_ERR_LIMIT, dir_off + 4, "%u tensors exceed 1048576 [D-3]", ntensors);
    if ((uint64_t)nmeta * ECQF_META_ENTRY_MIN + (uint64_t)ntensors * ECQF_TENSOR_ENTRY_MIN > dir_size - 16)
        FAIL(ECQF_ERR_BAD_DIRECTORY, dir_off, "directory of %llu bytes cannot hold %u metadata entries and %u tensors [D-2]",
             (unsigned long long)dir_size, nmeta, ntensors);
    fi->metadata_count = nmeta;
    fi->tensor_count = ntensors;
    r->meta_entry = ecqf_calloc(a, nmeta ? nmeta : 1, 4);
    r->tensor_entry = ecqf_calloc(a, ntensors ? ntensors : 1, 4);
    r->name_order = ecqf_calloc(a, ntensors ? ntensors : 1, 4);
    if (!r->meta_entry || !r->tensor_entry || !r->name_order) FAIL(ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");

    dir_end = file_size;
    pos = dir_off + 16;
    {
        const char *prev_key = NULL;
        size_t prev_len = 0;
        for (uint32_t i = 0; i < nmeta; i++) {
            ecqf_metadata m;
            uint64_t next;
            int rc = parse_metadata(f, pos, dir_end, &m, &next, err);
            if (rc) return rc;
            if (prev_key) {
                int c = memcmp(prev_key, m.key, prev_len < m.key_length ? prev_len : m.key_length);
                if (c == 0 && prev_len == m.key_length) FAIL(ECQF_ERR_DUPLICATE_NAME, pos + 2, "duplicate metadata key '%.*s' [M-6]", (int)m.key_length, m.key);
                if (c > 0 || (c == 0 && prev_len > m.key_length))
                    FAIL(ECQF_ERR_BAD_DIRECTORY, pos + 2, "metadata key '%.*s' is out of order [M-6]", (int)m.key_length, m.key);
            }
            prev_key = m.key;
            prev_len = m.key_length;
            r->meta_entry[i] = (uint32_t)(pos - dir_off);
            pos = next;
        }
    }
    prev_end = ECQF_HEADER_SIZE;
    for (uint32_t i = 0; i < ntensors; i++) {
        ecqf_tensor_info info;
        uint64_t next, blob_off, bad;
        int rc;
        if (ecqf_align_up(prev_end, align, &blob_off)) FAIL(ECQF_ERR_LIMIT, pos, "offset overflow");
        rc = ecqf_parse_tensor_entry(f, dir_off, pos, dir_end, blob_off, 1, &info, &next, err);
        if (rc) return rc;
        bad = nonzero_at(f, prev_end, blob_off);
        if (bad != UINT64_MAX) FAIL(ECQF_ERR_NONZERO_PADDING, bad, "nonzero padding byte at %llu before the blob of '%.*s' [L-2]",
                                    (unsigned long long)bad, (int)info.name_length, info.name);
        r->tensor_entry[i] = (uint32_t)(pos - dir_off);
        r->name_order[i] = i;
        prev_end = blob_off + info.blob_size;
        pos = next;
    }
    if (pos != dir_end) FAIL(ECQF_ERR_BAD_DIRECTORY, pos, "%llu unused bytes at the end of the directory [D-2]", (unsigned long long)(dir_end - pos));
    if (ecqf_align_up(prev_end, ECQF_DIR_ALIGN, &expect_dir)) FAIL(ECQF_ERR_LIMIT, prev_end, "offset overflow");
    if (expect_dir != dir_off)
        FAIL(ECQF_ERR_BAD_LAYOUT, HDR_DIR_OFFSET, "directory offset %llu differs from the computed %llu [L-1]",
             (unsigned long long)dir_off, (unsigned long long)expect_dir);
    {
        uint64_t bad = nonzero_at(f, prev_end, dir_off);
        if (bad != UINT64_MAX) FAIL(ECQF_ERR_NONZERO_PADDING, bad, "nonzero padding byte at %llu before the directory [L-2]", (unsigned long long)bad);
    }
    sort_names(r, r->name_order, ntensors);
    for (uint32_t i = 1; i < ntensors; i++)
        if (name_cmp(r, r->name_order[i - 1], r->name_order[i]) == 0) {
            const uint8_t *e = f + dir_off + r->tensor_entry[r->name_order[i]];
            FAIL(ECQF_ERR_DUPLICATE_NAME, dir_off + r->tensor_entry[r->name_order[i]], "duplicate tensor name '%.*s' [T-7]",
                 (int)ecqf_rd16(e), (const char *)e + 8);
        }
    return ECQF_OK;
}

static int open_common(ecqf_reader **out, const uint8_t *data, uint64_t size, ecqf_mapping *map,
                       const ecqf_open_options *opts, ecqf_error *err) {
    const ecqf_allocator *a = NULL;
    unsigned flags = 0;
    ecqf_reader *r;
    int rc;
    if (opts) {
        if (opts->struct_size < sizeof(size_t) || opts->struct_size > sizeof *opts)
            return ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "ecqf_open_options.struct_size is %zu", opts->struct_size);
        if (opts->struct_size >= offsetof(ecqf_open_options, allocator) + sizeof opts->allocator) a = opts->allocator;
        if (opts->struct_size >= offsetof(ecqf_open_options, flags) + sizeof opts->flags) flags = opts->flags;
    }
    r = ecqf_alloc(a, sizeof *r);
    if (!r) {
        if (map) ecqf_unmap_file(map);
        return ecqf_set_error(err, ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
    }
    memset(r, 0, sizeof *r);
    if (a) { r->alloc = *a; r->has_alloc = 1; }
    if (map) r->map = *map;
    r->data = data;
    r->size = size;
    rc = parse_file(r, flags, err);
    if (rc) {
        ecqf_reader_close(r);
        return rc;
    }
    *out = r;
    return ECQF_OK;
}

int ecqf_reader_open_memory(ecqf_reader **out, const void *data, size_t size,
                            const ecqf_open_options *opts, ecqf_error *err) {
    if (!out || (!data && size)) return ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "NULL argument");
    *out = NULL;
    return open_common(out, data, size, NULL, opts, err);
}

int ecqf_reader_open_file(ecqf_reader **out, const char *path, const ecqf_open_options *opts,
                          ecqf_error *err) {
    ecqf_mapping m;
    int rc;
    if (!out || !path) return ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "NULL argument");
    *out = NULL;
    rc = ecqf_map_file(path, &m, err);
    if (rc) return rc;
    return open_common(out, m.data, m.size, &m, opts, err);
}

void ecqf_reader_close(ecqf_reader *r) {
    const ecqf_allocator *a;
    if (!r) return;
    a = ecqf_reader_allocator(r);
    ecqf_free(a, r->meta_entry);
    ecqf_free(a, r->tensor_entry);
    ecqf_free(a, r->name_order);
    ecqf_unmap_file(&r->map);
    {
        ecqf_allocator copy = r->alloc;
        int has = r->has_alloc;
        ecqf_free(has ? &copy : NULL, r);
    }
}

void ecqf_reader_file_info(const ecqf_reader *r, ecqf_file_info *info) {
    if (r && info) *info = r->file;
}

size_t ecqf_reader_tensor_count(const ecqf_reader *r) { return r ? r->file.tensor_count : 0; }
size_t ecqf_reader_metadata_count(const ecqf_reader *r) { return r ? r->file.metadata_count : 0; }

int ecqf_reader_tensor_info(const ecqf_reader *r, size_t index, ecqf_tensor_info *out) {
    if (!r || !out || index >= r->file.tensor_count) return ECQF_ERR_INVALID_ARGUMENT;
    /* Validated at open, so this cannot fail. */
    return ecqf_parse_tensor_entry(r->data, r->file.directory_offset,
                                   r->file.directory_offset + r->tensor_entry[index], r->file.file_size,
                                   UINT64_MAX, 0, out, NULL, NULL);
}

int ecqf_reader_find_tensor(const ecqf_reader *r, const char *name, size_t *index) {
    size_t lo = 0, hi, n;
    const uint8_t *d;
    if (!r || !name) return ECQF_ERR_INVALID_ARGUMENT;
    n = strlen(name);
    hi = r->file.tensor_count;
    d = r->data + r->file.directory_offset;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const uint8_t *e = d + r->tensor_entry[r->name_order[mid]];
        size_t len = ecqf_rd16(e);
        int c = memcmp(e + 8, name, len < n ? len : n);
        if (c == 0) c = len < n ? -1 : len > n;
        if (c == 0) {
            if (index) *index = r->name_order[mid];
            return ECQF_OK;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return ECQF_ERR_NOT_FOUND;
}

int ecqf_reader_metadata_at(const ecqf_reader *r, size_t index, ecqf_metadata *out) {
    uint64_t next;
    if (!r || !out || index >= r->file.metadata_count) return ECQF_ERR_INVALID_ARGUMENT;
    return parse_metadata(r->data, r->file.directory_offset + r->meta_entry[index], r->file.file_size, out, &next, NULL);
}

int ecqf_reader_find_metadata(const ecqf_reader *r, const char *key, ecqf_metadata *out) {
    size_t n;
    if (!r || !key) return ECQF_ERR_INVALID_ARGUMENT;
    n = strlen(key);
    for (size_t i = 0; i < r->file.metadata_count; i++) {
        ecqf_metadata m;
        if (ecqf_reader_metadata_at(r, i, &m)) continue;
        if (m.key_length == n && memcmp(m.key, key, n) == 0) {
            if (out) *out = m;
            return ECQF_OK;
        }
    }
    return ECQF_ERR_NOT_FOUND;
}

const char *ecqf_dtype_name(int dtype) {
    switch (dtype) {
    case ECQF_DTYPE_F32: return "f32";
    case ECQF_DTYPE_F16: return "f16";
    case ECQF_DTYPE_BF16: return "bf16";
    default: return NULL;
    }
}
size_t ecqf_dtype_size(int dtype) {
    switch (dtype) {
    case ECQF_DTYPE_F32: return 4;
    case ECQF_DTYPE_F16: case ECQF_DTYPE_BF16: return 2;
    default: return 0;
    }
}
const char *ecqf_scheme_name(int s) {
    static const char *const n[] = {"none", "affine", "symmetric", "ecsq"};
    return s >= 0 && s <= 3 ? n[s] : NULL;
}
const char *ecqf_coding_name(int c) {
    static const char *const n[] = {"raw", "rans", "prefix", "zstd"};
    if (c == ECQF_CODING_AUTO) return "auto";
    if (c == ECQF_CODING_AUTO_FUSABLE) return "auto-fusable";
    return c >= 0 && c <= 3 ? n[c] : NULL;
}
