/* test_format.c — container round trips and the reader's error codes (spec sections 2–9).
 * Every reader error code is reached by a crafted input; corrupting any header or directory
 * byte is detected; offsets pointing outside their section are rejected by name. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecqf.h"
#include "format/layout.h"

static char tmpdir[256];

static void setup_dir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ecqf-test-format-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}
static void teardown_dir(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double gauss(void) {
    double u = ((rnd() >> 11) + 0.5) / 9007199254740992.0, v = ((rnd() >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* ---- a fixture model: one tensor of every scheme x coding shape we care about ---- */

typedef struct fixture {
    ecqf_tensor_desc d;
    void *buf1, *buf2;     /* owned data */
} fixture;

#define NFIX 13
static fixture fx[NFIX];
static int nfx;

static ecqf_tensor_desc base_desc(const char *name, unsigned ndim, const uint64_t *dims) {
    ecqf_tensor_desc d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.name = name;
    d.ndim = ndim;
    for (unsigned i = 0; i < ndim; i++) d.dims[i] = dims[i];
    return d;
}

static void add_none(const char *name, int dtype, int coding, unsigned ndim, const uint64_t *dims) {
    fixture *f = &fx[nfx++];
    uint64_t n = 1;
    f->d = base_desc(name, ndim, dims);
    for (unsigned i = 0; i < ndim; i++) n *= dims[i];
    f->buf1 = calloc(n ? n : 1, 4);
    for (uint64_t i = 0; i < n; i++) {
        float v = (float)gauss();
        if (dtype == ECQF_DTYPE_F32) memcpy((uint8_t *)f->buf1 + 4 * i, &v, 4);
        else {
            uint16_t h = dtype == ECQF_DTYPE_F16 ? ecqf_f32_to_f16(v) : ecqf_f32_to_bf16(v);
            memcpy((uint8_t *)f->buf1 + 2 * i, &h, 2);
        }
    }
    f->d.scheme = ECQF_SCHEME_NONE;
    f->d.dtype = dtype;
    f->d.coding = coding;
    f->d.values = f->buf1;
}

static void add_quant(const char *name, int scheme, unsigned bits, unsigned group, int pdtype, int coding,
                      uint64_t rows, uint64_t cols) {
    fixture *f = &fx[nfx++];
    uint64_t dims[2] = {rows, cols}, n = rows * cols, G = cols / group;
    size_t ps = ecqf_dtype_size(pdtype);
    f->d = base_desc(name, 2, dims);
    f->d.scheme = scheme;
    f->d.bits = bits;
    f->d.group_size = group;
    f->d.param_dtype = pdtype;
    f->d.coding = coding;
    f->buf1 = malloc(n);
    for (uint64_t i = 0; i < n; i++) {
        double g = gauss() * (1 << (bits - 2)) + (1 << (bits - 1));
        long q = lround(g);
        if (q < 0) q = 0;
        if (q >= (1 << bits)) q = (1 << bits) - 1;
        ((uint8_t *)f->buf1)[i] = (uint8_t)q;
    }
    f->d.codes = f->buf1;
    f->d.params_size = (scheme == ECQF_SCHEME_AFFINE ? 2 : 1) * rows * G * ps;
    f->buf2 = malloc(f->d.params_size);
    for (uint64_t i = 0; i < f->d.params_size / ps; i++) {
        float v = (float)(0.01 + 0.001 * (double)(i % 17)) * (i >= rows * G ? -3.0f : 1.0f);
        if (ps == 4) memcpy((uint8_t *)f->buf2 + 4 * i, &v, 4);
        else {
            uint16_t h = pdtype == ECQF_DTYPE_F16 ? ecqf_f32_to_f16(v) : ecqf_f32_to_bf16(v);
            memcpy((uint8_t *)f->buf2 + 2 * i, &h, 2);
        }
    }
    f->d.params = f->buf2;
}

static void add_ecsq(const char *name, int coding, uint64_t rows, uint64_t cols, int per_row, int escapes) {
    fixture *f = &fx[nfx++];
    uint64_t dims[2] = {rows, cols}, n = rows * cols;
    int32_t *k = malloc(n * 4);
    float *steps;
    f->d = base_desc(name, 2, dims);
    f->d.scheme = ECQF_SCHEME_ECSQ;
    f->d.coding = coding;
    for (uint64_t i = 0; i < n; i++) {
        k[i] = (int32_t)lround(gauss() * 3);
        if (escapes && rnd() % 50 == 0) k[i] = (rnd() & 1 ? 1 : -1) * (int32_t)(20 + rnd() % 5000);
    }
    f->d.alphabet = escapes ? 16 : 64;
    f->d.zero_code = escapes ? 7 : 32;
    f->d.ecsq_flags = (escapes ? ECQF_ECSQ_HAS_ESCAPE : 0) | (per_row ? ECQF_ECSQ_PER_ROW : 0);
    if (!escapes)
        for (uint64_t i = 0; i < n; i++) {
            if (k[i] < -32) k[i] = -32;
            if (k[i] > 31) k[i] = 31;
        }
    f->d.ints = k;
    f->buf1 = k;
    f->d.params_size = per_row ? rows * 4 : 4;
    steps = malloc(f->d.params_size);
    for (uint64_t i = 0; i < f->d.params_size / 4; i++) steps[i] = 0.02f + 0.001f * (float)i;
    f->buf2 = steps;
    f->d.params = steps;
}

static void build_fixtures(void) {
    static const uint64_t d1[1] = {64}, d2[2] = {3, 5}, d3[2] = {7, 33}, d0[2] = {0, 4};
    if (nfx) return;
    add_none("norm.f32", ECQF_DTYPE_F32, ECQF_CODING_RAW, 1, d1);
    add_none("norm.f16.zstd", ECQF_DTYPE_F16, ECQF_CODING_ZSTD, 2, d2);
    add_none("emb.bf16", ECQF_DTYPE_BF16, ECQF_CODING_RAW, 2, d3);
    add_none("scalar", ECQF_DTYPE_F32, ECQF_CODING_RAW, 0, NULL);
    add_none("empty", ECQF_DTYPE_F32, ECQF_CODING_AUTO, 2, d0);
    add_quant("affine.rans", ECQF_SCHEME_AFFINE, 4, 64, ECQF_DTYPE_F16, ECQF_CODING_RANS, 37, 192);
    add_quant("affine.prefix", ECQF_SCHEME_AFFINE, 3, 32, ECQF_DTYPE_BF16, ECQF_CODING_PREFIX, 9, 96);
    add_quant("affine.raw", ECQF_SCHEME_AFFINE, 5, 32, ECQF_DTYPE_F32, ECQF_CODING_RAW, 4, 64);
    add_quant("symmetric.zstd", ECQF_SCHEME_SYMMETRIC, 8, 32, ECQF_DTYPE_F16, ECQF_CODING_ZSTD, 5, 64);
    add_ecsq("ecsq.rans.escapes", ECQF_CODING_RANS, 23, 150, 1, 1);
    add_ecsq("ecsq.prefix.escapes", ECQF_CODING_PREFIX, 6, 70, 0, 1);
    add_ecsq("ecsq.raw.escapes", ECQF_CODING_RAW, 5, 40, 1, 1);
    add_ecsq("ecsq.auto", ECQF_CODING_AUTO, 64, 64, 1, 0);
}

static int write_fixture(const char *path, uint32_t alignment) {
    ecqf_writer *w;
    ecqf_writer_options o;
    ecqf_error e;
    uint64_t v = 42;
    uint8_t yes = 1;
    int rc;
    build_fixtures();
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.alignment = alignment;
    rc = ecqf_writer_create(&w, path, &o, &e);
    if (rc) return rc;
    ck_assert_int_eq(ecqf_writer_add_metadata_string(w, "model.name", "fixture", &e), 0);
    ck_assert_int_eq(ecqf_writer_add_metadata(w, "a.count", ECQF_META_U64, &v, 8, &e), 0);
    ck_assert_int_eq(ecqf_writer_add_metadata(w, "b.flag", ECQF_META_BOOL, &yes, 1, &e), 0);
    for (int i = 0; i < nfx; i++) {
        rc = ecqf_writer_add_tensor(w, &fx[i].d, &e);
        if (rc) {
            fprintf(stderr, "add %s: %s\n", fx[i].d.name, e.message);
            ecqf_writer_abort(w);
            return rc;
        }
    }
    return ecqf_writer_finish(w, &e);
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc(*n + 1);
    ck_assert_uint_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static float ref_value(const fixture *f, uint64_t i) {
    const ecqf_tensor_desc *d = &f->d;
    uint64_t cols = d->ndim ? d->dims[d->ndim - 1] : 1, rows = d->ndim ? (cols ? (uint64_t)1 : 1) : 1;
    (void)rows;
    if (d->scheme == ECQF_SCHEME_NONE) {
        if (d->dtype == ECQF_DTYPE_F32) { float v; memcpy(&v, (const uint8_t *)d->values + 4 * i, 4); return v; }
        uint16_t h;
        memcpy(&h, (const uint8_t *)d->values + 2 * i, 2);
        return d->dtype == ECQF_DTYPE_F16 ? ecqf_f16_to_f32(h) : ecqf_bf16_to_f32(h);
    }
    if (d->scheme == ECQF_SCHEME_ECSQ) {
        const float *s = d->params;
        float step = (d->ecsq_flags & ECQF_ECSQ_PER_ROW) ? s[i / cols] : s[0];
        return step * (float)d->ints[i];
    }
    {
        uint64_t G = cols / d->group_size, gi = (i / cols) * G + (i % cols) / d->group_size;
        uint64_t ng = d->params_size / ecqf_dtype_size(d->param_dtype) / (d->scheme == ECQF_SCHEME_AFFINE ? 2 : 1);
        float p[2];
        for (int k = 0; k < 2; k++) {
            uint64_t idx = gi + (uint64_t)k * ng;
            if (k == 1 && d->scheme != ECQF_SCHEME_AFFINE) break;
            if (d->param_dtype == ECQF_DTYPE_F32) memcpy(&p[k], (const uint8_t *)d->params + 4 * idx, 4);
            else {
                uint16_t h;
                memcpy(&h, (const uint8_t *)d->params + 2 * idx, 2);
                p[k] = d->param_dtype == ECQF_DTYPE_F16 ? ecqf_f16_to_f32(h) : ecqf_bf16_to_f32(h);
            }
        }
        if (d->scheme == ECQF_SCHEME_AFFINE) {
            float prod = p[0] * (float)d->codes[i];
            return prod + p[1];
        }
        return p[0] * (float)((int)d->codes[i] - (1 << (d->bits - 1)));
    }
}

static void check_roundtrip(ecqf_reader *r) {
    ecqf_error e;
    ck_assert_int_eq(ecqf_reader_tensor_count(r), (size_t)nfx);
    ck_assert_msg(ecqf_reader_verify_all(r, &e) == ECQF_OK, "verify: %s", e.message);
    for (int i = 0; i < nfx; i++) {
        const fixture *f = &fx[i];
        ecqf_tensor_info info;
        size_t idx;
        ck_assert_int_eq(ecqf_reader_find_tensor(r, f->d.name, &idx), 0);
        ck_assert_int_eq((int)idx, i);
        ck_assert_int_eq(ecqf_reader_tensor_info(r, idx, &info), 0);
        ck_assert_int_eq(info.scheme, f->d.scheme);
        if (f->d.coding != ECQF_CODING_AUTO) ck_assert_int_eq(info.coding, f->d.coding);
        uint64_t n = info.numel;
        float *vals = malloc(n * 4 + 4);
        ck_assert_int_eq(ecqf_tensor_dequantize(r, idx, ECQF_DTYPE_F32, vals, n * 4, &e), 0);
        for (uint64_t k = 0; k < n; k++) {
            float want = ref_value(f, k);
            ck_assert_msg(memcmp(&vals[k], &want, 4) == 0, "%s[%llu]: %g != %g", f->d.name, (unsigned long long)k, vals[k], want);
        }
        if (f->d.scheme == ECQF_SCHEME_AFFINE || f->d.scheme == ECQF_SCHEME_SYMMETRIC) {
            uint8_t *c = malloc(n + 1);
            ck_assert_int_eq(ecqf_tensor_decode_codes(r, idx, c, n, &e), 0);
            ck_assert(memcmp(c, f->d.codes, n) == 0);
            free(c);
        }
        if (f->d.scheme == ECQF_SCHEME_ECSQ) {
            int32_t *k = malloc(n * 4 + 4);
            ck_assert_int_eq(ecqf_tensor_decode_ints(r, idx, k, n, &e), 0);
            ck_assert(memcmp(k, f->d.ints, n * 4) == 0);
            free(k);
        }
        if (f->d.scheme == ECQF_SCHEME_NONE && f->d.dtype != ECQF_DTYPE_F32 && n) {
            /* a conversion back to the storage dtype is bit-exact */
            uint16_t *h = malloc(n * 2);
            ck_assert_int_eq(ecqf_tensor_dequantize(r, idx, f->d.dtype, h, n * 2, &e), 0);
            ck_assert(memcmp(h, f->d.values, n * 2) == 0);
            free(h);
        }
        free(vals);
    }
    {
        ecqf_metadata m;
        ck_assert_int_eq(ecqf_reader_metadata_count(r), 3);
        ck_assert_int_eq(ecqf_reader_find_metadata(r, "model.name", &m), 0);
        ck_assert_int_eq(m.type, ECQF_META_STRING);
        ck_assert(m.length == 7 && memcmp(m.bytes, "fixture", 7) == 0);
        ck_assert_int_eq(ecqf_reader_metadata_at(r, 0, &m), 0); /* sorted: a.count first */
        ck_assert(m.key_length == 7 && memcmp(m.key, "a.count", 7) == 0 && m.u64 == 42);
    }
}

START_TEST(roundtrip_file_and_memory) {
    char path[300];
    ecqf_reader *r;
    ecqf_error e;
    size_t n;
    uint8_t *buf;
    snprintf(path, sizeof path, "%s/m.ecqf", tmpdir);
    ck_assert_int_eq(write_fixture(path, 0), 0);
    ck_assert_int_eq(ecqf_reader_open_file(&r, path, NULL, &e), 0);
    check_roundtrip(r);
    ecqf_reader_close(r);
    buf = slurp(path, &n);
    ck_assert_int_eq(ecqf_reader_open_memory(&r, buf, n, NULL, &e), 0);
    check_roundtrip(r);
    ecqf_reader_close(r);
    free(buf);
}
END_TEST

START_TEST(roundtrip_alignments) {
    static const uint32_t aligns[] = {64, 128, 4096, 16384, 65536};
    for (unsigned i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        char path[300];
        ecqf_reader *r;
        ecqf_error e;
        ecqf_file_info fi;
        snprintf(path, sizeof path, "%s/a%u.ecqf", tmpdir, aligns[i]);
        ck_assert_int_eq(write_fixture(path, aligns[i]), 0);
        ck_assert_int_eq(ecqf_reader_open_file(&r, path, NULL, &e), 0);
        ecqf_reader_file_info(r, &fi);
        ck_assert_uint_eq(fi.alignment, aligns[i]);
        for (size_t t = 0; t < ecqf_reader_tensor_count(r); t++) {
            ecqf_tensor_info info;
            ck_assert_int_eq(ecqf_reader_tensor_info(r, t, &info), 0);
            ck_assert_uint_eq(info.blob_offset % aligns[i], 0);
        }
        check_roundtrip(r);
        ecqf_reader_close(r);
    }
}
END_TEST

/* ---- crafted inputs ---- */

static uint8_t *base_file;
static size_t base_size;

static void load_base(void) {
    char path[300];
    if (base_file) return;
    snprintf(path, sizeof path, "%s/base.ecqf", tmpdir);
    ck_assert_int_eq(write_fixture(path, 0), 0);
    base_file = slurp(path, &base_size);
}

static void fix_checksum(uint8_t *f, size_t n) {
    uint64_t dir = ecqf_rd64(f + HDR_DIR_OFFSET), ds = ecqf_rd64(f + HDR_DIR_SIZE);
    if (dir > n || ds > n - dir) return;
    ck_assert_int_eq(ecqf_blake2b_256_2(f, 64, f + dir, (size_t)ds, f + 64), 0);
}

static int open_code(const uint8_t *f, size_t n, int verify) {
    ecqf_reader *r = NULL;
    ecqf_error e;
    int rc = ecqf_reader_open_memory(&r, f, n, NULL, &e);
    if (rc == 0 && verify) rc = ecqf_reader_verify_all(r, &e);
    if (rc) {
        ck_assert_int_eq(e.code, rc);
        ck_assert(strlen(e.message) > 0);
    }
    ecqf_reader_close(r);
    return rc;
}

/* Offset of the directory entry of tensor `name`. */
static size_t entry_of(const uint8_t *f, const char *name) {
    uint64_t dir = ecqf_rd64(f + HDR_DIR_OFFSET);
    size_t nl = strlen(name);
    for (size_t p = (size_t)dir; p + nl + 8 <= base_size; p++)
        if (ecqf_rd16(f + p) == nl && memcmp(f + p + 8, name, nl) == 0) return p;
    ck_abort_msg("entry %s not found", name);
    return 0;
}
/* Offset of the blob_offset field of an entry */
static size_t blob_field(const uint8_t *f, size_t entry) { return entry + 8 + ecqf_rd16(f + entry) + 8 * f[entry + 2] + 32; }

static ecqf_tensor_info info_of(const uint8_t *f, size_t n, const char *name) {
    ecqf_reader *r;
    ecqf_error e;
    size_t idx;
    ecqf_tensor_info info;
    ck_assert_int_eq(ecqf_reader_open_memory(&r, f, n, NULL, &e), 0);
    ck_assert_int_eq(ecqf_reader_find_tensor(r, name, &idx), 0);
    ck_assert_int_eq(ecqf_reader_tensor_info(r, idx, &info), 0);
    ecqf_reader_close(r);
    return info;
}

typedef void (*mutator)(uint8_t *f, size_t *n);

static int mutate(mutator m, int fix, int verify) {
    uint8_t *f;
    size_t n;
    int rc;
    load_base();
    f = malloc(base_size + 16);
    memcpy(f, base_file, base_size);
    n = base_size;
    m(f, &n);
    if (fix) fix_checksum(f, n);
    rc = open_code(f, n, verify);
    free(f);
    return rc;
}

static void m_truncate(uint8_t *f, size_t *n) { (void)f; *n = 50; }
static void m_truncate_tail(uint8_t *f, size_t *n) { (void)f; *n -= 1; }
static void m_magic(uint8_t *f, size_t *n) { (void)n; f[5] = '\n'; }
static void m_major(uint8_t *f, size_t *n) { (void)n; f[HDR_MAJOR] = 1; }
static void m_required(uint8_t *f, size_t *n) { (void)n; f[HDR_REQUIRED + 3] = 0x10; }
static void m_optional(uint8_t *f, size_t *n) { (void)n; f[HDR_OPTIONAL + 7] = 0x80; }
static void m_minor(uint8_t *f, size_t *n) { (void)n; f[HDR_MINOR] = 9; }
static void m_header_size(uint8_t *f, size_t *n) { (void)n; f[HDR_SIZE] = 97; }
static void m_alignment(uint8_t *f, size_t *n) { (void)n; ecqf_wr32(f + HDR_ALIGNMENT, 96); }
static void m_trailing(uint8_t *f, size_t *n) { f[*n] = 0; *n += 1; }
static void m_reserved(uint8_t *f, size_t *n) { (void)n; f[HDR_RESERVED] = 1; }
static void m_padding(uint8_t *f, size_t *n) { (void)n; f[100] = 1; }
static void m_dir_checksum(uint8_t *f, size_t *n) { f[*n - 40] ^= 1; }
static void m_dir_offset_out(uint8_t *f, size_t *n) { ecqf_wr64(f + HDR_DIR_OFFSET, *n + 8); }
static void m_dir_size_huge(uint8_t *f, size_t *n) { (void)n; ecqf_wr64(f + HDR_DIR_SIZE, UINT64_MAX - 10); }
static void m_blob_offset(uint8_t *f, size_t *n) {
    (void)n;
    size_t b = blob_field(f, entry_of(f, "affine.rans"));
    ecqf_wr64(f + b, ecqf_rd64(f + b) + 64);
}
static void m_blob_offset_eof(uint8_t *f, size_t *n) { ecqf_wr64(f + blob_field(f, entry_of(f, "affine.rans")), *n); }
static void m_part_huge(uint8_t *f, size_t *n) { (void)n; ecqf_wr64(f + blob_field(f, entry_of(f, "affine.rans")) + 8 + 32, UINT64_MAX / 2); }
static void m_part_params(uint8_t *f, size_t *n) {
    (void)n;
    size_t b = blob_field(f, entry_of(f, "affine.rans")) + 8;
    ecqf_wr64(f + b, ecqf_rd64(f + b) + 2);
}
static void m_ndim(uint8_t *f, size_t *n) { (void)n; f[entry_of(f, "norm.f32") + 2] = 9; }
static void m_name_len0(uint8_t *f, size_t *n) { (void)n; ecqf_wr16(f + entry_of(f, "norm.f32"), 0); }
static void m_dir_reserved(uint8_t *f, size_t *n) { (void)n; f[ecqf_rd64(f + HDR_DIR_OFFSET) + 9] = 1; }
static void m_entry_reserved(uint8_t *f, size_t *n) { (void)n; f[entry_of(f, "norm.f32") + 6] = 1; }
static void m_meta_type(uint8_t *f, size_t *n) {
    (void)n;
    size_t d = (size_t)ecqf_rd64(f + HDR_DIR_OFFSET) + 16; /* first metadata: a.count */
    f[d + 2 + 7] = 99;
}
static void m_meta_order(uint8_t *f, size_t *n) {
    (void)n;
    size_t d = (size_t)ecqf_rd64(f + HDR_DIR_OFFSET) + 16;
    f[d + 2] = 'z'; /* "z.count" now sorts after "b.flag" */
}
static void m_name_utf8(uint8_t *f, size_t *n) { (void)n; f[entry_of(f, "norm.f32") + 8] = 0xFF; }
static void m_dup_name(uint8_t *f, size_t *n) {
    (void)n;
    size_t e = entry_of(f, "affine.raw");
    memcpy(f + e + 8, "affine.rans", 10); /* lengths: affine.raw(10) -> "affine.ran" */
    size_t e2 = entry_of(f, "emb.bf16");
    memcpy(f + e2 + 8, "norm.f32", 8);
}
static void m_dtype(uint8_t *f, size_t *n) { (void)n; f[entry_of(f, "norm.f32") + 5] = 7; }
static void m_scheme(uint8_t *f, size_t *n) { (void)n; f[entry_of(f, "norm.f32") + 3] = 9; }
static void m_scheme_none_rans(uint8_t *f, size_t *n) { (void)n; f[entry_of(f, "norm.f32") + 4] = ECQF_CODING_RANS; }
static void m_coding(uint8_t *f, size_t *n) { (void)n; f[entry_of(f, "norm.f32") + 4] = 9; }
static void m_bits(uint8_t *f, size_t *n) { (void)n; size_t e = entry_of(f, "affine.rans"); f[e + 8 + 11 + 16] = 9; }
static void m_precision(uint8_t *f, size_t *n) { (void)n; size_t e = entry_of(f, "affine.rans"); f[e + 8 + 11 + 16 + 16] = 16; }
static void m_lanes(uint8_t *f, size_t *n) { (void)n; size_t e = entry_of(f, "affine.rans"); f[e + 8 + 11 + 16 + 17] = 3; }
static void m_tile_limit(uint8_t *f, size_t *n) { (void)n; size_t e = entry_of(f, "affine.rans"); ecqf_wr32(f + e + 8 + 11 + 16 + 20, 1u << 21); }
static void m_table(uint8_t *f, size_t *n) {
    ecqf_tensor_info in = info_of(f, *n, "affine.rans");
    uint64_t o = in.part_offset[ECQF_PART_TABLE];
    ecqf_wr16(f + o, (uint16_t)(ecqf_rd16(f + o) + 1));
}
static void m_prefix_table(uint8_t *f, size_t *n) {
    ecqf_tensor_info in = info_of(f, *n, "affine.prefix");
    uint64_t o = in.part_offset[ECQF_PART_TABLE];
    for (unsigned s = 0; s < 256; s++)
        if (f[o + s]) { f[o + s]++; break; }
}
static void m_tile_index(uint8_t *f, size_t *n) {
    ecqf_tensor_info in = info_of(f, *n, "affine.rans");
    uint64_t o = in.part_offset[ECQF_PART_TILE_INDEX];
    ecqf_wr64(f + o + 8, ecqf_rd64(f + o + 8) + 2);
}
static void m_state(uint8_t *f, size_t *n) {
    ecqf_tensor_info in = info_of(f, *n, "affine.rans");
    ecqf_wr32(f + in.part_offset[ECQF_PART_DATA], 5); /* state below 2^16 */
}
static void m_escape_value(uint8_t *f, size_t *n) {
    ecqf_tensor_info in = info_of(f, *n, "ecsq.rans.escapes");
    ecqf_wr32(f + in.part_offset[ECQF_PART_ESCAPES] + 4 * (in.tile_count + 1), 0); /* 0 needs no escape [E-3] */
}
static void m_escape_index(uint8_t *f, size_t *n) {
    ecqf_tensor_info in = info_of(f, *n, "ecsq.rans.escapes");
    ecqf_wr32(f + in.part_offset[ECQF_PART_ESCAPES], 1);
}
static void m_blob_byte(uint8_t *f, size_t *n) {
    ecqf_tensor_info in = info_of(f, *n, "norm.f32");
    f[in.part_offset[ECQF_PART_DATA] + 3] ^= 0x40;
}
static void m_rewrite_blob_checksum(uint8_t *f, size_t *n);

START_TEST(error_codes) {
    ck_assert_int_eq(mutate(m_truncate, 0, 0), ECQF_ERR_TRUNCATED);
    ck_assert_int_eq(mutate(m_truncate_tail, 0, 0), ECQF_ERR_TRUNCATED);
    ck_assert_int_eq(mutate(m_magic, 0, 0), ECQF_ERR_BAD_MAGIC);
    ck_assert_int_eq(mutate(m_major, 1, 0), ECQF_ERR_UNSUPPORTED_VERSION);
    ck_assert_int_eq(mutate(m_minor, 1, 1), ECQF_OK);        /* [H-3] */
    ck_assert_int_eq(mutate(m_required, 1, 0), ECQF_ERR_UNSUPPORTED_FEATURE);
    ck_assert_int_eq(mutate(m_optional, 1, 1), ECQF_OK);     /* [F-2] */
    ck_assert_int_eq(mutate(m_header_size, 1, 0), ECQF_ERR_BAD_HEADER);
    ck_assert_int_eq(mutate(m_alignment, 1, 0), ECQF_ERR_BAD_HEADER);
    ck_assert_int_eq(mutate(m_trailing, 0, 0), ECQF_ERR_TRAILING_DATA);
    ck_assert_int_eq(mutate(m_reserved, 1, 0), ECQF_ERR_RESERVED_NONZERO);
    ck_assert_int_eq(mutate(m_padding, 0, 0), ECQF_ERR_NONZERO_PADDING);
    ck_assert_int_eq(mutate(m_dir_checksum, 0, 0), ECQF_ERR_HEADER_CHECKSUM);
    ck_assert_int_eq(mutate(m_dir_offset_out, 1, 0), ECQF_ERR_BAD_LAYOUT);
    ck_assert_int_eq(mutate(m_dir_size_huge, 1, 0), ECQF_ERR_BAD_LAYOUT);
    ck_assert_int_eq(mutate(m_blob_offset, 1, 0), ECQF_ERR_BAD_LAYOUT);
    ck_assert_int_eq(mutate(m_blob_offset_eof, 1, 0), ECQF_ERR_BAD_LAYOUT);
    ck_assert_int_eq(mutate(m_part_huge, 1, 0), ECQF_ERR_BAD_LAYOUT);
    ck_assert_int_eq(mutate(m_part_params, 1, 0), ECQF_ERR_BAD_LAYOUT);
    ck_assert_int_eq(mutate(m_ndim, 1, 0), ECQF_ERR_LIMIT);
    ck_assert_int_eq(mutate(m_name_len0, 1, 0), ECQF_ERR_LIMIT);
    ck_assert_int_eq(mutate(m_tile_limit, 1, 0), ECQF_ERR_LIMIT);
    ck_assert_int_eq(mutate(m_dir_reserved, 1, 0), ECQF_ERR_RESERVED_NONZERO);
    ck_assert_int_eq(mutate(m_entry_reserved, 1, 0), ECQF_ERR_RESERVED_NONZERO);
    ck_assert_int_eq(mutate(m_meta_type, 1, 0), ECQF_ERR_BAD_DIRECTORY);
    ck_assert_int_eq(mutate(m_meta_order, 1, 0), ECQF_ERR_BAD_DIRECTORY);
    ck_assert_int_eq(mutate(m_name_utf8, 1, 0), ECQF_ERR_BAD_UTF8);
    ck_assert_int_eq(mutate(m_dup_name, 1, 0), ECQF_ERR_DUPLICATE_NAME);
    ck_assert_int_eq(mutate(m_dtype, 1, 0), ECQF_ERR_BAD_DTYPE);
    ck_assert_int_eq(mutate(m_scheme, 1, 0), ECQF_ERR_BAD_SCHEME);
    ck_assert_int_eq(mutate(m_scheme_none_rans, 1, 0), ECQF_ERR_BAD_SCHEME);
    ck_assert_int_eq(mutate(m_bits, 1, 0), ECQF_ERR_BAD_SCHEME);
    ck_assert_int_eq(mutate(m_coding, 1, 0), ECQF_ERR_BAD_CODING);
    ck_assert_int_eq(mutate(m_precision, 1, 0), ECQF_ERR_BAD_CODING);
    ck_assert_int_eq(mutate(m_lanes, 1, 0), ECQF_ERR_BAD_CODING);
    ck_assert_int_eq(mutate(m_table, 0, 0), ECQF_ERR_BAD_TABLE);
    ck_assert_int_eq(mutate(m_prefix_table, 0, 0), ECQF_ERR_BAD_TABLE);
    ck_assert_int_eq(mutate(m_tile_index, 0, 0), ECQF_ERR_BAD_TILE_INDEX);
    ck_assert_int_eq(mutate(m_escape_value, 0, 0), ECQF_ERR_BAD_ESCAPES);
    ck_assert_int_eq(mutate(m_escape_index, 0, 0), ECQF_ERR_BAD_ESCAPES);
    /* blob contents: open succeeds, verification names the problem */
    ck_assert_int_eq(mutate(m_blob_byte, 0, 0), ECQF_OK);
    ck_assert_int_eq(mutate(m_blob_byte, 0, 1), ECQF_ERR_BLOB_CHECKSUM);
    ck_assert_int_eq(mutate(m_state, 0, 0), ECQF_OK);
    ck_assert_int_eq(mutate(m_rewrite_blob_checksum, 0, 1), ECQF_ERR_CORRUPT_STREAM);
}
END_TEST

/* state corrupted and the blob checksum recomputed, so only stream validation can catch it */
static void m_rewrite_blob_checksum(uint8_t *f, size_t *n) {
    ecqf_tensor_info in = info_of(f, *n, "affine.rans");
    size_t e = entry_of(f, "affine.rans");
    ecqf_wr32(f + in.part_offset[ECQF_PART_DATA], 5);
    ck_assert_int_eq(ecqf_blake2b_256(f + in.blob_offset, (size_t)in.blob_size, f + blob_field(f, e) + 48), 0);
    fix_checksum(f, *n);
}

START_TEST(api_errors) {
    ecqf_reader *r;
    ecqf_error e;
    char path[300];
    size_t idx;
    ck_assert_int_eq(ecqf_reader_open_file(&r, "/nonexistent/x.ecqf", NULL, &e), ECQF_ERR_IO);
    ck_assert_str_eq(ecqf_status_name(e.code), "ECQF_ERR_IO");
    ck_assert_int_eq(ecqf_reader_open_memory(NULL, NULL, 0, NULL, &e), ECQF_ERR_INVALID_ARGUMENT);
    load_base();
    ck_assert_int_eq(ecqf_reader_open_memory(&r, base_file, base_size, NULL, &e), 0);
    ck_assert_int_eq(ecqf_reader_find_tensor(r, "nope", &idx), ECQF_ERR_NOT_FOUND);
    ecqf_reader_close(r);
    snprintf(path, sizeof path, "%s/exists.ecqf", tmpdir);
    ck_assert_int_eq(write_fixture(path, 0), 0);
    ck_assert_int_eq(write_fixture(path, 0), ECQF_ERR_EXISTS);
    ck_assert_str_eq(ecqf_status_name(ECQF_ERR_CORRUPT_STREAM), "ECQF_ERR_CORRUPT_STREAM");
    ck_assert_str_eq(ecqf_status_name(9999), "ECQF_ERR_UNKNOWN");
}
END_TEST

/* failing allocator: every allocation after the budget fails */
static int alloc_budget;
static void *fail_alloc(void *o, size_t n) { (void)o; if (alloc_budget-- <= 0) return NULL; return malloc(n); }
static void fail_free(void *o, void *p) { (void)o; free(p); }

START_TEST(out_of_memory) {
    ecqf_allocator a = {fail_alloc, fail_free, NULL};
    ecqf_open_options o = {sizeof o, &a, 0};
    ecqf_reader *r;
    ecqf_error e;
    int saw_nomem = 0;
    load_base();
    for (int b = 0; b < 6; b++) {
        alloc_budget = b;
        int rc = ecqf_reader_open_memory(&r, base_file, base_size, &o, &e);
        if (rc == ECQF_ERR_NOMEM) saw_nomem = 1;
        else {
            ck_assert_int_eq(rc, 0);
            ecqf_reader_close(r);
        }
    }
    ck_assert(saw_nomem);
}
END_TEST

START_TEST(every_header_and_directory_byte) {
    uint64_t dir;
    size_t detected = 0, total = 0;
    uint8_t *f;
    load_base();
    dir = ecqf_rd64(base_file + HDR_DIR_OFFSET);
    f = malloc(base_size);
    for (size_t pos = 0; pos < base_size; pos++) {
        if (pos >= ECQF_HEADER_SIZE && pos < dir) continue;
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(f, base_file, base_size);
            f[pos] ^= (uint8_t)(1u << bit);
            total++;
            if (open_code(f, base_size, 0) != ECQF_OK) detected++;
        }
    }
    free(f);
    ck_assert_uint_eq(detected, total);
}
END_TEST

START_TEST(writer_leaves_nothing_on_abort) {
    char path[300], cmd[400];
    ecqf_writer *w;
    ecqf_error e;
    snprintf(path, sizeof path, "%s/aborted.ecqf", tmpdir);
    ck_assert_int_eq(ecqf_writer_create(&w, path, NULL, &e), 0);
    build_fixtures();
    ck_assert_int_eq(ecqf_writer_add_tensor(w, &fx[0].d, &e), 0);
    ck_assert_int_eq(ecqf_writer_add_tensor(w, &fx[0].d, &e), ECQF_ERR_DUPLICATE_NAME);
    ecqf_writer_abort(w);
    ck_assert_int_ne(access(path, F_OK), 0);
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep tmp)\"", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* [S-2]: f16/bf16 -> f32 -> f16/bf16 is the identity for all 65536 patterns, NaNs included;
 * and f32 -> f16 rounds to nearest even. */
START_TEST(halffloat_exact) {
    unsigned bad = 0;
    for (unsigned h = 0; h < 65536; h++) {
        bad += ecqf_f32_to_f16(ecqf_f16_to_f32((uint16_t)h)) != h;
        bad += ecqf_f32_to_bf16(ecqf_bf16_to_f32((uint16_t)h)) != h;
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(ecqf_f32_to_f16(1.0f + 1.0f / 2048), 0x3C00);     /* tie to even: down */
    ck_assert_uint_eq(ecqf_f32_to_f16(1.0f + 3.0f / 2048), 0x3C02);     /* tie to even: up */
    ck_assert_uint_eq(ecqf_f32_to_f16(65520.0f), 0x7C00);               /* rounds to infinity */
    ck_assert_uint_eq(ecqf_f32_to_f16(5.9604645e-08f), 0x0001);         /* smallest subnormal */
    ck_assert_uint_eq(ecqf_f32_to_bf16(1.00390625f), 0x3F80);           /* tie to even */
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("format");
    TCase *t = tcase_create("format");
    tcase_add_unchecked_fixture(t, setup_dir, teardown_dir);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, roundtrip_file_and_memory);
    tcase_add_test(t, roundtrip_alignments);
    tcase_add_test(t, error_codes);
    tcase_add_test(t, api_errors);
    tcase_add_test(t, out_of_memory);
    tcase_add_test(t, every_header_and_directory_byte);
    tcase_add_test(t, writer_leaves_nothing_on_abort);
    tcase_add_test(t, halffloat_exact);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    int failed;
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
