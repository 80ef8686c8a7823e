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
 * the Xeons here) while the groups go through them: a chunk of 128 tokens
 * of a 1536-wide input (144 KB of parts per 16 tokens) is one run. At most
 * BF3_MAX_RUN tiles of tokens a run (their partial sums' scratch). */
#define BF3_RUN_BYTES (1280 * 1024)
#define BF3_MAX_RUN 32
/* Blocks of 32 columns taken at a time: a group's parts for them (36 KB)
 * stay in L1 while the run's tokens go through them, so each step of six
 * tile products loads its three weight tiles from L1 and only the three
 * activation tiles from L2 (32 bytes a cycle at ~16 cycles a product,
 * where all six from L2 would ask 64, L2's peak). Wider inputs (the down
 * projection's 1536 columns) keep their partial sums in memory between
 * blocks: two tile stores and loads per 72 tile products. Not yet
 * measured on AMX. */
#define BF3_KBLOCK 12

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
  int run = gb >= BF3_RUN_BYTES ? 1 : (int)(BF3_RUN_BYTES / gb);
  if (run > BF3_MAX_RUN) run = BF3_MAX_RUN;
  __attribute__((aligned(64))) float sums[2][BF3_ROWS * 16];
  /* partial sums of the run's tiles of tokens between blocks of columns */
  __attribute__((aligned(64))) float partial[BF3_MAX_RUN][2][BF3_ROWS * 16]; /* 64 KB */
  for (int tb0 = 0; tb0 < ntb; tb0 += run) {
    int tb1 = tb0 + run < ntb ? tb0 + run : ntb;
    for (int g = 0; g < n_groups; g++) {
      const uint8_t *Wg = (const uint8_t *)W + (size_t)g * gb;
      for (int kb0 = 0; kb0 < nkb; kb0 += BF3_KBLOCK) {
        int kb1 = kb0 + BF3_KBLOCK < nkb ? kb0 + BF3_KBLOCK : nkb;
        for (int tb = tb0; tb < tb1; tb++) {
          const uint8_t *At = (const uint8_t *)A + (size_t)tb * gb;
          float(*part)[BF3_ROWS * 16] = partial[tb - tb0];
          if (kb0 == 0) {
            BF3_ZERO(0);
            BF3_ZERO(1);
          } else {
            BF3_LOAD(0, part[0]);
            BF3_LOAD(1, part[1]);
          }
          for (int kb = kb0; kb < kb1; kb++) {
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
          if (kb1 < nkb) {
            BF3_STORE(0, part[0], 64);
            BF3_STORE(1, part[1], 64);
            continue;
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
}

#undef BF3_RUN_BYTES
#undef BF3_MAX_RUN
#undef BF3_KBLOCK
#undef BF3_ADD16
