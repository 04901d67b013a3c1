#!/usr/bin/env python3
"""sass_count.py -- static instruction counts of the inner loops of the CUDA kernels.

    nvdisasm -c kernels.cubin > kernels.sass      (or: cuobjdump -sass binary > kernels.sass)
    python3 sass_count.py kernels.sass

For every kernel it finds the innermost loops (a backward branch and its target), reports the
loop with the most instructions, the number of instructions in its body and the mix by
opcode class. With --per NAME=K it divides the body of kernel NAME (a substring of the mangled
name) by K work items, e.g. the fused kernel's group loop decodes S symbols per tile and NT
tiles: --per fusedILi1ELi4ELi2=8 gives instructions per symbol.

Static counts are what the loop issues once per iteration when every predicated instruction is
issued (as on a GPU: a predicated-off instruction still takes its issue slot); they are an
upper bound of the dynamic count when the loop contains branches. The fused kernels' group
loop holds rarely taken blocks (scale reload every 32 groups, stream-window refill), so their
static count reads far too high: use Nsight Compute's smsp__inst_executed.sum (run-h100.sh
collects it) for instructions per weight; this script is for reading the per-symbol sequence.
"""
import re
import sys
from collections import Counter

CLASSES = [
    ("fp32", re.compile(r"^(FFMA|FMUL|FADD|FMNMX|FSEL|FSETP|FCHK)")),
    ("int", re.compile(r"^(IMAD|IADD3|IADD|LEA|LOP3|SHF|SHL|SHR|PRMT|ISETP|SEL|IMNMX|POPC|FLO|BREV|VIADD|IABS|I2FP|F2FP|MOV)")),
    ("lds", re.compile(r"^LDS")),
    ("ldg", re.compile(r"^(LDG|LD\.|LDC)")),
    ("st", re.compile(r"^(STG|STS|ST\.|RED|ATOM)")),
    ("warp", re.compile(r"^(VOTE|SHFL|MATCH|REDUX)")),
    ("uniform", re.compile(r"^U")),
    ("conv", re.compile(r"^(I2F|F2I|F2F|HADD2|HMUL2|HFMA2)")),
    ("ctrl", re.compile(r"^(BRA|BAR|EXIT|BSYNC|BSSY|WARPSYNC|NOP|CALL|RET|YIELD)")),
]


def klass(op):
    for name, rx in CLASSES:
        if rx.match(op):
            return name
    return "other"


def parse(path):
    kernels = {}
    cur = None
    for line in open(path, errors="replace"):
        m = (re.match(r"^\s*\.text\.(\S+):", line) or re.match(r"^(_Z\S+):\s*$", line.strip())
             or re.match(r"^\s*Function\s*:\s*(\S+)", line))  # nvdisasm -c, or cuobjdump -sass
        if m:
            cur = m.group(1)
            kernels[cur] = {"ins": [], "labels": {}}
            continue
        if cur is None:
            continue
        lab = re.match(r"^\s*(\.L_x_\d+):", line)
        if lab:
            kernels[cur]["labels"][lab.group(1)] = len(kernels[cur]["ins"])
            continue
        m = re.match(r"^\s*/\*([0-9a-f]{4,})\*/\s+(.*?);", line)
        if not m:
            continue
        text = m.group(2).strip()
        pred = None
        pm = re.match(r"^(@!?U?P[T0-9]+)\s+(.*)$", text)
        if pm:
            pred, text = pm.group(1), pm.group(2)
        op = text.split()[0] if text else ""
        kernels[cur]["ins"].append((int(m.group(1), 16), op, pred, text))
    return kernels


def loops(k):
    """(start, end) index ranges of loops: a BRA at index i whose target (a label, or an
    address as cuobjdump prints it) is at j <= i."""
    out = []
    addr = {a: i for i, (a, _, _, _) in enumerate(k["ins"])}
    for i, (_, op, pred, text) in enumerate(k["ins"]):
        if op.startswith("BRA"):
            t = re.search(r"`\((\.L_x_\d+)\)", text)
            j = None
            if t and t.group(1) in k["labels"]:
                j = k["labels"][t.group(1)]
            else:
                a = re.search(r"BRA(?:\.\S+)?\s+(?:`\()?0x([0-9a-f]+)", text)
                if a:
                    j = addr.get(int(a.group(1), 16))
            if j is not None and j <= i:
                out.append((j, i + 1))
    return out


def main():
    path = sys.argv[1]
    per = {}
    for a in sys.argv[2:]:
        if a.startswith("--per"):
            continue
        if "=" in a:
            name, k = a.split("=", 1)
            per[name] = float(k)
    kernels = parse(path)
    for name, k in sorted(kernels.items()):
        ls = loops(k)
        if not ls:
            continue
        # the hot loop: the innermost loop with the most table lookups (LDS; one per decoded
        # symbol in the ECQF kernels), else the largest innermost loop
        inner = [l for l in ls if not any(o != l and l[0] <= o[0] and o[1] <= l[1] for o in ls)]
        def lds(l):
            return sum(1 for _, op, _, _ in k["ins"][l[0]:l[1]] if op.startswith("LDS"))
        s, e = max(inner, key=lambda l: (lds(l), l[1] - l[0]))
        body = k["ins"][s:e]
        mix = Counter(klass(op) for _, op, _, _ in body)
        n, nl = len(body), lds((s, e))
        div = next((v for key, v in per.items() if key in name), None)
        extra = " -> %.1f per item (/%g)" % (n / div, div) if div else ""
        if nl and not div:
            extra = " -> %.1f per table lookup (%d LDS)" % (n / nl, nl)
        print("%s\n  loop body %d instructions%s\n  mix: %s" % (
            name, n, extra, ", ".join("%s %d" % kv for kv in sorted(mix.items(), key=lambda kv: -kv[1]))))


if __name__ == "__main__":
    main()
