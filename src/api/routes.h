/* routes.h — each resource file's registration function, for api.c. */
#ifndef HEARTH_API_ROUTES_H
#define HEARTH_API_ROUTES_H

#include "api.h"

int api_register_ops(http_server *s, api_context *ctx);
int api_register_chat(http_server *s, api_context *ctx);
int api_register_models(http_server *s, api_context *ctx);
int api_register_completions(http_server *s, api_context *ctx);
int api_register_embeddings(http_server *s, api_context *ctx);
int api_register_tokenize(http_server *s, api_context *ctx);

#endif
