# mlx-env.sh — sourced (not a test): find or install MLX for a Python interpreter.
#
#   mlx_env PY TOP
#
# PY is the interpreter that will import mlx, TOP the source tree. On success mlx_env returns 0
# and sets MLX_PYTHONPATH: empty when PY imports mlx already, else a folder to put on
# PYTHONPATH. Otherwise it returns 1 and sets MLX_SKIP to the reason (callers print
# "SKIP: mlx not installable ($MLX_SKIP)" and exit 77).
#
# MLX comes from the pinned, hash-checked wheels of TOP/scripts/models.lock (group "mlx":
# mlx and mlx-cpu, Linux CPU backend), installed once with `pip install --target` into
# $ECQF_MODEL_CACHE/mlx-VERSION-cpXY (default cache ~/.cache/ecqf-models). pip is PY's own,
# or, when PY has none (Debian's python3 without python3-pip), that of the virtual environment
# scripts/pyenv makes for the same Python version. Concurrent callers (make check -j) wait for
# one installer; after a failed attempt, callers in the next 10 minutes give up at once (the
# reason is kept in mlx-VERSION-cpXY.failed; delete it to retry sooner). ECQF_NO_DOWNLOAD=1
# forbids the install.
# Used by tests/test_mlx_affine.sh and tests/clients/mlx-matmul.sh.

# shellcheck disable=SC2034 # MLX_PYTHONPATH and MLX_SKIP are for the caller
mlx_env() {
    _mlx_py=$1
    _mlx_top=$2
    MLX_PYTHONPATH=""
    MLX_SKIP=""
    if "$_mlx_py" -c "import mlx.core" >/dev/null 2>&1; then
        return 0
    fi
    _mlx_cache=${ECQF_MODEL_CACHE:-${HOME:-/tmp}/.cache/ecqf-models}
    _mlx_lock="$_mlx_top/scripts/models.lock"
    if [ ! -f "$_mlx_lock" ]; then MLX_SKIP="no scripts/models.lock"; return 1; fi
    _mlx_pyver=$("$_mlx_py" -c 'import sys; print("%d%d" % sys.version_info[:2])' 2>/dev/null)
    if [ -z "$_mlx_pyver" ]; then MLX_SKIP="$_mlx_py does not run"; return 1; fi
    _mlx_ver=$(awk '$1 == "wheel" && $2 == "mlx" && $3 ~ /^mlx==/ { sub(/^mlx==/, "", $3); print $3; exit }' "$_mlx_lock")
    _mlx_dir="$_mlx_cache/mlx-$_mlx_ver-cp$_mlx_pyver"
    if [ -f "$_mlx_dir/.installed" ]; then
        MLX_PYTHONPATH=$_mlx_dir
        return 0
    fi
    if [ "${ECQF_NO_DOWNLOAD:-0}" = 1 ]; then MLX_SKIP="ECQF_NO_DOWNLOAD=1"; return 1; fi
    _mlx_failed="$_mlx_dir.failed"
    if ! mkdir -p "$_mlx_cache" 2>/dev/null; then MLX_SKIP="cannot create $_mlx_cache"; return 1; fi

    # one installer at a time; a lock older than 20 minutes is taken over
    _mlx_waited=0
    while ! mkdir "$_mlx_dir.lock" 2>/dev/null; do
        if [ -f "$_mlx_dir/.installed" ]; then
            MLX_PYTHONPATH=$_mlx_dir
            return 0
        fi
        if [ -n "$(find "$_mlx_dir.lock" -prune -mmin +20 2>/dev/null)" ]; then
            rm -rf "$_mlx_dir.lock"
            continue
        fi
        if [ $_mlx_waited -ge 1200 ]; then MLX_SKIP="timed out waiting for $_mlx_dir.lock"; return 1; fi
        sleep 2
        _mlx_waited=$((_mlx_waited + 2))
    done
    if [ -f "$_mlx_dir/.installed" ]; then
        rm -rf "$_mlx_dir.lock"
        MLX_PYTHONPATH=$_mlx_dir
        return 0
    fi
    if [ -f "$_mlx_failed" ] && [ -z "$(find "$_mlx_failed" -mmin +10 2>/dev/null)" ]; then
        rm -rf "$_mlx_dir.lock"
        MLX_SKIP="an install attempt failed less than 10 minutes ago ($(cat "$_mlx_failed")); delete $_mlx_failed to retry"
        return 1
    fi
    _mlx_pip=$_mlx_py
    if ! "$_mlx_pip" -m pip --version >/dev/null 2>&1; then
        _mlx_pip=$(PYTHON3=$_mlx_py sh "$_mlx_top/scripts/pyenv" 2>/dev/null) || _mlx_pip=""
        if [ -z "$_mlx_pip" ]; then
            rm -rf "$_mlx_dir.lock"
            MLX_SKIP="no pip for $_mlx_py, and scripts/pyenv could not make a virtual environment"
            return 1
        fi
    fi
    _mlx_req="$_mlx_cache/.mlx-req.$$.txt"
    # one requirement per package, with every pinned wheel hash of it
    awk '$1 == "wheel" && $2 == "mlx" { h[$3] = h[$3] " --hash=" $5 }
         END { for (r in h) print r h[r] }' "$_mlx_lock" > "$_mlx_req"
    _mlx_tmp="$_mlx_dir.tmp.$$"
    rm -rf "$_mlx_tmp"
    _mlx_to=""
    command -v timeout >/dev/null 2>&1 && _mlx_to="timeout 600"
    if $_mlx_to "$_mlx_pip" -m pip install -q --disable-pip-version-check --no-deps --only-binary=:all: \
            --require-hashes --target "$_mlx_tmp" -r "$_mlx_req" >"$_mlx_cache/.mlx-pip.log" 2>&1; then
        rm -rf "$_mlx_dir" && mv "$_mlx_tmp" "$_mlx_dir" && touch "$_mlx_dir/.installed" &&
            echo "note: installed MLX $_mlx_ver (pinned wheels of scripts/models.lock) into $_mlx_dir"
    fi
    rm -rf "$_mlx_tmp" "$_mlx_req"
    if [ ! -f "$_mlx_dir/.installed" ]; then
        MLX_SKIP="pip install failed: $(grep -v '^ *$' "$_mlx_cache/.mlx-pip.log" | tail -n 1)"
        echo "$MLX_SKIP" > "$_mlx_failed"
        rm -rf "$_mlx_dir.lock"
        return 1
    fi
    rm -rf "$_mlx_failed" "$_mlx_dir.lock"
    MLX_PYTHONPATH=$_mlx_dir
    return 0
}
