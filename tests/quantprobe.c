/*
 * quantprobe.c — what each quantizer costs and keeps on a real model: for every 2-D F32
 * tensor of a safetensors file with at least MIN_NUMEL weights (default 4096), the code
 * entropy and SQNR of MLX-style affine (4-bit, group 64, f16 scale+bias), Q4_0-style
 * symmetric (4-bit, block 32, f16 d) and ECSQ at the SQNR of affine g64, with per-row and
 * per-tensor steps; then the model-wide equal-slope allocation at the same total size.
 *
 *   quantprobe MODEL.safetensors [MIN_NUMEL]
 *
 * Sizes follow tools/common/ratecontrol.h's model (entropy + 0.4% + table + steps +
 * escapes). SQNRs are pooled (total signal / total noise) and size-weighted means of dB.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "ecqf.h"
#include "ratecontrol.h"

typedef struct {
    char name[256];
    int f32;
    int ndim;
    uint64_t shape[8];
    uint64_t begin, end;
} st_entry;

/* ---- a small JSON reader, enough for a safetensors header ---- */
typedef struct {
    const char *p, *e;
} js;

static void ws(js *j) {
    while (j->p < j->e && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}
static int lit(js *j, char c) {
    ws(j);
    if (j->p < j->e && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}
static int str(js *j, char *out, size_t cap) {
    size_t n = 0;
    if (!lit(j, '"')) return 0;
    while (j->p < j->e && *j->p != '"') {
        char c = *j->p++;
        if (c == '\\' && j->p < j->e) c = *j->p++; /* names here need no unescaping */
        if (out && n + 1 < cap) out[n++] = c;
    }
    if (out) out[n] = 0;
    return lit(j, '"');
}
static int num(js *j, uint64_t *v) {
    ws(j);
    char *end;
    if (j->p >= j->e) return 0;
    *v = strtoull(j->p, &end, 10);
    if (end == j->p) return 0;
    j->p = end;
    return 1;
}
static int skip(js *j) {
    ws(j);
    if (j->p >= j->e) return 0;
    if (*j->p == '"') return str(j, NULL, 0);
    if (*j->p == '{' || *j->p == '[') {
        char close = *j->p == '{' ? '}' : ']';
        int obj = *j->p == '{';
        j->p++;
        if (lit(j, close)) return 1;
        do {
            if (obj && (!str(j, NULL, 0) || !lit(j, ':'))) return 0;
            if (!skip(j)) return 0;
        } while (lit(j, ','));
        return lit(j, close);
    }
    while (j->p < j->e && *j->p != ',' && *j->p != '}' && *j->p != ']') j->p++;
    return 1;
}
static int ints(js *j, uint64_t *v, int cap, int *n) {
    *n = 0;
    if (!lit(j, '[')) return 0;
    if (lit(j, ']')) return 1;
    do {
        uint64_t x;
        if (!num(j, &x) || *n >= cap) return 0;
        v[(*n)++] = x;
    } while (lit(j, ','));
    return lit(j, ']');
}

static st_entry *parse_header(const char *h, size_t n, size_t *count) {
    js j = {h, h + n};
    st_entry *ents = NULL;
    size_t cnt = 0, cap = 0;
    if (!lit(&j, '{')) return NULL;
    if (lit(&j, '}')) goto done;
    do {
        st_entry e;
        memset(&e, 0, sizeof e);
        if (!str(&j, e.name, sizeof e.name) || !lit(&j, ':')) goto fail;
        if (!strcmp(e.name, "__metadata__")) {
            if (!skip(&j)) goto fail;
            continue;
        }
        if (!lit(&j, '{')) goto fail;
        do {
            char key[64];
            if (!str(&j, key, sizeof key) || !lit(&j, ':')) goto fail;
            if (!strcmp(key, "dtype")) {
                char dt[16];
                if (!str(&j, dt, sizeof dt)) goto fail;
                e.f32 = !strcmp(dt, "F32");
            } else if (!strcmp(key, "shape")) {
                if (!ints(&j, e.shape, 8, &e.ndim)) goto fail;
            } else if (!strcmp(key, "data_offsets")) {
                uint64_t o[2];
                int k;
                if (!ints(&j, o, 2, &k) || k != 2) goto fail;
                e.begin = o[0];
                e.end = o[1];
            } else if (!skip(&j)) {
                goto fail;
            }
        } while (lit(&j, ','));
        if (!lit(&j, '}')) goto fail;
        if (cnt == cap) {
            cap = cap ? 2 * cap : 64;
            st_entry *ne = realloc(ents, cap * sizeof *ne);
            if (!ne) goto fail;
            ents = ne;
        }
        ents[cnt++] = e;
    } while (lit(&j, ','));
    if (!lit(&j, '}')) goto fail;
done:
    *count = cnt;
    return ents ? ents : calloc(1, sizeof *ents);
fail:
    free(ents);
    return NULL;
}

static int cmp_entry(const void *a, const void *b) {
    const st_entry *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

typedef struct {
    double n, h, bits, sig, sse, db_w;
} acc_t;
static void acc_add(acc_t *a, const rc_result *r) {
    a->n += (double)r->numel;
    a->h += r->entropy * (double)r->numel;
    a->bits += r->coded_bits;
    a->sig += r->signal;
    a->sse += r->sse;
    a->db_w += r->sqnr_db * (double)r->numel;
}
static void acc_print(const char *label, const acc_t *a, double raw_bpw) {
    printf("%-28s H %.3f b  coded %.3f b/w (side %.3f)  SQNR pooled %.2f dB, mean %.2f dB",
           label, a->h / a->n, a->bits / a->n, (a->bits - a->h * (1 + RC_CODER_OVERHEAD)) / a->n,
           10 * log10(a->sig / a->sse), a->db_w / a->n);
    if (raw_bpw > 0) printf("  stored raw %.3f b/w", raw_bpw);
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: quantprobe MODEL.safetensors [MIN_NUMEL]\n");
        return 1;
    }
    uint64_t min_numel = argc > 2 ? strtoull(argv[2], NULL, 10) : 4096;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long fsz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)fsz);
    if (!buf || fread(buf, 1, (size_t)fsz, f) != (size_t)fsz) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | buf[i];
    if (fsz < 8 || hl > (uint64_t)fsz - 8) {
        fprintf(stderr, "not a safetensors file\n");
        return 1;
    }
    size_t cnt;
    st_entry *ents = parse_header((const char *)buf + 8, (size_t)hl, &cnt);
    if (!ents) {
        fprintf(stderr, "bad safetensors header\n");
        return 1;
    }
    qsort(ents, cnt, sizeof *ents, cmp_entry);
    const uint8_t *data = buf + 8 + hl;
    uint64_t dsz = (uint64_t)fsz - 8 - hl;

    struct utsname un;
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    if (uname(&un) == 0) printf("# machine: %s %s %s; date: %s\n", un.nodename, un.sysname, un.machine, date);
    printf("# model: %s; 2-D F32 tensors with >= %llu weights\n", argv[1], (unsigned long long)min_numel);
    printf("%-34s %9s | %-14s | %-14s | %-22s | %-22s\n", "tensor", "shape", "affine g64 H/dB",
           "Q4_0 H/dB", "ECSQ row: H+side=bpw", "ECSQ tensor: H+side=bpw");

    acc_t a_aff = {0}, a_q40 = {0}, a_row = {0}, a_ten = {0};
    rc_tensor *rt = calloc(cnt ? cnt : 1, sizeof *rt);
    size_t nt = 0;
    double raw_aff_bits = 0, raw_q40_bits = 0;
    for (size_t i = 0; i < cnt; i++) {
        st_entry *e = &ents[i];
        if (!e->f32 || e->ndim != 2 || e->end < e->begin || e->end > dsz) continue;
        uint64_t rows = e->shape[0], cols = e->shape[1];
        if (rows * cols < min_numel || rows * cols * 4 != e->end - e->begin) continue;
        float *w = malloc(rows * cols * sizeof *w);
        memcpy(w, data + e->begin, rows * cols * sizeof *w); /* little-endian host assumed */
        rc_result ra, rq, rr, rtn;
        double fac;
        int ok_aff = cols % 64 == 0, ok_q = cols % 32 == 0;
        if (!ok_aff) { /* affine g64 needs cols % 64 == 0: fall back to the transpose */
            fprintf(stderr, "note: %s has %llu columns; affine/Q4_0 measured on its transpose\n",
                    e->name, (unsigned long long)cols);
        }
        float *wa = w;
        uint64_t ar = rows, ac = cols;
        if (!ok_aff || !ok_q) {
            wa = malloc(rows * cols * sizeof *wa);
            for (uint64_t r = 0; r < rows; r++)
                for (uint64_t c = 0; c < cols; c++) wa[c * rows + r] = w[r * cols + c];
            ar = cols;
            ac = rows;
        }
        if (rc_affine_measure(wa, ar, ac, 4, 64, ECQF_DTYPE_F16, &ra) ||
            rc_symmetric_measure(wa, ar, ac, 4, 32, ECQF_DTYPE_F16, &rq) ||
            rc_ecsq_for_sqnr(w, rows, cols, RC_PER_ROW, 256, ra.sqnr_db, &fac, NULL, &rr) ||
            rc_ecsq_for_sqnr(w, rows, cols, RC_PER_TENSOR, 256, ra.sqnr_db, &fac, NULL, &rtn)) {
            fprintf(stderr, "measurement failed on %s\n", e->name);
            return 1;
        }
        if (wa != w) free(wa);
        char shp[32];
        snprintf(shp, sizeof shp, "%llux%llu", (unsigned long long)rows, (unsigned long long)cols);
        printf("%-34s %9s | %.2f / %5.2f   | %.2f / %5.2f   | %.2f+%.2f=%.2f @%5.2f | %.2f+%.2f=%.2f @%5.2f\n",
               e->name, shp, ra.entropy, ra.sqnr_db, rq.entropy, rq.sqnr_db, rr.entropy,
               rr.bpw - rr.entropy, rr.bpw, rr.sqnr_db, rtn.entropy, rtn.bpw - rtn.entropy, rtn.bpw,
               rtn.sqnr_db);
        acc_add(&a_aff, &ra);
        acc_add(&a_q40, &rq);
        acc_add(&a_row, &rr);
        acc_add(&a_ten, &rtn);
        raw_aff_bits += ra.raw_bpw * (double)ra.numel;
        raw_q40_bits += rq.raw_bpw * (double)rq.numel;
        rt[nt].w = w;
        rt[nt].rows = rows;
        rt[nt].cols = cols;
        nt++;
    }
    if (!nt) {
        printf("no tensors selected\n");
        return 0;
    }
    printf("\n# totals over %zu tensors, %.0f weights (coded = entropy-coded estimate)\n", nt, a_aff.n);
    acc_print("affine 4b g64 (f16 s+b)", &a_aff, raw_aff_bits / a_aff.n);
    acc_print("Q4_0-style 4b b32 (f16 d)", &a_q40, raw_q40_bits / a_q40.n);
    acc_print("ECSQ per-row, = affine SQNR", &a_row, 0);
    acc_print("ECSQ per-tensor, = aff SQNR", &a_ten, 0);

    /* model-wide equal-slope allocation at the size ECSQ needed per tensor above */
    for (int mode = 0; mode < 2; mode++) {
        const acc_t *ref = mode ? &a_row : &a_ten;
        double target = ref->bits / ref->n, got, lambda;
        if (rc_model_allocate(rt, nt, mode ? RC_PER_ROW : RC_PER_TENSOR, 256, RC_DIST_RELATIVE,
                              target, &got, &lambda)) {
            fprintf(stderr, "allocation failed\n");
            return 1;
        }
        acc_t a = {0};
        for (size_t t = 0; t < nt; t++) acc_add(&a, &rt[t].result);
        char label[64];
        snprintf(label, sizeof label, "equal-slope %s @%.3f", mode ? "per-row" : "per-tensor", target);
        acc_print(label, &a, 0);
    }
    for (size_t t = 0; t < nt; t++) free((void *)rt[t].w);
    free(rt);
    free(ents);
    free(buf);
    return 0;
}
