#!/bin/sh
# make check: the conformance suite against the second reader, conformance/pyreader (written
# from the spec alone). Skipped (77) without python3. Its known failures are listed in
# conformance/known-failures/pyreader.txt.
srcdir=${srcdir:-.}
command -v python3 > /dev/null 2>&1 || { echo "SKIP: python3 is missing"; exit 77; }
test -f "$srcdir/conformance/pyreader/ecqf_reader.py" || { echo "SKIP: conformance/pyreader is missing"; exit 77; }
case $srcdir in *\'*) echo "SKIP: a quote in the source path"; exit 77 ;; esac
exec python3 "$srcdir/conformance/run" --reader "python3 '$srcdir/conformance/pyreader/ecqf_reader.py'" \
    --manifest "$srcdir/conformance/manifest.json" --known-failures "$srcdir/conformance/known-failures/pyreader.txt"
