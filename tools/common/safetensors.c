/*
 * safetensors.c — strict safetensors reader; see safetensors.h for the rules it enforces.
 *
 * Structure: a small RFC 8259 JSON parser builds a tree of nodes (arena of indices, strings
 * decoded into one buffer no larger than the header), then the safetensors semantics are
 * checked on the tree. Nothing is trusted: every length and offset is checked with
 * overflow-safe arithmetic before use.
 */
#define _DEFAULT_SOURCE 1 /* madvise(MADV_DONTNEED) where the platform has it */

#include "safetensors.h"
#include "filemap.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- errors ------------------------------------------------------------------------- */

static const char *const status_names[ST_STATUS_COUNT_] = {
    "ST_OK", "ST_ERR_IO", "ST_ERR_NOMEM", "ST_ERR_INVALID_ARGUMENT", "ST_ERR_TRUNCATED",
    "ST_ERR_HEADER_TOO_LARGE", "ST_ERR_BAD_JSON", "ST_ERR_BAD_UTF8", "ST_ERR_DUPLICATE_KEY",
    "ST_ERR_BAD_HEADER", "ST_ERR_UNKNOWN_DTYPE", "ST_ERR_UNSUPPORTED_DTYPE", "ST_ERR_BAD_SHAPE",
    "ST_ERR_OVERFLOW", "ST_ERR_SIZE_MISMATCH", "ST_ERR_BAD_OFFSETS", "ST_ERR_OVERLAP",
    "ST_ERR_HOLE", "ST_ERR_BAD_INDEX", "ST_ERR_MISSING_SHARD", "ST_ERR_DUPLICATE_TENSOR",
    "ST_ERR_NOT_FOUND", "ST_ERR_LIMIT",
};

const char *st_status_name(int status) {
    if (status < 0 || status >= ST_STATUS_COUNT_) return "ST_ERR_UNKNOWN";
    return status_names[status];
}

#if defined(__GNUC__)
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ST_PRINTF(a, b)
#endif

/* Fill err with "LABEL: byte OFFSET: message" and return code. */
static int st_fail(st_error *err, int code, const char *label, uint64_t offset, const char *fmt,
                   ...) ST_PRINTF(5, 6);
static int st_fail(st_error *err, int code, const char *label, uint64_t offset, const char *fmt,
                   ...) {
    if (err) {
        va_list ap;
        err->code = code;
        err->offset = offset;
        va_start(ap, fmt);
        text_vmessage(err->message, sizeof err->message, label, offset != ST_NO_OFFSET, offset, fmt,
                      ap);
        va_end(ap);
    }
    return code;
}

/* ---- JSON --------------------------------------------------------------------------- */

enum { J_OBJECT = 1, J_ARRAY, J_STRING, J_NUMBER, J_TRUE, J_FALSE, J_NULL };
enum { NUM_OTHER = 0, NUM_UINT = 1, NUM_BIGUINT = 2 };
#define J_NONE SIZE_MAX

typedef struct jnode {
    int type;
    int num;           /* NUMBER: NUM_* */
    size_t count;      /* OBJECT: members, ARRAY: elements */
    size_t first;      /* first child (object: key, value, key, value ...) */
    size_t next;       /* next sibling */
    size_t pos;        /* offset of the value in the JSON text */
    const char *str;   /* STRING: decoded, NUL-terminated */
    size_t len;
    uint64_t u;        /* NUMBER with NUM_UINT */
} jnode;

typedef struct jparser {
    const uint8_t *s;
    size_t n, i;
    jnode *nodes;
    size_t nn, cap;
    char *sb;          /* decoded strings */
    size_t sb_used, sb_cap;
    const char *label;
    uint64_t base;     /* file offset of the JSON text */
    st_error *err;
} jparser;

static int jfail(jparser *p, int code, size_t pos, const char *fmt, ...) ST_PRINTF(4, 5);
static int jfail(jparser *p, int code, size_t pos, const char *fmt, ...) {
    char msg[ST_ERROR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return st_fail(p->err, code, p->label, p->base + pos, "%s", msg);
}

static void jskip_ws(jparser *p) {
    while (p->i < p->n) {
        uint8_t c = p->s[p->i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') p->i++;
        else break;
    }
}

static int jnew(jparser *p, int type, size_t pos, size_t *idx) {
    if (p->nn == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        jnode *nn;
        if (ncap > SIZE_MAX / sizeof(jnode)) return jfail(p, ST_ERR_NOMEM, pos, "out of memory");
        nn = realloc(p->nodes, ncap * sizeof(jnode));
        if (!nn) return jfail(p, ST_ERR_NOMEM, pos, "out of memory parsing the JSON header");
        p->nodes = nn;
        p->cap = ncap;
    }
    memset(&p->nodes[p->nn], 0, sizeof(jnode));
    p->nodes[p->nn].type = type;
    p->nodes[p->nn].pos = pos;
    p->nodes[p->nn].first = J_NONE;
    p->nodes[p->nn].next = J_NONE;
    *idx = p->nn++;
    return ST_OK;
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int jhex4(jparser *p, size_t at, unsigned *out) {
    unsigned v = 0;
    size_t k;
    if (p->n - at < 4) return jfail(p, ST_ERR_BAD_JSON, at, "truncated \\u escape");
    for (k = 0; k < 4; k++) {
        int h = hexval(p->s[at + k]);
        if (h < 0) return jfail(p, ST_ERR_BAD_JSON, at + k, "bad hex digit in \\u escape");
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return ST_OK;
}

static void put_utf8(char *o, size_t *len, unsigned cp) {
    if (cp < 0x80) {
        o[(*len)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*len)++] = (char)(0xC0 | (cp >> 6));
        o[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o[(*len)++] = (char)(0xE0 | (cp >> 12));
        o[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        o[(*len)++] = (char)(0xF0 | (cp >> 18));
        o[(*len)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*len)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* p->i at the opening quote. The decoded string is never longer than its JSON form minus
 * the two quotes, so the buffer (sized to the text) cannot overflow; checked anyway. */
static int jstring(jparser *p, size_t *idx) {
    size_t start = p->i, len = 0;
    char *o;
    int rc;
    if ((rc = jnew(p, J_STRING, start, idx)) != ST_OK) return rc;
    p->i++;
    o = p->sb + p->sb_used;
    for (;;) {
        uint8_t c;
        if (p->i >= p->n) return jfail(p, ST_ERR_BAD_JSON, start, "unterminated string");
        if (p->sb_used + len + 5 > p->sb_cap)
            return jfail(p, ST_ERR_LIMIT, p->i, "string buffer exhausted");
        c = p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20)
            return jfail(p, ST_ERR_BAD_JSON, p->i, "unescaped control character 0x%02x in a string",
                         c);
        if (c == '\\') {
            uint8_t e;
            if (p->i + 1 >= p->n) return jfail(p, ST_ERR_BAD_JSON, p->i, "truncated escape");
            e = p->s[p->i + 1];
            switch (e) {
            case '"': o[len++] = '"'; p->i += 2; break;
            case '\\': o[len++] = '\\'; p->i += 2; break;
            case '/': o[len++] = '/'; p->i += 2; break;
            case 'b': o[len++] = '\b'; p->i += 2; break;
            case 'f': o[len++] = '\f'; p->i += 2; break;
            case 'n': o[len++] = '\n'; p->i += 2; break;
            case 'r': o[len++] = '\r'; p->i += 2; break;
            case 't': o[len++] = '\t'; p->i += 2; break;
            case 'u': {
                unsigned cp, lo;
                size_t at = p->i;
                if ((rc = jhex4(p, p->i + 2, &cp)) != ST_OK) return rc;
                p->i += 6;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return jfail(p, ST_ERR_BAD_UTF8, at, "unpaired low surrogate \\u%04X", cp);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                        return jfail(p, ST_ERR_BAD_UTF8, at, "unpaired high surrogate \\u%04X", cp);
                    if ((rc = jhex4(p, p->i + 2, &lo)) != ST_OK) return rc;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return jfail(p, ST_ERR_BAD_UTF8, at,
                                     "high surrogate \\u%04X not followed by a low surrogate", cp);
                    p->i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                put_utf8(o, &len, cp);
                break;
            }
            default:
                return jfail(p, ST_ERR_BAD_JSON, p->i, "invalid escape \\%c",
                             (e >= 0x20 && e < 0x7F) ? e : '?');
            }
            continue;
        }
        if (c < 0x80) {
            o[len++] = (char)c;
            p->i++;
        } else {
            size_t k = utf8_seq(p->s + p->i, p->n - p->i), j;
            if (k == 0) {
                size_t avail = p->n - p->i;
                return jfail(p, ST_ERR_BAD_UTF8, p->i,
                             "ill-formed UTF-8 in a string (bytes %02x %02x %02x %02x)", c,
                             avail > 1 ? p->s[p->i + 1] : 0, avail > 2 ? p->s[p->i + 2] : 0,
                             avail > 3 ? p->s[p->i + 3] : 0);
            }
            for (j = 0; j < k; j++) o[len++] = (char)p->s[p->i + j];
            p->i += k;
        }
    }
    o[len] = '\0';
    p->nodes[*idx].str = o;
    p->nodes[*idx].len = len;
    p->sb_used += len + 1;
    return ST_OK;
}

static int jnumber(jparser *p, size_t *idx) {
    size_t start = p->i;
    int neg = 0, integer = 1, big = 0;
    uint64_t v = 0;
    int rc;
    if ((rc = jnew(p, J_NUMBER, start, idx)) != ST_OK) return rc;
    if (p->s[p->i] == '-') {
        neg = 1;
        p->i++;
    }
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
        return jfail(p, ST_ERR_BAD_JSON, start, "malformed number");
    if (p->s[p->i] == '0') {
        p->i++;
        if (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
            return jfail(p, ST_ERR_BAD_JSON, start, "number with a leading zero");
    } else {
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
            unsigned d = (unsigned)(p->s[p->i] - '0');
            if (v > (UINT64_MAX - d) / 10) big = 1;
            else v = v * 10 + d;
            p->i++;
        }
    }
    if (p->i < p->n && p->s[p->i] == '.') {
        integer = 0;
        p->i++;
        if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
            return jfail(p, ST_ERR_BAD_JSON, start, "malformed number");
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        integer = 0;
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
        if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
            return jfail(p, ST_ERR_BAD_JSON, start, "malformed number");
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    }
    if (integer && !neg) {
        p->nodes[*idx].num = big ? NUM_BIGUINT : NUM_UINT;
        p->nodes[*idx].u = big ? 0 : v;
    } else if (integer && neg && v == 0 && !big) {
        p->nodes[*idx].num = NUM_UINT; /* -0 */
        p->nodes[*idx].u = 0;
    }
    return ST_OK;
}

static int jlit(jparser *p, const char *word, int type, size_t *idx) {
    size_t L = strlen(word);
    int rc;
    if (p->n - p->i < L || memcmp(p->s + p->i, word, L) != 0)
        return jfail(p, ST_ERR_BAD_JSON, p->i, "unexpected character '%c'",
                     (p->s[p->i] >= 0x20 && p->s[p->i] < 0x7F) ? p->s[p->i] : '?');
    if ((rc = jnew(p, type, p->i, idx)) != ST_OK) return rc;
    p->i += L;
    return ST_OK;
}

static int keycmp(const void *a, const void *b, const jnode *nodes) {
    const jnode *x = &nodes[*(const size_t *)a], *y = &nodes[*(const size_t *)b];
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, m);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* qsort has no context argument in C11: sort key indices with a small merge sort. */
static void sort_keys(size_t *a, size_t *tmp, size_t n, const jnode *nodes) {
    size_t i, j, k, mid;
    if (n < 2) return;
    mid = n / 2;
    sort_keys(a, tmp, mid, nodes);
    sort_keys(a + mid, tmp, n - mid, nodes);
    i = 0; j = mid; k = 0;
    while (i < mid && j < n) tmp[k++] = keycmp(&a[j], &a[i], nodes) < 0 ? a[j++] : a[i++];
    while (i < mid) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static int jvalue(jparser *p, int depth, size_t *idx);

static int check_duplicates(jparser *p, size_t obj) {
    size_t n = p->nodes[obj].count, k, key;
    size_t *keys, *tmp;
    char b1[160];
    if (n < 2) return ST_OK;
    keys = malloc(n * sizeof *keys);
    tmp = malloc(n * sizeof *tmp);
    if (!keys || !tmp) {
        free(keys);
        free(tmp);
        return jfail(p, ST_ERR_NOMEM, p->nodes[obj].pos, "out of memory");
    }
    for (k = 0, key = p->nodes[obj].first; k < n; k++) {
        keys[k] = key;
        key = p->nodes[p->nodes[key].next].next;
    }
    sort_keys(keys, tmp, n, p->nodes);
    for (k = 1; k < n; k++) {
        if (keycmp(&keys[k - 1], &keys[k], p->nodes) == 0) {
            const jnode *a = &p->nodes[keys[k - 1]], *b = &p->nodes[keys[k]];
            const jnode *later = a->pos > b->pos ? a : b, *earlier = a->pos > b->pos ? b : a;
            int rc = jfail(p, ST_ERR_DUPLICATE_KEY, later->pos,
                           "duplicate key '%s' (first at byte %llu)",
                           text_show(b1, sizeof b1, later->str, later->len),
                           (unsigned long long)(p->base + earlier->pos));
            free(keys);
            free(tmp);
            return rc;
        }
    }
    free(keys);
    free(tmp);
    return ST_OK;
}

static int jobject(jparser *p, int depth, size_t *idx) {
    size_t obj, last = J_NONE;
    int rc;
    if ((rc = jnew(p, J_OBJECT, p->i, &obj)) != ST_OK) return rc;
    *idx = obj;
    p->i++;
    jskip_ws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        return ST_OK;
    }
    for (;;) {
        size_t key, val;
        jskip_ws(p);
        if (p->i >= p->n) return jfail(p, ST_ERR_BAD_JSON, p->i, "unterminated object");
        if (p->s[p->i] != '"') return jfail(p, ST_ERR_BAD_JSON, p->i, "expected a string key");
        if ((rc = jstring(p, &key)) != ST_OK) return rc;
        jskip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ':')
            return jfail(p, ST_ERR_BAD_JSON, p->i, "expected ':' after a key");
        p->i++;
        if ((rc = jvalue(p, depth + 1, &val)) != ST_OK) return rc;
        p->nodes[key].next = val;
        if (last == J_NONE) p->nodes[obj].first = key;
        else p->nodes[last].next = key;
        last = val;
        p->nodes[obj].count++;
        jskip_ws(p);
        if (p->i >= p->n) return jfail(p, ST_ERR_BAD_JSON, p->i, "unterminated object");
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->s[p->i] == '}') {
            p->i++;
            break;
        }
        return jfail(p, ST_ERR_BAD_JSON, p->i, "expected ',' or '}' in an object");
    }
    return check_duplicates(p, obj);
}

static int jarray(jparser *p, int depth, size_t *idx) {
    size_t arr, last = J_NONE;
    int rc;
    if ((rc = jnew(p, J_ARRAY, p->i, &arr)) != ST_OK) return rc;
    *idx = arr;
    p->i++;
    jskip_ws(p);
    if (p->i < p->n && p->s[p->i] == ']') {
        p->i++;
        return ST_OK;
    }
    for (;;) {
        size_t val;
        if ((rc = jvalue(p, depth + 1, &val)) != ST_OK) return rc;
        if (last == J_NONE) p->nodes[arr].first = val;
        else p->nodes[last].next = val;
        last = val;
        p->nodes[arr].count++;
        jskip_ws(p);
        if (p->i >= p->n) return jfail(p, ST_ERR_BAD_JSON, p->i, "unterminated array");
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->s[p->i] == ']') {
            p->i++;
            break;
        }
        return jfail(p, ST_ERR_BAD_JSON, p->i, "expected ',' or ']' in an array");
    }
    return ST_OK;
}

static int jvalue(jparser *p, int depth, size_t *idx) {
    uint8_t c;
    if (depth > ST_MAX_JSON_DEPTH)
        return jfail(p, ST_ERR_BAD_JSON, p->i, "JSON nested deeper than %d levels",
                     ST_MAX_JSON_DEPTH);
    jskip_ws(p);
    if (p->i >= p->n) return jfail(p, ST_ERR_BAD_JSON, p->i, "unexpected end of JSON");
    c = p->s[p->i];
    switch (c) {
    case '{': return jobject(p, depth, idx);
    case '[': return jarray(p, depth, idx);
    case '"': return jstring(p, idx);
    case 't': return jlit(p, "true", J_TRUE, idx);
    case 'f': return jlit(p, "false", J_FALSE, idx);
    case 'n': return jlit(p, "null", J_NULL, idx);
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return jnumber(p, idx);
        return jfail(p, ST_ERR_BAD_JSON, p->i, "unexpected character '%c'",
                     (c >= 0x20 && c < 0x7F) ? c : '?');
    }
}

/* Parse a whole JSON text whose top level must be an object starting at byte 0, followed
 * only by whitespace. On success p->nodes[0] is the object and p->sb holds the strings. */
static int jparse(jparser *p, const uint8_t *s, size_t n, const char *label, uint64_t base,
                  st_error *err) {
    size_t root;
    int rc;
    memset(p, 0, sizeof *p);
    p->s = s;
    p->n = n;
    p->label = label;
    p->base = base;
    p->err = err;
    if (n == 0) return jfail(p, ST_ERR_BAD_JSON, 0, "empty JSON header");
    if (s[0] != '{') return jfail(p, ST_ERR_BAD_JSON, 0, "the JSON header does not start with '{'");
    p->sb_cap = n + 8; /* decoded strings + NULs never exceed n */
    p->sb = malloc(p->sb_cap);
    if (!p->sb) return jfail(p, ST_ERR_NOMEM, 0, "out of memory for a %zu-byte header", n);
    if ((rc = jvalue(p, 0, &root)) != ST_OK) return rc;
    jskip_ws(p);
    if (p->i != p->n)
        return jfail(p, ST_ERR_BAD_JSON, p->i, "unexpected data after the JSON object");
    return ST_OK;
}

static void jfree(jparser *p) {
    free(p->nodes);
    p->nodes = NULL;
    free(p->sb);
    p->sb = NULL;
}

/* ---- model ------------------------------------------------------------------------------ */

typedef struct st_file {
    char *path;
    const uint8_t *map;
    size_t size;
    int mapped;            /* 1: munmap at close */
    char *strings;         /* decoded JSON strings (names and metadata point here) */
} st_file;

typedef struct st_meta {
    const char *key, *value;
    size_t key_length, value_length;
} st_meta;

struct st_model {
    st_file *files;
    size_t nfiles;
    st_tensor *tensors;
    size_t ntensors, tcap;
    st_meta *meta;
    size_t nmeta;
    size_t *by_name;       /* tensor indices sorted by name */
    size_t pagesize;
    unsigned flags;        /* ST_OPEN_* */
};

const char *st_dtype_name(int dtype) {
    switch (dtype) {
    case ST_F32: return "F32";
    case ST_F16: return "F16";
    case ST_BF16: return "BF16";
    default: return NULL;
    }
}

size_t st_dtype_size(int dtype) {
    switch (dtype) {
    case ST_F32: return 4;
    case ST_F16: case ST_BF16: return 2;
    default: return 0;
    }
}

/* Every other dtype the safetensors project defines, with its size in bits: reported as
 * "unsupported" rather than "unknown", and (with ST_OPEN_ALLOW_UNSUPPORTED) still validated. */
static const struct { const char *name; unsigned bits; } known_unsupported[] = {
    {"BOOL", 8}, {"U8", 8}, {"I8", 8}, {"I16", 16}, {"U16", 16}, {"I32", 32}, {"U32", 32},
    {"I64", 64}, {"U64", 64}, {"F64", 64}, {"C64", 64}, {"F8_E5M2", 8}, {"F8_E4M3", 8},
    {"F8_E8M0", 8}, {"E8M0", 8}, {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8}, {"F6_E2M3", 6},
    {"F6_E3M2", 6}, {"F4", 4}, {NULL, 0},
};

static int add_tensor(st_model *m, const st_tensor *t) {
    if (m->ntensors == m->tcap) {
        size_t ncap = m->tcap ? m->tcap * 2 : 64;
        st_tensor *nt;
        if (ncap > SIZE_MAX / sizeof(st_tensor)) return ST_ERR_NOMEM;
        nt = realloc(m->tensors, ncap * sizeof *nt);
        if (!nt) return ST_ERR_NOMEM;
        m->tensors = nt;
        m->tcap = ncap;
    }
    m->tensors[m->ntensors++] = *t;
    return ST_OK;
}

typedef struct entry {
    size_t tensor;   /* index in m->tensors */
    uint64_t begin, end;
    size_t pos;      /* JSON position, for messages and a stable order */
} entry;

static int entry_cmp(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static const jnode *jmember(const jparser *p, size_t obj, const char *key) {
    size_t k, n = p->nodes[obj].count, idx = p->nodes[obj].first, L = strlen(key);
    for (k = 0; k < n; k++) {
        const jnode *kn = &p->nodes[idx];
        if (kn->len == L && memcmp(kn->str, key, L) == 0) return &p->nodes[kn->next];
        idx = p->nodes[kn->next].next;
    }
    return NULL;
}

/* Parse one file's header and data buffer; append its tensors (sorted by offset). */
static int parse_file(st_model *m, size_t fi, int keep_meta, st_error *err) {
    st_file *f = &m->files[fi];
    const char *label = f->path;
    uint64_t hlen, data_size, data_base;
    jparser p;
    size_t first_tensor = m->ntensors, ntens = 0, k, key;
    entry *entries = NULL;
    char b1[160], b2[160];
    int rc;

    if (f->size < 8)
        return st_fail(err, ST_ERR_TRUNCATED, label, 0,
                       "file of %zu bytes is too short for the 8-byte header length", f->size);
    hlen = (uint64_t)f->map[0] | ((uint64_t)f->map[1] << 8) | ((uint64_t)f->map[2] << 16) |
           ((uint64_t)f->map[3] << 24) | ((uint64_t)f->map[4] << 32) |
           ((uint64_t)f->map[5] << 40) | ((uint64_t)f->map[6] << 48) |
           ((uint64_t)f->map[7] << 56);
    if (hlen > ST_MAX_HEADER_SIZE)
        return st_fail(err, ST_ERR_HEADER_TOO_LARGE, label, 0,
                       "declared JSON header length %llu exceeds the limit of %u bytes",
                       (unsigned long long)hlen, ST_MAX_HEADER_SIZE);
    if (hlen > (uint64_t)f->size - 8)
        return st_fail(err, ST_ERR_TRUNCATED, label, 8,
                       "declared JSON header length %llu runs past the end of the %zu-byte file",
                       (unsigned long long)hlen, f->size);
    data_base = 8 + hlen;
    data_size = (uint64_t)f->size - data_base;

    if ((rc = jparse(&p, f->map + 8, (size_t)hlen, label, 8, err)) != ST_OK) {
        jfree(&p);
        return rc;
    }

    /* tensors */
    key = p.nodes[0].first;
    for (k = 0; k < p.nodes[0].count; k++) {
        const jnode *kn = &p.nodes[key];
        const jnode *vn = &p.nodes[kn->next];
        size_t vidx = kn->next;
        key = vn->next;
        if (kn->len == 12 && memcmp(kn->str, "__metadata__", 12) == 0) {
            size_t mk, mkey;
            if (vn->type != J_OBJECT) {
                rc = jfail(&p, ST_ERR_BAD_HEADER, vn->pos, "__metadata__ is not an object");
                goto fail;
            }
            for (mk = 0, mkey = vn->first; mk < vn->count; mk++) {
                const jnode *mkn = &p.nodes[mkey], *mvn = &p.nodes[mkn->next];
                if (mvn->type != J_STRING) {
                    rc = jfail(&p, ST_ERR_BAD_HEADER, mvn->pos,
                               "__metadata__ value of key '%s' is not a string",
                               text_show(b1, sizeof b1, mkn->str, mkn->len));
                    goto fail;
                }
                mkey = mvn->next;
            }
            if (keep_meta && vn->count) {
                free(m->meta);
                m->meta = calloc(vn->count, sizeof *m->meta);
                if (!m->meta) {
                    rc = jfail(&p, ST_ERR_NOMEM, vn->pos, "out of memory");
                    goto fail;
                }
                for (mk = 0, mkey = vn->first; mk < vn->count; mk++) {
                    const jnode *mkn = &p.nodes[mkey], *mvn = &p.nodes[mkn->next];
                    m->meta[mk].key = mkn->str;
                    m->meta[mk].key_length = mkn->len;
                    m->meta[mk].value = mvn->str;
                    m->meta[mk].value_length = mvn->len;
                    mkey = mvn->next;
                }
                m->nmeta = vn->count;
            }
            continue;
        }
        {
            st_tensor t;
            const jnode *dt, *sh, *off, *e;
            size_t mk, mkey, d;
            uint64_t numel = 1, nbytes, b, en;
            unsigned other_bits = 0;
            const char *nm = text_show(b1, sizeof b1, kn->str, kn->len);
            memset(&t, 0, sizeof t);
            if (memchr(kn->str, '\0', kn->len)) {
                rc = jfail(&p, ST_ERR_BAD_HEADER, kn->pos,
                           "tensor name '%s' contains a NUL character", nm);
                goto fail;
            }
            if (vn->type != J_OBJECT) {
                rc = jfail(&p, ST_ERR_BAD_HEADER, vn->pos, "entry of tensor '%s' is not an object",
                           nm);
                goto fail;
            }
            for (mk = 0, mkey = vn->first; mk < vn->count; mk++) {
                const jnode *mkn = &p.nodes[mkey];
                if (!((mkn->len == 5 && !memcmp(mkn->str, "dtype", 5)) ||
                      (mkn->len == 5 && !memcmp(mkn->str, "shape", 5)) ||
                      (mkn->len == 12 && !memcmp(mkn->str, "data_offsets", 12)))) {
                    rc = jfail(&p, ST_ERR_BAD_HEADER, mkn->pos,
                               "unknown key '%s' in the entry of tensor '%s'",
                               text_show(b2, sizeof b2, mkn->str, mkn->len), nm);
                    goto fail;
                }
                mkey = p.nodes[mkn->next].next;
            }
            dt = jmember(&p, vidx, "dtype");
            sh = jmember(&p, vidx, "shape");
            off = jmember(&p, vidx, "data_offsets");
            if (!dt || !sh || !off) {
                rc = jfail(&p, ST_ERR_BAD_HEADER, vn->pos, "tensor '%s' has no '%s'", nm,
                           !dt ? "dtype" : !sh ? "shape" : "data_offsets");
                goto fail;
            }
            if (dt->type != J_STRING) {
                rc = jfail(&p, ST_ERR_BAD_HEADER, dt->pos, "dtype of tensor '%s' is not a string",
                           nm);
                goto fail;
            }
            if (!strcmp(dt->str, "F32") && dt->len == 3) t.dtype = ST_F32;
            else if (!strcmp(dt->str, "F16") && dt->len == 3) t.dtype = ST_F16;
            else if (!strcmp(dt->str, "BF16") && dt->len == 4) t.dtype = ST_BF16;
            else {
                size_t q;
                for (q = 0; known_unsupported[q].name; q++)
                    if (strlen(known_unsupported[q].name) == dt->len &&
                        !strcmp(dt->str, known_unsupported[q].name))
                        break;
                if (known_unsupported[q].name && (m->flags & ST_OPEN_ALLOW_UNSUPPORTED)) {
                    t.dtype = ST_OTHER;
                    t.dtype_name = known_unsupported[q].name;
                    other_bits = known_unsupported[q].bits;
                } else {
                    if (known_unsupported[q].name)
                        rc = jfail(&p, ST_ERR_UNSUPPORTED_DTYPE, dt->pos,
                                   "unsupported dtype %s for tensor '%s' (supported: F32, F16, "
                                   "BF16)", known_unsupported[q].name, nm);
                    else
                        rc = jfail(&p, ST_ERR_UNKNOWN_DTYPE, dt->pos,
                                   "unknown dtype '%s' for tensor '%s'",
                                   text_show(b2, sizeof b2, dt->str, dt->len), nm);
                    goto fail;
                }
            }
            if (t.dtype != ST_OTHER) t.dtype_name = st_dtype_name(t.dtype);
            if (sh->type != J_ARRAY) {
                rc = jfail(&p, ST_ERR_BAD_HEADER, sh->pos, "shape of tensor '%s' is not an array",
                           nm);
                goto fail;
            }
            if (sh->count > ST_MAX_DIMS) {
                rc = jfail(&p, ST_ERR_BAD_SHAPE, sh->pos,
                           "tensor '%s' has %zu dimensions; at most %d are supported", nm,
                           sh->count, ST_MAX_DIMS);
                goto fail;
            }
            t.ndim = (unsigned)sh->count;
            for (d = 0, e = sh->count ? &p.nodes[sh->first] : NULL; d < sh->count; d++) {
                if (e->type != J_NUMBER || e->num == NUM_OTHER) {
                    rc = jfail(&p, ST_ERR_BAD_HEADER, e->pos,
                               "dimension %zu of tensor '%s' is not a non-negative integer", d, nm);
                    goto fail;
                }
                if (e->num == NUM_BIGUINT) {
                    rc = jfail(&p, ST_ERR_OVERFLOW, e->pos,
                               "dimension %zu of tensor '%s' does not fit in 64 bits", d, nm);
                    goto fail;
                }
                t.shape[d] = e->u;
                e = e->next != J_NONE ? &p.nodes[e->next] : NULL;
            }
            for (d = 0; d < t.ndim; d++) {
                if (__builtin_mul_overflow(numel, t.shape[d], &numel)) {
                    rc = jfail(&p, ST_ERR_OVERFLOW, sh->pos,
                               "shape of tensor '%s' overflows: its element count does not fit "
                               "in 64 bits", nm);
                    goto fail;
                }
            }
            if (t.dtype == ST_OTHER) {
                uint64_t bits;
                if (__builtin_mul_overflow(numel, (uint64_t)other_bits, &bits)) {
                    rc = jfail(&p, ST_ERR_OVERFLOW, sh->pos,
                               "shape of tensor '%s' overflows: %llu elements of %s exceed 2^64 "
                               "bits", nm, (unsigned long long)numel, t.dtype_name);
                    goto fail;
                }
                if (bits % 8) {
                    rc = jfail(&p, ST_ERR_SIZE_MISMATCH, sh->pos,
                               "tensor '%s': %llu elements of %u-bit %s do not fill whole bytes",
                               nm, (unsigned long long)numel, other_bits, t.dtype_name);
                    goto fail;
                }
                nbytes = bits / 8;
            } else if (__builtin_mul_overflow(numel, (uint64_t)st_dtype_size(t.dtype), &nbytes)) {
                rc = jfail(&p, ST_ERR_OVERFLOW, sh->pos,
                           "shape of tensor '%s' overflows: %llu elements of %s exceed 2^64 bytes",
                           nm, (unsigned long long)numel, st_dtype_name(t.dtype));
                goto fail;
            }
            if (off->type != J_ARRAY || off->count != 2 ||
                p.nodes[off->first].type != J_NUMBER ||
                p.nodes[p.nodes[off->first].next].type != J_NUMBER ||
                p.nodes[off->first].num == NUM_OTHER ||
                p.nodes[p.nodes[off->first].next].num == NUM_OTHER) {
                rc = jfail(&p, ST_ERR_BAD_HEADER, off->pos,
                           "data_offsets of tensor '%s' is not an array of two non-negative "
                           "integers", nm);
                goto fail;
            }
            if (p.nodes[off->first].num == NUM_BIGUINT ||
                p.nodes[p.nodes[off->first].next].num == NUM_BIGUINT) {
                rc = jfail(&p, ST_ERR_BAD_OFFSETS, off->pos,
                           "data_offsets of tensor '%s' do not fit in 64 bits", nm);
                goto fail;
            }
            b = p.nodes[off->first].u;
            en = p.nodes[p.nodes[off->first].next].u;
            if (b > en) {
                rc = jfail(&p, ST_ERR_BAD_OFFSETS, off->pos,
                           "data_offsets [%llu, %llu] of tensor '%s' end before they begin",
                           (unsigned long long)b, (unsigned long long)en, nm);
                goto fail;
            }
            if (en > data_size) {
                rc = jfail(&p, ST_ERR_TRUNCATED, off->pos,
                           "data_offsets [%llu, %llu] of tensor '%s' run past the end of the "
                           "%llu-byte data buffer (file truncated?)",
                           (unsigned long long)b, (unsigned long long)en, nm,
                           (unsigned long long)data_size);
                goto fail;
            }
            if (en - b != nbytes) {
                rc = jfail(&p, ST_ERR_SIZE_MISMATCH, off->pos,
                           "tensor '%s': data_offsets [%llu, %llu] span %llu bytes, but its shape "
                           "and dtype %s need %llu", nm, (unsigned long long)b,
                           (unsigned long long)en, (unsigned long long)(en - b),
                           t.dtype_name, (unsigned long long)nbytes);
                goto fail;
            }
            t.name = kn->str;
            t.name_length = kn->len;
            t.numel = numel;
            t.nbytes = nbytes;
            t.data = f->map + data_base + b;
            t.file_offset = data_base + b;
            t.file = (unsigned)fi;
            if (add_tensor(m, &t) != ST_OK) {
                rc = jfail(&p, ST_ERR_NOMEM, kn->pos, "out of memory");
                goto fail;
            }
            ntens++;
        }
    }

    /* coverage: sorted by offset, tensors tile the data buffer exactly */
    if (ntens) {
        uint64_t expect = 0;
        size_t prev = SIZE_MAX;
        st_tensor *sorted;
        entries = malloc(ntens * sizeof *entries);
        if (!entries) {
            rc = jfail(&p, ST_ERR_NOMEM, 0, "out of memory");
            goto fail;
        }
        for (k = 0; k < ntens; k++) {
            const st_tensor *t = &m->tensors[first_tensor + k];
            entries[k].tensor = first_tensor + k;
            entries[k].begin = t->file_offset - data_base;
            entries[k].end = entries[k].begin + t->nbytes;
            entries[k].pos = k;
        }
        qsort(entries, ntens, sizeof *entries, entry_cmp);
        for (k = 0; k < ntens; k++) {
            const entry *e = &entries[k];
            const st_tensor *t = &m->tensors[e->tensor];
            if (e->begin < expect) {
                const st_tensor *o = &m->tensors[entries[prev].tensor];
                rc = st_fail(err, ST_ERR_OVERLAP, label, data_base + e->begin,
                             "tensor '%s' data_offsets [%llu, %llu] overlap tensor '%s' [%llu, %llu]",
                             text_show(b1, sizeof b1, t->name, t->name_length),
                             (unsigned long long)e->begin, (unsigned long long)e->end,
                             text_show(b2, sizeof b2, o->name, o->name_length),
                             (unsigned long long)entries[prev].begin,
                             (unsigned long long)entries[prev].end);
                goto fail_nojson;
            }
            if (e->begin > expect) {
                rc = st_fail(err, ST_ERR_HOLE, label, data_base + expect,
                             "bytes [%llu, %llu) of the data buffer are covered by no tensor "
                             "(hole before tensor '%s')",
                             (unsigned long long)expect, (unsigned long long)e->begin,
                             text_show(b1, sizeof b1, t->name, t->name_length));
                goto fail_nojson;
            }
            expect = e->end;
            prev = k;
        }
        if (expect != data_size) {
            rc = st_fail(err, ST_ERR_HOLE, label, data_base + expect,
                         "bytes [%llu, %llu) at the end of the data buffer are covered by no "
                         "tensor", (unsigned long long)expect, (unsigned long long)data_size);
            goto fail_nojson;
        }
        /* reorder this file's tensors by offset */
        sorted = malloc(ntens * sizeof *sorted);
        if (!sorted) {
            rc = st_fail(err, ST_ERR_NOMEM, label, ST_NO_OFFSET, "out of memory");
            goto fail_nojson;
        }
        for (k = 0; k < ntens; k++) sorted[k] = m->tensors[entries[k].tensor];
        memcpy(&m->tensors[first_tensor], sorted, ntens * sizeof *sorted);
        free(sorted);
    } else if (data_size != 0) {
        rc = st_fail(err, ST_ERR_HOLE, label, data_base,
                     "the %llu-byte data buffer is covered by no tensor",
                     (unsigned long long)data_size);
        goto fail_nojson;
    }
    free(entries);
    f->strings = p.sb; /* names and metadata point here */
    p.sb = NULL;
    jfree(&p);
    return ST_OK;

fail:
fail_nojson:
    free(entries);
    m->ntensors = first_tensor;
    if (keep_meta) {
        free(m->meta);
        m->meta = NULL;
        m->nmeta = 0;
    }
    jfree(&p);
    return rc;
}

static int name_cmp_tensors(const st_model *m, size_t a, size_t b) {
    return strcmp(m->tensors[a].name, m->tensors[b].name);
}

static void sort_by_name(st_model *m, size_t *a, size_t *tmp, size_t n) {
    size_t i, j, k, mid;
    if (n < 2) return;
    mid = n / 2;
    sort_by_name(m, a, tmp, mid);
    sort_by_name(m, a + mid, tmp, n - mid);
    i = 0; j = mid; k = 0;
    while (i < mid && j < n) tmp[k++] = name_cmp_tensors(m, a[j], a[i]) < 0 ? a[j++] : a[i++];
    while (i < mid) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

/* Build the name index; reject one name in two files. */
static int finish_model(st_model *m, st_error *err) {
    size_t k, *tmp;
    char b1[160];
    if (m->ntensors == 0) return ST_OK;
    m->by_name = malloc(m->ntensors * sizeof *m->by_name);
    tmp = malloc(m->ntensors * sizeof *tmp);
    if (!m->by_name || !tmp) {
        free(tmp);
        return st_fail(err, ST_ERR_NOMEM, NULL, ST_NO_OFFSET, "out of memory");
    }
    for (k = 0; k < m->ntensors; k++) m->by_name[k] = k;
    sort_by_name(m, m->by_name, tmp, m->ntensors);
    free(tmp);
    for (k = 1; k < m->ntensors; k++) {
        const st_tensor *a = &m->tensors[m->by_name[k - 1]], *b = &m->tensors[m->by_name[k]];
        if (strcmp(a->name, b->name) == 0) {
            const st_tensor *later = a->file > b->file ? a : b;
            const st_tensor *earlier = a->file > b->file ? b : a;
            return st_fail(err, ST_ERR_DUPLICATE_TENSOR, m->files[later->file].path,
                           ST_NO_OFFSET, "tensor '%s' is also in %s",
                           text_show(b1, sizeof b1, a->name, a->name_length),
                           m->files[earlier->file].path);
        }
    }
    return ST_OK;
}

static st_model *model_new(unsigned flags) {
    st_model *m = calloc(1, sizeof *m);
    if (m) {
        m->flags = flags;
        long ps = sysconf(_SC_PAGESIZE);
        m->pagesize = ps > 0 ? (size_t)ps : 4096;
    }
    return m;
}

void st_close(st_model *m) {
    size_t k;
    if (!m) return;
    for (k = 0; k < m->nfiles; k++) {
        if (m->files[k].mapped) filemap_close(m->files[k].map, m->files[k].size);
        free(m->files[k].path);
        free(m->files[k].strings);
    }
    free(m->files);
    free(m->tensors);
    free(m->meta);
    free(m->by_name);
    free(m);
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Add a file slot and map the file into it. */
static int map_file(st_model *m, const char *path, st_error *err) {
    st_file *nf, *f;
    const void *map = NULL;
    size_t size = 0;
    filemap_failure why;
    filemap_status fs;
    nf = realloc(m->files, (m->nfiles + 1) * sizeof *nf);
    if (!nf) return st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory");
    m->files = nf;
    f = &m->files[m->nfiles];
    memset(f, 0, sizeof *f);
    f->path = xstrdup(path);
    if (!f->path) return st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory");
    m->nfiles++;
    fs = filemap_open(path, 8, &map, &size, &why);
    switch (fs) {
    case FILEMAP_OK: break;
    case FILEMAP_NOT_FOUND:
    case FILEMAP_IO:
        return st_fail(err, fs == FILEMAP_NOT_FOUND ? ST_ERR_NOT_FOUND : ST_ERR_IO, path,
                       ST_NO_OFFSET, "cannot %s: %s", why.what, strerror(why.err_no));
    case FILEMAP_NOT_REGULAR:
        return st_fail(err, ST_ERR_INVALID_ARGUMENT, path, ST_NO_OFFSET, "not a regular file");
    case FILEMAP_TOO_SHORT:
        return st_fail(err, ST_ERR_TRUNCATED, path, 0,
                       "file of %llu bytes is too short for the 8-byte header length",
                       (unsigned long long)why.file_size);
    case FILEMAP_TOO_LARGE:
        return st_fail(err, ST_ERR_LIMIT, path, ST_NO_OFFSET, "file too large to map");
    }
    f->map = map;
    f->size = size;
    f->mapped = 1;
    return ST_OK;
}

int st_open_file(st_model **out, const char *path, st_error *err) {
    return st_open_file_ex(out, path, 0, err);
}

int st_open_file_ex(st_model **out, const char *path, unsigned flags, st_error *err) {
    st_model *m;
    int rc;
    if (!out || !path) return st_fail(err, ST_ERR_INVALID_ARGUMENT, NULL, ST_NO_OFFSET, "NULL argument");
    *out = NULL;
    m = model_new(flags);
    if (!m) return st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory");
    if ((rc = map_file(m, path, err)) != ST_OK || (rc = parse_file(m, 0, 1, err)) != ST_OK ||
        (rc = finish_model(m, err)) != ST_OK) {
        st_close(m);
        return rc;
    }
    *out = m;
    return ST_OK;
}

int st_open_memory(st_model **out, const void *data, size_t size, const char *label,
                   st_error *err) {
    return st_open_memory_ex(out, data, size, label, 0, err);
}

int st_open_memory_ex(st_model **out, const void *data, size_t size, const char *label,
                      unsigned flags, st_error *err) {
    st_model *m;
    int rc;
    if (!out || (!data && size)) return st_fail(err, ST_ERR_INVALID_ARGUMENT, NULL, ST_NO_OFFSET, "NULL argument");
    *out = NULL;
    if (!label) label = "<memory>";
    m = model_new(flags);
    if (!m) return st_fail(err, ST_ERR_NOMEM, label, ST_NO_OFFSET, "out of memory");
    m->files = calloc(1, sizeof *m->files);
    if (!m->files || !(m->files[0].path = xstrdup(label))) {
        st_close(m);
        return st_fail(err, ST_ERR_NOMEM, label, ST_NO_OFFSET, "out of memory");
    }
    m->nfiles = 1;
    m->files[0].map = data;
    m->files[0].size = size;
    if ((rc = parse_file(m, 0, 1, err)) != ST_OK || (rc = finish_model(m, err)) != ST_OK) {
        st_close(m);
        return rc;
    }
    *out = m;
    return ST_OK;
}

/* ---- sharded models ---------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

static char *join_path(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *r;
    if (a > SIZE_MAX - b - 2) return NULL;
    r = malloc(a + b + 2);
    if (!r) return NULL;
    memcpy(r, dir, a);
    if (a && dir[a - 1] != '/') r[a++] = '/';
    memcpy(r + a, name, b + 1);
    return r;
}

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    char *r;
    size_t n;
    if (!slash) return xstrdup(".");
    n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/x" */
    r = malloc(n + 1);
    if (!r) return NULL;
    memcpy(r, path, n);
    r[n] = '\0';
    return r;
}

static int path_exists(const char *path) {
    struct stat stt;
    return stat(path, &stt) == 0;
}

typedef struct wm_entry {
    const char *name, *shard;
    size_t pos;
} wm_entry;

static int wm_cmp(const void *a, const void *b) {
    return strcmp(((const wm_entry *)a)->name, ((const wm_entry *)b)->name);
}
static int str_ptr_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Open the shards named by an index JSON (already read into buf). */
static int open_index(st_model *m, const char *path, const uint8_t *buf, size_t size,
                      st_error *err) {
    jparser p;
    const jnode *wm;
    wm_entry *ents = NULL;
    const char **shards = NULL;
    size_t n = 0, nshards = 0, k, key;
    char *dir = NULL;
    char b1[160], b2[160];
    int rc;

    if ((rc = jparse(&p, buf, size, path, 0, err)) != ST_OK) goto done;
    wm = jmember(&p, 0, "weight_map");
    if (!wm) {
        rc = st_fail(err, ST_ERR_BAD_INDEX, path, ST_NO_OFFSET, "index has no \"weight_map\"");
        goto done;
    }
    if (wm->type != J_OBJECT) {
        rc = jfail(&p, ST_ERR_BAD_INDEX, wm->pos, "\"weight_map\" is not an object");
        goto done;
    }
    n = wm->count;
    if (n == 0) {
        rc = jfail(&p, ST_ERR_BAD_INDEX, wm->pos, "\"weight_map\" is empty");
        goto done;
    }
    ents = calloc(n, sizeof *ents);
    shards = calloc(n, sizeof *shards);
    if (!ents || !shards) {
        rc = st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory");
        goto done;
    }
    for (k = 0, key = wm->first; k < n; k++) {
        const jnode *kn = &p.nodes[key], *vn = &p.nodes[kn->next];
        key = vn->next;
        if (vn->type != J_STRING) {
            rc = jfail(&p, ST_ERR_BAD_INDEX, vn->pos, "shard of tensor '%s' is not a string",
                       text_show(b1, sizeof b1, kn->str, kn->len));
            goto done;
        }
        if (vn->len == 0 || memchr(vn->str, '/', vn->len) || memchr(vn->str, '\\', vn->len) ||
            memchr(vn->str, '\0', vn->len) || !strcmp(vn->str, ".") || !strcmp(vn->str, "..")) {
            rc = jfail(&p, ST_ERR_BAD_INDEX, vn->pos,
                       "shard name '%s' of tensor '%s' is not a plain file name",
                       text_show(b2, sizeof b2, vn->str, vn->len), text_show(b1, sizeof b1, kn->str, kn->len));
            goto done;
        }
        if (memchr(kn->str, '\0', kn->len)) {
            rc = jfail(&p, ST_ERR_BAD_INDEX, kn->pos, "tensor name contains a NUL character");
            goto done;
        }
        ents[k].name = kn->str;
        ents[k].shard = vn->str;
        ents[k].pos = kn->pos;
        shards[k] = vn->str;
    }
    qsort(shards, n, sizeof *shards, str_ptr_cmp);
    for (k = 0; k < n; k++)
        if (k == 0 || strcmp(shards[k], shards[nshards - 1]) != 0) shards[nshards++] = shards[k];
    dir = dir_of(path);
    if (!dir) {
        rc = st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory");
        goto done;
    }
    /* every shard must exist before any is opened */
    for (k = 0; k < nshards; k++) {
        char *sp = join_path(dir, shards[k]);
        if (!sp) {
            rc = st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory");
            goto done;
        }
        if (!path_exists(sp)) {
            size_t j, uses = 0;
            const char *first = NULL;
            for (j = 0; j < n; j++)
                if (!strcmp(ents[j].shard, shards[k])) {
                    if (!first) first = ents[j].name;
                    uses++;
                }
            rc = st_fail(err, ST_ERR_MISSING_SHARD, path, ST_NO_OFFSET,
                         "shard %s does not exist (it should hold %zu tensor%s, such as '%s')",
                         sp, uses, uses == 1 ? "" : "s", text_show(b1, sizeof b1, first, strlen(first)));
            free(sp);
            goto done;
        }
        rc = map_file(m, sp, err);
        free(sp);
        if (rc != ST_OK) goto done;
        if ((rc = parse_file(m, m->nfiles - 1, k == 0, err)) != ST_OK) goto done;
    }
    /* every tensor of every shard is in the map, for that shard; counts match */
    qsort(ents, n, sizeof *ents, wm_cmp);
    for (k = 0; k < m->ntensors; k++) {
        const st_tensor *t = &m->tensors[k];
        wm_entry probe, *hit;
        const char *sname = strrchr(m->files[t->file].path, '/');
        sname = sname ? sname + 1 : m->files[t->file].path;
        probe.name = t->name;
        hit = bsearch(&probe, ents, n, sizeof *ents, wm_cmp);
        if (!hit) {
            rc = st_fail(err, ST_ERR_BAD_INDEX, path, ST_NO_OFFSET,
                         "shard %s holds tensor '%s', which the index does not list",
                         m->files[t->file].path, text_show(b1, sizeof b1, t->name, t->name_length));
            goto done;
        }
        if (strcmp(hit->shard, sname) != 0) {
            rc = st_fail(err, ST_ERR_BAD_INDEX, path, hit->pos,
                         "index puts tensor '%s' in %s, but it is (also) in %s",
                         text_show(b1, sizeof b1, t->name, t->name_length),
                         text_show(b2, sizeof b2, hit->shard, strlen(hit->shard)), sname);
            goto done;
        }
    }
    if ((rc = finish_model(m, err)) != ST_OK) goto done;
    if (m->ntensors != n) {
        /* names are unique on both sides and every shard tensor is mapped to its shard,
         * so some map entry names a tensor its shard lacks: find it for the message */
        for (k = 0; k < n; k++) {
            if (!st_find(m, ents[k].name)) {
                rc = st_fail(err, ST_ERR_BAD_INDEX, path, ents[k].pos,
                             "index lists tensor '%s' in shard %s, which does not hold it",
                             text_show(b1, sizeof b1, ents[k].name, strlen(ents[k].name)),
                             text_show(b2, sizeof b2, ents[k].shard, strlen(ents[k].shard)));
                goto done;
            }
        }
        rc = st_fail(err, ST_ERR_BAD_INDEX, path, ST_NO_OFFSET, "index and shards disagree");
        goto done;
    }
    rc = ST_OK;
done:
    free(dir);
    free(ents);
    free(shards);
    jfree(&p);
    return rc;
}

static int read_small_file(const char *path, uint8_t **buf, size_t *size, size_t cap,
                           st_error *err) {
    FILE *fp = fopen(path, "rb");
    struct stat stt;
    uint8_t *b;
    size_t got;
    *buf = NULL;
    *size = 0;
    if (!fp) {
        int e = errno;
        return st_fail(err, e == ENOENT ? ST_ERR_NOT_FOUND : ST_ERR_IO, path, ST_NO_OFFSET,
                       "cannot open: %s", strerror(e));
    }
    if (fstat(fileno(fp), &stt) != 0 || !S_ISREG(stt.st_mode)) {
        fclose(fp);
        return st_fail(err, ST_ERR_IO, path, ST_NO_OFFSET, "not a readable regular file");
    }
    if ((uint64_t)stt.st_size > cap) {
        fclose(fp);
        return st_fail(err, ST_ERR_LIMIT, path, ST_NO_OFFSET,
                       "index file of %lld bytes exceeds the limit of %zu bytes",
                       (long long)stt.st_size, cap);
    }
    b = malloc((size_t)stt.st_size + 1);
    if (!b) {
        fclose(fp);
        return st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory");
    }
    got = fread(b, 1, (size_t)stt.st_size, fp);
    if (got != (size_t)stt.st_size || ferror(fp)) {
        fclose(fp);
        free(b);
        return st_fail(err, ST_ERR_IO, path, ST_NO_OFFSET, "read error");
    }
    fclose(fp);
    *buf = b;
    *size = got;
    return ST_OK;
}

static int open_index_file(st_model **out, const char *path, unsigned flags, st_error *err) {
    uint8_t *buf;
    size_t size;
    st_model *m;
    int rc = read_small_file(path, &buf, &size, ST_MAX_INDEX_SIZE, err);
    if (rc != ST_OK) return rc;
    m = model_new(flags);
    if (!m) {
        free(buf);
        return st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory");
    }
    rc = open_index(m, path, buf, size, err);
    free(buf);
    if (rc != ST_OK) {
        st_close(m);
        return rc;
    }
    *out = m;
    return ST_OK;
}

/* "PREFIX-00001-of-00003.safetensors": fills prefix length, index and count. */
static int shard_pattern(const char *name, size_t *plen, unsigned long *idx, unsigned long *cnt) {
    const char *suffix = ".safetensors";
    size_t n = strlen(name), sl = strlen(suffix), i;
    const char *s;
    char *end;
    if (n < sl + 11 || strcmp(name + n - sl, suffix) != 0) return 0;
    /* find "-of-" */
    s = NULL;
    for (i = 0; i + 4 <= n - sl; i++)
        if (!memcmp(name + i, "-of-", 4)) s = name + i;
    if (!s) return 0;
    {
        const char *a = s, *dash;
        if (a == name) return 0;
        dash = a - 1;
        while (dash > name && *dash >= '0' && *dash <= '9') dash--;
        if (*dash != '-' || dash + 1 == a) return 0;
        *idx = strtoul(dash + 1, &end, 10);
        if (end != a) return 0;
        *cnt = strtoul(s + 4, &end, 10);
        if (end != name + n - sl || end == s + 4) return 0;
        *plen = (size_t)(dash - name);
    }
    return *idx >= 1 && *cnt >= 1 && *idx <= *cnt;
}

static int open_dir(st_model **out, const char *path, unsigned flags, st_error *err) {
    DIR *d = opendir(path);
    struct dirent *de;
    char **names = NULL, **idx_names = NULL;
    size_t nn = 0, ni = 0, cap = 0, icap = 0, k;
    int rc = ST_OK;
    st_model *m = NULL;
    char b1[160];
    if (!d) return st_fail(err, ST_ERR_IO, path, ST_NO_OFFSET, "cannot open directory: %s", strerror(errno));
    while ((de = readdir(d)) != NULL) {
        char *full;
        struct stat stt;
        int is_idx = ends_with(de->d_name, ".safetensors.index.json");
        if (!is_idx && !ends_with(de->d_name, ".safetensors")) continue;
        full = join_path(path, de->d_name);
        if (!full) { rc = ST_ERR_NOMEM; break; }
        if (stat(full, &stt) != 0 || !S_ISREG(stt.st_mode)) { free(full); continue; }
        free(full);
        if (is_idx) {
            if (ni == icap) {
                char **t = realloc(idx_names, (icap = icap ? icap * 2 : 8) * sizeof *t);
                if (!t) { rc = ST_ERR_NOMEM; break; }
                idx_names = t;
            }
            if (!(idx_names[ni] = xstrdup(de->d_name))) { rc = ST_ERR_NOMEM; break; }
            ni++;
        } else {
            if (nn == cap) {
                char **t = realloc(names, (cap = cap ? cap * 2 : 8) * sizeof *t);
                if (!t) { rc = ST_ERR_NOMEM; break; }
                names = t;
            }
            if (!(names[nn] = xstrdup(de->d_name))) { rc = ST_ERR_NOMEM; break; }
            nn++;
        }
    }
    closedir(d);
    if (rc != ST_OK) {
        rc = st_fail(err, rc, path, ST_NO_OFFSET, "out of memory listing the directory");
        goto done;
    }
    if (names) qsort(names, nn, sizeof *names, str_ptr_cmp);
    if (idx_names) qsort(idx_names, ni, sizeof *idx_names, str_ptr_cmp);
    if (ni > 1) {
        rc = st_fail(err, ST_ERR_INVALID_ARGUMENT, path, ST_NO_OFFSET,
                     "directory holds %zu index files (%s, %s, ...); name the one to use", ni,
                     idx_names[0], idx_names[1]);
        goto done;
    }
    if (ni == 1) {
        char *ip = join_path(path, idx_names[0]);
        if (!ip) { rc = st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory"); goto done; }
        rc = open_index_file(out, ip, flags, err);
        free(ip);
        goto done;
    }
    if (nn == 0) {
        rc = st_fail(err, ST_ERR_NOT_FOUND, path, ST_NO_OFFSET,
                     "directory holds no .safetensors file and no .safetensors.index.json");
        goto done;
    }
    if (nn == 1) {
        size_t plen;
        unsigned long idx, cnt;
        if (shard_pattern(names[0], &plen, &idx, &cnt) && cnt > 1) {
            rc = st_fail(err, ST_ERR_MISSING_SHARD, path, ST_NO_OFFSET,
                         "%s is shard %lu of %lu, but the other shards and the index are missing",
                         text_show(b1, sizeof b1, names[0], strlen(names[0])), idx, cnt);
            goto done;
        }
    }
    if (nn == 1) {
        char *fp = join_path(path, names[0]);
        if (!fp) { rc = st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory"); goto done; }
        rc = st_open_file_ex(out, fp, flags, err);
        free(fp);
        goto done;
    }
    /* several files and no index: accept only a complete PREFIX-i-of-N set */
    {
        size_t plen0 = 0, plen;
        unsigned long idx, cnt0 = 0, cnt, want;
        unsigned char *seen = NULL;
        for (k = 0; k < nn; k++) {
            if (!shard_pattern(names[k], &plen, &idx, &cnt) ||
                (k > 0 && (plen != plen0 || cnt != cnt0 || memcmp(names[k], names[0], plen)))) {
                rc = st_fail(err, ST_ERR_INVALID_ARGUMENT, path, ST_NO_OFFSET,
                             "directory holds several .safetensors files (%s, %s, ...) that are "
                             "not one NAME-0000i-of-0000N set, and no index; name the file to use",
                             names[0], names[1]);
                goto done;
            }
            plen0 = plen;
            cnt0 = cnt;
        }
        if (cnt0 > 100000) {
            rc = st_fail(err, ST_ERR_LIMIT, path, ST_NO_OFFSET, "%lu shards is too many", cnt0);
            goto done;
        }
        seen = calloc(cnt0 + 1, 1);
        if (!seen) { rc = st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory"); goto done; }
        for (k = 0; k < nn; k++) {
            (void)shard_pattern(names[k], &plen, &idx, &cnt);
            seen[idx] = 1;
        }
        for (want = 1; want <= cnt0; want++) {
            if (!seen[want]) {
                rc = st_fail(err, ST_ERR_MISSING_SHARD, path, ST_NO_OFFSET,
                             "shard %lu of %lu is missing (have %s, ...; no index file)", want,
                             cnt0, text_show(b1, sizeof b1, names[0], strlen(names[0])));
                free(seen);
                goto done;
            }
        }
        free(seen);
        m = model_new(flags);
        if (!m) { rc = st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory"); goto done; }
        for (k = 0; k < nn; k++) {
            char *fp = join_path(path, names[k]);
            if (!fp) { rc = st_fail(err, ST_ERR_NOMEM, path, ST_NO_OFFSET, "out of memory"); goto done; }
            rc = map_file(m, fp, err);
            free(fp);
            if (rc != ST_OK) goto done;
            if ((rc = parse_file(m, m->nfiles - 1, k == 0, err)) != ST_OK) goto done;
        }
        if ((rc = finish_model(m, err)) != ST_OK) goto done;
        *out = m;
        m = NULL;
    }
done:
    st_close(m);
    for (k = 0; k < nn; k++) free(names[k]);
    for (k = 0; k < ni; k++) free(idx_names[k]);
    free(names);
    free(idx_names);
    return rc;
}

int st_open(st_model **out, const char *path, st_error *err) {
    return st_open_ex(out, path, 0, err);
}

int st_open_ex(st_model **out, const char *path, unsigned flags, st_error *err) {
    struct stat stt;
    if (!out || !path) return st_fail(err, ST_ERR_INVALID_ARGUMENT, NULL, ST_NO_OFFSET, "NULL argument");
    *out = NULL;
    if (stat(path, &stt) != 0) {
        int e = errno;
        return st_fail(err, e == ENOENT ? ST_ERR_NOT_FOUND : ST_ERR_IO, path, ST_NO_OFFSET,
                       "cannot access: %s", strerror(e));
    }
    if (S_ISDIR(stt.st_mode)) return open_dir(out, path, flags, err);
    if (ends_with(path, ".json")) return open_index_file(out, path, flags, err);
    return st_open_file_ex(out, path, flags, err);
}

/* ---- accessors ------------------------------------------------------------------------ */

size_t st_tensor_count(const st_model *m) { return m ? m->ntensors : 0; }

const st_tensor *st_tensor_at(const st_model *m, size_t index) {
    return (m && index < m->ntensors) ? &m->tensors[index] : NULL;
}

const st_tensor *st_find(const st_model *m, const char *name) {
    size_t lo = 0, hi;
    if (!m || !name || !m->by_name) return NULL;
    hi = m->ntensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->tensors[m->by_name[mid]].name, name);
        if (c == 0) return &m->tensors[m->by_name[mid]];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

size_t st_file_count(const st_model *m) { return m ? m->nfiles : 0; }
const char *st_file_path(const st_model *m, size_t file) {
    return (m && file < m->nfiles) ? m->files[file].path : NULL;
}

uint64_t st_data_bytes(const st_model *m) {
    uint64_t s = 0;
    size_t k;
    if (!m) return 0;
    for (k = 0; k < m->ntensors; k++) s += m->tensors[k].nbytes; /* files are mapped: fits */
    return s;
}

size_t st_metadata_count(const st_model *m) { return m ? m->nmeta : 0; }

int st_metadata_at(const st_model *m, size_t index, const char **key, size_t *key_length,
                   const char **value, size_t *value_length) {
    if (!m || index >= m->nmeta) return ST_ERR_NOT_FOUND;
    if (key) *key = m->meta[index].key;
    if (key_length) *key_length = m->meta[index].key_length;
    if (value) *value = m->meta[index].value;
    if (value_length) *value_length = m->meta[index].value_length;
    return ST_OK;
}

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, ex = (h >> 10) & 0x1Fu, man = h & 0x3FFu, bits;
    float f;
    if (ex == 0) {
        if (man == 0) {
            bits = sign;
        } else {
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

int st_tensor_to_f32(const st_tensor *t, float *out, uint64_t count) {
    uint64_t i;
    const uint8_t *d;
    if (!t || !out || count != t->numel) return ST_ERR_INVALID_ARGUMENT;
    d = t->data;
    switch (t->dtype) {
    case ST_F32:
        for (i = 0; i < count; i++) {
            uint32_t b = (uint32_t)d[4 * i] | ((uint32_t)d[4 * i + 1] << 8) |
                         ((uint32_t)d[4 * i + 2] << 16) | ((uint32_t)d[4 * i + 3] << 24);
            memcpy(&out[i], &b, 4);
        }
        return ST_OK;
    case ST_F16:
        for (i = 0; i < count; i++)
            out[i] = f16_to_f32((uint16_t)(d[2 * i] | (d[2 * i + 1] << 8)));
        return ST_OK;
    case ST_BF16:
        for (i = 0; i < count; i++) {
            uint32_t b = ((uint32_t)d[2 * i] << 16) | ((uint32_t)d[2 * i + 1] << 24);
            memcpy(&out[i], &b, 4);
        }
        return ST_OK;
    default:
        return ST_ERR_INVALID_ARGUMENT;
    }
}

void st_release(const st_model *m, const st_tensor *t) {
#if defined(MADV_DONTNEED)
    if (m && t && t->file < m->nfiles && m->files[t->file].mapped && t->nbytes) {
        const st_file *f = &m->files[t->file];
        uintptr_t base = (uintptr_t)f->map;
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

/* ---- header writer ------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->cap - b->n < n + 1) {
        size_t nc = b->cap ? b->cap : 256;
        char *np;
        while (nc - b->n < n + 1) {
            if (nc > SIZE_MAX / 2) { b->oom = 1; return; }
            nc *= 2;
        }
        np = realloc(b->p, nc);
        if (!np) { b->oom = 1; return; }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}
static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_u64(sbuf *b, uint64_t v) {
    char t[24];
    snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    sb_str(b, t);
}
static void sb_json_string(sbuf *b, const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    sb_put(b, "\"", 1);
    for (; *u; u++) {
        if (*u == '"') sb_put(b, "\\\"", 2);
        else if (*u == '\\') sb_put(b, "\\\\", 2);
        else if (*u < 0x20) {
            char t[8];
            snprintf(t, sizeof t, "\\u%04x", *u);
            sb_put(b, t, 6);
        } else sb_put(b, (const char *)u, 1);
    }
    sb_put(b, "\"", 1);
}

static int valid_utf8_str(const char *s) {
    size_t n = strlen(s);
    return utf8_bad_at((const uint8_t *)s, n) == n;
}

static size_t out_dtype_size(const char *dt) {
    if (!strcmp(dt, "F32") || !strcmp(dt, "U32") || !strcmp(dt, "I32")) return 4;
    if (!strcmp(dt, "F16") || !strcmp(dt, "BF16") || !strcmp(dt, "U16") || !strcmp(dt, "I16")) return 2;
    if (!strcmp(dt, "U8") || !strcmp(dt, "I8")) return 1;
    if (!strcmp(dt, "F64") || !strcmp(dt, "U64") || !strcmp(dt, "I64")) return 8;
    return 0;
}

int st_build_header(const st_out_tensor *tensors, size_t count, const char *const *kv,
                    size_t nmeta, uint8_t **out, size_t *out_size, st_error *err) {
    sbuf b = {0};
    size_t k, pad;
    uint64_t off = 0, hl;
    char b1[160];
    if (!out || !out_size || (count && !tensors) || (nmeta && !kv))
        return st_fail(err, ST_ERR_INVALID_ARGUMENT, NULL, ST_NO_OFFSET, "NULL argument");
    *out = NULL;
    *out_size = 0;
    sb_put(&b, "\0\0\0\0\0\0\0\0", 8);
    sb_put(&b, "{", 1);
    if (nmeta) {
        sb_str(&b, "\"__metadata__\":{");
        for (k = 0; k < nmeta; k++) {
            if (!valid_utf8_str(kv[2 * k]) || !valid_utf8_str(kv[2 * k + 1])) {
                free(b.p);
                return st_fail(err, ST_ERR_BAD_UTF8, NULL, ST_NO_OFFSET,
                               "metadata entry %zu is not valid UTF-8", k);
            }
            if (k) sb_put(&b, ",", 1);
            sb_json_string(&b, kv[2 * k]);
            sb_put(&b, ":", 1);
            sb_json_string(&b, kv[2 * k + 1]);
        }
        sb_put(&b, "}", 1);
    }
    for (k = 0; k < count; k++) {
        const st_out_tensor *t = &tensors[k];
        uint64_t numel = 1, need, end;
        size_t esz = t->dtype ? out_dtype_size(t->dtype) : 0, d;
        if (!t->name || !t->dtype || t->ndim > ST_MAX_DIMS || !valid_utf8_str(t->name) ||
            !strcmp(t->name, "__metadata__")) {
            free(b.p);
            return st_fail(err, ST_ERR_INVALID_ARGUMENT, NULL, ST_NO_OFFSET,
                           "tensor %zu ('%s') cannot be written: bad name, dtype or rank", k,
                           t->name ? text_show(b1, sizeof b1, t->name, strlen(t->name)) : "(null)");
        }
        for (d = 0; d < t->ndim; d++)
            if (__builtin_mul_overflow(numel, t->shape[d], &numel)) {
                free(b.p);
                return st_fail(err, ST_ERR_OVERFLOW, NULL, ST_NO_OFFSET,
                               "shape of tensor '%s' overflows", text_show(b1, sizeof b1, t->name, strlen(t->name)));
            }
        if (esz && (__builtin_mul_overflow(numel, (uint64_t)esz, &need) || need != t->nbytes)) {
            free(b.p);
            return st_fail(err, ST_ERR_SIZE_MISMATCH, NULL, ST_NO_OFFSET,
                           "tensor '%s': %llu bytes given, shape and dtype %s need another size",
                           text_show(b1, sizeof b1, t->name, strlen(t->name)),
                           (unsigned long long)t->nbytes, t->dtype);
        }
        if (__builtin_add_overflow(off, t->nbytes, &end)) {
            free(b.p);
            return st_fail(err, ST_ERR_OVERFLOW, NULL, ST_NO_OFFSET, "data size overflows");
        }
        if (k || nmeta) sb_put(&b, ",", 1);
        sb_json_string(&b, t->name);
        sb_str(&b, ":{\"dtype\":");
        sb_json_string(&b, t->dtype);
        sb_str(&b, ",\"shape\":[");
        for (d = 0; d < t->ndim; d++) {
            if (d) sb_put(&b, ",", 1);
            sb_u64(&b, t->shape[d]);
        }
        sb_str(&b, "],\"data_offsets\":[");
        sb_u64(&b, off);
        sb_put(&b, ",", 1);
        sb_u64(&b, end);
        sb_str(&b, "]}");
        off = end;
    }
    sb_put(&b, "}", 1);
    pad = (8 - b.n % 8) % 8;
    for (k = 0; k < pad; k++) sb_put(&b, " ", 1);
    if (b.oom) {
        free(b.p);
        return st_fail(err, ST_ERR_NOMEM, NULL, ST_NO_OFFSET, "out of memory building the header");
    }
    hl = b.n - 8;
    if (hl > ST_MAX_HEADER_SIZE) {
        free(b.p);
        return st_fail(err, ST_ERR_HEADER_TOO_LARGE, NULL, ST_NO_OFFSET,
                       "header of %llu bytes exceeds the safetensors limit",
                       (unsigned long long)hl);
    }
    for (k = 0; k < 8; k++) b.p[k] = (char)(uint8_t)(hl >> (8 * k));
    *out = (uint8_t *)b.p;
    *out_size = b.n;
    return ST_OK;
}
