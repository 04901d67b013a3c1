/*
 * ecqf_kernels.h — CPU kernels for ECQF tensors: y = W x straight from the file mapping,
 * decoding the entropy-coded codes (RANS, PREFIX) or bit-packed codes (RAW) on the fly.
 *
 * Usage:
 *     ecqf_tensor_info info;                        // from ecqf_reader_tensor_info
 *     ecqf_kernel_plan *plan;
 *     ecqf_kernel_pool *pool;                       // optional: NULL runs on the caller
 *     ecqf_kernel_plan_create(&info, NULL, &plan, &err);
 *     ecqf_kernel_pool_create(2, &pool);
 *     ecqf_kernel_gemv(plan, pool, x, y, &err);     // as often as needed
 *     ecqf_kernel_plan_free(plan); ecqf_kernel_pool_free(pool);
 *
 * Zero copy: the plan keeps the info's part pointers, so the reader (its mapping) must outlive
 * the plan. A plan holds only tables derived from the file's small parts (decode tables, checks
 * of the tile index and escapes); it is read-only after creation, so any number of threads may
 * call ecqf_kernel_gemv on one plan at once, each with its own pool (or NULL).
 *
 * Validity: the plan checks everything that can be checked without decoding (tables, tile
 * index, escape index). Streams are checked while decoding: a GEMV over a corrupt tile returns
 * the reference decoder's status (ECQF_ERR_CORRUPT_STREAM, ECQF_ERR_NONZERO_PADDING) or
 * ECQF_ERR_BAD_ESCAPES, never reads outside the tensor's parts, and leaves y unspecified.
 *
 * Supported: schemes AFFINE, SYMMETRIC and ECSQ with codings RAW, RANS and PREFIX; scheme NONE
 * (F32, F16, BF16) with RAW. ZSTD is storage only (ECQF_ERR_UNSUPPORTED).
 *
 * Numerics: float32 arithmetic. The scalar backend evaluates every weight exactly as spec 7
 * dequantizes it and sums in a fixed order (the portable kernel body, bit-identical to its GPU
 * builds); the SIMD backends factor the affine form (y_r = sum_g s_rg * sum_c u_c x_c + ...)
 * and sum in vector lanes, so they differ from the scalar backend by rounding only.
 */
#ifndef ECQF_KERNELS_H
#define ECQF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "ecqf.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ecqf_kernel_backend {
    ECQF_KERNEL_AUTO = 0,    /* best one this CPU supports */
    ECQF_KERNEL_SCALAR = 1,  /* the portable kernel body compiled as C: the reference */
    ECQF_KERNEL_AVX2 = 2,
    ECQF_KERNEL_AVX512 = 3
};

typedef struct ecqf_kernel_options {
    size_t struct_size;               /* sizeof(ecqf_kernel_options) */
    int backend;                      /* enum ecqf_kernel_backend; unsupported -> best below */
    const ecqf_allocator *allocator;  /* NULL: malloc/free */
} ecqf_kernel_options;

typedef struct ecqf_kernel_plan ecqf_kernel_plan;
typedef struct ecqf_kernel_pool ecqf_kernel_pool;

/* Backend availability and names ("scalar", "avx2", "avx512"). */
int ecqf_kernel_backend_best(void);
int ecqf_kernel_backend_supported(int backend);
const char *ecqf_kernel_backend_name(int backend);

/* Prepare tensor `info` (as returned by ecqf_reader_tensor_info) for the kernels. */
ECQF_CHECK int ecqf_kernel_plan_create(const ecqf_tensor_info *info, const ecqf_kernel_options *opts,
                                       ecqf_kernel_plan **out, ecqf_error *err);
void ecqf_kernel_plan_free(ecqf_kernel_plan *plan); /* NULL is fine */
int ecqf_kernel_plan_backend(const ecqf_kernel_plan *plan);
/* Bytes of the file a GEMV reads for this tensor: data, params, tile index, escapes, table. */
uint64_t ecqf_kernel_plan_bytes(const ecqf_kernel_plan *plan);

/* A pool of `threads` threads including the caller (threads 1: no extra thread). */
ECQF_CHECK int ecqf_kernel_pool_create(unsigned threads, ecqf_kernel_pool **out);
void ecqf_kernel_pool_free(ecqf_kernel_pool *pool);
unsigned ecqf_kernel_pool_threads(const ecqf_kernel_pool *pool);

/* y[rows] = W x[cols] in float32 (rows and cols of the matrix view). pool may be NULL. */
ECQF_CHECK int ecqf_kernel_gemv(const ecqf_kernel_plan *plan, ecqf_kernel_pool *pool,
                                const float *x, float *y, ecqf_error *err);

/* Entropy decoding alone (quantized tensors): the codes of every element, row-major, into
 * codes (count must be numel), or, with codes NULL, decode every tile and discard the result
 * (what the benchmark times as "decode"). Same checks as ecqf_kernel_gemv. */
ECQF_CHECK int ecqf_kernel_decode(const ecqf_kernel_plan *plan, ecqf_kernel_pool *pool,
                                  uint8_t *codes, uint64_t count, ecqf_error *err);

#ifdef __cplusplus
}
#endif
#endif
