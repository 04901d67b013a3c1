#!/bin/sh
# Real client: downstream quality. MiniLM-L6 (all-MiniLM-L6-v2, from scripts/fetch-models) is
# run by scripts/minilm_quality.py (numpy forward pass, standard-library WordPiece) on 16 fixed
# sentences with the original weights and with each scheme's dequantized weights (ECSQ
# default, MLX-style affine 4-bit g64, Q4_0-style symmetric 4-bit b32). Prints the mean and
# minimum cosine similarity of the sentence embeddings to the original's beside all-in
# bits/weight and the SQNR `ecqf-inspect --against` reports, and requires a mean cosine of at
# least $ECQF_MIN_COSINE (default 0.9) for each scheme (measured 2026-11-27: 0.959 ECSQ,
# 0.965 affine, 0.968 Q4_0-style) and 1 (within 1e-9) for the original against itself.
# Needs numpy only (scripts/pyenv). SKIP (77) when numpy or MiniLM cannot be had.
. "${top_srcdir:-${srcdir:-.}}/tests/clients/common.sh"

floor=${ECQF_MIN_COSINE:-0.9}
need_pyenv numpy
find_minilm || skip "MiniLM-L6 not available ($MINILM_WHY)"
mdir=$(dirname "$MINILM")
for f in vocab.txt config.json; do
    [ -f "$mdir/$f" ] || skip "MiniLM-L6: $mdir/$f not found (the tokenizer and config lie beside the weights)"
done
echo "model: $MINILM"

cands="original=$MINILM"
for spec in "ecsq" "affine4g64 --scheme affine --bits 4 --group 64" "q4_0 --scheme symmetric --bits 4 --group 32"; do
    # shellcheck disable=SC2086 # the words are the label and the options
    set -- $spec
    label=$1
    shift
    e="$WORK/$label.ecqf"
    t=$(date +%s)
    "$PACK" -q -j "$JOBS" --skip-unsupported "$@" "$MINILM" "$e" &&
        "$UNPACK" -q "$e" "$WORK/$label.safetensors" &&
        "$INSPECT" --json --against "$MINILM" "$e" > "$WORK/$label.json" ||
        { echo "FAIL: $label: ecqf-pack ${*:-(defaults)} / unpack / inspect failed"; exit 1; }
    echo "packed $label (${*:-defaults}) in $(($(date +%s) - t)) s"
    rm -f "$e"
    cands="$cands $label=$WORK/$label.safetensors"
done
t=$(date +%s)
# shellcheck disable=SC2086
"$PY" "$top_srcdir/scripts/minilm_quality.py" "$mdir" "$MINILM" $cands --json > "$WORK/quality.json" ||
    { echo "FAIL: scripts/minilm_quality.py failed"; exit 1; }
echo "forward passes (original + 4 candidates): $(($(date +%s) - t)) s"

"$PY" - "$WORK" "$floor" <<'PY'
import json, os, sys
work, floor = sys.argv[1], float(sys.argv[2])
q = json.load(open(os.path.join(work, "quality.json")))
cands = q["candidates"]
print("%d sentences; mean cosine between different sentences %.3f (how distinct they are)"
      % (q["sentences"], q["mean_cross_sentence_cosine"]))
print("%-12s %8s %10s %10s %12s %12s" % ("scheme", "b/w", "SQNR dB", "model dB", "mean cos", "min cos"))
bad = []
for label in ("original", "ecsq", "affine4g64", "q4_0"):
    c = cands[label]
    if label == "original":
        print("%-12s %8s %10s %10s %12.6f %12.6f" % (label, "32", "exact", "exact", c["mean_cosine"], c["min_cosine"]))
        if abs(c["mean_cosine"] - 1.0) > 1e-9:
            bad.append("the original against itself gives mean cosine %.12f" % c["mean_cosine"])
        continue
    s = json.load(open(os.path.join(work, label + ".json")))["summary"]
    print("%-12s %8.4f %10.3f %10.3f %12.6f %12.6f" % (label, s["quantized_bits_per_weight"], s["quantized_sqnr_db"],
                                                      s["model_sqnr_db"], c["mean_cosine"], c["min_cosine"]))
    if not c["mean_cosine"] >= floor:
        bad.append("%s: mean cosine %.6f below the floor %.3f" % (label, c["mean_cosine"], floor))
print("(b/w: all-in bits per quantized weight; SQNR: over the quantized tensors; model dB: over all tensors)")
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
status=$?
echo "time: $(elapsed) s"
exit $status
