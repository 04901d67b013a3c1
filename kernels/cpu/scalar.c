/*
 * scalar.c — the reference CPU backend: the portable kernel body compiled as C, one tile at a
 * time, lanes emulated by a loop (see common/ecqf_kernel_body.h). Every weight is computed
 * exactly as spec 7 dequantizes it, and every sum has a fixed order: within a lane in element
 * order, across lanes by the shuffle-xor tree, across tiles of a tile row left to right. A GPU
 * build of the same body with the same tree gives the same bits.
 */
#include <string.h>

#include "kern.h"
#include "common/internal.h"

/* y rows of tile row `tr`: sum of the tiles of that row, left to right. */
static int scalar_tile_row(kern_job *j, uint64_t tr, kern_scratch *s) {
    const ecqf_kernel_plan *p = j->p;
    const ecqf_tensor_info *in = &p->info;
    const unsigned W = in->lanes;
    const uint8_t *ti = in->part[ECQF_PART_TILE_INDEX];
    const uint8_t *es = in->part[ECQF_PART_ESCAPES];
    const int32_t *esc_vals = p->has_esc ? (const int32_t *)(const void *)(es + 4 * (p->T + 1)) : NULL;
    size_t tile_h = in->tile_rows < in->rows ? in->tile_rows : (size_t)in->rows;
    float *part = kern_scratch_get(s, (tile_h * W + ECQF_KB_MAX_LANES) * sizeof(float));
    float *lanes;
    uint64_t tc, r0 = tr * in->tile_rows;
    ecqf_kb_tile g;
    if (!part) return ECQF_ERR_NOMEM;
    lanes = part + tile_h * W;
    for (tc = 0; tc < p->TC; tc++) {
        uint64_t t = tr * p->TC + tc, o0 = ecqf_rd64(ti + 8 * t), o1 = ecqf_rd64(ti + 8 * t + 8);
        uint32_t e0 = 0, e1 = 0, bits, r;
        ecqf_kb_tile_init(&p->kb, t, &g);
        if (p->has_esc) {
            e0 = ecqf_rd32(es + 4 * t);
            e1 = ecqf_rd32(es + 4 * t + 4);
        }
        bits = ecqf_kb_gemv_tile(&p->kb, &g, in->part[ECQF_PART_DATA] + o0, (uint32_t)(o1 - o0), p->dtab, p->dsym,
                                 (const uint16_t *)(const void *)in->part[ECQF_PART_PARAMS],
                                 esc_vals ? esc_vals + e0 : NULL, e1 - e0, j->x, part);
        if (bits) {
            /* the reference decoder's status for stream errors */
            int rc = kern_body_status(bits);
            if (rc == ECQF_ERR_CORRUPT_STREAM || rc == ECQF_ERR_NONZERO_PADDING) {
                ecqf_tiling tl = p->tiling;
                ecqf_tile_geom gg;
                uint8_t *sym = kern_scratch_get(s, (size_t)p->max_tile + 64);
                int rr;
                if (!sym) return ECQF_ERR_NOMEM;
                ecqf_tile_geometry(&tl, t, &gg);
                rr = in->coding == ECQF_CODING_RANS
                         ? ecqf_rans_decode_tile(p->rt, W, &gg, in->part[ECQF_PART_DATA] + o0, (size_t)(o1 - o0), sym)
                         : ecqf_prefix_decode_tile(p->pt, W, &gg, in->part[ECQF_PART_DATA] + o0, (size_t)(o1 - o0), sym);
                if (rr) return rr;
            }
            return rc;
        }
        for (r = 0; r < g.h; r++) {
            float v;
            memcpy(lanes, part + (size_t)r * W, W * sizeof(float));
            v = ecqf_kb_tree_sum(lanes, W);
            if (tc == 0) j->y[r0 + r] = v;
            else j->y[r0 + r] += v;
        }
    }
    return ECQF_OK;
}

/* RAW and NONE: one row at a time, in column order. */
static int scalar_rows(kern_job *j, uint64_t row0, uint64_t row1) {
    const ecqf_kernel_plan *p = j->p;
    const ecqf_tensor_info *in = &p->info;
    const uint8_t *data = in->part[ECQF_PART_DATA];
    const uint16_t *params = (const uint16_t *)(const void *)in->part[ECQF_PART_PARAMS];
    uint64_t r, c;
    for (r = row0; r < row1; r++) {
        float acc = 0.0f;
        if (in->scheme == ECQF_SCHEME_NONE) {
            const uint8_t *row = data + r * in->cols * ecqf_dtype_size(in->dtype);
            for (c = 0; c < in->cols; c++) {
                float w;
                if (in->dtype == ECQF_DTYPE_F32) w = ECQF_KB_AS_FLOAT(ecqf_rd32(row + 4 * c));
                else if (in->dtype == ECQF_DTYPE_F16) w = ecqf_kb_half(ecqf_rd16(row + 2 * c));
                else w = ECQF_KB_AS_FLOAT((uint32_t)ecqf_rd16(row + 2 * c) << 16);
                acc = ECQF_KB_FADD(acc, ECQF_KB_FMUL(w, j->x[c]));
            }
        } else {
            uint64_t e = p->raw_row_esc ? p->raw_row_esc[r] : 0;
            const uint8_t *ev = p->has_esc ? in->part[ECQF_PART_ESCAPES] + 8 : NULL; /* T = 1 */
            for (c = 0; c < in->cols; c++) {
                uint32_t u = ecqf_kb_raw_code(data, r * in->cols + c, in->code_width);
                int32_t k = (int32_t)u - (int32_t)in->zero_code;
                if (u >= p->Q) return ECQF_ERR_CORRUPT_STREAM; /* [K-4] */
                if (p->has_esc && u == p->Q - 1) k = (int32_t)ecqf_rd32(ev + 4 * e++);
                acc = ECQF_KB_FADD(acc, ECQF_KB_FMUL(ecqf_kb_weight(&p->kb, params, r, c, u, k), j->x[c]));
            }
        }
        j->y[r] = acc;
    }
    return ECQF_OK;
}

int kern_scalar_item(kern_job *j, uint64_t item, kern_scratch *s) {
    const ecqf_kernel_plan *p = j->p;
    uint64_t a = item * j->per_item, b;
    if (p->info.coding == ECQF_CODING_RANS || p->info.coding == ECQF_CODING_PREFIX) {
        b = a + j->per_item < p->TR ? a + j->per_item : p->TR;
        for (; a < b; a++) {
            int rc = scalar_tile_row(j, a, s);
            if (rc) return rc;
        }
        return ECQF_OK;
    }
    b = a + j->per_item < p->info.rows ? a + j->per_item : p->info.rows;
    return scalar_rows(j, a, b);
}
