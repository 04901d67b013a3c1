#!/bin/sh
# GGUF input of ecqf-pack (tools/common/gguf.c).
#
# Synthetic files from tests/tools/mkgguf.py (which first checks its own dequantization
# against hand-worked blocks):
#  - every supported type (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K),
#    1-D to 4-D shapes, a scalar and empty tensors, go through pack -> inspect --verify ->
#    unpack, checked by check_unpack.py against NAME.expected.safetensors (mkgguf.py's own
#    dequantization, row-major shapes): tensors kept as is (--min-elements 1e9) must come back
#    bit for bit, so the C dequantizers equal the independent Python ones on every weight;
#    quantized runs (ECSQ, affine, symmetric, --sqnr, --bpw) must equal the library's
#    dequantization and keep their SQNR against the dequantized GGUF values;
#  - GGUF v2 with alignment 64, data out of info order with gaps, a file without tensors, a
#    GGUF file whose name does not end in .gguf, -j1 = -j2, metadata under gguf.*;
#  - a type that cannot be dequantized: an error, or left out with --skip-unsupported;
#  - invalid files, one lie each: a clear GGUF_ERR_* error and exit status 1, never a crash.
# Then the real Gemma 3 270M Q4_K_M (scripts/fetch-models gemma3-270m, or $ECQF_GGUF_MODEL;
# skipped when it cannot be had, or with ECQF_NO_DOWNLOAD=1 when it is not cached): pack -j2
# with $ECQF_GEMMA_PACK_OPTS (default --fusable: the default --coding auto also tries zstd -19
# on the 168M codes of the embedding, about 4x slower), inspect --verify, unpack, with the
# figures printed.
. "${srcdir:-.}/tests/tools/common.sh"
need_python
G="$WORK/g"
"$PYTHON3" "$HERE/mkgguf.py" "$G" || { echo "FAIL: mkgguf.py (hand-worked blocks?)" >&2; exit 1; }
pass "mkgguf.py: the reference dequantization matches the hand-worked blocks"

GOOD="$G/good.gguf"
EXP="$G/good.expected.safetensors"
# kept as is: the dequantized values, bit for bit
pack_roundtrip none "$GOOD" "$EXP" 0 --min-elements 1000000000
n=$(grep -c '"scheme": "none"' "$WORK/none.json")
[ "$n" -eq 27 ] && pass "none: 27 tensors stored as is" || fail "none: $n tensors stored as is, expected 27"
pack_roundtrip none-raw "$GOOD" "$EXP" 0 --min-elements 1000000000 --coding raw
# quantized (the 16 x 256 matrices and the 8 x 512 one: 12 tensors)
pack_roundtrip ecsq "$GOOD" "$EXP" 15 --min-elements 1024
pack_roundtrip ecsq-j2 "$GOOD" "$EXP" 15 --min-elements 1024 -j 2
if cmp -s "$WORK/ecsq.ecqf" "$WORK/ecsq-j2.ecqf"; then pass "-j1 and -j2 files are identical"
else fail "-j1 and -j2 wrote different files"; fi
pack_roundtrip ecsq-sqnr30 "$GOOD" "$EXP" 29.9 --min-elements 1024 --sqnr 30 --per-row
pack_roundtrip ecsq-bpw "$GOOD" "$EXP" 10 --min-elements 1024 --bpw 3 --fusable
pack_roundtrip affine "$GOOD" "$EXP" 15 --min-elements 1024 --scheme affine --coding rans
pack_roundtrip symmetric8 "$GOOD" "$EXP" 30 --min-elements 1024 --scheme symmetric --bits 8
n=$(grep -c '"scheme": "ecsq"' "$WORK/ecsq.json")
[ "$n" -eq 12 ] && pass "ecsq: 12 tensors quantized" || fail "ecsq: $n tensors quantized, expected 12"

# the default target: ECSQ matched to affine 4-bit g64's SQNR against the dequantized values
"$PACK" --min-elements 1024 "$GOOD" "$WORK/summary.ecqf" >"$WORK/summary.txt" 2>&1 || fail "pack with summary"
grep -q 'matched to affine 4-bit g64' "$WORK/summary.txt" && pass "pack summary: $(grep 'SQNR' "$WORK/summary.txt" | sed 's/^ *//')" \
    || fail "pack summary: $(cat "$WORK/summary.txt")"
"$INSPECT" --against "$EXP" "$WORK/summary.ecqf" >"$WORK/against.txt" 2>&1 && grep -q '^SQNR' "$WORK/against.txt" \
    && pass "inspect --against the dequantized values: $(grep '^SQNR' "$WORK/against.txt")" \
    || fail "inspect --against: $(cat "$WORK/against.txt")"

# other valid layouts
pack_roundtrip v2-align64 "$G/v2-align64.gguf" "$G/v2-align64.expected.safetensors" 15 --min-elements 64
pack_roundtrip out-of-order "$G/out-of-order.gguf" "$G/out-of-order.expected.safetensors" 0
cp "$GOOD" "$G/model.bin"
pack_roundtrip by-magic "$G/model.bin" "$EXP" 0 --min-elements 1000000000
if "$PACK" -q "$G/empty.gguf" "$WORK/empty.ecqf" 2>"$WORK/stderr" && "$INSPECT" -q --verify "$WORK/empty.ecqf" >/dev/null 2>&1 \
    && "$UNPACK" -q "$WORK/empty.ecqf" "$WORK/empty.safetensors"; then pass "a GGUF file without tensors"
else fail "a GGUF file without tensors: $(cat "$WORK/stderr")"; fi

# metadata: scalars typed, short arrays as JSON, long arrays left out, the source described
if "$PYTHON3" - "$WORK/ecsq.json" >"$WORK/meta.txt" 2>&1 <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))["metadata"]
want = {
    "gguf.general.architecture": "synthetic", "gguf.general.name": "h\u00e9llo \"model\"\n",
    "gguf.test.u8": 200, "gguf.test.i8": -5, "gguf.test.u16": 60000, "gguf.test.i16": -300,
    "gguf.test.u32": 4000000000, "gguf.test.i32": -2000000000, "gguf.test.bool": True,
    "gguf.test.u64": 2 ** 63 + 1, "gguf.test.i64": -2 ** 62, "gguf.test.f64": 1.0 / 3.0,
    "gguf.test.f32": 0.10000000149011612, "gguf.test.arr_i32": "[1,-2,3]",
    "gguf.test.arr_str": "[\"a\",\"b\\\"c\"]", "gguf.test.arr_nested": "[[1,2],[3]]",
    "gguf.test.arr_empty": "[]", "gguf.general.quantization_version": 2,
}
bad = [k for k, v in want.items() if m.get(k) != v or type(m.get(k)) != type(v)]
if "gguf.tokenizer.ggml.tokens" in m:
    bad.append("tokenizer.ggml.tokens was kept")
if not m.get("ecqf.source.gguf", "").startswith("GGUF v3, alignment 32, tensors F32:5 F16:2"):
    bad.append("ecqf.source.gguf: %r" % m.get("ecqf.source.gguf"))
print("%d gguf.* entries" % sum(k.startswith("gguf.") for k in m))
if bad:
    print("wrong: " + ", ".join(bad))
    sys.exit(1)
EOF
then pass "metadata: $(cat "$WORK/meta.txt")"
else fail "metadata: $(cat "$WORK/meta.txt")"; fi

# a type that cannot be dequantized
OUT="$WORK/out.ecqf"
expect_error "unsupported type" GGUF_ERR_UNSUPPORTED_TYPE "unsupported ggml type Q2_K for tensor 'low.q2_k'" \
    "--skip-unsupported" -- "$PACK" -q "$G/unsupported.gguf" "$OUT"
OUT=""
"$PACK" --skip-unsupported "$G/unsupported.gguf" "$WORK/skip.ecqf" >"$WORK/skip.txt" 2>&1 \
    && grep -q 'low.q2_k (Q2_K \[1, 256\]) left out' "$WORK/skip.txt" \
    && pass "--skip-unsupported leaves the Q2_K tensor out" || fail "--skip-unsupported: $(cat "$WORK/skip.txt")"
pack_roundtrip skip-unsupported "$G/unsupported.gguf" "$G/unsupported.expected.safetensors" 0 --skip-unsupported

# invalid files: one lie each
OUT="$WORK/out.ecqf"
check() { # NAME ERROR_NAME TEXT
    expect_error "$1" "$2" "$3" "$G/$1" -- "$PACK" -q "$G/$1" "$OUT"
}
check short.gguf                GGUF_ERR_TRUNCATED "too short for the 24-byte GGUF header"
check truncated-header.gguf     GGUF_ERR_TRUNCATED "the file ends inside a tensor's dimensions"
check truncated-data.gguf       GGUF_ERR_BAD_OFFSET "runs past the end of the file"
check no-data-section.gguf      GGUF_ERR_TRUNCATED "the data section would start at byte 64"
check version1.gguf             GGUF_ERR_BAD_VERSION "version 1"
check version4.gguf             GGUF_ERR_BAD_VERSION "version 4 is newer"
check big-endian.gguf           GGUF_ERR_BAD_VERSION "big-endian"
check huge-tensor-count.gguf    GGUF_ERR_TOO_MANY "tensor count 9223372036854775808 cannot fit"
check huge-kv-count.gguf        GGUF_ERR_TOO_MANY "metadata count 18446744073709551615 cannot fit"
check huge-array.gguf           GGUF_ERR_TOO_MANY "an array of 4611686018427387904 uint32 values"
check huge-string-array.gguf    GGUF_ERR_TOO_MANY "an array of 1099511627776 string elements"
check bad-key-length.gguf       GGUF_ERR_BAD_STRING "string length 18446744073709551615 exceeds"
check bad-string-length.gguf    GGUF_ERR_BAD_STRING "string length 1000000000 exceeds"
check bad-name-length.gguf      GGUF_ERR_BAD_NAME "65 bytes long (at most 64)"
check empty-name.gguf           GGUF_ERR_BAD_NAME "empty name"
check nul-name.gguf             GGUF_ERR_BAD_NAME "NUL character"
check bad-utf8-name.gguf        GGUF_ERR_BAD_UTF8 "'w\\xc0\\xaf'"
check bad-utf8-value.gguf       GGUF_ERR_BAD_UTF8 "key 'general.name': ill-formed UTF-8"
check bad-key.gguf              GGUF_ERR_BAD_KEY "holds byte 0x0a"
check empty-key.gguf            GGUF_ERR_BAD_KEY "is empty"
check duplicate-key.gguf        GGUF_ERR_DUPLICATE_KEY "duplicate metadata key 'general.name'"
check bad-value-type.gguf       GGUF_ERR_BAD_VALUE_TYPE "unknown value type 13"
check bad-array-type.gguf       GGUF_ERR_BAD_VALUE_TYPE "unknown array element value type 77"
check bad-bool.gguf             GGUF_ERR_BAD_VALUE "boolean value 2"
check deep-nesting.gguf         GGUF_ERR_NESTING "nested more than 8 deep"
check bad-alignment.gguf        GGUF_ERR_BAD_ALIGNMENT "general.alignment 48 is not a power of two"
check zero-alignment.gguf       GGUF_ERR_BAD_ALIGNMENT "general.alignment 0 is not a power of two"
check alignment-type.gguf       GGUF_ERR_BAD_VALUE "general.alignment is an int32"
check unaligned-offset.gguf     GGUF_ERR_BAD_ALIGNMENT "offset 16 of tensor 'w' is not a multiple of the alignment 32"
check offset-past-end.gguf      GGUF_ERR_BAD_OFFSET "tensor 'x' (F32, 256 bytes at offset 32) runs past the end"
check offset-overflow.gguf      GGUF_ERR_BAD_OFFSET "at offset 18446744073709551584) runs past the end"
check overlap.gguf              GGUF_ERR_OVERLAP "tensors 'w' (data bytes 0..64) and 'x' (bytes 32..48) overlap"
check unknown-type.gguf         GGUF_ERR_UNKNOWN_TYPE "unknown ggml type 99 for tensor 'w'"
check removed-type.gguf         GGUF_ERR_UNKNOWN_TYPE "unknown ggml type 4 for tensor 'w'"
check overflow-dims.gguf        GGUF_ERR_OVERFLOW "dimensions [4294967296, 4294967296] of tensor 'w' overflow"
check overflow-bytes.gguf       GGUF_ERR_OVERFLOW "the size of tensor 'w' (F32, dimensions [2147483648, 2147483648]) overflows"
check huge-dim.gguf             GGUF_ERR_BAD_SHAPE "above INT64_MAX"
check too-many-dims.gguf        GGUF_ERR_BAD_SHAPE "has 5 dimensions (at most 4)"
check partial-block.gguf        GGUF_ERR_BAD_SHAPE "not a multiple of the block size 32"
check duplicate-name.gguf       GGUF_ERR_DUPLICATE_TENSOR "duplicate tensor name 'w'"
OUT=""

# prefixes of a valid file: an error, never a crash (and never a success)
crashes=0
for len in 0 3 4 8 16 23 24 31 32 40 64 100 200 300 500 700 1000 1500 2000 3000 4095 20000 76000; do
    head -c "$len" "$GOOD" >"$WORK/prefix.gguf"
    "$PACK" -q -f "$WORK/prefix.gguf" "$WORK/prefix.ecqf" >/dev/null 2>&1
    rc=$?
    if [ $rc -ne 1 ]; then
        fail "a $len-byte prefix of good.gguf: exit status $rc"
        crashes=$((crashes + 1))
    fi
done
[ $crashes -eq 0 ] && pass "prefixes of good.gguf give an error, not a crash"

# the real model: Gemma 3 270M, Q4_K_M
MODEL=""
if [ -n "${ECQF_GGUF_MODEL:-}" ]; then
    MODEL=$ECQF_GGUF_MODEL
else
    cache=${ECQF_MODEL_CACHE:-${HOME:-/tmp}/.cache/ecqf-models}
    if [ "${ECQF_NO_DOWNLOAD:-0}" = 1 ] && [ ! -f "$cache/gemma3-270m/gemma-3-270m-q4_k_m.gguf.sha256" ]; then
        echo "SKIP: Gemma 3 270M: not in $cache and ECQF_NO_DOWNLOAD=1"
    else
        MODEL=$("$PYTHON3" "$top_srcdir/scripts/fetch-models" gemma3-270m 2>"$WORK/fetch.err") ||
            { echo "SKIP: Gemma 3 270M: scripts/fetch-models failed: $(tail -n 1 "$WORK/fetch.err")"; MODEL=""; }
    fi
fi
if [ -n "$MODEL" ] && [ -f "$MODEL" ]; then
    e="$WORK/gemma.ecqf"
    t=$(date +%s)
    opts=${ECQF_GEMMA_PACK_OPTS---fusable}
    # shellcheck disable=SC2086
    if "$PACK" -j 2 $opts "$MODEL" "$e" >"$WORK/gemma.txt" 2>&1; then
        sed 's/^/    /' "$WORK/gemma.txt"
        pass "Gemma 3 270M: pack -j2 $opts in $(($(date +%s) - t)) s"
        if "$INSPECT" -q --verify "$e" >"$WORK/verify.txt" 2>&1; then pass "Gemma 3 270M: inspect --verify"
        else fail "Gemma 3 270M: inspect --verify: $(cat "$WORK/verify.txt")"; fi
        if "$UNPACK" -q "$e" "$WORK/gemma.safetensors" 2>"$WORK/stderr"; then
            if "$PYTHON3" - "$WORK/gemma.safetensors" >"$WORK/st.txt" 2>&1 <<'EOF'
import json, os, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    h = json.loads(f.read(n))
h.pop("__metadata__", None)
end = max(e["data_offsets"][1] for e in h.values())
assert len(h) == 236, len(h)
assert h["token_embd.weight"]["shape"] == [262144, 640], h["token_embd.weight"]
assert h["blk.0.ffn_down.weight"]["shape"] == [640, 2048], h["blk.0.ffn_down.weight"]
assert 8 + n + end == os.path.getsize(sys.argv[1])
print("%d tensors, token_embd.weight [262144, 640]" % len(h))
EOF
            then pass "Gemma 3 270M: unpack: $(cat "$WORK/st.txt"), $(wc -c <"$WORK/gemma.safetensors") bytes"
            else fail "Gemma 3 270M: the unpacked safetensors: $(cat "$WORK/st.txt")"; fi
            rm -f "$WORK/gemma.safetensors"
        else
            fail "Gemma 3 270M: unpack: $(cat "$WORK/stderr")"
        fi
    else
        fail "Gemma 3 270M: pack -j2: $(cat "$WORK/gemma.txt")"
    fi
elif [ -n "$MODEL" ]; then
    echo "SKIP: Gemma 3 270M: $MODEL not found"
fi
finish
