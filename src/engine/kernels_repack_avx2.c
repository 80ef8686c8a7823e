/* kernels_repack_avx2.c — products of repacked Q4_0/Q4_1/Q8_0 weights
 * (repack.h) with activation rows, on AVX2 (no VNNI).
 *
 * A group's 64-byte dword rows split into two ymm halves (rows 0-7, 8-15).
 * vpmaddubsw multiplies the unsigned nibbles by the broadcast signed
 * activation bytes into 16-bit pair sums; a block's eight such products fit
 * 16 bits (8 x 2 x 15 x 127 < 32768), so they are added as 16-bit lanes and
 * widened once per block with vpmaddwd. Nibbles are unpacked again for each
 * activation row (the loads hit L1): with 16 registers that costs less than
 * spilling; four rows at a time the tile is scheduled by hand. Q8_0's
 * bytes are read as two nibbles each (see below). An encoder's F32/F16
 * matrices are here too, as FMA tiles. */
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include <string.h>

#include "forward.h" /* ab_off: `hearth bench --ab f16-group` */
#include "kernels.h"
#include "kernels_math_avx2.h"
#include "repack_product.h"

#define NC_MAX 4 /* = the tile size product passes repack_product.h */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

#include "kernels_unroll.h"

typedef rpx_view xrow;

/* nc activation rows' sums of a group's two halves into Y (ldy apart) */
#define STORE_ROWS(Y, ldy, acc, nc)                                \
  do {                                                             \
    UNROLL(6)                                                      \
    for (int j_ = 0; j_ < (nc); j_++) {                            \
      _mm256_storeu_ps((Y) + (size_t)j_ * (ldy), (acc)[j_][0]);     \
      _mm256_storeu_ps((Y) + (size_t)j_ * (ldy) + 8, (acc)[j_][1]); \
    }                                                              \
  } while (0)

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
  STORE_ROWS(Y, ldy, acc, nc);
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


/* ---- four activation rows against one group, scheduled by hand ---------
 * GCC 12 and clang 14 keep the broadcast constants of half_product in
 * registers and spill the sums (10+ ymm spills a block). Here each register
 * has one role for a whole block: ymm4-7 a half's weight vectors (low
 * nibbles, then high), ymm8-11 the four rows' 16-bit sums, ymm12-13
 * broadcasts, ymm14 the weight scales, ymm15 the nibble mask, then ones.
 * The rows are reached through their starts r0-r3 and three offsets into
 * the rpx layout (repack.h): the block's bytes (iq), its scale (id) and its
 * correction (Q4_0 sum) or Q8_1 s (Q4_1) (ic). On Zen 3 this runs a
 * 2048-column product 74 -> 86 G multiply-adds a second on one core. */
static const int8_t low4_mask[32] __attribute__((aligned(32))) = {
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15};
static const int16_t ones16[16] __attribute__((aligned(32))) = {1, 1, 1, 1, 1, 1, 1, 1,
                                                                1, 1, 1, 1, 1, 1, 1, 1};

/* a row's four products of the half's weight vectors ymm4-7 with the
 * activation bytes at OFF of its block, into the 16-bit sums ymm S */
#define ROW4(R, OFF, S, FIRST)                                                          \
  "vpbroadcastd " #OFF "+0(%[" R "],%[iq]), %%ymm12\n\t"                                \
  "vpbroadcastd " #OFF "+4(%[" R "],%[iq]), %%ymm13\n\t"                                \
  FIRST("vpmaddubsw %%ymm12, %%ymm4, %%ymm" S "\n\t",                                   \
        "vpmaddubsw %%ymm12, %%ymm4, %%ymm12\n\tvpaddw %%ymm12, %%ymm" S ", %%ymm" S "\n\t") \
  "vpmaddubsw %%ymm13, %%ymm5, %%ymm13\n\t"                                             \
  "vpaddw %%ymm13, %%ymm" S ", %%ymm" S "\n\t"                                          \
  "vpbroadcastd " #OFF "+8(%[" R "],%[iq]), %%ymm12\n\t"                                \
  "vpbroadcastd " #OFF "+12(%[" R "],%[iq]), %%ymm13\n\t"                               \
  "vpmaddubsw %%ymm12, %%ymm6, %%ymm12\n\t"                                             \
  "vpaddw %%ymm12, %%ymm" S ", %%ymm" S "\n\t"                                          \
  "vpmaddubsw %%ymm13, %%ymm7, %%ymm13\n\t"                                             \
  "vpaddw %%ymm13, %%ymm" S ", %%ymm" S "\n\t"
#define FIRST_SET(set, add) set
#define FIRST_ADD(set, add) add

/* Q4_0: widen row R's sums S, add the correction, scale, accumulate */
#define TAIL_Q4_0(R, S, ACC)                                                 \
  "vpmaddwd %%ymm15, %%ymm" S ", %%ymm" S "\n\t"                             \
  "vpbroadcastd (%[" R "],%[ic]), %%ymm12\n\t"                               \
  "vpaddd %%ymm12, %%ymm" S ", %%ymm" S "\n\t"                               \
  "vcvtdq2ps %%ymm" S ", %%ymm" S "\n\t"                                     \
  "vbroadcastss (%[" R "],%[id]), %%ymm13\n\t"                               \
  "vmulps %%ymm14, %%ymm13, %%ymm13\n\t"                                     \
  "vfmadd231ps %%ymm13, %%ymm" S ", %[" ACC "]\n\t"
/* Q4_1: no correction; the mins (ymm5 by then) times s */
#define TAIL_Q4_1(R, S, ACC)                                                 \
  "vpmaddwd %%ymm15, %%ymm" S ", %%ymm" S "\n\t"                             \
  "vcvtdq2ps %%ymm" S ", %%ymm" S "\n\t"                                     \
  "vbroadcastss (%[" R "],%[id]), %%ymm13\n\t"                               \
  "vmulps %%ymm14, %%ymm13, %%ymm13\n\t"                                     \
  "vfmadd231ps %%ymm13, %%ymm" S ", %[" ACC "]\n\t"                          \
  "vbroadcastss (%[" R "],%[ic]), %%ymm13\n\t"                               \
  "vfmadd231ps %%ymm13, %%ymm5, %[" ACC "]\n\t"

/* nibbles of dwords 4G..4G+3 of a block (Q4: G = 0; Q8_0: 0, 1) into
 * ymm4-7, the low ones or the high ones (the mask in ymm15) */
#define NIB_LOW(G)                                                            \
  "vpand " #G "*256+0(%[q]), %%ymm15, %%ymm4\n\t"                            \
  "vpand " #G "*256+64(%[q]), %%ymm15, %%ymm5\n\t"                           \
  "vpand " #G "*256+128(%[q]), %%ymm15, %%ymm6\n\t"                          \
  "vpand " #G "*256+192(%[q]), %%ymm15, %%ymm7\n\t"
#define NIB_HIGH(G)                                                           \
  "vmovdqa " #G "*256+0(%[q]), %%ymm4\n\t"                                   \
  "vmovdqa " #G "*256+64(%[q]), %%ymm5\n\t"                                  \
  "vmovdqa " #G "*256+128(%[q]), %%ymm6\n\t"                                 \
  "vmovdqa " #G "*256+192(%[q]), %%ymm7\n\t"                                 \
  "vpsrlw $4, %%ymm4, %%ymm4\n\t"                                            \
  "vpsrlw $4, %%ymm5, %%ymm5\n\t"                                            \
  "vpsrlw $4, %%ymm6, %%ymm6\n\t"                                            \
  "vpsrlw $4, %%ymm7, %%ymm7\n\t"                                            \
  "vpand %%ymm15, %%ymm4, %%ymm4\n\t"                                        \
  "vpand %%ymm15, %%ymm5, %%ymm5\n\t"                                        \
  "vpand %%ymm15, %%ymm6, %%ymm6\n\t"                                        \
  "vpand %%ymm15, %%ymm7, %%ymm7\n\t"
/* the four rows' products with ymm4-7 at activation offset OFF */
#define ROWS4(OFF, FIRST)                                                    \
  ROW4("r0", OFF, "8", FIRST) ROW4("r1", OFF, "9", FIRST)                    \
  ROW4("r2", OFF, "10", FIRST) ROW4("r3", OFF, "11", FIRST)

#define HALF_BODY(TAIL, MINS)                                                \
  "vmovdqa %[low4], %%ymm15\n\t"                                             \
  NIB_LOW(0) ROWS4(0, FIRST_SET)                                             \
  NIB_HIGH(0) ROWS4(16, FIRST_ADD)                                           \
  "vmovdqa %[ones], %%ymm15\n\t"                                             \
  "vcvtph2ps (%[dw]), %%ymm14\n\t"                                           \
  MINS                                                                       \
  TAIL("r0", "8", "a0") TAIL("r1", "9", "a1") TAIL("r2", "10", "a2") TAIL("r3", "11", "a3")

#define HALF_CLOBBERS                                                                            \
  "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", \
      "xmm15"


/* ---- Q8_0 ------------------------------------------------------------------
 * The packed bytes are w + 128 (repack.h): too wide for vpmaddubsw, whose
 * pair sums would saturate 16 bits. Each byte u = 16 hi + lo is taken as
 * its two nibbles instead, so every product is a Q4-sized one whose eight
 * pair sums fit 16 bits: sum u x = 16 sum hi x + sum lo x, and the rows'
 * correction (-128 sum x, in the activation row) makes it sum w x. Twice
 * the vpmaddubsw of Q4_0 per weight, a quarter of F32's bytes: on Zen 3 a
 * 16-token MiniLM text 4.3 -> 2.3 ms (the GGUF-layout product repacked
 * its panels on every call); a prompt as fast as that product (~43 G
 * multiply-adds a second a core). */
static const int16_t sixteens16[16] __attribute__((aligned(32))) = {16, 16, 16, 16, 16, 16, 16, 16,
                                                                    16, 16, 16, 16, 16, 16, 16, 16};

/* the four rows' sums over one nibble of all eight dwords */
#define Q8_ROWS(NIB)                                                         \
  "vmovdqa %[low4], %%ymm15\n\t"                                             \
  NIB(0) ROWS4(0, FIRST_SET)                                                 \
  NIB(1) ROWS4(16, FIRST_ADD)
/* the high nibbles' sums: times 16 as they widen, then scaled */
#define TAIL_Q8_HIGH(R, S, ACC)                                              \
  "vpmaddwd %%ymm15, %%ymm" S ", %%ymm" S "\n\t"                             \
  "vcvtdq2ps %%ymm" S ", %%ymm" S "\n\t"                                     \
  "vbroadcastss (%[" R "],%[id]), %%ymm13\n\t"                               \
  "vmulps %%ymm14, %%ymm13, %%ymm13\n\t"                                     \
  "vfmadd231ps %%ymm13, %%ymm" S ", %[" ACC "]\n\t"
#define Q8_BODY                                                              \
  Q8_ROWS(NIB_LOW)                                                            \
  "vmovdqa %[ones], %%ymm15\n\t"                                             \
  "vcvtph2ps (%[dw]), %%ymm14\n\t"                                           \
  TAIL_Q4_0("r0", "8", "a0") TAIL_Q4_0("r1", "9", "a1")                      \
  TAIL_Q4_0("r2", "10", "a2") TAIL_Q4_0("r3", "11", "a3")                    \
  Q8_ROWS(NIB_HIGH)                                                           \
  "vmovdqa %[sixteens], %%ymm15\n\t"                                         \
  TAIL_Q8_HIGH("r0", "8", "a0") TAIL_Q8_HIGH("r1", "9", "a1")                \
  TAIL_Q8_HIGH("r2", "10", "a2") TAIL_Q8_HIGH("r3", "11", "a3")

/* One to three rows (decode steps): both halves per block in one pass over
 * the group, one row at a time from L1. */
ALWAYS_INLINE void group_product_q8_few(int nb, const uint8_t *qs, const xrow *x, int nc, float *Y,
                                        int ldy) {
  const uint16_t *dw = (const uint16_t *)(qs + (size_t)nb * 512);
  const __m256i low4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
  __m256 acc[3][2];
  UNROLL(3)
  for (int j = 0; j < nc; j++) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
  for (int b = 0; b < nb; b++) {
    const uint8_t *q = qs + (size_t)b * 512;
    RP_PREFETCH_BLOCK(q, 512);
    UNROLL(2)
    for (int h = 0; h < 2; h++) {
      __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(dw + (size_t)b * 16 + 8 * h)));
      UNROLL(3)
      for (int j = 0; j < nc; j++) {
        const int8_t *xb = x[j].qs + (size_t)b * 32;
        __m256i lo16 = _mm256_setzero_si256(), hi16 = lo16;
        UNROLL(8)
        for (int k = 0; k < 8; k++) {
          __m256i v = _mm256_load_si256((const __m256i *)(q + 64 * k + 32 * h)), xv = BX(xb + 4 * k);
          lo16 = _mm256_add_epi16(lo16, _mm256_maddubs_epi16(_mm256_and_si256(v, low4), xv));
          hi16 = _mm256_add_epi16(hi16, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), xv));
        }
        __m256i s = _mm256_add_epi32(_mm256_madd_epi16(lo16, ones), _mm256_slli_epi32(_mm256_madd_epi16(hi16, ones), 4));
        s = _mm256_add_epi32(s, _mm256_set1_epi32(x[j].sum[b]));
        acc[j][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(d, _mm256_set1_ps(x[j].d[b])), acc[j][h]);
      }
    }
  }
  STORE_ROWS(Y, ldy, acc, nc);
}

/* One half (h) of a group against four activation rows (their starts r),
 * every block, into Y[j * ldy + 8h ..]. */
ALWAYS_INLINE void half_product4(tensor_type t, int nb, const uint8_t *qs, int h,
                                 const uint8_t *const r[4], size_t qs_off, float *Y, int ldy) {
  const int qb = t == TT_Q8_0 ? 512 : 256; /* bytes of a block's weights */
  const uint16_t *dw = (const uint16_t *)(qs + (size_t)nb * qb) + 8 * h;
  const uint16_t *mw = dw + (size_t)nb * 16;
  /* the Q4_0/Q8_0 sums follow d and s; Q4_1's s follows d (repack.h) */
  size_t c_off = (size_t)nb * 4 * (t == TT_Q4_1 ? 1 : 2);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  /* The block asm reads memory it does not declare (a "memory" clobber on
   * each would reload the loop's state: -7%): this barrier puts every
   * earlier store before it, and volatile keeps the blocks after it. */
  __asm__ __volatile__("" ::: "memory");
  for (int b = 0; b < nb; b++) {
    const uint8_t *q = qs + (size_t)b * qb;
    if (h == 0) RP_PREFETCH_BLOCK(q, qb);
    q += 32 * h;
    size_t id = (size_t)b * 4, iq = qs_off + (size_t)b * 32, ic = c_off + (size_t)b * 4;
    const uint16_t *dwb = dw + (size_t)b * 16, *mwb = mw + (size_t)b * 16;
    if (t == TT_Q4_0)
      __asm__ __volatile__(HALF_BODY(TAIL_Q4_0, "")
              : [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3)
              : [q] "r"(q), [dw] "r"(dwb), [r0] "r"(r[0]), [r1] "r"(r[1]), [r2] "r"(r[2]),
                [r3] "r"(r[3]), [id] "r"(id), [iq] "r"(iq), [ic] "r"(ic), [low4] "m"(low4_mask),
                [ones] "m"(ones16)
              : HALF_CLOBBERS);
    else if (t == TT_Q4_1)
      __asm__ __volatile__(HALF_BODY(TAIL_Q4_1, "vcvtph2ps (%[mw]), %%ymm5\n\t")
              : [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3)
              : [q] "r"(q), [dw] "r"(dwb), [mw] "r"(mwb), [r0] "r"(r[0]), [r1] "r"(r[1]),
                [r2] "r"(r[2]), [r3] "r"(r[3]), [id] "r"(id), [iq] "r"(iq), [ic] "r"(ic),
                [low4] "m"(low4_mask), [ones] "m"(ones16)
              : HALF_CLOBBERS);
    else
      __asm__ __volatile__(Q8_BODY
              : [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3)
              : [q] "r"(q), [dw] "r"(dwb), [r0] "r"(r[0]), [r1] "r"(r[1]), [r2] "r"(r[2]),
                [r3] "r"(r[3]), [id] "r"(id), [iq] "r"(iq), [ic] "r"(ic), [low4] "m"(low4_mask),
                [ones] "m"(ones16), [sixteens] "m"(sixteens16)
              : HALF_CLOBBERS);
  }
  _mm256_storeu_ps(Y + 8 * h, a0);
  _mm256_storeu_ps(Y + (size_t)ldy + 8 * h, a1);
  _mm256_storeu_ps(Y + (size_t)2 * ldy + 8 * h, a2);
  _mm256_storeu_ps(Y + (size_t)3 * ldy + 8 * h, a3);
}

/* One group against nc activation rows: four at a time by hand, the rest
 * (and decode-sized calls) through the intrinsics above. */
ALWAYS_INLINE void quant_tile(tensor_type t, int cols, const uint8_t *w, size_t gb, int G,
                              const xrow *x, int nc, float *y, int ldy) {
  (void)gb, (void)G;
  if (nc < 4) {
    if (t == TT_Q8_0) group_product_q8_few(cols / 32, w, x, nc, y, ldy);
    else group_product(t, cols / 32, w, x, nc, y, ldy);
    return;
  }
  const uint8_t *r[4];
  for (int j = 0; j < 4; j++) r[j] = (const uint8_t *)x[j].d;
  size_t qs_off = rpx_qs_offset(cols);
  half_product4(t, cols / 32, w, 0, r, qs_off, y, ldy);
  half_product4(t, cols / 32, w, 1, r, qs_off, y, ldy); /* the group's bytes are in L1/L2 now */
}
RP_DEFINE_PRODUCT(product, quant_tile, 4, NC_MAX * 8, 1, 0)

RP_DEFINE_ENTRY(product_q4_0, product, TT_Q4_0)
RP_DEFINE_ENTRY(product_q4_1, product, TT_Q4_1)
RP_DEFINE_ENTRY(product_q8_0, product, TT_Q8_0)


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

/* repack.h's epilogue on rows 8h..8h+7 of a group. */
ALWAYS_INLINE __m256 float_epilogue(const rp_epilogue *ep, int h, __m256 v) {
  if (ep->bias) v = _mm256_add_ps(v, _mm256_loadu_ps(ep->bias + 8 * h));
  if (ep->scale != 1.0f) v = _mm256_mul_ps(v, _mm256_set1_ps(ep->scale));
  if (ep->gelu) v = gelu_erf_ps256(v);
  return v;
}

ALWAYS_INLINE void float_tile(tensor_type t, int cols, const uint8_t *w, size_t gb, const xrow *x,
                              int nc, float *Y, int ldy, bool prefetch, const rp_epilogue *ep) {
  __m256 acc[FLOAT_NC][2];
  UNROLL(6)
  for (int j = 0; j < nc; j++) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
  for (int k = 0; k < cols; k++) {
    /* the next group into L2, one line per 64 bytes of this one's */
    if (prefetch && (t == TT_F32 || (k & 1) == 0))
      _mm_prefetch((const char *)w + gb + (size_t)k * (t == TT_F32 ? 64 : 32), _MM_HINT_T1);
    __m256 w0 = float_w8(t, w, (size_t)k, 0), w1 = float_w8(t, w, (size_t)k, 1);
    UNROLL(6)
    for (int j = 0; j < nc; j++) {
      __m256 xv = _mm256_broadcast_ss(x[j].d + k);
      acc[j][0] = _mm256_fmadd_ps(w0, xv, acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(w1, xv, acc[j][1]);
    }
  }
  STORE_ROWS(Y, ldy, acc, nc);
  /* From L1 after the store: applied to the sums in registers, the
   * epilogue's constants cost the k loop's 16 registers (a 16-token text
   * 2-7% slower). */
  if (ep)
    for (int j = 0; j < nc; j++)
      for (int h = 0; h < 2; h++) {
        float *yh = Y + (size_t)j * ldy + 8 * h;
        _mm256_storeu_ps(yh, float_epilogue(ep, h, _mm256_loadu_ps(yh)));
      }
}

/* Groups against tiles of up to FLOAT_NC activation rows, as even as the
 * rows allow (repack_product.h), with an epilogue or none (NULL). */
ALWAYS_INLINE void float_tile_g(tensor_type t, int cols, const uint8_t *w, size_t gb, int G,
                                const xrow *x, int nc, float *y, int ldy, const rp_epilogue *ep) {
  (void)G;
  float_tile(t, cols, w, gb, x, nc, y, ldy, false, ep);
}
RP_DEFINE_PRODUCT_EP(float_product, float_tile_g, 6, FLOAT_NC * 16, 1, 1)

/* Weights streamed from memory on every pass (weight.rp_streamed): each
 * tile also prefetches the next group, so the bus works while the FMAs do. */
ALWAYS_INLINE void float_tile_prefetching(tensor_type t, int cols, const uint8_t *w, size_t gb,
                                          int G, const xrow *x, int nc, float *y, int ldy,
                                          const rp_epilogue *ep) {
  (void)G;
  float_tile(t, cols, w, gb, x, nc, y, ldy, true, ep);
}
RP_DEFINE_PRODUCT_EP(float_product_prefetching, float_tile_prefetching, 6, FLOAT_NC * 16, 1, 1)

/* F16 weights against more rows than one tile: each group is converted to
 * F32 once, into this thread's scratch, and every tile of the batch runs
 * from there instead of converting the group again. On a Zen 1 (AVX2 split
 * into 128-bit halves, one conversion every other cycle) the conversions
 * per tile made F16 ~25% slower than F32 at 20 tokens. Widths past
 * F16_GROUP_COLS (MiniLM's widest is 1536) keep the per-tile conversion. */
#define F16_GROUP_COLS 1536
static _Thread_local float f16_group[16 * F16_GROUP_COLS] __attribute__((aligned(32)));

ALWAYS_INLINE void f16_group_to_f32(int cols, const uint8_t *w, size_t gb, bool prefetch) {
  const uint16_t *h = (const uint16_t *)w;
  for (int k = 0; k < cols; k++) {
    if (prefetch && (k & 1) == 0) _mm_prefetch((const char *)w + gb + (size_t)k * 32, _MM_HINT_T1);
    _mm256_store_ps(f16_group + (size_t)k * 16, _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(h + (size_t)k * 16))));
    _mm256_store_ps(f16_group + (size_t)k * 16 + 8,
                    _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(h + (size_t)k * 16 + 8))));
  }
}

ALWAYS_INLINE void float_product_any(tensor_type t, int cols, const void *W, size_t gb, int n_groups,
                                     const void *X, size_t xs, int n_x, float *Y, int ldy,
                                     const rp_epilogue *ep, bool prefetch) {
  if (t != TT_F16 || n_x <= FLOAT_NC || cols > F16_GROUP_COLS || ab_off(AB_F16_GROUP)) {
    if (prefetch) float_product_prefetching(t, cols, W, gb, n_groups, X, xs, n_x, Y, ldy, ep);
    else float_product(t, cols, W, gb, n_groups, X, xs, n_x, Y, ldy, ep);
    return;
  }
  xrow x[FLOAT_NC * 16];
  for (int jb = 0; jb < n_x; jb += FLOAT_NC * 16) {
    int nj = n_x - jb < FLOAT_NC * 16 ? n_x - jb : FLOAT_NC * 16;
    for (int j = 0; j < nj; j++) x[j] = rpx_view_of((const uint8_t *)X + (size_t)(jb + j) * xs, cols);
    int n_tiles = (nj + FLOAT_NC - 1) / FLOAT_NC, per = (nj + n_tiles - 1) / n_tiles;
    for (int g = 0; g < n_groups; g++) {
      f16_group_to_f32(cols, (const uint8_t *)W + (size_t)g * gb, gb, prefetch);
      rp_epilogue epg;
      if (ep) {
        epg = *ep;
        if (epg.bias) epg.bias += (size_t)g * 16;
      }
      for (int j0 = 0; j0 < nj; j0 += per) {
        int nc = nj - j0 < per ? nj - j0 : per;
        float *y = Y + (size_t)(jb + j0) * ldy + (size_t)g * 16;
        const uint8_t *wf = (const uint8_t *)f16_group;
        switch (nc) {
        case 1: float_tile(TT_F32, cols, wf, 0, x + j0, 1, y, ldy, false, ep ? &epg : NULL); break;
        case 2: float_tile(TT_F32, cols, wf, 0, x + j0, 2, y, ldy, false, ep ? &epg : NULL); break;
        case 3: float_tile(TT_F32, cols, wf, 0, x + j0, 3, y, ldy, false, ep ? &epg : NULL); break;
        case 4: float_tile(TT_F32, cols, wf, 0, x + j0, 4, y, ldy, false, ep ? &epg : NULL); break;
        case 5: float_tile(TT_F32, cols, wf, 0, x + j0, 5, y, ldy, false, ep ? &epg : NULL); break;
        default: float_tile(TT_F32, cols, wf, 0, x + j0, 6, y, ldy, false, ep ? &epg : NULL); break;
        }
      }
    }
  }
}

ALWAYS_INLINE void float_product_cached(tensor_type t, int cols, const void *W, size_t gb, int n_groups,
                                        const void *X, size_t xs, int n_x, float *Y, int ldy,
                                        const rp_epilogue *ep) {
  float_product_any(t, cols, W, gb, n_groups, X, xs, n_x, Y, ldy, ep, false);
}

ALWAYS_INLINE void float_product_streamed(tensor_type t, int cols, const void *W, size_t gb,
                                          int n_groups, const void *X, size_t xs, int n_x, float *Y,
                                          int ldy, const rp_epilogue *ep) {
  float_product_any(t, cols, W, gb, n_groups, X, xs, n_x, Y, ldy, ep, true);
}

RP_DEFINE_FLOAT_ENTRIES(float_product_cached, float_product_streamed)

void kernels_fill_repack_avx2(kernel_table *t) {
  RP_FILL_FLOAT_ENTRIES(t);
  t->types[TT_Q4_0].rp_matmul = product_q4_0;
  t->types[TT_Q4_1].rp_matmul = product_q4_1;
  t->types[TT_Q8_0].rp_matmul = product_q8_0;
}

#else /* built without the AVX2 flags */
#include "kernels.h"
void kernels_fill_repack_avx2(kernel_table *t) { (void)t; }
#endif
