#!/bin/sh
# make check: the conformance suite against libecqf, through tools/ecqf-inspect --hashes.
# Known failures (reader bugs the suite found) are listed in conformance/known-failures/libecqf.txt.
srcdir=${srcdir:-.}
command -v python3 > /dev/null 2>&1 || { echo "SKIP: python3 is missing"; exit 77; }
exec python3 "$srcdir/conformance/run" --reader "./tools/ecqf-inspect --hashes" \
    --manifest "$srcdir/conformance/manifest.json" --known-failures "$srcdir/conformance/known-failures/libecqf.txt"
