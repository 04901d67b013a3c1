/*
 * gen-data.h — tensor recipes of the conformance generator: what each tensor of a vector holds
 * (a tspec), the deterministic data made from it (a tdata), and the expected hashes, computed
 * here from the data and the formulas of spec section 7 — never by reading a file back.
 */
#ifndef ECQF_GEN_DATA_H
#define ECQF_GEN_DATA_H

#include "gen-core.h"

/* Short names for the on-disk codes, to keep the case tables readable. */
enum { F32 = ECQF_DTYPE_F32, F16 = ECQF_DTYPE_F16, BF16 = ECQF_DTYPE_BF16 };
enum { RAW = ECQF_CODING_RAW, RANS = ECQF_CODING_RANS, PFX = ECQF_CODING_PREFIX, ZSTD = ECQF_CODING_ZSTD };
enum { NONE = ECQF_SCHEME_NONE, AFF = ECQF_SCHEME_AFFINE, SYM = ECQF_SCHEME_SYMMETRIC, ECSQ = ECQF_SCHEME_ECSQ };
enum { ESC = ECQF_ECSQ_HAS_ESCAPE, ROW = ECQF_ECSQ_PER_ROW };

static const char *dtype_str(int d) { return d == F32 ? "f32" : d == F16 ? "f16" : "bf16"; }

/* Data recipes. */
enum {
    D_DEFAULT = 0, /* NONE: random values; AFF/SYM: codes peaked around Q/2; ECSQ: two-sided
                      geometric integers plus rare outliers (escaped, or clamped without escape) */
    D_UNIFORM,     /* codes (or ECSQ integers) uniform over the alphabet window, no escapes */
    D_CONST,       /* every code (ECSQ: every integer) equals dp */
    D_SKEW,        /* P(code = n) ~ 2^-(n+1): long prefix codes */
    D_DUPROWS,     /* rows repeat with period 2 (what zstd is for) */
    D_SPECIAL,     /* NONE: +-0, +-inf, quiet NaNs with payloads, subnormals, extremes;
                      AFFINE f32: max-float and subnormal scales (overflow to inf, subnormal sums);
                      ECSQ: per-row steps 0, -0, a subnormal and 2^126 */
    D_EXTREME      /* ECSQ: escapes at +-(2^24-1) and at the window's edges */
};

typedef struct tspec {
    const char *name;          /* NULL: the 1024-byte name of the name-max-length vector */
    unsigned ndim;
    uint64_t dims[8];
    int scheme, coding, dtype;
    unsigned bits, group;      /* AFFINE, SYMMETRIC */
    int pdtype;
    unsigned Q, z, eflags;     /* ECSQ */
    unsigned prec, maxlen, lanes, pack, stripe; /* RANS, PREFIX (all explicit) */
    uint32_t trows, tcols;
    int dist, dp;              /* data recipe */
} tspec;

typedef struct tdata {
    ecqf_tensor_desc d;
    char *name;
    uint64_t numel, rows, cols;
    uint8_t *codes;            /* AFF/SYM/ECSQ: the code of every element */
    int32_t *ints;             /* ECSQ: k of every element */
    uint8_t *values;           /* NONE: the stored values */
    uint8_t *params;
    size_t psize;
    uint8_t hcodes[32], hvalues[32];
} tdata;

static char name_max[1025];
static const char *tensor_name(const tspec *s) {
    if (s->name) return s->name;
    if (!name_max[0]) { /* 1022 ASCII bytes and a 2-byte UTF-8 character: 1024 bytes */
        for (int i = 0; i < 1022; i++) name_max[i] = (char)('a' + i % 26);
        name_max[1022] = (char)0xC3;
        name_max[1023] = (char)0xA9;
        name_max[1024] = 0;
    }
    return name_max;
}

static const uint32_t special_f32[] = {
    0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x7FC12345u, 0xFFC00001u,
    0x00000001u, 0x807FFFFFu, 0x00800000u, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x3F800000u, 0xBEAAAAABu,
    0x7F800001u, 0xFFA00000u /* signaling NaNs */};
static const uint32_t special_f16[] = {
    0x0000, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x7E55, 0xFE01, 0x0001, 0x03FF, 0x8001, 0x0400,
    0x7BFF, 0xFBFF, 0x3C00, 0x3555, 0x7C01, 0xFD55 /* signaling NaNs */};
static const uint32_t special_bf16[] = {
    0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x7FC1, 0xFFC5, 0x0001, 0x807F, 0x0080, 0x7F7F,
    0xFF7F, 0x3F80, 0xBEAB, 0x7F81, 0xFF81 /* signaling NaNs */};

static unsigned peaked(rng *r, unsigned Q) {
    int32_t u = (int32_t)(Q / 2) + rgeom(r, Q >= 16 ? 215 : 150);
    if (u < 0) u = 0;
    if (u > (int32_t)Q - 1) u = (int32_t)Q - 1;
    return (unsigned)u;
}
static unsigned skewed(rng *r, unsigned Q) {
    unsigned u = 0;
    while (u + 1 < Q && (rnext(r) & 1)) u++;
    return u;
}

/* Make the data of one tensor; vector_id salts the seed. */
static void tdata_make(const tspec *s, const char *vector_id, tdata *td) {
    const char *nm = tensor_name(s);
    rng r = {seed_of(nm, seed_of(vector_id, 0))};
    memset(td, 0, sizeof *td);
    td->name = xstrdup(nm);
    td->numel = 1;
    for (unsigned k = 0; k < s->ndim; k++) td->numel *= s->dims[k];
    td->cols = s->ndim ? s->dims[s->ndim - 1] : 1;
    td->rows = 1;
    for (unsigned k = 0; k + 1 < s->ndim; k++) td->rows *= s->dims[k];
    if (td->numel > (1u << 22)) die("tensor %s too large for a vector", nm);

    td->d.struct_size = sizeof td->d;
    td->d.name = td->name;
    td->d.ndim = s->ndim;
    memcpy(td->d.dims, s->dims, sizeof s->dims);
    td->d.scheme = s->scheme;
    td->d.coding = s->coding;
    td->d.dtype = s->dtype;
    td->d.bits = s->bits;
    td->d.group_size = s->group;
    td->d.param_dtype = s->pdtype;
    td->d.alphabet = s->Q;
    td->d.zero_code = s->z;
    td->d.ecsq_flags = s->eflags;
    td->d.precision = s->prec;
    td->d.max_length = s->maxlen;
    td->d.lanes = s->lanes;
    td->d.pack = s->pack;
    td->d.stripe_rows = s->stripe;
    td->d.tile_rows = s->trows;
    td->d.tile_cols = s->tcols;

    if (s->scheme == NONE) {
        size_t es = dtype_size(s->dtype);
        td->values = xcalloc((size_t)td->numel, es);
        for (uint64_t i = 0; i < td->numel; i++) {
            uint32_t v;
            if (s->dist == D_SPECIAL) {
                const uint32_t *sp = s->dtype == F32 ? special_f32 : s->dtype == F16 ? special_f16 : special_bf16;
                size_t ns = s->dtype == F32 ? sizeof special_f32 / 4 : s->dtype == F16 ? sizeof special_f16 / 4 : sizeof special_bf16 / 4;
                v = i < ns ? sp[i] : rand_value_bits(&r, s->dtype, -20, 20, 1);
            } else if (s->dist == D_DUPROWS && i >= 2 * td->cols) {
                memcpy(td->values + i * es, td->values + (i - 2 * td->cols) * es, es);
                continue;
            } else
                v = rand_value_bits(&r, s->dtype, -6, 6, 1);
            store_bits(td->values, s->dtype, i, v);
        }
        td->d.values = td->values;
    } else {
        unsigned Q = s->scheme == ECSQ ? s->Q : 1u << s->bits;
        td->codes = xcalloc((size_t)td->numel, 1);
        if (s->scheme == ECSQ) {
            int esc = (s->eflags & ESC) != 0;
            int32_t lo = -(int32_t)s->z, hi = (int32_t)Q - 1 - (int32_t)s->z - (esc ? 1 : 0);
            static const int32_t extremes[] = {(1 << 24) - 1, -((1 << 24) - 1), 0, 0, 0, 0, 1};
            td->ints = xcalloc((size_t)td->numel, sizeof(int32_t));
            for (uint64_t i = 0; i < td->numel; i++) {
                int32_t k;
                switch (s->dist) {
                case D_UNIFORM: k = lo + (int32_t)rbelow(&r, (uint32_t)(hi - lo + 1)); break;
                case D_CONST: k = s->dp; break;
                case D_SKEW: k = lo + (int32_t)skewed(&r, (unsigned)(hi - lo + 1)); break;
                case D_EXTREME: {
                    unsigned j = (unsigned)(i % 11);
                    if (j < 7) {
                        k = extremes[j];
                        if (j == 2) k = hi + 1;  /* = Q-1-z: must be escaped */
                        if (j == 3) k = lo - 1;  /* = -z-1 */
                        if (j == 4) k = hi;
                        if (j == 5) k = lo;
                    } else
                        k = rgeom(&r, 200);
                    break;
                }
                default:
                    k = rgeom(&r, s->dp ? (unsigned)s->dp : 190);
                    if (rbelow(&r, 24) == 0) k = (int32_t)rbelow(&r, 10001) - 5000;
                    break;
                }
                if (!esc) k = k < lo ? lo : k > hi ? hi : k;
                if (s->dist == D_CONST) k = s->dp;
                td->ints[i] = k;
                td->codes[i] = (uint8_t)(k >= lo && k <= hi ? (unsigned)(k + (int32_t)s->z) : Q - 1);
            }
            if (s->dist == D_DUPROWS)
                for (uint64_t i = 2 * td->cols; i < td->numel; i++) {
                    td->ints[i] = td->ints[i - 2 * td->cols];
                    td->codes[i] = td->codes[i - 2 * td->cols];
                }
            td->d.ints = td->ints;
            td->psize = 4 * (size_t)((s->eflags & ROW) ? td->rows : 1);
            td->params = xcalloc(td->psize, 1);
            for (uint64_t q = 0; q < td->psize / 4; q++) {
                uint32_t st = rand_value_bits(&r, F32, -9, -4, 0);
                if (s->dist == D_SPECIAL) {
                    static const uint32_t sp[] = {0x00000000u, 0x80000000u, 0x00000001u, 0x7E800000u};
                    if (q < 4) st = sp[q];
                }
                wr32(td->params + 4 * q, st);
            }
        } else {
            uint64_t G = td->cols / s->group, n = td->rows * G;
            size_t ps = dtype_size(s->pdtype);
            for (uint64_t i = 0; i < td->numel; i++) {
                unsigned u;
                switch (s->dist) {
                case D_UNIFORM: u = rbelow(&r, Q); break;
                case D_CONST: u = (unsigned)s->dp; break;
                case D_SKEW: u = skewed(&r, Q); break;
                default: u = peaked(&r, Q); break;
                }
                if (s->dist == D_DUPROWS && i >= 2 * td->cols) u = td->codes[i - 2 * td->cols];
                td->codes[i] = (uint8_t)u;
            }
            td->d.codes = td->codes;
            td->psize = (size_t)(n * ps * (s->scheme == AFF ? 2 : 1));
            td->params = xcalloc(td->psize, 1);
            for (uint64_t q = 0; q < n; q++) {
                uint32_t sc = rand_value_bits(&r, s->pdtype, -8, -3, s->scheme == SYM);
                if (s->dist == D_SPECIAL && s->pdtype == F32) sc = q == 0 ? 0x7F7FFFFFu : q == 1 ? 0x00000001u : q == 2 ? 0x80000003u : sc;
                store_bits(td->params, s->pdtype, q, sc);
                if (s->scheme == AFF) {
                    uint32_t b = rand_value_bits(&r, s->pdtype, -6, -1, 1);
                    if (s->dist == D_SPECIAL && s->pdtype == F32) b = q == 0 ? 0xFF000000u : q == 1 ? 0x00000005u : q == 2 ? 0x80000002u : b;
                    store_bits(td->params, s->pdtype, n + q, b);
                }
            }
        }
        td->d.params = td->params;
        td->d.params_size = td->psize;
    }
}

/* Expected hashes of a tensor (the conformance protocol): codes = BLAKE2b-256 of one byte per
 * element (NONE: the stored value bytes), values = BLAKE2b-256 of the f32 values, computed as
 * section 7 says: one binary32 operation per * and +, left to right, no fused multiply-add.
 * (The volatile stores force each rounding; this file is built with -ffp-contract=off.) */
static void tdata_expect(tdata *td) {
    const ecqf_tensor_desc *d = &td->d;
    uint8_t *out = xcalloc((size_t)td->numel, 4);
    uint64_t cols = td->cols;
    for (uint64_t i = 0; i < td->numel; i++) {
        uint32_t bits;
        if (d->scheme == NONE) bits = elem_f32_bits(td->values, d->dtype, i);
        else if (d->scheme == AFF) {
            uint64_t G = cols / d->group_size, ng = td->rows * G, gi = (i / cols) * G + (i % cols) / d->group_size;
            volatile float s = bits_to_f32(elem_f32_bits(td->params, d->param_dtype, gi));
            volatile float b = bits_to_f32(elem_f32_bits(td->params, d->param_dtype, ng + gi));
            volatile float p = s * (float)td->codes[i];
            volatile float v = p + b;
            bits = f32_to_bits(v);
        } else if (d->scheme == SYM) {
            uint64_t G = cols / d->group_size, gi = (i / cols) * G + (i % cols) / d->group_size;
            volatile float s = bits_to_f32(elem_f32_bits(td->params, d->param_dtype, gi));
            volatile float v = s * (float)((int)td->codes[i] - (1 << (d->bits - 1)));
            bits = f32_to_bits(v);
        } else {
            volatile float st = bits_to_f32(rd32(td->params + 4 * ((d->ecsq_flags & ROW) ? i / cols : 0)));
            volatile float v = st * (float)td->ints[i];
            bits = f32_to_bits(v);
        }
        wr32(out + 4 * i, bits);
    }
    if (d->scheme == NONE) blake2b(td->values, (size_t)td->numel * dtype_size(d->dtype), td->hcodes);
    else blake2b(td->codes, (size_t)td->numel, td->hcodes);
    blake2b(out, (size_t)td->numel * 4, td->hvalues);
    free(out);
}

#endif
