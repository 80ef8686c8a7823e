#!/usr/bin/env python3
"""bench/engine — hearth's inference speed beside llama.cpp's, in one run.

Generates llama models shaped like SmolLM-135M and TinyLlama-1.1B in Q8_0,
Q4_0 and Q4_K (cached in bench/.cache), measures the machine's memory read
bandwidth, runs `hearth bench` (pp512, tg128) on each, and prints tg128 as a
share of the bandwidth bound (bandwidth / model bytes = tokens/s if every
weight is read once per token). When LLAMA_BENCH names a llama-bench binary
it runs it on the same files in the same run and prints hearth/llama.cpp.

Environment: THREADS (2), REPS (3), SHAPES (smollm,tinyllama),
TYPES (q8_0,q4_0,q4_k), EXTRA_MODELS (more GGUF paths, comma-separated;
default: the real SmolLM2-135M-Instruct Q4_1 that scripts/install.sh puts in
models/),
LLAMA_BENCH (path to llama-bench)."""
import json, os, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, "bench", ".cache")
THREADS = int(os.environ.get("THREADS", "2"))
REPS = int(os.environ.get("REPS", "3"))
SHAPES = {
    "smollm": dict(n_embd=576, n_layer=30, n_head=9, n_head_kv=3, n_ff=1536, n_vocab=49152),
    "tinyllama": dict(n_embd=2048, n_layer=22, n_head=32, n_head_kv=4, n_ff=5632, n_vocab=32000),
}

def sh(cmd, quiet_stderr=False):
    return subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL if quiet_stderr else subprocess.PIPE).stdout

def model_path(shape, typ):
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"{shape}-{typ}.gguf")
    if not os.path.exists(path):
        s = SHAPES[shape]
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        sh([sys.executable, os.path.join(ROOT, "tools", "gguf_gen.py"), "--arch", "llama",
            "--type", typ, "--n-embd", str(s["n_embd"]), "--n-layer", str(s["n_layer"]),
            "--n-head", str(s["n_head"]), "--n-head-kv", str(s["n_head_kv"]),
            "--n-ff", str(s["n_ff"]), "--n-vocab", str(s["n_vocab"]), "--ctx", "2048",
            "--seed", "1", "--out", path + ".tmp"])
        os.rename(path + ".tmp", path)
    return path

def bandwidth():
    exe = os.path.join(CACHE, "membw")
    src = os.path.join(ROOT, "bench", "engine", "membw.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(CACHE, exist_ok=True)
        sh(["cc", "-O2", "-mavx2", "-pthread", "-o", exe, src])
    return float(sh([exe, str(THREADS)]).strip())

def hearth(path):
    out = sh([os.path.join(ROOT, "hearth"), "bench", "-m", path, "-p", "512", "-n", "128",
              "-r", str(REPS), "-t", str(THREADS), "--json"])
    return {o["test"]: o for o in map(json.loads, out.strip().splitlines())}

def llama(path, exe):
    out = sh([exe, "-m", path, "-p", "512", "-n", "128", "-r", str(REPS), "-t", str(THREADS),
              "-o", "json"], quiet_stderr=True)
    res = {}
    for o in json.loads(out):
        test = f"pp{o['n_prompt']}" if o["n_gen"] == 0 else f"tg{o['n_gen']}"
        res[test] = {"tokens_per_second": o["avg_ts"], "stddev": o["stddev_ts"]}
    return res

def main():
    subprocess.run(["make", "-C", ROOT, "-s"], check=True)
    shapes = os.environ.get("SHAPES", "smollm,tinyllama").split(",")
    types = os.environ.get("TYPES", "q8_0,q4_0,q4_k").split(",")
    models = [(f"{s}-{t}", model_path(s, t)) for s in shapes for t in types]
    default_extra = os.path.join(ROOT, "models", "smollm2-135m-instruct.gguf")
    for extra in filter(None, os.environ.get("EXTRA_MODELS", default_extra).split(",")):
        if os.path.exists(extra):
            models.append((os.path.basename(extra).removesuffix(".gguf"), extra))
    lb = os.environ.get("LLAMA_BENCH")
    bw = bandwidth()
    print(f"memory read bandwidth, {THREADS} threads: {bw:.1f} GB/s")
    print(f"{'model':34} {'MiB':>7} {'test':>6} {'hearth t/s':>14} {'llama.cpp t/s':>15} {'ratio':>6} {'bw share':>9} {'rss+ MB':>8}")
    results = []
    for name, path in models:
        size = os.path.getsize(path)
        h = hearth(path)
        l = llama(path, lb) if lb else {}
        for test in ("pp512", "tg128"):
            ht = h[test]["tokens_per_second"]
            lt = l.get(test, {}).get("tokens_per_second")
            ratio = f"{ht / lt:.2f}" if lt else "-"
            share = f"{ht / (bw * 1e9 / size) * 100:.0f}%" if test.startswith("tg") else ""
            rss = h[test].get("rss_extra_bytes", 0) / 1e6
            print(f"{name:34} {size / 2**20:7.1f} {test:>6} {ht:9.1f} ±{h[test]['stddev']:4.1f} "
                  f"{(f'{lt:10.1f}' if lt else '-'):>15} {ratio:>6} {share:>9} {rss:8.1f}", flush=True)
            results.append(dict(model=name, bytes=size, test=test, hearth=ht, llama=lt, bandwidth_gbs=bw))
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    out = os.path.join(ROOT, "bench", "results", f"engine-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
    print(f"raw results: {out}")

if __name__ == "__main__":
    main()
