/*
 * test_opencl.c — the OpenCL backend (kernels/opencl) on the first OpenCL device, PoCL on the
 * CPU in `make check`: bit-exact with the scalar CPU backend and within 1e-5 of float64 on
 * random tensors and on stories260K (tests/test_gpu_common.c). Exit 77 (skip) when there is no
 * OpenCL platform or device.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ecqf.h"
#include "opencl/ecqf_opencl.h"
#include "test_gpu_common.h"

#ifndef ECQF_TOP_SRCDIR
#define ECQF_TOP_SRCDIR "."
#endif

static int run(void *ctx, const ecqf_tensor_info *in, const float *x, float *y, char *msg, size_t n) {
    return ecqf_cl_gemv((ecqf_cl *)ctx, in, x, y, msg, n);
}

int main(void) {
    ecqf_cl *cl = NULL;
    char msg[8192];
    const char *cases = getenv("ECQF_GPU_TEST_CASES");
    int rc = ecqf_cl_create(&cl, ECQF_TOP_SRCDIR "/kernels", msg, sizeof msg);
    if (rc == ECQF_ERR_UNSUPPORTED) {
        fprintf(stderr, "SKIP: test_opencl: %s\n", msg);
        return 77;
    }
    if (rc) {
        fprintf(stderr, "FAIL: test_opencl: %s\n", msg);
        return 1;
    }
    fprintf(stderr, "test_opencl: device %s\n", ecqf_cl_device_name(cl));
    rc = gpu_check_all("opencl", run, cl, cases ? (unsigned)atoi(cases) : 60, ECQF_TOP_SRCDIR);
    ecqf_cl_free(cl);
    return rc;
}
