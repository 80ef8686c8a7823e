/* test.h — the whole unit-test harness: a check macro, a runner macro and a
 * closing line. Each tests/unit/test_<module>.c is its own program:
 *
 *   TEST(parses_empty_object) { CHECK(json_read(...) == 0); }
 *   int main(void) { RUN(parses_empty_object); return test_report("json"); }
 *
 * A test fails when any CHECK in it fails; the program prints
 * "<module>: N passed, N failed" and exits non-zero if any failed. */
#ifndef HEARTH_TEST_H
#define HEARTH_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed, test_cur_failed;
static const char *test_cur_name;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "  FAIL %s: %s:%d: %s\n", test_cur_name, __FILE__, __LINE__, \
              #cond);                                                            \
      test_cur_failed = 1;                                                       \
    }                                                                            \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                          \
  do {                                                                              \
    long long va_ = (long long)(a), vb_ = (long long)(b);                           \
    if (va_ != vb_) {                                                               \
      fprintf(stderr, "  FAIL %s: %s:%d: %s == %s (%lld != %lld)\n", test_cur_name, \
              __FILE__, __LINE__, #a, #b, va_, vb_);                                \
      test_cur_failed = 1;                                                          \
    }                                                                               \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                             \
  do {                                                                                 \
    const char *sa_ = (a), *sb_ = (b);                                                 \
    if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                       \
      fprintf(stderr, "  FAIL %s: %s:%d: %s == %s (\"%s\" != \"%s\")\n", test_cur_name, \
              __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");  \
      test_cur_failed = 1;                                                             \
    }                                                                                  \
  } while (0)

#define RUN(name)                      \
  do {                                 \
    test_cur_name = #name;             \
    test_cur_failed = 0;               \
    name();                            \
    if (test_cur_failed) test_failed++; \
    else test_passed++;                \
  } while (0)

/* Tests whose CPU path is missing call this and return: they count as
 * skipped, printed, and neither passed nor failed. */
static int test_skipped;
#define SKIP(why)                                               \
  do {                                                          \
    fprintf(stderr, "  SKIP %s: %s\n", test_cur_name, why);     \
    test_skipped++;                                             \
    test_passed--; /* RUN will count it as passed otherwise */  \
    return;                                                     \
  } while (0)

static inline int test_report(const char *module) {
  printf("%s: %d passed, %d failed", module, test_passed, test_failed);
  if (test_skipped) printf(", %d skipped", test_skipped);
  printf("\n");
  return test_failed ? 1 : 0;
}

#endif
