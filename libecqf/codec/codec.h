/*
 * codec.h — internal interface of the entropy codecs and the tile/lane layout
 * (spec/ecqf.md sections 8.3 to 9). Not installed; used by format/ and kernels/.
 *
 * Vocabulary:
 *  - tile-local codes: the codes of one tile, row-major, (r1-r0) x (c1-c0) bytes.
 *  - symbol order: the order in which a decoder produces a tile's symbols: step by step,
 *    and within a step by increasing lane (spec 9.3).
 */
#ifndef ECQF_CODEC_H
#define ECQF_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "ecqf.h"

#define ECQF_RANS_L (1u << 16)  /* lower bound of the normalized state interval */

typedef struct ecqf_tiling {
    uint64_t rows, cols;          /* matrix view */
    unsigned lanes;               /* W: 1..64, power of two */
    unsigned pack;                /* 1 or 2 */
    unsigned stripe_rows;         /* S: 1..255 */
    uint32_t tile_rows, tile_cols;
} ecqf_tiling;

typedef struct ecqf_tile_geom {
    uint64_t r0, r1, c0, c1;          /* tile bounds, end-exclusive */
    uint64_t elements;                /* (r1-r0)*(c1-c0) */
    uint64_t symbols;                 /* sum of lane_len */
    uint32_t steps;                   /* Tmax = lane_len[0] */
    uint32_t lane_len[ECQF_MAX_LANES];/* n_l: symbols of lane l (nonincreasing in l) */
} ecqf_tile_geom;

/* Number of tiles; 0 if rows or cols is 0. Fails (returns UINT64_MAX) on overflow. */
uint64_t ecqf_tiling_count(const ecqf_tiling *t);
/* Geometry of tile `tile` (< count). */
void ecqf_tile_geometry(const ecqf_tiling *t, uint64_t tile, ecqf_tile_geom *g);
/* Tile-local codes -> symbols in symbol order (g->symbols bytes). For pack 2 the padding
 * high code is 0. */
void ecqf_tile_gather(const ecqf_tiling *t, const ecqf_tile_geom *g, const uint8_t *tile_codes,
                      uint8_t *symbols);
/* Symbols in symbol order -> tile-local codes. Returns ECQF_OK, or ECQF_ERR_CORRUPT_STREAM if
 * a padding high code is nonzero ([G-2]). Does not check codes against Q. */
int ecqf_tile_scatter(const ecqf_tiling *t, const ecqf_tile_geom *g, const uint8_t *symbols,
                      uint8_t *tile_codes);

/* ---- rANS (spec 8.4, 9.5) ----------------------------------------------------------- */

typedef struct ecqf_rans_table {
    unsigned precision, alphabet;
    uint16_t freq[256];
    uint32_t cum[257];
    uint8_t slot_symbol[1u << ECQF_MAX_PRECISION]; /* slot -> symbol */
} ecqf_rans_table;

/* Validate [R-1]/[R-2] and build the decode table. ECQF_ERR_BAD_TABLE on failure. */
int ecqf_rans_table_init(ecqf_rans_table *t, const uint16_t *freq, unsigned alphabet,
                         unsigned precision);
/* Normalize counts to frequencies summing to 2^precision; every symbol with a nonzero count
 * gets a frequency of at least 1, symbols with count 0 get 0. Minimizes the coded size
 * approximately. ECQF_ERR_INVALID_ARGUMENT if no count is nonzero or more symbols occur than
 * 2^precision. */
int ecqf_rans_normalize(const uint64_t *counts, unsigned alphabet, unsigned precision,
                        uint16_t *freq);
/* Exact coded payload estimate in bits: sum counts[s] * log2(2^precision / freq[s]). */
double ecqf_rans_cost_bits(const uint64_t *counts, const uint16_t *freq, unsigned alphabet,
                           unsigned precision);
/* Upper bound of an encoded tile's size in bytes. */
size_t ecqf_rans_tile_bound(const ecqf_tile_geom *g, unsigned lanes);
/* Encode one tile. symbols: g->symbols bytes in symbol order, each with freq > 0.
 * Writes states, word stream and padding ([R-4]); *written is a multiple of 4. */
int ecqf_rans_encode_tile(const ecqf_rans_table *t, unsigned lanes, const ecqf_tile_geom *g,
                          const uint8_t *symbols, uint8_t *out, size_t cap, size_t *written);
/* Reference decoder, literally as spec 9.5. ECQF_ERR_NONZERO_PADDING for a nonzero pad word
 * ([R-4]), ECQF_ERR_CORRUPT_STREAM for any other violation. */
int ecqf_rans_decode_tile(const ecqf_rans_table *t, unsigned lanes, const ecqf_tile_geom *g,
                          const uint8_t *in, size_t in_size, uint8_t *symbols);

/* ---- length-limited canonical prefix code (spec 8.5, 9.6) --------------------------- */

typedef struct ecqf_prefix_table {
    unsigned max_length, alphabet;
    uint8_t length[256];
    uint16_t code[256];                               /* canonical codes, MSB-first */
    /* decode lookup on the top max_length bits: symbol and its length (0 = invalid) */
    uint8_t lut_symbol[1u << ECQF_MAX_PREFIX_LENGTH];
    uint8_t lut_length[1u << ECQF_MAX_PREFIX_LENGTH];
} ecqf_prefix_table;

/* Validate [P-1]..[P-4] and build codes and the lookup table. ECQF_ERR_BAD_TABLE. */
int ecqf_prefix_table_init(ecqf_prefix_table *t, const uint8_t *lengths, unsigned alphabet,
                           unsigned max_length);
/* Optimal length-limited code lengths (package-merge) for the counts. Symbols with count 0
 * get length 0. A single used symbol gets length 1. */
int ecqf_prefix_build_lengths(const uint64_t *counts, unsigned alphabet, unsigned max_length,
                              uint8_t *lengths);
size_t ecqf_prefix_tile_bound(const ecqf_tile_geom *g, unsigned lanes, unsigned max_length);
int ecqf_prefix_encode_tile(const ecqf_prefix_table *t, unsigned lanes, const ecqf_tile_geom *g,
                            const uint8_t *symbols, uint8_t *out, size_t cap, size_t *written);
int ecqf_prefix_decode_tile(const ecqf_prefix_table *t, unsigned lanes, const ecqf_tile_geom *g,
                            const uint8_t *in, size_t in_size, uint8_t *symbols);

/* ---- raw bit packing (spec 8.1) ------------------------------------------------------- */

uint64_t ecqf_raw_packed_size(uint64_t count, unsigned width); /* UINT64_MAX on overflow */
void ecqf_raw_pack(const uint8_t *codes, uint64_t count, unsigned width, uint8_t *out);
/* Unpack codes [first, first+count) . Returns ECQF_ERR_CORRUPT_STREAM if a code >= q. */
int ecqf_raw_unpack(const uint8_t *in, uint64_t first, uint64_t count, unsigned width, unsigned q,
                    uint8_t *codes);

#endif
