/* jinja_parse.c — recursive-descent parser from tokens to the syntax tree,
 * following Jinja2's parser rule by rule so precedence and corner cases
 * agree: conditional expression < or < and < not < comparisons (chained,
 * with in / not in) < + - < ~ < * / // % < ** < unary - + < primary with
 * postfix .attr [sub] (call), then filters "|f(...)" and tests "is [not] t".
 *
 * Node fields by kind (see jinja_internal.h):
 *   GETATTR a.name   GETITEM a[b]   SLICE a[b:c:d] (NULL = omitted)
 *   CALL a(items, kw)   FILTER name(a, items, kw) (a NULL in filter blocks)
 *   TEST a is name(items)   BINOP a op b   NEG/POS/NOT a   AND/OR a, b
 *   COMPARE a then items[i] with cmp_ops[i]   CONDEXPR b if a else c
 *   CONCAT items   LIST/TUPLE items   DICT items = k0, v0, k1, v1 ...
 *   NSREF name.attr (only as a set target)
 *   IF a body else_body (elif is an IF alone in else_body, flagged 1)
 *   FOR items = targets (NAME nodes; flags&2: unpack) in b [if c] body else
 *   SET items = targets (or one NSREF) = b
 *   SETBLOCK items = targets, body, c = filter chain or NULL
 *   MACRO name(items = NAME params, kw = defaults) body
 *   CALLBLOCK a = the call, items/kw = caller's params, body
 *   FILTERBLOCK c = filter chain (innermost input NULL), body
 *   WITH items = targets, kw = values, body    SCOPE body (block/generation)
 *
 * Depth is bounded so hostile input cannot exhaust the C stack. */
#include "jinja_internal.h"

#include <stdio.h>
#include <string.h>

#define PARSE_DEPTH_MAX 200

typedef struct {
  hr_arena *a;
  const jinja_token *t;
  size_t n, pos;
  char *err;
  size_t err_len;
  int depth;
  int rc;
} parser;

typedef struct {
  jinja_node **v;
  size_t n, cap;
} nodevec;

static jinja_node *fail(parser *P, const char *fmt, const char *a1, const char *a2) {
  if (!P->rc) {
    P->rc = HR_EFORMAT;
    if (P->err && P->err_len) {
      char msg[200];
      snprintf(msg, sizeof msg, fmt, a1 ? a1 : "", a2 ? a2 : "");
      const jinja_token *t = &P->t[P->pos < P->n ? P->pos : P->n - 1];
      snprintf(P->err, P->err_len, "line %u: %s", (unsigned)t->line, msg);
    }
  }
  return NULL;
}

static jinja_node *oom(parser *P) {
  if (!P->rc) P->rc = HR_ENOMEM;
  if (P->err && P->err_len) snprintf(P->err, P->err_len, "out of memory");
  return NULL;
}

static const jinja_token *cur(const parser *P) { return &P->t[P->pos]; }
static const jinja_token *look(const parser *P) {
  return &P->t[P->pos + 1 < P->n ? P->pos + 1 : P->pos];
}
static void advance(parser *P) {
  if (P->pos + 1 < P->n) P->pos++;
}
static bool is_op(const parser *P, int op) { return cur(P)->kind == TK_OP && cur(P)->op == op; }
static bool tok_is_name(const jinja_token *t, const char *s) {
  return t->kind == TK_NAME && t->len == strlen(s) && memcmp(t->ptr, s, t->len) == 0;
}
static bool is_name(const parser *P, const char *s) { return tok_is_name(cur(P), s); }
static bool skip_name(parser *P, const char *s) {
  if (!is_name(P, s)) return false;
  advance(P);
  return true;
}
static bool skip_op(parser *P, int op) {
  if (!is_op(P, op)) return false;
  advance(P);
  return true;
}

static const char *describe(const jinja_token *t, char buf[48]) {
  static const char *opnames[] = {"", "+", "-", "/", "//", "*", "%", "**", "~", "[", "]", "(", ")",
                                  "{", "}", "==", "!=", ">", ">=", "<", "<=", "=", ".", ":", "|", ",", ";"};
  switch (t->kind) {
  case TK_EOF: return "end of template";
  case TK_DATA: return "template data";
  case TK_VAR_BEGIN: return "begin of print statement";
  case TK_VAR_END: return "end of print statement";
  case TK_BLOCK_BEGIN: return "begin of statement block";
  case TK_BLOCK_END: return "end of statement block";
  case TK_STRING: return "string";
  case TK_INT: return "integer";
  case TK_FLOAT: return "float";
  case TK_OP: return t->op < HR_ARRAY_LEN(opnames) ? opnames[t->op] : "operator";
  case TK_NAME: snprintf(buf, 48, "%.*s", (int)HR_MIN(t->len, 40), t->ptr); return buf;
  }
  return "token";
}

static bool expect_op(parser *P, int op, const char *what) {
  if (skip_op(P, op)) return true;
  char b[48];
  fail(P, "expected token '%s', got '%s'", what, describe(cur(P), b));
  return false;
}

static bool expect_kind(parser *P, int kind, const char *what) {
  if (cur(P)->kind == kind) {
    advance(P);
    return true;
  }
  char b[48];
  fail(P, "expected token '%s', got '%s'", what, describe(cur(P), b));
  return false;
}

static jinja_node *node(parser *P, int kind) {
  jinja_node *n = hr_arena_calloc(P->a, 1, sizeof *n);
  if (!n) return oom(P);
  n->kind = (uint8_t)kind;
  n->line = cur(P)->line;
  return n;
}

static bool vec_push(parser *P, nodevec *v, jinja_node *n) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 4;
    jinja_node **nv = hr_arena_alloc(P->a, cap * sizeof *nv);
    if (!nv) return oom(P), false;
    if (v->n) memcpy(nv, v->v, v->n * sizeof *nv);
    v->v = nv;
    v->cap = cap;
  }
  v->v[v->n++] = n;
  return true;
}

static jinja_nodes vec_done(nodevec *v) { return (jinja_nodes){v->v, v->n}; }

static jinja_node *const_node(parser *P, const jinja_value *v) {
  jinja_node *n = node(P, N_CONST);
  if (n) n->value = v;
  return n;
}

static jinja_value *new_value(parser *P, int type) {
  jinja_value *v = hr_arena_calloc(P->a, 1, sizeof *v);
  if (!v) return oom(P), NULL;
  v->type = (uint8_t)type;
  return v;
}

static bool enter(parser *P) {
  if (++P->depth > PARSE_DEPTH_MAX) {
    if (!P->rc) {
      P->rc = HR_ERANGE;
      if (P->err && P->err_len)
        snprintf(P->err, P->err_len, "line %u: template nested too deeply", (unsigned)cur(P)->line);
    }
    return false;
  }
  return true;
}

/* ---- expressions ------------------------------------------------------------ */

static jinja_node *parse_expression(parser *P, bool with_condexpr);
static jinja_node *parse_tuple(parser *P, int mode, const char *extra_end, bool explicit_parens);
static jinja_node *parse_unary(parser *P, bool with_filter);
static jinja_node *parse_postfix(parser *P, jinja_node *n);
static jinja_node *parse_filter(parser *P, jinja_node *n, bool start_inline);
static jinja_node *parse_primary(parser *P);

/* Call arguments "(a, b, k=v)" into items/kw of n. */
static bool parse_call_args(parser *P, jinja_node *n) {
  if (!expect_op(P, OP_LPAREN, "(")) return false;
  nodevec args = {0}, kw = {0};
  bool need_comma = false;
  while (!is_op(P, OP_RPAREN)) {
    if (P->rc) return false;
    if (need_comma) {
      if (!expect_op(P, OP_COMMA, ",")) return false;
      if (is_op(P, OP_RPAREN)) break;
    }
    if (is_op(P, OP_MUL) || is_op(P, OP_POW))
      return fail(P, "*args and **kwargs in calls are not supported", NULL, NULL), false;
    if (cur(P)->kind == TK_NAME && look(P)->kind == TK_OP && look(P)->op == OP_ASSIGN) {
      jinja_node *k = node(P, N_CONST);
      if (!k) return false;
      k->name = hr_str_make(cur(P)->ptr, cur(P)->len);
      advance(P);
      advance(P);
      k->a = parse_expression(P, true);
      if (!k->a || !vec_push(P, &kw, k)) return false;
    } else {
      if (kw.n) return fail(P, "invalid syntax for function call expression", NULL, NULL), false;
      jinja_node *e = parse_expression(P, true);
      if (!e || !vec_push(P, &args, e)) return false;
    }
    need_comma = true;
  }
  advance(P);
  n->items = vec_done(&args);
  n->kw = vec_done(&kw);
  return true;
}

static jinja_node *parse_call(parser *P, jinja_node *fn) {
  jinja_node *n = node(P, N_CALL);
  if (!n) return NULL;
  n->a = fn;
  return parse_call_args(P, n) ? n : NULL;
}

static jinja_node *parse_subscribed(parser *P) {
  jinja_node *parts[3] = {0};
  if (skip_op(P, OP_COLON)) {
  } else {
    jinja_node *e = parse_expression(P, true);
    if (!e || !is_op(P, OP_COLON)) return e;
    advance(P);
    parts[0] = e;
  }
  if (is_op(P, OP_COLON)) {
  } else if (!is_op(P, OP_RBRACKET) && !is_op(P, OP_COMMA)) {
    if (!(parts[1] = parse_expression(P, true))) return NULL;
  }
  if (skip_op(P, OP_COLON)) {
    if (!is_op(P, OP_RBRACKET) && !is_op(P, OP_COMMA))
      if (!(parts[2] = parse_expression(P, true))) return NULL;
  }
  jinja_node *s = node(P, N_SLICE);
  if (!s) return NULL;
  s->b = parts[0];
  s->c = parts[1];
  s->d = parts[2];
  return s;
}

static jinja_node *parse_subscript(parser *P, jinja_node *obj) {
  if (skip_op(P, OP_DOT)) {
    const jinja_token *t = cur(P);
    if (t->kind == TK_NAME) {
      jinja_node *n = node(P, N_GETATTR);
      if (!n) return NULL;
      n->a = obj;
      n->name = hr_str_make(t->ptr, t->len);
      advance(P);
      return n;
    }
    if (t->kind != TK_INT) return fail(P, "expected name or number", NULL, NULL);
    jinja_value *v = new_value(P, JV_INT);
    if (!v) return NULL;
    v->u.i = t->i;
    advance(P);
    jinja_node *n = node(P, N_GETITEM), *k = const_node(P, v);
    if (!n || !k) return NULL;
    n->a = obj;
    n->b = k;
    return n;
  }
  advance(P); /* [ */
  nodevec args = {0};
  while (!is_op(P, OP_RBRACKET)) {
    if (P->rc) return NULL;
    if (args.n && !expect_op(P, OP_COMMA, ",")) return NULL;
    jinja_node *e = parse_subscribed(P);
    if (!e || !vec_push(P, &args, e)) return NULL;
  }
  advance(P);
  if (!args.n) return fail(P, "expected an expression in subscript", NULL, NULL);
  jinja_node *n = node(P, N_GETITEM);
  if (!n) return NULL;
  n->a = obj;
  if (args.n == 1) {
    n->b = args.v[0];
  } else {
    for (size_t i = 0; i < args.n; i++) /* x[a:b, c]: numpy-style, meaningless here */
      if (args.v[i]->kind == N_SLICE) return fail(P, "slices inside a tuple subscript are not supported", NULL, NULL);
    jinja_node *t = node(P, N_TUPLE);
    if (!t) return NULL;
    t->items = vec_done(&args);
    n->b = t;
  }
  if (n->b->kind == N_SLICE) { /* fold a[b:c:d] into one node */
    jinja_node *s = n->b;
    s->a = obj;
    return s;
  }
  return n;
}

static jinja_node *parse_postfix(parser *P, jinja_node *n) {
  while (n && !P->rc) {
    if (is_op(P, OP_DOT) || is_op(P, OP_LBRACKET)) n = parse_subscript(P, n);
    else if (is_op(P, OP_LPAREN)) n = parse_call(P, n);
    else break;
  }
  return n;
}

static jinja_node *parse_dotted_name(parser *P, jinja_node *n) {
  const jinja_token *t = cur(P);
  if (t->kind != TK_NAME) {
    char b[48];
    return fail(P, "expected token 'name', got '%s'", describe(t, b), NULL);
  }
  n->name = hr_str_make(t->ptr, t->len);
  advance(P);
  if (is_op(P, OP_DOT)) return fail(P, "dotted filter and test names are not supported", NULL, NULL);
  return n;
}

static jinja_node *parse_filter(parser *P, jinja_node *in, bool start_inline) {
  while (is_op(P, OP_PIPE) || start_inline) {
    if (!start_inline) advance(P);
    jinja_node *f = node(P, N_FILTER);
    if (!f || !parse_dotted_name(P, f)) return NULL;
    f->a = in;
    if (is_op(P, OP_LPAREN) && !parse_call_args(P, f)) return NULL;
    in = f;
    start_inline = false;
  }
  return in;
}

static jinja_node *parse_test(parser *P, jinja_node *v) {
  advance(P); /* is */
  bool negated = skip_name(P, "not");
  jinja_node *t = node(P, N_TEST);
  if (!t || !parse_dotted_name(P, t)) return NULL;
  t->a = v;
  t->flags = negated;
  const jinja_token *c = cur(P);
  if (is_op(P, OP_LPAREN)) {
    if (!parse_call_args(P, t)) return NULL;
  } else if ((c->kind == TK_NAME || c->kind == TK_STRING || c->kind == TK_INT || c->kind == TK_FLOAT ||
              is_op(P, OP_LBRACKET) || is_op(P, OP_LBRACE)) &&
             !is_name(P, "else") && !is_name(P, "or") && !is_name(P, "and")) {
    if (is_name(P, "is")) return fail(P, "You cannot chain multiple tests with is", NULL, NULL);
    jinja_node *arg = parse_postfix(P, parse_primary(P));
    if (!arg) return NULL;
    nodevec args = {0};
    if (!vec_push(P, &args, arg)) return NULL;
    t->items = vec_done(&args);
  }
  return t;
}

static jinja_node *parse_filter_expr(parser *P, jinja_node *n) {
  while (n && !P->rc) {
    if (is_op(P, OP_PIPE)) n = parse_filter(P, n, false);
    else if (is_name(P, "is")) n = parse_test(P, n);
    else if (is_op(P, OP_LPAREN)) n = parse_call(P, n);
    else break;
  }
  return n;
}

static jinja_node *parse_list(parser *P) {
  jinja_node *n = node(P, N_LIST);
  if (!n) return NULL;
  advance(P);
  nodevec items = {0};
  while (!is_op(P, OP_RBRACKET)) {
    if (P->rc) return NULL;
    if (items.n && !expect_op(P, OP_COMMA, ",")) return NULL;
    if (is_op(P, OP_RBRACKET)) break;
    jinja_node *e = parse_expression(P, true);
    if (!e || !vec_push(P, &items, e)) return NULL;
  }
  advance(P);
  n->items = vec_done(&items);
  return n;
}

static jinja_node *parse_dict(parser *P) {
  jinja_node *n = node(P, N_DICT);
  if (!n) return NULL;
  advance(P);
  nodevec items = {0};
  while (!is_op(P, OP_RBRACE)) {
    if (P->rc) return NULL;
    if (items.n && !expect_op(P, OP_COMMA, ",")) return NULL;
    if (is_op(P, OP_RBRACE)) break;
    jinja_node *k = parse_expression(P, true);
    if (!k || !expect_op(P, OP_COLON, ":")) return NULL;
    jinja_node *v = parse_expression(P, true);
    if (!v || !vec_push(P, &items, k) || !vec_push(P, &items, v)) return NULL;
  }
  advance(P);
  n->items = vec_done(&items);
  return n;
}

static jinja_node *parse_primary(parser *P) {
  const jinja_token *t = cur(P);
  if (!enter(P)) return NULL;
  jinja_node *n = NULL;
  if (t->kind == TK_NAME) {
    hr_str s = hr_str_make(t->ptr, t->len);
    if (hr_str_eq_cstr(s, "true") || hr_str_eq_cstr(s, "True")) n = const_node(P, &jinja_true_v);
    else if (hr_str_eq_cstr(s, "false") || hr_str_eq_cstr(s, "False")) n = const_node(P, &jinja_false_v);
    else if (hr_str_eq_cstr(s, "none") || hr_str_eq_cstr(s, "None")) n = const_node(P, &jinja_none_v);
    else if ((n = node(P, N_NAME))) n->name = s;
    advance(P);
  } else if (t->kind == TK_STRING) {
    /* adjacent literals concatenate */
    size_t total = 0, i = P->pos;
    while (i < P->n && P->t[i].kind == TK_STRING) total += P->t[i++].len;
    jinja_value *v = new_value(P, JV_STR);
    char *buf = v ? hr_arena_alloc(P->a, total + 1) : NULL;
    if (!buf) return oom(P);
    size_t k = 0;
    n = const_node(P, v);
    while (cur(P)->kind == TK_STRING) {
      memcpy(buf + k, cur(P)->ptr, cur(P)->len);
      k += cur(P)->len;
      advance(P);
    }
    buf[k] = 0;
    v->u.s.ptr = buf;
    v->u.s.len = k;
  } else if (t->kind == TK_INT || t->kind == TK_FLOAT) {
    jinja_value *v = new_value(P, t->kind == TK_INT ? JV_INT : JV_FLOAT);
    if (!v) return NULL;
    if (t->kind == TK_INT) v->u.i = t->i;
    else v->u.f = t->f;
    n = const_node(P, v);
    advance(P);
  } else if (is_op(P, OP_LPAREN)) {
    advance(P);
    n = parse_tuple(P, 0, NULL, true);
    if (n && !expect_op(P, OP_RPAREN, ")")) n = NULL;
  } else if (is_op(P, OP_LBRACKET)) {
    n = parse_list(P);
  } else if (is_op(P, OP_LBRACE)) {
    n = parse_dict(P);
  } else {
    char b[48];
    n = fail(P, "unexpected '%s'", describe(t, b), NULL);
  }
  P->depth--;
  return n;
}

static jinja_node *parse_unary(parser *P, bool with_filter) {
  if (!enter(P)) return NULL;
  jinja_node *n;
  if (is_op(P, OP_SUB) || is_op(P, OP_ADD)) {
    n = node(P, is_op(P, OP_SUB) ? N_NEG : N_POS);
    advance(P);
    if (n && !(n->a = parse_unary(P, false))) n = NULL;
  } else {
    n = parse_primary(P);
  }
  n = parse_postfix(P, n);
  if (with_filter) n = parse_filter_expr(P, n);
  P->depth--;
  return n;
}

static jinja_node *binop(parser *P, int kind, int op, jinja_node *l, jinja_node *r) {
  if (!l || !r) return NULL;
  jinja_node *n = node(P, kind);
  if (!n) return NULL;
  n->op = (uint8_t)op;
  n->a = l;
  n->b = r;
  return n;
}

static jinja_node *parse_pow(parser *P) {
  jinja_node *l = parse_unary(P, true);
  while (l && is_op(P, OP_POW)) {
    advance(P);
    l = binop(P, N_BINOP, OP_POW, l, parse_unary(P, true));
  }
  return l;
}

static jinja_node *parse_math2(parser *P) {
  jinja_node *l = parse_pow(P);
  while (l && (is_op(P, OP_MUL) || is_op(P, OP_DIV) || is_op(P, OP_FLOORDIV) || is_op(P, OP_MOD))) {
    int op = cur(P)->op;
    advance(P);
    l = binop(P, N_BINOP, op, l, parse_pow(P));
  }
  return l;
}

static jinja_node *parse_concat(parser *P) {
  jinja_node *first = parse_math2(P);
  if (!first || !is_op(P, OP_TILDE)) return first;
  jinja_node *n = node(P, N_CONCAT);
  nodevec items = {0};
  if (!n || !vec_push(P, &items, first)) return NULL;
  while (skip_op(P, OP_TILDE)) {
    jinja_node *e = parse_math2(P);
    if (!e || !vec_push(P, &items, e)) return NULL;
  }
  n->items = vec_done(&items);
  return n;
}

static jinja_node *parse_math1(parser *P) {
  jinja_node *l = parse_concat(P);
  while (l && (is_op(P, OP_ADD) || is_op(P, OP_SUB))) {
    int op = cur(P)->op;
    advance(P);
    l = binop(P, N_BINOP, op, l, parse_concat(P));
  }
  return l;
}

static jinja_node *parse_compare(parser *P) {
  jinja_node *first = parse_math1(P);
  if (!first) return NULL;
  nodevec ops = {0};
  uint8_t opcodes[64];
  for (;;) {
    int op;
    const jinja_token *t = cur(P);
    if (t->kind == TK_OP && (t->op == OP_EQ || t->op == OP_NE || t->op == OP_LT || t->op == OP_LTEQ ||
                             t->op == OP_GT || t->op == OP_GTEQ)) {
      op = t->op;
      advance(P);
    } else if (is_name(P, "in")) {
      op = OP_IN;
      advance(P);
    } else if (is_name(P, "not") && tok_is_name(look(P), "in")) {
      op = OP_NOTIN;
      advance(P);
      advance(P);
    } else {
      break;
    }
    if (ops.n == HR_ARRAY_LEN(opcodes)) return fail(P, "comparison chain too long", NULL, NULL);
    jinja_node *e = parse_math1(P);
    if (!e || !vec_push(P, &ops, e)) return NULL;
    opcodes[ops.n - 1] = (uint8_t)op;
  }
  if (!ops.n) return first;
  jinja_node *n = node(P, N_COMPARE);
  if (!n) return NULL;
  n->a = first;
  n->items = vec_done(&ops);
  n->cmp_ops = hr_arena_alloc(P->a, ops.n);
  if (!n->cmp_ops) return oom(P);
  memcpy(n->cmp_ops, opcodes, ops.n);
  return n;
}

static jinja_node *parse_not(parser *P) {
  if (is_name(P, "not")) {
    if (!enter(P)) return NULL;
    jinja_node *n = node(P, N_NOT);
    advance(P);
    if (n && !(n->a = parse_not(P))) n = NULL;
    P->depth--;
    return n;
  }
  return parse_compare(P);
}

static jinja_node *parse_and(parser *P) {
  jinja_node *l = parse_not(P);
  while (l && skip_name(P, "and")) l = binop(P, N_AND, 0, l, parse_not(P));
  return l;
}

static jinja_node *parse_or(parser *P) {
  jinja_node *l = parse_and(P);
  while (l && skip_name(P, "or")) l = binop(P, N_OR, 0, l, parse_and(P));
  return l;
}

static jinja_node *parse_condexpr(parser *P) {
  if (!enter(P)) return NULL;
  jinja_node *e = parse_or(P);
  while (e && skip_name(P, "if")) {
    jinja_node *n = node(P, N_CONDEXPR);
    if (!n) return NULL;
    n->b = e;
    if (!(n->a = parse_or(P))) return NULL;
    if (skip_name(P, "else") && !(n->c = parse_condexpr(P))) return NULL;
    e = n;
  }
  P->depth--;
  return e;
}

static jinja_node *parse_expression(parser *P, bool with_condexpr) {
  return with_condexpr ? parse_condexpr(P) : parse_or(P);
}

static bool is_tuple_end(parser *P, const char *extra_end) {
  const jinja_token *t = cur(P);
  if (t->kind == TK_VAR_END || t->kind == TK_BLOCK_END || t->kind == TK_EOF) return true;
  if (t->kind == TK_OP && t->op == OP_RPAREN) return true;
  return extra_end && is_name(P, extra_end);
}

/* mode 0: full expressions; 1: without conditional expressions; 2: names
 * only (assignment targets). */
static jinja_node *parse_tuple(parser *P, int mode, const char *extra_end, bool explicit_parens) {
  nodevec items = {0};
  bool is_tuple = false;
  uint32_t line = cur(P)->line;
  for (;;) {
    if (items.n && !expect_op(P, OP_COMMA, ",")) return NULL;
    if (is_tuple_end(P, extra_end)) break;
    jinja_node *e = mode == 2 ? parse_primary(P) : parse_expression(P, mode == 0);
    if (!e || !vec_push(P, &items, e)) return NULL;
    if (is_op(P, OP_COMMA)) is_tuple = true;
    else break;
  }
  if (!is_tuple) {
    if (items.n) return items.v[0];
    if (!explicit_parens) {
      char b[48];
      return fail(P, "Expected an expression, got '%s'", describe(cur(P), b), NULL);
    }
  }
  jinja_node *t = node(P, N_TUPLE);
  if (!t) return NULL;
  t->line = line;
  t->items = vec_done(&items);
  return t;
}

/* ---- statements -------------------------------------------------------------- */

static bool subparse(parser *P, const char *const *end, jinja_nodes *out);

/* Jinja2's parse_statements: the current tag's "%}", then the body up to one
 * of end (left as the current token, or consumed with drop_needle). */
static bool parse_body(parser *P, const char *const *end, bool drop_needle, jinja_nodes *out) {
  skip_op(P, OP_COLON);
  if (!expect_kind(P, TK_BLOCK_END, "end of statement block")) return false;
  if (!subparse(P, end, out)) return false;
  if (drop_needle) advance(P);
  return true;
}

/* Targets: NAME nodes into items, or one tuple; sets *unpack for tuples. */
static bool parse_assign_target(parser *P, jinja_node *st, const char *extra_end, bool *unpack) {
  jinja_node *t = parse_tuple(P, 2, extra_end, false);
  if (!t) return false;
  nodevec v = {0};
  if (t->kind == N_NAME) {
    if (!vec_push(P, &v, t)) return false;
    *unpack = false;
  } else if (t->kind == N_TUPLE) {
    for (size_t i = 0; i < t->items.n; i++) {
      if (t->items.v[i]->kind != N_NAME) return fail(P, "can't assign to this target", NULL, NULL), false;
      if (!vec_push(P, &v, t->items.v[i])) return false;
    }
    *unpack = true;
  } else {
    return fail(P, "can't assign to this target", NULL, NULL), false;
  }
  st->items = vec_done(&v);
  return true;
}

static jinja_node *parse_for(parser *P) {
  jinja_node *n = node(P, N_FOR);
  if (!n) return NULL;
  advance(P);
  bool unpack;
  if (!parse_assign_target(P, n, "in", &unpack)) return NULL;
  n->flags = unpack ? 2 : 0;
  if (!skip_name(P, "in")) {
    char b[48];
    return fail(P, "expected token 'in', got '%s'", describe(cur(P), b), NULL);
  }
  if (!(n->b = parse_tuple(P, 1, "recursive", false))) return NULL;
  if (skip_name(P, "if") && !(n->c = parse_expression(P, true))) return NULL;
  if (skip_name(P, "recursive")) return fail(P, "recursive loops are not supported", NULL, NULL);
  static const char *const end1[] = {"endfor", "else", NULL}, *const end2[] = {"endfor", NULL};
  if (!parse_body(P, end1, false, &n->body)) return NULL;
  bool is_else = is_name(P, "else");
  advance(P);
  if (is_else && !parse_body(P, end2, true, &n->else_body)) return NULL;
  return n;
}

static jinja_node *parse_if(parser *P) {
  static const char *const end1[] = {"elif", "else", "endif", NULL}, *const end2[] = {"endif", NULL};
  jinja_node *top = node(P, N_IF), *n = top;
  if (!n) return NULL;
  advance(P);
  for (;;) {
    if (!(n->a = parse_tuple(P, 1, NULL, false))) return NULL;
    if (!parse_body(P, end1, false, &n->body)) return NULL;
    if (is_name(P, "elif")) {
      advance(P);
      jinja_node *e = node(P, N_IF);
      nodevec v = {0};
      if (!e || !vec_push(P, &v, e)) return NULL;
      e->flags = 1;
      n->else_body = vec_done(&v);
      n = e;
      continue;
    }
    bool is_else = is_name(P, "else");
    advance(P);
    if (is_else && !parse_body(P, end2, true, &n->else_body)) return NULL;
    return top;
  }
}

static jinja_node *parse_set(parser *P) {
  advance(P);
  jinja_node *n = node(P, N_SET);
  if (!n) return NULL;
  if (cur(P)->kind == TK_NAME && look(P)->kind == TK_OP && look(P)->op == OP_DOT) {
    jinja_node *t = node(P, N_NSREF);
    if (!t) return NULL;
    t->name = hr_str_make(cur(P)->ptr, cur(P)->len);
    advance(P);
    advance(P);
    if (cur(P)->kind != TK_NAME) return fail(P, "expected token 'name'", NULL, NULL);
    t->attr = hr_str_make(cur(P)->ptr, cur(P)->len);
    advance(P);
    nodevec v = {0};
    if (!vec_push(P, &v, t)) return NULL;
    n->items = vec_done(&v);
  } else {
    bool unpack;
    if (!parse_assign_target(P, n, NULL, &unpack)) return NULL;
    n->flags = unpack ? 2 : 0;
  }
  if (skip_op(P, OP_ASSIGN)) {
    n->b = parse_tuple(P, 0, NULL, false);
    return n->b ? n : NULL;
  }
  n->kind = N_SETBLOCK;
  if (is_op(P, OP_PIPE) && !(n->c = parse_filter(P, NULL, false))) return NULL;
  static const char *const end[] = {"endset", NULL};
  return parse_body(P, end, true, &n->body) ? n : NULL;
}

/* "(a, b=1)" after a macro name or "call". */
static bool parse_signature(parser *P, jinja_node *n) {
  nodevec params = {0}, defs = {0};
  if (!expect_op(P, OP_LPAREN, "(")) return false;
  while (!is_op(P, OP_RPAREN)) {
    if (P->rc) return false;
    if (params.n && !expect_op(P, OP_COMMA, ",")) return false;
    if (cur(P)->kind != TK_NAME) return fail(P, "expected token 'name'", NULL, NULL), false;
    jinja_node *a = node(P, N_NAME);
    if (!a) return false;
    a->name = hr_str_make(cur(P)->ptr, cur(P)->len);
    advance(P);
    jinja_node *d = NULL;
    if (skip_op(P, OP_ASSIGN)) {
      if (!(d = parse_expression(P, true))) return false;
    } else if (defs.n && defs.v[defs.n - 1]) {
      return fail(P, "non-default argument follows default argument", NULL, NULL), false;
    }
    if (!vec_push(P, &params, a) || !vec_push(P, &defs, d)) return false;
  }
  advance(P);
  n->items = vec_done(&params);
  n->kw = vec_done(&defs);
  return true;
}

static jinja_node *parse_macro(parser *P) {
  advance(P);
  jinja_node *n = node(P, N_MACRO);
  if (!n) return NULL;
  if (cur(P)->kind != TK_NAME) return fail(P, "expected token 'name'", NULL, NULL);
  n->name = hr_str_make(cur(P)->ptr, cur(P)->len);
  advance(P);
  static const char *const end[] = {"endmacro", NULL};
  if (!parse_signature(P, n) || !parse_body(P, end, true, &n->body)) return NULL;
  if (cur(P)->kind == TK_NAME) advance(P); /* {% endmacro name %} */
  return n;
}

static jinja_node *parse_call_block(parser *P) {
  advance(P);
  jinja_node *n = node(P, N_CALLBLOCK);
  if (!n) return NULL;
  if (is_op(P, OP_LPAREN) && !parse_signature(P, n)) return NULL;
  jinja_node *call = parse_expression(P, true);
  if (!call) return NULL;
  if (call->kind != N_CALL) return fail(P, "expected call", NULL, NULL);
  n->a = call;
  static const char *const end[] = {"endcall", NULL};
  return parse_body(P, end, true, &n->body) ? n : NULL;
}

static jinja_node *parse_filter_block(parser *P) {
  advance(P);
  jinja_node *n = node(P, N_FILTERBLOCK);
  if (!n || !(n->c = parse_filter(P, NULL, true))) return NULL;
  static const char *const end[] = {"endfilter", NULL};
  return parse_body(P, end, true, &n->body) ? n : NULL;
}

static jinja_node *parse_with(parser *P) {
  advance(P);
  jinja_node *n = node(P, N_WITH);
  if (!n) return NULL;
  nodevec targets = {0}, values = {0};
  while (cur(P)->kind != TK_BLOCK_END) {
    if (P->rc) return NULL;
    if (targets.n && !expect_op(P, OP_COMMA, ",")) return NULL;
    if (cur(P)->kind != TK_NAME) return fail(P, "expected token 'name'", NULL, NULL);
    jinja_node *t = node(P, N_NAME);
    if (!t) return NULL;
    t->name = hr_str_make(cur(P)->ptr, cur(P)->len);
    advance(P);
    if (!expect_op(P, OP_ASSIGN, "=")) return NULL;
    jinja_node *v = parse_expression(P, true);
    if (!v || !vec_push(P, &targets, t) || !vec_push(P, &values, v)) return NULL;
  }
  n->items = vec_done(&targets);
  n->kw = vec_done(&values);
  static const char *const end[] = {"endwith", NULL};
  return parse_body(P, end, true, &n->body) ? n : NULL;
}

/* {% block name %}, {% generation %}: their bodies render in place. */
static jinja_node *parse_scope_block(parser *P, const char *end_name) {
  bool named = is_name(P, "block");
  advance(P);
  if (named) {
    if (cur(P)->kind != TK_NAME) return fail(P, "expected token 'name'", NULL, NULL);
    advance(P);
    while (is_name(P, "scoped") || is_name(P, "required")) advance(P);
  }
  jinja_node *n = node(P, N_SCOPE);
  const char *const end[] = {end_name, NULL};
  if (!n || !parse_body(P, end, true, &n->body)) return NULL;
  if (named && cur(P)->kind == TK_NAME) advance(P);
  return n;
}

static jinja_node *parse_statement(parser *P) {
  const jinja_token *t = cur(P);
  if (t->kind != TK_NAME) return fail(P, "tag name expected", NULL, NULL);
  if (!enter(P)) return NULL;
  jinja_node *n = NULL;
  if (is_name(P, "for")) n = parse_for(P);
  else if (is_name(P, "if")) n = parse_if(P);
  else if (is_name(P, "set")) n = parse_set(P);
  else if (is_name(P, "macro")) n = parse_macro(P);
  else if (is_name(P, "call")) n = parse_call_block(P);
  else if (is_name(P, "filter")) n = parse_filter_block(P);
  else if (is_name(P, "with")) n = parse_with(P);
  else if (is_name(P, "block")) n = parse_scope_block(P, "endblock");
  else if (is_name(P, "generation")) n = parse_scope_block(P, "endgeneration");
  else if (is_name(P, "break") || is_name(P, "continue")) {
    n = node(P, is_name(P, "break") ? N_BREAK : N_CONTINUE);
    advance(P);
  } else if (is_name(P, "print")) {
    advance(P);
    n = node(P, N_OUTPUT);
    if (n && !(n->a = parse_tuple(P, 0, NULL, false))) n = NULL;
  } else {
    char b[48];
    n = fail(P, "Encountered unknown tag '%s'.", describe(t, b), NULL);
  }
  P->depth--;
  return n;
}

static bool subparse(parser *P, const char *const *end, jinja_nodes *out) {
  nodevec body = {0};
  for (;;) {
    if (P->rc) return false;
    const jinja_token *t = cur(P);
    if (t->kind == TK_EOF) {
      if (end) {
        char want[120] = "";
        for (size_t i = 0; end[i]; i++)
          snprintf(want + strlen(want), sizeof want - strlen(want), "%s'%s'", i ? " or " : "", end[i]);
        return fail(P, "Unexpected end of template. Jinja was looking for the following tags: %s.", want,
                    NULL),
               false;
      }
      break;
    }
    jinja_node *n = NULL;
    if (t->kind == TK_DATA) {
      if ((n = node(P, N_TEXT))) n->name = hr_str_make(t->ptr, t->len);
      advance(P);
    } else if (t->kind == TK_VAR_BEGIN) {
      advance(P);
      n = node(P, N_OUTPUT);
      if (n && !(n->a = parse_tuple(P, 0, NULL, false))) return false;
      if (!expect_kind(P, TK_VAR_END, "end of print statement")) return false;
    } else if (t->kind == TK_BLOCK_BEGIN) {
      advance(P);
      if (end)
        for (size_t i = 0; end[i]; i++)
          if (is_name(P, end[i])) {
            *out = vec_done(&body);
            return true;
          }
      if (!(n = parse_statement(P))) return false;
      if (!expect_kind(P, TK_BLOCK_END, "end of statement block")) return false;
    } else {
      char b[48];
      return fail(P, "unexpected '%s'", describe(t, b), NULL), false;
    }
    if (!n || !vec_push(P, &body, n)) return false;
  }
  *out = vec_done(&body);
  return true;
}

int jinja_parse(hr_arena *a, const jinja_tokens *toks, jinja_nodes *out, char *err,
                size_t err_len) {
  parser P = {.a = a, .t = toks->v, .n = toks->n, .err = err, .err_len = err_len};
  if (!subparse(&P, NULL, out)) return P.rc ? P.rc : HR_EFORMAT;
  return 0;
}
