/* fuzz_open.c — target (a): open a container from memory and walk everything the reader
 * exposes without decoding streams: file info, every metadata entry (by index and by key),
 * every tensor info (by index and by name), blob checksums.
 *
 * Oracles: no crash or sanitizer report; a successful open gives consistent answers (each
 * key and name finds its own entry, pointers stay inside the input, part ranges inside the
 * blob); the reader's peak allocation stays within the input size plus a constant. */
#include "fuzz_ecqf.h"

#define ALLOC_SLACK 4096u /* the reader struct and three 4-byte arrays of at least one entry */

static int inside(const void *p, size_t n, const uint8_t *base, size_t size) {
    const uint8_t *q = p;
    return q >= base && q <= base + size && n <= (size_t)(base + size - q);
}

static void walk(const uint8_t *data, size_t size) {
    fuzz_counter cnt = {0, 0, 0};
    ecqf_allocator al = {fuzz_count_alloc, fuzz_count_free, &cnt};
    ecqf_open_options o = {sizeof o, &al, 0};
    ecqf_reader *r = NULL;
    ecqf_error err;
    ecqf_file_info fi;
    int rc = ecqf_reader_open_memory(&r, data, size, &o, &err);
    FUZZ_CHECK(cnt.peak <= size + ALLOC_SLACK, "open allocated %zu bytes for a %zu-byte input", cnt.peak, size);
    if (rc) {
        FUZZ_CHECK(r == NULL, "failed open returned a reader");
        FUZZ_CHECK(err.code == rc && rc > 0 && rc < ECQF_STATUS_COUNT_, "status %d, error code %d", rc, err.code);
        FUZZ_CHECK(strcmp(ecqf_status_name(rc), "ECQF_ERR_UNKNOWN") != 0, "unnamed status %d", rc);
        FUZZ_CHECK(memchr(err.message, 0, sizeof err.message) != NULL, "unterminated message");
        FUZZ_CHECK(cnt.live == 0, "failed open leaked %zu bytes", cnt.live);
        return;
    }
    ecqf_reader_file_info(r, &fi);
    FUZZ_CHECK(fi.file_size == size, "file_size %llu != %zu", (unsigned long long)fi.file_size, size);
    FUZZ_CHECK(fi.directory_offset + fi.directory_size == size, "directory does not end the file");
    for (size_t i = 0; i < ecqf_reader_metadata_count(r); i++) {
        ecqf_metadata m, m2;
        char key[ECQF_MAX_KEY_LENGTH + 1];
        FUZZ_CHECK(ecqf_reader_metadata_at(r, i, &m) == ECQF_OK, "metadata %zu unreadable", i);
        FUZZ_CHECK(m.key_length >= 1 && m.key_length <= ECQF_MAX_KEY_LENGTH, "key length %zu", m.key_length);
        FUZZ_CHECK(inside(m.key, m.key_length, data, size), "key outside the input");
        if (m.type == ECQF_META_STRING || m.type == ECQF_META_BYTES)
            FUZZ_CHECK(m.length == 0 || inside(m.bytes, m.length, data, size), "value outside the input");
        memcpy(key, m.key, m.key_length);
        key[m.key_length] = 0;
        FUZZ_CHECK(ecqf_reader_find_metadata(r, key, &m2) == ECQF_OK && m2.key == m.key, "key %zu not found", i);
    }
    {
        ecqf_metadata m;
        FUZZ_CHECK(ecqf_reader_metadata_at(r, ecqf_reader_metadata_count(r), &m) != ECQF_OK, "index past the end accepted");
    }
    for (size_t i = 0; i < ecqf_reader_tensor_count(r); i++) {
        ecqf_tensor_info ti;
        char name[ECQF_MAX_NAME_LENGTH + 1];
        size_t idx = SIZE_MAX;
        uint64_t numel = 1;
        FUZZ_CHECK(ecqf_reader_tensor_info(r, i, &ti) == ECQF_OK, "tensor %zu unreadable", i);
        FUZZ_CHECK(ti.name_length >= 1 && ti.name_length <= ECQF_MAX_NAME_LENGTH, "name length");
        FUZZ_CHECK(inside(ti.name, ti.name_length, data, size), "name outside the input");
        FUZZ_CHECK(ti.ndim <= ECQF_MAX_DIMS, "ndim %u", ti.ndim);
        for (unsigned d = 0; d < ti.ndim; d++) numel *= ti.dims[d];
        FUZZ_CHECK(numel == ti.numel && numel <= ECQF_MAX_NUMEL, "numel");
        FUZZ_CHECK(ti.blob_size <= size && inside(ti.blob, (size_t)ti.blob_size, data, size), "blob outside the input");
        FUZZ_CHECK(ti.blob_offset + ti.blob_size <= fi.directory_offset, "blob overlaps the directory");
        FUZZ_CHECK(inside(ti.blob_checksum, 32, data, size), "checksum outside the input");
        for (int k = 0; k < 5; k++)
            if (ti.part_size[k]) {
                FUZZ_CHECK(ti.part[k] == data + ti.part_offset[k], "part %d pointer", k);
                FUZZ_CHECK(ti.part_offset[k] >= ti.blob_offset &&
                               ti.part_offset[k] + ti.part_size[k] <= ti.blob_offset + ti.blob_size,
                           "part %d outside its blob", k);
            }
        memcpy(name, ti.name, ti.name_length);
        name[ti.name_length] = 0;
        FUZZ_CHECK(ecqf_reader_find_tensor(r, name, &idx) == ECQF_OK && idx == i, "tensor %zu not found by name", i);
        rc = ecqf_reader_verify_tensor(r, i, &err);
        FUZZ_CHECK(rc == ECQF_OK || rc == ECQF_ERR_BLOB_CHECKSUM, "verify_tensor status %d", rc);
    }
    {
        size_t idx;
        FUZZ_CHECK(ecqf_reader_find_tensor(r, "", &idx) == ECQF_ERR_NOT_FOUND, "empty name found");
        rc = ecqf_reader_find_metadata(r, "ecqf.writer", NULL);
        FUZZ_CHECK(rc == ECQF_OK || rc == ECQF_ERR_NOT_FOUND, "find_metadata status %d", rc);
    }
    ecqf_reader_close(r);
    FUZZ_CHECK(cnt.live == 0, "reader leaked %zu bytes", cnt.live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *fixed;
    walk(data, size);
    fixed = fuzz_fix_checksum(data, size);
    if (size < ECQF_HEADER_SIZE || memcmp(fixed + 64, data + 64, 32) != 0) walk(fixed, size);
    free(fixed);
    return 0;
}
