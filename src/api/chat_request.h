/* chat_request — the bodies of OpenAI's POST /v1/chat/completions,
 * /v1/completions (legacy) and /v1/embeddings, validated from a parsed JSON
 * tree into typed structs by the json module's schemas.
 *
 * A bad field fails with its path and a message in json_validate_error, e.g.
 * path "messages[2].content", message "expected a string or an array";
 * the handler turns that into a 400 with "param" = path.
 *
 * Conventions: every optional field has a has_<field> flag; JSON null for an
 * optional field is the same as leaving it out. Unknown top-level fields are
 * ignored (OpenAI's newer parameters, vendor extensions), as vLLM and
 * llama.cpp do. Strings and arrays point into the tree or the arena given to
 * the parse function; they live as long as that arena.
 *
 * Arrays are exposed as typed pointer + count through an anonymous union
 * with the json_array_slot the schema fills (same layout: pointer, size_t). */
#ifndef HEARTH_API_CHAT_REQUEST_H
#define HEARTH_API_CHAT_REQUEST_H

#include "../json/json.h"

/* ---- chat completions ----------------------------------------------------- */

typedef enum {
  CHAT_ROLE_SYSTEM,
  CHAT_ROLE_DEVELOPER, /* OpenAI's newer name for system */
  CHAT_ROLE_USER,
  CHAT_ROLE_ASSISTANT,
  CHAT_ROLE_TOOL,
} chat_role;

typedef struct {
  hr_str type; /* "text" (the only part type accepted) */
  hr_str text;
} chat_content_part;

typedef enum { CHAT_CONTENT_TEXT = 0, CHAT_CONTENT_PARTS = 1 } chat_content_kind;

/* "content": a string or an array of parts (a JS_ONE_OF slot). */
typedef struct {
  union {
    hr_str text; /* CHAT_CONTENT_TEXT */
    union {
      json_array_slot parts_slot;
      struct {
        chat_content_part *parts; /* CHAT_CONTENT_PARTS */
        size_t n_parts;
      };
    };
  };
  int kind; /* chat_content_kind */
} chat_content;

typedef struct {
  hr_str role;
  chat_role role_id; /* role, decoded */
  chat_content content;
  bool has_content; /* false only for an assistant message with tool_calls */
  hr_str name;
  bool has_name;
  hr_str tool_call_id; /* required for role "tool" */
  bool has_tool_call_id;
  const json_value *tool_calls; /* an array, as sent */
  bool has_tool_calls;
} chat_message;

typedef struct {
  bool include_usage;
  bool has_include_usage;
} api_stream_options;

typedef struct {
  hr_str type;                   /* "text" | "json_object" | "json_schema" */
  const json_value *json_schema; /* required when type is "json_schema" */
  bool has_json_schema;
} api_response_format;

/* "stop": a string or up to 4 strings, always seen as a list. */
typedef union {
  json_array_slot slot;
  struct {
    hr_str *items;
    size_t n;
  };
} api_stop;

/* "logit_bias": token id (as a string key) -> bias in [-100, 100]. */
typedef union {
  json_map_slot slot;
  struct {
    hr_str *keys;
    double *values;
    size_t n;
  };
} api_logit_bias;

typedef struct {
  hr_str model;
  union {
    json_array_slot messages_slot;
    struct {
      chat_message *messages; /* at least one */
      size_t n_messages;
    };
  };
  double temperature; /* [0, 2] */
  bool has_temperature;
  double top_p; /* [0, 1] */
  bool has_top_p;
  int64_t top_k; /* >= 0; extension */
  bool has_top_k;
  double min_p; /* [0, 1]; extension */
  bool has_min_p;
  double repeat_penalty; /* > 0; extension */
  bool has_repeat_penalty;
  int64_t n; /* [1, 128] */
  bool has_n;
  bool stream;
  bool has_stream;
  api_stream_options stream_options;
  bool has_stream_options;
  api_stop stop;
  bool has_stop;
  int64_t max_tokens; /* >= 1 */
  bool has_max_tokens;
  int64_t max_completion_tokens; /* >= 1; wins over max_tokens */
  bool has_max_completion_tokens;
  double presence_penalty; /* [-2, 2] */
  bool has_presence_penalty;
  double frequency_penalty; /* [-2, 2] */
  bool has_frequency_penalty;
  api_logit_bias logit_bias;
  bool has_logit_bias;
  bool logprobs;
  bool has_logprobs;
  int64_t top_logprobs; /* [0, 20] */
  bool has_top_logprobs;
  hr_str user;
  bool has_user;
  int64_t seed;
  bool has_seed;
  api_response_format response_format;
  bool has_response_format;
  const json_value *tools; /* an array, as sent */
  bool has_tools;
  const json_value *tool_choice; /* "none" | "auto" | "required" | an object */
  bool has_tool_choice;
  bool parallel_tool_calls;
  bool has_parallel_tool_calls;
} chat_request;

/* Validates body into *out (zeroed first). 0, or HR_EINVAL with err naming
 * the field, or HR_ENOMEM. Beyond the schema: a message without content must
 * be an assistant's with tool_calls; a "tool" message needs tool_call_id;
 * response_format "json_schema" needs json_schema. */
int chat_request_parse(hr_arena *a, const json_value *body, chat_request *out,
                       json_validate_error *err);

/* The message's text: the string, or its text parts joined by "\n" (in the
 * arena when there is more than one part). Empty when it has no content. */
int chat_message_text(hr_arena *a, const chat_message *m, hr_str *out);

/* ---- prompts and embedding inputs ------------------------------------------ */

typedef enum {
  API_INPUT_TEXT = 0,        /* "text" */
  API_INPUT_TEXTS = 1,       /* ["a", "b"] */
  API_INPUT_TOKENS = 2,      /* [1, 2, 3] */
  API_INPUT_TOKEN_LISTS = 3, /* [[1, 2], [3]] */
} api_input_kind;

typedef union {
  json_array_slot slot;
  struct {
    int64_t *ids;
    size_t n;
  };
} api_token_list;

/* "prompt" and "input": a string, strings, token ids or lists of token ids
 * (a JS_ONE_OF slot). Lists are never empty. */
typedef struct {
  union {
    hr_str text; /* API_INPUT_TEXT */
    union {
      json_array_slot texts_slot;
      struct {
        hr_str *texts; /* API_INPUT_TEXTS */
        size_t n_texts;
      };
    };
    api_token_list tokens; /* API_INPUT_TOKENS */
    union {
      json_array_slot lists_slot;
      struct {
        api_token_list *lists; /* API_INPUT_TOKEN_LISTS */
        size_t n_lists;
      };
    };
  };
  int kind; /* api_input_kind */
} api_input;

/* ---- completions (legacy) --------------------------------------------------- */

typedef struct {
  hr_str model;
  api_input prompt; /* required */
  int64_t max_tokens; /* >= 0 (0 with echo scores the prompt) */
  bool has_max_tokens;
  double temperature; /* [0, 2] */
  bool has_temperature;
  double top_p; /* [0, 1] */
  bool has_top_p;
  int64_t top_k; /* >= 0; extension */
  bool has_top_k;
  double min_p; /* [0, 1]; extension */
  bool has_min_p;
  double repeat_penalty; /* > 0; extension */
  bool has_repeat_penalty;
  int64_t n; /* [1, 128] */
  bool has_n;
  bool stream;
  bool has_stream;
  api_stream_options stream_options;
  bool has_stream_options;
  int64_t logprobs; /* [0, 5] */
  bool has_logprobs;
  bool echo;
  bool has_echo;
  api_stop stop;
  bool has_stop;
  double presence_penalty; /* [-2, 2] */
  bool has_presence_penalty;
  double frequency_penalty; /* [-2, 2] */
  bool has_frequency_penalty;
  int64_t seed;
  bool has_seed;
  hr_str user;
  bool has_user;
  hr_str suffix;
  bool has_suffix;
  int64_t best_of; /* [1, 20], and >= n */
  bool has_best_of;
  api_logit_bias logit_bias;
  bool has_logit_bias;
} completion_request;

int completion_request_parse(hr_arena *a, const json_value *body, completion_request *out,
                             json_validate_error *err);

/* ---- embeddings ------------------------------------------------------------- */

typedef struct {
  hr_str model;
  api_input input; /* required; strings non-empty, at most 2048 items */
  hr_str encoding_format; /* "float" | "base64" */
  bool has_encoding_format;
  int64_t dimensions; /* >= 1 */
  bool has_dimensions;
  hr_str user;
  bool has_user;
} embeddings_request;

int embeddings_request_parse(hr_arena *a, const json_value *body, embeddings_request *out,
                             json_validate_error *err);

/* ---- tokenize / detokenize (vLLM's shapes) ------------------------------- */

/* POST /tokenize with a prompt; one with messages is a chat request
 * (chat_request_parse) plus return_token_strs. */
typedef struct {
  hr_str model; /* absent: the first model served */
  bool has_model;
  hr_str prompt; /* required */
  bool add_special_tokens; /* default true: the BOS the model adds, special texts as tokens */
  bool has_add_special_tokens;
  bool return_token_strs;
  bool has_return_token_strs;
} tokenize_request;

int tokenize_request_parse(hr_arena *a, const json_value *body, tokenize_request *out,
                           json_validate_error *err);

typedef struct {
  hr_str model; /* absent: the first model served */
  bool has_model;
  api_token_list tokens; /* required */
} detokenize_request;

int detokenize_request_parse(hr_arena *a, const json_value *body, detokenize_request *out,
                             json_validate_error *err);

#endif
