#!/bin/sh
# make check wrapper for tests/python/test_mlx_affine.py: ECQF's affine quantizer must give
# the same codes, scales and biases as MLX's mx.quantize, bit for bit.
#
# MLX comes from, in order: $ECQF_MLX_PYTHON (an interpreter that imports mlx), the python3
# on PATH if it imports mlx, or a one-time `pip install --target` of the pinned, hash-checked
# wheels of scripts/models.lock into $ECQF_MODEL_CACHE/mlx-0.32.4-cpXY (default cache
# ~/.cache/ecqf-models; ECQF_NO_DOWNLOAD=1 forbids the install), done by
# tests/clients/mlx-env.sh. Without MLX the test prints "SKIP: mlx not installable" and
# exits 77, which automake reports as SKIP.
set -u
srcdir=${srcdir:-.}
top=$(cd "$srcdir" && pwd)
qd=${ECQF_QUANTDUMP:-./tests/quantdump}
py=${ECQF_MLX_PYTHON:-python3}
model=${ECQF_STORIES:-$top/../shared/models/stories260K.safetensors}
skip() { echo "SKIP: mlx not installable ($1)"; exit 77; }

command -v "$py" >/dev/null 2>&1 || skip "no $py"
[ -x "$qd" ] || { echo "FAIL: $qd not built"; exit 1; }
[ -f "$model" ] || echo "note: $model not found; comparing synthetic data only"

# the install (lock, pip, cache folder) is shared with tests/clients/mlx-matmul.sh
. "$top/tests/clients/mlx-env.sh"
mlx_env "$py" "$top" || skip "$MLX_SKIP"
pypath=$MLX_PYTHONPATH

PYTHONPATH="$pypath${PYTHONPATH:+:$PYTHONPATH}" \
    exec "$py" "$top/tests/python/test_mlx_affine.py" --quantdump "$qd" --model "$model"
