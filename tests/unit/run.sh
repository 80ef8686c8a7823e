#!/bin/sh
# Runs every unit-test program given and closes with one summary line.
passed=0; failed=0; skipped=0; status=0
for t in "$@"; do
  out=$("$t") || status=1
  echo "$out"
  line=$(echo "$out" | grep -E '^[a-z0-9_]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -z "$line" ]; then echo "$t: no result line"; failed=$((failed + 1)); status=1; continue; fi
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
  f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
done
if [ "$skipped" -gt 0 ]; then echo "unit: $passed passed, $failed failed, $skipped skipped"
else echo "unit: $passed passed, $failed failed"; fi
exit $status
