/*
 * skip-checksums.c — a DELIBERATELY BROKEN conformance reader: libecqf behind the protocol,
 * but it never verifies a checksum. It opens files with ECQF_OPEN_SKIP_HEADER_CHECKSUM and
 * decodes every tensor without ecqf_reader_verify_tensor / ecqf_reader_verify_all, the way a
 * careless loader would. The conformance suite must fail it (the header and blob checksum
 * vectors); conformance/broken-readers/selftest.sh checks that it does.
 *
 *     skip-checksums FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ecqf.h"

static void hexify(const uint8_t h[32], char out[65]) {
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = d[h[i] >> 4];
        out[2 * i + 1] = d[h[i] & 15];
    }
    out[64] = 0;
}

int main(int argc, char **argv) {
    ecqf_open_options opts;
    ecqf_reader *r = NULL;
    ecqf_error err;
    int rc = 0;
    size_t n;
    if (argc != 2) {
        fprintf(stderr, "usage: skip-checksums FILE\n");
        return 2;
    }
    memset(&opts, 0, sizeof opts);
    opts.struct_size = sizeof opts;
    opts.flags = ECQF_OPEN_SKIP_HEADER_CHECKSUM; /* the bug */
    memset(&err, 0, sizeof err);
    rc = ecqf_reader_open_file(&r, argv[1], &opts, &err);
    if (rc) {
        printf("error %s %s\n", ecqf_status_name(rc), err.message);
        return 1;
    }
    n = ecqf_reader_tensor_count(r);
    /* decode everything first, print only if all of it worked */
    char **lines = calloc(n ? n : 1, sizeof *lines);
    for (size_t i = 0; i < n && !rc && lines; i++) {
        ecqf_tensor_info in;
        uint8_t hc[32], hv[32], *codes, *values;
        char xc[65], xv[65];
        size_t nc, nv;
        if ((rc = ecqf_reader_tensor_info(r, i, &in)) != 0) break;
        nc = (size_t)in.numel * (in.scheme == ECQF_SCHEME_NONE ? ecqf_dtype_size(in.dtype) : 1);
        nv = (size_t)in.numel * 4;
        codes = malloc(nc ? nc : 1);
        values = malloc(nv ? nv : 1);
        if (!codes || !values) rc = ECQF_ERR_NOMEM;
        else if (in.scheme == ECQF_SCHEME_NONE) {
            if (in.coding == ECQF_CODING_RAW) {
                if (nc) memcpy(codes, in.part[ECQF_PART_DATA], nc);
            } else {
                size_t got = ZSTD_decompress(codes, nc, in.part[ECQF_PART_DATA], (size_t)in.part_size[ECQF_PART_DATA]);
                if (ZSTD_isError(got) || got != nc) {
                    rc = ECQF_ERR_CORRUPT_STREAM;
                    snprintf(err.message, sizeof err.message, "zstd frame");
                }
            }
        } else
            rc = ecqf_tensor_decode_codes(r, i, codes, in.numel, &err);
        if (!rc) rc = ecqf_tensor_dequantize(r, i, ECQF_DTYPE_F32, values, nv, &err);
        if (!rc && !ecqf_blake2b_256(codes, nc, hc) && !ecqf_blake2b_256(values, nv, hv)) {
            size_t len = 64 + in.name_length + 128;
            hexify(hc, xc);
            hexify(hv, xv);
            lines[i] = malloc(len);
            if (lines[i]) snprintf(lines[i], len, "tensor %.*s codes=%s values=%s", (int)in.name_length, in.name, xc, xv);
        }
        free(codes);
        free(values);
    }
    if (rc) printf("error %s %s\n", ecqf_status_name(rc), err.message);
    else
        for (size_t i = 0; i < n; i++) printf("%s\n", lines[i] ? lines[i] : "tensor ? codes=? values=?");
    for (size_t i = 0; lines && i < n; i++) free(lines[i]);
    free(lines);
    ecqf_reader_close(r);
    return rc ? 1 : 0;
}
