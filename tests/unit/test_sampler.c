/* Unit tests for src/engine/sampler: greedy, truncation, penalties, bias,
 * seeds and log-probabilities on hand-made logits. */
#include "../../src/engine/sampler.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>

#define V 8

static sampler *make(float temp, int top_k, float top_p, float min_p, uint64_t seed) {
  sampler_params p;
  sampler_params_default(&p);
  p.temperature = temp, p.top_k = top_k, p.top_p = top_p, p.min_p = min_p, p.seed = seed;
  sampler *s;
  CHECK(sampler_new(&p, V, &s) == 0);
  return s;
}

static void fill(float *l) {
  const float base[V] = {1.0f, 3.0f, 0.5f, 2.5f, -1.0f, 0.0f, 2.9f, -3.0f};
  memcpy(l, base, sizeof base);
}

TEST(greedy_takes_the_argmax) {
  sampler *s = make(0, 0, 1, 0, 1);
  float l[V];
  fill(l);
  CHECK_EQ_INT(sampler_sample(s, l, 0, NULL, NULL), 1);
  sampler_free(s);
}

TEST(top_k_one_is_greedy_at_any_temperature) {
  sampler *s = make(2.0f, 1, 1, 0, 7);
  for (int i = 0; i < 50; i++) {
    float l[V];
    fill(l);
    CHECK_EQ_INT(sampler_sample(s, l, 0, NULL, NULL), 1);
  }
  sampler_free(s);
}

TEST(top_k_limits_the_choices) {
  sampler *s = make(5.0f, 3, 1, 0, 11);
  bool seen[V] = {0};
  for (int i = 0; i < 400; i++) {
    float l[V];
    fill(l);
    seen[sampler_sample(s, l, 0, NULL, NULL)] = true;
  }
  /* the three largest: 1 (3.0), 6 (2.9), 3 (2.5) */
  CHECK(seen[1] && seen[6] && seen[3]);
  CHECK(!seen[0] && !seen[2] && !seen[4] && !seen[5] && !seen[7]);
  sampler_free(s);
}

TEST(min_p_drops_the_unlikely) {
  sampler *s = make(1.0f, 0, 1, 0.5f, 3);
  for (int i = 0; i < 300; i++) {
    float l[V];
    fill(l);
    int id = sampler_sample(s, l, 0, NULL, NULL);
    /* p(x)/p(max) >= 0.5 keeps logits within ln 2 of 3.0: ids 1, 6, 3 */
    CHECK(id == 1 || id == 6 || id == 3);
  }
  sampler_free(s);
}

TEST(same_seed_same_tokens_other_seed_differs) {
  int a[64], b[64], c[64];
  sampler *sa = make(1.5f, 0, 1, 0, 42), *sb = make(1.5f, 0, 1, 0, 42), *sc = make(1.5f, 0, 1, 0, 43);
  bool differ = false;
  for (int i = 0; i < 64; i++) {
    float l[V];
    fill(l), a[i] = sampler_sample(sa, l, 0, NULL, NULL);
    fill(l), b[i] = sampler_sample(sb, l, 0, NULL, NULL);
    fill(l), c[i] = sampler_sample(sc, l, 0, NULL, NULL);
    CHECK_EQ_INT(a[i], b[i]);
    differ |= a[i] != c[i];
  }
  CHECK(differ);
  sampler_free(sa), sampler_free(sb), sampler_free(sc);
}

TEST(penalties_move_seen_tokens) {
  sampler_params p;
  sampler_params_default(&p);
  p.temperature = 0;
  p.presence_penalty = 1.0f;
  p.frequency_penalty = 0.5f;
  sampler *s;
  CHECK(sampler_new(&p, V, &s) == 0);
  sampler_accept(s, 1);
  sampler_accept(s, 1);
  float l[V];
  fill(l);
  /* 1: 3.0 - 1.0 - 2 * 0.5 = 1.0, so 6 (2.9) wins */
  CHECK_EQ_INT(sampler_sample(s, l, 0, NULL, NULL), 6);
  CHECK(fabsf(l[1] - 1.0f) < 1e-6f);
  /* repetition penalty divides a positive logit */
  p.presence_penalty = p.frequency_penalty = 0;
  p.repeat_penalty = 2.0f;
  sampler_reset(s, &p);
  sampler_accept(s, 1);
  fill(l);
  sampler_sample(s, l, 0, NULL, NULL);
  CHECK(fabsf(l[1] - 1.5f) < 1e-6f);
  sampler_free(s);
}

TEST(logit_bias_can_force_a_token) {
  sampler_params p;
  sampler_params_default(&p);
  p.temperature = 0;
  int32_t ids[] = {7};
  float vals[] = {100.0f};
  p.bias_ids = ids, p.bias_values = vals, p.n_bias = 1;
  sampler *s;
  CHECK(sampler_new(&p, V, &s) == 0);
  float l[V];
  fill(l);
  CHECK_EQ_INT(sampler_sample(s, l, 0, NULL, NULL), 7);
  sampler_free(s);
}

TEST(logprobs_are_log_softmax) {
  sampler *s = make(0, 0, 1, 0, 1);
  float l[V];
  fill(l);
  token_logprob chosen, top[3];
  int id = sampler_sample(s, l, 3, &chosen, top);
  double z = 0;
  float base[V];
  fill(base);
  for (int i = 0; i < V; i++) z += exp(base[i]);
  CHECK_EQ_INT(chosen.id, id);
  CHECK(fabs(chosen.logprob - (3.0 - log(z))) < 1e-5);
  CHECK_EQ_INT(top[0].id, 1);
  CHECK_EQ_INT(top[1].id, 6);
  CHECK_EQ_INT(top[2].id, 3);
  CHECK(top[0].logprob >= top[1].logprob && top[1].logprob >= top[2].logprob);
  sampler_free(s);
}

/* A 50K vocabulary, where the filters work on a selected prefix rather than
 * a full sort: every draw must fall in the set a full sort defines. */
#define BIG 50000
static float big_l[BIG];
static int big_rank[BIG]; /* token ids by falling logit (full sort) */
static int by_logit(const void *a, const void *b) {
  float x = big_l[*(const int *)a], y = big_l[*(const int *)b];
  return x < y ? 1 : x > y ? -1 : *(const int *)a - *(const int *)b;
}
static void big_fill(float spread) {
  uint64_t x = 12345;
  for (int i = 0; i < BIG; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    big_l[i] = spread * (float)((x >> 33) % 100000) / 100000.0f;
    big_rank[i] = i;
  }
  qsort(big_rank, BIG, sizeof(int), by_logit);
}
/* How many of the best tokens the nucleus of mass p holds. */
static int big_nucleus(float p) {
  double z = 0, acc = 0;
  float mx = big_l[big_rank[0]];
  for (int i = 0; i < BIG; i++) z += exp(big_l[i] - mx);
  for (int i = 0; i < BIG; i++) {
    acc += exp(big_l[big_rank[i]] - mx) / z;
    if (acc >= p) return i + 1;
  }
  return BIG;
}
static void big_check(float spread, int top_k, float top_p) {
  big_fill(spread);
  int limit = top_k > 0 ? top_k : big_nucleus(top_p);
  static char allowed[BIG];
  memset(allowed, 0, sizeof allowed);
  for (int i = 0; i < limit; i++) allowed[big_rank[i]] = 1;
  sampler_params p;
  sampler_params_default(&p);
  p.temperature = 1.0f, p.top_k = top_k, p.top_p = top_p, p.seed = 5;
  sampler *s;
  CHECK(sampler_new(&p, BIG, &s) == 0);
  static float l[BIG];
  int outside = 0, distinct = 0;
  static char seen[BIG];
  memset(seen, 0, sizeof seen);
  for (int i = 0; i < 100; i++) {
    memcpy(l, big_l, sizeof l);
    int id = sampler_sample(s, l, 0, NULL, NULL);
    outside += !allowed[id];
    distinct += !seen[id], seen[id] = 1;
  }
  CHECK_EQ_INT(outside, 0);
  CHECK(distinct > 1);
  /* top log-probabilities are the full sort's first five */
  token_logprob chosen, top[5];
  memcpy(l, big_l, sizeof l);
  sampler_sample(s, l, 5, &chosen, top);
  for (int i = 0; i < 5; i++) CHECK_EQ_INT(top[i].id, big_rank[i]);
  sampler_free(s);
}
TEST(big_vocab_top_p_peaked) { big_check(30.0f, 0, 0.9f); }  /* nucleus of a few */
TEST(big_vocab_top_p_flat) { big_check(1.0f, 0, 0.5f); }     /* nucleus of thousands */
TEST(big_vocab_top_k) { big_check(5.0f, 40, 1.0f); }

/* Scoring a row as it is (a prompt token's): the full sort's order, ties
 * to the lower id, the logits left unchanged, and no more entries than
 * the vocabulary has. */
TEST(logprobs_of_a_row) {
  big_fill(5.0f);
  big_l[7] = big_l[3] = 100.0f; /* a tie at the top: 3 first */
  static float copy[BIG];
  memcpy(copy, big_l, sizeof copy);
  token_logprob chosen, top[20];
  sampler_logprobs(big_l, BIG, 42, 20, &chosen, top);
  CHECK(memcmp(copy, big_l, sizeof copy) == 0);
  CHECK_EQ_INT(chosen.id, 42);
  CHECK_EQ_INT(top[0].id, 3);
  CHECK_EQ_INT(top[1].id, 7);
  for (int i = 0; i < BIG; i++) big_rank[i] = i;
  qsort(big_rank, BIG, sizeof(int), by_logit);
  int same = 0;
  for (int i = 0; i < 20; i++) same += top[i].id == big_rank[i];
  CHECK_EQ_INT(same, 20);
  double z = 0;
  for (int i = 0; i < BIG; i++) z += exp((double)big_l[i] - 100.0);
  CHECK(fabs(top[0].logprob - (float)-log(z)) < 1e-5);
  CHECK(fabs(chosen.logprob - (float)(big_l[42] - 100.0 - log(z))) < 1e-5);
  float small[3] = {1.0f, -INFINITY, 2.0f};
  token_logprob t3[5];
  sampler_logprobs(small, 3, 1, 5, &chosen, t3);
  CHECK_EQ_INT(t3[0].id, 2);
  CHECK_EQ_INT(t3[1].id, 0);
  CHECK_EQ_INT(t3[2].id, 1);
  CHECK(isinf(chosen.logprob) && chosen.logprob < 0);
  CHECK(fabs(t3[0].logprob - (float)(2.0 - log(exp(1.0) + exp(2.0)))) < 1e-6);
}

int main(void) {
  RUN(greedy_takes_the_argmax);
  RUN(top_k_one_is_greedy_at_any_temperature);
  RUN(top_k_limits_the_choices);
  RUN(min_p_drops_the_unlikely);
  RUN(same_seed_same_tokens_other_seed_differs);
  RUN(penalties_move_seen_tokens);
  RUN(logit_bias_can_force_a_token);
  RUN(logprobs_are_log_softmax);
  RUN(big_vocab_top_p_peaked);
  RUN(big_vocab_top_p_flat);
  RUN(big_vocab_top_k);
  RUN(logprobs_of_a_row);
  return test_report("sampler");
}
