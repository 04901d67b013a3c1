#!/usr/bin/env python3
"""Self-test of ecqf_reader.py.

Contains a small ECQF *writer* written from spec/ecqf.md (its encoders follow the
informative encoder paragraphs of 9.5 and 9.6), builds a few files with it, checks that the
reader reads them back with the expected code and value hashes, and checks that a list of
corruptions is rejected with the right error names.  The expected values are computed here
with a scalar reference (one struct round trip per binary32 operation), independently of the
reader's vectorised dequantizer.

    python3 conformance/pyreader/selftest.py           # the tests (a few seconds)
    python3 conformance/pyreader/selftest.py --bench   # also time a ~2 MB file
"""

import hashlib
import heapq
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True          # keep __pycache__ out of the source tree
import ecqf_reader as R  # noqa: E402

MAGIC = b"\x89ECQF\r\n\n"


def b2(*chunks):
    h = hashlib.blake2b(digest_size=32)
    for c in chunks:
        h.update(c)
    return h.digest()


def align_up(x, a):
    return (x + a - 1) // a * a


def f32r(x):
    """binary64 -> binary32, round to nearest even, overflow to infinity (scalar)."""
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def f32_bytes(vals):
    return b"".join(struct.pack("<f", v) for v in vals)


# ------------------------------------------------------------------------------------------
# Writer
# ------------------------------------------------------------------------------------------

class W:
    """A tensor to write, with what the reader must report for it."""

    def __init__(self, name, dims, scheme, coding, dtype, sp, cp, parts, codes, values):
        self.name = name.encode() if isinstance(name, str) else name
        self.dims, self.scheme, self.coding, self.dtype = dims, scheme, coding, dtype
        self.sp, self.cp = sp.ljust(16, b"\0"), cp.ljust(16, b"\0")
        self.parts = list(parts)
        self.codes, self.values = codes, values      # bytes whose hashes the reader prints

    def expected_line(self):
        return (self.name, b2(self.codes).hex(), b2(self.values).hex())


def meta_value(mtype, v):
    if mtype == 1:
        return struct.pack("<Q", v)
    if mtype == 2:
        return struct.pack("<q", v)
    if mtype == 3:
        return struct.pack("<d", v)
    if mtype in (4, 5):
        return struct.pack("<I", len(v)) + v
    return struct.pack("<B", v)


def build(tensors, metadata=(), alignment=64):
    """Lay out a file exactly as section 2 says; returns (bytes, info for resealing)."""
    out = bytearray(96)
    info = {"blobs": [], "cksum_pos": []}
    for t in tensors:
        start = align_up(len(out), alignment)
        out += bytes(start - len(out))
        blob = bytearray()
        for p in t.parts:                                    # [B-1]
            if p:
                blob += bytes(align_up(len(blob), 64) - len(blob))
                blob += p
        t.blob_offset = start
        info["blobs"].append((start, len(blob)))
        out += blob
    dir_off = align_up(len(out), 8)
    out += bytes(dir_off - len(out))
    d = bytearray(struct.pack("<IIQ", len(metadata), len(tensors), 0))
    for key, mtype, v in metadata:
        d += struct.pack("<H", len(key)) + key + bytes([mtype]) + meta_value(mtype, v)
    for t, (start, size) in zip(tensors, info["blobs"]):
        d += struct.pack("<HBBBBH", len(t.name), len(t.dims), t.scheme, t.coding, t.dtype, 0)
        d += t.name + struct.pack("<%dQ" % len(t.dims), *t.dims) + t.sp + t.cp
        d += struct.pack("<Q5Q", t.blob_offset, *[len(p) for p in t.parts])
        info["cksum_pos"].append(dir_off + len(d))
        d += b2(bytes(out[start:start + size]))
    out += d
    hdr = MAGIC + struct.pack("<HHIQQQQQII", 0, 1, 96, 0, 0, len(out), dir_off, len(d),
                              alignment, 0)
    out[:64] = hdr
    out[64:96] = b2(hdr, d)
    return out, info


def reseal(buf, info):
    """Recompute every blob checksum and the header checksum after a patch."""
    buf = bytearray(buf)
    for (start, size), pos in zip(info["blobs"], info["cksum_pos"]):
        buf[pos:pos + 32] = b2(bytes(buf[start:start + size]))
    reseal_header(buf)
    return buf


def reseal_header(buf):
    doff, dsize = struct.unpack_from("<QQ", buf, 40)
    buf[64:96] = b2(bytes(buf[:64]), bytes(buf[doff:doff + dsize]))
    return buf


# ------------------------------------------------------------------------------------------
# Encoders for the parts
# ------------------------------------------------------------------------------------------

def pack_raw_codes(codes, width):
    """8.1: LSB-first bit packing."""
    acc = 0
    for i, u in enumerate(codes):
        acc |= u << (i * width)
    return acc.to_bytes((len(codes) * width + 7) // 8, "little")


def tile_grid(rows, cols, tr, tc):
    TR, TC = -(-rows // tr), -(-cols // tc)
    for t in range(TR * TC):
        r0, c0 = (t // TC) * tr, (t % TC) * tc
        yield r0, min(r0 + tr, rows), c0, min(c0 + tc, cols)


def lane_elements(r0, r1, c0, c1, W, S):
    """9.2, transcribed literally."""
    lanes = [[] for _ in range(W)]
    s0 = r0
    while s0 < r1:
        s1 = min(s0 + S, r1)
        j = 0
        while c0 + j * W < c1:
            for r in range(s0, s1):
                for l in range(W):
                    c = c0 + j * W + l
                    if c < c1:
                        lanes[l].append((r, c))
            j += 1
        s0 += S
    return lanes


def lane_symbols(codes_of_lane, pack):
    """9.3: pack=2 pairs consecutive codes, lo first; an odd tail gets hi = 0."""
    if pack == 1:
        return list(codes_of_lane)
    out = []
    for i in range(0, len(codes_of_lane), 2):
        lo = codes_of_lane[i]
        hi = codes_of_lane[i + 1] if i + 1 < len(codes_of_lane) else 0
        out.append(lo + 16 * hi)
    return out


def escape_order(lane_codes, pack, esc):
    """Escape codes in symbol order: step by step, lanes increasing, lo before hi.
    Yields (lane, position in the lane's code sequence)."""
    n = [len(lane_symbols(c, pack)) for c in lane_codes]
    for step in range(max(n) if n else 0):
        for l in range(len(lane_codes)):
            if step < n[l]:
                for i in ([step] if pack == 1 else [2 * step, 2 * step + 1]):
                    if i < len(lane_codes[l]) and lane_codes[l][i] == esc:
                        yield l, i


def normalize_freqs(counts, M):
    total = sum(counts)
    freq = [max(1, c * M // total) if c else 0 for c in counts]
    i = max(range(len(freq)), key=lambda s: freq[s])
    freq[i] += M - sum(freq)
    assert freq[i] >= 1 and sum(freq) == M
    return freq


LAST_PADDED = [False]      # whether the last tile encoded ended with a padding word


def rans_encode_tile(syms, W, prec, freq):
    """9.5 encoder (informative text): lanes start at 2^16 and encode in reverse; words
    are written steps decreasing, lanes decreasing, then the whole stream is reversed."""
    M = 1 << prec
    cum = [0] * len(freq)
    for s in range(1, len(freq)):
        cum[s] = cum[s - 1] + freq[s - 1]
    n = [len(s) for s in syms]
    x = [1 << 16] * W
    words = []
    for t in reversed(range(max(n))):
        for l in reversed(range(W)):
            if t < n[l]:
                s = syms[l][t]
                if x[l] >= freq[s] << (32 - prec):
                    words.append(x[l] & 0xFFFF)
                    x[l] >>= 16
                x[l] = (x[l] // freq[s]) * M + cum[s] + x[l] % freq[s]
    words.reverse()
    padded = len(words) % 2 == 1
    if padded:
        words.append(0)
    LAST_PADDED[0] = padded
    return struct.pack("<%dI" % W, *x) + struct.pack("<%dH" % len(words), *words)


def huffman_lengths(counts, max_len):
    """Code lengths of a Huffman code (flattening the counts until max_len fits)."""
    used = [s for s, c in enumerate(counts) if c]
    if len(used) == 1:
        lengths = [0] * len(counts)
        lengths[used[0]] = 1                                 # [P-4] the single-symbol case
        return lengths
    cs = list(counts)
    while True:
        heap = [(cs[s], s, (s,)) for s in used]
        heapq.heapify(heap)
        depth = {s: 0 for s in used}
        k = len(counts)
        while len(heap) > 1:
            a, b = heapq.heappop(heap), heapq.heappop(heap)
            for s in a[2] + b[2]:
                depth[s] += 1
            heapq.heappush(heap, (a[0] + b[0], k, a[2] + b[2]))
            k += 1
        if max(depth.values()) <= max_len:
            lengths = [0] * len(counts)
            for s in used:
                lengths[s] = depth[s]
            return lengths
        cs = [c + max(cs) // 8 + 1 if c else 0 for c in cs]


def canonical_codes(lengths):
    """RFC 1951 3.2.2, by sorting (independent of the reader's construction)."""
    code, prev_len, out = 0, 0, {}
    for n, s in sorted((n, s) for s, n in enumerate(lengths) if n):
        code <<= n - prev_len
        out[s] = code
        code += 1
        prev_len = n
    return out


def prefix_encode_tile(syms, W, lengths, codes):
    """9.6 encoder: each lane's bits are its codes, cut into 16-bit words that are written
    when the simulated decoder takes them (a lane may take zero words at its end)."""
    n = [len(s) for s in syms]
    bits = ["".join(format(codes[s], "0%db" % lengths[s]) for s in lane) for lane in syms]

    def word(l, k):
        return int(bits[l][16 * k:16 * k + 16].ljust(16, "0"), 2)

    nxt, cnt, out = [0] * W, [0] * W, []
    for l in range(W):
        if n[l]:
            out.append(word(l, 0))
            nxt[l], cnt[l] = 1, 16
    for t in range(max(n)):
        for l in range(W):
            if t < n[l]:
                cnt[l] -= lengths[syms[l][t]]
                if cnt[l] < 16 and t + 1 < n[l]:
                    out.append(word(l, nxt[l]))
                    nxt[l] += 1
                    cnt[l] += 16
    LAST_PADDED[0] = len(out) % 2 == 1
    if LAST_PADDED[0]:
        out.append(0)                                         # [P-5]
    return struct.pack("<%dH" % len(out), *out)


def encode_tiled(code_matrix, rows, cols, coding, Q, esc, p, W, pack, S, tr, tc):
    """Table, tile index, escape order and data for RANS (coding 1) or PREFIX (coding 2).
    Returns (table, tile_index, data, escapes_per_tile as lists of (r, c))."""
    tiles = []
    counts = [0] * (Q if pack == 1 else 256)
    for r0, r1, c0, c1 in tile_grid(rows, cols, tr, tc):
        lanes = lane_elements(r0, r1, c0, c1, W, S)
        lane_codes = [[code_matrix[r][c] for r, c in lane] for lane in lanes]
        syms = [lane_symbols(c, pack) for c in lane_codes]
        for lane in syms:
            for s in lane:
                counts[s] += 1
        escs = [lanes[l][i] for l, i in escape_order(lane_codes, pack, esc)]
        tiles.append((syms, escs))
    if coding == 1:
        freq = normalize_freqs(counts, 1 << p)
        table = struct.pack("<%dH" % len(freq), *freq)
        encode = lambda syms: rans_encode_tile(syms, W, p, freq)  # noqa: E731
    else:
        lengths = huffman_lengths(counts, p)
        codes = canonical_codes(lengths)
        table = bytes(lengths)
        encode = lambda syms: prefix_encode_tile(syms, W, lengths, codes)  # noqa: E731
    blobs, idx, pads = [], [0], []
    for syms, _ in tiles:
        blobs.append(encode(syms))
        idx.append(idx[-1] + len(blobs[-1]))
        if LAST_PADDED[0]:
            pads.append(idx[-1] - 2)             # data offset of the padding word
    PADDING_WORDS[:] = pads
    return (table, struct.pack("<%dQ" % len(idx), *idx), b"".join(blobs),
            [e for _, e in tiles])


PADDING_WORDS = []         # data offsets of the padding words of the last encode_tiled()


def escapes_part(esc_tiles, kmat):
    start, vals = [0], []
    for tile in esc_tiles:
        vals += [kmat[r][c] for r, c in tile]
        start.append(len(vals))
    return struct.pack("<%dI" % len(start), *start) + struct.pack("<%di" % len(vals), *vals)


def coding_params(p, W, pack, S, tr, tc):
    return struct.pack("<BBBBIII", p, W, pack, S, tr, tc, 0)


def zstd_raw_frame(content, checksum=True, declare_size=True):
    """One Zstandard frame of raw blocks (RFC 8878), built by hand."""
    if declare_size:
        fhd = (3 << 6) | (1 << 5) | (checksum << 2)           # 8-byte size, single segment
        head = R.ZSTD_MAGIC + bytes([fhd]) + struct.pack("<Q", len(content))
    else:
        fhd = checksum << 2                                   # no size, window descriptor
        head = R.ZSTD_MAGIC + bytes([fhd, 7 << 3])            # window 2^17
    blocks = bytearray()
    chunks = [content[i:i + 65536] for i in range(0, len(content), 65536)] or [b""]
    for i, ch in enumerate(chunks):
        last = i == len(chunks) - 1
        blocks += (last | (0 << 1) | (len(ch) << 3)).to_bytes(3, "little") + ch
    tail = (R.xxh64(content) & 0xFFFFFFFF).to_bytes(4, "little") if checksum else b""
    return head + bytes(blocks) + tail


# ------------------------------------------------------------------------------------------
# Test tensors
# ------------------------------------------------------------------------------------------

def f16_bits(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


def f16_val(h):
    return struct.unpack("<e", struct.pack("<H", h))[0]


def bf16_val(h):
    return struct.unpack("<f", struct.pack("<I", h << 16))[0]


def t_none_f32(rng):
    vals = [1.5, -0.0, math.inf, 1e-45, -3.25, 7.0]
    raw = f32_bytes(vals) + struct.pack("<I", 0x7FC01234)    # a NaN with a payload
    return W("embed.none_f32", [7], 0, 0, 0, b"", b"", [b"", b"", b"", b"", raw], raw, raw)


def t_scalar():
    raw = struct.pack("<f", 2.5)
    return W("scalar", [], 0, 0, 0, b"", b"", [b"", b"", b"", b"", raw], raw, raw)


def t_none_bf16():
    hs = [0x3F80, 0xC040, 0x7F80, 0x0001, 0x7FC1, 0x8000]
    raw = struct.pack("<6H", *hs)
    vals = struct.pack("<6I", *[h << 16 for h in hs])
    return W("v.none_bf16", [2, 3], 0, 0, 2, b"", b"", [b"", b"", b"", b"", raw], raw, vals)


def t_none_f16_zstd(rng):
    xs = [rng.uniform(-4, 4) for _ in range(300)]
    hs = [f16_bits(x) for x in xs] + [0x7C00, 0xFC00, 0x0001, 0x03FF, 0x8000]
    f32b = [struct.unpack("<I", struct.pack("<f", f16_val(h)))[0] for h in hs]
    hs.append(0x7E01)                                         # NaN, payload kept (README)
    f32b.append(0x7F800000 | (0x201 << 13))
    raw = struct.pack("<%dH" % len(hs), *hs)
    vals = struct.pack("<%dI" % len(f32b), *f32b)
    data = zstd_raw_frame(raw, checksum=True)
    return W("v.none_f16_zstd", [len(hs)], 0, 3, 1, b"", b"", [b"", b"", b"", b"", data],
             raw, vals)


def t_affine_rans(rng, name="w.affine_rans", rows=5, cols=96, bits=4, pdt=1, gs=32,
                  p=12, W_=8, pack=2, S=2, tr=3, tc=40):
    Q = 1 << bits
    G = cols // gs
    if pdt == 1:
        sh = [f16_bits(rng.uniform(0.001, 0.1)) for _ in range(rows * G)]
        bh = [f16_bits(rng.uniform(-1, 1)) for _ in range(rows * G)]
        scales, biases = [f16_val(h) for h in sh], [f16_val(h) for h in bh]
        params = struct.pack("<%dH" % len(sh), *sh) + struct.pack("<%dH" % len(bh), *bh)
    else:
        scales = [f32r(rng.uniform(1e-3, 0.1)) for _ in range(rows * G)]
        biases = [f32r(rng.uniform(-1, 1)) for _ in range(rows * G)]
        params = f32_bytes(scales) + f32_bytes(biases)
    mat = [[min(Q - 1, int(abs(rng.gauss(0, Q / 5)))) for _ in range(cols)]
           for _ in range(rows)]
    table, index, data, _ = encode_tiled(mat, rows, cols, 1, Q, -1, p, W_, pack, S, tr, tc)
    pads = PADDING_WORDS[:]
    codes = bytes(u for row in mat for u in row)
    vals = f32_bytes(f32r(f32r(scales[r * G + c // gs] * mat[r][c]) + biases[r * G + c // gs])
                     for r in range(rows) for c in range(cols))
    t = W(name, [rows, cols], 1, 1, 1, struct.pack("<BBH", bits, pdt, gs),
          coding_params(p, W_, pack, S, tr, tc), [params, table, index, b"", data],
          codes, vals)
    t.pads = pads
    return t


def ecsq_matrix(rng, rows, cols, Q, z, step, spread):
    """Codes and k of weights quantized with `step`; values beyond the alphabet escape."""
    mat, kmat = [], []
    for r in range(rows):
        mrow, krow = [], []
        for c in range(cols):
            k = int(round(rng.gauss(0, spread) * (4 if rng.random() < 0.1 else 1)))
            if -z <= k <= Q - 2 - z:
                mrow.append(k + z)
            else:
                mrow.append(Q - 1)
            krow.append(k)
        mat.append(mrow)
        kmat.append(krow)
    return mat, kmat


def t_ecsq_tiled(rng, name, dims, Q, z, per_row, coding, p, W_, pack, S, tr, tc):
    rows, cols = math.prod(dims[:-1]), dims[-1]
    steps = [f32r(rng.uniform(0.01, 0.2)) for _ in range(rows if per_row else 1)]
    mat, kmat = ecsq_matrix(rng, rows, cols, Q, z, steps[0], Q / 4)
    table, index, data, esc = encode_tiled(mat, rows, cols, coding, Q, Q - 1, p, W_, pack,
                                           S, tr, tc)
    pads = PADDING_WORDS[:]
    flags = 1 | (2 if per_row else 0)
    codes = bytes(u for row in mat for u in row)
    vals = f32_bytes(f32r(steps[r if per_row else 0] * kmat[r][c])
                     for r in range(rows) for c in range(cols))
    t = W(name, dims, 3, coding, 0, struct.pack("<HHB", Q, z, flags),
          coding_params(p, W_, pack, S, tr, tc),
          [f32_bytes(steps), table, index, escapes_part(esc, kmat), data], codes, vals)
    t.pads = pads
    return t


def t_symmetric_raw(rng):
    rows, cols, bits, bs = 3, 32, 3, 16
    dh = [struct.unpack("<I", struct.pack("<f", rng.uniform(0.01, 1)))[0] >> 16
          for _ in range(rows * cols // bs)]
    ds = [bf16_val(h) for h in dh]
    mat = [[rng.randrange(8) for _ in range(cols)] for _ in range(rows)]
    flat = [u for row in mat for u in row]
    vals = f32_bytes(f32r(ds[i // bs] * (u - 4)) for i, u in enumerate(flat))
    return W("w.sym_raw", [rows, cols], 2, 0, 2, struct.pack("<BBH", bits, 2, bs), b"",
             [struct.pack("<%dH" % len(dh), *dh), b"", b"", b"", pack_raw_codes(flat, bits)],
             bytes(flat), vals)


def t_ecsq_raw(rng, name, coding, Q=5, z=2, n=37, cli=False):
    step = f32r(0.125)
    mat, kmat = ecsq_matrix(rng, 1, n, Q, z, step, 2)
    flat, ks = mat[0], kmat[0]
    width = max(1, (Q - 1).bit_length())
    raw = pack_raw_codes(flat, width)
    esc = [k for u, k in zip(flat, ks) if u == Q - 1]
    escp = struct.pack("<2I", 0, len(esc)) + struct.pack("<%di" % len(esc), *esc)
    if coding == 3:
        if cli:
            raw = cli_compress(raw)
        else:
            raw = zstd_raw_frame(raw, checksum=False)
    vals = f32_bytes(f32r(step * k) for k in ks)
    return W(name, [n], 3, coding, 0, struct.pack("<HHB", Q, z, 1), b"",
             [f32_bytes([step]), b"", b"", escp, raw], bytes(flat), vals)


def cli_compress(data):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x")
        with open(p, "wb") as f:
            f.write(data)
        return subprocess.run(["zstd", "-q", "-c", "--check", "-19", p], check=True,
                              stdout=subprocess.PIPE).stdout


def t_empty():
    return W("empty", [4, 0], 1, 0, 0, struct.pack("<BBH", 4, 1, 16), b"",
             [b"", b"", b"", b"", b""], b"", b"")


def t_empty_ecsq():
    return W("empty_ecsq", [0], 3, 0, 0, struct.pack("<HHB", 4, 1, 1), b"",
             [f32_bytes([0.5]), b"", b"", b"", b""], b"", b"")


def t_prefix_single(rng):
    """Q = 1: a one-symbol prefix code (length 1, code '0'), pack 2."""
    rows, cols = 3, 11
    mat = [[0] * cols for _ in range(rows)]
    table, index, data, _ = encode_tiled(mat, rows, cols, 2, 1, -1, 3, 4, 2, 1, 2, 5)
    vals = f32_bytes([0.0] * (rows * cols))
    return W("w.prefix_single", [rows, cols], 3, 2, 0, struct.pack("<HHB", 1, 0, 0),
             coding_params(3, 4, 2, 1, 2, 5), [f32_bytes([0.75]), table, index, b"", data],
             bytes(rows * cols), vals)


def good_tensors(rng, with_cli):
    ts = [
        t_none_f32(rng),
        t_affine_rans(rng),
        t_ecsq_tiled(rng, "w.ecsq_prefix", [2, 2, 50], 8, 3, True, 2, 10, 4, 1, 3, 4, 20),
        t_ecsq_tiled(rng, "w.ecsq_rans_p2", [10, 13], 6, 2, False, 1, 11, 2, 2, 1, 7, 9),
        t_symmetric_raw(rng),
        t_ecsq_raw(rng, "w.ecsq_zstd", 3),
        t_none_f16_zstd(rng),
        t_none_bf16(),
        t_scalar(),
        t_empty(),
        t_empty_ecsq(),
        t_prefix_single(rng),
        t_affine_rans(rng, name="w.affine8_wide", rows=3, cols=48, bits=8, pdt=0, gs=16,
                      p=15, W_=64, pack=1, S=3, tr=2, tc=20),
        t_ecsq_raw(rng, "w.ecsq_raw_q3", 0, Q=3, z=1, n=50),
        t_ecsq_tiled(rng, "w.ecsq_prefix_p2", [9, 17], 12, 5, True, 2, 12, 8, 2, 4, 5, 16),
    ]
    if with_cli:
        ts.append(t_ecsq_raw(rng, "w.ecsq_zstd_cli", 3, Q=4, z=1, n=3000, cli=True))
    return ts


METADATA = [
    (b"a.bool", 6, 1),
    (b"a.bytes", 5, b"\x00\xff\x10"),
    (b"ecqf.writer", 4, "selftest \u00e9\u20ac".encode()),
    (b"f", 3, -0.5),
    (b"n", 1, 2 ** 63),
    (b"n.i", 2, -7),
]


# ------------------------------------------------------------------------------------------
# Running the reader
# ------------------------------------------------------------------------------------------

def read(buf):
    """In-process reader call: list of lines or 'error NAME'."""
    try:
        return R.read_ecqf(bytes(buf))
    except R.EcqfError as e:
        return "error " + e.name


FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL", what)


def expect_error(desc, buf, name):
    got = read(buf)
    check(got == "error " + name, "%s: expected %s, got %s" % (
        desc, name, got if isinstance(got, str) else "success"))


def patch(buf, off, data):
    buf = bytearray(buf)
    buf[off:off + len(data)] = data
    return buf


def test_arithmetic(rng):
    # the reader's vector rounding == the scalar reference, on edge cases and random ops
    edge = [0.0, -0.0, 1e-46, 0.7006492321624085e-45, 1.401298464324817e-45 * 1.5,
            3.4028234663852886e38, 3.4028235677973366e38, 3.40282356779733e38, -1e39, 1e300,
            math.inf, -math.inf, 1 + 2 ** -24, 1 + 3 * 2 ** -24, 1 + 2 ** -24 + 2 ** -60]
    xs = edge[:]
    for _ in range(2000):
        a, b = f32r(rng.uniform(-10, 10) * 2 ** rng.randint(-140, 120)), rng.randint(-300, 300)
        c = f32r(rng.uniform(-10, 10) * 2 ** rng.randint(-140, 120))
        xs += [a * b, f32r(a * b) + c]
    vec = list(R.f32_round_all(xs))
    ref = [f32r(x) for x in xs]
    check(all(struct.pack("<f", v) == struct.pack("<f", r) for v, r in zip(vec, ref)),
          "vector binary32 rounding differs from the scalar reference")
    # f16 -> f32 bit conversion agrees with struct's 'e' on every finite value
    bad = 0
    for h in range(65536):
        if (h >> 10) & 0x1F == 0x1F:
            continue
        if R.f16_bits_to_f32_bits(h) != struct.unpack("<I", struct.pack("<f", f16_val(h)))[0]:
            bad += 1
    check(bad == 0, "f16 -> f32 conversion wrong for %d values" % bad)
    check(R.xxh64(b"") == 0xEF46DB3751D8E999 and R.xxh64(b"abc") == 0x44BC2CF5AD770999,
          "xxh64 test vectors")


def main():
    t0 = time.time()
    rng = random.Random(20261127)
    with_cli = shutil.which("zstd") is not None
    test_arithmetic(rng)

    tensors = good_tensors(rng, with_cli)
    good, info = build(tensors, METADATA)
    got = read(good)
    want = [t.expected_line() for t in tensors]
    if isinstance(got, str):
        check(False, "good file rejected: " + got)
    else:
        for g, w in zip(got, want):
            check(g == w, "tensor %r: got %s / %s" % (w[0], g[1:], w[1:]))
        check(len(got) == len(want), "tensor count")

    # the command line, once (the conformance protocol)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "good.ecqf")
        with open(path, "wb") as f:
            f.write(good)
        r = subprocess.run([sys.executable, os.path.join(HERE, "ecqf_reader.py"), path],
                           stdout=subprocess.PIPE)
        lines = r.stdout.decode().splitlines()
        check(r.returncode == 0 and lines == ["tensor %s codes=%s values=%s"
                                              % (n.decode(), c, v) for n, c, v in want],
              "command line output on the good file")
        with open(path, "wb") as f:
            f.write(good[:-1])
        r = subprocess.run([sys.executable, os.path.join(HERE, "ecqf_reader.py"), path],
                           stdout=subprocess.PIPE)
        check(r.returncode == 1 and r.stdout.startswith(b"error ECQF_ERR_TRUNCATED ")
              and r.stdout.count(b"\n") == 1, "command line output on a truncated file")

    # second file: alignment 128, no metadata, a 3-tensor subset
    small = [t_affine_rans(rng), t_none_bf16(), t_ecsq_raw(rng, "w.e", 0)]
    buf2, info2 = build(small, (), alignment=128)
    check(read(buf2) == [t.expected_line() for t in small], "alignment 128 file")
    check(read(build([])[0]) == [], "empty file")

    corruptions(good, info, tensors, rng)
    errata(good, info, tensors)
    if with_cli:
        zstd_backend_tests()
    print("%s: %d failures, %.1f s" % ("FAIL" if FAILURES else "OK", len(FAILURES),
                                        time.time() - t0))
    if "--bench" in sys.argv:
        bench(rng)
    return 1 if FAILURES else 0


def tensor_index(tensors, name):
    return [t.name for t in tensors].index(name.encode())


def corruptions(good, info, tensors, rng):
    doff = struct.unpack_from("<Q", good, 40)[0]
    E = "ECQF_ERR_"
    # --- header ---
    expect_error("bad magic", patch(good, 1, b"e"), E + "BAD_MAGIC")
    expect_error("CRLF-mangled magic", b"\x89ECQF\n\n" + good[8:], E + "BAD_MAGIC")
    expect_error("short file", good[:50], E + "TRUNCATED")
    expect_error("cut last byte", good[:-1], E + "TRUNCATED")
    expect_error("extra byte", good + b"\0", E + "TRAILING_DATA")
    expect_error("version 1", reseal_header(patch(good, 8, b"\1\0")), E + "UNSUPPORTED_VERSION")
    check(read(reseal_header(patch(good, 10, b"\7\0"))) != "error", "minor 7 accepted")
    expect_error("header_size", reseal_header(patch(good, 12, b"\x60\1")), E + "BAD_HEADER")
    expect_error("required feature", reseal_header(patch(good, 16, b"\1")),
                 E + "UNSUPPORTED_FEATURE")
    check(not isinstance(read(reseal_header(patch(good, 24, b"\xff"))), str),
          "optional features ignored")
    expect_error("alignment 32", reseal_header(patch(good, 56, b"\x20")), E + "BAD_HEADER")
    expect_error("alignment 96", reseal_header(patch(good, 56, b"\x60")), E + "BAD_HEADER")
    expect_error("header reserved", reseal_header(patch(good, 60, b"\1")),
                 E + "RESERVED_NONZERO")
    expect_error("directory_offset", reseal_header(patch(good, 40, struct.pack("<Q", doff - 8))),
                 E + "BAD_LAYOUT")
    expect_error("header checksum byte", patch(good, 70, bytes([good[70] ^ 1])),
                 E + "HEADER_CHECKSUM")
    expect_error("directory byte", patch(good, doff + 20, bytes([good[doff + 20] ^ 1])),
                 E + "HEADER_CHECKSUM")
    # --- directory ---
    expect_error("directory reserved", reseal_header(patch(good, doff + 8, b"\1")),
                 E + "RESERVED_NONZERO")
    # metadata: first key "a.bool" at doff+16: u16 len, key, type
    expect_error("metadata order", reseal_header(patch(good, doff + 18, b"z")), E + "BAD_DIRECTORY")
    expect_error("bad UTF-8 key", reseal_header(patch(good, doff + 18, b"\xc0")), E + "BAD_UTF8")
    expect_error("key with NUL", reseal_header(patch(good, doff + 18, b"\0")), E + "BAD_UTF8")
    expect_error("metadata type", reseal_header(patch(good, doff + 24, b"\x09")),
                 E + "BAD_DIRECTORY")
    expect_error("bool value 2", reseal_header(patch(good, doff + 25, b"\x02")),
                 E + "BAD_DIRECTORY")
    dup = build(tensors, [(b"k", 1, 1), (b"k", 1, 2)])[0]
    expect_error("duplicate key", dup, E + "DUPLICATE_NAME")
    expect_error("overlong UTF-8 string", build([], [(b"s", 4, b"\xc0\xaf")])[0], E + "BAD_UTF8")
    expect_error("surrogate in name", build([W("\ud800".encode("utf-8", "surrogatepass"), [1],
                                               0, 0, 0, b"", b"", [b""] * 4 + [b"abcd"],
                                               b"", b"")])[0], E + "BAD_UTF8")
    t1 = good_tensors(random.Random(1), False)[:3]
    t1[2].name = t1[1].name
    expect_error("duplicate tensor name", build(t1)[0], E + "DUPLICATE_NAME")
    t1[2].parts[1] = bytes(len(t1[2].parts[1]) - 1) + b"\2"      # and a bad PREFIX table
    expect_error("duplicate name and a bad table (names are checked last, section 12)",
                 build(t1)[0], E + "BAD_TABLE")
    expect_error("tensor_count beyond the directory size",
                 reseal_header(patch(good, doff + 4, struct.pack("<I", 100000))),
                 E + "BAD_DIRECTORY")
    expect_error("metadata_count limit", reseal_header(patch(good, doff, struct.pack(
        "<I", 65537))), E + "LIMIT")
    expect_error("leftover directory byte",
                 reseal_header(patch(good + b"\0", 32, struct.pack("<QQQ", len(good) + 1, doff,
                                                                    len(good) + 1 - doff))),
                 E + "BAD_DIRECTORY")

    def variant(name, mutate):
        ts = good_tensors(random.Random(7), False)
        t = ts[tensor_index(ts, name)]
        mutate(t)
        return build(ts)[0]

    def setpart(k, data):
        return lambda t: t.parts.__setitem__(k, data)

    # --- tensor entries and params ---
    expect_error("dtype 3", variant("scalar", lambda t: setattr(t, "dtype", 3)), E + "BAD_DTYPE")
    expect_error("scheme 4", variant("scalar", lambda t: setattr(t, "scheme", 4)),
                 E + "BAD_SCHEME")
    expect_error("coding 4", variant("scalar", lambda t: setattr(t, "coding", 4)),
                 E + "BAD_CODING")
    expect_error("NONE with RANS", variant("scalar", lambda t: setattr(t, "coding", 1)),
                 E + "BAD_SCHEME")
    expect_error("ndim 9", variant("scalar", lambda t: setattr(t, "dims", [1] * 9)),
                 E + "LIMIT")
    expect_error("numel 2^48+", variant("empty", lambda t: setattr(t, "dims", [2 ** 24 + 1,
                                                                               2 ** 24])),
                 E + "LIMIT")
    expect_error("affine cols % group", variant("w.affine_rans",
                                                lambda t: setattr(t, "sp", b"\4\1\x40\0" +
                                                                  bytes(12))),
                 E + "BAD_SCHEME")
    expect_error("scheme_params unused byte", variant("w.affine_rans", lambda t: setattr(
        t, "sp", b"\4\1\x20\0\1" + bytes(11))), E + "RESERVED_NONZERO")
    expect_error("ECSQ flag bit 2", variant("w.ecsq_zstd", lambda t: setattr(
        t, "sp", struct.pack("<HHB", 5, 2, 5).ljust(16, b"\0"))), E + "BAD_SCHEME")
    expect_error("negative step", variant("w.ecsq_zstd", setpart(0, f32_bytes([-0.5]))),
                 E + "BAD_SCHEME")
    expect_error("NaN step", variant("w.ecsq_prefix", lambda t: t.parts.__setitem__(
        0, t.parts[0][:4] + struct.pack("<I", 0x7FC00000) + t.parts[0][8:])), E + "BAD_SCHEME")
    expect_error("precision 16", variant("w.affine_rans", lambda t: setattr(
        t, "cp", b"\x10" + t.cp[1:])), E + "BAD_CODING")
    expect_error("lanes 3", variant("w.affine_rans", lambda t: setattr(
        t, "cp", t.cp[:1] + b"\3" + t.cp[2:])), E + "BAD_CODING")
    expect_error("pack 2 with Q 32", variant("w.affine_rans", lambda t: setattr(
        t, "sp", b"\5" + t.sp[1:])), E + "BAD_CODING")
    # section 11: tile elements above 2^20 [K-10] are a limit (LIMIT); a tile dimension of
    # 0 is BAD_CODING
    expect_error("tile too big", variant("w.affine_rans", lambda t: setattr(
        t, "cp", t.cp[:4] + struct.pack("<II", 1024, 1025) + t.cp[12:])),
        E + "LIMIT")
    expect_error("tile_cols 0", variant("w.affine_rans", lambda t: setattr(
        t, "cp", t.cp[:4] + struct.pack("<II", 3, 0) + t.cp[12:])), E + "BAD_CODING")
    expect_error("coding_params reserved", variant("w.affine_rans", lambda t: setattr(
        t, "cp", t.cp[:12] + b"\1\0\0\0")), E + "RESERVED_NONZERO")
    expect_error("RAW with coding_params", variant("w.sym_raw", lambda t: setattr(
        t, "cp", b"\1" + bytes(15))), E + "RESERVED_NONZERO")
    expect_error("numel 0 with ZSTD", variant("empty", lambda t: setattr(t, "coding", 3)),
                 E + "BAD_CODING")
    expect_error("params size", variant("w.affine_rans", lambda t: t.parts.__setitem__(
        0, t.parts[0] + b"\0\0")), E + "BAD_LAYOUT")
    expect_error("RAW data size", variant("w.sym_raw", lambda t: t.parts.__setitem__(
        4, t.parts[4] + b"\0")), E + "BAD_LAYOUT")
    expect_error("escapes without HAS_ESCAPE", variant("w.prefix_single", setpart(3, b"\0" * 8)),
                 E + "BAD_LAYOUT")

    # --- layout and padding ---
    k = tensor_index(tensors, "w.affine_rans")
    entry_off = info["cksum_pos"][k] - 48
    blob_off = struct.unpack_from("<Q", good, entry_off)[0]
    expect_error("blob_offset", reseal_header(patch(good, entry_off, struct.pack(
        "<Q", blob_off + 64))), E + "BAD_LAYOUT")
    expect_error("file padding", patch(good, blob_off - 1, b"\1"), E + "NONZERO_PADDING")
    expect_error("directory padding", patch(good, doff - 1, b"\1"), E + "NONZERO_PADDING")
    # padding between params (40 bytes) and table inside the blob, checksum resealed
    expect_error("part padding", reseal(patch(good, blob_off + 60, b"\1"), info),
                 E + "NONZERO_PADDING")
    # section 12: tables are checked when the file is opened, the checksum on use
    data_off = blob_off + info["blobs"][k][1] - 1               # last byte of the data part
    expect_error("data byte", patch(good, data_off, bytes([good[data_off] ^ 4])),
                 E + "BLOB_CHECKSUM")
    expect_error("table byte, checksum not resealed", patch(good, blob_off + 200, bytes(
        [good[blob_off + 200] ^ 4])), E + "BAD_TABLE")

    # --- tables ---
    def bump_freq(t):
        f = bytearray(t.parts[1])
        f[0] += 1
        t.parts[1] = bytes(f)
    expect_error("rANS freq sum", variant("w.affine_rans", bump_freq), E + "BAD_TABLE")

    def freq_high(t):
        f = list(struct.unpack("<256H", t.parts[1]))
        i = max(range(256), key=lambda s: f[s])
        f[i] -= 1
        f[0xFF] += 1                                          # fine for Q = 16
        t.parts[1] = struct.pack("<256H", *f)
    expect_error("rANS table changed (stream no longer matches)",
                 variant("w.affine_rans", freq_high), E + "CORRUPT_STREAM")

    def len_too_long(t):
        b = bytearray(t.parts[1])
        b[0] = 11                                             # max_length is 10
        t.parts[1] = bytes(b)
    expect_error("prefix length > max_length", variant("w.ecsq_prefix", len_too_long),
                 E + "BAD_TABLE")

    def incomplete(t):
        b = bytearray(t.parts[1])
        i = max(range(len(b)), key=lambda s: b[s])
        b[i] = 0
        t.parts[1] = bytes(b)
    expect_error("incomplete prefix code", variant("w.ecsq_prefix", incomplete), E + "BAD_TABLE")

    def p3(t):
        b = bytearray(t.parts[1])
        b[0x0F] = 1                                           # lo = 15 >= Q = 12 ...
        t.parts[1] = bytes(b)
    expect_error("prefix pack-2 symbol >= Q", variant("w.ecsq_prefix_p2", p3), E + "BAD_TABLE")

    # --- tile index ---
    def idx_mut(fn):
        def m(t):
            n = len(t.parts[2]) // 8
            idx = list(struct.unpack("<%dQ" % n, t.parts[2]))
            fn(idx, t)
            t.parts[2] = struct.pack("<%dQ" % n, *idx)
        return m
    expect_error("tile size not multiple of 4", variant("w.affine_rans", idx_mut(
        lambda idx, t: idx.__setitem__(1, idx[1] + 2))), E + "BAD_TILE_INDEX")
    expect_error("idx[T] != data size", variant("w.affine_rans", idx_mut(
        lambda idx, t: idx.__setitem__(-1, idx[-1] + 4))), E + "BAD_TILE_INDEX")
    expect_error("idx[0] != 0", variant("w.affine_rans", idx_mut(
        lambda idx, t: idx.__setitem__(0, 4))), E + "BAD_TILE_INDEX")

    # --- streams ---
    def state(v, lane=0):
        def m(t):
            d = bytearray(t.parts[4])
            d[4 * lane:4 * lane + 4] = struct.pack("<I", v)
            t.parts[4] = bytes(d)
        return m
    expect_error("rANS state < 2^16", variant("w.affine_rans", state(0xFFFF)),
                 E + "CORRUPT_STREAM")
    expect_error("rANS state changed", variant("w.affine_rans", state(0x12345678)),
                 E + "CORRUPT_STREAM")
    expect_error("rANS idle lane state", variant("w.affine8_wide", state(0x10001, lane=40)),
                 E + "CORRUPT_STREAM")

    def extra_words(t):                                       # 4 more bytes in the last tile
        n = len(t.parts[2]) // 8
        idx = list(struct.unpack("<%dQ" % n, t.parts[2]))
        idx[-1] += 4
        t.parts[2] = struct.pack("<%dQ" % n, *idx)
        t.parts[4] += b"\0\0\0\0"
    expect_error("rANS untaken words", variant("w.affine_rans", extra_words), E + "CORRUPT_STREAM")
    expect_error("prefix untaken words", variant("w.ecsq_prefix", extra_words),
                 E + "CORRUPT_STREAM")

    def set_padding(t):
        assert t.pads, "no tile of %r has a padding word" % t.name
        d = bytearray(t.parts[4])
        d[t.pads[0]] = 1
        t.parts[4] = bytes(d)
    padded = [t.name.decode() for t in good_tensors(random.Random(7), False)
              if getattr(t, "pads", None)]
    check(any("rans" in n for n in padded) and any("prefix" in n for n in padded),
          "test data lacks a padded rANS tile and a padded PREFIX tile: %s" % padded)
    for name in padded:
        expect_error("padding word " + name, variant(name, set_padding), E + "NONZERO_PADDING")

    def flip_prefix(t):
        d = bytearray(t.parts[4])
        d[1] ^= 0x80
        t.parts[4] = bytes(d)
    # a prefix code has no redundancy: a flipped bit is an error or different data
    got = read(variant("w.ecsq_prefix", flip_prefix))
    check(got != read(variant("w.ecsq_prefix", lambda t: None)), "prefix bit flip unnoticed")
    expect_error("prefix single: code bit 1", variant("w.prefix_single", lambda t: t.parts.
                                                      __setitem__(4, b"\x00\x80" + t.parts[4][2:])),
                 E + "CORRUPT_STREAM")
    expect_error("prefix truncated tile", variant("w.ecsq_prefix", idx_mut(
        lambda idx, t: (idx.__setitem__(1, 0), None))), E + "CORRUPT_STREAM")
    expect_error("RAW padding bits", variant("w.ecsq_raw_q3", lambda t: t.parts.__setitem__(
        4, t.parts[4][:-1] + bytes([t.parts[4][-1] | 0x80]))), E + "NONZERO_PADDING")
    expect_error("RAW code >= Q", variant("w.ecsq_raw_q3", lambda t: t.parts.__setitem__(
        4, b"\x03" + t.parts[4][1:])), E + "CORRUPT_STREAM")

    # a 2^20-element tile whose stream breaks at once must be rejected quickly
    huge = W("huge", [1024, 1024], 3, 1, 0, struct.pack("<HHB", 2, 0, 0),
             coding_params(10, 1, 1, 1, 1024, 1024),
             [f32_bytes([1.0]), struct.pack("<2H", 512, 512), struct.pack("<2Q", 0, 4), b"",
              struct.pack("<I", 0x10000)], b"", b"")
    t0 = time.time()
    expect_error("huge tile, exhausted stream", build([huge])[0], E + "CORRUPT_STREAM")
    check(time.time() - t0 < 1, "huge tile took %.1f s" % (time.time() - t0))

    # --- escapes ---
    def esc_mut(fn):
        def m(t):
            b = bytearray(t.parts[3])
            fn(b)
            t.parts[3] = bytes(b)
        return m
    expect_error("escape value representable", variant("w.ecsq_zstd", esc_mut(
        lambda b: b.__setitem__(slice(8, 12), struct.pack("<i", 0)))), E + "BAD_ESCAPES")
    expect_error("escape value 2^24", variant("w.ecsq_zstd", esc_mut(
        lambda b: b.__setitem__(slice(8, 12), struct.pack("<i", -2 ** 24)))), E + "BAD_ESCAPES")
    expect_error("escape count", variant("w.ecsq_zstd", lambda t: t.parts.__setitem__(
        3, struct.pack("<2I", 0, struct.unpack_from("<I", t.parts[3], 4)[0] - 1)
        + t.parts[3][8:-4])), E + "BAD_ESCAPES")
    expect_error("escapes part size", variant("w.ecsq_prefix", lambda t: t.parts.__setitem__(
        3, t.parts[3] + b"\0\0\0\0")), E + "BAD_ESCAPES")

    def shift_start(b):                                        # move one value between tiles
        s1 = struct.unpack_from("<I", b, 4)[0]
        b[4:8] = struct.pack("<I", s1 + 1)
    expect_error("escape start moved", variant("w.ecsq_prefix", esc_mut(shift_start)),
                 E + "BAD_ESCAPES")

    # --- ZSTD ---
    expect_error("ZSTD without content size", variant("w.ecsq_zstd", lambda t: t.parts.
                                                      __setitem__(4, zstd_raw_frame(
                                                          pack_raw_codes(t.codes, 3), False,
                                                          False))), E + "CORRUPT_STREAM")
    expect_error("ZSTD trailing byte", variant("w.ecsq_zstd", lambda t: t.parts.__setitem__(
        4, t.parts[4] + b"\0")), E + "CORRUPT_STREAM")
    expect_error("ZSTD content checksum", variant("v.none_f16_zstd", lambda t: t.parts.
                                                  __setitem__(4, t.parts[4][:-1] +
                                                              bytes([t.parts[4][-1] ^ 1]))),
                 E + "CORRUPT_STREAM")


def zstd_frame(content, wd=None, dict_id=None, declared=None):
    """A Zstandard frame of one raw block, built by hand (RFC 8878): with a
    Window_Descriptor `wd` (else Single_Segment), an optional 1-byte Dictionary_ID, and an
    8-byte Frame_Content_Size (`declared`, default the content size)."""
    fhd = (3 << 6) | (0 if wd is not None else 1 << 5) | (1 if dict_id is not None else 0)
    head = R.ZSTD_MAGIC + bytes([fhd])
    if wd is not None:
        head += bytes([wd])
    if dict_id is not None:
        head += bytes([dict_id])
    head += struct.pack("<Q", len(content) if declared is None else declared)
    return head + (1 | (len(content) << 3)).to_bytes(3, "little") + content


def errata(good, info, tensors):
    """The spec errata of 68d4dcd (section 15): what changed since the reader was written."""
    E = "ECQF_ERR_"

    def variant(name, *mutations):
        ts = good_tensors(random.Random(7), False)
        t = ts[tensor_index(ts, name)]
        for m in mutations:
            m(t)
        return build(ts)[0]

    def ok(desc, buf):
        got = read(buf)
        check(isinstance(got, list), "%s: rejected (%s)" % (desc, got))

    def none_tensor(name, dims=(1,)):
        return W(name, list(dims), 0, 0, 0, b"", b"", [b""] * 4 + [bytes(4 * math.prod(dims))],
                 b"", b"")

    # [T-7] control characters U+0001..U+001F and U+007F in names: BAD_UTF8.  U+0085 (a C1
    # control) is not in the list.  Metadata keys ([M-2]) have no such rule.
    for cc in (b"\n", b"\t", b"\x1f", b"\x7f", b"\x01"):
        expect_error("name with control character %r" % cc,
                     build([none_tensor(b"a" + cc + b"b")])[0], E + "BAD_UTF8")
    ok("name with U+0085", build([none_tensor("a\u0085b")])[0])
    ok("metadata key with a tab", build([], [(b"k\tx", 1, 1)])[0])

    # [T-8]: rows < 2^64 even when the last dimension is 0 (LIMIT); intermediate products
    # are exact
    expect_error("rows = 2^64", build([none_tensor("r", (2 ** 32, 2 ** 32, 0))])[0],
                 E + "LIMIT")
    ok("rows = 2^49, numel 0", build([none_tensor("r", (2 ** 25, 2 ** 24, 0))])[0])
    ok("rows = 2^64 - 1, numel 0", build([none_tensor("r", (2 ** 64 - 1, 1, 0))])[0])
    ok("dims [2^40, 2^40, 0, 7]: rows = 0", build([none_tensor("r", (2 ** 40, 2 ** 40, 0,
                                                                     7))])[0])
    # [C-2]: PER_ROW ECSQ with rows = 2^63 and no column: 4*rows bytes of steps overflow
    expect_error("ECSQ PER_ROW params size 4*2^63", build([W(
        "e", [2 ** 63, 0], 3, 0, 0, struct.pack("<HHB", 4, 1, 2), b"", [b""] * 5, b"",
        b"")])[0], E + "LIMIT")

    # [C-2]: a part size whose end does not fit 64 bits is LIMIT, not BAD_LAYOUT
    k = tensor_index(tensors, "w.affine_rans")
    data_size_pos = info["cksum_pos"][k] - 8                    # part_size[4]
    expect_error("data part size 2^64 - 8", reseal_header(patch(good, data_size_pos, struct.pack(
        "<Q", 2 ** 64 - 8))), E + "LIMIT")
    expect_error("data part size 2^62 (fits, runs past the directory)", reseal_header(patch(
        good, data_size_pos, struct.pack("<Q", 2 ** 62))), E + "BAD_LAYOUT")

    # [S-7]: an alphabet above 256 is LIMIT, an alphabet of 0 is BAD_SCHEME
    expect_error("ECSQ alphabet 257", variant("w.ecsq_zstd", lambda t: setattr(
        t, "sp", struct.pack("<HHB", 257, 2, 1).ljust(16, b"\0"))), E + "LIMIT")
    expect_error("ECSQ alphabet 0", variant("w.ecsq_zstd", lambda t: setattr(
        t, "sp", struct.pack("<HHB", 0, 0, 0).ljust(16, b"\0"))), E + "BAD_SCHEME")

    # [G-1]: more than 2^32 - 1 tiles is LIMIT (checked before the part sizes)
    many = W("many", [65536, 65537], 3, 1, 0, struct.pack("<HHB", 2, 0, 0),
             coding_params(10, 1, 1, 1, 1, 1),
             [f32_bytes([1.0]), struct.pack("<2H", 512, 512), struct.pack("<2Q", 0, 4), b"",
              struct.pack("<I", 0x10000)], b"", b"")
    expect_error("2^32 + 65536 tiles", build([many])[0], E + "LIMIT")

    # [G-3]: a RANS tile shorter than its 4*W bytes of states is BAD_TILE_INDEX, found when
    # the file is opened (so before the blob checksum, which is stale here)
    def short_tile(t):
        n = len(t.parts[2]) // 8
        idx = list(struct.unpack("<%dQ" % n, t.parts[2]))
        idx[1] = 4                                              # W = 8: 32 bytes of states
        t.parts[2] = struct.pack("<%dQ" % n, *idx)
    expect_error("RANS tile of 4 bytes, 8 lanes", variant("w.affine_rans", short_tile),
                 E + "BAD_TILE_INDEX")

    # [S-9]: AFFINE/SYMMETRIC parameters must be finite; checked at open (section 12), after
    # the part padding and before the table, tile index, escapes and blob checksum
    def param16(i, h):
        return lambda t: t.parts.__setitem__(0, t.parts[0][:2 * i] + struct.pack("<H", h) +
                                             t.parts[0][2 * i + 2:])
    n_groups = 5 * 96 // 32                                     # w.affine_rans: rows*G
    expect_error("AFFINE f16 scale NaN", variant("w.affine_rans", param16(3, 0x7E00)),
                 E + "BAD_SCHEME")
    expect_error("AFFINE f16 bias -inf", variant("w.affine_rans", param16(n_groups + 1, 0xFC00)),
                 E + "BAD_SCHEME")
    expect_error("AFFINE f32 scale inf", variant("w.affine8_wide", lambda t: t.parts.__setitem__(
        0, struct.pack("<I", 0x7F800000) + t.parts[0][4:])), E + "BAD_SCHEME")
    expect_error("SYMMETRIC bf16 d NaN", variant("w.sym_raw", param16(2, 0xFFC1)),
                 E + "BAD_SCHEME")
    ok("AFFINE f16 scale 65504 and subnormal bias", variant("w.affine_rans", param16(0, 0x7BFF),
                                                           param16(n_groups, 0x0001)))

    def bad_table(t):
        f = bytearray(t.parts[1])
        f[0] += 1
        t.parts[1] = bytes(f)
    expect_error("NaN scale and a bad table: params are checked first",
                 variant("w.affine_rans", param16(3, 0x7E00), bad_table), E + "BAD_SCHEME")
    expect_error("NaN step and a bad table: steps are checked first",
                 variant("w.ecsq_prefix", lambda t: t.parts.__setitem__(
                     0, struct.pack("<I", 0x7FC00000) + t.parts[0][4:]), bad_table),
                 E + "BAD_SCHEME")
    blob_off = info["blobs"][k][0]                              # params at blob offset 0
    expect_error("NaN scale with a stale blob checksum: checked at open",
                 patch(good, blob_off + 6, struct.pack("<H", 0x7E00)), E + "BAD_SCHEME")
    # [S-8]: -0.0 is a valid step (it compares equal to 0)
    ok("ECSQ step -0.0", variant("w.ecsq_zstd", lambda t: t.parts.__setitem__(
        0, struct.pack("<I", 0x80000000))))

    # [K-5]: no dictionary, a window of at most 2^27, one frame of the declared size
    def zdata(**kw):
        return lambda t: t.parts.__setitem__(4, zstd_frame(pack_raw_codes(t.codes, 3), **kw))
    ok("ZSTD window 2^27", variant("w.ecsq_zstd", zdata(wd=17 << 3)))
    expect_error("ZSTD window 2^27 + 2^24", variant("w.ecsq_zstd", zdata(wd=(17 << 3) | 1)),
                 E + "CORRUPT_STREAM")
    ok("ZSTD dictionary ID 0", variant("w.ecsq_zstd", zdata(dict_id=0)))
    expect_error("ZSTD dictionary ID 1", variant("w.ecsq_zstd", zdata(dict_id=1)),
                 E + "CORRUPT_STREAM")
    expect_error("ZSTD skippable frame first", variant("w.ecsq_zstd", lambda t: t.parts.
                                                       __setitem__(4, b"\x50\x2a\x4d\x18" +
                                                                   bytes(4) + t.parts[4])),
                 E + "CORRUPT_STREAM")
    # Single_Segment: Window_Size is the content size (RFC 8878), here 2^30 bytes of f32
    big = W("big", [2 ** 28], 0, 3, 0, b"", b"",
            [b""] * 4 + [zstd_frame(b"", declared=2 ** 30)], b"", b"")
    expect_error("ZSTD single segment of 2^30 bytes", build([big])[0], E + "CORRUPT_STREAM")
    # [B-2]: the ZSTD data size is variable, so an empty data part is a broken frame
    expect_error("ZSTD empty data part", variant("w.ecsq_zstd", lambda t: t.parts.__setitem__(
        4, b"")), E + "CORRUPT_STREAM")

    # 7.3.1: an empty tensor with HAS_ESCAPE has no escapes part ([K-2] if it has one)
    ok("empty ECSQ with HAS_ESCAPE, PER_ROW [3, 0]", build([W(
        "e", [3, 0], 3, 0, 0, struct.pack("<HHB", 4, 1, 3), b"",
        [f32_bytes([1.0, 2.0, -0.0]), b"", b"", b"", b""], b"", b"")])[0])
    expect_error("empty ECSQ with an escapes part", build([W(
        "e", [3, 0], 3, 0, 0, struct.pack("<HHB", 4, 1, 3), b"",
        [f32_bytes([1.0, 2.0, 3.0]), b"", b"", struct.pack("<2I", 0, 0), b""], b"", b"")])[0],
        E + "BAD_CODING")


def zstd_backend_tests():
    """A frame with compressed blocks: corrupt -> CORRUPT_STREAM; no decompressor ->
    ECQF_ERR_UNSUPPORTED (only checkable where neither zstandard nor pyzstd is installed)."""
    t = t_ecsq_raw(random.Random(5), "z", 3, Q=4, z=1, n=3000, cli=True)
    f = bytearray(t.parts[4])
    check((f[4] & 0x20) and f[7] >> 1 & 3 == 2, "zstd test frame lacks a compressed block")
    f[len(f) // 2] ^= 0x55
    t.parts[4] = bytes(f)
    expect_error("corrupt compressed ZSTD frame", build([t])[0], "ECQF_ERR_CORRUPT_STREAM")
    t = t_ecsq_raw(random.Random(5), "z", 3, Q=4, z=1, n=3000, cli=True)
    try:
        import zstandard  # noqa: F401
        return
    except ImportError:
        pass
    try:
        import pyzstd  # noqa: F401
        return
    except ImportError:
        pass
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = ""
    try:
        expect_error("no zstd decompressor", build([t])[0], "ECQF_ERR_UNSUPPORTED")
    finally:
        os.environ["PATH"] = path


def bench(rng):
    """A ~2 MB file: 4-bit AFFINE rANS pack 2 (4 M codes) is the common case."""
    rows, cols = 1024, 4096
    Q, gs = 16, 64
    print("bench: encoding %d x %d ..." % (rows, cols))
    mat = [[min(Q - 1, int(abs(rng.gauss(0, 3)))) for _ in range(cols)] for _ in range(rows)]
    table, index, data, _ = encode_tiled(mat, rows, cols, 1, Q, -1, 12, 32, 2, 4, 64, 512)
    G = cols // gs
    params = struct.pack("<%dH" % (2 * rows * G), *([f16_bits(0.01)] * (2 * rows * G)))
    t = W("big", [rows, cols], 1, 1, 1, struct.pack("<BBH", 4, 1, gs),
          coding_params(12, 32, 2, 4, 64, 512), [params, table, index, b"", data], b"", b"")
    buf = build([t])[0]
    t0 = time.time()
    got = read(buf)
    print("bench: %d bytes, %s, read in %.2f s" % (len(buf), "ok" if isinstance(got, list)
                                                   else got, time.time() - t0))


if __name__ == "__main__":
    sys.exit(main())
