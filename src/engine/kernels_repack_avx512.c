/* kernels_repack_avx512.c — products of repacked weights (repack.h) with
 * activation rows, on AVX-512 VNNI.
 *
 * One zmm holds 4 weight bytes of each of 16 rows; vpdpbusd with 4
 * activation bytes broadcast adds 64 products into the 16 rows' int32 sums,
 * so a block of 32 elements costs 8 vpdpbusd per activation row and no
 * horizontal sums. A block's unpacked weights stay in registers while up to
 * NC_MAX activation rows (the sequences of a decode step, or a tile of a
 * prompt) use them, so a small batch reads and unpacks each weight once.
 * Each block's int32 sum starts at the correction that makes the unsigned
 * weights signed (-8 or -128 times the activation block's sum), then is
 * scaled by d_w * d_x in float, as vec_dot does. */
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__) && \
    defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "kernels_math_avx512.h"
#include "repack_product.h"

#define NC_MAX 8 /* = the tile size product passes repack_product.h */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

#include "kernels_unroll.h"

typedef rpx_view xrow;

static inline int32_t ld32(const void *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}
#define BX(p) _mm512_set1_epi32(ld32(p))

/* One group (16 rows) against nc activation rows. */
ALWAYS_INLINE void group_product(tensor_type t, int nb, const uint8_t *qs, const xrow *x, int nc,
                                 float *Y, int ldy) {
  const int qb = t == TT_Q8_0 ? 512 : 256;
  const uint16_t *dw = (const uint16_t *)(qs + (size_t)nb * qb);
  const uint16_t *mw = dw + (size_t)nb * 16;
  const __m512i low4 = _mm512_set1_epi8(15);
  __m512 acc[NC_MAX];
  UNROLL(8)
  for (int j = 0; j < nc; j++) acc[j] = _mm512_setzero_ps();
  for (int b = 0; b < nb; b++) {
    const uint8_t *q = qs + (size_t)b * qb;
    /* A few blocks ahead into L1, and far ahead into L2: one core alone
     * does not keep enough lines in flight from DRAM on the hardware
     * prefetcher's word (RP_PREFETCH_L2 in repack_product.h). */
    RP_PREFETCH_BLOCK(q, qb);
    __m512i w[8];
    if (t == TT_Q8_0) {
      UNROLL(8)
      for (int k = 0; k < 8; k++) w[k] = _mm512_load_si512(q + 64 * k);
    } else {
      UNROLL(4)
      for (int k = 0; k < 4; k++) {
        __m512i v = _mm512_load_si512(q + 64 * k);
        w[k] = _mm512_and_si512(v, low4);
        w[4 + k] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      }
    }
    __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(dw + (size_t)b * 16)));
    __m512 m = _mm512_setzero_ps();
    if (t == TT_Q4_1)
      m = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(mw + (size_t)b * 16)));
    UNROLL(8)
    for (int j = 0; j < nc; j++) {
      const int8_t *xb = x[j].qs + (size_t)b * 32;
      __m512i s;
      if (t == TT_Q4_1) s = _mm512_setzero_si512();
      else s = _mm512_set1_epi32(x[j].sum[b]); /* the signed-weights correction */
      if (t == TT_Q8_0) {
        UNROLL(8)
        for (int k = 0; k < 8; k++) s = _mm512_dpbusd_epi32(s, w[k], BX(xb + 4 * k));
      } else if (nc <= 4) {
        /* few rows: two dependency chains per row keep the units busy */
        __m512i s1 = _mm512_setzero_si512();
        UNROLL(4)
        for (int k = 0; k < 4; k++) {
          s = _mm512_dpbusd_epi32(s, w[k], BX(xb + 4 * k));
          s1 = _mm512_dpbusd_epi32(s1, w[4 + k], BX(xb + 16 + 4 * k));
        }
        s = _mm512_add_epi32(s, s1);
      } else {
        UNROLL(4)
        for (int k = 0; k < 4; k++) {
          s = _mm512_dpbusd_epi32(s, w[k], BX(xb + 4 * k));
          s = _mm512_dpbusd_epi32(s, w[4 + k], BX(xb + 16 + 4 * k));
        }
      }
      __m512 dd = _mm512_mul_ps(d, _mm512_set1_ps(x[j].d[b]));
      acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), dd, acc[j]);
      if (t == TT_Q4_1) acc[j] = _mm512_fmadd_ps(m, _mm512_set1_ps(x[j].s[b]), acc[j]);
    }
  }
  UNROLL(8)
  for (int j = 0; j < nc; j++) _mm512_storeu_ps(Y + (size_t)j * ldy, acc[j]);
}


/* ---- F32 / F16 ---------------------------------------------------------------
 * Element k of a group's 16 rows is one zmm (F16: converted on load). G
 * groups (1 or 2) go together against nc activation rows: each x[k]
 * broadcast feeds G FMAs and each weight load nc, so with G = 2 and up to
 * FLOAT_NC rows the loop issues about one load per FMA and keeps 2 x nc
 * independent sums in registers. With few rows the FMA chains are split
 * over P partial sums so the two FMA units are not left waiting on
 * latency (8 chains in flight). */
#define FLOAT_NC 12 /* = the tile size float_product passes repack_product.h */

ALWAYS_INLINE __m512 float_w(tensor_type t, const uint8_t *w, size_t k) {
  return t == TT_F32 ? _mm512_load_ps((const float *)w + k * 16)
                     : _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)((const uint16_t *)w + k * 16)));
}

/* repack.h's epilogue but its GELU, as masked operations (the ones not
 * asked for leave the sums as they are), so that the loops over a tile's
 * rows hold no branch: clang would not unroll them whole with one
 * (-Wpass-failed, an error in `make clang`). */
typedef struct {
  __mmask16 add, mul;
  const float *bias; /* a zero row when there is none (masked out anyway) */
  __m512 scale;
} float_bias_scale;
static const float no_bias[2 * 16];
ALWAYS_INLINE float_bias_scale float_bias_scale_of(const rp_epilogue *ep) {
  float_bias_scale b;
  b.add = ep && ep->bias ? 0xFFFF : 0;
  b.mul = ep && ep->scale != 1.0f ? 0xFFFF : 0;
  b.bias = ep && ep->bias ? ep->bias : no_bias;
  b.scale = _mm512_set1_ps(ep ? ep->scale : 1.0f);
  return b;
}
/* on the 16 rows of group g */
ALWAYS_INLINE __m512 float_bias_scale_apply(const float_bias_scale *b, int g, __m512 v) {
  v = _mm512_mask_add_ps(v, b->add, v, _mm512_maskz_loadu_ps(b->add, b->bias + g * 16));
  return _mm512_mask_mul_ps(v, b->mul, v, b->scale);
}

/* GELU on a tile just stored, from L1, in a function of its own: applied
 * to the sums in registers, its temporaries and constants made GCC keep up
 * to 11 of a tile's 24 sums on the stack throughout the loop (MiniLM F32
 * on a Xeon, 512 tokens: the FFN's first product 16.3 ms a pass against
 * 9.6 with clang's build, Q/K/V with their bias and scale 13.0 against
 * 7.2). The bias and scale stay on the sums in registers. */
static __attribute__((noinline)) void float_gelu_tile(int G, float *Y, int ldy, int nc) {
  for (int j = 0; j < nc; j++)
    for (int g = 0; g < G; g++) {
      float *y = Y + (size_t)j * ldy + g * 16;
      _mm512_storeu_ps(y, gelu_erf_ps(_mm512_loadu_ps(y)));
    }
}

ALWAYS_INLINE void float_groups(tensor_type t, int G, int cols, const uint8_t *w, size_t gb,
                                const xrow *x, int nc, float *Y, int ldy, bool prefetch,
                                const rp_epilogue *ep) {
  const int P = G * nc >= 8 ? 1 : G * nc >= 4 ? 2 : 4;
  const uint8_t *w1 = w + (G > 1 ? gb : 0);
  __m512 acc[4][2][FLOAT_NC];
  UNROLL(4)
  for (int p = 0; p < P; p++) {
    UNROLL(2)
    for (int g = 0; g < G; g++) {
      UNROLL(12)
      for (int j = 0; j < nc; j++) acc[p][g][j] = _mm512_setzero_ps();
    }
  }
  int k = 0;
  for (; k + P <= cols; k += P) {
    UNROLL(4)
    for (int p = 0; p < P; p++) {
      /* The next pair of groups into L2 while this one is worked on: the
       * second tile of rows reads this pair from L2 and would otherwise
       * leave the memory bus idle (cold 1536x384, 19 rows, one thread:
       * 84 -> 100 GFLOP/s). One line per 64 bytes of weights. */
      if (prefetch && (t == TT_F32 || ((k + p) & 1) == 0)) {
        size_t at = (size_t)(k + p) * (t == TT_F32 ? 64 : 32) + (size_t)G * gb;
        _mm_prefetch((const char *)w + at, _MM_HINT_T1);
        if (G > 1) _mm_prefetch((const char *)w1 + at, _MM_HINT_T1);
      }
      __m512 w0v = float_w(t, w, (size_t)(k + p)), w1v = w0v;
      if (G > 1) w1v = float_w(t, w1, (size_t)(k + p));
      UNROLL(12)
      for (int j = 0; j < nc; j++) {
        __m512 xv = _mm512_set1_ps(x[j].d[k + p]);
        acc[p][0][j] = _mm512_fmadd_ps(w0v, xv, acc[p][0][j]);
        if (G > 1) acc[p][1][j] = _mm512_fmadd_ps(w1v, xv, acc[p][1][j]);
      }
    }
  }
  for (; k < cols; k++) {
    __m512 w0v = float_w(t, w, (size_t)k), w1v = w0v;
    if (G > 1) w1v = float_w(t, w1, (size_t)k);
    UNROLL(12)
    for (int j = 0; j < nc; j++) {
      __m512 xv = _mm512_set1_ps(x[j].d[k]);
      acc[0][0][j] = _mm512_fmadd_ps(w0v, xv, acc[0][0][j]);
      if (G > 1) acc[0][1][j] = _mm512_fmadd_ps(w1v, xv, acc[0][1][j]);
    }
  }
  const float_bias_scale bs = float_bias_scale_of(ep);
  UNROLL(2)
  for (int g = 0; g < G; g++) {
    UNROLL(12)
    for (int j = 0; j < nc; j++) {
      __m512 sum = acc[0][g][j];
      UNROLL(4)
      for (int p = 1; p < P; p++) sum = _mm512_add_ps(sum, acc[p][g][j]);
      _mm512_storeu_ps(Y + (size_t)j * ldy + g * 16, float_bias_scale_apply(&bs, g, sum));
    }
  }
  if (ep && ep->gelu) float_gelu_tile(G, Y, ldy, nc);
}

/* Pairs of groups against tiles of up to FLOAT_NC activation rows, as even
 * as the rows allow (repack_product.h), with an epilogue or none (NULL). */
ALWAYS_INLINE void float_tile(tensor_type t, int cols, const uint8_t *w, size_t gb, int G,
                              const xrow *x, int nc, float *y, int ldy, const rp_epilogue *ep) {
  if (G == 2) float_groups(t, 2, cols, w, gb, x, nc, y, ldy, true, ep);
  else float_groups(t, 1, cols, w, gb, x, nc, y, ldy, true, ep);
}
RP_DEFINE_PRODUCT_EP(float_product_prefetching, float_tile, 12, FLOAT_NC * 8, 2, 1)

/* The same without software prefetches, for the row counts of a short text
 * through an encoder whose weights stay in the last-level cache between
 * passes: there the tiles of a pair are too quick for the prefetched pair
 * to arrive in time, its fill buffers hold up the loads the FMAs wait for,
 * and the hardware prefetchers alone follow the two groups' streams
 * better. With fewer rows (memory-bound) or more (a pair's tiles take long
 * enough) prefetching wins. MiniLM on a Xeon with a 480 MB L3 (2 threads,
 * `hearth bench -p N`, tokens/s without/with): F32 8 rows +6-15%, 12
 * +5-8%, 16 +4-5%, 20 +2-6%, but 24 -1-4%, 6 -3%; F16 16 rows +7%, 4 rows
 * +3%, 24 -1.5%. The 250 sentences of bench/embeddings in process: 555 ->
 * 535 ms. Weights streamed from memory want the prefetches at every row
 * count (product_f32_streamed). */
ALWAYS_INLINE void float_tile_unprefetched(tensor_type t, int cols, const uint8_t *w, size_t gb,
                                          int G, const xrow *x, int nc, float *y, int ldy,
                                          const rp_epilogue *ep) {
  if (G == 2) float_groups(t, 2, cols, w, gb, x, nc, y, ldy, false, ep);
  else float_groups(t, 1, cols, w, gb, x, nc, y, ldy, false, ep);
}
RP_DEFINE_PRODUCT_EP(float_product_unprefetched, float_tile_unprefetched, 12, FLOAT_NC * 8, 2, 1)

/* ---- up to 48 activation rows: one group against all of them (a tile of 24 at most) -
 * Two tiles of 8 (or 12) against a pair of groups read each weight from
 * memory in the first tile and from L1 in the second, so the memory bus
 * idles half the time: with the weights in L3 (a short text through an
 * encoder that does not fit L2) a product ran at 70% of its L2-hot speed.
 * Here one group meets all the rows: a single stream of weights, read once
 * and requested XT_PREFETCH bytes ahead into L1, which one core keeps at
 * full speed (16 rows x 384 x 384, 37.7 MB of weights cycled, one thread
 * on a Xeon: 175 -> 230 GFLOP/s, L2-hot 233; 20 rows 194 -> 229). Its up
 * to 24 sums leave no registers for a pointer per row (GCC then kept them
 * on the stack: 176 GFLOP/s), so each block of columns of the rows is
 * first transposed onto the stack (xt[k * n + j] = X_j[k]) and the loop
 * reads every x[k] from one pointer. Turning the rows once in the forward
 * for both threads was slower than each thread turning them for itself
 * (half of them written by the other core, read in the open instead of
 * under the FMAs): MiniLM F32, 16 tokens, 2 threads 12,350 against 13,350
 * tokens/s (the two tiles: 11,700). */
#define XT_PREFETCH 1024
#define XT_TILE 24 /* rows of one tile: its sums, the weight and a broadcast fill the registers */

/* 16 rows of 16 floats (r[j] = row j) into 16 columns (r[k] = element k of
 * every row). */
ALWAYS_INLINE void transpose16(__m512 r[16]) {
  __m512 a[16], b[16];
  UNROLL(8)
  for (int i = 0; i < 8; i++) {
    a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  UNROLL(4)
  for (int i = 0; i < 4; i++) {
    __m512d a0 = _mm512_castps_pd(a[4 * i]), a1 = _mm512_castps_pd(a[4 * i + 1]);
    __m512d a2 = _mm512_castps_pd(a[4 * i + 2]), a3 = _mm512_castps_pd(a[4 * i + 3]);
    b[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
    b[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
    b[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
    b[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
  }
  /* b[4i + m], 128-bit lane L: element 4L + m of rows 4i..4i+3 */
  UNROLL(4)
  for (int m = 0; m < 4; m++) {
    __m512 u0 = _mm512_shuffle_f32x4(b[m], b[4 + m], 0x44);
    __m512 u1 = _mm512_shuffle_f32x4(b[m], b[4 + m], 0xEE);
    __m512 v0 = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], 0x44);
    __m512 v1 = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], 0xEE);
    r[m] = _mm512_shuffle_f32x4(u0, v0, 0x88);
    r[4 + m] = _mm512_shuffle_f32x4(u0, v0, 0xDD);
    r[8 + m] = _mm512_shuffle_f32x4(u1, v1, 0x88);
    r[12 + m] = _mm512_shuffle_f32x4(u1, v1, 0xDD);
  }
}

/* kern_transpose: xt[k * ld + j] = X_j[k] for n rows of cols floats, xs
 * bytes apart, 0 for n <= j < ld; blocks of 16 rows by 16 columns through
 * registers, each column stored into its k's ld floats. */
static void transpose_rows(const float *X, size_t xs, int n, int ld, int cols, float *xt) {
  for (int j0 = 0; j0 < ld; j0 += 16) {
    const int nr = ld - j0 < 16 ? ld - j0 : 16;        /* rows stored */
    const int nl = n - j0 < 0 ? 0 : n - j0 < nr ? n - j0 : nr; /* of them loaded, the rest 0 */
    const __mmask16 row_mask = (__mmask16)((1u << nr) - 1);
    const uint8_t *X0 = (const uint8_t *)X + (size_t)j0 * xs;
    for (int k0 = 0; k0 < cols; k0 += 16) {
      const int kn = cols - k0 < 16 ? cols - k0 : 16;
      const __mmask16 m = (__mmask16)((1u << kn) - 1);
      __m512 r[16];
      UNROLL(16)
      for (int j = 0; j < 16; j++)
        r[j] = j < nl ? _mm512_maskz_loadu_ps(m, (const float *)(X0 + (size_t)j * xs) + k0)
                      : _mm512_setzero_ps();
      transpose16(r);
      UNROLL(16)
      for (int k = 0; k < kn; k++)
        _mm512_mask_storeu_ps(xt + (size_t)(k0 + k) * ld + j0, row_mask, r[k]);
    }
  }
}

/* Columns k0..k1-1 of one group at w against the NC transposed rows xt
 * (at column k0), into Y: from 0 when k0 is 0, else on from the sums Y
 * holds; ep (NULL: none) on the way out. */
ALWAYS_INLINE void float_group_xt(tensor_type t, int k0, int k1, const uint8_t *w, const float *xt,
                                  int NC, float *Y, int ldy, const uint8_t *next,
                                  const rp_epilogue *ep) {
  const size_t wk = t == TT_F32 ? 64 : 32;
  const int ahead = XT_PREFETCH / (int)wk; /* columns */
  __m512 acc[XT_TILE];
  UNROLL(24)
  for (int j = 0; j < NC; j++)
    acc[j] = k0 ? _mm512_loadu_ps(Y + (size_t)j * ldy) : _mm512_setzero_ps();
  /* the prefetches run on into the next run of weights (next: the group
   * after this one, at column k0), so that it starts from L1 */
  const char *pf = (const char *)w + (size_t)k0 * wk + XT_PREFETCH;
  const int k_switch = k1 - ahead > k0 ? k1 - ahead : k0;
  for (int k = k0; k < k1; k++, xt += NC, pf += wk) {
    if (k == k_switch) pf = (const char *)next + (size_t)k0 * wk + (size_t)(k - k_switch) * wk;
    if (t == TT_F32 || (k & 1) == 0) _mm_prefetch(pf, _MM_HINT_T0);
    __m512 wv = float_w(t, w, (size_t)k);
    UNROLL(24)
    for (int j = 0; j < NC; j++) acc[j] = _mm512_fmadd_ps(wv, _mm512_set1_ps(xt[j]), acc[j]);
  }
  const float_bias_scale bs = float_bias_scale_of(ep);
  UNROLL(24)
  for (int j = 0; j < NC; j++) _mm512_storeu_ps(Y + (size_t)j * ldy, float_bias_scale_apply(&bs, 0, acc[j]));
  if (ep && ep->gelu) float_gelu_tile(1, Y, ldy, NC);
}

/* Rows wider than a block go through every group a block of columns at a
 * time (XT_KB, XT_KB_WIDE past 16 rows: ~16 KB of transposed rows), so
 * that their slice of xt stays in L1 for all the groups (read from L2 for
 * each group, the 96 KB of 16 rows of 1536 took away the gain: 16 x 1536 x
 * 384, one thread, 171 -> 176 GFLOP/s; in blocks 206). The FMA chains
 * continue through Y. */
#ifndef XT_KB
#define XT_KB 256
#endif
#ifndef XT_KB_WIDE
#define XT_KB_WIDE 192
#endif
#define XT_KB_TWO 128 /* two tiles: 2 x 24 x 128 floats, 24 KB */
/* float_product_via_xt_'s stack block holds any of them */
_Static_assert(XT_KB * 16 <= XT_KB * XT_TILE && XT_KB_WIDE * XT_TILE <= XT_KB * XT_TILE &&
                   2 * XT_KB_TWO * XT_TILE <= XT_KB * XT_TILE && RP_XT_MAX <= 2 * XT_TILE,
               "the transposed rows outgrow their stack block");
static inline int xt_block_cols(int n_x) { return n_x > 16 ? XT_KB_WIDE : XT_KB; }

/* One group's columns k0..k1-1 against a tile of n transposed rows xb. */
ALWAYS_INLINE void float_tile_xt(tensor_type t, int k0, int k1, const uint8_t *w, const float *xb,
                                 int n, float *y, int ldy, const uint8_t *next,
                                 const rp_epilogue *epg) {
#define XT_CASE(N) \
  case N: float_group_xt(t, k0, k1, w, xb, N, y, ldy, next, epg); break;
  switch (n) {
    XT_CASE(1) XT_CASE(2) XT_CASE(3) XT_CASE(4) XT_CASE(5) XT_CASE(6) XT_CASE(7) XT_CASE(8)
    XT_CASE(9) XT_CASE(10) XT_CASE(11) XT_CASE(12) XT_CASE(13) XT_CASE(14) XT_CASE(15)
    XT_CASE(16) XT_CASE(17) XT_CASE(18) XT_CASE(19) XT_CASE(20) XT_CASE(21) XT_CASE(22)
    XT_CASE(23)
  default: float_group_xt(t, k0, k1, w, xb, XT_TILE, y, ldy, next, epg); break;
  }
#undef XT_CASE
}

/* Columns k0..k1-1 of all n_groups groups against the n1 transposed rows
 * xb1 and the n2 (0: none) of xb2 after them: each group's block goes
 * through both tiles while it is in L1. */
ALWAYS_INLINE void float_block_xt(tensor_type t, int k0, int k1, bool last, const void *W, size_t gb,
                                  int n_groups, const float *xb1, int n1, const float *xb2, int n2,
                                  float *Y, int ldy, const rp_epilogue *ep) {
  for (int g = 0; g < n_groups; g++) {
    const uint8_t *w = (const uint8_t *)W + (size_t)g * gb;
    rp_epilogue epg_, *epg = NULL;
    if (ep && last) {
      epg_ = *ep;
      if (epg_.bias) epg_.bias += (size_t)g * 16;
      epg = &epg_;
    }
    float *y = Y + (size_t)g * 16;
    const uint8_t *next = w + gb; /* past the last group: a prefetch does not fault */
    float_tile_xt(t, k0, k1, w, xb1, n1, y, ldy, next, epg);
    if (n2) float_tile_xt(t, k0, k1, w, xb2, n2, y + (size_t)n1 * ldy, ldy, next, epg);
  }
}

/* The row counts taken transposed: F32 from 1 (with few rows a product is
 * bound by the one stream of weights; 2 threads, 4-7 tokens +3-10%) to 48
 * (past one tile of 24, two tiles meet each group's block while it is in
 * L1: 25 tokens +3%, 32 +5%, 48 +2%), F16 from 13 (half the bytes: fewer
 * than 8 sums leave the FMAs waiting on their latency, 4 tokens -13%, 8
 * -3%) to 24. Each block of columns is transposed on the stack, then goes
 * through every group. Not two tiles against fewer than XT_MIN_GROUPS
 * groups (an attention head's values: 2 groups, 48 queries), where they
 * lose to the pair kernel: 512-token text, attention 9.9 -> 10.8 ms (one
 * tile against them is as fast: 16 tokens -1% without). */
#define XT_MIN_GROUPS 4
#define XT_MIN_F32 1
#define XT_MIN_F16 13
#define XT_MAX_F32 RP_XT_MAX
#define XT_MAX_F16 XT_TILE /* two tiles: 32 and 48 tokens -3%, -5% */
static bool xt_off; /* HEARTH_FLOAT_XT=0: the pair tiles at every row count (comparisons) */
static inline bool float_rows_xt(tensor_type t, int n_x, int n_groups) {
  if (xt_off || (n_x > XT_TILE && n_groups < XT_MIN_GROUPS)) return false;
  return t == TT_F32 ? n_x >= XT_MIN_F32 && n_x <= XT_MAX_F32
                     : n_x >= XT_MIN_F16 && n_x <= XT_MAX_F16;
}
ALWAYS_INLINE void float_product_via_xt_(tensor_type t, int cols, const void *W, size_t gb,
                                         int n_groups, const void *X, size_t xs, int n_x, float *Y,
                                         int ldy, const rp_epilogue *ep) {
  _Alignas(64) float xb[XT_KB * XT_TILE]; /* = 2 tiles x XT_KB_TWO columns */
  const int n1 = n_x > XT_TILE ? (n_x + 1) / 2 : n_x, n2 = n_x - n1;
  const int kb = n2 ? XT_KB_TWO : xt_block_cols(n_x);
  float *xb2 = xb + (size_t)XT_KB_TWO * XT_TILE;
  for (int k0 = 0; k0 < cols; k0 += kb) {
    const int k1 = cols - k0 < kb ? cols : k0 + kb;
    transpose_rows((const float *)X + k0, xs, n1, n1, k1 - k0, xb);
    if (n2) transpose_rows((const float *)((const uint8_t *)X + (size_t)n1 * xs) + k0, xs, n2, n2, k1 - k0, xb2);
    float_block_xt(t, k0, k1, k1 == cols, W, gb, n_groups, xb, n1, xb2, n2, Y, ldy, ep);
  }
}
static void float_product_via_xt(tensor_type t, int cols, const void *W, size_t gb, int n_groups,
                                 const void *X, size_t xs, int n_x, float *Y, int ldy,
                                 const rp_epilogue *ep) {
  if (t == TT_F32) float_product_via_xt_(TT_F32, cols, W, gb, n_groups, X, xs, n_x, Y, ldy, ep);
  else float_product_via_xt_(TT_F16, cols, W, gb, n_groups, X, xs, n_x, Y, ldy, ep);
}

ALWAYS_INLINE void float_product(tensor_type t, int cols, const void *W, size_t gb, int n_groups,
                                 const void *X, size_t xs, int n_x, float *Y, int ldy,
                                 const rp_epilogue *ep) {
  if (float_rows_xt(t, n_x, n_groups))
    float_product_via_xt(t, cols, W, gb, n_groups, X, xs, n_x, Y, ldy, ep);
  else if (n_x <= 20 && (n_x >= 8 || t == TT_F16))
    float_product_unprefetched(t, cols, W, gb, n_groups, X, xs, n_x, Y, ldy, ep);
  else
    float_product_prefetching(t, cols, W, gb, n_groups, X, xs, n_x, Y, ldy, ep);
}

/* Quantized weights: one group against tiles of NC_MAX activation rows, the
 * rest in one smaller tile (repack_product.h). */
ALWAYS_INLINE void quant_tile(tensor_type t, int cols, const uint8_t *w, size_t gb, int G,
                              const xrow *x, int nc, float *y, int ldy) {
  (void)gb, (void)G;
  group_product(t, cols / 32, w, x, nc, y, ldy);
}
RP_DEFINE_PRODUCT(product, quant_tile, 8, NC_MAX * 8, 1, 0)

RP_DEFINE_ENTRY(product_q4_0, product, TT_Q4_0)
RP_DEFINE_ENTRY(product_q4_1, product, TT_Q4_1)
RP_DEFINE_ENTRY(product_q8_0, product, TT_Q8_0)

/* Weights that come from memory on every pass (an encoder larger than half
 * the last-level cache) take float_product_prefetching at every row count:
 * the bus must be kept busy while the FMAs work. MiniLM on a Zen 4 with a
 * 32 MB L3 (2 threads, `hearth bench -p 16`, medians of alternated runs):
 * F32 (42 MB) 5,600 -> 6,400 tokens/s, F16 (21 MB) 6,370 -> 6,820. Not
 * the transposed rows either, whose one stream of weights, prefetched 1
 * KB ahead, keeps up with L3 but not with memory: the same Zen 4, F32, 4
 * tokens 2,700 against 4,740 tokens/s, 16 tokens 6,950 against 7,950 (4
 * or 8 KB ahead: 3,220-3,290 and 7,720-7,750). */
RP_DEFINE_FLOAT_ENTRIES(float_product, float_product_prefetching)

/* Through the entries' own functions, not their bodies inlined here: one
 * function holding all five types' unrolled tiles came out 12% slower
 * (TinyLlama-shape Q4_0, 4 sequences decoding: 146 against 168 tok/s
 * when the AMX table sent its small products here). */
void rp_product_avx512(tensor_type t, int cols, const void *W, size_t gb, int ng, const void *X,
                       size_t xs, int nx, float *Y, int ldy) {
  static rp_matmul_fn const by_type[TT_COUNT_] = {
      [TT_Q4_0] = product_q4_0, [TT_Q4_1] = product_q4_1, [TT_Q8_0] = product_q8_0,
      [TT_F32] = product_f32,   [TT_F16] = product_f16,
  };
  if ((unsigned)t < TT_COUNT_ && by_type[t]) by_type[t](t, cols, W, gb, ng, X, xs, nx, Y, ldy);
}

void kernels_fill_repack_avx512(kernel_table *t) {
  RP_FILL_FLOAT_ENTRIES(t);
  t->transpose = transpose_rows;
  const char *xt = getenv("HEARTH_FLOAT_XT");
  xt_off = xt && !strcmp(xt, "0");
  if (!xt_off) {
    t->types[TT_F32].rp_xt_min = XT_MIN_F32;
    t->types[TT_F16].rp_xt_min = XT_MIN_F16;
    t->types[TT_F32].rp_xt_max = XT_MAX_F32;
    t->types[TT_F16].rp_xt_max = XT_MAX_F16;
  }
  t->types[TT_Q4_0].rp_matmul = product_q4_0;
  t->types[TT_Q4_1].rp_matmul = product_q4_1;
  t->types[TT_Q8_0].rp_matmul = product_q8_0;
}

#else /* built without the AVX-512 flags */
#include "kernels.h"
void kernels_fill_repack_avx512(kernel_table *t) { (void)t; }
void rp_product_avx512(tensor_type t, int cols, const void *W, size_t gb, int ng, const void *X,
                       size_t xs, int nx, float *Y, int ldy) {
  (void)t, (void)cols, (void)W, (void)gb, (void)ng, (void)X, (void)xs, (void)nx, (void)Y, (void)ldy;
}
#endif
