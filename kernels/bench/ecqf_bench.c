/*
 * ecqf-bench — side-by-side speed of ECQF's CPU kernels and their baselines, in one process.
 *
 * For each matrix shape it quantizes the weights once (MLX-style affine, 4 bits, groups of 64,
 * f16 scales and biases) and stores the same codes several ways in one temporary .ecqf file;
 * then, for 1 and 2 threads, warm (repeated calls, the data stays in whatever cache holds it)
 * and cold (a 128 MiB read evicts the caches before every call), it times:
 *   (a) entropy decoding alone, rANS and prefix code (decoded weights/s);
 *   (b) fused decode + dequantize + GEMV (weights/s, GB/s of the tensor's bytes read);
 *   (c) plain packed 4-bit GEMV of the same quantization (the RAW coding: 2 codes per byte);
 *   (d) f32 GEMV (scheme NONE);
 *   (e) zstd decompression of the same codes, packed 4-bit and one code per byte, with the
 *       ratio; and htscodecs' 32-way rANS (order 0) on the same two inputs when its shared
 *       library can be loaded (optional peer).
 * Timing: clock_gettime(CLOCK_MONOTONIC), median of --reps samples, each sample long enough
 * (>= 2 ms) for the clock. Nothing here asserts a speed.
 *
 * Shapes: every distinct 2-D shape of the models given with --model (default: stories260K from
 * $ECQF_MODELS_DIR or ../shared/models), with their real weights; and with --large, 4096x4096,
 * 11008x4096 and 4096x11008 whose weights resample the real model's statistics: each row's
 * standard deviation is drawn from the real rows' standard deviations and each weight is that
 * times a value drawn from the pooled, per-row standardized real weights (heavy tails kept).
 *
 * Output: a table on stdout and, with --json FILE, every number as JSON.
 */
#define _DEFAULT_SOURCE /* dlopen flags, MAP_* */
#include <dlfcn.h>
#include <pthread.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "ecqf.h"
#include "ecqf_kernels.h"
#include "safetensors.h"

/* ---- options ------------------------------------------------------------------------------ */

typedef struct opts {
    const char *models[8];
    int nmodels;
    int large, reps, zstd_level, quick, cold, warm, only_large, threads_max, membw;
    unsigned precision;
    const char *json;
    const char *tmp;
} opts;

static void usage(void) {
    fprintf(stderr,
            "usage: ecqf-bench [--model FILE.safetensors]... [--large] [--only-large] [--reps N]\n"
            "                  [--precision P] [--zstd-level L] [--threads N] [--no-cold] [--no-warm]\n"
            "                  [--quick] [--membw] [--json FILE] [--tmp DIR]\n");
}

/* ---- timing ------------------------------------------------------------------------------- */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint8_t *flush_buf;
static size_t flush_size = (size_t)128 << 20;
static volatile uint64_t flush_sink;

/* Read 128 MiB so that no cache level holds the data of the next call. */
static void flush_caches(void) {
    const uint64_t *p = (const uint64_t *)(const void *)flush_buf;
    uint64_t s = 0;
    size_t i;
    for (i = 0; i < flush_size / 8; i += 8) s += p[i];
    flush_sink += s;
}

typedef int (*bench_fn)(void *arg);

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Process CPU time / wall time of the last time_call: about the thread count when the
 * threads really ran in parallel; less when other jobs held the cores. */
static double last_util;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median seconds per call. Warm: calls are batched so that a sample lasts >= 2 ms. */
static double time_call(bench_fn fn, void *arg, int reps, int cold) {
    double samples[101], t0, w_all = 0, c0;
    int inner = 1, i, k;
    if (reps > 101) reps = 101;
    if (fn(arg)) return NAN; /* warm-up, and the status */
    if (!cold) {
        for (;;) {
            t0 = now();
            for (k = 0; k < inner; k++) fn(arg);
            if (now() - t0 >= 2e-3 || inner >= (1 << 20)) break;
            inner *= 2;
        }
    }
    c0 = 0;
    for (i = 0; i < reps; i++) {
        double c1;
        if (cold) flush_caches();
        c1 = cpu_now();
        t0 = now();
        for (k = 0; k < inner; k++) fn(arg);
        samples[i] = (now() - t0) / inner;
        c0 += cpu_now() - c1;
        w_all += samples[i] * inner;
    }
    last_util = w_all > 0 ? c0 / w_all : 0;
    qsort(samples, (size_t)reps, sizeof samples[0], cmp_double);
    return samples[reps / 2];
}

/* ---- JSON and table ----------------------------------------------------------------------- */

static FILE *jf;
static int jfirst = 1;
static double rec_util; /* CPU seconds per wall second of the row being recorded */

static void jrec(const char *shape, const char *tensor, int threads, const char *cache, const char *what, double sec,
                 double weights, double bytes, double bits_per_weight) {
    if (!jf) return;
    fprintf(jf, "%s\n    {\"shape\": \"%s\", \"tensor\": \"%s\", \"threads\": %d, \"cache\": \"%s\", \"what\": \"%s\", "
                "\"seconds\": %.9g, \"gweights_per_s\": %.6g, \"gbytes_per_s\": %.6g, \"bits_per_weight\": %.6g, \"cpu_util\": %.3g}",
            jfirst ? "" : ",", shape, tensor, threads, cache, what, sec, weights / sec * 1e-9,
            bytes > 0 ? bytes / sec * 1e-9 : 0.0, bits_per_weight, rec_util);
    jfirst = 0;
}

/* ---- weights -------------------------------------------------------------------------------- */

static uint64_t rs = 0x2545F4914F6CDD1Dull;
static uint64_t rnd64(void) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}
static double gauss(void) {
    double u = (double)(rnd64() >> 11) * (1.0 / 9007199254740992.0) + 1e-300;
    double v = (double)(rnd64() >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Pooled statistics of real weights: standardized values and row standard deviations. */
typedef struct stats {
    float *z;
    size_t nz;
    float *sd;
    size_t nsd;
    const char *source;
} stats;

static void stats_add(stats *s, const float *w, uint64_t rows, uint64_t cols) {
    uint64_t r, c;
    s->z = realloc(s->z, (s->nz + rows * cols) * sizeof *s->z);
    s->sd = realloc(s->sd, (s->nsd + rows) * sizeof *s->sd);
    for (r = 0; r < rows; r++) {
        double m = 0, v = 0;
        for (c = 0; c < cols; c++) m += w[r * cols + c];
        m /= (double)cols;
        for (c = 0; c < cols; c++) v += (w[r * cols + c] - m) * (w[r * cols + c] - m);
        v = sqrt(v / (double)cols) + 1e-12;
        s->sd[s->nsd++] = (float)v;
        for (c = 0; c < cols; c++) s->z[s->nz++] = (float)(w[r * cols + c] / v);
    }
}

static void synth_weights(const stats *s, float *w, uint64_t rows, uint64_t cols) {
    uint64_t r, c;
    for (r = 0; r < rows; r++) {
        double sd = s->nsd ? s->sd[rnd64() % s->nsd] : 0.02;
        for (c = 0; c < cols; c++) w[r * cols + c] = (float)(sd * (s->nz ? s->z[rnd64() % s->nz] : gauss()));
    }
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/* ---- the stored variants ------------------------------------------------------------------- */

enum { V_RAW4, V_RANS2, V_PREFIX2, V_RANS1, V_PREFIX1, V_F32, V_RANS2_15, V_COUNT };
static const char *vname[V_COUNT] = {"raw4", "rans-p2", "prefix-p2", "rans-p1", "prefix-p1", "f32", "rans-p2-prec15"};

typedef struct shape_run {
    char label[64];
    uint64_t rows, cols;
    const float *w;
} shape_run;

static int add_variant(ecqf_writer *wr, int v, const shape_run *sr, const uint8_t *codes, const uint8_t *params,
                       size_t params_size, unsigned precision) {
    ecqf_tensor_desc d;
    ecqf_error e;
    int rc;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.name = vname[v];
    d.ndim = 2;
    d.dims[0] = sr->rows;
    d.dims[1] = sr->cols;
    d.dtype = ECQF_DTYPE_F32;
    if (v == V_F32) {
        d.scheme = ECQF_SCHEME_NONE;
        d.coding = ECQF_CODING_RAW;
        d.values = sr->w;
    } else {
        d.scheme = ECQF_SCHEME_AFFINE;
        d.bits = 4;
        d.group_size = 64;
        d.param_dtype = ECQF_DTYPE_F16;
        d.codes = codes;
        d.params = params;
        d.params_size = params_size;
        d.lanes = 32;
        d.stripe_rows = 4;
        d.coding = v == V_RAW4 ? ECQF_CODING_RAW
                   : (v == V_RANS2 || v == V_RANS1 || v == V_RANS2_15) ? ECQF_CODING_RANS
                                                                       : ECQF_CODING_PREFIX;
        d.pack = (v == V_RANS1 || v == V_PREFIX1) ? 1 : 2;
        if (d.coding == ECQF_CODING_RANS) d.precision = v == V_RANS2_15 ? 15 : precision;
        if (d.coding == ECQF_CODING_PREFIX) d.max_length = 12;
    }
    rc = ecqf_writer_add_tensor(wr, &d, &e);
    if (rc) fprintf(stderr, "ecqf-bench: %s/%s: %s\n", sr->label, vname[v], e.message);
    return rc;
}

/* ---- callables ----------------------------------------------------------------------------- */

typedef struct gemv_arg {
    const ecqf_kernel_plan *plan;
    ecqf_kernel_pool *pool;
    const float *x;
    float *y;
} gemv_arg;

static int do_gemv(void *a) {
    gemv_arg *g = a;
    return ecqf_kernel_gemv(g->plan, g->pool, g->x, g->y, NULL);
}
static int do_decode(void *a) {
    gemv_arg *g = a;
    return ecqf_kernel_decode(g->plan, g->pool, NULL, 0, NULL);
}

typedef struct zstd_arg {
    const void *src;
    size_t src_size;
    void *dst;
    size_t dst_size;
} zstd_arg;

static int do_zstd(void *a) {
    zstd_arg *z = a;
    size_t r = ZSTD_decompress(z->dst, z->dst_size, z->src, z->src_size);
    return ZSTD_isError(r) || r != z->dst_size;
}

typedef unsigned char *(*hts_comp_fn)(unsigned char *, unsigned int, unsigned char *, unsigned int *, int);
typedef unsigned char *(*hts_uncomp_fn)(unsigned char *, unsigned int, unsigned char *, unsigned int *);
typedef unsigned int (*hts_bound_fn)(unsigned int, int);
static hts_comp_fn hts_comp;
static hts_uncomp_fn hts_uncomp;
static hts_bound_fn hts_bound;

typedef struct hts_arg {
    unsigned char *src;
    unsigned int src_size;
    unsigned char *dst;
    unsigned int dst_size;
} hts_arg;

static int do_hts(void *a) {
    hts_arg *h = a;
    unsigned int n = h->dst_size;
    return hts_uncomp(h->src, h->src_size, h->dst, &n) == NULL || n != h->dst_size;
}

static void hts_load(void) {
    void *lib = dlopen("libhtscodecs.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libhtscodecs.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    *(void **)(&hts_comp) = dlsym(lib, "rans_compress_to_4x16");
    *(void **)(&hts_uncomp) = dlsym(lib, "rans_uncompress_to_4x16");
    *(void **)(&hts_bound) = dlsym(lib, "rans_compress_bound_4x16");
    if (!hts_comp || !hts_uncomp || !hts_bound) hts_comp = NULL;
}

/* ---- one shape ------------------------------------------------------------------------------ */

typedef struct row_result {
    double t[8];
} row_result;

static double entropy_bits(const uint64_t *h, size_t n, uint64_t total) {
    double e = 0;
    size_t i;
    for (i = 0; i < n; i++)
        if (h[i]) e -= (double)h[i] / (double)total * log2((double)h[i] / (double)total);
    return e;
}

static void print_rule(void) {
    printf("-------------------------------------------------------------------------------------------------------------\n");
}

static int bench_shape(const opts *o, shape_run *sr) {
    const uint64_t rows = sr->rows, cols = sr->cols, n = rows * cols;
    const size_t G = (size_t)(cols / 64);
    uint8_t *codes = malloc(n + 1), *params = malloc(2 * rows * G * 2 + 1);
    uint8_t *packed = NULL, *zp = NULL, *zb = NULL, *dec = NULL;
    char path[512];
    ecqf_writer *wr = NULL;
    ecqf_reader *rd = NULL;
    ecqf_writer_options wo;
    ecqf_error e;
    ecqf_kernel_plan *plan[V_COUNT] = {NULL};
    ecqf_tensor_info info[V_COUNT];
    double bpw[V_COUNT], sqnr = 0, h0, h2;
    uint64_t hist[16] = {0}, hist2[256] = {0}, i;
    size_t zps = 0, zbs = 0, v;
    float *x = malloc(cols * sizeof *x), *y = malloc(rows * sizeof *y);
    int th, rc = 0, ci;
    if (cols % 64) {
        printf("%-22s skipped: %llu columns are not a multiple of the affine group (64)\n", sr->label,
               (unsigned long long)cols);
        free(codes);
        free(params);
        free(x);
        free(y);
        return 0;
    }
    if (ecqf_quantize_affine(sr->w, rows, cols, 4, 64, ECQF_DTYPE_F16, codes, params, params + rows * G * 2)) {
        fprintf(stderr, "ecqf-bench: quantization failed for %s\n", sr->label);
        return 1;
    }
    /* quality and entropy of the codes */
    {
        double se = 0, ss = 0;
        for (i = 0; i < n; i++) {
            size_t g = (size_t)((i / cols) * G + (i % cols) / 64);
            float s = ecqf_f16_to_f32(rd16(params + 2 * g)), b = ecqf_f16_to_f32(rd16(params + 2 * (rows * G + g)));
            double wd = (double)(s * (float)codes[i] + b), d = (double)sr->w[i] - wd;
            se += d * d;
            ss += (double)sr->w[i] * sr->w[i];
            hist[codes[i]]++;
        }
        for (i = 0; i + 1 < n; i += 2) hist2[codes[i] | (codes[i + 1] << 4)]++;
        sqnr = 10 * log10(ss / (se + 1e-300));
        h0 = entropy_bits(hist, 16, n);
        h2 = entropy_bits(hist2, 256, n / 2) / 2;
    }
    /* the same codes packed 4-bit and one per byte, for zstd and htscodecs */
    packed = malloc(n / 2 + 1);
    for (i = 0; i < n / 2; i++) packed[i] = (uint8_t)(codes[2 * i] | (codes[2 * i + 1] << 4));
    zp = malloc(ZSTD_compressBound(n / 2));
    zb = malloc(ZSTD_compressBound(n));
    zps = ZSTD_compress(zp, ZSTD_compressBound(n / 2), packed, n / 2, o->zstd_level);
    zbs = ZSTD_compress(zb, ZSTD_compressBound(n), codes, n, o->zstd_level);
    dec = malloc(n + 64);
    if (ZSTD_isError(zps) || ZSTD_isError(zbs)) {
        fprintf(stderr, "ecqf-bench: zstd failed\n");
        return 1;
    }
    /* the file */
    snprintf(path, sizeof path, "%s/ecqf-bench-%d.ecqf", o->tmp, (int)getpid());
    memset(&wo, 0, sizeof wo);
    wo.struct_size = sizeof wo;
    wo.flags = ECQF_WRITE_OVERWRITE;
    if (ecqf_writer_create(&wr, path, &wo, &e)) {
        fprintf(stderr, "ecqf-bench: %s\n", e.message);
        return 1;
    }
    for (v = 0; v < V_COUNT; v++)
        if (add_variant(wr, (int)v, sr, codes, params, 2 * rows * G * 2, o->precision)) {
            ecqf_writer_abort(wr);
            return 1;
        }
    if (ecqf_writer_finish(wr, &e) || ecqf_reader_open_file(&rd, path, NULL, &e)) {
        fprintf(stderr, "ecqf-bench: %s\n", e.message);
        return 1;
    }
    unlink(path); /* the mapping stays valid */
    for (v = 0; v < V_COUNT; v++) {
        if (ecqf_reader_tensor_info(rd, v, &info[v]) || ecqf_kernel_plan_create(&info[v], NULL, &plan[v], &e)) {
            fprintf(stderr, "ecqf-bench: plan %s: %s\n", vname[v], e.message);
            return 1;
        }
        bpw[v] = 8.0 * (double)ecqf_kernel_plan_bytes(plan[v]) / (double)n;
    }
    for (i = 0; i < cols; i++) x[i] = (float)gauss();

    printf("\n%s  %llux%llu  (%.2f M weights)  affine 4-bit g64 f16: SQNR %.2f dB, code entropy %.3f b (pairs %.3f b/w)\n",
           sr->label, (unsigned long long)rows, (unsigned long long)cols, (double)n * 1e-6, sqnr, h0, h2);
    printf("  bits/weight incl. scales+biases (0.5 b/w) and side info: raw4 %.3f, rans-p2 %.3f (precision %u), prefix-p2 %.3f, "
           "rans-p1 %.3f, prefix-p1 %.3f, rans-p2 precision 15 %.3f, f32 %.1f\n",
           bpw[V_RAW4], bpw[V_RANS2], info[V_RANS2].precision, bpw[V_PREFIX2], bpw[V_RANS1], bpw[V_PREFIX1], bpw[V_RANS2_15],
           bpw[V_F32]);
    printf("  zstd -%d: packed 4-bit %.3f b/w (ratio %.4f), one code per byte %.3f b/w (ratio %.3f vs 8 b)\n",
           o->zstd_level, 8.0 * (double)zps / (double)n, (double)(n / 2) / (double)zps, 8.0 * (double)zbs / (double)n,
           (double)n / (double)zbs);
    printf("  %-7s %-5s | %-21s | %-31s | %-17s | %-17s | %-8s | %-13s | %s\n", "thr(cpu)", "cache",
           "decode Gw/s rans prefx", "fused Gw/s (GB/s) rans  prefix", "plain4 Gw/s(GB/s)", "f32 Gw/s (GB/s)",
           "fused/pl", "zstd Gw/s p/b", "hts Gw/s p/b");
    for (th = 1; th <= o->threads_max; th++) {
        ecqf_kernel_pool *pool = NULL;
        if (th > 1 && ecqf_kernel_pool_create((unsigned)th, &pool)) break;
        for (ci = 0; ci < 2; ci++) {
            const int cold = ci == 1;
            const char *cname = cold ? "cold" : "warm";
            double t_dr, t_dp, t_fr, t_fp, t_pl, t_f32, t_zp = NAN, t_zb = NAN, t_hp = NAN, t_hb = NAN;
            double t_fr1 = NAN, t_fp1 = NAN, t_dr1 = NAN, t_dp1 = NAN, t_d15 = NAN, t_f15 = NAN, util;
            gemv_arg ga;
            if ((cold && !o->cold) || (!cold && !o->warm)) continue;
            ga.pool = pool;
            ga.x = x;
            ga.y = y;
            ga.plan = plan[V_RANS2];
            t_dr = time_call(do_decode, &ga, o->reps, cold);
            t_fr = time_call(do_gemv, &ga, o->reps, cold);
            util = last_util;
            rec_util = util;
            ga.plan = plan[V_PREFIX2];
            t_dp = time_call(do_decode, &ga, o->reps, cold);
            t_fp = time_call(do_gemv, &ga, o->reps, cold);
            if (!o->quick) {
                ga.plan = plan[V_RANS1];
                t_dr1 = time_call(do_decode, &ga, o->reps, cold);
                t_fr1 = time_call(do_gemv, &ga, o->reps, cold);
                ga.plan = plan[V_PREFIX1];
                t_dp1 = time_call(do_decode, &ga, o->reps, cold);
                t_fp1 = time_call(do_gemv, &ga, o->reps, cold);
                ga.plan = plan[V_RANS2_15];
                t_d15 = time_call(do_decode, &ga, o->reps, cold);
                t_f15 = time_call(do_gemv, &ga, o->reps, cold);
            }
            ga.plan = plan[V_RAW4];
            t_pl = time_call(do_gemv, &ga, o->reps, cold);
            ga.plan = plan[V_F32];
            t_f32 = time_call(do_gemv, &ga, o->reps, cold);
            if (th == 1) { /* single-threaded peers */
                zstd_arg za = {zp, zps, dec, n / 2};
                t_zp = time_call(do_zstd, &za, o->reps, cold);
                za.src = zb;
                za.src_size = zbs;
                za.dst_size = n;
                t_zb = time_call(do_zstd, &za, o->reps, cold);
            }
            if (th == 1 && hts_comp) {
                static unsigned char *hb1, *hb2;
                static unsigned int hs1, hs2;
                static uint64_t hn;
                if (hn != n) { /* compress once per shape */
                    free(hb1);
                    free(hb2);
                    hs1 = hts_bound((unsigned)(n / 2), 4);
                    hs2 = hts_bound((unsigned)n, 4);
                    hb1 = malloc(hs1);
                    hb2 = malloc(hs2);
                    if (!hts_comp(packed, (unsigned)(n / 2), hb1, &hs1, 4)) hs1 = 0;
                    if (!hts_comp(codes, (unsigned)n, hb2, &hs2, 4)) hs2 = 0;
                    hn = n;
                    printf("  htscodecs rANS 32x16 order 0: packed pairs %.3f b/w, single codes %.3f b/w\n",
                           8.0 * hs1 / (double)n, 8.0 * hs2 / (double)n);
                }
                if (hs1 && hs2) {
                    hts_arg ha = {hb1, hs1, dec, (unsigned)(n / 2)};
                    t_hp = time_call(do_hts, &ha, o->reps, cold);
                    ha.src = hb2;
                    ha.src_size = hs2;
                    ha.dst_size = (unsigned)n;
                    t_hb = time_call(do_hts, &ha, o->reps, cold);
                    jrec(sr->label, "hts-packed", th, cname, "htscodecs_decode", t_hp, (double)n, (double)hs1, 8.0 * hs1 / (double)n);
                    jrec(sr->label, "hts-bytes", th, cname, "htscodecs_decode", t_hb, (double)n, (double)hs2, 8.0 * hs2 / (double)n);
                }
            }
            if (isnan(t_dr) || isnan(t_fr) || isnan(t_dp) || isnan(t_fp) || isnan(t_pl) || isnan(t_f32)) {
                fprintf(stderr, "ecqf-bench: a kernel failed on %s\n", sr->label);
                rc = 1;
            }
            printf("  %d (%.1f) %-5s | %9.2f %9.2f   | %6.2f (%5.2f) %6.2f (%5.2f)   | %6.2f (%6.2f)   | %5.2f (%6.2f)   | %5.3f    | %5.2f %5.2f   | %5.2f %5.2f\n",
                   th, util, cname, n / t_dr * 1e-9, n / t_dp * 1e-9, n / t_fr * 1e-9,
                   ecqf_kernel_plan_bytes(plan[V_RANS2]) / t_fr * 1e-9, n / t_fp * 1e-9,
                   ecqf_kernel_plan_bytes(plan[V_PREFIX2]) / t_fp * 1e-9, n / t_pl * 1e-9,
                   ecqf_kernel_plan_bytes(plan[V_RAW4]) / t_pl * 1e-9, n / t_f32 * 1e-9,
                   ecqf_kernel_plan_bytes(plan[V_F32]) / t_f32 * 1e-9, t_pl / (t_fr < t_fp ? t_fr : t_fp),
                   n / t_zp * 1e-9, n / t_zb * 1e-9, n / t_hp * 1e-9, n / t_hb * 1e-9);
            if (!o->quick)
                printf("  %-7s %-5s |   pack 1: decode rans %.2f prefix %.2f Gw/s, fused rans %.2f prefix %.2f Gw/s;"
                       " rans pack 2 precision 15: decode %.2f fused %.2f Gw/s\n",
                       "", "", n / t_dr1 * 1e-9, n / t_dp1 * 1e-9, n / t_fr1 * 1e-9, n / t_fp1 * 1e-9, n / t_d15 * 1e-9,
                       n / t_f15 * 1e-9);
            jrec(sr->label, "rans-p2", th, cname, "decode", t_dr, (double)n, 0, bpw[V_RANS2]);
            jrec(sr->label, "prefix-p2", th, cname, "decode", t_dp, (double)n, 0, bpw[V_PREFIX2]);
            jrec(sr->label, "rans-p2", th, cname, "fused_gemv", t_fr, (double)n, (double)ecqf_kernel_plan_bytes(plan[V_RANS2]), bpw[V_RANS2]);
            jrec(sr->label, "prefix-p2", th, cname, "fused_gemv", t_fp, (double)n, (double)ecqf_kernel_plan_bytes(plan[V_PREFIX2]), bpw[V_PREFIX2]);
            if (!o->quick) {
                jrec(sr->label, "rans-p1", th, cname, "decode", t_dr1, (double)n, 0, bpw[V_RANS1]);
                jrec(sr->label, "prefix-p1", th, cname, "decode", t_dp1, (double)n, 0, bpw[V_PREFIX1]);
                jrec(sr->label, "rans-p1", th, cname, "fused_gemv", t_fr1, (double)n, (double)ecqf_kernel_plan_bytes(plan[V_RANS1]), bpw[V_RANS1]);
                jrec(sr->label, "prefix-p1", th, cname, "fused_gemv", t_fp1, (double)n, (double)ecqf_kernel_plan_bytes(plan[V_PREFIX1]), bpw[V_PREFIX1]);
                jrec(sr->label, "rans-p2-prec15", th, cname, "decode", t_d15, (double)n, 0, bpw[V_RANS2_15]);
                jrec(sr->label, "rans-p2-prec15", th, cname, "fused_gemv", t_f15, (double)n, (double)ecqf_kernel_plan_bytes(plan[V_RANS2_15]), bpw[V_RANS2_15]);
            }
            jrec(sr->label, "raw4", th, cname, "plain4_gemv", t_pl, (double)n, (double)ecqf_kernel_plan_bytes(plan[V_RAW4]), bpw[V_RAW4]);
            jrec(sr->label, "f32", th, cname, "f32_gemv", t_f32, (double)n, (double)ecqf_kernel_plan_bytes(plan[V_F32]), 32.0);
            if (th == 1) {
                jrec(sr->label, "zstd-packed", th, cname, "zstd_decode", t_zp, (double)n, (double)zps, 8.0 * zps / (double)n);
                jrec(sr->label, "zstd-bytes", th, cname, "zstd_decode", t_zb, (double)n, (double)zbs, 8.0 * zbs / (double)n);
            }
        }
        ecqf_kernel_pool_free(pool);
    }
    for (v = 0; v < V_COUNT; v++) ecqf_kernel_plan_free(plan[v]);
    ecqf_reader_close(rd);
    free(codes);
    free(params);
    free(packed);
    free(zp);
    free(zb);
    free(dec);
    free(x);
    free(y);
    return rc;
}

/* ---- memory read bandwidth ------------------------------------------------------------------ */

typedef struct bw_arg {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} bw_arg;

static void *bw_read(void *a) {
    bw_arg *b = a;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i;
    for (i = 0; i + 4 <= b->n; i += 4) {
        s0 += b->p[i];
        s1 += b->p[i + 1];
        s2 += b->p[i + 2];
        s3 += b->p[i + 3];
    }
    b->sum = s0 + s1 + s2 + s3;
    return NULL;
}

/* Read bandwidth of 1 and 2 threads over 1 GiB (each thread its own half), best of 5. */
static void membw(int threads_max) {
    const size_t bytes = (size_t)1 << 30;
    uint64_t *buf = malloc(bytes);
    int th, rep;
    if (!buf) return;
    memset(buf, 3, bytes);
    for (th = 1; th <= threads_max && th <= 2; th++) {
        double best = 0;
        for (rep = 0; rep < 5; rep++) {
            pthread_t t[2];
            bw_arg a[2];
            double t0;
            int k;
            for (k = 0; k < th; k++) {
                a[k].p = buf + (bytes / 8 / (size_t)th) * (size_t)k;
                a[k].n = bytes / 8 / (size_t)th;
            }
            t0 = now();
            for (k = 1; k < th; k++) pthread_create(&t[k], NULL, bw_read, &a[k]);
            bw_read(&a[0]);
            for (k = 1; k < th; k++) pthread_join(t[k], NULL);
            t0 = now() - t0;
            flush_sink += a[0].sum;
            if (bytes / t0 > best) best = bytes / t0;
        }
        printf("memory read bandwidth, %d thread%s: %.1f GB/s (%.1f GB/s per thread)\n", th, th > 1 ? "s" : "", best * 1e-9,
               best * 1e-9 / th);
        if (jf) {
            fprintf(jf, "%s\n    {\"what\": \"read_bandwidth\", \"threads\": %d, \"gbytes_per_s\": %.4g}", jfirst ? "" : ",", th,
                    best * 1e-9);
            jfirst = 0;
        }
    }
    free(buf);
}

/* ---- main --------------------------------------------------------------------------------- */

static void machine_info(FILE *f, int json) {
    FILE *p = fopen("/proc/cpuinfo", "r");
    char line[4096], model[256] = "unknown", flags[512] = "";
    while (p && fgets(line, sizeof line, p)) {
        if (!strncmp(line, "model name", 10) && model[0] == 'u') {
            char *c = strchr(line, ':');
            if (c) {
                snprintf(model, sizeof model, "%s", c + 2);
                model[strcspn(model, "\n")] = 0;
            }
        }
        if (!strncmp(line, "flags", 5) && !flags[0]) {
            static const char *want[] = {"avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512vbmi",
                                         "avx512_vbmi2", "avx512_vnni", "bmi2", "f16c", "fma"};
            size_t k;
            for (k = 0; k < sizeof want / sizeof want[0]; k++) {
                char pat[64];
                snprintf(pat, sizeof pat, " %s ", want[k]);
                if (strstr(line, pat)) {
                    strncat(flags, want[k], sizeof flags - strlen(flags) - 2);
                    strcat(flags, " ");
                }
            }
        }
    }
    if (p) fclose(p);
    {
        time_t t = time(NULL);
        char date[64];
        strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&t));
        if (json)
            fprintf(f, "  \"machine\": {\"cpu\": \"%s\", \"flags\": \"%s\", \"online_cpus\": %ld, \"backend\": \"%s\"},\n  \"date\": \"%s\",\n",
                    model, flags, sysconf(_SC_NPROCESSORS_ONLN), ecqf_kernel_backend_name(ecqf_kernel_backend_best()), date);
        else
            fprintf(f, "machine: %s, %ld CPUs online; flags: %s; kernel backend: %s; %s\n", model,
                    sysconf(_SC_NPROCESSORS_ONLN), flags, ecqf_kernel_backend_name(ecqf_kernel_backend_best()), date);
    }
}

int main(int argc, char **argv) {
    opts o;
    stats st;
    int i, rc = 0;
    char defmodel[1024];
    memset(&o, 0, sizeof o);
    memset(&st, 0, sizeof st);
    o.reps = 9;
    o.zstd_level = 19;
    o.cold = o.warm = 1;
    o.threads_max = 2;
    o.precision = 12;
    o.tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc && o.nmodels < 8) o.models[o.nmodels++] = argv[++i];
        else if (!strcmp(argv[i], "--large")) o.large = 1;
        else if (!strcmp(argv[i], "--only-large")) o.large = o.only_large = 1;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) o.reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) o.precision = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--zstd-level") && i + 1 < argc) o.zstd_level = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) o.threads_max = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-cold")) o.cold = 0;
        else if (!strcmp(argv[i], "--no-warm")) o.warm = 0;
        else if (!strcmp(argv[i], "--quick")) o.quick = 1;
        else if (!strcmp(argv[i], "--membw")) o.membw = 1;
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) o.json = argv[++i];
        else if (!strcmp(argv[i], "--tmp") && i + 1 < argc) o.tmp = argv[++i];
        else {
            usage();
            return 2;
        }
    }
    if (o.reps < 1) o.reps = 1;
    if (o.threads_max < 1) o.threads_max = 1;
    if (o.nmodels == 0) {
        const char *d = getenv("ECQF_MODELS_DIR");
        snprintf(defmodel, sizeof defmodel, "%s/stories260K.safetensors", d && *d ? d : "../shared/models");
        o.models[o.nmodels++] = defmodel;
    }
    flush_buf = malloc(flush_size);
    if (!flush_buf) return 1;
    memset(flush_buf, 1, flush_size);
    hts_load();
    if (o.json) {
        jf = fopen(o.json, "w");
        if (!jf) {
            perror(o.json);
            return 1;
        }
        fprintf(jf, "{\n  \"command\": \"");
        for (i = 0; i < argc; i++) fprintf(jf, "%s%s", i ? " " : "", argv[i]);
        fprintf(jf, "\",\n");
        machine_info(jf, 1);
        fprintf(jf, "  \"quantization\": \"affine 4-bit g64 f16 (MLX-style); lanes 32, stripe 4, default tiles\",\n");
        fprintf(jf, "  \"results\": [");
    }
    printf("ecqf-bench: ");
    for (i = 0; i < argc; i++) printf("%s%s", i ? " " : "", argv[i]);
    printf("\n");
    machine_info(stdout, 0);
    printf("Gw/s = 1e9 weights per second; GB/s = bytes of the tensor read (codes, scales, biases, tables, tile index) per second.\n"
           "warm = repeated calls (data stays cached when it fits), cold = caches flushed (128 MiB read) before every call.\n"
           "thr(cpu) = threads (process CPU seconds per wall second during the fused rANS timing: below the thread count\n"
           "when other jobs held the cores).\n"
           "fused/pl = plain 4-bit time / best fused time (higher is better for fused).  zstd and htscodecs: 1 thread,\n"
           "p = packed 4-bit codes, b = one code per byte.  htscodecs: %s.\n",
           hts_comp ? "loaded (libhtscodecs.so.2)" : "not available");
    if (o.membw) membw(o.threads_max);
    /* real shapes */
    for (i = 0; i < o.nmodels; i++) {
        st_model *m = NULL;
        st_error se;
        size_t k, j;
        uint64_t seen[64][2];
        size_t nseen = 0;
        if (st_open(&m, o.models[i], &se)) {
            printf("model %s: not available (%s); skipped\n", o.models[i], se.message);
            continue;
        }
        for (k = 0; k < st_tensor_count(m); k++) {
            const st_tensor *t = st_tensor_at(m, k);
            float *w;
            shape_run sr;
            int dup = 0;
            if (t->ndim != 2) continue;
            w = malloc(t->numel * sizeof *w);
            if (!w || st_tensor_to_f32(t, w, t->numel)) {
                free(w);
                continue;
            }
            stats_add(&st, w, t->shape[0], t->shape[1]);
            st.source = o.models[i];
            for (j = 0; j < nseen; j++) dup |= seen[j][0] == t->shape[0] && seen[j][1] == t->shape[1];
            if (!dup && nseen < 64 && !o.only_large) {
                seen[nseen][0] = t->shape[0];
                seen[nseen++][1] = t->shape[1];
                memset(&sr, 0, sizeof sr);
                snprintf(sr.label, sizeof sr.label, "%.40s", t->name);
                sr.rows = t->shape[0];
                sr.cols = t->shape[1];
                sr.w = w;
                print_rule();
                rc |= bench_shape(&o, &sr);
            }
            free(w);
        }
        st_close(m);
    }
    if (o.large) {
        static const uint64_t shapes[3][2] = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
        int k;
        printf("\nlarge shapes: weights resampled from %s (row std from real rows, standardized values from pooled real weights)\n",
               st.nz ? st.source : "nothing (Gaussian: no model found)");
        for (k = 0; k < 3; k++) {
            shape_run sr;
            float *w = malloc(shapes[k][0] * shapes[k][1] * sizeof *w);
            memset(&sr, 0, sizeof sr);
            snprintf(sr.label, sizeof sr.label, "synthetic-%llux%llu", (unsigned long long)shapes[k][0],
                     (unsigned long long)shapes[k][1]);
            sr.rows = shapes[k][0];
            sr.cols = shapes[k][1];
            synth_weights(&st, w, sr.rows, sr.cols);
            sr.w = w;
            print_rule();
            rc |= bench_shape(&o, &sr);
            free(w);
        }
    }
    if (jf) {
        fprintf(jf, "\n  ]\n}\n");
        fclose(jf);
    }
    free(st.z);
    free(st.sd);
    free(flush_buf);
    return rc;
}
