/*
 * ecqf-unpack — write an ECQF file back as safetensors: dequantized values that any
 * framework loads, or (--mlx) MLX's quantized layout for affine tensors.
 *
 * One tensor at a time: its blob checksum is verified, it is decoded, written and freed.
 * The output goes to a temporary file renamed into place when complete.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecqf.h"
#include "safetensors.h"

static const char help_text[] =
"NAME\n"
"    ecqf-unpack - write an ECQF file back as a safetensors file\n"
"\n"
"SYNOPSIS\n"
"    ecqf-unpack [OPTIONS] IN OUT\n"
"\n"
"DESCRIPTION\n"
"    Every tensor of IN is verified (its blob checksum), decoded and written to OUT in the\n"
"    same order, as safetensors that PyTorch, NumPy, MLX or the safetensors package load.\n"
"    Quantized tensors are dequantized exactly as the specification prescribes (binary32\n"
"    arithmetic, then rounded to nearest even into the output dtype); unquantized tensors are\n"
"    written bit for bit. The source model's safetensors metadata, kept by ecqf-pack under\n"
"    the keys safetensors.metadata.*, is restored as __metadata__.\n"
"\n"
"    OUT is written to a temporary file beside it and renamed into place when complete; an\n"
"    existing OUT is never overwritten without --force.\n"
"\n"
"OPTIONS\n"
"    --dtype f16|bf16|f32\n"
"        Output dtype of every tensor (default: each tensor's original dtype, as recorded in\n"
"        the ECQF dtype field).\n"
"    --mlx\n"
"        Write affine tensors in MLX's quantized layout, as mx.quantize returns it and\n"
"        mlx-lm's quantized checkpoints name it: for a tensor NAME with base B (NAME without a\n"
"        trailing \".weight\"), NAME holds the codes packed into uint32 words, shape\n"
"        [..., cols*bits/32] (each row a little-endian bit stream, first code in the lowest\n"
"        bits), and B.scales and B.biases hold the group parameters, shape [..., cols/group],\n"
"        in the parameter dtype. Other tensors are dequantized as without --mlx. MLX supports\n"
"        bits 2, 3, 4, 5, 6 and 8; 7-bit tensors are dequantized, with a warning.\n"
"    -f, --force\n"
"        Overwrite OUT if it exists.\n"
"    -q, --quiet\n"
"        Print only errors.\n"
"    -v, --verbose\n"
"        Print one line per tensor.\n"
"    -h, --help\n"
"        Show this text.\n"
"    -V, --version\n"
"        Show the version.\n"
"\n"
"EXIT STATUS\n"
"    0 on success, 1 on any error (nothing is left under OUT), 2 on a usage error.\n"
"\n"
"EXAMPLES\n"
"    ecqf-unpack model.ecqf model.safetensors\n"
"    ecqf-unpack --dtype bf16 model.ecqf model-bf16.safetensors\n"
"    ecqf-pack --scheme affine model.safetensors m.ecqf && ecqf-unpack --mlx m.ecqf mlx.safetensors\n";

enum { KIND_VALUES = 0, KIND_MLX_CODES = 1, KIND_MLX_SCALES = 2, KIND_MLX_BIASES = 3 };

typedef struct out_item {
    size_t tensor;     /* ECQF index */
    int kind;
    int dtype;         /* ECQF dtype of values/scales/biases */
    char *name;
} out_item;

static int host_is_le(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

static int mlx_bits_ok(unsigned bits) {
    return bits == 2 || bits == 3 || bits == 4 || bits == 5 || bits == 6 || bits == 8;
}

static char *dup_n(const char *s, size_t n, const char *suffix) {
    size_t sl = suffix ? strlen(suffix) : 0;
    char *r = malloc(n + sl + 1);
    if (!r) return NULL;
    memcpy(r, s, n);
    if (sl) memcpy(r + n, suffix, sl);
    r[n + sl] = '\0';
    return r;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *st_dtype_of(int dtype) {
    switch (dtype) {
    case ECQF_DTYPE_F16: return "F16";
    case ECQF_DTYPE_BF16: return "BF16";
    default: return "F32";
    }
}

int main(int argc, char **argv) {
    enum { OPT_DTYPE = 256, OPT_MLX };
    static const struct option longopts[] = {
        {"dtype", required_argument, NULL, OPT_DTYPE},
        {"mlx", no_argument, NULL, OPT_MLX},
        {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c, force = 0, mlx = 0, out_dtype = -1, exit_code = CLI_EXIT_FAILURE;
    const char *in, *outp;
    ecqf_reader *r = NULL;
    ecqf_error err;
    size_t n = 0, i, nitems = 0, nmeta = 0, k;
    out_item *items = NULL;
    st_out_tensor *ot = NULL;
    const char **kv = NULL;
    char **kv_own = NULL;
    uint8_t *hdr = NULL;
    size_t hdr_size = 0;
    st_error serr;
    cli_outfile of;
    int of_open = 0;
    cli_progress prog;
    uint64_t total = 0, done_bytes = 0;
    size_t n_mlx = 0, n_deq = 0, n_raw = 0, n_mlx_skipped = 0;
    double t0;

    cli_init(argv[0]);
    memset(&of, 0, sizeof of);
    while ((c = getopt_long(argc, argv, "fqvhV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DTYPE:
            if (!strcmp(optarg, "f32")) out_dtype = ECQF_DTYPE_F32;
            else if (!strcmp(optarg, "f16")) out_dtype = ECQF_DTYPE_F16;
            else if (!strcmp(optarg, "bf16")) out_dtype = ECQF_DTYPE_BF16;
            else {
                cli_error("--dtype: unknown dtype '%s' (f16, bf16 or f32)", optarg);
                fprintf(stderr, "Try '%s --help' for more information.\n", cli_progname());
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_MLX: mlx = 1; break;
        case 'f': force = 1; break;
        case 'q': cli_verbosity = 0; break;
        case 'v': cli_verbosity = 2; break;
        case 'h': cli_print_help(help_text); return CLI_EXIT_OK;
        case 'V': cli_print_version(); return CLI_EXIT_OK;
        default:
            fprintf(stderr, "Try '%s --help' for more information.\n", cli_progname());
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        cli_error(argc - optind < 2 ? "missing operand: IN and OUT are required"
                                    : "too many operands: only IN and OUT are expected");
        fprintf(stderr, "Try '%s --help' for more information.\n", cli_progname());
        return CLI_EXIT_USAGE;
    }
    in = argv[optind];
    outp = argv[optind + 1];
    if (!force && cli_path_exists(outp)) {
        cli_error("%s: output file exists (use --force to overwrite)", outp);
        return CLI_EXIT_FAILURE;
    }
    t0 = cli_now();
    memset(&err, 0, sizeof err);
    if (ecqf_reader_open_file(&r, in, NULL, &err) != ECQF_OK) {
        cli_ecqf_error(&err, "%s", in);
        return CLI_EXIT_FAILURE;
    }

    /* plan the output tensors */
    n = ecqf_reader_tensor_count(r);
    items = calloc(3 * n + 1, sizeof *items);
    ot = calloc(3 * n + 1, sizeof *ot);
    if (!items || !ot) {
        cli_error("out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) {
        ecqf_tensor_info ti;
        int rc = ecqf_reader_tensor_info(r, i, &ti);
        unsigned d;
        if (rc != ECQF_OK) {
            cli_error("%s: tensor %zu: %s", in, i, ecqf_status_name(rc));
            goto done;
        }
        if (mlx && ti.scheme == ECQF_SCHEME_AFFINE &&
            (!mlx_bits_ok(ti.bits) || (ti.cols * ti.bits) % 32 != 0)) {
            cli_warn("tensor %.*s: %u-bit affine codes have no MLX layout; written dequantized",
                     (int)ti.name_length, ti.name, ti.bits);
            n_mlx_skipped++;
        }
        if (mlx && ti.scheme == ECQF_SCHEME_AFFINE && mlx_bits_ok(ti.bits) &&
            (ti.cols * ti.bits) % 32 == 0) {
            size_t bl = ti.name_length;
            if (bl >= 7 && memcmp(ti.name + bl - 7, ".weight", 7) == 0) bl -= 7;
            items[nitems].tensor = i;
            items[nitems].kind = KIND_MLX_CODES;
            items[nitems].name = dup_n(ti.name, ti.name_length, NULL);
            ot[nitems].dtype = "U32";
            ot[nitems].ndim = ti.ndim;
            for (d = 0; d < ti.ndim; d++) ot[nitems].shape[d] = ti.dims[d];
            ot[nitems].shape[ti.ndim - 1] = ti.cols * ti.bits / 32;
            ot[nitems].nbytes = ti.rows * (ti.cols * ti.bits / 8);
            nitems++;
            for (k = 0; k < 2; k++) {
                items[nitems].tensor = i;
                items[nitems].kind = k ? KIND_MLX_BIASES : KIND_MLX_SCALES;
                items[nitems].dtype = ti.param_dtype;
                items[nitems].name = dup_n(ti.name, bl, k ? ".biases" : ".scales");
                ot[nitems].dtype = st_dtype_of(ti.param_dtype);
                ot[nitems].ndim = ti.ndim;
                for (d = 0; d < ti.ndim; d++) ot[nitems].shape[d] = ti.dims[d];
                ot[nitems].shape[ti.ndim - 1] = ti.cols / ti.group_size;
                ot[nitems].nbytes = ti.rows * (ti.cols / ti.group_size) * ecqf_dtype_size(ti.param_dtype);
                nitems++;
            }
            n_mlx++;
        } else {
            items[nitems].tensor = i;
            items[nitems].kind = KIND_VALUES;
            items[nitems].dtype = out_dtype >= 0 ? out_dtype : ti.dtype;
            items[nitems].name = dup_n(ti.name, ti.name_length, NULL);
            ot[nitems].dtype = st_dtype_of(items[nitems].dtype);
            ot[nitems].ndim = ti.ndim;
            for (d = 0; d < ti.ndim; d++) ot[nitems].shape[d] = ti.dims[d];
            ot[nitems].nbytes = ti.numel * ecqf_dtype_size(items[nitems].dtype);
            nitems++;
            if (ti.scheme == ECQF_SCHEME_NONE && items[nitems - 1].dtype == ti.dtype) n_raw++;
            else n_deq++;
        }
    }
    for (k = 0; k < nitems; k++) {
        if (!items[k].name) {
            cli_error("out of memory");
            goto done;
        }
        ot[k].name = items[k].name;
        total += ot[k].nbytes;
    }
    /* names must stay unique (MLX's .scales/.biases could collide with existing tensors) */
    {
        char **sorted = malloc((nitems + 1) * sizeof *sorted);
        if (!sorted) {
            cli_error("out of memory");
            goto done;
        }
        for (k = 0; k < nitems; k++) sorted[k] = items[k].name;
        qsort(sorted, nitems, sizeof *sorted, cmp_names);
        for (k = 1; k < nitems; k++) {
            if (!strcmp(sorted[k - 1], sorted[k])) {
                cli_error("%s: output tensor name '%s' would occur twice (an MLX .scales/.biases "
                          "name collides with an existing tensor)", in, sorted[k]);
                free(sorted);
                goto done;
            }
        }
        free(sorted);
    }
    /* metadata: the source's safetensors __metadata__ */
    {
        size_t nm = ecqf_reader_metadata_count(r), m;
        kv = calloc(2 * nm + 1, sizeof *kv);
        kv_own = calloc(2 * nm + 1, sizeof *kv_own);
        if (!kv || !kv_own) {
            cli_error("out of memory");
            goto done;
        }
        for (m = 0; m < nm; m++) {
            ecqf_metadata md;
            const size_t pl = strlen("safetensors.metadata.");
            if (ecqf_reader_metadata_at(r, m, &md) != ECQF_OK) continue;
            if (md.type != ECQF_META_STRING || md.key_length <= pl ||
                memcmp(md.key, "safetensors.metadata.", pl) != 0)
                continue;
            kv_own[2 * nmeta] = dup_n(md.key + pl, md.key_length - pl, NULL);
            kv_own[2 * nmeta + 1] = dup_n((const char *)md.bytes, md.length, NULL);
            if (!kv_own[2 * nmeta] || !kv_own[2 * nmeta + 1]) {
                cli_error("out of memory");
                nmeta++;
                goto done;
            }
            kv[2 * nmeta] = kv_own[2 * nmeta];
            kv[2 * nmeta + 1] = kv_own[2 * nmeta + 1];
            nmeta++;
        }
    }
    if (st_build_header(ot, nitems, kv, nmeta, &hdr, &hdr_size, &serr) != ST_OK) {
        cli_st_error(&serr);
        goto done;
    }
    if (cli_outfile_open(&of, outp, force) != 0) goto done;
    of_open = 1;
    if (cli_outfile_write(&of, hdr, hdr_size) != 0) goto done;

    cli_progress_start(&prog, "unpacking", total);
    for (k = 0; k < nitems; k++) {
        const out_item *it = &items[k];
        ecqf_tensor_info ti;
        uint8_t *buf = NULL;
        uint64_t nb = ot[k].nbytes;
        int rc;
        if ((rc = ecqf_reader_tensor_info(r, it->tensor, &ti)) != ECQF_OK) {
            cli_progress_end(&prog);
            cli_error("%s: tensor %zu: %s", in, it->tensor, ecqf_status_name(rc));
            goto done;
        }
        if (it->kind == KIND_VALUES || it->kind == KIND_MLX_CODES) {
            if (ecqf_reader_verify_tensor(r, it->tensor, &err) != ECQF_OK) {
                cli_progress_end(&prog);
                cli_ecqf_error(&err, "%s: tensor %s", in, it->name);
                goto done;
            }
        }
        if (nb > SIZE_MAX) {
            cli_progress_end(&prog);
            cli_error("%s: tensor %s is too large for this host", in, it->name);
            goto done;
        }
        if (it->kind == KIND_VALUES && ti.scheme == ECQF_SCHEME_NONE && it->dtype == ti.dtype) {
            /* stored values, bit for bit (NaN payloads included) */
            size_t got;
            if (cli_none_bytes(&ti, &buf, &got, &err) != ECQF_OK || got != nb) {
                free(buf);
                cli_progress_end(&prog);
                cli_ecqf_error(&err, "%s: decoding tensor %s", in, it->name);
                goto done;
            }
        } else if (it->kind == KIND_VALUES) {
            buf = malloc(nb ? (size_t)nb : 1);
            if (!buf) goto oom;
            if (nb && ecqf_tensor_dequantize(r, it->tensor, it->dtype, buf, (size_t)nb, &err) != ECQF_OK) {
                free(buf);
                cli_progress_end(&prog);
                cli_ecqf_error(&err, "%s: decoding tensor %s", in, it->name);
                goto done;
            }
            if (!host_is_le()) { /* to little-endian */
                size_t es = ecqf_dtype_size(it->dtype), e, b;
                for (e = 0; e < (size_t)nb; e += es)
                    for (b = 0; b < es / 2; b++) {
                        uint8_t t = buf[e + b];
                        buf[e + b] = buf[e + es - 1 - b];
                        buf[e + es - 1 - b] = t;
                    }
            }
        } else if (it->kind == KIND_MLX_CODES) {
            uint8_t *codes = malloc(ti.numel ? (size_t)ti.numel : 1);
            uint64_t row, col, rowbytes = ti.cols * ti.bits / 8;
            buf = calloc(nb ? (size_t)nb : 1, 1);
            if (!codes || !buf) {
                free(codes);
                free(buf);
                goto oom;
            }
            if (ti.numel && ecqf_tensor_decode_codes(r, it->tensor, codes, ti.numel, &err) != ECQF_OK) {
                free(codes);
                free(buf);
                cli_progress_end(&prog);
                cli_ecqf_error(&err, "%s: decoding tensor %s", in, it->name);
                goto done;
            }
            /* each row: an LSB-first bit stream, read as little-endian uint32 words */
            for (row = 0; row < ti.rows; row++) {
                uint8_t *dst = buf + row * rowbytes;
                const uint8_t *src = codes + row * ti.cols;
                for (col = 0; col < ti.cols; col++) {
                    uint64_t at = col * ti.bits;
                    unsigned v = src[col], left = ti.bits;
                    while (left) {
                        unsigned sh = (unsigned)(at % 8), take = 8 - sh < left ? 8 - sh : left;
                        dst[at / 8] |= (uint8_t)((v & ((1u << take) - 1)) << sh);
                        v >>= take;
                        left -= take;
                        at += take;
                    }
                }
            }
            free(codes);
        } else {
            /* scales then biases, stored in the params part exactly as MLX wants them */
            const uint8_t *p = ti.part[ECQF_PART_PARAMS];
            if (!p || ti.part_size[ECQF_PART_PARAMS] != 2 * nb) {
                cli_progress_end(&prog);
                cli_error("%s: tensor %s: params part of %llu bytes, expected %llu", in,
                          it->name, (unsigned long long)ti.part_size[ECQF_PART_PARAMS],
                          (unsigned long long)(2 * nb));
                goto done;
            }
            buf = malloc(nb ? (size_t)nb : 1);
            if (!buf) goto oom;
            memcpy(buf, p + (it->kind == KIND_MLX_BIASES ? nb : 0), (size_t)nb);
        }
        rc = cli_outfile_write(&of, buf, (size_t)nb);
        free(buf);
        if (rc) goto done;
        if (cli_verbosity >= 2) {
            cli_progress_end(&prog);
            fprintf(stderr, "%s: %-56s %-5s %12llu bytes  %s\n", cli_progname(), it->name,
                    ot[k].dtype, (unsigned long long)nb,
                    it->kind == KIND_MLX_CODES ? "MLX packed codes"
                    : it->kind == KIND_MLX_SCALES ? "MLX scales"
                    : it->kind == KIND_MLX_BIASES ? "MLX biases"
                    : ti.scheme == ECQF_SCHEME_NONE ? "stored values" : "dequantized");
        }
        done_bytes += nb;
        cli_progress_update(&prog, done_bytes, it->name);
    }
    cli_progress_end(&prog);
    of_open = 0;
    if (cli_outfile_commit(&of) != 0) goto done;
    if (cli_verbosity >= 1) {
        char hs[32];
        printf("%s -> %s: %zu tensors written (%zu dequantized, %zu unquantized copied", in, outp,
               nitems, n_deq, n_raw);
        if (mlx) printf(", %zu in MLX layout", n_mlx);
        printf("), %s, %.2f s\n", cli_human_size(hdr_size + total, hs), cli_now() - t0);
    }
    (void)n_mlx_skipped;
    exit_code = CLI_EXIT_OK;
    goto done;
oom:
    cli_error("out of memory");
done:
    if (of_open) cli_outfile_abort(&of);
    free(hdr);
    if (kv_own)
        for (k = 0; k < 2 * nmeta; k++) free(kv_own[k]);
    free(kv_own);
    free(kv);
    if (items)
        for (k = 0; k < nitems; k++) free(items[k].name);
    free(items);
    free(ot);
    ecqf_reader_close(r);
    return exit_code;
}
