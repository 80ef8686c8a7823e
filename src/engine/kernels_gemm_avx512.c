/* kernels_gemm_avx512.c — matrix x matrix (prefill) for the AVX-512 path:
 * register-tiled micro-kernels that reuse every decoded weight for up to
 * JT activation rows and every activation byte for 16 weight rows.
 *
 * Layout. A tile is 16 weight rows, one per int32 lane of a zmm. The rows'
 * quantized blocks are first unpacked into a panel in "VNNI order": for
 * every 4 consecutive elements k..k+3, one zmm holds those 4 bytes of each
 * of the 16 rows. One vpdpbusd of that zmm with the 4 matching activation
 * bytes broadcast to all lanes then adds 64 products into the 16 row sums;
 * JT such sums (one per activation row) share each panel load. Panels hold
 * at most a slice of the row (K_SLICE elements) so they stay in L1; a row
 * longer than that accumulates slice after slice into Y.
 *
 * vpdpbusd multiplies unsigned by signed bytes. Per type:
 *  - Q4_1/Q5_1 and the K-quants have unsigned weights (0..15/31/63): the
 *    panel is the unsigned side, the activation bytes are used as they are
 *    (Q4_K/Q5_K/Q6_K offsets and mins come from Q8_K's bsums, exact int);
 *  - Q4_0/Q5_0/Q8_0 have signed weights: the activation slice is copied with
 *    each byte xor 0x80 (x + 128, unsigned), and the panel carries the exact
 *    correction -128 * sum(w) per row and block as the sums' start value.
 * Every block's (or 16/32-group's) integer sum is thus exactly the
 * reference's; only the float scaling and summation order differ from
 * vec_dot (K-quants scale per group in float, products exact).
 *
 * All buffers live on the stack (about 40 KB); nothing allocates. */
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__) && defined(__AVX512VNNI__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include "kernels.h"

#define RT 16      /* weight rows per tile: one per int32 lane */
#define JT 8       /* activation rows per tile */
#define K_SLICE 1024 /* elements of a row unpacked at a time */
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
static inline __m512i bcast32(const void *p) { return _mm512_set1_epi32(ld32(p)); }

/* The 16-row x 4-byte transposition: dword k of each row's bytes (rows
 * `stride` bytes apart in tmp) into one zmm, stored at dst. */
static inline void gather_dwords(const uint8_t *tmp, int stride, int n_dwords, uint8_t *dst) {
  const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                           12, 13, 14, 15),
                                         _mm512_set1_epi32(stride));
  for (int k = 0; k < n_dwords; k++)
    _mm512_store_si512(dst + 64 * k, _mm512_i32gather_epi32(idx, tmp + 4 * k, 1));
}

static inline void store_tile(float *y, __mmask16 m, __m512 v) { _mm512_mask_storeu_ps(y, m, v); }

/* ---- 32-blocks ----------------------------------------------------------- */

typedef struct {
  uint8_t q[NB32][8][RT * 4]; /* [block][dword of the block][row lanes] */
  float d[NB32][RT];
  int32_t corr[NB32][RT]; /* -128 * sum(w) (signed types), 0 otherwise */
  float m[NB32][RT];      /* Q4_1/Q5_1 "+ m" */
} panel32;

static inline __m256i nibbles32(const uint8_t *qs) {
  __m128i t = _mm_loadu_si128((const __m128i *)qs);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(15));
}
static inline __m256i q5_bytes(const uint8_t *qh, const uint8_t *qs) {
  __m256i q = nibbles32(qs);
  return _mm256_mask_add_epi8(q, (__mmask32)le32(qh), q, _mm256_set1_epi8(16));
}

/* One block as 32 weight bytes in element order (signed for Q4_0, Q5_0,
 * Q8_0; unsigned for Q4_1, Q5_1) with its scale and min. */
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
    return _mm256_loadu_si256((const __m256i *)b->qs);
  }
  case TT_Q4_1: {
    const block_q4_1 *b = (const void *)blk;
    *d = h2f(b->d), *m = h2f(b->m);
    return nibbles32(b->qs);
  }
  default: { /* TT_Q5_1 */
    const block_q5_1 *b = (const void *)blk;
    *d = h2f(b->d), *m = h2f(b->m);
    return q5_bytes(b->qh, b->qs);
  }
  }
}

static void pack32(tensor_type t, int is_signed, const uint8_t *W, size_t rb, int nr, int b0,
                   int nb, panel32 *p) {
  size_t bb = tensor_type_get(t).block_bytes;
  uint8_t tmp[RT][32] __attribute__((aligned(64)));
  const __m512i ones = _mm512_set1_epi8(1);
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
    __m512i s = _mm512_setzero_si512();
    if (is_signed) {
      for (int k = 0; k < 8; k++) s = _mm512_dpbusd_epi32(s, ones, _mm512_load_si512(p->q[b][k]));
      s = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s, 7));
    }
    _mm512_store_si512(p->corr[b], s);
  }
}

/* Signed weights, activations copied to xu (x + 128) with their scales in
 * dx: acc[j] += sum over blocks of d_w * d_x * isum. */
ALWAYS_INLINE void tile32_signed(const panel32 *p, int nb, const uint8_t *xu, const float *dx,
                                 int nj, __m512 *acc) {
  for (int b = 0; b < nb; b++) {
    __m512i is[JT];
    const __m512i corr = _mm512_load_si512(p->corr[b]);
UNROLL(8)
    for (int j = 0; j < nj; j++) is[j] = corr;
UNROLL(8)
    for (int k = 0; k < 8; k++) {
      const __m512i w = _mm512_load_si512(p->q[b][k]);
UNROLL(8)
      for (int j = 0; j < nj; j++)
        is[j] = _mm512_dpbusd_epi32(is[j], bcast32(xu + (size_t)j * K_SLICE + 32 * b + 4 * k), w);
    }
    const __m512 d = _mm512_load_ps(p->d[b]);
UNROLL(8)
    for (int j = 0; j < nj; j++)
      acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[j]),
                               _mm512_mul_ps(d, _mm512_set1_ps(dx[j * NB32 + b])), acc[j]);
  }
}

/* Unsigned weights (Q4_1/Q5_1), Q8_1 activations read in place. */
ALWAYS_INLINE void tile32_unsigned(const panel32 *p, int nb, const block_q8_1 *const *x, int nj,
                                   __m512 *acc) {
  for (int b = 0; b < nb; b++) {
    __m512i is[JT];
UNROLL(8)
    for (int j = 0; j < nj; j++) is[j] = _mm512_setzero_si512();
UNROLL(8)
    for (int k = 0; k < 8; k++) {
      const __m512i w = _mm512_load_si512(p->q[b][k]);
UNROLL(8)
      for (int j = 0; j < nj; j++) is[j] = _mm512_dpbusd_epi32(is[j], w, bcast32(x[j][b].qs + 4 * k));
    }
    const __m512 d = _mm512_load_ps(p->d[b]), m = _mm512_load_ps(p->m[b]);
UNROLL(8)
    for (int j = 0; j < nj; j++) {
      acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[j]), _mm512_mul_ps(d, _mm512_set1_ps(h2f(x[j][b].d))),
                               acc[j]);
      acc[j] = _mm512_fmadd_ps(m, _mm512_set1_ps(h2f(x[j][b].s)), acc[j]);
    }
  }
}

/* nj activation rows against the panels of up to TILES row tiles: the
 * activation slice is prepared once and stays in L1 while each panel runs
 * over it; partial sums are loaded (or zeroed), run, stored. */
ALWAYS_INLINE void run32(const panel32 *p, int n_tiles, int nr, int is_signed, int nb, int b0,
                         const uint8_t *X, size_t xs, int nj, float *Y, int ldy, int first) {
  uint8_t xu[is_signed ? JT : 1][K_SLICE] __attribute__((aligned(64)));
  float dx[JT][NB32];
  const block_q8_1 *x1[JT];
  if (is_signed) {
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (int j = 0; j < nj; j++) {
      const block_q8_0 *xb = (const block_q8_0 *)(X + (size_t)j * xs) + b0;
      for (int b = 0; b < nb; b++) {
        _mm256_store_si256((__m256i *)(xu[j] + 32 * b),
                           _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)xb[b].qs), flip));
        dx[j][b] = h2f(xb[b].d);
      }
    }
  } else {
    for (int j = 0; j < nj; j++) x1[j] = (const block_q8_1 *)(X + (size_t)j * xs) + b0;
  }
  for (int t = 0; t < n_tiles; t++) {
    int nrt = nr - t * RT < RT ? nr - t * RT : RT;
    __mmask16 mask = (__mmask16)((1u << nrt) - 1);
    float *Yt = Y + t * RT;
    __m512 acc[JT];
UNROLL(8)
    for (int j = 0; j < nj; j++)
      acc[j] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, Yt + (size_t)j * ldy);
    if (is_signed) tile32_signed(p + t, nb, &xu[0][0], &dx[0][0], nj, acc);
    else tile32_unsigned(p + t, nb, x1, nj, acc);
UNROLL(8)
    for (int j = 0; j < nj; j++) store_tile(Yt + (size_t)j * ldy, mask, acc[j]);
  }
}

/* Activation rows per tile: 8, then 4, 2, 1 for the rest (each count is
 * its own fully unrolled kernel; fewer of them keeps compile time sane). */
#define NEXT_NJ(left) ((left) >= 8 ? 8 : (left) >= 4 ? 4 : (left) >= 2 ? 2 : 1)
#define DISPATCH_NJ(call)  \
  switch (nj) {            \
  case 1: call(1); break;  \
  case 2: call(2); break;  \
  case 4: call(4); break;  \
  default: call(8); break; \
  }

/* Row tiles unpacked per pass (panels ~22 KB each, kept in L2): a caller
 * handing over more rows at once lets each activation slice serve them all
 * from L1. */
#define TILES 4

static void gemm32(tensor_type t, int n, const void *W, size_t rb, int nr, const void *X, size_t xs,
                   int nx, float *Y, int ldy) {
  const int is_signed = t == TT_Q4_0 || t == TT_Q5_0 || t == TT_Q8_0;
  const int nb_row = n / QK32;
  panel32 p[TILES] __attribute__((aligned(64)));
  for (int r0 = 0; r0 < nr; r0 += RT * TILES) {
    int nrp = nr - r0 < RT * TILES ? nr - r0 : RT * TILES, nt = (nrp + RT - 1) / RT;
    for (int b0 = 0; b0 < nb_row; b0 += NB32) {
      int nb = nb_row - b0 < NB32 ? nb_row - b0 : NB32;
      for (int k = 0; k < nt; k++) {
        int rows = nrp - k * RT < RT ? nrp - k * RT : RT;
        pack32(t, is_signed, (const uint8_t *)W + (size_t)(r0 + k * RT) * rb, rb, rows, b0, nb, &p[k]);
      }
      for (int j0 = 0, nj; j0 < nx; j0 += nj) {
        nj = NEXT_NJ(nx - j0);
        const uint8_t *Xj = (const uint8_t *)X + (size_t)j0 * xs;
        float *Yt = Y + (size_t)j0 * ldy + r0;
        if (is_signed) {
#define CALL(J) run32(p, nt, nrp, 1, nb, b0, Xj, xs, J, Yt, ldy, b0 == 0)
          DISPATCH_NJ(CALL)
#undef CALL
        } else {
#define CALL(J) run32(p, nt, nrp, 0, nb, b0, Xj, xs, J, Yt, ldy, b0 == 0)
          DISPATCH_NJ(CALL)
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

/* Q4_K/Q5_K: 8 groups of 32; the group's integer sum is scaled in float by
 * d * sc_g (exact product), the mins term is exact int via vpdpwssd of
 * (m_g, m_g) word pairs with Q8_K's bsums pairs. Q6_K: 16 groups of 16, the
 * "- 32" offset is -32 * d * sum(sc_g * bsums_g), also vpdpwssd. */
typedef struct {
  uint8_t q[NBK][64][RT * 4]; /* [superblock][dword][row lanes] */
  float dsc[NBK][16][RT];     /* d * scale of group g */
  int32_t pair[NBK][8][RT];   /* two int16 per lane: (m_g, m_g) or (sc_2g, sc_2g+1) */
  float dneg[NBK][RT];        /* -dmin (Q4_K/Q5_K), -32 * d (Q6_K) */
} panelk;

static inline __m128i k4_scales_mins(const uint8_t *s) {
  uint32_t u0 = le32(s), u1 = le32(s + 4), u2 = le32(s + 8);
  return _mm_setr_epi32((int)(u0 & 0x3f3f3f3f), (int)((u2 & 0x0f0f0f0f) | ((u0 >> 2) & 0x30303030)),
                        (int)(u1 & 0x3f3f3f3f),
                        (int)(((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 2) & 0x30303030)));
}

static inline __m512i cat256(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
static inline __m512i chunk_nibbles(const uint8_t *q32) {
  __m512i q = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)q32));
  const __m512i shift = cat256(_mm256_setzero_si256(), _mm256_set1_epi16(4));
  return _mm512_and_si512(_mm512_srlv_epi16(q, shift), _mm512_set1_epi8(15));
}

/* One row's superblock into 256 bytes in element order plus its scales
 * (written into lane r of the panel's scale arrays). */
static void unpack_k(tensor_type t, const uint8_t *blk, uint8_t *out, panelk *p, int s, int r) {
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
    __m512i qhv = qh ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qh)) : _mm512_setzero_si512();
    for (int c = 0; c < 4; c++) {
      __m512i q = chunk_nibbles(qs + 32 * c);
      if (qh) {
        __m512i sel = cat256(_mm256_set1_epi8((char)(1 << (2 * c))), _mm256_set1_epi8((char)(2 << (2 * c))));
        q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(qhv, sel), q, _mm512_set1_epi8(16));
      }
      _mm512_store_si512(out + 64 * c, q);
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
    const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
    const __m512i shl = cat256(_mm256_set1_epi16(4), _mm256_set1_epi16(2));
    const __m512i shr = cat256(_mm256_setzero_si256(), _mm256_set1_epi16(2));
    for (int h = 0; h < 2; h++) {
      __m512i ql = _mm512_loadu_si512(b->ql + 64 * h);
      __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b->qh + 32 * h)));
      __m512i A = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m30));
      __m512i B = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                  _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m30));
      _mm512_store_si512(out + 128 * h, A);
      _mm512_store_si512(out + 128 * h + 64, B);
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
  uint8_t tmp[RT][QK_K] __attribute__((aligned(64)));
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

/* G groups of QK_K / G elements per superblock (8 for Q4_K/Q5_K, 16 for
 * Q6_K). */
ALWAYS_INLINE void tilek(const panelk *p, int ns, int G, const block_q8_K *const *x, int nj,
                         __m512 *acc) {
  const int KPG = QK_K / G / 4; /* dwords per group */
  for (int s = 0; s < ns; s++) {
    __m512 blk[JT];
    {
      __m512i c[JT];
UNROLL(8)
      for (int j = 0; j < nj; j++) c[j] = _mm512_setzero_si512();
UNROLL(8)
      for (int g = 0; g < 8; g++) {
        const __m512i pr = _mm512_load_si512(p->pair[s][g]);
        /* Q4_K/Q5_K: m_g * (bsums[2g] + bsums[2g+1]); Q6_K: sc_2g * bsums[2g] + ... */
UNROLL(8)
        for (int j = 0; j < nj; j++) c[j] = _mm512_dpwssd_epi32(c[j], pr, bcast32(x[j][s].bsums + 2 * g));
      }
      const __m512 dn = _mm512_load_ps(p->dneg[s]);
UNROLL(8)
      for (int j = 0; j < nj; j++) blk[j] = _mm512_mul_ps(_mm512_cvtepi32_ps(c[j]), dn);
    }
UNROLL(1)
    for (int g = 0; g < G; g++) {
      __m512i is[JT];
UNROLL(8)
      for (int j = 0; j < nj; j++) is[j] = _mm512_setzero_si512();
UNROLL(8)
      for (int k = 0; k < KPG; k++) {
        const __m512i w = _mm512_load_si512(p->q[s][g * KPG + k]);
UNROLL(8)
        for (int j = 0; j < nj; j++)
          is[j] = _mm512_dpbusd_epi32(is[j], w, bcast32(x[j][s].qs + 4 * (g * KPG + k)));
      }
      const __m512 dsc = _mm512_load_ps(p->dsc[s][g]);
UNROLL(8)
      for (int j = 0; j < nj; j++) blk[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[j]), dsc, blk[j]);
    }
UNROLL(8)
    for (int j = 0; j < nj; j++) acc[j] = _mm512_fmadd_ps(blk[j], _mm512_set1_ps(x[j][s].d), acc[j]);
  }
}

ALWAYS_INLINE void runk(const panelk *p, int n_tiles, int nr, int G, int ns, int s0,
                        const uint8_t *X, size_t xs, int nj, float *Y, int ldy, int first) {
  const block_q8_K *x[JT];
  for (int j = 0; j < nj; j++) x[j] = (const block_q8_K *)(X + (size_t)j * xs) + s0;
  for (int t = 0; t < n_tiles; t++) {
    int nrt = nr - t * RT < RT ? nr - t * RT : RT;
    __mmask16 mask = (__mmask16)((1u << nrt) - 1);
    float *Yt = Y + t * RT;
    __m512 acc[JT];
UNROLL(8)
    for (int j = 0; j < nj; j++)
      acc[j] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, Yt + (size_t)j * ldy);
    tilek(p + t, ns, G, x, nj, acc);
UNROLL(8)
    for (int j = 0; j < nj; j++) store_tile(Yt + (size_t)j * ldy, mask, acc[j]);
  }
}

static void gemmk(tensor_type t, int n, const void *W, size_t rb, int nr, const void *X, size_t xs,
                  int nx, float *Y, int ldy) {
  const int ns_row = n / QK_K;
  panelk p[TILES] __attribute__((aligned(64)));
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
        if (t == TT_Q6_K) {
#define CALL(J) runk(p, nt, nrp, 16, ns, s0, Xj, xs, J, Yt, ldy, s0 == 0)
          DISPATCH_NJ(CALL)
#undef CALL
        } else {
#define CALL(J) runk(p, nt, nrp, 8, ns, s0, Xj, xs, J, Yt, ldy, s0 == 0)
          DISPATCH_NJ(CALL)
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

/* F32/F16/BF16: 4 weight rows x 4 activation rows, 16 products summed per
 * lane along the row, reduced once per tile. */
static inline __m512 ldf(tensor_type t, const void *p, int i, __mmask16 m) {
  if (t == TT_F32) return _mm512_maskz_loadu_ps(m, (const float *)p + i);
  __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i);
  if (t == TT_F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

ALWAYS_INLINE void tilef(tensor_type t, int n, const uint8_t *W, size_t rb, int nr,
                         const uint8_t *X, size_t xs, int nj, float *Y, int ldy) {
  __m512 acc[4][4];
UNROLL(4)
  for (int r = 0; r < nr; r++)
UNROLL(4)
    for (int j = 0; j < nj; j++) acc[r][j] = _mm512_setzero_ps();
  for (int i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
    __m512 x[4];
UNROLL(4)
    for (int j = 0; j < 4; j++) x[j] = j < nj ? ldf(t, X + (size_t)j * xs, i, m) : _mm512_setzero_ps();
UNROLL(4)
    for (int r = 0; r < nr; r++) {
      __m512 w = ldf(t, W + (size_t)r * rb, i, m);
UNROLL(4)
      for (int j = 0; j < nj; j++) acc[r][j] = _mm512_fmadd_ps(w, x[j], acc[r][j]);
    }
  }
  for (int r = 0; r < nr; r++)
    for (int j = 0; j < nj; j++) Y[(size_t)j * ldy + r] = _mm512_reduce_add_ps(acc[r][j]);
}

/* Tiles of 4 weight rows against 1-4 activation rows, and the last rows
 * of a matrix one at a time, all of constant shape (TILEF_NJ). */
static void gemmf(tensor_type t, int n, const void *W, size_t rb, int nr, const void *X, size_t xs,
                  int nx, float *Y, int ldy) {
  for (int r0 = 0; r0 < nr; r0 += 4) {
    const uint8_t *Wr = (const uint8_t *)W + (size_t)r0 * rb;
    for (int j0 = 0; j0 < nx; j0 += 4) {
      const uint8_t *Xj = (const uint8_t *)X + (size_t)j0 * xs;
      float *Yt = Y + (size_t)j0 * ldy + r0;
      int nrt = nr - r0 < 4 ? nr - r0 : 4, nj = nx - j0 < 4 ? nx - j0 : 4;
      if (nrt == 4) {
        TILEF_NJ(4, Wr, Yt);
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

void kernels_fill_gemm_avx512(kernel_table *t) {
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

/* ---- llama numerics: 32-blocks in ggml's per-element order ----------------
 *
 * Every output is what vec_dot computes (kernels.h, "Numerics"): 8 float
 * lanes, lane k taking the int32 sum of dword k of each block, one FMA per
 * block in order, then hsum_float_8's pairing and the min terms' own FMA
 * chain. Here a zmm holds lane k of 16 weight rows, so a block costs 8
 * vpdpbusd, 8 conversions and 8 FMAs per activation row (against 8, 1 and 1
 * in the fast tiles above, which add a block's lanes in int32 first). Rows
 * are packed whole (up to LL_KMAX elements; longer ones take vec_dot per
 * element): dword k of the 16 rows per zmm; signed weights with -128 times
 * each dword's sum, to meet activations made unsigned (x + 128); unsigned
 * ones (Q4_1/Q5_1) meet the Q8_1 bytes as they are. */
#define LL_KMAX 4096
#define LL_NB (LL_KMAX / QK32)

typedef struct {
  uint8_t q[LL_NB][8][RT * 4]; /* [block][dword][row lanes] */
  int32_t corr[LL_NB][8][RT];  /* signed types: -128 * sum of the dword's bytes */
  float d[LL_NB][RT], m[LL_NB][RT];
} panel_llama;

static void pack_llama(tensor_type t, int is_signed, const uint8_t *W, size_t rb, int nr, int nb,
                       panel_llama *p) {
  size_t bb = tensor_type_get(t).block_bytes;
  uint8_t tmp[RT][32] __attribute__((aligned(64)));
  const __m512i ones = _mm512_set1_epi8(1);
  for (int b = 0; b < nb; b++) {
    for (int r = 0; r < RT; r++) {
      __m256i v = _mm256_setzero_si256();
      float d = 0, m = 0;
      if (r < nr) v = unpack32(t, W + (size_t)r * rb + (size_t)b * bb, &d, &m);
      _mm256_store_si256((__m256i *)tmp[r], v);
      p->d[b][r] = d;
      p->m[b][r] = m;
    }
    gather_dwords(&tmp[0][0], 32, 8, &p->q[b][0][0]);
    if (is_signed)
      for (int k = 0; k < 8; k++) {
        __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, _mm512_load_si512(p->q[b][k]));
        _mm512_store_si512(p->corr[b][k], _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 7)));
      }
  }
}

/* hsum_float_8's pairing of the 8 lanes, for 16 rows at once */
static inline __m512 lanes8_sum(const __m512 *a) {
  return _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[4], a[0]), _mm512_add_ps(a[6], a[2])),
                       _mm512_add_ps(_mm512_add_ps(a[5], a[1]), _mm512_add_ps(a[7], a[3])));
}

/* One 16-row panel against NJ (1 or 2) activation rows: bytes xq[j]
 * (contiguous, x + 128 for signed weights), block scales dx[j], Q8_1 sums
 * sx[j]. */
ALWAYS_INLINE void tile_llama(const panel_llama *p, int is_signed, int with_min, int nb,
                              uint8_t (*xq)[LL_KMAX], float (*dx)[LL_NB], float (*sx)[LL_NB],
                              int NJ, float *Y, int ldy, __mmask16 mask) {
  __m512 acc[2][8], summ[2];
  for (int j = 0; j < NJ; j++) {
    summ[j] = _mm512_setzero_ps();
    for (int k = 0; k < 8; k++) acc[j][k] = _mm512_setzero_ps();
  }
  for (int b = 0; b < nb; b++) {
    const __m512 dw = _mm512_load_ps(p->d[b]);
    __m512 dd[2];
    for (int j = 0; j < NJ; j++) dd[j] = _mm512_mul_ps(dw, _mm512_set1_ps(dx[j][b]));
UNROLL(8)
    for (int k = 0; k < 8; k++) {
      const __m512i w = _mm512_load_si512(p->q[b][k]);
      for (int j = 0; j < NJ; j++) {
        const __m512i x = bcast32(xq[j] + 32 * b + 4 * k);
        const __m512i is = is_signed ? _mm512_dpbusd_epi32(_mm512_load_si512(p->corr[b][k]), x, w)
                                     : _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, x);
        acc[j][k] = _mm512_fmadd_ps(dd[j], _mm512_cvtepi32_ps(is), acc[j][k]);
      }
    }
    if (with_min) {
      const __m512 mw = _mm512_load_ps(p->m[b]);
      for (int j = 0; j < NJ; j++) summ[j] = _mm512_fmadd_ps(mw, _mm512_set1_ps(sx[j][b]), summ[j]);
    }
  }
  for (int j = 0; j < NJ; j++) {
    __m512 out = lanes8_sum(acc[j]);
    if (with_min) out = _mm512_add_ps(out, summ[j]);
    store_tile(Y + (size_t)j * ldy, mask, out);
  }
}

static void gemm32_llama(tensor_type t, int n, const void *W, size_t rb, int nr, const void *X,
                         size_t xs, int nx, float *Y, int ldy) {
  const int is_signed = t == TT_Q4_0 || t == TT_Q5_0 || t == TT_Q8_0;
  const int with_min = t == TT_Q4_1 || t == TT_Q5_1;
  const int nb = n / QK32;
  if (n > LL_KMAX) { /* too long to pack: the same sums one dot at a time */
    kern_vec_dot_fn dot = kernels_for_isa_numerics(KERN_ISA_AVX512, KERN_NUM_LLAMA)->types[t].vec_dot;
    for (int j = 0; j < nx; j++)
      for (int r = 0; r < nr; r++)
        Y[(size_t)j * ldy + r] = dot(n, (const uint8_t *)W + (size_t)r * rb, (const uint8_t *)X + (size_t)j * xs);
    return;
  }
  panel_llama p __attribute__((aligned(64)));
  uint8_t xq[2][LL_KMAX] __attribute__((aligned(64)));
  float dx[2][LL_NB], sx[2][LL_NB];
  const __m256i flip = _mm256_set1_epi8(is_signed ? (char)0x80 : 0);
  for (int r0 = 0; r0 < nr; r0 += RT) {
    int rows = nr - r0 < RT ? nr - r0 : RT;
    __mmask16 mask = (__mmask16)((1u << rows) - 1);
    pack_llama(t, is_signed, (const uint8_t *)W + (size_t)r0 * rb, rb, rows, nb, &p);
    for (int j0 = 0; j0 < nx; j0 += 2) {
      int nj = nx - j0 < 2 ? 1 : 2;
      for (int j = 0; j < nj; j++) { /* the row's bytes made contiguous */
        const uint8_t *row = (const uint8_t *)X + (size_t)(j0 + j) * xs;
        for (int b = 0; b < nb; b++) {
          const int8_t *q;
          if (with_min) {
            const block_q8_1 *xb = (const block_q8_1 *)row + b;
            dx[j][b] = h2f(xb->d), sx[j][b] = h2f(xb->s), q = xb->qs;
          } else {
            const block_q8_0 *xb = (const block_q8_0 *)row + b;
            dx[j][b] = h2f(xb->d), q = xb->qs;
          }
          _mm256_store_si256((__m256i *)(xq[j] + 32 * b),
                             _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)q), flip));
        }
      }
      float *Yj = Y + (size_t)j0 * ldy + r0;
      if (nj == 2) tile_llama(&p, is_signed, with_min, nb, xq, dx, sx, 2, Yj, ldy, mask);
      else tile_llama(&p, is_signed, with_min, nb, xq, dx, sx, 1, Yj, ldy, mask);
    }
  }
}

#define GEMM32_LLAMA(name, T)                                                                 \
  static void name(int n, const void *W, size_t rb, int nr, const void *X, size_t xs, int nx, \
                   float *Y, int ldy) {                                                       \
    gemm32_llama(T, n, W, rb, nr, X, xs, nx, Y, ldy);                                         \
  }
GEMM32_LLAMA(gemm_q4_0_llama, TT_Q4_0)
GEMM32_LLAMA(gemm_q4_1_llama, TT_Q4_1)
GEMM32_LLAMA(gemm_q5_0_llama, TT_Q5_0)
GEMM32_LLAMA(gemm_q5_1_llama, TT_Q5_1)
GEMM32_LLAMA(gemm_q8_0_llama, TT_Q8_0)

void kernels_fill_gemm_llama_avx512(kernel_table *t) {
  t->types[TT_Q4_0].gemm = gemm_q4_0_llama;
  t->types[TT_Q4_1].gemm = gemm_q4_1_llama;
  t->types[TT_Q5_0].gemm = gemm_q5_0_llama;
  t->types[TT_Q5_1].gemm = gemm_q5_1_llama;
  t->types[TT_Q8_0].gemm = gemm_q8_0_llama;
}

#else /* built without the AVX-512 flags */
#include "kernels.h"
void kernels_fill_gemm_avx512(kernel_table *t) { (void)t; }
void kernels_fill_gemm_llama_avx512(kernel_table *t) { (void)t; }
#endif
