#!/usr/bin/env python3
"""Bit-exact comparison of ECQF's affine quantizer with MLX's mx.quantize.

Quantizes the real weights of stories260K (F32 safetensors) and a set of synthetic edge
cases (constant groups, one-signed groups, zeros, tiny and large values, heavy tails) with
mx.quantize(w, group_size, bits) on MLX's CPU backend and with ECQF (through the
tests/quantdump helper), for bits 2,3,4,5,6,8, groups 32/64/128 and inputs in f32, f16 and
bf16, and requires identical codes, scales and biases (compared as bit patterns).

Usage: test_mlx_affine.py --quantdump PATH --model PATH.safetensors
Without mlx it prints "SKIP: mlx not installable" and exits 77 (automake's SKIP); under
pytest it calls pytest.skip. Needs only the standard library besides mlx.
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

SKIP = 77


def load_safetensors_f32(path):
    """name -> (shape, list of floats) for the F32 tensors of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + hlen])
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info.get("dtype") != "F32":
            continue
        s, e = info["data_offsets"]
        n = (e - s) // 4
        out[name] = (list(info["shape"]), list(struct.unpack_from("<%df" % n, data, base + s)))
    return out


def unpack_codes(words, bits, count):
    """MLX packs codes least-significant-bit first into little-endian uint32 words (3, 5 and
    6 bits as 3/5/3-byte packs inside the same byte stream)."""
    raw = struct.pack("<%dI" % len(words), *words)
    mask = (1 << bits) - 1
    out = []
    # every `bits` bytes hold exactly 8 codes
    for off in range(0, len(raw), bits):
        acc = int.from_bytes(raw[off:off + bits], "little")
        out.extend((acc >> (j * bits)) & mask for j in range(8))
    return out[:count]


def param_bits(values, dtype):
    """Bit patterns of MLX parameter values (Python floats holding exact f16/bf16/f32)."""
    if dtype == "f16":
        return [struct.unpack("<H", struct.pack("<e", v))[0] for v in values]
    if dtype == "bf16":
        return [struct.unpack("<I", struct.pack("<f", v))[0] >> 16 for v in values]
    return [struct.unpack("<I", struct.pack("<f", v))[0] for v in values]


def ecqf_param_bits(blob, dtype):
    if dtype == "f32":
        return list(struct.unpack("<%dI" % (len(blob) // 4), blob))
    return list(struct.unpack("<%dH" % (len(blob) // 2), blob))


def synthetic(rows, cols, seed=1234):
    """Edge cases, one per row, then random rows (Gaussian and Student-t-like tails)."""
    rnd = random.Random(seed)
    out = []
    special = [
        [0.0] * cols,                                  # all zero
        [0.5] * cols,                                  # constant positive
        [-0.25] * cols,                                # constant negative
        [-abs(rnd.gauss(0, 1)) - 0.1 for _ in range(cols)],   # negative only
        [abs(rnd.gauss(0, 1)) + 0.1 for _ in range(cols)],    # positive only
        [rnd.gauss(0, 1e-6) for _ in range(cols)],     # tiny
        [rnd.gauss(0, 1e3) for _ in range(cols)],      # large
        [float(i % 16) for i in range(cols)],          # integers (ties in w/scale)
        [(i % 7) * 0.125 - 0.375 for i in range(cols)],  # dyadic values
    ]
    for r in special:
        out.append(r)
    while len(out) < rows:
        if len(out) % 2:
            out.append([rnd.gauss(0, 0.02) for _ in range(cols)])
        else:  # heavy tails: Gaussian / sqrt(chi2_3 / 3)
            row = []
            for _ in range(cols):
                chi = sum(rnd.gauss(0, 1) ** 2 for _ in range(3)) / 3.0
                row.append(rnd.gauss(0, 0.02) / max(chi, 1e-3) ** 0.5)
            out.append(row)
    return [v for r in out[:rows] for v in r]


def run(quantdump, model, verbose=False):
    try:
        import mlx.core as mx
    except Exception as e:  # ImportError or a broken install (missing libmlx.so)
        return None, "mlx not installable (%s)" % e.__class__.__name__
    mx.set_default_device(mx.cpu)

    mats = {}  # cols -> list of floats (rows stacked; quantization is row-group-local)
    if model and os.path.exists(model):
        for name, (shape, vals) in sorted(load_safetensors_f32(model).items()):
            if len(shape) != 2:
                continue
            mats.setdefault(shape[1], []).extend(vals)
    mats.setdefault(256, []).extend(synthetic(40, 256))

    checked = mismatches = 0
    with tempfile.TemporaryDirectory() as tmp:
        for cols, vals in sorted(mats.items()):
            rows = len(vals) // cols
            for dtype in ("f32", "f16", "bf16"):
                mxd = {"f32": mx.float32, "f16": mx.float16, "bf16": mx.bfloat16}[dtype]
                w = mx.array(vals, dtype=mx.float32).reshape(rows, cols).astype(mxd)
                # the exact values MLX quantizes, as f32 for ECQF
                w32 = w.astype(mx.float32).reshape(-1).tolist()
                src = os.path.join(tmp, "w.f32")
                with open(src, "wb") as f:
                    f.write(struct.pack("<%df" % len(w32), *w32))
                bit_list = (2, 3, 4, 5, 6, 8) if dtype == "f32" else (2, 4, 8)
                for bits in bit_list:
                    for group in (32, 64, 128):
                        if cols % group:
                            continue
                        try:
                            q, s, b = mx.quantize(w, group_size=group, bits=bits)
                        except Exception as e:  # combination this MLX does not support
                            if verbose:
                                print("  mlx refuses bits=%d group=%d: %s" % (bits, group, e))
                            continue
                        pre = os.path.join(tmp, "o")
                        subprocess.run([quantdump, "affine", str(bits), str(group), dtype,
                                        str(rows), str(cols), src, pre], check=True)
                        with open(pre + ".codes", "rb") as f:
                            codes = list(f.read())
                        with open(pre + ".scales", "rb") as f:
                            es = ecqf_param_bits(f.read(), dtype)
                        with open(pre + ".biases", "rb") as f:
                            eb = ecqf_param_bits(f.read(), dtype)
                        mcodes = unpack_codes(q.reshape(-1).tolist(), bits, rows * cols)
                        ms = param_bits(s.astype(mx.float32).reshape(-1).tolist(), dtype)
                        mb = param_bits(b.astype(mx.float32).reshape(-1).tolist(), dtype)
                        bad_c = sum(1 for x, y in zip(codes, mcodes) if x != y)
                        bad_s = sum(1 for x, y in zip(es, ms) if x != y)
                        bad_b = sum(1 for x, y in zip(eb, mb) if x != y)
                        checked += 1
                        tag = "cols=%d %s bits=%d group=%d" % (cols, dtype, bits, group)
                        if bad_c or bad_s or bad_b or len(es) != len(ms):
                            mismatches += 1
                            print("FAIL %s: %d codes, %d scales, %d biases differ" %
                                  (tag, bad_c, bad_s, bad_b))
                            for i, (x, y) in enumerate(zip(es, ms)):
                                if x != y:
                                    print("   first scale mismatch at group %d: ecqf %#x mlx %#x"
                                          % (i, x, y))
                                    break
                        elif verbose:
                            print("ok   %s (%d weights)" % (tag, rows * cols))
    return (checked, mismatches, mx.__version__ if hasattr(mx, "__version__") else "?"), None


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quantdump", required=True)
    ap.add_argument("--model", default="")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    res, why = run(a.quantdump, a.model, a.verbose)
    if res is None:
        print("SKIP: " + why)
        return SKIP
    checked, bad, ver = res
    print("mlx %s: %d configurations compared, %d mismatching" % (ver, checked, bad))
    print("%d passed, %d failed" % (checked - bad, bad))
    return 1 if bad or not checked else 0


def test_mlx_affine():  # pytest entry point
    import pytest
    here = os.path.dirname(os.path.abspath(__file__))
    qd = os.environ.get("ECQF_QUANTDUMP", "")
    model = os.environ.get("ECQF_STORIES",
                           os.path.join(here, "..", "..", "..", "shared", "models",
                                        "stories260K.safetensors"))
    if not qd or not os.path.exists(qd):
        pytest.skip("set ECQF_QUANTDUMP to the built tests/quantdump")
    res, why = run(qd, model)
    if res is None:
        pytest.skip(why)
    assert res[0] > 0 and res[1] == 0


if __name__ == "__main__":
    sys.exit(main())
