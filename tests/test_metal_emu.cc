/*
 * test_metal_emu.cc — runs kernels/metal/ecqf_gemv.metal on the CPU emulation of threadgroups
 * and simdgroups (kernels/metal/metal_compat.h, metal_emu.h): the unchanged Metal source,
 * compiled as C++, with every simd_ballot, simd_prefix_exclusive_sum and simd_shuffle_xor
 * executed by 32 lanes in lockstep. Results must be bit-identical to the scalar CPU backend
 * and within 1e-5 of float64 (tests/test_gpu_common.c).
 *
 * Built twice: test_metal_emu with the decode tables in threadgroup memory (what the host
 * program uses when they fit in 32 KiB: rANS precision <= 12, prefix codes), and
 * test_metal_emu_dev (-DECQF_METAL_TG_TABLES=0) with the tables in device memory.
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "ecqf.h"
#include "metal/ecqf_gpu.h"
#include "test_gpu_common.h"

/* the Metal source itself (through compat/metal_stdlib) */
#include "metal/ecqf_gemv.metal"

#undef device
#undef constant
#undef threadgroup
#undef thread
#undef kernel

#ifndef ECQF_TOP_SRCDIR
#define ECQF_TOP_SRCDIR "."
#endif

/* Apple GPUs give a threadgroup 32 KiB; the argument-free part of the kernel uses none. */
static const size_t TG_MEMORY = 32768;

static int run(void *, const ecqf_tensor_info *in, const float *x, float *y, char *msg, size_t n) {
    static const uint32_t zero[4] = {0, 0, 0, 0};
    ecqf_gpu_tensor g;
    int rc = ecqf_gpu_tensor_init(&g, in, 0, msg, n);
    if (rc) return rc;
    if (ECQF_METAL_TG_TABLES && g.table_words * 4 > TG_MEMORY) {
        snprintf(msg, n, "decode tables of %zu bytes exceed threadgroup memory (the host uses the device-table "
                 "kernel, test_metal_emu_dev)", g.table_words * 4);
        ecqf_gpu_tensor_free(&g);
        return ECQF_ERR_UNSUPPORTED;
    }
    if (g.T == 0) {
        for (uint64_t r = 0; r < in->rows; r++) y[r] = 0.0f;
        ecqf_gpu_tensor_free(&g);
        return ECQF_OK;
    }
    auto part = [&](int k) -> const void * { return in->part[k] && in->part_size[k] ? (const void *)in->part[k] : (const void *)zero; };
    std::vector<float> scratch(g.part_floats + 1);
    std::vector<uint32_t> tgmem(g.table_words + 1);
    metal::atomic_uint err(0);
    bool ok = ecqf_emu::dispatch((unsigned)g.TR, g.lanes, [&](unsigned grp, unsigned tid) {
        ecqf_gemv((const ushort *)part(ECQF_PART_PARAMS), (const uint *)part(ECQF_PART_TILE_INDEX),
                  (const uint *)part(ECQF_PART_ESCAPES), (const uchar *)part(ECQF_PART_DATA), g.tables, x, y,
                  scratch.data(), &err, g.args, tgmem.data(), grp, tid, g.lanes);
    });
    ecqf_gpu_tensor_free(&g);
    if (!ok) {
        snprintf(msg, n, "emulator: %s", ecqf_emu::last_error() ? ecqf_emu::last_error() : "?");
        return ECQF_ERR_IO;
    }
    rc = ecqf_gpu_status(err.load());
    if (rc) snprintf(msg, n, "kernel reported error bits 0x%x", err.load());
    return rc;
}

int main() {
    const char *cases = getenv("ECQF_GPU_TEST_CASES");
    const char *name = ECQF_METAL_TG_TABLES ? "metal-emu (threadgroup tables)" : "metal-emu (device tables)";
    return gpu_check_all(name, run, nullptr, cases ? (unsigned)atoi(cases) : 60, ECQF_TOP_SRCDIR);
}
