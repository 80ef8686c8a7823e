/* json_internal.h — byte-level helpers shared by the reader and the writer
 * (UTF-8 validation and the fast scan over plain string bytes). Not part of
 * the module's public API. */
#ifndef HEARTH_JSON_INTERNAL_H
#define HEARTH_JSON_INTERNAL_H

#include <stddef.h>

/* json_float.c: the shortest decimal that reads back as the finite float
 * f, written like %g into buf, which must have JSON_FLOAT_BUF bytes (the
 * text is at most JSON_FLOAT_MAX and a NUL; the rest is scratch); its
 * length. */
#define JSON_FLOAT_MAX 18
#define JSON_FLOAT_BUF 48
size_t json_fmt_float(char *buf, float f);

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Length of the valid UTF-8 sequence at p whose lead byte is >= 0x80, or 0
 * when it is invalid (RFC 3629: overlongs, encoded surrogates U+D800..DFFF,
 * code points past U+10FFFF, stray continuation bytes, truncation). */
static inline size_t json_utf8_seq(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  size_t avail = (size_t)(end - p);
  if (c >= 0xC2 && c <= 0xDF) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
    if (c == 0xED && p[1] >= 0xA0) return 0; /* a surrogate, encoded */
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
      return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;  /* overlong */
    if (c == 0xF4 && p[1] >= 0x90) return 0; /* past U+10FFFF */
    return 4;
  }
  return 0;
}

/* The first byte in [p, end) that is '"', '\\', a control character or
 * >= 0x80, or end. */
static inline const unsigned char *json_scan_plain(const unsigned char *p,
                                                   const unsigned char *end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    /* signed compare: bytes >= 0x80 are negative, so this one test catches
     * control characters and non-ASCII alike */
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                             _mm_cmplt_epi8(v, space));
    unsigned mask = (unsigned)_mm_movemask_epi8(m);
    if (mask) return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
  return p;
}

#endif
