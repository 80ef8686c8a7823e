/* Unit tests for src/api/chat_request: OpenAI chat completion, completion
 * and embeddings bodies — valid ones fill the typed structs, and each bad
 * field is reported by its path and a clear message. */
#include "../../src/api/chat_request.h"
#include "test.h"

#include <math.h>

static hr_arena *A;
static chat_request C;
static completion_request P;
static embeddings_request E;
static char msg[600];

static const json_value *body(const char *text) {
  json_value *v = NULL;
  json_error e;
  if (json_read(A, text, strlen(text), NULL, &v, &e)) {
    fprintf(stderr, "    bad JSON in test: %s\n", e.message);
    return NULL;
  }
  return v;
}

/* "" when valid, else "path: message" */
static const char *chat(const char *text) {
  const json_value *v = body(text);
  if (!v) return "(bad json)";
  json_validate_error err;
  int rc = chat_request_parse(A, v, &C, &err);
  if (!rc) return "";
  snprintf(msg, sizeof msg, "%s: %s", err.path, err.message);
  return msg;
}

static const char *completion(const char *text) {
  const json_value *v = body(text);
  if (!v) return "(bad json)";
  json_validate_error err;
  int rc = completion_request_parse(A, v, &P, &err);
  if (!rc) return "";
  snprintf(msg, sizeof msg, "%s: %s", err.path, err.message);
  return msg;
}

static const char *embeddings(const char *text) {
  const json_value *v = body(text);
  if (!v) return "(bad json)";
  json_validate_error err;
  int rc = embeddings_request_parse(A, v, &E, &err);
  if (!rc) return "";
  snprintf(msg, sizeof msg, "%s: %s", err.path, err.message);
  return msg;
}

/* A chat body with one extra member spliced in after the model. */
static const char *chat_with(const char *member) {
  static char text[1024];
  snprintf(text, sizeof text,
           "{\"model\":\"m\",%s%s\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", member,
           *member ? "," : "");
  return chat(text);
}

#define MSGS3 "{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"u\"},"

TEST(parses_minimal_chat) {
  CHECK_EQ_STR(chat("{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}"), "");
  CHECK(hr_str_eq_cstr(C.model, "stories260K"));
  CHECK_EQ_INT(C.n_messages, 1);
  CHECK(C.messages[0].role_id == CHAT_ROLE_USER && C.messages[0].has_content);
  CHECK(C.messages[0].content.kind == CHAT_CONTENT_TEXT && hr_str_eq_cstr(C.messages[0].content.text, "Hello"));
  CHECK(!C.has_temperature && !C.has_stream && !C.has_stop && !C.has_max_tokens && !C.has_n);
}

TEST(parses_full_chat) {
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":["
                    "{\"role\":\"developer\",\"content\":\"be brief\"},"
                    "{\"role\":\"user\",\"name\":\"ann\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                    "{\"type\":\"text\",\"text\":\"b\"}]},"
                    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
                    "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"42\"}],"
                    "\"temperature\":0.7,\"top_p\":0.9,\"top_k\":40,\"min_p\":0.05,\"repeat_penalty\":1.1,"
                    "\"n\":2,\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                    "\"stop\":[\"\\n\\n\",\"END\"],\"max_tokens\":64,\"max_completion_tokens\":32,"
                    "\"presence_penalty\":-0.5,\"frequency_penalty\":2,\"logit_bias\":{\"50256\":-100},"
                    "\"logprobs\":true,\"top_logprobs\":5,\"user\":\"u-1\",\"seed\":-7,"
                    "\"response_format\":{\"type\":\"json_object\"},"
                    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
                    "\"tool_choice\":\"auto\",\"parallel_tool_calls\":false,"
                    "\"metadata\":{\"ignored\":true},\"store\":false}"),
               "");
  CHECK_EQ_INT(C.n_messages, 4);
  CHECK(C.messages[0].role_id == CHAT_ROLE_DEVELOPER);
  const chat_message *u = &C.messages[1];
  CHECK(u->has_name && hr_str_eq_cstr(u->name, "ann"));
  CHECK(u->content.kind == CHAT_CONTENT_PARTS && u->content.n_parts == 2);
  CHECK(hr_str_eq_cstr(u->content.parts[1].text, "b"));
  hr_str t;
  CHECK(chat_message_text(A, u, &t) == 0 && hr_str_eq_cstr(t, "a\nb"));
  CHECK(chat_message_text(A, &C.messages[0], &t) == 0 && hr_str_eq_cstr(t, "be brief"));
  const chat_message *as = &C.messages[2];
  CHECK(as->role_id == CHAT_ROLE_ASSISTANT && !as->has_content && as->has_tool_calls);
  CHECK(as->tool_calls->type == JSON_ARRAY && as->tool_calls->u.arr.n == 1);
  CHECK(chat_message_text(A, as, &t) == 0 && t.len == 0);
  CHECK(C.messages[3].role_id == CHAT_ROLE_TOOL && hr_str_eq_cstr(C.messages[3].tool_call_id, "c1"));
  CHECK(C.has_temperature && C.temperature == 0.7);
  CHECK(C.has_top_p && C.top_p == 0.9);
  CHECK(C.has_top_k && C.top_k == 40);
  CHECK(C.has_min_p && C.min_p == 0.05);
  CHECK(C.has_repeat_penalty && C.repeat_penalty == 1.1);
  CHECK(C.has_n && C.n == 2);
  CHECK(C.has_stream && C.stream);
  CHECK(C.has_stream_options && C.stream_options.has_include_usage && C.stream_options.include_usage);
  CHECK(C.has_stop && C.stop.n == 2 && hr_str_eq_cstr(C.stop.items[0], "\n\n"));
  CHECK(C.has_max_tokens && C.max_tokens == 64);
  CHECK(C.has_max_completion_tokens && C.max_completion_tokens == 32);
  CHECK(C.presence_penalty == -0.5 && C.frequency_penalty == 2);
  CHECK(C.has_logit_bias && C.logit_bias.n == 1 && hr_str_eq_cstr(C.logit_bias.keys[0], "50256"));
  CHECK(C.logit_bias.values[0] == -100);
  CHECK(C.has_logprobs && C.logprobs && C.has_top_logprobs && C.top_logprobs == 5);
  CHECK(C.has_user && hr_str_eq_cstr(C.user, "u-1"));
  CHECK(C.has_seed && C.seed == -7);
  CHECK(C.has_response_format && hr_str_eq_cstr(C.response_format.type, "json_object"));
  CHECK(C.has_tools && C.tools->type == JSON_ARRAY);
  CHECK(C.has_tool_choice && C.tool_choice->type == JSON_STRING);
  CHECK(C.has_parallel_tool_calls && !C.parallel_tool_calls);
}

TEST(null_is_absent_and_stop_can_be_a_string) {
  CHECK_EQ_STR(chat_with("\"temperature\":null,\"stop\":null,\"n\":null,\"stream\":null,\"tools\":null,"
                         "\"response_format\":null,\"logit_bias\":null,\"user\":null"),
               "");
  CHECK(!C.has_temperature && !C.has_stop && !C.has_n && !C.has_stream && !C.has_tools);
  CHECK(!C.has_response_format && !C.has_logit_bias && !C.has_user);
  CHECK_EQ_STR(chat_with("\"stop\":\"###\""), "");
  CHECK(C.has_stop && C.stop.n == 1 && hr_str_eq_cstr(C.stop.items[0], "###"));
  CHECK_EQ_STR(chat_with("\"n\":3.0,\"max_tokens\":1e2"), "");
  CHECK(C.n == 3 && C.max_tokens == 100);
  CHECK_EQ_STR(chat_with("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\"}}"), "");
  CHECK(C.response_format.has_json_schema && C.response_format.json_schema->type == JSON_OBJECT);
  /* named as OpenAI requires, the schema an object */
  CHECK_EQ_STR(chat_with("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{}}}"),
               "response_format.json_schema.name: is required");
  CHECK_EQ_STR(chat_with("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"a b/c\"}}"),
               "response_format.json_schema.name: may hold only letters, digits, underscores and dashes");
  CHECK_EQ_STR(chat_with("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":[]}}"),
               "response_format.json_schema.schema: expected an object");
  CHECK_EQ_STR(chat_with("\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}"), "");
  CHECK(C.tool_choice->type == JSON_OBJECT);
  CHECK_EQ_STR(chat_with("\"temperature\":0,\"top_p\":1"), ""); /* bounds are inclusive */
  CHECK(C.temperature == 0 && C.top_p == 1);
  CHECK_EQ_STR(chat_with("\"temperature\":2"), "");
  CHECK(C.temperature == 2);
}

TEST(bad_chat_fields_name_their_path) {
  CHECK_EQ_STR(chat("[]"), ": expected an object");
  CHECK_EQ_STR(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"), "model: is required");
  CHECK_EQ_STR(chat("{\"model\":7,\"messages\":[]}"), "model: expected a string");
  CHECK_EQ_STR(chat("{\"model\":\"m\"}"), "messages: is required");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[]}"), "messages: must not be empty");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":{}}"), "messages: expected an array");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[" MSGS3 "{\"role\":\"user\",\"content\":5}]}"),
               "messages[2].content: expected a string or an array");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[" MSGS3 "{\"role\":\"user\"}]}"),
               "messages[2].content: is required");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[" MSGS3 "{\"role\":\"user\",\"content\":null}]}"),
               "messages[2].content: is required");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null}]}"),
               "messages[0].content: is required");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}"), "messages[0].role: is required");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}"),
               "messages[0].role: must be one of: \"system\", \"developer\", \"user\", \"assistant\", \"tool\"");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[\"hi\"]}"), "messages[0]: expected an object");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                    "{\"type\":\"image_url\",\"image_url\":{}}]}]}"),
               "messages[0].content[1].type: must be one of: \"text\"");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}"),
               "messages[0].content[0].text: is required");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[]}]}"),
               "messages[0].content: must not be empty");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"4\"}]}"),
               "messages[0].tool_call_id: is required");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"4\"}]}"),
               "messages[0]: must answer the tool_calls of an assistant message just before it");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                    "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"4\"},"
                    "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"5\"}]}"),
               "messages[2].tool_call_id: names no call of the assistant message before it");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                    "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                    "{\"role\":\"user\",\"content\":\"x\"},"
                    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"4\"}]}"),
               "messages[0].tool_calls[0]: has no tool message answering it");
  /* every call answered once, before the conversation goes on */
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                    "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
                    "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                    "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"4\"}]}"),
               "messages[0].tool_calls[0]: has no tool message answering it");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                    "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"4\"},"
                    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"5\"}]}"),
               "messages[2].tool_call_id: answers a call another tool message answered");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                    "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
                    "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                    "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"4\"},"
                    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"5\"},"
                    "{\"role\":\"user\",\"content\":\"x\"}]}"),
               ""); /* answered in any order */
  /* calls that share an id (Gemini gives empty ones) are answered in turn */
  static const char shared_ids[] =
      "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
      "[{\"id\":\"\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
      "{\"id\":\"\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
      "{\"role\":\"tool\",\"tool_call_id\":\"\",\"content\":\"4\"},"
      "{\"role\":\"tool\",\"tool_call_id\":\"\",\"content\":\"5\"}%s]}";
  char text[1024];
  snprintf(text, sizeof text, shared_ids, "");
  CHECK_EQ_STR(chat(text), "");
  snprintf(text, sizeof text, shared_ids, ",{\"role\":\"tool\",\"tool_call_id\":\"\",\"content\":\"6\"}");
  CHECK_EQ_STR(chat(text), "messages[3].tool_call_id: answers a call another tool message answered");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"name\":1}]}"),
               "messages[0].name: expected a string");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":{}}]}"),
               "messages[0].tool_calls: expected an array");

  CHECK_EQ_STR(chat_with("\"temperature\":2.5"), "temperature: must be at most 2");
  CHECK_EQ_STR(chat_with("\"temperature\":-0.1"), "temperature: must be at least 0");
  CHECK_EQ_STR(chat_with("\"temperature\":\"hot\""), "temperature: expected a number");
  CHECK_EQ_STR(chat_with("\"top_p\":1.01"), "top_p: must be at most 1");
  CHECK_EQ_STR(chat_with("\"top_k\":-1"), "top_k: must be at least 0");
  CHECK_EQ_STR(chat_with("\"top_k\":2.5"), "top_k: expected an integer");
  CHECK_EQ_STR(chat_with("\"min_p\":2"), "min_p: must be at most 1");
  CHECK_EQ_STR(chat_with("\"repeat_penalty\":0"), "repeat_penalty: must be greater than 0");
  CHECK_EQ_STR(chat_with("\"n\":0"), "n: must be at least 1");
  CHECK_EQ_STR(chat_with("\"n\":129"), "n: must be at most 128");
  CHECK_EQ_STR(chat_with("\"stream\":\"yes\""), "stream: expected a boolean");
  CHECK_EQ_STR(chat_with("\"stream_options\":{\"include_usage\":1}"), "stream_options.include_usage: expected a boolean");
  CHECK_EQ_STR(chat_with("\"stream_options\":true"), "stream_options: expected an object");
  CHECK_EQ_STR(chat_with("\"stream_options\":{\"include_usage\":true}"), "stream_options: is only allowed when stream is true");
  CHECK_EQ_STR(chat_with("\"stream\":false,\"stream_options\":{}"), "stream_options: is only allowed when stream is true");
  CHECK_EQ_STR(chat_with("\"stream\":true,\"stream_options\":{}"), "");
  CHECK_EQ_STR(chat_with("\"stream_options\":null"), "");
  CHECK_EQ_STR(chat_with("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},"
                         "{\"type\":\"function\",\"function\":{\"name\":\"g\"}},"
                         "{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"),
               "tools[2].function.name: is the name of an earlier tool too");
  CHECK_EQ_STR(chat_with("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},"
                         "{\"type\":\"function\",\"function\":{\"name\":\"g\"}},"
                         "{\"type\":\"function\",\"function\":{\"name\":\"h\"}},"
                         "{\"type\":\"function\",\"function\":{\"name\":\"g\"}},"
                         "{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"),
               "tools[3].function.name: is the name of an earlier tool too");
  CHECK_EQ_STR(chat_with("\"stop\":1"), "stop: expected a string or an array");
  CHECK_EQ_STR(chat_with("\"stop\":[\"a\",null]"), "stop[1]: expected a string");
  CHECK_EQ_STR(chat_with("\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]"), "stop: must have at most 4 items");
  CHECK_EQ_STR(chat_with("\"max_tokens\":0"), "max_tokens: must be at least 1");
  CHECK_EQ_STR(chat_with("\"max_tokens\":\"10\""), "max_tokens: expected an integer");
  CHECK_EQ_STR(chat_with("\"max_completion_tokens\":-5"), "max_completion_tokens: must be at least 1");
  CHECK_EQ_STR(chat_with("\"presence_penalty\":-2.5"), "presence_penalty: must be at least -2");
  CHECK_EQ_STR(chat_with("\"frequency_penalty\":3"), "frequency_penalty: must be at most 2");
  CHECK_EQ_STR(chat_with("\"logit_bias\":{\"1\":101}"), "logit_bias.1: must be at most 100");
  CHECK_EQ_STR(chat_with("\"logit_bias\":{\"1\":\"x\"}"), "logit_bias.1: expected a number");
  CHECK_EQ_STR(chat_with("\"logit_bias\":[1]"), "logit_bias: expected an object");
  CHECK_EQ_STR(chat_with("\"logprobs\":1"), "logprobs: expected a boolean");
  CHECK_EQ_STR(chat_with("\"logprobs\":true,\"top_logprobs\":21"), "top_logprobs: must be at most 20");
  CHECK_EQ_STR(chat_with("\"top_logprobs\":2"), "top_logprobs: requires logprobs to be true");
  CHECK_EQ_STR(chat_with("\"user\":5"), "user: expected a string");
  CHECK_EQ_STR(chat_with("\"seed\":1.5"), "seed: expected an integer");
  CHECK_EQ_STR(chat_with("\"seed\":1e30"), "seed: is out of range");
  CHECK_EQ_STR(chat_with("\"response_format\":{\"type\":\"xml\"}"),
               "response_format.type: must be one of: \"text\", \"json_object\", \"json_schema\"");
  CHECK_EQ_STR(chat_with("\"response_format\":{}"), "response_format.type: is required");
  CHECK_EQ_STR(chat_with("\"response_format\":{\"type\":\"json_schema\"}"), "response_format.json_schema: is required");
  CHECK_EQ_STR(chat_with("\"tools\":{}"), "tools: expected an array");
  CHECK_EQ_STR(chat_with("\"tool_choice\":\"always\""),
               "tool_choice: must be one of: \"none\", \"auto\", \"required\", or an object");
  CHECK_EQ_STR(chat_with("\"tool_choice\":1"), "tool_choice: expected a string or an object");
  CHECK_EQ_STR(chat_with("\"parallel_tool_calls\":\"no\""), "parallel_tool_calls: expected a boolean");
  /* tools and tool_calls: OpenAI's shapes, named by path */
  CHECK_EQ_STR(chat_with("\"tools\":[{\"type\":\"function\",\"function\":{\"description\":\"d\"}}]"),
               "tools[0].function.name: is required");
  CHECK_EQ_STR(chat_with("\"tools\":[{\"type\":\"function\"}]"), "tools[0].function: is required");
  CHECK_EQ_STR(chat_with("\"tools\":[{\"type\":\"retrieval\",\"function\":{\"name\":\"f\"}}]"),
               "tools[0].type: must be one of: \"function\"");
  CHECK_EQ_STR(chat_with("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get weather\"}}]"),
               "tools[0].function.name: may hold only letters, digits, underscores and dashes");
  CHECK_EQ_STR(chat_with("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":[]}}]"),
               "tools[0].function.parameters: expected an object");
  CHECK_EQ_STR(chat_with("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}},"
                         "{\"type\":\"function\",\"function\":{\"name\":\"\"}}]"),
               "tools[1].function.name: must be 1 to 64 characters long");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"type\":\"function\","
                    "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}]}"),
               "messages[0].tool_calls[0].id: is required");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
                    "\"function\":{\"name\":\"f\",\"arguments\":{}}}]}]}"),
               "messages[0].tool_calls[0].function.arguments: expected a string");
  /* a field named twice is refused, not read one way or the other */
  CHECK_EQ_STR(chat_with("\"temperature\":0.5,\"temperature\":null"), "temperature: is given more than once");
  CHECK_EQ_STR(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"role\":\"system\",\"content\":\"x\"}]}"),
               "messages[0].role: is given more than once");
}

TEST(parses_completions) {
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":\"Once upon\",\"max_tokens\":16,\"echo\":true,"
                          "\"logprobs\":3,\"suffix\":\"end\",\"best_of\":2,\"n\":2,\"stop\":\"\\n\","
                          "\"top_k\":5,\"min_p\":0.1,\"stream\":false}"),
               "");
  CHECK(P.prompt.kind == API_INPUT_TEXT && hr_str_eq_cstr(P.prompt.text, "Once upon"));
  CHECK(P.has_max_tokens && P.max_tokens == 16 && P.echo && P.logprobs == 3);
  CHECK(hr_str_eq_cstr(P.suffix, "end") && P.best_of == 2 && P.stop.n == 1);
  CHECK(P.has_top_k && P.top_k == 5 && P.has_stream && !P.stream);
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":[\"a\",\"b\"]}"), "");
  CHECK(P.prompt.kind == API_INPUT_TEXTS && P.prompt.n_texts == 2 && hr_str_eq_cstr(P.prompt.texts[1], "b"));
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":[1,2,3]}"), "");
  CHECK(P.prompt.kind == API_INPUT_TOKENS && P.prompt.tokens.n == 3 && P.prompt.tokens.ids[2] == 3);
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":[[1,2],[3]],\"max_tokens\":0}"), "");
  CHECK(P.prompt.kind == API_INPUT_TOKEN_LISTS && P.prompt.n_lists == 2 && P.prompt.lists[0].ids[1] == 2);
  CHECK(P.prompt.lists[1].n == 1 && P.max_tokens == 0);

  CHECK_EQ_STR(completion("{\"model\":\"m\"}"), "prompt: is required");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":5}"), "prompt: expected a string or an array");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":[]}"), "prompt: must not be empty");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":[\"a\",1]}"), "prompt[1]: expected a string");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":[1,-2]}"), "prompt[1]: must be at least 0");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":[[1],[]]}"), "prompt[1]: must not be empty");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":[[1],[\"x\"]]}"), "prompt[1][0]: expected an integer");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":6}"), "logprobs: must be at most 5");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":true}"), "logprobs: expected an integer");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":\"x\",\"best_of\":1,\"n\":3}"), "best_of: must be at least n");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":\"x\",\"best_of\":21}"), "best_of: must be at most 20");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":\"x\",\"echo\":\"y\"}"), "echo: expected a boolean");
  CHECK_EQ_STR(completion("{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":-1}"), "max_tokens: must be at least 0");
}

TEST(parses_embeddings) {
  CHECK_EQ_STR(embeddings("{\"model\":\"e\",\"input\":\"hello\",\"encoding_format\":\"base64\",\"dimensions\":64,"
                          "\"user\":\"u\"}"),
               "");
  CHECK(E.input.kind == API_INPUT_TEXT && hr_str_eq_cstr(E.input.text, "hello"));
  CHECK(E.has_encoding_format && hr_str_eq_cstr(E.encoding_format, "base64"));
  CHECK(E.has_dimensions && E.dimensions == 64 && E.has_user);
  CHECK_EQ_STR(embeddings("{\"model\":\"e\",\"input\":[\"a\",\"b\",\"c\"]}"), "");
  CHECK(E.input.kind == API_INPUT_TEXTS && E.input.n_texts == 3 && !E.has_encoding_format);
  CHECK_EQ_STR(embeddings("{\"model\":\"e\",\"input\":[[5,6],[7]]}"), "");
  CHECK(E.input.kind == API_INPUT_TOKEN_LISTS && E.input.lists[1].ids[0] == 7);
  CHECK_EQ_STR(embeddings("{\"model\":\"e\",\"input\":[9]}"), "");
  CHECK(E.input.kind == API_INPUT_TOKENS && E.input.tokens.ids[0] == 9);

  CHECK_EQ_STR(embeddings("{\"input\":\"x\"}"), "model: is required");
  CHECK_EQ_STR(embeddings("{\"model\":\"e\"}"), "input: is required");
  CHECK_EQ_STR(embeddings("{\"model\":\"e\",\"input\":\"\"}"), "input: must not be empty");
  CHECK_EQ_STR(embeddings("{\"model\":\"e\",\"input\":[\"a\",\"\"]}"), "input[1]: must not be empty");
  CHECK_EQ_STR(embeddings("{\"model\":\"e\",\"input\":{}}"), "input: expected a string or an array");
  CHECK_EQ_STR(embeddings("{\"model\":\"e\",\"input\":\"x\",\"encoding_format\":\"hex\"}"),
               "encoding_format: must be one of: \"float\", \"base64\"");
  CHECK_EQ_STR(embeddings("{\"model\":\"e\",\"input\":\"x\",\"dimensions\":0}"), "dimensions: must be at least 1");
  hr_buf b = HR_BUF_INIT;
  hr_buf_append_str(&b, "{\"model\":\"e\",\"input\":[");
  for (int i = 0; i < 2049; i++) hr_buf_appendf(&b, "%s\"t\"", i ? "," : "");
  hr_buf_append_str(&b, "]}");
  CHECK_EQ_STR(embeddings(b.data), "input: must have at most 2048 items");
  hr_buf_free(&b);
}

int main(void) {
  A = hr_arena_new(1 << 16);
  RUN(parses_minimal_chat);
  RUN(parses_full_chat);
  RUN(null_is_absent_and_stop_can_be_a_string);
  RUN(bad_chat_fields_name_their_path);
  RUN(parses_completions);
  RUN(parses_embeddings);
  hr_arena_free(A);
  return test_report("chat_request");
}
