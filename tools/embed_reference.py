#!/usr/bin/env python3
"""embed_reference.py — writes the reference that
tests/integration/embeddings_ref.test.js holds hearth's BERT embeddings and
WordPiece tokenizer to: for each line of a sentences file, the Hugging Face
tokenizer's ids (with [CLS]/[SEP], NOT truncated) and the
sentence-transformers embedding (PyTorch on the CPU, float32, mean pooling +
L2 normalization as the model's modules say), rounded to 6 decimals.

Truncation: sentence-transformers cuts at the model's max_seq_length, which
is 256 for all-MiniLM-L6-v2 (sentence_bert_config.json), while hearth and
llama.cpp cut at the model's context (bert.context_length = 512). So this
script sets max_seq_length to the model's max_position_embeddings (512) to
compare like with like: [CLS] + the first 510 tokens + [SEP], which is what
`hearth embed` computes. --max-seq-length overrides.

Needs the reference venv (torch CPU + sentence-transformers), e.g.
  python3 -m venv /work/venv-ref
  /work/venv-ref/bin/pip install torch==2.13.0
  /work/venv-ref/bin/pip install sentence-transformers numpy torch==2.13.0
Usage:
  HF_HUB_OFFLINE=1 /work/venv-ref/bin/python tools/embed_reference.py \\
      --model /path/to/all-MiniLM-L6-v2 \\
      --sentences tests/data/embeddings/sentences.txt \\
      --out tests/data/embeddings/minilm_reference.jsonl

One JSON object per line: {"sentence": str, "ids": [int], "embedding": [float]}.
Sentences are the lines of the file split on "\\n" only (a line may hold other
control or separator characters on purpose); a final empty line is ignored.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def read_sentences(path):
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a local sentence-transformers directory")
    ap.add_argument("--sentences", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-seq-length", type=int, default=0,
                    help="truncation length (default: the model's max_position_embeddings)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import numpy as np
    import torch
    import transformers
    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    model = SentenceTransformer(args.model, device="cpu")
    with open(os.path.join(args.model, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    model.max_seq_length = args.max_seq_length or cfg["max_position_embeddings"]
    tok = model.tokenizer

    sentences = read_sentences(args.sentences)
    emb = model.encode(sentences, batch_size=16, convert_to_numpy=True,
                       normalize_embeddings=False, show_progress_bar=False)
    emb = np.asarray(emb, dtype=np.float32)
    with open(args.out + ".tmp", "w", encoding="utf-8", newline="\n") as f:
        for s, e in zip(sentences, emb):
            ids = tok(s, add_special_tokens=True, truncation=False)["input_ids"]
            vals = [round(float(x), 6) for x in e]
            f.write(json.dumps({"sentence": s, "ids": ids, "embedding": vals},
                               ensure_ascii=False, separators=(",", ":")) + "\n")
    os.replace(args.out + ".tmp", args.out)
    norms = np.linalg.norm(emb, axis=1)
    n_long = sum(1 for s in sentences if len(tok(s, truncation=False)["input_ids"]) > model.max_seq_length)
    print(f"{args.out}: {len(sentences)} sentences, {n_long} longer than {model.max_seq_length} tokens, "
          f"norms {norms.min():.6f}..{norms.max():.6f}; torch {torch.__version__}, "
          f"transformers {transformers.__version__}, sentence-transformers "
          f"{sentence_transformers.__version__}, numpy {np.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
