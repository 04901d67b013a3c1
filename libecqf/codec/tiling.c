/*
 * tiling.c — tile grid (spec 9.1), lane element order (9.2) and symbol order (9.3).
 *
 * Structure used throughout: a tile of h rows and w columns with W lanes gives every lane
 * l < rem = w mod W exactly q+1 columns and every other lane q = w div W columns, so there
 * are only two lane lengths: n_hi for lanes [0, rem) and n_lo for lanes [rem, W). In symbol
 * order, the first n_lo steps hold all W lanes and the remaining n_hi - n_lo steps hold only
 * lanes [0, rem), so lane l's symbol p sits at
 *     p*W + l                          if p < n_lo
 *     n_lo*W + (p - n_lo)*rem + l      otherwise (only lanes l < rem get there).
 * Walking the element loop of 9.2 row by row, each (stripe, column step, row) touches the
 * contiguous tile-local bytes of lanes [0, rem) and [rem, W), and both groups land on
 * contiguous symbol runs, so gather and scatter are two short copies per row chunk with no
 * per-element division.
 *
 * ecqf_tiling_count also rejects (returns UINT64_MAX) parameters outside the ranges of
 * codec.h's ecqf_tiling (lanes 1..64, pack 1 or 2, stripe_rows 1..255, tile_rows and
 * tile_cols >= 1, tile_rows*tile_cols <= 2^26), because ecqf_tile_geometry relies on them.
 * Lane counts need not be powers of two here; [K-7] is the format layer's check.
 */
#include "codec.h"
#include "common/internal.h"

static int tiling_valid(const ecqf_tiling *t) {
    return t && t->lanes >= 1 && t->lanes <= ECQF_MAX_LANES && (t->pack == 1 || t->pack == 2) &&
           t->stripe_rows >= 1 && t->stripe_rows <= 255 && t->tile_rows >= 1 && t->tile_cols >= 1 &&
           (uint64_t)t->tile_rows * t->tile_cols <= ECQF_MAX_TILE_ELEMENTS;
}

static uint64_t ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

uint64_t ecqf_tiling_count(const ecqf_tiling *t) {
    uint64_t n;
    if (!tiling_valid(t)) return UINT64_MAX;
    if (t->rows == 0 || t->cols == 0) return 0;
    if (ecqf_mul_overflow(ceil_div(t->rows, t->tile_rows), ceil_div(t->cols, t->tile_cols), &n) ||
        n == UINT64_MAX)
        return UINT64_MAX;
    return n;
}

void ecqf_tile_geometry(const ecqf_tiling *t, uint64_t tile, ecqf_tile_geom *g) {
    uint64_t tc = ceil_div(t->cols, t->tile_cols);
    uint64_t h, w, q, rem, e_hi, e_lo, n_hi, n_lo;
    unsigned l;

    g->r0 = (tile / tc) * t->tile_rows;
    g->c0 = (tile % tc) * t->tile_cols;
    g->r1 = t->rows - g->r0 < t->tile_rows ? t->rows : g->r0 + t->tile_rows;
    g->c1 = t->cols - g->c0 < t->tile_cols ? t->cols : g->c0 + t->tile_cols;
    h = g->r1 - g->r0;
    w = g->c1 - g->c0;
    g->elements = h * w;
    q = w / t->lanes;
    rem = w % t->lanes;
    e_hi = h * (q + 1);
    e_lo = h * q;
    n_hi = t->pack == 2 ? (e_hi + 1) / 2 : e_hi;
    n_lo = t->pack == 2 ? (e_lo + 1) / 2 : e_lo;
    for (l = 0; l < ECQF_MAX_LANES; l++)
        g->lane_len[l] = (uint32_t)(l < rem ? n_hi : (l < t->lanes ? n_lo : 0));
    g->steps = g->lane_len[0];
    g->symbols = rem * n_hi + (t->lanes - rem) * n_lo;
}

/* Parameters of the 9.2 walk shared by gather and scatter. */
typedef struct walk {
    uint64_t h, w, q, rem, W, S;
    uint64_t n_lo;     /* symbols of lanes [rem, W) */
    unsigned shift;    /* 0 for pack 1, 1 for pack 2 (element position -> symbol position) */
} walk;

static void walk_init(walk *k, const ecqf_tiling *t, const ecqf_tile_geom *g) {
    k->h = g->r1 - g->r0;
    k->w = g->c1 - g->c0;
    k->W = t->lanes;
    k->S = t->stripe_rows;
    k->q = k->w / k->W;
    k->rem = k->w % k->W;
    k->shift = t->pack == 2 ? 1u : 0u;
    k->n_lo = k->rem < k->W ? g->lane_len[k->rem] : 0;
}

/* symbol offset of lane 0 of the high group (lanes [0, rem)) at symbol position p */
static inline uint64_t hi_base(const walk *k, uint64_t p) {
    return p < k->n_lo ? p * k->W : k->n_lo * k->W + (p - k->n_lo) * k->rem;
}

void ecqf_tile_gather(const ecqf_tiling *t, const ecqf_tile_geom *g, const uint8_t *tile_codes,
                      uint8_t *symbols) {
    walk k;
    uint64_t s0, j, r, l, ph = 0, pl = 0; /* element positions of the high and low lane groups */
    walk_init(&k, t, g);
    for (s0 = 0; s0 < k.h; s0 += k.S) {
        uint64_t sh = k.h - s0 < k.S ? k.h - s0 : k.S;
        for (j = 0; j <= k.q; j++) {
            uint64_t ncols = j < k.q ? k.W : k.rem; /* lanes active in this column step */
            if (ncols == 0) break;
            for (r = 0; r < sh; r++) {
                const uint8_t *src = tile_codes + (s0 + r) * k.w + j * k.W;
                uint64_t nh = k.rem < ncols ? k.rem : ncols; /* lanes of the high group */
                if (k.shift == 0) {
                    uint8_t *dh = symbols + hi_base(&k, ph);
                    uint8_t *dl = symbols + pl * k.W;
                    for (l = 0; l < nh; l++) dh[l] = src[l];
                    for (l = nh; l < ncols; l++) dl[l] = src[l];
                } else {
                    uint8_t *dh = symbols + hi_base(&k, ph >> 1);
                    uint8_t *dl = symbols + (pl >> 1) * k.W;
                    if (ph & 1)
                        for (l = 0; l < nh; l++) dh[l] = (uint8_t)(dh[l] | (src[l] << 4));
                    else
                        for (l = 0; l < nh; l++) dh[l] = src[l];
                    if (pl & 1)
                        for (l = nh; l < ncols; l++) dl[l] = (uint8_t)(dl[l] | (src[l] << 4));
                    else
                        for (l = nh; l < ncols; l++) dl[l] = src[l];
                }
                ph++;
                if (j < k.q) pl++; /* the low group is idle in the partial step */
            }
        }
    }
}

int ecqf_tile_scatter(const ecqf_tiling *t, const ecqf_tile_geom *g, const uint8_t *symbols,
                      uint8_t *tile_codes) {
    walk k;
    uint64_t s0, j, r, l, ph = 0, pl = 0;
    walk_init(&k, t, g);
    if (k.shift) { /* [G-2]: the padding high code of an odd-length lane must be 0 */
        uint64_t e_hi = k.h * (k.q + 1), e_lo = k.h * k.q;
        if (k.rem > 0 && (e_hi & 1)) {
            const uint8_t *p = symbols + hi_base(&k, (e_hi - 1) >> 1);
            for (l = 0; l < k.rem; l++)
                if (p[l] >> 4) return ECQF_ERR_CORRUPT_STREAM;
        }
        if (k.q > 0 && (e_lo & 1)) {
            const uint8_t *p = symbols + ((e_lo - 1) >> 1) * k.W;
            for (l = k.rem; l < k.W; l++)
                if (p[l] >> 4) return ECQF_ERR_CORRUPT_STREAM;
        }
    }
    for (s0 = 0; s0 < k.h; s0 += k.S) {
        uint64_t sh = k.h - s0 < k.S ? k.h - s0 : k.S;
        for (j = 0; j <= k.q; j++) {
            uint64_t ncols = j < k.q ? k.W : k.rem;
            if (ncols == 0) break;
            for (r = 0; r < sh; r++) {
                uint8_t *dst = tile_codes + (s0 + r) * k.w + j * k.W;
                uint64_t nh = k.rem < ncols ? k.rem : ncols;
                if (k.shift == 0) {
                    const uint8_t *ps_hi = symbols + hi_base(&k, ph);
                    const uint8_t *ps_lo = symbols + pl * k.W;
                    for (l = 0; l < nh; l++) dst[l] = ps_hi[l];
                    for (l = nh; l < ncols; l++) dst[l] = ps_lo[l];
                } else {
                    const uint8_t *ps_hi = symbols + hi_base(&k, ph >> 1);
                    const uint8_t *ps_lo = symbols + (pl >> 1) * k.W;
                    unsigned bh = (unsigned)(ph & 1) * 4, bl = (unsigned)(pl & 1) * 4;
                    for (l = 0; l < nh; l++) dst[l] = (uint8_t)((ps_hi[l] >> bh) & 15);
                    for (l = nh; l < ncols; l++) dst[l] = (uint8_t)((ps_lo[l] >> bl) & 15);
                }
                ph++;
                if (j < k.q) pl++;
            }
        }
    }
    return ECQF_OK;
}
