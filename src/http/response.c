/* response.c — writing answers: status line, headers, bodies, OpenAI-shaped
 * errors, chunked and SSE streams. Everything is appended to the
 * connection's output buffer; conn_flush sends it. A request whose client
 * went away (r->c == NULL) accepts every call and sends nothing. */
#include "server_internal.h"

#include "../json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  }
  return "Unknown";
}

void req_reset(http_req *r) {
  if (r->arena) hr_arena_reset(r->arena);
  r->body = HR_STR("");
  r->route = NULL;
  r->id[0] = 0;
  r->status = 0;
  r->bytes_out = 0;
  r->n_res_headers = 0;
  r->responded = r->streaming = r->finished = false;
  r->owned_by_handler = r->aborted = r->close_after = false;
  r->on_abort = NULL;
  r->on_abort_arg = NULL;
  r->start_ns = 0;
}

void loop_date_refresh(io_loop *l) {
  time_t now = (time_t)(hr_wall_ms() / 1000);
  if ((uint64_t)now == l->date_sec) return;
  l->date_sec = (uint64_t)now;
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(l->date, sizeof l->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
}

static bool id_char_ok(char ch) { return ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\'; }

/* The client's x-request-id when it is short and plain, else a new one. */
static void ensure_id(http_req *r) {
  if (r->id[0]) return;
  hr_str given = r->head.x_request_id;
  bool ok = given.len > 0 && given.len < sizeof r->id;
  for (size_t i = 0; ok && i < given.len; i++) ok = id_char_ok(given.ptr[i]);
  if (ok) {
    memcpy(r->id, given.ptr, given.len);
    r->id[given.len] = 0;
    return;
  }
  static const char hex[] = "0123456789abcdef";
  uint64_t n = ++r->loop->next_id;
  char *p = r->id;
  memcpy(p, "req_", 4);
  p += 4;
  uint32_t pfx = (uint32_t)(r->loop->srv->start_ms & 0xffffff) ^ ((uint32_t)r->loop->index << 24);
  for (int i = 7; i >= 0; i--) *p++ = hex[(pfx >> (i * 4)) & 15];
  for (int i = 11; i >= 0; i--) *p++ = hex[(n >> (i * 4)) & 15];
  *p = 0;
}

const char *http_req_id(const http_req *r) {
  ensure_id((http_req *)r);
  return r->id;
}

void http_res_header(http_req *r, const char *name, const char *value) {
  if (r->responded || r->n_res_headers >= HTTP_RES_HEADERS_MAX) return;
  hr_arena *a = http_req_arena(r);
  r->res_headers[r->n_res_headers][0] = hr_arena_strndup(a, name, strlen(name));
  r->res_headers[r->n_res_headers][1] = hr_arena_strndup(a, value, strlen(value));
  r->n_res_headers++;
}

/* Decimal digits without printf: this runs for every response. */
static void append_uint(hr_buf *o, unsigned long long v) {
  char tmp[24];
  int n = 0;
  do tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  hr_buf_append(o, tmp + sizeof tmp - n, (size_t)n);
}

/* HTTP/1.0 has no chunked coding (RFC 9112 6.1: not sent to a 1.0
 * client): a stream's body goes unframed and ends when the connection
 * closes. */
static bool stream_chunked(const http_req *r) { return r->head.version != 10; }

static void put_head(http_req *r, int status, const char *content_type, long long length) {
  conn *c = r->c;
  hr_buf *o = &c->out;
  loop_date_refresh(r->loop);
  ensure_id(r);
  bool unframed = length < 0 && !stream_chunked(r);
  bool close = unframed || r->close_after || !c->keep_alive || r->loop->stopping;
  if (close) c->keep_alive = false;
  hr_buf_reserve(o, 256);
  hr_buf_append(o, r->head.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ", 9);
  append_uint(o, (unsigned)status);
  hr_buf_putc(o, ' ');
  hr_buf_append_str(o, reason(status));
  hr_buf_append(o, "\r\n", 2);
  hr_buf_append_str(o, r->loop->date);
  if (content_type) {
    hr_buf_append_str(o, "Content-Type: ");
    hr_buf_append_str(o, content_type);
    hr_buf_append_str(o, "\r\n");
  }
  if (length >= 0) {
    hr_buf_append(o, "Content-Length: ", 16);
    append_uint(o, (unsigned long long)length);
    hr_buf_append(o, "\r\n", 2);
  }
  else if (!unframed) hr_buf_append_str(o, "Transfer-Encoding: chunked\r\n");
  hr_buf_append_str(o, "x-request-id: ");
  hr_buf_append_str(o, r->id);
  hr_buf_append_str(o, "\r\n");
  if (close) hr_buf_append_str(o, "Connection: close\r\n");
  else if (r->head.version == 10) hr_buf_append_str(o, "Connection: keep-alive\r\n");
  for (size_t i = 0; i < r->n_res_headers; i++) {
    hr_buf_append_str(o, r->res_headers[i][0]);
    hr_buf_append_str(o, ": ");
    hr_buf_append_str(o, r->res_headers[i][1]);
    hr_buf_append_str(o, "\r\n");
  }
  hr_buf_append_str(o, "\r\n");
}

static void finish(http_req *r) {
  r->finished = true;
  conn *c = r->c;
  conn_request_finished(r);
  if (c && !c->processing) conn_flush(c);
}

/* An answer made off the loops, on its way to the request's loop. */
typedef struct {
  int status;
  size_t len;
  char *content_type; /* in data, after the body */
  char data[];
} posted_answer;

static void deliver_answer(http_req *r, void *arg) {
  posted_answer *a = arg;
  http_respond(r, a->status, a->content_type, a->data, a->len);
  free(a);
}

static void deliver_out_of_memory(http_req *r, void *arg) {
  HR_UNUSED(arg);
  http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
}

static void post_answer(http_req *r, int status, const char *content_type, const char *body,
                        size_t len) {
  size_t ct = content_type ? strlen(content_type) + 1 : 0;
  posted_answer *a = malloc(sizeof *a + len + ct);
  if (!a) {
    http_req_post(r, deliver_out_of_memory, NULL);
    return;
  }
  a->status = status;
  a->len = len;
  memcpy(a->data, body, len);
  a->content_type = content_type ? memcpy(a->data + len, content_type, ct) : NULL;
  if (http_req_post(r, deliver_answer, a)) free(a); /* the server stopped; r is gone */
}

void http_respond(http_req *r, int status, const char *content_type, const char *body,
                  size_t len) {
  if (!http_on_io_thread()) {
    post_answer(r, status, content_type, body, len);
    return;
  }
  if (r->finished || r->responded) return;
  r->responded = true;
  r->status = status;
  if (r->c) {
    size_t before = r->c->out.len;
    put_head(r, status, content_type, (long long)len);
    if (r->head.method != HTTP_HEAD) hr_buf_append(&r->c->out, body, len);
    r->bytes_out = r->c->out.len - before;
  }
  finish(r);
}

void http_respond_json(http_req *r, int status, const hr_buf *json) {
  http_respond(r, status, "application/json", json->data ? json->data : "", json->len);
}

void http_respond_error(http_req *r, int status, const char *type, const char *code,
                        const char *param, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_obj_begin(&w);
  json_w_key(&w, "error");
  json_w_obj_begin(&w);
  json_w_key(&w, "message");
  json_w_str(&w, msg);
  json_w_key(&w, "type");
  json_w_str(&w, type);
  json_w_key(&w, "param");
  if (param) json_w_str(&w, param);
  else json_w_null(&w);
  json_w_key(&w, "code");
  if (code) json_w_str(&w, code);
  else json_w_null(&w);
  json_w_obj_end(&w);
  json_w_obj_end(&w);
  json_w_finish(&w);
  http_respond_json(r, status, &b);
  hr_buf_free(&b);
}

void http_stream_begin(http_req *r, int status, const char *content_type) {
  if (r->finished || r->responded) return;
  r->responded = r->streaming = true;
  r->status = status;
  if (!r->c) return;
  if (content_type && !strncmp(content_type, "text/event-stream", 17))
    http_res_header(r, "Cache-Control", "no-cache");
  size_t before = r->c->out.len;
  put_head(r, status, content_type, -1);
  r->bytes_out += r->c->out.len - before;
  if (!r->c->processing) conn_flush(r->c);
}

int http_stream_write(http_req *r, const char *data, size_t len) {
  if (!r->c || r->aborted) return HR_ECLOSED;
  if (!r->streaming || r->finished) return HR_EINVAL;
  if (len == 0 || r->head.method == HTTP_HEAD) return HR_OK;
  hr_buf *o = &r->c->out;
  size_t before = o->len;
  if (!stream_chunked(r)) {
    hr_buf_append(o, data, len);
  } else {
    hr_buf_appendf(o, "%zx\r\n", len);
    hr_buf_append(o, data, len);
    hr_buf_append(o, "\r\n", 2);
  }
  r->bytes_out += o->len - before;
  if (!r->c->processing) conn_flush(r->c);
  return HR_OK;
}

void http_stream_end(http_req *r) {
  if (r->finished) return;
  if (r->c && r->streaming && r->head.method != HTTP_HEAD && stream_chunked(r)) {
    hr_buf_append(&r->c->out, "0\r\n\r\n", 5);
    r->bytes_out += 5;
  }
  finish(r);
}

void http_req_release(http_req *r) {
  if (r->finished) return;
  if (r->c) {
    /* Released without an answer while the client is still there: that is
     * a handler bug; answer rather than hang the connection. */
    http_respond_error(r, 500, "server_error", NULL, NULL, "the handler gave no response");
    return;
  }
  finish(r);
}

bool http_req_gone(const http_req *r) { return !r->c || r->aborted; }

/* ---- accessors ---------------------------------------------------------- */

http_method http_req_method(const http_req *r) { return r->head.method; }
hr_str http_req_path(const http_req *r) { return r->head.path; }
hr_str http_req_query(const http_req *r) { return r->head.query; }
hr_str http_req_body(const http_req *r) { return r->body; }
http_server *http_req_server(http_req *r) { return r->loop->srv; }

hr_str http_req_header(const http_req *r, const char *name) {
  const http_header *h = http_request_header(&r->head, hr_str_cstr(name));
  return h ? h->value : (hr_str){NULL, 0};
}

hr_str http_req_param(const http_req *r, const char *name) {
  for (size_t i = 0; i < r->match.n_params; i++) {
    if (!hr_str_eq_cstr(r->match.params[i].name, name)) continue;
    hr_str raw = r->match.params[i].value;
    char *out = hr_arena_alloc(http_req_arena((http_req *)r), raw.len + 1);
    size_t n;
    if (!out || http_pct_decode(raw, out, raw.len + 1, &n)) return (hr_str){NULL, 0};
    out[n] = 0;
    return hr_str_make(out, n);
  }
  return (hr_str){NULL, 0};
}

void http_req_keep_body(http_req *r) {
  ensure_id(r); /* reads the headers and the loop's counter: here, not later */
}

hr_arena *http_req_arena(http_req *r) {
  if (!r->arena) r->arena = hr_arena_new(8192);
  return r->arena;
}

void http_req_on_abort(http_req *r, void (*fn)(http_req *r, void *arg), void *arg) {
  r->on_abort = fn;
  r->on_abort_arg = arg;
}

int http_req_post(http_req *r, void (*fn)(http_req *r, void *arg), void *arg) {
  io_loop *l = r->loop;
  posted_task *t = malloc(sizeof *t);
  if (!t) return HR_ENOMEM;
  t->next = NULL;
  t->req = r;
  t->fn = fn;
  t->arg = arg;
  pthread_mutex_lock(&l->post_lock);
  if (l->post_closed) {
    pthread_mutex_unlock(&l->post_lock);
    free(t);
    /* The loop closed only after its last connection, which detached every
     * request a handler held (conn_close): nobody can answer this one now,
     * and nobody else will free it. */
    req_free_detached(r);
    return HR_ECLOSED;
  }
  if (l->post_tail) l->post_tail->next = t;
  else l->post_head = t;
  l->post_tail = t;
  pthread_mutex_unlock(&l->post_lock);
  loop_wake(l);
  return HR_OK;
}
