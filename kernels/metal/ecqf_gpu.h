/*
 * ecqf_gpu.h — host side shared by the GPU backends: from a tensor of an open reader
 * (ecqf_tensor_info) to the argument block and decode tables that the GPU kernels take
 * (kernels/metal/ecqf_gpu_common.h). The tensor's parts (params, tile index, escapes, data)
 * are used in place: a backend maps or copies them as they are in the file.
 */
#ifndef ECQF_GPU_H
#define ECQF_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "ecqf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECQF_GPU_MAX_LANES 32 /* one simdgroup / warp per tile */

typedef struct ecqf_gpu_tensor {
    uint32_t args[32];          /* ECQF_GPU_NARGS words, see ecqf_gpu_common.h */
    uint32_t *tables;           /* decode tables: dtab words, then dsym bytes (rANS) */
    size_t table_words;         /* u32 words in tables */
    uint64_t rows, cols, T, TR, TC;
    unsigned lanes, tile_h;     /* lanes W; height of the tallest tile */
    size_t part_floats;         /* scratch floats for TR threadgroups */
    const ecqf_tensor_info *info;
} ecqf_gpu_tensor;

/* Fill g for tensor `info` (RANS or PREFIX coding, AFFINE/SYMMETRIC/ECSQ, at most 32 lanes).
 * part_pad: floats reserved before each threadgroup's part[] (the OpenCL backend's exchange
 * area; 0 elsewhere). Returns ECQF_OK, ECQF_ERR_UNSUPPORTED (with a message) for what the GPU
 * kernels do not run, or another status for an invalid table. */
int ecqf_gpu_tensor_init(ecqf_gpu_tensor *g, const ecqf_tensor_info *info, unsigned part_pad,
                         char *msg, size_t msg_size);
void ecqf_gpu_tensor_free(ecqf_gpu_tensor *g);

/* Decode table of the tuned kernels (kernels/cuda/ecqf_cuda_fast.cuh, kernels/metal/
 * ecqf_gemv_fast.metal), one u32 per entry:
 *   rANS   e = freq << 20 | hi << 16 | lo << 12 | (slot - cum)   (precision <= 12, no symbol
 *          with the whole range)
 *   prefix e = length | lo << 19 | hi << 23                        (pack 2)
 * Fills *out (malloc'ed, *words entries). ECQF_ERR_UNSUPPORTED when the tensor does not fit. */
int ecqf_gpu_fast_table(const ecqf_tensor_info *info, uint32_t **out, size_t *words);

/* The status the CPU kernels give for the body's error bits. */
int ecqf_gpu_status(uint32_t err_bits);

#ifdef __cplusplus
}
#endif
#endif
