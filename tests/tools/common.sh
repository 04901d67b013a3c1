# common.sh — sourced by the tools tests (tests/tools/*.sh). Not a test itself.
#
# Environment (set by tests/local.mk; defaults let a script run by hand from the build
# directory): top_builddir, top_srcdir, ECQF_MODELS_DIR, PYTHON3.
set -u

: "${srcdir:=.}"
: "${top_srcdir:=$srcdir}"
: "${top_builddir:=.}"
: "${ECQF_MODELS_DIR:=$top_srcdir/../shared/models}"
: "${PYTHON3:=python3}"
TOOLS="$top_builddir/tools"
PACK="$TOOLS/ecqf-pack"
INSPECT="$TOOLS/ecqf-inspect"
UNPACK="$TOOLS/ecqf-unpack"
HERE="$top_srcdir/tests/tools"

for t in "$PACK" "$INSPECT" "$UNPACK"; do
    if [ ! -x "$t" ]; then
        echo "FAIL: $t is not built" >&2
        exit 99
    fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ecqf-tools-test.XXXXXX") || exit 99
trap 'rm -rf "$WORK"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
pass() {
    echo "ok: $*"
}

need_python() {
    if ! command -v "$PYTHON3" >/dev/null 2>&1; then
        echo "SKIP: python3 not found (needed to generate the test inputs)"
        exit 77
    fi
}

# expect_error LABEL EXPECTED_TEXT... -- CMD ARGS...
# The command must exit with status 1 (an error, not a crash: no signal, no status >= 2
# except 2 for usage), write nothing to OUT (if $OUT is set), and print every expected text
# (grep -F, case-sensitive) on stderr.
expect_error() {
    label=$1
    shift
    texts=""
    while [ "$1" != "--" ]; do
        texts="$texts
$1"
        shift
    done
    shift
    "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    rc=$?
    if [ $rc -ne 1 ]; then
        fail "$label: exit status $rc, expected 1 ($*)"
        sed 's/^/    /' "$WORK/stderr" >&2
        return
    fi
    ok=1
    old_ifs=$IFS
    IFS='
'
    for t in $texts; do
        [ -z "$t" ] && continue
        if ! grep -F -q -- "$t" "$WORK/stderr"; then
            fail "$label: stderr lacks '$t'"
            ok=0
        fi
    done
    IFS=$old_ifs
    if [ -n "${OUT:-}" ] && [ -e "$OUT" ]; then
        fail "$label: $OUT was created"
        ok=0
    fi
    if [ $ok -eq 1 ]; then
        pass "$label: $(head -n 1 "$WORK/stderr")"
    else
        sed 's/^/    /' "$WORK/stderr" >&2
    fi
}

# pack_roundtrip LABEL SRC EXPECTED MIN_SQNR PACK-OPTIONS...
# ecqf-pack SRC with the options, inspect --verify, --json and --hashes, unpack to f32 and to the
# native dtypes; check_unpack.py then compares with EXPECTED (a safetensors file or directory
# holding what SRC means): unquantized tensors bit for bit, quantized ones equal to the library's
# dequantization and at least MIN_SQNR dB ("-": check_unpack.py's default) from the source.
pack_roundtrip() {
    label=$1
    src=$2
    exp=$3
    minsqnr=$4
    shift 4
    opts=$*
    e="$WORK/$label.ecqf"
    if ! "$PACK" -q "$@" "$src" "$e" 2>"$WORK/stderr"; then
        fail "$label: pack $*: $(cat "$WORK/stderr")"
        return
    fi
    if ! "$INSPECT" -q --verify "$e" >"$WORK/verify.txt" 2>&1; then
        fail "$label: inspect --verify: $(cat "$WORK/verify.txt")"
        return
    fi
    "$INSPECT" --json "$e" >"$WORK/$label.json" || { fail "$label: inspect --json"; return; }
    "$INSPECT" --hashes "$e" >"$WORK/$label.hashes" || { fail "$label: inspect --hashes"; return; }
    "$UNPACK" -q --dtype f32 "$e" "$WORK/$label.f32.safetensors" || { fail "$label: unpack --dtype f32"; return; }
    "$UNPACK" -q "$e" "$WORK/$label.native.safetensors" || { fail "$label: unpack"; return; }
    set -- --src "$exp" --json "$WORK/$label.json" --hashes "$WORK/$label.hashes" \
        --f32 "$WORK/$label.f32.safetensors" --native "$WORK/$label.native.safetensors"
    [ "$minsqnr" = - ] || set -- "$@" --min-sqnr "$minsqnr"
    if "$PYTHON3" "$HERE/check_unpack.py" "$@" >"$WORK/check.txt" 2>&1; then
        pass "$label ($opts): $(tail -n 1 "$WORK/check.txt"); $(wc -c <"$e") bytes"
    else
        fail "$label ($opts):"
        sed 's/^/    /' "$WORK/check.txt" >&2
    fi
}

finish() {
    if [ $failures -ne 0 ]; then
        echo "$failures failure(s)" >&2
        exit 1
    fi
    exit 0
}
