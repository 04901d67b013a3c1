/*
 * gemv_cases.h — test tensors for the GEMV checks shared by tests/test_kernels.c (CPU backends)
 * and tests/test_gpu_common.c (GPU backends): Gaussian weights with outliers, quantized by one
 * of the schemes with a chosen coding and tiling, written to a file and opened again.
 */
#ifndef GEMV_CASES_H
#define GEMV_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "ecqf.h"

typedef struct gemv_case {
    uint64_t rows, cols;
    int scheme, coding, pdtype;          /* pdtype: AFFINE, SYMMETRIC parameters */
    unsigned bits, group;                /* AFFINE, SYMMETRIC */
    unsigned max_alphabet, per_row;      /* ECSQ */
    double step_scale;                   /* ECSQ step relative to the row's (or tensor's) RMS */
    unsigned lanes, pack, stripe, precision, max_length;
    uint32_t trows, tcols;               /* 0: the writer's default tile */
} gemv_case;

typedef struct gemv_built {
    ecqf_tensor_desc d;
    void *buf[2];
} gemv_built;

/* xorshift64; the state must not be 0. */
uint64_t gemv_rnd(uint64_t *state);
double gemv_unif(uint64_t *state);   /* [0, 1) */
double gemv_gauss(uint64_t *state);  /* standard normal */

/* rows x cols Gaussian weights, each row with its own scale, about 1 in 150 an outlier (x7). */
void gemv_make_weights(float *w, uint64_t rows, uint64_t cols, uint64_t *state);

/* Quantizes w as tc says into b->d (a desc for ecqf_writer_add_tensor). Returns the status of
 * the quantizer; b must be freed with gemv_built_free either way. Pack 2 falls back to 1 where
 * the codes do not fit 4 bits. */
int gemv_build_desc(gemv_built *b, const gemv_case *tc, const float *w, const char *name);
void gemv_built_free(gemv_built *b);

/* Writes the n descs to path (overwriting it) and opens it. NULL on failure, with what failed in
 * msg[0..msg_size). */
ecqf_reader *gemv_write_and_open(const gemv_built *b, size_t n, const char *path, char *msg,
                                 size_t msg_size);

#endif
