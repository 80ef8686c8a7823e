/* jinja_builtins.c — what templates call: Jinja2's filters and tests, the
 * globals Hugging Face provides (range, namespace, dict, raise_exception,
 * strftime_now) and the method tables and dispatch for strings (the methods
 * themselves are in jinja_str.c), dicts (items, get...), lists and loop.
 *
 * Each follows the Python/Jinja2 3.1 behaviour it imitates, with the
 * sandbox's refusals kept (no mutating methods, range capped at 100000). */
#include "jinja_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool eq(const char *name, size_t len, const char *lit) {
  return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

static const jinja_value *list_of(jinja_render *r, const jinja_value **items, size_t n) {
  jinja_value *l = jinja_v_list(r, n);
  if (l && n) memcpy(l->u.list.items, items, n * sizeof *items);
  return l;
}

static const jinja_value *pair(jinja_render *r, const jinja_value *a, const jinja_value *b) {
  jinja_value *t = jinja_v_list(r, 2);
  if (!t) return NULL;
  t->flags = JV_F_TUPLE;
  t->u.list.items[0] = a;
  t->u.list.items[1] = b;
  return t;
}

/* ---- globals and methods ------------------------------------------------------------ */

static const struct {
  const char *name;
  uint16_t id;
} str_methods[] = {
    {"strip", M_STRIP}, {"lstrip", M_LSTRIP}, {"rstrip", M_RSTRIP}, {"split", M_SPLIT},
    {"rsplit", M_RSPLIT}, {"splitlines", M_SPLITLINES}, {"startswith", M_STARTSWITH},
    {"endswith", M_ENDSWITH}, {"upper", M_UPPER}, {"lower", M_LOWER}, {"title", M_TITLE},
    {"capitalize", M_CAPITALIZE}, {"swapcase", M_SWAPCASE}, {"casefold", M_CASEFOLD},
    {"replace", M_REPLACE}, {"find", M_FIND}, {"rfind", M_RFIND}, {"index", M_SINDEX},
    {"count", M_SCOUNT}, {"join", M_JOIN}, {"isdigit", M_ISDIGIT}, {"isnumeric", M_ISDIGIT},
    {"isdecimal", M_ISDIGIT}, {"isalpha", M_ISALPHA}, {"isalnum", M_ISALNUM},
    {"isspace", M_ISSPACE}, {"islower", M_ISLOWER}, {"isupper", M_ISUPPER},
    {"format", M_FORMAT}, {"center", M_CENTER}, {"ljust", M_LJUST}, {"rjust", M_RJUST},
    {"zfill", M_ZFILL}, {"partition", M_PARTITION}, {"rpartition", M_RPARTITION},
}, dict_methods[] = {
    {"items", M_ITEMS}, {"keys", M_KEYS}, {"values", M_VALUES}, {"get", M_GET}, {"copy", M_COPY},
}, list_methods[] = {
    {"index", M_LINDEX}, {"count", M_LCOUNT},
}, globals[] = {
    {"range", G_RANGE}, {"namespace", G_NAMESPACE}, {"dict", G_DICT},
    {"raise_exception", G_RAISE}, {"strftime_now", G_STRFTIME},
};

#define FIND_IN(table, name, len)                              \
  for (size_t i_ = 0; i_ < HR_ARRAY_LEN(table); i_++)          \
    if (eq(name, len, table[i_].name)) return jinja_v_func(r, table[i_].id, self)

const jinja_value *jinja_method(jinja_render *r, const jinja_value *self, const char *name,
                                size_t len) {
  switch (self->type) {
  case JV_STR: FIND_IN(str_methods, name, len); break;
  case JV_DICT: FIND_IN(dict_methods, name, len); break;
  case JV_LIST: FIND_IN(list_methods, name, len); break;
  case JV_LOOP:
    if (eq(name, len, "cycle")) return jinja_v_func(r, M_CYCLE, self);
    break;
  default: break;
  }
  return NULL;
}

const jinja_value *jinja_global(jinja_render *r, const char *name, size_t len) {
  const jinja_value *self = NULL;
  FIND_IN(globals, name, len);
  return NULL;
}

static const jinja_value *g_range(jinja_render *r, const jinja_args *a) {
  int64_t v[3] = {0, 0, 1};
  size_t n = a->n_pos;
  if (n < 1 || n > 3) return jinja_fail(r, HR_EFORMAT, "range expected 1 to 3 arguments"), NULL;
  for (size_t i = 0; i < n; i++)
    if (!jinja_get_int(a->pos[i], &v[n == 1 ? 1 : i])) return jinja_type_error(r, "range() arguments must be integers", a->pos[i]);
  if (v[2] == 0) return jinja_fail(r, HR_EFORMAT, "range() arg 3 must not be zero"), NULL;
  int64_t count = 0;
  if (v[2] > 0 && v[0] < v[1]) count = (int64_t)(((__int128)v[1] - v[0] - 1) / v[2] + 1);
  if (v[2] < 0 && v[0] > v[1]) count = (int64_t)(((__int128)v[0] - v[1] - 1) / -(__int128)v[2] + 1);
  if (count > 100000)
    return jinja_fail(r, HR_ERANGE, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)."), NULL;
  jinja_value *l = jinja_v_list(r, (size_t)count);
  if (!l || jinja_step(r, (uint64_t)count)) return NULL;
  for (int64_t i = 0; i < count; i++)
    if (!(l->u.list.items[i] = jinja_v_int(r, v[0] + i * v[2]))) return NULL;
  return l;
}

static const jinja_value *g_dictlike(jinja_render *r, const jinja_args *a, int type) {
  jinja_value *d = jinja_v_dict(r);
  if (!d) return NULL;
  d->type = (uint8_t)type;
  if (a->n_pos > 1) return jinja_fail(r, HR_EFORMAT, "expected at most 1 positional argument"), NULL;
  if (a->n_pos) {
    const jinja_value *src = a->pos[0];
    if (src->type == JV_DICT) {
      for (uint32_t i = 0; i < src->u.dict->n; i++)
        if (jinja_dict_put(r, d->u.dict, src->u.dict->e[i].key, src->u.dict->e[i].val)) return NULL;
    } else {
      const jinja_value **items;
      size_t n;
      if (jinja_iterate(r, src, &items, &n)) return NULL;
      for (size_t i = 0; i < n; i++) {
        if (items[i]->type != JV_LIST || items[i]->u.list.n != 2)
          return jinja_fail(r, HR_EFORMAT, "dictionary update sequence element has wrong length"), NULL;
        if (jinja_dict_put(r, d->u.dict, items[i]->u.list.items[0], items[i]->u.list.items[1])) return NULL;
      }
    }
  }
  for (size_t k = 0; k < a->n_kw; k++) {
    const jinja_value *key = jinja_v_str_ref(r, a->kw_names[k].ptr, a->kw_names[k].len);
    if (!key || jinja_dict_put(r, d->u.dict, key, a->kw[k])) return NULL;
  }
  return d;
}

static const jinja_value *dict_view(jinja_render *r, const jinja_value *d, int id) {
  const jinja_dict *dd = d->u.dict;
  jinja_value *l = jinja_v_list(r, dd->n);
  if (!l || jinja_step(r, dd->n)) return NULL;
  for (uint32_t i = 0; i < dd->n; i++) {
    const jinja_value *v = id == M_KEYS ? dd->e[i].key : id == M_VALUES ? dd->e[i].val : pair(r, dd->e[i].key, dd->e[i].val);
    if (!v) return NULL;
    l->u.list.items[i] = v;
  }
  return l;
}

const jinja_value *jinja_call_builtin(jinja_render *r, const jinja_value *fn,
                                      const jinja_args *a) {
  const jinja_value *self = fn->u.fn.self, *x0 = jinja_arg(a, 0, NULL), *x1 = jinja_arg(a, 1, NULL);
  int64_t w;
  switch (fn->fn) {
  case M_STRIP: return jinja_strip(r, self, x0 ? x0 : jinja_arg(a, 0, "chars"), true, true);
  case M_LSTRIP: return jinja_strip(r, self, x0, true, false);
  case M_RSTRIP: return jinja_strip(r, self, x0, false, true);
  case M_SPLIT:
  case M_RSPLIT:
    return jinja_split(r, self, jinja_arg(a, 0, "sep"), jinja_arg(a, 1, "maxsplit"), fn->fn == M_RSPLIT);
  case M_SPLITLINES: {
    const jinja_value *k = jinja_arg(a, 0, "keepends");
    return jinja_splitlines(r, self, k && jinja_v_truthy(k));
  }
  case M_STARTSWITH: return jinja_affix(r, self, a, false);
  case M_ENDSWITH: return jinja_affix(r, self, a, true);
  case M_UPPER: return jinja_case(r, self, CASE_UPPER);
  case M_LOWER:
  case M_CASEFOLD: return jinja_case(r, self, CASE_LOWER);
  case M_TITLE: return jinja_case(r, self, CASE_TITLE);
  case M_CAPITALIZE: return jinja_case(r, self, CASE_CAPITALIZE);
  case M_SWAPCASE: return jinja_case(r, self, CASE_SWAP);
  case M_REPLACE:
    if (!jinja_need_str(r, x0, "replace() argument 1 must be str") || !jinja_need_str(r, x1, "replace() argument 2 must be str"))
      return NULL;
    return jinja_replace(r, self, x0, x1, jinja_arg(a, 2, "count"));
  case M_FIND: return jinja_find(r, self, a, false, false);
  case M_RFIND: return jinja_find(r, self, a, true, false);
  case M_SINDEX: return jinja_find(r, self, a, false, true);
  case M_SCOUNT: {
    const jinja_value *sub = jinja_need_str(r, x0, "must be str");
    if (!sub) return NULL;
    if (!sub->u.s.len) return jinja_v_int(r, (int64_t)jinja_cp_count(self->u.s.ptr, self->u.s.len) + 1);
    int64_t c = 0;
    const char *p = self->u.s.ptr, *e = p + self->u.s.len, *hit;
    while ((hit = memmem(p, (size_t)(e - p), sub->u.s.ptr, sub->u.s.len))) {
      c++;
      p = hit + sub->u.s.len;
    }
    return jinja_v_int(r, c);
  }
  case M_JOIN:
    if (!x0) return jinja_fail(r, HR_EFORMAT, "join() takes exactly one argument"), NULL;
    return jinja_join(r, self, x0, NULL, false);
  case M_ISDIGIT: case M_ISALPHA: case M_ISALNUM: case M_ISSPACE: case M_ISLOWER: case M_ISUPPER:
    return jinja_str_pred(r, self, fn->fn);
  case M_FORMAT: return jinja_str_format(r, self, a);
  case M_CENTER:
  case M_LJUST:
  case M_RJUST:
    if (!jinja_get_int(x0, &w)) return jinja_type_error(r, "width must be an integer", x0 ? x0 : &jinja_none_v);
    return jinja_pad(r, self, w, x1, fn->fn == M_CENTER ? 0 : fn->fn == M_LJUST ? -1 : 1);
  case M_ZFILL: {
    if (!jinja_get_int(x0, &w)) return jinja_type_error(r, "width must be an integer", x0 ? x0 : &jinja_none_v);
    int64_t n = (int64_t)jinja_cp_count(self->u.s.ptr, self->u.s.len);
    if (w <= n) return self;
    if ((uint64_t)w > r->out_max) return jinja_fail(r, HR_ERANGE, "width too large"), NULL;
    size_t mark = r->out->len;
    bool sign = self->u.s.len && (self->u.s.ptr[0] == '-' || self->u.s.ptr[0] == '+');
    if (sign && jinja_out(r, self->u.s.ptr, 1)) return NULL;
    for (int64_t i = n; i < w; i++)
      if (jinja_out(r, "0", 1)) return r->out->len = mark, NULL;
    if (jinja_out(r, self->u.s.ptr + sign, self->u.s.len - sign)) return r->out->len = mark, NULL;
    return jinja_take_out(r, mark);
  }
  case M_PARTITION: return jinja_partition(r, self, x0, false);
  case M_RPARTITION: return jinja_partition(r, self, x0, true);
  case M_ITEMS:
  case M_KEYS:
  case M_VALUES: return dict_view(r, self, fn->fn);
  case M_GET: {
    if (!x0) return jinja_fail(r, HR_EFORMAT, "get expected at least 1 argument, got 0"), NULL;
    const jinja_value *v = jinja_dict_get(self->u.dict, x0);
    return v ? v : x1 ? x1 : &jinja_none_v;
  }
  case M_COPY: return self;
  case M_LINDEX:
  case M_LCOUNT: {
    if (!x0) return jinja_fail(r, HR_EFORMAT, "expected 1 argument"), NULL;
    int64_t c = 0;
    for (size_t i = 0; i < self->u.list.n; i++)
      if (jinja_v_equal(self->u.list.items[i], x0)) {
        if (fn->fn == M_LINDEX) return jinja_v_int(r, (int64_t)i);
        c++;
      }
    if (jinja_step(r, self->u.list.n)) return NULL;
    if (fn->fn == M_LINDEX) return jinja_fail(r, HR_EFORMAT, "value is not in list"), NULL;
    return jinja_v_int(r, c);
  }
  case M_CYCLE:
    if (!a->n_pos) return jinja_fail(r, HR_EFORMAT, "no items for cycling given"), NULL;
    return a->pos[self->u.loop->i % a->n_pos];
  case G_RANGE: return g_range(r, a);
  case G_NAMESPACE: return g_dictlike(r, a, JV_NAMESPACE);
  case G_DICT: return g_dictlike(r, a, JV_DICT);
  case G_RAISE: {
    const jinja_value *m = x0 ? jinja_to_str(r, x0) : jinja_v_str_ref(r, "", 0);
    if (m) jinja_raise(r, m->u.s.ptr, m->u.s.len);
    return NULL;
  }
  case G_STRFTIME: return jinja_strftime(r, x0 ? x0 : jinja_arg(a, 0, "format"));
  default: return jinja_fail(r, HR_EFORMAT, "unknown built-in"), NULL;
  }
}

/* ---- attribute paths, sorting ----------------------------------------------------------- */

/* Jinja2's make_attrgetter: "a.b.0" walks item by item; NULL after failing. */
static const jinja_value *attr_path(jinja_render *r, const jinja_value *item, const jinja_value *attr) {
  if (attr->type != JV_STR) return jinja_getitem(r, item, attr);
  const char *p = attr->u.s.ptr, *e = p + attr->u.s.len;
  while (item) {
    const char *dot = memchr(p, '.', (size_t)(e - p));
    const char *pe = dot ? dot : e;
    bool digits = pe > p;
    for (const char *q = p; q < pe; q++) digits &= jinja_cp_digit((unsigned char)*q);
    const jinja_value *key = digits ? jinja_v_int(r, strtoll(p, NULL, 10)) : jinja_v_str_ref(r, p, (size_t)(pe - p));
    if (!key) return NULL;
    item = jinja_getitem(r, item, key);
    if (!dot) break;
    p = dot + 1;
  }
  return item;
}

typedef struct {
  const jinja_value *key, *item;
} sort_rec;

static const jinja_value *fold_case(jinja_render *r, const jinja_value *v, bool case_sensitive) {
  return (!case_sensitive && v->type == JV_STR) ? jinja_case(r, v, CASE_LOWER) : v;
}

/* Stable merge sort on keys; 0 or the comparison's error. */
static int merge_sort(jinja_render *r, sort_rec *v, size_t n, bool reverse) {
  if (n < 2) return 0;
  sort_rec *tmp = jinja_alloc(r, n * sizeof *tmp);
  if (!tmp) return r->err_code;
  for (size_t width = 1; width < n; width *= 2) {
    if (jinja_step(r, n)) return r->err_code;
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = HR_MIN(lo + width, n), hi = HR_MIN(lo + 2 * width, n), i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        bool lt;
        /* take from the right only when strictly before: keeps stability */
        if (reverse ? jinja_v_less(r, v[i].key, v[j].key, &lt) : jinja_v_less(r, v[j].key, v[i].key, &lt))
          return r->err_code;
        tmp[k++] = lt ? v[j++] : v[i++];
      }
      while (i < mid) tmp[k++] = v[i++];
      while (j < hi) tmp[k++] = v[j++];
    }
    memcpy(v, tmp, n * sizeof *v);
  }
  return 0;
}

/* ---- filters ------------------------------------------------------------------------------- */

typedef const jinja_value *(*filter_fn)(jinja_render *r, const jinja_value *in, const jinja_args *a);

static const jinja_value *f_tojson(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *ind = jinja_arg(a, 0, "indent"), *asc = jinja_arg(a, 1, "ensure_ascii");
  const jinja_value *seps = jinja_arg(a, 2, "separators"), *sk = jinja_arg(a, 3, "sort_keys");
  /* Hugging Face's signature is tojson(x, ensure_ascii, indent, separators,
   * sort_keys) but every template passes these by keyword or passes only an
   * indent; a lone positional is treated as the indent, as Jinja2's own. */
  if (a->n_pos > 1) asc = NULL;
  jinja_json_opts o = {.item_sep = ", ", .key_sep = ": "};
  char spaces[64];
  if (ind && ind->type != JV_NONE) {
    int64_t n;
    if (ind->type == JV_STR) {
      o.indent = ind->u.s.ptr;
      o.indent_len = ind->u.s.len;
    } else if (jinja_get_int(ind, &n)) {
      if (n > (int64_t)sizeof spaces) n = sizeof spaces;
      if (n < 0) n = 0;
      memset(spaces, ' ', (size_t)n);
      o.indent = spaces;
      o.indent_len = (size_t)n;
    } else {
      return jinja_type_error(r, "indent must be an int or str", ind);
    }
    o.item_sep = ",";
  }
  if (seps && seps->type == JV_LIST && seps->u.list.n == 2 && seps->u.list.items[0]->type == JV_STR &&
      seps->u.list.items[1]->type == JV_STR) {
    o.item_sep = seps->u.list.items[0]->u.s.ptr;
    o.key_sep = seps->u.list.items[1]->u.s.ptr;
  }
  o.ensure_ascii = asc && jinja_v_truthy(asc);
  o.sort_keys = sk && jinja_v_truthy(sk);
  size_t mark = r->out->len;
  if (jinja_write_json(r, in, &o, 0)) {
    r->out->len = mark;
    return NULL;
  }
  return jinja_take_out(r, mark);
}

static const jinja_value *f_trim(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *s = jinja_to_str(r, in);
  return s ? jinja_strip(r, s, jinja_arg(a, 0, "chars"), true, true) : NULL;
}

static const jinja_value *f_length(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  switch (in->type) {
  case JV_UNDEFINED: return jinja_v_int(r, 0);
  case JV_STR: return jinja_v_int(r, (int64_t)jinja_cp_count(in->u.s.ptr, in->u.s.len));
  case JV_LIST: return jinja_v_int(r, (int64_t)in->u.list.n);
  case JV_DICT: return jinja_v_int(r, (int64_t)in->u.dict->n);
  case JV_LOOP: return jinja_v_int(r, (int64_t)in->u.loop->n);
  default: jinja_fail(r, HR_EFORMAT, "object of type '%s' has no len()", jinja_v_type_name(in)); return NULL;
  }
}

static const jinja_value *f_string(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  return jinja_to_str(r, in);
}

static const jinja_value *case_filter(jinja_render *r, const jinja_value *in, int mode) {
  const jinja_value *s = jinja_to_str(r, in);
  return s ? jinja_case(r, s, mode) : NULL;
}
static const jinja_value *f_lower(jinja_render *r, const jinja_value *in, const jinja_args *a) { return case_filter(r, in, CASE_LOWER); }
static const jinja_value *f_upper(jinja_render *r, const jinja_value *in, const jinja_args *a) { return case_filter(r, in, CASE_UPPER); }
static const jinja_value *f_capitalize(jinja_render *r, const jinja_value *in, const jinja_args *a) { return case_filter(r, in, CASE_CAPITALIZE); }
static const jinja_value *f_title(jinja_render *r, const jinja_value *in, const jinja_args *a) { return case_filter(r, in, CASE_JTITLE); }

static const jinja_value *f_replace(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *s = jinja_to_str(r, in), *old = jinja_arg(a, 0, "old"), *new = jinja_arg(a, 1, "new");
  if (!s || !old || !new) return s ? jinja_fail(r, HR_EFORMAT, "replace needs old and new"), NULL : NULL;
  if (!(old = jinja_to_str(r, old)) || !(new = jinja_to_str(r, new))) return NULL;
  return jinja_replace(r, s, old, new, jinja_arg(a, 2, "count"));
}

static const jinja_value *f_join(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *d = jinja_arg(a, 0, "d"), *attr = jinja_arg(a, 1, "attribute");
  if (d && !(d = jinja_to_str(r, d))) return NULL;
  if (!d) d = jinja_v_str_ref(r, "", 0);
  if (!d) return NULL;
  if (!attr || attr->type == JV_NONE) return jinja_join(r, d, in, NULL, true);
  /* attribute paths: map each item first */
  const jinja_value **items;
  size_t n;
  if (jinja_iterate(r, in, &items, &n)) return NULL;
  jinja_value *l = jinja_v_list(r, n);
  if (!l) return NULL;
  for (size_t i = 0; i < n; i++)
    if (!(l->u.list.items[i] = attr_path(r, items[i], attr))) return NULL;
  return jinja_join(r, d, l, NULL, true);
}

static const jinja_value *f_first(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value **items;
  size_t n;
  if (in->type == JV_STR && in->u.s.len) return jinja_getitem(r, in, jinja_v_int(r, 0));
  if (in->type == JV_STR) return jinja_v_undef(r, "No first item, sequence was empty.", 34, 0xff, false);
  if (jinja_iterate(r, in, &items, &n)) return NULL;
  return n ? items[0] : jinja_v_undef(r, "No first item, sequence was empty.", 34, 0xff, false);
}

static const jinja_value *f_last(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value **items;
  size_t n;
  if (in->type == JV_STR && in->u.s.len) return jinja_getitem(r, in, jinja_v_int(r, -1));
  if (in->type == JV_STR) return jinja_v_undef(r, "No last item, sequence was empty.", 33, 0xff, false);
  if (jinja_iterate(r, in, &items, &n)) return NULL;
  return n ? items[n - 1] : jinja_v_undef(r, "No last item, sequence was empty.", 33, 0xff, false);
}

static const jinja_value *f_default(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *d = jinja_arg(a, 0, "default_value"), *b = jinja_arg(a, 1, "boolean");
  if (in->type == JV_UNDEFINED || (b && jinja_v_truthy(b) && !jinja_v_truthy(in)))
    return d ? d : jinja_v_str_ref(r, "", 0);
  return in;
}

static const jinja_value *f_items(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  if (in->type == JV_UNDEFINED) return jinja_v_list(r, 0);
  if (in->type != JV_DICT) return jinja_fail(r, HR_EFORMAT, "Can only get item pairs from a mapping."), NULL;
  return dict_view(r, in, M_ITEMS);
}

static const jinja_value *f_list(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value **items;
  size_t n;
  if (jinja_iterate(r, in, &items, &n)) return NULL;
  return list_of(r, items, n);
}

/* map(attribute=..., default=...) or map('filter', args...) */
static const jinja_value *f_map(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value **items;
  size_t n;
  if (!jinja_v_truthy(in)) return jinja_v_list(r, 0); /* Jinja2: "if value:" */
  if (jinja_iterate(r, in, &items, &n)) return NULL;
  jinja_value *l = jinja_v_list(r, n);
  if (!l || jinja_step(r, n)) return NULL;
  const jinja_value *attr = NULL, *def = NULL;
  for (size_t k = 0; k < a->n_kw; k++) {
    if (hr_str_eq_cstr(a->kw_names[k], "attribute")) attr = a->kw[k];
    else if (hr_str_eq_cstr(a->kw_names[k], "default")) def = a->kw[k];
  }
  if (!attr && !a->n_pos) return jinja_fail(r, HR_EFORMAT, "map requires a filter argument"), NULL;
  const jinja_value *fname = attr ? NULL : jinja_need_str(r, a->pos[0], "map filter name must be a string");
  if (!attr && !fname) return NULL;
  jinja_args sub = {a->pos ? a->pos + 1 : NULL, a->n_pos ? a->n_pos - 1 : 0, a->kw_names, a->kw, a->n_kw};
  for (size_t i = 0; i < n; i++) {
    const jinja_value *v;
    if (attr) {
      v = attr_path(r, items[i], attr);
      if (v && v->type == JV_UNDEFINED && def) v = def;
    } else {
      v = jinja_filter(r, fname->u.s.ptr, fname->u.s.len, items[i], &sub);
    }
    if (!v) return NULL;
    l->u.list.items[i] = v;
  }
  return l;
}

/* select/reject/selectattr/rejectattr */
static const jinja_value *select_common(jinja_render *r, const jinja_value *in, const jinja_args *a,
                                        bool want, bool by_attr) {
  const jinja_value **items;
  size_t n;
  if (!jinja_v_truthy(in)) return jinja_v_list(r, 0); /* Jinja2: "if value:" */
  if (jinja_iterate(r, in, &items, &n) || jinja_step(r, n)) return NULL;
  size_t off = 0;
  const jinja_value *attr = NULL;
  if (by_attr) {
    if (!(attr = jinja_arg(a, 0, NULL))) return jinja_fail(r, HR_EFORMAT, "Missing parameter for attribute name"), NULL;
    off = 1;
  }
  const jinja_value *tname = jinja_arg(a, off, NULL);
  if (tname && !jinja_need_str(r, tname, "test name must be a string")) return NULL;
  jinja_args sub = {a->n_pos > off + 1 ? a->pos + off + 1 : NULL, a->n_pos > off + 1 ? a->n_pos - off - 1 : 0,
                    a->kw_names, a->kw, a->n_kw};
  jinja_value *l = jinja_v_list(r, 0);
  size_t cap = 0;
  if (!l) return NULL;
  for (size_t i = 0; i < n; i++) {
    const jinja_value *v = attr ? attr_path(r, items[i], attr) : items[i];
    if (!v) return NULL;
    bool res;
    if (tname) {
      if (jinja_test(r, tname->u.s.ptr, tname->u.s.len, v, &sub, &res)) return NULL;
    } else {
      res = jinja_v_truthy(v);
    }
    if (res == want && !jinja_list_push(r, l, &cap, items[i])) return NULL;
  }
  return l;
}
static const jinja_value *f_select(jinja_render *r, const jinja_value *in, const jinja_args *a) { return select_common(r, in, a, true, false); }
static const jinja_value *f_reject(jinja_render *r, const jinja_value *in, const jinja_args *a) { return select_common(r, in, a, false, false); }
static const jinja_value *f_selectattr(jinja_render *r, const jinja_value *in, const jinja_args *a) { return select_common(r, in, a, true, true); }
static const jinja_value *f_rejectattr(jinja_render *r, const jinja_value *in, const jinja_args *a) { return select_common(r, in, a, false, true); }

static const jinja_value *f_safe(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *s = jinja_to_str(r, in);
  if (!s || (s->flags & JV_F_SAFE)) return s;
  jinja_value *v = (jinja_value *)jinja_v_str_ref(r, s->u.s.ptr, s->u.s.len);
  if (v) v->flags |= JV_F_SAFE;
  return v;
}

static const jinja_value *f_escape(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *s = jinja_to_str(r, in);
  if (!s || (s->flags & JV_F_SAFE)) return s;
  size_t mark = r->out->len;
  for (size_t i = 0; i < s->u.s.len; i++) {
    char c = s->u.s.ptr[i];
    const char *e = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '\'' ? "&#39;" : c == '"' ? "&#34;" : NULL;
    if (e ? jinja_out(r, e, strlen(e)) : jinja_out(r, &c, 1)) return r->out->len = mark, NULL;
  }
  jinja_value *v = (jinja_value *)jinja_take_out(r, mark);
  if (v) v->flags |= JV_F_SAFE;
  return v;
}

/* Python float(str): strips white space, accepts inf/nan/underscores. */
static bool parse_float(const jinja_value *s, double *out) {
  const char *p = s->u.s.ptr, *e = p + s->u.s.len;
  size_t k;
  while (p < e && (k = jinja_space_fwd(p, e))) p += k;
  while (e > p && (k = jinja_space_back(p, e))) e -= k;
  if (p == e || e - p > 300) return false;
  char buf[320];
  size_t n = 0;
  for (const char *q = p; q < e; q++) {
    if (*q == '_') {
      if (q == p || q + 1 == e || !jinja_cp_digit((unsigned char)q[-1]) || !jinja_cp_digit((unsigned char)q[1])) return false;
      continue;
    }
    if (!strchr("0123456789+-.eEinfatyINFATY", *q)) return false;
    buf[n++] = *q;
  }
  buf[n] = 0;
  char *end;
  *out = strtod(buf, &end);
  return end == buf + n && !(n >= 2 && (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')));
}

static bool parse_int(const jinja_value *s, int base, int64_t *out) {
  const char *p = s->u.s.ptr, *e = p + s->u.s.len;
  size_t k;
  while (p < e && (k = jinja_space_fwd(p, e))) p += k;
  while (e > p && (k = jinja_space_back(p, e))) e -= k;
  bool neg = false;
  if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
  if (p == e) return false;
  if (base == 16 && e - p > 2 && p[0] == '0' && (p[1] | 32) == 'x') p += 2;
  uint64_t v = 0;
  bool prev_digit = false;
  for (; p < e; p++) {
    if (*p == '_' && prev_digit && p + 1 < e) {
      prev_digit = false;
      continue;
    }
    int d = jinja_cp_digit((unsigned char)*p) ? *p - '0' : ((*p | 32) >= 'a' && (*p | 32) <= 'z') ? (*p | 32) - 'a' + 10 : 99;
    if (d >= base) return false;
    if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
    v = v * (uint64_t)base + (uint64_t)d;
    prev_digit = true;
  }
  if (!prev_digit || v > (uint64_t)INT64_MAX + neg) return false;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return true;
}

static const jinja_value *f_int(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *def = jinja_arg(a, 0, "default"), *vb = jinja_arg(a, 1, "base");
  int64_t base = 10, i;
  if (vb && !jinja_get_int(vb, &base)) return jinja_type_error(r, "base must be an integer", vb);
  if (base < 2 || base > 36) base = 10;
  double f;
  switch (in->type) {
  case JV_INT: return in;
  case JV_BOOL: return jinja_v_int(r, in->u.b);
  case JV_FLOAT:
    if (isfinite(in->u.f) && fabs(in->u.f) < 9.2e18) return jinja_v_int(r, (int64_t)in->u.f);
    break;
  case JV_STR:
    if (parse_int(in, (int)base, &i)) return jinja_v_int(r, i);
    if (parse_float(in, &f) && isfinite(f) && fabs(f) < 9.2e18) return jinja_v_int(r, (int64_t)f);
    break;
  case JV_UNDEFINED: jinja_fail(r, HR_EFORMAT, "'%.*s' is undefined", (int)in->u.undef.len, in->u.undef.name ? in->u.undef.name : ""); return NULL;
  default: break;
  }
  return def ? def : jinja_v_int(r, 0);
}

static const jinja_value *f_float(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *def = jinja_arg(a, 0, "default");
  double f;
  if (in->type == JV_FLOAT) return in;
  if (in->type == JV_INT || in->type == JV_BOOL) return jinja_v_float(r, jinja_v_num(in));
  if (in->type == JV_STR && parse_float(in, &f)) return jinja_v_float(r, f);
  return def ? def : jinja_v_float(r, 0.0);
}

static const jinja_value *f_round(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *vp = jinja_arg(a, 0, "precision"), *vm = jinja_arg(a, 1, "method");
  int64_t prec = 0;
  if (vp && !jinja_get_int(vp, &prec)) return jinja_type_error(r, "precision must be an integer", vp);
  if (!jinja_v_is_num(in)) return jinja_type_error(r, "round needs a number", in);
  const char *method = vm && vm->type == JV_STR ? vm->u.s.ptr : "common";
  if (strcmp(method, "common") && strcmp(method, "ceil") && strcmp(method, "floor"))
    return jinja_fail(r, HR_EFORMAT, "method must be common, ceil or floor"), NULL;
  if (!strcmp(method, "common") && in->type != JV_FLOAT) return in->type == JV_BOOL ? jinja_v_int(r, in->u.b) : in;
  double x = jinja_v_num(in);
  if (prec > 300) prec = 300;
  if (prec < -300) prec = -300;
  if (!strcmp(method, "common")) {
    if (!isfinite(x)) return jinja_v_float(r, x);
    if (prec >= 0) {
      char buf[400];
      snprintf(buf, sizeof buf, "%.*f", (int)prec, x);
      return jinja_v_float(r, strtod(buf, NULL));
    }
    double m = pow(10, (double)-prec), y = x / m, ry = nearbyint(y);
    return jinja_v_float(r, ry * m);
  }
  double m = pow(10, (double)prec);
  return jinja_v_float(r, (!strcmp(method, "ceil") ? ceil(x * m) : floor(x * m)) / m);
}

static const jinja_value *f_abs(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  if (in->type == JV_FLOAT) return jinja_v_float(r, fabs(in->u.f));
  if (in->type == JV_INT || in->type == JV_BOOL) {
    int64_t i = in->type == JV_BOOL ? in->u.b : in->u.i;
    if (i == INT64_MIN) return jinja_fail(r, HR_EFORMAT, "integer overflow"), NULL;
    return jinja_v_int(r, i < 0 ? -i : i);
  }
  return jinja_type_error(r, "bad operand type for abs()", in);
}

static const jinja_value *keyed(jinja_render *r, const jinja_value *item, const jinja_value *attr, bool cs) {
  const jinja_value *k = attr && attr->type != JV_NONE ? attr_path(r, item, attr) : item;
  return k ? fold_case(r, k, cs) : NULL;
}

static const jinja_value *f_unique(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *cs = jinja_arg(a, 0, "case_sensitive"), *attr = jinja_arg(a, 1, "attribute");
  const jinja_value **items;
  size_t n;
  if (jinja_iterate(r, in, &items, &n) || jinja_step(r, n)) return NULL;
  jinja_value *seen = jinja_v_dict(r);
  jinja_value *l = jinja_v_list(r, 0);
  size_t cap = 0;
  if (!seen || !l) return NULL;
  for (size_t i = 0; i < n; i++) {
    const jinja_value *k = keyed(r, items[i], attr, cs && jinja_v_truthy(cs));
    if (!k) return NULL;
    if (jinja_dict_get(seen->u.dict, k)) continue;
    if (jinja_dict_put(r, seen->u.dict, k, &jinja_true_v) || !jinja_list_push(r, l, &cap, items[i])) return NULL;
  }
  return l;
}

static const jinja_value *f_sort(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *rev = jinja_arg(a, 0, "reverse"), *cs = jinja_arg(a, 1, "case_sensitive"),
                    *attr = jinja_arg(a, 2, "attribute");
  const jinja_value **items;
  size_t n;
  if (jinja_iterate(r, in, &items, &n)) return NULL;
  sort_rec *v = n ? jinja_alloc(r, n * sizeof *v) : NULL;
  if (n && !v) return NULL;
  for (size_t i = 0; i < n; i++) {
    v[i].item = items[i];
    if (!(v[i].key = keyed(r, items[i], attr, cs && jinja_v_truthy(cs)))) return NULL;
  }
  if (merge_sort(r, v, n, rev && jinja_v_truthy(rev))) return NULL;
  jinja_value *l = jinja_v_list(r, n);
  if (!l) return NULL;
  for (size_t i = 0; i < n; i++) l->u.list.items[i] = v[i].item;
  return l;
}

static const jinja_value *f_dictsort(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *cs = jinja_arg(a, 0, "case_sensitive"), *by = jinja_arg(a, 1, "by"),
                    *rev = jinja_arg(a, 2, "reverse");
  if (in->type != JV_DICT) return jinja_type_error(r, "dictsort needs a mapping", in);
  bool by_value = by && by->type == JV_STR && !strcmp(by->u.s.ptr, "value");
  const jinja_dict *d = in->u.dict;
  sort_rec *v = d->n ? jinja_alloc(r, d->n * sizeof *v) : NULL;
  if (d->n && !v) return NULL;
  for (uint32_t i = 0; i < d->n; i++) {
    if (!(v[i].item = pair(r, d->e[i].key, d->e[i].val))) return NULL;
    if (!(v[i].key = fold_case(r, by_value ? d->e[i].val : d->e[i].key, cs && jinja_v_truthy(cs)))) return NULL;
  }
  if (merge_sort(r, v, d->n, rev && jinja_v_truthy(rev))) return NULL;
  jinja_value *l = jinja_v_list(r, d->n);
  if (!l) return NULL;
  for (uint32_t i = 0; i < d->n; i++) l->u.list.items[i] = v[i].item;
  return l;
}

static const jinja_value *minmax(jinja_render *r, const jinja_value *in, const jinja_args *a, bool want_max) {
  const jinja_value *cs = jinja_arg(a, 0, "case_sensitive"), *attr = jinja_arg(a, 1, "attribute");
  const jinja_value **items;
  size_t n;
  if (jinja_iterate(r, in, &items, &n) || jinja_step(r, n)) return NULL;
  if (!n) return jinja_v_undef(r, "No aggregated item, sequence was empty.", 39, 0xff, false);
  const jinja_value *best = items[0], *bk = keyed(r, items[0], attr, cs && jinja_v_truthy(cs));
  for (size_t i = 1; i < n && bk; i++) {
    const jinja_value *k = keyed(r, items[i], attr, cs && jinja_v_truthy(cs));
    bool lt;
    if (!k || (want_max ? jinja_v_less(r, bk, k, &lt) : jinja_v_less(r, k, bk, &lt))) return NULL;
    if (lt) {
      best = items[i];
      bk = k;
    }
  }
  return bk ? best : NULL;
}
static const jinja_value *f_min(jinja_render *r, const jinja_value *in, const jinja_args *a) { return minmax(r, in, a, false); }
static const jinja_value *f_max(jinja_render *r, const jinja_value *in, const jinja_args *a) { return minmax(r, in, a, true); }

static const jinja_value *arith_add(jinja_render *r, const jinja_value *x, const jinja_value *y) {
  if (x->type != JV_FLOAT && y->type != JV_FLOAT && jinja_v_is_num(x) && jinja_v_is_num(y)) {
    int64_t s;
    int64_t xi = x->type == JV_BOOL ? x->u.b : x->u.i, yi = y->type == JV_BOOL ? y->u.b : y->u.i;
    if (__builtin_add_overflow(xi, yi, &s)) return jinja_fail(r, HR_EFORMAT, "integer overflow"), NULL;
    return jinja_v_int(r, s);
  }
  if (jinja_v_is_num(x) && jinja_v_is_num(y)) return jinja_v_float(r, jinja_v_num(x) + jinja_v_num(y));
  return jinja_fail(r, HR_EFORMAT, "unsupported operand type(s) for +: '%s' and '%s'", jinja_v_type_name(x), jinja_v_type_name(y)), NULL;
}

static const jinja_value *f_sum(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *attr = jinja_arg(a, 0, "attribute"), *start = jinja_arg(a, 1, "start");
  const jinja_value **items;
  size_t n;
  if (jinja_iterate(r, in, &items, &n) || jinja_step(r, n)) return NULL;
  const jinja_value *acc = start ? start : jinja_v_int(r, 0);
  for (size_t i = 0; i < n && acc; i++) {
    const jinja_value *v = attr && attr->type != JV_NONE ? attr_path(r, items[i], attr) : items[i];
    acc = v ? arith_add(r, acc, v) : NULL;
  }
  return acc;
}

static const jinja_value *f_reverse(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  if (in->type == JV_STR) {
    size_t mark = r->out->len;
    const char *b = in->u.s.ptr, *e = b + in->u.s.len;
    while (e > b) {
      const char *q = e - 1;
      while (q > b && ((unsigned char)*q & 0xC0) == 0x80) q--;
      if (jinja_out(r, q, (size_t)(e - q))) return r->out->len = mark, NULL;
      e = q;
    }
    return jinja_take_out(r, mark);
  }
  const jinja_value **items;
  size_t n;
  if (jinja_iterate(r, in, &items, &n)) return NULL;
  jinja_value *l = jinja_v_list(r, n);
  if (!l) return NULL;
  for (size_t i = 0; i < n; i++) l->u.list.items[i] = items[n - 1 - i];
  return l;
}

static const jinja_value *f_indent(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *vw = jinja_arg(a, 0, "width"), *vf = jinja_arg(a, 1, "first"), *vb = jinja_arg(a, 2, "blank");
  const jinja_value *s = jinja_to_str(r, in);
  if (!s) return NULL;
  const char *ind = "    ";
  size_t ind_len = 4;
  int64_t w;
  if (vw && vw->type == JV_STR) {
    ind = vw->u.s.ptr;
    ind_len = vw->u.s.len;
  } else if (vw) {
    if (!jinja_get_int(vw, &w)) return jinja_type_error(r, "indent width must be an int or str", vw);
    if (w < 0) w = 0;
    if ((uint64_t)w > r->out_max) return jinja_fail(r, HR_ERANGE, "indent too wide"), NULL;
    char *sp = jinja_alloc(r, (size_t)w + 1);
    if (!sp) return NULL;
    memset(sp, ' ', (size_t)w);
    ind = sp;
    ind_len = (size_t)w;
  }
  bool first = vf && jinja_v_truthy(vf), blank = vb && jinja_v_truthy(vb);
  /* s += "\n"; lines = s.splitlines(); joined with "\n" (+ indent) */
  const char *p = s->u.s.ptr, *e = p + s->u.s.len;
  size_t mark = r->out->len;
  bool first_line = true;
  if (first && jinja_out(r, ind, ind_len)) goto fail;
  for (;;) {
    const char *ls = p;
    size_t k = 0;
    while (p < e && !(k = jinja_line_break(p, e))) p++;
    const char *le = p;
    if (!first_line) {
      if (jinja_out(r, "\n", 1)) goto fail;
      if ((blank || le > ls) && jinja_out(r, ind, ind_len)) goto fail;
    }
    if (jinja_out(r, ls, (size_t)(le - ls))) goto fail;
    first_line = false;
    if (p >= e) break; /* the appended "\n" ends the last line */
    p += k;
  }
  return jinja_take_out(r, mark);
fail:
  r->out->len = mark;
  return NULL;
}

static const jinja_value *f_wordcount(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *s = jinja_to_str(r, in);
  if (!s) return NULL;
  int64_t n = 0;
  bool inword = false;
  const char *p = s->u.s.ptr, *e = p + s->u.s.len;
  while (p < e) {
    uint32_t c;
    p += jinja_utf8_dec(p, e, &c);
    bool w = jinja_cp_alpha(c) || jinja_cp_digit(c) || c == '_' || (c >= 0x80 && !jinja_is_space(c) && c > 0xBF);
    if (w && !inword) n++;
    inword = w;
  }
  return jinja_v_int(r, n);
}

static const jinja_value *f_center(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *vw = jinja_arg(a, 0, "width"), *s = jinja_to_str(r, in);
  int64_t w = 80;
  if (vw && !jinja_get_int(vw, &w)) return jinja_type_error(r, "width must be an integer", vw);
  return s ? jinja_pad(r, s, w, NULL, 0) : NULL;
}

static const jinja_value *f_truncate(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *vl = jinja_arg(a, 0, "length"), *vk = jinja_arg(a, 1, "killwords"),
                    *ve = jinja_arg(a, 2, "end"), *vle = jinja_arg(a, 3, "leeway");
  const jinja_value *s = jinja_to_str(r, in);
  int64_t length = 255, leeway = 5;
  if (!s) return NULL;
  if (vl && !jinja_get_int(vl, &length)) return jinja_type_error(r, "length must be an integer", vl);
  if (vle && vle->type != JV_NONE && !jinja_get_int(vle, &leeway)) return jinja_type_error(r, "leeway must be an integer", vle);
  const jinja_value *end = ve ? jinja_to_str(r, ve) : jinja_v_str_ref(r, "...", 3);
  if (!end) return NULL;
  int64_t n = (int64_t)jinja_cp_count(s->u.s.ptr, s->u.s.len), ne = (int64_t)jinja_cp_count(end->u.s.ptr, end->u.s.len);
  if (length < ne) return jinja_fail(r, HR_EFORMAT, "expected length >= %lld, got %lld", (long long)ne, (long long)length), NULL;
  if (leeway < 0) return jinja_fail(r, HR_EFORMAT, "expected leeway >= 0"), NULL;
  if (n <= length + leeway) return s;
  size_t cut = jinja_cp_offset(s->u.s.ptr, s->u.s.len, (size_t)(length - ne));
  if (!(vk && jinja_v_truthy(vk))) { /* rsplit(" ", 1)[0] */
    const char *sp = NULL;
    for (size_t i = cut; i-- > 0;)
      if (s->u.s.ptr[i] == ' ') {
        sp = s->u.s.ptr + i;
        break;
      }
    if (sp) cut = (size_t)(sp - s->u.s.ptr);
  }
  size_t mark = r->out->len;
  if (jinja_out(r, s->u.s.ptr, cut) || jinja_out(r, end->u.s.ptr, end->u.s.len)) return r->out->len = mark, NULL;
  return jinja_take_out(r, mark);
}

static const jinja_value *f_format(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *s = jinja_to_str(r, in);
  if (!s) return NULL;
  if (a->n_kw) return jinja_fail(r, HR_EFORMAT, "format with keyword arguments is not supported"), NULL;
  return jinja_percent_format(r, s, a);
}

/* Python getattr only: a dict's keys are not its attributes. */
static const jinja_value *f_attr(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *name = jinja_need_str(r, jinja_arg(a, 0, "name"), "attr name must be a string");
  if (!name) return NULL;
  if (in->type == JV_NAMESPACE || in->type == JV_LOOP) return jinja_getattr(r, in, name->u.s.ptr, name->u.s.len);
  const jinja_value *m = jinja_method(r, in, name->u.s.ptr, name->u.s.len);
  return m || r->err_code ? m : jinja_v_undef(r, name->u.s.ptr, name->u.s.len, in->type, false);
}

static const jinja_value *f_batch(jinja_render *r, const jinja_value *in, const jinja_args *a) {
  const jinja_value *vc = jinja_arg(a, 0, "linecount"), *fill = jinja_arg(a, 1, "fill_with");
  int64_t c;
  const jinja_value **items;
  size_t n;
  if (!jinja_get_int(vc, &c) || c <= 0) return jinja_fail(r, HR_EFORMAT, "batch needs a positive count"), NULL;
  if (jinja_iterate(r, in, &items, &n)) return NULL;
  size_t groups = (n + (size_t)c - 1) / (size_t)c;
  jinja_value *l = jinja_v_list(r, groups);
  if (!l) return NULL;
  for (size_t g = 0; g < groups; g++) {
    size_t from = g * (size_t)c, cnt = HR_MIN((size_t)c, n - from);
    size_t total = (fill && fill->type != JV_NONE) ? (size_t)c : cnt;
    jinja_value *b = jinja_v_list(r, total);
    if (!b) return NULL;
    for (size_t i = 0; i < total; i++) b->u.list.items[i] = i < cnt ? items[from + i] : fill;
    l->u.list.items[g] = b;
  }
  return l;
}

static const struct {
  const char *name;
  filter_fn fn;
} filters[] = {
    {"tojson", f_tojson}, {"trim", f_trim}, {"length", f_length}, {"count", f_length},
    {"string", f_string}, {"lower", f_lower}, {"upper", f_upper}, {"capitalize", f_capitalize},
    {"title", f_title}, {"replace", f_replace}, {"join", f_join}, {"first", f_first},
    {"last", f_last}, {"default", f_default}, {"d", f_default}, {"items", f_items},
    {"list", f_list}, {"map", f_map}, {"select", f_select}, {"reject", f_reject},
    {"selectattr", f_selectattr}, {"rejectattr", f_rejectattr}, {"safe", f_safe},
    {"escape", f_escape}, {"e", f_escape}, {"forceescape", f_escape}, {"int", f_int},
    {"float", f_float}, {"round", f_round}, {"abs", f_abs}, {"unique", f_unique},
    {"sort", f_sort}, {"dictsort", f_dictsort}, {"min", f_min}, {"max", f_max}, {"sum", f_sum},
    {"reverse", f_reverse}, {"indent", f_indent}, {"wordcount", f_wordcount},
    {"center", f_center}, {"truncate", f_truncate}, {"format", f_format}, {"attr", f_attr},
    {"batch", f_batch},
};

bool jinja_filter_known(const char *name, size_t len) {
  for (size_t i = 0; i < HR_ARRAY_LEN(filters); i++)
    if (eq(name, len, filters[i].name)) return true;
  return false;
}

const jinja_value *jinja_filter(jinja_render *r, const char *name, size_t len,
                                const jinja_value *in, const jinja_args *args) {
  if (jinja_step(r, 1)) return NULL;
  for (size_t i = 0; i < HR_ARRAY_LEN(filters); i++)
    if (eq(name, len, filters[i].name)) {
      const jinja_value *v = filters[i].fn(r, in, args);
      if (!v && !r->err_code) jinja_fail(r, HR_ENOMEM, "out of memory");
      return v;
    }
  jinja_fail(r, HR_EFORMAT, "No filter named '%.*s'.", (int)HR_MIN(len, 64), name);
  return NULL;
}

/* ---- tests ------------------------------------------------------------------------------------ */

static const char *const test_names[] = {
    "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number",
    "string", "mapping", "iterable", "sequence", "callable", "odd", "even", "divisibleby",
    "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan",
    ">", "ge", ">=", "in", "sameas", "escaped", "lower", "upper", "filter", "test",
};

bool jinja_test_known(const char *name, size_t len) {
  for (size_t i = 0; i < HR_ARRAY_LEN(test_names); i++)
    if (eq(name, len, test_names[i])) return true;
  return false;
}

int jinja_test(jinja_render *r, const char *name, size_t len, const jinja_value *v,
               const jinja_args *a, bool *res) {
  const jinja_value *x = jinja_arg(a, 0, NULL);
  int t = v->type;
#define IS(s) eq(name, len, s)
  if (jinja_step(r, 1)) return r->err_code;
  if (IS("defined")) *res = t != JV_UNDEFINED;
  else if (IS("undefined")) *res = t == JV_UNDEFINED;
  else if (IS("none")) *res = t == JV_NONE;
  else if (IS("boolean")) *res = t == JV_BOOL;
  else if (IS("true")) *res = t == JV_BOOL && v->u.b;
  else if (IS("false")) *res = t == JV_BOOL && !v->u.b;
  else if (IS("integer")) *res = t == JV_INT;
  else if (IS("float")) *res = t == JV_FLOAT;
  else if (IS("number")) *res = jinja_v_is_num(v);
  else if (IS("string")) *res = t == JV_STR;
  else if (IS("mapping")) *res = t == JV_DICT;
  else if (IS("iterable")) *res = t == JV_STR || t == JV_LIST || t == JV_DICT || t == JV_UNDEFINED || t == JV_LOOP;
  else if (IS("sequence")) *res = t == JV_STR || t == JV_LIST || t == JV_DICT || t == JV_UNDEFINED;
  else if (IS("callable")) *res = t == JV_MACRO || t == JV_FUNC;
  else if (IS("escaped")) *res = t == JV_STR && (v->flags & JV_F_SAFE);
  else if (IS("lower") || IS("upper")) {
    const jinja_value *s = jinja_to_str(r, v);
    if (!s) return r->err_code;
    *res = jinja_str_pred(r, s, IS("lower") ? M_ISLOWER : M_ISUPPER)->u.b;
  } else if (IS("odd") || IS("even") || IS("divisibleby")) {
    if (t == JV_UNDEFINED) return jinja_fail(r, HR_EFORMAT, "'%.*s' is undefined", (int)v->u.undef.len, v->u.undef.name ? v->u.undef.name : "");
    if (!jinja_v_is_num(v)) return jinja_fail(r, HR_EFORMAT, "test '%.*s' needs a number, got %s", (int)len, name, jinja_v_type_name(v));
    double d = 2;
    if (IS("divisibleby")) {
      if (!x || !jinja_v_is_num(x)) return jinja_fail(r, HR_EFORMAT, "divisibleby needs a number");
      d = jinja_v_num(x);
      if (d == 0) return jinja_fail(r, HR_EFORMAT, "integer division or modulo by zero");
    }
    double m;
    if (v->type != JV_FLOAT && (!x || x->type != JV_FLOAT)) {
      int64_t iv = v->type == JV_BOOL ? v->u.b : v->u.i, id = (int64_t)d;
      int64_t mm = id == -1 ? 0 : iv % id;
      if (mm != 0 && ((mm < 0) != (id < 0))) mm += id;
      m = (double)mm;
    } else {
      m = fmod(jinja_v_num(v), d);
      if (m != 0 && ((m < 0) != (d < 0))) m += d;
    }
    *res = IS("odd") ? m == 1 : m == 0;
  } else if (IS("eq") || IS("equalto") || IS("==") || IS("ne") || IS("!=")) {
    if (!x) return jinja_fail(r, HR_EFORMAT, "test '%.*s' needs an argument", (int)len, name);
    *res = jinja_v_equal(v, x) == (name[0] != 'n' && name[0] != '!');
  } else if (IS("lt") || IS("lessthan") || IS("<") || IS("ge") || IS(">=")) {
    bool lt;
    if (!x) return jinja_fail(r, HR_EFORMAT, "test '%.*s' needs an argument", (int)len, name);
    if (jinja_v_less(r, v, x, &lt)) return r->err_code;
    *res = (IS("ge") || IS(">=")) ? !lt : lt;
  } else if (IS("gt") || IS("greaterthan") || IS(">") || IS("le") || IS("<=")) {
    bool lt;
    if (!x) return jinja_fail(r, HR_EFORMAT, "test '%.*s' needs an argument", (int)len, name);
    if (jinja_v_less(r, x, v, &lt)) return r->err_code;
    *res = (IS("le") || IS("<=")) ? !lt : lt;
  } else if (IS("in")) {
    if (!x) return jinja_fail(r, HR_EFORMAT, "test 'in' needs an argument");
    if (x->type == JV_STR) {
      if (v->type != JV_STR) return jinja_fail(r, HR_EFORMAT, "'in <string>' requires string as left operand");
      *res = memmem(x->u.s.ptr, x->u.s.len, v->u.s.ptr, v->u.s.len) != NULL || !v->u.s.len;
    } else if (x->type == JV_LIST) {
      *res = false;
      for (size_t i = 0; i < x->u.list.n && !*res; i++) *res = jinja_v_equal(v, x->u.list.items[i]);
    } else if (x->type == JV_DICT) {
      *res = jinja_dict_get(x->u.dict, v) != NULL;
    } else if (x->type == JV_UNDEFINED) {
      *res = false;
    } else {
      return jinja_fail(r, HR_EFORMAT, "argument of type '%s' is not iterable", jinja_v_type_name(x));
    }
  } else if (IS("sameas")) {
    if (!x) return jinja_fail(r, HR_EFORMAT, "test 'sameas' needs an argument");
    /* identity; small ints and equal strings count as the same object, as
     * CPython's caches make them in practice */
    if (t == JV_NONE || t == JV_BOOL || t == JV_UNDEFINED) *res = x->type == t && (t != JV_BOOL || x->u.b == v->u.b);
    else if ((t == JV_INT || t == JV_STR) && x->type == t) *res = jinja_v_equal(v, x);
    else *res = v == x;
  } else if (IS("filter") || IS("test")) {
    if (v->type != JV_STR) *res = false;
    else *res = IS("filter") ? jinja_filter_known(v->u.s.ptr, v->u.s.len) : jinja_test_known(v->u.s.ptr, v->u.s.len);
  } else {
    return jinja_fail(r, HR_EFORMAT, "No test named '%.*s'.", (int)HR_MIN(len, 64), name);
  }
#undef IS
  return 0;
}
