/*
 * ecqf_opencl.c — OpenCL host for the fused decode + GEMV (see ecqf_opencl.h). One work-group
 * of W work-items per tile row; the tensor's parts are handed to the device as they are in the
 * file (CL_MEM_USE_HOST_PTR: no copy on a CPU device such as PoCL).
 */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecqf_opencl.h"
#include "metal/ecqf_gpu.h"

#define CL_LOCAL_WORDS 40960u /* u32 words of __local table: rANS precision 15 */

struct ecqf_cl {
    cl_context ctx;
    cl_command_queue q;
    cl_device_id dev;
    cl_program prog;
    cl_kernel k;
    char name[256];
};

static int say(char *msg, size_t n, int rc, const char *what, cl_int e) {
    if (msg && n) snprintf(msg, n, "%s (OpenCL error %d)", what, (int)e);
    return rc;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *b;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        *len = (size_t)n;
    }
    return b;
}

void ecqf_cl_free(ecqf_cl *cl) {
    if (!cl) return;
    if (cl->k) clReleaseKernel(cl->k);
    if (cl->prog) clReleaseProgram(cl->prog);
    if (cl->q) clReleaseCommandQueue(cl->q);
    if (cl->ctx) clReleaseContext(cl->ctx);
    free(cl);
}

const char *ecqf_cl_device_name(const ecqf_cl *cl) { return cl->name; }

int ecqf_cl_create(ecqf_cl **out, const char *kdir, char *msg, size_t n) {
    cl_platform_id plat[8];
    cl_uint np = 0, i;
    cl_int e;
    ecqf_cl *cl;
    char path[4096], opts[4200], *src;
    const char *srcs[1];
    size_t len = 0;
    *out = NULL;
    if (clGetPlatformIDs(8, plat, &np) != CL_SUCCESS || np == 0)
        return say(msg, n, ECQF_ERR_UNSUPPORTED, "no OpenCL platform", 0);
    cl = calloc(1, sizeof *cl);
    if (!cl) return ECQF_ERR_NOMEM;
    for (i = 0; i < np && !cl->dev; i++)
        if (clGetDeviceIDs(plat[i], CL_DEVICE_TYPE_ALL, 1, &cl->dev, NULL) != CL_SUCCESS) cl->dev = NULL;
    if (!cl->dev) {
        ecqf_cl_free(cl);
        return say(msg, n, ECQF_ERR_UNSUPPORTED, "no OpenCL device", 0);
    }
    clGetDeviceInfo(cl->dev, CL_DEVICE_NAME, sizeof cl->name - 1, cl->name, NULL);
    cl->ctx = clCreateContext(NULL, 1, &cl->dev, NULL, NULL, &e);
    if (!cl->ctx) goto clfail;
    cl->q = clCreateCommandQueue(cl->ctx, cl->dev, 0, &e);
    if (!cl->q) goto clfail;
    snprintf(path, sizeof path, "%s/opencl/ecqf_gemv.cl", kdir);
    src = read_file(path, &len);
    if (!src) {
        ecqf_cl_free(cl);
        if (msg && n) snprintf(msg, n, "cannot read %s", path);
        return ECQF_ERR_IO;
    }
    srcs[0] = src;
    cl->prog = clCreateProgramWithSource(cl->ctx, 1, srcs, &len, &e);
    free(src);
    if (!cl->prog) goto clfail;
    {
        /* PoCL 3.1 (LLVM 15) miscompiles this kernel when it optimizes it: a lane's rANS state
         * written after a barrier is lost in some work-items (reproduced with W = 2 and with
         * partial lane groups; a printf or -cl-opt-disable makes it correct). On PoCL the
         * program is therefore built with -cl-opt-disable; ECQF_CL_OPTS overrides the extra
         * options, ECQF_CL_TABLE_GLOBAL=1 forces the tables into __global memory. */
        cl_ulong lmem = 0;
        char vendor[256] = "";
        const char *extra = getenv("ECQF_CL_OPTS");
        cl_platform_id dp = NULL;
        clGetDeviceInfo(cl->dev, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lmem, &lmem, NULL);
        clGetDeviceInfo(cl->dev, CL_DEVICE_PLATFORM, sizeof dp, &dp, NULL);
        if (dp) clGetPlatformInfo(dp, CL_PLATFORM_VENDOR, sizeof vendor - 1, vendor, NULL);
        if (!extra) extra = strstr(vendor, "pocl") ? "-cl-opt-disable" : "";
        snprintf(opts, sizeof opts, "-I %s -DECQF_CL_LOCAL_WORDS=%u%s %s", kdir, CL_LOCAL_WORDS,
                 getenv("ECQF_CL_TABLE_GLOBAL") || lmem < 4u * CL_LOCAL_WORDS + 4096u ? " -DECQF_CL_TABLE_GLOBAL" : "",
                 extra);
    }
    e = clBuildProgram(cl->prog, 1, &cl->dev, opts, NULL, NULL);
    if (e != CL_SUCCESS) {
        size_t ll = 0;
        if (msg && n) {
            int k = snprintf(msg, n, "clBuildProgram %s: error %d: ", path, (int)e);
            if (k > 0 && (size_t)k < n)
                clGetProgramBuildInfo(cl->prog, cl->dev, CL_PROGRAM_BUILD_LOG, n - (size_t)k - 1, msg + k, &ll);
        }
        ecqf_cl_free(cl);
        return ECQF_ERR_IO;
    }
    cl->k = clCreateKernel(cl->prog, "ecqf_gemv", &e);
    if (!cl->k) goto clfail;
    *out = cl;
    return ECQF_OK;
clfail:
    ecqf_cl_free(cl);
    return say(msg, n, ECQF_ERR_IO, "OpenCL setup failed", e);
}

/* A read-only buffer over host memory (a 4-byte dummy when empty). */
static cl_mem in_buf(ecqf_cl *cl, const void *p, size_t size, cl_int *e) {
    static const uint32_t zero[4] = {0, 0, 0, 0};
    if (!p || size == 0) return clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof zero, (void *)zero, e);
    return clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, size, (void *)p, e);
}

int ecqf_cl_gemv(ecqf_cl *cl, const ecqf_tensor_info *in, const float *x, float *y, char *msg, size_t n) {
    ecqf_gpu_tensor g;
    cl_mem b[10] = {0};
    cl_int e = CL_SUCCESS;
    uint32_t err = 0;
    int rc, i;
    size_t gsz, lsz;
    rc = ecqf_gpu_tensor_init(&g, in, 64, msg, n);
    if (rc) return rc;
    if (g.T == 0) { /* no tiles: an empty matrix view */
        for (uint64_t r = 0; r < in->rows; r++) y[r] = 0.0f;
        ecqf_gpu_tensor_free(&g);
        return ECQF_OK;
    }
    b[0] = in_buf(cl, in->part[ECQF_PART_PARAMS], in->part_size[ECQF_PART_PARAMS], &e);
    if (e == CL_SUCCESS) b[1] = in_buf(cl, in->part[ECQF_PART_TILE_INDEX], in->part_size[ECQF_PART_TILE_INDEX], &e);
    if (e == CL_SUCCESS) b[2] = in_buf(cl, in->part[ECQF_PART_ESCAPES], in->part_size[ECQF_PART_ESCAPES], &e);
    if (e == CL_SUCCESS) b[3] = in_buf(cl, in->part[ECQF_PART_DATA], in->part_size[ECQF_PART_DATA], &e);
    if (e == CL_SUCCESS) b[4] = in_buf(cl, g.tables, g.table_words * 4, &e);
    if (e == CL_SUCCESS) b[5] = in_buf(cl, x, in->cols * sizeof(float), &e);
    if (e == CL_SUCCESS) b[6] = clCreateBuffer(cl->ctx, CL_MEM_WRITE_ONLY, in->rows * sizeof(float), NULL, &e);
    if (e == CL_SUCCESS) b[7] = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, g.part_floats * sizeof(float), NULL, &e);
    if (e == CL_SUCCESS) b[8] = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 4, &err, &e);
    if (e == CL_SUCCESS) b[9] = clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof g.args, g.args, &e);
    if (e != CL_SUCCESS) {
        rc = say(msg, n, ECQF_ERR_IO, "clCreateBuffer", e);
        goto out;
    }
    for (i = 0; i < 10 && e == CL_SUCCESS; i++) e = clSetKernelArg(cl->k, (cl_uint)i, sizeof(cl_mem), &b[i]);
    lsz = g.lanes;
    gsz = (size_t)g.TR * lsz;
    if (e == CL_SUCCESS) e = clEnqueueNDRangeKernel(cl->q, cl->k, 1, NULL, &gsz, &lsz, 0, NULL, NULL);
    if (e == CL_SUCCESS) e = clEnqueueReadBuffer(cl->q, b[6], CL_TRUE, 0, in->rows * sizeof(float), y, 0, NULL, NULL);
    if (e == CL_SUCCESS) e = clEnqueueReadBuffer(cl->q, b[8], CL_TRUE, 0, 4, &err, 0, NULL, NULL);
    if (e != CL_SUCCESS) {
        rc = say(msg, n, ECQF_ERR_IO, "kernel run", e);
        goto out;
    }
    rc = ecqf_gpu_status(err);
    if (rc && msg && n) snprintf(msg, n, "kernel reported error bits 0x%x", err);
out:
    for (i = 0; i < 10; i++)
        if (b[i]) clReleaseMemObject(b[i]);
    ecqf_gpu_tensor_free(&g);
    return rc;
}
