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

finish() {
    if [ $failures -ne 0 ]; then
        echo "$failures failure(s)" >&2
        exit 1
    fi
    exit 0
}
