/* repack_product.h — the loop every repacked product runs, shared by the
 * ISA kernel files (each includes it after defining its tile function and
 * ALWAYS_INLINE, with its own ISA flags).
 *
 * Activation rows in batches of BATCH (their views built once per batch);
 * groups of 16 weight rows outside, GROUPS at a time (their weights come
 * from memory once and stay in L1/L2 for every tile); tiles of activation
 * rows inside, each tile size a compile-time constant so its sums stay in
 * registers. EVEN spreads a batch's rows over its tiles evenly (9 rows as
 * 5 + 4 rather than NC + 1); otherwise tiles take NC rows and the last the
 * rest.
 *
 * TILE(t, cols, w, gb, G, x, nc, y, ldy): G (<= GROUPS) groups starting at w
 * (gb bytes apart) against nc activation rows x, into y (ldy floats apart). */
#ifndef HEARTH_ENGINE_REPACK_PRODUCT_H
#define HEARTH_ENGINE_REPACK_PRODUCT_H

#include "repack.h"

/* How far ahead (bytes) the quantized products prefetch their weights into
 * L2. Decode streams every weight once per step; with only the hardware
 * prefetchers and a short L1 prefetch a core keeps too few lines in flight,
 * more so while it also computes several activation rows. TinyLlama-shape
 * Q4_0 on 2 threads (Zen 4, AVX-512): 4 sequences 140 -> 180 tok/s, one
 * 45 -> 50-55; 24-64 KB alike, 2-8 KB into L1 instead no better. */
#define RP_PREFETCH_L2 32768

/* A weight block of BYTES (a multiple of 64) about to be streamed: each of
 * its lines 2 KB ahead into L1 and RP_PREFETCH_L2 ahead into L2. */
#define RP_PREFETCH_BLOCK(q, BYTES)                                                   \
  do {                                                                                \
    for (int pk_ = 0; pk_ < (BYTES) / 64; pk_++) {                                    \
      _mm_prefetch((const char *)(q) + 2048 + 64 * pk_, _MM_HINT_T0);                 \
      _mm_prefetch((const char *)(q) + RP_PREFETCH_L2 + 64 * pk_, _MM_HINT_T1);       \
    }                                                                                 \
  } while (0)

/* K is NOEP for a plain product or EP for one with an epilogue: the
 * RP_*_EP pieces add the parameter, point a per-group copy of it at the
 * group's first bias and pass that copy to the tile. */
#define RP_PARAM_NOEP()
#define RP_PARAM_EP() , const rp_epilogue *ep
#define RP_GROUP_NOEP()
#define RP_GROUP_EP()                           \
  rp_epilogue epg_, *epg = NULL;                \
  if (ep) {                                     \
    epg_ = *ep;                                 \
    if (epg_.bias) epg_.bias += (size_t)g * 16; \
    epg = &epg_;                                \
  }
#define RP_ARG_NOEP()
#define RP_ARG_EP() , epg

#define RP_TILE_CASE(TILE, N, K) \
  case N:                        \
    TILE(t, cols, w, gb, G, x + j0, N, y, ldy RP_ARG_##K()); \
    break;
#define RP_TILE_DEFAULT(TILE, N, K) \
  default:                          \
    TILE(t, cols, w, gb, G, x + j0, N, y, ldy RP_ARG_##K()); \
    break;
#define RP_TILES_4(TILE, K) \
  RP_TILE_CASE(TILE, 1, K) RP_TILE_CASE(TILE, 2, K) RP_TILE_CASE(TILE, 3, K) RP_TILE_DEFAULT(TILE, 4, K)
#define RP_TILES_6(TILE, K)                                                                       \
  RP_TILE_CASE(TILE, 1, K) RP_TILE_CASE(TILE, 2, K) RP_TILE_CASE(TILE, 3, K)                      \
  RP_TILE_CASE(TILE, 4, K) RP_TILE_CASE(TILE, 5, K) RP_TILE_DEFAULT(TILE, 6, K)
#define RP_TILES_8(TILE, K)                                                                       \
  RP_TILE_CASE(TILE, 1, K) RP_TILE_CASE(TILE, 2, K) RP_TILE_CASE(TILE, 3, K)                      \
  RP_TILE_CASE(TILE, 4, K) RP_TILE_CASE(TILE, 5, K) RP_TILE_CASE(TILE, 6, K)                      \
  RP_TILE_CASE(TILE, 7, K) RP_TILE_DEFAULT(TILE, 8, K)
#define RP_TILES_12(TILE, K)                                                                      \
  RP_TILE_CASE(TILE, 1, K) RP_TILE_CASE(TILE, 2, K) RP_TILE_CASE(TILE, 3, K)                      \
  RP_TILE_CASE(TILE, 4, K) RP_TILE_CASE(TILE, 5, K) RP_TILE_CASE(TILE, 6, K)                      \
  RP_TILE_CASE(TILE, 7, K) RP_TILE_CASE(TILE, 8, K) RP_TILE_CASE(TILE, 9, K)                      \
  RP_TILE_CASE(TILE, 10, K) RP_TILE_CASE(TILE, 11, K) RP_TILE_DEFAULT(TILE, 12, K)

#define RP_PRODUCT_(name, TILE, NC, BATCH, GROUPS, EVEN, K)                                     \
  ALWAYS_INLINE void name(tensor_type t, int cols, const void *W, size_t gb, int n_groups,     \
                          const void *X, size_t xs, int n_x, float *Y, int ldy RP_PARAM_##K()) { \
    rpx_view x[BATCH];                                                                         \
    for (int jb = 0; jb < n_x; jb += BATCH) {                                                  \
      int nj = n_x - jb < BATCH ? n_x - jb : BATCH;                                            \
      for (int j = 0; j < nj; j++)                                                             \
        x[j] = rpx_view_of((const uint8_t *)X + (size_t)(jb + j) * xs, cols);                  \
      int per = NC;                                                                            \
      if (EVEN) {                                                                              \
        int n_tiles = (nj + NC - 1) / NC;                                                      \
        per = (nj + n_tiles - 1) / n_tiles;                                                    \
      }                                                                                        \
      for (int g = 0; g < n_groups; g += GROUPS) {                                             \
        const uint8_t *w = (const uint8_t *)W + (size_t)g * gb;                                \
        int G = n_groups - g < GROUPS ? n_groups - g : GROUPS;                                 \
        RP_GROUP_##K()                                                                         \
        for (int j0 = 0; j0 < nj; j0 += per) {                                                 \
          int nc = nj - j0 < per ? nj - j0 : per;                                              \
          float *y = Y + (size_t)(jb + j0) * ldy + (size_t)g * 16;                             \
          switch (nc) { RP_TILES_##NC(TILE, K) }                                               \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
  }

/* Defines name(t, cols, W, gb, n_groups, X, xs, n_x, Y, ldy); NC is 4, 6, 8
 * or 12. */
#define RP_DEFINE_PRODUCT(name, TILE, NC, BATCH, GROUPS, EVEN) \
  RP_PRODUCT_(name, TILE, NC, BATCH, GROUPS, EVEN, NOEP)
/* The same with a last parameter const rp_epilogue *ep (NULL: none), which
 * TILE(..., ldy, ep) receives with ep->bias at its first group's rows. */
#define RP_DEFINE_PRODUCT_EP(name, TILE, NC, BATCH, GROUPS, EVEN) \
  RP_PRODUCT_(name, TILE, NC, BATCH, GROUPS, EVEN, EP)

/* An rp_matmul_fn (repack.h) for type T: impl specialized for it, so each
 * type gets its own unrolled code. */
#define RP_DEFINE_ENTRY(name, impl, T)                                                        \
  static void name(tensor_type t, int cols, const void *W, size_t gb, int ng, const void *X, \
                   size_t xs, int nx, float *Y, int ldy) {                                   \
    (void)t;                                                                                 \
    impl(T, cols, W, gb, ng, X, xs, nx, Y, ldy);                                             \
  }

/* An rp_matmul_fn for type T from an RP_DEFINE_PRODUCT_EP impl, with no
 * epilogue (compiled out). */
#define RP_DEFINE_ENTRY_NO_EP(name, impl, T)                                                  \
  static void name(tensor_type t, int cols, const void *W, size_t gb, int ng, const void *X, \
                   size_t xs, int nx, float *Y, int ldy) {                                   \
    (void)t;                                                                                 \
    impl(T, cols, W, gb, ng, X, xs, nx, Y, ldy, NULL);                                       \
  }

/* An rp_matmul_ep_fn for type T (impl from RP_DEFINE_PRODUCT_EP). */
#define RP_DEFINE_ENTRY_EP(name, impl, T)                                                     \
  static void name(tensor_type t, int cols, const void *W, size_t gb, int ng, const void *X, \
                   size_t xs, int nx, float *Y, int ldy, const rp_epilogue *ep) {            \
    (void)t;                                                                                 \
    impl(T, cols, W, gb, ng, X, xs, nx, Y, ldy, ep);                                         \
  }

/* The eight float entries of a kernel file, from its RP_DEFINE_PRODUCT_EP
 * products for cached (CACHED) and streamed (STREAMED) weights:
 * product_f32/_f16 and their _streamed twins (the plain products, their
 * own copies with the epilogue compiled out: one that tested it at run
 * time made a 512-token text's attention, many short products, 50%
 * slower), and the same four with _ep. */
#define RP_DEFINE_FLOAT_ENTRIES(CACHED, STREAMED)                        \
  RP_DEFINE_ENTRY_EP(product_f32_ep, CACHED, TT_F32)                     \
  RP_DEFINE_ENTRY_EP(product_f16_ep, CACHED, TT_F16)                     \
  RP_DEFINE_ENTRY_EP(product_f32_ep_streamed, STREAMED, TT_F32)          \
  RP_DEFINE_ENTRY_EP(product_f16_ep_streamed, STREAMED, TT_F16)          \
  RP_DEFINE_ENTRY_NO_EP(product_f32, CACHED, TT_F32)                     \
  RP_DEFINE_ENTRY_NO_EP(product_f16, CACHED, TT_F16)                     \
  RP_DEFINE_ENTRY_NO_EP(product_f32_streamed, STREAMED, TT_F32)          \
  RP_DEFINE_ENTRY_NO_EP(product_f16_streamed, STREAMED, TT_F16)
/* Puts them in kernel table t. */
#define RP_FILL_FLOAT_ENTRIES(t)                                         \
  do {                                                                   \
    (t)->types[TT_F32].rp_matmul = product_f32;                          \
    (t)->types[TT_F16].rp_matmul = product_f16;                          \
    (t)->types[TT_F32].rp_matmul_streamed = product_f32_streamed;        \
    (t)->types[TT_F16].rp_matmul_streamed = product_f16_streamed;        \
    (t)->types[TT_F32].rp_matmul_ep = product_f32_ep;                    \
    (t)->types[TT_F16].rp_matmul_ep = product_f16_ep;                    \
    (t)->types[TT_F32].rp_matmul_ep_streamed = product_f32_ep_streamed;  \
    (t)->types[TT_F16].rp_matmul_ep_streamed = product_f16_ep_streamed;  \
  } while (0)

#endif
