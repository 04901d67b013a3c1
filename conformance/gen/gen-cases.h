/*
 * gen-cases.h — THE CASE TABLES: every conformance vector, in words.
 *
 * Part 1 (bases) lists the files the writer API builds: each tensor by recipe (tspec fields:
 * shape, scheme and its parameters, coding and every coding parameter, data recipe D_*).
 * Part 2 (define_valid) lists the valid vectors: a base, optionally a mutation that keeps the
 * file valid, the clauses tested and what the vector shows.
 * Part 3 (define_invalid) lists the invalid vectors: a base, the mutation (gen-mutations.h),
 * its parameters, the clauses, the error name of spec section 11, and the lie in words.
 *
 * Included once, by ecqf-conformance-gen.c.
 */

#define NARGS(...) NARGS_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define NARGS_(a1, a2, a3, a4, a5, a6, a7, a8, n, ...) n
#define DIMS(...) .ndim = NARGS(__VA_ARGS__), .dims = {__VA_ARGS__}
#define TILE(W, P, S, TR, TC) .lanes = W, .pack = P, .stripe = S, .trows = TR, .tcols = TC
#define BASE(var, align_, meta_, ...)                                                                   \
    static const fspec var = {#var, align_, meta_, sizeof((const tspec[]){__VA_ARGS__}) / sizeof(tspec), \
                              (const tspec[]){__VA_ARGS__}}

/* ======================================================================================== */
/* Part 1: bases                                                                             */
/* ======================================================================================== */

/* A file with no tensor and no metadata: header and a 16-byte directory. */
static const fspec fs_empty_file = {"fs_empty_file", 64, META_NONE, 0, NULL};

/* Header, layout and checksum lies start from this mixed file: metadata, five tensors of all
 * schemes (RAW, RANS with escapes, PREFIX, an empty one), padding after the header, between
 * blobs and before the directory. */
BASE(fs_mixed, 64, META_SMALL,
     {.name = "a.weight", DIMS(4, 32), .scheme = AFF, .bits = 4, .group = 32, .pdtype = F16, .dtype = F16, .coding = RAW},
     {.name = "b.bias", DIMS(5), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "c.weight", DIMS(6, 20), .scheme = ECSQ, .Q = 6, .z = 2, .eflags = ESC, .dtype = BF16, .coding = RANS, .prec = 11,
      TILE(4, 2, 2, 3, 20)},
     {.name = "d.empty", DIMS(0), .scheme = NONE, .dtype = F16, .coding = RAW},
     {.name = "e.weight", DIMS(2, 64), .scheme = SYM, .bits = 4, .group = 32, .pdtype = F16, .dtype = F32, .coding = PFX,
      .maxlen = 9, TILE(2, 1, 1, 2, 64)});

/* Blob checksum lies: four tensors whose every data byte is a valid value or code. */
BASE(fs_blobs, 64, META_NONE,
     {.name = "first", DIMS(8), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "middle", DIMS(1, 16), .scheme = AFF, .bits = 8, .group = 16, .pdtype = F32, .dtype = F32, .coding = RAW},
     {.name = "empty", DIMS(2, 0), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "last", DIMS(8), .scheme = NONE, .dtype = BF16, .coding = RAW});

BASE(fs_small, 64, META_SMALL,
     {.name = "w", DIMS(2, 16), .scheme = AFF, .bits = 3, .group = 16, .pdtype = F16, .dtype = F16, .coding = RAW},
     {.name = "v", DIMS(2, 3), .scheme = NONE, .dtype = F32, .coding = RAW});

BASE(fs_metadata, 64, META_ALL, {.name = "t", DIMS(2, 2), .scheme = NONE, .dtype = F32, .coding = RAW});

BASE(fs_zero_dim_none, 64, META_NONE,
     {.name = "rows0", DIMS(4, 0), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "vec0", DIMS(0), .scheme = NONE, .dtype = F16, .coding = RAW},
     {.name = "mid0", DIMS(3, 0, 2), .scheme = NONE, .dtype = BF16, .coding = RAW});

BASE(fs_zero_dim_quant, 64, META_NONE,
     {.name = "affine", DIMS(0, 64), .scheme = AFF, .bits = 4, .group = 32, .pdtype = F16, .dtype = F16, .coding = RAW},
     {.name = "symmetric", DIMS(5, 0), .scheme = SYM, .bits = 8, .group = 16, .pdtype = F32, .dtype = F32, .coding = RAW},
     {.name = "ecsq.rows", DIMS(3, 0), .scheme = ECSQ, .Q = 5, .z = 2, .eflags = ESC | ROW, .dtype = F32, .coding = RAW},
     {.name = "ecsq", DIMS(0), .scheme = ECSQ, .Q = 3, .z = 1, .eflags = ESC, .dtype = BF16, .coding = RAW});

BASE(fs_zero_dim_huge_cols, 64, META_NONE,
     {.name = "affine", DIMS(0, 1ull << 40), .scheme = AFF, .bits = 2, .group = 256, .pdtype = F32, .dtype = F32, .coding = RAW},
     {.name = "none", DIMS(0, 1ull << 47, 2), .scheme = NONE, .dtype = F16, .coding = RAW});

/* libecqf's writer refuses [2^25, 2^24, 0] (it bounds partial products), so the vector is this
 * base with its first two dimensions edited (mut_dims2). */
BASE(fs_zero_dim_huge_rows, 64, META_NONE,
     {.name = "none", DIMS(2, 3, 0), .scheme = NONE, .dtype = F32, .coding = RAW});

BASE(fs_scalar, 64, META_NONE,
     {.name = "none", .ndim = 0, .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "ecsq.raw", .ndim = 0, .scheme = ECSQ, .Q = 4, .z = 1, .eflags = ESC, .dtype = F32, .coding = RAW, .dist = D_CONST, .dp = 77},
     {.name = "ecsq.rans", .ndim = 0, .scheme = ECSQ, .Q = 9, .z = 4, .dtype = F32, .coding = RANS, .prec = 10, TILE(1, 1, 1, 1, 1),
      .dist = D_CONST, .dp = -3},
     {.name = "ecsq.prefix", .ndim = 0, .scheme = ECSQ, .Q = 9, .z = 4, .eflags = ROW, .dtype = F16, .coding = PFX, .maxlen = 4,
      TILE(2, 2, 1, 1, 1), .dist = D_CONST, .dp = 2});

BASE(fs_ndim8, 64, META_NONE,
     {.name = "affine.rans", DIMS(2, 1, 3, 1, 2, 1, 1, 32), .scheme = AFF, .bits = 4, .group = 16, .pdtype = BF16, .dtype = BF16,
      .coding = RANS, .prec = 12, TILE(8, 2, 2, 4, 32)},
     {.name = "ecsq.prefix", DIMS(1, 2, 1, 2, 1, 2, 1, 7), .scheme = ECSQ, .Q = 7, .z = 3, .eflags = ESC | ROW, .dtype = F32,
      .coding = PFX, .maxlen = 7, TILE(4, 1, 3, 5, 7)});

BASE(fs_name_max, 64, META_NONE,
     {.name = NULL, DIMS(2), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "x", DIMS(3), .scheme = NONE, .dtype = F16, .coding = RAW});

BASE(fs_utf8_names, 64, META_NONE,
     {.name = "layers.0.attention.wq.weight", DIMS(2), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "\xC3\xBCn\xC3\xAF" "c\xC3\xB8" "d\xC3\xA9", DIMS(2), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "emoji \xF0\x9F\x98\x80", DIMS(2), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "max \xF4\x8F\xBF\xBF", DIMS(2), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "nfc \xC3\xA9", DIMS(2), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "nfd e\xCC\x81", DIMS(2), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "\xEF\xBB\xBF" "bom", DIMS(2), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "1", DIMS(2), .scheme = NONE, .dtype = F32, .coding = RAW},
     {.name = "nel \xC2\x85 ls \xE2\x80\xA8 del-free", DIMS(2), .scheme = NONE, .dtype = F32, .coding = RAW});

/* Tile geometry: clipped tiles in both directions, stripes that do not divide the tile, odd
 * lane lengths with pack 2 (padding codes), 255-row stripes. */
BASE(fs_tiles_clipped, 64, META_NONE,
     {.name = "clipped.rans", DIMS(10, 25), .scheme = ECSQ, .Q = 13, .z = 6, .eflags = ESC, .dtype = F16, .coding = RANS, .prec = 12,
      TILE(4, 2, 2, 3, 10)},
     {.name = "clipped.prefix", DIMS(11, 30), .scheme = ECSQ, .Q = 16, .z = 7, .dtype = F16, .coding = PFX, .maxlen = 10,
      TILE(8, 2, 3, 4, 13)},
     {.name = "stripe255", DIMS(12, 32), .scheme = SYM, .bits = 5, .group = 16, .pdtype = F32, .dtype = F32,
      .coding = RANS, .prec = 13, TILE(8, 1, 255, 12, 32)});

BASE(fs_steps_special, 64, META_NONE,
     {.name = "steps", DIMS(4, 9), .scheme = ECSQ, .Q = 5, .z = 2, .eflags = ESC | ROW, .dtype = F32, .coding = RAW, .dist = D_SPECIAL});

BASE(fs_affine_extremes, 64, META_NONE,
     {.name = "extremes", DIMS(2, 32), .scheme = AFF, .bits = 8, .group = 16, .pdtype = F32, .dtype = F32, .coding = RAW,
      .dist = D_SPECIAL});

BASE(fs_none_special_f32, 64, META_NONE, {.name = "specials", DIMS(24), .scheme = NONE, .dtype = F32, .coding = RAW, .dist = D_SPECIAL});
BASE(fs_none_special_f16, 64, META_NONE, {.name = "specials", DIMS(24), .scheme = NONE, .dtype = F16, .coding = RAW, .dist = D_SPECIAL});
BASE(fs_none_special_bf16, 64, META_NONE, {.name = "specials", DIMS(24), .scheme = NONE, .dtype = BF16, .coding = ZSTD, .dist = D_SPECIAL});

BASE(fs_prefix_ml1, 64, META_NONE,
     {.name = "q2", DIMS(6, 21), .scheme = ECSQ, .Q = 2, .z = 1, .dtype = F32, .coding = PFX, .maxlen = 1, TILE(4, 1, 2, 6, 21), .dist = D_UNIFORM});
BASE(fs_prefix_ml12, 64, META_NONE,
     {.name = "q256", DIMS(16, 64), .scheme = ECSQ, .Q = 256, .z = 128, .dtype = F32, .coding = PFX, .maxlen = 12,
      TILE(16, 1, 4, 16, 64), .dist = D_SKEW});
BASE(fs_prefix_single, 64, META_NONE,
     {.name = "pack1", DIMS(3, 16), .scheme = AFF, .bits = 2, .group = 16, .pdtype = F16, .dtype = F16, .coding = PFX, .maxlen = 5,
      TILE(4, 1, 1, 3, 16), .dist = D_CONST, .dp = 1},
     {.name = "pack2", DIMS(3, 17), .scheme = ECSQ, .Q = 4, .z = 1, .dtype = F16, .coding = PFX, .maxlen = 1,
      TILE(2, 2, 2, 2, 9), .dist = D_CONST, .dp = 2});
BASE(fs_rans_single, 64, META_NONE,
     {.name = "pack1", DIMS(3, 16), .scheme = AFF, .bits = 2, .group = 16, .pdtype = F16, .dtype = F16, .coding = RANS, .prec = 10,
      TILE(4, 1, 1, 3, 16), .dist = D_CONST, .dp = 1},
     {.name = "pack2", DIMS(3, 17), .scheme = ECSQ, .Q = 4, .z = 1, .dtype = F16, .coding = RANS, .prec = 15,
      TILE(2, 2, 2, 2, 9), .dist = D_CONST, .dp = 2});

BASE(fs_alphabet1, 64, META_NONE,
     {.name = "raw", DIMS(3, 5), .scheme = ECSQ, .Q = 1, .z = 0, .dtype = F32, .coding = RAW},
     {.name = "rans", DIMS(3, 5), .scheme = ECSQ, .Q = 1, .z = 0, .dtype = F32, .coding = RANS, .prec = 10, TILE(2, 1, 1, 3, 5)},
     {.name = "prefix", DIMS(3, 5), .scheme = ECSQ, .Q = 1, .z = 0, .eflags = ROW, .dtype = F32, .coding = PFX, .maxlen = 1,
      TILE(2, 2, 1, 3, 5)});
BASE(fs_alphabet2, 64, META_NONE,
     {.name = "raw", DIMS(5, 13), .scheme = ECSQ, .Q = 2, .z = 1, .dtype = F32, .coding = RAW, .dist = D_UNIFORM},
     {.name = "rans", DIMS(5, 13), .scheme = ECSQ, .Q = 2, .z = 0, .dtype = F32, .coding = RANS, .prec = 12, TILE(4, 2, 2, 5, 13),
      .dist = D_UNIFORM},
     {.name = "prefix", DIMS(5, 13), .scheme = ECSQ, .Q = 2, .z = 1, .dtype = F32, .coding = PFX, .maxlen = 3, TILE(2, 1, 1, 5, 13),
      .dist = D_UNIFORM},
     {.name = "escape", DIMS(5, 13), .scheme = ECSQ, .Q = 2, .z = 0, .eflags = ESC, .dtype = F32, .coding = RANS, .prec = 11,
      TILE(4, 1, 2, 3, 13)});
BASE(fs_alphabet256, 64, META_NONE,
     {.name = "raw", DIMS(8, 64), .scheme = ECSQ, .Q = 256, .z = 128, .dtype = F32, .coding = RAW, .dist = D_UNIFORM},
     {.name = "rans", DIMS(8, 64), .scheme = ECSQ, .Q = 256, .z = 128, .dtype = F32, .coding = RANS, .prec = 12, TILE(8, 1, 2, 8, 64),
      .dist = D_UNIFORM},
     {.name = "prefix", DIMS(8, 64), .scheme = ECSQ, .Q = 256, .z = 128, .dtype = F32, .coding = PFX, .maxlen = 12,
      TILE(8, 1, 2, 8, 64), .dist = D_UNIFORM},
     {.name = "affine8", DIMS(8, 64), .scheme = AFF, .bits = 8, .group = 64, .pdtype = F16, .dtype = F16, .coding = RANS, .prec = 15,
      TILE(32, 1, 4, 8, 64), .dist = D_UNIFORM},
     {.name = "escape", DIMS(8, 64), .scheme = ECSQ, .Q = 256, .z = 127, .eflags = ESC, .dtype = F32, .coding = PFX, .maxlen = 12,
      TILE(4, 1, 1, 8, 64), .dist = D_EXTREME});

BASE(fs_escapes_extreme, 64, META_NONE,
     {.name = "raw", DIMS(4, 17), .scheme = ECSQ, .Q = 6, .z = 2, .eflags = ESC, .dtype = F32, .coding = RAW, .dist = D_EXTREME},
     {.name = "rans", DIMS(9, 22), .scheme = ECSQ, .Q = 6, .z = 3, .eflags = ESC | ROW, .dtype = F32, .coding = RANS, .prec = 12,
      TILE(4, 2, 2, 4, 9), .dist = D_EXTREME},
     {.name = "prefix", DIMS(7, 19), .scheme = ECSQ, .Q = 9, .z = 0, .eflags = ESC, .dtype = F32, .coding = PFX, .maxlen = 8,
      TILE(2, 1, 3, 4, 11), .dist = D_EXTREME},
     {.name = "zstd", DIMS(5, 21), .scheme = ECSQ, .Q = 6, .z = 4, .eflags = ESC, .dtype = F32, .coding = ZSTD, .dist = D_EXTREME});
BASE(fs_escapes_all, 64, META_NONE,
     {.name = "raw", DIMS(3, 7), .scheme = ECSQ, .Q = 2, .z = 0, .eflags = ESC, .dtype = F32, .coding = RAW, .dist = D_CONST, .dp = -9},
     {.name = "rans", DIMS(3, 7), .scheme = ECSQ, .Q = 2, .z = 0, .eflags = ESC, .dtype = F32, .coding = RANS, .prec = 13,
      TILE(2, 2, 2, 2, 4), .dist = D_CONST, .dp = 1},
     {.name = "prefix", DIMS(3, 7), .scheme = ECSQ, .Q = 3, .z = 1, .eflags = ESC | ROW, .dtype = F32, .coding = PFX, .maxlen = 2,
      TILE(2, 1, 1, 2, 4), .dist = D_CONST, .dp = 100});

BASE(fs_rans_prec10, 64, META_NONE,
     {.name = "p10", DIMS(8, 50), .scheme = ECSQ, .Q = 60, .z = 30, .dtype = F32, .coding = RANS, .prec = 10, TILE(8, 1, 2, 8, 50)});
BASE(fs_rans_prec15, 64, META_NONE,
     {.name = "p15", DIMS(8, 50), .scheme = ECSQ, .Q = 60, .z = 30, .eflags = ESC, .dtype = F32, .coding = RANS, .prec = 15,
      TILE(8, 1, 2, 8, 50)});

/* Prefix streams for crafted lies: one lane (the stream is the lane's bit string). */
BASE(fs_prefix_w1, 64, META_NONE,
     {.name = "w1", DIMS(3, 15), .scheme = ECSQ, .Q = 4, .z = 1, .dtype = F32, .coding = PFX, .maxlen = 6, TILE(1, 2, 2, 3, 15),
      .dist = D_UNIFORM},
     {.name = "w1p1", DIMS(5, 9), .scheme = ECSQ, .Q = 7, .z = 3, .dtype = F32, .coding = PFX, .maxlen = 8, TILE(1, 1, 1, 5, 9)});

/* ECSQ alphabet 16 in pack 2: turned into alphabet 40 by pack-2-alphabet-40. */
BASE(fs_pack2_q16, 64, META_NONE,
     {.name = "q16", DIMS(4, 16), .scheme = ECSQ, .Q = 16, .z = 8, .dtype = F32, .coding = RANS, .prec = 12, TILE(4, 2, 1, 4, 16)});

/* Wide tiles with idle lanes (tile narrower than W). */
BASE(fs_idle_lanes, 64, META_NONE,
     {.name = "rans64", DIMS(6, 37), .scheme = ECSQ, .Q = 20, .z = 10, .dtype = F32, .coding = RANS, .prec = 12, TILE(64, 1, 2, 3, 37)},
     {.name = "prefix64", DIMS(4, 5), .scheme = ECSQ, .Q = 14, .z = 7, .dtype = F32, .coding = PFX, .maxlen = 9, TILE(64, 2, 1, 4, 5)});

/* ======================================================================================== */
/* Generated bases: scheme x coding x dtype, alignments, lane counts                        */
/* ======================================================================================== */

static const fspec *mk_base(const char *key, uint32_t align, int meta, unsigned nt, const tspec *t) {
    fspec *f = xcalloc(1, sizeof *f);
    tspec *tc = xcalloc(nt, sizeof *tc);
    memcpy(tc, t, nt * sizeof *tc);
    f->key = xstrdup(key);
    f->align = align;
    f->meta = meta;
    f->nt = nt;
    f->t = tc;
    return f;
}

static const char *coding_word(int c) { return c == RAW ? "raw" : c == RANS ? "rans" : c == PFX ? "prefix" : "zstd"; }
static const char *coding_clauses(int c) {
    return c == RAW ? "K-1 K-3 K-4" : c == ZSTD ? "K-1 K-5" : c == RANS ? "K-6 K-7 K-8 K-9 K-10 R-2 R-5 R-7 R-8 G-3" :
                                                                "K-6 K-7 K-8 K-9 K-10 P-2 P-4 P-8 R-8 G-3";
}

/* The combination table of AFFINE and SYMMETRIC: per (scheme, coding, param dtype) the bits,
 * group, shape and tiling. Chosen so that together they use every bits value 2..8, every group
 * size, both packs, several lane counts and clipped tiles. */
typedef struct qcombo {
    int scheme, coding, pdtype, dtype;
    unsigned bits, group;
    uint64_t rows, cols;
    unsigned W, pack, S, tr, tc, pm; /* pm: precision (RANS) or max_length (PREFIX) */
    int dist;
} qcombo;
static const qcombo qcombos[] = {
    {AFF, RAW, F32, F32, 3, 16, 4, 48, 0, 0, 0, 0, 0, 0, D_DEFAULT},
    {AFF, RAW, F16, F16, 2, 32, 3, 64, 0, 0, 0, 0, 0, 0, D_UNIFORM},
    {AFF, RAW, BF16, BF16, 7, 64, 2, 128, 0, 0, 0, 0, 0, 0, D_DEFAULT},
    {AFF, RANS, F32, F16, 4, 32, 5, 64, 4, 2, 2, 3, 32, 11, D_DEFAULT},
    {AFF, RANS, F16, F16, 6, 16, 8, 64, 8, 1, 4, 8, 64, 12, D_DEFAULT},
    {AFF, RANS, BF16, BF16, 8, 256, 6, 256, 16, 1, 1, 4, 128, 14, D_DEFAULT},
    {AFF, PFX, F32, F32, 5, 64, 4, 64, 2, 1, 1, 2, 64, 9, D_DEFAULT},
    {AFF, PFX, F16, BF16, 4, 32, 4, 96, 32, 2, 3, 4, 96, 12, D_DEFAULT},
    {AFF, PFX, BF16, F32, 3, 16, 3, 32, 1, 2, 1, 3, 16, 6, D_DEFAULT},
    {AFF, ZSTD, F32, F32, 8, 128, 4, 128, 0, 0, 0, 0, 0, 0, D_DUPROWS},
    {AFF, ZSTD, F16, F16, 4, 32, 6, 64, 0, 0, 0, 0, 0, 0, D_DUPROWS},
    {AFF, ZSTD, BF16, BF16, 2, 16, 8, 32, 0, 0, 0, 0, 0, 0, D_DUPROWS},
    {SYM, RAW, F32, F32, 8, 32, 3, 64, 0, 0, 0, 0, 0, 0, D_DEFAULT},
    {SYM, RAW, F16, F16, 4, 32, 4, 64, 0, 0, 0, 0, 0, 0, D_DEFAULT},
    {SYM, RAW, BF16, BF16, 5, 16, 2, 48, 0, 0, 0, 0, 0, 0, D_UNIFORM},
    {SYM, RANS, F32, F32, 3, 32, 7, 64, 2, 2, 3, 5, 32, 10, D_DEFAULT},
    {SYM, RANS, F16, F16, 8, 256, 2, 256, 64, 1, 1, 2, 256, 15, D_DEFAULT},
    {SYM, RANS, BF16, F16, 2, 16, 9, 48, 8, 2, 1, 4, 16, 12, D_DEFAULT},
    {SYM, PFX, F32, F32, 6, 64, 3, 64, 4, 1, 2, 3, 64, 10, D_DEFAULT},
    {SYM, PFX, F16, F16, 4, 32, 4, 64, 16, 2, 1, 4, 64, 8, D_DEFAULT},
    {SYM, PFX, BF16, BF16, 7, 128, 2, 128, 1, 1, 1, 1, 128, 12, D_DEFAULT},
    {SYM, ZSTD, F32, F32, 4, 16, 4, 32, 0, 0, 0, 0, 0, 0, D_DUPROWS},
    {SYM, ZSTD, F16, F16, 8, 32, 4, 64, 0, 0, 0, 0, 0, 0, D_DUPROWS},
    {SYM, ZSTD, BF16, BF16, 3, 64, 4, 64, 0, 0, 0, 0, 0, 0, D_DUPROWS},
};

/* ECSQ: every coding, with and without escapes (and both step layouts). */
static const tspec ecsq_combos[8] = {
    {.name = "weight", DIMS(5, 13), .scheme = ECSQ, .Q = 11, .z = 5, .dtype = F16, .coding = RAW},
    {.name = "weight", DIMS(4, 19), .scheme = ECSQ, .Q = 6, .z = 2, .eflags = ESC | ROW, .dtype = F32, .coding = RAW},
    {.name = "weight", DIMS(9, 37), .scheme = ECSQ, .Q = 40, .z = 20, .eflags = ROW, .dtype = BF16, .coding = RANS, .prec = 12,
     TILE(8, 1, 2, 6, 20)},
    {.name = "weight", DIMS(11, 30), .scheme = ECSQ, .Q = 9, .z = 4, .eflags = ESC | ROW, .dtype = F16, .coding = RANS, .prec = 11,
     TILE(4, 2, 3, 5, 16)},
    {.name = "weight", DIMS(7, 25), .scheme = ECSQ, .Q = 17, .z = 8, .dtype = F32, .coding = PFX, .maxlen = 11, TILE(2, 1, 1, 4, 25)},
    {.name = "weight", DIMS(8, 40), .scheme = ECSQ, .Q = 12, .z = 5, .eflags = ESC, .dtype = F16, .coding = PFX, .maxlen = 10,
     TILE(32, 2, 4, 8, 40)},
    {.name = "weight", DIMS(6, 40), .scheme = ECSQ, .Q = 30, .z = 15, .dtype = F32, .coding = ZSTD, .dist = D_DUPROWS},
    {.name = "weight", DIMS(5, 33), .scheme = ECSQ, .Q = 7, .z = 3, .eflags = ESC | ROW, .dtype = BF16, .coding = ZSTD},
};

static const fspec *fs_none_combo[2][3];   /* [raw, zstd][dtype] */
static const fspec *fs_q_combo[24];
static const fspec *fs_ecsq_combo[8];
static const unsigned alignments[11] = {64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
static const fspec *fs_align[11];
static const unsigned lane_counts[7] = {1, 2, 4, 8, 16, 32, 64};
static const fspec *fs_lanes_rans[7], *fs_lanes_prefix[7];

static void make_generated_bases(void) {
    for (int c = 0; c < 2; c++)
        for (int dt = 0; dt < 3; dt++) {
            tspec t = {.name = "weight", DIMS(6, 20), .scheme = NONE, .dtype = dt, .coding = c ? ZSTD : RAW,
                       .dist = c ? D_DUPROWS : D_DEFAULT};
            char *key = xsprintf("none-%s-%s", coding_word(t.coding), dtype_str(dt));
            fs_none_combo[c][dt] = mk_base(key, 64, META_NONE, 1, &t);
            free(key);
        }
    for (unsigned i = 0; i < 24; i++) {
        const qcombo *q = &qcombos[i];
        tspec t = {.name = "weight", DIMS(q->rows, q->cols), .scheme = q->scheme, .bits = q->bits, .group = q->group,
                   .pdtype = q->pdtype, .dtype = q->dtype, .coding = q->coding, .prec = q->pm, .maxlen = q->pm,
                   TILE(q->W, q->pack, q->S, q->tr, q->tc), .dist = q->dist};
        char *key = xsprintf("q-%u", i);
        fs_q_combo[i] = mk_base(key, 64, META_NONE, 1, &t);
        free(key);
    }
    for (unsigned i = 0; i < 8; i++) {
        char *key = xsprintf("ecsq-%u", i);
        fs_ecsq_combo[i] = mk_base(key, 64, META_NONE, 1, &ecsq_combos[i]);
        free(key);
    }
    for (unsigned i = 0; i < 11; i++) {
        tspec t[2] = {{.name = "empty", DIMS(0), .scheme = NONE, .dtype = F32, .coding = RAW},
                      {.name = "tiny", DIMS(3), .scheme = NONE, .dtype = F16, .coding = RAW}};
        char *key = xsprintf("align-%u", alignments[i]);
        fs_align[i] = mk_base(key, alignments[i], META_NONE, 2, t);
        free(key);
    }
    for (unsigned i = 0; i < 7; i++) {
        unsigned W = lane_counts[i];
        tspec r = {.name = "weight", DIMS(9, 80), .scheme = AFF, .bits = 4, .group = 16, .pdtype = F16, .dtype = F16,
                   .coding = RANS, .prec = 12, TILE(W, (i & 1) ? 2 : 1, 3, 4, 80)};
        tspec p = {.name = "weight", DIMS(9, 80), .scheme = SYM, .bits = 4, .group = 16, .pdtype = F16, .dtype = F16,
                   .coding = PFX, .maxlen = 10, TILE(W, (i & 1) ? 1 : 2, 2, 5, 80)};
        char *key = xsprintf("lanes-rans-%u", W);
        fs_lanes_rans[i] = mk_base(key, 64, META_NONE, 1, &r);
        free(key);
        key = xsprintf("lanes-prefix-%u", W);
        fs_lanes_prefix[i] = mk_base(key, 64, META_NONE, 1, &p);
        free(key);
    }
}

/* Zstandard frames made by hand (RFC 8878), so that every reader meets every frame layout. */
BASE(fs_zstd_hand, 64, META_NONE,
     {.name = "small", DIMS(10, 12), .scheme = NONE, .dtype = F16, .coding = ZSTD},
     {.name = "large", DIMS(8, 40), .scheme = NONE, .dtype = F32, .coding = ZSTD, .dist = D_DUPROWS},
     {.name = "const", DIMS(4, 32), .scheme = AFF, .bits = 4, .group = 16, .pdtype = F16, .dtype = F16, .coding = ZSTD,
      .dist = D_CONST, .dp = 5},
     {.name = "escapes", DIMS(5, 21), .scheme = ECSQ, .Q = 7, .z = 3, .eflags = ESC, .dtype = F32, .coding = ZSTD});

static void define_valid_zstd(void) {
    add((vcase){.id = "zstd-frame-fcs1", .base = &fs_zstd_hand, .mut = mut_zstd_hand, .a = 0, .b = 0, .clauses = "K-5",
                .desc = "A hand-made zstd frame: Single_Segment, 1-byte Frame_Content_Size (240), one raw block."});
    add((vcase){.id = "zstd-frame-fcs2-blocks", .base = &fs_zstd_hand, .mut = mut_zstd_hand, .a = 1, .b = 1, .clauses = "K-5",
                .desc = "A hand-made zstd frame: Single_Segment, 2-byte Frame_Content_Size (stored as size - 256), 13 raw blocks of "
                        "at most 100 bytes."});
    add((vcase){.id = "zstd-frame-window", .base = &fs_zstd_hand, .mut = mut_zstd_hand, .a = 1, .b = 2, .clauses = "K-5",
                .desc = "A hand-made zstd frame with a Window_Descriptor (1 KiB window) and a 4-byte Frame_Content_Size."});
    add((vcase){.id = "zstd-frame-fcs8", .base = &fs_zstd_hand, .mut = mut_zstd_hand, .a = 3, .b = 3, .clauses = "K-5 K-3",
                .desc = "A hand-made zstd frame with an 8-byte Frame_Content_Size, holding packed 3-bit ECSQ codes with escapes."});
    add((vcase){.id = "zstd-frame-window-fcs8", .base = &fs_zstd_hand, .mut = mut_zstd_hand, .a = 3, .b = 11, .clauses = "K-5",
                .desc = "A hand-made zstd frame with a Window_Descriptor and an 8-byte Frame_Content_Size."});
    add((vcase){.id = "zstd-frame-rle", .base = &fs_zstd_hand, .mut = mut_zstd_hand, .a = 2, .b = 4, .clauses = "K-5",
                .desc = "A hand-made zstd frame made of an RLE block (64 bytes of 0x55: every 4-bit code is 5)."});
    add((vcase){.id = "zstd-frame-empty-block", .base = &fs_zstd_hand, .mut = mut_zstd_hand, .a = 0, .b = 5, .clauses = "K-5",
                .desc = "A hand-made zstd frame whose first block is a raw block of size 0."});
    add((vcase){.id = "zstd-frame-dict-id-0", .base = &fs_zstd_hand, .mut = mut_zstd_hand, .a = 3, .b = 12, .clauses = "K-5",
                .desc = "A hand-made zstd frame with a 1-byte Dictionary_ID field holding 0 (no dictionary)."});
    add((vcase){.id = "zstd-frame-window-2pow27", .base = &fs_zstd_hand, .mut = mut_zstd_hand, .a = 1, .b = 14, .clauses = "K-5",
                .desc = "A hand-made zstd frame whose Window_Descriptor asks for 2^27 bytes, the most [K-5] allows."});
    add((vcase){.id = "zstd-frame-checksum", .base = &fs_zstd_hand, .mut = mut_zstd_frame, .a = 1, .b = 5, .clauses = "K-5",
                .desc = "A libzstd frame with a Content_Checksum (XXH64), which a reader may verify."});
}

/* ======================================================================================== */
/* Part 2: valid vectors                                                                     */
/* ======================================================================================== */

static void define_valid(void) {
    make_generated_bases();

    add((vcase){.id = "empty-file", .base = &fs_empty_file, .clauses = "L-1 H-1 H-2 H-4 H-7 H-8 H-9 H-10 H-12 D-2",
                .desc = "A file with no tensor and no metadata: the 96-byte header and a 16-byte directory at offset 96."});
    add((vcase){.id = "mixed", .base = &fs_mixed, .clauses = "L-1 L-2 L-3 T-9 B-1 H-12 T-11",
                .desc = "Five tensors of every scheme (AFFINE RAW, NONE, ECSQ RANS with escapes, an empty NONE, SYMMETRIC PREFIX) "
                        "with metadata; padding after the header, between blobs and before the directory."});

    /* scheme x coding x dtype */
    for (int c = 0; c < 2; c++)
        for (int dt = 0; dt < 3; dt++)
            add((vcase){.id = xsprintf("none-%s-%s", c ? "zstd" : "raw", dtype_str(dt)), .base = fs_none_combo[c][dt],
                        .clauses = c ? "S-2 S-3 T-5 K-1 K-5" : "S-2 S-3 T-5 K-1",
                        .desc = xsprintf("Scheme NONE, coding %s, dtype %s: %s; the values hash is their exact f32 conversion.",
                                         c ? "ZSTD" : "RAW", dtype_str(dt),
                                         c ? "6x20 values whose rows repeat, in one zstd frame" : "6x20 values stored as they are")});
    for (unsigned i = 0; i < 24; i++) {
        const qcombo *q = &qcombos[i];
        const char *sch = q->scheme == AFF ? "affine" : "symmetric";
        char *tiling = tiled(q->coding) ? xsprintf(", %s %u, %u lanes, pack %u, stripes of %u rows, tiles %ux%u",
                                                   q->coding == RANS ? "precision" : "max_length", q->pm, q->W, q->pack, q->S, q->tr, q->tc)
                                        : xstrdup("");
        add((vcase){.id = xsprintf("%s-%s-%s", sch, coding_word(q->coding), dtype_str(q->pdtype)), .base = fs_q_combo[i],
                    .clauses = xsprintf("%s T-5 S-2 %s", q->scheme == AFF ? "S-4 S-5" : "S-6", coding_clauses(q->coding)),
                    .desc = xsprintf("Scheme %s, coding %s, param dtype %s (tensor dtype %s): %ux%llu, %u bits, group %u%s.",
                                     q->scheme == AFF ? "AFFINE" : "SYMMETRIC", coding_word(q->coding), dtype_str(q->pdtype),
                                     dtype_str(q->dtype), (unsigned)q->rows, (unsigned long long)q->cols, q->bits, q->group, tiling)});
        free(tiling);
    }
    for (unsigned i = 0; i < 8; i++) {
        const tspec *t = &ecsq_combos[i];
        int esc = (t->eflags & ESC) != 0;
        add((vcase){.id = xsprintf("ecsq-%s-%s", coding_word(t->coding), esc ? "esc" : "noesc"), .base = fs_ecsq_combo[i],
                    .clauses = xsprintf("S-2 S-7 S-8 %s %s", esc ? "E-1 E-2 E-3" : "", coding_clauses(t->coding)),
                    .desc = xsprintf("Scheme ECSQ, coding %s, %s: %llux%llu, alphabet %u, zero code %u, %s step%s.",
                                     coding_word(t->coding), esc ? "with escapes (outliers keep their exact integer)" : "without escapes",
                                     (unsigned long long)t->dims[0], (unsigned long long)t->dims[1], t->Q, t->z,
                                     (t->eflags & ROW) ? "one" : "a single", (t->eflags & ROW) ? " per row" : "")});
    }

    /* edge cases */
    add((vcase){.id = "zero-dim-none", .base = &fs_zero_dim_none, .clauses = "T-8 K-2 L-1",
                .desc = "NONE tensors with a zero dimension (shapes [4,0], [0], [3,0,2]): empty blobs that still sit at aligned offsets."});
    add((vcase){.id = "zero-dim-quantized", .base = &fs_zero_dim_quant, .clauses = "T-8 K-2 B-2 S-5 S-8",
                .desc = "Quantized tensors with no element: AFFINE [0,64], SYMMETRIC [5,0], ECSQ PER_ROW with escapes [3,0] "
                        "(3 steps of params, no escapes part), ECSQ [0] (one step).",
});
    add((vcase){.id = "zero-dim-huge-cols", .base = &fs_zero_dim_huge_cols, .clauses = "T-8 C-2",
                .desc = "Tensors of no element whose other dimensions are huge: [0, 2^40] AFFINE and [0, 2^47, 2] NONE."});
    add((vcase){.id = "zero-dim-huge-rows", .base = &fs_zero_dim_huge_rows, .mut = mut_dims2, .a = 0, .b = 0, .c = 1ull << 25,
                .d = 1ull << 24, .clauses = "T-8 C-2",
                .desc = "A NONE tensor of shape [2^25, 2^24, 0]: numel is 0 and rows = 2^49 < 2^64, so [T-8] holds, although the "
                        "product of the first two dimensions is above 2^48."});
    add((vcase){.id = "scalar", .base = &fs_scalar, .clauses = "T-2 T-8",
                .desc = "Tensors with ndim 0 (rows = cols = 1): NONE, ECSQ RAW whose one element is an escape, ECSQ RANS with one "
                        "1x1 tile, ECSQ PREFIX pack 2 (one symbol, padding code 0)."});
    add((vcase){.id = "ndim-8", .base = &fs_ndim8, .clauses = "T-2 T-8",
                .desc = "Tensors with 8 dimensions, the maximum: AFFINE RANS [2,1,3,1,2,1,1,32] and ECSQ PREFIX [1,2,1,2,1,2,1,7]."});
    add((vcase){.id = "name-max-length", .base = &fs_name_max, .clauses = "T-1 T-7",
                .desc = "A tensor name of 1024 bytes, the maximum (1022 ASCII bytes and a 2-byte UTF-8 character), and a 1-byte name."});
    add((vcase){.id = "utf8-names", .base = &fs_utf8_names, .clauses = "T-7 M-2",
                .desc = "Tensor names with multi-byte UTF-8: 2-, 3- and 4-byte characters, U+10FFFF, a BOM, a space, and 'é' both "
                        "precomposed (NFC) and decomposed (NFD): names are compared byte-wise, so they are distinct; U+0085 and "
                        "U+2028, which [T-7] does not forbid (only U+0001-U+001F and U+007F)."});
    add((vcase){.id = "metadata-all-types", .base = &fs_metadata, .clauses = "M-1 M-2 M-3 M-4 M-5 M-6 M-7",
                .desc = "Metadata of every type (U64 max, I64 min, F64 including NaN and -0, STRING and BYTES including empty ones, "
                        "BOOL 0 and 1), a 256-byte key, UTF-8 keys, keys ordered byte-wise with shorter prefixes first."});
    for (unsigned i = 0; i < 11; i++)
        add((vcase){.id = xsprintf("alignment-%u", alignments[i]), .base = fs_align[i], .clauses = "H-10 L-1 L-2 T-9",
                    .desc = xsprintf("Alignment %u: an empty tensor whose blob of size 0 still sits at align_up(96, %u) = %u, then "
                                     "a 6-byte tensor at the same offset.", alignments[i], alignments[i],
                                     alignments[i] < 96 ? 128 : alignments[i])});
    for (unsigned i = 0; i < 7; i++) {
        unsigned W = lane_counts[i];
        add((vcase){.id = xsprintf("lanes-%u-rans", W), .base = fs_lanes_rans[i], .clauses = "K-7 R-5 R-7 R-8",
                    .desc = xsprintf("rANS with %u lane%s (pack %u) on 9x80 codes in tiles of 4x80 (the last one clipped): lanes own "
                                     "columns l, l+%u, ...; every lane's state ends at 2^16.", W, W > 1 ? "s" : "", (i & 1) ? 2 : 1, W)});
        if (W == 1 || W == 2 || W == 32 || W == 64)
            add((vcase){.id = xsprintf("lanes-%u-prefix", W), .base = fs_lanes_prefix[i], .clauses = "K-7 P-8 R-8",
                        .desc = xsprintf("Prefix code with %u lane%s (pack %u) on 9x80 codes in tiles of 5x80.", W, W > 1 ? "s" : "",
                                         (i & 1) ? 1 : 2)});
    }
    add((vcase){.id = "idle-lanes", .base = &fs_idle_lanes, .clauses = "K-7 R-5 R-7 P-8",
                .desc = "64 lanes on tiles 37 and 5 columns wide: lanes with no symbol keep state 2^16 (rANS) and take no word (prefix)."});
    add((vcase){.id = "rans-precision-10", .base = &fs_rans_prec10, .clauses = "K-6 R-1 R-2",
                .desc = "rANS with precision 10 (M = 1024), the minimum, on a 60-symbol ECSQ alphabet."});
    add((vcase){.id = "rans-precision-15", .base = &fs_rans_prec15, .clauses = "K-6 R-1 R-2",
                .desc = "rANS with precision 15 (M = 32768), the maximum, on a 60-symbol ECSQ alphabet with escapes."});
    add((vcase){.id = "rans-single-symbol", .base = &fs_rans_single, .clauses = "R-2 R-7 G-2",
                .desc = "rANS tables with one symbol of frequency M (pack 1, and pack 2 with padding codes): states never change "
                        "and the streams hold no word."});
    add((vcase){.id = "prefix-max-length-1", .base = &fs_prefix_ml1, .clauses = "K-6 P-2 P-4",
                .desc = "Prefix code with max_length 1: two symbols of length 1."});
    add((vcase){.id = "prefix-max-length-12", .base = &fs_prefix_ml12, .clauses = "K-6 P-2 P-4",
                .desc = "Prefix code with max_length 12 on a skewed 256-symbol alphabet: codes up to 12 bits."});
    add((vcase){.id = "prefix-single-symbol", .base = &fs_prefix_single, .clauses = "P-4 P-8 G-2",
                .desc = "Prefix tables with exactly one used symbol, of length 1 (code '0'), pack 1 and pack 2."});
    add((vcase){.id = "alphabet-1", .base = &fs_alphabet1, .clauses = "S-7 K-3 R-2 P-4",
                .desc = "ECSQ with alphabet 1 (code width 1 in RAW; a single-symbol rANS and prefix table)."});
    add((vcase){.id = "alphabet-2", .base = &fs_alphabet2, .clauses = "S-7 K-3",
                .desc = "ECSQ with alphabet 2, in RAW, rANS (pack 2), prefix, and with the escape code (the only other code is 0)."});
    add((vcase){.id = "alphabet-256", .base = &fs_alphabet256, .clauses = "S-7 K-3 R-2 P-4 E-3",
                .desc = "Alphabets of 256 symbols: ECSQ RAW, rANS, prefix (12-bit codes), AFFINE 8 bits with rANS precision 15, "
                        "and ECSQ with escape code 255."});
    add((vcase){.id = "escapes-extremes", .base = &fs_escapes_extreme, .clauses = "E-1 E-2 E-3 S-7",
                .desc = "Escaped integers at +-(2^24-1), at Q-1-z (the escape code's own value) and -z-1, in RAW (row-major order), "
                        "rANS pack 2 over several tiles (symbol order, low code before high code), prefix and ZSTD."});
    add((vcase){.id = "escapes-all", .base = &fs_escapes_all, .clauses = "E-1 E-2 E-3",
                .desc = "Every element is an escape (RAW, rANS with a single-symbol table, prefix)."});
    add((vcase){.id = "tiles-clipped", .base = &fs_tiles_clipped, .clauses = "G-1 G-2 G-3 K-9 K-10",
                .desc = "Tile grids whose last row and column of tiles are clipped, stripes that do not divide the tile height, "
                        "odd lane lengths with pack 2, and a stripe of 255 rows."});
    add((vcase){.id = "ecsq-steps-special", .base = &fs_steps_special, .clauses = "S-8 S-2",
                .desc = "ECSQ per-row steps 0, -0.0 (>= 0 in IEEE 754), a subnormal and 2^126: values are signed zeros, exact "
                        "subnormal multiples, and infinities where step*k overflows.",
                .note = "-0.0 satisfies 'finite and >= 0' under IEEE 754 comparison."});
    add((vcase){.id = "affine-f32-extremes", .base = &fs_affine_extremes, .clauses = "S-2 S-4",
                .desc = "AFFINE with f32 scales at the largest finite float (products overflow to infinity) and subnormals "
                        "(subnormal products and sums, no flush to zero)."});
    add((vcase){.id = "none-special-f32", .base = &fs_none_special_f32, .clauses = "C-1 S-2",
                .desc = "NONE f32 values +-0, +-inf, quiet and signaling NaNs with payloads, subnormals, the largest floats: the "
                        "values hash holds the stored bits."});
    add((vcase){.id = "none-special-f16", .base = &fs_none_special_f16, .clauses = "C-1 S-2",
                .desc = "NONE f16 values +-0, +-inf, quiet and signaling NaNs with payloads, subnormals, +-65504: converted "
                        "exactly to f32 (NaN: sign | 0x7F800000 | mantissa << 13, not quieted)."});
    add((vcase){.id = "none-special-bf16", .base = &fs_none_special_bf16, .clauses = "C-1 S-2 K-5",
                .desc = "NONE bf16 values +-0, +-inf, quiet and signaling NaNs with payloads, subnormals, the largest bf16 (f32 = "
                        "bits << 16, not quieted), in a ZSTD frame."});

    /* valid by mutation */
    add((vcase){.id = "minor-version-2", .base = &fs_small, .mut = mut_header_field, .a = 10, .b = 2, .c = 2, .clauses = "H-3",
                .desc = "version_minor 2 (a future minor revision): a 0.1 reader MUST accept any minor version."});
    add((vcase){.id = "minor-version-65535", .base = &fs_small, .mut = mut_header_field, .a = 10, .b = 2, .c = 65535, .clauses = "H-3",
                .desc = "version_minor 65535: a 0.1 reader MUST accept any minor version."});
    add((vcase){.id = "minor-version-0", .base = &fs_small, .mut = mut_header_field, .a = 10, .b = 2, .c = 0, .clauses = "H-3",
                .desc = "version_minor 0: a 0.1 reader MUST accept any minor version."});
    add((vcase){.id = "optional-feature-bit0", .base = &fs_small, .mut = mut_header_field, .a = 24, .b = 8, .c = 1, .clauses = "F-2",
                .desc = "optional_features = 1, a bit this version does not define: a reader MUST ignore it."});
    add((vcase){.id = "optional-features-all", .base = &fs_small, .mut = mut_header_field, .a = 24, .b = 8, .c = UINT64_MAX,
                .clauses = "F-2", .desc = "optional_features with all 64 bits set: a reader MUST ignore bits it does not know."});
    define_valid_zstd();
}

/* ======================================================================================== */
/* Part 3: invalid vectors — one lie each                                                     */
/* ======================================================================================== */

#define ERR(x) "ECQF_ERR_" #x
#define LIE(...) add((vcase){__VA_ARGS__})

static char long_key[257];

static void define_invalid(void) {
    const fspec *mixed = &fs_mixed, *blobs = &fs_blobs, *meta = &fs_metadata, *zq = &fs_zero_dim_quant;
    const fspec *raw_noesc = fs_ecsq_combo[0], *raw_esc = fs_ecsq_combo[1], *zh = &fs_zstd_hand;
    for (int i = 0; i < 256; i++) long_key[i] = (char)('k' + i % 3);

    /* ---- section 3: header ---- */
    LIE(.id = "file-empty", .base = mixed, .mut = mut_tiny_file, .a = 0, .s2 = "", .error = ERR(TRUNCATED), .clauses = "H-1",
        .desc = "An empty file (0 bytes): shorter than the header, and a prefix of the magic.");
    LIE(.id = "file-magic-prefix", .base = mixed, .mut = mut_tiny_file, .a = 3, .s2 = "\x89\x45\x43", .error = ERR(TRUNCATED),
        .clauses = "H-1", .desc = "A 3-byte file holding the start of the magic: truncated, not a wrong magic.");
    LIE(.id = "file-short-not-ecqf", .base = mixed, .mut = mut_tiny_file, .a = 5, .s2 = "hello", .error = ERR(BAD_MAGIC),
        .clauses = "H-1", .desc = "A 5-byte file that is not the start of the magic.");
    LIE(.id = "file-header-8", .base = mixed, .mut = mut_truncate, .a = 8, .error = ERR(TRUNCATED), .clauses = "H-1",
        .desc = "The file ends after the 8 bytes of magic: shorter than the 96-byte header.");
    LIE(.id = "file-header-95", .base = mixed, .mut = mut_truncate, .a = 95, .error = ERR(TRUNCATED), .clauses = "H-1",
        .desc = "The file ends one byte before the end of the header.");
    LIE(.id = "magic-byte", .base = mixed, .mut = mut_header_field, .a = 4, .b = 1, .c = 'G', .error = ERR(BAD_MAGIC),
        .clauses = "H-1", .desc = "The magic reads 'ECQG' instead of 'ECQF' (header re-signed).");
    LIE(.id = "magic-lf-to-crlf", .base = mixed, .mut = mut_text_mode, .a = 0, .error = ERR(BAD_MAGIC), .clauses = "H-1",
        .desc = "The file went through an LF -> CRLF text conversion (every 0A became 0D 0A).");
    LIE(.id = "magic-crlf-to-lf", .base = mixed, .mut = mut_text_mode, .a = 1, .error = ERR(BAD_MAGIC), .clauses = "H-1",
        .desc = "The file went through a CRLF -> LF text conversion (every 0D 0A became 0A).");
    LIE(.id = "magic-7bit", .base = mixed, .mut = mut_text_mode, .a = 2, .error = ERR(BAD_MAGIC), .clauses = "H-1",
        .desc = "The file went through a 7-bit channel (every high bit cleared).");
    LIE(.id = "version-major-1", .base = mixed, .mut = mut_header_field, .a = 8, .b = 2, .c = 1, .error = ERR(UNSUPPORTED_VERSION),
        .clauses = "H-2", .desc = "version_major is 1, a future major version (header re-signed).");
    LIE(.id = "version-major-65535", .base = mixed, .mut = mut_header_field, .a = 8, .b = 2, .c = 65535,
        .error = ERR(UNSUPPORTED_VERSION), .clauses = "H-2", .desc = "version_major is 65535 (header re-signed).");
    LIE(.id = "required-feature-bit0", .base = mixed, .mut = mut_header_field, .a = 16, .b = 8, .c = 1,
        .error = ERR(UNSUPPORTED_FEATURE), .clauses = "F-1 H-5",
        .desc = "required_features = 1: the file requires a feature version 0.1 does not define (header re-signed).");
    LIE(.id = "required-feature-bit63", .base = mixed, .mut = mut_header_field, .a = 16, .b = 8, .c = 1ull << 63,
        .error = ERR(UNSUPPORTED_FEATURE), .clauses = "F-1 H-5", .desc = "required_features has bit 63 set (header re-signed).");
    LIE(.id = "header-size-128", .base = mixed, .mut = mut_header_field, .a = 12, .b = 4, .c = 128, .error = ERR(BAD_HEADER),
        .clauses = "H-4", .desc = "header_size says 128 (it is 96).");
    LIE(.id = "header-size-0", .base = mixed, .mut = mut_header_field, .a = 12, .b = 4, .c = 0, .error = ERR(BAD_HEADER),
        .clauses = "H-4", .desc = "header_size says 0.");
    LIE(.id = "alignment-32", .base = mixed, .mut = mut_header_field, .a = 56, .b = 4, .c = 32, .error = ERR(BAD_HEADER),
        .clauses = "H-10", .desc = "alignment is 32, a power of two below 64.");
    LIE(.id = "alignment-0", .base = mixed, .mut = mut_header_field, .a = 56, .b = 4, .c = 0, .error = ERR(BAD_HEADER),
        .clauses = "H-10", .desc = "alignment is 0.");
    LIE(.id = "alignment-96", .base = mixed, .mut = mut_header_field, .a = 56, .b = 4, .c = 96, .error = ERR(BAD_HEADER),
        .clauses = "H-10", .desc = "alignment is 96, not a power of two.");
    LIE(.id = "alignment-131072", .base = mixed, .mut = mut_header_field, .a = 56, .b = 4, .c = 131072, .error = ERR(BAD_HEADER),
        .clauses = "H-10", .desc = "alignment is 131072, a power of two above 65536.");
    LIE(.id = "alignment-2pow31", .base = mixed, .mut = mut_header_field, .a = 56, .b = 4, .c = 1u << 31, .error = ERR(BAD_HEADER),
        .clauses = "H-10", .desc = "alignment is 2^31.");
    LIE(.id = "header-reserved", .base = mixed, .mut = mut_header_field, .a = 60, .b = 4, .c = 1, .error = ERR(RESERVED_NONZERO),
        .clauses = "H-11", .desc = "The header's reserved u32 at offset 60 is 1 (header re-signed).",
        .note = "Section 11 lists [H-11] under both BAD_HEADER and RESERVED_NONZERO; section 12 says RESERVED_NONZERO.");
    LIE(.id = "header-reserved-high", .base = mixed, .mut = mut_header_field, .a = 60, .b = 4, .c = 0x80000000u,
        .error = ERR(RESERVED_NONZERO), .clauses = "H-11",
        .desc = "The header's reserved u32 has its top bit set (header re-signed).",
        .note = "Section 11 lists [H-11] under both BAD_HEADER and RESERVED_NONZERO; section 12 says RESERVED_NONZERO.");
    LIE(.id = "file-size-larger", .base = mixed, .mut = mut_header_add, .a = 32, .b = 8, .c = 8, .error = ERR(TRUNCATED),
        .clauses = "H-7", .desc = "file_size is 8 bytes more than the file: the file looks truncated (header re-signed).");
    LIE(.id = "file-size-smaller", .base = mixed, .mut = mut_header_add, .a = 32, .b = 8, .c = (uint64_t)-8,
        .error = ERR(TRAILING_DATA), .clauses = "H-7", .desc = "file_size is 8 bytes less than the file: 8 trailing bytes (header re-signed).");
    LIE(.id = "truncated-1", .base = mixed, .mut = mut_truncate, .b = 1, .error = ERR(TRUNCATED), .clauses = "H-7",
        .desc = "The file lost its last byte.");
    LIE(.id = "truncated-half", .base = mixed, .mut = mut_truncate, .b = 700, .error = ERR(TRUNCATED), .clauses = "H-7",
        .desc = "The file lost its last 700 bytes (the directory and part of the blobs).");
    LIE(.id = "trailing-byte", .base = mixed, .mut = mut_append, .b = 1, .c = 0, .error = ERR(TRAILING_DATA), .clauses = "H-7",
        .desc = "One zero byte follows the end of the directory.");
    LIE(.id = "trailing-64", .base = mixed, .mut = mut_append, .b = 64, .c = 0xAB, .error = ERR(TRAILING_DATA), .clauses = "H-7",
        .desc = "64 bytes follow the end of the directory.");
    LIE(.id = "directory-size-larger", .base = mixed, .mut = mut_header_add, .a = 48, .b = 8, .c = 8, .d = 1, .error = ERR(BAD_LAYOUT),
        .clauses = "H-9", .desc = "directory_size is 8 more than the directory: offset + size is past file_size.",
        .note = "The header checksum cannot be recomputed over a range outside the file, so it is stale too; section 12 checks "
                "the directory fields before the checksum.");
    LIE(.id = "directory-offset-below-96", .base = mixed, .mut = mut_dir_fields, .a = 88, .error = ERR(BAD_LAYOUT),
        .clauses = "H-8 H-9", .desc = "directory_offset is 88, inside the header (directory_size = file_size - 88, header re-signed "
                                      "over that range).");
    LIE(.id = "directory-gap", .base = mixed, .mut = mut_dir_gap, .a = 8, .error = ERR(BAD_LAYOUT), .clauses = "L-1 L-3 H-8",
        .desc = "8 zero bytes sit between the last blob's padding and the directory: directory_offset is not align_up(end, 8) "
                "(sizes and checksum consistent).");

    /* ---- checksums ---- */
    LIE(.id = "header-checksum-flipped", .base = mixed, .mut = mut_flip, .a = 64, .error = ERR(HEADER_CHECKSUM), .clauses = "H-12",
        .desc = "The first byte of header_checksum has a bit flipped.");
    LIE(.id = "header-checksum-last-byte", .base = mixed, .mut = mut_flip, .a = 95, .error = ERR(HEADER_CHECKSUM), .clauses = "H-12",
        .desc = "The last byte of header_checksum has a bit flipped.");
    LIE(.id = "header-checksum-without-directory", .base = mixed, .mut = mut_checksum_header_only, .error = ERR(HEADER_CHECKSUM),
        .clauses = "H-12", .desc = "header_checksum covers header[0,64) only, not the directory.");
    LIE(.id = "header-checksum-stale-name", .base = mixed, .mut = mut_dir_name_unsigned, .a = 0, .error = ERR(HEADER_CHECKSUM),
        .clauses = "H-12", .desc = "A tensor name was changed ('a.weight' -> 'b.weight') without updating header_checksum.");
    LIE(.id = "header-checksum-stale-optional", .base = mixed, .mut = mut_header_field_unsigned, .a = 24, .b = 8, .c = 1,
        .error = ERR(HEADER_CHECKSUM), .clauses = "H-12 F-2",
        .desc = "optional_features was set to 1 without updating header_checksum (the checksum covers header[0,64)).");
    LIE(.id = "header-checksum-before-directory", .base = mixed, .mut = mut_meta_type_unsigned, .s = "ecqf.writer", .a = 99,
        .error = ERR(HEADER_CHECKSUM), .clauses = "H-12 M-3",
        .desc = "A metadata type byte became 99 without updating header_checksum: the checksum MUST be verified before any "
                "directory field is interpreted.");
    LIE(.id = "blob-checksum-first", .base = blobs, .mut = mut_blob_checksum, .a = 0, .b = 0, .error = ERR(BLOB_CHECKSUM),
        .clauses = "T-11", .desc = "The stored blob_checksum of the first tensor has a bit flipped (header re-signed).");
    LIE(.id = "blob-checksum-middle", .base = blobs, .mut = mut_blob_checksum, .a = 1, .b = 31, .error = ERR(BLOB_CHECKSUM),
        .clauses = "T-11", .desc = "The stored blob_checksum of the second tensor has a bit flipped in its last byte (header re-signed).");
    LIE(.id = "blob-checksum-empty", .base = blobs, .mut = mut_blob_checksum, .a = 2, .b = 5, .error = ERR(BLOB_CHECKSUM),
        .clauses = "T-11", .desc = "The blob_checksum of an empty blob is not BLAKE2b-256 of the empty string (header re-signed).");
    LIE(.id = "blob-checksum-last", .base = blobs, .mut = mut_blob_checksum, .a = 3, .b = 16, .error = ERR(BLOB_CHECKSUM),
        .clauses = "T-11", .desc = "The stored blob_checksum of the last tensor has a bit flipped (header re-signed).");
    LIE(.id = "blob-data-flipped", .base = blobs, .mut = mut_blob_byte_unsigned, .a = 3, .b = PART_DATA, .c = 5,
        .error = ERR(BLOB_CHECKSUM), .clauses = "T-11", .desc = "A data byte of the last tensor changed; its blob_checksum was not updated.");
    LIE(.id = "blob-params-flipped", .base = blobs, .mut = mut_blob_byte_unsigned, .a = 1, .b = PART_PARAMS, .c = 2,
        .error = ERR(BLOB_CHECKSUM), .clauses = "T-11", .desc = "A scale of the AFFINE tensor changed; its blob_checksum was not updated.");
    LIE(.id = "blob-checksum-before-decode", .base = mixed, .mut = mut_blob_byte_unsigned, .a = 2, .b = PART_DATA, .c = 30,
        .error = ERR(BLOB_CHECKSUM), .clauses = "T-11",
        .desc = "A byte of a rANS word stream changed; its blob_checksum was not updated: the checksum is verified before the "
                "corrupt stream is trusted.");
    LIE(.id = "blob-checksum-zstd", .base = zh, .mut = mut_blob_byte_unsigned, .a = 1, .b = PART_DATA, .c = 9,
        .error = ERR(BLOB_CHECKSUM), .clauses = "T-11", .desc = "A byte of a zstd frame changed; its blob_checksum was not updated.");

    /* ---- section 2: layout ---- */
    LIE(.id = "padding-after-header", .base = mixed, .mut = mut_padding, .a = 0, .c = 1, .error = ERR(NONZERO_PADDING),
        .clauses = "L-2", .desc = "A byte of the padding between the header (96) and the first blob (128) is 1.");
    LIE(.id = "padding-after-header-4096", .base = fs_align[6], .mut = mut_padding, .a = 0, .c = 0x80, .error = ERR(NONZERO_PADDING),
        .clauses = "L-2", .desc = "With alignment 4096, a byte of the padding between the header and the first blob is 0x80.");
    LIE(.id = "padding-between-blobs", .base = mixed, .mut = mut_padding, .a = 1, .b = 1, .c = 0xFF, .error = ERR(NONZERO_PADDING),
        .clauses = "L-2", .desc = "A byte of the padding between the second and third blob is 0xFF.");
    LIE(.id = "padding-before-directory", .base = fs_align[0], .mut = mut_padding, .a = 2, .c = 1, .error = ERR(NONZERO_PADDING),
        .clauses = "L-2", .desc = "A byte of the padding between the last blob and the directory is 1.");
    LIE(.id = "blob-offset-plus-64", .base = mixed, .mut = mut_blob_offset, .a = 1, .b = 64, .error = ERR(BAD_LAYOUT),
        .clauses = "T-9 L-3", .desc = "The second tensor's blob_offset is 64 more than the computed offset (header re-signed).");
    LIE(.id = "blob-offset-minus-64", .base = mixed, .mut = mut_blob_offset, .a = 2, .b = (uint64_t)-64, .error = ERR(BAD_LAYOUT),
        .clauses = "T-9 L-3", .desc = "The third tensor's blob_offset is 64 less than the computed offset (header re-signed).");
    LIE(.id = "blob-offset-empty-unaligned", .base = fs_align[6], .mut = mut_blob_offset_unaligned, .a = 0, .error = ERR(BAD_LAYOUT),
        .clauses = "L-1 T-9", .desc = "With alignment 4096, the empty first blob claims offset 96 (the end of the header) instead of "
                                      "align_up(96, 4096): a blob of size 0 still has the aligned offset.");
    LIE(.id = "part-size-params", .base = mixed, .mut = mut_part_size, .a = 0, .b = PART_PARAMS, .c = 4, .error = ERR(BAD_LAYOUT),
        .clauses = "B-2", .desc = "The AFFINE tensor's params part is 4 bytes longer than 2*rows*G*2 (the bytes are there, offsets follow).");
    LIE(.id = "part-size-params-none", .base = mixed, .mut = mut_part_size, .a = 1, .b = PART_PARAMS, .c = 4, .error = ERR(BAD_LAYOUT),
        .clauses = "B-2 S-3", .desc = "A NONE tensor has a 4-byte params part (NONE has none).");
    LIE(.id = "part-size-table", .base = mixed, .mut = mut_part_size, .a = 2, .b = PART_TABLE, .c = 2, .d = 1, .error = ERR(BAD_LAYOUT),
        .clauses = "B-2 R-1", .desc = "The rANS table part is 2 bytes shorter than 2*A.");
    LIE(.id = "part-size-prefix-table", .base = mixed, .mut = mut_part_size, .a = 4, .b = PART_TABLE, .c = 1, .error = ERR(BAD_LAYOUT),
        .clauses = "B-2 P-1", .desc = "The prefix table part is 1 byte longer than A.");
    LIE(.id = "part-size-tile-index", .base = mixed, .mut = mut_part_size, .a = 2, .b = PART_TILE_INDEX, .c = 8,
        .error = ERR(BAD_LAYOUT), .clauses = "B-2", .desc = "The tile_index part is 8 bytes longer than 8*(T+1).");
    LIE(.id = "part-size-raw-data-longer", .base = mixed, .mut = mut_part_size, .a = 0, .b = PART_DATA, .c = 1,
        .error = ERR(BAD_LAYOUT), .clauses = "B-2 K-3", .desc = "The RAW data part is 1 byte longer than ceil(numel*width/8).");
    LIE(.id = "part-size-raw-data-shorter", .base = mixed, .mut = mut_part_size, .a = 1, .b = PART_DATA, .c = 1, .d = 1,
        .error = ERR(BAD_LAYOUT), .clauses = "B-2", .desc = "The NONE RAW data part is 1 byte shorter than numel*4.");
    LIE(.id = "part-size-escapes-without-flag", .base = raw_noesc, .mut = mut_escapes, .a = 0, .b = 9, .error = ERR(BAD_LAYOUT),
        .clauses = "B-2 E-1", .desc = "An ECSQ tensor without HAS_ESCAPE has an escapes part (start = {0, 0}).");
    LIE(.id = "part-size-wraps", .base = mixed, .mut = mut_part_size_field, .a = 2, .b = PART_DATA, .c = (uint64_t)-8,
        .error = ERR(LIMIT), .clauses = "C-2 L-1 B-2",
        .desc = "The rANS data part size is 2^64 - 8: the blob's end does not fit 64 bits (header re-signed).");
    LIE(.id = "part-padding-before-data", .base = mixed, .mut = mut_part_padding, .a = 0, .b = PART_DATA, .error = ERR(NONZERO_PADDING),
        .clauses = "B-1", .desc = "A padding byte between the params and the data part of a blob is 0x80 (blob re-signed).");
    LIE(.id = "part-padding-before-table", .base = mixed, .mut = mut_part_padding, .a = 4, .b = PART_TABLE,
        .error = ERR(NONZERO_PADDING), .clauses = "B-1", .desc = "A padding byte between the params and the prefix table is 0x80 "
                                                               "(blob re-signed).");
    LIE(.id = "part-padding-before-escapes", .base = mixed, .mut = mut_part_padding, .a = 2, .b = PART_ESCAPES,
        .error = ERR(NONZERO_PADDING), .clauses = "B-1", .desc = "A padding byte between the tile index and the escapes part is 0x80 "
                                                               "(blob re-signed).");

    /* ---- section 4: directory ---- */
    LIE(.id = "directory-reserved", .base = mixed, .mut = mut_dir_head, .a = 8, .b = 8, .c = 1, .error = ERR(RESERVED_NONZERO),
        .clauses = "D-1", .desc = "The directory's reserved u64 is 1.");
    LIE(.id = "directory-leftover-8", .base = mixed, .mut = mut_dir_leftover, .a = 8, .b = 0, .error = ERR(BAD_DIRECTORY),
        .clauses = "D-2", .desc = "8 zero bytes follow the last tensor entry inside the directory (directory_size counts them).");
    LIE(.id = "directory-leftover-1", .base = &fs_empty_file, .mut = mut_dir_leftover, .a = 1, .b = 0x42, .error = ERR(BAD_DIRECTORY),
        .clauses = "D-2", .desc = "A directory with no entry holds one extra byte.");
    LIE(.id = "directory-short", .base = &fs_empty_file, .mut = mut_dir_short, .a = 8, .error = ERR(BAD_DIRECTORY), .clauses = "D-2",
        .desc = "The directory is 8 bytes long, shorter than its 16-byte head.");
    LIE(.id = "tensor-count-plus-1", .base = mixed, .mut = mut_dir_head, .a = 4, .b = 4, .c = 6, .error = ERR(BAD_DIRECTORY),
        .clauses = "D-2", .desc = "tensor_count says 6 for 5 entries: the sixth runs past the end of the directory.");
    LIE(.id = "tensor-count-minus-1", .base = mixed, .mut = mut_dir_head, .a = 4, .b = 4, .c = 4, .error = ERR(BAD_DIRECTORY),
        .clauses = "D-2", .desc = "tensor_count says 4 for 5 entries: the last entry is left over.");
    LIE(.id = "tensor-count-1000", .base = mixed, .mut = mut_dir_head, .a = 4, .b = 4, .c = 1000, .error = ERR(BAD_DIRECTORY),
        .clauses = "D-2", .desc = "tensor_count is 1000 (within the limit): 16 + 5*2 + 121*1000 bytes exceed the directory size, "
                                  "which a reader MUST detect before it allocates for the entries.");
    LIE(.id = "metadata-count-65537", .base = mixed, .mut = mut_dir_head, .a = 0, .b = 4, .c = 65537, .error = ERR(LIMIT),
        .clauses = "D-3", .desc = "metadata_count is 65537, above the limit of 65536.");
    LIE(.id = "tensor-count-1048577", .base = mixed, .mut = mut_dir_head, .a = 4, .b = 4, .c = 1048577, .error = ERR(LIMIT),
        .clauses = "D-3", .desc = "tensor_count is 1048577, above the limit of 1048576.");

    /* ---- section 5: metadata ---- */
    LIE(.id = "meta-key-length-0", .base = meta, .mut = mut_meta_key_length, .s = "b", .a = 0, .error = ERR(LIMIT), .clauses = "M-1",
        .desc = "A metadata key of length 0.");
    LIE(.id = "meta-key-length-257", .base = meta, .mut = mut_meta_key_length, .s = long_key, .a = 1, .error = ERR(LIMIT),
        .clauses = "M-1", .desc = "A metadata key of 257 bytes, above the limit of 256.");
    LIE(.id = "meta-key-above-max", .base = meta, .mut = mut_meta_key_bytes, .s = "\xF4\x8F\xBF\xBF", .b = 0, .c = 4,
        .s2 = "\xF4\x90\x80\x80", .error = ERR(BAD_UTF8), .clauses = "M-2", .desc = "A metadata key encodes U+110000, above U+10FFFF.");
    LIE(.id = "meta-key-ff", .base = meta, .mut = mut_meta_key_bytes, .s = "\xF4\x8F\xBF\xBF", .b = 0, .c = 4,
        .s2 = "\xFF\xFF\xFF\xFF", .error = ERR(BAD_UTF8), .clauses = "M-2", .desc = "A metadata key holds 0xFF bytes.");
    LIE(.id = "meta-key-surrogate", .base = meta, .mut = mut_meta_key_bytes, .s = "\xF4\x8F\xBF\xBF", .b = 0, .c = 4,
        .s2 = "\xED\xA0\x80\x41", .error = ERR(BAD_UTF8), .clauses = "M-2", .desc = "A metadata key encodes the surrogate U+D800.");
    LIE(.id = "meta-key-overlong", .base = meta, .mut = mut_meta_key_bytes, .s = "\xF4\x8F\xBF\xBF", .b = 0, .c = 4,
        .s2 = "\xC1\xBF\x41\x41", .error = ERR(BAD_UTF8), .clauses = "M-2", .desc = "A metadata key holds an overlong encoding (C1 BF).");
    LIE(.id = "meta-key-truncated-sequence", .base = meta, .mut = mut_meta_key_bytes, .s = "\xF4\x8F\xBF\xBF", .b = 0, .c = 4,
        .s2 = "\xF4\x8F\xBF\x41", .error = ERR(BAD_UTF8), .clauses = "M-2",
        .desc = "A metadata key holds a 4-byte sequence cut after 3 bytes.");
    LIE(.id = "meta-key-nul", .base = meta, .mut = mut_meta_key_bytes, .s = "string", .b = 5, .c = 1, .s2 = "\x00",
        .error = ERR(BAD_UTF8), .clauses = "M-2", .desc = "A metadata key contains the byte 0 ('strin\\0').");
    LIE(.id = "meta-string-not-utf8", .base = meta, .mut = mut_meta_string_bytes, .s = "string", .b = 3, .c = 2, .s2 = "\xC3\x28",
        .error = ERR(BAD_UTF8), .clauses = "M-2 M-4", .desc = "A STRING value holds C3 28 (a lead byte without continuation).");
    LIE(.id = "meta-string-nul", .base = meta, .mut = mut_meta_string_bytes, .s = "string", .b = 0, .c = 1, .s2 = "\x00",
        .error = ERR(BAD_UTF8), .clauses = "M-2 M-4", .desc = "A STRING value contains the byte 0.");
    LIE(.id = "meta-string-surrogate", .base = meta, .mut = mut_meta_string_bytes, .s = "string", .b = 4, .c = 3,
        .s2 = "\xED\xBF\xBF", .error = ERR(BAD_UTF8), .clauses = "M-2 M-4", .desc = "A STRING value encodes the surrogate U+DFFF.");
    LIE(.id = "meta-type-0", .base = meta, .mut = mut_meta_type, .s = "a", .a = 0, .error = ERR(BAD_DIRECTORY), .clauses = "M-3",
        .desc = "A metadata entry of type 0.");
    LIE(.id = "meta-type-7", .base = meta, .mut = mut_meta_type, .s = "i64", .a = 7, .error = ERR(BAD_DIRECTORY), .clauses = "M-3",
        .desc = "A metadata entry of type 7 (with an 8-byte value).");
    LIE(.id = "meta-bool-2", .base = meta, .mut = mut_meta_value, .s = "a", .a = 2, .b = 0, .error = ERR(BAD_DIRECTORY),
        .clauses = "M-5", .desc = "A BOOL value of 2.");
    LIE(.id = "meta-bool-255", .base = meta, .mut = mut_meta_value, .s = "b", .a = 255, .b = 0, .error = ERR(BAD_DIRECTORY),
        .clauses = "M-5", .desc = "A BOOL value of 255.");
    LIE(.id = "meta-order-prefix", .base = meta, .mut = mut_meta_swap, .s = "a", .error = ERR(BAD_DIRECTORY), .clauses = "M-6",
        .desc = "Key 'ab' comes before key 'a': a shorter prefix must come first.");
    LIE(.id = "meta-order-bytes", .base = meta, .mut = mut_meta_swap, .s = "bytes.empty", .error = ERR(BAD_DIRECTORY),
        .clauses = "M-6", .desc = "Key 'f64' comes before key 'bytes.empty'.");
    LIE(.id = "meta-duplicate-key", .base = meta, .mut = mut_meta_duplicate, .s = "b", .error = ERR(DUPLICATE_NAME), .clauses = "M-6",
        .desc = "Key 'b' appears twice in a row (metadata_count counts both).");
    LIE(.id = "meta-string-past-end", .base = meta, .mut = mut_meta_length, .s = "string", .a = 0x00FFFFFF, .error = ERR(BAD_DIRECTORY),
        .clauses = "D-2 M-4", .desc = "A STRING length of 16 MiB - 1 runs past the end of the directory.");

    /* ---- section 6: tensor entries ---- */
    LIE(.id = "name-length-0", .base = mixed, .mut = mut_name_length, .a = 1, .b = 0, .error = ERR(LIMIT), .clauses = "T-1",
        .desc = "A tensor entry with name_length 0 (and no name bytes).");
    LIE(.id = "name-length-1025", .base = &fs_name_max, .mut = mut_name_length, .a = 0, .b = 1, .error = ERR(LIMIT), .clauses = "T-1",
        .desc = "A tensor name of 1025 bytes, above the limit of 1024.");
    LIE(.id = "ndim-9", .base = &fs_ndim8, .mut = mut_add_dim, .a = 0, .error = ERR(LIMIT), .clauses = "T-2",
        .desc = "A tensor with 9 dimensions (a dimension of size 1 prepended to an 8-dimensional one).");
    LIE(.id = "scheme-4", .base = mixed, .mut = mut_entry_field, .a = 1, .b = AT(R_ENTRY, 3), .c = 1, .d = 4, .error = ERR(BAD_SCHEME),
        .clauses = "T-3", .desc = "A tensor with scheme 4, which does not exist.");
    LIE(.id = "scheme-255", .base = mixed, .mut = mut_entry_field, .a = 1, .b = AT(R_ENTRY, 3), .c = 1, .d = 255,
        .error = ERR(BAD_SCHEME), .clauses = "T-3", .desc = "A tensor with scheme 255.");
    LIE(.id = "coding-4", .base = mixed, .mut = mut_entry_field, .a = 1, .b = AT(R_ENTRY, 4), .c = 1, .d = 4, .error = ERR(BAD_CODING),
        .clauses = "T-4", .desc = "A tensor with coding 4, which does not exist.");
    LIE(.id = "coding-254", .base = mixed, .mut = mut_entry_field, .a = 1, .b = AT(R_ENTRY, 4), .c = 1, .d = 254,
        .error = ERR(BAD_CODING), .clauses = "T-4", .desc = "A tensor with coding 254 (libecqf's writer-only AUTO request).");
    LIE(.id = "dtype-3", .base = mixed, .mut = mut_entry_field, .a = 1, .b = AT(R_ENTRY, 5), .c = 1, .d = 3, .error = ERR(BAD_DTYPE),
        .clauses = "T-5", .desc = "A NONE tensor with dtype 3, which does not exist.");
    LIE(.id = "dtype-3-quantized", .base = mixed, .mut = mut_entry_field, .a = 0, .b = AT(R_ENTRY, 5), .c = 1, .d = 3,
        .error = ERR(BAD_DTYPE), .clauses = "T-5", .desc = "An AFFINE tensor whose (informative) source dtype is 3.");
    LIE(.id = "entry-reserved", .base = mixed, .mut = mut_entry_field, .a = 0, .b = AT(R_ENTRY, 6), .c = 2, .d = 1,
        .error = ERR(RESERVED_NONZERO), .clauses = "T-6", .desc = "A tensor entry's reserved u16 is 1.");
    LIE(.id = "entry-reserved-high", .base = mixed, .mut = mut_entry_field, .a = 3, .b = AT(R_ENTRY, 6), .c = 2, .d = 0x8000,
        .error = ERR(RESERVED_NONZERO), .clauses = "T-6", .desc = "The reserved u16 of an empty tensor's entry is 0x8000.");
    LIE(.id = "name-ff", .base = mixed, .mut = mut_name_bytes, .a = 0, .b = 1, .c = 1, .s2 = "\xFF", .error = ERR(BAD_UTF8),
        .clauses = "T-7", .desc = "A tensor name holds the byte 0xFF.");
    LIE(.id = "name-overlong", .base = mixed, .mut = mut_name_bytes, .a = 0, .b = 1, .c = 2, .s2 = "\xC0\xAE", .error = ERR(BAD_UTF8),
        .clauses = "T-7", .desc = "A tensor name holds C0 AE, an overlong encoding of '.'.");
    LIE(.id = "name-surrogate", .base = mixed, .mut = mut_name_bytes, .a = 0, .b = 2, .c = 3, .s2 = "\xED\xA0\x80",
        .error = ERR(BAD_UTF8), .clauses = "T-7", .desc = "A tensor name encodes the surrogate U+D800.");
    LIE(.id = "name-above-max", .base = mixed, .mut = mut_name_bytes, .a = 0, .b = 2, .c = 4, .s2 = "\xF4\x90\x80\x80",
        .error = ERR(BAD_UTF8), .clauses = "T-7", .desc = "A tensor name encodes U+110000.");
    LIE(.id = "name-truncated-sequence", .base = mixed, .mut = mut_name_bytes, .a = 0, .b = 6, .c = 2, .s2 = "\xE2\x82",
        .error = ERR(BAD_UTF8), .clauses = "T-7", .desc = "A tensor name ends inside a 3-byte sequence (E2 82).");
    LIE(.id = "name-lone-continuation", .base = mixed, .mut = mut_name_bytes, .a = 0, .b = 0, .c = 1, .s2 = "\x80",
        .error = ERR(BAD_UTF8), .clauses = "T-7", .desc = "A tensor name starts with a continuation byte (80).");
    LIE(.id = "name-nul", .base = mixed, .mut = mut_name_bytes, .a = 0, .b = 1, .c = 1, .s2 = "\x00", .error = ERR(BAD_UTF8),
        .clauses = "T-7", .desc = "A tensor name contains the byte 0.");
    LIE(.id = "name-newline", .base = mixed, .mut = mut_name_bytes, .a = 0, .b = 1, .c = 1, .s2 = "\n", .error = ERR(BAD_UTF8),
        .clauses = "T-7", .desc = "A tensor name contains a line feed (U+000A), a control character.");
    LIE(.id = "name-tab", .base = mixed, .mut = mut_name_bytes, .a = 0, .b = 1, .c = 1, .s2 = "\t", .error = ERR(BAD_UTF8),
        .clauses = "T-7", .desc = "A tensor name contains a tab (U+0009).");
    LIE(.id = "name-unit-separator", .base = mixed, .mut = mut_name_bytes, .a = 4, .b = 1, .c = 1, .s2 = "\x1F", .error = ERR(BAD_UTF8),
        .clauses = "T-7", .desc = "A tensor name contains U+001F.");
    LIE(.id = "name-delete", .base = mixed, .mut = mut_name_bytes, .a = 2, .b = 7, .c = 1, .s2 = "\x7F", .error = ERR(BAD_UTF8),
        .clauses = "T-7", .desc = "A tensor name ends with U+007F (DELETE).");
    LIE(.id = "name-duplicate", .base = blobs, .mut = mut_rename_as, .a = 2, .b = 0, .error = ERR(DUPLICATE_NAME), .clauses = "T-7",
        .desc = "Two tensors are named 'first'.");
    LIE(.id = "numel-above-2pow48", .base = fs_none_combo[1][0], .mut = mut_dims2, .a = 0, .b = 0, .c = (1ull << 24) + 1,
        .d = 1ull << 24, .error = ERR(LIMIT), .clauses = "T-8",
        .desc = "A ZSTD tensor of shape [2^24 + 1, 2^24]: 2^48 + 2^24 elements (ZSTD data has no computed size, so the shape is "
                "the only structural lie).");
    LIE(.id = "numel-1dim-above-2pow48", .base = &fs_none_special_bf16, .mut = mut_entry_field, .a = 0, .b = AT(R_DIMS, 0), .c = 8,
        .d = (1ull << 48) + 1, .error = ERR(LIMIT), .clauses = "T-8", .desc = "A 1-dimensional ZSTD tensor of 2^48 + 1 elements.");
    LIE(.id = "numel-overflows-64-bits", .base = fs_none_combo[1][0], .mut = mut_dims2, .a = 0, .b = 0, .c = 1ull << 32,
        .d = 1ull << 32, .error = ERR(LIMIT), .clauses = "T-8 C-2",
        .desc = "A ZSTD tensor of shape [2^32, 2^32]: 2^64 elements, which wraps to 0 in 64 bits.");
    LIE(.id = "rows-overflow-64-bits", .base = &fs_zero_dim_huge_rows, .mut = mut_dims2, .a = 0, .b = 0, .c = 1ull << 32,
        .d = 1ull << 32, .error = ERR(LIMIT), .clauses = "T-8 C-2",
        .desc = "A tensor of shape [2^32, 2^32, 0]: no element, but rows = 2^64 does not fit 64 bits.");

    /* ---- section 7: schemes ---- */
    LIE(.id = "none-scheme-params", .base = mixed, .mut = mut_entry_field, .a = 1, .b = AT(R_SP, 0), .c = 1, .d = 1,
        .error = ERR(RESERVED_NONZERO), .clauses = "S-1 S-3",
        .desc = "A NONE tensor's scheme_params start with 1.",
        .note = "7.0 says NONE's scheme_params are all zero (under [S-3], BAD_SCHEME); [S-1] says unused bytes are zero "
                "(RESERVED_NONZERO).");
    LIE(.id = "affine-unused-params", .base = mixed, .mut = mut_entry_field, .a = 0, .b = AT(R_SP, 4), .c = 1, .d = 1,
        .error = ERR(RESERVED_NONZERO), .clauses = "S-1", .desc = "Byte 4 of an AFFINE tensor's scheme_params (unused) is 1.");
    LIE(.id = "symmetric-unused-params", .base = mixed, .mut = mut_entry_field, .a = 4, .b = AT(R_SP, 15), .c = 1, .d = 0x80,
        .error = ERR(RESERVED_NONZERO), .clauses = "S-1", .desc = "The last byte of a SYMMETRIC tensor's scheme_params is 0x80.");
    LIE(.id = "ecsq-unused-params", .base = mixed, .mut = mut_entry_field, .a = 2, .b = AT(R_SP, 5), .c = 1, .d = 1,
        .error = ERR(RESERVED_NONZERO), .clauses = "S-1", .desc = "Byte 5 of an ECSQ tensor's scheme_params (unused) is 1.");
    LIE(.id = "none-with-rans", .base = mixed, .mut = mut_coding_tiled, .a = 1, .b = RANS, .error = ERR(BAD_SCHEME), .clauses = "S-3",
        .desc = "A NONE tensor claims coding RANS (with well-formed coding parameters): NONE allows RAW and ZSTD only.");
    LIE(.id = "none-with-prefix", .base = mixed, .mut = mut_coding_tiled, .a = 1, .b = PFX, .error = ERR(BAD_SCHEME), .clauses = "S-3",
        .desc = "A NONE tensor claims coding PREFIX (with well-formed coding parameters).");
    LIE(.id = "affine-bits-1", .base = zq, .mut = mut_entry_field, .a = 0, .b = AT(R_SP, 0), .c = 1, .d = 1, .error = ERR(BAD_SCHEME),
        .clauses = "S-4", .desc = "An AFFINE tensor (with no element) has bits 1.");
    LIE(.id = "affine-bits-9", .base = zq, .mut = mut_entry_field, .a = 0, .b = AT(R_SP, 0), .c = 1, .d = 9, .error = ERR(BAD_SCHEME),
        .clauses = "S-4", .desc = "An AFFINE tensor (with no element) has bits 9.");
    LIE(.id = "affine-param-dtype-3", .base = zq, .mut = mut_entry_field, .a = 0, .b = AT(R_SP, 1), .c = 1, .d = 3,
        .error = ERR(BAD_SCHEME), .clauses = "S-4", .desc = "An AFFINE tensor has param_dtype 3.");
    LIE(.id = "affine-group-48", .base = zq, .mut = mut_entry_field, .a = 0, .b = AT(R_SP, 2), .c = 2, .d = 48, .error = ERR(BAD_SCHEME),
        .clauses = "S-4", .desc = "An AFFINE tensor has group_size 48.");
    LIE(.id = "affine-cols-not-multiple", .base = zq, .mut = mut_entry_field, .a = 0, .b = AT(R_DIMS, 8), .c = 8, .d = 48,
        .error = ERR(BAD_SCHEME), .clauses = "S-5", .desc = "An AFFINE tensor of shape [0, 48] with group_size 32: cols is no multiple of it.");
    LIE(.id = "symmetric-bits-9", .base = zq, .mut = mut_entry_field, .a = 1, .b = AT(R_SP, 0), .c = 1, .d = 9, .error = ERR(BAD_SCHEME),
        .clauses = "S-6", .desc = "A SYMMETRIC tensor has bits 9.");
    LIE(.id = "symmetric-bits-1", .base = zq, .mut = mut_entry_field, .a = 1, .b = AT(R_SP, 0), .c = 1, .d = 1, .error = ERR(BAD_SCHEME),
        .clauses = "S-6", .desc = "A SYMMETRIC tensor has bits 1.");
    LIE(.id = "symmetric-param-dtype-3", .base = zq, .mut = mut_entry_field, .a = 1, .b = AT(R_SP, 1), .c = 1, .d = 3,
        .error = ERR(BAD_SCHEME), .clauses = "S-6", .desc = "A SYMMETRIC tensor has param_dtype 3.");
    LIE(.id = "symmetric-block-8", .base = zq, .mut = mut_entry_field, .a = 1, .b = AT(R_SP, 2), .c = 2, .d = 8, .error = ERR(BAD_SCHEME),
        .clauses = "S-6", .desc = "A SYMMETRIC tensor has block_size 8.");
    LIE(.id = "symmetric-block-512", .base = zq, .mut = mut_entry_field, .a = 1, .b = AT(R_SP, 2), .c = 2, .d = 512,
        .error = ERR(BAD_SCHEME), .clauses = "S-6", .desc = "A SYMMETRIC tensor has block_size 512.");
    LIE(.id = "symmetric-cols-not-multiple", .base = zq, .mut = mut_symmetric_cols, .a = 0, .error = ERR(BAD_SCHEME), .clauses = "S-5",
        .desc = "A SYMMETRIC tensor of shape [0, 48] with block_size 32.");
    LIE(.id = "ecsq-alphabet-0", .base = zq, .mut = mut_ecsq_qz, .a = 3, .b = 0, .c = 0, .error = ERR(BAD_SCHEME), .clauses = "S-7",
        .desc = "An ECSQ tensor with alphabet 0 (and zero code 0).");
    LIE(.id = "ecsq-alphabet-257", .base = zq, .mut = mut_entry_field, .a = 3, .b = AT(R_SP, 0), .c = 2, .d = 257,
        .error = ERR(LIMIT), .clauses = "S-7", .desc = "An ECSQ tensor with alphabet 257.");
    LIE(.id = "ecsq-alphabet-65535", .base = zq, .mut = mut_entry_field, .a = 3, .b = AT(R_SP, 0), .c = 2, .d = 65535,
        .error = ERR(LIMIT), .clauses = "S-7", .desc = "An ECSQ tensor with alphabet 65535.");
    LIE(.id = "ecsq-zero-code-equals-alphabet", .base = zq, .mut = mut_entry_field, .a = 3, .b = AT(R_SP, 2), .c = 2, .d = 3,
        .error = ERR(BAD_SCHEME), .clauses = "S-7", .desc = "An ECSQ tensor with alphabet 3 and zero code 3.");
    LIE(.id = "ecsq-escape-is-zero-code", .base = zq, .mut = mut_entry_field, .a = 3, .b = AT(R_SP, 2), .c = 2, .d = 2,
        .error = ERR(BAD_SCHEME), .clauses = "S-7", .desc = "An ECSQ tensor with HAS_ESCAPE, alphabet 3 and zero code 2 = Q-1, the escape code.");
    LIE(.id = "ecsq-escape-alphabet-1", .base = zq, .mut = mut_ecsq_qz, .a = 3, .b = 1, .c = 0, .error = ERR(BAD_SCHEME),
        .clauses = "S-7", .desc = "An ECSQ tensor with HAS_ESCAPE and alphabet 1 (escapes need Q >= 2).");
    LIE(.id = "ecsq-flag-bit2", .base = zq, .mut = mut_entry_field, .a = 3, .b = AT(R_SP, 4), .c = 1, .d = ESC | 4,
        .error = ERR(BAD_SCHEME), .clauses = "S-7", .desc = "An ECSQ tensor's flags have bit 2 set, which is not defined.");
    LIE(.id = "ecsq-flag-bit7", .base = mixed, .mut = mut_entry_field, .a = 2, .b = AT(R_SP, 4), .c = 1, .d = ESC | 0x80,
        .error = ERR(BAD_SCHEME), .clauses = "S-7", .desc = "An ECSQ tensor's flags have bit 7 set.");
    LIE(.id = "ecsq-step-nan", .base = raw_esc, .mut = mut_step, .a = 0, .b = 1, .c = 0x7FC00000u, .error = ERR(BAD_SCHEME),
        .clauses = "S-8", .desc = "The second per-row step is NaN (blob re-signed).");
    LIE(.id = "ecsq-step-negative", .base = raw_esc, .mut = mut_step, .a = 0, .b = 2, .c = 0xBF800000u, .error = ERR(BAD_SCHEME),
        .clauses = "S-8", .desc = "The third per-row step is -1.0 (blob re-signed).");
    LIE(.id = "ecsq-step-infinite", .base = raw_esc, .mut = mut_step, .a = 0, .b = 0, .c = 0x7F800000u, .error = ERR(BAD_SCHEME),
        .clauses = "S-8", .desc = "The first per-row step is +infinity (blob re-signed).");
    LIE(.id = "ecsq-step-negative-subnormal", .base = raw_noesc, .mut = mut_step, .a = 0, .b = 0, .c = 0x80000001u,
        .error = ERR(BAD_SCHEME), .clauses = "S-8", .desc = "The single step is the negative subnormal -2^-149 (blob re-signed).");
    LIE(.id = "ecsq-step-nan-empty", .base = zq, .mut = mut_step, .a = 3, .b = 0, .c = 0x7FC00000u, .error = ERR(BAD_SCHEME),
        .clauses = "S-8 K-2", .desc = "The step of an ECSQ tensor with no element is NaN (its params still hold one step).");
    LIE(.id = "affine-scale-nan", .base = mixed, .mut = mut_param, .a = 0, .b = 1, .c = 0x7E00, .error = ERR(BAD_SCHEME),
        .clauses = "S-9", .desc = "An AFFINE f16 scale is NaN (blob re-signed).");
    LIE(.id = "affine-bias-infinite", .base = mixed, .mut = mut_param, .a = 0, .b = 6, .c = 0xFC00, .error = ERR(BAD_SCHEME),
        .clauses = "S-9", .desc = "An AFFINE f16 bias is -infinity (blob re-signed).");
    LIE(.id = "affine-f32-scale-nan", .base = fs_q_combo[0], .mut = mut_param, .a = 0, .b = 3, .c = 0x7FC00001u, .error = ERR(BAD_SCHEME),
        .clauses = "S-9", .desc = "An AFFINE f32 scale is a NaN (blob re-signed).");
    LIE(.id = "symmetric-scale-infinite", .base = mixed, .mut = mut_param, .a = 4, .b = 0, .c = 0x7C00, .error = ERR(BAD_SCHEME),
        .clauses = "S-9", .desc = "A SYMMETRIC f16 scale d is +infinity (blob re-signed).");
    LIE(.id = "symmetric-bf16-scale-nan", .base = fs_q_combo[14], .mut = mut_param, .a = 0, .b = 2, .c = 0xFFC1, .error = ERR(BAD_SCHEME),
        .clauses = "S-9", .desc = "A SYMMETRIC bf16 scale d is a NaN (blob re-signed).");

    /* ---- section 8: codings ---- */
    LIE(.id = "raw-coding-params", .base = mixed, .mut = mut_entry_field, .a = 0, .b = AT(R_CP, 0), .c = 1, .d = 1,
        .error = ERR(RESERVED_NONZERO), .clauses = "K-1", .desc = "A RAW tensor's coding_params start with 1.");
    LIE(.id = "raw-coding-params-last", .base = mixed, .mut = mut_entry_field, .a = 1, .b = AT(R_CP, 15), .c = 1, .d = 0x10,
        .error = ERR(RESERVED_NONZERO), .clauses = "K-1", .desc = "The last byte of a RAW tensor's coding_params is 0x10.");
    LIE(.id = "zstd-coding-params", .base = zh, .mut = mut_entry_field, .a = 0, .b = AT(R_CP, 3), .c = 1, .d = 1,
        .error = ERR(RESERVED_NONZERO), .clauses = "K-1", .desc = "A ZSTD tensor's coding_params are not all zero.");
    LIE(.id = "rans-reserved", .base = mixed, .mut = mut_entry_field, .a = 2, .b = AT(R_CP, 12), .c = 4, .d = 1,
        .error = ERR(RESERVED_NONZERO), .clauses = "K-1", .desc = "The reserved u32 of a RANS tensor's coding_params is 1.");
    LIE(.id = "prefix-reserved", .base = mixed, .mut = mut_entry_field, .a = 4, .b = AT(R_CP, 15), .c = 1, .d = 1,
        .error = ERR(RESERVED_NONZERO), .clauses = "K-1", .desc = "The last reserved byte of a PREFIX tensor's coding_params is 1.");
    LIE(.id = "empty-tensor-zstd", .base = &fs_zero_dim_none, .mut = mut_entry_field, .a = 0, .b = AT(R_ENTRY, 4), .c = 1, .d = ZSTD,
        .error = ERR(BAD_CODING), .clauses = "K-2", .desc = "A tensor with no element claims coding ZSTD (it must be RAW).");
    LIE(.id = "rans-precision-9", .base = mixed, .mut = mut_rans_precision, .a = 2, .b = 9, .error = ERR(BAD_CODING), .clauses = "K-6",
        .desc = "A RANS tensor with precision 9 (its table rescaled to sum to 2^9; blob re-signed).");
    LIE(.id = "rans-precision-16", .base = mixed, .mut = mut_rans_precision, .a = 2, .b = 16, .error = ERR(BAD_CODING), .clauses = "K-6",
        .desc = "A RANS tensor with precision 16 (its table rescaled to sum to 2^16; blob re-signed).");
    LIE(.id = "prefix-max-length-0", .base = mixed, .mut = mut_entry_field, .a = 4, .b = AT(R_CP, 0), .c = 1, .d = 0,
        .error = ERR(BAD_CODING), .also = ERR(BAD_TABLE), .clauses = "K-6", .desc = "A PREFIX tensor with max_length 0.",
        .note = "Not a single violation: every used code length is then above max_length ([P-2]).");
    LIE(.id = "prefix-max-length-13", .base = mixed, .mut = mut_entry_field, .a = 4, .b = AT(R_CP, 0), .c = 1, .d = 13,
        .error = ERR(BAD_CODING), .clauses = "K-6", .desc = "A PREFIX tensor with max_length 13.");
    LIE(.id = "lanes-0", .base = mixed, .mut = mut_entry_field, .a = 2, .b = AT(R_CP, 1), .c = 1, .d = 0, .error = ERR(BAD_CODING),
        .clauses = "K-7", .desc = "A RANS tensor with 0 lanes.");
    LIE(.id = "lanes-3", .base = mixed, .mut = mut_entry_field, .a = 2, .b = AT(R_CP, 1), .c = 1, .d = 3, .error = ERR(BAD_CODING),
        .clauses = "K-7", .desc = "A RANS tensor with 3 lanes (not a power of two).");
    LIE(.id = "lanes-128", .base = mixed, .mut = mut_entry_field, .a = 4, .b = AT(R_CP, 1), .c = 1, .d = 128, .error = ERR(BAD_CODING),
        .clauses = "K-7", .desc = "A PREFIX tensor with 128 lanes.");
    LIE(.id = "pack-0", .base = mixed, .mut = mut_entry_field, .a = 4, .b = AT(R_CP, 2), .c = 1, .d = 0, .error = ERR(BAD_CODING),
        .clauses = "K-8", .desc = "A PREFIX tensor with pack 0.");
    LIE(.id = "pack-3", .base = mixed, .mut = mut_entry_field, .a = 4, .b = AT(R_CP, 2), .c = 1, .d = 3, .error = ERR(BAD_CODING),
        .clauses = "K-8", .desc = "A PREFIX tensor with pack 3.");
    LIE(.id = "pack-2-alphabet-40", .base = &fs_pack2_q16, .mut = mut_ecsq_qz, .a = 0, .b = 40, .c = 8, .error = ERR(BAD_CODING),
        .clauses = "K-8", .desc = "A RANS pack-2 tensor claims alphabet 40 (pack 2 needs Q <= 16); its table, tiles and codes (all "
                                  "below 16) are otherwise consistent.");
    LIE(.id = "stripe-rows-0", .base = mixed, .mut = mut_entry_field, .a = 2, .b = AT(R_CP, 3), .c = 1, .d = 0, .error = ERR(BAD_CODING),
        .clauses = "K-9", .desc = "A RANS tensor with stripe_rows 0.");
    LIE(.id = "tile-rows-0", .base = mixed, .mut = mut_entry_field, .a = 2, .b = AT(R_CP, 4), .c = 4, .d = 0, .error = ERR(BAD_CODING),
        .clauses = "K-10", .desc = "A RANS tensor with tile_rows 0.");
    LIE(.id = "tile-cols-0", .base = mixed, .mut = mut_entry_field, .a = 4, .b = AT(R_CP, 8), .c = 4, .d = 0, .error = ERR(BAD_CODING),
        .clauses = "K-10", .desc = "A PREFIX tensor with tile_cols 0.");
    LIE(.id = "tile-too-large", .base = mixed, .mut = mut_entry_field, .a = 2, .b = AT(R_CP, 8), .c = 4, .d = 349526,
        .error = ERR(LIMIT), .clauses = "K-10", .desc = "Tiles of 3 x 349526 = 1048578 elements, above 2^20 (the tensor is 20 columns "
                                                      "wide, so the tile grid is unchanged).");
    LIE(.id = "tiles-too-many", .base = &fs_rans_prec10, .mut = mut_many_tiles, .a = 0, .error = ERR(LIMIT), .also = ERR(BAD_LAYOUT),
        .clauses = "G-1", .desc = "A RANS tensor of shape [65536, 65537] in 1x1 tiles: 2^32 + 65536 tiles, above 2^32 - 1.",
        .note = "Not a single violation: the tile_index part would need 32 GiB, so its stored size is wrong too ([B-2]).");

    /* ---- 8.4, 8.5: tables ---- */
    LIE(.id = "rans-table-sum", .base = mixed, .mut = mut_rans_table, .a = 2, .b = 0, .error = ERR(BAD_TABLE), .clauses = "R-2",
        .desc = "rANS frequencies sum to M + 1 (blob re-signed).");
    LIE(.id = "rans-table-packed-invalid", .base = mixed, .mut = mut_rans_table, .a = 2, .b = 1, .error = ERR(BAD_TABLE),
        .clauses = "R-3 G-4", .desc = "With pack 2 and alphabet 6, the symbol lo = 0, hi = 6 has frequency 1 (sum kept; blob re-signed): "
                                      "it would decode to a code >= Q.");
    LIE(.id = "prefix-table-too-long", .base = mixed, .mut = mut_prefix_table, .a = 4, .b = 0, .error = ERR(BAD_TABLE),
        .clauses = "P-2", .desc = "A prefix code length of max_length + 1 (blob re-signed).");
    LIE(.id = "prefix-table-packed-invalid", .base = &fs_prefix_w1, .mut = mut_prefix_table, .a = 0, .b = 1, .error = ERR(BAD_TABLE),
        .clauses = "P-3 G-4", .desc = "With pack 2 and alphabet 4, the symbol lo = 0, hi = 4 is used (the code stays complete; blob re-signed).");
    LIE(.id = "prefix-table-incomplete", .base = mixed, .mut = mut_prefix_table, .a = 4, .b = 2, .error = ERR(BAD_TABLE),
        .clauses = "P-4", .desc = "A prefix code whose Kraft sum is below 1 (one code one bit longer; blob re-signed).");
    LIE(.id = "prefix-table-oversubscribed", .base = mixed, .mut = mut_prefix_table, .a = 4, .b = 3, .error = ERR(BAD_TABLE),
        .clauses = "P-4", .desc = "A prefix code whose Kraft sum is above 1 (one code one bit shorter; blob re-signed).");
    LIE(.id = "prefix-table-empty", .base = mixed, .mut = mut_prefix_table, .a = 4, .b = 4, .error = ERR(BAD_TABLE), .clauses = "P-4",
        .desc = "A prefix table with no used symbol (blob re-signed).");
    LIE(.id = "prefix-table-single-length-2", .base = &fs_prefix_single, .mut = mut_prefix_table, .a = 0, .b = 5,
        .error = ERR(BAD_TABLE), .clauses = "P-4", .desc = "A prefix table whose only used symbol has length 2 (it must be 1; blob re-signed).");

    /* ---- 9.4: tile index ---- */
    LIE(.id = "tile-index-start", .base = mixed, .mut = mut_tile_index, .a = 2, .b = 0, .error = ERR(BAD_TILE_INDEX),
        .clauses = "G-3", .desc = "The tile index starts at 4, not 0 (blob re-signed).");
    LIE(.id = "tile-index-decreasing", .base = mixed, .mut = mut_tile_index, .a = 2, .b = 1, .error = ERR(BAD_TILE_INDEX),
        .clauses = "G-3", .desc = "idx[1] > idx[2]: the tile index decreases (blob re-signed).");
    LIE(.id = "tile-index-not-multiple-of-4", .base = mixed, .mut = mut_tile_index, .a = 2, .b = 2, .error = ERR(BAD_TILE_INDEX),
        .clauses = "G-3", .desc = "Tile 0 is 2 bytes longer than stored (its size is no multiple of 4; blob re-signed).");
    LIE(.id = "tile-index-end", .base = mixed, .mut = mut_tile_index, .a = 4, .b = 3, .error = ERR(BAD_TILE_INDEX),
        .clauses = "G-3", .desc = "idx[T] is 4 more than the data part's size (blob re-signed).");
    LIE(.id = "tile-index-below-states", .base = mixed, .mut = mut_tile_index, .a = 2, .b = 4, .error = ERR(BAD_TILE_INDEX),
        .clauses = "G-3", .desc = "A RANS tile of 4 bytes, less than the 4*W = 16 bytes of its lane states (blob re-signed).");

    /* ---- 7.3.1: escapes ---- */
    LIE(.id = "escapes-start-nonzero", .base = mixed, .mut = mut_escapes, .a = 2, .b = 0, .error = ERR(BAD_ESCAPES), .clauses = "E-1",
        .desc = "The escape index starts at 1 (blob re-signed).");
    LIE(.id = "escapes-decreasing", .base = mixed, .mut = mut_escapes, .a = 2, .b = 1, .error = ERR(BAD_ESCAPES), .clauses = "E-1",
        .desc = "start[1] > start[2]: the escape index decreases (blob re-signed).");
    LIE(.id = "escapes-size", .base = mixed, .mut = mut_escapes, .a = 2, .b = 2, .error = ERR(BAD_ESCAPES), .clauses = "E-1",
        .desc = "The escapes part holds one value more than start[T] (blob re-signed).");
    LIE(.id = "escapes-missing", .base = raw_esc, .mut = mut_escapes, .a = 0, .b = 8, .error = ERR(BAD_ESCAPES), .clauses = "E-1",
        .desc = "An ECSQ tensor with HAS_ESCAPE and elements has an empty escapes part.");
    LIE(.id = "escapes-tile-counts", .base = mixed, .mut = mut_escapes, .a = 2, .b = 3, .error = ERR(BAD_ESCAPES), .clauses = "E-2 E-1",
        .desc = "One escape value is assigned to the wrong tile (start[1] + 1): tile counts differ from the escape codes (blob re-signed).");
    LIE(.id = "escapes-raw-count", .base = raw_esc, .mut = mut_escapes, .a = 0, .b = 7, .error = ERR(BAD_ESCAPES), .clauses = "E-2",
        .desc = "A RAW tensor's escapes part holds one value (and count) more than its escape codes (blob re-signed).");
    LIE(.id = "escapes-raw-fewer-codes", .base = raw_esc, .mut = mut_raw_data, .a = 0, .b = 2, .error = ERR(BAD_ESCAPES),
        .clauses = "E-2", .desc = "An escape code in RAW data became code 0: fewer escape codes than values (blob re-signed).");
    LIE(.id = "escapes-representable", .base = mixed, .mut = mut_escapes, .a = 2, .b = 4, .error = ERR(BAD_ESCAPES), .clauses = "E-3",
        .desc = "An escape value of 0, which the alphabet represents without escape (blob re-signed).");
    LIE(.id = "escapes-2pow24", .base = mixed, .mut = mut_escapes, .a = 2, .b = 5, .error = ERR(BAD_ESCAPES), .clauses = "E-3",
        .desc = "An escape value of 2^24 (|k| must be below 2^24; blob re-signed).");
    LIE(.id = "escapes-minus-2pow24", .base = mixed, .mut = mut_escapes, .a = 2, .b = 6, .error = ERR(BAD_ESCAPES), .clauses = "E-3",
        .desc = "An escape value of -2^24 (blob re-signed).");

    /* ---- 8.1, 8.2: RAW and ZSTD streams ---- */
    LIE(.id = "raw-tail-bits", .base = raw_noesc, .mut = mut_raw_data, .a = 0, .b = 0, .error = ERR(NONZERO_PADDING), .clauses = "K-3",
        .desc = "The unused high bits of the last RAW data byte are not zero (blob re-signed).");
    LIE(.id = "raw-code-above-alphabet", .base = raw_noesc, .mut = mut_raw_data, .a = 0, .b = 1, .c = 7, .error = ERR(CORRUPT_STREAM),
        .clauses = "K-4", .desc = "A RAW code of 15 with alphabet 11 (width 4; blob re-signed).");
    LIE(.id = "zstd-no-content-size", .base = zh, .mut = mut_zstd_hand, .a = 3, .b = 6, .error = ERR(CORRUPT_STREAM), .clauses = "K-5",
        .desc = "The zstd frame does not declare its content size (blob re-signed).");
    LIE(.id = "zstd-content-size-larger", .base = zh, .mut = mut_zstd_hand, .a = 3, .b = 7, .error = ERR(CORRUPT_STREAM),
        .clauses = "K-5", .desc = "The zstd frame declares one byte more than the RAW size (its blocks hold the RAW size; blob re-signed).");
    LIE(.id = "zstd-content-size-smaller", .base = zh, .mut = mut_zstd_hand, .a = 3, .b = 8, .error = ERR(CORRUPT_STREAM),
        .clauses = "K-5", .desc = "The zstd frame declares one byte less than the RAW size (blob re-signed).");
    LIE(.id = "zstd-content-short", .base = zh, .mut = mut_zstd_hand, .a = 3, .b = 9, .error = ERR(CORRUPT_STREAM), .clauses = "K-5",
        .desc = "The zstd frame declares the RAW size but its blocks hold one byte less (blob re-signed).");
    LIE(.id = "zstd-reserved-bit", .base = zh, .mut = mut_zstd_hand, .a = 3, .b = 10, .error = ERR(CORRUPT_STREAM), .clauses = "K-5",
        .desc = "The zstd Frame_Header_Descriptor has its reserved bit set (blob re-signed).");
    LIE(.id = "zstd-dictionary", .base = zh, .mut = mut_zstd_hand, .a = 3, .b = 13, .error = ERR(CORRUPT_STREAM), .clauses = "K-5",
        .desc = "The zstd frame names dictionary 1 (blob re-signed).");
    LIE(.id = "zstd-window-too-large", .base = zh, .mut = mut_zstd_hand, .a = 1, .b = 15, .error = ERR(CORRUPT_STREAM), .clauses = "K-5",
        .desc = "The zstd frame's Window_Descriptor asks for 2^27 + 2^24 bytes, more than 2^27 (blob re-signed).");
    LIE(.id = "zstd-trailing-byte", .base = zh, .mut = mut_zstd_frame, .a = 3, .b = 0, .error = ERR(CORRUPT_STREAM), .clauses = "K-5",
        .desc = "A zero byte follows the zstd frame inside the data part (blob re-signed).");
    LIE(.id = "zstd-two-frames", .base = zh, .mut = mut_zstd_frame, .a = 3, .b = 1, .error = ERR(CORRUPT_STREAM), .clauses = "K-5",
        .desc = "The data part holds two zstd frames, each with half of the content (blob re-signed).");
    LIE(.id = "zstd-skippable-frame", .base = zh, .mut = mut_zstd_frame, .a = 3, .b = 2, .error = ERR(CORRUPT_STREAM),
        .clauses = "K-5", .desc = "A skippable frame precedes the zstd frame (blob re-signed).");
    LIE(.id = "zstd-bad-magic", .base = zh, .mut = mut_zstd_frame, .a = 3, .b = 3, .error = ERR(CORRUPT_STREAM), .clauses = "K-5",
        .desc = "The data part does not start with the zstd frame magic (blob re-signed).");
    LIE(.id = "zstd-truncated", .base = zh, .mut = mut_zstd_frame, .a = 3, .b = 4, .error = ERR(CORRUPT_STREAM), .clauses = "K-5",
        .desc = "The zstd frame lost its last byte (blob re-signed).");
    LIE(.id = "zstd-checksum-mismatch", .base = zh, .mut = mut_zstd_frame, .a = 1, .b = 6, .error = ERR(CORRUPT_STREAM),
        .clauses = "K-5", .desc = "The zstd frame's Content_Checksum does not match its content (blob re-signed).");
    LIE(.id = "zstd-empty-data", .base = zh, .mut = mut_zstd_frame, .a = 3, .b = 7, .error = ERR(CORRUPT_STREAM),
        .also = ERR(BAD_LAYOUT), .clauses = "K-5 B-2", .desc = "A ZSTD tensor with elements has an empty data part (blob re-signed).",
        .note = "[K-5] (exactly one frame) gives CORRUPT_STREAM; [B-2] leaves data sizes 'variable for the entropy codings', which "
                "can be read as not covering ZSTD (BAD_LAYOUT).");
    LIE(.id = "zstd-tail-bits", .base = zh, .mut = mut_zstd_hand, .a = 3, .b = 3, .c = 1, .error = ERR(NONZERO_PADDING),
        .clauses = "K-5 K-3", .desc = "The decompressed RAW bytes have nonzero unused high bits in their last byte (blob re-signed).");
    LIE(.id = "zstd-code-above-alphabet", .base = zh, .mut = mut_zstd_hand, .a = 3, .b = 3, .c = 2, .d = 4,
        .error = ERR(CORRUPT_STREAM), .clauses = "K-5 K-4", .desc = "The decompressed RAW bytes hold the code 7 with alphabet 7 (blob re-signed).");
    LIE(.id = "zstd-escape-count", .base = zh, .mut = mut_zstd_hand, .a = 3, .b = 3, .c = 3, .error = ERR(BAD_ESCAPES),
        .clauses = "K-5 E-2", .desc = "In the decompressed RAW bytes an escape code became code 0: fewer escape codes than values.");

    /* ---- 9.5, 9.6: tiles ---- */
    LIE(.id = "rans-state-below-2pow16", .base = mixed, .mut = mut_stream, .a = 2, .b = 0, .c = 0, .error = ERR(CORRUPT_STREAM),
        .clauses = "R-5", .desc = "A rANS lane's initial state is 0xFFFF, below 2^16 (blob re-signed).");
    LIE(.id = "rans-idle-lane-state", .base = &fs_idle_lanes, .mut = mut_stream, .a = 0, .b = 0, .c = 1, .error = ERR(CORRUPT_STREAM),
        .clauses = "R-7 R-5", .desc = "An idle lane (no symbol: the tile is 37 columns wide, W = 64) has state 2^16 + 1: its final state "
                                      "is not 2^16 (blob re-signed).");
    LIE(.id = "rans-state-changed", .base = mixed, .mut = mut_stream, .a = 2, .b = 1, .c = 2, .error = ERR(CORRUPT_STREAM),
        .clauses = "R-7", .desc = "A rANS lane's initial state is one more than the encoder's (blob re-signed).");
    LIE(.id = "rans-stream-short", .base = mixed, .mut = mut_stream, .a = 2, .b = 0, .c = 3, .error = ERR(CORRUPT_STREAM),
        .clauses = "R-6", .desc = "A rANS tile lost the last 4 bytes of its word stream (tile index follows; blob re-signed).");
    LIE(.id = "rans-stream-extra", .base = mixed, .mut = mut_stream, .a = 2, .b = 1, .c = 4, .error = ERR(CORRUPT_STREAM),
        .clauses = "R-8", .desc = "A rANS tile has 2 more (zero) words than its lanes take (blob re-signed).");
    LIE(.id = "rans-padding-word", .base = mixed, .mut = mut_stream, .a = 2, .b = 0, .c = 5, .error = ERR(NONZERO_PADDING),
        .clauses = "R-4", .desc = "The padding word after an odd rANS word stream is 1 (blob re-signed).");
    LIE(.id = "prefix-stream-short", .base = mixed, .mut = mut_stream, .a = 4, .b = 0, .c = 3, .error = ERR(CORRUPT_STREAM),
        .clauses = "R-6", .desc = "A prefix tile lost its last 4 bytes (blob re-signed).");
    LIE(.id = "prefix-stream-extra", .base = mixed, .mut = mut_stream, .a = 4, .b = 0, .c = 4, .error = ERR(CORRUPT_STREAM),
        .clauses = "R-8", .desc = "A prefix tile has 2 more (zero) words than its lanes take (blob re-signed).");
    LIE(.id = "prefix-padding-word", .base = &fs_prefix_w1, .mut = mut_stream, .a = 1, .b = 0, .c = 5, .error = ERR(NONZERO_PADDING),
        .clauses = "P-5", .desc = "The padding word after an odd prefix word stream is 1 (blob re-signed).");
    LIE(.id = "prefix-no-code", .base = &fs_prefix_single, .mut = mut_stream, .a = 0, .b = 0, .c = 6, .error = ERR(CORRUPT_STREAM),
        .clauses = "P-6", .desc = "A single-symbol prefix code ('0') meets the bit 1, which matches no code (blob re-signed).");
    LIE(.id = "prefix-unused-bits", .base = &fs_prefix_w1, .mut = mut_stream, .a = 1, .b = 0, .c = 7, .error = ERR(CORRUPT_STREAM),
        .clauses = "P-8", .desc = "An unused low bit of a prefix lane's last word is 1 (blob re-signed).");
    LIE(.id = "packed-padding-code", .base = &fs_prefix_w1, .mut = mut_stream, .a = 0, .b = 0, .c = 8, .error = ERR(CORRUPT_STREAM),
        .clauses = "G-2", .desc = "With pack 2 and an odd lane, the last symbol's high (padding) code decodes as nonzero (stream "
                                  "re-encoded; blob re-signed).");
}
