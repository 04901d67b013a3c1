/*
 * ecqf_gpu.c — argument block and decode tables for the GPU kernels (see ecqf_gpu.h).
 * The tables are the portable body's (kernels/common/ecqf_kernel_body.h): rANS dtab[v] =
 * freq << 16 | (v - cum) and dsym[v] = symbol for every slot; prefix dtab[i] = symbol |
 * length << 8 for every max_length-bit prefix (0 = no code).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecqf_gpu.h"
#include "codec.h"
#include "common/ecqf_kernel_body.h"
#define ECQF_GPU_HOST_ONLY 1
#include "metal/ecqf_gpu_common.h"

#define UNSUP(...)                                     \
    do {                                               \
        if (msg && msg_size) snprintf(msg, msg_size, __VA_ARGS__); \
        rc = ECQF_ERR_UNSUPPORTED;                     \
        goto fail;                                     \
    } while (0)

int ecqf_gpu_status(uint32_t bits) {
    if (bits & ECQF_KB_ERR_STREAM) return ECQF_ERR_CORRUPT_STREAM;
    if (bits & ECQF_KB_ERR_PADDING) return ECQF_ERR_NONZERO_PADDING;
    if (bits & ECQF_KB_ERR_ESCAPES) return ECQF_ERR_BAD_ESCAPES;
    return ECQF_OK;
}

void ecqf_gpu_tensor_free(ecqf_gpu_tensor *g) {
    if (!g) return;
    free(g->tables);
    g->tables = NULL;
}

static void put64(uint32_t *a, int lo, uint64_t v) {
    a[lo] = (uint32_t)v;
    a[lo + 1] = (uint32_t)(v >> 32);
}

int ecqf_gpu_tensor_init(ecqf_gpu_tensor *g, const ecqf_tensor_info *in, unsigned part_pad, char *msg,
                         size_t msg_size) {
    ecqf_tiling tl;
    unsigned A, s, Q;
    int rc = ECQF_OK;
    uint32_t *a;
    memset(g, 0, sizeof *g);
    if (msg && msg_size) msg[0] = 0;
    g->info = in;
    a = g->args;
    if (in->coding != ECQF_CODING_RANS && in->coding != ECQF_CODING_PREFIX)
        UNSUP("coding %s: the GPU kernels run the tiled codings (rans, prefix)", ecqf_coding_name(in->coding));
    if (in->scheme != ECQF_SCHEME_AFFINE && in->scheme != ECQF_SCHEME_SYMMETRIC && in->scheme != ECQF_SCHEME_ECSQ)
        UNSUP("scheme %s", ecqf_scheme_name(in->scheme));
    if (in->lanes > ECQF_GPU_MAX_LANES) UNSUP("%u lanes: the GPU kernels map a tile to one 32-wide simdgroup", in->lanes);
    if (in->rows > UINT32_MAX || in->cols > UINT32_MAX) UNSUP("matrix view above 2^32 rows or columns");
    if (in->part_size[ECQF_PART_DATA] > UINT32_MAX) UNSUP("data part above 4 GiB");
    Q = in->alphabet;
    g->rows = in->rows;
    g->cols = in->cols;
    g->lanes = in->lanes;
    tl.rows = in->rows;
    tl.cols = in->cols;
    tl.lanes = in->lanes;
    tl.pack = in->pack;
    tl.stripe_rows = in->stripe_rows;
    tl.tile_rows = in->tile_rows;
    tl.tile_cols = in->tile_cols;
    g->T = ecqf_tiling_count(&tl);
    if (g->T == UINT64_MAX || g->T != in->tile_count) UNSUP("inconsistent tiling");
    g->TC = in->cols ? (in->cols + in->tile_cols - 1) / in->tile_cols : 0;
    g->TR = g->TC ? g->T / g->TC : 0;
    g->tile_h = (unsigned)(in->tile_rows < in->rows ? in->tile_rows : in->rows);

    put64(a, ECQF_GPU_A_ROWS_LO, in->rows);
    put64(a, ECQF_GPU_A_COLS_LO, in->cols);
    a[ECQF_GPU_A_SCHEME] = (uint32_t)in->scheme;
    a[ECQF_GPU_A_CODING] = (uint32_t)in->coding;
    a[ECQF_GPU_A_LANES] = in->lanes;
    a[ECQF_GPU_A_PACK] = in->pack;
    a[ECQF_GPU_A_STRIPE] = in->stripe_rows;
    a[ECQF_GPU_A_PRECISION] = in->precision;
    a[ECQF_GPU_A_MAX_LENGTH] = in->max_length;
    a[ECQF_GPU_A_TILE_ROWS] = in->tile_rows;
    a[ECQF_GPU_A_TILE_COLS] = in->tile_cols;
    a[ECQF_GPU_A_ESCAPE_CODE] = ECQF_KB_NO_ESCAPE;
    if (in->scheme == ECQF_SCHEME_ECSQ) {
        a[ECQF_GPU_A_ZERO_CODE] = in->zero_code;
        a[ECQF_GPU_A_PER_ROW] = (in->ecsq_flags & ECQF_ECSQ_PER_ROW) ? 1u : 0u;
        a[ECQF_GPU_A_GROUP_SIZE] = (uint32_t)(in->cols ? in->cols : 1);
        put64(a, ECQF_GPU_A_GROUPS_LO, 1);
        if (in->ecsq_flags & ECQF_ECSQ_HAS_ESCAPE) {
            a[ECQF_GPU_A_ESCAPE_CODE] = Q - 1;
            a[ECQF_GPU_A_HAS_ESC] = 1;
        }
    } else {
        if (in->group_size == 0 || in->cols % in->group_size) UNSUP("cols not a multiple of the group size");
        a[ECQF_GPU_A_PARAM_DTYPE] = (uint32_t)in->param_dtype;
        a[ECQF_GPU_A_GROUP_SIZE] = in->group_size;
        a[ECQF_GPU_A_BITS] = in->bits;
        put64(a, ECQF_GPU_A_GROUPS_LO, in->cols / in->group_size);
    }
    put64(a, ECQF_GPU_A_TC_LO, g->TC);
    put64(a, ECQF_GPU_A_T_LO, g->T);

    A = in->pack == 2 ? 256u : Q;
    if (in->coding == ECQF_CODING_RANS) {
        uint16_t freq[256];
        uint32_t M = 1u << in->precision, v;
        ecqf_rans_table *rt = malloc(sizeof *rt);
        if (!rt) return ECQF_ERR_NOMEM;
        for (s = 0; s < A; s++) freq[s] = (uint16_t)(in->part[ECQF_PART_TABLE][2 * s] | (in->part[ECQF_PART_TABLE][2 * s + 1] << 8));
        rc = ecqf_rans_table_init(rt, freq, A, in->precision);
        if (rc) {
            free(rt);
            goto fail;
        }
        g->table_words = M + M / 4;
        g->tables = calloc(g->table_words, 4);
        if (!g->tables) {
            free(rt);
            return ECQF_ERR_NOMEM;
        }
        for (v = 0; v < M; v++) {
            unsigned sy = rt->slot_symbol[v];
            g->tables[v] = ((uint32_t)rt->freq[sy] << 16) | (v - rt->cum[sy]);
            ((uint8_t *)(g->tables + M))[v] = (uint8_t)sy;
        }
        a[ECQF_GPU_A_DSYM_OFFSET] = 4 * M;
        free(rt);
    } else {
        uint32_t n = 1u << in->max_length, i;
        ecqf_prefix_table *pt = malloc(sizeof *pt);
        if (!pt) return ECQF_ERR_NOMEM;
        rc = ecqf_prefix_table_init(pt, in->part[ECQF_PART_TABLE], A, in->max_length);
        if (rc) {
            free(pt);
            goto fail;
        }
        g->table_words = n;
        g->tables = calloc(n, 4);
        if (!g->tables) {
            free(pt);
            return ECQF_ERR_NOMEM;
        }
        for (i = 0; i < n; i++)
            g->tables[i] = pt->lut_length[i] ? (uint32_t)pt->lut_symbol[i] | ((uint32_t)pt->lut_length[i] << 8) : 0;
        free(pt);
    }
    a[ECQF_GPU_A_TABLE_WORDS] = (uint32_t)g->table_words;
    a[ECQF_GPU_A_PART_PAD] = part_pad;
    a[ECQF_GPU_A_PART_STRIDE] = part_pad + g->tile_h * in->lanes;
    g->part_floats = (size_t)g->TR * a[ECQF_GPU_A_PART_STRIDE];
    return ECQF_OK;
fail:
    ecqf_gpu_tensor_free(g);
    return rc;
}

int ecqf_gpu_fast_table(const ecqf_tensor_info *in, uint32_t **out, size_t *words) {
    const uint8_t *t = in->part[ECQF_PART_TABLE];
    uint32_t *tab;
    *out = NULL;
    *words = 0;
    if (in->pack != 2 || !t) return ECQF_ERR_UNSUPPORTED;
    if (in->coding == ECQF_CODING_RANS) {
        const uint32_t M = 1u << in->precision;
        uint32_t cum = 0, s, v;
        if (in->precision > 12) return ECQF_ERR_UNSUPPORTED;
        tab = calloc(M, 4);
        if (!tab) return ECQF_ERR_NOMEM;
        for (s = 0; s < 256; s++) {
            const uint32_t f = (uint32_t)t[2 * s] | ((uint32_t)t[2 * s + 1] << 8);
            if (f >= 4096 || cum + f > M) {
                free(tab);
                return ECQF_ERR_UNSUPPORTED;
            }
            for (v = cum; v < cum + f; v++) tab[v] = (f << 20) | ((s >> 4) << 16) | ((s & 15) << 12) | (v - cum);
            cum += f;
        }
        *out = tab;
        *words = M;
        return ECQF_OK;
    }
    if (in->coding == ECQF_CODING_PREFIX) {
        const unsigned L = in->max_length;
        unsigned cnt[ECQF_MAX_PREFIX_LENGTH + 2] = {0}, next[ECQF_MAX_PREFIX_LENGTH + 2] = {0}, l, s, i;
        tab = calloc((size_t)1 << L, 4);
        if (!tab) return ECQF_ERR_NOMEM;
        for (s = 0; s < 256; s++)
            if (t[s]) cnt[t[s]]++;
        for (l = 2; l <= L; l++) next[l] = (next[l - 1] + cnt[l - 1]) << 1;
        for (s = 0; s < 256; s++) {
            const unsigned len = t[s];
            unsigned base;
            if (!len) continue;
            base = next[len]++ << (L - len);
            for (i = 0; i < (1u << (L - len)); i++) tab[base + i] = len | ((s & 15u) << 19) | ((s >> 4) << 23);
        }
        *out = tab;
        *words = (size_t)1 << L;
        return ECQF_OK;
    }
    return ECQF_ERR_UNSUPPORTED;
}
