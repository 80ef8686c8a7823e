/* jinja_lex.c — turns template text into tokens the way Jinja2's lexer does
 * with trim_blocks and lstrip_blocks on, so that whitespace comes out byte
 * for byte the same:
 *   - newlines \r\n and \r become \n, and one trailing newline is dropped;
 *   - "{%-", "{{-", "{#-" strip all white space before the tag, "-%}", "-}}",
 *     "-#}" all white space after it (Python's Unicode white space);
 *   - lstrip_blocks: spaces and tabs between a line start and a "{%" or "{#"
 *     are dropped ("{%+" keeps them);
 *   - trim_blocks: the first newline after "%}" or "#}" is dropped ("+%}"
 *     keeps it);
 *   - {% raw %}...{% endraw %} is text; comments vanish.
 * A "%}" or "}}" inside open brackets does not end the tag (Jinja2's
 * balancing stack). Text and decoded string literals go to the template's
 * arena; the token array is malloc'd and owned by the caller. */
#include "jinja_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  hr_arena *a;
  const char *s; /* normalized source */
  size_t n, pos;
  uint32_t line;
  bool line_starting;
  jinja_tokens *out;
  char *err;
  size_t err_len;
  char balance[256];
  size_t n_balance;
} lexer;

static int lex_fail(lexer *L, const char *fmt, const char *arg) {
  if (L->err && L->err_len) {
    char msg[160];
    snprintf(msg, sizeof msg, fmt, arg ? arg : "");
    snprintf(L->err, L->err_len, "line %u: %s", (unsigned)L->line, msg);
  }
  return HR_EFORMAT;
}

static int push(lexer *L, jinja_token t) {
  if (L->out->n == L->out->cap) {
    size_t cap = L->out->cap ? L->out->cap * 2 : 256;
    jinja_token *v = realloc(L->out->v, cap * sizeof *v);
    if (!v) return HR_ENOMEM;
    L->out->v = v;
    L->out->cap = cap;
  }
  L->out->v[L->out->n++] = t;
  return 0;
}

static int push_data(lexer *L, const char *p, size_t n, uint32_t line) {
  if (!n) return 0;
  return push(L, (jinja_token){.kind = TK_DATA, .line = line, .ptr = p, .len = n});
}

static uint32_t count_nl(const char *p, size_t n) {
  uint32_t c = 0;
  for (size_t i = 0; i < n; i++) c += p[i] == '\n';
  return c;
}

static size_t skip_space(const lexer *L, size_t p) {
  size_t k;
  while (p < L->n && (k = jinja_space_fwd(L->s + p, L->s + L->n))) p += k;
  return p;
}

static bool at(const lexer *L, size_t p, const char *lit) {
  size_t k = strlen(lit);
  return p + k <= L->n && memcmp(L->s + p, lit, k) == 0;
}

/* Emits the text before a tag, applying "-" (rstrip) or lstrip_blocks. */
static int emit_text(lexer *L, size_t start, size_t end, char sign, bool lstrip_ok) {
  const char *t = L->s + start;
  size_t n = end - start;
  if (sign == '-') {
    size_t k;
    while (n && (k = jinja_space_back(t, t + n))) n -= k;
  } else if (sign != '+' && lstrip_ok) {
    size_t l_pos = n;
    while (l_pos && t[l_pos - 1] != '\n') l_pos--;
    if (l_pos > 0 || L->line_starting) {
      size_t p = l_pos, k;
      while (p < n && (k = jinja_space_fwd(t + p, t + n))) p += k;
      if (p == n && n > l_pos) n = l_pos;
    }
  }
  int rc = push_data(L, t, n, L->line);
  L->line += count_nl(t, end - start);
  return rc;
}

/* Matches a block end at p ("+%}", "-%}" + spaces, "%}" + optional newline);
 * returns the end offset or 0. */
static size_t block_end_at(const lexer *L, size_t p, const char *close) {
  if (L->s[p] == '+' && at(L, p + 1, close)) return p + 3;
  if (L->s[p] == '-' && at(L, p + 1, close)) return skip_space(L, p + 3);
  if (at(L, p, close)) return p + 2 < L->n && L->s[p + 2] == '\n' ? p + 3 : p + 2;
  return 0;
}

static size_t var_end_at(const lexer *L, size_t p) {
  if (L->s[p] == '-' && at(L, p + 1, "}}")) return skip_space(L, p + 3);
  if (at(L, p, "}}")) return p + 2;
  return 0;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
static bool is_name_char(unsigned char c) { return is_name_start(c) || is_digit((char)c); }

/* (\d+_)*\d+ at p: returns end or p when none. */
static size_t digits(const lexer *L, size_t p) {
  size_t q = p;
  while (q < L->n && is_digit(L->s[q])) {
    q++;
    if (q + 1 < L->n && L->s[q] == '_' && is_digit(L->s[q + 1])) q++;
  }
  return q;
}

static size_t match_float(const lexer *L, size_t p) {
  if (p > 0 && L->s[p - 1] == '.') return 0;
  size_t q = digits(L, p);
  if (q == p) return 0;
  size_t frac = q;
  if (q < L->n && L->s[q] == '.') {
    size_t r = digits(L, q + 1);
    if (r > q + 1) frac = r;
  }
  size_t e = frac;
  if (e < L->n && (L->s[e] == 'e' || L->s[e] == 'E')) {
    size_t r = e + 1;
    if (r < L->n && (L->s[r] == '+' || L->s[r] == '-')) r++;
    size_t x = digits(L, r);
    if (x > r) return x;
  }
  return frac > q ? frac : 0;
}

static int lex_number(lexer *L, size_t *pp) {
  size_t p = *pp;
  char buf[128];
  size_t m = match_float(L, p), k = 0;
  if (m) {
    for (size_t i = p; i < m && k < sizeof buf - 1; i++)
      if (L->s[i] != '_') buf[k++] = L->s[i];
    buf[k] = 0;
    *pp = m;
    return push(L, (jinja_token){.kind = TK_FLOAT, .line = L->line, .f = strtod(buf, NULL)});
  }
  int base = 10;
  size_t q = p;
  if (L->s[p] == '0' && p + 1 < L->n && strchr("bBoOxX", L->s[p + 1]) && L->s[p + 1]) {
    char c = (char)(L->s[p + 1] | 0x20);
    base = c == 'b' ? 2 : c == 'o' ? 8 : 16;
    q = p + 2;
  }
  uint64_t v = 0;
  bool any = false, over = false;
  for (;; q++) {
    if (q >= L->n) break;
    char c = L->s[q];
    if (c == '_' && any) continue;
    int d = is_digit(c) ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : 99;
    if (d >= base) break;
    if (base == 10 && !any && c == '0' && q + 1 < L->n && is_digit(L->s[q + 1])) {
      /* "0(_?0)*": a leading zero ends the literal unless more zeros follow */
      any = true;
      q++;
      while (q < L->n && (L->s[q] == '0' || (L->s[q] == '_' && q + 1 < L->n && L->s[q + 1] == '0')))
        q++;
      break;
    }
    any = true;
    if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) over = true;
    v = v * (uint64_t)base + (uint64_t)d;
  }
  if (!any) return lex_fail(L, "invalid number literal", NULL);
  if (over || v > INT64_MAX) return lex_fail(L, "integer literal too large", NULL);
  *pp = q;
  return push(L, (jinja_token){.kind = TK_INT, .line = L->line, .i = (int64_t)v});
}

static int hexval(char c) {
  if (is_digit(c)) return c - '0';
  c = (char)(c | 0x20);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A string literal at p: Python unicode-escape decoding of its body. */
static int lex_string(lexer *L, size_t *pp) {
  size_t p = *pp;
  char q = L->s[p];
  size_t i = p + 1;
  while (i < L->n && L->s[i] != q) i += L->s[i] == '\\' ? 2 : 1;
  if (i >= L->n) return lex_fail(L, "unexpected char '%s'", q == '"' ? "\"" : "'");
  const char *b = L->s + p + 1, *e = L->s + i;
  char *out = hr_arena_alloc(L->a, (size_t)(e - b) + 1);
  if (!out) return HR_ENOMEM;
  size_t k = 0;
  uint32_t pending_hi = 0;
  while (b < e) {
    if (*b != '\\' || b + 1 >= e) {
      out[k++] = *b++;
      continue;
    }
    char c = b[1];
    b += 2;
    uint32_t cp = 0;
    int nd = 0;
    switch (c) {
    case '\n': continue;
    case '\\': out[k++] = '\\'; continue;
    case '\'': out[k++] = '\''; continue;
    case '"': out[k++] = '"'; continue;
    case 'a': out[k++] = '\a'; continue;
    case 'b': out[k++] = '\b'; continue;
    case 'f': out[k++] = '\f'; continue;
    case 'n': out[k++] = '\n'; continue;
    case 'r': out[k++] = '\r'; continue;
    case 't': out[k++] = '\t'; continue;
    case 'v': out[k++] = '\v'; continue;
    case 'x': nd = 2; break;
    case 'u': nd = 4; break;
    case 'U': nd = 8; break;
    default:
      if (c >= '0' && c <= '7') {
        cp = (uint32_t)(c - '0');
        for (int j = 0; j < 2 && b < e && *b >= '0' && *b <= '7'; j++) cp = cp * 8 + (uint32_t)(*b++ - '0');
        k += jinja_utf8_enc(cp, out + k);
        continue;
      }
      out[k++] = '\\';
      b--;
      continue;
    }
    for (int j = 0; j < nd; j++) {
      int h = b < e ? hexval(*b) : -1;
      if (h < 0) return lex_fail(L, "truncated \\%s escape in string", c == 'x' ? "x" : c == 'u' ? "u" : "U");
      cp = cp * 16 + (uint32_t)h;
      b++;
    }
    if (cp > 0x10FFFF) return lex_fail(L, "illegal Unicode character in string", NULL);
    if (cp >= 0xD800 && cp <= 0xDBFF) { /* join a surrogate pair; lone halves become U+FFFD */
      pending_hi = cp;
      if (b + 6 <= e && b[0] == '\\' && b[1] == 'u') continue;
      cp = 0xFFFD;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      cp = pending_hi ? 0x10000 + ((pending_hi - 0xD800) << 10) + (cp - 0xDC00) : 0xFFFD;
    }
    pending_hi = 0;
    k += jinja_utf8_enc(cp, out + k);
  }
  out[k] = 0;
  L->line += count_nl(L->s + p, i + 1 - p);
  *pp = i + 1;
  return push(L, (jinja_token){.kind = TK_STRING, .line = L->line, .ptr = out, .len = k});
}

static const struct {
  const char *s;
  uint8_t op;
} ops[] = {
    {"//", OP_FLOORDIV}, {"**", OP_POW}, {"==", OP_EQ}, {"!=", OP_NE}, {">=", OP_GTEQ},
    {"<=", OP_LTEQ},     {"+", OP_ADD},  {"-", OP_SUB}, {"/", OP_DIV}, {"*", OP_MUL},
    {"%", OP_MOD},       {"~", OP_TILDE}, {"[", OP_LBRACKET}, {"]", OP_RBRACKET},
    {"(", OP_LPAREN},    {")", OP_RPAREN}, {"{", OP_LBRACE}, {"}", OP_RBRACE},
    {">", OP_GT},        {"<", OP_LT},   {"=", OP_ASSIGN}, {".", OP_DOT}, {":", OP_COLON},
    {"|", OP_PIPE},      {",", OP_COMMA}, {";", OP_SEMICOLON},
};

/* Tokens inside {{ }} or {% %} up to and including the end tag. */
static int lex_tag(lexer *L, bool block) {
  for (;;) {
    if (L->pos >= L->n) return 0; /* the parser reports the missing end */
    size_t p = L->pos;
    if (!L->n_balance) {
      size_t e = block ? block_end_at(L, p, "%}") : var_end_at(L, p);
      if (e) {
        int rc = push(L, (jinja_token){.kind = block ? TK_BLOCK_END : TK_VAR_END, .line = L->line});
        if (rc) return rc;
        L->line += count_nl(L->s + p, e - p);
        L->line_starting = L->s[e - 1] == '\n';
        L->pos = e;
        return 0;
      }
    }
    size_t k = jinja_space_fwd(L->s + p, L->s + L->n);
    if (k) {
      size_t e = skip_space(L, p);
      L->line += count_nl(L->s + p, e - p);
      L->pos = e;
      continue;
    }
    unsigned char c = (unsigned char)L->s[p];
    int rc;
    if (is_digit((char)c)) {
      rc = lex_number(L, &L->pos);
    } else if (is_name_start(c)) {
      size_t e = p + 1;
      while (e < L->n && is_name_char((unsigned char)L->s[e])) e++;
      rc = push(L, (jinja_token){.kind = TK_NAME, .line = L->line, .ptr = L->s + p, .len = e - p});
      L->pos = e;
    } else if (c == '\'' || c == '"') {
      rc = lex_string(L, &L->pos);
    } else {
      size_t i;
      for (i = 0; i < HR_ARRAY_LEN(ops); i++)
        if (at(L, p, ops[i].s)) break;
      if (i == HR_ARRAY_LEN(ops)) {
        char ch[2] = {(char)c, 0};
        return lex_fail(L, "unexpected char '%s'", ch);
      }
      uint8_t op = ops[i].op;
      if (op == OP_LBRACE || op == OP_LPAREN || op == OP_LBRACKET) {
        if (L->n_balance == sizeof L->balance) return lex_fail(L, "brackets nested too deeply", NULL), HR_ERANGE;
        L->balance[L->n_balance++] = op == OP_LBRACE ? '}' : op == OP_LPAREN ? ')' : ']';
      } else if (op == OP_RBRACE || op == OP_RPAREN || op == OP_RBRACKET) {
        char ch[2] = {(char)c, 0};
        if (!L->n_balance) return lex_fail(L, "unexpected '%s'", ch);
        if (L->balance[--L->n_balance] != (char)c) return lex_fail(L, "unexpected '%s'", ch);
      }
      rc = push(L, (jinja_token){.kind = TK_OP, .op = op, .line = L->line});
      L->pos = p + strlen(ops[i].s);
    }
    if (rc) return rc;
    L->line_starting = false;
  }
}

/* Skips a comment whose "{#" ended at L->pos. */
static int lex_comment(lexer *L) {
  for (size_t p = L->pos; p < L->n; p++) {
    size_t e = 0;
    if (L->s[p] == '+' && at(L, p + 1, "#}")) e = p + 3;
    else if (L->s[p] == '-' && at(L, p + 1, "#}")) e = skip_space(L, p + 3);
    else if (at(L, p, "#}")) e = p + 2 < L->n && L->s[p + 2] == '\n' ? p + 3 : p + 2;
    if (e) {
      L->line += count_nl(L->s + L->pos, e - L->pos);
      L->line_starting = L->s[e - 1] == '\n';
      L->pos = e;
      return 0;
    }
  }
  return lex_fail(L, "Missing end of comment tag", NULL);
}

/* "{%" sign? \s* "raw" \s* ("-%}" \s* | "%}") at p: returns the end or 0. */
static size_t raw_begin_at(const lexer *L, size_t p) {
  size_t q = p + 2;
  if (q < L->n && (L->s[q] == '-' || L->s[q] == '+')) q++;
  q = skip_space(L, q);
  if (!at(L, q, "raw")) return 0;
  q = skip_space(L, q + 3);
  if (at(L, q, "-%}")) return skip_space(L, q + 3);
  if (at(L, q, "%}")) return q + 2;
  return 0;
}

/* The body of a raw block starting at L->pos, up to its {% endraw %}. */
static int lex_raw(lexer *L) {
  for (size_t p = L->pos; p + 1 < L->n; p++) {
    if (!at(L, p, "{%")) continue;
    size_t q = p + 2;
    char sign = 0;
    if (q < L->n && (L->s[q] == '-' || L->s[q] == '+')) sign = L->s[q++];
    q = skip_space(L, q);
    if (!at(L, q, "endraw")) continue;
    q = skip_space(L, q + 6);
    if (q >= L->n) continue;
    size_t e = block_end_at(L, q, "%}");
    if (!e) continue;
    int rc = emit_text(L, L->pos, p, sign, true);
    if (rc) return rc;
    L->line += count_nl(L->s + p, e - p);
    L->line_starting = L->s[e - 1] == '\n';
    L->pos = e;
    return 0;
  }
  return lex_fail(L, "Missing end of raw directive", NULL);
}

/* Newlines normalized to \n and one trailing newline dropped (Jinja2's
 * keep_trailing_newline=False). */
static char *normalize(hr_arena *a, const char *src, size_t len, size_t *out_len) {
  char *s = hr_arena_alloc(a, len + 1);
  if (!s) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    if (src[i] == '\r') {
      s[k++] = '\n';
      if (i + 1 < len && src[i + 1] == '\n') i++;
    } else {
      s[k++] = src[i];
    }
  }
  if (k && s[k - 1] == '\n') k--;
  s[k] = 0;
  *out_len = k;
  return s;
}

int jinja_lex(hr_arena *a, const char *src, size_t len, jinja_tokens *out, char *err,
              size_t err_len) {
  lexer L = {.a = a, .line = 1, .line_starting = true, .out = out, .err = err, .err_len = err_len};
  L.s = normalize(a, src, len, &L.n);
  if (!L.s) return HR_ENOMEM;
  while (L.pos < L.n) {
    size_t p = L.pos;
    /* the earliest "{{", "{%" or "{#" */
    while (p + 1 < L.n && !(L.s[p] == '{' && (L.s[p + 1] == '{' || L.s[p + 1] == '%' || L.s[p + 1] == '#')))
      p++;
    if (p + 1 >= L.n) {
      int rc = push_data(&L, L.s + L.pos, L.n - L.pos, L.line);
      if (rc) return rc;
      break;
    }
    char kind = L.s[p + 1];
    char sign = p + 2 < L.n && (L.s[p + 2] == '-' || L.s[p + 2] == '+') ? L.s[p + 2] : 0;
    size_t raw_end = kind == '%' ? raw_begin_at(&L, p) : 0;
    int rc = emit_text(&L, L.pos, p, sign, kind != '{');
    if (rc) return rc;
    L.line_starting = false;
    if (raw_end) {
      L.line += count_nl(L.s + p, raw_end - p);
      L.line_starting = L.s[raw_end - 1] == '\n';
      L.pos = raw_end;
      rc = lex_raw(&L);
    } else {
      L.pos = p + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        rc = lex_comment(&L);
      } else {
        rc = push(&L, (jinja_token){.kind = kind == '%' ? TK_BLOCK_BEGIN : TK_VAR_BEGIN, .line = L.line});
        if (!rc) rc = lex_tag(&L, kind == '%');
      }
    }
    if (rc) return rc;
  }
  return push(&L, (jinja_token){.kind = TK_EOF, .line = L.line});
}
