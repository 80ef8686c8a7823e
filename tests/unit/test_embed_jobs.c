/* test_embed_jobs.c — the scheduler's embedding jobs on the real MiniLM
 * encoder (models/all-minilm-l6-v2-f32.gguf, made by scripts/install.sh):
 * jobs queued together share encoder passes and get the vectors each gets
 * alone, a job the encoder would refuse fails alone, and the counters say
 * how many texts went through how many passes. */
#include "../../src/engine/engine.h"
#include "../../src/engine/kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#define MODEL "models/all-minilm-l6-v2-f32.gguf"
#define E 384

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int pending;
  int rc[8];
} waiter;

typedef struct {
  waiter *w;
  int k;
} job_ref;

static void job_done(void *user, int rc) {
  job_ref *r = user;
  pthread_mutex_lock(&r->w->lock);
  r->w->rc[r->k] = rc;
  r->w->pending--;
  pthread_cond_broadcast(&r->w->cond);
  pthread_mutex_unlock(&r->w->lock);
}

static void wait_all(waiter *w) {
  pthread_mutex_lock(&w->lock);
  while (w->pending > 0) pthread_cond_wait(&w->cond, &w->lock);
  pthread_mutex_unlock(&w->lock);
}

/* [CLS] ... [SEP] token ids of MiniLM's WordPiece vocabulary */
static const int32_t TEXT_A[] = {101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 102};
static const int32_t TEXT_B[] = {101, 7592, 2088, 102};
static const int32_t TEXT_C[] = {101, 2023, 2003, 1037, 2460, 6251, 2055, 4176, 1012, 102};
static const int32_t TEXT_BAD[] = {101, 999999, 102}; /* past the vocabulary */

/* The real MiniLM on 2 threads, or NULL (a failed check) when it cannot be
 * opened. */
static eng_model *open_model(const char *path) {
  if (access(path, R_OK) != 0) {
    fprintf(stderr, "  %s: %s is absent (scripts/install.sh makes it)\n", test_cur_name, path);
    CHECK(0);
    return NULL;
  }
  eng_model_params p;
  eng_model_params_default(&p);
  p.path = path;
  p.n_threads = 2;
  eng_model *m = NULL;
  char err[256];
  int rc = eng_model_open(&p, &m, err, sizeof err);
  if (rc) fprintf(stderr, "  %s: %s\n", test_cur_name, err);
  CHECK_EQ_INT(rc, HR_OK);
  return rc ? NULL : m;
}
static eng_model *open_minilm(void) { return open_model(MODEL); }

TEST(queued_jobs_share_passes_and_a_bad_one_fails_alone) {
  eng_model *m = open_minilm();
  if (!m) return;
  const int32_t *texts[] = {TEXT_A, TEXT_B, TEXT_C, TEXT_BAD};
  const int lens[] = {HR_ARRAY_LEN(TEXT_A), HR_ARRAY_LEN(TEXT_B), HR_ARRAY_LEN(TEXT_C),
                      HR_ARRAY_LEN(TEXT_BAD)};
  static float alone[3][E], together[3][E], bad[E];
  waiter w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
  job_ref refs[8];
  for (int k = 0; k < 8; k++) refs[k] = (job_ref){&w, k};
  /* each text alone: one job, waited for, then the next */
  for (int k = 0; k < 3; k++) {
    w.pending = 1;
    CHECK(eng_embed_submit(m, &texts[k], &lens[k], 1, alone[k], job_done, &refs[k]) == HR_OK);
    wait_all(&w);
    CHECK_EQ_INT(w.rc[k], HR_OK);
  }
  eng_stats s0;
  eng_model_stats(m, &s0);
  CHECK_EQ_INT(s0.embedded_texts, 3);
  CHECK_EQ_INT(s0.encoder_passes, 3);
  /* A (two texts: B and A), the bad one, then C, queued at once */
  w.pending = 3;
  const int32_t *two[] = {TEXT_B, TEXT_A};
  const int two_lens[] = {lens[1], lens[0]};
  static float pair[2][E];
  CHECK(eng_embed_submit(m, two, two_lens, 2, pair[0], job_done, &refs[4]) == HR_OK);
  CHECK(eng_embed_submit(m, &texts[3], &lens[3], 1, bad, job_done, &refs[5]) == HR_OK);
  CHECK(eng_embed_submit(m, &texts[2], &lens[2], 1, together[2], job_done, &refs[6]) == HR_OK);
  wait_all(&w);
  CHECK_EQ_INT(w.rc[4], HR_OK);
  CHECK_EQ_INT(w.rc[5], HR_EINVAL);
  CHECK_EQ_INT(w.rc[6], HR_OK);
  memcpy(together[1], pair[0], sizeof pair[0]);
  memcpy(together[0], pair[1], sizeof pair[1]);
  for (int k = 0; k < 3; k++) {
    float worst = 0;
    for (int d = 0; d < E; d++) worst = fmaxf(worst, fabsf(together[k][d] - alone[k][d]));
    if (worst > 1e-6f) fprintf(stderr, "  text %d: %g from its vector alone\n", k, worst);
    CHECK(worst <= 1e-6f);
  }
  eng_stats s1;
  eng_model_stats(m, &s1);
  CHECK_EQ_INT(s1.embedded_texts - s0.embedded_texts, 3); /* the bad text is not embedded */
  /* the scheduler may wake between two submissions: at most one pass each */
  CHECK(s1.encoder_passes - s0.encoder_passes >= 1 && s1.encoder_passes - s0.encoder_passes <= 2);
  eng_model_close(m);
}

/* One text through the model opened with HEARTH_WEIGHTS_STREAMED=value;
 * returns whether the model says its float products prefetch. */
static bool embed_with_streamed(const char *value, const int32_t *text, int len, float *out) {
  setenv("HEARTH_WEIGHTS_STREAMED", value, 1);
  eng_model *m = open_minilm();
  unsetenv("HEARTH_WEIGHTS_STREAMED");
  if (!m) return false;
  eng_model_info info;
  eng_model_get_info(m, &info);
  CHECK(info.packed_bytes > 40u << 20); /* every F32 matrix packed: 42 MB */
  waiter w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .pending = 1};
  job_ref ref = {&w, 0};
  CHECK(eng_embed_submit(m, &text, &len, 1, out, job_done, &ref) == HR_OK);
  wait_all(&w);
  CHECK_EQ_INT(w.rc[0], HR_OK);
  eng_model_close(m);
  return info.weights_streamed;
}

/* Weights too large to stay cached take products that prefetch them: the
 * same arithmetic, but the row counts the cached products take transposed
 * (kern_type_ops' rp_xt_*, up to 48 tokens on AVX-512) go through the
 * tiles, whose sums of 1-3 rows run on several chains: the same vector up
 * to float rounding (an 11-token text sums in one order either way, a
 * 3-token one does not). */
TEST(streamed_weights_give_the_same_vectors) {
  const kern_type_ops *f32 = kernels_for_type(TT_F32);
  if (!f32 || !f32->rp_matmul_streamed) SKIP("this kernel path has no streamed float product");
  static const int32_t hello[] = {101, 7592, 102};
  const int32_t *texts[] = {TEXT_A, hello};
  const int lens[] = {HR_ARRAY_LEN(TEXT_A), HR_ARRAY_LEN(hello)};
  for (int t = 0; t < 2; t++) {
    static float cached[E], streamed[E];
    CHECK(!embed_with_streamed("0", texts[t], lens[t], cached));
    CHECK(embed_with_streamed("1", texts[t], lens[t], streamed));
    double norm = 0, max_diff = 0;
    for (int d = 0; d < E; d++) {
      norm += (double)streamed[d] * streamed[d];
      max_diff = fmax(max_diff, fabs((double)streamed[d] - cached[d]));
    }
    CHECK(fabs(norm - 1.0) < 1e-5); /* a real, normalized vector */
    if (!(max_diff < 1e-5)) { /* measured 2.4e-7 at 3 tokens */
      fprintf(stderr, "  FAIL %s: %d-token text: streamed and cached vectors %.3g apart\n",
              test_cur_name, lens[t], max_diff);
      test_cur_failed = 1;
    }
  }
}

/* On a CPU with AMX-BF16 the F32 matrices are split into bfloat16 parts
 * (bf3.h) unless HEARTH_AMX_F32=0, and products of HEARTH_AMX_F32_MIN rows
 * and more take them; =always splits them on any CPU (the plain-C model of
 * the tile steps): the same vector to float32 rounding. */
TEST(split_weights_give_the_same_vectors) {
  static float plain[E], split[E];
  const int32_t *text = TEXT_A;
  int len = HR_ARRAY_LEN(TEXT_A);
  setenv("HEARTH_AMX_F32", "0", 1);
  eng_model *m = open_minilm();
  unsetenv("HEARTH_AMX_F32");
  if (!m) return;
  waiter w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .pending = 1};
  job_ref ref = {&w, 0};
  CHECK(eng_embed_submit(m, &text, &len, 1, plain, job_done, &ref) == HR_OK);
  wait_all(&w);
  eng_model_info info;
  eng_model_get_info(m, &info);
  CHECK_EQ_INT(info.split_bytes, 0); /* turned off */
  eng_model_close(m);
  if ((m = open_minilm())) { /* the default */
    eng_model_get_info(m, &info);
    CHECK(!info.split_bytes == (kernels_get()->bf3_matmul == bf3_matmul_ref)); /* only on AMX */
    eng_model_close(m);
  }
  setenv("HEARTH_AMX_F32", "always", 1);
  setenv("HEARTH_AMX_F32_MIN", "4", 1);
  m = open_minilm();
  unsetenv("HEARTH_AMX_F32");
  if (!m) {
    unsetenv("HEARTH_AMX_F32_MIN");
    return;
  }
  eng_model_get_info(m, &info);
  CHECK(info.split_bytes == info.packed_bytes / 2 * 3); /* every packed F32 matrix, 1.5x */
  w.pending = 1;
  CHECK(eng_embed_submit(m, &text, &len, 1, split, job_done, &ref) == HR_OK);
  wait_all(&w);
  CHECK_EQ_INT(w.rc[0], HR_OK);
  unsetenv("HEARTH_AMX_F32_MIN");
  eng_model_close(m);
  double max_diff = 0, dot = 0;
  for (int d = 0; d < E; d++) {
    max_diff = fmax(max_diff, fabs((double)split[d] - plain[d]));
    dot += (double)split[d] * plain[d];
  }
  if (!(max_diff < 1e-5) || !(dot > 0.999999)) { /* measured 3.8e-7 apart */
    fprintf(stderr, "  FAIL %s: split and plain vectors %.3g apart, cosine %.9f\n", test_cur_name, max_diff, dot);
    test_cur_failed = 1;
  }
}

/* The default: on a CPU with AMX-BF16, a text of HEARTH_AMX_F32_MIN (96)
 * tokens or more takes the split products (F32 and F16 weights), one
 * shorter the FMA tiles; either way its vector is the unsplit one to
 * float32 rounding. */
static void default_split_matches(const char *path) {
  enum { LONG = 120 };
  int32_t long_text[LONG];
  for (int i = 0; i < LONG; i++) long_text[i] = i == 0 ? 101 : i == LONG - 1 ? 102 : 1996 + (i * 37) % 3000;
  static float plain[E], dflt[E];
  const int32_t *text = long_text;
  int len = LONG;
  waiter w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
  job_ref ref = {&w, 0};
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 0) setenv("HEARTH_AMX_F32", "0", 1);
    eng_model *m = open_model(path);
    unsetenv("HEARTH_AMX_F32");
    if (!m) return;
    eng_model_info info;
    eng_model_get_info(m, &info);
    if (pass == 1 && !info.split_bytes) fprintf(stderr, "  (%s: no AMX-BF16 here, both unsplit)\n", test_cur_name);
    w.pending = 1;
    CHECK(eng_embed_submit(m, &text, &len, 1, pass ? dflt : plain, job_done, &ref) == HR_OK);
    wait_all(&w);
    CHECK_EQ_INT(w.rc[0], HR_OK);
    eng_model_close(m);
  }
  double max_diff = 0, dot = 0;
  for (int d = 0; d < E; d++) {
    max_diff = fmax(max_diff, fabs((double)dflt[d] - plain[d]));
    dot += (double)dflt[d] * plain[d];
  }
  if (!(max_diff < 1e-5) || !(dot > 0.999999)) {
    fprintf(stderr, "  FAIL %s: %s: default and unsplit vectors %.3g apart, cosine %.9f\n", test_cur_name, path,
            max_diff, dot);
    test_cur_failed = 1;
  }
}
TEST(the_default_splits_long_texts_only) {
  default_split_matches(MODEL);
  default_split_matches("models/all-minilm-l6-v2-f16.gguf");
}

/* Quantized products have no streamed variant (they always prefetch): a
 * quantized decoder is never said to be streamed, even when asked. */
TEST(quantized_models_are_not_marked_streamed) {
  const char *path = "models/smollm2-135m-instruct.gguf";
  CHECK(access(path, R_OK) == 0);
  setenv("HEARTH_WEIGHTS_STREAMED", "1", 1);
  eng_model_params p;
  eng_model_params_default(&p);
  p.path = path;
  p.n_threads = 2;
  p.n_slots = 1;
  eng_model *m = NULL;
  char err[256];
  int rc = eng_model_open(&p, &m, err, sizeof err);
  unsetenv("HEARTH_WEIGHTS_STREAMED");
  CHECK_EQ_INT(rc, HR_OK);
  if (!m) return;
  eng_model_info info;
  eng_model_get_info(m, &info);
  CHECK(info.packed_bytes > 0);
  CHECK(!info.weights_streamed);
  eng_model_close(m);
}

int main(void) {
  RUN(queued_jobs_share_passes_and_a_bad_one_fails_alone);
  RUN(streamed_weights_give_the_same_vectors);
  RUN(split_weights_give_the_same_vectors);
  RUN(the_default_splits_long_texts_only);
  RUN(quantized_models_are_not_marked_streamed);
  return test_report("embed_jobs");
}
