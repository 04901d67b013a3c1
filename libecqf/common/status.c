/* status.c — names and descriptions of the pinned status codes, and error reporting. */
#include <stdio.h>

#include "internal.h"

static const char *const status_names[ECQF_STATUS_COUNT_] = {
    "ECQF_OK", "ECQF_ERR_IO", "ECQF_ERR_NOMEM", "ECQF_ERR_INVALID_ARGUMENT", "ECQF_ERR_TRUNCATED",
    "ECQF_ERR_BAD_MAGIC", "ECQF_ERR_UNSUPPORTED_VERSION", "ECQF_ERR_UNSUPPORTED_FEATURE",
    "ECQF_ERR_BAD_HEADER", "ECQF_ERR_TRAILING_DATA", "ECQF_ERR_BAD_LAYOUT",
    "ECQF_ERR_NONZERO_PADDING", "ECQF_ERR_HEADER_CHECKSUM", "ECQF_ERR_BLOB_CHECKSUM",
    "ECQF_ERR_LIMIT", "ECQF_ERR_RESERVED_NONZERO", "ECQF_ERR_BAD_DIRECTORY", "ECQF_ERR_BAD_UTF8",
    "ECQF_ERR_DUPLICATE_NAME", "ECQF_ERR_BAD_DTYPE", "ECQF_ERR_BAD_SCHEME", "ECQF_ERR_BAD_CODING",
    "ECQF_ERR_BAD_TABLE", "ECQF_ERR_BAD_TILE_INDEX", "ECQF_ERR_CORRUPT_STREAM",
    "ECQF_ERR_BAD_ESCAPES", "ECQF_ERR_NOT_FOUND", "ECQF_ERR_EXISTS", "ECQF_ERR_UNSUPPORTED",
};

static const char *const status_descriptions[ECQF_STATUS_COUNT_] = {
    "success",
    "the file could not be read or written",
    "out of memory",
    "invalid argument",
    "the file ends before a structure it declares",
    "not an ECQF file (bad magic; possibly mangled by a text-mode transfer)",
    "unsupported major version",
    "the file requires a feature this reader does not implement",
    "invalid header field",
    "bytes after the end the file declares",
    "an offset or size disagrees with the layout the spec computes",
    "padding bytes that must be zero are not",
    "header/directory checksum mismatch",
    "tensor blob checksum mismatch",
    "a resource limit of the spec is exceeded",
    "a reserved field is not zero",
    "malformed directory",
    "invalid UTF-8 (or a control character in a tensor name)",
    "duplicate tensor name or metadata key",
    "unknown dtype",
    "invalid quantization scheme or parameters",
    "invalid coding or coding parameters",
    "invalid frequency or code-length table",
    "invalid tile index",
    "corrupt coded stream",
    "invalid escape part",
    "not found",
    "the output file exists",
    "not supported by this build",
};

const char *ecqf_status_name(int status) {
    if (status < 0 || status >= ECQF_STATUS_COUNT_) return "ECQF_ERR_UNKNOWN";
    return status_names[status];
}

const char *ecqf_status_description(int status) {
    if (status < 0 || status >= ECQF_STATUS_COUNT_) return "unknown status";
    return status_descriptions[status];
}

const char *ecqf_version_string(void) { return ECQF_LIBRARY_VERSION_STRING; }
unsigned ecqf_max_dims(void) { return ECQF_MAX_DIMS; }
size_t ecqf_header_size(void) { return ECQF_HEADER_SIZE; }

int ecqf_set_error(ecqf_error *err, int code, uint64_t offset, const char *fmt, ...) {
    if (err) {
        va_list ap;
        err->code = code;
        err->offset = offset;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}
