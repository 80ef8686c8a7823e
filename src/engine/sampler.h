/* sampler.h — choosing the next token from logits: greedy, or temperature
 * with top-k, top-p and min-p, after logit bias and the repetition,
 * presence and frequency penalties; a seeded generator makes a run
 * repeatable; log-probabilities of the chosen token and the top n.
 *
 * Order, as llama.cpp's default chain: bias, penalties, top-k, top-p,
 * min-p, temperature, draw. Log-probabilities are those of the model's own
 * distribution after bias and penalties (before truncation and
 * temperature), as OpenAI reports them.
 *
 * Memory: a sampler allocates its candidate and count arrays once for the
 * vocabulary; sampling allocates nothing. One sequence, one thread. */
#ifndef HEARTH_ENGINE_SAMPLER_H
#define HEARTH_ENGINE_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  float temperature;        /* <= 0: greedy */
  int top_k;                /* <= 0: off */
  float top_p;              /* >= 1: off */
  float min_p;              /* <= 0: off */
  float repeat_penalty;     /* 1: off; divides positive logits of seen tokens */
  int repeat_last_n;        /* how many recent tokens the penalties look at */
  float presence_penalty;   /* subtracted once from a seen token's logit */
  float frequency_penalty;  /* subtracted per occurrence */
  uint64_t seed;
  const int32_t *bias_ids;  /* logit bias pairs (the caller keeps them) */
  const float *bias_values;
  int n_bias;
} sampler_params;

void sampler_params_default(sampler_params *p);

typedef struct {
  int32_t id;
  float logprob;
} token_logprob;

typedef struct sampler sampler;

int sampler_new(const sampler_params *p, int n_vocab, sampler **out);
/* Starts over with new parameters (a slot's sampler serves one request
 * after another without reallocating). */
void sampler_reset(sampler *s, const sampler_params *p);
void sampler_free(sampler *s);
/* Tokens of the prompt or of the output so far, for the penalties. */
void sampler_accept(sampler *s, int32_t id);
/* Picks a token from logits (modified in place). If n_top > 0, writes the
 * chosen token's logprob to *chosen and the n_top most likely tokens (in
 * descending order) to top. */
int32_t sampler_sample(sampler *s, float *logits, int n_top, token_logprob *chosen,
                       token_logprob *top);

/* Log-probabilities under logits as they are (no bias or penalties): of
 * token chosen_id into *chosen, and of the n_top most likely tokens, in
 * descending order (ties: the lower id first), into top. Reads logits
 * only, so any thread may score rows of any sequence. */
void sampler_logprobs(const float *logits, int n_vocab, int32_t chosen_id, int n_top,
                      token_logprob *chosen, token_logprob *top);

#endif
