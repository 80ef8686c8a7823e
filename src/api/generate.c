/* generate.c — see generate.h. Wire formats: OpenAI's chat.completion and
 * chat.completion.chunk objects, and text_completion for /v1/completions;
 * a stream is one SSE `data:` frame per token, then the finish chunk, the
 * usage chunk when asked for, and `data: [DONE]`. */
#include "generate.h"

#include "../engine/json_constraint.h"
#include "../engine/tokenizer.h"
#include "tool_calls.h"

#include <openssl/rand.h>
#include <utf8proc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- engine side (scheduler thread) ----------------------------------- */

static void drain(http_req *r, void *arg);
static void release_held(gen_request *g, size_t free_text);
static void send_unsent_parts(gen_request *g, const tool_call_list *calls);
static void gen_free(gen_request *g);
static void completion_lp_add(gen_request *g, int32_t token, const eng_event *ev, size_t offset);
static void write_completion_logprobs(json_writer *w, gen_request *g);

static void on_event(eng_seq *s, const eng_event *ev, void *user) {
  HR_UNUSED(s);
  gen_request *g = user;
  gen_event *e = malloc(sizeof *e + ev->text_len + 1);
  if (!e) return; /* the token is lost, the answer goes on */
  e->next = NULL;
  e->ev = *ev;
  memcpy(e->text, ev->text ? ev->text : "", ev->text_len);
  e->text[ev->text_len] = 0;
  e->ev.text = e->text;
  pthread_mutex_lock(&g->lock);
  if (g->ev_tail) g->ev_tail->next = e;
  else g->ev_head = e;
  g->ev_tail = e;
  /* One task in flight at a time; posting under the lock means the task
   * that drains the final event is the last one that touches g. */
  if (!g->post_pending) {
    g->post_pending = true;
    /* A server that stopped has freed the request; nothing drains g then,
     * so the final event frees it here (eng_seq_release before the
     * engine's own unref, which follows this call). */
    if (http_req_post(g->req, drain, g)) g->orphaned = true;
  }
  bool last = g->orphaned && ev->kind == ENG_EV_DONE;
  pthread_mutex_unlock(&g->lock);
  if (last) {
    eng_seq_release(g->seq);
    gen_free(g);
  }
}

/* ---- loop side -------------------------------------------------------- */

static const char *finish_name(eng_finish f) {
  return f == ENG_FINISH_LENGTH ? "length" : "stop";
}

static void write_token_bytes(json_writer *w, const char *p, size_t n) {
  json_w_key(w, "bytes");
  json_w_arr_begin(w);
  for (size_t i = 0; i < n; i++) json_w_int(w, (unsigned char)p[i]);
  json_w_arr_end(w);
}

/* One chat logprobs "content" item for a token. */
static void write_chat_logprob(json_writer *w, const tokenizer *tok, const eng_event *ev) {
  hr_str piece = tok_decode_piece(tok, ev->token, false);
  json_w_obj_begin(w);
  json_w_key(w, "token");
  json_w_strn(w, piece.ptr, piece.len);
  json_w_key(w, "logprob");
  json_w_float(w, ev->chosen.logprob);
  write_token_bytes(w, piece.ptr, piece.len);
  json_w_key(w, "top_logprobs");
  json_w_arr_begin(w);
  for (int i = 0; i < ev->n_top; i++) {
    hr_str p = tok_decode_piece(tok, ev->top[i].id, false);
    json_w_obj_begin(w);
    json_w_key(w, "token");
    json_w_strn(w, p.ptr, p.len);
    json_w_key(w, "logprob");
    json_w_float(w, ev->top[i].logprob);
    write_token_bytes(w, p.ptr, p.len);
    json_w_obj_end(w);
  }
  json_w_arr_end(w);
  json_w_obj_end(w);
}

static void write_head(json_writer *w, gen_request *g, bool chunk) {
  json_w_obj_begin(w);
  json_w_key(w, "id");
  json_w_str(w, g->id);
  json_w_key(w, "object");
  json_w_str(w, g->kind == GEN_CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                    : "text_completion");
  json_w_key(w, "created");
  json_w_int(w, g->created);
  json_w_key(w, "model");
  json_w_str(w, g->model->info.name);
  json_w_key(w, "system_fingerprint");
  json_w_str(w, GEN_SYSTEM_FINGERPRINT);
}

static void write_usage(json_writer *w, const eng_event *done) {
  json_w_key(w, "usage");
  json_w_obj_begin(w);
  json_w_key(w, "prompt_tokens");
  json_w_int(w, done->n_prompt);
  json_w_key(w, "completion_tokens");
  json_w_int(w, done->n_generated);
  json_w_key(w, "total_tokens");
  json_w_int(w, done->n_prompt + done->n_generated);
  json_w_key(w, "prompt_tokens_details");
  json_w_obj_begin(w);
  json_w_key(w, "cached_tokens");
  json_w_int(w, done->n_cached);
  json_w_obj_end(w);
  json_w_obj_end(w);
}

static void sse_send(gen_request *g, hr_buf *json) {
  hr_buf frame = HR_BUF_INIT;
  hr_buf_append(&frame, "data: ", 6);
  hr_buf_append(&frame, json->data, json->len);
  hr_buf_append(&frame, "\n\n", 2);
  http_stream_write(g->req, frame.data, frame.len);
  hr_buf_free(&frame);
}

static void write_tool_calls(json_writer *w, const tool_call_list *calls, bool delta);

/* One SSE chunk: a token's delta, the calls' delta (every call whole at
 * once), the finish, or the usage. */
static void send_chunk_of(gen_request *g, const eng_event *tok_ev, const char *finish,
                          const eng_event *usage, const tool_call_list *calls) {
  const tokenizer *tok = eng_model_tokenizer(g->model->engine);
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  write_head(&w, g, true);
  json_w_key(&w, "choices");
  json_w_arr_begin(&w);
  if (!usage) {
    json_w_obj_begin(&w);
    json_w_key(&w, "index");
    json_w_int(&w, 0);
    if (g->kind == GEN_CHAT) {
      json_w_key(&w, "delta");
      json_w_obj_begin(&w);
      if (!g->sent_role) {
        json_w_key(&w, "role");
        json_w_str(&w, "assistant");
        g->sent_role = true;
      }
      if (tok_ev) {
        json_w_key(&w, "content");
        json_w_strn(&w, tok_ev->text, tok_ev->text_len);
      } else if (calls) {
        json_w_key(&w, "content");
        json_w_null(&w);
        write_tool_calls(&w, calls, true);
      }
      json_w_obj_end(&w);
    } else {
      json_w_key(&w, "text");
      json_w_strn(&w, tok_ev ? tok_ev->text : "", tok_ev ? tok_ev->text_len : 0);
    }
    json_w_key(&w, "logprobs");
    if (tok_ev && g->logprobs >= 0 && g->kind == GEN_CHAT && tok_ev->token >= 0) {
      json_w_obj_begin(&w);
      json_w_key(&w, "content");
      json_w_arr_begin(&w);
      write_chat_logprob(&w, tok, tok_ev);
      json_w_arr_end(&w);
      json_w_obj_end(&w);
    } else if (tok_ev && g->logprobs >= 0 && g->kind == GEN_COMPLETION &&
               (tok_ev->token >= 0 || g->lp[0].len)) {
      /* a token's, or the echo's with the prompt's scores gathered */
      if (tok_ev->token >= 0) completion_lp_add(g, tok_ev->token, tok_ev, g->text_offset);
      write_completion_logprobs(&w, g);
      for (int k = 0; k < 4; k++) hr_buf_clear(&g->lp[k]);
    } else {
      json_w_null(&w);
    }
    json_w_key(&w, "finish_reason");
    if (finish) json_w_str(&w, finish);
    else json_w_null(&w);
    json_w_obj_end(&w);
  }
  json_w_arr_end(&w);
  if (usage) write_usage(&w, usage);
  json_w_obj_end(&w);
  json_w_finish(&w);
  sse_send(g, &b);
  hr_buf_free(&b);
}

static void send_chunk(gen_request *g, const eng_event *tok_ev, const char *finish,
                       const eng_event *usage) {
  send_chunk_of(g, tok_ev, finish, usage, NULL);
}

/* A token's name in the completions logprobs: its text when that is valid
 * UTF-8, else OpenAI's "bytes:\xNN..." form (a piece ending inside a
 * character would read as U+FFFD, and several such tokens would share one
 * name, one key of top_logprobs). In the request's arena. */
static hr_str lp_token_name(gen_request *g, int32_t token) {
  hr_str p = tok_decode_piece(eng_model_tokenizer(g->model->engine), token, false);
  utf8proc_int32_t cp;
  for (utf8proc_ssize_t i = 0, n; i < (utf8proc_ssize_t)p.len; i += n)
    if ((n = utf8proc_iterate((const utf8proc_uint8_t *)p.ptr + i, (utf8proc_ssize_t)p.len - i, &cp)) < 0)
      goto bytes;
  return p;
bytes:;
  char *out = hr_arena_alloc(http_req_arena(g->req), 6 + 4 * p.len + 1);
  if (!out) return HR_STR("");
  size_t at = (size_t)sprintf(out, "bytes:");
  for (size_t i = 0; i < p.len; i++) at += (size_t)sprintf(out + at, "\\x%02x", (unsigned char)p.ptr[i]);
  return hr_str_make(out, at);
}

/* Adds a token to the completions logprobs arrays: its text, its
 * log-probability and top (ev NULL: a prompt's first token, which has
 * neither) and the byte offset of its text. */
static void completion_lp_add(gen_request *g, int32_t token, const eng_event *ev, size_t offset) {
  json_writer w;
  for (int k = 0; k < 4; k++)
    if (g->lp[k].len) hr_buf_putc(&g->lp[k], ',');
  hr_str piece = lp_token_name(g, token);
  json_w_init(&w, &g->lp[0]);
  json_w_strn(&w, piece.ptr, piece.len);
  json_w_init(&w, &g->lp[1]);
  if (ev) json_w_float(&w, ev->chosen.logprob);
  else json_w_null(&w);
  json_w_init(&w, &g->lp[2]);
  if (ev) {
    /* the top tokens and, as OpenAI gives it, the token itself (up to
     * logprobs + 1 entries) */
    bool listed = false;
    json_w_obj_begin(&w);
    for (int i = 0; i < ev->n_top; i++) {
      hr_str p = lp_token_name(g, ev->top[i].id);
      listed |= ev->top[i].id == token || hr_str_eq(p, piece);
      json_w_key(&w, hr_arena_strndup(http_req_arena(g->req), p.ptr, p.len));
      json_w_float(&w, ev->top[i].logprob);
    }
    if (!listed) {
      json_w_key(&w, hr_arena_strndup(http_req_arena(g->req), piece.ptr, piece.len));
      json_w_float(&w, ev->chosen.logprob);
    }
    json_w_obj_end(&w);
  } else {
    json_w_null(&w);
  }
  json_w_init(&w, &g->lp[3]);
  json_w_uint(&w, offset);
}

/* The completions logprobs object from the arrays' items gathered. */
static void write_completion_logprobs(json_writer *w, gen_request *g) {
  static const char *keys[] = {"tokens", "token_logprobs", "top_logprobs", "text_offset"};
  json_w_obj_begin(w);
  for (int k = 0; k < 4; k++) {
    json_w_key(w, keys[k]);
    json_w_arr_begin(w);
    if (g->lp[k].len) json_w_raw(w, g->lp[k].data, g->lp[k].len);
    json_w_arr_end(w);
  }
  json_w_obj_end(w);
}

/* A prompt token of an echo, scored (ev) or the first (NULL): its item at
 * its place in the echoed text. */
static void prompt_token_scored(gen_request *g, int32_t token, const eng_event *ev) {
  const tokenizer *tok = eng_model_tokenizer(g->model->engine);
  size_t at = g->prompt_offset < 0 ? 0 : (size_t)g->prompt_offset;
  completion_lp_add(g, token, ev, HR_MIN(at, g->echo.len));
  g->prompt_offset += (ptrdiff_t)tok_decode_piece(tok, token, false).len;
}

/* Non-streaming: remember the token's text and logprobs. */
static void collect(gen_request *g, const eng_event *ev) {
  hr_buf_append(&g->text, ev->text, ev->text_len);
  if (g->logprobs < 0 || ev->token < 0) return;
  if (g->kind == GEN_COMPLETION) {
    completion_lp_add(g, ev->token, ev, g->text_offset);
    return;
  }
  const tokenizer *tok = eng_model_tokenizer(g->model->engine);
  json_writer w;
  if (g->n_logprob_items++) hr_buf_putc(&g->logprob_json, ',');
  json_w_init(&w, &g->logprob_json);
  write_chat_logprob(&w, tok, ev);
  json_w_finish(&w);
}

/* The calls in the answer (0: it is text). An answer cut by max_tokens or
 * by an error is text, whatever it began as. */
static int parse_calls(gen_request *g, const eng_event *done, tool_call_list *calls) {
  memset(calls, 0, sizeof *calls);
  calls->content = HR_STR("");
  if (g->calls == GEN_CALLS_NONE || done->finish != ENG_FINISH_STOP) return 0;
  int n = tool_calls_parse(http_req_arena(g->req), g->text.data ? g->text.data : "", g->text.len,
                           g->tools, g->calls == GEN_CALLS_FORCED, calls);
  if (n > 1 && g->one_call) n = calls->n = 1;
  return n > 0 ? n : 0; /* out of memory: the text goes out as it is */
}

/* "tool_calls": [{id, type, function: {name, arguments as a JSON string}}]
 * (with "index" in a stream's delta). */
static void write_tool_calls(json_writer *w, const tool_call_list *calls, bool delta) {
  json_w_key(w, "tool_calls");
  json_w_arr_begin(w);
  for (int i = 0; i < calls->n; i++) {
    hr_buf a = HR_BUF_INIT;
    json_writer aw;
    json_w_init(&aw, &a);
    json_w_value(&aw, calls->calls[i].arguments);
    json_w_finish(&aw);
    char id[48];
    gen_make_id(id, sizeof id, "call_");
    json_w_obj_begin(w);
    if (delta) {
      json_w_key(w, "index");
      json_w_int(w, i);
    }
    json_w_key(w, "id");
    json_w_str(w, id);
    json_w_key(w, "type");
    json_w_str(w, "function");
    json_w_key(w, "function");
    json_w_obj_begin(w);
    json_w_key(w, "name");
    json_w_strn(w, calls->calls[i].name.ptr, calls->calls[i].name.len);
    json_w_key(w, "arguments");
    json_w_strn(w, a.data ? a.data : "", a.len);
    json_w_obj_end(w);
    json_w_obj_end(w);
    hr_buf_free(&a);
  }
  json_w_arr_end(w);
}

static void answer_whole(gen_request *g, const eng_event *done) {
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  write_head(&w, g, false);
  json_w_key(&w, "choices");
  json_w_arr_begin(&w);
  json_w_obj_begin(&w);
  json_w_key(&w, "index");
  json_w_int(&w, 0);
  tool_call_list calls;
  bool call = parse_calls(g, done, &calls) > 0;
  if (g->kind == GEN_CHAT) {
    json_w_key(&w, "message");
    json_w_obj_begin(&w);
    json_w_key(&w, "role");
    json_w_str(&w, "assistant");
    json_w_key(&w, "content");
    if (call && !calls.content.len) json_w_null(&w);
    else if (call) json_w_strn(&w, calls.content.ptr, calls.content.len);
    else json_w_strn(&w, g->text.data ? g->text.data : "", g->text.len);
    json_w_key(&w, "refusal");
    json_w_null(&w);
    if (call) write_tool_calls(&w, &calls, false);
    json_w_obj_end(&w);
  } else {
    json_w_key(&w, "text");
    json_w_strn(&w, g->text.data ? g->text.data : "", g->text.len);
  }
  json_w_key(&w, "logprobs");
  if (g->logprobs < 0) {
    json_w_null(&w);
  } else if (g->kind == GEN_CHAT) {
    json_w_obj_begin(&w);
    json_w_key(&w, "content");
    json_w_arr_begin(&w);
    json_w_raw(&w, g->logprob_json.data ? g->logprob_json.data : "", g->logprob_json.len);
    json_w_arr_end(&w);
    json_w_obj_end(&w);
  } else {
    write_completion_logprobs(&w, g);
  }
  json_w_key(&w, "finish_reason");
  json_w_str(&w, call ? "tool_calls" : finish_name(done->finish));
  json_w_obj_end(&w);
  json_w_arr_end(&w);
  write_usage(&w, done);
  json_w_obj_end(&w);
  json_w_finish(&w);
  http_respond_json(g->req, 200, &b);
  hr_buf_free(&b);
}

static void gen_free(gen_request *g) {
  for (gen_event *e = g->ev_head, *next; e; e = next) {
    next = e->next;
    free(e);
  }
  for (gen_event *e = g->held_head, *next; e; e = next) {
    next = e->next;
    free(e);
  }
  hr_buf_free(&g->text);
  hr_buf_free(&g->logprob_json);
  for (int k = 0; k < 4; k++) hr_buf_free(&g->lp[k]);
  pthread_mutex_destroy(&g->lock);
  free(g);
}

static void on_done(gen_request *g, const eng_event *done) {
  http_req *r = g->req;
  eng_seq_release(g->seq);
  api_model_observe(g->model, done);
  if (g->aborted || done->finish == ENG_FINISH_CANCELLED) {
    if (g->stream) http_stream_end(r);
    else http_req_release(r);
  } else if (done->finish == ENG_FINISH_ERROR && !g->stream) {
    http_respond_error(r, 500, "server_error", NULL, NULL,
                       "the model failed while generating; the server goes on");
  } else if (g->stream) {
    tool_call_list calls;
    bool call = parse_calls(g, done, &calls) > 0;
    if (call) {
      send_unsent_parts(g, &calls);
      send_chunk_of(g, NULL, NULL, NULL, &calls);
    } else if (g->calls == GEN_CALLS_AUTO) {
      release_held(g, g->text.len); /* not a call after all: text, token by token */
    } else if (g->calls == GEN_CALLS_FORCED && g->text.len) {
      /* a forced call cut short: what there is, as text */
      eng_event ev = {.kind = ENG_EV_TOKEN, .text = g->text.data, .text_len = g->text.len, .token = -1};
      send_chunk(g, &ev, NULL, NULL);
    }
    send_chunk(g, NULL,
               call ? "tool_calls" : done->finish == ENG_FINISH_ERROR ? "error" : finish_name(done->finish),
               NULL);
    if (g->include_usage) send_chunk(g, NULL, NULL, done);
    http_stream_write(r, "data: [DONE]\n\n", 14);
    http_stream_end(r);
  } else {
    answer_whole(g, done);
  }
  gen_free(g);
}

/* Sends the held tokens whose text lies wholly within the first free_text
 * bytes of the answer, each in its own chunk with its logprobs. */
static void release_held(gen_request *g, size_t free_text) {
  while (g->held_head && g->text_sent + g->held_head->ev.text_len <= free_text) {
    gen_event *e = g->held_head;
    if (!(g->held_head = e->next)) g->held_tail = NULL;
    if (e->ev.text_len || e->ev.token >= 0) send_chunk(g, &e->ev, NULL, NULL);
    g->text_sent += e->ev.text_len;
    free(e);
  }
}

/* A token of a stream that may hold calls (taking e over): it goes out
 * once no call can begin in its text. */
static void stream_maybe_call(gen_request *g, gen_event *e) {
  hr_buf_append(&g->text, e->ev.text, e->ev.text_len);
  e->next = NULL;
  if (g->held_tail) g->held_tail->next = e;
  else g->held_head = e;
  g->held_tail = e;
  release_held(g, tool_calls_text_prefix(g->text.data ? g->text.data : "", g->text.len, g->text_sent));
}

/* The calls' answer has text beside them that the stream held back: it
 * goes out before the calls (the parts are pieces of g->text). */
static void send_unsent_parts(gen_request *g, const tool_call_list *calls) {
  hr_buf b = HR_BUF_INIT;
  const char *sent_end = (g->text.data ? g->text.data : "") + g->text_sent;
  for (int i = 0; i < calls->n_parts; i++) {
    const char *p = calls->parts[i].ptr, *end = p + calls->parts[i].len;
    if (end <= sent_end) continue;
    bool fresh = p >= sent_end; /* else the rest of a part the stream began */
    if (!fresh) p = sent_end;
    if (fresh && (b.len || g->text_sent)) hr_buf_putc(&b, '\n');
    hr_buf_append(&b, p, (size_t)(end - p));
  }
  if (b.len) {
    eng_event ev = {.kind = ENG_EV_TOKEN, .text = b.data, .text_len = b.len, .token = -1};
    send_chunk(g, &ev, NULL, NULL);
  }
  hr_buf_free(&b);
}

/* A stream's echo, held until the prompt's logprobs were all in: one
 * chunk with the prompt's text and its tokens' logprobs. */
static void send_echo(gen_request *g) {
  eng_event ev = {.kind = ENG_EV_TOKEN, .text = g->echo.ptr, .text_len = g->echo.len, .token = -1};
  send_chunk(g, &ev, NULL, NULL);
  g->echo_pending = false;
}

/* Runs on the loop: turns queued events into output. */
static void drain(http_req *r, void *arg) {
  HR_UNUSED(r);
  gen_request *g = arg;
  pthread_mutex_lock(&g->lock);
  gen_event *e = g->ev_head;
  g->ev_head = g->ev_tail = NULL;
  g->post_pending = false;
  pthread_mutex_unlock(&g->lock);
  while (e) {
    gen_event *next = e->next;
    if (e->ev.kind == ENG_EV_PROMPT) {
      if (!g->aborted) prompt_token_scored(g, e->ev.token, &e->ev);
      free(e);
      e = next;
      continue;
    }
    if (g->echo_pending && !g->aborted) send_echo(g);
    if (e->ev.kind == ENG_EV_DONE) {
      eng_event done = e->ev;
      free(e);
      for (gen_event *x = next; x; x = next) { /* nothing follows DONE */
        next = x->next;
        free(x);
      }
      on_done(g, &done);
      return;
    }
    if (!g->aborted) {
      if (g->stream && g->calls == GEN_CALLS_NONE) {
        if (e->ev.text_len || e->ev.token >= 0) send_chunk(g, &e->ev, NULL, NULL);
      } else if (g->stream && g->calls == GEN_CALLS_AUTO) {
        stream_maybe_call(g, e);
        e = next;
        continue;
      } else { /* a forced call goes out whole at the end */
        collect(g, &e->ev);
      }
      g->text_offset += e->ev.text_len;
    }
    free(e);
    e = next;
  }
}

static void on_abort(http_req *r, void *arg) {
  HR_UNUSED(r);
  gen_request *g = arg;
  g->aborted = true;
  eng_cancel(g->seq);
}

/* ---- starting ---------------------------------------------------------- */

void gen_sampling(const gen_sampling_fields *f, sampler_params *sp) {
  sampler_params_default(sp);
  /* OpenAI's defaults: temperature 1, nucleus off; no top-k or min-p
   * unless the request asks (hearth's extensions). */
  sp->temperature = f->has_temperature ? (float)f->temperature : 1.0f;
  sp->top_p = f->has_top_p ? (float)f->top_p : 1.0f;
  sp->top_k = f->has_top_k ? (int)f->top_k : 0;
  sp->min_p = f->has_min_p ? (float)f->min_p : 0.0f;
  sp->repeat_penalty = f->has_repeat_penalty ? (float)f->repeat_penalty : 1.0f;
  sp->presence_penalty = (float)f->presence_penalty;
  sp->frequency_penalty = (float)f->frequency_penalty;
  if (f->has_seed) {
    sp->seed = (uint64_t)f->seed;
  } else if (RAND_bytes((unsigned char *)&sp->seed, sizeof sp->seed) != 1) {
    sp->seed = (uint64_t)hr_now_ns();
  }
}

int gen_logit_bias(http_req *r, const hr_str *keys, const double *values, size_t n, int n_vocab,
                   sampler_params *sp) {
  if (n == 0) return 0;
  hr_arena *a = http_req_arena(r);
  int32_t *ids = hr_arena_alloc(a, sizeof(int32_t) * n);
  float *vals = hr_arena_alloc(a, sizeof(float) * n);
  if (!ids || !vals) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    char *end;
    char *k = hr_arena_strndup(a, keys[i].ptr, keys[i].len);
    long id = k ? strtol(k, &end, 10) : -1;
    if (!k || !keys[i].len || *end || id < 0 || id >= n_vocab) {
      char param[96];
      snprintf(param, sizeof param, "logit_bias.%.*s", (int)HR_MIN(keys[i].len, 60), keys[i].ptr);
      http_respond_error(r, 400, "invalid_request_error", "invalid_value", param,
                         "%s: not a token id of this model (0 to %d)", param, n_vocab - 1);
      return -1;
    }
    ids[i] = (int32_t)id;
    vals[i] = (float)values[i];
  }
  sp->bias_ids = ids;
  sp->bias_values = vals;
  sp->n_bias = (int)n;
  return 0;
}

const char **gen_stop_strings(http_req *r, const hr_str *items, size_t n) {
  if (!n) return NULL;
  hr_arena *a = http_req_arena(r);
  const char **stop = hr_arena_alloc(a, sizeof(char *) * n);
  for (size_t i = 0; stop && i < n; i++) stop[i] = hr_arena_strndup(a, items[i].ptr, items[i].len);
  return stop;
}

int api_token_ids(http_req *r, const int64_t *ids, size_t n, int n_vocab, const char *param,
                  int32_t **out) {
  int32_t *o = hr_arena_alloc(http_req_arena(r), sizeof(int32_t) * (n + 1));
  if (!o) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= n_vocab) {
      char where[64];
      snprintf(where, sizeof where, "%s[%zu]", param, i);
      http_respond_error(r, 400, "invalid_request_error", "invalid_value", where,
                         "%s: %lld is not a token id of this model (0 to %d)", where,
                         (long long)ids[i], n_vocab - 1);
      return -1;
    }
    o[i] = (int32_t)ids[i];
  }
  *out = o;
  return 0;
}

void gen_make_id(char *out, size_t n, const char *prefix) {
  unsigned char raw[12];
  if (RAND_bytes(raw, sizeof raw) != 1) memset(raw, 0, sizeof raw);
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  size_t at = (size_t)snprintf(out, n, "%s", prefix);
  for (size_t i = 0; i < sizeof raw * 2 && at + 1 < n; i++)
    out[at++] = alphabet[(raw[i / 2] >> ((i & 1) * 4) ^ raw[(i * 7) % sizeof raw]) % 62];
  out[at] = 0;
}

/* gen_start's arguments, carried from the intake thread to the loop. */
typedef struct {
  api_model *m;
  gen_params p;
} gen_start_args;

static void drop_start_args(void *arg) {
  gen_start_args *a = arg;
  jc_free(a->p.constraint);
  free(a);
}

static void gen_start_posted(http_req *r, void *arg) {
  gen_start_args *a = arg;
  gen_start(r, a->m, &a->p);
  free(a);
}

void gen_start(http_req *r, api_model *m, const gen_params *p) {
  if (!http_on_io_thread()) { /* a large body read on the intake thread: submit from the loop */
    gen_start_args *a = malloc(sizeof *a);
    if (!a) {
      jc_free(p->constraint);
      http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
      return;
    }
    *a = (gen_start_args){.m = m, .p = *p};
    api_on_loop(r, gen_start_posted, drop_start_args, a);
    return;
  }
  gen_request *g = calloc(1, sizeof *g);
  if (!g) {
    jc_free(p->constraint);
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return;
  }
  g->req = r;
  g->model = m;
  g->kind = p->kind;
  g->stream = p->stream;
  g->include_usage = p->include_usage;
  g->calls = p->calls;
  g->tools = p->tools;
  g->one_call = p->one_call;
  g->logprobs = p->logprobs;
  g->created = hr_wall_ms() / 1000;
  g->echo = p->echo;
  bool score_prompt = p->prompt_logprobs && p->logprobs >= 0;
  if (score_prompt) {
    g->prompt = p->prompt;
    /* A tokenizer that adds a space in front of the text (SentencePiece)
     * gives pieces one byte longer than the echo: offsets start at -1. */
    const tokenizer *tok = eng_model_tokenizer(m->engine);
    size_t total = 0;
    const char *first = NULL;
    for (int i = 0; i < p->n_prompt; i++) {
      hr_str piece = tok_decode_piece(tok, p->prompt[i], false);
      if (!first && piece.len) first = piece.ptr;
      total += piece.len;
    }
    if (first && *first == ' ' && total == p->echo.len + 1 && (!p->echo.len || p->echo.ptr[0] != ' '))
      g->prompt_offset = -1;
  }
  gen_make_id(g->id, sizeof g->id, p->kind == GEN_CHAT ? "chatcmpl-" : "cmpl-");
  pthread_mutex_init(&g->lock, NULL);
  eng_gen_params ep = {.prompt = p->prompt,
                       .n_prompt = p->n_prompt,
                       .max_tokens = p->max_tokens,
                       .sampling = p->sp,
                       .stop = p->stop,
                       .n_stop = p->n_stop,
                       .n_logprobs = p->logprobs,
                       .prompt_logprobs = score_prompt,
                       .prompt_only = p->prompt_only,
                       .constraint = p->constraint,
                       .on_event = on_event,
                       .user = g};
  /* Events reach this loop through posted tasks, which cannot run before
   * this handler returns: the stream's head and the echo go out first. */
  int rc = eng_submit(m->engine, &ep, &g->seq);
  if (rc == HR_OK) {
    http_req_on_abort(r, on_abort, g);
    if (p->stream) {
      http_res_header(r, "X-Accel-Buffering", "no");
      http_stream_begin(r, 200, "text/event-stream");
    }
    if (score_prompt) prompt_token_scored(g, p->prompt[0], NULL); /* the first has no logprob */
    if (g->echo.len) {
      if (score_prompt && p->stream) {
        g->echo_pending = true; /* with the prompt's logprobs, once they are in */
      } else if (p->stream) {
        eng_event ev = {.kind = ENG_EV_TOKEN, .text = g->echo.ptr, .text_len = g->echo.len, .token = -1};
        send_chunk(g, &ev, NULL, NULL);
      } else {
        hr_buf_append(&g->text, g->echo.ptr, g->echo.len);
      }
      g->text_offset = g->echo.len;
    }
    return;
  }
  if (rc == HR_EBUSY) {
    http_res_header(r, "Retry-After", "1");
    http_respond_error(r, 503, "server_error", "server_busy", NULL,
                       "every slot of model %s is busy and its queue is full; retry later",
                       m->info.name);
  } else {
    http_respond_error(r, 500, "server_error", NULL, NULL, "the request could not be queued: %s",
                       hr_strerror(rc));
  }
  gen_free(g);
}
