/*
 * quantdump.c — runs one of libecqf's quantizers on raw little-endian f32 values read from a
 * file and writes what it produced, for the Python comparisons in tests/python/.
 *
 *   quantdump affine    BITS GROUP DTYPE ROWS COLS IN.f32 OUTPREFIX
 *   quantdump symmetric BITS BLOCK DTYPE ROWS COLS IN.f32 OUTPREFIX
 *   quantdump ecsq      STEP ROWS COLS IN.f32 OUTPREFIX
 *
 * DTYPE is f32, f16 or bf16. Outputs: OUTPREFIX.codes (one byte per element),
 * OUTPREFIX.scales and OUTPREFIX.biases (param dtype, little-endian) for affine,
 * OUTPREFIX.scales for symmetric, OUTPREFIX.ints (i32 little-endian) for ecsq.
 * Exit status: 0 on success, 1 on a usage or I/O error, 3 when the quantizer refused.
 * Assumes a little-endian host (as the test that drives it does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecqf.h"

/* bytes of one parameter of dtype (0 if unknown) */
static size_t param_size(int dtype) {
    return dtype == ECQF_DTYPE_F32 ? 4 : (dtype == ECQF_DTYPE_F16 || dtype == ECQF_DTYPE_BF16) ? 2 : 0;
}

static int parse_dtype(const char *s) {
    if (!strcmp(s, "f32")) return ECQF_DTYPE_F32;
    if (!strcmp(s, "f16")) return ECQF_DTYPE_F16;
    if (!strcmp(s, "bf16")) return ECQF_DTYPE_BF16;
    return -1;
}

static float *read_f32(const char *path, uint64_t n) {
    FILE *f = fopen(path, "rb");
    float *w;
    if (!f) return NULL;
    w = malloc((n ? n : 1) * sizeof *w);
    if (w && fread(w, sizeof *w, n, f) != n) {
        free(w);
        w = NULL;
    }
    fclose(f);
    return w;
}

static int write_file(const char *prefix, const char *ext, const void *p, size_t n) {
    char path[4096];
    FILE *f;
    int ok;
    if ((size_t)snprintf(path, sizeof path, "%s.%s", prefix, ext) >= sizeof path) return 1;
    f = fopen(path, "wb");
    if (!f) return 1;
    ok = fwrite(p, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    return !ok;
}

static int usage(void) {
    fprintf(stderr, "usage: quantdump affine|symmetric BITS GROUP DTYPE ROWS COLS IN OUT\n"
                    "       quantdump ecsq STEP ROWS COLS IN OUT\n");
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    if (!strcmp(argv[1], "ecsq")) {
        if (argc != 7) return usage();
        float step = strtof(argv[2], NULL);
        uint64_t rows = strtoull(argv[3], NULL, 10), cols = strtoull(argv[4], NULL, 10);
        uint64_t n = rows * cols;
        float *w = read_f32(argv[5], n);
        int32_t *k = malloc((n ? n : 1) * sizeof *k);
        int rc;
        if (!w || !k) {
            fprintf(stderr, "quantdump: cannot read %s\n", argv[5]);
            return 1;
        }
        rc = ecqf_quantize_ecsq(w, rows, cols, &step, 0, k);
        if (rc) {
            fprintf(stderr, "quantdump: %s\n", ecqf_status_name(rc));
            return 3;
        }
        if (write_file(argv[6], "ints", k, n * 4)) return 1;
        free(w);
        free(k);
        return 0;
    }
    int affine = !strcmp(argv[1], "affine");
    if ((!affine && strcmp(argv[1], "symmetric")) || argc != 9) return usage();
    unsigned bits = (unsigned)strtoul(argv[2], NULL, 10);
    unsigned group = (unsigned)strtoul(argv[3], NULL, 10);
    int dtype = parse_dtype(argv[4]);
    uint64_t rows = strtoull(argv[5], NULL, 10), cols = strtoull(argv[6], NULL, 10);
    uint64_t n = rows * cols;
    if (dtype < 0 || group == 0) return usage();
    size_t ps = param_size(dtype), np = (size_t)(n / group) * ps;
    float *w = read_f32(argv[7], n);
    uint8_t *codes = malloc(n ? n : 1), *sc = malloc(np ? np : 1), *bi = malloc(np ? np : 1);
    int rc;
    if (!w || !codes || !sc || !bi) {
        fprintf(stderr, "quantdump: cannot read %s\n", argv[7]);
        return 1;
    }
    if (affine)
        rc = ecqf_quantize_affine(w, rows, cols, bits, group, dtype, codes, sc, bi);
    else
        rc = ecqf_quantize_symmetric(w, rows, cols, bits, group, dtype, codes, sc);
    if (rc) {
        fprintf(stderr, "quantdump: %s\n", ecqf_status_name(rc));
        return 3;
    }
    if (write_file(argv[8], "codes", codes, n) || write_file(argv[8], "scales", sc, np) ||
        (affine && write_file(argv[8], "biases", bi, np)))
        return 1;
    free(w);
    free(codes);
    free(sc);
    free(bi);
    return 0;
}
