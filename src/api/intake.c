/* intake.c — large request bodies read off the loops: the handler's
 * parsing, validation, prompt rendering and tokenization run on the intake
 * thread, its answers and its engine calls go back to the loop. */
#include "api.h"

#include "../base/workq.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
  http_req *r;
  api_context *ctx;
  void (*handle)(http_req *r, api_context *ctx);
} intake_job;

static void run_intake(void *arg) {
  intake_job *j = arg;
  j->handle(j->r, j->ctx);
  free(j);
}

/* Whether r is a POST a web page could have made without asking: a
 * browser sends a body to any address, from any page, with the page's
 * Origin, without a CORS preflight when its Content-Type is a form's or
 * text's — or absent (a Blob or an ArrayBuffer body). Such a request could
 * make a local hearth run its models for a page its user merely visited.
 * With an Origin, only application/json is taken, which a page can send
 * only after a preflight that hearth does not grant. Clients that send no
 * Origin (curl, the SDKs, servers) are not concerned. */
static bool form_post_from_a_page(const http_req *r) {
  if (!http_req_header(r, "origin").ptr) return false;
  hr_str ct = http_req_header(r, "content-type");
  size_t n = 0;
  while (n < ct.len && ct.ptr[n] != ';' && ct.ptr[n] != ' ' && ct.ptr[n] != '\t') n++;
  static const char json[] = "application/json";
  return !(ct.ptr && n == sizeof json - 1 && !strncasecmp(ct.ptr, json, n));
}

void api_dispatch(http_req *r, api_context *ctx, void (*handle)(http_req *r, api_context *ctx)) {
  if (form_post_from_a_page(r)) {
    http_respond_error(r, 403, "invalid_request_error", "cross_origin_form", NULL,
                       "a request with an Origin (a web page's) whose body is not "
                       "Content-Type: application/json is refused");
    return;
  }
  if (ctx->intake && http_req_body(r).len > API_OFF_LOOP_BODY_BYTES) {
    http_req_keep_body(r);
    intake_job *j = malloc(sizeof *j);
    if (j) *j = (intake_job){.r = r, .ctx = ctx, .handle = handle};
    if (j && !hr_workq_submit(ctx->intake, run_intake, j)) return;
    free(j); /* no intake: the loop reads it */
  }
  handle(r, ctx);
}

typedef struct {
  void (*fn)(http_req *r, void *arg);
  void (*drop)(void *arg);
  void *arg;
} loop_call;

static void run_on_loop(http_req *r, void *arg) {
  loop_call c = *(loop_call *)arg;
  free(arg);
  if (http_req_gone(r)) { /* the client left while the intake read its body */
    c.drop(c.arg);
    http_req_release(r);
    return;
  }
  c.fn(r, c.arg);
}

void api_on_loop(http_req *r, void (*fn)(http_req *r, void *arg), void (*drop)(void *arg),
                 void *arg) {
  if (http_on_io_thread()) {
    fn(r, arg);
    return;
  }
  loop_call *c = malloc(sizeof *c);
  if (!c) {
    drop(arg);
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return;
  }
  *c = (loop_call){.fn = fn, .drop = drop, .arg = arg};
  if (http_req_post(r, run_on_loop, c)) { /* the server stopped; r is gone */
    drop(arg);
    free(c);
  }
}
