/* json_constraint.c — the JSON automaton of json_constraint.h.
 *
 * A compiled schema is a graph of nodes (a $ref is a node pointing at its
 * target, so recursive schemas are finite graphs). A state is a stack of
 * frames, one per value being read: a frame starts as "a value of node N"
 * and turns into the reader of what its first byte says (object, array,
 * string, number, literal). A number or a literal only knows it has ended
 * when a byte that cannot continue it arrives: the frame then closes and
 * that byte goes to the frame below. */
#include "json_constraint.h"

#include "json_regex.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
  N_ANY,      /* any JSON value */
  N_OBJECT,
  N_ARRAY,
  N_STRING,
  N_NUMBER,
  N_INTEGER,
  N_LITERALS, /* fixed texts: true/false, null, enum and const values */
  N_ANYOF,
  N_REF,      /* the node ref points at */
} node_kind;

struct jc_node {
  node_kind kind;
  /* N_OBJECT: each key as JSON text, quotes included */
  int n_props;
  const char **key;
  size_t *key_len;
  jc_node **prop;
  uint64_t required;
  jc_node *additional; /* the other keys' values; NULL: no other keys */
  jc_node **call_args; /* a call's root: arguments per name (prop[0]'s literals); the name comes first */
  /* N_ARRAY */
  jc_node *items;
  uint32_t min_items, max_items;
  /* N_STRING */
  uint32_t min_len, max_len;
  jf_kind format;
  jr_prog *pattern; /* pattern, or format email */
  /* N_NUMBER, N_INTEGER: inclusive bounds, whole numbers (|b| < BOUND_MAX) */
  bool has_min, has_max;
  int64_t min, max;
  /* N_LITERALS */
  int n_lits;
  const char **lit;
  size_t *lit_len;
  /* N_ANYOF: alternatives (a oneOf's first bytes differ) */
  int n_alts;
  jc_node **alts;
  bool one_of;
  uint8_t counted; /* leaves per first byte: 0 not yet, 1 counting, 2 done */
  uint8_t *leaves; /* how many, per first byte (256) */
  /* analysis (check_readings): the readings a value of this node may need
   * at once (0: not known yet), and where it sits on the walk (0: not) */
  int readings;
  int walk_at;
  int pending_low; /* done but inside a cycle whose head is not (1 + the lowest walk position it reached) */
  int pending_readings;
  /* N_REF */
  jc_node *ref;
  /* N_ANY: what each kind of value reads as */
  jc_node *as_obj, *as_arr, *as_str, *as_lit;
};

struct jc_schema {
  _Atomic int refs; /* holders: jc_share adds one, jc_free drops one */
  hr_arena *a;
  jc_node *root;
};

/* ---- compiling ------------------------------------------------------------ */

#define NODES_MAX 20000
#define COMPILE_DEPTH_MAX 64
#define REFS_MAX 256
#define ANYOFS_MAX 1024
#define WALK_MAX 1024         /* nodes on one path of the readings analysis */
#define WALK_STEPS_MAX 2000000 /* visits the analysis may make */

typedef struct {
  hr_arena *a;
  const json_value *doc;
  char *err;
  size_t err_len;
  const char *root_label; /* how messages name the root: "schema", "parameters" */
  char path[256];
  size_t path_len;
  int n_nodes;
  bool oom; /* a failure was memory's, not the schema's: HR_ENOMEM */
  jc_node *any;
  struct {
    const json_value *v;
    jc_node *n;
  } refs[REFS_MAX];
  int n_refs;
  jc_node *anyofs[ANYOFS_MAX];
  int n_anyofs;
  jc_node *walk[WALK_MAX]; /* check_readings' path from the root */
  jc_node **pending;       /* done nodes waiting for their cycle's head (NODES_MAX) */
  int n_pending;
  bool forks[WALK_MAX];    /* the step into walk[i] was an anyOf leaf sharing a first byte */
  int walk_len;
  long steps;
} compiler;

__attribute__((format(printf, 2, 3))) static int fail(compiler *c, const char *fmt, ...);
static int fail_oom(compiler *c) {
  c->oom = true;
  return fail(c, "out of memory");
}

__attribute__((format(printf, 2, 3))) static int fail(compiler *c, const char *fmt, ...) {
  if (!c->err || !c->err_len) return HR_EINVAL;
  int n = snprintf(c->err, c->err_len, "%s%s%s: ", c->root_label, c->path_len ? "." : "", c->path);
  if (n < 0 || (size_t)n >= c->err_len) return HR_EINVAL;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
  va_end(ap);
  return HR_EINVAL;
}

/* Appends ".seg" (or "[i]" when seg is NULL) to the path; returns the
 * length to restore. */
static size_t path_push(compiler *c, const char *seg, size_t seg_len, long index) {
  size_t was = c->path_len, room = sizeof c->path - c->path_len;
  int n = seg ? snprintf(c->path + c->path_len, room, "%s%.*s", c->path_len ? "." : "",
                         (int)HR_MIN(seg_len, 64), seg)
              : snprintf(c->path + c->path_len, room, "[%ld]", index);
  if (n > 0) c->path_len = HR_MIN(c->path_len + (size_t)n, sizeof c->path - 1);
  return was;
}
static void path_pop(compiler *c, size_t was) {
  c->path_len = was;
  c->path[was] = 0;
}

static jc_node *node_new(compiler *c, node_kind kind) {
  if (++c->n_nodes > NODES_MAX) {
    fail(c, "the schema is too large (more than %d nodes)", NODES_MAX);
    return NULL;
  }
  jc_node *n = hr_arena_calloc(c->a, 1, sizeof *n);
  if (n) n->kind = kind;
  else fail_oom(c);
  return n;
}

/* The value as the JSON text the model must write (no white space). */
/* The longest literal or property name: a frame counts their bytes in 16
 * bits (json_constraint.h). */
#define LITERAL_MAX 65535

static int literal_of(compiler *c, const json_value *v, const char **out, size_t *len) {
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_value(&w, v);
  int rc = json_w_finish(&w);
  if (rc == HR_OK) {
    *out = hr_arena_strndup(c->a, b.data ? b.data : "", b.len);
    *len = b.len;
    if (!*out) rc = HR_ENOMEM;
  }
  hr_buf_free(&b);
  if (rc == HR_OK && *len > LITERAL_MAX) return fail(c, "a value longer than %d bytes as JSON", LITERAL_MAX);
  return rc == HR_OK ? HR_OK : fail(c, "a value that cannot be written as JSON");
}

/* s as a JSON string's text, quotes included, in the arena: what a key
 * or a function's name must read as. */
static const char *quoted(compiler *c, const char *str, size_t len, size_t *out_len) {
  hr_buf b = HR_BUF_INIT;
  int rc = hr_buf_putc(&b, '"') || json_escape_append(&b, str, len) || hr_buf_putc(&b, '"');
  const char *out = rc ? NULL : hr_arena_strndup(c->a, b.data, b.len);
  *out_len = b.len;
  hr_buf_free(&b);
  if (!out) fail_oom(c);
  else if (*out_len > LITERAL_MAX) {
    fail(c, "a name longer than %d bytes as JSON", LITERAL_MAX);
    return NULL;
  }
  return out;
}

/* A literals node with room for n texts. */
static jc_node *literals_new(compiler *c, size_t n) {
  jc_node *node = node_new(c, N_LITERALS);
  if (!node) return NULL;
  node->lit = hr_arena_calloc(c->a, n, sizeof *node->lit);
  node->lit_len = hr_arena_calloc(c->a, n, sizeof *node->lit_len);
  if (!node->lit || !node->lit_len) {
    fail_oom(c);
    return NULL;
  }
  node->n_lits = (int)n;
  return node;
}

static jc_node *literals(compiler *c, const json_value *const *vals, size_t n) {
  if (n == 0) {
    fail(c, "an empty enum matches nothing");
    return NULL;
  }
  if (n > JC_PROPS_MAX) {
    fail(c, "at most %d enum values are supported", JC_PROPS_MAX);
    return NULL;
  }
  jc_node *node = literals_new(c, n);
  for (size_t i = 0; node && i < n; i++)
    if (literal_of(c, vals[i], &node->lit[i], &node->lit_len[i])) return NULL;
  return node;
}

static jc_node *keyword_literals(compiler *c, const char *const *words, size_t n) {
  jc_node *node = literals_new(c, n);
  for (size_t i = 0; node && i < n; i++) {
    node->lit[i] = words[i];
    node->lit_len[i] = strlen(words[i]);
  }
  return node;
}

/* An anyOf node with room for n alternatives, listed for check_anyofs. */
static jc_node *anyof_new(compiler *c, size_t n) {
  if (c->n_anyofs == ANYOFS_MAX) {
    fail(c, "more than %d anyOf/oneOf", ANYOFS_MAX);
    return NULL;
  }
  jc_node *node = node_new(c, N_ANYOF);
  if (!node) return NULL;
  if (!(node->alts = hr_arena_calloc(c->a, n, sizeof *node->alts))) {
    fail_oom(c);
    return NULL;
  }
  c->anyofs[c->n_anyofs++] = node;
  return node;
}

static const char *const annotations[] = {"title",   "description", "default", "examples",
                                          "$schema", "$id",         "$comment", "$defs",
                                          "definitions", NULL};
static const char *const validations[] = {
    "type",     "properties", "required",  "additionalProperties", "items", "minItems",
    "maxItems", "minLength",  "maxLength", "format",               "pattern", "enum", "const", "anyOf",
    "oneOf",    "allOf",      "$ref",      "minimum",              "maximum", "exclusiveMinimum",
    "exclusiveMaximum", NULL};

static bool in_list(const char *const *list, hr_str key) {
  for (int i = 0; list[i]; i++)
    if (hr_str_eq_cstr(key, list[i])) return true;
  return false;
}

static int count_limit(compiler *c, const json_value *v, const char *name, uint32_t *out) {
  if (!v) return HR_OK;
  if (v->type != JSON_NUMBER || !v->u.num.is_int || v->u.num.i < 0 || v->u.num.i > UINT32_MAX)
    return fail(c, "'%s' must be a non-negative integer", name);
  *out = (uint32_t)v->u.num.i;
  return HR_OK;
}

/* A lower and an upper count ("minItems"/"maxItems", "minLength"/
 * "maxLength"): *lo from 0 and *hi from UINT32_MAX when absent. */
static int count_range(compiler *c, const json_value *v, const char *lo_name, const char *hi_name,
                       uint32_t *lo, uint32_t *hi) {
  *lo = 0, *hi = UINT32_MAX;
  if (count_limit(c, json_get(v, lo_name), lo_name, lo) ||
      count_limit(c, json_get(v, hi_name), hi_name, hi))
    return HR_EINVAL;
  if (*lo > *hi) return fail(c, "'%s' is above '%s'", lo_name, hi_name);
  return HR_OK;
}

static jc_node *compile(compiler *c, const json_value *v, int depth);

/* The node of "#", "#/$defs/NAME" or "#/definitions/NAME" (NAME with
 * JSON Pointer's ~0 and ~1), compiled once. */
static jc_node *resolve_ref(compiler *c, const json_value *ref, int depth) {
  if (ref->type != JSON_STRING) {
    fail(c, "'$ref' must be a string");
    return NULL;
  }
  const char *s = ref->u.str.ptr;
  const json_value *target = NULL;
  if (strlen(s) != ref->u.str.len) { /* a NUL inside: no pointer we read */
    fail(c, "'$ref' holds a NUL character");
    return NULL;
  }
  if (!strcmp(s, "#")) {
    target = c->doc;
  } else {
    const char *name = NULL, *group = NULL;
    if (!strncmp(s, "#/$defs/", 8)) group = "$defs", name = s + 8;
    else if (!strncmp(s, "#/definitions/", 14)) group = "definitions", name = s + 14;
    if (!name || !*name || strchr(name, '/')) {
      fail(c, "'$ref' \"%.100s\" is not supported (use \"#\", \"#/$defs/NAME\" or \"#/definitions/NAME\")", s);
      return NULL;
    }
    char key[256];
    size_t k = 0;
    if (strlen(name) >= sizeof key) { /* cut, it could name another definition */
      fail(c, "'$ref' names a definition longer than %zu bytes", sizeof key - 1);
      return NULL;
    }
    for (const char *p = name; *p && k + 1 < sizeof key; p++) {
      if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) {
        key[k++] = p[1] == '0' ? '~' : '/';
        p++;
      } else {
        key[k++] = *p;
      }
    }
    key[k] = 0;
    target = json_get(json_get(c->doc, group), key);
    if (!target) {
      fail(c, "'$ref' \"%.100s\" names no definition", s);
      return NULL;
    }
  }
  for (int i = 0; i < c->n_refs; i++)
    if (c->refs[i].v == target) return c->refs[i].n;
  if (c->n_refs == REFS_MAX) {
    fail(c, "more than %d distinct '$ref' targets", REFS_MAX);
    return NULL;
  }
  /* Registered before its body is compiled, so a reference to itself
   * inside finds it. */
  jc_node *n = node_new(c, N_REF);
  if (!n) return NULL;
  c->refs[c->n_refs].v = target;
  c->refs[c->n_refs++].n = n;
  size_t was = path_push(c, s, strlen(s), 0);
  n->ref = compile(c, target, depth + 1);
  path_pop(c, was);
  return n->ref ? n : NULL;
}

static jc_node *compile_object(compiler *c, const json_value *v, int depth) {
  jc_node *n = node_new(c, N_OBJECT);
  if (!n) return NULL;
  const json_value *props = json_get(v, "properties"), *req = json_get(v, "required");
  const json_value *add = json_get(v, "additionalProperties");
  if (props) {
    if (props->type != JSON_OBJECT) {
      fail(c, "'properties' must be an object");
      return NULL;
    }
    size_t np = props->u.obj.n;
    if (np > JC_PROPS_MAX) {
      fail(c, "at most %d properties per object are supported", JC_PROPS_MAX);
      return NULL;
    }
    n->key = hr_arena_calloc(c->a, np + 1, sizeof *n->key);
    n->key_len = hr_arena_calloc(c->a, np + 1, sizeof *n->key_len);
    n->prop = hr_arena_calloc(c->a, np + 1, sizeof *n->prop);
    if (!n->key || !n->key_len || !n->prop) {
      fail_oom(c);
      return NULL;
    }
    for (size_t i = 0; i < np; i++) {
      const json_member *m = &props->u.obj.members[i];
      for (size_t j = 0; j < i; j++)
        if (hr_str_eq(props->u.obj.members[j].key, m->key)) {
          fail(c, "property \"%.*s\" is listed twice", (int)HR_MIN(m->key.len, 100), m->key.ptr);
          return NULL;
        }
      if (!(n->key[i] = quoted(c, m->key.ptr, m->key.len, &n->key_len[i]))) return NULL;
      size_t was = path_push(c, "properties", 10, 0);
      path_push(c, m->key.ptr, m->key.len, 0);
      n->prop[i] = compile(c, m->value, depth + 1);
      path_pop(c, was);
      if (!n->prop[i]) return NULL;
    }
    n->n_props = (int)np;
  }
  if (req) {
    if (req->type != JSON_ARRAY) {
      fail(c, "'required' must be an array of property names");
      return NULL;
    }
    for (size_t i = 0; i < req->u.arr.n; i++) {
      const json_value *r = req->u.arr.items[i];
      if (r->type != JSON_STRING) {
        fail(c, "'required' must be an array of property names");
        return NULL;
      }
      int k = -1;
      for (int j = 0; props && j < n->n_props; j++)
        if (hr_str_eq(props->u.obj.members[j].key, hr_str_make(r->u.str.ptr, r->u.str.len))) k = j;
      if (k < 0) {
        fail(c, "required property \"%.*s\" is not in 'properties'", (int)HR_MIN(r->u.str.len, 100),
             r->u.str.ptr);
        return NULL;
      }
      n->required |= 1ull << k;
    }
  }
  if (!add || add->type == JSON_TRUE) {
    n->additional = c->any; /* JSON Schema's default: other keys allowed */
  } else if (add->type != JSON_FALSE) {
    size_t was = path_push(c, "additionalProperties", 20, 0);
    n->additional = compile(c, add, depth + 1);
    path_pop(c, was);
    if (!n->additional) return NULL;
  }
  return n;
}

static jc_node *compile_array(compiler *c, const json_value *v, int depth) {
  jc_node *n = node_new(c, N_ARRAY);
  if (!n) return NULL;
  const json_value *items = json_get(v, "items");
  if (count_range(c, v, "minItems", "maxItems", &n->min_items, &n->max_items)) return NULL;
  if (items) {
    if (items->type == JSON_ARRAY) {
      fail(c, "'items' as an array (tuples) is not supported");
      return NULL;
    }
    size_t was = path_push(c, "items", 5, 0);
    n->items = compile(c, items, depth + 1);
    path_pop(c, was);
    if (!n->items) return NULL;
  } else {
    n->items = c->any;
  }
  return n;
}

#define BOUND_MAX 1000000000000000000ll /* 10^18 */

/* minimum/maximum (and for integers exclusiveMinimum/exclusiveMaximum, as
 * draft 6+ numbers) into n's inclusive bounds. Only whole-number bounds:
 * with them a number's integer part and whether its fraction is zero
 * decide every comparison, so the automaton can check them exactly as
 * digits arrive (and numbers under bounds take no exponent). */
static int number_bounds(compiler *c, const json_value *v, jc_node *n) {
  static const char *const names[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};
  for (int k = 0; k < 4; k++) {
    const json_value *b = json_get(v, names[k]);
    if (!b) continue;
    if (b->type != JSON_NUMBER || !b->u.num.is_int || b->u.num.i <= -BOUND_MAX || b->u.num.i >= BOUND_MAX)
      return fail(c, "'%s' is supported only as a whole number below 10^18 in size", names[k]);
    if (k >= 2 && n->kind != N_INTEGER)
      return fail(c, "'%s' is supported only on integers (use minimum/maximum)", names[k]);
    int64_t x = b->u.num.i + (k == 2 ? 1 : k == 3 ? -1 : 0);
    if (k % 2 == 0) {
      if (!n->has_min || x > n->min) n->min = x;
      n->has_min = true;
    } else {
      if (!n->has_max || x < n->max) n->max = x;
      n->has_max = true;
    }
  }
  if (n->has_min && n->has_max && n->min > n->max) return fail(c, "the bounds leave no number");
  return HR_OK;
}

static jc_node *compile_type(compiler *c, const json_value *v, hr_str type, int depth) {
  if (hr_str_eq_cstr(type, "object")) return compile_object(c, v, depth);
  if (hr_str_eq_cstr(type, "array")) return compile_array(c, v, depth);
  if (hr_str_eq_cstr(type, "string")) {
    jc_node *n = node_new(c, N_STRING);
    if (!n) return NULL;
    if (count_range(c, v, "minLength", "maxLength", &n->min_len, &n->max_len)) return NULL;
    const json_value *format = json_get(v, "format"), *pattern = json_get(v, "pattern");
    bool email = format && format->type == JSON_STRING && hr_str_eq_cstr(hr_str_make(format->u.str.ptr, format->u.str.len), "email");
    if (format && !email &&
        (format->type != JSON_STRING || !(n->format = jf_lookup(format->u.str.ptr, format->u.str.len)))) {
      fail(c, "format \"%.40s\" is not supported (date, time, date-time, uuid and email are)",
           format->type == JSON_STRING ? format->u.str.ptr : "?");
      return NULL;
    }
    if (format && pattern) {
      fail(c, "'pattern' beside 'format' is not supported");
      return NULL;
    }
    /* A length bound beside an expression or a template could leave a
     * string with no way to end; the two would need one automaton. */
    if ((format || pattern) && (json_get(v, "minLength") || json_get(v, "maxLength"))) {
      fail(c, "'minLength'/'maxLength' beside '%s' is not supported", format ? "format" : "pattern");
      return NULL;
    }
    if (pattern || email) {
      /* email: a plain subset of the addresses validators accept */
      static const char email_re[] =
          "^[A-Za-z0-9_%+-]+(\\.[A-Za-z0-9_%+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z]{2,}$";
      if (pattern && pattern->type != JSON_STRING) {
        fail(c, "'pattern' must be a string");
        return NULL;
      }
      const char *re = pattern ? pattern->u.str.ptr : email_re;
      size_t re_len = pattern ? pattern->u.str.len : strlen(email_re);
      char msg[200];
      n->pattern = hr_arena_alloc(c->a, sizeof *n->pattern);
      if (!n->pattern) {
        fail_oom(c);
        return NULL;
      }
      if (jr_compile(re, re_len, n->pattern, msg, sizeof msg)) {
        fail(c, "%s", msg);
        return NULL;
      }
    }
    return n;
  }
  if (hr_str_eq_cstr(type, "number") || hr_str_eq_cstr(type, "integer")) {
    jc_node *n = node_new(c, hr_str_eq_cstr(type, "integer") ? N_INTEGER : N_NUMBER);
    return n && number_bounds(c, v, n) == HR_OK ? n : NULL;
  }
  static const char *const bools[] = {"true", "false"}, *const nulls[] = {"null"};
  if (hr_str_eq_cstr(type, "boolean")) return keyword_literals(c, bools, 2);
  if (hr_str_eq_cstr(type, "null")) return keyword_literals(c, nulls, 1);
  fail(c, "unknown type \"%.*s\"", (int)HR_MIN(type.len, 50), type.ptr);
  return NULL;
}

/* Whether v has a validation keyword other than those in except. */
static const char *other_validation(const json_value *v, const char *const *except) {
  for (size_t i = 0; i < v->u.obj.n; i++) {
    hr_str k = v->u.obj.members[i].key;
    if (in_list(validations, k) && !in_list(except, k)) return k.ptr;
  }
  return NULL;
}

/* Whether v is of type (a name or a list of names). */
static bool value_has_type(const json_value *v, const json_value *type) {
  if (type->type == JSON_ARRAY) {
    for (size_t i = 0; i < type->u.arr.n; i++)
      if (type->u.arr.items[i]->type == JSON_STRING && value_has_type(v, type->u.arr.items[i])) return true;
    return false;
  }
  if (type->type != JSON_STRING) return false;
  hr_str t = hr_str_make(type->u.str.ptr, type->u.str.len);
  switch (v->type) {
  case JSON_STRING: return hr_str_eq_cstr(t, "string");
  case JSON_NUMBER: return hr_str_eq_cstr(t, "number") || (hr_str_eq_cstr(t, "integer") && v->u.num.is_int);
  case JSON_TRUE:
  case JSON_FALSE: return hr_str_eq_cstr(t, "boolean");
  case JSON_NULL: return hr_str_eq_cstr(t, "null");
  case JSON_ARRAY: return hr_str_eq_cstr(t, "array");
  case JSON_OBJECT: return hr_str_eq_cstr(t, "object");
  }
  return false;
}

static jc_node *compile(compiler *c, const json_value *v, int depth) {
  if (depth > COMPILE_DEPTH_MAX) {
    fail(c, "nested deeper than %d levels", COMPILE_DEPTH_MAX);
    return NULL;
  }
  if (v->type == JSON_TRUE) return c->any;
  if (v->type != JSON_OBJECT) {
    fail(c, v->type == JSON_FALSE ? "the schema false matches nothing" : "expected a schema (an object)");
    return NULL;
  }
  for (size_t i = 0; i < v->u.obj.n; i++) {
    hr_str k = v->u.obj.members[i].key;
    if (!in_list(annotations, k) && !in_list(validations, k)) {
      fail(c, "'%.*s' is not supported (constrained output checks: type, properties, required, "
              "additionalProperties, items, minItems, maxItems, minLength, maxLength, format, pattern, minimum, "
              "maximum, exclusiveMinimum, exclusiveMaximum, enum, const, anyOf, oneOf, allOf of one "
              "schema, $ref)",
           (int)HR_MIN(k.len, 60), k.ptr);
      return NULL;
    }
  }
  const json_value *ref = json_get(v, "$ref");
  if (ref) {
    static const char *const only[] = {"$ref", NULL};
    const char *other = other_validation(v, only);
    if (other) {
      fail(c, "'%s' beside '$ref' is not supported", other);
      return NULL;
    }
    return resolve_ref(c, ref, depth);
  }
  const json_value *all = json_get(v, "allOf");
  if (all) {
    static const char *const only[] = {"allOf", NULL};
    const char *other = other_validation(v, only);
    if (all->type != JSON_ARRAY || all->u.arr.n != 1 || other) {
      fail(c, "'allOf' is supported only as one schema alone");
      return NULL;
    }
    size_t was = path_push(c, "allOf", 5, 0);
    path_push(c, NULL, 0, 0);
    jc_node *n = compile(c, all->u.arr.items[0], depth + 1);
    path_pop(c, was);
    return n;
  }
  const json_value *alts = json_get(v, "anyOf");
  const char *alts_name = "anyOf";
  if (!alts) alts = json_get(v, "oneOf"), alts_name = "oneOf";
  if (alts) {
    const char *const only[] = {alts_name, NULL}; /* anyOf beside oneOf too */
    const char *other = other_validation(v, only);
    if (other) {
      fail(c, "'%s' beside '%s' is not supported", other, alts_name);
      return NULL;
    }
    if (alts->type != JSON_ARRAY || alts->u.arr.n == 0 || alts->u.arr.n > JC_PROPS_MAX) {
      fail(c, "'%s' must be an array of 1 to %d schemas", alts_name, JC_PROPS_MAX);
      return NULL;
    }
    jc_node *n = anyof_new(c, alts->u.arr.n);
    if (!n) return NULL;
    for (size_t i = 0; i < alts->u.arr.n; i++) {
      size_t was = path_push(c, alts_name, strlen(alts_name), 0);
      path_push(c, NULL, 0, (long)i);
      n->alts[i] = compile(c, alts->u.arr.items[i], depth + 1);
      path_pop(c, was);
      if (!n->alts[i]) return NULL;
    }
    n->n_alts = (int)alts->u.arr.n;
    n->one_of = alts_name[0] == 'o';
    return n;
  }
  const json_value *en = json_get(v, "enum"), *cn = json_get(v, "const");
  if (en || cn) {
    /* beside them only a "type" every value has (pydantic writes one) */
    const char *name = en ? "enum" : "const";
    static const char *const only[] = {"enum", "const", "type", NULL};
    const char *other = other_validation(v, only);
    if (en && cn) other = "const";
    if (other) {
      fail(c, "'%s' beside '%s' is not supported", other, name);
      return NULL;
    }
    if (en && en->type != JSON_ARRAY) {
      fail(c, "'enum' must be an array");
      return NULL;
    }
    const json_value *const *vals = en ? (const json_value *const *)en->u.arr.items : &cn;
    size_t n = en ? en->u.arr.n : 1;
    const json_value *type = json_get(v, "type");
    for (size_t i = 0; type && i < n; i++)
      if (!value_has_type(vals[i], type)) {
        if (en) fail(c, "'enum' value %zu is not of the schema's 'type'", i);
        else fail(c, "'const' is not of the schema's 'type'");
        return NULL;
      }
    return literals(c, vals, n);
  }
  const json_value *type = json_get(v, "type");
  if (!type) {
    /* No type: what the keywords are about. */
    if (json_get(v, "properties") || json_get(v, "required") || json_get(v, "additionalProperties"))
      return compile_object(c, v, depth);
    if (json_get(v, "items") || json_get(v, "minItems") || json_get(v, "maxItems"))
      return compile_array(c, v, depth);
    if (json_get(v, "minLength") || json_get(v, "maxLength") || json_get(v, "format") || json_get(v, "pattern"))
      return compile_type(c, v, HR_STR("string"), depth);
    if (json_get(v, "minimum") || json_get(v, "maximum") || json_get(v, "exclusiveMinimum") ||
        json_get(v, "exclusiveMaximum"))
      return compile_type(c, v, HR_STR("number"), depth);
    return c->any;
  }
  if (type->type == JSON_STRING) return compile_type(c, v, hr_str_make(type->u.str.ptr, type->u.str.len), depth);
  if (type->type != JSON_ARRAY || type->u.arr.n == 0 || type->u.arr.n > 7) {
    fail(c, "'type' must be a type name or a list of up to 7 of them");
    return NULL;
  }
  for (size_t i = 0; i < type->u.arr.n; i++) /* each once: a list recompiles v per name */
    for (size_t j = 0; j < i; j++)
      if (type->u.arr.items[i]->type == JSON_STRING && type->u.arr.items[j]->type == JSON_STRING &&
          hr_str_eq(hr_str_make(type->u.arr.items[i]->u.str.ptr, type->u.arr.items[i]->u.str.len),
                    hr_str_make(type->u.arr.items[j]->u.str.ptr, type->u.arr.items[j]->u.str.len))) {
        fail(c, "'type' lists a type twice");
        return NULL;
      }
  /* A list of types: one alternative each ("integer" folds into "number",
   * which both begin alike). */
  bool has_number = false;
  for (size_t i = 0; i < type->u.arr.n; i++) {
    const json_value *t = type->u.arr.items[i];
    if (t->type == JSON_STRING && !strcmp(t->u.str.ptr, "number")) has_number = true;
  }
  jc_node *n = anyof_new(c, type->u.arr.n);
  if (!n) return NULL;
  for (size_t i = 0; i < type->u.arr.n; i++) {
    const json_value *t = type->u.arr.items[i];
    if (t->type != JSON_STRING) {
      fail(c, "'type' must be a type name or a list of them");
      return NULL;
    }
    hr_str name = hr_str_make(t->u.str.ptr, t->u.str.len);
    if (has_number && hr_str_eq_cstr(name, "integer")) continue;
    jc_node *alt = compile_type(c, v, name, depth);
    if (!alt) return NULL;
    n->alts[n->n_alts++] = alt;
  }
  return n;
}

static const jc_node *resolve(const jc_node *n) {
  while (n->kind == N_REF) n = n->ref;
  return n;
}

static void set_bit(uint8_t *set, unsigned b) { set[b >> 3] |= (uint8_t)(1u << (b & 7)); }
static bool has_bit(const uint8_t *set, unsigned b) { return set[b >> 3] >> (b & 7) & 1; }

/* The bytes a value of n (neither an anyOf nor a $ref) can begin with,
 * into set. */
static void kind_first(const jc_node *n, uint8_t *set) {
  const char *starts = "";
  switch (n->kind) {
  case N_ANY: starts = "{[\"-0123456789tfn"; break;
  case N_OBJECT: starts = "{"; break;
  case N_ARRAY: starts = "["; break;
  case N_STRING: starts = "\""; break;
  case N_NUMBER:
  case N_INTEGER: starts = "-0123456789"; break;
  case N_LITERALS:
    for (int i = 0; i < n->n_lits; i++)
      if (n->lit_len[i]) set_bit(set, (uint8_t)n->lit[i][0]);
    break;
  default: break;
  }
  for (const char *p = starts; *p; p++) set_bit(set, (uint8_t)*p);
}

/* A $ref must lead to a schema, not only to other references (which
 * would send the reader round in a circle). */
static int check_refs(compiler *c) {
  for (int i = 0; i < c->n_refs; i++) {
    const jc_node *n = c->refs[i].n;
    for (int hops = 0; n->kind == N_REF; hops++, n = n->ref)
      if (hops > REFS_MAX) {
        c->path_len = 0;
        c->path[0] = 0;
        return fail(c, "'$ref' points only at itself");
      }
  }
  return HR_OK;
}

/* Anyof n's leaves (nested anyOfs flattened) per first byte, n->leaves
 * (the bytes it can begin with are those above 0); memoized. A oneOf's
 * alternatives must begin with different bytes, so that no value matches
 * two; more than JC_READINGS_MAX leaves on one byte is refused (the reader
 * would fork more ways than a state holds), and so is a chain of anyOfs
 * that comes back to itself before any byte is read. */
static int count_leaves(compiler *c, jc_node *n, int depth) {
  if (n->counted == 1 || depth > COMPILE_DEPTH_MAX)
    return fail(c, "anyOf/oneOf nested too deeply, or one that contains itself");
  if (n->counted == 0) {
    uint8_t *mine = hr_arena_calloc(c->a, 256, 1);
    if (!mine) return fail_oom(c);
    n->counted = 1;
    bool seen[256] = {0};
    for (int i = 0; i < n->n_alts; i++) {
      jc_node *alt = n->alts[i];
      while (alt->kind == N_REF) alt = alt->ref; /* check_refs: refs end */
      uint8_t sub[256] = {0};
      if (alt->kind == N_ANYOF) {
        int rc = count_leaves(c, alt, depth + 1);
        if (rc) return rc;
        memcpy(sub, alt->leaves, sizeof sub);
      } else {
        uint8_t set[32] = {0};
        kind_first(alt, set);
        for (int b = 0; b < 256; b++) sub[b] = has_bit(set, (unsigned)b);
      }
      for (int b = 0; b < 256; b++) {
        if (n->one_of && sub[b] && seen[b]) {
          c->path_len = 0;
          c->path[0] = 0;
          return fail(c, "oneOf alternatives must begin differently (say, an object or null), so that "
                         "no value matches two; two of one of them can both begin with '%c' (anyOf "
                         "alternatives may overlap)",
                      b >= 0x20 && b < 0x7f ? b : '?');
        }
        mine[b] = (uint8_t)HR_MIN(255, mine[b] + sub[b]);
        seen[b] |= sub[b] > 0;
      }
    }
    for (int b = 0; b < 256; b++) {
      if (mine[b] > JC_READINGS_MAX) {
        c->path_len = 0;
        c->path[0] = 0;
        return fail(c, "more than %d alternatives of one anyOf can begin with '%c'", JC_READINGS_MAX,
                    b >= 0x20 && b < 0x7f ? b : '?');
      }
    }
    n->counted = 2;
    n->leaves = mine;
  }
  return HR_OK;
}

static int check_anyofs(compiler *c) {
  for (int k = 0; k < c->n_anyofs; k++) {
    int rc = count_leaves(c, c->anyofs[k], 0);
    if (rc) return rc;
  }
  return HR_OK;
}

static int readings_of(compiler *c, jc_node *n, int *low, bool fork);

/* The readings each first byte of anyOf n's values starts, added into acc:
 * each fitting leaf brings its own. top: the outermost anyOf's leaves per
 * byte (a leaf that shares a byte with another is a fork). */
static int add_leaf_readings(compiler *c, const jc_node *n, const uint8_t *top, uint32_t *acc, int *low) {
  for (int i = 0; i < n->n_alts; i++) {
    jc_node *alt = n->alts[i];
    while (alt->kind == N_REF) alt = alt->ref;
    if (alt->kind == N_ANYOF) {
      int rc = add_leaf_readings(c, alt, top, acc, low);
      if (rc) return rc;
      continue;
    }
    uint8_t set[32] = {0};
    kind_first(alt, set);
    bool fork = false;
    for (int b = 0; b < 256 && !fork; b++) fork = has_bit(set, (unsigned)b) && top[b] > 1;
    int r = readings_of(c, alt, low, fork);
    if (r < 0) return r;
    for (int b = 0; b < 256; b++)
      if (has_bit(set, (unsigned)b)) acc[b] = HR_MIN(acc[b] + (uint32_t)r, 1u << 20);
  }
  return HR_OK;
}

/* Anyof n's readings into *r: the most any first byte starts. Its own
 * frame, so the walk's recursion does not carry the per-byte sums. */
__attribute__((noinline)) static int anyof_readings(compiler *c, const jc_node *n, int *low, int *r) {
  uint32_t acc[256] = {0};
  int rc = add_leaf_readings(c, n, n->leaves, acc, low);
  for (int b = 0; b < 256; b++) *r = HR_MAX(*r, (int)HR_MIN(acc[b], 1u << 20));
  return rc;
}

/* The readings a value of n may need at once: an anyOf's alternatives that
 * begin alike each bring theirs (summed), any other node the most of its
 * parts (sibling values end on the same byte, and their readings merge).
 * *low: the shallowest walk position a cycle below reached. A node inside
 * a cycle waits (pending) for the cycle's head, which then gives every node
 * of it its own count: cycles through forks being refused, a cycle's nodes
 * all reach the same parts, so they need the same readings (each node is
 * worked out once, as in Tarjan's components). fork: n is reached as
 * an anyOf leaf that shares a first byte with another; a cycle through
 * such a step could need ever more readings: refused. Returns the count,
 * or a negative error. */
static int readings_of(compiler *c, jc_node *n, int *low, bool fork) {
  while (n->kind == N_REF) n = n->ref;
  if (n->readings) return n->readings;
  if (n->pending_low) {
    if (n->pending_low - 1 < *low) *low = n->pending_low - 1;
    return n->pending_readings;
  }
  if (++c->steps > WALK_STEPS_MAX) return fail(c, "the schema's unions are too intricate to check");
  if (n->walk_at) {
    bool multiplies = fork; /* the cycle's steps: into walk[head + 1 ..], and this one */
    for (int i = n->walk_at; i < c->walk_len; i++) multiplies |= c->forks[i];
    if (multiplies) {
        c->path_len = 0;
        c->path[0] = 0;
        return fail(c, "a recursive schema may not recurse through an anyOf alternative that begins "
                       "like another (each level would multiply the readings)");
      }
    if (n->walk_at - 1 < *low) *low = n->walk_at - 1;
    return 1;
  }
  if (c->walk_len == WALK_MAX) return fail(c, "the schema is nested too deeply to check");
  int at = c->walk_len, pending_from = c->n_pending;
  c->forks[at] = fork;
  c->walk[c->walk_len++] = n;
  n->walk_at = at + 1;
  int my_low = INT32_MAX, r = 1, rc = HR_OK;
  jc_node *parts[3] = {NULL, NULL, NULL};
  switch (n->kind) {
  case N_OBJECT:
    for (int i = 0; i < n->n_props && rc >= 0; i++) {
      rc = readings_of(c, n->prop[i], &my_low, false);
      r = HR_MAX(r, rc);
    }
    for (int i = 0; n->call_args && i < n->prop[0]->n_lits && rc >= 0; i++) {
      rc = readings_of(c, n->call_args[i], &my_low, false);
      r = HR_MAX(r, rc);
    }
    parts[0] = n->additional;
    break;
  case N_ARRAY: parts[0] = n->items; break;
  case N_ANYOF: rc = anyof_readings(c, n, &my_low, &r); break;
  default: break; /* N_ANY's parts are plain values: one reading */
  }
  for (int i = 0; i < 3 && parts[i] && rc >= 0; i++) {
    rc = readings_of(c, parts[i], &my_low, false);
    r = HR_MAX(r, rc);
  }
  c->walk_len--;
  n->walk_at = 0;
  if (rc < 0) return rc;
  if (my_low >= at) { /* the head of its cycles (their nodes are pending), or in none */
    n->readings = r;
    for (int i = pending_from; i < c->n_pending; i++) {
      c->pending[i]->readings = r;
      c->pending[i]->pending_low = 0;
    }
    c->n_pending = pending_from;
  } else {
    if (c->n_pending == NODES_MAX) return fail(c, "the schema is too large to check");
    n->pending_low = my_low + 1;
    n->pending_readings = r;
    c->pending[c->n_pending++] = n;
    if (my_low < *low) *low = my_low;
  }
  return r;
}

/* Whether the reader can follow every overlapping anyOf of root at once. */
static int check_readings(compiler *c, jc_node *root) {
  int low = INT32_MAX;
  c->steps = 0;
  c->walk_len = 0;
  c->n_pending = 0;
  if (!c->pending && !(c->pending = hr_arena_calloc(c->a, NODES_MAX, sizeof *c->pending))) return fail_oom(c);
  int r = readings_of(c, root, &low, false);
  if (r < 0) return HR_EINVAL;
  if (r > JC_READINGS_MAX) {
    c->path_len = 0;
    c->path[0] = 0;
    return fail(c, "anyOf alternatives that begin alike, nested in one another, would need %d readings "
                   "at once (at most %d)",
                r, JC_READINGS_MAX);
  }
  return HR_OK;
}

/* A call's root: {"name": one of the names, "arguments": the params of
 * that name}, the name first (it picks the arguments' automaton). */
static jc_node *call_root(compiler *c, const jc_function *fns, int n_fns, jc_node **params) {
  jc_node *n = node_new(c, N_OBJECT), *names = literals_new(c, (size_t)n_fns);
  static const char *const keys[] = {"\"name\"", "\"arguments\""};
  if (!n || !names || !(n->key = hr_arena_calloc(c->a, 2, sizeof *n->key)) ||
      !(n->key_len = hr_arena_calloc(c->a, 2, sizeof *n->key_len)) ||
      !(n->prop = hr_arena_calloc(c->a, 2, sizeof *n->prop))) {
    fail_oom(c);
    return NULL;
  }
  for (int i = 0; i < n_fns; i++) {
    if (!(names->lit[i] = quoted(c, fns[i].name, fns[i].name_len, &names->lit_len[i]))) return NULL;
    for (int j = 0; j < i; j++)
      if (names->lit_len[j] == names->lit_len[i] && !memcmp(names->lit[j], names->lit[i], names->lit_len[i])) {
        fail(c, "two tools are named \"%.*s\"", (int)HR_MIN(fns[i].name_len, 100), fns[i].name);
        return NULL;
      }
  }
  for (int i = 0; i < 2; i++) n->key[i] = keys[i], n->key_len[i] = strlen(keys[i]);
  n->prop[0] = names;
  n->prop[1] = params[0];
  n->call_args = params;
  n->n_props = 2;
  n->required = 3;
  return n;
}

/* Sets up a compiler and a schema with the shared "any" nodes. */
static int begin(compiler **cp, jc_schema **sp, char *err, size_t err_len) {
  if (err && err_len) err[0] = 0;
  jc_schema *s = calloc(1, sizeof *s);
  compiler *c = calloc(1, sizeof *c);
  if (s) atomic_init(&s->refs, 1);
  if (!s || !c || !(s->a = hr_arena_new(16384))) {
    free(c);
    jc_free(s);
    return HR_ENOMEM;
  }
  c->a = s->a;
  c->err = err;
  c->err_len = err_len;
  c->root_label = "schema";
  static const char *const kw[] = {"true", "false", "null"};
  jc_node *any = c->any = node_new(c, N_ANY);
  if (!any || !(any->as_obj = node_new(c, N_OBJECT)) || !(any->as_arr = node_new(c, N_ARRAY)) ||
      !(any->as_str = node_new(c, N_STRING)) || !(any->as_lit = keyword_literals(c, kw, 3))) {
    free(c);
    jc_free(s);
    return HR_ENOMEM;
  }
  any->as_obj->additional = any;
  any->as_arr->items = any;
  any->as_arr->max_items = UINT32_MAX;
  any->as_str->max_len = UINT32_MAX;
  *cp = c;
  *sp = s;
  return HR_OK;
}

/* An object schema from doc ($refs resolve in it; NULL: any object). */
static jc_node *compile_object_root(compiler *c, const json_value *doc) {
  if (!doc) return c->any->as_obj;
  c->doc = doc;
  jc_node *root = compile(c, doc, 0);
  if (!root || check_refs(c) || check_anyofs(c) || check_readings(c, root)) return NULL;
  if (resolve(root)->kind != N_OBJECT) {
    c->path_len = 0;
    c->path[0] = 0;
    fail(c, "the root must be an object schema (\"type\": \"object\")");
    return NULL;
  }
  return root;
}

static int finish(compiler *c, jc_schema *s, jc_node *root, jc_schema **out) {
  bool oom = c->oom;
  free(c);
  if (!root) {
    jc_free(s);
    return oom ? HR_ENOMEM : HR_EINVAL;
  }
  s->root = root;
  *out = s;
  return HR_OK;
}

int jc_compile(const json_value *schema, jc_schema **out, char *err, size_t err_len) {
  compiler *c;
  jc_schema *s;
  *out = NULL;
  int rc = begin(&c, &s, err, err_len);
  return rc ? rc : finish(c, s, compile_object_root(c, schema), out);
}

int jc_compile_calls(const jc_function *fns, int n_fns, jc_schema **out, int *bad, char *err,
                     size_t err_len) {
  compiler *c;
  jc_schema *s;
  *out = NULL;
  *bad = -1;
  if (n_fns < 1 || n_fns > JC_PROPS_MAX) {
    if (err && err_len) snprintf(err, err_len, "a call is of 1 to %d functions", JC_PROPS_MAX);
    return HR_EINVAL;
  }
  int rc = begin(&c, &s, err, err_len);
  if (rc) return rc;
  c->root_label = "parameters";
  jc_node **params = hr_arena_calloc(c->a, (size_t)n_fns, sizeof *params), *root = NULL;
  if (!params) fail_oom(c);
  for (int i = 0; params && i < n_fns; i++) {
    /* each function's $refs resolve in its own parameters */
    c->n_refs = 0;
    c->n_anyofs = 0;
    if (!(params[i] = compile_object_root(c, fns[i].params))) {
      *bad = i;
      return finish(c, s, NULL, out);
    }
  }
  if (params) root = call_root(c, fns, n_fns, params);
  return finish(c, s, root, out);
}

jc_schema *jc_share(jc_schema *s) {
  if (s) atomic_fetch_add(&s->refs, 1);
  return s;
}

void jc_free(jc_schema *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
  hr_arena_free(s->a);
  free(s);
}

/* ---- reading ---------------------------------------------------------------- */

enum { F_VALUE, F_OBJECT, F_ARRAY, F_STRING, F_NUMBER, F_LITERAL };
enum { OB_OPEN, OB_KEY, OB_COLON, OB_VALUE, OB_AFTER, OB_NEXT };
enum { AR_OPEN, AR_VALUE, AR_AFTER, AR_NEXT };
enum { NU_START, NU_MINUS, NU_ZERO, NU_INT, NU_DOT, NU_FRAC, NU_E, NU_ESIGN, NU_EXP };

#define NUMBER_BYTES_MAX 32

typedef enum {
  R_NO,    /* the byte is refused */
  R_YES,   /* consumed */
  R_WS,    /* consumed as white space between tokens */
  R_AGAIN, /* the frames changed: give the byte to the top one */
} step;

static bool is_ws(uint8_t c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static uint64_t all_props(const jc_node *n) {
  return n->n_props >= 64 ? ~0ull : (1ull << n->n_props) - 1;
}

void jc_init(const jc_schema *s, jc_state *set) {
  set->n = 1;
  set->done = false;
  jc_stack *st = &set->s[0];
  st->depth = 1;
  st->ws = 0;
  st->done = false;
  st->pick = 0;
  st->n_keys = 0;
  memset(&st->f[0], 0, sizeof st->f[0]);
  st->f[0].kind = F_VALUE;
  st->f[0].node = s->root;
}

static void stack_copy(jc_stack *dst, const jc_stack *src) {
  dst->depth = src->depth;
  dst->ws = src->ws;
  dst->done = src->done;
  dst->pick = src->pick;
  dst->n_keys = src->n_keys;
  memcpy(dst->f, src->f, sizeof src->f[0] * (size_t)src->depth);
  memcpy(dst->keys, src->keys, sizeof src->keys[0] * (size_t)src->n_keys);
}

static bool stack_same(const jc_stack *a, const jc_stack *b) {
  return a->depth == b->depth && a->ws == b->ws && a->done == b->done && a->pick == b->pick &&
         a->n_keys == b->n_keys && !memcmp(a->f, b->f, sizeof a->f[0] * (size_t)a->depth) &&
         !memcmp(a->keys, b->keys, sizeof a->keys[0] * (size_t)a->n_keys);
}

void jc_copy(jc_state *dst, const jc_state *src) {
  dst->n = src->n;
  dst->done = src->done;
  for (int i = 0; i < src->n; i++) stack_copy(&dst->s[i], &src->s[i]);
}

/* The leaves of anyOf n (nested anyOfs flattened) a value beginning with c
 * may be, in order, at most JC_READINGS_MAX. */
static void fitting(const jc_node *n, uint8_t c, const jc_node **fit, int *n_fit, int depth) {
  for (int i = 0; i < n->n_alts && *n_fit < JC_READINGS_MAX; i++) {
    const jc_node *alt = resolve(n->alts[i]);
    if (alt->kind == N_ANYOF) {
      if (alt->leaves[c] && depth < COMPILE_DEPTH_MAX) fitting(alt, c, fit, n_fit, depth + 1);
      continue;
    }
    uint8_t set[32] = {0};
    kind_first(alt, set);
    if (has_bit(set, c)) fit[(*n_fit)++] = alt;
  }
}

static bool push(jc_stack *st, int kind, const jc_node *node) {
  if (st->depth == JC_DEPTH_MAX) return false;
  jc_frame *f = &st->f[st->depth++];
  memset(f, 0, sizeof *f);
  f->kind = (uint8_t)kind;
  f->node = node;
  return true;
}

/* The object below has read its key: which property is it? */
static bool key_done(jc_stack *st, jc_frame *o) {
  const jc_node *n = o->node;
  for (uint64_t m = o->cand; m; m &= m - 1) {
    int i = __builtin_ctzll(m);
    if (n->key_len[i] != o->key_pos) continue;
    if (o->seen >> i & 1) return false; /* each key once */
    o->prop = i;
    o->phase = OB_COLON;
    return true;
  }
  if (!n->additional) return false;
  for (int k = o->keys_from; k < st->n_keys; k++)
    if (st->keys[k] == o->key_hash) return false; /* each key once */
  if (st->n_keys == JC_KEYS_MAX) return false;
  st->keys[st->n_keys++] = o->key_hash;
  o->prop = -1;
  o->phase = OB_COLON;
  return true;
}

/* The top frame's value is complete: pop it and tell the frame below. */
static bool pop_done(jc_stack *st) {
  const jc_frame *done = &st->f[st->depth - 1];
  if (done->kind == F_OBJECT) st->n_keys = done->keys_from;
  st->depth--;
  if (st->depth == 0) {
    st->done = true;
    return true;
  }
  jc_frame *p = &st->f[st->depth - 1];
  if (p->kind == F_OBJECT) {
    if (p->phase == OB_KEY) return key_done(st, p);
    if (p->node->call_args && p->prop == 0 && done->kind == F_LITERAL) {
      /* the call's name: which function, so which arguments */
      for (uint64_t m = done->cand; m; m &= m - 1)
        if (done->node->lit_len[__builtin_ctzll(m)] == done->pos) p->value = (uint64_t)__builtin_ctzll(m);
    }
    if (p->prop >= 0) p->seen |= 1ull << p->prop;
    p->phase = OB_AFTER;
    return true;
  }
  if (p->kind == F_ARRAY) {
    p->count++;
    p->phase = AR_AFTER;
    return true;
  }
  return false;
}

/* set: the readings st is one of; a value that may be several of an
 * anyOf's alternatives forks st, one reading each (the copies are fed c
 * after st, with their pick). */
static step on_value(jc_state *set, jc_stack *st, jc_frame *f, uint8_t c) {
  if (is_ws(c)) return R_WS;
  const jc_node *n = resolve(f->node);
  if (n->kind == N_ANYOF) {
    const jc_node *fit[JC_READINGS_MAX];
    int n_fit = 0;
    fitting(n, c, fit, &n_fit, 0);
    if (!n_fit) return R_NO;
    int pick = st->pick;
    st->pick = 0;
    if (pick == 0) /* check_readings keeps the forks within the set */
      for (int j = 1; j < n_fit && set->n < JC_READINGS_MAX; j++) {
        jc_stack *fork = &set->s[set->n++];
        stack_copy(fork, st);
        fork->pick = j;
      }
    n = fit[pick < n_fit ? pick : 0];
  }
  if (n->kind == N_ANY) {
    if (c == '{') n = n->as_obj;
    else if (c == '[') n = n->as_arr;
    else if (c == '"') n = n->as_str;
    else if (c == 't' || c == 'f' || c == 'n') n = n->as_lit;
    else if (!(c == '-' || is_digit(c))) return R_NO;
    else {
      f->kind = F_NUMBER; /* any number */
      f->node = NULL;
      f->phase = NU_START;
      return R_AGAIN;
    }
  }
  f->node = n;
  switch (n->kind) {
  case N_OBJECT:
    if (c != '{') return R_NO;
    f->kind = F_OBJECT;
    f->phase = OB_OPEN;
    f->keys_from = (uint16_t)st->n_keys;
    return R_YES;
  case N_ARRAY:
    if (c != '[') return R_NO;
    f->kind = F_ARRAY;
    f->phase = AR_OPEN;
    return R_YES;
  case N_STRING:
    if (c != '"') return R_NO;
    f->kind = F_STRING;
    return R_YES;
  case N_NUMBER:
  case N_INTEGER:
    f->kind = F_NUMBER;
    f->phase = NU_START;
    return R_AGAIN;
  case N_LITERALS:
    f->kind = F_LITERAL;
    f->cand = n->n_lits >= 64 ? ~0ull : (1ull << n->n_lits) - 1;
    f->pos = 0;
    return R_AGAIN;
  default:
    return R_NO;
  }
}

static step on_object(jc_stack *st, jc_frame *f, uint8_t c) {
  const jc_node *n = f->node;
  switch (f->phase) {
  case OB_OPEN:
  case OB_NEXT:
    if (is_ws(c)) return R_WS;
    if (c == '}' && f->phase == OB_OPEN)
      return (n->required & ~f->seen) == 0 && pop_done(st) ? R_YES : R_NO;
    if (c != '"') return R_NO;
    f->cand = n->additional ? all_props(n) : all_props(n) & ~f->seen;
    if (n->call_args && !(f->seen & 1)) f->cand = 1; /* a call's name comes first */
    if (!f->cand && !n->additional) return R_NO;
    f->key_pos = 1; /* every key's text begins with its quote */
    f->key_hash = 0xcbf29ce484222325ull; /* FNV-1a */
    f->phase = OB_KEY;
    if (!push(st, F_STRING, NULL)) return R_NO;
    st->f[st->depth - 1].is_key = 1;
    return R_YES;
  case OB_COLON:
    if (is_ws(c)) return R_WS;
    if (c != ':') return R_NO;
    f->phase = OB_VALUE;
    const jc_node *value = f->prop < 0 ? n->additional : n->call_args && f->prop == 1 ? n->call_args[f->value] : n->prop[f->prop];
    return push(st, F_VALUE, value) ? R_YES : R_NO;
  case OB_AFTER:
    if (is_ws(c)) return R_WS;
    if (c == ',') {
      if (!n->additional && (all_props(n) & ~f->seen) == 0) return R_NO; /* no key is left */
      f->phase = OB_NEXT;
      return R_YES;
    }
    if (c == '}') return (n->required & ~f->seen) == 0 && pop_done(st) ? R_YES : R_NO;
    return R_NO;
  default:
    return R_NO; /* OB_KEY, OB_VALUE: a frame above reads */
  }
}

static step on_array(jc_stack *st, jc_frame *f, uint8_t c) {
  const jc_node *n = f->node;
  switch (f->phase) {
  case AR_OPEN:
  case AR_NEXT:
    if (is_ws(c)) return R_WS;
    if (c == ']' && f->phase == AR_OPEN) return n->min_items == 0 && pop_done(st) ? R_YES : R_NO;
    if (f->count >= n->max_items) return R_NO;
    f->phase = AR_VALUE;
    return push(st, F_VALUE, n->items) ? R_AGAIN : R_NO;
  case AR_AFTER:
    if (is_ws(c)) return R_WS;
    if (c == ',') {
      if (f->count >= n->max_items) return R_NO;
      f->phase = AR_NEXT;
      return R_YES;
    }
    if (c == ']') return f->count >= n->min_items && pop_done(st) ? R_YES : R_NO;
    return R_NO;
  default:
    return R_NO;
  }
}

/* A byte of a key narrows the object's candidate properties. */
/* escaping: c is part of an escape sequence. A key may hold escapes only
 * where it still spells a declared property as that property's name is
 * written (its canonical JSON), so that "\u0061" cannot pass as "a" (and be
 * read as it by any parser) while the bytes compare as another key. */
static bool key_byte(jc_stack *st, uint8_t c, bool escaping) {
  jc_frame *o = &st->f[st->depth - 2];
  const jc_node *n = o->node;
  uint64_t keep = 0;
  for (uint64_t m = o->cand; m; m &= m - 1) {
    int i = __builtin_ctzll(m);
    if (n->key_len[i] > o->key_pos && (uint8_t)n->key[i][o->key_pos] == c) keep |= 1ull << i;
  }
  o->cand = keep;
  o->key_pos++;
  o->key_hash = (o->key_hash ^ c) * 0x100000001b3ull;
  return keep || (n->additional && !escaping);
}

static step on_string(jc_stack *st, jc_frame *f, uint8_t c) {
  uint32_t min_len = f->node ? f->node->min_len : 0;
  uint32_t max_len = f->node ? f->node->max_len : UINT32_MAX;
  bool end = false;
  if (f->node && f->node->pattern) { /* bytes the expression can take: no escapes */
    const jr_prog *re = f->node->pattern;
    uint64_t live = f->count == 0 && !f->value ? 1 : f->value; /* 1: only the start */
    if (c == '"') {
      if (!jr_matches(re, live) || f->count < min_len) return R_NO;
      return pop_done(st) ? R_YES : R_NO;
    }
    if ((c & 0xc0) != 0x80 && f->count >= max_len) return R_NO;
    if (!(live = jr_step(re, live, c))) return R_NO;
    f->value = live;
    if ((c & 0xc0) != 0x80) f->count++;
    return R_YES;
  }
  if (f->node && f->node->format) { /* its template's bytes only: no escapes */
    if (c == '"') {
      if (!jf_complete(f->node->format, &f->fmt) || f->count < min_len) return R_NO;
      return pop_done(st) ? R_YES : R_NO;
    }
    if (f->count >= max_len || !jf_step(f->node->format, &f->fmt, c)) return R_NO;
    f->count++;
    return R_YES;
  }
  bool escaping = f->esc || (c == '\\' && !f->utf8);
  if (f->utf8) {
    if (c < 0x80 || c > 0xbf) return R_NO;
    /* no overlong forms, no surrogates, nothing past U+10FFFF */
    if ((f->lead == 0xe0 && c < 0xa0) || (f->lead == 0xed && c > 0x9f) ||
        (f->lead == 0xf0 && c < 0x90) || (f->lead == 0xf4 && c > 0x8f))
      return R_NO;
    f->lead = 0;
    f->utf8--;
  } else if (f->esc == 1) {
    if (c == 'u') f->esc = 2;
    else if (strchr("\"\\/bfnrt", c) && c) f->esc = 0;
    else return R_NO;
  } else if (f->esc >= 2) {
    bool hex = is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return R_NO;
    if (f->esc == 2) f->lead = c;
    /* \uD800-\uDFFF: surrogates go in as UTF-8 instead */
    if (f->esc == 3 && (f->lead == 'd' || f->lead == 'D') && !(c >= '0' && c <= '7')) return R_NO;
    f->esc = f->esc == 5 ? 0 : f->esc + 1;
  } else if (c == '"') {
    if (f->count < min_len) return R_NO;
    end = true;
  } else if (c < 0x20) {
    return R_NO;
  } else {
    if (f->count >= max_len) return R_NO;
    f->count++; /* a character begins: a byte, an escape or a lead byte */
    if (c == '\\') {
      f->esc = 1;
    } else if (c >= 0x80) {
      if (c >= 0xc2 && c <= 0xdf) f->utf8 = 1;
      else if (c >= 0xe0 && c <= 0xef) f->utf8 = 2;
      else if (c >= 0xf0 && c <= 0xf4) f->utf8 = 3;
      else return R_NO;
      f->lead = (c == 0xe0 || c == 0xed || c == 0xf0 || c == 0xf4) ? c : 0;
    }
  }
  if (f->is_key && !key_byte(st, c, escaping)) return R_NO;
  if (end) return pop_done(st) ? R_YES : R_NO;
  return R_YES;
}

/* Whether a number of n with integer part I (negative: neg) and a
 * fraction that is zero (!frac) or not lies within n's bounds. A nonzero
 * fraction puts it strictly between two whole numbers a and a + 1, and
 * the bounds are whole. */
static bool in_bounds(const jc_node *n, bool neg, uint64_t I, bool frac) {
  if (I >= (uint64_t)BOUND_MAX) return false;
  int64_t lo = neg ? -(int64_t)I - (frac ? 1 : 0) : (int64_t)I, hi = lo + (frac ? 1 : 0);
  return (!n->has_min || lo >= n->min) && (!n->has_max || hi <= n->max);
}

/* Whether some number that begins like f's digits so far (after c, which
 * made the phase next) can still land within n's bounds: in the integer
 * part, any continuation of v (v, v0..v9, v00..v99...; anything before the
 * first digit); in the fraction, I = v with the fraction zero or not. */
static bool bounds_reachable(const jc_node *n, const jc_frame *f, int next) {
  bool neg = f->neg, may_frac = n->kind == N_NUMBER;
  uint64_t v = f->value;
  if (next == NU_DOT || next == NU_FRAC)
    return (!f->frac_nz && in_bounds(n, neg, v, false)) || in_bounds(n, neg, v, true);
  /* the integer part's candidates: [lo, hi] = [v 10^j, (v+1) 10^j - 1] */
  uint64_t lo = v, hi = v;
  if (next == NU_MINUS || next == NU_START) lo = 0, hi = (uint64_t)BOUND_MAX; /* any */
  for (int j = 0; j < 19 && lo < (uint64_t)BOUND_MAX; j++) {
    uint64_t top = hi < (uint64_t)BOUND_MAX ? hi : (uint64_t)BOUND_MAX - 1;
    /* within [lo, top] the best candidate for each bound is an end, and
     * in_bounds is monotone in I on each side of zero */
    for (int fr = 0; fr <= (may_frac ? 1 : 0); fr++) {
      if (in_bounds(n, neg, lo, fr) || in_bounds(n, neg, top, fr)) return true;
      if (!neg && n->has_min && n->min > (int64_t)lo && (uint64_t)n->min <= top &&
          in_bounds(n, neg, (uint64_t)n->min, fr))
        return true;
      if (neg && n->has_max && n->max < 0 && -n->max > (int64_t)lo && (uint64_t)-n->max <= top &&
          in_bounds(n, neg, (uint64_t)-n->max, fr))
        return true;
    }
    if (next == NU_ZERO || v == 0) break; /* a leading zero takes no digits */
    lo = lo * 10, hi = hi * 10 + 9;
  }
  return false;
}

static step on_number(jc_stack *st, jc_frame *f, uint8_t c) {
  const jc_node *n = f->node;
  bool bounded = n && (n->has_min || n->has_max);
  bool int_only = n && n->kind == N_INTEGER, digit = is_digit(c);
  bool exp = !int_only && !bounded && (c == 'e' || c == 'E'), dot = !int_only && c == '.';
  int next = -1;
  switch (f->phase) {
  case NU_START: next = c == '-' ? NU_MINUS : c == '0' ? NU_ZERO : digit ? NU_INT : -2; break;
  case NU_MINUS: next = c == '0' ? NU_ZERO : digit ? NU_INT : -2; break;
  case NU_ZERO: next = dot ? NU_DOT : exp ? NU_E : -1; break;
  case NU_INT: next = digit ? NU_INT : dot ? NU_DOT : exp ? NU_E : -1; break;
  case NU_DOT: next = digit ? NU_FRAC : -2; break;
  case NU_FRAC: next = digit ? NU_FRAC : exp ? NU_E : -1; break;
  case NU_E: next = (c == '+' || c == '-') ? NU_ESIGN : digit ? NU_EXP : -2; break;
  case NU_ESIGN: next = digit ? NU_EXP : -2; break;
  case NU_EXP: next = digit ? NU_EXP : -1; break;
  }
  if (next == -2) return R_NO;
  if (next == -1) { /* the number ended before c */
    if (bounded && !in_bounds(n, f->neg, f->value, f->frac_nz)) return R_NO;
    return pop_done(st) ? R_AGAIN : R_NO;
  }
  /* a sign, dot or exponent needs one more byte: never the 33rd */
  bool unfinished = next == NU_MINUS || next == NU_DOT || next == NU_E || next == NU_ESIGN;
  if (++f->count > NUMBER_BYTES_MAX || (unfinished && f->count == NUMBER_BYTES_MAX)) return R_NO;
  if (c == '-' && next == NU_MINUS) f->neg = 1;
  else if (digit && (next == NU_INT || next == NU_ZERO))
    f->value = f->value < (uint64_t)BOUND_MAX ? f->value * 10 + (uint64_t)(c - '0') : f->value;
  else if (digit && next == NU_FRAC && c != '0') f->frac_nz = 1;
  if (bounded && !bounds_reachable(n, f, next)) return R_NO;
  f->phase = (uint8_t)next;
  return R_YES;
}

static step on_literal(jc_stack *st, jc_frame *f, uint8_t c) {
  const jc_node *n = f->node;
  uint64_t keep = 0;
  bool complete = false, longer = false;
  for (uint64_t m = f->cand; m; m &= m - 1) {
    int i = __builtin_ctzll(m);
    if (n->lit_len[i] == f->pos) complete = true;
    else if ((uint8_t)n->lit[i][f->pos] == c) {
      keep |= 1ull << i;
      if (n->lit_len[i] > (size_t)f->pos + 1) longer = true;
    }
  }
  if (keep) {
    f->cand = keep;
    f->pos++;
    if (!longer) return pop_done(st) ? R_YES : R_NO; /* every candidate is whole */
    return R_YES;
  }
  if (complete) return pop_done(st) ? R_AGAIN : R_NO;
  return R_NO;
}

static inline __attribute__((always_inline)) bool feed_byte(jc_state *set, jc_stack *st, uint8_t c) {
  for (int hops = 0; hops < 8; hops++) {
    if (st->done || st->depth == 0) return false;
    jc_frame *f = &st->f[st->depth - 1];
    step r = R_NO;
    switch (f->kind) {
    case F_VALUE: r = on_value(set, st, f, c); break;
    case F_OBJECT: r = on_object(st, f, c); break;
    case F_ARRAY: r = on_array(st, f, c); break;
    case F_STRING: r = on_string(st, f, c); break;
    case F_NUMBER: r = on_number(st, f, c); break;
    case F_LITERAL: r = on_literal(st, f, c); break;
    }
    switch (r) {
    case R_NO: return false;
    case R_YES: st->ws = 0; return true;
    case R_WS:
      /* between tokens: nothing, one space, or a new line and an indent
       * (as llama.cpp's JSON grammars allow), never blank lines */
      if (st->ws == 0) {
        st->ws = c == ' ' ? -1 : c == '\n' ? 1 : 0;
        return st->ws != 0;
      }
      if (st->ws < 0 || !(c == ' ' || c == '\t') || st->ws > JC_WS_MAX) return false;
      st->ws++;
      return true;
    case R_AGAIN: break;
    }
  }
  return false;
}

/* Feeds c to every reading (forks made on the way are fed it too); those
 * that refuse it end, and a reading equal to an earlier one merges. */
static bool feed_set(jc_state *set, uint8_t c) {
  bool ok[JC_READINGS_MAX];
  ok[0] = feed_byte(set, &set->s[0], c);
  if (set->n == 1) { /* one reading that did not fork: most bytes */
    set->done = set->s[0].done;
    return ok[0];
  }
  for (int i = 1; i < set->n; i++) ok[i] = feed_byte(set, &set->s[i], c);
  int kept = 0;
  set->done = false;
  for (int i = 0; i < set->n; i++) {
    if (!ok[i]) continue;
    bool dup = false;
    for (int j = 0; j < kept && !dup; j++) dup = stack_same(&set->s[j], &set->s[i]);
    if (dup) continue;
    if (kept != i) stack_copy(&set->s[kept], &set->s[i]);
    set->done |= set->s[kept].done;
    kept++;
  }
  set->n = kept;
  return kept > 0;
}

bool jc_feed(jc_state *set, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!feed_set(set, (uint8_t)p[i])) return false;
  return true;
}
