/* kernels.h — the compute kernels of the forward pass: per-type dot products
 * chosen once per process for the CPU's instruction set, matrix-times-vector
 * and matrix-times-matrix built on them, and the f32 row helpers (norms,
 * softmax, activations, RoPE, f16 rows for the KV cache).
 *
 * How a weight matrix multiplies an activation (as llama.cpp does it):
 *   ops = kernels_for_type(W's type)
 *   ops->from_float(x_f32, x_q, cols)    activation into ops->vec_dot_type
 *   kern_matvec(type, W, rows, cols, x_q, y, r0, r1)   y[r] = W_r . x
 * Weights stay in their block format; activations are quantized to 8 bits
 * (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants) or
 * converted to F16/BF16/F32 for those weight types; the dot product is then
 * integer arithmetic per block, scaled in float.
 *
 * Paths: "ref" (plain C, always present), "avx2" (AVX2+FMA+F16C), "avx512"
 * (AVX-512 F/BW/VL/DQ + VNNI). kernels_init() picks the best one the CPU and
 * OS support; HEARTH_ISA=ref|avx2|avx512 asks for a lower one (a request
 * above what the CPU has is ignored with a warning). A path that lacks a
 * kernel for some type holds the next lower path's kernel there.
 *
 * Numerics. Every path computes the same integer block sums as llama.cpp;
 * the float sums around them may run in another order ("fast", the
 * default). HEARTH_NUMERICS=llama selects, on top of the path, kernels that
 * do llama.cpp's float operations in llama.cpp's order, so that logits
 * equal those of its CPU backend (as built with GGML_NATIVE for an AVX-512
 * x86-64, without AMX) bit for bit. That matters because a deep model
 * amplifies any rounding difference: on SmolLM2-135M (30 layers of 8-bit
 * activations) two float32 summation orders already move top-5
 * log-probabilities by ~0.1 and change greedy text, in hearth (-b 1 vs -b
 * 512) as between llama.cpp builds (AMX vs not). The orders are those of
 * ggml's x86 code, stated in kernels_ref.c (the plain-C statement every
 * SIMD version is tested against, bit for bit):
 *  - 32-block dot products: 8 float lanes, lane k taking the int32 sum of
 *    bytes 4k..4k+3 of each block, one FMA per block in block order, then
 *    ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)), then + the Q4_1/Q5_1 min terms
 *    (their own FMA chain); llama numerics keep such weights in the GGUF
 *    layout (no repack) and multiply prompts with GEMM tiles that keep the
 *    8 lanes per element;
 *  - attention (kern_attn_scores/values): a step of one token as
 *    ggml_vec_dot_f16 (4 x 16 lanes over 64-element steps, the rest in
 *    double, positions padded to the 32 llama.cpp's KV cache rounds to);
 *    a step of several as llamafile's tinyBLAS (16 lanes, one chain each);
 *  - softmax and SiLU through ggml's AVX-512 expf (ARM's optimized-routines
 *    polynomial), softmax sums per 16 in float then in double;
 *  - RMSNorm squares in float summed in double, RoPE with llama.cpp's
 *    contractions (x0 c - x1 s and x0 s + x1 c as one FMA each, the other
 *    product rounded) in every mode.
 * Requests served one at a time match llama-server -np 1; when hearth steps
 * several sequences together the one-token order no longer applies.
 * Covered: llama/qwen2 graphs with 32-block weights (checked end to end on
 * SmolLM2's Q4_1 and Q8_0: tests/integration/chat_fidelity.test.js). Not
 * covered: K-quant and float-weight products (hearth's orders), and Q4_0,
 * which llama.cpp repacks on x86 into a layout of its own.
 *
 * Invariants: cols is a multiple of the weight type's block size (and of 256
 * for the K-quants, whose activations are Q8_K); all kernels are reentrant
 * and allocate nothing; tables are immutable after kernels_init(). */
#ifndef HEARTH_ENGINE_KERNELS_H
#define HEARTH_ENGINE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "bf3.h"
#include "quant.h"
#include "repack.h"
#include "tensor_types.h"

typedef enum { KERN_ISA_REF = 0, KERN_ISA_AVX2 = 1, KERN_ISA_AVX512 = 2, KERN_ISA_COUNT } kern_isa;

/* Dot product of n elements: w is a row of the weight type, x a row of its
 * vec_dot_type. */
typedef float (*kern_vec_dot_fn)(int n, const void *w, const void *x);
/* Four dot products of one weight row with four activation rows x0..x3
 * (x + k * x_stride bytes), into out[0..3]; shares the weight decode. */
typedef void (*kern_vec_dot4_fn)(int n, const void *w, const void *x, size_t x_stride,
                                 float out[4]);

/* Matrix x matrix on one block of weight rows (prefill):
 *   Y[j * ldy + r] = W_r . X_j   for r in [0, n_rows), j in [0, n_x)
 * W_r = W + r * w_stride (rows of the weight type, n elements), X_j = X +
 * j * x_stride (rows of its vec_dot_type). Any n_rows, n_x >= 1. Integer
 * parts equal vec_dot's; float sums may be ordered differently. */
typedef void (*kern_gemm_fn)(int n, const void *W, size_t w_stride, int n_rows, const void *X,
                             size_t x_stride, int n_x, float *Y, int ldy);

typedef struct {
  kern_vec_dot_fn vec_dot;         /* NULL: this type cannot be a weight */
  kern_vec_dot4_fn vec_dot4;       /* NULL: matmul calls vec_dot 4 times */
  kern_gemm_fn gemm;               /* NULL: matmul uses vec_dot4/vec_dot */
  rp_matmul_fn rp_matmul;          /* NULL: weights stay in the GGUF layout */
  /* rp_matmul for weights every pass streams from memory (weight.rp_streamed):
   * prefetches the groups ahead at every row count; NULL: rp_matmul */
  rp_matmul_fn rp_matmul_streamed;
  /* the same two with an epilogue fused into the stores (repack.h's
   * rp_epilogue, for F32/F16); NULL: the caller applies it after the product */
  rp_matmul_ep_fn rp_matmul_ep, rp_matmul_ep_streamed;
  /* activation row counts the float products above (not the streamed
   * ones) take by transposing them, each thread its own copy (repack.h's
   * RP_XT_MAX): the forward then gives each thread one run of weight rows;
   * 0: none */
  int rp_xt_min, rp_xt_max;
  tensor_type vec_dot_type;        /* what the activation row must be */
  quant_from_float_fn from_float;  /* f32 row -> vec_dot_type row */
  quant_to_float_fn to_float;      /* a row of this type -> f32 */
  quant_from_float_fn quantize;    /* f32 row -> this type (slow, for tools) */
} kern_type_ops;

typedef struct {
  kern_isa isa;
  const char *name; /* "ref", "avx2", "avx512" */
  kern_type_ops types[TT_COUNT_];
  void (*f32_to_f16)(const float *src, uint16_t *dst, int n);
  void (*f16_to_f32)(const uint16_t *src, float *dst, int n);
  /* attention over F16 rows (see kern_f16_dots / kern_f16_wsum) */
  void (*f16_dots)(float *out, const uint16_t *rows, size_t stride, int n_rows, const uint16_t *q,
                   int n, float scale);
  void (*f16_wsum)(float *out, const uint16_t *rows, size_t stride, int n_rows, const float *w,
                   int n);
  void (*softmax_f16)(float *x, int n);
  /* nq queries at once (kern_f16_dots_nq); NULL: one at a time */
  void (*f16_dots_nq)(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const uint16_t *q, size_t q_stride, int nq, int n, float scale);
  void (*f16_wsum_nq)(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const float *w, size_t w_stride, int nq, int n);
  /* kern_add: out = a + b elementwise, the same floats on every path (out
   * may be a or b) */
  void (*add)(float *out, const float *a, const float *b, int n);
  /* kern_layernorm, kern_softmax, kern_gelu_erf (the encoder's row functions) */
  void (*layernorm)(float *out, const float *x, const float *w, const float *b, int n, float eps);
  void (*residual_layernorm)(float *x, float *h, const float *bias, const float *w, const float *b,
                             int n, float eps);
  void (*softmax)(float *x, int n);
  void (*gelu_erf)(float *x, int n);
  /* f32 row -> activation row for repacked Q4_0/Q4_1/Q8_0 weights (repack.h);
   * NULL: rpx_from_float goes block by block through from_float */
  void (*rpx_row)(tensor_type t, const float *x, void *dst, int cols);
  /* kern_transpose */
  void (*transpose)(const float *X, size_t x_stride, int n, int ld, int cols, float *xt);
  /* products of F32 weights split into bfloat16 parts (bf3.h): AMX-BF16
   * where the CPU has it, else the plain-C model of its steps */
  bf3_matmul_fn bf3_matmul;
  /* bf3_split_rows, the same parts (AVX-512: 16 values at a time) */
  void (*bf3_split_rows)(const float *X, size_t x_stride, int n, int cols, void *dst);
  /* out = silu(gate) * up over one row */
  void (*swiglu)(float *out, const float *gate, const float *up, int n);
  /* attention in llama.cpp's orders (kern_attn_scores/values); NULL in the
   * fast tables, which use f16_dots_nq/f16_wsum_nq */
  void (*attn_scores)(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const uint16_t *q, size_t q_stride, int nq, int n, float scale,
                      int one);
  void (*attn_values)(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const float *w, size_t w_stride, int nq, int n, int n_kv);
} kernel_table;

typedef enum { KERN_NUM_FAST = 0, KERN_NUM_LLAMA = 1, KERN_NUM_COUNT } kern_numerics;

/* Detects the CPU once and selects the table (thread-safe, idempotent). */
void kernels_init(void);
/* The selected table (calls kernels_init if nobody did). */
const kernel_table *kernels_get(void);
/* The table of one path, or NULL if this CPU/OS cannot run it (tests,
 * benchmarks). */
const kernel_table *kernels_for_isa(kern_isa isa);
/* The best path this CPU supports, ignoring HEARTH_ISA. */
kern_isa kernels_cpu_best(void);
/* The numerics of the selected table (HEARTH_NUMERICS=fast|llama), and the
 * table of one path with given numerics (tests; NULL as kernels_for_isa). */
kern_numerics kernels_numerics(void);
const kernel_table *kernels_for_isa_numerics(kern_isa isa, kern_numerics num);
/* Ops for a type in the selected table; NULL for an unknown type. Types
 * whose vec_dot is NULL can still be converted with to_float/quantize. */
const kern_type_ops *kernels_for_type(tensor_type t);

/* ---- matrices ------------------------------------------------------------ */

/* y[r] = W_r . x for r in [row_begin, row_end). W is rows x cols of type,
 * row-major; x is one activation row already in the type's vec_dot_type;
 * y is indexed by absolute row. One thread per row range. */
void kern_matvec(tensor_type type, const void *W, int rows, int cols, const void *x_q,
                 float *y, int row_begin, int row_end);

/* Y[j * ldy + r] = W_r . X_j for j in [0, n_x), r in [row_begin, row_end).
 * X holds n_x activation rows (vec_dot_type) x_stride bytes apart. With
 * KERN_GEMM_MIN_X or more activation rows it runs the type's gemm (register
 * tiles; each weight is unpacked once per call), else vec_dot4/vec_dot. */
#define KERN_GEMM_MIN_X 3
void kern_matmul(tensor_type type, const void *W, int rows, int cols, const void *X_q,
                 size_t x_stride, int n_x, float *Y, int ldy, int row_begin, int row_end);

/* The same two with an explicit table (tests and benchmarks of one path). */
void kern_matvec_on(const kernel_table *k, tensor_type type, const void *W, int rows, int cols,
                    const void *x_q, float *y, int row_begin, int row_end);
void kern_matmul_on(const kernel_table *k, tensor_type type, const void *W, int rows, int cols,
                    const void *X_q, size_t x_stride, int n_x, float *Y, int ldy, int row_begin,
                    int row_end);

/* ---- f32 helpers (in place is fine: out may equal x) ----------------------- */

/* out = x / sqrt(mean(x^2) + eps) * w (w may be NULL: no weight). */
void kern_rmsnorm(float *out, const float *x, const float *w, int n, float eps);
/* out = (x - mean) / sqrt(var + eps) * w + b (w, b may be NULL). */
void kern_layernorm(float *out, const float *x, const float *w, const float *b, int n,
                    float eps);
/* The encoder's residual step over one row: h = (h + bias) + x, then
 * x = LayerNorm(h) * w + b (bias, w, b may be NULL). One call instead of
 * two kern_adds and a kern_layernorm: the vector paths take the mean and
 * the variance in one pass (double sums of h - h[0] and its square,
 * kernels_rows.h), the reference keeps the two-pass form. */
void kern_residual_layernorm(float *x, float *h, const float *bias, const float *w, const float *b,
                             int n, float eps);
/* x = softmax(x) over n entries (-INFINITY entries become 0). */
void kern_softmax(float *x, int n);
/* xt[k * ld + j] = X_j[k] for the n rows of cols floats at X (x_stride
 * bytes apart), 0 for n <= j < ld: rows turned into 16-row groups
 * (repack.h's float layout, ld = 16) and the like. */
void kern_transpose(const float *X, size_t x_stride, int n, int ld, int cols, float *xt);
void kern_silu(float *x, int n);
/* GELU, tanh approximation (ggml's gelu) and exact erf form (gelu_erf). */
void kern_gelu(float *x, int n);
void kern_gelu_erf(float *x, int n);
/* out = silu(gate) * up (SwiGLU feed-forward) over one row of n (llama
 * numerics: ggml's vector expf for every whole 16, expf for the rest, so
 * call it per row). */
void kern_swiglu(float *out, const float *gate, const float *up, int n);
void kern_add(float *out, const float *a, const float *b, int n);
void kern_mul(float *out, const float *a, const float *b, int n);
void kern_scale(float *x, float s, int n);
/* out += a * s */
void kern_axpy(float *out, const float *a, float s, int n);
float kern_dot_f32(const float *a, const float *b, int n);

/* RoPE. kern_rope_cache fills cs[2*i] = cos, cs[2*i+1] = sin of the angle
 * for the i-th rotated pair (i < n_rot/2) at position pos:
 *   theta_i = pos * freq_scale * freq_base^(-2i/n_rot) / freq_factors[i]
 * (freq_factors may be NULL), computed with ggml's running product so angles
 * match llama.cpp's to the bit. kern_rope then rotates n_heads heads of
 * head_dim floats in x: the first n_rot dims of each head, pairs (2i, 2i+1)
 * in normal style or (i, i + n_rot/2) in NeoX style. */
void kern_rope_cache(float *cs, int n_rot, int pos, float freq_base, float freq_scale,
                     const float *freq_factors);
void kern_rope(float *x, int n_heads, int head_dim, int n_rot, const float *cs, int neox);

/* f16 rows (KV cache) through the selected path. */
void kern_f32_to_f16(const float *src, uint16_t *dst, int n);
void kern_f16_to_f32(const uint16_t *src, float *dst, int n);

/* Attention over F16 rows of n elements, `stride` elements apart (the KV
 * cache). kern_f16_dots: out[p] = scale * (rows_p . q) for p < n_rows, each
 * dot as the F16 vec_dot computes it (products and sums in f32).
 * kern_f16_wsum: out[i] = sum_p w[p] * rows_p[i] for i < n (out is
 * overwritten; w as given, f32). */
void kern_f16_dots(float *out, const uint16_t *rows, size_t stride, int n_rows, const uint16_t *q,
                   int n, float scale);
void kern_f16_wsum(float *out, const uint16_t *rows, size_t stride, int n_rows, const float *w,
                   int n);
/* x = softmax(x) with every probability then rounded to F16 precision (the
 * attention weights as llama.cpp hands them to F16 values). The SIMD paths
 * use a polynomial expf (within 2 ulp) and sum in double, as ggml does. */
void kern_softmax_f16(float *x, int n);
/* The same for nq queries sharing the rows (grouped-query attention): each
 * row is converted once for all of them. Query g is q + g * q_stride, its
 * results out + g * out_stride; kern_f16_wsum_nq's weights w + g * w_stride.
 * Same numerics as nq single calls. The _on forms take a table (tests). */
void kern_f16_dots_nq(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const uint16_t *q, size_t q_stride, int nq, int n, float scale);
void kern_f16_wsum_nq(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const float *w, size_t w_stride, int nq, int n);
/* Attention of nq query heads sharing one KV head, through the selected
 * table: kern_attn_scores as kern_f16_dots_nq, kern_attn_values as
 * kern_f16_wsum_nq (weights: kern_softmax_f16's, F16 values in f32).
 * `one`: the forward step holds one token, whose attention llama.cpp sums
 * in ggml_vec_dot_f16's order over the KV cache's n_kv cells (n_rows
 * rounded up to 32); otherwise in tinyBLAS's. Fast tables ignore it. */
void kern_attn_scores(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const uint16_t *q, size_t q_stride, int nq, int n, float scale,
                      int one);
void kern_attn_values(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const float *w, size_t w_stride, int nq, int n, int one);
void kern_f16_dots_nq_on(const kernel_table *k, float *out, size_t out_stride,
                         const uint16_t *rows, size_t stride, int n_rows, const uint16_t *q,
                         size_t q_stride, int nq, int n, float scale);
void kern_f16_wsum_nq_on(const kernel_table *k, float *out, size_t out_stride,
                         const uint16_t *rows, size_t stride, int n_rows, const float *w,
                         size_t w_stride, int nq, int n);

/* ---- per-path tables (defined by kernels_<isa>.c; internal) -------------- */

void kernels_fill_ref(kernel_table *t);
/* llama numerics over a copy of a path's table (kernels_ref.c holds the
 * plain-C statement, the other files SIMD versions of the same). */
void kernels_fill_llama_ref(kernel_table *t);
void kernels_fill_llama_avx2(kernel_table *t);
void kernels_fill_llama_avx512(kernel_table *t);
void kernels_fill_gemm_llama_avx512(kernel_table *t); /* kernels_gemm_avx512.c */
void kernels_fill_avx2(kernel_table *t);   /* on top of a ref-filled table */
void kernels_fill_avx512(kernel_table *t); /* on top of an avx2-filled table */
void kernels_fill_gemm_avx2(kernel_table *t);   /* kernels_gemm_avx2.c */
void kernels_fill_gemm_avx512(kernel_table *t); /* kernels_gemm_avx512.c */
void kernels_fill_repack_avx2(kernel_table *t);   /* kernels_repack_avx2.c */
void kernels_fill_repack_avx512(kernel_table *t); /* kernels_repack_avx512.c */
/* The AVX-512 repacked product of any repacked type (for the AMX kernels'
 * rows past their last whole tile). */
void rp_product_avx512(tensor_type t, int cols, const void *W, size_t gb, int ng, const void *X,
                       size_t xs, int nx, float *Y, int ldy);
/* Puts the AMX products of Q4_0/Q4_1/Q8_0 in an AVX-512 table when the CPU
 * and the OS allow AMX-INT8; returns whether it did. */
int kernels_fill_repack_amx(kernel_table *t); /* kernels_repack_avx512_amx.c */
/* CPU features (cpu.c). */
int cpu_has_avx2(void);   /* AVX2 + FMA + F16C, OS saves YMM */
int cpu_has_avx512(void); /* F, BW, VL, DQ, VNNI, OS saves ZMM */
int cpu_has_amx_int8(void); /* AMX-TILE and AMX-INT8, OS saves the tile state */
int cpu_has_amx_bf16(void); /* and AMX-BF16 */
/* Bytes of the last-level cache cpu0 sees (one instance of it), 0 when the
 * system does not say; cpu_cache_size_parse reads sysfs' "32768K". */
size_t cpu_llc_bytes(void);
size_t cpu_cache_size_parse(const char *text);

/* e^x for the vector softmaxes and GELUs (x <= 0): Cephes' expf, 2^n e^r
 * with n = round(x log2 e), r = x - n ln2 in two parts (HI exact in
 * float), e^r = 1 + r + r^2 (P0 + r (P1 + ...)); below KERN_EXP_MIN, 0
 * (AVX-512; AVX2 clamps where 2^n's bits reach 0, kernels_math_avx2.h). */
#define KERN_EXP_MIN (-87.3f)
#define KERN_EXP_LOG2E 1.44269504088896341f
#define KERN_EXP_LN2_HI 0.693359375f
#define KERN_EXP_LN2_LO (-2.12194440e-4f)
#define KERN_EXP_P0 5.0000001201e-1f
#define KERN_EXP_P1 1.6666665459e-1f
#define KERN_EXP_P2 4.1665795894e-2f
#define KERN_EXP_P3 8.3334519073e-3f
#define KERN_EXP_P4 1.3981999507e-3f
#define KERN_EXP_P5 1.9875691500e-4f

/* erf for the vector GELUs (Abramowitz and Stegun 7.1.26, |error| <=
 * 1.5e-7, below float's step near 1): erf(z) = 1 - t (A1 + t (A2 + t (A3 +
 * t (A4 + t A5)))) e^(-z^2), t = 1 / (1 + P z), z >= 0, odd in z. */
#define ERF_AS_P 0.3275911f
#define ERF_AS_A1 0.254829592f
#define ERF_AS_A2 -0.284496736f
#define ERF_AS_A3 1.421413741f
#define ERF_AS_A4 -1.453152027f
#define ERF_AS_A5 1.061405429f

#endif
