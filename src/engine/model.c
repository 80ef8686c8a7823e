/* model.c — from a GGUF file to a model: hyper-parameters under the
 * architecture's prefix ("llama.embedding_length"), and each tensor looked
 * up by its GGUF name and checked for shape and type before use, so the
 * forward pass can index weights without further checks. */
#include "model.h"

#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct {
  model *m;
  char *err;
  size_t err_len;
} loader;

static int get_u32(loader *L, const char *key, int *out, bool required, int def) {
  char full[128];
  snprintf(full, sizeof full, "%s.%s", L->m->hp.arch_name, key);
  uint32_t v;
  int rc = gguf_get_u32(L->m->file, full, &v);
  if (rc == HR_ENOTFOUND && !required) {
    *out = def;
    return HR_OK;
  }
  if (rc || v > (1u << 30)) {
    snprintf(L->err, L->err_len, "metadata %s: %s", full,
             rc == HR_ENOTFOUND ? "missing" : "not a sensible unsigned integer");
    return HR_EFORMAT;
  }
  *out = (int)v;
  return HR_OK;
}

static int get_f32(loader *L, const char *key, float *out, float def) {
  char full[128];
  snprintf(full, sizeof full, "%s.%s", L->m->hp.arch_name, key);
  int rc = gguf_get_f32(L->m->file, full, out);
  if (rc == HR_ENOTFOUND) {
    *out = def;
    return HR_OK;
  }
  if (rc || !isfinite(*out)) {
    snprintf(L->err, L->err_len, "metadata %s: not a finite number", full);
    return HR_EFORMAT;
  }
  return HR_OK;
}

/* Looks up a tensor of exactly cols x rows (rows 0: a vector of cols). */
static int get_weight(loader *L, const char *name, int cols, int rows, bool required,
                      weight *w) {
  const gguf_tensor *t = gguf_find_tensor(L->m->file, name);
  memset(w, 0, sizeof *w);
  if (!t) {
    if (!required) return HR_OK;
    snprintf(L->err, L->err_len, "tensor %s is missing", name);
    return HR_EFORMAT;
  }
  int want_dims = rows ? 2 : 1;
  bool ok = t->ne[0] == cols && (rows ? t->ne[1] == rows : true);
  for (uint32_t d = (uint32_t)want_dims; d < GGUF_MAX_DIMS; d++) ok = ok && t->ne[d] == 1;
  if (!ok) {
    snprintf(L->err, L->err_len, "tensor %s has shape [%lld, %lld, %lld], expected [%d, %d]",
             name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], cols,
             rows ? rows : 1);
    return HR_EFORMAT;
  }
  const kern_type_ops *ops = kernels_for_type((tensor_type)t->type);
  if (!ops || !ops->to_float || (rows && !ops->vec_dot)) {
    snprintf(L->err, L->err_len, "tensor %s: type %s is not supported", name,
             tensor_type_get(t->type).name ? tensor_type_get(t->type).name : "?");
    return HR_EUNSUPPORTED;
  }
  /* the forward passes read norms and biases as floats in place */
  if (!rows && t->type != TT_F32) {
    snprintf(L->err, L->err_len, "tensor %s: a vector must be f32, not %s", name,
             tensor_type_get(t->type).name ? tensor_type_get(t->type).name : "?");
    return HR_EFORMAT;
  }
  tensor_type_info ti = tensor_type_get(t->type);
  if (rows && ops->vec_dot_type != t->type && ops->vec_dot_type >= TT_Q2_K &&
      ops->vec_dot_type <= TT_Q8_K && cols % 256) {
    snprintf(L->err, L->err_len, "tensor %s: %d columns is not a multiple of 256", name, cols);
    return HR_EFORMAT;
  }
  w->type = (tensor_type)t->type;
  w->rows = rows ? rows : 1;
  w->cols = cols;
  w->data = t->data;
  w->row_bytes = (size_t)cols / ti.block_elems * ti.block_bytes;
  L->m->weight_bytes += t->n_bytes;
  return HR_OK;
}

static int load_hparams(loader *L) {
  model_hparams *hp = &L->m->hp;
  int rc = 0;
  rc = rc ? rc : get_u32(L, "embedding_length", &hp->n_embd, true, 0);
  rc = rc ? rc : get_u32(L, "block_count", &hp->n_layer, true, 0);
  rc = rc ? rc : get_u32(L, "feed_forward_length", &hp->n_ff, true, 0);
  rc = rc ? rc : get_u32(L, "attention.head_count", &hp->n_head, true, 0);
  rc = rc ? rc : get_u32(L, "attention.head_count_kv", &hp->n_head_kv, false, hp->n_head);
  rc = rc ? rc : get_u32(L, "context_length", &hp->n_ctx_train, false, 2048);
  if (rc) return rc;
  if (hp->n_embd <= 0 || hp->n_layer <= 0 || hp->n_head <= 0 || hp->n_head_kv <= 0 ||
      hp->n_ff <= 0 || hp->n_head % hp->n_head_kv || hp->n_embd % hp->n_head) {
    snprintf(L->err, L->err_len,
             "inconsistent shape: embedding %d, layers %d, heads %d, kv heads %d, ffn %d",
             hp->n_embd, hp->n_layer, hp->n_head, hp->n_head_kv, hp->n_ff);
    return HR_EFORMAT;
  }
  /* every layer has several tensors of its own: a count past the file's
   * tensors is a corrupt header, not a model to allocate layers for */
  if ((size_t)hp->n_layer > gguf_tensor_count(L->m->file)) {
    snprintf(L->err, L->err_len, "block_count %d, but the file holds %zu tensors", hp->n_layer,
             gguf_tensor_count(L->m->file));
    return HR_EFORMAT;
  }
  rc = get_u32(L, "attention.key_length", &hp->head_dim, false, hp->n_embd / hp->n_head);
  rc = rc ? rc : get_u32(L, "rope.dimension_count", &hp->n_rot, false, hp->head_dim);
  if (rc) return rc;
  if (hp->head_dim <= 0 || hp->head_dim > 1024 || hp->n_rot > hp->head_dim || hp->n_rot % 2) {
    snprintf(L->err, L->err_len, "bad head size %d or rotary dimensions %d", hp->head_dim,
             hp->n_rot);
    return HR_EFORMAT;
  }
  if (hp->arch == ARCH_BERT) {
    rc = get_f32(L, "attention.layer_norm_epsilon", &hp->norm_eps, 1e-12f);
  } else {
    rc = get_f32(L, "attention.layer_norm_rms_epsilon", &hp->norm_eps, 1e-5f);
  }
  rc = rc ? rc : get_f32(L, "rope.freq_base", &hp->rope_base, 10000.0f);
  float factor = 1.0f;
  rc = rc ? rc : get_f32(L, "rope.scaling.factor", &factor, 1.0f);
  if (rc) return rc;
  /* Values no trained model has compute NaNs or nonsense: refused here. A
   * scaling factor of 0 means none, as llama.cpp reads it. */
  if (!(hp->norm_eps >= 0 && hp->norm_eps < 1) || !(hp->rope_base > 0 && isfinite(hp->rope_base)) ||
      !(factor >= 0 && isfinite(factor))) {
    snprintf(L->err, L->err_len, "bad norm epsilon %g, rope base %g or rope scaling factor %g",
             hp->norm_eps, hp->rope_base, factor);
    return HR_EFORMAT;
  }
  char key[128];
  hr_str stype = {0};
  snprintf(key, sizeof key, "%s.rope.scaling.type", hp->arch_name);
  gguf_get_str(L->m->file, key, &stype);
  hp->rope_scale = 1.0f;
  if (stype.len && hr_str_eq_cstr(stype, "linear") && factor > 0) hp->rope_scale = 1.0f / factor;
  hp->rope_neox = hp->arch == ARCH_QWEN2;
  return HR_OK;
}

static int load_rope_factors(loader *L) {
  model_hparams *hp = &L->m->hp;
  const gguf_tensor *t = gguf_find_tensor(L->m->file, "rope_freqs.weight");
  if (!t) return HR_OK;
  if (t->type != TT_F32 || t->ne[0] != hp->n_rot / 2) {
    snprintf(L->err, L->err_len, "tensor rope_freqs.weight: expected f32 [%d]", hp->n_rot / 2);
    return HR_EFORMAT;
  }
  hp->rope_freq_factors = malloc(sizeof(float) * (size_t)(hp->n_rot / 2));
  if (!hp->rope_freq_factors) return HR_ENOMEM;
  memcpy(hp->rope_freq_factors, t->data, sizeof(float) * (size_t)(hp->n_rot / 2));
  return HR_OK;
}

static int load_decoder_tensors(loader *L) {
  model *m = L->m;
  model_hparams *hp = &m->hp;
  int E = hp->n_embd, Q = hp->n_head * hp->head_dim, KV = hp->n_head_kv * hp->head_dim;
  int rc = get_weight(L, "token_embd.weight", E, hp->n_vocab, true, &m->tok_embd);
  rc = rc ? rc : get_weight(L, "output_norm.weight", E, 0, true, &m->output_norm);
  rc = rc ? rc : get_weight(L, "output.weight", E, hp->n_vocab, false, &m->output);
  if (rc) return rc;
  if (!m->output.data) m->output = m->tok_embd; /* tied embeddings */
  bool bias = hp->arch == ARCH_QWEN2;
  for (int i = 0; i < hp->n_layer && !rc; i++) {
    layer_weights *l = &m->layers[i];
    char n[96];
#define W(field, nm, cols, rows, req) \
  (snprintf(n, sizeof n, "blk.%d." nm, i), rc = rc ? rc : get_weight(L, n, cols, rows, req, &l->field))
    W(attn_norm, "attn_norm.weight", E, 0, true);
    W(wq, "attn_q.weight", E, Q, true);
    W(wk, "attn_k.weight", E, KV, true);
    W(wv, "attn_v.weight", E, KV, true);
    W(wo, "attn_output.weight", Q, E, true);
    W(bq, "attn_q.bias", Q, 0, bias);
    W(bk, "attn_k.bias", KV, 0, bias);
    W(bv, "attn_v.bias", KV, 0, bias);
    W(ffn_norm, "ffn_norm.weight", E, 0, true);
    W(w_gate, "ffn_gate.weight", E, hp->n_ff, true);
    W(w_up, "ffn_up.weight", E, hp->n_ff, true);
    W(w_down, "ffn_down.weight", hp->n_ff, E, true);
#undef W
  }
  return rc;
}

/* {arch}.pooling_type (1 mean, 2 cls, 3 last) or the default; 0 (none)
 * reads as the default too, since /v1/embeddings needs one vector. */
static int load_pooling(loader *L, int def) {
  model_hparams *hp = &L->m->hp;
  char key[96];
  snprintf(key, sizeof key, "%s.pooling_type", hp->arch_name);
  uint32_t pooling = (uint32_t)def;
  gguf_get_u32(L->m->file, key, &pooling);
  if (pooling > 3) {
    snprintf(L->err, L->err_len, "%s = %u is not a pooling type hearth knows", key, pooling);
    return HR_EUNSUPPORTED;
  }
  hp->pooling = pooling ? (int)pooling : def;
  return HR_OK;
}

/* BERT (llama.cpp's names): token, token-type and position embeddings with
 * a LayerNorm; per layer Q/K/V/output with biases, post-attention and
 * post-FFN LayerNorms, a GELU feed-forward with biases. */
static int load_encoder_tensors(loader *L) {
  model *m = L->m;
  model_hparams *hp = &m->hp;
  int E = hp->n_embd, KV = hp->n_head_kv * hp->head_dim;
  if (KV != E || hp->head_dim * hp->n_head != E) {
    snprintf(L->err, L->err_len, "bert: heads %d x %d do not make the embedding %d", hp->n_head,
             hp->head_dim, E);
    return HR_EFORMAT;
  }
  const gguf_tensor *tt = gguf_find_tensor(m->file, "token_types.weight");
  hp->n_type_vocab = tt ? (int)tt->ne[1] : 0;
  int rc = get_weight(L, "token_embd.weight", E, hp->n_vocab, true, &m->tok_embd);
  rc = rc ? rc : get_weight(L, "token_types.weight", E, hp->n_type_vocab, true, &m->type_embd);
  rc = rc ? rc : get_weight(L, "position_embd.weight", E, hp->n_ctx_train, true, &m->pos_embd);
  rc = rc ? rc : get_weight(L, "token_embd_norm.weight", E, 0, true, &m->embd_norm);
  rc = rc ? rc : get_weight(L, "token_embd_norm.bias", E, 0, true, &m->embd_norm_b);
  for (int i = 0; i < hp->n_layer && !rc; i++) {
    layer_weights *l = &m->layers[i];
    char n[96];
#define W(field, nm, cols, rows) \
  (snprintf(n, sizeof n, "blk.%d." nm, i), rc = rc ? rc : get_weight(L, n, cols, rows, true, &l->field))
    W(wq, "attn_q.weight", E, E);
    W(bq, "attn_q.bias", E, 0);
    W(wk, "attn_k.weight", E, E);
    W(bk, "attn_k.bias", E, 0);
    W(wv, "attn_v.weight", E, E);
    W(bv, "attn_v.bias", E, 0);
    W(wo, "attn_output.weight", E, E);
    W(bo, "attn_output.bias", E, 0);
    W(attn_norm, "attn_output_norm.weight", E, 0);
    W(attn_norm_b, "attn_output_norm.bias", E, 0);
    W(w_up, "ffn_up.weight", E, hp->n_ff);
    W(b_up, "ffn_up.bias", hp->n_ff, 0);
    W(w_down, "ffn_down.weight", hp->n_ff, E);
    W(b_down, "ffn_down.bias", E, 0);
    W(ffn_norm, "layer_output_norm.weight", E, 0);
    W(ffn_norm_b, "layer_output_norm.bias", E, 0);
#undef W
  }
  if (rc) return rc;
  return load_pooling(L, 1); /* mean, as sentence-transformers' MiniLM */
}

static void file_stem(const char *path, char *out, size_t n) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t len = strlen(base);
  if (len > 5 && !strcmp(base + len - 5, ".gguf")) len -= 5;
  snprintf(out, n, "%.*s", (int)len, base);
}

/* ---- repacking ----------------------------------------------------------- */

/* The matrices products read, each once (a tied output is the embedding's
 * data but its own weight). */
static int product_weights(model *m, weight **ws) {
  int n = 0;
  for (int l = 0; l < m->hp.n_layer; l++) {
    layer_weights *L = &m->layers[l];
    weight *all[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    for (size_t i = 0; i < HR_ARRAY_LEN(all); i++)
      if (all[i]->data) ws[n++] = all[i];
  }
  if (m->output.data) ws[n++] = &m->output;
  return n;
}

/* The matrices products read, in an array the caller frees, or NULL. */
static weight **product_weight_list(model *m, int *n) {
  weight **ws = malloc(sizeof(weight *) * (size_t)(m->hp.n_layer * 7 + 1));
  if (ws) *n = product_weights(m, ws);
  return ws;
}

/* F32/F16 matrices are repacked for encoders only: there the repacked
 * product (f32 activations, 16-row FMA tiles) is both faster and closer to
 * PyTorch's; decoders keep llama.cpp's F16-activation products, which
 * their greedy outputs are checked against. */
static bool repackable(const model *m, const weight *w) {
  const kern_type_ops *ops = kernels_for_type(w->type);
  if ((w->type == TT_F32 || w->type == TT_F16) && m->hp.arch != ARCH_BERT) return false;
  return ops && ops->rp_matmul && rp_supported(w->type, w->rows, w->cols);
}

/* Whether a pass over packed weights of this size reads them from memory
 * rather than from the last-level cache: more than half of it (neighbours
 * and the activations share it; a Zen 4's 32 MB L3 held 14 MB of weights
 * between passes, not 28). HEARTH_WEIGHTS_STREAMED=0 or 1 decides instead;
 * with no cache size known, cached. */
static bool weights_streamed(size_t bytes) {
  const char *env = getenv("HEARTH_WEIGHTS_STREAMED");
  if (env && *env) return strcmp(env, "0") != 0;
  size_t llc = cpu_llc_bytes();
  return llc && bytes > llc / 2;
}

static int repack_weights(model *m) {
  const char *env = getenv("HEARTH_REPACK");
  if (env && !strcmp(env, "0")) return HR_OK;
  int n = 0;
  weight **ws = product_weight_list(m, &n);
  if (!ws) return HR_ENOMEM;
  size_t total = 0;
  for (int i = 0; i < n; i++)
    if (repackable(m, ws[i]))
      total += rp_group_bytes(ws[i]->type, ws[i]->cols) * (size_t)(ws[i]->rows / RP_ROWS);
  if (total == 0) {
    free(ws);
    return HR_OK;
  }
  void *buf = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf == MAP_FAILED) {
    free(ws);
    return HR_ENOMEM;
  }
#ifdef MADV_HUGEPAGE
  madvise(buf, total, MADV_HUGEPAGE); /* fewer TLB misses streaming the weights */
#endif
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    weight *w = ws[i];
    if (!repackable(m, w)) continue;
    size_t gb = rp_group_bytes(w->type, w->cols);
    uint8_t *dst = (uint8_t *)buf + at;
    for (int g = 0; g < w->rows / RP_ROWS; g++)
      rp_pack_group(w->type, (const uint8_t *)w->data + (size_t)g * RP_ROWS * w->row_bytes,
                    w->row_bytes, w->cols, dst + (size_t)g * gb);
    w->rp = dst;
    w->rp_group_bytes = gb;
    at += gb * (size_t)(w->rows / RP_ROWS);
  }
  mprotect(buf, total, PROT_READ);
  m->rp_buf = buf;
  m->rp_bytes = total;
  if (weights_streamed(total)) {
    for (int i = 0; i < n; i++) {
      ws[i]->rp_streamed = ws[i]->rp && kernels_for_type(ws[i]->type)->rp_matmul_streamed;
      m->rp_streamed |= ws[i]->rp_streamed;
    }
  }
  free(ws);
  return HR_OK;
}

/* Where the kernels have AMX-BF16, an encoder's packed F32 and F16
 * matrices also split into bfloat16 parts (bf3.h), which products of
 * HEARTH_AMX_F32_MIN (96) activation rows and more then take (forward.c),
 * float32-accurate. (An F16 value is exactly hi + mid, its lo part 0: 11
 * significant bits, 8 in hi; the products are as exact as F32's.)
 * Measured on a Xeon (session 20, `bench/embeddings/ab.sh amx-f32`,
 * MiniLM F32, passes alternated): 64 tokens -6%, 80 even, 96 +3%, 128
 * +5-8%, 256 +15%, 512 +16%; below the threshold the FMA tiles, bound by
 * the weights' bytes (the split form has 1.5 times of them), stay faster.
 * The parts cost 1.5x the F32 bytes (3x the F16 bytes) of memory beside
 * the packed matrices the FMA tiles read: HEARTH_AMX_F32=0 leaves the
 * matrices unsplit; =always splits them on any CPU, through the plain-C
 * model of the tile steps (~300x slower: for tests). */
static bool splittable(const weight *w) {
  return w->rp && (w->type == TT_F32 || w->type == TT_F16) && bf3_supported(w->rows, w->cols);
}
static int split_weights(model *m) {
  const char *env = getenv("HEARTH_AMX_F32"), *min_env = getenv("HEARTH_AMX_F32_MIN");
  bf3_matmul_fn product = kernels_get()->bf3_matmul;
  bool always = env && !strcmp(env, "always");
  if (!product || (env && !strcmp(env, "0")) || (product == bf3_matmul_ref && !always)) return HR_OK;
  int min_rows = min_env && atoi(min_env) > 0 ? atoi(min_env) : 96;
  int n = 0;
  weight **ws = product_weight_list(m, &n);
  if (!ws) return HR_ENOMEM;
  size_t total = 0;
  for (int i = 0; i < n; i++)
    if (splittable(ws[i])) total += bf3_group_bytes(ws[i]->cols) * (size_t)(ws[i]->rows / BF3_ROWS);
  void *buf = total ? mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : NULL;
  if (buf == MAP_FAILED) {
    free(ws);
    return HR_ENOMEM;
  }
#ifdef MADV_HUGEPAGE
  if (buf) madvise(buf, total, MADV_HUGEPAGE);
#endif
  size_t at = 0;
  float *rows = NULL; /* an F16 group as floats, on its way to the split */
  for (int i = 0; total && i < n; i++) {
    weight *w = ws[i];
    if (!splittable(w)) continue;
    size_t gb = bf3_group_bytes(w->cols);
    uint8_t *dst = (uint8_t *)buf + at;
    if (w->type == TT_F16) {
      float *grown = realloc(rows, sizeof(float) * BF3_ROWS * (size_t)w->cols);
      if (!grown) {
        free(rows);
        munmap(buf, total);
        free(ws);
        return HR_ENOMEM;
      }
      rows = grown;
    }
    for (int g = 0; g < w->rows / BF3_ROWS; g++) {
      const uint8_t *group = (const uint8_t *)w->data + (size_t)g * BF3_ROWS * w->row_bytes;
      if (w->type == TT_F16) {
        for (int r = 0; r < BF3_ROWS; r++)
          kern_f16_to_f32((const uint16_t *)(group + (size_t)r * w->row_bytes), rows + (size_t)r * w->cols, w->cols);
        bf3_split_group(rows, sizeof(float) * (size_t)w->cols, w->cols, dst + (size_t)g * gb);
      } else {
        bf3_split_group((const float *)group, w->row_bytes, w->cols, dst + (size_t)g * gb);
      }
    }
    w->bf3 = dst;
    w->bf3_min_rows = min_rows;
    at += gb * (size_t)(w->rows / BF3_ROWS);
  }
  free(rows);
  if (total) mprotect(buf, total, PROT_READ);
  m->bf3_buf = buf;
  m->bf3_bytes = total;
  free(ws);
  return HR_OK;
}

/* Once weights are packed, a model reads its file only for embedding rows
 * and small per-step vectors (norms, biases, bert's position and type
 * embeddings). The page cache maps a large folio whole on a fault, so
 * reading an 8 KB norm maps up to 2 MB of the file around it, most of it a
 * matrix already packed: resident twice (~50 MB on a TinyLlama-sized
 * model). So the vectors are copied into memory the model owns, and every
 * file page but the token embedding table's is released. */
static int own_vectors(model *m) {
  if (!m->rp_buf || !gguf_is_mapped(m->file)) return HR_OK;
  enum { PER_LAYER = 10, GLOBAL = 6 };
  int cap = m->hp.n_layer * PER_LAYER + GLOBAL, n = 0;
  weight **vs = malloc(sizeof(weight *) * (size_t)cap);
  if (!vs) return HR_ENOMEM;
  for (int l = 0; l < m->hp.n_layer; l++) {
    layer_weights *L = &m->layers[l];
    weight *each[PER_LAYER] = {&L->attn_norm, &L->attn_norm_b, &L->bq,         &L->bk,     &L->bv,
                               &L->bo,        &L->ffn_norm,    &L->ffn_norm_b, &L->b_up,   &L->b_down};
    for (int k = 0; k < PER_LAYER; k++)
      if (each[k]->data) vs[n++] = each[k];
  }
  weight *global[GLOBAL] = {&m->output_norm, &m->output_norm_b, &m->embd_norm,
                            &m->embd_norm_b, &m->pos_embd,      &m->type_embd};
  for (int k = 0; k < GLOBAL; k++)
    if (global[k]->data) vs[n++] = global[k];
  size_t total = 0;
  for (int i = 0; i < n; i++) total += ((size_t)vs[i]->rows * vs[i]->row_bytes + 63) & ~(size_t)63;
  uint8_t *buf = total ? aligned_alloc(64, total) : NULL;
  if (total && !buf) {
    free(vs);
    return HR_ENOMEM;
  }
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    size_t bytes = (size_t)vs[i]->rows * vs[i]->row_bytes;
    memcpy(buf + at, vs[i]->data, bytes);
    vs[i]->data = buf + at;
    at += (bytes + 63) & ~(size_t)63;
  }
  free(vs);
  m->vectors = buf;
  /* All tensor data but the token embedding table (all of it, when the
   * table's rows come from the packed output matrix). */
  const uint8_t *base = gguf_base(m->file), *from = base + gguf_data_offset(m->file);
  bool embd_from_file = !(m->output.rp && m->output.data == m->tok_embd.data);
  long page = sysconf(_SC_PAGESIZE);
  uintptr_t lo = (uintptr_t)from, hi = (uintptr_t)base + gguf_size(m->file);
  uintptr_t e0 = (uintptr_t)m->tok_embd.data;
  uintptr_t e1 = e0 + (size_t)m->tok_embd.rows * m->tok_embd.row_bytes;
  uintptr_t ranges[2][2] = {{lo, embd_from_file ? e0 : hi}, {embd_from_file ? e1 : hi, hi}};
  for (int r = 0; r < 2; r++) {
    uintptr_t a = (ranges[r][0] + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t b = ranges[r][1] & ~((uintptr_t)page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
  }
  return HR_OK;
}

int model_load(const char *path, model **out, char *err, size_t err_len) {
  kernels_init();
  model *m = calloc(1, sizeof *m);
  if (!m) return HR_ENOMEM;
  loader L = {m, err, err_len};
  int rc = gguf_open(path, &m->file, err, err_len);
  if (rc) goto fail;
  hr_str arch;
  if (gguf_get_str(m->file, "general.architecture", &arch)) {
    snprintf(err, err_len, "%s: metadata general.architecture is missing", path);
    rc = HR_EFORMAT;
    goto fail;
  }
  if (hr_str_eq_cstr(arch, "llama")) m->hp.arch = ARCH_LLAMA;
  else if (hr_str_eq_cstr(arch, "qwen2")) m->hp.arch = ARCH_QWEN2;
  else if (hr_str_eq_cstr(arch, "bert")) m->hp.arch = ARCH_BERT;
  else {
    snprintf(err, err_len, "%s: architecture '%.*s' is not supported (llama, qwen2, bert)", path,
             (int)HR_MIN(arch.len, 40), arch.ptr);
    rc = HR_EUNSUPPORTED;
    goto fail;
  }
  snprintf(m->hp.arch_name, sizeof m->hp.arch_name, "%.*s", (int)arch.len, arch.ptr);
  file_stem(path, m->hp.name, sizeof m->hp.name);
  if ((rc = load_hparams(&L))) goto fail;
  if ((rc = tok_load(m->file, &m->tok, err, err_len))) goto fail;
  /* The embedding's row count is the vocabulary the model computes over;
   * some files pad it past the tokenizer's. */
  const gguf_tensor *te = gguf_find_tensor(m->file, "token_embd.weight");
  m->hp.n_vocab = te ? (int)te->ne[1] : (int)tok_vocab_size(m->tok);
  if (m->hp.n_vocab < (int)tok_vocab_size(m->tok)) {
    snprintf(err, err_len, "token_embd.weight has %d rows for a vocabulary of %u tokens",
             m->hp.n_vocab, tok_vocab_size(m->tok));
    rc = HR_EFORMAT;
    goto fail;
  }
  gguf_get_str(m->file, "tokenizer.chat_template", &m->chat_template);
  m->layers = calloc((size_t)m->hp.n_layer, sizeof *m->layers);
  if (!m->layers) {
    snprintf(err, err_len, "%s: out of memory for %d layers", path, m->hp.n_layer);
    rc = HR_ENOMEM;
    goto fail;
  }
  if (m->hp.arch == ARCH_BERT) {
    if ((rc = load_encoder_tensors(&L))) goto fail;
  } else {
    if ((rc = load_decoder_tensors(&L))) goto fail;
    if ((rc = load_rope_factors(&L))) goto fail;
    /* A decoder's last token has attended to every other: the summary that
     * llama-family embedders (e5-mistral, gte-Qwen2) pool. */
    if ((rc = load_pooling(&L, 3))) goto fail;
  }
  if ((rc = repack_weights(m)) || (rc = split_weights(m)) || (rc = own_vectors(m))) {
    snprintf(err, err_len, "%s: out of memory repacking the weights", path);
    goto fail;
  }
  *out = m;
  return HR_OK;
fail:
  model_free(m);
  return rc;
}

void model_free(model *m) {
  if (!m) return;
  free(m->hp.rope_freq_factors);
  free(m->layers);
  if (m->rp_buf) munmap(m->rp_buf, m->rp_bytes);
  if (m->bf3_buf) munmap(m->bf3_buf, m->bf3_bytes);
  free(m->vectors);
  tok_free(m->tok);
  gguf_close(m->file);
  free(m);
}
