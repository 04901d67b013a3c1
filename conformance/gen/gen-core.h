/*
 * gen-core.h — infrastructure of the conformance vector generator (ecqf-conformance-gen.c):
 * byte buffers, little-endian access, a fixed-seed PRNG, exact half-float conversions, and the
 * "exploded file" model used to craft invalid vectors.
 *
 * Everything here is written from spec/ecqf.md, not from libecqf's sources: the generator uses
 * libecqf only through its public API (the writer builds every valid vector) and computes the
 * expected hashes and every crafted byte itself.
 *
 * This header is included by exactly one translation unit; every function is static.
 */
#ifndef ECQF_GEN_CORE_H
#define ECQF_GEN_CORE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecqf.h"

/* ---- errors ------------------------------------------------------------------------- */

static const char *gen_current = "(setup)"; /* id of the vector being generated */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "ecqf-conformance-gen: %s: ", gen_current);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory (%zu bytes)", n);
    return p;
}
static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die("out of memory");
    return p;
}
static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}
static char *xsprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xsprintf(const char *fmt, ...) {
    va_list ap;
    char *p;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) die("vsnprintf failed");
    p = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* ---- little-endian access ------------------------------------------------------------ */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* ---- growable byte buffer -------------------------------------------------------------- */

typedef struct bytes {
    uint8_t *p;
    size_t n, cap;
} bytes;

static void b_reserve(bytes *b, size_t extra) {
    if (b->n + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra) cap *= 2;
    uint8_t *q = realloc(b->p, cap);
    if (!q) die("out of memory");
    b->p = q;
    b->cap = cap;
}
static void b_put(bytes *b, const void *d, size_t n) {
    if (!n) return;
    b_reserve(b, n);
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void b_zeros(bytes *b, size_t n) {
    if (!n) return;
    b_reserve(b, n);
    memset(b->p + b->n, 0, n);
    b->n += n;
}
static void b_put16(bytes *b, uint16_t v) { uint8_t t[2]; wr16(t, v); b_put(b, t, 2); }
static void b_put32(bytes *b, uint32_t v) { uint8_t t[4]; wr32(t, v); b_put(b, t, 4); }
static void b_put64(bytes *b, uint64_t v) { uint8_t t[8]; wr64(t, v); b_put(b, t, 8); }
static void b_free(bytes *b) { free(b->p); memset(b, 0, sizeof *b); }
static void b_set(bytes *b, const void *d, size_t n) { b->n = 0; b_put(b, d, n); }
static void b_copy(bytes *dst, const bytes *src) { memset(dst, 0, sizeof *dst); b_put(dst, src->p, src->n); }
/* Replace b[off, off+del) by ins[0, n). */
static void b_splice(bytes *b, size_t off, size_t del, const void *ins, size_t n) {
    if (off + del > b->n) die("splice out of range");
    if (n > del) b_reserve(b, n - del);
    memmove(b->p + off + n, b->p + off + del, b->n - off - del);
    if (n) memcpy(b->p + off, ins, n);
    b->n = b->n - del + n;
}

/* ---- BLAKE2b-256 (through libecqf's public helper, i.e. libsodium) ----------------------- */

static void blake2b(const void *d, size_t n, uint8_t out[32]) {
    if (ecqf_blake2b_256(n ? d : (const void *)"", n, out) != ECQF_OK) die("BLAKE2b unavailable");
}
static void blake2b_2(const void *a, size_t na, const void *b, size_t nb, uint8_t out[32]) {
    uint8_t *t = xmalloc(na + nb);
    if (na) memcpy(t, a, na);
    if (nb) memcpy(t + na, b, nb);
    blake2b(t, na + nb, out);
    free(t);
}
static void hex32(const uint8_t h[32], char out[65]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[64] = 0;
}

/* ---- fixed-seed PRNG (splitmix64) ------------------------------------------------------ */

typedef struct rng {
    uint64_t s;
} rng;
static uint64_t rnext(rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint32_t rbelow(rng *r, uint32_t n) { return (uint32_t)(rnext(r) % n); }
/* Seeds come from names (FNV-1a), so adding a vector never changes another one. */
static uint64_t seed_of(const char *s, uint64_t salt) {
    uint64_t h = 1469598103934665603ull ^ salt;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}
/* Two-sided geometric integer: 0 with probability ~p, +-1, +-2 ... decaying by q/256. */
static int32_t rgeom(rng *r, unsigned q256) {
    int32_t k = 0;
    while (rbelow(r, 256) < q256 && k < 100000) k++;
    return (rnext(r) & 1) ? k : -k;
}

/* ---- exact conversions to f32 bit patterns (spec section 1, [S-2]) ------------------------ */

static uint32_t f16_bits_to_f32_bits(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    if (e == 0x1F) return sign | 0x7F800000u | (m << 13); /* inf, NaN: payload kept */
    if (e == 0) {
        if (m == 0) return sign;
        int exp = -14; /* subnormal: normalize */
        while (!(m & 0x400u)) { m <<= 1; exp--; }
        return sign | ((uint32_t)(exp + 127) << 23) | ((m & 0x3FFu) << 13);
    }
    return sign | ((e + 112u) << 23) | (m << 13);
}
static uint32_t bf16_bits_to_f32_bits(uint16_t h) { return (uint32_t)h << 16; }
static float bits_to_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f32_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Element i of an array stored in dtype, as f32 bits. */
static uint32_t elem_f32_bits(const uint8_t *p, int dtype, uint64_t i) {
    switch (dtype) {
    case ECQF_DTYPE_F16: return f16_bits_to_f32_bits(rd16(p + 2 * i));
    case ECQF_DTYPE_BF16: return bf16_bits_to_f32_bits(rd16(p + 2 * i));
    default: return rd32(p + 4 * i);
    }
}
static size_t dtype_size(int dtype) { return dtype == ECQF_DTYPE_F32 ? 4 : 2; }

/* A random finite value with binary exponent in [emin, emax], stored in dtype. */
static uint32_t rand_value_bits(rng *r, int dtype, int emin, int emax, int allow_negative) {
    int e = emin + (int)rbelow(r, (uint32_t)(emax - emin + 1));
    uint32_t s = allow_negative ? (uint32_t)(rnext(r) & 1) : 0;
    switch (dtype) {
    case ECQF_DTYPE_F16:
        if (e < -14) e = -14;
        if (e > 15) e = 15;
        return (s << 15) | ((uint32_t)(e + 15) << 10) | (rbelow(r, 1024));
    case ECQF_DTYPE_BF16:
        return (s << 15) | ((uint32_t)(e + 127) << 7) | (rbelow(r, 128));
    default:
        return (s << 31) | ((uint32_t)(e + 127) << 23) | (rbelow(r, 1u << 23));
    }
}
static void store_bits(uint8_t *p, int dtype, uint64_t i, uint32_t bits) {
    if (dtype == ECQF_DTYPE_F32) wr32(p + 4 * i, bits);
    else wr16(p + 2 * i, (uint16_t)bits);
}

#endif
