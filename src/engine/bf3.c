/* bf3.c — splitting float rows into bfloat16 parts, and the plain-C model
 * of the AMX product over them (bf3.h). */
#include "bf3.h"

void bf3_split_group(const float *W, size_t row_stride, int cols, void *dst) {
  uint16_t *out = dst;
  for (int kb = 0; kb < cols / BF3_K; kb++)
    for (int n = 0; n < BF3_ROWS; n++) {
      const float *w = (const float *)((const char *)W + (size_t)n * row_stride) + kb * BF3_K;
      for (int k = 0; k < BF3_K; k++) {
        uint16_t p[3];
        bf3_split(w[k], p);
        size_t at = (size_t)kb * 3 * (BF3_TILE / 2) + ((size_t)(k / 2) * 16 + (size_t)n) * 2 + (size_t)(k & 1);
        for (int part = 0; part < 3; part++) out[at + (size_t)part * (BF3_TILE / 2)] = p[part];
      }
    }
}

void bf3_split_rows(const float *X, size_t x_stride, int n, int cols, void *dst) {
  uint16_t *out = dst;
  int nkb = cols / BF3_K, ntb = (n + BF3_ROWS - 1) / BF3_ROWS;
  for (int tb = 0; tb < ntb; tb++)
    for (int m = 0; m < BF3_ROWS; m++) {
      int j = tb * BF3_ROWS + m;
      const float *x = j < n ? (const float *)((const char *)X + (size_t)j * x_stride) : NULL;
      for (int kb = 0; kb < nkb; kb++) {
        uint16_t *t = out + ((size_t)tb * nkb + (size_t)kb) * 3 * (BF3_TILE / 2) + (size_t)m * BF3_K;
        for (int k = 0; k < BF3_K; k++) {
          uint16_t p[3] = {0, 0, 0};
          if (x) bf3_split(x[kb * BF3_K + k], p);
          for (int part = 0; part < 3; part++) t[(size_t)part * (BF3_TILE / 2) + (size_t)k] = p[part];
        }
      }
    }
}

/* ---- the model of the tile steps ---------------------------------------- */

typedef struct {
  uint8_t tile[8][BF3_TILE];
} emu_tiles;

static void emu_load(emu_tiles *s, int t, const void *p) { memcpy(s->tile[t], p, BF3_TILE); }
static void emu_store(const emu_tiles *s, int t, void *p, long stride) {
  for (int r = 0; r < 16; r++) memcpy((char *)p + r * stride, s->tile[t] + r * 64, 64);
}
static float emu_bf16(const uint8_t *tile, int i) {
  uint16_t h;
  memcpy(&h, tile + 2 * i, 2);
  return bf3_float((uint32_t)h << 16);
}
/* tdpbf16ps as the intrinsics guide writes it: each row m, column n of c
 * gets, pair k by pair k, a's pair times b's pair, the two products added
 * in turn (each product of two bfloat16 values is exact in float); see
 * bf3.h on how far that models the hardware */
static void emu_dp(emu_tiles *s, int c, int a, int b) {
  for (int m = 0; m < 16; m++)
    for (int n = 0; n < 16; n++) {
      float acc;
      memcpy(&acc, s->tile[c] + m * 64 + n * 4, 4);
      for (int k = 0; k < 16; k++) {
        acc += emu_bf16(s->tile[a], m * 32 + 2 * k) * emu_bf16(s->tile[b], k * 32 + 2 * n);
        acc += emu_bf16(s->tile[a], m * 32 + 2 * k + 1) * emu_bf16(s->tile[b], k * 32 + 2 * n + 1);
      }
      memcpy(s->tile[c] + m * 64 + n * 4, &acc, 4);
    }
}

#define BF3_STATE emu_tiles tiles_, *ts_ = &tiles_;
#define BF3_LOAD(t, p) emu_load(ts_, t, p)
#define BF3_ZERO(t) memset(ts_->tile[t], 0, BF3_TILE)
#define BF3_DP(c, a, b) emu_dp(ts_, c, a, b)
#define BF3_STORE(t, p, s) emu_store(ts_, t, p, s)
#define BF3_PRODUCT bf3_matmul_ref
#include "bf3_tiles.h"
