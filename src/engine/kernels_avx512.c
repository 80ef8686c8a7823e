/* kernels_avx512.c — the AVX-512 path (F, BW, VL, DQ and VNNI; built with
 * those flags only for this file; kernels.c calls in here only after
 * cpu_has_avx512()). Starts from the AVX2 table and replaces what gains
 * from 512-bit registers; Q2_K/Q3_K and the activation quantizers stay
 * AVX2.
 *
 * 32-blocks: one block per ymm (AVX512-VL), integer dot with vpdpbusd
 * (unsigned bytes times signed bytes, four products summed into each int32,
 * no saturation). Signed weights go either through |q| and sign(y, q), or
 * are offset to unsigned (q + off) with the offset removed by a second
 * vpdpbusd of off against the activations:
 *   sum q*y = dpbusd(q + off, y) - dpbusd(off, y);
 * per type, whichever measured faster. Pairing two blocks per zmm was
 * tried and lost to the inserts and scale broadcasts it needs.
 * K-quants: 64 elements per zmm, vpmaddubsw (pairs; no overflow for these
 * ranges) then vpdpwssd with the per-group scales (vpermw from one register
 * of scales). Every integer equals the reference's. */
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__) && defined(__AVX512VNNI__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <math.h>

#include "kernels.h"
#include "kernels_rows.h"
#include "kernels_dot32.h"
#include "kernels_math_avx512.h"

static inline float h2f(uint16_t h) { return quant_f16_table[h]; }
static inline __m256i loadu256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
static inline __m512i loadu512(const void *p) { return _mm512_loadu_si512(p); }
static inline __m512i cat256(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
static inline uint32_t le32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline int hsum256_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

/* Software prefetch of the weight stream PF_DIST bytes ahead. The hardware
 * streamers stop at 4 KiB pages, so a kernel slower than DRAM otherwise
 * waits at every page start. Measured on this Xeon (1 thread, 1 GiB of
 * weights): Q4_0 matvec 5.7 -> 10.2 GB/s, Q4_K 8.6 -> 13.2 GB/s, with no
 * loss when the weights sit in cache. Rows are contiguous, so running past
 * a row's end prefetches the next row. */
#define PF_DIST 1024
static inline void pf_bytes(const void *p, size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch((const char *)p + PF_DIST + off, 0, 3);
}

/* ---- float rows ------------------------------------------------------------------ */

static float dot_f32(int n, const void *w, const void *x) {
  const float *a = w, *b = x;
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int i = 0;
  for (; i + 64 <= n; i += 64) {
    pf_bytes(a + i, 64 * sizeof *a);
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
  }
  for (; i < n; i += 16) { /* masked tail: no scalar loop */
    __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static inline __m512 ld_f16(__mmask16 m, const uint16_t *p) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
static inline __m512 ld_bf16(__mmask16 m, const uint16_t *p) {
  __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

#define DOT_HALF(name, LD)                                                           \
  static float name(int n, const void *w, const void *x) {                          \
    const uint16_t *a = w, *b = x;                                                  \
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;                      \
    int i = 0;                                                                      \
    for (; i + 64 <= n; i += 64) {                                                  \
      pf_bytes(a + i, 64 * sizeof *a);                                              \
      s0 = _mm512_fmadd_ps(LD(0xffff, a + i), LD(0xffff, b + i), s0);               \
      s1 = _mm512_fmadd_ps(LD(0xffff, a + i + 16), LD(0xffff, b + i + 16), s1);     \
      s2 = _mm512_fmadd_ps(LD(0xffff, a + i + 32), LD(0xffff, b + i + 32), s2);     \
      s3 = _mm512_fmadd_ps(LD(0xffff, a + i + 48), LD(0xffff, b + i + 48), s3);     \
    }                                                                               \
    for (; i < n; i += 16) {                                                        \
      __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);        \
      s0 = _mm512_fmadd_ps(LD(m, a + i), LD(m, b + i), s0);                         \
    }                                                                               \
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3))); \
  }
DOT_HALF(dot_f16, ld_f16)
DOT_HALF(dot_bf16, ld_bf16)

/* ---- 32-blocks ------------------------------------------------------------------------ */

/* One block per 256-bit register: the blocks are 32 bytes, and pairing two
 * into a zmm costs more in inserts and scale broadcasts than it saves. */
static inline __m256i nibbles32(const uint8_t *qs) {
  __m128i t = _mm_loadu_si128((const __m128i *)qs);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(15));
}

/* sum(q * y) per 4 bytes where u = q + off is the unsigned weight byte */
static inline __m256i dot_off(__m256i u, __m256i y, __m256i off) {
  const __m256i z = _mm256_setzero_si256();
  return _mm256_sub_epi32(_mm256_dpbusd_epi32(z, u, y), _mm256_dpbusd_epi32(z, off, y));
}

/* signed q times signed y (y never -128): |q| times y with q's sign */
static inline __m256i dot_s8s8(__m256i q, __m256i y) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q));
}

static inline __m256 step_q8_0(const block_q8_0 *a, const block_q8_0 *b, __m256 acc, float *summ) {
  (void)summ;
  __m256 d = _mm256_set1_ps(h2f(a->d) * h2f(b->d));
  return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_s8s8(loadu256(a->qs), loadu256(b->qs))), acc);
}

static inline __m256 step_q4_0(const block_q4_0 *a, const block_q8_0 *b, __m256 acc, float *summ) {
  (void)summ;
  __m256 d = _mm256_set1_ps(h2f(a->d) * h2f(b->d));
  __m256i q = _mm256_sub_epi8(nibbles32(a->qs), _mm256_set1_epi8(8));
  return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_s8s8(q, loadu256(b->qs))), acc);
}

static inline __m256 step_q4_1(const block_q4_1 *a, const block_q8_1 *b, __m256 acc, float *summ) {
  __m256 d = _mm256_set1_ps(h2f(a->d) * h2f(b->d));
  *summ = fmaf(h2f(a->m), h2f(b->s), *summ);
  __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), nibbles32(a->qs), loadu256(b->qs));
  return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
}

/* five-bit weights: 16 added to the bytes whose qh bit is set */
static inline __m256i q5_bytes(const uint8_t *qh, const uint8_t *qs) {
  __m256i q = nibbles32(qs);
  return _mm256_mask_add_epi8(q, (__mmask32)le32(qh), q, _mm256_set1_epi8(16));
}

static inline __m256 step_q5_0(const block_q5_0 *a, const block_q8_0 *b, __m256 acc, float *summ) {
  (void)summ;
  __m256 d = _mm256_set1_ps(h2f(a->d) * h2f(b->d));
  __m256i p = dot_off(q5_bytes(a->qh, a->qs), loadu256(b->qs), _mm256_set1_epi8(16));
  return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
}

static inline __m256 step_q5_1(const block_q5_1 *a, const block_q8_1 *b, __m256 acc, float *summ) {
  __m256 d = _mm256_set1_ps(h2f(a->d) * h2f(b->d));
  *summ = fmaf(h2f(a->m), h2f(b->s), *summ);
  __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q5_bytes(a->qh, a->qs), loadu256(b->qs));
  return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
}

static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

DOT32(dot_q8_0, block_q8_0, block_q8_0, step_q8_0, 0, hsum8)
DOT32(dot_q4_0, block_q4_0, block_q8_0, step_q4_0, 0, hsum8)
DOT32(dot_q4_1, block_q4_1, block_q8_1, step_q4_1, 1, hsum8)
DOT32(dot_q5_0, block_q5_0, block_q8_0, step_q5_0, 0, hsum8)
DOT32(dot_q5_1, block_q5_1, block_q8_1, step_q5_1, 1, hsum8)

/* ---- K-quants ----------------------------------------------------------------------------- */

/* Scales then mins of a Q4_K/Q5_K block as 16 bytes, built in registers
 * (through memory it would stall on store forwarding). */
static inline __m128i k4_scales_mins(const uint8_t *s) {
  uint32_t u0 = le32(s), u1 = le32(s + 4), u2 = le32(s + 8);
  return _mm_setr_epi32((int)(u0 & 0x3f3f3f3f), (int)((u2 & 0x0f0f0f0f) | ((u0 >> 2) & 0x30303030)),
                        (int)(u1 & 0x3f3f3f3f),
                        (int)(((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 2) & 0x30303030)));
}

/* 8 int32 lanes m[g] * (bsums[2g] + bsums[2g+1]) */
static inline __m256i k4_min_prod(__m128i sm, const int16_t *bsums) {
  return _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm)), loadu256(bsums));
}

/* word lane l of the result takes word (l / 16) + 2c of the 8 scales */
static inline __m512i k4_scale_idx(int c) {
  return cat256(_mm256_set1_epi16((short)(2 * c)), _mm256_set1_epi16((short)(2 * c + 1)));
}

/* The 64 nibbles of chunk c as bytes in element order: the 32 low nibbles
 * (group 2c) then the 32 high nibbles (group 2c+1). */
static inline __m512i chunk_nibbles(const uint8_t *q32) {
  __m512i q = _mm512_broadcast_i64x4(loadu256(q32));
  const __m512i shift = cat256(_mm256_setzero_si256(), _mm256_set1_epi16(4));
  return _mm512_and_si512(_mm512_srlv_epi16(q, shift), _mm512_set1_epi8(15));
}

static float dot_q4_K(int n, const void *w, const void *x) {
  const block_q4_K *a = w;
  const block_q8_K *b = x;
  __m512 acc = _mm512_setzero_ps();
  __m256 accm = _mm256_setzero_ps();
  for (int i = 0; i < n / QK_K; i++) {
    pf_bytes(a + i, sizeof *a);
    __m128i sm = k4_scales_mins(a[i].scales);
    accm = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * h2f(a[i].dmin)),
                           _mm256_cvtepi32_ps(k4_min_prod(sm, b[i].bsums)), accm);
    __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(sm));
    __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      __m512i p = _mm512_maddubs_epi16(chunk_nibbles(a[i].qs + 32 * c), loadu512(b[i].qs + 64 * c));
      isum = _mm512_dpwssd_epi32(isum, p, _mm512_permutexvar_epi16(k4_scale_idx(c), sc16));
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * h2f(a[i].d)), _mm512_cvtepi32_ps(isum), acc);
  }
  return _mm512_reduce_add_ps(acc) - hsum8(accm);
}

static float dot_q5_K(int n, const void *w, const void *x) {
  const block_q5_K *a = w;
  const block_q8_K *b = x;
  __m512 acc = _mm512_setzero_ps();
  __m256 accm = _mm256_setzero_ps();
  const __m512i b16 = _mm512_set1_epi8(16);
  for (int i = 0; i < n / QK_K; i++) {
    pf_bytes(a + i, sizeof *a);
    __m128i sm = k4_scales_mins(a[i].scales);
    accm = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * h2f(a[i].dmin)),
                           _mm256_cvtepi32_ps(k4_min_prod(sm, b[i].bsums)), accm);
    __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(sm));
    __m512i qh = _mm512_broadcast_i64x4(loadu256(a[i].qh));
    __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      /* group 2c takes bit 2c of qh[l], group 2c+1 bit 2c+1 */
      __m512i sel = cat256(_mm256_set1_epi8((char)(1 << (2 * c))), _mm256_set1_epi8((char)(2 << (2 * c))));
      __m512i q = chunk_nibbles(a[i].qs + 32 * c);
      q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(qh, sel), q, b16);
      __m512i p = _mm512_maddubs_epi16(q, loadu512(b[i].qs + 64 * c));
      isum = _mm512_dpwssd_epi32(isum, p, _mm512_permutexvar_epi16(k4_scale_idx(c), sc16));
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * h2f(a[i].d)), _mm512_cvtepi32_ps(isum), acc);
  }
  return _mm512_reduce_add_ps(acc) - hsum8(accm);
}

static float dot_q6_K(int n, const void *w, const void *x) {
  const block_q6_K *a = w;
  const block_q8_K *b = x;
  __m512 acc = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
  const __m512i shl = cat256(_mm256_set1_epi16(4), _mm256_set1_epi16(2));
  const __m512i shr = cat256(_mm256_setzero_si256(), _mm256_set1_epi16(2));
  /* word lane l of the scale vector takes scale (l / 8) + 4k */
  __m512i idx[4];
  for (int k = 0; k < 4; k++) {
    uint16_t v[32];
    for (int l = 0; l < 32; l++) v[l] = (uint16_t)(l / 8 + 4 * k);
    idx[k] = loadu512(v);
  }
  for (int i = 0; i < n / QK_K; i++) {
    pf_bytes(a + i, sizeof *a);
    __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a[i].scales));
    __m512i scz = _mm512_castsi256_si512(sc16);
    /* q - 32 done as q·y - 32 * sum(sc_g * bsums_g) */
    int off = 32 * hsum256_i32(_mm256_madd_epi16(sc16, loadu256(b[i].bsums)));
    __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      __m512i ql = loadu512(a[i].ql + 64 * h);
      __m512i qh = _mm512_broadcast_i64x4(loadu256(a[i].qh + 32 * h));
      /* A: elements 0..63 of the half, B: elements 64..127 */
      __m512i A = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                  _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m30));
      __m512i B = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                  _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m30));
      const int8_t *y = b[i].qs + 128 * h;
      __m512i pA = _mm512_maddubs_epi16(A, loadu512(y));
      __m512i pB = _mm512_maddubs_epi16(B, loadu512(y + 64));
      isum = _mm512_dpwssd_epi32(isum, pA, _mm512_permutexvar_epi16(idx[2 * h], scz));
      isum = _mm512_dpwssd_epi32(isum, pB, _mm512_permutexvar_epi16(idx[2 * h + 1], scz));
    }
    isum = _mm512_mask_sub_epi32(isum, 1, isum, _mm512_set1_epi32(off)); /* lane 0 only */
    acc = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * h2f(a[i].d)), _mm512_cvtepi32_ps(isum), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

/* ---- four activation rows per weight row (prefill) ------------------------------------ */

/* Only Q4_K has one: measured with 32 activation rows, sharing the decode
 * gained ~10% for Q4_K and nothing (or a loss) for Q4_0/Q8_0, whose decode
 * is too cheap to matter, so those go through vec_dot 4 times. */
#define X4(p, k) ((const void *)((const uint8_t *)(p) + (size_t)(k) * x_stride))

static void dot4_q4_K(int n, const void *w, const void *x, size_t x_stride, float out[4]) {
  const block_q4_K *a = w;
  const block_q8_K *bk[4] = {X4(x, 0), X4(x, 1), X4(x, 2), X4(x, 3)};
  __m512 acc[4];
  __m256 accm[4];
  for (int k = 0; k < 4; k++) acc[k] = _mm512_setzero_ps(), accm[k] = _mm256_setzero_ps();
  for (int i = 0; i < n / QK_K; i++) {
    pf_bytes(a + i, sizeof *a);
    __m128i sm = k4_scales_mins(a[i].scales);
    __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(sm));
    float d = h2f(a[i].d), dmin = h2f(a[i].dmin);
    __m512i isum[4];
    for (int k = 0; k < 4; k++) isum[k] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      __m512i q = chunk_nibbles(a[i].qs + 32 * c);
      __m512i s = _mm512_permutexvar_epi16(k4_scale_idx(c), sc16);
      for (int k = 0; k < 4; k++)
        isum[k] = _mm512_dpwssd_epi32(isum[k], _mm512_maddubs_epi16(q, loadu512(bk[k][i].qs + 64 * c)), s);
    }
    for (int k = 0; k < 4; k++) {
      accm[k] = _mm256_fmadd_ps(_mm256_set1_ps(bk[k][i].d * dmin),
                                _mm256_cvtepi32_ps(k4_min_prod(sm, bk[k][i].bsums)), accm[k]);
      acc[k] = _mm512_fmadd_ps(_mm512_set1_ps(bk[k][i].d * d), _mm512_cvtepi32_ps(isum[k]), acc[k]);
    }
  }
  for (int k = 0; k < 4; k++) out[k] = _mm512_reduce_add_ps(acc[k]) - hsum8(accm[k]);
}

/* ---- conversions ------------------------------------------------------------------------- */

static void f32_to_f16_row(const float *src, uint16_t *dst, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256((__m256i *)(dst + i), _mm512_cvtps_ph(_mm512_loadu_ps(src + i), 0));
  for (; i < n; i++) dst[i] = _cvtss_sh(src[i], 0);
}

static void f16_to_f32_row(const uint16_t *src, float *dst, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, ld_f16(0xffff, src + i));
  for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}

/* ---- attention over F16 rows ---------------------------------------------------------- */

/* Lane p of the result is the sum of the 16 lanes of v[p]: halves, then
 * quarters, then a 4x4 transpose-add inside each 128-bit lane, which leaves
 * position 4e + L at lane 4L + e; one permute puts it in order. */
static inline __m512 hsum16(const __m512 *v) {
  __m512 t[8], u[4];
  for (int i = 0; i < 8; i++)
    t[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  for (int k = 0; k < 4; k++)
    u[k] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * k], t[2 * k + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(t[2 * k], t[2 * k + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  __m512 x01 = _mm512_add_ps(_mm512_unpacklo_ps(u[0], u[1]), _mm512_unpackhi_ps(u[0], u[1]));
  __m512 x23 = _mm512_add_ps(_mm512_unpacklo_ps(u[2], u[3]), _mm512_unpackhi_ps(u[2], u[3]));
  __m512d a = _mm512_castps_pd(x01), b = _mm512_castps_pd(x23);
  __m512 y = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                           _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(idx, y);
}

/* 16 rows at a time: per row one zmm of partial sums along the row, then
 * one transposed reduction for all 16. */
static void f16_dots_avx512(float *out, const uint16_t *rows, size_t stride, int n_rows,
                            const uint16_t *q, int n, float scale) {
  const __m512 sc = _mm512_set1_ps(scale);
  for (int p0 = 0; p0 < n_rows; p0 += 16) {
    int np = n_rows - p0 < 16 ? n_rows - p0 : 16;
    /* a short last block repeats its first row (always 16 rows: registers) */
    const uint16_t *r[16];
    for (int p = 0; p < 16; p++) r[p] = rows + (size_t)(p0 + (p < np ? p : 0)) * stride;
    __m512 v[16];
#pragma GCC unroll 16
    for (int p = 0; p < 16; p++) v[p] = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) {
      __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
      __m512 qv = ld_f16(m, q + i);
#pragma GCC unroll 16
      for (int p = 0; p < 16; p++) v[p] = _mm512_fmadd_ps(ld_f16(m, r[p] + i), qv, v[p]);
    }
    __mmask16 mp = np == 16 ? 0xffff : (__mmask16)((1u << np) - 1);
    _mm512_mask_storeu_ps(out + p0, mp, _mm512_mul_ps(hsum16(v), sc));
  }
}

/* Up to 128 outputs in registers, two sets of accumulators (even and odd
 * rows) to hide the FMA latency. */
static void f16_wsum_avx512(float *out, const uint16_t *rows, size_t stride, int n_rows,
                            const float *w, int n) {
  for (int i0 = 0; i0 < n; i0 += 128) {
    int nv = (n - i0 + 15) / 16 < 8 ? (n - i0 + 15) / 16 : 8;
    __mmask16 mask[8];
    __m512 a[8], b[8];
    for (int k = 0; k < 8; k++) {
      int left = n - i0 - 16 * k;
      mask[k] = left >= 16 ? 0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
      a[k] = b[k] = _mm512_setzero_ps();
    }
    const uint16_t *r = rows + i0;
    int p = 0;
    for (; p + 2 <= n_rows; p += 2, r += 2 * stride) {
      __m512 w0 = _mm512_set1_ps(w[p]), w1 = _mm512_set1_ps(w[p + 1]);
      for (int k = 0; k < nv; k++) {
        a[k] = _mm512_fmadd_ps(w0, ld_f16(mask[k], r + 16 * k), a[k]);
        b[k] = _mm512_fmadd_ps(w1, ld_f16(mask[k], r + stride + 16 * k), b[k]);
      }
    }
    if (p < n_rows) {
      __m512 w0 = _mm512_set1_ps(w[p]);
      for (int k = 0; k < nv; k++) a[k] = _mm512_fmadd_ps(w0, ld_f16(mask[k], r + 16 * k), a[k]);
    }
    for (int k = 0; k < nv; k++) _mm512_mask_storeu_ps(out + i0 + 16 * k, mask[k], _mm512_add_ps(a[k], b[k]));
  }
}

/* Several queries over the same rows: 16 rows at a time are converted to
 * f32 once (into L1), then each query runs over them. Rows up to 256
 * elements; longer ones go query by query. */
#define NQ_MAX_N 256
static void f16_dots_nq_avx512(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                               int n_rows, const uint16_t *q, size_t q_stride, int nq, int n,
                               float scale) {
  if (n > NQ_MAX_N) {
    for (int g = 0; g < nq; g++)
      f16_dots_avx512(out + (size_t)g * out_stride, rows, stride, n_rows, q + (size_t)g * q_stride, n, scale);
    return;
  }
  float kf[16][NQ_MAX_N] __attribute__((aligned(64)));
  const __m512 sc = _mm512_set1_ps(scale);
  for (int p0 = 0; p0 < n_rows; p0 += 16) {
    int np = n_rows - p0 < 16 ? n_rows - p0 : 16;
    for (int p = 0; p < 16; p++) {
      const uint16_t *r = rows + (size_t)(p0 + (p < np ? p : 0)) * stride;
      for (int i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        _mm512_store_ps(kf[p] + i, ld_f16(m, r + i));
      }
    }
    __mmask16 mp = np == 16 ? 0xffff : (__mmask16)((1u << np) - 1);
    for (int g = 0; g < nq; g++) {
      const uint16_t *qg = q + (size_t)g * q_stride;
      __m512 v[16];
#pragma GCC unroll 16
      for (int p = 0; p < 16; p++) v[p] = _mm512_setzero_ps();
      for (int i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 qv = ld_f16(m, qg + i);
#pragma GCC unroll 16
        for (int p = 0; p < 16; p++) v[p] = _mm512_fmadd_ps(_mm512_load_ps(kf[p] + i), qv, v[p]);
      }
      _mm512_mask_storeu_ps(out + (size_t)g * out_stride + p0, mp, _mm512_mul_ps(hsum16(v), sc));
    }
  }
}

/* NQ queries x 64 outputs in registers; each row's 64 halves converted
 * once for all NQ. */
static inline __attribute__((always_inline)) void wsum_nq_block(float *out, size_t out_stride,
                                                                const uint16_t *rows, size_t stride,
                                                                int n_rows, const float *w,
                                                                size_t w_stride, int NQ, int i0, int n) {
  __mmask16 mask[4];
  for (int c = 0; c < 4; c++) {
    int left = n - i0 - 16 * c;
    mask[c] = left >= 16 ? 0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
  }
  __m512 acc[4][4];
#pragma GCC unroll 4
  for (int g = 0; g < NQ; g++)
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) acc[g][c] = _mm512_setzero_ps();
  const uint16_t *r = rows + i0;
  for (int p = 0; p < n_rows; p++, r += stride) {
    __m512 vv[4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) vv[c] = ld_f16(mask[c], r + 16 * c);
#pragma GCC unroll 4
    for (int g = 0; g < NQ; g++) {
      __m512 wb = _mm512_set1_ps(w[(size_t)g * w_stride + p]);
#pragma GCC unroll 4
      for (int c = 0; c < 4; c++) acc[g][c] = _mm512_fmadd_ps(wb, vv[c], acc[g][c]);
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < NQ; g++)
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) _mm512_mask_storeu_ps(out + (size_t)g * out_stride + i0 + 16 * c, mask[c], acc[g][c]);
}

static void f16_wsum_nq_avx512(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                               int n_rows, const float *w, size_t w_stride, int nq, int n) {
  for (int g0 = 0; g0 < nq; g0 += 4) {
    int ng = nq - g0 < 4 ? nq - g0 : 4;
    float *o = out + (size_t)g0 * out_stride;
    const float *wg = w + (size_t)g0 * w_stride;
    for (int i0 = 0; i0 < n; i0 += 64) {
      switch (ng) {
      case 1: wsum_nq_block(o, out_stride, rows, stride, n_rows, wg, w_stride, 1, i0, n); break;
      case 2: wsum_nq_block(o, out_stride, rows, stride, n_rows, wg, w_stride, 2, i0, n); break;
      case 3: wsum_nq_block(o, out_stride, rows, stride, n_rows, wg, w_stride, 3, i0, n); break;
      default: wsum_nq_block(o, out_stride, rows, stride, n_rows, wg, w_stride, 4, i0, n); break;
      }
    }
  }
}

/* SwiGLU: silu(gate) * up, silu(g) = g * sigmoid(g) with sigmoid from
 * t = e^-|g| (never overflows): 1 / (1 + t) for g >= 0, t / (1 + t) below. */
static void swiglu_avx512(float *out, const float *gate, const float *up, int n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
    __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    __m512 t = exp_neg(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(g)));
    __mmask16 pos = _mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_GE_OQ);
    __m512 sig = _mm512_div_ps(_mm512_mask_blend_ps(pos, t, one), _mm512_add_ps(one, t));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_mul_ps(g, sig), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

/* Softmax over a row: max, e^x with the vector above, the sum in double;
 * round_f16 also rounds each probability to half precision (attention
 * weights as llama.cpp hands them to F16 values). The max runs on four
 * chains, and the sum adds four vectors in float (each lane 4 values,
 * relative error <= 2^-23) before widening to double: one max chain and a
 * widening per vector made a 512-key attention row cost ~20% more. */
static inline __attribute__((always_inline)) void softmax_row(float *x, int n, bool round_f16) {
  const __m512 ninf = _mm512_set1_ps(-INFINITY);
  __m512 mx[4] = {ninf, ninf, ninf, ninf};
  int i = 0;
  for (; i + 64 <= n; i += 64)
    for (int u = 0; u < 4; u++) mx[u] = _mm512_max_ps(mx[u], _mm512_loadu_ps(x + i + 16 * u));
  for (; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
    mx[0] = _mm512_max_ps(mx[0], _mm512_mask_loadu_ps(ninf, m, x + i));
  }
  float max = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(mx[0], mx[1]), _mm512_max_ps(mx[2], mx[3])));
  if (max == -INFINITY) {
    memset(x, 0, sizeof(float) * (size_t)n);
    return;
  }
  const __m512 vmax = _mm512_set1_ps(max);
  __m512d s0 = _mm512_setzero_pd(), s1 = s0;
  i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512 e[4];
    for (int u = 0; u < 4; u++) {
      e[u] = exp_neg(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16 * u), vmax));
      _mm512_storeu_ps(x + i + 16 * u, e[u]);
    }
    __m512 f = _mm512_add_ps(_mm512_add_ps(e[0], e[1]), _mm512_add_ps(e[2], e[3]));
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(f)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))));
  }
  for (; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
    __m512 e = _mm512_maskz_mov_ps(m, exp_neg(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmax)));
    _mm512_mask_storeu_ps(x + i, m, e);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
  }
  const __m512 inv = _mm512_set1_ps((float)(1.0 / _mm512_reduce_add_pd(_mm512_add_pd(s0, s1))));
  for (i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
    __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv);
    if (round_f16) p = _mm512_cvtph_ps(_mm512_cvtps_ph(p, 0));
    _mm512_mask_storeu_ps(x + i, m, p);
  }
}

static void softmax_f16_avx512(float *x, int n) { softmax_row(x, n, true); }
/* an encoder's attention row: the reference's steps with the vector e^x */
static void softmax_avx512(float *x, int n) { softmax_row(x, n, false); }

/* GELU, erf form (kernels_math_avx512.h). */
static void gelu_erf_avx512(float *x, int n) {
  for (int i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(x + i, m, gelu_erf_ps(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

/* ---- llama numerics (kernels.h; the statement is kernels_ref.c's) ------------------ */

/* GCC's _mm512_reduce_add_ps, spelled out so any compiler keeps the order. */
static inline float reduce16(__m512 v) {
  __m256 h = _mm256_add_ps(_mm512_extractf32x8_ps(v, 1), _mm512_castps512_ps256(v));
  __m128 q = _mm_add_ps(_mm256_extractf128_ps(h, 1), _mm256_castps256_ps128(h));
  __m128 t = _mm_add_ps(q, _mm_shuffle_ps(q, q, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

/* The same reduction for 16 vectors at once, lane by lane: v[l] holds
 * lane l of 16 independent sums (one per output); returns the 16 sums. */
static inline __m512 reduce16_lanes(const __m512 *v) {
  __m512 h[8], q[4];
  for (int l = 0; l < 8; l++) h[l] = _mm512_add_ps(v[l + 8], v[l]);
  for (int l = 0; l < 4; l++) q[l] = _mm512_add_ps(h[l + 4], h[l]);
  return _mm512_add_ps(_mm512_add_ps(q[0], q[2]), _mm512_add_ps(q[1], q[3]));
}

/* ggml_v_expf (AVX-512): see expf_llama in kernels_ref.c. */
static inline __m512 expf_llama16(__m512 x) {
  const __m512 r = _mm512_set1_ps(0x1.8p23f);
  const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
  const __m512 n = _mm512_sub_ps(z, r);
  const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                    _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
  const __mmask16 big = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192), _CMP_GT_OQ);
  const __m512 u = _mm512_mul_ps(b, b);
  const __m512 j = _mm512_fmadd_ps(
      _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                      _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
      u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
  const __m512 res = _mm512_scalef_ps(j, n);
  if (!big) return res;
  const __mmask16 neg = _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ);
  const __m512 alt = _mm512_mask_blend_ps(neg, _mm512_set1_ps(INFINITY), _mm512_setzero_ps());
  return _mm512_mask_blend_ps(big, res, alt);
}

static void softmax_f16_llama(float *x, int n) {
  __m512 mx = _mm512_set1_ps(-INFINITY);
  for (int i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
    mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m, x + i));
  }
  const float max = _mm512_reduce_max_ps(mx); /* a max: any order */
  if (max == -INFINITY) {
    memset(x, 0, sizeof(float) * (size_t)n);
    return;
  }
  const __m512 vmax = _mm512_set1_ps(max);
  double sum = 0;
  for (int i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
    __m512 e = _mm512_maskz_mov_ps(m, expf_llama16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmax)));
    _mm512_mask_storeu_ps(x + i, m, e);
    sum += (double)reduce16(e);
  }
  const __m512 inv = _mm512_set1_ps((float)(1.0 / sum));
  for (int i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
    __m256i h = _mm512_cvtps_ph(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv), 0);
    _mm512_mask_storeu_ps(x + i, m, _mm512_cvtph_ps(h));
  }
}

static void swiglu_llama(float *out, const float *gate, const float *up, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 g = _mm512_loadu_ps(gate + i);
    __m512 e = expf_llama16(_mm512_sub_ps(_mm512_setzero_ps(), g));
    __m512 s = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    _mm512_storeu_ps(out + i, _mm512_mul_ps(s, _mm512_loadu_ps(up + i)));
  }
  for (; i < n; i++) {
    float s = gate[i] / (1.0f + expf(-gate[i]));
    out[i] = s * up[i];
  }
}

/* Scores of one-token steps, ggml_vec_dot_f16's order: per position the
 * 64-element steps into 4 accumulators, folded (0+2)+(1+3) into one zmm;
 * 16 positions are then reduced together. Elements past the last 64 in
 * double, per position. */
static void scores_vec(float *out, const uint16_t *rows, size_t stride, int n_rows,
                       const uint16_t *q, int n, float scale) {
  const int np = n & ~63;
  for (int p0 = 0; p0 < n_rows; p0 += 16) {
    int cnt = n_rows - p0 < 16 ? n_rows - p0 : 16;
    __m512 f[16];
    for (int p = 0; p < 16; p++) {
      const uint16_t *r = rows + (size_t)(p0 + (p < cnt ? p : 0)) * stride;
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int i = 0; i < np; i += 64) {
        a0 = _mm512_fmadd_ps(ld_f16(0xffff, r + i), ld_f16(0xffff, q + i), a0);
        a1 = _mm512_fmadd_ps(ld_f16(0xffff, r + i + 16), ld_f16(0xffff, q + i + 16), a1);
        a2 = _mm512_fmadd_ps(ld_f16(0xffff, r + i + 32), ld_f16(0xffff, q + i + 32), a2);
        a3 = _mm512_fmadd_ps(ld_f16(0xffff, r + i + 48), ld_f16(0xffff, q + i + 48), a3);
      }
      f[p] = _mm512_add_ps(_mm512_add_ps(a0, a2), _mm512_add_ps(a1, a3));
    }
    __m512 sums = hsum16(f); /* = reduce16 of each f[p] (same pairings) */
    float tmp[16];
    _mm512_storeu_ps(tmp, sums);
    for (int p = 0; p < cnt; p++) {
      float d = tmp[p];
      if (np < n) {
        const uint16_t *r = rows + (size_t)(p0 + p) * stride;
        double s = d;
        for (int i = np; i < n; i++) s += (double)(_cvtsh_ss(r[i]) * _cvtsh_ss(q[i]));
        d = (float)s;
      }
      out[p0 + p] = d * scale;
    }
  }
}

static void attn_scores_llama(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                              int n_rows, const uint16_t *q, size_t q_stride, int nq, int n,
                              float scale, int one) {
  if (one || n % 16) {
    for (int g = 0; g < nq; g++)
      scores_vec(out + (size_t)g * out_stride, rows, stride, n_rows, q + (size_t)g * q_stride, n, scale);
    return;
  }
  /* tinyBLAS: one FMA chain per lane from zero, then the reduction; the
   * fast kernel computes exactly that (hsum16 pairs lanes as reduce16). */
  f16_dots_nq_avx512(out, out_stride, rows, stride, n_rows, q, q_stride, nq, n, scale);
}

/* Values of several-token steps, tinyBLAS's order: lane l of output i
 * chains over positions l, l + 16, ...; 16 outputs (one zmm per lane) at
 * a time. */
static void values_tiny(float *out, const uint16_t *rows, size_t stride, int n_rows,
                        const float *w, int n) {
  for (int i0 = 0; i0 < n; i0 += 16) {
    __mmask16 m = n - i0 >= 16 ? 0xffff : (__mmask16)((1u << (n - i0)) - 1);
    __m512 a[16];
    for (int l = 0; l < 16; l++) a[l] = _mm512_setzero_ps();
    int e = 0;
    for (; e + 16 <= n_rows; e += 16) {
#pragma GCC unroll 16
      for (int l = 0; l < 16; l++)
        a[l] = _mm512_fmadd_ps(ld_f16(m, rows + (size_t)(e + l) * stride + i0), _mm512_set1_ps(w[e + l]), a[l]);
    }
    for (int l = 0; e + l < n_rows; l++)
      a[l] = _mm512_fmadd_ps(ld_f16(m, rows + (size_t)(e + l) * stride + i0), _mm512_set1_ps(w[e + l]), a[l]);
    _mm512_mask_storeu_ps(out + i0, m, reduce16_lanes(a));
  }
}

/* Values of one-token steps, ggml_vec_dot_f16's order over n_kv cells:
 * output i has 64 chains (position mod 64) up to the last whole 64 of
 * n_kv; each chain runs alone over every output, into S, then S folds and
 * reduces lane-wise; positions past that add in double. */
#define VAL_MAX_N 256
static void values_vec(float *out, const uint16_t *rows, size_t stride, int n_rows,
                       const float *w, int n, int n_kv) {
  const int np = n_kv & ~63, lim = np < n_rows ? np : n_rows;
  for (int i0 = 0; i0 < n; i0 += VAL_MAX_N) {
    const int nn = n - i0 < VAL_MAX_N ? n - i0 : VAL_MAX_N, nv = (nn + 15) / 16;
    float S[64][VAL_MAX_N] __attribute__((aligned(64)));
    __mmask16 mk[VAL_MAX_N / 16];
    for (int v = 0; v < nv; v++) {
      int left = nn - 16 * v;
      mk[v] = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
    }
    for (int L = 0; L < 64; L++) {
      for (int v = 0; v < nv; v++) {
        __m512 acc = _mm512_setzero_ps();
        for (int e = L; e < lim; e += 64)
          acc = _mm512_fmadd_ps(ld_f16(mk[v], rows + (size_t)e * stride + i0 + 16 * v), _mm512_set1_ps(w[e]), acc);
        _mm512_store_ps(S[L] + 16 * v, acc);
      }
    }
    for (int v = 0; v < nv; v++) {
      __m512 f[16];
      for (int l = 0; l < 16; l++) {
        __m512 s0 = _mm512_add_ps(_mm512_load_ps(S[l] + 16 * v), _mm512_load_ps(S[32 + l] + 16 * v));
        __m512 s1 = _mm512_add_ps(_mm512_load_ps(S[16 + l] + 16 * v), _mm512_load_ps(S[48 + l] + 16 * v));
        f[l] = _mm512_add_ps(s0, s1);
      }
      __m512 r = reduce16_lanes(f);
      if (lim < n_rows) { /* the rest in double, lane by lane */
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(r));
        __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(r, 1));
        for (int e = lim; e < n_rows; e++) {
          __m512 p = _mm512_mul_ps(ld_f16(mk[v], rows + (size_t)e * stride + i0 + 16 * v), _mm512_set1_ps(w[e]));
          lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
          hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 1)));
        }
        r = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
      }
      _mm512_mask_storeu_ps(out + i0 + 16 * v, mk[v], r);
    }
  }
}

static void attn_values_llama(float *out, size_t out_stride, const uint16_t *rows, size_t stride,
                              int n_rows, const float *w, size_t w_stride, int nq, int n, int n_kv) {
  for (int g = 0; g < nq; g++) {
    float *o = out + (size_t)g * out_stride;
    const float *wg = w + (size_t)g * w_stride;
    if (n_kv) values_vec(o, rows, stride, n_rows, wg, n, n_kv);
    else values_tiny(o, rows, stride, n_rows, wg, n);
  }
}

void kernels_fill_llama_avx512(kernel_table *t) {
  t->types[TT_Q8_0].vec_dot = dot_q8_0_llama;
  t->types[TT_Q4_0].vec_dot = dot_q4_0_llama;
  t->types[TT_Q4_1].vec_dot = dot_q4_1_llama;
  t->types[TT_Q5_0].vec_dot = dot_q5_0_llama;
  t->types[TT_Q5_1].vec_dot = dot_q5_1_llama;
  t->softmax_f16 = softmax_f16_llama;
  t->swiglu = swiglu_llama;
  t->attn_scores = attn_scores_llama;
  t->attn_values = attn_values_llama;
}

/* kern_residual_layernorm, 16 lanes (see the AVX2 one) */
static void residual_layernorm_avx512(float *x, float *h, const float *bias, const float *w,
                                      const float *b, int n, float eps) {
  __m512d s0 = _mm512_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
  double k = kern_rln_shift(x, h, bias);
  __m512d vk = _mm512_set1_pd(k);
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(h + i);
    if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + i));
    v = _mm512_add_ps(v, _mm512_loadu_ps(x + i));
    _mm512_storeu_ps(h + i, v);
    __m512d lo = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), vk),
            hi = _mm512_sub_pd(
                _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), vk);
    s0 = _mm512_add_pd(s0, lo);
    s1 = _mm512_add_pd(s1, hi);
    q0 = _mm512_fmadd_pd(lo, lo, q0);
    q1 = _mm512_fmadd_pd(hi, hi, q1);
  }
  double sum = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1)), sq = _mm512_reduce_add_pd(_mm512_add_pd(q0, q1));
  kern_rln_sum_tail(x, h, bias, i, n, k, &sum, &sq);
  float m, scale;
  kern_rln_stats(sum, sq, n, k, eps, &m, &scale);
  __m512 vm = _mm512_set1_ps(m), vs = _mm512_set1_ps(scale);
  for (i = 0; i + 16 <= n; i += 16) {
    __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(h + i), vm), vs);
    if (w) v = _mm512_mul_ps(v, _mm512_loadu_ps(w + i));
    if (b) v = _mm512_add_ps(v, _mm512_loadu_ps(b + i));
    _mm512_storeu_ps(x + i, v);
  }
  kern_rln_out_tail(x, h, w, b, i, n, m, scale);
}

/* bf3_split_rows, 16 values at a time: the parts rounded to nearest in the
 * integer lanes as bf3_round does, narrowed to 16 bits by vpmovdw. */
static inline __m512i bf3_round16(__m512 x) {
  __m512i u = _mm512_castps_si512(x);
  __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  return _mm512_and_si512(_mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF))),
                          _mm512_set1_epi32((int)0xFFFF0000u));
}
static void bf3_split_rows_avx512(const float *X, size_t x_stride, int n, int cols, void *dst) {
  uint16_t *out = dst;
  int nkb = cols / BF3_K, ntb = (n + BF3_ROWS - 1) / BF3_ROWS;
  const size_t part = BF3_TILE / 2; /* uint16 apart */
  for (int tb = 0; tb < ntb; tb++)
    for (int m = 0; m < BF3_ROWS; m++) {
      int j = tb * BF3_ROWS + m;
      const float *x = j < n ? (const float *)((const char *)X + (size_t)j * x_stride) : NULL;
      uint16_t *t = out + (size_t)tb * nkb * 3 * part + (size_t)m * BF3_K;
      for (int k = 0; k < cols; k += 16, t += k % BF3_K ? 16 : 3 * part - 16) {
        if (!x) {
          for (int p = 0; p < 3; p++) _mm256_storeu_si256((__m256i *)(t + p * part), _mm256_setzero_si256());
          continue;
        }
        __m512 v = _mm512_loadu_ps(x + k);
        __m512i hi = bf3_round16(v);
        __m512 r = _mm512_sub_ps(v, _mm512_castsi512_ps(hi));
        __m512i mid = bf3_round16(r);
        __m512i lo = bf3_round16(_mm512_sub_ps(r, _mm512_castsi512_ps(mid)));
        _mm256_storeu_si256((__m256i *)t, _mm512_cvtepi32_epi16(_mm512_srli_epi32(hi, 16)));
        _mm256_storeu_si256((__m256i *)(t + part), _mm512_cvtepi32_epi16(_mm512_srli_epi32(mid, 16)));
        _mm256_storeu_si256((__m256i *)(t + 2 * part), _mm512_cvtepi32_epi16(_mm512_srli_epi32(lo, 16)));
      }
    }
}

void kernels_fill_avx512(kernel_table *t) {
  t->bf3_split_rows = bf3_split_rows_avx512;
  t->residual_layernorm = residual_layernorm_avx512;
  t->softmax = softmax_avx512;
  t->gelu_erf = gelu_erf_avx512;
  t->swiglu = swiglu_avx512;
  t->softmax_f16 = softmax_f16_avx512;
  t->f16_dots_nq = f16_dots_nq_avx512;
  t->f16_wsum_nq = f16_wsum_nq_avx512;
  t->f16_dots = f16_dots_avx512;
  t->f16_wsum = f16_wsum_avx512;
  t->isa = KERN_ISA_AVX512;
  t->name = "avx512";
  t->types[TT_F32].vec_dot = dot_f32;
  t->types[TT_F16].vec_dot = dot_f16;
  t->types[TT_BF16].vec_dot = dot_bf16;
  t->types[TT_Q8_0].vec_dot = dot_q8_0;
  t->types[TT_Q4_0].vec_dot = dot_q4_0;
  t->types[TT_Q4_1].vec_dot = dot_q4_1;
  t->types[TT_Q5_0].vec_dot = dot_q5_0;
  t->types[TT_Q5_1].vec_dot = dot_q5_1;
  t->types[TT_Q4_K].vec_dot = dot_q4_K;
  t->types[TT_Q5_K].vec_dot = dot_q5_K;
  t->types[TT_Q6_K].vec_dot = dot_q6_K;
  t->types[TT_Q4_K].vec_dot4 = dot4_q4_K;
  t->f32_to_f16 = f32_to_f16_row;
  t->f16_to_f32 = f16_to_f32_row;
}

#else /* built without the AVX-512 flags */
#include "kernels.h"
void kernels_fill_avx512(kernel_table *t) { (void)t; }
void kernels_fill_llama_avx512(kernel_table *t) { (void)t; }
#endif
