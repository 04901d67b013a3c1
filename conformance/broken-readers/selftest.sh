#!/bin/sh
# make check: the suite catches broken readers. Each deliberately broken reader must FAIL the
# suite (non-zero exit, "N passed, M failed" with M >= 1), and fail the vectors that target
# its bug:
#   skip-checksums   (never verifies a checksum)        header-checksum-*, blob-checksum-*
#   ignore-reserved  (ignores the tensor entry's reserved u16, [T-6])   entry-reserved*
srcdir=${srcdir:-.}
command -v python3 > /dev/null 2>&1 || { echo "SKIP: python3 is missing"; exit 77; }
case $srcdir in *\'*) echo "SKIP: a quote in the source path"; exit 77 ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ecqf-broken.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
status=0

check() { # NAME READER-COMMAND VECTOR-IDS...
    name=$1 reader=$2
    shift 2
    python3 "$srcdir/conformance/run" --quiet --reader "$reader" --manifest "$srcdir/conformance/manifest.json" > "$tmp/$name.out" 2>&1
    rc=$?
    summary=$(tail -n 1 "$tmp/$name.out")
    if test $rc -eq 0; then
        echo "FAIL: broken reader $name passes the suite ($summary)"
        status=1
    elif ! echo "$summary" | grep -Eq '^[0-9]+ passed, [1-9][0-9]* failed$'; then
        echo "FAIL: broken reader $name: the runner did not report failures (exit $rc): $summary"
        cat "$tmp/$name.out"
        status=1
    else
        echo "ok: broken reader $name fails the suite: $summary"
    fi
    for id in "$@"; do
        if grep -Eq "^FAIL +[a-z]+ +$id( |\$)" "$tmp/$name.out"; then
            echo "ok:   $name fails $id"
        else
            echo "FAIL: broken reader $name is not caught by $id"
            status=1
        fi
    done
}

check skip-checksums "./conformance/broken-readers/skip-checksums" \
    header-checksum-flipped header-checksum-without-directory header-checksum-before-directory \
    blob-checksum-first blob-checksum-last blob-checksum-empty blob-data-flipped blob-checksum-before-decode
check ignore-reserved "python3 '$srcdir/conformance/broken-readers/ignore-reserved' ./conformance/gen/ecqf-conformance-reader" \
    entry-reserved entry-reserved-high
exit $status
