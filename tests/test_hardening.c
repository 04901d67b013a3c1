/* test_hardening.c — hostile inputs and faults (issue 5):
 *  - every single-bit flip of a small checksummed file is detected with a named error;
 *  - every truncation length gives a named error;
 *  - the reader's allocations at open stay within the file size plus a constant
 *    (HARDENING_ALLOC_SLACK), over crafted files declaring huge counts and sizes and over
 *    every bit-flip variant; counted through ecqf_open_options.allocator;
 *  - decoding never reads outside its input: files and tiles placed so that they end exactly
 *    at a PROT_NONE guard page, intact, truncated and corrupted;
 *  - writer faults: a file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) hit at every stage of
 *    a pack leaves an existing destination byte for byte, leaves no temporary file, and gives
 *    ECQF_ERR_IO with a message.
 * Each sweep prints its counts. ECQF_HARDENING_STRIDE=N (used by `make check-valgrind`)
 * samples every Nth bit flip / truncation / limit instead of all of them. */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec.h"
#include "ecqf.h"

/* Open allocates the reader struct plus 4 bytes per metadata entry and 8 per tensor, all
 * bounded by the directory size (every entry takes at least 5 or 113 bytes); the constant
 * covers the reader struct and the minimum one-entry arrays. */
#define HARDENING_ALLOC_SLACK 1024u

static char tmpdir[256];
static unsigned stride = 1;

static void setup(void) {
    const char *s = getenv("ECQF_HARDENING_STRIDE");
    stride = s && atoi(s) > 0 ? (unsigned)atoi(s) : 1u;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ecqf-test-hardening-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}
static void teardown(void) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[600];
    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(tmpdir);
}

static uint64_t rng_state;
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rd64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static void wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- tracking allocator ------------------------------------------------------------- */

/* Counts live and peak bytes through ecqf_allocator; fails its fail_at-th call (0-based), and
 * every later one when sticky (fail_at = SIZE_MAX: never fails). */
typedef struct tracker {
    size_t live, peak, calls, fail_at;
    int sticky, failed;
} tracker;
typedef union block_head {
    size_t size;
    max_align_t align;
} block_head;
static tracker tracker_make(size_t fail_at, int sticky) {
    tracker t = {0, 0, 0, fail_at, sticky, 0};
    return t;
}
static void *tracked_alloc(void *opaque, size_t size) {
    tracker *t = opaque;
    block_head *h;
    if (t->calls++ >= t->fail_at && (t->sticky || t->calls - 1 == t->fail_at)) {
        t->failed = 1;
        return NULL;
    }
    h = malloc(sizeof *h + size);
    if (!h) return NULL;
    h->size = size;
    t->live += size;
    if (t->live > t->peak) t->peak = t->live;
    return h + 1;
}
static void tracked_free(void *opaque, void *p) {
    tracker *t = opaque;
    block_head *h;
    if (!p) return;
    h = (block_head *)p - 1;
    t->live -= h->size;
    free(h);
}

/* Open (and optionally verify) with the counting allocator; returns the status of the first
 * failing step and the peak of live bytes during open. */
static int open_counted(const uint8_t *buf, size_t size, int verify, size_t *peak, ecqf_error *err) {
    tracker c = tracker_make(SIZE_MAX, 0);
    ecqf_allocator al = {tracked_alloc, tracked_free, &c};
    ecqf_open_options o = {sizeof o, &al, 0};
    ecqf_reader *r = NULL;
    int rc = ecqf_reader_open_memory(&r, buf, size, &o, err);
    *peak = c.peak;
    if (rc == ECQF_OK && verify) rc = ecqf_reader_verify_all(r, err);
    ecqf_reader_close(r);
    ck_assert_uint_eq(c.live, 0);
    return rc;
}

static int named(int rc) { return rc > 0 && rc < ECQF_STATUS_COUNT_ && strcmp(ecqf_status_name(rc), "ECQF_ERR_UNKNOWN") != 0; }

static void print_counts(const char *what, const unsigned long *by_code, unsigned long total) {
    printf("%s: %lu variants\n", what, total);
    for (int c = 0; c < ECQF_STATUS_COUNT_; c++)
        if (by_code[c]) printf("  %-28s %8lu\n", c ? ecqf_status_name(c) : "ECQF_OK (undetected)", by_code[c]);
    fflush(stdout);
}

/* ---- the sample file -------------------------------------------------------------------- */

/* A few KB: every scheme, every coding, escapes, per-row steps, multi-tile tensors, metadata. */
static void add_sample_tensors(ecqf_writer *w, unsigned scale) {
    ecqf_error err;
    uint64_t rows = 6 * scale, cols = 64;
    uint64_t n = rows * cols;
    uint8_t *codes = malloc(n);
    int32_t *ints = malloc(4 * n);
    uint16_t *params = malloc(2 * 2 * rows * (cols / 16));
    float *steps = malloc(4 * rows), *vals = malloc(4 * n);
    static const int codings[4] = {ECQF_CODING_RAW, ECQF_CODING_RANS, ECQF_CODING_PREFIX, ECQF_CODING_ZSTD};
    char name[64];
    for (uint64_t i = 0; i < n; i++) {
        codes[i] = (uint8_t)((rnd() % 4 == 0 ? rnd() : 7 + rnd() % 3) & 15);
        ints[i] = (int32_t)(rnd() % 9) - 4;
        if (rnd() % 23 == 0) ints[i] = (rnd() & 1 ? 1 : -1) * (int32_t)(10 + rnd() % 3000);
        vals[i] = (float)((int)(rnd() % 2001) - 1000) / 256.0f;
    }
    for (uint64_t i = 0; i < 2 * rows * (cols / 16); i++) params[i] = ecqf_f32_to_f16(0.01f * (float)(1 + i % 11));
    for (uint64_t i = 0; i < rows; i++) steps[i] = 0.03125f * (float)(1 + i % 5);
    ck_assert_int_eq(ecqf_writer_add_metadata_string(w, "ecqf.writer", "test_hardening", &err), ECQF_OK);
    {
        uint64_t u = 7;
        uint8_t b = 1;
        ck_assert_int_eq(ecqf_writer_add_metadata(w, "n.layers", ECQF_META_U64, &u, 8, &err), ECQF_OK);
        ck_assert_int_eq(ecqf_writer_add_metadata(w, "tied", ECQF_META_BOOL, &b, 1, &err), ECQF_OK);
    }
    for (int c = 0; c < 4; c++) {
        ecqf_tensor_desc d;
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        d.ndim = 2;
        d.dims[0] = rows;
        d.dims[1] = cols;
        d.coding = codings[c];
        /* affine 4-bit, f16 params, group 16; tiled codings get several tiles and lanes */
        snprintf(name, sizeof name, "affine.%s", ecqf_coding_name(codings[c]));
        d.name = name;
        d.scheme = ECQF_SCHEME_AFFINE;
        d.bits = 4;
        d.group_size = 16;
        d.param_dtype = ECQF_DTYPE_F16;
        d.codes = codes;
        d.params = params;
        d.params_size = 2 * 2 * rows * (cols / 16);
        if (c == 1 || c == 2) {
            d.lanes = c == 1 ? 8 : 4;
            d.stripe_rows = 2;
            d.tile_rows = 4;
            d.tile_cols = 40;
        }
        ck_assert_msg(ecqf_writer_add_tensor(w, &d, &err) == ECQF_OK, "%s", err.message);
        /* ECSQ with escapes and per-row steps */
        snprintf(name, sizeof name, "ecsq.%s", ecqf_coding_name(codings[c]));
        d.scheme = ECQF_SCHEME_ECSQ;
        d.codes = NULL;
        d.ints = ints;
        d.alphabet = 12;
        d.zero_code = 5;
        d.ecsq_flags = ECQF_ECSQ_HAS_ESCAPE | (c & 1 ? ECQF_ECSQ_PER_ROW : 0);
        d.params = steps;
        d.params_size = c & 1 ? 4 * rows : 4;
        d.pack = c == 2 ? 2 : 0;
        ck_assert_msg(ecqf_writer_add_tensor(w, &d, &err) == ECQF_OK, "%s", err.message);
    }
    {
        ecqf_tensor_desc d;
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        d.name = "norm.weight";
        d.ndim = 1;
        d.dims[0] = 40;
        d.scheme = ECQF_SCHEME_NONE;
        d.dtype = ECQF_DTYPE_F32;
        d.coding = ECQF_CODING_RAW;
        d.values = vals;
        ck_assert_msg(ecqf_writer_add_tensor(w, &d, &err) == ECQF_OK, "%s", err.message);
        d.name = "embed.zstd";
        d.ndim = 2;
        d.dims[0] = 4;
        d.dims[1] = 16;
        d.coding = ECQF_CODING_ZSTD;
        ck_assert_msg(ecqf_writer_add_tensor(w, &d, &err) == ECQF_OK, "%s", err.message);
        d.name = "sym8.prefix";
        d.scheme = ECQF_SCHEME_SYMMETRIC;
        d.bits = 8;
        d.group_size = 16;
        d.param_dtype = ECQF_DTYPE_BF16;
        d.codes = codes;
        d.params = params;
        d.params_size = 2 * 4;
        d.coding = ECQF_CODING_PREFIX;
        ck_assert_msg(ecqf_writer_add_tensor(w, &d, &err) == ECQF_OK, "%s", err.message);
        d.name = "empty";
        d.dims[0] = 0;
        d.scheme = ECQF_SCHEME_NONE;
        d.coding = ECQF_CODING_RAW;
        d.params = NULL;
        d.params_size = 0;
        ck_assert_msg(ecqf_writer_add_tensor(w, &d, &err) == ECQF_OK, "%s", err.message);
    }
    free(codes);
    free(ints);
    free(params);
    free(steps);
    free(vals);
}

static uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    long n;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return b;
}

static uint8_t *sample_file(size_t *size) {
    char path[600];
    ecqf_writer *w;
    ecqf_error err;
    uint8_t *b;
    snprintf(path, sizeof path, "%s/sample.ecqf", tmpdir);
    rng_state = 0x1234;
    ck_assert_int_eq(ecqf_writer_create(&w, path, NULL, &err), ECQF_OK);
    add_sample_tensors(w, 1);
    ck_assert_msg(ecqf_writer_finish(w, &err) == ECQF_OK, "%s", err.message);
    b = read_file(path, size);
    unlink(path);
    return b;
}

/* Recompute the header checksum ([H-12]) of a file image whose directory range is valid. */
static void fix_header_checksum(uint8_t *b, size_t size) {
    uint64_t dir_off = rd64(b + 40);
    uint8_t *tmp;
    ck_assert(dir_off <= size);
    tmp = malloc(64 + size - dir_off);
    memcpy(tmp, b, 64);
    memcpy(tmp + 64, b + dir_off, size - dir_off);
    ck_assert_int_eq(ecqf_blake2b_256(tmp, 64 + size - dir_off, b + 64), ECQF_OK);
    free(tmp);
}

/* ---- sweeps ----------------------------------------------------------------------------- */

START_TEST(sample_is_valid) {
    size_t size, peak;
    uint8_t *b = sample_file(&size);
    ecqf_error err;
    ck_assert_msg(open_counted(b, size, 1, &peak, &err) == ECQF_OK, "%s", err.message);
    printf("sample file: %zu bytes, open peak allocation %zu bytes\n", size, peak);
    ck_assert_uint_ge(size, 2000);
    ck_assert_uint_le(size, 16384);
    free(b);
}
END_TEST

START_TEST(every_bit_flip_detected) {
    size_t size, worst = 0;
    uint8_t *b = sample_file(&size);
    unsigned long by_code[ECQF_STATUS_COUNT_] = {0}, total = 0, at_open = 0;
    for (size_t bit = 0; bit < 8 * size; bit += stride) {
        ecqf_error err;
        size_t peak;
        int rc;
        tracker c = tracker_make(SIZE_MAX, 0);
        ecqf_allocator al = {tracked_alloc, tracked_free, &c};
        ecqf_open_options o = {sizeof o, &al, 0};
        ecqf_reader *r = NULL;
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        rc = ecqf_reader_open_memory(&r, b, size, &o, &err);
        peak = c.peak;
        if (rc) at_open++;
        else rc = ecqf_reader_verify_all(r, &err);
        ecqf_reader_close(r);
        ck_assert_uint_eq(c.live, 0);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ck_assert_msg(rc != ECQF_OK, "flip of bit %zu (byte %zu) not detected", bit, bit / 8);
        ck_assert_msg(named(rc) && err.code == rc, "flip of bit %zu: status %d", bit, rc);
        ck_assert_msg(peak <= size + HARDENING_ALLOC_SLACK, "flip of bit %zu: open allocated %zu bytes for %zu", bit, peak, size);
        if (peak > worst) worst = peak;
        by_code[rc]++;
        total++;
    }
    print_counts("bit-flip sweep", by_code, total);
    printf("  detected at open %lu, by verify_all %lu; undetected 0; peak open allocation %zu bytes (file %zu + slack %u)\n",
           at_open, total - at_open, worst, size, HARDENING_ALLOC_SLACK);
    ck_assert_uint_eq(by_code[ECQF_OK], 0);
    free(b);
}
END_TEST

START_TEST(every_truncation_detected) {
    size_t size;
    uint8_t *b = sample_file(&size);
    unsigned long by_code[ECQF_STATUS_COUNT_] = {0}, total = 0;
    for (size_t len = 0; len < size; len += (len < 200 ? 1 : stride)) {
        ecqf_error err;
        size_t peak;
        uint8_t *t = malloc(len ? len : 1); /* exact size: ASan/valgrind see any overread */
        int rc;
        memcpy(t, b, len);
        rc = open_counted(len ? t : NULL, len, 1, &peak, &err);
        free(t);
        ck_assert_msg(rc != ECQF_OK, "truncation to %zu bytes not detected", len);
        ck_assert_msg(named(rc) && err.code == rc, "truncation to %zu: status %d", len, rc);
        ck_assert_uint_le(peak, len + HARDENING_ALLOC_SLACK);
        by_code[rc]++;
        total++;
    }
    /* and a file with bytes appended */
    {
        ecqf_error err;
        size_t peak;
        uint8_t *t = malloc(size + 1);
        memcpy(t, b, size);
        t[size] = 0;
        ck_assert_int_eq(open_counted(t, size + 1, 1, &peak, &err), ECQF_ERR_TRAILING_DATA);
        free(t);
    }
    print_counts("truncation sweep", by_code, total);
    ck_assert_uint_eq(by_code[ECQF_OK], 0);
    free(b);
}
END_TEST

/* Truncated files opened through the file API too (the mapping path). */
START_TEST(truncated_files_on_disk) {
    size_t size;
    uint8_t *b = sample_file(&size);
    char path[600];
    unsigned long total = 0;
    snprintf(path, sizeof path, "%s/trunc.ecqf", tmpdir);
    for (size_t len = 0; len < size; len += 37 * stride) {
        FILE *f = fopen(path, "wb");
        ecqf_reader *r = NULL;
        ecqf_error err;
        int rc;
        ck_assert_uint_eq(fwrite(b, 1, len, f), len);
        fclose(f);
        rc = ecqf_reader_open_file(&r, path, NULL, &err);
        ck_assert_msg(rc != ECQF_OK && named(rc), "truncated file of %zu bytes: status %d", len, rc);
        ck_assert_ptr_null(r);
        total++;
    }
    unlink(path);
    printf("truncated files on disk: %lu lengths rejected\n", total);
    free(b);
}
END_TEST

/* Regression (fuzz/crashes/decode/verify-raw-chunk-overflow): verify_all streamed RAW and
 * ZSTD data in chunks of 262144 codes into a 32768-code buffer. Tensors of more than 32768
 * codes, every width from 1 to 32 bits, must verify (under ASan/valgrind: without overflow). */
START_TEST(verify_large_raw_tensors) {
    char path[600];
    ecqf_writer *w;
    ecqf_error err;
    ecqf_reader *r;
    const uint64_t rows = 40, cols = 2048, n = rows * cols;
    uint8_t *codes = malloc(n);
    int32_t *ints = malloc(4 * n);
    float *vals = malloc(4 * n);
    uint16_t *params = calloc(2 * rows * (cols / 32), 2);
    float step = 0.5f;
    static const int codings[2] = {ECQF_CODING_RAW, ECQF_CODING_ZSTD};
    snprintf(path, sizeof path, "%s/large.ecqf", tmpdir);
    for (uint64_t i = 0; i < n; i++) {
        codes[i] = (uint8_t)(i * 2654435761u >> 24);
        ints[i] = (int32_t)(i % 2);
        vals[i] = (float)(i % 100);
    }
    ck_assert_int_eq(ecqf_writer_create(&w, path, NULL, &err), ECQF_OK);
    for (int c = 0; c < 2; c++) {
        ecqf_tensor_desc d;
        char name[32];
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        d.name = name;
        d.ndim = 2;
        d.dims[0] = rows;
        d.dims[1] = cols;
        d.coding = codings[c];
        for (unsigned bits = 2; bits <= 8; bits += 3) {
            snprintf(name, sizeof name, "affine%u.%d", bits, c);
            d.scheme = ECQF_SCHEME_AFFINE;
            d.bits = bits;
            d.group_size = 32;
            d.param_dtype = ECQF_DTYPE_F16;
            d.codes = codes;
            for (uint64_t i = 0; i < n; i++) codes[i] = (uint8_t)(codes[i] % (1u << bits));
            d.params = params;
            d.params_size = 2 * 2 * rows * (cols / 32);
            ck_assert_msg(ecqf_writer_add_tensor(w, &d, &err) == ECQF_OK, "%s", err.message);
        }
        snprintf(name, sizeof name, "ecsq1.%d", c); /* width 1 */
        d.scheme = ECQF_SCHEME_ECSQ;
        d.codes = NULL;
        d.ints = ints;
        d.alphabet = 2;
        d.zero_code = 0;
        d.params = &step;
        d.params_size = 4;
        ck_assert_msg(ecqf_writer_add_tensor(w, &d, &err) == ECQF_OK, "%s", err.message);
        snprintf(name, sizeof name, "none32.%d", c);
        d.scheme = ECQF_SCHEME_NONE;
        d.dtype = ECQF_DTYPE_F32;
        d.values = vals;
        d.params = NULL;
        d.params_size = 0;
        ck_assert_msg(ecqf_writer_add_tensor(w, &d, &err) == ECQF_OK, "%s", err.message);
    }
    ck_assert_msg(ecqf_writer_finish(w, &err) == ECQF_OK, "%s", err.message);
    ck_assert_int_eq(ecqf_reader_open_file(&r, path, NULL, &err), ECQF_OK);
    ck_assert_msg(ecqf_reader_verify_all(r, &err) == ECQF_OK, "%s", err.message);
    ecqf_reader_close(r);
    unlink(path);
    free(codes);
    free(ints);
    free(vals);
    free(params);
}
END_TEST

/* ---- resource bounds on crafted files ---------------------------------------------------- */

/* Positions in a one-tensor file written by the writer (metadata-free, so the directory is
 * head + one tensor entry). */
typedef struct one_file {
    uint8_t *b;
    size_t size;
    uint64_t dir;      /* directory offset */
    uint64_t entry;    /* tensor entry offset */
    size_t name_len;
} one_file;

static one_file make_one(int coding) {
    char path[600];
    ecqf_writer *w;
    ecqf_error err;
    ecqf_tensor_desc d;
    uint8_t codes[64];
    uint16_t params[8];
    one_file f;
    for (int i = 0; i < 64; i++) codes[i] = (uint8_t)(i % 5);
    for (int i = 0; i < 8; i++) params[i] = ecqf_f32_to_f16(0.5f);
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.name = "w";
    d.ndim = 2;
    d.dims[0] = 2;
    d.dims[1] = 32;
    d.scheme = ECQF_SCHEME_AFFINE;
    d.bits = 4;
    d.group_size = 16;
    d.param_dtype = ECQF_DTYPE_F16;
    d.coding = coding;
    d.codes = codes;
    d.params = params;
    d.params_size = 16;
    snprintf(path, sizeof path, "%s/one.ecqf", tmpdir);
    ck_assert_int_eq(ecqf_writer_create(&w, path, NULL, &err), ECQF_OK);
    ck_assert_int_eq(ecqf_writer_add_tensor(w, &d, &err), ECQF_OK);
    ck_assert_int_eq(ecqf_writer_finish(w, &err), ECQF_OK);
    f.b = read_file(path, &f.size);
    unlink(path);
    f.dir = rd64(f.b + 40);
    f.entry = f.dir + 16;
    f.name_len = 1;
    return f;
}

/* entry field offsets for a 2-d tensor with a 1-byte name */
#define E_DIMS (8 + 1)
#define E_SCHEME (E_DIMS + 16)
#define E_CODING (E_SCHEME + 16)
#define E_BLOB (E_CODING + 16)
#define E_PARTS (E_BLOB + 8)

typedef struct crafted {
    const char *what;
    int expect; /* expected status */
} crafted;

static void expect_bounded(const char *what, uint8_t *b, size_t size, int expect, unsigned long *n) {
    ecqf_error err;
    size_t peak;
    int rc;
    fix_header_checksum(b, size);
    rc = open_counted(b, size, 1, &peak, &err);
    printf("  %-52s -> %-26s peak %7zu bytes (file %zu)\n", what, rc ? ecqf_status_name(rc) : "ECQF_OK", peak, size);
    ck_assert_msg(rc == expect, "%s: status %s, expected %s (%s)", what, ecqf_status_name(rc), ecqf_status_name(expect), err.message);
    ck_assert_msg(peak <= size + HARDENING_ALLOC_SLACK, "%s: open allocated %zu bytes for a %zu-byte file", what, peak, size);
    (*n)++;
}

START_TEST(huge_declarations_bounded) {
    unsigned long n = 0;
    printf("crafted files (allocation bound: file size + %u bytes):\n", HARDENING_ALLOC_SLACK);
    {
        one_file f = make_one(ECQF_CODING_RAW);
        uint8_t *b = f.b;
        uint8_t save[8];
        /* huge tensor and metadata counts */
        wr32(b + f.dir + 4, ECQF_MAX_TENSORS);
        expect_bounded("tensor_count 1048576 (max) in a 1-entry directory", b, f.size, ECQF_ERR_BAD_DIRECTORY, &n);
        wr32(b + f.dir + 4, 0xFFFFFFFFu);
        expect_bounded("tensor_count 2^32-1", b, f.size, ECQF_ERR_LIMIT, &n);
        wr32(b + f.dir + 4, 1);
        wr32(b + f.dir, ECQF_MAX_METADATA);
        expect_bounded("metadata_count 65536 (max) in a 1-entry directory", b, f.size, ECQF_ERR_BAD_DIRECTORY, &n);
        wr32(b + f.dir, 0xFFFFFFFFu);
        expect_bounded("metadata_count 2^32-1", b, f.size, ECQF_ERR_LIMIT, &n);
        wr32(b + f.dir, 0);
        /* huge dims */
        memcpy(save, b + f.entry + E_DIMS, 8);
        wr64(b + f.entry + E_DIMS, 1ull << 40);
        wr64(b + f.entry + E_DIMS + 8, 1ull << 40);
        expect_bounded("dims 2^40 x 2^40 (numel above 2^48)", b, f.size, ECQF_ERR_LIMIT, &n);
        wr64(b + f.entry + E_DIMS, 1ull << 43);
        wr64(b + f.entry + E_DIMS + 8, 32);
        expect_bounded("dims 2^43 x 32 (2^48 elements, RAW part too small)", b, f.size, ECQF_ERR_BAD_LAYOUT, &n);
        wr64(b + f.entry + E_DIMS, UINT64_MAX);
        wr64(b + f.entry + E_DIMS + 8, UINT64_MAX - 31);
        expect_bounded("dims 2^64-1 x (2^64-32)", b, f.size, ECQF_ERR_LIMIT, &n);
        wr64(b + f.entry + E_DIMS, 0);
        wr64(b + f.entry + E_DIMS + 8, 1ull << 62);
        expect_bounded("dims 0 x 2^62 (empty, parts not empty)", b, f.size, ECQF_ERR_BAD_LAYOUT, &n);
        memcpy(b + f.entry + E_DIMS, save, 8);
        wr64(b + f.entry + E_DIMS + 8, 32);
        /* huge part sizes */
        for (int k = 0; k < 5; k++) {
            char what[80];
            uint64_t old = rd64(b + f.entry + E_PARTS + 8 * k);
            wr64(b + f.entry + E_PARTS + 8 * k, UINT64_MAX);
            snprintf(what, sizeof what, "part_size[%d] = 2^64-1", k);
            expect_bounded(what, b, f.size, ECQF_ERR_BAD_LAYOUT, &n);
            wr64(b + f.entry + E_PARTS + 8 * k, 1ull << 60);
            snprintf(what, sizeof what, "part_size[%d] = 2^60", k);
            expect_bounded(what, b, f.size, ECQF_ERR_BAD_LAYOUT, &n);
            wr64(b + f.entry + E_PARTS + 8 * k, old);
        }
        /* blob offset far away */
        memcpy(save, b + f.entry + E_BLOB, 8);
        wr64(b + f.entry + E_BLOB, UINT64_MAX - 63);
        expect_bounded("blob_offset 2^64-64", b, f.size, ECQF_ERR_BAD_LAYOUT, &n);
        memcpy(b + f.entry + E_BLOB, save, 8);
        /* header: huge file size, directory size, directory offset */
        memcpy(save, b + 32, 8);
        wr64(b + 32, UINT64_MAX);
        expect_bounded("file_size 2^64-1", b, f.size, ECQF_ERR_TRUNCATED, &n);
        memcpy(b + 32, save, 8);
        memcpy(save, b + 48, 8);
        wr64(b + 48, UINT64_MAX);
        expect_bounded("directory_size 2^64-1", b, f.size, ECQF_ERR_BAD_LAYOUT, &n);
        memcpy(b + 48, save, 8);
        expect_bounded("(restored: valid)", b, f.size, ECQF_OK, &n);
        free(b);
    }
    {
        /* tiled: a tile grid of more than 2^32 tiles, and a huge tile */
        one_file f = make_one(ECQF_CODING_RANS);
        uint8_t *b = f.b, *cp = f.b + f.entry + E_CODING;
        uint8_t save[16];
        memcpy(save, cp, 16);
        wr64(b + f.entry + E_DIMS, 1ull << 24);
        wr64(b + f.entry + E_DIMS + 8, 1ull << 20);
        wr32(cp + 4, 1);
        wr32(cp + 8, 16);
        expect_bounded("2^24 x 2^20 tensor in 1x16 tiles (2^40 tiles)", b, f.size, ECQF_ERR_LIMIT, &n);
        wr64(b + f.entry + E_DIMS, 1ull << 16);
        wr64(b + f.entry + E_DIMS + 8, 1ull << 16);
        wr32(cp + 4, 1);
        wr32(cp + 8, 16);
        expect_bounded("2^16 x 2^16 tensor in 1x16 tiles (2^28 tiles)", b, f.size, ECQF_ERR_BAD_LAYOUT, &n);
        wr32(cp + 4, 1u << 20);
        wr32(cp + 8, 2);
        expect_bounded("tile of 2^20 x 2 elements", b, f.size, ECQF_ERR_LIMIT, &n);
        wr64(b + f.entry + E_DIMS, 2);
        wr64(b + f.entry + E_DIMS + 8, 32);
        memcpy(cp, save, 16);
        /* tile index pointing far outside the data part */
        {
            ecqf_reader *r;
            ecqf_error err;
            ecqf_tensor_info ti;
            fix_header_checksum(b, f.size);
            ck_assert_int_eq(ecqf_reader_open_memory(&r, b, f.size, NULL, &err), ECQF_OK);
            ck_assert_int_eq(ecqf_reader_tensor_info(r, 0, &ti), ECQF_OK);
            uint64_t at = ti.part_offset[ECQF_PART_TILE_INDEX] + 8 * ti.tile_count;
            ecqf_reader_close(r);
            memcpy(save, b + at, 8);
            wr64(b + at, UINT64_MAX - 3);
            /* blob bytes changed: the blob checksum is now wrong, but open must reject first */
            expect_bounded("tile index end 2^64-4", b, f.size, ECQF_ERR_BAD_TILE_INDEX, &n);
            memcpy(b + at, save, 8);
        }
        free(b);
    }
    {
        /* huge metadata value lengths */
        char path[600];
        ecqf_writer *w;
        ecqf_error err;
        uint8_t *b;
        size_t size;
        uint64_t dir;
        snprintf(path, sizeof path, "%s/meta.ecqf", tmpdir);
        ck_assert_int_eq(ecqf_writer_create(&w, path, NULL, &err), ECQF_OK);
        ck_assert_int_eq(ecqf_writer_add_metadata_string(w, "k", "value", &err), ECQF_OK);
        ck_assert_int_eq(ecqf_writer_finish(w, &err), ECQF_OK);
        b = read_file(path, &size);
        unlink(path);
        dir = rd64(b + 40);
        /* entry: u16 key_len=1, 'k', type 4, u32 length */
        wr32(b + dir + 16 + 4, ECQF_MAX_META_VALUE_SIZE);
        expect_bounded("metadata string of 16 MiB (max) in a tiny directory", b, size, ECQF_ERR_BAD_DIRECTORY, &n);
        wr32(b + dir + 16 + 4, 0xFFFFFFFFu);
        expect_bounded("metadata string of 4 GiB", b, size, ECQF_ERR_LIMIT, &n);
        free(b);
    }
    {
        /* a valid file with many tensors: the reader's arrays grow with the directory only */
        char path[600];
        ecqf_writer *w;
        ecqf_error err;
        uint8_t *b;
        size_t size;
        ecqf_tensor_desc d;
        char name[32];
        const unsigned count = 3000;
        snprintf(path, sizeof path, "%s/many.ecqf", tmpdir);
        ck_assert_int_eq(ecqf_writer_create(&w, path, NULL, &err), ECQF_OK);
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        d.name = name;
        d.ndim = 1;
        d.dims[0] = 0;
        for (unsigned i = 0; i < count; i++) {
            snprintf(name, sizeof name, "t%05u", (i * 7919u) % count);
            ck_assert_int_eq(ecqf_writer_add_tensor(w, &d, &err), ECQF_OK);
        }
        ck_assert_int_eq(ecqf_writer_finish(w, &err), ECQF_OK);
        b = read_file(path, &size);
        unlink(path);
        expect_bounded("3000 empty tensors (valid)", b, size, ECQF_OK, &n);
        free(b);
    }
    printf("crafted files: %lu, all within file size + %u bytes\n", n, HARDENING_ALLOC_SLACK);
}
END_TEST

/* ---- guard pages ------------------------------------------------------------------------- */

typedef struct guarded {
    uint8_t *map;
    size_t map_size;
    uint8_t *data; /* data + size == the first byte of the PROT_NONE page */
} guarded;

static guarded guard_place(const uint8_t *src, size_t size) {
    guarded g;
    long page = sysconf(_SC_PAGESIZE);
    size_t body = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
    g.map_size = body + (size_t)page;
    g.map = mmap(NULL, g.map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(g.map != MAP_FAILED);
    ck_assert_int_eq(mprotect(g.map + body, (size_t)page, PROT_NONE), 0);
    g.data = g.map + body - size;
    if (size) memcpy(g.data, src, size);
    return g;
}
static void guard_free(guarded *g) { munmap(g->map, g->map_size); }

/* Open, verify and decode everything of a file image; returns the first failure status. */
static int decode_everything(const uint8_t *b, size_t size) {
    ecqf_reader *r;
    ecqf_error err;
    int first = ECQF_OK;
    int rc = ecqf_reader_open_memory(&r, b, size, NULL, &err);
    if (rc) return rc;
    rc = ecqf_reader_verify_all(r, &err);
    if (rc) first = rc;
    for (size_t i = 0; i < ecqf_reader_tensor_count(r); i++) {
        ecqf_tensor_info ti;
        size_t n;
        ck_assert_int_eq(ecqf_reader_tensor_info(r, i, &ti), ECQF_OK);
        n = (size_t)ti.numel;
        if (ti.scheme != ECQF_SCHEME_NONE) {
            uint8_t *codes = malloc(n + 1);
            rc = ecqf_tensor_decode_codes(r, i, codes, ti.numel, &err);
            if (rc && !first) first = rc;
            if (ti.coding == ECQF_CODING_RANS || ti.coding == ECQF_CODING_PREFIX)
                for (uint64_t t = 0; t < ti.tile_count; t++) {
                    uint64_t tcols = (ti.cols + ti.tile_cols - 1) / ti.tile_cols;
                    uint64_t r0 = (t / tcols) * ti.tile_rows, c0 = (t % tcols) * ti.tile_cols;
                    uint64_t h = ti.rows - r0 < ti.tile_rows ? ti.rows - r0 : ti.tile_rows;
                    uint64_t w = ti.cols - c0 < ti.tile_cols ? ti.cols - c0 : ti.tile_cols;
                    rc = ecqf_tensor_decode_tile(r, i, t, codes, h * w, &err);
                    if (rc && !first) first = rc;
                }
            free(codes);
        }
        if (ti.scheme == ECQF_SCHEME_ECSQ) {
            int32_t *ints = malloc(4 * n + 4);
            rc = ecqf_tensor_decode_ints(r, i, ints, ti.numel, &err);
            if (rc && !first) first = rc;
            free(ints);
        }
        {
            float *out = malloc(4 * n + 4);
            rc = ecqf_tensor_dequantize(r, i, ECQF_DTYPE_F32, out, 4 * n, &err);
            if (rc && !first) first = rc;
            free(out);
        }
    }
    ecqf_reader_close(r);
    return first;
}

START_TEST(file_against_guard_page) {
    size_t size;
    uint8_t *b = sample_file(&size);
    unsigned long by_code[ECQF_STATUS_COUNT_] = {0}, total = 0;
    guarded g = guard_place(b, size);
    ck_assert_int_eq(decode_everything(g.data, size), ECQF_OK);
    guard_free(&g);
    /* truncations, each ending at the guard page */
    for (size_t len = 0; len < size; len += stride) {
        int rc;
        g = guard_place(b, len);
        rc = decode_everything(len ? g.data : NULL, len);
        guard_free(&g);
        ck_assert_msg(rc != ECQF_OK && named(rc), "truncation %zu: %d", len, rc);
        by_code[rc]++;
        total++;
    }
    print_counts("guard page: truncated files", by_code, total);
    free(b);
}
END_TEST

/* Corrupt one bit inside a blob and repair both checksums, so that the corruption reaches
 * the decoders; the file still ends at the guard page. */
START_TEST(corrupt_blobs_reach_decoders) {
    size_t size;
    uint8_t *b = sample_file(&size);
    unsigned long by_code[ECQF_STATUS_COUNT_] = {0}, total = 0;
    ecqf_reader *r;
    ecqf_error err;
    size_t nt;
    ecqf_tensor_info *infos;
    guarded g = guard_place(b, size);
    ck_assert_int_eq(ecqf_reader_open_memory(&r, b, size, NULL, &err), ECQF_OK);
    nt = ecqf_reader_tensor_count(r);
    infos = calloc(nt, sizeof *infos);
    for (size_t i = 0; i < nt; i++) ck_assert_int_eq(ecqf_reader_tensor_info(r, i, &infos[i]), ECQF_OK);
    for (size_t i = 0; i < nt; i++) {
        const ecqf_tensor_info *ti = &infos[i];
        size_t sum_at = (size_t)(ti->blob_checksum - b);
        for (uint64_t bit = 0; bit < 8 * ti->blob_size; bit += stride) {
            uint8_t *f = g.data;
            size_t byte = (size_t)(ti->blob_offset + bit / 8);
            int rc;
            memcpy(f, b, size);
            f[byte] ^= (uint8_t)(1u << (bit % 8));
            ck_assert_int_eq(ecqf_blake2b_256(f + ti->blob_offset, (size_t)ti->blob_size, f + sum_at), ECQF_OK);
            fix_header_checksum(f, size);
            rc = decode_everything(f, size);
            ck_assert_msg(rc == ECQF_OK || named(rc), "tensor %zu bit %llu: status %d", i, (unsigned long long)bit, rc);
            by_code[rc]++;
            total++;
        }
    }
    ecqf_reader_close(r);
    guard_free(&g);
    print_counts("corrupted blobs with repaired checksums (undetected = a flip that is still a valid stream)", by_code, total);
    free(infos);
    free(b);
}
END_TEST

/* Every tile of every tiled tensor placed alone against a guard page, decoded by the codec's
 * reference decoders whole, truncated at every length, and with every bit flipped. */
START_TEST(tiles_against_guard_page) {
    size_t size;
    uint8_t *b = sample_file(&size);
    ecqf_reader *r;
    ecqf_error err;
    unsigned long tiles = 0, runs = 0, ok = 0;
    ck_assert_int_eq(ecqf_reader_open_memory(&r, b, size, NULL, &err), ECQF_OK);
    for (size_t i = 0; i < ecqf_reader_tensor_count(r); i++) {
        ecqf_tensor_info ti;
        ecqf_tiling tl;
        static ecqf_rans_table rt;
        static ecqf_prefix_table pt;
        unsigned A;
        ck_assert_int_eq(ecqf_reader_tensor_info(r, i, &ti), ECQF_OK);
        if (ti.coding != ECQF_CODING_RANS && ti.coding != ECQF_CODING_PREFIX) continue;
        A = ti.pack == 2 ? 256 : ti.alphabet;
        tl.rows = ti.rows;
        tl.cols = ti.cols;
        tl.lanes = ti.lanes;
        tl.pack = ti.pack;
        tl.stripe_rows = ti.stripe_rows;
        tl.tile_rows = ti.tile_rows;
        tl.tile_cols = ti.tile_cols;
        if (ti.coding == ECQF_CODING_RANS) {
            uint16_t freq[256];
            for (unsigned s = 0; s < A; s++) freq[s] = (uint16_t)(ti.part[ECQF_PART_TABLE][2 * s] | ti.part[ECQF_PART_TABLE][2 * s + 1] << 8);
            ck_assert_int_eq(ecqf_rans_table_init(&rt, freq, A, ti.precision), ECQF_OK);
        } else
            ck_assert_int_eq(ecqf_prefix_table_init(&pt, ti.part[ECQF_PART_TABLE], A, ti.max_length), ECQF_OK);
        for (uint64_t t = 0; t < ti.tile_count; t++) {
            ecqf_tile_geom geo;
            uint64_t s0 = rd64(ti.part[ECQF_PART_TILE_INDEX] + 8 * t), s1 = rd64(ti.part[ECQF_PART_TILE_INDEX] + 8 * t + 8);
            const uint8_t *src = ti.part[ECQF_PART_DATA] + s0;
            size_t len = (size_t)(s1 - s0);
            uint8_t *syms;
            ecqf_tile_geometry(&tl, t, &geo);
            syms = malloc((size_t)geo.symbols + 1);
            tiles++;
            for (size_t cut = 0; cut <= len; cut++) {
                guarded g = guard_place(src, cut);
                int rc = ti.coding == ECQF_CODING_RANS ? ecqf_rans_decode_tile(&rt, ti.lanes, &geo, g.data, cut, syms)
                                                       : ecqf_prefix_decode_tile(&pt, ti.lanes, &geo, g.data, cut, syms);
                if (cut == len) ck_assert_int_eq(rc, ECQF_OK);
                else ck_assert_msg(rc == ECQF_ERR_CORRUPT_STREAM || rc == ECQF_ERR_NONZERO_PADDING, "cut %zu: %d", cut, rc);
                guard_free(&g);
                runs++;
            }
            {
                guarded g = guard_place(src, len);
                for (size_t bit = 0; bit < 8 * len; bit += stride) {
                    int rc;
                    g.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                    rc = ti.coding == ECQF_CODING_RANS ? ecqf_rans_decode_tile(&rt, ti.lanes, &geo, g.data, len, syms)
                                                       : ecqf_prefix_decode_tile(&pt, ti.lanes, &geo, g.data, len, syms);
                    g.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                    ck_assert(rc == ECQF_OK || rc == ECQF_ERR_CORRUPT_STREAM || rc == ECQF_ERR_NONZERO_PADDING);
                    ok += rc == ECQF_OK;
                    runs++;
                }
                guard_free(&g);
            }
            free(syms);
        }
    }
    ecqf_reader_close(r);
    printf("guard page: %lu tiles, %lu decodes of truncated/flipped tiles (%lu flips still valid streams)\n", tiles, runs, ok);
    ck_assert_uint_gt(tiles, 4);
    free(b);
}
END_TEST

/* ---- writer faults -------------------------------------------------------------------------- */

static const char old_content[] = "old content that must survive a failed pack\n";

static void write_old(const char *path) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(old_content, 1, sizeof old_content, f), sizeof old_content);
    fclose(f);
}

static int dest_is_old(const char *path) {
    size_t n;
    uint8_t *b;
    int same;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    b = read_file(path, &n);
    same = n == sizeof old_content && memcmp(b, old_content, n) == 0;
    free(b);
    return same;
}

static unsigned count_temps(void) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    unsigned n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp-")) n++;
    closedir(d);
    return n;
}

/* Child exit codes */
enum { CHILD_IO_ERROR = 10, CHILD_OK = 11, CHILD_OTHER = 12, CHILD_NO_MESSAGE = 13 };

/* In a child with RLIMIT_FSIZE = limit: pack the sample tensors to path. */
static int pack_with_limit(const char *path, rlim_t limit, int overwrite, int use_abort, char *msg, size_t msgsz) {
    int fds[2];
    pid_t pid;
    int status;
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {limit, limit};
        ecqf_writer *w;
        ecqf_writer_options o;
        ecqf_error err;
        int rc, code;
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(CHILD_OTHER);
        memset(&o, 0, sizeof o);
        o.struct_size = sizeof o;
        o.flags = overwrite ? ECQF_WRITE_OVERWRITE : 0;
        memset(&err, 0, sizeof err);
        rng_state = 0x1234;
        rc = ecqf_writer_create(&w, path, &o, &err);
        if (rc == ECQF_OK) {
            /* add_sample_tensors asserts success: do it by hand to see the error */
            ecqf_tensor_desc d;
            uint8_t codes[4096];
            uint16_t params[2 * 64 * 4];
            char name[32];
            memset(&d, 0, sizeof d);
            d.struct_size = sizeof d;
            d.name = name;
            d.ndim = 2;
            d.dims[0] = 64;
            d.dims[1] = 64;
            d.scheme = ECQF_SCHEME_AFFINE;
            d.bits = 8;
            d.group_size = 16;
            d.param_dtype = ECQF_DTYPE_F16;
            d.coding = ECQF_CODING_RAW;
            for (int i = 0; i < 4096; i++) codes[i] = (uint8_t)rnd();
            for (int i = 0; i < 2 * 64 * 4; i++) params[i] = ecqf_f32_to_f16(0.25f);
            d.codes = codes;
            d.params = params;
            d.params_size = sizeof params;
            rc = ecqf_writer_add_metadata_string(w, "ecqf.writer", "test_hardening", &err);
            for (int i = 0; !rc && i < 4; i++) {
                snprintf(name, sizeof name, "layer.%d", i);
                d.coding = i == 1 ? ECQF_CODING_RANS : i == 2 ? ECQF_CODING_ZSTD : ECQF_CODING_RAW;
                rc = ecqf_writer_add_tensor(w, &d, &err);
            }
            if (rc && use_abort) ecqf_writer_abort(w);
            else {
                int rc2 = ecqf_writer_finish(w, rc ? NULL : &err);
                if (!rc) rc = rc2;
                else if (rc2 != ECQF_ERR_IO) rc = -1; /* finish after a failure must say IO */
            }
        }
        if (write(fds[1], err.message, strlen(err.message) + 1) < 0) _exit(CHILD_OTHER);
        code = rc == ECQF_OK ? CHILD_OK : rc == ECQF_ERR_IO ? (err.message[0] ? CHILD_IO_ERROR : CHILD_NO_MESSAGE) : CHILD_OTHER;
        _exit(code);
    }
    close(fds[1]);
    {
        ssize_t got = read(fds[0], msg, msgsz - 1);
        msg[got > 0 ? got : 0] = 0;
    }
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "child died (signal %d)", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return WEXITSTATUS(status);
}

START_TEST(writer_full_disk_keeps_destination) {
    char path[600], msg[ECQF_ERROR_MESSAGE_SIZE + 8], first_msg[ECQF_ERROR_MESSAGE_SIZE + 8] = "";
    size_t full;
    unsigned long fails = 0, with_old = 0, fresh = 0;
    snprintf(path, sizeof path, "%s/model.ecqf", tmpdir);
    /* the full size of the pack, without a limit */
    ck_assert_int_eq(pack_with_limit(path, RLIM_INFINITY, 1, 0, msg, sizeof msg), CHILD_OK);
    {
        uint8_t *b = read_file(path, &full);
        ecqf_reader *r;
        ecqf_error err;
        ck_assert_int_eq(ecqf_reader_open_memory(&r, b, full, NULL, &err), ECQF_OK);
        ck_assert_int_eq(ecqf_reader_verify_all(r, &err), ECQF_OK);
        ecqf_reader_close(r);
        free(b);
    }
    unlink(path);
    ck_assert_uint_gt(full, 8000);
    /* every limit below the full size must fail cleanly: sampled every 61 bytes (every byte
     * near the start and the end, where the header and the directory are written) */
    for (size_t lim = 0; lim < full; lim += ((lim < 128 || lim + 400 > full) ? 1 : 61) * stride) {
        int code;
        /* an existing destination, replaced on success only */
        write_old(path);
        code = pack_with_limit(path, (rlim_t)lim, 1, (int)(lim & 1), msg, sizeof msg);
        ck_assert_msg(code == CHILD_IO_ERROR, "limit %zu: child code %d (%s)", lim, code, msg);
        ck_assert_msg(dest_is_old(path), "limit %zu: destination changed", lim);
        ck_assert_msg(count_temps() == 0, "limit %zu: temporary file left behind", lim);
        ck_assert_msg(strstr(msg, "large") || strstr(msg, "failed") || strstr(msg, "write"), "limit %zu: message '%s'", lim, msg);
        if (!first_msg[0] && lim > 200) snprintf(first_msg, sizeof first_msg, "%s", msg);
        with_old++;
        /* no destination, no overwrite flag: still nothing left */
        unlink(path);
        if ((lim % 7) == 0) {
            code = pack_with_limit(path, (rlim_t)lim, 0, 0, msg, sizeof msg);
            ck_assert_msg(code == CHILD_IO_ERROR, "limit %zu (new file): child code %d (%s)", lim, code, msg);
            ck_assert_msg(access(path, F_OK) != 0, "limit %zu: a destination appeared", lim);
            ck_assert_msg(count_temps() == 0, "limit %zu: temporary file left behind", lim);
            fresh++;
        }
        fails++;
    }
    /* exactly the full size fits: the destination is replaced */
    write_old(path);
    ck_assert_int_eq(pack_with_limit(path, (rlim_t)full, 1, 0, msg, sizeof msg), CHILD_OK);
    ck_assert(!dest_is_old(path));
    ck_assert_uint_eq(count_temps(), 0);
    printf("writer faults: pack of %zu bytes; %lu file-size limits below it (%lu over an existing file, %lu to a new path) "
           "all failed with ECQF_ERR_IO, destination untouched, no temporary left; e.g. \"%s\"\n",
           full, fails, with_old, fresh, first_msg);
}
END_TEST

/* A destination that exists and no overwrite flag: ECQF_ERR_EXISTS, nothing changed. */
START_TEST(writer_refuses_existing) {
    char path[600];
    ecqf_writer *w = NULL;
    ecqf_error err;
    snprintf(path, sizeof path, "%s/exists.ecqf", tmpdir);
    write_old(path);
    ck_assert_int_eq(ecqf_writer_create(&w, path, NULL, &err), ECQF_ERR_EXISTS);
    ck_assert_ptr_null(w);
    ck_assert(dest_is_old(path));
    ck_assert_uint_eq(count_temps(), 0);
}
END_TEST

/* ---- allocation failures ------------------------------------------------------------------ */

/* Open, verify and decode everything with an allocator failing its n-th allocation: the
 * status is ECQF_OK (the failure hit nothing) or ECQF_ERR_NOMEM, and nothing leaks. */
START_TEST(reader_allocation_failures) {
    size_t size;
    uint8_t *b = sample_file(&size);
    unsigned long nomem = 0, runs = 0;
    size_t total_calls;
    {
        tracker f = tracker_make(SIZE_MAX, 0);
        ecqf_allocator al = {tracked_alloc, tracked_free, &f};
        ecqf_open_options o = {sizeof o, &al, 0};
        ecqf_reader *r;
        ecqf_error err;
        ck_assert_int_eq(ecqf_reader_open_memory(&r, b, size, &o, &err), ECQF_OK);
        ck_assert_int_eq(ecqf_reader_verify_all(r, &err), ECQF_OK);
        ecqf_reader_close(r);
        total_calls = f.calls;
    }
    for (size_t k = 0; k < total_calls + 2; k++) {
        for (int sticky = 0; sticky < 2; sticky++) {
            tracker f = tracker_make(k, sticky);
            ecqf_allocator al = {tracked_alloc, tracked_free, &f};
            ecqf_open_options o = {sizeof o, &al, 0};
            ecqf_reader *r = NULL;
            ecqf_error err;
            int rc = ecqf_reader_open_memory(&r, b, size, &o, &err);
            if (rc == ECQF_OK) {
                rc = ecqf_reader_verify_all(r, &err);
                for (size_t i = 0; i < ecqf_reader_tensor_count(r); i++) {
                    ecqf_tensor_info ti;
                    ck_assert_int_eq(ecqf_reader_tensor_info(r, i, &ti), ECQF_OK);
                    if (ti.scheme != ECQF_SCHEME_NONE) {
                        uint8_t *codes = malloc((size_t)ti.numel + 1);
                        int rc2 = ecqf_tensor_decode_codes(r, i, codes, ti.numel, &err);
                        ck_assert_msg(rc2 == ECQF_OK || rc2 == ECQF_ERR_NOMEM, "decode_codes: %d", rc2);
                        free(codes);
                    }
                    {
                        float *out = malloc(4 * (size_t)ti.numel + 4);
                        int rc2 = ecqf_tensor_dequantize(r, i, ECQF_DTYPE_F32, out, 4 * (size_t)ti.numel, &err);
                        ck_assert_msg(rc2 == ECQF_OK || rc2 == ECQF_ERR_NOMEM, "dequantize: %d", rc2);
                        free(out);
                    }
                }
            }
            ecqf_reader_close(r);
            ck_assert_msg(rc == ECQF_OK || rc == ECQF_ERR_NOMEM, "failing allocation %zu: status %d", k, rc);
            ck_assert_msg(!(rc == ECQF_ERR_NOMEM && !f.failed), "NOMEM without a failed allocation");
            ck_assert_msg(f.live == 0, "failing allocation %zu (sticky %d): %zu bytes leaked", k, sticky, f.live);
            nomem += rc == ECQF_ERR_NOMEM;
            runs++;
        }
    }
    printf("allocation failures (reader): %zu allocations in a full open+verify; %lu runs, %lu ended in ECQF_ERR_NOMEM, no leak\n",
           total_calls, runs, nomem);
    free(b);
}
END_TEST

/* The writer and encoder with an allocator failing its n-th allocation: a clean
 * ECQF_ERR_NOMEM, no leak, no temporary file, and the destination untouched. */
START_TEST(writer_allocation_failures) {
    char path[600];
    size_t total_calls = 0;
    unsigned long runs = 0, nomem = 0;
    snprintf(path, sizeof path, "%s/alloc.ecqf", tmpdir);
    for (size_t k = 0;; k++) {
        tracker f = tracker_make(k, 1);
        ecqf_allocator al = {tracked_alloc, tracked_free, &f};
        ecqf_writer_options o;
        ecqf_writer *w = NULL;
        ecqf_error err;
        int rc;
        memset(&o, 0, sizeof o);
        o.struct_size = sizeof o;
        o.flags = ECQF_WRITE_OVERWRITE;
        o.allocator = &al;
        write_old(path);
        rng_state = 0x1234;
        rc = ecqf_writer_create(&w, path, &o, &err);
        if (rc == ECQF_OK) {
            /* the sample tensors, through the failing allocator */
            uint64_t rows = 6, cols = 64, n = rows * cols;
            uint8_t codes[384];
            int32_t ints[384];
            uint16_t params[2 * 6 * 4];
            float steps[6];
            static const int codings[4] = {ECQF_CODING_RAW, ECQF_CODING_RANS, ECQF_CODING_PREFIX, ECQF_CODING_AUTO};
            for (uint64_t i = 0; i < n; i++) {
                codes[i] = (uint8_t)(rnd() & 15);
                ints[i] = (int32_t)(rnd() % 9) - 4;
                if (i % 37 == 0) ints[i] = 1000 + (int32_t)i;
            }
            for (int i = 0; i < 48; i++) params[i] = ecqf_f32_to_f16(0.125f);
            for (int i = 0; i < 6; i++) steps[i] = 0.25f;
            rc = ecqf_writer_add_metadata_string(w, "ecqf.writer", "test", &err);
            for (int c = 0; !rc && c < 4; c++) {
                ecqf_tensor_desc d;
                char name[32];
                memset(&d, 0, sizeof d);
                d.struct_size = sizeof d;
                d.name = name;
                d.ndim = 2;
                d.dims[0] = rows;
                d.dims[1] = cols;
                d.coding = codings[c];
                snprintf(name, sizeof name, "a%d", c);
                d.scheme = ECQF_SCHEME_AFFINE;
                d.bits = 4;
                d.group_size = 16;
                d.param_dtype = ECQF_DTYPE_F16;
                d.codes = codes;
                d.params = params;
                d.params_size = sizeof params;
                rc = ecqf_writer_add_tensor(w, &d, &err);
                if (rc) break;
                snprintf(name, sizeof name, "e%d", c);
                d.scheme = ECQF_SCHEME_ECSQ;
                d.codes = NULL;
                d.ints = ints;
                d.alphabet = 10;
                d.zero_code = 4;
                d.ecsq_flags = ECQF_ECSQ_HAS_ESCAPE | ECQF_ECSQ_PER_ROW;
                d.params = steps;
                d.params_size = sizeof steps;
                rc = ecqf_writer_add_tensor(w, &d, &err);
            }
            if (rc) ecqf_writer_abort(w);
            else rc = ecqf_writer_finish(w, &err);
        }
        ck_assert_msg(rc == ECQF_OK || rc == ECQF_ERR_NOMEM, "failing allocation %zu: status %d (%s)", k, rc, err.message);
        ck_assert_msg(f.live == 0, "failing allocation %zu: %zu bytes leaked", k, f.live);
        ck_assert_msg(count_temps() == 0, "failing allocation %zu: temporary file left", k);
        runs++;
        if (rc == ECQF_OK) {
            total_calls = f.calls;
            ck_assert(!dest_is_old(path));
            break;
        }
        ck_assert_msg(dest_is_old(path), "failing allocation %zu: destination changed", k);
        nomem++;
        k += k < 64 ? 0 : (size_t)stride - 1;
    }
    printf("allocation failures (writer+encoder): %zu allocations in a full pack; %lu runs, %lu ended in ECQF_ERR_NOMEM "
           "with the destination untouched, no leak, no temporary\n", total_calls, runs, nomem);
    unlink(path);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("sweeps");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 3600);
    tcase_add_test(tc, sample_is_valid);
    tcase_add_test(tc, every_bit_flip_detected);
    tcase_add_test(tc, every_truncation_detected);
    tcase_add_test(tc, truncated_files_on_disk);
    tcase_add_test(tc, verify_large_raw_tensors);
    tcase_add_test(tc, huge_declarations_bounded);
    tcase_add_test(tc, file_against_guard_page);
    tcase_add_test(tc, corrupt_blobs_reach_decoders);
    tcase_add_test(tc, tiles_against_guard_page);
    tcase_add_test(tc, writer_full_disk_keeps_destination);
    tcase_add_test(tc, writer_refuses_existing);
    tcase_add_test(tc, reader_allocation_failures);
    tcase_add_test(tc, writer_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    int failed;
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
