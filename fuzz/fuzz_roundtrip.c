/* fuzz_roundtrip.c — target (e): structure-aware round trip. The input bytes are a recipe for
 * up to four random tensors (every scheme, every coding including AUTO and AUTO_FUSABLE,
 * explicit or default tiling, escapes, per-row steps, empty and 0-d tensors) plus metadata;
 * they go through ecqf_encode_tensor and the writer to a file, back through the reader, and
 * must come out exactly: metadata values, tensor infos, codes, ECSQ integers, stored values,
 * and dequantized values equal to the spec formulas computed here (bit for bit).
 *
 * Every recipe is valid by construction, so any encoder or writer error is a finding, except
 * the documented refusals that the recipe asks for on purpose (a NONE tensor with a tiled
 * coding: ECQF_ERR_BAD_CODING; a duplicate name: ECQF_ERR_DUPLICATE_NAME). */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_ecqf.h"

#define MAX_TENSORS 4
#define MAX_NUMEL 4096u

typedef struct recipe {
    char name[32];
    ecqf_tensor_desc d;
    uint64_t numel, rows, cols;
    uint8_t *codes;     /* AFFINE, SYMMETRIC: given; ECSQ: derived */
    int32_t *ints;
    uint8_t *values;
    uint8_t *params;
    int requested;      /* coding asked for */
    int stored;         /* coding the encoder chose */
} recipe;

static char path[512];

static void cleanup(void) {
    char dir[512];
    char *slash;
    unlink(path);
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        rmdir(dir);
    }
}

static void init_path(void) {
    char dir[400];
    if (path[0]) return;
    snprintf(dir, sizeof dir, "%s/ecqf-fuzz-roundtrip-%ld", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
    if (mkdir(dir, 0700) != 0 && access(dir, W_OK) != 0) abort();
    snprintf(path, sizeof path, "%s/rt.ecqf", dir);
    atexit(cleanup);
}

static float f32_at(const uint8_t *p, int dtype, uint64_t i) {
    switch (dtype) {
    case ECQF_DTYPE_F16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return ecqf_f16_to_f32(h); }
    case ECQF_DTYPE_BF16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return ecqf_bf16_to_f32(h); }
    default: { float f; memcpy(&f, p + 4 * i, 4); return f; }
    }
}

static void put_param(uint8_t *p, int dtype, uint64_t i, float v) {
    if (dtype == ECQF_DTYPE_F32) memcpy(p + 4 * i, &v, 4);
    else {
        uint16_t h = dtype == ECQF_DTYPE_F16 ? ecqf_f32_to_f16(v) : ecqf_f32_to_bf16(v);
        memcpy(p + 2 * i, &h, 2);
    }
}

static int same_float(float a, float b) {
    uint32_t x, y;
    if (isnan(a) && isnan(b)) return 1;
    memcpy(&x, &a, 4);
    memcpy(&y, &b, 4);
    return x == y;
}

static unsigned ceil_log2(unsigned v) {
    unsigned b = 0;
    while ((1u << b) < v) b++;
    return b;
}

static void make_recipe(fuzz_bytes *in, recipe *t, unsigned idx) {
    static const unsigned groups[5] = {16, 32, 64, 128, 256};
    static const int codings[6] = {ECQF_CODING_RAW, ECQF_CODING_RANS, ECQF_CODING_PREFIX, ECQF_CODING_ZSTD,
                                   ECQF_CODING_AUTO, ECQF_CODING_AUTO_FUSABLE};
    ecqf_tensor_desc *d = &t->d;
    unsigned Q = 0, b;
    memset(t, 0, sizeof *t);
    d->struct_size = sizeof *d;
    snprintf(t->name, sizeof t->name, (fuzz_u8(in) & 7) == 0 ? "t%u.\xc3\xa9\xe2\x82\xac" : "t%u", idx);
    d->name = t->name;
    d->scheme = fuzz_u8(in) % 4;
    t->requested = codings[fuzz_u8(in) % 6];
    d->coding = t->requested;
    d->dtype = fuzz_u8(in) % 3;
    b = fuzz_u8(in);
    d->ndim = b % 4;
    if (d->scheme == ECQF_SCHEME_AFFINE || d->scheme == ECQF_SCHEME_SYMMETRIC) {
        if (d->ndim == 0) d->ndim = 1 + (b >> 2) % 3;
        d->bits = fuzz_range(in, 2, 8);
        d->group_size = groups[fuzz_u8(in) % 5];
        d->param_dtype = fuzz_u8(in) % 3;
    }
    /* dims: the last is the column count; every dim may be 0 */
    for (unsigned k = 0; k < d->ndim; k++) {
        unsigned v = fuzz_u8(in);
        if (k + 1 == d->ndim && (d->scheme == ECQF_SCHEME_AFFINE || d->scheme == ECQF_SCHEME_SYMMETRIC))
            d->dims[k] = (uint64_t)d->group_size * (v % 4); /* multiple of the group, maybe 0 */
        else
            d->dims[k] = v == 255 ? 0 : 1 + v % 24;
    }
    t->numel = 1;
    for (unsigned k = 0; k < d->ndim; k++) t->numel *= d->dims[k];
    while (t->numel > MAX_NUMEL) { /* shrink the leading dims */
        for (unsigned k = 0; k + 1 < d->ndim && t->numel > MAX_NUMEL; k++)
            if (d->dims[k] > 1) {
                t->numel /= d->dims[k];
                d->dims[k] = 1;
            }
        if (t->numel > MAX_NUMEL) { d->dims[d->ndim - 1] = d->scheme == ECQF_SCHEME_AFFINE || d->scheme == ECQF_SCHEME_SYMMETRIC ? d->group_size : 1; break; }
    }
    t->numel = 1;
    for (unsigned k = 0; k < d->ndim; k++) t->numel *= d->dims[k];
    t->cols = d->ndim ? d->dims[d->ndim - 1] : 1;
    t->rows = 1;
    for (unsigned k = 0; k + 1 < d->ndim; k++) t->rows *= d->dims[k];

    switch (d->scheme) {
    case ECQF_SCHEME_NONE: {
        size_t n = (size_t)t->numel * ecqf_dtype_size(d->dtype);
        unsigned style = fuzz_u8(in) % 3;
        t->values = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) t->values[i] = style == 0 ? fuzz_u8(in) : style == 1 ? (uint8_t)(i * 7) : 0;
        d->values = t->values;
        break;
    }
    case ECQF_SCHEME_AFFINE:
    case ECQF_SCHEME_SYMMETRIC: {
        uint64_t G = t->cols / d->group_size, np = t->rows * G * (d->scheme == ECQF_SCHEME_AFFINE ? 2 : 1);
        unsigned skew = fuzz_u8(in) % 4;
        Q = 1u << d->bits;
        t->codes = malloc((size_t)t->numel + 1);
        for (uint64_t i = 0; i < t->numel; i++) {
            unsigned v = fuzz_u8(in);
            t->codes[i] = (uint8_t)((skew ? v >> (2 * skew) : v) % Q); /* skewed: entropy coding wins */
        }
        d->codes = t->codes;
        d->params_size = (size_t)np * ecqf_dtype_size(d->param_dtype);
        t->params = malloc(d->params_size + 1);
        for (uint64_t i = 0; i < np; i++) put_param(t->params, d->param_dtype, i, (float)((int8_t)fuzz_u8(in)) / 37.0f);
        d->params = t->params;
        break;
    }
    case ECQF_SCHEME_ECSQ: {
        int esc, lo, hi;
        unsigned f = fuzz_u8(in);
        Q = fuzz_range(in, 1, 256);
        esc = (f & 1) && Q >= 2;
        d->alphabet = Q;
        d->zero_code = fuzz_u8(in) % (esc ? Q - 1 : Q);
        d->ecsq_flags = (esc ? ECQF_ECSQ_HAS_ESCAPE : 0) | (f & 2 ? ECQF_ECSQ_PER_ROW : 0);
        lo = -(int)d->zero_code;
        hi = (int)Q - 1 - (int)d->zero_code - esc;
        t->ints = malloc(4 * (size_t)t->numel + 4);
        for (uint64_t i = 0; i < t->numel; i++) {
            unsigned v = fuzz_u8(in);
            if (esc && (v & 15) == 15) {
                int32_t mag = (int32_t)(fuzz_u16(in) | ((uint32_t)(v >> 4) << 16)) % ((1 << 24) - 1 - (hi > -lo ? hi : -lo));
                t->ints[i] = v & 16 ? hi + 1 + mag : lo - 1 - mag;
            } else
                t->ints[i] = lo + (int)(v % (unsigned)(hi - lo + 1));
        }
        d->ints = t->ints;
        d->params_size = (f & 2) ? 4 * (size_t)t->rows : 4;
        t->params = malloc(d->params_size + 1);
        for (size_t i = 0; i < d->params_size / 4; i++) put_param(t->params, ECQF_DTYPE_F32, i, (float)fuzz_u8(in) / 64.0f);
        d->params = t->params;
        break;
    }
    }
    /* explicit tiling (0 = default) */
    if (d->scheme != ECQF_SCHEME_NONE && (fuzz_u8(in) & 1)) {
        unsigned pack = Q <= 16 && (fuzz_u8(in) & 1) ? 2 : 1, A = pack == 2 ? Q * Q : Q;
        d->lanes = 1u << fuzz_range(in, 0, 6);
        d->pack = pack;
        d->stripe_rows = fuzz_range(in, 1, 255);
        d->tile_rows = fuzz_range(in, 1, 300);
        d->tile_cols = fuzz_range(in, 1, 300);
        d->precision = fuzz_u8(in) & 1 ? fuzz_range(in, ECQF_MIN_PRECISION, ECQF_MAX_PRECISION) : 0;
        if (fuzz_u8(in) & 1) {
            unsigned minlen = ceil_log2(A);
            if (minlen < 1) minlen = 1;
            d->max_length = fuzz_range(in, minlen, ECQF_MAX_PREFIX_LENGTH);
        }
    }
    /* ECSQ codes as the encoder derives them */
    if (d->scheme == ECQF_SCHEME_ECSQ) {
        int esc = (d->ecsq_flags & ECQF_ECSQ_HAS_ESCAPE) != 0;
        int lo = -(int)d->zero_code, hi = (int)Q - 1 - (int)d->zero_code - esc;
        t->codes = malloc((size_t)t->numel + 1);
        for (uint64_t i = 0; i < t->numel; i++)
            t->codes[i] = (uint8_t)(t->ints[i] >= lo && t->ints[i] <= hi ? t->ints[i] + (int)d->zero_code : (int)Q - 1);
    }
}

static void free_recipe(recipe *t) {
    free(t->codes);
    free(t->ints);
    free(t->values);
    free(t->params);
}

static float expected_value(const recipe *t, uint64_t i) {
    const ecqf_tensor_desc *d = &t->d;
    uint64_t c = i % t->cols, r = i / t->cols;
    switch (d->scheme) {
    case ECQF_SCHEME_AFFINE: {
        uint64_t G = t->cols / d->group_size, gi = r * G + c / d->group_size;
        float s = f32_at(t->params, d->param_dtype, gi), b = f32_at(t->params, d->param_dtype, t->rows * G + gi);
        float prod = s * (float)t->codes[i];
        return prod + b;
    }
    case ECQF_SCHEME_SYMMETRIC: {
        uint64_t G = t->cols / d->group_size;
        float s = f32_at(t->params, d->param_dtype, r * G + c / d->group_size);
        return s * (float)((int)t->codes[i] - (1 << (d->bits - 1)));
    }
    case ECQF_SCHEME_ECSQ: {
        float step = f32_at(t->params, ECQF_DTYPE_F32, (d->ecsq_flags & ECQF_ECSQ_PER_ROW) ? r : 0);
        return step * (float)t->ints[i];
    }
    default: return f32_at(t->values, d->dtype, i);
    }
}

static void check_tensor(const ecqf_reader *r, size_t idx, const recipe *t) {
    const ecqf_tensor_desc *d = &t->d;
    ecqf_tensor_info ti;
    ecqf_error err;
    size_t found;
    size_t n = (size_t)t->numel;
    FUZZ_CHECK(ecqf_reader_find_tensor(r, t->name, &found) == ECQF_OK && found == idx, "'%s' not found", t->name);
    FUZZ_CHECK(ecqf_reader_tensor_info(r, idx, &ti) == ECQF_OK, "info");
    FUZZ_CHECK(ti.name_length == strlen(t->name) && memcmp(ti.name, t->name, ti.name_length) == 0, "name");
    FUZZ_CHECK(ti.ndim == d->ndim && ti.scheme == d->scheme && ti.dtype == d->dtype && ti.numel == t->numel, "shape of '%s'", t->name);
    for (unsigned k = 0; k < d->ndim; k++) FUZZ_CHECK(ti.dims[k] == d->dims[k], "dim %u", k);
    FUZZ_CHECK(ti.coding == t->stored, "'%s' stored as %d, encoder said %d", t->name, ti.coding, t->stored);
    if (t->numel == 0) FUZZ_CHECK(ti.coding == ECQF_CODING_RAW, "empty tensor not RAW [K-2]");
    else if (t->requested == ECQF_CODING_AUTO_FUSABLE) FUZZ_CHECK(ti.coding != ECQF_CODING_ZSTD, "AUTO_FUSABLE chose ZSTD");
    else if (t->requested != ECQF_CODING_AUTO) FUZZ_CHECK(ti.coding == t->requested, "coding %d, asked %d", ti.coding, t->requested);
    if (ti.coding == ECQF_CODING_RANS || ti.coding == ECQF_CODING_PREFIX) {
        if (d->lanes) FUZZ_CHECK(ti.lanes == d->lanes && ti.pack == d->pack && ti.stripe_rows == d->stripe_rows &&
                                     ti.tile_rows == d->tile_rows && ti.tile_cols == d->tile_cols, "tiling not kept");
        if (d->precision && ti.coding == ECQF_CODING_RANS) FUZZ_CHECK(ti.precision == d->precision, "precision");
        if (d->max_length && ti.coding == ECQF_CODING_PREFIX) FUZZ_CHECK(ti.max_length == d->max_length, "max_length");
    }
    if (d->scheme == ECQF_SCHEME_AFFINE || d->scheme == ECQF_SCHEME_SYMMETRIC)
        FUZZ_CHECK(ti.bits == d->bits && ti.group_size == d->group_size && ti.param_dtype == d->param_dtype, "scheme params");
    if (d->scheme == ECQF_SCHEME_ECSQ)
        FUZZ_CHECK(ti.alphabet == d->alphabet && ti.zero_code == d->zero_code && ti.ecsq_flags == d->ecsq_flags, "ecsq params");
    if (d->params_size && t->numel)
        FUZZ_CHECK(ti.part_size[ECQF_PART_PARAMS] == d->params_size &&
                       memcmp(ti.part[ECQF_PART_PARAMS], d->params, d->params_size) == 0, "params part");
    if (d->scheme != ECQF_SCHEME_NONE) {
        uint8_t *codes = malloc(n + 1);
        FUZZ_CHECK(ecqf_tensor_decode_codes(r, idx, codes, t->numel, &err) == ECQF_OK, "decode codes: %s", err.message);
        FUZZ_CHECK(n == 0 || memcmp(codes, t->codes, n) == 0, "codes of '%s' differ", t->name);
        free(codes);
    } else if (ti.coding == ECQF_CODING_RAW && n)
        FUZZ_CHECK(memcmp(ti.part[ECQF_PART_DATA], t->values, n * ecqf_dtype_size(d->dtype)) == 0, "stored values differ");
    if (d->scheme == ECQF_SCHEME_ECSQ) {
        int32_t *ints = malloc(4 * n + 4);
        FUZZ_CHECK(ecqf_tensor_decode_ints(r, idx, ints, t->numel, &err) == ECQF_OK, "decode ints: %s", err.message);
        FUZZ_CHECK(n == 0 || memcmp(ints, t->ints, 4 * n) == 0, "ints of '%s' differ", t->name);
        free(ints);
    }
    {
        float *out = malloc(4 * n + 4);
        FUZZ_CHECK(ecqf_tensor_dequantize(r, idx, ECQF_DTYPE_F32, out, 4 * n, &err) == ECQF_OK, "dequantize: %s", err.message);
        for (uint64_t i = 0; i < t->numel; i++)
            FUZZ_CHECK(same_float(out[i], expected_value(t, i)), "'%s' value %llu: %a, expected %a", t->name,
                       (unsigned long long)i, (double)out[i], (double)expected_value(t, i));
        free(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_bytes in = {data, size};
    recipe t[MAX_TENSORS];
    unsigned nt, nmeta, ok_tensors = 0;
    ecqf_writer *w;
    ecqf_writer_options wo;
    ecqf_reader *r;
    ecqf_error err;
    int rc;
    char keys[4][16];
    uint64_t mvals[4];
    init_path();
    nt = fuzz_u8(&in) % (MAX_TENSORS + 1);
    memset(&wo, 0, sizeof wo);
    wo.struct_size = sizeof wo;
    wo.alignment = 64u << (fuzz_u8(&in) % 11);
    wo.flags = ECQF_WRITE_OVERWRITE;
    rc = ecqf_writer_create(&w, path, &wo, &err);
    FUZZ_CHECK(rc == ECQF_OK, "writer_create: %s", err.message);
    nmeta = fuzz_u8(&in) % 5;
    for (unsigned i = 0; i < nmeta; i++) {
        /* keys added out of order: the writer sorts them */
        snprintf(keys[i < 4 ? i : 3], 16, "k%u", (nmeta - i) * 3);
        mvals[i < 4 ? i : 3] = fuzz_u32(&in);
    }
    nmeta = nmeta > 4 ? 4 : nmeta;
    for (unsigned i = 0; i < nmeta; i++) {
        int type = 1 + (int)(mvals[i] % 6);
        uint8_t boolv = (uint8_t)(mvals[i] >> 8 & 1);
        const void *v = type == ECQF_META_BOOL ? (const void *)&boolv : type == ECQF_META_STRING ? (const void *)"v\xc3\xa9" : (const void *)&mvals[i];
        size_t len = type == ECQF_META_BOOL ? 1 : type == ECQF_META_STRING ? 3 : type == ECQF_META_BYTES ? (size_t)(mvals[i] >> 16) % 9 : 8;
        rc = ecqf_writer_add_metadata(w, keys[i], type, v, len, &err);
        FUZZ_CHECK(rc == ECQF_OK, "add_metadata: %s", err.message);
    }
    for (unsigned i = 0; i < nt; i++) {
        ecqf_encoded *e = NULL;
        unsigned how;
        make_recipe(&in, &t[i], i);
        how = fuzz_u8(&in);
        if (t[i].d.scheme == ECQF_SCHEME_NONE && t[i].numel &&
            (t[i].d.coding == ECQF_CODING_RANS || t[i].d.coding == ECQF_CODING_PREFIX)) {
            rc = ecqf_encode_tensor(&t[i].d, NULL, &e, &err);
            FUZZ_CHECK(rc == ECQF_ERR_BAD_CODING && e == NULL, "NONE with a tiled coding: %d", rc);
            t[i].d.coding = t[i].requested = ECQF_CODING_RAW;
        }
        rc = ecqf_encode_tensor(&t[i].d, NULL, &e, &err);
        FUZZ_CHECK(rc == ECQF_OK, "encode '%s' (scheme %d coding %d): %s", t[i].name, t[i].d.scheme, t[i].d.coding, err.message);
        t[i].stored = ecqf_encoded_coding(e);
        if (how & 1) {
            rc = ecqf_writer_add_encoded(w, e, &err);
        } else {
            rc = ecqf_writer_add_tensor(w, &t[i].d, &err);
        }
        FUZZ_CHECK(rc == ECQF_OK, "add '%s': %s", t[i].name, err.message);
        if ((how & 6) == 6) { /* the same name again is refused, and the writer goes on */
            rc = ecqf_writer_add_encoded(w, e, &err);
            FUZZ_CHECK(rc == ECQF_ERR_DUPLICATE_NAME, "duplicate accepted: %d", rc);
        }
        ecqf_encoded_free(e);
        ok_tensors++;
    }
    rc = ecqf_writer_finish(w, &err);
    FUZZ_CHECK(rc == ECQF_OK, "finish: %s", err.message);

    {
        fuzz_counter cnt = {0, 0, 0};
        ecqf_allocator al = {fuzz_count_alloc, fuzz_count_free, &cnt};
        ecqf_open_options o = {sizeof o, &al, 0};
        ecqf_file_info fi;
        rc = ecqf_reader_open_file(&r, path, &o, &err);
        FUZZ_CHECK(rc == ECQF_OK, "open: %s", err.message);
        ecqf_reader_file_info(r, &fi);
        FUZZ_CHECK(cnt.peak <= fi.file_size + 4096, "open allocated %zu", cnt.peak);
        FUZZ_CHECK(fi.alignment == wo.alignment, "alignment");
        FUZZ_CHECK(ecqf_reader_tensor_count(r) == ok_tensors, "tensor count");
        FUZZ_CHECK(ecqf_reader_metadata_count(r) == nmeta, "metadata count");
        rc = ecqf_reader_verify_all(r, &err);
        FUZZ_CHECK(rc == ECQF_OK, "verify_all: %s", err.message);
        for (unsigned i = 0; i < nmeta; i++) {
            ecqf_metadata m;
            int type = 1 + (int)(mvals[i] % 6);
            FUZZ_CHECK(ecqf_reader_find_metadata(r, keys[i], &m) == ECQF_OK && m.type == type, "metadata '%s'", keys[i]);
            if (type == ECQF_META_U64 || type == ECQF_META_I64 || type == ECQF_META_F64) FUZZ_CHECK(m.u64 == mvals[i], "value");
            if (type == ECQF_META_BOOL) FUZZ_CHECK(m.u64 == (mvals[i] >> 8 & 1), "bool");
            if (type == ECQF_META_STRING) FUZZ_CHECK(m.length == 3 && memcmp(m.bytes, "v\xc3\xa9", 3) == 0, "string");
            if (type == ECQF_META_BYTES) FUZZ_CHECK(m.length == (size_t)(mvals[i] >> 16) % 9 && (m.length == 0 || memcmp(m.bytes, &mvals[i], m.length) == 0), "bytes");
        }
        for (unsigned i = 0; i < nt; i++) check_tensor(r, i, &t[i]);
        ecqf_reader_close(r);
        FUZZ_CHECK(cnt.live == 0, "reader leaked %zu bytes", cnt.live);
    }
    for (unsigned i = 0; i < nt; i++) free_recipe(&t[i]);
    return 0;
}
