/* chat.c — POST /v1/chat/completions: the request is read as JSON,
 * validated into a chat_request (a bad field is a 400 naming its path), and
 * routed by model name. Until the engine serves models, every model is
 * unknown, and the answer says so. */
#include "routes.h"
#include "chat_request.h"
#include "generate.h"

#include "../engine/chat_template.h"
#include "../engine/json_constraint.h"
#include "../engine/tokenizer.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* An assistant message's tool_calls appended to its text as the calls
 * hearth's instructions ask for (<tool_call>{"name", "arguments"}), for a
 * template that shows no tools. */
static int calls_as_text(hr_arena *a, const json_value *calls, hr_str *text) {
  if (!calls || calls->type != JSON_ARRAY || !calls->u.arr.n) return 0;
  hr_buf b = HR_BUF_INIT;
  hr_buf_append(&b, text->ptr ? text->ptr : "", text->len);
  for (size_t i = 0; i < calls->u.arr.n; i++) {
    const json_value *fn = json_get(calls->u.arr.items[i], "function");
    const json_value *name = json_get(fn, "name"), *args = json_get(fn, "arguments");
    if (!name || name->type != JSON_STRING) continue;
    json_writer w;
    if (b.len) hr_buf_putc(&b, '\n');
    hr_buf_append_str(&b, "<tool_call>{\"name\": ");
    json_w_init(&w, &b);
    json_w_strn(&w, name->u.str.ptr, name->u.str.len);
    json_w_finish(&w);
    hr_buf_append_str(&b, ", \"arguments\": ");
    /* arguments arrive as a JSON string; one that is not JSON goes as a string */
    json_value *parsed = NULL;
    bool is_json = args && args->type == JSON_STRING &&
                   !json_read(a, args->u.str.ptr, args->u.str.len, NULL, &parsed, NULL);
    json_w_init(&w, &b);
    if (is_json) json_w_value(&w, parsed);
    else if (args) json_w_value(&w, args);
    else json_w_obj_begin(&w), json_w_obj_end(&w);
    json_w_finish(&w);
    hr_buf_append_str(&b, "}</tool_call>");
  }
  char *joined = b.data ? hr_arena_strndup(a, b.data, b.len) : NULL;
  size_t n = b.len;
  hr_buf_free(&b);
  if (!joined && n) return HR_ENOMEM;
  if (joined) *text = hr_str_make(joined, n);
  return 0;
}

/* A message content holding a special token's text, rendered as a stand-in
 * and put back after: its place in the prompt becomes a plain span. */
typedef struct {
  char stand_in[48];
  size_t stand_in_len;
  hr_str text;
  size_t message; /* its index in messages; SIZE_MAX: hearth's system message of tools */
  size_t at;      /* where the stand-in is in the rendered text */
} guarded_content;

/* 32 random decimal digits: what no template filter changes (trim, upper,
 * tojson: control or private-use characters would not all survive those)
 * and no message holds by chance. */
static void make_stand_in(guarded_content *g) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = (unsigned char)(rand() ^ (int)(i * 37));
  for (size_t i = 0; i < sizeof raw; i++) g->stand_in[i] = (char)('0' + raw[i] % 10);
  g->stand_in_len = sizeof raw;
  g->stand_in[g->stand_in_len] = 0;
}

static int by_place(const void *x, const void *y) {
  const guarded_content *a = x, *b = y;
  return (a->at > b->at) - (a->at < b->at);
}

/* Puts each guarded content back in place of its stand-in in out, and its
 * byte range in the result into plain (in the request's arena). A stand-in
 * the template dropped, repeated or changed is a 400: that content cannot
 * be kept apart from the template's own text. */
static int put_back(http_req *r, guarded_content *g, size_t n, hr_buf *out, tok_span **plain) {
  hr_arena *a = http_req_arena(r);
  for (size_t k = 0; k < n; k++) {
    const char *p = out->data ? memmem(out->data, out->len, g[k].stand_in, g[k].stand_in_len) : NULL;
    size_t rest = p ? out->len - (size_t)(p - out->data) - 1 : 0;
    if (!p || memmem(p + 1, rest, g[k].stand_in, g[k].stand_in_len)) {
      if (g[k].message == SIZE_MAX)
        http_respond_error(r, 400, "invalid_request_error", "invalid_value", "tools",
                           "a tool's description holds a special token's text, and this model's "
                           "chat template does not show it as it is, so it cannot be kept as "
                           "plain text");
      else
        http_respond_error(r, 400, "invalid_request_error", "invalid_value", "messages",
                           "messages[%zu].content holds a special token's text, and this model's "
                           "chat template does not show the content as it is, so it cannot be "
                           "kept as plain text",
                           g[k].message);
      return -1;
    }
    g[k].at = (size_t)(p - out->data);
  }
  qsort(g, n, sizeof *g, by_place);
  hr_buf joined = HR_BUF_INIT;
  tok_span *spans = hr_arena_alloc(a, sizeof *spans * n);
  size_t from = 0;
  int rc = spans ? 0 : HR_ENOMEM;
  for (size_t k = 0; k < n && !rc; k++) {
    rc = hr_buf_append(&joined, out->data + from, g[k].at - from);
    spans[k].start = joined.len;
    if (!rc) rc = hr_buf_append(&joined, g[k].text.ptr, g[k].text.len);
    spans[k].end = joined.len;
    from = g[k].at + g[k].stand_in_len;
  }
  if (!rc) rc = hr_buf_append(&joined, out->data + from, out->len - from);
  if (rc) {
    hr_buf_free(&joined);
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return -1;
  }
  hr_buf_free(out);
  *out = joined;
  *plain = spans;
  return 0;
}

/* Renders the conversation with the model's chat template. system_extra
 * (hearth's own instructions for a template that shows no tools) joins the
 * system message. A content that holds the text of a control token
 * ("<|im_end|>") is plain text, as OpenAI treats every content, not a turn
 * of the template's: its range in out goes to *plain (*n_plain of them) for
 * the tokenizer. 0, or an answer was sent. */
static int render_prompt(http_req *r, api_model *m, const chat_request *req, hr_str system_extra,
                         hr_buf *out, tok_span **plain, size_t *n_plain) {
  hr_arena *a = http_req_arena(r);
  *plain = NULL;
  *n_plain = 0;
  const tokenizer *tok = eng_model_tokenizer(m->engine);
  jinja_value *ctx = jinja_dict_new(a);
  json_value *msgs = hr_arena_calloc(a, 1, sizeof *msgs);
  if (!ctx || !msgs) goto oom;
  /* The messages as templates expect them: content as one string.
   * system_extra joins the first system message, or comes first as one. */
  bool own_system = system_extra.len && !(req->n_messages && hr_str_eq_cstr(req->messages[0].role, "system"));
  msgs->type = JSON_ARRAY;
  msgs->u.arr.n = req->n_messages + own_system;
  msgs->u.arr.items = hr_arena_calloc(a, msgs->u.arr.n, sizeof(json_value *));
  if (!msgs->u.arr.items) goto oom;
  static const chat_message system_message = {.role = {"system", 6}};
  guarded_content *guard = NULL;
  size_t n_guard = 0;
  for (size_t i = 0; i < msgs->u.arr.n; i++) {
    const chat_message *cm = own_system ? (i ? &req->messages[i - 1] : &system_message) : &req->messages[i];
    hr_str text = HR_STR("");
    if (cm != &system_message && chat_message_text(a, cm, &text)) goto oom;
    /* A template that shows no tools would drop the earlier calls: they go
     * in the text, in the shape hearth's instructions ask for, also when
     * this request brings no tools (a follow-up after the calls were
     * answered), so that the tool messages still answer something. */
    if (!m->template_shows_tools && cm->has_tool_calls && calls_as_text(a, cm->tool_calls, &text))
      goto oom;
    if (i == 0 && system_extra.len) {
      char *joined = hr_arena_sprintf(a, "%.*s%s%.*s", (int)text.len, text.ptr ? text.ptr : "",
                                      text.len ? "\n\n" : "", (int)system_extra.len, system_extra.ptr);
      if (!joined) goto oom;
      text = hr_str_make(joined, strlen(joined));
    }
    json_value *o = hr_arena_calloc(a, 1, sizeof *o);
    json_member *mem = hr_arena_calloc(a, 5, sizeof *mem);
    if (!o || !mem) goto oom;
    o->type = JSON_OBJECT;
    o->u.obj.members = mem;
    size_t k = 0;
    json_value *role = hr_arena_calloc(a, 1, sizeof *role), *content = hr_arena_calloc(a, 1, sizeof *content);
    if (!role || !content) goto oom;
    role->type = JSON_STRING;
    role->u.str.ptr = cm->role.ptr;
    role->u.str.len = cm->role.len;
    mem[k++] = (json_member){HR_STR("role"), role};
    content->type = JSON_STRING;
    content->u.str.ptr = text.ptr ? text.ptr : "";
    content->u.str.len = text.len;
    if (text.len && tok_has_special_text(tok, text.ptr, text.len)) {
      if (!guard && !(guard = hr_arena_calloc(a, msgs->u.arr.n, sizeof *guard))) goto oom;
      guarded_content *g = &guard[n_guard++];
      make_stand_in(g);
      g->text = text;
      g->message = cm == &system_message ? SIZE_MAX : i - own_system;
      content->u.str.ptr = g->stand_in;
      content->u.str.len = g->stand_in_len;
    }
    mem[k++] = (json_member){HR_STR("content"), content};
    if (cm->has_tool_calls) mem[k++] = (json_member){HR_STR("tool_calls"), (json_value *)cm->tool_calls};
    if (cm->has_name) {
      json_value *nm = hr_arena_calloc(a, 1, sizeof *nm);
      if (!nm) goto oom;
      nm->type = JSON_STRING;
      nm->u.str.ptr = cm->name.ptr;
      nm->u.str.len = cm->name.len;
      mem[k++] = (json_member){HR_STR("name"), nm};
    }
    if (cm->has_tool_call_id) {
      json_value *id = hr_arena_calloc(a, 1, sizeof *id);
      if (!id) goto oom;
      id->type = JSON_STRING;
      id->u.str.ptr = cm->tool_call_id.ptr;
      id->u.str.len = cm->tool_call_id.len;
      mem[k++] = (json_member){HR_STR("tool_call_id"), id};
    }
    o->u.obj.n = k;
    msgs->u.arr.items[i] = o;
  }
  hr_str bos = tok_bos(tok) >= 0 ? tok_token_text(tok, tok_bos(tok)) : HR_STR("");
  hr_str eos = tok_eos(tok) >= 0 ? tok_token_text(tok, tok_eos(tok)) : HR_STR("");
  if (jinja_dict_set(a, ctx, "messages", jinja_from_json(a, msgs)) ||
      jinja_dict_set(a, ctx, "add_generation_prompt", jinja_bool_new(a, true)) ||
      jinja_dict_set(a, ctx, "bos_token", jinja_string_new(a, bos.ptr, bos.len)) ||
      jinja_dict_set(a, ctx, "eos_token", jinja_string_new(a, eos.ptr, eos.len)) ||
      (req->has_tools && jinja_dict_set(a, ctx, "tools", jinja_from_json(a, req->tools))))
    goto oom;
  char err[256];
  int rc = chat_template_render(m->tmpl, a, ctx, NULL, out, err, sizeof err);
  if (rc == HR_EINVAL) {
    http_respond_error(r, 400, "invalid_request_error", "invalid_messages", "messages",
                       "the model's chat template refused the conversation: %s", err);
    return -1;
  }
  if (rc) {
    http_respond_error(r, 500, "server_error", "template_error", NULL,
                       "the model's chat template failed: %s", err);
    return -1;
  }
  if (n_guard && put_back(r, guard, n_guard, out, plain)) return -1;
  *n_plain = n_guard;
  return 0;
oom:
  http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
  return -1;
}

static int encode_prompt(const tokenizer *tok, hr_str text, bool templated, const tok_span *plain,
                         size_t n_plain, int32_t *out, size_t max, size_t *n) {
  if (templated && n_plain) return tok_encode_guarded(tok, text.ptr, text.len, false, plain, n_plain, out, max, n);
  return tok_encode(tok, text.ptr, text.len, false, templated, out, max, n);
}

/* Tokenizes a rendered prompt: special-token texts become their tokens, and
 * BOS is added when the model wants it and the text does not start with it. */
int api_tokenize_prompt(http_req *r, const tokenizer *tok, hr_str text, bool templated,
                        const tok_span *plain, size_t n_plain, int32_t **ids, int *n_ids) {
  hr_arena *a = http_req_arena(r);
  bool add_bos = tok_add_bos(tok) && tok_bos(tok) >= 0;
  if (add_bos && templated) {
    hr_str bos = tok_token_text(tok, tok_bos(tok));
    if (bos.len && text.len >= bos.len && !memcmp(text.ptr, bos.ptr, bos.len)) add_bos = false;
  }
  size_t cap = text.len * 3 + 8, n = 0;
  int32_t *out = hr_arena_alloc(a, sizeof(int32_t) * cap);
  if (!out) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return -1;
  }
  /* tok_encode adds BOS and EOS as the model says; a chat prompt wants no
   * EOS, so BOS is put in by hand. */
  size_t at = 0;
  if (add_bos) out[at++] = tok_bos(tok);
  if (encode_prompt(tok, text, templated, plain, n_plain, out + at, cap - at, &n) == HR_ERANGE) {
    /* More tokens than the guess (byte fallback can give 3 per byte): size
     * exactly and encode again rather than cut the prompt. */
    int32_t *bigger = hr_arena_alloc(a, sizeof(int32_t) * (at + n));
    if (!bigger) {
      http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
      return -1;
    }
    memcpy(bigger, out, sizeof(int32_t) * at);
    out = bigger;
    encode_prompt(tok, text, templated, plain, n_plain, out + at, n, &n);
  }
  *ids = out;
  *n_ids = (int)(at + n);
  return 0;
}

/* response_format: "json_object" asks for any JSON object, "json_schema"
 * for JSON its schema allows; both become the automaton that constrains
 * sampling (engine/json_constraint.h). "text" leaves *out NULL. Answers
 * 400 itself and returns non-zero for a schema it cannot enforce. */
static int output_constraint(http_req *r, const api_response_format *rf, jc_schema **out) {
  *out = NULL;
  if (hr_str_eq_cstr(rf->type, "text")) return 0;
  const json_value *schema = NULL;
  if (hr_str_eq_cstr(rf->type, "json_schema")) {
    if (rf->json_schema->type != JSON_OBJECT) {
      http_respond_error(r, 400, "invalid_request_error", "invalid_type", "response_format.json_schema",
                         "response_format.json_schema: expected an object with a schema");
      return -1;
    }
    schema = json_get(rf->json_schema, "schema"); /* absent: any object */
  }
  char err[400];
  int rc = jc_compile(schema, out, err, sizeof err);
  if (rc == HR_EINVAL) {
    http_respond_error(r, 400, "invalid_request_error", "unsupported_value",
                       "response_format.json_schema.schema", "response_format.json_schema.%s", err);
    return -1;
  }
  if (rc) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return -1;
  }
  return 0;
}

/* The functions a call may be of. */
typedef struct {
  const json_value **fn; /* the tools' "function" objects */
  size_t *index;         /* their places in tools */
  int n;
} call_functions;

/* The tools' functions into f (named want, or all when want is NULL);
 * HR_ENOMEM or 0. */
static int list_functions(hr_arena *a, const json_value *tools, const json_value *want, call_functions *f) {
  size_t n_tools = tools && tools->type == JSON_ARRAY ? tools->u.arr.n : 0;
  f->n = 0;
  f->fn = hr_arena_calloc(a, n_tools + 1, sizeof *f->fn);
  f->index = hr_arena_calloc(a, n_tools + 1, sizeof *f->index);
  if (!f->fn || !f->index) return HR_ENOMEM;
  for (size_t i = 0; i < n_tools; i++) {
    const json_value *fn = json_get(tools->u.arr.items[i], "function");
    const json_value *name = json_get(fn, "name");
    if (!name || name->type != JSON_STRING) continue;
    if (want && !(want->u.str.len == name->u.str.len && !memcmp(want->u.str.ptr, name->u.str.ptr, name->u.str.len)))
      continue;
    f->fn[f->n] = fn;
    f->index[f->n++] = i;
    if (want) break;
  }
  return 0;
}

/* tools with tool_choice "auto" (or none given): the model may answer
 * with calls, found in its text (tool_calls.h). Not under a
 * response_format, which makes the answer content. */
static bool auto_calls(const chat_request *req) {
  if (!req->has_tools || !req->tools || req->tools->type != JSON_ARRAY || !req->tools->u.arr.n) return false;
  if (req->has_response_format && !hr_str_eq_cstr(req->response_format.type, "text")) return false;
  if (!req->has_tool_choice || !req->tool_choice) return true;
  return req->tool_choice->type == JSON_STRING && !strcmp(req->tool_choice->u.str.ptr, "auto");
}

/* tool_choice naming a function ({"type": "function", "function":
 * {"name": ...}}) or "required": the answer must be a call, of that
 * function or of any of the tools; f->n = 0 leaves the model free ("auto",
 * "none": the chat template shows it the tools). Answers 400 itself and
 * returns non-zero. */
static int forced_functions(http_req *r, const chat_request *req, call_functions *f) {
  f->n = 0;
  if (!req->has_tool_choice || !req->tool_choice) return 0;
  const json_value *tc = req->tool_choice, *want = NULL;
  if (tc->type == JSON_STRING && strcmp(tc->u.str.ptr, "required")) return 0; /* auto, none */
  if (tc->type == JSON_OBJECT) {
    want = json_get(json_get(tc, "function"), "name");
    if (!want || want->type != JSON_STRING) {
      http_respond_error(r, 400, "invalid_request_error", "invalid_value", "tool_choice.function.name",
                         "tool_choice.function.name: expected the name of one of the tools");
      return -1;
    }
  }
  size_t n_tools = req->has_tools && req->tools && req->tools->type == JSON_ARRAY ? req->tools->u.arr.n : 0;
  if (!n_tools) {
    http_respond_error(r, 400, "invalid_request_error", "invalid_value", "tool_choice",
                       "tool_choice: a forced call needs tools");
    return -1;
  }
  if (!want && n_tools > JC_PROPS_MAX) { /* a named call compiles one tool, whatever the list */
    http_respond_error(r, 400, "invalid_request_error", "unsupported_value", "tools",
                       "tools: a forced call chooses among at most %d tools", JC_PROPS_MAX);
    return -1;
  }
  if (req->has_response_format && !hr_str_eq_cstr(req->response_format.type, "text")) {
    http_respond_error(r, 400, "invalid_request_error", "unsupported_value", "response_format",
                       "response_format: a forced tool call already fixes the answer's shape");
    return -1;
  }
  if (list_functions(http_req_arena(r), req->tools, want, f)) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return -1;
  }
  if (f->n) return 0;
  http_respond_error(r, 400, "invalid_request_error", "invalid_value", "tool_choice.function.name",
                     "tool_choice.function.name: no tool is named \"%.*s\"",
                     want ? (int)HR_MIN(want->u.str.len, 100) : 0, want ? want->u.str.ptr : "");
  return -1;
}

/* The automaton of a call of one of f's functions. */
static int call_constraint(http_req *r, const call_functions *f, jc_schema **out) {
  jc_function *fns = hr_arena_calloc(http_req_arena(r), (size_t)f->n, sizeof *fns);
  if (!fns) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return -1;
  }
  for (int i = 0; i < f->n; i++) {
    const json_value *name = json_get(f->fn[i], "name");
    fns[i] = (jc_function){name->u.str.ptr, name->u.str.len, json_get(f->fn[i], "parameters")};
  }
  char err[400];
  int bad;
  int rc = jc_compile_calls(fns, f->n, out, &bad, err, sizeof err);
  if (rc == HR_EINVAL) {
    char param[64];
    if (bad >= 0) snprintf(param, sizeof param, "tools[%zu].function.parameters", f->index[bad]);
    else snprintf(param, sizeof param, "tools");
    /* err names places from "parameters": say whose */
    const char *rest = bad >= 0 && !strncmp(err, "parameters", strlen("parameters"))
                           ? err + strlen("parameters")
                           : strstr(err, ": ");
    http_respond_error(r, 400, "invalid_request_error", "unsupported_value", param, "%s%s", param,
                       rest ? rest : err);
    return -1;
  }
  if (rc) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return -1;
  }
  return 0;
}

/* What a model whose chat template does not show tools is told of them, in
 * the request's arena: each function, its description and its parameters'
 * schema, and the shape to write: for a forced call the JSON object the
 * automaton holds it to (told, the model fills it sensibly), for a call it
 * may choose the tags tool_calls.h reads. */
static hr_str call_instructions(hr_arena *a, const call_functions *f, bool forced, bool one_call) {
  hr_buf b = HR_BUF_INIT;
  hr_buf_append_str(&b, f->n == 1 ? "You can call this function:" : "You can call these functions:");
  for (int i = 0; i < f->n; i++) {
    const json_value *name = json_get(f->fn[i], "name"), *desc = json_get(f->fn[i], "description");
    const json_value *params = json_get(f->fn[i], "parameters");
    hr_buf_appendf(&b, "\n- %.*s", (int)name->u.str.len, name->u.str.ptr);
    if (desc && desc->type == JSON_STRING)
      hr_buf_appendf(&b, ": %.*s", (int)HR_MIN(desc->u.str.len, 2000), desc->u.str.ptr);
    if (params) {
      hr_buf_append_str(&b, " Its arguments fit this JSON schema: ");
      json_writer w;
      json_w_init(&w, &b);
      json_w_value(&w, params);
      json_w_finish(&w);
    }
  }
  if (forced)
    hr_buf_append_str(&b, "\nAnswer with only a JSON object {\"name\": the function's name, \"arguments\": {...}}.");
  else
    hr_buf_appendf(&b, "\nTo call a function, answer with only <tool_call>{\"name\": the function's name, "
                       "\"arguments\": {...}}</tool_call>%s. Otherwise answer as usual.",
                   one_call ? " (one call at most)" : "");
  char *text = b.data ? hr_arena_strndup(a, b.data, b.len) : NULL;
  hr_str out = text ? hr_str_make(text, b.len) : HR_STR("");
  hr_buf_free(&b);
  return out;
}

/* A chat request's prompt as token ids, as the chat endpoint renders it
 * (the template, with hearth's description of the tools when the template
 * shows none); fns gets the functions a call may be of (forced ones, or
 * every tool when the model may choose: *may_call). Answers errors. */
static int chat_prompt_ids(http_req *r, api_model *m, const chat_request *req, call_functions *fns,
                           bool *may_call, int32_t **ids, int *n_ids) {
  if (forced_functions(r, req, fns)) return -1;
  *may_call = !fns->n && auto_calls(req);
  if (*may_call && list_functions(http_req_arena(r), req->tools, NULL, fns)) {
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return -1;
  }
  /* A template that does not show tools leaves the model guessing what to
   * call with what: the system message tells it. */
  hr_str instructions = fns->n && !m->template_shows_tools
                            ? call_instructions(http_req_arena(r), fns, !*may_call,
                                                req->has_parallel_tool_calls && !req->parallel_tool_calls)
                            : HR_STR("");
  hr_buf prompt_text = HR_BUF_INIT;
  tok_span *plain;
  size_t n_plain;
  if (render_prompt(r, m, req, instructions, &prompt_text, &plain, &n_plain)) {
    hr_buf_free(&prompt_text);
    return -1;
  }
  const tokenizer *tok = eng_model_tokenizer(m->engine);
  hr_log(HR_LOG_DEBUG, "%s: prompt for %s: %.*s", http_req_id(r), m->info.name,
         (int)HR_MIN(prompt_text.len, 4000), prompt_text.data ? prompt_text.data : "");
  int rc = api_tokenize_prompt(r, tok, hr_str_make(prompt_text.data ? prompt_text.data : "", prompt_text.len),
                               true, plain, n_plain, ids, n_ids);
  hr_buf_free(&prompt_text);
  return rc;
}

int api_chat_prompt_ids(http_req *r, api_model *m, const chat_request *req, int32_t **ids,
                        int *n_ids) {
  call_functions fns = {0};
  bool may_call;
  return chat_prompt_ids(r, m, req, &fns, &may_call, ids, n_ids);
}

static void handle_chat(http_req *r, api_context *ctx) {
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
  if (gen_check_choices(r, m, n, "n")) return;
  call_functions fns = {0};
  bool may_call;
  int32_t *ids;
  int n_ids;
  if (chat_prompt_ids(r, m, &req, &fns, &may_call, &ids, &n_ids)) return;
  if (n_ids >= m->info.n_ctx) {
    http_respond_error(r, 400, "invalid_request_error", "context_length_exceeded", "messages",
                       "This model's maximum context length is %d tokens. However, your messages "
                       "resulted in %d tokens.",
                       m->info.n_ctx, n_ids);
    return;
  }
  int64_t max_tokens = req.has_max_completion_tokens ? req.max_completion_tokens
                       : req.has_max_tokens          ? req.max_tokens
                                                     : 0;
  sampler_params sp;
  gen_sampling_fields f = GEN_SAMPLING_FIELDS(req);
  gen_sampling(&f, &sp);
  if (req.has_logit_bias &&
      gen_logit_bias(r, req.logit_bias.keys, req.logit_bias.values, req.logit_bias.n,
                     m->info.n_vocab, &sp))
    return;
  const char **stop = req.has_stop ? gen_stop_strings(r, req.stop.items, req.stop.n) : NULL;
  int logprobs = req.has_logprobs && req.logprobs ? (req.has_top_logprobs ? (int)req.top_logprobs : 0) : -1;
  jc_schema *constraint = NULL;
  bool call = fns.n > 0 && !may_call;
  if (call ? call_constraint(r, &fns, &constraint)
           : req.has_response_format && output_constraint(r, &req.response_format, &constraint))
    return;
  gen_prompt *prompt = hr_arena_alloc(http_req_arena(r), sizeof *prompt);
  if (!prompt) {
    jc_free(constraint);
    http_respond_error(r, 500, "server_error", NULL, NULL, "out of memory");
    return;
  }
  *prompt = (gen_prompt){.ids = ids, .n_ids = n_ids};
  gen_params p = {.kind = GEN_CHAT,
                  .prompts = prompt,
                  .n_prompts = 1,
                  .n = n,
                  .max_tokens = (int)HR_MIN(max_tokens, 1 << 30),
                  .sp = sp,
                  .stop = stop,
                  .n_stop = req.has_stop ? (int)req.stop.n : 0,
                  .logprobs = logprobs,
                  .stream = req.has_stream && req.stream,
                  .include_usage = req.has_stream_options && req.stream_options.include_usage,
                  .constraint = constraint,
                  .calls = call ? GEN_CALLS_FORCED : may_call ? GEN_CALLS_AUTO : GEN_CALLS_NONE,
                  .tools = call || may_call ? req.tools : NULL,
                  .one_call = req.has_parallel_tool_calls && !req.parallel_tool_calls};
  gen_start(r, m, &p);
}

static void on_chat_completions(http_req *r, void *data) { api_dispatch(r, data, handle_chat); }

int api_register_chat(http_server *s, api_context *ctx) {
  return http_server_route(s, HTTP_POST, "/v1/chat/completions", on_chat_completions, ctx,
                           4u << 20);
}
