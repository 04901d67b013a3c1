/*
 * ecqf_gemv_fast.metal — the tuned fused decode + GEMV of kernels/cuda/ecqf_cuda_fast.cuh,
 * ported to Metal: AFFINE 4-bit, group 64, F16 scales and biases, pack 2, 32 lanes, stripes of
 * S = 4 or 8 rows, one stripe per tile and tiles as wide as the matrix (tile_rows == S,
 * tile_cols == cols), rANS precision <= 12 or any prefix code. The host checks these
 * (ecqf_gpu_fast_table and the tiling) and uses ecqf_gemv.metal (the portable body) otherwise.
 *
 * One simdgroup per tile, 4 simdgroups per threadgroup sharing the decode table in threadgroup
 * memory; threadgroups loop over the tiles. Lane l of the format is SIMD lane l:
 *  - symbol i of a column step holds the codes of rows 2i (low) and 2i + 1 (high);
 *  - table entries give the state update and the two codes as floats 16 + u with one AND-OR;
 *  - the shared word stream: simd_ballot, popcount of the lanes below, and the word itself from
 *    a window of the next 96 words held in registers (three per lane), read with two
 *    simd_shuffle, so no memory load sits on the decode chain;
 *  - dequantization in the MLX form w = s (16 + u) + (b - 16 s): a lane sums (16 + u) x over its
 *    two columns of a group and adds s times that; the (b - 16 s) X_g terms come once per tile.
 * The sums are not those of the portable body (different association), so results are compared
 * with float64 (relative error <= 1e-5), not bit for bit.
 *
 * Dispatch: threadgroups of 128 threads, as many threadgroups as the GPU runs at once (or one
 * per 4 tiles); threadgroup memory 0: the decode table (16 KiB at most).
 */
#include <metal_stdlib>
using namespace metal;

#ifndef ECQF_TG_ATTR
#define ECQF_TG_ATTR(n) [[threadgroup(n)]]
#endif

#define ECQF_FAST_RANS 1u
#define ECQF_FAST_PREFIX 2u

/* argument block (u32 words) */
#define ECQF_FA_ROWS 0
#define ECQF_FA_COLS 1
#define ECQF_FA_S 2
#define ECQF_FA_CODING 3
#define ECQF_FA_PREC 4      /* rANS precision or prefix max_length */
#define ECQF_FA_TABLE_WORDS 5
#define ECQF_FA_TILES 6
#define ECQF_FA_NARGS 8

/* binary16 -> binary32 (exact; the same routine as the portable body's) */
inline float ecqf_fast_half(uint h) {
    uint s = (h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    if (e == 0) {
        float f = float(m) * 5.9604644775390625e-8f;
        return s ? -f : f;
    }
    if (e == 31) return as_type<float>(s | 0x7F800000u | (m << 13));
    return as_type<float>(s | ((e + 112u) << 23) | (m << 13));
}

inline float ecqf_fast_code(uint a) { return as_type<float>((a & 0x780000u) | 0x41800000u); }

struct ecqf_fast_dec {
    uint x, n;                 /* rANS state / prefix buffer, bits */
    uint d, j;                 /* words taken past the window start; window start */
    uint w0, w1, w2;           /* words j + lane, j + 32 + lane, j + 64 + lane */
};

/* One symbol: its two codes as 16 + u. */
inline void ecqf_fast_step(thread ecqf_fast_dec &s, threadgroup const uint *tab, uint coding, uint prec, uint lane,
                           device const ushort *w, bool last, thread float &lo, thread float &hi) {
    const uint lt = (1u << lane) - 1u;
    bool need;
    uint e;
    if (coding == ECQF_FAST_RANS) {
        e = tab[s.x & ((1u << prec) - 1u)];
        s.x = (e >> 20) * (s.x >> prec) + (e & 0xFFFu);
        lo = ecqf_fast_code(e << 7);
        hi = ecqf_fast_code(e << 3);
        need = s.x < 0x10000u;
    } else {
        e = tab[s.x >> (32u - prec)];
        const uint len = e & 15u;
        s.x <<= len;
        s.n -= len;
        lo = ecqf_fast_code(e);
        hi = ecqf_fast_code(e >> 4);
        need = s.n < 16u && !last;
    }
    const uint b = (uint)(simd_vote::vote_t)simd_ballot(need);
    const uint k = s.d + popcount(b & lt);
    const uint v0 = simd_shuffle(s.w0, (ushort)(k & 31u)), v1 = simd_shuffle(s.w1, (ushort)(k & 31u));
    const uint v = k < 32u ? v0 : v1;
    if (need) {
        if (coding == ECQF_FAST_RANS) {
            s.x = (s.x << 16) | v;
        } else {
            s.x |= v << (16u - s.n);
            s.n += 16u;
        }
    }
    s.d += popcount(b);
    if (s.d >= 32u) { /* slide the window (uniform over the simdgroup) */
        s.d -= 32u;
        s.j += 32u;
        s.w0 = s.w1;
        s.w1 = s.w2;
        s.w2 = w[s.j + 64u + lane];
    }
}

template <uint S>
inline void ecqf_fast_tile(uint t, uint lane, constant uint *a, device const uchar *data, device const uint *tile_index,
                           device const ushort *scales, device const ushort *biases, device const float *x,
                           device float *y, threadgroup const uint *tab) {
    const uint cols = a[ECQF_FA_COLS], rows = a[ECQF_FA_ROWS], G = cols / 64u, coding = a[ECQF_FA_CODING];
    const uint prec = a[ECQF_FA_PREC];
    const uint r0 = t * S;
    device const uchar *p = data + tile_index[2 * t]; /* offsets < 4 GiB: the host checks */
    ecqf_fast_dec s;
    device const ushort *w;
    if (coding == ECQF_FAST_RANS) {
        s.x = ((device const uint *)p)[lane];
        s.n = 0;
        w = (device const ushort *)(p + 128);
    } else {
        s.x = (uint)((device const ushort *)p)[lane] << 16;
        s.n = 16;
        w = (device const ushort *)p + 32;
    }
    s.d = 0;
    s.j = 0;
    s.w0 = w[lane];
    s.w1 = w[32u + lane];
    s.w2 = w[64u + lane];

    float acc[S];
    for (uint r = 0; r < S; r++) acc[r] = 0.0f;
    /* (b - 16 s) X_g, one group per lane */
    for (uint g = lane; g < G; g += 32u) {
        float X = 0.0f;
        for (uint i = 0; i < 64u; i++) X += x[64u * g + i];
        for (uint r = 0; r < S; r++) {
            const float sc = ecqf_fast_half(scales[(r0 + r) * G + g]), bi = ecqf_fast_half(biases[(r0 + r) * G + g]);
            acc[r] = fma(fma(-16.0f, sc, bi), X, acc[r]);
        }
    }
    float sl[S];
    for (uint gi = 0; gi < G; gi++) {
        if ((gi & 31u) == 0) {
            const uint g = gi + lane < G ? gi + lane : 0u;
            for (uint r = 0; r < S; r++) sl[r] = ecqf_fast_half(scales[(r0 + r) * G + g]);
        }
        float pp[S];
        for (uint j = 0; j < 2u; j++) {
            const float xv = x[64u * gi + 32u * j + lane];
            for (uint i = 0; i < S / 2u; i++) {
                float lo, hi;
                ecqf_fast_step(s, tab, coding, prec, lane, w, gi + 1u == G && j == 1u && i == S / 2u - 1u, lo, hi);
                if (j == 0) {
                    pp[2 * i] = lo * xv;
                    pp[2 * i + 1] = hi * xv;
                } else {
                    pp[2 * i] = fma(lo, xv, pp[2 * i]);
                    pp[2 * i + 1] = fma(hi, xv, pp[2 * i + 1]);
                }
            }
        }
        for (uint r = 0; r < S; r++) acc[r] = fma(simd_shuffle(sl[r], (ushort)(gi & 31u)), pp[r], acc[r]);
    }
    for (uint r = 0; r < S; r++) {
        float v = acc[r];
        for (uint off = 16u; off >= 1u; off /= 2u) v += simd_shuffle_xor(v, (ushort)off);
        if (lane == 0 && r0 + r < rows) y[r0 + r] = v;
    }
}

kernel void ecqf_gemv_fast(device const uchar *data [[buffer(0)]],
                           device const uint *tile_index [[buffer(1)]],
                           device const ushort *params [[buffer(2)]],
                           device const uint *table [[buffer(3)]],
                           device const float *x [[buffer(4)]],
                           device float *y [[buffer(5)]],
                           constant uint *a [[buffer(6)]],
                           threadgroup uint *tab ECQF_TG_ATTR(0),
                           uint tg [[threadgroup_position_in_grid]],
                           uint ntg [[threadgroups_per_grid]],
                           uint tid [[thread_index_in_threadgroup]],
                           uint lane [[thread_index_in_simdgroup]],
                           uint sg [[simdgroup_index_in_threadgroup]]) {
    for (uint i = tid; i < a[ECQF_FA_TABLE_WORDS]; i += 128u) tab[i] = table[i];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    const uint rows = a[ECQF_FA_ROWS], G = a[ECQF_FA_COLS] / 64u;
    device const ushort *scales = params, *biases = params + rows * G;
    for (uint t = tg * 4u + sg; t < a[ECQF_FA_TILES]; t += ntg * 4u) {
        if (a[ECQF_FA_S] == 8u) ecqf_fast_tile<8>(t, lane, a, data, tile_index, scales, biases, x, y, tab);
        else ecqf_fast_tile<4>(t, lane, a, data, tile_index, scales, biases, x, y, tab);
    }
}
