/*
 * internal.h — helpers shared by every part of libecqf: checked arithmetic, little-endian
 * access, allocation through the caller's allocator, and error reporting. Not installed.
 */
#ifndef ECQF_INTERNAL_H
#define ECQF_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ecqf.h"

#if defined(__GNUC__)
#define ECQF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ECQF_LIKELY(x) __builtin_expect(!!(x), 1)
#define ECQF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define ECQF_PRINTF(a, b)
#define ECQF_LIKELY(x) (x)
#define ECQF_UNLIKELY(x) (x)
#endif

/* ---- checked arithmetic: return 1 on overflow, 0 and the result otherwise ---- */
static inline int ecqf_add_overflow(uint64_t a, uint64_t b, uint64_t *r) {
    return __builtin_add_overflow(a, b, r);
}
static inline int ecqf_mul_overflow(uint64_t a, uint64_t b, uint64_t *r) {
    return __builtin_mul_overflow(a, b, r);
}
/* align_up for a power-of-two alignment; 1 on overflow. */
static inline int ecqf_align_up(uint64_t x, uint64_t align, uint64_t *r) {
    uint64_t t;
    if (ecqf_add_overflow(x, align - 1, &t)) return 1;
    *r = t & ~(align - 1);
    return 0;
}
static inline int ecqf_is_pow2(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* ---- little-endian access (unaligned-safe) ---- */
static inline uint16_t ecqf_rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t ecqf_rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t ecqf_rd64(const uint8_t *p) {
    return (uint64_t)ecqf_rd32(p) | ((uint64_t)ecqf_rd32(p + 4) << 32);
}
static inline void ecqf_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void ecqf_wr32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void ecqf_wr64(uint8_t *p, uint64_t v) { ecqf_wr32(p, (uint32_t)v); ecqf_wr32(p + 4, (uint32_t)(v >> 32)); }

/* ---- allocation through an optional caller allocator ---- */
void *ecqf_alloc(const ecqf_allocator *a, size_t size);
void *ecqf_calloc(const ecqf_allocator *a, size_t count, size_t size); /* NULL on overflow */
void ecqf_free(const ecqf_allocator *a, void *p);

/* ---- errors ---- */
/* Fill err (if not NULL) and return code. offset may be ECQF_NO_OFFSET. */
int ecqf_set_error(ecqf_error *err, int code, uint64_t offset, const char *fmt, ...) ECQF_PRINTF(4, 5);

/* BLAKE2b-256 of the concatenation a || b, without copying. */
int ecqf_blake2b_256_2(const void *a, size_t na, const void *b, size_t nb, uint8_t out[32]);

/* Incremental BLAKE2b-256 (opaque storage large enough for libsodium's state). */
typedef struct ecqf_hash_state { _Alignas(64) unsigned char opaque[512]; } ecqf_hash_state;
int ecqf_blake2b_init(ecqf_hash_state *st);
int ecqf_blake2b_update(ecqf_hash_state *st, const void *data, size_t size);
int ecqf_blake2b_final(ecqf_hash_state *st, uint8_t out[32]);

/* ---- misc ---- */
int ecqf_utf8_valid(const uint8_t *s, size_t n); /* 1 if well-formed and without NUL bytes */

#endif
