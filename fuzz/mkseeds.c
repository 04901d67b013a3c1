/* mkseeds.c — writes the seed corpora of fuzz/ (run once; the outputs are committed):
 *   mkseeds FUZZDIR
 * FUZZDIR/corpus/open and FUZZDIR/corpus/decode: small valid ECQF files written by the
 *   library's writer, one per scheme x coding shape, plus metadata-only, empty, 0-d, empty
 *   tensor and multi-tile files;
 * FUZZDIR/corpus/codec: inputs in fuzz_codec's format (recipe bytes, then a tile encoded by
 *   the library's encoder);
 * FUZZDIR/corpus/roundtrip: recipe bytes (any bytes are a valid recipe).
 * Deterministic (fixed seed), so rerunning gives the same files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/codec.h"
#include "ecqf.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t rnd(void) {
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static const char *outdir;

static void mkdirs(const char *sub) {
    char p[1024];
    snprintf(p, sizeof p, "%s/corpus", outdir);
    if (mkdir(p, 0755) != 0 && errno != EEXIST) { perror(p); exit(1); }
    snprintf(p, sizeof p, "%s/corpus/%s", outdir, sub);
    if (mkdir(p, 0755) != 0 && errno != EEXIST) { perror(p); exit(1); }
}

static void write_bytes(const char *sub, const char *name, const uint8_t *b, size_t n) {
    char p[1024];
    FILE *f;
    snprintf(p, sizeof p, "%s/corpus/%s/%s", outdir, sub, name);
    f = fopen(p, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) { perror(p); exit(1); }
}

/* ---- ECQF files -------------------------------------------------------------------------- */

typedef struct spec {
    const char *name;
    int scheme, coding, dtype;
    unsigned rows, cols, ndim;
    unsigned bits, group, pdtype;
    unsigned alphabet, zero, flags;
    unsigned lanes, pack, stripe, tile_rows, tile_cols;
} spec;

static void fill_desc(const spec *s, ecqf_tensor_desc *d, void **bufs) {
    uint64_t n = (uint64_t)s->rows * s->cols;
    memset(d, 0, sizeof *d);
    d->struct_size = sizeof *d;
    d->name = s->name;
    d->ndim = s->ndim;
    if (s->ndim == 1) d->dims[0] = s->cols;
    if (s->ndim == 2) { d->dims[0] = s->rows; d->dims[1] = s->cols; }
    if (s->ndim == 0) n = 1;
    d->scheme = s->scheme;
    d->coding = s->coding;
    d->dtype = s->dtype;
    d->lanes = s->lanes;
    d->pack = s->pack;
    d->stripe_rows = s->stripe;
    d->tile_rows = s->tile_rows;
    d->tile_cols = s->tile_cols;
    if (s->scheme == ECQF_SCHEME_NONE) {
        size_t es = ecqf_dtype_size(s->dtype);
        uint8_t *v = malloc(n * es + 1);
        for (uint64_t i = 0; i < n; i++) {
            float f = (float)((int)(rnd() % 2001) - 1000) / 512.0f;
            if (es == 4) memcpy(v + 4 * i, &f, 4);
            else {
                uint16_t h = s->dtype == ECQF_DTYPE_F16 ? ecqf_f32_to_f16(f) : ecqf_f32_to_bf16(f);
                memcpy(v + 2 * i, &h, 2);
            }
        }
        d->values = v;
        bufs[0] = v;
    } else if (s->scheme == ECQF_SCHEME_ECSQ) {
        int32_t *k = malloc(4 * n + 4);
        int esc = (s->flags & ECQF_ECSQ_HAS_ESCAPE) != 0;
        int lo = -(int)s->zero, hi = (int)s->alphabet - 1 - (int)s->zero - esc;
        float *st;
        size_t np = (s->flags & ECQF_ECSQ_PER_ROW) ? s->rows : 1;
        for (uint64_t i = 0; i < n; i++) {
            int v = (int)(rnd() % 7) - 3 + (int)(rnd() % 3) - 1;
            if (esc && rnd() % 13 == 0) v = (rnd() & 1) ? hi + 1 + (int)(rnd() % 1000) : lo - 1 - (int)(rnd() % 1000);
            else if (v < lo) v = lo;
            else if (v > hi) v = hi;
            k[i] = v;
        }
        d->alphabet = s->alphabet;
        d->zero_code = s->zero;
        d->ecsq_flags = s->flags;
        d->ints = k;
        st = malloc(4 * np);
        for (size_t i = 0; i < np; i++) st[i] = 0.0625f * (float)(i + 1);
        d->params = st;
        d->params_size = 4 * np;
        bufs[0] = k;
        bufs[1] = st;
    } else {
        unsigned Q = 1u << s->bits;
        uint64_t G = s->cols / s->group, np = (uint64_t)s->rows * G * (s->scheme == ECQF_SCHEME_AFFINE ? 2 : 1);
        size_t ps = ecqf_dtype_size((int)s->pdtype);
        uint8_t *c = malloc(n + 1), *p = malloc(np * ps + 1);
        for (uint64_t i = 0; i < n; i++) c[i] = (uint8_t)((Q / 2 + (rnd() % 5) - 2 + Q) % Q);
        for (uint64_t i = 0; i < np; i++) {
            float f = 0.01f * (float)(1 + i % 7);
            if (ps == 4) memcpy(p + 4 * i, &f, 4);
            else {
                uint16_t h = s->pdtype == ECQF_DTYPE_F16 ? ecqf_f32_to_f16(f) : ecqf_f32_to_bf16(f);
                memcpy(p + 2 * i, &h, 2);
            }
        }
        d->bits = s->bits;
        d->group_size = s->group;
        d->param_dtype = (int)s->pdtype;
        d->codes = c;
        d->params = p;
        d->params_size = np * ps;
        bufs[0] = c;
        bufs[1] = p;
    }
}

/* Write one file holding the given tensors (and metadata when meta is set) into corpus/open
 * and corpus/decode. */
static void ecqf_seed(const char *fname, const spec *specs, size_t n, int meta) {
    char tmp[1024];
    ecqf_writer *w;
    ecqf_writer_options o;
    ecqf_error err;
    FILE *f;
    uint8_t *buf;
    long len;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.flags = ECQF_WRITE_OVERWRITE;
    snprintf(tmp, sizeof tmp, "%s/corpus/.mkseeds.ecqf", outdir);
    if (ecqf_writer_create(&w, tmp, &o, &err)) { fprintf(stderr, "%s\n", err.message); exit(1); }
    if (meta) {
        uint64_t u = 42;
        int64_t i = -7;
        double d = 0.5;
        uint8_t b = 1, bytes[5] = {1, 2, 3, 0, 255};
        if (ecqf_writer_add_metadata_string(w, "ecqf.writer", "mkseeds", &err) ||
            ecqf_writer_add_metadata(w, "n.u64", ECQF_META_U64, &u, 8, &err) ||
            ecqf_writer_add_metadata(w, "n.i64", ECQF_META_I64, &i, 8, &err) ||
            ecqf_writer_add_metadata(w, "n.f64", ECQF_META_F64, &d, 8, &err) ||
            ecqf_writer_add_metadata(w, "flag", ECQF_META_BOOL, &b, 1, &err) ||
            ecqf_writer_add_metadata(w, "blob", ECQF_META_BYTES, bytes, 5, &err) ||
            ecqf_writer_add_metadata_string(w, "model.architecture", "t\xc3\xa9st", &err)) {
            fprintf(stderr, "%s\n", err.message);
            exit(1);
        }
    }
    for (size_t i = 0; i < n; i++) {
        ecqf_tensor_desc d;
        void *bufs[2] = {NULL, NULL};
        fill_desc(&specs[i], &d, bufs);
        if (ecqf_writer_add_tensor(w, &d, &err)) { fprintf(stderr, "%s: %s\n", fname, err.message); exit(1); }
        free(bufs[0]);
        free(bufs[1]);
    }
    if (ecqf_writer_finish(w, &err)) { fprintf(stderr, "%s\n", err.message); exit(1); }
    f = fopen(tmp, "rb");
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)len);
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) exit(1);
    fclose(f);
    remove(tmp);
    write_bytes("open", fname, buf, (size_t)len);
    write_bytes("decode", fname, buf, (size_t)len);
    free(buf);
}

#define N ECQF_SCHEME_NONE
#define AF ECQF_SCHEME_AFFINE
#define SY ECQF_SCHEME_SYMMETRIC
#define EC ECQF_SCHEME_ECSQ
#define RAW ECQF_CODING_RAW
#define RANS ECQF_CODING_RANS
#define PFX ECQF_CODING_PREFIX
#define ZS ECQF_CODING_ZSTD

static void ecqf_seeds(void) {
    /* name scheme coding dtype rows cols ndim bits group pdtype Q z flags lanes pack stripe tr tc */
    static const spec one[] = {
        {"none.f32.raw", N, RAW, 0, 3, 5, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"none.f16.zstd", N, ZS, 1, 4, 16, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"none.bf16.raw", N, RAW, 2, 1, 7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"scalar", N, RAW, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"empty", EC, RAW, 0, 0, 8, 2, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0},
        {"affine4.rans", AF, RANS, 1, 4, 64, 2, 4, 32, 1, 0, 0, 0, 8, 2, 2, 4, 64},
        {"affine2.prefix", AF, PFX, 2, 3, 32, 2, 2, 16, 2, 0, 0, 0, 4, 1, 1, 2, 16},
        {"affine8.raw", AF, RAW, 0, 2, 32, 2, 8, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {"sym4.zstd", SY, ZS, 1, 2, 64, 2, 4, 32, 1, 0, 0, 0, 0, 0, 0, 0, 0},
        {"sym8.rans", SY, RANS, 0, 2, 32, 2, 8, 16, 0, 0, 0, 0, 2, 1, 1, 1, 32},
        {"sym3.prefix.p2", SY, PFX, 1, 5, 48, 2, 3, 16, 1, 0, 0, 0, 16, 2, 3, 3, 20},
        {"ecsq.esc.rans", EC, RANS, 0, 6, 40, 2, 0, 0, 0, 8, 3, ECQF_ECSQ_HAS_ESCAPE, 4, 1, 2, 4, 16},
        {"ecsq.row.prefix", EC, PFX, 0, 5, 24, 2, 0, 0, 0, 16, 8, ECQF_ECSQ_PER_ROW, 8, 2, 1, 2, 24},
        {"ecsq.esc.raw", EC, RAW, 0, 3, 20, 2, 0, 0, 0, 6, 2, ECQF_ECSQ_HAS_ESCAPE | ECQF_ECSQ_PER_ROW, 0, 0, 0, 0, 0},
        {"ecsq.esc.zstd", EC, ZS, 0, 4, 30, 2, 0, 0, 0, 12, 6, ECQF_ECSQ_HAS_ESCAPE, 0, 0, 0, 0, 0},
        {"ecsq.q1.prefix", EC, PFX, 0, 2, 10, 2, 0, 0, 0, 1, 0, 0, 1, 1, 1, 2, 10},
        {"ecsq.q256.rans", EC, RANS, 0, 2, 50, 2, 0, 0, 0, 256, 128, ECQF_ECSQ_HAS_ESCAPE, 64, 1, 1, 2, 50},
    };
    char fname[64];
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        snprintf(fname, sizeof fname, "%02zu-%s", i, one[i].name);
        ecqf_seed(fname, &one[i], 1, 0);
    }
    ecqf_seed("20-no-tensors", NULL, 0, 0);
    ecqf_seed("21-metadata-only", NULL, 0, 1);
    ecqf_seed("22-mixed", one, 8, 1);
    ecqf_seed("23-mixed2", one + 8, 9, 1);
}

/* ---- codec inputs (fuzz_codec.c's recipe format) ---------------------------------------- */

static void codec_seed(unsigned idx, int prefix, unsigned pack, unsigned lanes_log2, unsigned stripe,
                       unsigned rows, unsigned cols, unsigned trows, unsigned tcols, unsigned tile,
                       unsigned Q, unsigned param) {
    uint8_t buf[1 << 16];
    size_t n = 0;
    ecqf_tiling tl = {rows, cols, 1u << lanes_log2, pack, stripe, trows, tcols};
    ecqf_tile_geom g;
    uint64_t counts[256] = {0};
    unsigned A = pack == 2 ? 256 : Q;
    uint8_t *codes, *syms;
    size_t written = 0, cap;
    char name[32];
    int rc;
    buf[n++] = (uint8_t)(prefix | (pack == 2 ? 4 : 0));
    buf[n++] = (uint8_t)lanes_log2;
    buf[n++] = (uint8_t)(stripe - 1);
    buf[n++] = (uint8_t)(rows - 1);
    buf[n++] = (uint8_t)((cols - 1) & 255); buf[n++] = (uint8_t)((cols - 1) >> 8);
    buf[n++] = (uint8_t)(trows - 1);
    buf[n++] = (uint8_t)((tcols - 1) & 255); buf[n++] = (uint8_t)((tcols - 1) >> 8);
    buf[n++] = (uint8_t)tile; buf[n++] = 0;
    buf[n++] = (uint8_t)(Q - 1);
    buf[n++] = (uint8_t)(prefix ? param - 1 : param - ECQF_MIN_PRECISION);
    ecqf_tile_geometry(&tl, tile, &g);
    codes = malloc(g.elements);
    syms = malloc(g.symbols + 1);
    for (uint64_t i = 0; i < g.elements; i++) codes[i] = (uint8_t)((rnd() % 3 == 0 ? rnd() : rnd() % 3) % Q);
    ecqf_tile_gather(&tl, &g, codes, syms);
    for (uint64_t i = 0; i < g.symbols; i++) counts[syms[i]]++;
    for (unsigned s = 0; s < A; s++) {
        unsigned c = counts[s] > 255 ? 255 : (unsigned)counts[s];
        if (counts[s] && !c) c = 1;
        if (prefix && pack == 2 && ((s & 15) >= Q || (s >> 4) >= Q)) continue; /* not consumed */
        buf[n++] = (uint8_t)(counts[s] ? (c ? c : 1) : 0);
        counts[s] = counts[s] ? (c ? c : 1) : 0;
    }
    if (prefix) {
        static ecqf_prefix_table pt;
        uint8_t len[256];
        rc = ecqf_prefix_build_lengths(counts, A, param, len);
        if (!rc) rc = ecqf_prefix_table_init(&pt, len, A, param);
        cap = ecqf_prefix_tile_bound(&g, tl.lanes, param);
        if (!rc) rc = ecqf_prefix_encode_tile(&pt, tl.lanes, &g, syms, buf + n, sizeof buf - n < cap ? sizeof buf - n : cap, &written);
    } else {
        static ecqf_rans_table rt;
        uint16_t freq[256];
        rc = ecqf_rans_normalize(counts, A, param, freq);
        if (!rc) rc = ecqf_rans_table_init(&rt, freq, A, param);
        cap = ecqf_rans_tile_bound(&g, tl.lanes);
        if (!rc) rc = ecqf_rans_encode_tile(&rt, tl.lanes, &g, syms, buf + n, sizeof buf - n < cap ? sizeof buf - n : cap, &written);
    }
    if (rc) { fprintf(stderr, "codec seed %u: status %d\n", idx, rc); exit(1); }
    snprintf(name, sizeof name, "%02u-%s", idx, prefix ? "prefix" : "rans");
    write_bytes("codec", name, buf, n + written);
    free(codes);
    free(syms);
}

static void codec_seeds(void) {
    /* idx prefix pack lanes_log2 stripe rows cols trows tcols tile Q param */
    codec_seed(0, 0, 1, 0, 1, 4, 16, 4, 16, 0, 4, 12);
    codec_seed(1, 0, 2, 3, 2, 8, 40, 8, 40, 0, 16, 15);
    codec_seed(2, 0, 1, 5, 4, 16, 100, 8, 64, 3, 256, 10);
    codec_seed(3, 1, 1, 0, 1, 4, 16, 4, 16, 0, 4, 8);
    codec_seed(4, 1, 2, 2, 3, 9, 33, 9, 33, 0, 9, 12);
    codec_seed(5, 1, 1, 6, 1, 3, 200, 3, 130, 1, 40, 12);
    codec_seed(6, 1, 1, 1, 2, 5, 7, 5, 7, 0, 1, 1);
    codec_seed(7, 0, 2, 4, 5, 33, 17, 7, 9, 5, 3, 11);
}

/* ---- round-trip recipes -------------------------------------------------------------------- */

static void roundtrip_seeds(void) {
    for (unsigned i = 0; i < 16; i++) {
        uint8_t b[1500];
        size_t n = 64 + (size_t)(rnd() % (sizeof b - 64));
        char name[32];
        for (size_t k = 0; k < n; k++) b[k] = (uint8_t)rnd();
        b[0] = (uint8_t)(1 + i % 4); /* tensors */
        b[1] = (uint8_t)(i % 3);      /* alignment 64..256 */
        snprintf(name, sizeof name, "%02u-recipe", i);
        write_bytes("roundtrip", name, b, n);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: mkseeds FUZZDIR\n");
        return 2;
    }
    outdir = argv[1];
    mkdirs("open");
    mkdirs("decode");
    mkdirs("codec");
    mkdirs("roundtrip");
    ecqf_seeds();
    codec_seeds();
    roundtrip_seeds();
    return 0;
}
