/* test_kernels.c — block formats, reference conversions, every SIMD path
 * against the reference, the matrix loops and the f32 helpers.
 *
 * Hand-built blocks pin each format's meaning with values computed by hand;
 * random rows check quantization error bounds and that each SIMD path's
 * integer work equals the reference's (float results to ~1e-5 relative to
 * the sum of |products|, bytes of activations exactly). */
#include <math.h>
#include <stdlib.h>

#include "../../src/engine/forward.h"
#include "../../src/engine/kernels.h"
#include "test.h"

/* ---- helpers ---------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd_u32(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}
static float rnd_unit(void) { return (float)((rnd_u32() >> 8) + 0.5) / 16777216.0f; }
/* roughly normal, with an occasional outlier like real weights have */
static float rnd_normal(void) {
  float v = sqrtf(-2.0f * logf(rnd_unit())) * cosf(6.2831853f * rnd_unit());
  if (rnd_u32() % 97 == 0) v *= 4;
  return v;
}
static void fill_normal(float *x, int n, float scale) {
  for (int i = 0; i < n; i++) x[i] = rnd_normal() * scale;
}

static int close_rel(float got, float want, float mag, float rel) {
  return fabsf(got - want) <= rel * mag + 1e-6f;
}

static const tensor_type WEIGHT_TYPES[] = {TT_F32,  TT_F16,  TT_BF16, TT_Q8_0, TT_Q4_0,
                                           TT_Q4_1, TT_Q5_0, TT_Q5_1, TT_Q2_K, TT_Q3_K,
                                           TT_Q4_K, TT_Q5_K, TT_Q6_K};
#define N_WEIGHT_TYPES ((int)(sizeof WEIGHT_TYPES / sizeof WEIGHT_TYPES[0]))

static const char *tname(tensor_type t) { return tensor_type_get(t).name; }

/* Dequantizes one block of type t (block given as bytes) with the ref path. */
static void deq(tensor_type t, const void *blk, float *out, int n) {
  quant_ref_to_float(t)(blk, out, n);
}

#define CHECK_F(got, want)                                                              \
  do {                                                                                  \
    float g_ = (got), w_ = (want);                                                      \
    if (!(fabsf(g_ - w_) <= 1e-6f * fabsf(w_) + 1e-7f)) {                               \
      fprintf(stderr, "  FAIL %s: %s:%d: %s = %g, want %g\n", test_cur_name, __FILE__,  \
              __LINE__, #got, g_, w_);                                                  \
      test_cur_failed = 1;                                                              \
    }                                                                                   \
  } while (0)

/* ---- half precision ------------------------------------------------------------ */

TEST(f16_known_values) {
  CHECK_EQ_INT(quant_f32_to_f16(1.0f), 0x3c00);
  CHECK_EQ_INT(quant_f32_to_f16(-2.0f), 0xc000);
  CHECK_EQ_INT(quant_f32_to_f16(0.5f), 0x3800);
  CHECK_EQ_INT(quant_f32_to_f16(65504.0f), 0x7bff);
  CHECK_EQ_INT(quant_f32_to_f16(65520.0f), 0x7c00);       /* tie rounds to even: inf */
  CHECK_EQ_INT(quant_f32_to_f16(65519.0f), 0x7bff);
  CHECK_EQ_INT(quant_f32_to_f16(ldexpf(1, -24)), 0x0001); /* smallest subnormal */
  CHECK_EQ_INT(quant_f32_to_f16(ldexpf(1, -25)), 0x0000); /* tie to even: 0 */
  CHECK_EQ_INT(quant_f32_to_f16(ldexpf(3, -26)), 0x0001);
  CHECK_EQ_INT(quant_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3c00);     /* tie, even */
  CHECK_EQ_INT(quant_f32_to_f16(1.0f + 3 * ldexpf(1, -11)), 0x3c02); /* tie, up */
  CHECK_EQ_INT(quant_f32_to_f16(-INFINITY), 0xfc00);
  CHECK(isnan(quant_f16_to_f32(quant_f32_to_f16(NAN))));
  CHECK_F(quant_f16_to_f32(0x3555), 0.333251953125f);
  CHECK_F(quant_f16_to_f32(0x0001), ldexpf(1, -24));
  CHECK_F(quant_f16_to_f32(0x03ff), ldexpf(1023, -24));
  CHECK_EQ_INT(quant_f32_to_bf16(1.0f), 0x3f80);
  CHECK_EQ_INT(quant_f32_to_bf16(-3.0f), 0xc040);
  CHECK_F(quant_bf16_to_f32(0x4049), 3.140625f);
  /* every non-NaN half survives the round trip */
  int bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;
    if (quant_f32_to_f16(quant_f16_to_f32((uint16_t)h)) != h) bad++;
  }
  CHECK_EQ_INT(bad, 0);
}

/* ---- hand-built blocks ------------------------------------------------------------ */

TEST(deq_plain_types) {
  float f[3] = {1.5f, -2.0f, 0.25f}, out[3];
  deq(TT_F32, f, out, 3);
  CHECK_F(out[1], -2.0f);
  uint16_t h[3] = {0x3c00, 0xc000, 0x3400};
  deq(TT_F16, h, out, 3);
  CHECK_F(out[0], 1.0f);
  CHECK_F(out[1], -2.0f);
  CHECK_F(out[2], 0.25f);
  uint16_t b[2] = {0x3f80, 0xbfc0};
  deq(TT_BF16, b, out, 2);
  CHECK_F(out[0], 1.0f);
  CHECK_F(out[1], -1.5f);
}

TEST(deq_q4_0_q4_1) {
  block_q4_0 a;
  a.d = 0x3800; /* 0.5 */
  for (int j = 0; j < 16; j++) a.qs[j] = (uint8_t)(j | (15 - j) << 4);
  float out[32];
  deq(TT_Q4_0, &a, out, 32);
  CHECK_F(out[0], -4.0f);  /* 0.5 * (0 - 8) */
  CHECK_F(out[9], 0.5f);   /* 0.5 * (9 - 8) */
  CHECK_F(out[15], 3.5f);
  CHECK_F(out[16], 3.5f);  /* high nibble of qs[0] = 15 */
  CHECK_F(out[31], -4.0f); /* high nibble of qs[15] = 0 */
  block_q4_1 b;
  b.d = 0x3400; /* 0.25 */
  b.m = 0xbc00; /* -1 */
  memcpy(b.qs, a.qs, 16);
  deq(TT_Q4_1, &b, out, 32);
  CHECK_F(out[0], -1.0f);
  CHECK_F(out[12], 2.0f);  /* 0.25 * 12 - 1 */
  CHECK_F(out[16], 2.75f); /* 0.25 * 15 - 1 */
}

TEST(deq_q5_0_q5_1) {
  block_q5_0 a;
  a.d = 0x3c00; /* 1 */
  for (int j = 0; j < 16; j++) a.qs[j] = (uint8_t)(3 | 12 << 4);
  uint32_t qh = 0x80000001u | 1u << 20; /* elements 0, 20, 31 have bit 4 */
  memcpy(a.qh, &qh, 4);
  float out[32];
  deq(TT_Q5_0, &a, out, 32);
  CHECK_F(out[0], 3.0f);   /* 19 - 16 */
  CHECK_F(out[1], -13.0f); /* 3 - 16 */
  CHECK_F(out[16], -4.0f); /* 12 - 16 */
  CHECK_F(out[20], 12.0f); /* 28 - 16 */
  CHECK_F(out[31], 12.0f);
  block_q5_1 b;
  b.d = 0x3800; /* 0.5 */
  b.m = 0x4000; /* 2 */
  memcpy(b.qh, a.qh, 4);
  memcpy(b.qs, a.qs, 16);
  deq(TT_Q5_1, &b, out, 32);
  CHECK_F(out[0], 11.5f); /* 0.5 * 19 + 2 */
  CHECK_F(out[1], 3.5f);
  CHECK_F(out[20], 16.0f); /* 0.5 * 28 + 2 */
}

TEST(deq_q8_0_q8_K) {
  block_q8_0 a;
  a.d = 0x4000; /* 2 */
  for (int j = 0; j < 32; j++) a.qs[j] = (int8_t)(j - 16);
  float out[256];
  deq(TT_Q8_0, &a, out, 32);
  CHECK_F(out[0], -32.0f);
  CHECK_F(out[31], 30.0f);
  block_q8_K k;
  k.d = 0.5f;
  for (int j = 0; j < 256; j++) k.qs[j] = (int8_t)(j - 128);
  deq(TT_Q8_K, &k, out, 256);
  CHECK_F(out[0], -64.0f);
  CHECK_F(out[255], 63.5f);
}

/* scales sc = {1,2,3,4,20,37,54,7}, mins m = {0,2,4,6,33,10,63,48} packed by
 * hand into 12 bytes */
static const uint8_t K4_SCALES[12] = {0x41, 0x82, 0xc3, 0x04, 0x80, 0x02,
                                      0xc4, 0xc6, 0x14, 0xa5, 0xf6, 0x07};

TEST(deq_q4_K_q5_K) {
  static const uint8_t want_sc[8] = {1, 2, 3, 4, 20, 37, 54, 7};
  static const uint8_t want_m[8] = {0, 2, 4, 6, 33, 10, 63, 48};
  for (int j = 0; j < 8; j++) {
    uint8_t sc, m;
    quant_k4_scale_min(j, K4_SCALES, &sc, &m);
    CHECK_EQ_INT(sc, want_sc[j]);
    CHECK_EQ_INT(m, want_m[j]);
  }
  block_q4_K a;
  a.d = 0x3c00;    /* 1 */
  a.dmin = 0x3800; /* 0.5 */
  memcpy(a.scales, K4_SCALES, 12);
  for (int k = 0; k < 128; k++) a.qs[k] = (uint8_t)((k % 16) | (15 - k % 16) << 4);
  float out[256];
  deq(TT_Q4_K, &a, out, 256);
  CHECK_F(out[0], 0.0f);     /* group 0: 1 * 0 - 0 */
  CHECK_F(out[33], 27.0f);   /* group 1, high nibble 14: 2 * 14 - 0.5 * 2 */
  CHECK_F(out[163], 439.0f); /* group 5, high nibble of qs[67] = 12: 37 * 12 - 5 */
  CHECK_F(out[200], 400.5f); /* group 6, low nibble of qs[104] = 8: 54 * 8 - 31.5 */
  CHECK_F(out[255], -24.0f); /* group 7, high nibble of qs[127] = 0: 0 - 24 */
  block_q5_K b;
  b.d = a.d;
  b.dmin = a.dmin;
  memcpy(b.scales, K4_SCALES, 12);
  memcpy(b.qs, a.qs, 128);
  memset(b.qh, 0, 32);
  b.qh[1] = 0x02; /* element 32 + 1 (group 1) gets bit 4 */
  b.qh[3] = 0x20; /* element 160 + 3 (group 5) gets bit 4 */
  deq(TT_Q5_K, &b, out, 256);
  CHECK_F(out[33], 59.0f);   /* 2 * 30 - 1 */
  CHECK_F(out[1], 1.0f);     /* group 0 low nibble 1, no bit: 1 * 1 - 0 */
  CHECK_F(out[163], 1031.0f); /* 37 * 28 - 5 */
  CHECK_F(out[200], 400.5f);
}

TEST(deq_q6_K) {
  block_q6_K a;
  a.d = 0x3800; /* 0.5 */
  for (int g = 0; g < 16; g++) a.scales[g] = (int8_t)(g - 8);
  memset(a.ql, 0x21, 128); /* low nibble 1, high nibble 2 */
  memset(a.qh, 0xe4, 64);  /* 2-bit fields 0, 1, 2, 3 */
  float out[256];
  deq(TT_Q6_K, &a, out, 256);
  CHECK_F(out[0], 124.0f);  /* q 1 - 32 = -31, scale -8: 0.5 * -8 * -31 */
  CHECK_F(out[40], 45.0f);  /* q 17 - 32 = -15, group 2 scale -6 */
  CHECK_F(out[70], -4.0f);  /* q 34 - 32 = 2, group 4 scale -4 */
  CHECK_F(out[100], -18.0f); /* q 50 - 32 = 18, group 6 scale -2 */
  CHECK_F(out[228], 54.0f); /* group 14 scale 6, q 18 */
}

TEST(deq_q2_K_q3_K) {
  block_q2_K a;
  a.d = 0x3c00;    /* 1 */
  a.dmin = 0x3400; /* 0.25 */
  for (int g = 0; g < 16; g++) a.scales[g] = (uint8_t)(g | (15 - g) << 4);
  memset(a.qs, 0xe4, 64); /* shift s holds q = s */
  float out[256];
  deq(TT_Q2_K, &a, out, 256);
  CHECK_F(out[0], -3.75f);  /* group 0: 0 * 0 - 0.25 * 15 */
  CHECK_F(out[40], -1.25f); /* group 2, q 1: 2 - 3.25 */
  CHECK_F(out[200], 23.25f); /* group 12, q 2: 24 - 0.75 */
  block_q3_K b;
  b.d = 0x3c00;
  /* six-bit scales s_g = g + 24, i.e. signed g - 8 */
  for (int g = 0; g < 8; g++) b.scales[g] = (uint8_t)((g + 8) | g << 4);
  for (int k = 0; k < 4; k++) b.scales[8 + k] = 0xa5;
  int8_t sc[16];
  quant_k3_scales(b.scales, sc);
  for (int g = 0; g < 16; g++) CHECK_EQ_INT(sc[g], g - 8);
  memset(b.hmask, 0x0f, 32); /* elements below 128 have the high bit */
  memset(b.qs, 0xe4, 64);
  deq(TT_Q3_K, &b, out, 256);
  CHECK_F(out[40], -6.0f);  /* group 2 scale -6, q 1 */
  CHECK_F(out[100], -6.0f); /* group 6 scale -2, shift 3, high bit set: q 3 */
  CHECK_F(out[200], -8.0f); /* group 12 scale 4, q 2 - 4 */
  CHECK_F(out[255], -7.0f); /* group 15 scale 7, q 3 - 4 */
}

/* ---- quantize -> dequantize ---------------------------------------------------------- */

TEST(quantize_error_bounds) {
  struct {
    tensor_type t;
    float max_rel_rmse;
  } cases[] = {{TT_F16, 0.001f},  {TT_BF16, 0.005f}, {TT_Q8_0, 0.01f},  {TT_Q8_1, 0.01f},
               {TT_Q8_K, 0.02f},  {TT_Q4_0, 0.15f},  {TT_Q4_1, 0.12f},  {TT_Q5_0, 0.07f},
               {TT_Q5_1, 0.06f},  {TT_Q2_K, 0.45f},  {TT_Q3_K, 0.23f},  {TT_Q4_K, 0.12f},
               {TT_Q5_K, 0.06f},  {TT_Q6_K, 0.03f}};
  enum { N = 4096 };
  static float x[N], y[N];
  static uint8_t buf[N * 4];
  fill_normal(x, N, 0.02f);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    tensor_type t = cases[c].t;
    memset(buf, 0xcd, sizeof buf);
    quant_ref_from_float(t)(x, buf, N);
    quant_ref_to_float(t)(buf, y, N);
    double se = 0, ss = 0;
    for (int i = 0; i < N; i++) {
      se += (double)(x[i] - y[i]) * (x[i] - y[i]);
      ss += (double)x[i] * x[i];
    }
    float rel = (float)sqrt(se / ss);
    if (!(rel <= cases[c].max_rel_rmse)) {
      fprintf(stderr, "  FAIL %s: %s relative rmse %.4f > %.4f\n", test_cur_name, tname(t), rel,
              cases[c].max_rel_rmse);
      test_cur_failed = 1;
    }
    if (getenv("HEARTH_TEST_VERBOSE")) fprintf(stderr, "  %s rel rmse %.5f\n", tname(t), rel);
  }
  /* an all-zero row quantizes to zeros, not NaN */
  memset(x, 0, sizeof x);
  for (int k = 0; k < N_WEIGHT_TYPES; k++) {
    quant_ref_from_float(WEIGHT_TYPES[k])(x, buf, 512);
    quant_ref_to_float(WEIGHT_TYPES[k])(buf, y, 512);
    for (int i = 0; i < 512; i++)
      if (y[i] != 0.0f) {
        fprintf(stderr, "  FAIL %s: %s zero row gave %g\n", test_cur_name, tname(WEIGHT_TYPES[k]), y[i]);
        test_cur_failed = 1;
        break;
      }
  }
}

/* Q8_0 activations match llama.cpp's recipe on a hand case: amax 127 -> d 1 */
TEST(quantize_q8_hand) {
  float x[32];
  for (int j = 0; j < 32; j++) x[j] = (float)j - 0.5f;
  x[31] = -127.0f;
  block_q8_0 b;
  quant_q8_0_from_float(x, &b, 32);
  CHECK_EQ_INT(b.d, 0x3c00);
  CHECK_EQ_INT(b.qs[0], 0);  /* -0.5 rounds to even: 0 */
  CHECK_EQ_INT(b.qs[2], 2);  /* 1.5 -> 2 */
  CHECK_EQ_INT(b.qs[3], 2);  /* 2.5 -> 2 */
  CHECK_EQ_INT(b.qs[31], -127);
  float xk[256];
  for (int j = 0; j < 256; j++) xk[j] = (float)(j % 16);
  xk[7] = 127.0f; /* positive extreme: d = -1, values negated */
  block_q8_K k;
  quant_q8_K_from_float(xk, &k, 256);
  CHECK_F(k.d, -1.0f);
  CHECK_EQ_INT(k.qs[7], -127);
  CHECK_EQ_INT(k.qs[5], -5);
  CHECK_EQ_INT(k.bsums[1], -120); /* -(0 + 1 + ... + 15) */
  CHECK_EQ_INT(k.bsums[0], -(120 - 7 + 127));
}

/* ---- SIMD paths against the reference ------------------------------------------------ */

static const kernel_table *REF;

/* Random weights of type t (n elements per row, rows rows) and one
 * activation row; checks vec_dot, to_float and from_float of table k against
 * the reference. */
static void check_type_on(const kernel_table *k, tensor_type t, int n) {
  const kern_type_ops *ro = &REF->types[t], *ko = &k->types[t];
  size_t wb = quant_row_bytes(t, n), xb = quant_row_bytes(ro->vec_dot_type, n);
  float *w = malloc(sizeof(float) * n), *x = malloc(sizeof(float) * n);
  float *wd = malloc(sizeof(float) * n), *wd2 = malloc(sizeof(float) * n);
  float *xd = malloc(sizeof(float) * n);
  uint8_t *wq = malloc(wb), *xq = malloc(xb), *xq2 = malloc(xb);
  for (int trial = 0; trial < 4; trial++) {
    fill_normal(w, n, 0.05f);
    fill_normal(x, n, trial == 3 ? 300.0f : 1.0f);
    if (trial == 2) x[n / 3] = 0, memset(x, 0, sizeof(float) * (n < 256 ? n : 256));
    ro->quantize(w, wq, n);
    ro->from_float(x, xq, n);
    ko->from_float(x, xq2, n);
    if (memcmp(xq, xq2, xb) != 0) {
      fprintf(stderr, "  FAIL %s: %s %s activation bytes differ (n=%d)\n", test_cur_name,
              k->name, tname(t), n);
      test_cur_failed = 1;
    }
    ro->to_float(wq, wd, n);
    ko->to_float(wq, wd2, n);
    if (memcmp(wd, wd2, sizeof(float) * n) != 0) {
      fprintf(stderr, "  FAIL %s: %s %s to_float differs\n", test_cur_name, k->name, tname(t));
      test_cur_failed = 1;
    }
    quant_ref_to_float(ro->vec_dot_type)(xq, xd, n);
    float mag = 0;
    for (int i = 0; i < n; i++) mag += fabsf(wd[i] * xd[i]);
    float want = ro->vec_dot(n, wq, xq), got = ko->vec_dot(n, wq, xq);
    if (!close_rel(got, want, mag, 1e-5f)) {
      fprintf(stderr, "  FAIL %s: %s %s vec_dot n=%d: %.9g, ref %.9g (mag %g)\n", test_cur_name,
              k->name, tname(t), n, got, want, mag);
      test_cur_failed = 1;
    }
  }
  free(w), free(x), free(wd), free(wd2), free(xd), free(wq), free(xq), free(xq2);
}

static void check_isa(kern_isa isa) {
  const kernel_table *k = kernels_for_isa(isa);
  if (!k) return;
  for (int i = 0; i < N_WEIGHT_TYPES; i++) {
    tensor_type t = WEIGHT_TYPES[i];
    int be = (int)tensor_type_get(REF->types[t].vec_dot_type).block_elems;
    int bw = (int)tensor_type_get(t).block_elems;
    int blk = be > bw ? be : bw;
    int sizes[] = {blk, 3 * blk, 11 * blk, 4096};
    for (int s = 0; s < 4; s++) check_type_on(k, t, sizes[s]);
    if (blk == 1) { /* float rows of odd length exercise the scalar tails */
      check_type_on(k, t, 33);
      check_type_on(k, t, 100);
      check_type_on(k, t, 1);
    }
  }
}

TEST(simd_ref_self) { check_isa(KERN_ISA_REF); }
TEST(simd_avx2) {
  if (!kernels_for_isa(KERN_ISA_AVX2)) SKIP("CPU lacks AVX2+FMA+F16C");
  check_isa(KERN_ISA_AVX2);
}
TEST(simd_avx512) {
  if (!kernels_for_isa(KERN_ISA_AVX512)) SKIP("CPU lacks AVX-512 F/BW/VL/DQ+VNNI");
  check_isa(KERN_ISA_AVX512);
}

static void check_f16_rows(const kernel_table *k) {
  enum { N = 1003 };
  float x[N], y[N], y2[N];
  uint16_t h[N], h2[N];
  fill_normal(x, N, 100.0f);
  x[0] = 1e-7f, x[1] = -70000.0f, x[2] = INFINITY, x[3] = 65519.99f, x[4] = ldexpf(1, -25);
  REF->f32_to_f16(x, h, N);
  k->f32_to_f16(x, h2, N);
  CHECK(memcmp(h, h2, sizeof h) == 0);
  REF->f16_to_f32(h, y, N);
  k->f16_to_f32(h, y2, N);
  CHECK(memcmp(y, y2, sizeof y) == 0);
}

TEST(f16_rows_avx2) {
  if (!kernels_for_isa(KERN_ISA_AVX2)) SKIP("CPU lacks AVX2+FMA+F16C");
  check_f16_rows(kernels_for_isa(KERN_ISA_AVX2));
}
TEST(f16_rows_avx512) {
  if (!kernels_for_isa(KERN_ISA_AVX512)) SKIP("CPU lacks AVX-512");
  check_f16_rows(kernels_for_isa(KERN_ISA_AVX512));
}

/* ---- matrices -------------------------------------------------------------------------- */

/* matvec over odd row counts and split ranges, matmul with a ragged number of
 * activation rows (the GEMM path where the type has one), on every path this
 * CPU runs, against per-row vec_dot of the same path: matvec exactly, matmul
 * to ~1e-6 of the sum of |products| (its float sums run in another order). */
static void check_matrices(const kernel_table *k) {
  enum { ROWS = 7, COLS = 512, NX = 6 };
  for (int i = 0; i < N_WEIGHT_TYPES; i++) {
    tensor_type t = WEIGHT_TYPES[i];
    const kern_type_ops *o = &k->types[t];
    size_t wb = quant_row_bytes(t, COLS), xb = quant_row_bytes(o->vec_dot_type, COLS);
    uint8_t *W = malloc(wb * ROWS), *X = malloc(xb * NX);
    float f[COLS], y[ROWS], Y[NX * ROWS], wd[ROWS][COLS], xd[NX][COLS];
    for (int r = 0; r < ROWS; r++) {
      fill_normal(f, COLS, 0.1f);
      o->quantize(f, W + r * wb, COLS);
      o->to_float(W + r * wb, wd[r], COLS);
    }
    for (int j = 0; j < NX; j++) {
      fill_normal(f, COLS, 1.0f);
      o->from_float(f, X + j * xb, COLS);
      quant_ref_to_float(o->vec_dot_type)(X + j * xb, xd[j], COLS);
    }
    kern_matvec_on(k, t, W, ROWS, COLS, X, y, 0, 3);
    kern_matvec_on(k, t, W, ROWS, COLS, X, y, 3, ROWS);
    for (int r = 0; r < ROWS; r++) CHECK(y[r] == o->vec_dot(COLS, W + r * wb, X));
    kern_matmul_on(k, t, W, ROWS, COLS, X, xb, NX, Y, ROWS, 0, 5);
    kern_matmul_on(k, t, W, ROWS, COLS, X, xb, NX, Y, ROWS, 5, ROWS);
    for (int j = 0; j < NX; j++)
      for (int r = 0; r < ROWS; r++) {
        float want = o->vec_dot(COLS, W + r * wb, X + j * xb), mag = 0;
        for (int e = 0; e < COLS; e++) mag += fabsf(wd[r][e] * xd[j][e]);
        if (!close_rel(Y[j * ROWS + r], want, mag, 2e-6f)) {
          fprintf(stderr, "  FAIL %s: %s %s matmul [%d,%d] %g vs %g\n", test_cur_name, k->name,
                  tname(t), j, r, Y[j * ROWS + r], want);
          test_cur_failed = 1;
        }
      }
    free(W), free(X);
  }
}

TEST(matrices_ref) { check_matrices(REF); }
TEST(matrices_avx2) {
  if (!kernels_for_isa(KERN_ISA_AVX2)) SKIP("CPU lacks AVX2+FMA+F16C");
  check_matrices(kernels_for_isa(KERN_ISA_AVX2));
}
TEST(matrices_avx512) {
  if (!kernels_for_isa(KERN_ISA_AVX512)) SKIP("CPU lacks AVX-512 F/BW/VL/DQ+VNNI");
  check_matrices(kernels_for_isa(KERN_ISA_AVX512));
}

/* The GEMM path against per-row vec_dot of the same table: random weights
 * of every type, 1..9 activation rows, ragged row ranges (tails of the
 * 16-row tiles), rows longer than one panel slice, and ldy wider than the
 * row count. Float sums only differ in order: tolerance relative to the sum
 * of |products|. */
static void check_gemm(const kernel_table *k) {
  enum { ROWS = 90, NXMAX = 9, LDY = 93 };
  static const int colss[] = {256, 2304};
  for (int i = 0; i < N_WEIGHT_TYPES; i++) {
    tensor_type t = WEIGHT_TYPES[i];
    const kern_type_ops *o = &k->types[t];
    if (!o->vec_dot) continue;
    for (int ci = 0; ci < 2; ci++) {
      int cols = colss[ci];
      size_t wb = quant_row_bytes(t, cols), xb = quant_row_bytes(o->vec_dot_type, cols);
      uint8_t *W = malloc(wb * ROWS), *X = malloc(xb * NXMAX);
      float *f = malloc(sizeof(float) * cols), *wd = malloc(sizeof(float) * cols * ROWS);
      float *xd = malloc(sizeof(float) * cols * NXMAX), *Y = malloc(sizeof(float) * LDY * NXMAX);
      for (int r = 0; r < ROWS; r++) {
        fill_normal(f, cols, 0.1f);
        o->quantize(f, W + r * wb, cols);
        o->to_float(W + r * wb, wd + (size_t)r * cols, cols);
      }
      for (int j = 0; j < NXMAX; j++) {
        fill_normal(f, cols, j == 2 ? 50.0f : 1.0f);
        o->from_float(f, X + j * xb, cols);
        quant_ref_to_float(o->vec_dot_type)(X + j * xb, xd + (size_t)j * cols, cols);
      }
      for (int nx = 1; nx <= NXMAX; nx++) {
        for (int k2 = 0; k2 < LDY * NXMAX; k2++) Y[k2] = NAN;
        /* three ranges as threads would take them (the middle one > 64 rows) */
        kern_matmul_on(k, t, W, ROWS, cols, X, xb, nx, Y, LDY, 0, 17);
        kern_matmul_on(k, t, W, ROWS, cols, X, xb, nx, Y, LDY, 17, 83);
        kern_matmul_on(k, t, W, ROWS, cols, X, xb, nx, Y, LDY, 83, ROWS);
        for (int j = 0; j < NXMAX; j++)
          for (int r = 0; r < LDY; r++) {
            float got = Y[j * LDY + r];
            if (j >= nx || r >= ROWS) {
              if (!isnan(got)) {
                fprintf(stderr, "  FAIL %s: %s %s gemm wrote outside [%d,%d]\n", test_cur_name,
                        k->name, tname(t), j, r);
                test_cur_failed = 1;
              }
              continue;
            }
            float want = o->vec_dot(cols, W + r * wb, X + j * xb), mag = 0;
            for (int e = 0; e < cols; e++)
              mag += fabsf(wd[(size_t)r * cols + e] * xd[(size_t)j * cols + e]);
            if (!close_rel(got, want, mag, 2e-6f)) {
              fprintf(stderr, "  FAIL %s: %s %s gemm cols=%d nx=%d [%d,%d] %.9g vs %.9g (mag %g)\n",
                      test_cur_name, k->name, tname(t), cols, nx, j, r, got, want, mag);
              test_cur_failed = 1;
            }
          }
      }
      free(W), free(X), free(f), free(wd), free(xd), free(Y);
    }
  }
}

TEST(gemm_ref) { check_gemm(REF); }
TEST(gemm_avx2) {
  if (!kernels_for_isa(KERN_ISA_AVX2)) SKIP("CPU lacks AVX2+FMA+F16C");
  check_gemm(kernels_for_isa(KERN_ISA_AVX2));
}
TEST(gemm_avx512) {
  if (!kernels_for_isa(KERN_ISA_AVX512)) SKIP("CPU lacks AVX-512 F/BW/VL/DQ+VNNI");
  check_gemm(kernels_for_isa(KERN_ISA_AVX512));
}

/* Repacked 16-row groups (repack.h) against the reference vec_dot on the
 * GGUF layout: 3 groups (a pair and one alone for float weights), 1..13
 * activation rows (past one 8-row tile, one 12-row float tile), 14..16
 * (AVX-512's one group against all rows), 64..70
 * (past one batch of quantized tiles) and 97..100 (of float tiles), a
 * short and a long row, and ldy wider than the rows. */
static void check_repack(const kernel_table *k) {
  const char *name = k ? k->name : "ref";
  enum { ROWS = 48, NXMAX = 100, LDY = 51 };
  static const tensor_type types[] = {TT_Q4_0, TT_Q4_1, TT_Q8_0, TT_F32, TT_F16};
  static const int nxs[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 64, 65, 70, 97, 100};
  static const int colss[] = {64, 384, 2304};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    tensor_type t = types[i];
    bool fl = t == TT_F32 || t == TT_F16; /* f32 activations: checked against exact sums */
    const kern_type_ops *o = &REF->types[t];
    rp_matmul_fn fn = k ? k->types[t].rp_matmul : rp_matmul_ref;
    if (!fn) continue; /* this path keeps the type in the GGUF layout */
    for (int ci = 0; ci < 3; ci++) {
      int cols = colss[ci];
      CHECK(rp_supported(t, ROWS, cols));
      size_t wb = quant_row_bytes(t, cols), xb = quant_row_bytes(o->vec_dot_type, cols);
      size_t gb = rp_group_bytes(t, cols), pxb = rpx_row_bytes(t, cols);
      CHECK(gb % 64 == 0 && pxb % 64 == 0);
      uint8_t *W = malloc(wb * ROWS), *X = malloc(xb * NXMAX);
      uint8_t *P = aligned_alloc(64, gb * (ROWS / RP_ROWS)), *PX = aligned_alloc(64, pxb * NXMAX);
      float *f = malloc(sizeof(float) * cols), *Y = malloc(sizeof(float) * LDY * NXMAX);
      float *wd = malloc(sizeof(float) * cols * ROWS), *xd = malloc(sizeof(float) * cols * NXMAX);
      for (int r = 0; r < ROWS; r++) {
        fill_normal(f, cols, 0.1f);
        o->quantize(f, W + r * wb, cols);
        o->to_float(W + r * wb, wd + (size_t)r * cols, cols);
      }
      for (int g = 0; g < ROWS / RP_ROWS; g++) rp_pack_group(t, W + g * RP_ROWS * wb, wb, cols, P + g * gb);
      if (!k) { /* every row unpacks to its GGUF bytes */
        uint8_t *row = malloc(wb);
        for (int r = 0; r < ROWS; r++) {
          rp_unpack_row(t, P + (size_t)(r / RP_ROWS) * gb, r % RP_ROWS, cols, row);
          if (memcmp(row, W + (size_t)r * wb, wb)) {
            fprintf(stderr, "  FAIL %s: %s row %d unpacks to other bytes\n", test_cur_name, tname(t), r);
            test_cur_failed = 1;
            break;
          }
        }
        free(row);
      }
      for (int j = 0; j < NXMAX; j++) {
        fill_normal(f, cols, j == 2 ? 50.0f : 1.0f);
        o->from_float(f, X + j * xb, cols);
        quant_ref_to_float(o->vec_dot_type)(X + j * xb, xd + (size_t)j * cols, cols);
        if (fl) memcpy(xd + (size_t)j * cols, f, sizeof(float) * cols);
        rpx_from_float(t, f, PX + j * pxb, cols);
      }
      for (size_t ni = 0; ni < sizeof nxs / sizeof nxs[0]; ni++) {
        int nx = nxs[ni];
        for (int k2 = 0; k2 < LDY * NXMAX; k2++) Y[k2] = NAN;
        fn(t, cols, P, gb, ROWS / RP_ROWS, PX, pxb, nx, Y, LDY);
        for (int j = 0; j < NXMAX; j++)
          for (int r = 0; r < LDY; r++) {
            float got = Y[j * LDY + r];
            if (j >= nx || r >= ROWS) {
              if (!isnan(got)) {
                fprintf(stderr, "  FAIL %s: %s %s repack wrote outside [%d,%d]\n", test_cur_name,
                        name, tname(t), j, r);
                test_cur_failed = 1;
              }
              continue;
            }
            float want = o->vec_dot(cols, W + r * wb, X + j * xb), mag = 0;
            double exact = 0;
            for (int e = 0; e < cols; e++) {
              mag += fabsf(wd[(size_t)r * cols + e] * xd[(size_t)j * cols + e]);
              exact += (double)wd[(size_t)r * cols + e] * xd[(size_t)j * cols + e];
            }
            if (fl) want = (float)exact;
            if (!close_rel(got, want, mag, 2e-6f)) {
              fprintf(stderr, "  FAIL %s: %s %s repack cols=%d nx=%d [%d,%d] %.9g vs %.9g\n",
                      test_cur_name, name, tname(t), cols, nx, j, r, got, want);
              test_cur_failed = 1;
            }
          }
      }
      free(W), free(X), free(P), free(PX), free(f), free(Y), free(wd), free(xd);
    }
  }
}

/* kern_transpose on every path this CPU runs: xt[k * ld + j] = X_j[k], 0
 * past the n rows, for row counts around the 16-row blocks and widths that
 * end in a partial run of 16; nothing written past cols * ld. */
TEST(transpose) {
  static const int ns[] = {1, 7, 16, 13, 17, 24};
  static const int lds[] = {16, 24};
  static const int colss[] = {5, 32, 45};
  for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
    const kernel_table *k = kernels_for_isa((kern_isa)isa);
    if (!k) continue;
    CHECK(k->transpose != NULL);
    for (size_t ci = 0; ci < sizeof colss / sizeof colss[0]; ci++)
      for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
        for (size_t li = 0; li < sizeof lds / sizeof lds[0]; li++) {
          int cols = colss[ci], n = ns[ni], ld = lds[li], xs = cols + 3;
          if (n > ld) continue;
          float X[24 * 48], T[48 * 24 + 16];
          for (int i = 0; i < 24 * 48; i++) X[i] = (float)i + 0.5f;
          for (int i = 0; i < 48 * 24 + 16; i++) T[i] = NAN;
          k->transpose(X, sizeof(float) * (size_t)xs, n, ld, cols, T);
          bool ok = true;
          for (int c = 0; c < cols; c++)
            for (int j = 0; j < ld; j++) ok &= T[c * ld + j] == (j < n ? X[j * xs + c] : 0.0f);
          for (int i = cols * ld; i < 48 * 24 + 16; i++) ok &= isnan(T[i]);
          if (!ok) {
            fprintf(stderr, "  FAIL %s: %s n=%d ld=%d cols=%d\n", test_cur_name, k->name, n, ld, cols);
            test_cur_failed = 1;
          }
        }
  }
}

/* sysfs' cache sizes ("32768K") in bytes; what this machine reports is
 * either unknown (0) or a plausible last-level cache. */
TEST(cache_sizes) {
  CHECK(cpu_cache_size_parse("32768K\n") == (size_t)32 << 20);
  CHECK(cpu_cache_size_parse("480M") == (size_t)480 << 20);
  CHECK(cpu_cache_size_parse("1024") == 1024);
  CHECK(cpu_cache_size_parse("") == 0 && cpu_cache_size_parse("K") == 0);
  size_t llc = cpu_llc_bytes();
  CHECK(llc == 0 || (llc >= (size_t)256 << 10 && llc <= (size_t)4 << 30));
}

/* The products with a fused epilogue (rp_matmul_ep and its streamed twin)
 * store exactly what the plain ones do followed by the table's add, a
 * plain multiply by the scale (as kern_scale) and the table's GELU, for each of
 * the epilogues an encoder uses and at every tile shape the caller gives. */
static void check_epilogues(const kernel_table *k, tensor_type t, int cols, const uint8_t *P,
                            size_t gb, const uint8_t *PX, size_t pxb, int nx, float *Y0, float *Y1) {
  enum { ROWS = 48, LDY = 51 };
  float bias[ROWS];
  fill_normal(bias, ROWS, 0.5f);
  const rp_epilogue eps[] = {
      {.bias = bias, .scale = 1.0f},
      {.bias = bias, .scale = 0.1767767f},
      {.bias = bias, .scale = 1.0f, .gelu = true},
      {.bias = NULL, .scale = 1.0f, .gelu = true},
  };
  const char *names[] = {"bias", "bias+scale", "bias+gelu", "gelu"};
  for (int streamed = 0; streamed < 2; streamed++) {
    rp_matmul_fn plain = streamed ? k->types[t].rp_matmul_streamed : k->types[t].rp_matmul;
    rp_matmul_ep_fn fused = streamed ? k->types[t].rp_matmul_ep_streamed : k->types[t].rp_matmul_ep;
    CHECK(fused != NULL);
    if (!fused) return;
    for (int e = 0; e < 4; e++) {
      const rp_epilogue *ep = &eps[e];
      memset(Y0, 0, sizeof(float) * LDY * nx);
      memset(Y1, 0, sizeof(float) * LDY * nx);
      plain(t, cols, P, gb, ROWS / RP_ROWS, PX, pxb, nx, Y0, LDY);
      for (int j = 0; j < nx; j++) {
        float *y = Y0 + (size_t)j * LDY;
        if (ep->bias) k->add(y, y, ep->bias, ROWS);
        if (ep->scale != 1.0f)
          for (int r = 0; r < ROWS; r++) y[r] *= ep->scale;
        if (ep->gelu) k->gelu_erf(y, ROWS);
      }
      fused(t, cols, P, gb, ROWS / RP_ROWS, PX, pxb, nx, Y1, LDY, ep);
      if (memcmp(Y0, Y1, sizeof(float) * LDY * nx)) {
        fprintf(stderr, "  FAIL %s: %s %s%s product with epilogue %s differs, cols=%d nx=%d\n",
                test_cur_name, k->name, tname(t), streamed ? " streamed" : "", names[e], cols, nx);
        test_cur_failed = 1;
      }
    }
  }
}

/* A path's products for weights streamed from memory (rp_matmul_streamed,
 * which the float types have) only add prefetches: their sums are bit for
 * bit those of rp_matmul, for every tile shape check_repack covers, but
 * for the row counts rp_matmul takes transposed (kern_type_ops' rp_xt_*),
 * which the streamed products leave to the tiles: there the same sums in
 * another order. */
static void check_repack_streamed(const kernel_table *k) {
  enum { ROWS = 48, NXMAX = 100, LDY = 51 };
  static const tensor_type types[] = {TT_F32, TT_F16};
  static const int nxs[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 20, 24, 64, 65, 70, 97, 100};
  static const int colss[] = {64, 384, 2304};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    tensor_type t = types[i];
    rp_matmul_fn cached = k->types[t].rp_matmul, streamed = k->types[t].rp_matmul_streamed;
    CHECK(cached && streamed);
    if (!cached || !streamed) continue;
    const kern_type_ops *o = &REF->types[t];
    for (int ci = 0; ci < 3; ci++) {
      int cols = colss[ci];
      size_t wb = quant_row_bytes(t, cols), gb = rp_group_bytes(t, cols), pxb = rpx_row_bytes(t, cols);
      uint8_t *W = malloc(wb * ROWS), *P = aligned_alloc(64, gb * (ROWS / RP_ROWS));
      uint8_t *PX = aligned_alloc(64, pxb * NXMAX);
      float *f = malloc(sizeof(float) * cols), *Y0 = malloc(sizeof(float) * LDY * NXMAX),
            *Y1 = malloc(sizeof(float) * LDY * NXMAX);
      for (int r = 0; r < ROWS; r++) {
        fill_normal(f, cols, 0.1f);
        o->quantize(f, W + r * wb, cols);
      }
      for (int g = 0; g < ROWS / RP_ROWS; g++) rp_pack_group(t, W + g * RP_ROWS * wb, wb, cols, P + g * gb);
      for (int j = 0; j < NXMAX; j++) {
        fill_normal(f, cols, 1.0f);
        rpx_from_float(t, f, PX + j * pxb, cols);
      }
      for (size_t ni = 0; ni < sizeof nxs / sizeof nxs[0]; ni++) {
        int nx = nxs[ni];
        memset(Y0, 0, sizeof(float) * LDY * NXMAX);
        memset(Y1, 0, sizeof(float) * LDY * NXMAX);
        cached(t, cols, P, gb, ROWS / RP_ROWS, PX, pxb, nx, Y0, LDY);
        streamed(t, cols, P, gb, ROWS / RP_ROWS, PX, pxb, nx, Y1, LDY);
        bool differs;
        if (nx >= k->types[t].rp_xt_min && nx <= k->types[t].rp_xt_max) {
          /* another order moves a sum (~0.1 sqrt(cols)) by a few ulps; a
           * term lost or doubled moves it by ~0.1; outside the product
           * both stay 0 */
          differs = false;
          for (int j = 0; j < NXMAX; j++)
            for (int r = 0; r < LDY; r++)
              differs |= !close_rel(Y1[j * LDY + r], Y0[j * LDY + r], 1.0f, 1e-6f * cols);
        } else {
          differs = memcmp(Y0, Y1, sizeof(float) * LDY * NXMAX) != 0;
        }
        if (differs) {
          fprintf(stderr, "  FAIL %s: %s %s streamed product differs, cols=%d nx=%d\n", test_cur_name,
                  k->name, tname(t), cols, nx);
          test_cur_failed = 1;
        }
        check_epilogues(k, t, cols, P, gb, PX, pxb, nx, Y0, Y1);
      }
      free(W), free(P), free(PX), free(f), free(Y0), free(Y1);
    }
  }
}

/* Float products of the row counts a path transposes (its rp_xt_min..
 * rp_xt_max) against exact sums, with each epilogue and none,
 * at widths that end in a partial run of 16 (an attention's values are as
 * wide as its text) or span several blocks of columns. */
static void check_repack_float_widths(const kernel_table *k) {
  /* NXM: room for the transposed products' range and for batches of
   * several tiles (97: past one batch of 96) */
  enum { ROWS = 48, LDY = 51, NXM = RP_XT_MAX + 1 > 97 ? RP_XT_MAX + 1 : 97 };
  static const tensor_type types[] = {TT_F32, TT_F16};
  static const int colss[] = {19, 400, 1541};
  float bias[ROWS];
  fill_normal(bias, ROWS, 0.5f);
  const rp_epilogue eps[] = {
      {.bias = NULL, .scale = 1.0f},
      {.bias = bias, .scale = 0.1767767f},
      {.bias = bias, .scale = 1.0f, .gelu = true},
  };
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    tensor_type t = types[i];
    rp_matmul_ep_fn fn = k->types[t].rp_matmul_ep;
    CHECK(fn != NULL);
    if (!fn) return;
    for (size_t ci = 0; ci < sizeof colss / sizeof colss[0]; ci++) {
      int cols = colss[ci];
      size_t wb = quant_row_bytes(t, cols), gb = rp_group_bytes(t, cols);
      /* aligned_alloc wants a multiple of the alignment (an F16 group of 19
       * columns is 608 bytes) */
      uint8_t *W = malloc(wb * ROWS), *P = aligned_alloc(64, (gb * (ROWS / RP_ROWS) + 63) & ~(size_t)63);
      float *wd = malloc(sizeof(float) * cols * ROWS), *X = malloc(sizeof(float) * cols * NXM);
      float *Y = malloc(sizeof(float) * LDY * NXM);
      for (int r = 0; r < ROWS; r++) {
        fill_normal(X, cols, 0.1f);
        REF->types[t].quantize(X, W + r * wb, cols);
        REF->types[t].to_float(W + r * wb, wd + (size_t)r * cols, cols);
      }
      for (int g = 0; g < ROWS / RP_ROWS; g++) rp_pack_group(t, W + g * RP_ROWS * wb, wb, cols, P + g * gb);
      fill_normal(X, cols * NXM, 1.0f);
      int lo = HR_MAX(k->types[t].rp_xt_min - 1, 1);
      int hi = k->types[t].rp_xt_max + 1;
      CHECK(hi - 1 <= RP_XT_MAX);
      /* one past each end of the transposed range, then tiles of rows */
      int nxs[64], n_nx = 0;
      for (int nx = lo; nx <= hi && n_nx < 60; nx++) nxs[n_nx++] = nx;
      nxs[n_nx++] = 7, nxs[n_nx++] = 13, nxs[n_nx++] = 97;
      for (int ni = 0; ni < n_nx; ni++)
        for (int e = 0, nx = nxs[ni]; e < 3; e++) {
          const rp_epilogue *ep = &eps[e];
          for (int q = 0; q < LDY * NXM; q++) Y[q] = NAN;
          fn(t, cols, P, gb, ROWS / RP_ROWS, X, sizeof(float) * cols, nx, Y, LDY, ep);
          for (int j = 0; j < nx; j++)
            for (int r = 0; r < ROWS; r++) {
              double exact = 0, mag = 0;
              for (int c = 0; c < cols; c++) {
                exact += (double)wd[(size_t)r * cols + c] * X[(size_t)j * cols + c];
                mag += fabs((double)wd[(size_t)r * cols + c] * X[(size_t)j * cols + c]);
              }
              float want = (float)exact;
              if (ep->bias) want += bias[r], mag += fabsf(bias[r]);
              want *= ep->scale, mag *= ep->scale;
              if (ep->gelu) want = 0.5f * want * (1.0f + erff(want * 0.70710678f));
              float got = Y[j * LDY + r];
              if (!close_rel(got, want, (float)mag + 1.0f, 2e-6f)) {
                fprintf(stderr, "  FAIL %s: %s %s cols=%d nx=%d epilogue %d [%d,%d] %.9g vs %.9g\n",
                        test_cur_name, k->name, tname(t), cols, nx, e, j, r, got, want);
                test_cur_failed = 1;
                j = nx, r = ROWS;
              }
            }
        }
      free(W), free(P), free(wd), free(X), free(Y);
    }
  }
}

TEST(repack_ref) { check_repack(NULL); }
TEST(repack_avx2) {
  const kernel_table *k = kernels_for_isa(KERN_ISA_AVX2);
  if (!k) SKIP("CPU lacks AVX2+FMA+F16C");
  CHECK(k->types[TT_Q4_0].rp_matmul && k->types[TT_Q4_1].rp_matmul && k->types[TT_Q8_0].rp_matmul &&
        k->types[TT_F32].rp_matmul && k->types[TT_F16].rp_matmul);
  check_repack(k);
  check_repack_streamed(k);
}
TEST(repack_avx512) {
  const kernel_table *k = kernels_for_isa(KERN_ISA_AVX512);
  if (!k) SKIP("CPU lacks AVX-512 F/BW/VL/DQ+VNNI");
  CHECK(k->types[TT_Q4_0].rp_matmul && k->types[TT_Q4_1].rp_matmul && k->types[TT_Q8_0].rp_matmul &&
        k->types[TT_F32].rp_matmul && k->types[TT_F16].rp_matmul);
  /* the AVX-512 products alone, for every row count (with AMX present the
   * table hands whole 16-row tiles to it: repack_amx) */
  kernel_table vnni = *k;
  for (int t = 0; t < TT_COUNT_; t++)
    if (vnni.types[t].rp_matmul) vnni.types[t].rp_matmul = rp_product_avx512;
  vnni.name = "avx512 (no amx)";
  check_repack(&vnni);
  check_repack_streamed(k);
  check_repack_float_widths(k);
}
/* Three weights of rows x cols random values (scale 0.1) in type t, like
 * Q, K and V, with two outputs of up to nmax activation rows each. */
typedef struct {
  uint8_t *data[3], *packed[3]; /* GGUF rows; 16-row groups where packed */
  weight w[3];
  const weight *ws[3];
  float *Y0[3], *Y1[3];
} three_products;

static void three_products_make(three_products *p, tensor_type t, int rows, int cols, bool pack,
                                int nmax) {
  size_t rb = quant_row_bytes(t, cols), gb = rp_group_bytes(t, cols);
  float *f = malloc(sizeof(float) * cols);
  for (int k = 0; k < 3; k++) {
    p->data[k] = malloc(rb * rows);
    p->packed[k] = aligned_alloc(64, gb * (rows / RP_ROWS));
    for (int r = 0; r < rows; r++) {
      fill_normal(f, cols, 0.1f);
      kernels_for_type(t)->quantize(f, p->data[k] + (size_t)r * rb, cols);
    }
    if (pack)
      for (int g = 0; g < rows / RP_ROWS; g++)
        rp_pack_group(t, p->data[k] + (size_t)g * RP_ROWS * rb, rb, cols, p->packed[k] + (size_t)g * gb);
    p->w[k] = (weight){.type = t, .rows = rows, .cols = cols, .data = p->data[k], .row_bytes = rb};
    p->ws[k] = &p->w[k];
    p->Y0[k] = malloc(sizeof(float) * nmax * rows);
    p->Y1[k] = malloc(sizeof(float) * nmax * rows);
  }
  free(f);
}

/* The products read the 16-row groups (packed; streamed or not) or the
 * GGUF rows. */
static void three_products_layout(three_products *p, bool packed, bool streamed) {
  for (int k = 0; k < 3; k++) {
    weight *w = &p->w[k];
    w->rp = packed ? p->packed[k] : NULL;
    w->rp_group_bytes = packed ? rp_group_bytes(w->type, w->cols) : 0;
    w->rp_streamed = packed && streamed;
  }
}

static void three_products_free(three_products *p) {
  for (int k = 0; k < 3; k++) free(p->data[k]), free(p->packed[k]), free(p->Y0[k]), free(p->Y1[k]);
}

/* fwd_matmul_ep on the pool (two threads, so chunks start at rows other
 * than 0) stores what fwd_matmul_many followed by kern_add, kern_scale and
 * kern_gelu_erf over the whole outputs does, bit for bit: weights repacked
 * (fused where the path has it) or not (the pass after each chunk),
 * streamed or not, three weights sharing the input like Q, K and V. */
TEST(matmul_epilogue) {
  enum { ROWS = 1152, COLS = 384, N = 16 };
  hr_pool *pool = hr_pool_new(2);
  float *X = malloc(sizeof(float) * N * COLS), *bias = malloc(sizeof(float) * ROWS * 3);
  fill_normal(X, N * COLS, 1.0f);
  fill_normal(bias, ROWS * 3, 0.5f);
  static const tensor_type types[] = {TT_F32, TT_F16};
  for (int ti = 0; ti < 2; ti++) {
    tensor_type t = types[ti];
    three_products p;
    three_products_make(&p, t, ROWS, COLS, true, N);
    const weight *const *ws = p.ws;
    float *const *Y0 = p.Y0, *const *Y1 = p.Y1;
    void *xq = aligned_alloc(64, fwd_act_row_bytes(t, COLS) * N);
    const rp_epilogue eps[3] = {
        {.bias = bias, .scale = 0.1767767f},
        {.bias = bias + ROWS, .scale = 1.0f, .gelu = true},
        {.bias = NULL, .scale = 1.0f, .gelu = true},
    };
    for (int mode = 0; mode < 3; mode++) { /* repacked, repacked streamed, GGUF layout */
      three_products_layout(&p, mode < 2, mode == 1);
      /* every output written: the chunks of the rows laid end to end
       * (some cross from one weight into the next) leave none out */
      for (int k = 0; k < 3; k++)
        for (int q = 0; q < N * ROWS; q++) Y0[k][q] = NAN;
      fwd_matmul_many(pool, xq, ws, Y0, 3, X, N);
      for (int k = 0; k < 3; k++)
        for (int q = 0; q < N * ROWS; q++)
          if (isnan(Y0[k][q])) {
            fprintf(stderr, "  FAIL %s: %s weight %d mode %d: output %d not written\n",
                    test_cur_name, tname(t), k, mode, q);
            test_cur_failed = 1;
            break;
          }
      for (int k = 0; k < 3; k++)
        for (int i = 0; i < N; i++) {
          float *y = Y0[k] + (size_t)i * ROWS;
          if (eps[k].bias) kern_add(y, y, eps[k].bias, ROWS);
          if (eps[k].scale != 1.0f) kern_scale(y, eps[k].scale, ROWS);
          if (eps[k].gelu) kern_gelu_erf(y, ROWS);
        }
      fwd_matmul_ep(pool, xq, ws, Y1, 3, X, N, eps);
      for (int k = 0; k < 3; k++)
        if (memcmp(Y0[k], Y1[k], sizeof(float) * N * ROWS)) {
          fprintf(stderr, "  FAIL %s: %s weight %d mode %d: fwd_matmul_ep differs\n", test_cur_name,
                  tname(t), k, mode);
          test_cur_failed = 1;
        }
    }
    three_products_free(&p);
    free(xq);
  }
  free(X), free(bias);
  hr_pool_free(pool);
}

/* The products' threads take ranges of rows and steal from each other's
 * (forward.c). Every output is written and equals a lone thread's (one
 * range, nothing to steal), bit for bit: three threads contending over and
 * over on products of 3 x 400 rows, and products too small to wake anyone,
 * where the caller runs the three ranges in turn and so steals from the
 * second and third each time. F32 and Q8_0 repacked,
 * Q4_0 in the GGUF layout; rows that are no whole number of 32-row units;
 * 1 to 96 activation rows; in every HEARTH_STEAL mode. */
static void check_stealing(hr_pool *one, hr_pool *three, int rows, int cols, const int *ns, int n_ns,
                           int reps) {
  enum { NMAX = 96 };
  float *X = malloc(sizeof(float) * NMAX * cols);
  fill_normal(X, NMAX * cols, 1.0f);
  /* F32 repacked with its weights streamed (the pair tiles at every row
   * count) and cached (1-48 rows transposed, one chunk a thread, where the
   * table has that path), Q8_0 repacked, Q4_0 in the GGUF layout */
  static const tensor_type types[] = {TT_F32, TT_F32, TT_Q8_0, TT_Q4_0};
  for (int ti = 0; ti < 4; ti++) {
    tensor_type t = types[ti];
    bool pack = t != TT_Q4_0 && rp_supported(t, rows, cols);
    bool streamed = ti == 0 && kernels_for_type(t)->rp_matmul_streamed;
    three_products p;
    three_products_make(&p, t, rows, cols, pack, NMAX);
    three_products_layout(&p, pack, streamed);
    const weight *const *ws = p.ws;
    float *const *Y0 = p.Y0, *const *Y1 = p.Y1;
    void *xq = aligned_alloc(64, fwd_act_row_bytes(t, cols) * NMAX);
    for (int ni = 0; ni < n_ns && !test_cur_failed; ni++) {
      int n = ns[ni];
      fwd_matmul_many(one, xq, ws, Y0, 3, X, n);
      for (int rep = 0; rep < reps && !test_cur_failed; rep++) {
        for (int k = 0; k < 3; k++)
          for (int q = 0; q < n * rows; q++) Y1[k][q] = NAN;
        fwd_matmul_many(three, xq, ws, Y1, 3, X, n);
        for (int k = 0; k < 3; k++)
          if (memcmp(Y0[k], Y1[k], sizeof(float) * (size_t)n * rows)) {
            fprintf(stderr, "  FAIL %s: %s%s %dx%d, %d rows, weight %d, repetition %d: three threads differ from one\n",
                    test_cur_name, tname(t), streamed ? " streamed" : "", rows, cols, n, k, rep);
            test_cur_failed = 1;
            break;
          }
      }
    }
    three_products_free(&p);
    free(xq);
  }
  free(X);
}
TEST(matmul_stealing) {
  hr_pool *one = hr_pool_new(1), *three = hr_pool_new(3);
  static const int contended[] = {1, 5, 16, 64, 96}, small[] = {1, 3};
  /* the default, the transposed rows' products stealing too, and fixed
   * chunks (cut at the same units, so the sums are the same too) */
  static const fwd_steal_mode modes[] = {STEAL_ON, STEAL_XT, STEAL_OFF};
  for (int m = 0; m < 3 && !test_cur_failed; m++) {
    fwd_set_stealing(modes[m]);
    check_stealing(one, three, 48, 64, small, 2, 1); /* 3 x 48 x 64 x 3 < 65536: serial */
    check_stealing(one, three, 400, 256, contended, 5, 30);
  }
  fwd_set_stealing(STEAL_ON);
  hr_pool_free(one), hr_pool_free(three);
}

TEST(repack_amx) {
  const kernel_table *k = kernels_for_isa(KERN_ISA_AVX512);
  if (!k || !cpu_has_amx_int8()) SKIP("CPU lacks AMX-INT8");
  if (!strstr(k->name, "amx")) SKIP("AMX turned off (HEARTH_AMX=0) or not permitted by the OS");
  check_repack(k);
}

/* A path's one-pass activation rows (rpx_row) hold exactly what the
 * block-by-block construction from that path's from_float gives: the
 * blocks' int8 values, their scales through F16, Q8_1's scaled sums and
 * the signed-weights corrections. */
static void check_rpx_row(const kernel_table *k) {
  static const tensor_type types[] = {TT_Q4_0, TT_Q4_1, TT_Q8_0};
  enum { COLS = 320 };
  float f[COLS];
  for (int ti = 0; ti < 3; ti++) {
    tensor_type t = types[ti];
    const kern_type_ops *o = &k->types[t];
    size_t pxb = rpx_row_bytes(t, COLS);
    uint8_t *got = aligned_alloc(64, pxb);
    for (int trial = 0; trial < 4; trial++) {
      fill_normal(f, COLS, trial == 1 ? 300.0f : 1.0f);
      if (trial == 2) for (int e = 32; e < 64; e++) f[e] = 0; /* an all-zero block */
      memset(got, 0xAB, pxb);
      k->rpx_row(t, f, got, COLS);
      rpx_view v = rpx_view_of(got, COLS);
      for (int b = 0; b < COLS / 32; b++) {
        int8_t q[32];
        float d, s = 0;
        if (t == TT_Q4_1) {
          block_q8_1 blk;
          o->from_float(f + b * 32, &blk, 32);
          memcpy(q, blk.qs, 32);
          d = quant_f16_to_f32(blk.d), s = quant_f16_to_f32(blk.s);
        } else {
          block_q8_0 blk;
          o->from_float(f + b * 32, &blk, 32);
          memcpy(q, blk.qs, 32);
          d = quant_f16_to_f32(blk.d);
        }
        int32_t sum = 0;
        for (int e = 0; e < 32; e++) sum += q[e];
        sum *= t == TT_Q4_0 ? -8 : t == TT_Q8_0 ? -128 : 0;
        if (memcmp(q, v.qs + b * 32, 32) || v.d[b] != d || v.s[b] != s || v.sum[b] != sum) {
          fprintf(stderr, "  FAIL %s: %s %s block %d trial %d: d %g/%g s %g/%g sum %d/%d\n",
                  test_cur_name, k->name, tname(t), b, trial, v.d[b], d, v.s[b], s, v.sum[b], sum);
          test_cur_failed = 1;
          break;
        }
      }
    }
    free(got);
  }
}
TEST(rpx_row_avx2) {
  const kernel_table *k = kernels_for_isa(KERN_ISA_AVX2);
  if (!k) SKIP("CPU lacks AVX2+FMA+F16C");
  CHECK(k->rpx_row != NULL);
  check_rpx_row(k);
}
TEST(rpx_row_avx512) {
  const kernel_table *k = kernels_for_isa(KERN_ISA_AVX512);
  if (!k) SKIP("CPU lacks AVX-512 F/BW/VL/DQ+VNNI");
  CHECK(k->rpx_row != NULL);
  check_rpx_row(k);
}

/* Attention helpers against plain f32 arithmetic on the same halves. */
static void check_attn(const kernel_table *k) {
  static const int dims[] = {64, 128, 80, 7, 200};
  static const int npos[] = {1, 5, 16, 17, 70};
  for (int di = 0; di < 5; di++)
    for (int pi = 0; pi < 5; pi++) {
      int n = dims[di], np = npos[pi];
      size_t stride = (size_t)n + 3 * (size_t)(pi + 1);
      uint16_t *rows = malloc(sizeof(uint16_t) * stride * (size_t)np), *q = malloc(sizeof(uint16_t) * n);
      float *f = malloc(sizeof(float) * stride * (size_t)np), *w = malloc(sizeof(float) * np);
      float *out = malloc(sizeof(float) * (np > n ? np : n) + 4 * sizeof(float));
      fill_normal(f, (int)stride * np, 1.0f);
      REF->f32_to_f16(f, rows, (int)stride * np);
      fill_normal(f, n, 1.0f);
      REF->f32_to_f16(f, q, n);
      for (int p = 0; p < np; p++) w[p] = rnd_unit();
      out[np] = 12345.0f;
      k->f16_dots(out, rows, stride, np, q, n, 0.125f);
      CHECK(out[np] == 12345.0f);
      for (int p = 0; p < np; p++) {
        float want = 0, mag = 0;
        for (int e = 0; e < n; e++) {
          float pr = quant_f16_to_f32(rows[(size_t)p * stride + e]) * quant_f16_to_f32(q[e]);
          want += pr, mag += fabsf(pr);
        }
        if (!close_rel(out[p], want * 0.125f, mag * 0.125f, 1e-6f)) {
          fprintf(stderr, "  FAIL %s: %s f16_dots n=%d rows=%d [%d] %g vs %g\n", test_cur_name,
                  k->name, n, np, p, out[p], want * 0.125f);
          test_cur_failed = 1;
        }
      }
      out[n] = 12345.0f;
      k->f16_wsum(out, rows, stride, np, w, n);
      CHECK(out[n] == 12345.0f);
      for (int e = 0; e < n; e++) {
        float want = 0, mag = 0;
        for (int p = 0; p < np; p++) {
          float pr = w[p] * quant_f16_to_f32(rows[(size_t)p * stride + e]);
          want += pr, mag += fabsf(pr);
        }
        if (!close_rel(out[e], want, mag, 1e-6f)) {
          fprintf(stderr, "  FAIL %s: %s f16_wsum n=%d rows=%d [%d] %g vs %g\n", test_cur_name,
                  k->name, n, np, e, out[e], want);
          test_cur_failed = 1;
        }
      }
      free(rows), free(q), free(f), free(w), free(out);
    }
  /* several queries at once equal one at a time (same path, same order of
   * products: exactly for the dots' rows, to rounding for the sums) */
  for (int di = 0; di < 5; di++) {
    int n = dims[di], np = 37, nq = 3 + di % 3;
    size_t stride = (size_t)n + 5;
    uint16_t *rows = malloc(sizeof(uint16_t) * stride * np), *q = malloc(sizeof(uint16_t) * n * nq);
    float *f = malloc(sizeof(float) * stride * np), *w = malloc(sizeof(float) * 40 * nq);
    float *o1 = malloc(sizeof(float) * 300 * nq), *o2 = malloc(sizeof(float) * 300 * nq);
    fill_normal(f, (int)stride * np, 1.0f);
    REF->f32_to_f16(f, rows, (int)stride * np);
    fill_normal(f, n * nq, 1.0f);
    REF->f32_to_f16(f, q, n * nq);
    for (int e = 0; e < 40 * nq; e++) w[e] = rnd_unit();
    kern_f16_dots_nq_on(k, o1, 300, rows, stride, np, q, (size_t)n, nq, n, 0.5f);
    for (int g = 0; g < nq; g++) k->f16_dots(o2 + g * 300, rows, stride, np, q + g * n, n, 0.5f);
    for (int g = 0; g < nq; g++)
      for (int p = 0; p < np; p++)
        if (!close_rel(o1[g * 300 + p], o2[g * 300 + p], fabsf(o2[g * 300 + p]) + 1.0f, 1e-5f)) {
          fprintf(stderr, "  FAIL %s: %s f16_dots_nq n=%d q%d [%d] %g vs %g\n", test_cur_name, k->name, n,
                  g, p, o1[g * 300 + p], o2[g * 300 + p]);
          test_cur_failed = 1;
        }
    kern_f16_wsum_nq_on(k, o1, 300, rows, stride, np, w, 40, nq, n);
    for (int g = 0; g < nq; g++) k->f16_wsum(o2 + g * 300, rows, stride, np, w + g * 40, n);
    for (int g = 0; g < nq; g++)
      for (int e = 0; e < n; e++)
        if (!close_rel(o1[g * 300 + e], o2[g * 300 + e], fabsf(o2[g * 300 + e]) + 1.0f, 1e-5f)) {
          fprintf(stderr, "  FAIL %s: %s f16_wsum_nq n=%d q%d [%d] %g vs %g\n", test_cur_name, k->name, n,
                  g, e, o1[g * 300 + e], o2[g * 300 + e]);
          test_cur_failed = 1;
        }
    free(rows), free(q), free(f), free(w), free(o1), free(o2);
  }
  /* softmax_f16: the paths' expf is a polynomial; probabilities may differ
   * by one F16 rounding step at most */
  static const int lens[] = {1, 7, 16, 33, 300};
  for (int li = 0; li < 5; li++) {
    int n = lens[li];
    float x[300], a[300], b[300];
    fill_normal(x, n, 4.0f);
    if (n > 3) x[2] = -200.0f; /* underflows to 0 */
    memcpy(a, x, sizeof(float) * n), memcpy(b, x, sizeof(float) * n);
    REF->softmax_f16(a, n);
    k->softmax_f16(b, n);
    for (int i = 0; i < n; i++)
      if (!(fabsf(a[i] - b[i]) <= ldexpf(fabsf(a[i]), -10) + 1e-9f) || quant_f16_to_f32(quant_f32_to_f16(b[i])) != b[i]) {
        fprintf(stderr, "  FAIL %s: %s softmax_f16 n=%d [%d] %g vs %g\n", test_cur_name, k->name, n, i, b[i], a[i]);
        test_cur_failed = 1;
      }
  }
}

TEST(attn_ref) { check_attn(REF); }
TEST(attn_avx2) {
  if (!kernels_for_isa(KERN_ISA_AVX2)) SKIP("CPU lacks AVX2+FMA+F16C");
  check_attn(kernels_for_isa(KERN_ISA_AVX2));
}
TEST(attn_avx512) {
  if (!kernels_for_isa(KERN_ISA_AVX512)) SKIP("CPU lacks AVX-512 F/BW/VL/DQ+VNNI");
  check_attn(kernels_for_isa(KERN_ISA_AVX512));
}

/* the entry points without a table use the selected path */
TEST(matvec_selected) {
  enum { ROWS = 3, COLS = 256 };
  const kern_type_ops *o = kernels_for_type(TT_Q4_K);
  uint8_t W[ROWS * 144], X[292];
  float f[COLS], y[ROWS], Y[ROWS];
  for (int r = 0; r < ROWS; r++) {
    fill_normal(f, COLS, 0.1f);
    o->quantize(f, W + r * 144, COLS);
  }
  fill_normal(f, COLS, 1.0f);
  o->from_float(f, X, COLS);
  kern_matvec(TT_Q4_K, W, ROWS, COLS, X, y, 0, ROWS);
  kern_matmul(TT_Q4_K, W, ROWS, COLS, X, sizeof X, 1, Y, ROWS, 0, ROWS);
  for (int r = 0; r < ROWS; r++) {
    CHECK(y[r] == kernels_get()->types[TT_Q4_K].vec_dot(COLS, W + r * 144, X));
    CHECK(Y[r] == y[r]);
  }
}

TEST(type_lookup) {
  kernels_init();
  CHECK(kernels_get() != NULL);
  CHECK(kernels_for_type(TT_Q4_K)->vec_dot_type == TT_Q8_K);
  CHECK(kernels_for_type(TT_Q4_1)->vec_dot_type == TT_Q8_1);
  CHECK(kernels_for_type(TT_Q5_0)->vec_dot_type == TT_Q8_0);
  CHECK(kernels_for_type(TT_F16)->vec_dot_type == TT_F16);
  CHECK(kernels_for_type(TT_Q8_K)->vec_dot == NULL);
  CHECK(kernels_for_type(TT_I32) == NULL);
  CHECK(kernels_for_type((tensor_type)99) == NULL);
  CHECK(kernels_for_isa(KERN_ISA_REF) != NULL);
  CHECK(kernels_for_isa((kern_isa)7) == NULL);
  const char *env = getenv("HEARTH_ISA");
  if (!env) CHECK(kernels_get()->isa == kernels_cpu_best());
  fprintf(stderr, "  kernels: cpu best %s, selected %s\n",
          kernels_for_isa(kernels_cpu_best())->name, kernels_get()->name);
}

/* ---- f32 helpers -------------------------------------------------------------------------- */

/* The row functions of every path against the plain C ones. */
TEST(softmax_gelu_paths) {
  enum { N = 1003 };
  static float x[N], a[N], b[N], u[N];
  for (kern_isa isa = KERN_ISA_AVX2; isa < KERN_ISA_COUNT; isa++) {
    const kernel_table *k = kernels_for_isa(isa);
    if (!k) continue;
    for (int i = 0; i < N; i++) x[i] = (rnd_unit() - 0.5f) * 24.0f;
    memcpy(a, x, sizeof x), memcpy(b, x, sizeof x);
    REF->gelu_erf(a, N), k->gelu_erf(b, N);
    for (int i = 0; i < N; i++)
      if (!(fabsf(a[i] - b[i]) <= 1e-6f * fabsf(a[i]) + 3e-7f)) {
        fprintf(stderr, "  FAIL %s: %s gelu_erf(%g) %.9g vs %.9g\n", test_cur_name, k->name, x[i], b[i], a[i]);
        test_cur_failed = 1;
        break;
      }
    /* add: the same floats as the reference, in place too, every tail */
    for (int len = 70; len >= 1; len -= 3) {
      for (int i = 0; i < len; i++) u[i] = (rnd_unit() - 0.5f) * 1e3f;
      REF->add(a, x, u, len), k->add(b, x, u, len);
      memcpy(b + 100, x, sizeof(float) * (size_t)len);
      k->add(b + 100, b + 100, u, len);
      if (memcmp(a, b, sizeof(float) * (size_t)len) || memcmp(a, b + 100, sizeof(float) * (size_t)len)) {
        fprintf(stderr, "  FAIL %s: %s add len %d\n", test_cur_name, k->name, len);
        test_cur_failed = 1;
        break;
      }
    }
    /* LayerNorm, with and without weight and bias, every tail length */
    static float ln[384], lw[800];
    for (int i = 0; i < 800; i++) lw[i] = rnd_unit() * 2.0f - 0.5f;
    for (int len = 384; len >= 377; len--) {
      for (int i = 0; i < len; i++) ln[i] = (rnd_unit() - 0.3f) * 8.0f;
      const float *wb = len % 2 ? lw : NULL, *bb = len % 3 ? lw + 400 : NULL;
      REF->layernorm(a, ln, wb, bb, len, 1e-12f), k->layernorm(b, ln, wb, bb, len, 1e-12f);
      for (int i = 0; i < len; i++)
        if (!(fabsf(a[i] - b[i]) <= 2e-6f * fabsf(a[i]) + 1e-6f)) {
          fprintf(stderr, "  FAIL %s: %s layernorm len %d [%d] %.9g vs %.9g\n", test_cur_name, k->name,
                  len, i, b[i], a[i]);
          test_cur_failed = 1;
          break;
        }
    }
    /* The residual step (h = h + bias + x, x = LayerNorm(h)): h the same
     * floats as the reference's adds, x within the LayerNorm's tolerance,
     * also when the row's mean is far from zero (the one-pass variance)
     * and with bias, weight and bias of the norm left out in turns. */
    static float rh[2][384], rx[2][384];
    for (int len = 384; len >= 366; len -= 2) {
      float offset = len % 4 ? 0.0f : 40.0f;
      for (int i = 0; i < len; i++) {
        rh[0][i] = rh[1][i] = (rnd_unit() - 0.5f) * 6.0f + offset;
        rx[0][i] = rx[1][i] = (rnd_unit() - 0.5f) * 2.0f;
      }
      if (len <= 368) /* one large value, a float step off in two places: E[h^2] - mean^2 < 0 */
        for (int i = 0; i < len; i++) {
          rh[0][i] = rh[1][i] = i == 5 ? nextafterf(777.7f, 1e9f) : i == 9 ? nextafterf(777.7f, 0) : 777.7f;
          rx[0][i] = rx[1][i] = 0.0f;
        }
      const float *bias = len % 3 ? lw + 200 : NULL, *wb = len % 5 ? lw : NULL, *bb = len % 7 ? lw + 400 : NULL;
      REF->residual_layernorm(rx[0], rh[0], bias, wb, bb, len, 1e-12f);
      k->residual_layernorm(rx[1], rh[1], bias, wb, bb, len, 1e-12f);
      if (memcmp(rh[0], rh[1], sizeof(float) * (size_t)len)) {
        fprintf(stderr, "  FAIL %s: %s residual_layernorm len %d: the sum row differs\n", test_cur_name,
                k->name, len);
        test_cur_failed = 1;
      }
      for (int i = 0; i < len; i++)
        if (!(fabsf(rx[0][i] - rx[1][i]) <= 2e-6f * fabsf(rx[0][i]) + 1e-6f)) {
          fprintf(stderr, "  FAIL %s: %s residual_layernorm len %d [%d] %.9g vs %.9g\n", test_cur_name,
                  k->name, len, i, rx[1][i], rx[0][i]);
          test_cur_failed = 1;
          break;
        }
    }
    /* SwiGLU over +-12 and the extremes where e^-g overflows */
    for (int i = 0; i < N; i++) u[i] = rnd_unit() * 4.0f - 2.0f;
    x[0] = -100.0f, x[1] = 100.0f, x[2] = -1e30f, x[3] = 1e30f, x[4] = 0.0f;
    for (int len = N; len >= N - 9; len -= 3) { /* every tail length */
      REF->swiglu(a, x, u, len), k->swiglu(b, x, u, len);
      for (int i = 0; i < len; i++)
        if (!(fabsf(a[i] - b[i]) <= 2e-6f * fabsf(a[i]) + 1e-30f)) {
          fprintf(stderr, "  FAIL %s: %s swiglu(%g, %g) %.9g vs %.9g\n", test_cur_name, k->name, x[i],
                  u[i], b[i], a[i]);
          test_cur_failed = 1;
          break;
        }
    }
    for (int len = 1; len <= N; len += 167) {
      memcpy(a, x, sizeof x), memcpy(b, x, sizeof x);
      REF->softmax(a, len), k->softmax(b, len);
      for (int i = 0; i < len; i++)
        if (!(fabsf(a[i] - b[i]) <= 1e-6f * a[i] + 1e-9f)) {
          fprintf(stderr, "  FAIL %s: %s softmax[%d] %.9g vs %.9g\n", test_cur_name, k->name, i, b[i], a[i]);
          test_cur_failed = 1;
          break;
        }
    }
  }
}

TEST(f32_helpers) {
  float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 2, 0.5f}, o[4];
  kern_rmsnorm(o, x, w, 4, 0.0f); /* rms = sqrt(7.5) */
  CHECK_F(o[0], 1.0f / sqrtf(7.5f));
  CHECK_F(o[2], 6.0f / sqrtf(7.5f));
  CHECK_F(o[3], 2.0f / sqrtf(7.5f));
  kern_layernorm(o, x, NULL, NULL, 4, 0.0f); /* mean 2.5, var 1.25 */
  CHECK_F(o[0], -1.5f / sqrtf(1.25f));
  CHECK_F(o[3], 1.5f / sqrtf(1.25f));
  float rh[4] = {0.0f, 1.0f, 1.0f, 2.0f}, rb[4] = {1.0f, 1.0f, 1.0f, 1.0f}, rx[4] = {0.0f, 0.0f, 1.0f, 1.0f};
  kern_residual_layernorm(rx, rh, rb, NULL, NULL, 4, 0.0f); /* h 1 2 3 4: mean 2.5, var 1.25 */
  CHECK_F(rh[2], 3.0f);
  CHECK_F(rx[0], -1.5f / sqrtf(1.25f));
  CHECK_F(rx[3], 1.5f / sqrtf(1.25f));
  float s[3] = {0.0f, logf(3.0f), -INFINITY};
  kern_softmax(s, 3);
  CHECK_F(s[0], 0.25f);
  CHECK_F(s[1], 0.75f);
  CHECK_F(s[2], 0.0f);
  float a[3] = {1.0f, -1.0f, 0.0f};
  kern_gelu(a, 3);
  CHECK(fabsf(a[0] - 0.8411920f) < 1e-6f);
  CHECK(fabsf(a[1] + 0.1588080f) < 1e-6f);
  CHECK_F(a[2], 0.0f);
  float e[2] = {1.0f, -2.0f};
  kern_gelu_erf(e, 2);
  CHECK(fabsf(e[0] - 0.8413447f) < 1e-6f);
  CHECK(fabsf(e[1] + 0.0455003f) < 1e-6f);
  float si[2] = {1.0f, 0.0f};
  kern_silu(si, 2);
  CHECK(fabsf(si[0] - 0.7310586f) < 1e-6f);
  float g[2] = {1.0f, 2.0f}, u[2] = {2.0f, 0.5f}, sw[2];
  kern_swiglu(sw, g, u, 2);
  CHECK(fabsf(sw[0] - 1.4621172f) < 1e-6f);
  kern_add(o, x, w, 4);
  CHECK_F(o[2], 5.0f);
  kern_mul(o, x, w, 4);
  CHECK_F(o[3], 2.0f);
  kern_scale(o, 2.0f, 4);
  CHECK_F(o[3], 4.0f);
  kern_axpy(o, x, 0.5f, 4);
  CHECK_F(o[3], 6.0f);
  CHECK_F(kern_dot_f32(x, w, 4), 1 + 2 + 6 + 2.0f);
}

TEST(rope) {
  /* 2 heads of 6 dims, rotate 4: pairs i = 0, 1 */
  float cs[4];
  kern_rope_cache(cs, 4, 1, 10000.0f, 1.0f, NULL);
  CHECK_F(cs[0], cosf(1.0f));
  CHECK_F(cs[1], sinf(1.0f));
  CHECK_F(cs[2], cosf(0.01f)); /* 10000^(-2/4) = 0.01 */
  CHECK_F(cs[3], sinf(0.01f));
  float x[12] = {1, 0, 1, 0, 7, 8, 0, 1, 0, 1, 7, 8};
  kern_rope(x, 2, 6, 4, cs, 0);
  CHECK_F(x[0], cosf(1.0f));
  CHECK_F(x[1], sinf(1.0f));
  CHECK_F(x[2], cosf(0.01f));
  CHECK_F(x[3], sinf(0.01f));
  CHECK_F(x[4], 7.0f); /* past n_rot: untouched */
  CHECK_F(x[5], 8.0f);
  CHECK_F(x[6], -sinf(1.0f)); /* (0, 1) rotated */
  CHECK_F(x[7], cosf(1.0f));
  /* NeoX pairs (0, 2) and (1, 3) */
  float y[6] = {1, 1, 0, 0, 5, 5};
  kern_rope(y, 1, 6, 4, cs, 1);
  CHECK_F(y[0], cosf(1.0f));
  CHECK_F(y[2], sinf(1.0f));
  CHECK_F(y[1], cosf(0.01f));
  CHECK_F(y[3], sinf(0.01f));
  CHECK_F(y[4], 5.0f);
  /* linear scaling and per-pair frequency factors */
  float ff[2] = {1.0f, 4.0f};
  kern_rope_cache(cs, 4, 8, 10000.0f, 0.25f, ff);
  CHECK_F(cs[1], sinf(2.0f));
  CHECK_F(cs[3], sinf(0.25f * (8 * 0.01f) / 4.0f));
  /* position 0 is the identity */
  kern_rope_cache(cs, 4, 0, 10000.0f, 1.0f, NULL);
  float z[4] = {1, 2, 3, 4};
  kern_rope(z, 1, 4, 4, cs, 0);
  CHECK_F(z[1], 2.0f);
  CHECK_F(z[3], 4.0f);
}

int main(void) {
  REF = kernels_for_isa(KERN_ISA_REF);
  RUN(f16_known_values);
  RUN(deq_plain_types);
  RUN(deq_q4_0_q4_1);
  RUN(deq_q5_0_q5_1);
  RUN(deq_q8_0_q8_K);
  RUN(deq_q4_K_q5_K);
  RUN(deq_q6_K);
  RUN(deq_q2_K_q3_K);
  RUN(quantize_error_bounds);
  RUN(quantize_q8_hand);
  RUN(simd_ref_self);
  RUN(simd_avx2);
  RUN(simd_avx512);
  RUN(f16_rows_avx2);
  RUN(f16_rows_avx512);
  RUN(matrices_ref);
  RUN(matrices_avx2);
  RUN(matrices_avx512);
  RUN(gemm_ref);
  RUN(gemm_avx2);
  RUN(gemm_avx512);
  RUN(cache_sizes);
  RUN(transpose);
  RUN(repack_ref);
  RUN(repack_avx2);
  RUN(repack_avx512);
  RUN(repack_amx);
  RUN(matmul_epilogue);
  RUN(matmul_stealing);
  RUN(rpx_row_avx2);
  RUN(rpx_row_avx512);
  RUN(attn_ref);
  RUN(attn_avx2);
  RUN(attn_avx512);
  RUN(matvec_selected);
  RUN(type_lookup);
  RUN(f32_helpers);
  RUN(softmax_gelu_paths);
  RUN(rope);
  return test_report("kernels");
}
