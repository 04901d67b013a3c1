/* fuzz_gguf.c — target (f): the strict GGUF reader of tools/common/gguf.h (used by ecqf-pack
 * on files from strangers), fed whole files from memory, with and without
 * GGUF_OPEN_ALLOW_UNSUPPORTED; plus gguf_dequantize of the raw input bytes for every
 * supported ggml type (the block decoders on arbitrary bits).
 *
 * Oracles: no crash, leak or sanitizer report; failures carry a named status and a
 * NUL-terminated message; on success every tensor lies inside the input, nbytes matches
 * numel and the block size, names and keys find their own entries, values convert to text
 * (or report GGUF_ERR_LIMIT for a small buffer), supported tensors dequantize. */
#include "fuzz.h"
#include "gguf.h"

static void walk(const gguf_model *m, const uint8_t *data, size_t size) {
    for (size_t i = 0; i < gguf_tensor_count(m); i++) {
        const gguf_tensor *t = gguf_tensor_at(m, i);
        uint64_t numel = 1, be = gguf_ggml_block_elements(t->type);
        FUZZ_CHECK(t && t->name && strlen(t->name) == t->name_length, "tensor %zu name", i);
        FUZZ_CHECK(gguf_find_tensor_named(m, t->name) == t, "find '%s'", t->name);
        FUZZ_CHECK(t->n_dims <= GGUF_MAX_DIMS && be > 0, "dims/type of '%s'", t->name);
        for (unsigned d = 0; d < t->n_dims; d++) numel *= t->ne[d];
        FUZZ_CHECK(numel == t->numel && t->numel % be == 0 &&
                       t->nbytes == t->numel / be * gguf_ggml_block_bytes(t->type),
                   "size of '%s'", t->name);
        FUZZ_CHECK(t->file_offset <= size && t->nbytes <= size - t->file_offset && t->data == data + t->file_offset,
                   "'%s' outside the input", t->name);
        if (t->supported && t->numel <= (1u << 16)) {
            float *f = malloc(4 * (size_t)t->numel + 4);
            int rc = gguf_tensor_to_f32(t, f, t->numel);
            FUZZ_CHECK(rc == GGUF_OK, "to_f32 of '%s': %d", t->name, rc);
            free(f);
        }
    }
    for (size_t i = 0; i < gguf_kv_count(m); i++) {
        const gguf_kv *kv = gguf_kv_at(m, i);
        char small[8], big[512];
        uint64_t u;
        int64_t s;
        double d;
        int b, rc;
        const char *str;
        size_t len;
        FUZZ_CHECK(kv && kv->key && strlen(kv->key) == kv->key_length, "kv %zu key", i);
        FUZZ_CHECK(gguf_kv_find(m, kv->key) == kv, "find key %zu", i);
        FUZZ_CHECK(kv->value_size <= size && (kv->value_size == 0 || (kv->value >= data && kv->value + kv->value_size <= data + size)),
                   "value %zu outside the input", i);
        rc = gguf_kv_to_text(kv, small, sizeof small);
        FUZZ_CHECK((rc == GGUF_OK || rc == GGUF_ERR_LIMIT) && memchr(small, 0, sizeof small), "to_text small: %d", rc);
        rc = gguf_kv_to_text(kv, big, sizeof big);
        FUZZ_CHECK((rc == GGUF_OK || rc == GGUF_ERR_LIMIT) && memchr(big, 0, sizeof big), "to_text: %d", rc);
        (void)gguf_kv_uint(kv, &u);
        (void)gguf_kv_int(kv, &s);
        (void)gguf_kv_float(kv, &d);
        (void)gguf_kv_bool(kv, &b);
        (void)gguf_kv_string(kv, &str, &len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (unsigned flags = 0; flags <= GGUF_OPEN_ALLOW_UNSUPPORTED; flags++) {
        gguf_model *m = NULL;
        gguf_error err;
        int rc = gguf_open_memory(&m, data, size, "fuzz", flags, &err);
        if (rc) {
            FUZZ_CHECK(m == NULL, "failed open returned a model");
            FUZZ_CHECK(rc > 0 && rc < GGUF_STATUS_COUNT_ && err.code == rc, "status %d / %d", rc, err.code);
            FUZZ_CHECK(strcmp(gguf_status_name(rc), "GGUF_ERR_UNKNOWN") != 0, "unnamed status %d", rc);
            FUZZ_CHECK(memchr(err.message, 0, sizeof err.message) != NULL, "unterminated message");
            continue;
        }
        walk(m, data, size);
        gguf_close(m);
    }
    /* the block decoders on the raw bytes */
    for (unsigned type = 0; type < 40; type++) {
        uint64_t be, bb, nblocks, count;
        float *out;
        int rc;
        if (!gguf_ggml_type_supported(type)) continue;
        be = gguf_ggml_block_elements(type);
        bb = gguf_ggml_block_bytes(type);
        nblocks = size / bb;
        if (nblocks > 64) nblocks = 64;
        count = nblocks * be;
        out = malloc(4 * (size_t)count + 4);
        if (!out) abort();
        rc = gguf_dequantize(type, data, nblocks * bb, out, count);
        FUZZ_CHECK(rc == GGUF_OK, "dequantize type %u: %d", type, rc);
        free(out);
    }
    return 0;
}
