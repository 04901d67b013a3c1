#!/bin/sh
# Real client: MLX. An affine 4-bit g64 pack, written by `ecqf-unpack --mlx`, loads with
# mx.load, and mx.quantized_matmul on it matches the library's dequantized GEMV (float64 from
# `ecqf-unpack --dtype f32`) within 1e-4 of sum|w*x| (tests/python/client_mlx_matmul.py).
# Models: a synthetic one (tests/python/client_safetensors.py make-synthetic: Gaussian, heavy
# tails, rows from 1e-7 to 7e4, zeros), stories260K ($ECQF_MODELS_DIR) when present, and
# MiniLM-L6 when scripts/fetch-models can have it. numpy and safetensors come from
# scripts/pyenv, MLX from tests/clients/mlx-env.sh (pinned wheels of scripts/models.lock).
# SKIP (77) when either cannot be had.
. "${top_srcdir:-${srcdir:-.}}/tests/clients/common.sh"
. "$top_srcdir/tests/clients/mlx-env.sh"

need_pyenv numpy safetensors
mlx_env "$PY" "$top_srcdir" || skip "mlx not installable ($MLX_SKIP)"
PYP="$MLX_PYTHONPATH${PYTHONPATH:+:$PYTHONPATH}"
echo "mlx: ${MLX_PYTHONPATH:-imported by $PY as installed}"

"$PY" "$PYDIR/client_safetensors.py" make-synthetic "$WORK/synth.safetensors" ||
    { echo "FAIL: writing the synthetic model"; exit 1; }
models="synthetic=$WORK/synth.safetensors"
if [ -f "$STORIES" ]; then models="$models stories260K=$STORIES"; else echo "note: $STORIES not found"; fi
if find_minilm; then models="$models MiniLM-L6=$MINILM"; else echo "note: MiniLM-L6 not used: $MINILM_WHY"; fi

status=0
for m in $models; do
    label=${m%%=*}
    src=${m#*=}
    e="$WORK/$label.ecqf"
    "$PACK" -q -j "$JOBS" --skip-unsupported --scheme affine --bits 4 --group 64 "$src" "$e" &&
        "$UNPACK" -q --mlx "$e" "$WORK/$label-mlx.safetensors" &&
        "$UNPACK" -q --dtype f32 "$e" "$WORK/$label-f32.safetensors" ||
        { echo "FAIL: $label: pack/unpack failed"; status=1; continue; }
    PYTHONPATH=$PYP "$PY" "$PYDIR/client_mlx_matmul.py" "$label" \
        "$WORK/$label-mlx.safetensors" "$WORK/$label-f32.safetensors" --bits 4 --group 64
    rc=$?
    [ $rc -eq 77 ] && exit 77
    [ $rc -eq 0 ] || status=1
    rm -f "$WORK/$label"*
done
echo "time: $(elapsed) s"
exit $status
