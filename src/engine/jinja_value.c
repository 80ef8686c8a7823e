/* jinja_value.c — template values with Python's semantics: constructors,
 * ordered dicts (insertion order, Python key equality, a hash index once a
 * dict grows past a few keys), truthiness, == and <, and the three ways a
 * value becomes text: str() for output and ~, repr() inside containers, and
 * json.dumps() for tojson. Also the UTF-8 helpers (Python counts and strips
 * code points, not bytes) and the conversion from the project's JSON tree.
 *
 * Every walker over nested values is depth-bounded: values cannot be cyclic
 * (lists and dicts never change once built) but can be built very deep. */
#include "jinja_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_DEPTH_MAX 256

const jinja_value jinja_undefined_v = {.type = JV_UNDEFINED, .u.undef = {.owner = 0xff}};
const jinja_value jinja_none_v = {.type = JV_NONE};
const jinja_value jinja_true_v = {.type = JV_BOOL, .u.b = true};
const jinja_value jinja_false_v = {.type = JV_BOOL, .u.b = false};

/* ---- UTF-8 and white space ------------------------------------------------- */

size_t jinja_utf8_dec(const char *p, const char *end, uint32_t *cp) {
  const unsigned char *s = (const unsigned char *)p;
  size_t avail = (size_t)(end - p);
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 1;
  if (n == 1 || n > avail) {
    *cp = 0xFFFD;
    return 1;
  }
  uint32_t c = s[0] & (0x7F >> n);
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) {
      *cp = 0xFFFD;
      return 1;
    }
    c = (c << 6) | (s[i] & 0x3F);
  }
  *cp = c;
  return n;
}

size_t jinja_utf8_enc(uint32_t cp, char out[4]) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

size_t jinja_cp_count(const char *p, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += ((unsigned char)p[i] & 0xC0) != 0x80;
  return c;
}

size_t jinja_cp_offset(const char *p, size_t n, size_t i) {
  size_t off = 0;
  while (i && off < n) {
    off++;
    while (off < n && ((unsigned char)p[off] & 0xC0) == 0x80) off++;
    i--;
  }
  return off;
}

bool jinja_is_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

size_t jinja_space_fwd(const char *p, const char *end) {
  if (p >= end) return 0;
  uint32_t cp;
  size_t k = jinja_utf8_dec(p, end, &cp);
  return jinja_is_space(cp) ? k : 0;
}

size_t jinja_space_back(const char *start, const char *p) {
  if (p <= start) return 0;
  const char *q = p - 1;
  while (q > start && ((unsigned char)*q & 0xC0) == 0x80 && p - q < 4) q--;
  uint32_t cp;
  size_t k = jinja_utf8_dec(q, p, &cp);
  return (q + k == p && jinja_is_space(cp)) ? k : 0;
}

/* ---- constructors ------------------------------------------------------------- */

static jinja_value *newv(jinja_render *r, int type) {
  jinja_value *v = jinja_alloc(r, sizeof *v);
  if (v) {
    memset(v, 0, sizeof *v);
    v->type = (uint8_t)type;
  }
  return v;
}

const jinja_value *jinja_v_bool(bool b) { return b ? &jinja_true_v : &jinja_false_v; }

const jinja_value *jinja_v_int(jinja_render *r, int64_t i) {
  jinja_value *v = newv(r, JV_INT);
  if (v) v->u.i = i;
  return v;
}

const jinja_value *jinja_v_float(jinja_render *r, double f) {
  jinja_value *v = newv(r, JV_FLOAT);
  if (v) v->u.f = f;
  return v;
}

const jinja_value *jinja_v_str_ref(jinja_render *r, const char *p, size_t n) {
  jinja_value *v = newv(r, JV_STR);
  if (v) {
    v->u.s.ptr = p;
    v->u.s.len = n;
  }
  return v;
}

const jinja_value *jinja_v_str(jinja_render *r, const char *p, size_t n) {
  char *s = jinja_alloc(r, n + 1);
  if (!s) return NULL;
  if (n) memcpy(s, p, n);
  s[n] = 0;
  return jinja_v_str_ref(r, s, n);
}

const jinja_value *jinja_v_undef(jinja_render *r, const char *name, size_t len, int owner,
                            bool is_index) {
  jinja_value *v = newv(r, JV_UNDEFINED);
  if (v) {
    v->u.undef.name = name;
    v->u.undef.len = len;
    v->u.undef.owner = (uint8_t)owner;
    v->u.undef.is_index = is_index;
  }
  return v;
}

jinja_value *jinja_v_list(jinja_render *r, size_t n) {
  jinja_value *v = newv(r, JV_LIST);
  if (!v) return NULL;
  if (n) {
    if (n > SIZE_MAX / sizeof(void *)) return NULL;
    v->u.list.items = jinja_alloc(r, n * sizeof(void *));
    if (!v->u.list.items) return NULL;
    memset(v->u.list.items, 0, n * sizeof(void *));
  }
  v->u.list.n = n;
  return v;
}

jinja_value *jinja_v_dict(jinja_render *r) {
  jinja_value *v = newv(r, JV_DICT);
  if (!v) return NULL;
  v->u.dict = jinja_alloc(r, sizeof(jinja_dict));
  if (!v->u.dict) return NULL;
  memset(v->u.dict, 0, sizeof(jinja_dict));
  return v;
}

const jinja_value *jinja_v_func(jinja_render *r, int fn, const jinja_value *self) {
  jinja_value *v = newv(r, JV_FUNC);
  if (v) {
    v->fn = (uint16_t)fn;
    v->u.fn.self = self;
  }
  return v;
}

/* ---- helpers for the built-ins ---------------------------------------------------- */

const jinja_value *jinja_type_error(jinja_render *r, const char *what, const jinja_value *v) {
  jinja_fail(r, HR_EFORMAT, "%s, got %s", what, jinja_v_type_name(v));
  return NULL;
}

const jinja_value *jinja_need_str(jinja_render *r, const jinja_value *v, const char *what) {
  if (!v || v->type != JV_STR) return jinja_type_error(r, what, v ? v : &jinja_none_v);
  return v;
}

bool jinja_get_int(const jinja_value *v, int64_t *out) {
  if (!v) return false;
  if (v->type == JV_INT) *out = v->u.i;
  else if (v->type == JV_BOOL) *out = v->u.b;
  else return false;
  return true;
}

bool jinja_list_push(jinja_render *r, jinja_value *l, size_t *cap, const jinja_value *item) {
  if (!item) return false;
  if (l->u.list.n == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    const jinja_value **items = jinja_alloc(r, nc * sizeof *items);
    if (!items) return false;
    if (l->u.list.n) memcpy(items, l->u.list.items, l->u.list.n * sizeof *items);
    l->u.list.items = items;
    *cap = nc;
  }
  l->u.list.items[l->u.list.n++] = item;
  return true;
}

/* ---- dicts ----------------------------------------------------------------------- */

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
  return h;
}

/* Python-compatible hashing: 1 == 1.0 == True hash alike. false: unhashable. */
static bool hash_value(const jinja_value *v, uint64_t *h, int depth) {
  if (depth > VALUE_DEPTH_MAX) return false;
  switch (v->type) {
  case JV_STR: *h = hash_bytes(v->u.s.ptr, v->u.s.len); return true;
  case JV_BOOL: *h = mix((uint64_t)v->u.b); return true;
  case JV_INT: *h = mix((uint64_t)v->u.i); return true;
  case JV_FLOAT:
    if (v->u.f == floor(v->u.f) && fabs(v->u.f) < 9.2e18) *h = mix((uint64_t)(int64_t)v->u.f);
    else {
      uint64_t bits;
      memcpy(&bits, &v->u.f, sizeof bits);
      *h = mix(bits);
    }
    return true;
  case JV_NONE: *h = 0x6e6f6e65; return true;
  case JV_UNDEFINED: *h = 0x756e6466; return true;
  case JV_LIST:
    if (!(v->flags & JV_F_TUPLE)) return false;
    *h = 0x7475706c;
    for (size_t i = 0; i < v->u.list.n; i++) {
      uint64_t x;
      if (!hash_value(v->u.list.items[i], &x, depth + 1)) return false;
      *h = mix(*h ^ x) + i;
    }
    return true;
  default: *h = mix((uint64_t)(uintptr_t)v); return true; /* identity */
  }
}

static bool key_eq(const jinja_value *a, const jinja_value *b) {
  if (a->type == JV_STR && b->type == JV_STR)
    return a->u.s.len == b->u.s.len && memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0;
  return jinja_v_equal(a, b);
}

static int64_t find_slot(const jinja_dict *d, const jinja_value *key, uint64_t h) {
  if (!d->idx) {
    for (uint32_t i = 0; i < d->n; i++)
      if (key_eq(d->e[i].key, key)) return i;
    return -1;
  }
  uint32_t mask = d->idx_cap - 1;
  for (uint32_t j = (uint32_t)h & mask;; j = (j + 1) & mask) {
    uint32_t s = d->idx[j];
    if (!s) return -1;
    if (key_eq(d->e[s - 1].key, key)) return s - 1;
  }
}

const jinja_value *jinja_dict_get(const jinja_dict *d, const jinja_value *key) {
  uint64_t h;
  if (!d || !d->n || !hash_value(key, &h, 0)) return NULL;
  int64_t i = find_slot(d, key, h);
  return i < 0 ? NULL : d->e[i].val;
}

const jinja_value *jinja_dict_get_str(const jinja_dict *d, const char *k, size_t n) {
  jinja_value key = {.type = JV_STR, .u.s = {k, n}};
  return jinja_dict_get(d, &key);
}

typedef void *(*alloc_fn)(void *ctx, size_t n);

static int dict_put(alloc_fn alloc, void *ctx, jinja_dict *d, const jinja_value *key,
                    const jinja_value *val) {
  uint64_t h;
  if (!hash_value(key, &h, 0)) return HR_EFORMAT;
  int64_t i = find_slot(d, key, h);
  if (i >= 0) {
    d->e[i].val = val;
    return 0;
  }
  if (d->n == UINT32_MAX / 4) return HR_ERANGE;
  if (d->n == d->cap) {
    uint32_t cap = d->cap ? d->cap * 2 : 4;
    jinja_entry *e = alloc(ctx, cap * sizeof *e);
    if (!e) return HR_ENOMEM;
    if (d->n) memcpy(e, d->e, d->n * sizeof *e);
    d->e = e;
    d->cap = cap;
  }
  d->e[d->n++] = (jinja_entry){key, val};
  if (d->n > 8 && (uint64_t)d->n * 2 > d->idx_cap) { /* rebuild the index */
    uint32_t cap = 32;
    while (cap < d->n * 2) cap *= 2;
    uint32_t *idx = alloc(ctx, cap * sizeof *idx);
    if (!idx) return HR_ENOMEM;
    memset(idx, 0, cap * sizeof *idx);
    for (uint32_t k = 0; k < d->n; k++) {
      uint64_t kh;
      hash_value(d->e[k].key, &kh, 0);
      uint32_t j = (uint32_t)kh & (cap - 1);
      while (idx[j]) j = (j + 1) & (cap - 1);
      idx[j] = k + 1;
    }
    d->idx = idx;
    d->idx_cap = cap;
  } else if (d->idx) {
    uint32_t j = (uint32_t)h & (d->idx_cap - 1);
    while (d->idx[j]) j = (j + 1) & (d->idx_cap - 1);
    d->idx[j] = d->n;
  }
  return 0;
}

static void *render_alloc(void *ctx, size_t n) { return jinja_alloc(ctx, n); }
static void *arena_alloc(void *ctx, size_t n) { return hr_arena_alloc(ctx, n); }

int jinja_dict_put(jinja_render *r, jinja_dict *d, const jinja_value *key,
                   const jinja_value *val) {
  int rc = dict_put(render_alloc, r, d, key, val);
  if (rc == HR_EFORMAT) return jinja_fail(r, HR_EFORMAT, "unhashable type: '%s'", jinja_v_type_name(key));
  if (rc && !r->err_code) return jinja_fail(r, rc, "dict too large");
  return rc ? r->err_code : 0;
}

int jinja_dict_put_a(hr_arena *a, jinja_dict *d, const jinja_value *key,
                     const jinja_value *val) {
  int rc = dict_put(arena_alloc, a, d, key, val);
  return rc == HR_EFORMAT ? HR_EINVAL : rc;
}

/* ---- predicates and comparison --------------------------------------------------- */

bool jinja_v_truthy(const jinja_value *v) {
  switch (v->type) {
  case JV_UNDEFINED:
  case JV_NONE: return false;
  case JV_BOOL: return v->u.b;
  case JV_INT: return v->u.i != 0;
  case JV_FLOAT: return v->u.f != 0;
  case JV_STR: return v->u.s.len != 0;
  case JV_LIST: return v->u.list.n != 0;
  case JV_DICT: return v->u.dict->n != 0;
  default: return true;
  }
}

bool jinja_v_is_str(const jinja_value *v) { return v->type == JV_STR; }
bool jinja_v_is_num(const jinja_value *v) {
  return v->type == JV_INT || v->type == JV_FLOAT || v->type == JV_BOOL;
}
double jinja_v_num(const jinja_value *v) {
  return v->type == JV_FLOAT ? v->u.f : v->type == JV_INT ? (double)v->u.i : v->type == JV_BOOL ? v->u.b : 0;
}

const char *jinja_v_type_name(const jinja_value *v) {
  switch (v->type) {
  case JV_UNDEFINED: return "Undefined";
  case JV_NONE: return "NoneType";
  case JV_BOOL: return "bool";
  case JV_INT: return "int";
  case JV_FLOAT: return "float";
  case JV_STR: return "str";
  case JV_LIST: return v->flags & JV_F_TUPLE ? "tuple" : "list";
  case JV_DICT: return "dict";
  case JV_NAMESPACE: return "Namespace";
  case JV_MACRO: return "Macro";
  case JV_FUNC: return "function";
  case JV_LOOP: return "LoopContext";
  }
  return "object";
}

static bool num_eq(const jinja_value *a, const jinja_value *b) {
  if (a->type != JV_FLOAT && b->type != JV_FLOAT) {
    int64_t x = a->type == JV_BOOL ? a->u.b : a->u.i, y = b->type == JV_BOOL ? b->u.b : b->u.i;
    return x == y;
  }
  return jinja_v_num(a) == jinja_v_num(b);
}

static bool equal_d(const jinja_value *a, const jinja_value *b, int depth) {
  if (a == b) return a->type != JV_FLOAT || a->u.f == a->u.f;
  if (depth > VALUE_DEPTH_MAX) return false;
  if (jinja_v_is_num(a) && jinja_v_is_num(b)) return num_eq(a, b);
  if (a->type != b->type) return false;
  switch (a->type) {
  case JV_UNDEFINED:
  case JV_NONE: return true;
  case JV_STR: return a->u.s.len == b->u.s.len && memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0;
  case JV_LIST:
    if ((a->flags & JV_F_TUPLE) != (b->flags & JV_F_TUPLE) || a->u.list.n != b->u.list.n) return false;
    for (size_t i = 0; i < a->u.list.n; i++)
      if (!equal_d(a->u.list.items[i], b->u.list.items[i], depth + 1)) return false;
    return true;
  case JV_DICT:
    if (a->u.dict->n != b->u.dict->n) return false;
    for (uint32_t i = 0; i < a->u.dict->n; i++) {
      const jinja_value *o = jinja_dict_get(b->u.dict, a->u.dict->e[i].key);
      if (!o || !equal_d(a->u.dict->e[i].val, o, depth + 1)) return false;
    }
    return true;
  case JV_FUNC: return a->fn == b->fn && a->u.fn.self == b->u.fn.self;
  default: return false; /* identity, checked above */
  }
}

bool jinja_v_equal(const jinja_value *a, const jinja_value *b) { return equal_d(a, b, 0); }

static int less_d(jinja_render *r, const jinja_value *a, const jinja_value *b, bool *lt, int depth) {
  if (depth > VALUE_DEPTH_MAX) return jinja_fail(r, HR_ERANGE, "values nested too deeply");
  if (jinja_v_is_num(a) && jinja_v_is_num(b)) {
    if (a->type != JV_FLOAT && b->type != JV_FLOAT) {
      int64_t x = a->type == JV_BOOL ? a->u.b : a->u.i, y = b->type == JV_BOOL ? b->u.b : b->u.i;
      *lt = x < y;
    } else {
      *lt = jinja_v_num(a) < jinja_v_num(b);
    }
    return 0;
  }
  if (a->type == JV_STR && b->type == JV_STR) {
    size_t n = HR_MIN(a->u.s.len, b->u.s.len);
    int c = memcmp(a->u.s.ptr, b->u.s.ptr, n);
    *lt = c < 0 || (c == 0 && a->u.s.len < b->u.s.len);
    return 0;
  }
  if (a->type == JV_LIST && b->type == JV_LIST && (a->flags & JV_F_TUPLE) == (b->flags & JV_F_TUPLE)) {
    size_t n = HR_MIN(a->u.list.n, b->u.list.n);
    for (size_t i = 0; i < n; i++) {
      const jinja_value *x = a->u.list.items[i], *y = b->u.list.items[i];
      if (equal_d(x, y, depth + 1)) continue;
      return less_d(r, x, y, lt, depth + 1);
    }
    *lt = a->u.list.n < b->u.list.n;
    return 0;
  }
  return jinja_fail(r, HR_EFORMAT, "'<' not supported between instances of '%s' and '%s'",
                    jinja_v_type_name(a), jinja_v_type_name(b));
}

int jinja_v_less(jinja_render *r, const jinja_value *a, const jinja_value *b, bool *lt) {
  return less_d(r, a, b, lt, 0);
}

/* ---- text ---------------------------------------------------------------------------- */

int jinja_out(jinja_render *r, const char *p, size_t n) {
  if (r->out->len + n > r->out_max)
    return jinja_fail(r, HR_ERANGE, "rendered text exceeds %zu bytes", r->out_max);
  if (hr_buf_append(r->out, p, n)) return jinja_fail(r, HR_ENOMEM, "out of memory");
  return 0;
}

static int outs(jinja_render *r, const char *s) { return jinja_out(r, s, strlen(s)); }

void jinja_float_repr(double f, char buf[32]) {
  if (isnan(f)) {
    strcpy(buf, "nan");
    return;
  }
  if (isinf(f)) {
    strcpy(buf, f < 0 ? "-inf" : "inf");
    return;
  }
  char tmp[40];
  int prec;
  for (prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
    if (strtod(tmp, NULL) == f) break;
  }
  /* tmp: [-]d[.ddd]e[+-]xx */
  char digits[24];
  size_t nd = 0;
  const char *p = tmp;
  bool neg = *p == '-';
  if (neg) p++;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[nd++] = *p;
  int exp10 = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = 0;
  char *o = buf;
  if (neg) *o++ = '-';
  if (exp10 >= -4 && exp10 < 16) {
    if (exp10 >= 0) {
      for (int i = 0; i <= exp10; i++) *o++ = (size_t)i < nd ? digits[i] : '0';
      *o++ = '.';
      if ((size_t)exp10 + 1 < nd) {
        for (size_t i = (size_t)exp10 + 1; i < nd; i++) *o++ = digits[i];
      } else {
        *o++ = '0';
      }
    } else {
      *o++ = '0';
      *o++ = '.';
      for (int i = 0; i < -exp10 - 1; i++) *o++ = '0';
      for (size_t i = 0; i < nd; i++) *o++ = digits[i];
    }
    *o = 0;
  } else {
    *o++ = digits[0];
    if (nd > 1) {
      *o++ = '.';
      for (size_t i = 1; i < nd; i++) *o++ = digits[i];
    }
    snprintf(o, (size_t)(buf + 32 - o), "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
  }
}

/* Python's str.isprintable, approximately: controls, separators other than
 * the space, format characters and private use are not printable. */
static bool printable(uint32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) return false;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
      (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF)
    return false;
  if ((c >= 0xD800 && c <= 0xF8FF) || (c >= 0xFFF9 && c <= 0xFFFB) || c >= 0xF0000) return false;
  return true;
}

static int repr_str(jinja_render *r, const char *s, size_t n) {
  bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
  char q = has_sq && !has_dq ? '"' : '\'';
  if (jinja_out(r, &q, 1)) return r->err_code;
  const char *end = s + n;
  while (s < end) {
    uint32_t c;
    size_t k = jinja_utf8_dec(s, end, &c);
    char esc[16];
    const char *e = NULL;
    if (c == (uint32_t)q || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      esc[2] = 0;
      e = esc;
    } else if (c == '\n') e = "\\n";
    else if (c == '\r') e = "\\r";
    else if (c == '\t') e = "\\t";
    else if (!printable(c)) {
      if (c < 0x100) snprintf(esc, sizeof esc, "\\x%02x", c);
      else if (c < 0x10000) snprintf(esc, sizeof esc, "\\u%04x", c);
      else snprintf(esc, sizeof esc, "\\U%08x", c);
      e = esc;
    }
    if (e ? outs(r, e) : jinja_out(r, s, k)) return r->err_code;
    s += k;
  }
  return jinja_out(r, &q, 1);
}

int jinja_write_repr(jinja_render *r, const jinja_value *v, int depth) {
  if (depth > VALUE_DEPTH_MAX) return jinja_fail(r, HR_ERANGE, "values nested too deeply");
  if (jinja_step(r, 1)) return r->err_code;
  switch (v->type) {
  case JV_STR: return repr_str(r, v->u.s.ptr, v->u.s.len);
  case JV_UNDEFINED: return outs(r, "Undefined");
  case JV_LIST: {
    bool tuple = v->flags & JV_F_TUPLE;
    if (outs(r, tuple ? "(" : "[")) return r->err_code;
    for (size_t i = 0; i < v->u.list.n; i++) {
      if (i && outs(r, ", ")) return r->err_code;
      if (jinja_write_repr(r, v->u.list.items[i], depth + 1)) return r->err_code;
    }
    if (tuple && v->u.list.n == 1 && outs(r, ",")) return r->err_code;
    return outs(r, tuple ? ")" : "]");
  }
  case JV_DICT:
  case JV_NAMESPACE: {
    if (v->type == JV_NAMESPACE && outs(r, "<Namespace ")) return r->err_code;
    if (outs(r, "{")) return r->err_code;
    for (uint32_t i = 0; i < v->u.dict->n; i++) {
      if (i && outs(r, ", ")) return r->err_code;
      if (jinja_write_repr(r, v->u.dict->e[i].key, depth + 1) || outs(r, ": ") ||
          jinja_write_repr(r, v->u.dict->e[i].val, depth + 1))
        return r->err_code;
    }
    if (outs(r, "}")) return r->err_code;
    return v->type == JV_NAMESPACE ? outs(r, ">") : 0;
  }
  default: return jinja_write_str(r, v);
  }
}

int jinja_write_str(jinja_render *r, const jinja_value *v) {
  char buf[40];
  switch (v->type) {
  case JV_UNDEFINED: return 0;
  case JV_NONE: return outs(r, "None");
  case JV_BOOL: return outs(r, v->u.b ? "True" : "False");
  case JV_INT: snprintf(buf, sizeof buf, "%lld", (long long)v->u.i); return outs(r, buf);
  case JV_FLOAT: jinja_float_repr(v->u.f, buf); return outs(r, buf);
  case JV_STR: return jinja_out(r, v->u.s.ptr, v->u.s.len);
  case JV_LIST:
  case JV_DICT:
  case JV_NAMESPACE: return jinja_write_repr(r, v, 0);
  case JV_MACRO:
    if (outs(r, "<Macro '")) return r->err_code;
    if (jinja_out(r, v->u.macro.node->name.ptr, v->u.macro.node->name.len)) return r->err_code;
    return outs(r, "'>");
  case JV_LOOP:
    snprintf(buf, sizeof buf, "<LoopContext %zu/%zu>", v->u.loop->i + 1, v->u.loop->n);
    return outs(r, buf);
  default: return outs(r, "<built-in function>");
  }
}

static int json_str(jinja_render *r, const char *s, size_t n, bool ascii) {
  if (jinja_out(r, "\"", 1)) return r->err_code;
  const char *end = s + n, *run = s;
  while (s < end) {
    unsigned char c = (unsigned char)*s;
    const char *e = NULL;
    char esc[16];
    size_t k = 1;
    if (c == '"') e = "\\\"";
    else if (c == '\\') e = "\\\\";
    else if (c == '\n') e = "\\n";
    else if (c == '\r') e = "\\r";
    else if (c == '\t') e = "\\t";
    else if (c == '\b') e = "\\b";
    else if (c == '\f') e = "\\f";
    else if (c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      e = esc;
    } else if (c >= 0x80 && ascii) {
      uint32_t cp;
      k = jinja_utf8_dec(s, end, &cp);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
      } else {
        snprintf(esc, sizeof esc, "\\u%04x", cp);
      }
      e = esc;
    }
    if (e) {
      if (jinja_out(r, run, (size_t)(s - run)) || outs(r, e)) return r->err_code;
      s += k;
      run = s;
    } else {
      s++;
    }
  }
  if (jinja_out(r, run, (size_t)(s - run))) return r->err_code;
  return jinja_out(r, "\"", 1);
}

static int json_newline(jinja_render *r, const jinja_json_opts *o, int level) {
  if (jinja_out(r, "\n", 1)) return r->err_code;
  for (int i = 0; i < level; i++)
    if (jinja_out(r, o->indent, o->indent_len)) return r->err_code;
  return 0;
}

/* A JSON object key, as json.dumps converts non-string keys. */
static int json_key(jinja_render *r, const jinja_value *k, const jinja_json_opts *o) {
  char buf[40];
  switch (k->type) {
  case JV_STR: return json_str(r, k->u.s.ptr, k->u.s.len, o->ensure_ascii);
  case JV_BOOL: return outs(r, k->u.b ? "\"true\"" : "\"false\"");
  case JV_NONE: return outs(r, "\"null\"");
  case JV_INT: snprintf(buf, sizeof buf, "\"%lld\"", (long long)k->u.i); return outs(r, buf);
  case JV_FLOAT: {
    char f[32];
    jinja_float_repr(k->u.f, f);
    snprintf(buf, sizeof buf, "\"%s\"", f);
    return outs(r, buf);
  }
  default:
    return jinja_fail(r, HR_EFORMAT, "keys must be str, int, float, bool or None, not %s",
                      jinja_v_type_name(k));
  }
}

static int sort_entries(jinja_render *r, jinja_entry *e, uint32_t n) {
  /* insertion sort: small dicts; keys must be mutually orderable */
  for (uint32_t i = 1; i < n; i++) {
    jinja_entry x = e[i];
    uint32_t j = i;
    while (j > 0) {
      bool lt;
      if (jinja_v_less(r, x.key, e[j - 1].key, &lt)) return r->err_code;
      if (!lt) break;
      e[j] = e[j - 1];
      j--;
    }
    e[j] = x;
  }
  return jinja_step(r, (uint64_t)n * n);
}

int jinja_write_json(jinja_render *r, const jinja_value *v, const jinja_json_opts *o,
                     int depth) {
  if (depth > VALUE_DEPTH_MAX) return jinja_fail(r, HR_ERANGE, "values nested too deeply");
  if (jinja_step(r, 1)) return r->err_code;
  char buf[40];
  switch (v->type) {
  case JV_NONE: return outs(r, "null");
  case JV_BOOL: return outs(r, v->u.b ? "true" : "false");
  case JV_INT: snprintf(buf, sizeof buf, "%lld", (long long)v->u.i); return outs(r, buf);
  case JV_FLOAT:
    if (isnan(v->u.f)) return outs(r, "NaN");
    if (isinf(v->u.f)) return outs(r, v->u.f < 0 ? "-Infinity" : "Infinity");
    jinja_float_repr(v->u.f, buf);
    return outs(r, buf);
  case JV_STR: return json_str(r, v->u.s.ptr, v->u.s.len, o->ensure_ascii);
  case JV_LIST: {
    if (!v->u.list.n) return outs(r, "[]");
    if (outs(r, "[")) return r->err_code;
    for (size_t i = 0; i < v->u.list.n; i++) {
      if (i && outs(r, o->item_sep)) return r->err_code;
      if (o->indent && json_newline(r, o, depth + 1)) return r->err_code;
      if (jinja_write_json(r, v->u.list.items[i], o, depth + 1)) return r->err_code;
    }
    if (o->indent && json_newline(r, o, depth)) return r->err_code;
    return outs(r, "]");
  }
  case JV_DICT: {
    const jinja_dict *d = v->u.dict;
    if (!d->n) return outs(r, "{}");
    jinja_entry *e = d->e;
    if (o->sort_keys) {
      e = jinja_alloc(r, d->n * sizeof *e);
      if (!e) return r->err_code;
      memcpy(e, d->e, d->n * sizeof *e);
      if (sort_entries(r, e, d->n)) return r->err_code;
    }
    if (outs(r, "{")) return r->err_code;
    for (uint32_t i = 0; i < d->n; i++) {
      if (i && outs(r, o->item_sep)) return r->err_code;
      if (o->indent && json_newline(r, o, depth + 1)) return r->err_code;
      if (json_key(r, e[i].key, o) || outs(r, o->key_sep) ||
          jinja_write_json(r, e[i].val, o, depth + 1))
        return r->err_code;
    }
    if (o->indent && json_newline(r, o, depth)) return r->err_code;
    return outs(r, "}");
  }
  default:
    return jinja_fail(r, HR_EFORMAT, "Object of type %s is not JSON serializable", jinja_v_type_name(v));
  }
}

const jinja_value *jinja_take_out(jinja_render *r, size_t mark) {
  const jinja_value *s = jinja_v_str(r, r->out->data ? r->out->data + mark : "", r->out->len - mark);
  r->out->len = mark;
  if (r->out->data) r->out->data[mark] = 0;
  return s;
}

const jinja_value *jinja_to_str(jinja_render *r, const jinja_value *v) {
  if (v->type == JV_STR) return v;
  size_t mark = r->out->len;
  if (jinja_write_str(r, v)) {
    r->out->len = mark;
    return NULL;
  }
  return jinja_take_out(r, mark);
}

/* ---- from JSON and the public builders -------------------------------------------- */

static jinja_value *anew(hr_arena *a, int type) {
  jinja_value *v = hr_arena_calloc(a, 1, sizeof *v);
  if (v) v->type = (uint8_t)type;
  return v;
}

static jinja_value *from_json(hr_arena *a, const json_value *j, int depth) {
  if (depth > VALUE_DEPTH_MAX) return NULL;
  jinja_value *v;
  switch (j->type) {
  case JSON_NULL: return anew(a, JV_NONE);
  case JSON_TRUE:
  case JSON_FALSE:
    if ((v = anew(a, JV_BOOL))) v->u.b = j->type == JSON_TRUE;
    return v;
  case JSON_NUMBER:
    if (j->u.num.is_int) {
      if ((v = anew(a, JV_INT))) v->u.i = j->u.num.i;
    } else if ((v = anew(a, JV_FLOAT))) {
      v->u.f = j->u.num.d;
    }
    return v;
  case JSON_STRING: return jinja_string_new(a, j->u.str.ptr, j->u.str.len);
  case JSON_ARRAY:
    if (!(v = anew(a, JV_LIST))) return NULL;
    v->u.list.n = j->u.arr.n;
    if (j->u.arr.n) {
      v->u.list.items = hr_arena_alloc(a, j->u.arr.n * sizeof(void *));
      if (!v->u.list.items) return NULL;
      for (size_t i = 0; i < j->u.arr.n; i++)
        if (!(v->u.list.items[i] = from_json(a, j->u.arr.items[i], depth + 1))) return NULL;
    }
    return v;
  case JSON_OBJECT:
    if (!(v = jinja_dict_new(a))) return NULL;
    for (size_t i = 0; i < j->u.obj.n; i++) {
      const json_member *m = &j->u.obj.members[i];
      jinja_value *k = jinja_string_new(a, m->key.ptr, m->key.len);
      jinja_value *x = from_json(a, m->value, depth + 1);
      if (!k || !x || jinja_dict_put_a(a, v->u.dict, k, x)) return NULL;
    }
    return v;
  }
  return NULL;
}

jinja_value *jinja_from_json(hr_arena *a, const json_value *v) { return from_json(a, v, 0); }

jinja_value *jinja_dict_new(hr_arena *a) {
  jinja_value *v = anew(a, JV_DICT);
  if (!v) return NULL;
  v->u.dict = hr_arena_calloc(a, 1, sizeof(jinja_dict));
  return v->u.dict ? v : NULL;
}

int jinja_dict_set(hr_arena *a, jinja_value *dict, const char *key, const jinja_value *v) {
  if (!dict || dict->type != JV_DICT || !v) return HR_EINVAL;
  jinja_value *k = jinja_string_new(a, key, strlen(key));
  if (!k) return HR_ENOMEM;
  return jinja_dict_put_a(a, dict->u.dict, k, v);
}

jinja_value *jinja_string_new(hr_arena *a, const char *s, size_t n) {
  jinja_value *v = anew(a, JV_STR);
  char *p = v ? hr_arena_strndup(a, s, n) : NULL;
  if (!p) return NULL;
  v->u.s.ptr = p;
  v->u.s.len = n;
  return v;
}

jinja_value *jinja_bool_new(hr_arena *a, bool b) {
  jinja_value *v = anew(a, JV_BOOL);
  if (v) v->u.b = b;
  return v;
}

jinja_value *jinja_int_new(hr_arena *a, int64_t i) {
  jinja_value *v = anew(a, JV_INT);
  if (v) v->u.i = i;
  return v;
}
