/*
 * rans.c — rANS table (spec 8.4), frequency normalization, and the rANS tile (9.5):
 * 32-bit states in [2^16, 2^32), 16-bit renormalization words, M = 2^precision with
 * precision 10..15, W interleaved lanes sharing one word stream.
 *
 * Status codes: a precision or alphabet outside 10..15 / 1..256 is a caller error
 * (ECQF_ERR_INVALID_ARGUMENT; the format layer rejects such coding_params as BAD_CODING
 * first); a frequency array that breaks is ECQF_ERR_BAD_TABLE. The tile decoder returns
 * ECQF_ERR_NONZERO_PADDING for a nonzero padding word ([R-4], as spec section 11 maps it) and
 * ECQF_ERR_CORRUPT_STREAM for every other violation ([R-5]..[R-8], wrong tile size).
 */
#include <math.h>

#include "codec.h"
#include "common/internal.h"

static int precision_ok(unsigned p) { return p >= ECQF_MIN_PRECISION && p <= ECQF_MAX_PRECISION; }

int ecqf_rans_table_init(ecqf_rans_table *t, const uint16_t *freq, unsigned alphabet,
                         unsigned precision) {
    uint32_t sum = 0, M;
    unsigned s;
    if (!t || !freq || alphabet < 1 || alphabet > ECQF_MAX_ALPHABET || !precision_ok(precision))
        return ECQF_ERR_INVALID_ARGUMENT;
    M = 1u << precision;
    for (s = 0; s < alphabet; s++) {
        t->cum[s] = sum;
        t->freq[s] = freq[s];
        sum += freq[s]; /* at most 256 * 65535: no overflow */
    }
    if (sum != M) return ECQF_ERR_BAD_TABLE; /* */
    for (; s < 256; s++) {
        t->freq[s] = 0;
        t->cum[s] = M;
    }
    t->cum[256] = M;
    t->precision = precision;
    t->alphabet = alphabet;
    for (s = 0; s < alphabet; s++)
        if (freq[s]) memset(t->slot_symbol + t->cum[s], (int)s, freq[s]);
    return ECQF_OK;
}

/* ---- normalization -------------------------------------------------------------------- */

/* Bits saved by raising a frequency from f to f+1 for a symbol of count c. */
static double gain_up(uint64_t c, uint32_t f) { return (double)c * log1p(1.0 / (double)f); }
/* Bits lost by lowering a frequency from f to f-1 (f >= 2). */
static double loss_down(uint64_t c, uint32_t f) { return -(double)c * log1p(-1.0 / (double)f); }

/* Best symbol to raise (largest gain), or -1. */
static int best_up(const uint64_t *counts, const uint32_t *f, unsigned alphabet, uint32_t M,
                   double *value) {
    int best = -1;
    unsigned s;
    for (s = 0; s < alphabet; s++) {
        double g;
        if (!counts[s] || f[s] >= M) continue;
        g = gain_up(counts[s], f[s]);
        if (best < 0 || g > *value) {
            best = (int)s;
            *value = g;
        }
    }
    return best;
}

/* Best symbol to lower (smallest loss, frequency stays >= 1), or -1. */
static int best_down(const uint64_t *counts, const uint32_t *f, unsigned alphabet, int except,
                     double *value) {
    int best = -1;
    unsigned s;
    for (s = 0; s < alphabet; s++) {
        double d;
        if (!counts[s] || f[s] < 2 || (int)s == except) continue;
        d = loss_down(counts[s], f[s]);
        if (best < 0 || d < *value) {
            best = (int)s;
            *value = d;
        }
    }
    return best;
}

/* The cost sum c_s * log(M / f_s) is separable and convex in the integers f_s, so a
 * feasible point where no single unit moved from one symbol to another lowers the cost is
 * a global optimum over {f_s >= 1 for used symbols, sum f_s = M}. Start from proportional
 * rounding, repair the sum greedily, then move single units while that helps. */
int ecqf_rans_normalize(const uint64_t *counts, unsigned alphabet, unsigned precision,
                        uint16_t *freq) {
    uint32_t f[256], M, sum = 0;
    uint64_t total = 0;
    unsigned s, used = 0, iter;
    if (!counts || !freq || alphabet < 1 || alphabet > ECQF_MAX_ALPHABET || !precision_ok(precision))
        return ECQF_ERR_INVALID_ARGUMENT;
    M = 1u << precision;
    for (s = 0; s < alphabet; s++) {
        if (ecqf_add_overflow(total, counts[s], &total)) return ECQF_ERR_INVALID_ARGUMENT;
        used += counts[s] != 0;
    }
    if (used == 0 || used > M) return ECQF_ERR_INVALID_ARGUMENT;
    for (s = 0; s < alphabet; s++) {
        if (!counts[s]) {
            f[s] = 0;
            continue;
        }
        {
            double x = floor((double)counts[s] * (double)M / (double)total + 0.5);
            f[s] = x < 1.0 ? 1u : (x > (double)M ? M : (uint32_t)x);
        }
        sum += f[s];
    }
    while (sum < M) {
        double g = 0;
        int b = best_up(counts, f, alphabet, M, &g);
        if (b < 0) return ECQF_ERR_INVALID_ARGUMENT; /* cannot happen: used >= 1 */
        f[b]++;
        sum++;
    }
    while (sum > M) {
        double d = 0;
        int b = best_down(counts, f, alphabet, -1, &d);
        if (b < 0) return ECQF_ERR_INVALID_ARGUMENT; /* cannot happen: used <= M */
        f[b]--;
        sum--;
    }
    /* Exchange phase. Proportional rounding is within a unit or two of the optimum for each
     * symbol, so this ends quickly; the bound only guards against floating-point cycling. */
    for (iter = 0; iter < 4u * 256u; iter++) {
        double g = 0, d = 0;
        int up = best_up(counts, f, alphabet, M, &g), down;
        if (up < 0) break;
        down = best_down(counts, f, alphabet, up, &d);
        if (down < 0 || !(g > d * (1.0 + 1e-12))) break;
        f[up]++;
        f[down]--;
    }
    for (s = 0; s < alphabet; s++) freq[s] = (uint16_t)f[s];
    return ECQF_OK;
}

double ecqf_rans_cost_bits(const uint64_t *counts, const uint16_t *freq, unsigned alphabet,
                           unsigned precision) {
    double bits = 0;
    unsigned s;
    for (s = 0; s < alphabet; s++) {
        if (!counts[s]) continue;
        if (!freq[s]) return HUGE_VAL; /* a used symbol without frequency cannot be coded */
        bits += (double)counts[s] * ((double)precision - log2((double)freq[s]));
    }
    return bits;
}

/* ---- tiles ----------------------------------------------------------------------------- */

/* Each symbol emits at most one word, so a tile holds at most 4W + 2*round_up(symbols, 2). */
size_t ecqf_rans_tile_bound(const ecqf_tile_geom *g, unsigned lanes) {
    uint64_t n;
    if (ecqf_align_up(g->symbols, 2, &n) || ecqf_mul_overflow(n, 2, &n) ||
        ecqf_add_overflow(n, 4u * (uint64_t)lanes, &n) || n > SIZE_MAX)
        return SIZE_MAX;
    return (size_t)n;
}

/* Checks that g's lane lengths are consistent (sum == symbols, max == steps). */
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

int ecqf_rans_encode_tile(const ecqf_rans_table *t, unsigned lanes, const ecqf_tile_geom *g,
                          const uint8_t *symbols, uint8_t *out, size_t cap, size_t *written) {
    uint32_t x[ECQF_MAX_LANES];
    const unsigned p = t->precision;
    const uint64_t M = 1u << p;
    size_t head, words = 0, max_words, i, total;
    uint64_t k;
    uint32_t step;
    unsigned l;
    if (!geom_ok(g, lanes) || !precision_ok(p)) return ECQF_ERR_INVALID_ARGUMENT;
    head = 4u * (size_t)lanes;
    if (cap < head) return ECQF_ERR_INVALID_ARGUMENT;
    max_words = (cap - head) / 2;
    for (l = 0; l < lanes; l++) x[l] = ECQF_RANS_L;
    /* Reverse symbol order is steps descending, lanes descending within a step. Words are
     * written forward in emission order at out + head and reversed at the end. */
    k = g->symbols;
    for (step = g->steps; step-- > 0;) {
        for (l = lanes; l-- > 0;) {
            unsigned s;
            uint32_t f;
            if (step >= g->lane_len[l]) continue;
            s = symbols[--k];
            f = s < t->alphabet ? t->freq[s] : 0;
            if (f == 0) return ECQF_ERR_INVALID_ARGUMENT;
            if ((uint64_t)x[l] >= ((uint64_t)f << (32 - p))) {
                if (words == max_words) return ECQF_ERR_INVALID_ARGUMENT; /* cap too small */
                ecqf_wr16(out + head + 2 * words, (uint16_t)x[l]);
                words++;
                x[l] >>= 16;
            }
            x[l] = (uint32_t)((x[l] / f) * M + t->cum[s] + x[l] % f);
        }
    }
    for (i = 0; i < words / 2; i++) { /* reverse the word stream */
        uint8_t *a = out + head + 2 * i, *b = out + head + 2 * (words - 1 - i);
        uint8_t a0 = a[0], a1 = a[1];
        a[0] = b[0];
        a[1] = b[1];
        b[0] = a0;
        b[1] = a1;
    }
    for (l = 0; l < lanes; l++) ecqf_wr32(out + 4 * l, x[l]);
    total = head + 2 * words;
    if (words & 1) {
        if (words == max_words) return ECQF_ERR_INVALID_ARGUMENT;
        ecqf_wr16(out + total, 0); /* */
        total += 2;
    }
    *written = total;
    return ECQF_OK;
}

/* The reference decoder: spec 9.5 step by step. */
int ecqf_rans_decode_tile(const ecqf_rans_table *t, unsigned lanes, const ecqf_tile_geom *g,
                          const uint8_t *in, size_t in_size, uint8_t *symbols) {
    uint32_t x[ECQF_MAX_LANES];
    const unsigned p = t->precision;
    const uint32_t mask = (1u << p) - 1;
    size_t head, avail, taken = 0;
    uint64_t k = 0;
    uint32_t step;
    unsigned l;
    if (!geom_ok(g, lanes) || !precision_ok(p)) return ECQF_ERR_INVALID_ARGUMENT;
    head = 4u * (size_t)lanes;
    /* tile = states + words + pad to a multiple of 4 bytes */
    if (in_size < head || (in_size - head) % 4 != 0) return ECQF_ERR_CORRUPT_STREAM;
    avail = (in_size - head) / 2; /* words stored, including a possible padding word */
    for (l = 0; l < lanes; l++) {
        x[l] = ecqf_rd32(in + 4 * l);
        if (x[l] < ECQF_RANS_L) return ECQF_ERR_CORRUPT_STREAM; /* */
    }
    for (step = 0; step < g->steps; step++) {
        for (l = 0; l < lanes; l++) {
            uint32_t v, s;
            if (step >= g->lane_len[l]) continue;
            v = x[l] & mask;
            s = t->slot_symbol[v];
            x[l] = t->freq[s] * (x[l] >> p) + v - t->cum[s];
            if (x[l] < ECQF_RANS_L) {
                if (taken == avail) return ECQF_ERR_CORRUPT_STREAM; /* */
                x[l] = (x[l] << 16) | ecqf_rd16(in + head + 2 * taken);
                taken++;
            }
            symbols[k++] = (uint8_t)s;
        }
    }
    for (l = 0; l < lanes; l++)
        if (x[l] != ECQF_RANS_L) return ECQF_ERR_CORRUPT_STREAM; /* */
    if (taken == avail) return ECQF_OK;
    if (taken + 1 == avail && (taken & 1)) /* odd stream: one padding word */
        return ecqf_rd16(in + head + 2 * taken) == 0 ? ECQF_OK : ECQF_ERR_NONZERO_PADDING; /* */
    return ECQF_ERR_CORRUPT_STREAM; /* words left over */
}
