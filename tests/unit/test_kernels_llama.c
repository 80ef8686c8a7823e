/* test_kernels_llama.c — the "llama" numerics (kernels.h, "Numerics"):
 * every SIMD kernel of those tables against the plain-C statement of
 * llama.cpp's float orders in kernels_ref.c, bit for bit, on random data
 * with the awkward sizes (rows past a tile, positions past a whole 64,
 * head sizes llama.cpp sends down its other route, rows too long to pack).
 * That the statement is llama.cpp's own is checked end to end by
 * tests/integration/chat_fidelity.test.js. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/engine/kernels.h"
#include "test.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint32_t rnd_u32(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}
static float rnd_unit(void) { return (float)((rnd_u32() >> 8) + 0.5) / 16777216.0f; }
static float rnd_normal(void) {
  float v = sqrtf(-2.0f * logf(rnd_unit())) * cosf(6.2831853f * rnd_unit());
  if (rnd_u32() % 61 == 0) v *= 8; /* outliers, as real activations have */
  return v;
}
static void fill_normal(float *x, int n, float scale) {
  for (int i = 0; i < n; i++) x[i] = rnd_normal() * scale;
}

/* first index where a and b differ as bits, or -1 */
static int first_diff(const float *a, const float *b, int n) {
  for (int i = 0; i < n; i++)
    if (memcmp(&a[i], &b[i], sizeof(float))) return i;
  return -1;
}

#define CHECK_SAME(a, b, n, what, ...)                                                     \
  do {                                                                                     \
    int d_ = first_diff((a), (b), (n));                                                    \
    if (d_ >= 0) {                                                                         \
      fprintf(stderr, "  FAIL %s: " what " [%d] %.9g vs %.9g\n", test_cur_name, __VA_ARGS__, \
              d_, (double)(a)[d_], (double)(b)[d_]);                                       \
      test_cur_failed = 1;                                                                 \
    }                                                                                      \
  } while (0)

static const tensor_type BLOCK32[] = {TT_Q4_0, TT_Q4_1, TT_Q5_0, TT_Q5_1, TT_Q8_0};
#define N_BLOCK32 5

static const kernel_table *spec(void) { return kernels_for_isa_numerics(KERN_ISA_REF, KERN_NUM_LLAMA); }

/* rows x cols weights of type t, and n_x activation rows in its vec_dot_type */
typedef struct {
  void *w, *x;
  size_t rb, xs;
} mats;
static mats make(tensor_type t, int rows, int cols, int n_x) {
  const kern_type_ops *o = &spec()->types[t];
  mats m;
  m.rb = quant_row_bytes(t, cols);
  m.xs = quant_row_bytes(o->vec_dot_type, cols);
  m.w = malloc(m.rb * (size_t)rows);
  m.x = malloc(m.xs * (size_t)n_x);
  float *f = malloc(sizeof(float) * (size_t)cols);
  for (int r = 0; r < rows; r++) {
    fill_normal(f, cols, 0.05f);
    o->quantize(f, (char *)m.w + (size_t)r * m.rb, cols);
  }
  for (int j = 0; j < n_x; j++) {
    fill_normal(f, cols, 1.0f);
    o->from_float(f, (char *)m.x + (size_t)j * m.xs, cols);
  }
  free(f);
  return m;
}

TEST(tables) {
  for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
    const kernel_table *fast = kernels_for_isa_numerics((kern_isa)isa, KERN_NUM_FAST);
    const kernel_table *llama = kernels_for_isa_numerics((kern_isa)isa, KERN_NUM_LLAMA);
    if (!fast) continue;
    CHECK(fast == kernels_for_isa((kern_isa)isa));
    CHECK(llama != NULL && llama->attn_scores && llama->attn_values && llama->swiglu);
    CHECK(fast->attn_scores == NULL && fast->attn_values == NULL && fast->swiglu != NULL);
    for (int k = 0; k < TT_COUNT_; k++) CHECK(llama->types[k].rp_matmul == NULL);
  }
  CHECK(kernels_for_isa_numerics(KERN_ISA_REF, KERN_NUM_COUNT) == NULL);
}

/* Every llama table's 32-block vec_dot equals the statement. */
TEST(dots) {
  static const int blocks[] = {1, 2, 3, 18, 48};
  for (int ti = 0; ti < N_BLOCK32; ti++)
    for (int bi = 0; bi < 5; bi++) {
      tensor_type t = BLOCK32[ti];
      int cols = 32 * blocks[bi];
      mats m = make(t, 4, cols, 3);
      for (int isa = 1; isa < KERN_ISA_COUNT; isa++) {
        const kernel_table *k = kernels_for_isa_numerics((kern_isa)isa, KERN_NUM_LLAMA);
        if (!k) continue;
        for (int r = 0; r < 4; r++)
          for (int j = 0; j < 3; j++) {
            const void *w = (char *)m.w + (size_t)r * m.rb, *x = (char *)m.x + (size_t)j * m.xs;
            float want = spec()->types[t].vec_dot(cols, w, x), got = k->types[t].vec_dot(cols, w, x);
            CHECK_SAME(&got, &want, 1, "%s %s dot n=%d", k->name, tensor_type_get(t).name, cols);
          }
      }
      free(m.w), free(m.x);
    }
}

/* The llama tables' prompt product: each element what vec_dot gives. */
TEST(gemm) {
  static const int shapes[][3] = {{16, 64, 3}, {37, 576, 7}, {5, 1536, 4}, {33, 96, 9}, {17, 4160, 3}};
  for (int ti = 0; ti < N_BLOCK32; ti++)
    for (int si = 0; si < 5; si++) {
      tensor_type t = BLOCK32[ti];
      int rows = shapes[si][0], cols = shapes[si][1], nx = shapes[si][2];
      mats m = make(t, rows, cols, nx);
      float *want = malloc(sizeof(float) * (size_t)rows * nx), *got = malloc(sizeof(float) * (size_t)rows * nx);
      for (int j = 0; j < nx; j++)
        for (int r = 0; r < rows; r++)
          want[j * rows + r] = spec()->types[t].vec_dot(cols, (char *)m.w + (size_t)r * m.rb,
                                                         (char *)m.x + (size_t)j * m.xs);
      for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        const kernel_table *k = kernels_for_isa_numerics((kern_isa)isa, KERN_NUM_LLAMA);
        if (!k) continue;
        for (int i = 0; i < rows * nx; i++) got[i] = NAN;
        /* two row ranges, as the pool splits them */
        kern_matmul_on(k, t, m.w, rows, cols, m.x, m.xs, nx, got, rows, 0, rows / 2);
        kern_matmul_on(k, t, m.w, rows, cols, m.x, m.xs, nx, got, rows, rows / 2, rows);
        CHECK_SAME(got, want, rows * nx, "%s %s gemm %dx%d x%d", k->name, tensor_type_get(t).name,
                   rows, cols, nx);
      }
      free(want), free(got), free(m.w), free(m.x);
    }
}

/* Attention in both of llama.cpp's orders, against the statement. */
TEST(attention) {
  static const int dims[] = {64, 128, 80, 40};
  static const int npos[] = {1, 5, 16, 17, 64, 70, 130};
  const kernel_table *ref = spec();
  for (int di = 0; di < 4; di++)
    for (int pi = 0; pi < 7; pi++)
      for (int nq = 1; nq <= 3; nq += 2) {
        int n = dims[di], np = npos[pi];
        size_t stride = (size_t)n * 3 + 8; /* KV heads interleaved, as in the cache */
        uint16_t *rows = malloc(sizeof(uint16_t) * stride * (size_t)np);
        uint16_t *q = malloc(sizeof(uint16_t) * (size_t)n * nq);
        float *f = malloc(sizeof(float) * stride * (size_t)np + sizeof(float) * (size_t)n * nq);
        float *w = malloc(sizeof(float) * 160 * nq), *a = malloc(sizeof(float) * 160 * nq),
              *b = malloc(sizeof(float) * 160 * nq);
        fill_normal(f, (int)(stride * (size_t)np), 1.0f);
        ref->f32_to_f16(f, rows, (int)(stride * (size_t)np));
        fill_normal(f, n * nq, 1.0f);
        ref->f32_to_f16(f, q, n * nq);
        for (int isa = 1; isa < KERN_ISA_COUNT; isa++) {
          const kernel_table *k = kernels_for_isa_numerics((kern_isa)isa, KERN_NUM_LLAMA);
          if (!k) continue;
          for (int one = 0; one < 2; one++) {
            ref->attn_scores(a, 160, rows, stride, np, q, (size_t)n, nq, n, 0.125f, one);
            k->attn_scores(b, 160, rows, stride, np, q, (size_t)n, nq, n, 0.125f, one);
            for (int g = 0; g < nq; g++)
              CHECK_SAME(b + g * 160, a + g * 160, np, "%s scores n=%d rows=%d one=%d q%d", k->name, n,
                         np, one, g);
            /* values, weighted by the statement's softmax of those scores */
            for (int g = 0; g < nq; g++) {
              memcpy(w + g * 160, a + g * 160, sizeof(float) * (size_t)np);
              ref->softmax_f16(w + g * 160, np);
            }
            int n_kv = one ? (np + 31) & ~31 : 0;
            ref->attn_values(a, 160, rows, stride, np, w, 160, nq, n, n_kv);
            k->attn_values(b, 160, rows, stride, np, w, 160, nq, n, n_kv);
            for (int g = 0; g < nq; g++)
              CHECK_SAME(b + g * 160, a + g * 160, n, "%s values n=%d rows=%d one=%d q%d", k->name, n, np,
                         one, g);
          }
        }
        free(rows), free(q), free(f), free(w), free(a), free(b);
      }
}

TEST(softmax_and_swiglu) {
  const kernel_table *ref = spec();
  static const int lens[] = {1, 7, 16, 33, 300, 1536};
  for (int li = 0; li < 6; li++) {
    int n = lens[li];
    float *x = malloc(sizeof(float) * n), *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
    float *u = malloc(sizeof(float) * n), *g = malloc(sizeof(float) * n);
    fill_normal(x, n, 6.0f);
    if (n > 3) x[2] = -200.0f, x[3] = -INFINITY; /* underflow, masked */
    fill_normal(u, n, 1.0f);
    for (int i = 0; i < n; i++) g[i] = x[i] == -INFINITY ? -100.0f : x[i] * 4; /* e^100 overflows */
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
      const kernel_table *k = kernels_for_isa_numerics((kern_isa)isa, KERN_NUM_LLAMA);
      if (!k) continue;
      memcpy(a, x, sizeof(float) * n), memcpy(b, x, sizeof(float) * n);
      ref->softmax_f16(a, n);
      k->softmax_f16(b, n);
      CHECK_SAME(b, a, n, "%s softmax_f16 n=%d", k->name, n);
      ref->swiglu(a, g, u, n);
      k->swiglu(b, g, u, n);
      CHECK_SAME(b, a, n, "%s swiglu n=%d", k->name, n);
    }
    /* the probabilities are a distribution, each an F16 value */
    memcpy(a, x, sizeof(float) * n);
    ref->softmax_f16(a, n);
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += a[i];
      CHECK(quant_f16_to_f32(quant_f32_to_f16(a[i])) == a[i]);
    }
    CHECK(fabs(sum - 1.0) < 1e-2);
    free(x), free(a), free(b), free(u), free(g);
  }
  /* the statement's expf (via softmax): e^-ln3 against 1 */
  float s[2] = {logf(3.0f), 0.0f};
  ref->softmax_f16(s, 2);
  CHECK(fabsf(s[0] - 0.75f) < 1e-3f && fabsf(s[1] - 0.25f) < 1e-3f);
}

int main(void) {
  kernels_init();
  RUN(tables);
  RUN(dots);
  RUN(gemm);
  RUN(attention);
  RUN(softmax_and_swiglu);
  return test_report("kernels_llama");
}
