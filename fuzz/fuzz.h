/* fuzz.h — shared by the libFuzzer targets of fuzz/ and their replay main (replay.c).
 *
 * Every target defines LLVMFuzzerTestOneInput. Built with --enable-fuzzing, libFuzzer supplies
 * main(); otherwise replay.c does, running the target over every file of the given directories
 * (by default the target's seed corpus and saved crash reproducers). */
#ifndef ECQF_FUZZ_H
#define ECQF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed oracle: print and abort, so libFuzzer records the input as a crash. */
#define FUZZ_CHECK(cond, ...)                                                                     \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);             \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

/* Consume bytes from the front of the input; past the end, zeros. */
typedef struct fuzz_bytes {
    const uint8_t *p;
    size_t n;
} fuzz_bytes;

static inline uint8_t fuzz_u8(fuzz_bytes *b) {
    uint8_t v = 0;
    if (b->n) { v = b->p[0]; b->p++; b->n--; }
    return v;
}
static inline uint16_t fuzz_u16(fuzz_bytes *b) {
    uint16_t lo = fuzz_u8(b);
    return (uint16_t)(lo | (uint16_t)(fuzz_u8(b) << 8));
}
static inline uint32_t fuzz_u32(fuzz_bytes *b) {
    uint32_t lo = fuzz_u16(b);
    return lo | ((uint32_t)fuzz_u16(b) << 16);
}
/* Uniform-ish value in [lo, hi]. */
static inline unsigned fuzz_range(fuzz_bytes *b, unsigned lo, unsigned hi) {
    unsigned span = hi - lo + 1, v = span > 256 ? fuzz_u16(b) : fuzz_u8(b);
    return lo + v % span;
}

#endif
