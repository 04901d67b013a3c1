/*
 * gguf.c — strict GGUF reader and ggml dequantization; see gguf.h for the rules it enforces.
 *
 * Structure: the file is mapped read-only and walked once with a bounds-checked cursor. Key
 * and tensor-name bytes are copied into one string buffer (their pointers are fixed up when
 * the walk is done, since the buffer grows); values and tensor data are referenced in place.
 * Then the cross-entry rules are checked: unique keys and names, general.alignment, offsets
 * aligned and inside the data section, no overlap. Nothing is allocated from a count in the
 * file before that count is bounded by the file size, and the entry arrays grow with the
 * entries actually parsed (so a large declared count costs nothing until it is backed).
 */
#define _DEFAULT_SOURCE 1 /* madvise(MADV_DONTNEED) where the platform has it */

#include "gguf.h"
#include "filemap.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The dequantizers must round every product and sum to float32 on its own, as ggml's
 * reference code does on a machine without fused multiply-add. -std=c11 keeps GCC from
 * contracting; clang needs the pragma. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* ---- errors ------------------------------------------------------------------------- */

static const char *const status_names[GGUF_STATUS_COUNT_] = {
    "GGUF_OK", "GGUF_ERR_IO", "GGUF_ERR_NOMEM", "GGUF_ERR_INVALID_ARGUMENT",
    "GGUF_ERR_TRUNCATED", "GGUF_ERR_BAD_MAGIC", "GGUF_ERR_BAD_VERSION", "GGUF_ERR_TOO_MANY",
    "GGUF_ERR_BAD_STRING", "GGUF_ERR_BAD_UTF8", "GGUF_ERR_BAD_KEY", "GGUF_ERR_DUPLICATE_KEY",
    "GGUF_ERR_BAD_VALUE_TYPE", "GGUF_ERR_BAD_VALUE", "GGUF_ERR_NESTING",
    "GGUF_ERR_BAD_ALIGNMENT", "GGUF_ERR_BAD_NAME", "GGUF_ERR_DUPLICATE_TENSOR",
    "GGUF_ERR_BAD_SHAPE", "GGUF_ERR_OVERFLOW", "GGUF_ERR_UNKNOWN_TYPE",
    "GGUF_ERR_UNSUPPORTED_TYPE", "GGUF_ERR_BAD_OFFSET", "GGUF_ERR_OVERLAP", "GGUF_ERR_NOT_FOUND",
    "GGUF_ERR_LIMIT",
};

const char *gguf_status_name(int status) {
    if (status < 0 || status >= GGUF_STATUS_COUNT_) return "GGUF_ERR_UNKNOWN";
    return status_names[status];
}

#if defined(__GNUC__)
#define GG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GG_PRINTF(a, b)
#endif

/* Fill err with "LABEL: byte OFFSET: message" and return code. */
static int gg_fail(gguf_error *err, int code, const char *label, uint64_t offset,
                   const char *fmt, ...) GG_PRINTF(5, 6);
static int gg_fail(gguf_error *err, int code, const char *label, uint64_t offset,
                   const char *fmt, ...) {
    if (err) {
        va_list ap;
        err->code = code;
        err->offset = offset;
        va_start(ap, fmt);
        text_vmessage(err->message, sizeof err->message, label, offset != GGUF_NO_OFFSET, offset, fmt,
                      ap);
        va_end(ap);
    }
    return code;
}


/* ---- type tables ---------------------------------------------------------------------- */

typedef struct ggml_type_info {
    const char *name;
    uint32_t block_elements, block_bytes;
    int supported;
} ggml_type_info;

/* Block geometry of every ggml type a GGUF file may hold (ggml's type traits). Slots of
 * removed types stay empty, so they read as unknown. */
static const ggml_type_info ggml_types[] = {
    [0] = {"F32", 1, 4, 1},        [1] = {"F16", 1, 2, 1},
    [2] = {"Q4_0", 32, 18, 1},     [3] = {"Q4_1", 32, 20, 1},
    [6] = {"Q5_0", 32, 22, 1},     [7] = {"Q5_1", 32, 24, 1},
    [8] = {"Q8_0", 32, 34, 1},     [9] = {"Q8_1", 32, 36, 0},
    [10] = {"Q2_K", 256, 84, 0},   [11] = {"Q3_K", 256, 110, 0},
    [12] = {"Q4_K", 256, 144, 1},  [13] = {"Q5_K", 256, 176, 1},
    [14] = {"Q6_K", 256, 210, 1},  [15] = {"Q8_K", 256, 292, 0},
    [16] = {"IQ2_XXS", 256, 66, 0}, [17] = {"IQ2_XS", 256, 74, 0},
    [18] = {"IQ3_XXS", 256, 98, 0}, [19] = {"IQ1_S", 256, 50, 0},
    [20] = {"IQ4_NL", 32, 18, 0},  [21] = {"IQ3_S", 256, 110, 0},
    [22] = {"IQ2_S", 256, 82, 0},  [23] = {"IQ4_XS", 256, 136, 0},
    [24] = {"I8", 1, 1, 0},        [25] = {"I16", 1, 2, 0},
    [26] = {"I32", 1, 4, 0},       [27] = {"I64", 1, 8, 0},
    [28] = {"F64", 1, 8, 0},       [29] = {"IQ1_M", 256, 56, 0},
    [30] = {"BF16", 1, 2, 1},
    [34] = {"TQ1_0", 256, 54, 0},  [35] = {"TQ2_0", 256, 66, 0},
    [39] = {"MXFP4", 32, 17, 0},
};
#define GGML_TYPE_SLOTS (sizeof ggml_types / sizeof ggml_types[0])

static const ggml_type_info *type_info(unsigned type) {
    if (type >= GGML_TYPE_SLOTS || !ggml_types[type].name) return NULL;
    return &ggml_types[type];
}

const char *gguf_ggml_type_name(unsigned type) {
    const ggml_type_info *ti = type_info(type);
    return ti ? ti->name : NULL;
}
uint64_t gguf_ggml_block_elements(unsigned type) {
    const ggml_type_info *ti = type_info(type);
    return ti ? ti->block_elements : 0;
}
uint64_t gguf_ggml_block_bytes(unsigned type) {
    const ggml_type_info *ti = type_info(type);
    return ti ? ti->block_bytes : 0;
}
int gguf_ggml_type_supported(unsigned type) {
    const ggml_type_info *ti = type_info(type);
    return ti ? ti->supported : 0;
}
int gguf_ggml_type_is_float(unsigned type) {
    return type == GGML_T_F32 || type == GGML_T_F16 || type == GGML_T_BF16;
}

static const char *const value_type_names[13] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string",
    "array", "uint64", "int64", "float64",
};
static const uint8_t value_type_sizes[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *gguf_value_type_name(unsigned type) {
    return type < 13 ? value_type_names[type] : NULL;
}

/* ---- little-endian loads -------------------------------------------------------------- */

static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t ld32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static uint64_t ld64(const uint8_t *p) { return (uint64_t)ld32(p) | ((uint64_t)ld32(p + 4) << 32); }

/* ---- the model ------------------------------------------------------------------------ */

struct gguf_model {
    char *path;
    const uint8_t *map;
    size_t size;
    int mapped;
    size_t pagesize;
    uint32_t version;
    uint64_t alignment, data_offset;
    gguf_kv *kvs;
    size_t nkv, kv_cap;         /* nkv: declared count; kv_cap: entries allocated so far */
    gguf_tensor *tensors;
    size_t ntensors, t_cap;
    char *strings;              /* keys and names, NUL-terminated */
    size_t strings_used, strings_cap;
    const gguf_kv **kv_sorted;  /* by key */
    const gguf_tensor **t_sorted; /* by name */
};

/* A bounds-checked cursor over the mapping. */
typedef struct cursor {
    const uint8_t *p;
    uint64_t n, i;
    const char *label;
    gguf_error *err;
} cursor;

static int need(cursor *c, uint64_t k, const char *what) {
    if (c->n - c->i < k)
        return gg_fail(c->err, GGUF_ERR_TRUNCATED, c->label, c->i,
                       "the file ends inside %s (%llu bytes needed, %llu left)", what,
                       (unsigned long long)k, (unsigned long long)(c->n - c->i));
    return GGUF_OK;
}

static int rd32(cursor *c, uint32_t *v, const char *what) {
    int rc = need(c, 4, what);
    if (rc) return rc;
    *v = ld32(c->p + c->i);
    c->i += 4;
    return GGUF_OK;
}

static int rd64(cursor *c, uint64_t *v, const char *what) {
    int rc = need(c, 8, what);
    if (rc) return rc;
    *v = ld64(c->p + c->i);
    c->i += 8;
    return GGUF_OK;
}

/* A GGUF string: u64 length, then the bytes (checked against the bytes left). */
static int rd_string(cursor *c, const uint8_t **s, uint64_t *len, const char *what) {
    uint64_t at = c->i, L;
    int rc = rd64(c, &L, what);
    if (rc) return rc;
    if (L > c->n - c->i)
        return gg_fail(c->err, GGUF_ERR_BAD_STRING, c->label, at,
                       "%s: string length %llu exceeds the %llu bytes left in the file", what,
                       (unsigned long long)L, (unsigned long long)(c->n - c->i));
    *s = c->p + c->i;
    *len = L;
    c->i += L;
    return GGUF_OK;
}

/* Append bytes + NUL to the string buffer; *off receives their offset. */
static int strings_add(gguf_model *m, const uint8_t *s, size_t len, size_t *off) {
    if (m->strings_cap - m->strings_used < len + 1) {
        size_t nc = m->strings_cap ? m->strings_cap : 4096;
        char *np;
        while (nc - m->strings_used < len + 1) {
            if (nc > SIZE_MAX / 2) return GGUF_ERR_NOMEM;
            nc *= 2;
        }
        np = realloc(m->strings, nc);
        if (!np) return GGUF_ERR_NOMEM;
        m->strings = np;
        m->strings_cap = nc;
    }
    *off = m->strings_used;
    if (len) memcpy(m->strings + m->strings_used, s, len);
    m->strings[m->strings_used + len] = '\0';
    m->strings_used += len + 1;
    return GGUF_OK;
}

/* The next capacity of an entry array that is full at cap entries: doubling, at most max
 * (the declared count), so that memory follows the entries actually parsed, not the count.
 * 0 when it cannot grow. */
static size_t next_cap(size_t cap, size_t max, size_t elem) {
    size_t nc = cap ? cap * 2 : 16;
    if (nc > max) nc = max;
    if (nc <= cap || nc > SIZE_MAX / elem) return 0;
    return nc;
}

/* Skip a value of type t (already validated as known) at the cursor, checking it. */
static int skip_value(cursor *c, unsigned t, int depth, const char *key);

static int check_value_type(cursor *c, uint64_t at, uint32_t t, const char *key, int elem) {
    char b[160];
    if (t > 12)
        return gg_fail(c->err, GGUF_ERR_BAD_VALUE_TYPE, c->label, at,
                       "key '%s': unknown %svalue type %u (0..12 are defined)",
                       text_show(b, sizeof b, (const uint8_t *)key, strlen(key)),
                       elem ? "array element " : "", (unsigned)t);
    return GGUF_OK;
}

static int skip_elements(cursor *c, unsigned et, uint64_t count, int depth, const char *key) {
    char b[160];
    uint64_t k, at = c->i;
    int rc;
    if (et == GGUF_V_STRING || et == GGUF_V_ARRAY) {
        uint64_t min = et == GGUF_V_STRING ? 8 : 12;
        if (count > (c->n - c->i) / min)
            return gg_fail(c->err, GGUF_ERR_TOO_MANY, c->label, at,
                           "key '%s': an array of %llu %s elements cannot fit in the %llu bytes "
                           "left (each takes at least %llu)",
                           text_show(b, sizeof b, (const uint8_t *)key, strlen(key)),
                           (unsigned long long)count, value_type_names[et],
                           (unsigned long long)(c->n - c->i), (unsigned long long)min);
        for (k = 0; k < count; k++)
            if ((rc = skip_value(c, et, depth, key)) != GGUF_OK) return rc;
        return GGUF_OK;
    }
    {
        uint64_t esz = value_type_sizes[et], total;
        if (__builtin_mul_overflow(count, esz, &total) || total > c->n - c->i)
            return gg_fail(c->err, GGUF_ERR_TOO_MANY, c->label, at,
                           "key '%s': an array of %llu %s values exceeds the %llu bytes left",
                           text_show(b, sizeof b, (const uint8_t *)key, strlen(key)),
                           (unsigned long long)count, value_type_names[et],
                           (unsigned long long)(c->n - c->i));
        if (et == GGUF_V_BOOL)
            for (k = 0; k < count; k++)
                if (c->p[c->i + k] > 1)
                    return gg_fail(c->err, GGUF_ERR_BAD_VALUE, c->label, c->i + k,
                                   "key '%s': boolean array element %llu is %u (0 or 1 only)",
                                   text_show(b, sizeof b, (const uint8_t *)key, strlen(key)),
                                   (unsigned long long)k, c->p[c->i + k]);
        c->i += total;
    }
    return GGUF_OK;
}

static int skip_value(cursor *c, unsigned t, int depth, const char *key) {
    char b[160];
    uint64_t at = c->i;
    int rc;
    if (t == GGUF_V_STRING) {
        const uint8_t *s;
        uint64_t L;
        size_t bad;
        if ((rc = rd_string(c, &s, &L, "a string value")) != GGUF_OK) return rc;
        bad = utf8_bad_at(s, (size_t)L);
        if (bad != (size_t)L)
            return gg_fail(c->err, GGUF_ERR_BAD_UTF8, c->label, at + 8 + bad,
                           "key '%s': ill-formed UTF-8 in a string value",
                           text_show(b, sizeof b, (const uint8_t *)key, strlen(key)));
        return GGUF_OK;
    }
    if (t == GGUF_V_ARRAY) {
        uint32_t et;
        uint64_t count;
        if (depth >= GGUF_MAX_ARRAY_DEPTH)
            return gg_fail(c->err, GGUF_ERR_NESTING, c->label, at,
                           "key '%s': arrays nested more than %d deep",
                           text_show(b, sizeof b, (const uint8_t *)key, strlen(key)),
                           GGUF_MAX_ARRAY_DEPTH);
        if ((rc = rd32(c, &et, "an array's element type")) != GGUF_OK) return rc;
        if ((rc = check_value_type(c, at, et, key, 1)) != GGUF_OK) return rc;
        if ((rc = rd64(c, &count, "an array's length")) != GGUF_OK) return rc;
        return skip_elements(c, et, count, depth + 1, key);
    }
    if ((rc = need(c, value_type_sizes[t], "a value")) != GGUF_OK) return rc;
    if (t == GGUF_V_BOOL && c->p[c->i] > 1)
        return gg_fail(c->err, GGUF_ERR_BAD_VALUE, c->label, c->i,
                       "key '%s': boolean value %u (0 or 1 only)",
                       text_show(b, sizeof b, (const uint8_t *)key, strlen(key)), c->p[c->i]);
    c->i += value_type_sizes[t];
    return GGUF_OK;
}

/* Key bytes as a NUL-terminated string for messages (cut; keys are printable ASCII). */
static const char *key_label(char *buf, size_t size, const uint8_t *s, uint64_t len) {
    size_t n = len < size - 1 ? (size_t)len : size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

static int parse_kvs(gguf_model *m, cursor *c) {
    size_t k, off;
    char kb[200];
    int rc;
    for (k = 0; k < m->nkv; k++) {
        gguf_kv *kv;
        const uint8_t *s;
        uint64_t L, j, at = c->i;
        uint32_t t;
        if (k == m->kv_cap) {
            size_t nc = next_cap(m->kv_cap, m->nkv, sizeof *m->kvs);
            gguf_kv *np = nc ? realloc(m->kvs, nc * sizeof *np) : NULL;
            if (!np)
                return gg_fail(c->err, GGUF_ERR_NOMEM, c->label, GGUF_NO_OFFSET, "out of memory");
            memset(np + m->kv_cap, 0, (nc - m->kv_cap) * sizeof *np);
            m->kvs = np;
            m->kv_cap = nc;
        }
        kv = &m->kvs[k];
        kv->file_offset = at;
        if ((rc = rd_string(c, &s, &L, "a metadata key")) != GGUF_OK) return rc;
        if (L == 0)
            return gg_fail(c->err, GGUF_ERR_BAD_KEY, c->label, at, "metadata key %zu is empty", k);
        if (L > GGUF_MAX_KEY_LENGTH)
            return gg_fail(c->err, GGUF_ERR_BAD_KEY, c->label, at,
                           "metadata key %zu is %llu bytes long (at most %u)", k,
                           (unsigned long long)L, GGUF_MAX_KEY_LENGTH);
        for (j = 0; j < L; j++)
            if (s[j] < 0x20 || s[j] > 0x7E) {
                char b[160];
                return gg_fail(c->err, GGUF_ERR_BAD_KEY, c->label, at + 8 + j,
                               "metadata key '%s' holds byte 0x%02x (keys are printable ASCII)",
                               text_show(b, sizeof b, s, (size_t)L), s[j]);
            }
        key_label(kb, sizeof kb, s, L);
        if ((rc = strings_add(m, s, (size_t)L, &off)) != GGUF_OK)
            return gg_fail(c->err, rc, c->label, GGUF_NO_OFFSET, "out of memory");
        kv->key = (const char *)(uintptr_t)off; /* fixed up by fixup_pointers */
        kv->key_length = (size_t)L;
        at = c->i;
        if ((rc = rd32(c, &t, "a value type")) != GGUF_OK) return rc;
        if ((rc = check_value_type(c, at, t, kb, 0)) != GGUF_OK) return rc;
        kv->type = t;
        if (t == GGUF_V_ARRAY) {
            uint32_t et;
            at = c->i;
            if ((rc = rd32(c, &et, "an array's element type")) != GGUF_OK) return rc;
            if ((rc = check_value_type(c, at, et, kb, 1)) != GGUF_OK) return rc;
            if ((rc = rd64(c, &kv->array_count, "an array's length")) != GGUF_OK) return rc;
            kv->array_type = et;
            kv->value = c->p + c->i;
            at = c->i;
            if ((rc = skip_elements(c, et, kv->array_count, 1, kb)) != GGUF_OK) return rc;
            kv->value_size = c->i - at;
        } else if (t == GGUF_V_STRING) {
            at = c->i;
            if ((rc = skip_value(c, t, 0, kb)) != GGUF_OK) return rc;
            kv->value = c->p + at + 8;
            kv->value_size = c->i - at - 8;
        } else {
            at = c->i;
            if ((rc = skip_value(c, t, 0, kb)) != GGUF_OK) return rc;
            kv->value = c->p + at;
            kv->value_size = c->i - at;
        }
    }
    return GGUF_OK;
}

static void dims_text(char *buf, size_t size, const uint64_t *ne, unsigned n) {
    size_t o = 0;
    unsigned d;
    o += (size_t)snprintf(buf, size, "[");
    for (d = 0; d < n && o < size; d++)
        o += (size_t)snprintf(buf + o, size - o, d ? ", %llu" : "%llu", (unsigned long long)ne[d]);
    if (o < size) snprintf(buf + o, size - o, "]");
}

static int parse_tensor_infos(gguf_model *m, cursor *c, size_t *first_unsupported) {
    size_t k, off;
    int rc;
    *first_unsupported = SIZE_MAX;
    for (k = 0; k < m->ntensors; k++) {
        gguf_tensor *t;
        const ggml_type_info *ti;
        const uint8_t *s;
        uint64_t L, at = c->i, numel = 1, blocks;
        uint32_t nd, type;
        size_t bad;
        unsigned d;
        char nb[160], db[200];
        if (k == m->t_cap) {
            size_t nc = next_cap(m->t_cap, m->ntensors, sizeof *m->tensors);
            gguf_tensor *np = nc ? realloc(m->tensors, nc * sizeof *np) : NULL;
            if (!np)
                return gg_fail(c->err, GGUF_ERR_NOMEM, c->label, GGUF_NO_OFFSET, "out of memory");
            memset(np + m->t_cap, 0, (nc - m->t_cap) * sizeof *np);
            m->tensors = np;
            m->t_cap = nc;
        }
        t = &m->tensors[k];
        t->info_offset = at;
        if ((rc = rd_string(c, &s, &L, "a tensor name")) != GGUF_OK) return rc;
        text_show(nb, sizeof nb, s, (size_t)L);
        if (L == 0)
            return gg_fail(c->err, GGUF_ERR_BAD_NAME, c->label, at, "tensor %zu has an empty name", k);
        if (L > GGUF_MAX_NAME_LENGTH)
            return gg_fail(c->err, GGUF_ERR_BAD_NAME, c->label, at,
                           "tensor %zu's name '%s' is %llu bytes long (at most %d)", k, nb,
                           (unsigned long long)L, GGUF_MAX_NAME_LENGTH);
        bad = utf8_bad_at(s, (size_t)L);
        if (bad != (size_t)L)
            return gg_fail(c->err, GGUF_ERR_BAD_UTF8, c->label, at + 8 + bad,
                           "ill-formed UTF-8 in the name of tensor %zu ('%s')", k, nb);
        if (memchr(s, '\0', (size_t)L))
            return gg_fail(c->err, GGUF_ERR_BAD_NAME, c->label, at,
                           "the name of tensor %zu ('%s') contains a NUL character", k, nb);
        if ((rc = strings_add(m, s, (size_t)L, &off)) != GGUF_OK)
            return gg_fail(c->err, rc, c->label, GGUF_NO_OFFSET, "out of memory");
        t->name = (const char *)(uintptr_t)off;
        t->name_length = (size_t)L;
        at = c->i;
        if ((rc = rd32(c, &nd, "a tensor's dimension count")) != GGUF_OK) return rc;
        if (nd > GGUF_MAX_DIMS)
            return gg_fail(c->err, GGUF_ERR_BAD_SHAPE, c->label, at,
                           "tensor '%s' has %u dimensions (at most %d)", nb, (unsigned)nd,
                           GGUF_MAX_DIMS);
        t->n_dims = nd;
        for (d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (d = 0; d < nd; d++) {
            at = c->i;
            if ((rc = rd64(c, &t->ne[d], "a tensor's dimensions")) != GGUF_OK) return rc;
            if (t->ne[d] > (uint64_t)INT64_MAX)
                return gg_fail(c->err, GGUF_ERR_BAD_SHAPE, c->label, at,
                               "dimension %u of tensor '%s' is %llu (above INT64_MAX)", d, nb,
                               (unsigned long long)t->ne[d]);
        }
        dims_text(db, sizeof db, t->ne, nd);
        for (d = 0; d < nd; d++)
            if (__builtin_mul_overflow(numel, t->ne[d], &numel) || numel > (uint64_t)INT64_MAX)
                return gg_fail(c->err, GGUF_ERR_OVERFLOW, c->label, t->info_offset,
                               "dimensions %s of tensor '%s' overflow: their product does not "
                               "fit 63 bits", db, nb);
        for (d = 0; d < nd; d++) t->shape[d] = t->ne[nd - 1 - d];
        for (d = nd; d < GGUF_MAX_DIMS; d++) t->shape[d] = 1;
        t->numel = numel;
        at = c->i;
        if ((rc = rd32(c, &type, "a tensor's type")) != GGUF_OK) return rc;
        ti = type_info(type);
        if (!ti)
            return gg_fail(c->err, GGUF_ERR_UNKNOWN_TYPE, c->label, at,
                           "unknown ggml type %u for tensor '%s'", (unsigned)type, nb);
        t->type = type;
        t->type_name = ti->name;
        t->supported = ti->supported;
        if (t->ne[0] % ti->block_elements != 0)
            return gg_fail(c->err, GGUF_ERR_BAD_SHAPE, c->label, t->info_offset,
                           "tensor '%s' of type %s has rows of %llu elements (dimensions %s), not "
                           "a multiple of the block size %u", nb, ti->name,
                           (unsigned long long)t->ne[0], db, (unsigned)ti->block_elements);
        blocks = numel / ti->block_elements;
        if (__builtin_mul_overflow(blocks, (uint64_t)ti->block_bytes, &t->nbytes))
            return gg_fail(c->err, GGUF_ERR_OVERFLOW, c->label, t->info_offset,
                           "the size of tensor '%s' (%s, dimensions %s) overflows 64 bits", nb,
                           ti->name, db);
        if ((rc = rd64(c, &t->offset, "a tensor's offset")) != GGUF_OK) return rc;
        if (!ti->supported && *first_unsupported == SIZE_MAX) *first_unsupported = k;
    }
    return GGUF_OK;
}

static void fixup_pointers(gguf_model *m) {
    size_t k;
    for (k = 0; k < m->nkv; k++) m->kvs[k].key = m->strings + (uintptr_t)m->kvs[k].key;
    for (k = 0; k < m->ntensors; k++)
        m->tensors[k].name = m->strings + (uintptr_t)m->tensors[k].name;
}

static int kv_ptr_cmp(const void *a, const void *b) {
    const gguf_kv *x = *(const gguf_kv *const *)a, *y = *(const gguf_kv *const *)b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return (x->file_offset > y->file_offset) - (x->file_offset < y->file_offset);
}

static int t_name_cmp(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return (x->info_offset > y->info_offset) - (x->info_offset < y->info_offset);
}

static int t_offset_cmp(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    if (x->offset != y->offset) return (x->offset > y->offset) - (x->offset < y->offset);
    return (x->info_offset > y->info_offset) - (x->info_offset < y->info_offset);
}

static int parse(gguf_model *m, unsigned flags, gguf_error *err) {
    cursor c;
    uint64_t nt, nkv, room, end, data_size;
    uint32_t version;
    size_t k, first_unsupported;
    const gguf_kv *align_kv;
    const gguf_tensor **by_off = NULL;
    char b1[160], b2[160];
    int rc;

    c.p = m->map;
    c.n = m->size;
    c.i = 0;
    c.label = m->path;
    c.err = err;
    if (m->size < 4 || memcmp(m->map, "GGUF", 4) != 0) {
        if (m->size < 4)
            return gg_fail(err, GGUF_ERR_TRUNCATED, m->path, 0,
                           "file of %zu bytes is too short for the GGUF magic", m->size);
        return gg_fail(err, GGUF_ERR_BAD_MAGIC, m->path, 0,
                       "not a GGUF file: magic bytes %02x %02x %02x %02x, expected \"GGUF\"",
                       m->map[0], m->map[1], m->map[2], m->map[3]);
    }
    c.i = 4;
    if ((rc = rd32(&c, &version, "the header")) != GGUF_OK) return rc;
    if (version == 0)
        return gg_fail(err, GGUF_ERR_BAD_VERSION, m->path, 4, "GGUF version 0 is not valid");
    if ((version & 0xFFFFu) == 0)
        return gg_fail(err, GGUF_ERR_BAD_VERSION, m->path, 4,
                       "GGUF version field 0x%08x: a big-endian file (only little-endian GGUF "
                       "is read)", (unsigned)version);
    if (version == 1)
        return gg_fail(err, GGUF_ERR_BAD_VERSION, m->path, 4,
                       "GGUF version 1 (32-bit counts) is not supported; versions 2 and 3 are");
    if (version > 3)
        return gg_fail(err, GGUF_ERR_BAD_VERSION, m->path, 4,
                       "GGUF version %u is newer than this reader (versions 2 and 3)",
                       (unsigned)version);
    m->version = version;
    if ((rc = rd64(&c, &nt, "the header")) != GGUF_OK) return rc;
    if ((rc = rd64(&c, &nkv, "the header")) != GGUF_OK) return rc;
    /* bound both counts by the file size before allocating anything */
    room = c.n - c.i;
    if (nt > room / 24)
        return gg_fail(err, GGUF_ERR_TOO_MANY, m->path, 8,
                       "tensor count %llu cannot fit in a file of %zu bytes (a tensor info takes "
                       "at least 24 bytes)", (unsigned long long)nt, m->size);
    if (nkv > room / 13)
        return gg_fail(err, GGUF_ERR_TOO_MANY, m->path, 16,
                       "metadata count %llu cannot fit in a file of %zu bytes (a key/value pair "
                       "takes at least 13 bytes)", (unsigned long long)nkv, m->size);
    if (nt * 24 + nkv * 13 > room) /* both products are <= room: no overflow */
        return gg_fail(err, GGUF_ERR_TOO_MANY, m->path, 8,
                       "%llu tensor infos and %llu key/value pairs cannot fit in a file of %zu "
                       "bytes", (unsigned long long)nt, (unsigned long long)nkv, m->size);
    m->nkv = (size_t)nkv;
    m->ntensors = (size_t)nt;

    if ((rc = parse_kvs(m, &c)) != GGUF_OK) return rc;
    if ((rc = parse_tensor_infos(m, &c, &first_unsupported)) != GGUF_OK) return rc;
    end = c.i;
    if (!m->strings && (rc = strings_add(m, (const uint8_t *)"", 0, &k)) != GGUF_OK)
        return gg_fail(err, rc, m->path, GGUF_NO_OFFSET, "out of memory");
    fixup_pointers(m);

    /* unique keys */
    m->kv_sorted = malloc((m->nkv ? m->nkv : 1) * sizeof *m->kv_sorted);
    m->t_sorted = malloc((m->ntensors ? m->ntensors : 1) * sizeof *m->t_sorted);
    if (!m->kv_sorted || !m->t_sorted)
        return gg_fail(err, GGUF_ERR_NOMEM, m->path, GGUF_NO_OFFSET, "out of memory");
    for (k = 0; k < m->nkv; k++) m->kv_sorted[k] = &m->kvs[k];
    qsort(m->kv_sorted, m->nkv, sizeof *m->kv_sorted, kv_ptr_cmp);
    for (k = 1; k < m->nkv; k++)
        if (!strcmp(m->kv_sorted[k - 1]->key, m->kv_sorted[k]->key))
            return gg_fail(err, GGUF_ERR_DUPLICATE_KEY, m->path, m->kv_sorted[k]->file_offset,
                           "duplicate metadata key '%s' (first at byte %llu)",
                           text_show(b1, sizeof b1, (const uint8_t *)m->kv_sorted[k]->key,
                                m->kv_sorted[k]->key_length),
                           (unsigned long long)m->kv_sorted[k - 1]->file_offset);

    /* alignment */
    m->alignment = GGUF_DEFAULT_ALIGNMENT;
    align_kv = gguf_kv_find(m, "general.alignment");
    if (align_kv) {
        uint32_t a;
        if (align_kv->type != GGUF_V_UINT32)
            return gg_fail(err, GGUF_ERR_BAD_VALUE, m->path, align_kv->file_offset,
                           "general.alignment is a%s %s; it must be a uint32",
                           align_kv->type == GGUF_V_INT8 || align_kv->type == GGUF_V_INT16 ||
                                   align_kv->type == GGUF_V_INT32 || align_kv->type == GGUF_V_INT64 ||
                                   align_kv->type == GGUF_V_ARRAY
                               ? "n" : "",
                           value_type_names[align_kv->type]);
        a = ld32(align_kv->value);
        if (a == 0 || (a & (a - 1)) != 0)
            return gg_fail(err, GGUF_ERR_BAD_ALIGNMENT, m->path, align_kv->file_offset,
                           "general.alignment %u is not a power of two", (unsigned)a);
        if (a > GGUF_MAX_ALIGNMENT)
            return gg_fail(err, GGUF_ERR_BAD_ALIGNMENT, m->path, align_kv->file_offset,
                           "general.alignment %u exceeds the limit of %u", (unsigned)a,
                           GGUF_MAX_ALIGNMENT);
        m->alignment = a;
    }

    /* unique tensor names */
    for (k = 0; k < m->ntensors; k++) m->t_sorted[k] = &m->tensors[k];
    qsort(m->t_sorted, m->ntensors, sizeof *m->t_sorted, t_name_cmp);
    for (k = 1; k < m->ntensors; k++)
        if (!strcmp(m->t_sorted[k - 1]->name, m->t_sorted[k]->name))
            return gg_fail(err, GGUF_ERR_DUPLICATE_TENSOR, m->path, m->t_sorted[k]->info_offset,
                           "duplicate tensor name '%s' (first tensor info at byte %llu)",
                           text_show(b1, sizeof b1, (const uint8_t *)m->t_sorted[k]->name,
                                m->t_sorted[k]->name_length),
                           (unsigned long long)m->t_sorted[k - 1]->info_offset);

    /* the data section: from the aligned end of the tensor infos to the end of the file */
    m->data_offset = end + (m->alignment - end % m->alignment) % m->alignment; /* end < 2^63 */
    if (m->data_offset > m->size) {
        if (m->ntensors > 0)
            return gg_fail(err, GGUF_ERR_TRUNCATED, m->path, end,
                           "the data section would start at byte %llu (the tensor infos end at "
                           "byte %llu, aligned to %llu), past the end of the file (%zu bytes)",
                           (unsigned long long)m->data_offset, (unsigned long long)end,
                           (unsigned long long)m->alignment, m->size);
        m->data_offset = m->size;
    }
    data_size = m->size - m->data_offset;
    for (k = 0; k < m->ntensors; k++) {
        gguf_tensor *t = &m->tensors[k];
        uint64_t tend;
        text_show(b1, sizeof b1, (const uint8_t *)t->name, t->name_length);
        if (t->offset % m->alignment != 0)
            return gg_fail(err, GGUF_ERR_BAD_ALIGNMENT, m->path, t->info_offset,
                           "offset %llu of tensor '%s' is not a multiple of the alignment %llu",
                           (unsigned long long)t->offset, b1, (unsigned long long)m->alignment);
        if (__builtin_add_overflow(t->offset, t->nbytes, &tend) || tend > data_size)
            return gg_fail(err, GGUF_ERR_BAD_OFFSET, m->path, t->info_offset,
                           "tensor '%s' (%s, %llu bytes at offset %llu) runs past the end of the "
                           "file: the data section holds %llu bytes (from byte %llu)", b1,
                           t->type_name, (unsigned long long)t->nbytes,
                           (unsigned long long)t->offset, (unsigned long long)data_size,
                           (unsigned long long)m->data_offset);
        t->file_offset = m->data_offset + t->offset;
        t->data = m->map + t->file_offset;
    }

    /* no overlap (empty tensors occupy nothing) */
    by_off = malloc((m->ntensors ? m->ntensors : 1) * sizeof *by_off);
    if (!by_off) return gg_fail(err, GGUF_ERR_NOMEM, m->path, GGUF_NO_OFFSET, "out of memory");
    for (k = 0; k < m->ntensors; k++) by_off[k] = &m->tensors[k];
    qsort(by_off, m->ntensors, sizeof *by_off, t_offset_cmp);
    {
        const gguf_tensor *prev = NULL;
        for (k = 0; k < m->ntensors; k++) {
            const gguf_tensor *t = by_off[k];
            if (t->nbytes == 0) continue;
            if (prev && prev->offset + prev->nbytes > t->offset) {
                rc = gg_fail(err, GGUF_ERR_OVERLAP, m->path, t->info_offset,
                             "tensors '%s' (data bytes %llu..%llu) and '%s' (bytes %llu..%llu) "
                             "overlap",
                             text_show(b1, sizeof b1, (const uint8_t *)prev->name, prev->name_length),
                             (unsigned long long)prev->offset,
                             (unsigned long long)(prev->offset + prev->nbytes),
                             text_show(b2, sizeof b2, (const uint8_t *)t->name, t->name_length),
                             (unsigned long long)t->offset,
                             (unsigned long long)(t->offset + t->nbytes));
                free(by_off);
                return rc;
            }
            prev = t;
        }
    }
    free(by_off);

    if (first_unsupported != SIZE_MAX && !(flags & GGUF_OPEN_ALLOW_UNSUPPORTED)) {
        const gguf_tensor *t = &m->tensors[first_unsupported];
        size_t n = 0;
        for (k = 0; k < m->ntensors; k++) n += !m->tensors[k].supported;
        return gg_fail(err, GGUF_ERR_UNSUPPORTED_TYPE, m->path, t->info_offset,
                       "unsupported ggml type %s for tensor '%s' (%zu tensor%s of types that "
                       "cannot be dequantized; supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, "
                       "Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)", t->type_name,
                       text_show(b1, sizeof b1, (const uint8_t *)t->name, t->name_length), n,
                       n == 1 ? "" : "s");
    }
    return GGUF_OK;
}

/* ---- opening ---------------------------------------------------------------------------- */

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static gguf_model *model_new(const char *label) {
    gguf_model *m = calloc(1, sizeof *m);
    long ps;
    if (!m) return NULL;
    m->path = xstrdup(label);
    if (!m->path) {
        free(m);
        return NULL;
    }
    ps = sysconf(_SC_PAGESIZE);
    m->pagesize = ps > 0 ? (size_t)ps : 4096;
    return m;
}

void gguf_close(gguf_model *m) {
    if (!m) return;
    if (m->mapped) filemap_close(m->map, m->size);
    free(m->path);
    free(m->kvs);
    free(m->tensors);
    free(m->strings);
    free(m->kv_sorted);
    free(m->t_sorted);
    free(m);
}

int gguf_file_has_magic(const char *path) {
    unsigned char b[4];
    ssize_t n;
    int fd;
    struct stat stt;
    if (!path) return 0;
    fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    if (fstat(fd, &stt) != 0 || !S_ISREG(stt.st_mode)) {
        close(fd);
        return 0;
    }
    n = read(fd, b, 4);
    close(fd);
    return n == 4 && memcmp(b, "GGUF", 4) == 0;
}

int gguf_open(gguf_model **out, const char *path, unsigned flags, gguf_error *err) {
    gguf_model *m;
    const void *map = NULL;
    size_t size = 0;
    filemap_failure why;
    filemap_status fs;
    int rc;
    if (!out || !path)
        return gg_fail(err, GGUF_ERR_INVALID_ARGUMENT, NULL, GGUF_NO_OFFSET, "NULL argument");
    *out = NULL;
    fs = filemap_open(path, 24, &map, &size, &why);
    switch (fs) {
    case FILEMAP_OK: break;
    case FILEMAP_NOT_FOUND:
    case FILEMAP_IO:
        return gg_fail(err, fs == FILEMAP_NOT_FOUND ? GGUF_ERR_NOT_FOUND : GGUF_ERR_IO, path,
                       GGUF_NO_OFFSET, "cannot %s: %s", why.what, strerror(why.err_no));
    case FILEMAP_NOT_REGULAR:
        return gg_fail(err, GGUF_ERR_INVALID_ARGUMENT, path, GGUF_NO_OFFSET, "not a regular file");
    case FILEMAP_TOO_SHORT:
        return gg_fail(err, GGUF_ERR_TRUNCATED, path, 0,
                       "file of %llu bytes is too short for the 24-byte GGUF header",
                       (unsigned long long)why.file_size);
    case FILEMAP_TOO_LARGE:
        return gg_fail(err, GGUF_ERR_LIMIT, path, GGUF_NO_OFFSET, "file too large to map");
    }
    m = model_new(path);
    if (!m) {
        filemap_close(map, size);
        return gg_fail(err, GGUF_ERR_NOMEM, path, GGUF_NO_OFFSET, "out of memory");
    }
    m->map = map;
    m->size = size;
    m->mapped = 1;
    if ((rc = parse(m, flags, err)) != GGUF_OK) {
        gguf_close(m);
        return rc;
    }
    *out = m;
    return GGUF_OK;
}

int gguf_open_memory(gguf_model **out, const void *data, size_t size, const char *label,
                     unsigned flags, gguf_error *err) {
    gguf_model *m;
    int rc;
    if (!out || (!data && size))
        return gg_fail(err, GGUF_ERR_INVALID_ARGUMENT, NULL, GGUF_NO_OFFSET, "NULL argument");
    *out = NULL;
    if (!label) label = "<memory>";
    if ((uint64_t)size > (uint64_t)INT64_MAX)
        return gg_fail(err, GGUF_ERR_LIMIT, label, GGUF_NO_OFFSET, "buffer too large");
    if (size < 24)
        return gg_fail(err, GGUF_ERR_TRUNCATED, label, 0,
                       "buffer of %zu bytes is too short for the 24-byte GGUF header", size);
    m = model_new(label);
    if (!m) return gg_fail(err, GGUF_ERR_NOMEM, label, GGUF_NO_OFFSET, "out of memory");
    m->map = data;
    m->size = size;
    if ((rc = parse(m, flags, err)) != GGUF_OK) {
        gguf_close(m);
        return rc;
    }
    *out = m;
    return GGUF_OK;
}

/* ---- accessors ---------------------------------------------------------------------------- */

const char *gguf_path(const gguf_model *m) { return m ? m->path : NULL; }
uint32_t gguf_version(const gguf_model *m) { return m ? m->version : 0; }
uint64_t gguf_alignment(const gguf_model *m) { return m ? m->alignment : 0; }
uint64_t gguf_data_offset(const gguf_model *m) { return m ? m->data_offset : 0; }

size_t gguf_tensor_count(const gguf_model *m) { return m ? m->ntensors : 0; }
const gguf_tensor *gguf_tensor_at(const gguf_model *m, size_t index) {
    return (m && index < m->ntensors) ? &m->tensors[index] : NULL;
}

const gguf_tensor *gguf_find_tensor_named(const gguf_model *m, const char *name) {
    size_t lo = 0, hi;
    if (!m || !name || !m->t_sorted) return NULL;
    hi = m->ntensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->t_sorted[mid]->name, name);
        if (c == 0) return m->t_sorted[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

size_t gguf_kv_count(const gguf_model *m) { return m ? m->nkv : 0; }
const gguf_kv *gguf_kv_at(const gguf_model *m, size_t index) {
    return (m && index < m->nkv) ? &m->kvs[index] : NULL;
}

const gguf_kv *gguf_kv_find(const gguf_model *m, const char *key) {
    size_t lo = 0, hi;
    if (!m || !key || !m->kv_sorted) return NULL;
    hi = m->nkv;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->kv_sorted[mid]->key, key);
        if (c == 0) {
            while (mid > 0 && !strcmp(m->kv_sorted[mid - 1]->key, key)) mid--;
            return m->kv_sorted[mid];
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* ---- values ----------------------------------------------------------------------------- */

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, ex = (h >> 10) & 0x1Fu, man = h & 0x3FFu, bits;
    float f;
    if (ex == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            man &= 0x3FFu;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (man << 13);
        }
    } else if (ex == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((ex + 112u) << 23) | (man << 13);
    }
    memcpy(&f, &bits, 4);
    return f;
}

static float f32_at(const uint8_t *p) {
    uint32_t b = ld32(p);
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static double f64_at(const uint8_t *p) {
    uint64_t b = ld64(p);
    double f;
    memcpy(&f, &b, 8);
    return f;
}

/* Scalar of type t at p, as the three numeric families. */
static int scalar_uint(unsigned t, const uint8_t *p, uint64_t *v) {
    switch (t) {
    case GGUF_V_UINT8: *v = p[0]; return 1;
    case GGUF_V_UINT16: *v = ld16(p); return 1;
    case GGUF_V_UINT32: *v = ld32(p); return 1;
    case GGUF_V_UINT64: *v = ld64(p); return 1;
    default: return 0;
    }
}

static int scalar_int(unsigned t, const uint8_t *p, int64_t *v) {
    switch (t) {
    case GGUF_V_INT8: *v = (int8_t)p[0]; return 1;
    case GGUF_V_INT16: *v = (int16_t)ld16(p); return 1;
    case GGUF_V_INT32: *v = (int32_t)ld32(p); return 1;
    case GGUF_V_INT64: *v = (int64_t)ld64(p); return 1;
    default: return 0;
    }
}

int gguf_kv_uint(const gguf_kv *kv, uint64_t *out) {
    if (!kv || !out || !scalar_uint(kv->type, kv->value, out)) return GGUF_ERR_INVALID_ARGUMENT;
    return GGUF_OK;
}

int gguf_kv_int(const gguf_kv *kv, int64_t *out) {
    if (!kv || !out || !scalar_int(kv->type, kv->value, out)) return GGUF_ERR_INVALID_ARGUMENT;
    return GGUF_OK;
}

int gguf_kv_float(const gguf_kv *kv, double *out) {
    if (!kv || !out) return GGUF_ERR_INVALID_ARGUMENT;
    if (kv->type == GGUF_V_FLOAT32) *out = (double)f32_at(kv->value);
    else if (kv->type == GGUF_V_FLOAT64) *out = f64_at(kv->value);
    else return GGUF_ERR_INVALID_ARGUMENT;
    return GGUF_OK;
}

int gguf_kv_bool(const gguf_kv *kv, int *out) {
    if (!kv || !out || kv->type != GGUF_V_BOOL) return GGUF_ERR_INVALID_ARGUMENT;
    *out = kv->value[0] != 0;
    return GGUF_OK;
}

int gguf_kv_string(const gguf_kv *kv, const char **s, size_t *length) {
    if (!kv || !s || !length || kv->type != GGUF_V_STRING) return GGUF_ERR_INVALID_ARGUMENT;
    *s = (const char *)kv->value;
    *length = (size_t)kv->value_size;
    return GGUF_OK;
}

/* Bounded text output. */
typedef struct tbuf {
    char *b;
    size_t size, n;
    int full;
} tbuf;

static void tput(tbuf *t, const char *s, size_t len) {
    size_t room;
    if (t->full) return;
    room = t->size - 1 - t->n;
    if (len > room) {
        memcpy(t->b + t->n, s, room);
        t->n += room;
        t->full = 1;
    } else {
        memcpy(t->b + t->n, s, len);
        t->n += len;
    }
    t->b[t->n] = '\0';
}

static void tputs(tbuf *t, const char *s) { tput(t, s, strlen(s)); }

static void tjson_string(tbuf *t, const uint8_t *s, uint64_t len) {
    uint64_t i;
    tput(t, "\"", 1);
    for (i = 0; i < len && !t->full; i++) {
        uint8_t c = s[i];
        if (c == '"') tput(t, "\\\"", 2);
        else if (c == '\\') tput(t, "\\\\", 2);
        else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            tput(t, e, 6);
        } else tput(t, (const char *)&s[i], 1);
    }
    tput(t, "\"", 1);
}

static void tnumber(tbuf *t, unsigned type, const uint8_t *p, int json) {
    char num[40];
    uint64_t u;
    int64_t i;
    if (scalar_uint(type, p, &u)) snprintf(num, sizeof num, "%llu", (unsigned long long)u);
    else if (scalar_int(type, p, &i)) snprintf(num, sizeof num, "%lld", (long long)i);
    else if (type == GGUF_V_BOOL) snprintf(num, sizeof num, "%s", p[0] ? "true" : "false");
    else {
        double d = type == GGUF_V_FLOAT32 ? (double)f32_at(p) : f64_at(p);
        if (!isfinite(d)) snprintf(num, sizeof num, "%s", json ? "null" : (isnan(d) ? "nan" : d > 0 ? "inf" : "-inf"));
        else snprintf(num, sizeof num, type == GGUF_V_FLOAT32 ? "%.9g" : "%.17g", d);
    }
    tputs(t, num);
}

/* Render count elements of type et from the cursor as a JSON array body. The bytes were
 * validated at open, but the cursor is still bounds-checked. */
static int render_array(tbuf *t, cursor *c, unsigned et, uint64_t count, int depth) {
    uint64_t k;
    tput(t, "[", 1);
    for (k = 0; k < count && !t->full; k++) {
        if (k) tput(t, ",", 1);
        if (et == GGUF_V_STRING) {
            const uint8_t *s;
            uint64_t L;
            if (rd_string(c, &s, &L, "a string")) return GGUF_ERR_INVALID_ARGUMENT;
            tjson_string(t, s, L);
        } else if (et == GGUF_V_ARRAY) {
            uint32_t e2;
            uint64_t n2;
            if (depth >= GGUF_MAX_ARRAY_DEPTH || rd32(c, &e2, "a type") || e2 > 12 ||
                rd64(c, &n2, "a length"))
                return GGUF_ERR_INVALID_ARGUMENT;
            if (render_array(t, c, e2, n2, depth + 1)) return GGUF_ERR_INVALID_ARGUMENT;
        } else {
            if (c->n - c->i < value_type_sizes[et]) return GGUF_ERR_INVALID_ARGUMENT;
            tnumber(t, et, c->p + c->i, 1);
            c->i += value_type_sizes[et];
        }
    }
    tput(t, "]", 1);
    return GGUF_OK;
}

int gguf_kv_to_text(const gguf_kv *kv, char *buf, size_t size) {
    tbuf t;
    if (!kv || !buf || size == 0) return GGUF_ERR_INVALID_ARGUMENT;
    t.b = buf;
    t.size = size;
    t.n = 0;
    t.full = 0;
    buf[0] = '\0';
    if (kv->type == GGUF_V_STRING) {
        tput(&t, (const char *)kv->value, (size_t)kv->value_size);
    } else if (kv->type == GGUF_V_ARRAY) {
        cursor c;
        c.p = kv->value;
        c.n = kv->value_size;
        c.i = 0;
        c.label = NULL;
        c.err = NULL;
        if (kv->array_type > 12 || render_array(&t, &c, kv->array_type, kv->array_count, 1))
            return GGUF_ERR_INVALID_ARGUMENT;
    } else if (kv->type <= 12) {
        tnumber(&t, kv->type, kv->value, 0);
    } else {
        return GGUF_ERR_INVALID_ARGUMENT;
    }
    return t.full ? GGUF_ERR_LIMIT : GGUF_OK;
}

/* ---- dequantization ----------------------------------------------------------------------
 * Block layouts (ggml-common.h), all little-endian, f16 = IEEE binary16:
 *   Q4_0 (32 weights, 18 bytes): f16 d; 16 bytes of nibbles. Byte j holds weight j in its low
 *        nibble and weight j+16 in its high nibble; w = (q - 8) * d.
 *   Q4_1 (32, 20): f16 d, f16 m; nibbles as Q4_0; w = q * d + m.
 *   Q5_0 (32, 22): f16 d; u32 qh (bit j: 5th bit of weight j); nibbles as Q4_0;
 *        w = (q - 16) * d.
 *   Q5_1 (32, 24): f16 d, f16 m; u32 qh; nibbles; w = q * d + m.
 *   Q8_0 (32, 34): f16 d; 32 int8 q; w = q * d.
 *   Q4_K (256, 144): f16 d, f16 dmin; 12 bytes of 6-bit scales and mins for 8 sub-blocks of
 *        32; 128 bytes of nibbles. Each 64 weights use 32 bytes: low nibbles for the first 32
 *        (sub-block 2i), high nibbles for the next 32 (sub-block 2i+1);
 *        w = (d * sc) * q - (dmin * m).
 *   Q5_K (256, 176): as Q4_K plus 32 bytes qh before the nibbles: bit 2i of qh[l] is the 5th
 *        bit of weight l of sub-block 2i, bit 2i+1 that of sub-block 2i+1.
 *   Q6_K (256, 210): 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16 int8 scales
 *        (one per 16 weights), f16 d; two halves of 128 weights; w = (d * sc) * (q - 32).
 * Each product and sum is rounded to float32 separately, as the reference code does. */

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block's 12 scale bytes:
 * sub-blocks 0..3 keep theirs in the low 6 bits of bytes j and j+4; 4..7 keep the low 4 bits
 * in byte j+4 (scale low nibble, min high nibble) and the top 2 bits in the top bits of bytes
 * j-4 (scale) and j (min). */
static void k_scale_min(const uint8_t *q, int j, unsigned *sc, unsigned *mn) {
    if (j < 4) {
        *sc = q[j] & 63u;
        *mn = q[j + 4] & 63u;
    } else {
        *sc = (q[j + 4] & 0xFu) | ((unsigned)(q[j - 4] >> 6) << 4);
        *mn = (unsigned)(q[j + 4] >> 4) | ((unsigned)(q[j] >> 6) << 4);
    }
}

static void deq_q4_0(const uint8_t *b, float *y) {
    const float d = f16_to_f32(ld16(b));
    int j;
    for (j = 0; j < 16; j++) {
        const int x0 = (b[2 + j] & 0x0F) - 8, x1 = (b[2 + j] >> 4) - 8;
        y[j] = (float)x0 * d;
        y[j + 16] = (float)x1 * d;
    }
}

static void deq_q4_1(const uint8_t *b, float *y) {
    const float d = f16_to_f32(ld16(b)), m = f16_to_f32(ld16(b + 2));
    int j;
    for (j = 0; j < 16; j++) {
        const float p0 = (float)(b[4 + j] & 0x0F) * d, p1 = (float)(b[4 + j] >> 4) * d;
        y[j] = p0 + m;
        y[j + 16] = p1 + m;
    }
}

static void deq_q5_0(const uint8_t *b, float *y) {
    const float d = f16_to_f32(ld16(b));
    const uint32_t qh = ld32(b + 2);
    int j;
    for (j = 0; j < 16; j++) {
        const int h0 = (int)((qh >> j) & 1u) << 4, h1 = (int)((qh >> (j + 16)) & 1u) << 4;
        const int x0 = ((b[6 + j] & 0x0F) | h0) - 16, x1 = ((b[6 + j] >> 4) | h1) - 16;
        y[j] = (float)x0 * d;
        y[j + 16] = (float)x1 * d;
    }
}

static void deq_q5_1(const uint8_t *b, float *y) {
    const float d = f16_to_f32(ld16(b)), m = f16_to_f32(ld16(b + 2));
    const uint32_t qh = ld32(b + 4);
    int j;
    for (j = 0; j < 16; j++) {
        const int h0 = (int)((qh >> j) & 1u) << 4, h1 = (int)((qh >> (j + 16)) & 1u) << 4;
        const float p0 = (float)((b[8 + j] & 0x0F) | h0) * d;
        const float p1 = (float)((b[8 + j] >> 4) | h1) * d;
        y[j] = p0 + m;
        y[j + 16] = p1 + m;
    }
}

static void deq_q8_0(const uint8_t *b, float *y) {
    const float d = f16_to_f32(ld16(b));
    int j;
    for (j = 0; j < 32; j++) y[j] = (float)(int8_t)b[2 + j] * d;
}

/* Q4_K and Q5_K share everything but the 5th bit (qh NULL for Q4_K). */
static void deq_qk45(const uint8_t *b, const uint8_t *qh, const uint8_t *qs, float *y) {
    const float d = f16_to_f32(ld16(b)), dmin = f16_to_f32(ld16(b + 2));
    const uint8_t *sc = b + 4;
    int i, l;
    for (i = 0; i < 4; i++) {
        unsigned s0, m0, s1, m1;
        float d1, n1, d2, n2;
        k_scale_min(sc, 2 * i, &s0, &m0);
        k_scale_min(sc, 2 * i + 1, &s1, &m1);
        d1 = d * (float)s0;
        n1 = dmin * (float)m0;
        d2 = d * (float)s1;
        n2 = dmin * (float)m1;
        for (l = 0; l < 32; l++) {
            unsigned q = qs[32 * i + l] & 0xFu;
            float p;
            if (qh && (qh[l] >> (2 * i) & 1u)) q += 16;
            p = d1 * (float)q;
            y[64 * i + l] = p - n1;
        }
        for (l = 0; l < 32; l++) {
            unsigned q = qs[32 * i + l] >> 4;
            float p;
            if (qh && (qh[l] >> (2 * i + 1) & 1u)) q += 16;
            p = d2 * (float)q;
            y[64 * i + 32 + l] = p - n2;
        }
    }
}

static void deq_q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    const float d = f16_to_f32(ld16(b + 208));
    int half, l;
    for (half = 0; half < 2; half++) {
        for (l = 0; l < 32; l++) {
            const int is = l / 16;
            const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            const float s1 = d * (float)sc[is], s2 = d * (float)sc[is + 2];
            const float s3 = d * (float)sc[is + 4], s4 = d * (float)sc[is + 6];
            y[l] = s1 * (float)q1;
            y[l + 32] = s2 * (float)q2;
            y[l + 64] = s3 * (float)q3;
            y[l + 96] = s4 * (float)q4;
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
    }
}

int gguf_dequantize(unsigned type, const void *data, uint64_t nbytes, float *out, uint64_t count) {
    const ggml_type_info *ti = type_info(type);
    const uint8_t *p = data;
    uint64_t nblocks, k, want;
    if (!ti) return GGUF_ERR_UNKNOWN_TYPE;
    if (!ti->supported) return GGUF_ERR_UNSUPPORTED_TYPE;
    if ((!data && nbytes) || (!out && count) || count % ti->block_elements != 0)
        return GGUF_ERR_INVALID_ARGUMENT;
    nblocks = count / ti->block_elements;
    if (__builtin_mul_overflow(nblocks, (uint64_t)ti->block_bytes, &want) || want != nbytes)
        return GGUF_ERR_INVALID_ARGUMENT;
    switch (type) {
    case GGML_T_F32:
        for (k = 0; k < count; k++) out[k] = f32_at(p + 4 * k);
        break;
    case GGML_T_F16:
        for (k = 0; k < count; k++) out[k] = f16_to_f32(ld16(p + 2 * k));
        break;
    case GGML_T_BF16:
        for (k = 0; k < count; k++) {
            uint32_t b = (uint32_t)ld16(p + 2 * k) << 16;
            memcpy(&out[k], &b, 4);
        }
        break;
    case GGML_T_Q4_0:
        for (k = 0; k < nblocks; k++) deq_q4_0(p + 18 * k, out + 32 * k);
        break;
    case GGML_T_Q4_1:
        for (k = 0; k < nblocks; k++) deq_q4_1(p + 20 * k, out + 32 * k);
        break;
    case GGML_T_Q5_0:
        for (k = 0; k < nblocks; k++) deq_q5_0(p + 22 * k, out + 32 * k);
        break;
    case GGML_T_Q5_1:
        for (k = 0; k < nblocks; k++) deq_q5_1(p + 24 * k, out + 32 * k);
        break;
    case GGML_T_Q8_0:
        for (k = 0; k < nblocks; k++) deq_q8_0(p + 34 * k, out + 32 * k);
        break;
    case GGML_T_Q4_K:
        for (k = 0; k < nblocks; k++) {
            const uint8_t *b = p + 144 * k;
            deq_qk45(b, NULL, b + 16, out + 256 * k);
        }
        break;
    case GGML_T_Q5_K:
        for (k = 0; k < nblocks; k++) {
            const uint8_t *b = p + 176 * k;
            deq_qk45(b, b + 16, b + 48, out + 256 * k);
        }
        break;
    case GGML_T_Q6_K:
        for (k = 0; k < nblocks; k++) deq_q6_k(p + 210 * k, out + 256 * k);
        break;
    default:
        return GGUF_ERR_UNSUPPORTED_TYPE;
    }
    return GGUF_OK;
}

int gguf_tensor_to_f32(const gguf_tensor *t, float *out, uint64_t count) {
    if (!t || count != t->numel) return GGUF_ERR_INVALID_ARGUMENT;
    return gguf_dequantize(t->type, t->data, t->nbytes, out, count);
}

void gguf_release(const gguf_model *m, const gguf_tensor *t) {
#if defined(MADV_DONTNEED)
    if (m && t && m->mapped && t->nbytes) {
        uintptr_t base = (uintptr_t)m->map;
        uint64_t start = t->file_offset, end = t->file_offset + t->nbytes;
        /* whole pages strictly inside the tensor */
        uint64_t a = (start + m->pagesize - 1) / m->pagesize * m->pagesize;
        uint64_t b = end / m->pagesize * m->pagesize;
        if (b > a) (void)madvise((void *)(base + (uintptr_t)a), (size_t)(b - a), MADV_DONTNEED);
    }
#else
    (void)m;
    (void)t;
#endif
}
