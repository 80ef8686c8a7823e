/* kernels_dot32.h — the block loop of a 32-element block dot product,
 * shared by the AVX2 and AVX-512 kernel files (each includes it with its own
 * ISA flags and passes its block step, which is where they differ, and its
 * 8-lane horizontal sum). Needs pf_bytes and QK32 in scope.
 *
 * DOT32 defines name (two accumulators, blocks in pairs) and name_llama
 * (ggml's order, kernels.h "Numerics"); MIN says whether the blocks carry
 * a min term (Q4_1, Q5_1). */
#ifndef HEARTH_ENGINE_KERNELS_DOT32_H
#define HEARTH_ENGINE_KERNELS_DOT32_H

#define DOT32(name, WT, XT, STEP, MIN, HSUM)                                 \
  static float name(int n, const void *w, const void *x) {                   \
    const WT *a = w;                                                         \
    const XT *b = x;                                                         \
    const int nb = n / QK32;                                                 \
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;                          \
    float summ0 = 0, summ1 = 0;                                              \
    int i = 0;                                                               \
    for (; i + 2 <= nb; i += 2) {                                            \
      pf_bytes(a + i, 2 * sizeof *a);                                        \
      acc0 = STEP(a + i, b + i, acc0, &summ0);                               \
      acc1 = STEP(a + i + 1, b + i + 1, acc1, &summ1);                       \
    }                                                                        \
    if (i < nb) acc0 = STEP(a + i, b + i, acc0, &summ0);                     \
    return HSUM(_mm256_add_ps(acc0, acc1)) + (summ0 + summ1);                \
  }                                                                          \
  /* llama numerics: one accumulator, blocks in order, the min terms in   */ \
  /* their own FMA chain, as ggml's (kernels.h, "Numerics")               */ \
  static float name##_llama(int n, const void *w, const void *x) {           \
    const WT *a = w;                                                         \
    const XT *b = x;                                                         \
    const int nb = n / QK32;                                                 \
    __m256 acc = _mm256_setzero_ps();                                        \
    float summ = 0;                                                          \
    for (int i = 0; i < nb; i++) {                                           \
      if (!(i & 1)) pf_bytes(a + i, 2 * sizeof *a);                          \
      acc = STEP(a + i, b + i, acc, &summ);                                  \
    }                                                                        \
    return MIN ? HSUM(acc) + summ : HSUM(acc);                               \
  }

#endif
