#!/bin/sh
# make check: the committed vectors and manifest are exactly what the generator makes now, and
# conformance/local.mk distributes every one of them. Regenerate with conformance/gen/regen.
#
# Only the bytes of libzstd-compressed frames depend on the libzstd version. When the libzstd
# in use differs from the one recorded in the manifest, vectors marked "zstd_dependent" are
# allowed to differ (and reported), and the manifest is compared without its libzstd line.
set -u
srcdir=${srcdir:-.}
gen=./conformance/gen/ecqf-conformance-gen
src=$srcdir/conformance
out=$(mktemp -d "${TMPDIR:-/tmp}/ecqf-conformance.XXXXXX") || exit 99
trap 'rm -rf "$out"' EXIT INT TERM
"$gen" "$out" || { echo "FAIL: the generator failed"; exit 1; }
"$gen" --list > "$out/list" || exit 99
"$gen" --list-zstd > "$out/list-zstd" || exit 99
built_zstd=$("$gen" --zstd-version)
committed_zstd=$(sed -n 's/.*"libzstd": "\([^"]*\)".*/\1/p' "$src/manifest.json")
status=0
checked=0
while read -r f; do
    checked=$((checked + 1))
    if ! test -f "$src/$f"; then
        echo "FAIL: $f is generated but not committed (run conformance/gen/regen)"
        status=1
    elif ! cmp -s "$out/$f" "$src/$f"; then
        if test "$built_zstd" != "$committed_zstd" && grep -qx "$f" "$out/list-zstd"; then
            echo "note: $f differs, but it holds libzstd output and libzstd is $built_zstd here, $committed_zstd in the manifest"
        elif test "$f" = manifest.json && test "$built_zstd" != "$committed_zstd" &&
             grep -v '"libzstd"' "$out/$f" > "$out/m1" && grep -v '"libzstd"' "$src/$f" > "$out/m2" && cmp -s "$out/m1" "$out/m2"; then
            echo "note: manifest.json differs only in the libzstd version"
        else
            echo "FAIL: $f differs from what the generator makes now (run conformance/gen/regen)"
            status=1
        fi
    fi
    case $f in
    vectors/*)
        grep -q "conformance/$f" "$src/local.mk" || { echo "FAIL: conformance/local.mk does not distribute $f"; status=1; } ;;
    esac
done < "$out/list"
for f in "$src"/vectors/valid/*.ecqf "$src"/vectors/invalid/*.ecqf; do
    test -e "$f" || continue
    rel=vectors/${f#"$src"/vectors/}
    grep -qx "$rel" "$out/list" || { echo "FAIL: $rel is committed but no case makes it"; status=1; }
done
echo "$checked files compared"
exit $status
