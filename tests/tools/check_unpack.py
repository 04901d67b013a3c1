#!/usr/bin/env python3
"""Check ecqf-unpack output against the source model and the library's dequantization.

Usage: check_unpack.py --src SRC --json INSPECT.json --hashes HASHES.txt --f32 UNPACKED_F32
                       [--native UNPACKED_NATIVE] [--min-sqnr DB (default 5)]

SRC is a .safetensors file or a directory of them (shards). INSPECT.json is the output of
`ecqf-inspect --json FILE`, HASHES.txt that of `ecqf-inspect --hashes FILE`. UNPACKED_F32 is
`ecqf-unpack --dtype f32 FILE`, UNPACKED_NATIVE `ecqf-unpack FILE` (each tensor in its source
dtype). Checked:
  * both files hold exactly the tensors of FILE, in its order, with the source shapes;
  * every f32 tensor hashes (BLAKE2b-256) to the `values=` hash of --hashes, i.e. it is the
    library's dequantization, bit for bit;
  * unquantized tensors are bit-exact with the source in the native file (and in the f32
    file when the source is F32);
  * quantized tensors in the native file are the f32 values rounded to nearest even into the
    source dtype;
  * every quantized tensor keeps at least --min-sqnr dB against the source (a sanity bound).
Standard library only.
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    hdr = json.loads(buf[8:8 + n])
    data = buf[8 + n:]
    meta = hdr.pop("__metadata__", None)
    out = {}
    order = sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"][0])
    for name, e in order:
        b, en = e["data_offsets"]
        out[name] = (e["dtype"], e["shape"], data[b:en])
    return out, [name for name, _ in order], meta


def load_src(path):
    if path.endswith(".json"):
        path = os.path.dirname(path) or "."
    if os.path.isdir(path):
        out = {}
        for fn in sorted(os.listdir(path)):
            if fn.endswith(".safetensors"):
                out.update(load(os.path.join(path, fn))[0])
        return out
    return load(path)[0]


def to_f32_list(dtype, raw):
    n = len(raw) // (4 if dtype == "F32" else 2)
    if dtype == "F32":
        return list(struct.unpack("<%df" % n, raw))
    if dtype == "F16":
        return list(struct.unpack("<%de" % n, raw))
    if dtype == "BF16":
        hs = struct.unpack("<%dH" % n, raw)
        return [struct.unpack("<f", struct.pack("<I", h << 16))[0] for h in hs]
    raise ValueError(dtype)


def f32_bits_to_bf16(bits):
    if (bits & 0x7F800000) == 0x7F800000 and (bits & 0x7FFFFF):
        return (bits >> 16) | 0x40  # NaN stays NaN
    return (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16


def round_f32_raw(raw, dtype):
    n = len(raw) // 4
    if dtype == "F32":
        return raw
    if dtype == "F16":
        vals = struct.unpack("<%df" % n, raw)
        out = bytearray()
        for v in vals:
            try:
                out += struct.pack("<e", v)
            except OverflowError:
                out += struct.pack("<H", 0xFC00 if v < 0 else 0x7C00)
        return bytes(out)
    bits = struct.unpack("<%dI" % n, raw)
    return struct.pack("<%dH" % n, *[f32_bits_to_bf16(b) & 0xFFFF for b in bits])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--hashes", required=True)
    ap.add_argument("--f32", required=True)
    ap.add_argument("--native")
    ap.add_argument("--min-sqnr", type=float, default=5.0)
    a = ap.parse_args()

    src = load_src(a.src)
    with open(a.json) as f:
        info = json.load(f)
    hashes = {}
    with open(a.hashes, "rb") as f:
        for line in f.read().decode("utf-8").splitlines():
            assert line.startswith("tensor "), line
            head, codes, values = line.rsplit(" ", 2)
            hashes[head[len("tensor "):]] = values[len("values="):]
    f32, f32_order, _ = load(a.f32)
    native, native_order, _ = load(a.native) if a.native else (None, None, None)

    names = [t["name"] for t in info["tensors"]]
    errors = []
    if f32_order != names:
        errors.append("f32 file: tensors or order differ from the ECQF file")
    if native is not None and native_order != names:
        errors.append("native file: tensors or order differ from the ECQF file")
    if sorted(hashes) != sorted(names):
        errors.append("--hashes lists other tensors")
    checked = exact = 0
    for t in info["tensors"]:
        name = t["name"]
        sdt, sshape, sraw = src[name]
        dt, shape, raw = f32[name]
        if dt != "F32" or shape != sshape:
            errors.append("%s: f32 file has %s %s, source %s %s" % (name, dt, shape, sdt, sshape))
            continue
        if hashlib.blake2b(raw, digest_size=32).hexdigest() != hashes[name]:
            errors.append("%s: f32 values differ from the library's dequantization" % name)
        if t["scheme"] == "none" and sdt == "F32" and raw != sraw:
            errors.append("%s: unquantized F32 tensor is not bit-exact" % name)
        if t["dtype"].upper() != sdt:
            errors.append("%s: ECQF records dtype %s, source is %s" % (name, t["dtype"], sdt))
        if native is not None:
            ndt, nshape, nraw = native[name]
            if ndt != sdt or nshape != sshape:
                errors.append("%s: native file has %s %s, source %s %s" % (name, ndt, nshape, sdt, sshape))
            elif t["scheme"] == "none":
                if nraw != sraw:
                    errors.append("%s: unquantized tensor is not bit-exact" % name)
                else:
                    exact += 1
            elif nraw != round_f32_raw(raw, sdt):
                errors.append("%s: native values are not the f32 values rounded to %s" % (name, sdt))
        if t["scheme"] != "none":
            x = to_f32_list(sdt, sraw)
            y = struct.unpack("<%df" % (len(raw) // 4), raw)
            sig = sum(v * v for v in x)
            err = sum((u - v) * (u - v) for u, v in zip(x, y))
            db = math.inf if err == 0 else 10 * math.log10(sig / err) if sig > 0 else -math.inf
            if db < a.min_sqnr:
                errors.append("%s: SQNR %.2f dB below %.1f" % (name, db, a.min_sqnr))
        checked += 1
    for e in errors:
        print("FAIL:", e)
    print("checked %d tensors (%d unquantized bit-exact in the native file), %d errors"
          % (checked, exact, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
