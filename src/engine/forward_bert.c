/* forward_bert.c — the BERT encoder forward pass for embeddings, as
 * llama.cpp builds it: embeddings (token + type 0 + position) through a
 * LayerNorm; per layer bidirectional attention within each sequence, output
 * projection, residual and LayerNorm, then a GELU feed-forward, residual
 * and LayerNorm; finally mean, CLS or last-token pooling and optional L2
 * normalization. Many sequences go through together: every matrix product
 * takes all their tokens at once, attention stays within each sequence.
 * GELU is the exact erf form that BERT was trained with.
 *
 * Attention runs per (sequence, head) on the pool as two small matrix
 * products: the head's keys and values (biases added) are laid out as
 * repacked F32 weights (16-row groups, repack.h) where the CPU path has
 * the repacked float kernel, else as [len][head_dim] keys and
 * [head_dim][len] values for the F32 matrix product; then for each block of
 * ATT_QB queries the scores are keys . queries, a softmax per query, and
 * the output values^T . weights.
 * Biases, Q's scale and GELU are applied by the products that make their
 * inputs as they store them (fwd_matmul_ep); residuals and LayerNorms,
 * which need whole rows, run on the pool by blocks of rows.
 *
 * Memory: bert_ctx allocates every buffer once for n_max tokens (and the
 * attention scratch once per pool thread); bert_embed allocates nothing.
 * Threads: one caller at a time (the model's scheduler); the math runs on
 * the pool. */
#include "forward.h"

#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Queries whose scores are computed together: ATT_QB x len floats of
 * scores stay in L2 while the value product reads them (4 tiles of the
 * repacked float kernel). */
#define ATT_QB 48

struct bert_ctx {
  const model *m;
  hr_pool *pool;
  int n_max;
  float *x, *xb, *q, *k, *v, *att, *ff;
  /* per thread: keys and values (head_dim x att_ctx floats each), scores
   * [ATT_QB][att_ctx]; att_ctx is the context rounded up to 16 */
  float *att_scratch;
  size_t att_scratch_floats, att_ctx;
  void *xq;
  /* the sequences of the current call */
  int n_seqs;
  int *seq_start, *seq_len;
  uint64_t *phase_ns, phase_t0; /* bert_time_phases */
};

/* The phase that just ended gets the time since the last mark. */
static void phase_end(bert_ctx *c, bert_phase p) {
  if (!c->phase_ns) return;
  uint64_t t = hr_now_ns();
  c->phase_ns[p] += t - c->phase_t0;
  c->phase_t0 = t;
}

const char *bert_phase_name(bert_phase p) {
  static const char *const names[BERT_PHASE_COUNT] = {"embed", "qkv", "attn", "out", "norm1",
                                                      "up",    "down", "norm2", "pool"};
  return (unsigned)p < BERT_PHASE_COUNT ? names[p] : "?";
}

void bert_time_phases(bert_ctx *c, uint64_t *ns) { c->phase_ns = ns; }

int bert_ctx_new(const model *m, hr_pool *pool, int n_max, bert_ctx **out) {
  const model_hparams *hp = &m->hp;
  bert_ctx *c = calloc(1, sizeof *c);
  if (!c) return HR_ENOMEM;
  c->m = m;
  c->pool = pool;
  c->n_max = n_max;
  size_t N = (size_t)n_max, E = (size_t)hp->n_embd;
  c->x = malloc(sizeof(float) * N * E);
  c->xb = malloc(sizeof(float) * N * E);
  c->q = malloc(sizeof(float) * N * E);
  c->k = malloc(sizeof(float) * N * E);
  c->v = malloc(sizeof(float) * N * E);
  c->att = malloc(sizeof(float) * N * E);
  c->ff = malloc(sizeof(float) * N * (size_t)hp->n_ff);
  size_t hd = (size_t)hp->head_dim;
  c->att_ctx = ((size_t)hp->n_ctx_train + RP_ROWS - 1) / RP_ROWS * RP_ROWS;
  /* 64-byte aligned blocks: the float kernel loads its groups aligned */
  c->att_scratch_floats = (2 * c->att_ctx * hd + (size_t)ATT_QB * c->att_ctx + 15) & ~(size_t)15;
  c->att_scratch =
      aligned_alloc(64, sizeof(float) * (size_t)hr_pool_size(pool) * c->att_scratch_floats);
  c->seq_start = malloc(sizeof(int) * N);
  c->seq_len = malloc(sizeof(int) * N);
  size_t row = HR_MAX(fwd_act_row_bytes(m->layers[0].wq.type, hp->n_embd),
                      fwd_act_row_bytes(m->layers[0].w_down.type, hp->n_ff));
  for (int l = 0; l < hp->n_layer; l++) {
    const layer_weights *L = &m->layers[l];
    const weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_up, &L->w_down};
    for (size_t i = 0; i < HR_ARRAY_LEN(ws); i++) row = HR_MAX(row, fwd_act_row_bytes(ws[i]->type, ws[i]->cols));
  }
  c->xq = aligned_alloc(64, (N * row + 63) / 64 * 64);
  if (!c->x || !c->xb || !c->q || !c->k || !c->v || !c->att || !c->ff || !c->att_scratch ||
      !c->seq_start || !c->seq_len || !c->xq) {
    bert_ctx_free(c);
    return HR_ENOMEM;
  }
  *out = c;
  return HR_OK;
}

void bert_ctx_free(bert_ctx *c) {
  if (!c) return;
  free(c->x), free(c->xb), free(c->q), free(c->k), free(c->v), free(c->att), free(c->ff);
  free(c->att_scratch), free(c->seq_start), free(c->seq_len), free(c->xq);
  free(c);
}

/* ---- attention ------------------------------------------------------------ */

/* The head's keys and values laid out as 16-row groups of F32 weights
 * (repack.h), so both attention products run on the repacked float
 * kernel (up to 12 queries against 32 keys a step, no horizontal sums):
 * keys: group g holds keys 16g..16g+15, element d of the 16 contiguous,
 * zero past len; values: group g holds dims 16g..16g+15 of every token,
 * token j's 16 contiguous. */
static void attn_head_rp(bert_ctx *c, rp_matmul_fn rp, int s0, int len, int h, float *kt,
                         float *vp, float *scores) {
  const model_hparams *hp = &c->m->hp;
  int hd = hp->head_dim, E = hp->n_embd, lenp = (len + RP_ROWS - 1) / RP_ROWS * RP_ROWS;
  /* Keys a group at a time, transposed (kern_transpose: through registers
   * on AVX-512; element by element, a 512-token head packed in ~30 us and
   * was 27% of a 16-token text's attention); values token by token, 16
   * dims at a time. */
  for (int j0 = 0; j0 < lenp; j0 += RP_ROWS) {
    const float *k0 = c->k + (size_t)(s0 + j0) * E + (size_t)h * hd;
    kern_transpose(k0, sizeof(float) * (size_t)E, HR_MIN(RP_ROWS, len - j0), RP_ROWS, hd,
                   kt + (size_t)j0 * hd);
  }
  for (int j = 0; j < len; j++) {
    const float *vj = c->v + (size_t)(s0 + j) * E + (size_t)h * hd;
    for (int g = 0; g < hd / RP_ROWS; g++)
      memcpy(vp + ((size_t)g * len + j) * RP_ROWS, vj + g * RP_ROWS, sizeof(float) * RP_ROWS);
  }
  for (int i0 = 0; i0 < len; i0 += ATT_QB) {
    int nq = HR_MIN(ATT_QB, len - i0);
    size_t at = (size_t)(s0 + i0) * E + (size_t)h * hd;
    rp(TT_F32, hd, kt, sizeof(float) * (size_t)hd * RP_ROWS, lenp / RP_ROWS, c->q + at,
       sizeof(float) * (size_t)E, nq, scores, lenp);
    for (int i = 0; i < nq; i++) kern_softmax(scores + (size_t)i * lenp, len);
    rp(TT_F32, len, vp, sizeof(float) * (size_t)len * RP_ROWS, hd / RP_ROWS, scores,
       sizeof(float) * (size_t)lenp, nq, c->att + at, E);
  }
}

/* Sequence chunk / n_head, head chunk % n_head: softmax(q k^T / sqrt(d)) v
 * for each of its tokens (q, k and v carry their biases and q its
 * 1/sqrt(d) already: layer_step's fwd_matmul_ep). */
static void attn_worker(void *arg, int chunk, int thread_id) {
  bert_ctx *c = arg;
  const model_hparams *hp = &c->m->hp;
  int s = chunk / hp->n_head, h = chunk % hp->n_head, hd = hp->head_dim, E = hp->n_embd;
  int s0 = c->seq_start[s], len = c->seq_len[s];
  float *kh = c->att_scratch + (size_t)thread_id * c->att_scratch_floats;
  float *vt = kh + c->att_ctx * hd;
  float *scores = vt + c->att_ctx * hd;
  rp_matmul_fn rp = kernels_for_type(TT_F32)->rp_matmul;
  if (rp && hd % RP_ROWS == 0) {
    attn_head_rp(c, rp, s0, len, h, kh, vt, scores);
    return;
  }
  /* Elsewhere: keys [len][head_dim] and values^T [head_dim][len] through
   * the F32 matrix product. */
  for (int j = 0; j < len; j++) {
    size_t at = (size_t)(s0 + j) * E + (size_t)h * hd;
    float *k = kh + (size_t)j * hd;
    const float *kj = c->k + at, *vj = c->v + at;
    for (int d = 0; d < hd; d++) {
      k[d] = kj[d];
      vt[(size_t)d * len + j] = vj[d];
    }
  }
  for (int i0 = 0; i0 < len; i0 += ATT_QB) {
    int nq = HR_MIN(ATT_QB, len - i0);
    size_t at = (size_t)(s0 + i0) * E + (size_t)h * hd;
    /* scores[i][j] = k_j . q_i */
    kern_matmul(TT_F32, kh, len, hd, c->q + at, sizeof(float) * (size_t)E, nq, scores, len, 0, len);
    for (int i = 0; i < nq; i++) kern_softmax(scores + (size_t)i * len, len);
    /* att[i][d] = v^T_d . scores_i */
    kern_matmul(TT_F32, vt, hd, len, scores, sizeof(float) * (size_t)len, nq, c->att + at, E, 0, hd);
  }
}

/* ---- the work between products, by blocks of rows -------------------------- */

typedef enum {
  ROWS_ATTN_OUT, /* xb += bo + x; x = LayerNorm(xb) */
  ROWS_FF_DOWN,  /* xb += b_down + x; x = LayerNorm(xb) */
} rows_op;

typedef struct {
  bert_ctx *c;
  const layer_weights *L;
  rows_op op;
  int n, n_chunks;
} rows_job;

static void residual_norm(bert_ctx *c, const weight *b, const weight *nw, const weight *nb, int i0,
                          int i1) {
  int E = c->m->hp.n_embd;
  for (int i = i0; i < i1; i++) {
    kern_residual_layernorm(c->x + (size_t)i * E, c->xb + (size_t)i * E, b->data, nw->data, nb->data,
                            E, c->m->hp.norm_eps);
  }
}

static void rows_worker(void *arg, int chunk, int thread_id) {
  HR_UNUSED(thread_id);
  rows_job *j = arg;
  bert_ctx *c = j->c;
  const layer_weights *L = j->L;
  int i0, i1;
  hr_pool_span(j->n, chunk, j->n_chunks, &i0, &i1);
  switch (j->op) {
  case ROWS_ATTN_OUT:
    residual_norm(c, &L->bo, &L->attn_norm, &L->attn_norm_b, i0, i1);
    break;
  case ROWS_FF_DOWN:
    residual_norm(c, &L->b_down, &L->ffn_norm, &L->ffn_norm_b, i0, i1);
    break;
  }
}

/* next: the product that reads the normalized rows (NULL: the pooling). */
static void rows_run(bert_ctx *c, const layer_weights *L, rows_op op, int n, int width,
                     const weight *next) {
  rows_job j = {.c = c, .L = L, .op = op, .n = n,
                .n_chunks = HR_MIN(n, 4 * hr_pool_size(c->pool))};
  /* Below ~64K operations a sync point costs more than it saves, more so
   * when other processes share the cores, unless the product after reads
   * the rows as floats: its threads each read every row, so a row written
   * by one thread crosses to the other anyway, and the rows half written
   * by each thread (the product before cut them by columns) take a lone
   * thread ~3x as long as rows it wrote itself (Zen 4, 128 tokens: the two
   * phases 640 -> 330 us a pass). MiniLM F32 on a Zen 4, `hearth bench
   * --ab norms`: 12-20 tokens +1.2-1.5%, 24 +2.1%, 32-128 +2.6-3.0% while
   * the host was slow, +0.1-1.1% at 4-160 tokens while it was fast; Q8_0,
   * whose next step quantizes the rows on one thread below 85 tokens,
   * lost 4% at 8 tokens, so it keeps the bound. */
  long bound = next && fwd_takes_float_rows(next) && !ab_off(AB_NORMS) ? 4096 : 65536;
  hr_pool_run(c->pool, rows_worker, &j, j.n_chunks, (long)n * width < bound);
}

/* ---- the pass ------------------------------------------------------------- */

/* The token table (47 MB in F32) is cold after a pass has streamed the
 * weights: its rows are requested this many tokens ahead, so their misses
 * overlap instead of each waiting in turn. */
#define EMBED_ROWS_AHEAD 16
static void prefetch_token_row(const model *m, int32_t token) {
  const char *row = (const char *)m->tok_embd.data + (size_t)token * m->tok_embd.row_bytes;
  for (size_t at = 0; at < m->tok_embd.row_bytes; at += 64) __builtin_prefetch(row + at);
}

/* n: the tokens of all the sequences together. */
static void embed(bert_ctx *c, const int32_t *tokens, int n) {
  const model *m = c->m;
  int E = m->hp.n_embd;
  const kern_type_ops *tok = kernels_for_type(m->tok_embd.type);
  const kern_type_ops *pos = kernels_for_type(m->pos_embd.type);
  const kern_type_ops *typ = kernels_for_type(m->type_embd.type);
  float *tmp = c->xb;
  for (int i = 0; i < HR_MIN(n, EMBED_ROWS_AHEAD); i++) prefetch_token_row(m, tokens[i]);
  typ->to_float(m->type_embd.data, c->att, E); /* type 0 ("sentence A") */
  for (int s = 0; s < c->n_seqs; s++) {
    for (int p = 0; p < c->seq_len[s]; p++) {
      int i = c->seq_start[s] + p;
      if (i + EMBED_ROWS_AHEAD < n) prefetch_token_row(m, tokens[i + EMBED_ROWS_AHEAD]);
      float *x = c->x + (size_t)i * E;
      tok->to_float((const char *)m->tok_embd.data + (size_t)tokens[i] * m->tok_embd.row_bytes, x, E);
      pos->to_float((const char *)m->pos_embd.data + (size_t)p * m->pos_embd.row_bytes, tmp, E);
      kern_add(x, x, tmp, E);
      kern_add(x, x, c->att, E);
      kern_layernorm(x, x, m->embd_norm.data, m->embd_norm_b.data, E, m->hp.norm_eps);
    }
  }
}

static void layer_step(bert_ctx *c, int n, int l) {
  const model_hparams *hp = &c->m->hp;
  const layer_weights *L = &c->m->layers[l];
  const weight *qkv[] = {&L->wq, &L->wk, &L->wv};
  float *qkv_out[] = {c->q, c->k, c->v};
  /* Q, K and V get their biases and Q the attention's 1/sqrt(head_dim) as
   * they are stored (fwd_matmul_ep) */
  const rp_epilogue qkv_ep[] = {
      {.bias = L->bq.data, .scale = 1.0f / sqrtf((float)hp->head_dim)},
      {.bias = L->bk.data, .scale = 1.0f},
      {.bias = L->bv.data, .scale = 1.0f},
  };
  fwd_matmul_ep(c->pool, c->xq, qkv, qkv_out, 3, c->x, n, qkv_ep);
  phase_end(c, BERT_PHASE_QKV);
  long work = 0; /* multiply-adds of the two attention products */
  for (int s = 0; s < c->n_seqs; s++) work += 2L * c->seq_len[s] * c->seq_len[s] * hp->n_embd;
  hr_pool_run(c->pool, attn_worker, c, c->n_seqs * hp->n_head, work < 65536);
  phase_end(c, BERT_PHASE_ATTN);
  fwd_matmul(c->pool, c->xq, &L->wo, c->att, n, c->xb);
  phase_end(c, BERT_PHASE_OUT);
  rows_run(c, L, ROWS_ATTN_OUT, n, hp->n_embd, &L->w_up);
  phase_end(c, BERT_PHASE_NORM1);
  const weight *up = &L->w_up;
  const rp_epilogue up_ep = {.bias = L->b_up.data, .scale = 1.0f, .gelu = true};
  fwd_matmul_ep(c->pool, c->xq, &up, &c->ff, 1, c->x, n, &up_ep);
  phase_end(c, BERT_PHASE_UP);
  fwd_matmul(c->pool, c->xq, &L->w_down, c->ff, n, c->xb);
  phase_end(c, BERT_PHASE_DOWN);
  rows_run(c, L, ROWS_FF_DOWN, n, hp->n_embd,
           l + 1 < hp->n_layer ? &c->m->layers[l + 1].wq : NULL);
  phase_end(c, BERT_PHASE_NORM2);
}

int bert_embed(bert_ctx *c, const int32_t *tokens, const int *lens, int n_seqs, bool normalize,
               float *out) {
  const model_hparams *hp = &c->m->hp;
  int n = 0, E = hp->n_embd;
  for (int s = 0; s < n_seqs; s++) {
    if (lens[s] <= 0 || lens[s] > hp->n_ctx_train || n + lens[s] > c->n_max) return HR_EINVAL;
    for (int j = 0; j < lens[s]; j++)
      if (tokens[n + j] < 0 || tokens[n + j] >= hp->n_vocab) return HR_EINVAL;
    c->seq_start[s] = n;
    c->seq_len[s] = lens[s];
    n += lens[s];
  }
  c->n_seqs = n_seqs;
  if (c->phase_ns) c->phase_t0 = hr_now_ns();
  embed(c, tokens, n);
  phase_end(c, BERT_PHASE_EMBED);
  for (int l = 0; l < hp->n_layer; l++) layer_step(c, n, l);
  for (int s = 0; s < n_seqs; s++) {
    float *o = out + (size_t)s * E;
    const float *first = c->x + (size_t)c->seq_start[s] * E;
    if (hp->pooling == 2) {
      memcpy(o, first, sizeof(float) * (size_t)E);
    } else if (hp->pooling == 3) {
      memcpy(o, first + (size_t)(lens[s] - 1) * E, sizeof(float) * (size_t)E);
    } else {
      memset(o, 0, sizeof(float) * (size_t)E);
      for (int j = 0; j < lens[s]; j++) kern_add(o, o, first + (size_t)j * E, E);
      kern_scale(o, 1.0f / (float)lens[s], E);
    }
    if (normalize) {
      double ss = 0;
      for (int d = 0; d < E; d++) ss += (double)o[d] * o[d];
      if (ss > 0) kern_scale(o, (float)(1.0 / sqrt(ss)), E);
    }
  }
  phase_end(c, BERT_PHASE_POOL);
  return HR_OK;
}
