/*
 * ecqf-inspect — describe, verify and measure an ECQF file.
 *
 * Every tensor is handled on its own (decode, measure, free), so memory stays bounded by
 * the largest tensor whatever the file size.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "cli.h"
#include "ecqf.h"
#include "safetensors.h"

static const char help_text[] =
"NAME\n"
"    ecqf-inspect - describe, verify and measure an ECQF file\n"
"\n"
"SYNOPSIS\n"
"    ecqf-inspect [OPTIONS] FILE\n"
"    ecqf-inspect --hashes FILE\n"
"    ecqf-inspect --histogram NAME FILE\n"
"\n"
"DESCRIPTION\n"
"    Prints a summary of FILE (version, size, alignment, metadata, totals), then one row per\n"
"    tensor:\n"
"      name      the tensor name\n"
"      shape     its dimensions\n"
"      scheme    none (with its dtype), affineB gG (bits, group), symB bG (bits, block) or\n"
"                ecsq QN (alphabet size; +esc when the escape code is in use)\n"
"      coding    raw, rans, prefix or zstd\n"
"      bytes     the tensor's blob size in the file (params, table, tile index, escapes, data)\n"
"      b/w       all-in bits per weight: bytes * 8 / elements\n"
"      H         order-0 entropy of the decoded codes, bits per code (quantized tensors)\n"
"      over      coder overhead above that entropy: (bytes - params bytes) * 8 / (H *\n"
"                elements) - 1, in percent (tables, tile index, lane states, escapes, padding)\n"
"    The totals give the same figures over every quantized tensor.\n"
"\n"
"OPTIONS\n"
"    --json\n"
"        Print the summary and the rows as one JSON object instead.\n"
"    --verify\n"
"        First check every checksum and decode every tensor (ecqf_reader_verify_all). Prints\n"
"        \"FILE: OK\", or the error name and message and exits with status 1.\n"
"    --against SRC\n"
"        Add the SQNR (dB) of each tensor's dequantized values against the same tensor of\n"
"        SRC (a .safetensors file, index .json or directory), and model-wide figures.\n"
"    --zstd\n"
"        Add the size zstd -19 reaches on the same codes packed at their fixed width (RAW\n"
"        layout), as bits per weight with the params and escapes added (a baseline).\n"
"    --histogram NAME\n"
"        Print a text histogram of the codes of tensor NAME instead of the report.\n"
"    --hashes\n"
"        Conformance protocol: verify everything (every checksum and a full decode) first;\n"
"        then print, per tensor in file order,\n"
"          tensor <name> codes=<hex> values=<hex>\n"
"        with codes the BLAKE2b-256 of the decoded codes (one byte per element, row-major;\n"
"        for scheme none the stored value bytes) and values the BLAKE2b-256 of the\n"
"        dequantized f32 values, little-endian, row-major. On any failure it prints one line\n"
"        \"error <ECQF_ERR_NAME> <message>\" and exits with status 1.\n"
"    -q, --quiet\n"
"        No report (with --verify: only the verdict).\n"
"    -h, --help\n"
"        Show this text.\n"
"    -V, --version\n"
"        Show the version.\n"
"\n"
"EXIT STATUS\n"
"    0 on success, 1 if the file is invalid or cannot be read, 2 on a usage error.\n"
"\n"
"EXAMPLES\n"
"    ecqf-inspect model.ecqf\n"
"    ecqf-inspect --verify --zstd --against model.safetensors model.ecqf\n"
"    ecqf-inspect --histogram model.layers.0.mlp.up_proj.weight model.ecqf\n";

typedef struct opts {
    int json, verify, zstd, hashes;
    const char *against, *histogram;
} opts;

typedef struct row {
    ecqf_tensor_info info;
    char *name;               /* NUL-terminated copy */
    double entropy;           /* NAN: not applicable */
    double overhead;          /* percent, NAN: not applicable */
    double zstd_bpw;          /* NAN: not computed */
    uint64_t zstd_bytes;
    double sqnr, signal, sse; /* --against */
    int have_src;
} row;

/* ---- small helpers ------------------------------------------------------------------------ */

static char *name_copy(const ecqf_tensor_info *ti) {
    char *s = malloc(ti->name_length + 1);
    if (s) {
        memcpy(s, ti->name, ti->name_length);
        s[ti->name_length] = '\0';
    }
    return s;
}

static const char *shape_str(const ecqf_tensor_info *ti, char *buf, size_t size) {
    size_t o = 0;
    unsigned d;
    o += (size_t)snprintf(buf, size, "[");
    for (d = 0; d < ti->ndim && o < size; d++)
        o += (size_t)snprintf(buf + o, size - o, d ? ",%llu" : "%llu",
                              (unsigned long long)ti->dims[d]);
    if (o < size) snprintf(buf + o, size - o, "]");
    return buf;
}

static const char *scheme_str(const ecqf_tensor_info *ti, char *buf, size_t size) {
    switch (ti->scheme) {
    case ECQF_SCHEME_NONE: snprintf(buf, size, "none %s", ecqf_dtype_name(ti->dtype)); break;
    case ECQF_SCHEME_AFFINE: snprintf(buf, size, "affine%u g%u", ti->bits, ti->group_size); break;
    case ECQF_SCHEME_SYMMETRIC: snprintf(buf, size, "sym%u b%u", ti->bits, ti->group_size); break;
    case ECQF_SCHEME_ECSQ:
        snprintf(buf, size, "ecsq Q%u%s%s", ti->alphabet,
                 (ti->ecsq_flags & ECQF_ECSQ_HAS_ESCAPE) ? "+esc" : "",
                 (ti->ecsq_flags & ECQF_ECSQ_PER_ROW) ? " row" : "");
        break;
    default: snprintf(buf, size, "?%d", ti->scheme);
    }
    return buf;
}

static void json_string(FILE *f, const char *s, size_t n) {
    size_t i;
    fputc('"', f);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') fputs("\\\"", f);
        else if (c == '\\') fputs("\\\\", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v, int prec) {
    if (isfinite(v)) fprintf(f, "%.*f", prec, v);
    else fputs("null", f);
}

static double entropy_of(const uint64_t *hist, size_t n, uint64_t total) {
    double h = 0;
    size_t i;
    if (!total) return 0;
    for (i = 0; i < n; i++)
        if (hist[i]) {
            double p = (double)hist[i] / (double)total;
            h -= p * log2(p);
        }
    return h;
}

static unsigned code_width(const ecqf_tensor_info *ti) {
    unsigned w = 0;
    if (ti->scheme == ECQF_SCHEME_AFFINE || ti->scheme == ECQF_SCHEME_SYMMETRIC) return ti->bits;
    if (ti->scheme == ECQF_SCHEME_NONE) return 8u * (unsigned)ecqf_dtype_size(ti->dtype);
    while ((1u << w) < ti->alphabet) w++;
    return w ? w : 1;
}

/* Codes (quantized) or value bytes (NONE) of tensor idx. */
static int tensor_codes(const ecqf_reader *r, size_t idx, const ecqf_tensor_info *ti,
                        uint8_t **out, size_t *size, ecqf_error *err) {
    uint8_t *b;
    if (ti->scheme == ECQF_SCHEME_NONE) return cli_none_bytes(ti, out, size, err);
    *out = NULL;
    *size = 0;
    if (ti->numel > SIZE_MAX) {
        err->code = ECQF_ERR_LIMIT;
        err->offset = ECQF_NO_OFFSET;
        snprintf(err->message, sizeof err->message, "tensor too large for this host");
        return ECQF_ERR_LIMIT;
    }
    b = malloc(ti->numel ? (size_t)ti->numel : 1);
    if (!b) {
        err->code = ECQF_ERR_NOMEM;
        err->offset = ECQF_NO_OFFSET;
        snprintf(err->message, sizeof err->message, "out of memory for %llu codes",
                 (unsigned long long)ti->numel);
        return ECQF_ERR_NOMEM;
    }
    if (ti->numel) {
        int rc = ecqf_tensor_decode_codes(r, idx, b, ti->numel, err);
        if (rc) {
            free(b);
            return rc;
        }
    }
    *out = b;
    *size = (size_t)ti->numel;
    return ECQF_OK;
}

/* Dequantized values as f32 (host floats). */
static int tensor_f32(const ecqf_reader *r, size_t idx, const ecqf_tensor_info *ti,
                      float **out, ecqf_error *err) {
    float *v;
    *out = NULL;
    if (ti->numel > SIZE_MAX / sizeof(float)) {
        err->code = ECQF_ERR_LIMIT;
        err->offset = ECQF_NO_OFFSET;
        snprintf(err->message, sizeof err->message, "tensor too large for this host");
        return ECQF_ERR_LIMIT;
    }
    v = malloc(ti->numel ? (size_t)ti->numel * sizeof *v : 1);
    if (!v) {
        err->code = ECQF_ERR_NOMEM;
        err->offset = ECQF_NO_OFFSET;
        snprintf(err->message, sizeof err->message, "out of memory for %llu values",
                 (unsigned long long)ti->numel);
        return ECQF_ERR_NOMEM;
    }
    if (ti->numel) {
        int rc = ecqf_tensor_dequantize(r, idx, ECQF_DTYPE_F32, v, (size_t)ti->numel * sizeof *v, err);
        if (rc) {
            free(v);
            return rc;
        }
    }
    *out = v;
    return ECQF_OK;
}

/* ---- --hashes ----------------------------------------------------------------------------- */

static void proto_error(const ecqf_error *e) {
    char msg[ECQF_ERROR_MESSAGE_SIZE];
    size_t i;
    snprintf(msg, sizeof msg, "%s", e->message[0] ? e->message : ecqf_status_description(e->code));
    for (i = 0; msg[i]; i++)
        if (msg[i] == '\n' || msg[i] == '\r') msg[i] = ' ';
    printf("error %s %s\n", ecqf_status_name(e->code), msg);
}

static void hex(const uint8_t *h, char *out) {
    static const char digits[] = "0123456789abcdef";
    int i;
    for (i = 0; i < 32; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[64] = '\0';
}

static int run_hashes(const char *path) {
    ecqf_reader *r = NULL;
    ecqf_error err;
    size_t n, i;
    char *lines = NULL;
    size_t lines_len = 0, lines_cap = 0;
    memset(&err, 0, sizeof err);
    if (ecqf_reader_open_file(&r, path, NULL, &err) != ECQF_OK) {
        proto_error(&err);
        return CLI_EXIT_FAILURE;
    }
    if (ecqf_reader_verify_all(r, &err) != ECQF_OK) {
        proto_error(&err);
        ecqf_reader_close(r);
        return CLI_EXIT_FAILURE;
    }
    n = ecqf_reader_tensor_count(r);
    /* collect every line first: on a failure nothing but the error line is printed */
    for (i = 0; i < n; i++) {
        ecqf_tensor_info ti;
        uint8_t *codes = NULL, hc[32], hv[32];
        size_t cs;
        float *vals = NULL;
        uint8_t *le;
        char hcs[65], hvs[65];
        uint64_t k;
        size_t need;
        int rc;
        if ((rc = ecqf_reader_tensor_info(r, i, &ti)) != ECQF_OK) {
            err.code = rc;
            snprintf(err.message, sizeof err.message, "tensor %zu: cannot read its entry", i);
            goto fail;
        }
        if (tensor_codes(r, i, &ti, &codes, &cs, &err) != ECQF_OK) goto fail;
        rc = ecqf_blake2b_256(codes, cs, hc);
        free(codes);
        if (rc) {
            err.code = rc;
            snprintf(err.message, sizeof err.message, "BLAKE2b failed");
            goto fail;
        }
        if (tensor_f32(r, i, &ti, &vals, &err) != ECQF_OK) goto fail;
        le = (uint8_t *)vals; /* to little-endian bytes in place */
        for (k = 0; k < ti.numel; k++) {
            uint32_t b;
            memcpy(&b, &vals[k], 4);
            le[4 * k] = (uint8_t)b;
            le[4 * k + 1] = (uint8_t)(b >> 8);
            le[4 * k + 2] = (uint8_t)(b >> 16);
            le[4 * k + 3] = (uint8_t)(b >> 24);
        }
        rc = ecqf_blake2b_256(le, (size_t)ti.numel * 4, hv);
        free(vals);
        if (rc) {
            err.code = rc;
            snprintf(err.message, sizeof err.message, "BLAKE2b failed");
            goto fail;
        }
        hex(hc, hcs);
        hex(hv, hvs);
        need = 7 + ti.name_length + 7 + 64 + 8 + 64 + 2;
        if (lines_cap - lines_len < need) {
            size_t nc = lines_cap ? lines_cap : 4096;
            char *nl;
            while (nc - lines_len < need) nc *= 2;
            nl = realloc(lines, nc);
            if (!nl) {
                err.code = ECQF_ERR_NOMEM;
                snprintf(err.message, sizeof err.message, "out of memory");
                goto fail;
            }
            lines = nl;
            lines_cap = nc;
        }
        memcpy(lines + lines_len, "tensor ", 7);
        lines_len += 7;
        memcpy(lines + lines_len, ti.name, ti.name_length);
        lines_len += ti.name_length;
        lines_len += (size_t)sprintf(lines + lines_len, " codes=%s values=%s\n", hcs, hvs);
    }
    if (lines_len) fwrite(lines, 1, lines_len, stdout);
    free(lines);
    ecqf_reader_close(r);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
fail:
    proto_error(&err);
    free(lines);
    ecqf_reader_close(r);
    return CLI_EXIT_FAILURE;
}

/* ---- --histogram ---------------------------------------------------------------------------- */

static int run_histogram(const char *path, const char *name) {
    ecqf_reader *r = NULL;
    ecqf_error err;
    ecqf_tensor_info ti;
    size_t idx, cs, u;
    uint8_t *codes = NULL;
    uint64_t hist[256], maxc = 0, k;
    char sh[128], sc[64];
    int rc;
    memset(&err, 0, sizeof err);
    if (ecqf_reader_open_file(&r, path, NULL, &err) != ECQF_OK) {
        cli_ecqf_error(&err, "%s", path);
        return CLI_EXIT_FAILURE;
    }
    if ((rc = ecqf_reader_find_tensor(r, name, &idx)) != ECQF_OK) {
        cli_error("%s: no tensor named '%s' (%s)", path, name, ecqf_status_name(rc));
        ecqf_reader_close(r);
        return CLI_EXIT_FAILURE;
    }
    if ((rc = ecqf_reader_tensor_info(r, idx, &ti)) != ECQF_OK) {
        cli_error("%s: tensor '%s': %s", path, name, ecqf_status_name(rc));
        ecqf_reader_close(r);
        return CLI_EXIT_FAILURE;
    }
    if (ti.scheme == ECQF_SCHEME_NONE) {
        cli_error("%s: tensor '%s' is not quantized (scheme none, %s): it has no codes", path,
                  name, ecqf_dtype_name(ti.dtype));
        ecqf_reader_close(r);
        return CLI_EXIT_FAILURE;
    }
    if (tensor_codes(r, idx, &ti, &codes, &cs, &err) != ECQF_OK) {
        cli_ecqf_error(&err, "%s: decoding tensor '%s'", path, name);
        ecqf_reader_close(r);
        return CLI_EXIT_FAILURE;
    }
    memset(hist, 0, sizeof hist);
    for (k = 0; k < cs; k++) hist[codes[k]]++;
    free(codes);
    for (u = 0; u < 256; u++)
        if (hist[u] > maxc) maxc = hist[u];
    printf("tensor %s %s: %s, %s coding, %llu codes, entropy %.4f bits/code\n", name,
           shape_str(&ti, sh, sizeof sh), scheme_str(&ti, sc, sizeof sc),
           ecqf_coding_name(ti.coding), (unsigned long long)ti.numel,
           entropy_of(hist, 256, cs));
    if (ti.scheme == ECQF_SCHEME_ECSQ)
        printf("%6s %8s %12s %8s\n", "code", "k", "count", "share");
    else if (ti.scheme == ECQF_SCHEME_SYMMETRIC)
        printf("%6s %8s %12s %8s\n", "code", "u-2^(b-1)", "count", "share");
    else
        printf("%6s %8s %12s %8s\n", "code", "", "count", "share");
    for (u = 0; u < 256; u++) {
        char lab[16] = "";
        int bar, j;
        if (!hist[u]) continue;
        if (ti.scheme == ECQF_SCHEME_ECSQ) {
            if ((ti.ecsq_flags & ECQF_ECSQ_HAS_ESCAPE) && u == ti.alphabet - 1)
                snprintf(lab, sizeof lab, "escape");
            else
                snprintf(lab, sizeof lab, "%d", (int)u - (int)ti.zero_code);
        } else if (ti.scheme == ECQF_SCHEME_SYMMETRIC) {
            snprintf(lab, sizeof lab, "%d", (int)u - (1 << (ti.bits - 1)));
        }
        bar = maxc ? (int)((double)hist[u] * 50.0 / (double)maxc + 0.5) : 0;
        printf("%6zu %8s %12llu %7.3f%% |", u, lab, (unsigned long long)hist[u],
               100.0 * (double)hist[u] / (double)cs);
        for (j = 0; j < bar; j++) putchar('#');
        putchar('\n');
    }
    ecqf_reader_close(r);
    return CLI_EXIT_OK;
}

/* ---- report --------------------------------------------------------------------------------- */

static uint64_t zstd19(const uint8_t *codes, size_t n, unsigned width, int none, int *ok) {
    uint64_t bits = (uint64_t)n * width, nb;
    uint8_t *packed;
    void *dst;
    size_t bound, got, i;
    *ok = 0;
    if (none) {
        nb = n;
        packed = (uint8_t *)(uintptr_t)codes;
    } else {
        nb = (bits + 7) / 8;
        packed = calloc(nb ? (size_t)nb : 1, 1);
        if (!packed) return 0;
        for (i = 0; i < n; i++) {
            uint64_t at = (uint64_t)i * width;
            unsigned v = codes[i], left = width;
            while (left) {
                unsigned sh = (unsigned)(at % 8), take = 8 - sh < left ? 8 - sh : left;
                packed[at / 8] |= (uint8_t)((v & ((1u << take) - 1)) << sh);
                v >>= take;
                left -= take;
                at += take;
            }
        }
    }
    bound = ZSTD_compressBound((size_t)nb);
    dst = malloc(bound ? bound : 1);
    if (!dst) {
        if (!none) free(packed);
        return 0;
    }
    got = ZSTD_compress(dst, bound, packed, (size_t)nb, 19);
    free(dst);
    if (!none) free(packed);
    if (ZSTD_isError(got)) return 0;
    *ok = 1;
    return got;
}

static void print_metadata(FILE *f, const ecqf_reader *r, int json) {
    size_t n = ecqf_reader_metadata_count(r), i;
    for (i = 0; i < n; i++) {
        ecqf_metadata m;
        if (ecqf_reader_metadata_at(r, i, &m) != ECQF_OK) continue;
        if (json) {
            fputs(i ? ",\n    " : "\n    ", f);
            json_string(f, m.key, m.key_length);
            fputs(": ", f);
            switch (m.type) {
            case ECQF_META_U64: fprintf(f, "%llu", (unsigned long long)m.u64); break;
            case ECQF_META_I64: fprintf(f, "%lld", (long long)m.i64); break;
            case ECQF_META_F64: json_num(f, m.f64, 17); break;
            case ECQF_META_BOOL: fputs(m.u64 ? "true" : "false", f); break;
            case ECQF_META_STRING: json_string(f, (const char *)m.bytes, m.length); break;
            default: {
                size_t k;
                fputc('"', f);
                for (k = 0; k < m.length; k++) fprintf(f, "%02x", m.bytes[k]);
                fputc('"', f);
            }
            }
        } else {
            fprintf(f, "  %-12s %.*s = ", i ? "" : "metadata", (int)m.key_length, m.key);
            switch (m.type) {
            case ECQF_META_U64: fprintf(f, "%llu\n", (unsigned long long)m.u64); break;
            case ECQF_META_I64: fprintf(f, "%lld\n", (long long)m.i64); break;
            case ECQF_META_F64: fprintf(f, "%.17g\n", m.f64); break;
            case ECQF_META_BOOL: fprintf(f, "%s\n", m.u64 ? "true" : "false"); break;
            case ECQF_META_STRING:
                if (m.length > 200) fprintf(f, "%.200s... (%zu bytes)\n", (const char *)m.bytes, m.length);
                else fprintf(f, "%.*s\n", (int)m.length, (const char *)m.bytes);
                break;
            default: fprintf(f, "(%zu bytes)\n", m.length);
            }
        }
    }
}

static int run_report(const char *path, const opts *o) {
    ecqf_reader *r = NULL;
    ecqf_error err;
    ecqf_file_info fi;
    st_model *src = NULL;
    st_error serr;
    size_t n, i, namew = 4;
    int exit_code = CLI_EXIT_FAILURE;
    /* totals */
    uint64_t q_n = 0, q_w = 0, q_bytes = 0, q_params = 0, all_w = 0, all_bytes = 0, z_bytes = 0,
             z_w = 0;
    double q_hbits = 0, q_sig = 0, q_sse = 0, a_sig = 0, a_sse = 0;
    uint64_t n_scheme[4] = {0, 0, 0, 0}, n_coding[4] = {0, 0, 0, 0};
    FILE *f = stdout;
    int report = cli_verbosity >= 1 || o->json;

    memset(&err, 0, sizeof err);
    if (ecqf_reader_open_file(&r, path, NULL, &err) != ECQF_OK) {
        cli_ecqf_error(&err, "%s", path);
        return CLI_EXIT_FAILURE;
    }
    if (o->verify) {
        if (ecqf_reader_verify_all(r, &err) != ECQF_OK) {
            cli_ecqf_error(&err, "%s: verification failed", path);
            ecqf_reader_close(r);
            return CLI_EXIT_FAILURE;
        }
        if (!o->json) printf("%s: OK (every checksum verified, every tensor decoded)\n", path);
    }
    if (!report) {
        ecqf_reader_close(r);
        return CLI_EXIT_OK;
    }
    if (o->against && st_open_ex(&src, o->against, ST_OPEN_ALLOW_UNSUPPORTED, &serr) != ST_OK) {
        cli_st_error(&serr);
        ecqf_reader_close(r);
        return CLI_EXIT_FAILURE;
    }
    ecqf_reader_file_info(r, &fi);
    n = ecqf_reader_tensor_count(r);
    for (i = 0; i < n; i++) {
        ecqf_tensor_info ti;
        if (ecqf_reader_tensor_info(r, i, &ti) == ECQF_OK && ti.name_length > namew)
            namew = ti.name_length;
    }
    if (namew > 56) namew = 56;

    if (o->json) {
        fputs("{\n  \"file\": ", f);
        json_string(f, path, strlen(path));
        fprintf(f, ",\n  \"version\": \"%u.%u\",\n  \"file_size\": %llu,\n  \"alignment\": %u,\n"
                   "  \"tensor_count\": %zu,\n  \"verified\": %s,\n  \"metadata\": {",
                fi.version_major, fi.version_minor, (unsigned long long)fi.file_size,
                fi.alignment, fi.tensor_count, o->verify ? "true" : "false");
        print_metadata(f, r, 1);
        fputs(fi.metadata_count ? "\n  },\n  \"tensors\": [" : "},\n  \"tensors\": [", f);
    } else {
        char hs[32], g[32];
        printf("file          %s\n", path);
        printf("format        ECQF %u.%u, %s bytes (%s), alignment %u, required features 0x%llx\n",
               fi.version_major, fi.version_minor, cli_group_digits(fi.file_size, g),
               cli_human_size(fi.file_size, hs), fi.alignment,
               (unsigned long long)fi.required_features);
        printf("directory     %llu bytes at offset %llu; %zu tensors, %zu metadata entries\n",
               (unsigned long long)fi.directory_size, (unsigned long long)fi.directory_offset,
               fi.tensor_count, fi.metadata_count);
        print_metadata(f, r, 0);
        printf("\n%-*s %-12s %-14s %-6s %10s %7s %6s %7s", (int)namew, "name", "shape", "scheme",
               "coding", "bytes", "b/w", "H", "over");
        if (o->zstd) printf(" %8s", "zstd b/w");
        if (src) printf(" %8s", "SQNR dB");
        printf("\n");
    }

    for (i = 0; i < n; i++) {
        row rw;
        uint8_t *codes = NULL;
        size_t cs = 0;
        int rc;
        memset(&rw, 0, sizeof rw);
        rw.entropy = rw.overhead = rw.zstd_bpw = rw.sqnr = NAN;
        if ((rc = ecqf_reader_tensor_info(r, i, &rw.info)) != ECQF_OK) {
            cli_error("%s: tensor %zu: cannot read its entry: %s", path, i, ecqf_status_name(rc));
            goto done;
        }
        rw.name = name_copy(&rw.info);
        if (!rw.name) {
            cli_error("out of memory");
            goto done;
        }
        if (rw.info.scheme != ECQF_SCHEME_NONE || o->zstd) {
            if (tensor_codes(r, i, &rw.info, &codes, &cs, &err) != ECQF_OK) {
                cli_ecqf_error(&err, "%s: decoding tensor %s", path, rw.name);
                free(rw.name);
                goto done;
            }
        }
        if (rw.info.scheme != ECQF_SCHEME_NONE) {
            uint64_t hist[256], k;
            memset(hist, 0, sizeof hist);
            for (k = 0; k < cs; k++) hist[codes[k]]++;
            rw.entropy = entropy_of(hist, 256, cs);
            if (rw.entropy > 0 && rw.info.numel)
                rw.overhead = 100.0 * ((double)(rw.info.blob_size - rw.info.part_size[ECQF_PART_PARAMS]) * 8.0 /
                                       (rw.entropy * (double)rw.info.numel) - 1.0);
            q_n++;
            q_w += rw.info.numel;
            q_bytes += rw.info.blob_size;
            q_params += rw.info.part_size[ECQF_PART_PARAMS];
            q_hbits += rw.entropy * (double)rw.info.numel;
        }
        if (o->zstd && rw.info.numel) {
            int ok;
            uint64_t zb = zstd19(codes, cs, code_width(&rw.info), rw.info.scheme == ECQF_SCHEME_NONE, &ok);
            if (ok) {
                rw.zstd_bytes = zb + rw.info.part_size[ECQF_PART_PARAMS] + rw.info.part_size[ECQF_PART_ESCAPES];
                rw.zstd_bpw = (double)rw.zstd_bytes * 8.0 / (double)rw.info.numel;
                if (rw.info.scheme != ECQF_SCHEME_NONE) {
                    z_bytes += rw.zstd_bytes;
                    z_w += rw.info.numel;
                }
            }
        }
        free(codes);
        codes = NULL;
        if (src) {
            const st_tensor *t = st_find(src, rw.name);
            if (!t) {
                cli_warn("tensor %s is not in %s", rw.name, o->against);
            } else if (t->dtype == ST_OTHER) {
                cli_warn("tensor %s has dtype %s in %s; no SQNR", rw.name, t->dtype_name,
                         o->against);
            } else if (t->numel != rw.info.numel) {
                cli_error("tensor %s has %llu elements in %s but %llu in %s", rw.name,
                          (unsigned long long)t->numel, o->against,
                          (unsigned long long)rw.info.numel, path);
                free(rw.name);
                goto done;
            } else {
                float *deq = NULL, *ref = NULL;
                uint64_t k;
                if (tensor_f32(r, i, &rw.info, &deq, &err) != ECQF_OK) {
                    cli_ecqf_error(&err, "%s: dequantizing tensor %s", path, rw.name);
                    free(rw.name);
                    goto done;
                }
                ref = malloc(t->numel ? (size_t)t->numel * sizeof *ref : 1);
                if (!ref) {
                    free(deq);
                    cli_error("out of memory");
                    free(rw.name);
                    goto done;
                }
                (void)st_tensor_to_f32(t, ref, t->numel);
                for (k = 0; k < t->numel; k++) {
                    double d;
                    if (memcmp(&ref[k], &deq[k], 4) == 0) d = 0;
                    else d = (double)ref[k] - (double)deq[k];
                    rw.sse += d * d;
                    rw.signal += (double)ref[k] * (double)ref[k];
                }
                free(ref);
                free(deq);
                rw.have_src = 1;
                rw.sqnr = rw.sse == 0 ? INFINITY : 10.0 * log10(rw.signal / rw.sse);
                a_sig += rw.signal;
                a_sse += rw.sse;
                if (rw.info.scheme != ECQF_SCHEME_NONE) {
                    q_sig += rw.signal;
                    q_sse += rw.sse;
                }
            }
        }
        all_w += rw.info.numel;
        all_bytes += rw.info.blob_size;
        if (rw.info.scheme >= 0 && rw.info.scheme < 4) n_scheme[rw.info.scheme]++;
        if (rw.info.coding >= 0 && rw.info.coding < 4) n_coding[rw.info.coding]++;

        if (o->json) {
            unsigned d;
            fputs(i ? ",\n    {" : "\n    {", f);
            fputs("\"name\": ", f);
            json_string(f, rw.info.name, rw.info.name_length);
            fputs(", \"shape\": [", f);
            for (d = 0; d < rw.info.ndim; d++)
                fprintf(f, d ? ", %llu" : "%llu", (unsigned long long)rw.info.dims[d]);
            fprintf(f, "], \"dtype\": \"%s\", \"scheme\": \"%s\", \"coding\": \"%s\"",
                    ecqf_dtype_name(rw.info.dtype), ecqf_scheme_name(rw.info.scheme),
                    ecqf_coding_name(rw.info.coding));
            if (rw.info.scheme == ECQF_SCHEME_AFFINE || rw.info.scheme == ECQF_SCHEME_SYMMETRIC)
                fprintf(f, ", \"bits\": %u, \"group_size\": %u, \"param_dtype\": \"%s\"",
                        rw.info.bits, rw.info.group_size, ecqf_dtype_name(rw.info.param_dtype));
            if (rw.info.scheme == ECQF_SCHEME_ECSQ)
                fprintf(f, ", \"alphabet\": %u, \"zero_code\": %u, \"escape\": %s, \"per_row\": %s, "
                           "\"escapes\": %llu", rw.info.alphabet, rw.info.zero_code,
                        (rw.info.ecsq_flags & ECQF_ECSQ_HAS_ESCAPE) ? "true" : "false",
                        (rw.info.ecsq_flags & ECQF_ECSQ_PER_ROW) ? "true" : "false",
                        (unsigned long long)rw.info.escape_count);
            if (rw.info.coding == ECQF_CODING_RANS || rw.info.coding == ECQF_CODING_PREFIX)
                fprintf(f, ", \"lanes\": %u, \"pack\": %u, \"tiles\": %llu", rw.info.lanes,
                        rw.info.pack, (unsigned long long)rw.info.tile_count);
            fprintf(f, ", \"numel\": %llu, \"bytes\": %llu, \"params_bytes\": %llu, \"bits_per_weight\": ",
                    (unsigned long long)rw.info.numel, (unsigned long long)rw.info.blob_size,
                    (unsigned long long)rw.info.part_size[ECQF_PART_PARAMS]);
            json_num(f, rw.info.numel ? (double)rw.info.blob_size * 8.0 / (double)rw.info.numel : NAN, 4);
            fputs(", \"entropy\": ", f);
            json_num(f, rw.entropy, 4);
            fputs(", \"overhead_pct\": ", f);
            json_num(f, rw.overhead, 2);
            if (o->zstd) {
                fprintf(f, ", \"zstd_bytes\": %llu, \"zstd_bits_per_weight\": ",
                        (unsigned long long)rw.zstd_bytes);
                json_num(f, rw.zstd_bpw, 4);
            }
            if (src) {
                fputs(", \"sqnr_db\": ", f);
                json_num(f, rw.have_src ? rw.sqnr : NAN, 3);
                if (rw.have_src && isinf(rw.sqnr)) fputs(", \"exact\": true", f);
            }
            fputs("}", f);
        } else {
            char sh[128], sc[64], ent[16] = "-", ov[16] = "-";
            if (!isnan(rw.entropy)) snprintf(ent, sizeof ent, "%.3f", rw.entropy);
            if (!isnan(rw.overhead)) snprintf(ov, sizeof ov, "%+.1f%%", rw.overhead);
            printf("%-*s %-12s %-14s %-6s %10llu %7.3f %6s %7s", (int)namew, rw.name,
                   shape_str(&rw.info, sh, sizeof sh), scheme_str(&rw.info, sc, sizeof sc),
                   ecqf_coding_name(rw.info.coding), (unsigned long long)rw.info.blob_size,
                   rw.info.numel ? (double)rw.info.blob_size * 8.0 / (double)rw.info.numel : 0.0,
                   ent, ov);
            if (o->zstd) {
                if (isnan(rw.zstd_bpw)) printf(" %8s", "-");
                else printf(" %8.3f", rw.zstd_bpw);
            }
            if (src) {
                if (!rw.have_src) printf(" %8s", "-");
                else if (isinf(rw.sqnr)) printf(" %8s", "exact");
                else printf(" %8.2f", rw.sqnr);
            }
            printf("\n");
        }
        free(rw.name);
    }

    if (o->json) {
        fprintf(f, "\n  ],\n  \"summary\": {\"tensors\": %zu, \"quantized_tensors\": %llu, "
                   "\"weights\": %llu, \"quantized_weights\": %llu, \"blob_bytes\": %llu, "
                   "\"quantized_bytes\": %llu, \"quantized_params_bytes\": %llu, "
                   "\"quantized_bits_per_weight\": ",
                n, (unsigned long long)q_n, (unsigned long long)all_w, (unsigned long long)q_w,
                (unsigned long long)all_bytes, (unsigned long long)q_bytes,
                (unsigned long long)q_params);
        json_num(f, q_w ? (double)q_bytes * 8.0 / (double)q_w : NAN, 4);
        fputs(", \"quantized_entropy\": ", f);
        json_num(f, q_w ? q_hbits / (double)q_w : NAN, 4);
        fputs(", \"quantized_overhead_pct\": ", f);
        json_num(f, q_hbits > 0 ? 100.0 * ((double)(q_bytes - q_params) * 8.0 / q_hbits - 1.0) : NAN, 2);
        if (o->zstd) {
            fputs(", \"quantized_zstd_bits_per_weight\": ", f);
            json_num(f, z_w ? (double)z_bytes * 8.0 / (double)z_w : NAN, 4);
        }
        if (src) {
            fputs(", \"quantized_sqnr_db\": ", f);
            json_num(f, q_sse > 0 ? 10.0 * log10(q_sig / q_sse) : NAN, 3);
            fputs(", \"model_sqnr_db\": ", f);
            json_num(f, a_sse > 0 ? 10.0 * log10(a_sig / a_sse) : NAN, 3);
        }
        fputs("}\n}\n", f);
    } else {
        char g1[32], g2[32];
        printf("\ntotals        %zu tensors: none %llu, affine %llu, symmetric %llu, ecsq %llu; "
               "raw %llu, rans %llu, prefix %llu, zstd %llu\n", n,
               (unsigned long long)n_scheme[0], (unsigned long long)n_scheme[1],
               (unsigned long long)n_scheme[2], (unsigned long long)n_scheme[3],
               (unsigned long long)n_coding[0], (unsigned long long)n_coding[1],
               (unsigned long long)n_coding[2], (unsigned long long)n_coding[3]);
        printf("weights       %s, %s quantized\n", cli_group_digits(all_w, g1),
               cli_group_digits(q_w, g2));
        if (q_w) {
            char ov[32] = "n/a (zero entropy)";
            if (q_hbits > 0)
                snprintf(ov, sizeof ov, "%+.2f%%",
                         100.0 * ((double)(q_bytes - q_params) * 8.0 / q_hbits - 1.0));
            printf("quantized     %.4f bits/weight all-in (%llu bytes, %llu of them params); "
                   "entropy %.4f bits/code; coder overhead %s\n",
                   (double)q_bytes * 8.0 / (double)q_w, (unsigned long long)q_bytes,
                   (unsigned long long)q_params, q_hbits / (double)q_w, ov);
            if (o->zstd && z_w)
                printf("zstd -19      %.4f bits/weight on the same codes at fixed width "
                       "(params and escapes added)\n", (double)z_bytes * 8.0 / (double)z_w);
        }
        if (src) {
            if (q_sse > 0) printf("SQNR          %.3f dB over the quantized tensors", 10.0 * log10(q_sig / q_sse));
            else printf("SQNR          exact over the quantized tensors");
            if (a_sse > 0) printf(", %.3f dB over all tensors\n", 10.0 * log10(a_sig / a_sse));
            else printf(", exact over all tensors\n");
        }
    }
    exit_code = CLI_EXIT_OK;
done:
    st_close(src);
    ecqf_reader_close(r);
    return exit_code;
}

int main(int argc, char **argv) {
    enum { OPT_JSON = 256, OPT_VERIFY, OPT_AGAINST, OPT_ZSTD, OPT_HIST, OPT_HASHES };
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"verify", no_argument, NULL, OPT_VERIFY},
        {"against", required_argument, NULL, OPT_AGAINST},
        {"zstd", no_argument, NULL, OPT_ZSTD},
        {"histogram", required_argument, NULL, OPT_HIST},
        {"hashes", no_argument, NULL, OPT_HASHES},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    opts o;
    int c;
    cli_init(argv[0]);
    memset(&o, 0, sizeof o);
    while ((c = getopt_long(argc, argv, "qhV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: o.json = 1; break;
        case OPT_VERIFY: o.verify = 1; break;
        case OPT_AGAINST: o.against = optarg; break;
        case OPT_ZSTD: o.zstd = 1; break;
        case OPT_HIST: o.histogram = optarg; break;
        case OPT_HASHES: o.hashes = 1; break;
        case 'q': cli_verbosity = 0; break;
        case 'h': cli_print_help(help_text); return CLI_EXIT_OK;
        case 'V': cli_print_version(); return CLI_EXIT_OK;
        default:
            fprintf(stderr, "Try '%s --help' for more information.\n", cli_progname());
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        cli_error(argc - optind < 1 ? "missing operand: FILE" : "too many operands: one FILE expected");
        fprintf(stderr, "Try '%s --help' for more information.\n", cli_progname());
        return CLI_EXIT_USAGE;
    }
    if (o.hashes && (o.json || o.verify || o.against || o.zstd || o.histogram)) {
        cli_error("--hashes takes no other option");
        return CLI_EXIT_USAGE;
    }
    if (o.histogram && (o.json || o.against || o.zstd)) {
        cli_error("--histogram does not combine with --json, --against or --zstd");
        return CLI_EXIT_USAGE;
    }
    if (o.hashes) return run_hashes(argv[optind]);
    if (o.histogram) {
        if (o.verify) {
            int saved = cli_verbosity, rc;
            cli_verbosity = 0; /* the verdict line only */
            rc = run_report(argv[optind], &(opts){.verify = 1});
            cli_verbosity = saved;
            if (rc) return rc;
        }
        return run_histogram(argv[optind], o.histogram);
    }
    return run_report(argv[optind], &o);
}
