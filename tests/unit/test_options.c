/* Unit tests for src/base/options: precedence and errors. */
#include "../../src/base/options.h"
#include "test.h"

#include <stdlib.h>

static const char *host;
static long port;
static bool verbose;
static hr_opt_list models;

static const hr_option opts[] = {
    {"host", 0, OPT_STR, &host, "host", 0, 0},
    {"port", 'p', OPT_INT, &port, "port", 0, 65535},
    {"verbose", 'v', OPT_BOOL, &verbose, "verbose", 0, 0},
    {"model", 'm', OPT_LIST, &models, "model", 0, 0},
};

static int parse(hr_arena *a, int argc, char **argv, char *err) {
  bool help;
  host = "default";
  port = 1;
  verbose = false;
  models = (hr_opt_list){0};
  return hr_options_parse(a, opts, HR_ARRAY_LEN(opts), argc, argv, NULL, &help, err, 256);
}

TEST(flags_set_values) {
  hr_arena *a = hr_arena_new(1024);
  char err[256];
  char *argv[] = {"--host=h", "-p", "99", "-v", "-m", "a.gguf", "--model", "b.gguf"};
  CHECK_EQ_INT(parse(a, 8, argv, err), 0);
  CHECK_EQ_STR(host, "h");
  CHECK_EQ_INT(port, 99);
  CHECK(verbose);
  CHECK_EQ_INT(models.n, 2);
  CHECK_EQ_STR(models.items[1], "b.gguf");
  hr_arena_free(a);
}

TEST(flag_beats_env_beats_file) {
  hr_arena *a = hr_arena_new(1024);
  char err[256];
  char path[] = "/tmp/hearth-opt-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fprintf(f, "# comment\nport = 10\nhost = file\nmodel = f1\nmodel = f2\n");
  fclose(f);
  setenv("HEARTH_CONFIG", path, 1);
  setenv("HEARTH_PORT", "20", 1);
  char *none[] = {NULL};
  CHECK_EQ_INT(parse(a, 0, none, err), 0);
  CHECK_EQ_INT(port, 20);
  CHECK_EQ_STR(host, "file");
  CHECK_EQ_INT(models.n, 2);
  char *argv[] = {"--port", "30", "-m", "flag.gguf"};
  CHECK_EQ_INT(parse(a, 4, argv, err), 0);
  CHECK_EQ_INT(port, 30);
  CHECK_EQ_INT(models.n, 1); /* a later source replaces the list */
  CHECK_EQ_STR(models.items[0], "flag.gguf");
  unsetenv("HEARTH_CONFIG");
  unsetenv("HEARTH_PORT");
  remove(path);
  hr_arena_free(a);
}

TEST(errors_name_option_and_source) {
  hr_arena *a = hr_arena_new(1024);
  char err[256];
  char *bad_int[] = {"--port", "x"};
  CHECK_EQ_INT(parse(a, 2, bad_int, err), HR_EINVAL);
  CHECK(strstr(err, "flag port") != NULL);
  char *range[] = {"--port", "70000"};
  CHECK_EQ_INT(parse(a, 2, range, err), HR_EINVAL);
  char *unknown[] = {"--nope"};
  CHECK_EQ_INT(parse(a, 1, unknown, err), HR_EINVAL);
  CHECK(strstr(err, "--nope") != NULL);
  char *missing[] = {"--host"};
  CHECK_EQ_INT(parse(a, 1, missing, err), HR_EINVAL);
  char *positional[] = {"extra"};
  CHECK_EQ_INT(parse(a, 1, positional, err), HR_EINVAL);
  setenv("HEARTH_VERBOSE", "maybe", 1);
  char *none[] = {NULL};
  CHECK_EQ_INT(parse(a, 0, none, err), HR_EINVAL);
  CHECK(strstr(err, "environment verbose") != NULL);
  unsetenv("HEARTH_VERBOSE");
  hr_arena_free(a);
}

int main(void) {
  RUN(flags_set_values);
  RUN(flag_beats_env_beats_file);
  RUN(errors_name_option_and_source);
  return test_report("options");
}
