/*
 * gguf.h — a strict, self-contained reader for GGUF files (ggml's model format, versions 2
 * and 3, little-endian), and dequantization of its tensor types to float32. Used by
 * ecqf-pack. No ggml, no Python.
 *
 * Format (ggml's docs/gguf.md): "GGUF", u32 version, u64 tensor_count, u64 kv_count; kv_count
 * key/value pairs (a string key, a u32 value type, the value); tensor_count tensor infos (a
 * string name, u32 n_dims, n_dims u64 dimensions ne[0..n_dims), a u32 ggml type, a u64 offset
 * relative to the data section); padding to general.alignment (default 32); the data section.
 * Strings are a u64 byte length followed by UTF-8 bytes (no terminator). Arrays are a u32
 * element type, a u64 element count, then the elements.
 *
 * Dimensions are stored fastest-first: ne[0] is the length of a row (the contiguous axis), as
 * in ggml. A reader that wants the row-major shape of numpy/safetensors/ECQF reverses them:
 * shape = [ne[n-1], ..., ne[1], ne[0]]. gguf_tensor carries both.
 *
 * Validation (nothing is trusted; every size and offset is computed with overflow checks
 * before use, and nothing is allocated from a count before that count is bounded by the file
 * size):
 *  - magic "GGUF"; version 2 or 3 (1 used 32-bit counts and is refused; a version whose low 16
 *    bits are zero is a big-endian file, refused as such);
 *  - tensor_count and kv_count no larger than what the file could hold at the smallest
 *    encoding of an entry (24 and 13 bytes);
 *  - every string length within the file; keys non-empty, at most GGUF_MAX_KEY_LENGTH bytes of
 *    printable ASCII, unique; string values well-formed UTF-8 (RFC 3629);
 *  - value types known (0..12); booleans 0 or 1; arrays nested at most GGUF_MAX_ARRAY_DEPTH
 *    deep, their element counts bounded by the bytes left;
 *  - general.alignment, when present, a uint32 power of two from 1 to GGUF_MAX_ALIGNMENT;
 *  - tensor names non-empty, at most GGUF_MAX_NAME_LENGTH bytes of well-formed UTF-8 without
 *    NUL, unique; n_dims <= GGUF_MAX_DIMS; every dimension <= INT64_MAX and their product (and
 *    the byte size) free of overflow; the ggml type known, and ne[0] a multiple of its block
 *    size;
 *  - every offset a multiple of the alignment, and offset + byte size within the data section
 *    (which starts at the aligned end of the tensor infos and ends at the end of the file);
 *  - no two tensors share a byte. Gaps between tensors are allowed (the spec pads them; the
 *    reference reader also demands file order, which this reader does not).
 *
 * Errors say what and where: "FILE: byte N: what".
 */
#ifndef ECQF_TOOLS_GGUF_H
#define ECQF_TOOLS_GGUF_H

#include <stddef.h>
#include <stdint.h>

#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME_LENGTH 64       /* bytes, as the spec */
#define GGUF_MAX_KEY_LENGTH 65535     /* bytes, as the spec */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_ALIGNMENT (1u << 20) /* as the reference reader */
#define GGUF_MAX_ARRAY_DEPTH 8        /* arrays of arrays of ... */
#define GGUF_NO_OFFSET UINT64_MAX
#define GGUF_ERROR_MESSAGE_SIZE 1024

typedef enum gguf_status {
    GGUF_OK = 0,
    GGUF_ERR_IO = 1,                 /* open/stat/mmap failed */
    GGUF_ERR_NOMEM = 2,
    GGUF_ERR_INVALID_ARGUMENT = 3,
    GGUF_ERR_TRUNCATED = 4,          /* the file ends inside what it declares */
    GGUF_ERR_BAD_MAGIC = 5,          /* not "GGUF" */
    GGUF_ERR_BAD_VERSION = 6,        /* not 2 or 3, or big-endian */
    GGUF_ERR_TOO_MANY = 7,           /* a count the file size cannot hold */
    GGUF_ERR_BAD_STRING = 8,         /* a string length beyond the file */
    GGUF_ERR_BAD_UTF8 = 9,
    GGUF_ERR_BAD_KEY = 10,           /* empty, too long or not printable ASCII */
    GGUF_ERR_DUPLICATE_KEY = 11,
    GGUF_ERR_BAD_VALUE_TYPE = 12,    /* unknown value type */
    GGUF_ERR_BAD_VALUE = 13,         /* a boolean not 0/1; general.alignment of the wrong type */
    GGUF_ERR_NESTING = 14,           /* arrays nested too deep */
    GGUF_ERR_BAD_ALIGNMENT = 15,     /* alignment not a power of two, or an unaligned offset */
    GGUF_ERR_BAD_NAME = 16,          /* empty, too long, NUL inside */
    GGUF_ERR_DUPLICATE_TENSOR = 17,
    GGUF_ERR_BAD_SHAPE = 18,         /* n_dims > 4, a dimension > INT64_MAX, ne[0] not whole blocks */
    GGUF_ERR_OVERFLOW = 19,          /* dimensions x type size do not fit 64 bits */
    GGUF_ERR_UNKNOWN_TYPE = 20,      /* not a ggml type */
    GGUF_ERR_UNSUPPORTED_TYPE = 21,  /* a ggml type that cannot be dequantized here */
    GGUF_ERR_BAD_OFFSET = 22,        /* data past the end of the file */
    GGUF_ERR_OVERLAP = 23,           /* two tensors share bytes */
    GGUF_ERR_NOT_FOUND = 24,
    GGUF_ERR_LIMIT = 25,
    GGUF_STATUS_COUNT_ = 26
} gguf_status;

/* "GGUF_ERR_OVERLAP" etc.; "GGUF_ERR_UNKNOWN" for other values. */
const char *gguf_status_name(int status);

typedef struct gguf_error {
    int code;                               /* gguf_status */
    uint64_t offset;                        /* byte offset in the file, or GGUF_NO_OFFSET */
    char message[GGUF_ERROR_MESSAGE_SIZE];  /* "FILE: byte N: what" */
} gguf_error;

/* ggml tensor types (the values stored in files). */
enum {
    GGML_T_F32 = 0, GGML_T_F16 = 1, GGML_T_Q4_0 = 2, GGML_T_Q4_1 = 3, GGML_T_Q5_0 = 6,
    GGML_T_Q5_1 = 7, GGML_T_Q8_0 = 8, GGML_T_Q8_1 = 9, GGML_T_Q2_K = 10, GGML_T_Q3_K = 11,
    GGML_T_Q4_K = 12, GGML_T_Q5_K = 13, GGML_T_Q6_K = 14, GGML_T_Q8_K = 15, GGML_T_BF16 = 30
};

/* Name ("Q4_K"), block size in elements and block size in bytes of a ggml type; NULL and 0
 * for values that are not ggml types (the removed 4, 5, 31..33, 36..38, and >= 40). */
const char *gguf_ggml_type_name(unsigned type);
uint64_t gguf_ggml_block_elements(unsigned type);
uint64_t gguf_ggml_block_bytes(unsigned type);
/* 1 for the types gguf_dequantize decodes: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
 * Q4_K, Q5_K, Q6_K. */
int gguf_ggml_type_supported(unsigned type);
/* 1 for F32, F16 and BF16, whose bytes are already little-endian floats. */
int gguf_ggml_type_is_float(unsigned type);

/* Metadata value types. */
enum {
    GGUF_V_UINT8 = 0, GGUF_V_INT8 = 1, GGUF_V_UINT16 = 2, GGUF_V_INT16 = 3, GGUF_V_UINT32 = 4,
    GGUF_V_INT32 = 5, GGUF_V_FLOAT32 = 6, GGUF_V_BOOL = 7, GGUF_V_STRING = 8, GGUF_V_ARRAY = 9,
    GGUF_V_UINT64 = 10, GGUF_V_INT64 = 11, GGUF_V_FLOAT64 = 12
};
const char *gguf_value_type_name(unsigned type); /* "uint32", ...; NULL if unknown */

typedef struct gguf_tensor {
    const char *name;           /* NUL-terminated UTF-8, no embedded NUL */
    size_t name_length;
    unsigned type;              /* ggml type */
    const char *type_name;      /* "Q4_K" */
    int supported;              /* gguf_ggml_type_supported(type) */
    unsigned n_dims;
    uint64_t ne[GGUF_MAX_DIMS]; /* as stored: ne[0] is the row length; 1 past n_dims */
    uint64_t shape[GGUF_MAX_DIMS]; /* row-major: shape[i] = ne[n_dims - 1 - i] */
    uint64_t numel;             /* 1 when n_dims == 0 */
    uint64_t nbytes;            /* numel / block elements * block bytes */
    const uint8_t *data;        /* into the read-only mapping; not aligned */
    uint64_t offset;            /* as stored: relative to the data section */
    uint64_t file_offset;       /* absolute */
    uint64_t info_offset;       /* where its tensor info starts in the file */
} gguf_tensor;

typedef struct gguf_kv {
    const char *key;            /* NUL-terminated printable ASCII */
    size_t key_length;
    unsigned type;              /* GGUF_V_* */
    unsigned array_type;        /* GGUF_V_ARRAY: element type */
    uint64_t array_count;       /* GGUF_V_ARRAY: element count */
    const uint8_t *value;       /* the value's bytes in the mapping (after the type field;
                                   for arrays, after type and count; for strings, after the
                                   length) */
    uint64_t value_size;        /* bytes of value */
    uint64_t file_offset;       /* where the key starts */
} gguf_kv;

typedef struct gguf_model gguf_model;

#define GGUF_OPEN_ALLOW_UNSUPPORTED 1u /* accept tensors of known ggml types that cannot be
                                          dequantized (their size is still checked) */

/* 1 if the file starts with "GGUF" (a cheap sniff; nothing else is checked), else 0. */
int gguf_file_has_magic(const char *path);

int gguf_open(gguf_model **out, const char *path, unsigned flags, gguf_error *err);
/* Parse a caller's buffer (it must outlive the model); label names it in messages. */
int gguf_open_memory(gguf_model **out, const void *data, size_t size, const char *label,
                     unsigned flags, gguf_error *err);
void gguf_close(gguf_model *m); /* NULL is fine */

const char *gguf_path(const gguf_model *m);
uint32_t gguf_version(const gguf_model *m);
uint64_t gguf_alignment(const gguf_model *m);
uint64_t gguf_data_offset(const gguf_model *m); /* absolute start of the data section */

/* Tensors in file order (the order of their infos). */
size_t gguf_tensor_count(const gguf_model *m);
const gguf_tensor *gguf_tensor_at(const gguf_model *m, size_t index);
const gguf_tensor *gguf_find_tensor_named(const gguf_model *m, const char *name);

/* Key/value pairs in file order. */
size_t gguf_kv_count(const gguf_model *m);
const gguf_kv *gguf_kv_at(const gguf_model *m, size_t index);
const gguf_kv *gguf_kv_find(const gguf_model *m, const char *key);

/* Scalar values. Each returns GGUF_OK, or GGUF_ERR_INVALID_ARGUMENT for another type:
 * _uint for the unsigned integer types, _int for the signed ones, _float for float32/64
 * (float32 widened exactly), _bool for bool, _string for string (not NUL-terminated: the
 * bytes and their length). */
int gguf_kv_uint(const gguf_kv *kv, uint64_t *out);
int gguf_kv_int(const gguf_kv *kv, int64_t *out);
int gguf_kv_float(const gguf_kv *kv, double *out);
int gguf_kv_bool(const gguf_kv *kv, int *out);
int gguf_kv_string(const gguf_kv *kv, const char **s, size_t *length);

/* A value as text, NUL-terminated, in buf: numbers in decimal (floats with enough digits to
 * round-trip), booleans as true/false, strings as they are, and arrays as compact JSON
 * (["a","b"], [1,2]; strings JSON-escaped; NaN and infinities as null). Returns GGUF_OK, or
 * GGUF_ERR_LIMIT when the text does not fit size bytes (buf then holds a truncated prefix). */
int gguf_kv_to_text(const gguf_kv *kv, char *buf, size_t size);

/* Dequantize a tensor to float32 (count must equal numel; F32/F16/BF16 are converted
 * exactly). Unsupported types give GGUF_ERR_UNSUPPORTED_TYPE. The arithmetic follows ggml's
 * reference dequantization (dequantize_row_*), in float32 without contraction, so values
 * are bit-identical to the reference's on IEEE hardware. */
int gguf_tensor_to_f32(const gguf_tensor *t, float *out, uint64_t count);
/* The same on a raw buffer of whole blocks: nbytes must be count / block elements * block
 * bytes. */
int gguf_dequantize(unsigned type, const void *data, uint64_t nbytes, float *out,
                    uint64_t count);

/* Tell the OS the tensor's pages are no longer needed (best effort; it stays readable). */
void gguf_release(const gguf_model *m, const gguf_tensor *t);

#endif
