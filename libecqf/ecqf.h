/*
 * ecqf.h — public API of libecqf, the reference reader and writer for ECQF
 * (Entropy-Coded Quantized Format). The format itself is defined in spec/ecqf.md.
 *
 * Conventions (taken from zstd, libdeflate and libsodium):
 *  - Every function that can fail returns an int: ECQF_OK (0) or a negative-free
 *    positive status code from enum ecqf_status. Numbers are pinned and never reused.
 *  - Failing functions fill an optional ecqf_error with the code, the byte offset in the
 *    file where the problem was found (or ECQF_NO_OFFSET) and a message saying what and where.
 *  - Handles are opaque. Options structs start with their own size so that they can grow.
 *  - Memory the library allocates goes through an optional caller-supplied allocator.
 *  - Nothing here trusts the file: every offset and size is checked before use.
 */
#ifndef ECQF_H
#define ECQF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ECQF_BUILDING_LIBRARY) && defined(__GNUC__)
#define ECQF_API __attribute__((visibility("default")))
#else
#define ECQF_API
#endif
#if defined(__GNUC__)
#define ECQF_CHECK __attribute__((warn_unused_result))
#else
#define ECQF_CHECK
#endif

/* ---- versions --------------------------------------------------------------------- */

#define ECQF_FORMAT_VERSION_MAJOR 0
#define ECQF_FORMAT_VERSION_MINOR 1
#define ECQF_LIBRARY_VERSION_STRING "0.1.0"
ECQF_API const char *ecqf_version_string(void);

/* ---- status codes (pinned: never renumber) ----------------------------------------- */

enum ecqf_status {
    ECQF_OK = 0,
    ECQF_ERR_IO = 1,
    ECQF_ERR_NOMEM = 2,
    ECQF_ERR_INVALID_ARGUMENT = 3,
    ECQF_ERR_TRUNCATED = 4,
    ECQF_ERR_BAD_MAGIC = 5,
    ECQF_ERR_UNSUPPORTED_VERSION = 6,
    ECQF_ERR_UNSUPPORTED_FEATURE = 7,
    ECQF_ERR_BAD_HEADER = 8,
    ECQF_ERR_TRAILING_DATA = 9,
    ECQF_ERR_BAD_LAYOUT = 10,
    ECQF_ERR_NONZERO_PADDING = 11,
    ECQF_ERR_HEADER_CHECKSUM = 12,
    ECQF_ERR_BLOB_CHECKSUM = 13,
    ECQF_ERR_LIMIT = 14,
    ECQF_ERR_RESERVED_NONZERO = 15,
    ECQF_ERR_BAD_DIRECTORY = 16,
    ECQF_ERR_BAD_UTF8 = 17,
    ECQF_ERR_DUPLICATE_NAME = 18,
    ECQF_ERR_BAD_DTYPE = 19,
    ECQF_ERR_BAD_SCHEME = 20,
    ECQF_ERR_BAD_CODING = 21,
    ECQF_ERR_BAD_TABLE = 22,
    ECQF_ERR_BAD_TILE_INDEX = 23,
    ECQF_ERR_CORRUPT_STREAM = 24,
    ECQF_ERR_BAD_ESCAPES = 25,
    ECQF_ERR_NOT_FOUND = 26,
    ECQF_ERR_EXISTS = 27,
    ECQF_ERR_UNSUPPORTED = 28,  /* valid request this build cannot serve */
    ECQF_STATUS_COUNT_ = 29
};

/* "ECQF_ERR_TRUNCATED" for ECQF_ERR_TRUNCATED; "ECQF_ERR_UNKNOWN" for other values. */
ECQF_API const char *ecqf_status_name(int status);
/* A one-line English description of the status. */
ECQF_API const char *ecqf_status_description(int status);

#define ECQF_NO_OFFSET UINT64_MAX
#define ECQF_ERROR_MESSAGE_SIZE 256

typedef struct ecqf_error {
    int code;                                /* enum ecqf_status */
    uint64_t offset;                         /* file offset of the problem, or ECQF_NO_OFFSET */
    char message[ECQF_ERROR_MESSAGE_SIZE];   /* NUL-terminated: what, and where */
} ecqf_error;

/* ---- enums of the format (values are the on-disk codes) ----------------------------- */

typedef enum ecqf_dtype { ECQF_DTYPE_F32 = 0, ECQF_DTYPE_F16 = 1, ECQF_DTYPE_BF16 = 2 } ecqf_dtype;

typedef enum ecqf_scheme {
    ECQF_SCHEME_NONE = 0,
    ECQF_SCHEME_AFFINE = 1,
    ECQF_SCHEME_SYMMETRIC = 2,
    ECQF_SCHEME_ECSQ = 3
} ecqf_scheme;

typedef enum ecqf_coding {
    ECQF_CODING_RAW = 0,
    ECQF_CODING_RANS = 1,
    ECQF_CODING_PREFIX = 2,
    ECQF_CODING_ZSTD = 3,
    /* Writer-only requests (never stored): */
    ECQF_CODING_AUTO = 254,        /* smallest of RAW, RANS, PREFIX, ZSTD */
    ECQF_CODING_AUTO_FUSABLE = 255 /* smallest of RAW, RANS, PREFIX (what kernels decode) */
} ecqf_coding;

#define ECQF_ECSQ_HAS_ESCAPE 1u
#define ECQF_ECSQ_PER_ROW 2u

typedef enum ecqf_metadata_type {
    ECQF_META_U64 = 1,
    ECQF_META_I64 = 2,
    ECQF_META_F64 = 3,
    ECQF_META_STRING = 4,
    ECQF_META_BYTES = 5,
    ECQF_META_BOOL = 6
} ecqf_metadata_type;

/* Limits of spec section 10, offered as macros and functions (for bindings). */
#define ECQF_MAX_DIMS 8
#define ECQF_MAX_NAME_LENGTH 1024
#define ECQF_MAX_KEY_LENGTH 256
#define ECQF_MAX_TENSORS 1048576u
#define ECQF_MAX_METADATA 65536u
#define ECQF_MAX_DIRECTORY_SIZE (256u * 1024u * 1024u)
#define ECQF_MAX_META_VALUE_SIZE (16u * 1024u * 1024u)
#define ECQF_MAX_NUMEL (((uint64_t)1) << 48)
#define ECQF_MAX_ALPHABET 256
#define ECQF_MIN_PRECISION 10
#define ECQF_MAX_PRECISION 15
#define ECQF_MAX_PREFIX_LENGTH 12
#define ECQF_MAX_LANES 64
#define ECQF_MAX_TILE_ELEMENTS (((uint64_t)1) << 20)
#define ECQF_HEADER_SIZE 96
#define ECQF_DEFAULT_ALIGNMENT 64
#define ECQF_CHECKSUM_SIZE 32
ECQF_API unsigned ecqf_max_dims(void);
ECQF_API size_t ecqf_header_size(void);

ECQF_API const char *ecqf_dtype_name(int dtype);     /* "f32", "f16", "bf16" or NULL */
ECQF_API size_t ecqf_dtype_size(int dtype);          /* 4, 2, 2 or 0 */
ECQF_API const char *ecqf_scheme_name(int scheme);   /* "none", "affine", "symmetric", "ecsq" */
ECQF_API const char *ecqf_coding_name(int coding);   /* "raw", "rans", "prefix", "zstd" */

/* ---- allocation --------------------------------------------------------------------- */

typedef struct ecqf_allocator {
    void *(*alloc)(void *opaque, size_t size);  /* may return NULL */
    void (*free)(void *opaque, void *ptr);      /* ptr may be NULL */
    void *opaque;
} ecqf_allocator;

/* ---- reader ------------------------------------------------------------------------- */

typedef struct ecqf_reader ecqf_reader;

#define ECQF_OPEN_SKIP_HEADER_CHECKSUM 1u /* for benchmarking only; never for untrusted input */

typedef struct ecqf_open_options {
    size_t struct_size;               /* sizeof(ecqf_open_options) */
    const ecqf_allocator *allocator;  /* NULL: malloc/free */
    unsigned flags;                   /* ECQF_OPEN_* */
} ecqf_open_options;

/* Open a file (mapped read-only) or a caller's buffer. The buffer must outlive the reader.
 * The header, directory, every offset, size, table and tile index are validated here;
 * after a successful open only blob contents (streams, checksums) remain unchecked. */
ECQF_API ECQF_CHECK int ecqf_reader_open_file(ecqf_reader **out, const char *path,
                                              const ecqf_open_options *opts, ecqf_error *err);
ECQF_API ECQF_CHECK int ecqf_reader_open_memory(ecqf_reader **out, const void *data, size_t size,
                                                const ecqf_open_options *opts, ecqf_error *err);
ECQF_API void ecqf_reader_close(ecqf_reader *reader); /* NULL is fine */

typedef struct ecqf_file_info {
    unsigned version_major, version_minor;
    uint64_t required_features, optional_features;
    uint64_t file_size, directory_offset, directory_size;
    uint32_t alignment;
    size_t tensor_count, metadata_count;
} ecqf_file_info;
ECQF_API void ecqf_reader_file_info(const ecqf_reader *reader, ecqf_file_info *info);

typedef struct ecqf_metadata {
    const char *key;       /* points into the file: NOT NUL-terminated, use key_length */
    size_t key_length;
    int type;              /* ecqf_metadata_type */
    uint64_t u64;          /* U64, BOOL */
    int64_t i64;
    double f64;
    const uint8_t *bytes;  /* STRING (not NUL-terminated) and BYTES */
    size_t length;
} ecqf_metadata;
ECQF_API size_t ecqf_reader_metadata_count(const ecqf_reader *reader);
ECQF_API ECQF_CHECK int ecqf_reader_metadata_at(const ecqf_reader *reader, size_t index,
                                                ecqf_metadata *out);
ECQF_API ECQF_CHECK int ecqf_reader_find_metadata(const ecqf_reader *reader, const char *key,
                                                  ecqf_metadata *out);

/* Everything the directory says about one tensor, decoded and validated. Pointers point
 * into the file mapping and live as long as the reader. */
typedef struct ecqf_tensor_info {
    const char *name;          /* NOT NUL-terminated in the file; use name_length */
    size_t name_length;
    unsigned ndim;
    uint64_t dims[ECQF_MAX_DIMS];
    uint64_t numel, rows, cols; /* matrix view: cols = last dim */
    int scheme, coding, dtype;
    /* scheme parameters */
    unsigned bits;              /* AFFINE, SYMMETRIC */
    unsigned group_size;        /* AFFINE group or SYMMETRIC block */
    int param_dtype;            /* AFFINE, SYMMETRIC */
    unsigned alphabet;          /* Q: code alphabet size (all quantized schemes) */
    unsigned zero_code;         /* ECSQ */
    unsigned ecsq_flags;        /* ECSQ: ECQF_ECSQ_* */
    unsigned code_width;        /* RAW/ZSTD bits per code; for NONE, 8*sizeof(dtype) */
    /* coding parameters (RANS, PREFIX) */
    unsigned precision;         /* RANS */
    unsigned max_length;        /* PREFIX */
    unsigned lanes, pack, stripe_rows;
    uint32_t tile_rows, tile_cols;
    uint64_t tile_count;        /* 1 for RAW/ZSTD */
    uint64_t escape_count;
    /* blob and parts */
    uint64_t blob_offset, blob_size;
    const uint8_t *blob;
    const uint8_t *blob_checksum; /* 32 bytes */
    const uint8_t *part[5];       /* params, table, tile_index, escapes, data; NULL if empty */
    uint64_t part_size[5];
    uint64_t part_offset[5];      /* absolute file offsets */
} ecqf_tensor_info;
enum { ECQF_PART_PARAMS = 0, ECQF_PART_TABLE = 1, ECQF_PART_TILE_INDEX = 2,
       ECQF_PART_ESCAPES = 3, ECQF_PART_DATA = 4 };

ECQF_API size_t ecqf_reader_tensor_count(const ecqf_reader *reader);
ECQF_API ECQF_CHECK int ecqf_reader_tensor_info(const ecqf_reader *reader, size_t index,
                                                ecqf_tensor_info *out);
ECQF_API ECQF_CHECK int ecqf_reader_find_tensor(const ecqf_reader *reader, const char *name,
                                                size_t *index);

/* Blob checksum of one tensor ([T-11]). */
ECQF_API ECQF_CHECK int ecqf_reader_verify_tensor(const ecqf_reader *reader, size_t index,
                                                  ecqf_error *err);
/* Every checksum, then a full decode of every tensor in bounded memory (tile by tile). */
ECQF_API ECQF_CHECK int ecqf_reader_verify_all(const ecqf_reader *reader, ecqf_error *err);

/* Decode the codes u (one byte per element, row-major) of a quantized tensor.
 * `count` must equal numel. For ECSQ, escape elements carry the escape code Q-1. */
ECQF_API ECQF_CHECK int ecqf_tensor_decode_codes(const ecqf_reader *reader, size_t index,
                                                 uint8_t *codes, uint64_t count, ecqf_error *err);
/* ECSQ only: the integer k of every element (escapes resolved), row-major. */
ECQF_API ECQF_CHECK int ecqf_tensor_decode_ints(const ecqf_reader *reader, size_t index,
                                                int32_t *ints, uint64_t count, ecqf_error *err);
/* Decode one tile's codes into `codes`, tile-local row-major (tile height x tile width).
 * For RAW and ZSTD the single tile is the whole tensor. */
ECQF_API ECQF_CHECK int ecqf_tensor_decode_tile(const ecqf_reader *reader, size_t index,
                                                uint64_t tile, uint8_t *codes, uint64_t count,
                                                ecqf_error *err);
/* Dequantize (or, for NONE, convert) the whole tensor to out_dtype, row-major.
 * out_size must be numel * ecqf_dtype_size(out_dtype) bytes. */
ECQF_API ECQF_CHECK int ecqf_tensor_dequantize(const ecqf_reader *reader, size_t index,
                                               int out_dtype, void *out, size_t out_size,
                                               ecqf_error *err);

/* ---- writer ------------------------------------------------------------------------- */

/* What to store for one tensor. Pointers are only read during the call that takes the desc. */
typedef struct ecqf_tensor_desc {
    size_t struct_size;        /* sizeof(ecqf_tensor_desc) */
    const char *name;          /* NUL-terminated UTF-8 */
    unsigned ndim;
    uint64_t dims[ECQF_MAX_DIMS];
    int scheme, coding, dtype; /* coding may be ECQF_CODING_AUTO / _AUTO_FUSABLE */
    /* scheme parameters */
    unsigned bits, group_size; int param_dtype;   /* AFFINE, SYMMETRIC */
    unsigned alphabet, zero_code, ecsq_flags;     /* ECSQ */
    /* coding parameters; 0 means "choose a default" */
    unsigned precision, max_length, lanes, pack, stripe_rows;
    uint32_t tile_rows, tile_cols;
    /* data */
    const void *values;        /* NONE: numel values of dtype, row-major */
    const uint8_t *codes;      /* AFFINE, SYMMETRIC: numel codes, row-major */
    const int32_t *ints;       /* ECSQ: numel integers k, row-major (codes derived) */
    const void *params;        /* scheme params exactly as the params part stores them */
    size_t params_size;
} ecqf_tensor_desc;

/* A tensor encoded in memory, ready to append. Encoding is pure and thread-safe, so a
 * packer can encode on N threads and append in order on one. */
typedef struct ecqf_encoded ecqf_encoded;
ECQF_API ECQF_CHECK int ecqf_encode_tensor(const ecqf_tensor_desc *desc, const ecqf_allocator *alloc,
                                           ecqf_encoded **out, ecqf_error *err);
ECQF_API void ecqf_encoded_free(ecqf_encoded *enc);
ECQF_API uint64_t ecqf_encoded_blob_size(const ecqf_encoded *enc);
ECQF_API int ecqf_encoded_coding(const ecqf_encoded *enc);

typedef struct ecqf_writer ecqf_writer;

#define ECQF_WRITE_OVERWRITE 1u /* replace an existing destination file */

typedef struct ecqf_writer_options {
    size_t struct_size;               /* sizeof(ecqf_writer_options) */
    uint32_t alignment;               /* 0: ECQF_DEFAULT_ALIGNMENT; else power of two 64..65536 */
    unsigned flags;                   /* ECQF_WRITE_* */
    const ecqf_allocator *allocator;
} ecqf_writer_options;

/* Creates a temporary file beside `path`. Nothing appears under `path` until
 * ecqf_writer_finish succeeds; on any failure the temporary file is removed. */
ECQF_API ECQF_CHECK int ecqf_writer_create(ecqf_writer **out, const char *path,
                                           const ecqf_writer_options *opts, ecqf_error *err);
ECQF_API ECQF_CHECK int ecqf_writer_add_metadata(ecqf_writer *w, const char *key, int type,
                                                 const void *value, size_t length, ecqf_error *err);
ECQF_API ECQF_CHECK int ecqf_writer_add_metadata_string(ecqf_writer *w, const char *key,
                                                        const char *value, ecqf_error *err);
/* Encode and append. Equivalent to ecqf_encode_tensor + ecqf_writer_add_encoded. */
ECQF_API ECQF_CHECK int ecqf_writer_add_tensor(ecqf_writer *w, const ecqf_tensor_desc *desc,
                                               ecqf_error *err);
/* Append an encoded tensor (the writer takes nothing from enc; free it afterwards). */
ECQF_API ECQF_CHECK int ecqf_writer_add_encoded(ecqf_writer *w, const ecqf_encoded *enc,
                                                ecqf_error *err);
/* Write the directory and header, flush, and rename into place. The writer is freed
 * whatever the outcome; on failure the destination is untouched. */
ECQF_API ECQF_CHECK int ecqf_writer_finish(ecqf_writer *w, ecqf_error *err);
/* Give up: remove the temporary file and free the writer. */
ECQF_API void ecqf_writer_abort(ecqf_writer *w);

/* ---- quantizers --------------------------------------------------------------------- */

/* MLX-compatible affine quantization (mx.quantize semantics), group along the last axis.
 * codes: rows*cols bytes. scales, biases: rows*(cols/group) values of param_dtype. */
ECQF_API ECQF_CHECK int ecqf_quantize_affine(const float *w, uint64_t rows, uint64_t cols,
                                             unsigned bits, unsigned group_size, int param_dtype,
                                             uint8_t *codes, void *scales, void *biases);
/* Q4_0/Q8_0-style symmetric block quantization; scales: rows*(cols/block) of param_dtype. */
ECQF_API ECQF_CHECK int ecqf_quantize_symmetric(const float *w, uint64_t rows, uint64_t cols,
                                                unsigned bits, unsigned block_size, int param_dtype,
                                                uint8_t *codes, void *scales);
/* Uniform ECSQ: ints[i] = round-half-away(w[i] / step), steps per row or one (per_row = 0).
 * A step of 0 yields k = 0 (only valid for an all-zero row). Every |w - step*k| <= step/2. */
ECQF_API ECQF_CHECK int ecqf_quantize_ecsq(const float *w, uint64_t rows, uint64_t cols,
                                           const float *steps, int per_row, int32_t *ints);
/* Round a step so that step * k is exact in binary32 for every k the weights (|w| <= max_abs)
 * need; with a snapped step the step/2 bound above holds for every weight. Changes the step by
 * less than 2^-13 relative in typical use. Returns the step unchanged if it is not positive. */
ECQF_API float ecqf_ecsq_snap_step(float step, float max_abs);
/* Choose the ECSQ alphabet Q and zero code z for the given integers: the smallest
 * contiguous window of at most max_alphabet codes (escape included) that minimizes the
 * estimated coded size. Sets *flags to include ECQF_ECSQ_HAS_ESCAPE when needed. */
ECQF_API ECQF_CHECK int ecqf_ecsq_choose_alphabet(const int32_t *ints, uint64_t count,
                                                  unsigned max_alphabet, unsigned *alphabet,
                                                  unsigned *zero_code, unsigned *flags);

/* ---- small helpers ------------------------------------------------------------------ */

ECQF_API float ecqf_f16_to_f32(uint16_t h);
ECQF_API uint16_t ecqf_f32_to_f16(float f);   /* round to nearest even */
ECQF_API float ecqf_bf16_to_f32(uint16_t h);
ECQF_API uint16_t ecqf_f32_to_bf16(float f);  /* round to nearest even, NaN stays NaN */
/* BLAKE2b-256 (libsodium crypto_generichash, 32-byte output). */
ECQF_API ECQF_CHECK int ecqf_blake2b_256(const void *data, size_t size, uint8_t out[32]);

#ifdef __cplusplus
}
#endif
#endif /* ECQF_H */
