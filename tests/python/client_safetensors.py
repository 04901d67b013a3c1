#!/usr/bin/env python3
"""The official safetensors package as a real client of `ecqf-unpack`.

usage: client_safetensors.py make-synthetic OUT.safetensors
       client_safetensors.py make-copies SOURCE.safetensors OUTPREFIX [f16] [bf16]
       client_safetensors.py check SOURCE.safetensors LABEL=DIR [LABEL=DIR ...]

make-synthetic writes a small F32 model that needs no download (fixed seed): Gaussian and
heavy-tailed matrices, rows scaled from 1e-7 to 7e4 (float16 subnormals, and overflow to
infinity in f16 output), an all-zero matrix, a matrix whose width is no multiple of the
group, a 3-D tensor, norms and biases, with a __metadata__.
make-copies writes OUTPREFIX-f16.safetensors and/or OUTPREFIX-bf16.safetensors: SOURCE
rounded to nearest even into F16 and BF16, written by the safetensors package itself
(safetensors.numpy.save_file for F16; safetensors.serialize_file with a TensorSpec of dtype
"bfloat16" for BF16, which numpy cannot hold), with the source's __metadata__ plus one key.

check: each DIR holds one ECQF pack of SOURCE unpacked four ways, default.safetensors (each
tensor in its source dtype), f16.safetensors, bf16.safetensors and f32.safetensors, plus
inspect.json (`ecqf-inspect --json --against SOURCE`). Every file is opened with the package:

  * safetensors.numpy.load_file for files without BF16 tensors. safetensors 0.8.0 maps no
    numpy dtype to BF16 (numpy has no bfloat16): load_file on a BF16 file raises (TypeError
    "data type 'bfloat16' not understood"). The test then reads the file with the package's
    framework-free API, safetensors.deserialize(bytes), which returns each tensor's dtype
    string, shape and raw little-endian bytes, and reports that it did so. (Should a later
    version load BF16 through load_file, the arrays it returns are checked instead.)
  * safe_open(framework="np"): the source's tensor names (and, from the raw header, its data
    order) and the source's __metadata__ (ecqf-pack keeps it, ecqf-unpack restores it).

and the values must equal, as bit patterns:

  * f32 file: unquantized tensors = the source widened exactly to binary32 (bit for bit for
    an F32 source); quantized tensors = the library's binary32 dequantization, which is the
    reference R. R is read by the package; a second, independent parse of the raw bytes must
    give the same bits, and the SQNR of R against the source must agree with ecqf-inspect's
    --against figure (0.01 dB).
  * f16 / bf16 files: every tensor in that dtype, equal to R (quantized) or to the source
    (unquantized) rounded to nearest even: numpy's float32->float16 conversion, and
    (u + 0x7fff + ((u >> 16) & 1)) >> 16 on the binary32 bits for bf16.
  * default file: each tensor in the source dtype; unquantized tensors are the source's bytes
    exactly, quantized ones R rounded to nearest even into the source dtype.

Exit: 0 pass, 1 fail, 77 numpy or safetensors cannot be imported.
"""
import json
import math
import os
import struct
import sys

SKIP = 77
try:
    import numpy as np
    import safetensors
    import safetensors.numpy as stnp
except ImportError as e:
    print("SKIP: safetensors/numpy not importable (%s)" % e)
    sys.exit(SKIP)

NP_DTYPE = {"F32": np.float32, "F16": np.float16}


def raw_parse(path):
    """Independent of the package: (metadata, [(name, dtype, shape, bytes)]) in data order."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n), object_pairs_hook=lambda kv: kv)
        data = f.read()
    meta, out = None, []
    for name, v in header:
        v = dict(v)
        if name == "__metadata__":
            meta = v
            continue
        a, b = v["data_offsets"]
        out.append((a, name, v["dtype"], list(v["shape"]), data[a:b]))
    out.sort(key=lambda t: t[0])
    return meta, [t[1:] for t in out]


def bits_of(dtype, raw):
    return np.frombuffer(raw, dtype="<u4" if dtype == "F32" else "<u2")


def to_f32(dtype, raw):
    if dtype == "F32":
        return np.frombuffer(raw, dtype="<f4").copy()
    if dtype == "F16":
        return np.frombuffer(raw, dtype="<f2").astype(np.float32)
    if dtype == "BF16":
        return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    raise ValueError(dtype)


def rne(f32, dtype):
    """Bit patterns of binary32 values rounded to nearest even into dtype."""
    f32 = np.ascontiguousarray(f32, dtype=np.float32)
    if dtype == "F32":
        return f32.view(np.uint32)
    if dtype == "F16":
        with np.errstate(over="ignore"):  # beyond 65520: infinity, as round-to-nearest says
            return f32.astype(np.float16).view(np.uint16)
    if dtype == "BF16":
        u = f32.view(np.uint32).astype(np.uint64)
        r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
        nan = np.isnan(f32)
        r[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
        return r
    raise ValueError(dtype)


class Check:
    def __init__(self):
        self.errors = []
        self.compared = 0
        self.f16_subnormal = 0
        self.f16_inf = 0

    def eq(self, what, got, want):
        self.compared += int(np.size(want))
        if got.shape != want.shape:
            self.errors.append("%s: %d values, expected %d" % (what, got.size, want.size))
            return
        bad = np.flatnonzero(got != want)
        if bad.size:
            i = int(bad[0])
            self.errors.append("%s: %d of %d values differ (first at %d: 0x%x, expected 0x%x)"
                               % (what, bad.size, want.size, i, int(got.flat[i]), int(want.flat[i])))


APIS = set()


def load_with_package(path, chk, label):
    """name -> (dtype, shape, raw bytes) as the safetensors package returns them; which API."""
    with safetensors.safe_open(path, framework="np") as f:
        keys = list(f.keys())
        meta = f.metadata()
        dtypes = {k: f.get_slice(k).get_dtype() for k in keys}
    out = {}
    if "BF16" in dtypes.values():
        try:
            arrays = stnp.load_file(path)
        except Exception as e:  # 0.8.0: TypeError: data type 'bfloat16' not understood
            APIS.add("files with BF16 tensors: safetensors.numpy.load_file raised %s: %s; read with "
                     "safetensors.deserialize instead" % (type(e).__name__, e))
            api = "deserialize"
            with open(path, "rb") as fh:
                for name, v in safetensors.deserialize(fh.read()):
                    out[name] = (v["dtype"], list(v["shape"]), bytes(v["data"]))
        else:
            api = "load_file (BF16 as %s)" % arrays[next(k for k in keys if dtypes[k] == "BF16")].dtype
            for k, a in arrays.items():
                out[k] = (dtypes[k], list(a.shape), np.ascontiguousarray(a).tobytes())
    else:
        api = "load_file"
        for k, a in stnp.load_file(path).items():
            if a.dtype != NP_DTYPE.get(dtypes[k]):
                chk.errors.append("%s: %s loaded as numpy %s for %s" % (label, k, a.dtype, dtypes[k]))
            out[k] = (dtypes[k], list(a.shape), np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())
    return keys, meta, out, api


def check_pack(label, src_path, d, chk):
    src_meta, src = raw_parse(src_path)
    src_names = [t[0] for t in src]
    src_by = {t[0]: t for t in src}
    with open(os.path.join(d, "inspect.json")) as f:
        insp = json.load(f)
    scheme = {t["name"]: t["scheme"] for t in insp["tensors"]}
    sqnr = {t["name"]: t.get("sqnr_db") for t in insp["tensors"]}
    quant = [n for n in src_names if scheme.get(n, "none") != "none"]
    lines = []

    # f32: the reference R, read by the package and by the raw parser
    f32_path = os.path.join(d, "f32.safetensors")
    keys, meta, pk, api = load_with_package(f32_path, chk, label)
    _, raw = raw_parse(f32_path)
    R = {}
    for name, dt, shape, b in raw:
        chk.eq("%s f32 %s: package vs raw bytes" % (label, name), bits_of("F32", pk[name][2]), bits_of(dt, b))
        R[name] = np.frombuffer(b, dtype="<f4")
    worst_db = 0.0
    for name in src_names:
        _, sdt, sshape, sraw = src_by[name]
        if name not in R:
            chk.errors.append("%s f32: %s missing" % (label, name))
            continue
        if name not in quant:
            chk.eq("%s f32 %s (unquantized)" % (label, name), R[name].view(np.uint32),
                   to_f32(sdt, sraw).view(np.uint32))
        else:
            x = to_f32(sdt, sraw).astype(np.float64)
            e = R[name].astype(np.float64) - x
            db = 10 * math.log10((x * x).sum() / max((e * e).sum(), 1e-300))
            if sqnr[name] is None or abs(db - sqnr[name]) > 0.01:
                chk.errors.append("%s %s: SQNR of the f32 output %.3f dB, ecqf-inspect --against says %s"
                                  % (label, name, db, sqnr[name]))
            worst_db = max(worst_db, abs(db - (sqnr[name] or 0)))
    lines.append("f32:%s" % api)

    for kind in ("default", "f16", "bf16"):
        path = os.path.join(d, kind + ".safetensors")
        keys, meta, pk, api = load_with_package(path, chk, label)
        if sorted(keys) != sorted(src_names):
            chk.errors.append("%s %s: tensor names differ from the source's" % (label, kind))
        if [t[0] for t in raw_parse(path)[1]] != src_names:
            chk.errors.append("%s %s: tensors not in the source's data order" % (label, kind))
        if (meta or {}) != (src_meta or {}):
            chk.errors.append("%s %s: metadata %r, source %r" % (label, kind, meta, src_meta))
        for name in src_names:
            if name not in pk:
                continue
            _, sdt, sshape, sraw = src_by[name]
            dt, shape, b = pk[name]
            want_dt = sdt if kind == "default" else kind.upper()
            if dt != want_dt or shape != sshape:
                chk.errors.append("%s %s %s: %s %s, expected %s %s" % (label, kind, name, dt, shape, want_dt, sshape))
                continue
            what = "%s %s %s (%s)" % (label, kind, name, "quantized" if name in quant else "unquantized")
            if name in quant:
                chk.eq(what, bits_of(dt, b), rne(R[name], dt))
                if dt == "F16":
                    h = bits_of(dt, b) & 0x7FFF
                    chk.f16_subnormal += int(np.count_nonzero((h > 0) & (h < 0x400)))
                    chk.f16_inf += int(np.count_nonzero(h == 0x7C00))
            elif kind == "default":
                chk.eq(what, bits_of(dt, b), bits_of(sdt, sraw))
            else:
                chk.eq(what, bits_of(dt, b), rne(to_f32(sdt, sraw), dt))
        lines.append("%s:%s" % (kind, api))
    print("%s: %d tensors (%d quantized: %s), %d metadata keys; equal as bits (%s); SQNR = inspect's +-%.4f dB"
          % (label, len(src_names), len(quant), ",".join(sorted(set(scheme[n] for n in quant))) or "-",
             len(src_meta or {}), "; ".join(lines), worst_db))


def make_synthetic(out):
    rng = np.random.default_rng(20261127)
    t = {}
    t["a.normal.weight"] = rng.standard_normal((256, 512)) * 0.02
    t["a.heavy.weight"] = rng.standard_normal((128, 256)) / np.sqrt(rng.chisquare(3, (128, 256)) / 3)
    scale = 10.0 ** np.linspace(-7, np.log10(7e4), 64)
    t["a.range.weight"] = rng.standard_normal((64, 512)) * scale[:, None]
    z = np.zeros((64, 128))
    z[5] = rng.standard_normal(128)
    t["a.zeros.weight"] = z
    t["a.odd.weight"] = rng.standard_normal((96, 100))
    t["a.cube.weight"] = rng.standard_normal((4, 32, 64))
    t["a.norm.weight"] = 1 + 0.1 * rng.standard_normal(512)
    t["a.bias"] = 0.01 * rng.standard_normal(512)
    t = {k: v.astype(np.float32) for k, v in t.items()}
    stnp.save_file(t, out, metadata={"format": "np", "ecqf.test": "synthetic"})
    print("synthetic source: %d tensors, %d weights, written by safetensors %s"
          % (len(t), sum(v.size for v in t.values()), safetensors.__version__))


def make_copies(src_path, prefix, kinds):
    meta, src = raw_parse(src_path)
    meta = dict(meta or {})
    meta["ecqf.test.copy"] = "client_safetensors"
    if "f16" in kinds:
        stnp.save_file({name: to_f32(dt, b).astype(np.float16).reshape(shape) for name, dt, shape, b in src},
                       prefix + "-f16.safetensors", metadata=meta)
    if "bf16" in kinds:
        keep, specs = [], {}
        for name, dt, shape, b in src:
            u = rne(to_f32(dt, b), "BF16").reshape(shape)
            keep.append(u)
            specs[name] = safetensors.TensorSpec(dtype="bfloat16", shape=shape, data_ptr=u.ctypes.data,
                                                 data_len=u.nbytes)
        safetensors.serialize_file(specs, prefix + "-bf16.safetensors", metadata=meta)
        del keep
    print("copies of %s in %s written by safetensors %s" % (os.path.basename(src_path), " and ".join(kinds),
                                                            safetensors.__version__))


def main(argv):
    if len(argv) == 2 and argv[0] == "make-synthetic":
        make_synthetic(argv[1])
        return 0
    if len(argv) >= 4 and argv[0] == "make-copies":
        make_copies(argv[1], argv[2], argv[3:])
        return 0
    if len(argv) < 3 or argv[0] != "check":
        print(__doc__, file=sys.stderr)
        return 2
    chk = Check()
    for spec in argv[2:]:
        label, _, d = spec.partition("=")
        try:
            check_pack(label, argv[1], d, chk)
        except Exception as e:
            chk.errors.append("%s: %s: %s" % (label, type(e).__name__, e))
    for a in sorted(APIS):
        print("note: " + a)
    print("safetensors %s, numpy %s: %d values compared as bit patterns (quantized values that are "
          "f16 subnormals: %d, f16 infinities: %d), %d mismatching checks"
          % (safetensors.__version__, np.__version__, chk.compared, chk.f16_subnormal, chk.f16_inf,
             len(chk.errors)))
    for e in chk.errors[:40]:
        print("FAIL: " + e)
    return 1 if chk.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
