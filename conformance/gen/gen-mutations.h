/*
 * gen-mutations.h — the byte-level edits that turn a base into a vector. Each function reads
 * its parameters from the case (m->c->a, b, c, d, s, s2) and either edits the exploded file
 * m->x (the framework then lays it out and re-signs every checksum) or serializes it itself and
 * edits the bytes m->out, re-signing exactly what the lie must get past.
 *
 * Included once, by ecqf-conformance-gen.c.
 */

/* ---- helpers ------------------------------------------------------------------------------ */

static int status_code(const char *name) {
    for (int s = 0; s < ECQF_STATUS_COUNT_; s++)
        if (!strcmp(ecqf_status_name(s), name)) return s;
    die("unknown status name %s", name);
}

/* The spec decoder must find exactly the lie the case announces. */
static void expect_decode(mctx *m, uint64_t i) {
    decoded dd;
    int want = m->c->error ? status_code(m->c->error) : ECQF_OK;
    int got = spec_decode(T(m, i), &dd);
    if (got != want)
        die("crafted stream decodes as %s [%s], not %s", ecqf_status_name(got), dd.clause ? dd.clause : "-",
            ecqf_status_name(want));
    decoded_free(&dd);
}

static unsigned find_meta(mctx *m, const char *key) {
    for (unsigned i = 0; i < m->x.nmeta; i++) {
        const uint8_t *e = m->x.meta.p + m->x.meta_off[i];
        if (rd16(e) == strlen(key) && !memcmp(e + 2, key, strlen(key))) return i;
    }
    die("no metadata key %s", key);
}
/* Replace metadata entry i's bytes [off, off+del) with ins (n bytes); keeps the offsets table. */
static void meta_splice(mctx *m, unsigned i, size_t off, size_t del, const void *ins, size_t n) {
    size_t at = m->x.meta_off[i] + off;
    b_splice(&m->x.meta, at, del, ins, n);
    for (unsigned k = i + 1; k <= m->x.nmeta; k++) m->x.meta_off[k] = m->x.meta_off[k] - del + n;
}

/* Field selectors for entry edits: region << 16 | offset within the region. */
enum { R_ENTRY = 0, R_DIMS = 1, R_SP = 2, R_CP = 3, R_PSZ = 4, R_CK = 5 };
#define AT(region, k) (((uint64_t)(region) << 16) | (uint64_t)(k))
static uint8_t *field_ptr(mctx *m, uint64_t i, uint64_t sel) {
    eoff o = EO(m, i);
    size_t k = (size_t)(sel & 0xFFFF), base = 0;
    switch (sel >> 16) {
    case R_DIMS: base = o.dims; break;
    case R_SP: base = o.sp; break;
    case R_CP: base = o.cp; break;
    case R_PSZ: base = o.psz; break;
    case R_CK: base = o.ck; break;
    default: base = 0; break;
    }
    return E(m, i) + base + k;
}

/* ---- header and file ----------------------------------------------------------------------- */

/* Header field without re-signing: a = offset, b = size, c = value. */
static void mut_header_field_unsigned(mctx *m) {
    ser(m);
    put(m->out.p + m->c->a, (unsigned)m->c->b, m->c->c);
}
/* Add c to a header field (a = offset, b = size); re-sign unless d. */
static void mut_header_add(mctx *m) {
    uint64_t v;
    ser(m);
    v = m->c->b == 8 ? rd64(m->out.p + m->c->a) : rd32(m->out.p + m->c->a);
    put(m->out.p + m->c->a, (unsigned)m->c->b, v + m->c->c);
    if (!m->c->d) resign_header(&m->out);
}
/* Keep only the first a bytes (a = 0: drop the last b bytes). */
static void mut_truncate(mctx *m) {
    ser(m);
    m->out.n = m->c->a ? (size_t)m->c->a : m->out.n - (size_t)m->c->b;
}
/* Append b bytes of value c. */
static void mut_append(mctx *m) {
    ser(m);
    for (uint64_t i = 0; i < m->c->b; i++) { uint8_t v = (uint8_t)m->c->c; b_put(&m->out, &v, 1); }
}
/* A tiny file: the bytes of s2, a of them. */
static void mut_tiny_file(mctx *m) {
    m->out.n = 0;
    b_put(&m->out, m->c->s2, (size_t)m->c->a);
    m->out_set = 1;
}
/* Text-mode damage to the whole file: a = 0 LF -> CRLF, 1 CRLF -> LF, 2 high bits cleared. */
static void mut_text_mode(mctx *m) {
    bytes o = {0};
    ser(m);
    for (size_t i = 0; i < m->out.n; i++) {
        uint8_t c = m->out.p[i];
        if (m->c->a == 0 && c == 0x0A) { uint8_t cr = 0x0D; b_put(&o, &cr, 1); }
        if (m->c->a == 1 && c == 0x0D && i + 1 < m->out.n && m->out.p[i + 1] == 0x0A) continue;
        if (m->c->a == 2) c &= 0x7F;
        b_put(&o, &c, 1);
    }
    b_free(&m->out);
    m->out = o;
}
/* Header checksum over header[0,64) only, leaving out the directory. */
static void mut_checksum_header_only(mctx *m) {
    ser(m);
    blake2b(m->out.p, 64, m->out.p + 64);
}
/* Flip bit 0 of byte a of the file (no re-signing). */
static void mut_flip(mctx *m) {
    ser(m);
    m->out.p[m->c->a] ^= 1;
}
/* Flip a byte of the directory without re-signing: the first name byte of tensor a. */
static void mut_dir_name_unsigned(mctx *m) {
    ser(m);
    m->out.p[T(m, m->c->a)->ser_entry + 8] ^= 0x03;
}
/* Metadata entry s gets type a, without re-signing ([H-12]: checksum before interpreting). */
static void mut_meta_type_unsigned(mctx *m) {
    unsigned i = find_meta(m, m->c->s);
    size_t kl = rd16(m->x.meta.p + m->x.meta_off[i]);
    size_t at;
    ser(m);
    at = (size_t)m->x.ser_dir + 16 + m->x.meta_off[i] + 2 + kl;
    m->out.p[at] = (uint8_t)m->c->a;
}

/* ---- layout ---------------------------------------------------------------------------------- */

/* A nonzero padding byte (value c): a = 0 after the header, 1 after blob b, 2 before the directory. */
static void mut_padding(mctx *m) {
    uint64_t from, to;
    ser(m);
    if (m->c->a == 0) { from = 96; to = m->x.nt ? m->x.t[0].ser_blob : m->x.ser_dir; }
    else if (m->c->a == 1) {
        const xtensor *t = T(m, m->c->b);
        from = t->ser_blob + t->ser_blob_size;
        to = m->c->b + 1 < m->x.nt ? m->x.t[m->c->b + 1].ser_blob : m->x.ser_dir;
    } else {
        const xtensor *t = T(m, m->x.nt - 1);
        from = t->ser_blob + t->ser_blob_size;
        to = m->x.ser_dir;
    }
    if (from >= to) die("no padding there");
    m->out.p[(from + to) / 2] = (uint8_t)m->c->c;
}
/* Blob offset of tensor a moved by b bytes (the blob stays where [L-1] puts it). */
static void mut_blob_offset(mctx *m) {
    xtensor *t = T(m, m->c->a);
    eoff o = EO(m, m->c->a);
    ser(m);
    wr64(m->out.p + t->ser_entry + o.boff, t->ser_blob + m->c->b);
    resign_header(&m->out);
}
/* The blob offset of tensor a set to the end of the previous blob instead of align_up. */
static void mut_blob_offset_unaligned(mctx *m) {
    xtensor *t = T(m, m->c->a);
    eoff o = EO(m, m->c->a);
    uint64_t prev;
    ser(m);
    prev = m->c->a ? m->x.t[m->c->a - 1].ser_blob + m->x.t[m->c->a - 1].ser_blob_size : 96;
    wr64(m->out.p + t->ser_entry + o.boff, prev);
    resign_header(&m->out);
}
/* a zero bytes inserted before the directory; offsets and checksum follow. */
static void mut_dir_gap(mctx *m) { m->x.extra_dir_pad = (size_t)m->c->a; }
/* Part b of tensor a grows by c zero bytes (d: shrinks by c); every offset follows. */
static void mut_part_size(mctx *m) {
    bytes *p = &T(m, m->c->a)->part[m->c->b];
    if (m->c->d) {
        if (p->n < m->c->c) die("part too small");
        p->n -= (size_t)m->c->c;
    } else
        b_zeros(p, (size_t)m->c->c);
}
/* A nonzero byte in the padding before part b of tensor a (there must be some); blob re-signed. */
static void mut_part_padding(mctx *m) {
    xtensor *t = T(m, m->c->a);
    uint64_t prev_end = 0;
    ser(m);
    for (uint64_t k = 0; k < m->c->b; k++)
        if (t->part[k].n) prev_end = t->ser_part[k] + t->part[k].n;
    if (!t->part[m->c->b].n || !prev_end || prev_end == t->ser_part[m->c->b]) die("no padding before that part");
    m->out.p[t->ser_part[m->c->b] - 1] = 0x80;
    resign_blob(&m->out, &m->x, (unsigned)m->c->a);
}

/* ---- directory ------------------------------------------------------------------------------- */

/* Directory head field: a = offset (0, 4, 8), b = size, c = value; counts kept as stored. */
static void mut_dir_head(mctx *m) {
    m->x.keep_counts = 1;
    wr32(m->x.head, m->x.nmeta);
    wr32(m->x.head + 4, m->x.nt);
    put(m->x.head + m->c->a, (unsigned)m->c->b, m->c->c);
}
/* a bytes of value b after the last entry (counted in directory_size). */
static void mut_dir_leftover(mctx *m) {
    if (m->x.nt) {
        for (uint64_t i = 0; i < m->c->a; i++) { uint8_t v = (uint8_t)m->c->b; b_put(&m->x.t[m->x.nt - 1].entry, &v, 1); }
    } else
        for (uint64_t i = 0; i < m->c->a; i++) { uint8_t v = (uint8_t)m->c->b; b_put(&m->x.meta, &v, 1); }
}
/* A directory of a bytes, shorter than its 16-byte head (file without tensors). */
static void mut_dir_short(mctx *m) {
    ser(m);
    m->out.n = (size_t)(m->x.ser_dir + m->c->a);
    wr64(m->out.p + 32, m->out.n);
    wr64(m->out.p + 48, m->c->a);
    resign_header(&m->out);
}

/* ---- metadata -------------------------------------------------------------------------------- */

/* Key of entry s gets length a: 0 (the key removed) or its length + 1 (byte 'z' appended). */
static void mut_meta_key_length(mctx *m) {
    unsigned i = find_meta(m, m->c->s);
    uint8_t *e = m->x.meta.p + m->x.meta_off[i];
    size_t kl = rd16(e);
    if (m->c->a == 0) {
        meta_splice(m, i, 2, kl, NULL, 0);
    } else {
        meta_splice(m, i, 2 + kl, 0, "z", 1);
    }
    wr16(m->x.meta.p + m->x.meta_off[i], (uint16_t)(m->c->a ? kl + 1 : 0));
}
/* Replace c bytes of key s at offset b by s2 (same length). */
static void mut_meta_key_bytes(mctx *m) {
    unsigned i = find_meta(m, m->c->s);
    memcpy(m->x.meta.p + m->x.meta_off[i] + 2 + m->c->b, m->c->s2, (size_t)m->c->c);
}
/* Type of entry s becomes a (the value bytes stay). */
static void mut_meta_type(mctx *m) {
    unsigned i = find_meta(m, m->c->s);
    uint8_t *e = m->x.meta.p + m->x.meta_off[i];
    e[2 + rd16(e)] = (uint8_t)m->c->a;
}
/* Value byte b of entry s (after its type byte, length field included) becomes a. */
static void mut_meta_value(mctx *m) {
    unsigned i = find_meta(m, m->c->s);
    uint8_t *e = m->x.meta.p + m->x.meta_off[i];
    e[2 + rd16(e) + 1 + m->c->b] = (uint8_t)m->c->a;
}
/* Replace c bytes of the STRING value of entry s at offset b by s2. */
static void mut_meta_string_bytes(mctx *m) {
    unsigned i = find_meta(m, m->c->s);
    uint8_t *e = m->x.meta.p + m->x.meta_off[i];
    memcpy(e + 2 + rd16(e) + 1 + 4 + m->c->b, m->c->s2, (size_t)m->c->c);
}
/* STRING/BYTES length of entry s set to a (the bytes stay). */
static void mut_meta_length(mctx *m) {
    unsigned i = find_meta(m, m->c->s);
    uint8_t *e = m->x.meta.p + m->x.meta_off[i];
    wr32(e + 2 + rd16(e) + 1, (uint32_t)m->c->a);
}
/* Entry s and the one after it swap places. */
static void mut_meta_swap(mctx *m) {
    unsigned i = find_meta(m, m->c->s);
    size_t a0 = m->x.meta_off[i], a1 = m->x.meta_off[i + 1], a2 = m->x.meta_off[i + 2];
    uint8_t *tmp = xmalloc(a2 - a0);
    memcpy(tmp, m->x.meta.p + a1, a2 - a1);
    memcpy(tmp + (a2 - a1), m->x.meta.p + a0, a1 - a0);
    memcpy(m->x.meta.p + a0, tmp, a2 - a0);
    m->x.meta_off[i + 1] = a0 + (a2 - a1);
    free(tmp);
}
/* Entry s is stored twice in a row. */
static void mut_meta_duplicate(mctx *m) {
    unsigned i = find_meta(m, m->c->s);
    size_t a0 = m->x.meta_off[i], n = m->x.meta_off[i + 1] - a0;
    uint8_t *copy = xmalloc(n);
    memcpy(copy, m->x.meta.p + a0, n);
    b_splice(&m->x.meta, a0, 0, copy, n);
    for (unsigned k = m->x.nmeta + 1; k > i; k--) m->x.meta_off[k] = m->x.meta_off[k - 1] + n;
    m->x.nmeta++;
    free(copy);
}

/* ---- tensor entries ------------------------------------------------------------------------- */

/* Field (selector b, size c) of tensor a set to d; everything re-signed. */
static void mut_entry_field(mctx *m) {
    put(field_ptr(m, m->c->a, m->c->b), (unsigned)m->c->c, m->c->d);
}
/* Replace c bytes of tensor a's name at offset b by s2. */
static void mut_name_bytes(mctx *m) {
    memcpy(E(m, m->c->a) + 8 + m->c->b, m->c->s2, (size_t)m->c->c);
}
/* Tensor a's name loses all its bytes (b = 0) or gains the byte 'z' (b = 1). */
static void mut_name_length(mctx *m) {
    bytes *e = &T(m, m->c->a)->entry;
    size_t nl = rd16(e->p);
    if (m->c->b == 0) b_splice(e, 8, nl, NULL, 0);
    else b_splice(e, 8 + nl, 0, "z", 1);
    wr16(e->p, (uint16_t)(m->c->b ? nl + 1 : 0));
}
/* A dimension of size 1 prepended to tensor a (ndim + 1). */
static void mut_add_dim(mctx *m) {
    bytes *e = &T(m, m->c->a)->entry;
    uint8_t one[8];
    wr64(one, 1);
    b_splice(e, 8 + rd16(e->p), 0, one, 8);
    e->p[2]++;
}
/* Tensor a takes the name of tensor b (same length). */
static void mut_rename_as(mctx *m) {
    uint8_t *ea = E(m, m->c->a), *eb = E(m, m->c->b);
    if (rd16(ea) != rd16(eb)) die("names differ in length");
    memcpy(ea + 8, eb + 8, rd16(ea));
}
/* Tensor a: coding b with well-formed tiled coding parameters (precision/max_length 12,
 * 1 lane, pack 1, stripes of 1 row, 1x1 tiles). */
static void mut_coding_tiled(mctx *m) {
    uint8_t *cp = field_ptr(m, m->c->a, AT(R_CP, 0));
    E(m, m->c->a)[4] = (uint8_t)m->c->b;
    memset(cp, 0, 16);
    cp[0] = 12;
    cp[1] = 1;
    cp[2] = 1;
    cp[3] = 1;
    wr32(cp + 4, 1);
    wr32(cp + 8, 1);
}

/* ---- parts: params, tables, tile index, escapes ------------------------------------------------ */

/* ECSQ step b of tensor a becomes the f32 bits c. */
static void mut_step(mctx *m) {
    wr32(T(m, m->c->a)->part[PART_PARAMS].p + 4 * m->c->b, (uint32_t)m->c->c);
}

/* rANS table of tensor a: b = 0 frequencies sum to M+1; 1 a packed symbol with hi >= Q gets
 * frequency 1 taken from another symbol (sum kept). */
static void mut_rans_table(mctx *m) {
    xtensor *t = T(m, m->c->a);
    tinfo ti = TI(m, m->c->a);
    unsigned A = ti.pack == 2 ? 256 : ti.Q;
    uint8_t *f = t->part[PART_TABLE].p;
    unsigned s;
    for (s = 0; s < A && rd16(f + 2 * s) < 2; s++) {}
    if (s == A) die("no frequency >= 2");
    if (m->c->b == 0) wr16(f + 2 * s, (uint16_t)(rd16(f + 2 * s) + 1));
    else {
        if (ti.pack != 2 || ti.Q >= 16) die("needs pack 2 and Q < 16");
        wr16(f + 2 * s, (uint16_t)(rd16(f + 2 * s) - 1));
        wr16(f + 2 * (0 + 16 * ti.Q), 1); /* lo = 0, hi = Q */
    }
}

/* Prefix table of tensor a: b = 0 a length above max_length; 1 a packed symbol with hi >= Q
 * used (Kraft sum kept); 2 incomplete; 3 over-subscribed; 4 no symbol used; 5 the single used
 * symbol gets length 2. */
static void mut_prefix_table(mctx *m) {
    xtensor *t = T(m, m->c->a);
    tinfo ti = TI(m, m->c->a);
    unsigned A = ti.pack == 2 ? 256 : ti.Q, s, longest = 0, ls = 0, shortest = 99, ss = 0;
    uint8_t *L = t->part[PART_TABLE].p;
    for (s = 0; s < A; s++)
        if (L[s]) {
            if (L[s] > longest) { longest = L[s]; ls = s; }
            if (L[s] < shortest) { shortest = L[s]; ss = s; }
        }
    switch (m->c->b) {
    case 0: L[ls] = (uint8_t)(ti.maxlen + 1); break;
    case 1: /* split a shortest symbol's code between it and the invalid symbol lo=0, hi=Q */
        if (ti.pack != 2 || ti.Q >= 16 || shortest >= ti.maxlen) die("cannot make [P-3]");
        L[ss]++;
        L[16 * ti.Q] = L[ss];
        break;
    case 2: if (longest >= ti.maxlen) die("cannot lengthen"); L[ls]++; break;
    case 3: if (shortest < 2) die("cannot shorten"); L[ss]--; break;
    case 4: memset(L, 0, A); break;
    default: L[ss] = 2; break;
    }
}

/* Tile index of tensor a: b = 0 idx[0] = 4; 1 idx[1] above idx[2] (decreasing); 2 tile 0 two
 * bytes longer (not a multiple of 4); 3 idx[T] four bytes beyond the data part; 4 tile 0 of 4
 * bytes (RANS: less than the 4*W bytes of lane states). */
static void mut_tile_index(mctx *m) {
    xtensor *t = T(m, m->c->a);
    tinfo ti = TI(m, m->c->a);
    uint8_t *ix = t->part[PART_TILE_INDEX].p;
    switch (m->c->b) {
    case 0: wr64(ix, 4); break;
    case 1: if (ti.T < 2) die("needs 2 tiles"); wr64(ix + 8, rd64(ix + 16) + 4); break;
    case 2: wr64(ix + 8, rd64(ix + 8) + 2); break;
    case 4: wr64(ix + 8, 4); break; /* tile 0 holds 4 bytes, less than its 4*W of states */
    default: wr64(ix + 8 * ti.T, rd64(ix + 8 * ti.T) + 4); break;
    }
}

/* Escapes of tensor a: b = 0 start[0] = 1; 1 start decreasing; 2 one value too many for the
 * part size rule; 3 start[1] moved by one (tile counts no longer match); 4 a value that the
 * alphabet represents without escape; 5 value 2^24; 6 value -2^24; 7 RAW: start[T] one larger
 * with one more (valid) value; 8 the part removed; 9 (a tensor without HAS_ESCAPE) a part
 * start = {0, 0} added. */
static void mut_escapes(mctx *m) {
    xtensor *t = T(m, m->c->a);
    tinfo ti = TI(m, m->c->a);
    bytes *e = &t->part[PART_ESCAPES];
    uint64_t T1 = ti.T + 1;
    switch (m->c->b) {
    case 0: wr32(e->p, 1); break;
    case 1: if (ti.T < 2) die("needs 2 tiles"); wr32(e->p + 4, rd32(e->p + 8) + 1); break;
    case 2: b_put32(e, (uint32_t)(1 << 20)); break;
    case 3: {
        uint64_t k;
        for (k = 1; k < ti.T && rd32(e->p + 4 * k) == rd32(e->p + 4 * (k + 1)); k++) {}
        if (k >= ti.T) die("needs an escape after tile 0");
        wr32(e->p + 4 * k, rd32(e->p + 4 * k) + 1);
        break;
    }
    case 4: wr32(e->p + 4 * T1, 0); break;
    case 5: wr32(e->p + 4 * T1, 1u << 24); break;
    case 6: wr32(e->p + 4 * T1, (uint32_t)-(1 << 24)); break;
    case 7: wr32(e->p + 4 * ti.T, rd32(e->p + 4 * ti.T) + 1); b_put32(e, 1000); break;
    case 8: e->n = 0; break;
    default: e->n = 0; b_put32(e, 0); b_put32(e, 0); break;
    }
}

/* ---- streams ------------------------------------------------------------------------------------ */

/* RAW data of tensor a: b = 0 the unused high bits of the last byte set; 1 element c holds the
 * code 2^width - 1 (>= Q). */
static void set_raw_code(const tinfo *ti, uint8_t *data, uint64_t i, unsigned u) {
    for (unsigned b = 0; b < ti->width; b++) {
        uint64_t j = i * ti->width + b;
        data[j / 8] = (uint8_t)((data[j / 8] & ~(1u << (j % 8))) | (((u >> b) & 1u) << (j % 8)));
    }
}
static void edit_raw(const tinfo *ti, uint8_t *data, size_t n, uint64_t mode, uint64_t elem) {
    if (mode == 0) {
        uint64_t bits = ti->numel * ti->width;
        if (!(bits % 8)) die("no unused bits");
        data[n - 1] |= 0x80;
    } else if (mode == 1) {
        if ((1u << ti->width) <= ti->Q) die("every width-bit code is < Q");
        set_raw_code(ti, data, elem, (1u << ti->width) - 1);
    } else { /* 2: the first escape code becomes code 0 */
        for (uint64_t i = 0; i < ti->numel; i++) {
            unsigned u = 0;
            for (unsigned b = 0; b < ti->width; b++) u |= (unsigned)((data[(i * ti->width + b) / 8] >> ((i * ti->width + b) % 8)) & 1) << b;
            if (u == ti->Q - 1) { set_raw_code(ti, data, i, 0); return; }
        }
        die("no escape code");
    }
}
static void mut_raw_data(mctx *m) {
    xtensor *t = T(m, m->c->a);
    tinfo ti = TI(m, m->c->a);
    edit_raw(&ti, t->part[PART_DATA].p, t->part[PART_DATA].n, m->c->b, m->c->c);
    expect_decode(m, m->c->a);
}

/* Tile data of tensor a, tile b: [start, end) in the data part. */
static void tile_span(xtensor *t, uint64_t tile, uint64_t *start, uint64_t *end) {
    *start = rd64(t->part[PART_TILE_INDEX].p + 8 * tile);
    *end = rd64(t->part[PART_TILE_INDEX].p + 8 * tile + 8);
}
/* Replace tile k's bytes with rep (n bytes); the tile index follows. */
static void tile_replace(xtensor *t, const tinfo *ti, uint64_t k, const uint8_t *rep, size_t n) {
    uint64_t s, e;
    tile_span(t, k, &s, &e);
    b_splice(&t->part[PART_DATA], (size_t)s, (size_t)(e - s), rep, n);
    for (uint64_t j = k + 1; j <= ti->T; j++) {
        uint8_t *p = t->part[PART_TILE_INDEX].p + 8 * j;
        wr64(p, rd64(p) - (e - s) + n);
    }
}

/* Decode tile k as the spec says (for the stream edits below). */
static void decode_tile_spec(xtensor *t, const tinfo *ti, uint64_t k, tilegeo *g, tileres *r) {
    uint64_t s, e;
    int rc;
    tile_span(t, k, &s, &e);
    tile_geometry(ti, k, g);
    rc = ti->coding == RANS ? rans_tile(ti, t->part[PART_TABLE].p, g, t->part[PART_DATA].p + s, e - s, r)
                            : prefix_tile(ti, t->part[PART_TABLE].p, g, t->part[PART_DATA].p + s, e - s, r);
    if (rc) die("the base tile does not decode");
}

/* Stream edits of tensor a, tile b. c selects the lie:
 *   0 rANS: state of lane 0 = 0xFFFF (below 2^16)         
 *   1 rANS: state of the last (idle) lane = 2^16 + 1      
 *   2 rANS: state of lane 0 + 1                            
 *   3 the stream's last 4 bytes removed                    
 *   4 4 zero bytes (2 words) appended                      
 *   5 the padding word (odd stream) = 1                     [R-4] / [P-5]
 *   6 prefix, single-symbol code: first word's top bit set  [P-6]
 *   7 prefix, W = 1: an unused low bit of the last word set [P-8]
 *   8 prefix, W = 1, pack 2: the last symbol (whose high code is padding) re-encoded with
 *     a used symbol whose high code is not 0                [G-2]
 */
static void mut_stream(mctx *m) {
    xtensor *t = T(m, m->c->a);
    tinfo ti = TI(m, m->c->a);
    uint64_t k = m->c->b, s, e;
    uint8_t *d;
    tilegeo g;
    tileres r;
    decode_tile_spec(t, &ti, k, &g, &r);
    tile_span(t, k, &s, &e);
    d = t->part[PART_DATA].p + s;
    switch (m->c->c) {
    case 0: wr32(d, 0xFFFF); break;
    case 1:
        if (g.nsym[ti.W - 1]) die("last lane is not idle");
        wr32(d + 4 * (ti.W - 1), 65537);
        break;
    case 2: wr32(d, rd32(d) + 1); break;
    case 3: {
        uint8_t *copy = xmalloc((size_t)(e - s));
        memcpy(copy, d, (size_t)(e - s));
        tile_replace(t, &ti, k, copy, (size_t)(e - s - 4));
        free(copy);
        break;
    }
    case 4: {
        uint8_t *copy = xcalloc((size_t)(e - s + 4), 1);
        memcpy(copy, d, (size_t)(e - s));
        tile_replace(t, &ti, k, copy, (size_t)(e - s + 4));
        free(copy);
        break;
    }
    case 5: { /* the first tile from b whose stream has an odd number of words */
        size_t head = ti.coding == RANS ? 4u * ti.W : 0;
        while (!(r.taken & 1)) {
            free(r.syms);
            tilegeo_free(&g);
            if (++k >= ti.T) die("no tile with an odd number of words");
            decode_tile_spec(t, &ti, k, &g, &r);
        }
        tile_span(t, k, &s, &e);
        d = t->part[PART_DATA].p + s;
        wr16(d + head + 2 * r.taken, 1);
        break;
    }
    case 6: d[1] |= 0x80; break; /* words are little-endian: byte 1 holds the top bits */
    case 7: {
        unsigned used = 0;
        for (uint64_t q = 0; q < r.nsyms; q++) used += t->part[PART_TABLE].p[r.syms[q]];
        if (ti.W != 1 || used % 16 == 0) die("no unused bit in the last word");
        wr16(d + 2 * (r.taken - 1), (uint16_t)(rd16(d + 2 * (r.taken - 1)) | 1));
        break;
    }
    default: {
        bytes enc = {0};
        unsigned last = (unsigned)(r.nsyms - 1), cand;
        const uint8_t *L = t->part[PART_TABLE].p;
        if (ti.W != 1 || ti.pack != 2 || !(g.len[0] & 1)) die("needs W = 1, pack 2 and an odd lane");
        for (cand = 16; cand < 256 && !(L[cand] && (cand & 15) == (r.syms[last] & 15)); cand++) {}
        if (cand == 256) for (cand = 16; cand < 256 && !L[cand]; cand++) {}
        if (cand == 256) die("no used symbol with a high code");
        r.syms[last] = (uint8_t)cand;
        prefix_encode_w1(L, 256, r.syms, r.nsyms, &enc);
        tile_replace(t, &ti, k, enc.p, enc.n);
        b_free(&enc);
        break;
    }
    }
    free(r.syms);
    tilegeo_free(&g);
    expect_decode(m, m->c->a);
}

/* ---- checksums ------------------------------------------------------------------------------------ */

/* Flip a bit of byte c of part b of tensor a, without re-signing the blob. */
static void mut_blob_byte_unsigned(mctx *m) {
    T(m, m->c->a)->part[m->c->b].p[m->c->c] ^= 0x01;
    T(m, m->c->a)->keep_checksum = 1;
}
/* Flip a bit of the stored blob checksum of tensor a (header re-signed). */
static void mut_blob_checksum(mctx *m) {
    xtensor *t = T(m, m->c->a);
    ser(m);
    m->out.p[t->ser_entry + entry_offsets(t->entry.p).ck + m->c->b] ^= 0x40;
    resign_header(&m->out);
}

/* ---- zstd ------------------------------------------------------------------------------------------ */

static const zopts zpresets[] = {
    /* 0 */ {.fcs_bytes = 1, .single_segment = 1},
    /* 1 */ {.fcs_bytes = 2, .single_segment = 1, .block = 100},
    /* 2 */ {.fcs_bytes = 4, .single_segment = 0},
    /* 3 */ {.fcs_bytes = 8, .single_segment = 1},
    /* 4 */ {.fcs_bytes = 4, .single_segment = 1, .rle_runs = 1},
    /* 5 */ {.fcs_bytes = 4, .single_segment = 1, .empty_block_first = 1},
    /* 6 */ {.fcs_bytes = 0, .single_segment = 0},                      /* no content size */
    /* 7 */ {.fcs_bytes = 4, .single_segment = 1, .fcs_delta = 1},      /* declares one more */
    /* 8 */ {.fcs_bytes = 4, .single_segment = 1, .fcs_delta = -1},     /* declares one less */
    /* 9 */ {.fcs_bytes = 4, .single_segment = 1, .short_by = 1},       /* holds one less */
    /* 10 */ {.fcs_bytes = 4, .single_segment = 1, .reserved_bit = 1},
    /* 11 */ {.fcs_bytes = 8, .single_segment = 0},
    /* 12 */ {.fcs_bytes = 4, .single_segment = 1, .dict_id_bytes = 1, .dict_id = 0}, /* Dictionary_ID 0: none */
    /* 13 */ {.fcs_bytes = 4, .single_segment = 1, .dict_id_bytes = 1, .dict_id = 1}, /* names a dictionary */
    /* 14 */ {.fcs_bytes = 4, .single_segment = 0, .window = 17 << 3},              /* window 2^27 */
    /* 15 */ {.fcs_bytes = 4, .single_segment = 0, .window = 17 << 3 | 1},          /* window 2^27 + 2^24 */
};

static void zstd_content(xtensor *t, const tinfo *ti, bytes *raw) {
    uint64_t want = (ti->numel * ti->width + 7) / 8;
    size_t got;
    raw->n = 0;
    b_zeros(raw, (size_t)want);
    got = ZSTD_decompress(raw->p, (size_t)want, t->part[PART_DATA].p, t->part[PART_DATA].n);
    if (ZSTD_isError(got) || got != want) die("base zstd frame does not decompress");
}

/* Tensor a (ZSTD) re-framed by hand with preset b; c: content edit (0 none, 1 tail bits,
 * 2 a code >= Q at element d, 3 the first escape code replaced by code 0). */
static void mut_zstd_hand(mctx *m) {
    xtensor *t = T(m, m->c->a);
    tinfo ti = TI(m, m->c->a);
    bytes raw = {0}, f = {0};
    zstd_content(t, &ti, &raw);
    if (m->c->c) edit_raw(&ti, raw.p, raw.n, m->c->c - 1, m->c->d);
    zstd_frame(&f, raw.p, raw.n, &zpresets[m->c->b]);
    b_set(&t->part[PART_DATA], f.p, f.n);
    b_free(&raw);
    b_free(&f);
    expect_decode(m, m->c->a);
}

/* Tensor a (ZSTD), frame-level edits b: 0 a byte after the frame; 1 two frames; 2 a skippable
 * frame first; 3 bad frame magic; 4 the last byte cut; 5 libzstd frame with a content checksum
 * (valid); 6 the same with its checksum flipped; 7 the data part emptied. */
static void mut_zstd_frame(mctx *m) {
    xtensor *t = T(m, m->c->a);
    tinfo ti = TI(m, m->c->a);
    bytes raw = {0}, f = {0};
    zopts o = {.fcs_bytes = 4, .single_segment = 1};
    zstd_content(t, &ti, &raw);
    switch (m->c->b) {
    case 0: zstd_frame(&f, raw.p, raw.n, &o); b_zeros(&f, 1); break;
    case 1: zstd_frame(&f, raw.p, raw.n / 2, &o); zstd_frame(&f, raw.p + raw.n / 2, raw.n - raw.n / 2, &o); break;
    case 2: b_put32(&f, 0x184D2A50u); b_put32(&f, 4); b_put32(&f, 0); zstd_frame(&f, raw.p, raw.n, &o); break;
    case 3: zstd_frame(&f, raw.p, raw.n, &o); f.p[0] ^= 1; break;
    case 4: zstd_frame(&f, raw.p, raw.n, &o); f.n--; break;
    default: {
        ZSTD_CCtx *z = ZSTD_createCCtx();
        size_t cap = ZSTD_compressBound(raw.n), got;
        b_zeros(&f, cap);
        if (!z || ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_contentSizeFlag, 1)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 19)))
            die("zstd context");
        got = ZSTD_compress2(z, f.p, cap, raw.p, raw.n);
        ZSTD_freeCCtx(z);
        if (ZSTD_isError(got)) die("zstd compress");
        f.n = got;
        if (m->c->b == 6) f.p[f.n - 1] ^= 0x55;
        if (m->c->b == 7) f.n = 0;
        break;
    }
    }
    b_set(&t->part[PART_DATA], f.p, f.n);
    b_free(&raw);
    b_free(&f);
    if (m->c->b != 6) expect_decode(m, m->c->a); /* libzstd's ZSTD_decompress checks the checksum too */
}

/* ---- a few lies that need two fields to stay single ----------------------------------------------- */

/* Tensor a (AFFINE [0, 64], group 32) becomes SYMMETRIC [0, 48]: 48 is no multiple of 32. */
static void mut_symmetric_cols(mctx *m) {
    E(m, m->c->a)[3] = SYM;
    wr64(field_ptr(m, m->c->a, AT(R_DIMS, 8)), 48);
}
/* ECSQ tensor a gets alphabet b and zero code c. */
static void mut_ecsq_qz(mctx *m) {
    wr16(field_ptr(m, m->c->a, AT(R_SP, 0)), (uint16_t)m->c->b);
    wr16(field_ptr(m, m->c->a, AT(R_SP, 2)), (uint16_t)m->c->c);
}
/* Tiled tensor a (2 dims, non-per-row params) becomes [65536, 65537] in 1x1 tiles: 2^32 + 65536
 * tiles, more than [G-1] allows; nothing else is looked at before. */
static void mut_many_tiles(mctx *m) {
    wr64(field_ptr(m, m->c->a, AT(R_DIMS, 0)), 65536);
    wr64(field_ptr(m, m->c->a, AT(R_DIMS, 8)), 65537);
    wr32(field_ptr(m, m->c->a, AT(R_CP, 4)), 1);
    wr32(field_ptr(m, m->c->a, AT(R_CP, 8)), 1);
}
/* Part size field b of tensor a set to c after layout (the blob stays as laid out). */
static void mut_part_size_field(mctx *m) {
    xtensor *t = T(m, m->c->a);
    ser(m);
    wr64(m->out.p + t->ser_entry + entry_offsets(t->entry.p).psz + 8 * m->c->b, m->c->c);
    resign_header(&m->out);
}
/* directory_offset = a and directory_size = file_size - a, re-signed over that range. */
static void mut_dir_fields(mctx *m) {
    ser(m);
    wr64(m->out.p + 40, m->c->a);
    wr64(m->out.p + 48, m->out.n - m->c->a);
    resign_header(&m->out);
}
/* Dims b and b+1 of tensor a set to c and d. */
static void mut_dims2(mctx *m) {
    wr64(field_ptr(m, m->c->a, AT(R_DIMS, 8 * m->c->b)), m->c->c);
    wr64(field_ptr(m, m->c->a, AT(R_DIMS, 8 * m->c->b + 8)), m->c->d);
}

/* Parameter b (in param_dtype units) of AFFINE/SYMMETRIC tensor a becomes the bits c. */
static void mut_param(mctx *m) {
    tinfo ti = TI(m, m->c->a);
    store_bits(T(m, m->c->a)->part[PART_PARAMS].p, ti.pdtype, m->c->b, (uint32_t)m->c->c);
}
/* RANS tensor a gets precision b, and its table is rescaled to sum to 2^b (each used symbol
 * keeps a frequency >= 1), so that the precision is the only thing wrong. */
static void mut_rans_precision(mctx *m) {
    tinfo ti = TI(m, m->c->a);
    unsigned A = ti.pack == 2 ? 256 : ti.Q, big = 0;
    uint8_t *f = T(m, m->c->a)->part[PART_TABLE].p;
    uint64_t sum = 0, want = 1ull << m->c->b;
    for (unsigned s = 0; s < A; s++) {
        uint64_t v = rd16(f + 2 * s);
        if (!v) continue;
        v = v * want >> ti.prec;
        if (!v) v = 1;
        wr16(f + 2 * s, (uint16_t)v);
        sum += v;
        if (v > rd16(f + 2 * big)) big = s;
    }
    if (sum > want && rd16(f + 2 * big) <= sum - want) die("cannot rescale the table");
    wr16(f + 2 * big, (uint16_t)(rd16(f + 2 * big) + want - sum));
    *field_ptr(m, m->c->a, AT(R_CP, 0)) = (uint8_t)m->c->b;
}
