/* http_parser — see http_parser.h for the contract.
 *
 * How a head is read. The head is cut into lines at '\n' (memchr) and each
 * complete line is checked and stored as soon as it is complete; the header
 * fields' meaning (Host, Content-Length, Transfer-Encoding, ...) is worked
 * out once, when the empty line ending the head arrives. Progress is kept
 * as offsets in req->st, so a call only looks at bytes it has not looked at
 * before: a head trickling in one byte at a time costs O(head) in total.
 *
 * Why the order of checks matters. The answer for a byte stream must not
 * depend on how the stream was split into reads, or a test (or an
 * attacker) could get a 400 one way and a 431 the other. So every check is
 * made at a point that is the same in every split: limits on an unfinished
 * line are checked against what has arrived ("this line can no longer fit"),
 * and on a finished line the same limits are checked first, before its
 * content. Errors in a line are reported only once the line is complete.
 *
 * Speed. Line ends come from memchr; field values and the request target are
 * checked 16 bytes at a time with SSE2 (always present on x86-64), reading
 * only bytes below len. */
#include "http_parser.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define HTTP_SSE2 1
#endif

/* ---- byte classes ---------------------------------------------------------- */

/* tchar (RFC 9110 5.6.2): the characters of methods and field names. */
static const uint8_t k_tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
    ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
    ['~'] = 1, ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

/* Characters allowed in a Host value: unreserved, sub-delims, ':', '[', ']'
 * (IP literals) and '%' (pct-encoded reg-name, zone ids). */
static const uint8_t k_hostchar[256] = {
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['-'] = 1, ['.'] = 1,
    ['_'] = 1, ['~'] = 1, ['!'] = 1, ['$'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1,
    [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, [';'] = 1, ['='] = 1, [':'] = 1,
    ['['] = 1, [']'] = 1, ['%'] = 1,
};

static inline bool is_ows(char c) { return c == ' ' || c == '\t'; }

/* Length of the run of tchars at p (up to end); four table lookups per
 * branch, since names are mostly 4-20 bytes. */
static inline const char *skip_tchars(const char *p, const char *end) {
  while (end - p >= 4 && (k_tchar[(unsigned char)p[0]] & k_tchar[(unsigned char)p[1]] &
                          k_tchar[(unsigned char)p[2]] & k_tchar[(unsigned char)p[3]]))
    p += 4;
  while (p < end && k_tchar[(unsigned char)*p]) p++;
  return p;
}

/* Index of the first byte of p[0..n) that is a CTL (< 0x20 or 0x7f), or n.
 * May read (but ignores) bytes up to rend, never past it. */
static inline size_t scan_ctl(const char *p, size_t n, const char *rend) {
  size_t i = 0;
#ifdef HTTP_SSE2
  const __m128i k1f = _mm_set1_epi8(0x1f), k7f = _mm_set1_epi8(0x7f);
  while (i < n && (size_t)(rend - (p + i)) >= 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    __m128i lo = _mm_cmpeq_epi8(_mm_min_epu8(x, k1f), x); /* x <= 0x1f */
    __m128i del = _mm_cmpeq_epi8(x, k7f);
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(lo, del));
    if (m) {
      size_t j = i + (size_t)__builtin_ctz(m);
      return j < n ? j : n;
    }
    i += 16;
  }
#endif
  for (; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c < 0x20 || c == 0x7f) return i;
  }
  return n;
}

/* True when every byte of p[0..n) is visible ASCII (0x21..0x7e). */
static inline bool all_vchar(const char *p, size_t n, const char *rend) {
  size_t i = 0;
#ifdef HTTP_SSE2
  /* Shift 0x21..0x7e onto -128..-35 (signed) so one compare finds the rest. */
  const __m128i shift = _mm_set1_epi8((char)(0x80 - 0x21)), top = _mm_set1_epi8(-35);
  while (i < n && (size_t)(rend - (p + i)) >= 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    __m128i bad = _mm_cmpgt_epi8(_mm_add_epi8(x, shift), top);
    unsigned m = (unsigned)_mm_movemask_epi8(bad);
    if (n - i < 16) m &= (1u << (n - i)) - 1;
    if (m) return false;
    i += 16;
  }
#endif
  for (; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/* p[0..n) equals the lowercase literal lit, ASCII case-insensitively. Only
 * for lit made of letters, digits and '-', and p made of tchars (then
 * c | 0x20 cannot turn a different tchar into one of those). */
static inline bool lc_eq(const char *p, const char *lit, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)p[i] | 0x20) != (unsigned char)lit[i]) return false;
  return true;
}

static bool str_ieq_lit(hr_str s, const char *lit) {
  size_t n = strlen(lit);
  if (s.len != n) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char a = (unsigned char)s.ptr[i], b = (unsigned char)lit[i];
    if (a >= 'A' && a <= 'Z') a |= 0x20;
    if (a != b) return false;
  }
  return true;
}

/* Next element of a comma-separated list (RFC 9110 5.6.1), OWS trimmed.
 * Empty elements are returned as empty; false when the list is used up. */
static bool list_next(hr_str *rest, hr_str *elem) {
  if (!rest->ptr) return false;
  const char *p = rest->ptr, *end = p + rest->len;
  const char *comma = memchr(p, ',', rest->len);
  const char *e = comma ? comma : end;
  while (p < e && is_ows(*p)) p++;
  const char *q = e;
  while (q > p && is_ows(q[-1])) q--;
  *elem = hr_str_make(p, (size_t)(q - p));
  if (comma) *rest = hr_str_make(comma + 1, (size_t)(end - comma - 1));
  else *rest = hr_str_make(NULL, 0);
  return true;
}

/* ---- methods ---------------------------------------------------------------- */

static const char *const k_method_names[] = {"GET",    "HEAD",  "POST",    "PUT",
                                             "DELETE", "PATCH", "OPTIONS", "OTHER"};

const char *http_method_name(http_method m) {
  return (unsigned)m < HR_ARRAY_LEN(k_method_names) ? k_method_names[m] : "OTHER";
}

http_method http_method_from_token(hr_str t) {
  const char *p = t.ptr;
  switch (t.len) {
  case 3:
    if (memcmp(p, "GET", 3) == 0) return HTTP_GET;
    if (memcmp(p, "PUT", 3) == 0) return HTTP_PUT;
    break;
  case 4:
    if (memcmp(p, "POST", 4) == 0) return HTTP_POST;
    if (memcmp(p, "HEAD", 4) == 0) return HTTP_HEAD;
    break;
  case 5:
    if (memcmp(p, "PATCH", 5) == 0) return HTTP_PATCH;
    break;
  case 6:
    if (memcmp(p, "DELETE", 6) == 0) return HTTP_DELETE;
    break;
  case 7:
    if (memcmp(p, "OPTIONS", 7) == 0) return HTTP_OPTIONS;
    break;
  }
  return HTTP_OTHER;
}

/* ---- request head ------------------------------------------------------------ */

static int head_fail(http_request *req, int status, const char *reason) {
  req->error_status = status;
  req->error_reason = reason;
  if (status == 400) return HR_EINVAL;
  if (status == 431 || status == 414) return HR_ERANGE;
  return HR_EUNSUPPORTED;
}

static int head_status_code(int status) {
  return status == 400 ? HR_EINVAL : status == 431 || status == 414 ? HR_ERANGE : HR_EUNSUPPORTED;
}

/* Clears everything but the caller's headers array. */
static void head_reset(http_request *req) {
  http_header *h = req->headers;
  size_t cap = req->headers_cap;
  memset(req, 0, sizeof *req);
  req->headers = h;
  req->headers_cap = cap;
  req->content_length = -1;
}

void http_request_init(http_request *req, http_header *headers, size_t cap) {
  req->headers = headers;
  req->headers_cap = headers ? cap : 0;
  head_reset(req);
}

/* Splits the request-target into path and query (RFC 9112 3.2). */
static int parse_target(http_request *req, const char *t, size_t n) {
  const char *end = t + n, *path, *q;
  if (t[0] == '/') {
    path = t;
  } else if (n == 1 && t[0] == '*') {
    if (req->method != HTTP_OPTIONS) return head_fail(req, 400, "'*' target only with OPTIONS");
    req->path = hr_str_make(t, 1);
    return 0;
  } else {
    /* absolute-form: http(s)://authority[/path][?query] */
    size_t skip = 0;
    if (n > 7 && lc_eq(t, "http://", 7)) skip = 7;
    else if (n > 8 && lc_eq(t, "https://", 8)) skip = 8;
    if (!skip) return head_fail(req, 400, "invalid request target");
    const char *a = t + skip;
    const char *s = a;
    while (s < end && *s != '/' && *s != '?') s++;
    if (s == a) return head_fail(req, 400, "absolute target without authority");
    if (s == end || *s == '?') {
      req->path = HR_STR("/");
      if (s < end) req->query = hr_str_make(s + 1, (size_t)(end - s - 1));
      return 0;
    }
    path = s;
  }
  q = memchr(path, '?', (size_t)(end - path));
  if (q) {
    req->path = hr_str_make(path, (size_t)(q - path));
    req->query = hr_str_make(q + 1, (size_t)(end - q - 1));
  } else {
    req->path = hr_str_make(path, (size_t)(end - path));
  }
  return 0;
}

/* method SP request-target SP HTTP-version, p[0..n) without the CRLF. */
static int parse_request_line(http_request *req, const char *p, size_t n, const char *rend) {
  size_t i = 0;
  while (i < n && k_tchar[(unsigned char)p[i]]) i++;
  if (i == 0) return head_fail(req, 400, "invalid method");
  if (i == n || p[i] != ' ') return head_fail(req, 400, "invalid character in method");
  req->method_token = hr_str_make(p, i);
  req->method = http_method_from_token(req->method_token);

  const char *t = p + i + 1, *end = p + n;
  /* The version is the last 8 bytes in practice, so look from the end (and
   * not with memrchr, a GNU extension). */
  const char *sp = end;
  while (sp > t && sp[-1] != ' ') sp--;
  if (sp == t) return head_fail(req, 400, "missing HTTP version");
  sp--;
  size_t tn = (size_t)(sp - t);
  if (tn == 0) return head_fail(req, 400, "empty request target");
  if (!all_vchar(t, tn, rend)) return head_fail(req, 400, "invalid character in request target");
  req->target = hr_str_make(t, tn);

  const char *v = sp + 1;
  size_t vn = (size_t)(end - v);
  if (vn == 8 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
      v[7] >= '0' && v[7] <= '9') {
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
      return head_fail(req, 505, "HTTP version not supported");
    req->version = v[7] == '1' ? 11 : 10;
  } else {
    /* "HTTP/2", "HTTP/10.0": well-formed enough to be a version we lack. */
    bool vlike = vn > 5 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9';
    for (size_t k = 5; vlike && k < vn; k++)
      if (!((v[k] >= '0' && v[k] <= '9') || v[k] == '.')) vlike = false;
    if (vlike) return head_fail(req, 505, "HTTP version not supported");
    return head_fail(req, 400, "malformed HTTP version");
  }
  return parse_target(req, t, tn);
}

/* field-name ":" OWS field-value OWS, p[0..n) without the CRLF, n > 0. */
static int parse_header_line(http_request *req, const char *p, size_t n, const char *rend) {
  if (is_ows(p[0])) return head_fail(req, 400, "obsolete line folding");
  size_t i = (size_t)(skip_tchars(p, p + n) - p);
  if (i == n || p[i] != ':') {
    if (!memchr(p + i, ':', n - i)) return head_fail(req, 400, "header line without colon");
    if (is_ows(p[i])) return head_fail(req, 400, "whitespace between header name and colon");
    return head_fail(req, 400, "invalid character in header name");
  }
  if (i == 0) return head_fail(req, 400, "empty header name");

  size_t v = i + 1;
  while (v < n && is_ows(p[v])) v++;
  size_t k = v;
  for (;;) {
    k += scan_ctl(p + k, n - k, rend);
    if (k == n) break;
    if (p[k] != '\t') return head_fail(req, 400, "control character in header value");
    k++;
  }
  size_t e = n;
  while (e > v && is_ows(p[e - 1])) e--;
  http_header *h = &req->headers[req->n_headers++];
  h->name = hr_str_make(p, i);
  h->value = hr_str_make(p + v, e - v);
  return 0;
}

enum { HEAD_DONE = 1 };

/* A request line must start with a method token and SP. Looking at the
 * first bytes of the line as they arrive turns a peer that does not speak
 * HTTP/1 (a TLS ClientHello, binary junk) away at once instead of after the
 * read timeout. It is a function of the line's prefix only, and is checked
 * before any limit, so one-shot and trickled parses still agree. */
static bool method_prefix_bad(const char *p, size_t avail) {
  size_t n = HR_MIN(avail, 16);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (k_tchar[c]) continue;
    if (c == ' ') return i == 0;
    if (c == '\r' && i == 0) return n > 1 && p[1] != '\n'; /* leading CRLF */
    return true;
  }
  return false;
}

enum { FAST_NO = 0, FAST_FIELD, FAST_END };

/* The common case in one pass: a complete, valid field line (or the empty
 * line ending the head) at pos, within the limits. Anything else - an
 * unfinished line, a bad byte, a limit - returns FAST_NO and the careful
 * path in head_lines decides, so the outcome is the same either way. */
static inline int header_fast(http_request *req, const char *buf, size_t pos, size_t len,
                              size_t max_head, size_t max_headers, size_t *next) {
  const char *p = buf + pos, *end = buf + len;
  if (p < end && *p == '\r') {
    if (end - p < 2 || p[1] != '\n' || pos + 2 > max_head) return FAST_NO;
    *next = pos + 2;
    return FAST_END;
  }
  const char *q = skip_tchars(p, end);
  if (q == p || q == end || *q != ':') return FAST_NO;
  const char *v = q + 1;
  while (v < end && is_ows(*v)) v++;
  const char *k = v;
  for (;;) {
    k += scan_ctl(k, (size_t)(end - k), end);
    if (k == end) return FAST_NO;
    if (*k == '\t') {
      k++;
      continue;
    }
    if (*k == '\r' && end - k >= 2 && k[1] == '\n') break;
    return FAST_NO;
  }
  size_t after = (size_t)(k + 2 - buf);
  if (after > max_head || req->n_headers >= max_headers) return FAST_NO;
  const char *e = k;
  while (e > v && is_ows(e[-1])) e--;
  http_header *h = &req->headers[req->n_headers++];
  h->name = hr_str_make(p, (size_t)(q - p));
  h->value = hr_str_make(v, (size_t)(e - v));
  *next = after;
  return FAST_FIELD;
}

/* Reads the complete lines from st->pos on. HEAD_DONE with the head's
 * length in *head_len, HR_EAGAIN, or an error. */
static int head_lines(const char *buf, size_t len, const http_limits *lim, http_request *req,
                      size_t *head_len) {
  http_head_state *st = &req->st;
  const char *rend = buf + len;
  size_t max_headers = HR_MIN(lim->max_headers, req->headers_cap);
  for (;;) {
    size_t pos = st->pos;
    /* lf_from > pos: this line was unfinished last call; the fast path
     * would scan its start again, so go straight to the memchr. */
    if (st->have_rl && st->lf_from <= pos) {
      size_t next;
      int f = header_fast(req, buf, pos, len, lim->max_head_bytes, max_headers, &next);
      if (f != FAST_NO) {
        st->pos = st->lf_from = next;
        if (f == FAST_END) {
          *head_len = next;
          return HEAD_DONE;
        }
        st->n_lines++;
        continue;
      }
    }
    size_t from = HR_MAX(st->lf_from, pos);
    const char *lf = from < len ? memchr(buf + from, '\n', len - from) : NULL;
    if (!st->have_rl && method_prefix_bad(buf + pos, len - pos))
      return head_fail(req, 400, "invalid method");
    if (!lf) {
      /* Unfinished line: fail only when it can no longer fit. */
      st->lf_from = len;
      if (!st->have_rl && len - pos >= lim->max_request_line)
        return head_fail(req, 414, "request line too long");
      if (len >= lim->max_head_bytes) return head_fail(req, 431, "request head too large");
      return HR_EAGAIN;
    }
    size_t e = (size_t)(lf - buf);
    if (!st->have_rl && e + 1 - pos > lim->max_request_line)
      return head_fail(req, 414, "request line too long");
    if (e + 1 > lim->max_head_bytes) return head_fail(req, 431, "request head too large");
    if (e == pos || buf[e - 1] != '\r') return head_fail(req, 400, "bare LF");
    size_t n = e - 1 - pos;
    int rc;
    if (!st->have_rl) {
      if (n == 0) {
        if (++st->n_leading > HTTP_MAX_LEADING_CRLF)
          return head_fail(req, 400, "too many empty lines before the request line");
      } else {
        if ((rc = parse_request_line(req, buf + pos, n, rend)) < 0) return rc;
        st->have_rl = true;
      }
    } else {
      if (n == 0) {
        st->pos = e + 1;
        st->lf_from = e + 1;
        *head_len = e + 1;
        return HEAD_DONE;
      }
      if (req->n_headers >= max_headers) return head_fail(req, 431, "too many header fields");
      if ((rc = parse_header_line(req, buf + pos, n, rend)) < 0) return rc;
    }
    st->n_lines++;
    st->pos = e + 1;
    st->lf_from = e + 1;
  }
}

static int parse_content_length(http_request *req, hr_str value) {
  hr_str rest = value, el;
  bool any = false;
  while (list_next(&rest, &el)) {
    if (el.len == 0) return head_fail(req, 400, "empty Content-Length");
    int64_t v = 0;
    for (size_t i = 0; i < el.len; i++) {
      unsigned d = (unsigned char)el.ptr[i] - '0';
      if (d > 9) return head_fail(req, 400, "invalid Content-Length");
      if (v > (INT64_MAX - (int64_t)d) / 10) return head_fail(req, 400, "Content-Length too large");
      v = v * 10 + (int64_t)d;
    }
    if (req->content_length >= 0 && req->content_length != v)
      return head_fail(req, 400, "conflicting Content-Length values");
    req->content_length = v;
    any = true;
  }
  if (!any) return head_fail(req, 400, "empty Content-Length");
  return 0;
}

/* The meaning of the fields: framing, connection, expectations, shortcuts.
 * Runs once per head, after the last line. */
static int head_derive(http_request *req) {
  int n_host = 0, n_te = 0;
  bool conn_close = false, conn_keep = false, conn_upgrade = false, ws = false;
  bool te_chunked_last = false, te_unknown = false;
  int te_chunked = 0;
  bool expect_other = false, expect_100 = false;
  int rc;

  for (size_t i = 0; i < req->n_headers; i++) {
    const http_header *h = &req->headers[i];
    const char *nm = h->name.ptr;
    hr_str rest = h->value, el;
    switch (h->name.len) {
    case 4:
      if (lc_eq(nm, "host", 4)) {
        if (n_host++ == 0) req->host = h->value;
      }
      break;
    case 6:
      if (lc_eq(nm, "expect", 6)) {
        if (h->value.len == 0) expect_other = true;
        while (list_next(&rest, &el)) {
          if (str_ieq_lit(el, "100-continue")) expect_100 = true;
          else if (el.len) expect_other = true;
        }
      }
      break;
    case 7:
      if (lc_eq(nm, "upgrade", 7)) {
        if (!req->upgrade.ptr) req->upgrade = h->value;
        while (list_next(&rest, &el))
          if (str_ieq_lit(el, "websocket")) ws = true;
      }
      break;
    case 10:
      if (lc_eq(nm, "connection", 10)) {
        while (list_next(&rest, &el)) {
          if (str_ieq_lit(el, "close")) conn_close = true;
          else if (str_ieq_lit(el, "keep-alive")) conn_keep = true;
          else if (str_ieq_lit(el, "upgrade")) conn_upgrade = true;
        }
      }
      break;
    case 12:
      if (lc_eq(nm, "content-type", 12)) {
        if (!req->content_type.ptr) req->content_type = h->value;
      } else if (lc_eq(nm, "x-request-id", 12)) {
        if (!req->x_request_id.ptr) req->x_request_id = h->value;
      }
      break;
    case 13:
      if (lc_eq(nm, "authorization", 13)) {
        if (!req->authorization.ptr) req->authorization = h->value;
      }
      break;
    case 14:
      if (lc_eq(nm, "content-length", 14)) {
        if ((rc = parse_content_length(req, h->value)) < 0) return rc;
      }
      break;
    case 17:
      if (lc_eq(nm, "transfer-encoding", 17)) {
        n_te++;
        while (list_next(&rest, &el)) {
          if (el.len == 0) continue; /* empty list elements are allowed */
          if (str_ieq_lit(el, "chunked")) {
            te_chunked++;
            te_chunked_last = true;
          } else {
            te_unknown = true;
            te_chunked_last = false;
          }
        }
      }
      break;
    }
  }

  if (req->version == 11 ? n_host != 1 : n_host > 1)
    return head_fail(req, 400, n_host ? "more than one Host" : "HTTP/1.1 request without Host");
  for (size_t i = 0; i < req->host.len; i++)
    if (!k_hostchar[(unsigned char)req->host.ptr[i]]) return head_fail(req, 400, "invalid Host");

  if (n_te) {
    if (req->version == 10) return head_fail(req, 400, "Transfer-Encoding on HTTP/1.0");
    if (req->content_length >= 0)
      return head_fail(req, 400, "Content-Length and Transfer-Encoding together");
    if (te_chunked == 0 && !te_unknown) return head_fail(req, 400, "empty Transfer-Encoding");
    if (!te_chunked_last || te_chunked != 1)
      return head_fail(req, 400, "chunked must be the last transfer coding, once");
    if (te_unknown) return head_fail(req, 501, "unsupported transfer coding");
    req->chunked = true;
  }

  if (expect_other) return head_fail(req, 417, "unsupported expectation");
  req->expect_continue = expect_100 && req->version == 11;
  req->keep_alive = req->version == 11 ? !conn_close : (conn_keep && !conn_close);
  req->upgrade_websocket = ws && conn_upgrade;
  return 0;
}

int http_parse_head(const char *buf, size_t len, const http_limits *lim, http_request *req) {
  http_limits dflt = HTTP_LIMITS_DEFAULT;
  if (!lim) lim = &dflt;
  if (req->error_status) return head_status_code(req->error_status);
  http_head_state *st = &req->st;
  if (st->done && st->base == buf) return (int)st->pos;
  if (st->base != buf && (st->pos || st->lf_from)) {
    /* The buffer moved: the slices stored so far point into the old one.
     * Read it again from the start (a caller growing its buffer
     * geometrically keeps the total linear). */
    head_reset(req);
  }
  st->base = buf;

  size_t head_len = 0;
  int rc = head_lines(buf, len, lim, req, &head_len);
  if (rc != HEAD_DONE) return rc;
  if ((rc = head_derive(req)) < 0) return rc;
  st->done = true;
  if (head_len > INT32_MAX) return head_fail(req, 431, "request head too large");
  return (int)head_len;
}

const http_header *http_request_header(const http_request *req, hr_str name) {
  for (size_t i = 0; i < req->n_headers; i++)
    if (hr_str_ieq(req->headers[i].name, name)) return &req->headers[i];
  return NULL;
}

/* ---- chunked bodies ------------------------------------------------------------ */

enum {
  C_SIZE0,    /* first hex digit of a chunk size */
  C_SIZE,     /* more digits, ';', BWS or CR */
  C_SIZE_BWS, /* whitespace after the size: only ';' may follow */
  C_EXT,      /* chunk extensions, up to CR */
  C_SIZE_LF,
  C_DATA,
  C_DATA_CR,
  C_DATA_LF,
  C_TR_START, /* start of a trailer line, or the final CR */
  C_TR_NAME,
  C_TR_VALUE,
  C_TR_LF,
  C_END_LF,
  C_DONE,
  C_ERROR,
};

void http_chunked_init(http_chunked *st, uint64_t body_max) {
  memset(st, 0, sizeof *st);
  st->body_max = body_max;
  st->state = C_SIZE0;
}

static int chunk_fail(http_chunked *st, int status, const char *reason) {
  st->state = C_ERROR;
  st->error_status = status;
  st->error_reason = reason;
  return status == 400 ? HR_EINVAL : HR_ERANGE;
}

static inline int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int http_chunked_decode(http_chunked *st, char *buf, size_t len, size_t *consumed,
                        size_t *out_len) {
  size_t i = 0, o = 0;
  int rc = HR_EAGAIN;
  *consumed = 0;
  *out_len = 0;
  if (st->state == C_DONE) return HR_OK;
  if (st->state == C_ERROR) return st->error_status == 400 ? HR_EINVAL : HR_ERANGE;

  while (i < len) {
    if (st->state == C_DATA) {
      size_t n = (size_t)HR_MIN(st->remaining, (uint64_t)(len - i));
      if (o != i) memmove(buf + o, buf + i, n);
      o += n;
      i += n;
      st->remaining -= n;
      st->body_len += n;
      if (st->remaining == 0) st->state = C_DATA_CR;
      continue;
    }
    unsigned char c = (unsigned char)buf[i++];
    if (st->state >= C_TR_START && st->state <= C_END_LF &&
        ++st->trailer_total > HTTP_CHUNK_TRAILER_MAX) {
      rc = chunk_fail(st, 431, "trailer section too large");
      goto out;
    }
    switch (st->state) {
    case C_SIZE0: {
      int d = hexval(c);
      if (d < 0) {
        rc = chunk_fail(st, 400, "invalid chunk size");
        goto out;
      }
      st->remaining = (uint64_t)d;
      st->n_digits = 1;
      st->state = C_SIZE;
      break;
    }
    case C_SIZE: {
      int d = hexval(c);
      if (d >= 0) {
        if (++st->n_digits > HTTP_CHUNK_SIZE_DIGITS_MAX) {
          rc = chunk_fail(st, 400, "chunk size too long");
          goto out;
        }
        st->remaining = (st->remaining << 4) | (uint64_t)d;
      } else if (c == '\r') {
        st->state = C_SIZE_LF;
      } else if (c == ';' || c == ' ' || c == '\t') {
        /* extension bytes are counted from here, ';' and BWS included */
        st->line_bytes = 1;
        st->state = c == ';' ? C_EXT : C_SIZE_BWS;
      } else {
        rc = chunk_fail(st, 400, "invalid chunk size");
        goto out;
      }
      break;
    }
    case C_SIZE_BWS:
    case C_EXT:
      if (st->state == C_SIZE_BWS && c == ';') {
        st->state = C_EXT;
      } else if (st->state == C_SIZE_BWS && c != ' ' && c != '\t') {
        rc = chunk_fail(st, 400, "invalid chunk size");
        goto out;
      } else if (st->state == C_EXT && c == '\r') {
        st->state = C_SIZE_LF;
        break;
      } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
        rc = chunk_fail(st, 400, "control character in chunk extension");
        goto out;
      }
      if (++st->line_bytes > HTTP_CHUNK_EXT_MAX || ++st->ext_total > HTTP_CHUNK_EXT_TOTAL_MAX) {
        rc = chunk_fail(st, 400, "chunk extensions too long");
        goto out;
      }
      break;
    case C_SIZE_LF:
      if (c != '\n') {
        rc = chunk_fail(st, 400, "chunk size line not ended by CRLF");
        goto out;
      }
      if (st->remaining > st->body_max - st->body_len) {
        rc = chunk_fail(st, 413, "request body too large");
        goto out;
      }
      st->state = st->remaining ? C_DATA : C_TR_START;
      break;
    case C_DATA_CR:
      if (c != '\r') {
        rc = chunk_fail(st, 400, "chunk data not followed by CRLF");
        goto out;
      }
      st->state = C_DATA_LF;
      break;
    case C_DATA_LF:
      if (c != '\n') {
        rc = chunk_fail(st, 400, "chunk data not followed by CRLF");
        goto out;
      }
      st->state = C_SIZE0;
      break;
    case C_TR_START:
      if (c == '\r') {
        st->state = C_END_LF;
      } else if (k_tchar[c]) {
        st->state = C_TR_NAME;
      } else {
        rc = chunk_fail(st, 400, "invalid trailer field");
        goto out;
      }
      break;
    case C_TR_NAME:
      if (c == ':') {
        st->state = C_TR_VALUE;
      } else if (!k_tchar[c]) {
        rc = chunk_fail(st, 400, "invalid trailer field");
        goto out;
      }
      break;
    case C_TR_VALUE:
      if (c == '\r') {
        st->state = C_TR_LF;
      } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
        rc = chunk_fail(st, 400, "control character in trailer field");
        goto out;
      }
      break;
    case C_TR_LF:
      if (c != '\n') {
        rc = chunk_fail(st, 400, "trailer line not ended by CRLF");
        goto out;
      }
      st->state = C_TR_START;
      break;
    case C_END_LF:
      if (c != '\n') {
        rc = chunk_fail(st, 400, "chunked body not ended by CRLF");
        goto out;
      }
      st->state = C_DONE;
      rc = HR_OK;
      goto out;
    }
  }
out:
  *consumed = i;
  *out_len = o;
  return rc;
}
