#!/bin/sh
# Real client: the official safetensors package (pinned in scripts/python-requirements.lock,
# from scripts/pyenv). A synthetic model (edge cases) and stories260K, in F32 and in F16/BF16
# copies written by the package itself, are packed with six schemes; each pack is unpacked
# with the default dtype and --dtype f16, bf16 and f32, and tests/python/client_safetensors.py
# loads every file with the package and compares the values, as bit patterns, with the
# library's dequantization (the f32 output) rounded to nearest even, and unquantized tensors
# with the source.
# SKIP (77) when numpy/safetensors cannot be had; without stories260K only the synthetic model
# is used.
. "${top_srcdir:-${srcdir:-.}}/tests/clients/common.sh"

need_pyenv numpy safetensors
CHECK="$PYDIR/client_safetensors.py"

# sources: a synthetic F32 model (always) and its BF16 copy; stories260K when present, and its
# F16 and BF16 copies. The copies are written by the safetensors package.
"$PY" "$CHECK" make-synthetic "$WORK/synth-f32.safetensors" &&
    "$PY" "$CHECK" make-copies "$WORK/synth-f32.safetensors" "$WORK/synth" bf16 ||
    { echo "FAIL: writing the synthetic sources"; exit 1; }
sources="synth-f32 synth-bf16"
if [ -f "$STORIES" ]; then
    ln -s "$STORIES" "$WORK/stories-f32.safetensors" &&
        "$PY" "$CHECK" make-copies "$STORIES" "$WORK/stories" f16 bf16 ||
        { echo "FAIL: writing the F16/BF16 copies of stories260K"; exit 1; }
    sources="$sources stories-f32 stories-f16 stories-bf16"
else
    echo "note: $STORIES not found (set ECQF_MODELS_DIR): synthetic sources only"
fi
status=0
for src in $sources; do
    in="$WORK/$src.safetensors"
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
        if ! "$PACK" -q -j "$JOBS" "$@" "$in" "$d/p.ecqf" 2>"$d/pack.err"; then
            cat "$d/pack.err"
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
