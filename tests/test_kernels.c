/*
 * test_kernels.c — the CPU kernels and the fast tile decoder.
 *
 *  - fastdec: every ISA this CPU has gives the reference decoder's symbols, on random tiles of
 *    many geometries (lane counts 1..64, pack 1 and 2, partial lane groups, precisions and code
 *    lengths), and its status on corrupted and truncated tiles, which sit against a guard page
 *    so that any read past the tile faults.
 *  - GEMV: y = W x of every backend (scalar = the portable body, AVX2, AVX-512; 1 and 2
 *    threads) against a float64 product over the reference dequantization
 *    (ecqf_tensor_dequantize): per row |y - y_ref| <= 1e-5 * sum_c |w_rc x_c| (for AFFINE, which
 *    the SIMD backends factor as MLX does, the larger of that and the size of the factored
 *    terms, see check_gemv), and ||y - y_ref|| <= 1e-5 ||y_ref||. Random shapes that are not multiples of the lane count or
 *    of the tile size; AFFINE, SYMMETRIC and ECSQ (with escapes); RAW, RANS and PREFIX; pack 1
 *    and 2; lanes 8 to 64; several stripes and tile shapes.
 *  - Real tensors: every 2-D tensor of stories260K ($ECQF_MODELS_DIR; the test says SKIP when
 *    the file is absent).
 *  - Decode-only calls give ecqf_tensor_decode_codes's codes; corrupt files give the reader's
 *    status.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codec.h"
#include "ecqf.h"
#include "ecqf_kernels.h"
#include "fastdec.h"
#include "gemv_cases.h"
#include "safetensors.h"
#include "common/ecqf_kernel_body.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) { return gemv_rnd(&rng_state); }
static double unif(void) { return gemv_unif(&rng_state); }
static double gauss(void) { return gemv_gauss(&rng_state); }
static unsigned urange(unsigned lo, unsigned hi) { return lo + (unsigned)(rnd() % (hi - lo + 1)); }

/* A buffer whose last byte sits just before a PROT_NONE page. */
typedef struct guarded {
    uint8_t *map, *p;
    size_t maplen;
} guarded;
static guarded guard_alloc(size_t n) {
    guarded g;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), body = (n + pg - 1) / pg * pg;
    g.maplen = body + pg;
    g.map = mmap(NULL, g.maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(g.map, MAP_FAILED);
    ck_assert_int_eq(mprotect(g.map + body, pg, PROT_NONE), 0);
    g.p = g.map + body - n;
    return g;
}
static void guard_free(guarded *g) { munmap(g->map, g->maplen); }

static const int isas[] = {ECQF_ISA_SCALAR, ECQF_ISA_AVX2, ECQF_ISA_AVX512};
static const int backends[] = {ECQF_KERNEL_SCALAR, ECQF_KERNEL_AVX2, ECQF_KERNEL_AVX512};

/* ---- fastdec against the reference decoder -------------------------------------------------- */

typedef struct tileset {
    ecqf_tiling tl;
    uint64_t T;
    ecqf_tile_geom *g;
    uint8_t *data;
    size_t *off;
    uint64_t *soff, nsym;
    ecqf_rans_table rt;
    ecqf_prefix_table pt;
    int coding;
} tileset;

/* Random codes of a Gaussian shape over Q values, tiled and encoded with the reference. */
static void tileset_make(tileset *ts, int coding, uint64_t rows, uint64_t cols, unsigned lanes, unsigned pack,
                         unsigned stripe, uint32_t trows, uint32_t tcols, unsigned Q, unsigned prec) {
    uint64_t n = rows * cols, counts[256] = {0}, t, i, r;
    uint8_t *codes = malloc(n + 1), *tc, *sy;
    unsigned A = pack == 2 ? 256 : Q;
    size_t cap = 0;
    double spread = 0.5 + 3.0 * unif();
    memset(ts, 0, sizeof *ts);
    ts->coding = coding;
    ts->tl = (ecqf_tiling){rows, cols, lanes, pack, stripe, trows, tcols};
    ts->T = ecqf_tiling_count(&ts->tl);
    ck_assert(ts->T != UINT64_MAX && ts->T > 0);
    for (i = 0; i < n; i++) {
        int c = (int)floor(gauss() * Q / (2.0 * spread) + Q / 2.0);
        codes[i] = (uint8_t)(c < 0 ? 0 : c >= (int)Q ? (int)Q - 1 : c);
    }
    ts->g = malloc(ts->T * sizeof *ts->g);
    ts->soff = malloc((ts->T + 1) * sizeof *ts->soff);
    ts->off = malloc((ts->T + 1) * sizeof *ts->off);
    tc = malloc(n + 1);
    sy = malloc(n + 1);
    ts->soff[0] = 0;
    for (t = 0; t < ts->T; t++) {
        ecqf_tile_geometry(&ts->tl, t, &ts->g[t]);
        for (r = ts->g[t].r0; r < ts->g[t].r1; r++)
            memcpy(tc + (r - ts->g[t].r0) * (ts->g[t].c1 - ts->g[t].c0), codes + r * cols + ts->g[t].c0,
                   ts->g[t].c1 - ts->g[t].c0);
        ecqf_tile_gather(&ts->tl, &ts->g[t], tc, sy);
        for (i = 0; i < ts->g[t].symbols; i++) counts[sy[i]]++;
        ts->soff[t + 1] = ts->soff[t] + ts->g[t].symbols;
        cap += coding == ECQF_CODING_RANS ? ecqf_rans_tile_bound(&ts->g[t], lanes)
                                          : ecqf_prefix_tile_bound(&ts->g[t], lanes, prec);
    }
    ts->nsym = ts->soff[ts->T];
    if (coding == ECQF_CODING_RANS) {
        uint16_t freq[256];
        ck_assert_int_eq(ecqf_rans_normalize(counts, A, prec, freq), 0);
        ck_assert_int_eq(ecqf_rans_table_init(&ts->rt, freq, A, prec), 0);
    } else {
        uint8_t len[256];
        ck_assert_int_eq(ecqf_prefix_build_lengths(counts, A, prec, len), 0);
        ck_assert_int_eq(ecqf_prefix_table_init(&ts->pt, len, A, prec), 0);
    }
    ts->data = malloc(cap + 4);
    ts->off[0] = 0;
    for (t = 0; t < ts->T; t++) {
        size_t w = 0;
        int rc;
        for (r = ts->g[t].r0; r < ts->g[t].r1; r++)
            memcpy(tc + (r - ts->g[t].r0) * (ts->g[t].c1 - ts->g[t].c0), codes + r * cols + ts->g[t].c0,
                   ts->g[t].c1 - ts->g[t].c0);
        ecqf_tile_gather(&ts->tl, &ts->g[t], tc, sy);
        rc = coding == ECQF_CODING_RANS
                 ? ecqf_rans_encode_tile(&ts->rt, lanes, &ts->g[t], sy, ts->data + ts->off[t], cap - ts->off[t], &w)
                 : ecqf_prefix_encode_tile(&ts->pt, lanes, &ts->g[t], sy, ts->data + ts->off[t], cap - ts->off[t], &w);
        ck_assert_int_eq(rc, 0);
        ts->off[t + 1] = ts->off[t] + w;
    }
    free(codes);
    free(tc);
    free(sy);
}

static void tileset_free(tileset *ts) {
    free(ts->g);
    free(ts->data);
    free(ts->off);
    free(ts->soff);
}

static int ref_decode(const tileset *ts, const uint8_t *in, size_t size, uint64_t t, uint8_t *out) {
    return ts->coding == ECQF_CODING_RANS ? ecqf_rans_decode_tile(&ts->rt, ts->tl.lanes, &ts->g[t], in, size, out)
                                          : ecqf_prefix_decode_tile(&ts->pt, ts->tl.lanes, &ts->g[t], in, size, out);
}

/* All tiles at once through every ISA: the reference's symbols. */
static void check_tileset(const tileset *ts) {
    uint8_t *ref = malloc(ts->nsym + 1), *got = malloc(ts->nsym + 1);
    uint8_t **outp = malloc(ts->T * sizeof *outp);
    const uint8_t **inp = malloc(ts->T * sizeof *inp);
    size_t *sz = malloc(ts->T * sizeof *sz);
    ecqf_fast_rans *fr = NULL;
    ecqf_fast_prefix *fp = NULL;
    uint64_t t;
    unsigned k;
    for (t = 0; t < ts->T; t++) {
        inp[t] = ts->data + ts->off[t];
        sz[t] = ts->off[t + 1] - ts->off[t];
        outp[t] = got + ts->soff[t];
        ck_assert_int_eq(ref_decode(ts, inp[t], sz[t], t, ref + ts->soff[t]), 0);
    }
    if (ts->coding == ECQF_CODING_RANS) ck_assert_int_eq(ecqf_fast_rans_create(&ts->rt, NULL, &fr), 0);
    else ck_assert_int_eq(ecqf_fast_prefix_create(&ts->pt, NULL, &fp), 0);
    for (k = 0; k < 3; k++) {
        int rc;
        if (!ecqf_fast_isa_supported(isas[k])) continue;
        memset(got, 0xA5, ts->nsym + 1);
        rc = fr ? ecqf_fast_rans_decode_tiles(fr, isas[k], ts->tl.lanes, ts->T, ts->g, inp, sz, outp, NULL)
                : ecqf_fast_prefix_decode_tiles(fp, isas[k], ts->tl.lanes, ts->T, ts->g, inp, sz, outp, NULL);
        ck_assert_msg(rc == 0, "isa %s: status %d", ecqf_fast_isa_name(isas[k]), rc);
        ck_assert_msg(memcmp(ref, got, ts->nsym) == 0, "isa %s: symbols differ (%llux%llu lanes %u pack %u)",
                      ecqf_fast_isa_name(isas[k]), (unsigned long long)ts->tl.rows, (unsigned long long)ts->tl.cols,
                      ts->tl.lanes, ts->tl.pack);
    }
    ecqf_fast_rans_free(fr);
    ecqf_fast_prefix_free(fp);
    free(ref);
    free(got);
    free(outp);
    free(inp);
    free(sz);
}

START_TEST(fastdec_random) {
    static const unsigned lane_set[] = {1, 2, 4, 8, 16, 32, 64};
    int iter;
    for (iter = 0; iter < 120; iter++) {
        tileset ts;
        int coding = iter & 1 ? ECQF_CODING_PREFIX : ECQF_CODING_RANS;
        unsigned lanes = iter < 14 ? lane_set[iter / 2] : (rnd() % 4 ? 32 : lane_set[rnd() % 7]);
        unsigned pack = rnd() % 2 ? 2 : 1, Q = pack == 2 ? urange(2, 16) : (rnd() % 3 ? urange(2, 16) : urange(17, 256));
        unsigned prec = coding == ECQF_CODING_RANS ? urange(10, 15) : urange(9, 12);
        uint64_t rows = urange(1, 70), cols = urange(1, 700);
        uint32_t trows = urange(1, 40), tcols = rnd() % 2 ? (uint32_t)cols : urange(1, 300);
        if (coding == ECQF_CODING_PREFIX && pack == 1 && Q > (1u << prec)) prec = 12;
        tileset_make(&ts, coding, rows, cols, lanes, pack, urange(1, 6), trows, tcols, Q, prec);
        check_tileset(&ts);
        tileset_free(&ts);
    }
    /* large tiles with long SIMD runs */
    for (iter = 0; iter < 8; iter++) {
        tileset ts;
        tileset_make(&ts, iter & 1 ? ECQF_CODING_PREFIX : ECQF_CODING_RANS, 64, 1024 + 16 * (uint64_t)iter,
                     iter & 2 ? 64 : 32, iter & 4 ? 2 : 1, 4, 16, 1024 + 16 * (uint32_t)iter, 16,
                     iter & 1 ? 12 : (iter & 2 ? 15 : 12));
        check_tileset(&ts);
        tileset_free(&ts);
    }
}
END_TEST

/* Corrupted and truncated tiles: same status as the reference, no read past the tile. */
START_TEST(fastdec_corrupt) {
    int iter;
    for (iter = 0; iter < 40; iter++) {
        tileset ts;
        int coding = iter & 1 ? ECQF_CODING_PREFIX : ECQF_CODING_RANS;
        unsigned lanes = iter & 2 ? 32 : (iter & 4 ? 16 : 64);
        uint64_t t;
        ecqf_fast_rans *fr = NULL;
        ecqf_fast_prefix *fp = NULL;
        tileset_make(&ts, coding, urange(4, 40), urange(40, 400), lanes, iter & 8 ? 2 : 1, 4, 8, 4096, 16,
                     coding == ECQF_CODING_RANS ? 12 : 11);
        if (fr == NULL && coding == ECQF_CODING_RANS) ck_assert_int_eq(ecqf_fast_rans_create(&ts.rt, NULL, &fr), 0);
        if (fp == NULL && coding == ECQF_CODING_PREFIX) ck_assert_int_eq(ecqf_fast_prefix_create(&ts.pt, NULL, &fp), 0);
        for (t = 0; t < ts.T; t++) {
            size_t size = ts.off[t + 1] - ts.off[t], trial;
            for (trial = 0; trial < 12; trial++) {
                size_t n = size;
                guarded gb;
                uint8_t *ref = malloc(ts.g[t].symbols + 1), *got = malloc(ts.g[t].symbols + 1);
                int rr, k;
                if (trial % 3 == 2 && n >= 4) n = (n - 4 * (1 + rnd() % (n / 4))); /* truncate */
                gb = guard_alloc(n ? n : 1);
                memcpy(gb.p, ts.data + ts.off[t], n);
                if (trial % 3 != 2 && n) gb.p[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
                if (trial == 7 && n >= 2) gb.p[n - 2] ^= 0x01; /* the last word: maybe the padding */
                rr = ref_decode(&ts, gb.p, n, t, ref);
                for (k = 0; k < 3; k++) {
                    int rc;
                    if (!ecqf_fast_isa_supported(isas[k])) continue;
                    rc = fr ? ecqf_fast_rans_decode_tile(fr, isas[k], lanes, &ts.g[t], gb.p, n, got)
                            : ecqf_fast_prefix_decode_tile(fp, isas[k], lanes, &ts.g[t], gb.p, n, got);
                    ck_assert_msg(rc == rr, "isa %s: status %d, reference %d", ecqf_fast_isa_name(isas[k]), rc, rr);
                    if (rr == 0) ck_assert(memcmp(ref, got, ts.g[t].symbols) == 0);
                }
                guard_free(&gb);
                free(ref);
                free(got);
            }
        }
        ecqf_fast_rans_free(fr);
        ecqf_fast_prefix_free(fp);
        tileset_free(&ts);
    }
}
END_TEST

/* ---- GEMV against float64 ------------------------------------------------------------------- */

/* Quantizes and asserts success (the desc is freed with gemv_built_free). */
static void build_desc(gemv_built *b, const gemv_case *tc, const float *w, const char *name) {
    int rc = gemv_build_desc(b, tc, w, name);
    ck_assert_msg(rc == 0, "quantize %s: %s", name, ecqf_status_name(rc));
}

static char tmpdir[256];
static const char *tmp_path(const char *leaf) {
    static char p[512];
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/ecqf-kern-XXXXXX", base && *base ? base : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    }
    snprintf(p, sizeof p, "%s/%s", tmpdir, leaf);
    return p;
}

/* Write the descs to a file and open it. */
static ecqf_reader *write_and_open(const gemv_built *b, size_t n, const char *leaf) {
    char msg[1024];
    ecqf_reader *r = gemv_write_and_open(b, n, tmp_path(leaf), msg, sizeof msg);
    ck_assert_msg(r != NULL, "%s", msg);
    return r;
}

/* AFFINE scale or bias number i of a tensor, as float. */
static double param_at(const ecqf_tensor_info *info, uint64_t i) {
    const uint8_t *p = info->part[ECQF_PART_PARAMS];
    if (info->param_dtype == ECQF_DTYPE_F32) {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    {
        uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
        return info->param_dtype == ECQF_DTYPE_F16 ? ecqf_f16_to_f32(h) : ecqf_bf16_to_f32(h);
    }
}

static double g_max_rowerr, g_max_normerr;
static char g_worst[160];

/* Every backend, 1 and 2 threads, against float64 over the reference dequantization. */
static void check_gemv(const ecqf_reader *rd, size_t index, ecqf_kernel_pool *pool2) {
    ecqf_tensor_info info;
    ecqf_error e;
    float *wdq, *x, *y, *y1 = NULL;
    uint8_t *codes = NULL;
    double *yref, *sabs, nref = 0;
    uint64_t rows, cols, r, c;
    unsigned k;
    ck_assert_int_eq(ecqf_reader_tensor_info(rd, index, &info), 0);
    rows = info.rows;
    cols = info.cols;
    wdq = malloc(info.numel * sizeof *wdq + 4);
    x = malloc(cols * sizeof *x + 4);
    y = malloc(rows * sizeof *y + 4);
    y1 = malloc(rows * sizeof *y1 + 4);
    yref = malloc(rows * sizeof *yref + 8);
    sabs = malloc(rows * sizeof *sabs + 8);
    ck_assert_int_eq(ecqf_tensor_dequantize(rd, index, ECQF_DTYPE_F32, wdq, info.numel * sizeof *wdq, &e), 0);
    for (c = 0; c < cols; c++) x[c] = (float)gauss();
    if (info.scheme == ECQF_SCHEME_AFFINE) {
        codes = malloc(info.numel + 1);
        ck_assert_int_eq(ecqf_tensor_decode_codes(rd, index, codes, info.numel, &e), 0);
    }
    for (r = 0; r < rows; r++) {
        double acc = 0, sa = 0, sf = 0;
        for (c = 0; c < cols; c++) {
            acc += (double)wdq[r * cols + c] * (double)x[c];
            sa += fabs((double)wdq[r * cols + c] * (double)x[c]);
        }
        if (codes) {
            /* the SIMD backends compute AFFINE as MLX does, scale * sum(u x) + bias * sum(x) per
             * group: their rounding is relative to the size of those two terms, which exceeds
             * sum |w x| when scale * u and bias cancel (e.g. a group of zeros and one outlier) */
            uint64_t G = cols / info.group_size, g;
            for (g = 0; g < G; g++) {
                double su = 0, sx = 0, sc = param_at(&info, r * G + g), bi = param_at(&info, rows * G + r * G + g);
                for (c = g * info.group_size; c < (g + 1) * info.group_size; c++) {
                    su += fabs((double)codes[r * cols + c] * (double)x[c]);
                    sx += (double)x[c];
                }
                sf += fabs(sc) * su + fabs(bi * sx);
            }
        }
        yref[r] = acc;
        sabs[r] = sa > sf ? sa : sf;
        nref += acc * acc;
    }
    nref = sqrt(nref);
    for (k = 0; k < 3; k++) {
        ecqf_kernel_plan *plan = NULL;
        ecqf_kernel_options o = {sizeof o, backends[k], NULL};
        int th;
        if (!ecqf_kernel_backend_supported(backends[k])) continue;
        ck_assert_msg(ecqf_kernel_plan_create(&info, &o, &plan, &e) == 0, "plan: %s", e.message);
        ck_assert_int_eq(ecqf_kernel_plan_backend(plan), backends[k]);
        for (th = 0; th < 2; th++) {
            double nerr = 0;
            int rc;
            for (r = 0; r < rows; r++) y[r] = NAN;
            rc = ecqf_kernel_gemv(plan, th ? pool2 : NULL, x, y, &e);
            ck_assert_msg(rc == 0, "gemv %.*s backend %s: %s", (int)info.name_length, info.name,
                          ecqf_kernel_backend_name(backends[k]), e.message);
            for (r = 0; r < rows; r++) {
                double d = fabs((double)y[r] - yref[r]), tol = 1e-5 * sabs[r] + 1e-30;
                ck_assert_msg(d <= tol, "%.*s (%s %s) backend %s threads %d row %llu: %.9g vs %.9g (|wx| %.3g)",
                              (int)info.name_length, info.name, ecqf_scheme_name(info.scheme),
                              ecqf_coding_name(info.coding), ecqf_kernel_backend_name(backends[k]), th + 1,
                              (unsigned long long)r, (double)y[r], yref[r], sabs[r]);
                if (sabs[r] > 0 && d / sabs[r] > g_max_rowerr) {
                    g_max_rowerr = d / sabs[r];
                    snprintf(g_worst, sizeof g_worst, "%s %s %llux%llu lanes %u pack %u backend %s",
                             ecqf_scheme_name(info.scheme), ecqf_coding_name(info.coding), (unsigned long long)rows,
                             (unsigned long long)cols, info.lanes, info.pack, ecqf_kernel_backend_name(backends[k]));
                }
                nerr += d * d;
            }
            nerr = sqrt(nerr);
            if (nref > 0) {
                ck_assert_msg(nerr <= 1e-5 * nref, "%.*s: norm-wise relative error %.3g", (int)info.name_length,
                              info.name, nerr / nref);
                if (nerr / nref > g_max_normerr) g_max_normerr = nerr / nref;
            }
            /* the thread count never changes the result */
            if (th == 0) memcpy(y1, y, rows * sizeof *y);
            else ck_assert(memcmp(y1, y, rows * sizeof *y) == 0);
        }
        /* decoding alone: the reader's codes */
        if (info.scheme != ECQF_SCHEME_NONE) {
            uint8_t *c1 = malloc(info.numel + 1), *c2 = malloc(info.numel + 1);
            ck_assert_int_eq(ecqf_tensor_decode_codes(rd, index, c1, info.numel, &e), 0);
            ck_assert_int_eq(ecqf_kernel_decode(plan, pool2, c2, info.numel, &e), 0);
            ck_assert(memcmp(c1, c2, info.numel) == 0);
            ck_assert_int_eq(ecqf_kernel_decode(plan, NULL, NULL, 0, &e), 0);
            free(c1);
            free(c2);
        }
        ecqf_kernel_plan_free(plan);
    }
    free(wdq);
    free(codes);
    free(x);
    free(y);
    free(y1);
    free(yref);
    free(sabs);
}

static void random_case(gemv_case *tc, int iter) {
    static const unsigned groups[] = {16, 32, 64, 128};
    static const unsigned lanes[] = {8, 16, 32, 32, 64};
    memset(tc, 0, sizeof *tc);
    tc->scheme = iter % 3 == 0 ? ECQF_SCHEME_AFFINE : iter % 3 == 1 ? ECQF_SCHEME_ECSQ : ECQF_SCHEME_SYMMETRIC;
    tc->coding = (iter / 3) % 3 == 0 ? ECQF_CODING_RANS : (iter / 3) % 3 == 1 ? ECQF_CODING_PREFIX : ECQF_CODING_RAW;
    tc->rows = urange(1, 90);
    if (tc->scheme == ECQF_SCHEME_ECSQ) {
        tc->cols = urange(1, 500);
        tc->max_alphabet = rnd() % 2 ? 16 : urange(5, 40);
        tc->per_row = rnd() % 4 != 0;
        tc->step_scale = 0.2 + unif();
    } else {
        tc->group = groups[rnd() % 4];
        tc->cols = tc->group * urange(1, 12);
        tc->bits = rnd() % 3 ? 4 : urange(2, 8);
        tc->pdtype = (int)(rnd() % 3);
    }
    tc->lanes = lanes[rnd() % 5];
    tc->pack = rnd() % 2 ? 2 : 1;
    tc->stripe = urange(1, 5);
    tc->trows = rnd() % 3 ? urange(1, 40) : 0;
    tc->tcols = rnd() % 2 ? urange(1, (unsigned)tc->cols + 40) : 0;
    tc->precision = rnd() % 2 ? urange(10, 15) : 0;
    tc->max_length = rnd() % 2 ? urange(9, 12) : 0;
    if (tc->scheme != ECQF_SCHEME_ECSQ && tc->bits > 4) tc->pack = 1;
}

START_TEST(gemv_random) {
    enum { PER_FILE = 9 };
    ecqf_kernel_pool *pool2 = NULL;
    int file;
    ck_assert_int_eq(ecqf_kernel_pool_create(2, &pool2), 0);
    for (file = 0; file < 8; file++) {
        gemv_built b[PER_FILE];
        char names[PER_FILE][16];
        ecqf_reader *rd;
        float *w[PER_FILE];
        int i;
        for (i = 0; i < PER_FILE; i++) {
            gemv_case tc;
            random_case(&tc, file * PER_FILE + i);
            w[i] = malloc(tc.rows * tc.cols * sizeof(float) + 4);
            gemv_make_weights(w[i], tc.rows, tc.cols, &rng_state);
            snprintf(names[i], sizeof names[i], "t%d", i);
            build_desc(&b[i], &tc, w[i], names[i]);
        }
        rd = write_and_open(b, PER_FILE, "random.ecqf");
        for (i = 0; i < PER_FILE; i++) {
            check_gemv(rd, (size_t)i, pool2);
            gemv_built_free(&b[i]);
            free(w[i]);
        }
        ecqf_reader_close(rd);
    }
    /* larger shapes: thread split, several tiles per row, the 4-bit RAW fast path */
    {
        gemv_case tcs[6];
        gemv_built b[6];
        float *w[6];
        const char *nm[6] = {"a", "b", "c", "d", "e", "f"};
        ecqf_reader *rd;
        int i;
        memset(tcs, 0, sizeof tcs);
        for (i = 0; i < 6; i++) {
            tcs[i].rows = 300 + 7 * (uint64_t)i;
            tcs[i].cols = 1024;
            tcs[i].scheme = ECQF_SCHEME_AFFINE;
            tcs[i].bits = 4;
            tcs[i].group = 64;
            tcs[i].pdtype = ECQF_DTYPE_F16;
            tcs[i].lanes = 32;
            tcs[i].stripe = 4;
        }
        tcs[0].coding = ECQF_CODING_RAW;
        tcs[1].coding = ECQF_CODING_RANS;
        tcs[1].precision = 12;
        tcs[2].coding = ECQF_CODING_PREFIX;
        tcs[3].coding = ECQF_CODING_RANS;
        tcs[3].pack = 1;
        tcs[3].tcols = 300;
        tcs[3].trows = 24;
        tcs[4].coding = ECQF_CODING_PREFIX;
        tcs[4].pack = 1;
        tcs[4].tcols = 512;
        tcs[5].scheme = ECQF_SCHEME_ECSQ;
        tcs[5].coding = ECQF_CODING_RANS;
        tcs[5].max_alphabet = 12;
        tcs[5].per_row = 1;
        tcs[5].step_scale = 0.3;
        for (i = 0; i < 6; i++) {
            w[i] = malloc(tcs[i].rows * tcs[i].cols * sizeof(float));
            gemv_make_weights(w[i], tcs[i].rows, tcs[i].cols, &rng_state);
            build_desc(&b[i], &tcs[i], w[i], nm[i]);
        }
        rd = write_and_open(b, 6, "large.ecqf");
        for (i = 0; i < 6; i++) {
            check_gemv(rd, (size_t)i, pool2);
            gemv_built_free(&b[i]);
            free(w[i]);
        }
        ecqf_reader_close(rd);
    }
    fprintf(stderr, "test_kernels: max per-row error %.3g of sum|wx| (%s), max norm-wise relative error %.3g\n",
            g_max_rowerr, g_worst, g_max_normerr);
    ecqf_kernel_pool_free(pool2);
}
END_TEST

/* NONE tensors (F32, F16, BF16) through the same API. */
START_TEST(gemv_none) {
    static const int dts[] = {ECQF_DTYPE_F32, ECQF_DTYPE_F16, ECQF_DTYPE_BF16};
    gemv_built b[3];
    ecqf_reader *rd;
    const char *nm[3] = {"f32", "f16", "bf16"};
    int i;
    for (i = 0; i < 3; i++) {
        uint64_t rows = 37 + (uint64_t)i, cols = 77 + 100 * (uint64_t)i, n = rows * cols, k;
        float *w = malloc(n * sizeof *w);
        void *vals = malloc(n * 4);
        gemv_make_weights(w, rows, cols, &rng_state);
        for (k = 0; k < n; k++) {
            if (dts[i] == ECQF_DTYPE_F32) ((float *)vals)[k] = w[k];
            else if (dts[i] == ECQF_DTYPE_F16) ((uint16_t *)vals)[k] = ecqf_f32_to_f16(w[k]);
            else ((uint16_t *)vals)[k] = ecqf_f32_to_bf16(w[k]);
        }
        memset(&b[i], 0, sizeof b[i]);
        b[i].d.struct_size = sizeof b[i].d;
        b[i].d.name = nm[i];
        b[i].d.ndim = 2;
        b[i].d.dims[0] = rows;
        b[i].d.dims[1] = cols;
        b[i].d.scheme = ECQF_SCHEME_NONE;
        b[i].d.coding = ECQF_CODING_RAW;
        b[i].d.dtype = dts[i];
        b[i].d.values = vals;
        b[i].buf[0] = vals;
        free(w);
    }
    rd = write_and_open(b, 3, "none.ecqf");
    for (i = 0; i < 3; i++) {
        check_gemv(rd, (size_t)i, NULL);
        gemv_built_free(&b[i]);
    }
    ecqf_reader_close(rd);
}
END_TEST

/* Every 2-D tensor of stories260K, quantized several ways. */
START_TEST(gemv_real) {
    const char *dir = getenv("ECQF_MODELS_DIR");
    char path[1024];
    st_model *m = NULL;
    st_error se;
    ecqf_kernel_pool *pool2 = NULL;
    size_t i, ntested = 0;
    snprintf(path, sizeof path, "%s/stories260K.safetensors", dir && *dir ? dir : "../shared/models");
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "SKIP: test_kernels gemv_real: %s not found (set ECQF_MODELS_DIR)\n", path);
        return;
    }
    ck_assert_msg(st_open(&m, path, &se) == 0, "%s", se.message);
    ck_assert_int_eq(ecqf_kernel_pool_create(2, &pool2), 0);
    for (i = 0; i < st_tensor_count(m); i++) {
        const st_tensor *t = st_tensor_at(m, i);
        float *w;
        gemv_built b[8];
        gemv_case tc[8];
        size_t nb = 0, k;
        ecqf_reader *rd;
        char names[8][8];
        if (t->ndim != 2) continue;
        w = malloc(t->numel * sizeof *w);
        ck_assert_int_eq(st_tensor_to_f32(t, w, t->numel), 0);
        memset(tc, 0, sizeof tc);
        for (k = 0; k < 8; k++) {
            tc[k].rows = t->shape[0];
            tc[k].cols = t->shape[1];
            tc[k].lanes = k % 3 == 0 ? 32 : k % 3 == 1 ? 16 : 64;
            tc[k].stripe = 4;
            tc[k].pack = k & 1 ? 1 : 2;
            tc[k].coding = k & 2 ? ECQF_CODING_PREFIX : ECQF_CODING_RANS;
        }
        /* AFFINE 4-bit g32 (MLX-style) where the width allows it, else ECSQ; then ECSQ */
        for (k = 0; k < 4; k++) {
            if (tc[k].cols % 32 == 0) {
                tc[k].scheme = ECQF_SCHEME_AFFINE;
                tc[k].bits = 4;
                tc[k].group = 32;
                tc[k].pdtype = ECQF_DTYPE_F16;
            } else {
                tc[k].scheme = ECQF_SCHEME_ECSQ;
                tc[k].max_alphabet = 16;
                tc[k].per_row = 1;
                tc[k].step_scale = 0.35;
            }
        }
        for (k = 4; k < 8; k++) {
            tc[k].scheme = ECQF_SCHEME_ECSQ;
            tc[k].max_alphabet = k & 1 ? 40 : 12;
            tc[k].per_row = 1;
            tc[k].step_scale = 0.3;
        }
        for (k = 0; k < 8; k++) {
            snprintf(names[k], sizeof names[k], "q%zu", k);
            build_desc(&b[nb++], &tc[k], w, names[k]);
        }
        rd = write_and_open(b, nb, "real.ecqf");
        for (k = 0; k < nb; k++) {
            check_gemv(rd, k, pool2);
            gemv_built_free(&b[k]);
        }
        ecqf_reader_close(rd);
        free(w);
        ntested++;
    }
    fprintf(stderr, "test_kernels gemv_real: %zu tensors of stories260K, 8 quantizations each\n", ntested);
    ck_assert(ntested > 0);
    ecqf_kernel_pool_free(pool2);
    st_close(m);
}
END_TEST

/* Corrupt data parts: every backend fails exactly when the reader's decoder fails, with its
 * status; the file ends at a guard page. */
START_TEST(gemv_corrupt) {
    gemv_case tcs[4];
    gemv_built b[4];
    float *w[4];
    const char *nm[4] = {"r", "p", "e", "q"};
    ecqf_reader *rd;
    ecqf_error e;
    FILE *f;
    uint8_t *file;
    long fsize;
    int i, trial;
    memset(tcs, 0, sizeof tcs);
    for (i = 0; i < 4; i++) {
        tcs[i].rows = 40;
        tcs[i].cols = 200;
        tcs[i].lanes = 32;
        tcs[i].stripe = 4;
        tcs[i].trows = 8;
        tcs[i].scheme = ECQF_SCHEME_ECSQ;
        tcs[i].max_alphabet = 10;
        tcs[i].per_row = 1;
        tcs[i].step_scale = 0.25;
        tcs[i].coding = i & 1 ? ECQF_CODING_PREFIX : ECQF_CODING_RANS;
        tcs[i].pack = i & 2 ? 1 : 2;
        w[i] = malloc(tcs[i].rows * tcs[i].cols * sizeof(float));
        gemv_make_weights(w[i], tcs[i].rows, tcs[i].cols, &rng_state);
        build_desc(&b[i], &tcs[i], w[i], nm[i]);
    }
    rd = write_and_open(b, 4, "corrupt.ecqf");
    ecqf_reader_close(rd);
    f = fopen(tmp_path("corrupt.ecqf"), "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    fsize = ftell(f);
    fseek(f, 0, SEEK_SET);
    file = malloc((size_t)fsize);
    ck_assert_int_eq(fread(file, 1, (size_t)fsize, f), (size_t)fsize);
    fclose(f);
    for (trial = 0; trial < 160; trial++) {
        size_t idx = (size_t)(trial % 4);
        guarded gb = guard_alloc((size_t)fsize);
        ecqf_tensor_info info;
        uint8_t *codes;
        int rr, k;
        memcpy(gb.p, file, (size_t)fsize);
        ck_assert_int_eq(ecqf_reader_open_memory(&rd, gb.p, (size_t)fsize, NULL, &e), 0);
        ck_assert_int_eq(ecqf_reader_tensor_info(rd, idx, &info), 0);
        gb.p[info.part_offset[ECQF_PART_DATA] + rnd() % info.part_size[ECQF_PART_DATA]] ^= (uint8_t)(1u << (rnd() % 8));
        codes = malloc(info.numel);
        rr = ecqf_tensor_decode_codes(rd, idx, codes, info.numel, &e);
        for (k = 0; k < 3; k++) {
            ecqf_kernel_plan *plan = NULL;
            ecqf_kernel_options o = {sizeof o, backends[k], NULL};
            float *x = calloc(info.cols, sizeof *x), *y = malloc(info.rows * sizeof *y);
            int rc;
            if (!ecqf_kernel_backend_supported(backends[k])) {
                free(x);
                free(y);
                continue;
            }
            ck_assert_int_eq(ecqf_kernel_plan_create(&info, &o, &plan, &e), 0);
            rc = ecqf_kernel_gemv(plan, NULL, x, y, &e);
            ck_assert_msg(rc == rr, "backend %s: gemv status %d, reader %d", ecqf_kernel_backend_name(backends[k]), rc, rr);
            rc = ecqf_kernel_decode(plan, NULL, NULL, 0, &e);
            ck_assert_msg(rc == rr, "backend %s: decode status %d, reader %d", ecqf_kernel_backend_name(backends[k]), rc, rr);
            ecqf_kernel_plan_free(plan);
            free(x);
            free(y);
        }
        free(codes);
        ecqf_reader_close(rd);
        guard_free(&gb);
    }
    free(file);
    for (i = 0; i < 4; i++) {
        gemv_built_free(&b[i]);
        free(w[i]);
    }
}
END_TEST

/* The portable body's pieces: f16 conversion and the reduction tree. */
START_TEST(body_pieces) {
    uint32_t h;
    float v[64];
    unsigned W, l;
    for (h = 0; h < 65536; h++) {
        float a = ecqf_f16_to_f32((uint16_t)h), b = ecqf_kb_half(h);
        if (isnan(a)) ck_assert(isnan(b));
        else ck_assert_msg(memcmp(&a, &b, 4) == 0, "half %04x", h);
    }
    /* the tree sums exactly when the values are small integers */
    for (W = 1; W <= 64; W *= 2) {
        for (l = 0; l < W; l++) v[l] = (float)l;
        ck_assert(ecqf_kb_tree_sum(v, W) == (float)(W * (W - 1) / 2));
    }
    /* RAW bit extraction */
    {
        static const uint8_t d[4] = {0x21, 0x43, 0x65, 0x87};
        for (l = 0; l < 8; l++) ck_assert_uint_eq(ecqf_kb_raw_code(d, l, 4), l + 1);
        ck_assert_uint_eq(ecqf_kb_raw_code(d, 1, 12), 0x654u);
    }
}
END_TEST

static Suite *kernels_suite(void) {
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, body_pieces);
    tcase_add_test(tc, fastdec_random);
    tcase_add_test(tc, fastdec_corrupt);
    tcase_add_test(tc, gemv_none);
    tcase_add_test(tc, gemv_random);
    tcase_add_test(tc, gemv_real);
    tcase_add_test(tc, gemv_corrupt);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(kernels_suite());
    const char *seed = getenv("ECQF_TEST_SEED");
    int failed;
    if (seed && *seed) rng_state = strtoull(seed, NULL, 0) | 1u; /* to replay other random cases */
    fprintf(stderr, "test_kernels: best backend %s\n", ecqf_kernel_backend_name(ecqf_kernel_backend_best()));
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (tmpdir[0]) {
        char cmd[600];
        remove(tmp_path("random.ecqf"));
        remove(tmp_path("large.ecqf"));
        remove(tmp_path("none.ecqf"));
        remove(tmp_path("real.ecqf"));
        remove(tmp_path("corrupt.ecqf"));
        snprintf(cmd, sizeof cmd, "%s", tmpdir);
        rmdir(cmd);
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
