/* model.h — a loaded model: hyper-parameters from the GGUF metadata, the
 * weight tensors (views into the file's mapping) and the tokenizer. One
 * model is shared by every sequence that uses it and is immutable after
 * load. Internal to src/engine/; engine.h is the public face. */
#ifndef HEARTH_ENGINE_MODEL_H
#define HEARTH_ENGINE_MODEL_H

#include "gguf.h"
#include "tensor_types.h"
#include "tokenizer.h"

typedef enum { ARCH_LLAMA, ARCH_QWEN2, ARCH_BERT } model_arch;

/* A 2-D weight: rows of cols elements of type, row-major (GGUF ne0 = cols).
 * rp, when set, is the same matrix in 16-row groups (repack.h) in the
 * model's repack buffer; products then read rp and data is not touched.
 * rp_streamed: the repack buffer is too large to stay cached between
 * passes and the kernels have an rp_matmul_streamed for the type, which
 * products then take. */
typedef struct {
  tensor_type type;
  int rows, cols;
  const void *data;
  size_t row_bytes;
  const void *rp;
  size_t rp_group_bytes;
  bool rp_streamed;
  const void *bf3;  /* F32/F16 split into bfloat16 parts (bf3.h), or NULL */
  int bf3_min_rows; /* products of this many activation rows and more take bf3 */
} weight;

typedef struct {
  weight attn_norm, attn_norm_b;
  weight wq, wk, wv, wo;
  weight bq, bk, bv, bo;
  weight ffn_norm, ffn_norm_b;
  weight w_gate, w_up, w_down;
  weight b_up, b_down;
} layer_weights;

typedef struct {
  model_arch arch;
  char arch_name[32];
  char name[128];     /* general.name, or the file stem */
  int n_vocab;
  int n_embd;
  int n_layer;
  int n_head;
  int n_head_kv;
  int head_dim;
  int n_ff;
  int n_ctx_train;
  int n_rot;
  float rope_base;
  float rope_scale;   /* linear scaling: positions multiplied by this */
  bool rope_neox;     /* pairs (i, i + n_rot/2) instead of (2i, 2i + 1) */
  float norm_eps;
  /* llama3 RoPE scaling: per-pair frequency divisors, or NULL */
  float *rope_freq_factors;
  /* bert */
  int pooling;        /* 0 none, 1 mean, 2 cls, 3 last */
  int n_type_vocab;
} model_hparams;

typedef struct {
  model_hparams hp;
  gguf_file *file;
  tokenizer *tok;
  weight tok_embd;
  weight pos_embd, type_embd;            /* bert */
  weight embd_norm, embd_norm_b;         /* bert */
  weight output_norm, output_norm_b;
  weight output;                         /* = tok_embd when tied */
  layer_weights *layers;
  hr_str chat_template;                  /* tokenizer.chat_template, or empty */
  size_t weight_bytes;
  void *rp_buf;                          /* repacked weights (anonymous mapping) */
  size_t rp_bytes;
  bool rp_streamed;                      /* some weight is rp_streamed */
  void *bf3_buf;                         /* split F32/F16 weights (anonymous mapping) */
  size_t bf3_bytes;
  void *vectors;                         /* once packed: norms, biases, small embeddings, copied */
} model;

/* Loads path: checks the architecture is supported and every tensor the
 * forward pass reads is present with the right shape and a usable type.
 * err says what is wrong. Matrices whose type the selected kernels multiply
 * faster in 16-row groups are repacked (HEARTH_REPACK=0 keeps the GGUF
 * layout) and their file pages released. On a CPU with AMX-BF16 (unless
 * HEARTH_AMX_F32=0; =always: on any, through the plain-C model) an
 * encoder's packed F32 and F16 matrices are also split into bfloat16 parts for the
 * kernel table's bf3_matmul (bf3.h). */
int model_load(const char *path, model **out, char *err, size_t err_len);
void model_free(model *m);

#endif
