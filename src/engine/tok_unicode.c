/* tok_unicode.c — the small UTF-8 helpers the tokenizers share. The reader
 * is deliberately as lenient as llama.cpp's (overlong forms are read as the
 * code point they spell) so that we split text where llama.cpp does. */
#include "tok_internal.h"

uint32_t tok_utf8_next(const char *s, size_t len, size_t *i) {
  const unsigned char *p = (const unsigned char *)s + *i;
  size_t left = len - *i;
  unsigned c = p[0];
  if (c < 0x80) {
    *i += 1;
    return c;
  }
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xe0) == 0xc0) n = 2, cp = c & 0x1f;
  else if ((c & 0xf0) == 0xe0) n = 3, cp = c & 0x0f;
  else if ((c & 0xf8) == 0xf0) n = 4, cp = c & 0x07;
  if (n == 0 || n > left) goto bad;
  for (size_t k = 1; k < n; k++) {
    if ((p[k] & 0xc0) != 0x80) goto bad;
    cp = (cp << 6) | (p[k] & 0x3f);
  }
  *i += n;
  return cp;
bad:
  *i += 1;
  return 0xfffd;
}

size_t tok_utf8_put(uint32_t cp, char *out) {
  unsigned char *o = (unsigned char *)out;
  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (unsigned char)(0xc0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xe0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (unsigned char)(0xf0 | (cp >> 18));
  o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (unsigned char)(0x80 | (cp & 0x3f));
  return 4;
}

size_t tok_utf8_sanitize(const char *text, size_t len, char *out) {
  size_t i = 0, n = 0;
  while (i < len) {
    unsigned char c = (unsigned char)text[i];
    if (c < 0x80) { /* the common case, byte for byte */
      out[n++] = (char)c;
      i++;
      continue;
    }
    uint32_t cp = tok_utf8_next(text, len, &i);
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) cp = 0xfffd;
    n += tok_utf8_put(cp, out + n);
  }
  return n;
}
