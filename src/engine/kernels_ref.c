/* kernels_ref.c — the plain-C path: a dot product for every weight type
 * against its activation format, and the f32 row helpers every path shares.
 *
 * Each quantized dot product sums integers exactly within a block, then
 * scales once per block in float: sum_b d_w(b) * d_x(b) * isum(b) (+ the
 * min terms). The SIMD paths compute the same integers, so they may differ
 * from these only in the order of the float additions across blocks.
 *
 * Compiled without ISA flags: this file must run on any x86-64 (and any
 * other CPU). */
#include <math.h>

#include "kernels.h"

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

void kernels_fill_ref(kernel_table *t) {
  memset(t, 0, sizeof *t);
  t->isa = KERN_ISA_REF;
  t->name = "ref";
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
}

/* ---- f32 helpers ---------------------------------------------------------------- */

/* Sums in double, as ggml's CPU norms do, so the scale matches llama.cpp's. */
void kern_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
  double ss = 0;
  for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
  float scale = 1.0f / sqrtf((float)(ss / n) + eps);
  if (w)
    for (int i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
  else
    for (int i = 0; i < n; i++) out[i] = x[i] * scale;
}

void kern_layernorm(float *out, const float *x, const float *w, const float *b, int n,
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

void kern_softmax(float *x, int n) {
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

void kern_swiglu(float *out, const float *gate, const float *up, int n) {
  for (int i = 0; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* ggml: 0.5x(1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))) */
void kern_gelu(float *x, int n) {
  const float c = 0.79788456080286535587989211986876f, a = 0.044715f;
  for (int i = 0; i < n; i++) {
    float v = x[i];
    x[i] = 0.5f * v * (1.0f + tanhf(c * v * (1.0f + a * v * v)));
  }
}

void kern_gelu_erf(float *x, int n) {
  const float r = 0.70710678118654752440f;
  for (int i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * r));
}

void kern_add(float *out, const float *a, const float *b, int n) {
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
      v[i0] = a * c - b * s;
      v[i1] = a * s + b * c;
    }
  }
}
