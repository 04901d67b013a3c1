/*
 * plan.c — kernel plans (tables and checks derived from a tensor's small parts), the thread
 * pool, and the dispatch of a GEMV or decode call over items of tile rows or matrix rows.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "common/internal.h"

/* ---- backends ------------------------------------------------------------------------- */

static int backend_of_isa(int isa) {
    return isa == ECQF_ISA_AVX512 ? ECQF_KERNEL_AVX512 : isa == ECQF_ISA_AVX2 ? ECQF_KERNEL_AVX2 : ECQF_KERNEL_SCALAR;
}

int ecqf_kernel_backend_best(void) { return backend_of_isa(ecqf_fast_isa_best()); }

int ecqf_kernel_backend_supported(int backend) {
    if (backend == ECQF_KERNEL_AUTO || backend == ECQF_KERNEL_SCALAR) return 1;
    if (backend == ECQF_KERNEL_AVX2) return ecqf_fast_isa_supported(ECQF_ISA_AVX2);
    if (backend == ECQF_KERNEL_AVX512) return ecqf_fast_isa_supported(ECQF_ISA_AVX512);
    return 0;
}

const char *ecqf_kernel_backend_name(int backend) {
    switch (backend) {
    case ECQF_KERNEL_AUTO: return "auto";
    case ECQF_KERNEL_SCALAR: return "scalar";
    case ECQF_KERNEL_AVX2: return "avx2";
    case ECQF_KERNEL_AVX512: return "avx512";
    default: return "unknown";
    }
}

int kern_body_status(uint32_t bits) {
    if (bits & ECQF_KB_ERR_STREAM) return ECQF_ERR_CORRUPT_STREAM;
    if (bits & ECQF_KB_ERR_PADDING) return ECQF_ERR_NONZERO_PADDING;
    if (bits & ECQF_KB_ERR_ESCAPES) return ECQF_ERR_BAD_ESCAPES;
    return ECQF_OK;
}

/* ---- scratch -------------------------------------------------------------------------- */

void *kern_scratch_get(kern_scratch *s, size_t size) {
    if (size <= s->size && s->mem) return s->mem;
    free(s->mem);
    s->mem = NULL;
    s->size = 0;
    size = (size + 4095) & ~(size_t)4095;
    if (posix_memalign(&s->mem, 64, size) != 0) {
        s->mem = NULL;
        return NULL;
    }
    s->size = size;
    return s->mem;
}

void kern_scratch_free(kern_scratch *s) {
    free(s->mem);
    s->mem = NULL;
    s->size = 0;
}

/* ---- plans ---------------------------------------------------------------------------- */

#define FAIL(code, ...) \
    do {                                              \
        rc = ecqf_set_error(err, (code), ECQF_NO_OFFSET, __VA_ARGS__); \
        goto fail;                                    \
    } while (0)

static const ecqf_allocator *plan_alloc(const ecqf_kernel_plan *p) { return p->has_alloc ? &p->alloc : NULL; }

void ecqf_kernel_plan_free(ecqf_kernel_plan *p) {
    const ecqf_allocator *a;
    if (!p) return;
    a = plan_alloc(p);
    ecqf_fast_rans_free(p->fr);
    ecqf_fast_prefix_free(p->fp);
    ecqf_free(a, p->rt);
    ecqf_free(a, p->pt);
    ecqf_free(a, p->dtab);
    ecqf_free(a, p->dsym);
    ecqf_free(a, p->raw_row_esc);
    ecqf_free(a, p);
}

int ecqf_kernel_plan_backend(const ecqf_kernel_plan *p) { return p->backend; }
uint64_t ecqf_kernel_plan_bytes(const ecqf_kernel_plan *p) { return p->bytes; }

/* RAW with escapes: count the escapes of every row, check the total ([E-2]). */
static int raw_escape_rows(ecqf_kernel_plan *p, ecqf_error *err) {
    const ecqf_tensor_info *in = &p->info;
    const ecqf_allocator *a = plan_alloc(p);
    uint8_t *row = ecqf_alloc(a, (size_t)in->cols + 1);
    uint64_t r, c, e = 0;
    int rc = ECQF_OK;
    p->raw_row_esc = ecqf_alloc(a, (size_t)(in->rows + 1) * sizeof(uint32_t));
    if (!row || !p->raw_row_esc) {
        ecqf_free(a, row);
        return ecqf_set_error(err, ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
    }
    for (r = 0; r < in->rows; r++) {
        p->raw_row_esc[r] = (uint32_t)e;
        rc = ecqf_raw_unpack(in->part[ECQF_PART_DATA], r * in->cols, in->cols, in->code_width, p->Q, row);
        if (rc) {
            rc = ecqf_set_error(err, rc, in->part_offset[ECQF_PART_DATA], "code >= alphabet in row %llu [K-4]",
                                (unsigned long long)r);
            break;
        }
        for (c = 0; c < in->cols; c++) e += row[c] == p->Q - 1;
    }
    if (!rc) {
        p->raw_row_esc[in->rows] = (uint32_t)e;
        if (e != in->escape_count)
            rc = ecqf_set_error(err, ECQF_ERR_BAD_ESCAPES, in->part_offset[ECQF_PART_ESCAPES],
                                "%llu escape codes but %llu escape values [E-2]", (unsigned long long)e,
                                (unsigned long long)in->escape_count);
    }
    ecqf_free(a, row);
    return rc;
}

int ecqf_kernel_plan_create(const ecqf_tensor_info *info, const ecqf_kernel_options *opts,
                            ecqf_kernel_plan **out, ecqf_error *err) {
    ecqf_kernel_plan *p = NULL;
    const ecqf_allocator *a = opts && opts->struct_size >= sizeof *opts ? opts->allocator : NULL;
    int backend = opts && opts->struct_size >= sizeof *opts ? opts->backend : ECQF_KERNEL_AUTO;
    const ecqf_tensor_info *in;
    unsigned A = 0, s;
    uint64_t t;
    int rc = ECQF_OK;
    if (!info || !out) return ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "NULL argument");
    *out = NULL;
    p = ecqf_alloc(a, sizeof *p);
    if (!p) return ecqf_set_error(err, ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
    memset(p, 0, sizeof *p);
    if (a) {
        p->alloc = *a;
        p->has_alloc = 1;
    }
    p->info = *info;
    in = &p->info;
    /* backend */
    if (backend < ECQF_KERNEL_AUTO || backend > ECQF_KERNEL_AVX512) backend = ECQF_KERNEL_AUTO;
    if (backend == ECQF_KERNEL_AUTO) backend = ecqf_kernel_backend_best();
    while (!ecqf_kernel_backend_supported(backend)) backend--;
    p->backend = backend;

    /* what the kernels serve */
    if (in->coding == ECQF_CODING_ZSTD)
        FAIL(ECQF_ERR_UNSUPPORTED, "'%.*s': ZSTD coding is storage only; kernels decode RAW, RANS and PREFIX",
             (int)in->name_length, in->name);
    if (in->coding != ECQF_CODING_RAW && in->coding != ECQF_CODING_RANS && in->coding != ECQF_CODING_PREFIX)
        FAIL(ECQF_ERR_BAD_CODING, "unknown coding %d", in->coding);
    if (in->scheme == ECQF_SCHEME_NONE) {
        if (in->coding != ECQF_CODING_RAW) FAIL(ECQF_ERR_BAD_CODING, "scheme NONE needs RAW here");
        if (in->dtype != ECQF_DTYPE_F32 && in->dtype != ECQF_DTYPE_F16 && in->dtype != ECQF_DTYPE_BF16)
            FAIL(ECQF_ERR_BAD_DTYPE, "dtype %d", in->dtype);
    } else if (in->scheme != ECQF_SCHEME_AFFINE && in->scheme != ECQF_SCHEME_SYMMETRIC &&
               in->scheme != ECQF_SCHEME_ECSQ) {
        FAIL(ECQF_ERR_BAD_SCHEME, "unknown scheme %d", in->scheme);
    }
    if (in->rows > UINT32_MAX || in->cols > UINT32_MAX)
        FAIL(ECQF_ERR_LIMIT, "matrix view %llux%llu exceeds the kernels' 2^32 rows or columns",
             (unsigned long long)in->rows, (unsigned long long)in->cols);

    /* the portable body's view */
    p->kb.rows = in->rows;
    p->kb.cols = in->cols;
    p->kb.scheme = (uint32_t)in->scheme;
    p->kb.coding = (uint32_t)in->coding;
    p->kb.escape_code = ECQF_KB_NO_ESCAPE;
    p->Q = in->alphabet;
    p->T = p->TR = p->TC = 1;
    p->groups = 1;
    p->group_size = (unsigned)(in->cols ? in->cols : 1);
    if (in->scheme == ECQF_SCHEME_AFFINE || in->scheme == ECQF_SCHEME_SYMMETRIC) {
        if (in->group_size == 0 || in->cols % in->group_size)
            FAIL(ECQF_ERR_BAD_SCHEME, "cols not a multiple of the group size [S-5]");
        p->group_size = in->group_size;
        p->groups = in->cols / in->group_size;
        p->kb.param_dtype = (uint32_t)in->param_dtype;
        p->kb.group_size = in->group_size;
        p->kb.groups = p->groups;
        p->kb.bits = in->bits;
        if (in->scheme == ECQF_SCHEME_SYMMETRIC) p->off = (float)(1u << (in->bits - 1));
    } else if (in->scheme == ECQF_SCHEME_ECSQ) {
        p->kb.zero_code = in->zero_code;
        p->kb.per_row = (in->ecsq_flags & ECQF_ECSQ_PER_ROW) ? 1u : 0u;
        p->kb.group_size = p->group_size;
        p->kb.groups = 1;
        p->off = (float)in->zero_code;
        p->has_esc = (in->ecsq_flags & ECQF_ECSQ_HAS_ESCAPE) != 0;
        if (p->has_esc) p->kb.escape_code = p->Q - 1;
    }
    if (in->coding == ECQF_CODING_RAW) p->kb.bits = in->code_width;
    p->max_tile = in->rows * in->cols;
    p->bytes = in->part_size[ECQF_PART_DATA] + in->part_size[ECQF_PART_PARAMS] + in->part_size[ECQF_PART_TABLE] +
               in->part_size[ECQF_PART_TILE_INDEX] + in->part_size[ECQF_PART_ESCAPES];

    if (in->coding == ECQF_CODING_RANS || in->coding == ECQF_CODING_PREFIX) {
        const uint8_t *ti = in->part[ECQF_PART_TILE_INDEX];
        uint64_t prev = 0;
        p->tiling.rows = in->rows;
        p->tiling.cols = in->cols;
        p->tiling.lanes = in->lanes;
        p->tiling.pack = in->pack;
        p->tiling.stripe_rows = in->stripe_rows;
        p->tiling.tile_rows = in->tile_rows;
        p->tiling.tile_cols = in->tile_cols;
        p->T = ecqf_tiling_count(&p->tiling);
        if (p->T == UINT64_MAX || p->T != in->tile_count || in->lanes > ECQF_KB_MAX_LANES || in->tile_rows == 0 ||
            in->tile_cols == 0)
            FAIL(ECQF_ERR_BAD_CODING, "inconsistent tiling");
        p->TC = (in->cols + in->tile_cols - 1) / in->tile_cols;
        p->TR = p->TC ? p->T / p->TC : 0;
        p->max_tile = (uint64_t)(in->tile_rows < in->rows ? in->tile_rows : in->rows) *
                      (in->tile_cols < in->cols ? in->tile_cols : in->cols);
        p->kb.lanes = in->lanes;
        p->kb.pack = in->pack;
        p->kb.stripe = in->stripe_rows;
        p->kb.precision = in->precision;
        p->kb.max_length = in->max_length;
        p->kb.tile_rows = in->tile_rows;
        p->kb.tile_cols = in->tile_cols;
        A = in->pack == 2 ? 256u : p->Q;
        if (in->pack == 2 && p->Q > 16) FAIL(ECQF_ERR_BAD_CODING, "pack 2 with alphabet > 16 [K-8]");
        if (!in->part[ECQF_PART_TABLE] || in->part_size[ECQF_PART_TABLE] < (in->coding == ECQF_CODING_RANS ? 2u * A : A))
            FAIL(ECQF_ERR_BAD_LAYOUT, "table part too small");
        /* tile index ([G-3], 9.4): the body addresses a tile with 32-bit sizes */
        if (!ti || in->part_size[ECQF_PART_TILE_INDEX] != 8 * (p->T + 1) || ecqf_rd64(ti) != 0 ||
            ecqf_rd64(ti + 8 * p->T) != in->part_size[ECQF_PART_DATA])
            FAIL(ECQF_ERR_BAD_TILE_INDEX, "bad tile index");
        for (t = 1; t <= p->T; t++) {
            uint64_t o = ecqf_rd64(ti + 8 * t);
            if (o < prev || (o - prev) % 4 != 0 || o - prev > UINT32_MAX)
                FAIL(ECQF_ERR_BAD_TILE_INDEX, "bad tile index at tile %llu [G-3]", (unsigned long long)(t - 1));
            prev = o;
        }
        if (in->coding == ECQF_CODING_RANS) {
            uint16_t freq[256];
            uint32_t M = 1u << in->precision, v;
            for (s = 0; s < A; s++) {
                freq[s] = ecqf_rd16(in->part[ECQF_PART_TABLE] + 2 * s);
                if (in->pack == 2 && freq[s] && ((s & 15) >= p->Q || (s >> 4) >= p->Q))
                    FAIL(ECQF_ERR_BAD_TABLE, "frequency of an impossible pair [R-3]");
            }
            p->rt = ecqf_alloc(a, sizeof *p->rt);
            if (!p->rt) FAIL(ECQF_ERR_NOMEM, "out of memory");
            rc = ecqf_rans_table_init(p->rt, freq, A, in->precision);
            if (rc) FAIL(rc, "invalid rANS table");
            rc = ecqf_fast_rans_create(p->rt, a, &p->fr);
            if (rc) FAIL(rc, "out of memory");
            p->dtab = ecqf_alloc(a, (size_t)M * sizeof(uint32_t));
            p->dsym = ecqf_alloc(a, M);
            if (!p->dtab || !p->dsym) FAIL(ECQF_ERR_NOMEM, "out of memory");
            for (v = 0; v < M; v++) {
                unsigned sy = p->rt->slot_symbol[v];
                p->dtab[v] = ((uint32_t)p->rt->freq[sy] << 16) | (v - p->rt->cum[sy]);
                p->dsym[v] = (uint8_t)sy;
            }
        } else {
            uint32_t n = 1u << in->max_length, i;
            for (s = 0; s < A; s++)
                if (in->pack == 2 && in->part[ECQF_PART_TABLE][s] && ((s & 15) >= p->Q || (s >> 4) >= p->Q))
                    FAIL(ECQF_ERR_BAD_TABLE, "length of an impossible pair [P-3]");
            p->pt = ecqf_alloc(a, sizeof *p->pt);
            if (!p->pt) FAIL(ECQF_ERR_NOMEM, "out of memory");
            rc = ecqf_prefix_table_init(p->pt, in->part[ECQF_PART_TABLE], A, in->max_length);
            if (rc) FAIL(rc, "invalid prefix table");
            rc = ecqf_fast_prefix_create(p->pt, a, &p->fp);
            if (rc) FAIL(rc, "out of memory");
            p->dtab = ecqf_alloc(a, (size_t)n * sizeof(uint32_t));
            if (!p->dtab) FAIL(ECQF_ERR_NOMEM, "out of memory");
            for (i = 0; i < n; i++)
                p->dtab[i] = p->pt->lut_length[i] ? (uint32_t)p->pt->lut_symbol[i] | ((uint32_t)p->pt->lut_length[i] << 8) : 0;
        }
    } else if (in->scheme != ECQF_SCHEME_NONE && in->numel) {
        /* RAW: the whole data part, and [K-3] the unused high bits of the last byte */
        uint64_t bits = in->numel * in->code_width;
        if (in->part_size[ECQF_PART_DATA] != (bits + 7) / 8) FAIL(ECQF_ERR_BAD_LAYOUT, "RAW data size");
        if (bits % 8 && (in->part[ECQF_PART_DATA][bits / 8] >> (bits % 8)))
            FAIL(ECQF_ERR_NONZERO_PADDING, "nonzero unused bits in the last RAW byte [K-3]");
    } else if (in->scheme == ECQF_SCHEME_NONE && in->part_size[ECQF_PART_DATA] != in->numel * ecqf_dtype_size(in->dtype)) {
        FAIL(ECQF_ERR_BAD_LAYOUT, "NONE data size");
    }

    /* escapes ([E-1], [E-3]) */
    if (p->has_esc) {
        const uint8_t *es = in->part[ECQF_PART_ESCAPES];
        uint64_t n = in->escape_count, prev = 0, i;
        int64_t lo = -(int64_t)in->zero_code, hi = (int64_t)p->Q - 2 - (int64_t)in->zero_code;
        if (!es || in->part_size[ECQF_PART_ESCAPES] != 4 * (p->T + 1) + 4 * n || ecqf_rd32(es) != 0 ||
            ecqf_rd32(es + 4 * p->T) != n)
            FAIL(ECQF_ERR_BAD_ESCAPES, "bad escape index [E-1]");
        for (t = 1; t <= p->T; t++) {
            uint64_t v = ecqf_rd32(es + 4 * t);
            if (v < prev) FAIL(ECQF_ERR_BAD_ESCAPES, "escape index decreases [E-1]");
            prev = v;
        }
        for (i = 0; i < n; i++) {
            int64_t k = (int32_t)ecqf_rd32(es + 4 * (p->T + 1) + 4 * i);
            if ((k >= lo && k <= hi) || k <= -(1 << 24) || k >= (1 << 24))
                FAIL(ECQF_ERR_BAD_ESCAPES, "escape value %lld [E-3]", (long long)k);
        }
        if (in->coding == ECQF_CODING_RAW) {
            rc = raw_escape_rows(p, err);
            if (rc) goto fail;
        }
    }
    /* params: the sizes the kernels index */
    if (in->numel && in->scheme != ECQF_SCHEME_NONE) {
        uint64_t need;
        if (in->scheme == ECQF_SCHEME_ECSQ) need = 4 * (p->kb.per_row ? in->rows : 1);
        else need = (in->scheme == ECQF_SCHEME_AFFINE ? 2 : 1) * in->rows * p->groups * ecqf_dtype_size(in->param_dtype);
        if (!in->part[ECQF_PART_PARAMS] || in->part_size[ECQF_PART_PARAMS] < need)
            FAIL(ECQF_ERR_BAD_LAYOUT, "params part too small");
    }
    *out = p;
    return ECQF_OK;
fail:
    ecqf_kernel_plan_free(p);
    return rc;
}

/* ---- thread pool ---------------------------------------------------------------------- */

struct ecqf_kernel_pool {
    unsigned n;
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long gen;
    unsigned running;
    int quit;
    kern_job *job;
    kern_item_fn fn;
    kern_scratch *scr;
};

typedef struct worker_arg {
    ecqf_kernel_pool *pool;
    unsigned id;
} worker_arg;

static void run_items(kern_job *j, kern_item_fn fn, kern_scratch *s) {
    for (;;) {
        uint64_t it = atomic_fetch_add(&j->next, 1);
        int rc;
        if (it >= j->nitems || atomic_load(&j->status) != ECQF_OK) break;
        rc = fn(j, it, s);
        if (rc != ECQF_OK) {
            int zero = ECQF_OK;
            atomic_compare_exchange_strong(&j->status, &zero, rc);
        }
    }
}

static void *worker_main(void *arg) {
    ecqf_kernel_pool *pool = ((worker_arg *)arg)->pool;
    unsigned id = ((worker_arg *)arg)->id;
    unsigned long seen = 0;
    free(arg);
    for (;;) {
        kern_job *j;
        kern_item_fn fn;
        pthread_mutex_lock(&pool->mu);
        while (!pool->quit && pool->gen == seen) pthread_cond_wait(&pool->go, &pool->mu);
        if (pool->quit) {
            pthread_mutex_unlock(&pool->mu);
            break;
        }
        seen = pool->gen;
        j = pool->job;
        fn = pool->fn;
        pthread_mutex_unlock(&pool->mu);
        run_items(j, fn, &pool->scr[id]);
        pthread_mutex_lock(&pool->mu);
        if (--pool->running == 0) pthread_cond_signal(&pool->done);
        pthread_mutex_unlock(&pool->mu);
    }
    return NULL;
}

int ecqf_kernel_pool_create(unsigned threads, ecqf_kernel_pool **out) {
    ecqf_kernel_pool *pool;
    unsigned i;
    if (!out || threads < 1 || threads > 1024) return ECQF_ERR_INVALID_ARGUMENT;
    *out = NULL;
    pool = calloc(1, sizeof *pool);
    if (!pool) return ECQF_ERR_NOMEM;
    pool->n = threads;
    pool->th = calloc(threads, sizeof *pool->th);
    pool->scr = calloc(threads, sizeof *pool->scr);
    if (!pool->th || !pool->scr) {
        free(pool->th);
        free(pool->scr);
        free(pool);
        return ECQF_ERR_NOMEM;
    }
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->go, NULL);
    pthread_cond_init(&pool->done, NULL);
    for (i = 1; i < threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa || (wa->pool = pool, wa->id = i, pthread_create(&pool->th[i], NULL, worker_main, wa) != 0)) {
            free(wa);
            pool->n = i; /* threads 1..i-1 exist */
            ecqf_kernel_pool_free(pool);
            return ECQF_ERR_NOMEM;
        }
    }
    *out = pool;
    return ECQF_OK;
}

void ecqf_kernel_pool_free(ecqf_kernel_pool *pool) {
    unsigned i;
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    pool->quit = 1;
    pthread_cond_broadcast(&pool->go);
    pthread_mutex_unlock(&pool->mu);
    for (i = 1; i < pool->n; i++) pthread_join(pool->th[i], NULL);
    for (i = 0; i < pool->n; i++) kern_scratch_free(&pool->scr[i]);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->go);
    pthread_cond_destroy(&pool->done);
    free(pool->th);
    free(pool->scr);
    free(pool);
}

unsigned ecqf_kernel_pool_threads(const ecqf_kernel_pool *pool) { return pool ? pool->n : 1; }

/* Scratch of threads that call without a pool: one per thread, kept between calls (a fresh
 * allocation per call costs page faults on every call), freed when the thread exits. */
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static void tls_free(void *p) {
    kern_scratch_free(p);
    free(p);
}
static void tls_init(void) {
    if (pthread_key_create(&tls_key, tls_free) != 0) tls_key = 0;
}
static kern_scratch *tls_scratch(void) {
    kern_scratch *s;
    pthread_once(&tls_once, tls_init);
    s = pthread_getspecific(tls_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (s && pthread_setspecific(tls_key, s) != 0) {
            free(s);
            s = NULL;
        }
    }
    return s;
}

/* Run a job on the pool (or the caller alone). Work below ~64K elements stays on the caller:
 * waking threads costs more than it saves. */
static int run_job(ecqf_kernel_pool *pool, kern_job *j, kern_item_fn fn) {
    uint64_t work = j->p->info.numel;
    if (!pool || pool->n == 1 || j->nitems < 2 || work < 65536) {
        kern_scratch local = {NULL, 0}, *s = pool ? &pool->scr[0] : tls_scratch();
        run_items(j, fn, s ? s : &local);
        kern_scratch_free(&local);
    } else {
        pthread_mutex_lock(&pool->mu);
        pool->job = j;
        pool->fn = fn;
        pool->running = pool->n - 1;
        pool->gen++;
        pthread_cond_broadcast(&pool->go);
        pthread_mutex_unlock(&pool->mu);
        run_items(j, fn, &pool->scr[0]);
        pthread_mutex_lock(&pool->mu);
        while (pool->running) pthread_cond_wait(&pool->done, &pool->mu);
        pthread_mutex_unlock(&pool->mu);
    }
    return atomic_load(&j->status);
}

/* ---- calls ---------------------------------------------------------------------------- */

static int is_tiled(const ecqf_kernel_plan *p) {
    return p->info.coding == ECQF_CODING_RANS || p->info.coding == ECQF_CODING_PREFIX;
}

static void job_init(kern_job *j, const ecqf_kernel_plan *p, int mode) {
    memset(j, 0, sizeof *j);
    j->p = p;
    j->mode = mode;
    if (is_tiled(p)) {
        j->per_item = p->backend == ECQF_KERNEL_SCALAR ? 1 : KERN_GROUP;
        j->nitems = (p->TR + j->per_item - 1) / j->per_item;
    } else {
        uint64_t cols = p->info.cols ? p->info.cols : 1;
        j->per_item = cols >= 4096 ? 4 : (16384 / cols + 3) / 4 * 4; /* multiples of 4 rows */
        j->nitems = (p->info.rows + j->per_item - 1) / j->per_item;
    }
    atomic_init(&j->next, 0);
    atomic_init(&j->status, ECQF_OK);
}

static int call_error(ecqf_error *err, int rc, const ecqf_kernel_plan *p) {
    const ecqf_tensor_info *in = &p->info;
    switch (rc) {
    case ECQF_ERR_CORRUPT_STREAM:
        return ecqf_set_error(err, rc, in->part_offset[ECQF_PART_DATA], "corrupt data in '%.*s'", (int)in->name_length,
                              in->name);
    case ECQF_ERR_NONZERO_PADDING:
        return ecqf_set_error(err, rc, in->part_offset[ECQF_PART_DATA], "nonzero padding in '%.*s'",
                              (int)in->name_length, in->name);
    case ECQF_ERR_BAD_ESCAPES:
        return ecqf_set_error(err, rc, in->part_offset[ECQF_PART_ESCAPES], "escape count mismatch in '%.*s' [E-2]",
                              (int)in->name_length, in->name);
    default: return ecqf_set_error(err, rc, ECQF_NO_OFFSET, "kernel failed on '%.*s'", (int)in->name_length, in->name);
    }
}

int ecqf_kernel_gemv(const ecqf_kernel_plan *p, ecqf_kernel_pool *pool, const float *x, float *y, ecqf_error *err) {
    kern_job j;
    float xs_local[256], *xsum = NULL, *xperm = NULL;
    int rc;
    if (!p || (!x && p->info.cols) || (!y && p->info.rows))
        return ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "NULL argument");
    if (p->info.rows == 0) return ECQF_OK;
    if (p->info.cols == 0) {
        memset(y, 0, (size_t)p->info.rows * sizeof *y);
        return ECQF_OK;
    }
    job_init(&j, p, KERN_MODE_GEMV);
    j.x = x;
    j.y = y;
    if (p->backend != ECQF_KERNEL_SCALAR && p->info.scheme == ECQF_SCHEME_AFFINE) {
        /* sums of x over each group, for the bias term of every row */
        uint64_t g, c;
        xsum = p->groups <= 256 ? xs_local : malloc((size_t)p->groups * sizeof *xsum);
        if (!xsum) return ecqf_set_error(err, ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
        for (g = 0; g < p->groups; g++) {
            float sacc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sum;
            const float *xg = x + g * p->group_size;
            for (c = 0; c + 8 <= p->group_size; c += 8)
                for (unsigned k = 0; k < 8; k++) sacc[k] += xg[c + k];
            sum = ((sacc[0] + sacc[4]) + (sacc[1] + sacc[5])) + ((sacc[2] + sacc[6]) + (sacc[3] + sacc[7]));
            for (; c < p->group_size; c++) sum += xg[c];
            xsum[g] = sum;
        }
        j.xsum = xsum;
    }
    if (p->backend != ECQF_KERNEL_SCALAR && p->info.scheme != ECQF_SCHEME_NONE) {
        if (p->info.coding == ECQF_CODING_RAW && p->info.code_width == 4 && p->info.cols % 64 == 0) {
            /* x in the order of the nibbles: per 32 bytes, the low nibbles of bytes 0..15 (even
             * columns 0..30), their high nibbles (odd columns), then the same for bytes 16..31 */
            uint64_t b, i;
            xperm = malloc((size_t)p->info.cols * sizeof *xperm);
            if (!xperm) {
                if (xsum && xsum != xs_local) free(xsum);
                return ecqf_set_error(err, ECQF_ERR_NOMEM, ECQF_NO_OFFSET, "out of memory");
            }
            for (b = 0; b < p->info.cols; b += 64)
                for (i = 0; i < 16; i++) {
                    xperm[b + i] = x[b + 2 * i];
                    xperm[b + 16 + i] = x[b + 2 * i + 1];
                    xperm[b + 32 + i] = x[b + 32 + 2 * i];
                    xperm[b + 48 + i] = x[b + 32 + 2 * i + 1];
                }
            j.xperm = xperm;
        }
    }
    rc = run_job(pool, &j, p->backend == ECQF_KERNEL_SCALAR ? kern_scalar_item : kern_simd_item);
    if (xsum && xsum != xs_local) free(xsum);
    free(xperm);
    return rc ? call_error(err, rc, p) : ECQF_OK;
}

int ecqf_kernel_decode(const ecqf_kernel_plan *p, ecqf_kernel_pool *pool, uint8_t *codes, uint64_t count,
                       ecqf_error *err) {
    kern_job j;
    int rc;
    if (!p) return ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "NULL plan");
    if (p->info.scheme == ECQF_SCHEME_NONE)
        return ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "scheme NONE has no codes");
    if (codes && count != p->info.numel)
        return ecqf_set_error(err, ECQF_ERR_INVALID_ARGUMENT, ECQF_NO_OFFSET, "count must equal numel");
    if (p->info.numel == 0) return ECQF_OK;
    job_init(&j, p, KERN_MODE_DECODE);
    j.codes = codes;
    /* decoding is the library's fast decoder for every backend; the scalar backend uses its
     * scalar path */
    rc = run_job(pool, &j, kern_simd_item);
    return rc ? call_error(err, rc, p) : ECQF_OK;
}
