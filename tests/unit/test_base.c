/* Unit tests for src/base: arenas and buffers. */
#include "../../src/base/base.h"
#include "test.h"

#include <stdint.h>

TEST(arena_aligns_and_grows) {
  hr_arena *a = hr_arena_new(256);
  CHECK(a != NULL);
  void *p = hr_arena_alloc(a, 3);
  void *q = hr_arena_alloc(a, 5);
  CHECK(((uintptr_t)p & 15) == 0 && ((uintptr_t)q & 15) == 0);
  CHECK(p != q);
  char *big = hr_arena_alloc(a, 10000); /* larger than a block */
  CHECK(big != NULL);
  memset(big, 'x', 10000);
  char *s = hr_arena_sprintf(a, "%s-%d", "id", 42);
  CHECK_EQ_STR(s, "id-42");
  CHECK(hr_arena_used(a) >= 10000);
  hr_arena_reset(a);
  CHECK_EQ_INT(hr_arena_used(a), 0);
  CHECK(hr_arena_strndup(a, "abc", 2)[2] == 0);
  hr_arena_free(a);
}

TEST(buf_appends_and_consumes) {
  hr_buf b = HR_BUF_INIT;
  for (int i = 0; i < 1000; i++) CHECK(hr_buf_appendf(&b, "%d,", i) == 0);
  CHECK(b.len > 2000);
  CHECK(memcmp(b.data, "0,1,2,", 6) == 0);
  hr_buf_consume(&b, 2);
  CHECK(memcmp(b.data, "1,2,", 4) == 0);
  CHECK(b.data[b.len] == 0);
  hr_buf_free(&b);
}

TEST(str_compares) {
  CHECK(hr_str_ieq(HR_STR("Content-Length"), HR_STR("content-length")));
  CHECK(!hr_str_eq(HR_STR("a"), HR_STR("ab")));
  CHECK(hr_str_eq_cstr(HR_STR("x"), "x"));
  CHECK_EQ_STR(hr_strerror(HR_EINVAL), "invalid input");
}

int main(void) {
  RUN(arena_aligns_and_grows);
  RUN(buf_appends_and_consumes);
  RUN(str_compares);
  return test_report("base");
}
