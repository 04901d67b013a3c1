#!/usr/bin/env python3
"""MLX as a real client of `ecqf-unpack --mlx`: mx.load + mx.quantized_matmul.

usage: client_mlx_matmul.py LABEL MLX.safetensors F32.safetensors [--bits 4] [--group 64]

MLX.safetensors is `ecqf-unpack --mlx` output of an affine pack (codes in uint32 words,
NAME's base B with B.scales and B.biases); F32.safetensors is `ecqf-unpack --dtype f32` of the
same pack: the library's dequantization W_deq. For every tensor in MLX's layout:

  * the file loads with mx.load, with uint32 codes and f16/bf16/f32 parameters of the
    documented shapes;
  * mx.dequantize (parameters widened to float32, so its arithmetic is binary32 like the
    specification's) gives W_deq: the count of elements that differ is reported (0 expected);
  * y = mx.quantized_matmul(x, w, scales, biases, transpose=True, group_size, bits) for 8
    random x (fixed seed), one at a time (MLX's GEMV path) and as one 8-row batch (GEMM path),
    is compared with y_ref = W_deq @ x in float64. The error of each output is divided by
    sum_k |W_deq[n,k] * x[k]|; the largest ratio must stay below TOL = 1e-4. MLX accumulates
    in float32 (unit roundoff u = 2^-24 = 6.0e-8): the classical bound for a K-term float32 sum
    is about K*u relative to sum|w*x| (K = 1536 gives 9.2e-5), and the typical error is
    sqrt(K)*u, so a correct kernel is far below TOL while a wrong code, scale, bias or
    layout gives errors of order 1.

Exit: 0 pass, 1 fail, 77 mlx (or numpy) cannot be imported.
"""
import json
import struct
import sys

SKIP = 77
TOL = 1e-4
SEED = 20261127
NVEC = 8

try:
    import numpy as np
except ImportError as e:  # pragma: no cover
    print("SKIP: numpy not importable (%s)" % e)
    sys.exit(SKIP)
try:
    import mlx.core as mx
except Exception as e:  # ImportError, or a shared library that does not load
    print("SKIP: mlx not installable (import mlx.core: %s)" % e)
    sys.exit(SKIP)


def read_safetensors(path):
    """Independent of MLX and of the safetensors package: name -> (dtype, shape, bytes)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items()}


def main(argv):
    args = [a for a in argv]
    bits, group = 4, 64
    if "--bits" in args:
        i = args.index("--bits")
        bits = int(args[i + 1])
        del args[i:i + 2]
    if "--group" in args:
        i = args.index("--group")
        group = int(args[i + 1])
        del args[i:i + 2]
    label, mlx_path, f32_path = args
    arrays = mx.load(mlx_path)
    ref = read_safetensors(f32_path)
    rng = np.random.default_rng(SEED)
    worst = {"gemv": 0.0, "gemm": 0.0}
    worst_name = {"gemv": "", "gemm": ""}
    worst_abs = 0.0
    deq_diff = 0
    n_tensors = n_weights = 0
    errors = []
    names = sorted(k for k, v in arrays.items() if v.dtype == mx.uint32)
    for name in names:
        w = arrays[name]
        base = name[:-len(".weight")] if name.endswith(".weight") else name
        if base + ".scales" not in arrays or base + ".biases" not in arrays:
            errors.append("%s: uint32 tensor without %s.scales/.biases" % (name, base))
            continue
        scales, biases = arrays[base + ".scales"], arrays[base + ".biases"]
        dt, shape, raw = ref[name]
        if dt != "F32" or len(shape) != 2:
            errors.append("%s: reference is %s %s" % (name, dt, shape))
            continue
        rows, cols = shape
        if list(w.shape) != [rows, cols * bits // 32] or list(scales.shape) != [rows, cols // group] \
                or list(biases.shape) != [rows, cols // group] or scales.dtype != biases.dtype \
                or scales.dtype not in (mx.float16, mx.bfloat16, mx.float32):
            errors.append("%s: MLX shapes %s %s %s, dtypes %s %s" % (
                name, w.shape, scales.shape, biases.shape, scales.dtype, biases.dtype))
            continue
        W = np.frombuffer(raw, dtype="<f4").reshape(rows, cols)

        # mx.dequantize in binary32 equals the library's dequantization
        d = mx.dequantize(w, scales.astype(mx.float32), biases.astype(mx.float32),
                          group_size=group, bits=bits)
        deq_diff += int(np.count_nonzero(np.array(d, dtype=np.float32).view(np.uint32) != W.view(np.uint32)))

        W64 = W.astype(np.float64)
        X = rng.standard_normal((NVEC, cols)).astype(np.float32)
        X64 = X.astype(np.float64)
        Yref = X64 @ W64.T                   # [NVEC, rows]
        mag = np.abs(X64) @ np.abs(W64).T    # sum_k |w x|
        mag = np.maximum(mag, np.finfo(np.float64).tiny)
        for path in ("gemv", "gemm"):
            if path == "gemv":
                Y = np.stack([np.array(mx.quantized_matmul(mx.array(X[i:i + 1]), w, scales, biases,
                                                           transpose=True, group_size=group, bits=bits),
                                       dtype=np.float64)[0] for i in range(NVEC)])
            else:
                Y = np.array(mx.quantized_matmul(mx.array(X), w, scales, biases, transpose=True,
                                                 group_size=group, bits=bits), dtype=np.float64)
            if Y.shape != Yref.shape:
                errors.append("%s: quantized_matmul gave shape %s" % (name, Y.shape))
                break
            rel = float(np.max(np.abs(Y - Yref) / mag))
            worst_abs = max(worst_abs, float(np.max(np.abs(Y - Yref))))
            if rel > worst[path]:
                worst[path], worst_name[path] = rel, name
            if not rel <= TOL:
                errors.append("%s (%s): max |y_mlx - y_ref| / sum|w*x| = %.3g > %.0e" % (name, path, rel, TOL))
        n_tensors += 1
        n_weights += rows * cols
    if n_tensors == 0 and not errors:
        errors.append("no tensor in MLX's quantized layout in %s" % mlx_path)

    u = 2.0 ** -24
    print("%s: mlx %s, %d tensors (%d weights) in MLX layout, affine %d-bit g%d, %d random x (seed %d)"
          % (label, mx.__version__, n_tensors, n_weights, bits, group, NVEC, SEED))
    print("%s: mx.dequantize (f32 params) vs library dequantization: %d differing elements" % (label, deq_diff))
    for path in ("gemv", "gemm"):
        print("%s: quantized_matmul %s: max |y_mlx - y_ref|/sum|w*x| = %.3g (%.1f u; tolerance %.0e) on %s"
              % (label, path, worst[path], worst[path] / u, TOL, worst_name[path]))
    print("%s: largest absolute difference %.3g" % (label, worst_abs))
    if deq_diff:
        errors.append("mx.dequantize differs from the library on %d elements" % deq_diff)
    for e in errors:
        print("FAIL: %s: %s" % (label, e))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
