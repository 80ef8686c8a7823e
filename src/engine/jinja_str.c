/* jinja_str.c — Python's str methods for templates (strip, split, replace,
 * startswith, find, format, center...), case mapping, and strftime_now.
 * Lengths, indexes and white space follow Python: code points, not bytes,
 * and Unicode white space. Case mapping covers ASCII, Latin-1, Latin
 * Extended-A, Greek and Cyrillic; str.format handles {} {0} {name} (specs
 * ignored) and the % operator %s %r %d %i %f with simple flags. Results are
 * new strings in the render's arena (built at the end of the output buffer
 * and cut off, like every text-producing step). */
#include "jinja_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- case mapping -------------------------------------------------------------------- */

static uint32_t cp_lower(uint32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c | 1;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

static uint32_t cp_upper(uint32_t c) {
  if (c < 0x80) return c >= 'a' && c <= 'z' ? c - 32 : c;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c & ~1u;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c : c - 1;
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

static bool cp_is_upper(uint32_t c) { return cp_lower(c) != c; }
static bool cp_is_lower(uint32_t c) { return cp_upper(c) != c || c == 0xDF; }
static bool cp_cased(uint32_t c) { return cp_is_upper(c) || cp_is_lower(c); }
bool jinja_cp_alpha(uint32_t c) {
  return (c < 0x80) ? ((c | 32) >= 'a' && (c | 32) <= 'z') : cp_cased(c) || c >= 0x3040;
}
bool jinja_cp_digit(uint32_t c) { return c >= '0' && c <= '9'; }

const jinja_value *jinja_case(jinja_render *r, const jinja_value *s, int mode) {
  size_t mark = r->out->len;
  const char *p = s->u.s.ptr, *end = p + s->u.s.len;
  bool prev_cased = false, first = true, word_start = true;
  while (p < end) {
    uint32_t c, o;
    size_t k = jinja_utf8_dec(p, end, &c);
    switch (mode) {
    case CASE_UPPER: o = cp_upper(c); break;
    case CASE_LOWER: o = cp_lower(c); break;
    case CASE_CAPITALIZE: o = first ? cp_upper(c) : cp_lower(c); break;
    case CASE_TITLE: o = prev_cased ? cp_lower(c) : cp_upper(c); break;
    case CASE_SWAP: o = cp_is_upper(c) ? cp_lower(c) : cp_upper(c); break;
    default: /* Jinja2's title filter: words start after - ( { [ < or white space */
      o = word_start ? cp_upper(c) : cp_lower(c);
      break;
    }
    prev_cased = cp_cased(c);
    bool sep = jinja_is_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    word_start = sep;
    first = false;
    char buf[4];
    size_t n = jinja_utf8_enc(o, buf);
    if (jinja_out(r, buf, n)) return r->out->len = mark, NULL;
    p += k;
  }
  jinja_value *v = (jinja_value *)jinja_take_out(r, mark);
  if (v && (s->flags & JV_F_SAFE)) v->flags |= JV_F_SAFE;
  return v;
}

/* ---- string helpers ---------------------------------------------------------------- */

static bool in_chars(const jinja_value *chars, uint32_t c) {
  const char *p = chars->u.s.ptr, *end = p + chars->u.s.len;
  while (p < end) {
    uint32_t x;
    p += jinja_utf8_dec(p, end, &x);
    if (x == c) return true;
  }
  return false;
}

/* Python str.strip/lstrip/rstrip; chars NULL or None: white space. */
const jinja_value *jinja_strip(jinja_render *r, const jinja_value *s, const jinja_value *chars, bool left,
                                bool right) {
  if (chars && chars->type == JV_NONE) chars = NULL;
  if (chars && chars->type != JV_STR) return jinja_type_error(r, "strip arg must be None or str", chars);
  const char *b = s->u.s.ptr, *e = b + s->u.s.len;
  while (left && b < e) {
    uint32_t c;
    size_t k = jinja_utf8_dec(b, e, &c);
    if (chars ? !in_chars(chars, c) : !jinja_is_space(c)) break;
    b += k;
  }
  while (right && e > b) {
    const char *q = e - 1;
    while (q > b && ((unsigned char)*q & 0xC0) == 0x80) q--;
    uint32_t c;
    jinja_utf8_dec(q, e, &c);
    if (chars ? !in_chars(chars, c) : !jinja_is_space(c)) break;
    e = q;
  }
  if (b == s->u.s.ptr && e == s->u.s.ptr + s->u.s.len) return s;
  jinja_value *v = (jinja_value *)jinja_v_str_ref(r, b, (size_t)(e - b));
  if (v) v->flags = s->flags & JV_F_SAFE;
  return v;
}

/* Python str.split / rsplit. */
const jinja_value *jinja_split(jinja_render *r, const jinja_value *s, const jinja_value *sep,
                                const jinja_value *vmax, bool from_right) {
  int64_t maxsplit = -1;
  if (vmax && !jinja_get_int(vmax, &maxsplit)) return jinja_type_error(r, "maxsplit must be an integer", vmax);
  if (sep && sep->type == JV_NONE) sep = NULL;
  if (sep && sep->type != JV_STR) return jinja_type_error(r, "must be str or None", sep);
  if (sep && !sep->u.s.len) return jinja_fail(r, HR_EFORMAT, "empty separator"), NULL;
  jinja_value *l = jinja_v_list(r, 0);
  size_t cap = 0;
  if (!l) return NULL;
  const char *b = s->u.s.ptr, *e = b + s->u.s.len;
  if (jinja_step(r, s->u.s.len / 16 + 1)) return NULL;
  /* collect pieces left to right; for rsplit with a limit, collect from the
   * right and reverse */
  if (!from_right || maxsplit < 0) {
    const char *p = b;
    int64_t splits = 0;
    if (!sep) {
      for (;;) {
        size_t k;
        while (p < e && (k = jinja_space_fwd(p, e))) p += k;
        if (p >= e) break;
        const char *w = p;
        if (maxsplit >= 0 && splits >= maxsplit) { /* the rest, trailing space and all */
          if (!jinja_list_push(r, l, &cap, jinja_v_str(r, w, (size_t)(e - w)))) return NULL;
          break;
        }
        while (p < e && !jinja_space_fwd(p, e)) p += jinja_cp_offset(p, (size_t)(e - p), 1);
        if (!jinja_list_push(r, l, &cap, jinja_v_str(r, w, (size_t)(p - w)))) return NULL;
        splits++;
      }
      return l;
    }
    for (;;) {
      const char *hit = (maxsplit >= 0 && splits >= maxsplit) ? NULL
                        : memmem(p, (size_t)(e - p), sep->u.s.ptr, sep->u.s.len);
      if (!hit) {
        if (!jinja_list_push(r, l, &cap, jinja_v_str(r, p, (size_t)(e - p)))) return NULL;
        return l;
      }
      if (!jinja_list_push(r, l, &cap, jinja_v_str(r, p, (size_t)(hit - p)))) return NULL;
      p = hit + sep->u.s.len;
      splits++;
    }
  }
  const char *q = e;
  int64_t splits = 0;
  if (!sep) {
    for (;;) {
      size_t k;
      while (q > b && (k = jinja_space_back(b, q))) q -= k;
      if (q <= b) break;
      const char *w = q;
      if (splits >= maxsplit) {
        if (!jinja_list_push(r, l, &cap, jinja_v_str(r, b, (size_t)(w - b)))) return NULL;
        break;
      }
      while (q > b && !jinja_space_back(b, q)) {
        q--;
        while (q > b && ((unsigned char)*q & 0xC0) == 0x80) q--;
      }
      if (!jinja_list_push(r, l, &cap, jinja_v_str(r, q, (size_t)(w - q)))) return NULL;
      splits++;
    }
  } else {
    for (;;) {
      const char *hit = NULL;
      if (splits < maxsplit)
        for (const char *t = q - sep->u.s.len; t >= b && q - b >= (ptrdiff_t)sep->u.s.len; t--) {
          if (memcmp(t, sep->u.s.ptr, sep->u.s.len) == 0) {
            hit = t;
            break;
          }
          if (t == b) break;
        }
      if (!hit) {
        if (!jinja_list_push(r, l, &cap, jinja_v_str(r, b, (size_t)(q - b)))) return NULL;
        break;
      }
      if (!jinja_list_push(r, l, &cap, jinja_v_str(r, hit + sep->u.s.len, (size_t)(q - hit - sep->u.s.len)))) return NULL;
      q = hit;
      splits++;
    }
  }
  for (size_t i = 0, j = l->u.list.n ? l->u.list.n - 1 : 0; i < j; i++, j--) {
    const jinja_value *t = l->u.list.items[i];
    l->u.list.items[i] = l->u.list.items[j];
    l->u.list.items[j] = t;
  }
  return l;
}

/* Python str.splitlines: \n \r \r\n \v \f \x1c-\x1e \x85 U+2028 U+2029. */
size_t jinja_line_break(const char *p, const char *e) {
  unsigned char c = (unsigned char)*p;
  if (c == '\r') return p + 1 < e && p[1] == '\n' ? 2 : 1;
  if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e)) return 1;
  if (c >= 0x80) {
    uint32_t cp;
    size_t k = jinja_utf8_dec(p, e, &cp);
    if (cp == 0x85 || cp == 0x2028 || cp == 0x2029) return k;
  }
  return 0;
}

const jinja_value *jinja_splitlines(jinja_render *r, const jinja_value *s, bool keepends) {
  jinja_value *l = jinja_v_list(r, 0);
  size_t cap = 0;
  if (!l) return NULL;
  const char *p = s->u.s.ptr, *e = p + s->u.s.len, *w = p;
  while (p < e) {
    size_t k = jinja_line_break(p, e);
    if (!k) {
      p++;
      continue;
    }
    if (!jinja_list_push(r, l, &cap, jinja_v_str(r, w, (size_t)(p - w) + (keepends ? k : 0)))) return NULL;
    p += k;
    w = p;
  }
  if (w < e && !jinja_list_push(r, l, &cap, jinja_v_str(r, w, (size_t)(e - w)))) return NULL;
  return l;
}

const jinja_value *jinja_replace(jinja_render *r, const jinja_value *s, const jinja_value *old,
                                  const jinja_value *new, const jinja_value *vcount) {
  int64_t count = -1;
  if (vcount && vcount->type != JV_NONE && !jinja_get_int(vcount, &count))
    return jinja_type_error(r, "count must be an integer", vcount);
  size_t mark = r->out->len;
  const char *p = s->u.s.ptr, *e = p + s->u.s.len;
  if (!old->u.s.len) { /* insert before every code point and at the end */
    while (count != 0) {
      if (jinja_out(r, new->u.s.ptr, new->u.s.len)) goto fail;
      count--;
      if (p >= e) break;
      size_t k = jinja_cp_offset(p, (size_t)(e - p), 1);
      if (jinja_out(r, p, k)) goto fail;
      p += k;
    }
    if (jinja_out(r, p, (size_t)(e - p))) goto fail;
    return jinja_take_out(r, mark);
  }
  while (count != 0) {
    const char *hit = memmem(p, (size_t)(e - p), old->u.s.ptr, old->u.s.len);
    if (!hit) break;
    if (jinja_out(r, p, (size_t)(hit - p)) || jinja_out(r, new->u.s.ptr, new->u.s.len)) goto fail;
    p = hit + old->u.s.len;
    count--;
  }
  if (jinja_out(r, p, (size_t)(e - p))) goto fail;
  return jinja_take_out(r, mark);
fail:
  r->out->len = mark;
  return NULL;
}

/* start/end code point bounds of str.find/startswith/count (Python slice rules). */
static bool sub_bounds(jinja_render *r, const jinja_value *s, const jinja_value *vs, const jinja_value *ve,
                       size_t *b, size_t *e) {
  int64_t n = (int64_t)jinja_cp_count(s->u.s.ptr, s->u.s.len), st = 0, en = n;
  if (vs && vs->type != JV_NONE && !jinja_get_int(vs, &st)) return jinja_type_error(r, "slice indices must be integers", vs), false;
  if (ve && ve->type != JV_NONE && !jinja_get_int(ve, &en)) return jinja_type_error(r, "slice indices must be integers", ve), false;
  if (st < 0) st = st + n < 0 ? 0 : st + n;
  if (en < 0) en = en + n < 0 ? 0 : en + n;
  if (st > n) st = n + 1; /* an empty, out-of-range window */
  if (en > n) en = n;
  *b = st > n ? s->u.s.len + 1 : jinja_cp_offset(s->u.s.ptr, s->u.s.len, (size_t)st);
  *e = jinja_cp_offset(s->u.s.ptr, s->u.s.len, (size_t)en);
  return true;
}

const jinja_value *jinja_affix(jinja_render *r, const jinja_value *s, const jinja_args *a, bool ends) {
  const jinja_value *x = jinja_arg(a, 0, NULL);
  size_t b, e;
  if (!x) return jinja_fail(r, HR_EFORMAT, "startswith/endswith takes at least 1 argument"), NULL;
  if (!sub_bounds(r, s, jinja_arg(a, 1, NULL), jinja_arg(a, 2, NULL), &b, &e)) return NULL;
  const jinja_value *one[1] = {x};
  const jinja_value **cands = one;
  size_t nc = 1;
  if (x->type == JV_LIST && (x->flags & JV_F_TUPLE)) {
    cands = x->u.list.items;
    nc = x->u.list.n;
  }
  for (size_t i = 0; i < nc; i++) {
    const jinja_value *c = cands[i];
    if (c->type != JV_STR) return jinja_type_error(r, "startswith/endswith first arg must be str or a tuple of str", c);
    if (b > s->u.s.len || b > e) continue;
    size_t n = e - b;
    if (c->u.s.len > n) continue;
    const char *at = ends ? s->u.s.ptr + e - c->u.s.len : s->u.s.ptr + b;
    if (memcmp(at, c->u.s.ptr, c->u.s.len) == 0) return &jinja_true_v;
  }
  return &jinja_false_v;
}

const jinja_value *jinja_find(jinja_render *r, const jinja_value *s, const jinja_args *a, bool rev,
                               bool raise) {
  const jinja_value *sub = jinja_need_str(r, jinja_arg(a, 0, NULL), "must be str");
  size_t b, e;
  if (!sub || !sub_bounds(r, s, jinja_arg(a, 1, NULL), jinja_arg(a, 2, NULL), &b, &e)) return NULL;
  const char *hit = NULL;
  if (b <= e && b <= s->u.s.len && sub->u.s.len <= e - b) {
    if (!rev) {
      hit = sub->u.s.len ? memmem(s->u.s.ptr + b, e - b, sub->u.s.ptr, sub->u.s.len) : s->u.s.ptr + b;
    } else {
      for (size_t i = e - sub->u.s.len + 1; i-- > b;)
        if (memcmp(s->u.s.ptr + i, sub->u.s.ptr, sub->u.s.len) == 0) {
          hit = s->u.s.ptr + i;
          break;
        }
    }
  }
  if (!hit && raise) return jinja_fail(r, HR_EFORMAT, "substring not found"), NULL;
  return jinja_v_int(r, hit ? (int64_t)jinja_cp_count(s->u.s.ptr, (size_t)(hit - s->u.s.ptr)) : -1);
}

const jinja_value *jinja_pad(jinja_render *r, const jinja_value *s, int64_t width, const jinja_value *fill,
                              int where) {
  const char *f = " ";
  size_t flen = 1;
  if (fill) {
    if (fill->type != JV_STR || jinja_cp_count(fill->u.s.ptr, fill->u.s.len) != 1)
      return jinja_fail(r, HR_EFORMAT, "The fill character must be exactly one character long"), NULL;
    f = fill->u.s.ptr;
    flen = fill->u.s.len;
  }
  int64_t n = (int64_t)jinja_cp_count(s->u.s.ptr, s->u.s.len);
  if (width <= n) return s;
  if ((uint64_t)width > r->out_max) return jinja_fail(r, HR_ERANGE, "width too large"), NULL;
  int64_t total = width - n, left;
  if (where == 0) left = total / 2 + (total & width & 1); /* CPython's center */
  else left = where < 0 ? 0 : total;
  size_t mark = r->out->len;
  for (int64_t i = 0; i < left; i++)
    if (jinja_out(r, f, flen)) goto fail;
  if (jinja_out(r, s->u.s.ptr, s->u.s.len)) goto fail;
  for (int64_t i = 0; i < total - left; i++)
    if (jinja_out(r, f, flen)) goto fail;
  return jinja_take_out(r, mark);
fail:
  r->out->len = mark;
  return NULL;
}

const jinja_value *jinja_join(jinja_render *r, const jinja_value *sep, const jinja_value *seq,
                                   const jinja_value *attribute, bool soft) {
  const jinja_value **items;
  size_t n;
  if (jinja_iterate(r, seq, &items, &n) || jinja_step(r, n)) return NULL;
  size_t mark = r->out->len;
  for (size_t i = 0; i < n; i++) {
    const jinja_value *v = items[i];
    if (attribute && !(v = jinja_getitem(r, v, attribute))) goto fail;
    if (i && jinja_out(r, sep->u.s.ptr, sep->u.s.len)) goto fail;
    if (!soft && v->type != JV_STR) {
      jinja_fail(r, HR_EFORMAT, "sequence item %zu: expected str instance, %s found", i, jinja_v_type_name(v));
      goto fail;
    }
    if (jinja_write_str(r, v)) goto fail;
  }
  return jinja_take_out(r, mark);
fail:
  r->out->len = mark;
  return NULL;
}

/* str.format with {} {0} {name} fields; a format spec after ':' is ignored
 * except for simple widths. */
const jinja_value *jinja_str_format(jinja_render *r, const jinja_value *s, const jinja_args *a) {
  size_t mark = r->out->len, auto_i = 0;
  const char *p = s->u.s.ptr, *e = p + s->u.s.len;
  while (p < e) {
    if ((*p == '{' || *p == '}') && p + 1 < e && p[1] == *p) {
      if (jinja_out(r, p, 1)) goto fail;
      p += 2;
      continue;
    }
    if (*p == '}') {
      jinja_fail(r, HR_EFORMAT, "Single '}' encountered in format string");
      goto fail;
    }
    if (*p != '{') {
      if (jinja_out(r, p, 1)) goto fail;
      p++;
      continue;
    }
    const char *q = memchr(p, '}', (size_t)(e - p));
    if (!q) {
      jinja_fail(r, HR_EFORMAT, "Single '{' encountered in format string");
      goto fail;
    }
    const char *name = p + 1, *ne = name;
    while (ne < q && *ne != ':' && *ne != '!') ne++;
    const jinja_value *v = NULL;
    if (ne == name) v = jinja_arg(a, auto_i++, NULL);
    else if (jinja_cp_digit((unsigned char)*name)) v = jinja_arg(a, (size_t)atoi(name), NULL);
    else
      for (size_t k = 0; k < a->n_kw; k++)
        if (a->kw_names[k].len == (size_t)(ne - name) && memcmp(a->kw_names[k].ptr, name, a->kw_names[k].len) == 0)
          v = a->kw[k];
    if (!v) {
      jinja_fail(r, HR_EFORMAT, "Replacement index out of range in format string");
      goto fail;
    }
    bool as_repr = ne < q && *ne == '!' && ne + 1 < q && ne[1] == 'r';
    if (as_repr ? jinja_write_repr(r, v, 0) : jinja_write_str(r, v)) goto fail;
    p = q + 1;
  }
  return jinja_take_out(r, mark);
fail:
  r->out->len = mark;
  return NULL;
}

/* printf-style "%s" % args (the format filter and the % operator). */
const jinja_value *jinja_percent_format(jinja_render *r, const jinja_value *s, const jinja_args *a) {
  size_t mark = r->out->len, ai = 0;
  const char *p = s->u.s.ptr, *e = p + s->u.s.len;
  while (p < e) {
    if (*p != '%') {
      if (jinja_out(r, p, 1)) goto fail;
      p++;
      continue;
    }
    p++;
    if (p < e && *p == '%') {
      if (jinja_out(r, "%", 1)) goto fail;
      p++;
      continue;
    }
    char spec[32] = "%";
    size_t k = 1;
    while (p < e && strchr("-+ #0123456789.", *p) && k < sizeof spec - 4) spec[k++] = *p++;
    if (p >= e) {
      jinja_fail(r, HR_EFORMAT, "incomplete format");
      goto fail;
    }
    char conv = *p++;
    const jinja_value *v = jinja_arg(a, ai++, NULL);
    if (!v) {
      jinja_fail(r, HR_EFORMAT, "not enough arguments for format string");
      goto fail;
    }
    char buf[128];
    if (conv == 's' || conv == 'r') {
      const jinja_value *t;
      if (conv == 'r') {
        size_t m2 = r->out->len;
        if (jinja_write_repr(r, v, 0)) goto fail;
        t = jinja_take_out(r, m2);
      } else {
        t = jinja_to_str(r, v);
      }
      if (!t) goto fail;
      int64_t width = atoi(spec + 1 + (spec[1] == '-'));
      int64_t n = (int64_t)jinja_cp_count(t->u.s.ptr, t->u.s.len);
      bool left = spec[1] == '-';
      for (int64_t i = n; !left && i < width; i++)
        if (jinja_out(r, " ", 1)) goto fail;
      if (jinja_out(r, t->u.s.ptr, t->u.s.len)) goto fail;
      for (int64_t i = n; left && i < width; i++)
        if (jinja_out(r, " ", 1)) goto fail;
    } else if (strchr("dif", conv) && jinja_v_is_num(v)) {
      if (conv == 'f') {
        strcat(spec, "f");
        snprintf(buf, sizeof buf, spec, jinja_v_num(v));
      } else {
        strcat(spec, "lld");
        snprintf(buf, sizeof buf, spec, (long long)(v->type == JV_FLOAT ? (int64_t)v->u.f : v->type == JV_BOOL ? v->u.b : v->u.i));
      }
      if (jinja_out(r, buf, strlen(buf))) goto fail;
    } else {
      jinja_fail(r, HR_EFORMAT, "unsupported format character '%c'", conv);
      goto fail;
    }
  }
  return jinja_take_out(r, mark);
fail:
  r->out->len = mark;
  return NULL;
}

const jinja_value *jinja_str_pred(jinja_render *r, const jinja_value *s, int id) {
  const char *p = s->u.s.ptr, *e = p + s->u.s.len;
  bool any = false, cased = false;
  while (p < e) {
    uint32_t c;
    p += jinja_utf8_dec(p, e, &c);
    any = true;
    switch (id) {
    case M_ISDIGIT: if (!jinja_cp_digit(c)) return &jinja_false_v; break;
    case M_ISALPHA: if (!jinja_cp_alpha(c)) return &jinja_false_v; break;
    case M_ISALNUM: if (!jinja_cp_alpha(c) && !jinja_cp_digit(c)) return &jinja_false_v; break;
    case M_ISSPACE: if (!jinja_is_space(c)) return &jinja_false_v; break;
    case M_ISLOWER: if (cp_is_upper(c)) return &jinja_false_v; cased |= cp_is_lower(c); break;
    case M_ISUPPER: if (cp_is_lower(c)) return &jinja_false_v; cased |= cp_is_upper(c); break;
    }
  }
  if (id == M_ISLOWER || id == M_ISUPPER) return jinja_v_bool(cased);
  return jinja_v_bool(any);
}

const jinja_value *jinja_partition(jinja_render *r, const jinja_value *s, const jinja_value *sep, bool rev) {
  if (!jinja_need_str(r, sep, "must be str")) return NULL;
  if (!sep->u.s.len) return jinja_fail(r, HR_EFORMAT, "empty separator"), NULL;
  const char *b = s->u.s.ptr, *e = b + s->u.s.len, *hit = NULL;
  if (!rev) hit = memmem(b, s->u.s.len, sep->u.s.ptr, sep->u.s.len);
  else if (sep->u.s.len <= s->u.s.len)
    for (size_t i = s->u.s.len - sep->u.s.len + 1; i-- > 0;)
      if (memcmp(b + i, sep->u.s.ptr, sep->u.s.len) == 0) {
        hit = b + i;
        break;
      }
  jinja_value *t = jinja_v_list(r, 3);
  if (!t) return NULL;
  t->flags = JV_F_TUPLE;
  const jinja_value *empty = jinja_v_str_ref(r, "", 0);
  if (!hit) {
    t->u.list.items[0] = rev ? empty : s;
    t->u.list.items[1] = empty;
    t->u.list.items[2] = rev ? s : empty;
  } else {
    t->u.list.items[0] = jinja_v_str(r, b, (size_t)(hit - b));
    t->u.list.items[1] = sep;
    t->u.list.items[2] = jinja_v_str(r, hit + sep->u.s.len, (size_t)(e - hit - sep->u.s.len));
  }
  for (int i = 0; i < 3; i++)
    if (!t->u.list.items[i]) return NULL;
  return t;
}

/* ---- time ------------------------------------------------------------------------------- */

const jinja_value *jinja_strftime(jinja_render *r, const jinja_value *fmt) {
  static const char *days[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
  static const char *months[] = {"January", "February", "March",     "April",   "May",      "June",
                                 "July",    "August",   "September", "October", "November", "December"};
  if (!jinja_need_str(r, fmt, "strftime_now() argument must be str")) return NULL;
  time_t t = (time_t)r->now_s;
  struct tm tm;
  gmtime_r(&t, &tm);
  size_t mark = r->out->len;
  const char *p = fmt->u.s.ptr, *e = p + fmt->u.s.len;
  char buf[64];
  while (p < e) {
    if (*p != '%' || p + 1 >= e) {
      if (jinja_out(r, p, 1)) goto fail;
      p++;
      continue;
    }
    char c = p[1];
    p += 2;
    buf[0] = 0;
    switch (c) {
    case 'd': snprintf(buf, sizeof buf, "%02d", tm.tm_mday); break;
    case 'e': snprintf(buf, sizeof buf, "%2d", tm.tm_mday); break;
    case 'm': snprintf(buf, sizeof buf, "%02d", tm.tm_mon + 1); break;
    case 'Y': snprintf(buf, sizeof buf, "%d", tm.tm_year + 1900); break;
    case 'y': snprintf(buf, sizeof buf, "%02d", tm.tm_year % 100); break;
    case 'H': snprintf(buf, sizeof buf, "%02d", tm.tm_hour); break;
    case 'I': snprintf(buf, sizeof buf, "%02d", tm.tm_hour % 12 ? tm.tm_hour % 12 : 12); break;
    case 'M': snprintf(buf, sizeof buf, "%02d", tm.tm_min); break;
    case 'S': snprintf(buf, sizeof buf, "%02d", tm.tm_sec); break;
    case 'p': snprintf(buf, sizeof buf, "%s", tm.tm_hour < 12 ? "AM" : "PM"); break;
    case 'j': snprintf(buf, sizeof buf, "%03d", tm.tm_yday + 1); break;
    case 'a': snprintf(buf, sizeof buf, "%.3s", days[tm.tm_wday]); break;
    case 'A': snprintf(buf, sizeof buf, "%s", days[tm.tm_wday]); break;
    case 'b':
    case 'h': snprintf(buf, sizeof buf, "%.3s", months[tm.tm_mon]); break;
    case 'B': snprintf(buf, sizeof buf, "%s", months[tm.tm_mon]); break;
    case 'w': snprintf(buf, sizeof buf, "%d", tm.tm_wday); break;
    case 'F': snprintf(buf, sizeof buf, "%d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday); break;
    case 'T': snprintf(buf, sizeof buf, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec); break;
    case 'Z': snprintf(buf, sizeof buf, "UTC"); break;
    case 'z': snprintf(buf, sizeof buf, "+0000"); break;
    case '%': snprintf(buf, sizeof buf, "%%"); break;
    default: snprintf(buf, sizeof buf, "%%%c", c); break;
    }
    if (jinja_out(r, buf, strlen(buf))) goto fail;
  }
  return jinja_take_out(r, mark);
fail:
  r->out->len = mark;
  return NULL;
}
