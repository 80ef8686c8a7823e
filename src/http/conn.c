/* conn.c — one client connection on one I/O loop: read bytes, parse a
 * request head, collect its body, dispatch it to its route, and send what
 * the handler answered; then the next (pipelined) request.
 *
 * Buffer invariant: c->in holds the current request from its first byte
 * (in[0]) followed by whatever the client sent after it. Parsed slices point
 * into c->in, so c->in is only moved or regrown while no handler holds the
 * request (CONN_HEAD/CONN_BODY); if it was regrown after the head was parsed,
 * the head is parsed again before dispatch so its slices are fresh.
 *
 * One request at a time per connection: a pipelined request waits in c->in
 * until the one before it has its whole response queued, so responses go out
 * in order (RFC 9112 9.3.2). Output is appended to c->out and sent when the
 * read batch is processed, so pipelined responses share a write. */
#include "server_internal.h"

#include <stdlib.h>
#include <string.h>

enum { DL_NONE, DL_HEADER, DL_BODY, DL_IDLE, DL_LINGER };

#define LINGER_MS 2000

#define IN_MIN_FREE 4096
#define OUT_MAX_PENDING (8u << 20) /* a client this far behind is dropped */

static void process(conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* From the loop's time of this iteration, not l->now_ms, which the sweep
 * sets and which is up to half a second old: a deadline that short of its
 * length could expire before a new connection's first bytes were read. */
static void set_deadline(conn *c, int kind, uint32_t ms) {
  c->deadline_kind = kind;
  c->deadline_ms = kind == DL_NONE ? 0 : uv_now(&c->loop->uv) + ms;
}

static http_req *req_new(conn *c) {
  http_req *r = c->spare;
  if (r) {
    c->spare = NULL;
  } else {
    r = calloc(1, sizeof *r);
    if (!r) return NULL;
  }
  r->c = c;
  r->loop = c->loop;
  req_reset(r);
  http_request_init(&r->head, r->headers, HTTP_HEADERS_MAX);
  return r;
}

static void req_free(http_req *r) {
  hr_arena_free(r->arena);
  free(r);
}

void req_free_detached(http_req *r) {
  free(r->kept_in);
  req_free(r);
}

static void on_close(uv_handle_t *h) {
  conn *c = h->data;
  if (c->req) req_free(c->req);
  if (c->spare) req_free(c->spare);
  free(c->in);
  hr_buf_free(&c->out);
  hr_buf_free(&c->wbuf);
  free(c);
}

void conn_close(conn *c) {
  if (uv_is_closing((uv_handle_t *)&c->tcp)) return;
  io_loop *l = c->loop;
  http_req *r = c->req;
  if (r && r->owned_by_handler && !r->finished) {
    /* The handler still holds the request: detach it; the handler's final
     * call (respond, stream end or release) frees it. */
    r->c = NULL;
    r->aborted = true;
    c->req = NULL;
    /* The head (method, path, headers, which the access log reads when
     * the request ends) and the body are slices of the input buffer: it
     * goes along. */
    r->kept_in = c->in;
    c->in = NULL;
    c->in_len = c->in_cap = 0;
    if (r->on_abort) r->on_abort(r, r->on_abort_arg);
  }
  c->state = CONN_CLOSING;
  if (c->prev) c->prev->next = c->next;
  else l->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  counter_add(&l->metrics.connections_open, (uint64_t)-1);
  atomic_fetch_sub(&l->srv->conns_open, 1);
  uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  HR_UNUSED(status);
  free(req);
}

/* The answer is out: stop sending, and drain what the client still sends
 * for a little while before closing (a close with unread input would reset
 * the connection and could destroy the answer before the client reads it). */
static void linger(conn *c) {
  uv_shutdown_t *req = malloc(sizeof *req);
  if (!req || uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    free(req);
    conn_close(c);
    return;
  }
  c->state = CONN_LINGER;
  set_deadline(c, DL_LINGER, LINGER_MS);
  c->in_len = 0;
  if (!c->reading &&
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
    c->reading = true;
}

static void on_write(uv_write_t *w, int status) {
  conn *c = w->data;
  free(w);
  c->writing = false;
  hr_buf_clear(&c->wbuf);
  if (status < 0) {
    if (status != UV_ECANCELED) conn_close(c);
    return;
  }
  conn_flush(c);
}

void conn_flush(conn *c) {
  if (c->writing || uv_is_closing((uv_handle_t *)&c->tcp)) return;
  if (c->out.len == 0) {
    if (c->state == CONN_CLOSING) linger(c);
    return;
  }
  uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == (int)c->out.len) {
    hr_buf_clear(&c->out);
    if (c->state == CONN_CLOSING) linger(c);
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    conn_close(c);
    return;
  }
  if (n > 0) hr_buf_consume(&c->out, (size_t)n);
  /* Hand the rest to libuv and collect new output in the other buffer. */
  hr_buf tmp = c->wbuf;
  c->wbuf = c->out;
  c->out = tmp;
  uv_write_t *w = malloc(sizeof *w);
  if (!w) {
    conn_close(c);
    return;
  }
  w->data = c;
  b = uv_buf_init(c->wbuf.data, (unsigned)c->wbuf.len);
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
    free(w);
    conn_close(c);
    return;
  }
  c->writing = true;
}

/* Makes room for at least want free bytes at the end of c->in. */
static int in_reserve(conn *c, size_t want) {
  if (c->in_cap - c->in_len >= want) return HR_OK;
  size_t cap = c->in_cap ? c->in_cap : 8192;
  while (cap - c->in_len < want) cap *= 2;
  char *p = realloc(c->in, cap);
  if (!p) return HR_ENOMEM;
  if (p != c->in && c->state == CONN_BODY) c->in_moved = true;
  c->in = p;
  c->in_cap = cap;
  return HR_OK;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn *c = h->data;
  HR_UNUSED(suggested);
  if (c->state == CONN_HANDLING) {
    /* The handler holds slices into c->in: only fill what is free. */
    size_t room = c->in_cap - c->in_len;
    *buf = uv_buf_init(room > 1 ? c->in + c->in_len : NULL, room > 1 ? (unsigned)room - 1 : 0);
    return;
  }
  if (in_reserve(c, IN_MIN_FREE)) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  /* Keep one byte spare so the body can be NUL-terminated in place. */
  *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len - 1));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  HR_UNUSED(buf);
  if (nread == UV_ENOBUFS) {
    /* Full while a handler works: wait for it before reading more. */
    uv_read_stop(s);
    c->reading = false;
    return;
  }
  if (nread < 0) {
    conn_close(c);
    return;
  }
  if (nread == 0) return;
  if (c->state == CONN_LINGER) return; /* discarded: in_len stays 0 */
  c->in_len += (size_t)nread;
  if (c->state == CONN_HANDLING || c->state == CONN_CLOSING) return;
  process(c);
  conn_flush(c);
}

static void start_reading(conn *c) {
  if (c->reading || c->state == CONN_CLOSING) return;
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = true;
}

/* An answer before the request was handed to a route: parse errors, 404,
 * 405, 413, 417. close: the rest of the input cannot be trusted or skipped. */
static void reject(conn *c, int status, const char *type, const char *code,
                   const char *message, bool close) {
  http_req *r = c->req;
  if (close) {
    r->close_after = true;
    c->keep_alive = false;
  }
  r->route = NULL;
  r->responded = false;
  http_respond_error(r, status, type, code, NULL, "%s", message);
}

static const route_entry *route_of(conn *c, int *status) {
  http_req *r = c->req;
  http_server *srv = c->loop->srv;
  *status = http_router_match(srv->router, r->head.method, r->head.method_token, r->head.path,
                              &r->match);
  return *status == 200 ? (const route_entry *)r->match.route->handler : NULL;
}

/* The head is complete: route it, check its body's size, and choose what
 * to read next. Returns false when the request was answered already. */
static bool on_head(conn *c) {
  http_req *r = c->req;
  http_server *srv = c->loop->srv;
  int status;
  c->keep_alive = r->head.keep_alive;
  r->route = route_of(c, &status);
  bool has_body = r->head.chunked || r->head.content_length > 0;
  if (status == 404) {
    char msg[160];
    snprintf(msg, sizeof msg, "Invalid URL (%.*s %.*s)", (int)r->head.method_token.len,
             r->head.method_token.ptr, (int)HR_MIN(r->head.path.len, 100), r->head.path.ptr);
    reject(c, 404, "invalid_request_error", "not_found", msg, has_body);
    return false;
  }
  if (status == 405) {
    http_res_header(r, "Allow", r->match.allow);
    char msg[160];
    snprintf(msg, sizeof msg, "Method %.*s not allowed on %.*s (allowed: %s)",
             (int)r->head.method_token.len, r->head.method_token.ptr,
             (int)HR_MIN(r->head.path.len, 100), r->head.path.ptr, r->match.allow);
    reject(c, 405, "invalid_request_error", "method_not_allowed", msg, has_body);
    return false;
  }
  uint64_t limit = r->match.route->body_max ? r->match.route->body_max : srv->cfg.max_body_bytes;
  c->body_max = limit;
  if (r->head.content_length > 0 && (uint64_t)r->head.content_length > limit) {
    char msg[128];
    snprintf(msg, sizeof msg, "request body of %lld bytes exceeds the limit of %llu bytes",
             (long long)r->head.content_length, (unsigned long long)limit);
    reject(c, 413, "invalid_request_error", "request_too_large", msg, true);
    return false;
  }
  if (r->head.chunked) http_chunked_init(&c->chunked, limit);
  c->body_done = 0;
  c->chunk_in = 0;
  c->in_moved = false;
  c->sent_continue = false;
  return true;
}

/* Where the current request's bytes end (head + body), once complete. */
static size_t request_end(conn *c) { return c->head_len + c->body_done; }

/* Consumes body bytes; true when the body is complete. */
static bool read_body(conn *c) {
  http_req *r = c->req;
  if (!r->head.chunked) {
    size_t want = (size_t)(r->head.content_length > 0 ? r->head.content_length : 0);
    size_t have = c->in_len - c->head_len;
    if (have >= want) {
      c->body_done = want;
      return true;
    }
    in_reserve(c, want - have + 1);
    return false;
  }
  size_t start = c->head_len + c->body_done;
  size_t avail = c->in_len - start;
  size_t consumed = 0, out_len = 0;
  int rc = http_chunked_decode(&c->chunked, c->in + start, avail, &consumed, &out_len);
  /* Close the gap between the decoded data and the undecoded rest. */
  size_t rest = avail - consumed;
  if (consumed != out_len && rest)
    memmove(c->in + start + out_len, c->in + start + consumed, rest);
  c->in_len = start + out_len + rest;
  c->body_done += out_len;
  if (rc == HR_OK) return true;
  if (rc == HR_EAGAIN) return false;
  int status = c->chunked.error_status ? c->chunked.error_status : 400;
  reject(c, status, "invalid_request_error", status == 413 ? "request_too_large" : "bad_request",
         c->chunked.error_reason ? c->chunked.error_reason : "bad chunked body", true);
  c->state = CONN_CLOSING;
  return false;
}

static void dispatch(conn *c) {
  http_req *r = c->req;
  if (c->in_moved) {
    /* c->in moved since the head was parsed: refresh every slice. */
    http_request_init(&r->head, r->headers, HTTP_HEADERS_MAX);
    http_limits lim = {c->loop->srv->cfg.max_head_bytes, c->loop->srv->cfg.max_request_line,
                       c->loop->srv->cfg.max_headers};
    http_parse_head(c->in, c->head_len, &lim, &r->head);
    int status;
    route_of(c, &status);
    c->in_moved = false;
  }
  size_t end = request_end(c);
  r->body = hr_str_make(c->in + c->head_len, c->body_done);
  /* NUL-terminate the body in place; the byte it covers (the next
   * pipelined request's first) is restored when this request ends. */
  c->in[c->in_len] = 0; /* on_alloc keeps a spare byte */
  r->saved_byte = c->in[end];
  c->in[end] = 0;
  c->state = CONN_HANDLING;
  set_deadline(c, DL_NONE, 0);
  r->route->fn(r, r->route->data);
  if (!r->finished) r->owned_by_handler = true;
}

static void process(conn *c) {
  http_server *srv = c->loop->srv;
  http_limits lim = {srv->cfg.max_head_bytes, srv->cfg.max_request_line, srv->cfg.max_headers};
  c->processing = true;
  while (c->state == CONN_HEAD || c->state == CONN_BODY) {
    if (c->state == CONN_HEAD) {
      if (c->in_len == 0) break;
      if (!c->req && !(c->req = req_new(c))) {
        c->state = CONN_CLOSING;
        break;
      }
      if (c->deadline_kind != DL_HEADER) set_deadline(c, DL_HEADER, srv->cfg.header_timeout_ms);
      int rc = http_parse_head(c->in, c->in_len, &lim, &c->req->head);
      if (rc == HR_EAGAIN) break;
      c->req->start_ns = hr_now_ns();
      if (rc < 0) {
        counter_add(&c->loop->metrics.parse_errors, 1);
        http_req *r = c->req;
        r->head.path = HR_STR("");
        int status = r->head.error_status ? r->head.error_status : 400;
        reject(c, status, "invalid_request_error", "bad_request",
               r->head.error_reason ? r->head.error_reason : "malformed request", true);
        c->state = CONN_CLOSING;
        break;
      }
      c->head_len = (size_t)rc;
      if (!on_head(c)) {
        if (c->state != CONN_CLOSING && c->keep_alive) continue; /* answered; next */
        c->state = CONN_CLOSING;
        break;
      }
      c->state = CONN_BODY;
      set_deadline(c, DL_BODY, srv->cfg.body_timeout_ms);
    }
    if (!read_body(c)) {
      if (c->state == CONN_CLOSING) break;
      if (c->req->head.expect_continue && !c->sent_continue && c->in_len == c->head_len) {
        hr_buf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
        c->sent_continue = true;
      }
      break;
    }
    dispatch(c);
  }
  c->processing = false;
}

void conn_request_finished(http_req *r) {
  metrics_observe(r);
  access_log_request(r);
  conn *c = r->c;
  if (!c) {
    /* The client left while a handler held the request. */
    req_free_detached(r);
    return;
  }
  if (c->state == CONN_HANDLING) {
    size_t end = request_end(c);
    c->in[end] = r->saved_byte;
    memmove(c->in, c->in + end, c->in_len - end);
    c->in_len -= end;
    c->head_len = c->body_done = 0;
    c->state = CONN_HEAD;
  } else {
    /* Answered before dispatch (404, 405, 413...): skip the head; the body,
     * if any, made this a closing response. */
    size_t end = c->head_len;
    if (end && end <= c->in_len && c->state != CONN_CLOSING) {
      memmove(c->in, c->in + end, c->in_len - end);
      c->in_len -= end;
      c->head_len = 0;
      c->state = CONN_HEAD;
    }
  }
  c->spare = r;
  c->req = NULL;
  if (!c->keep_alive || r->close_after || c->loop->stopping) {
    c->state = CONN_CLOSING;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  } else {
    set_deadline(c, DL_IDLE, c->loop->srv->cfg.idle_timeout_ms);
  }
  if (!c->processing) {
    /* Finished from a posted task: go on with what is buffered. */
    start_reading(c);
    process(c);
    conn_flush(c);
  }
}

static void on_connection(uv_stream_t *server, int status) {
  io_loop *l = server->data;
  if (status < 0) return;
  conn *c = calloc(1, sizeof *c);
  if (!c) return;
  c->loop = l;
  uv_tcp_init(&l->uv, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_close);
    return;
  }
  c->next = l->conns;
  if (l->conns) l->conns->prev = c;
  l->conns = c;
  counter_add(&l->metrics.connections_open, 1);
  counter_add(&l->metrics.connections_total, 1);
  int open = atomic_fetch_add(&l->srv->conns_open, 1) + 1;
  if ((uint32_t)open > l->srv->cfg.max_connections || l->stopping) {
    counter_add(&l->metrics.connections_rejected, 1);
    c->state = CONN_CLOSING;
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  struct sockaddr_storage sa;
  int len = sizeof sa;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0) {
    if (sa.ss_family == AF_INET) uv_ip4_name((struct sockaddr_in *)&sa, c->remote, sizeof c->remote);
    else uv_ip6_name((struct sockaddr_in6 *)&sa, c->remote, sizeof c->remote);
  }
  c->state = CONN_HEAD;
  /* A new connection owes its first request within the header timeout, not
   * the keep-alive wait: one that sends nothing would otherwise hold a
   * connection slot for a minute (closed without an answer, as an idle one). */
  set_deadline(c, DL_IDLE, HR_MIN(l->srv->cfg.header_timeout_ms, l->srv->cfg.idle_timeout_ms));
  start_reading(c);
}

int conn_accept(io_loop *l) {
  l->listener.data = l;
  return uv_listen((uv_stream_t *)&l->listener, 1024, on_connection);
}

/* Runs about once a second: expires slow heads and bodies (408) and idle
 * keep-alive connections; during a drain, closes connections with nothing
 * in flight. */
void conn_sweep(io_loop *l) {
  conn *next;
  for (conn *c = l->conns; c; c = next) {
    next = c->next;
    bool idle = c->state == CONN_HEAD && c->in_len == 0 && !c->writing && c->out.len == 0;
    if (l->stopping >= 2 || (l->stopping && (idle || c->state == CONN_LINGER))) {
      conn_close(c);
      continue;
    }
    if (c->out.len + c->wbuf.len > OUT_MAX_PENDING) {
      conn_close(c); /* a reader this slow is gone or hostile */
      continue;
    }
    if (!c->deadline_ms || l->now_ms < c->deadline_ms) continue;
    if (c->deadline_kind == DL_LINGER || (c->deadline_kind == DL_IDLE && c->in_len == 0)) {
      conn_close(c);
      continue;
    }
    counter_add(&l->metrics.timeouts, 1);
    if (c->state == CONN_HEAD || c->state == CONN_BODY) {
      if (!c->req && !(c->req = req_new(c))) {
        conn_close(c);
        continue;
      }
      c->deadline_ms = 0;
      c->req->start_ns = hr_now_ns();
      if (c->state == CONN_HEAD) c->req->head.path = HR_STR("");
      reject(c, 408, "invalid_request_error", "request_timeout",
             c->state == CONN_HEAD ? "request headers not received in time"
                                   : "request body not received in time",
             true);
      c->state = CONN_CLOSING;
      conn_flush(c);
    } else {
      conn_close(c);
    }
  }
}
