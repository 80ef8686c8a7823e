/* jinja_eval.c — walks the syntax tree: statements write to the render's
 * output buffer, expressions return values. Semantics follow Jinja2 on
 * Python: attribute access tries the Python attribute (a method) before the
 * item and subscription the item before the attribute; a missing name,
 * attribute or item is Undefined, which prints as nothing and is false but
 * fails when used further; `and`/`or` return an operand; + on a Markup
 * (|safe) string escapes the other side.
 *
 * Scoping as Jinja2's: a for loop, a macro call and with/generation blocks
 * open a scope whose `set`s do not leak out; `if` opens none; a macro sees
 * the scope it was defined in (so top-level variables as they are when it
 * runs). Namespaces are shared by reference, which is how templates carry
 * state out of loops.
 *
 * Text that must become a value (macro results, block set, filter blocks,
 * str() of containers) is written to the end of the output buffer and cut
 * back off, so there is one buffer and one output limit. */
#include "jinja_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEST_MAX 1500

enum { EXEC_OK = 0, EXEC_BREAK = 1, EXEC_CONTINUE = 2 };

/* ---- errors and limits ------------------------------------------------------------ */

int jinja_fail(jinja_render *r, int code, const char *fmt, ...) {
  if (r->err_code) return r->err_code;
  r->err_code = code;
  if (r->err && r->err_len) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err, r->err_len, "line %u: %s", (unsigned)r->line, msg);
  }
  return code;
}

int jinja_raise(jinja_render *r, const char *msg, size_t len) {
  if (r->err_code) return r->err_code;
  r->err_code = HR_EINVAL;
  if (r->err && r->err_len) snprintf(r->err, r->err_len, "%.*s", (int)HR_MIN(len, 1u << 20), msg);
  return r->err_code;
}

int jinja_step(jinja_render *r, uint64_t n) {
  r->steps += n;
  if (r->steps > r->steps_max)
    return jinja_fail(r, HR_ERANGE, "template ran more than %llu steps", (unsigned long long)r->steps_max);
  return 0;
}

void *jinja_alloc(jinja_render *r, size_t bytes) {
  if (r->err_code) return NULL;
  if (hr_arena_used(r->a) - r->mem_base + bytes > r->mem_max) {
    jinja_fail(r, HR_ERANGE, "template used more than %zu bytes of memory", r->mem_max);
    return NULL;
  }
  void *p = hr_arena_alloc(r->a, bytes);
  if (!p) jinja_fail(r, HR_ENOMEM, "out of memory");
  return p;
}

/* ---- scopes ----------------------------------------------------------------------------- */

static jinja_scope *scope_push(jinja_render *r, jinja_scope *parent) {
  jinja_scope *s = jinja_alloc(r, sizeof *s);
  if (!s) return NULL;
  memset(s, 0, sizeof *s);
  s->parent = parent;
  return s;
}

static void scope_clear(jinja_scope *s) {
  s->vars.n = 0;
  if (s->vars.idx) memset(s->vars.idx, 0, s->vars.idx_cap * sizeof *s->vars.idx);
}

static int scope_set(jinja_render *r, jinja_scope *s, hr_str name, const jinja_value *v) {
  const jinja_value *k = jinja_v_str_ref(r, name.ptr, name.len);
  return k ? jinja_dict_put(r, &s->vars, k, v) : r->err_code;
}

static const jinja_value *lookup(jinja_render *r, hr_str name) {
  for (jinja_scope *s = r->scope; s; s = s->parent) {
    const jinja_value *v = jinja_dict_get_str(&s->vars, name.ptr, name.len);
    if (v) return v;
  }
  if (r->ctx) {
    const jinja_value *v = jinja_dict_get_str(r->ctx->u.dict, name.ptr, name.len);
    if (v) return v;
  }
  const jinja_value *g = jinja_global(r, name.ptr, name.len);
  if (g || r->err_code) return g;
  return jinja_v_undef(r, name.ptr, name.len, 0xff, false);
}

/* The message Jinja2 gives when an Undefined is used. */
static int undefined_error(jinja_render *r, const jinja_value *u) {
  const char *n = u->u.undef.name ? u->u.undef.name : "value";
  int len = u->u.undef.name ? (int)HR_MIN(u->u.undef.len, 100) : 5;
  if (u->u.undef.owner == 0xff) return jinja_fail(r, HR_EFORMAT, "'%.*s' is undefined", len, n);
  jinja_value owner = {.type = u->u.undef.owner};
  const char *tn = owner.type == JV_NONE ? "None" : jinja_v_type_name(&owner);
  if (u->u.undef.is_index)
    return jinja_fail(r, HR_EFORMAT, "%s%s has no element %.*s", tn, owner.type == JV_NONE ? "" : " object", len, n);
  return jinja_fail(r, HR_EFORMAT, "'%s%s' has no attribute '%.*s'", tn,
                    owner.type == JV_NONE ? "" : " object", len, n);
}

/* ---- attribute and item access ------------------------------------------------------ */

static const jinja_value *loop_attr(jinja_render *r, const jinja_value *lv, const char *name, size_t len) {
  const jinja_loop *l = lv->u.loop;
  hr_str s = hr_str_make(name, len);
  if (hr_str_eq_cstr(s, "index")) return jinja_v_int(r, (int64_t)l->i + 1);
  if (hr_str_eq_cstr(s, "index0")) return jinja_v_int(r, (int64_t)l->i);
  if (hr_str_eq_cstr(s, "revindex")) return jinja_v_int(r, (int64_t)(l->n - l->i));
  if (hr_str_eq_cstr(s, "revindex0")) return jinja_v_int(r, (int64_t)(l->n - l->i - 1));
  if (hr_str_eq_cstr(s, "first")) return jinja_v_bool(l->i == 0);
  if (hr_str_eq_cstr(s, "last")) return jinja_v_bool(l->i + 1 == l->n);
  if (hr_str_eq_cstr(s, "length")) return jinja_v_int(r, (int64_t)l->n);
  if (hr_str_eq_cstr(s, "depth")) return jinja_v_int(r, l->depth0 + 1);
  if (hr_str_eq_cstr(s, "depth0")) return jinja_v_int(r, l->depth0);
  if (hr_str_eq_cstr(s, "previtem"))
    return l->i > 0 ? l->items[l->i - 1] : jinja_v_undef(r, "there is no previous item", 25, 0xff, false);
  if (hr_str_eq_cstr(s, "nextitem"))
    return l->i + 1 < l->n ? l->items[l->i + 1] : jinja_v_undef(r, "there is no next item", 21, 0xff, false);
  const jinja_value *m = jinja_method(r, lv, name, len);
  return m ? m : jinja_v_undef(r, name, len, JV_LOOP, false);
}

const jinja_value *jinja_getattr(jinja_render *r, const jinja_value *obj, const char *name,
                                 size_t len) {
  switch (obj->type) {
  case JV_UNDEFINED: undefined_error(r, obj); return NULL;
  case JV_LOOP: return loop_attr(r, obj, name, len);
  case JV_NAMESPACE: {
    const jinja_value *v = jinja_dict_get_str(obj->u.dict, name, len);
    return v ? v : jinja_v_undef(r, name, len, JV_NAMESPACE, false);
  }
  case JV_DICT: {
    const jinja_value *m = jinja_method(r, obj, name, len);
    if (m || r->err_code) return m;
    const jinja_value *v = jinja_dict_get_str(obj->u.dict, name, len);
    return v ? v : jinja_v_undef(r, name, len, JV_DICT, false);
  }
  default: {
    const jinja_value *m = jinja_method(r, obj, name, len);
    if (m || r->err_code) return m;
    return jinja_v_undef(r, name, len, obj->type, false);
  }
  }
}

static bool index_of(const jinja_value *key, size_t n, size_t *out) {
  int64_t i;
  if (key->type == JV_INT) i = key->u.i;
  else if (key->type == JV_BOOL) i = key->u.b;
  else return false;
  if (i < 0) i += (int64_t)n;
  if (i < 0 || (uint64_t)i >= n) return false;
  *out = (size_t)i;
  return true;
}

static const jinja_value *missing_item(jinja_render *r, const jinja_value *obj, const jinja_value *key) {
  if (key->type == JV_STR) return jinja_v_undef(r, key->u.s.ptr, key->u.s.len, obj->type, false);
  const jinja_value *ks = jinja_to_str(r, key);
  return ks ? jinja_v_undef(r, ks->u.s.ptr, ks->u.s.len, obj->type, true) : NULL;
}

const jinja_value *jinja_getitem(jinja_render *r, const jinja_value *obj,
                                 const jinja_value *key) {
  size_t i;
  switch (obj->type) {
  case JV_UNDEFINED: undefined_error(r, obj); return NULL;
  case JV_DICT: {
    const jinja_value *v = jinja_dict_get(obj->u.dict, key);
    if (v) return v;
    break;
  }
  case JV_LIST:
    if (index_of(key, obj->u.list.n, &i)) return obj->u.list.items[i];
    if (key->type == JV_INT || key->type == JV_BOOL) return missing_item(r, obj, key);
    break;
  case JV_STR:
    if (index_of(key, jinja_cp_count(obj->u.s.ptr, obj->u.s.len), &i)) {
      size_t a = jinja_cp_offset(obj->u.s.ptr, obj->u.s.len, i);
      size_t b = jinja_cp_offset(obj->u.s.ptr, obj->u.s.len, i + 1);
      return jinja_v_str(r, obj->u.s.ptr + a, b - a);
    }
    if (key->type == JV_INT || key->type == JV_BOOL) return missing_item(r, obj, key);
    break;
  default: break;
  }
  if (key->type == JV_STR && obj->type != JV_DICT) return jinja_getattr(r, obj, key->u.s.ptr, key->u.s.len);
  if (key->type == JV_STR) {
    const jinja_value *m = jinja_method(r, obj, key->u.s.ptr, key->u.s.len);
    if (m || r->err_code) return m;
  }
  return missing_item(r, obj, key);
}

/* Python's slice.indices + iteration, for lists and strings. */
static const jinja_value *do_slice(jinja_render *r, const jinja_value *obj, const jinja_value *v_start,
                                   const jinja_value *v_stop, const jinja_value *v_step) {
  if (obj->type == JV_UNDEFINED) return undefined_error(r, obj), NULL;
  if (obj->type != JV_LIST && obj->type != JV_STR) return jinja_v_undef(r, "slice", 5, obj->type, true);
  int64_t n = obj->type == JV_LIST ? (int64_t)obj->u.list.n : (int64_t)jinja_cp_count(obj->u.s.ptr, obj->u.s.len);
  int64_t step = 1, start, stop;
  const jinja_value *vs[3] = {v_start, v_stop, v_step};
  for (int k = 0; k < 3; k++)
    if (vs[k] && vs[k]->type != JV_NONE && vs[k]->type != JV_INT && vs[k]->type != JV_BOOL)
      return jinja_fail(r, HR_EFORMAT, "slice indices must be integers or None"), NULL;
  if (v_step && v_step->type != JV_NONE) step = v_step->type == JV_BOOL ? v_step->u.b : v_step->u.i;
  if (step == 0) return jinja_fail(r, HR_EFORMAT, "slice step cannot be zero"), NULL;
  if (step < -INT64_MAX) step = -INT64_MAX;
  int64_t lo = step < 0 ? -1 : 0, hi = step < 0 ? n - 1 : n;
  if (!v_start || v_start->type == JV_NONE) start = step < 0 ? hi : lo;
  else {
    start = v_start->type == JV_BOOL ? v_start->u.b : v_start->u.i;
    if (start < 0) start = start + n < lo ? lo : start + n;
    else if (start > hi) start = hi;
  }
  if (!v_stop || v_stop->type == JV_NONE) stop = step < 0 ? lo : hi;
  else {
    stop = v_stop->type == JV_BOOL ? v_stop->u.b : v_stop->u.i;
    if (stop < 0) stop = stop + n < lo ? lo : stop + n;
    else if (stop > hi) stop = hi;
  }
  size_t count = 0;
  if (step > 0 && start < stop) count = (size_t)((stop - start - 1) / step + 1);
  if (step < 0 && start > stop) count = (size_t)((start - stop - 1) / -step + 1);
  if (jinja_step(r, count)) return NULL;
  if (obj->type == JV_LIST) {
    jinja_value *l = jinja_v_list(r, count);
    if (!l) return NULL;
    l->flags = obj->flags & JV_F_TUPLE;
    for (size_t k = 0; k < count; k++) l->u.list.items[k] = obj->u.list.items[start + (int64_t)k * step];
    return l;
  }
  const char *s = obj->u.s.ptr;
  size_t len = obj->u.s.len;
  if (step == 1) {
    size_t a = jinja_cp_offset(s, len, (size_t)start), b = jinja_cp_offset(s, len, (size_t)stop);
    return jinja_v_str(r, s + a, b > a ? b - a : 0);
  }
  /* general step: index the code points first */
  size_t *offs = jinja_alloc(r, ((size_t)n + 1) * sizeof *offs);
  if (!offs) return NULL;
  for (size_t k = 0, off = 0; k <= (size_t)n; k++) {
    offs[k] = off;
    if (off < len) off = jinja_cp_offset(s + off, len - off, 1) + off;
  }
  size_t mark = r->out->len;
  for (size_t k = 0; k < count; k++) {
    int64_t ix = start + (int64_t)k * step;
    if (jinja_out(r, s + offs[ix], offs[ix + 1] - offs[ix])) return r->out->len = mark, NULL;
  }
  return jinja_take_out(r, mark);
}

int jinja_iterate(jinja_render *r, const jinja_value *v, const jinja_value ***items, size_t *n) {
  switch (v->type) {
  case JV_UNDEFINED: *items = NULL; *n = 0; return 0;
  case JV_LIST: *items = v->u.list.items; *n = v->u.list.n; return 0;
  case JV_DICT: {
    const jinja_dict *d = v->u.dict;
    const jinja_value **k = d->n ? jinja_alloc(r, d->n * sizeof *k) : NULL;
    if (d->n && !k) return r->err_code;
    for (uint32_t i = 0; i < d->n; i++) k[i] = d->e[i].key;
    *items = k;
    *n = d->n;
    return jinja_step(r, d->n);
  }
  case JV_STR: {
    size_t cnt = jinja_cp_count(v->u.s.ptr, v->u.s.len);
    const jinja_value **k = cnt ? jinja_alloc(r, cnt * sizeof *k) : NULL;
    if (cnt && !k) return r->err_code;
    const char *p = v->u.s.ptr, *end = p + v->u.s.len;
    for (size_t i = 0; i < cnt; i++) {
      size_t len = jinja_cp_offset(p, (size_t)(end - p), 1);
      if (!(k[i] = jinja_v_str(r, p, len))) return r->err_code;
      p += len;
    }
    *items = k;
    *n = cnt;
    return jinja_step(r, cnt);
  }
  default: return jinja_fail(r, HR_EFORMAT, "'%s' object is not iterable", jinja_v_type_name(v));
  }
}

/* ---- calls ---------------------------------------------------------------------------- */

const jinja_value *jinja_arg(const jinja_args *a, size_t i, const char *name) {
  if (i < a->n_pos) return a->pos[i];
  if (name)
    for (size_t k = 0; k < a->n_kw; k++)
      if (hr_str_eq_cstr(a->kw_names[k], name)) return a->kw[k];
  return NULL;
}

static int exec_body(jinja_render *r, const jinja_nodes *body);

static const jinja_value *call_macro(jinja_render *r, const jinja_value *m, const jinja_args *args,
                                     const jinja_value *caller) {
  const jinja_node *def = m->u.macro.node;
  if (r->depth >= r->depth_max)
    return jinja_fail(r, HR_ERANGE, "macro calls nested deeper than %d", r->depth_max), NULL;
  jinja_scope *s = scope_push(r, m->u.macro.scope), *saved = r->scope;
  if (!s) return NULL;
  r->scope = s;
  r->depth++;
  const jinja_value *result = NULL;
  size_t n_params = def->items.n;
  jinja_value *varargs = jinja_v_list(r, args->n_pos > n_params ? args->n_pos - n_params : 0);
  jinja_value *kwargs = jinja_v_dict(r);
  if (!varargs || !kwargs) goto out;
  varargs->flags = JV_F_TUPLE;
  for (size_t i = 0; i < args->n_pos; i++) {
    if (i < n_params) {
      if (scope_set(r, s, def->items.v[i]->name, args->pos[i])) goto out;
    } else {
      varargs->u.list.items[i - n_params] = args->pos[i];
    }
  }
  for (size_t k = 0; k < args->n_kw; k++) {
    size_t i;
    for (i = 0; i < n_params; i++)
      if (hr_str_eq(def->items.v[i]->name, args->kw_names[k])) break;
    if (i < n_params) {
      if (i < args->n_pos) {
        jinja_fail(r, HR_EFORMAT, "macro '%.*s' got multiple values for argument '%.*s'", (int)def->name.len,
                   def->name.ptr, (int)args->kw_names[k].len, args->kw_names[k].ptr);
        goto out;
      }
      if (scope_set(r, s, def->items.v[i]->name, args->kw[k])) goto out;
    } else {
      const jinja_value *key = jinja_v_str_ref(r, args->kw_names[k].ptr, args->kw_names[k].len);
      if (!key || jinja_dict_put(r, kwargs->u.dict, key, args->kw[k])) goto out;
    }
  }
  for (size_t i = 0; i < n_params; i++) { /* defaults, in order, seeing earlier params */
    hr_str name = def->items.v[i]->name;
    if (jinja_dict_get_str(&s->vars, name.ptr, name.len)) continue;
    const jinja_value *v = def->kw.v[i] ? jinja_eval(r, def->kw.v[i]) : jinja_v_undef(r, name.ptr, name.len, 0xff, false);
    if (!v || scope_set(r, s, name, v)) goto out;
  }
  if (scope_set(r, s, HR_STR("varargs"), varargs) || scope_set(r, s, HR_STR("kwargs"), kwargs)) goto out;
  if (caller && scope_set(r, s, HR_STR("caller"), caller)) goto out;
  size_t mark = r->out->len;
  uint32_t line = r->line;
  if (exec_body(r, &def->body) < 0) {
    r->out->len = mark;
    goto out;
  }
  r->line = line;
  result = jinja_take_out(r, mark);
out:
  r->depth--;
  r->scope = saved;
  return result;
}

const jinja_value *jinja_call_value(jinja_render *r, const jinja_value *fn,
                                    const jinja_args *args) {
  switch (fn->type) {
  case JV_MACRO: return call_macro(r, fn, args, NULL);
  case JV_FUNC: return jinja_call_builtin(r, fn, args);
  case JV_UNDEFINED: undefined_error(r, fn); return NULL;
  default: jinja_fail(r, HR_EFORMAT, "'%s' object is not callable", jinja_v_type_name(fn)); return NULL;
  }
}

static int eval_args(jinja_render *r, const jinja_node *n, jinja_args *a, const jinja_value *first) {
  size_t extra = first ? 1 : 0;
  memset(a, 0, sizeof *a);
  a->n_pos = n->items.n + extra;
  a->n_kw = n->kw.n;
  if (a->n_pos && !(a->pos = jinja_alloc(r, a->n_pos * sizeof *a->pos))) return r->err_code;
  if (a->n_kw) {
    hr_str *names = jinja_alloc(r, a->n_kw * sizeof *names);
    if (!names || !(a->kw = jinja_alloc(r, a->n_kw * sizeof *a->kw))) return r->err_code;
    for (size_t k = 0; k < a->n_kw; k++) {
      names[k] = n->kw.v[k]->name;
      if (!(a->kw[k] = jinja_eval(r, n->kw.v[k]->a))) return r->err_code;
    }
    a->kw_names = names;
  }
  if (first) a->pos[0] = first;
  for (size_t i = 0; i < n->items.n; i++)
    if (!(a->pos[i + extra] = jinja_eval(r, n->items.v[i]))) return r->err_code;
  return 0;
}

/* A filter node; in replaces the innermost missing input (filter blocks,
 * block set). */
static const jinja_value *eval_filter(jinja_render *r, const jinja_node *n, const jinja_value *in) {
  const jinja_value *v;
  if (!n->a) v = in;
  else if (n->a->kind == N_FILTER) v = eval_filter(r, n->a, in);
  else v = jinja_eval(r, n->a);
  if (!v) return NULL;
  jinja_args args;
  if (eval_args(r, n, &args, NULL)) return NULL;
  r->line = n->line;
  return jinja_filter(r, n->name.ptr, n->name.len, v, &args);
}

/* ---- operators ------------------------------------------------------------------------ */

static const jinja_value *html_escape(jinja_render *r, const jinja_value *s) {
  if (s->flags & JV_F_SAFE) return s;
  size_t mark = r->out->len;
  const char *p = s->u.s.ptr, *end = p + s->u.s.len, *run = p;
  for (; p < end; p++) {
    const char *e = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '\'' ? "&#39;" : *p == '"' ? "&#34;" : NULL;
    if (!e) continue;
    if (jinja_out(r, run, (size_t)(p - run)) || jinja_out(r, e, strlen(e))) return r->out->len = mark, NULL;
    run = p + 1;
  }
  if (jinja_out(r, run, (size_t)(p - run))) return r->out->len = mark, NULL;
  return jinja_take_out(r, mark);
}

static const jinja_value *concat2(jinja_render *r, const jinja_value *a, const jinja_value *b, bool safe) {
  if (a->u.s.len > r->out_max || b->u.s.len > r->out_max - a->u.s.len)
    return jinja_fail(r, HR_ERANGE, "string exceeds %zu bytes", r->out_max), NULL;
  size_t n = a->u.s.len + b->u.s.len;
  char *p = jinja_alloc(r, n + 1);
  if (!p) return NULL;
  memcpy(p, a->u.s.ptr, a->u.s.len);
  memcpy(p + a->u.s.len, b->u.s.ptr, b->u.s.len);
  p[n] = 0;
  jinja_value *v = (jinja_value *)jinja_v_str_ref(r, p, n);
  if (v && safe) v->flags |= JV_F_SAFE;
  return v;
}

static const jinja_value *repeat(jinja_render *r, const jinja_value *seq, int64_t times) {
  if (times < 0) times = 0;
  size_t unit = seq->type == JV_STR ? seq->u.s.len : seq->u.list.n * sizeof(void *);
  if (unit && (uint64_t)times > r->out_max / unit)
    return jinja_fail(r, HR_ERANGE, "repeated value exceeds %zu bytes", r->out_max), NULL;
  if (jinja_step(r, (uint64_t)times)) return NULL;
  if (seq->type == JV_STR) {
    size_t n = seq->u.s.len * (size_t)times;
    char *p = jinja_alloc(r, n + 1);
    if (!p) return NULL;
    for (int64_t i = 0; i < times; i++) memcpy(p + (size_t)i * seq->u.s.len, seq->u.s.ptr, seq->u.s.len);
    p[n] = 0;
    return jinja_v_str_ref(r, p, n);
  }
  size_t n = seq->u.list.n * (size_t)times;
  jinja_value *l = jinja_v_list(r, n);
  if (!l) return NULL;
  l->flags = seq->flags & JV_F_TUPLE;
  for (size_t i = 0; i < n; i++) l->u.list.items[i] = seq->u.list.items[i % seq->u.list.n];
  return l;
}

static int64_t ival(const jinja_value *v) { return v->type == JV_BOOL ? v->u.b : v->u.i; }

static const jinja_value *arith(jinja_render *r, int op, const jinja_value *a, const jinja_value *b) {
  static const char *names[] = {[OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/",
                                [OP_FLOORDIV] = "//", [OP_MOD] = "%", [OP_POW] = "**"};
  if (a->type == JV_UNDEFINED) return undefined_error(r, a), NULL;
  if (b->type == JV_UNDEFINED) return undefined_error(r, b), NULL;
  bool na = jinja_v_is_num(a), nb = jinja_v_is_num(b);
  if (na && nb) {
    bool ints = a->type != JV_FLOAT && b->type != JV_FLOAT;
    if (ints) {
      int64_t x = ival(a), y = ival(b), z;
      switch (op) {
      case OP_ADD: if (!__builtin_add_overflow(x, y, &z)) return jinja_v_int(r, z); break;
      case OP_SUB: if (!__builtin_sub_overflow(x, y, &z)) return jinja_v_int(r, z); break;
      case OP_MUL: if (!__builtin_mul_overflow(x, y, &z)) return jinja_v_int(r, z); break;
      case OP_FLOORDIV:
      case OP_MOD:
        if (y == 0) return jinja_fail(r, HR_EFORMAT, "integer division or modulo by zero"), NULL;
        if (x == INT64_MIN && y == -1) break;
        z = op == OP_FLOORDIV ? x / y : x % y;
        if (op == OP_FLOORDIV && (x % y != 0) && ((x < 0) != (y < 0))) z--;
        if (op == OP_MOD && z != 0 && ((z < 0) != (y < 0))) z += y;
        return jinja_v_int(r, z);
      case OP_POW:
        if (y >= 0) {
          int64_t acc = 1, base = x;
          bool over = false;
          for (int64_t e = y; e && !over; e >>= 1) {
            if (e & 1) over |= __builtin_mul_overflow(acc, base, &acc);
            if (e > 1) over |= __builtin_mul_overflow(base, base, &base);
          }
          if (!over) return jinja_v_int(r, acc);
        }
        break;
      default: break;
      }
      if (op != OP_DIV && op != OP_POW)
        return jinja_fail(r, HR_EFORMAT, "integer overflow in '%s'", names[op]), NULL;
    }
    double x = jinja_v_num(a), y = jinja_v_num(b);
    switch (op) {
    case OP_ADD: return jinja_v_float(r, x + y);
    case OP_SUB: return jinja_v_float(r, x - y);
    case OP_MUL: return jinja_v_float(r, x * y);
    case OP_DIV:
      if (y == 0) return jinja_fail(r, HR_EFORMAT, "division by zero"), NULL;
      return jinja_v_float(r, x / y);
    case OP_FLOORDIV:
    case OP_MOD: { /* CPython's float_divmod */
      if (y == 0) return jinja_fail(r, HR_EFORMAT, "float division by zero"), NULL;
      double m = fmod(x, y), d = (x - m) / y, fd;
      if (m != 0) {
        if ((y < 0) != (m < 0)) {
          m += y;
          d -= 1.0;
        }
      } else {
        m = copysign(0.0, y);
      }
      if (d != 0) {
        fd = floor(d);
        if (d - fd > 0.5) fd += 1.0;
      } else {
        fd = copysign(0.0, x / y);
      }
      return jinja_v_float(r, op == OP_MOD ? m : fd);
    }
    case OP_POW: return jinja_v_float(r, pow(x, y));
    default: break;
    }
  }
  if (op == OP_ADD && a->type == JV_STR && b->type == JV_STR) {
    bool safe = (a->flags | b->flags) & JV_F_SAFE;
    if (safe) {
      a = html_escape(r, a);
      b = a ? html_escape(r, b) : NULL;
      if (!a || !b) return NULL;
    }
    return concat2(r, a, b, safe);
  }
  if (op == OP_ADD && a->type == JV_LIST && b->type == JV_LIST && (a->flags & JV_F_TUPLE) == (b->flags & JV_F_TUPLE)) {
    jinja_value *l = jinja_v_list(r, a->u.list.n + b->u.list.n);
    if (!l || jinja_step(r, l->u.list.n)) return NULL;
    l->flags = a->flags & JV_F_TUPLE;
    if (a->u.list.n) memcpy(l->u.list.items, a->u.list.items, a->u.list.n * sizeof(void *));
    if (b->u.list.n) memcpy(l->u.list.items + a->u.list.n, b->u.list.items, b->u.list.n * sizeof(void *));
    return l;
  }
  if (op == OP_MUL && (a->type == JV_STR || a->type == JV_LIST) && (b->type == JV_INT || b->type == JV_BOOL))
    return repeat(r, a, ival(b));
  if (op == OP_MUL && (b->type == JV_STR || b->type == JV_LIST) && (a->type == JV_INT || a->type == JV_BOOL))
    return repeat(r, b, ival(a));
  if (op == OP_ADD && (a->type == JV_STR || b->type == JV_STR))
    return jinja_fail(r, HR_EFORMAT, "can only concatenate str (not \"%s\") to str",
                      jinja_v_type_name(a->type == JV_STR ? b : a)), NULL;
  if (op == OP_MOD && a->type == JV_STR) {
    jinja_args args = {0};
    const jinja_value *one[1] = {b};
    if (b->type == JV_LIST && (b->flags & JV_F_TUPLE)) {
      args.pos = b->u.list.items;
      args.n_pos = b->u.list.n;
    } else {
      args.pos = one;
      args.n_pos = 1;
    }
    return jinja_filter(r, "format", 6, a, &args);
  }
  return jinja_fail(r, HR_EFORMAT, "unsupported operand type(s) for %s: '%s' and '%s'", names[op],
                    jinja_v_type_name(a), jinja_v_type_name(b)), NULL;
}

static int contains(jinja_render *r, const jinja_value *item, const jinja_value *c, bool *res) {
  switch (c->type) {
  case JV_UNDEFINED: *res = false; return 0;
  case JV_STR:
    if (item->type != JV_STR)
      return jinja_fail(r, HR_EFORMAT, "'in <string>' requires string as left operand, not %s", jinja_v_type_name(item));
    *res = item->u.s.len == 0 || memmem(c->u.s.ptr, c->u.s.len, item->u.s.ptr, item->u.s.len) != NULL;
    return jinja_step(r, c->u.s.len / 64);
  case JV_LIST:
    *res = false;
    for (size_t i = 0; i < c->u.list.n && !*res; i++) *res = jinja_v_equal(item, c->u.list.items[i]);
    return jinja_step(r, c->u.list.n);
  case JV_DICT: *res = jinja_dict_get(c->u.dict, item) != NULL; return 0;
  default:
    return jinja_fail(r, HR_EFORMAT, "argument of type '%s' is not iterable", jinja_v_type_name(c));
  }
}

static const jinja_value *compare(jinja_render *r, const jinja_node *n) {
  const jinja_value *left = jinja_eval(r, n->a);
  if (!left) return NULL;
  for (size_t i = 0; i < n->items.n; i++) {
    const jinja_value *right = jinja_eval(r, n->items.v[i]);
    if (!right) return NULL;
    bool res = false, lt;
    int op = n->cmp_ops[i];
    switch (op) {
    case OP_EQ: res = jinja_v_equal(left, right); break;
    case OP_NE: res = !jinja_v_equal(left, right); break;
    case OP_IN:
    case OP_NOTIN:
      if (contains(r, left, right, &res)) return NULL;
      if (op == OP_NOTIN) res = !res;
      break;
    default:
      if (left->type == JV_UNDEFINED) return undefined_error(r, left), NULL;
      if (right->type == JV_UNDEFINED) return undefined_error(r, right), NULL;
      if (op == OP_LT || op == OP_GTEQ) {
        if (jinja_v_less(r, left, right, &lt)) return NULL;
        res = op == OP_LT ? lt : !lt;
      } else {
        if (jinja_v_less(r, right, left, &lt)) return NULL;
        res = op == OP_GT ? lt : !lt;
      }
      /* NaN compares false every way */
      if ((left->type == JV_FLOAT && left->u.f != left->u.f) || (right->type == JV_FLOAT && right->u.f != right->u.f))
        res = false;
    }
    if (!res) return &jinja_false_v;
    left = right;
  }
  return &jinja_true_v;
}

/* ---- expressions ---------------------------------------------------------------------- */

static const jinja_value *eval_inner(jinja_render *r, const jinja_node *n) {
  const jinja_value *a, *b;
  switch (n->kind) {
  case N_CONST: return n->value;
  case N_NAME: return lookup(r, n->name);
  case N_GETATTR:
    if (!(a = jinja_eval(r, n->a))) return NULL;
    r->line = n->line;
    return jinja_getattr(r, a, n->name.ptr, n->name.len);
  case N_GETITEM:
    if (!(a = jinja_eval(r, n->a)) || !(b = jinja_eval(r, n->b))) return NULL;
    r->line = n->line;
    return jinja_getitem(r, a, b);
  case N_SLICE: {
    const jinja_value *v[3] = {0};
    const jinja_node *parts[3] = {n->b, n->c, n->d};
    if (!n->a) return jinja_fail(r, HR_EFORMAT, "misplaced slice"), NULL;
    if (!(a = jinja_eval(r, n->a))) return NULL;
    for (int i = 0; i < 3; i++)
      if (parts[i] && !(v[i] = jinja_eval(r, parts[i]))) return NULL;
    r->line = n->line;
    return do_slice(r, a, v[0], v[1], v[2]);
  }
  case N_CALL: {
    if (!(a = jinja_eval(r, n->a))) return NULL;
    jinja_args args;
    if (eval_args(r, n, &args, NULL)) return NULL;
    r->line = n->line;
    return jinja_call_value(r, a, &args);
  }
  case N_FILTER: return eval_filter(r, n, NULL);
  case N_TEST: {
    if (!(a = jinja_eval(r, n->a))) return NULL;
    jinja_args args;
    if (eval_args(r, n, &args, NULL)) return NULL;
    bool res;
    r->line = n->line;
    if (jinja_test(r, n->name.ptr, n->name.len, a, &args, &res)) return NULL;
    return jinja_v_bool(res != (n->flags & 1));
  }
  case N_BINOP:
    if (!(a = jinja_eval(r, n->a)) || !(b = jinja_eval(r, n->b))) return NULL;
    r->line = n->line;
    return arith(r, n->op, a, b);
  case N_NEG:
  case N_POS:
    if (!(a = jinja_eval(r, n->a))) return NULL;
    r->line = n->line;
    if (a->type == JV_UNDEFINED) return undefined_error(r, a), NULL;
    if (!jinja_v_is_num(a))
      return jinja_fail(r, HR_EFORMAT, "bad operand type for unary %c: '%s'", n->kind == N_NEG ? '-' : '+',
                        jinja_v_type_name(a)), NULL;
    if (n->kind == N_POS) return a->type == JV_BOOL ? jinja_v_int(r, a->u.b) : a;
    if (a->type == JV_FLOAT) return jinja_v_float(r, -a->u.f);
    if (ival(a) == INT64_MIN) return jinja_fail(r, HR_EFORMAT, "integer overflow"), NULL;
    return jinja_v_int(r, -ival(a));
  case N_NOT:
    if (!(a = jinja_eval(r, n->a))) return NULL;
    return jinja_v_bool(!jinja_v_truthy(a));
  case N_AND:
    if (!(a = jinja_eval(r, n->a))) return NULL;
    return jinja_v_truthy(a) ? jinja_eval(r, n->b) : a;
  case N_OR:
    if (!(a = jinja_eval(r, n->a))) return NULL;
    return jinja_v_truthy(a) ? a : jinja_eval(r, n->b);
  case N_COMPARE: return compare(r, n);
  case N_CONDEXPR:
    if (!(a = jinja_eval(r, n->a))) return NULL;
    if (jinja_v_truthy(a)) return jinja_eval(r, n->b);
    return n->c ? jinja_eval(r, n->c) : jinja_v_undef(r, "the inline if-expression on line", 32, 0xff, false);
  case N_CONCAT: {
    size_t mark = r->out->len;
    for (size_t i = 0; i < n->items.n; i++) {
      const jinja_value *v = jinja_eval(r, n->items.v[i]);
      if (!v || jinja_write_str(r, v)) return r->out->len = mark, NULL;
    }
    return jinja_take_out(r, mark);
  }
  case N_LIST:
  case N_TUPLE: {
    jinja_value *l = jinja_v_list(r, n->items.n);
    if (!l) return NULL;
    if (n->kind == N_TUPLE) l->flags = JV_F_TUPLE;
    for (size_t i = 0; i < n->items.n; i++)
      if (!(l->u.list.items[i] = jinja_eval(r, n->items.v[i]))) return NULL;
    return l;
  }
  case N_DICT: {
    jinja_value *d = jinja_v_dict(r);
    if (!d) return NULL;
    for (size_t i = 0; i + 1 < n->items.n; i += 2) {
      const jinja_value *k = jinja_eval(r, n->items.v[i]);
      const jinja_value *v = k ? jinja_eval(r, n->items.v[i + 1]) : NULL;
      if (!v || jinja_dict_put(r, d->u.dict, k, v)) return NULL;
    }
    return d;
  }
  default: return jinja_fail(r, HR_EFORMAT, "not an expression"), NULL;
  }
}

const jinja_value *jinja_eval(jinja_render *r, const jinja_node *n) {
  if (r->err_code) return NULL;
  if (jinja_step(r, 1)) return NULL;
  if (++r->nest > NEST_MAX) {
    r->nest--;
    return jinja_fail(r, HR_ERANGE, "template recursion too deep"), NULL;
  }
  r->line = n->line;
  const jinja_value *v = eval_inner(r, n);
  r->nest--;
  if (!v && !r->err_code) jinja_fail(r, HR_ENOMEM, "out of memory");
  return v;
}

/* ---- statements ------------------------------------------------------------------------ */

static int assign(jinja_render *r, const jinja_nodes *targets, bool unpack, const jinja_value *v) {
  if (!unpack) return scope_set(r, r->scope, targets->v[0]->name, v);
  const jinja_value **items;
  size_t n;
  if (v->type == JV_LIST) {
    items = v->u.list.items;
    n = v->u.list.n;
  } else if (v->type == JV_STR || v->type == JV_DICT) {
    if (jinja_iterate(r, v, &items, &n)) return r->err_code;
  } else {
    return jinja_fail(r, HR_EFORMAT, "cannot unpack non-iterable %s object", jinja_v_type_name(v));
  }
  if (n != targets->n)
    return jinja_fail(r, HR_EFORMAT, n > targets->n ? "too many values to unpack (expected %zu)"
                                                   : "not enough values to unpack (expected %zu)", targets->n);
  for (size_t i = 0; i < n; i++)
    if (scope_set(r, r->scope, targets->v[i]->name, items[i])) return r->err_code;
  return 0;
}

static int exec_for(jinja_render *r, const jinja_node *n) {
  const jinja_value *seq = jinja_eval(r, n->b);
  if (!seq) return r->err_code;
  const jinja_value **items;
  size_t count;
  if (jinja_iterate(r, seq, &items, &count)) return r->err_code;
  jinja_scope *saved = r->scope, *s = scope_push(r, saved);
  if (!s) return r->err_code;
  r->scope = s;
  int rc = 0;
  bool unpack = n->flags & 2;
  if (n->c) { /* for x in xs if cond: filter first so loop.* count the kept items */
    const jinja_value **kept = count ? jinja_alloc(r, count * sizeof *kept) : NULL;
    size_t k = 0;
    if (count && !kept) goto out;
    for (size_t i = 0; i < count; i++) {
      const jinja_value *c;
      if (jinja_step(r, 1) || assign(r, &n->items, unpack, items[i]) || !(c = jinja_eval(r, n->c))) goto out;
      if (jinja_v_truthy(c)) kept[k++] = items[i];
    }
    items = kept;
    count = k;
  }
  jinja_loop *loop = jinja_alloc(r, sizeof *loop);
  jinja_value *lv = jinja_alloc(r, sizeof *lv);
  if (!loop || !lv) goto out;
  /* loop.depth counts recursive loops only, which are not supported */
  *loop = (jinja_loop){.items = items, .n = count, .depth0 = 0};
  memset(lv, 0, sizeof *lv);
  lv->type = JV_LOOP;
  lv->u.loop = loop;
  for (size_t i = 0; i < count; i++) {
    loop->i = i;
    /* each turn starts with a fresh scope, as in Jinja2: a set in one
     * iteration is not seen by the next */
    scope_clear(s);
    if (jinja_step(r, 1) || scope_set(r, s, HR_STR("loop"), lv) || assign(r, &n->items, unpack, items[i]))
      goto out;
    rc = exec_body(r, &n->body);
    if (rc < 0) goto out;
    if (rc == EXEC_BREAK) break;
  }
  rc = 0;
  scope_clear(s);
  if (!count) rc = exec_body(r, &n->else_body);
  if (rc > 0) rc = 0;
out:
  r->scope = saved;
  return r->err_code ? r->err_code : rc;
}

static int exec_node(jinja_render *r, const jinja_node *n) {
  const jinja_value *v;
  r->line = n->line;
  switch (n->kind) {
  case N_TEXT: return jinja_out(r, n->name.ptr, n->name.len);
  case N_OUTPUT:
    if (!(v = jinja_eval(r, n->a))) return r->err_code;
    return jinja_write_str(r, v);
  case N_IF:
    if (!(v = jinja_eval(r, n->a))) return r->err_code;
    return exec_body(r, jinja_v_truthy(v) ? &n->body : &n->else_body);
  case N_FOR: return exec_for(r, n);
  case N_SET:
    if (!(v = jinja_eval(r, n->b))) return r->err_code;
    if (n->items.v[0]->kind == N_NSREF) {
      const jinja_node *t = n->items.v[0];
      const jinja_value *ns = lookup(r, t->name);
      if (!ns) return r->err_code;
      if (ns->type != JV_NAMESPACE)
        return jinja_fail(r, HR_EFORMAT, "cannot assign attribute on non-namespace object");
      const jinja_value *k = jinja_v_str_ref(r, t->attr.ptr, t->attr.len);
      return k ? jinja_dict_put(r, ns->u.dict, k, v) : r->err_code;
    }
    return assign(r, &n->items, n->flags & 2, v);
  case N_SETBLOCK:
  case N_FILTERBLOCK: {
    size_t mark = r->out->len;
    int rc = exec_body(r, &n->body);
    if (rc < 0 || !(v = jinja_take_out(r, mark))) return r->err_code;
    if (n->c && !(v = eval_filter(r, n->c, v))) return r->err_code;
    if (n->kind == N_FILTERBLOCK) return jinja_write_str(r, v);
    return assign(r, &n->items, n->flags & 2, v);
  }
  case N_MACRO: {
    jinja_value *m = jinja_alloc(r, sizeof *m);
    if (!m) return r->err_code;
    memset(m, 0, sizeof *m);
    m->type = JV_MACRO;
    m->u.macro.node = n;
    m->u.macro.scope = r->scope;
    return scope_set(r, r->scope, n->name, m);
  }
  case N_CALLBLOCK: {
    jinja_value *caller = jinja_alloc(r, sizeof *caller);
    if (!caller) return r->err_code;
    memset(caller, 0, sizeof *caller);
    caller->type = JV_MACRO;
    caller->u.macro.node = n;
    caller->u.macro.scope = r->scope;
    const jinja_node *call = n->a;
    const jinja_value *fn = jinja_eval(r, call->a);
    jinja_args args;
    if (!fn || eval_args(r, call, &args, NULL)) return r->err_code;
    if (fn->type != JV_MACRO) return jinja_fail(r, HR_EFORMAT, "call blocks need a macro");
    if (!(v = call_macro(r, fn, &args, caller))) return r->err_code;
    return jinja_write_str(r, v);
  }
  case N_WITH:
  case N_SCOPE: {
    jinja_scope *saved = r->scope, *s = scope_push(r, saved);
    if (!s) return r->err_code;
    for (size_t i = 0; i < n->items.n; i++) {
      if (!(v = jinja_eval(r, n->kw.v[i])) || scope_set(r, s, n->items.v[i]->name, v)) {
        return r->err_code;
      }
    }
    r->scope = s;
    int rc = exec_body(r, &n->body);
    r->scope = saved;
    return rc;
  }
  case N_BREAK: return EXEC_BREAK;
  case N_CONTINUE: return EXEC_CONTINUE;
  default: return jinja_fail(r, HR_EFORMAT, "not a statement");
  }
}

static int exec_body(jinja_render *r, const jinja_nodes *body) {
  for (size_t i = 0; i < body->n; i++) {
    if (jinja_step(r, 1)) return r->err_code;
    if (++r->nest > NEST_MAX) {
      r->nest--;
      return jinja_fail(r, HR_ERANGE, "template recursion too deep");
    }
    int rc = exec_node(r, body->v[i]);
    r->nest--;
    if (r->err_code) return r->err_code;
    if (rc) return rc;
  }
  return 0;
}

/* ---- the public entry points --------------------------------------------------------- */

int chat_template_compile(const char *src, size_t len, chat_template **out, char *err,
                          size_t err_len) {
  if (err && err_len) err[0] = 0;
  *out = NULL;
  if (len > (64u << 20)) {
    if (err && err_len) snprintf(err, err_len, "template larger than 64 MiB");
    return HR_ERANGE;
  }
  chat_template *t = calloc(1, sizeof *t);
  if (!t || !(t->arena = hr_arena_new(64 * 1024))) {
    free(t);
    return HR_ENOMEM;
  }
  jinja_tokens toks = {0};
  int rc = jinja_lex(t->arena, src, len, &toks, err, err_len);
  if (!rc) rc = jinja_parse(t->arena, &toks, &t->body, err, err_len);
  free(toks.v);
  if (rc) {
    if (rc == HR_ENOMEM && err && err_len) snprintf(err, err_len, "out of memory");
    chat_template_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

void chat_template_free(chat_template *t) {
  if (!t) return;
  hr_arena_free(t->arena);
  free(t);
}

int chat_template_render(const chat_template *t, hr_arena *arena, const jinja_value *context,
                         const chat_template_limits *limits, hr_buf *out, char *err,
                         size_t err_len) {
  chat_template_limits lim = limits ? *limits : (chat_template_limits){0};
  if (err && err_len) err[0] = 0;
  if (context && context->type != JV_DICT) {
    if (err && err_len) snprintf(err, err_len, "the context must be a dict");
    return HR_EINVAL;
  }
  jinja_render r = {
      .t = t,
      .a = arena,
      .out = out,
      .ctx = context,
      .steps_max = lim.steps_max ? lim.steps_max : 20000000,
      .out_max = out->len + (lim.output_max ? lim.output_max : (size_t)4 << 20),
      .mem_base = hr_arena_used(arena),
      .mem_max = lim.memory_max ? lim.memory_max : (size_t)64 << 20,
      .depth_max = lim.depth_max > 0 ? lim.depth_max : 64,
      .now_s = lim.now_s ? lim.now_s : hr_wall_ms() / 1000,
      .err = err,
      .err_len = err_len,
  };
  size_t start = out->len;
  r.root = r.scope = scope_push(&r, NULL);
  int rc = r.root ? exec_body(&r, &t->body) : r.err_code;
  if (rc > 0) rc = 0; /* a stray break/continue at the top ends nothing */
  if (r.err_code) rc = r.err_code;
  if (rc) {
    out->len = start;
    if (out->data) out->data[start] = 0;
  }
  return rc;
}
