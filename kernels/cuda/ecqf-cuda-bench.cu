/*
 * ecqf-cuda-bench.cu — CUDA backend of ECQF on one GPU: correctness, then speed.
 *
 *   ecqf-cuda-bench [--model stories260K.safetensors] [--json out.json] [--quick]
 *                   [--shapes 4096x4096,...] [--batches 1,2,4,8,16] [--check-only]
 *
 * Correctness (printed first, and in the JSON):
 *   - the portable kernel body (ecqf_cuda_body.cuh) on random tensors and on every 2-D tensor
 *     of stories260K quantized 8 ways: bit-identical to the scalar CPU backend, and within 1e-5
 *     of float64 (the harness of tests/test_gpu_common.c);
 *   - the tuned kernels (ecqf_cuda_fast.cuh) on the stories260K tensors they support and on
 *     every benchmark shape: within 1e-5 (norm) of a float64 GEMV over the dequantized weights;
 *     decode-alone output equal to the reference decoder's symbols.
 * Speed, per shape (weights: Gaussian rows, each row's scale drawn from the row RMS values of
 * stories260K's 2-D tensors; quantized MLX-style affine 4-bit g64 with f16 scales and biases):
 *   - fused decode + GEMV, rANS and prefix code (the tuned kernels, and the portable body);
 *   - decode alone, rANS and prefix (symbols/s; a symbol is two 4-bit codes);
 *   - plain 4-bit GEMV of the same quantization (RAW codes), tuned;
 *   - cuBLAS fp16 GEMV (cublasGemmEx, n = batch);
 *   - device copy bandwidth (cudaMemcpy D2D) and read bandwidth (a streaming read kernel).
 * Each kernel is timed as the median of graph replays of 20 back-to-back launches, rotating
 * over enough copies of the inputs to defeat the 50 MB L2.
 */
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

extern "C" {
#include "ecqf.h"
#include "codec.h"
#include "ecqf_kernels.h"
#include "metal/ecqf_gpu.h"
#include "safetensors.h"
#include "test_gpu_common.h"
}

#include "cuda/ecqf_cuda_body.cuh"
#include "cuda/ecqf_cuda_fast.cuh"

#define CK(call)                                                                                      \
    do {                                                                                              \
        cudaError_t e_ = (call);                                                                      \
        if (e_ != cudaSuccess) {                                                                      \
            fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorName(e_), __FILE__, __LINE__, \
                    cudaGetErrorString(e_));                                                          \
            exit(2);                                                                                  \
        }                                                                                             \
    } while (0)
#define CKB(call)                                                                   \
    do {                                                                            \
        cublasStatus_t s_ = (call);                                                 \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                          \
            fprintf(stderr, "cuBLAS error %d at %s:%d\n", (int)s_, __FILE__, __LINE__); \
            exit(2);                                                                \
        }                                                                           \
    } while (0)

static FILE *g_json;
static bool g_json_first = true;
static int g_fail;
static cudaStream_t g_stream;
static int g_sms;

/* ---- JSON (flat records) ------------------------------------------------------------------ */
static void json_rec(const std::string &body) {
    if (!g_json) return;
    fprintf(g_json, "%s\n  {%s}", g_json_first ? "" : ",", body.c_str());
    g_json_first = false;
}
static std::string jkv(const char *k, double v) {
    char b[128];
    if (std::isfinite(v)) snprintf(b, sizeof b, "\"%s\": %.6g", k, v);
    else snprintf(b, sizeof b, "\"%s\": null", k);
    return b;
}
static std::string jks(const char *k, const std::string &v) { return std::string("\"") + k + "\": \"" + v + "\""; }

/* ---- random numbers --------------------------------------------------------------------- */
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd() {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}
static double unif() { return (double)(rnd() >> 11) / 9007199254740992.0; }
static double gauss() {
    double u = unif() + 1e-300, v = unif();
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* ---- row RMS values of the real model ---------------------------------------------------- */
static std::vector<float> g_rms;
static void load_rms(const char *path) {
    st_model *m = NULL;
    st_error e;
    if (!path || access(path, R_OK) != 0 || st_open(&m, path, &e) != 0) return;
    for (size_t i = 0; i < st_tensor_count(m); i++) {
        const st_tensor *t = st_tensor_at(m, i);
        if (t->ndim != 2) continue;
        std::vector<float> w(t->numel);
        if (st_tensor_to_f32(t, w.data(), t->numel)) continue;
        for (uint64_t r = 0; r < t->shape[0]; r++) {
            double s = 0;
            for (uint64_t c = 0; c < t->shape[1]; c++) s += (double)w[r * t->shape[1] + c] * w[r * t->shape[1] + c];
            g_rms.push_back((float)sqrt(s / (double)t->shape[1]));
        }
    }
    st_close(m);
}
static void make_weights(std::vector<float> &w, uint64_t rows, uint64_t cols) {
    w.resize(rows * cols);
    for (uint64_t r = 0; r < rows; r++) {
        double s = g_rms.empty() ? 0.02 * exp(0.5 * gauss()) : g_rms[rnd() % g_rms.size()];
        for (uint64_t c = 0; c < cols; c++) w[r * cols + c] = (float)(gauss() * s);
    }
}

/* ---- a quantized, encoded tensor ---------------------------------------------------------- */
struct qtensor {
    uint64_t rows = 0, cols = 0;
    unsigned S = 4, tile_rows = 4, tile_cols = 0, prec = 12, max_length = 12;
    std::vector<uint8_t> codes;     /* rows x cols */
    std::vector<uint16_t> params;   /* scales then biases, f16 */
    ecqf_reader *rd = NULL;         /* RANS tensor 0, PREFIX tensor 1 */
    ecqf_tensor_info info[2];
    std::string path;
    ~qtensor() {
        if (rd) ecqf_reader_close(rd);
        if (!path.empty()) unlink(path.c_str());
    }
};

static bool encode(qtensor &q, const std::vector<float> &w) {
    ecqf_error e;
    const uint64_t G = q.cols / 64;
    q.codes.resize(q.rows * q.cols);
    q.params.resize(2 * q.rows * G);
    if (ecqf_quantize_affine(w.data(), q.rows, q.cols, 4, 64, ECQF_DTYPE_F16, q.codes.data(), q.params.data(),
                             q.params.data() + q.rows * G)) {
        fprintf(stderr, "quantize failed\n");
        return false;
    }
    char tmpl[] = "/tmp/ecqf-cuda-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) return false;
    close(fd);
    q.path = tmpl;
    ecqf_writer *wr = NULL;
    ecqf_writer_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.flags = ECQF_WRITE_OVERWRITE;
    if (ecqf_writer_create(&wr, q.path.c_str(), &o, &e)) {
        fprintf(stderr, "writer: %s\n", e.message);
        return false;
    }
    for (int k = 0; k < 2; k++) {
        ecqf_tensor_desc d;
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        d.name = k ? "prefix" : "rans";
        d.ndim = 2;
        d.dims[0] = q.rows;
        d.dims[1] = q.cols;
        d.scheme = ECQF_SCHEME_AFFINE;
        d.coding = k ? ECQF_CODING_PREFIX : ECQF_CODING_RANS;
        d.dtype = ECQF_DTYPE_F16;
        d.bits = 4;
        d.group_size = 64;
        d.param_dtype = ECQF_DTYPE_F16;
        d.precision = q.prec;
        d.max_length = q.max_length;
        d.lanes = 32;
        d.pack = 2;
        d.stripe_rows = q.S;
        d.tile_rows = q.tile_rows;
        d.tile_cols = q.tile_cols;
        d.codes = q.codes.data();
        d.params = q.params.data();
        d.params_size = q.params.size() * 2;
        if (ecqf_writer_add_tensor(wr, &d, &e)) {
            fprintf(stderr, "encode %s: %s\n", d.name, e.message);
            ecqf_writer_abort(wr);
            return false;
        }
    }
    if (ecqf_writer_finish(wr, &e) || ecqf_reader_open_file(&q.rd, q.path.c_str(), NULL, &e)) {
        fprintf(stderr, "write/open: %s\n", e.message);
        return false;
    }
    for (int k = 0; k < 2; k++)
        if (ecqf_reader_tensor_info(q.rd, (size_t)k, &q.info[k])) return false;
    return true;
}

static float h2f(uint16_t h) { return ecqf_f16_to_f32(h); }

/* float64 GEMV over the dequantized weights, from codes and params */
static void ref_gemv(const qtensor &q, const float *x, double *y, unsigned B) {
    const uint64_t G = q.cols / 64;
    for (unsigned b = 0; b < B; b++)
        for (uint64_t r = 0; r < q.rows; r++) {
            double s = 0;
            for (uint64_t g = 0; g < G; g++) {
                const double sc = h2f(q.params[r * G + g]), bi = h2f(q.params[q.rows * G + r * G + g]);
                double p = 0, xs = 0;
                for (uint64_t c = g * 64; c < g * 64 + 64; c++) {
                    p += (double)q.codes[r * q.cols + c] * x[b * q.cols + c];
                    xs += x[b * q.cols + c];
                }
                s += sc * p + bi * xs;
            }
            y[b * q.rows + r] = s;
        }
}

static double norm_err(const float *y, const double *yr, size_t n) {
    double e = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)y[i] - yr[i];
        if (!std::isfinite(y[i])) return INFINITY;
        e += d * d;
        r += yr[i] * yr[i];
    }
    return r > 0 ? sqrt(e / r) : sqrt(e);
}

/* ---- device copies of a tensor for the fast kernels --------------------------------------- */
static const size_t DATA_PAD = 65536;

struct dev_fast {
    unsigned char *data = NULL;
    unsigned long long *tidx = NULL;
    __half *params = NULL;
    unsigned *table = NULL;
    unsigned table_words = 0;
    size_t data_bytes = 0;
    ecqf_cu_fast_args a;
    bool ok = false;
    std::string why;
};

/* Fast tables: rANS e = freq<<20 | hi<<16 | lo<<12 | (slot - cum); prefix e = len | lo<<19 | hi<<23. */
static bool fast_table(const ecqf_tensor_info &in, std::vector<unsigned> &tab, std::string &why) {
    if (in.coding == ECQF_CODING_RANS) {
        if (in.precision > 12) {
            why = "rANS precision above 12";
            return false;
        }
        const unsigned M = 1u << in.precision;
        uint32_t cum = 0;
        tab.assign(M, 0);
        for (unsigned s = 0; s < 256; s++) {
            const unsigned f = in.part[ECQF_PART_TABLE][2 * s] | (in.part[ECQF_PART_TABLE][2 * s + 1] << 8);
            if (f >= 4096) {
                why = "a single-symbol rANS table";
                return false;
            }
            for (unsigned v = cum; v < cum + f; v++) tab[v] = (f << 20) | ((s >> 4) << 16) | ((s & 15) << 12) | (v - cum);
            cum += f;
        }
        return cum == M;
    }
    const unsigned L = in.max_length, n = 1u << L;
    std::vector<unsigned> cnt(L + 2, 0), next(L + 2, 0);
    tab.assign(n, 0);
    for (unsigned s = 0; s < 256; s++) cnt[in.part[ECQF_PART_TABLE][s]]++;
    cnt[0] = 0;
    for (unsigned l = 2; l <= L; l++) next[l] = (next[l - 1] + cnt[l - 1]) << 1;
    for (unsigned s = 0; s < 256; s++) {
        const unsigned l = in.part[ECQF_PART_TABLE][s];
        if (!l) continue;
        const unsigned code = next[l]++, base = code << (L - l);
        for (unsigned i = 0; i < (1u << (L - l)); i++) tab[base + i] = l | ((s & 15) << 19) | ((s >> 4) << 23);
    }
    return true;
}

static bool fast_supported(const ecqf_tensor_info &in, std::string &why) {
    if (in.scheme != ECQF_SCHEME_AFFINE || in.bits != 4 || in.group_size != 64 || in.param_dtype != ECQF_DTYPE_F16)
        why = "not affine 4-bit g64 f16";
    else if (in.pack != 2 || in.lanes != 32) why = "not pack 2 / 32 lanes";
    else if (in.stripe_rows != 4 && in.stripe_rows != 8) why = "stripe not 4 or 8";
    else if (in.rows % in.tile_rows || in.cols % in.tile_cols || in.tile_rows % in.stripe_rows || in.tile_cols % 64)
        why = "tiles do not divide the matrix";
    else return true;
    return false;
}

static void dev_fast_free(dev_fast &d) {
    cudaFree(d.data);
    cudaFree(d.tidx);
    cudaFree(d.params);
    cudaFree(d.table);
    d = dev_fast();
}

static bool dev_fast_init(dev_fast &d, const ecqf_tensor_info &in) {
    std::vector<unsigned> tab;
    if (!fast_supported(in, d.why) || !fast_table(in, tab, d.why)) return false;
    d.data_bytes = in.part_size[ECQF_PART_DATA];
    CK(cudaMalloc(&d.data, d.data_bytes + DATA_PAD));
    CK(cudaMemset(d.data + d.data_bytes, 0, DATA_PAD));
    CK(cudaMemcpy(d.data, in.part[ECQF_PART_DATA], d.data_bytes, cudaMemcpyHostToDevice));
    CK(cudaMalloc(&d.tidx, in.part_size[ECQF_PART_TILE_INDEX]));
    CK(cudaMemcpy(d.tidx, in.part[ECQF_PART_TILE_INDEX], in.part_size[ECQF_PART_TILE_INDEX], cudaMemcpyHostToDevice));
    CK(cudaMalloc(&d.params, in.part_size[ECQF_PART_PARAMS]));
    CK(cudaMemcpy(d.params, in.part[ECQF_PART_PARAMS], in.part_size[ECQF_PART_PARAMS], cudaMemcpyHostToDevice));
    CK(cudaMalloc(&d.table, tab.size() * 4));
    CK(cudaMemcpy(d.table, tab.data(), tab.size() * 4, cudaMemcpyHostToDevice));
    d.table_words = (unsigned)tab.size();
    memset(&d.a, 0, sizeof d.a);
    d.a.data = d.data;
    d.a.tile_index = d.tidx;
    d.a.scales = d.params;
    d.a.biases = d.params + in.rows * (in.cols / 64);
    d.a.table = d.table;
    d.a.table_words = d.table_words;
    d.a.rows = (unsigned)in.rows;
    d.a.cols = (unsigned)in.cols;
    d.a.G = (unsigned)(in.cols / 64);
    d.a.tile_rows = in.tile_rows;
    d.a.tile_cols = in.tile_cols;
    d.a.TC = (unsigned)(in.cols / in.tile_cols);
    d.a.T = (unsigned)in.tile_count;
    d.a.prec = in.coding == ECQF_CODING_RANS ? in.precision : in.max_length;
    d.a.atomic_out = d.a.TC > 1;
    d.ok = true;
    return true;
}

/* ---- launching the fast kernels -------------------------------------------------------------- */
typedef void (*fused_fn)(ecqf_cu_fast_args);

static bool g_win = false; /* the register-window word stream (ECQF_CU WIN variant) */
template <int C, int S, int NT, int B> static fused_fn fused_ptr() {
    return g_win ? ecqf_cu_fused<C, S, NT, B, true> : ecqf_cu_fused<C, S, NT, B, false>;
}

template <int C, int NT, int B> static fused_fn fused_sel_s(unsigned S) {
    return S == 4 ? fused_ptr<C, 4, NT, B>() : fused_ptr<C, 8, NT, B>();
}
template <int C, int B> static fused_fn fused_sel_nt(unsigned S, unsigned NT) {
    return NT == 2 ? fused_sel_s<C, 2, B>(S) : fused_sel_s<C, 1, B>(S);
}
template <int C> static fused_fn fused_sel(unsigned S, unsigned NT, unsigned B) {
    switch (B) {
    case 1: return fused_sel_nt<C, 1>(S, NT);
    case 2: return fused_sel_s<C, 1, 2>(S);
    case 4: return fused_sel_s<C, 1, 4>(S);
    case 8: return fused_sel_s<C, 1, 8>(S);
    default: return fused_sel_s<C, 1, 16>(S);
    }
}
static fused_fn fused_kernel(int coding, unsigned S, unsigned NT, unsigned B) {
    return coding == ECQF_CODING_RANS ? fused_sel<ECQF_CU_CODING_RANS>(S, NT, B) : fused_sel<ECQF_CU_CODING_PREFIX>(S, NT, B);
}
static fused_fn decode_kernel(int coding, unsigned NT) {
    if (g_win) {
        if (coding == ECQF_CODING_RANS)
            return NT == 2 ? ecqf_cu_decode<ECQF_CU_CODING_RANS, 2, true> : ecqf_cu_decode<ECQF_CU_CODING_RANS, 1, true>;
        return NT == 2 ? ecqf_cu_decode<ECQF_CU_CODING_PREFIX, 2, true> : ecqf_cu_decode<ECQF_CU_CODING_PREFIX, 1, true>;
    }
    if (coding == ECQF_CODING_RANS) return NT == 2 ? ecqf_cu_decode<ECQF_CU_CODING_RANS, 2> : ecqf_cu_decode<ECQF_CU_CODING_RANS, 1>;
    return NT == 2 ? ecqf_cu_decode<ECQF_CU_CODING_PREFIX, 2> : ecqf_cu_decode<ECQF_CU_CODING_PREFIX, 1>;
}

/* blocks for a persistent launch: as many as fit on every SM, at most g_cap_per_sm (0: no cap;
 * fewer blocks leave more of the SM's 256 KB to L1, which the stream prefetch and x use) */
static unsigned g_cap_per_sm = 0;
static unsigned persistent_blocks(fused_fn f, size_t smem, unsigned needed_warps) {
    int per_sm = 0;
    CK(cudaFuncSetAttribute((const void *)f, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, f, 128, smem));
    if (g_cap_per_sm && per_sm > (int)g_cap_per_sm) per_sm = (int)g_cap_per_sm;
    unsigned b = (unsigned)std::max(1, per_sm) * (unsigned)g_sms;
    unsigned need = (needed_warps + 3) / 4;
    return std::max(1u, std::min(b, need));
}

static void launch_fused(fused_fn f, ecqf_cu_fast_args a, unsigned NT, unsigned B, float *y) {
    const size_t smem = (size_t)a.table_words * 4;
    a.y = y;
    if (a.atomic_out) CK(cudaMemsetAsync(y, 0, (size_t)B * a.rows * sizeof(float), g_stream));
    const unsigned blocks = persistent_blocks(f, smem, (a.T + NT - 1) / NT);
    f<<<blocks, 128, smem, g_stream>>>(a);
    CK(cudaGetLastError());
}

/* ---- plain 4-bit -------------------------------------------------------------------------- */
typedef void (*plain_fn)(ecqf_cu_plain_args);
template <int R> static plain_fn plain_sel_b(unsigned B) {
    switch (B) {
    case 1: return ecqf_cu_plain4<R, 1>;
    case 2: return ecqf_cu_plain4<R, 2>;
    case 4: return ecqf_cu_plain4<R, 4>;
    case 8: return ecqf_cu_plain4<R, 8>;
    default: return ecqf_cu_plain4<R, 16>;
    }
}
static plain_fn plain_kernel(unsigned R, unsigned B) {
    switch (R) {
    case 1: return plain_sel_b<1>(B);
    case 2: return plain_sel_b<2>(B);
    case 4: return plain_sel_b<4>(B);
    default: return plain_sel_b<8>(B);
    }
}
static void launch_plain(ecqf_cu_plain_args a, unsigned R, unsigned B) {
    const unsigned nch = (a.cols + a.kchunk - 1) / a.kchunk;
    const unsigned warps = (a.rows + R - 1) / R * nch;
    a.atomic_out = nch > 1;
    if (a.atomic_out) CK(cudaMemsetAsync(a.y, 0, (size_t)B * a.rows * sizeof(float), g_stream));
    plain_kernel(R, B)<<<(warps + 3) / 4, 128, 0, g_stream>>>(a);
    CK(cudaGetLastError());
}

/* ---- timing --------------------------------------------------------------------------------- */
/* Median time of one launch: graphs of `per` launches (launch(i) uses input copy i), replayed. */
static double time_graph(const std::function<void(int)> &launch, int per = 20, int reps = 7) {
    cudaGraph_t g;
    cudaGraphExec_t ge;
    cudaEvent_t e0, e1;
    CK(cudaStreamBeginCapture(g_stream, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < per; i++) launch(i);
    CK(cudaStreamEndCapture(g_stream, &g));
    CK(cudaGraphInstantiate(&ge, g, 0));
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    CK(cudaGraphLaunch(ge, g_stream)); /* warm-up */
    CK(cudaGraphLaunch(ge, g_stream));
    std::vector<double> t;
    for (int r = 0; r < reps; r++) {
        float ms = 0;
        CK(cudaEventRecord(e0, g_stream));
        CK(cudaGraphLaunch(ge, g_stream));
        CK(cudaEventRecord(e1, g_stream));
        CK(cudaEventSynchronize(e1));
        CK(cudaEventElapsedTime(&ms, e0, e1));
        t.push_back(ms * 1e-3 / per);
    }
    CK(cudaGetLastError());
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaGraphExecDestroy(ge);
    cudaGraphDestroy(g);
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

/* ---- bandwidth ------------------------------------------------------------------------------ */
static double g_copy_bw, g_read_bw;
static void measure_bandwidth(bool quick) {
    const size_t n = quick ? (512ull << 20) : (2048ull << 20);
    void *a, *b;
    float *out;
    CK(cudaMalloc(&a, n));
    CK(cudaMalloc(&b, n));
    CK(cudaMalloc(&out, 4));
    CK(cudaMemset(a, 1, n));
    double tc = time_graph([&](int) { CK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, g_stream)); }, 5, 5);
    double tr = time_graph([&](int) { ecqf_cu_read_bw<<<g_sms * 8, 512, 0, g_stream>>>((const float4 *)a, n / 16, out); }, 5, 5);
    g_copy_bw = 2.0 * n / tc;
    g_read_bw = n / tr;
    printf("bandwidth: cudaMemcpy D2D %.0f GB/s (read + write), streaming read kernel %.0f GB/s\n", g_copy_bw / 1e9,
           g_read_bw / 1e9);
    json_rec(jks("kind", "bandwidth") + ", " + jkv("copy_GBps_read_plus_write", g_copy_bw / 1e9) + ", " +
             jkv("read_GBps", g_read_bw / 1e9) + ", " + jkv("bytes", (double)n));
    cudaFree(a);
    cudaFree(b);
    cudaFree(out);
}

/* ---- the portable body on the GPU (correctness harness) ------------------------------------ */
static int run_body(void *, const ecqf_tensor_info *in, const float *x, float *y, char *msg, size_t n) {
    ecqf_gpu_tensor g;
    int rc = ecqf_gpu_tensor_init(&g, in, 0, msg, n);
    if (rc) return rc;
    if (g.T == 0) {
        for (uint64_t r = 0; r < in->rows; r++) y[r] = 0.0f;
        ecqf_gpu_tensor_free(&g);
        return ECQF_OK;
    }
    void *b[10] = {0};
    const void *hp[4] = {in->part[ECQF_PART_PARAMS], in->part[ECQF_PART_TILE_INDEX], in->part[ECQF_PART_ESCAPES],
                         in->part[ECQF_PART_DATA]};
    const size_t hs[4] = {in->part_size[ECQF_PART_PARAMS], in->part_size[ECQF_PART_TILE_INDEX],
                          in->part_size[ECQF_PART_ESCAPES], in->part_size[ECQF_PART_DATA]};
    for (int i = 0; i < 4; i++) {
        CK(cudaMalloc(&b[i], hs[i] + 16));
        if (hs[i]) CK(cudaMemcpy(b[i], hp[i], hs[i], cudaMemcpyHostToDevice));
    }
    CK(cudaMalloc(&b[4], g.table_words * 4));
    CK(cudaMemcpy(b[4], g.tables, g.table_words * 4, cudaMemcpyHostToDevice));
    CK(cudaMalloc(&b[5], in->cols * 4 + 16));
    CK(cudaMemcpy(b[5], x, in->cols * 4, cudaMemcpyHostToDevice));
    CK(cudaMalloc(&b[6], in->rows * 4 + 16));
    CK(cudaMalloc(&b[7], g.part_floats * 4 + 16));
    CK(cudaMalloc(&b[8], 4));
    CK(cudaMemset(b[8], 0, 4));
    CK(cudaMalloc(&b[9], sizeof g.args));
    CK(cudaMemcpy(b[9], g.args, sizeof g.args, cudaMemcpyHostToDevice));
    const size_t smem = g.table_words * 4;
    CK(cudaFuncSetAttribute((const void *)ecqf_cu_gemv_body, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    ecqf_cu_gemv_body<<<(unsigned)g.TR, g.lanes, smem>>>((const unsigned short *)b[0], (const unsigned *)b[1],
                                                         (const unsigned *)b[2], (const unsigned char *)b[3],
                                                         (const unsigned *)b[4], (const float *)b[5], (float *)b[6],
                                                         (float *)b[7], (unsigned *)b[8], (const unsigned *)b[9]);
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());
    unsigned err = 0;
    CK(cudaMemcpy(y, b[6], in->rows * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(&err, b[8], 4, cudaMemcpyDeviceToHost));
    for (int i = 0; i < 10; i++) cudaFree(b[i]);
    ecqf_gpu_tensor_free(&g);
    rc = ecqf_gpu_status(err);
    if (rc) snprintf(msg, n, "kernel error bits 0x%x", err);
    return rc;
}

/* ---- the fast kernels on one encoded tensor: correctness ------------------------------------ */
static bool check_fast(qtensor &q, int k, unsigned S, const char *what, double *err_out) {
    dev_fast d;
    const ecqf_tensor_info &in = q.info[k];
    if (!dev_fast_init(d, in)) {
        printf("  %-40s %-6s fast path n/a: %s\n", what, ecqf_coding_name(in.coding), d.why.c_str());
        return true;
    }
    std::vector<float> x(in.cols), y(in.rows);
    std::vector<double> yr(in.rows);
    for (auto &v : x) v = (float)gauss();
    float *dx, *dy;
    CK(cudaMalloc(&dx, x.size() * 4));
    CK(cudaMalloc(&dy, y.size() * 4 + 4));
    CK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    ref_gemv(q, x.data(), yr.data(), 1);
    double worst = 0;
    bool ok = true;
    for (int win = 0; win <= 1; win++)
        for (unsigned NT = 1; NT <= 2; NT++) {
            g_win = win;
            d.a.x = dx;
            CK(cudaMemset(dy, 0xFF, y.size() * 4)); /* poison (NaN) */
            launch_fused(fused_kernel(in.coding, S, NT, 1), d.a, NT, 1, dy);
            CK(cudaStreamSynchronize(g_stream));
            CK(cudaMemcpy(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost));
            double e = norm_err(y.data(), yr.data(), y.size());
            worst = std::max(worst, e);
            if (!(e <= 1e-5)) {
                ok = false;
                printf("  fused NT=%u win=%d: norm error %.3g\n", NT, win, e);
            }
        }
    /* decode alone vs the reference decoder (first tiles), both stream variants */
    for (int win = 0; win <= 1 && ok; win++) {
        g_win = win;
        const unsigned steps = in.tile_rows * in.tile_cols / 64;
        const unsigned nt = std::min<unsigned>(d.a.T, 64);
        unsigned *ds;
        std::vector<unsigned> hs((size_t)d.a.T * steps * 8);
        CK(cudaMalloc(&ds, hs.size() * 4));
        ecqf_cu_fast_args a = d.a;
        a.sym_out = ds;
        fused_fn f = decode_kernel(in.coding, 2);
        const size_t smem = a.table_words * 4;
        f<<<persistent_blocks(f, smem, (a.T + 1) / 2), 128, smem, g_stream>>>(a);
        CK(cudaGetLastError());
        CK(cudaStreamSynchronize(g_stream));
        CK(cudaMemcpy(hs.data(), ds, hs.size() * 4, cudaMemcpyDeviceToHost));
        cudaFree(ds);
        std::vector<uint8_t> codes((size_t)in.tile_rows * in.tile_cols), sym(codes.size());
        ecqf_tiling tl;
        tl.rows = in.rows;
        tl.cols = in.cols;
        tl.lanes = 32;
        tl.pack = 2;
        tl.stripe_rows = in.stripe_rows;
        tl.tile_rows = in.tile_rows;
        tl.tile_cols = in.tile_cols;
        for (unsigned t = 0; t < nt && ok; t++) {
            ecqf_error e;
            ecqf_tile_geom g;
            ecqf_tile_geometry(&tl, t, &g);
            if (ecqf_tensor_decode_tile(q.rd, (size_t)k, t, codes.data(), codes.size(), &e)) {
                ok = false;
                break;
            }
            ecqf_tile_gather(&tl, &g, codes.data(), sym.data());
            for (unsigned st = 0; st < steps && ok; st++)
                for (unsigned l = 0; l < 32; l++) {
                    unsigned w = hs[(size_t)t * steps * 8 + (st / 4) * 32 + l];
                    if (((w >> (8 * (st % 4))) & 0xFF) != sym[(size_t)st * 32 + l]) {
                        printf("  decode mismatch (win=%d) tile %u step %u lane %u\n", win, t, st, l);
                        ok = false;
                        break;
                    }
                }
        }
    }
    g_win = false;
    printf("  %-40s %-6s fast fused (NT 1, 2; load and window streams): norm error %.3g %s; decode-alone symbols %s\n", what,
           ecqf_coding_name(in.coding), worst, worst <= 1e-5 ? "ok" : "FAIL", ok ? "ok" : "FAIL");
    if (!ok) g_fail++;
    if (err_out) *err_out = worst;
    cudaFree(dx);
    cudaFree(dy);
    dev_fast_free(d);
    return ok;
}

static void check_fast_model(const char *path) {
    st_model *m = NULL;
    st_error e;
    if (!path || access(path, R_OK) != 0 || st_open(&m, path, &e) != 0) {
        printf("fast kernels on stories260K: model not found, skipped\n");
        return;
    }
    printf("fast kernels on stories260K (affine 4-bit g64 f16, pack 2, 32 lanes, precision 12):\n");
    unsigned n = 0;
    for (size_t i = 0; i < st_tensor_count(m); i++) {
        const st_tensor *t = st_tensor_at(m, i);
        if (t->ndim != 2 || t->shape[1] % 64) continue;
        std::vector<float> w(t->numel);
        if (st_tensor_to_f32(t, w.data(), t->numel)) continue;
        for (unsigned S = 4; S <= 8; S += 4) {
            qtensor q;
            q.rows = t->shape[0];
            q.cols = t->shape[1];
            q.S = S;
            q.tile_rows = (unsigned)(q.rows % (2 * S) == 0 && S == 4 ? 8 : S); /* S=4: two stripes per tile */
            if (q.rows % q.tile_rows) continue;
            q.tile_cols = (unsigned)q.cols;
            if (!encode(q, w)) {
                g_fail++;
                continue;
            }
            char what[300];
            snprintf(what, sizeof what, "%s S%u", t->name, S);
            check_fast(q, 0, S, what, NULL);
            check_fast(q, 1, S, what, NULL);
            n++;
        }
    }
    st_close(m);
    json_rec(jks("kind", "check_fast_stories260K") + ", " + jkv("encodings", n));
}

/* ---- one benchmark shape -------------------------------------------------------------------- */
struct shape_cfg {
    uint64_t rows, cols;
};

static size_t ncopies_for(size_t bytes) {
    const size_t want = 160ull << 20; /* > 3x the 50 MB L2 */
    size_t n = bytes >= want ? 1 : (want + bytes - 1) / bytes;
    return std::min<size_t>(n, 20);
}

static std::vector<unsigned> g_stripes = {4, 8};

/* One launch of each tuned kernel on one shape, no graphs: for `ncu` (instructions executed). */
static void profile_once(const shape_cfg &sh) {
    std::vector<float> w;
    make_weights(w, sh.rows, sh.cols);
    for (unsigned S : g_stripes) {
        qtensor q;
        q.rows = sh.rows;
        q.cols = sh.cols;
        q.S = S;
        q.tile_rows = S;
        q.tile_cols = (unsigned)std::min<uint64_t>(sh.cols, 2048);
        if (!encode(q, w)) return;
        std::vector<float> x(sh.cols);
        for (auto &v : x) v = (float)gauss();
        float *dx, *dy;
        CK(cudaMalloc(&dx, x.size() * 4));
        CK(cudaMalloc(&dy, sh.rows * 4));
        CK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
        for (int k = 0; k < 2; k++) {
            dev_fast d;
            if (!dev_fast_init(d, q.info[k])) continue;
            d.a.x = dx;
            for (int win = 0; win <= 1; win++)
                for (unsigned NT = 1; NT <= 2; NT++) {
                    g_win = win;
                    launch_fused(fused_kernel(q.info[k].coding, S, NT, 1), d.a, NT, 1, dy);
                }
            g_win = false;
            CK(cudaStreamSynchronize(g_stream));
            dev_fast_free(d);
        }
        if (S == g_stripes[0]) {
            std::vector<uint8_t> packed(sh.rows * sh.cols / 2);
            for (size_t i = 0; i < packed.size(); i++) packed[i] = (uint8_t)(q.codes[2 * i] | (q.codes[2 * i + 1] << 4));
            ecqf_cu_plain_args pa;
            memset(&pa, 0, sizeof pa);
            unsigned char *dc;
            __half *dp;
            CK(cudaMalloc(&dc, packed.size()));
            CK(cudaMemcpy(dc, packed.data(), packed.size(), cudaMemcpyHostToDevice));
            CK(cudaMalloc(&dp, q.params.size() * 2));
            CK(cudaMemcpy(dp, q.params.data(), q.params.size() * 2, cudaMemcpyHostToDevice));
            pa.codes = dc;
            pa.scales = dp;
            pa.biases = dp + sh.rows * (sh.cols / 64);
            pa.x = dx;
            pa.y = dy;
            pa.rows = (unsigned)sh.rows;
            pa.cols = (unsigned)sh.cols;
            pa.G = (unsigned)(sh.cols / 64);
            pa.kchunk = (unsigned)sh.cols;
            launch_plain(pa, 4, 1);
            CK(cudaStreamSynchronize(g_stream));
            cudaFree(dc);
            cudaFree(dp);
        }
        cudaFree(dx);
        cudaFree(dy);
    }
    printf("profile-once: %llux%llu, %llu weights per launch\n", (unsigned long long)sh.rows,
           (unsigned long long)sh.cols, (unsigned long long)(sh.rows * sh.cols));
}

static void bench_shape(const shape_cfg &sh, const std::vector<unsigned> &batches, bool quick) {
    const uint64_t rows = sh.rows, cols = sh.cols, n = rows * cols, G = cols / 64;
    std::vector<float> w;
    make_weights(w, rows, cols);
    /* encodings: one stripe of S rows per tile, the tile width halved (down to 1024) until there
     * are enough tiles to fill the GPU */
    std::vector<qtensor *> qs;
    for (unsigned S : g_stripes) {
        if (rows % S) continue;
        qtensor *q = new qtensor;
        q->rows = rows;
        q->cols = cols;
        q->S = S;
        q->tile_rows = S;
        q->tile_cols = (unsigned)cols;
        while (q->tile_cols > 1024 && q->tile_cols % 128 == 0 && (cols / q->tile_cols) * (rows / S) < 64u * (unsigned)g_sms)
            q->tile_cols /= 2;
        printf("\n== %llux%llu: tiles %ux%u, stripe %u, 32 lanes, pack 2: quantizing and encoding...\n",
               (unsigned long long)rows, (unsigned long long)cols, q->tile_rows, q->tile_cols, q->S);
        fflush(stdout);
        if (!encode(*q, w)) {
            g_fail++;
            delete q;
            continue;
        }
        for (int k = 0; k < 2; k++) check_fast(*q, k, q->S, "shape", NULL);
        qs.push_back(q);
    }
    if (qs.empty()) return;
    qtensor &q0 = *qs[0];
    const double params_bytes = (double)q0.info[0].part_size[ECQF_PART_PARAMS];

    /* device inputs: x (B x cols), y */
    const unsigned Bmax = *std::max_element(batches.begin(), batches.end());
    std::vector<float> xh((size_t)Bmax * cols);
    for (auto &v : xh) v = (float)gauss();
    float *dx, *dy;
    CK(cudaMalloc(&dx, xh.size() * 4));
    CK(cudaMemcpy(dx, xh.data(), xh.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMalloc(&dy, (size_t)Bmax * rows * 4 + 16));

    /* plain 4-bit: RAW nibbles, params in f16 */
    std::vector<uint8_t> packed(n / 2);
    for (uint64_t i = 0; i < n; i += 2) packed[i / 2] = (uint8_t)(q0.codes[i] | (q0.codes[i + 1] << 4));
    const double plain_bytes = (double)packed.size() + params_bytes;
    const size_t nc_plain = ncopies_for((size_t)plain_bytes);
    std::vector<unsigned char *> dcodes(nc_plain);
    __half *dparams;
    CK(cudaMalloc(&dparams, q0.params.size() * 2));
    CK(cudaMemcpy(dparams, q0.params.data(), q0.params.size() * 2, cudaMemcpyHostToDevice));
    for (auto &p : dcodes) {
        CK(cudaMalloc(&p, packed.size()));
        CK(cudaMemcpy(p, packed.data(), packed.size(), cudaMemcpyHostToDevice));
    }
    ecqf_cu_plain_args pa;
    memset(&pa, 0, sizeof pa);
    pa.scales = dparams;
    pa.biases = dparams + rows * G;
    pa.x = dx;
    pa.y = dy;
    pa.rows = (unsigned)rows;
    pa.cols = (unsigned)cols;
    pa.G = (unsigned)G;
    {
        std::vector<float> y(rows);
        std::vector<double> yr(rows);
        ref_gemv(q0, xh.data(), yr.data(), 1);
        pa.codes = dcodes[0];
        pa.kchunk = (unsigned)cols;
        CK(cudaMemset(dy, 0xFF, rows * 4));
        launch_plain(pa, 4, 1);
        CK(cudaStreamSynchronize(g_stream));
        CK(cudaMemcpy(y.data(), dy, rows * 4, cudaMemcpyDeviceToHost));
        double e = norm_err(y.data(), yr.data(), rows);
        printf("  plain 4-bit GEMV: norm error %.3g %s\n", e, e <= 1e-5 ? "ok" : "FAIL");
        if (!(e <= 1e-5)) g_fail++;
    }

    /* cuBLAS fp16 */
    cublasHandle_t hb;
    CKB(cublasCreate(&hb));
    CKB(cublasSetStream(hb, g_stream));
    void *ws;
    CK(cudaMalloc(&ws, 32u << 20));
    CKB(cublasSetWorkspace(hb, ws, 32u << 20));
    const size_t nc_h = ncopies_for(n * 2);
    std::vector<__half *> dwh(nc_h);
    {
        std::vector<__half> wh(n);
        for (uint64_t i = 0; i < n; i++) wh[i] = __float2half(w[i]);
        for (auto &p : dwh) {
            CK(cudaMalloc(&p, n * 2));
            CK(cudaMemcpy(p, wh.data(), n * 2, cudaMemcpyHostToDevice));
        }
    }
    __half *dxh;
    {
        std::vector<__half> xhh(xh.size());
        for (size_t i = 0; i < xh.size(); i++) xhh[i] = __float2half(xh[i]);
        CK(cudaMalloc(&dxh, xhh.size() * 2));
        CK(cudaMemcpy(dxh, xhh.data(), xhh.size() * 2, cudaMemcpyHostToDevice));
    }

    /* fused: device copies of every encoding and coding */
    const size_t ne = qs.size();
    std::vector<dev_fast> df(2 * ne);
    std::vector<std::vector<unsigned char *>> fdata(2 * ne);
    std::vector<double> fbytes(2 * ne, 0.0);
    for (size_t e = 0; e < ne; e++)
        for (int k = 0; k < 2; k++) {
            const size_t m = 2 * e + k;
            if (!dev_fast_init(df[m], qs[e]->info[k])) continue;
            fbytes[m] = (double)qs[e]->info[k].part_size[ECQF_PART_DATA] + params_bytes +
                        (double)qs[e]->info[k].part_size[ECQF_PART_TILE_INDEX];
            const size_t nc = ncopies_for((size_t)fbytes[m]);
            fdata[m].push_back(df[m].data);
            for (size_t i = 1; i < nc; i++) {
                unsigned char *p;
                CK(cudaMalloc(&p, df[m].data_bytes + DATA_PAD));
                CK(cudaMemcpy(p, df[m].data, df[m].data_bytes + DATA_PAD, cudaMemcpyDeviceToDevice));
                fdata[m].push_back(p);
            }
            printf("  S=%u %-6s: %.3f bits/weight incl. params and tile index (plain 4-bit: %.3f)\n", qs[e]->S,
                   k ? "prefix" : "rANS", fbytes[m] * 8 / (double)n, plain_bytes * 8 / (double)n);
        }

    char tag[64];
    snprintf(tag, sizeof tag, "%llux%llu", (unsigned long long)rows, (unsigned long long)cols);
    for (unsigned B : batches) {
        const std::string base = jks("shape", tag) + ", " + jkv("rows", (double)rows) + ", " + jkv("cols", (double)cols) +
                                 ", " + jkv("batch", B);
        auto report = [&](const std::string &kernel, double t, double bytes, const char *extra) {
            const double wps = (double)n * B / t, gbps = bytes / t / 1e9;
            printf("  B=%-2u %-30s %9.2f us %8.1f GB/s %5.1f%% of read bw %7.3f T w/s %s\n", B, kernel.c_str(), t * 1e6,
                   gbps, 100.0 * bytes / t / g_read_bw, wps / 1e12, extra ? extra : "");
            json_rec(base + ", " + jks("kernel", kernel) + ", " + jkv("time_us", t * 1e6) + ", " + jkv("bytes", bytes) +
                     ", " + jkv("GBps", gbps) + ", " + jkv("pct_read_bw", 100.0 * bytes / t / g_read_bw) + ", " +
                     jkv("pct_copy_bw", 100.0 * bytes / t / (g_copy_bw / 2)) + ", " + jkv("weights_per_s", wps) +
                     (extra ? ", " + jks("config", extra) : std::string()));
            fflush(stdout);
        };
        /* plain: choose R and kchunk */
        double tp = INFINITY;
        unsigned bestR = 4, bestK = (unsigned)cols;
        for (unsigned R : {1u, 2u, 4u, 8u}) {
            if (rows % R || (B > 1 && R > 4) || R * B > 32 || (R == 1 && B < 4)) continue;
            for (unsigned kc : {(unsigned)cols, 4096u, 2048u, 1024u}) {
                if (kc > cols || (kc != cols && cols % kc)) continue;
                if (quick && R != 4) continue;
                pa.kchunk = kc;
                double t = time_graph([&](int i) {
                    ecqf_cu_plain_args b = pa;
                    b.codes = dcodes[i % dcodes.size()];
                    launch_plain(b, R, B);
                });
                if (t < tp) {
                    tp = t;
                    bestR = R;
                    bestK = kc;
                }
            }
        }
        char ex[160];
        snprintf(ex, sizeof ex, "R=%u chunk=%u", bestR, bestK);
        report("plain4 (RAW, tuned)", tp, plain_bytes, ex);
        {
            const float alpha = 1.0f, beta = 0.0f;
            double t = time_graph([&](int i) {
                CKB(cublasGemmEx(hb, CUBLAS_OP_T, CUBLAS_OP_N, (int)rows, (int)B, (int)cols, &alpha, dwh[i % dwh.size()],
                                 CUDA_R_16F, (int)cols, dxh, CUDA_R_16F, (int)cols, &beta, dy, CUDA_R_32F, (int)rows,
                                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
            });
            report("cuBLAS fp16 GemmEx", t, (double)n * 2, NULL);
        }
        for (size_t e = 0; e < ne; e++)
            for (int k = 0; k < 2; k++) {
                const size_t m = 2 * e + k;
                if (!df[m].ok) continue;
                double best = INFINITY;
                unsigned bnt = 1, bcap = 0;
                int bwin = 0;
                for (int win = 0; win <= 1; win++)
                for (unsigned NT = 1; NT <= (B == 1 ? 2u : 1u); NT++)
                    for (unsigned cap : {0u, 8u, 4u}) {
                        g_win = win;
                        fused_fn f = fused_kernel(qs[e]->info[k].coding, qs[e]->S, NT, B);
                        ecqf_cu_fast_args a = df[m].a;
                        a.x = dx;
                        g_cap_per_sm = cap;
                        double t = time_graph([&](int i) {
                            ecqf_cu_fast_args b = a;
                            b.data = fdata[m][i % fdata[m].size()];
                            launch_fused(f, b, NT, B, dy);
                        });
                        if (t < best) {
                            best = t;
                            bnt = NT;
                            bcap = cap;
                            bwin = win;
                        }
                    }
                g_cap_per_sm = 0;
                g_win = false;
                char name[64];
                snprintf(name, sizeof name, "fused %s S=%u", k ? "prefix" : "rANS", qs[e]->S);
                snprintf(ex, sizeof ex, "%s NT=%u blocks/SM<=%u tile %ux%u; fused/plain %.2f; %.3f b/w",
                         bwin ? "window" : "loads", bnt, bcap,
                         qs[e]->tile_rows, qs[e]->tile_cols, tp / best, fbytes[m] * 8 / (double)n);
                report(name, best, fbytes[m], ex);
                json_rec(base + ", " + jks("kind", "ratio") + ", " + jks("coding", k ? "prefix" : "rans") + ", " +
                         jkv("stripe", qs[e]->S) + ", " + jkv("fused_over_plain_speed", tp / best) + ", " +
                         jkv("bits_per_weight", fbytes[m] * 8 / (double)n));
            }
        /* decode alone (batch 1 only) */
        if (B == 1)
            for (size_t e = 0; e < ne; e++)
                for (int k = 0; k < 2; k++) {
                    const size_t m = 2 * e + k;
                    if (!df[m].ok) continue;
                    const unsigned steps = qs[e]->tile_rows * qs[e]->tile_cols / 64;
                    unsigned *ds;
                    CK(cudaMalloc(&ds, (size_t)df[m].a.T * steps * 32));
                    double best = INFINITY;
                    for (int win = 0; win <= 1; win++)
                    for (unsigned NT = 1; NT <= 2; NT++)
                        for (unsigned cap : {0u, 8u}) {
                            g_win = win;
                            ecqf_cu_fast_args a = df[m].a;
                            a.sym_out = ds;
                            fused_fn f = decode_kernel(qs[e]->info[k].coding, NT);
                            const size_t smem = a.table_words * 4;
                            g_cap_per_sm = cap;
                            const unsigned blocks = persistent_blocks(f, smem, (a.T + NT - 1) / NT);
                            double t = time_graph([&](int i) {
                                ecqf_cu_fast_args b = a;
                                b.data = fdata[m][i % fdata[m].size()];
                                f<<<blocks, 128, smem, g_stream>>>(b);
                            });
                            best = std::min(best, t);
                        }
                    g_cap_per_sm = 0;
                    g_win = false;
                    const double syms = (double)n / 2;
                    printf("  B=1  decode alone %-6s S=%u %16s %9.2f us  %7.3f T symbols/s (%.3f T codes/s)\n",
                           k ? "prefix" : "rANS", qs[e]->S, "", best * 1e6, syms / best / 1e12, 2 * syms / best / 1e12);
                    json_rec(base + ", " + jks("kernel", k ? "decode prefix" : "decode rANS") + ", " +
                             jkv("stripe", qs[e]->S) + ", " + jkv("time_us", best * 1e6) + ", " +
                             jkv("symbols_per_s", syms / best) + ", " + jkv("codes_per_s", 2 * syms / best));
                    cudaFree(ds);
                }
        /* the portable body (batch 1, smaller shapes: it is the reference path, not a fast one) */
        if (B == 1 && n <= (64ull << 20) && !quick)
            for (int k = 0; k < 2; k++) {
                ecqf_gpu_tensor g;
                char msg[256];
                const ecqf_tensor_info &in = q0.info[k];
                if (ecqf_gpu_tensor_init(&g, &in, 0, msg, sizeof msg)) continue;
                void *b[6];
                CK(cudaMalloc(&b[0], in.part_size[ECQF_PART_DATA] + 16));
                CK(cudaMemcpy(b[0], in.part[ECQF_PART_DATA], in.part_size[ECQF_PART_DATA], cudaMemcpyHostToDevice));
                CK(cudaMalloc(&b[1], in.part_size[ECQF_PART_TILE_INDEX]));
                CK(cudaMemcpy(b[1], in.part[ECQF_PART_TILE_INDEX], in.part_size[ECQF_PART_TILE_INDEX], cudaMemcpyHostToDevice));
                CK(cudaMalloc(&b[2], g.table_words * 4));
                CK(cudaMemcpy(b[2], g.tables, g.table_words * 4, cudaMemcpyHostToDevice));
                CK(cudaMalloc(&b[3], g.part_floats * 4 + 16));
                CK(cudaMalloc(&b[4], 16));
                CK(cudaMemset(b[4], 0, 16));
                CK(cudaMalloc(&b[5], sizeof g.args));
                CK(cudaMemcpy(b[5], g.args, sizeof g.args, cudaMemcpyHostToDevice));
                const size_t smem = g.table_words * 4;
                CK(cudaFuncSetAttribute((const void *)ecqf_cu_gemv_body, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
                double t = time_graph([&](int) {
                    ecqf_cu_gemv_body<<<(unsigned)g.TR, g.lanes, smem, g_stream>>>(
                        (const unsigned short *)dparams, (const unsigned *)b[1], (const unsigned *)b[4],
                        (const unsigned char *)b[0], (const unsigned *)b[2], dx, dy, (float *)b[3], (unsigned *)b[4],
                        (const unsigned *)b[5]);
                }, 3, 3);
                char name[64];
                snprintf(name, sizeof name, "portable body %s S=%u", k ? "prefix" : "rANS", q0.S);
                report(name, t, fbytes[k], NULL);
                for (int i = 0; i < 6; i++) cudaFree(b[i]);
                ecqf_gpu_tensor_free(&g);
            }
    }
    for (size_t m = 0; m < 2 * ne; m++) {
        for (size_t i = 1; i < fdata[m].size(); i++) cudaFree(fdata[m][i]);
        if (df[m].ok) dev_fast_free(df[m]);
    }
    for (auto p : dcodes) cudaFree(p);
    for (auto p : dwh) cudaFree(p);
    for (auto q : qs) delete q;
    cudaFree(dxh);
    cudaFree(dparams);
    cudaFree(dx);
    cudaFree(dy);
    cudaFree(ws);
    cublasDestroy(hb);
}

int main(int argc, char **argv) {
    const char *model = NULL, *json = NULL;
    bool quick = false, check_only = false, prof = false;
    std::vector<shape_cfg> shapes = {{4096, 4096}, {11008, 4096}, {4096, 11008}, {14336, 4096}, {28672, 8192}};
    std::vector<unsigned> batches = {1, 2, 4, 8, 16};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
        else if (!strcmp(argv[i], "--quick")) quick = true;
        else if (!strcmp(argv[i], "--check-only")) check_only = true;
        else if (!strcmp(argv[i], "--profile-once")) prof = true;
        else if (!strcmp(argv[i], "--shapes") && i + 1 < argc) {
            shapes.clear();
            for (char *s = strtok(argv[++i], ","); s; s = strtok(NULL, ",")) {
                unsigned long long r, c;
                if (sscanf(s, "%llux%llu", &r, &c) == 2) shapes.push_back({r, c});
            }
        } else if (!strcmp(argv[i], "--stripes") && i + 1 < argc) {
            g_stripes.clear();
            for (char *t = strtok(argv[++i], ","); t; t = strtok(NULL, ",")) g_stripes.push_back((unsigned)atoi(t));
        } else if (!strcmp(argv[i], "--batches") && i + 1 < argc) {
            batches.clear();
            for (char *s = strtok(argv[++i], ","); s; s = strtok(NULL, ",")) batches.push_back((unsigned)atoi(s));
        } else {
            fprintf(stderr, "usage: %s [--model PATH] [--json PATH] [--quick] [--check-only] [--shapes RxC,..] [--stripes 4,8] [--batches 1,2,..]\n", argv[0]);
            return 2;
        }
    }
    if (json) {
        g_json = fopen(json, "w");
        if (g_json) fprintf(g_json, "[");
    }
    cudaDeviceProp p;
    int dev = 0, drv = 0, rt = 0;
    CK(cudaGetDevice(&dev));
    CK(cudaGetDeviceProperties(&p, dev));
    CK(cudaDriverGetVersion(&drv));
    CK(cudaRuntimeGetVersion(&rt));
    g_sms = p.multiProcessorCount;
    CK(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
    printf("device: %s, %d SMs, %.0f MB L2, %.1f GB, driver %d, runtime %d\n", p.name, p.multiProcessorCount,
           p.l2CacheSize / 1e6, p.totalGlobalMem / 1e9, drv, rt);
    json_rec(jks("kind", "device") + ", " + jks("name", p.name) + ", " + jkv("sms", p.multiProcessorCount) + ", " +
             jkv("l2_bytes", p.l2CacheSize) + ", " + jkv("driver", drv) + ", " + jkv("runtime", rt));
    if (model) {
        load_rms(model);
        std::string dir(model);
        size_t sl = dir.rfind('/');
        dir = sl == std::string::npos ? "." : dir.substr(0, sl);
        setenv("ECQF_MODELS_DIR", dir.c_str(), 1);
    }
    printf("row RMS samples from the model: %zu%s\n", g_rms.size(), g_rms.empty() ? " (none: lognormal scales)" : "");

    if (prof) {
        for (auto &s : shapes) profile_once(s);
        return 0;
    }
    /* 1. the portable body: bit-exact with the scalar CPU backend */
    printf("\n== correctness: portable kernel body on the GPU vs the scalar CPU backend\n");
    fflush(stdout);
    int rc = gpu_check_all("cuda-body", run_body, NULL, quick ? 20 : 60, ".");
    if (rc) g_fail++;
    json_rec(jks("kind", "check_body") + ", " + jkv("failed", rc));
    /* 2. the fast kernels on stories260K */
    printf("\n== correctness: tuned kernels\n");
    check_fast_model(model);
    if (!check_only) {
        measure_bandwidth(quick);
        for (auto &s : shapes) bench_shape(s, batches, quick);
    }
    if (g_json) {
        fprintf(g_json, "\n]\n");
        fclose(g_json);
    }
    printf("\n%s: %d failure(s)\n", g_fail ? "FAIL" : "OK", g_fail);
    return g_fail ? 1 : 0;
}
