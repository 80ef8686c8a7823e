/* json_write.c — the JSON writer: values appended to an hr_buf, with commas
 * and colons placed from a bit per nesting level (need_comma) and a flag
 * after a key.
 *
 * Invariants: the first failure (out of memory, nesting past 64, an end
 * without a begin) is kept in w->err and every later call does nothing, so
 * callers check once, at json_w_finish.
 *
 * Strings are escaped as RFC 8259 requires: '"', '\\' and control characters
 * (short escapes where JSON has them, \u00XX otherwise); valid UTF-8 passes
 * through untouched. A byte that is not part of valid UTF-8 is written as
 * U+FFFD, so the output is always valid UTF-8 even when a caller hands over
 * a cut token. */
#include "json.h"
#include "json_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITER_MAX_DEPTH 64
#define VALUE_MAX_DEPTH 1024 /* json_w_value recursion bound */

/* ---- appending ---------------------------------------------------------- */

/* hr_buf_append with the common case (room already there) inlined; keeps
 * hr_buf's NUL after the bytes. */
static inline int buf_put(hr_buf *b, const void *p, size_t n) {
  if (b->cap - b->len <= n) return hr_buf_append(b, p, n);
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
  return 0;
}

static inline int buf_putc(hr_buf *b, char c) {
  if (b->cap - b->len <= 1) return hr_buf_putc(b, c);
  b->data[b->len++] = c;
  b->data[b->len] = 0;
  return 0;
}

/* ---- escaping ----------------------------------------------------------- */

static const char hex_digits[] = "0123456789abcdef";

/* Appends the escape for the ASCII byte c ('"', '\\' or a control). */
static inline size_t escape_ascii(char *o, unsigned c) {
  o[0] = '\\';
  switch (c) {
    case '"': o[1] = '"'; return 2;
    case '\\': o[1] = '\\'; return 2;
    case '\b': o[1] = 'b'; return 2;
    case '\f': o[1] = 'f'; return 2;
    case '\n': o[1] = 'n'; return 2;
    case '\r': o[1] = 'r'; return 2;
    case '\t': o[1] = 't'; return 2;
    default:
      o[1] = 'u';
      o[2] = '0';
      o[3] = '0';
      o[4] = hex_digits[c >> 4];
      o[5] = hex_digits[c & 15];
      return 6;
  }
}

int json_escape_append(hr_buf *b, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    /* one run: plain ASCII and valid UTF-8, copied with one append */
    const unsigned char *run = p;
    for (;;) {
      p = json_scan_plain(p, end);
      if (p < end && *p >= 0x80) {
        size_t k = json_utf8_seq(p, end);
        if (k) {
          p += k;
          continue;
        }
      }
      break;
    }
    if (p > run) {
      int rc = buf_put(b, run, (size_t)(p - run));
      if (rc) return rc;
    }
    if (p >= end) break;
    int rc = hr_buf_reserve(b, 6);
    if (rc) return rc;
    char *o = b->data + b->len;
    if (*p >= 0x80) { /* invalid UTF-8 byte */
      memcpy(o, "\xEF\xBF\xBD", 3);
      b->len += 3;
    } else {
      b->len += escape_ascii(o, *p);
    }
    b->data[b->len] = 0;
    p++;
  }
  return 0;
}

/* ---- the writer --------------------------------------------------------- */

static inline void w_put(json_writer *w, const char *p, size_t n) {
  if (w->err) return;
  int rc = buf_put(w->out, p, n);
  if (rc) w->err = rc;
}

static inline void w_putc(json_writer *w, char c) {
  if (w->err) return;
  int rc = buf_putc(w->out, c);
  if (rc) w->err = rc;
}

/* The separator before a value or key at the current level. */
static inline void w_sep(json_writer *w) {
  if (w->after_key) {
    w->after_key = false;
    return;
  }
  if (w->depth == 0) return;
  uint64_t bit = (uint64_t)1 << (w->depth - 1);
  if (w->need_comma & bit) w_putc(w, ',');
  else w->need_comma |= bit;
}

void json_w_init(json_writer *w, hr_buf *out) {
  w->out = out;
  w->err = 0;
  w->depth = 0;
  w->need_comma = 0;
  w->after_key = false;
}

static void w_begin(json_writer *w, char c) {
  if (w->err) return;
  w_sep(w);
  if (w->depth >= WRITER_MAX_DEPTH) {
    w->err = HR_ERANGE;
    return;
  }
  w_putc(w, c);
  w->depth++;
  w->need_comma &= ~((uint64_t)1 << (w->depth - 1));
}

static void w_end(json_writer *w, char c) {
  if (w->err) return;
  if (w->depth == 0 || w->after_key) {
    w->err = HR_EINVAL; /* unbalanced, or a key without its value */
    return;
  }
  w->depth--;
  w_putc(w, c);
}

void json_w_obj_begin(json_writer *w) { w_begin(w, '{'); }
void json_w_obj_end(json_writer *w) { w_end(w, '}'); }
void json_w_arr_begin(json_writer *w) { w_begin(w, '['); }
void json_w_arr_end(json_writer *w) { w_end(w, ']'); }

static void w_string(json_writer *w, const char *s, size_t n) {
  if (w->err) return;
  int rc = buf_putc(w->out, '"');
  if (!rc) rc = json_escape_append(w->out, s, n);
  if (!rc) rc = buf_putc(w->out, '"');
  if (rc) w->err = rc;
}

void json_w_key(json_writer *w, const char *key) {
  if (w->err) return;
  w_sep(w);
  w_string(w, key, strlen(key));
  w_putc(w, ':');
  w->after_key = true;
}

void json_w_strn(json_writer *w, const char *s, size_t n) {
  if (w->err) return;
  w_sep(w);
  w_string(w, s, n);
}

void json_w_str(json_writer *w, const char *s) { json_w_strn(w, s, strlen(s)); }

/* Decimal digits of v, written backwards ending at end; returns the start. */
static char *fmt_u64(char *end, uint64_t v) {
  do {
    *--end = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return end;
}

void json_w_uint(json_writer *w, uint64_t v) {
  if (w->err) return;
  w_sep(w);
  char buf[24], *e = buf + sizeof buf, *s = fmt_u64(e, v);
  w_put(w, s, (size_t)(e - s));
}

void json_w_int(json_writer *w, int64_t v) {
  if (w->err) return;
  w_sep(w);
  char buf[24], *e = buf + sizeof buf;
  char *s = fmt_u64(e, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
  if (v < 0) *--s = '-';
  w_put(w, s, (size_t)(e - s));
}

/* The shortest of %.15g, %.16g, %.17g that reads back as v (17 always
 * does); integral values below 2^53 are written as integers. */
static size_t fmt_double(char *buf, size_t cap, double v) {
  if (v == 0) {
    if (signbit(v)) {
      memcpy(buf, "-0", 3);
      return 2;
    }
    memcpy(buf, "0", 2);
    return 1;
  }
  if (v == floor(v) && fabs(v) < 9007199254740992.0) {
    char *e = buf + cap, *s = fmt_u64(e, (uint64_t)fabs(v));
    if (v < 0) *--s = '-';
    size_t n = (size_t)(e - s);
    memmove(buf, s, n);
    buf[n] = 0;
    return n;
  }
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, cap, "%.*g", prec, v);
    if (prec == 17 || strtod(buf, NULL) == v) break;
  }
  return (size_t)n;
}

/* A number as fmt wrote it; NaN and infinities (no JSON form) as null. */
static void w_number(json_writer *w, bool finite, const char *buf, size_t n) {
  if (w->err) return;
  if (!finite) {
    json_w_null(w);
    return;
  }
  w_sep(w);
  w_put(w, buf, n);
}

void json_w_float(json_writer *w, float v) {
  char buf[JSON_FLOAT_BUF];
  bool finite = isfinite(v);
  w_number(w, finite, buf, finite ? json_fmt_float(buf, v) : 0);
}

void json_w_floats(json_writer *w, const float *v, size_t n) {
  json_w_arr_begin(w);
  if (w->err) return;
  /* room for every value and its comma, written in place */
  int rc = n > SIZE_MAX / 64 ? HR_ERANGE : hr_buf_reserve(w->out, n * (JSON_FLOAT_MAX + 1) + JSON_FLOAT_BUF);
  if (rc) {
    w->err = rc;
    return;
  }
  char *o = w->out->data + w->out->len;
  for (size_t i = 0; i < n; i++) {
    if (i) *o++ = ',';
    if (isfinite(v[i])) {
      o += json_fmt_float(o, v[i]);
    } else {
      memcpy(o, "null", 4);
      o += 4;
    }
  }
  w->out->len = (size_t)(o - w->out->data);
  w->out->data[w->out->len] = 0;
  json_w_arr_end(w);
}

void json_w_double(json_writer *w, double v) {
  char buf[40];
  bool finite = isfinite(v);
  w_number(w, finite, buf, finite ? fmt_double(buf, sizeof buf, v) : 0);
}

void json_w_bool(json_writer *w, bool v) {
  if (w->err) return;
  w_sep(w);
  if (v) w_put(w, "true", 4);
  else w_put(w, "false", 5);
}

void json_w_null(json_writer *w) {
  if (w->err) return;
  w_sep(w);
  w_put(w, "null", 4);
}

void json_w_raw(json_writer *w, const char *json, size_t n) {
  if (w->err) return;
  w_sep(w);
  w_put(w, json, n);
}

/* Writes a tree with its own commas (it knows its shape), so trees deeper
 * than the writer's 64 levels (json_read allows 128) still write. */
static void w_tree(json_writer *w, const json_value *v, unsigned depth) {
  if (w->err) return;
  if (depth > VALUE_MAX_DEPTH) {
    w->err = HR_ERANGE;
    return;
  }
  switch (v->type) {
    case JSON_NULL: w_put(w, "null", 4); break;
    case JSON_FALSE: w_put(w, "false", 5); break;
    case JSON_TRUE: w_put(w, "true", 4); break;
    case JSON_NUMBER:
      if (v->u.num.raw) {
        w_put(w, v->u.num.raw, v->u.num.raw_len);
      } else if (v->u.num.is_int) {
        char buf[24], *e = buf + sizeof buf;
        int64_t i = v->u.num.i;
        char *s = fmt_u64(e, i < 0 ? 0 - (uint64_t)i : (uint64_t)i);
        if (i < 0) *--s = '-';
        w_put(w, s, (size_t)(e - s));
      } else if (isfinite(v->u.num.d)) {
        char buf[40];
        w_put(w, buf, fmt_double(buf, sizeof buf, v->u.num.d));
      } else {
        w_put(w, "null", 4);
      }
      break;
    case JSON_STRING: w_string(w, v->u.str.ptr, v->u.str.len); break;
    case JSON_ARRAY:
      w_putc(w, '[');
      for (size_t i = 0; i < v->u.arr.n; i++) {
        if (i) w_putc(w, ',');
        w_tree(w, v->u.arr.items[i], depth + 1);
      }
      w_putc(w, ']');
      break;
    case JSON_OBJECT:
      w_putc(w, '{');
      for (size_t i = 0; i < v->u.obj.n; i++) {
        const json_member *m = &v->u.obj.members[i];
        if (i) w_putc(w, ',');
        w_string(w, m->key.ptr, m->key.len);
        w_putc(w, ':');
        w_tree(w, m->value, depth + 1);
      }
      w_putc(w, '}');
      break;
  }
}

void json_w_value(json_writer *w, const json_value *v) {
  if (w->err) return;
  w_sep(w);
  w_tree(w, v, 0);
}

int json_w_finish(json_writer *w) {
  if (!w->err && (w->depth != 0 || w->after_key)) return HR_EINVAL;
  return w->err;
}
