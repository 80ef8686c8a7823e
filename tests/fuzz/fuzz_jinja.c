/* fuzz_jinja.c — compiles arbitrary bytes as a chat template and renders it
 * against a fixed small conversation (messages with a tool call, tools,
 * tokens), with tight limits. Looks for crashes, hangs, leaks and undefined
 * behaviour in the lexer, parser, evaluator and built-ins; every failure
 * must come back as an error code. Seeds: the real templates and the
 * feature cases of tests/data/templates/expr_cases.jsonl. */
// fuzz-sources: src/engine/jinja_lex.c src/engine/jinja_parse.c src/engine/jinja_value.c src/engine/jinja_eval.c src/engine/jinja_builtins.c src/engine/jinja_str.c src/json/json.c src/base/arena.c src/base/base.c
#include "../../src/engine/chat_template.h"
#include "../../src/json/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char ctx_json[] =
    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
    "{\"role\":\"user\",\"content\":\"Hi \\u00e9 <b>\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call12345\",\"type\":\"function\","
    "\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\",\"days\":2}}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call12345\",\"content\":\"sunny\"},"
    "{\"role\":\"assistant\",\"content\":\"<think>x</think>It is sunny.\"}],"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},"
    "\"days\":{\"type\":\"integer\",\"minimum\":1}},\"required\":[\"city\"]}}}],"
    "\"add_generation_prompt\":true,\"bos_token\":\"<s>\",\"eos_token\":\"</s>\",\"n\":1.5}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  char err[256];
  chat_template *t = NULL;
  if (chat_template_compile((const char *)data, size, &t, err, sizeof err)) return 0;
  hr_arena *a = hr_arena_new(1 << 16);
  json_value *j;
  json_error je;
  if (a && json_read(a, ctx_json, sizeof ctx_json - 1, NULL, &j, &je) == 0) {
    jinja_value *ctx = jinja_from_json(a, j);
    hr_buf out = HR_BUF_INIT;
    chat_template_limits lim = {.output_max = 256 * 1024, .memory_max = 16 << 20, .steps_max = 300000,
                                .depth_max = 24, .now_s = 1768435200};
    chat_template_render(t, a, ctx, &lim, &out, err, sizeof err);
    hr_buf_free(&out);
  }
  hr_arena_free(a);
  chat_template_free(t);
  return 0;
}
