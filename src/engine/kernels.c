/* kernels.c — picks the kernel path once per process and runs the matrix
 * loops on top of the per-type dot products.
 *
 * The tables of every path this CPU can run are filled at kernels_init()
 * (under pthread_once) and never change afterwards, so any thread may read
 * them without locks. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base.h"
#include "kernels.h"

static kernel_table tables[KERN_ISA_COUNT];
static kernel_table llama_tables[KERN_ISA_COUNT]; /* llama numerics over each path */
static int table_ok[KERN_ISA_COUNT];
static kern_isa cpu_best = KERN_ISA_REF;
static kern_numerics numerics = KERN_NUM_FAST;
static const kernel_table *selected;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Plain attention helpers, the fallback of every path: the path's own F16
 * vec_dot per row, and a per-row axpy. */
static void f16_dots_ref(float *out, const uint16_t *rows, size_t stride, int n_rows,
                         const uint16_t *q, int n, float scale) {
  kern_vec_dot_fn dot = tables[KERN_ISA_REF].types[TT_F16].vec_dot;
  for (int p = 0; p < n_rows; p++) out[p] = dot(n, rows + (size_t)p * stride, q) * scale;
}
static void f16_wsum_ref(float *out, const uint16_t *rows, size_t stride, int n_rows,
                         const float *w, int n) {
  for (int i = 0; i < n; i++) out[i] = 0;
  for (int p = 0; p < n_rows; p++)
    for (int i = 0; i < n; i++) out[i] += w[p] * quant_f16_to_f32(rows[(size_t)p * stride + i]);
}

static void softmax_f16_ref(float *x, int n) {
  tables[KERN_ISA_REF].softmax(x, n);
  for (int i = 0; i < n; i++) x[i] = quant_f16_to_f32(quant_f32_to_f16(x[i]));
}

static void init_tables(void) {
  quant_f16_table_init();
  kernels_fill_ref(&tables[KERN_ISA_REF]);
  tables[KERN_ISA_REF].f16_dots = f16_dots_ref;
  tables[KERN_ISA_REF].f16_wsum = f16_wsum_ref;
  tables[KERN_ISA_REF].softmax_f16 = softmax_f16_ref;
  table_ok[KERN_ISA_REF] = 1;
  if (cpu_has_avx2()) {
    tables[KERN_ISA_AVX2] = tables[KERN_ISA_REF];
    kernels_fill_avx2(&tables[KERN_ISA_AVX2]);
    kernels_fill_gemm_avx2(&tables[KERN_ISA_AVX2]);
    kernels_fill_repack_avx2(&tables[KERN_ISA_AVX2]);
    table_ok[KERN_ISA_AVX2] = tables[KERN_ISA_AVX2].isa == KERN_ISA_AVX2;
    if (table_ok[KERN_ISA_AVX2]) cpu_best = KERN_ISA_AVX2;
  }
  if (table_ok[KERN_ISA_AVX2] && cpu_has_avx512()) {
    tables[KERN_ISA_AVX512] = tables[KERN_ISA_AVX2];
    kernels_fill_avx512(&tables[KERN_ISA_AVX512]);
    kernels_fill_gemm_avx512(&tables[KERN_ISA_AVX512]);
    kernels_fill_repack_avx512(&tables[KERN_ISA_AVX512]);
    /* AMX for prompt-sized products unless HEARTH_AMX=0 */
    const char *amx = getenv("HEARTH_AMX");
    if ((!amx || strcmp(amx, "0")) && kernels_fill_repack_amx(&tables[KERN_ISA_AVX512]))
      tables[KERN_ISA_AVX512].name = "avx512+amx";
    table_ok[KERN_ISA_AVX512] = tables[KERN_ISA_AVX512].isa == KERN_ISA_AVX512;
    if (table_ok[KERN_ISA_AVX512]) cpu_best = KERN_ISA_AVX512;
  }
  /* llama numerics: the path's table without repacked weights, with
   * llama.cpp's float orders where the path's own differ */
  for (int i = 0; i < KERN_ISA_COUNT; i++) {
    if (!table_ok[i]) continue;
    llama_tables[i] = tables[i];
    for (int k = 0; k < TT_COUNT_; k++) {
      kern_type_ops *o = &llama_tables[i].types[k];
      o->rp_matmul = o->rp_matmul_streamed = NULL;
      o->rp_matmul_ep = o->rp_matmul_ep_streamed = NULL;
      o->rp_xt_min = o->rp_xt_max = 0;
    }
    kernels_fill_llama_ref(&llama_tables[i]);
    if (i >= KERN_ISA_AVX2) kernels_fill_llama_avx2(&llama_tables[i]);
    if (i >= KERN_ISA_AVX512) {
      kernels_fill_llama_avx512(&llama_tables[i]);
      kernels_fill_gemm_llama_avx512(&llama_tables[i]);
    }
  }
  const char *num = getenv("HEARTH_NUMERICS");
  if (num && *num) {
    if (!strcmp(num, "llama")) numerics = KERN_NUM_LLAMA;
    else if (strcmp(num, "fast"))
      hr_log(HR_LOG_WARN, "HEARTH_NUMERICS=%s is not one of fast, llama; using fast", num);
  }
  kern_isa use = cpu_best;
  const char *env = getenv("HEARTH_ISA");
  if (env && *env) {
    kern_isa want = KERN_ISA_COUNT;
    if (!strcmp(env, "ref")) want = KERN_ISA_REF;
    else if (!strcmp(env, "avx2")) want = KERN_ISA_AVX2;
    else if (!strcmp(env, "avx512")) want = KERN_ISA_AVX512;
    if (want == KERN_ISA_COUNT)
      hr_log(HR_LOG_WARN, "HEARTH_ISA=%s is not one of ref, avx2, avx512; using %s", env,
             tables[use].name);
    else if (want > cpu_best)
      hr_log(HR_LOG_WARN, "HEARTH_ISA=%s: this CPU cannot run it; using %s", env,
             tables[use].name);
    else
      use = want;
  }
  selected = numerics == KERN_NUM_LLAMA ? &llama_tables[use] : &tables[use];
}

void kernels_init(void) { pthread_once(&init_once, init_tables); }

const kernel_table *kernels_get(void) {
  kernels_init();
  return selected;
}

const kernel_table *kernels_for_isa(kern_isa isa) {
  kernels_init();
  if ((unsigned)isa >= KERN_ISA_COUNT || !table_ok[isa]) return NULL;
  return &tables[isa];
}

kern_isa kernels_cpu_best(void) {
  kernels_init();
  return cpu_best;
}

kern_numerics kernels_numerics(void) {
  kernels_init();
  return numerics;
}

const kernel_table *kernels_for_isa_numerics(kern_isa isa, kern_numerics num) {
  kernels_init();
  if ((unsigned)isa >= KERN_ISA_COUNT || !table_ok[isa] || (unsigned)num >= KERN_NUM_COUNT)
    return NULL;
  return num == KERN_NUM_LLAMA ? &llama_tables[isa] : &tables[isa];
}

const kern_type_ops *kernels_for_type(tensor_type t) {
  if ((unsigned)t >= TT_COUNT_) return NULL;
  const kern_type_ops *o = &kernels_get()->types[t];
  return o->to_float ? o : NULL;
}

void kern_matvec(tensor_type type, const void *W, int rows, int cols, const void *x_q,
                 float *y, int row_begin, int row_end) {
  kern_matvec_on(kernels_get(), type, W, rows, cols, x_q, y, row_begin, row_end);
}

void kern_matvec_on(const kernel_table *k, tensor_type type, const void *W, int rows, int cols,
                    const void *x_q, float *y, int row_begin, int row_end) {
  (void)rows;
  kern_vec_dot_fn dot = k->types[type].vec_dot;
  size_t rb = quant_row_bytes(type, cols);
  const uint8_t *w = (const uint8_t *)W + (size_t)row_begin * rb;
  for (int r = row_begin; r < row_end; r++, w += rb) y[r] = dot(cols, w, x_q);
}

/* Weight rows are taken ROW_TILE at a time; for each group of 4 activation
 * rows the tile is walked again, now from L1/L2, while the 4 activations
 * stay in L1. */
#define ROW_TILE 8

void kern_matmul(tensor_type type, const void *W, int rows, int cols, const void *X_q,
                 size_t x_stride, int n_x, float *Y, int ldy, int row_begin, int row_end) {
  kern_matmul_on(kernels_get(), type, W, rows, cols, X_q, x_stride, n_x, Y, ldy, row_begin,
                 row_end);
}

void kern_matmul_on(const kernel_table *k, tensor_type type, const void *W, int rows, int cols,
                    const void *X_q, size_t x_stride, int n_x, float *Y, int ldy, int row_begin,
                    int row_end) {
  (void)rows;
  const kern_type_ops *o = &k->types[type];
  size_t rb = quant_row_bytes(type, cols);
  const uint8_t *X = X_q;
  if (o->gemm && n_x >= KERN_GEMM_MIN_X && row_end > row_begin) {
    o->gemm(cols, (const uint8_t *)W + (size_t)row_begin * rb, rb, row_end - row_begin, X_q,
            x_stride, n_x, Y + row_begin, ldy);
    return;
  }
  for (int r0 = row_begin; r0 < row_end; r0 += ROW_TILE) {
    int r1 = r0 + ROW_TILE < row_end ? r0 + ROW_TILE : row_end;
    int j = 0;
    if (o->vec_dot4) {
      for (; j + 4 <= n_x; j += 4) {
        for (int r = r0; r < r1; r++) {
          float out[4];
          o->vec_dot4(cols, (const uint8_t *)W + (size_t)r * rb, X + (size_t)j * x_stride,
                      x_stride, out);
          for (int k = 0; k < 4; k++) Y[(size_t)(j + k) * ldy + r] = out[k];
        }
      }
    }
    for (; j < n_x; j++)
      for (int r = r0; r < r1; r++)
        Y[(size_t)j * ldy + r] =
            o->vec_dot(cols, (const uint8_t *)W + (size_t)r * rb, X + (size_t)j * x_stride);
  }
}

void kern_f32_to_f16(const float *src, uint16_t *dst, int n) {
  kernels_get()->f32_to_f16(src, dst, n);
}
void kern_f16_to_f32(const uint16_t *src, float *dst, int n) {
  kernels_get()->f16_to_f32(src, dst, n);
}
void kern_f16_dots(float *out, const uint16_t *rows, size_t stride, int n_rows, const uint16_t *q,
                   int n, float scale) {
  kernels_get()->f16_dots(out, rows, stride, n_rows, q, n, scale);
}
void kern_f16_wsum(float *out, const uint16_t *rows, size_t stride, int n_rows, const float *w,
                   int n) {
  kernels_get()->f16_wsum(out, rows, stride, n_rows, w, n);
}
void kern_softmax_f16(float *x, int n) { kernels_get()->softmax_f16(x, n); }
void kern_softmax(float *x, int n) { kernels_get()->softmax(x, n); }
void kern_transpose(const float *X, size_t x_stride, int n, int ld, int cols, float *xt) {
  kernels_get()->transpose(X, x_stride, n, ld, cols, xt);
}
void kern_add(float *out, const float *a, const float *b, int n) { kernels_get()->add(out, a, b, n); }

void kern_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps) {
  kernels_get()->layernorm(out, x, w, b, n, eps);
}
void kern_residual_layernorm(float *x, float *h, const float *bias, const float *w, const float *b,
                             int n, float eps) {
  kernels_get()->residual_layernorm(x, h, bias, w, b, n, eps);
}
void kern_gelu_erf(float *x, int n) { kernels_get()->gelu_erf(x, n); }
void kern_swiglu(float *out, const float *gate, const float *up, int n) {
  kernels_get()->swiglu(out, gate, up, n);
}

void kern_attn_scores(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const uint16_t *q, size_t q_stride, int nq, int n, float scale,
                      int one) {
  const kernel_table *k = kernels_get();
  if (k->attn_scores)
    k->attn_scores(out, out_stride, rows, stride, n_rows, q, q_stride, nq, n, scale, one);
  else
    kern_f16_dots_nq_on(k, out, out_stride, rows, stride, n_rows, q, q_stride, nq, n, scale);
}

void kern_attn_values(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const float *w, size_t w_stride, int nq, int n, int one) {
  const kernel_table *k = kernels_get();
  if (k->attn_values) /* llama.cpp's KV cache attends to cells in multiples of 32 */
    k->attn_values(out, out_stride, rows, stride, n_rows, w, w_stride, nq, n,
                   one ? (n_rows + 31) & ~31 : 0);
  else
    kern_f16_wsum_nq_on(k, out, out_stride, rows, stride, n_rows, w, w_stride, nq, n);
}

void kern_f16_dots_nq_on(const kernel_table *k, float *out, size_t out_stride,
                         const uint16_t *rows, size_t stride, int n_rows, const uint16_t *q,
                         size_t q_stride, int nq, int n, float scale) {
  if (k->f16_dots_nq && nq > 1) {
    k->f16_dots_nq(out, out_stride, rows, stride, n_rows, q, q_stride, nq, n, scale);
    return;
  }
  for (int g = 0; g < nq; g++)
    k->f16_dots(out + (size_t)g * out_stride, rows, stride, n_rows, q + (size_t)g * q_stride, n, scale);
}
void kern_f16_wsum_nq_on(const kernel_table *k, float *out, size_t out_stride,
                         const uint16_t *rows, size_t stride, int n_rows, const float *w,
                         size_t w_stride, int nq, int n) {
  if (k->f16_wsum_nq && nq > 1) {
    k->f16_wsum_nq(out, out_stride, rows, stride, n_rows, w, w_stride, nq, n);
    return;
  }
  for (int g = 0; g < nq; g++)
    k->f16_wsum(out + (size_t)g * out_stride, rows, stride, n_rows, w + (size_t)g * w_stride, n);
}
void kern_f16_dots_nq(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const uint16_t *q, size_t q_stride, int nq, int n, float scale) {
  kern_f16_dots_nq_on(kernels_get(), out, out_stride, rows, stride, n_rows, q, q_stride, nq, n, scale);
}
void kern_f16_wsum_nq(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                      int n_rows, const float *w, size_t w_stride, int nq, int n) {
  kern_f16_wsum_nq_on(kernels_get(), out, out_stride, rows, stride, n_rows, w, w_stride, nq, n);
}
