/*
 * prefix.c — length-limited canonical prefix code (spec 8.5) and the PREFIX tile (9.6).
 *
 * Code lengths come from package-merge (Larmore and Hirschberg), which is exactly optimal
 * under the length limit. Decoding reads a 32-bit MSB-first buffer per lane and looks the
 * top max_length bits up in a table.
 *
 * Word count of a lane: the decoder takes one word at the start and one after each symbol
 * that leaves fewer than 16 bits when more symbols follow, so a lane with n_l >= 2 takes
 * ceil(b/16) + 1 words, where b is the number of bits of its first n_l - 1 symbols. That can
 * be one more than ceil(bits/16) of the lane's whole bit string; the encoder then writes an
 * extra zero word (the decoder's [P-8] check sees only zero bits there).
 *
 * Status codes: max_length or alphabet out of range is ECQF_ERR_INVALID_ARGUMENT; lengths that
 * break [P-2]/[P-4] are ECQF_ERR_BAD_TABLE; the tile decoder returns ECQF_ERR_NONZERO_PADDING
 * for a nonzero padding word ([P-5], as spec section 11 maps it) and ECQF_ERR_CORRUPT_STREAM
 * for every other violation.
 */
#include "codec.h"
#include "common/internal.h"

static int max_length_ok(unsigned m) { return m >= 1 && m <= ECQF_MAX_PREFIX_LENGTH; }

int ecqf_prefix_table_init(ecqf_prefix_table *t, const uint8_t *lengths, unsigned alphabet,
                           unsigned max_length) {
    unsigned count[ECQF_MAX_PREFIX_LENGTH + 1] = {0}, next[ECQF_MAX_PREFIX_LENGTH + 1];
    uint32_t kraft = 0, used = 0;
    unsigned s, n;
    if (!t || !lengths || alphabet < 1 || alphabet > ECQF_MAX_ALPHABET || !max_length_ok(max_length))
        return ECQF_ERR_INVALID_ARGUMENT;
    for (s = 0; s < alphabet; s++) {
        unsigned len = lengths[s];
        if (len == 0) continue;
        if (len > max_length) return ECQF_ERR_BAD_TABLE; /* [P-2] */
        count[len]++;
        used++;
        kraft += 1u << (max_length - len);
    }
    if (used == 0) return ECQF_ERR_BAD_TABLE; /* [P-4] */
    if (kraft != (1u << max_length) && !(used == 1 && count[1] == 1))
        return ECQF_ERR_BAD_TABLE; /* [P-4] */
    t->max_length = max_length;
    t->alphabet = alphabet;
    memset(t->length, 0, sizeof t->length);
    memset(t->code, 0, sizeof t->code);
    memset(t->lut_symbol, 0, sizeof t->lut_symbol);
    memset(t->lut_length, 0, sizeof t->lut_length);
    next[1] = 0;
    for (n = 2; n <= max_length; n++) next[n] = (next[n - 1] + count[n - 1]) << 1;
    for (s = 0; s < alphabet; s++) {
        unsigned len = lengths[s], shift, base, i;
        if (len == 0) continue;
        t->length[s] = (uint8_t)len;
        t->code[s] = (uint16_t)next[len]++;
        shift = max_length - len;
        base = (unsigned)t->code[s] << shift;
        for (i = 0; i < (1u << shift); i++) {
            t->lut_symbol[base + i] = (uint8_t)s;
            t->lut_length[base + i] = (uint8_t)len;
        }
    }
    return ECQF_OK;
}

/* ---- package-merge -------------------------------------------------------------------- */

int ecqf_prefix_build_lengths(const uint64_t *counts, unsigned alphabet, unsigned max_length,
                              uint8_t *lengths) {
    /* list i (1-based level, i = max_length is the last) has at most 2n-1 items */
    enum { MAXN = ECQF_MAX_ALPHABET, MAXITEMS = 2 * ECQF_MAX_ALPHABET };
    uint16_t sym[MAXN];                              /* used symbols by increasing count */
    uint64_t wa[MAXITEMS], wb[MAXITEMS], *prev = wa, *cur = wb;
    uint8_t is_leaf[ECQF_MAX_PREFIX_LENGTH][MAXITEMS];
    unsigned size[ECQF_MAX_PREFIX_LENGTH];
    unsigned n = 0, s, i, j, lvl, take;
    if (!counts || !lengths || alphabet < 1 || alphabet > ECQF_MAX_ALPHABET || !max_length_ok(max_length))
        return ECQF_ERR_INVALID_ARGUMENT;
    for (s = 0; s < alphabet; s++) {
        if (counts[s] > ((uint64_t)1 << 48)) return ECQF_ERR_INVALID_ARGUMENT;
        lengths[s] = 0;
        if (!counts[s]) continue;
        /* insertion sort by (count, symbol): stable and at most 256 items */
        for (i = n; i > 0 && counts[sym[i - 1]] > counts[s]; i--) sym[i] = sym[i - 1];
        sym[i] = (uint16_t)s;
        n++;
    }
    if (n == 0 || n > (1u << max_length)) return ECQF_ERR_INVALID_ARGUMENT;
    if (n == 1) {
        lengths[sym[0]] = 1;
        return ECQF_OK;
    }
    /* Level 0 (deepest, code length max_length): the leaves. Level k: leaves merged with the
     * packages (pairs) of level k-1. Weights are at most 12 * 256 * 2^48 < 2^60. */
    for (i = 0; i < n; i++) {
        prev[i] = counts[sym[i]];
        is_leaf[0][i] = 1;
    }
    size[0] = n;
    for (lvl = 1; lvl < max_length; lvl++) {
        unsigned npk = size[lvl - 1] / 2, a = 0, b = 0, m = 0;
        while (a < n || b < npk) {
            uint64_t pw = b < npk ? prev[2 * b] + prev[2 * b + 1] : 0;
            if (b >= npk || (a < n && counts[sym[a]] <= pw)) {
                cur[m] = counts[sym[a++]];
                is_leaf[lvl][m++] = 1;
            } else {
                cur[m] = pw;
                is_leaf[lvl][m++] = 0;
                b++;
            }
        }
        size[lvl] = m;
        {
            uint64_t *tmp = prev;
            prev = cur;
            cur = tmp;
        }
    }
    /* Select the first 2n-2 items of the last level and expand packages downwards: the first
     * `take` items of a level hold some leaves (the lightest symbols, each gaining one bit)
     * and some packages (the first 2*packages items of the level below). */
    take = 2 * n - 2;
    for (lvl = max_length; lvl-- > 0;) {
        unsigned leaves = 0;
        if (take > size[lvl]) return ECQF_ERR_INVALID_ARGUMENT; /* cannot happen: n <= 2^L */
        for (j = 0; j < take; j++) leaves += is_leaf[lvl][j];
        for (j = 0; j < leaves; j++) lengths[sym[j]]++;
        take = 2 * (take - leaves);
    }
    return ECQF_OK;
}

/* ---- tiles ----------------------------------------------------------------------------- */

/* Lane l takes at most 1 + n_l words (one initial, at most one refill per symbol) and its
 * bits bound it by ceil(n_l*max_length/16) + 1. */
size_t ecqf_prefix_tile_bound(const ecqf_tile_geom *g, unsigned lanes, unsigned max_length) {
    uint64_t words = 0, n;
    unsigned l;
    if (lanes > ECQF_MAX_LANES || !max_length_ok(max_length)) return SIZE_MAX;
    for (l = 0; l < lanes; l++) {
        uint64_t bits = (uint64_t)g->lane_len[l] * max_length;
        if (g->lane_len[l]) words += (bits + 15) / 16 + 1;
    }
    if (ecqf_align_up(words, 2, &n) || ecqf_mul_overflow(n, 2, &n) || n > SIZE_MAX) return SIZE_MAX;
    return (size_t)n;
}

static int geom_ok(const ecqf_tile_geom *g, unsigned lanes) {
    uint64_t sum = 0;
    uint32_t mx = 0;
    unsigned l;
    if (lanes < 1 || lanes > ECQF_MAX_LANES) return 0;
    for (l = 0; l < lanes; l++) {
        sum += g->lane_len[l];
        if (g->lane_len[l] > mx) mx = g->lane_len[l];
    }
    return sum == g->symbols && mx == g->steps;
}

/* Encoder lane: bits not yet written (MSB-first in acc, nacc of them), the word slots the
 * decoder has taken for this lane but the encoder has not filled (a FIFO: the decoder's
 * look-ahead keeps at most two open), and the decoder's bit count n. */
typedef struct enc_lane {
    uint64_t acc;
    unsigned nacc, n;
    size_t slot[4];
    unsigned head, open;
} enc_lane;

int ecqf_prefix_encode_tile(const ecqf_prefix_table *t, unsigned lanes, const ecqf_tile_geom *g,
                            const uint8_t *symbols, uint8_t *out, size_t cap, size_t *written) {
    enc_lane ln[ECQF_MAX_LANES];
    size_t words = 0, max_words = cap / 2;
    uint64_t k = 0;
    uint32_t step;
    unsigned l;
    if (!geom_ok(g, lanes) || !max_length_ok(t->max_length)) return ECQF_ERR_INVALID_ARGUMENT;
    memset(ln, 0, sizeof ln);
    /* initial fill, in lane order */
    for (l = 0; l < lanes; l++) {
        if (g->lane_len[l] == 0) continue;
        if (words == max_words) return ECQF_ERR_INVALID_ARGUMENT;
        ln[l].slot[0] = words++;
        ln[l].open = 1;
        ln[l].n = 16;
    }
    for (step = 0; step < g->steps; step++) {
        for (l = 0; l < lanes; l++) {
            enc_lane *e = &ln[l];
            unsigned s, len;
            if (step >= g->lane_len[l]) continue;
            s = symbols[k++];
            len = s < t->alphabet ? t->length[s] : 0;
            if (len == 0) return ECQF_ERR_INVALID_ARGUMENT;
            /* append the code; flush completed words into the oldest open slots */
            e->acc |= (uint64_t)t->code[s] << (64 - e->nacc - len);
            e->nacc += len;
            while (e->nacc >= 16) {
                if (e->open == 0) return ECQF_ERR_INVALID_ARGUMENT; /* cannot happen */
                ecqf_wr16(out + 2 * e->slot[e->head], (uint16_t)(e->acc >> 48));
                e->head = (e->head + 1) & 3;
                e->open--;
                e->acc <<= 16;
                e->nacc -= 16;
            }
            /* the decoder's state after this symbol */
            e->n -= len;
            if (e->n < 16 && step + 1 < g->lane_len[l]) {
                if (words == max_words || e->open == 4) return ECQF_ERR_INVALID_ARGUMENT;
                e->slot[(e->head + e->open) & 3] = words++;
                e->open++;
                e->n += 16;
            }
        }
    }
    /* remaining bits (zero padded), then zero words for any further slot taken */
    for (l = 0; l < lanes; l++) {
        enc_lane *e = &ln[l];
        if (e->nacc && e->open == 0) return ECQF_ERR_INVALID_ARGUMENT; /* cannot happen */
        while (e->open) {
            ecqf_wr16(out + 2 * e->slot[e->head], (uint16_t)(e->acc >> 48));
            e->acc <<= 16;
            e->head = (e->head + 1) & 3;
            e->open--;
        }
    }
    if (words & 1) {
        if (words == max_words) return ECQF_ERR_INVALID_ARGUMENT;
        ecqf_wr16(out + 2 * words, 0); /* [P-5] */
        words++;
    }
    *written = 2 * words;
    return ECQF_OK;
}

/* The reference decoder: spec 9.6 step by step, with the table lookup of 9.6's note. */
int ecqf_prefix_decode_tile(const ecqf_prefix_table *t, unsigned lanes, const ecqf_tile_geom *g,
                            const uint8_t *in, size_t in_size, uint8_t *symbols) {
    uint32_t B[ECQF_MAX_LANES];
    unsigned n[ECQF_MAX_LANES];
    const unsigned ml = t->max_length;
    size_t avail, taken = 0;
    uint64_t k = 0;
    uint32_t step;
    unsigned l;
    if (!geom_ok(g, lanes) || !max_length_ok(ml)) return ECQF_ERR_INVALID_ARGUMENT;
    if (in_size % 4 != 0) return ECQF_ERR_CORRUPT_STREAM;
    avail = in_size / 2;
    for (l = 0; l < lanes; l++) {
        if (g->lane_len[l] > 0) {
            if (taken == avail) return ECQF_ERR_CORRUPT_STREAM; /* */
            B[l] = (uint32_t)ecqf_rd16(in + 2 * taken++) << 16;
            n[l] = 16;
        } else {
            B[l] = 0;
            n[l] = 0;
        }
    }
    for (step = 0; step < g->steps; step++) {
        for (l = 0; l < lanes; l++) {
            unsigned idx, len;
            if (step >= g->lane_len[l]) continue;
            idx = B[l] >> (32 - ml);
            len = t->lut_length[idx];
            if (len == 0) return ECQF_ERR_CORRUPT_STREAM; /* [P-6] */
            if (len > n[l]) return ECQF_ERR_CORRUPT_STREAM; /* [P-7] */
            B[l] <<= len;
            n[l] -= len;
            if (n[l] < 16 && step + 1 < g->lane_len[l]) {
                if (taken == avail) return ECQF_ERR_CORRUPT_STREAM; /* */
                B[l] += (uint32_t)ecqf_rd16(in + 2 * taken++) << (16 - n[l]);
                n[l] += 16;
            }
            symbols[k++] = t->lut_symbol[idx];
        }
    }
    for (l = 0; l < lanes; l++)
        if (B[l] != 0) return ECQF_ERR_CORRUPT_STREAM; /* [P-8] */
    if (taken == avail) return ECQF_OK;
    if (taken + 1 == avail && (taken & 1)) /* odd stream: one padding word */
        return ecqf_rd16(in + 2 * taken) == 0 ? ECQF_OK : ECQF_ERR_NONZERO_PADDING; /* [P-5] */
    return ECQF_ERR_CORRUPT_STREAM; /* words left over */
}
