/* bench_json — MB/s of json_read (and json_read + chat_request_parse, and
 * the writer) on chat-shaped request bodies: a short one, like most API
 * calls, and a long one with a big system prompt and escapes. Prints one
 * line per case; bench/json/parse.js measures Node's JSON.parse (what
 * Fastify uses) on the very same bodies, written to /tmp by this program.
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -o /tmp/bench_json bench/json/bench_json.c \
 *      src/json/json*.c src/api/chat_request.c src/base/arena.c src/base/base.c -lm -pthread
 *   /tmp/bench_json && node bench/json/parse.js */
#include "../../src/api/chat_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void make_short(hr_buf *b) {
  hr_buf_append_str(b,
                    "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a "
                    "helpful assistant.\"},{\"role\":\"user\",\"content\":\"Tell me a story about a little "
                    "girl who finds a dragon in the garden.\"}],\"temperature\":0.7,\"top_p\":0.95,"
                    "\"max_tokens\":128,\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                    "\"stop\":[\"\\n\\n\",\"<|end|>\"],\"user\":\"user-1234\"}");
}

static void make_long(hr_buf *b) {
  hr_buf_append_str(b, "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"system\",\"content\":\"");
  for (int i = 0; i < 200; i++)
    hr_buf_appendf(b, "Rule %d: answer politely, cite \\\"sources\\\" and keep lines short.\\n", i);
  hr_buf_append_str(b, "\"}");
  for (int i = 0; i < 20; i++)
    hr_buf_appendf(b,
                   ",{\"role\":\"%s\",\"content\":[{\"type\":\"text\",\"text\":\"Turn %d: caf\xC3\xA9 \xE2\x82\xAC "
                   "what happened next in the story, and why did the dragon stay?\"}]}",
                   i % 2 ? "assistant" : "user", i);
  hr_buf_append_str(b, "],\"temperature\":0.2,\"max_tokens\":512,\"logit_bias\":{\"50256\":-100,\"13\":2.5},"
                       "\"seed\":42,\"n\":1,\"stream\":false}");
}

static double now_s(void) { return (double)hr_now_ns() / 1e9; }

static void run(const char *name, const hr_buf *body) {
  hr_arena *a = hr_arena_new(1 << 16);
  json_value *v;
  json_error e;
  if (json_read(a, body->data, body->len, NULL, &v, &e)) {
    fprintf(stderr, "%s: %s\n", name, e.message);
    exit(1);
  }
  chat_request c;
  json_validate_error ve;
  if (chat_request_parse(a, v, &c, &ve)) {
    fprintf(stderr, "%s: %s: %s\n", name, ve.path, ve.message);
    exit(1);
  }
  size_t iters = (size_t)(400e6 / (double)body->len) + 1;
  double t0 = now_s();
  for (size_t i = 0; i < iters; i++) {
    hr_arena_reset(a);
    json_read(a, body->data, body->len, NULL, &v, NULL);
  }
  double t1 = now_s();
  for (size_t i = 0; i < iters; i++) {
    hr_arena_reset(a);
    json_read(a, body->data, body->len, NULL, &v, NULL);
    chat_request_parse(a, v, &c, &ve);
  }
  double t2 = now_s();
  hr_buf out = HR_BUF_INIT;
  for (size_t i = 0; i < iters; i++) {
    hr_buf_clear(&out);
    json_writer w;
    json_w_init(&w, &out);
    json_w_value(&w, v);
  }
  double t3 = now_s();
  double mb = (double)body->len * (double)iters / 1e6;
  printf("%-6s %6zu bytes  read %7.0f MB/s %6.2f us/body | read+validate %6.2f us/body | write %7.0f MB/s\n",
         name, body->len, mb / (t1 - t0), (t1 - t0) / (double)iters * 1e6, (t2 - t1) / (double)iters * 1e6,
         mb / (t3 - t2));
  char path[64];
  snprintf(path, sizeof path, "/tmp/hearth_bench_json_%s.json", name);
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite(body->data, 1, body->len, f);
    fclose(f);
  }
  hr_buf_free(&out);
  hr_arena_free(a);
}

int main(void) {
  hr_buf s = HR_BUF_INIT, l = HR_BUF_INIT;
  make_short(&s);
  make_long(&l);
  run("short", &s);
  run("long", &l);
  hr_buf_free(&s);
  hr_buf_free(&l);
  return 0;
}
