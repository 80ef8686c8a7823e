/* embeddings.c — POST /v1/embeddings: a string, strings, token ids or lists
 * of token ids, embedded by any served model with its pooling (a bert
 * family encoder's, or a decoder's final hidden states, last token unless
 * its GGUF says otherwise) and L2 normalization, as floats or base64 (little-endian float32, as OpenAI).
 * The inputs are tokenized on the loop (a large body's on the intake
 * thread); the model runs on its scheduler thread, which also writes the
 * answer of a small request (a large one's on a work-queue thread), and the
 * answer comes back to the loop. */
#include "chat_request.h"
#include "generate.h"
#include "routes.h"

#include "../base/workq.h"
#include "../engine/tokenizer.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* Owned by the handler until answered; it refers to nothing of the model
 * (a server stopping closes its models before the last answers are
 * written), only to the request, which stays valid until answered. */
typedef struct {
  http_req *r;
  const api_model *m;
  hr_str model; /* the id as the request gave it (in its arena) */
  int E;        /* the model's n_embd */
  int n;
  int32_t **texts;
  int *lens;
  int n_tokens;
  int dims;
  bool base64;
  float *out;   /* n x n_embd, malloc'd */
  int rc;
  hr_buf json;  /* the answer, built off the loop */
  hr_workq *work;
  _Atomic bool gone; /* the client left: its texts not yet embedded are skipped */
} embed_task;

static void answer(http_req *r, void *arg) {
  embed_task *t = arg;
  if (t->rc == HR_ECLOSED && http_req_gone(r)) http_req_release(r); /* nobody to answer */
  else if (t->rc == HR_ECLOSED) {
    http_res_header(r, "Retry-After", "1");
    http_respond_error(r, 503, "server_error", "server_busy", NULL, "the model is closing");
  } else if (t->rc)
    http_respond_error(r, 500, "server_error", NULL, NULL, "the model failed: %s",
                       hr_strerror(t->rc));
  else
    http_respond_json(r, 200, &t->json);
  hr_buf_free(&t->json);
  free(t->out);
  free(t);
}

static void write_vector(json_writer *w, const float *v, int dims, bool base64) {
  if (!base64) {
    json_w_floats(w, v, (size_t)dims);
    return;
  }
  unsigned char raw[4 * 4096];
  int bytes = 4 * HR_MIN(dims, 4096);
  for (int d = 0; d < bytes / 4; d++) memcpy(raw + 4 * d, &v[d], 4); /* x86: little-endian */
  char enc[4 * 4096 * 4 / 3 + 8];
  int n = EVP_EncodeBlock((unsigned char *)enc, raw, bytes);
  json_w_strn(w, enc, (size_t)n);
}

/* Writes the answer's JSON and hands it to the loop. */
static void write_answer(void *arg) {
  embed_task *t = arg;
  int E = t->E;
  if (!t->rc) {
    json_writer w;
    json_w_init(&w, &t->json);
    json_w_obj_begin(&w);
    json_w_key(&w, "object");
    json_w_str(&w, "list");
    json_w_key(&w, "data");
    json_w_arr_begin(&w);
    for (int i = 0; i < t->n; i++) {
      float *v = t->out + (size_t)i * E;
      if (t->dims < E) {
        /* shortened: renormalize what is kept, as OpenAI does */
        double ss = 0;
        for (int d = 0; d < t->dims; d++) ss += (double)v[d] * v[d];
        for (int d = 0; ss > 0 && d < t->dims; d++) v[d] = (float)(v[d] / sqrt(ss));
      }
      json_w_obj_begin(&w);
      json_w_key(&w, "object");
      json_w_str(&w, "embedding");
      json_w_key(&w, "index");
      json_w_int(&w, i);
      json_w_key(&w, "embedding");
      write_vector(&w, v, t->dims, t->base64);
      json_w_obj_end(&w);
    }
    json_w_arr_end(&w);
    json_w_key(&w, "model");
    json_w_strn(&w, t->model.ptr, t->model.len);
    json_w_key(&w, "usage");
    json_w_obj_begin(&w);
    json_w_key(&w, "prompt_tokens");
    json_w_int(&w, t->n_tokens);
    json_w_key(&w, "total_tokens");
    json_w_int(&w, t->n_tokens);
    json_w_obj_end(&w);
    json_w_obj_end(&w);
    if (json_w_finish(&w)) t->rc = HR_ENOMEM;
  }
  /* The request stays valid until answered, even if its client left. */
  if (http_req_post(t->r, answer, t)) {
    hr_buf_free(&t->json); /* the server stopped (and freed the request) */
    free(t->out);
    free(t);
  }
}

/* Vector values the scheduler thread writes itself (one 384-value vector
 * took ~40 us): more go to a work-queue thread, so that other requests'
 * steps do not wait on the writing of a large batch's answer. */
#define ANSWER_INLINE_VALUES 1024

static void embedded(void *arg, int rc) {
  embed_task *t = arg;
  t->rc = rc;
  bool inline_answer = rc || (size_t)t->n * (size_t)t->dims <= ANSWER_INLINE_VALUES;
  if (inline_answer || hr_workq_submit(t->work, write_answer, t)) write_answer(t);
}

/* Token ids for input i, in the request's arena; answers errors. */
static int input_ids(http_req *r, const api_model *m, const embeddings_request *req, size_t i,
                     int32_t **ids, int *n) {
  const tokenizer *tok = eng_model_tokenizer(m->engine);
  hr_arena *a = http_req_arena(r);
  const api_input *in = &req->input;
  if (in->kind == API_INPUT_TEXT || in->kind == API_INPUT_TEXTS) {
    hr_str s = in->kind == API_INPUT_TEXT ? in->text : in->texts[i];
    size_t cap = s.len * 3 + 8, count = 0;
    int32_t *out = hr_arena_alloc(a, sizeof(int32_t) * cap);
    if (!out) return -1;
    /* special-token texts ([CLS], [MASK]...) as sentence-transformers reads them */
    if (tok_encode(tok, s.ptr, s.len, true, true, out, cap, &count) == HR_ERANGE) {
      /* More tokens than the guess: size exactly and encode again. */
      if (!(out = hr_arena_alloc(a, sizeof(int32_t) * count))) return -1;
      tok_encode(tok, s.ptr, s.len, true, true, out, count, &count);
    }
    *ids = out;
    *n = (int)count;
    return 0;
  }
  const api_token_list *l = in->kind == API_INPUT_TOKENS ? &in->tokens : &in->lists[i];
  char param[32] = "input";
  if (in->kind == API_INPUT_TOKEN_LISTS) snprintf(param, sizeof param, "input[%zu]", i);
  if (api_token_ids(r, l->ids, l->n, m->info.n_vocab, param, ids)) return -1;
  *n = (int)l->n;
  return 0;
}

/* Parses, validates and tokenizes r's request into a task for the model;
 * answers an error itself (and returns NULL). On a loop, or on the intake
 * thread for a large body. */
static embed_task *prepare(http_req *r, api_context *ctx) {
  json_value *body;
  if (api_read_json(r, &body)) return NULL;
  embeddings_request req;
  json_validate_error verr;
  int rc = embeddings_request_parse(http_req_arena(r), body, &req, &verr);
  if (rc) {
    if (rc == HR_ENOMEM) http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    else
      http_respond_error(r, 400, "invalid_request_error", "invalid_value",
                         verr.path[0] ? verr.path : NULL, "%s%s%s", verr.path,
                         verr.path[0] ? ": " : "", verr.message);
    return NULL;
  }
  api_model *m = api_find_model(ctx, req.model);
  if (!m) {
    api_model_not_found(r, ctx, req.model);
    return NULL;
  }
  int E = m->info.n_embd;
  if (req.has_dimensions && req.dimensions > E) {
    http_respond_error(r, 400, "invalid_request_error", "invalid_value", "dimensions",
                       "dimensions: at most %d for model %s", E, m->info.name);
    return NULL;
  }
  const api_input *in = &req.input;
  size_t n = in->kind == API_INPUT_TEXTS ? in->n_texts
             : in->kind == API_INPUT_TOKEN_LISTS ? in->n_lists
                                                 : 1;
  hr_arena *a = http_req_arena(r);
  embed_task *t = calloc(1, sizeof *t);
  int32_t **texts = hr_arena_alloc(a, sizeof(int32_t *) * n);
  int *lens = hr_arena_alloc(a, sizeof(int) * n);
  if (!t || !texts || !lens) {
    free(t);
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if (input_ids(r, m, &req, i, &texts[i], &lens[i])) {
      free(t);
      return NULL;
    }
    if (lens[i] == 0) {
      free(t);
      http_respond_error(r, 400, "invalid_request_error", "invalid_value", "input",
                         "input %zu has no tokens", i);
      return NULL;
    }
    /* An encoder cuts a long text to its context, as sentence-transformers
     * does; a decoder's context is what its slots hold, so past it is an
     * error, as for chat. */
    if (!m->info.is_embedding && lens[i] > m->info.n_ctx) {
      free(t);
      char param[32] = "input";
      if (n > 1) snprintf(param, sizeof param, "input[%zu]", i);
      http_respond_error(r, 400, "invalid_request_error", "context_length_exceeded", param,
                         "This model's maximum context length is %d tokens. However, input %zu "
                         "has %d tokens.",
                         m->info.n_ctx, i, lens[i]);
      return NULL;
    }
    t->n_tokens += HR_MIN(lens[i], m->info.n_ctx_train);
  }
  t->r = r;
  t->m = m;
  t->model = req.model;
  t->E = E;
  t->n = (int)n;
  t->texts = texts;
  t->lens = lens;
  t->dims = req.has_dimensions ? (int)req.dimensions : E;
  t->base64 = req.has_encoding_format && hr_str_eq_cstr(req.encoding_format, "base64");
  t->work = ctx->work;
  t->out = malloc(sizeof(float) * n * (size_t)E);
  if (!t->out) {
    free(t);
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return NULL;
  }
  return t;
}

/* The client left: the model skips what it has not embedded yet (the task
 * stays valid until answer, which runs on this loop too). */
static void on_abort(http_req *r, void *arg) {
  HR_UNUSED(r);
  embed_task *t = arg;
  atomic_store(&t->gone, true);
}

/* Hands a prepared task to its model; on the loop (the models close only
 * after the loops have stopped). */
static void submit(http_req *r, void *arg) {
  embed_task *t = arg;
  http_req_on_abort(r, on_abort, t);
  int rc = eng_embed_submit_until(t->m->engine, (const int32_t *const *)t->texts, t->lens, t->n,
                                  t->out, embedded, t, &t->gone);
  if (!rc) return;
  http_req_on_abort(r, NULL, NULL);
  free(t->out);
  free(t);
  if (rc == HR_ENOMEM) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return;
  }
  http_res_header(r, "Retry-After", "1");
  http_respond_error(r, 503, "server_error", "server_busy", NULL, "the server is stopping");
}

static void drop_task(void *arg) {
  embed_task *t = arg;
  free(t->out);
  free(t);
}

static void handle_embeddings(http_req *r, api_context *ctx) {
  embed_task *t = prepare(r, ctx);
  if (t) api_on_loop(r, submit, drop_task, t);
}

static void on_embeddings(http_req *r, void *data) { api_dispatch(r, data, handle_embeddings); }

int api_register_embeddings(http_server *s, api_context *ctx) {
  return http_server_route(s, HTTP_POST, "/v1/embeddings", on_embeddings, ctx, 16u << 20);
}
