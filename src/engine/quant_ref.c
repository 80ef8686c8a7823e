/* quant_ref.c — reference conversions between f32 rows and every block
 * format in quant.h: dequantize (to_float) and quantize (from_float).
 *
 * The dequantizers are the definition of each format's meaning. The
 * quantizers come in two kinds:
 *  - activation formats (Q8_0, Q8_1, Q8_K) follow llama.cpp's x86 code to
 *    the bit (scale amax/127, multiply by 127/amax, round half to even), so
 *    hearth's activations are the ones llama.cpp would feed its kernels;
 *  - weight formats follow llama.cpp's reference quantizers for the 32-block
 *    types; the K-quants use a simple min/max fit (not llama.cpp's search
 *    for the best scale), which is good enough for test models and always
 *    yields valid blocks. */
#include <assert.h>
#include <math.h>

#include "quant.h"

float quant_f16_table[1 << 16];

void quant_f16_table_init(void) {
  for (uint32_t h = 0; h < (1u << 16); h++) quant_f16_table[h] = quant_f16_to_f32((uint16_t)h);
}

/* ---- plain types ---------------------------------------------------------- */

void quant_f32_to_float(const void *src, float *dst, int n) { memcpy(dst, src, (size_t)n * 4); }
void quant_f32_from_float(const float *src, void *dst, int n) { memcpy(dst, src, (size_t)n * 4); }

void quant_f16_to_float(const void *src, float *dst, int n) {
  const uint16_t *s = src;
  for (int i = 0; i < n; i++) dst[i] = quant_f16_to_f32(s[i]);
}
void quant_f16_from_float(const float *src, void *dst, int n) {
  uint16_t *d = dst;
  for (int i = 0; i < n; i++) d[i] = quant_f32_to_f16(src[i]);
}
void quant_bf16_to_float(const void *src, float *dst, int n) {
  const uint16_t *s = src;
  for (int i = 0; i < n; i++) dst[i] = quant_bf16_to_f32(s[i]);
}
void quant_bf16_from_float(const float *src, void *dst, int n) {
  uint16_t *d = dst;
  for (int i = 0; i < n; i++) d[i] = quant_f32_to_bf16(src[i]);
}

/* ---- 32-element blocks ------------------------------------------------------ */

void quant_q4_0_to_float(const void *src, float *dst, int n) {
  const block_q4_0 *b = src;
  for (int i = 0; i < n / QK32; i++, b++, dst += QK32) {
    float d = quant_f16_to_f32(b->d);
    for (int j = 0; j < 16; j++) {
      dst[j] = d * (float)((b->qs[j] & 15) - 8);
      dst[j + 16] = d * (float)((b->qs[j] >> 4) - 8);
    }
  }
}

/* The element of largest magnitude, sign kept (first one on ties). */
static float signed_absmax(const float *x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; j++) {
    if (fabsf(x[j]) > amax) {
      amax = fabsf(x[j]);
      max = x[j];
    }
  }
  return max;
}

void quant_q4_0_from_float(const float *src, void *dst, int n) {
  block_q4_0 *b = dst;
  for (int i = 0; i < n / QK32; i++, b++, src += QK32) {
    /* The extreme maps to -8 exactly, so the other sign gets 7 steps. */
    float d = signed_absmax(src, QK32) / -8.0f, id = d ? 1.0f / d : 0.0f;
    b->d = quant_f32_to_f16(d);
    for (int j = 0; j < 16; j++) {
      int q0 = (int)(src[j] * id + 8.5f), q1 = (int)(src[j + 16] * id + 8.5f);
      q0 = q0 > 15 ? 15 : q0;
      q1 = q1 > 15 ? 15 : q1;
      b->qs[j] = (uint8_t)(q0 | q1 << 4);
    }
  }
}

void quant_q4_1_to_float(const void *src, float *dst, int n) {
  const block_q4_1 *b = src;
  for (int i = 0; i < n / QK32; i++, b++, dst += QK32) {
    float d = quant_f16_to_f32(b->d), m = quant_f16_to_f32(b->m);
    for (int j = 0; j < 16; j++) {
      dst[j] = d * (float)(b->qs[j] & 15) + m;
      dst[j + 16] = d * (float)(b->qs[j] >> 4) + m;
    }
  }
}

static void min_max(const float *x, int n, float *mn, float *mx) {
  *mn = INFINITY;
  *mx = -INFINITY;
  for (int j = 0; j < n; j++) {
    if (x[j] < *mn) *mn = x[j];
    if (x[j] > *mx) *mx = x[j];
  }
}

void quant_q4_1_from_float(const float *src, void *dst, int n) {
  block_q4_1 *b = dst;
  for (int i = 0; i < n / QK32; i++, b++, src += QK32) {
    float mn, mx;
    min_max(src, QK32, &mn, &mx);
    float d = (mx - mn) / 15.0f, id = d ? 1.0f / d : 0.0f;
    b->d = quant_f32_to_f16(d);
    b->m = quant_f32_to_f16(mn);
    for (int j = 0; j < 16; j++) {
      int q0 = (int)((src[j] - mn) * id + 0.5f), q1 = (int)((src[j + 16] - mn) * id + 0.5f);
      q0 = q0 > 15 ? 15 : q0;
      q1 = q1 > 15 ? 15 : q1;
      b->qs[j] = (uint8_t)(q0 | q1 << 4);
    }
  }
}

static uint32_t load_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void store_u32(uint8_t *p, uint32_t v) {
  for (int k = 0; k < 4; k++) p[k] = (uint8_t)(v >> (8 * k));
}

void quant_q5_0_to_float(const void *src, float *dst, int n) {
  const block_q5_0 *b = src;
  for (int i = 0; i < n / QK32; i++, b++, dst += QK32) {
    float d = quant_f16_to_f32(b->d);
    uint32_t qh = load_u32(b->qh);
    for (int j = 0; j < 16; j++) {
      int q0 = (b->qs[j] & 15) | (int)((qh >> j) & 1) << 4;
      int q1 = (b->qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
      dst[j] = d * (float)(q0 - 16);
      dst[j + 16] = d * (float)(q1 - 16);
    }
  }
}

void quant_q5_0_from_float(const float *src, void *dst, int n) {
  block_q5_0 *b = dst;
  for (int i = 0; i < n / QK32; i++, b++, src += QK32) {
    float d = signed_absmax(src, QK32) / -16.0f, id = d ? 1.0f / d : 0.0f;
    b->d = quant_f32_to_f16(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
      int q0 = (int)(src[j] * id + 16.5f), q1 = (int)(src[j + 16] * id + 16.5f);
      q0 = q0 > 31 ? 31 : q0;
      q1 = q1 > 31 ? 31 : q1;
      b->qs[j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
      qh |= (uint32_t)(q0 >> 4) << j | (uint32_t)(q1 >> 4) << (j + 16);
    }
    store_u32(b->qh, qh);
  }
}

void quant_q5_1_to_float(const void *src, float *dst, int n) {
  const block_q5_1 *b = src;
  for (int i = 0; i < n / QK32; i++, b++, dst += QK32) {
    float d = quant_f16_to_f32(b->d), m = quant_f16_to_f32(b->m);
    uint32_t qh = load_u32(b->qh);
    for (int j = 0; j < 16; j++) {
      int q0 = (b->qs[j] & 15) | (int)((qh >> j) & 1) << 4;
      int q1 = (b->qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
      dst[j] = d * (float)q0 + m;
      dst[j + 16] = d * (float)q1 + m;
    }
  }
}

void quant_q5_1_from_float(const float *src, void *dst, int n) {
  block_q5_1 *b = dst;
  for (int i = 0; i < n / QK32; i++, b++, src += QK32) {
    float mn, mx;
    min_max(src, QK32, &mn, &mx);
    float d = (mx - mn) / 31.0f, id = d ? 1.0f / d : 0.0f;
    b->d = quant_f32_to_f16(d);
    b->m = quant_f32_to_f16(mn);
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
      int q0 = (int)((src[j] - mn) * id + 0.5f), q1 = (int)((src[j + 16] - mn) * id + 0.5f);
      q0 = q0 > 31 ? 31 : q0;
      q1 = q1 > 31 ? 31 : q1;
      b->qs[j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
      qh |= (uint32_t)(q0 >> 4) << j | (uint32_t)(q1 >> 4) << (j + 16);
    }
    store_u32(b->qh, qh);
  }
}

void quant_q8_0_to_float(const void *src, float *dst, int n) {
  const block_q8_0 *b = src;
  for (int i = 0; i < n / QK32; i++, b++, dst += QK32) {
    float d = quant_f16_to_f32(b->d);
    for (int j = 0; j < QK32; j++) dst[j] = d * (float)b->qs[j];
  }
}

static float absmax(const float *x, int n) {
  float amax = 0;
  for (int j = 0; j < n; j++) amax = fmaxf(amax, fabsf(x[j]));
  return amax;
}

/* llama.cpp's AVX quantizer: scale by 127/amax (not 1/d) and round half to
 * even. rintf rounds in the current mode, which hearth never changes. */
void quant_q8_0_from_float(const float *src, void *dst, int n) {
  block_q8_0 *b = dst;
  for (int i = 0; i < n / QK32; i++, b++, src += QK32) {
    float amax = absmax(src, QK32);
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    b->d = quant_f32_to_f16(amax / 127.0f);
    for (int j = 0; j < QK32; j++) b->qs[j] = (int8_t)rintf(src[j] * id);
  }
}

void quant_q8_1_to_float(const void *src, float *dst, int n) {
  const block_q8_1 *b = src;
  for (int i = 0; i < n / QK32; i++, b++, dst += QK32) {
    float d = quant_f16_to_f32(b->d);
    for (int j = 0; j < QK32; j++) dst[j] = d * (float)b->qs[j];
  }
}

void quant_q8_1_from_float(const float *src, void *dst, int n) {
  block_q8_1 *b = dst;
  for (int i = 0; i < n / QK32; i++, b++, src += QK32) {
    float amax = absmax(src, QK32);
    float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int sum = 0;
    for (int j = 0; j < QK32; j++) {
      b->qs[j] = (int8_t)rintf(src[j] * id);
      sum += b->qs[j];
    }
    b->d = quant_f32_to_f16(d);
    b->s = quant_f32_to_f16(d * (float)sum);
  }
}

/* ---- K-quants ----------------------------------------------------------------- */

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void quant_q2_K_to_float(const void *src, float *dst, int n) {
  const block_q2_K *b = src;
  for (int i = 0; i < n / QK_K; i++, b++) {
    float d = quant_f16_to_f32(b->d), dmin = quant_f16_to_f32(b->dmin);
    for (int h = 0; h < 2; h++) {
      const uint8_t *q = b->qs + 32 * h;
      for (int s = 0; s < 4; s++) {
        for (int l = 0; l < 32; l++) {
          int g = 8 * h + 2 * s + l / 16;
          float dl = d * (float)(b->scales[g] & 15), ml = dmin * (float)(b->scales[g] >> 4);
          *dst++ = dl * (float)((q[l] >> (2 * s)) & 3) - ml;
        }
      }
    }
  }
}

/* Fit w = scale * q - mn per group with q in 0..nmax; scale >= 0, mn >= 0.
 * Returns scale and min before the super-block quantizes them. */
static void fit_group_min(const float *x, int n, int nmax, float *scale, float *mn) {
  float lo, hi;
  min_max(x, n, &lo, &hi);
  if (lo > 0) lo = 0;
  *scale = (hi - lo) / (float)nmax;
  *mn = -lo;
}

void quant_q2_K_from_float(const float *src, void *dst, int n) {
  block_q2_K *b = dst;
  for (int i = 0; i < n / QK_K; i++, b++, src += QK_K) {
    float sc[16], mn[16], msc = 0, mmn = 0;
    for (int g = 0; g < 16; g++) {
      fit_group_min(src + 16 * g, 16, 3, &sc[g], &mn[g]);
      msc = fmaxf(msc, sc[g]);
      mmn = fmaxf(mmn, mn[g]);
    }
    b->d = quant_f32_to_f16(msc / 15.0f);
    b->dmin = quant_f32_to_f16(mmn / 15.0f);
    float d = quant_f16_to_f32(b->d), dmin = quant_f16_to_f32(b->dmin);
    uint8_t q[QK_K];
    for (int g = 0; g < 16; g++) {
      int is = d ? clampi((int)lrintf(sc[g] / d), 0, 15) : 0;
      int im = dmin ? clampi((int)lrintf(mn[g] / dmin), 0, 15) : 0;
      b->scales[g] = (uint8_t)(is | im << 4);
      float ds = d * (float)is, dm = dmin * (float)im;
      for (int l = 0; l < 16; l++) {
        float x = src[16 * g + l];
        q[16 * g + l] = (uint8_t)(ds ? clampi((int)lrintf((x + dm) / ds), 0, 3) : 0);
      }
    }
    memset(b->qs, 0, sizeof b->qs);
    for (int e = 0; e < QK_K; e++) {
      int h = e / 128, s = (e % 128) / 32, l = e % 32;
      b->qs[32 * h + l] |= (uint8_t)(q[e] << (2 * s));
    }
  }
}

void quant_q3_K_to_float(const void *src, float *dst, int n) {
  const block_q3_K *b = src;
  for (int i = 0; i < n / QK_K; i++, b++) {
    float d = quant_f16_to_f32(b->d);
    int8_t sc[16];
    quant_k3_scales(b->scales, sc);
    for (int e = 0; e < QK_K; e++) {
      int h = e / 128, s = (e % 128) / 32, l = e % 32;
      int q = (b->qs[32 * h + l] >> (2 * s)) & 3;
      int hbit = (b->hmask[l] >> (e / 32)) & 1;
      dst[e] = d * (float)sc[e / 16] * (float)(q - (hbit ? 0 : 4));
    }
    dst += QK_K;
  }
}

void quant_q3_K_from_float(const float *src, void *dst, int n) {
  block_q3_K *b = dst;
  for (int i = 0; i < n / QK_K; i++, b++, src += QK_K) {
    float sc[16], amax = 0;
    for (int g = 0; g < 16; g++) {
      sc[g] = signed_absmax(src + 16 * g, 16) / -4.0f; /* extreme maps to -4 */
      amax = fmaxf(amax, fabsf(sc[g]));
    }
    b->d = quant_f32_to_f16(amax / 31.0f);
    float d = quant_f16_to_f32(b->d);
    memset(b->scales, 0, sizeof b->scales);
    memset(b->hmask, 0, sizeof b->hmask);
    memset(b->qs, 0, sizeof b->qs);
    for (int g = 0; g < 16; g++) {
      int is = d ? clampi((int)lrintf(sc[g] / d), -32, 31) : 0;
      int u = is + 32;
      if (g < 8) b->scales[g] |= (uint8_t)(u & 15);
      else b->scales[g - 8] |= (uint8_t)((u & 15) << 4);
      b->scales[8 + g % 4] |= (uint8_t)((u >> 4) << (2 * (g / 4)));
      float ds = d * (float)is;
      for (int l = 0; l < 16; l++) {
        int e = 16 * g + l;
        int q = ds != 0.0f ? clampi((int)lrintf(src[e] / ds), -4, 3) : 0;
        q += 4; /* 0..7: low 2 bits in qs, bit 2 in hmask */
        int h = e / 128, s = (e % 128) / 32, ll = e % 32;
        b->qs[32 * h + ll] |= (uint8_t)((q & 3) << (2 * s));
        b->hmask[ll] |= (uint8_t)((q >> 2) << (e / 32));
      }
    }
  }
}

void quant_q4_K_to_float(const void *src, float *dst, int n) {
  const block_q4_K *b = src;
  for (int i = 0; i < n / QK_K; i++, b++) {
    float d = quant_f16_to_f32(b->d), dmin = quant_f16_to_f32(b->dmin);
    for (int c = 0; c < 4; c++) {
      uint8_t s0, m0, s1, m1;
      quant_k4_scale_min(2 * c, b->scales, &s0, &m0);
      quant_k4_scale_min(2 * c + 1, b->scales, &s1, &m1);
      float d0 = d * s0, mm0 = dmin * m0, d1 = d * s1, mm1 = dmin * m1;
      const uint8_t *q = b->qs + 32 * c;
      for (int l = 0; l < 32; l++) dst[l] = d0 * (float)(q[l] & 15) - mm0;
      for (int l = 0; l < 32; l++) dst[32 + l] = d1 * (float)(q[l] >> 4) - mm1;
      dst += 64;
    }
  }
}

/* Packs 8 six-bit scales and mins the way quant_k4_scale_min reads them. */
static void k4_pack_scales(const uint8_t sc[8], const uint8_t mn[8], uint8_t out[12]) {
  for (int j = 0; j < 4; j++) {
    out[j] = (uint8_t)((sc[j] & 63) | (sc[j + 4] >> 4) << 6);
    out[j + 4] = (uint8_t)((mn[j] & 63) | (mn[j + 4] >> 4) << 6);
    out[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
  }
}

/* Shared by Q4_K (nmax 15) and Q5_K (nmax 31): fills d, dmin, scales and
 * q[256] in 0..nmax. */
static void k_fit_super(const float *x, int nmax, uint16_t *hd, uint16_t *hdmin,
                        uint8_t scales[12], uint8_t q[QK_K]) {
  float sc[8], mn[8], msc = 0, mmn = 0;
  for (int g = 0; g < 8; g++) {
    fit_group_min(x + 32 * g, 32, nmax, &sc[g], &mn[g]);
    msc = fmaxf(msc, sc[g]);
    mmn = fmaxf(mmn, mn[g]);
  }
  *hd = quant_f32_to_f16(msc / 63.0f);
  *hdmin = quant_f32_to_f16(mmn / 63.0f);
  float d = quant_f16_to_f32(*hd), dmin = quant_f16_to_f32(*hdmin);
  uint8_t isc[8], imn[8];
  for (int g = 0; g < 8; g++) {
    isc[g] = (uint8_t)(d ? clampi((int)lrintf(sc[g] / d), 0, 63) : 0);
    imn[g] = (uint8_t)(dmin ? clampi((int)lrintf(mn[g] / dmin), 0, 63) : 0);
    float ds = d * isc[g], dm = dmin * imn[g];
    for (int l = 0; l < 32; l++) {
      float v = x[32 * g + l];
      q[32 * g + l] = (uint8_t)(ds ? clampi((int)lrintf((v + dm) / ds), 0, nmax) : 0);
    }
  }
  k4_pack_scales(isc, imn, scales);
}

void quant_q4_K_from_float(const float *src, void *dst, int n) {
  block_q4_K *b = dst;
  for (int i = 0; i < n / QK_K; i++, b++, src += QK_K) {
    uint8_t q[QK_K];
    k_fit_super(src, 15, &b->d, &b->dmin, b->scales, q);
    for (int c = 0; c < 4; c++)
      for (int l = 0; l < 32; l++)
        b->qs[32 * c + l] = (uint8_t)(q[64 * c + l] | q[64 * c + 32 + l] << 4);
  }
}

void quant_q5_K_to_float(const void *src, float *dst, int n) {
  const block_q5_K *b = src;
  for (int i = 0; i < n / QK_K; i++, b++) {
    float d = quant_f16_to_f32(b->d), dmin = quant_f16_to_f32(b->dmin);
    for (int c = 0; c < 4; c++) {
      uint8_t s0, m0, s1, m1;
      quant_k4_scale_min(2 * c, b->scales, &s0, &m0);
      quant_k4_scale_min(2 * c + 1, b->scales, &s1, &m1);
      float d0 = d * s0, mm0 = dmin * m0, d1 = d * s1, mm1 = dmin * m1;
      const uint8_t *q = b->qs + 32 * c;
      for (int l = 0; l < 32; l++) {
        int lo = (q[l] & 15) | ((b->qh[l] >> (2 * c)) & 1) << 4;
        int hi = (q[l] >> 4) | ((b->qh[l] >> (2 * c + 1)) & 1) << 4;
        dst[l] = d0 * (float)lo - mm0;
        dst[32 + l] = d1 * (float)hi - mm1;
      }
      dst += 64;
    }
  }
}

void quant_q5_K_from_float(const float *src, void *dst, int n) {
  block_q5_K *b = dst;
  for (int i = 0; i < n / QK_K; i++, b++, src += QK_K) {
    uint8_t q[QK_K];
    k_fit_super(src, 31, &b->d, &b->dmin, b->scales, q);
    memset(b->qh, 0, sizeof b->qh);
    for (int c = 0; c < 4; c++) {
      for (int l = 0; l < 32; l++) {
        int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
        b->qs[32 * c + l] = (uint8_t)((lo & 15) | (hi & 15) << 4);
        b->qh[l] |= (uint8_t)((lo >> 4) << (2 * c) | (hi >> 4) << (2 * c + 1));
      }
    }
  }
}

void quant_q6_K_to_float(const void *src, float *dst, int n) {
  const block_q6_K *b = src;
  for (int i = 0; i < n / QK_K; i++, b++) {
    float d = quant_f16_to_f32(b->d);
    for (int h = 0; h < 2; h++) {
      const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
      const int8_t *sc = b->scales + 8 * h;
      for (int l = 0; l < 32; l++) {
        int g = l / 16;
        int q0 = ((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32;
        int q1 = ((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32;
        int q2 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
        int q3 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
        dst[l] = d * (float)sc[g] * (float)q0;
        dst[l + 32] = d * (float)sc[g + 2] * (float)q1;
        dst[l + 64] = d * (float)sc[g + 4] * (float)q2;
        dst[l + 96] = d * (float)sc[g + 6] * (float)q3;
      }
      dst += 128;
    }
  }
}

void quant_q6_K_from_float(const float *src, void *dst, int n) {
  block_q6_K *b = dst;
  for (int i = 0; i < n / QK_K; i++, b++, src += QK_K) {
    float sc[16], amax = 0;
    for (int g = 0; g < 16; g++) {
      sc[g] = signed_absmax(src + 16 * g, 16) / -32.0f; /* extreme maps to -32 */
      amax = fmaxf(amax, fabsf(sc[g]));
    }
    b->d = quant_f32_to_f16(amax / 127.0f);
    float d = quant_f16_to_f32(b->d);
    uint8_t q[QK_K];
    for (int g = 0; g < 16; g++) {
      int is = d ? clampi((int)lrintf(sc[g] / d), -128, 127) : 0;
      b->scales[g] = (int8_t)is;
      float ds = d * (float)is;
      for (int l = 0; l < 16; l++) {
        int e = 16 * g + l;
        q[e] = (uint8_t)((ds != 0.0f ? clampi((int)lrintf(src[e] / ds), -32, 31) : 0) + 32);
      }
    }
    memset(b->qh, 0, sizeof b->qh);
    for (int h = 0; h < 2; h++) {
      uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
      const uint8_t *qq = q + 128 * h;
      for (int l = 0; l < 32; l++) {
        ql[l] = (uint8_t)((qq[l] & 15) | (qq[l + 64] & 15) << 4);
        ql[l + 32] = (uint8_t)((qq[l + 32] & 15) | (qq[l + 96] & 15) << 4);
        qh[l] = (uint8_t)((qq[l] >> 4) | (qq[l + 32] >> 4) << 2 | (qq[l + 64] >> 4) << 4 |
                          (qq[l + 96] >> 4) << 6);
      }
    }
  }
}

void quant_q8_K_to_float(const void *src, float *dst, int n) {
  const block_q8_K *b = src;
  for (int i = 0; i < n / QK_K; i++, b++, dst += QK_K)
    for (int j = 0; j < QK_K; j++) dst[j] = b->d * (float)b->qs[j];
}

/* llama.cpp's Q8_K: scale by -127 / (signed extreme), round half to even. */
void quant_q8_K_from_float(const float *src, void *dst, int n) {
  block_q8_K *b = dst;
  for (int i = 0; i < n / QK_K; i++, b++, src += QK_K) {
    float max = signed_absmax(src, QK_K);
    if (max == 0.0f) {
      memset(b, 0, sizeof *b);
      continue;
    }
    float iscale = -127.0f / max;
    for (int j = 0; j < QK_K; j++) {
      int v = (int)rintf(iscale * src[j]);
      b->qs[j] = (int8_t)(v > 127 ? 127 : v);
    }
    for (int g = 0; g < 16; g++) {
      int s = 0;
      for (int l = 0; l < 16; l++) s += b->qs[16 * g + l];
      b->bsums[g] = (int16_t)s;
    }
    b->d = 1.0f / iscale;
  }
}

/* ---- lookup ---------------------------------------------------------------------- */

quant_to_float_fn quant_ref_to_float(tensor_type t) {
  switch (t) {
  case TT_F32: return quant_f32_to_float;
  case TT_F16: return quant_f16_to_float;
  case TT_BF16: return quant_bf16_to_float;
  case TT_Q4_0: return quant_q4_0_to_float;
  case TT_Q4_1: return quant_q4_1_to_float;
  case TT_Q5_0: return quant_q5_0_to_float;
  case TT_Q5_1: return quant_q5_1_to_float;
  case TT_Q8_0: return quant_q8_0_to_float;
  case TT_Q8_1: return quant_q8_1_to_float;
  case TT_Q2_K: return quant_q2_K_to_float;
  case TT_Q3_K: return quant_q3_K_to_float;
  case TT_Q4_K: return quant_q4_K_to_float;
  case TT_Q5_K: return quant_q5_K_to_float;
  case TT_Q6_K: return quant_q6_K_to_float;
  case TT_Q8_K: return quant_q8_K_to_float;
  default: return NULL;
  }
}

quant_from_float_fn quant_ref_from_float(tensor_type t) {
  switch (t) {
  case TT_F32: return quant_f32_from_float;
  case TT_F16: return quant_f16_from_float;
  case TT_BF16: return quant_bf16_from_float;
  case TT_Q4_0: return quant_q4_0_from_float;
  case TT_Q4_1: return quant_q4_1_from_float;
  case TT_Q5_0: return quant_q5_0_from_float;
  case TT_Q5_1: return quant_q5_1_from_float;
  case TT_Q8_0: return quant_q8_0_from_float;
  case TT_Q8_1: return quant_q8_1_from_float;
  case TT_Q2_K: return quant_q2_K_from_float;
  case TT_Q3_K: return quant_q3_K_from_float;
  case TT_Q4_K: return quant_q4_K_from_float;
  case TT_Q5_K: return quant_q5_K_from_float;
  case TT_Q6_K: return quant_q6_K_from_float;
  case TT_Q8_K: return quant_q8_K_from_float;
  default: return NULL;
  }
}
