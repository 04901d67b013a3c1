/* encode.c — turning an ecqf_tensor_desc into a blob and its directory entry.
 *
 * Pure and thread-safe: a packer encodes tensors on several threads and appends them in
 * order. With ECQF_CODING_AUTO the encoder builds every candidate coding and keeps the
 * smallest blob, so a file is never larger than RAW or zstd on the same codes. */
#include <math.h>
#include <stdlib.h>
#include <zstd.h>

#include "layout.h"

#define FAIL(code, ...) return ecqf_set_error(err, (code), ECQF_NO_OFFSET, __VA_ARGS__)
#define ZSTD_LEVEL 19
#define TARGET_TILE_ELEMENTS 65536u /* lane states cost ~106 B/tile: ~0.4% at 64K elements (spec 13) */

struct ecqf_encoded {
    ecqf_allocator alloc;
    int has_alloc;
    uint8_t *entry;       /* directory entry; blob_offset patched by the writer */
    size_t entry_size;
    size_t blob_offset_at;
    uint8_t *blob;
    uint64_t blob_size;
    int coding;
    char *name;           /* for duplicate detection in the writer */
};

/* One candidate's parts (params are shared and not stored here). */
typedef struct parts {
    uint8_t *p[5];
    uint64_t n[5];
    int coding;
    uint8_t cparams[16];
} parts;

static void parts_free(const ecqf_allocator *a, parts *c) {
    for (int k = 1; k < 5; k++) ecqf_free(a, c->p[k]);
    memset(c, 0, sizeof *c);
}

static uint64_t blob_size_of(const parts *c) {
    uint64_t end = 0;
    for (int k = 0; k < 5; k++) {
        if (!c->n[k]) continue;
        end = ((end + ECQF_PART_ALIGN - 1) & ~(uint64_t)(ECQF_PART_ALIGN - 1)) + c->n[k];
    }
    return end;
}

typedef struct enc_input {
    const ecqf_tensor_desc *d;
    const ecqf_allocator *a;
    uint64_t numel, rows, cols;
    unsigned Q, width;
    const uint8_t *codes;     /* numel codes (quantized schemes) */
    int escapes;              /* ECSQ with HAS_ESCAPE */
} enc_input;

/* Escape values of codes visited in the given order; writes T+1 starts + values. */
static int build_escapes_raw(const enc_input *in, parts *c, ecqf_error *err) {
    uint64_t count = 0;
    const unsigned esc = in->Q - 1;
    for (uint64_t i = 0; i < in->numel; i++) count += in->codes[i] == esc;
    c->n[3] = 8 + 4 * count;
    c->p[3] = ecqf_alloc(in->a, (size_t)c->n[3]);
    if (!c->p[3]) FAIL(ECQF_ERR_NOMEM, "out of memory");
    ecqf_wr32(c->p[3], 0);
    ecqf_wr32(c->p[3] + 4, (uint32_t)count);
    for (uint64_t i = 0, k = 0; i < in->numel; i++)
        if (in->codes[i] == esc) ecqf_wr32(c->p[3] + 8 + 4 * k++, (uint32_t)in->d->ints[i]);
    return ECQF_OK;
}

static int build_raw(const enc_input *in, parts *c, int zstd, ecqf_error *err) {
    uint64_t bits, size;
    uint8_t *raw;
    memset(c, 0, sizeof *c);
    c->coding = zstd ? ECQF_CODING_ZSTD : ECQF_CODING_RAW;
    if (in->numel == 0) return ECQF_OK;
    if (ecqf_mul_overflow(in->numel, in->width, &bits)) FAIL(ECQF_ERR_LIMIT, "tensor too large");
    size = bits / 8 + (bits % 8 != 0);
    if (size > SIZE_MAX / 2) FAIL(ECQF_ERR_LIMIT, "tensor too large");
    raw = ecqf_alloc(in->a, (size_t)size);
    if (!raw) FAIL(ECQF_ERR_NOMEM, "out of memory");
    if (in->d->scheme == ECQF_SCHEME_NONE) memcpy(raw, in->d->values, (size_t)size);
    else ecqf_raw_pack(in->codes, in->numel, in->width, raw);
    if (!zstd) {
        c->p[4] = raw;
        c->n[4] = size;
    } else {
        size_t bound = ZSTD_compressBound((size_t)size), got;
        uint8_t *z = ecqf_alloc(in->a, bound);
        if (!z) { ecqf_free(in->a, raw); FAIL(ECQF_ERR_NOMEM, "out of memory"); }
        got = ZSTD_compress(z, bound, raw, (size_t)size, ZSTD_LEVEL);
        ecqf_free(in->a, raw);
        if (ZSTD_isError(got)) { ecqf_free(in->a, z); FAIL(ECQF_ERR_IO, "zstd compression failed: %s", ZSTD_getErrorName(got)); }
        c->p[4] = z;
        c->n[4] = got;
    }
    if (in->escapes) {
        int rc = build_escapes_raw(in, c, err);
        if (rc) { parts_free(in->a, c); return rc; }
    }
    return ECQF_OK;
}

/* Default tiling (section 9): full-width tiles of stripe-multiple rows, >= 16K elements. */
static void default_tiling(const enc_input *in, unsigned pack, ecqf_tiling *t) {
    const ecqf_tensor_desc *d = in->d;
    t->rows = in->rows;
    t->cols = in->cols;
    t->lanes = d->lanes ? d->lanes : 32;
    t->pack = pack ? pack : (d->pack ? d->pack : (in->Q <= 16 ? 2 : 1));
    t->stripe_rows = d->stripe_rows ? d->stripe_rows : 4;
    if (d->tile_cols) t->tile_cols = d->tile_cols;
    else t->tile_cols = (uint32_t)(in->cols < 65536 ? (in->cols ? in->cols : 1) : 65536);
    if (d->tile_rows) t->tile_rows = d->tile_rows;
    else {
        uint64_t per = (uint64_t)t->stripe_rows * t->tile_cols;
        uint64_t n = (TARGET_TILE_ELEMENTS + per - 1) / per;
        uint64_t tr = n * t->stripe_rows;
        uint64_t rows_up = ((in->rows + t->stripe_rows - 1) / t->stripe_rows) * t->stripe_rows;
        if (tr > rows_up && rows_up) tr = rows_up;
        while (tr * t->tile_cols > ECQF_MAX_TILE_ELEMENTS && tr > 1) tr = tr > t->stripe_rows ? tr - t->stripe_rows : 1;
        t->tile_rows = (uint32_t)tr;
    }
}

static int build_tiled(const enc_input *in, int coding, unsigned pack, parts *c, ecqf_error *err) {
    const ecqf_tensor_desc *d = in->d;
    ecqf_tiling tl;
    uint64_t T, counts[256] = {0}, cap, total = 0, nesc = 0;
    unsigned A;
    uint8_t *tile_codes = NULL, *syms = NULL, *data = NULL;
    uint32_t *pos = NULL;
    ecqf_rans_table *rt = NULL;
    ecqf_prefix_table *pt = NULL;
    int rc = ECQF_OK;
    memset(c, 0, sizeof *c);
    c->coding = coding;
    default_tiling(in, pack, &tl);
    if (!ecqf_is_pow2(tl.lanes) || tl.lanes > ECQF_MAX_LANES || (tl.pack != 1 && tl.pack != 2) || (tl.pack == 2 && in->Q > 16) ||
        tl.stripe_rows < 1 || tl.stripe_rows > 255 || tl.tile_rows < 1 || tl.tile_cols < 1 ||
        (uint64_t)tl.tile_rows * tl.tile_cols > ECQF_MAX_TILE_ELEMENTS)
        FAIL(ECQF_ERR_INVALID_ARGUMENT, "invalid tiling for '%s': lanes %u pack %u stripe %u tile %ux%u", d->name, tl.lanes, tl.pack,
             tl.stripe_rows, tl.tile_rows, tl.tile_cols);
    T = ecqf_tiling_count(&tl);
    if (T == UINT64_MAX || T > UINT32_MAX - 1) FAIL(ECQF_ERR_LIMIT, "too many tiles for '%s'", d->name);
    A = tl.pack == 2 ? 256u : in->Q;
    cap = (uint64_t)(tl.tile_rows < in->rows ? tl.tile_rows : in->rows) * (tl.tile_cols < in->cols ? tl.tile_cols : in->cols);
    tile_codes = ecqf_alloc(in->a, (size_t)cap);
    syms = ecqf_alloc(in->a, (size_t)cap);
    if (in->escapes) pos = ecqf_alloc(in->a, (size_t)(cap + ECQF_MAX_LANES) * sizeof(uint32_t)); /* + pack-2 padding */
    c->n[2] = 8 * (T + 1);
    c->p[2] = ecqf_alloc(in->a, (size_t)c->n[2]);
    if (in->escapes) {
        const unsigned esc = in->Q - 1;
        for (uint64_t i = 0; i < in->numel; i++) nesc += in->codes[i] == esc;
        c->n[3] = 4 * (T + 1) + 4 * nesc;
        c->p[3] = ecqf_alloc(in->a, (size_t)c->n[3]);
    }
    if (!tile_codes || !syms || (in->escapes && (!pos || !c->p[3])) || !c->p[2]) { rc = ECQF_ERR_NOMEM; goto out; }

#define LOAD_TILE(g)                                                                               \
    for (uint64_t rr = (g).r0; rr < (g).r1; rr++)                                                  \
        memcpy(tile_codes + (rr - (g).r0) * ((g).c1 - (g).c0), in->codes + rr * in->cols + (g).c0, \
               (size_t)((g).c1 - (g).c0));
    /* pass 1: symbol statistics */
    for (uint64_t t = 0; t < T; t++) {
        ecqf_tile_geom g;
        ecqf_tile_geometry(&tl, t, &g);
        LOAD_TILE(g);
        ecqf_tile_gather(&tl, &g, tile_codes, syms);
        for (uint64_t i = 0; i < g.symbols; i++) counts[syms[i]]++;
    }
    /* table */
    {
        uint64_t bound = 0;
        if (coding == ECQF_CODING_RANS) {
            uint16_t freq[256], best[256];
            unsigned used = 0, bestp = 0;
            rt = ecqf_alloc(in->a, sizeof *rt);
            if (!rt) { rc = ECQF_ERR_NOMEM; goto out; }
            for (unsigned s = 0; s < A; s++) used += counts[s] != 0;
            /* The smallest precision within 0.05% of the best size: larger slot tables cost
             * decode speed (a 32 KiB table at 15 bits halves the SIMD decoder's rate, see
             * kernels/RESULTS.md) for no measurable rate. */
            double costs[ECQF_MAX_PRECISION + 1];
            double mincost = INFINITY;
            for (unsigned p = ECQF_MIN_PRECISION; p <= ECQF_MAX_PRECISION; p++) {
                costs[p] = INFINITY;
                if (d->precision && p != d->precision) continue;
                if (used > (1u << p)) continue;
                if (ecqf_rans_normalize(counts, A, p, freq)) continue;
                costs[p] = ecqf_rans_cost_bits(counts, freq, A, p);
                if (costs[p] < mincost) mincost = costs[p];
            }
            for (unsigned p = ECQF_MIN_PRECISION; p <= ECQF_MAX_PRECISION && !bestp; p++)
                if (costs[p] <= mincost * 1.0005 + 1e-9) {
                    bestp = p;
                    if (ecqf_rans_normalize(counts, A, p, best)) bestp = 0;
                }
            if (!bestp) { rc = ECQF_ERR_INVALID_ARGUMENT; goto out; }
            rc = ecqf_rans_table_init(rt, best, A, bestp);
            if (rc) goto out;
            c->n[1] = 2ull * A;
            c->p[1] = ecqf_alloc(in->a, (size_t)c->n[1]);
            if (!c->p[1]) { rc = ECQF_ERR_NOMEM; goto out; }
            for (unsigned s = 0; s < A; s++) ecqf_wr16(c->p[1] + 2 * s, best[s]);
            c->cparams[0] = (uint8_t)bestp;
        } else {
            uint8_t lengths[256];
            unsigned maxlen = d->max_length ? d->max_length : ECQF_MAX_PREFIX_LENGTH;
            pt = ecqf_alloc(in->a, sizeof *pt);
            if (!pt) { rc = ECQF_ERR_NOMEM; goto out; }
            rc = ecqf_prefix_build_lengths(counts, A, maxlen, lengths);
            if (!rc) rc = ecqf_prefix_table_init(pt, lengths, A, maxlen);
            if (rc) goto out;
            c->n[1] = A;
            c->p[1] = ecqf_alloc(in->a, A);
            if (!c->p[1]) { rc = ECQF_ERR_NOMEM; goto out; }
            memcpy(c->p[1], lengths, A);
            c->cparams[0] = (uint8_t)maxlen;
        }
        for (uint64_t t = 0; t < T; t++) {
            ecqf_tile_geom g;
            size_t b;
            ecqf_tile_geometry(&tl, t, &g);
            b = coding == ECQF_CODING_RANS ? ecqf_rans_tile_bound(&g, tl.lanes) : ecqf_prefix_tile_bound(&g, tl.lanes, c->cparams[0]);
            if (ecqf_add_overflow(bound, b, &bound)) { rc = ECQF_ERR_LIMIT; goto out; }
        }
        if (bound > SIZE_MAX / 2) { rc = ECQF_ERR_LIMIT; goto out; }
        data = ecqf_alloc(in->a, (size_t)bound);
        if (!data) { rc = ECQF_ERR_NOMEM; goto out; }
        /* pass 2: encode tiles */
        {
            uint64_t e = 0;
            const unsigned esc = in->Q - 1;
            ecqf_wr64(c->p[2], 0);
            if (in->escapes) ecqf_wr32(c->p[3], 0);
            for (uint64_t t = 0; t < T; t++) {
                ecqf_tile_geom g;
                size_t written = 0;
                ecqf_tile_geometry(&tl, t, &g);
                LOAD_TILE(g);
                ecqf_tile_gather(&tl, &g, tile_codes, syms);
                if (coding == ECQF_CODING_RANS)
                    rc = ecqf_rans_encode_tile(rt, tl.lanes, &g, syms, data + total, (size_t)(bound - total), &written);
                else
                    rc = ecqf_prefix_encode_tile(pt, tl.lanes, &g, syms, data + total, (size_t)(bound - total), &written);
                if (rc) goto out;
                total += written;
                ecqf_wr64(c->p[2] + 8 * (t + 1), total);
                if (in->escapes) {
                    ecqf_symbol_positions(&tl, &g, pos);
                    for (uint64_t i = 0; i < g.symbols * tl.pack; i++) {
                        uint32_t p = pos[i];
                        if (p == UINT32_MAX || tile_codes[p] != esc) continue;
                        uint64_t rr = g.r0 + p / (g.c1 - g.c0), cc = g.c0 + p % (g.c1 - g.c0);
                        ecqf_wr32(c->p[3] + 4 * (T + 1) + 4 * e++, (uint32_t)d->ints[rr * in->cols + cc]);
                    }
                    ecqf_wr32(c->p[3] + 4 * (t + 1), (uint32_t)e);
                }
            }
        }
#undef LOAD_TILE
    }
    c->p[4] = data;
    c->n[4] = total;
    data = NULL;
    c->cparams[1] = (uint8_t)tl.lanes;
    c->cparams[2] = (uint8_t)tl.pack;
    c->cparams[3] = (uint8_t)tl.stripe_rows;
    ecqf_wr32(c->cparams + 4, tl.tile_rows);
    ecqf_wr32(c->cparams + 8, tl.tile_cols);
out:
    ecqf_free(in->a, tile_codes);
    ecqf_free(in->a, syms);
    ecqf_free(in->a, pos);
    ecqf_free(in->a, data);
    ecqf_free(in->a, rt);
    ecqf_free(in->a, pt);
    if (rc) {
        parts_free(in->a, c);
        return ecqf_set_error(err, rc, ECQF_NO_OFFSET, "cannot %s-code tensor '%s': %s", ecqf_coding_name(coding), d->name,
                              ecqf_status_description(rc));
    }
    return ECQF_OK;
}

static int validate_desc(const ecqf_tensor_desc *d, enc_input *in, ecqf_error *err) {
    size_t nl;
    uint64_t psz;
    if (!d || d->struct_size != sizeof *d) FAIL(ECQF_ERR_INVALID_ARGUMENT, "ecqf_tensor_desc.struct_size must be sizeof(ecqf_tensor_desc)");
    if (!d->name) FAIL(ECQF_ERR_INVALID_ARGUMENT, "tensor name is NULL");
    nl = strlen(d->name);
    if (nl == 0 || nl > ECQF_MAX_NAME_LENGTH) FAIL(ECQF_ERR_LIMIT, "tensor name length %zu is outside 1..1024", nl);
    if (!ecqf_utf8_valid((const uint8_t *)d->name, nl)) FAIL(ECQF_ERR_BAD_UTF8, "tensor name is not valid UTF-8");
    for (size_t k = 0; k < nl; k++)
        if ((unsigned char)d->name[k] < 0x20 || d->name[k] == 0x7F) FAIL(ECQF_ERR_BAD_UTF8, "tensor name contains a control character");
    if (d->ndim > ECQF_MAX_DIMS) FAIL(ECQF_ERR_LIMIT, "tensor '%s' has %u dimensions, more than 8", d->name, d->ndim);
    if (!ecqf_dtype_size(d->dtype)) FAIL(ECQF_ERR_BAD_DTYPE, "tensor '%s' has unknown dtype %d", d->name, d->dtype);
    {
        int any_zero = 0;
        in->numel = 1;
        in->rows = 1;
        for (unsigned k = 0; k < d->ndim; k++) {
            any_zero |= d->dims[k] == 0;
            if (k + 1 < d->ndim && ecqf_mul_overflow(in->rows, d->dims[k], &in->rows))
                FAIL(ECQF_ERR_LIMIT, "tensor '%s' row count overflows 64 bits", d->name);
        }
        if (any_zero) in->numel = 0;
        else
            for (unsigned k = 0; k < d->ndim; k++)
                if (ecqf_mul_overflow(in->numel, d->dims[k], &in->numel) || in->numel > ECQF_MAX_NUMEL)
                    FAIL(ECQF_ERR_LIMIT, "tensor '%s' has more than 2^48 elements", d->name);
        in->cols = d->ndim ? d->dims[d->ndim - 1] : 1;
    }
    switch (d->scheme) {
    case ECQF_SCHEME_NONE:
        if (in->numel && !d->values) FAIL(ECQF_ERR_INVALID_ARGUMENT, "tensor '%s': values is NULL", d->name);
        break;
    case ECQF_SCHEME_AFFINE:
    case ECQF_SCHEME_SYMMETRIC:
        if (d->bits < 2 || d->bits > 8) FAIL(ECQF_ERR_BAD_SCHEME, "tensor '%s': bits %u outside 2..8", d->name, d->bits);
        if (!ecqf_dtype_size(d->param_dtype)) FAIL(ECQF_ERR_BAD_SCHEME, "tensor '%s': unknown parameter dtype", d->name);
        if (!(d->group_size == 16 || d->group_size == 32 || d->group_size == 64 || d->group_size == 128 || d->group_size == 256))
            FAIL(ECQF_ERR_BAD_SCHEME, "tensor '%s': group size %u is not 16..256 (power of two)", d->name, d->group_size);
        if (in->cols % d->group_size) FAIL(ECQF_ERR_BAD_SCHEME, "tensor '%s': last dimension %llu is not a multiple of the group size %u",
                                          d->name, (unsigned long long)in->cols, d->group_size);
        if (in->numel && !d->codes) FAIL(ECQF_ERR_INVALID_ARGUMENT, "tensor '%s': codes is NULL", d->name);
        in->Q = 1u << d->bits;
        for (uint64_t i = 0; i < in->numel; i++)
            if (d->codes[i] >= in->Q) FAIL(ECQF_ERR_INVALID_ARGUMENT, "tensor '%s': code %u at %llu exceeds %u bits", d->name, d->codes[i], (unsigned long long)i, d->bits);
        break;
    case ECQF_SCHEME_ECSQ:
        if (d->alphabet < 1 || d->alphabet > 256) FAIL(ECQF_ERR_BAD_SCHEME, "tensor '%s': ECSQ alphabet %u outside 1..256", d->name, d->alphabet);
        if (d->zero_code >= d->alphabet || (d->ecsq_flags & ~3u)) FAIL(ECQF_ERR_BAD_SCHEME, "tensor '%s': bad ECSQ zero code or flags", d->name);
        if ((d->ecsq_flags & ECQF_ECSQ_HAS_ESCAPE) && (d->alphabet < 2 || d->zero_code >= d->alphabet - 1))
            FAIL(ECQF_ERR_BAD_SCHEME, "tensor '%s': escape code collides with the zero code", d->name);
        if (in->numel && !d->ints) FAIL(ECQF_ERR_INVALID_ARGUMENT, "tensor '%s': ints is NULL", d->name);
        in->Q = d->alphabet;
        in->escapes = (d->ecsq_flags & ECQF_ECSQ_HAS_ESCAPE) != 0;
        break;
    default: FAIL(ECQF_ERR_BAD_SCHEME, "tensor '%s': unknown scheme %d", d->name, d->scheme);
    }
    psz = ecqf_params_size(d->scheme, in->rows, in->cols, d->group_size, d->param_dtype, d->ecsq_flags);
    if (psz != d->params_size || (psz && !d->params))
        FAIL(ECQF_ERR_INVALID_ARGUMENT, "tensor '%s': params are %zu bytes, the scheme needs %llu", d->name, d->params_size, (unsigned long long)psz);
    if (d->scheme == ECQF_SCHEME_ECSQ) {
        const float *steps = NULL;
        for (uint64_t i = 0; i < psz / 4; i++) {
            float s;
            memcpy(&s, (const uint8_t *)d->params + 4 * i, 4);
            if (!(s >= 0.0f) || isinf(s)) FAIL(ECQF_ERR_BAD_SCHEME, "tensor '%s': step %llu is negative or not finite", d->name, (unsigned long long)i);
        }
        (void)steps;
    }
    in->width = ecqf_code_width(d->scheme, d->bits, in->Q, d->dtype);
    return ECQF_OK;
}

int ecqf_encode_tensor(const ecqf_tensor_desc *d, const ecqf_allocator *alloc, ecqf_encoded **out, ecqf_error *err) {
    enc_input in;
    parts best, cand;
    uint8_t *codes = NULL;
    int rc, coding, have = 0;
    int tries[8], ntries = 0;
    unsigned packs[8] = {0};
    ecqf_encoded *e;
    if (!out) FAIL(ECQF_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    memset(&in, 0, sizeof in);
    memset(&best, 0, sizeof best);
    in.d = d;
    in.a = alloc;
    rc = validate_desc(d, &in, err);
    if (rc) return rc;
    coding = d->coding;
    /* ECSQ: derive codes from the integers */
    if (d->scheme == ECQF_SCHEME_ECSQ && in.numel) {
        int64_t lo = -(int64_t)d->zero_code, hi = (int64_t)d->alphabet - 1 - (int64_t)d->zero_code - (in.escapes ? 1 : 0);
        if (in.numel > SIZE_MAX) FAIL(ECQF_ERR_LIMIT, "tensor too large");
        codes = ecqf_alloc(alloc, (size_t)in.numel);
        if (!codes) FAIL(ECQF_ERR_NOMEM, "out of memory");
        for (uint64_t i = 0; i < in.numel; i++) {
            int64_t k = d->ints[i];
            if (k >= lo && k <= hi) codes[i] = (uint8_t)(k + d->zero_code);
            else if (in.escapes && k > -(1 << 24) && k < (1 << 24)) codes[i] = (uint8_t)(d->alphabet - 1);
            else {
                ecqf_free(alloc, codes);
                FAIL(ECQF_ERR_INVALID_ARGUMENT, "tensor '%s': integer %lld at %llu is outside the alphabet and cannot be escaped",
                     d->name, (long long)k, (unsigned long long)i);
            }
        }
        in.codes = codes;
    } else
        in.codes = d->codes;

    if (in.numel == 0) tries[ntries++] = ECQF_CODING_RAW;
    else switch (coding) {
    case ECQF_CODING_RAW: case ECQF_CODING_ZSTD: tries[ntries++] = coding; break;
    case ECQF_CODING_RANS: case ECQF_CODING_PREFIX:
        if (d->scheme == ECQF_SCHEME_NONE) { ecqf_free(alloc, codes); FAIL(ECQF_ERR_BAD_CODING, "tensor '%s': unquantized tensors allow only raw and zstd", d->name); }
        tries[ntries++] = coding;
        break;
    case ECQF_CODING_AUTO: case ECQF_CODING_AUTO_FUSABLE:
        tries[ntries++] = ECQF_CODING_RAW;
        if (d->scheme != ECQF_SCHEME_NONE) { tries[ntries++] = ECQF_CODING_RANS; tries[ntries++] = ECQF_CODING_PREFIX; }
        if (coding == ECQF_CODING_AUTO) tries[ntries++] = ECQF_CODING_ZSTD;
        break;
    default: ecqf_free(alloc, codes); FAIL(ECQF_ERR_BAD_CODING, "tensor '%s': unknown coding %d", d->name, coding);
    }
    /* With pack left to the encoder and codes of at most 4 bits, try both: pack 2 halves the
     * decode steps but its 256-entry table costs more, which matters for small tensors. */
    if (d->pack == 0 && in.Q <= 16)
        for (int i = 0, n = ntries; i < n; i++)
            if (tries[i] == ECQF_CODING_RANS || tries[i] == ECQF_CODING_PREFIX) {
                packs[i] = 2;
                packs[ntries] = 1;
                tries[ntries++] = tries[i];
            }
    for (int i = 0; i < ntries; i++) {
        ecqf_error e2;
        int c = tries[i];
        rc = c == ECQF_CODING_RAW || c == ECQF_CODING_ZSTD ? build_raw(&in, &cand, c == ECQF_CODING_ZSTD, &e2)
                                                           : build_tiled(&in, c, packs[i], &cand, &e2);
        if (rc) {
            if (ntries == 1 || rc == ECQF_ERR_NOMEM) {
                if (err) *err = e2;
                parts_free(alloc, &best);
                ecqf_free(alloc, codes);
                return rc;
            }
            continue; /* AUTO: skip a candidate that cannot be built */
        }
        cand.p[0] = (uint8_t *)d->params;
        cand.n[0] = d->params_size;
        if (in.numel == 0 && d->scheme != ECQF_SCHEME_ECSQ) cand.n[0] = d->params_size; /* zero anyway */
        if (!have || blob_size_of(&cand) < blob_size_of(&best)) {
            if (have) parts_free(alloc, &best);
            best = cand;
            have = 1;
        } else
            parts_free(alloc, &cand);
    }
    ecqf_free(alloc, codes);
    if (!have) FAIL(ECQF_ERR_INVALID_ARGUMENT, "tensor '%s': no coding could be built", d->name);

    /* assemble the blob and the entry */
    e = ecqf_alloc(alloc, sizeof *e);
    if (!e) { parts_free(alloc, &best); FAIL(ECQF_ERR_NOMEM, "out of memory"); }
    memset(e, 0, sizeof *e);
    if (alloc) { e->alloc = *alloc; e->has_alloc = 1; }
    e->coding = best.coding;
    e->blob_size = blob_size_of(&best);
    e->blob = ecqf_calloc(alloc, (size_t)(e->blob_size ? e->blob_size : 1), 1);
    {
        size_t nl = strlen(d->name);
        e->entry_size = 8 + nl + 8 * d->ndim + 16 + 16 + 8 + 40 + 32;
        e->entry = ecqf_calloc(alloc, e->entry_size, 1);
        e->name = ecqf_alloc(alloc, nl + 1);
        if (!e->blob || !e->entry || !e->name) {
            parts_free(alloc, &best);
            ecqf_encoded_free(e);
            FAIL(ECQF_ERR_NOMEM, "out of memory");
        }
        memcpy(e->name, d->name, nl + 1);
        uint64_t off = 0;
        for (int k = 0; k < 5; k++) {
            if (!best.n[k]) continue;
            off = (off + ECQF_PART_ALIGN - 1) & ~(uint64_t)(ECQF_PART_ALIGN - 1);
            memcpy(e->blob + off, best.p[k], (size_t)best.n[k]);
            off += best.n[k];
        }
        uint8_t *p = e->entry;
        ecqf_wr16(p, (uint16_t)nl);
        p[2] = (uint8_t)d->ndim;
        p[3] = (uint8_t)d->scheme;
        p[4] = (uint8_t)best.coding;
        p[5] = (uint8_t)d->dtype;
        memcpy(p + 8, d->name, nl);
        p += 8 + nl;
        for (unsigned k = 0; k < d->ndim; k++) ecqf_wr64(p + 8 * k, d->dims[k]);
        p += 8 * d->ndim;
        if (d->scheme == ECQF_SCHEME_AFFINE || d->scheme == ECQF_SCHEME_SYMMETRIC) {
            p[0] = (uint8_t)d->bits;
            p[1] = (uint8_t)d->param_dtype;
            ecqf_wr16(p + 2, (uint16_t)d->group_size);
        } else if (d->scheme == ECQF_SCHEME_ECSQ) {
            ecqf_wr16(p, (uint16_t)d->alphabet);
            ecqf_wr16(p + 2, (uint16_t)d->zero_code);
            p[4] = (uint8_t)d->ecsq_flags;
        }
        p += 16;
        if (best.coding == ECQF_CODING_RANS || best.coding == ECQF_CODING_PREFIX) memcpy(p, best.cparams, 16);
        p += 16;
        e->blob_offset_at = (size_t)(p - e->entry);
        for (int k = 0; k < 5; k++) ecqf_wr64(p + 8 + 8 * k, best.n[k]);
        rc = ecqf_blake2b_256(e->blob, (size_t)e->blob_size, p + 48);
    }
    parts_free(alloc, &best);
    if (rc) { ecqf_encoded_free(e); FAIL(rc, "checksum failed"); }
    *out = e;
    return ECQF_OK;
}

void ecqf_encoded_free(ecqf_encoded *e) {
    if (!e) return;
    ecqf_allocator a = e->alloc;
    const ecqf_allocator *ap = e->has_alloc ? &a : NULL;
    ecqf_free(ap, e->entry);
    ecqf_free(ap, e->blob);
    ecqf_free(ap, e->name);
    ecqf_free(ap, e);
}

uint64_t ecqf_encoded_blob_size(const ecqf_encoded *e) { return e ? e->blob_size : 0; }
int ecqf_encoded_coding(const ecqf_encoded *e) { return e ? e->coding : -1; }

/* Accessors for the writer (same library, not public). */
const uint8_t *ecqf__encoded_entry(const ecqf_encoded *e, size_t *size, size_t *blob_offset_at);
const uint8_t *ecqf__encoded_blob(const ecqf_encoded *e);
const char *ecqf__encoded_name(const ecqf_encoded *e);
const uint8_t *ecqf__encoded_entry(const ecqf_encoded *e, size_t *size, size_t *blob_offset_at) {
    *size = e->entry_size;
    *blob_offset_at = e->blob_offset_at;
    return e->entry;
}
const uint8_t *ecqf__encoded_blob(const ecqf_encoded *e) { return e->blob; }
const char *ecqf__encoded_name(const ecqf_encoded *e) { return e->name; }
