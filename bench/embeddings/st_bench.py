#!/usr/bin/env python3
"""st_bench.py — the sentence-transformers side of bench/embeddings (run by
run.js with the venv's python; not meant to be run by hand).

  st_bench.py count MODEL_DIR SENTENCES.json
      prints a JSON list: the Hugging Face tokenizer's id count of every
      sentence (with [CLS]/[SEP], not truncated).
  st_bench.py bench MODEL_DIR SENTENCES.json --batches 1,32 --rounds 3
                    --threads 2 --max-seq-length 512 --out EMB.json
      loads the model on the CPU in float32, torch.set_num_threads(threads),
      warms up (one pass at the largest batch plus 8 single sentences),
      then for each batch size B and each round encodes the sentences in
      consecutive groups of B, one encode(group, batch_size=B) call per
      group (as a service would per request), and prints one JSON object:
      {"sps": {"B": best sentences/s over the rounds}, "rounds": {...}}.
      The warm-up pass's embeddings go to EMB.json (a list of lists), which
      run.js compares with hearth's and llama.cpp's.

SENTENCES.json is a JSON list of strings. HF_HUB_OFFLINE=1: nothing is
fetched, the model comes from MODEL_DIR."""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["count", "bench"])
    ap.add_argument("model")
    ap.add_argument("sentences")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-seq-length", type=int, default=512)
    ap.add_argument("--out")
    args = ap.parse_args()
    with open(args.sentences, encoding="utf-8") as f:
        sentences = json.load(f)

    if args.mode == "count":
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(args.model)
        ids = tok(sentences, add_special_tokens=True, truncation=False)["input_ids"]
        print(json.dumps([len(x) for x in ids]))
        return

    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(args.threads)
    model = SentenceTransformer(args.model, device="cpu")
    model.eval()
    # hearth and llama.cpp cut at the model's context (512), not at the 256
    # of sentence_bert_config.json: the same tokens go through all three.
    model.max_seq_length = args.max_seq_length
    batches = [int(b) for b in args.batches.split(",")]

    def run_pass(b, keep=None):
        for i in range(0, len(sentences), b):
            e = model.encode(sentences[i:i + b], batch_size=b, show_progress_bar=False,
                             convert_to_numpy=True)
            if keep is not None:
                keep.extend(e.tolist())

    with torch.inference_mode():
        emb = []
        run_pass(max(batches), emb)
        for s in sentences[:8]:
            model.encode([s], batch_size=1, show_progress_bar=False)
        if args.out:
            with open(args.out, "w") as f:
                json.dump(emb, f)
        rounds = {}
        for b in batches:
            rounds[b] = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                run_pass(b)
                rounds[b].append(len(sentences) / (time.perf_counter() - t0))
            print(f"sentence-transformers batch {b}: " +
                  " ".join(f"{x:.1f}" for x in rounds[b]) + " sentences/s", file=sys.stderr)
    print(json.dumps({"sps": {str(b): max(r) for b, r in rounds.items()},
                      "rounds": {str(b): r for b, r in rounds.items()},
                      "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
