/* bf3.h — float32 matrices as three bfloat16 parts, for products on
 * AMX-BF16 tiles that keep float32's accuracy.
 *
 * Why: on a Xeon with AMX one tdpbf16ps multiplies 16 x 32 by 32 x 16
 * bfloat16 values (8192 products) in ~16 cycles, ~16x an AVX-512 FMA's
 * rate; an encoder's F32 products of 32 tokens and more are bound by the
 * FMA units there. A float splits exactly into three bfloat16 parts,
 *   x = hi + mid + lo,  hi = bf16(x), mid = bf16(x - hi), lo = x - hi - mid
 * (each rounded to nearest: hi holds the top 8 significant bits, mid the
 * next 8, lo the last 8, so lo is exact), and a product of two floats is
 * then six part products (hi.hi, hi.mid, mid.hi, mid.mid, hi.lo, lo.hi),
 * what is left out (mid.lo, lo.mid, lo.lo) below 2^-23 of it: about one
 * float32 rounding, where bfloat16 alone would lose 2^-8. No precision is
 * given up for speed; it is the float32 product on other units.
 * Sessions 8-9 split the weights in every product and lost what the tiles
 * won; here the weights are split once, at load (1.5x the float32 bytes),
 * and only the activation rows are split per product.
 *
 * Tiles are 16 rows of 64 bytes (BF3_TILE bytes).
 * Weights, per 16-row group and per 32-column block kb: three B tiles (hi,
 * mid, lo), B row kk (0..15) holding for each of the 16 rows n the pair of
 * columns kb*32 + 2kk, +1: element (kk * 16 + n) * 2 + e = W[n][kb*32+2kk+e]
 * (tdpbf16ps's layout for its second operand). A group is
 * cols / 32 * 3 tiles.
 * Activation rows, per 16 rows (tokens) tb and per block kb: three A tiles,
 * A row m holding the 32 values X[16tb + m][kb*32 .. kb*32 + 31]; rows past
 * the last are zero. */
#ifndef HEARTH_ENGINE_BF3_H
#define HEARTH_ENGINE_BF3_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BF3_TILE 1024 /* bytes: 16 rows x 64 */
#define BF3_K 32      /* columns of a block */
#define BF3_ROWS 16   /* weight rows of a group, activation rows of a tile */

/* bfloat16 nearest to x (finite x), as the upper half of a float. */
static inline uint32_t bf3_round(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  return (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
}
static inline float bf3_float(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
/* x = p[0] + p[1] + p[2] exactly for 2^-110 <= |x| < 3.39e38 (checked for
 * every float): below, bits under bfloat16's smallest normal are lost
 * (< 2^-133); from 0x7F7F8000 up, hi rounds to infinity. Weights and
 * activations lie far inside. AMX itself reads parts below 2^-126 as 0. */
static inline void bf3_split(float x, uint16_t p[3]) {
  uint32_t hi = bf3_round(x);
  float r = x - bf3_float(hi);
  uint32_t mid = bf3_round(r);
  uint32_t lo = bf3_round(r - bf3_float(mid));
  p[0] = (uint16_t)(hi >> 16), p[1] = (uint16_t)(mid >> 16), p[2] = (uint16_t)(lo >> 16);
}

/* Whether a rows x cols float matrix can be split this way. */
static inline int bf3_supported(int rows, int cols) { return rows % BF3_ROWS == 0 && cols % BF3_K == 0; }
/* Bytes of one split group of 16 rows. */
static inline size_t bf3_group_bytes(int cols) { return (size_t)cols / BF3_K * 3 * BF3_TILE; }
/* Splits 16 float rows (row_stride bytes apart) into one group at dst. */
void bf3_split_group(const float *W, size_t row_stride, int cols, void *dst);
/* Bytes the n activation rows of cols take split. */
static inline size_t bf3_rows_bytes(int n, int cols) {
  return (size_t)((n + BF3_ROWS - 1) / BF3_ROWS) * bf3_group_bytes(cols);
}
/* Splits n float rows (x_stride bytes apart) into dst. */
void bf3_split_rows(const float *X, size_t x_stride, int n, int cols, void *dst);

/* Y[j * ldy + r] = W_r . X_j for the n_groups split groups at W and the n
 * split activation rows at A (bf3_split_rows), r counting from the first
 * group's first row. The kernel table's bf3_matmul: AMX where the CPU has
 * it, else bf3_matmul_ref, the same tile steps in plain C with tdpbf16ps
 * modelled as Intel's intrinsics guide writes it (each pair of part
 * products added to the float sum in turn); the SDM writes the
 * instruction's sums in another order, and the hardware's own order and
 * its flushing of subnormals may differ from both, so the model and AMX
 * agree to float32 accuracy, not bit for bit. */
typedef void (*bf3_matmul_fn)(const void *W, int n_groups, int cols, const void *A, int n, float *Y,
                              int ldy);
void bf3_matmul_ref(const void *W, int n_groups, int cols, const void *A, int n, float *Y, int ldy);

#endif
