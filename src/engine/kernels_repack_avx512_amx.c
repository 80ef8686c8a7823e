/* kernels_repack_avx512_amx.c — prompt-sized products of repacked
 * Q4_0/Q4_1/Q8_0 weights (repack.h) on AMX-INT8, where the CPU has it.
 *
 * Why: a prompt chunk is compute-bound, and on AVX-512 each 32-element
 * block costs 8 vpdpbusd per activation row. One tdpbsud multiplies a
 * 16 x 32 tile of activation bytes by a block's 32 x 16 weight bytes (16
 * tokens by 16 rows, 8192 products) at once; what stays on the vector
 * units is the float epilogue per block and token (correction, scale, FMA).
 *
 * A group's block is already a tile B in AMX's layout: its dword k holds
 * 4 consecutive elements of each of the 16 rows, which is row k of B (K
 * quads by N = 16 columns). Q8_0 blocks are used as stored; Q4_0/Q4_1
 * nibbles are unpacked to bytes first. Tile A is 16 activation rows' 32
 * quantized bytes of the block, loaded with the rows' stride. The int32
 * tile C (tokens x rows) goes through memory to the float epilogue, which
 * is the AVX-512 kernel's per block: C + correction, times d_w x d_x, plus
 * m_w x s_x for Q4_1; so the results equal that kernel's exactly.
 *
 * Only products of at least 48 activation rows (three tiles) use AMX, and
 * only their whole tiles of 16; the rows past them, and smaller products
 * (decode steps, short prompt chunks), take the AVX-512 kernel. Each thread loads
 * a tile configuration when it changes between these products and the
 * split float ones (bf3_tiles.h, on AMX-BF16), which use eight square
 * tiles. */
/* gcc spells the feature macros __AMX_TILE__, clang __AMXTILE__ */
#if (defined(__AMX_TILE__) || defined(__AMXTILE__)) && (defined(__AMX_INT8__) || defined(__AMXINT8__)) && \
    defined(__AVX512F__) && defined(__AVX512BW__) && defined(__F16C__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernels.h"
#include "repack_product.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* ldtilecfg's 64-byte operand */
typedef struct {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} tile_config;
_Static_assert(sizeof(tile_config) == 64, "ldtilecfg reads 64 bytes");

/* Tile registers (the intrinsics paste these into the instruction): two
 * sets, for even and odd blocks, so that the tile work of block b + 1 runs
 * while the vector units finish block b. */
#define TILE_C0 0
#define TILE_A0 1
#define TILE_B0 2
#define TILE_C1 3
#define TILE_A1 4
#define TILE_B1 5

/* the configuration this thread's tiles have */
enum { TILES_NONE, TILES_INT8, TILES_BF3 };
static __thread int tiles_config;

static void configure_tiles(void) {
  tile_config c = {.palette = 1};
  for (int set = 0; set < 2; set++) {
    int base = 3 * set;
    c.rows[base + 0] = 16, c.colsb[base + 0] = 64; /* C: 16 tokens x 16 int32 */
    c.rows[base + 1] = 16, c.colsb[base + 1] = 32; /* A: 16 tokens x 32 bytes */
    c.rows[base + 2] = 8, c.colsb[base + 2] = 64;  /* B: 8 quads x 16 rows x 4 bytes */
  }
  /* ldtilecfg reads all 64 bytes, which the compiler does not know */
  __asm__ volatile("" : : "m"(c) : "memory");
  _tile_loadconfig(&c);
  tiles_config = TILES_INT8;
}

/* One block's int32 tile (16 tokens x 16 rows) in tile register C0 or C1:
 * tile A is the 16 activation rows' 32 bytes at xq, tile B the block's 512
 * weight bytes. Stored to memory separately (block_store), after the
 * vector work of the block before: tilestored waits for the product, and
 * issued right behind it would hold that work up. */
ALWAYS_INLINE void block_product(int odd, const uint8_t *b, const int8_t *xq, size_t xs) {
  if (odd) {
    _tile_loadd(TILE_B1, b, 64);
    _tile_loadd(TILE_A1, xq, (long)xs);
    _tile_zero(TILE_C1);
    _tile_dpbsud(TILE_C1, TILE_A1, TILE_B1);
  } else {
    _tile_loadd(TILE_B0, b, 64);
    _tile_loadd(TILE_A0, xq, (long)xs);
    _tile_zero(TILE_C0);
    _tile_dpbsud(TILE_C0, TILE_A0, TILE_B0);
  }
}
ALWAYS_INLINE void block_store(int odd, int32_t *C) {
  if (odd) _tile_stored(TILE_C1, C, 64);
  else _tile_stored(TILE_C0, C, 64);
}

/* Blocks b0 .. b0 + n - 1 of one group (16 rows) against 16 activation rows
 * starting at X, added to Y (or stored, for the first blocks). B holds the
 * n blocks as bytes (512 each). */
ALWAYS_INLINE void group_tile(tensor_type t, int nb, const uint8_t *qs, int b0, int n,
                              const uint8_t *B, const uint8_t *X, size_t xs, int cols, float *Y,
                              int ldy) {
  const int qb = t == TT_Q8_0 ? 512 : 256;
  const uint16_t *dw = (const uint16_t *)(qs + (size_t)nb * qb);
  const uint16_t *mw = dw + (size_t)nb * 16;
  const rpx_view x0 = rpx_view_of(X, cols);
  __attribute__((aligned(64))) int32_t C[2][256];
  __m512 acc[16];
  for (int j = 0; j < 16; j++)
    acc[j] = b0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(Y + (size_t)j * ldy);
  block_product(0, B, x0.qs + (size_t)b0 * 32, xs);
  block_store(0, C[0]);
  for (int i = 0; i < n; i++) {
    int b = b0 + i;
    if (i + 1 < n)
      block_product((i + 1) & 1, B + (size_t)(i + 1) * 512, x0.qs + (size_t)(b + 1) * 32, xs);
    const int32_t *c = C[i & 1];
    __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(dw + (size_t)b * 16)));
    __m512 m = _mm512_setzero_ps();
    if (t == TT_Q4_1) m = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(mw + (size_t)b * 16)));
    /* row j's d, s and sum lie xs bytes after row j-1's */
    const uint8_t *pd = (const uint8_t *)(x0.d + b), *ps = (const uint8_t *)(x0.s + b);
    const uint8_t *pc = (const uint8_t *)(x0.sum + b);
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++) {
      __m512i s = _mm512_load_si512(c + 16 * j);
      if (t != TT_Q4_1) s = _mm512_add_epi32(s, _mm512_set1_epi32(*(const int32_t *)(pc + j * xs)));
      __m512 dd = _mm512_mul_ps(d, _mm512_set1_ps(*(const float *)(pd + j * xs)));
      acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), dd, acc[j]);
      if (t == TT_Q4_1) acc[j] = _mm512_fmadd_ps(m, _mm512_set1_ps(*(const float *)(ps + j * xs)), acc[j]);
    }
    if (i + 1 < n) block_store((i + 1) & 1, C[(i + 1) & 1]);
  }
  for (int j = 0; j < 16; j++) _mm512_storeu_ps(Y + (size_t)j * ldy, acc[j]);
}

/* Blocks a run of group_tile takes: their unpacked bytes (32 KB) stay in L1
 * while every 16-row tile of activations goes through them. */
#define RUN_BLOCKS 64

/* Rows from which a product goes to AMX (see product). */
#define AMX_MIN_ROWS 48

/* Groups outside, runs of blocks next (Q4_0/Q4_1 nibbles unpacked to bytes
 * once per run, long before the tile loads read them), whole 16-row tiles
 * inside; the group's rows past the last whole tile then on AVX-512.
 * Fewer than AMX_MIN_ROWS rows: all on AVX-512. */
ALWAYS_INLINE void product(tensor_type t, int cols, const void *W, size_t gb, int n_groups,
                           const void *X, size_t xs, int n_x, float *Y, int ldy) {
  int n16 = n_x & ~15, nb = cols / 32;
  /* Below three whole tiles AVX-512 alone is as fast or faster (measured
   * on the TinyLlama shape: 32 rows equal, 35 and 40 rows 6-9% slower with
   * two tiles on AMX; 48 and 64 rows 7-8% faster). */
  if (n16 >= AMX_MIN_ROWS) {
    if (tiles_config != TILES_INT8) configure_tiles();
    __attribute__((aligned(64))) uint8_t unpacked[RUN_BLOCKS * 512];
    const __m512i low4 = _mm512_set1_epi8(15);
    for (int g = 0; g < n_groups; g++) {
      const uint8_t *qs = (const uint8_t *)W + (size_t)g * gb;
      for (int b0 = 0; b0 < nb; b0 += RUN_BLOCKS) {
        int n = nb - b0 < RUN_BLOCKS ? nb - b0 : RUN_BLOCKS;
        const uint8_t *B = qs + (size_t)b0 * 512; /* Q8_0: the group's bytes as they are */
        if (t != TT_Q8_0) {
          for (int i = 0; i < n; i++) {
            const uint8_t *q = qs + (size_t)(b0 + i) * 256;
            uint8_t *u = unpacked + (size_t)i * 512;
            for (int k = 0; k < 4; k++) {
              __m512i v = _mm512_load_si512(q + 64 * k);
              _mm512_store_si512(u + 64 * k, _mm512_and_si512(v, low4));
              _mm512_store_si512(u + 256 + 64 * k, _mm512_and_si512(_mm512_srli_epi16(v, 4), low4));
            }
          }
          /* gcc's _tile_loadd tells the compiler nothing of the memory it
           * reads: the unpacked bytes must be stored before the loads */
          __asm__ volatile("" : : : "memory");
          B = unpacked;
        }
        for (int j0 = 0; j0 < n16; j0 += 16)
          group_tile(t, nb, qs, b0, n, B, (const uint8_t *)X + (size_t)j0 * xs, xs, cols,
                     Y + (size_t)j0 * ldy + (size_t)g * 16, ldy);
      }
      /* the rows past the last whole tile while this group is still in
       * L1/L2 (after all groups, its weights would come from memory twice) */
      if (n_x > n16)
        rp_product_avx512(t, cols, qs, gb, 1, (const uint8_t *)X + (size_t)n16 * xs, xs, n_x - n16,
                          Y + (size_t)n16 * ldy + (size_t)g * 16, ldy);
    }
    return;
  }
  rp_product_avx512(t, cols, W, gb, n_groups, X, xs, n_x, Y, ldy);
}

RP_DEFINE_ENTRY(product_q4_0, product, TT_Q4_0)
RP_DEFINE_ENTRY(product_q4_1, product, TT_Q4_1)
RP_DEFINE_ENTRY(product_q8_0, product, TT_Q8_0)

/* Linux hands out the AMX tile state only to a process that asks for it. */
static int amx_permitted(void) {
#if defined(__linux__) && defined(SYS_arch_prctl)
  enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
  return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
  return 0;
#endif
}

#if defined(__AMX_BF16__) || defined(__AMXBF16__)
/* ---- split float products (bf3.h) on AMX-BF16 ---- */

static void configure_bf3_tiles(void) {
  tile_config c = {.palette = 1};
  for (int t = 0; t < 8; t++) c.rows[t] = 16, c.colsb[t] = 64;
  __asm__ volatile("" : : "m"(c) : "memory");
  _tile_loadconfig(&c);
  tiles_config = TILES_BF3;
}

/* gcc's _tile_loadd tells the compiler nothing of the memory it reads:
 * the parts must be in memory before the first load */
#define BF3_STATE __asm__ volatile("" : : : "memory");
#define BF3_LOAD(t, p) _tile_loadd(t, p, 64)
#define BF3_ZERO(t) _tile_zero(t)
#define BF3_DP(c, a, b) _tile_dpbf16ps(c, a, b)
#define BF3_STORE(t, p, s) _tile_stored(t, p, s)
#define BF3_ADD16(y, a, b) _mm512_storeu_ps(y, _mm512_add_ps(_mm512_load_ps(a), _mm512_load_ps(b)))
#define BF3_PRODUCT bf3_tiles_amx
static void bf3_tiles_amx(const void *W, int n_groups, int cols, const void *A, int n, float *Y,
                          int ldy);
#include "bf3_tiles.h"

static void bf3_matmul_amx(const void *W, int n_groups, int cols, const void *A, int n, float *Y,
                           int ldy) {
  if (tiles_config != TILES_BF3) configure_bf3_tiles();
  bf3_tiles_amx(W, n_groups, cols, A, n, Y, ldy);
}
#endif

int kernels_fill_repack_amx(kernel_table *t) {
  if (!cpu_has_amx_int8() || !amx_permitted()) return 0;
  t->types[TT_Q4_0].rp_matmul = product_q4_0;
  t->types[TT_Q4_1].rp_matmul = product_q4_1;
  t->types[TT_Q8_0].rp_matmul = product_q8_0;
#if defined(__AMX_BF16__) || defined(__AMXBF16__)
  if (cpu_has_amx_bf16()) t->bf3_matmul = bf3_matmul_amx;
#endif
  return 1;
}

#else /* built without the AMX flags */
#include "kernels.h"
int kernels_fill_repack_amx(kernel_table *t) {
  (void)t;
  return 0;
}
#endif
