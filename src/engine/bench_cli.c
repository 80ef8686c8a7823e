/* bench_cli.c — `hearth bench`: prompt-processing and generation speed in
 * the manner of llama-bench. ppN decodes N random tokens as one batch into
 * an empty cache; tgN generates N tokens one at a time from an empty cache
 * (with -b B, B sequences generate side by side, one batch per step, and
 * tgNxB reports their summed tokens/s). For an encoder (bert), embN
 * embeds one text of N random tokens, pooled and normalized as the server
 * does (texts/s is tokens/s over N): the in-process side of
 * bench/embeddings' batch-1 figure; --phases then times -r more passes
 * step by step (embeddings, each product, attention, LayerNorms, pooling).
 * Each test runs once to warm up, then -r times; the figure is the mean of
 * the repetitions' tokens/s with its standard deviation. --ab KNOB turns a
 * knob off on every other repetition (forward.h) and reports the two halves
 * as two tests, then the ratio of their medians. */
#include "forward.h"
#include "kernels.h"
#include "model.h"

#include "../base/options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *model_path, *ab_name;
  long n_prompt, n_gen, threads, reps, parallel;
  bool json, phases;
  ab_knob ab;
} bench_options;

static const char *const ab_names[] = {[AB_STEAL] = "steal", [AB_AMX_F32] = "amx-f32", [AB_NORMS] = "norms",
                                          [AB_F16_GROUP] = "f16-group"};

/* Before repetition r: with --ab, odd ones run with the knob off. */
static void ab_side(const bench_options *o, int r) {
  ab_alternated = o->ab;
  ab_now_off = o->ab != AB_NONE && (r & 1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
static double median_secs(double *secs, int n) {
  qsort(secs, (size_t)n, sizeof *secs, cmp_double);
  return n % 2 ? secs[n / 2] : (secs[n / 2 - 1] + secs[n / 2]) / 2;
}

static long long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long long pages = 0, rss = 0;
  if (f) {
    if (fscanf(f, "%lld %lld", &pages, &rss) != 2) rss = 0;
    fclose(f);
  }
  return rss * sysconf(_SC_PAGESIZE);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static int32_t random_token(int n_vocab) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (int32_t)(rng_state % (uint64_t)n_vocab);
}

/* Seconds for one run of the test. */
static double run_pp(fwd_ctx *fc, const model *m, int n, fwd_token *batch) {
  for (int i = 0; i < n; i++) batch[i] = (fwd_token){random_token(m->hp.n_vocab), 0, i, i == n - 1};
  uint64_t t0 = hr_now_ns();
  fwd_decode(fc, batch, n);
  return (double)(hr_now_ns() - t0) / 1e9;
}

/* n steps of `par` sequences decoding side by side (one batch per step, as
 * the server's continuous batching runs them). */
static double run_tg(fwd_ctx *fc, const model *m, int n, int par, fwd_token *batch) {
  for (int s = 0; s < par; s++) batch[s] = (fwd_token){random_token(m->hp.n_vocab), s, 0, true};
  uint64_t t0 = hr_now_ns();
  for (int i = 0; i < n; i++) {
    for (int s = 0; s < par; s++) batch[s].pos = i;
    fwd_decode(fc, batch, par);
    /* The next input is this step's argmax, so every step depends on the
     * last as in real generation. */
    for (int s = 0; s < par; s++) {
      const float *l = fwd_logits(fc, s);
      int32_t best = 0;
      for (int v = 1; v < m->hp.n_vocab; v++)
        if (l[v] > l[best]) best = v;
      batch[s].token = best;
    }
  }
  return (double)(hr_now_ns() - t0) / 1e9;
}

static void report(const bench_options *o, const model *m, const char *test, int n_tokens,
                   const double *secs, int reps, long long rss_extra) {
  double mean = 0, sd = 0, sorted[reps];
  memcpy(sorted, secs, sizeof sorted);
  double median = n_tokens / median_secs(sorted, reps);
  for (int r = 0; r < reps; r++) mean += n_tokens / secs[r];
  mean /= reps;
  for (int r = 0; r < reps; r++) sd += pow(n_tokens / secs[r] - mean, 2);
  sd = reps > 1 ? sqrt(sd / (reps - 1)) : 0;
  /* the path's name, and "+bf3" when F32/F16 weights are split for AMX-BF16
   * (HEARTH_AMX_F32): which products a figure measured */
  char isa[48];
  snprintf(isa, sizeof isa, "%s%s", kernels_get()->name, m->bf3_bytes ? "+bf3" : "");
  if (o->json) {
    printf("{\"model\":\"%s\",\"arch\":\"%s\",\"type\":\"%s\",\"model_bytes\":%zu,\"isa\":\"%s\","
           "\"weights_streamed\":%s,\"threads\":%ld,\"test\":\"%s\",\"n_tokens\":%d,"
           "\"repetitions\":%d,\"tokens_per_second\":%.3f,\"stddev\":%.3f,"
           "\"median_tokens_per_second\":%.3f,\"rss_extra_bytes\":%lld}\n",
           m->hp.name, m->hp.arch_name, tensor_type_get(m->layers[0].wq.type).name,
           m->weight_bytes, isa, m->rp_streamed ? "true" : "false", o->threads,
           test, n_tokens, reps, mean, sd, median, rss_extra);
  } else {
    printf("| %-24s | %8.2f MiB | %-14s | %7ld | %14s | %10.2f ± %-7.2f |\n", m->hp.name,
           (double)m->weight_bytes / 1048576.0, isa, o->threads, test, mean, sd);
  }
  fflush(stdout);
}

/* The repetitions as one test, or with --ab as two (even ones as
 * configured, odd ones with the knob off: "<test>-<knob>") and the ratio of
 * their medians. */
static void report_reps(const bench_options *o, const model *m, const char *test, int n_tokens,
                        double *secs, int reps, long long rss_extra) {
  ab_side(o, 0); /* the knob back on for whatever runs next */
  if (o->ab == AB_NONE || reps < 2) {
    report(o, m, test, n_tokens, secs, reps, rss_extra);
    return;
  }
  int half[2] = {0, 0};
  double *side[2] = {malloc(sizeof(double) * (size_t)reps), malloc(sizeof(double) * (size_t)reps)};
  if (!side[0] || !side[1]) {
    free(side[0]), free(side[1]);
    report(o, m, test, n_tokens, secs, reps, rss_extra);
    return;
  }
  for (int r = 0; r < reps; r++) side[r & 1][half[r & 1]++] = secs[r];
  char off[64];
  snprintf(off, sizeof off, "%s-%s", test, o->ab_name);
  report(o, m, test, n_tokens, side[0], half[0], rss_extra);
  report(o, m, off, n_tokens, side[1], half[1], rss_extra);
  double on_s = median_secs(side[0], half[0]), off_s = median_secs(side[1], half[1]);
  if (!o->json)
    printf("  %s: %s on / off = %.3f (medians of %d and %d alternated repetitions)\n", test,
           o->ab_name, off_s / on_s, half[0], half[1]);
  free(side[0]), free(side[1]);
}

static void print_header(const bench_options *o) {
  if (o->json) return;
  /* isa wide enough for "avx512+amx+bf3", test for "emb512-amx-f32" (--ab) */
  printf("| %-24s | %12s | %-14s | %7s | %14s | %20s |\n", "model", "size", "isa", "threads", "test",
         "t/s");
  printf("|--------------------------|--------------|----------------|---------|----------------|----------------------|\n");
}

/* Seconds for one text of n random tokens through the encoder. */
static double run_emb(bert_ctx *bc, const model *m, int n, int32_t *ids, float *out) {
  for (int i = 0; i < n; i++) ids[i] = random_token(m->hp.n_vocab);
  uint64_t t0 = hr_now_ns();
  int rc = bert_embed(bc, ids, &n, 1, true, out);
  double s = (double)(hr_now_ns() - t0) / 1e9;
  return rc ? -1 : s;
}

/* --phases: where an encoder pass goes, from -r more passes timed step by
 * step (the ~45 clock reads cost a few microseconds a pass). */
static void report_phases(const bench_options *o, bert_ctx *bc, const model *m, const char *test,
                          int n, int32_t *ids, float *out) {
  uint64_t ns[BERT_PHASE_COUNT] = {0}, total = 0;
  bert_time_phases(bc, ns);
  for (int r = 0; r < o->reps; r++) run_emb(bc, m, n, ids, out);
  bert_time_phases(bc, NULL);
  for (int p = 0; p < BERT_PHASE_COUNT; p++) total += ns[p];
  if (o->json) printf("{\"model\":\"%s\",\"test\":\"%s\",\"phases_us\":{", m->hp.name, test);
  else printf("\n| %-8s | %10s | %6s |\n|----------|------------|--------|\n", "phase", "us/pass", "share");
  for (int p = 0; p < BERT_PHASE_COUNT; p++) {
    double us = (double)ns[p] / 1e3 / (double)o->reps, share = total ? 100.0 * (double)ns[p] / (double)total : 0;
    if (o->json) printf("%s\"%s\":%.1f", p ? "," : "", bert_phase_name(p), us);
    else printf("| %-8s | %10.1f | %5.1f%% |\n", bert_phase_name(p), us, share);
  }
  if (o->json) printf("}}\n");
  fflush(stdout);
}

static int bench_encoder(const bench_options *o, const model *m) {
  int n = (int)o->n_prompt;
  if (n < 1 || n > m->hp.n_ctx_train) {
    fprintf(stderr, "hearth bench: -p %d: an encoder test needs 1 to %d tokens (the model's context)\n",
            n, m->hp.n_ctx_train);
    return 2;
  }
  long long rss0 = rss_bytes();
  hr_pool *pool = hr_pool_new((int)o->threads);
  bert_ctx *bc = NULL;
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)n);
  float *out = malloc(sizeof(float) * (size_t)m->hp.n_embd);
  double *secs = malloc(sizeof(double) * (size_t)o->reps);
  int rc = 1;
  if (!pool || !ids || !out || !secs || bert_ctx_new(m, pool, n, &bc)) {
    fprintf(stderr, "hearth bench: out of memory\n");
    goto out;
  }
  print_header(o);
  for (int r = 0; r < 3; r++) run_emb(bc, m, n, ids, out); /* warm-up: weights into cache */
  for (int r = 0; r < o->reps; r++)
    if (ab_side(o, r), (secs[r] = run_emb(bc, m, n, ids, out)) < 0) {
      fprintf(stderr, "hearth bench: the encoder failed\n");
      goto out;
    }
  char name[32];
  snprintf(name, sizeof name, "emb%d", n);
  report_reps(o, m, name, n, secs, (int)o->reps, rss_bytes() - rss0);
  if (o->phases) report_phases(o, bc, m, name, n, ids, out);
  rc = 0;
out:
  bert_ctx_free(bc);
  hr_pool_free(pool);
  free(ids);
  free(out);
  free(secs);
  return rc;
}

static int bench(const bench_options *o) {
  char err[512];
  long long rss0 = rss_bytes();
  model *m;
  if (model_load(o->model_path, &m, err, sizeof err)) {
    fprintf(stderr, "hearth bench: %s\n", err);
    return 1;
  }
  if (o->ab == AB_AMX_F32 && !m->bf3_bytes)
    fprintf(stderr, "hearth bench: --ab amx-f32: no split weights, so both halves run the FMA tiles "
                    "(an encoder's F32 and F16 weights are split where the CPU has AMX-BF16, unless HEARTH_AMX_F32=0)\n");
  if (m->hp.arch == ARCH_BERT) {
    int rc = bench_encoder(o, m);
    model_free(m);
    return rc;
  }
  int n_ctx = (int)HR_MAX(o->n_prompt, o->n_gen) + 1;
  int par = (int)o->parallel;
  int n_batch = (int)HR_MAX(o->n_prompt, par);
  hr_pool *pool = hr_pool_new((int)o->threads);
  kv_cache *kv = NULL;
  fwd_ctx *fc = NULL;
  fwd_token *batch = malloc(sizeof(fwd_token) * (size_t)n_batch);
  double *secs = malloc(sizeof(double) * (size_t)(o->reps + 1));
  int rc = 1;
  if (!pool || !batch || !secs || kv_cache_new(m, par, n_ctx, &kv) ||
      fwd_ctx_new(m, kv, pool, n_batch, &fc)) {
    fprintf(stderr, "hearth bench: out of memory\n");
    goto out;
  }
  print_header(o);
  /* Resident memory that is neither the mapped weights (counted as they are
   * touched) nor the KV cache: the engine's own overhead. */
  long long overhead_base = rss0 + (long long)kv_cache_bytes(kv) + (long long)m->weight_bytes;
  if (o->n_prompt > 0) {
    run_pp(fc, m, (int)o->n_prompt, batch);
    for (int r = 0; r < o->reps; r++) ab_side(o, r), secs[r] = run_pp(fc, m, (int)o->n_prompt, batch);
    char name[32];
    snprintf(name, sizeof name, "pp%ld", o->n_prompt);
    report_reps(o, m, name, (int)o->n_prompt, secs, (int)o->reps, rss_bytes() - overhead_base);
  }
  if (o->n_gen > 0) {
    run_tg(fc, m, (int)HR_MIN(o->n_gen, 16), par, batch);
    for (int r = 0; r < o->reps; r++) ab_side(o, r), secs[r] = run_tg(fc, m, (int)o->n_gen, par, batch);
    char name[32];
    if (par > 1)
      snprintf(name, sizeof name, "tg%ldx%d", o->n_gen, par);
    else
      snprintf(name, sizeof name, "tg%ld", o->n_gen);
    report_reps(o, m, name, (int)o->n_gen * par, secs, (int)o->reps, rss_bytes() - overhead_base);
  }
  rc = 0;
out:
  free(batch);
  free(secs);
  fwd_ctx_free(fc);
  kv_cache_free(kv);
  hr_pool_free(pool);
  model_free(m);
  return rc;
}

static int bench_checked(void *ctx) {
  bench_options *o = ctx;
  if (!o->model_path) {
    fprintf(stderr, "hearth bench: -m FILE is required\n");
    return 2;
  }
  if (o->ab_name) {
    for (int k = AB_NONE + 1; k < (int)HR_ARRAY_LEN(ab_names); k++)
      if (!strcmp(o->ab_name, ab_names[k])) o->ab = (ab_knob)k;
    if (o->ab == AB_NONE) {
      fprintf(stderr, "hearth bench: --ab takes steal, amx-f32, norms or f16-group, not '%s'\n", o->ab_name);
      return 2;
    }
  }
  return bench(o);
}

int eng_cli_bench(int argc, char **argv) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  bench_options o = {
      .n_prompt = 512, .n_gen = 128, .threads = cores > 0 ? cores : 1, .reps = 5, .parallel = 1};
  const hr_option opts[] = {
      {"model", 'm', OPT_STR, &o.model_path, "GGUF model file", 0, 0},
      {"n-prompt", 'p', OPT_INT, &o.n_prompt,
       "prompt tokens for the pp test (0: skip); an encoder's text length (embN)", 0, 8192},
      {"n-gen", 'n', OPT_INT, &o.n_gen, "tokens for the tg test (0: skip; none for an encoder)", 0, 8192},
      {"threads", 't', OPT_INT, &o.threads, "compute threads", 1, 256},
      {"parallel", 'b', OPT_INT, &o.parallel,
       "sequences generating side by side in the tg test (its tokens/s is their sum)", 1, 256},
      {"repetitions", 'r', OPT_INT, &o.reps, "repetitions of each test", 1, 1000},
      {"json", 0, OPT_BOOL, &o.json, "one JSON object per test", 0, 0},
      {"phases", 0, OPT_BOOL, &o.phases,
       "an encoder's pass step by step: microseconds per pass in each phase (-r more passes)", 0, 0},
      {"ab", 0, OPT_STR, &o.ab_name,
       "steal, amx-f32, norms or f16-group: that knob off on every other repetition, both halves reported", 0, 0},
  };
  return hr_options_command("bench", "hearth bench -m FILE [options]", opts, HR_ARRAY_LEN(opts),
                            argc, argv, NULL, bench_checked, &o);
}
