/* json.c — the strict RFC 8259 reader.
 *
 * One pass over the input, no recursion: containers being filled sit on a
 * frame stack, and their members collect in one growable scratch array of
 * json_member (array items use the same array with an empty key). When a
 * container closes, its slice of the scratch is copied once into the arena
 * next to the container's node, and the scratch shrinks back. Scratch and
 * frames start on the C stack and move to the heap only for big documents;
 * the tree itself is arena memory only.
 *
 * Strings without escapes are found with a 16-byte SSE2 scan and copied with
 * one memcpy; strings with escapes are decoded into a scratch buffer and
 * copied once. Non-ASCII bytes are validated as UTF-8 (RFC 3629: no
 * overlongs, no encoded surrogates, nothing past U+10FFFF) as they are met.
 *
 * Numbers: integers in int64 range are exact (is_int); the double comes from
 * the exact fast path (<= 15 digits, |exp10| <= 22) or strtod on the number's
 * own NUL-terminated copy, which the grammar has already validated. hearth
 * never calls setlocale, so strtod sees the "C" locale's '.'. */
#include "json.h"

#include "json_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_DEFAULT_DEPTH 128
#define SCRATCH_STACK 64 /* members kept on the C stack before the heap */
#define FRAMES_STACK 64
#define SBUF_STACK 512
#define IS_DIGIT(c) ((unsigned)((c) - '0') < 10u)

typedef struct {
  size_t base;    /* first scratch index of this container's members */
  bool is_object;
} frame;

typedef struct {
  const unsigned char *start, *p, *end;
  hr_arena *a;
  json_error *err;
  int code;
  /* members of open containers */
  json_member *scratch;
  size_t n_scratch, cap_scratch;
  /* decoded text of a string with escapes */
  char *sbuf;
  size_t cap_sbuf;
  /* open containers */
  frame *frames;
  size_t n_frames, cap_frames;
  /* the tree's memory: chunks from the arena, handed out 8-byte aligned */
  char *bump, *bump_end;
  size_t chunk;
} reader;

/* ---- errors ------------------------------------------------------------- */

static int fail_at(reader *r, const unsigned char *at, int code, const char *what) {
  r->code = code;
  if (!r->err) return code;
  size_t off = (size_t)(at - r->start), line = 1;
  const unsigned char *ls = r->start;
  for (const unsigned char *q = r->start; q < at; q++)
    if (*q == '\n') {
      line++;
      ls = q + 1;
    }
  r->err->offset = off;
  r->err->line = line;
  r->err->col = (size_t)(at - ls) + 1;
  snprintf(r->err->message, sizeof r->err->message, "%s at byte %zu (line %zu, column %zu)",
           what, off, line, r->err->col);
  return code;
}

static int fail(reader *r, int code, const char *what) { return fail_at(r, r->p, code, what); }

/* "unexpected 'x'" or "unexpected byte 0xNN" or "unexpected end of input" */
static int fail_unexpected(reader *r, const char *context) {
  char msg[80];
  if (r->p >= r->end) return fail(r, HR_EINVAL, "unexpected end of input");
  unsigned c = *r->p;
  if (c >= 0x21 && c < 0x7f)
    snprintf(msg, sizeof msg, "unexpected '%c'%s%s", (char)c, context ? ", " : "", context ? context : "");
  else
    snprintf(msg, sizeof msg, "unexpected byte 0x%02X%s%s", c, context ? ", " : "", context ? context : "");
  return fail(r, HR_EINVAL, msg);
}

/* ---- scratch ------------------------------------------------------------ */

static int scratch_grow(reader *r, json_member *stack_scratch) {
  size_t cap = r->cap_scratch * 2;
  json_member *m = malloc(cap * sizeof *m);
  if (!m) return fail(r, HR_ENOMEM, "out of memory");
  memcpy(m, r->scratch, r->n_scratch * sizeof *m);
  if (r->scratch != stack_scratch) free(r->scratch);
  r->scratch = m;
  r->cap_scratch = cap;
  return 0;
}

static int sbuf_grow(reader *r, char *stack_sbuf, size_t used, size_t need) {
  size_t cap = r->cap_sbuf;
  while (cap < need) cap *= 2;
  char *b = malloc(cap);
  if (!b) return fail(r, HR_ENOMEM, "out of memory");
  memcpy(b, r->sbuf, used);
  if (r->sbuf != stack_sbuf) free(r->sbuf);
  r->sbuf = b;
  r->cap_sbuf = cap;
  return 0;
}

static int frames_grow(reader *r, frame *stack_frames) {
  size_t cap = r->cap_frames * 2;
  frame *f = malloc(cap * sizeof *f);
  if (!f) return fail(r, HR_ENOMEM, "out of memory");
  memcpy(f, r->frames, r->n_frames * sizeof *f);
  if (r->frames != stack_frames) free(r->frames);
  r->frames = f;
  r->cap_frames = cap;
  return 0;
}

/* ---- tree memory -------------------------------------------------------- */

/* Nodes and strings are carved from arena chunks sized to the input, which
 * saves a call and the arena's 16-byte rounding per node; big pieces go to
 * the arena directly. At most one chunk's tail is left unused. */
static void *r_alloc_slow(reader *r, size_t n) {
  if (n >= r->chunk / 4) return hr_arena_alloc(r->a, n);
  char *c = hr_arena_alloc(r->a, r->chunk);
  if (!c) return NULL;
  r->bump = c + n;
  r->bump_end = c + r->chunk;
  return c;
}

static inline void *r_alloc(reader *r, size_t n) {
  n = (n + 7) & ~(size_t)7;
  if ((size_t)(r->bump_end - r->bump) >= n) {
    void *p = r->bump;
    r->bump += n;
    return p;
  }
  return r_alloc_slow(r, n);
}

/* ---- lexing ------------------------------------------------------------- */

static inline void skip_ws(reader *r) {
  const unsigned char *p = r->p, *end = r->end;
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  r->p = p;
}

static inline int hexval(unsigned c) {
  if (c - '0' < 10) return (int)(c - '0');
  c |= 0x20;
  if (c - 'a' < 6) return (int)(c - 'a' + 10);
  return -1;
}

static int read_hex4(reader *r, const unsigned char *p, unsigned *out) {
  if (r->end - p < 4) return fail_at(r, p - 2, HR_EINVAL, "truncated \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p[i]);
    if (h < 0) return fail_at(r, p - 2, HR_EINVAL, "invalid \\u escape");
    v = v << 4 | (unsigned)h;
  }
  *out = v;
  return 0;
}

/* Reads the string whose opening quote is at r->p. Sets *ptr and *len to an
 * arena copy (NUL-terminated); `header` bytes before the text are reserved
 * for the caller (a node header), and the allocation is returned in block. */
static int read_string(reader *r, size_t header, void **block, const char **ptr, size_t *len,
                       char *stack_sbuf) {
  const unsigned char *s = r->p + 1, *p = s, *end = r->end;
  for (;;) {
    p = json_scan_plain(p, end);
    if (p >= end) {
      r->p = p;
      return fail(r, HR_EINVAL, "unterminated string");
    }
    unsigned c = *p;
    if (c == '"') {
      size_t n = (size_t)(p - s);
      char *b = r_alloc(r, header + n + 1);
      if (!b) return fail(r, HR_ENOMEM, "out of memory");
      memcpy(b + header, s, n);
      b[header + n] = 0;
      *block = b;
      *ptr = b + header;
      *len = n;
      r->p = p + 1;
      return 0;
    }
    if (c == '\\') break;
    if (c < 0x20) {
      r->p = p;
      return fail(r, HR_EINVAL, "control character in string");
    }
    size_t k = json_utf8_seq(p, end);
    if (!k) {
      r->p = p;
      return fail(r, HR_EINVAL, "invalid UTF-8");
    }
    p += k;
  }

  /* Slow path: an escape at p. The decoded text is never longer than its
   * source, so when the current chunk has room for the rest of the input it
   * is decoded there directly (and committed at the end); otherwise into
   * sbuf, then copied. At most 4 bytes are written per step after a check. */
  size_t used = (size_t)(p - s);
  bool direct = (size_t)(r->bump_end - r->bump) >= header + (size_t)(end - s) + 8;
  char *out;
  size_t cap;
  if (direct) {
    out = r->bump + header;
    cap = SIZE_MAX;
  } else {
    if (used + 8 > r->cap_sbuf && sbuf_grow(r, stack_sbuf, 0, used + 8)) return r->code;
    out = r->sbuf;
    cap = r->cap_sbuf;
  }
  memcpy(out, s, used);
  for (;;) {
    const unsigned char *q = json_scan_plain(p, end);
    size_t run = (size_t)(q - p);
    if (used + run + 8 > cap) {
      if (sbuf_grow(r, stack_sbuf, used, used + run + 8)) return r->code;
      out = r->sbuf;
      cap = r->cap_sbuf;
    }
    memcpy(out + used, p, run);
    used += run;
    p = q;
    if (p >= end) {
      r->p = p;
      return fail(r, HR_EINVAL, "unterminated string");
    }
    unsigned c = *p;
    if (c == '"') break;
    if (c < 0x20) {
      r->p = p;
      return fail(r, HR_EINVAL, "control character in string");
    }
    if (c >= 0x80) {
      size_t k = json_utf8_seq(p, end);
      if (!k) {
        r->p = p;
        return fail(r, HR_EINVAL, "invalid UTF-8");
      }
      memcpy(out + used, p, k);
      used += k;
      p += k;
      continue;
    }
    /* backslash */
    if (end - p < 2) {
      r->p = p;
      return fail(r, HR_EINVAL, "unterminated string");
    }
    char *o = out + used;
    switch (p[1]) {
      case '"': *o = '"'; break;
      case '\\': *o = '\\'; break;
      case '/': *o = '/'; break;
      case 'b': *o = '\b'; break;
      case 'f': *o = '\f'; break;
      case 'n': *o = '\n'; break;
      case 'r': *o = '\r'; break;
      case 't': *o = '\t'; break;
      case 'u': {
        unsigned cp;
        if (read_hex4(r, p + 2, &cp)) return r->code;
        const unsigned char *esc = p;
        p += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return fail_at(r, esc, HR_EINVAL, "lone low surrogate escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          unsigned lo;
          if (end - p < 2 || p[0] != '\\' || p[1] != 'u')
            return fail_at(r, esc, HR_EINVAL, "high surrogate escape not followed by a low one");
          if (read_hex4(r, p + 2, &lo)) return r->code;
          if (lo < 0xDC00 || lo > 0xDFFF)
            return fail_at(r, esc, HR_EINVAL, "high surrogate escape not followed by a low one");
          p += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp < 0x80) {
          o[0] = (char)cp;
          used += 1;
        } else if (cp < 0x800) {
          o[0] = (char)(0xC0 | cp >> 6);
          o[1] = (char)(0x80 | (cp & 0x3F));
          used += 2;
        } else if (cp < 0x10000) {
          o[0] = (char)(0xE0 | cp >> 12);
          o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
          o[2] = (char)(0x80 | (cp & 0x3F));
          used += 3;
        } else {
          o[0] = (char)(0xF0 | cp >> 18);
          o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
          o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
          o[3] = (char)(0x80 | (cp & 0x3F));
          used += 4;
        }
        continue;
      }
      default:
        r->p = p;
        return fail(r, HR_EINVAL, "invalid escape");
    }
    used += 1;
    p += 2;
  }
  char *b;
  if (direct) {
    b = r->bump;
    r->bump += (header + used + 1 + 7) & ~(size_t)7;
  } else {
    b = r_alloc(r, header + used + 1);
    if (!b) return fail(r, HR_ENOMEM, "out of memory");
    memcpy(b + header, r->sbuf, used);
  }
  b[header + used] = 0;
  *block = b;
  *ptr = b + header;
  *len = used;
  r->p = p + 1;
  return 0;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int read_number(reader *r, json_value **out) {
  const unsigned char *s = r->p, *p = s, *end = r->end;
  bool neg = false;
  if (*p == '-') {
    neg = true;
    p++;
  }
  uint64_t mant = 0;  /* the digits, while they fit */
  int n_sig = 0;      /* significant digits seen (leading zeros skipped) */
  int n_frac = 0;     /* digits after '.' that went into mant */
  bool frac = false, exp = false, overflow = false;
  if (p < end && *p == '0') {
    p++;
    if (p < end && IS_DIGIT(*p)) {
      r->p = p - 1;
      return fail(r, HR_EINVAL, "leading zero in number");
    }
  } else if (p < end && (unsigned)(*p - '1') < 9u) {
    do {
      if (n_sig < 19) mant = mant * 10 + (unsigned)(*p - '0');
      else overflow = true;
      n_sig++;
      p++;
    } while (p < end && IS_DIGIT(*p));
  } else {
    r->p = p;
    return p < end ? fail_unexpected(r, "expected a digit") : fail(r, HR_EINVAL, "unexpected end of input");
  }
  if (p < end && *p == '.') {
    frac = true;
    p++;
    if (p >= end || !IS_DIGIT(*p)) {
      r->p = p;
      return p < end ? fail_unexpected(r, "expected a digit after '.'")
                     : fail(r, HR_EINVAL, "unexpected end of input");
    }
    do {
      if (n_sig < 19) {
        mant = mant * 10 + (unsigned)(*p - '0');
        n_frac++;
        if (mant) n_sig++;
      } else {
        overflow = true;
      }
      p++;
    } while (p < end && IS_DIGIT(*p));
  }
  int e10 = 0;
  if (p < end && (*p == 'e' || *p == 'E')) {
    exp = true;
    p++;
    bool eneg = false;
    if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p >= end || !IS_DIGIT(*p)) {
      r->p = p;
      return p < end ? fail_unexpected(r, "expected a digit in the exponent")
                     : fail(r, HR_EINVAL, "unexpected end of input");
    }
    do {
      if (e10 < 100000) e10 = e10 * 10 + (*p - '0');
      p++;
    } while (p < end && IS_DIGIT(*p));
    if (eneg) e10 = -e10;
  }

  size_t raw_len = (size_t)(p - s);
  json_value *v = r_alloc(r, sizeof *v + raw_len + 1);
  if (!v) return fail(r, HR_ENOMEM, "out of memory");
  char *raw = (char *)(v + 1);
  memcpy(raw, s, raw_len);
  raw[raw_len] = 0;
  v->type = JSON_NUMBER;
  v->u.num.raw = raw;
  v->u.num.raw_len = raw_len;
  v->u.num.is_int = false;
  v->u.num.i = 0;

  if (!frac && !exp && !overflow) {
    /* at most 19 digits: fits uint64; int64 needs <= 2^63-1, or 2^63 if negative */
    if (mant <= (uint64_t)INT64_MAX || (neg && mant == (uint64_t)INT64_MAX + 1)) {
      v->u.num.is_int = true;
      v->u.num.i = neg ? (int64_t)(0 - mant) : (int64_t)mant;
      v->u.num.d = neg ? -(double)mant : (double)mant;
      goto done;
    }
  }
  int eff = e10 - n_frac;
  if (!overflow && n_sig <= 15 && eff >= -22 && eff <= 22) {
    /* Clinger's fast path: mant and 10^|eff| are exact, one rounding. */
    double d = (double)mant;
    d = eff < 0 ? d / pow10_exact[-eff] : d * pow10_exact[eff];
    v->u.num.d = neg ? -d : d;
  } else {
    v->u.num.d = strtod(raw, NULL);
  }
done:
  r->p = p;
  *out = v;
  return 0;
}

static int read_literal(reader *r, const char *word, size_t n, json_type t, json_value **out) {
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) {
    /* point at the first byte that differs */
    const unsigned char *p = r->p;
    size_t i = 0;
    while (p + i < r->end && i < n && p[i] == (unsigned char)word[i]) i++;
    r->p = p + i;
    return fail_unexpected(r, NULL);
  }
  json_value *v = r_alloc(r, sizeof *v);
  if (!v) return fail(r, HR_ENOMEM, "out of memory");
  v->type = t;
  r->p += n;
  *out = v;
  return 0;
}

/* ---- the parser --------------------------------------------------------- */

/* Closes the innermost container: copies its members from the scratch into
 * the arena, next to its node. */
static int close_container(reader *r, json_value **out) {
  frame *f = &r->frames[--r->n_frames];
  size_t n = r->n_scratch - f->base;
  json_member *m = r->scratch + f->base;
  json_value *v;
  if (f->is_object) {
    v = r_alloc(r, sizeof *v + n * sizeof(json_member));
    if (!v) return fail(r, HR_ENOMEM, "out of memory");
    v->type = JSON_OBJECT;
    v->u.obj.members = n ? (json_member *)(v + 1) : NULL;
    v->u.obj.n = n;
    if (n) memcpy(v + 1, m, n * sizeof *m);
  } else {
    v = r_alloc(r, sizeof *v + n * sizeof(json_value *));
    if (!v) return fail(r, HR_ENOMEM, "out of memory");
    v->type = JSON_ARRAY;
    json_value **items = (json_value **)(v + 1);
    v->u.arr.items = n ? items : NULL;
    v->u.arr.n = n;
    for (size_t i = 0; i < n; i++) items[i] = m[i].value;
  }
  r->n_scratch = f->base;
  *out = v;
  return 0;
}

/* Reads `"key" :` at r->p (after white space) into a new scratch member. */
static int read_key(reader *r, json_member *stack_scratch, char *stack_sbuf) {
  if (r->p >= r->end || *r->p != '"') return fail_unexpected(r, "expected a string key");
  if (r->n_scratch == r->cap_scratch && scratch_grow(r, stack_scratch)) return r->code;
  void *block;
  json_member *m = &r->scratch[r->n_scratch];
  if (read_string(r, 0, &block, &m->key.ptr, &m->key.len, stack_sbuf)) return r->code;
  m->value = NULL;
  r->n_scratch++;
  skip_ws(r);
  if (r->p >= r->end || *r->p != ':') return fail_unexpected(r, "expected ':'");
  r->p++;
  return 0;
}

int json_read(hr_arena *a, const char *text, size_t len, const json_read_opts *opts,
              json_value **out, json_error *err) {
  json_member stack_scratch[SCRATCH_STACK];
  frame stack_frames[FRAMES_STACK];
  char stack_sbuf[SBUF_STACK];
  size_t max_depth = opts && opts->max_depth ? opts->max_depth : JSON_DEFAULT_DEPTH;
  reader r = {
      .start = (const unsigned char *)text,
      .p = (const unsigned char *)text,
      .end = (const unsigned char *)text + len,
      .a = a,
      .err = err,
      .scratch = stack_scratch,
      .cap_scratch = SCRATCH_STACK,
      .sbuf = stack_sbuf,
      .cap_sbuf = SBUF_STACK,
      .frames = stack_frames,
      .cap_frames = FRAMES_STACK,
      /* about what a chat body's tree takes; later chunks are the same */
      .chunk = len < 512 ? 2048 : len > 16384 ? 65536 : 4 * len,
  };
  if (err) {
    err->offset = err->line = err->col = 0;
    err->message[0] = 0;
  }
  *out = NULL;
  json_value *v = NULL;
  int rc = 0;

  for (;;) {
    /* a value is expected at r.p */
    skip_ws(&r);
    if (r.p >= r.end) {
      rc = fail(&r, HR_EINVAL, r.p == r.start ? "empty input" : "unexpected end of input");
      goto out;
    }
    unsigned c = *r.p;
    switch (c) {
      case '{':
      case '[':
        if (r.n_frames >= max_depth) {
          char msg[64];
          snprintf(msg, sizeof msg, "nesting deeper than %zu", max_depth);
          rc = fail(&r, HR_ERANGE, msg);
          goto out;
        }
        if (r.n_frames == r.cap_frames && (rc = frames_grow(&r, stack_frames))) goto out;
        r.frames[r.n_frames++] = (frame){r.n_scratch, c == '{'};
        r.p++;
        skip_ws(&r);
        if (r.p < r.end && *r.p == (c == '{' ? '}' : ']')) {
          r.p++;
          if ((rc = close_container(&r, &v))) goto out;
          break;
        }
        if (c == '{' && (rc = read_key(&r, stack_scratch, stack_sbuf))) goto out;
        continue; /* read the first value */
      case '"': {
        void *block;
        const char *ptr;
        size_t n;
        if ((rc = read_string(&r, sizeof(json_value), &block, &ptr, &n, stack_sbuf))) goto out;
        v = block;
        v->type = JSON_STRING;
        v->u.str.ptr = ptr;
        v->u.str.len = n;
        break;
      }
      case 't':
        if ((rc = read_literal(&r, "true", 4, JSON_TRUE, &v))) goto out;
        break;
      case 'f':
        if ((rc = read_literal(&r, "false", 5, JSON_FALSE, &v))) goto out;
        break;
      case 'n':
        if ((rc = read_literal(&r, "null", 4, JSON_NULL, &v))) goto out;
        break;
      default:
        if (c == '-' || IS_DIGIT(c)) {
          if ((rc = read_number(&r, &v))) goto out;
          break;
        }
        rc = fail_unexpected(&r, "expected a value");
        goto out;
    }

    /* v is complete: hand it to its container, closing containers as
     * they end, until one wants another value or the document is done. */
    for (;;) {
      if (r.n_frames == 0) {
        skip_ws(&r);
        if (r.p != r.end) {
          rc = fail_unexpected(&r, "data after the value");
          goto out;
        }
        *out = v;
        rc = 0;
        goto out;
      }
      frame *f = &r.frames[r.n_frames - 1];
      if (f->is_object) {
        r.scratch[r.n_scratch - 1].value = v;
      } else {
        if (r.n_scratch == r.cap_scratch && (rc = scratch_grow(&r, stack_scratch))) goto out;
        r.scratch[r.n_scratch++] = (json_member){{NULL, 0}, v};
      }
      skip_ws(&r);
      char close = f->is_object ? '}' : ']';
      if (r.p < r.end && *r.p == ',') {
        r.p++;
        skip_ws(&r);
        if (r.p < r.end && (*r.p == ']' || *r.p == '}')) {
          rc = fail(&r, HR_EINVAL, *r.p == '}' ? "trailing comma before '}'" : "trailing comma before ']'");
          goto out;
        }
        if (f->is_object && (rc = read_key(&r, stack_scratch, stack_sbuf))) goto out;
        break; /* next value */
      }
      if (r.p < r.end && *r.p == close) {
        r.p++;
        if ((rc = close_container(&r, &v))) goto out;
        continue;
      }
      rc = fail_unexpected(&r, f->is_object ? "expected ',' or '}'" : "expected ',' or ']'");
      goto out;
    }
  }

out:
  if (r.scratch != stack_scratch) free(r.scratch);
  if (r.frames != stack_frames) free(r.frames);
  if (r.sbuf != stack_sbuf) free(r.sbuf);
  return rc;
}

/* ---- queries ------------------------------------------------------------ */

const json_value *json_get(const json_value *v, const char *key) {
  if (!v || v->type != JSON_OBJECT) return NULL;
  size_t n = strlen(key);
  for (size_t i = v->u.obj.n; i-- > 0;) {
    const json_member *m = &v->u.obj.members[i];
    if (m->key.len == n && memcmp(m->key.ptr, key, n) == 0) return m->value;
  }
  return NULL;
}

const char *json_type_name(json_type t) {
  switch (t) {
    case JSON_NULL: return "null";
    case JSON_FALSE:
    case JSON_TRUE: return "boolean";
    case JSON_NUMBER: return "number";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    case JSON_OBJECT: return "object";
  }
  return "unknown";
}
