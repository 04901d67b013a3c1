/*
 * kern.h — internals of the CPU kernels: the plan, the job a GEMV or decode call hands to the
 * thread pool, and the per-ISA primitives of the SIMD backends.
 *
 * Work split: a call is cut into items, each a run of whole tile rows (tiled codings) or of
 * matrix rows (RAW, NONE); a thread owns the y rows of its items, so there are no races and the
 * result does not depend on the thread count.
 */
#ifndef ECQF_KERN_H
#define ECQF_KERN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ecqf_kernels.h"
#include "codec.h"
#include "fastdec.h"
#include "common/ecqf_kernel_body.h"

#define KERN_GROUP 4 /* tiles decoded together by the SIMD backends */

/* Growable per-thread scratch, 64-byte aligned. */
typedef struct kern_scratch {
    void *mem;
    size_t size;
} kern_scratch;
void *kern_scratch_get(kern_scratch *s, size_t size);
void kern_scratch_free(kern_scratch *s);

struct ecqf_kernel_plan {
    ecqf_tensor_info info;     /* pointers into the reader's mapping */
    ecqf_kb_tensor kb;         /* the tensor as the portable body sees it */
    ecqf_tiling tiling;
    ecqf_allocator alloc;
    int has_alloc;
    int backend;               /* resolved enum ecqf_kernel_backend */
    uint64_t T, TR, TC;        /* tiles, tile rows, tile columns (RAW/NONE: 1, 1, 1) */
    uint64_t max_tile;         /* elements of the largest tile */
    uint64_t groups;           /* groups per row (AFFINE, SYMMETRIC); ECSQ: 1 */
    unsigned group_size;       /* AFFINE, SYMMETRIC group; ECSQ: cols */
    unsigned Q;                /* code alphabet */
    float off;                 /* code offset: SYMMETRIC 2^(bits-1), ECSQ zero code, else 0 */
    int has_esc;               /* ECSQ with escapes */
    ecqf_rans_table *rt;
    ecqf_prefix_table *pt;
    ecqf_fast_rans *fr;
    ecqf_fast_prefix *fp;
    uint32_t *dtab;            /* portable body tables */
    uint8_t *dsym;
    uint32_t *raw_row_esc;     /* RAW with escapes: escapes in rows before each row [rows+1] */
    uint64_t bytes;
};

enum { KERN_MODE_GEMV = 0, KERN_MODE_DECODE = 1 };

typedef struct kern_job {
    const ecqf_kernel_plan *p;
    int mode;
    const float *x;
    float *y;
    uint8_t *codes;            /* KERN_MODE_DECODE: row-major codes, or NULL */
    const float *xsum;         /* sums of x over each group (SIMD backends, AFFINE) */
    const float *xperm;        /* RAW 4-bit: x reordered to the nibble order of each 32 bytes */
    uint64_t nitems, per_item; /* items of per_item tile rows (tiled) or matrix rows */
    atomic_ulong next;
    atomic_int status;
} kern_job;

/* One item; returns an ECQF status. */
typedef int (*kern_item_fn)(kern_job *j, uint64_t item, kern_scratch *s);

int kern_scalar_item(kern_job *j, uint64_t item, kern_scratch *s);
int kern_simd_item(kern_job *j, uint64_t item, kern_scratch *s);

/* ---- per-ISA primitives of the SIMD backends ---- */
typedef struct kern_isa_ops {
    int fd_isa;  /* fastdec ISA */
    /* sum over the groups met by columns [c0, c0+w) of s[g] * sum_c (u[c-c0] - off) * x[c-c0];
     * s is indexed by group number (c / gs); x points to x[c0]. The code offset is applied to
     * each code (exact in float), so a row of zero weights gives exactly zero. */
    float (*row_dot)(const uint8_t *u, const float *x, uint64_t c0, size_t w, unsigned gs, const float *s, float off);
    /* the same for a full row of RAW 4-bit codes (2 per byte, low nibble first), with xperm
     * the reordered x; cols is a multiple of 64 and of gs, gs a multiple of 32 or cols == gs */
    float (*raw4_row)(const uint8_t *packed, const float *xperm, size_t cols, unsigned gs, const float *s, float off);
    /* four rows at once (x loaded once per four rows, as MLX's qmv does), rows `stride` bytes
     * apart, scales s[k*G + g] of row k; NULL where the ISA has none */
    void (*raw4_rows4)(const uint8_t *packed, size_t stride, const float *xperm, size_t cols, unsigned gs,
                       const float *s, size_t G, float off, float *out);
    float (*dot_f32)(const float *w, const float *x, size_t n);
    /* n params of dtype -> float */
    void (*cvt)(const uint8_t *src, int dtype, size_t n, float *dst);
    /* an aligned tile straight from its symbols (symbol order, no scatter): width w = q*W
     * (W a multiple of the ISA's vector), every stripe of an even height for pack 2, every
     * column step inside one group. Adds to y[0..h) (y of the tile's first row); x points to
     * x[c0]; s[r*G + g] is the scale of tile row r and group g (absolute group number). */
    void (*tile_dot)(const uint8_t *sym, unsigned pack, unsigned W, unsigned S, uint32_t h, uint32_t q,
                     const float *x, uint64_t c0, unsigned gs, const float *s, size_t G, float *y, float off);
    unsigned vec; /* lanes of the ISA's vectors: W must be a multiple for tile_dot */
} kern_isa_ops;

extern const kern_isa_ops kern_ops_avx2;
extern const kern_isa_ops kern_ops_avx512;
extern const kern_isa_ops kern_ops_generic;

/* Status of a tile decode error as the body reports it. */
int kern_body_status(uint32_t bits);

#endif
