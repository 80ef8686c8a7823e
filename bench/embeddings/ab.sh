#!/usr/bin/env bash
# bench/embeddings/ab.sh — one of hearth's knobs on and off at each text
# length, from passes alternated in one process (`hearth bench --ab`), so
# both settings meet the same host state: on these VMs the neighbours move
# a pass's time by more than most changes do, and runs of one setting after
# the other have misled.
#
#   bash bench/embeddings/ab.sh KNOB [LENGTHS] [MODEL]
#
# KNOB: steal     products' threads stealing rows from each other (default on)
#       steal-xt  the same on the transposed-row products too (HEARTH_STEAL=xt;
#                 the Xeons' F32 short texts), against no stealing at all
#       amx-f32   F32 products as split bfloat16 on AMX (needs AMX-BF16; on
#                 by default from 96 rows, here from HEARTH_AMX_F32_MIN,
#                 default 32, to show where they pay) against the FMA tiles
#       norms     the LayerNorm rows on both threads from ~11 tokens when the
#                 next product reads float rows (default on) against 171
#       f16-group F16 weights converted once per 16-row group for all the
#                 tiles of a batch (AVX2; default on) against per tile
#                 (give an F16 MODEL)
# LENGTHS: text lengths in tokens, default 4,8,16,24,32,48,64,128,256,512.
# MODEL: default models/all-minilm-l6-v2-f32.gguf.
# Prints per length the two medians (tokens/s) and on / off: above 1 the
# knob is faster.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
KNOB="${1:?usage: ab.sh steal|steal-xt|amx-f32|norms|f16-group [LENGTHS] [MODEL]}"
LENGTHS="${2:-4,8,16,24,32,48,64,128,256,512}"
MODEL="${3:-$ROOT/models/all-minilm-l6-v2-f32.gguf}"
case "$KNOB" in
  steal) AB=steal; ENV=() ;;
  steal-xt) AB=steal; ENV=(HEARTH_STEAL=xt) ;;
  amx-f32) AB=amx-f32; ENV=(HEARTH_AMX_F32=1 HEARTH_AMX_F32_MIN="${HEARTH_AMX_F32_MIN:-32}") ;;
  norms) AB=norms; ENV=() ;;
  f16-group) AB=f16-group; ENV=() ;;
  *) echo "ab.sh: KNOB is steal, steal-xt, amx-f32, norms or f16-group, not '$KNOB'" >&2; exit 2 ;;
esac
make -C "$ROOT" -s -j2 hearth
printf '%6s %14s %14s %9s\n' tokens "on tok/s" "off tok/s" "on / off"
for n in ${LENGTHS//,/ }; do
  # about two seconds of passes a length, at least 40 of each setting
  reps=$(( n <= 64 ? 400 : n <= 256 ? 100 : 40 ))
  env "${ENV[@]}" "$ROOT/hearth" bench -m "$MODEL" -p "$n" -r "$reps" --json --ab "$AB" |
    python3 -c '
import json, sys
on, off = [json.loads(l) for l in sys.stdin if l.strip()]
a, b = on["median_tokens_per_second"], off["median_tokens_per_second"]
print("%6d %14.1f %14.1f %9.3f" % (on["n_tokens"], a, b, a / b))'
done
