#!/bin/sh
# make check: the conformance suite against libecqf, through the minimal protocol adapter
# conformance/gen/ecqf-conformance-reader (public API only).
srcdir=${srcdir:-.}
command -v python3 > /dev/null 2>&1 || { echo "SKIP: python3 is missing"; exit 77; }
exec python3 "$srcdir/conformance/run" --reader "./conformance/gen/ecqf-conformance-reader" \
    --manifest "$srcdir/conformance/manifest.json" --known-failures "$srcdir/conformance/known-failures/libecqf.txt"
