/* sampler.c — see sampler.h. Candidates are sorted only as far as needed
 * (a full sort of a 50K vocabulary per token costs milliseconds): top-k by
 * quickselect then a sort of the k; top-p sorts a prefix of 64, 256, ...
 * until it holds the mass; min-p and the draw need no order at all. The generator is SplitMix64 → xoshiro256** seeded from the
 * request's seed, so the same seed gives the same tokens on any machine. */
#include "sampler.h"

#include "../base/base.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int32_t id;
  float logit;
  float p;
} cand;

struct sampler {
  sampler_params p;
  int n_vocab;
  cand *cands;
  uint16_t *counts;  /* occurrences of each token in the window */
  int32_t *window;   /* ring of the last repeat_last_n tokens */
  int win_len, win_pos;
  uint64_t rng[4];
};

void sampler_params_default(sampler_params *p) {
  *p = (sampler_params){
      .temperature = 0.8f,
      .top_k = 40,
      .top_p = 0.95f,
      .min_p = 0.05f,
      .repeat_penalty = 1.0f,
      .repeat_last_n = 64,
      .seed = 0x5eed,
  };
}

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(uint64_t s[4]) {
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

static double next_unit(uint64_t s[4]) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

/* The penalty window is at most this long, so a sampler never reallocates. */
#define WINDOW_MAX 4096

int sampler_new(const sampler_params *p, int n_vocab, sampler **out) {
  sampler *s = calloc(1, sizeof *s);
  if (!s) return HR_ENOMEM;
  s->n_vocab = n_vocab;
  s->cands = malloc(sizeof(cand) * (size_t)n_vocab);
  s->counts = calloc((size_t)n_vocab, sizeof(uint16_t));
  s->window = malloc(sizeof(int32_t) * WINDOW_MAX);
  if (!s->cands || !s->counts || !s->window) {
    sampler_free(s);
    return HR_ENOMEM;
  }
  sampler_reset(s, p);
  *out = s;
  return HR_OK;
}

void sampler_reset(sampler *s, const sampler_params *p) {
  for (int k = 0; k < s->win_len; k++) s->counts[s->window[k]] = 0;
  s->p = *p;
  if (s->p.repeat_last_n < 0) s->p.repeat_last_n = 0;
  if (s->p.repeat_last_n > WINDOW_MAX) s->p.repeat_last_n = WINDOW_MAX;
  s->win_len = s->win_pos = 0;
  uint64_t x = p->seed;
  for (int i = 0; i < 4; i++) s->rng[i] = splitmix(&x);
}

void sampler_free(sampler *s) {
  if (!s) return;
  free(s->cands);
  free(s->counts);
  free(s->window);
  free(s);
}

void sampler_accept(sampler *s, int32_t id) {
  if (id < 0 || id >= s->n_vocab || s->p.repeat_last_n == 0) return;
  if (s->win_len == s->p.repeat_last_n) {
    int32_t old = s->window[s->win_pos];
    if (s->counts[old]) s->counts[old]--;
  } else {
    s->win_len++;
  }
  s->window[s->win_pos] = id;
  s->win_pos = (s->win_pos + 1) % s->p.repeat_last_n;
  if (s->counts[id] < UINT16_MAX) s->counts[id]++;
}

static void apply_bias_and_penalties(sampler *s, float *logits) {
  for (int i = 0; i < s->p.n_bias; i++) {
    int32_t id = s->p.bias_ids[i];
    if (id >= 0 && id < s->n_vocab) logits[id] += s->p.bias_values[i];
  }
  bool rep = s->p.repeat_penalty != 1.0f, pres = s->p.presence_penalty != 0.0f,
       freq = s->p.frequency_penalty != 0.0f;
  if (!rep && !pres && !freq) return;
  /* Each distinct token in the window once. */
  for (int k = 0; k < s->win_len; k++) {
    int32_t id = s->window[k];
    bool first = true;
    for (int j = 0; j < k; j++)
      if (s->window[j] == id) first = false;
    if (!first) continue;
    float *l = &logits[id];
    if (rep) *l = *l > 0 ? *l / s->p.repeat_penalty : *l * s->p.repeat_penalty;
    *l -= (float)s->counts[id] * s->p.frequency_penalty + s->p.presence_penalty;
  }
}

static int cmp_cand(const void *a, const void *b) {
  float x = ((const cand *)a)->logit, y = ((const cand *)b)->logit;
  if (x != y) return x < y ? 1 : -1;
  return ((const cand *)a)->id - ((const cand *)b)->id;
}

static inline bool before(const cand *a, const cand *b) { return cmp_cand(a, b) < 0; }

/* The n best candidates (by cmp_cand) moved to the front, in any order:
 * quickselect, O(total) on average. */
static void partition_top(cand *c, int total, int n) {
  int lo = 0, hi = total - 1;
  if (n <= 0 || n >= total) return;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    /* median of three as the pivot, moved to hi */
    if (before(&c[mid], &c[lo])) { cand t = c[mid]; c[mid] = c[lo]; c[lo] = t; }
    if (before(&c[hi], &c[lo])) { cand t = c[hi]; c[hi] = c[lo]; c[lo] = t; }
    if (before(&c[mid], &c[hi])) { cand t = c[mid]; c[mid] = c[hi]; c[hi] = t; }
    cand pivot = c[hi];
    int store = lo;
    for (int i = lo; i < hi; i++)
      if (before(&c[i], &pivot)) {
        cand t = c[i];
        c[i] = c[store];
        c[store++] = t;
      }
    c[hi] = c[store];
    c[store] = pivot;
    if (store == n - 1 || store == n) return;
    if (store < n) lo = store + 1;
    else hi = store - 1;
  }
}

/* The n best candidates first, sorted. */
static void select_top(cand *c, int total, int n) {
  if (n > total) n = total;
  partition_top(c, total, n);
  qsort(c, (size_t)n, sizeof(cand), cmp_cand);
}

void sampler_logprobs(const float *logits, int n_vocab, int32_t chosen_id, int n_top,
                      token_logprob *chosen, token_logprob *top) {
  float mx = -INFINITY;
  for (int i = 0; i < n_vocab; i++) mx = logits[i] > mx ? logits[i] : mx;
  double sum = 0;
  for (int i = 0; i < n_vocab; i++) sum += exp((double)(logits[i] - mx));
  float lse = mx + (float)log(sum);
  chosen->id = chosen_id;
  chosen->logprob = logits[chosen_id] - lse;
  /* The n_top best by insertion into a sorted list: a token displaces the
   * last only when strictly better (ids ascend, so a tie keeps the lower
   * id, as cmp_cand orders); needs no scratch, so rows of one sequence
   * can be scored on several threads at once. */
  if (n_top > n_vocab) n_top = n_vocab;
  int have = 0;
  for (int i = 0; n_top > 0 && i < n_vocab; i++) {
    float l = logits[i];
    if (have == n_top && !(l > top[have - 1].logprob)) continue;
    int at = have < n_top ? have++ : have - 1;
    while (at > 0 && l > top[at - 1].logprob) {
      top[at] = top[at - 1];
      at--;
    }
    top[at] = (token_logprob){i, l};
  }
  for (int i = 0; i < have; i++) top[i].logprob -= lse;
}

static int32_t argmax(const float *logits, int n) {
  int32_t best = 0;
  for (int i = 1; i < n; i++)
    if (logits[i] > logits[best]) best = i;
  return best;
}

int32_t sampler_sample(sampler *s, float *logits, int n_top, token_logprob *chosen,
                       token_logprob *top) {
  apply_bias_and_penalties(s, logits);
  int32_t id;
  if (s->p.temperature <= 0.0f) {
    id = argmax(logits, s->n_vocab);
  } else {
    int n = s->n_vocab;
    cand *c = s->cands;
    for (int i = 0; i < n; i++) c[i] = (cand){i, logits[i], 0};
    /* Only as much of the vocabulary is sorted as the filters look at: the
     * top k, and for top-p a growing prefix until it holds the mass. */
    bool sorted = false;
    if (s->p.top_k > 0 && s->p.top_k < n) {
      select_top(c, n, s->p.top_k);
      n = s->p.top_k;
      sorted = true;
    }
    float mx = c[0].logit;
    for (int i = 1; i < n; i++) mx = c[i].logit > mx ? c[i].logit : mx;
    /* softmax at temperature 1 for the truncation filters (only they read
     * it: skipped without them, a pass of expf over the whole vocabulary
     * per token) */
    double sum = 0;
    if (s->p.top_p < 1.0f || s->p.min_p > 0.0f) {
      for (int i = 0; i < n; i++) sum += (c[i].p = expf(c[i].logit - mx));
      for (int i = 0; i < n; i++) c[i].p = (float)(c[i].p / sum);
    }
    if (s->p.top_p < 1.0f) {
      int have = sorted ? n : 0; /* a sorted prefix of this many */
      for (int want = 64;; want *= 4) {
        double acc = 0;
        if (have < n) {
          if (want > n / 4) want = n; /* a big nucleus: one full sort */
          select_top(c, n, want);
          have = want;
        }
        int keep = 0;
        for (int i = 0; i < have && !keep; i++) {
          acc += c[i].p;
          if (acc >= s->p.top_p) keep = i + 1;
        }
        if (keep || have == n) {
          n = keep ? keep : n;
          sorted = true;
          break;
        }
      }
    }
    if (s->p.min_p > 0.0f) {
      float top_p = 0;
      for (int i = 0; i < n; i++) top_p = c[i].p > top_p ? c[i].p : top_p;
      float floor_p = top_p * s->p.min_p;
      int keep = 0;
      for (int i = 0; i < n; i++) /* keeps the order, sorted or not */
        if (c[i].p >= floor_p) c[keep++] = c[i];
      n = keep;
    }
    /* temperature, then draw */
    sum = 0;
    for (int i = 0; i < n; i++) sum += (c[i].p = expf((c[i].logit - mx) / s->p.temperature));
    double r = next_unit(s->rng) * sum, acc = 0;
    id = c[n - 1].id;
    for (int i = 0; i < n; i++) {
      acc += c[i].p;
      if (r < acc) {
        id = c[i].id;
        break;
      }
    }
  }
  if (chosen) sampler_logprobs(logits, s->n_vocab, id, n_top, chosen, top);
  return id;
}
