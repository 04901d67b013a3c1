#!/bin/sh
# make check wrapper for tests/python/test_mlx_affine.py: ECQF's affine quantizer must give
# the same codes, scales and biases as MLX's mx.quantize, bit for bit.
#
# MLX comes from, in order: $ECQF_MLX_PYTHON (an interpreter that imports mlx), the python3
# on PATH if it imports mlx, or a one-time `pip install --target` of the pinned, hash-checked
# wheels of scripts/models.lock into $ECQF_MODEL_CACHE/mlx-0.32.4-cpXY (default cache
# ~/.cache/ecqf-models; ECQF_NO_DOWNLOAD=1 forbids the install). Without MLX the test prints
# "SKIP: mlx not installable" and exits 77, which automake reports as SKIP.
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

pypath=""
if ! "$py" -c "import mlx.core" >/dev/null 2>&1; then
    cache=${ECQF_MODEL_CACHE:-${HOME:-/tmp}/.cache/ecqf-models}
    pyver=$("$py" -c 'import sys; print("%d%d" % sys.version_info[:2])') || skip "python"
    dir="$cache/mlx-0.32.4-cp$pyver"
    if [ ! -f "$dir/.installed" ]; then
        [ "${ECQF_NO_DOWNLOAD:-0}" = 1 ] && skip "ECQF_NO_DOWNLOAD=1"
        lock="$top/scripts/models.lock"
        [ -f "$lock" ] || skip "no scripts/models.lock"
        mkdir -p "$cache" || skip "cannot create $cache"
        req="$cache/.mlx-req.$$.txt"
        # one requirement per package, every pinned wheel hash of it
        awk '$1 == "wheel" && $2 == "mlx" { h[$3] = h[$3] " --hash=" $5 }
             END { for (r in h) print r h[r] }' "$lock" > "$req"
        rm -rf "$dir.tmp"
        to=""
        command -v timeout >/dev/null 2>&1 && to="timeout 600"
        if $to "$py" -m pip install -q --disable-pip-version-check --no-deps --only-binary=:all: \
                --require-hashes --target "$dir.tmp" -r "$req" >"$cache/.mlx-pip.log" 2>&1; then
            rm -rf "$dir" && mv "$dir.tmp" "$dir" && touch "$dir/.installed"
        else
            rm -rf "$dir.tmp" "$req"
            skip "pip install failed: $(tail -n 1 "$cache/.mlx-pip.log")"
        fi
        rm -f "$req"
    fi
    pypath="$dir"
fi

PYTHONPATH="$pypath${PYTHONPATH:+:$PYTHONPATH}" \
    exec "$py" "$top/tests/python/test_mlx_affine.py" --quantdump "$qd" --model "$model"
