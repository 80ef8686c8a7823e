/* test_bf3.c — float matrices split into bfloat16 parts (bf3.h): the split
 * is exact, and the split product (the plain-C model of the AMX steps on
 * every machine, the AMX kernel where the CPU has AMX-BF16) gives the
 * float32 product to float32 accuracy, tails and strides included. */
#include "../../src/base/pool.h"
#include "../../src/engine/bf3.h"
#include "../../src/engine/forward.h"
#include "../../src/engine/kernels.h"
#include "../../src/engine/repack.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double rnd_unit(void) { /* [0, 1) */
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}
/* Values of varied sizes and signs, as trained weights and activations. */
static float rnd_value(void) {
  double v = (rnd_unit() - 0.5) * 4.0 * pow(2.0, (int)(rnd_unit() * 12) - 6);
  return (float)v;
}

TEST(split_is_exact) {
  for (int i = 0; i < 200000; i++) {
    float x;
    if (i < 100000) x = rnd_value();
    else { /* any finite float from 2^-100 to 2^100 with a full mantissa */
      uint32_t u = (uint32_t)(rnd_unit() * 4294967296.0);
      u = (u & 0x807FFFFFu) | ((uint32_t)(27 + rnd_unit() * 200) << 23);
      memcpy(&x, &u, 4);
    }
    uint16_t p[3];
    bf3_split(x, p);
    double hi = bf3_float((uint32_t)p[0] << 16), mid = bf3_float((uint32_t)p[1] << 16),
           lo = bf3_float((uint32_t)p[2] << 16);
    if (hi + mid + lo != (double)x || fabs(mid) > fabs(x) * 0x1p-8 || fabs(lo) > fabs(x) * 0x1p-16) {
      fprintf(stderr, "  FAIL %s: %.9g splits into %.9g + %.9g + %.9g\n", test_cur_name, x, hi, mid, lo);
      test_cur_failed = 1;
      return;
    }
  }
}

/* Every kernel path's bf3_split_rows writes the plain-C parts, byte for
 * byte, zero rows past n included. */
TEST(every_path_splits_rows_alike) {
  enum { N = 37, COLS = 96 };
  static float X[N][COLS + 3];
  for (int j = 0; j < N; j++)
    for (int k = 0; k < COLS + 3; k++) X[j][k] = rnd_value();
  X[0][0] = 0.0f, X[0][1] = -0.0f, X[0][2] = 1e-30f, X[0][3] = -3e25f, X[0][4] = 1.0f + 0x1p-23f;
  static const uint32_t ties[] = {0x3F808000u, 0x3F818000u, 0xBF818000u}; /* halfway: to even */
  for (int i = 0; i < 3; i++) memcpy(&X[1][i], &ties[i], 4);
  size_t bytes = bf3_rows_bytes(N, COLS);
  uint8_t *want = aligned_alloc(64, bytes), *got = aligned_alloc(64, bytes);
  if (!want || !got) {
    CHECK(!"out of memory");
    free(want), free(got);
    return;
  }
  bf3_split_rows(&X[0][0], sizeof X[0], N, COLS, want);
  for (kern_isa isa = KERN_ISA_REF; isa < KERN_ISA_COUNT; isa++) {
    const kernel_table *k = kernels_for_isa(isa);
    if (!k) continue;
    memset(got, 0x5A, bytes);
    k->bf3_split_rows(&X[0][0], sizeof X[0], N, COLS, got);
    if (memcmp(want, got, bytes)) {
      fprintf(stderr, "  FAIL %s: %s parts differ from the plain-C split\n", test_cur_name, k->name);
      test_cur_failed = 1;
    }
  }
  free(want), free(got);
}

/* Y = W . X for rows x cols weights and n rows with the given product, Y
 * n rows of ldy floats: every written value within float32 accuracy of
 * the double sum, the columns past the weights' rows and the rows past n
 * untouched. */
static void check_product(bf3_matmul_fn product, const char *name, int rows, int cols, int n) {
  int ldy = rows + 5;
  float *W = malloc(sizeof(float) * (size_t)rows * cols), *X = malloc(sizeof(float) * (size_t)n * cols);
  float *Y = malloc(sizeof(float) * (size_t)(n + 1) * ldy);
  void *Wp = aligned_alloc(64, bf3_group_bytes(cols) * (size_t)(rows / BF3_ROWS));
  void *Ap = aligned_alloc(64, bf3_rows_bytes(n, cols));
  if (!W || !X || !Y || !Wp || !Ap) {
    CHECK(!"out of memory");
    goto out;
  }
  for (int i = 0; i < rows * cols; i++) W[i] = rnd_value();
  for (int i = 0; i < n * cols; i++) X[i] = rnd_value();
  for (int i = 0; i < (n + 1) * ldy; i++) Y[i] = -7.0f;
  for (int g = 0; g < rows / BF3_ROWS; g++)
    bf3_split_group(W + (size_t)g * BF3_ROWS * cols, sizeof(float) * (size_t)cols, cols,
                    (char *)Wp + (size_t)g * bf3_group_bytes(cols));
  bf3_split_rows(X, sizeof(float) * (size_t)cols, n, cols, Ap);
  product(Wp, rows / BF3_ROWS, cols, Ap, n, Y, ldy);
  for (int j = 0; j <= n; j++)
    for (int r = 0; r < ldy; r++) {
      float y = Y[(size_t)j * ldy + r];
      if (j == n || r >= rows) {
        if (y != -7.0f) {
          fprintf(stderr, "  FAIL %s: %s %dx%d, %d rows: wrote outside Y at [%d][%d]\n", test_cur_name, name,
                  rows, cols, n, j, r);
          test_cur_failed = 1;
          goto out;
        }
        continue;
      }
      double sum = 0, mag = 0;
      for (int k = 0; k < cols; k++) {
        sum += (double)W[(size_t)r * cols + k] * X[(size_t)j * cols + k];
        mag += fabs((double)W[(size_t)r * cols + k] * X[(size_t)j * cols + k]);
      }
      /* float32 accuracy: float32 FMA chains over such sums reach ~1e-6 of
       * their size (9.9e-7 at 1536 columns), the plain-C model ~5.6e-7; a
       * part product left out would err by ~2^-16 */
      if (!(fabs(y - sum) <= 1.5e-6 * mag + 1e-30)) {
        fprintf(stderr, "  FAIL %s: %s %dx%d, %d rows: Y[%d][%d] %.9g, float64 %.9g (size %.3g)\n",
                test_cur_name, name, rows, cols, n, j, r, y, sum, mag);
        test_cur_failed = 1;
        goto out;
      }
    }
out:
  free(W), free(X), free(Y), free(Wp), free(Ap);
}

/* 1-7 groups, partial and whole tiles of rows, the down projection's 1536
 * columns over 300 rows (more than one run of split rows in L2). */
static void check_shapes(bf3_matmul_fn product, const char *name) {
  static const int groups[] = {1, 2, 3, 4, 5, 7};
  static const int ns[] = {1, 15, 16, 17, 40};
  for (size_t g = 0; g < sizeof groups / sizeof *groups; g++)
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) check_product(product, name, 16 * groups[g], 64, ns[i]);
  check_product(product, name, 48, 1536, 300);
  check_product(product, name, 32, 96, 1000);
}

TEST(model_of_the_tiles_gives_the_float_product) { check_shapes(bf3_matmul_ref, "plain C"); }

TEST(amx_gives_the_float_product) {
  const kernel_table *k = kernels_get();
  if (!k->bf3_matmul || k->bf3_matmul == bf3_matmul_ref) SKIP("no AMX-BF16 on this CPU");
  check_shapes(k->bf3_matmul, k->name);
}

/* The forward's products on split weights (three weights sharing an
 * input, epilogues as Q, K and V have them, on two threads): what the FMA
 * tiles give to float32 rounding, every output written, short inputs
 * (chunks of weight rows, every thread splitting all the rows) and long
 * ones (chunks of tokens); bf3_min_rows 1: every row count. */
TEST(forward_products_on_split_weights) {
  enum { COLS = 64, NMAX = 300 };
  static const int rows[3] = {48, 32, 64}, ns[] = {1, 5, 40, 300};
  hr_pool *pool = hr_pool_new(2);
  float *X = malloc(sizeof(float) * NMAX * COLS), *bias = malloc(sizeof(float) * 64);
  float *data[3], *Yf[3], *Ys[3];
  void *packed[3], *split[3];
  weight w[3];
  const weight *ws[3] = {&w[0], &w[1], &w[2]};
  for (int i = 0; i < NMAX * COLS; i++) X[i] = rnd_value();
  for (int i = 0; i < 64; i++) bias[i] = rnd_value();
  for (int k = 0; k < 3; k++) {
    data[k] = malloc(sizeof(float) * rows[k] * COLS);
    for (int i = 0; i < rows[k] * COLS; i++) data[k][i] = rnd_value() * 0.1f;
    packed[k] = aligned_alloc(64, rp_group_bytes(TT_F32, COLS) * (size_t)(rows[k] / RP_ROWS));
    split[k] = aligned_alloc(64, bf3_group_bytes(COLS) * (size_t)(rows[k] / BF3_ROWS));
    for (int g = 0; g < rows[k] / RP_ROWS; g++) {
      rp_pack_group(TT_F32, data[k] + (size_t)g * RP_ROWS * COLS, sizeof(float) * COLS, COLS,
                    (char *)packed[k] + (size_t)g * rp_group_bytes(TT_F32, COLS));
      bf3_split_group(data[k] + (size_t)g * BF3_ROWS * COLS, sizeof(float) * COLS, COLS,
                      (char *)split[k] + (size_t)g * bf3_group_bytes(COLS));
    }
    Yf[k] = malloc(sizeof(float) * NMAX * rows[k]);
    Ys[k] = malloc(sizeof(float) * NMAX * rows[k]);
  }
  const rp_epilogue eps[3] = {
      {.bias = bias, .scale = 0.25f},
      {.bias = bias + 8, .scale = 1.0f, .gelu = true},
      {.bias = NULL, .scale = 1.0f},
  };
  for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) {
    int n = ns[ni];
    for (int k = 0; k < 3; k++)
      w[k] = (weight){.type = TT_F32, .rows = rows[k], .cols = COLS, .data = data[k],
                      .row_bytes = sizeof(float) * COLS, .rp = packed[k],
                      .rp_group_bytes = rp_group_bytes(TT_F32, COLS), .bf3_min_rows = 1};
    fwd_matmul_ep(pool, NULL, ws, Yf, 3, X, n, eps);
    for (int k = 0; k < 3; k++) {
      w[k].bf3 = split[k];
      for (int q = 0; q < n * rows[k]; q++) Ys[k][q] = NAN;
    }
    fwd_matmul_ep(pool, NULL, ws, Ys, 3, X, n, eps);
    for (int k = 0; k < 3; k++)
      for (int q = 0; q < n * rows[k]; q++) {
        float a = Yf[k][q], b = Ys[k][q];
        double mag = 0; /* the size of the sum: both float32 paths err by ~5e-7 of it */
        for (int c = 0; c < COLS; c++)
          mag += fabs((double)data[k][(size_t)(q % rows[k]) * COLS + c] * X[(size_t)(q / rows[k]) * COLS + c]);
        if (!(fabs((double)a - b) <= 2e-6 * mag + 1e-6 * fabsf(a))) {
          fprintf(stderr, "  FAIL %s: %d rows, weight %d, output %d: split %.9g, FMA %.9g\n", test_cur_name,
                  n, k, q, b, a);
          test_cur_failed = 1;
          break;
        }
      }
  }
  for (int k = 0; k < 3; k++) free(data[k]), free(packed[k]), free(split[k]), free(Yf[k]), free(Ys[k]);
  free(X), free(bias);
  hr_pool_free(pool);
}

/* AMX holds one tile configuration a thread, the INT8 products' or the
 * split products': on one thread, a Q8_0 product on INT8 tiles (48 rows),
 * then split products, then the Q8_0 product again, then split products
 * again — each gives what it gave before the switch. */
TEST(amx_configs_switch_on_one_thread) {
  const kernel_table *k = kernels_get();
  if (!k->bf3_matmul || k->bf3_matmul == bf3_matmul_ref) SKIP("no AMX-BF16 on this CPU");
  enum { ROWS = 64, COLS = 256, N = 48 };
  hr_pool *one = hr_pool_new(1);
  size_t rb = quant_row_bytes(TT_Q8_0, COLS), gb = rp_group_bytes(TT_Q8_0, COLS);
  uint8_t *data = malloc(rb * ROWS), *packed = aligned_alloc(64, gb * (ROWS / RP_ROWS));
  void *xq = aligned_alloc(64, fwd_act_row_bytes(TT_Q8_0, COLS) * N);
  float *f = malloc(sizeof(float) * COLS), *X = malloc(sizeof(float) * N * COLS);
  float *Y1 = malloc(sizeof(float) * N * ROWS), *Y2 = malloc(sizeof(float) * N * ROWS);
  for (int r = 0; r < ROWS; r++) {
    for (int c = 0; c < COLS; c++) f[c] = rnd_value();
    kernels_for_type(TT_Q8_0)->quantize(f, data + (size_t)r * rb, COLS);
  }
  for (int g = 0; g < ROWS / RP_ROWS; g++)
    rp_pack_group(TT_Q8_0, data + (size_t)g * RP_ROWS * rb, rb, COLS, packed + (size_t)g * gb);
  for (int i = 0; i < N * COLS; i++) X[i] = rnd_value();
  weight w = {.type = TT_Q8_0, .rows = ROWS, .cols = COLS, .data = data, .row_bytes = rb,
              .rp = packed, .rp_group_bytes = gb};
  fwd_matmul(one, xq, &w, X, N, Y1);
  check_product(k->bf3_matmul, k->name, 32, 64, 40);
  for (int i = 0; i < N * ROWS; i++) Y2[i] = NAN;
  fwd_matmul(one, xq, &w, X, N, Y2);
  if (memcmp(Y1, Y2, sizeof(float) * N * ROWS)) {
    fprintf(stderr, "  FAIL %s: the Q8_0 product after split products differs\n", test_cur_name);
    test_cur_failed = 1;
  }
  check_product(k->bf3_matmul, k->name, 48, 1536, 17);
  free(data), free(packed), free(xq), free(f), free(X), free(Y1), free(Y2);
  hr_pool_free(one);
}

int main(void) {
  RUN(split_is_exact);
  RUN(every_path_splits_rows_alike);
  RUN(model_of_the_tiles_gives_the_float_product);
  RUN(amx_gives_the_float_product);
  RUN(forward_products_on_split_weights);
  RUN(amx_configs_switch_on_one_thread);
  return test_report("bf3");
}
