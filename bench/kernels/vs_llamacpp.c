/* vs_llamacpp.c — hearth's dot-product kernels side by side with llama.cpp's
 * on the same blocks, single thread, weights hot in L2 (64 rows x 5632), so
 * the number is compute speed, not memory. Also checks that both give the
 * same value on the same data (the block formats are byte-identical).
 *
 * llama.cpp's kernels are compiled from a llama.cpp checkout at run time by
 * run_vs_llamacpp.sh (nothing of it is in hearth's tree); this file supplies
 * the few symbols that file needs from the rest of ggml. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/base/base.h"
#include "../../src/engine/kernels.h"

/* --- what ggml-cpu-quants.o needs from the rest of ggml --- */
float ggml_table_f32_f16[1 << 16];
#define UNUSED_REF(n) \
  void n(void);       \
  void n(void) { abort(); }
UNUSED_REF(quantize_iq4_xs)
UNUSED_REF(quantize_row_iq4_nl_ref)
UNUSED_REF(quantize_row_q2_K_ref)
UNUSED_REF(quantize_row_q3_K_ref)
UNUSED_REF(quantize_row_q4_0_ref)
UNUSED_REF(quantize_row_q4_1_ref)
UNUSED_REF(quantize_row_q4_K_ref)
UNUSED_REF(quantize_row_q5_0_ref)
UNUSED_REF(quantize_row_q5_1_ref)
UNUSED_REF(quantize_row_q5_K_ref)
UNUSED_REF(quantize_row_q6_K_ref)
UNUSED_REF(quantize_row_q8_K_ref)
UNUSED_REF(quantize_row_tq1_0_ref)
UNUSED_REF(quantize_row_tq2_0_ref)

typedef void (*ggml_dot_fn)(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy,
                            size_t by, int nrc);
#define GGML_DOT(name) void name(int, float *, size_t, const void *, size_t, const void *, size_t, int);
GGML_DOT(ggml_vec_dot_q8_0_q8_0)
GGML_DOT(ggml_vec_dot_q4_0_q8_0)
GGML_DOT(ggml_vec_dot_q4_1_q8_1)
GGML_DOT(ggml_vec_dot_q5_0_q8_0)
GGML_DOT(ggml_vec_dot_q5_1_q8_1)
GGML_DOT(ggml_vec_dot_q2_K_q8_K)
GGML_DOT(ggml_vec_dot_q3_K_q8_K)
GGML_DOT(ggml_vec_dot_q4_K_q8_K)
GGML_DOT(ggml_vec_dot_q5_K_q8_K)
GGML_DOT(ggml_vec_dot_q6_K_q8_K)

enum { ROWS = 64, COLS = 5632, ROUNDS = 6, REPS = 60 };

int main(void) {
  static const struct {
    tensor_type t;
    ggml_dot_fn g;
  } ts[] = {{TT_Q8_0, ggml_vec_dot_q8_0_q8_0}, {TT_Q4_0, ggml_vec_dot_q4_0_q8_0},
            {TT_Q4_1, ggml_vec_dot_q4_1_q8_1}, {TT_Q5_0, ggml_vec_dot_q5_0_q8_0},
            {TT_Q5_1, ggml_vec_dot_q5_1_q8_1}, {TT_Q2_K, ggml_vec_dot_q2_K_q8_K},
            {TT_Q3_K, ggml_vec_dot_q3_K_q8_K}, {TT_Q4_K, ggml_vec_dot_q4_K_q8_K},
            {TT_Q5_K, ggml_vec_dot_q5_K_q8_K}, {TT_Q6_K, ggml_vec_dot_q6_K_q8_K}};
  for (uint32_t h = 0; h < (1u << 16); h++) ggml_table_f32_f16[h] = quant_f16_to_f32((uint16_t)h);
  float *f = malloc(sizeof(float) * COLS * ROWS);
  uint32_t s = 1;
  for (int i = 0; i < COLS * ROWS; i++) {
    s = s * 1103515245u + 12345u;
    f[i] = (float)((s >> 8) & 0xffff) / 65536.0f - 0.5f;
  }
  printf("ns per 32 weights, 1 thread, %d x %d weights hot in cache (lower is better)\n", ROWS, COLS);
  printf("%-5s %10s %10s %10s  %s\n", "type", "llama.cpp", "avx2", "avx512", "same value");
  int mismatches = 0;
  for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
    tensor_type t = ts[ti].t;
    const kern_type_ops *ro = &kernels_for_isa(KERN_ISA_REF)->types[t];
    size_t rb = quant_row_bytes(t, COLS), xb = quant_row_bytes(ro->vec_dot_type, COLS);
    uint8_t *W = malloc(rb * ROWS), *X = malloc(xb);
    for (int r = 0; r < ROWS; r++) ro->quantize(f + (size_t)r * COLS, W + r * rb, COLS);
    ro->from_float(f, X, COLS);
    double best[KERN_ISA_COUNT + 1];
    for (int k = 0; k <= KERN_ISA_COUNT; k++) best[k] = 1e30;
    volatile float sink = 0;
    /* alternate the contenders so a noisy neighbour hurts them alike */
    for (int round = 0; round < ROUNDS; round++) {
      for (int rep = 0; rep < REPS; rep++) {
        uint64_t t0 = hr_now_ns();
        for (int r = 0; r < ROWS; r++) {
          float v;
          ts[ti].g(COLS, &v, 0, W + r * rb, 0, X, 0, 1);
          sink += v;
        }
        double dt = (double)(hr_now_ns() - t0);
        if (dt < best[KERN_ISA_COUNT]) best[KERN_ISA_COUNT] = dt;
      }
      for (int isa = KERN_ISA_AVX2; isa < KERN_ISA_COUNT; isa++) {
        const kernel_table *k = kernels_for_isa((kern_isa)isa);
        if (!k) continue;
        for (int rep = 0; rep < REPS; rep++) {
          uint64_t t0 = hr_now_ns();
          for (int r = 0; r < ROWS; r++) sink += k->types[t].vec_dot(COLS, W + r * rb, X);
          double dt = (double)(hr_now_ns() - t0);
          if (dt < best[isa]) best[isa] = dt;
        }
      }
    }
    float lv;
    ts[ti].g(COLS, &lv, 0, W, 0, X, 0, 1);
    float hv = ro->vec_dot(COLS, W, X);
    int same = fabsf(lv - hv) <= 1e-5f * fabsf(hv) + 1e-6f;
    mismatches += !same;
    double per = (double)ROWS * COLS / 32;
    printf("%-5s %10.3f", tensor_type_get(t).name, best[KERN_ISA_COUNT] / per);
    for (int isa = KERN_ISA_AVX2; isa < KERN_ISA_COUNT; isa++) {
      if (best[isa] < 1e30) printf(" %10.3f", best[isa] / per);
      else printf(" %10s", "-");
    }
    printf("  %s (%.6g vs %.6g)\n", same ? "yes" : "NO", lv, hv);
    free(W), free(X);
  }
  free(f);
  return mismatches ? 1 : 0;
}
