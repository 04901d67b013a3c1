#!/bin/sh
# make check: every MUST clause of spec/ecqf.md is cited by a vector, and every error name of
# section 11 is expected by an invalid vector.
srcdir=${srcdir:-.}
command -v python3 > /dev/null 2>&1 || { echo "SKIP: python3 is missing"; exit 77; }
exec python3 "$srcdir/conformance/must-coverage" --spec "$srcdir/spec/ecqf.md" --manifest "$srcdir/conformance/manifest.json"
