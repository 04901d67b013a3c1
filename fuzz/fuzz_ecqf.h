/* fuzz_ecqf.h — helpers for the targets that feed whole ECQF files to the reader. */
#ifndef ECQF_FUZZ_ECQF_H
#define ECQF_FUZZ_ECQF_H

#include "ecqf.h"
#include "fuzz.h"

/* Most mutations would otherwise stop at the header checksum ([H-12]): the targets open a copy
 * of the input whose header checksum is recomputed (when its header names a directory inside
 * the input), so that the fuzzer reaches the directory parser. They also open the unmodified
 * bytes, so that the checksum check itself stays covered. */
static inline uint64_t fuzz_rd64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Returns a malloc'ed copy of data whose header checksum is recomputed if possible. */
static inline uint8_t *fuzz_fix_checksum(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) abort();
    if (size) memcpy(copy, data, size);
    if (size >= ECQF_HEADER_SIZE) {
        uint64_t dir_off = fuzz_rd64(copy + 40);
        if (dir_off <= size) {
            size_t dir_size = size - (size_t)dir_off;
            uint8_t *tmp = malloc(64 + dir_size);
            if (!tmp) abort();
            memcpy(tmp, copy, 64);
            memcpy(tmp + 64, copy + dir_off, dir_size);
            if (ecqf_blake2b_256(tmp, 64 + dir_size, copy + 64) != ECQF_OK) abort();
            free(tmp);
        }
    }
    return copy;
}

/* A counting allocator: live and peak bytes of everything the library allocates. */
typedef struct fuzz_counter {
    size_t live, peak, calls;
} fuzz_counter;

typedef union fuzz_block_head {
    size_t size;
    max_align_t align;
} fuzz_block_head;

static inline void *fuzz_count_alloc(void *opaque, size_t size) {
    fuzz_counter *c = opaque;
    fuzz_block_head *h;
    if (size > SIZE_MAX - sizeof *h) return NULL;
    h = malloc(sizeof *h + size);
    if (!h) return NULL;
    h->size = size;
    c->live += size;
    c->calls++;
    if (c->live > c->peak) c->peak = c->live;
    return h + 1;
}
static inline void fuzz_count_free(void *opaque, void *p) {
    fuzz_counter *c = opaque;
    fuzz_block_head *h;
    if (!p) return;
    h = (fuzz_block_head *)p - 1;
    c->live -= h->size;
    free(h);
}

#endif
