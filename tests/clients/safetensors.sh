#!/bin/sh
# Real client: the official safetensors package (pinned in scripts/python-requirements.lock,
# from scripts/pyenv). stories260K in F32, and F16 and BF16 copies written by the package
# itself, are packed with several schemes; each pack is unpacked with the default dtype and
# --dtype f16, bf16 and f32, and tests/python/client_safetensors.py loads every file with the
# package and compares the values, as bit patterns, with the library's dequantization (the
# f32 output) rounded to nearest even, and unquantized tensors with the source.
# SKIP (77) when numpy/safetensors or the model cannot be had.
. "${top_srcdir:-${srcdir:-.}}/tests/clients/common.sh"

[ -f "$STORIES" ] || skip "$STORIES not found (set ECQF_MODELS_DIR)"
need_pyenv numpy safetensors
CHECK="$PYDIR/client_safetensors.py"

"$PY" "$CHECK" make-sources "$STORIES" "$WORK" || { echo "FAIL: writing the F16/BF16 sources"; exit 1; }
status=0
for src in f32 f16 bf16; do
    if [ $src = f32 ]; then in=$STORIES; else in="$WORK/$src.safetensors"; fi
    dirs=""
    for scheme in "ecsq" "ecsq-row --per-row" "affine4g64 --scheme affine --bits 4 --group 64" \
                  "affine3g32 --scheme affine --bits 3 --group 32" "q4_0 --scheme symmetric --bits 4 --group 32" \
                  "q8_0 --scheme symmetric --bits 8 --group 32"; do
        # shellcheck disable=SC2086 # the words are the label and the options
        set -- $scheme
        label="$src-$1"
        shift
        d="$WORK/$label"
        mkdir "$d"
        if ! "$PACK" -q -j "$JOBS" "$@" "$in" "$d/p.ecqf"; then
            echo "FAIL: $label: ecqf-pack $*"; status=1; continue
        fi
        ok=1
        "$UNPACK" -q "$d/p.ecqf" "$d/default.safetensors" || ok=0
        for dt in f16 bf16 f32; do
            "$UNPACK" -q --dtype $dt "$d/p.ecqf" "$d/$dt.safetensors" || ok=0
        done
        "$INSPECT" --json --against "$in" "$d/p.ecqf" > "$d/inspect.json" || ok=0
        if [ $ok = 0 ]; then echo "FAIL: $label: ecqf-unpack/inspect"; status=1; continue; fi
        dirs="$dirs $label=$d"
    done
    # shellcheck disable=SC2086
    "$PY" "$CHECK" check "$in" $dirs || status=1
done
echo "time: $(elapsed) s"
exit $status
