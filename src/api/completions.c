/* completions.c — POST /v1/completions, OpenAI's legacy text completion:
 * the prompt is text or token ids, continued directly (no chat template),
 * with echo and logprobs in that API's shape. One prompt per request. */
#include "chat_request.h"
#include "generate.h"
#include "routes.h"

#include "../engine/tokenizer.h"

#include <string.h>

static void answer_invalid(http_req *r, const json_validate_error *e) {
  http_respond_error(r, 400, "invalid_request_error", "invalid_value", e->path[0] ? e->path : NULL,
                     "%s%s%s", e->path, e->path[0] ? ": " : "", e->message);
}

/* The prompt as token ids; answers errors. */
static int prompt_ids(http_req *r, const api_model *m, const completion_request *req,
                      int32_t **ids, int *n, hr_str *text) {
  const tokenizer *tok = eng_model_tokenizer(m->engine);
  const api_input *in = &req->prompt;
  *text = HR_STR("");
  if (in->kind == API_INPUT_TEXTS || in->kind == API_INPUT_TOKEN_LISTS) {
    size_t count = in->kind == API_INPUT_TEXTS ? in->n_texts : in->n_lists;
    if (count != 1) {
      http_respond_error(r, 400, "invalid_request_error", "unsupported_value", "prompt",
                         "prompt: one prompt per request (got %zu)", count);
      return -1;
    }
  }
  if (in->kind == API_INPUT_TEXT || in->kind == API_INPUT_TEXTS) {
    *text = in->kind == API_INPUT_TEXT ? in->text : in->texts[0];
    return api_tokenize_prompt(r, tok, *text, true, NULL, 0, ids, n); /* special texts parsed, as llama-server does */
  }
  const api_token_list *l = in->kind == API_INPUT_TOKENS ? &in->tokens : &in->lists[0];
  int32_t *out;
  if (api_token_ids(r, l->ids, l->n, m->info.n_vocab, "prompt", &out)) return -1;
  *ids = out;
  *n = (int)l->n;
  /* echo of a token prompt: its text */
  hr_buf b = HR_BUF_INIT;
  for (size_t i = 0; i < l->n; i++) {
    hr_str p = tok_decode_piece(tok, out[i], false);
    hr_buf_append(&b, p.ptr, p.len);
  }
  *text = hr_str_make(hr_arena_strndup(http_req_arena(r), b.data ? b.data : "", b.len), b.len);
  hr_buf_free(&b);
  return 0;
}

static void handle_completions(http_req *r, api_context *ctx) {
  json_value *body;
  if (api_read_json(r, &body)) return;
  completion_request req;
  json_validate_error verr;
  int rc = completion_request_parse(http_req_arena(r), body, &req, &verr);
  if (rc) {
    if (rc == HR_ENOMEM) http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    else answer_invalid(r, &verr);
    return;
  }
  api_model *m = api_find_model(ctx, req.model);
  if (!m) {
    api_model_not_found(r, ctx, req.model);
    return;
  }
  if (m->info.is_embedding) {
    http_respond_error(r, 400, "invalid_request_error", "model_not_supported", "model",
                       "The model '%s' is an embedding model; use /v1/embeddings", m->info.name);
    return;
  }
  const char *unsupported = req.has_n && req.n != 1                  ? "n"
                            : req.has_best_of && req.best_of != 1     ? "best_of"
                            : req.has_suffix && req.suffix.len        ? "suffix"
                                                                      : NULL;
  if (unsupported) {
    http_respond_error(r, 400, "invalid_request_error", "unsupported_value", unsupported,
                       "%s: not supported by this server (one choice, no suffix)", unsupported);
    return;
  }
  int32_t *ids;
  int n_ids;
  hr_str text;
  if (prompt_ids(r, m, &req, &ids, &n_ids, &text)) return;
  if (n_ids == 0) {
    http_respond_error(r, 400, "invalid_request_error", "invalid_value", "prompt",
                       "prompt: empty");
    return;
  }
  if (n_ids >= m->info.n_ctx) {
    http_respond_error(r, 400, "invalid_request_error", "context_length_exceeded", "prompt",
                       "This model's maximum context length is %d tokens. However, your prompt "
                       "resulted in %d tokens.",
                       m->info.n_ctx, n_ids);
    return;
  }
  /* OpenAI's default for this endpoint is 16 tokens. */
  int64_t max_tokens = req.has_max_tokens ? req.max_tokens : 16;
  bool echo = req.has_echo && req.echo;
  sampler_params sp;
  gen_sampling_fields f = GEN_SAMPLING_FIELDS(req);
  gen_sampling(&f, &sp);
  if (req.has_logit_bias &&
      gen_logit_bias(r, req.logit_bias.keys, req.logit_bias.values, req.logit_bias.n,
                     m->info.n_vocab, &sp))
    return;
  const char **stop = req.has_stop ? gen_stop_strings(r, req.stop.items, req.stop.n) : NULL;
  bool logprobs = req.has_logprobs;
  if (max_tokens == 0 && !(echo && logprobs)) {
    /* Nothing to generate and nothing to score: the (echoed) prompt and
     * its usage. */
    hr_buf b = HR_BUF_INIT;
    json_writer w;
    json_w_init(&w, &b);
    json_w_obj_begin(&w);
    char id[48];
    gen_make_id(id, sizeof id, "cmpl-");
    json_w_key(&w, "id");
    json_w_str(&w, id);
    json_w_key(&w, "object");
    json_w_str(&w, "text_completion");
    json_w_key(&w, "created");
    json_w_int(&w, hr_wall_ms() / 1000);
    json_w_key(&w, "model");
    json_w_str(&w, m->info.name);
    json_w_key(&w, "system_fingerprint");
    json_w_str(&w, GEN_SYSTEM_FINGERPRINT);
    json_w_key(&w, "choices");
    json_w_arr_begin(&w);
    json_w_obj_begin(&w);
    json_w_key(&w, "index");
    json_w_int(&w, 0);
    json_w_key(&w, "text");
    json_w_strn(&w, echo ? text.ptr : "", echo ? text.len : 0);
    json_w_key(&w, "logprobs");
    if (logprobs) {
      json_w_obj_begin(&w);
      static const char *keys[] = {"tokens", "token_logprobs", "top_logprobs", "text_offset"};
      for (int k = 0; k < 4; k++) {
        json_w_key(&w, keys[k]);
        json_w_arr_begin(&w);
        json_w_arr_end(&w);
      }
      json_w_obj_end(&w);
    } else {
      json_w_null(&w);
    }
    json_w_key(&w, "finish_reason");
    json_w_str(&w, "length");
    json_w_obj_end(&w);
    json_w_arr_end(&w);
    json_w_key(&w, "usage");
    json_w_obj_begin(&w);
    json_w_key(&w, "prompt_tokens");
    json_w_int(&w, n_ids);
    json_w_key(&w, "completion_tokens");
    json_w_int(&w, 0);
    json_w_key(&w, "total_tokens");
    json_w_int(&w, n_ids);
    json_w_obj_end(&w);
    json_w_obj_end(&w);
    json_w_finish(&w);
    http_respond_json(r, 200, &b);
    hr_buf_free(&b);
    return;
  }
  /* echo with logprobs scores the prompt's tokens too (lm-evaluation-
   * harness's loglikelihood: echo, logprobs, max_tokens 0 or 1) */
  gen_params p = {.kind = GEN_COMPLETION,
                  .prompt = ids,
                  .n_prompt = n_ids,
                  .max_tokens = (int)HR_MIN(max_tokens, 1 << 30),
                  .prompt_only = max_tokens == 0,
                  .sp = sp,
                  .stop = stop,
                  .n_stop = req.has_stop ? (int)req.stop.n : 0,
                  .logprobs = logprobs ? (int)req.logprobs : -1,
                  .prompt_logprobs = echo && logprobs,
                  .stream = req.has_stream && req.stream,
                  .include_usage = req.has_stream_options && req.stream_options.include_usage,
                  .echo = echo ? text : HR_STR(""),
                  .calls = GEN_CALLS_NONE};
  gen_start(r, m, &p);
}

static void on_completions(http_req *r, void *data) { api_dispatch(r, data, handle_completions); }

int api_register_completions(http_server *s, api_context *ctx) {
  return http_server_route(s, HTTP_POST, "/v1/completions", on_completions, ctx, 4u << 20);
}
