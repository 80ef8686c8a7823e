/* sample_constrained.h — a token drawn so that an output constraint
 * (json_constraint.h) takes it: the server's scheduler and `hearth run`
 * draw constrained tokens the same way. */
#ifndef HEARTH_ENGINE_SAMPLE_CONSTRAINED_H
#define HEARTH_ENGINE_SAMPLE_CONSTRAINED_H

#include "json_constraint.h"
#include "sampler.h"
#include "tokenizer.h"

/* Draws from model_logits (n_vocab, left unchanged; logits is scratch of
 * the same size) with smp, as sampler_sample does; when st is not NULL the
 * token must be one the constraint takes after the output so far: the draw
 * is tried first (usually it fits, for the cost of one try), otherwise the
 * tokens that do not fit are masked and the draw made again from the
 * model's logits, as llama.cpp's grammars do. On success st has read the
 * token's bytes. Returns the token, or -1 when no token fits. Tokens
 * without bytes (control tokens, the end of generation) never fit: a
 * constrained answer ends with its own closing brace. */
int32_t sample_constrained(sampler *smp, const tokenizer *tok, jc_state *st,
                           const float *model_logits, float *logits, int n_vocab, int n_top,
                           token_logprob *chosen, token_logprob *top);

#endif
