/* forward_bert.c — the BERT encoder forward pass for embeddings, as
 * llama.cpp builds it: embeddings (token + type 0 + position) through a
 * LayerNorm; per layer bidirectional attention within each sequence, output
 * projection, residual and LayerNorm, then a GELU feed-forward, residual
 * and LayerNorm; finally mean, CLS or last-token pooling and optional L2
 * normalization. Many sequences go through together: every matrix product
 * takes all their tokens at once, attention stays within each sequence.
 * GELU is the exact erf form that BERT was trained with. */
#include "forward.h"

#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bert_ctx {
  const model *m;
  hr_pool *pool;
  int n_max;
  float *x, *xb, *q, *k, *v, *att, *ff;
  float *scores; /* [threads][n_ctx] */
  void *xq;
  const int *seq_start; /* per token: the first token of its sequence */
  const int *seq_len;   /* per token: its sequence's length */
  int *starts, *lens;
};

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
  c->scores = malloc(sizeof(float) * (size_t)hr_pool_size(pool) * (size_t)hp->n_ctx_train);
  c->starts = malloc(sizeof(int) * N);
  c->lens = malloc(sizeof(int) * N);
  size_t row = HR_MAX(fwd_act_row_bytes(m->layers[0].wq.type, hp->n_embd),
                      fwd_act_row_bytes(m->layers[0].w_down.type, hp->n_ff));
  for (int l = 0; l < hp->n_layer; l++) {
    const layer_weights *L = &m->layers[l];
    const weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_up, &L->w_down};
    for (size_t i = 0; i < HR_ARRAY_LEN(ws); i++) row = HR_MAX(row, fwd_act_row_bytes(ws[i]->type, ws[i]->cols));
  }
  c->xq = aligned_alloc(64, (N * row + 63) / 64 * 64);
  if (!c->x || !c->xb || !c->q || !c->k || !c->v || !c->att || !c->ff || !c->scores ||
      !c->starts || !c->lens || !c->xq) {
    bert_ctx_free(c);
    return HR_ENOMEM;
  }
  *out = c;
  return HR_OK;
}

void bert_ctx_free(bert_ctx *c) {
  if (!c) return;
  free(c->x), free(c->xb), free(c->q), free(c->k), free(c->v), free(c->att), free(c->ff);
  free(c->scores), free(c->starts), free(c->lens), free(c->xq);
  free(c);
}

static void bias_rows(const weight *b, float *Y, int n, int width) {
  for (int i = 0; i < n; i++) kern_add(Y + (size_t)i * width, Y + (size_t)i * width, b->data, width);
}

static void layernorm_rows(const weight *w, const weight *b, float *out, const float *x, int n,
                           int width, float eps) {
  for (int i = 0; i < n; i++)
    kern_layernorm(out + (size_t)i * width, x + (size_t)i * width, w->data, b->data, width, eps);
}

/* One (token, head): softmax(q k^T / sqrt(d)) v over the token's sequence. */
static void attn_worker(void *arg, int chunk, int thread_id) {
  bert_ctx *c = arg;
  const model_hparams *hp = &c->m->hp;
  int i = chunk / hp->n_head, h = chunk % hp->n_head, hd = hp->head_dim, E = hp->n_embd;
  float *scores = c->scores + (size_t)thread_id * (size_t)hp->n_ctx_train;
  int s0 = c->starts[i], len = c->lens[i];
  const float *q = c->q + (size_t)i * E + (size_t)h * hd;
  float scale = 1.0f / sqrtf((float)hd);
  for (int j = 0; j < len; j++)
    scores[j] = kern_dot_f32(q, c->k + (size_t)(s0 + j) * E + (size_t)h * hd, hd) * scale;
  kern_softmax(scores, len);
  float *out = c->att + (size_t)i * E + (size_t)h * hd;
  memset(out, 0, sizeof(float) * (size_t)hd);
  for (int j = 0; j < len; j++) kern_axpy(out, c->v + (size_t)(s0 + j) * E + (size_t)h * hd, scores[j], hd);
}

static void embed(bert_ctx *c, const int32_t *tokens, int n) {
  const model *m = c->m;
  int E = m->hp.n_embd;
  const kern_type_ops *tok = kernels_for_type(m->tok_embd.type);
  const kern_type_ops *pos = kernels_for_type(m->pos_embd.type);
  const kern_type_ops *typ = kernels_for_type(m->type_embd.type);
  float *tmp = c->xb;
  typ->to_float(m->type_embd.data, c->att, E); /* type 0 ("sentence A") */
  for (int i = 0; i < n; i++) {
    float *x = c->x + (size_t)i * E;
    tok->to_float((const char *)m->tok_embd.data + (size_t)tokens[i] * m->tok_embd.row_bytes, x, E);
    int p = i - c->starts[i];
    pos->to_float((const char *)m->pos_embd.data + (size_t)p * m->pos_embd.row_bytes, tmp, E);
    kern_add(x, x, tmp, E);
    kern_add(x, x, c->att, E);
  }
  layernorm_rows(&m->embd_norm, &m->embd_norm_b, c->x, c->x, n, E, m->hp.norm_eps);
}

static void layer_step(bert_ctx *c, int n, int l) {
  const model_hparams *hp = &c->m->hp;
  const layer_weights *L = &c->m->layers[l];
  int E = hp->n_embd;
  fwd_matmul(c->pool, c->xq, &L->wq, c->x, n, c->q);
  fwd_matmul(c->pool, c->xq, &L->wk, c->x, n, c->k);
  fwd_matmul(c->pool, c->xq, &L->wv, c->x, n, c->v);
  bias_rows(&L->bq, c->q, n, E);
  bias_rows(&L->bk, c->k, n, E);
  bias_rows(&L->bv, c->v, n, E);
  hr_pool_run(c->pool, attn_worker, c, n * hp->n_head, 0);
  fwd_matmul(c->pool, c->xq, &L->wo, c->att, n, c->xb);
  bias_rows(&L->bo, c->xb, n, E);
  kern_add(c->xb, c->xb, c->x, n * E);
  layernorm_rows(&L->attn_norm, &L->attn_norm_b, c->x, c->xb, n, E, hp->norm_eps);
  fwd_matmul(c->pool, c->xq, &L->w_up, c->x, n, c->ff);
  bias_rows(&L->b_up, c->ff, n, hp->n_ff);
  kern_gelu_erf(c->ff, n * hp->n_ff);
  fwd_matmul(c->pool, c->xq, &L->w_down, c->ff, n, c->xb);
  bias_rows(&L->b_down, c->xb, n, E);
  kern_add(c->xb, c->xb, c->x, n * E);
  layernorm_rows(&L->ffn_norm, &L->ffn_norm_b, c->x, c->xb, n, E, hp->norm_eps);
}

int bert_embed(bert_ctx *c, const int32_t *tokens, const int *lens, int n_seqs, bool normalize,
               float *out) {
  const model_hparams *hp = &c->m->hp;
  int n = 0, E = hp->n_embd;
  for (int s = 0; s < n_seqs; s++) {
    if (lens[s] <= 0 || lens[s] > hp->n_ctx_train || n + lens[s] > c->n_max) return HR_EINVAL;
    for (int j = 0; j < lens[s]; j++) {
      if (tokens[n + j] < 0 || tokens[n + j] >= hp->n_vocab) return HR_EINVAL;
      c->starts[n + j] = n;
      c->lens[n + j] = lens[s];
    }
    n += lens[s];
  }
  embed(c, tokens, n);
  for (int l = 0; l < hp->n_layer; l++) layer_step(c, n, l);
  int at = 0;
  for (int s = 0; s < n_seqs; s++) {
    float *o = out + (size_t)s * E;
    const float *first = c->x + (size_t)at * E;
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
    at += lens[s];
  }
  return HR_OK;
}
