/* json_schema.c — validation of a JSON tree against a static schema, filling
 * a typed C struct on the way.
 *
 * The walk is recursive over the schema and the tree together (depth is
 * bounded by the tree, which json_read bounds). The path of the current
 * node is kept as a small stack of segments and only turned into text when
 * an error is reported. Strings and arrays stored in the struct point into
 * the tree or into the arena; nothing is copied but arrays of items.
 *
 * A JS_ONE_OF picks its variant from the value's JSON type (and, for arrays,
 * the first item's type), so "stop": ["a", 2] fails at stop[1] with the
 * variant's own message rather than a vague "matches no variant". */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PATH_MAX_SEGS 48

typedef struct {
  const char *key; /* NULL for an array index */
  size_t len;
  size_t index;
} path_seg;

typedef struct {
  hr_arena *a;
  json_validate_error *err;
  path_seg path[PATH_MAX_SEGS];
  size_t depth; /* may exceed PATH_MAX_SEGS; deeper segments are dropped */
} vctx;

static void push_key(vctx *c, const char *key, size_t len) {
  if (c->depth < PATH_MAX_SEGS) c->path[c->depth] = (path_seg){key, len, 0};
  c->depth++;
}

static void push_index(vctx *c, size_t i) {
  if (c->depth < PATH_MAX_SEGS) c->path[c->depth] = (path_seg){NULL, 0, i};
  c->depth++;
}

static void pop(vctx *c) { c->depth--; }

/* ---- error text --------------------------------------------------------- */

static bool is_plain_key(const char *k, size_t n) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)k[i];
    if (!(ch == '_' || ch == '-' || (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z')))
      return false;
  }
  return true;
}

static void format_path(const vctx *c, char *out, size_t cap) {
  size_t pos = 0, n = c->depth < PATH_MAX_SEGS ? c->depth : PATH_MAX_SEGS;
  out[0] = 0;
#define EMIT(...)                                                  \
  do {                                                             \
    if (pos < cap) {                                               \
      int w_ = snprintf(out + pos, cap - pos, __VA_ARGS__);        \
      pos += w_ > 0 ? (size_t)w_ : 0;                              \
    }                                                              \
  } while (0)
  for (size_t i = 0; i < n; i++) {
    const path_seg *s = &c->path[i];
    if (!s->key) {
      EMIT("[%zu]", s->index);
    } else if (is_plain_key(s->key, s->len)) {
      EMIT("%s%.*s", i ? "." : "", (int)s->len, s->key);
    } else {
      /* ["odd key"], with '"' and '\\' escaped and controls shown as '?' */
      EMIT("[\"");
      for (size_t k = 0; k < s->len && pos < cap; k++) {
        unsigned char ch = (unsigned char)s->key[k];
        if (ch == '"' || ch == '\\') EMIT("\\%c", ch);
        else EMIT("%c", ch < 0x20 ? '?' : ch);
      }
      EMIT("\"]");
    }
  }
  if (c->depth > PATH_MAX_SEGS) EMIT("...");
#undef EMIT
  if (pos >= cap && cap > 4) memcpy(out + cap - 4, "...", 4);
}

__attribute__((format(printf, 2, 3))) static int fail(vctx *c, const char *fmt, ...) {
  if (c->err) {
    format_path(c, c->err->path, sizeof c->err->path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
    va_end(ap);
  }
  return HR_EINVAL;
}

static int fail_nomem(vctx *c) {
  if (c->err) {
    format_path(c, c->err->path, sizeof c->err->path);
    snprintf(c->err->message, sizeof c->err->message, "out of memory");
  }
  return HR_ENOMEM;
}

/* "a string", "an integer", ...; for a one-of, its variants joined. */
static size_t kind_phrases(const json_schema *s, const char **out, size_t n, size_t cap) {
  const char *p = NULL;
  switch (s->kind) {
    case JS_ANY: p = "any value"; break;
    case JS_STRING: p = "a string"; break;
    case JS_INT: p = "an integer"; break;
    case JS_NUMBER: p = "a number"; break;
    case JS_BOOL: p = "a boolean"; break;
    case JS_OBJECT:
    case JS_MAP: p = "an object"; break;
    case JS_ARRAY:
      if (s->single_as_array && s->items) n = kind_phrases(s->items, out, n, cap);
      p = "an array";
      break;
    case JS_ONE_OF:
      for (size_t i = 0; i < s->n_variants; i++) n = kind_phrases(s->variants[i], out, n, cap);
      return n;
  }
  for (size_t i = 0; i < n; i++)
    if (strcmp(out[i], p) == 0) return n;
  if (n < cap) out[n++] = p;
  return n;
}

static int fail_type(vctx *c, const json_schema *s) {
  const char *ph[8];
  size_t n = kind_phrases(s, ph, 0, 8);
  char msg[160];
  size_t pos = (size_t)snprintf(msg, sizeof msg, "expected ");
  for (size_t i = 0; i < n && pos < sizeof msg; i++)
    pos += (size_t)snprintf(msg + pos, sizeof msg - pos, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                            ph[i]);
  return fail(c, "%s", msg);
}

/* ---- variant choice ----------------------------------------------------- */

/* Whether s takes a value of v's JSON type (the first look of a one-of). */
static bool type_accepts(const json_schema *s, const json_value *v) {
  switch (s->kind) {
    case JS_ANY: return true;
    case JS_STRING: return v->type == JSON_STRING;
    case JS_INT:
    case JS_NUMBER: return v->type == JSON_NUMBER;
    case JS_BOOL: return v->type == JSON_TRUE || v->type == JSON_FALSE;
    case JS_OBJECT:
    case JS_MAP: return v->type == JSON_OBJECT;
    case JS_ARRAY:
      return v->type == JSON_ARRAY || (s->single_as_array && s->items && type_accepts(s->items, v));
    case JS_ONE_OF:
      for (size_t i = 0; i < s->n_variants; i++)
        if (type_accepts(s->variants[i], v)) return true;
      return false;
  }
  return false;
}

/* type_accepts, and for arrays the first item too (recursively), so that
 * [[1,2]] picks "array of arrays of integers" over "array of strings". */
static bool deep_accepts(const json_schema *s, const json_value *v, int budget) {
  if (!type_accepts(s, v)) return false;
  if (budget <= 0) return true;
  if (s->kind == JS_ARRAY && s->items) {
    if (v->type != JSON_ARRAY) return deep_accepts(s->items, v, budget - 1); /* single */
    return v->u.arr.n == 0 || deep_accepts(s->items, v->u.arr.items[0], budget - 1);
  }
  if (s->kind == JS_ONE_OF) {
    for (size_t i = 0; i < s->n_variants; i++)
      if (deep_accepts(s->variants[i], v, budget - 1)) return true;
    return false;
  }
  return true;
}

/* ---- the walk ----------------------------------------------------------- */

static int validate(vctx *c, const json_schema *s, const json_value *v, void *slot);

static void fmt_limit(char *buf, size_t cap, double x) { snprintf(buf, cap, "%.15g", x); }

static int check_range(vctx *c, const json_schema *s, double d) {
  char lim[32];
  if (s->has_min && !(d >= s->min)) {
    fmt_limit(lim, sizeof lim, s->min);
    return fail(c, "must be at least %s", lim);
  }
  if (s->has_max && !(d <= s->max)) {
    fmt_limit(lim, sizeof lim, s->max);
    return fail(c, "must be at most %s", lim);
  }
  return 0;
}

static int v_string(vctx *c, const json_schema *s, const json_value *v, hr_str *slot) {
  if (v->type != JSON_STRING) return fail_type(c, s);
  if (s->max_len && v->u.str.len > s->max_len)
    return fail(c, "must be at most %zu bytes long", s->max_len);
  if (s->enum_values) {
    const char *const *e = s->enum_values;
    for (; *e; e++)
      if (strlen(*e) == v->u.str.len && memcmp(*e, v->u.str.ptr, v->u.str.len) == 0) break;
    if (!*e) {
      char msg[192];
      size_t pos = (size_t)snprintf(msg, sizeof msg, "must be one of: ");
      for (e = s->enum_values; *e && pos < sizeof msg; e++)
        pos += (size_t)snprintf(msg + pos, sizeof msg - pos, "%s\"%s\"", e == s->enum_values ? "" : ", ", *e);
      return fail(c, "%s", msg);
    }
  }
  slot->ptr = v->u.str.ptr;
  slot->len = v->u.str.len;
  return 0;
}

static int v_int(vctx *c, const json_schema *s, const json_value *v, int64_t *slot) {
  if (v->type != JSON_NUMBER) return fail_type(c, s);
  if (v->u.num.is_int) {
    int rc = check_range(c, s, (double)v->u.num.i);
    if (rc) return rc;
    *slot = v->u.num.i;
    return 0;
  }
  /* 2.0 and 1e3 are integers too, as in JavaScript and pydantic */
  double d = v->u.num.d;
  if (isfinite(d) && d != floor(d)) return fail(c, "expected an integer");
  int rc = check_range(c, s, d); /* 1e400 > max reads better than "out of range" */
  if (rc) return rc;
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return fail(c, "is out of range");
  *slot = (int64_t)d;
  return 0;
}

static int v_number(vctx *c, const json_schema *s, const json_value *v, double *slot) {
  if (v->type != JSON_NUMBER) return fail_type(c, s);
  int rc = check_range(c, s, v->u.num.d);
  if (rc) return rc;
  *slot = v->u.num.d;
  return 0;
}

/* The index of the field named k[0..n), or -1. Keys may hold NULs, so a
 * match needs the name to end exactly at n. */
static ssize_t find_field(const json_schema *s, const char *k, size_t n) {
  if (n == 0) return -1;
  for (size_t i = 0; i < s->n_fields; i++) {
    const char *name = s->fields[i].name;
    if (name[0] != k[0] || !name[0]) continue;
    size_t j = 1;
    while (j < n && name[j] && name[j] == k[j]) j++;
    if (j == n && name[n] == 0) return (ssize_t)i; /* name[n] is in bounds: no NUL before it */
  }
  return -1;
}

static int v_object(vctx *c, const json_schema *s, const json_value *v, char *slot) {
  if (v->type != JSON_OBJECT) return fail_type(c, s);
  uint64_t seen = 0;  /* fields 0..63 given a value; later ones use json_get */
  uint64_t named = 0; /* fields 0..63 named at all (null included) */
  for (size_t i = 0; i < v->u.obj.n; i++) {
    const json_member *m = &v->u.obj.members[i];
    ssize_t fi = find_field(s, m->key.ptr, m->key.len);
    push_key(c, m->key.ptr, m->key.len);
    if (fi < 0) {
      if (s->strict) return fail(c, "unknown field");
      pop(c);
      continue;
    }
    /* A field named twice: JSON leaves the meaning open (JavaScript keeps
     * the last, others the first), so the request is refused rather than
     * read one way here and another way by a proxy in front. */
    if (fi < 64 && (named >> fi & 1)) return fail(c, "is given more than once");
    if (fi < 64) named |= (uint64_t)1 << fi;
    const json_field *f = &s->fields[fi];
    if (m->value->type == JSON_NULL && f->schema->nullable) {
      pop(c); /* null is absent: the slot keeps its value */
      continue;
    }
    int rc = validate(c, f->schema, m->value, slot + f->offset);
    if (rc) return rc;
    if (f->present_offset >= 0) *(bool *)(slot + f->present_offset) = true;
    if (fi < 64) seen |= (uint64_t)1 << fi;
    pop(c);
  }
  for (size_t i = 0; i < s->n_fields; i++) {
    const json_field *f = &s->fields[i];
    if (!f->required || (i < 64 && (seen >> i & 1))) continue;
    const json_value *fv = i < 64 ? NULL : json_get(v, f->name);
    if (!fv || (fv->type == JSON_NULL && f->schema->nullable)) {
      push_key(c, f->name, strlen(f->name));
      return fail(c, "is required");
    }
  }
  return 0;
}

static int check_count(vctx *c, const json_schema *s, size_t n) {
  if (n < s->min_items) {
    if (s->min_items == 1) return fail(c, "must not be empty");
    return fail(c, "must have at least %zu items", s->min_items);
  }
  if (s->max_items && n > s->max_items)
    return fail(c, "must have at most %zu item%s", s->max_items, s->max_items == 1 ? "" : "s");
  return 0;
}

static int v_array(vctx *c, const json_schema *s, const json_value *v, json_array_slot *slot) {
  json_value *const *items;
  size_t n;
  const json_value *single = v;
  if (v->type == JSON_ARRAY) {
    items = v->u.arr.items;
    n = v->u.arr.n;
  } else if (s->single_as_array && s->items && type_accepts(s->items, v)) {
    items = (json_value *const *)&single;
    n = 1;
  } else {
    return fail_type(c, s);
  }
  int rc = check_count(c, s, n);
  if (rc) return rc;
  char *out = NULL;
  if (n && s->item_size) {
    out = hr_arena_calloc(c->a, n, s->item_size);
    if (!out) return fail_nomem(c);
  }
  for (size_t i = 0; i < n; i++) {
    push_index(c, i);
    if (!(items[i]->type == JSON_NULL && s->items->nullable)) {
      rc = validate(c, s->items, items[i], out + i * s->item_size);
      if (rc) return rc;
    }
    pop(c);
  }
  slot->items = out;
  slot->n = n;
  return 0;
}

static int v_map(vctx *c, const json_schema *s, const json_value *v, json_map_slot *slot) {
  if (v->type != JSON_OBJECT) return fail_type(c, s);
  size_t n = v->u.obj.n;
  int rc = check_count(c, s, n);
  if (rc) return rc;
  hr_str *keys = NULL;
  char *values = NULL;
  if (n) {
    keys = hr_arena_alloc(c->a, n * sizeof *keys);
    values = s->item_size ? hr_arena_calloc(c->a, n, s->item_size) : NULL;
    if (!keys || (s->item_size && !values)) return fail_nomem(c);
  }
  for (size_t i = 0; i < n; i++) keys[i] = v->u.obj.members[i].key;
  /* as for a field: a key given twice would be read one way here and
   * another way elsewhere */
  size_t again = 0;
  rc = hr_str_first_repeat(c->a, keys, n, &again);
  if (rc < 0) return fail_nomem(c);
  if (rc) {
    push_key(c, keys[again].ptr, keys[again].len);
    return fail(c, "is given more than once");
  }
  for (size_t i = 0; i < n; i++) {
    const json_member *m = &v->u.obj.members[i];
    push_key(c, m->key.ptr, m->key.len);
    if (!(m->value->type == JSON_NULL && s->items->nullable)) {
      rc = validate(c, s->items, m->value, values + i * s->item_size);
      if (rc) return rc;
    }
    pop(c);
  }
  slot->keys = keys;
  slot->values = values;
  slot->n = n;
  return 0;
}

static int v_one_of(vctx *c, const json_schema *s, const json_value *v, char *slot) {
  size_t pick = s->n_variants, shallow = s->n_variants;
  for (size_t i = 0; i < s->n_variants; i++) {
    if (!type_accepts(s->variants[i], v)) continue;
    if (shallow == s->n_variants) shallow = i;
    if (deep_accepts(s->variants[i], v, 8)) {
      pick = i;
      break;
    }
  }
  if (pick == s->n_variants) pick = shallow;
  if (pick == s->n_variants) return fail_type(c, s);
  int rc = validate(c, s->variants[pick], v, slot);
  if (rc) return rc;
  *(int *)(slot + s->variant_offset) = (int)pick;
  return 0;
}

static int validate(vctx *c, const json_schema *s, const json_value *v, void *slot) {
  if (v->type == JSON_NULL && s->nullable) return 0;
  int rc = 0;
  switch (s->kind) {
    case JS_ANY:
      if (s->shape) {
        void *scratch = hr_arena_calloc(c->a, 1, s->shape_size ? s->shape_size : 1);
        if (!scratch) return fail_nomem(c);
        if ((rc = validate(c, s->shape, v, scratch))) return rc;
      }
      *(const json_value **)slot = v;
      break;
    case JS_STRING: rc = v_string(c, s, v, slot); break;
    case JS_INT: rc = v_int(c, s, v, slot); break;
    case JS_NUMBER: rc = v_number(c, s, v, slot); break;
    case JS_BOOL:
      if (v->type != JSON_TRUE && v->type != JSON_FALSE) return fail_type(c, s);
      *(bool *)slot = v->type == JSON_TRUE;
      break;
    case JS_OBJECT: rc = v_object(c, s, v, slot); break;
    case JS_ARRAY: rc = v_array(c, s, v, slot); break;
    case JS_MAP: rc = v_map(c, s, v, slot); break;
    case JS_ONE_OF: rc = v_one_of(c, s, v, slot); break;
  }
  if (rc) return rc;
  if (s->check) {
    const char *msg = s->check(v, slot);
    if (msg) return fail(c, "%s", msg);
  }
  return 0;
}

int json_validate(hr_arena *a, const json_schema *s, const json_value *v, void *out,
                  json_validate_error *err) {
  vctx c = {.a = a, .err = err, .depth = 0};
  if (err) {
    err->path[0] = 0;
    err->message[0] = 0;
  }
  return validate(&c, s, v, out);
}
