#!/usr/bin/env bash
# bench/engine: hearth bench beside llama-bench on generated SmolLM- and
# TinyLlama-shaped models; see run.py for the knobs.
set -euo pipefail
exec python3 "$(dirname "$0")/run.py" "$@"
