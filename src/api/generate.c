/* generate.c — see generate.h. Wire formats: OpenAI's chat.completion and
 * chat.completion.chunk objects, and text_completion for /v1/completions;
 * a stream is one SSE `data:` frame per token (under its choice's index),
 * then each choice's finish chunk, the usage chunk when asked for, and
 * `data: [DONE]`. */
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
static void release_held(gen_choice *c, size_t free_text);
static void send_unsent_parts(gen_choice *c, const tool_call_list *calls);
static void gen_free(gen_request *g);
static void completion_lp_add(gen_choice *c, int32_t token, const eng_event *ev, size_t offset);
static void write_completion_logprobs(json_writer *w, gen_choice *c);

static void on_event(eng_seq *s, const eng_event *ev, void *user) {
  HR_UNUSED(s);
  gen_choice *c = user;
  gen_request *g = c->g;
  /* DONE (no text) comes in the event made for it at the start: an
   * answer must not wait forever for an event lost to a failed malloc */
  gen_event *e = ev->kind == ENG_EV_DONE ? c->done_event : malloc(sizeof *e + ev->text_len + 1);
  if (!e) return; /* the token is lost, the answer goes on */
  if (ev->kind == ENG_EV_DONE) c->done_event = NULL;
  e->next = NULL;
  e->choice = c->index;
  e->ev = *ev;
  memcpy(e->text, ev->text ? ev->text : "", ev->text_len);
  e->text[ev->text_len] = 0;
  e->ev.text = e->text;
  pthread_mutex_lock(&g->lock);
  if (g->ev_tail) g->ev_tail->next = e;
  else g->ev_head = e;
  g->ev_tail = e;
  if (ev->kind == ENG_EV_DONE) g->n_done_seen++;
  /* One task in flight at a time; posting under the lock means the task
   * that drains the final event is the last one that touches g. */
  if (!g->post_pending) {
    g->post_pending = true;
    /* A server that stopped has freed the request; nothing drains g then,
     * so the last DONE frees it here (the seqs released before the
     * engine's own unref, which follows this call). */
    int rc = http_req_post(g->req, drain, g);
    if (rc == HR_ECLOSED) g->orphaned = true;
    else if (rc) g->post_pending = false; /* no memory for the task: the next event posts */
  }
  bool last = g->orphaned && g->n_done_seen == g->n_submitted;
  pthread_mutex_unlock(&g->lock);
  if (last) gen_free(g);
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

/* The whole answer's usage: every choice's completion tokens, each
 * prompt's tokens once (its first choice's count). */
static void write_usage(json_writer *w, const gen_request *g) {
  int64_t prompt = 0, cached = 0, generated = 0;
  for (int i = 0; i < g->n_choices; i++) {
    const gen_choice *c = &g->choices[i];
    generated += c->done_ev.n_generated;
    if (c->first_of_prompt) prompt += c->done_ev.n_prompt, cached += c->done_ev.n_cached;
  }
  json_w_key(w, "usage");
  json_w_obj_begin(w);
  json_w_key(w, "prompt_tokens");
  json_w_int(w, prompt);
  json_w_key(w, "completion_tokens");
  json_w_int(w, generated);
  json_w_key(w, "total_tokens");
  json_w_int(w, prompt + generated);
  json_w_key(w, "prompt_tokens_details");
  json_w_obj_begin(w);
  json_w_key(w, "cached_tokens");
  json_w_int(w, cached);
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

/* One SSE chunk of choice c: a token's delta, the calls' delta (every call
 * whole at once) or the finish. */
static void send_chunk_of(gen_choice *c, const eng_event *tok_ev, const char *finish,
                          const tool_call_list *calls) {
  gen_request *g = c->g;
  const tokenizer *tok = eng_model_tokenizer(g->model->engine);
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  write_head(&w, g, true);
  json_w_key(&w, "choices");
  json_w_arr_begin(&w);
  json_w_obj_begin(&w);
  json_w_key(&w, "index");
  json_w_int(&w, c->index);
  if (g->kind == GEN_CHAT) {
    json_w_key(&w, "delta");
    json_w_obj_begin(&w);
    if (!c->sent_role) {
      json_w_key(&w, "role");
      json_w_str(&w, "assistant");
      c->sent_role = true;
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
             (tok_ev->token >= 0 || c->lp[0].len)) {
    /* a token's, or the echo's with the prompt's scores gathered */
    if (tok_ev->token >= 0) completion_lp_add(c, tok_ev->token, tok_ev, c->text_offset);
    write_completion_logprobs(&w, c);
    for (int k = 0; k < 4; k++) hr_buf_clear(&c->lp[k]);
  } else {
    json_w_null(&w);
  }
  json_w_key(&w, "finish_reason");
  if (finish) json_w_str(&w, finish);
  else json_w_null(&w);
  json_w_obj_end(&w);
  json_w_arr_end(&w);
  json_w_obj_end(&w);
  json_w_finish(&w);
  sse_send(g, &b);
  hr_buf_free(&b);
}

static void send_chunk(gen_choice *c, const eng_event *tok_ev, const char *finish) {
  send_chunk_of(c, tok_ev, finish, NULL);
}

/* The stream's usage chunk: no choices, the whole answer's usage. */
static void send_usage_chunk(gen_request *g) {
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  write_head(&w, g, true);
  json_w_key(&w, "choices");
  json_w_arr_begin(&w);
  json_w_arr_end(&w);
  write_usage(&w, g);
  json_w_obj_end(&w);
  json_w_finish(&w);
  sse_send(g, &b);
  hr_buf_free(&b);
}

/* A token's name in the completions logprobs: its text when that is valid
 * UTF-8, else OpenAI's "bytes:\xNN..." form (a piece ending inside a
 * character would read as U+FFFD, and several such tokens would share one
 * name, one key of top_logprobs). In the request's arena. */
static hr_str lp_token_name(gen_request *g, int32_t token) {
  hr_str p = tok_decode_piece(eng_model_tokenizer(g->model->engine), token, true);
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

/* Adds a token to choice c's completions logprobs arrays: its text, its
 * log-probability and top (ev NULL: a prompt's first token, which has
 * neither) and the byte offset of its text. */
static void completion_lp_add(gen_choice *c, int32_t token, const eng_event *ev, size_t offset) {
  gen_request *g = c->g;
  json_writer w;
  for (int k = 0; k < 4; k++)
    if (c->lp[k].len) hr_buf_putc(&c->lp[k], ',');
  hr_str piece = lp_token_name(g, token);
  json_w_init(&w, &c->lp[0]);
  json_w_strn(&w, piece.ptr, piece.len);
  json_w_init(&w, &c->lp[1]);
  if (ev) json_w_float(&w, ev->chosen.logprob);
  else json_w_null(&w);
  json_w_init(&w, &c->lp[2]);
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
  json_w_init(&w, &c->lp[3]);
  json_w_uint(&w, offset);
}

/* The completions logprobs object from the arrays' items gathered. */
static void write_completion_logprobs(json_writer *w, gen_choice *c) {
  static const char *keys[] = {"tokens", "token_logprobs", "top_logprobs", "text_offset"};
  json_w_obj_begin(w);
  for (int k = 0; k < 4; k++) {
    json_w_key(w, keys[k]);
    json_w_arr_begin(w);
    if (c->lp[k].len) json_w_raw(w, c->lp[k].data, c->lp[k].len);
    json_w_arr_end(w);
  }
  json_w_obj_end(w);
}

/* Whether the tokenizer put a space in front of the prompt's text (as
 * SentencePiece does): its pieces (control tokens aside) then run one byte
 * longer than the text, beginning with that space. */
static bool prompt_space_added(const tokenizer *tok, const gen_prompt *pr) {
  size_t total = 0;
  const char *first = NULL;
  for (int i = 0; i < pr->n_ids; i++) {
    hr_str piece = tok_decode_piece(tok, pr->ids[i], false);
    if (!first && piece.len) first = piece.ptr;
    total += piece.len;
  }
  return first && *first == ' ' && total == pr->echo.len + 1;
}

/* Characters (code points) in UTF-8 text: what text_offset counts, as
 * OpenAI's Python does (not bytes). */
static size_t utf8_chars(const char *p, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += ((unsigned char)p[i] & 0xC0) != 0x80;
  return k;
}

/* A prompt token of an echo, scored (ev) or the first (NULL): its item at
 * its place in the echoed text. Each piece is looked for where the last
 * ended: a control token the tokenizer added (a BOS) has no text there,
 * and the first text token's leading space may be the one the tokenizer
 * added. */
static void prompt_token_scored(gen_choice *c, int32_t token, const eng_event *ev) {
  const tokenizer *tok = eng_model_tokenizer(c->g->model->engine);
  hr_str piece = tok_decode_piece(tok, token, true);
  size_t at = HR_MIN(c->prompt_offset, c->echo.len), left = c->echo.len - at;
  size_t advance = piece.len;
  bool text_token = tok_decode_piece(tok, token, false).len > 0;
  const char *rest = c->echo.ptr + at;
  if (c->space_added && text_token) {
    advance = piece.len - 1;
    c->space_added = false;
  } else if (piece.len <= left && !memcmp(rest, piece.ptr, piece.len)) {
    advance = piece.len;
  } else if (piece.len && piece.ptr[0] == ' ' && piece.len - 1 <= left &&
             !memcmp(rest, piece.ptr + 1, piece.len - 1)) {
    advance = piece.len - 1; /* SentencePiece's space again after a special text */
  } else if (!text_token) {
    advance = 0; /* not in the text: added by the tokenizer */
  }
  completion_lp_add(c, token, ev, c->prompt_chars);
  c->prompt_chars += utf8_chars(rest, HR_MIN(advance, left));
  c->prompt_offset = at + advance;
}

/* Non-streaming: remember the token's text and logprobs. */
static void collect(gen_choice *c, const eng_event *ev) {
  gen_request *g = c->g;
  hr_buf_append(&c->text, ev->text, ev->text_len);
  if (g->logprobs < 0 || ev->token < 0) return;
  if (g->kind == GEN_COMPLETION) {
    completion_lp_add(c, ev->token, ev, c->text_offset);
    return;
  }
  const tokenizer *tok = eng_model_tokenizer(g->model->engine);
  json_writer w;
  if (c->n_logprob_items++) hr_buf_putc(&c->logprob_json, ',');
  json_w_init(&w, &c->logprob_json);
  write_chat_logprob(&w, tok, ev);
  json_w_finish(&w);
}

/* The calls in choice c's answer (0: it is text). An answer cut by
 * max_tokens or by an error is text, whatever it began as. */
static int parse_calls(gen_choice *c, tool_call_list *calls) {
  gen_request *g = c->g;
  memset(calls, 0, sizeof *calls);
  calls->content = HR_STR("");
  if (g->calls == GEN_CALLS_NONE || c->done_ev.finish != ENG_FINISH_STOP) return 0;
  int n = tool_calls_parse(http_req_arena(g->req), c->text.data ? c->text.data : "", c->text.len,
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

static void answer_whole(gen_request *g) {
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  write_head(&w, g, false);
  json_w_key(&w, "choices");
  json_w_arr_begin(&w);
  for (int i = 0; i < g->n_choices; i++) {
    gen_choice *c = &g->choices[i];
    json_w_obj_begin(&w);
    json_w_key(&w, "index");
    json_w_int(&w, c->index);
    tool_call_list calls;
    bool call = parse_calls(c, &calls) > 0;
    if (g->kind == GEN_CHAT) {
      json_w_key(&w, "message");
      json_w_obj_begin(&w);
      json_w_key(&w, "role");
      json_w_str(&w, "assistant");
      json_w_key(&w, "content");
      if (call && !calls.content.len) json_w_null(&w);
      else if (call) json_w_strn(&w, calls.content.ptr, calls.content.len);
      else json_w_strn(&w, c->text.data ? c->text.data : "", c->text.len);
      json_w_key(&w, "refusal");
      json_w_null(&w);
      if (call) write_tool_calls(&w, &calls, false);
      json_w_obj_end(&w);
    } else {
      json_w_key(&w, "text");
      json_w_strn(&w, c->text.data ? c->text.data : "", c->text.len);
    }
    json_w_key(&w, "logprobs");
    if (g->logprobs < 0) {
      json_w_null(&w);
    } else if (g->kind == GEN_CHAT) {
      json_w_obj_begin(&w);
      json_w_key(&w, "content");
      json_w_arr_begin(&w);
      json_w_raw(&w, c->logprob_json.data ? c->logprob_json.data : "", c->logprob_json.len);
      json_w_arr_end(&w);
      json_w_obj_end(&w);
    } else {
      write_completion_logprobs(&w, c);
    }
    json_w_key(&w, "finish_reason");
    json_w_str(&w, call ? "tool_calls" : finish_name(c->done_ev.finish));
    json_w_obj_end(&w);
  }
  json_w_arr_end(&w);
  write_usage(&w, g);
  json_w_obj_end(&w);
  json_w_finish(&w);
  http_respond_json(g->req, 200, &b);
  hr_buf_free(&b);
}

static void free_events(gen_event *e) {
  for (gen_event *next; e; e = next) {
    next = e->next;
    free(e);
  }
}

/* Frees g and drops its hold on every sequence (the engine keeps its own
 * until their DONE events). */
static void gen_free(gen_request *g) {
  free_events(g->ev_head);
  for (int i = 0; i < g->n_choices; i++) {
    gen_choice *c = &g->choices[i];
    eng_seq_release(c->seq);
    free_events(c->held_head);
    free(c->done_event);
    hr_buf_free(&c->text);
    hr_buf_free(&c->logprob_json);
    for (int k = 0; k < 4; k++) hr_buf_free(&c->lp[k]);
  }
  pthread_mutex_destroy(&g->lock);
  free(g);
}

/* The answer when a choice could not be queued (the others, queued, were
 * cancelled and have ended). */
static void answer_submit_error(gen_request *g) {
  http_req *r = g->req;
  if (g->submit_rc == HR_EBUSY) {
    http_res_header(r, "Retry-After", "1");
    http_respond_error(r, 503, "server_error", "server_busy", NULL,
                       "every slot of model %s is busy and its queue is full; retry later",
                       g->model->info.name);
  } else {
    http_respond_error(r, 500, "server_error", NULL, NULL, "the request could not be queued: %s",
                       hr_strerror(g->submit_rc));
  }
}

/* Every choice has ended: the answer's end. */
static void on_all_done(gen_request *g) {
  http_req *r = g->req;
  bool cancelled = g->aborted, failed = false;
  for (int i = 0; i < g->n_submitted; i++) {
    cancelled |= g->choices[i].done_ev.finish == ENG_FINISH_CANCELLED;
    failed |= g->choices[i].done_ev.finish == ENG_FINISH_ERROR;
  }
  if (g->submit_rc && !g->aborted) {
    answer_submit_error(g); /* (a stream had not begun) */
  } else if (cancelled || g->submit_rc) {
    if (g->stream && !g->submit_rc) http_stream_end(r);
    else http_req_release(r);
  } else if (failed && !g->stream) {
    http_respond_error(r, 500, "server_error", NULL, NULL,
                       "the model failed while generating; the server goes on");
  } else if (g->stream) {
    if (g->include_usage) send_usage_chunk(g);
    http_stream_write(r, "data: [DONE]\n\n", 14);
    http_stream_end(r);
  } else {
    answer_whole(g);
  }
  gen_free(g);
}

/* Choice c has ended: a stream sends what it held back and its finish. */
static void on_choice_done(gen_choice *c, const eng_event *done) {
  gen_request *g = c->g;
  c->done_ev = *done;
  api_model_observe(g->model, done);
  if (!g->stream || g->aborted || g->submit_rc || done->finish == ENG_FINISH_CANCELLED) return;
  tool_call_list calls;
  bool call = parse_calls(c, &calls) > 0;
  if (call) {
    send_unsent_parts(c, &calls);
    send_chunk_of(c, NULL, NULL, &calls);
  } else if (g->calls == GEN_CALLS_AUTO) {
    release_held(c, c->text.len); /* not a call after all: text, token by token */
  } else if (g->calls == GEN_CALLS_FORCED && c->text.len) {
    /* a forced call cut short: what there is, as text */
    eng_event ev = {.kind = ENG_EV_TOKEN, .text = c->text.data, .text_len = c->text.len, .token = -1};
    send_chunk(c, &ev, NULL);
  }
  send_chunk(c, NULL,
             call ? "tool_calls" : done->finish == ENG_FINISH_ERROR ? "error" : finish_name(done->finish));
}

/* Sends the held tokens whose text lies wholly within the first free_text
 * bytes of choice c's answer, each in its own chunk with its logprobs. */
static void release_held(gen_choice *c, size_t free_text) {
  while (c->held_head && c->text_sent + c->held_head->ev.text_len <= free_text) {
    gen_event *e = c->held_head;
    if (!(c->held_head = e->next)) c->held_tail = NULL;
    if (e->ev.text_len || e->ev.token >= 0) send_chunk(c, &e->ev, NULL);
    c->text_sent += e->ev.text_len;
    free(e);
  }
}

/* A token of a stream that may hold calls (taking e over): it goes out
 * once no call can begin in its text. */
static void stream_maybe_call(gen_choice *c, gen_event *e) {
  hr_buf_append(&c->text, e->ev.text, e->ev.text_len);
  e->next = NULL;
  if (c->held_tail) c->held_tail->next = e;
  else c->held_head = e;
  c->held_tail = e;
  release_held(c, tool_calls_text_prefix(c->text.data ? c->text.data : "", c->text.len, c->text_sent));
}

/* The calls' answer has text beside them that the stream held back: it
 * goes out before the calls (the parts are pieces of c->text). */
static void send_unsent_parts(gen_choice *c, const tool_call_list *calls) {
  hr_buf b = HR_BUF_INIT;
  const char *sent_end = (c->text.data ? c->text.data : "") + c->text_sent;
  for (int i = 0; i < calls->n_parts; i++) {
    const char *p = calls->parts[i].ptr, *end = p + calls->parts[i].len;
    if (end <= sent_end) continue;
    bool fresh = p >= sent_end; /* else the rest of a part the stream began */
    if (!fresh) p = sent_end;
    if (fresh && (b.len || c->text_sent)) hr_buf_putc(&b, '\n');
    hr_buf_append(&b, p, (size_t)(end - p));
  }
  if (b.len) {
    eng_event ev = {.kind = ENG_EV_TOKEN, .text = b.data, .text_len = b.len, .token = -1};
    send_chunk(c, &ev, NULL);
  }
  hr_buf_free(&b);
}

/* A stream's echo, held until the prompt's logprobs were all in: one
 * chunk with the prompt's text and its tokens' logprobs. */
static void send_echo(gen_choice *c) {
  eng_event ev = {.kind = ENG_EV_TOKEN, .text = c->echo.ptr, .text_len = c->echo.len, .token = -1};
  send_chunk(c, &ev, NULL);
  c->echo_pending = false;
}

/* One event of choice c (taken over). */
static void on_choice_event(gen_choice *c, gen_event *e) {
  gen_request *g = c->g;
  bool live = !g->aborted && !g->submit_rc;
  if (e->ev.kind == ENG_EV_PROMPT) {
    if (live) prompt_token_scored(c, e->ev.token, &e->ev);
  } else {
    if (c->echo_pending && live) send_echo(c);
    if (e->ev.kind == ENG_EV_DONE) {
      on_choice_done(c, &e->ev);
    } else if (live) {
      if (g->stream && g->calls == GEN_CALLS_NONE) {
        if (e->ev.text_len || e->ev.token >= 0) send_chunk(c, &e->ev, NULL);
      } else if (g->stream && g->calls == GEN_CALLS_AUTO) {
        stream_maybe_call(c, e);
        return;
      } else { /* a forced call goes out whole at the end */
        collect(c, &e->ev);
      }
      c->text_offset += utf8_chars(e->ev.text, e->ev.text_len);
    }
  }
  free(e);
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
    bool done = e->ev.kind == ENG_EV_DONE;
    on_choice_event(&g->choices[e->choice], e);
    if (done && ++g->n_done == g->n_submitted) {
      free_events(next); /* nothing follows the last DONE */
      on_all_done(g);
      return;
    }
    e = next;
  }
}

static void on_abort(http_req *r, void *arg) {
  HR_UNUSED(r);
  gen_request *g = arg;
  g->aborted = true;
  for (int i = 0; i < g->n_submitted; i++) eng_cancel(g->choices[i].seq);
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
    /* a token id in decimal as written by a JSON encoder: "01" or " 1"
     * would be a second key for the same token, whose value wins unclear */
    bool canonical = k && keys[i].len && keys[i].len <= 10 && (k[0] != '0' || keys[i].len == 1) &&
                     strspn(k, "0123456789") == keys[i].len;
    long id = canonical ? strtol(k, &end, 10) : -1;
    if (!canonical || *end || id < 0 || id >= n_vocab) {
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

int gen_check_choices(http_req *r, const api_model *m, int n_choices, const char *param) {
  int most = m->info.n_slots + m->info.queue_max;
  if (n_choices <= most) return 0;
  http_respond_error(r, 400, "invalid_request_error", "unsupported_value", param,
                     "%s: %d choices in one request, but model %s takes at most %d at once "
                     "(its slots and queue)", param, n_choices, m->info.name, most);
  return -1;
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
  int n_choices = p->n_prompts * p->n;
  gen_request *g = calloc(1, sizeof *g + sizeof(gen_choice) * (size_t)n_choices);
  bool ok = g != NULL;
  for (int i = 0; ok && i < n_choices; i++)
    ok = (g->choices[i].done_event = malloc(sizeof(gen_event) + 1)) != NULL;
  if (!ok) {
    if (g) gen_free(g);
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
  g->n_choices = n_choices;
  gen_make_id(g->id, sizeof g->id, p->kind == GEN_CHAT ? "chatcmpl-" : "cmpl-");
  pthread_mutex_init(&g->lock, NULL);
  bool score_prompt = p->prompt_logprobs && p->logprobs >= 0;
  for (int i = 0; i < n_choices; i++) {
    gen_choice *c = &g->choices[i];
    const gen_prompt *pr = &p->prompts[i / p->n];
    c->g = g;
    c->index = i;
    c->first_of_prompt = i % p->n == 0;
    c->echo = pr->echo;
    if (score_prompt) c->space_added = prompt_space_added(eng_model_tokenizer(m->engine), pr);
  }
  /* No event can come before the first submit: until one is refused,
   * every choice counts as submitted. */
  g->n_submitted = n_choices;
  int rc = HR_OK, submitted = 0;
  for (; submitted < n_choices; submitted++) {
    gen_choice *c = &g->choices[submitted];
    const gen_prompt *pr = &p->prompts[submitted / p->n];
    eng_gen_params ep = {.prompt = pr->ids,
                         .n_prompt = pr->n_ids,
                         .max_tokens = p->max_tokens,
                         .sampling = p->sp,
                         .stop = p->stop,
                         .n_stop = p->n_stop,
                         .n_logprobs = p->logprobs,
                         .prompt_logprobs = score_prompt,
                         .prompt_only = p->prompt_only,
                         .constraint = jc_share(p->constraint),
                         .on_event = on_event,
                         .user = c};
    ep.sampling.seed += (uint64_t)(submitted % p->n); /* n choices: n draws */
    if ((rc = eng_submit(m->engine, &ep, &c->seq))) break;
  }
  jc_free(p->constraint); /* each sequence holds a share of its own */
  if (rc) {
    /* The ones queued are cancelled; the error is the answer once they end. */
    pthread_mutex_lock(&g->lock);
    g->n_submitted = submitted;
    g->submit_rc = rc;
    bool gone = g->orphaned && g->n_done_seen == submitted && submitted > 0;
    pthread_mutex_unlock(&g->lock);
    if (gone) {
      gen_free(g);
    } else if (submitted == 0) {
      answer_submit_error(g);
      gen_free(g);
    } else {
      for (int i = 0; i < submitted; i++) eng_cancel(g->choices[i].seq);
      http_req_on_abort(r, on_abort, g);
    }
    return;
  }
  /* Events reach this loop through posted tasks, which cannot run before
   * this handler returns: the stream's head and the echoes go out first. */
  http_req_on_abort(r, on_abort, g);
  if (p->stream) {
    http_res_header(r, "X-Accel-Buffering", "no");
    http_stream_begin(r, 200, "text/event-stream");
  }
  for (int i = 0; i < n_choices; i++) {
    gen_choice *c = &g->choices[i];
    if (score_prompt) /* the first has no logprob */
      prompt_token_scored(c, p->prompts[i / p->n].ids[0], NULL);
    if (score_prompt && p->stream) {
      c->echo_pending = true; /* with the prompt's logprobs, once they are in */
      c->text_offset = utf8_chars(c->echo.ptr, c->echo.len);
      continue;
    }
    if (!c->echo.len) continue;
    if (p->stream) {
      eng_event ev = {.kind = ENG_EV_TOKEN, .text = c->echo.ptr, .text_len = c->echo.len, .token = -1};
      send_chunk(c, &ev, NULL);
    } else {
      hr_buf_append(&c->text, c->echo.ptr, c->echo.len);
    }
    c->text_offset = utf8_chars(c->echo.ptr, c->echo.len);
  }
}
