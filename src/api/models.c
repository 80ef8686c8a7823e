/* models.c — the models the API serves: loading their chat templates,
 * finding them by id, and GET /v1/models and /v1/models/{model} in
 * OpenAI's shape. */
#include "routes.h"

#include "../engine/chat_template.h"
#include "../json/json.h"

#include <stdio.h>
#include <string.h>

/* What a model without a template of its own is prompted with. */
static const char chatml_template[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

int api_add_model(api_context *ctx, eng_model *m, const char *template_override, char *err,
                  size_t err_len) {
  if (ctx->n_models >= API_MODELS_MAX) {
    snprintf(err, err_len, "at most %d models", API_MODELS_MAX);
    return HR_ERANGE;
  }
  api_model *am = &ctx->models[ctx->n_models];
  memset(am, 0, sizeof *am);
  eng_model_get_info(m, &am->info);
  if (api_find_model(ctx, hr_str_cstr(am->info.name))) {
    snprintf(err, err_len, "two models are named '%s'; give one an --alias", am->info.name);
    return HR_EINVAL;
  }
  if (!am->info.is_embedding) {
    hr_str src = eng_model_chat_template(m);
    if (template_override) src = hr_str_cstr(template_override);
    if (!src.len) src = HR_STR(chatml_template);
    char terr[256];
    if (chat_template_compile(src.ptr, src.len, &am->tmpl, terr, sizeof terr)) {
      snprintf(err, err_len, "model %s: its chat template does not compile: %s", am->info.name,
               terr);
      return HR_EFORMAT;
    }
  }
  am->engine = m;
  /* Handlers on the loops read n_models: the entry is complete first. */
  atomic_fetch_add_explicit(&ctx->n_models, 1, memory_order_release);
  return HR_OK;
}

api_model *api_find_model(api_context *ctx, hr_str name) {
  int n = atomic_load_explicit(&ctx->n_models, memory_order_acquire);
  for (int i = 0; i < n; i++)
    if (hr_str_eq_cstr(name, ctx->models[i].info.name)) return &ctx->models[i];
  return NULL;
}

void api_close_models(api_context *ctx) {
  for (int i = 0; i < ctx->n_models; i++) {
    eng_model_close(ctx->models[i].engine);
    chat_template_free(ctx->models[i].tmpl);
  }
  atomic_store(&ctx->n_models, 0);
}

static void write_model(json_writer *w, const api_model *m) {
  json_w_obj_begin(w);
  json_w_key(w, "id");
  json_w_str(w, m->info.name);
  json_w_key(w, "object");
  json_w_str(w, "model");
  json_w_key(w, "created");
  json_w_int(w, m->info.created);
  json_w_key(w, "owned_by");
  json_w_str(w, "hearth");
  /* hearth's own facts, beside OpenAI's fields */
  json_w_key(w, "meta");
  json_w_obj_begin(w);
  json_w_key(w, "arch");
  json_w_str(w, m->info.arch);
  json_w_key(w, "type");
  json_w_str(w, m->info.type_name ? m->info.type_name : "");
  json_w_key(w, "kind");
  json_w_str(w, m->info.is_embedding ? "embedding" : "chat");
  json_w_key(w, "context_length");
  json_w_int(w, m->info.n_ctx);
  json_w_key(w, "context_length_train");
  json_w_int(w, m->info.n_ctx_train);
  json_w_key(w, "embedding_length");
  json_w_int(w, m->info.n_embd);
  json_w_key(w, "vocab_size");
  json_w_int(w, m->info.n_vocab);
  json_w_key(w, "slots");
  json_w_int(w, m->info.n_slots);
  json_w_key(w, "size_bytes");
  json_w_uint(w, m->info.file_bytes);
  json_w_obj_end(w);
  json_w_obj_end(w);
}

static void on_list(http_req *r, void *data) {
  api_context *ctx = data;
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_obj_begin(&w);
  json_w_key(&w, "object");
  json_w_str(&w, "list");
  json_w_key(&w, "data");
  json_w_arr_begin(&w);
  int n = atomic_load_explicit(&ctx->n_models, memory_order_acquire);
  for (int i = 0; i < n; i++) write_model(&w, &ctx->models[i]);
  json_w_arr_end(&w);
  json_w_obj_end(&w);
  json_w_finish(&w);
  http_respond_json(r, 200, &b);
  hr_buf_free(&b);
}

static void on_get(http_req *r, void *data) {
  api_context *ctx = data;
  hr_str id = http_req_param(r, "model");
  api_model *m = api_find_model(ctx, id);
  if (!m) {
    http_respond_error(r, 404, "invalid_request_error", "model_not_found", "model",
                       "The model '%.*s' does not exist", (int)HR_MIN(id.len, 200), id.ptr);
    return;
  }
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  write_model(&w, m);
  json_w_finish(&w);
  http_respond_json(r, 200, &b);
  hr_buf_free(&b);
}

int api_register_models(http_server *s, api_context *ctx) {
  int rc = http_server_route(s, HTTP_GET, "/v1/models", on_list, ctx, 0);
  if (!rc) rc = http_server_route(s, HTTP_GET, "/v1/models/{model...}", on_get, ctx, 0);
  return rc;
}
