#!/bin/sh
# Bad safetensors inputs: each gets a clear error (the ST_ERR_* name, the file, what is wrong)
# and exit status 1 from ecqf-pack (and ecqf-inspect --against), never a crash, and no output.
. "${srcdir:-.}/tests/tools/common.sh"
need_python
B="$WORK/bad"
"$PYTHON3" "$HERE/mkbad.py" "$B" || exit 99
OUT="$WORK/out.ecqf"

check() { # NAME ERROR_NAME TEXT
    expect_error "$1" "$2" "$3" "$B/$1" -- "$PACK" -q "$B/$1" "$OUT"
}

check truncated.safetensors            ST_ERR_TRUNCATED "run past the end"
check truncated-header.safetensors     ST_ERR_TRUNCATED "header length"
check truncated-length.safetensors     ST_ERR_TRUNCATED "too short"
check huge-header.safetensors          ST_ERR_HEADER_TOO_LARGE "18446744073709551615"
check huge-header-cap.safetensors      ST_ERR_HEADER_TOO_LARGE "exceeds the limit"
check overlap.safetensors              ST_ERR_OVERLAP "overlap tensor 'x'"
check hole.safetensors                 ST_ERR_HOLE "covered by no tensor"
check hole-tail.safetensors            ST_ERR_HOLE "end of the data buffer"
check unknown-dtype.safetensors        ST_ERR_UNKNOWN_DTYPE "unknown dtype 'Q7' for tensor 'x'"
check unsupported-dtype.safetensors    ST_ERR_UNSUPPORTED_DTYPE "unsupported dtype I8 for tensor 'x'"
check overflow-shape.safetensors       ST_ERR_OVERFLOW "overflows"
check overflow-bytes.safetensors       ST_ERR_OVERFLOW "overflows"
check size-mismatch.safetensors        ST_ERR_SIZE_MISMATCH "need 12"
check bad-utf8-name.safetensors        ST_ERR_BAD_UTF8 "ill-formed UTF-8"
check bad-surrogate-name.safetensors   ST_ERR_BAD_UTF8 "surrogate"
check duplicate-key.safetensors        ST_ERR_DUPLICATE_KEY "duplicate key 'x'"
check bad-json.safetensors             ST_ERR_BAD_JSON "expected a string key"
check trailing-json.safetensors        ST_ERR_BAD_JSON "after the JSON object"
check missing-shard                    ST_ERR_MISSING_SHARD "model-00002-of-00002.safetensors does not exist"
check missing-shard/model.safetensors.index.json ST_ERR_MISSING_SHARD "does not exist"
check missing-shard-noindex            ST_ERR_MISSING_SHARD "shard 1 of 2"
expect_error "unsupported dtype in a real model" "unsupported dtype I64 for tensor 'position_ids'" \
    "--skip-unsupported" -- "$PACK" -q "$B/with-i64.safetensors" "$OUT"
expect_error "nonexistent input" ST_ERR_NOT_FOUND "$B/nope.safetensors" -- \
    "$PACK" -q "$B/nope.safetensors" "$OUT"

# the same reader guards ecqf-inspect --against
"$PACK" -q "$B/good.safetensors" "$WORK/good.ecqf" || fail "packing good.safetensors"
OUT=""
expect_error "inspect --against overlap" ST_ERR_OVERLAP -- \
    "$INSPECT" --against "$B/overlap.safetensors" "$WORK/good.ecqf"

# a truncated or corrupted ECQF file: clear errors from inspect and unpack
head -c 200 "$WORK/good.ecqf" >"$WORK/trunc.ecqf"
expect_error "inspect truncated ecqf" ECQF_ERR_ -- "$INSPECT" --verify "$WORK/trunc.ecqf"
OUT="$WORK/trunc.safetensors"
expect_error "unpack truncated ecqf" ECQF_ERR_ -- "$UNPACK" "$WORK/trunc.ecqf" "$OUT"
OUT=""
"$INSPECT" --hashes "$WORK/trunc.ecqf" >"$WORK/h.txt" 2>/dev/null
rc=$?
if [ $rc -eq 1 ] && grep -q '^error ECQF_ERR_[A-Z_]* ' "$WORK/h.txt" && [ "$(wc -l <"$WORK/h.txt")" -eq 1 ]; then
    pass "inspect --hashes truncated: $(cat "$WORK/h.txt")"
else
    fail "inspect --hashes on a truncated file: status $rc, output: $(cat "$WORK/h.txt")"
fi
# flip one byte inside the first blob (header 96 bytes, blob at 128): a checksum error from --verify and --hashes
cp "$WORK/good.ecqf" "$WORK/flip.ecqf"
printf '\377' | dd of="$WORK/flip.ecqf" bs=1 seek=129 conv=notrunc 2>/dev/null
expect_error "inspect --verify corrupted blob" ECQF_ERR_BLOB_CHECKSUM -- "$INSPECT" --verify "$WORK/flip.ecqf"
"$INSPECT" --hashes "$WORK/flip.ecqf" >"$WORK/h.txt" 2>/dev/null
if [ $? -eq 1 ] && grep -q '^error ECQF_ERR_BLOB_CHECKSUM ' "$WORK/h.txt"; then
    pass "inspect --hashes corrupted blob"
else
    fail "inspect --hashes corrupted blob: $(cat "$WORK/h.txt")"
fi

# usage errors: status 2, never 1 or a crash
usage() { # LABEL CMD...
    label=$1
    shift
    "$@" >/dev/null 2>"$WORK/stderr"
    rc=$?
    if [ $rc -eq 2 ]; then pass "usage: $label: $(head -n 1 "$WORK/stderr")"
    else fail "usage: $label: status $rc"; fi
}
usage "--bits 9" "$PACK" --scheme affine --bits 9 "$B/good.safetensors" "$WORK/u.ecqf"
usage "--group 48" "$PACK" --scheme affine --group 48 "$B/good.safetensors" "$WORK/u.ecqf"
usage "--bits with ecsq" "$PACK" --bits 4 "$B/good.safetensors" "$WORK/u.ecqf"
usage "--bpw and --sqnr" "$PACK" --bpw 3 --sqnr 20 "$B/good.safetensors" "$WORK/u.ecqf"
usage "--align 100" "$PACK" --align 100 "$B/good.safetensors" "$WORK/u.ecqf"
usage "--keep bad regex" "$PACK" --keep '(' "$B/good.safetensors" "$WORK/u.ecqf"
usage "--coding foo" "$PACK" --coding foo "$B/good.safetensors" "$WORK/u.ecqf"
usage "-j 0" "$PACK" -j 0 "$B/good.safetensors" "$WORK/u.ecqf"
usage "one operand" "$PACK" "$B/good.safetensors"
usage "unknown option" "$INSPECT" --frobnicate "$WORK/good.ecqf"
usage "--dtype f64" "$UNPACK" --dtype f64 "$WORK/good.ecqf" "$WORK/u.safetensors"
for t in "$PACK" "$INSPECT" "$UNPACK"; do
    if "$t" --help | grep -q '^SYNOPSIS' && "$t" --version | grep -q 'ECQF'; then
        pass "$(basename "$t") --help and --version"
    else
        fail "$(basename "$t") --help or --version"
    fi
done
finish
