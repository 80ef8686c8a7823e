/* api.c — the list of every route hearth serves. */
#include "routes.h"

int api_register(http_server *s, api_context *ctx) {
  int rc = api_register_ops(s, ctx);
  if (!rc) rc = api_register_chat(s, ctx);
  if (!rc) rc = api_register_models(s, ctx);
  if (!rc) rc = api_register_completions(s, ctx);
  if (!rc) rc = api_register_embeddings(s, ctx);
  if (!rc) rc = api_register_tokenize(s, ctx);
  return rc;
}
