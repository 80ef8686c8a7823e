/* json_float.c — the shortest decimal that reads back as a float, for the
 * JSON writer: the fewest significant digits (at most 9, which always
 * suffice) such that the float rounded to that many digits reads back as
 * itself, written like %g (fixed notation from 1e-6 to 1e17).
 *
 * An embedding is 384 or more of them per vector, so the common range,
 * 1e-19 <= |f| < 2^24, is done in integers: f = m / 2^s exactly, its nine
 * leading digits and the rest are one 128-bit product m * 10^k, and the
 * interval of decimals that read back as f is known exactly from f's
 * neighbours, and ties go to the even decimal, as %g's do. On a Zen 4
 * (bench/json/floats.c) a 384-value vector takes 12.5 us through
 * json_w_floats, where the double arithmetic with a binary search over
 * digit counts that this replaced took 25.7 and snprintf with strtof 504.
 * The rest (zero aside: subnormals, below 1e-19, 2^24 and up), which no
 * embedding or log-probability reaches, go through snprintf and strtof. */
#include "json_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char DIGIT_PAIRS[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                  "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                  "8081828384858687888990919293949596979899";

/* digits x 10^exp written like %g (fixed notation from 1e-6 to 1e17) into
 * buf, which has JSON_FLOAT_BUF bytes: the digit runs go as fixed 16-byte
 * copies (an inlined move, where a call to memcpy for 1-9 bytes had been a
 * sixth of the time). */
static size_t write_decimal(char *buf, bool negative, uint64_t digits, int exp) {
  while (digits % 10 == 0 && digits >= 10) { /* 0.5 may come out as 50e-2 */
    digits /= 10;
    exp++;
  }
  char ds[48], *de = ds + 24, *d0 = de; /* 16 readable bytes past any digit */
  while (digits >= 100) { /* two at a time: half the chain of dependent divides */
    uint64_t q = digits / 100;
    d0 -= 2;
    memcpy(d0, DIGIT_PAIRS + 2 * (digits - 100 * q), 2);
    digits = q;
  }
  if (digits >= 10) {
    d0 -= 2;
    memcpy(d0, DIGIT_PAIRS + 2 * digits, 2);
  } else {
    *--d0 = (char)('0' + digits);
  }
  int n = (int)(de - d0), point = n + exp; /* digits before the decimal point */
  char *o = buf;
  if (negative) *o++ = '-';
  if (point > 0 && point <= 17) {
    if (exp >= 0) {
      memcpy(o, d0, 16);
      o += n;
      for (int i = 0; i < exp; i++) *o++ = '0';
    } else {
      memcpy(o, d0, 16);
      o += point;
      *o++ = '.';
      memcpy(o, d0 + point, 16);
      o += n - point;
    }
  } else if (point <= 0 && point > -6) {
    memcpy(o, "0.00000", 8);
    o += 2 - point;
    memcpy(o, d0, 16);
    o += n;
  } else {
    *o++ = d0[0];
    if (n > 1) {
      *o++ = '.';
      memcpy(o, d0 + 1, 16);
      o += n - 1;
    }
    int e = point - 1;
    *o++ = 'e';
    if (e < 0) *o++ = '-', e = -e;
    if (e >= 100) *o++ = (char)('0' + e / 100);
    if (e >= 10) *o++ = (char)('0' + e / 10 % 10);
    *o++ = (char)('0' + e % 10);
  }
  *o = 0;
  return (size_t)(o - buf);
}

static size_t fmt_float_slow(char *buf, size_t cap, float f) {
  int n = 0;
  for (int prec = 1; prec <= 9; prec++) {
    n = snprintf(buf, cap, "%.*g", prec, (double)f);
    if (prec == 9 || strtof(buf, NULL) == f) break;
  }
  return (size_t)n;
}

static const uint64_t POW10_U64[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};

typedef unsigned __int128 u128;

/* ceil(2^64 / 10^j): for x < 2^34, x / 10^j is (x * RECIP10[j]) >> 64 (the
 * error, below x / 2^64, stays under 1 / 10^j): a multiply where a divide
 * by a power from the table took ~15 cycles. */
#define RECIP(p) (UINT64_MAX / (p) + 1)
static const uint64_t RECIP10[10] = {
    0,          RECIP(10ull),      RECIP(100ull),      RECIP(1000ull),      RECIP(10000ull),
    RECIP(100000ull), RECIP(1000000ull), RECIP(10000000ull), RECIP(100000000ull), RECIP(1000000000ull)};
static inline uint64_t div_pow10(uint64_t x, int j) {
  return j ? (uint64_t)(((u128)x * RECIP10[j]) >> 64) : x;
}

#define EXACT_K_MAX 27 /* 10^27 m < 2^114 */

static u128 pow10_u128(int k) {
  return k < 20 ? (u128)POW10_U64[k] : (u128)POW10_U64[19] * POW10_U64[k - 19];
}

/* The fewest digits of t (nine or ten, with `below` saying whether bits
 * follow) whose rounding to nearest, ties to even, lies in [lo, hi]: its
 * digits as *c and the digits dropped (at most j_max) as *j; false when
 * none does. */
static bool fewest_rounded(uint64_t t, int j_max, bool below, uint64_t lo, uint64_t hi,
                           uint64_t *c, int *j) {
  bool found = false;
  uint64_t q = t;
  bool sticky = below;
  for (int d_at = 0; d_at <= j_max; d_at++) {
    bool up = false;
    if (d_at > 0) {
      unsigned d = (unsigned)(q % 10);
      q /= 10;
      up = d > 5 || (d == 5 && (sticky || (q & 1)));
      sticky = sticky || d != 0;
    }
    uint64_t r = q + up, scaled = r * POW10_U64[d_at];
    if (scaled >= lo && scaled <= hi) *c = r, *j = d_at, found = true;
  }
  return found;
}

/* The exact path: |f| = m / 2^s with s >= 0 and 1e-19 <= |f|. Sets the
 * digits and the power of ten of the shortest decimal that reads back
 * (rounded to nearest, ties to even, as %.*g rounds); false outside its
 * range. */
static bool shortest_exact(uint32_t bits, uint64_t *digits, int *exp10) {
  int E = (int)((bits >> 23) & 0xff);
  if (E == 0 || E > 150) return false; /* zero, subnormal, or |f| >= 2^24 */
  uint64_t m = (bits & 0x7fffff) | 0x800000;
  int s = 150 - E; /* |f| = m / 2^s */
  /* k: the power of ten that puts |f|'s nine or ten leading digits before
   * the point, t = floor(|f| 10^k) in [10^8, 10^10): floor(log10 |f|) from
   * the binary exponent e2, with a factor a little under log10 2 for e2 >=
   * 0 and a little over it below, so never above the true one, and one
   * below it only where e2 log10 2 lies within 0.03 above an integer, so
   * that |f| < 2^(e2+1) has no further power of ten below it. */
  int e2 = E - 127;
  int k = 8 - ((e2 * (e2 >= 0 ? 1233 : 1234)) >> 12);
  if (k < 0 || k > EXACT_K_MAX) return false;
  u128 N = (u128)m * pow10_u128(k); /* |f| 10^k 2^s, exactly */
  uint64_t t = (uint64_t)(N >> s);
  int j_max = t >= POW10_U64[9] ? 9 : 8; /* at least one digit kept */
  /* The decimals that read back lie within half an ulp of |f| (a quarter
   * below a power of two, whose lower neighbour is nearer), ends included
   * when m is even (strtof's ties go to the even one). In units of
   * 10^-k / 2^(s+2): |f| is 4N, the ulp 4 * 10^k. */
  u128 P = pow10_u128(k), V = N << 2;
  u128 hi = V + 2 * P, lo = V - (m == 0x800000 && E > 1 ? P : 2 * P);
  bool inclusive = (m & 1) == 0;
  int sh = s + 2;
  u128 mask = ((u128)1 << sh) - 1;
  uint64_t hi_int = (uint64_t)(hi >> sh), lo_int = (uint64_t)(lo >> sh);
  if ((hi & mask) == 0 && !inclusive) hi_int--;
  if ((lo & mask) != 0 || !inclusive) lo_int++;
  bool below = s > 0 && (N & (((u128)1 << s) - 1)) != 0; /* bits under t */
  /* The fewest digits: the largest j such that a multiple of 10^j lies in
   * the interval (an integer always does: the interval is wider than 4). */
  int j = 0;
  while (j < j_max && div_pow10(hi_int, j + 1) * POW10_U64[j + 1] >= lo_int) j++;
  /* and the multiple nearest |f|, ties to even (as %.*g rounds) */
  uint64_t p = POW10_U64[j], q = div_pow10(t, j), r = t - q * p;
  bool up;
  if (j == 0) {
    u128 rest = N & (((u128)1 << s) - 1), half = s > 0 ? (u128)1 << (s - 1) : 1;
    up = rest > half || (rest == half && (q & 1));
  } else {
    up = r > p / 2 || (r == p / 2 && (below || (q & 1)));
  }
  uint64_t c = q + up;
  /* Nearest is inside wherever anything is, the interval being symmetric,
   * except below a power of two: there every count is tried. */
  if ((c * p < lo_int || c * p > hi_int) && !fewest_rounded(t, j_max, below, lo_int, hi_int, &c, &j))
    return false;
  *digits = c;
  *exp10 = j - k;
  return true;
}

size_t json_fmt_float(char *buf, float f) {
  size_t cap = JSON_FLOAT_BUF;
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffff) == 0) {
    memcpy(buf, bits ? "-0" : "0", bits ? 3 : 2);
    return bits ? 2 : 1;
  }
  uint64_t digits;
  int exp10;
  if (shortest_exact(bits, &digits, &exp10)) return write_decimal(buf, bits >> 31, digits, exp10);
  return fmt_float_slow(buf, cap, f);
}
