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

#include <cmath>
#include <string>
#include <unistd.h>

#include "ecqf.h"
#include "metal/ecqf_gpu.h"
extern "C" {
#include "safetensors.h"
}
#include "test_gpu_common.h"

/* the Metal sources themselves (through compat/metal_stdlib) */
#include "metal/ecqf_gemv.metal"
#include "metal/ecqf_gemv_fast.metal"

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

/* ---- the tuned kernel (ecqf_gemv_fast.metal): float64 comparison ------------------------- */

static int fast_failures, fast_run;
static double fast_worst;

/* Run the tuned kernel on tensor `index` of rd (encoded for it) and compare with float64. */
static void fast_check(const ecqf_reader *rd, size_t index, const char *what) {
    ecqf_tensor_info in;
    ecqf_error e;
    uint32_t *table = NULL;
    size_t words = 0;
    if (ecqf_reader_tensor_info(rd, index, &in) || ecqf_gpu_fast_table(&in, &table, &words)) {
        fprintf(stderr, "FAIL %s: no fast table\n", what);
        fast_failures++;
        return;
    }
    const uint32_t T = (uint32_t)in.tile_count;
    uint32_t a[ECQF_FA_NARGS] = {0};
    a[ECQF_FA_ROWS] = (uint32_t)in.rows;
    a[ECQF_FA_COLS] = (uint32_t)in.cols;
    a[ECQF_FA_S] = in.stripe_rows;
    a[ECQF_FA_CODING] = in.coding == ECQF_CODING_RANS ? ECQF_FAST_RANS : ECQF_FAST_PREFIX;
    a[ECQF_FA_PREC] = in.coding == ECQF_CODING_RANS ? in.precision : in.max_length;
    a[ECQF_FA_TABLE_WORDS] = (uint32_t)words;
    a[ECQF_FA_TILES] = T;
    /* the data part padded, as a GPU buffer would be, for the stream window's reads past the end */
    std::vector<unsigned char> data(in.part_size[ECQF_PART_DATA] + 4096, 0);
    memcpy(data.data(), in.part[ECQF_PART_DATA], in.part_size[ECQF_PART_DATA]);
    std::vector<float> x(in.cols), y(in.rows, NAN), w(in.numel);
    for (uint64_t c = 0; c < in.cols; c++) x[c] = (float)((c * 2654435761u % 2001u) / 1000.0 - 1.0);
    std::vector<uint32_t> tg(words + 1);
    const unsigned ngroups = (T + 3) / 4 < 3 ? (T + 3) / 4 : 3; /* a few threadgroups that loop */
    bool ok = ecqf_emu::dispatch(ngroups, 128, [&](unsigned grp, unsigned tid) {
        ecqf_gemv_fast(data.data(), (const uint *)in.part[ECQF_PART_TILE_INDEX],
                       (const ushort *)in.part[ECQF_PART_PARAMS], table, x.data(), y.data(), a, tg.data(), grp,
                       ngroups, tid, tid % 32, tid / 32);
    });
    free(table);
    fast_run++;
    if (!ok || ecqf_tensor_dequantize(rd, index, ECQF_DTYPE_F32, w.data(), w.size() * 4, &e)) {
        fprintf(stderr, "FAIL %s: %s\n", what, ok ? e.message : ecqf_emu::last_error());
        fast_failures++;
        return;
    }
    double err = 0, ref = 0;
    for (uint64_t r = 0; r < in.rows; r++) {
        double s2 = 0;
        for (uint64_t c = 0; c < in.cols; c++) s2 += (double)w[r * in.cols + c] * x[c];
        err += ((double)y[r] - s2) * ((double)y[r] - s2);
        ref += s2 * s2;
    }
    const double ne = ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
    if (!(ne <= 1e-5)) {
        fprintf(stderr, "FAIL %s (%s): ||y - y64|| / ||y64|| = %g\n", what, ecqf_coding_name(in.coding), ne);
        fast_failures++;
    }
    if (ne > fast_worst || std::isnan(ne)) fast_worst = ne;
}

/* Encode w (rows x cols) for the tuned kernel: affine 4-bit g64 f16, 32 lanes, pack 2, stripe
 * S, tiles of S rows by the full width; tensor 0 rANS (precision 12), tensor 1 prefix. */
static void fast_case(const float *w, uint64_t rows, uint64_t cols, unsigned S, const char *what) {
    const uint64_t G = cols / 64;
    std::vector<uint8_t> codes(rows * cols);
    std::vector<uint16_t> params(2 * rows * G);
    if (ecqf_quantize_affine(w, rows, cols, 4, 64, ECQF_DTYPE_F16, codes.data(), params.data(),
                             params.data() + rows * G)) {
        fprintf(stderr, "FAIL %s: quantize\n", what);
        fast_failures++;
        return;
    }
    char path[512];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/ecqf-metal-fast-%d.ecqf", base && *base ? base : "/tmp", (int)getpid());
    ecqf_writer *wr = NULL;
    ecqf_writer_options o;
    ecqf_error e;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.flags = ECQF_WRITE_OVERWRITE;
    bool ok = ecqf_writer_create(&wr, path, &o, &e) == 0;
    for (int k = 0; k < 2 && ok; k++) {
        ecqf_tensor_desc d;
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        d.name = k ? "p" : "r";
        d.ndim = 2;
        d.dims[0] = rows;
        d.dims[1] = cols;
        d.scheme = ECQF_SCHEME_AFFINE;
        d.coding = k ? ECQF_CODING_PREFIX : ECQF_CODING_RANS;
        d.dtype = ECQF_DTYPE_F32;
        d.bits = 4;
        d.group_size = 64;
        d.param_dtype = ECQF_DTYPE_F16;
        d.precision = 12;
        d.lanes = 32;
        d.pack = 2;
        d.stripe_rows = S;
        d.tile_rows = S;
        d.tile_cols = (uint32_t)cols;
        d.codes = codes.data();
        d.params = params.data();
        d.params_size = params.size() * 2;
        ok = ecqf_writer_add_tensor(wr, &d, &e) == 0;
    }
    ecqf_reader *rd = NULL;
    if (ok) ok = ecqf_writer_finish(wr, &e) == 0 && ecqf_reader_open_file(&rd, path, NULL, &e) == 0;
    else if (wr) ecqf_writer_abort(wr);
    unlink(path);
    if (!ok) {
        fprintf(stderr, "FAIL %s: encode: %s\n", what, e.message);
        fast_failures++;
        return;
    }
    fast_check(rd, 0, what);
    fast_check(rd, 1, what);
    ecqf_reader_close(rd);
}

static void fast_all(void) {
    uint64_t rng = 12345;
    auto gauss = [&]() {
        double u = ((rng = rng * 6364136223846793005ull + 1442695040888963407ull) >> 11) / 9007199254740992.0 + 1e-300;
        double v = ((rng = rng * 6364136223846793005ull + 1442695040888963407ull) >> 11) / 9007199254740992.0;
        return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
    };
    static const unsigned shapes[][2] = {{4, 64}, {8, 128}, {40, 192}, {96, 320}, {16, 2048}};
    for (auto &sh : shapes)
        for (unsigned S : {4u, 8u}) {
            if (sh[0] % S) continue;
            std::vector<float> w((size_t)sh[0] * sh[1]);
            for (auto &v : w) v = (float)(0.02 * gauss());
            char what[64];
            snprintf(what, sizeof what, "fast %ux%u S%u", sh[0], sh[1], S);
            fast_case(w.data(), sh[0], sh[1], S, what);
        }
    const char *dir = getenv("ECQF_MODELS_DIR");
    std::string path = std::string(dir && *dir ? dir : ECQF_TOP_SRCDIR "/../shared/models") + "/stories260K.safetensors";
    st_model *m = NULL;
    st_error se;
    if (access(path.c_str(), R_OK) == 0 && st_open(&m, path.c_str(), &se) == 0) {
        for (size_t i = 0; i < st_tensor_count(m); i++) {
            const st_tensor *t = st_tensor_at(m, i);
            if (t->ndim != 2 || t->shape[1] % 64) continue;
            std::vector<float> w(t->numel);
            if (st_tensor_to_f32(t, w.data(), t->numel)) continue;
            for (unsigned S : {4u, 8u})
                if (t->shape[0] % S == 0) fast_case(w.data(), t->shape[0], t->shape[1], S, t->name);
        }
        st_close(m);
    }
    fprintf(stderr, "metal-emu tuned kernel (ecqf_gemv_fast.metal): %d tensors, %d failed, max norm error %.3g "
            "(bound 1e-5)\n", fast_run, fast_failures, fast_worst);
}

int main() {
    const char *cases = getenv("ECQF_GPU_TEST_CASES");
    const char *name = ECQF_METAL_TG_TABLES ? "metal-emu (threadgroup tables)" : "metal-emu (device tables)";
    int rc = gpu_check_all(name, run, nullptr, cases ? (unsigned)atoi(cases) : 60, ECQF_TOP_SRCDIR);
    if (ECQF_METAL_TG_TABLES) {
        fast_all();
        if (fast_failures || fast_run == 0) rc = 1;
    }
    return rc;
}
