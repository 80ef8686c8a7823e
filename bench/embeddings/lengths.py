#!/usr/bin/env python3
"""lengths.py — one text of N tokens at a time, hearth beside
sentence-transformers, in process on both sides: where hearth's lead over
PyTorch comes from per-call overhead (short texts) and where both are bound
by the FMA units (long ones). Run by run.sh when LENGTHS is set:

  LENGTHS=16,64,128,256,512 bash bench/embeddings/run.sh

For each N: a text of N tokens ([CLS] and [SEP] included, by the Hugging
Face tokenizer; a token or two fewer where the cut would split a word, and
the table says how many) cut from bench/embeddings/passages.txt, encoded by
sentence-transformers (float32, torch.set_num_threads(THREADS),
max_seq_length 512) one model.encode([text]) call at a time, best of
ROUNDS; and `hearth bench -m GGUF -p N -r ROUNDS --json` (an encoder pass
of N tokens with pooling, 2 threads), whose mean tokens/s gives the time
per text. hearth skips tokenization here, which takes sentence-transformers
~0.1 ms of its milliseconds. Prints a table; --json prints one object.

Environment: ST_PYTHON/ST_MODEL (run.sh sets them), HEARTH (./hearth),
GGUF (models/all-minilm-l6-v2-f32.gguf), THREADS (2), ROUNDS (10)."""
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TQDM_DISABLE", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    lengths = [int(x) for x in os.environ.get("LENGTHS", "16,64,128,256,512").split(",")]
    threads = int(os.environ.get("THREADS", "2"))
    rounds = int(os.environ.get("ROUNDS", "10"))
    hearth = os.environ.get("HEARTH", os.path.join(ROOT, "hearth"))
    gguf = os.environ.get("GGUF", os.path.join(ROOT, "models/all-minilm-l6-v2-f32.gguf"))
    as_json = "--json" in sys.argv

    # Texts first, with the tokenizer alone; hearth next; PyTorch last: its
    # OpenMP threads spin for a while after each call, which took a core
    # from a hearth run started after it (16 tokens read 4.1 ms, not 2.7).
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(os.environ["ST_MODEL"])
    with open(os.path.join(HERE, "passages.txt"), encoding="utf-8") as f:
        corpus = " ".join(line.strip() for line in f)
    ids = tok(corpus, add_special_tokens=False)["input_ids"]
    texts = []
    for n in lengths:
        if not 3 <= n <= 512:
            sys.exit(f"lengths.py: N must be 3..512, not {n}")
        # decoding can merge or split word pieces at the cut: trim to N
        k = n - 2
        text = tok.decode(ids[:k])
        while len(tok(text)["input_ids"]) > n and k > 1:
            k -= 1
            text = tok.decode(ids[:k])
        texts.append((text, len(tok(text)["input_ids"])))

    rows = []
    for text, got in texts:
        out = subprocess.run([hearth, "bench", "-m", gguf, "-p", str(got), "-r", str(rounds),
                              "-t", str(threads), "--json"], capture_output=True, text=True, check=True)
        h = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append({"tokens": got, "hearth_ms": got / h["tokens_per_second"] * 1e3,
                     "isa": h["isa"], "type": h["type"]})

    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(threads)
    model = SentenceTransformer(os.environ["ST_MODEL"], device="cpu")
    model.max_seq_length = 512
    model.eval()
    for (text, got), r in zip(texts, rows):
        model.encode([text])
        best = float("inf")
        for _ in range(rounds):
            t0 = time.perf_counter()
            model.encode([text])
            best = min(best, time.perf_counter() - t0)
        r["st_ms"] = best * 1e3
        r["ratio"] = r["st_ms"] / r["hearth_ms"]
        print(f"{got} tokens: sentence-transformers {r['st_ms']:.2f} ms, hearth {r['hearth_ms']:.2f} ms", file=sys.stderr)

    if as_json:
        print(json.dumps({"threads": threads, "rounds": rounds, "rows": rows}))
        return
    print(f"all-MiniLM-L6-v2, one text at a time, in process, {threads} threads; "
          f"hearth {rows[0]['type']} on {rows[0]['isa']} (mean of {rounds}), sentence-transformers float32 (best of {rounds})")
    print(f"{'tokens':>6}  {'sent-tr ms':>10}  {'hearth ms':>9}  {'hearth/sent-tr':>14}")
    for r in rows:
        print(f"{r['tokens']:>6}  {r['st_ms']:>10.2f}  {r['hearth_ms']:>9.2f}  {r['ratio']:>13.2f}x")


if __name__ == "__main__":
    main()
