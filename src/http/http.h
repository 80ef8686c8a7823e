/* http — hearth's HTTP/1.1 server on libuv: K I/O loops, each its own
 * thread with its own SO_REUSEPORT listener; keep-alive, pipelining,
 * Content-Length and chunked bodies, Expect: 100-continue, chunked and SSE
 * streaming; limits and timeouts that defeat slow or hostile clients; a
 * router with path parameters; OpenAI-shaped JSON errors; per-loop metrics
 * and a JSON access log.
 *
 * Threads: a request belongs to the loop that read it. Handlers run on that
 * loop and must not block. A handler that needs slow work hands it to
 * another thread and later answers through http_req_post, which runs a
 * function back on the request's loop. A request stays valid until its
 * response is finished or, if the client went away, until the handler calls
 * http_req_release after being told by on_abort. A handler may also carry
 * on with a request on another thread after http_req_keep_body: there it
 * reads only the body, the arena and the id, sets response headers, and
 * answers with http_respond*, which off the loops posts the answer to the
 * request's loop. */
#ifndef HEARTH_HTTP_H
#define HEARTH_HTTP_H

#include "../base/base.h"

#include "http_parser.h" /* http_method */

#include <stdint.h>

typedef struct http_server http_server;
typedef struct http_req http_req;


typedef void (*http_handler_fn)(http_req *req, void *route_data);

typedef struct {
  const char *host;
  int port;                 /* 0: the OS picks one; see http_server_port */
  int io_threads;
  size_t max_head_bytes;    /* request line + headers (431 beyond) */
  size_t max_request_line;
  size_t max_headers;
  size_t max_body_bytes;    /* default per route (413 beyond) */
  uint32_t header_timeout_ms; /* first byte to end of head (408) */
  uint32_t body_timeout_ms;   /* end of head to end of body (408) */
  uint32_t idle_timeout_ms;   /* keep-alive wait for the next request */
  uint32_t max_connections;   /* per server; beyond, new ones are closed */
  const char *access_log;     /* "off", "stdout", "stderr" or a file path */
} http_config;

void http_config_defaults(http_config *c);

/* Builds a server; routes are added before http_server_start. */
int http_server_new(const http_config *c, http_server **out);
/* Adds a route: pattern like "/v1/files/{id}/content". body_limit 0 takes
 * the configured default. name labels the route in metrics and logs (the
 * pattern when NULL). */
int http_server_route(http_server *s, http_method m, const char *pattern,
                      http_handler_fn fn, void *route_data, size_t body_limit);
/* Binds and starts the loops; returns once every loop listens, or with an
 * error (port in use...) and a message in err. */
int http_server_start(http_server *s, char *err, size_t err_len);
int http_server_port(const http_server *s);
/* Stops accepting, lets in-flight requests finish up to deadline_ms, then
 * closes every connection and joins the loop threads. Thread-safe. */
void http_server_shutdown(http_server *s, uint32_t deadline_ms);
void http_server_free(http_server *s);
/* Appends the server's metrics in Prometheus text format. */
void http_server_metrics(http_server *s, hr_buf *out);
/* Whether the calling thread is one of this process's I/O loops. */
bool http_on_io_thread(void);

/* ---- a request, as handlers see it ------------------------------------- */

http_method http_req_method(const http_req *r);
hr_str http_req_path(const http_req *r);
hr_str http_req_query(const http_req *r);
/* The header's value, or a {NULL,0} slice; names compare case-insensitively. */
hr_str http_req_header(const http_req *r, const char *name);
/* The value of path parameter {name}, percent-decoded; {NULL,0} if none. */
hr_str http_req_param(const http_req *r, const char *name);
/* The whole body (decoded if chunked), NUL-terminated. */
hr_str http_req_body(const http_req *r);
/* Fixes the request's id (it reads the headers and the loop's counter) for
 * a handler that carries on on another thread; on the loop. (Should the
 * client leave, any request a handler holds keeps its input buffer: head
 * and body live as long as the request.) */
void http_req_keep_body(http_req *r);
/* Arena owned by the request; freed when the request ends. */
hr_arena *http_req_arena(http_req *r);
/* The x-request-id (the client's, or one generated). */
const char *http_req_id(const http_req *r);
http_server *http_req_server(http_req *r);

/* ---- answering --------------------------------------------------------- */

/* Adds a response header; before http_respond or http_stream_begin. */
void http_res_header(http_req *r, const char *name, const char *value);
/* A whole response with Content-Length. Body is copied. Called off the
 * loops (a handler carrying on elsewhere), it posts the answer to the
 * request's loop, after which the request must not be used. */
void http_respond(http_req *r, int status, const char *content_type, const char *body,
                  size_t len);
void http_respond_json(http_req *r, int status, const hr_buf *json);
/* An error in OpenAI's shape: {"error":{"message","type","param","code"}}.
 * param and code may be NULL (written as null). */
void http_respond_error(http_req *r, int status, const char *type, const char *code,
                        const char *param, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Streaming: chunked transfer encoding (text/event-stream for SSE). Each
 * write is sent at once. */
void http_stream_begin(http_req *r, int status, const char *content_type);
int http_stream_write(http_req *r, const char *data, size_t len);
void http_stream_end(http_req *r);

/* Runs fn(r, arg) on the request's loop thread; callable from any thread.
 * Returns HR_ECLOSED if the server has stopped: the request is freed then
 * (its client was disconnected when the server stopped) and must not be
 * used again. */
int http_req_post(http_req *r, void (*fn)(http_req *r, void *arg), void *arg);
/* Called on the loop when the client goes away before the response ends;
 * the handler must then stop and call http_req_release. */
void http_req_on_abort(http_req *r, void (*fn)(http_req *r, void *arg), void *arg);
void http_req_release(http_req *r);
/* Whether the client went away (a handler back from another thread, before
 * starting slow work for nobody); on the loop. */
bool http_req_gone(const http_req *r);

#endif
