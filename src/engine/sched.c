/* sched.c — a served model and its scheduler thread (see engine.h).
 *
 * The scheduler owns the slots, the KV cache and the forward context; no
 * other thread touches them. Other threads reach it through the model's
 * lock: the waiting queue, the embedding jobs and the stop flag live under
 * it, and a condition variable wakes the scheduler when any of them change.
 * A request's cancel flag is an atomic read at every step.
 *
 * A slot remembers the tokens whose keys and values it holds after its
 * request ends; a new request takes the slot whose tokens begin like its
 * prompt (or copies that prefix from a busy slot) and starts after it.
 * Requests that arrive together with a common beginning (a shared system
 * prompt) compute it once: the others follow the first, waiting until its
 * prefill has passed the shared part, then copy those keys and values. */
#include "engine.h"

#include "forward.h"
#include "json_constraint.h"
#include "sample_constrained.h"
#include "kernels.h"
#include "model.h"
#include "tokenizer.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct eng_seq {
  _Atomic int refs;
  _Atomic bool cancel;
  eng_model *m;
  eng_seq *next;          /* in the waiting queue */
  /* the request, copied at submit */
  int32_t *prompt;
  int n_prompt;
  int max_tokens;
  sampler_params sp;
  int32_t *bias_ids;
  float *bias_values;
  char **stop;
  int n_stop;
  size_t stop_max;        /* longest stop string */
  int n_logprobs;
  bool prompt_logprobs;   /* PROMPT events (n_logprobs >= 0) */
  bool prompt_only;       /* ends when the prompt is computed */
  jc_schema *jc;          /* response_format's automaton, or NULL */
  jc_state *jcs;          /* the output so far, as it reads it */
  eng_event_fn on_event;
  void *user;
  /* progress, owned by the scheduler */
  int slot;
  int n_past;             /* positions in the slot's KV that are this sequence's */
  int n_cached;
  int n_generated;
  int32_t last;           /* the token to feed next (decode phase) */
  eng_seq *leader;        /* non-NULL: waits for leader's prefill to pass */
  int follow_len;         /* ... this many prompt tokens, then copies them */
  bool decoding;          /* prompt done, generating */
  tok_stream ts;
  hr_buf held;            /* text held back: it may begin a stop string */
  uint64_t t_submit, t_slot, t_first;
};

typedef struct {
  eng_seq *seq;           /* NULL: free */
  int32_t *tokens;        /* what the KV holds, position by position */
  int n_tokens;
  uint64_t last_used;
  sampler *smp;
} slot;

typedef struct embed_job {
  struct embed_job *next;
  const int32_t *const *texts;
  const int *lens;
  int n;
  float *out;
  int rc;
  eng_embed_fn done;
  void *user;
  const _Atomic bool *gone; /* the caller's: true once nobody waits for it */
  int next_text;            /* an encoder's: the first text not yet in a pass */
} embed_job;

/* One sequence's draw of a step, or the score of one of its prompt
 * tokens: made on the pool (each sequence has its own sampler; scores
 * need none), emitted afterwards in batch order on the scheduler thread. */
struct sampled {
  eng_seq *seq;
  int row; /* its logits row */
  int32_t id; /* drawn, or the prompt token scored */
  token_logprob chosen, top[ENG_TOP_MAX];
};

struct eng_model {
  eng_model_params p;
  char name[128];
  model *mdl;
  int64_t created;
  hr_pool *pool;
  kv_cache *kv;
  fwd_ctx *fc;
  bert_ctx *bc;
  slot *slots;
  fwd_token *batch;
  eng_seq **batch_seq;    /* which sequence each batch token belongs to */
  float *logits;          /* n_slots rows of scratch for the samplers */
  struct sampled *sampled; /* n_slots: this step's draws, made on the pool */
  struct sampled *scored;  /* n_batch: this step's prompt-token scores */
  eng_seq **through;       /* n_slots: this step's prompts scored with nothing to generate */
  float *hidden;          /* decoder embeddings: n_batch rows of n_embd */
  /* an encoder's pass scratch: its token ids (EMBED_TOKENS or the context),
   * texts' lengths and origins (EMBED_TEXTS) and vectors (EMBED_TEXTS rows
   * of n_embd), made once with the model */
  int32_t *embed_ids;
  int *embed_lens;
  struct embed_ref *embed_refs;
  float *embed_out;
  char *piece;            /* a decoded token's text (3 x the longest piece) */
  size_t piece_cap;
  pthread_t thread;
  pthread_mutex_t lock;   /* guards the fields down to `stopping` */
  pthread_cond_t wake;    /* the scheduler waits here */
  eng_seq *q_head, *q_tail;
  int q_len;
  embed_job *embeds, *embeds_tail; /* waiting, oldest first */
  bool stopping;
  /* counters, written by the scheduler or under the lock */
  _Atomic uint64_t st_requests, st_cancelled, st_prompt, st_cached, st_generated, st_hits,
      st_busy, st_steps, st_busy_ns, st_mixed, st_mixed_max, st_embed_texts, st_embed_passes;
  _Atomic int st_active;
};

static double ms_between(uint64_t a, uint64_t b) { return b > a ? (double)(b - a) / 1e6 : 0.0; }

void eng_model_params_default(eng_model_params *p) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  *p = (eng_model_params){.n_slots = 4, .n_ctx = 0, .n_threads = cores > 0 ? (int)cores : 1,
                          .n_batch = 256, .n_batch_busy = 32, .queue_max = 64};
}

/* ---- sequences ------------------------------------------------------------ */

static void seq_unref(eng_seq *s) {
  if (atomic_fetch_sub(&s->refs, 1) != 1) return;
  free(s->prompt);
  free(s->bias_ids);
  free(s->bias_values);
  for (int i = 0; i < s->n_stop; i++) free(s->stop[i]);
  free(s->stop);
  jc_free(s->jc);
  free(s->jcs);
  hr_buf_free(&s->held);
  free(s);
}

void eng_seq_release(eng_seq *s) {
  if (s) seq_unref(s);
}

void eng_cancel(eng_seq *s) {
  if (!s) return;
  atomic_store(&s->cancel, true);
  eng_model *m = s->m;
  pthread_mutex_lock(&m->lock);
  pthread_cond_signal(&m->wake);
  pthread_mutex_unlock(&m->lock);
}

static eng_seq *seq_new(eng_model *m, const eng_gen_params *p) {
  eng_seq *s = calloc(1, sizeof *s);
  if (!s) {
    jc_free(p->constraint);
    return NULL;
  }
  atomic_init(&s->refs, 2); /* the engine's and the submitter's */
  s->m = m;
  s->slot = -1;
  s->n_prompt = p->n_prompt;
  s->max_tokens = p->max_tokens;
  s->sp = p->sampling;
  s->n_logprobs = HR_MIN(p->n_logprobs, ENG_TOP_MAX);
  s->prompt_logprobs = p->prompt_logprobs && p->n_logprobs >= 0;
  s->prompt_only = p->prompt_only;
  s->on_event = p->on_event;
  s->user = p->user;
  s->ts = (tok_stream)TOK_STREAM_INIT;
  s->jc = p->constraint;
  s->prompt = malloc(sizeof(int32_t) * (size_t)p->n_prompt);
  bool ok = s->prompt != NULL;
  if (ok && s->jc) {
    ok = (s->jcs = malloc(sizeof *s->jcs)) != NULL;
    if (ok) jc_init(s->jc, s->jcs);
  }
  if (ok) memcpy(s->prompt, p->prompt, sizeof(int32_t) * (size_t)p->n_prompt);
  if (ok && p->sampling.n_bias > 0) {
    s->bias_ids = malloc(sizeof(int32_t) * (size_t)p->sampling.n_bias);
    s->bias_values = malloc(sizeof(float) * (size_t)p->sampling.n_bias);
    ok = s->bias_ids && s->bias_values;
    if (ok) {
      memcpy(s->bias_ids, p->sampling.bias_ids, sizeof(int32_t) * (size_t)p->sampling.n_bias);
      memcpy(s->bias_values, p->sampling.bias_values, sizeof(float) * (size_t)p->sampling.n_bias);
      s->sp.bias_ids = s->bias_ids;
      s->sp.bias_values = s->bias_values;
    }
  }
  if (ok && p->n_stop > 0 && !p->constraint) {
    s->stop = calloc((size_t)p->n_stop, sizeof(char *));
    ok = s->stop != NULL;
    for (int i = 0; ok && i < p->n_stop; i++) {
      if (!p->stop[i][0]) continue; /* an empty stop string never matches */
      ok = (s->stop[s->n_stop] = strdup(p->stop[i])) != NULL;
      if (!ok) break;
      size_t len = strlen(s->stop[s->n_stop++]); /* not inside HR_MAX: it evaluates twice */
      s->stop_max = HR_MAX(s->stop_max, len);
    }
  }
  if (!ok) {
    atomic_store(&s->refs, 1);
    seq_unref(s);
    return NULL;
  }
  return s;
}

int eng_submit(eng_model *m, const eng_gen_params *p, eng_seq **out) {
  int bad = m->mdl->hp.arch == ARCH_BERT                          ? HR_EINVAL
            : p->n_prompt <= 0 || p->n_prompt >= m->p.n_ctx       ? HR_ERANGE
                                                                  : HR_OK;
  for (int i = 0; !bad && i < p->n_prompt; i++)
    if (p->prompt[i] < 0 || p->prompt[i] >= m->mdl->hp.n_vocab) bad = HR_EINVAL;
  if (bad) {
    jc_free(p->constraint);
    return bad;
  }
  eng_seq *s = seq_new(m, p); /* owns the constraint now, even when it fails */
  if (!s) return HR_ENOMEM;
  s->t_submit = hr_now_ns();
  pthread_mutex_lock(&m->lock);
  /* Room: the free slots plus queue_max waiting (the active count is the
   * scheduler's, read without its cooperation: at worst one step stale). */
  int free_slots = m->p.n_slots - atomic_load(&m->st_active);
  if (m->stopping || m->q_len >= m->p.queue_max + HR_MAX(free_slots, 0)) {
    pthread_mutex_unlock(&m->lock);
    atomic_fetch_add(&m->st_busy, 1);
    atomic_store(&s->refs, 1);
    seq_unref(s);
    return HR_EBUSY;
  }
  if (m->q_tail) m->q_tail->next = s;
  else m->q_head = s;
  m->q_tail = s;
  m->q_len++;
  atomic_fetch_add(&m->st_requests, 1);
  pthread_cond_signal(&m->wake);
  pthread_mutex_unlock(&m->lock);
  *out = s;
  return HR_OK;
}

/* ---- the scheduler: admitting ------------------------------------------- */

/* How many more tokens than the KV holds a waiting prompt must share with
 * one being prefilled before it waits for that one. */
#define FOLLOW_MIN 8

static int common_prefix(const int32_t *a, int na, const int32_t *b, int nb) {
  int n = HR_MIN(na, nb), i = 0;
  while (i < n && a[i] == b[i]) i++;
  return i;
}

/* Puts s in a free slot, reusing the longest cached prefix of its prompt. */
static void admit(eng_model *m, eng_seq *s, int free_slot_hint) {
  int best = -1, best_len = 0;
  for (int i = 0; i < m->p.n_slots; i++) {
    int l = common_prefix(m->slots[i].tokens, m->slots[i].n_tokens, s->prompt, s->n_prompt);
    if (l > best_len) best = i, best_len = l;
  }
  /* At least the last prompt token is computed again: its logits start
   * the generation. A scored prompt is computed whole. */
  best_len = HR_MIN(best_len, s->prompt_logprobs ? 0 : s->n_prompt - 1);
  int target = free_slot_hint;
  if (best >= 0 && !m->slots[best].seq) target = best;
  slot *sl = &m->slots[target];
  if (best >= 0 && best != target && best_len > 0) {
    kv_cache_copy(m->kv, target, best, best_len);
    memcpy(sl->tokens, m->slots[best].tokens, sizeof(int32_t) * (size_t)best_len);
  }
  if (best < 0) best_len = 0;
  sl->seq = s;
  sl->n_tokens = best_len;
  s->slot = target;
  s->n_past = best_len;
  s->n_cached = best_len;
  s->t_slot = hr_now_ns();
  sampler_reset(sl->smp, &s->sp);
  for (int i = 0; i < s->n_prompt; i++) sampler_accept(sl->smp, s->prompt[i]);
  atomic_fetch_add(&m->st_prompt, (uint64_t)s->n_prompt);
  if (best_len > 0) {
    atomic_fetch_add(&m->st_cached, (uint64_t)best_len);
    atomic_fetch_add(&m->st_hits, 1);
  }
  atomic_fetch_add(&m->st_active, 1);
  /* A prompt still being prefilled that shares more than the KV holds:
   * waiting for it costs this request at most the leader's steps, which
   * it would have shared anyway, and saves recomputing the shared part. */
  int lead = -1, lead_len = 0;
  for (int i = 0; i < m->p.n_slots && !s->prompt_logprobs; i++) {
    eng_seq *o = m->slots[i].seq;
    if (!o || o == s || o->decoding || o->leader) continue;
    int l = HR_MIN(common_prefix(o->prompt, o->n_prompt, s->prompt, s->n_prompt), s->n_prompt - 1);
    if (l > lead_len) lead = i, lead_len = l;
  }
  if (lead >= 0 && lead_len >= best_len + FOLLOW_MIN) {
    s->leader = m->slots[lead].seq;
    s->follow_len = lead_len;
  }
}

/* s stops following: it copies what its leader's slot holds of their
 * common prefix (all of it, unless the leader ended early). */
static void stop_following(eng_model *m, eng_seq *s) {
  const slot *ls = &m->slots[s->leader->slot];
  slot *sl = &m->slots[s->slot];
  int len = HR_MIN(s->follow_len, common_prefix(ls->tokens, ls->n_tokens, s->prompt, s->n_prompt));
  if (len > s->n_past) {
    kv_cache_copy(m->kv, s->slot, s->leader->slot, len);
    memcpy(sl->tokens, ls->tokens, sizeof(int32_t) * (size_t)len);
    sl->n_tokens = len;
    if (s->n_cached == 0) atomic_fetch_add(&m->st_hits, 1);
    atomic_fetch_add(&m->st_cached, (uint64_t)(len - s->n_past));
    s->n_past = s->n_cached = len;
  }
  s->leader = NULL;
}

/* The free slot to fill next: an empty one, else the least recently used. */
static int pick_free_slot(eng_model *m) {
  int pick = -1;
  for (int i = 0; i < m->p.n_slots; i++) {
    if (m->slots[i].seq) continue;
    if (pick < 0 || m->slots[i].last_used < m->slots[pick].last_used) pick = i;
  }
  return pick;
}

/* ---- the scheduler: emitting ---------------------------------------------- */

static void finish(eng_model *m, eng_seq *s, eng_finish why) {
  /* What was held back for a possible stop string is text after all. */
  char tail[8];
  size_t n = tok_stream_flush(&s->ts, tail, sizeof tail);
  if (why != ENG_FINISH_STOP || n) hr_buf_append(&s->held, tail, n);
  eng_event ev = {.kind = ENG_EV_TOKEN, .token = -1};
  if (s->held.len && why != ENG_FINISH_CANCELLED) {
    ev.text = s->held.data;
    ev.text_len = s->held.len;
    s->on_event(s, &ev, s->user);
  }
  uint64_t now = hr_now_ns();
  ev = (eng_event){.kind = ENG_EV_DONE,
                   .finish = why,
                   .n_prompt = s->n_prompt,
                   .n_cached = s->n_cached,
                   .n_generated = s->n_generated,
                   .queue_ms = ms_between(s->t_submit, s->t_slot ? s->t_slot : now),
                   .ttft_ms = ms_between(s->t_submit, s->t_first ? s->t_first : now),
                   .gen_ms = ms_between(s->t_first ? s->t_first : now, now)};
  if (s->slot >= 0) {
    for (int i = 0; i < m->p.n_slots; i++) /* nobody waits for a request that ended */
      if (m->slots[i].seq && m->slots[i].seq->leader == s) stop_following(m, m->slots[i].seq);
    m->slots[s->slot].seq = NULL;
    m->slots[s->slot].last_used = now;
    atomic_fetch_sub(&m->st_active, 1);
  }
  if (why == ENG_FINISH_CANCELLED) atomic_fetch_add(&m->st_cancelled, 1);
  s->on_event(s, &ev, s->user);
  seq_unref(s);
}

/* Index in held where a stop string matches, or -1; *keep gets how many
 * bytes at the end might still start one. */
static long stop_scan(const eng_seq *s, size_t *keep) {
  *keep = 0;
  const char *t = s->held.data;
  size_t n = s->held.len;
  for (int i = 0; i < s->n_stop; i++) {
    const char *hit = memmem(t, n, s->stop[i], strlen(s->stop[i]));
    if (hit) return hit - t;
  }
  for (int i = 0; i < s->n_stop; i++) {
    size_t sl = strlen(s->stop[i]);
    for (size_t k = HR_MIN(sl - 1, n); k > *keep; k--)
      if (!memcmp(t + n - k, s->stop[i], k)) {
        *keep = k;
        break;
      }
  }
  return -1;
}

/* A token was sampled for s: send it, then decide whether s goes on. */
static void emit(eng_model *m, eng_seq *s, int32_t id, const token_logprob *chosen,
                 const token_logprob *top, int n_top) {
  const tokenizer *tok = m->mdl->tok;
  if (!s->t_first) s->t_first = hr_now_ns();
  if (id < 0) { /* no token fits the output's constraint */
    finish(m, s, ENG_FINISH_ERROR);
    return;
  }
  if (tok_is_eog(tok, id)) {
    finish(m, s, ENG_FINISH_STOP);
    return;
  }
  s->n_generated++;
  atomic_fetch_add(&m->st_generated, 1);
  sampler_accept(m->slots[s->slot].smp, id);
  size_t n = tok_stream_push(&s->ts, tok, id, false, m->piece, m->piece_cap);
  hr_buf_append(&s->held, m->piece, n);
  size_t keep = 0;
  long at = s->n_stop ? stop_scan(s, &keep) : -1;
  eng_event ev = {.kind = ENG_EV_TOKEN, .token = id, .n_top = n_top};
  if (chosen) ev.chosen = *chosen;
  if (n_top) memcpy(ev.top, top, sizeof(token_logprob) * (size_t)n_top);
  if (at >= 0) {
    s->held.len = (size_t)at; /* the stop string itself is not output */
    ev.text = s->held.data;
    ev.text_len = s->held.len;
    s->on_event(s, &ev, s->user);
    hr_buf_clear(&s->held);
    tok_stream_flush(&s->ts, m->piece, m->piece_cap);
    finish(m, s, ENG_FINISH_STOP);
    return;
  }
  ev.text = s->held.data;
  ev.text_len = s->held.len - keep;
  s->on_event(s, &ev, s->user);
  hr_buf_consume(&s->held, s->held.len - keep);
  s->last = id;
  s->decoding = true;
  if (s->jcs && jc_complete(s->jcs)) {
    finish(m, s, ENG_FINISH_STOP); /* the JSON is whole: nothing may follow */
    return;
  }
  if ((s->max_tokens > 0 && s->n_generated >= s->max_tokens) || s->n_past >= m->p.n_ctx) {
    finish(m, s, ENG_FINISH_LENGTH);
  }
}

/* ---- the scheduler: one step ------------------------------------------------ */

/* Builds the batch: every decoding sequence's next token first (so streams
 * never wait behind a long prompt), then prompt chunks within n_batch, or
 * within n_batch_busy when sequences are generating: a step's time is their
 * inter-token gap, so a long prompt is spread over many short steps. When
 * nothing is generating, the first waiting prompt goes whole (up to
 * n_batch) and others join it only within n_batch_busy: a burst of long
 * prompts then starts streaming one by one instead of all after the sum of
 * their prefills (lower median time to first token), while short ones
 * still share one step. */
static int build_batch(eng_model *m) {
  int n = 0, budget = m->p.n_batch;
  for (int i = 0; i < m->p.n_slots && n < budget; i++) {
    eng_seq *s = m->slots[i].seq;
    if (!s || !s->decoding) continue;
    m->batch[n] = (fwd_token){s->last, i, s->n_past, true};
    m->batch_seq[n++] = s;
  }
  int n_decoding = n;
  if (n > 0) budget = HR_MIN(budget, n + m->p.n_batch_busy);
  for (int i = 0; i < m->p.n_slots; i++) {
    eng_seq *s = m->slots[i].seq;
    if (s && s->leader && (s->leader->decoding || s->leader->n_past >= s->follow_len))
      stop_following(m, s);
  }
  for (int i = 0; i < m->p.n_slots && n < budget; i++) {
    eng_seq *s = m->slots[i].seq;
    if (!s || s->decoding || s->leader) continue;
    int take = HR_MIN(budget - n, s->n_prompt - s->n_past);
    for (int k = 0; k < take; k++) {
      int pos = s->n_past + k;
      bool last = pos == s->n_prompt - 1;
      m->batch[n] = (fwd_token){s->prompt[pos], i, pos, last ? !s->prompt_only : s->prompt_logprobs};
      m->batch_seq[n++] = s;
    }
    if (n_decoding == 0) budget = HR_MAX(n, HR_MIN(budget, m->p.n_batch_busy));
  }
  if (n_decoding > 0 && n > n_decoding) {
    atomic_fetch_add(&m->st_mixed, 1);
    if ((uint64_t)(n - n_decoding) > atomic_load(&m->st_mixed_max))
      atomic_store(&m->st_mixed_max, (uint64_t)(n - n_decoding));
  }
  return n;
}

static void sample_worker(void *arg, int k, int thread_id) {
  eng_model *m = arg;
  HR_UNUSED(thread_id);
  struct sampled *d = &m->sampled[k];
  eng_seq *s = d->seq;
  int n_vocab = m->mdl->hp.n_vocab;
  float *logits = m->logits + (size_t)k * (size_t)n_vocab;
  sampler *smp = m->slots[s->slot].smp;
  int n_top = s->n_logprobs > 0 ? s->n_logprobs : 0;
  token_logprob *chosen = s->n_logprobs >= 0 ? &d->chosen : NULL;
  d->id = sample_constrained(smp, m->mdl->tok, s->jcs, fwd_logits(m->fc, d->row), logits, n_vocab,
                             n_top, chosen, d->top);
}

static void score_worker(void *arg, int k, int thread_id) {
  eng_model *m = arg;
  HR_UNUSED(thread_id);
  struct sampled *d = &m->scored[k];
  sampler_logprobs(fwd_logits(m->fc, d->row), m->mdl->hp.n_vocab, d->id,
                   HR_MAX(d->seq->n_logprobs, 0), &d->chosen, d->top);
}

static void step(eng_model *m) {
  int n = build_batch(m);
  if (n == 0) return;
  uint64_t t0 = hr_now_ns();
  int rc = fwd_decode(m->fc, m->batch, n);
  atomic_fetch_add(&m->st_busy_ns, hr_now_ns() - t0);
  atomic_fetch_add(&m->st_steps, 1);
  if (rc) {
    for (int i = 0; i < m->p.n_slots; i++)
      if (m->slots[i].seq) finish(m, m->slots[i].seq, ENG_FINISH_ERROR);
    return;
  }
  /* Record what the KV now holds, then sample for the tokens with logits. */
  for (int i = 0; i < n; i++) {
    slot *sl = &m->slots[m->batch[i].slot];
    sl->tokens[m->batch[i].pos] = m->batch[i].token;
    sl->n_tokens = m->batch[i].pos + 1;
    m->batch_seq[i]->n_past = m->batch[i].pos + 1;
  }
  /* Logits rows come in batch order: a prompt token's (scored against the
   * next prompt token) or a sequence's last (drawn from). */
  int n_sampled = 0, n_scored = 0, row = 0, n_through = 0;
  for (int i = 0; i < n; i++) {
    eng_seq *s = m->batch_seq[i];
    int pos = m->batch[i].pos;
    /* a prompt scored with nothing to generate ends once it is through
     * (after the emits below, which may free other sequences of the batch,
     * but not these: they draw nothing) */
    if (s->prompt_only && pos == s->n_prompt - 1) m->through[n_through++] = s;
    if (!m->batch[i].logits) continue;
    if (!s->decoding && pos < s->n_prompt - 1)
      m->scored[n_scored++] = (struct sampled){.seq = s, .row = row, .id = s->prompt[pos + 1]};
    else
      m->sampled[n_sampled++] = (struct sampled){.seq = s, .row = row};
    row++;
  }
  if (n_scored) {
    hr_pool_run(m->pool, score_worker, m, n_scored, false);
    for (int k = 0; k < n_scored; k++) {
      struct sampled *d = &m->scored[k];
      eng_event ev = {.kind = ENG_EV_PROMPT, .text = "", .token = d->id, .chosen = d->chosen,
                      .n_top = HR_MIN(d->seq->n_logprobs, m->mdl->hp.n_vocab)};
      memcpy(ev.top, d->top, sizeof(token_logprob) * (size_t)ev.n_top);
      d->seq->on_event(d->seq, &ev, d->seq->user);
    }
  }
  /* Several sequences: their draws (a softmax over the vocabulary each)
   * share the pool instead of leaving it waiting. */
  hr_pool_run(m->pool, sample_worker, m, n_sampled, n_sampled < 2);
  for (int k = 0; k < n_sampled; k++) {
    struct sampled *d = &m->sampled[k];
    eng_seq *s = d->seq;
    int n_top = s->n_logprobs > 0 ? s->n_logprobs : 0;
    emit(m, s, d->id, s->n_logprobs >= 0 ? &d->chosen : NULL, d->top, n_top);
  }
  for (int k = 0; k < n_through; k++) finish(m, m->through[k], ENG_FINISH_LENGTH);
}

/* ---- embeddings ------------------------------------------------------------- */

/* A decoder embeds a text in its own KV slot (n_slots), prefilled in
 * chunks of n_batch, pooling the final hidden states by the model's
 * pooling (last token by default), then L2-normalizing. Runs between two
 * steps, so generating streams pause for it. */
static int decoder_embed(eng_model *m, const int32_t *text, int len, float *out) {
  const model_hparams *hp = &m->mdl->hp;
  int E = hp->n_embd, slot = m->p.n_slots;
  len = HR_MIN(len, m->p.n_ctx);
  if (len <= 0) return HR_EINVAL;
  memset(out, 0, sizeof(float) * (size_t)E);
  for (int p0 = 0; p0 < len; p0 += m->p.n_batch) {
    int n = HR_MIN(m->p.n_batch, len - p0);
    for (int i = 0; i < n; i++) m->batch[i] = (fwd_token){text[p0 + i], slot, p0 + i, false};
    int rc = fwd_hidden(m->fc, m->batch, n, m->hidden);
    if (rc) return rc;
    for (int i = 0; i < n; i++) {
      const float *h = m->hidden + (size_t)i * E;
      int pos = p0 + i;
      if (hp->pooling == 1) kern_add(out, out, h, E);
      else if ((hp->pooling == 2 && pos == 0) || (hp->pooling == 3 && pos == len - 1))
        memcpy(out, h, sizeof(float) * (size_t)E);
    }
  }
  if (hp->pooling == 1) kern_scale(out, 1.0f / (float)len, E);
  float norm = sqrtf(kern_dot_f32(out, out, E));
  if (norm > 0) kern_scale(out, 1.0f / norm, E);
  return HR_OK;
}

#define EMBED_TOKENS 2048
/* Calls back and frees a list of jobs; rc overrides theirs when nonzero. */
static void embed_jobs_done(embed_job *j, int rc) {
  while (j) {
    embed_job *next = j->next;
    j->done(j->user, rc ? rc : j->rc);
    free(j);
    j = next;
  }
}

/* Whether job j has nothing more to embed before text i: failed, through,
 * or given up by its caller (then its texts not yet embedded are skipped,
 * and it ends HR_ECLOSED, counted as a cancellation). */
static bool job_over(eng_model *m, embed_job *j, int i) {
  if (!j->rc && j->gone && i < j->n && atomic_load_explicit(j->gone, memory_order_relaxed)) {
    j->rc = HR_ECLOSED;
    atomic_fetch_add(&m->st_cancelled, 1);
  }
  return j->rc || i >= j->n;
}

/* Texts a pass takes at most (the size of its output scratch). */
#define EMBED_TEXTS 256

/* Where a pass's text came from: job j's text i. */
typedef struct embed_ref {
  embed_job *j;
  int i;
} embed_ref;

/* A decoder's jobs, text by text in its embedding slot. */
static void run_decoder_job(eng_model *m, embed_job *j) {
  int E = m->mdl->hp.n_embd;
  j->rc = HR_OK;
  for (int i = 0; !job_over(m, j, i); i++)
    j->rc = decoder_embed(m, j->texts[i], j->lens[i], j->out + (size_t)i * E);
}

/* A job the encoder would refuse (an empty text, an id past the
 * vocabulary) fails alone, not the pass it would share with others. */
static void check_job(const model_hparams *hp, embed_job *j) {
  int ctx = hp->n_ctx_train;
  j->rc = HR_OK;
  j->next_text = 0;
  for (int i = 0; i < j->n && !j->rc; i++) {
    if (j->lens[i] <= 0) j->rc = HR_EINVAL;
    for (int k = 0; k < HR_MIN(j->lens[i], ctx) && !j->rc; k++)
      if (j->texts[i][k] < 0 || j->texts[i][k] >= hp->n_vocab) j->rc = HR_EINVAL;
  }
}

/* Puts the jobs submitted since the last look (checked, in arrival order)
 * at the front of *jobs: they go first in the next pass, ahead of those
 * already served; false when the model is closing. */
static bool take_arrivals(eng_model *m, embed_job **jobs) {
  pthread_mutex_lock(&m->lock);
  embed_job *arrived = m->embeds;
  m->embeds = m->embeds_tail = NULL;
  bool open = !m->stopping;
  pthread_mutex_unlock(&m->lock);
  if (!arrived) return open;
  embed_job *last = arrived;
  for (embed_job *j = arrived; j; j = j->next) {
    check_job(&m->mdl->hp, j);
    last = j;
  }
  last->next = *jobs;
  *jobs = arrived;
  return open;
}

/* An encoder's waiting jobs together, through passes of as many texts as
 * fit EMBED_TOKENS tokens (and EMBED_TEXTS texts), so that requests that
 * came in while a pass ran share the next one: each weight is read once for
 * all of them and the pool syncs once per step. A pass takes one text of
 * each job in turn, jobs submitted meanwhile join at the front before every
 * pass, and the job a pass began with goes last, so a single text does not
 * wait behind a batch of thousands, nor behind batches of texts that fill
 * a pass by themselves; each job is called back (and freed) as soon as its
 * texts are through, or skipped once its caller has gone. A text too long
 * is cut to the context, keeping its closing [SEP]. */
static void run_encoder_jobs(eng_model *m, embed_job *jobs) {
  const model_hparams *hp = &m->mdl->hp;
  int ctx = hp->n_ctx_train, E = hp->n_embd, cap = HR_MAX(ctx, EMBED_TOKENS);
  int32_t sep = tok_sep(m->mdl->tok);
  int32_t *buf = m->embed_ids;
  int *lens = m->embed_lens;
  embed_ref *refs = m->embed_refs;
  for (embed_job *j = jobs; j; j = j->next) check_job(hp, j);
  for (;;) {
    bool open = take_arrivals(m, &jobs);
    /* the jobs that are through (or failed, or given up), answered now */
    for (embed_job **at = &jobs; *at;) {
      embed_job *j = *at;
      if (open && !job_over(m, j, j->next_text)) {
        at = &j->next;
        continue;
      }
      *at = j->next;
      j->next = NULL;
      bool through = j->rc || j->next_text >= j->n; /* else closing under it */
      embed_jobs_done(j, through ? HR_OK : HR_ECLOSED);
    }
    if (!jobs) break;
    int used = 0, n = 0;
    for (bool took = true; took && n < EMBED_TEXTS;) {
      took = false;
      for (embed_job *j = jobs; j && n < EMBED_TEXTS; j = j->next) {
        int i = j->next_text;
        if (job_over(m, j, i)) continue;
        int len = HR_MIN(j->lens[i], ctx);
        if (n > 0 && used + len > cap) continue; /* a shorter text of another job may fit */
        memcpy(buf + used, j->texts[i], sizeof(int32_t) * (size_t)len);
        if (j->lens[i] > ctx && sep >= 0) buf[used + len - 1] = sep;
        lens[n] = len;
        refs[n].j = j, refs[n].i = i;
        n++, used += len, j->next_text++;
        took = true;
      }
    }
    if (!n) continue; /* every job left was given up while the pass was built */
    int prc = bert_embed(m->bc, buf, lens, n, true, m->embed_out);
    for (int t = 0; t < n; t++) {
      embed_job *o = refs[t].j;
      if (prc) o->rc = prc;
      else memcpy(o->out + (size_t)refs[t].i * E, m->embed_out + (size_t)t * E, sizeof(float) * (size_t)E);
    }
    atomic_fetch_add(&m->st_embed_passes, 1);
    atomic_fetch_add(&m->st_embed_texts, (uint64_t)n);
    /* The job that went first goes last: the next pass starts with another,
     * so texts that fill a pass by themselves (full contexts) cannot keep a
     * later job out of every pass. */
    if (n && jobs->next) {
      embed_job *first = jobs, **end = &jobs->next;
      while (*end) end = &(*end)->next;
      jobs = first->next;
      first->next = NULL;
      *end = first;
    }
  }
}

int eng_embed_submit(eng_model *m, const int32_t *const *texts, const int *lens, int n, float *out,
                     eng_embed_fn done, void *user) {
  return eng_embed_submit_until(m, texts, lens, n, out, done, user, NULL);
}

int eng_embed_submit_until(eng_model *m, const int32_t *const *texts, const int *lens, int n,
                           float *out, eng_embed_fn done, void *user, const _Atomic bool *gone) {
  embed_job *j = malloc(sizeof *j); /* owned by the scheduler until done */
  if (!j) return HR_ENOMEM;
  *j = (embed_job){
      .texts = texts, .lens = lens, .n = n, .out = out, .done = done, .user = user, .gone = gone};
  pthread_mutex_lock(&m->lock);
  if (m->stopping) {
    pthread_mutex_unlock(&m->lock);
    free(j);
    return HR_ECLOSED;
  }
  if (m->embeds_tail) m->embeds_tail->next = j;
  else m->embeds = j;
  m->embeds_tail = j;
  pthread_cond_signal(&m->wake);
  pthread_mutex_unlock(&m->lock);
  return HR_OK;
}

/* ---- the loop ------------------------------------------------------------------ */

static bool any_active(eng_model *m) {
  for (int i = 0; i < m->p.n_slots; i++)
    if (m->slots[i].seq) return true;
  return false;
}

static void *sched_main(void *arg) {
  eng_model *m = arg;
  for (;;) {
    pthread_mutex_lock(&m->lock);
    while (!m->stopping && !m->q_head && !m->embeds && !any_active(m))
      pthread_cond_wait(&m->wake, &m->lock);
    if (m->stopping) {
      pthread_mutex_unlock(&m->lock);
      break;
    }
    int free_slot;
    while (m->q_head && (free_slot = pick_free_slot(m)) >= 0) {
      eng_seq *s = m->q_head;
      m->q_head = s->next;
      if (!m->q_head) m->q_tail = NULL;
      m->q_len--;
      s->next = NULL;
      if (atomic_load(&s->cancel)) {
        pthread_mutex_unlock(&m->lock);
        finish(m, s, ENG_FINISH_CANCELLED);
        pthread_mutex_lock(&m->lock);
        continue;
      }
      admit(m, s, free_slot);
    }
    embed_job *jobs = m->embeds;
    m->embeds = m->embeds_tail = NULL;
    pthread_mutex_unlock(&m->lock);

    if (jobs && m->bc) {
      run_encoder_jobs(m, jobs);
    } else if (jobs) {
      for (embed_job *j = jobs; j; j = j->next) run_decoder_job(m, j);
      embed_jobs_done(jobs, HR_OK);
    }
    for (int i = 0; i < m->p.n_slots; i++) {
      eng_seq *s = m->slots[i].seq;
      if (s && atomic_load(&s->cancel)) finish(m, s, ENG_FINISH_CANCELLED);
    }
    step(m);
  }
  /* Closing: everything still queued or running ends cancelled. */
  for (int i = 0; i < m->p.n_slots; i++)
    if (m->slots[i].seq) finish(m, m->slots[i].seq, ENG_FINISH_CANCELLED);
  pthread_mutex_lock(&m->lock);
  eng_seq *q = m->q_head;
  m->q_head = m->q_tail = NULL;
  m->q_len = 0;
  embed_job *jobs = m->embeds;
  m->embeds = m->embeds_tail = NULL;
  pthread_mutex_unlock(&m->lock);
  embed_jobs_done(jobs, HR_ECLOSED);
  while (q) {
    eng_seq *next = q->next;
    finish(m, q, ENG_FINISH_CANCELLED);
    q = next;
  }
  return NULL;
}

/* ---- open and close ----------------------------------------------------------- */

static int alloc_runtime(eng_model *m) {
  const model_hparams *hp = &m->mdl->hp;
  m->pool = hr_pool_new(m->p.n_threads);
  if (!m->pool) return HR_ENOMEM;
  if (hp->arch == ARCH_BERT) {
    /* An encoder has no slots: only embedding jobs reach its scheduler. */
    m->p.n_slots = 0;
    m->p.n_ctx = hp->n_ctx_train;
    m->embed_ids = malloc(sizeof(int32_t) * (size_t)HR_MAX(hp->n_ctx_train, EMBED_TOKENS));
    m->embed_lens = malloc(sizeof(int) * EMBED_TEXTS);
    m->embed_refs = malloc(sizeof(embed_ref) * EMBED_TEXTS);
    m->embed_out = malloc(sizeof(float) * EMBED_TEXTS * (size_t)hp->n_embd);
    if (!m->embed_ids || !m->embed_lens || !m->embed_refs || !m->embed_out) return HR_ENOMEM;
    return bert_ctx_new(m->mdl, m->pool, HR_MAX(hp->n_ctx_train, EMBED_TOKENS), &m->bc);
  }
  /* One KV slot beyond the generating ones: embeddings' (slot n_slots). */
  int rc = kv_cache_new(m->mdl, m->p.n_slots + 1, m->p.n_ctx, &m->kv);
  if (!rc) rc = fwd_ctx_new(m->mdl, m->kv, m->pool, m->p.n_batch, &m->fc);
  if (rc) return rc;
  m->slots = calloc((size_t)m->p.n_slots, sizeof *m->slots);
  m->batch = malloc(sizeof(fwd_token) * (size_t)m->p.n_batch);
  m->batch_seq = malloc(sizeof(eng_seq *) * (size_t)m->p.n_batch);
  m->logits = malloc(sizeof(float) * (size_t)hp->n_vocab * (size_t)m->p.n_slots);
  m->sampled = calloc((size_t)m->p.n_slots, sizeof *m->sampled);
  m->scored = calloc((size_t)m->p.n_batch, sizeof *m->scored);
  m->through = calloc((size_t)m->p.n_slots, sizeof *m->through);
  m->hidden = malloc(sizeof(float) * (size_t)m->p.n_batch * (size_t)hp->n_embd);
  m->piece_cap = 3 * tok_max_piece_len(m->mdl->tok) + 16;
  m->piece = malloc(m->piece_cap);
  if (!m->slots || !m->batch || !m->batch_seq || !m->logits || !m->sampled || !m->scored ||
      !m->through || !m->hidden || !m->piece)
    return HR_ENOMEM;
  sampler_params sp;
  sampler_params_default(&sp);
  for (int i = 0; i < m->p.n_slots; i++) {
    m->slots[i].tokens = malloc(sizeof(int32_t) * (size_t)m->p.n_ctx);
    if (!m->slots[i].tokens || sampler_new(&sp, hp->n_vocab, &m->slots[i].smp)) return HR_ENOMEM;
  }
  return HR_OK;
}

int eng_model_open(const eng_model_params *p, eng_model **out, char *err, size_t err_len) {
  eng_model *m = calloc(1, sizeof *m);
  if (!m) return HR_ENOMEM;
  m->p = *p;
  pthread_mutex_init(&m->lock, NULL);
  pthread_cond_init(&m->wake, NULL);
  int rc = model_load(p->path, &m->mdl, err, err_len);
  if (rc) {
    free(m);
    return rc;
  }
  snprintf(m->name, sizeof m->name, "%s", p->name ? p->name : m->mdl->hp.name);
  if (!p->name) {
    /* the file stem, as `hearth serve -m` promises */
    const char *base = strrchr(p->path, '/');
    base = base ? base + 1 : p->path;
    size_t len = strlen(base);
    if (len > 5 && !strcmp(base + len - 5, ".gguf")) len -= 5;
    snprintf(m->name, sizeof m->name, "%.*s", (int)len, base);
  }
  if (m->p.n_slots < 1) m->p.n_slots = 1;
  if (m->p.n_batch < 1) m->p.n_batch = 1;
  if (m->p.n_batch_busy < 1) m->p.n_batch_busy = 1;
  if (m->p.n_ctx <= 0) m->p.n_ctx = HR_MIN(m->mdl->hp.n_ctx_train, 4096);
  if (m->p.n_ctx < 8) m->p.n_ctx = 8;
  m->created = hr_wall_ms() / 1000;
  rc = alloc_runtime(m);
  if (!rc && pthread_create(&m->thread, NULL, sched_main, m) != 0) rc = HR_ENOMEM;
  if (rc) {
    snprintf(err, err_len, "%s: cannot allocate the runtime (%s)", p->path, hr_strerror(rc));
    m->thread = 0;
    eng_model_close(m);
    return rc;
  }
  *out = m;
  return HR_OK;
}

void eng_model_close(eng_model *m) {
  if (!m) return;
  if (m->thread) {
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
  }
  if (m->slots) {
    for (int i = 0; i < m->p.n_slots; i++) {
      free(m->slots[i].tokens);
      sampler_free(m->slots[i].smp);
    }
  }
  free(m->slots);
  free(m->batch);
  free(m->batch_seq);
  free(m->logits);
  free(m->sampled);
  free(m->scored);
  free(m->through);
  free(m->hidden);
  free(m->embed_ids);
  free(m->embed_lens);
  free(m->embed_refs);
  free(m->embed_out);
  free(m->piece);
  fwd_ctx_free(m->fc);
  bert_ctx_free(m->bc);
  kv_cache_free(m->kv);
  hr_pool_free(m->pool);
  model_free(m->mdl);
  pthread_mutex_destroy(&m->lock);
  pthread_cond_destroy(&m->wake);
  free(m);
}

void eng_model_get_info(const eng_model *m, eng_model_info *out) {
  const model_hparams *hp = &m->mdl->hp;
  *out = (eng_model_info){
      .name = m->name,
      .arch = hp->arch_name,
      .type_name = tensor_type_get(m->mdl->layers[0].wq.type).name,
      .is_embedding = hp->arch == ARCH_BERT,
      .n_ctx = m->p.n_ctx,
      .n_ctx_train = hp->n_ctx_train,
      .n_embd = hp->n_embd,
      .n_vocab = hp->n_vocab,
      .n_slots = m->p.n_slots,
      .queue_max = m->p.queue_max,
      .file_bytes = gguf_size(m->mdl->file),
      .created = m->created,
      .packed_bytes = m->mdl->rp_bytes,
      .weights_streamed = m->mdl->rp_streamed,
      .split_bytes = m->mdl->bf3_bytes,
  };
}

const tokenizer *eng_model_tokenizer(const eng_model *m) { return m->mdl->tok; }
hr_str eng_model_chat_template(const eng_model *m) { return m->mdl->chat_template; }

void eng_model_stats(const eng_model *m, eng_stats *o) {
  eng_model *mm = (eng_model *)m;
  *o = (eng_stats){
      .requests = atomic_load(&mm->st_requests),
      .cancelled = atomic_load(&mm->st_cancelled),
      .prompt_tokens = atomic_load(&mm->st_prompt),
      .cached_tokens = atomic_load(&mm->st_cached),
      .generated_tokens = atomic_load(&mm->st_generated),
      .cache_hits = atomic_load(&mm->st_hits),
      .rejected_busy = atomic_load(&mm->st_busy),
      .steps = atomic_load(&mm->st_steps),
      .mixed_steps = atomic_load(&mm->st_mixed),
      .mixed_prompt_max = atomic_load(&mm->st_mixed_max),
      .active = atomic_load(&mm->st_active),
      .busy_seconds = (double)atomic_load(&mm->st_busy_ns) / 1e9,
      .embedded_texts = atomic_load(&mm->st_embed_texts),
      .encoder_passes = atomic_load(&mm->st_embed_passes),
  };
  pthread_mutex_lock(&mm->lock);
  o->waiting = mm->q_len;
  pthread_mutex_unlock(&mm->lock);
}
