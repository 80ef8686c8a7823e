#!/usr/bin/env bash
# bench/engine: hearth bench beside llama-bench on generated SmolLM- and
# TinyLlama-shaped models; see run.py for the knobs.
set -euo pipefail
PY=python3
python3 -c "import numpy" 2>/dev/null || PY=/usr/bin/python3
exec "$PY" "$(dirname "$0")/run.py" "$@"
