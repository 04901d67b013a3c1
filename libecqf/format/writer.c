/* writer.c — streaming an ECQF file to disk: header placeholder, blobs as they come,
 * directory last, then the header with its checksum; finally the temporary file is
 * renamed into place (spec section 2; crash safety in io/fileio.c). Memory use is one
 * encoded tensor plus the directory. */
#include <stdlib.h>

#include "layout.h"

#define FAIL(code, ...) return ecqf_set_error(err, (code), ECQF_NO_OFFSET, __VA_ARGS__)

const uint8_t *ecqf__encoded_entry(const ecqf_encoded *e, size_t *size, size_t *blob_offset_at);
const uint8_t *ecqf__encoded_blob(const ecqf_encoded *e);
const char *ecqf__encoded_name(const ecqf_encoded *e);

typedef struct meta_item {
    uint8_t *bytes;   /* the serialized entry */
    size_t size;
    size_t key_len;   /* key starts at bytes + 2 */
} meta_item;

struct ecqf_writer {
    ecqf_allocator alloc;
    int has_alloc;
    ecqf_outfile out;
    uint32_t alignment;
    uint64_t end;            /* end of the last blob */
    uint8_t *entries;        /* tensor entries */
    size_t entries_len, entries_cap;
    uint32_t ntensors;
    uint64_t *name_hash;     /* open addressing: (hash | 1) per slot, 0 empty */
    uint32_t *name_slot;     /* entry offset per slot */
    size_t hash_cap;
    meta_item *meta;
    size_t nmeta, meta_cap;
    int failed;
};

static const ecqf_allocator *wa(const ecqf_writer *w) { return w->has_alloc ? &w->alloc : NULL; }

int ecqf_writer_create(ecqf_writer **out, const char *path, const ecqf_writer_options *opts, ecqf_error *err) {
    ecqf_writer *w;
    const ecqf_allocator *a = NULL;
    uint32_t align = ECQF_DEFAULT_ALIGNMENT;
    unsigned flags = 0;
    int rc;
    if (!out || !path) FAIL(ECQF_ERR_INVALID_ARGUMENT, "NULL argument");
    *out = NULL;
    if (opts) {
        if (opts->struct_size != sizeof *opts) FAIL(ECQF_ERR_INVALID_ARGUMENT, "ecqf_writer_options.struct_size must be sizeof(ecqf_writer_options)");
        a = opts->allocator;
        flags = opts->flags;
        if (opts->alignment) align = opts->alignment;
    }
    if (!ecqf_is_pow2(align) || align < ECQF_MIN_ALIGNMENT || align > ECQF_MAX_ALIGNMENT)
        FAIL(ECQF_ERR_INVALID_ARGUMENT, "alignment %u is not a power of two in 64..65536", align);
    w = ecqf_alloc(a, sizeof *w);
    if (!w) FAIL(ECQF_ERR_NOMEM, "out of memory");
    memset(w, 0, sizeof *w);
    if (a) { w->alloc = *a; w->has_alloc = 1; }
    w->alignment = align;
    rc = ecqf_outfile_open(&w->out, path, (flags & ECQF_WRITE_OVERWRITE) != 0, err);
    if (rc) { ecqf_free(a, w); return rc; }
    rc = ecqf_outfile_write_zeros(&w->out, ECQF_HEADER_SIZE, err);
    if (rc) { ecqf_writer_abort(w); return rc; }
    w->end = ECQF_HEADER_SIZE;
    *out = w;
    return ECQF_OK;
}

static uint64_t hash_name(const uint8_t *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h | 1;
}

/* Insert a name (already in entries at entry_off); ECQF_ERR_DUPLICATE_NAME if present. */
static int name_insert(ecqf_writer *w, uint32_t entry_off) {
    const uint8_t *e = w->entries + entry_off;
    size_t n = ecqf_rd16(e);
    uint64_t h = hash_name(e + 8, n);
    if ((w->ntensors + 1) * 2 > w->hash_cap) {
        size_t cap = w->hash_cap ? w->hash_cap * 2 : 64;
        uint64_t *nh = ecqf_calloc(wa(w), cap, sizeof *nh);
        uint32_t *ns = ecqf_calloc(wa(w), cap, sizeof *ns);
        if (!nh || !ns) { ecqf_free(wa(w), nh); ecqf_free(wa(w), ns); return ECQF_ERR_NOMEM; }
        for (size_t i = 0; i < w->hash_cap; i++)
            if (w->name_hash[i]) {
                size_t j = w->name_hash[i] & (cap - 1);
                while (nh[j]) j = (j + 1) & (cap - 1);
                nh[j] = w->name_hash[i];
                ns[j] = w->name_slot[i];
            }
        ecqf_free(wa(w), w->name_hash);
        ecqf_free(wa(w), w->name_slot);
        w->name_hash = nh;
        w->name_slot = ns;
        w->hash_cap = cap;
    }
    for (size_t j = h & (w->hash_cap - 1);; j = (j + 1) & (w->hash_cap - 1)) {
        if (!w->name_hash[j]) {
            w->name_hash[j] = h;
            w->name_slot[j] = entry_off;
            return ECQF_OK;
        }
        if (w->name_hash[j] == h) {
            const uint8_t *o = w->entries + w->name_slot[j];
            if (ecqf_rd16(o) == n && memcmp(o + 8, e + 8, n) == 0) return ECQF_ERR_DUPLICATE_NAME;
        }
    }
}

int ecqf_writer_add_encoded(ecqf_writer *w, const ecqf_encoded *enc, ecqf_error *err) {
    size_t esize, boff_at;
    const uint8_t *entry;
    uint64_t blob_off, size;
    int rc;
    if (!w || !enc) FAIL(ECQF_ERR_INVALID_ARGUMENT, "NULL argument");
    if (w->failed) FAIL(ECQF_ERR_INVALID_ARGUMENT, "the writer already failed; abort it");
    if (w->ntensors >= ECQF_MAX_TENSORS) FAIL(ECQF_ERR_LIMIT, "more than %u tensors", ECQF_MAX_TENSORS);
    entry = ecqf__encoded_entry(enc, &esize, &boff_at);
    size = ecqf_encoded_blob_size(enc);
    if (w->entries_len + esize > ECQF_MAX_DIRECTORY_SIZE / 2) FAIL(ECQF_ERR_LIMIT, "directory would exceed its limit");
    if (w->entries_len + esize > w->entries_cap) {
        size_t cap = w->entries_cap ? w->entries_cap : 4096;
        while (cap < w->entries_len + esize) cap *= 2;
        uint8_t *n = ecqf_alloc(wa(w), cap);
        if (!n) FAIL(ECQF_ERR_NOMEM, "out of memory");
        if (w->entries_len) memcpy(n, w->entries, w->entries_len);
        ecqf_free(wa(w), w->entries);
        w->entries = n;
        w->entries_cap = cap;
    }
    memcpy(w->entries + w->entries_len, entry, esize);
    rc = name_insert(w, (uint32_t)w->entries_len);
    if (rc == ECQF_ERR_DUPLICATE_NAME) FAIL(rc, "duplicate tensor name '%s'", ecqf__encoded_name(enc));
    if (rc) FAIL(rc, "out of memory");
    if (ecqf_align_up(w->end, w->alignment, &blob_off)) FAIL(ECQF_ERR_LIMIT, "file too large");
    rc = ecqf_outfile_write_zeros(&w->out, blob_off - w->end, err);
    if (!rc && size) rc = ecqf_outfile_write(&w->out, ecqf__encoded_blob(enc), (size_t)size, err);
    if (rc) {
        w->failed = 1;
        return rc;
    }
    ecqf_wr64(w->entries + w->entries_len + boff_at, blob_off);
    w->entries_len += esize;
    w->end = blob_off + size;
    w->ntensors++;
    return ECQF_OK;
}

int ecqf_writer_add_tensor(ecqf_writer *w, const ecqf_tensor_desc *desc, ecqf_error *err) {
    ecqf_encoded *e;
    int rc;
    if (!w) FAIL(ECQF_ERR_INVALID_ARGUMENT, "NULL writer");
    rc = ecqf_encode_tensor(desc, wa(w), &e, err);
    if (rc) return rc;
    rc = ecqf_writer_add_encoded(w, e, err);
    ecqf_encoded_free(e);
    return rc;
}

int ecqf_writer_add_metadata(ecqf_writer *w, const char *key, int type, const void *value, size_t length,
                             ecqf_error *err) {
    size_t kl, vl, size;
    meta_item *m;
    uint8_t *b;
    if (!w || !key || (!value && length)) FAIL(ECQF_ERR_INVALID_ARGUMENT, "NULL argument");
    kl = strlen(key);
    if (kl == 0 || kl > ECQF_MAX_KEY_LENGTH) FAIL(ECQF_ERR_LIMIT, "metadata key length %zu outside 1..256", kl);
    if (!ecqf_utf8_valid((const uint8_t *)key, kl)) FAIL(ECQF_ERR_BAD_UTF8, "metadata key is not valid UTF-8");
    switch (type) {
    case ECQF_META_U64: case ECQF_META_I64: case ECQF_META_F64:
        if (length != 8) FAIL(ECQF_ERR_INVALID_ARGUMENT, "metadata '%s': numeric values are 8 bytes", key);
        vl = 8;
        break;
    case ECQF_META_BOOL:
        if (length != 1 || ((const uint8_t *)value)[0] > 1) FAIL(ECQF_ERR_INVALID_ARGUMENT, "metadata '%s': a boolean is one byte, 0 or 1", key);
        vl = 1;
        break;
    case ECQF_META_STRING:
        if (!ecqf_utf8_valid(value, length)) FAIL(ECQF_ERR_BAD_UTF8, "metadata '%s': value is not valid UTF-8", key);
        /* fall through */
    case ECQF_META_BYTES:
        if (length > ECQF_MAX_META_VALUE_SIZE) FAIL(ECQF_ERR_LIMIT, "metadata '%s': value exceeds 16 MiB", key);
        vl = 4 + length;
        break;
    default: FAIL(ECQF_ERR_INVALID_ARGUMENT, "metadata '%s': unknown type %d", key, type);
    }
    for (size_t i = 0; i < w->nmeta; i++)
        if (w->meta[i].key_len == kl && memcmp(w->meta[i].bytes + 2, key, kl) == 0)
            FAIL(ECQF_ERR_DUPLICATE_NAME, "duplicate metadata key '%s'", key);
    if (w->nmeta >= ECQF_MAX_METADATA) FAIL(ECQF_ERR_LIMIT, "more than 65536 metadata entries");
    if (w->nmeta == w->meta_cap) {
        size_t cap = w->meta_cap ? w->meta_cap * 2 : 16;
        meta_item *n = ecqf_calloc(wa(w), cap, sizeof *n);
        if (!n) FAIL(ECQF_ERR_NOMEM, "out of memory");
        if (w->nmeta) memcpy(n, w->meta, w->nmeta * sizeof *n);
        ecqf_free(wa(w), w->meta);
        w->meta = n;
        w->meta_cap = cap;
    }
    size = 2 + kl + 1 + vl;
    b = ecqf_alloc(wa(w), size);
    if (!b) FAIL(ECQF_ERR_NOMEM, "out of memory");
    ecqf_wr16(b, (uint16_t)kl);
    memcpy(b + 2, key, kl);
    b[2 + kl] = (uint8_t)type;
    if (type == ECQF_META_STRING || type == ECQF_META_BYTES) {
        ecqf_wr32(b + 3 + kl, (uint32_t)length);
        if (length) memcpy(b + 7 + kl, value, length);
    } else if (type == ECQF_META_BOOL)
        b[3 + kl] = ((const uint8_t *)value)[0];
    else {
        uint64_t v;
        memcpy(&v, value, 8);
        ecqf_wr64(b + 3 + kl, v);
    }
    m = &w->meta[w->nmeta++];
    m->bytes = b;
    m->size = size;
    m->key_len = kl;
    return ECQF_OK;
}

int ecqf_writer_add_metadata_string(ecqf_writer *w, const char *key, const char *value, ecqf_error *err) {
    if (!value) FAIL(ECQF_ERR_INVALID_ARGUMENT, "NULL value");
    return ecqf_writer_add_metadata(w, key, ECQF_META_STRING, value, strlen(value), err);
}

static int meta_less(const meta_item *a, const meta_item *b) {
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->bytes + 2, b->bytes + 2, n);
    return c < 0 || (c == 0 && a->key_len < b->key_len);
}

static void writer_free(ecqf_writer *w) {
    ecqf_allocator a = w->alloc;
    const ecqf_allocator *ap = w->has_alloc ? &a : NULL;
    for (size_t i = 0; i < w->nmeta; i++) ecqf_free(ap, w->meta[i].bytes);
    ecqf_free(ap, w->meta);
    ecqf_free(ap, w->entries);
    ecqf_free(ap, w->name_hash);
    ecqf_free(ap, w->name_slot);
    ecqf_free(ap, w);
}

int ecqf_writer_finish(ecqf_writer *w, ecqf_error *err) {
    uint64_t dir_off, dir_size = 16;
    uint8_t head[16], hdr[ECQF_HEADER_SIZE];
    int rc = ECQF_OK;
    if (!w) FAIL(ECQF_ERR_INVALID_ARGUMENT, "NULL writer");
    if (w->failed) {
        ecqf_writer_abort(w);
        FAIL(ECQF_ERR_IO, "the writer failed earlier; nothing was written");
    }
    /* metadata sorted by key (insertion sort: few entries) */
    for (size_t i = 1; i < w->nmeta; i++) {
        meta_item t = w->meta[i];
        size_t j = i;
        while (j > 0 && meta_less(&t, &w->meta[j - 1])) { w->meta[j] = w->meta[j - 1]; j--; }
        w->meta[j] = t;
    }
    for (size_t i = 0; i < w->nmeta; i++) dir_size += w->meta[i].size;
    dir_size += w->entries_len;
    if (dir_size > ECQF_MAX_DIRECTORY_SIZE) { ecqf_writer_abort(w); FAIL(ECQF_ERR_LIMIT, "directory exceeds 256 MiB"); }
    dir_off = (w->end + ECQF_DIR_ALIGN - 1) & ~(uint64_t)(ECQF_DIR_ALIGN - 1);
    ecqf_wr32(head, (uint32_t)w->nmeta);
    ecqf_wr32(head + 4, w->ntensors);
    ecqf_wr64(head + 8, 0);
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, ecqf_magic, 8);
    ecqf_wr16(hdr + HDR_MAJOR, ECQF_FORMAT_VERSION_MAJOR);
    ecqf_wr16(hdr + HDR_MINOR, ECQF_FORMAT_VERSION_MINOR);
    ecqf_wr32(hdr + HDR_SIZE, ECQF_HEADER_SIZE);
    ecqf_wr64(hdr + HDR_FILE_SIZE, dir_off + dir_size);
    ecqf_wr64(hdr + HDR_DIR_OFFSET, dir_off);
    ecqf_wr64(hdr + HDR_DIR_SIZE, dir_size);
    ecqf_wr32(hdr + HDR_ALIGNMENT, w->alignment);
    {
        /* checksum over header[0,64) || directory, streamed in the same order as written */
        ecqf_hash_state st;
        if (ecqf_blake2b_init(&st) || ecqf_blake2b_update(&st, hdr, HDR_CHECKSUM) || ecqf_blake2b_update(&st, head, 16))
            rc = ECQF_ERR_UNSUPPORTED;
        for (size_t i = 0; !rc && i < w->nmeta; i++) rc = ecqf_blake2b_update(&st, w->meta[i].bytes, w->meta[i].size);
        if (!rc) rc = ecqf_blake2b_update(&st, w->entries, w->entries_len);
        if (!rc) rc = ecqf_blake2b_final(&st, hdr + HDR_CHECKSUM);
        if (rc) { ecqf_writer_abort(w); FAIL(ECQF_ERR_UNSUPPORTED, "checksum unavailable"); }
    }
    rc = ecqf_outfile_write_zeros(&w->out, dir_off - w->end, err);
    if (!rc) rc = ecqf_outfile_write(&w->out, head, 16, err);
    for (size_t i = 0; !rc && i < w->nmeta; i++) rc = ecqf_outfile_write(&w->out, w->meta[i].bytes, w->meta[i].size, err);
    if (!rc && w->entries_len) rc = ecqf_outfile_write(&w->out, w->entries, w->entries_len, err);
    if (!rc) rc = ecqf_outfile_pwrite(&w->out, hdr, sizeof hdr, 0, err);
    if (rc) {
        ecqf_writer_abort(w);
        return rc;
    }
    rc = ecqf_outfile_commit(&w->out, err);
    writer_free(w);
    return rc;
}

void ecqf_writer_abort(ecqf_writer *w) {
    if (!w) return;
    ecqf_outfile_discard(&w->out);
    writer_free(w);
}
