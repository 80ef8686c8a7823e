/* completions.c — POST /v1/completions, OpenAI's legacy text completion:
 * each prompt (text or token ids; a list of them is a batch) is continued
 * directly (no chat template), n choices each, with echo and logprobs in
 * that API's shape. */
#include "chat_request.h"
#include "generate.h"
#include "routes.h"

#include "../engine/tokenizer.h"

#include <stdio.h>
#include <string.h>

static void answer_invalid(http_req *r, const json_validate_error *e) {
  http_respond_error(r, 400, "invalid_request_error", "invalid_value", e->path[0] ? e->path : NULL,
                     "%s%s%s", e->path, e->path[0] ? ": " : "", e->message);
}

/* The text of token ids (what an echo of a token prompt shows, special
 * tokens as their text), in the request's arena. */
static hr_str ids_text(http_req *r, const tokenizer *tok, const int32_t *ids, size_t n) {
  hr_buf b = HR_BUF_INIT;
  for (size_t i = 0; i < n; i++) {
    hr_str p = tok_decode_piece(tok, ids[i], true);
    hr_buf_append(&b, p.ptr, p.len);
  }
  hr_str s = hr_str_make(hr_arena_strndup(http_req_arena(r), b.data ? b.data : "", b.len), b.len);
  hr_buf_free(&b);
  return s;
}

/* How many prompts the request holds (a list of them is a batch). */
static size_t prompt_count(const api_input *in) {
  return in->kind == API_INPUT_TEXTS         ? in->n_texts
         : in->kind == API_INPUT_TOKEN_LISTS ? in->n_lists
                                             : 1;
}

/* The request's prompts as token ids and echo texts, checked against the
 * model's context; answers errors (naming "prompt", or "prompt[i]" in a
 * batch) and returns -1. */
static int read_prompts(http_req *r, const api_model *m, const api_input *in, gen_prompt **out,
                        int *n_out) {
  const tokenizer *tok = eng_model_tokenizer(m->engine);
  size_t n = prompt_count(in);
  if (n == 0) {
    http_respond_error(r, 400, "invalid_request_error", "invalid_value", "prompt",
                       "prompt: an empty list");
    return -1;
  }
  gen_prompt *ps = hr_arena_alloc(http_req_arena(r), sizeof *ps * n);
  if (!ps) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return -1;
  }
  bool batch = in->kind == API_INPUT_TEXTS || in->kind == API_INPUT_TOKEN_LISTS;
  for (size_t i = 0; i < n; i++) {
    char param[40];
    if (batch) snprintf(param, sizeof param, "prompt[%zu]", i);
    else snprintf(param, sizeof param, "prompt");
    gen_prompt *p = &ps[i];
    int32_t *ids;
    if (in->kind == API_INPUT_TEXT || in->kind == API_INPUT_TEXTS) {
      p->echo = in->kind == API_INPUT_TEXT ? in->text : in->texts[i];
      /* special texts parsed, as llama-server does */
      if (api_tokenize_prompt(r, tok, p->echo, true, NULL, 0, &ids, &p->n_ids)) return -1;
    } else {
      const api_token_list *l = in->kind == API_INPUT_TOKENS ? &in->tokens : &in->lists[i];
      if (api_token_ids(r, l->ids, l->n, m->info.n_vocab, param, &ids)) return -1;
      p->n_ids = (int)l->n;
      p->echo = ids_text(r, tok, ids, l->n);
    }
    p->ids = ids;
    if (p->n_ids == 0) {
      http_respond_error(r, 400, "invalid_request_error", "invalid_value", param, "%s: empty", param);
      return -1;
    }
    if (p->n_ids >= m->info.n_ctx) {
      http_respond_error(r, 400, "invalid_request_error", "context_length_exceeded", param,
                         "This model's maximum context length is %d tokens. However, your "
                         "prompt%s resulted in %d tokens.",
                         m->info.n_ctx, batch ? param + 6 : "", p->n_ids);
      return -1;
    }
  }
  *out = ps;
  *n_out = (int)n;
  return 0;
}

/* An answer's head fields, the object open. */
static void write_head(json_writer *w, const char *id, int64_t created, const api_model *m) {
  json_w_obj_begin(w);
  json_w_key(w, "id");
  json_w_str(w, id);
  json_w_key(w, "object");
  json_w_str(w, "text_completion");
  json_w_key(w, "created");
  json_w_int(w, created);
  json_w_key(w, "model");
  json_w_str(w, m->info.name);
  json_w_key(w, "system_fingerprint");
  json_w_str(w, GEN_SYSTEM_FINGERPRINT);
}

static void write_usage(json_writer *w, int64_t prompt_tokens) {
  json_w_key(w, "usage");
  json_w_obj_begin(w);
  json_w_key(w, "prompt_tokens");
  json_w_int(w, prompt_tokens);
  json_w_key(w, "completion_tokens");
  json_w_int(w, 0);
  json_w_key(w, "total_tokens");
  json_w_int(w, prompt_tokens);
  json_w_key(w, "prompt_tokens_details");
  json_w_obj_begin(w);
  json_w_key(w, "cached_tokens");
  json_w_int(w, 0);
  json_w_obj_end(w);
  json_w_obj_end(w);
}

static void sse_frame(hr_buf *sse, hr_buf *json) {
  hr_buf_append(sse, "data: ", 6);
  hr_buf_append(sse, json->data, json->len);
  hr_buf_append(sse, "\n\n", 2);
  hr_buf_clear(json);
}

/* Nothing to generate and nothing to score: each prompt's choices hold
 * its echo (or nothing), and the usage counts the prompts; a stream gets
 * each choice as a chunk, then the usage when asked for, in one response
 * (all of it is known at once, and this may run off the loops). */
static void answer_prompts_only(http_req *r, const api_model *m, const gen_prompt *ps, int n_prompts,
                                int n, bool echo, bool logprobs, bool stream, bool include_usage) {
  char id[48];
  gen_make_id(id, sizeof id, "cmpl-");
  int64_t created = hr_wall_ms() / 1000, prompt_tokens = 0;
  hr_buf b = HR_BUF_INIT, sse = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  if (!stream) {
    write_head(&w, id, created, m);
    json_w_key(&w, "choices");
    json_w_arr_begin(&w);
  }
  for (int i = 0; i < n_prompts * n; i++) {
    const gen_prompt *p = &ps[i / n];
    if (i % n == 0) prompt_tokens += p->n_ids;
    if (stream) {
      json_w_init(&w, &b);
      write_head(&w, id, created, m);
      json_w_key(&w, "choices");
      json_w_arr_begin(&w);
    }
    json_w_obj_begin(&w);
    json_w_key(&w, "index");
    json_w_int(&w, i);
    json_w_key(&w, "text");
    json_w_strn(&w, echo ? p->echo.ptr : "", echo ? p->echo.len : 0);
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
    if (stream) {
      json_w_arr_end(&w);
      json_w_obj_end(&w);
      json_w_finish(&w);
      sse_frame(&sse, &b);
    }
  }
  if (stream) {
    if (include_usage) {
      json_w_init(&w, &b);
      write_head(&w, id, created, m);
      json_w_key(&w, "choices");
      json_w_arr_begin(&w);
      json_w_arr_end(&w);
      write_usage(&w, prompt_tokens);
      json_w_obj_end(&w);
      json_w_finish(&w);
      sse_frame(&sse, &b);
    }
    hr_buf_append(&sse, "data: [DONE]\n\n", 14);
    http_respond(r, 200, "text/event-stream", sse.data, sse.len);
  } else {
    json_w_arr_end(&w);
    write_usage(&w, prompt_tokens);
    json_w_obj_end(&w);
    json_w_finish(&w);
    http_respond_json(r, 200, &b);
  }
  hr_buf_free(&b);
  hr_buf_free(&sse);
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
  int n = req.has_n ? (int)req.n : 1;
  /* best_of picks the likeliest of best_of drawn choices: only best_of = n
   * (every draw is answered) is served */
  const char *unsupported = req.has_best_of && req.best_of != n ? "best_of"
                            : req.has_suffix && req.suffix.len  ? "suffix"
                                                                : NULL;
  if (unsupported) {
    http_respond_error(r, 400, "invalid_request_error", "unsupported_value", unsupported,
                       "%s: not supported by this server (best_of only equal to n, no suffix)",
                       unsupported);
    return;
  }
  gen_prompt *prompts;
  int n_prompts;
  /* before any prompt is tokenized: a batch too large for the model is
   * refused for what it is, not after the work */
  size_t n_choices = prompt_count(&req.prompt) * (size_t)n;
  if (gen_check_choices(r, m, (int)HR_MIN(n_choices, (size_t)INT32_MAX), n > 1 ? "n" : "prompt")) return;
  if (read_prompts(r, m, &req.prompt, &prompts, &n_prompts)) return;
  /* OpenAI's default for this endpoint is 16 tokens. */
  int64_t max_tokens = req.has_max_tokens ? req.max_tokens : 16;
  bool echo = req.has_echo && req.echo;
  bool logprobs = req.has_logprobs;
  sampler_params sp;
  gen_sampling_fields f = GEN_SAMPLING_FIELDS(req);
  gen_sampling(&f, &sp);
  if (req.has_logit_bias &&
      gen_logit_bias(r, req.logit_bias.keys, req.logit_bias.values, req.logit_bias.n,
                     m->info.n_vocab, &sp))
    return;
  const char **stop = req.has_stop ? gen_stop_strings(r, req.stop.items, req.stop.n) : NULL;
  if (max_tokens == 0 && !(echo && logprobs)) {
    answer_prompts_only(r, m, prompts, n_prompts, n, echo, logprobs, req.has_stream && req.stream,
                        req.has_stream_options && req.stream_options.include_usage);
    return;
  }
  if (!echo)
    for (int i = 0; i < n_prompts; i++) prompts[i].echo = HR_STR("");
  /* echo with logprobs scores the prompt's tokens too (lm-evaluation-
   * harness's loglikelihood: echo, logprobs, max_tokens 0 or 1) */
  gen_params p = {.kind = GEN_COMPLETION,
                  .prompts = prompts,
                  .n_prompts = n_prompts,
                  .n = n,
                  .max_tokens = (int)HR_MIN(max_tokens, 1 << 30),
                  .prompt_only = max_tokens == 0,
                  .sp = sp,
                  .stop = stop,
                  .n_stop = req.has_stop ? (int)req.stop.n : 0,
                  .logprobs = logprobs ? (int)req.logprobs : -1,
                  .prompt_logprobs = echo && logprobs,
                  .stream = req.has_stream && req.stream,
                  .include_usage = req.has_stream_options && req.stream_options.include_usage,
                  .calls = GEN_CALLS_NONE};
  gen_start(r, m, &p);
}

static void on_completions(http_req *r, void *data) { api_dispatch(r, data, handle_completions); }

int api_register_completions(http_server *s, api_context *ctx) {
  return http_server_route(s, HTTP_POST, "/v1/completions", on_completions, ctx, 4u << 20);
}
