/* api — the HTTP handlers of hearth's public API, one file per resource.
 * api_register adds every route to a server; the state the handlers share
 * (the store, readiness, the models) lives in one api_context that the
 * command line builds and owns. */
#ifndef HEARTH_API_H
#define HEARTH_API_H

#include "../engine/engine.h"
#include "../http/http.h"
#include "../store/store.h"

#include <stdatomic.h>

struct chat_template;
struct hr_workq;

/* A model the API serves, with its compiled chat template (NULL for
 * embedding models). */
#define API_LAT_BUCKETS 12

/* Request timings of one model, observed when each request ends (from any
 * loop, so atomics). Histograms hold counts per bucket, +Inf last. */
typedef struct {
  _Atomic uint64_t ttft[API_LAT_BUCKETS + 1], itl[API_LAT_BUCKETS + 1], queue[API_LAT_BUCKETS + 1];
  _Atomic uint64_t ttft_sum_us, itl_sum_us, queue_sum_us, itl_count, done;
  _Atomic uint64_t finish_stop, finish_length, finish_cancelled, finish_error;
} api_model_metrics;

typedef struct {
  eng_model *engine;
  eng_model_info info;
  struct chat_template *tmpl;
  bool template_shows_tools; /* its template renders a request's tools (else hearth describes them) */
  api_model_metrics metrics;
} api_model;

#define API_MODELS_MAX 16

typedef struct {
  http_server *server;
  store *db;
  api_model models[API_MODELS_MAX];
  _Atomic int n_models; /* entries below it are complete (release/acquire) */
  struct hr_workq *work;   /* blocking jobs off the loops */
  struct hr_workq *intake; /* large request bodies read off the loops (NULL: on them) */
  _Atomic bool store_ready;
  _Atomic bool models_ready;
  int64_t started_ms;
  const char *version;
} api_context;

/* Adds a loaded model (taking ownership); compiles its chat template, or
 * the one in template_override (file contents) when given, or ChatML.
 * err says what failed. */
int api_add_model(api_context *ctx, eng_model *m, const char *template_override, char *err,
                  size_t err_len);
/* The model whose id is name, or NULL. */
api_model *api_find_model(api_context *ctx, hr_str name);
/* Answers 404 model_not_found naming name (control bytes shown escaped). */
void api_model_not_found(http_req *r, api_context *ctx, hr_str name);
/* Records a finished generation's timings. */
void api_model_observe(api_model *m, const eng_event *done);
/* Appends every model's metrics in Prometheus text format. */
void api_models_metrics(api_context *ctx, hr_buf *out);
/* Closes every model. */
void api_close_models(api_context *ctx);

/* Adds every route; ctx must outlive the server. */
int api_register(http_server *s, api_context *ctx);

/* Runs handle(r, ctx): on the intake thread when r's body is over
 * API_OFF_LOOP_BODY_BYTES (reading ~25 ms a megabyte of text, parsing and
 * tokenizing, would hold up every other connection of the loop), else here
 * on the loop. handle answers with http_respond* (posted from the intake)
 * and reaches the engines through api_on_loop. */
#define API_OFF_LOOP_BODY_BYTES (64 * 1024)
void api_dispatch(http_req *r, api_context *ctx, void (*handle)(http_req *r, api_context *ctx));
/* Runs fn(r, arg) on r's loop: now if this is that loop, else posted;
 * drop(arg) instead when the client has left meanwhile or the server has
 * stopped (r is then finished here). */
void api_on_loop(http_req *r, void (*fn)(http_req *r, void *arg), void (*drop)(void *arg),
                 void *arg);

/* Parses the request body as JSON into *out (from the request's arena), or
 * answers 400 invalid_json and returns non-zero. */
struct json_value;
int api_read_json(http_req *r, struct json_value **out);

#endif
