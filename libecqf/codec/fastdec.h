/*
 * fastdec.h — fast tile decoders (SIMD where the CPU has it) for the RANS and PREFIX tiles of
 * spec 9.5 and 9.6. Internal to libecqf and the kernels; not installed.
 *
 * Contract: for every input, ecqf_fast_*_decode_tiles gives the same outcome as the reference
 * decoders of rans.c and prefix.c: on success the same symbols in symbol order; on failure the
 * same status code. The fast paths detect any violation and then rerun the reference decoder on
 * that tile to obtain its exact status. No path reads outside [in, in + in_size).
 *
 * Paths: a scalar decoder; AVX2 (8 lanes per vector; gathers for the tables, a shuffle table for
 * the expand of the shared word stream); AVX-512 (16 lanes per vector; for rANS alphabets of at
 * most 16 symbols the slot search and the frequency lookups stay in registers as a 4-level binary
 * search on 16-bit lanes (vpermw), otherwise gathers; the shared word stream is a vpexpandd of the
 * next words into the lanes that renormalize, counted with popcount). Several tiles are decoded
 * at once, interleaved, to hide the latency of each step's dependency chain. SIMD paths need
 * a lane count that is a multiple of the vector width (AVX2: 8, AVX-512: 16); other lane counts
 * and the last steps of a tile use the scalar decoder.
 */
#ifndef ECQF_FASTDEC_H
#define ECQF_FASTDEC_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

enum ecqf_fast_isa {
    ECQF_ISA_AUTO = 0,   /* the best one this CPU and build support */
    ECQF_ISA_SCALAR = 1,
    ECQF_ISA_AVX2 = 2,
    ECQF_ISA_AVX512 = 3
};

/* Best ISA of this CPU (never AUTO). */
int ecqf_fast_isa_best(void);
/* 1 if this build and CPU can run `isa` (AUTO and SCALAR always can). */
int ecqf_fast_isa_supported(int isa);
/* AUTO -> best; an unsupported ISA -> the best supported one below it. */
int ecqf_fast_isa_resolve(int isa);
const char *ecqf_fast_isa_name(int isa); /* "auto", "scalar", "avx2", "avx512" */

/* ---- rANS ------------------------------------------------------------------------------ */

typedef struct ecqf_fast_rans ecqf_fast_rans;

/* Build the fast decode tables from a validated reference table (copied). */
int ecqf_fast_rans_create(const ecqf_rans_table *t, const ecqf_allocator *alloc,
                          ecqf_fast_rans **out);
void ecqf_fast_rans_free(ecqf_fast_rans *f); /* NULL is fine */
const ecqf_rans_table *ecqf_fast_rans_reference(const ecqf_fast_rans *f);

/* Decode n tiles that share the table and the lane count. Tile i: geometry g[i], bytes
 * in[i][0 .. in_size[i]), output symbols[i] (g[i].symbols bytes, symbol order).
 * Returns ECQF_OK, or the reference decoder's status for the first tile that fails (its index
 * in *failed when failed is not NULL); the outputs of the other tiles are then unspecified. */
int ecqf_fast_rans_decode_tiles(const ecqf_fast_rans *f, int isa, unsigned lanes, size_t n,
                                const ecqf_tile_geom *g, const uint8_t *const *in,
                                const size_t *in_size, uint8_t *const *symbols, size_t *failed);
int ecqf_fast_rans_decode_tile(const ecqf_fast_rans *f, int isa, unsigned lanes,
                               const ecqf_tile_geom *g, const uint8_t *in, size_t in_size,
                               uint8_t *symbols);

/* ---- prefix code ------------------------------------------------------------------------ */

typedef struct ecqf_fast_prefix ecqf_fast_prefix;

int ecqf_fast_prefix_create(const ecqf_prefix_table *t, const ecqf_allocator *alloc,
                            ecqf_fast_prefix **out);
void ecqf_fast_prefix_free(ecqf_fast_prefix *f);
const ecqf_prefix_table *ecqf_fast_prefix_reference(const ecqf_fast_prefix *f);

int ecqf_fast_prefix_decode_tiles(const ecqf_fast_prefix *f, int isa, unsigned lanes, size_t n,
                                  const ecqf_tile_geom *g, const uint8_t *const *in,
                                  const size_t *in_size, uint8_t *const *symbols, size_t *failed);
int ecqf_fast_prefix_decode_tile(const ecqf_fast_prefix *f, int isa, unsigned lanes,
                                 const ecqf_tile_geom *g, const uint8_t *in, size_t in_size,
                                 uint8_t *symbols);

#endif
