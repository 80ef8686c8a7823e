/* kernels_math_avx512.h — e^x and GELU on 16 floats, shared by the
 * elementwise kernels (kernels_avx512.c) and the float products that apply
 * an epilogue as they store (kernels_repack_avx512.c): one definition, so a
 * fused epilogue gives the very floats of the separate pass. Included only
 * by files built with the AVX-512 flags. */
#ifndef HEARTH_ENGINE_KERNELS_MATH_AVX512_H
#define HEARTH_ENGINE_KERNELS_MATH_AVX512_H

#include <immintrin.h>

#include "kernels.h"

/* e^x for x <= 0 (softmax after the max is taken): Cephes' expf
 * polynomial on r = x - n ln2, |r| <= ln2/2, scaled by 2^n; below -87.3
 * (where expf goes subnormal) the result is 0. */
static inline __m512 exp_neg(__m512 x) {
  const __mmask16 live = _mm512_cmp_ps_mask(x, _mm512_set1_ps(KERN_EXP_MIN), _CMP_GE_OQ);
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(KERN_EXP_LOG2E)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(KERN_EXP_LN2_HI), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(KERN_EXP_LN2_LO), r);
  __m512 p = _mm512_set1_ps(KERN_EXP_P5);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(KERN_EXP_P4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(KERN_EXP_P3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(KERN_EXP_P2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(KERN_EXP_P1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(KERN_EXP_P0));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_maskz_scalef_ps(live, p, n);
}

/* GELU, erf form: 0.5 v (1 + erf(v / sqrt 2)), erf as kernels.h's ERF_AS_*. */
static inline __m512 gelu_erf_ps(__m512 v) {
  const __m512 r2 = _mm512_set1_ps(0.70710678118654752440f), one = _mm512_set1_ps(1.0f);
  __m512 z = _mm512_abs_ps(_mm512_mul_ps(v, r2));
  __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(ERF_AS_P), z, one));
  __m512 p = _mm512_set1_ps(ERF_AS_A5);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_AS_A4));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_AS_A3));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_AS_A2));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_AS_A1));
  p = _mm512_mul_ps(p, t);
  __m512 e = exp_neg(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(z, z)));
  __m512 erf = _mm512_fnmadd_ps(p, e, one); /* erf(|v| / sqrt 2) */
  /* 0.5 v (1 + sign(v) erf) */
  __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
  erf = _mm512_mask_sub_ps(erf, neg, _mm512_setzero_ps(), erf);
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(one, erf));
}

#endif
