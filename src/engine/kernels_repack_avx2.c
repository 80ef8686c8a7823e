/* kernels_repack_avx2.c — products of repacked Q4_0/Q4_1 weights (repack.h)
 * with activation rows, on AVX2 (no VNNI).
 *
 * A group's 64-byte dword rows split into two ymm halves (rows 0-7, 8-15).
 * vpmaddubsw multiplies the unsigned nibbles by the broadcast signed
 * activation bytes into 16-bit pair sums; a block's eight such products fit
 * 16 bits (8 x 2 x 15 x 127 < 32768), so they are added as 16-bit lanes and
 * widened once per block with vpmaddwd. Nibbles are unpacked again for each
 * activation row (the loads hit L1): with 16 registers that costs less than
 * spilling. Q8_0 is not here: its unsigned (+128) bytes would saturate
 * vpmaddubsw, so on AVX2 it keeps the GGUF layout. An encoder's F32/F16
 * matrices are here too, as FMA tiles. */
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <string.h>

#include "kernels.h"
#include "repack_product.h"

#define NC_MAX 4 /* = the tile size product passes repack_product.h */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

#if defined(__SANITIZE_ADDRESS__)
#define HEARTH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEARTH_SANITIZED 1
#endif
#endif
#ifdef HEARTH_SANITIZED
#define UNROLL(n)
#else
#define UNROLL_(x) _Pragma(#x)
#define UNROLL(n) UNROLL_(GCC unroll n)
#endif

typedef rpx_view xrow;

static inline int32_t ld32(const void *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}
#define BX(p) _mm256_set1_epi32(ld32(p))

/* The int32 sums of 8 rows (half h of the group) for one block and one
 * activation row. */
ALWAYS_INLINE __m256i half_block(const uint8_t *q, int h, const int8_t *xb) {
  const __m256i low4 = _mm256_set1_epi8(15);
  __m256i s16 = _mm256_setzero_si256();
  UNROLL(4)
  for (int k = 0; k < 4; k++) {
    __m256i v = _mm256_load_si256((const __m256i *)(q + 64 * k + 32 * h));
    __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(lo, BX(xb + 4 * k)));
    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(hi, BX(xb + 16 + 4 * k)));
  }
  return _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
}

/* A row or two (decode steps): one pass over the group, both halves per
 * block, nibbles unpacked again for each row where they are used. */
ALWAYS_INLINE void group_product_1(tensor_type t, int nb, const uint8_t *qs, const xrow *x, int nc,
                                   float *Y, int ldy) {
  const uint16_t *dw = (const uint16_t *)(qs + (size_t)nb * 256);
  const uint16_t *mw = dw + (size_t)nb * 16;
  __m256 acc[NC_MAX][2];
  UNROLL(4)
  for (int j = 0; j < nc; j++) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
  for (int b = 0; b < nb; b++) {
    const uint8_t *q = qs + (size_t)b * 256;
    RP_PREFETCH_BLOCK(q, 256);
    UNROLL(2)
    for (int h = 0; h < 2; h++) {
      __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(dw + (size_t)b * 16 + 8 * h)));
      __m256 m = _mm256_setzero_ps();
      if (t == TT_Q4_1)
        m = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(mw + (size_t)b * 16 + 8 * h)));
      UNROLL(4)
      for (int j = 0; j < nc; j++) {
        __m256i s = half_block(q, h, x[j].qs + (size_t)b * 32);
        if (t == TT_Q4_0) s = _mm256_add_epi32(s, _mm256_set1_epi32(x[j].sum[b]));
        __m256 dd = _mm256_mul_ps(d, _mm256_set1_ps(x[j].d[b]));
        acc[j][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), dd, acc[j][h]);
        if (t == TT_Q4_1) acc[j][h] = _mm256_fmadd_ps(m, _mm256_set1_ps(x[j].s[b]), acc[j][h]);
      }
    }
  }
  UNROLL(4)
  for (int j = 0; j < nc; j++) {
    _mm256_storeu_ps(Y + (size_t)j * ldy, acc[j][0]);
    _mm256_storeu_ps(Y + (size_t)j * ldy + 8, acc[j][1]);
  }
}


/* One half (8 rows: h = 0 rows 0-7, 1 rows 8-15) of a group against nc
 * activation rows, into Y[j * ldy + 8h ..]. A block's nibbles are unpacked
 * once, four vectors at a time (the low ones, then the high ones), and
 * serve every row of the tile: with the half's 4 float sums, 4 16-bit
 * block sums and 4 weight vectors live, the loop fits 16 registers. */
ALWAYS_INLINE void half_product(tensor_type t, int nb, const uint8_t *qs, int h, const xrow *x,
                                int nc, float *Y, int ldy) {
  const uint16_t *dw = (const uint16_t *)(qs + (size_t)nb * 256);
  const uint16_t *mw = dw + (size_t)nb * 16;
  const __m256i low4 = _mm256_set1_epi8(15);
  __m256 acc[NC_MAX];
  UNROLL(4)
  for (int j = 0; j < nc; j++) acc[j] = _mm256_setzero_ps();
  for (int b = 0; b < nb; b++) {
    const uint8_t *q = qs + (size_t)b * 256 + 32 * h;
    if (h == 0) RP_PREFETCH_BLOCK(qs + (size_t)b * 256, 256);
    __m256i s16[NC_MAX], w[4];
    UNROLL(4)
    for (int k = 0; k < 4; k++) w[k] = _mm256_and_si256(_mm256_load_si256((const __m256i *)(q + 64 * k)), low4);
    UNROLL(4)
    for (int j = 0; j < nc; j++) {
      const int8_t *xb = x[j].qs + (size_t)b * 32;
      s16[j] = _mm256_maddubs_epi16(w[0], BX(xb));
      UNROLL(3)
      for (int k = 1; k < 4; k++) s16[j] = _mm256_add_epi16(s16[j], _mm256_maddubs_epi16(w[k], BX(xb + 4 * k)));
    }
    UNROLL(4)
    for (int k = 0; k < 4; k++)
      w[k] = _mm256_and_si256(_mm256_srli_epi16(_mm256_load_si256((const __m256i *)(q + 64 * k)), 4), low4);
    __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(dw + (size_t)b * 16 + 8 * h)));
    __m256 m = _mm256_setzero_ps();
    if (t == TT_Q4_1) m = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(mw + (size_t)b * 16 + 8 * h)));
    UNROLL(4)
    for (int j = 0; j < nc; j++) {
      const int8_t *xb = x[j].qs + (size_t)b * 32 + 16;
      UNROLL(4)
      for (int k = 0; k < 4; k++) s16[j] = _mm256_add_epi16(s16[j], _mm256_maddubs_epi16(w[k], BX(xb + 4 * k)));
      __m256i s = _mm256_madd_epi16(s16[j], _mm256_set1_epi16(1));
      if (t == TT_Q4_0) s = _mm256_add_epi32(s, _mm256_set1_epi32(x[j].sum[b]));
      __m256 dd = _mm256_mul_ps(d, _mm256_set1_ps(x[j].d[b]));
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), dd, acc[j]);
      if (t == TT_Q4_1) acc[j] = _mm256_fmadd_ps(m, _mm256_set1_ps(x[j].s[b]), acc[j]);
    }
  }
  UNROLL(4)
  for (int j = 0; j < nc; j++) _mm256_storeu_ps(Y + (size_t)j * ldy + 8 * h, acc[j]);
}

ALWAYS_INLINE void group_product(tensor_type t, int nb, const uint8_t *qs, const xrow *x, int nc,
                                 float *Y, int ldy) {
  if (nc <= 2) { /* decode-sized: one streaming pass (2 rows: 88-94 tok/s against 77-80) */
    group_product_1(t, nb, qs, x, nc, Y, ldy);
    return;
  }
  half_product(t, nb, qs, 0, x, nc, Y, ldy);
  half_product(t, nb, qs, 1, x, nc, Y, ldy); /* the group's bytes are in L1/L2 now */
}


/* One group against tiles of NC_MAX activation rows, the rest in one
 * smaller tile (repack_product.h). */
ALWAYS_INLINE void quant_tile(tensor_type t, int cols, const uint8_t *w, size_t gb, int G,
                              const xrow *x, int nc, float *y, int ldy) {
  (void)gb, (void)G;
  group_product(t, cols / 32, w, x, nc, y, ldy);
}
RP_DEFINE_PRODUCT(product, quant_tile, 4, NC_MAX * 8, 1, 0)

RP_DEFINE_ENTRY(product_q4_0, product, TT_Q4_0)
RP_DEFINE_ENTRY(product_q4_1, product, TT_Q4_1)

/* ---- F32 / F16 (encoders) -------------------------------------------------
 * Element k of a group's 16 rows is two ymm (rows 0-7, 8-15; F16 converted
 * on load); each activation row's x[k] broadcast feeds both. Up to 6 rows a
 * tile: 12 sums, 2 weight registers, the broadcast, within 16 registers. */
#define FLOAT_NC 6 /* = the tile size float_product passes repack_product.h */

ALWAYS_INLINE __m256 float_w8(tensor_type t, const uint8_t *w, size_t k, int h) {
  return t == TT_F32
             ? _mm256_load_ps((const float *)w + k * 16 + 8 * h)
             : _mm256_cvtph_ps(_mm_load_si128((const __m128i *)((const uint16_t *)w + k * 16 + 8 * h)));
}

ALWAYS_INLINE void float_tile(tensor_type t, int cols, const uint8_t *w, const xrow *x, int nc,
                              float *Y, int ldy) {
  __m256 acc[FLOAT_NC][2];
  UNROLL(6)
  for (int j = 0; j < nc; j++) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
  for (int k = 0; k < cols; k++) {
    __m256 w0 = float_w8(t, w, (size_t)k, 0), w1 = float_w8(t, w, (size_t)k, 1);
    UNROLL(6)
    for (int j = 0; j < nc; j++) {
      __m256 xv = _mm256_broadcast_ss(x[j].d + k);
      acc[j][0] = _mm256_fmadd_ps(w0, xv, acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(w1, xv, acc[j][1]);
    }
  }
  UNROLL(6)
  for (int j = 0; j < nc; j++) {
    _mm256_storeu_ps(Y + (size_t)j * ldy, acc[j][0]);
    _mm256_storeu_ps(Y + (size_t)j * ldy + 8, acc[j][1]);
  }
}

/* Groups against tiles of up to FLOAT_NC activation rows, as even as the
 * rows allow (repack_product.h). */
ALWAYS_INLINE void float_tile_g(tensor_type t, int cols, const uint8_t *w, size_t gb, int G,
                                const xrow *x, int nc, float *y, int ldy) {
  (void)gb, (void)G;
  float_tile(t, cols, w, x, nc, y, ldy);
}
RP_DEFINE_PRODUCT(float_product, float_tile_g, 6, FLOAT_NC * 16, 1, 1)

RP_DEFINE_ENTRY(product_f32, float_product, TT_F32)
RP_DEFINE_ENTRY(product_f16, float_product, TT_F16)

void kernels_fill_repack_avx2(kernel_table *t) {
  t->types[TT_F32].rp_matmul = product_f32;
  t->types[TT_F16].rp_matmul = product_f16;
  t->types[TT_Q4_0].rp_matmul = product_q4_0;
  t->types[TT_Q4_1].rp_matmul = product_q4_1;
}

#else /* built without the AVX2 flags */
#include "kernels.h"
void kernels_fill_repack_avx2(kernel_table *t) { (void)t; }
#endif
