/*
 * ecqf-conformance-gen.c — regenerates every ECQF conformance vector and the manifest.
 *
 *     ecqf-conformance-gen OUTDIR        write OUTDIR/manifest.json and OUTDIR/vectors/{valid,invalid}/
 *     ecqf-conformance-gen --list        the files it writes, one per line (relative to OUTDIR)
 *     ecqf-conformance-gen --list-zstd   the vectors whose bytes depend on libzstd's compressor
 *     ecqf-conformance-gen --zstd-version
 *
 * How a vector is made (see conformance/README.md):
 *  - A *base* (fspec) lists tensors by recipe (tspec: shape, scheme, coding, every coding
 *    parameter, a data recipe). The generator makes the data from fixed seeds, writes the file
 *    with libecqf's public writer API, reads it back, explodes it (gen-file.h) and checks with its
 *    own spec-level decoder that the stored codes are exactly the ones it asked for.
 *  - A *valid* vector is a base, possibly with a mutation that keeps it valid (a future minor
 *    version, an unknown optional feature bit, a hand-made zstd frame). Its expected hashes come
 *    from the recipe's data and the formulas of spec section 7, computed here.
 *  - An *invalid* vector is a base plus a mutation that tells exactly one lie. The mutation
 *    recomputes the header checksum and the blob checksums where the lie must get past them, so
 *    the lie is the only thing wrong with the file. Each case says the lie in words (its
 *    "description"), the clauses it tests, and the error name section 11 gives it.
 *
 * Everything is deterministic: seeds come from names, no clock, no environment. Only the bytes
 * of libzstd-compressed frames depend on the libzstd version (the manifest records it, and the
 * up-to-date check allows for it); hand-made frames do not.
 *
 * The case tables are the readable description of the suite: define_valid() and
 * define_invalid() below, one entry per vector.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-core.h"
#include "gen-data.h"
#include "gen-file.h"

/* ---- cases ------------------------------------------------------------------------------ */

typedef struct fspec {
    const char *key;      /* seeds the data; unique per base */
    uint32_t align;       /* 0: 64 */
    int meta;             /* META_* */
    unsigned nt;
    const tspec *t;
} fspec;

enum { META_NONE = 0, META_SMALL, META_ALL };

struct mctx;
typedef void (*mutfn)(struct mctx *m);

typedef struct vcase {
    const char *id;
    const fspec *base;
    mutfn mut;             /* NULL: the base as written */
    uint64_t a, b, c, d;   /* mutation parameters */
    const char *clauses;   /* tags tested, space separated */
    const char *desc;      /* valid: what it tests; invalid: the lie the file tells */
    const char *error;     /* NULL: valid; else the section 11 name expected */
    const char *also;      /* another name the spec allows (a spec gap, see note) */
    const char *note;      /* spec gap or remark */
    const char *s, *s2;    /* mutation parameters: a name or key, replacement bytes */
} vcase;

#define MAX_CASES 1024
static vcase cases[MAX_CASES];
static unsigned ncases;
static void add(vcase c) {
    if (ncases == MAX_CASES) die("too many cases");
    for (unsigned i = 0; i < ncases; i++)
        if (!strcmp(cases[i].id, c.id)) die("duplicate case id %s", c.id);
    cases[ncases++] = c;
}

/* ---- building a base: writer API, read back, check -------------------------------------- */

typedef struct built {
    const fspec *f;
    bytes file;
    xfile x;
    tdata td[MAX_TENSORS];
    unsigned nt;
} built;

static const char *outdir;
static built *cache[256];
static unsigned ncache;

static void read_file(const char *path, bytes *b) {
    FILE *f = fopen(path, "rb");
    uint8_t buf[65536];
    size_t n;
    if (!f) die("cannot open %s: %s", path, strerror(errno));
    b->n = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) b_put(b, buf, n);
    if (ferror(f)) die("cannot read %s", path);
    fclose(f);
}
static void write_file(const char *path, const bytes *b) {
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot create %s: %s", path, strerror(errno));
    if ((b->n && fwrite(b->p, 1, b->n, f) != b->n) || fclose(f)) die("cannot write %s", path);
}

static void add_metadata(ecqf_writer *w, int which) {
    ecqf_error err;
#define M(key, type, ptr, len) \
    if (ecqf_writer_add_metadata(w, key, type, ptr, len, &err)) die("metadata %s: %s", key, err.message)
    if (which == META_SMALL) {
        M("ecqf.writer", ECQF_META_STRING, "ecqf-conformance-gen", 20);
        M("model.architecture", ECQF_META_STRING, "conformance-test", 16);
    } else if (which == META_ALL) {
        static char longkey[257];
        uint8_t u[8], one = 1, zero = 0;
        static const uint8_t bin[] = {0, 1, 2, 0xFF, 0xC0, 0x80, 0};
        static const char utf8[] = "\xD0\xB7\xD0\xBD\xD0\xB0\xD1\x87\xD0\xB5\xD0\xBD\xD0\xB8\xD0\xB5 \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
        for (int i = 0; i < 256; i++) longkey[i] = (char)('k' + i % 3);
        longkey[256] = 0;
        M("a", ECQF_META_BOOL, &one, 1);
        M("ab", ECQF_META_U64, (wr64(u, UINT64_MAX), u), 8);
        M("abc", ECQF_META_I64, (wr64(u, (uint64_t)INT64_MIN), u), 8);
        M("b", ECQF_META_BOOL, &zero, 1);
        M("bytes", ECQF_META_BYTES, bin, sizeof bin);
        M("bytes.empty", ECQF_META_BYTES, "", 0);
        M("f64", ECQF_META_F64, (wr64(u, 0x3FF8000000000000ull), u), 8);
        M("f64.nan", ECQF_META_F64, (wr64(u, 0x7FF8000000000123ull), u), 8);
        M("f64.neg-zero", ECQF_META_F64, (wr64(u, 0x8000000000000000ull), u), 8);
        M("i64", ECQF_META_I64, (wr64(u, (uint64_t)-5), u), 8);
        M(longkey, ECQF_META_STRING, "256-byte key", 12);
        M("string", ECQF_META_STRING, "conformance", 11);
        M("string.empty", ECQF_META_STRING, "", 0);
        M("utf8.\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87", ECQF_META_STRING, utf8, sizeof utf8 - 1);
        M("\xF4\x8F\xBF\xBF", ECQF_META_U64, (wr64(u, 0), u), 8);
    }
#undef M
}

static int tiled(int coding) { return coding == RANS || coding == PFX; }

/* Compare what the writer stored with what the recipe asked for, using the spec decoder. */
static void check_written(built *b) {
    for (unsigned i = 0; i < b->nt; i++) {
        const tspec *s = &b->f->t[i];
        const tdata *td = &b->td[i];
        xtensor *t = &b->x.t[i];
        tinfo ti = entry_info(&t->entry);
        decoded dd;
        int want_coding = td->numel ? s->coding : RAW;
        if (ti.coding != want_coding) die("tensor %u: writer chose coding %d, not %d", i, ti.coding, want_coding);
        if (tiled(ti.coding) && (ti.W != s->lanes || ti.pack != s->pack || ti.S != s->stripe || ti.tile_rows != s->trows ||
                                 ti.tile_cols != s->tcols || (s->coding == RANS ? ti.prec != s->prec : ti.maxlen != s->maxlen)))
            die("tensor %u: writer did not keep the coding parameters", i);
        if (spec_decode(t, &dd)) die("tensor %u: spec decoder rejects the writer's output: %s [%s] tile %llu", i,
                                     ecqf_status_name(dd.status), dd.clause, (unsigned long long)dd.tile);
        if (td->numel) {
            if (s->scheme == NONE) {
                if (memcmp(dd.codes, td->values, (size_t)td->numel * dtype_size(s->dtype))) die("tensor %u: stored values differ", i);
            } else {
                if (memcmp(dd.codes, td->codes, (size_t)td->numel)) die("tensor %u: stored codes differ from the recipe", i);
                if (s->scheme == ECSQ && memcmp(dd.ints, td->ints, (size_t)td->numel * 4)) die("tensor %u: escapes differ", i);
            }
            if (t->part[PART_PARAMS].n != td->psize || (td->psize && memcmp(t->part[PART_PARAMS].p, td->params, td->psize)))
                die("tensor %u: params differ", i);
        }
        decoded_free(&dd);
    }
}

static built *get_base(const fspec *f) {
    built *b;
    char *tmp;
    ecqf_writer *w;
    ecqf_writer_options wo;
    ecqf_error err;
    for (unsigned i = 0; i < ncache; i++)
        if (cache[i]->f == f) return cache[i];
    if (ncache == sizeof cache / sizeof cache[0]) die("too many bases");
    b = xcalloc(1, sizeof *b);
    b->f = f;
    b->nt = f->nt;
    tmp = xsprintf("%s/.ecqf-conformance-gen.tmp", outdir);
    memset(&wo, 0, sizeof wo);
    wo.struct_size = sizeof wo;
    wo.alignment = f->align ? f->align : 64;
    wo.flags = ECQF_WRITE_OVERWRITE;
    if (ecqf_writer_create(&w, tmp, &wo, &err)) die("writer: %s", err.message);
    add_metadata(w, f->meta);
    for (unsigned i = 0; i < f->nt; i++) {
        tdata_make(&f->t[i], f->key, &b->td[i]);
        tdata_expect(&b->td[i]);
        if (ecqf_writer_add_tensor(w, &b->td[i].d, &err)) die("writer: tensor %u: %s", i, err.message);
    }
    if (ecqf_writer_finish(w, &err)) die("writer: %s", err.message);
    read_file(tmp, &b->file);
    unlink(tmp);
    free(tmp);
    xfile_explode(&b->file, &b->x);
    check_written(b);
    cache[ncache++] = b;
    return b;
}

/* ---- mutations ---------------------------------------------------------------------------- */

typedef struct mctx {
    const vcase *c;
    const built *base;
    xfile x;          /* the base, exploded: edit it and serialize, or edit out */
    bytes out;
    int out_set;
} mctx;

static void ser(mctx *m) {
    xfile_serialize(&m->x, &m->out);
    m->out_set = 1;
}
static xtensor *T(mctx *m, uint64_t i) {
    if (i >= m->x.nt) die("mutation: no tensor %llu", (unsigned long long)i);
    return &m->x.t[i];
}
static uint8_t *E(mctx *m, uint64_t i) { return T(m, i)->entry.p; }
static eoff EO(mctx *m, uint64_t i) { return entry_offsets(E(m, i)); }
static tinfo TI(mctx *m, uint64_t i) { return entry_info(&T(m, i)->entry); }
static void put(uint8_t *p, unsigned size, uint64_t v) {
    if (size == 1) p[0] = (uint8_t)v;
    else if (size == 2) wr16(p, (uint16_t)v);
    else if (size == 4) wr32(p, (uint32_t)v);
    else wr64(p, v);
}

/* Set a header field: a = offset, b = size, c = value; the header is re-signed. */
static void mut_header_field(mctx *m) {
    ser(m);
    put(m->out.p + m->c->a, (unsigned)m->c->b, m->c->c);
    resign_header(&m->out);
}

#include "gen-mutations.h"
#include "gen-cases.h"

/* ---- manifest ------------------------------------------------------------------------------ */

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* Section of the spec a clause tag lives in. */
static const char *clause_section(const char *tag) {
    int n = atoi(tag + 2);
    switch (tag[0]) {
    case 'C': return "1";
    case 'L': return "2";
    case 'H': return "3";
    case 'F': return "3.1";
    case 'D': return "4";
    case 'M': return "5";
    case 'T': return n == 5 ? "6.1" : "6";
    case 'B': return "6.2";
    case 'S': return n <= 2 ? "7" : n == 3 ? "7.0" : n <= 5 ? "7.1" : n == 6 ? "7.2" : "7.3";
    case 'E': return "7.3.1";
    case 'K': return n <= 2 ? "8" : n <= 4 ? "8.1" : n == 5 ? "8.2" : "8.3";
    case 'R': return n <= 3 ? "8.4" : "9.5";
    case 'P': return n <= 4 ? "8.5" : "9.6";
    case 'G': return n == 1 ? "9.1" : n == 2 ? "9.3" : n == 3 ? "9.4" : "9.7";
    default: die("unknown clause tag %s", tag);
    }
}

static int section_less(const char *a, const char *b) {
    while (*a && *b) {
        char *ea, *eb;
        long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
        if (x != y) return x < y;
        a = *ea == '.' ? ea + 1 : ea;
        b = *eb == '.' ? eb + 1 : eb;
    }
    return !*a && *b;
}

static void json_clauses(FILE *f, const char *clauses) {
    char buf[512], *tok, *save = NULL;
    const char *secs[64];
    unsigned ns = 0;
    int first = 1;
    snprintf(buf, sizeof buf, "%s", clauses);
    fputs("      \"clauses\": [", f);
    for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        const char *s = clause_section(tok);
        unsigned k;
        fprintf(f, "%s\"%s\"", first ? "" : ", ", tok);
        first = 0;
        for (k = 0; k < ns && strcmp(secs[k], s); k++) {}
        if (k == ns && ns < 64) secs[ns++] = s;
    }
    for (unsigned i = 1; i < ns; i++) /* natural order: "2" < "6" < "6.2" < "7.3.1" < "9.5" */
        for (unsigned k = i; k > 0 && section_less(secs[k], secs[k - 1]); k--) {
            const char *t = secs[k];
            secs[k] = secs[k - 1];
            secs[k - 1] = t;
        }
    fputs("],\n      \"sections\": [", f);
    for (unsigned k = 0; k < ns; k++) fprintf(f, "%s\"%s\"", k ? ", " : "", secs[k]);
    fputs("],\n", f);
}

static void manifest_entry(FILE *f, const vcase *c, const built *b, const xfile *x, int zstd_dep, int last) {
    fputs("    {\n      \"id\": ", f);
    json_str(f, c->id);
    fprintf(f, ",\n      \"file\": \"%s/%s.ecqf\",\n", c->error ? "invalid" : "valid", c->id);
    json_clauses(f, c->clauses);
    fputs("      \"description\": ", f);
    json_str(f, c->desc);
    fputs(",\n", f);
    if (c->note) {
        fputs("      \"note\": ", f);
        json_str(f, c->note);
        fputs(",\n", f);
    }
    if (zstd_dep) fputs("      \"zstd_dependent\": true,\n", f);
    if (c->error) {
        fprintf(f, "      \"expect\": \"error\",\n      \"error\": \"%s\"", c->error);
        if (c->also) fprintf(f, ",\n      \"also_accepted\": [\"%s\"]", c->also);
        fputs("\n", f);
    } else {
        fputs("      \"expect\": \"ok\",\n      \"tensors\": [", f);
        for (unsigned i = 0; i < b->nt; i++) {
            const tdata *td = &b->td[i];
            char hc[65], hv[65];
            tinfo ti = entry_info(&x->t[i].entry);
            hex32(td->hcodes, hc);
            hex32(td->hvalues, hv);
            fprintf(f, "%s\n        {\"name\": ", i ? "," : "");
            json_str(f, td->name);
            fprintf(f, ", \"scheme\": \"%s\", \"coding\": \"%s\", \"dtype\": \"%s\", \"dims\": [",
                    ecqf_scheme_name(td->d.scheme), ecqf_coding_name(ti.coding), dtype_str(td->d.dtype));
            for (unsigned k = 0; k < ti.ndim; k++) fprintf(f, "%s%llu", k ? ", " : "", (unsigned long long)ti.dims[k]);
            fprintf(f, "],\n         \"codes\": \"%s\",\n         \"values\": \"%s\"}", hc, hv);
        }
        fputs(b->nt ? "\n      ]\n" : "]\n", f);
    }
    fprintf(f, "    }%s\n", last ? "" : ",");
}

/* Whether a base's bytes depend on libzstd's compressor (a ZSTD tensor with elements). */
static int zstd_dependent(const fspec *f) {
    for (unsigned i = 0; i < f->nt; i++) {
        uint64_t n = 1;
        for (unsigned k = 0; k < f->t[i].ndim; k++) n *= f->t[i].dims[k];
        if (f->t[i].coding == ZSTD && n) return 1;
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void make_dir(const char *p) {
    if (mkdir(p, 0777) && errno != EEXIST) die("cannot create %s: %s", p, strerror(errno));
}

int main(int argc, char **argv) {
    FILE *mf;
    char *path;
    if (argc != 2) {
        fprintf(stderr, "usage: ecqf-conformance-gen OUTDIR | --list | --list-zstd | --zstd-version\n");
        return 2;
    }
    define_valid();
    define_invalid();
    if (!strcmp(argv[1], "--zstd-version")) {
        printf("%s\n", ZSTD_versionString());
        return 0;
    }
    if (!strcmp(argv[1], "--list-zstd")) {
        for (unsigned i = 0; i < ncases; i++)
            if (zstd_dependent(cases[i].base)) printf("vectors/%s/%s.ecqf\n", cases[i].error ? "invalid" : "valid", cases[i].id);
        return 0;
    }
    if (!strcmp(argv[1], "--list")) {
        printf("manifest.json\n");
        for (unsigned i = 0; i < ncases; i++)
            printf("vectors/%s/%s.ecqf\n", cases[i].error ? "invalid" : "valid", cases[i].id);
        return 0;
    }
    outdir = argv[1];
    make_dir(outdir);
    path = xsprintf("%s/vectors", outdir);
    make_dir(path);
    free(path);
    path = xsprintf("%s/vectors/valid", outdir);
    make_dir(path);
    free(path);
    path = xsprintf("%s/vectors/invalid", outdir);
    make_dir(path);
    free(path);
    path = xsprintf("%s/manifest.json", outdir);
    mf = fopen(path, "w");
    if (!mf) die("cannot create %s", path);
    free(path);
    fprintf(mf, "{\n  \"format\": \"ecqf-conformance-manifest/1\",\n"
                "  \"spec\": \"ECQF 0.1, spec/ecqf.md\",\n"
                "  \"generator\": {\"program\": \"conformance/gen/ecqf-conformance-gen\", \"libzstd\": \"%s\"},\n"
                "  \"hash\": \"BLAKE2b-256, unkeyed, lowercase hex\",\n"
                "  \"protocol\": \"READER FILE prints 'tensor <name> codes=<hex> values=<hex>' per tensor and exits 0,"
                " or prints 'error <ECQF_ERR_NAME> <message>' and exits non-zero; see conformance/README.md\",\n"
                "  \"vectors\": [\n",
            ZSTD_versionString());
    for (unsigned i = 0; i < ncases; i++) {
        const vcase *c = &cases[i];
        built *b;
        mctx m;
        const bytes *out;
        gen_current = c->id;
        b = get_base(c->base);
        memset(&m, 0, sizeof m);
        m.c = c;
        m.base = b;
        xfile_copy(&m.x, &b->x);
        if (c->mut) {
            c->mut(&m);
            if (!m.out_set) ser(&m);
            out = &m.out;
        } else
            out = &b->file;
        if (c->error && out->n == b->file.n && !memcmp(out->p, b->file.p, out->n)) die("the mutation changed nothing");
        path = xsprintf("%s/vectors/%s/%s.ecqf", outdir, c->error ? "invalid" : "valid", c->id);
        write_file(path, out);
        free(path);
        manifest_entry(mf, c, b, &m.x, zstd_dependent(c->base), i + 1 == ncases);
        xfile_free(&m.x);
        b_free(&m.out);
    }
    fputs("  ]\n}\n", mf);
    if (fclose(mf)) die("cannot write the manifest");
    return 0;
}
