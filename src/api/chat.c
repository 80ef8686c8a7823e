/* chat.c — POST /v1/chat/completions: the request is read as JSON,
 * validated into a chat_request (a bad field is a 400 naming its path), and
 * routed by model name. Until the engine serves models, every model is
 * unknown, and the answer says so. */
#include "routes.h"
#include "chat_request.h"

int api_read_json(http_req *r, json_value **out) {
  hr_str body = http_req_body(r);
  json_error jerr;
  int rc = json_read(http_req_arena(r), body.ptr, body.len, NULL, out, &jerr);
  if (rc == HR_ENOMEM) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory reading the body");
    return rc;
  }
  if (rc) {
    if (body.len == 0)
      http_respond_error(r, 400, "invalid_request_error", "invalid_json", NULL,
                         "the request body is empty; expected a JSON object");
    else
      http_respond_error(r, 400, "invalid_request_error", "invalid_json", NULL,
                         "the request body is not valid JSON: %s", jerr.message);
    return rc;
  }
  return HR_OK;
}

static void answer_invalid(http_req *r, const json_validate_error *e) {
  http_respond_error(r, 400, "invalid_request_error", "invalid_value", e->path[0] ? e->path : NULL,
                     "%s%s%s", e->path, e->path[0] ? ": " : "", e->message);
}

static void on_chat_completions(http_req *r, void *data) {
  HR_UNUSED(data);
  json_value *body;
  if (api_read_json(r, &body)) return;
  chat_request req;
  json_validate_error verr;
  int rc = chat_request_parse(http_req_arena(r), body, &req, &verr);
  if (rc == HR_ENOMEM) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return;
  }
  if (rc) {
    answer_invalid(r, &verr);
    return;
  }
  http_respond_error(r, 404, "invalid_request_error", "model_not_found", "model",
                     "The model '%.*s' does not exist or is not loaded: no model is loaded "
                     "in this server yet",
                     (int)HR_MIN(req.model.len, 200), req.model.ptr);
}


int api_register_chat(http_server *s, api_context *ctx) {
  return http_server_route(s, HTTP_POST, "/v1/chat/completions", on_chat_completions, ctx,
                           4u << 20);
}
