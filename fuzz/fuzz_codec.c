/* fuzz_codec.c — target (c): the rANS and prefix tile decoders of libecqf/codec fed raw
 * bytes, below the container (no checksums, no tile index).
 *
 * The first bytes choose the codec, the tile geometry (rows, columns, lanes, pack, stripe
 * rows, which tile of the grid) and the table: either frequencies / code lengths built from
 * counts in the input (always valid, so the stream is what gets fuzzed), or the raw table
 * bytes (so that table validation is fuzzed too). The rest of the input is the tile.
 *
 * Oracles: no crash or out-of-bounds read (the tile is copied to an exact-size buffer); a
 * tile that decodes re-encodes to exactly the same bytes (rANS and canonical prefix streams
 * are unique for their symbols); gather inverts scatter; the fast decoders of fastdec.h
 * (scalar, AVX2, AVX-512 where the CPU has them; 1 to 4 tiles at once) give the reference
 * decoder's status and symbols. */
#include "codec.h"
#include "fastdec.h"
#include "fuzz.h"

/* Every fast path against the reference outcome (ref_rc, ref_syms). */
static void differential(int prefix, const ecqf_rans_table *rt, const ecqf_prefix_table *pt, unsigned lanes,
                         const ecqf_tile_geom *g, const uint8_t *tile, size_t n, int ref_rc, const uint8_t *ref_syms,
                         unsigned copies) {
    ecqf_fast_rans *fr = NULL;
    ecqf_fast_prefix *fp = NULL;
    ecqf_tile_geom geoms[4];
    const uint8_t *ins[4];
    size_t sizes[4];
    uint8_t *outs[4];
    int rc = prefix ? ecqf_fast_prefix_create(pt, NULL, &fp) : ecqf_fast_rans_create(rt, NULL, &fr);
    FUZZ_CHECK(rc == ECQF_OK, "fast table: %d", rc);
    for (unsigned i = 0; i < copies; i++) {
        geoms[i] = *g;
        ins[i] = tile;
        sizes[i] = n;
        outs[i] = malloc((size_t)g->symbols + 1);
        if (!outs[i]) abort();
    }
    for (int isa = ECQF_ISA_SCALAR; isa <= ECQF_ISA_AVX512; isa++) {
        size_t failed = SIZE_MAX;
        if (!ecqf_fast_isa_supported(isa)) continue;
        for (unsigned i = 0; i < copies; i++) memset(outs[i], 0xAA, (size_t)g->symbols + 1);
        rc = prefix ? ecqf_fast_prefix_decode_tiles(fp, isa, lanes, copies, geoms, ins, sizes, outs, &failed)
                    : ecqf_fast_rans_decode_tiles(fr, isa, lanes, copies, geoms, ins, sizes, outs, &failed);
        FUZZ_CHECK(rc == ref_rc, "%s %s x%u: status %d, reference %d", ecqf_fast_isa_name(isa), prefix ? "prefix" : "rans",
                   copies, rc, ref_rc);
        if (rc == ECQF_OK)
            for (unsigned i = 0; i < copies; i++)
                FUZZ_CHECK(memcmp(outs[i], ref_syms, (size_t)g->symbols) == 0, "%s %s: tile %u symbols differ",
                           ecqf_fast_isa_name(isa), prefix ? "prefix" : "rans", i);
        else
            FUZZ_CHECK(failed == 0, "%s: failed tile %zu, expected 0", ecqf_fast_isa_name(isa), failed);
        /* the single-tile entry point too */
        memset(outs[0], 0xAA, (size_t)g->symbols + 1);
        rc = prefix ? ecqf_fast_prefix_decode_tile(fp, isa, lanes, g, tile, n, outs[0])
                    : ecqf_fast_rans_decode_tile(fr, isa, lanes, g, tile, n, outs[0]);
        FUZZ_CHECK(rc == ref_rc, "%s single tile: status %d, reference %d", ecqf_fast_isa_name(isa), rc, ref_rc);
        if (rc == ECQF_OK) FUZZ_CHECK(memcmp(outs[0], ref_syms, (size_t)g->symbols) == 0, "%s single tile: symbols differ", ecqf_fast_isa_name(isa));
    }
    for (unsigned i = 0; i < copies; i++) free(outs[i]);
    ecqf_fast_rans_free(fr);
    ecqf_fast_prefix_free(fp);
}

static void fail_status(int rc) {
    FUZZ_CHECK(rc == ECQF_ERR_CORRUPT_STREAM || rc == ECQF_ERR_NONZERO_PADDING, "decoder status %d", rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_bytes in = {data, size};
    unsigned mode = fuzz_u8(&in);
    int prefix = mode & 1, raw_table = (mode >> 1) & 1;
    ecqf_tiling tl;
    ecqf_tile_geom g;
    uint64_t ntiles, tile, counts[256];
    unsigned Q, A, param;
    uint8_t *syms = NULL, *tile_codes = NULL, *syms2 = NULL, *tilebuf = NULL, *reenc = NULL;
    static ecqf_rans_table rt;
    static ecqf_prefix_table pt;
    int rc;

    memset(&tl, 0, sizeof tl);
    tl.lanes = 1u << fuzz_range(&in, 0, 6);
    tl.pack = (mode >> 2) & 1 ? 2 : 1;
    tl.stripe_rows = fuzz_range(&in, 1, 255);
    tl.rows = fuzz_range(&in, 1, 64);
    tl.cols = fuzz_range(&in, 1, 512);
    tl.tile_rows = fuzz_range(&in, 1, 64);
    tl.tile_cols = fuzz_range(&in, 1, 512);
    ntiles = ecqf_tiling_count(&tl);
    FUZZ_CHECK(ntiles != UINT64_MAX && ntiles >= 1, "tile count %llu", (unsigned long long)ntiles);
    tile = fuzz_u16(&in) % ntiles;
    ecqf_tile_geometry(&tl, tile, &g);
    FUZZ_CHECK(g.elements >= 1 && g.elements <= (uint64_t)tl.tile_rows * tl.tile_cols, "tile elements");
    Q = tl.pack == 2 ? fuzz_range(&in, 1, 16) : fuzz_range(&in, 1, 256);
    A = tl.pack == 2 ? 256 : Q;
    param = prefix ? fuzz_range(&in, 1, ECQF_MAX_PREFIX_LENGTH) : fuzz_range(&in, ECQF_MIN_PRECISION, ECQF_MAX_PRECISION);

    if (prefix) {
        uint8_t lengths[256] = {0};
        if (raw_table) {
            for (unsigned s = 0; s < A; s++) lengths[s] = fuzz_u8(&in) % (ECQF_MAX_PREFIX_LENGTH + 2);
        } else {
            unsigned used = 0;
            for (unsigned s = 0; s < A; s++) {
                unsigned lo = s & 15, hi = s >> 4;
                counts[s] = (tl.pack == 2 && (lo >= Q || hi >= Q)) ? 0 : fuzz_u8(&in);
                if (used >= (1u << param)) counts[s] = 0;
                used += counts[s] != 0;
            }
            if (!used) counts[0] = 1;
            rc = ecqf_prefix_build_lengths(counts, A, param, lengths);
            FUZZ_CHECK(rc == ECQF_OK, "build_lengths failed: %d", rc);
        }
        rc = ecqf_prefix_table_init(&pt, lengths, A, param);
        if (raw_table && rc) {
            FUZZ_CHECK(rc == ECQF_ERR_BAD_TABLE, "table status %d", rc);
            return 0;
        }
        FUZZ_CHECK(rc == ECQF_OK, "built table rejected: %d", rc);
    } else {
        uint16_t freq[256] = {0};
        if (raw_table) {
            for (unsigned s = 0; s < A; s++) freq[s] = fuzz_u16(&in);
        } else {
            unsigned used = 0;
            for (unsigned s = 0; s < A; s++) {
                counts[s] = fuzz_u8(&in);
                if (used >= (1u << param)) counts[s] = 0;
                used += counts[s] != 0;
            }
            if (!used) counts[0] = 1;
            rc = ecqf_rans_normalize(counts, A, param, freq);
            FUZZ_CHECK(rc == ECQF_OK, "normalize failed: %d", rc);
            {
                uint32_t sum = 0;
                for (unsigned s = 0; s < A; s++) {
                    FUZZ_CHECK((freq[s] != 0) == (counts[s] != 0), "symbol %u: count %llu freq %u", s,
                               (unsigned long long)counts[s], freq[s]);
                    sum += freq[s];
                }
                FUZZ_CHECK(sum == (1u << param), "frequencies sum to %u", sum);
            }
        }
        rc = ecqf_rans_table_init(&rt, freq, A, param);
        if (raw_table && rc) {
            FUZZ_CHECK(rc == ECQF_ERR_BAD_TABLE, "table status %d", rc);
            return 0;
        }
        FUZZ_CHECK(rc == ECQF_OK, "normalized table rejected: %d", rc);
    }

    /* the rest is the tile, in a buffer of exactly its size */
    tilebuf = malloc(in.n ? in.n : 1);
    syms = malloc((size_t)g.symbols + 1);
    syms2 = malloc((size_t)g.symbols + 1);
    tile_codes = malloc((size_t)g.elements);
    if (!tilebuf || !syms || !syms2 || !tile_codes) abort();
    if (in.n) memcpy(tilebuf, in.p, in.n);
    rc = prefix ? ecqf_prefix_decode_tile(&pt, tl.lanes, &g, tilebuf, in.n, syms)
                : ecqf_rans_decode_tile(&rt, tl.lanes, &g, tilebuf, in.n, syms);
    differential(prefix, &rt, &pt, tl.lanes, &g, tilebuf, in.n, rc, syms, 1 + ((mode >> 3) & 3));
    if (rc) {
        fail_status(rc);
        goto out;
    }
    /* re-encoding gives back the same bytes */
    {
        size_t bound = prefix ? ecqf_prefix_tile_bound(&g, tl.lanes, param) : ecqf_rans_tile_bound(&g, tl.lanes), written = 0;
        FUZZ_CHECK(bound != SIZE_MAX, "tile bound");
        FUZZ_CHECK(in.n <= bound, "decoded a %zu-byte tile above the bound %zu", in.n, bound);
        reenc = malloc(bound ? bound : 1);
        if (!reenc) abort();
        rc = prefix ? ecqf_prefix_encode_tile(&pt, tl.lanes, &g, syms, reenc, bound, &written)
                    : ecqf_rans_encode_tile(&rt, tl.lanes, &g, syms, reenc, bound, &written);
        FUZZ_CHECK(rc == ECQF_OK, "re-encoding decoded symbols failed: %d", rc);
        FUZZ_CHECK(written == in.n && memcmp(reenc, tilebuf, written) == 0,
                   "re-encoded tile differs (%zu bytes vs %zu)", written, in.n);
    }
    /* symbols -> codes -> symbols */
    rc = ecqf_tile_scatter(&tl, &g, syms, tile_codes);
    if (rc == ECQF_OK) {
        ecqf_tile_gather(&tl, &g, tile_codes, syms2);
        FUZZ_CHECK(memcmp(syms, syms2, (size_t)g.symbols) == 0, "gather does not invert scatter");
    } else
        FUZZ_CHECK(rc == ECQF_ERR_CORRUPT_STREAM && tl.pack == 2, "scatter status %d", rc);
out:
    free(tilebuf);
    free(syms);
    free(syms2);
    free(tile_codes);
    free(reenc);
    return 0;
}
