#!/bin/sh
# pack -> inspect --verify -> unpack on real weights (stories260K) with every scheme and
# coding, and on a sharded F32/F16/BF16 model: unquantized tensors come back bit-exact,
# quantized ones equal the library's dequantization (ecqf-inspect --hashes) bit for bit;
# -j1 and -j2 write identical files.
. "${srcdir:-.}/tests/tools/common.sh"
need_python
MODEL="$ECQF_MODELS_DIR/stories260K.safetensors"
if [ ! -f "$MODEL" ]; then
    echo "SKIP: $MODEL not found (set ECQF_MODELS_DIR)"
    exit 77
fi

roundtrip() { # LABEL SRC PACK-OPTIONS... (SRC is also what the result must mean)
    label=$1
    src=$2
    shift 2
    pack_roundtrip "$label" "$src" "$src" - "$@"
}

roundtrip ecsq-default "$MODEL"
roundtrip ecsq-j2 "$MODEL" -j 2
if cmp -s "$WORK/ecsq-default.ecqf" "$WORK/ecsq-j2.ecqf"; then pass "-j1 and -j2 files are identical"
else fail "-j1 and -j2 wrote different files"; fi
roundtrip ecsq-sqnr-rows "$MODEL" --sqnr 25 --per-row -j 3
roundtrip ecsq-bpw "$MODEL" --bpw 3 --fusable
roundtrip ecsq-raw "$MODEL" --coding raw --keep 'embed'
roundtrip ecsq-zstd "$MODEL" --coding zstd --align 16384
roundtrip affine-rans "$MODEL" --scheme affine --coding rans
roundtrip affine-2b-g32 "$MODEL" --scheme affine --bits 2 --group 32 --param-dtype bf16
roundtrip affine-8b-prefix "$MODEL" --scheme affine --bits 8 --group 64 --coding prefix
roundtrip symmetric "$MODEL" --scheme symmetric --coding prefix -j 2
roundtrip symmetric-q8 "$MODEL" --scheme symmetric --bits 8 --param-dtype f32

# the sharded model: F32, F16 and BF16 tensors across two shards
"$PYTHON3" "$HERE/mkbad.py" "$WORK/in" || exit 99
roundtrip sharded "$WORK/in/sharded"
roundtrip sharded-index "$WORK/in/sharded/model.safetensors.index.json" --scheme affine -j 2

# edge cases: a scalar, zero-size dimensions, an all-zero matrix, a non-ASCII name
roundtrip edge "$WORK/in/edge.safetensors"
roundtrip edge-affine "$WORK/in/edge.safetensors" --scheme affine --min-elements 1

# 3-D and 4-D tensors: stored as is by default, quantized with --nd (rows = the product of the
# leading dimensions), and read back with their shapes
roundtrip nd-default "$WORK/in/nd.safetensors"
roundtrip nd "$WORK/in/nd.safetensors" --nd
roundtrip nd-affine "$WORK/in/nd.safetensors" --nd --scheme affine --coding rans
if [ -f "$WORK/nd.json" ] && [ -f "$WORK/nd-default.json" ] &&
    [ "$(grep -c '"scheme": "ecsq"' "$WORK/nd.json")" = 3 ] &&
    [ "$(grep -c '"scheme": "ecsq"' "$WORK/nd-default.json")" = 1 ] &&
    [ "$(grep -c '"scheme": "affine"' "$WORK/nd-affine.json")" = 3 ]; then
    pass "--nd quantizes the 3-D and 4-D tensors; without it they are stored as is"
else
    fail "--nd: $(grep '"scheme"' "$WORK/nd.json" "$WORK/nd-default.json" "$WORK/nd-affine.json" 2>&1 | tr '\n' ' ')"
fi

# a model with an I64 buffer packs with --skip-unsupported (the buffer is left out)
roundtrip skip-unsupported "$WORK/in/with-i64.safetensors" --skip-unsupported
if [ -f "$WORK/skip-unsupported.json" ] && ! grep -q position_ids "$WORK/skip-unsupported.json"; then
    pass "--skip-unsupported leaves the I64 tensor out"
else
    fail "--skip-unsupported"
fi

# the independent Python reader (conformance/pyreader, written from the spec alone) prints
# the same hashes as ecqf-inspect --hashes on what ecqf-pack writes
PYREADER="$top_srcdir/conformance/pyreader/ecqf_reader.py"
if [ -f "$PYREADER" ]; then
    for label in ecsq-default affine-rans symmetric ecsq-sqnr-rows edge; do
        if "$PYTHON3" "$PYREADER" "$WORK/$label.ecqf" >"$WORK/py.hashes" 2>&1 &&
            cmp -s "$WORK/py.hashes" "$WORK/$label.hashes"; then
            pass "$label: the Python reader agrees with ecqf-inspect --hashes"
        else
            fail "$label: the Python reader disagrees: $(head -n 2 "$WORK/py.hashes")"
        fi
    done
fi

# --align 16384 is honoured
if "$INSPECT" --json "$WORK/ecsq-zstd.ecqf" | grep -q '"alignment": 16384'; then pass "--align 16384"
else fail "--align 16384 not recorded"; fi

# the summary of pack and the report of inspect
"$PACK" "$MODEL" "$WORK/summary.ecqf" >"$WORK/summary.txt" 2>&1 || fail "pack with summary"
grep -q 'bits/weight all-in' "$WORK/summary.txt" && grep -q 'SQNR' "$WORK/summary.txt" \
    && pass "pack summary" || fail "pack summary: $(cat "$WORK/summary.txt")"
"$INSPECT" --zstd --against "$MODEL" "$WORK/summary.ecqf" >"$WORK/report.txt" 2>&1 || fail "inspect report"
grep -q 'model.layers.0.mlp.up_proj.weight' "$WORK/report.txt" && grep -q '^zstd -19' "$WORK/report.txt" \
    && grep -q '^SQNR' "$WORK/report.txt" && pass "inspect report" || fail "inspect report: $(cat "$WORK/report.txt")"
"$INSPECT" --histogram model.layers.0.mlp.up_proj.weight "$WORK/summary.ecqf" >"$WORK/hist.txt" 2>&1 \
    && grep -q 'entropy' "$WORK/hist.txt" && pass "inspect --histogram" || fail "inspect --histogram: $(cat "$WORK/hist.txt")"
finish
