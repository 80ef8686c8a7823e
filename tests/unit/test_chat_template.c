/* test_chat_template.c — the Jinja interpreter against Jinja2 itself:
 *   - cases.jsonl: real model templates rendered by Hugging Face's
 *     apply_chat_template setup (byte for byte, or the same raise_exception
 *     message);
 *   - cases_extra.jsonl: the same templates with tools, tool calls, odd
 *     content and bad role orders, rendered by tests/data/templates/oracle.py;
 *   - expr_cases.jsonl: one small template per feature (expr_cases.py);
 * then parse errors, runtime errors, limits (steps, recursion, output,
 * memory, nesting), the C builders and concurrent renders of one template.
 * Run from the repository root (make unit does). */
#include "../../src/engine/chat_template.h"
#include "../../src/json/json.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>

#define DATA "tests/data/templates/"
#define NOW_2026_01_15 1768435200 /* the oracle's strftime_now date */

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  hr_buf b = HR_BUF_INIT;
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) hr_buf_append(&b, chunk, n);
  fclose(f);
  hr_buf_putc(&b, 0);
  *len = b.len - 1;
  return b.data;
}

/* Compiles and renders; 0 or the error code, with err filled. */
static int render_with(const char *src, const jinja_value *ctx, hr_arena *a,
                       const chat_template_limits *lim, hr_buf *out, char *err, size_t err_len) {
  chat_template *t;
  int rc = chat_template_compile(src, strlen(src), &t, err, err_len);
  if (rc) return rc;
  chat_template_limits l = lim ? *lim : (chat_template_limits){0};
  if (!l.now_s) l.now_s = NOW_2026_01_15;
  rc = chat_template_render(t, a, ctx, &l, out, err, err_len);
  chat_template_free(t);
  return rc;
}

/* Renders src with the JSON context text; the result (or "ERR<code>: msg")
 * is returned in a static buffer. */
static const char *R(const char *src, const char *ctx_json) {
  static char result[8192];
  hr_arena *a = hr_arena_new(1 << 16);
  jinja_value *ctx = NULL;
  if (ctx_json) {
    json_value *j;
    json_error je;
    if (json_read(a, ctx_json, strlen(ctx_json), NULL, &j, &je)) {
      snprintf(result, sizeof result, "BAD CONTEXT JSON: %s", je.message);
      hr_arena_free(a);
      return result;
    }
    ctx = jinja_from_json(a, j);
  }
  hr_buf out = HR_BUF_INIT;
  char err[512];
  int rc = render_with(src, ctx, a, NULL, &out, err, sizeof err);
  if (rc) snprintf(result, sizeof result, "ERR%d: %s", rc, err);
  else snprintf(result, sizeof result, "%.*s", (int)out.len, out.data ? out.data : "");
  hr_buf_free(&out);
  hr_arena_free(a);
  return result;
}

static void show_diff(const char *what, const char *want, size_t wn, const char *got, size_t gn) {
  size_t i = 0;
  while (i < wn && i < gn && want[i] == got[i]) i++;
  size_t from = i > 40 ? i - 40 : 0;
  fprintf(stderr, "    %s: differs at byte %zu (want %zu bytes, got %zu)\n", what, i, wn, gn);
  fprintf(stderr, "      want: ...%.*s...\n", (int)HR_MIN(wn - from, 100), want + from);
  fprintf(stderr, "      got:  ...%.*s...\n", (int)HR_MIN(gn - from, 100), got + from);
}

/* Runs one JSONL file of cases; returns the number that failed. When
 * has_source the template text is in "source" and the variables in
 * "context"; otherwise "template" names a file and the case is the context. */
static int run_jsonl(const char *file, bool has_source, int *total) {
  size_t len;
  char *text = slurp(file, &len);
  if (!text) {
    fprintf(stderr, "  cannot read %s (run from the repository root)\n", file);
    return 1;
  }
  int failed = 0, n = 0;
  char *line = text;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    size_t ll = nl ? (size_t)(nl - line) : strlen(line);
    hr_arena *a = hr_arena_new(1 << 16);
    json_value *c;
    json_error je;
    n++;
    if (json_read(a, line, ll, NULL, &c, &je)) {
      fprintf(stderr, "  %s:%d: bad JSON: %s\n", file, n, je.message);
      failed++;
      hr_arena_free(a);
      line = nl ? nl + 1 : NULL;
      continue;
    }
    const json_value *name = json_get(c, has_source ? "name" : "case");
    const json_value *tmpl = json_get(c, has_source ? "source" : "template");
    const json_value *want = json_get(c, "expected"), *want_err = json_get(c, "error");
    const json_value *other_err = json_get(c, "error_other");
    char label[256];
    snprintf(label, sizeof label, "%s:%d %s %s", file, n, has_source ? "" : tmpl->u.str.ptr, name->u.str.ptr);
    char *src;
    size_t src_len;
    if (has_source) {
      src = strdup(tmpl->u.str.ptr);
    } else {
      char path[512];
      snprintf(path, sizeof path, DATA "%s", tmpl->u.str.ptr);
      src = slurp(path, &src_len);
    }
    jinja_value *ctx = jinja_from_json(a, has_source ? json_get(c, "context") : c);
    hr_buf out = HR_BUF_INIT;
    char err[1024];
    int rc = src ? render_with(src, ctx, a, NULL, &out, err, sizeof err) : HR_EIO;
    bool ok;
    if (want) {
      ok = rc == 0 && out.len == want->u.str.len && (!out.len || memcmp(out.data, want->u.str.ptr, out.len) == 0);
      if (!ok) {
        fprintf(stderr, "  FAIL %s\n", label);
        if (rc) fprintf(stderr, "    error %d: %s\n", rc, err);
        else show_diff("output", want->u.str.ptr, want->u.str.len, out.data ? out.data : "", out.len);
      }
    } else if (want_err) {
      ok = rc == HR_EINVAL && strcmp(err, want_err->u.str.ptr) == 0;
      if (!ok) fprintf(stderr, "  FAIL %s\n    want raise '%s', got %d '%s'\n", label, want_err->u.str.ptr, rc, rc ? err : "");
    } else {
      ok = rc != 0 && rc != HR_EINVAL && other_err;
      if (!ok) fprintf(stderr, "  FAIL %s\n    want a template error (%s), got %d\n", label, other_err ? other_err->u.str.ptr : "?", rc);
    }
    failed += !ok;
    free(src);
    hr_buf_free(&out);
    hr_arena_free(a);
    line = nl ? nl + 1 : NULL;
  }
  free(text);
  *total = n;
  printf("  %s: %d/%d passed\n", file, n - failed, n);
  return failed;
}

TEST(cases_jsonl) {
  int n;
  CHECK_EQ_INT(run_jsonl(DATA "cases.jsonl", false, &n), 0);
  CHECK(n >= 152);
}

TEST(cases_extra_jsonl) {
  int n;
  CHECK_EQ_INT(run_jsonl(DATA "cases_extra.jsonl", false, &n), 0);
  CHECK(n > 0);
}

TEST(expr_cases_jsonl) {
  int n;
  CHECK_EQ_INT(run_jsonl(DATA "expr_cases.jsonl", true, &n), 0);
  CHECK(n > 0);
}

/* ---- hand-written checks --------------------------------------------------- */

TEST(basic_expressions) {
  CHECK_EQ_STR(R("{{ 1 + 2 }}", NULL), "3");
  CHECK_EQ_STR(R("{{ x.y[1:] }}", "{\"x\":{\"y\":\"abc\"}}"), "bc");
  CHECK_EQ_STR(R("{{ xs[::-1]|join }}", "{\"xs\":[\"a\",\"b\",\"c\"]}"), "cba");
  CHECK_EQ_STR(R("{{ xs[-1] }}", "{\"xs\":[1,2,3]}"), "3");
  CHECK_EQ_STR(R("{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}", "{\"d\":{\"z\":1,\"a\":2}}"), "z1a2");
  CHECK_EQ_STR(R("{{ 'a' if x is defined else 'b' }}", NULL), "b");
  CHECK_EQ_STR(R("{{ 1.5 }} {{ 2.0 }} {{ 1e100 }}", NULL), "1.5 2.0 1e+100");
  CHECK_EQ_STR(R("{{ n }}", "{\"n\":12345678901234}"), "12345678901234");
  CHECK_EQ_STR(R("{{ v }}", "{\"v\":1.0}"), "1.0");
  CHECK_EQ_STR(R("{{ v|tojson }}", "{\"v\":{\"k\":[1,\"\\u00e9\"]}}"), "{\"k\": [1, \"\xc3\xa9\"]}");
}

TEST(whitespace_control) {
  CHECK_EQ_STR(R("a\n  {% if true %}\n  b\n  {% endif %}\nc", NULL), "a\n  b\nc");
  CHECK_EQ_STR(R("  {{- 'x' -}}  ", NULL), "x");
  CHECK_EQ_STR(R("{% for i in range(3) -%}\n  {{ i }}\n{%- endfor %}", NULL), "012");
  CHECK_EQ_STR(R("{% raw %}{{ x }}{% endraw %}", NULL), "{{ x }}");
  CHECK_EQ_STR(R("x\n", NULL), "x");
  CHECK_EQ_STR(R("x\n\n", NULL), "x\n");
}

TEST(parse_errors) {
  const char *bad[] = {
      "{% if x %}never closed",
      "{% for x in y %}",
      "{{ x ",
      "{{ 'unterminated }}",
      "{% endif %}",
      "{% frobnicate %}",
      "{# no end",
      "{{ (1 }}",
      "{{ 1 + }}",
      "{% set %}",
      "{% macro m(a=1, b) %}{% endmacro %}",
      "{{ x | }}",
      "{% raw %} no end",
      "{% for x in y recursive %}{% endfor %}",
      "{{ x['a', 1:2] }}", /* fuzz: a slice inside a tuple subscript */
  };
  for (size_t i = 0; i < HR_ARRAY_LEN(bad); i++) {
    chat_template *t = NULL;
    char err[256] = "";
    int rc = chat_template_compile(bad[i], strlen(bad[i]), &t, err, sizeof err);
    if (rc != HR_EFORMAT) fprintf(stderr, "    '%s' -> %d\n", bad[i], rc);
    CHECK_EQ_INT(rc, HR_EFORMAT);
    CHECK(t == NULL);
    CHECK(strncmp(err, "line ", 5) == 0);
  }
  chat_template *t;
  char err[256];
  const char *src = "a\nb\n{% if x %}\nc";
  CHECK_EQ_INT(chat_template_compile(src, strlen(src), &t, err, sizeof err), HR_EFORMAT);
  CHECK(strstr(err, "endif") != NULL);
  src = "line1\nline2\n{{ 1 + + }}";
  CHECK_EQ_INT(chat_template_compile(src, strlen(src), &t, err, sizeof err), HR_EFORMAT);
  CHECK(strncmp(err, "line 3:", 7) == 0);
}

TEST(runtime_errors) {
  CHECK(strncmp(R("{{ x|nope }}", NULL), "ERR-6: line 1: No filter named 'nope'", 37) == 0);
  CHECK(strncmp(R("{{ x is nope }}", NULL), "ERR-6: line 1: No test named 'nope'", 35) == 0);
  CHECK(strstr(R("\n\n{{ missing.attr }}", NULL), "line 3: 'missing' is undefined") != NULL);
  CHECK(strstr(R("{{ d.a.b }}", "{\"d\":{}}"), "'dict object' has no attribute 'a'") != NULL);
  CHECK(strstr(R("{{ xs[0].role }}", "{\"xs\":[]}"), "list object has no element 0") != NULL);
  CHECK_EQ_STR(R("{{ raise_exception('Roles must alternate!') }}", NULL), "ERR-2: Roles must alternate!");
  CHECK(strstr(R("{{ 'a' + 1 }}", NULL), "can only concatenate str") != NULL);
  CHECK(strstr(R("{{ xs.append(1) }}", "{\"xs\":[]}"), "ERR-6") != NULL); /* sandbox: no mutation */
}

static int limited(const char *src, const chat_template_limits *lim, char *err, size_t err_len) {
  hr_arena *a = hr_arena_new(1 << 16);
  hr_buf out = HR_BUF_INIT;
  int rc = render_with(src, NULL, a, lim, &out, err, err_len);
  hr_buf_free(&out);
  hr_arena_free(a);
  return rc;
}

TEST(limits) {
  char err[256];
  chat_template_limits lim = {.steps_max = 2000000, .output_max = 1 << 20, .memory_max = 32 << 20};
  uint64_t t0 = hr_now_ns();
  CHECK_EQ_INT(limited("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", &lim, err, sizeof err), HR_ERANGE);
  chat_template_limits few_steps = {.steps_max = 100000};
  CHECK_EQ_INT(limited("{% for i in range(90000) %}{{ '' }}{% endfor %}", &few_steps, err, sizeof err), HR_ERANGE);
  CHECK(strstr(err, "steps") != NULL);
  CHECK_EQ_INT(limited("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", &lim, err, sizeof err), HR_ERANGE);
  CHECK_EQ_INT(limited("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", &lim, err, sizeof err), HR_ERANGE);
  CHECK(strstr(err, "bytes") != NULL);
  CHECK_EQ_INT(limited("{{ 'x' * 100000000000 }}", &lim, err, sizeof err), HR_ERANGE);
  CHECK_EQ_INT(limited("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = ns.l + [i, i, i] %}{% endfor %}", &lim, err, sizeof err), HR_ERANGE);
  CHECK_EQ_INT(limited("{% set ns = namespace(x=1) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}", &lim, err, sizeof err), HR_ERANGE);
  CHECK_EQ_INT(limited("{% set ns = namespace(x=1) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x|tojson }}", &lim, err, sizeof err), HR_ERANGE);
  CHECK_EQ_INT(limited("{{ range(1000000)|list }}", &lim, err, sizeof err), HR_ERANGE);
  CHECK_EQ_INT(limited("{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", &lim, err, sizeof err), HR_ERANGE);
  CHECK((hr_now_ns() - t0) / 1000000 < 5000); /* each limit trips quickly */
  /* deep nesting is refused at compile time, not by a stack overflow */
  hr_buf deep = HR_BUF_INIT;
  hr_buf_append_str(&deep, "{{ ");
  for (int i = 0; i < 20000; i++) hr_buf_append_str(&deep, "(");
  hr_buf_append_str(&deep, "1");
  for (int i = 0; i < 20000; i++) hr_buf_append_str(&deep, ")");
  hr_buf_append_str(&deep, " }}");
  chat_template *t;
  CHECK_EQ_INT(chat_template_compile(deep.data, deep.len, &t, err, sizeof err), HR_ERANGE);
  hr_buf_clear(&deep);
  for (int i = 0; i < 5000; i++) hr_buf_append_str(&deep, "{% if true %}");
  CHECK(chat_template_compile(deep.data, deep.len, &t, err, sizeof err) < 0);
  hr_buf_clear(&deep);
  for (int i = 0; i < 5000; i++) hr_buf_append_str(&deep, "{{ [");
  CHECK(chat_template_compile(deep.data, deep.len, &t, err, sizeof err) < 0);
  hr_buf_free(&deep);
}

TEST(output_kept_on_error) {
  hr_arena *a = hr_arena_new(4096);
  hr_buf out = HR_BUF_INIT;
  hr_buf_append_str(&out, "prefix");
  char err[128];
  CHECK_EQ_INT(render_with("abc{{ raise_exception('no') }}", NULL, a, NULL, &out, err, sizeof err), HR_EINVAL);
  CHECK_EQ_INT(out.len, 6);
  CHECK_EQ_INT(render_with("abc", NULL, a, NULL, &out, err, sizeof err), 0);
  CHECK(out.len == 9 && memcmp(out.data, "prefixabc", 9) == 0);
  hr_buf_free(&out);
  hr_arena_free(a);
}

TEST(c_builders) {
  hr_arena *a = hr_arena_new(4096);
  jinja_value *ctx = jinja_dict_new(a);
  CHECK_EQ_INT(jinja_dict_set(a, ctx, "name", jinja_string_new(a, "hearth", 6)), 0);
  CHECK_EQ_INT(jinja_dict_set(a, ctx, "flag", jinja_bool_new(a, true)), 0);
  CHECK_EQ_INT(jinja_dict_set(a, ctx, "n", jinja_int_new(a, 41)), 0);
  CHECK_EQ_INT(jinja_dict_set(a, jinja_string_new(a, "x", 1), "k", jinja_int_new(a, 1)), HR_EINVAL);
  hr_buf out = HR_BUF_INIT;
  char err[128];
  CHECK_EQ_INT(render_with("{{ name|upper }} {{ flag }} {{ n + 1 }}", ctx, a, NULL, &out, err, sizeof err), 0);
  CHECK(out.len == 14 && memcmp(out.data, "HEARTH True 42", 14) == 0);
  hr_buf_free(&out);
  hr_arena_free(a);
}

TEST(strftime_uses_clock) {
  hr_arena *a = hr_arena_new(4096);
  hr_buf out = HR_BUF_INIT;
  char err[128];
  chat_template *t;
  const char *src = "{{ strftime_now('%Y') }}";
  CHECK_EQ_INT(chat_template_compile(src, strlen(src), &t, err, sizeof err), 0);
  CHECK_EQ_INT(chat_template_render(t, a, NULL, NULL, &out, err, sizeof err), 0);
  long year = strtol(out.data, NULL, 10);
  CHECK(year >= 2025 && year < 2200);
  chat_template_free(t);
  hr_buf_free(&out);
  hr_arena_free(a);
}

typedef struct {
  const chat_template *t;
  const char *ctx_json;
  char result[4096];
  int rc;
} thread_job;

static void *render_thread(void *arg) {
  thread_job *j = arg;
  for (int k = 0; k < 50; k++) {
    hr_arena *a = hr_arena_new(1 << 16);
    json_value *v;
    json_error je;
    json_read(a, j->ctx_json, strlen(j->ctx_json), NULL, &v, &je);
    hr_buf out = HR_BUF_INIT;
    char err[256];
    chat_template_limits lim = {.now_s = NOW_2026_01_15};
    j->rc = chat_template_render(j->t, a, jinja_from_json(a, v), &lim, &out, err, sizeof err);
    snprintf(j->result, sizeof j->result, "%.*s", (int)out.len, out.data ? out.data : "");
    hr_buf_free(&out);
    hr_arena_free(a);
  }
  return NULL;
}

TEST(concurrent_renders) {
  size_t len;
  char *src = slurp(DATA "meta-llama-Llama-3.2-3B-Instruct.jinja", &len);
  if (!src) SKIP("template data missing");
  chat_template *t;
  char err[256];
  CHECK_EQ_INT(chat_template_compile(src, len, &t, err, sizeof err), 0);
  const char *ctx[2] = {
      "{\"messages\":[{\"role\":\"user\",\"content\":\"one\"}],\"bos_token\":\"<s>\",\"add_generation_prompt\":true}",
      "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"two\"}],\"bos_token\":\"\"}",
  };
  thread_job jobs[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    jobs[i].t = t;
    jobs[i].ctx_json = ctx[i % 2];
    pthread_create(&th[i], NULL, render_thread, &jobs[i]);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ_INT(jobs[i].rc, 0);
    CHECK_EQ_STR(jobs[i].result, jobs[i % 2].result);
  }
  CHECK(strstr(jobs[0].result, "Today Date: 15 Jan 2026") != NULL);
  CHECK(strstr(jobs[1].result, "two<|eot_id|>") != NULL);
  chat_template_free(t);
  free(src);
}

int main(void) {
  RUN(cases_jsonl);
  RUN(cases_extra_jsonl);
  RUN(expr_cases_jsonl);
  RUN(basic_expressions);
  RUN(whitespace_control);
  RUN(parse_errors);
  RUN(runtime_errors);
  RUN(limits);
  RUN(output_kept_on_error);
  RUN(c_builders);
  RUN(strftime_uses_clock);
  RUN(concurrent_renders);
  return test_report("chat_template");
}
