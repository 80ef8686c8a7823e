/* tokenize.c — POST /tokenize and /detokenize in vLLM's shapes: a prompt
 * (or a chat request's messages, rendered as /v1/chat/completions renders
 * them) to the token ids a model would see, and ids back to text; what a
 * client needs to count tokens against a context before it sends. */
#include "chat_request.h"
#include "generate.h"
#include "routes.h"

#include "../engine/tokenizer.h"

#include <string.h>

/* A request parser's failure rc: out of memory, or the body's fault. */
static void answer_invalid(http_req *r, int rc, const json_validate_error *e) {
  if (rc == HR_ENOMEM)
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
  else
    http_respond_error(r, 400, "invalid_request_error", "invalid_value", e->path[0] ? e->path : NULL,
                       "%s%s%s", e->path, e->path[0] ? ": " : "", e->message);
}

/* The model a request names, or the first one served when it names none;
 * answers 404 and returns NULL. */
static api_model *request_model(http_req *r, api_context *ctx, hr_str name) {
  if (!name.len && atomic_load_explicit(&ctx->n_models, memory_order_acquire) > 0)
    return &ctx->models[0];
  api_model *m = api_find_model(ctx, name);
  if (!m) api_model_not_found(r, ctx, name);
  return m;
}

/* text's ids as tok_encode gives them (special texts parsed; with or
 * without the model's BOS/EOS), in the request's arena; answers errors. */
static int encode_ids(http_req *r, const tokenizer *tok, hr_str text, bool add_special,
                      int32_t **ids, int *n_ids) {
  size_t cap = text.len * 3 + 8, n = 0;
  int32_t *out = hr_arena_alloc(http_req_arena(r), sizeof(int32_t) * cap);
  if (out && tok_encode(tok, text.ptr, text.len, add_special, true, out, cap, &n) == HR_ERANGE) {
    out = hr_arena_alloc(http_req_arena(r), sizeof(int32_t) * n);
    if (out) tok_encode(tok, text.ptr, text.len, add_special, true, out, n, &n);
  }
  if (!out) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return -1;
  }
  *ids = out;
  *n_ids = (int)n;
  return 0;
}

static void answer_ids(http_req *r, const api_model *m, const int32_t *ids, int n, bool strs) {
  const tokenizer *tok = eng_model_tokenizer(m->engine);
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_obj_begin(&w);
  json_w_key(&w, "count");
  json_w_int(&w, n);
  json_w_key(&w, "max_model_len");
  json_w_int(&w, m->info.n_ctx);
  json_w_key(&w, "tokens");
  json_w_arr_begin(&w);
  for (int i = 0; i < n; i++) json_w_int(&w, ids[i]);
  json_w_arr_end(&w);
  json_w_key(&w, "token_strs");
  if (strs) {
    json_w_arr_begin(&w);
    for (int i = 0; i < n; i++) {
      hr_str p = tok_decode_piece(tok, ids[i], true);
      json_w_strn(&w, p.ptr, p.len); /* (a piece that is not whole UTF-8 reads with U+FFFD) */
    }
    json_w_arr_end(&w);
  } else {
    json_w_null(&w);
  }
  json_w_obj_end(&w);
  json_w_finish(&w);
  http_respond_json(r, 200, &b);
  hr_buf_free(&b);
}

static void handle_tokenize(http_req *r, api_context *ctx) {
  json_value *body;
  if (api_read_json(r, &body)) return;
  json_validate_error verr;
  int32_t *ids;
  int n_ids, rc;
  const json_value *messages = body->type == JSON_OBJECT ? json_get(body, "messages") : NULL;
  const json_value *prompt = body->type == JSON_OBJECT ? json_get(body, "prompt") : NULL;
  if (messages && messages->type != JSON_NULL && prompt && prompt->type != JSON_NULL) {
    http_respond_error(r, 400, "invalid_request_error", "invalid_value", "prompt",
                       "prompt: a request gives a prompt or messages, not both");
    return;
  }
  if (messages && messages->type != JSON_NULL) {
    /* a chat request: its prompt exactly as the chat endpoint makes it
     * (return_token_strs read beside the chat fields) */
    const json_value *strs = json_get(body, "return_token_strs");
    chat_request req;
    if ((rc = chat_request_parse(http_req_arena(r), body, &req, &verr))) {
      answer_invalid(r, rc, &verr);
      return;
    }
    api_model *m = request_model(r, ctx, req.model);
    if (!m) return;
    if (m->info.is_embedding) {
      http_respond_error(r, 400, "invalid_request_error", "model_not_supported", "model",
                         "The model '%s' is an embedding model: it has no chat template",
                         m->info.name);
      return;
    }
    if (api_chat_prompt_ids(r, m, &req, &ids, &n_ids)) return;
    answer_ids(r, m, ids, n_ids, strs && strs->type == JSON_TRUE);
    return;
  }
  tokenize_request req;
  if ((rc = tokenize_request_parse(http_req_arena(r), body, &req, &verr))) {
    answer_invalid(r, rc, &verr);
    return;
  }
  api_model *m = request_model(r, ctx, req.model);
  if (!m) return;
  const tokenizer *tok = eng_model_tokenizer(m->engine);
  bool special = !req.has_add_special_tokens || req.add_special_tokens;
  /* with the model's special tokens: what /v1/completions makes of this
   * prompt (an embedding model: what /v1/embeddings does) */
  if (special && !m->info.is_embedding ? api_tokenize_prompt(r, tok, req.prompt, true, NULL, 0, &ids, &n_ids)
                                       : encode_ids(r, tok, req.prompt, special, &ids, &n_ids))
    return;
  answer_ids(r, m, ids, n_ids, req.has_return_token_strs && req.return_token_strs);
}

static void handle_detokenize(http_req *r, api_context *ctx) {
  json_value *body;
  if (api_read_json(r, &body)) return;
  detokenize_request req;
  json_validate_error verr;
  int rc = detokenize_request_parse(http_req_arena(r), body, &req, &verr);
  if (rc) {
    answer_invalid(r, rc, &verr);
    return;
  }
  api_model *m = request_model(r, ctx, req.model);
  if (!m) return;
  int32_t *ids;
  if (api_token_ids(r, req.tokens.ids, req.tokens.n, m->info.n_vocab, "tokens", &ids)) return;
  const tokenizer *tok = eng_model_tokenizer(m->engine);
  /* special tokens as their text, as Hugging Face's decode gives them; a
   * character cut at the end reads as U+FFFD */
  size_t cap = 3 * tok_max_piece_len(tok) + 12;
  char *piece = hr_arena_alloc(http_req_arena(r), cap);
  if (!piece) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return;
  }
  hr_buf text = HR_BUF_INIT;
  tok_stream ts = TOK_STREAM_INIT;
  for (size_t i = 0; i < req.tokens.n; i++)
    hr_buf_append(&text, piece, tok_stream_push(&ts, tok, ids[i], true, piece, cap));
  hr_buf_append(&text, piece, tok_stream_flush(&ts, piece, cap));
  /* SentencePiece puts a space in front of the text it encodes */
  size_t skip = tok_get_kind(tok) == TOK_KIND_SPM && text.len && text.data[0] == ' ' ? 1 : 0;
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_obj_begin(&w);
  json_w_key(&w, "prompt");
  json_w_strn(&w, text.data ? text.data + skip : "", text.len - skip);
  json_w_obj_end(&w);
  json_w_finish(&w);
  hr_buf_free(&text);
  http_respond_json(r, 200, &b);
  hr_buf_free(&b);
}

static void on_tokenize(http_req *r, void *data) { api_dispatch(r, data, handle_tokenize); }
static void on_detokenize(http_req *r, void *data) { api_dispatch(r, data, handle_detokenize); }

int api_register_tokenize(http_server *s, api_context *ctx) {
  int rc = http_server_route(s, HTTP_POST, "/tokenize", on_tokenize, ctx, 4u << 20);
  if (!rc) rc = http_server_route(s, HTTP_POST, "/detokenize", on_detokenize, ctx, 4u << 20);
  return rc;
}
