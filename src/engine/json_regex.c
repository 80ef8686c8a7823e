/* json_regex.c — see json_regex.h. The pattern is parsed into a small
 * tree; Glushkov's construction then walks it, giving each character class
 * it meets a position of its own (so a subtree walked three times for {3}
 * gets three sets of positions) and recording which positions may follow
 * which. */
#include "json_regex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES_MAX 512
#define REPEAT_MAX 63

typedef enum { R_CLASS, R_CAT, R_ALT, R_REP, R_EMPTY } rnode_kind;

typedef struct {
  rnode_kind kind;
  uint8_t set[32]; /* R_CLASS: the bytes the model may write for it */
  int a, b;        /* R_CAT, R_ALT: children; R_REP: child a */
  int min, max;    /* R_REP: max -1 = unbounded */
} rnode;

typedef struct {
  const char *p, *end;
  rnode nodes[NODES_MAX];
  int n_nodes;
  long visits; /* walk's steps: {n} nested on empty groups must not explode */
  char *err;
  size_t err_len;
  jr_prog *prog;
} parser;

__attribute__((format(printf, 2, 3))) static int perr(parser *ps, const char *fmt, ...) {
  if (ps->err && ps->err_len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err, ps->err_len, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static int node_new(parser *ps, rnode_kind kind) {
  if (ps->n_nodes == NODES_MAX) return perr(ps, "pattern: too long");
  rnode *n = &ps->nodes[ps->n_nodes];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  return ps->n_nodes++;
}

static void set_add(uint8_t *set, unsigned c) { set[c >> 3] |= (uint8_t)(1u << (c & 7)); }
static bool set_has(const uint8_t *set, unsigned c) { return set[c >> 3] >> (c & 7) & 1; }

/* What the model may write unescaped inside a JSON string. */
static bool writable(unsigned c) { return c >= 0x20 && c != '"' && c != '\\' && c != 0x7f; }

/* Printable ASCII the model may write, minus the bytes in set: '.', [^...]
 * and the negated escapes stand for this much. */
static void complement_ascii(uint8_t *set) {
  uint8_t out[32] = {0};
  for (unsigned c = 0x20; c < 0x7f; c++)
    if (!set_has(set, c) && writable(c)) set_add(out, c);
  memcpy(set, out, sizeof out);
}

/* \d \w \s (and negations) into set; false when e is not one of them. */
static bool class_escape(uint8_t *set, char e) {
  uint8_t tmp[32] = {0};
  switch (e | 0x20) {
  case 'd':
    for (unsigned c = '0'; c <= '9'; c++) set_add(tmp, c);
    break;
  case 'w':
    for (unsigned c = 0; c < 128; c++)
      if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') set_add(tmp, c);
    break;
  case 's': set_add(tmp, ' '); break; /* tabs and new lines would need escapes */
  default: return false;
  }
  if (e >= 'A' && e <= 'Z') complement_ascii(tmp);
  for (int i = 0; i < 32; i++) set[i] |= tmp[i];
  return true;
}

/* The byte an escaped character stands for, or -1. */
static int escaped_byte(char e) {
  if (e == 't') return '\t';
  if (e == 'n') return '\n';
  if (e == 'r') return '\r';
  if (strchr("\\/.^$|?*+()[]{}-", e) && e) return (unsigned char)e;
  return -1;
}

static int parse_alt(parser *ps, int depth);

/* [...] into a class node. */
static int parse_class(parser *ps) {
  int id = node_new(ps, R_CLASS);
  if (id < 0) return -1;
  uint8_t set[32] = {0};
  bool negate = ps->p < ps->end && *ps->p == '^';
  if (negate) ps->p++;
  while (ps->p < ps->end && *ps->p != ']') { /* "[]" is empty in ECMAScript, "[^]" anything */
    int lo;
    unsigned char c = (unsigned char)*ps->p++;
    if (c == '\\') {
      if (ps->p == ps->end) return perr(ps, "pattern: ends inside an escape");
      char e = *ps->p++;
      if (class_escape(set, e)) continue;
      if ((lo = escaped_byte(e)) < 0) return perr(ps, "pattern: the escape \\%c is not supported", e);
    } else {
      if (c >= 0x80) return perr(ps, "pattern: non-ASCII characters in a class are not supported");
      lo = c;
    }
    int hi = lo;
    if (ps->p + 1 < ps->end && *ps->p == '-' && ps->p[1] != ']') {
      ps->p++;
      unsigned char d = (unsigned char)*ps->p++;
      if (d == '\\') {
        if (ps->p == ps->end || (hi = escaped_byte(*ps->p++)) < 0)
          return perr(ps, "pattern: a class range ends in an unsupported escape");
      } else {
        if (d >= 0x80) return perr(ps, "pattern: non-ASCII characters in a class are not supported");
        hi = d;
      }
      if (hi < lo) return perr(ps, "pattern: a class range runs backwards");
    }
    for (int x = lo; x <= hi; x++) set_add(set, (unsigned)x);
  }
  if (ps->p == ps->end) return perr(ps, "pattern: a '[' is not closed");
  ps->p++; /* ']' */
  if (negate) complement_ascii(set);
  for (unsigned x = 0; x < 256; x++)
    if (set_has(set, x) && writable(x)) set_add(ps->nodes[id].set, x);
  return id;
}

static int class_of_byte(parser *ps, unsigned c) {
  int id = node_new(ps, R_CLASS);
  if (id >= 0 && writable(c)) set_add(ps->nodes[id].set, c);
  return id;
}

static int cat(parser *ps, int a, int b) {
  if (a < 0) return b;
  int id = node_new(ps, R_CAT);
  if (id >= 0) ps->nodes[id].a = a, ps->nodes[id].b = b;
  return id;
}

static int parse_atom(parser *ps, int depth) {
  unsigned char c = (unsigned char)*ps->p++;
  if (c == '(') {
    if (ps->p < ps->end && *ps->p == '?') {
      if (ps->p + 1 < ps->end && ps->p[1] == ':') ps->p += 2;
      else return perr(ps, "pattern: lookarounds and named groups are not supported");
    }
    int id = parse_alt(ps, depth + 1);
    if (id < 0) return -1;
    if (ps->p == ps->end || *ps->p != ')') return perr(ps, "pattern: a '(' is not closed");
    ps->p++;
    return id;
  }
  if (c == '[') return parse_class(ps);
  if (c == '.') {
    int id = node_new(ps, R_CLASS);
    if (id >= 0) complement_ascii(ps->nodes[id].set);
    return id;
  }
  if (c == '\\') {
    if (ps->p == ps->end) return perr(ps, "pattern: ends inside an escape");
    char e = *ps->p++;
    int id = node_new(ps, R_CLASS);
    if (id < 0) return -1;
    if (class_escape(ps->nodes[id].set, e)) return id;
    int b = escaped_byte(e);
    if (b < 0) return perr(ps, "pattern: the escape \\%c is not supported", e);
    if (writable((unsigned)b)) set_add(ps->nodes[id].set, (unsigned)b);
    return id;
  }
  if (strchr("*+?{", c)) return perr(ps, "pattern: '%c' repeats nothing", c);
  if (c == '^' || c == '$') return perr(ps, "pattern: '%c' is supported only at the start or end", c);
  if (c < 0x80) return class_of_byte(ps, c);
  /* a UTF-8 character: its bytes in a row, one atom for the quantifiers */
  int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2, id = class_of_byte(ps, c);
  for (int i = 1; i < len && id >= 0 && ps->p < ps->end; i++)
    id = cat(ps, id, class_of_byte(ps, (unsigned char)*ps->p++));
  return id;
}

static int parse_count(parser *ps, int *out) {
  int n = 0, digits = 0;
  /* every digit read (a count of a million says so, not "not closed"),
   * the value held below overflow */
  while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
    if (n < 1000000) n = n * 10 + (*ps->p - '0');
    ps->p++, digits++;
  }
  *out = n;
  return digits;
}

static int parse_repeat(parser *ps, int depth) {
  int id = parse_atom(ps, depth);
  while (id >= 0 && ps->p < ps->end && strchr("*+?{", *ps->p) && *ps->p) {
    char q = *ps->p++;
    int min = 0, max = -1;
    if (q == '+') min = 1;
    else if (q == '?') max = 1;
    else if (q == '{') {
      if (!parse_count(ps, &min)) return perr(ps, "pattern: '{' needs a count");
      max = min;
      if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        max = parse_count(ps, &max) ? max : -1;
      }
      if (ps->p == ps->end || *ps->p != '}') return perr(ps, "pattern: a '{' is not closed");
      ps->p++;
      if (min > REPEAT_MAX || max > REPEAT_MAX || (max >= 0 && max < min))
        return perr(ps, "pattern: a count above %d or out of order", REPEAT_MAX);
    }
    if (ps->p < ps->end && *ps->p == '?') ps->p++; /* lazy: the same strings */
    int r = node_new(ps, R_REP);
    if (r < 0) return -1;
    ps->nodes[r].a = id, ps->nodes[r].min = min, ps->nodes[r].max = max;
    id = r;
  }
  return id;
}

static int parse_alt(parser *ps, int depth) {
  if (depth > 32) return perr(ps, "pattern: nested too deeply");
  int left = -1;
  for (;;) {
    int seq = -1;
    while (ps->p < ps->end && *ps->p != '|' && *ps->p != ')' && !(*ps->p == '$' && ps->p + 1 == ps->end)) {
      int r = parse_repeat(ps, depth);
      if (r < 0) return -1;
      seq = cat(ps, seq, r);
      if (seq < 0) return -1;
    }
    if (seq < 0 && (seq = node_new(ps, R_EMPTY)) < 0) return -1;
    if (left < 0) {
      left = seq;
    } else {
      int id = node_new(ps, R_ALT);
      if (id < 0) return -1;
      ps->nodes[id].a = left, ps->nodes[id].b = seq;
      left = id;
    }
    if (ps->p < ps->end && *ps->p == '|') {
      ps->p++;
      continue;
    }
    return left;
  }
}

/* ---- Glushkov ----------------------------------------------------------- */

typedef struct {
  bool nullable;
  uint64_t first, last;
  bool ok;
} frag;

static frag fcat(jr_prog *g, frag l, frag r) {
  for (uint64_t m = l.last; m; m &= m - 1) g->follow[__builtin_ctzll(m)] |= r.first;
  return (frag){l.nullable && r.nullable, l.first | (l.nullable ? r.first : 0),
                r.last | (r.nullable ? l.last : 0), l.ok && r.ok};
}

static frag walk(parser *ps, int id) {
  const rnode *n = &ps->nodes[id];
  jr_prog *g = ps->prog;
  frag bad = {false, 0, 0, false};
  if (++ps->visits > 100000) {
    perr(ps, "pattern: too complex once {n,m} is unrolled");
    return bad;
  }
  switch (n->kind) {
  case R_EMPTY: return (frag){true, 0, 0, true};
  case R_CLASS: {
    static const uint8_t none[32];
    if (!memcmp(n->set, none, sizeof none)) {
      perr(ps, "pattern: a part matches only characters the answer would have to escape "
               "(quotes, backslashes, controls)");
      return bad;
    }
    if (g->n == JR_POSITIONS_MAX) {
      perr(ps, "pattern: more than %d character classes once {n,m} is unrolled", JR_POSITIONS_MAX);
      return bad;
    }
    int pos = ++g->n;
    for (unsigned c = 0; c < 256; c++)
      if (set_has(n->set, c)) g->by_byte[c] |= 1ull << pos;
    return (frag){false, 1ull << pos, 1ull << pos, true};
  }
  case R_CAT: {
    frag l = walk(ps, n->a);
    if (!l.ok) return bad;
    return fcat(g, l, walk(ps, n->b));
  }
  case R_ALT: {
    frag l = walk(ps, n->a), r = walk(ps, n->b);
    return (frag){l.nullable || r.nullable, l.first | r.first, l.last | r.last, l.ok && r.ok};
  }
  case R_REP: {
    frag acc = {true, 0, 0, true};
    for (int i = 0; i < n->min && acc.ok; i++) acc = fcat(g, acc, walk(ps, n->a));
    if (!acc.ok) return bad;
    if (n->max < 0) { /* a star: the last positions lead back to the first */
      frag x = walk(ps, n->a);
      if (!x.ok) return bad;
      for (uint64_t m = x.last; m; m &= m - 1) g->follow[__builtin_ctzll(m)] |= x.first;
      x.nullable = true;
      return fcat(g, acc, x);
    }
    for (int i = n->min; i < n->max && acc.ok; i++) {
      frag x = walk(ps, n->a);
      x.nullable = true; /* A{0,3} = A?A?A? */
      acc = fcat(g, acc, x);
    }
    return acc;
  }
  }
  return bad;
}

int jr_compile(const char *pattern, size_t len, jr_prog *out, char *err, size_t err_len) {
  parser *ps = calloc(1, sizeof *ps);
  if (!ps) return HR_ENOMEM;
  memset(out, 0, sizeof *out);
  ps->p = pattern;
  ps->end = pattern + len;
  ps->err = err;
  ps->err_len = err_len;
  ps->prog = out;
  bool anchored_start = len && pattern[0] == '^', anchored_end = false;
  if (anchored_start) ps->p++;
  int rc = HR_EINVAL;
  int root = parse_alt(ps, 0);
  if (root < 0) goto done;
  if (ps->p < ps->end && *ps->p == '$') ps->p++, anchored_end = true; /* parse_alt stops only at the last byte's */
  if (ps->p < ps->end) {
    perr(ps, "pattern: a ')' closes nothing");
    goto done;
  }
  /* Unanchored ends match anywhere: any printable text around them. */
  int any = -1;
  if (!anchored_start || !anchored_end) {
    int dot = node_new(ps, R_CLASS);
    if (dot < 0 || (any = node_new(ps, R_REP)) < 0) goto done;
    complement_ascii(ps->nodes[dot].set);
    ps->nodes[any].a = dot, ps->nodes[any].min = 0, ps->nodes[any].max = -1;
  }
  if (!anchored_start && (root = cat(ps, any, root)) < 0) goto done;
  if (!anchored_end && (root = cat(ps, root, any)) < 0) goto done;
  frag f = walk(ps, root);
  if (!f.ok) goto done;
  out->first = f.first, out->last = f.last, out->nullable = f.nullable;
  out->follow[0] = f.first;
  rc = HR_OK;
done:
  free(ps);
  return rc;
}
