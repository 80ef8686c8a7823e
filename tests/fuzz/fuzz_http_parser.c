/* fuzz_http_parser — arbitrary bytes as a request head, then (when the head
 * says chunked) as its body, then the path through a small router.
 *
 * Input layout: byte 0 picks the limits (default or tiny) and byte 1-2 a
 * split point; the rest is the stream. Checked, beyond memory safety:
 *   - the head parsed in one call, in two calls split at the chosen point,
 *     and (for short inputs) one byte at a time, gives the same result,
 *     status and fields (buffer moved between calls in the split case);
 *   - a successful head is sane: slices inside the buffer, version 10/11,
 *     never both chunked and a Content-Length, n_headers within limits;
 *   - the chunked decoder gives the same result, bytes and consumed count
 *     one-shot, split in two, and byte by byte, and never writes more than
 *     it consumed. */
// fuzz-sources: src/http/http_parser.c src/http/router.c src/base/arena.c src/base/base.c
#include "../../src/http/http_parser.h"
#include "../../src/http/router.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NHDR 100

static void die(const char *what) {
  fprintf(stderr, "fuzz_http_parser: %s\n", what);
  abort();
}

static bool in_buf(hr_str s, const char *buf, size_t len) {
  if (s.len == 0) return true;
  return s.ptr >= buf && s.ptr + s.len <= buf + len;
}

static size_t g_len; /* both compared buffers hold g_len bytes */

static bool same_slice(hr_str a, const char *abuf, hr_str b, const char *bbuf) {
  if (a.len != b.len) return false;
  if (a.len == 0) return true;
  /* the static "/" of absolute-form targets is in neither buffer */
  bool a_in = in_buf(a, abuf, g_len), b_in = in_buf(b, bbuf, g_len);
  if (a_in != b_in) return false;
  if (a_in) return a.ptr - abuf == b.ptr - bbuf;
  return memcmp(a.ptr, b.ptr, a.len) == 0;
}

static void same_req(const http_request *a, const char *abuf, int ra, const http_request *b,
                     const char *bbuf, int rb) {
  if (ra != rb || a->error_status != b->error_status) die("split changed the head result");
  if (ra <= 0) return;
  if (a->method != b->method || a->version != b->version || a->n_headers != b->n_headers ||
      a->content_length != b->content_length || a->chunked != b->chunked ||
      a->keep_alive != b->keep_alive || a->expect_continue != b->expect_continue ||
      a->upgrade_websocket != b->upgrade_websocket)
    die("split changed a derived field");
  if (!same_slice(a->target, abuf, b->target, bbuf) || !same_slice(a->path, abuf, b->path, bbuf) ||
      !same_slice(a->query, abuf, b->query, bbuf) || !same_slice(a->host, abuf, b->host, bbuf))
    die("split changed a slice");
  for (size_t i = 0; i < a->n_headers; i++)
    if (!same_slice(a->headers[i].name, abuf, b->headers[i].name, bbuf) ||
        !same_slice(a->headers[i].value, abuf, b->headers[i].value, bbuf))
      die("split changed a header");
}

static void check_req(const http_request *r, int rc, const char *buf, size_t len,
                      const http_limits *lim) {
  if (rc == HR_EAGAIN) {
    if (r->error_status) die("EAGAIN with a status");
    return;
  }
  if (rc < 0) {
    int s = r->error_status;
    if (!(s == 400 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505) || !r->error_reason)
      die("error without a proper status");
    return;
  }
  if ((size_t)rc > len || (size_t)rc > lim->max_head_bytes) die("head longer than input/limit");
  if (buf[rc - 1] != '\n' || buf[rc - 2] != '\r' || buf[rc - 3] != '\n' || buf[rc - 4] != '\r')
    die("head does not end in CRLFCRLF");
  if (r->version != 10 && r->version != 11) die("bad version");
  if (r->chunked && r->content_length >= 0) die("chunked with Content-Length");
  if (r->n_headers > lim->max_headers) die("too many headers");
  if (r->version == 11 && !r->host.ptr) die("1.1 without Host");
  if (!in_buf(r->target, buf, len) || !in_buf(r->method_token, buf, len) ||
      !in_buf(r->query, buf, len) || !in_buf(r->host, buf, len))
    die("slice outside the buffer");
  if (r->path.len == 0) die("empty path");
  for (size_t i = 0; i < r->n_headers; i++) {
    hr_str n = r->headers[i].name, v = r->headers[i].value;
    if (!in_buf(n, buf, len) || !in_buf(v, buf, len) || n.len == 0) die("bad header slice");
    if (v.len && (v.ptr[0] == ' ' || v.ptr[v.len - 1] == ' ' || v.ptr[0] == '\t'))
      die("value not trimmed");
    for (size_t k = 0; k < v.len; k++)
      if (((unsigned char)v.ptr[k] < 0x20 && v.ptr[k] != '\t') || v.ptr[k] == 0x7f)
        die("CTL in value");
  }
}

/* The head given in two calls, data[0..cut) and then all of it from another
 * buffer (as if the caller's buffer had grown and moved). */
static int head_split(const char *data, size_t len, size_t cut, const http_limits *lim,
                      http_request *r, http_header *h, char **keep) {
  http_request_init(r, h, NHDR);
  char *a = malloc(len ? len : 1);
  memcpy(a, data, len); /* bytes past cut are not shown to the parser */
  int rc = http_parse_head(a, cut, lim, r);
  if (rc != HR_EAGAIN) {
    *keep = a;
    return rc;
  }
  char *b = malloc(len ? len : 1);
  memcpy(b, data, len);
  free(a);
  rc = http_parse_head(b, len, lim, r);
  *keep = b;
  return rc;
}

typedef struct {
  int rc;
  size_t consumed, out_n;
  char *out;
} chunk_res;

static chunk_res chunk_run(const char *body, size_t n, const size_t *cuts, size_t n_cuts,
                           uint64_t max) {
  chunk_res res = {HR_EAGAIN, 0, 0, malloc(n + 1)};
  http_chunked st;
  http_chunked_init(&st, max);
  char *tmp = malloc(n + 1);
  size_t start = 0;
  for (size_t k = 0; k <= n_cuts && res.rc == HR_EAGAIN; k++) {
    size_t end = k < n_cuts ? cuts[k] : n;
    if (end < start) end = start;
    memcpy(tmp, body + start, end - start);
    size_t used, dl;
    res.rc = http_chunked_decode(&st, tmp, end - start, &used, &dl);
    if (used > end - start || dl > used) die("chunked: consumed/out out of range");
    if (res.rc == HR_EAGAIN && used != end - start) die("chunked: EAGAIN without consuming all");
    if (res.rc < 0 && res.rc != HR_EAGAIN && st.error_status != 400 && st.error_status != 413 &&
        st.error_status != 431)
      die("chunked: error without status");
    memcpy(res.out + res.out_n, tmp, dl);
    res.out_n += dl;
    res.consumed += used;
    start = end;
  }
  free(tmp);
  return res;
}

static void chunk_same(const chunk_res *a, const chunk_res *b) {
  if (a->rc != b->rc || a->out_n != b->out_n || memcmp(a->out, b->out, a->out_n) != 0)
    die("chunked: split changed the result");
  if (a->rc == HR_OK && a->consumed != b->consumed) die("chunked: split changed consumed");
}

static http_router *g_router;

static void router_once(void) {
  if (g_router) return;
  g_router = http_router_new();
  static int h;
  http_route rt = {&h, NULL, 0, 0};
  const char *pats[] = {"/", "/v1/models", "/v1/models/{model}", "/v1/files/{id}/content",
                        "/v1/files/list", "/static/{path...}", "/a/{b}/{c}/d"};
  for (size_t i = 0; i < sizeof pats / sizeof *pats; i++) http_router_add(g_router, HTTP_GET, pats[i], &rt);
  http_router_add(g_router, HTTP_POST, "/v1/files/{id}", &rt);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  if (size < 3) return 0;
  http_limits tiny = {200, 64, 4}, dflt = HTTP_LIMITS_DEFAULT;
  const http_limits *lim = (in[0] & 1) ? &tiny : &dflt;
  uint64_t body_max = (in[0] & 2) ? 16 : UINT64_MAX;
  const char *data = (const char *)in + 3;
  size_t len = size - 3;
  g_len = len;
  size_t cut = len ? ((size_t)in[1] << 8 | in[2]) % (len + 1) : 0;

  static http_header ha[NHDR], hb[NHDR], hc[NHDR];
  http_request a, b, c;
  char *abuf = malloc(len ? len : 1);
  memcpy(abuf, data, len);
  http_request_init(&a, ha, NHDR);
  int ra = http_parse_head(abuf, len, lim, &a);
  check_req(&a, ra, abuf, len, lim);

  char *bbuf;
  int rb = head_split(data, len, cut, lim, &b, hb, &bbuf);
  same_req(&a, abuf, ra, &b, bbuf, rb);
  free(bbuf);

  if (len <= 2048) {
    http_request_init(&c, hc, NHDR);
    int rc = HR_EAGAIN;
    for (size_t i = 1; i <= len && rc == HR_EAGAIN; i++) rc = http_parse_head(abuf, i, lim, &c);
    if (len == 0) rc = http_parse_head(abuf, 0, lim, &c);
    same_req(&a, abuf, ra, &c, abuf, rc);
  }

  if (ra > 0) {
    router_once();
    http_route_match m;
    int st = http_router_match(g_router, a.method, a.method_token, a.path, &m);
    if (st != 200 && st != 404 && st != 405) die("router: bad status");
    if (st == 405 && !m.allow[0]) die("router: 405 without Allow");
    for (size_t i = 0; st == 200 && i < m.n_params; i++) {
      char tmp[256];
      size_t n;
      if (!in_buf(m.params[i].value, abuf, len)) die("router: param outside path");
      if (http_pct_decode(m.params[i].value, tmp, sizeof tmp, &n) == 0 && n > m.params[i].value.len)
        die("pct_decode grew");
    }
  }

  if (ra > 0 && a.chunked) {
    const char *body = abuf + ra;
    size_t n = len - (size_t)ra;
    chunk_res one = chunk_run(body, n, NULL, 0, body_max);
    size_t cut2[1] = {n ? cut % (n + 1) : 0};
    chunk_res two = chunk_run(body, n, cut2, 1, body_max);
    chunk_same(&one, &two);
    free(two.out);
    if (n <= 4096) {
      size_t *cuts = malloc((n + 1) * sizeof *cuts);
      for (size_t i = 0; i < n; i++) cuts[i] = i + 1;
      chunk_res bytes = chunk_run(body, n, cuts, n ? n - 1 : 0, body_max);
      chunk_same(&one, &bytes);
      free(bytes.out);
      free(cuts);
    }
    if (one.rc == HR_OK && one.consumed > n) die("chunked: consumed past the input");
    free(one.out);
  }
  free(abuf);
  return 0;
}
