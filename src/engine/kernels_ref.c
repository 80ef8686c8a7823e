/* kernels_ref.c — the plain-C path: a dot product for every weight type
 * against its activation format, and the f32 row helpers every path shares.
 *
 * Each quantized dot product sums integers exactly within a block, then
 * scales once per block in float: sum_b d_w(b) * d_x(b) * isum(b) (+ the
 * min terms). The SIMD paths compute the same integers, so they may differ
 * from these only in the order of the float additions across blocks.
 *
 * Compiled without ISA flags: this file must run on any x86-64 (and any
 * other CPU).
 *
 * The "llama numerics" section states llama.cpp's float orders (see
 * kernels.h) in plain C: every FMA written as fmaf, every other operation
 * rounded where ggml's x86 code rounds it. Nothing here may be contracted
 * into FMAs the statement does not have (GCC in ISO C mode does not; clang
 * would, hence the pragma). */
#include <math.h>

#include "kernels.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* ---- float rows ------------------------------------------------------------ */

static float dot_f32(int n, const void *w, const void *x) {
  const float *a = w, *b = x;
  double s = 0;
  for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
  return (float)s;
}

static float dot_f16(int n, const void *w, const void *x) {
  const uint16_t *a = w, *b = x;
  double s = 0;
  for (int i = 0; i < n; i++) s += (double)quant_f16_to_f32(a[i]) * quant_f16_to_f32(b[i]);
  return (float)s;
}

static float dot_bf16(int n, const void *w, const void *x) {
  const uint16_t *a = w, *b = x;
  double s = 0;
  for (int i = 0; i < n; i++) s += (double)quant_bf16_to_f32(a[i]) * quant_bf16_to_f32(b[i]);
  return (float)s;
}

/* ---- 32-blocks ---------------------------------------------------------------- */

static float dot_q4_0(int n, const void *w, const void *x) {
  const block_q4_0 *a = w;
  const block_q8_0 *b = x;
  float s = 0;
  for (int i = 0; i < n / QK32; i++) {
    int isum = 0;
    for (int j = 0; j < 16; j++)
      isum += ((a[i].qs[j] & 15) - 8) * b[i].qs[j] + ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
    s += (float)isum * quant_f16_to_f32(a[i].d) * quant_f16_to_f32(b[i].d);
  }
  return s;
}

static float dot_q4_1(int n, const void *w, const void *x) {
  const block_q4_1 *a = w;
  const block_q8_1 *b = x;
  float s = 0;
  for (int i = 0; i < n / QK32; i++) {
    int isum = 0;
    for (int j = 0; j < 16; j++)
      isum += (a[i].qs[j] & 15) * b[i].qs[j] + (a[i].qs[j] >> 4) * b[i].qs[j + 16];
    s += (float)isum * quant_f16_to_f32(a[i].d) * quant_f16_to_f32(b[i].d) +
         quant_f16_to_f32(a[i].m) * quant_f16_to_f32(b[i].s);
  }
  return s;
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float dot_q5_0(int n, const void *w, const void *x) {
  const block_q5_0 *a = w;
  const block_q8_0 *b = x;
  float s = 0;
  for (int i = 0; i < n / QK32; i++) {
    uint32_t qh = le32(a[i].qh);
    int isum = 0;
    for (int j = 0; j < 16; j++) {
      int q0 = ((a[i].qs[j] & 15) | (int)((qh >> j) & 1) << 4) - 16;
      int q1 = ((a[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16;
      isum += q0 * b[i].qs[j] + q1 * b[i].qs[j + 16];
    }
    s += (float)isum * quant_f16_to_f32(a[i].d) * quant_f16_to_f32(b[i].d);
  }
  return s;
}

static float dot_q5_1(int n, const void *w, const void *x) {
  const block_q5_1 *a = w;
  const block_q8_1 *b = x;
  float s = 0;
  for (int i = 0; i < n / QK32; i++) {
    uint32_t qh = le32(a[i].qh);
    int isum = 0;
    for (int j = 0; j < 16; j++) {
      int q0 = (a[i].qs[j] & 15) | (int)((qh >> j) & 1) << 4;
      int q1 = (a[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
      isum += q0 * b[i].qs[j] + q1 * b[i].qs[j + 16];
    }
    s += (float)isum * quant_f16_to_f32(a[i].d) * quant_f16_to_f32(b[i].d) +
         quant_f16_to_f32(a[i].m) * quant_f16_to_f32(b[i].s);
  }
  return s;
}

static float dot_q8_0(int n, const void *w, const void *x) {
  const block_q8_0 *a = w, *b = x;
  float s = 0;
  for (int i = 0; i < n / QK32; i++) {
    int isum = 0;
    for (int j = 0; j < QK32; j++) isum += a[i].qs[j] * b[i].qs[j];
    s += (float)isum * quant_f16_to_f32(a[i].d) * quant_f16_to_f32(b[i].d);
  }
  return s;
}

/* ---- K-quants ----------------------------------------------------------------- */

static float dot_q2_K(int n, const void *w, const void *x) {
  const block_q2_K *a = w;
  const block_q8_K *b = x;
  float s = 0;
  for (int i = 0; i < n / QK_K; i++) {
    int isum = 0, msum = 0;
    for (int e = 0; e < QK_K; e++) {
      int h = e / 128, sh = (e % 128) / 32, l = e % 32;
      int q = (a[i].qs[32 * h + l] >> (2 * sh)) & 3;
      isum += (a[i].scales[e / 16] & 15) * q * b[i].qs[e];
    }
    for (int g = 0; g < 16; g++) msum += (a[i].scales[g] >> 4) * b[i].bsums[g];
    s += b[i].d * quant_f16_to_f32(a[i].d) * (float)isum -
         b[i].d * quant_f16_to_f32(a[i].dmin) * (float)msum;
  }
  return s;
}

static float dot_q3_K(int n, const void *w, const void *x) {
  const block_q3_K *a = w;
  const block_q8_K *b = x;
  float s = 0;
  for (int i = 0; i < n / QK_K; i++) {
    int8_t sc[16];
    quant_k3_scales(a[i].scales, sc);
    int isum = 0;
    for (int g = 0; g < 16; g++) {
      int gs = 0;
      for (int l = 0; l < 16; l++) {
        int e = 16 * g + l, h = e / 128, sh = (e % 128) / 32, ll = e % 32;
        int q = (a[i].qs[32 * h + ll] >> (2 * sh)) & 3;
        q -= ((a[i].hmask[ll] >> (e / 32)) & 1) ? 0 : 4;
        gs += q * b[i].qs[e];
      }
      isum += sc[g] * gs;
    }
    s += b[i].d * quant_f16_to_f32(a[i].d) * (float)isum;
  }
  return s;
}

static float dot_q4_K(int n, const void *w, const void *x) {
  const block_q4_K *a = w;
  const block_q8_K *b = x;
  float s = 0;
  for (int i = 0; i < n / QK_K; i++) {
    int isum = 0, msum = 0;
    for (int g = 0; g < 8; g++) {
      uint8_t sc, m;
      quant_k4_scale_min(g, a[i].scales, &sc, &m);
      const uint8_t *q = a[i].qs + 32 * (g / 2);
      const int8_t *y = b[i].qs + 32 * g;
      int gs = 0;
      for (int l = 0; l < 32; l++) gs += ((g & 1) ? q[l] >> 4 : q[l] & 15) * y[l];
      isum += sc * gs;
      msum += m * (b[i].bsums[2 * g] + b[i].bsums[2 * g + 1]);
    }
    s += b[i].d * quant_f16_to_f32(a[i].d) * (float)isum -
         b[i].d * quant_f16_to_f32(a[i].dmin) * (float)msum;
  }
  return s;
}

static float dot_q5_K(int n, const void *w, const void *x) {
  const block_q5_K *a = w;
  const block_q8_K *b = x;
  float s = 0;
  for (int i = 0; i < n / QK_K; i++) {
    int isum = 0, msum = 0;
    for (int g = 0; g < 8; g++) {
      uint8_t sc, m;
      quant_k4_scale_min(g, a[i].scales, &sc, &m);
      const uint8_t *q = a[i].qs + 32 * (g / 2);
      const int8_t *y = b[i].qs + 32 * g;
      int gs = 0;
      for (int l = 0; l < 32; l++) {
        int v = ((g & 1) ? q[l] >> 4 : q[l] & 15) | ((a[i].qh[l] >> g) & 1) << 4;
        gs += v * y[l];
      }
      isum += sc * gs;
      msum += m * (b[i].bsums[2 * g] + b[i].bsums[2 * g + 1]);
    }
    s += b[i].d * quant_f16_to_f32(a[i].d) * (float)isum -
         b[i].d * quant_f16_to_f32(a[i].dmin) * (float)msum;
  }
  return s;
}

static float dot_q6_K(int n, const void *w, const void *x) {
  const block_q6_K *a = w;
  const block_q8_K *b = x;
  float s = 0;
  for (int i = 0; i < n / QK_K; i++) {
    int8_t q[QK_K];
    for (int h = 0; h < 2; h++) {
      const uint8_t *ql = a[i].ql + 64 * h, *qh = a[i].qh + 32 * h;
      int8_t *o = q + 128 * h;
      for (int l = 0; l < 32; l++) {
        o[l] = (int8_t)(((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32);
        o[l + 32] = (int8_t)(((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32);
        o[l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
        o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
      }
    }
    int isum = 0;
    for (int g = 0; g < 16; g++) {
      int gs = 0;
      for (int l = 0; l < 16; l++) gs += q[16 * g + l] * b[i].qs[16 * g + l];
      isum += a[i].scales[g] * gs;
    }
    s += b[i].d * quant_f16_to_f32(a[i].d) * (float)isum;
  }
  return s;
}

/* ---- llama numerics ----------------------------------------------------------- */

/* A 32-block as ggml's x86 vec_dot sees it: 32 weight values in element
 * order (signed, or unsigned with a min), the block scale and min. */
static void block32(tensor_type t, const void *w, int b, int q[32], float *d, float *m) {
  *m = 0;
  switch (t) {
  case TT_Q4_0: {
    const block_q4_0 *a = (const block_q4_0 *)w + b;
    for (int j = 0; j < 16; j++) q[j] = (a->qs[j] & 15) - 8, q[j + 16] = (a->qs[j] >> 4) - 8;
    *d = quant_f16_to_f32(a->d);
    return;
  }
  case TT_Q4_1: {
    const block_q4_1 *a = (const block_q4_1 *)w + b;
    for (int j = 0; j < 16; j++) q[j] = a->qs[j] & 15, q[j + 16] = a->qs[j] >> 4;
    *d = quant_f16_to_f32(a->d), *m = quant_f16_to_f32(a->m);
    return;
  }
  case TT_Q5_0:
  case TT_Q5_1: {
    const uint8_t *qs, *qhp;
    if (t == TT_Q5_0) {
      const block_q5_0 *a = (const block_q5_0 *)w + b;
      qs = a->qs, qhp = a->qh, *d = quant_f16_to_f32(a->d);
    } else {
      const block_q5_1 *a = (const block_q5_1 *)w + b;
      qs = a->qs, qhp = a->qh, *d = quant_f16_to_f32(a->d), *m = quant_f16_to_f32(a->m);
    }
    uint32_t qh = le32(qhp);
    int off = t == TT_Q5_0 ? 16 : 0;
    for (int j = 0; j < 16; j++) {
      q[j] = ((qs[j] & 15) | (int)((qh >> j) & 1) << 4) - off;
      q[j + 16] = ((qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - off;
    }
    return;
  }
  default: { /* TT_Q8_0 */
    const block_q8_0 *a = (const block_q8_0 *)w + b;
    for (int j = 0; j < 32; j++) q[j] = a->qs[j];
    *d = quant_f16_to_f32(a->d);
    return;
  }
  }
}

/* ggml's hsum_float_8 */
static float hsum8_llama(const float a[8]) {
  return ((a[4] + a[0]) + (a[6] + a[2])) + ((a[5] + a[1]) + (a[7] + a[3]));
}

/* ggml_vec_dot_q*_q8_* on x86: lane k sums the products of bytes
 * 4k..4k+3 (exact int32); per block, in order, lane k += d_w * d_x * that
 * sum as one FMA; Q4_1/Q5_1 add m_w * s_x into their own FMA chain. */
static float dot32_llama(tensor_type t, int n, const void *w, const void *x) {
  const int with_min = t == TT_Q4_1 || t == TT_Q5_1;
  float acc[8] = {0}, summ = 0;
  for (int b = 0; b < n / QK32; b++) {
    int q[32];
    float dw, mw, dx, sx = 0;
    const int8_t *xq;
    block32(t, w, b, q, &dw, &mw);
    if (with_min) {
      const block_q8_1 *y = (const block_q8_1 *)x + b;
      xq = y->qs, dx = quant_f16_to_f32(y->d), sx = quant_f16_to_f32(y->s);
    } else {
      const block_q8_0 *y = (const block_q8_0 *)x + b;
      xq = y->qs, dx = quant_f16_to_f32(y->d);
    }
    float dd = dw * dx;
    for (int k = 0; k < 8; k++) {
      int is = 0;
      for (int i = 4 * k; i < 4 * k + 4; i++) is += q[i] * xq[i];
      acc[k] = fmaf(dd, (float)is, acc[k]);
    }
    if (with_min) summ = fmaf(mw, sx, summ);
  }
  return with_min ? hsum8_llama(acc) + summ : hsum8_llama(acc);
}
#define DOT32_LLAMA(name, T) \
  static float name(int n, const void *w, const void *x) { return dot32_llama(T, n, w, x); }
DOT32_LLAMA(dot_q4_0_llama, TT_Q4_0)
DOT32_LLAMA(dot_q4_1_llama, TT_Q4_1)
DOT32_LLAMA(dot_q5_0_llama, TT_Q5_0)
DOT32_LLAMA(dot_q5_1_llama, TT_Q5_1)
DOT32_LLAMA(dot_q8_0_llama, TT_Q8_0)

/* GCC's _mm512_reduce_add_ps: halves, quarters, then (0+2) + (1+3). */
static float reduce16_llama(const float v[16]) {
  float h[8], q[4];
  for (int i = 0; i < 8; i++) h[i] = v[i + 8] + v[i];
  for (int i = 0; i < 4; i++) q[i] = h[i + 4] + h[i];
  return (q[0] + q[2]) + (q[1] + q[3]);
}

/* ggml_vec_dot_f16 (AVX-512) of a[i * as] and b[i * bs], i < n, where only
 * i < n_nz may be nonzero: 4 accumulators of 16 over steps of 64 (one FMA
 * per element), folded 0+2, 1+3, then 0+1 and reduced; elements past the
 * last whole 64 as float products summed in double. */
static float dot_f16_vec(int n, int n_nz, const uint16_t *a, size_t as, const uint16_t *b,
                         size_t bs) {
  float s[4][16] = {{0}};
  const int np = n & ~63;
  for (int i = 0; i < np && i < n_nz; i += 64)
    for (int j = 0; j < 4; j++)
      for (int l = 0; l < 16; l++) {
        int e = i + 16 * j + l;
        if (e < n_nz)
          s[j][l] = fmaf(quant_f16_to_f32(a[e * as]), quant_f16_to_f32(b[e * bs]), s[j][l]);
      }
  for (int l = 0; l < 16; l++) s[0][l] = s[0][l] + s[2][l], s[1][l] = s[1][l] + s[3][l];
  for (int l = 0; l < 16; l++) s[0][l] = s[0][l] + s[1][l];
  double sum = reduce16_llama(s[0]);
  for (int e = np; e < n_nz; e++)
    sum += (double)(quant_f16_to_f32(a[e * as]) * quant_f16_to_f32(b[e * bs]));
  return (float)sum;
}

/* llamafile's tinyBLAS<16, __m512> (n a multiple of 16 there; elements
 * past n_nz are zero): lane l chains FMAs over elements l, l + 16, ...,
 * then the lanes are reduced. */
static float dot_f16_tiny(int n_nz, const uint16_t *a, size_t as, const uint16_t *b, size_t bs) {
  float acc[16] = {0};
  for (int i = 0; i < n_nz; i += 16)
    for (int l = 0; l < 16 && i + l < n_nz; l++)
      acc[l] = fmaf(quant_f16_to_f32(a[(i + l) * as]), quant_f16_to_f32(b[(i + l) * bs]), acc[l]);
  return reduce16_llama(acc);
}

/* Scores: per position a dot of n elements (tinyBLAS needs n % 16 == 0,
 * else llama.cpp takes the vec_dot route too). */
static void attn_scores_llama_ref(float *out, size_t out_stride, const uint16_t *rows,
                                  size_t stride, int n_rows, const uint16_t *q, size_t q_stride,
                                  int nq, int n, float scale, int one) {
  for (int g = 0; g < nq; g++)
    for (int p = 0; p < n_rows; p++) {
      const uint16_t *r = rows + (size_t)p * stride, *qg = q + (size_t)g * q_stride;
      float d = one || n % 16 ? dot_f16_vec(n, n, r, 1, qg, 1) : dot_f16_tiny(n, r, 1, qg, 1);
      out[(size_t)g * out_stride + p] = d * scale;
    }
}

/* Values: out[i] is a dot over the positions p < n_rows of V_p[i] and the
 * weights (F16 values held in f32, as llama.cpp converts them), in
 * dot_f16_vec's order over n_kv cells when n_kv > 0, else in tinyBLAS's
 * (llama.cpp's V cache is transposed: positions are the summed index). */
static void attn_values_llama_ref(float *out, size_t out_stride, const uint16_t *rows,
                                  size_t stride, int n_rows, const float *w, size_t w_stride,
                                  int nq, int n, int n_kv) {
  for (int g = 0; g < nq; g++) {
    const float *wg = w + (size_t)g * w_stride;
    float *o = out + (size_t)g * out_stride;
    for (int i = 0; i < n; i++) {
      if (n_kv) {
        const int np = n_kv & ~63;
        float a[4][16] = {{0}};
        for (int e = 0; e < np && e < n_rows; e++) {
          float *acc = &a[(e & 63) >> 4][e & 15];
          *acc = fmaf(quant_f16_to_f32(rows[(size_t)e * stride + i]), wg[e], *acc);
        }
        for (int l = 0; l < 16; l++) a[0][l] = a[0][l] + a[2][l], a[1][l] = a[1][l] + a[3][l];
        for (int l = 0; l < 16; l++) a[0][l] = a[0][l] + a[1][l];
        double sum = reduce16_llama(a[0]);
        for (int e = np; e < n_rows; e++)
          sum += (double)(quant_f16_to_f32(rows[(size_t)e * stride + i]) * wg[e]);
        o[i] = (float)sum;
      } else {
        float a[16] = {0};
        for (int e = 0; e < n_rows; e++)
          a[e & 15] = fmaf(quant_f16_to_f32(rows[(size_t)e * stride + i]), wg[e], a[e & 15]);
        o[i] = reduce16_llama(a);
      }
    }
  }
}

/* ggml_v_expf (AVX-512), one lane: ARM optimized-routines' expf, n = x /
 * ln2 rounded through the 1.5 * 2^23 shift, a degree-5 polynomial in b =
 * x - n ln2 (ln2 in two parts), scaled by 2^n; |n| > 192 gives 0 or inf. */
static float expf_llama(float x) {
  const float r = 0x1.8p23f;
  float z = fmaf(x, 0x1.715476p+0f, r), n = z - r;
  float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
  float u = b * b;
  float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                      fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                 u, fmaf(0x1.ffffecp-1f, b, 1.0f));
  if (fabsf(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
  if (n != n) return n; /* NaN in, NaN out (scalef's) */
  return ldexpf(j, (int)n);
}

/* ggml_soft_max over llama.cpp's KV cells (n entries here, the cells past
 * them masked to -inf): e = expf_llama(x - max) by 16s from the first,
 * each 16's sum reduced in float and added in double; e * (float)(1/sum);
 * then rounded to F16 as the product with V converts it. */
static void softmax_f16_llama_ref(float *x, int n) {
  float max = -INFINITY;
  for (int i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
  if (max == -INFINITY) {
    for (int i = 0; i < n; i++) x[i] = 0;
    return;
  }
  double sum = 0;
  for (int i = 0; i < n; i += 16) {
    float e[16] = {0};
    for (int l = 0; l < 16 && i + l < n; l++) x[i + l] = e[l] = expf_llama(x[i + l] - max);
    sum += (double)reduce16_llama(e);
  }
  const float inv = (float)(1.0 / sum);
  for (int i = 0; i < n; i++) x[i] = quant_f16_to_f32(quant_f32_to_f16(x[i] * inv));
}

/* ggml_silu (x / (1 + e^-x), the vector expf for each whole 16 of the row,
 * expf for the rest), then the product with up. */
static void swiglu_llama_ref(float *out, const float *gate, const float *up, int n) {
  const int n16 = n & ~15;
  for (int i = 0; i < n; i++) {
    float e = i < n16 ? expf_llama(0.0f - gate[i]) : expf(-gate[i]);
    float s = gate[i] / (1.0f + e);
    out[i] = s * up[i];
  }
}

static void swiglu_ref(float *out, const float *gate, const float *up, int n) {
  for (int i = 0; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void kernels_fill_llama_ref(kernel_table *t) {
  static const struct {
    tensor_type t;
    kern_vec_dot_fn dot;
  } dots[] = {{TT_Q4_0, dot_q4_0_llama}, {TT_Q4_1, dot_q4_1_llama}, {TT_Q5_0, dot_q5_0_llama},
              {TT_Q5_1, dot_q5_1_llama}, {TT_Q8_0, dot_q8_0_llama}};
  for (size_t i = 0; i < sizeof dots / sizeof dots[0]; i++) {
    t->types[dots[i].t].vec_dot = dots[i].dot;
    t->types[dots[i].t].vec_dot4 = NULL;
    t->types[dots[i].t].gemm = NULL;
  }
  t->softmax_f16 = softmax_f16_llama_ref;
  t->swiglu = swiglu_llama_ref;
  t->attn_scores = attn_scores_llama_ref;
  t->attn_values = attn_values_llama_ref;
}

/* ---- table --------------------------------------------------------------------- */

static void f32_to_f16_ref(const float *src, uint16_t *dst, int n) {
  for (int i = 0; i < n; i++) dst[i] = quant_f32_to_f16(src[i]);
}
static void f16_to_f32_ref(const uint16_t *src, float *dst, int n) {
  for (int i = 0; i < n; i++) dst[i] = quant_f16_to_f32(src[i]);
}

static void set(kernel_table *t, tensor_type type, kern_vec_dot_fn dot, tensor_type dot_type) {
  kern_type_ops *o = &t->types[type];
  o->vec_dot = dot;
  o->vec_dot4 = NULL;
  o->vec_dot_type = dot_type;
  o->from_float = quant_ref_from_float(dot_type);
  o->to_float = quant_ref_to_float(type);
  o->quantize = quant_ref_from_float(type);
}

static void softmax_ref(float *x, int n);
static void gelu_erf_ref(float *x, int n);
static void add_ref(float *out, const float *a, const float *b, int n);

static void layernorm_ref(float *out, const float *x, const float *w, const float *b, int n,
                          float eps);
static void residual_layernorm_ref(float *x, float *h, const float *bias, const float *w,
                                   const float *b, int n, float eps);

static void transpose_ref(const float *X, size_t x_stride, int n, int ld, int cols, float *xt) {
  for (int k = 0; k < cols; k++)
    for (int j = 0; j < ld; j++)
      xt[(size_t)k * ld + j] = j < n ? ((const float *)((const char *)X + (size_t)j * x_stride))[k] : 0.0f;
}

void kernels_fill_ref(kernel_table *t) {
  memset(t, 0, sizeof *t);
  t->isa = KERN_ISA_REF;
  t->name = "ref";
  t->softmax = softmax_ref;
  t->transpose = transpose_ref;
  t->add = add_ref;
  t->layernorm = layernorm_ref;
  t->residual_layernorm = residual_layernorm_ref;
  t->bf3_matmul = bf3_matmul_ref;
  t->bf3_split_rows = bf3_split_rows;
  t->gelu_erf = gelu_erf_ref;
  set(t, TT_F32, dot_f32, TT_F32);
  set(t, TT_F16, dot_f16, TT_F16);
  set(t, TT_BF16, dot_bf16, TT_BF16);
  set(t, TT_Q4_0, dot_q4_0, TT_Q8_0);
  set(t, TT_Q4_1, dot_q4_1, TT_Q8_1);
  set(t, TT_Q5_0, dot_q5_0, TT_Q8_0);
  set(t, TT_Q5_1, dot_q5_1, TT_Q8_1);
  set(t, TT_Q8_0, dot_q8_0, TT_Q8_0);
  set(t, TT_Q2_K, dot_q2_K, TT_Q8_K);
  set(t, TT_Q3_K, dot_q3_K, TT_Q8_K);
  set(t, TT_Q4_K, dot_q4_K, TT_Q8_K);
  set(t, TT_Q5_K, dot_q5_K, TT_Q8_K);
  set(t, TT_Q6_K, dot_q6_K, TT_Q8_K);
  /* activation-only formats: convertible, not weights */
  set(t, TT_Q8_1, NULL, TT_Q8_1);
  set(t, TT_Q8_K, NULL, TT_Q8_K);
  t->f32_to_f16 = f32_to_f16_ref;
  t->f16_to_f32 = f16_to_f32_ref;
  t->swiglu = swiglu_ref;
}

/* ---- f32 helpers ---------------------------------------------------------------- */

/* Sums in double, as ggml's CPU norms do, so the scale matches llama.cpp's. */
void kern_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
  double ss = 0;
  for (int i = 0; i < n; i++) ss += (double)(x[i] * x[i]); /* squares in float */
  float scale = 1.0f / sqrtf((float)(ss / n) + eps);
  if (w)
    for (int i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
  else
    for (int i = 0; i < n; i++) out[i] = x[i] * scale;
}

static void layernorm_ref(float *out, const float *x, const float *w, const float *b, int n,
                          float eps) {
  double sum = 0;
  for (int i = 0; i < n; i++) sum += x[i];
  float mean = (float)(sum / n);
  double var = 0;
  for (int i = 0; i < n; i++) {
    float v = x[i] - mean;
    var += (double)v * v;
  }
  float scale = 1.0f / sqrtf((float)(var / n) + eps);
  for (int i = 0; i < n; i++) {
    float v = (x[i] - mean) * scale;
    if (w) v *= w[i];
    if (b) v += b[i];
    out[i] = v;
  }
}

static void residual_layernorm_ref(float *x, float *h, const float *bias, const float *w,
                                   const float *b, int n, float eps) {
  if (bias) add_ref(h, h, bias, n);
  add_ref(h, h, x, n);
  layernorm_ref(x, h, w, b, n, eps);
}

static void softmax_ref(float *x, int n) {
  float max = -INFINITY;
  for (int i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
  if (max == -INFINITY) { /* all masked: define as uniform zero */
    for (int i = 0; i < n; i++) x[i] = 0;
    return;
  }
  double sum = 0;
  for (int i = 0; i < n; i++) {
    x[i] = expf(x[i] - max);
    sum += x[i];
  }
  float inv = (float)(1.0 / sum);
  for (int i = 0; i < n; i++) x[i] *= inv;
}

void kern_silu(float *x, int n) {
  for (int i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i]));
}

/* ggml: 0.5x(1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))) */
void kern_gelu(float *x, int n) {
  const float c = 0.79788456080286535587989211986876f, a = 0.044715f;
  for (int i = 0; i < n; i++) {
    float v = x[i];
    x[i] = 0.5f * v * (1.0f + tanhf(c * v * (1.0f + a * v * v)));
  }
}

static void gelu_erf_ref(float *x, int n) {
  const float r = 0.70710678118654752440f;
  for (int i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * r));
}

static void add_ref(float *out, const float *a, const float *b, int n) {
  for (int i = 0; i < n; i++) out[i] = a[i] + b[i];
}
void kern_mul(float *out, const float *a, const float *b, int n) {
  for (int i = 0; i < n; i++) out[i] = a[i] * b[i];
}
void kern_scale(float *x, float s, int n) {
  for (int i = 0; i < n; i++) x[i] *= s;
}
void kern_axpy(float *out, const float *a, float s, int n) {
  for (int i = 0; i < n; i++) out[i] += a[i] * s;
}
float kern_dot_f32(const float *a, const float *b, int n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; i++) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

/* ggml_rope: theta starts at pos and is multiplied by base^(-2/n_rot) per
 * pair (a running float product, not powf per pair); with no YaRN the angle
 * is freq_scale * theta / freq_factor. */
void kern_rope_cache(float *cs, int n_rot, int pos, float freq_base, float freq_scale,
                     const float *freq_factors) {
  const float theta_scale = powf(freq_base, -2.0f / (float)n_rot);
  float theta = (float)pos;
  for (int i = 0; i < n_rot / 2; i++) {
    float ff = freq_factors ? freq_factors[i] : 1.0f;
    float t = freq_scale * (theta / ff);
    cs[2 * i] = cosf(t);
    cs[2 * i + 1] = sinf(t);
    theta *= theta_scale;
  }
}

void kern_rope(float *x, int n_heads, int head_dim, int n_rot, const float *cs, int neox) {
  int half = n_rot / 2;
  for (int h = 0; h < n_heads; h++) {
    float *v = x + (size_t)h * head_dim;
    for (int i = 0; i < half; i++) {
      int i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
      float c = cs[2 * i], s = cs[2 * i + 1], a = v[i0], b = v[i1];
      /* as ggml's rope compiles: one product rounded, the other fused */
      v[i0] = fmaf(a, c, -(b * s));
      v[i1] = fmaf(a, s, b * c);
    }
  }
}
