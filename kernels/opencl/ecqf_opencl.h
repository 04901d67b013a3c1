/*
 * ecqf_opencl.h — host side of the OpenCL backend: runs kernels/opencl/ecqf_gemv.cl on the
 * first OpenCL device (PoCL on the CPU in `make check`).
 */
#ifndef ECQF_OPENCL_H
#define ECQF_OPENCL_H

#include <stddef.h>

#include "ecqf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ecqf_cl ecqf_cl;

/* kernels_dir: the source folder kernels/ (the program is built from
 * kernels_dir/opencl/ecqf_gemv.cl with -I kernels_dir). Returns ECQF_OK, ECQF_ERR_UNSUPPORTED
 * when there is no OpenCL platform or device, or ECQF_ERR_IO (build log in msg). */
int ecqf_cl_create(ecqf_cl **out, const char *kernels_dir, char *msg, size_t msg_size);
void ecqf_cl_free(ecqf_cl *cl);
const char *ecqf_cl_device_name(const ecqf_cl *cl);

/* y[rows] = W x for a RANS or PREFIX tensor. Returns ECQF_OK, the body's stream status
 * (ECQF_ERR_CORRUPT_STREAM, ...), ECQF_ERR_UNSUPPORTED, or ECQF_ERR_IO for an OpenCL error. */
int ecqf_cl_gemv(ecqf_cl *cl, const ecqf_tensor_info *info, const float *x, float *y, char *msg,
                 size_t msg_size);

#ifdef __cplusplus
}
#endif
#endif
