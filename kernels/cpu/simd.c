/*
 * simd.c — the SIMD CPU backends (AVX2, AVX-512) and the decode-only calls.
 *
 * Tiled codings: KERN_GROUP consecutive tile rows at a time. For each tile column, the tiles
 * of those rows are entropy-decoded together by libecqf's fast decoder (fastdec: several tiles
 * interleaved hide the latency of a decode step) into symbol buffers that stay in cache, the
 * symbols are scattered to tile-local codes (ecqf_tile_scatter, which also checks [G-2]), and
 * each tile row is multiplied with x by the ISA's row_dot. So "fused" here means: the weights
 * never leave the core's caches between the compressed stream and the dot product.
 *
 * Dequantization is factored: every scheme is w = s_rg * (u - off) + b_rg (AFFINE: off 0;
 * SYMMETRIC: b 0, off 2^(bits-1); ECSQ: one group per row, s = step, off = zero code, b 0,
 * escapes corrected afterwards), so
 *     y_r = sum_g s_rg * sum_{c in g} (u_c - off) x_c  +  sum_g b_rg * X_g,
 * with X_g the sums of x over each group, computed once per call (AFFINE only). The second
 * term is the row's "init"; tiles add the first. The offset is subtracted from each code
 * before the product (exact in float), so a row whose weights are all zero sums to exactly 0
 * and the rounding error stays relative to sum |w x|.
 */
#include <string.h>

#include "kern.h"
#include "common/internal.h"

/* ---- generic primitives (plain C; the scalar backend's decode-only calls use fd_isa) ---- */

static float gen_row_dot(const uint8_t *u, const float *x, uint64_t c0, size_t w, unsigned gs, const float *s,
                         float off) {
    float acc = 0.0f;
    uint64_t g = c0 / gs;
    size_t i = 0, seg = (size_t)((g + 1) * gs - c0);
    while (i < w) {
        size_t k;
        float a = 0.0f;
        if (seg > w - i) seg = w - i;
        for (k = 0; k < seg; k++) a += ((float)u[i + k] - off) * x[i + k];
        acc += s[g] * a;
        i += seg;
        g++;
        seg = gs;
    }
    return acc;
}

static float gen_raw4_row(const uint8_t *packed, const float *xperm, size_t cols, unsigned gs, const float *s,
                          float off) {
    float acc = 0.0f;
    size_t b, i;
    for (b = 0; b < cols; b += 32) {
        const uint8_t *q = packed + b / 2;
        float a = 0.0f;
        for (i = 0; i < 16; i++)
            a += ((float)(q[i] & 15) - off) * xperm[b + i] + ((float)(q[i] >> 4) - off) * xperm[b + 16 + i];
        acc += s[gs >= cols ? 0 : b / gs] * a;
    }
    return acc;
}

static float gen_dot_f32(const float *w, const float *x, size_t n) {
    float acc = 0.0f;
    size_t i;
    for (i = 0; i < n; i++) acc += w[i] * x[i];
    return acc;
}

static void gen_cvt(const uint8_t *src, int dtype, size_t n, float *dst) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (dtype == ECQF_DTYPE_F32) {
            uint32_t u = ecqf_rd32(src + 4 * i);
            memcpy(&dst[i], &u, 4);
        } else if (dtype == ECQF_DTYPE_F16) {
            dst[i] = ecqf_f16_to_f32(ecqf_rd16(src + 2 * i));
        } else {
            dst[i] = ecqf_bf16_to_f32(ecqf_rd16(src + 2 * i));
        }
    }
}

static void gen_tile_dot(const uint8_t *sym, unsigned pack, unsigned W, unsigned S, uint32_t h, uint32_t q,
                         const float *x, uint64_t c0, unsigned gs, const float *s, size_t G, float *y, float off) {
    uint32_t s0, r, j, l, k;
    for (s0 = 0; s0 < h; s0 += S) {
        const uint32_t sh = h - s0 < S ? h - s0 : S;
        const uint8_t *sb = sym + (size_t)s0 * q * W / pack;
        for (r = 0; r < sh; r += pack)
            for (k = 0; k < pack; k++) {
                float acc = 0.0f;
                for (j = 0; j < q; j++) {
                    const uint8_t *row = sb + ((size_t)j * sh + r) / pack * W;
                    float a = 0.0f;
                    for (l = 0; l < W; l++)
                        a += ((float)(pack == 2 ? (row[l] >> (4 * k)) & 15 : row[l]) - off) * x[j * W + l];
                    acc += s[(size_t)(s0 + r + k) * G + (c0 + (uint64_t)j * W) / gs] * a;
                }
                y[s0 + r + k] += acc;
            }
    }
}

const kern_isa_ops kern_ops_generic = {ECQF_ISA_SCALAR, gen_row_dot, gen_raw4_row, NULL, gen_dot_f32, gen_cvt, gen_tile_dot, 1};

static const kern_isa_ops *ops_for(int backend) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (backend == ECQF_KERNEL_AVX512) return &kern_ops_avx512;
    if (backend == ECQF_KERNEL_AVX2) return &kern_ops_avx2;
#endif
    (void)backend;
    return &kern_ops_generic;
}

/* ---- per-row parameters ---------------------------------------------------------------- */

/* Scales of rows [r0, r1) (all groups) into sc, and each row's init term into y. */
static void rows_init(const kern_job *j, const kern_isa_ops *ops, uint64_t r0, uint64_t r1, float *sc, float *tmp) {
    const ecqf_kernel_plan *p = j->p;
    const ecqf_tensor_info *in = &p->info;
    const uint8_t *prm = in->part[ECQF_PART_PARAMS];
    const uint64_t G = p->groups;
    uint64_t r, g;
    if (in->scheme == ECQF_SCHEME_ECSQ) {
        for (r = r0; r < r1; r++) {
            float step;
            uint32_t u = ecqf_rd32(prm + 4 * ((in->ecsq_flags & ECQF_ECSQ_PER_ROW) ? r : 0));
            memcpy(&step, &u, 4);
            sc[r - r0] = step;
            if (j->mode == KERN_MODE_GEMV) j->y[r] = 0.0f;
        }
        return;
    }
    {
        size_t ds = ecqf_dtype_size(in->param_dtype);
        ops->cvt(prm + r0 * G * ds, in->param_dtype, (size_t)((r1 - r0) * G), sc);
        if (j->mode != KERN_MODE_GEMV) return;
        if (in->scheme != ECQF_SCHEME_AFFINE) {
            for (r = r0; r < r1; r++) j->y[r] = 0.0f;
            return;
        }
        /* the biases of all the rows at once (tmp holds (r1 - r0) * G floats) */
        ops->cvt(prm + (in->rows * G + r0 * G) * ds, in->param_dtype, (size_t)((r1 - r0) * G), tmp);
        for (r = r0; r < r1; r++) {
            const float *b = tmp + (r - r0) * G;
            float acc = 0.0f;
            for (g = 0; g < G; g++) acc += b[g] * j->xsum[g];
            j->y[r] = acc;
        }
    }
}

/* ---- escapes of a tile (ECSQ): [E-2] and the corrections, in symbol order ---------------- */

/* Escape codes among a tile's symbols (padding high codes are 0, never the escape code Q-1). */
static uint64_t count_escapes(const uint8_t *sym, uint64_t nsym, unsigned pack, unsigned esc) {
    uint64_t i, n = 0;
    if (pack == 1) {
        for (i = 0; i < nsym; i++) n += sym[i] == esc;
    } else {
        for (i = 0; i < nsym; i++) n += ((sym[i] & 15) == esc) + ((sym[i] >> 4) == esc);
    }
    return n;
}

static int tile_escapes(const kern_job *j, uint64_t t, const ecqf_tile_geom *g, const uint8_t *sym, const float *sc,
                        uint64_t sc_r0) {
    const ecqf_kernel_plan *p = j->p;
    const ecqf_tensor_info *in = &p->info;
    const uint8_t *es = in->part[ECQF_PART_ESCAPES];
    const uint8_t *vals = es + 4 * (p->T + 1);
    const unsigned esc = p->Q - 1, W = in->lanes, S = in->stripe_rows, pack = in->pack;
    const uint64_t h = g->r1 - g->r0, w = g->c1 - g->c0, q = w / W, rem = w % W;
    const uint64_t n_lo = rem < W ? g->lane_len[rem] : 0;
    uint64_t e0 = ecqf_rd32(es + 4 * t), e1 = ecqf_rd32(es + 4 * t + 4), n, pos, k;
    n = count_escapes(sym, g->symbols, pack, esc);
    if (n != e1 - e0) return ECQF_ERR_BAD_ESCAPES;
    if (n == 0 || j->mode != KERN_MODE_GEMV) return ECQF_OK;
    k = e0;
    for (pos = 0; pos < g->symbols; pos++) {
        uint64_t step, lane, ci;
        unsigned sy = sym[pos];
        if (pack == 1 ? sy != esc : ((sy & 15) != esc && (sy >> 4) != esc)) continue;
        if (pos < n_lo * W) {
            step = pos / W;
            lane = pos % W;
        } else {
            step = n_lo + (pos - n_lo * W) / rem;
            lane = (pos - n_lo * W) % rem;
        }
        for (ci = 0; ci < pack; ci++) {
            uint64_t e = step * pack + ci, ncols = q + (lane < rem), per = (uint64_t)S * ncols;
            uint64_t nstripes = (h + S - 1) / S, st = e / per, within, sh, rr, cc;
            unsigned u = pack == 1 ? sy : (ci ? sy >> 4 : sy & 15);
            if (e >= h * ncols) break; /* padding code */
            if (u != esc) continue;
            if (st >= nstripes) st = nstripes - 1;
            within = e - st * per;
            sh = h - st * S < S ? h - st * S : S;
            rr = st * S + within % sh;
            cc = (within / sh) * W + lane;
            {
                int32_t kv = (int32_t)ecqf_rd32(vals + 4 * k++);
                float step_r = sc[g->r0 + rr - sc_r0];
                j->y[g->r0 + rr] += step_r * ((float)kv - ((float)esc - p->off)) * j->x[g->c0 + cc];
            }
        }
    }
    return ECQF_OK;
}

/* Can tile_dot take this tile straight from its symbols? */
static int tile_direct(const ecqf_kernel_plan *p, const kern_isa_ops *ops, const ecqf_tile_geom *g) {
    const unsigned W = p->info.lanes, S = p->info.stripe_rows;
    const uint64_t w = g->c1 - g->c0, h = g->r1 - g->r0;
    if (W % ops->vec || w % W) return 0;
    if (p->groups > 1 && (p->group_size % W || g->c0 % W)) return 0;
    if (p->info.pack == 2 && (S % 2 || (h % S) % 2)) return 0;
    return 1;
}

/* ---- tiled codings ----------------------------------------------------------------------- */

/* [G-2] without scattering: with pack 2 the last symbol of an odd-length lane has a padding
 * high code that must be 0. Lanes [0, rem) and [rem, W) have one length each (tiling.c). */
static int pad_check(const ecqf_tiling *tl, const ecqf_tile_geom *g, const uint8_t *sym) {
    const uint64_t W = tl->lanes, h = g->r1 - g->r0, w = g->c1 - g->c0, q = w / W, rem = w % W;
    const uint64_t n_lo = rem < W ? g->lane_len[rem] : 0, e_hi = h * (q + 1), e_lo = h * q;
    uint64_t l;
    if (tl->pack != 2) return ECQF_OK;
    if (rem > 0 && (e_hi & 1)) {
        uint64_t pidx = (e_hi - 1) >> 1;
        const uint8_t *ptr = sym + (pidx < n_lo ? pidx * W : n_lo * W + (pidx - n_lo) * rem);
        for (l = 0; l < rem; l++)
            if (ptr[l] >> 4) return ECQF_ERR_CORRUPT_STREAM;
    }
    if (q > 0 && (e_lo & 1)) {
        const uint8_t *ptr = sym + ((e_lo - 1) >> 1) * W;
        for (l = rem; l < W; l++)
            if (ptr[l] >> 4) return ECQF_ERR_CORRUPT_STREAM;
    }
    return ECQF_OK;
}

static int simd_tiles(kern_job *j, uint64_t tr0, uint64_t tr1, kern_scratch *s) {
    const ecqf_kernel_plan *p = j->p;
    const ecqf_tensor_info *in = &p->info;
    const kern_isa_ops *ops = ops_for(p->backend);
    const unsigned W = in->lanes;
    const uint8_t *ti = in->part[ECQF_PART_TILE_INDEX], *data = in->part[ECQF_PART_DATA];
    const uint64_t r0 = tr0 * in->tile_rows, r1 = tr1 * in->tile_rows < in->rows ? tr1 * in->tile_rows : in->rows;
    const size_t tile_buf = ((size_t)p->max_tile + 127) & ~(size_t)63;
    const size_t nrows = (size_t)(r1 - r0), G = (size_t)p->groups;
    ecqf_tile_geom g[KERN_GROUP];
    const uint8_t *src[KERN_GROUP];
    size_t size[KERN_GROUP];
    uint8_t *sym[KERN_GROUP], *codes, *base;
    float *sc = NULL, *tmp = NULL;
    size_t n = (size_t)(tr1 - tr0), i, need;
    uint64_t tc;
    int rc;
    need = (KERN_GROUP + 1) * tile_buf;
    if (j->mode == KERN_MODE_GEMV) need += (2 * nrows * G + 16) * sizeof(float);
    base = kern_scratch_get(s, need);
    if (!base) return ECQF_ERR_NOMEM;
    for (i = 0; i < KERN_GROUP; i++) sym[i] = base + i * tile_buf;
    codes = base + KERN_GROUP * tile_buf;
    if (j->mode == KERN_MODE_GEMV) {
        sc = (float *)(void *)(base + (KERN_GROUP + 1) * tile_buf);
        tmp = sc + nrows * G;
        rows_init(j, ops, r0, r1, sc, tmp);
    }
    for (tc = 0; tc < p->TC; tc++) {
        size_t failed = 0;
        for (i = 0; i < n; i++) {
            uint64_t t = (tr0 + i) * p->TC + tc, o0 = ecqf_rd64(ti + 8 * t), o1 = ecqf_rd64(ti + 8 * t + 8);
            ecqf_tile_geometry(&p->tiling, t, &g[i]);
            src[i] = data + o0;
            size[i] = (size_t)(o1 - o0);
        }
        rc = in->coding == ECQF_CODING_RANS
                 ? ecqf_fast_rans_decode_tiles(p->fr, ops->fd_isa, W, n, g, src, size, sym, &failed)
                 : ecqf_fast_prefix_decode_tiles(p->fp, ops->fd_isa, W, n, g, src, size, sym, &failed);
        if (rc) return rc;
        if (j->mode == KERN_MODE_DECODE && !j->codes && !p->has_esc) { /* decoding alone */
            for (i = 0; i < n; i++)
                if (pad_check(&p->tiling, &g[i], sym[i]) != ECQF_OK) return ECQF_ERR_CORRUPT_STREAM;
            continue;
        }
        for (i = 0; i < n; i++) {
            const uint64_t t = (tr0 + i) * p->TC + tc, w = g[i].c1 - g[i].c0;
            uint64_t rr;
            if (p->has_esc) {
                rc = tile_escapes(j, t, &g[i], sym[i], sc, r0);
                if (rc) return rc;
            }
            if (j->mode == KERN_MODE_GEMV && tile_direct(p, ops, &g[i])) {
                ops->tile_dot(sym[i], in->pack, W, in->stripe_rows, (uint32_t)(g[i].r1 - g[i].r0), (uint32_t)(w / W),
                              j->x + g[i].c0, g[i].c0, p->group_size, sc + (g[i].r0 - r0) * G, G, j->y + g[i].r0, p->off);
                continue;
            }
            if (ecqf_tile_scatter(&p->tiling, &g[i], sym[i], codes) != ECQF_OK) return ECQF_ERR_CORRUPT_STREAM;
            if (j->mode == KERN_MODE_DECODE) {
                if (j->codes)
                    for (rr = g[i].r0; rr < g[i].r1; rr++)
                        memcpy(j->codes + rr * in->cols + g[i].c0, codes + (rr - g[i].r0) * w, (size_t)w);
                continue;
            }
            for (rr = g[i].r0; rr < g[i].r1; rr++)
                j->y[rr] += ops->row_dot(codes + (rr - g[i].r0) * w, j->x + g[i].c0, g[i].c0, (size_t)w, p->group_size,
                                         sc + (rr - r0) * G, p->off);
        }
    }
    return ECQF_OK;
}

/* ---- RAW ----------------------------------------------------------------------------------- */

static int simd_raw_rows(kern_job *j, uint64_t r0, uint64_t r1, kern_scratch *s) {
    const ecqf_kernel_plan *p = j->p;
    const ecqf_tensor_info *in = &p->info;
    const kern_isa_ops *ops = ops_for(p->backend);
    const uint8_t *data = in->part[ECQF_PART_DATA];
    const size_t cols = (size_t)in->cols, nrows = (size_t)(r1 - r0), G = (size_t)p->groups;
    const int fast4 = j->mode == KERN_MODE_GEMV && j->xperm && in->code_width == 4 && p->Q == 16 && !p->has_esc &&
                      cols % 64 == 0 && (p->group_size % 32 == 0 || G == 1);
    uint8_t *row;
    float *sc, *tmp;
    uint64_t r, c;
    row = kern_scratch_get(s, cols + 64 + (2 * nrows * G + 16) * sizeof(float));
    if (!row) return ECQF_ERR_NOMEM;
    sc = (float *)(void *)(row + ((cols + 63) & ~(size_t)63));
    tmp = sc + nrows * G;
    if (j->mode == KERN_MODE_GEMV) rows_init(j, ops, r0, r1, sc, tmp);
    for (r = r0; r < r1; r++) {
        uint8_t *u = j->mode == KERN_MODE_DECODE && j->codes ? j->codes + r * cols : row;
        if (fast4 && ops->raw4_rows4 && r + 4 <= r1) {
            float o4[4];
            ops->raw4_rows4(data + r * cols / 2, cols / 2, j->xperm, cols, p->group_size, sc + (r - r0) * G, G, p->off, o4);
            j->y[r] += o4[0];
            j->y[r + 1] += o4[1];
            j->y[r + 2] += o4[2];
            j->y[r + 3] += o4[3];
            r += 3;
            continue;
        }
        if (fast4) {
            j->y[r] += ops->raw4_row(data + r * cols / 2, j->xperm, cols, p->group_size, sc + (r - r0) * G, p->off);
            continue;
        }
        if (ecqf_raw_unpack(data, r * cols, cols, in->code_width, p->Q, u) != ECQF_OK) return ECQF_ERR_CORRUPT_STREAM;
        if (j->mode == KERN_MODE_DECODE) continue; /* escapes were counted by the plan */
        j->y[r] += ops->row_dot(u, j->x, 0, cols, p->group_size, sc + (r - r0) * G, p->off);
        if (p->has_esc) {
            const uint8_t *vals = in->part[ECQF_PART_ESCAPES] + 8;
            uint64_t e = p->raw_row_esc[r];
            const unsigned esc = p->Q - 1;
            for (c = 0; c < cols; c++)
                if (u[c] == esc) {
                    int32_t kv = (int32_t)ecqf_rd32(vals + 4 * e++);
                    j->y[r] += sc[r - r0] * ((float)kv - ((float)esc - p->off)) * j->x[c];
                }
        }
    }
    return ECQF_OK;
}

static int simd_none_rows(kern_job *j, uint64_t r0, uint64_t r1, kern_scratch *s) {
    const ecqf_kernel_plan *p = j->p;
    const ecqf_tensor_info *in = &p->info;
    const kern_isa_ops *ops = ops_for(p->backend);
    const size_t cols = (size_t)in->cols, ds = ecqf_dtype_size(in->dtype), chunk = 4096;
    const uint8_t *data = in->part[ECQF_PART_DATA];
    float *buf = NULL;
    uint64_t r;
    if (in->dtype != ECQF_DTYPE_F32) {
        buf = kern_scratch_get(s, chunk * sizeof(float));
        if (!buf) return ECQF_ERR_NOMEM;
    }
    for (r = r0; r < r1; r++) {
        const uint8_t *row = data + r * cols * ds;
        if (!buf) {
            j->y[r] = ops->dot_f32((const float *)(const void *)row, j->x, cols);
        } else {
            float acc = 0.0f;
            size_t c;
            for (c = 0; c < cols; c += chunk) {
                size_t m = cols - c < chunk ? cols - c : chunk;
                ops->cvt(row + c * ds, in->dtype, m, buf);
                acc += ops->dot_f32(buf, j->x + c, m);
            }
            j->y[r] = acc;
        }
    }
    return ECQF_OK;
}

int kern_simd_item(kern_job *j, uint64_t item, kern_scratch *s) {
    const ecqf_kernel_plan *p = j->p;
    uint64_t a = item * j->per_item, b;
    if (p->info.coding == ECQF_CODING_RANS || p->info.coding == ECQF_CODING_PREFIX) {
        b = a + j->per_item < p->TR ? a + j->per_item : p->TR;
        if (b - a > KERN_GROUP) { /* scalar backend items are 1 tile row; decode calls may be larger */
            uint64_t k;
            for (k = a; k < b; k += KERN_GROUP) {
                int rc = simd_tiles(j, k, k + KERN_GROUP < b ? k + KERN_GROUP : b, s);
                if (rc) return rc;
            }
            return ECQF_OK;
        }
        return simd_tiles(j, a, b, s);
    }
    b = a + j->per_item < p->info.rows ? a + j->per_item : p->info.rows;
    if (p->info.scheme == ECQF_SCHEME_NONE) return simd_none_rows(j, a, b, s);
    return simd_raw_rows(j, a, b, s);
}
