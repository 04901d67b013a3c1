#!/bin/sh
# ecqf-unpack --mlx: affine tensors in MLX's quantized layout (uint32-packed codes, .scales,
# .biases). The codes unpacked from the uint32 words, with the scales and biases, must give
# exactly the library's dequantization (scale * u + bias in binary32).
. "${srcdir:-.}/tests/tools/common.sh"
need_python
MODEL="$ECQF_MODELS_DIR/stories260K.safetensors"
if [ ! -f "$MODEL" ]; then
    echo "SKIP: $MODEL not found (set ECQF_MODELS_DIR)"
    exit 77
fi
for spec in "4 64" "2 32" "3 64" "5 32" "6 64" "8 64"; do
    set -- $spec
    bits=$1
    group=$2
    e="$WORK/a$bits.ecqf"
    "$PACK" -q --scheme affine --bits "$bits" --group "$group" "$MODEL" "$e" || { fail "pack $spec"; continue; }
    "$UNPACK" -q --mlx "$e" "$WORK/mlx$bits.safetensors" || { fail "unpack --mlx $spec"; continue; }
    "$UNPACK" -q --dtype f32 "$e" "$WORK/f32-$bits.safetensors" || { fail "unpack $spec"; continue; }
    if "$PYTHON3" - "$WORK/mlx$bits.safetensors" "$WORK/f32-$bits.safetensors" "$bits" "$group" \
        >"$WORK/check.txt" 2>&1 <<'PY'
import json, struct, sys

def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    h.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in h.items()}

def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]

mlx, ref = load(sys.argv[1]), load(sys.argv[2])
bits, group = int(sys.argv[3]), int(sys.argv[4])
packed = 0
for name, (dt, shape, raw) in mlx.items():
    if dt != "U32":
        continue
    base = name[:-len(".weight")] if name.endswith(".weight") else name
    sdt, sshape, sraw = mlx[base + ".scales"]
    bdt, bshape, braw = mlx[base + ".biases"]
    rdt, rshape, rraw = ref[name]
    rows, cols = rshape[0], rshape[1]
    assert shape == [rows, cols * bits // 32], (name, shape)
    assert sshape == bshape == [rows, cols // group] and sdt == bdt == "F16", (sshape, sdt)
    scales = struct.unpack("<%de" % (rows * cols // group), sraw)
    biases = struct.unpack("<%de" % (rows * cols // group), braw)
    want = struct.unpack("<%df" % (rows * cols), rraw)
    words = struct.unpack("<%dI" % (len(raw) // 4), raw)
    wpr = cols * bits // 32
    for r in range(rows):
        acc = 0
        for j in range(wpr):
            acc |= words[r * wpr + j] << (32 * j)  # the row as one little-endian bit stream
        for c in range(cols):
            u = (acc >> (c * bits)) & ((1 << bits) - 1)
            g = r * (cols // group) + c // group
            v = f32(f32(scales[g] * u) + biases[g])
            if v != want[r * cols + c]:
                sys.exit("%s[%d,%d]: MLX layout gives %r, library %r" % (name, r, c, v, want[r * cols + c]))
    packed += 1
for name in ref:
    if name not in mlx:
        sys.exit("missing tensor " + name)
if packed == 0:
    sys.exit("no tensor in MLX layout")
print("%d tensors in MLX layout match the library's dequantization" % packed)
PY
    then pass "bits $bits group $group: $(cat "$WORK/check.txt")"
    else fail "bits $bits group $group:"; sed 's/^/    /' "$WORK/check.txt" >&2; fi
done
finish
