/* router — see router.h for the contract.
 *
 * The trie has one node per pattern segment. A node has literal children
 * (a small array searched by length then bytes: API trees fan out to a few
 * dozen at most), at most one parameter child and at most one catch-all
 * child (a leaf). Routes hang off the node where their pattern ends, one
 * slot per standard method plus an "any" slot and a list for extension
 * methods, and a bitmask of the methods present builds the Allow text.
 *
 * A match walks the path segment by segment, trying literal, then
 * parameter, then catch-all, and backs out of dead ends. The recursion is
 * bounded by the depth of the trie (the longest pattern), not by the path.
 * Captured values sit on a fixed stack in the match context; nothing is
 * allocated.
 *
 * Invariant: every node's mask has bit m set iff by_method[m] is set. */
#include "router.h"

#include <stdlib.h>
#include <string.h>

typedef struct rt_entry {
  http_route route;
  char *pattern;                       /* owned copy */
  hr_str names[HTTP_ROUTE_PARAMS_MAX]; /* slices of pattern */
  size_t n_params;
  char *method_token;    /* owned; extension methods only */
  struct rt_entry *next; /* next extension-method entry at the node */
} rt_entry;

typedef struct rt_node {
  char *seg; /* literal text (owned), for literal children */
  size_t seg_len;
  struct rt_node **lits;
  size_t n_lits, cap_lits;
  struct rt_node *param;
  struct rt_node *rest; /* catch-all */
  rt_entry *by_method[HTTP_OTHER];
  rt_entry *any;
  rt_entry *custom;
  uint32_t mask; /* bit m: by_method[m] */
} rt_node;

struct http_router {
  rt_node root;
};

/* ---- building ------------------------------------------------------------- */

http_router *http_router_new(void) { return calloc(1, sizeof(http_router)); }

static void entry_free(rt_entry *e) {
  if (!e) return;
  free(e->pattern);
  free(e->method_token);
  free(e);
}

static void node_free_contents(rt_node *n) {
  for (size_t i = 0; i < n->n_lits; i++) {
    node_free_contents(n->lits[i]);
    free(n->lits[i]);
  }
  free(n->lits);
  free(n->seg);
  if (n->param) {
    node_free_contents(n->param);
    free(n->param);
  }
  if (n->rest) {
    node_free_contents(n->rest);
    free(n->rest);
  }
  for (int m = 0; m < HTTP_OTHER; m++) entry_free(n->by_method[m]);
  entry_free(n->any);
  for (rt_entry *e = n->custom, *next; e; e = next) {
    next = e->next;
    entry_free(e);
  }
}

void http_router_free(http_router *r) {
  if (!r) return;
  node_free_contents(&r->root);
  free(r);
}

static rt_node *lit_find(const rt_node *n, const char *s, size_t len) {
  for (size_t i = 0; i < n->n_lits; i++) {
    rt_node *c = n->lits[i];
    if (c->seg_len == len && memcmp(c->seg, s, len) == 0) return c;
  }
  return NULL;
}

static rt_node *lit_add(rt_node *n, const char *s, size_t len) {
  rt_node *c = lit_find(n, s, len);
  if (c) return c;
  if (n->n_lits == n->cap_lits) {
    size_t cap = n->cap_lits ? n->cap_lits * 2 : 4;
    rt_node **v = realloc(n->lits, cap * sizeof *v);
    if (!v) return NULL;
    n->lits = v;
    n->cap_lits = cap;
  }
  c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->seg = malloc(len + 1);
  if (!c->seg) {
    free(c);
    return NULL;
  }
  memcpy(c->seg, s, len);
  c->seg[len] = 0;
  c->seg_len = len;
  n->lits[n->n_lits++] = c;
  return c;
}

/* Walks (creating) the nodes for pattern; fills the entry's param names.
 * NULL with *err set on a bad pattern or no memory. */
static rt_node *pattern_node(http_router *r, rt_entry *e, int *err) {
  const char *p = e->pattern;
  rt_node *n = &r->root;
  *err = HR_EINVAL;
  if (p[0] != '/') return NULL;
  while (*p == '/') {
    const char *s = p + 1;
    const char *end = strchr(s, '/');
    if (!end) end = s + strlen(s);
    size_t len = (size_t)(end - s);
    const char *open = memchr(s, '{', len), *close = memchr(s, '}', len);
    if (open || close) {
      if (open != s || close != end - 1 || len < 3) return NULL;
      const char *name = s + 1;
      size_t nlen = len - 2;
      if (memchr(name, '{', nlen) || memchr(name, '}', nlen)) return NULL;
      bool catch_all = nlen > 3 && memcmp(name + nlen - 3, "...", 3) == 0;
      if (nlen >= 3 && memcmp(name + nlen - 3, "...", 3) == 0 && !catch_all) return NULL;
      if (catch_all) nlen -= 3;
      if (e->n_params == HTTP_ROUTE_PARAMS_MAX) return NULL;
      e->names[e->n_params++] = hr_str_make(name, nlen);
      rt_node **slot = catch_all ? &n->rest : &n->param;
      if (catch_all && *end) return NULL; /* catch-all must be last */
      if (!*slot) {
        *slot = calloc(1, sizeof(rt_node));
        if (!*slot) {
          *err = HR_ENOMEM;
          return NULL;
        }
      }
      n = *slot;
    } else {
      n = lit_add(n, s, len);
      if (!n) {
        *err = HR_ENOMEM;
        return NULL;
      }
    }
    p = end;
  }
  *err = 0;
  return n;
}

/* strdup is POSIX, not C17: builds without _GNU_SOURCE must work too. */
static char *str_dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static bool is_token(const char *s) {
  if (!*s) return false;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
          strchr("!#$%&'*+-.^_`|~", c)))
      return false;
  }
  return true;
}

static int router_add(http_router *r, http_method m, const char *token, const char *pattern,
                      const http_route *route) {
  if (!r || !pattern || !route) return HR_EINVAL;
  if (m > HTTP_METHOD_ANY || (m == HTTP_OTHER && !token)) return HR_EINVAL;
  rt_entry *e = calloc(1, sizeof *e);
  if (!e) return HR_ENOMEM;
  e->route = *route;
  e->pattern = str_dup(pattern);
  if (token) e->method_token = str_dup(token);
  if (!e->pattern || (token && !e->method_token)) {
    entry_free(e);
    return HR_ENOMEM;
  }
  int err;
  rt_node *n = pattern_node(r, e, &err);
  if (!n) {
    entry_free(e);
    return err;
  }
  if (m == HTTP_OTHER) {
    for (rt_entry *c = n->custom; c; c = c->next)
      if (strcmp(c->method_token, token) == 0) {
        entry_free(e);
        return HR_EINVAL;
      }
    e->next = n->custom;
    n->custom = e;
  } else if (m == HTTP_METHOD_ANY) {
    if (n->any) {
      entry_free(e);
      return HR_EINVAL;
    }
    n->any = e;
  } else {
    if (n->by_method[m]) {
      entry_free(e);
      return HR_EINVAL;
    }
    n->by_method[m] = e;
    n->mask |= 1u << m;
  }
  return 0;
}

int http_router_add(http_router *r, http_method m, const char *pattern,
                    const http_route *route) {
  if (m == HTTP_OTHER) return HR_EINVAL;
  return router_add(r, m, NULL, pattern, route);
}

int http_router_add_custom(http_router *r, const char *method_token, const char *pattern,
                           const http_route *route) {
  if (!method_token || !is_token(method_token)) return HR_EINVAL;
  http_method m = http_method_from_token(hr_str_cstr(method_token));
  return router_add(r, m, m == HTTP_OTHER ? method_token : NULL, pattern, route);
}

/* ---- matching ------------------------------------------------------------- */

typedef struct {
  http_method m;
  hr_str token;
  const char *path_end;
  hr_str values[HTTP_ROUTE_PARAMS_MAX];
  size_t n_values;
  const rt_entry *found;
  uint32_t allow_mask; /* methods of path-matching nodes without our method */
  const rt_node *allow_custom[4];
  size_t n_allow_custom;
} rt_ctx;

static const rt_entry *node_entry(const rt_node *n, const rt_ctx *c) {
  if (c->m == HTTP_OTHER) {
    for (const rt_entry *e = n->custom; e; e = e->next)
      if (hr_str_eq_cstr(c->token, e->method_token)) return e;
    return n->any;
  }
  const rt_entry *e = n->by_method[c->m];
  if (!e && c->m == HTTP_HEAD) e = n->by_method[HTTP_GET];
  return e ? e : n->any;
}

/* The path has been consumed down to node n: is there a route here? */
static bool node_end(const rt_node *n, rt_ctx *c) {
  const rt_entry *e = node_entry(n, c);
  if (e) {
    c->found = e;
    return true;
  }
  c->allow_mask |= n->mask;
  if (n->custom && c->n_allow_custom < HR_ARRAY_LEN(c->allow_custom))
    c->allow_custom[c->n_allow_custom++] = n;
  return false;
}

/* rest: the unmatched tail of the path, empty or starting with '/'. */
static bool node_match(const rt_node *n, const char *rest, rt_ctx *c) {
  if (rest == c->path_end) return node_end(n, c);
  const char *s = rest + 1;
  const char *e = memchr(s, '/', (size_t)(c->path_end - s));
  if (!e) e = c->path_end;
  size_t len = (size_t)(e - s);

  const rt_node *lit = lit_find(n, s, len);
  if (lit && node_match(lit, e, c)) return true;
  if (n->param && len > 0 && c->n_values < HTTP_ROUTE_PARAMS_MAX) {
    c->values[c->n_values++] = hr_str_make(s, len);
    if (node_match(n->param, e, c)) return true;
    c->n_values--;
  }
  if (n->rest && c->n_values < HTTP_ROUTE_PARAMS_MAX) {
    c->values[c->n_values++] = hr_str_make(s, (size_t)(c->path_end - s));
    if (node_end(n->rest, c)) return true;
    c->n_values--;
  }
  return false;
}

static void allow_build(const rt_ctx *c, char *out, size_t cap) {
  static const http_method order[] = {HTTP_GET,    HTTP_HEAD,  HTTP_POST,   HTTP_PUT,
                                      HTTP_DELETE, HTTP_PATCH, HTTP_OPTIONS};
  uint32_t mask = c->allow_mask;
  if (mask & (1u << HTTP_GET)) mask |= 1u << HTTP_HEAD;
  size_t n = 0;
  out[0] = 0;
  for (size_t i = 0; i < HR_ARRAY_LEN(order); i++) {
    if (!(mask & (1u << order[i]))) continue;
    const char *name = http_method_name(order[i]);
    size_t l = strlen(name);
    if (n + l + 3 > cap) break;
    if (n) {
      memcpy(out + n, ", ", 2);
      n += 2;
    }
    memcpy(out + n, name, l + 1);
    n += l;
  }
  for (size_t k = 0; k < c->n_allow_custom; k++)
    for (const rt_entry *e = c->allow_custom[k]->custom; e; e = e->next) {
      size_t l = strlen(e->method_token);
      if (n + l + 3 > cap) return;
      if (strstr(out, e->method_token)) continue; /* listed by another node */
      if (n) {
        memcpy(out + n, ", ", 2);
        n += 2;
      }
      memcpy(out + n, e->method_token, l + 1);
      n += l;
    }
}

int http_router_match(const http_router *r, http_method m, hr_str method_token, hr_str path,
                      http_route_match *out) {
  out->route = NULL;
  out->pattern = NULL;
  out->n_params = 0;
  out->allow[0] = 0;
  if (!r || path.len == 0 || path.ptr[0] != '/') return 404;
  rt_ctx c;
  c.m = (unsigned)m < HTTP_OTHER ? m : HTTP_OTHER;
  c.token = method_token;
  c.path_end = path.ptr + path.len;
  c.n_values = 0;
  c.found = NULL;
  c.allow_mask = 0;
  c.n_allow_custom = 0;
  if (node_match(&r->root, path.ptr, &c)) {
    const rt_entry *e = c.found;
    out->route = &e->route;
    out->pattern = e->pattern;
    out->n_params = e->n_params;
    for (size_t i = 0; i < e->n_params; i++) {
      out->params[i].name = e->names[i];
      out->params[i].value = c.values[i];
    }
    return 200;
  }
  if (!c.allow_mask && !c.n_allow_custom) return 404;
  allow_build(&c, out->allow, sizeof out->allow);
  return 405;
}

/* ---- percent-decoding ----------------------------------------------------- */

static inline int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int http_pct_decode(hr_str in, char *out, size_t cap, size_t *out_len) {
  size_t o = 0;
  *out_len = 0;
  for (size_t i = 0; i < in.len; i++) {
    unsigned char c = (unsigned char)in.ptr[i];
    if (c == '%') {
      if (in.len - i < 3) return HR_EINVAL;
      int hi = hexval((unsigned char)in.ptr[i + 1]), lo = hexval((unsigned char)in.ptr[i + 2]);
      if (hi < 0 || lo < 0) return HR_EINVAL;
      c = (unsigned char)(hi << 4 | lo);
      if (c == 0) return HR_EINVAL;
      i += 2;
    }
    if (o == cap) return HR_ERANGE;
    out[o++] = (char)c;
  }
  *out_len = o;
  return 0;
}
