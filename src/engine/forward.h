/* forward.h — one forward step of a decoder over a batch of tokens that may
 * belong to different sequences (continuous batching), with each
 * sequence's keys and values kept in an F16 cache slot. Internal to
 * src/engine/.
 *
 * Memory: fwd_ctx allocates every buffer once for its largest batch; a step
 * allocates nothing. Threads: one caller (the model's scheduler); the math
 * runs on the pool. */
#ifndef HEARTH_ENGINE_FORWARD_H
#define HEARTH_ENGINE_FORWARD_H

#include "../base/pool.h"
#include "model.h"
#include "repack.h"

typedef struct {
  int n_layer, n_slots, n_ctx, kv_dim;
  uint16_t *k, *v; /* [layer][slot][pos][kv_dim] as f16 */
} kv_cache;

int kv_cache_new(const model *m, int n_slots, int n_ctx, kv_cache **out);
void kv_cache_free(kv_cache *kv);
/* Copies positions [0, n) of slot src to slot dst (prompt-cache reuse). */
void kv_cache_copy(kv_cache *kv, int dst, int src, int n);
size_t kv_cache_bytes(const kv_cache *kv);

typedef struct {
  int32_t token;
  int32_t slot;  /* KV cache slot of the token's sequence */
  int32_t pos;   /* position in its sequence */
  bool logits;   /* compute logits for this token */
} fwd_token;

typedef struct fwd_ctx fwd_ctx;

/* A knob that `hearth bench --ab` turns off on every other repetition, so
 * that both settings meet the same host: on a VM the neighbours' traffic
 * moves a pass's time by more than most changes do, and runs of one binary
 * and then the other mislead (an F16 8-token pass read 4.5% slower with
 * the stealing products in such runs, 0.7% faster with passes alternated).
 * Set between passes only (the pool's hand-off orders it for the helpers). */
typedef enum { AB_NONE, AB_STEAL, AB_AMX_F32, AB_NORMS, AB_F16_GROUP } ab_knob;
extern ab_knob ab_alternated;
extern bool ab_now_off;
static inline bool ab_off(ab_knob k) { return ab_now_off && ab_alternated == k; }

/* How a product's rows go to the pool's threads (forward.c): equal chunks,
 * ranges the threads steal from (the default), or ranges on the
 * transposed-row path too. HEARTH_STEAL=0|1|xt sets it at the first
 * product unless this did before. */
typedef enum { STEAL_OFF, STEAL_ON, STEAL_XT } fwd_steal_mode;
void fwd_set_stealing(fwd_steal_mode m);

int fwd_ctx_new(const model *m, kv_cache *kv, hr_pool *pool, int n_batch_max, fwd_ctx **out);
void fwd_ctx_free(fwd_ctx *c);

/* Runs the batch. Logits of the tokens that asked for them are written, in
 * batch order, as rows of n_vocab floats; fwd_logits(c, i) is the i-th such
 * row. Every token must have 0 <= pos < n_ctx, and a sequence's earlier
 * positions must already be in its slot (or earlier in the batch). */
int fwd_decode(fwd_ctx *c, const fwd_token *toks, int n);
const float *fwd_logits(const fwd_ctx *c, int i);
/* Runs the batch like fwd_decode but writes every token's final hidden
 * state (after the output norm) to out, n rows of n_embd floats, instead of
 * logits: what decoder embeddings pool. */
int fwd_hidden(fwd_ctx *c, const fwd_token *toks, int n, float *out);

/* Whether a product of w reads the f32 activation rows as they are (the
 * repacked float weights) rather than quantizing them first on one thread. */
bool fwd_takes_float_rows(const weight *w);

/* Y[n][w->rows] = X[n][w->cols] . W^T on the pool; xq is scratch for n
 * activation rows of fwd_act_row_bytes(w->type, w->cols) bytes each. */
void fwd_matmul(hr_pool *pool, void *xq, const weight *w, const float *X, int n, float *Y);
/* Products of one input by several weights in one parallel loop when they
 * share type and width (one pool sync instead of nw), else one by one. */
void fwd_matmul_many(hr_pool *pool, void *xq, const weight *const *ws, float *const *Ys, int nw,
                     const float *X, int n);
/* fwd_matmul_many with elementwise work on each product's output that
 * rides along with it (eps[k] for weight k: bias, scale, GELU; repack.h):
 * fused into the stores of the float products that have it, else a pass
 * over each chunk's columns right after its product, on the thread that
 * ran it — the same floats either way, and no pool sync of its own (only
 * weights that cannot share one loop, of different types or widths, get a
 * pass over their whole output after their own product). */
void fwd_matmul_ep(hr_pool *pool, void *xq, const weight *const *ws, float *const *Ys, int nw,
                   const float *X, int n, const rp_epilogue *eps);
size_t fwd_act_row_bytes(tensor_type t, int cols);

/* ---- encoders (bert) ---------------------------------------------------- */

typedef struct bert_ctx bert_ctx;

/* Scratch for batches of up to n_tokens_max tokens in total. */
int bert_ctx_new(const model *m, hr_pool *pool, int n_tokens_max, bert_ctx **out);
void bert_ctx_free(bert_ctx *c);
/* Embeds n_seqs sequences whose tokens lie back to back in tokens (lens[i]
 * each, each at most the model's context); writes n_seqs pooled rows of
 * n_embd floats to out, L2-normalized when normalize. */
int bert_embed(bert_ctx *c, const int32_t *tokens, const int *lens, int n_seqs, bool normalize,
               float *out);

/* The steps of a pass, for timing where it goes (`hearth bench --phases`). */
typedef enum {
  BERT_PHASE_EMBED, /* token + position + type embeddings, LayerNorm */
  BERT_PHASE_QKV,   /* the Q, K and V products with their biases */
  BERT_PHASE_ATTN,  /* attention within each sequence, per head */
  BERT_PHASE_OUT,   /* the attention output product */
  BERT_PHASE_NORM1, /* its bias, the residual and the LayerNorm */
  BERT_PHASE_UP,    /* the FFN up product with its bias and GELU */
  BERT_PHASE_DOWN,  /* the FFN down product */
  BERT_PHASE_NORM2, /* its bias, the residual and the LayerNorm */
  BERT_PHASE_POOL,  /* pooling and normalization */
  BERT_PHASE_COUNT
} bert_phase;
const char *bert_phase_name(bert_phase p);
/* From now on bert_embed adds the wall time of each phase (all layers) to
 * ns[phase] (BERT_PHASE_COUNT counters the caller owns); NULL stops it. */
void bert_time_phases(bert_ctx *c, uint64_t *ns);

#endif
