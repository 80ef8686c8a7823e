/* fuzz_chat_request — arbitrary bytes through json_read and the five
 * request parsers (chat, completions, embeddings, tokenize, detokenize);
 * whatever validates is read back field by field so
 * the sanitizers see every pointer the structs hold. */
// fuzz-sources: src/api/chat_request.c src/json/json.c src/json/json_write.c src/json/json_schema.c src/base/arena.c src/base/base.c
#include "../../src/api/chat_request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

static void touch(hr_str s) {
  for (size_t i = 0; i < s.len; i++) sink += (unsigned char)s.ptr[i];
}

static void touch_input(const api_input *in) {
  switch (in->kind) {
    case API_INPUT_TEXT: touch(in->text); break;
    case API_INPUT_TEXTS:
      for (size_t i = 0; i < in->n_texts; i++) touch(in->texts[i]);
      break;
    case API_INPUT_TOKENS:
      for (size_t i = 0; i < in->tokens.n; i++) sink += (size_t)in->tokens.ids[i];
      break;
    case API_INPUT_TOKEN_LISTS:
      for (size_t i = 0; i < in->n_lists; i++)
        for (size_t k = 0; k < in->lists[i].n; k++) sink += (size_t)in->lists[i].ids[k];
      break;
    default: abort();
  }
}

static void check_err(const json_validate_error *e) {
  if (!e->message[0] || strlen(e->path) >= sizeof e->path) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static hr_arena *a;
  if (!a) a = hr_arena_new(1 << 16);
  json_value *v;
  if (json_read(a, (const char *)data, size, NULL, &v, NULL)) {
    hr_arena_reset(a);
    return 0;
  }
  json_validate_error err;
  chat_request c;
  if (chat_request_parse(a, v, &c, &err) == 0) {
    touch(c.model);
    if (c.n_messages == 0) abort();
    for (size_t i = 0; i < c.n_messages; i++) {
      const chat_message *m = &c.messages[i];
      hr_str t;
      if (chat_message_text(a, m, &t)) abort();
      touch(t);
      touch(m->role);
      if (m->has_content && m->content.kind == CHAT_CONTENT_PARTS)
        for (size_t k = 0; k < m->content.n_parts; k++) touch(m->content.parts[k].type);
    }
    for (size_t i = 0; i < c.stop.n; i++) touch(c.stop.items[i]);
    if (c.stop.n > 4) abort();
    for (size_t i = 0; i < c.logit_bias.n; i++) {
      touch(c.logit_bias.keys[i]);
      if (!(c.logit_bias.values[i] >= -100 && c.logit_bias.values[i] <= 100)) abort();
    }
    if (c.has_temperature && !(c.temperature >= 0 && c.temperature <= 2)) abort();
    if (c.has_n && (c.n < 1 || c.n > 128)) abort();
  } else {
    check_err(&err);
  }
  completion_request p;
  if (completion_request_parse(a, v, &p, &err) == 0) {
    touch(p.model);
    touch_input(&p.prompt);
    for (size_t i = 0; i < p.stop.n; i++) touch(p.stop.items[i]);
  } else {
    check_err(&err);
  }
  embeddings_request e;
  if (embeddings_request_parse(a, v, &e, &err) == 0) {
    touch(e.model);
    touch_input(&e.input);
  } else {
    check_err(&err);
  }
  tokenize_request t;
  if (tokenize_request_parse(a, v, &t, &err) == 0) {
    touch(t.model);
    touch(t.prompt);
  } else {
    check_err(&err);
  }
  detokenize_request d;
  if (detokenize_request_parse(a, v, &d, &err) == 0) {
    touch(d.model);
    for (size_t i = 0; i < d.tokens.n; i++)
      if (d.tokens.ids[i] < 0) abort();
  } else {
    check_err(&err);
  }
  hr_arena_reset(a);
  return 0;
}
