/*
 * ecqf-conformance-reader.c — libecqf behind the conformance reader protocol
 * (conformance/README.md), using the public API only. It is also a minimal example of a
 * complete, verifying reader.
 *
 *     ecqf-conformance-reader FILE
 *
 * Opens FILE, verifies every checksum and decodes every tensor (ecqf_reader_verify_all), and only
 * then prints, per tensor in directory order:
 *     tensor <name> codes=<BLAKE2b-256 hex> values=<BLAKE2b-256 hex>
 * codes: one byte per element, row-major (ECSQ escapes carry the escape code Q-1); for scheme
 * NONE the stored value bytes (ZSTD: decompressed). values: the f32 little-endian values of
 * ecqf_tensor_dequantize. Exit status 0.
 * On any failure it prints one line "error <ECQF_ERR_NAME> <message>" and exits 1; no tensor
 * line is printed for a file that fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ecqf.h"

static int fail(int code, const char *msg) {
    printf("error %s %s\n", ecqf_status_name(code), msg);
    return 1;
}

static void hexify(const uint8_t h[32], char out[65]) {
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = d[h[i] >> 4];
        out[2 * i + 1] = d[h[i] & 15];
    }
    out[64] = 0;
}

/* The stored value bytes of a NONE tensor (verified and decoded already). */
static int none_bytes(const ecqf_tensor_info *in, uint8_t *out, size_t n) {
    if (in->coding == ECQF_CODING_RAW) {
        if (n) memcpy(out, in->part[ECQF_PART_DATA], n);
        return 0;
    }
    size_t got = ZSTD_decompress(out, n, in->part[ECQF_PART_DATA], (size_t)in->part_size[ECQF_PART_DATA]);
    return ZSTD_isError(got) || got != n;
}

int main(int argc, char **argv) {
    ecqf_reader *r = NULL;
    ecqf_error err;
    char **lines;
    size_t n;
    int rc;
    if (argc != 2) {
        fprintf(stderr, "usage: ecqf-conformance-reader FILE\n");
        return 2;
    }
    memset(&err, 0, sizeof err);
    rc = ecqf_reader_open_file(&r, argv[1], NULL, &err);
    if (rc) return fail(rc, err.message);
    rc = ecqf_reader_verify_all(r, &err);
    if (rc) {
        ecqf_reader_close(r);
        return fail(rc, err.message);
    }
    n = ecqf_reader_tensor_count(r);
    lines = calloc(n ? n : 1, sizeof *lines);
    if (!lines) return fail(ECQF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        ecqf_tensor_info in;
        uint8_t *codes = NULL, *values = NULL, hc[32], hv[32];
        char xc[65], xv[65];
        size_t ncodes, nvalues;
        rc = ecqf_reader_tensor_info(r, i, &in);
        if (rc) { fail(rc, "tensor info"); break; }
        if (in.numel > SIZE_MAX / 4) { rc = fail(ECQF_ERR_LIMIT, "tensor too large for this machine"); break; }
        ncodes = (size_t)in.numel * (in.scheme == ECQF_SCHEME_NONE ? ecqf_dtype_size(in.dtype) : 1);
        nvalues = (size_t)in.numel * 4;
        codes = malloc(ncodes ? ncodes : 1);
        values = malloc(nvalues ? nvalues : 1);
        if (!codes || !values) rc = fail(ECQF_ERR_NOMEM, "out of memory");
        else if (in.scheme == ECQF_SCHEME_NONE ? none_bytes(&in, codes, ncodes)
                                               : (rc = ecqf_tensor_decode_codes(r, i, codes, in.numel, &err)) != 0)
            rc = rc ? fail(rc, err.message) : fail(ECQF_ERR_CORRUPT_STREAM, "zstd frame");
        else if ((rc = ecqf_tensor_dequantize(r, i, ECQF_DTYPE_F32, values, nvalues, &err)) != 0)
            fail(rc, err.message);
        else {
            /* f32 little-endian, whatever the host's byte order */
            for (size_t k = 0; k < (size_t)in.numel; k++) {
                uint32_t u;
                memcpy(&u, values + 4 * k, 4);
                values[4 * k] = (uint8_t)u;
                values[4 * k + 1] = (uint8_t)(u >> 8);
                values[4 * k + 2] = (uint8_t)(u >> 16);
                values[4 * k + 3] = (uint8_t)(u >> 24);
            }
            if (ecqf_blake2b_256(codes, ncodes, hc) || ecqf_blake2b_256(values, nvalues, hv))
                rc = fail(ECQF_ERR_UNSUPPORTED, "BLAKE2b unavailable");
            else {
                size_t len = 64 + in.name_length + 2 * 64;
                hexify(hc, xc);
                hexify(hv, xv);
                lines[i] = malloc(len);
                if (!lines[i]) rc = fail(ECQF_ERR_NOMEM, "out of memory");
                else snprintf(lines[i], len, "tensor %.*s codes=%s values=%s", (int)in.name_length, in.name, xc, xv);
            }
        }
        free(codes);
        free(values);
    }
    if (!rc)
        for (size_t i = 0; i < n; i++) printf("%s\n", lines[i]);
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(lines);
    ecqf_reader_close(r);
    return rc ? 1 : 0;
}
