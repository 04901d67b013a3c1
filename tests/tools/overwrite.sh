#!/bin/sh
# An existing output is never replaced without --force (ecqf-pack and ecqf-unpack), and with
# --force it is.
. "${srcdir:-.}/tests/tools/common.sh"
need_python
"$PYTHON3" "$HERE/mkbad.py" "$WORK/in" || exit 99
IN="$WORK/in/good.safetensors"

echo "precious" >"$WORK/out.ecqf"
expect_error "pack onto an existing file" "output file exists" "--force" -- \
    "$PACK" -q "$IN" "$WORK/out.ecqf"
[ "$(cat "$WORK/out.ecqf")" = "precious" ] || fail "pack changed the existing output"
"$PACK" -q --force "$IN" "$WORK/out.ecqf" || fail "pack --force"
"$INSPECT" -q --verify "$WORK/out.ecqf" >/dev/null || fail "the forced output does not verify"

echo "precious" >"$WORK/out.safetensors"
expect_error "unpack onto an existing file" "output file exists" "--force" -- \
    "$UNPACK" -q "$WORK/out.ecqf" "$WORK/out.safetensors"
[ "$(cat "$WORK/out.safetensors")" = "precious" ] || fail "unpack changed the existing output"
"$UNPACK" -q -f "$WORK/out.ecqf" "$WORK/out.safetensors" || fail "unpack --force"
"$PACK" -q "$WORK/out.safetensors" "$WORK/again.ecqf" || fail "the unpacked file does not load"

# no temporary files are left behind, whatever happened
left=$(ls -A "$WORK" | grep -c '\.tmp' || true)
[ "$left" -eq 0 ] || fail "temporary files left: $(ls -A "$WORK")"
[ $failures -eq 0 ] && pass "no temporary files left"
finish
