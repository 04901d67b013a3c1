#!/usr/bin/env python3
"""Write crafted safetensors inputs (good and bad) for the tools tests into a directory.

Usage: mkbad.py OUTDIR

Standard library only. Every file is generated at test time; nothing binary is committed.
Each bad file tells exactly one lie, named by its file name.
"""
import json
import os
import struct
import sys


def header_bytes(obj_or_text):
    text = obj_or_text if isinstance(obj_or_text, bytes) else json.dumps(obj_or_text).encode()
    return struct.pack("<Q", len(text)) + text


def floats(n, start=0.0):
    return struct.pack("<%df" % n, *[start + 0.25 * i for i in range(n)])


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def good_file(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes). Offsets are consecutive."""
    hdr = {}
    if metadata is not None:
        hdr["__metadata__"] = metadata
    off = 0
    blob = b""
    for name, dtype, shape, raw in tensors:
        hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blob += raw
    return header_bytes(hdr) + blob


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)

    w = floats(64 * 64)
    good = good_file([("a.weight", "F32", [64, 64], w), ("a.bias", "F32", [4], floats(4))],
                     {"format": "pt"})
    write(p("good.safetensors"), good)

    # a buffer of a dtype ECQF does not store (BERT's position_ids): an error unless
    # ecqf-pack --skip-unsupported
    write(p("with-i64.safetensors"),
          good_file([("a.weight", "F32", [64, 64], w),
                     ("position_ids", "I64", [1, 8], struct.pack("<8q", *range(8)))]))

    # edge cases that must round-trip: a scalar, zero-size dimensions, an all-zero matrix,
    # a non-ASCII name with a quote
    write(p("edge.safetensors"),
          good_file([("scalar", "F32", [], struct.pack("<f", 1.5)),
                     ("zero", "F16", [0, 64], b""),
                     ("z3", "BF16", [2, 0, 3], b""),
                     ("allzero", "F32", [64, 64], b"\0" * 16384),
                     ("caf\u00e9 \"q\"", "F32", [1], struct.pack("<f", 2.0)),
                     # NaN payloads, signalling NaNs, subnormals: stored bit for bit
                     ("nan_f16", "F16", [4], struct.pack("<4H", 0x7C01, 0xFE00, 0x7D55, 0x0001)),
                     ("nan_bf16", "BF16", [2], struct.pack("<2H", 0x7F81, 0xFFC1)),
                     ("nan_f32", "F32", [2], struct.pack("<2I", 0x7F800001, 0xFFC00123))]))

    # tensors of 3 and 4 dimensions (stacked experts, a convolution kernel) for ecqf-pack --nd:
    # pseudo-random values (an LCG) so that quantization has something to do
    def noise(n, seed):
        out, x = [], seed
        for _ in range(n):
            x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
            out.append(((x >> 40) / 2**24 - 0.5) * 0.1)
        return struct.pack("<%df" % n, *out)
    write(p("nd.safetensors"),
          good_file([("experts.w", "F32", [4, 32, 64], noise(4 * 32 * 64, 1)),
                     ("conv.w", "F32", [8, 2, 4, 64], noise(8 * 2 * 4 * 64, 2)),
                     ("proj.w", "F32", [64, 128], noise(64 * 128, 3))]))

    # a truncated file: the data buffer is 100 bytes short of what the header declares
    write(p("truncated.safetensors"), good[:-100])
    # truncated inside the JSON header, and shorter than the 8-byte length itself
    write(p("truncated-header.safetensors"), good[:40])
    write(p("truncated-length.safetensors"), good[:5])

    # a huge declared header length (2^64 - 1), and one over the 100 MB cap
    write(p("huge-header.safetensors"), struct.pack("<Q", 2**64 - 1) + b"{}")
    write(p("huge-header-cap.safetensors"), struct.pack("<Q", 100_000_001) + b"{}" + b" " * 6)

    # overlapping data offsets
    hdr = {"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
           "y": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}
    write(p("overlap.safetensors"), header_bytes(hdr) + floats(6))

    # uncovered bytes: a hole between two tensors, and bytes after the last one
    hdr = {"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
           "y": {"dtype": "F32", "shape": [4], "data_offsets": [20, 36]}}
    write(p("hole.safetensors"), header_bytes(hdr) + floats(9))
    hdr = {"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
    write(p("hole-tail.safetensors"), header_bytes(hdr) + floats(5))

    # an unknown dtype, and a known one that ECQF does not store
    hdr = {"x": {"dtype": "Q7", "shape": [4], "data_offsets": [0, 16]}}
    write(p("unknown-dtype.safetensors"), header_bytes(hdr) + floats(4))
    hdr = {"x": {"dtype": "I8", "shape": [16], "data_offsets": [0, 16]}}
    write(p("unsupported-dtype.safetensors"), header_bytes(hdr) + floats(4))

    # a shape whose size overflows 64 bits (2^32 * 2^32 * 16 elements)
    hdr = {"x": {"dtype": "F32", "shape": [2**32, 2**32, 16], "data_offsets": [0, 16]}}
    write(p("overflow-shape.safetensors"), header_bytes(hdr) + floats(4))
    # element count fits, byte count does not (2^62 F32 elements)
    hdr = {"x": {"dtype": "F32", "shape": [2**31, 2**31], "data_offsets": [0, 16]}}
    write(p("overflow-bytes.safetensors"), header_bytes(hdr) + floats(4))
    # a span that differs from shape x dtype size
    hdr = {"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}
    write(p("size-mismatch.safetensors"), header_bytes(hdr) + floats(4))

    # a tensor name that is not UTF-8 (raw bytes 0xff 0xfe), and a lone surrogate escape
    text = b'{"bad\xff\xfename":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    write(p("bad-utf8-name.safetensors"), header_bytes(text) + floats(4))
    text = b'{"bad\\ud800name":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    write(p("bad-surrogate-name.safetensors"), header_bytes(text) + floats(4))

    # a duplicate key
    text = (b'{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
            b'"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}')
    write(p("duplicate-key.safetensors"), header_bytes(text) + floats(4))

    # malformed JSON, and trailing garbage after the object
    write(p("bad-json.safetensors"), header_bytes(b'{"x":{"dtype":"F32",}}'))
    text = b'{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}xx'
    write(p("trailing-json.safetensors"), header_bytes(text) + floats(4))

    # a sharded model: complete, and with its second shard missing
    s1 = good_file([("a.weight", "F32", [64, 64], w)], {"format": "pt"})
    s2 = good_file([("b.weight", "F16", [64, 64], b"\x00\x3c" * 4096),
                    ("b.bias", "BF16", [4], b"\x80\x3f" * 4)], {"format": "pt"})
    index = {"metadata": {"total_size": 64 * 64 * 4 + 64 * 64 * 2 + 8},
             "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                            "b.weight": "model-00002-of-00002.safetensors",
                            "b.bias": "model-00002-of-00002.safetensors"}}
    for d, with2 in (("sharded", True), ("missing-shard", False)):
        os.makedirs(p(d), exist_ok=True)
        write(os.path.join(out, d, "model-00001-of-00002.safetensors"), s1)
        if with2:
            write(os.path.join(out, d, "model-00002-of-00002.safetensors"), s2)
        with open(os.path.join(out, d, "model.safetensors.index.json"), "w") as f:
            json.dump(index, f)
    # the same, without an index file: the NAME-i-of-N set must be complete
    os.makedirs(p("missing-shard-noindex"), exist_ok=True)
    write(os.path.join(out, "missing-shard-noindex", "model-00001-of-00002.safetensors"), s1)


if __name__ == "__main__":
    main()
