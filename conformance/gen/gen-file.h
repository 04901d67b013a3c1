/*
 * gen-file.h — the generator's own view of an ECQF file, written from spec/ecqf.md:
 *
 *  - xfile: a file "exploded" into header, directory head, metadata entries, and per tensor its
 *    directory entry and its five parts. xfile_serialize() lays it out again exactly as
 *    section 2 and 6.2 compute (offsets, zero padding, part sizes, blob checksums, header
 *    checksum), unless a vector asks to keep a field as it is (the lie it tells).
 *  - tinfo: the fields of one tensor entry, decoded.
 *  - spec_decode(): a literal implementation of sections 8.1 to 9.7 (RAW unpacking, the tile
 *    grid, lane order, rANS and prefix tiles, escapes). The generator runs it on every valid
 *    vector it writes (the codes must be the ones it asked the writer to store) and on every
 *    crafted stream (the lie must be detected, and detected as the manifest says).
 *  - zstd_frame(): Zstandard frames (RFC 8878) made by hand from raw and RLE blocks, so that
 *    the frame-level vectors do not depend on the libzstd version.
 */
#ifndef ECQF_GEN_FILE_H
#define ECQF_GEN_FILE_H

#include <zstd.h>

#include "gen-core.h"

#define MAX_TENSORS 16
#define MAX_META 32

enum { PART_PARAMS, PART_TABLE, PART_TILE_INDEX, PART_ESCAPES, PART_DATA };

/* Offsets of the fields of a tensor entry, from its name_length and ndim (section 6). */
typedef struct eoff {
    size_t name, dims, sp, cp, boff, psz, ck, end;
} eoff;
static eoff entry_offsets(const uint8_t *e) {
    eoff o;
    size_t nl = rd16(e), nd = e[2];
    o.name = 8;
    o.dims = 8 + nl;
    o.sp = o.dims + 8 * nd;
    o.cp = o.sp + 16;
    o.boff = o.cp + 16;
    o.psz = o.boff + 8;
    o.ck = o.psz + 40;
    o.end = o.ck + 32;
    return o;
}

typedef struct xtensor {
    bytes entry;          /* the directory entry, as stored */
    bytes part[5];        /* params, table, tile_index, escapes, data */
    /* serialize options: keep the stored field instead of computing it */
    int keep_checksum, keep_sizes, keep_offset;
    /* filled by xfile_serialize: absolute offsets in the output */
    uint64_t ser_entry, ser_blob, ser_blob_size, ser_part[5];
} xtensor;

typedef struct xfile {
    uint8_t hdr[96];
    uint8_t head[16];     /* directory head: metadata_count, tensor_count, reserved */
    bytes meta;           /* all metadata entries, as stored */
    unsigned nmeta;
    size_t meta_off[MAX_META + 1]; /* entry i is meta[meta_off[i], meta_off[i+1]) */
    xtensor t[MAX_TENSORS];
    unsigned nt;
    /* serialize options */
    uint32_t layout_align;   /* alignment used to lay out blobs (0: the header's) */
    int keep_counts;         /* keep head[] counts as stored */
    int keep_hdr_fields;     /* keep file_size, directory_offset, directory_size */
    int keep_hdr_checksum;   /* keep the stored header checksum */
    size_t extra_dir_pad;    /* zero bytes inserted before the directory (a lie) */
    uint64_t ser_dir;        /* filled by serialize */
} xfile;

static size_t meta_entry_size(const uint8_t *p, size_t avail) {
    size_t kl, n;
    if (avail < 3) die("metadata entry runs past the directory");
    kl = rd16(p);
    n = 2 + kl + 1;
    switch (p[2 + kl]) {
    case ECQF_META_U64: case ECQF_META_I64: case ECQF_META_F64: return n + 8;
    case ECQF_META_BOOL: return n + 1;
    case ECQF_META_STRING: case ECQF_META_BYTES: return n + 4 + rd32(p + n);
    default: die("unknown metadata type %u", p[2 + kl]);
    }
}

/* Explode a well-formed file (one the writer produced). */
static void xfile_explode(const bytes *f, xfile *x) {
    uint64_t dir, dsize, pos;
    memset(x, 0, sizeof *x);
    if (f->n < 96) die("explode: short file");
    memcpy(x->hdr, f->p, 96);
    dir = rd64(f->p + 40);
    dsize = rd64(f->p + 48);
    if (dir + dsize != f->n) die("explode: bad directory fields");
    memcpy(x->head, f->p + dir, 16);
    x->nmeta = rd32(x->head);
    x->nt = rd32(x->head + 4);
    if (x->nmeta > MAX_META || x->nt > MAX_TENSORS) die("explode: too many entries");
    pos = dir + 16;
    for (unsigned i = 0; i < x->nmeta; i++) {
        size_t n = meta_entry_size(f->p + pos, (size_t)(f->n - pos));
        x->meta_off[i] = x->meta.n;
        b_put(&x->meta, f->p + pos, n);
        pos += n;
    }
    x->meta_off[x->nmeta] = x->meta.n;
    for (unsigned i = 0; i < x->nt; i++) {
        xtensor *t = &x->t[i];
        eoff o = entry_offsets(f->p + pos);
        uint64_t boff, end = 0;
        b_put(&t->entry, f->p + pos, o.end);
        boff = rd64(t->entry.p + o.boff);
        for (int k = 0; k < 5; k++) {
            uint64_t sz = rd64(t->entry.p + o.psz + 8 * k);
            if (!sz) continue;
            end = align_up(end, 64);
            b_put(&t->part[k], f->p + boff + end, sz);
            end += sz;
        }
        pos += o.end;
    }
    if (pos != f->n) die("explode: directory has leftover bytes");
}

static void xfile_free(xfile *x) {
    b_free(&x->meta);
    for (unsigned i = 0; i < MAX_TENSORS; i++) {
        b_free(&x->t[i].entry);
        for (int k = 0; k < 5; k++) b_free(&x->t[i].part[k]);
    }
}

static void xfile_copy(xfile *dst, const xfile *src) {
    *dst = *src;
    b_copy(&dst->meta, &src->meta);
    for (unsigned i = 0; i < MAX_TENSORS; i++) {
        b_copy(&dst->t[i].entry, &src->t[i].entry);
        for (int k = 0; k < 5; k++) b_copy(&dst->t[i].part[k], &src->t[i].part[k]);
    }
}

/* Recompute the header checksum [H-12] from the header's own directory fields (which may be
 * lies); does nothing if they point outside the file. */
static void resign_header(bytes *f) {
    uint64_t dir = rd64(f->p + 40), dsize = rd64(f->p + 48);
    if (f->n < 96 || dir > f->n || dsize > f->n - dir) return;
    blake2b_2(f->p, 64, f->p + dir, (size_t)dsize, f->p + 64);
}

/* Lay the file out as sections 2 and 6.2 say. */
static void xfile_serialize(xfile *x, bytes *out) {
    uint32_t A = x->layout_align ? x->layout_align : rd32(x->hdr + 56);
    uint64_t pos = 96;
    out->n = 0;
    b_zeros(out, 96);
    for (unsigned i = 0; i < x->nt; i++) {
        xtensor *t = &x->t[i];
        eoff o = entry_offsets(t->entry.p);
        uint64_t boff = align_up(pos, A), end = 0;
        b_zeros(out, (size_t)(boff - out->n));
        t->ser_blob = boff;
        for (int k = 0; k < 5; k++) {
            t->ser_part[k] = boff + end;
            if (!t->part[k].n) continue;
            end = align_up(end, 64);
            t->ser_part[k] = boff + end;
            b_zeros(out, (size_t)(boff + end - out->n));
            b_put(out, t->part[k].p, t->part[k].n);
            end += t->part[k].n;
        }
        t->ser_blob_size = end;
        if (!t->keep_offset) wr64(t->entry.p + o.boff, boff);
        if (!t->keep_sizes)
            for (int k = 0; k < 5; k++) wr64(t->entry.p + o.psz + 8 * k, t->part[k].n);
        if (!t->keep_checksum) blake2b(out->p + boff, (size_t)end, t->entry.p + o.ck);
        pos = boff + end;
    }
    {
        uint64_t dir = align_up(pos, 8) + x->extra_dir_pad;
        b_zeros(out, (size_t)(dir - out->n));
        x->ser_dir = dir;
        if (!x->keep_counts) {
            wr32(x->head, x->nmeta);
            wr32(x->head + 4, x->nt);
        }
        b_put(out, x->head, 16);
        b_put(out, x->meta.p, x->meta.n);
        for (unsigned i = 0; i < x->nt; i++) {
            x->t[i].ser_entry = out->n;
            b_put(out, x->t[i].entry.p, x->t[i].entry.n);
        }
        memcpy(out->p, x->hdr, 96);
        if (!x->keep_hdr_fields) {
            wr64(out->p + 32, out->n);
            wr64(out->p + 40, dir);
            wr64(out->p + 48, out->n - dir);
        }
        if (!x->keep_hdr_checksum) resign_header(out);
        else memcpy(out->p + 64, x->hdr + 64, 32);
    }
}

/* After editing the bytes of blob i in a serialized file: store its new checksum [T-11] and
 * re-sign the header. */
static void resign_blob(bytes *f, const xfile *x, unsigned i) {
    const xtensor *t = &x->t[i];
    eoff o = entry_offsets(t->entry.p);
    blake2b(f->p + t->ser_blob, (size_t)t->ser_blob_size, f->p + t->ser_entry + o.ck);
    resign_header(f);
}

/* ---- one tensor entry, decoded ------------------------------------------------------------ */

typedef struct tinfo {
    unsigned name_len, ndim;
    uint64_t dims[8], rows, cols, numel;
    int scheme, coding, dtype;
    unsigned bits, group, Q, z, eflags, width;
    int pdtype;
    unsigned prec, maxlen, W, pack, S;
    uint32_t tile_rows, tile_cols;
    uint64_t T; /* tiles (1 for RAW and ZSTD) */
} tinfo;

static tinfo entry_info(const bytes *entry) {
    const uint8_t *e = entry->p;
    eoff o = entry_offsets(e);
    tinfo ti;
    memset(&ti, 0, sizeof ti);
    ti.name_len = rd16(e);
    ti.ndim = e[2];
    ti.scheme = e[3];
    ti.coding = e[4];
    ti.dtype = e[5];
    ti.numel = 1;
    for (unsigned d = 0; d < ti.ndim && d < 8; d++) {
        ti.dims[d] = rd64(e + o.dims + 8 * d);
        ti.numel *= ti.dims[d];
    }
    ti.cols = ti.ndim ? ti.dims[ti.ndim - 1] : 1;
    ti.rows = 1;
    for (unsigned d = 0; d + 1 < ti.ndim; d++) ti.rows *= ti.dims[d];
    switch (ti.scheme) {
    case ECQF_SCHEME_NONE: ti.width = 8 * (unsigned)dtype_size(ti.dtype); break;
    case ECQF_SCHEME_AFFINE:
    case ECQF_SCHEME_SYMMETRIC:
        ti.bits = e[o.sp];
        ti.pdtype = e[o.sp + 1];
        ti.group = rd16(e + o.sp + 2);
        ti.Q = 1u << ti.bits;
        ti.width = ti.bits;
        break;
    default:
        ti.Q = rd16(e + o.sp);
        ti.z = rd16(e + o.sp + 2);
        ti.eflags = e[o.sp + 4];
        ti.width = 1;
        while ((1u << ti.width) < ti.Q) ti.width++;
        break;
    }
    ti.T = 1;
    if (ti.coding == ECQF_CODING_RANS || ti.coding == ECQF_CODING_PREFIX) {
        const uint8_t *c = e + o.cp;
        ti.prec = ti.maxlen = c[0];
        ti.W = c[1];
        ti.pack = c[2];
        ti.S = c[3];
        ti.tile_rows = rd32(c + 4);
        ti.tile_cols = rd32(c + 8);
        ti.T = ((ti.rows + ti.tile_rows - 1) / ti.tile_rows) * ((ti.cols + ti.tile_cols - 1) / ti.tile_cols);
    }
    return ti;
}

static int has_escape(const tinfo *ti) {
    return ti->scheme == ECQF_SCHEME_ECSQ && (ti->eflags & ECQF_ECSQ_HAS_ESCAPE);
}

/* ---- section 9: tile grid, lane sequences, symbol order -------------------------------- */

typedef struct tilegeo {
    uint64_t r0, r1, c0, c1;
    uint32_t *seq[64];   /* lane l's element sequence, tile-local row-major indices (9.2) */
    uint32_t len[64];    /* its length (codes) */
    uint32_t nsym[64];   /* n_l: its symbols (9.3) */
    uint32_t steps;      /* Tmax */
} tilegeo;

static void tile_geometry(const tinfo *ti, uint64_t t, tilegeo *g) {
    uint64_t TC = (ti->cols + ti->tile_cols - 1) / ti->tile_cols, w, cap;
    memset(g, 0, sizeof *g);
    g->r0 = (t / TC) * ti->tile_rows;
    g->c0 = (t % TC) * ti->tile_cols;
    g->r1 = g->r0 + ti->tile_rows < ti->rows ? g->r0 + ti->tile_rows : ti->rows;
    g->c1 = g->c0 + ti->tile_cols < ti->cols ? g->c0 + ti->tile_cols : ti->cols;
    w = g->c1 - g->c0;
    cap = (g->r1 - g->r0) * ((w + ti->W - 1) / ti->W) + 1;
    for (unsigned l = 0; l < ti->W; l++) g->seq[l] = xmalloc((size_t)cap * sizeof(uint32_t));
    /* the loop of 9.2, literally */
    for (uint64_t s0 = g->r0; s0 < g->r1; s0 += ti->S) {
        uint64_t s1 = s0 + ti->S < g->r1 ? s0 + ti->S : g->r1;
        for (uint64_t j = 0; g->c0 + j * ti->W < g->c1; j++)
            for (uint64_t r = s0; r < s1; r++)
                for (unsigned l = 0; l < ti->W; l++) {
                    uint64_t c = g->c0 + j * ti->W + l;
                    if (c < g->c1) g->seq[l][g->len[l]++] = (uint32_t)((r - g->r0) * w + (c - g->c0));
                }
    }
    for (unsigned l = 0; l < ti->W; l++) {
        g->nsym[l] = (g->len[l] + ti->pack - 1) / ti->pack;
        if (g->nsym[l] > g->steps) g->steps = g->nsym[l];
    }
}
static void tilegeo_free(tilegeo *g) {
    for (unsigned l = 0; l < 64; l++) free(g->seq[l]);
}

/* Result of decoding one tile as the spec says. */
typedef struct tileres {
    int status;          /* ECQF_OK or the section 11 code the spec assigns */
    const char *clause;  /* the clause that failed */
    uint64_t words, taken;
    uint8_t *syms;       /* symbols in symbol order */
    uint64_t nsyms;
} tileres;

static int tile_end_check(tileres *res, const uint8_t *words) {
    /* every word taken; [R-4]/[P-5] one zero padding word after an odd stream */
    if (res->taken == res->words) return ECQF_OK;
    if (res->words - res->taken == 1 && (res->taken & 1)) {
        if (rd16(words + 2 * res->taken) == 0) return ECQF_OK;
        res->clause = "R-4/P-5";
        return res->status = ECQF_ERR_NONZERO_PADDING;
    }
    res->clause = "R-8";
    return res->status = ECQF_ERR_CORRUPT_STREAM;
}

/* 9.5 */
static int rans_tile(const tinfo *ti, const uint8_t *table, const tilegeo *g, const uint8_t *tile,
                     uint64_t size, tileres *res) {
    uint32_t M = 1u << ti->prec, x[64], cum[257];
    unsigned A = ti->pack == 2 ? 256 : ti->Q;
    const uint8_t *words = tile + 4 * ti->W;
    memset(res, 0, sizeof *res);
    res->syms = xmalloc((size_t)g->steps * ti->W + 1);
    cum[0] = 0;
    for (unsigned s = 0; s < A; s++) cum[s + 1] = cum[s] + rd16(table + 2 * s);
    if (size < 4u * ti->W || size % 4) { res->clause = "G-3"; return res->status = ECQF_ERR_CORRUPT_STREAM; }
    res->words = (size - 4u * ti->W) / 2;
    for (unsigned l = 0; l < ti->W; l++) {
        x[l] = rd32(tile + 4 * l);
        if (x[l] < 65536u) { res->clause = "R-5"; return res->status = ECQF_ERR_CORRUPT_STREAM; }
    }
    for (uint32_t t = 0; t < g->steps; t++)
        for (unsigned l = 0; l < ti->W; l++) {
            uint32_t v, s;
            if (t >= g->nsym[l]) continue;
            v = x[l] % M;
            for (s = 0; s < A && !(cum[s] <= v && v < cum[s + 1]); s++) {}
            if (s == A) { res->clause = "R-2"; return res->status = ECQF_ERR_BAD_TABLE; }
            x[l] = rd16(table + 2 * s) * (x[l] / M) + v - cum[s];
            if (x[l] < 65536u) {
                if (res->taken == res->words) { res->clause = "R-6"; return res->status = ECQF_ERR_CORRUPT_STREAM; }
                x[l] = x[l] * 65536u + rd16(words + 2 * res->taken++);
            }
            res->syms[res->nsyms++] = (uint8_t)s;
        }
    for (unsigned l = 0; l < ti->W; l++)
        if (x[l] != 65536u) { res->clause = "R-7"; return res->status = ECQF_ERR_CORRUPT_STREAM; }
    return tile_end_check(res, words);
}

/* Canonical codes of 8.5. */
static void prefix_codes(const uint8_t *len, unsigned A, uint16_t *code) {
    unsigned count[16] = {0}, next[16] = {0};
    for (unsigned s = 0; s < A; s++) if (len[s]) count[len[s]]++;
    for (unsigned n = 2; n < 16; n++) next[n] = (next[n - 1] + count[n - 1]) << 1;
    for (unsigned s = 0; s < A; s++) if (len[s]) code[s] = (uint16_t)next[len[s]]++;
}

/* 9.6 */
static int prefix_tile(const tinfo *ti, const uint8_t *table, const tilegeo *g, const uint8_t *tile,
                       uint64_t size, tileres *res) {
    unsigned A = ti->pack == 2 ? 256 : ti->Q;
    uint16_t code[256];
    uint32_t B[64], n[64];
    memset(res, 0, sizeof *res);
    res->syms = xmalloc((size_t)g->steps * ti->W + 1);
    prefix_codes(table, A, code);
    if (size % 4) { res->clause = "G-3"; return res->status = ECQF_ERR_CORRUPT_STREAM; }
    res->words = size / 2;
    for (unsigned l = 0; l < ti->W; l++) {
        B[l] = n[l] = 0;
        if (g->nsym[l] > 0) {
            if (res->taken == res->words) { res->clause = "R-6"; return res->status = ECQF_ERR_CORRUPT_STREAM; }
            B[l] = (uint32_t)rd16(tile + 2 * res->taken++) << 16;
            n[l] = 16;
        }
    }
    for (uint32_t t = 0; t < g->steps; t++)
        for (unsigned l = 0; l < ti->W; l++) {
            unsigned s, found = 256;
            if (t >= g->nsym[l]) continue;
            for (s = 0; s < A; s++)
                if (table[s] && (B[l] >> (32 - table[s])) == code[s]) { found = s; break; }
            if (found == 256) { res->clause = "P-6"; return res->status = ECQF_ERR_CORRUPT_STREAM; }
            if (table[found] > n[l]) { res->clause = "P-7"; return res->status = ECQF_ERR_CORRUPT_STREAM; }
            B[l] <<= table[found];
            n[l] -= table[found];
            if (n[l] < 16 && t + 1 < g->nsym[l]) {
                if (res->taken == res->words) { res->clause = "R-6"; return res->status = ECQF_ERR_CORRUPT_STREAM; }
                B[l] += (uint32_t)rd16(tile + 2 * res->taken++) << (16 - n[l]);
                n[l] += 16;
            }
            res->syms[res->nsyms++] = (uint8_t)found;
        }
    for (unsigned l = 0; l < ti->W; l++)
        if (B[l]) { res->clause = "P-8"; return res->status = ECQF_ERR_CORRUPT_STREAM; }
    return tile_end_check(res, tile);
}

/* W = 1 prefix encoder (the informative text of 9.6): the lane's bit string, cut into the words
 * the decoder takes, then a padding word if their number is odd. */
static void prefix_encode_w1(const uint8_t *len, unsigned A, const uint8_t *syms, uint64_t nsym, bytes *out) {
    uint16_t code[256];
    uint64_t words = 0, nbits = 0;
    uint8_t *bits;
    uint32_t n = 16;
    prefix_codes(len, A, code);
    for (uint64_t i = 0; i < nsym; i++) nbits += len[syms[i]];
    if (nsym) words = 1;
    for (uint64_t i = 0; i < nsym; i++) {
        n -= len[syms[i]];
        if (n < 16 && i + 1 < nsym) { words++; n += 16; }
    }
    if (words * 16 < nbits) die("prefix_encode_w1: word count");
    bits = xcalloc((size_t)words * 16 + 1, 1);
    nbits = 0;
    for (uint64_t i = 0; i < nsym; i++)
        for (int b = len[syms[i]] - 1; b >= 0; b--) bits[nbits++] = (code[syms[i]] >> b) & 1;
    out->n = 0;
    for (uint64_t w = 0; w < words; w++) {
        uint16_t v = 0;
        for (int b = 0; b < 16; b++) v = (uint16_t)(v << 1 | bits[16 * w + (uint64_t)b]);
        b_put16(out, v);
    }
    if (words & 1) b_put16(out, 0);
    free(bits);
}

/* ---- the whole tensor (8.1 to 9.7) ------------------------------------------------------ */

typedef struct decoded {
    int status;
    const char *clause;
    uint64_t tile;        /* where it failed */
    uint8_t *codes;       /* numel codes (quantized) or the raw value bytes (NONE) */
    int32_t *ints;        /* ECSQ integers */
    uint64_t escapes;     /* escape codes seen */
} decoded;

static int raw_unpack(const tinfo *ti, const uint8_t *data, uint64_t size, decoded *d) {
    uint64_t bits = ti->numel * ti->width;
    if (size != (bits + 7) / 8) { d->clause = "B-2"; return d->status = ECQF_ERR_BAD_LAYOUT; }
    for (uint64_t i = 0; i < ti->numel; i++) {
        unsigned u = 0;
        for (unsigned b = 0; b < ti->width; b++) {
            uint64_t j = i * ti->width + b;
            u |= (unsigned)((data[j / 8] >> (j % 8)) & 1) << b;
        }
        if (u >= ti->Q) { d->clause = "K-4"; return d->status = ECQF_ERR_CORRUPT_STREAM; }
        d->codes[i] = (uint8_t)u;
    }
    if (bits % 8 && (data[size - 1] >> (bits % 8))) { d->clause = "K-3"; return d->status = ECQF_ERR_NONZERO_PADDING; }
    return ECQF_OK;
}

/* Decode a tensor's codes from its parts, checking every stream rule of the spec. */
static int spec_decode(const xtensor *t, decoded *d) {
    tinfo ti = entry_info(&t->entry);
    const bytes *data = &t->part[PART_DATA], *esc = &t->part[PART_ESCAPES];
    uint8_t *raw = NULL;
    uint64_t rawn = 0;
    memset(d, 0, sizeof *d);
    d->codes = xmalloc((size_t)(ti.scheme == ECQF_SCHEME_NONE ? ti.numel * dtype_size(ti.dtype) : ti.numel));
    d->ints = xmalloc((size_t)ti.numel * sizeof(int32_t));
    if (ti.numel == 0) return ECQF_OK;
    if (ti.coding == ECQF_CODING_RAW || ti.coding == ECQF_CODING_ZSTD) {
        uint64_t want = (ti.numel * ti.width + 7) / 8;
        if (ti.coding == ECQF_CODING_ZSTD) {
            unsigned long long fcs;
            size_t fsz;
            /* [K-5]: no dictionary (ID absent or 0), a window of at most 2^27 bytes */
            if (data->n >= 6 && rd32(data->p) == 0xFD2FB528u) {
                uint8_t fhd = data->p[4];
                size_t pos = 5;
                if (!(fhd & 0x20)) {
                    unsigned wd = data->p[pos++], wlog = 10 + (wd >> 3);
                    uint64_t win = (1ull << wlog) + ((1ull << wlog) / 8) * (wd & 7);
                    if (win > (1ull << 27)) { d->clause = "K-5"; return d->status = ECQF_ERR_CORRUPT_STREAM; }
                }
                if (fhd & 3) {
                    static const unsigned dsz[4] = {0, 1, 2, 4};
                    uint64_t id = 0;
                    for (unsigned k = 0; k < dsz[fhd & 3] && pos + k < data->n; k++) id |= (uint64_t)data->p[pos + k] << (8 * k);
                    if (id) { d->clause = "K-5"; return d->status = ECQF_ERR_CORRUPT_STREAM; }
                }
            }
            fcs = ZSTD_getFrameContentSize(data->p, data->n);
            fsz = ZSTD_findFrameCompressedSize(data->p, data->n);
            if (data->n == 0 || fcs == ZSTD_CONTENTSIZE_UNKNOWN || fcs == ZSTD_CONTENTSIZE_ERROR || fcs != want ||
                ZSTD_isError(fsz) || fsz != data->n) { d->clause = "K-5"; return d->status = ECQF_ERR_CORRUPT_STREAM; }
            raw = xmalloc((size_t)want);
            rawn = ZSTD_decompress(raw, (size_t)want, data->p, data->n);
            if (ZSTD_isError(rawn) || rawn != want) { free(raw); d->clause = "K-5"; return d->status = ECQF_ERR_CORRUPT_STREAM; }
        } else {
            raw = xmalloc((size_t)data->n);
            memcpy(raw, data->p, data->n);
            rawn = data->n;
        }
        if (ti.scheme == ECQF_SCHEME_NONE) {
            if (rawn != want) { free(raw); d->clause = "B-2"; return d->status = ECQF_ERR_BAD_LAYOUT; }
            memcpy(d->codes, raw, (size_t)rawn);
            free(raw);
            return ECQF_OK;
        }
        if (raw_unpack(&ti, raw, rawn, d)) { free(raw); return d->status; }
        free(raw);
        /* escapes in row-major order (7.3.1) */
        for (uint64_t i = 0, k = 0; i < ti.numel; i++) {
            if (has_escape(&ti) && d->codes[i] == ti.Q - 1) {
                if (k >= rd32(esc->p + 4)) { d->clause = "E-2"; return d->status = ECQF_ERR_BAD_ESCAPES; }
                d->ints[i] = (int32_t)rd32(esc->p + 8 + 4 * k++);
                d->escapes++;
            } else
                d->ints[i] = (int32_t)d->codes[i] - (int32_t)ti.z;
        }
        if (has_escape(&ti) && d->escapes != rd32(esc->p + 4)) { d->clause = "E-2"; return d->status = ECQF_ERR_BAD_ESCAPES; }
        return ECQF_OK;
    }
    for (uint64_t tt = 0; tt < ti.T; tt++) {
        tilegeo g;
        tileres r;
        uint64_t a = rd64(t->part[PART_TILE_INDEX].p + 8 * tt), b = rd64(t->part[PART_TILE_INDEX].p + 8 * tt + 8);
        uint64_t w, e0 = 0, e1 = 0, k = 0, nesc = 0;
        int rc;
        tile_geometry(&ti, tt, &g);
        w = g.c1 - g.c0;
        if (ti.coding == ECQF_CODING_RANS) rc = rans_tile(&ti, t->part[PART_TABLE].p, &g, data->p + a, b - a, &r);
        else rc = prefix_tile(&ti, t->part[PART_TABLE].p, &g, data->p + a, b - a, &r);
        if (has_escape(&ti)) {
            e0 = rd32(esc->p + 4 * tt);
            e1 = rd32(esc->p + 4 * tt + 4);
        }
        if (!rc) {
            /* 9.7: symbols in symbol order back to elements; codes < Q [G-4]; [G-2] */
            uint64_t si = 0;
            for (uint32_t st = 0; st < g.steps && !rc; st++)
                for (unsigned l = 0; l < ti.W && !rc; l++) {
                    unsigned sym;
                    if (st >= g.nsym[l]) continue;
                    sym = r.syms[si++];
                    for (unsigned h = 0; h < ti.pack; h++) {
                        uint32_t pos = ti.pack * st + h;
                        unsigned u = ti.pack == 2 ? (h ? sym >> 4 : sym & 15) : sym;
                        if (pos >= g.len[l]) {
                            if (u) { r.clause = "G-2"; rc = ECQF_ERR_CORRUPT_STREAM; }
                            continue;
                        }
                        if (u >= ti.Q) { r.clause = "G-4"; rc = ECQF_ERR_CORRUPT_STREAM; break; }
                        {
                            uint32_t el = g.seq[l][pos];
                            uint64_t gi = (g.r0 + el / w) * ti.cols + g.c0 + el % w;
                            d->codes[gi] = (uint8_t)u;
                            if (has_escape(&ti) && u == ti.Q - 1) {
                                nesc++;
                                if (e0 + k < e1)
                                    d->ints[gi] = (int32_t)rd32(esc->p + 4 * (ti.T + 1) + 4 * (e0 + k));
                                k++;
                            } else
                                d->ints[gi] = (int32_t)u - (int32_t)ti.z;
                        }
                    }
                }
            if (!rc && has_escape(&ti) && nesc != e1 - e0) { r.clause = "E-2"; rc = ECQF_ERR_BAD_ESCAPES; }
        }
        d->escapes += nesc;
        free(r.syms);
        tilegeo_free(&g);
        if (rc) {
            d->clause = r.clause;
            d->tile = tt;
            return d->status = rc;
        }
    }
    return ECQF_OK;
}
static void decoded_free(decoded *d) {
    free(d->codes);
    free(d->ints);
}

/* ---- hand-made Zstandard frames (RFC 8878) ----------------------------------------------- */

typedef struct zopts {
    int fcs_bytes;        /* 0 (no Frame_Content_Size), 1 (single segment only), 2, 4 or 8 */
    int single_segment;   /* else a Window_Descriptor is written (window 1 KiB) */
    int64_t fcs_delta;    /* declared = real size + delta (a lie) */
    size_t block;         /* maximum raw block size (<= 1024) */
    int rle_runs;         /* use RLE blocks for runs of >= 16 equal bytes */
    int empty_block_first;/* a raw block of size 0 before the data */
    int reserved_bit;     /* set the reserved bit of the Frame_Header_Descriptor (a lie) */
    int64_t short_by;     /* drop this many content bytes from the blocks (a lie) */
    int dict_id_bytes;    /* 0, or 1: a Dictionary_ID field of one byte holding dict_id */
    uint8_t dict_id;
    uint8_t window;       /* Window_Descriptor byte when not single segment (0: 1 KiB) */
} zopts;

static void zstd_block(bytes *out, int last, int type, size_t size, const uint8_t *d, size_t dn) {
    uint32_t h = (uint32_t)last | ((uint32_t)type << 1) | ((uint32_t)size << 3);
    uint8_t b[3] = {(uint8_t)h, (uint8_t)(h >> 8), (uint8_t)(h >> 16)};
    b_put(out, b, 3);
    b_put(out, d, dn);
}

static void zstd_frame(bytes *out, const uint8_t *content, size_t n, const zopts *o) {
    uint64_t declared = (uint64_t)((int64_t)n + o->fcs_delta);
    unsigned flag = o->fcs_bytes == 8 ? 3 : o->fcs_bytes == 4 ? 2 : o->fcs_bytes == 2 ? 1 : 0;
    size_t pos = 0, block = o->block ? o->block : 1024;
    uint8_t fhd = (uint8_t)(flag << 6 | (o->single_segment ? 0x20 : 0) | (o->reserved_bit ? 0x08 : 0) | (o->dict_id_bytes ? 1 : 0));
    if (o->fcs_bytes == 1 && !o->single_segment) die("zstd_frame: 1-byte FCS needs single segment");
    if (o->fcs_bytes == 0 && o->single_segment) die("zstd_frame: single segment always has an FCS");
    b_put32(out, 0xFD2FB528u);
    b_put(out, &fhd, 1);
    if (!o->single_segment) b_put(out, &o->window, 1); /* Window_Descriptor */
    if (o->dict_id_bytes) b_put(out, &o->dict_id, 1);
    switch (o->fcs_bytes) {
    case 1: { uint8_t v = (uint8_t)declared; if (declared > 255) die("1-byte FCS too small"); b_put(out, &v, 1); break; }
    case 2: if (declared < 256) die("2-byte FCS needs >= 256"); b_put16(out, (uint16_t)(declared - 256)); break;
    case 4: b_put32(out, (uint32_t)declared); break;
    case 8: b_put64(out, declared); break;
    default: break;
    }
    if (o->short_by) n -= (size_t)o->short_by;
    if (o->empty_block_first) zstd_block(out, n == 0, 0, 0, NULL, 0);
    if (n == 0 && !o->empty_block_first) zstd_block(out, 1, 0, 0, NULL, 0);
    while (pos < n) {
        size_t run = 1, chunk;
        while (o->rle_runs && pos + run < n && run < block && content[pos + run] == content[pos]) run++;
        if (o->rle_runs && run >= 16) {
            zstd_block(out, pos + run == n, 1, run, content + pos, 1);
            pos += run;
            continue;
        }
        chunk = n - pos < block ? n - pos : block;
        if (o->rle_runs) { /* stop a raw block where a run starts */
            for (size_t q = pos + 1; q + 16 <= pos + chunk; q++) {
                size_t rr = 1;
                while (q + rr < n && content[q + rr] == content[q] && rr < 16) rr++;
                if (rr >= 16) { chunk = q - pos; break; }
            }
        }
        zstd_block(out, pos + chunk == n, 0, chunk, content + pos, chunk);
        pos += chunk;
    }
}

#endif
