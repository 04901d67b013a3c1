/* fuzz_decode.c — target (b): open a container from memory and decode every tensor: tile by
 * tile (ecqf_tensor_decode_tile), whole (codes, ints), dequantized to every output dtype, and
 * finally ecqf_reader_verify_all. Tensors of more than FUZZ_MAX_NUMEL elements are skipped to
 * keep executions fast (a tiny file can declare a large tensor whose stream is a few bytes).
 *
 * The header checksum and every blob checksum of the input are recomputed first, so that
 * mutations reach the decoders and verify_all's streaming paths.
 *
 * Oracles: no crash, leak or sanitizer report; the tiles put together equal the whole-tensor
 * decode; ECSQ integers agree with their codes; every failure carries a named status. */
#include "fuzz_ecqf.h"

#define FUZZ_MAX_NUMEL (1u << 20)

static void check_status(int rc, const ecqf_error *err) {
    FUZZ_CHECK(rc > 0 && rc < ECQF_STATUS_COUNT_, "status %d", rc);
    FUZZ_CHECK(err->code == rc, "error code %d for status %d", err->code, rc);
}

static void decode_tensor(const ecqf_reader *r, size_t i, const ecqf_tensor_info *ti) {
    ecqf_error err;
    uint8_t *codes = NULL, *tiles = NULL;
    int32_t *ints = NULL;
    void *out = NULL;
    size_t n = (size_t)ti->numel;
    int rc_codes = -1;
    if (ti->scheme != ECQF_SCHEME_NONE) {
        codes = malloc(n ? n : 1);
        tiles = malloc(n ? n : 1);
        if (!codes || !tiles) abort();
        rc_codes = ecqf_tensor_decode_codes(r, i, codes, ti->numel, &err);
        if (rc_codes) check_status(rc_codes, &err);
        /* tile by tile, into a whole-tensor image */
        if (ti->coding == ECQF_CODING_RANS || ti->coding == ECQF_CODING_PREFIX) {
            size_t cap = (size_t)((ti->tile_rows < ti->rows ? ti->tile_rows : ti->rows) *
                                  (ti->tile_cols < ti->cols ? ti->tile_cols : ti->cols));
            uint8_t *tc = malloc(cap ? cap : 1);
            int all_ok = 1;
            uint64_t tcols = (ti->cols + ti->tile_cols - 1) / ti->tile_cols;
            if (!tc) abort();
            for (uint64_t t = 0; t < ti->tile_count; t++) {
                uint64_t r0 = (t / tcols) * ti->tile_rows, c0 = (t % tcols) * ti->tile_cols;
                uint64_t r1 = r0 + ti->tile_rows < ti->rows ? r0 + ti->tile_rows : ti->rows;
                uint64_t c1 = c0 + ti->tile_cols < ti->cols ? c0 + ti->tile_cols : ti->cols;
                uint64_t cnt = (r1 - r0) * (c1 - c0);
                int rc = ecqf_tensor_decode_tile(r, i, t, tc, cnt, &err);
                if (rc) {
                    check_status(rc, &err);
                    all_ok = 0;
                    continue;
                }
                for (uint64_t rr = r0; rr < r1; rr++)
                    memcpy(tiles + rr * ti->cols + c0, tc + (rr - r0) * (c1 - c0), (size_t)(c1 - c0));
            }
            /* a tile count mismatch is a wrong-argument error */
            FUZZ_CHECK(ecqf_tensor_decode_tile(r, i, ti->tile_count, tc, 0, &err) == ECQF_ERR_INVALID_ARGUMENT, "tile past the end");
            free(tc);
            if (rc_codes == ECQF_OK) {
                FUZZ_CHECK(all_ok, "whole decode succeeded but a tile failed");
                FUZZ_CHECK(n == 0 || memcmp(codes, tiles, n) == 0, "tiles differ from the whole decode");
            }
            /* the whole decode may fail on [E-2] escape counts that tiles alone do not see,
             * but never succeed where a tile fails */
        } else if (ti->numel) {
            int rc = ecqf_tensor_decode_tile(r, i, 0, tiles, ti->numel, &err);
            FUZZ_CHECK((rc == ECQF_OK) == (rc_codes == ECQF_OK), "single-tile decode disagrees");
            if (rc == ECQF_OK) FUZZ_CHECK(memcmp(codes, tiles, n) == 0, "single-tile decode differs");
        }
        for (uint64_t k = 0; rc_codes == ECQF_OK && k < ti->numel; k++)
            FUZZ_CHECK(codes[k] < ti->alphabet, "code %u >= alphabet %u", codes[k], ti->alphabet);
    }
    if (ti->scheme == ECQF_SCHEME_ECSQ) {
        int rc;
        ints = malloc(n ? 4 * n : 4);
        if (!ints) abort();
        rc = ecqf_tensor_decode_ints(r, i, ints, ti->numel, &err);
        if (rc) check_status(rc, &err);
        else {
            unsigned esc = (ti->ecsq_flags & ECQF_ECSQ_HAS_ESCAPE) ? ti->alphabet - 1 : 256;
            FUZZ_CHECK(rc_codes == ECQF_OK, "ints decode succeeded but codes failed");
            for (uint64_t k = 0; k < ti->numel; k++) {
                if (codes[k] != esc)
                    FUZZ_CHECK(ints[k] == (int32_t)codes[k] - (int32_t)ti->zero_code, "int %d for code %u", ints[k], codes[k]);
                else
                    FUZZ_CHECK(ints[k] < -(int32_t)ti->zero_code || ints[k] > (int32_t)ti->alphabet - 2 - (int32_t)ti->zero_code,
                               "escape value %d representable", ints[k]);
            }
        }
    }
    for (int dt = ECQF_DTYPE_F32; dt <= ECQF_DTYPE_BF16; dt++) {
        size_t bytes = n * ecqf_dtype_size(dt);
        int rc;
        out = malloc(bytes ? bytes : 1);
        if (!out) abort();
        rc = ecqf_tensor_dequantize(r, i, dt, out, bytes, &err);
        if (rc) check_status(rc, &err);
        else if (ti->scheme != ECQF_SCHEME_NONE) FUZZ_CHECK(rc_codes == ECQF_OK, "dequantize succeeded but codes failed");
        free(out);
        out = NULL;
    }
    free(codes);
    free(tiles);
    free(ints);
}

static void run(const uint8_t *data, size_t size) {
    ecqf_reader *r = NULL;
    ecqf_error err;
    uint64_t total = 0;
    size_t nt;
    if (ecqf_reader_open_memory(&r, data, size, NULL, &err) != ECQF_OK) return;
    nt = ecqf_reader_tensor_count(r);
    for (size_t i = 0; i < nt; i++) {
        ecqf_tensor_info ti;
        FUZZ_CHECK(ecqf_reader_tensor_info(r, i, &ti) == ECQF_OK, "tensor %zu unreadable", i);
        total += ti.numel;
        if (ti.numel > FUZZ_MAX_NUMEL) continue;
        decode_tensor(r, i, &ti);
    }
    if (total <= 4u * FUZZ_MAX_NUMEL) {
        int rc = ecqf_reader_verify_all(r, &err);
        if (rc) check_status(rc, &err);
    }
    ecqf_reader_close(r);
}

/* Recompute every blob checksum of an image that opens, then the header checksum again, so
 * that ecqf_reader_verify_all goes past the checksums into the streaming decoders. */
static void fix_blob_checksums(uint8_t *img, size_t size) {
    ecqf_reader *r = NULL;
    ecqf_error err;
    if (ecqf_reader_open_memory(&r, img, size, NULL, &err) != ECQF_OK) return;
    for (size_t i = 0; i < ecqf_reader_tensor_count(r); i++) {
        ecqf_tensor_info ti;
        if (ecqf_reader_tensor_info(r, i, &ti) != ECQF_OK) abort();
        if (ecqf_blake2b_256(ti.blob_size ? ti.blob : img, (size_t)ti.blob_size, img + (ti.blob_checksum - img)) != ECQF_OK)
            abort();
    }
    ecqf_reader_close(r);
    {
        uint8_t *again = fuzz_fix_checksum(img, size);
        memcpy(img, again, size);
        free(again);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Decoding needs a valid directory: always recompute the header checksum, and the blob
     * checksums too. */
    uint8_t *fixed = fuzz_fix_checksum(data, size);
    fix_blob_checksums(fixed, size);
    run(fixed, size);
    free(fixed);
    return 0;
}
