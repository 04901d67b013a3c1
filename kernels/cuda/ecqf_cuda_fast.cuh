/*
 * ecqf_cuda_fast.cuh — tuned CUDA kernels for the common case of the format, and the plain
 * 4-bit baseline they are measured against.
 *
 * Fused decode + GEMV (ecqf_cu_fused): AFFINE 4-bit, group 64, F16 scales and biases (the
 * MLX layout), pack 2 (a symbol is two codes), 32 lanes, even stripes of S = 2, 4 or 8 rows,
 * tiles that divide the matrix (rows % tile_rows == 0, cols % tile_cols == 0, tile_rows % S ==
 * 0, tile_cols % 64 == 0), rANS precision <= 12 or any prefix code. The host checks these and
 * falls back to the portable body (ecqf_cuda_body.cuh) otherwise.
 *
 *  - One warp decodes NT tiles at once (independent dependency chains for latency hiding); a
 *    persistent grid walks the tiles.
 *  - Format lane l = warp lane l. In a column step a lane decodes S/2 symbols: symbol i holds
 *    the codes of rows 2i (low) and 2i+1 (high) of the stripe at column c0 + 32j + l.
 *  - The decode table sits in shared memory, one 32-bit entry per rANS slot or per
 *    max_length-bit prefix, laid out so that the state update and the two codes come out with a
 *    few shifts and masks:
 *        rANS   e = freq << 20 | hi << 16 | lo << 12 | (slot - cum)     (precision <= 12)
 *        prefix e = length | lo << 19 | hi << 23
 *    A code u becomes the float 16 + u with one LOP3 (u in mantissa bits 19..22 of 16.0f).
 *  - The word stream: ballot of the lanes that take a word, popcount of those below.
 *  - Dequantization in the MLX form: w = s*u + b = s*(16 + u) + (b - 16 s), so a lane sums
 *    p = sum (16 + u) x over its two columns of a group and adds s * p; the (b - 16 s) * X_g
 *    terms (X_g = sum of x over group g) are added once per stripe, one group per lane.
 *  - Batch B > 1: each weight is dequantized once (w = s*(16+u) + (b - 16 s)) and used B
 *    times.
 *  - No stream checks: the fast kernels assume validated streams (blob checksums verified);
 *    reads stay inside the data buffer because the host pads it (a corrupt stream gives wrong
 *    numbers, never a fault).
 *
 * Decode alone (ecqf_cu_decode): the same decoder, writing the symbols (4 steps of a lane
 * packed in a u32) instead of multiplying.
 *
 * Plain 4-bit GEMV (ecqf_cu_plain4): the same quantization stored RAW (two codes per byte, low
 * nibble first, row-major): each lane reads 16 bytes (32 codes) per row per iteration, R rows
 * per warp share the x loads, the same (16 + u) float trick, split-K over column chunks with
 * atomics when the rows alone do not fill the GPU.
 */
#ifndef ECQF_CUDA_FAST_CUH
#define ECQF_CUDA_FAST_CUH

#include <cuda_fp16.h>

#define ECQF_CU_CODING_RANS 1
#define ECQF_CU_CODING_PREFIX 2

struct ecqf_cu_fast_args {
    const unsigned char *data;               /* the data part, padded by the host */
    const unsigned long long *tile_index;    /* T + 1 offsets */
    const __half *scales, *biases;           /* rows x G */
    const float *x;                          /* B x cols */
    float *y;                                /* B x rows */
    const unsigned *table;                   /* fast decode table (layout above) */
    unsigned table_words;
    unsigned rows, cols, G, tile_rows, tile_cols, TC, T;
    unsigned prec;                           /* rANS precision or prefix max_length */
    unsigned atomic_out;                     /* TC > 1: y zeroed, tiles atomically added */
    unsigned *sym_out;                       /* decode-alone output (packed symbols) */
};

static __device__ __forceinline__ unsigned ecqf_cu_lt() {
    unsigned m;
    asm("mov.u32 %0, %%lanemask_lt;" : "=r"(m));
    return m;
}

/* (a & 0x780000) | c in one LOP3, c in a register */
static __device__ __forceinline__ float ecqf_cu_code_f(unsigned a, unsigned c) {
    unsigned d;
    asm("lop3.b32 %0, %1, 0x780000, %2, 0xEA;" : "=r"(d) : "r"(a), "r"(c));
    return __uint_as_float(d);
}

/* Per-tile decoder state. */
struct ecqf_cu_dec {
    unsigned x;                    /* rANS state, or prefix bit buffer */
    unsigned n;                    /* prefix: bits in the buffer */
    unsigned i;                    /* words of the shared stream taken so far (warp-uniform) */
    const unsigned short *w;       /* the tile's word stream */
    /* WIN variant: words [j, j + 96) of the stream held in registers, lane l holding words
     * j + l, j + 32 + l and j + 64 + l; d = i - j < 32 at every step start. A lane finds its
     * word with two shuffles instead of a dependent load, and the window is refilled 64 words
     * ahead, so no memory latency sits on the decode chain. */
    unsigned d, w0, w1, w2, j;
};

/* The word at position d + pre of the window (d + pre < 64). */
static __device__ __forceinline__ unsigned ecqf_cu_win_word(const ecqf_cu_dec &s, unsigned k) {
    const unsigned v0 = __shfl_sync(0xFFFFFFFFu, s.w0, k & 31u), v1 = __shfl_sync(0xFFFFFFFFu, s.w1, k & 31u);
    return k < 32u ? v0 : v1;
}

/* After a step that took `cnt` words: slide the window (warp-uniform branch). */
static __device__ __forceinline__ void ecqf_cu_win_advance(ecqf_cu_dec &s, unsigned cnt, unsigned lane) {
    s.d += cnt;
    if (__builtin_expect(s.d >= 32u, 0)) {
        s.d -= 32u;
        s.j += 32u;
        s.w0 = s.w1;
        s.w1 = s.w2;
        s.w2 = __ldg(s.w + s.j + 64u + lane);
    }
}

/* rANS renormalization on the shared word stream (spec 9.5): lanes whose state fell below 2^16
 * take the next words in lane order: ballot, popcount of the lanes below, one u16 load, and
 * x = x << 16 | word (one PRMT). Written in PTX so that the predicate is computed once. */
static __device__ __forceinline__ void ecqf_cu_rans_renorm(unsigned &x, unsigned &i, const unsigned short *w,
                                                           unsigned lt) {
    asm volatile(
        "{\n\t.reg .pred p;\n\t.reg .b32 b, c, v;\n\t.reg .b64 a;\n\t"
        "setp.lt.u32 p, %0, 65536;\n\t"
        "vote.sync.ballot.b32 b, p, 0xffffffff;\n\t"
        "and.b32 c, b, %3;\n\t"
        "popc.b32 c, c;\n\t"
        "add.u32 c, c, %1;\n\t"
        "mad.wide.u32 a, c, 2, %2;\n\t"
        "@p ld.global.nc.u16 v, [a];\n\t"
        "@p prmt.b32 %0, v, %0, 0x5410;\n\t"
        "popc.b32 c, b;\n\t"
        "add.u32 %1, %1, c;\n\t}"
        : "+r"(x), "+r"(i)
        : "l"(w), "r"(lt));
}

/* Prefix refill (spec 9.6): lanes left with fewer than 16 bits (and more symbols to come) take
 * the next words in lane order and append them below their bits. */
static __device__ __forceinline__ void ecqf_cu_prefix_refill(unsigned &x, unsigned &n, unsigned &i,
                                                             const unsigned short *w, unsigned lt, unsigned last) {
    asm volatile(
        "{\n\t.reg .pred p;\n\t.reg .b32 b, c, v, s;\n\t.reg .b64 a;\n\t"
        "setp.lt.u32 p, %1, 16;\n\t"
        "setp.eq.and.u32 p, %5, 0, p;\n\t"
        "vote.sync.ballot.b32 b, p, 0xffffffff;\n\t"
        "and.b32 c, b, %4;\n\t"
        "popc.b32 c, c;\n\t"
        "add.u32 c, c, %2;\n\t"
        "mad.wide.u32 a, c, 2, %3;\n\t"
        "@p ld.global.nc.u16 v, [a];\n\t"
        "@p sub.u32 s, 16, %1;\n\t"
        "@p shl.b32 v, v, s;\n\t"
        "@p or.b32 %0, %0, v;\n\t"
        "@p add.u32 %1, %1, 16;\n\t"
        "popc.b32 c, b;\n\t"
        "add.u32 %2, %2, c;\n\t}"
        : "+r"(x), "+r"(n), "+r"(i)
        : "l"(w), "r"(lt), "r"(last));
}

/* Bring the line PF words ahead of the stream position into L1. The stream is read about 30
 * bytes per step, and L1 fetches 32-byte sectors on demand, so without this every step of a
 * warp would wait for L2 or DRAM (measured: ~0.4 T symbols/s instead of ~1 T). */
#define ECQF_CU_PF_WORDS 320u
static __device__ __forceinline__ void ecqf_cu_prefetch(const ecqf_cu_dec &d) {
    asm volatile("prefetch.global.L1 [%0];" ::"l"(d.w + d.i + ECQF_CU_PF_WORDS));
}

/* One decode step: the two codes of the lane's next symbol as floats 16 + u (or the symbol
 * in *sym when SYM). `last`: this is the lane's last symbol (prefix: no refill). */
template <int CODING, bool SYM, bool WIN>
static __device__ __forceinline__ void ecqf_cu_step(ecqf_cu_dec &d, const unsigned *tab, unsigned prec, unsigned pmask,
                                                    unsigned lt, unsigned magic, bool last, float &lo, float &hi,
                                                    unsigned &sym) {
    if (CODING == ECQF_CU_CODING_RANS) {
        const unsigned e = tab[d.x & pmask];
        d.x = (e >> 20) * (d.x >> prec) + (e & 0xFFFu);
        if (SYM) sym = (e >> 12) & 0xFFu;
        else {
            lo = ecqf_cu_code_f(e << 7, magic);
            hi = ecqf_cu_code_f(e << 3, magic);
        }
        if (WIN) {
            const bool need = d.x < 0x10000u;
            const unsigned b = __ballot_sync(0xFFFFFFFFu, need);
            const unsigned v = ecqf_cu_win_word(d, d.d + __popc(b & lt));
            if (need) d.x = __byte_perm(v, d.x, 0x5410);
            ecqf_cu_win_advance(d, __popc(b), threadIdx.x & 31u);
        } else {
            ecqf_cu_rans_renorm(d.x, d.i, d.w, lt);
        }
    } else {
        const unsigned e = tab[d.x >> (32u - prec)];
        const unsigned len = e & 15u;
        d.x <<= len;
        d.n -= len;
        if (SYM) sym = (e >> 19) & 0xFFu;
        else {
            lo = ecqf_cu_code_f(e, magic);
            hi = ecqf_cu_code_f(e >> 4, magic);
        }
        if (WIN) {
            const bool need = d.n < 16u && !last;
            const unsigned b = __ballot_sync(0xFFFFFFFFu, need);
            const unsigned v = ecqf_cu_win_word(d, d.d + __popc(b & lt));
            if (need) {
                d.x |= v << (16u - d.n);
                d.n += 16u;
            }
            ecqf_cu_win_advance(d, __popc(b), threadIdx.x & 31u);
        } else {
            ecqf_cu_prefix_refill(d.x, d.n, d.i, d.w, lt, last ? 1u : 0u);
        }
    }
}

template <int CODING>
static __device__ __forceinline__ void ecqf_cu_tile_start(ecqf_cu_dec &d, const ecqf_cu_fast_args &a, unsigned t,
                                                          unsigned lane) {
    const unsigned char *p = a.data + a.tile_index[t];
    if (CODING == ECQF_CU_CODING_RANS) {
        d.x = __ldg((const unsigned *)p + lane);
        d.n = 0;
        d.i = 0;
        d.w = (const unsigned short *)(p + 128);
    } else {
        d.x = (unsigned)__ldg((const unsigned short *)p + lane) << 16;
        d.n = 16;
        d.i = 0;
        d.w = (const unsigned short *)p + 32;
    }
    /* the window over the stream (WIN variant; reads past a tile's end stay in the padded buffer) */
    d.j = 0;
    d.d = 0;
    d.w0 = __ldg(d.w + lane);
    d.w1 = __ldg(d.w + 32u + lane);
    d.w2 = __ldg(d.w + 64u + lane);
}

static __device__ __forceinline__ void ecqf_cu_load_tab(unsigned *tab, const ecqf_cu_fast_args &a) {
    for (unsigned i = threadIdx.x; i < a.table_words; i += blockDim.x) tab[i] = a.table[i];
    __syncthreads();
}

/*
 * Fused decode + GEMV. grid: persistent, blockDim.x = 32 * warps; dynamic shared memory =
 * table_words * 4. Warp w handles tiles w*NT .. w*NT+NT-1, then + NT * (number of warps), ...
 */
template <int CODING, int S, int NT, int B, bool WIN = false>
__global__ void __launch_bounds__(128) ecqf_cu_fused(const ecqf_cu_fast_args a) {
    extern __shared__ unsigned tab[];
    ecqf_cu_load_tab(tab, a);
    const unsigned lane = threadIdx.x & 31u, lt = ecqf_cu_lt(), pmask = (1u << a.prec) - 1u;
    unsigned magic;
    asm volatile("mov.b32 %0, 0x41800000;" : "=r"(magic));
    const unsigned nwarps = gridDim.x * (blockDim.x >> 5);
    const unsigned ngroups = a.tile_cols / 64u, nstripes = a.tile_rows / S;
    for (unsigned t0 = (blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5)) * NT; t0 < a.T; t0 += nwarps * NT) {
        ecqf_cu_dec d[NT];
        unsigned r0[NT], c0[NT], g0[NT];
        bool live[NT];
#pragma unroll
        for (int k = 0; k < NT; k++) {
            const unsigned t = t0 + k < a.T ? t0 + k : t0; /* a missing partner decodes tile t0 again */
            live[k] = t0 + k < a.T;
            r0[k] = (t / a.TC) * a.tile_rows;
            c0[k] = (t % a.TC) * a.tile_cols;
            g0[k] = c0[k] / 64u;
            ecqf_cu_tile_start<CODING>(d[k], a, t, lane);
        }
        for (unsigned st = 0; st < nstripes; st++) {
            float acc[NT][S][B];
            /* the (b - 16 s) X_g terms (B == 1) or zero */
#pragma unroll
            for (int k = 0; k < NT; k++)
#pragma unroll
                for (int r = 0; r < S; r++)
#pragma unroll
                    for (int bb = 0; bb < B; bb++) acc[k][r][bb] = 0.0f;
            if (B == 1) {
#pragma unroll
                for (int k = 0; k < NT; k++)
                    for (unsigned gi = lane; gi < ngroups; gi += 32u) {
                        const float4 *xp = (const float4 *)(a.x + c0[k] + 64u * gi);
                        float X = 0.0f;
#pragma unroll
                        for (int i = 0; i < 16; i++) {
                            const float4 v = __ldg(xp + i);
                            X += (v.x + v.y) + (v.z + v.w);
                        }
#pragma unroll
                        for (int r = 0; r < S; r++) {
                            const size_t gi2 = (size_t)(r0[k] + st * S + r) * a.G + g0[k] + gi;
                            const float s = __half2float(a.scales[gi2]), bi = __half2float(a.biases[gi2]);
                            acc[k][r][0] = fmaf(fmaf(-16.0f, s, bi), X, acc[k][r][0]);
                        }
                    }
            }
            const float *xp[NT];
#pragma unroll
            for (int k = 0; k < NT; k++) xp[k] = a.x + c0[k] + lane;
            float sl[NT][S], bl[NT][S]; /* lane l holds group (gi & ~31) + l of each row */
            for (unsigned gi = 0; gi < ngroups; gi++) {
                const bool last_group = st + 1 == nstripes && gi + 1 == ngroups;
                if ((gi & 31u) == 0) {
#pragma unroll
                    for (int k = 0; k < NT; k++)
#pragma unroll
                        for (int r = 0; r < S; r++) {
                            const unsigned g = gi + lane;
                            const size_t i2 = (size_t)(r0[k] + st * S + r) * a.G + g0[k] + (g < ngroups ? g : 0u);
                            sl[k][r] = __half2float(__ldg(a.scales + i2));
                            if (B > 1) bl[k][r] = fmaf(-16.0f, sl[k][r], __half2float(__ldg(a.biases + i2)));
                        }
                }
                float sc[NT][S], bs[NT][S];
#pragma unroll
                for (int k = 0; k < NT; k++)
#pragma unroll
                    for (int r = 0; r < S; r++) {
                        sc[k][r] = __shfl_sync(0xFFFFFFFFu, sl[k][r], gi & 31u);
                        if (B > 1) bs[k][r] = __shfl_sync(0xFFFFFFFFu, bl[k][r], gi & 31u);
                    }
                float p[NT][S];
#pragma unroll
                for (int j = 0; j < 2; j++) {
                    if (!WIN) {
#pragma unroll
                        for (int k = 0; k < NT; k++) ecqf_cu_prefetch(d[k]);
                    }
                    float xv[NT][B];
#pragma unroll
                    for (int k = 0; k < NT; k++)
#pragma unroll
                        for (int bb = 0; bb < B; bb++) xv[k][bb] = __ldg(xp[k] + (size_t)bb * a.cols + 32 * j);
#pragma unroll
                    for (int i = 0; i < S / 2; i++) {
#pragma unroll
                        for (int k = 0; k < NT; k++) {
                            float lo, hi;
                            unsigned sym;
                            ecqf_cu_step<CODING, false, WIN>(d[k], tab, a.prec, pmask, lt, magic,
                                                        last_group && j == 1 && i == S / 2 - 1, lo, hi, sym);
                            if (B == 1) {
                                if (j == 0) {
                                    p[k][2 * i] = lo * xv[k][0];
                                    p[k][2 * i + 1] = hi * xv[k][0];
                                } else {
                                    p[k][2 * i] = fmaf(lo, xv[k][0], p[k][2 * i]);
                                    p[k][2 * i + 1] = fmaf(hi, xv[k][0], p[k][2 * i + 1]);
                                }
                            } else {
                                const float w0 = fmaf(sc[k][2 * i], lo, bs[k][2 * i]);
                                const float w1 = fmaf(sc[k][2 * i + 1], hi, bs[k][2 * i + 1]);
#pragma unroll
                                for (int bb = 0; bb < B; bb++) {
                                    acc[k][2 * i][bb] = fmaf(w0, xv[k][bb], acc[k][2 * i][bb]);
                                    acc[k][2 * i + 1][bb] = fmaf(w1, xv[k][bb], acc[k][2 * i + 1][bb]);
                                }
                            }
                        }
                    }
                }
#pragma unroll
                for (int k = 0; k < NT; k++) xp[k] += 64;
                if (B == 1) {
#pragma unroll
                    for (int k = 0; k < NT; k++)
#pragma unroll
                        for (int r = 0; r < S; r++) acc[k][r][0] = fmaf(sc[k][r], p[k][r], acc[k][r][0]);
                }
            }
            /* reduce over the lanes; lane 0 writes */
#pragma unroll
            for (int k = 0; k < NT; k++)
#pragma unroll
                for (int r = 0; r < S; r++)
#pragma unroll
                    for (int bb = 0; bb < B; bb++) {
                        float v = acc[k][r][bb];
#pragma unroll
                        for (int off = 16; off >= 1; off >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, off);
                        if (lane == 0 && live[k]) {
                            float *yp = a.y + (size_t)bb * a.rows + r0[k] + st * S + r;
                            if (a.atomic_out) atomicAdd(yp, v);
                            else *yp = v;
                        }
                    }
        }
    }
}

/* Decode alone: symbols of each tile, lane l's steps 4q..4q+3 packed in
 * sym_out[tile_base/4 + q*32 + l] (tile_base = t * symbols per tile). */
template <int CODING, int NT, bool WIN = false>
__global__ void __launch_bounds__(128) ecqf_cu_decode(const ecqf_cu_fast_args a) {
    extern __shared__ unsigned tab[];
    ecqf_cu_load_tab(tab, a);
    const unsigned lane = threadIdx.x & 31u, lt = ecqf_cu_lt(), pmask = (1u << a.prec) - 1u;
    const unsigned nwarps = gridDim.x * (blockDim.x >> 5);
    const unsigned steps = a.tile_rows * a.tile_cols / 64u; /* symbols per lane (pack 2, 32 lanes) */
    for (unsigned t0 = (blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5)) * NT; t0 < a.T; t0 += nwarps * NT) {
        ecqf_cu_dec d[NT];
        unsigned *out[NT];
        bool live[NT];
#pragma unroll
        for (int k = 0; k < NT; k++) {
            const unsigned t = t0 + k < a.T ? t0 + k : t0;
            live[k] = t0 + k < a.T;
            ecqf_cu_tile_start<CODING>(d[k], a, t, lane);
            out[k] = a.sym_out + (size_t)t * steps * 8u + lane;
        }
        for (unsigned q = 0; q < steps / 4u; q++) {
            unsigned packed[NT];
            if (!WIN) {
#pragma unroll
                for (int k = 0; k < NT; k++) ecqf_cu_prefetch(d[k]);
            }
#pragma unroll
            for (int k = 0; k < NT; k++) packed[k] = 0;
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int k = 0; k < NT; k++) {
                    float lo, hi;
                    unsigned sym = 0;
                    ecqf_cu_step<CODING, true, WIN>(d[k], tab, a.prec, pmask, lt, 0u, q + 1 == steps / 4u && i == 3, lo, hi, sym);
                    packed[k] |= sym << (8 * i);
                }
#pragma unroll
            for (int k = 0; k < NT; k++)
                if (live[k]) out[k][(size_t)q * 32u] = packed[k];
        }
    }
}

/* ---- plain 4-bit GEMV ---------------------------------------------------------------------- */

struct ecqf_cu_plain_args {
    const unsigned char *codes;   /* rows x cols/2 bytes */
    const __half *scales, *biases;
    const float *x;               /* B x cols */
    float *y;                     /* B x rows */
    unsigned rows, cols, G;
    unsigned kchunk;              /* columns per block-column (multiple of 1024) */
    unsigned atomic_out;
};

/* Warp = R rows x one chunk of kchunk columns; lane l covers 32 consecutive columns of every
 * 1024. x pre-scaled by nothing: the (16 + u) trick as in the fused kernel, with the (b - 16 s)
 * term computed from the lane's own x sum (its 32 columns are half a group). */
template <int R, int B>
__global__ void __launch_bounds__(128) ecqf_cu_plain4(const ecqf_cu_plain_args a) {
    const unsigned lane = threadIdx.x & 31u;
    const unsigned warp = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const unsigned nchunks = (a.cols + a.kchunk - 1) / a.kchunk;
    const unsigned rg = warp / nchunks, ch = warp % nchunks;
    if (rg * R >= a.rows) return;
    unsigned magic;
    asm volatile("mov.b32 %0, 0x41800000;" : "=r"(magic));
    const unsigned row0 = rg * R;
    const unsigned k0 = ch * a.kchunk, k1 = min(a.cols, k0 + a.kchunk);
    float acc[R][B];
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int bb = 0; bb < B; bb++) acc[r][bb] = 0.0f;
    /* weights of the next iteration are loaded before this one is computed (more bytes in
     * flight per warp) */
    uint4 wn[R];
    {
        const unsigned c = min(k0 + lane * 32u, k1 - 32u);
#pragma unroll
        for (int r = 0; r < R; r++) wn[r] = __ldg((const uint4 *)(a.codes + ((size_t)(row0 + r) * a.cols + c) / 2));
    }
    for (unsigned c = k0 + lane * 32u; c < k1; c += 1024u) {
        uint4 wv[R];
#pragma unroll
        for (int r = 0; r < R; r++) wv[r] = wn[r];
        {
            const unsigned cn = c + 1024u < k1 ? c + 1024u : c;
#pragma unroll
            for (int r = 0; r < R; r++)
                wn[r] = __ldg((const uint4 *)(a.codes + ((size_t)(row0 + r) * a.cols + cn) / 2));
        }
        const unsigned g = c / 64u;
        if (B == 1) {
            float4 xv[8];
            float xs = 0.0f;
            const float4 *xp = (const float4 *)(a.x + c);
#pragma unroll
            for (int i = 0; i < 8; i++) {
                xv[i] = __ldg(xp + i);
                xs += (xv[i].x + xv[i].y) + (xv[i].z + xv[i].w);
            }
#pragma unroll
            for (int r = 0; r < R; r++) {
                const size_t gi = (size_t)(row0 + r) * a.G + g;
                const float s = __half2float(__ldg(a.scales + gi)), bb2 = fmaf(-16.0f, s, __half2float(__ldg(a.biases + gi)));
                const unsigned w4[4] = {wv[r].x, wv[r].y, wv[r].z, wv[r].w};
                float p = 0.0f;
#pragma unroll
                for (int q = 0; q < 4; q++) {
                    const unsigned w = w4[q];
                    /* codes of columns 8q .. 8q+7: nibble k at bits 4k */
                    const float4 x0 = xv[2 * q], x1 = xv[2 * q + 1];
                    p = fmaf(ecqf_cu_code_f(w << 19, magic), x0.x, p);
                    p = fmaf(ecqf_cu_code_f(w << 15, magic), x0.y, p);
                    p = fmaf(ecqf_cu_code_f(w << 11, magic), x0.z, p);
                    p = fmaf(ecqf_cu_code_f(w << 7, magic), x0.w, p);
                    p = fmaf(ecqf_cu_code_f(w << 3, magic), x1.x, p);
                    p = fmaf(ecqf_cu_code_f(w >> 1, magic), x1.y, p);
                    p = fmaf(ecqf_cu_code_f(w >> 5, magic), x1.z, p);
                    p = fmaf(ecqf_cu_code_f(w >> 9, magic), x1.w, p);
                }
                acc[r][0] = fmaf(s, p, fmaf(bb2, xs, acc[r][0]));
            }
        } else {
            /* batch: dequantize the R x 32 weights once (w = s (16 + u) + (b - 16 s)), then use
             * them for every column of x */
            float wf[R][32];
#pragma unroll
            for (int r = 0; r < R; r++) {
                const size_t gi = (size_t)(row0 + r) * a.G + g;
                const float s = __half2float(__ldg(a.scales + gi)), bb2 = fmaf(-16.0f, s, __half2float(__ldg(a.biases + gi)));
                const unsigned w4[4] = {wv[r].x, wv[r].y, wv[r].z, wv[r].w};
#pragma unroll
                for (int q = 0; q < 4; q++) {
                    const unsigned w = w4[q];
                    wf[r][8 * q + 0] = fmaf(s, ecqf_cu_code_f(w << 19, magic), bb2);
                    wf[r][8 * q + 1] = fmaf(s, ecqf_cu_code_f(w << 15, magic), bb2);
                    wf[r][8 * q + 2] = fmaf(s, ecqf_cu_code_f(w << 11, magic), bb2);
                    wf[r][8 * q + 3] = fmaf(s, ecqf_cu_code_f(w << 7, magic), bb2);
                    wf[r][8 * q + 4] = fmaf(s, ecqf_cu_code_f(w << 3, magic), bb2);
                    wf[r][8 * q + 5] = fmaf(s, ecqf_cu_code_f(w >> 1, magic), bb2);
                    wf[r][8 * q + 6] = fmaf(s, ecqf_cu_code_f(w >> 5, magic), bb2);
                    wf[r][8 * q + 7] = fmaf(s, ecqf_cu_code_f(w >> 9, magic), bb2);
                }
            }
#pragma unroll
            for (int bb = 0; bb < B; bb++) {
                const float4 *xp = (const float4 *)(a.x + (size_t)bb * a.cols + c);
#pragma unroll
                for (int i = 0; i < 8; i++) {
                    const float4 xv = __ldg(xp + i);
#pragma unroll
                    for (int r = 0; r < R; r++) {
                        acc[r][bb] = fmaf(wf[r][4 * i + 0], xv.x, acc[r][bb]);
                        acc[r][bb] = fmaf(wf[r][4 * i + 1], xv.y, acc[r][bb]);
                        acc[r][bb] = fmaf(wf[r][4 * i + 2], xv.z, acc[r][bb]);
                        acc[r][bb] = fmaf(wf[r][4 * i + 3], xv.w, acc[r][bb]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int bb = 0; bb < B; bb++) {
            float v = acc[r][bb];
#pragma unroll
            for (int off = 16; off >= 1; off >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, off);
            if (lane == 0) {
                float *yp = a.y + (size_t)bb * a.rows + row0 + r;
                if (a.atomic_out) atomicAdd(yp, v);
                else *yp = v;
            }
        }
}

/* ---- helpers ------------------------------------------------------------------------------- */

/* Read bandwidth: sum of n float4 (grid-stride), one atomic per block. */
__global__ void ecqf_cu_read_bw(const float4 *p, size_t n, float *out) {
    float s = 0.0f;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float4 v = __ldg(p + i);
        s += (v.x + v.y) + (v.z + v.w);
    }
    for (int off = 16; off >= 1; off >>= 1) s += __shfl_xor_sync(0xFFFFFFFFu, s, off);
    if ((threadIdx.x & 31u) == 0) atomicAdd(out, s);
}

#endif
