/* bf3_tiles.h — the tile steps of a split float product (bf3.h), written
 * once for the AMX kernel (kernels_repack_avx512_amx.c) and its plain-C
 * model (bf3.c). The includer defines
 *   BF3_STATE            whatever the steps keep their tiles in
 *   BF3_LOAD(t, p)       tile t <- 16 rows of 64 bytes at p, 64 bytes apart
 *   BF3_ZERO(t)          tile t <- 0
 *   BF3_DP(c, a, b)      float tile c += bf16 tiles a . b (tdpbf16ps)
 *   BF3_STORE(t, p, s)   tile t -> 16 rows of 64 bytes at p, s bytes apart
 *   BF3_PRODUCT          the name of the function (a bf3_matmul_fn)
 * and may define BF3_ADD16(y, a, b), y[0..15] = a[0..15] + b[0..15] (a, b
 * 64-byte aligned), in vector registers.
 * Tiles 0 and 1 hold a group's sums (16 tokens x 16 rows), 2-4 the
 * activation parts hi, mid, lo of 16 tokens and one block, 5-7 the
 * group's weight parts: eight tiles, all that AMX has. */
#include "bf3.h"

#ifndef BF3_ADD16
#define BF3_ADD16(y, a, b)                                                                         \
  for (int c_ = 0; c_ < 16; c_++) (y)[c_] = (a)[c_] + (b)[c_]
#endif

/* The split activation rows of this many bytes stay in L2 (2 MB a core on
 * the Xeons here) while the groups go through them, each group's parts
 * read once per run: a chunk of 128 tokens of a 1536-wide input (144 KB of
 * parts per 16 tokens) is one run. Not yet measured on AMX. */
#define BF3_RUN_BYTES (1280 * 1024)

/* Each group's sums in two tiles: hi.hi in tile 0, the five smaller part
 * products in tile 1, added at the end. One float sum for all six had
 * rounded six times as often at the size of the whole sum: against
 * float64, 3x a float32 FMA chain's error at 64 columns, 1.4x at 1536
 * (the plain-C model); the small terms' own sum rounds at 2^-8 of that,
 * so this way the error is a float32 chain's. */
void BF3_PRODUCT(const void *W, int n_groups, int cols, const void *A, int n, float *Y, int ldy) {
  BF3_STATE
  const int nkb = cols / BF3_K, ntb = (n + BF3_ROWS - 1) / BF3_ROWS;
  const size_t gb = bf3_group_bytes(cols); /* a group's parts, and 16 tokens' */
  const int run = gb >= BF3_RUN_BYTES ? 1 : (int)(BF3_RUN_BYTES / gb);
  __attribute__((aligned(64))) float sums[2][BF3_ROWS * 16];
  for (int tb0 = 0; tb0 < ntb; tb0 += run) {
    int tb1 = tb0 + run < ntb ? tb0 + run : ntb;
    for (int g = 0; g < n_groups; g++) {
      const uint8_t *Wg = (const uint8_t *)W + (size_t)g * gb;
      for (int tb = tb0; tb < tb1; tb++) {
        const uint8_t *At = (const uint8_t *)A + (size_t)tb * gb;
        BF3_ZERO(0);
        BF3_ZERO(1);
        for (int kb = 0; kb < nkb; kb++) {
          const uint8_t *a = At + (size_t)kb * 3 * BF3_TILE, *b = Wg + (size_t)kb * 3 * BF3_TILE;
          BF3_LOAD(2, a); /* activations hi, mid, lo */
          BF3_LOAD(3, a + BF3_TILE);
          BF3_LOAD(4, a + 2 * BF3_TILE);
          BF3_LOAD(5, b); /* weights hi, mid, lo */
          BF3_LOAD(6, b + BF3_TILE);
          BF3_LOAD(7, b + 2 * BF3_TILE);
          BF3_DP(0, 2, 5); /* hi.hi */
          BF3_DP(1, 3, 5); /* mid.hi */
          BF3_DP(1, 4, 5); /* lo.hi */
          BF3_DP(1, 2, 6); /* hi.mid */
          BF3_DP(1, 3, 6); /* mid.mid */
          BF3_DP(1, 2, 7); /* hi.lo */
        }
        BF3_STORE(0, sums[0], 64);
        BF3_STORE(1, sums[1], 64);
        float *y = Y + (size_t)tb * BF3_ROWS * ldy + (size_t)g * 16;
        int rows = n - tb * BF3_ROWS < BF3_ROWS ? n - tb * BF3_ROWS : BF3_ROWS;
        for (int j = 0; j < rows; j++) BF3_ADD16(y + (size_t)j * ldy, sums[0] + j * 16, sums[1] + j * 16);
      }
    }
  }
}

#undef BF3_RUN_BYTES
#undef BF3_ADD16
