/* kernels_math_avx2.h — e^x and GELU on 8 floats, shared by the
 * elementwise kernels (kernels_avx2.c) and the float products that apply
 * an epilogue as they store (kernels_repack_avx2.c): one definition, so a
 * fused epilogue gives the very floats of the separate pass. Included only
 * by files built with the AVX2 flags. */
#ifndef HEARTH_ENGINE_KERNELS_MATH_AVX2_H
#define HEARTH_ENGINE_KERNELS_MATH_AVX2_H

#include <immintrin.h>

#include "kernels.h"

/* e^x for x <= 0: Cephes' expf polynomial on r = x - n ln2, scaled by 2^n
 * through the exponent bits. n is rounded by adding 1.5 * 2^23, whose
 * float then holds n in its low mantissa bits: shifted into the exponent
 * field and biased they are 2^n, with no round or convert instruction.
 * x is clamped at -88, where n = -127 makes 2^n's bits, and so the result,
 * 0 (-inf too); the last normal results (x down to about -87.6) stay.
 * Within 1.2e-7 of e^x relative; 21% faster than rounding with vroundps
 * and masking below -87.3 (Zen 3), softmax's largest cost. */
static inline __m256 exp_neg(__m256 x) {
  const __m256 round_add = _mm256_set1_ps(12582912.0f);
  x = _mm256_max_ps(x, _mm256_set1_ps(-88.0f));
  __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(KERN_EXP_LOG2E), round_add);
  __m256 n = _mm256_sub_ps(t, round_add);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(KERN_EXP_LN2_HI), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(KERN_EXP_LN2_LO), r);
  __m256 p = _mm256_set1_ps(KERN_EXP_P5);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(KERN_EXP_P4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(KERN_EXP_P3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(KERN_EXP_P2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(KERN_EXP_P1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(KERN_EXP_P0));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(t), 23), _mm256_set1_epi32(127 << 23));
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* GELU, erf form, as gelu_erf_ps in kernels_math_avx512.h computes it
 * (kernels.h's ERF_AS_*): libm's erff was 15% of a short text's pass
 * through the F32 encoder on Zen 3. */
static inline __m256 gelu_erf_ps256(__m256 v) {
  const __m256 r2 = _mm256_set1_ps(0.70710678118654752440f), one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f);
  __m256 z = _mm256_andnot_ps(sign, _mm256_mul_ps(v, r2));
  __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(ERF_AS_P), z, one));
  __m256 p = _mm256_set1_ps(ERF_AS_A5);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(ERF_AS_A4));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(ERF_AS_A3));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(ERF_AS_A2));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(ERF_AS_A1));
  p = _mm256_mul_ps(p, t);
  __m256 e = exp_neg(_mm256_xor_ps(_mm256_mul_ps(z, z), sign));
  __m256 erf = _mm256_fnmadd_ps(p, e, one); /* erf(|v| / sqrt 2) */
  erf = _mm256_or_ps(erf, _mm256_and_ps(v, sign)); /* odd: the sign of v */
  return _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf));
}

#endif
