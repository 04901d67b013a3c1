/*
 * safetensors.h — a strict, self-contained reader (and header writer) for the safetensors
 * format, used by the ECQF tools and fuzzers. No Python, no third-party JSON library.
 *
 * Format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length
 * N, N bytes of UTF-8 JSON, then the data buffer. The JSON is an object mapping tensor names
 * to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data buffer),
 * plus an optional "__metadata__" object of string values.
 *
 * Validation (at least as strict as the reference implementation):
 *  - N <= 100,000,000 (ST_MAX_HEADER_SIZE) and 8 + N <= file size;
 *  - the header is RFC 8259 JSON starting with '{', with well-formed UTF-8 (no overlong forms,
 *    no surrogates, nothing above U+10FFFF; escapes \uXXXX must pair surrogates correctly);
 *    only JSON whitespace may follow the object; duplicate keys are rejected in every object;
 *  - every tensor entry holds exactly "dtype" (a string), "shape" (an array of non-negative
 *    integers, at most ST_MAX_DIMS of them) and "data_offsets" (two non-negative integers);
 *  - dtypes F32, F16 and BF16 are supported; the other safetensors dtypes (BOOL, U8, I8, I16,
 *    U16, I32, U32, I64, U64, F64, F8_*, ...) give ST_ERR_UNSUPPORTED_DTYPE, anything else
 *    ST_ERR_UNKNOWN_DTYPE;
 *  - shape product times the dtype size is computed with overflow checks and must equal
 *    end - begin;
 *  - sorted by offset, the tensors cover the data buffer exactly: no overlap, no hole, nothing
 *    after the last tensor;
 *  - tensor names contain no NUL character.
 *
 * Sharded models: a "*.safetensors.index.json" file with a "weight_map" object naming the shard
 * file of every tensor. Every shard must exist (ST_ERR_MISSING_SHARD otherwise), every tensor
 * of the map must be in its shard, and every tensor of a shard must be in the map.
 *
 * Errors say what and where: the file, and the byte offset within it.
 */
#ifndef ECQF_TOOLS_SAFETENSORS_H
#define ECQF_TOOLS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_HEADER_SIZE 100000000u /* as the reference implementation */
#define ST_MAX_DIMS 8
#define ST_MAX_JSON_DEPTH 64
#define ST_MAX_INDEX_SIZE 100000000u  /* index .json files */
#define ST_NO_OFFSET UINT64_MAX
#define ST_ERROR_MESSAGE_SIZE 1024

typedef enum st_status {
    ST_OK = 0,
    ST_ERR_IO = 1,                 /* open/stat/read/mmap failed */
    ST_ERR_NOMEM = 2,
    ST_ERR_INVALID_ARGUMENT = 3,
    ST_ERR_TRUNCATED = 4,          /* the file ends before what it declares */
    ST_ERR_HEADER_TOO_LARGE = 5,   /* declared header length above ST_MAX_HEADER_SIZE */
    ST_ERR_BAD_JSON = 6,           /* not well-formed JSON */
    ST_ERR_BAD_UTF8 = 7,           /* ill-formed UTF-8 or an unpaired surrogate escape */
    ST_ERR_DUPLICATE_KEY = 8,      /* a key twice in one JSON object */
    ST_ERR_BAD_HEADER = 9,         /* well-formed JSON, wrong structure */
    ST_ERR_UNKNOWN_DTYPE = 10,
    ST_ERR_UNSUPPORTED_DTYPE = 11, /* a known safetensors dtype that ECQF does not store */
    ST_ERR_BAD_SHAPE = 12,         /* too many dimensions */
    ST_ERR_OVERFLOW = 13,          /* shape x dtype size does not fit 64 bits */
    ST_ERR_SIZE_MISMATCH = 14,     /* end - begin differs from shape x dtype size */
    ST_ERR_BAD_OFFSETS = 15,       /* begin > end, or beyond the data buffer */
    ST_ERR_OVERLAP = 16,           /* two tensors share bytes */
    ST_ERR_HOLE = 17,              /* bytes of the data buffer no tensor covers */
    ST_ERR_BAD_INDEX = 18,         /* index .json inconsistent with its shards */
    ST_ERR_MISSING_SHARD = 19,
    ST_ERR_DUPLICATE_TENSOR = 20,  /* one name in two shards */
    ST_ERR_NOT_FOUND = 21,         /* nothing to read at that path */
    ST_ERR_LIMIT = 22,
    ST_STATUS_COUNT_ = 23
} st_status;

/* "ST_ERR_OVERLAP" etc.; "ST_ERR_UNKNOWN" for other values. */
const char *st_status_name(int status);

typedef struct st_error {
    int code;                              /* st_status */
    uint64_t offset;                       /* byte offset in the file, or ST_NO_OFFSET */
    char message[ST_ERROR_MESSAGE_SIZE];   /* "FILE: byte N: what" */
} st_error;

/* ST_OTHER: a known safetensors dtype that ECQF does not store (I64, U8, F64, ...); such
 * tensors appear only with ST_OPEN_ALLOW_UNSUPPORTED, with dtype_name saying which. */
typedef enum st_dtype { ST_F32 = 0, ST_F16 = 1, ST_BF16 = 2, ST_OTHER = 3 } st_dtype;
const char *st_dtype_name(int dtype);   /* "F32", "F16", "BF16", NULL otherwise */
size_t st_dtype_size(int dtype);        /* 4, 2, 2, 0 otherwise */

typedef struct st_tensor {
    const char *name;         /* NUL-terminated UTF-8, no embedded NUL */
    size_t name_length;
    int dtype;                /* st_dtype */
    const char *dtype_name;   /* "F32", ..., or for ST_OTHER the file's name ("I64", ...) */
    unsigned ndim;
    uint64_t shape[ST_MAX_DIMS];
    uint64_t numel;           /* 1 when ndim == 0 */
    uint64_t nbytes;
    const uint8_t *data;      /* into the read-only mapping; not aligned */
    uint64_t file_offset;     /* absolute offset of the data in its file */
    unsigned file;            /* index of the file holding it (st_file_path) */
} st_tensor;

typedef struct st_model st_model;

/* Flags of the *_ex functions. */
#define ST_OPEN_ALLOW_UNSUPPORTED 1u /* accept known unsupported dtypes as ST_OTHER tensors
                                        (still fully validated) instead of failing */

/* Open a .safetensors file, a *.safetensors.index.json, or a directory holding either (one
 * index, one .safetensors file, or a complete NAME-0000X-of-0000N.safetensors set). */
int st_open(st_model **out, const char *path, st_error *err);
int st_open_ex(st_model **out, const char *path, unsigned flags, st_error *err);
/* Open exactly one .safetensors file. */
int st_open_file(st_model **out, const char *path, st_error *err);
int st_open_file_ex(st_model **out, const char *path, unsigned flags, st_error *err);
/* Parse a caller's buffer (it must outlive the model); label names it in messages. */
int st_open_memory(st_model **out, const void *data, size_t size, const char *label,
                   st_error *err);
int st_open_memory_ex(st_model **out, const void *data, size_t size, const char *label,
                      unsigned flags, st_error *err);
void st_close(st_model *m); /* NULL is fine */

/* Tensors are ordered by file (shards in name order), then by data offset. */
size_t st_tensor_count(const st_model *m);
const st_tensor *st_tensor_at(const st_model *m, size_t index);
const st_tensor *st_find(const st_model *m, const char *name); /* NULL if absent */
size_t st_file_count(const st_model *m);
const char *st_file_path(const st_model *m, size_t file);
/* Sum of every tensor's nbytes. */
uint64_t st_data_bytes(const st_model *m);

/* __metadata__ of the (first) file, in file order. Keys and values are NUL-terminated;
 * lengths are given because JSON strings may contain \u0000. */
size_t st_metadata_count(const st_model *m);
int st_metadata_at(const st_model *m, size_t index, const char **key, size_t *key_length,
                   const char **value, size_t *value_length);

/* Convert a tensor's values to f32 (exact for all three dtypes; ST_OTHER is refused with
 * ST_ERR_INVALID_ARGUMENT). count must equal numel. */
int st_tensor_to_f32(const st_tensor *t, float *out, uint64_t count);

/* Tell the OS the tensor's pages are no longer needed (best effort; it stays readable). */
void st_release(const st_model *m, const st_tensor *t);

/* ---- writing ------------------------------------------------------------------------ */

/* One tensor of a file to write, in data order. dtype is the safetensors dtype string
 * ("F32", "F16", "BF16", "U32", ...); nbytes its data size (checked against the shape when
 * the dtype is one of the supported ones or U32). */
typedef struct st_out_tensor {
    const char *name;
    const char *dtype;
    unsigned ndim;
    uint64_t shape[ST_MAX_DIMS];
    uint64_t nbytes;
} st_out_tensor;

/* Build the header JSON for these tensors (data in the given order, offsets consecutive) and
 * metadata (nmeta key/value pairs: kv[2i], kv[2i+1], NUL-terminated UTF-8). The result is the
 * whole prefix of the file: the 8-byte length followed by the JSON, padded with spaces so that
 * the data starts at a multiple of 8. *out is malloc'ed. */
int st_build_header(const st_out_tensor *tensors, size_t count, const char *const *kv,
                    size_t nmeta, uint8_t **out, size_t *out_size, st_error *err);

#endif
