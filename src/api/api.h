/* api — the HTTP handlers of hearth's public API, one file per resource.
 * api_register adds every route to a server; the state the handlers share
 * (the store, readiness, the models) lives in one api_context that the
 * command line builds and owns. */
#ifndef HEARTH_API_H
#define HEARTH_API_H

#include "../http/http.h"
#include "../store/store.h"

#include <stdatomic.h>

typedef struct {
  http_server *server;
  store *db;
  _Atomic bool store_ready;
  _Atomic bool models_ready;
  int64_t started_ms;
  const char *version;
} api_context;

/* Adds every route; ctx must outlive the server. */
int api_register(http_server *s, api_context *ctx);

/* Parses the request body as JSON into *out (from the request's arena), or
 * answers 400 invalid_json and returns non-zero. */
struct json_value;
int api_read_json(http_req *r, struct json_value **out);

#endif
