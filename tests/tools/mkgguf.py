#!/usr/bin/env python3
"""Write synthetic GGUF files (valid and invalid) for tests/tools/gguf.sh into a directory.

Usage: mkgguf.py OUTDIR

Standard library only; every file is generated at test time, nothing binary is committed.

Valid files come with NAME.expected.safetensors: the values ecqf-pack must store for each
tensor when it keeps it as is (F32/F16/BF16 tensors as they are; quantized types
dequantized to F32), in row-major shape [ne[n-1], ..., ne[0]]. The dequantization here is a
second implementation, written from the block layouts (ggml's ggml-common.h and
docs/gguf.md) index by index, with float32 rounding emulated after every operation (exact:
binary64 holds every float32 product exactly, and double rounding is innocuous for binary32
operations carried out in binary64). It is checked first against blocks whose values were
worked out by hand (HAND_BLOCKS below); a mismatch stops the script with status 1.

Each invalid file tells exactly one lie, named by its file name (see INVALID at the end).
"""
import os
import random
import struct
import sys

# ---- GGUF encoding -----------------------------------------------------------------------

U8, I8, U16, I16, U32, I32, F32V, BOOL, STR, ARR, U64, I64, F64V = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32V: "<f",
              BOOL: "<B", U64: "<Q", I64: "<q", F64V: "<d"}

# ggml types: (id, elements per block, bytes per block)
F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q4_K, Q5_K, Q6_K, BF16 = \
    0, 1, 2, 3, 6, 7, 8, 10, 12, 13, 14, 30
BLOCK = {F32: (1, 4), F16: (1, 2), BF16: (1, 2), Q4_0: (32, 18), Q4_1: (32, 20),
         Q5_0: (32, 22), Q5_1: (32, 24), Q8_0: (32, 34), Q2_K: (256, 84), Q4_K: (256, 144),
         Q5_K: (256, 176), Q6_K: (256, 210)}
TYPE_NAME = {F32: "F32", F16: "F16", BF16: "BF16", Q4_0: "Q4_0", Q4_1: "Q4_1", Q5_0: "Q5_0",
             Q5_1: "Q5_1", Q8_0: "Q8_0", Q2_K: "Q2_K", Q4_K: "Q4_K", Q5_K: "Q5_K",
             Q6_K: "Q6_K"}


def gstr(s):
    b = s if isinstance(s, bytes) else s.encode()
    return struct.pack("<Q", len(b)) + b


def gvalue(t, v):
    """Encode a value of GGUF type t. Arrays: v = (element type, [elements])."""
    if t == STR:
        return gstr(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(gvalue(et, x) for x in items)
    return struct.pack(SCALAR_FMT[t], v)


def gkv(key, t, v):
    return gstr(key) + struct.pack("<I", t) + gvalue(t, v)


def gguf(kvs, tensors, alignment=32, version=3, raw_kvs=b"", n_kv=None, n_tensors=None,
         data_pad=None):
    """Build a GGUF file.

    kvs: [(key, type, value)]; tensors: [dict(name, ne, type, data, offset=None)] with offsets
    assigned consecutively (aligned) unless given. raw_kvs is appended to the encoded pairs
    (for crafted entries); n_kv / n_tensors override the header counts."""
    body = b"".join(gkv(k, t, v) for k, t, v in kvs) + raw_kvs
    infos = b""
    data = bytearray()
    for t in tensors:
        off = t.get("offset")
        if off is None:
            while len(data) % alignment:
                data.append(0)
            off = len(data)
            data += t["data"]
        elif t["data"]:  # an explicit offset: place the bytes there (none for a crafted lie)
            end = off + len(t["data"])
            if end > len(data):
                data += bytes(end - len(data))
            data[off:end] = t["data"]
        name = t["name"]
        infos += gstr(name) + struct.pack("<I", len(t["ne"]))
        infos += b"".join(struct.pack("<Q", d) for d in t["ne"])
        infos += struct.pack("<IQ", t["type"], off)
    head = b"GGUF" + struct.pack("<IQQ", version,
                                 len(tensors) if n_tensors is None else n_tensors,
                                 (len(kvs) if n_kv is None else n_kv) + (1 if raw_kvs and n_kv is None else 0))
    out = head + body + infos
    pad = (alignment - len(out) % alignment) % alignment if data_pad is None else data_pad
    return out + bytes(pad) + bytes(data)


# ---- float32 emulation and the reference dequantization ------------------------------------

def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def half(b, o):
    return struct.unpack_from("<e", b, o)[0]


def bits32(x):
    return struct.pack("<f", x)


def deq_block(t, b):
    """Dequantize one block (bytes b) of ggml type t to a list of Python floats, each the
    float32 that ggml's reference code computes."""
    if t == Q8_0:
        d = half(b, 0)
        return [f32(struct.unpack_from("<b", b, 2 + i)[0] * d) for i in range(32)]
    if t in (Q4_0, Q4_1, Q5_0, Q5_1):
        # weight i < 16 lives in the low nibble of byte i, weight i >= 16 in the high nibble
        # of byte i - 16; Q5 adds bit i of the 32-bit qh as the 5th bit
        d = half(b, 0)
        m = half(b, 2) if t in (Q4_1, Q5_1) else None
        qh = struct.unpack_from("<I", b, 2 if t == Q5_0 else 4)[0] if t in (Q5_0, Q5_1) else 0
        qs = {Q4_0: 2, Q4_1: 4, Q5_0: 6, Q5_1: 8}[t]
        out = []
        for i in range(32):
            byte = b[qs + (i % 16)]
            q = byte & 15 if i < 16 else byte >> 4
            if t in (Q5_0, Q5_1):
                q |= ((qh >> i) & 1) << 4
            if t == Q4_0:
                out.append(f32((q - 8) * d))
            elif t == Q5_0:
                out.append(f32((q - 16) * d))
            else:
                out.append(f32(f32(q * d) + m))
        return out
    if t in (Q4_K, Q5_K):
        d, dmin = half(b, 0), half(b, 2)
        sc = b[4:16]
        qh = b[16:48] if t == Q5_K else None
        qs = b[48:176] if t == Q5_K else b[16:144]
        out = []
        for i in range(256):
            s = i // 32           # sub-block: 32 weights with a 6-bit scale and min
            l = i % 32
            if s < 4:
                scale, mn = sc[s] & 63, sc[s + 4] & 63
            else:
                scale = (sc[s + 4] & 15) | ((sc[s - 4] >> 6) << 4)
                mn = (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4)
            byte = qs[32 * (s // 2) + l]   # sub-blocks 2k and 2k+1 share 32 bytes
            q = byte & 15 if s % 2 == 0 else byte >> 4
            if qh is not None:
                q += 16 * ((qh[l] >> s) & 1)
            out.append(f32(f32(f32(d * scale) * q) - f32(dmin * mn)))
        return out
    if t == Q6_K:
        ql, qh, scales = b[0:128], b[128:192], struct.unpack_from("<16b", b, 192)
        d = half(b, 208)
        out = []
        for i in range(256):
            h, r = divmod(i, 128)
            k, l = divmod(r, 32)
            lo = ql[64 * h + l + 32 * (k % 2)]
            lo = lo & 15 if k < 2 else lo >> 4
            hi = (qh[32 * h + l] >> (2 * k)) & 3
            sc = scales[8 * h + l // 16 + 2 * k]
            out.append(f32(f32(d * sc) * ((lo | (hi << 4)) - 32)))
        return out
    raise ValueError("no reference for type %d" % t)


def deq(t, data):
    if t == F32:
        return list(struct.unpack("<%df" % (len(data) // 4), data))
    if t == F16:
        return list(struct.unpack("<%de" % (len(data) // 2), data))
    if t == BF16:
        return [struct.unpack("<f", b"\0\0" + data[i:i + 2])[0] for i in range(0, len(data), 2)]
    n, size = BLOCK[t]
    out = []
    for o in range(0, len(data), size):
        out += deq_block(t, data[o:o + size])
    return out


def h16(x):
    return struct.pack("<e", x)


# Blocks whose values were worked out by hand from the layouts: (type, bytes, {index: value},
# value of every other index). Values are compared bit for bit (so -0.0 is not 0.0).
def hand_blocks():
    blocks = []
    # Q8_0: d = 0.5; q = -128, -1, 0, 1, 127, then 2
    b = h16(0.5) + struct.pack("<32b", -128, -1, 0, 1, 127, *([2] * 27))
    blocks.append(("q8_0", Q8_0, b, {0: -64.0, 1: -0.5, 2: 0.0, 3: 0.5, 4: 63.5}, 1.0))
    # Q4_0: d = 0.25; byte 0 = 0x1F: weight 0 = (15-8)*0.25, weight 16 = (1-8)*0.25; other
    # bytes 0x88: (8-8)*0.25 = 0
    b = h16(0.25) + bytes([0x1F] + [0x88] * 15)
    blocks.append(("q4_0", Q4_0, b, {0: 1.75, 16: -1.75}, 0.0))
    # Q4_1: d = 0.5, m = -1; byte 0 = 0xF0: weight 0 = 0*0.5-1, weight 16 = 15*0.5-1;
    # other bytes 0x22: 2*0.5-1 = 0
    b = h16(0.5) + h16(-1.0) + bytes([0xF0] + [0x22] * 15)
    blocks.append(("q4_1", Q4_1, b, {0: -1.0, 16: 6.5}, 0.0))
    # Q5_0: d = 1; qh bits 0 and 16; byte 0 = 0x21: weight 0 = (1|16)-16, weight 16 =
    # (2|16)-16; other bytes 0: (0)-16
    b = h16(1.0) + struct.pack("<I", 0x00010001) + bytes([0x21] + [0] * 15)
    blocks.append(("q5_0", Q5_0, b, {0: 1.0, 16: 2.0}, -16.0))
    # Q5_1: d = 0.25, m = 0.5; qh bit 0; byte 0 = 0x01: weight 0 = 17*0.25+0.5; others 0.5
    b = h16(0.25) + h16(0.5) + struct.pack("<I", 1) + bytes([0x01] + [0] * 15)
    blocks.append(("q5_1", Q5_1, b, {0: 4.75}, 0.5))
    # Q4_K: d = 1, dmin = 0.5. Sub-block 0: scale 2, min 3 (low 6 bits of bytes 0 and 4).
    # Sub-block 4: scale 37 = 0b10_0101, min 19 = 0b01_0011: byte 8 = 5 | 3<<4, and the top
    # two bits in bytes 0 (scale: 2) and 4 (min: 1). Byte 0 of the quants = 0x97: weight 0
    # (low nibble, sub-block 0) = 2*7 - 0.5*3; weight 32 (high nibble, sub-block 1: scale
    # and min 0) = 0. Quant byte 64 = 0x0A: weight 128 (sub-block 4) = 37*10 - 0.5*19.
    sc = bytearray(12)
    sc[0] = 2 | (2 << 6)
    sc[4] = 3 | (1 << 6)
    sc[8] = 5 | (3 << 4)
    qs = bytearray(128)
    qs[0] = 0x97
    qs[64] = 0x0A
    b = h16(1.0) + h16(0.5) + bytes(sc) + bytes(qs)
    exp = {0: 12.5, 128: 360.5}
    for i in range(1, 32):
        exp[i] = -1.5
    for i in range(129, 160):
        exp[i] = -9.5
    blocks.append(("q4_k", Q4_K, b, exp, 0.0))
    # Q5_K: d = 1, dmin = 0. Sub-block 0 scale 1, sub-block 1 scale 2. qh[0] bit 0: weight 0
    # gets +16; qh[1] bit 1: weight 33 (sub-block 1, l = 1) gets +16. Quant byte 0 = 0x03:
    # weight 0 = 1*(3+16); weight 33 = 2*(0+16). Everything else 0*scale - 0 = 0.
    sc = bytearray(12)
    sc[0], sc[1] = 1, 2
    qh = bytearray(32)
    qh[0], qh[1] = 0x01, 0x02
    qs = bytearray(128)
    qs[0] = 0x03
    b = h16(1.0) + h16(0.0) + bytes(sc) + bytes(qh) + bytes(qs)
    blocks.append(("q5_k", Q5_K, b, {0: 19.0, 33: 32.0}, 0.0))
    # Q6_K: d = 0.125; scales[0] = 4 (weights 0..15), scales[2] = -2 (32..47), scales[4] = 1
    # (64..79), others 0. ql[0] = 0x21, qh[0] = 0b0111: weight 0: low nibble 1, bits 0-1 of
    # qh = 3 -> 49-32 = 17 -> 0.125*4*17; weight 32: ql[32] low nibble 0, qh bits 2-3 = 1 ->
    # 16-32 -> 0.125*-2*-16; weight 64: ql[0] high nibble 2, qh bits 4-5 = 0 -> -30 ->
    # 0.125*1*-30. Every other weight is 0-32 = -32: -16 (1..15), 8 (33..47), -4 (65..79),
    # and (0.125*0)*-32 = -0.0 elsewhere.
    ql = bytearray(128)
    ql[0] = 0x21
    qh = bytearray(64)
    qh[0] = 0x07
    scales = [0] * 16
    scales[0], scales[2], scales[4] = 4, -2, 1
    b = bytes(ql) + bytes(qh) + struct.pack("<16b", *scales) + h16(0.125)
    exp = {0: 8.5, 32: 4.0, 64: -3.75}
    for i in range(1, 16):
        exp[i] = -16.0
    for i in range(33, 48):
        exp[i] = 8.0
    for i in range(65, 80):
        exp[i] = -4.0
    blocks.append(("q6_k", Q6_K, b, exp, -0.0))
    return blocks


def check_hand_blocks():
    bad = 0
    for name, t, b, exp, rest in hand_blocks():
        assert len(b) == BLOCK[t][1], name
        got = deq(t, b)
        for i, v in enumerate(got):
            want = exp.get(i, rest)
            if bits32(v) != bits32(want):
                sys.stderr.write("mkgguf.py: hand block %s: weight %d is %r, expected %r\n"
                                 % (name, i, v, want))
                bad += 1
    if bad:
        sys.exit(1)


# ---- random tensors ------------------------------------------------------------------------

def rand_block(rng, t):
    """A random block of type t with a moderate, finite scale."""
    def hd(lo, hi):
        return h16(rng.uniform(lo, hi) * rng.choice((1, -1)))
    n, size = BLOCK[t]
    if t == Q8_0:
        return hd(0.001, 0.01) + bytes(rng.randrange(256) for _ in range(32))
    if t in (Q4_0, Q5_0):
        body = bytes(rng.randrange(256) for _ in range(size - 2))
        return hd(0.005, 0.05) + body
    if t in (Q4_1, Q5_1):
        return hd(0.005, 0.05) + hd(0.01, 0.2) + bytes(rng.randrange(256) for _ in range(size - 4))
    if t in (Q4_K, Q5_K):
        return (h16(rng.uniform(0.0005, 0.002)) + h16(rng.uniform(0.0005, 0.002)) +
                bytes(rng.randrange(256) for _ in range(size - 4)))
    if t == Q6_K:
        return (bytes(rng.randrange(256) for _ in range(192)) +
                struct.pack("<16b", *[rng.randrange(-64, 64) for _ in range(16)]) +
                h16(rng.uniform(0.0002, 0.001)))
    if t == Q2_K:
        return bytes(rng.randrange(256) for _ in range(80)) + h16(0.01) + h16(0.01)
    raise ValueError(t)


def rand_tensor(rng, t, ne):
    numel = 1
    for d in ne:
        numel *= d
    if t == F32:
        return struct.pack("<%df" % numel, *[rng.gauss(0, 0.05) for _ in range(numel)])
    if t == F16:
        return struct.pack("<%de" % numel, *[rng.gauss(0, 0.05) for _ in range(numel)])
    if t == BF16:
        return b"".join(struct.pack("<f", rng.gauss(0, 0.05))[2:4] for _ in range(numel))
    n = BLOCK[t][0]
    assert numel % n == 0
    return b"".join(rand_block(rng, t) for _ in range(numel // n))


def tensor(name, t, ne, data, offset=None):
    d = {"name": name, "type": t, "ne": ne, "data": data}
    if offset is not None:
        d["offset"] = offset
    return d


# ---- safetensors (the expected values) -------------------------------------------------------

def safetensors(items):
    """items: [(name, dtype, shape, raw bytes)] in order."""
    import json
    hdr = {}
    off = 0
    blob = b""
    for name, dtype, shape, raw in items:
        hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blob += raw
    text = json.dumps(hdr).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + blob


def expected(tensors):
    """What ecqf-pack stores for each tensor kept as is: the row-major shape (GGUF's ne
    reversed), F32/F16/BF16 bytes as they are, quantized types dequantized to F32."""
    items = []
    for t in tensors:
        shape = list(reversed(t["ne"]))
        if t["type"] in (F32, F16, BF16):
            items.append((t["name"], TYPE_NAME[t["type"]], shape, t["data"]))
        else:
            vals = deq(t["type"], t["data"])
            items.append((t["name"], "F32", shape, b"".join(bits32(v) for v in vals)))
    return safetensors(items)


# ---- the files ---------------------------------------------------------------------------

def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def good_tensors(rng):
    ts = []
    # one hand-checked block of every quantized type, as a 1 x block matrix
    for name, t, b, _, _ in hand_blocks():
        ts.append(tensor("hand." + name, t, [BLOCK[t][0], 1], b))
    # a 16 x 256 matrix of every supported type (quantized by the ECSQ runs)
    for t in (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K):
        ts.append(tensor("blk.0.%s.weight" % TYPE_NAME[t].lower(), t, [256, 16],
                         rand_tensor(rng, t, [256, 16])))
    # shapes: 1-D, 3-D, 4-D (reversed into row-major), a scalar, an empty tensor, a
    # non-square quantized matrix (ne0 = 512 columns, 8 rows -> shape [8, 512])
    ts.append(tensor("output_norm.weight", F32, [64], rand_tensor(rng, F32, [64])))
    ts.append(tensor("three_d", F32, [4, 3, 2], rand_tensor(rng, F32, [4, 3, 2])))
    ts.append(tensor("four_d", F16, [2, 3, 4, 5], rand_tensor(rng, F16, [2, 3, 4, 5])))
    ts.append(tensor("scalar", F32, [], struct.pack("<f", 1.5)))
    ts.append(tensor("empty", F32, [8, 0], b""))
    ts.append(tensor("empty.q8_0", Q8_0, [32, 0], b""))
    ts.append(tensor("wide.q4_k", Q4_K, [512, 8], rand_tensor(rng, Q4_K, [512, 8])))
    ts.append(tensor("name with \u00e9 and \"quote\"", Q8_0, [64, 2], rand_tensor(rng, Q8_0, [64, 2])))
    return ts


def good_kvs():
    return [
        ("general.architecture", STR, "synthetic"),
        ("general.name", STR, "h\u00e9llo \"model\"\n"),
        ("test.u8", U8, 200), ("test.i8", I8, -5), ("test.u16", U16, 60000),
        ("test.i16", I16, -300), ("test.u32", U32, 4000000000), ("test.i32", I32, -2000000000),
        ("test.f32", F32V, 0.1), ("test.bool", BOOL, 1), ("test.u64", U64, 2 ** 63 + 1),
        ("test.i64", I64, -2 ** 62), ("test.f64", F64V, 1.0 / 3.0),
        ("test.arr_i32", ARR, (I32, [1, -2, 3])),
        ("test.arr_str", ARR, (STR, ["a", "b\"c"])),
        ("test.arr_nested", ARR, (ARR, [(U8, [1, 2]), (U8, [3])])),
        ("test.arr_empty", ARR, (F32V, [])),
        ("tokenizer.ggml.tokens", ARR, (STR, ["tok%d" % i for i in range(1000)])),
        ("general.quantization_version", U32, 2),
    ]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)
    check_hand_blocks()
    rng = random.Random(20261127)

    # ---- valid files, each with its expected values
    ts = good_tensors(rng)
    kvs = good_kvs()
    write(p("good.gguf"), gguf(kvs, ts))
    write(p("good.expected.safetensors"), expected(ts))
    # version 2 (same layout) with alignment 64
    ts2 = [tensor("a.q6_k", Q6_K, [256, 16], rand_tensor(rng, Q6_K, [256, 16])),
           tensor("b.f32", F32, [3], rand_tensor(rng, F32, [3])),
           tensor("c.q8_0", Q8_0, [32, 3], rand_tensor(rng, Q8_0, [32, 3]))]
    write(p("v2-align64.gguf"), gguf([("general.alignment", U32, 64)], ts2, alignment=64, version=2))
    write(p("v2-align64.expected.safetensors"), expected(ts2))
    # data in another order than the infos, with gaps between tensors (the spec allows both)
    ts3 = [tensor("late", Q4_0, [64, 2], rand_tensor(rng, Q4_0, [64, 2]), offset=256),
           tensor("early", F32, [5], rand_tensor(rng, F32, [5]), offset=0),
           tensor("middle", BF16, [4, 4], rand_tensor(rng, BF16, [4, 4]), offset=96)]
    write(p("out-of-order.gguf"), gguf([], ts3))
    write(p("out-of-order.expected.safetensors"), expected(ts3))
    # no tensors, no metadata
    write(p("empty.gguf"), gguf([], []))
    # a type that cannot be dequantized (Q2_K), valid otherwise
    ts4 = [tensor("ok", Q8_0, [32, 2], rand_tensor(rng, Q8_0, [32, 2])),
           tensor("low.q2_k", Q2_K, [256, 1], rand_tensor(rng, Q2_K, [256, 1]))]
    write(p("unsupported.gguf"), gguf([], ts4))
    write(p("unsupported.expected.safetensors"), expected(ts4[:1]))

    # ---- invalid files: one lie each
    small = [tensor("w", F32, [4, 2], rand_tensor(rng, F32, [4, 2])),
             tensor("v", Q8_0, [32, 1], rand_tensor(rng, Q8_0, [32, 1]))]
    base = gguf([("general.architecture", STR, "x")], small)
    write(p("truncated-header.gguf"), base[:90])  # inside the first tensor's dimensions
    write(p("truncated-data.gguf"), base[:-10])
    write(p("short.gguf"), b"GGUF\x03\x00\x00")
    write(p("version1.gguf"), gguf([], small, version=1))
    write(p("version4.gguf"), gguf([], small, version=4))
    write(p("big-endian.gguf"), gguf([], small, version=0x03000000))
    write(p("huge-tensor-count.gguf"), gguf([], small, n_tensors=2 ** 63))
    write(p("huge-kv-count.gguf"), gguf([("a", U8, 1)], small, n_kv=2 ** 64 - 1))
    write(p("huge-array.gguf"), gguf([], small, raw_kvs=gstr("a") + struct.pack("<IIQ", ARR, U32, 2 ** 62)))
    write(p("huge-string-array.gguf"),
          gguf([], small, raw_kvs=gstr("a") + struct.pack("<IIQ", ARR, STR, 2 ** 40)))
    write(p("bad-key-length.gguf"), gguf([], small, raw_kvs=struct.pack("<Q", 2 ** 64 - 1) + b"abc"))
    write(p("bad-string-length.gguf"),
          gguf([], small, raw_kvs=gstr("a") + struct.pack("<IQ", STR, 10 ** 9) + b"xyz"))
    write(p("bad-name-length.gguf"), gguf([], [tensor("w" * 65, F32, [1], b"\0" * 4)]))
    write(p("empty-name.gguf"), gguf([], [tensor("", F32, [1], b"\0" * 4)]))
    write(p("nul-name.gguf"), gguf([], [tensor(b"a\0b", F32, [1], b"\0" * 4)]))
    write(p("bad-utf8-name.gguf"), gguf([], [tensor(b"w\xc0\xaf", F32, [1], b"\0" * 4)]))
    write(p("bad-utf8-value.gguf"), gguf([("general.name", STR, b"caf\xe9")], small))
    write(p("bad-key.gguf"), gguf([("bad\nkey", U8, 1)], small))
    write(p("empty-key.gguf"), gguf([("", U8, 1)], small))
    write(p("duplicate-key.gguf"), gguf([("general.name", STR, "a"), ("general.name", STR, "b")], small))
    write(p("bad-value-type.gguf"), gguf([], small, raw_kvs=gstr("a") + struct.pack("<I", 13) + b"\0" * 8))
    write(p("bad-array-type.gguf"), gguf([], small, raw_kvs=gstr("a") + struct.pack("<IIQ", ARR, 77, 1)))
    write(p("bad-bool.gguf"), gguf([], small, raw_kvs=gstr("a") + struct.pack("<IB", BOOL, 2)))
    nested = (U8, [7])
    for _ in range(GGUF_MAX_ARRAY_DEPTH):
        nested = (ARR, [nested])
    write(p("deep-nesting.gguf"), gguf([("deep", ARR, nested)], small))
    write(p("bad-alignment.gguf"), gguf([("general.alignment", U32, 48)], small, alignment=48))
    write(p("zero-alignment.gguf"), gguf([("general.alignment", U32, 0)], small))
    write(p("alignment-type.gguf"), gguf([("general.alignment", I32, 32)], small))
    write(p("unaligned-offset.gguf"),
          gguf([], [tensor("w", F32, [4], b"\0" * 16, offset=16)]))
    write(p("offset-past-end.gguf"),
          gguf([], [tensor("w", F32, [4], b"\0" * 16), tensor("x", F32, [64], b"", offset=32)]))
    write(p("offset-overflow.gguf"),
          gguf([], [tensor("w", F32, [4], b"\0" * 16), tensor("x", F32, [64], b"", offset=2 ** 64 - 32)]))
    write(p("overlap.gguf"),
          gguf([], [tensor("w", F32, [16], b"\1" * 64, offset=0),
                    tensor("x", F32, [4], b"\1" * 16, offset=32)]))
    write(p("unknown-type.gguf"), gguf([], [tensor("w", 99, [4], b"\0" * 16)]))
    write(p("removed-type.gguf"), gguf([], [tensor("w", 4, [32], b"\0" * 20)]))
    write(p("overflow-dims.gguf"), gguf([], [tensor("w", F32, [2 ** 32, 2 ** 32], b"")]))
    write(p("overflow-bytes.gguf"), gguf([], [tensor("w", F32, [2 ** 31, 2 ** 31], b"")]))
    write(p("huge-dim.gguf"), gguf([], [tensor("w", F32, [2 ** 63], b"")]))
    write(p("too-many-dims.gguf"), gguf([], [tensor("w", F32, [1, 1, 1, 1, 1], b"\0" * 4)]))
    write(p("partial-block.gguf"), gguf([], [tensor("w", Q4_0, [48, 1], b"\0" * 36)]))
    write(p("duplicate-name.gguf"),
          gguf([], [tensor("w", F32, [4], b"\0" * 16), tensor("w", F32, [4], b"\0" * 16)]))
    # the infos end past the last aligned byte: the data section would start beyond the file
    write(p("no-data-section.gguf"), gguf([], [tensor("w", F32, [0], b"")], data_pad=0))


GGUF_MAX_ARRAY_DEPTH = 8

if __name__ == "__main__":
    main()
