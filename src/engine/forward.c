/* forward.c — the decoder forward pass (llama, qwen2), read top to bottom
 * like llama2.c's forward(): embed, then per layer RMSNorm, Q/K/V
 * projections (+bias for qwen2), RoPE, the K/V into the cache, causal
 * grouped-query attention, output projection and residual, RMSNorm, SwiGLU
 * feed-forward and residual; finally the output norm and the vocabulary
 * projection for the tokens that want logits.
 *
 * Matrix products take the whole batch at once (prefill is matrix x
 * matrix: each weight row is read once for many tokens); activations are
 * converted to the weight type's dot-product format (Q8_0, Q8_K, F16...)
 * first, as llama.cpp does, so results agree with it to rounding. */
#include "forward.h"

#include "kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct fwd_ctx {
  const model *m;
  kv_cache *kv;
  hr_pool *pool;
  int n_batch_max;
  /* activations, [n_batch_max][width] */
  float *x, *xb, *q, *k, *v, *att, *ff_gate, *ff_up;
  float *logits;       /* [n_batch_max][n_vocab] */
  int n_logits;
  int *logit_rows;     /* batch index of each logits row */
  void *xq;            /* quantized activation rows */
  size_t xq_cap;
  float *scores;       /* [threads][heads per KV head][n_ctx] attention scores */
  float *rope;         /* [n_batch_max][n_rot] cos/sin pairs */
  uint16_t *q16;       /* [threads][heads per KV head][head_dim] f16 queries */
};

/* ---- the KV cache ----------------------------------------------------- */

int kv_cache_new(const model *m, int n_slots, int n_ctx, kv_cache **out) {
  kv_cache *kv = calloc(1, sizeof *kv);
  if (!kv) return HR_ENOMEM;
  kv->n_layer = m->hp.n_layer;
  kv->n_slots = n_slots;
  kv->n_ctx = n_ctx;
  kv->kv_dim = m->hp.n_head_kv * m->hp.head_dim;
  size_t n = (size_t)kv->n_layer * (size_t)n_slots * (size_t)n_ctx * (size_t)kv->kv_dim;
  kv->k = calloc(n, sizeof(uint16_t));
  kv->v = calloc(n, sizeof(uint16_t));
  if (!kv->k || !kv->v) {
    kv_cache_free(kv);
    return HR_ENOMEM;
  }
  *out = kv;
  return HR_OK;
}

void kv_cache_free(kv_cache *kv) {
  if (!kv) return;
  free(kv->k);
  free(kv->v);
  free(kv);
}

size_t kv_cache_bytes(const kv_cache *kv) {
  return 2 * sizeof(uint16_t) * (size_t)kv->n_layer * (size_t)kv->n_slots * (size_t)kv->n_ctx *
         (size_t)kv->kv_dim;
}

static inline size_t kv_index(const kv_cache *kv, int layer, int slot, int pos) {
  return (((size_t)layer * (size_t)kv->n_slots + (size_t)slot) * (size_t)kv->n_ctx + (size_t)pos) *
         (size_t)kv->kv_dim;
}

void kv_cache_copy(kv_cache *kv, int dst, int src, int n) {
  if (dst == src || n <= 0) return;
  size_t bytes = (size_t)n * (size_t)kv->kv_dim * sizeof(uint16_t);
  for (int l = 0; l < kv->n_layer; l++) {
    memcpy(kv->k + kv_index(kv, l, dst, 0), kv->k + kv_index(kv, l, src, 0), bytes);
    memcpy(kv->v + kv_index(kv, l, dst, 0), kv->v + kv_index(kv, l, src, 0), bytes);
  }
}

/* ---- context ---------------------------------------------------------- */

size_t fwd_act_row_bytes(tensor_type t, int cols) {
  const kern_type_ops *ops = kernels_for_type(t);
  tensor_type_info ti = tensor_type_get(ops->vec_dot_type);
  size_t bytes = (size_t)(cols + (int)ti.block_elems - 1) / ti.block_elems * ti.block_bytes;
  /* a repacked weight's activation row (repack.h) */
  if (rp_supported(t, RP_ROWS, cols)) bytes = HR_MAX(bytes, rpx_row_bytes(t, cols));
  return bytes;
}

int fwd_ctx_new(const model *m, kv_cache *kv, hr_pool *pool, int n_batch_max, fwd_ctx **out) {
  const model_hparams *hp = &m->hp;
  fwd_ctx *c = calloc(1, sizeof *c);
  if (!c) return HR_ENOMEM;
  c->m = m;
  c->kv = kv;
  c->pool = pool;
  c->n_batch_max = n_batch_max;
  size_t B = (size_t)n_batch_max, T = (size_t)hr_pool_size(pool);
  size_t q_dim = (size_t)hp->n_head * (size_t)hp->head_dim;
  size_t width = (size_t)HR_MAX(hp->n_embd, (int)q_dim);
  c->x = malloc(sizeof(float) * B * (size_t)hp->n_embd);
  c->xb = malloc(sizeof(float) * B * width);
  c->q = malloc(sizeof(float) * B * q_dim);
  c->k = malloc(sizeof(float) * B * (size_t)kv->kv_dim);
  c->v = malloc(sizeof(float) * B * (size_t)kv->kv_dim);
  c->att = malloc(sizeof(float) * B * q_dim);
  c->ff_gate = malloc(sizeof(float) * B * (size_t)hp->n_ff);
  c->ff_up = malloc(sizeof(float) * B * (size_t)hp->n_ff);
  c->logits = malloc(sizeof(float) * B * (size_t)hp->n_vocab);
  c->logit_rows = malloc(sizeof(int) * B);
  size_t group = (size_t)(hp->n_head / hp->n_head_kv); /* heads per KV head */
  c->scores = malloc(sizeof(float) * T * group * (size_t)kv->n_ctx);
  c->rope = malloc(sizeof(float) * B * (size_t)HR_MAX(hp->n_rot, 2));
  c->q16 = malloc(sizeof(uint16_t) * T * group * (size_t)hp->head_dim);
  /* The widest activation row any weight of this model needs. */
  size_t row = 0;
  const weight *all[] = {&m->output};
  for (size_t i = 0; i < HR_ARRAY_LEN(all); i++) row = HR_MAX(row, fwd_act_row_bytes(all[i]->type, all[i]->cols));
  for (int l = 0; l < hp->n_layer; l++) {
    const layer_weights *L = &m->layers[l];
    const weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    for (size_t i = 0; i < HR_ARRAY_LEN(ws); i++) row = HR_MAX(row, fwd_act_row_bytes(ws[i]->type, ws[i]->cols));
  }
  c->xq_cap = row;
  c->xq = aligned_alloc(64, (B * row + 63) / 64 * 64);
  if (!c->x || !c->xb || !c->q || !c->k || !c->v || !c->att || !c->ff_gate || !c->ff_up ||
      !c->logits || !c->logit_rows || !c->scores || !c->rope || !c->q16 || !c->xq) {
    fwd_ctx_free(c);
    return HR_ENOMEM;
  }
  *out = c;
  return HR_OK;
}

void fwd_ctx_free(fwd_ctx *c) {
  if (!c) return;
  free(c->x), free(c->xb), free(c->q), free(c->k), free(c->v), free(c->att);
  free(c->ff_gate), free(c->ff_up), free(c->logits), free(c->logit_rows);
  free(c->scores), free(c->rope), free(c->q16), free(c->xq);
  free(c);
}

const float *fwd_logits(const fwd_ctx *c, int i) {
  return c->logits + (size_t)i * (size_t)c->m->hp.n_vocab;
}

/* ---- matrix products ---------------------------------------------------- */

/* Up to three products that read the same input (Q, K and V; gate and up)
 * run as one parallel loop over their rows laid end to end: the input is
 * quantized once and the pool is woken once. */
#define MM_MAX 3

typedef struct {
  const weight *w[MM_MAX];
  float *y[MM_MAX];
  int nw;
  const void *xq;
  size_t x_stride;
  int n;
  int n_chunks; /* of the weights' 32-row units end to end (matmul_worker) */
  const rp_epilogue *eps; /* eps[k] for weight k, or NULL */
  uint64_t id;            /* this product among all (split_rows) */
  bool no_split;          /* the FMA tiles even where split weights are */
  struct mm_range *ranges; /* n_chunks of them where threads steal, else NULL: fixed chunks */
  int unit0[MM_MAX + 1];   /* weight k: 32-row units unit0[k]..unit0[k+1]-1 */
} matmul_job;

/* An epilogue as a pass over weight rows r0..r1 of the n output rows (the
 * kernel table's add and GELU, kern_scale's plain multiply: the floats a
 * fused one stores). */
static void apply_epilogue(const rp_epilogue *e, float *Y, int ldy, int n, int r0, int r1) {
  for (int i = 0; i < n; i++) {
    float *y = Y + (size_t)i * ldy + r0;
    if (e->bias) kern_add(y, y, e->bias + r0, r1 - r0);
    if (e->scale != 1.0f) kern_scale(y, e->scale, r1 - r0);
    if (e->gelu) kern_gelu_erf(y, r1 - r0);
  }
}

ab_knob ab_alternated;
bool ab_now_off;

/* ---- products of split F32 weights (bf3.h) ---- */

/* Split activation rows go to a buffer each thread owns: kept between
 * products and freed when the thread ends (the key's destructor). */
typedef struct {
  void *buf;
  size_t cap;
  uint64_t job; /* the product whose rows it holds, all of them (0: none) */
} split_rows_buf;
static pthread_key_t split_rows_key;
static pthread_once_t split_rows_once = PTHREAD_ONCE_INIT;
static bool split_rows_key_ok;
static _Atomic uint64_t matmul_jobs;

static void split_rows_free(void *p) {
  split_rows_buf *b = p;
  free(b->buf);
  free(b);
}
static void split_rows_key_make(void) {
  split_rows_key_ok = pthread_key_create(&split_rows_key, split_rows_free) == 0;
}

/* This thread's buffer with room for bytes, or NULL (out of memory: the
 * caller takes the FMA tiles). */
static split_rows_buf *split_buffer(size_t bytes) {
  pthread_once(&split_rows_once, split_rows_key_make);
  if (!split_rows_key_ok) return NULL;
  split_rows_buf *b = pthread_getspecific(split_rows_key);
  if (!b) {
    if (!(b = calloc(1, sizeof *b))) return NULL;
    if (pthread_setspecific(split_rows_key, b)) {
      free(b);
      return NULL;
    }
  }
  if (bytes > b->cap) {
    void *grown = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!grown) return NULL;
    free(b->buf);
    b->buf = grown, b->cap = bytes, b->job = 0;
  }
  return b;
}

/* All of the job's activation rows split for weights of cols columns,
 * once per product on each thread that meets it (chunks by weight rows). */
static const void *split_rows(const matmul_job *j, int cols) {
  split_rows_buf *b = split_buffer(bf3_rows_bytes(j->n, cols));
  if (!b) return NULL;
  if (b->job != j->id) {
    kernels_get()->bf3_split_rows(j->xq, j->x_stride, j->n, cols, b->buf);
    b->job = j->id;
  }
  return b->buf;
}

/* Rows r0..r1-1 of weight k. */
static void matmul_rows(const matmul_job *j, int k, int r0, int r1) {
  const weight *w = j->w[k];
  const rp_epilogue *ep = j->eps ? &j->eps[k] : NULL;
  const void *A;
  if (w->bf3 && !j->no_split && j->n >= w->bf3_min_rows && !ab_off(AB_AMX_F32) &&
      (A = split_rows(j, w->cols))) {
    const uint8_t *W = (const uint8_t *)w->bf3 + (size_t)(r0 / BF3_ROWS) * bf3_group_bytes(w->cols);
    kernels_get()->bf3_matmul(W, (r1 - r0) / BF3_ROWS, w->cols, A, j->n, j->y[k] + r0, w->rows);
    if (ep) apply_epilogue(ep, j->y[k], w->rows, j->n, r0, r1);
    return;
  }
  if (w->rp) { /* whole 16-row groups: chunk bounds and repacked rows are multiples of 16 */
    const kern_type_ops *ops = kernels_for_type(w->type);
    bool streamed = w->rp_streamed && ops->rp_matmul_streamed;
    const uint8_t *W = (const uint8_t *)w->rp + (size_t)(r0 / RP_ROWS) * w->rp_group_bytes;
    rp_matmul_ep_fn fused = !ep ? NULL : streamed ? ops->rp_matmul_ep_streamed : ops->rp_matmul_ep;
    if (fused) {
      rp_epilogue e = *ep;
      if (e.bias) e.bias += r0;
      fused(w->type, w->cols, W, w->rp_group_bytes, (r1 - r0) / RP_ROWS, j->xq, j->x_stride, j->n,
            j->y[k] + r0, w->rows, &e);
      return;
    }
    rp_matmul_fn rp = streamed ? ops->rp_matmul_streamed : ops->rp_matmul;
    rp(w->type, w->cols, W, w->rp_group_bytes, (r1 - r0) / RP_ROWS, j->xq, j->x_stride, j->n,
       j->y[k] + r0, w->rows);
  } else if (j->n == 1)
    kern_matvec(w->type, w->data, w->rows, w->cols, j->xq, j->y[k], r0, r1);
  else
    kern_matmul(w->type, w->data, w->rows, w->cols, j->xq, j->x_stride, j->n, j->y[k], w->rows,
                r0, r1);
  if (ep) apply_epilogue(ep, j->y[k], w->rows, j->n, r0, r1);
}

/* Each thread takes a range of the rows end to end and runs it from the
 * front, in pieces of half what is left; a thread out of work takes the
 * back half of the largest range left. Fixed equal chunks claimed in
 * turn left one thread waiting for the other at the end of each
 * product: 11-13% of both threads' time in a short text's pass (perf,
 * MiniLM F32 on a Zen 4, where the neighbours' traffic makes runs of the
 * same size take different times), 5-6% with ranges. `hearth bench --ab
 * steal` (passes alternated in one process, stealing on and off): MiniLM
 * F32 4 tokens +4.3%, 8 +2.5%, 16 +1.3%, 24..48 +0.5 to +1.4%, 96..256
 * +1.4 to +3.1%, 512 equal; Q8_0 +3% at 4 tokens, +8 to +14% from 8 to
 * 48, +4.9% at 128; F16 +0.7 to +2%; SmolLM2 Q4_1 decoding +8 to +12%,
 * pp512 +1.5 to +3.2%; TinyLlama-shape Q4_0 decoding +2 to +6%. A range
 * [lo, hi) in 32-row units is one word, lo | hi << 32. HEARTH_STEAL=0: the
 * equal chunks (comparisons). The transposed rows' products (one chunk a
 * thread, kern_type_ops' rp_xt_*) steal only with HEARTH_STEAL=xt: a
 * stolen piece transposes its rows again, and on the Zen 4 (weights from
 * memory) it read -1.6 to +3.9% from 4 to 32 tokens, +14% at 48; the
 * Xeons, whose products these are, have not measured it. */
typedef struct mm_range {
  _Alignas(64) _Atomic uint64_t span;
} mm_range;
#define MM_UNIT 32
#define MM_STEAL_MAX 16
static uint64_t span_of(uint32_t lo, uint32_t hi) { return lo | (uint64_t)hi << 32; }

static _Atomic int steal_mode = -1; /* fwd_steal_mode, -1 until the first product reads HEARTH_STEAL */
void fwd_set_stealing(fwd_steal_mode m) { atomic_store(&steal_mode, (int)m); }

/* Whether a product of per_thread chunks a thread (1: the transposed rows)
 * takes ranges. */
static bool stealing(int per_thread) {
  int m = atomic_load_explicit(&steal_mode, memory_order_relaxed);
  if (m < 0) {
    const char *e = getenv("HEARTH_STEAL");
    m = !e ? STEAL_ON : !strcmp(e, "0") ? STEAL_OFF : !strcmp(e, "xt") ? STEAL_XT : STEAL_ON;
    int unset = -1;
    atomic_compare_exchange_strong(&steal_mode, &unset, m);
  }
  return m != STEAL_OFF && (per_thread > 1 || m == STEAL_XT) && !ab_off(AB_STEAL);
}

/* The next piece of r's front, [*a, *b) in units: the owner streams its
 * range in order (each piece's prefetches run into the next), in pieces of
 * half what is left, so what a thief can take shrinks toward the end. */
static bool claim_front(mm_range *r, int *a, int *b) {
  uint64_t s = atomic_load_explicit(&r->span, memory_order_acquire);
  for (;;) {
    uint32_t lo = (uint32_t)s, hi = (uint32_t)(s >> 32);
    if (lo >= hi) return false;
    uint32_t take = (hi - lo + 1) / 2;
    if (atomic_compare_exchange_weak_explicit(&r->span, &s, span_of(lo + take, hi), memory_order_acq_rel,
                                              memory_order_acquire)) {
      *a = (int)lo, *b = (int)(lo + take);
      return true;
    }
  }
}

/* Half of the largest range left (its back), made `own`'s range. */
static bool steal_back(const matmul_job *j, mm_range *own) {
  for (;;) {
    int best = -1;
    uint32_t most = 0;
    uint64_t seen = 0;
    for (int c = 0; c < j->n_chunks; c++) {
      uint64_t s = atomic_load_explicit(&j->ranges[c].span, memory_order_acquire);
      uint32_t left = (uint32_t)(s >> 32) - (uint32_t)s;
      if ((uint32_t)s < (uint32_t)(s >> 32) && left > most) best = c, most = left, seen = s;
    }
    if (best < 0) return false;
    uint32_t lo = (uint32_t)seen, hi = (uint32_t)(seen >> 32), mid = lo + (hi - lo) / 2;
    if (atomic_compare_exchange_strong_explicit(&j->ranges[best].span, &seen, span_of(lo, mid),
                                                memory_order_acq_rel, memory_order_acquire)) {
      atomic_store_explicit(&own->span, span_of(mid, hi), memory_order_release);
      return true;
    }
  }
}

/* Units [a, b) of the weights' rows laid end to end. Units start at each
 * weight's first row, so the float tiles pair the same groups however the
 * rows are cut, and the sums do not depend on who ran which piece. */
static void matmul_units(const matmul_job *j, int a, int b) {
  for (int k = 0; k < j->nw; k++) {
    int u0 = HR_MAX(a, j->unit0[k]) - j->unit0[k], u1 = HR_MIN(b, j->unit0[k + 1]) - j->unit0[k];
    if (u0 < u1) matmul_rows(j, k, u0 * MM_UNIT, HR_MIN(j->w[k]->rows, u1 * MM_UNIT));
  }
}

/* Chunk c: the c-th even share of the units; where threads steal, range c
 * and then whatever the others have left. */
static void matmul_worker(void *arg, int chunk, int thread_id) {
  const matmul_job *j = arg;
  HR_UNUSED(thread_id);
  if (!j->ranges) {
    long units = j->unit0[j->nw];
    matmul_units(j, (int)(units * chunk / j->n_chunks), (int)(units * (chunk + 1) / j->n_chunks));
    return;
  }
  mm_range *own = &j->ranges[chunk];
  int a, b;
  for (;;) {
    if (!claim_front(own, &a, &b)) {
      if (!steal_back(j, own)) return;
      continue;
    }
    matmul_units(j, a, b);
  }
}

/* Long texts on split weights: chunks of tokens instead of weight rows,
 * each through all the weights, so each thread splits only its own rows
 * (by arithmetic, not yet measured on AMX: splitting costs ~0.3 ns a
 * value, and against a 384-row weight the tiles' share of a row at ~500
 * GFLOP/s a core is ~0.8 ns a value, so both threads splitting all rows
 * would add ~40%). A chunk reads every weight, which AMX's rate keeps
 * bound by the tiles only from ~48 tokens a chunk (6 bytes a weight from
 * L3 against 2 x tokens flops), hence SPLIT_CHUNK_TOKENS. */
#define SPLIT_CHUNK_TOKENS 128

typedef struct {
  const weight *const *ws;
  float *const *ys;
  int nw;
  const float *X; /* n rows of ws[0]->cols floats */
  int n, n_chunks;
  const rp_epilogue *eps;
} split_tokens_job;

static void split_tokens_worker(void *arg, int chunk, int thread_id) {
  HR_UNUSED(thread_id);
  const split_tokens_job *j = arg;
  int ntb = (j->n + BF3_ROWS - 1) / BF3_ROWS, cols = j->ws[0]->cols;
  int j0 = (int)((long)ntb * chunk / j->n_chunks) * BF3_ROWS;
  int j1 = HR_MIN(j->n, (int)((long)ntb * (chunk + 1) / j->n_chunks) * BF3_ROWS);
  size_t stride = sizeof(float) * (size_t)cols;
  const float *X = j->X + (size_t)j0 * cols;
  split_rows_buf *b = split_buffer(bf3_rows_bytes(j1 - j0, cols));
  if (b) {
    kernels_get()->bf3_split_rows(X, stride, j1 - j0, cols, b->buf);
    b->job = 0; /* rows of a chunk, not the job's */
  }
  /* out of memory for the split rows: the FMA tiles over this chunk */
  matmul_job sub = {.nw = 1, .xq = X, .x_stride = stride, .n = j1 - j0, .no_split = true};
  for (int k = 0; k < j->nw; k++) {
    const weight *w = j->ws[k];
    float *Y = j->ys[k] + (size_t)j0 * w->rows;
    if (!b) {
      sub.w[0] = w, sub.y[0] = Y, sub.eps = j->eps ? &j->eps[k] : NULL;
      matmul_rows(&sub, 0, 0, w->rows);
      continue;
    }
    kernels_get()->bf3_matmul(w->bf3, w->rows / BF3_ROWS, cols, b->buf, j1 - j0, Y, w->rows);
    if (j->eps) apply_epilogue(&j->eps[k], Y, w->rows, j1 - j0, 0, w->rows);
  }
}

/* Activation rows in the weight's dot-product format, by chunks of rows. */
typedef struct {
  const weight *w;
  const float *X;
  void *xq;
  size_t stride;
  int n, n_chunks;
} quant_job;

static void quant_worker(void *arg, int chunk, int thread_id) {
  HR_UNUSED(thread_id);
  quant_job *j = arg;
  const weight *w = j->w;
  const kern_type_ops *ops = kernels_for_type(w->type);
  int i0, i1;
  hr_pool_span(j->n, chunk, j->n_chunks, &i0, &i1);
  for (int i = i0; i < i1; i++) {
    const float *x = j->X + (size_t)i * (size_t)w->cols;
    char *dst = (char *)j->xq + (size_t)i * j->stride;
    if (w->rp) rpx_from_float(w->type, x, dst, w->cols);
    else ops->from_float(x, dst, w->cols);
  }
}

bool fwd_takes_float_rows(const weight *w) {
  return w->rp && (w->type == TT_F32 || w->type == TT_F16);
}

/* Ys[k][n][ws[k]->rows] = X[n][cols] . Ws[k]^T for weights of one type and
 * width. */
static void matmul_same_input(hr_pool *pool, void *xq, const weight *const *ws, float *const *Ys,
                              int nw, const float *X, int n, const rp_epilogue *eps) {
  const weight *w0 = ws[0];
  /* split weights (bf3.h) from their bf3_min_rows (HEARTH_AMX_F32_MIN,
   * default 96): below, the FMA tiles are bound by the weights' bytes, which
   * the split form has 1.5 times of */
  bool split = true;
  for (int k = 0; k < nw && split; k++) split = ws[k]->bf3 && n >= ws[k]->bf3_min_rows;
  split = split && !ab_off(AB_AMX_F32);
  int threads = hr_pool_size(pool);
  if (split && n >= SPLIT_CHUNK_TOKENS * threads) {
    split_tokens_job sj = {.ws = ws, .ys = Ys, .nw = nw, .X = X, .n = n, .eps = eps};
    sj.n_chunks = HR_MIN((n + BF3_ROWS - 1) / BF3_ROWS, HR_MAX(threads, n / SPLIT_CHUNK_TOKENS));
    hr_pool_run(pool, split_tokens_worker, &sj, sj.n_chunks, false);
    return;
  }
  size_t stride = fwd_act_row_bytes(w0->type, w0->cols);
  const void *xin = xq;
  if (fwd_takes_float_rows(w0)) {
    /* repacked float weights meet the f32 rows as they are (repack.h) */
    xin = X;
    stride = sizeof(float) * (size_t)w0->cols;
  } else {
    quant_job qj = {.w = w0, .X = X, .xq = xq, .stride = stride, .n = n,
                    .n_chunks = HR_MIN(n, 4 * hr_pool_size(pool))};
    /* A prompt's rows are quantized on the pool; a decode step's few alone. */
    hr_pool_run(pool, quant_worker, &qj, qj.n_chunks, (long)n * w0->cols < 32768);
  }
  /* Chunks of the weights' 32-row units laid end to end, the even share,
   * a chunk running from one weight into the next where it must: each
   * weight cut on its own had left a thread idle (Q, K and V of 384 rows
   * for 16 tokens as chunks of 288, 96, 288, 96, 288 and 96: one thread 672
   * rows, the other 480); MiniLM F32 on a Zen 4, 4 / 8 / 16 / 32 tokens
   * +9.2 / +10.8 / +1.8 / +0.6%, SmolLM2 pp512 +7-13%. Where threads do not
   * steal (HEARTH_STEAL=0, the transposed rows below), up to 64 activation
   * rows (decode steps, short prompt chunks, a short text through an
   * encoder) go as two chunks per thread, so that each thread streams long
   * runs of weights and pays the start of a run (its first lines come
   * without prefetch) twice, not eight times: TinyLlama-shape Q4_0
   * generation 43.7 -> 46.7 tok/s; MiniLM F32 16 tokens 1.83 -> 1.60 ms, 32
   * tokens 3.0 -> 2.7 ms, Q8_0 16 tokens 1.0 -> 0.91 ms; a 32-token SmolLM2
   * prompt +4%. More rows: eight per thread, so that an uneven or preempted
   * thread holds up little (from 128 rows the two are even). */
  int per_thread = n <= 64 ? 2 : 8;
  /* float products that transpose their rows (kern_type_ops' rp_xt_*; not
   * weights streamed from memory): one chunk per thread, which turns the
   * rows once for each weight it meets (MiniLM F32 on a Xeon, 2 threads,
   * 16 and 20 tokens: +3%) */
  const kern_type_ops *ops0 = kernels_for_type(w0->type);
  if (w0->rp && !w0->rp_streamed && n >= ops0->rp_xt_min && n <= ops0->rp_xt_max) per_thread = 1;
  matmul_job j = {.nw = nw, .xq = xin, .x_stride = stride, .n = n, .eps = eps,
                  .id = atomic_fetch_add_explicit(&matmul_jobs, 1, memory_order_relaxed) + 1};
  double work = 0;
  for (int k = 0; k < nw; k++) {
    j.w[k] = ws[k];
    j.y[k] = Ys[k];
    j.unit0[k + 1] = j.unit0[k] + (ws[k]->rows + MM_UNIT - 1) / MM_UNIT;
    work += (double)ws[k]->rows * ws[k]->cols * n;
  }
  int units = j.unit0[nw];
  mm_range ranges[MM_STEAL_MAX];
  if (threads <= MM_STEAL_MAX && stealing(per_thread)) {
    j.n_chunks = HR_MIN(threads, units);
    for (int c = 0; c < j.n_chunks; c++)
      atomic_init(&ranges[c].span, span_of((uint32_t)(units * c / j.n_chunks),
                                           (uint32_t)(units * (c + 1) / j.n_chunks)));
    j.ranges = ranges;
  } else {
    j.n_chunks = HR_MIN(per_thread * threads, units);
  }
  /* Below ~64K multiply-adds the wake-up costs more than it saves. */
  hr_pool_run(pool, matmul_worker, &j, j.n_chunks, work < 65536);
}

void fwd_matmul(hr_pool *pool, void *xq, const weight *w, const float *X, int n, float *Y) {
  matmul_same_input(pool, xq, &w, &Y, 1, X, n, NULL);
}

void fwd_matmul_ep(hr_pool *pool, void *xq, const weight *const *ws, float *const *Ys, int nw,
                   const float *X, int n, const rp_epilogue *eps) {
  bool same = true;
  for (int k = 1; k < nw; k++)
    same &= ws[k]->type == ws[0]->type && ws[k]->cols == ws[0]->cols &&
            !ws[k]->rp == !ws[0]->rp;
  if (same) {
    matmul_same_input(pool, xq, ws, Ys, nw, X, n, eps);
    return;
  }
  for (int k = 0; k < nw; k++) {
    fwd_matmul(pool, xq, ws[k], X, n, Ys[k]);
    if (eps) apply_epilogue(&eps[k], Ys[k], ws[k]->rows, n, 0, ws[k]->rows);
  }
}

void fwd_matmul_many(hr_pool *pool, void *xq, const weight *const *ws, float *const *Ys, int nw,
                     const float *X, int n) {
  fwd_matmul_ep(pool, xq, ws, Ys, nw, X, n, NULL);
}

static void matmul_many(fwd_ctx *c, const weight *const *ws, float *const *Ys, int nw,
                        const float *X, int n) {
  fwd_matmul_many(c->pool, c->xq, ws, Ys, nw, X, n);
}

static void matmul(fwd_ctx *c, const weight *w, const float *X, int n, float *Y) {
  fwd_matmul(c->pool, c->xq, w, X, n, Y);
}

/* ---- attention ------------------------------------------------------------ */

typedef struct {
  fwd_ctx *c;
  const fwd_token *toks;
  int n;
  int layer;
} attn_job;

/* Heads h0 .. h0 + nq - 1 of one token, all reading the same KV head:
 * scores against every cached position up to the token's own, softmax,
 * then the weighted sum of values. scores holds nq rows of n_ctx, q16 nq
 * rows of head_dim. */
static void attn_heads(fwd_ctx *c, const fwd_token *t, int i, int layer, int h0, int nq,
                       float *scores, uint16_t *q16, int one) {
  const model_hparams *hp = &c->m->hp;
  const kv_cache *kv = c->kv;
  int hd = hp->head_dim, kvh = h0 / (hp->n_head / hp->n_head_kv);
  const float *q = c->q + (size_t)i * (size_t)(hp->n_head * hd) + (size_t)h0 * hd;
  float *out = c->att + (size_t)i * (size_t)(hp->n_head * hd) + (size_t)h0 * hd;
  float scale = 1.0f / sqrtf((float)hd);
  int n_pos = t->pos + 1;
  size_t ss = (size_t)kv->n_ctx;
  /* The query meets F16 keys in F16, as llama.cpp converts it. */
  for (int g = 0; g < nq; g++) kern_f32_to_f16(q + (size_t)g * hd, q16 + (size_t)g * hd, hd);
  const uint16_t *kbase = kv->k + kv_index(kv, layer, t->slot, 0) + (size_t)kvh * hd;
  kern_attn_scores(scores, ss, kbase, (size_t)kv->kv_dim, n_pos, q16, (size_t)hd, nq, hd, scale,
                   one);
  /* The probabilities meet F16 values in F16, as llama.cpp converts them. */
  for (int g = 0; g < nq; g++) kern_softmax_f16(scores + (size_t)g * ss, n_pos);
  const uint16_t *vbase = kv->v + kv_index(kv, layer, t->slot, 0) + (size_t)kvh * hd;
  kern_attn_values(out, (size_t)hd, vbase, (size_t)kv->kv_dim, n_pos, scores, ss, nq, hd, one);
}

/* A chunk is one (token, head). In a batch, the first head of each group
 * sharing a KV head takes the whole group (each key and value row is then
 * converted once for all of them) and the others' chunks are empty; one
 * token alone keeps a head per chunk, to spread the work over threads. */
static void attn_worker(void *arg, int chunk, int thread_id) {
  attn_job *j = arg;
  fwd_ctx *c = j->c;
  int n_head = c->m->hp.n_head, group = n_head / c->m->hp.n_head_kv;
  int i = chunk / n_head, h = chunk % n_head, nq = 1;
  if (j->n > 1 && group > 1) {
    if (h % group) return;
    nq = group;
  }
  float *scores = c->scores + (size_t)thread_id * (size_t)group * (size_t)c->kv->n_ctx;
  uint16_t *q16 = c->q16 + (size_t)thread_id * (size_t)group * (size_t)c->m->hp.head_dim;
  /* a step of one token sums attention in another order in llama.cpp
   * (kern_attn_scores); the llama numerics follow it */
  attn_heads(c, &j->toks[i], i, j->layer, h, nq, scores, q16, j->n == 1);
}

/* ---- the step ------------------------------------------------------------ */

static void embed(fwd_ctx *c, const fwd_token *toks, int n) {
  const model *m = c->m;
  const kern_type_ops *ops = kernels_for_type(m->tok_embd.type);
  /* Tied embeddings whose output matrix is packed: the rows come from the
   * packed copy (the file's pages of the table are released at load, so
   * the table is not resident twice). */
  const weight *packed = m->output.rp && m->output.data == m->tok_embd.data ? &m->output : NULL;
  for (int i = 0; i < n; i++) {
    const char *row = (const char *)m->tok_embd.data + (size_t)toks[i].token * m->tok_embd.row_bytes;
    if (packed) {
      int t = toks[i].token;
      rp_unpack_row(packed->type, (const char *)packed->rp + (size_t)(t / RP_ROWS) * packed->rp_group_bytes,
                    t % RP_ROWS, packed->cols, c->xb);
      row = (const char *)c->xb; /* xb is free until the first layer */
    }
    ops->to_float(row, c->x + (size_t)i * (size_t)m->hp.n_embd, m->hp.n_embd);
  }
}

static void rope_tables(fwd_ctx *c, const fwd_token *toks, int n) {
  const model_hparams *hp = &c->m->hp;
  for (int i = 0; i < n; i++)
    kern_rope_cache(c->rope + (size_t)i * (size_t)hp->n_rot, hp->n_rot, toks[i].pos,
                    hp->rope_base, hp->rope_scale, hp->rope_freq_factors);
}

/* ---- the work between products, by rows --------------------------------- */

typedef enum {
  ROWS_ATTN_IN, /* (l > 0: x += xb, the previous layer's FFN out;) xb = RMSNorm(x) */
  ROWS_QKV,     /* q, k, v biases, RoPE on q and k, k and v into the cache */
  ROWS_FFN_IN,  /* x += xb (attention out); xb = RMSNorm(x) */
  ROWS_SWIGLU,  /* ff_gate = silu(ff_gate) * ff_up */
} rows_op;

typedef struct {
  fwd_ctx *c;
  const fwd_token *toks;
  int n, layer, n_chunks;
  rows_op op;
} rows_job;

static void row_qkv(fwd_ctx *c, const fwd_token *t, int i, int l) {
  const model_hparams *hp = &c->m->hp;
  const layer_weights *L = &c->m->layers[l];
  kv_cache *kv = c->kv;
  int Q = hp->n_head * hp->head_dim, KV = kv->kv_dim;
  float *q = c->q + (size_t)i * Q, *k = c->k + (size_t)i * KV, *v = c->v + (size_t)i * KV;
  if (L->bq.data) kern_add(q, q, L->bq.data, Q);
  if (L->bk.data) kern_add(k, k, L->bk.data, KV);
  if (L->bv.data) kern_add(v, v, L->bv.data, KV);
  const float *cs = c->rope + (size_t)i * (size_t)hp->n_rot;
  kern_rope(q, hp->n_head, hp->head_dim, hp->n_rot, cs, hp->rope_neox);
  kern_rope(k, hp->n_head_kv, hp->head_dim, hp->n_rot, cs, hp->rope_neox);
  size_t at = kv_index(kv, l, t->slot, t->pos);
  kern_f32_to_f16(k, kv->k + at, KV);
  kern_f32_to_f16(v, kv->v + at, KV);
}

static void rows_worker(void *arg, int chunk, int thread_id) {
  HR_UNUSED(thread_id);
  rows_job *j = arg;
  fwd_ctx *c = j->c;
  const model_hparams *hp = &c->m->hp;
  const layer_weights *L = &c->m->layers[j->layer];
  int E = hp->n_embd, F = hp->n_ff;
  int i0, i1;
  hr_pool_span(j->n, chunk, j->n_chunks, &i0, &i1);
  for (int i = i0; i < i1; i++) {
    float *x = c->x + (size_t)i * E, *xb = c->xb + (size_t)i * E;
    switch (j->op) {
    case ROWS_ATTN_IN:
      if (j->layer > 0) kern_add(x, x, xb, E);
      kern_rmsnorm(xb, x, L->attn_norm.data, E, hp->norm_eps);
      break;
    case ROWS_QKV:
      row_qkv(c, &j->toks[i], i, j->layer);
      break;
    case ROWS_FFN_IN:
      kern_add(x, x, xb, E);
      kern_rmsnorm(xb, x, L->ffn_norm.data, E, hp->norm_eps);
      break;
    case ROWS_SWIGLU: { /* by rows, as ggml's silu runs */
      float *g = c->ff_gate + (size_t)i * F;
      kern_swiglu(g, g, c->ff_up + (size_t)i * F, F);
      break;
    }
    }
  }
}

/* width x cost: rough work per row. Small steps (a decode step's few
 * rows) stay on this thread: a sync point would cost more than it saves. */
static void rows_run(fwd_ctx *c, const fwd_token *toks, int n, int l, rows_op op, long work) {
  rows_job j = {.c = c, .toks = toks, .n = n, .layer = l, .op = op,
                .n_chunks = HR_MIN(n, 4 * hr_pool_size(c->pool))};
  hr_pool_run(c->pool, rows_worker, &j, j.n_chunks, (long)n * work < 32768);
}

static void layer_step(fwd_ctx *c, const fwd_token *toks, int n, int l) {
  const model_hparams *hp = &c->m->hp;
  const layer_weights *L = &c->m->layers[l];
  int E = hp->n_embd, Q = hp->n_head * hp->head_dim, KV = hp->n_head_kv * hp->head_dim;

  rows_run(c, toks, n, l, ROWS_ATTN_IN, 2L * E);
  const weight *qkv[] = {&L->wq, &L->wk, &L->wv};
  float *qkv_out[] = {c->q, c->k, c->v};
  matmul_many(c, qkv, qkv_out, 3, c->xb, n);
  rows_run(c, toks, n, l, ROWS_QKV, 2L * (Q + 2 * KV));
  attn_job aj = {c, toks, n, l};
  /* Work ~ positions attended x head size; small steps stay on this thread. */
  double attn_work = 0;
  for (int i = 0; i < n; i++) attn_work += (double)(toks[i].pos + 1) * hp->head_dim * hp->n_head;
  hr_pool_run(c->pool, attn_worker, &aj, n * hp->n_head, attn_work < 32768);
  matmul(c, &L->wo, c->att, n, c->xb);
  rows_run(c, toks, n, l, ROWS_FFN_IN, 2L * E);
  const weight *gate_up[] = {&L->w_gate, &L->w_up};
  float *gate_up_out[] = {c->ff_gate, c->ff_up};
  matmul_many(c, gate_up, gate_up_out, 2, c->xb, n);
  rows_run(c, toks, n, l, ROWS_SWIGLU, 4L * hp->n_ff);
  matmul(c, &L->w_down, c->ff_gate, n, c->xb);
  /* the residual add of the FFN output is the next layer's ROWS_ATTN_IN
   * (after the last layer: run_layers) */
}

static int run_layers(fwd_ctx *c, const fwd_token *toks, int n) {
  const model_hparams *hp = &c->m->hp;
  if (n <= 0 || n > c->n_batch_max) return HR_EINVAL;
  for (int i = 0; i < n; i++) {
    if (toks[i].token < 0 || toks[i].token >= hp->n_vocab || toks[i].pos < 0 ||
        toks[i].pos >= c->kv->n_ctx || toks[i].slot < 0 || toks[i].slot >= c->kv->n_slots)
      return HR_EINVAL;
  }
  embed(c, toks, n);
  rope_tables(c, toks, n);
  for (int l = 0; l < hp->n_layer; l++) layer_step(c, toks, n, l);
  kern_add(c->x, c->x, c->xb, n * hp->n_embd);
  return HR_OK;
}

int fwd_decode(fwd_ctx *c, const fwd_token *toks, int n) {
  const model_hparams *hp = &c->m->hp;
  int rc = run_layers(c, toks, n);
  if (rc) return rc;
  /* Only the rows that want logits go through the output projection. */
  int E = hp->n_embd;
  c->n_logits = 0;
  for (int i = 0; i < n; i++) {
    if (!toks[i].logits) continue;
    kern_rmsnorm(c->xb + (size_t)c->n_logits * E, c->x + (size_t)i * E, c->m->output_norm.data, E,
                 hp->norm_eps);
    c->logit_rows[c->n_logits++] = i;
  }
  if (c->n_logits) matmul(c, &c->m->output, c->xb, c->n_logits, c->logits);
  return HR_OK;
}

int fwd_hidden(fwd_ctx *c, const fwd_token *toks, int n, float *out) {
  const model_hparams *hp = &c->m->hp;
  int rc = run_layers(c, toks, n);
  if (rc) return rc;
  int E = hp->n_embd;
  for (int i = 0; i < n; i++)
    kern_rmsnorm(out + (size_t)i * E, c->x + (size_t)i * E, c->m->output_norm.data, E, hp->norm_eps);
  return HR_OK;
}
