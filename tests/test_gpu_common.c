/*
 * test_gpu_common.c — see test_gpu_common.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecqf.h"
#include "ecqf_kernels.h"
#include "safetensors.h"
#include "gemv_cases.h"
#include "test_gpu_common.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static unsigned pick(unsigned n) { return (unsigned)(gemv_rnd(&rng) % n); }
static double unif(void) { return gemv_unif(&rng); }
static double gauss(void) { return gemv_gauss(&rng); }

static int failures;

#define CHECK(cond, ...)                                \
    do {                                                \
        if (!(cond)) {                                  \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);               \
            fprintf(stderr, "\n");                      \
            failures++;                                 \
        }                                               \
    } while (0)

static char tmpdir[512];
static const char *tmp_path(const char *leaf) {
    static char p[1024];
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/ecqf-gpu-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(99);
        }
    }
    snprintf(p, sizeof p, "%s/%s", tmpdir, leaf);
    return p;
}

static ecqf_reader *write_and_open(const gemv_built *b, size_t n, const char *leaf) {
    char msg[1024];
    const char *path = tmp_path(leaf);
    ecqf_reader *r = gemv_write_and_open(b, n, path, msg, sizeof msg);
    if (!r) {
        fprintf(stderr, "%s\n", msg);
        exit(99);
    }
    unlink(path);
    return r;
}

static unsigned n_bitexact, n_run, n_unsup;
static double max_rowerr, max_normerr;

/* Run tensor `index` of rd through the backend and compare. */
static void check_tensor(const char *backend, gpu_gemv_fn fn, void *ctx, const ecqf_reader *rd, size_t index,
                         const char *what) {
    ecqf_tensor_info in;
    ecqf_kernel_plan *plan = NULL;
    ecqf_kernel_options ko;
    ecqf_error e;
    float *x, *y, *yr, *wdq;
    double nerr = 0, nref = 0;
    char msg[4096];
    int rc;
    if (ecqf_reader_tensor_info(rd, index, &in)) {
        CHECK(0, "tensor info");
        return;
    }
    x = malloc(in.cols * sizeof *x + 4);
    y = malloc(in.rows * sizeof *y + 4);
    yr = malloc(in.rows * sizeof *yr + 4);
    wdq = malloc(in.numel * sizeof *wdq + 4);
    for (uint64_t c = 0; c < in.cols; c++) x[c] = (float)gauss();
    for (uint64_t r = 0; r < in.rows; r++) y[r] = yr[r] = NAN; /* poison */
    memset(&ko, 0, sizeof ko);
    ko.struct_size = sizeof ko;
    ko.backend = ECQF_KERNEL_SCALAR;
    rc = ecqf_kernel_plan_create(&in, &ko, &plan, &e);
    if (!rc) rc = ecqf_kernel_gemv(plan, NULL, x, yr, &e);
    CHECK(rc == 0, "%s: scalar reference: %s", what, e.message);
    rc = fn(ctx, &in, x, y, msg, sizeof msg);
    if (rc == ECQF_ERR_UNSUPPORTED) {
        n_unsup++;
        fprintf(stderr, "  %s: %s: not run on %s: %s\n", what, ecqf_coding_name(in.coding), backend, msg);
        goto out;
    }
    n_run++;
    CHECK(rc == 0, "%s (%s %s W%u pack%u S%u tile %ux%u, %llux%llu, Q%u%s): %s gemv: %s: %s", what,
          ecqf_scheme_name(in.scheme), ecqf_coding_name(in.coding), in.lanes, in.pack, in.stripe_rows, in.tile_rows,
          in.tile_cols, (unsigned long long)in.rows, (unsigned long long)in.cols, in.alphabet,
          in.escape_count ? " escapes" : "", backend, ecqf_status_name(rc), msg);
    if (rc) goto out;
    if (memcmp(y, yr, in.rows * sizeof *y) == 0) {
        n_bitexact++;
    } else {
        uint64_t r;
        for (r = 0; r < in.rows; r++)
            if (memcmp(&y[r], &yr[r], sizeof *y)) break;
        CHECK(0, "%s (%s %s W%u pack%u S%u tile %ux%u, %llux%llu): %s differs from the scalar backend at row %llu: %.9g vs %.9g",
              what, ecqf_scheme_name(in.scheme), ecqf_coding_name(in.coding), in.lanes, in.pack, in.stripe_rows,
              in.tile_rows, in.tile_cols, (unsigned long long)in.rows, (unsigned long long)in.cols,
              backend, (unsigned long long)r, y[r], yr[r]);
    }
    rc = ecqf_tensor_dequantize(rd, index, ECQF_DTYPE_F32, wdq, in.numel * sizeof *wdq, &e);
    CHECK(rc == 0, "dequantize: %s", e.message);
    for (uint64_t r = 0; r < in.rows && rc == 0; r++) {
        double s = 0, a = 0, d;
        for (uint64_t c = 0; c < in.cols; c++) {
            s += (double)wdq[r * in.cols + c] * x[c];
            a += fabs((double)wdq[r * in.cols + c] * x[c]);
        }
        d = fabs((double)y[r] - s);
        if (a > 0 && d / a > max_rowerr) max_rowerr = d / a;
        CHECK(d <= 1e-5 * a || (a == 0 && y[r] == 0), "%s: row %llu: |y - y64| = %g > 1e-5 * %g", what,
              (unsigned long long)r, d, a);
        nerr += d * d;
        nref += s * s;
    }
    if (nref > 0) {
        double ne = sqrt(nerr / nref);
        if (ne > max_normerr) max_normerr = ne;
        CHECK(ne <= 1e-5, "%s: ||y - y64|| / ||y64|| = %g", what, ne);
    }
out:
    ecqf_kernel_plan_free(plan);
    free(x);
    free(y);
    free(yr);
    free(wdq);
}

static void random_case(gemv_case *tc) {
    static const unsigned lanes[] = {1, 2, 4, 8, 16, 32, 32, 32};
    memset(tc, 0, sizeof *tc);
    tc->scheme = pick(3) == 0 ? ECQF_SCHEME_ECSQ : pick(4) == 0 ? ECQF_SCHEME_SYMMETRIC : ECQF_SCHEME_AFFINE;
    tc->coding = pick(2) ? ECQF_CODING_RANS : ECQF_CODING_PREFIX;
    tc->rows = 1 + pick(pick(4) ? 70 : 300);
    tc->lanes = lanes[pick(8)];
    tc->pack = 1 + pick(2);
    tc->stripe = 1 + pick(6);
    tc->precision = 10 + pick(6);
    tc->max_length = 0; /* default (12) */
    if (tc->scheme == ECQF_SCHEME_ECSQ) {
        tc->cols = 1 + pick(pick(3) ? 100 : 400);
        tc->max_alphabet = pick(2) ? 6 + pick(10) : 12 + pick(40);
        tc->per_row = pick(2);
        tc->step_scale = 0.2 + 0.5 * unif();
    } else {
        static const unsigned groups[] = {16, 32, 64, 128};
        tc->group = groups[pick(4)];
        tc->cols = tc->group * (1 + pick(6));
        tc->bits = pick(3) ? 4 : 2 + pick(7);
        tc->pdtype = (int)pick(3);
    }
    if (pick(2)) {
        tc->trows = 1 + pick((unsigned)tc->rows + 3);
        tc->tcols = 1 + pick((unsigned)tc->cols + 40);
    }
}

static int check_model(const char *backend, gpu_gemv_fn fn, void *ctx, const char *top) {
    const char *dir = getenv("ECQF_MODELS_DIR");
    char path[4096];
    st_model *m = NULL;
    st_error se;
    size_t ntested = 0;
    if (dir && *dir) snprintf(path, sizeof path, "%s/stories260K.safetensors", dir);
    else snprintf(path, sizeof path, "%s/../shared/models/stories260K.safetensors", top);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "%s: stories260K not found at %s (set ECQF_MODELS_DIR): real tensors not checked\n", backend, path);
        return 0;
    }
    if (st_open(&m, path, &se)) {
        CHECK(0, "%s", se.message);
        return 0;
    }
    for (size_t i = 0; i < st_tensor_count(m); i++) {
        const st_tensor *t = st_tensor_at(m, i);
        gemv_case tc[8];
        gemv_built b[8];
        char names[8][16], what[600];
        float *w;
        ecqf_reader *rd;
        if (t->ndim != 2) continue;
        w = malloc(t->numel * sizeof *w);
        if (st_tensor_to_f32(t, w, t->numel)) {
            CHECK(0, "read %s", t->name);
            free(w);
            continue;
        }
        memset(tc, 0, sizeof tc);
        for (unsigned k = 0; k < 8; k++) {
            tc[k].rows = t->shape[0];
            tc[k].cols = t->shape[1];
            tc[k].lanes = k % 3 == 2 ? 16 : 32;
            tc[k].stripe = k % 4 == 3 ? 3 : 4;
            tc[k].pack = k & 1 ? 1 : 2;
            tc[k].coding = k & 2 ? ECQF_CODING_PREFIX : ECQF_CODING_RANS;
            if (k < 4 && tc[k].cols % 64 == 0) {
                tc[k].scheme = ECQF_SCHEME_AFFINE; /* MLX-style 4-bit g64 */
                tc[k].bits = 4;
                tc[k].group = 64;
                tc[k].pdtype = ECQF_DTYPE_F16;
            } else {
                tc[k].scheme = ECQF_SCHEME_ECSQ;
                tc[k].max_alphabet = k & 1 ? 40 : 12;
                tc[k].per_row = 1;
                tc[k].step_scale = 0.3;
            }
            snprintf(names[k], sizeof names[k], "q%u", k);
            if (gemv_build_desc(&b[k], &tc[k], w, names[k])) CHECK(0, "quantize %s", t->name);
        }
        rd = write_and_open(b, 8, "real.ecqf");
        for (unsigned k = 0; k < 8; k++) {
            snprintf(what, sizeof what, "%s/%s", t->name, names[k]);
            check_tensor(backend, fn, ctx, rd, k, what);
            gemv_built_free(&b[k]);
        }
        ecqf_reader_close(rd);
        free(w);
        ntested++;
    }
    st_close(m);
    fprintf(stderr, "%s: %zu tensors of stories260K, 8 quantizations each\n", backend, ntested);
    CHECK(ntested > 0, "no 2-D tensor in %s", path);
    return 0;
}

int gpu_check_all(const char *backend, gpu_gemv_fn fn, void *ctx, unsigned ncases, const char *top) {
    const char *seed = getenv("ECQF_TEST_SEED");
    if (seed && *seed) rng = strtoull(seed, NULL, 0) | 1;
    for (unsigned i = 0; i < ncases; i++) {
        gemv_case tc;
        gemv_built b;
        float *w;
        ecqf_reader *rd;
        char what[64];
        random_case(&tc);
        w = malloc(tc.rows * tc.cols * sizeof *w + 4);
        gemv_make_weights(w, tc.rows, tc.cols, &rng);
        if (gemv_build_desc(&b, &tc, w, "t")) {
            CHECK(0, "quantize case %u", i);
            free(w);
            gemv_built_free(&b);
            continue;
        }
        rd = write_and_open(&b, 1, "case.ecqf");
        snprintf(what, sizeof what, "case %u", i);
        check_tensor(backend, fn, ctx, rd, 0, what);
        ecqf_reader_close(rd);
        gemv_built_free(&b);
        free(w);
    }
    check_model(backend, fn, ctx, top);
    rmdir(tmpdir);
    fprintf(stderr, "%s: %u tensors run, %u bit-exact with the scalar CPU backend, %u not supported; "
            "max row error %.3g, max norm error %.3g (bound 1e-5)\n",
            backend, n_run, n_bitexact, n_unsup, max_rowerr, max_normerr);
    if (n_run == 0) failures++;
    return failures ? 1 : 0;
}
