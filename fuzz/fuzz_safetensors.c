/* fuzz_safetensors.c — target (d): the strict safetensors reader of tools/common (used by
 * ecqf-pack on files from strangers), fed whole files from memory.
 *
 * Oracles: no crash, leak or sanitizer report; failures carry a named status; on success
 * every tensor lies inside the input's data buffer, its size is shape x dtype size, values
 * convert to f32; and rewriting the header with st_build_header from what was parsed, followed
 * by the same data, parses again to the same tensors and metadata. */
#include "fuzz.h"
#include "safetensors.h"

static void reparse(const st_model *m, const uint8_t *data, size_t size) {
    size_t nt = st_tensor_count(m), nm = st_metadata_count(m), hsize = 0, dsize;
    st_out_tensor *ot = calloc(nt ? nt : 1, sizeof *ot);
    const char **kv = calloc(2 * (nm ? nm : 1), sizeof *kv);
    uint8_t *hdr = NULL, *file;
    st_model *m2 = NULL;
    st_error err;
    uint64_t first = UINT64_MAX, end = 0;
    int rc;
    if (!ot || !kv) abort();
    for (size_t i = 0; i < nm; i++) {
        size_t kl, vl;
        FUZZ_CHECK(st_metadata_at(m, i, &kv[2 * i], &kl, &kv[2 * i + 1], &vl) == ST_OK, "metadata %zu", i);
        if (strlen(kv[2 * i]) != kl || strlen(kv[2 * i + 1]) != vl) goto out; /* \u0000 inside: not rebuildable */
    }
    for (size_t i = 0; i < nt; i++) {
        const st_tensor *t = st_tensor_at(m, i);
        ot[i].name = t->name;
        ot[i].dtype = st_dtype_name(t->dtype);
        ot[i].ndim = t->ndim;
        memcpy(ot[i].shape, t->shape, sizeof t->shape);
        ot[i].nbytes = t->nbytes;
        if (t->file_offset < first) first = t->file_offset;
        if (t->file_offset + t->nbytes > end) end = t->file_offset + t->nbytes;
    }
    if (!nt) first = end = size;
    rc = st_build_header(ot, nt, kv, nm, &hdr, &hsize, &err);
    FUZZ_CHECK(rc == ST_OK, "st_build_header of a parsed file failed: %s", err.message);
    dsize = (size_t)(end - first);
    file = malloc(hsize + dsize + 1);
    if (!file) abort();
    memcpy(file, hdr, hsize);
    if (dsize) memcpy(file + hsize, data + first, dsize);
    rc = st_open_memory(&m2, file, hsize + dsize, "rebuilt", &err);
    FUZZ_CHECK(rc == ST_OK, "rebuilt file rejected: %s", err.message);
    FUZZ_CHECK(st_tensor_count(m2) == nt && st_metadata_count(m2) == nm, "counts differ after rebuild");
    for (size_t i = 0; i < nt; i++) {
        const st_tensor *a = st_tensor_at(m, i), *b = st_find(m2, a->name);
        FUZZ_CHECK(b != NULL, "tensor '%s' lost", a->name);
        FUZZ_CHECK(a->dtype == b->dtype && a->ndim == b->ndim && a->nbytes == b->nbytes &&
                       memcmp(a->shape, b->shape, sizeof a->shape) == 0,
                   "tensor '%s' changed", a->name);
        FUZZ_CHECK(a->nbytes == 0 || memcmp(a->data, b->data, (size_t)a->nbytes) == 0, "data of '%s' changed", a->name);
    }
    st_close(m2);
    free(file);
out:
    free(hdr);
    free(ot);
    free(kv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_model *m = NULL;
    st_error err;
    int rc = st_open_memory(&m, data, size, "fuzz", &err);
    if (rc) {
        FUZZ_CHECK(m == NULL, "failed open returned a model");
        FUZZ_CHECK(rc > 0 && rc < ST_STATUS_COUNT_ && err.code == rc, "status %d / %d", rc, err.code);
        FUZZ_CHECK(strcmp(st_status_name(rc), "ST_ERR_UNKNOWN") != 0, "unnamed status");
        FUZZ_CHECK(memchr(err.message, 0, sizeof err.message) != NULL, "unterminated message");
        return 0;
    }
    FUZZ_CHECK(st_file_count(m) == 1, "file count");
    {
        uint64_t total = 0;
        for (size_t i = 0; i < st_tensor_count(m); i++) {
            const st_tensor *t = st_tensor_at(m, i);
            uint64_t numel = 1;
            FUZZ_CHECK(t != NULL && t->name != NULL && strlen(t->name) == t->name_length, "tensor %zu", i);
            FUZZ_CHECK(st_find(m, t->name) == t, "find '%s'", t->name);
            FUZZ_CHECK(t->ndim <= ST_MAX_DIMS, "ndim");
            for (unsigned d = 0; d < t->ndim; d++) numel *= t->shape[d];
            FUZZ_CHECK(numel == t->numel && t->nbytes == numel * st_dtype_size(t->dtype), "size of '%s'", t->name);
            FUZZ_CHECK(t->file_offset <= size && t->nbytes <= size - t->file_offset, "'%s' outside the input", t->name);
            FUZZ_CHECK(t->data == data + t->file_offset, "data pointer of '%s'", t->name);
            if (t->numel <= (1u << 16)) {
                float *f = malloc(4 * (size_t)t->numel + 4);
                FUZZ_CHECK(st_tensor_to_f32(t, f, t->numel) == ST_OK, "to_f32 of '%s'", t->name);
                free(f);
            }
            total += t->nbytes;
        }
        FUZZ_CHECK(total == st_data_bytes(m), "data bytes");
    }
    for (size_t i = 0; i < st_metadata_count(m); i++) {
        const char *k, *v;
        size_t kl, vl;
        FUZZ_CHECK(st_metadata_at(m, i, &k, &kl, &v, &vl) == ST_OK && k[kl] == 0 && v[vl] == 0, "metadata %zu", i);
    }
    reparse(m, data, size);
    st_close(m);
    return 0;
}
