/*
 * fastdec.c — fast RANS and PREFIX tile decoders (see fastdec.h for the contract).
 *
 * Structure. A tile is decoded in two phases:
 *  1. a SIMD phase over the steps where every lane is active and at least W words of the
 *     stream remain (so the vector loads of the next words stay inside the tile), several
 *     tiles interleaved so that the CPU overlaps their dependency chains;
 *  2. a scalar phase for the remaining steps (partial lane groups, the end of the stream),
 *     which checks exhaustion exactly like the reference.
 * Then the final checks of the spec ([R-7], [R-8], [P-8], padding). Whenever anything is
 * wrong, the tile is decoded again by the reference decoder, whose status is returned; so the
 * fast path never has to reproduce error precedence, only to detect that an error exists.
 *
 * Why the fast path cannot miss an error: in the SIMD phase, a rANS step cannot fail (states
 * stay in range by construction, the stream cannot run out because W words remain) and a
 * prefix step can only hit an unused code (length 0), which is tracked as the minimum length
 * seen; [P-7] cannot occur there because every lane holds at least 16 bits when it decodes.
 *
 * Table layouts (per tile: word stream of u16, little-endian; this file reads it with
 * unaligned-safe loads on x86, which is little-endian):
 *  - rANS `packed` (precision <= 12, no symbol of frequency 2^12): one u32 per slot,
 *    freq << 20 | (slot - cum) << 8 | symbol, so a step is one lookup (one gather).
 *  - rANS `sym` + `fc` (any precision): slot -> symbol bytes, symbol -> freq << 16 | cum.
 *  - rANS small (alphabet <= 16, AVX-512): cum and freq as 16 u16 each, searched in registers.
 *  - prefix `lut`: the top max_length bits -> symbol | length << 8 (length 0: unused code).
 */
#include <string.h>

#include "fastdec.h"
#include "common/internal.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FD_X86 1
#include <immintrin.h>
#else
#define FD_X86 0
#endif

#define FD_MAX_GROUP 4 /* tiles decoded together (at most) */

/* The SIMD loops over tiles and vectors have constant trip counts after inlining; they must be
 * unrolled completely so that the state vectors stay in registers. */
#if defined(__clang__)
#define FD_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define FD_UNROLL _Pragma("GCC unroll 16")
#else
#define FD_UNROLL
#endif

/* ---- ISA selection ------------------------------------------------------------------------ */

int ecqf_fast_isa_best(void) {
#if FD_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt"))
        return ECQF_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
        __builtin_cpu_supports("popcnt"))
        return ECQF_ISA_AVX2;
#endif
    return ECQF_ISA_SCALAR;
}

int ecqf_fast_isa_supported(int isa) {
    if (isa == ECQF_ISA_AUTO || isa == ECQF_ISA_SCALAR) return 1;
    if (isa != ECQF_ISA_AVX2 && isa != ECQF_ISA_AVX512) return 0;
    return isa <= ecqf_fast_isa_best();
}

int ecqf_fast_isa_resolve(int isa) {
    int best = ecqf_fast_isa_best();
    if (isa == ECQF_ISA_AUTO || isa > best) return best;
    return isa < ECQF_ISA_SCALAR ? ECQF_ISA_SCALAR : isa;
}

const char *ecqf_fast_isa_name(int isa) {
    switch (isa) {
    case ECQF_ISA_AUTO: return "auto";
    case ECQF_ISA_SCALAR: return "scalar";
    case ECQF_ISA_AVX2: return "avx2";
    case ECQF_ISA_AVX512: return "avx512";
    default: return "unknown";
    }
}

/* ---- tables --------------------------------------------------------------------------------- */

struct ecqf_fast_rans {
    ecqf_rans_table ref;
    ecqf_allocator alloc;
    int has_alloc;
    unsigned precision, alphabet;
    int small;                   /* alphabet <= 16 */
    uint32_t fc[256];            /* freq << 16 | cum */
    uint32_t *packed;            /* [M], or NULL */
    uint8_t *sym;                /* [M + 4] */
    uint16_t sm_cum[32], sm_freq[32], sm_t4[32], sm_t2[32], sm_t1[32];
    uint8_t expand8[256][8];     /* AVX2 expand: source word of each lane for an 8-bit mask */
};

struct ecqf_fast_prefix {
    ecqf_prefix_table ref;
    ecqf_allocator alloc;
    int has_alloc;
    unsigned max_length, alphabet;
    uint32_t lut[1u << ECQF_MAX_PREFIX_LENGTH]; /* symbol | length << 8 */
    uint8_t expand8[256][8];
};

static void fill_expand8(uint8_t e[256][8]) {
    unsigned m, j;
    for (m = 0; m < 256; m++) {
        unsigned k = 0;
        for (j = 0; j < 8; j++) e[m][j] = (uint8_t)((m >> j) & 1 ? k++ : 0);
    }
}

static const ecqf_allocator *fd_alloc(int has, const ecqf_allocator *a) { return has ? a : NULL; }

int ecqf_fast_rans_create(const ecqf_rans_table *t, const ecqf_allocator *alloc,
                          ecqf_fast_rans **out) {
    ecqf_fast_rans *f;
    uint32_t M, v;
    unsigned s, p;
    if (!t || !out || t->precision < ECQF_MIN_PRECISION || t->precision > ECQF_MAX_PRECISION ||
        t->alphabet < 1 || t->alphabet > ECQF_MAX_ALPHABET)
        return ECQF_ERR_INVALID_ARGUMENT;
    *out = NULL;
    f = ecqf_alloc(alloc, sizeof *f);
    if (!f) return ECQF_ERR_NOMEM;
    memset(f, 0, sizeof *f);
    memcpy(&f->ref, t, sizeof *t);
    if (alloc) {
        f->alloc = *alloc;
        f->has_alloc = 1;
    }
    p = t->precision;
    M = 1u << p;
    f->precision = p;
    f->alphabet = t->alphabet;
    for (s = 0; s < 256; s++)
        f->fc[s] = s < t->alphabet ? ((uint32_t)t->freq[s] << 16) | t->cum[s] : 0;
    f->sym = ecqf_alloc(alloc, M + 4);
    if (!f->sym) {
        ecqf_fast_rans_free(f);
        return ECQF_ERR_NOMEM;
    }
    memcpy(f->sym, t->slot_symbol, M);
    memset(f->sym + M, 0, 4);
    if (p <= 12) {
        int ok = 1;
        for (s = 0; s < t->alphabet; s++)
            if (t->freq[s] >= 4096) ok = 0;
        if (ok) {
            f->packed = ecqf_alloc(alloc, (size_t)M * sizeof(uint32_t));
            if (!f->packed) {
                ecqf_fast_rans_free(f);
                return ECQF_ERR_NOMEM;
            }
            for (v = 0; v < M; v++) {
                unsigned sy = t->slot_symbol[v];
                f->packed[v] = ((uint32_t)t->freq[sy] << 20) | ((v - t->cum[sy]) << 8) | sy;
            }
        }
    }
    f->small = t->alphabet <= 16;
    for (s = 0; s < 32; s++) {
        f->sm_cum[s] = (uint16_t)(s < t->alphabet ? t->cum[s] : 0xFFFFu);
        f->sm_freq[s] = (uint16_t)(s < t->alphabet ? t->freq[s] : 0);
    }
    for (s = 0; s < 32; s++) {
        f->sm_t4[s] = s + 4 < 16 ? f->sm_cum[s + 4] : 0xFFFFu;
        f->sm_t2[s] = s + 2 < 16 ? f->sm_cum[s + 2] : 0xFFFFu;
        f->sm_t1[s] = s + 1 < 16 ? f->sm_cum[s + 1] : 0xFFFFu;
    }
    fill_expand8(f->expand8);
    *out = f;
    return ECQF_OK;
}

void ecqf_fast_rans_free(ecqf_fast_rans *f) {
    const ecqf_allocator *a;
    if (!f) return;
    a = fd_alloc(f->has_alloc, &f->alloc);
    ecqf_free(a, f->packed);
    ecqf_free(a, f->sym);
    ecqf_free(a, f);
}

const ecqf_rans_table *ecqf_fast_rans_reference(const ecqf_fast_rans *f) { return &f->ref; }

int ecqf_fast_prefix_create(const ecqf_prefix_table *t, const ecqf_allocator *alloc,
                            ecqf_fast_prefix **out) {
    ecqf_fast_prefix *f;
    unsigned i, L;
    if (!t || !out || t->max_length < 1 || t->max_length > ECQF_MAX_PREFIX_LENGTH ||
        t->alphabet < 1 || t->alphabet > ECQF_MAX_ALPHABET)
        return ECQF_ERR_INVALID_ARGUMENT;
    *out = NULL;
    f = ecqf_alloc(alloc, sizeof *f);
    if (!f) return ECQF_ERR_NOMEM;
    memset(f, 0, sizeof *f);
    memcpy(&f->ref, t, sizeof *t);
    if (alloc) {
        f->alloc = *alloc;
        f->has_alloc = 1;
    }
    L = t->max_length;
    f->max_length = L;
    f->alphabet = t->alphabet;
    for (i = 0; i < (1u << L); i++)
        f->lut[i] = t->lut_length[i] ? (uint32_t)t->lut_symbol[i] | ((uint32_t)t->lut_length[i] << 8) : 0;
    fill_expand8(f->expand8);
    *out = f;
    return ECQF_OK;
}

void ecqf_fast_prefix_free(ecqf_fast_prefix *f) {
    if (!f) return;
    ecqf_free(fd_alloc(f->has_alloc, &f->alloc), f);
}

const ecqf_prefix_table *ecqf_fast_prefix_reference(const ecqf_fast_prefix *f) { return &f->ref; }

/* ---- per-tile decoding state ---------------------------------------------------------------- */

typedef struct fd_tile {
    const ecqf_tile_geom *g;
    const uint8_t *words;   /* start of the word stream */
    size_t avail;           /* words in the tile (including a possible padding word) */
    uint8_t *out;
    uint32_t x[ECQF_MAX_LANES];  /* rANS states, or prefix bit buffers B */
    uint32_t n[ECQF_MAX_LANES];  /* prefix bit counts */
    size_t taken;
    uint32_t step;
    uint64_t k;             /* symbols written */
    uint32_t simd_end;      /* steps [.., simd_end) may run in SIMD */
    unsigned minlen;        /* prefix: smallest code length seen in SIMD (0: unused code) */
} fd_tile;

/* The fast paths need the geometry produced by ecqf_tile_geometry: nonincreasing lane
 * lengths, consistent with symbols and steps. Anything else goes to the reference decoder. */
static int geom_fast_ok(const ecqf_tile_geom *g, unsigned lanes) {
    uint64_t sum = 0;
    unsigned l;
    if (lanes < 1 || lanes > ECQF_MAX_LANES) return 0;
    for (l = 0; l < lanes; l++) {
        sum += g->lane_len[l];
        if (l && g->lane_len[l] > g->lane_len[l - 1]) return 0;
    }
    return sum == g->symbols && g->lane_len[0] == g->steps;
}

/* Number of lanes active at `step` (lane lengths are nonincreasing). */
static inline unsigned active_lanes(const ecqf_tile_geom *g, unsigned W, uint32_t step) {
    unsigned a = W;
    while (a > 0 && g->lane_len[a - 1] <= step) a--;
    return a;
}

/* Final checks shared by both codings: the words taken against the words stored. */
static int words_ok(const fd_tile *t) {
    if (t->taken == t->avail) return 1;
    return t->taken + 1 == t->avail && (t->taken & 1) && ecqf_rd16(t->words + 2 * t->taken) == 0;
}

/* ---- scalar decoders (resumable) ------------------------------------------------------------ */

static int rans_scalar(const ecqf_fast_rans *f, unsigned W, fd_tile *t) {
    const ecqf_tile_geom *g = t->g;
    const unsigned p = f->precision;
    const uint32_t mask = (1u << p) - 1;
    uint32_t step;
    for (step = t->step; step < g->steps; step++) {
        unsigned l, na = active_lanes(g, W, step);
        for (l = 0; l < na; l++) {
            uint32_t x = t->x[l], v = x & mask, s;
            if (f->packed) {
                uint32_t e = f->packed[v];
                s = e & 0xFF;
                x = (e >> 20) * (x >> p) + ((e >> 8) & 0xFFF);
            } else {
                uint32_t fc;
                s = f->sym[v];
                fc = f->fc[s];
                x = (fc >> 16) * (x >> p) + v - (fc & 0xFFFF);
            }
            if (x < ECQF_RANS_L) {
                if (t->taken == t->avail) return -1;
                x = (x << 16) | ecqf_rd16(t->words + 2 * t->taken);
                t->taken++;
            }
            t->x[l] = x;
            t->out[t->k++] = (uint8_t)s;
        }
    }
    t->step = step;
    for (unsigned l = 0; l < W; l++)
        if (t->x[l] != ECQF_RANS_L) return -1;
    return words_ok(t) ? 0 : -1;
}

static int prefix_scalar(const ecqf_fast_prefix *f, unsigned W, fd_tile *t) {
    const ecqf_tile_geom *g = t->g;
    const unsigned ml = f->max_length;
    uint32_t step;
    for (step = t->step; step < g->steps; step++) {
        unsigned l, na = active_lanes(g, W, step);
        for (l = 0; l < na; l++) {
            uint32_t B = t->x[l], e = f->lut[B >> (32 - ml)];
            unsigned len = e >> 8, n = t->n[l];
            if (len == 0 || len > n) return -1;
            B <<= len;
            n -= len;
            if (n < 16 && step + 1 < g->lane_len[l]) {
                if (t->taken == t->avail) return -1;
                B += (uint32_t)ecqf_rd16(t->words + 2 * t->taken) << (16 - n);
                t->taken++;
                n += 16;
            }
            t->x[l] = B;
            t->n[l] = n;
            t->out[t->k++] = (uint8_t)e;
        }
    }
    t->step = step;
    for (unsigned l = 0; l < W; l++)
        if (t->x[l] != 0) return -1;
    return words_ok(t) ? 0 : -1;
}

/* ---- AVX-512 -------------------------------------------------------------------------------- */
#if FD_X86

#define FD_AI __attribute__((always_inline)) inline
#define FD_T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,bmi,bmi2,popcnt")))
#define FD_T256 __attribute__((target("avx2,bmi,bmi2,popcnt")))

/* Gathers with a zeroed destination. With the intrinsics, GCC 12 reuses the previous gather's
 * register as the (merge) destination, which chains every gather of the loop together and
 * halves the decode speed; the destination is a fresh zeroed register here. The tables are
 * constant while decoding, so the asm needs no memory clobber. */
#define FD_GATHER_FN(name, scale)                                                               \
    static FD_AI FD_T512 __m512i name##512(__m512i idx, const void *base) {                     \
        __m512i r;                                                                              \
        __mmask16 k = (__mmask16)0xFFFF;                                                        \
        __asm__("vpxord %0, %0, %0\n\tvpgatherdd (%2,%3," #scale "), %0%{%1%}"                \
                : "=&v"(r), "+Yk"(k)                                                            \
                : "r"(base), "v"(idx));                                                         \
        return r;                                                                               \
    }                                                                                           \
    static FD_AI FD_T256 __m256i name##256(__m256i idx, const void *base) {                     \
        __m256i r, m;                                                                           \
        __asm__("vpcmpeqd %1, %1, %1\n\tvpxor %0, %0, %0\n\tvpgatherdd %1, (%2,%3," #scale "), %0" \
                : "=&x"(r), "=&x"(m)                                                            \
                : "r"(base), "x"(idx));                                                         \
        return r;                                                                               \
    }
FD_GATHER_FN(fd_g4_, 4)
FD_GATHER_FN(fd_g1_, 1)

/* Renormalize 16 rANS lanes from the shared word stream: lanes with x < 2^16 take the next
 * words in lane order (an expand of the next 16 words). */
static FD_AI FD_T512 __m512i r512_renorm(__m512i x, const uint8_t **pw, __m512i L) {
    __mmask16 k = _mm512_cmplt_epu32_mask(x, L);
    __m512i w = _mm512_maskz_expand_epi32(
        k, _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)*pw)));
    *pw += 2u * (unsigned)_mm_popcnt_u32(k);
    return _mm512_or_si512(_mm512_mask_slli_epi32(x, k, x, 16), w);
}

/* One step of 16 lanes with the packed table (one gather). */
static FD_AI FD_T512 __m512i r512_step_packed(__m512i x, const uint8_t **pw, uint8_t *out,
                                              const uint32_t *packed, __m128i shp, __m512i maskM,
                                              __m512i m12, __m512i L) {
    __m512i e = fd_g4_512(_mm512_and_si512(x, maskM), packed);
    __m512i bias = _mm512_and_si512(_mm512_srli_epi32(e, 8), m12);
    x = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_srli_epi32(e, 20), _mm512_srl_epi32(x, shp)), bias);
    _mm_storeu_si128((__m128i *)(void *)out, _mm512_cvtepi32_epi8(e));
    return r512_renorm(x, pw, L);
}

/* One step of 16 lanes with the symbol table and the frequency/cumulative table. */
static FD_AI FD_T512 __m512i r512_step_sym(__m512i x, const uint8_t **pw, uint8_t *out,
                                           const uint8_t *sym, const uint32_t *fc, __m128i shp,
                                           __m512i maskM, __m512i m8, __m512i m16, __m512i L) {
    __m512i v = _mm512_and_si512(x, maskM);
    __m512i s = _mm512_and_si512(fd_g1_512(v, sym), m8);
    __m512i e = fd_g4_512(s, fc);
    x = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_srli_epi32(e, 16), _mm512_srl_epi32(x, shp)),
                         _mm512_sub_epi32(v, _mm512_and_si512(e, m16)));
    _mm_storeu_si128((__m128i *)(void *)out, _mm512_cvtepi32_epi8(s));
    return r512_renorm(x, pw, L);
}

/* Constants of the in-register search for alphabets of at most 16 symbols. */
typedef struct r512_small {
    __m512i pack, maskM, c8, t4, t2, t1, fr, cu, wlo, whi, L, eight, four, two, one;
    __m128i shp;
} r512_small;

static FD_AI FD_T512 void r512_small_init(r512_small *c, const ecqf_fast_rans *f) {
    uint16_t pk[32], wl[32], wh[32];
    unsigned i;
    for (i = 0; i < 32; i++) {
        pk[i] = (uint16_t)(i < 16 ? 2 * i : 32 + 2 * (i - 16));
        wl[i] = (uint16_t)(i & 1 ? 32 : i / 2);
        wh[i] = (uint16_t)(i & 1 ? 32 : 16 + i / 2);
    }
    c->pack = _mm512_loadu_si512(pk);
    c->wlo = _mm512_loadu_si512(wl);
    c->whi = _mm512_loadu_si512(wh);
    c->maskM = _mm512_set1_epi16((short)((1u << f->precision) - 1));
    c->c8 = _mm512_set1_epi16((short)f->sm_cum[8]);
    c->t4 = _mm512_loadu_si512(f->sm_t4);
    c->t2 = _mm512_loadu_si512(f->sm_t2);
    c->t1 = _mm512_loadu_si512(f->sm_t1);
    c->fr = _mm512_loadu_si512(f->sm_freq);
    c->cu = _mm512_loadu_si512(f->sm_cum);
    c->L = _mm512_set1_epi32((int)ECQF_RANS_L);
    c->eight = _mm512_set1_epi16(8);
    c->four = _mm512_set1_epi16(4);
    c->two = _mm512_set1_epi16(2);
    c->one = _mm512_set1_epi16(1);
    c->shp = _mm_cvtsi32_si128((int)f->precision);
}

/* One step of 32 lanes (two vectors of states) with the in-register search: the slots of
 * all 32 lanes are packed into one vector of u16, searched with 4 levels of vpermw, and the
 * frequencies and (slot - cum) widened back to the two state vectors. */
static FD_AI FD_T512 void r512_small_step32(const r512_small *c, __m512i *xa, __m512i *xb,
                                            const uint8_t **pw, uint8_t *out) {
    __m512i v = _mm512_and_si512(_mm512_permutex2var_epi16(*xa, c->pack, *xb), c->maskM);
    __m512i s = _mm512_maskz_mov_epi16(_mm512_cmpge_epu16_mask(v, c->c8), c->eight);
    __m512i fq, d, z = _mm512_setzero_si512();
    s = _mm512_mask_add_epi16(s, _mm512_cmpge_epu16_mask(v, _mm512_permutexvar_epi16(s, c->t4)), s, c->four);
    s = _mm512_mask_add_epi16(s, _mm512_cmpge_epu16_mask(v, _mm512_permutexvar_epi16(s, c->t2)), s, c->two);
    s = _mm512_mask_add_epi16(s, _mm512_cmpge_epu16_mask(v, _mm512_permutexvar_epi16(s, c->t1)), s, c->one);
    fq = _mm512_permutexvar_epi16(s, c->fr);
    d = _mm512_sub_epi16(v, _mm512_permutexvar_epi16(s, c->cu));
    *xa = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_permutex2var_epi16(fq, c->wlo, z), _mm512_srl_epi32(*xa, c->shp)),
                           _mm512_permutex2var_epi16(d, c->wlo, z));
    *xb = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_permutex2var_epi16(fq, c->whi, z), _mm512_srl_epi32(*xb, c->shp)),
                           _mm512_permutex2var_epi16(d, c->whi, z));
    _mm256_storeu_si256((__m256i *)(void *)out, _mm512_cvtepi16_epi8(s));
    *xa = r512_renorm(*xa, pw, c->L);
    *xb = r512_renorm(*xb, pw, c->L);
}

enum { RV_PACKED = 0, RV_SYM = 1, RV_SMALL = 2 };

/* Run the SIMD phase on K tiles with NV vectors of 16 lanes each (W = 16*NV), interleaved.
 * Stops as soon as one tile leaves its SIMD range. K, NV and variant are constants after
 * inlining, so the state arrays live in registers. */
static FD_AI FD_T512 void r512_run(const ecqf_fast_rans *f, const int K, const int NV,
                                   const int variant, fd_tile *const *tl) {
    __m512i x[FD_MAX_GROUP][4];
    const uint8_t *pw[FD_MAX_GROUP];
    uint8_t *out[FD_MAX_GROUP];
    const unsigned W = 16u * (unsigned)NV;
    const __m128i shp = _mm_cvtsi32_si128((int)f->precision);
    const __m512i maskM = _mm512_set1_epi32((int)((1u << f->precision) - 1));
    const __m512i m12 = _mm512_set1_epi32(0xFFF), m8 = _mm512_set1_epi32(0xFF);
    const __m512i m16 = _mm512_set1_epi32(0xFFFF), L = _mm512_set1_epi32((int)ECQF_RANS_L);
    r512_small sc;
    int i, v;
    uint32_t steps = 0;
    if (variant == RV_SMALL) r512_small_init(&sc, f);
    FD_UNROLL
    for (i = 0; i < K; i++) {
        FD_UNROLL
        for (v = 0; v < NV; v++) x[i][v] = _mm512_loadu_si512(tl[i]->x + 16 * v);
        pw[i] = tl[i]->words + 2 * tl[i]->taken;
        out[i] = tl[i]->out + tl[i]->k;
    }
    for (;;) {
        /* steps every tile can run unchecked: each step takes at most W words */
        uint32_t run = UINT32_MAX, r;
        FD_UNROLL
        for (i = 0; i < K; i++) {
            const fd_tile *t = tl[i];
            size_t left = t->avail - (size_t)(pw[i] - t->words) / 2;
            uint32_t a = t->simd_end - (t->step + steps), b = left / W > UINT32_MAX ? UINT32_MAX : (uint32_t)(left / W);
            if (t->step + steps >= t->simd_end) a = 0;
            if (a < run) run = a;
            if (b < run) run = b;
        }
        if (run == 0) break;
        for (r = 0; r < run; r++) {
        FD_UNROLL
        for (i = 0; i < K; i++) {
            if (variant == RV_SMALL) {
                FD_UNROLL
                for (v = 0; v < NV; v += 2) r512_small_step32(&sc, &x[i][v], &x[i][v + 1], &pw[i], out[i] + 16 * v);
            } else {
                FD_UNROLL
                for (v = 0; v < NV; v++) {
                    if (variant == RV_PACKED)
                        x[i][v] = r512_step_packed(x[i][v], &pw[i], out[i] + 16 * v, f->packed, shp, maskM, m12, L);
                    else
                        x[i][v] = r512_step_sym(x[i][v], &pw[i], out[i] + 16 * v, f->sym, f->fc, shp, maskM, m8, m16, L);
                }
            }
            out[i] += W;
        }
        }
        steps += run;
    }
    FD_UNROLL
    for (i = 0; i < K; i++) {
        fd_tile *t = tl[i];
        FD_UNROLL
        for (v = 0; v < NV; v++) _mm512_storeu_si512(t->x + 16 * v, x[i][v]);
        t->taken = (size_t)(pw[i] - t->words) / 2;
        t->k = (uint64_t)(out[i] - t->out);
        t->step += steps;
    }
}

#define R512_INST(name, K, NV, VAR) \
    static FD_T512 void name(const ecqf_fast_rans *f, fd_tile *const *tl) { r512_run(f, K, NV, VAR, tl); }
R512_INST(r512_p1_16, 1, 1, RV_PACKED)
R512_INST(r512_p1_32, 1, 2, RV_PACKED)
R512_INST(r512_p1_64, 1, 4, RV_PACKED)
R512_INST(r512_pg_16, 4, 1, RV_PACKED)
R512_INST(r512_pg_32, 4, 2, RV_PACKED)
R512_INST(r512_pg_64, 2, 4, RV_PACKED)
R512_INST(r512_s1_16, 1, 1, RV_SYM)
R512_INST(r512_s1_32, 1, 2, RV_SYM)
R512_INST(r512_s1_64, 1, 4, RV_SYM)
R512_INST(r512_sg_16, 4, 1, RV_SYM)
R512_INST(r512_sg_32, 4, 2, RV_SYM)
R512_INST(r512_sg_64, 2, 4, RV_SYM)
R512_INST(r512_m1_32, 1, 2, RV_SMALL)
R512_INST(r512_m1_64, 1, 4, RV_SMALL)
R512_INST(r512_mg_32, 4, 2, RV_SMALL)
R512_INST(r512_mg_64, 2, 4, RV_SMALL)

typedef void (*r512_fn)(const ecqf_fast_rans *f, fd_tile *const *tl);

/* Tiles interleaved per call: enough independent vectors of states (8) to cover the latency of
 * a step; measured on Zen 5 (AMD EPYC): 4 tiles of 32 lanes beat 2 by 1.5 to 2.5x. */
static int group_of(unsigned W) { return W == 64 ? 2 : 4; }

/* Pick the instance: a group of group_of(W) tiles when that many remain, else one tile. */
static r512_fn r512_pick(const ecqf_fast_rans *f, unsigned W, int group, int *used) {
    static const r512_fn p1[3] = {r512_p1_16, r512_p1_32, r512_p1_64}, pg[3] = {r512_pg_16, r512_pg_32, r512_pg_64};
    static const r512_fn s1[3] = {r512_s1_16, r512_s1_32, r512_s1_64}, sg[3] = {r512_sg_16, r512_sg_32, r512_sg_64};
    static const r512_fn m1[3] = {NULL, r512_m1_32, r512_m1_64}, mg[3] = {NULL, r512_mg_32, r512_mg_64};
    const int wi = W == 16 ? 0 : W == 32 ? 1 : 2, full = group >= group_of(W);
    *used = full ? group_of(W) : 1;
    if (f->small && W >= 32) return full ? mg[wi] : m1[wi];
    if (f->packed) return full ? pg[wi] : p1[wi];
    return full ? sg[wi] : s1[wi];
}

/* -- prefix, AVX-512: table lookups by gather -- */

static FD_AI FD_T512 void p512_step(__m512i *B, __m512i *n, const uint8_t **pw, uint8_t *out,
                                    const uint32_t *lut, __m128i shl, __m512i *minlen,
                                    __m512i c16) {
    __m512i e = fd_g4_512(_mm512_srl_epi32(*B, shl), lut);
    __m512i len = _mm512_srli_epi32(e, 8);
    __mmask16 k;
    __m512i w;
    *minlen = _mm512_min_epu32(*minlen, len);
    *B = _mm512_sllv_epi32(*B, len);
    *n = _mm512_sub_epi32(*n, len);
    k = _mm512_cmplt_epu32_mask(*n, c16);
    w = _mm512_maskz_expand_epi32(
        k, _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)*pw)));
    *pw += 2u * (unsigned)_mm_popcnt_u32(k);
    *B = _mm512_or_si512(*B, _mm512_sllv_epi32(w, _mm512_sub_epi32(c16, *n)));
    *n = _mm512_mask_add_epi32(*n, k, *n, c16);
    _mm_storeu_si128((__m128i *)(void *)out, _mm512_cvtepi32_epi8(e));
}

static FD_AI FD_T512 void p512_run(const ecqf_fast_prefix *f, const int K, const int NV,
                                   fd_tile *const *tl) {
    __m512i B[FD_MAX_GROUP][4], n[FD_MAX_GROUP][4], minlen = _mm512_set1_epi32(255);
    const uint8_t *pw[FD_MAX_GROUP];
    uint8_t *out[FD_MAX_GROUP];
    const unsigned W = 16u * (unsigned)NV;
    const __m128i shl = _mm_cvtsi32_si128((int)(32 - f->max_length));
    const __m512i c16 = _mm512_set1_epi32(16);
    int i, v;
    uint32_t steps = 0;
    FD_UNROLL
    for (i = 0; i < K; i++) {
        FD_UNROLL
        for (v = 0; v < NV; v++) {
            B[i][v] = _mm512_loadu_si512(tl[i]->x + 16 * v);
            n[i][v] = _mm512_loadu_si512(tl[i]->n + 16 * v);
        }
        pw[i] = tl[i]->words + 2 * tl[i]->taken;
        out[i] = tl[i]->out + tl[i]->k;
    }
    for (;;) {
        /* steps every tile can run unchecked: each step takes at most W words */
        uint32_t run = UINT32_MAX, r;
        FD_UNROLL
        for (i = 0; i < K; i++) {
            const fd_tile *t = tl[i];
            size_t left = t->avail - (size_t)(pw[i] - t->words) / 2;
            uint32_t a = t->simd_end - (t->step + steps), b = left / W > UINT32_MAX ? UINT32_MAX : (uint32_t)(left / W);
            if (t->step + steps >= t->simd_end) a = 0;
            if (a < run) run = a;
            if (b < run) run = b;
        }
        if (run == 0) break;
        for (r = 0; r < run; r++) {
        FD_UNROLL
        for (i = 0; i < K; i++) {
            FD_UNROLL
            for (v = 0; v < NV; v++)
                p512_step(&B[i][v], &n[i][v], &pw[i], out[i] + 16 * v, f->lut, shl, &minlen, c16);
            out[i] += W;
        }
        }
        steps += run;
    }
    {
        unsigned ml = (unsigned)_mm512_reduce_min_epu32(minlen);
        FD_UNROLL
        for (i = 0; i < K; i++) {
            fd_tile *t = tl[i];
            FD_UNROLL
            for (v = 0; v < NV; v++) {
                _mm512_storeu_si512(t->x + 16 * v, B[i][v]);
                _mm512_storeu_si512(t->n + 16 * v, n[i][v]);
            }
            t->taken = (size_t)(pw[i] - t->words) / 2;
            t->k = (uint64_t)(out[i] - t->out);
            t->step += steps;
            if (ml < t->minlen) t->minlen = ml;
        }
    }
}

#define P512_INST(name, K, NV) \
    static FD_T512 void name(const ecqf_fast_prefix *f, fd_tile *const *tl) { p512_run(f, K, NV, tl); }
P512_INST(p512_1_16, 1, 1)
P512_INST(p512_1_32, 1, 2)
P512_INST(p512_1_64, 1, 4)
P512_INST(p512_g_16, 4, 1)
P512_INST(p512_g_32, 4, 2)
P512_INST(p512_g_64, 2, 4)

typedef void (*p512_fn)(const ecqf_fast_prefix *f, fd_tile *const *tl);

static p512_fn p512_pick(unsigned W, int group, int *used) {
    static const p512_fn p1[3] = {p512_1_16, p512_1_32, p512_1_64}, pg[3] = {p512_g_16, p512_g_32, p512_g_64};
    const int wi = W == 16 ? 0 : W == 32 ? 1 : 2, full = group >= group_of(W);
    *used = full ? group_of(W) : 1;
    return full ? pg[wi] : p1[wi];
}

/* ---- AVX2 ------------------------------------------------------------------------------------ */

/* Expand the next words into the lanes of mask m (8 lanes); returns the new pointer. */
static FD_AI FD_T256 __m256i a2_words(const uint8_t **pw, unsigned m, const uint8_t (*e8)[8]) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)*pw));
    __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)e8[m]));
    *pw += 2u * (unsigned)_mm_popcnt_u32(m);
    return _mm256_permutevar8x32_epi32(w, idx);
}

static FD_AI FD_T256 void a2_store8(uint8_t *out, __m256i s) {
    const __m256i sh = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    __m256i b = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(s, sh), _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
    _mm_storel_epi64((__m128i *)(void *)out, _mm256_castsi256_si128(b));
}

static FD_AI FD_T256 __m256i a2_rans_renorm(__m256i x, const uint8_t **pw, const uint8_t (*e8)[8]) {
    __m256i need = _mm256_cmpeq_epi32(_mm256_srli_epi32(x, 16), _mm256_setzero_si256());
    unsigned m = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(need));
    __m256i w = a2_words(pw, m, e8);
    return _mm256_blendv_epi8(x, _mm256_or_si256(_mm256_slli_epi32(x, 16), w), need);
}

static FD_AI FD_T256 void a2_rans_run(const ecqf_fast_rans *f, const int K, const int NV,
                                      fd_tile *const *tl) {
    __m256i x[FD_MAX_GROUP][8];
    const uint8_t *pw[FD_MAX_GROUP];
    uint8_t *out[FD_MAX_GROUP];
    const unsigned W = 8u * (unsigned)NV;
    const __m128i shp = _mm_cvtsi32_si128((int)f->precision);
    const __m256i maskM = _mm256_set1_epi32((int)((1u << f->precision) - 1));
    const __m256i m12 = _mm256_set1_epi32(0xFFF), m8 = _mm256_set1_epi32(0xFF);
    const __m256i m16 = _mm256_set1_epi32(0xFFFF);
    int i, v;
    uint32_t steps = 0;
    FD_UNROLL
    for (i = 0; i < K; i++) {
        FD_UNROLL
        for (v = 0; v < NV; v++) x[i][v] = _mm256_loadu_si256((const __m256i *)(const void *)(tl[i]->x + 8 * v));
        pw[i] = tl[i]->words + 2 * tl[i]->taken;
        out[i] = tl[i]->out + tl[i]->k;
    }
    for (;;) {
        /* steps every tile can run unchecked: each step takes at most W words */
        uint32_t run = UINT32_MAX, r;
        FD_UNROLL
        for (i = 0; i < K; i++) {
            const fd_tile *t = tl[i];
            size_t left = t->avail - (size_t)(pw[i] - t->words) / 2;
            uint32_t a = t->simd_end - (t->step + steps), b = left / W > UINT32_MAX ? UINT32_MAX : (uint32_t)(left / W);
            if (t->step + steps >= t->simd_end) a = 0;
            if (a < run) run = a;
            if (b < run) run = b;
        }
        if (run == 0) break;
        for (r = 0; r < run; r++) {
        FD_UNROLL
        for (i = 0; i < K; i++) {
            FD_UNROLL
            for (v = 0; v < NV; v++) {
                __m256i xv = x[i][v], vs = _mm256_and_si256(xv, maskM), s;
                if (f->packed) {
                    __m256i e = fd_g4_256(vs, f->packed);
                    xv = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_srli_epi32(e, 20), _mm256_srl_epi32(xv, shp)),
                                          _mm256_and_si256(_mm256_srli_epi32(e, 8), m12));
                    s = _mm256_and_si256(e, m8);
                } else {
                    __m256i e;
                    s = _mm256_and_si256(fd_g1_256(vs, f->sym), m8);
                    e = fd_g4_256(s, f->fc);
                    xv = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_srli_epi32(e, 16), _mm256_srl_epi32(xv, shp)),
                                          _mm256_sub_epi32(vs, _mm256_and_si256(e, m16)));
                }
                a2_store8(out[i] + 8 * v, s);
                x[i][v] = a2_rans_renorm(xv, &pw[i], f->expand8);
            }
            out[i] += W;
        }
        }
        steps += run;
    }
    FD_UNROLL
    for (i = 0; i < K; i++) {
        fd_tile *t = tl[i];
        FD_UNROLL
        for (v = 0; v < NV; v++) _mm256_storeu_si256((__m256i *)(void *)(t->x + 8 * v), x[i][v]);
        t->taken = (size_t)(pw[i] - t->words) / 2;
        t->k = (uint64_t)(out[i] - t->out);
        t->step += steps;
    }
}

static FD_AI FD_T256 void a2_prefix_run(const ecqf_fast_prefix *f, const int K, const int NV,
                                        fd_tile *const *tl) {
    __m256i B[FD_MAX_GROUP][8], n[FD_MAX_GROUP][8], minlen = _mm256_set1_epi32(255);
    const uint8_t *pw[FD_MAX_GROUP];
    uint8_t *out[FD_MAX_GROUP];
    const unsigned W = 8u * (unsigned)NV;
    const __m128i shl = _mm_cvtsi32_si128((int)(32 - f->max_length));
    const __m256i c16 = _mm256_set1_epi32(16);
    int i, v;
    uint32_t steps = 0;
    FD_UNROLL
    for (i = 0; i < K; i++) {
        FD_UNROLL
        for (v = 0; v < NV; v++) {
            B[i][v] = _mm256_loadu_si256((const __m256i *)(const void *)(tl[i]->x + 8 * v));
            n[i][v] = _mm256_loadu_si256((const __m256i *)(const void *)(tl[i]->n + 8 * v));
        }
        pw[i] = tl[i]->words + 2 * tl[i]->taken;
        out[i] = tl[i]->out + tl[i]->k;
    }
    for (;;) {
        /* steps every tile can run unchecked: each step takes at most W words */
        uint32_t run = UINT32_MAX, r;
        FD_UNROLL
        for (i = 0; i < K; i++) {
            const fd_tile *t = tl[i];
            size_t left = t->avail - (size_t)(pw[i] - t->words) / 2;
            uint32_t a = t->simd_end - (t->step + steps), b = left / W > UINT32_MAX ? UINT32_MAX : (uint32_t)(left / W);
            if (t->step + steps >= t->simd_end) a = 0;
            if (a < run) run = a;
            if (b < run) run = b;
        }
        if (run == 0) break;
        for (r = 0; r < run; r++) {
        FD_UNROLL
        for (i = 0; i < K; i++) {
            FD_UNROLL
            for (v = 0; v < NV; v++) {
                __m256i e = fd_g4_256(_mm256_srl_epi32(B[i][v], shl), f->lut);
                __m256i len = _mm256_srli_epi32(e, 8), need, w;
                unsigned m;
                minlen = _mm256_min_epu32(minlen, len);
                B[i][v] = _mm256_sllv_epi32(B[i][v], len);
                n[i][v] = _mm256_sub_epi32(n[i][v], len);
                need = _mm256_cmpgt_epi32(c16, n[i][v]);
                m = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(need));
                w = _mm256_and_si256(a2_words(&pw[i], m, f->expand8), need);
                B[i][v] = _mm256_or_si256(B[i][v], _mm256_sllv_epi32(w, _mm256_sub_epi32(c16, n[i][v])));
                n[i][v] = _mm256_add_epi32(n[i][v], _mm256_and_si256(need, c16));
                a2_store8(out[i] + 8 * v, e);
            }
            out[i] += W;
        }
        }
        steps += run;
    }
    {
        __m128i mm = _mm_min_epu32(_mm256_castsi256_si128(minlen), _mm256_extracti128_si256(minlen, 1));
        unsigned ml;
        mm = _mm_min_epu32(mm, _mm_shuffle_epi32(mm, 0x4E));
        mm = _mm_min_epu32(mm, _mm_shuffle_epi32(mm, 0xB1));
        ml = (unsigned)_mm_cvtsi128_si32(mm);
        FD_UNROLL
        for (i = 0; i < K; i++) {
            fd_tile *t = tl[i];
            FD_UNROLL
            for (v = 0; v < NV; v++) {
                _mm256_storeu_si256((__m256i *)(void *)(t->x + 8 * v), B[i][v]);
                _mm256_storeu_si256((__m256i *)(void *)(t->n + 8 * v), n[i][v]);
            }
            t->taken = (size_t)(pw[i] - t->words) / 2;
            t->k = (uint64_t)(out[i] - t->out);
            t->step += steps;
            if (ml < t->minlen) t->minlen = ml;
        }
    }
}

#define A2R_INST(name, K, NV) \
    static FD_T256 void name(const ecqf_fast_rans *f, fd_tile *const *tl) { a2_rans_run(f, K, NV, tl); }
#define A2P_INST(name, K, NV) \
    static FD_T256 void name(const ecqf_fast_prefix *f, fd_tile *const *tl) { a2_prefix_run(f, K, NV, tl); }
A2R_INST(a2r_1_8, 1, 1)
A2R_INST(a2r_1_16, 1, 2)
A2R_INST(a2r_1_32, 1, 4)
A2R_INST(a2r_1_64, 1, 8)
A2R_INST(a2r_2_32, 2, 4)
A2P_INST(a2p_1_8, 1, 1)
A2P_INST(a2p_1_16, 1, 2)
A2P_INST(a2p_1_32, 1, 4)
A2P_INST(a2p_1_64, 1, 8)
A2P_INST(a2p_2_32, 2, 4)

static r512_fn a2r_pick(unsigned W, int group, int *used) {
    *used = 1;
    switch (W) {
    case 8: return a2r_1_8;
    case 16: return a2r_1_16;
    case 32:
        if (group >= 2) {
            *used = 2;
            return a2r_2_32;
        }
        return a2r_1_32;
    default: return a2r_1_64;
    }
}

static p512_fn a2p_pick(unsigned W, int group, int *used) {
    *used = 1;
    switch (W) {
    case 8: return a2p_1_8;
    case 16: return a2p_1_16;
    case 32:
        if (group >= 2) {
            *used = 2;
            return a2p_2_32;
        }
        return a2p_1_32;
    default: return a2p_1_64;
    }
}

#endif /* FD_X86 */

/* ---- drivers -------------------------------------------------------------------------------- */

/* Vector width in lanes of the SIMD path for isa, or 0 when W cannot use it. */
static unsigned simd_width(int isa, unsigned W) {
#if FD_X86
    if (isa == ECQF_ISA_AVX512 && (W == 16 || W == 32 || W == 64)) return 16;
    if (isa == ECQF_ISA_AVX2 && (W == 8 || W == 16 || W == 32 || W == 64)) return 8;
#else
    (void)isa;
    (void)W;
#endif
    return 0;
}

/* Run the SIMD phase over a group of tiles: interleaved while all of them can, then each
 * tile alone to the end of its SIMD range. */
#if FD_X86
static void rans_simd(const ecqf_fast_rans *f, int isa, unsigned W, fd_tile **tl, size_t n) {
    size_t i = 0;
    while (i < n) {
        int used = 1;
        size_t j;
        r512_fn fn = isa == ECQF_ISA_AVX512 ? r512_pick(f, W, (int)(n - i), &used) : a2r_pick(W, (int)(n - i), &used);
        fn(f, tl + i);
        if (used > 1) /* finish each tile of the group alone */
            for (j = 0; j < (size_t)used; j++) {
                int one;
                r512_fn f1 = isa == ECQF_ISA_AVX512 ? r512_pick(f, W, 1, &one) : a2r_pick(W, 1, &one);
                f1(f, tl + i + j);
            }
        i += (size_t)used;
    }
}

static void prefix_simd(const ecqf_fast_prefix *f, int isa, unsigned W, fd_tile **tl, size_t n) {
    size_t i = 0;
    while (i < n) {
        int used = 1;
        size_t j;
        p512_fn fn = isa == ECQF_ISA_AVX512 ? p512_pick(W, (int)(n - i), &used) : a2p_pick(W, (int)(n - i), &used);
        fn(f, tl + i);
        if (used > 1)
            for (j = 0; j < (size_t)used; j++) {
                int one;
                p512_fn f1 = isa == ECQF_ISA_AVX512 ? p512_pick(W, 1, &one) : a2p_pick(W, 1, &one);
                f1(f, tl + i + j);
            }
        i += (size_t)used;
    }
}
#endif

int ecqf_fast_rans_decode_tiles(const ecqf_fast_rans *f, int isa, unsigned lanes, size_t n,
                                const ecqf_tile_geom *g, const uint8_t *const *in,
                                const size_t *in_size, uint8_t *const *symbols, size_t *failed) {
    fd_tile tiles[FD_MAX_GROUP], *ready[FD_MAX_GROUP];
    size_t base, i;
    unsigned vw, l;
    if (!f || (n && (!g || !in || !in_size || !symbols))) return ECQF_ERR_INVALID_ARGUMENT;
    isa = ecqf_fast_isa_resolve(isa);
    vw = simd_width(isa, lanes);
    for (base = 0; base < n; base += FD_MAX_GROUP) {
        size_t cnt = n - base < FD_MAX_GROUP ? n - base : FD_MAX_GROUP, nready = 0;
        int bad[FD_MAX_GROUP] = {0};
        for (i = 0; i < cnt; i++) {
            fd_tile *t = &tiles[i];
            const ecqf_tile_geom *gi = &g[base + i];
            size_t head = 4u * (size_t)lanes, sz = in_size[base + i];
            if (!geom_fast_ok(gi, lanes) || sz < head || (sz - head) % 4 != 0) {
                bad[i] = 1;
                continue;
            }
            memset(t->x, 0, sizeof t->x);
            t->g = gi;
            t->words = in[base + i] + head;
            t->avail = (sz - head) / 2;
            t->out = symbols[base + i];
            t->taken = 0;
            t->step = 0;
            t->k = 0;
            t->minlen = 255;
            for (l = 0; l < lanes; l++) {
                t->x[l] = ecqf_rd32(in[base + i] + 4 * l);
                if (t->x[l] < ECQF_RANS_L) bad[i] = 1;
            }
            t->simd_end = vw ? gi->lane_len[lanes - 1] : 0;
            if (!bad[i] && vw && t->simd_end > 0) ready[nready++] = t;
        }
#if FD_X86
        if (nready) rans_simd(f, isa, lanes, ready, nready);
#else
        (void)ready;
        (void)nready;
#endif
        for (i = 0; i < cnt; i++) {
            if (!bad[i] && rans_scalar(f, lanes, &tiles[i]) == 0) continue;
            {
                int rc = ecqf_rans_decode_tile(&f->ref, lanes, &g[base + i], in[base + i], in_size[base + i],
                                               symbols[base + i]);
                if (rc != ECQF_OK) {
                    if (failed) *failed = base + i;
                    return rc;
                }
            }
        }
    }
    return ECQF_OK;
}

int ecqf_fast_rans_decode_tile(const ecqf_fast_rans *f, int isa, unsigned lanes,
                               const ecqf_tile_geom *g, const uint8_t *in, size_t in_size,
                               uint8_t *symbols) {
    return ecqf_fast_rans_decode_tiles(f, isa, lanes, 1, g, &in, &in_size, &symbols, NULL);
}

int ecqf_fast_prefix_decode_tiles(const ecqf_fast_prefix *f, int isa, unsigned lanes, size_t n,
                                  const ecqf_tile_geom *g, const uint8_t *const *in,
                                  const size_t *in_size, uint8_t *const *symbols, size_t *failed) {
    fd_tile tiles[FD_MAX_GROUP], *ready[FD_MAX_GROUP];
    size_t base, i;
    unsigned vw, l;
    if (!f || (n && (!g || !in || !in_size || !symbols))) return ECQF_ERR_INVALID_ARGUMENT;
    isa = ecqf_fast_isa_resolve(isa);
    vw = simd_width(isa, lanes);
    for (base = 0; base < n; base += FD_MAX_GROUP) {
        size_t cnt = n - base < FD_MAX_GROUP ? n - base : FD_MAX_GROUP, nready = 0;
        int bad[FD_MAX_GROUP] = {0};
        for (i = 0; i < cnt; i++) {
            fd_tile *t = &tiles[i];
            const ecqf_tile_geom *gi = &g[base + i];
            size_t sz = in_size[base + i];
            if (!geom_fast_ok(gi, lanes) || sz % 4 != 0) {
                bad[i] = 1;
                continue;
            }
            t->g = gi;
            t->words = in[base + i];
            t->avail = sz / 2;
            t->out = symbols[base + i];
            t->taken = 0;
            t->step = 0;
            t->k = 0;
            t->minlen = 255;
            memset(t->x, 0, sizeof t->x);
            memset(t->n, 0, sizeof t->n);
            for (l = 0; l < lanes; l++) { /* initial fill, in lane order */
                if (gi->lane_len[l] == 0) continue;
                if (t->taken == t->avail) {
                    bad[i] = 1;
                    break;
                }
                t->x[l] = (uint32_t)ecqf_rd16(t->words + 2 * t->taken++) << 16;
                t->n[l] = 16;
            }
            /* SIMD steps need every lane to decode and, afterwards, to be allowed a word */
            t->simd_end = vw && gi->lane_len[lanes - 1] > 0 ? gi->lane_len[lanes - 1] - 1 : 0;
            if (!bad[i] && vw && t->simd_end > 0) ready[nready++] = t;
        }
#if FD_X86
        if (nready) prefix_simd(f, isa, lanes, ready, nready);
#else
        (void)ready;
        (void)nready;
#endif
        for (i = 0; i < cnt; i++) {
            if (!bad[i] && tiles[i].minlen > 0 && prefix_scalar(f, lanes, &tiles[i]) == 0) continue;
            {
                int rc = ecqf_prefix_decode_tile(&f->ref, lanes, &g[base + i], in[base + i], in_size[base + i],
                                                 symbols[base + i]);
                if (rc != ECQF_OK) {
                    if (failed) *failed = base + i;
                    return rc;
                }
            }
        }
    }
    return ECQF_OK;
}

int ecqf_fast_prefix_decode_tile(const ecqf_fast_prefix *f, int isa, unsigned lanes,
                                 const ecqf_tile_geom *g, const uint8_t *in, size_t in_size,
                                 uint8_t *symbols) {
    return ecqf_fast_prefix_decode_tiles(f, isa, lanes, 1, g, &in, &in_size, &symbols, NULL);
}
