/* test_pull.c — the model store's parsing: hf: sources to hub URLs and
 * names, plain URLs, ETag values as sha256, model names. The downloads
 * themselves are tested end to end in tests/integration/pull.test.js. */
#include "../../src/engine/pull.h"

#include "test.h"

static hr_arena *arena;
static char err[256];

static int parse(const char *spec, const char *endpoint, pull_source *out) {
  err[0] = 0;
  return pull_source_parse(arena, spec, endpoint, out, err, sizeof err);
}

TEST(hub_source_becomes_resolve_url) {
  pull_source s;
  CHECK_EQ_INT(parse("hf:ggml-org/models/tinyllamas/stories260K.gguf", NULL, &s), 0);
  CHECK_EQ_STR(s.url, "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf");
  CHECK_EQ_STR(s.name, "stories260K");
  CHECK(s.is_hub);
}

TEST(hub_source_with_revision_and_endpoint) {
  pull_source s;
  CHECK_EQ_INT(parse("hf:Org/Repo.v2/model Q4.GGUF@refs/pr/1", "http://127.0.0.1:9/", &s), 0);
  CHECK_EQ_STR(s.url, "http://127.0.0.1:9/Org/Repo.v2/resolve/refs%2Fpr%2F1/model%20Q4.GGUF");
  CHECK_EQ_STR(s.name, "model Q4");
  CHECK_EQ_INT(parse("hf:a/b/c.gguf@0123abc", "", &s), 0);
  CHECK_EQ_STR(s.url, "https://huggingface.co/a/b/resolve/0123abc/c.gguf");
}

TEST(bad_hub_sources_are_refused) {
  pull_source s;
  const char *bad[] = {"hf:", "hf:a", "hf:a/b", "hf:a/b/", "hf:a/b/c@", "hf:a/../c", "hf:a/b/../c",
                       "hf:a/b//c", "hf:a b/c/d", "hf:/b/c", "hf:a/b/./c", "ftp://x/y.gguf", "x.gguf"};
  for (size_t i = 0; i < HR_ARRAY_LEN(bad); i++) {
    CHECK_EQ_INT(parse(bad[i], NULL, &s), HR_EINVAL);
    CHECK(err[0] != 0);
  }
}

TEST(plain_url_names_its_file) {
  pull_source s;
  CHECK_EQ_INT(parse("https://example.com/dl/tiny-q8_0.gguf?download=true#x", NULL, &s), 0);
  CHECK_EQ_STR(s.url, "https://example.com/dl/tiny-q8_0.gguf?download=true#x");
  CHECK_EQ_STR(s.name, "tiny-q8_0");
  CHECK(!s.is_hub);
  CHECK_EQ_INT(parse("http://example.com", NULL, &s), 0);
  CHECK_EQ_STR(s.name, "");
  CHECK(!pull_name_ok(s.name));
  CHECK_EQ_INT(parse("http://example.com/a b", NULL, &s), HR_EINVAL);
}

TEST(names) {
  CHECK(pull_name_ok("stories260K"));
  CHECK(pull_name_ok("Llama-3.2-1B-Instruct-Q4_K_M"));
  CHECK(!pull_name_ok(""));
  CHECK(!pull_name_ok(".hidden"));
  CHECK(!pull_name_ok("a/b"));
  CHECK(!pull_name_ok("a\nb"));
  char longname[PULL_NAME_MAX + 2];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  CHECK(!pull_name_ok(longname));
}

TEST(etag_values) {
  const char *hex = "8143ae115ed6babe5e5ada8fb8c5b769d8f417802b2db042ad98b4f7ed73975b";
  char out[65], q[80];
  CHECK(pull_etag_sha256(hex, strlen(hex), out));
  CHECK_EQ_STR(out, hex);
  snprintf(q, sizeof q, " \"%s\"\r\n", hex);
  CHECK(pull_etag_sha256(q, strlen(q), out));
  CHECK_EQ_STR(out, hex);
  snprintf(q, sizeof q, "W/\"8143AE115ED6BABE5E5ADA8FB8C5B769D8F417802B2DB042AD98B4F7ED73975B\"");
  CHECK(pull_etag_sha256(q, strlen(q), out));
  CHECK_EQ_STR(out, hex);
  /* A git blob sha1 (a file not in LFS) is not a content hash. */
  const char *sha1 = "\"a661b1a138dac6dc5590367402d100765010ffd6\"";
  CHECK(!pull_etag_sha256(sha1, strlen(sha1), out));
  CHECK(!pull_etag_sha256("", 0, out));
  snprintf(q, sizeof q, "\"%.63sg\"", hex);
  CHECK(!pull_etag_sha256(q, strlen(q), out));
}

TEST(byte_sizes) {
  char b[32];
  pull_format_bytes(999, b, sizeof b);
  CHECK_EQ_STR(b, "999 B");
  pull_format_bytes(1185376, b, sizeof b);
  CHECK_EQ_STR(b, "1.2 MB");
  pull_format_bytes(4368439584ull, b, sizeof b);
  CHECK_EQ_STR(b, "4.37 GB");
}

int main(void) {
  arena = hr_arena_new(4096);
  RUN(hub_source_becomes_resolve_url);
  RUN(hub_source_with_revision_and_endpoint);
  RUN(bad_hub_sources_are_refused);
  RUN(plain_url_names_its_file);
  RUN(names);
  RUN(etag_values);
  RUN(byte_sizes);
  hr_arena_free(arena);
  return test_report("pull");
}
