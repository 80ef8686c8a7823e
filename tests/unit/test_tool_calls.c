/* Unit tests for src/api/tool_calls: the calls a model writes in the shapes
 * chat models are trained on are found and checked against the request's
 * tools; anything else stays text; a stream never lets a call's beginning
 * out as text. */
#include "../../src/api/tool_calls.h"
#include "test.h"

#include <string.h>

static hr_arena *A;
static const json_value *TOOLS;
static tool_call_list L;

static const json_value *json(const char *text) {
  json_value *v = NULL;
  if (json_read(A, text, strlen(text), NULL, &v, NULL)) return NULL;
  return v;
}

static int parse(const char *text) { return tool_calls_parse(A, text, strlen(text), TOOLS, false, &L); }
static int parse_forced(const char *text) { return tool_calls_parse(A, text, strlen(text), TOOLS, true, &L); }

/* call i as "name args" with the arguments written back compactly */
static const char *call(int i) {
  static char out[300];
  if (i >= L.n) return "(none)";
  const json_value *args = L.calls[i].arguments;
  int at = snprintf(out, sizeof out, "%.*s", (int)L.calls[i].name.len, L.calls[i].name.ptr);
  for (size_t k = 0; k < args->u.obj.n; k++) {
    const json_value *v = args->u.obj.members[k].value;
    at += snprintf(out + at, sizeof out - (size_t)at, " %s=", args->u.obj.members[k].key.ptr);
    if (v->type == JSON_STRING) at += snprintf(out + at, sizeof out - (size_t)at, "%s", v->u.str.ptr);
    else if (v->type == JSON_NUMBER) at += snprintf(out + at, sizeof out - (size_t)at, "%g", v->u.num.d);
    else at += snprintf(out + at, sizeof out - (size_t)at, "?");
  }
  return out;
}

static const char *content(void) {
  static char out[300];
  snprintf(out, sizeof out, "%.*s", (int)L.content.len, L.content.ptr);
  return out;
}

TEST(hermes_tags_one_or_several_with_text_beside) {
  CHECK_EQ_INT(parse("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}\n</tool_call>"), 1);
  CHECK_EQ_STR(call(0), "get_weather city=Rome");
  CHECK_EQ_STR(content(), "");
  CHECK_EQ_INT(parse("Let me look.\n<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}</tool_call>\n"
                     "<tool_call>{\"name\":\"pick\",\"arguments\":{\"n\":3}}</tool_call>"), 2);
  CHECK_EQ_STR(call(0), "get_weather city=Oslo");
  CHECK_EQ_STR(call(1), "pick n=3");
  CHECK_EQ_STR(content(), "Let me look.");
  /* the answer ended (end of sequence) before the closing tag */
  CHECK_EQ_INT(parse("<tool_call>{\"name\": \"pick\", \"arguments\": {\"n\": 7}}"), 1);
  CHECK_EQ_STR(call(0), "pick n=7");
  /* arguments as a JSON string, as some models write them; none at all */
  CHECK_EQ_INT(parse("<tool_call>{\"name\": \"pick\", \"arguments\": \"{\\\"n\\\": 1}\"}</tool_call>"), 1);
  CHECK_EQ_STR(call(0), "pick n=1");
  CHECK_EQ_INT(parse("<tool_call>{\"name\": \"now\"}</tool_call>"), 1);
  CHECK_EQ_STR(call(0), "now");
  /* text after and between calls is content too, as pieces of the answer */
  const char *t = "<tool_call>{\"name\":\"now\"}</tool_call>\n I asked.\n<tool_call>{\"name\":\"now\"}</tool_call> Done";
  CHECK_EQ_INT(parse(t), 2);
  CHECK_EQ_STR(content(), "I asked.\nDone");
  CHECK_EQ_INT(L.n_parts, 2);
  CHECK(L.parts[0].ptr == strstr(t, "I asked") && L.parts[0].len == 8);
  /* a closing tag inside an argument's string does not end the call */
  CHECK_EQ_INT(parse("<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"</tool_call>\"}}</tool_call>"), 1);
  CHECK_EQ_STR(call(0), "get_weather city=</tool_call>");
}

TEST(a_forced_call_is_read_as_bare_json_whatever_its_strings_hold) {
  CHECK_EQ_INT(parse_forced("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"<tool_call>\"}}"), 1);
  CHECK_EQ_STR(call(0), "get_weather city=<tool_call>");
  /* the same text chosen by the model: bare JSON is tried first */
  CHECK_EQ_INT(parse("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"<tool_call>\"}}"), 1);
  CHECK_EQ_INT(parse_forced("<tool_call>{\"name\": \"now\", \"arguments\": {}}</tool_call>"), 0);
}

TEST(bare_json_calls_llama_and_mistral_shapes) {
  CHECK_EQ_INT(parse(" {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}"), 1);
  CHECK_EQ_STR(call(0), "get_weather city=Paris");
  CHECK_EQ_INT(parse("<|python_tag|>{\"name\": \"pick\", \"parameters\": {\"n\": 2}}"), 1);
  CHECK_EQ_STR(call(0), "pick n=2");
  CHECK_EQ_INT(parse("[{\"name\": \"pick\", \"arguments\": {\"n\": 4}}, {\"name\": \"now\", \"arguments\": {}}]"), 2);
  CHECK_EQ_STR(call(1), "now");
  CHECK_EQ_INT(parse("[TOOL_CALLS][{\"name\": \"pick\", \"arguments\": {\"n\": 5}}]"), 1);
  CHECK_EQ_STR(call(0), "pick n=5");
}

TEST(anything_else_stays_text) {
  CHECK_EQ_INT(parse("The weather in Rome is sunny."), 0);
  CHECK_EQ_INT(parse(""), 0);
  /* an undeclared function, arguments that are no object, broken JSON */
  CHECK_EQ_INT(parse("<tool_call>{\"name\": \"delete_all\", \"arguments\": {}}</tool_call>"), 0);
  CHECK_EQ_INT(parse("<tool_call>{\"name\": \"pick\", \"arguments\": [1]}</tool_call>"), 0);
  CHECK_EQ_INT(parse("<tool_call>{\"name\": \"pick\", \"arguments\": \"n=1\"}</tool_call>"), 0);
  CHECK_EQ_INT(parse("<tool_call>{\"name\": \"pick\", \"arguments\": {\"n\": 1}</tool_call>"), 0);
  CHECK_EQ_INT(parse("<tool_call>pick(1)</tool_call>"), 0);
  /* one bad call among good ones: all is text, nothing half-called */
  CHECK_EQ_INT(parse("<tool_call>{\"name\":\"pick\",\"arguments\":{}}</tool_call><tool_call>{\"name\":\"x\"}</tool_call>"), 0);
  CHECK_EQ_INT(parse("[{\"name\": \"pick\", \"arguments\": {}}, 3]"), 0);
  CHECK_EQ_INT(parse("{\"answer\": 42}"), 0);
  CHECK_EQ_INT(parse("{\"name\": 3, \"arguments\": {}}"), 0);
  /* bare JSON must say its arguments: any object with a name is no call */
  CHECK_EQ_INT(parse("{\"name\": \"get_weather\"}"), 0);
  CHECK_EQ_INT(parse("[]"), 0);
  /* no tools in the request: nothing is a call */
  const json_value *tools = TOOLS;
  TOOLS = json("[]");
  CHECK_EQ_INT(parse("<tool_call>{\"name\":\"pick\",\"arguments\":{}}</tool_call>"), 0);
  TOOLS = tools;
  CHECK_EQ_STR(content(), "");
  /* more calls than an answer may hold */
  hr_buf b = HR_BUF_INIT;
  for (int i = 0; i < 65; i++) hr_buf_append_str(&b, "<tool_call>{\"name\":\"now\"}</tool_call>");
  CHECK_EQ_INT(tool_calls_parse(A, b.data, b.len, TOOLS, false, &L), 0);
  hr_buf_free(&b);
}

static size_t tool_calls_text_prefix_0(const char *t, size_t n) { return tool_calls_text_prefix(t, n, 0); }

/* Every prefix of text, as a stream grows it: the text that may go out
 * never shrinks, and never reaches into a call. */
static size_t stream_free(const char *text, size_t hold_from) {
  size_t sent = 0, n = strlen(text);
  for (size_t len = 0; len <= n; len++) {
    size_t ok = tool_calls_text_prefix(text, len, 0);
    CHECK(tool_calls_text_prefix(text, len, sent) == ok); /* the hint changes nothing */
    CHECK(ok <= len);
    CHECK(ok <= hold_from);
    if (ok > sent) sent = ok;
  }
  return sent;
}

TEST(a_stream_holds_back_where_a_call_may_begin) {
  CHECK_EQ_INT((int)tool_calls_text_prefix_0("Hello there", 11), 11);
  CHECK_EQ_INT((int)tool_calls_text_prefix_0("Hello <tool", 11), 6);
  CHECK_EQ_INT((int)tool_calls_text_prefix_0("Hello <b>", 9), 9);
  CHECK_EQ_INT((int)tool_calls_text_prefix_0("  \n", 3), 0);
  CHECK_EQ_INT((int)tool_calls_text_prefix_0(" {\"na", 5), 0);
  CHECK_EQ_INT((int)tool_calls_text_prefix_0("[TOOL", 5), 0);
  CHECK_EQ_INT((int)tool_calls_text_prefix_0("<|python", 8), 0);
  const char *t = "Sure. <tool_call>{\"name\":\"pick\",\"arguments\":{\"n\":1}}</tool_call>";
  CHECK_EQ_INT((int)stream_free(t, 6), 6);
  t = "I think <b>bold</b> is < more.";
  CHECK_EQ_INT((int)stream_free(t, strlen(t)), (int)strlen(t));
  t = "{\"name\":\"pick\",\"arguments\":{}}";
  CHECK_EQ_INT((int)stream_free(t, 0), 0);
}

int main(void) {
  A = hr_arena_new(1 << 16);
  TOOLS = json("[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{}}},"
               "{\"type\":\"function\",\"function\":{\"name\":\"pick\"}},"
               "{\"type\":\"function\",\"function\":{\"name\":\"now\"}}]");
  RUN(hermes_tags_one_or_several_with_text_beside);
  RUN(bare_json_calls_llama_and_mistral_shapes);
  RUN(a_forced_call_is_read_as_bare_json_whatever_its_strings_hold);
  RUN(anything_else_stays_text);
  RUN(a_stream_holds_back_where_a_call_may_begin);
  hr_arena_free(A);
  return test_report("tool_calls");
}
