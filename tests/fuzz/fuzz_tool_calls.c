/* fuzz_tool_calls — the search for function calls in a model's answer (on
 * text the model was steered to by whoever wrote the prompt), on arbitrary
 * bytes. Every call found must be of a declared function with an object of
 * arguments; the text a stream may send must never shrink as the answer
 * grows, never pass its length, and stop before any "<tool_call>"; the text
 * beside calls must be pieces of the answer. Aborts otherwise. (Odd-sized
 * inputs are read as forced calls: bare JSON only.) */
// fuzz-sources: src/api/tool_calls.c src/json/json.c src/base/arena.c src/base/base.c
#include "../../src/api/tool_calls.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char tools_json[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"pick\"}}]";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hr_arena *a = hr_arena_new(1 << 16);
  json_value *tools;
  if (json_read(a, tools_json, strlen(tools_json), NULL, &tools, NULL)) abort();
  const char *text = (const char *)data;
  tool_call_list l;
  int n = tool_calls_parse(a, text, size, tools, size & 1, &l);
  if (n < 0 && n != HR_ENOMEM) abort();
  for (int i = 0; i < n; i++) {
    if (l.calls[i].arguments->type != JSON_OBJECT) abort();
    hr_str name = l.calls[i].name;
    if (!(name.len == 11 && !memcmp(name.ptr, "get_weather", 11)) && !(name.len == 4 && !memcmp(name.ptr, "pick", 4)))
      abort();
  }
  if (n <= 0 && (l.content.len || l.n_parts)) abort();
  for (int i = 0; i < l.n_parts; i++) /* content parts are pieces of the answer */
    if (l.parts[i].ptr < text || l.parts[i].ptr + l.parts[i].len > text + size) abort();
  const char *tag = memmem(text, size, "<tool_call>", 11);
  size_t sent = 0;
  for (size_t len = 0; len <= size; len++) {
    size_t ok = tool_calls_text_prefix(text, len, 0);
    if (tool_calls_text_prefix(text, len, sent) != ok) abort(); /* the hint is only a hint */
    if (ok > len) abort();
    if (tag && ok > (size_t)(tag - text)) abort();
    if (ok < sent) abort(); /* text already sent cannot be taken back */
    sent = ok;
  }
  hr_arena_free(a);
  return 0;
}
