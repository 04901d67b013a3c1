/*
 * test_gpu_common.h — the correctness harness shared by the GPU backend tests (OpenCL on PoCL,
 * Metal on the CPU emulation): tensors of many shapes, schemes, codings and tilings, plus every
 * 2-D tensor of stories260K, run through a backend's GEMV and compared
 *   - bit for bit with the scalar CPU backend (the portable kernel body compiled as C), and
 *   - with a float64 product over the reference dequantization: per row
 *     |y - y64| <= 1e-5 * sum_c |w_rc x_c| and ||y - y64|| <= 1e-5 ||y64||.
 */
#ifndef TEST_GPU_COMMON_H
#define TEST_GPU_COMMON_H

#include <stddef.h>

#include "ecqf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y = W x by the backend under test; returns an ECQF status (ECQF_ERR_UNSUPPORTED skips). */
typedef int (*gpu_gemv_fn)(void *ctx, const ecqf_tensor_info *info, const float *x, float *y,
                           char *msg, size_t msg_size);

/* Runs `ncases` random tensors and then stories260K (from $ECQF_MODELS_DIR, else
 * <top_srcdir>/../shared/models; skipped with a note when absent). Returns 0 when every
 * result matched, 1 otherwise. */
int gpu_check_all(const char *backend, gpu_gemv_fn fn, void *ctx, unsigned ncases, const char *top_srcdir);

#ifdef __cplusplus
}
#endif
#endif
