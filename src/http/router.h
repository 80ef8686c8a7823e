/* router — maps (method, path) to a route: a segment trie built once at
 * start-up and then matched by every I/O loop at once.
 *
 * Patterns are absolute paths split at '/'. A segment is either literal
 * text, a parameter "{name}" that captures one non-empty segment, or, as the
 * last segment only, a catch-all "{name...}" that captures the rest of the
 * path (possibly empty, may contain '/'). Examples:
 *   /v1/models            /v1/models/{model}
 *   /v1/files/{id}/content            /static/{path...}
 * Precedence at each segment: literal, then parameter, then catch-all, with
 * backtracking, so /v1/files/list beats /v1/files/{id} and a dead end in a
 * literal branch still falls back to the parameter branch.
 *
 * Matching is on the raw (still percent-encoded) path; parameter values are
 * raw slices of it: decode them with http_pct_decode. A literal segment
 * only matches the same raw bytes (so "/v1/%66iles" is not "/v1/files").
 *
 * HEAD requests match GET routes unless a HEAD route is registered too.
 *
 * Threads: http_router_add is for start-up, from one thread. Once built, the
 * router is read-only; http_router_match may run on any number of threads.
 * A match allocates nothing.
 *
 * Ownership: the router owns its nodes and copies of the patterns; the
 * handler and user pointers in http_route are the caller's. */
#ifndef HEARTH_HTTP_ROUTER_H
#define HEARTH_HTTP_ROUTER_H

#include "../base/base.h"
#include "http_parser.h"

#define HTTP_ROUTE_PARAMS_MAX 8
/* For http_router_add: the route answers every method. */
#define HTTP_METHOD_ANY HTTP_METHOD_COUNT

/* What a route carries; opaque to the router, copied in at add time. */
typedef struct {
  void *handler;     /* the server's handler (e.g. a function pointer) */
  void *user;        /* per-route data for the handler */
  uint64_t body_max; /* request body limit in bytes; 0 = the server default */
  uint32_t flags;    /* the server's own bits (auth needed, streaming...) */
} http_route;

typedef struct {
  hr_str name;  /* from the pattern, without braces or "..." */
  hr_str value; /* raw slice of the request path */
} http_route_param;

typedef struct {
  const http_route *route; /* set when found; owned by the router */
  const char *pattern;     /* the matched pattern, NUL-terminated */
  http_route_param params[HTTP_ROUTE_PARAMS_MAX];
  size_t n_params;
  /* On 405: the methods the path does answer, "GET, HEAD, POST" (HEAD is
   * listed whenever GET is). Empty otherwise. */
  char allow[96];
} http_route_match;

typedef struct http_router http_router;

http_router *http_router_new(void); /* NULL if out of memory */
void http_router_free(http_router *r);

/* Adds a route for method m (an http_method below HTTP_OTHER, or
 * HTTP_METHOD_ANY). Returns 0, HR_EINVAL for a bad pattern (not starting with
 * '/', empty or unclosed "{}", a catch-all not last, text around a
 * parameter in one segment, more than HTTP_ROUTE_PARAMS_MAX params, a bad
 * method), HR_EINVAL also for a (method, pattern) already added, or
 * HR_ENOMEM. */
int http_router_add(http_router *r, http_method m, const char *pattern,
                    const http_route *route);

/* Adds a route for an extension method given by its token ("PROPFIND").
 * Same returns as http_router_add. */
int http_router_add_custom(http_router *r, const char *method_token,
                           const char *pattern, const http_route *route);

/* Finds the route for a request. method_token is only looked at when m is
 * HTTP_OTHER (it may be empty otherwise). path is the request's path (no
 * query).
 * Returns 200 (found: out->route, params), 404 (no pattern matches the
 * path) or 405 (some pattern matches but not for this method: out->allow).
 * out->route, pattern, n_params and allow are set in every case (route NULL
 * unless 200); params[] beyond n_params are left as they were. */
int http_router_match(const http_router *r, http_method m, hr_str method_token,
                      hr_str path, http_route_match *out);

/* Percent-decodes in (RFC 3986 2.1; '+' is left as is) into out[0..cap).
 * Returns 0 with *out_len set, HR_EINVAL for a bad or truncated escape or
 * for %00, HR_ERANGE when cap is too small. out == in.ptr is allowed (the
 * result is never longer than the input). */
int http_pct_decode(hr_str in, char *out, size_t cap, size_t *out_len);

#endif
