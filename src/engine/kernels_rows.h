/* kernels_rows.h — the scalar parts the vector paths' row functions share
 * (kernels_avx2.c, kernels_avx512.c). */
#ifndef HEARTH_ENGINE_KERNELS_ROWS_H
#define HEARTH_ENGINE_KERNELS_ROWS_H

#include <math.h>

/* kern_residual_layernorm's. The one pass sums d = h - k and d^2 in
 * double with k the row's first sum (kern_rln_shift): var = E[d^2] -
 * E[d]^2 then cancels only as far as the mean lies from k, which is at
 * most sqrt(n) standard deviations, so a row of one large value a float
 * step off in places keeps its tiny variance (unshifted, E[h^2] - mean^2
 * at 778 was all rounding). */
static inline float kern_rln_shift(const float *x, const float *h, const float *bias) {
  float v = h[0];
  if (bias) v += bias[0];
  return v + x[0];
}
/* elements i..n-1 of the sum row, their d and d^2 added to *sum, *sq */
static inline void kern_rln_sum_tail(float *x, float *h, const float *bias, int i, int n, double k,
                                     double *sum, double *sq) {
  for (; i < n; i++) {
    float v = h[i];
    if (bias) v += bias[i];
    v += x[i];
    h[i] = v;
    double d = (double)v - k;
    *sum += d;
    *sq += d * d;
  }
}
/* the mean and 1 / sqrt(var + eps) from the sums */
static inline void kern_rln_stats(double sum, double sq, int n, double k, float eps, float *mean,
                                  float *scale) {
  double md = sum / n;
  *mean = (float)(k + md);
  *scale = 1.0f / sqrtf((float)fmax(sq / n - md * md, 0.0) + eps);
}
/* elements i..n-1 of the output */
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
