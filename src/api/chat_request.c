/* chat_request.c — the schemas of OpenAI's chat completion, completion and
 * embeddings request bodies, and the few rules a schema cannot say (which
 * role may leave content out, json_schema required by its format type).
 *
 * The schemas are static tables: one json_schema per shape, one json_field
 * per member, laid over the structs of chat_request.h with offsetof. Scalar
 * schemas used for optional fields are nullable (null = absent); those used
 * for array items and required fields are not. */
#include "chat_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- shared pieces ------------------------------------------------------ */

#define OPT(type, json_name, member, schema) \
  {json_name, &(schema), offsetof(type, member), false, offsetof(type, has_##member)}
#define REQ(type, json_name, member, schema) \
  {json_name, &(schema), offsetof(type, member), true, -1}

static const char *check_positive(const json_value *v, void *slot) {
  return *(double *)slot > 0 ? NULL : "must be greater than 0";
}

static const char *check_nonempty(const json_value *v, void *slot) {
  return ((hr_str *)slot)->len ? NULL : "must not be empty";
}

static const char *check_tool_choice(const json_value *v, void *slot) {
  if (v->type == JSON_OBJECT) return NULL;
  if (v->type != JSON_STRING) return "expected a string or an object";
  static const char *const ok[] = {"none", "auto", "required"};
  for (size_t i = 0; i < HR_ARRAY_LEN(ok); i++)
    if (strlen(ok[i]) == v->u.str.len && memcmp(ok[i], v->u.str.ptr, v->u.str.len) == 0) return NULL;
  return "must be one of: \"none\", \"auto\", \"required\", or an object";
}

/* required strings and array items: null is a type error */
static const json_schema s_str = {.kind = JS_STRING};
static const json_schema s_model = {.kind = JS_STRING, .max_len = 256};
/* optional scalars: null is absent */
static const json_schema s_opt_str = {.kind = JS_STRING, .nullable = true};
static const json_schema s_opt_bool = {.kind = JS_BOOL, .nullable = true};
static const json_schema s_opt_int = {.kind = JS_INT, .nullable = true};
static const json_schema s_temperature = {
    .kind = JS_NUMBER, .has_min = true, .min = 0, .has_max = true, .max = 2, .nullable = true};
static const json_schema s_unit = {
    .kind = JS_NUMBER, .has_min = true, .min = 0, .has_max = true, .max = 1, .nullable = true};
static const json_schema s_penalty = {
    .kind = JS_NUMBER, .has_min = true, .min = -2, .has_max = true, .max = 2, .nullable = true};
static const json_schema s_repeat_penalty = {.kind = JS_NUMBER, .check = check_positive, .nullable = true};
static const json_schema s_top_k = {.kind = JS_INT, .has_min = true, .min = 0, .nullable = true};
static const json_schema s_n = {
    .kind = JS_INT, .has_min = true, .min = 1, .has_max = true, .max = 128, .nullable = true};
static const json_schema s_tokens_min1 = {.kind = JS_INT, .has_min = true, .min = 1, .nullable = true};

/* tools and tool_calls are kept as JSON (the chat template reads them) but
 * checked against OpenAI's shapes, so a bad one is named by path. */
static const char *check_function_name(const json_value *v, void *slot) {
  const hr_str *n = slot;
  if (n->len == 0 || n->len > 64) return "must be 1 to 64 characters long";
  for (size_t i = 0; i < n->len; i++) {
    char ch = n->ptr[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '-'))
      return "may hold only letters, digits, underscores and dashes";
  }
  return NULL;
}
static const char *check_object(const json_value *v, void *slot) {
  return v->type == JSON_OBJECT ? NULL : "expected an object";
}
typedef struct {
  hr_str name;
  hr_str description;
  bool has_description;
  const json_value *parameters;
  bool has_parameters;
  bool strict;
  bool has_strict;
} tool_function_shape;
typedef struct {
  hr_str type;
  tool_function_shape function;
} tool_shape;
typedef struct {
  hr_str name, arguments;
} call_function_shape;
typedef struct {
  hr_str id, type;
  call_function_shape function;
} tool_call_shape;
static const char *const function_type[] = {"function", NULL};
static const json_schema s_function_type = {.kind = JS_STRING, .enum_values = function_type};
static const json_schema s_function_name = {.kind = JS_STRING, .check = check_function_name};
static const json_schema s_parameters = {.kind = JS_ANY, .check = check_object, .nullable = true};
static const json_field tool_function_fields[] = {
    REQ(tool_function_shape, "name", name, s_function_name),
    OPT(tool_function_shape, "description", description, s_opt_str),
    OPT(tool_function_shape, "parameters", parameters, s_parameters),
    OPT(tool_function_shape, "strict", strict, s_opt_bool),
};
static const json_schema s_tool_function = {
    .kind = JS_OBJECT, .fields = tool_function_fields, .n_fields = HR_ARRAY_LEN(tool_function_fields)};
static const json_field tool_fields[] = {
    REQ(tool_shape, "type", type, s_function_type),
    REQ(tool_shape, "function", function, s_tool_function),
};
static const json_schema s_tool = {.kind = JS_OBJECT, .fields = tool_fields, .n_fields = HR_ARRAY_LEN(tool_fields)};
static const json_schema s_tool_list = {.kind = JS_ARRAY, .items = &s_tool, .item_size = sizeof(tool_shape)};
static const json_schema s_tools = {
    .kind = JS_ANY, .shape = &s_tool_list, .shape_size = sizeof(json_array_slot), .nullable = true};

static const json_field call_function_fields[] = {
    REQ(call_function_shape, "name", name, s_function_name),
    REQ(call_function_shape, "arguments", arguments, s_str),
};
static const json_schema s_call_function = {
    .kind = JS_OBJECT, .fields = call_function_fields, .n_fields = HR_ARRAY_LEN(call_function_fields)};
static const json_field tool_call_fields[] = {
    REQ(tool_call_shape, "id", id, s_str),
    REQ(tool_call_shape, "type", type, s_function_type),
    REQ(tool_call_shape, "function", function, s_call_function),
};
static const json_schema s_tool_call = {
    .kind = JS_OBJECT, .fields = tool_call_fields, .n_fields = HR_ARRAY_LEN(tool_call_fields)};
static const json_schema s_tool_call_list = {
    .kind = JS_ARRAY, .items = &s_tool_call, .item_size = sizeof(tool_call_shape)};
static const json_schema s_tool_calls = {
    .kind = JS_ANY, .shape = &s_tool_call_list, .shape_size = sizeof(json_array_slot), .nullable = true};

static const json_field stream_options_fields[] = {
    OPT(api_stream_options, "include_usage", include_usage, s_opt_bool),
};
static const json_schema s_stream_options = {
    .kind = JS_OBJECT,
    .fields = stream_options_fields,
    .n_fields = HR_ARRAY_LEN(stream_options_fields),
    .nullable = true,
};

static const json_schema s_stop = {
    .kind = JS_ARRAY,
    .items = &s_str,
    .item_size = sizeof(hr_str),
    .max_items = 4,
    .single_as_array = true,
    .nullable = true,
};

static const json_schema s_bias = {.kind = JS_NUMBER, .has_min = true, .min = -100, .has_max = true, .max = 100};
static const json_schema s_logit_bias = {
    .kind = JS_MAP, .items = &s_bias, .item_size = sizeof(double), .nullable = true};

static const char *const response_types[] = {"text", "json_object", "json_schema", NULL};
static const json_schema s_response_type = {.kind = JS_STRING, .enum_values = response_types};
/* response_format.json_schema, kept as JSON (output_constraint compiles its
 * schema) but checked as OpenAI's: a function's shape, its schema under
 * "schema" rather than "parameters". */
static const json_field json_schema_fields[] = {
    REQ(tool_function_shape, "name", name, s_function_name),
    OPT(tool_function_shape, "description", description, s_opt_str),
    OPT(tool_function_shape, "schema", parameters, s_parameters),
    OPT(tool_function_shape, "strict", strict, s_opt_bool),
};
static const json_schema s_json_schema_object = {
    .kind = JS_OBJECT, .fields = json_schema_fields, .n_fields = HR_ARRAY_LEN(json_schema_fields)};
static const json_schema s_json_schema = {
    .kind = JS_ANY, .shape = &s_json_schema_object, .shape_size = sizeof(tool_function_shape), .nullable = true};
static const json_field response_format_fields[] = {
    REQ(api_response_format, "type", type, s_response_type),
    OPT(api_response_format, "json_schema", json_schema, s_json_schema),
};
static const json_schema s_response_format = {
    .kind = JS_OBJECT,
    .fields = response_format_fields,
    .n_fields = HR_ARRAY_LEN(response_format_fields),
    .nullable = true,
};

/* ---- chat messages ------------------------------------------------------- */

static const char *const roles[] = {"system", "developer", "user", "assistant", "tool", NULL};
static const json_schema s_role = {.kind = JS_STRING, .enum_values = roles};

static const char *const part_types[] = {"text", NULL};
static const json_schema s_part_type = {.kind = JS_STRING, .enum_values = part_types};
static const json_field part_fields[] = {
    REQ(chat_content_part, "type", type, s_part_type),
    REQ(chat_content_part, "text", text, s_str),
};
static const json_schema s_part = {.kind = JS_OBJECT, .fields = part_fields, .n_fields = HR_ARRAY_LEN(part_fields)};
static const json_schema s_parts = {
    .kind = JS_ARRAY, .items = &s_part, .item_size = sizeof(chat_content_part), .min_items = 1};
static const json_schema *const content_variants[] = {&s_str, &s_parts};
static const json_schema s_content = {
    .kind = JS_ONE_OF,
    .variants = content_variants,
    .n_variants = HR_ARRAY_LEN(content_variants),
    .variant_offset = offsetof(chat_content, kind),
    .nullable = true,
};

static const json_field message_fields[] = {
    REQ(chat_message, "role", role, s_role),
    OPT(chat_message, "content", content, s_content),
    OPT(chat_message, "name", name, s_opt_str),
    OPT(chat_message, "tool_call_id", tool_call_id, s_opt_str),
    OPT(chat_message, "tool_calls", tool_calls, s_tool_calls),
};
static const json_schema s_message = {
    .kind = JS_OBJECT, .fields = message_fields, .n_fields = HR_ARRAY_LEN(message_fields)};
static const json_schema s_messages = {
    .kind = JS_ARRAY, .items = &s_message, .item_size = sizeof(chat_message), .min_items = 1};

static const json_schema s_top_logprobs = {
    .kind = JS_INT, .has_min = true, .min = 0, .has_max = true, .max = 20, .nullable = true};
static const json_schema s_tool_choice = {.kind = JS_ANY, .check = check_tool_choice, .nullable = true};

static const json_field chat_fields[] = {
    REQ(chat_request, "model", model, s_model),
    REQ(chat_request, "messages", messages_slot, s_messages),
    OPT(chat_request, "temperature", temperature, s_temperature),
    OPT(chat_request, "top_p", top_p, s_unit),
    OPT(chat_request, "top_k", top_k, s_top_k),
    OPT(chat_request, "min_p", min_p, s_unit),
    OPT(chat_request, "repeat_penalty", repeat_penalty, s_repeat_penalty),
    OPT(chat_request, "n", n, s_n),
    OPT(chat_request, "stream", stream, s_opt_bool),
    OPT(chat_request, "stream_options", stream_options, s_stream_options),
    OPT(chat_request, "stop", stop, s_stop),
    OPT(chat_request, "max_tokens", max_tokens, s_tokens_min1),
    OPT(chat_request, "max_completion_tokens", max_completion_tokens, s_tokens_min1),
    OPT(chat_request, "presence_penalty", presence_penalty, s_penalty),
    OPT(chat_request, "frequency_penalty", frequency_penalty, s_penalty),
    OPT(chat_request, "logit_bias", logit_bias, s_logit_bias),
    OPT(chat_request, "logprobs", logprobs, s_opt_bool),
    OPT(chat_request, "top_logprobs", top_logprobs, s_top_logprobs),
    OPT(chat_request, "user", user, s_opt_str),
    OPT(chat_request, "seed", seed, s_opt_int),
    OPT(chat_request, "response_format", response_format, s_response_format),
    OPT(chat_request, "tools", tools, s_tools),
    OPT(chat_request, "tool_choice", tool_choice, s_tool_choice),
    OPT(chat_request, "parallel_tool_calls", parallel_tool_calls, s_opt_bool),
};
static const json_schema s_chat = {.kind = JS_OBJECT, .fields = chat_fields, .n_fields = HR_ARRAY_LEN(chat_fields)};

static int fail_at(json_validate_error *err, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(json_validate_error *err, const char *msg, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->path, sizeof err->path, fmt, ap);
    va_end(ap);
    snprintf(err->message, sizeof err->message, "%s", msg);
  }
  return HR_EINVAL;
}

static chat_role role_of(hr_str r) {
  for (int i = 0; roles[i]; i++)
    if (hr_str_eq_cstr(r, roles[i])) return (chat_role)i;
  return CHAT_ROLE_USER; /* unreachable: the schema checked the enum */
}

int chat_request_parse(hr_arena *a, const json_value *body, chat_request *out,
                       json_validate_error *err) {
  memset(out, 0, sizeof *out);
  int rc = json_validate(a, &s_chat, body, out, err);
  if (rc) return rc;
  const json_value *calls = NULL; /* the tool_calls the tool messages answer */
  bool *answered = NULL;           /* which of them have been */
  size_t calls_at = 0;             /* the assistant message that made them */
  for (size_t i = 0; i <= out->n_messages; i++) {
    chat_message *m = i < out->n_messages ? &out->messages[i] : NULL;
    if (m) m->role_id = role_of(m->role);
    /* As OpenAI: once the tool messages after an assistant's calls end,
     * every call has its answer (the model would see a call left hanging). */
    if (calls && (!m || m->role_id != CHAT_ROLE_TOOL)) {
      for (size_t k = 0; k < calls->u.arr.n; k++)
        if (!answered[k])
          return fail_at(err, "has no tool message answering it", "messages[%zu].tool_calls[%zu]",
                         calls_at, k);
      calls = NULL;
    }
    if (!m) break;
    if (!m->has_content && !(m->role_id == CHAT_ROLE_ASSISTANT && m->has_tool_calls))
      return fail_at(err, "is required", "messages[%zu].content", i);
    if (m->role_id == CHAT_ROLE_TOOL && !m->has_tool_call_id)
      return fail_at(err, "is required", "messages[%zu].tool_call_id", i);
    /* As OpenAI: a tool message answers a call of the assistant message
     * just before it (tool messages between), once; another would show the
     * model a result of nothing it asked for. */
    if (m->role_id == CHAT_ROLE_TOOL) {
      if (!calls)
        return fail_at(err, "must answer the tool_calls of an assistant message just before it",
                       "messages[%zu]", i);
      /* the first call of that id not yet answered: some providers give
       * every call the same id (Gemini's empty ones) */
      size_t k = 0, named = 0;
      for (; k < calls->u.arr.n; k++) {
        const json_value *id = json_get(calls->u.arr.items[k], "id");
        if (id && id->type == JSON_STRING && hr_str_eq(hr_str_make(id->u.str.ptr, id->u.str.len), m->tool_call_id) &&
            (named++, !answered[k]))
          break;
      }
      if (k == calls->u.arr.n)
        return fail_at(err, named ? "answers a call another tool message answered"
                                  : "names no call of the assistant message before it",
                       "messages[%zu].tool_call_id", i);
      answered[k] = true;
    } else if (m->role_id == CHAT_ROLE_ASSISTANT && m->has_tool_calls && m->tool_calls &&
               m->tool_calls->type == JSON_ARRAY && m->tool_calls->u.arr.n) {
      calls = m->tool_calls;
      calls_at = i;
      answered = hr_arena_calloc(a, calls->u.arr.n, sizeof *answered);
      if (!answered) return HR_ENOMEM;
    }
  }
  if (out->has_stream_options && !out->stream)
    return fail_at(err, "is only allowed when stream is true", "stream_options");
  if (out->has_tools && out->tools && out->tools->type == JSON_ARRAY) {
    /* two tools of one name: which one a call means would be a guess */
    size_t n = out->tools->u.arr.n, dup = 0;
    hr_str *names = n ? hr_arena_calloc(a, n, sizeof *names) : NULL;
    if (n && !names) return HR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
      const json_value *name = json_get(json_get(out->tools->u.arr.items[i], "function"), "name");
      if (name && name->type == JSON_STRING) names[i] = hr_str_make(name->u.str.ptr, name->u.str.len);
    }
    rc = hr_str_first_repeat(a, names, n, &dup);
    if (rc < 0) return rc;
    if (rc) return fail_at(err, "is the name of an earlier tool too", "tools[%zu].function.name", dup);
  }
  if (out->has_response_format && hr_str_eq_cstr(out->response_format.type, "json_schema") &&
      !out->response_format.has_json_schema)
    return fail_at(err, "is required", "response_format.json_schema");
  if (out->has_top_logprobs && !out->logprobs)
    return fail_at(err, "requires logprobs to be true", "top_logprobs");
  return 0;
}

int chat_message_text(hr_arena *a, const chat_message *m, hr_str *out) {
  *out = (hr_str){"", 0};
  if (!m->has_content) return 0;
  if (m->content.kind == CHAT_CONTENT_TEXT) {
    *out = m->content.text;
    return 0;
  }
  size_t n = m->content.n_parts, len = 0;
  if (n == 1) {
    *out = m->content.parts[0].text;
    return 0;
  }
  for (size_t i = 0; i < n; i++) len += m->content.parts[i].text.len + (i ? 1 : 0);
  char *p = hr_arena_alloc(a, len + 1), *q = p;
  if (!p) return HR_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if (i) *q++ = '\n';
    memcpy(q, m->content.parts[i].text.ptr, m->content.parts[i].text.len);
    q += m->content.parts[i].text.len;
  }
  *q = 0;
  *out = (hr_str){p, len};
  return 0;
}

/* ---- prompts and inputs -------------------------------------------------- */

static const json_schema s_token = {.kind = JS_INT, .has_min = true, .min = 0};
static const json_schema s_token_list = {
    .kind = JS_ARRAY, .items = &s_token, .item_size = sizeof(int64_t), .min_items = 1};
static const json_schema s_token_lists = {
    .kind = JS_ARRAY, .items = &s_token_list, .item_size = sizeof(api_token_list), .min_items = 1};
static const json_schema s_texts = {
    .kind = JS_ARRAY, .items = &s_str, .item_size = sizeof(hr_str), .min_items = 1};
static const json_schema *const prompt_variants[] = {&s_str, &s_texts, &s_token_list, &s_token_lists};
static const json_schema s_prompt = {
    .kind = JS_ONE_OF,
    .variants = prompt_variants,
    .n_variants = HR_ARRAY_LEN(prompt_variants),
    .variant_offset = offsetof(api_input, kind),
};

/* embeddings: no empty strings, at most 2048 inputs (OpenAI's limits) */
static const json_schema s_input_str = {.kind = JS_STRING, .check = check_nonempty};
static const json_schema s_input_texts = {
    .kind = JS_ARRAY, .items = &s_input_str, .item_size = sizeof(hr_str), .min_items = 1, .max_items = 2048};
static const json_schema s_input_token_lists = {
    .kind = JS_ARRAY, .items = &s_token_list, .item_size = sizeof(api_token_list), .min_items = 1, .max_items = 2048};
static const json_schema *const input_variants[] = {&s_input_str, &s_input_texts, &s_token_list,
                                                    &s_input_token_lists};
static const json_schema s_input = {
    .kind = JS_ONE_OF,
    .variants = input_variants,
    .n_variants = HR_ARRAY_LEN(input_variants),
    .variant_offset = offsetof(api_input, kind),
};

/* ---- completions --------------------------------------------------------- */

static const json_schema s_max_tokens0 = {.kind = JS_INT, .has_min = true, .min = 0, .nullable = true};
static const json_schema s_logprobs5 = {
    .kind = JS_INT, .has_min = true, .min = 0, .has_max = true, .max = 5, .nullable = true};
static const json_schema s_best_of = {
    .kind = JS_INT, .has_min = true, .min = 1, .has_max = true, .max = 20, .nullable = true};

static const json_field completion_fields[] = {
    REQ(completion_request, "model", model, s_model),
    REQ(completion_request, "prompt", prompt, s_prompt),
    OPT(completion_request, "max_tokens", max_tokens, s_max_tokens0),
    OPT(completion_request, "temperature", temperature, s_temperature),
    OPT(completion_request, "top_p", top_p, s_unit),
    OPT(completion_request, "top_k", top_k, s_top_k),
    OPT(completion_request, "min_p", min_p, s_unit),
    OPT(completion_request, "repeat_penalty", repeat_penalty, s_repeat_penalty),
    OPT(completion_request, "n", n, s_n),
    OPT(completion_request, "stream", stream, s_opt_bool),
    OPT(completion_request, "stream_options", stream_options, s_stream_options),
    OPT(completion_request, "logprobs", logprobs, s_logprobs5),
    OPT(completion_request, "echo", echo, s_opt_bool),
    OPT(completion_request, "stop", stop, s_stop),
    OPT(completion_request, "presence_penalty", presence_penalty, s_penalty),
    OPT(completion_request, "frequency_penalty", frequency_penalty, s_penalty),
    OPT(completion_request, "seed", seed, s_opt_int),
    OPT(completion_request, "user", user, s_opt_str),
    OPT(completion_request, "suffix", suffix, s_opt_str),
    OPT(completion_request, "best_of", best_of, s_best_of),
    OPT(completion_request, "logit_bias", logit_bias, s_logit_bias),
};
static const json_schema s_completion = {
    .kind = JS_OBJECT, .fields = completion_fields, .n_fields = HR_ARRAY_LEN(completion_fields)};

int completion_request_parse(hr_arena *a, const json_value *body, completion_request *out,
                             json_validate_error *err) {
  memset(out, 0, sizeof *out);
  int rc = json_validate(a, &s_completion, body, out, err);
  if (rc) return rc;
  if (out->has_best_of && out->best_of < (out->has_n ? out->n : 1))
    return fail_at(err, "must be at least n", "best_of");
  if (out->has_stream_options && !out->stream)
    return fail_at(err, "is only allowed when stream is true", "stream_options");
  return 0;
}

/* ---- embeddings ---------------------------------------------------------- */

static const char *const encoding_formats[] = {"float", "base64", NULL};
static const json_schema s_encoding_format = {
    .kind = JS_STRING, .enum_values = encoding_formats, .nullable = true};
static const json_schema s_dimensions = {.kind = JS_INT, .has_min = true, .min = 1, .nullable = true};

static const json_field embeddings_fields[] = {
    REQ(embeddings_request, "model", model, s_model),
    REQ(embeddings_request, "input", input, s_input),
    OPT(embeddings_request, "encoding_format", encoding_format, s_encoding_format),
    OPT(embeddings_request, "dimensions", dimensions, s_dimensions),
    OPT(embeddings_request, "user", user, s_opt_str),
};
static const json_schema s_embeddings = {
    .kind = JS_OBJECT, .fields = embeddings_fields, .n_fields = HR_ARRAY_LEN(embeddings_fields)};

int embeddings_request_parse(hr_arena *a, const json_value *body, embeddings_request *out,
                             json_validate_error *err) {
  memset(out, 0, sizeof *out);
  return json_validate(a, &s_embeddings, body, out, err);
}

/* ---- tokenize / detokenize ------------------------------------------------- */

static const json_field tokenize_fields[] = {
    OPT(tokenize_request, "model", model, s_model),
    REQ(tokenize_request, "prompt", prompt, s_str),
    OPT(tokenize_request, "add_special_tokens", add_special_tokens, s_opt_bool),
    OPT(tokenize_request, "return_token_strs", return_token_strs, s_opt_bool),
};
static const json_schema s_tokenize = {
    .kind = JS_OBJECT, .fields = tokenize_fields, .n_fields = HR_ARRAY_LEN(tokenize_fields)};

int tokenize_request_parse(hr_arena *a, const json_value *body, tokenize_request *out,
                           json_validate_error *err) {
  memset(out, 0, sizeof *out);
  return json_validate(a, &s_tokenize, body, out, err);
}

static const json_schema s_any_tokens = {.kind = JS_ARRAY, .items = &s_token, .item_size = sizeof(int64_t)};
static const json_field detokenize_fields[] = {
    OPT(detokenize_request, "model", model, s_model),
    REQ(detokenize_request, "tokens", tokens, s_any_tokens),
};
static const json_schema s_detokenize = {
    .kind = JS_OBJECT, .fields = detokenize_fields, .n_fields = HR_ARRAY_LEN(detokenize_fields)};

int detokenize_request_parse(hr_arena *a, const json_value *body, detokenize_request *out,
                             json_validate_error *err) {
  memset(out, 0, sizeof *out);
  return json_validate(a, &s_detokenize, body, out, err);
}
