/*
 * ecqf-pack — quantize a safetensors or GGUF model and write it as an ECQF file.
 *
 * Tensor by tensor from the read-only mapping of the input: worker threads convert,
 * quantize and encode (ecqf_encode_tensor); the main thread appends the encoded tensors in
 * input order (ecqf_writer_add_encoded). The tensors in flight hold at most 2N times the
 * largest tensor's bytes, so memory stays bounded by a few tensors whatever the model size
 * (except --bpw, whose model-wide rate allocation needs every quantized tensor's values at
 * once; F32 inputs are used in place from the mapping).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "ecqf.h"
#include "gguf.h"
#include "ratecontrol.h"
#include "safetensors.h"

static const char help_text[] =
"NAME\n"
"    ecqf-pack - quantize a safetensors or GGUF model into an ECQF file\n"
"\n"
"SYNOPSIS\n"
"    ecqf-pack [OPTIONS] IN OUT\n"
"\n"
"DESCRIPTION\n"
"    IN is a .safetensors file, a sharded model's *.safetensors.index.json, or a directory\n"
"    holding either. Supported dtypes are F32, F16 and BF16; the input is validated strictly\n"
"    (header size, JSON, UTF-8, offsets, shapes) before anything is written.\n"
"\n"
"    IN may also be a GGUF file (v2 or v3, recognized by its magic, whatever its name), read\n"
"    as strictly (counts, strings, types, alignment, offsets, overlap). Its F32, F16 and BF16\n"
"    tensors are taken as they are; Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K tensors\n"
"    are dequantized to f32 (exactly as ggml does) and then treated like F32 tensors: the\n"
"    quality targets and SQNR figures are measured against those dequantized GGUF values,\n"
"    not against the model the GGUF was made from. GGUF's fastest-first dimensions are\n"
"    reversed into the row-major shape ([ne1, ne0] for a matrix). Scalar metadata is kept\n"
"    under gguf.KEY, and arrays short enough as JSON text (vocabularies are left out).\n"
"\n"
"    By default every 2-D tensor of 4096 or more elements is quantized (with --nd, 3-D and\n"
"    larger ones too); everything else (norms, biases, small tensors) is stored as is, in its\n"
"    own dtype. The default scheme is uniform ECSQ with one step per tensor, chosen so that\n"
"    each tensor keeps the SQNR that MLX-style affine 4-bit quantization with groups of 64\n"
"    (f16 scales and biases) would give it, and the codes are entropy-coded with the\n"
"    smallest of raw, rANS, prefix and zstd.\n"
"\n"
"    OUT is written to a temporary file beside it and renamed into place when complete; an\n"
"    existing OUT is never overwritten without --force.\n"
"\n"
"OPTIONS\n"
"    --scheme ecsq|affine|symmetric\n"
"        Quantization scheme (default ecsq). affine: MLX-style group-wise scale and bias\n"
"        (mx.quantize). symmetric: Q4_0/Q8_0-style block scale.\n"
"    --bits N\n"
"        Code width for affine and symmetric, 2 to 8 (default 4).\n"
"    --group N\n"
"        Group (affine) or block (symmetric) size along the last axis: 16, 32, 64, 128 or 256\n"
"        (default 64 for affine, 32 for symmetric). A tensor whose last dimension is not a\n"
"        multiple of it is stored as is, with a warning.\n"
"    --param-dtype f16|bf16|f32\n"
"        dtype of affine/symmetric scales and biases (default: bf16 for BF16 tensors, f16\n"
"        otherwise; f32 is used for a tensor whose parameters overflow f16).\n"
"    --bpw X\n"
"        ECSQ: model-wide target of X bits per weight over the quantized tensors, side\n"
"        information included; steps follow the equal-slope rule (tools/common/ratecontrol.h).\n"
"    --sqnr D\n"
"        ECSQ: every quantized tensor gets the largest step that keeps an SQNR of D dB.\n"
"    --per-row\n"
"        ECSQ: one step per row instead of one per tensor.\n"
"    --coding auto|rans|prefix|raw|zstd\n"
"        How codes are stored (default auto: the smallest of raw, rans, prefix and zstd for each\n"
"        tensor). Unquantized tensors use raw or zstd.\n"
"    --fusable\n"
"        With auto: choose only among codings that inference kernels decode (raw, rans,\n"
"        prefix).\n"
"    --keep REGEX\n"
"        Store tensors whose name matches the POSIX extended regular expression as is.\n"
"    --skip-unsupported\n"
"        Leave out tensors of dtypes ECQF does not store (I64, I32, U8, BOOL, F64, F8, ...),\n"
"        such as the position_ids buffer of BERT-style models, or GGUF types that cannot be\n"
"        dequantized (Q2_K, Q3_K, IQ*, ...), with a warning for each.\n"
"        Without it such a tensor is an error.\n"
"    --min-elements N\n"
"        Quantize 2-D tensors of at least N elements (default 4096).\n"
"    --nd\n"
"        Also quantize tensors of 3 or more dimensions (stacked MoE experts, convolution\n"
"        kernels), as the matrix the format defines: rows = the product of all dimensions but\n"
"        the last, columns = the last; groups and blocks run along the last dimension.\n"
"    --align N\n"
"        Blob alignment in bytes, a power of two from 64 to 65536 (default 64; 16384 lets\n"
"        blobs be mapped zero-copy into Apple GPU buffers).\n"
"    -j, --threads N\n"
"        Encode on N threads (default 1). Tensors are appended in input order; the tensors\n"
"        in flight hold at most 2N times the largest tensor's bytes, so memory stays bounded\n"
"        by a few tensors whatever the model size.\n"
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
"OUTPUT\n"
"    A progress bar on stderr when it is a terminal, then a summary on stdout: tensors,\n"
"    weights, sizes, the all-in bits per weight over the quantized tensors (blob bytes * 8 /\n"
"    weights, every scale, table and index included), the SQNR reached, and the time.\n"
"\n"
"EXIT STATUS\n"
"    0 on success, 1 on any error (nothing is left under OUT), 2 on a usage error.\n"
"\n"
"EXAMPLES\n"
"    ecqf-pack model.safetensors model.ecqf\n"
"    ecqf-pack -j 2 model-q4_k_m.gguf model.ecqf\n"
"    ecqf-pack --scheme affine --bits 4 --group 64 --coding rans model/ model-g64.ecqf\n"
"    ecqf-pack --bpw 3.0 -j 4 --keep 'embed|lm_head' model.safetensors.index.json m.ecqf\n";

enum { TARGET_AFFINE_MATCH = 0, TARGET_SQNR = 1, TARGET_BPW = 2 };

typedef struct options {
    int scheme;
    unsigned bits, group;
    int param_dtype;           /* -1: by source dtype */
    int target;                /* TARGET_* (ECSQ) */
    double target_value;
    int per_row;
    int coding;                /* ECQF_CODING_* request */
    int fusable;
    const char *keep;
    uint64_t min_elements;
    uint32_t align;
    unsigned threads;
    int force;
    int skip_unsupported;
    int nd;                    /* quantize 3-D and larger tensors too */
    unsigned max_alphabet;
} options;

typedef struct plan {
    const st_tensor *t;
    const gguf_tensor *gt;     /* GGUF input: the tensor t describes (t is a view of it) */
    int dequant;               /* GGUF quantized type: values come from gguf_tensor_to_f32 */
    int scheme;                /* ECQF_SCHEME_* to use; NONE = as is */
    const char *why;           /* why stored as is */
    uint64_t rows, cols;
    double factor;             /* --bpw: step = factor * RMS */
} plan;

typedef struct result {
    ecqf_encoded *enc;
    int rc;
    ecqf_error err;
    char ctx[200];
    int scheme;
    int coding;
    uint64_t blob_size;
    double sse, signal, target_db;
    unsigned alphabet;
    uint64_t escapes;
    int below_target;          /* ECSQ: the target SQNR could not be reached */
    char note[300];
} result;

typedef struct packer {
    const options *o;
    st_model *model;
    gguf_model *gguf;          /* GGUF input instead of model */
    plan *plans;
    size_t n;
    /* pipeline */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    result *slots;             /* ring of cap slots */
    int *state;                /* 0 empty, 1 queued, 2 running, 3 done */
    size_t *slot_index;
    size_t cap;
    size_t next_take;          /* next queued tensor a worker takes */
    size_t submitted;
    int stop;
} packer;

static volatile sig_atomic_t interrupted = 0;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static int to_ecqf_dtype(int st) {
    switch (st) {
    case ST_F16: return ECQF_DTYPE_F16;
    case ST_BF16: return ECQF_DTYPE_BF16;
    default: return ECQF_DTYPE_F32;
    }
}

static int default_param_dtype(const options *o, const st_tensor *t) {
    if (o->param_dtype >= 0) return o->param_dtype;
    return t->dtype == ST_BF16 ? ECQF_DTYPE_BF16 : ECQF_DTYPE_F16;
}

static float param_at(const uint8_t *p, uint64_t i, int dtype) {
    if (dtype == ECQF_DTYPE_F32) {
        uint32_t b = (uint32_t)p[4 * i] | ((uint32_t)p[4 * i + 1] << 8) |
                     ((uint32_t)p[4 * i + 2] << 16) | ((uint32_t)p[4 * i + 3] << 24);
        float f;
        memcpy(&f, &b, 4);
        return f;
    } else {
        uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
        return dtype == ECQF_DTYPE_F16 ? ecqf_f16_to_f32(h) : ecqf_bf16_to_f32(h);
    }
}

static const char *dims_str(const st_tensor *t, char *buf, size_t size) {
    size_t o = 0;
    unsigned d;
    o += (size_t)snprintf(buf, size, "[");
    for (d = 0; d < t->ndim && o < size; d++)
        o += (size_t)snprintf(buf + o, size - o, d ? ", %llu" : "%llu",
                              (unsigned long long)t->shape[d]);
    if (o < size) snprintf(buf + o, size - o, "]");
    return buf;
}

/* The tensor's values as f32: converted from the safetensors dtype, or dequantized from the
 * GGUF block type. Both inputs were fully validated when opened, so this cannot fail. */
static void load_f32(const plan *pl, float *out) {
    if (pl->dequant) (void)gguf_tensor_to_f32(pl->gt, out, pl->t->numel);
    else (void)st_tensor_to_f32(pl->t, out, pl->t->numel);
}

/* GGUF input: st_tensor views of the GGUF tensors, so that the rest of the packer handles
 * both inputs alike. GGUF stores dimensions fastest-first (ne[0] is the row length); the
 * view's shape is the row-major [ne[n-1], ..., ne[0]] that ECQF stores. F32/F16/BF16 data are
 * little-endian row-major already and are used in place; the quantized types are seen as F32
 * tensors whose values come from load_f32 (data points at the GGUF blocks: never read as
 * floats). Types that cannot be dequantized are ST_OTHER, named after their ggml type. */
static st_tensor *gguf_views(const gguf_model *g) {
    size_t n = gguf_tensor_count(g), i;
    st_tensor *v = calloc(n ? n : 1, sizeof *v);
    if (!v) return NULL;
    for (i = 0; i < n; i++) {
        const gguf_tensor *gt = gguf_tensor_at(g, i);
        unsigned d;
        v[i].name = gt->name;
        v[i].name_length = gt->name_length;
        v[i].dtype = gt->type == GGML_T_F16 ? ST_F16 : gt->type == GGML_T_BF16 ? ST_BF16
                     : gt->supported ? ST_F32 : ST_OTHER;
        v[i].dtype_name = gt->type_name;
        v[i].ndim = gt->n_dims;
        for (d = 0; d < gt->n_dims; d++) v[i].shape[d] = gt->shape[d];
        v[i].numel = gt->numel;
        v[i].nbytes = gt->nbytes;
        v[i].data = gt->data;
        v[i].file_offset = gt->file_offset;
    }
    return v;
}

/* Tensor i of the input: the safetensors model's, or the GGUF view. */
static const st_tensor *input_tensor(const st_model *model, const st_tensor *views, size_t i) {
    return views ? &views[i] : st_tensor_at(model, i);
}

/* GGUF metadata into ECQF metadata under "gguf.KEY": integers as U64/I64, floats as F64,
 * booleans as BOOL, strings as STRING, and arrays as compact JSON text when it takes at most
 * GGUF_ARRAY_TEXT_MAX bytes (longer ones, such as vocabularies, are left out). */
#define GGUF_ARRAY_TEXT_MAX 1024
static int copy_gguf_metadata(ecqf_writer *w, const gguf_model *g) {
    size_t i, kept = 0, left = 0;
    char key[ECQF_MAX_KEY_LENGTH + 1], text[GGUF_ARRAY_TEXT_MAX + 1];
    ecqf_error err;
    for (i = 0; i < gguf_kv_count(g); i++) {
        const gguf_kv *kv = gguf_kv_at(g, i);
        uint64_t u;
        int64_t s;
        double f;
        int b, rc;
        const char *str;
        size_t len;
        if (kv->key_length + 5 > ECQF_MAX_KEY_LENGTH) {
            cli_warn("GGUF metadata key %s is too long for ECQF (%zu bytes); left out", kv->key,
                     kv->key_length);
            left++;
            continue;
        }
        snprintf(key, sizeof key, "gguf.%s", kv->key);
        if (gguf_kv_uint(kv, &u) == GGUF_OK) {
            rc = ecqf_writer_add_metadata(w, key, ECQF_META_U64, &u, 8, &err);
        } else if (gguf_kv_int(kv, &s) == GGUF_OK) {
            rc = ecqf_writer_add_metadata(w, key, ECQF_META_I64, &s, 8, &err);
        } else if (gguf_kv_float(kv, &f) == GGUF_OK) {
            rc = ecqf_writer_add_metadata(w, key, ECQF_META_F64, &f, 8, &err);
        } else if (gguf_kv_bool(kv, &b) == GGUF_OK) {
            uint8_t v = (uint8_t)b;
            rc = ecqf_writer_add_metadata(w, key, ECQF_META_BOOL, &v, 1, &err);
        } else if (gguf_kv_string(kv, &str, &len) == GGUF_OK) {
            if (memchr(str, '\0', len) || len > ECQF_MAX_META_VALUE_SIZE) {
                cli_warn("GGUF metadata %s: a NUL character or more than 16 MiB; left out", kv->key);
                left++;
                continue;
            }
            rc = ecqf_writer_add_metadata(w, key, ECQF_META_STRING, str, len, &err);
        } else if (gguf_kv_to_text(kv, text, sizeof text) == GGUF_OK) {
            rc = ecqf_writer_add_metadata(w, key, ECQF_META_STRING, text, strlen(text), &err);
        } else {
            cli_verbose("GGUF metadata %s: array of %llu %s values left out (its JSON text "
                        "exceeds %d bytes)", kv->key, (unsigned long long)kv->array_count,
                        gguf_value_type_name(kv->array_type), GGUF_ARRAY_TEXT_MAX);
            left++;
            continue;
        }
        if (rc) {
            cli_ecqf_error(&err, "metadata key %s", key);
            return -1;
        }
        kept++;
    }
    cli_verbose("GGUF metadata: %zu entries kept under gguf.*, %zu left out", kept, left);
    { /* where the values came from: "GGUF v3, alignment 32, tensors F32:109 Q8_0:10 ..." */
        size_t counts[64] = {0}, o;
        unsigned ty;
        o = (size_t)snprintf(text, sizeof text, "GGUF v%u, alignment %llu, tensors",
                             (unsigned)gguf_version(g), (unsigned long long)gguf_alignment(g));
        for (i = 0; i < gguf_tensor_count(g); i++)
            if (gguf_tensor_at(g, i)->type < 64) counts[gguf_tensor_at(g, i)->type]++;
        for (ty = 0; ty < 64 && o < sizeof text; ty++)
            if (counts[ty])
                o += (size_t)snprintf(text + o, sizeof text - o, " %s:%zu",
                                      gguf_ggml_type_name(ty), counts[ty]);
        if (ecqf_writer_add_metadata_string(w, "ecqf.source.gguf", text, &err)) {
            cli_ecqf_error(&err, "metadata key ecqf.source.gguf");
            return -1;
        }
    }
    return 0;
}

/* SQNR that MLX-style affine 4-bit g64 would give this tensor: the quality the default
 * ECSQ preset matches. Columns beyond the last whole group are left out of the estimate
 * (or, for fewer than 64 columns, the tensor is viewed as one flat row). */
static int affine_reference_db(const float *w, uint64_t rows, uint64_t cols, int pdt,
                               double *db) {
    rc_result r;
    float *tmp = NULL;
    const float *src = w;
    uint64_t R = rows, C = cols;
    int rc;
    if (cols % 64 != 0) {
        if (cols >= 64) {
            uint64_t c2 = cols / 64 * 64, row;
            tmp = malloc((size_t)(rows * c2) * sizeof *tmp);
            if (!tmp) return ECQF_ERR_NOMEM;
            for (row = 0; row < rows; row++)
                memcpy(tmp + row * c2, w + row * cols, (size_t)c2 * sizeof *tmp);
            src = tmp;
            C = c2;
        } else {
            R = 1;
            C = rows * cols / 64 * 64;
            if (C == 0) return ECQF_ERR_INVALID_ARGUMENT;
        }
    }
    rc = rc_affine_measure(src, R, C, 4, 64, pdt, &r);
    if (rc && pdt != ECQF_DTYPE_F32) rc = rc_affine_measure(src, R, C, 4, 64, ECQF_DTYPE_F32, &r);
    free(tmp);
    if (rc) return rc;
    *db = r.sqnr_db;
    if (!isfinite(*db) || *db > 80.0) *db = 80.0;
    return ECQF_OK;
}

static int none_coding(const options *o) {
    switch (o->coding) {
    case ECQF_CODING_ZSTD: return ECQF_CODING_ZSTD;
    case ECQF_CODING_AUTO: return o->fusable ? ECQF_CODING_AUTO_FUSABLE : ECQF_CODING_AUTO;
    default: return ECQF_CODING_RAW;
    }
}

static int q_coding(const options *o) {
    if (o->coding == ECQF_CODING_AUTO && o->fusable) return ECQF_CODING_AUTO_FUSABLE;
    return o->coding;
}

/* Quantize (or not) and encode tensor i. Thread-safe. */
static void process(const packer *P, size_t i, result *r) {
    const options *o = P->o;
    const plan *pl = &P->plans[i];
    const st_tensor *t = pl->t;
    ecqf_tensor_desc d;
    float *wown = NULL, *steps = NULL;
    const float *w = NULL;
    uint8_t *codes = NULL, *params = NULL;
    int32_t *ints = NULL;
    uint64_t numel = t->numel, rows = pl->rows, cols = pl->cols, k;
    unsigned dd;
    int scheme = pl->scheme;

    memset(r, 0, sizeof *r);
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.name = t->name;
    d.ndim = t->ndim;
    for (dd = 0; dd < t->ndim; dd++) d.dims[dd] = t->shape[dd];
    d.dtype = to_ecqf_dtype(t->dtype);

    if (scheme != ECQF_SCHEME_NONE) {
        wown = malloc((size_t)numel * sizeof *wown);
        if (!wown) {
            r->rc = ECQF_ERR_NOMEM;
            snprintf(r->ctx, sizeof r->ctx, "tensor %s: out of memory for %llu values", t->name,
                     (unsigned long long)numel);
            goto out;
        }
        load_f32(pl, wown);
        w = wown;
        for (k = 0; k < numel; k++)
            if (!isfinite(w[k])) break;
        if (k < numel) {
            snprintf(r->note, sizeof r->note,
                     "tensor %s holds a non-finite value at element %llu; stored as is", t->name,
                     (unsigned long long)k);
            scheme = ECQF_SCHEME_NONE;
        }
    }

    if (scheme == ECQF_SCHEME_AFFINE || scheme == ECQF_SCHEME_SYMMETRIC) {
        int pdt = default_param_dtype(o, t), rc;
        uint64_t G = cols / o->group, np = rows * G;
        size_t psz;
        codes = malloc((size_t)numel ? (size_t)numel : 1);
        params = malloc(np ? (size_t)(np * 2 * 4) : 1); /* room for f32 */
        if (!codes || !params) {
            r->rc = ECQF_ERR_NOMEM;
            snprintf(r->ctx, sizeof r->ctx, "tensor %s: out of memory", t->name);
            goto out;
        }
        for (;;) {
            psz = ecqf_dtype_size(pdt);
            if (scheme == ECQF_SCHEME_AFFINE)
                rc = ecqf_quantize_affine(w, rows, cols, o->bits, o->group, pdt, codes, params,
                                          params + np * psz);
            else
                rc = ecqf_quantize_symmetric(w, rows, cols, o->bits, o->group, pdt, codes, params);
            if (rc == ECQF_OK) break;
            if (pdt != ECQF_DTYPE_F32) {
                snprintf(r->note, sizeof r->note,
                         "tensor %s: %s parameters overflow %s; using f32 parameters", t->name,
                         ecqf_scheme_name(scheme), ecqf_dtype_name(pdt));
                pdt = ECQF_DTYPE_F32;
                continue;
            }
            r->rc = rc;
            snprintf(r->err.message, sizeof r->err.message, "%s quantizer refused the tensor",
                     ecqf_scheme_name(scheme));
            r->err.code = rc;
            r->err.offset = ECQF_NO_OFFSET;
            snprintf(r->ctx, sizeof r->ctx, "tensor %s", t->name);
            goto out;
        }
        /* error of the spec's dequantization */
        for (uint64_t rr = 0; rr < rows; rr++) {
            for (uint64_t c = 0; c < cols; c++) {
                uint64_t g = rr * G + c / o->group, e = rr * cols + c;
                float v;
                if (scheme == ECQF_SCHEME_AFFINE) {
                    float s = param_at(params, g, pdt), b = param_at(params + np * psz, g, pdt);
                    float prod = s * (float)codes[e];
                    v = prod + b;
                } else {
                    float s = param_at(params, g, pdt);
                    v = s * (float)((int)codes[e] - (1 << (o->bits - 1)));
                }
                double diff = (double)w[e] - (double)v;
                r->sse += diff * diff;
                r->signal += (double)w[e] * (double)w[e];
            }
        }
        d.scheme = scheme;
        d.coding = q_coding(o);
        d.bits = o->bits;
        d.group_size = o->group;
        d.param_dtype = pdt;
        d.codes = codes;
        d.params = params;
        d.params_size = (size_t)(np * psz * (scheme == ECQF_SCHEME_AFFINE ? 2 : 1));
        r->alphabet = 1u << o->bits;
    } else if (scheme == ECQF_SCHEME_ECSQ) {
        uint64_t nsteps = o->per_row ? rows : 1;
        rc_step_mode mode = o->per_row ? RC_PER_ROW : RC_PER_TENSOR;
        unsigned Q = 0, z = 0, flags = 0;
        double factor = 0;
        rc_result res;
        int rc;
        steps = malloc((size_t)nsteps * sizeof *steps);
        ints = malloc((size_t)numel * sizeof *ints);
        if (!steps || !ints) {
            r->rc = ECQF_ERR_NOMEM;
            snprintf(r->ctx, sizeof r->ctx, "tensor %s: out of memory", t->name);
            goto out;
        }
        for (k = 0; k < numel && w[k] == 0.0f; k++) {}
        if (k == numel) {
            /* all zero: step 0, every k = 0 (rate control has nothing to measure) */
            for (k = 0; k < nsteps; k++) steps[k] = 0.0f;
            r->target_db = NAN;
            rc = ECQF_OK;
        } else if (o->target == TARGET_BPW) {
            rc = rc_ecsq_steps(w, rows, cols, mode, pl->factor, steps);
            r->target_db = NAN;
        } else {
            double target = o->target_value;
            rc = ECQF_OK;
            if (o->target == TARGET_AFFINE_MATCH)
                rc = affine_reference_db(w, rows, cols, default_param_dtype(o, t), &target);
            r->target_db = target;
            if (rc == ECQF_OK)
                rc = rc_ecsq_for_sqnr(w, rows, cols, mode, o->max_alphabet, target, &factor,
                                      steps, &res);
        }
        if (rc == ECQF_OK) rc = ecqf_quantize_ecsq(w, rows, cols, steps, o->per_row, ints);
        if (rc == ECQF_OK)
            rc = ecqf_ecsq_choose_alphabet(ints, numel, o->max_alphabet, &Q, &z, &flags);
        if (rc != ECQF_OK) {
            r->rc = rc;
            r->err.code = rc;
            r->err.offset = ECQF_NO_OFFSET;
            snprintf(r->err.message, sizeof r->err.message,
                     "ECSQ quantization or rate control failed");
            snprintf(r->ctx, sizeof r->ctx, "tensor %s", t->name);
            goto out;
        }
        for (uint64_t rr = 0; rr < rows; rr++) {
            float s = steps[o->per_row ? rr : 0];
            for (uint64_t c = 0; c < cols; c++) {
                uint64_t e = rr * cols + c;
                float v = s * (float)ints[e];
                double diff = (double)w[e] - (double)v;
                r->sse += diff * diff;
                r->signal += (double)w[e] * (double)w[e];
                if (ints[e] < -(int64_t)z || ints[e] > (int64_t)Q - 1 - (int64_t)z -
                                                         ((flags & ECQF_ECSQ_HAS_ESCAPE) ? 1 : 0))
                    r->escapes++;
            }
        }
        if (isfinite(r->target_db) && r->target_db > 0 && r->signal > 0 &&
            rc_sqnr_db(r->signal, r->sse) < r->target_db - 0.005)
            r->below_target = 1;
        d.scheme = ECQF_SCHEME_ECSQ;
        d.coding = q_coding(o);
        d.alphabet = Q;
        d.zero_code = z;
        d.ecsq_flags = (flags & ECQF_ECSQ_HAS_ESCAPE) | (o->per_row ? ECQF_ECSQ_PER_ROW : 0);
        d.ints = ints;
        params = malloc((size_t)nsteps * 4);
        if (!params) {
            r->rc = ECQF_ERR_NOMEM;
            snprintf(r->ctx, sizeof r->ctx, "tensor %s: out of memory", t->name);
            goto out;
        }
        for (k = 0; k < nsteps; k++) { /* f32 little-endian, whatever the host */
            uint32_t b;
            memcpy(&b, &steps[k], 4);
            params[4 * k] = (uint8_t)b;
            params[4 * k + 1] = (uint8_t)(b >> 8);
            params[4 * k + 2] = (uint8_t)(b >> 16);
            params[4 * k + 3] = (uint8_t)(b >> 24);
        }
        d.params = params;
        d.params_size = (size_t)nsteps * 4;
        r->alphabet = Q;
    } else {
        d.scheme = ECQF_SCHEME_NONE;
        d.coding = none_coding(o);
        d.values = t->data;
        scheme = ECQF_SCHEME_NONE;
        if (pl->dequant) { /* a GGUF quantized type: store its dequantized f32 values */
            if (!w) {
                wown = malloc(numel ? (size_t)numel * sizeof *wown : 1);
                if (!wown) {
                    r->rc = ECQF_ERR_NOMEM;
                    snprintf(r->ctx, sizeof r->ctx, "tensor %s: out of memory for %llu values",
                             t->name, (unsigned long long)numel);
                    goto out;
                }
                load_f32(pl, wown);
                w = wown;
            }
            d.values = w;
        }
    }
    r->scheme = d.scheme;
    /* the f32 copy is not needed any more: free it before the encoder's own buffers */
    if (d.values != (const void *)wown) {
        free(wown);
        wown = NULL;
    }
    r->rc = ecqf_encode_tensor(&d, NULL, &r->enc, &r->err);
    if (r->rc != ECQF_OK) {
        snprintf(r->ctx, sizeof r->ctx, "encoding tensor %s", t->name);
        goto out;
    }
    r->blob_size = ecqf_encoded_blob_size(r->enc);
    r->coding = ecqf_encoded_coding(r->enc);
out:
    free(wown);
    free(steps);
    free(ints);
    free(codes);
    free(params);
    if (pl->gt) gguf_release(P->gguf, pl->gt);
    else st_release(P->model, t);
}

/* ---- worker pool ------------------------------------------------------------------------ */

static void *worker(void *arg) {
    packer *P = arg;
    pthread_mutex_lock(&P->mu);
    for (;;) {
        size_t i, s;
        while (!P->stop && P->next_take >= P->submitted) pthread_cond_wait(&P->cv_work, &P->mu);
        if (P->stop) break;
        i = P->next_take++;
        s = i % P->cap;
        P->state[s] = 2;
        pthread_mutex_unlock(&P->mu);
        process(P, i, &P->slots[s]);
        pthread_mutex_lock(&P->mu);
        P->state[s] = 3;
        pthread_cond_broadcast(&P->cv_done);
    }
    pthread_mutex_unlock(&P->mu);
    return NULL;
}

/* ---- main ------------------------------------------------------------------------------- */

static int parse_scheme(const char *s, int *out) {
    if (!strcmp(s, "ecsq")) *out = ECQF_SCHEME_ECSQ;
    else if (!strcmp(s, "affine")) *out = ECQF_SCHEME_AFFINE;
    else if (!strcmp(s, "symmetric")) *out = ECQF_SCHEME_SYMMETRIC;
    else return -1;
    return 0;
}

static int parse_coding(const char *s, int *out) {
    if (!strcmp(s, "auto")) *out = ECQF_CODING_AUTO;
    else if (!strcmp(s, "rans")) *out = ECQF_CODING_RANS;
    else if (!strcmp(s, "prefix")) *out = ECQF_CODING_PREFIX;
    else if (!strcmp(s, "raw")) *out = ECQF_CODING_RAW;
    else if (!strcmp(s, "zstd")) *out = ECQF_CODING_ZSTD;
    else return -1;
    return 0;
}

static int parse_dtype(const char *s, int *out) {
    if (!strcmp(s, "f32")) *out = ECQF_DTYPE_F32;
    else if (!strcmp(s, "f16")) *out = ECQF_DTYPE_F16;
    else if (!strcmp(s, "bf16")) *out = ECQF_DTYPE_BF16;
    else return -1;
    return 0;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    if (s && s[1]) return s + 1;
    return p;
}

static int usage_error(void) {
    fprintf(stderr, "Try '%s --help' for more information.\n", cli_progname());
    return CLI_EXIT_USAGE;
}

enum { OPT_SCHEME = 256, OPT_BITS, OPT_GROUP, OPT_BPW, OPT_SQNR, OPT_CODING, OPT_FUSABLE,
       OPT_KEEP, OPT_ALIGN, OPT_PARAM_DTYPE, OPT_PER_ROW, OPT_MIN_ELEMENTS, OPT_MAX_ALPHABET,
       OPT_SKIP_UNSUPPORTED, OPT_ND };

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"scheme", required_argument, NULL, OPT_SCHEME},
        {"bits", required_argument, NULL, OPT_BITS},
        {"group", required_argument, NULL, OPT_GROUP},
        {"bpw", required_argument, NULL, OPT_BPW},
        {"sqnr", required_argument, NULL, OPT_SQNR},
        {"coding", required_argument, NULL, OPT_CODING},
        {"fusable", no_argument, NULL, OPT_FUSABLE},
        {"keep", required_argument, NULL, OPT_KEEP},
        {"align", required_argument, NULL, OPT_ALIGN},
        {"param-dtype", required_argument, NULL, OPT_PARAM_DTYPE},
        {"per-row", no_argument, NULL, OPT_PER_ROW},
        {"min-elements", required_argument, NULL, OPT_MIN_ELEMENTS},
        {"max-alphabet", required_argument, NULL, OPT_MAX_ALPHABET},
        {"skip-unsupported", no_argument, NULL, OPT_SKIP_UNSUPPORTED},
        {"nd", no_argument, NULL, OPT_ND},
        {"threads", required_argument, NULL, 'j'},
        {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    options o;
    int c, bits_set = 0, group_set = 0, rc, exit_code = CLI_EXIT_FAILURE;
    uint64_t v;
    const char *in, *outp;
    st_model *model = NULL;
    st_error serr;
    gguf_model *gg = NULL;     /* GGUF input */
    st_tensor *views = NULL;   /* its tensors, seen as st_tensors */
    gguf_error gerr;
    ecqf_error err;
    ecqf_writer *writer = NULL;
    ecqf_writer_options wo;
    regex_t keep_re;
    int have_re = 0;
    packer P;
    pthread_t *threads = NULL;
    unsigned nthreads = 0;
    size_t i, appended = 0;
    double t0;
    cli_progress prog;
    uint64_t done_bytes = 0;
    /* statistics */
    uint64_t n_q = 0, n_none = 0, w_q = 0, w_all = 0, bytes_q = 0, bytes_all = 0, esc = 0;
    uint64_t by_coding[4] = {0, 0, 0, 0};
    double sse = 0, sig = 0;
    size_t fallback = 0, skipped = 0, below = 0;
    uint64_t total_bytes = 0, window_bytes = 0, window_budget = 0;

    cli_init(argv[0]);
    memset(&P, 0, sizeof P);
    memset(&o, 0, sizeof o);
    o.scheme = ECQF_SCHEME_ECSQ;
    o.bits = 4;
    o.param_dtype = -1;
    o.target = TARGET_AFFINE_MATCH;
    o.coding = ECQF_CODING_AUTO;
    o.min_elements = 4096;
    o.align = ECQF_DEFAULT_ALIGNMENT;
    o.threads = 1;
    o.max_alphabet = 256;

    while ((c = getopt_long(argc, argv, "j:fqvhV", longopts, NULL)) != -1) {
        double dv;
        switch (c) {
        case OPT_SCHEME:
            if (parse_scheme(optarg, &o.scheme)) {
                cli_error("--scheme: unknown scheme '%s' (ecsq, affine or symmetric)", optarg);
                return usage_error();
            }
            break;
        case OPT_BITS:
            if (cli_parse_u64("--bits", optarg, 2, 8, &v)) return usage_error();
            o.bits = (unsigned)v;
            bits_set = 1;
            break;
        case OPT_GROUP:
            if (cli_parse_u64("--group", optarg, 16, 256, &v)) return usage_error();
            if (v != 16 && v != 32 && v != 64 && v != 128 && v != 256) {
                cli_error("--group %s: must be 16, 32, 64, 128 or 256", optarg);
                return usage_error();
            }
            o.group = (unsigned)v;
            group_set = 1;
            break;
        case OPT_BPW:
        case OPT_SQNR: {
            int is_bpw = c == OPT_BPW, target = is_bpw ? TARGET_BPW : TARGET_SQNR;
            if (cli_parse_double(is_bpw ? "--bpw" : "--sqnr", optarg, is_bpw ? 0.01 : 0.1,
                                 is_bpw ? 32.0 : 200.0, &dv))
                return usage_error();
            if (o.target != TARGET_AFFINE_MATCH && o.target != target) {
                cli_error("--bpw and --sqnr exclude each other");
                return usage_error();
            }
            o.target = target;
            o.target_value = dv;
            break;
        }
        case OPT_CODING:
            if (parse_coding(optarg, &o.coding)) {
                cli_error("--coding: unknown coding '%s' (auto, rans, prefix, raw or zstd)", optarg);
                return usage_error();
            }
            break;
        case OPT_FUSABLE: o.fusable = 1; break;
        case OPT_ND: o.nd = 1; break;
        case OPT_KEEP: o.keep = optarg; break;
        case OPT_ALIGN:
            if (cli_parse_u64("--align", optarg, 64, 65536, &v)) return usage_error();
            if (v & (v - 1)) {
                cli_error("--align %s: must be a power of two from 64 to 65536", optarg);
                return usage_error();
            }
            o.align = (uint32_t)v;
            break;
        case OPT_PARAM_DTYPE:
            if (parse_dtype(optarg, &o.param_dtype)) {
                cli_error("--param-dtype: unknown dtype '%s' (f16, bf16 or f32)", optarg);
                return usage_error();
            }
            break;
        case OPT_PER_ROW: o.per_row = 1; break;
        case OPT_SKIP_UNSUPPORTED: o.skip_unsupported = 1; break;
        case OPT_MIN_ELEMENTS:
            if (cli_parse_u64("--min-elements", optarg, 1, UINT64_MAX, &v)) return usage_error();
            o.min_elements = v;
            break;
        case OPT_MAX_ALPHABET:
            if (cli_parse_u64("--max-alphabet", optarg, 2, 256, &v)) return usage_error();
            o.max_alphabet = (unsigned)v;
            break;
        case 'j':
            if (cli_parse_u64("-j", optarg, 1, 256, &v)) return usage_error();
            o.threads = (unsigned)v;
            break;
        case 'f': o.force = 1; break;
        case 'q': cli_verbosity = 0; break;
        case 'v': cli_verbosity = 2; break;
        case 'h': cli_print_help(help_text); return CLI_EXIT_OK;
        case 'V': cli_print_version(); return CLI_EXIT_OK;
        default: return usage_error();
        }
    }
    if (argc - optind != 2) {
        cli_error(argc - optind < 2 ? "missing operand: IN and OUT are required"
                                    : "too many operands: only IN and OUT are expected");
        return usage_error();
    }
    in = argv[optind];
    outp = argv[optind + 1];
    if (o.scheme == ECQF_SCHEME_ECSQ && (bits_set || group_set)) {
        cli_error("--bits and --group apply to --scheme affine or symmetric, not ecsq");
        return usage_error();
    }
    if (o.scheme != ECQF_SCHEME_ECSQ && (o.target != TARGET_AFFINE_MATCH || o.per_row)) {
        cli_error("--bpw, --sqnr and --per-row apply to --scheme ecsq");
        return usage_error();
    }
    if (o.fusable && o.coding != ECQF_CODING_AUTO) {
        cli_error("--fusable applies to --coding auto");
        return usage_error();
    }
    if (!group_set) o.group = o.scheme == ECQF_SCHEME_SYMMETRIC ? 32 : 64;
    if (o.keep) {
        int e = regcomp(&keep_re, o.keep, REG_EXTENDED | REG_NOSUB);
        if (e) {
            char msg[256];
            regerror(e, &keep_re, msg, sizeof msg);
            cli_error("--keep '%s': %s", o.keep, msg);
            return usage_error();
        }
        have_re = 1;
    }
    if (!o.force && cli_path_exists(outp)) {
        cli_error("%s: output file exists (use --force to overwrite)", outp);
        goto done;
    }

    t0 = cli_now();
    if (gguf_file_has_magic(in)) { /* GGUF, whatever the file's name */
        if (gguf_open(&gg, in, GGUF_OPEN_ALLOW_UNSUPPORTED, &gerr) != GGUF_OK) {
            cli_error("%s: %s", gguf_status_name(gerr.code), gerr.message);
            goto done;
        }
        views = gguf_views(gg);
        if (!views) {
            cli_error("out of memory");
            goto done;
        }
    } else if (st_open_ex(&model, in, ST_OPEN_ALLOW_UNSUPPORTED, &serr) != ST_OK) {
        cli_st_error(&serr);
        goto done;
    }

    /* plan: every tensor of a supported dtype, in input order */
    P.o = &o;
    P.model = model;
    P.gguf = gg;
    {
        size_t nt = gg ? gguf_tensor_count(gg) : st_tensor_count(model), unsupported = 0;
        const st_tensor *first_bad = NULL;
        for (i = 0; i < nt; i++)
            if (input_tensor(model, views, i)->dtype == ST_OTHER) {
                if (!first_bad) first_bad = input_tensor(model, views, i);
                unsupported++;
            }
        if (unsupported && !o.skip_unsupported && gg) {
            cli_error("%s: %s: unsupported ggml type %s for tensor '%s' (ecqf-pack dequantizes "
                      "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K); %zu "
                      "tensor%s of such types: pass --skip-unsupported to pack the model "
                      "without %s", gguf_status_name(GGUF_ERR_UNSUPPORTED_TYPE), in,
                      first_bad->dtype_name, first_bad->name, unsupported,
                      unsupported == 1 ? " is" : "s are", unsupported == 1 ? "it" : "them");
            goto done;
        }
        if (unsupported && !o.skip_unsupported) {
            cli_error("%s: %s: unsupported dtype %s for tensor '%s' (ECQF stores F32, F16 and "
                      "BF16 only); %zu tensor%s of such dtypes: pass --skip-unsupported to pack "
                      "the model without %s", st_status_name(ST_ERR_UNSUPPORTED_DTYPE),
                      st_file_path(model, first_bad->file), first_bad->dtype_name,
                      first_bad->name, unsupported, unsupported == 1 ? " is" : "s are",
                      unsupported == 1 ? "it" : "them");
            goto done;
        }
        P.plans = calloc(nt ? nt : 1, sizeof *P.plans);
        if (!P.plans) {
            cli_error("out of memory");
            goto done;
        }
        for (i = 0; i < nt; i++) {
            const st_tensor *t = input_tensor(model, views, i);
            plan *pl;
            unsigned dd;
            if (t->dtype == ST_OTHER) {
                char shp[96];
                cli_warn("tensor %s (%s %s) left out: %s", t->name, t->dtype_name,
                         dims_str(t, shp, sizeof shp),
                         gg ? "ggml type that ecqf-pack cannot dequantize"
                            : "ECQF stores F32, F16 and BF16 only");
                skipped++;
                continue;
            }
            pl = &P.plans[P.n++];
            pl->t = t;
            if (gg) {
                pl->gt = gguf_tensor_at(gg, i);
                pl->dequant = !gguf_ggml_type_is_float(pl->gt->type);
            }
            total_bytes += t->nbytes;
            pl->cols = t->ndim ? t->shape[t->ndim - 1] : 1;
            pl->rows = 1;
            for (dd = 0; dd + 1 < t->ndim; dd++) pl->rows *= t->shape[dd];
            pl->scheme = ECQF_SCHEME_NONE;
            if (t->ndim < 2) pl->why = "1-D or scalar";
            else if (t->ndim > 2 && !o.nd) pl->why = "more than 2-D (see --nd)";
            else if (t->numel < o.min_elements) pl->why = "small";
            else if (have_re && regexec(&keep_re, t->name, 0, NULL, 0) == 0) pl->why = "--keep";
            else if (o.scheme != ECQF_SCHEME_ECSQ && pl->cols % o.group != 0) {
                pl->why = "last dimension not a multiple of the group";
                cli_warn("tensor %s: last dimension %llu is not a multiple of the group size %u; "
                         "stored as is", t->name, (unsigned long long)pl->cols, o.group);
            } else pl->scheme = o.scheme;
        }
    }

    /* --bpw: model-wide allocation over every quantized tensor. Each tensor's rate/distortion
     * curve is sampled with only that tensor in memory (as f32), then the factors are chosen
     * from the curves; process() loads each tensor again when it encodes it. */
    if (o.scheme == ECQF_SCHEME_ECSQ && o.target == TARGET_BPW) {
        rc_curve *curves = NULL;
        double *factors = NULL;
        size_t *owner = NULL, nq = 0, j = 0;
        uint64_t total_n = 0, done_n = 0, max_n = 0;
        double achieved = 0;
        float *tmp = NULL;
        int failed = 0;
        for (i = 0; i < P.n; i++) nq += P.plans[i].scheme != ECQF_SCHEME_NONE;
        if (nq) {
            curves = malloc(nq * sizeof *curves);
            factors = malloc(nq * sizeof *factors);
            owner = malloc(nq * sizeof *owner);
            if (!curves || !factors || !owner) {
                cli_error("out of memory");
                failed = 1;
            }
            for (i = 0; i < P.n; i++)
                if (P.plans[i].scheme != ECQF_SCHEME_NONE) {
                    total_n += P.plans[i].t->numel;
                    if (P.plans[i].t->numel > max_n) max_n = P.plans[i].t->numel;
                }
            cli_progress_start(&prog, "rate curves", total_n);
            for (i = 0; i < P.n && !failed; i++) {
                plan *pl = &P.plans[i];
                const st_tensor *t = pl->t;
                const float *w;
                uint64_t k;
                if (pl->scheme == ECQF_SCHEME_NONE) continue;
                cli_progress_update(&prog, done_n, t->name);
                done_n += t->numel;
                if (!pl->dequant && t->dtype == ST_F32 &&
                    ((uintptr_t)t->data % sizeof(float)) == 0 &&
                    ((const uint8_t *)&(uint32_t){1})[0] == 1) {
                    w = (const float *)(const void *)t->data; /* zero-copy */
                } else {
                    /* one buffer for all, sized to the largest tensor */
                    if (!tmp) tmp = malloc(max_n ? (size_t)max_n * sizeof(float) : 1);
                    if (!tmp) {
                        cli_error("--bpw: out of memory converting tensor %s (%llu values)",
                                  t->name, (unsigned long long)t->numel);
                        failed = 1;
                        break;
                    }
                    load_f32(pl, tmp);
                    w = tmp;
                }
                for (k = 0; k < t->numel; k++)
                    if (!isfinite(w[k])) break;
                if (k < t->numel) continue; /* process() stores it as is, with a warning */
                rc = rc_curve_sample(w, pl->rows, pl->cols, o.per_row ? RC_PER_ROW : RC_PER_TENSOR,
                                     o.max_alphabet, o.target_value, &curves[j]);
                if (rc) {
                    cli_error("--bpw %g: tensor %s: rate curve failed: %s", o.target_value,
                              t->name, ecqf_status_name(rc));
                    failed = 1;
                    break;
                }
                owner[j++] = i;
            }
            cli_progress_end(&prog);
            free(tmp);
            if (!failed && j) {
                rc = rc_curves_allocate(curves, j, RC_DIST_RELATIVE, o.target_value, factors, NULL,
                                        &achieved, NULL);
                if (rc) {
                    cli_error("--bpw %g: model-wide rate allocation failed: %s", o.target_value,
                              ecqf_status_name(rc));
                    failed = 1;
                } else {
                    cli_verbose("--bpw %g: estimated %.3f bits/weight after allocation",
                                o.target_value, achieved);
                }
            }
            for (i = 0; i < P.n; i++) P.plans[i].factor = 1.0; /* non-finite: stored as is */
            for (size_t q = 0; !failed && q < j; q++) P.plans[owner[q]].factor = factors[q];
            free(curves);
            free(factors);
            free(owner);
            if (failed) goto done;
        }
    }

    /* writer */
    memset(&wo, 0, sizeof wo);
    wo.struct_size = sizeof wo;
    wo.alignment = o.align;
    wo.flags = o.force ? ECQF_WRITE_OVERWRITE : 0;
    if (ecqf_writer_create(&writer, outp, &wo, &err) != ECQF_OK) {
        if (err.code == ECQF_ERR_EXISTS)
            cli_error("%s: output file exists (use --force to overwrite)", outp);
        else
            cli_ecqf_error(&err, "cannot create %s", outp);
        writer = NULL;
        goto done;
    }
    {
        char buf[512], k2[300];
        size_t m;
        snprintf(buf, sizeof buf, "ecqf-pack %s", ecqf_version_string());
        if (ecqf_writer_add_metadata_string(writer, "ecqf.writer", buf, &err) ||
            ecqf_writer_add_metadata_string(writer, "ecqf.source", base_name(in), &err)) {
            cli_ecqf_error(&err, "metadata");
            goto done;
        }
        if (o.scheme == ECQF_SCHEME_ECSQ) {
            if (o.target == TARGET_AFFINE_MATCH) snprintf(k2, sizeof k2, "affine4g64-sqnr");
            else snprintf(k2, sizeof k2, "%s:%g", o.target == TARGET_SQNR ? "sqnr" : "bpw",
                          o.target_value);
            snprintf(buf, sizeof buf, "scheme=ecsq steps=%s target=%s max_alphabet=%u "
                     "coding=%s%s min_elements=%llu align=%u",
                     o.per_row ? "per-row" : "per-tensor", k2, o.max_alphabet,
                     o.coding == ECQF_CODING_AUTO ? "auto" : ecqf_coding_name(o.coding),
                     o.fusable ? " fusable" : "", (unsigned long long)o.min_elements, o.align);
        } else {
            snprintf(buf, sizeof buf, "scheme=%s bits=%u group=%u param_dtype=%s coding=%s%s "
                     "min_elements=%llu align=%u", ecqf_scheme_name(o.scheme), o.bits, o.group,
                     o.param_dtype < 0 ? "auto" : ecqf_dtype_name(o.param_dtype),
                     o.coding == ECQF_CODING_AUTO ? "auto" : ecqf_coding_name(o.coding),
                     o.fusable ? " fusable" : "", (unsigned long long)o.min_elements, o.align);
        }
        if (o.keep) {
            size_t L = strlen(buf);
            snprintf(buf + L, sizeof buf - L, " keep=%s", o.keep);
        }
        if (ecqf_writer_add_metadata_string(writer, "ecqf.pack.options", buf, &err)) {
            cli_ecqf_error(&err, "metadata");
            goto done;
        }
        for (m = 0; m < st_metadata_count(model); m++) {
            const char *key, *val;
            size_t kl, vl;
            char *full;
            (void)st_metadata_at(model, m, &key, &kl, &val, &vl);
            if (memchr(key, '\0', kl) || memchr(val, '\0', vl) || kl + 21 > ECQF_MAX_KEY_LENGTH ||
                vl > ECQF_MAX_META_VALUE_SIZE) {
                cli_warn("source metadata entry %zu (key of %zu bytes) cannot be kept: NUL "
                         "character or too long", m, kl);
                continue;
            }
            full = malloc(kl + 22);
            if (!full) {
                cli_error("out of memory");
                goto done;
            }
            snprintf(full, kl + 22, "safetensors.metadata.%s", key);
            rc = ecqf_writer_add_metadata_string(writer, full, val, &err);
            free(full);
            if (rc) {
                cli_ecqf_error(&err, "metadata key %s", key);
                goto done;
            }
        }
        if (gg && copy_gguf_metadata(writer, gg) != 0) goto done;
    }

    /* pipeline */
    nthreads = o.threads > 1 ? o.threads : 0;
    /* The window: tensors are handed to workers in input order and appended in input order.
     * A tensor may enter the window while the input bytes of the tensors in it (queued,
     * being encoded, or encoded and waiting for their turn) stay within 2N times the
     * largest tensor, so small tensors keep the workers busy while a large one is encoded,
     * and memory stays bounded by about 2N large tensors whatever the model size. */
    P.cap = 1;
    if (nthreads) {
        uint64_t maxb = 0;
        for (i = 0; i < P.n; i++)
            if (P.plans[i].t->nbytes > maxb) maxb = P.plans[i].t->nbytes;
        P.cap = P.n < 1024 ? (P.n ? P.n : 1) : 1024;
        if (P.cap < 2 * (size_t)nthreads) P.cap = 2 * (size_t)nthreads;
        window_budget = 2 * (uint64_t)nthreads * (maxb ? maxb : 1);
    }
    P.slots = calloc(P.cap, sizeof *P.slots);
    P.state = calloc(P.cap, sizeof *P.state);
    if (!P.slots || !P.state) {
        cli_error("out of memory");
        goto done;
    }
    if (nthreads) {
        pthread_mutex_init(&P.mu, NULL);
        pthread_cond_init(&P.cv_work, NULL);
        pthread_cond_init(&P.cv_done, NULL);
        threads = calloc(nthreads, sizeof *threads);
        if (!threads) {
            cli_error("out of memory");
            nthreads = 0;
            goto done;
        }
        for (i = 0; i < nthreads; i++) {
            if (pthread_create(&threads[i], NULL, worker, &P) != 0) {
                cli_error("cannot start thread %zu: %s", i, strerror(errno));
                pthread_mutex_lock(&P.mu);
                P.stop = 1;
                pthread_cond_broadcast(&P.cv_work);
                pthread_mutex_unlock(&P.mu);
                nthreads = (unsigned)i;
                goto done;
            }
        }
    }
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    cli_progress_start(&prog, "packing", total_bytes);
    for (appended = 0; appended < P.n; appended++) {
        size_t s = appended % P.cap;
        result *r;
        const plan *pl = &P.plans[appended];
        if (nthreads) {
            pthread_mutex_lock(&P.mu);
            while (P.submitted < P.n && P.submitted - appended < P.cap &&
                   (P.submitted == appended ||
                    window_bytes + P.plans[P.submitted].t->nbytes <= window_budget)) {
                P.state[P.submitted % P.cap] = 1;
                window_bytes += P.plans[P.submitted].t->nbytes;
                P.submitted++;
                pthread_cond_broadcast(&P.cv_work);
            }
            while (P.state[s] != 3 && !interrupted) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 100000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&P.cv_done, &P.mu, &ts);
            }
            pthread_mutex_unlock(&P.mu);
        } else if (!interrupted) {
            process(&P, appended, &P.slots[0]);
            P.state[0] = 3;
        }
        if (interrupted) {
            cli_progress_end(&prog);
            cli_error("interrupted; %s not written", outp);
            goto done;
        }
        r = &P.slots[s];
        if (r->note[0]) {
            cli_progress_end(&prog);
            cli_warn("%s", r->note);
            cli_progress_start(&prog, "packing", total_bytes);
            fallback++;
        }
        if (r->rc != ECQF_OK) {
            cli_progress_end(&prog);
            cli_ecqf_error(&r->err, "%s", r->ctx);
            goto done;
        }
        if (ecqf_writer_add_encoded(writer, r->enc, &err) != ECQF_OK) {
            cli_progress_end(&prog);
            cli_ecqf_error(&err, "appending tensor %s", pl->t->name);
            goto done;
        }
        /* statistics */
        w_all += pl->t->numel;
        bytes_all += r->blob_size;
        if (r->coding >= 0 && r->coding < 4) by_coding[r->coding]++;
        if (r->scheme != ECQF_SCHEME_NONE) {
            n_q++;
            w_q += pl->t->numel;
            bytes_q += r->blob_size;
            sse += r->sse;
            sig += r->signal;
            esc += r->escapes;
            below += (size_t)r->below_target;
        } else {
            n_none++;
        }
        if (cli_verbosity >= 2) {
            char shp[96];
            cli_progress_end(&prog);
            if (r->scheme != ECQF_SCHEME_NONE) {
                char tgt[48] = "";
                if (r->scheme == ECQF_SCHEME_ECSQ && isfinite(r->target_db) && r->target_db > 0)
                    snprintf(tgt, sizeof tgt, " (target %.2f)", r->target_db);
                fprintf(stderr, "%s: %-48s %-14s %-9s %-6s %9llu B %6.3f b/w  SQNR %6.2f dB%s\n",
                        cli_progname(), pl->t->name, dims_str(pl->t, shp, sizeof shp),
                        ecqf_scheme_name(r->scheme), ecqf_coding_name(r->coding),
                        (unsigned long long)r->blob_size,
                        pl->t->numel ? (double)r->blob_size * 8.0 / (double)pl->t->numel : 0.0,
                        rc_sqnr_db(r->signal, r->sse), tgt);
            }
            else
                fprintf(stderr, "%s: %-48s %-14s %-9s %-6s %9llu B   kept: %s\n", cli_progname(),
                        pl->t->name, dims_str(pl->t, shp, sizeof shp), "none",
                        ecqf_coding_name(r->coding), (unsigned long long)r->blob_size,
                        r->note[0] ? "non-finite values" : pl->why ? pl->why : "");
        }
        ecqf_encoded_free(r->enc);
        r->enc = NULL;
        if (nthreads) {
            pthread_mutex_lock(&P.mu);
            P.state[s] = 0;
            pthread_mutex_unlock(&P.mu);
        }
        done_bytes += pl->t->nbytes;
        window_bytes -= nthreads ? pl->t->nbytes : 0;
        cli_progress_update(&prog, done_bytes, pl->t->name);
    }
    cli_progress_end(&prog);
    rc = ecqf_writer_finish(writer, &err);
    writer = NULL; /* freed whatever the outcome */
    if (rc != ECQF_OK) {
        if (err.code == ECQF_ERR_EXISTS)
            cli_error("%s: output file exists (use --force to overwrite)", outp);
        else
            cli_ecqf_error(&err, "finishing %s", outp);
        goto done;
    }
    if (cli_verbosity >= 1) {
        struct stat stt;
        double el = cli_now() - t0;
        char a[32], b[32], g1[32], g2[32];
        uint64_t fsize = stat(outp, &stt) == 0 ? (uint64_t)stt.st_size : 0;
        uint64_t insize = total_bytes;
        printf("%s -> %s\n", in, outp);
        printf("  tensors     %zu: %llu quantized (%s), %llu stored as is\n", P.n,
               (unsigned long long)n_q, ecqf_scheme_name(o.scheme), (unsigned long long)n_none);
        printf("  weights     %s, %s of them quantized\n", cli_group_digits(w_all, g1),
               cli_group_digits(w_q, g2));
        printf("  size        %s in -> %s out (%.2f%% of the input; blobs %llu bytes)\n",
               cli_human_size(insize, a), cli_human_size(fsize, b),
               insize ? 100.0 * (double)fsize / (double)insize : 0.0,
               (unsigned long long)bytes_all);
        if (w_q) {
            printf("  quantized   %.3f bits/weight all-in (%llu blob bytes x 8 / %llu weights)\n",
                   (double)bytes_q * 8.0 / (double)w_q, (unsigned long long)bytes_q,
                   (unsigned long long)w_q);
            printf("  quality     SQNR %.2f dB over the quantized tensors", rc_sqnr_db(sig, sse));
            if (o.scheme == ECQF_SCHEME_ECSQ && o.target == TARGET_AFFINE_MATCH)
                printf(" (each tensor matched to affine 4-bit g64)");
            else if (o.scheme == ECQF_SCHEME_ECSQ && o.target == TARGET_SQNR)
                printf(" (target %g dB per tensor)", o.target_value);
            else if (o.scheme == ECQF_SCHEME_ECSQ)
                printf(" (target %g bits/weight)", o.target_value);
            printf("\n");
            if (below)
                printf("  warning     %zu tensor(s) could not reach the target SQNR (the smallest "
                       "step allowed, |k| < 2^21, falls short)\n", below);
            if (o.scheme == ECQF_SCHEME_ECSQ) printf("  escapes     %llu\n", (unsigned long long)esc);
        }
        printf("  codings     raw %llu, rans %llu, prefix %llu, zstd %llu\n",
               (unsigned long long)by_coding[0], (unsigned long long)by_coding[1],
               (unsigned long long)by_coding[2], (unsigned long long)by_coding[3]);
        if (fallback) printf("  warnings    %zu tensor(s) stored as is (see above)\n", fallback);
        if (skipped)
            printf("  left out    %zu tensor(s) of unsupported dtypes (--skip-unsupported)\n",
                   skipped);
        printf("  time        %.2f s (%.1f MB/s of input) with %u thread%s\n", el,
               el > 0 ? (double)insize / el / 1e6 : 0.0, o.threads, o.threads == 1 ? "" : "s");
    }
    exit_code = CLI_EXIT_OK;

done:
    if (nthreads && threads) {
        pthread_mutex_lock(&P.mu);
        P.stop = 1;
        pthread_cond_broadcast(&P.cv_work);
        pthread_mutex_unlock(&P.mu);
        for (i = 0; i < nthreads; i++) pthread_join(threads[i], NULL);
    }
    free(threads);
    if (writer) ecqf_writer_abort(writer);
    if (model || gg) {
        if (P.slots)
            for (i = 0; i < P.cap; i++)
                if (P.slots[i].enc) ecqf_encoded_free(P.slots[i].enc);
        free(P.slots);
        free(P.state);
        free(P.plans);
    }
    st_close(model);
    gguf_close(gg);
    free(views);
    if (have_re) regfree(&keep_re);
    return exit_code;
}
