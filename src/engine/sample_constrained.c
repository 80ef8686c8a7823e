/* sample_constrained.c — see sample_constrained.h. */
#include "sample_constrained.h"

#include <math.h>
#include <string.h>

/* Whether the constraint takes token id after the output so far (st);
 * scratch is where it tries. */
static bool takes(const tokenizer *tok, const jc_state *st, int32_t id, jc_state *scratch) {
  hr_str piece = tok_decode_piece(tok, id, false);
  if (!piece.len) return false;
  jc_copy(scratch, st);
  return jc_feed(scratch, piece.ptr, piece.len);
}

/* Sets every token the constraint would not take to -inf; returns how many
 * tokens remain possible. A token whose first byte is refused is refused
 * without trying the rest, so most of the vocabulary costs a lookup. */
static int mask(const tokenizer *tok, const jc_state *st, float *logits, int n_vocab,
                jc_state *scratch) {
  bool first_ok[256];
  for (int b = 0; b < 256; b++) {
    char c = (char)b;
    jc_copy(scratch, st);
    first_ok[b] = jc_feed(scratch, &c, 1);
  }
  int left = 0;
  for (int id = 0; id < n_vocab; id++) {
    hr_str piece = tok_decode_piece(tok, id, false);
    bool ok = piece.len && first_ok[(uint8_t)piece.ptr[0]];
    if (ok && piece.len > 1) {
      jc_copy(scratch, st);
      ok = jc_feed(scratch, piece.ptr, piece.len);
    }
    if (!ok) logits[id] = -INFINITY;
    else if (logits[id] > -INFINITY) left++;
  }
  return left;
}

int32_t sample_constrained(sampler *smp, const tokenizer *tok, jc_state *st,
                           const float *model_logits, float *logits, int n_vocab, int n_top,
                           token_logprob *chosen, token_logprob *top) {
  size_t bytes = sizeof(float) * (size_t)n_vocab;
  memcpy(logits, model_logits, bytes);
  int32_t id = sampler_sample(smp, logits, n_top, chosen, top);
  if (!st) return id;
  jc_state scratch;
  if (!takes(tok, st, id, &scratch)) {
    memcpy(logits, model_logits, bytes);
    id = mask(tok, st, logits, n_vocab, &scratch) > 0 ? sampler_sample(smp, logits, n_top, chosen, top)
                                                      : -1;
    if (id >= 0 && !takes(tok, st, id, &scratch)) id = -1;
  }
  if (id >= 0) jc_copy(st, &scratch);
  return id;
}
