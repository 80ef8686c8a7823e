/* quant.h — the byte layout of every block format hearth reads from GGUF
 * files, half-precision conversions, and the plain-C reference code that
 * turns rows of blocks into floats and back. Public within src/engine/.
 *
 * Layouts are exactly ggml's (GGUF stores these structs byte for byte, little
 * endian, no padding); each struct below says how its bytes become values.
 * "d" and "dmin" scales are IEEE half precision unless said otherwise.
 *
 * Invariants:
 *  - a row of a block type holds a whole number of blocks: n % block_elems
 *    == 0 for every function taking n (programmer error otherwise);
 *  - the reference functions here are the definition of right: every SIMD
 *    kernel in kernels_*.c must agree with them (exactly for integer parts);
 *  - activation quantizers (Q8_0, Q8_1, Q8_K) round half to even, the way
 *    llama.cpp's x86 code does, so every ISA path produces identical bytes.
 *
 * Ownership: callers own every buffer; nothing here allocates. */
#ifndef HEARTH_ENGINE_QUANT_H
#define HEARTH_ENGINE_QUANT_H

#include <stdint.h>
#include <string.h>

#include "tensor_types.h"

#define QK32 32  /* elements per block of the 32-block formats */
#define QK_K 256 /* elements per super-block of the K-quants */

/* Q4_0: 32 weights, w = d * (q - 8), q in 0..15.
 * qs[j] low nibble holds element j, high nibble element j + 16. */
typedef struct {
  uint16_t d;
  uint8_t qs[16];
} block_q4_0;

/* Q4_1: 32 weights, w = d * q + m, q in 0..15; nibbles as in Q4_0. */
typedef struct {
  uint16_t d;
  uint16_t m;
  uint8_t qs[16];
} block_q4_1;

/* Q5_0: 32 weights, w = d * (q - 16), q in 0..31. The low 4 bits are nibbles
 * as in Q4_0; bit j of the little-endian 32-bit word qh is bit 4 of element
 * j (so element j + 16's high bit is bit j + 16). */
typedef struct {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
} block_q5_0;

/* Q5_1: 32 weights, w = d * q + m, q in 0..31; bits as in Q5_0. */
typedef struct {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[16];
} block_q5_1;

/* Q8_0: 32 values, v = d * qs[j]. Also the activation format of the 32-block
 * weight types (and of Q8_0 weights themselves). */
typedef struct {
  uint16_t d;
  int8_t qs[32];
} block_q8_0;

/* Q8_1: as Q8_0 plus s = d * sum(qs) (half), which Q4_1/Q5_1 dot products
 * need for their "+ m" term. Activation format only. */
typedef struct {
  uint16_t d;
  uint16_t s;
  int8_t qs[32];
} block_q8_1;

/* Q2_K: 256 weights in 16 groups of 16. scales[g]: low 4 bits a scale, high
 * 4 bits a min, both multiplied by the super-block d / dmin:
 * w = d * (sc & 15) * q - dmin * (sc >> 4), q in 0..3.
 * Element order: two halves of 128; in half h, qs[32h + l] holds 2-bit q for
 * elements 128h + 32s + l at bit shift 2s (s = 0..3, l = 0..31). Group g
 * covers elements 16g..16g+15. */
typedef struct {
  uint8_t scales[16];
  uint8_t qs[64];
  uint16_t d;
  uint16_t dmin;
} block_q2_K;

/* Q3_K: 256 weights in 16 groups of 16, w = d * (s_g - 32) * (q - 4·!hbit),
 * i.e. q3 = low2 | hbit << 2 in 0..7, value q3 - 4.
 * Low 2 bits are laid out as in Q2_K (qs). hmask[l] bit k is the high bit of
 * element 32k + l. The 16 six-bit scales s_g: low nibble of s_g is
 * scales[g] & 15 for g < 8, scales[g - 8] >> 4 for g >= 8; its top 2 bits
 * are (scales[8 + g % 4] >> (2 * (g / 4))) & 3. */
typedef struct {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  uint16_t d;
} block_q3_K;

/* Q4_K: 256 weights in 8 groups of 32, w = d * sc_g * q - dmin * m_g, q in
 * 0..15, sc_g and m_g six bits each, packed in scales[12] (see
 * quant_k4_scale_min). Chunk c (0..3) of 64 elements is qs[32c .. 32c+31]:
 * low nibbles are group 2c (elements 64c + l), high nibbles group 2c+1. */
typedef struct {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[128];
} block_q4_K;

/* Q5_K: as Q4_K with a fifth bit: q in 0..31, bit 4 of element 32g + l is
 * (qh[l] >> g) & 1. */
typedef struct {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
} block_q5_K;

/* Q6_K: 256 weights in 16 groups of 16, w = d * scales[g] * (q - 32), q in
 * 0..63, scales signed 8-bit. Two halves of 128 (h = 0, 1) use ql[64h..],
 * qh[32h..]; within a half, for l = 0..31:
 *   element   l: ql[l]      & 15 | (qh[l] >> 0 & 3) << 4
 *   element  32+l: ql[32+l] & 15 | (qh[l] >> 2 & 3) << 4
 *   element  64+l: ql[l]      >> 4 | (qh[l] >> 4 & 3) << 4
 *   element  96+l: ql[32+l] >> 4 | (qh[l] >> 6 & 3) << 4 */
typedef struct {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
} block_q6_K;

/* Q8_K: activation format of the K-quants. d is a float (not half), may be
 * negative (llama.cpp scales by -127/max of the signed extreme); bsums[g] is
 * the sum of qs over group g of 16. */
typedef struct {
  float d;
  int8_t qs[256];
  int16_t bsums[16];
} block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K");

/* ---- half precision ---------------------------------------------------- */

/* IEEE binary16 -> float, exact (subnormals, inf, NaN included). */
static inline float quant_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { /* subnormal: normalize */
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 0x400));
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* float -> binary16, round to nearest even, like F16C's vcvtps2ph with
 * rounding mode 0 (what llama.cpp uses on x86). NaN stays NaN. */
static inline uint16_t quant_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) /* inf or NaN */
    return sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 | ((ax >> 13) & 0x3ff) : 0);
  if (ax >= 0x477ff000u) return sign | 0x7c00; /* rounds to >= 65536: inf */
  if (ax < 0x38800000u) {                       /* below 2^-14: subnormal half */
    if (ax < 0x33000000u) return sign;          /* below half the smallest: 0 */
    uint32_t e = ax >> 23, man = (ax & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e; /* 14..24: value = man * 2^(e-150), unit 2^-24 */
    uint32_t q = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    return sign | (uint16_t)q;
  }
  uint32_t r = ax + 0xfff + ((ax >> 13) & 1); /* round mantissa to 10 bits */
  return sign | (uint16_t)((r - 0x38000000u) >> 13);
}

/* Every half's float value, filled by quant_f16_table_init() (kernels_init
 * calls it). The SIMD kernels read block scales through it: one load is
 * cheaper than a scalar vcvtph2ps, which competes with the shuffles for the
 * same execution port (llama.cpp does the same). */
extern float quant_f16_table[1 << 16];
void quant_f16_table_init(void);

static inline float quant_bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* float -> bfloat16, round to nearest even; NaN kept quiet (as ggml). */
static inline uint16_t quant_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 64);
  return (uint16_t)((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

/* The 6-bit scale and min of group j (0..7) of a Q4_K/Q5_K super-block:
 * groups 0..3 keep them in the low 6 bits of bytes j and j+4; groups 4..7
 * have low nibbles in byte j+4 and their top 2 bits in the spare top bits
 * of bytes j-4 (scale) and j (min). */
static inline void quant_k4_scale_min(int j, const uint8_t *s, uint8_t *sc, uint8_t *m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (uint8_t)((s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4));
    *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

/* The 16 signed scales (s_g - 32) of a Q3_K super-block. */
static inline void quant_k3_scales(const uint8_t *s, int8_t out[16]) {
  for (int g = 0; g < 16; g++) {
    int lo = g < 8 ? s[g] & 15 : s[g - 8] >> 4;
    int hi = (s[8 + g % 4] >> (2 * (g / 4))) & 3;
    out[g] = (int8_t)((lo | hi << 4) - 32);
  }
}

/* ---- reference rows ------------------------------------------------------ */

/* Signatures shared with the kernel table: n is the element count. */
typedef void (*quant_to_float_fn)(const void *src, float *dst, int n);
typedef void (*quant_from_float_fn)(const float *src, void *dst, int n);

#define QUANT_DECLARE(t)                                      \
  void quant_##t##_to_float(const void *src, float *dst, int n); \
  void quant_##t##_from_float(const float *src, void *dst, int n);
QUANT_DECLARE(f32)
QUANT_DECLARE(f16)
QUANT_DECLARE(bf16)
QUANT_DECLARE(q4_0)
QUANT_DECLARE(q4_1)
QUANT_DECLARE(q5_0)
QUANT_DECLARE(q5_1)
QUANT_DECLARE(q8_0)
QUANT_DECLARE(q8_1)
QUANT_DECLARE(q2_K)
QUANT_DECLARE(q3_K)
QUANT_DECLARE(q4_K)
QUANT_DECLARE(q5_K)
QUANT_DECLARE(q6_K)
QUANT_DECLARE(q8_K)
#undef QUANT_DECLARE

/* The reference converters for a type, or NULL if hearth cannot convert it. */
quant_to_float_fn quant_ref_to_float(tensor_type t);
quant_from_float_fn quant_ref_from_float(tensor_type t);

/* Bytes of a row of n elements of type t (n a multiple of its block size). */
static inline size_t quant_row_bytes(tensor_type t, int64_t n) {
  tensor_type_info ti = tensor_type_get((uint32_t)t);
  return ti.block_elems ? (size_t)(n / ti.block_elems) * ti.block_bytes : 0;
}

#endif
