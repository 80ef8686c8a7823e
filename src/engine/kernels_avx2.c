/* kernels_avx2.c — the AVX2 + FMA + F16C path (built with those flags only
 * for this file; kernels.c calls in here only after cpu_has_avx2()).
 *
 * Integer dot products use the classic AVX2 idiom: vpmaddubsw multiplies
 * unsigned by signed bytes into 16-bit pair sums, vpmaddwd widens to 32
 * bits (optionally times a per-group scale). Signed weight bytes go through
 * |w| and sign(x, w) first. No sum overflows: the largest pair sum is
 * 2 * 128 * 127 for Q8_0 and 2 * 63 * 128 for Q6_K, both below 32767.
 * Every integer here equals the reference's; only the order of float
 * additions differs. */
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <math.h>

#include "kernels.h"
#include "kernels_rows.h"
#include "kernels_dot32.h"
#include "kernels_math_avx2.h"

/* ---- helpers --------------------------------------------------------------- */

static inline float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

static inline float h2f(uint16_t h) { return quant_f16_table[h]; }

static inline __m256i loadu(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* unsigned bytes u times signed bytes s, summed in fours into 8 int32 */
static inline __m256i dot_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* signed bytes a times signed bytes b (b never -128), summed into 8 int32 */
static inline __m256i dot_s8s8(__m256i a, __m256i b) {
  return dot_u8s8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

/* 16 packed bytes -> 32 nibbles: low nibbles (elements 0..15) then high. */
static inline __m256i nibbles32(const uint8_t *qs) {
  __m128i t = _mm_loadu_si128((const __m128i *)qs);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(15));
}

/* bit k of bits -> byte k is 0xff or 0 */
static inline __m256i bits_to_bytes(uint32_t bits) {
  __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
                                  _mm256_setr_epi64x(0, 0x0101010101010101LL, 0x0202020202020202LL,
                                                     0x0303030303030303LL));
  const __m256i bm = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
  return _mm256_cmpeq_epi8(_mm256_and_si256(v, bm), bm);
}

static inline uint32_t le32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
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

/* ---- float rows ---------------------------------------------------------------- */

static float dot_f32(int n, const void *w, const void *x) {
  const float *a = w, *b = x;
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    pf_bytes(a + i, 32 * sizeof *a);
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

static inline __m256 ld_f16(const uint16_t *p) {
  return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
static inline __m256 ld_bf16(const uint16_t *p) {
  __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

#define DOT_HALF(name, LD, CONV)                                                          \
  static float name(int n, const void *w, const void *x) {                               \
    const uint16_t *a = w, *b = x;                                                       \
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;                           \
    int i = 0;                                                                           \
    for (; i + 32 <= n; i += 32) {                                                       \
      pf_bytes(a + i, 32 * sizeof *a);                                                   \
      s0 = _mm256_fmadd_ps(LD(a + i), LD(b + i), s0);                                    \
      s1 = _mm256_fmadd_ps(LD(a + i + 8), LD(b + i + 8), s1);                            \
      s2 = _mm256_fmadd_ps(LD(a + i + 16), LD(b + i + 16), s2);                          \
      s3 = _mm256_fmadd_ps(LD(a + i + 24), LD(b + i + 24), s3);                          \
    }                                                                                    \
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(LD(a + i), LD(b + i), s0);           \
    float s = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));      \
    for (; i < n; i++) s += CONV(a[i]) * CONV(b[i]);                                     \
    return s;                                                                            \
  }
DOT_HALF(dot_f16, ld_f16, h2f)
DOT_HALF(dot_bf16, ld_bf16, quant_bf16_to_f32)

/* ---- 32-blocks ------------------------------------------------------------------- */

/* One block's contribution, folded into acc (and the "+ m" term into *summ
 * for Q4_1/Q5_1). The loops run two independent accumulators: one block
 * costs less than the 4-cycle latency of the FMA that ends it; the _llama
 * loops one, in ggml's order (kernels.h, "Numerics"). */
static inline __m256 step_q8_0(const block_q8_0 *a, const block_q8_0 *b, __m256 acc, float *summ) {
  (void)summ;
  __m256 d = _mm256_set1_ps(h2f(a->d) * h2f(b->d));
  return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_s8s8(loadu(a->qs), loadu(b->qs))), acc);
}

static inline __m256 step_q4_0(const block_q4_0 *a, const block_q8_0 *b, __m256 acc, float *summ) {
  (void)summ;
  __m256 d = _mm256_set1_ps(h2f(a->d) * h2f(b->d));
  __m256i q = _mm256_sub_epi8(nibbles32(a->qs), _mm256_set1_epi8(8));
  return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_s8s8(q, loadu(b->qs))), acc);
}

static inline __m256 step_q4_1(const block_q4_1 *a, const block_q8_1 *b, __m256 acc, float *summ) {
  __m256 d = _mm256_set1_ps(h2f(a->d) * h2f(b->d));
  *summ = fmaf(h2f(a->m), h2f(b->s), *summ);
  return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_u8s8(nibbles32(a->qs), loadu(b->qs))), acc);
}

static inline __m256 step_q5_0(const block_q5_0 *a, const block_q8_0 *b, __m256 acc, float *summ) {
  (void)summ;
  __m256 d = _mm256_set1_ps(h2f(a->d) * h2f(b->d));
  /* q - 16: bytes whose high bit is clear get 0xf0 ORed in (= nibble - 16) */
  __m256i hb = _mm256_andnot_si256(bits_to_bytes(le32(a->qh)), _mm256_set1_epi8((char)0xf0));
  __m256i q = _mm256_or_si256(nibbles32(a->qs), hb);
  return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_s8s8(q, loadu(b->qs))), acc);
}

static inline __m256 step_q5_1(const block_q5_1 *a, const block_q8_1 *b, __m256 acc, float *summ) {
  __m256 d = _mm256_set1_ps(h2f(a->d) * h2f(b->d));
  *summ = fmaf(h2f(a->m), h2f(b->s), *summ);
  __m256i hb = _mm256_and_si256(bits_to_bytes(le32(a->qh)), _mm256_set1_epi8(0x10));
  __m256i q = _mm256_or_si256(nibbles32(a->qs), hb);
  return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_u8s8(q, loadu(b->qs))), acc);
}

DOT32(dot_q8_0, block_q8_0, block_q8_0, step_q8_0, 0, hsum_ps)
DOT32(dot_q4_0, block_q4_0, block_q8_0, step_q4_0, 0, hsum_ps)
DOT32(dot_q4_1, block_q4_1, block_q8_1, step_q4_1, 1, hsum_ps)
DOT32(dot_q5_0, block_q5_0, block_q8_0, step_q5_0, 0, hsum_ps)
DOT32(dot_q5_1, block_q5_1, block_q8_1, step_q5_1, 1, hsum_ps)

/* ---- K-quants ---------------------------------------------------------------------- */

/* The 8 six-bit scales and 8 mins of a Q4_K/Q5_K block as 16 bytes
 * sc0..sc7, m0..m7, built in registers (going through memory here costs a
 * store-forwarding stall: two 4-byte stores read back as one 8-byte load). */
static inline __m128i k4_scales_mins(const uint8_t *s) {
  uint32_t u0 = le32(s), u1 = le32(s + 4), u2 = le32(s + 8);
  return _mm_setr_epi32((int)(u0 & 0x3f3f3f3f), (int)((u2 & 0x0f0f0f0f) | ((u0 >> 2) & 0x30303030)),
                        (int)(u1 & 0x3f3f3f3f),
                        (int)(((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 2) & 0x30303030)));
}

/* 8 int32 lanes m[g] * (bsums[2g] + bsums[2g+1]): the mins (bytes 8..15 of
 * sm), doubled to 16 words, meet the 16 bsums in one vpmaddwd. */
static inline __m256i k4_min_prod(__m128i sm, const int16_t *bsums) {
  return _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm)), loadu(bsums));
}

/* The 8 scales as words in both 128-bit lanes, for vpshufb broadcasts. */
static inline __m256i k4_scales16(__m128i sm) {
  return _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
}

/* vpshufb controls broadcasting word k (0..7) of each 128-bit lane; loaded
 * from memory, where building them would cost shuffle-port work. */
static const uint8_t word_bcast[8][32] __attribute__((aligned(32))) = {
#define W(k) {2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, \
              2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, \
              2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, \
              2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1}
    W(0), W(1), W(2), W(3), W(4), W(5), W(6), W(7)
#undef W
};
static inline __m256i word_bcast_ctrl(int k) {
  return _mm256_load_si256((const __m256i *)word_bcast[k]);
}

static float dot_q4_K(int n, const void *w, const void *x) {
  const block_q4_K *a = w;
  const block_q8_K *b = x;
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(15);
  for (int i = 0; i < n / QK_K; i++) {
    pf_bytes(a + i, sizeof *a);
    __m128i sm = k4_scales_mins(a[i].scales);
    accm = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * h2f(a[i].dmin)),
                           _mm256_cvtepi32_ps(k4_min_prod(sm, b[i].bsums)), accm);
    __m256i sc16 = k4_scales16(sm);
    __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      __m256i q = loadu(a[i].qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      __m256i plo = _mm256_maddubs_epi16(lo, loadu(b[i].qs + 64 * c));
      __m256i phi = _mm256_maddubs_epi16(hi, loadu(b[i].qs + 64 * c + 32));
      plo = _mm256_madd_epi16(plo, _mm256_shuffle_epi8(sc16, word_bcast_ctrl(2 * c)));
      phi = _mm256_madd_epi16(phi, _mm256_shuffle_epi8(sc16, word_bcast_ctrl(2 * c + 1)));
      isum = _mm256_add_epi32(isum, _mm256_add_epi32(plo, phi));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * h2f(a[i].d)), _mm256_cvtepi32_ps(isum), acc);
  }
  return hsum_ps(_mm256_sub_ps(acc, accm));
}

static float dot_q5_K(int n, const void *w, const void *x) {
  const block_q5_K *a = w;
  const block_q8_K *b = x;
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(15), b4 = _mm256_set1_epi8(0x10);
  for (int i = 0; i < n / QK_K; i++) {
    pf_bytes(a + i, sizeof *a);
    __m128i sm = k4_scales_mins(a[i].scales);
    accm = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * h2f(a[i].dmin)),
                           _mm256_cvtepi32_ps(k4_min_prod(sm, b[i].bsums)), accm);
    __m256i sc16 = k4_scales16(sm);
    __m256i isum = _mm256_setzero_si256();
    __m256i hb = loadu(a[i].qh);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      __m256i q = loadu(a[i].qs + 32 * c);
      /* bits 0 and 1 of hb are this chunk's fifth bits (hb shifts by 2 per
       * chunk; bits leaking across bytes land above bit 1) */
      __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4),
                                   _mm256_and_si256(_mm256_slli_epi16(hb, 4), b4));
      __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                   _mm256_and_si256(_mm256_slli_epi16(hb, 3), b4));
      hb = _mm256_srli_epi16(hb, 2);
      __m256i plo = _mm256_maddubs_epi16(lo, loadu(b[i].qs + 64 * c));
      __m256i phi = _mm256_maddubs_epi16(hi, loadu(b[i].qs + 64 * c + 32));
      plo = _mm256_madd_epi16(plo, _mm256_shuffle_epi8(sc16, word_bcast_ctrl(2 * c)));
      phi = _mm256_madd_epi16(phi, _mm256_shuffle_epi8(sc16, word_bcast_ctrl(2 * c + 1)));
      isum = _mm256_add_epi32(isum, _mm256_add_epi32(plo, phi));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * h2f(a[i].d)), _mm256_cvtepi32_ps(isum), acc);
  }
  return hsum_ps(_mm256_sub_ps(acc, accm));
}
/* 16 int16 lanes: the first 8 scale s0, the last 8 scale s1 */
static inline __m256i scale_pair(int s0, int s1) {
  return _mm256_set_m128i(_mm_set1_epi16((short)s1), _mm_set1_epi16((short)s0));
}

static float dot_q6_K(int n, const void *w, const void *x) {
  const block_q6_K *a = w;
  const block_q8_K *b = x;
  __m256 acc = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30);
  for (int i = 0; i < n / QK_K; i++) {
    pf_bytes(a + i, sizeof *a);
    const int8_t *sc = a[i].scales;
    /* q - 32 done as q·y - 32 * sum(sc_g * bsums_g) */
    __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));
    __m256i isum = _mm256_sub_epi32(_mm256_setzero_si256(),
                                    _mm256_slli_epi32(_mm256_madd_epi16(sc16, loadu(b[i].bsums)), 5));
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const uint8_t *ql = a[i].ql + 64 * h;
      const int8_t *y = b[i].qs + 128 * h;
      __m256i l0 = loadu(ql), l1 = loadu(ql + 32), qh = loadu(a[i].qh + 32 * h);
      __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, m4),
                                   _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
      __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                   _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
      __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                   _mm256_and_si256(qh, m30));
      __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
      const int8_t *s = sc + 8 * h;
      __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(q0, loadu(y)), scale_pair(s[0], s[1]));
      __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(q1, loadu(y + 32)), scale_pair(s[2], s[3]));
      __m256i p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(q2, loadu(y + 64)), scale_pair(s[4], s[5]));
      __m256i p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(q3, loadu(y + 96)), scale_pair(s[6], s[7]));
      isum = _mm256_add_epi32(isum, _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * h2f(a[i].d)), _mm256_cvtepi32_ps(isum), acc);
  }
  return hsum_ps(acc);
}

/* vpshufb controls for 16 words of scales held as 8 per 128-bit lane (both
 * lanes equal): control j puts word 2j in the low lane's 8 words and word
 * 2j+1 in the high lane's, matching vpmaddubsw's output for groups (2j,
 * 2j+1) of 16 elements. */
static const uint8_t pair_bcast[4][32] __attribute__((aligned(32))) = {
#define P(j) {4 * j, 4 * j + 1, 4 * j, 4 * j + 1, 4 * j, 4 * j + 1, 4 * j, 4 * j + 1,         \
              4 * j, 4 * j + 1, 4 * j, 4 * j + 1, 4 * j, 4 * j + 1, 4 * j, 4 * j + 1,         \
              4 * j + 2, 4 * j + 3, 4 * j + 2, 4 * j + 3, 4 * j + 2, 4 * j + 3, 4 * j + 2, 4 * j + 3, \
              4 * j + 2, 4 * j + 3, 4 * j + 2, 4 * j + 3, 4 * j + 2, 4 * j + 3, 4 * j + 2, 4 * j + 3}
    P(0), P(1), P(2), P(3)
#undef P
};
static inline __m256i pair_scales(__m256i sc, int j) {
  return _mm256_shuffle_epi8(sc, _mm256_load_si256((const __m256i *)pair_bcast[j]));
}

static float dot_q2_K(int n, const void *w, const void *x) {
  const block_q2_K *a = w;
  const block_q8_K *b = x;
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  const __m256i m3 = _mm256_set1_epi8(3);
  for (int i = 0; i < n / QK_K; i++) {
    pf_bytes(a + i, sizeof *a);
    __m128i sc8 = _mm_loadu_si128((const __m128i *)a[i].scales);
    __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), _mm_set1_epi8(15)));
    accm = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * h2f(a[i].dmin)),
                           _mm256_cvtepi32_ps(_mm256_madd_epi16(mins, loadu(b[i].bsums))), accm);
    __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(sc8, _mm_set1_epi8(15)));
    __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      /* groups 8h..8h+7 sit in lane h of sc16: copy it to both lanes */
      __m256i sch = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11)
                      : _mm256_permute2x128_si256(sc16, sc16, 0x00);
      __m256i q = loadu(a[i].qs + 32 * h);
#pragma GCC unroll 4
      for (int s = 0; s < 4; s++) {
        __m256i v = _mm256_and_si256(_mm256_srli_epi16(q, 2 * s), m3);
        __m256i p = _mm256_maddubs_epi16(v, loadu(b[i].qs + 128 * h + 32 * s));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, pair_scales(sch, s)));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * h2f(a[i].d)), _mm256_cvtepi32_ps(isum), acc);
  }
  return hsum_ps(_mm256_sub_ps(acc, accm));
}

/* The 16 signed Q3_K scales (s_g - 32) as bytes, unpacked in registers. */
static inline __m128i k3_scales(const uint8_t *s) {
  uint32_t a0 = le32(s), a1 = le32(s + 4), t = le32(s + 8);
  const uint32_t lo = 0x0f0f0f0f, hi = 0x03030303;
  __m128i v = _mm_setr_epi32((int)((a0 & lo) | (t & hi) << 4), (int)((a1 & lo) | ((t >> 2) & hi) << 4),
                             (int)(((a0 >> 4) & lo) | ((t >> 4) & hi) << 4),
                             (int)(((a1 >> 4) & lo) | ((t >> 6) & hi) << 4));
  return _mm_sub_epi8(v, _mm_set1_epi8(32));
}

static float dot_q3_K(int n, const void *w, const void *x) {
  const block_q3_K *a = w;
  const block_q8_K *b = x;
  __m256 acc = _mm256_setzero_ps();
  const __m256i m3 = _mm256_set1_epi8(3), b2 = _mm256_set1_epi8(4);
  for (int i = 0; i < n / QK_K; i++) {
    pf_bytes(a + i, sizeof *a);
    __m256i sc16 = _mm256_cvtepi8_epi16(k3_scales(a[i].scales));
    /* value = q3 - 4 with q3 = low2 | hbit << 2 in 0..7 */
    __m256i isum = _mm256_sub_epi32(_mm256_setzero_si256(),
                                    _mm256_slli_epi32(_mm256_madd_epi16(sc16, loadu(b[i].bsums)), 2));
    /* bit 0 of each byte of hm is the next high bit (hm shifts by 1 per
     * 32 elements; bits leaking across bytes arrive from the top) */
    __m256i hm = loadu(a[i].hmask);
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      __m256i sch = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11)
                      : _mm256_permute2x128_si256(sc16, sc16, 0x00);
      __m256i q = loadu(a[i].qs + 32 * h);
#pragma GCC unroll 4
      for (int s = 0; s < 4; s++) {
        __m256i v = _mm256_and_si256(_mm256_srli_epi16(q, 2 * s), m3);
        v = _mm256_or_si256(v, _mm256_and_si256(_mm256_slli_epi16(hm, 2), b2));
        hm = _mm256_srli_epi16(hm, 1);
        __m256i p = _mm256_maddubs_epi16(v, loadu(b[i].qs + 128 * h + 32 * s));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, pair_scales(sch, s)));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * h2f(a[i].d)), _mm256_cvtepi32_ps(isum), acc);
  }
  return hsum_ps(acc);
}
/* ---- four activation rows per weight row (prefill) ------------------------------ */

/* Only Q4_K has one: measured with 32 activation rows, sharing the decode
 * gained ~10% for Q4_K and nothing (or a loss) for Q4_0/Q8_0, whose decode
 * is too cheap to matter, so those go through vec_dot 4 times. */
#define X4(p, k) ((const void *)((const uint8_t *)(p) + (size_t)(k) * x_stride))

static void dot4_q4_K(int n, const void *w, const void *x, size_t x_stride, float out[4]) {
  const block_q4_K *a = w;
  const block_q8_K *b[4] = {X4(x, 0), X4(x, 1), X4(x, 2), X4(x, 3)};
  __m256 acc[4], accm[4];
  for (int k = 0; k < 4; k++) acc[k] = accm[k] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(15);
  for (int i = 0; i < n / QK_K; i++) {
    pf_bytes(a + i, sizeof *a);
    __m128i sm = k4_scales_mins(a[i].scales);
    __m256i sc16 = k4_scales16(sm);
    float d = h2f(a[i].d), dmin = h2f(a[i].dmin);
    __m256i isum[4];
    for (int k = 0; k < 4; k++) isum[k] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      __m256i q = loadu(a[i].qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      __m256i s0 = _mm256_shuffle_epi8(sc16, word_bcast_ctrl(2 * c));
      __m256i s1 = _mm256_shuffle_epi8(sc16, word_bcast_ctrl(2 * c + 1));
      for (int k = 0; k < 4; k++) {
        __m256i plo = _mm256_maddubs_epi16(lo, loadu(b[k][i].qs + 64 * c));
        __m256i phi = _mm256_maddubs_epi16(hi, loadu(b[k][i].qs + 64 * c + 32));
        isum[k] = _mm256_add_epi32(isum[k], _mm256_add_epi32(_mm256_madd_epi16(plo, s0),
                                                             _mm256_madd_epi16(phi, s1)));
      }
    }
    for (int k = 0; k < 4; k++) {
      accm[k] = _mm256_fmadd_ps(_mm256_set1_ps(b[k][i].d * dmin),
                                _mm256_cvtepi32_ps(k4_min_prod(sm, b[k][i].bsums)), accm[k]);
      acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(b[k][i].d * d), _mm256_cvtepi32_ps(isum[k]), acc[k]);
    }
  }
  for (int k = 0; k < 4; k++) out[k] = hsum_ps(_mm256_sub_ps(acc[k], accm[k]));
}

/* ---- conversions --------------------------------------------------------------------- */

/* 32 floats (4 vectors, already scaled and rounded) -> 32 int8 in order */
static inline __m256i pack32(__m256i i0, __m256i i1, __m256i i2, __m256i i3) {
  __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static inline float block_absmax(const float *x, int n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int j = 0; j < n; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

#define RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

static inline __m256i round8(const float *x, __m256 mul) {
  return _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x), mul), RNE));
}

static void from_float_q8_0(const float *src, void *dst, int n) {
  block_q8_0 *b = dst;
  for (int i = 0; i < n / QK32; i++, src += QK32) {
    float amax = block_absmax(src, QK32);
    b[i].d = quant_f32_to_f16(amax / 127.0f);
    __m256 mul = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
    __m256i q = pack32(round8(src, mul), round8(src + 8, mul), round8(src + 16, mul),
                       round8(src + 24, mul));
    _mm256_storeu_si256((__m256i *)b[i].qs, q);
  }
}

static void from_float_q8_1(const float *src, void *dst, int n) {
  block_q8_1 *b = dst;
  for (int i = 0; i < n / QK32; i++, src += QK32) {
    float amax = block_absmax(src, QK32), d = amax / 127.0f;
    __m256 mul = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
    __m256i i0 = round8(src, mul), i1 = round8(src + 8, mul), i2 = round8(src + 16, mul),
            i3 = round8(src + 24, mul);
    int sum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
    _mm256_storeu_si256((__m256i *)b[i].qs, pack32(i0, i1, i2, i3));
    b[i].d = quant_f32_to_f16(d);
    b[i].s = quant_f32_to_f16(d * (float)sum);
  }
}

static inline double hsum_pd(__m256d v) {
  __m128d h = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

/* LayerNorm with the reference's double sums, four lanes at a time (the
 * reference's one sequential double add per element is latency-bound:
 * ~4 cycles each, serial between an encoder's products). */
static void layernorm_avx2(float *out, const float *x, const float *w, const float *b, int n,
                           float eps) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
  }
  double sum = hsum_pd(_mm256_add_pd(s0, s1));
  for (; i < n; i++) sum += x[i];
  float mean = (float)(sum / n);
  __m256 vm = _mm256_set1_ps(mean);
  s0 = s1 = _mm256_setzero_pd();
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 v = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    s0 = _mm256_fmadd_pd(lo, lo, s0);
    s1 = _mm256_fmadd_pd(hi, hi, s1);
  }
  double var = hsum_pd(_mm256_add_pd(s0, s1));
  for (; i < n; i++) {
    float v = x[i] - mean;
    var += (double)v * v;
  }
  float scale = 1.0f / sqrtf((float)(var / n) + eps);
  __m256 vs = _mm256_set1_ps(scale);
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vs);
    if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + i));
    if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + i));
    _mm256_storeu_ps(out + i, v);
  }
  for (; i < n; i++) {
    float v = (x[i] - mean) * scale;
    if (w) v *= w[i];
    if (b) v += b[i];
    out[i] = v;
  }
}

/* An activation row for repacked Q4_0/Q8_0 (Q8_0 blocks) or Q4_1 (Q8_1)
 * weights (repack.h) in one pass: the same numbers as from_float_q8_0/_q8_1
 * block by block plus the repack fields, without a call per block. */
static void rpx_row_avx2(tensor_type t, const float *x, void *dst, int cols) {
  int nb = cols / QK32;
  rpx_view v = rpx_view_of(dst, cols);
  float *d = (float *)v.d, *s = (float *)v.s;
  int32_t *sum = (int32_t *)v.sum;
  int8_t *qs = (int8_t *)v.qs;
  int mul_sum = t == TT_Q4_0 ? -8 : t == TT_Q8_0 ? -128 : 0;
  for (int b = 0; b < nb; b++, x += QK32) {
    float amax = block_absmax(x, QK32), db = amax / 127.0f;
    __m256 mul = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
    __m256i i0 = round8(x, mul), i1 = round8(x + 8, mul), i2 = round8(x + 16, mul),
            i3 = round8(x + 24, mul);
    int bsum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
    _mm256_storeu_si256((__m256i *)(qs + (size_t)b * QK32), pack32(i0, i1, i2, i3));
    __m128 ds = _mm_setr_ps(db, db * (float)bsum, 0, 0);
    __m128 dr = _mm_cvtph_ps(_mm_cvtps_ph(ds, _MM_FROUND_TO_NEAREST_INT)); /* through F16 */
    d[b] = _mm_cvtss_f32(dr);
    if (t == TT_Q4_1) {
      s[b] = _mm_cvtss_f32(_mm_movehdup_ps(dr));
      sum[b] = 0;
    } else {
      s[b] = 0;
      sum[b] = bsum * mul_sum;
    }
  }
}

static void from_float_q8_K(const float *src, void *dst, int n) {
  block_q8_K *b = dst;
  for (int i = 0; i < n / QK_K; i++, src += QK_K) {
    float amax = block_absmax(src, QK_K);
    if (amax == 0.0f) {
      memset(&b[i], 0, sizeof b[i]);
      continue;
    }
    int j = 0; /* the first element of that magnitude gives the sign */
    while (j < QK_K - 1 && fabsf(src[j]) != amax) j++; /* bounded: NaN input */
    float iscale = -127.0f / src[j];
    __m256 mul = _mm256_set1_ps(iscale);
    for (int k = 0; k < QK_K; k += 32) {
      __m256i i0 = round8(src + k, mul), i1 = round8(src + k + 8, mul);
      __m256i i2 = round8(src + k + 16, mul), i3 = round8(src + k + 24, mul);
      _mm256_storeu_si256((__m256i *)(b[i].qs + k), pack32(i0, i1, i2, i3));
      b[i].bsums[k / 16] = (int16_t)hsum_i32(_mm256_add_epi32(i0, i1));
      b[i].bsums[k / 16 + 1] = (int16_t)hsum_i32(_mm256_add_epi32(i2, i3));
    }
    b[i].d = 1.0f / iscale;
  }
}

static void f32_to_f16_row(const float *src, uint16_t *dst, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), 0));
  for (; i < n; i++) dst[i] = _cvtss_sh(src[i], 0);
}

static void f16_to_f32_row(const uint16_t *src, float *dst, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, ld_f16(src + i));
  for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}

static void from_float_f16(const float *src, void *dst, int n) { f32_to_f16_row(src, dst, n); }
static void to_float_f16(const void *src, float *dst, int n) { f16_to_f32_row(src, dst, n); }

static void to_float_q8_0(const void *src, float *dst, int n) {
  const block_q8_0 *b = src;
  for (int i = 0; i < n / QK32; i++, dst += QK32) {
    __m256 d = _mm256_set1_ps(h2f(b[i].d));
    for (int k = 0; k < 32; k += 8) {
      __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b[i].qs + k)));
      _mm256_storeu_ps(dst + k, _mm256_mul_ps(d, _mm256_cvtepi32_ps(q)));
    }
  }
}

static void to_float_q4_0(const void *src, float *dst, int n) {
  const block_q4_0 *b = src;
  for (int i = 0; i < n / QK32; i++, dst += QK32) {
    __m256 d = _mm256_set1_ps(h2f(b[i].d));
    __m256i q = _mm256_sub_epi8(nibbles32(b[i].qs), _mm256_set1_epi8(8));
    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int k = 0; k < 4; k++)
      _mm256_storeu_ps(dst + 8 * k, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[k]))));
  }
}

/* ---- attention over F16 rows ------------------------------------------------------------ */

/* Four rows at a time, each with its partial sums along the row in one ymm,
 * reduced together. */
static inline __m128 hsum4x8(__m256 a, __m256 b, __m256 c, __m256 d) {
  __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d); /* per lane: a01 a23 b01 b23 | ... */
  __m256 s = _mm256_hadd_ps(ab, cd);                           /* per lane: a b c d */
  return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

static void f16_dots_avx2(float *out, const uint16_t *rows, size_t stride, int n_rows,
                          const uint16_t *q, int n, float scale) {
  const int n8 = n & ~7;
  int p = 0;
  for (; p + 4 <= n_rows; p += 4) {
    const uint16_t *r0 = rows + (size_t)p * stride, *r1 = r0 + stride, *r2 = r1 + stride,
                   *r3 = r2 + stride;
    __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
    for (int i = 0; i < n8; i += 8) {
      __m256 qv = ld_f16(q + i);
      a = _mm256_fmadd_ps(ld_f16(r0 + i), qv, a);
      b = _mm256_fmadd_ps(ld_f16(r1 + i), qv, b);
      c = _mm256_fmadd_ps(ld_f16(r2 + i), qv, c);
      d = _mm256_fmadd_ps(ld_f16(r3 + i), qv, d);
    }
    __m128 s = hsum4x8(a, b, c, d);
    if (n8 < n) {
      float t[4];
      _mm_storeu_ps(t, s);
      for (int i = n8; i < n; i++) {
        float qi = h2f(q[i]);
        t[0] += h2f(r0[i]) * qi, t[1] += h2f(r1[i]) * qi, t[2] += h2f(r2[i]) * qi, t[3] += h2f(r3[i]) * qi;
      }
      s = _mm_loadu_ps(t);
    }
    _mm_storeu_ps(out + p, _mm_mul_ps(s, _mm_set1_ps(scale)));
  }
  for (; p < n_rows; p++) out[p] = dot_f16(n, rows + (size_t)p * stride, q) * scale;
}

static void f16_wsum_avx2(float *out, const uint16_t *rows, size_t stride, int n_rows,
                          const float *w, int n) {
  const int n8 = n & ~7;
  for (int i0 = 0; i0 < n8; i0 += 64) {
    int nv = (n8 - i0) / 8 < 8 ? (n8 - i0) / 8 : 8;
    __m256 a[8];
    for (int k = 0; k < 8; k++) a[k] = _mm256_setzero_ps();
    const uint16_t *r = rows + i0;
    for (int p = 0; p < n_rows; p++, r += stride) {
      __m256 wp = _mm256_set1_ps(w[p]);
      for (int k = 0; k < nv; k++) a[k] = _mm256_fmadd_ps(wp, ld_f16(r + 8 * k), a[k]);
    }
    for (int k = 0; k < nv; k++) _mm256_storeu_ps(out + i0 + 8 * k, a[k]);
  }
  for (int i = n8; i < n; i++) {
    float s = 0;
    for (int p = 0; p < n_rows; p++) s += w[p] * h2f(rows[(size_t)p * stride + i]);
    out[i] = s;
  }
}

/* SwiGLU: silu(gate) * up, silu(g) = g * sigmoid(g) with sigmoid from
 * t = e^-|g| (never overflows): 1 / (1 + t) for g >= 0, t / (1 + t) below. */
static void swiglu_avx2(float *out, const float *gate, const float *up, int n) {
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = _mm256_loadu_ps(gate + i);
    __m256 t = exp_neg(_mm256_or_ps(g, sign)); /* -|g| */
    __m256 pos = _mm256_cmp_ps(g, _mm256_setzero_ps(), _CMP_GE_OQ);
    __m256 sig = _mm256_div_ps(_mm256_blendv_ps(t, one, pos), _mm256_add_ps(one, t));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(g, sig), _mm256_loadu_ps(up + i)));
  }
  for (; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* softmax of a row (e^x summed by fours in float, then in double); round_f16 rounds the
 * probabilities to F16 values (a decoder's attention, whose weights meet
 * F16 rows), an encoder's keep them as floats */
static void softmax_row(float *x, int n, bool round_f16) {
  const int n8 = n & ~7;
  float max = -INFINITY;
  __m256 mx = _mm256_set1_ps(-INFINITY), m1 = mx, m2 = mx, m3 = mx;
  int i = 0;
  for (; i + 32 <= n8; i += 32) { /* four chains: one waited on vmaxps' latency */
    mx = _mm256_max_ps(mx, _mm256_loadu_ps(x + i));
    m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
    m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + i + 16));
    m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + i + 24));
  }
  for (; i < n8; i += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(x + i));
  mx = _mm256_max_ps(_mm256_max_ps(mx, m1), _mm256_max_ps(m2, m3));
  float t[8];
  _mm256_storeu_ps(t, mx);
  for (int k = 0; k < 8; k++) max = t[k] > max ? t[k] : max;
  for (int i = n8; i < n; i++) max = x[i] > max ? x[i] : max;
  if (max == -INFINITY) {
    memset(x, 0, sizeof(float) * (size_t)n);
    return;
  }
  const __m256 vmax = _mm256_set1_ps(max);
  __m256d s0 = _mm256_setzero_pd(), s1 = s0;
  double sum = 0;
  /* 32 at a time, their four vectors summed in float before they widen:
   * converting every vector cost a third of a 512-long row's time */
  for (i = 0; i + 32 <= n8; i += 32) {
    __m256 q = _mm256_setzero_ps();
    for (int u = 0; u < 32; u += 8) {
      __m256 e = exp_neg(_mm256_sub_ps(_mm256_loadu_ps(x + i + u), vmax));
      _mm256_storeu_ps(x + i + u, e);
      q = _mm256_add_ps(q, e);
    }
    s0 = _mm256_add_pd(s0, _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(q)),
                                         _mm256_cvtps_pd(_mm256_extractf128_ps(q, 1))));
  }
  for (; i < n8; i += 8) {
    __m256 e = exp_neg(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(x + i, e);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  for (i = n8; i < n; i++) {
    float v[8] = {x[i] - max, 0, 0, 0, 0, 0, 0, 0};
    _mm256_storeu_ps(v, exp_neg(_mm256_loadu_ps(v)));
    x[i] = v[0];
    sum += v[0];
  }
  double d[4];
  _mm256_storeu_pd(d, _mm256_add_pd(s0, s1));
  sum += (d[0] + d[1]) + (d[2] + d[3]);
  const __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
  for (int i = 0; i < n8; i += 8) {
    __m256 p = _mm256_mul_ps(_mm256_loadu_ps(x + i), inv);
    if (round_f16) p = _mm256_cvtph_ps(_mm256_cvtps_ph(p, 0));
    _mm256_storeu_ps(x + i, p);
  }
  for (int i = n8; i < n; i++) {
    float p = x[i] * _mm256_cvtss_f32(inv);
    x[i] = round_f16 ? _cvtsh_ss(_cvtss_sh(p, 0)) : p;
  }
}

static void softmax_f16_avx2(float *x, int n) { softmax_row(x, n, true); }
/* an encoder's attention row: the reference's steps with the vector e^x
 * (libm's expf was 2.5% of a short text's pass on Zen 3) */
static void softmax_avx2(float *x, int n) { softmax_row(x, n, false); }

/* GELU, erf form (kernels_math_avx2.h). */
static void gelu_erf_avx2(float *x, int n) {
  for (int i = 0; i < n; i += 8) {
    float tail[8] = {0};
    bool whole = n - i >= 8;
    if (!whole) memcpy(tail, x + i, sizeof(float) * (size_t)(n - i));
    __m256 g = gelu_erf_ps256(_mm256_loadu_ps(whole ? x + i : tail));
    if (whole) {
      _mm256_storeu_ps(x + i, g);
    } else {
      _mm256_storeu_ps(tail, g);
      memcpy(x + i, tail, sizeof(float) * (size_t)(n - i));
    }
  }
}

/* llama numerics: the 32-block dots in ggml's order. */
void kernels_fill_llama_avx2(kernel_table *t) {
  t->types[TT_Q8_0].vec_dot = dot_q8_0_llama;
  t->types[TT_Q4_0].vec_dot = dot_q4_0_llama;
  t->types[TT_Q4_1].vec_dot = dot_q4_1_llama;
  t->types[TT_Q5_0].vec_dot = dot_q5_0_llama;
  t->types[TT_Q5_1].vec_dot = dot_q5_1_llama;
}

/* kern_residual_layernorm: the sum row written back to h while the double
 * sums of d = h - k and d^2 gather (four chains; kernels_rows.h), then one
 * pass for the output. */
static void residual_layernorm_avx2(float *x, float *h, const float *bias, const float *w,
                                    const float *b, int n, float eps) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
  double k = kern_rln_shift(x, h, bias);
  __m256d vk = _mm256_set1_pd(k);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(h + i);
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + i));
    v = _mm256_add_ps(v, _mm256_loadu_ps(x + i));
    _mm256_storeu_ps(h + i, v);
    __m256d lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), vk),
            hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), vk);
    s0 = _mm256_add_pd(s0, lo);
    s1 = _mm256_add_pd(s1, hi);
    q0 = _mm256_fmadd_pd(lo, lo, q0);
    q1 = _mm256_fmadd_pd(hi, hi, q1);
  }
  double sum = hsum_pd(_mm256_add_pd(s0, s1)), sq = hsum_pd(_mm256_add_pd(q0, q1));
  kern_rln_sum_tail(x, h, bias, i, n, k, &sum, &sq);
  float m, scale;
  kern_rln_stats(sum, sq, n, k, eps, &m, &scale);
  __m256 vm = _mm256_set1_ps(m), vs = _mm256_set1_ps(scale);
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(h + i), vm), vs);
    if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + i));
    if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + i));
    _mm256_storeu_ps(x + i, v);
  }
  kern_rln_out_tail(x, h, w, b, i, n, m, scale);
}

/* Residuals and biases between the products: gcc's -O2 leaves the plain
 * loop scalar (it will not version it for aliasing), which made kern_add
 * 6% of a short text's pass through a Q8_0 encoder. */
static void add_avx2(float *out, const float *a, const float *b, int n) {
  int i = 0;
  for (; i + 32 <= n; i += 32)
    for (int u = 0; u < 32; u += 8)
      _mm256_storeu_ps(out + i + u, _mm256_add_ps(_mm256_loadu_ps(a + i + u), _mm256_loadu_ps(b + i + u)));
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  for (; i < n; i++) out[i] = a[i] + b[i];
}

void kernels_fill_avx2(kernel_table *t) {
  t->add = add_avx2;
  t->softmax_f16 = softmax_f16_avx2;
  t->softmax = softmax_avx2;
  t->gelu_erf = gelu_erf_avx2;
  t->swiglu = swiglu_avx2;
  t->rpx_row = rpx_row_avx2;
  t->layernorm = layernorm_avx2;
  t->residual_layernorm = residual_layernorm_avx2;
  t->f16_dots = f16_dots_avx2;
  t->f16_wsum = f16_wsum_avx2;
  t->isa = KERN_ISA_AVX2;
  t->name = "avx2";
  t->types[TT_F32].vec_dot = dot_f32;
  t->types[TT_F16].vec_dot = dot_f16;
  t->types[TT_BF16].vec_dot = dot_bf16;
  t->types[TT_Q8_0].vec_dot = dot_q8_0;
  t->types[TT_Q4_0].vec_dot = dot_q4_0;
  t->types[TT_Q4_1].vec_dot = dot_q4_1;
  t->types[TT_Q5_0].vec_dot = dot_q5_0;
  t->types[TT_Q5_1].vec_dot = dot_q5_1;
  t->types[TT_Q2_K].vec_dot = dot_q2_K;
  t->types[TT_Q3_K].vec_dot = dot_q3_K;
  t->types[TT_Q4_K].vec_dot = dot_q4_K;
  t->types[TT_Q5_K].vec_dot = dot_q5_K;
  t->types[TT_Q6_K].vec_dot = dot_q6_K;
  t->types[TT_Q4_K].vec_dot4 = dot4_q4_K;
  /* activation quantizers, wherever a type's vec_dot_type is one of them */
  for (int k = 0; k < TT_COUNT_; k++) {
    kern_type_ops *o = &t->types[k];
    if (!o->to_float) continue;
    if (o->vec_dot_type == TT_Q8_0) o->from_float = from_float_q8_0;
    if (o->vec_dot_type == TT_Q8_1) o->from_float = from_float_q8_1;
    if (o->vec_dot_type == TT_Q8_K) o->from_float = from_float_q8_K;
    if (o->vec_dot_type == TT_F16) o->from_float = from_float_f16;
  }
  t->types[TT_F16].to_float = to_float_f16;
  t->types[TT_Q8_0].to_float = to_float_q8_0;
  t->types[TT_Q4_0].to_float = to_float_q4_0;
  t->f32_to_f16 = f32_to_f16_row;
  t->f16_to_f32 = f16_to_f32_row;
}

#else /* built without AVX2 flags (another compiler or CPU family) */
#include "kernels.h"
void kernels_fill_avx2(kernel_table *t) { (void)t; }
void kernels_fill_llama_avx2(kernel_table *t) { (void)t; }
#endif
