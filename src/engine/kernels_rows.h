/* kernels_rows.h — the scalar parts the vector paths' row functions share
 * (kernels_avx2.c, kernels_avx512.c). */
#ifndef HEARTH_ENGINE_KERNELS_ROWS_H
#define HEARTH_ENGINE_KERNELS_ROWS_H

#include <math.h>

/* kern_residual_layernorm's: elements i..n-1 of the sum row (added to
 * *sum and *sq), the mean and scale from the sums, elements i..n-1 of the
 * output. */
static inline void kern_rln_sum_tail(float *x, float *h, const float *bias, int i, int n, double *sum,
                                     double *sq) {
  for (; i < n; i++) {
    float v = h[i];
    if (bias) v += bias[i];
    v += x[i];
    h[i] = v;
    *sum += v;
    *sq += (double)v * v;
  }
}
static inline void kern_rln_stats(double sum, double sq, int n, float eps, float *mean, float *scale) {
  double m = sum / n;
  *mean = (float)m;
  *scale = 1.0f / sqrtf((float)(sq / n - m * m) + eps);
}
static inline void kern_rln_out_tail(float *x, const float *h, const float *w, const float *b, int i,
                                     int n, float mean, float scale) {
  for (; i < n; i++) {
    float v = (h[i] - mean) * scale;
    if (w) v *= w[i];
    if (b) v += b[i];
    x[i] = v;
  }
}
#endif
