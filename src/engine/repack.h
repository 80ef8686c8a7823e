/* repack.h — weights laid out for integer dot products across 16 rows at
 * once, and the activation rows that meet them.
 *
 * Why: a Q4_0/Q4_1/Q8_0 row dotted with one activation row spends most of
 * its instructions unpacking nibbles and reducing across lanes; generation
 * is then compute-bound at about half the memory bandwidth. With 16 rows
 * interleaved so that one 64-byte load holds 4 bytes of each of 16 rows,
 * a single vpdpbusd with 4 activation bytes broadcast adds 64 products
 * straight into the 16 rows' sums: no reductions, and each unpacked weight
 * serves every activation row of a small batch (several streams decoding
 * together) from registers.
 *
 * Layout of one group of RP_ROWS rows with nb = cols / 32 blocks:
 *   qs  nb x QB bytes   block b, dword k: 64 bytes, row r's 4 bytes at 4r
 *         Q4_0/Q4_1 (QB 256, k < 4): the row's qs[4k..4k+3] as stored, so
 *           low nibbles are elements 4k..4k+3, high ones 16+4k..16+4k+3;
 *         Q8_0 (QB 512, k < 8): qs[4k..4k+3] + 128 as unsigned bytes.
 *   d   nb x 16 halves  the rows' block scales
 *   m   nb x 16 halves  the rows' block mins (Q4_1 only)
 *   F32/F16: cols x 16 values, element k of the 16 rows side by side
 *         (64 or 32 bytes), so one load and one FMA with x[k] broadcast
 *         serve 16 rows.
 * Every group starts 64-byte aligned (group bytes are a multiple of 64).
 *
 * Activation rows (rpx) come from the Q8_0 (Q4_0, Q8_0 weights) or Q8_1
 * (Q4_1) quantization llama.cpp uses, so integer sums are exactly its:
 *   float d[nb]; float s[nb]; int32 sum[nb]; (padded to 64) int8 qs[cols]
 * with d the block scale, s Q8_1's d * sum (as its half rounds it; 0 for
 * Q8_0) and sum the correction that turns the unsigned weight sums back
 * into signed ones: the exact sum of the block's bytes times -8 (Q4_0) or
 * -128 (Q8_0), 0 for Q4_1; a product starts each block's sums from it.
 * For F32/F16 weights an activation row is the f32 row itself. */
#ifndef HEARTH_ENGINE_REPACK_H
#define HEARTH_ENGINE_REPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor_types.h"

#define RP_ROWS 16

/* Whether a weight of this type and shape can be repacked. */
bool rp_supported(tensor_type t, int rows, int cols);
/* Bytes of one group of RP_ROWS rows. */
size_t rp_group_bytes(tensor_type t, int cols);
/* Packs RP_ROWS rows of the GGUF layout (src_stride bytes apart) into one
 * group at dst. */
void rp_pack_group(tensor_type t, const void *src, size_t src_stride, int cols, void *dst);

/* Row r (0..RP_ROWS-1) of a packed group back in the GGUF layout, byte for
 * byte: what a tied embedding table reads once its only copy is packed. */
void rp_unpack_row(tensor_type t, const void *group, int r, int cols, void *row);

/* Bytes of one activation row for weights of type t (a multiple of 64). */
size_t rpx_row_bytes(tensor_type t, int cols);
/* The parts of a quantized activation row (the layout above). */
typedef struct {
  const float *d, *s;
  const int32_t *sum;
  const int8_t *qs;
} rpx_view;
/* where qs starts: after d, s and sum, 64-aligned */
static inline size_t rpx_qs_offset(int cols) { return ((size_t)cols / 32 * 12 + 63) & ~(size_t)63; }
static inline rpx_view rpx_view_of(const void *row, int cols) {
  size_t nb = (size_t)cols / 32;
  rpx_view v;
  v.d = (const float *)row;
  v.s = v.d + nb;
  v.sum = (const int32_t *)(v.s + nb);
  v.qs = (const int8_t *)row + rpx_qs_offset(cols);
  return v;
}
/* x (f32, cols) -> an activation row for weights of type t. */
void rpx_from_float(tensor_type t, const float *x, void *dst, int cols);

/* Y[j * ldy + r] = W_r . X_j for the n_groups groups at W (group_bytes
 * apart; r counts rows from the first group's first) and the n_x rows of X
 * (x_stride bytes apart). Integer block sums are exact; only float
 * summation order differs from vec_dot. */
typedef void (*rp_matmul_fn)(tensor_type t, int cols, const void *W, size_t group_bytes,
                             int n_groups, const void *X, size_t x_stride, int n_x, float *Y,
                             int ldy);
/* What a float product does to each value before it stores it, in this
 * order: + bias[r] (r the weight row, as Y's), x scale, then GELU (erf
 * form): an encoder's biases, attention scale and activation, applied by
 * the product as it stores (AVX-512: to the sums in registers; AVX2: to
 * the tile just stored) instead of a pass over Y after it. The same float
 * operations as the kernel table's add and gelu_erf and kern_scale's
 * plain multiply, so the values are those of the separate pass bit for
 * bit. */
typedef struct {
  const float *bias; /* NULL: none */
  float scale;       /* 1: none */
  bool gelu;
} rp_epilogue;
/* rp_matmul_fn with an epilogue (NULL: none). */
typedef void (*rp_matmul_ep_fn)(tensor_type t, int cols, const void *W, size_t group_bytes,
                                int n_groups, const void *X, size_t x_stride, int n_x, float *Y,
                                int ldy, const rp_epilogue *ep);
/* The most activation rows a float product takes transposed (the AVX-512
 * path, for the counts its table's rp_xt_min..rp_xt_max give): the rows
 * are turned block by block so that each weight is read once
 * (kernels_repack_avx512.c). */
#define RP_XT_MAX 48 /* two tiles of up to 24 */

/* The plain-C product (every path's fallback and the tests' reference). */
void rp_matmul_ref(tensor_type t, int cols, const void *W, size_t group_bytes, int n_groups,
                   const void *X, size_t x_stride, int n_x, float *Y, int ldy);

#endif
