/* kernels_gemm_avx2.c — matrix x matrix (prefill) for the AVX2 path (AMD
 * and older Intel): the layout of kernels_gemm_avx512.c at half the width.
 *
 * A tile is 8 weight rows, one per int32 lane of a ymm; the panel holds, for
 * every 4 consecutive elements, those 4 bytes of each of the 8 rows, so one
 * vpmaddubsw against 4 activation bytes broadcast to all lanes makes two
 * 16-bit pair sums per row. JT activation rows share each panel load.
 *
 * vpmaddubsw multiplies unsigned by signed bytes and saturates its 16-bit
 * pair sums, so:
 *  - unsigned weights (Q4_1, Q5_1, K-quants) meet the activation bytes as
 *    they are; signed weights (Q4_0, Q5_0, Q8_0) go through |w| and
 *    sign(x, w) (Q8_0's x is never -128);
 *  - pair sums are added in 16 bits only as many times as cannot overflow
 *    (FLUSH below: e.g. 8 times 2 * 15 * 127 for 4-bit weights), then widened
 *    with vpmaddwd. Every integer equals the reference's.
 * K-quant group sums are scaled in float by d * sc_g (exact products), the
 * mins / "- 32" terms are exact int via vpmaddwd with Q8_K's bsums. */
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include "kernels.h"

#define RT 8
#define JT 4
#define K_SLICE 1024
#define NB32 (K_SLICE / QK32)
#define NBK (K_SLICE / QK_K)

#define ALWAYS_INLINE static inline __attribute__((always_inline))

#include "kernels_unroll.h"

static inline float h2f(uint16_t h) { return quant_f16_table[h]; }
static inline int32_t ld32(const void *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline uint32_t le32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline __m256i bcast32(const void *p) { return _mm256_set1_epi32(ld32(p)); }
static inline __m256i loadu(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* dword k of each of the 8 rows (stride bytes apart in tmp) into one ymm */
static inline void gather_dwords(const uint8_t *tmp, int stride, int n_dwords, uint8_t *dst) {
  const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
  for (int k = 0; k < n_dwords; k++)
    _mm256_store_si256((__m256i *)(dst + 32 * k), _mm256_i32gather_epi32((const int *)(tmp + 4 * k), idx, 1));
}

static inline __m256i row_mask(int nr) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* ---- 32-blocks ----------------------------------------------------------- */

typedef struct {
  uint8_t q[NB32][8][RT * 4];
  float d[NB32][RT];
  float m[NB32][RT];
} panel32;

static inline __m256i nibbles32(const uint8_t *qs) {
  __m128i t = _mm_loadu_si128((const __m128i *)qs);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(15));
}
static inline __m256i bits_to_bytes(uint32_t bits) {
  __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
                                  _mm256_setr_epi64x(0, 0x0101010101010101LL, 0x0202020202020202LL,
                                                     0x0303030303030303LL));
  const __m256i bm = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
  return _mm256_cmpeq_epi8(_mm256_and_si256(v, bm), bm);
}
static inline __m256i q5_bytes(const uint8_t *qh, const uint8_t *qs) {
  return _mm256_or_si256(nibbles32(qs), _mm256_and_si256(bits_to_bytes(le32(qh)), _mm256_set1_epi8(16)));
}

static inline __m256i unpack32(tensor_type t, const uint8_t *blk, float *d, float *m) {
  switch (t) {
  case TT_Q4_0: {
    const block_q4_0 *b = (const void *)blk;
    *d = h2f(b->d), *m = 0;
    return _mm256_sub_epi8(nibbles32(b->qs), _mm256_set1_epi8(8));
  }
  case TT_Q5_0: {
    const block_q5_0 *b = (const void *)blk;
    *d = h2f(b->d), *m = 0;
    return _mm256_sub_epi8(q5_bytes(b->qh, b->qs), _mm256_set1_epi8(16));
  }
  case TT_Q8_0: {
    const block_q8_0 *b = (const void *)blk;
    *d = h2f(b->d), *m = 0;
    return loadu(b->qs);
  }
  case TT_Q4_1: {
    const block_q4_1 *b = (const void *)blk;
    *d = h2f(b->d), *m = h2f(b->m);
    return nibbles32(b->qs);
  }
  default: {
    const block_q5_1 *b = (const void *)blk;
    *d = h2f(b->d), *m = h2f(b->m);
    return q5_bytes(b->qh, b->qs);
  }
  }
}

static void pack32(tensor_type t, const uint8_t *W, size_t rb, int nr, int b0, int nb, panel32 *p) {
  size_t bb = tensor_type_get(t).block_bytes;
  uint8_t tmp[RT][32] __attribute__((aligned(32)));
  for (int b = 0; b < nb; b++) {
    for (int r = 0; r < RT; r++) {
      __m256i v = _mm256_setzero_si256();
      float d = 0, m = 0;
      if (r < nr) v = unpack32(t, W + (size_t)r * rb + (size_t)(b0 + b) * bb, &d, &m);
      _mm256_store_si256((__m256i *)tmp[r], v);
      p->d[b][r] = d;
      p->m[b][r] = m;
    }
    gather_dwords(&tmp[0][0], 32, 8, &p->q[b][0][0]);
  }
}

/* kind 0: unsigned weights, Q8_1 activations (+ m * s); 1: signed weights,
 * Q8_0 activations. flush: 16-bit pair sums added before widening. */
ALWAYS_INLINE void tile32(const panel32 *p, int kind, int flush, int nb, const uint8_t *const *x,
                          size_t xbb, int nj, __m256 *acc) {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int b = 0; b < nb; b++) {
    __m256i is[JT];
UNROLL(4)
    for (int j = 0; j < nj; j++) is[j] = _mm256_setzero_si256();
    const size_t qoff = kind ? offsetof(block_q8_0, qs) : offsetof(block_q8_1, qs);
UNROLL(8)
    for (int k0 = 0; k0 < 8; k0 += flush) {
      __m256i s16[JT];
UNROLL(8)
      for (int k = k0; k < k0 + flush; k++) {
        const __m256i w = _mm256_load_si256((const __m256i *)p->q[b][k]);
        const __m256i wa = kind ? _mm256_sign_epi8(w, w) : w;
UNROLL(4)
        for (int j = 0; j < nj; j++) {
          __m256i xv = bcast32(x[j] + (size_t)b * xbb + qoff + 4 * k);
          __m256i pr = _mm256_maddubs_epi16(wa, kind ? _mm256_sign_epi8(xv, w) : xv);
          s16[j] = k == k0 ? pr : _mm256_add_epi16(s16[j], pr);
        }
      }
UNROLL(4)
      for (int j = 0; j < nj; j++) is[j] = _mm256_add_epi32(is[j], _mm256_madd_epi16(s16[j], ones));
    }
    const __m256 d = _mm256_load_ps(p->d[b]);
UNROLL(4)
    for (int j = 0; j < nj; j++) {
      const uint8_t *xb = x[j] + (size_t)b * xbb;
      uint16_t xd, xs;
      memcpy(&xd, xb, 2);
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[j]), _mm256_mul_ps(d, _mm256_set1_ps(h2f(xd))), acc[j]);
      if (!kind) {
        memcpy(&xs, xb + 2, 2);
        acc[j] = _mm256_fmadd_ps(_mm256_load_ps(p->m[b]), _mm256_set1_ps(h2f(xs)), acc[j]);
      }
    }
  }
}

/* nj activation rows against up to TILES row tiles: the activation rows
 * stay in L1 while each panel runs over them. */
ALWAYS_INLINE void run32(const panel32 *p, int n_tiles, int nr, int kind, int flush, int nb, int b0,
                         const uint8_t *X, size_t xs, size_t xbb, int nj, float *Y, int ldy, int first) {
  const uint8_t *x[JT];
  for (int j = 0; j < nj; j++) x[j] = X + (size_t)j * xs + (size_t)b0 * xbb;
  for (int t = 0; t < n_tiles; t++) {
    __m256i mask = row_mask(nr - t * RT);
    float *Yt = Y + t * RT;
    __m256 acc[JT];
UNROLL(4)
    for (int j = 0; j < nj; j++)
      acc[j] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(Yt + (size_t)j * ldy, mask);
    tile32(p + t, kind, flush, nb, x, xbb, nj, acc);
UNROLL(4)
    for (int j = 0; j < nj; j++) _mm256_maskstore_ps(Yt + (size_t)j * ldy, mask, acc[j]);
  }
}

/* Activation rows per tile: 4, then 2, 1 for the rest. */
#define NEXT_NJ(left) ((left) >= 4 ? 4 : (left) >= 2 ? 2 : 1)
#define DISPATCH_NJ(call)  \
  switch (nj) {            \
  case 1: call(1); break;  \
  case 2: call(2); break;  \
  default: call(4); break; \
  }

/* Row tiles unpacked per pass (panels ~18 KB each, kept in L2). */
#define TILES 8

static void gemm32(tensor_type t, int n, const void *W, size_t rb, int nr, const void *X, size_t xs,
                   int nx, float *Y, int ldy) {
  const int kind = t == TT_Q4_0 || t == TT_Q5_0 || t == TT_Q8_0;
  const size_t xbb = tensor_type_get(kind ? TT_Q8_0 : TT_Q8_1).block_bytes;
  const int nb_row = n / QK32;
  panel32 p[TILES] __attribute__((aligned(32)));
  for (int r0 = 0; r0 < nr; r0 += RT * TILES) {
    int nrp = nr - r0 < RT * TILES ? nr - r0 : RT * TILES, nt = (nrp + RT - 1) / RT;
    for (int b0 = 0; b0 < nb_row; b0 += NB32) {
      int nb = nb_row - b0 < NB32 ? nb_row - b0 : NB32;
      for (int k = 0; k < nt; k++) {
        int rows = nrp - k * RT < RT ? nrp - k * RT : RT;
        pack32(t, (const uint8_t *)W + (size_t)(r0 + k * RT) * rb, rb, rows, b0, nb, &p[k]);
      }
      for (int j0 = 0, nj; j0 < nx; j0 += nj) {
        nj = NEXT_NJ(nx - j0);
        const uint8_t *Xj = (const uint8_t *)X + (size_t)j0 * xs;
        float *Yt = Y + (size_t)j0 * ldy + r0;
        /* how many pair sums fit in 16 bits: 2*|w|*127 each */
        switch (t) {
#define CALL(J) run32(p, nt, nrp, 1, 1, nb, b0, Xj, xs, xbb, J, Yt, ldy, b0 == 0)
        case TT_Q8_0: DISPATCH_NJ(CALL) break;
#undef CALL
#define CALL(J) run32(p, nt, nrp, 1, 8, nb, b0, Xj, xs, xbb, J, Yt, ldy, b0 == 0)
        case TT_Q4_0: /* |w| <= 8 */
        case TT_Q5_0: /* |w| <= 16 */
          DISPATCH_NJ(CALL) break;
#undef CALL
#define CALL(J) run32(p, nt, nrp, 0, 8, nb, b0, Xj, xs, xbb, J, Yt, ldy, b0 == 0)
        case TT_Q4_1: DISPATCH_NJ(CALL) break; /* w <= 15 */
#undef CALL
#define CALL(J) run32(p, nt, nrp, 0, 4, nb, b0, Xj, xs, xbb, J, Yt, ldy, b0 == 0)
        default: DISPATCH_NJ(CALL) break; /* Q5_1, w <= 31 */
#undef CALL
        }
      }
    }
  }
}

#define GEMM32(name, T)                                                                       \
  static void name(int n, const void *W, size_t rb, int nr, const void *X, size_t xs, int nx, \
                   float *Y, int ldy) {                                                       \
    gemm32(T, n, W, rb, nr, X, xs, nx, Y, ldy);                                               \
  }
GEMM32(gemm_q4_0, TT_Q4_0)
GEMM32(gemm_q4_1, TT_Q4_1)
GEMM32(gemm_q5_0, TT_Q5_0)
GEMM32(gemm_q5_1, TT_Q5_1)
GEMM32(gemm_q8_0, TT_Q8_0)

/* ---- K-quants ------------------------------------------------------------ */

typedef struct {
  uint8_t q[NBK][64][RT * 4];
  float dsc[NBK][16][RT];
  int32_t pair[NBK][8][RT];
  float dneg[NBK][RT];
} panelk;

static inline __m128i k4_scales_mins(const uint8_t *s) {
  uint32_t u0 = le32(s), u1 = le32(s + 4), u2 = le32(s + 8);
  return _mm_setr_epi32((int)(u0 & 0x3f3f3f3f), (int)((u2 & 0x0f0f0f0f) | ((u0 >> 2) & 0x30303030)),
                        (int)(u1 & 0x3f3f3f3f),
                        (int)(((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 2) & 0x30303030)));
}

static void unpack_k(tensor_type t, const uint8_t *blk, uint8_t *out, panelk *p, int s, int r) {
  const __m256i m4 = _mm256_set1_epi8(15);
  if (t == TT_Q4_K || t == TT_Q5_K) {
    const uint8_t *scales, *qs, *qh = NULL;
    float d, dmin;
    if (t == TT_Q4_K) {
      const block_q4_K *b = (const void *)blk;
      scales = b->scales, qs = b->qs, d = h2f(b->d), dmin = h2f(b->dmin);
    } else {
      const block_q5_K *b = (const void *)blk;
      scales = b->scales, qs = b->qs, qh = b->qh, d = h2f(b->d), dmin = h2f(b->dmin);
    }
    __m256i hb = qh ? loadu(qh) : _mm256_setzero_si256();
    const __m256i b4 = _mm256_set1_epi8(0x10);
    for (int c = 0; c < 4; c++) {
      __m256i q = loadu(qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if (qh) {
        lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hb, 4), b4));
        hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(hb, 3), b4));
        hb = _mm256_srli_epi16(hb, 2);
      }
      _mm256_store_si256((__m256i *)(out + 64 * c), lo);
      _mm256_store_si256((__m256i *)(out + 64 * c + 32), hi);
    }
    uint8_t sm[16];
    _mm_storeu_si128((__m128i *)sm, k4_scales_mins(scales));
    for (int g = 0; g < 8; g++) {
      p->dsc[s][g][r] = d * (float)sm[g];
      p->pair[s][g][r] = (int32_t)((uint32_t)sm[8 + g] | (uint32_t)sm[8 + g] << 16);
    }
    p->dneg[s][r] = -dmin;
  } else { /* TT_Q6_K */
    const block_q6_K *b = (const void *)blk;
    const __m256i m30 = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; h++) {
      __m256i l0 = loadu(b->ql + 64 * h), l1 = loadu(b->ql + 64 * h + 32), qh = loadu(b->qh + 32 * h);
      uint8_t *o = out + 128 * h;
      _mm256_store_si256((__m256i *)o, _mm256_or_si256(_mm256_and_si256(l0, m4),
                                                       _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)));
      _mm256_store_si256((__m256i *)(o + 32), _mm256_or_si256(_mm256_and_si256(l1, m4),
                                                              _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)));
      _mm256_store_si256((__m256i *)(o + 64),
                         _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m30)));
      _mm256_store_si256((__m256i *)(o + 96), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                                              _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30)));
    }
    float d = h2f(b->d);
    for (int g = 0; g < 16; g++) p->dsc[s][g][r] = d * (float)b->scales[g];
    for (int g = 0; g < 8; g++)
      p->pair[s][g][r] = (int32_t)((uint32_t)(uint16_t)b->scales[2 * g] |
                                   (uint32_t)(uint16_t)b->scales[2 * g + 1] << 16);
    p->dneg[s][r] = -32.0f * d;
  }
}

static void packk(tensor_type t, const uint8_t *W, size_t rb, int nr, int s0, int ns, panelk *p) {
  size_t bb = tensor_type_get(t).block_bytes;
  uint8_t tmp[RT][QK_K] __attribute__((aligned(32)));
  for (int s = 0; s < ns; s++) {
    for (int r = 0; r < RT; r++) {
      if (r < nr) {
        unpack_k(t, W + (size_t)r * rb + (size_t)(s0 + s) * bb, tmp[r], p, s, r);
      } else {
        memset(tmp[r], 0, QK_K);
        for (int g = 0; g < 16; g++) p->dsc[s][g][r] = 0;
        for (int g = 0; g < 8; g++) p->pair[s][g][r] = 0;
        p->dneg[s][r] = 0;
      }
    }
    gather_dwords(&tmp[0][0], QK_K, 64, &p->q[s][0][0]);
  }
}

/* G groups per superblock; flush: pair sums added in 16 bits (2*w*127 each:
 * 8 for 4-bit, 4 for 5-bit, 2 for 6-bit weights). */
ALWAYS_INLINE void tilek(const panelk *p, int ns, int G, int flush, const block_q8_K *const *x,
                         int nj, __m256 *acc) {
  const int KPG = QK_K / G / 4;
  const __m256i ones = _mm256_set1_epi16(1);
  for (int s = 0; s < ns; s++) {
    __m256 blk[JT];
    {
      __m256i c[JT];
UNROLL(4)
      for (int j = 0; j < nj; j++) c[j] = _mm256_setzero_si256();
UNROLL(8)
      for (int g = 0; g < 8; g++) {
        const __m256i pr = _mm256_load_si256((const __m256i *)p->pair[s][g]);
UNROLL(4)
        for (int j = 0; j < nj; j++)
          c[j] = _mm256_add_epi32(c[j], _mm256_madd_epi16(pr, bcast32(x[j][s].bsums + 2 * g)));
      }
      const __m256 dn = _mm256_load_ps(p->dneg[s]);
UNROLL(4)
      for (int j = 0; j < nj; j++) blk[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(c[j]), dn);
    }
UNROLL(1)
    for (int g = 0; g < G; g++) {
      __m256i is[JT];
UNROLL(8)
      for (int k0 = 0; k0 < KPG; k0 += flush) {
        __m256i s16[JT];
UNROLL(8)
        for (int k = k0; k < k0 + flush; k++) {
          const __m256i w = _mm256_load_si256((const __m256i *)p->q[s][g * KPG + k]);
UNROLL(4)
          for (int j = 0; j < nj; j++) {
            __m256i pr = _mm256_maddubs_epi16(w, bcast32(x[j][s].qs + 4 * (g * KPG + k)));
            s16[j] = k == k0 ? pr : _mm256_add_epi16(s16[j], pr);
          }
        }
UNROLL(4)
        for (int j = 0; j < nj; j++) {
          __m256i w32 = _mm256_madd_epi16(s16[j], ones);
          is[j] = k0 == 0 ? w32 : _mm256_add_epi32(is[j], w32);
        }
      }
      const __m256 dsc = _mm256_load_ps(p->dsc[s][g]);
UNROLL(4)
      for (int j = 0; j < nj; j++) blk[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[j]), dsc, blk[j]);
    }
UNROLL(4)
    for (int j = 0; j < nj; j++) acc[j] = _mm256_fmadd_ps(blk[j], _mm256_set1_ps(x[j][s].d), acc[j]);
  }
}

ALWAYS_INLINE void runk(const panelk *p, int n_tiles, int nr, int G, int flush, int ns, int s0,
                        const uint8_t *X, size_t xs, int nj, float *Y, int ldy, int first) {
  const block_q8_K *x[JT];
  for (int j = 0; j < nj; j++) x[j] = (const block_q8_K *)(X + (size_t)j * xs) + s0;
  for (int t = 0; t < n_tiles; t++) {
    __m256i mask = row_mask(nr - t * RT);
    float *Yt = Y + t * RT;
    __m256 acc[JT];
UNROLL(4)
    for (int j = 0; j < nj; j++)
      acc[j] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(Yt + (size_t)j * ldy, mask);
    tilek(p + t, ns, G, flush, x, nj, acc);
UNROLL(4)
    for (int j = 0; j < nj; j++) _mm256_maskstore_ps(Yt + (size_t)j * ldy, mask, acc[j]);
  }
}

static void gemmk(tensor_type t, int n, const void *W, size_t rb, int nr, const void *X, size_t xs,
                  int nx, float *Y, int ldy) {
  const int ns_row = n / QK_K;
  panelk p[TILES] __attribute__((aligned(32)));
  for (int r0 = 0; r0 < nr; r0 += RT * TILES) {
    int nrp = nr - r0 < RT * TILES ? nr - r0 : RT * TILES, nt = (nrp + RT - 1) / RT;
    for (int s0 = 0; s0 < ns_row; s0 += NBK) {
      int ns = ns_row - s0 < NBK ? ns_row - s0 : NBK;
      for (int k = 0; k < nt; k++) {
        int rows = nrp - k * RT < RT ? nrp - k * RT : RT;
        packk(t, (const uint8_t *)W + (size_t)(r0 + k * RT) * rb, rb, rows, s0, ns, &p[k]);
      }
      for (int j0 = 0, nj; j0 < nx; j0 += nj) {
        nj = NEXT_NJ(nx - j0);
        const uint8_t *Xj = (const uint8_t *)X + (size_t)j0 * xs;
        float *Yt = Y + (size_t)j0 * ldy + r0;
        switch (t) {
#define CALL(J) runk(p, nt, nrp, 8, 8, ns, s0, Xj, xs, J, Yt, ldy, s0 == 0)
        case TT_Q4_K: DISPATCH_NJ(CALL) break;
#undef CALL
#define CALL(J) runk(p, nt, nrp, 8, 4, ns, s0, Xj, xs, J, Yt, ldy, s0 == 0)
        case TT_Q5_K: DISPATCH_NJ(CALL) break;
#undef CALL
#define CALL(J) runk(p, nt, nrp, 16, 2, ns, s0, Xj, xs, J, Yt, ldy, s0 == 0)
        default: DISPATCH_NJ(CALL) break;
#undef CALL
        }
      }
    }
  }
}

#define GEMMK(name, T)                                                                        \
  static void name(int n, const void *W, size_t rb, int nr, const void *X, size_t xs, int nx, \
                   float *Y, int ldy) {                                                       \
    gemmk(T, n, W, rb, nr, X, xs, nx, Y, ldy);                                                \
  }
GEMMK(gemm_q4_K, TT_Q4_K)
GEMMK(gemm_q5_K, TT_Q5_K)
GEMMK(gemm_q6_K, TT_Q6_K)

/* ---- float rows ------------------------------------------------------------- */

static inline __m256 ldf(tensor_type t, const void *p, int i) {
  if (t == TT_F32) return _mm256_loadu_ps((const float *)p + i);
  __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + i));
  if (t == TT_F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
static inline float ldf1(tensor_type t, const void *p, int i) {
  if (t == TT_F32) return ((const float *)p)[i];
  uint16_t h = ((const uint16_t *)p)[i];
  return t == TT_F16 ? h2f(h) : quant_bf16_to_f32(h);
}
static inline float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* 3 weight rows x 4 activation rows: 12 accumulators + 4 + 1 registers */
ALWAYS_INLINE void tilef(tensor_type t, int n, const uint8_t *W, size_t rb, int nr,
                         const uint8_t *X, size_t xs, int nj, float *Y, int ldy) {
  __m256 acc[3][4];
UNROLL(3)
  for (int r = 0; r < nr; r++)
UNROLL(4)
    for (int j = 0; j < nj; j++) acc[r][j] = _mm256_setzero_ps();
  const int n8 = n & ~7;
  for (int i = 0; i < n8; i += 8) {
    __m256 x[4];
UNROLL(4)
    for (int j = 0; j < 4; j++) x[j] = j < nj ? ldf(t, X + (size_t)j * xs, i) : _mm256_setzero_ps();
UNROLL(3)
    for (int r = 0; r < nr; r++) {
      __m256 w = ldf(t, W + (size_t)r * rb, i);
UNROLL(4)
      for (int j = 0; j < nj; j++) acc[r][j] = _mm256_fmadd_ps(w, x[j], acc[r][j]);
    }
  }
  for (int r = 0; r < nr; r++)
    for (int j = 0; j < nj; j++) {
      float s = hsum_ps(acc[r][j]);
      for (int i = n8; i < n; i++) s += ldf1(t, W + (size_t)r * rb, i) * ldf1(t, X + (size_t)j * xs, i);
      Y[(size_t)j * ldy + r] = s;
    }
}

/* Tiles of 3 weight rows against 1-4 activation rows, and the last rows
 * of a matrix one at a time, all of constant shape (TILEF_NJ). */
static void gemmf(tensor_type t, int n, const void *W, size_t rb, int nr, const void *X, size_t xs,
                  int nx, float *Y, int ldy) {
  for (int r0 = 0; r0 < nr; r0 += 3) {
    const uint8_t *Wr = (const uint8_t *)W + (size_t)r0 * rb;
    for (int j0 = 0; j0 < nx; j0 += 4) {
      const uint8_t *Xj = (const uint8_t *)X + (size_t)j0 * xs;
      float *Yt = Y + (size_t)j0 * ldy + r0;
      int nrt = nr - r0 < 3 ? nr - r0 : 3, nj = nx - j0 < 4 ? nx - j0 : 4;
      if (nrt == 3) {
        TILEF_NJ(3, Wr, Yt);
      } else {
        for (int r = 0; r < nrt; r++) TILEF_NJ(1, Wr + (size_t)r * rb, Yt + r);
      }
    }
  }
}

#define GEMMF(name, T)                                                                        \
  static void name(int n, const void *W, size_t rb, int nr, const void *X, size_t xs, int nx, \
                   float *Y, int ldy) {                                                       \
    gemmf(T, n, W, rb, nr, X, xs, nx, Y, ldy);                                                \
  }
GEMMF(gemm_f32, TT_F32)
GEMMF(gemm_f16, TT_F16)
GEMMF(gemm_bf16, TT_BF16)

void kernels_fill_gemm_avx2(kernel_table *t) {
  t->types[TT_F32].gemm = gemm_f32;
  t->types[TT_F16].gemm = gemm_f16;
  t->types[TT_BF16].gemm = gemm_bf16;
  t->types[TT_Q4_0].gemm = gemm_q4_0;
  t->types[TT_Q4_1].gemm = gemm_q4_1;
  t->types[TT_Q5_0].gemm = gemm_q5_0;
  t->types[TT_Q5_1].gemm = gemm_q5_1;
  t->types[TT_Q8_0].gemm = gemm_q8_0;
  t->types[TT_Q4_K].gemm = gemm_q4_K;
  t->types[TT_Q5_K].gemm = gemm_q5_K;
  t->types[TT_Q6_K].gemm = gemm_q6_K;
}

#else /* built without the AVX2 flags */
#include "kernels.h"
void kernels_fill_gemm_avx2(kernel_table *t) { (void)t; }
#endif
