#!/usr/bin/env python3
"""Runs `hearth run` on every prompt of a llama.cpp reference file
(../shared/reference/stories260K.jsonl format) and reports token-id
equality and the largest top-5 log-probability difference."""
import json, subprocess, sys

ref_path = sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/stories260K.jsonl"
model = sys.argv[2] if len(sys.argv) > 2 else "models/stories260K.gguf"
worst = 0.0
bad = 0
for line in open(ref_path):
    r = json.loads(line)
    p = subprocess.run(["./hearth", "run", "-m", model, "-p", r["prompt"], "-n", str(len(r["ids"])),
                        "--temp", "0", "--ids", "--logprobs", "5"], capture_output=True, text=True)
    lines = p.stderr.strip().split("\n")
    ids = [int(x) for l in lines if not l.startswith("top:") for x in l.split()]
    tops = [[(int(a), float(b)) for a, b in (t.split(":") for t in l.split()[1:])] for l in lines if l.startswith("top:")]
    ok_ids = ids == r["ids"][:len(ids)] and (len(ids) == len(r["ids"]) or r["stop"] == "eos")
    ok_text = p.stdout == r["text"]
    d = 0.0
    for k, ref_top in enumerate(r["top"]):
        mine = dict(tops[k])
        for tid, lp in ref_top:
            d = max(d, abs(mine.get(tid, -99) - lp))
    worst = max(worst, d)
    status = "ok" if ok_ids and ok_text else "MISMATCH"
    if status != "ok":
        bad += 1
    print(f"{status:8} top-diff {d:.4f}  {r['prompt']!r}")
print(f"{bad} mismatches; worst top-5 logprob difference {worst:.4f}")
sys.exit(1 if bad else 0)
