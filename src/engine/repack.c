/* repack.c — the 16-row layout (see repack.h): packing a group, activation
 * rows, and the plain-C product that defines what the SIMD products must
 * compute. */
#include "repack.h"

#include "kernels.h"
#include "quant.h"

#include <string.h>

static int qs_bytes(tensor_type t) { return t == TT_Q8_0 ? 512 : 256; }
static bool is_float(tensor_type t) { return t == TT_F32 || t == TT_F16; }

bool rp_supported(tensor_type t, int rows, int cols) {
  bool q = t == TT_Q4_0 || t == TT_Q4_1 || t == TT_Q8_0;
  return (q || is_float(t)) && rows > 0 && rows % RP_ROWS == 0 && cols > 0 &&
         cols % (q ? QK32 : 16) == 0;
}

size_t rp_group_bytes(tensor_type t, int cols) {
  if (is_float(t)) return (size_t)cols * RP_ROWS * (t == TT_F32 ? 4 : 2);
  size_t nb = (size_t)cols / QK32;
  size_t per_block = (size_t)qs_bytes(t) + 32 + (t == TT_Q4_1 ? 32 : 0);
  return (nb * per_block + 63) & ~(size_t)63;
}

void rp_pack_group(tensor_type t, const void *src, size_t src_stride, int cols, void *dst) {
  if (is_float(t)) {
    size_t es = t == TT_F32 ? 4 : 2;
    for (int r = 0; r < RP_ROWS; r++) {
      const uint8_t *row = (const uint8_t *)src + (size_t)r * src_stride;
      for (int k = 0; k < cols; k++)
        memcpy((uint8_t *)dst + ((size_t)k * RP_ROWS + (size_t)r) * es, row + (size_t)k * es, es);
    }
    return;
  }
  int nb = cols / QK32, qb = qs_bytes(t);
  uint8_t *qs = dst;
  uint16_t *d = (uint16_t *)(qs + (size_t)nb * qb);
  uint16_t *m = d + (size_t)nb * RP_ROWS;
  size_t bb = tensor_type_get(t).block_bytes;
  for (int r = 0; r < RP_ROWS; r++) {
    const uint8_t *row = (const uint8_t *)src + (size_t)r * src_stride;
    for (int b = 0; b < nb; b++) {
      const uint8_t *blk = row + (size_t)b * bb;
      uint8_t *out = qs + (size_t)b * qb + 4 * r;
      if (t == TT_Q8_0) {
        const block_q8_0 *q = (const void *)blk;
        for (int k = 0; k < 8; k++)
          for (int i = 0; i < 4; i++) out[64 * k + i] = (uint8_t)(q->qs[4 * k + i] ^ 0x80);
        d[b * RP_ROWS + r] = q->d;
      } else if (t == TT_Q4_0) {
        const block_q4_0 *q = (const void *)blk;
        for (int k = 0; k < 4; k++) memcpy(out + 64 * k, q->qs + 4 * k, 4);
        d[b * RP_ROWS + r] = q->d;
      } else { /* TT_Q4_1 */
        const block_q4_1 *q = (const void *)blk;
        for (int k = 0; k < 4; k++) memcpy(out + 64 * k, q->qs + 4 * k, 4);
        d[b * RP_ROWS + r] = q->d;
        m[b * RP_ROWS + r] = q->m;
      }
    }
  }
  size_t used = (size_t)nb * ((size_t)qb + 32 + (t == TT_Q4_1 ? 32 : 0));
  memset((uint8_t *)dst + used, 0, rp_group_bytes(t, cols) - used);
}

/* Row r of a packed group back in the GGUF layout, byte for byte (the
 * inverse of rp_pack_group for that row). */
void rp_unpack_row(tensor_type t, const void *group, int r, int cols, void *row) {
  if (is_float(t)) {
    size_t es = t == TT_F32 ? 4 : 2;
    for (int k = 0; k < cols; k++)
      memcpy((uint8_t *)row + (size_t)k * es, (const uint8_t *)group + ((size_t)k * RP_ROWS + (size_t)r) * es, es);
    return;
  }
  int nb = cols / QK32, qb = qs_bytes(t);
  const uint8_t *qs = group;
  const uint16_t *d = (const uint16_t *)(qs + (size_t)nb * qb);
  const uint16_t *m = d + (size_t)nb * RP_ROWS;
  size_t bb = tensor_type_get(t).block_bytes;
  for (int b = 0; b < nb; b++) {
    uint8_t *blk = (uint8_t *)row + (size_t)b * bb;
    const uint8_t *in = qs + (size_t)b * qb + 4 * r;
    if (t == TT_Q8_0) {
      block_q8_0 *q = (void *)blk;
      for (int k = 0; k < 8; k++)
        for (int i = 0; i < 4; i++) q->qs[4 * k + i] = (int8_t)(in[64 * k + i] ^ 0x80);
      q->d = d[b * RP_ROWS + r];
    } else if (t == TT_Q4_0) {
      block_q4_0 *q = (void *)blk;
      for (int k = 0; k < 4; k++) memcpy(q->qs + 4 * k, in + 64 * k, 4);
      q->d = d[b * RP_ROWS + r];
    } else { /* TT_Q4_1 */
      block_q4_1 *q = (void *)blk;
      for (int k = 0; k < 4; k++) memcpy(q->qs + 4 * k, in + 64 * k, 4);
      q->d = d[b * RP_ROWS + r];
      q->m = m[b * RP_ROWS + r];
    }
  }
}

/* ---- activation rows ------------------------------------------------------ */


size_t rpx_row_bytes(tensor_type t, int cols) {
  if (is_float(t)) return ((size_t)cols * sizeof(float) + 63) & ~(size_t)63;
  return (rpx_qs_offset(cols) + (size_t)cols + 63) & ~(size_t)63;
}

void rpx_from_float(tensor_type t, const float *x, void *dst, int cols) {
  if (is_float(t)) {
    memcpy(dst, x, sizeof(float) * (size_t)cols);
    return;
  }
  const kernel_table *kt = kernels_get();
  if (kt->rpx_row) {
    kt->rpx_row(t, x, dst, cols);
    return;
  }
  int nb = cols / QK32;
  rpx_view v = rpx_view_of(dst, cols);
  float *d = (float *)v.d, *s = (float *)v.s;
  int32_t *sum = (int32_t *)v.sum;
  int8_t *qs = (int8_t *)v.qs;
  const kern_type_ops *ops = kernels_for_type(t);
  for (int b = 0; b < nb; b++) {
    const int8_t *q;
    if (t == TT_Q4_1) {
      block_q8_1 blk;
      ops->from_float(x + (size_t)b * QK32, &blk, QK32);
      d[b] = quant_f16_to_f32(blk.d), s[b] = quant_f16_to_f32(blk.s);
      memcpy(qs + (size_t)b * QK32, blk.qs, QK32);
    } else {
      block_q8_0 blk;
      ops->from_float(x + (size_t)b * QK32, &blk, QK32);
      d[b] = quant_f16_to_f32(blk.d), s[b] = 0;
      memcpy(qs + (size_t)b * QK32, blk.qs, QK32);
    }
    q = qs + (size_t)b * QK32;
    int32_t acc = 0;
    for (int i = 0; i < QK32; i++) acc += q[i];
    sum[b] = acc * (t == TT_Q4_0 ? -8 : t == TT_Q8_0 ? -128 : 0);
  }
}

/* ---- the reference product ------------------------------------------------- */

static void float_matmul_ref(tensor_type t, int cols, const void *W, size_t group_bytes,
                             int n_groups, const void *X, size_t x_stride, int n_x, float *Y,
                             int ldy) {
  for (int g = 0; g < n_groups; g++) {
    const uint8_t *w = (const uint8_t *)W + (size_t)g * group_bytes;
    for (int j = 0; j < n_x; j++) {
      const float *x = (const float *)((const uint8_t *)X + (size_t)j * x_stride);
      for (int r = 0; r < RP_ROWS; r++) {
        float acc = 0;
        for (int k = 0; k < cols; k++) {
          size_t at = (size_t)k * RP_ROWS + (size_t)r;
          float wv = t == TT_F32 ? ((const float *)w)[at] : quant_f16_to_f32(((const uint16_t *)w)[at]);
          acc += wv * x[k];
        }
        Y[(size_t)j * ldy + (size_t)g * RP_ROWS + r] = acc;
      }
    }
  }
}

void rp_matmul_ref(tensor_type t, int cols, const void *W, size_t group_bytes, int n_groups,
                   const void *X, size_t x_stride, int n_x, float *Y, int ldy) {
  if (is_float(t)) {
    float_matmul_ref(t, cols, W, group_bytes, n_groups, X, x_stride, n_x, Y, ldy);
    return;
  }
  int nb = cols / QK32, qb = qs_bytes(t);
  for (int g = 0; g < n_groups; g++) {
    const uint8_t *qs = (const uint8_t *)W + (size_t)g * group_bytes;
    const uint16_t *dw = (const uint16_t *)(qs + (size_t)nb * qb);
    const uint16_t *mw = dw + (size_t)nb * RP_ROWS;
    for (int j = 0; j < n_x; j++) {
      rpx_view v = rpx_view_of((const uint8_t *)X + (size_t)j * x_stride, cols);
      const float *dx = v.d, *sx = v.s;
      const int32_t *sumx = v.sum;
      const int8_t *xq = v.qs;
      for (int r = 0; r < RP_ROWS; r++) {
        float acc = 0;
        for (int b = 0; b < nb; b++) {
          const uint8_t *bq = qs + (size_t)b * qb + 4 * r;
          const int8_t *bx = xq + (size_t)b * QK32;
          int32_t isum = 0;
          if (t == TT_Q8_0) {
            for (int k = 0; k < 8; k++)
              for (int i = 0; i < 4; i++) isum += bq[64 * k + i] * bx[4 * k + i];
            isum += sumx[b];
          } else {
            for (int k = 0; k < 4; k++)
              for (int i = 0; i < 4; i++)
                isum += (bq[64 * k + i] & 15) * bx[4 * k + i] +
                        (bq[64 * k + i] >> 4) * bx[16 + 4 * k + i];
            if (t == TT_Q4_0) isum += sumx[b];
          }
          float dd = quant_f16_to_f32(dw[b * RP_ROWS + r]) * dx[b];
          acc += (float)isum * dd;
          if (t == TT_Q4_1) acc += quant_f16_to_f32(mw[b * RP_ROWS + r]) * sx[b];
        }
        Y[(size_t)j * ldy + (size_t)g * RP_ROWS + r] = acc;
      }
    }
  }
}
