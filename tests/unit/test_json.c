/* Unit tests for src/json: the reader (grammar, UTF-8, numbers, error
 * positions, depth), the writer (escaping, doubles that round-trip, trees),
 * schema validation (paths and messages), and the whole of JSONTestSuite's
 * test_parsing, read at run time from tests/data/JSONTestSuite (run from the
 * repository root). */
#include "../../src/json/json.h"
#include "test.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static hr_arena *A;

static json_value *parse_n(const char *s, size_t n) {
  json_value *v = NULL;
  json_error e;
  int rc = json_read(A, s, n, NULL, &v, &e);
  if (rc) fprintf(stderr, "    (parse failed: %s)\n", e.message);
  return rc ? NULL : v;
}
static json_value *parse(const char *s) { return parse_n(s, strlen(s)); }

/* The error message for text that must fail; "" when it parsed. */
static json_error last_err;
static int fail_rc;
static const char *fails_n(const char *s, size_t n) {
  json_value *v = NULL;
  fail_rc = json_read(A, s, n, NULL, &v, &last_err);
  return fail_rc ? last_err.message : "";
}
static const char *fails(const char *s) { return fails_n(s, strlen(s)); }

/* ---- reader ------------------------------------------------------------- */

TEST(reads_scalars) {
  json_value *v = parse(" null ");
  CHECK(v && v->type == JSON_NULL);
  v = parse("true");
  CHECK(v && v->type == JSON_TRUE);
  v = parse("\tfalse\r\n");
  CHECK(v && v->type == JSON_FALSE);
  v = parse("\"hi\"");
  CHECK(v && v->type == JSON_STRING && v->u.str.len == 2);
  CHECK_EQ_STR(v->u.str.ptr, "hi");
  v = parse("\"\"");
  CHECK(v && v->u.str.len == 0 && v->u.str.ptr[0] == 0);
}

TEST(reads_integers_exactly) {
  json_value *v = parse("0");
  CHECK(v && v->u.num.is_int && v->u.num.i == 0);
  v = parse("-0");
  CHECK(v && v->u.num.is_int && v->u.num.i == 0 && signbit(v->u.num.d));
  v = parse("9223372036854775807");
  CHECK(v && v->u.num.is_int && v->u.num.i == INT64_MAX);
  v = parse("-9223372036854775808");
  CHECK(v && v->u.num.is_int && v->u.num.i == INT64_MIN);
  CHECK(v->u.num.d == -9223372036854775808.0);
  v = parse("9223372036854775808");
  CHECK(v && !v->u.num.is_int && v->u.num.d == 9223372036854775808.0);
  v = parse("-9223372036854775809");
  CHECK(v && !v->u.num.is_int);
  v = parse("12345678901234567890123");
  CHECK(v && !v->u.num.is_int && v->u.num.d == 1.2345678901234568e22);
  v = parse("9007199254740993"); /* 2^53 + 1: exact as int64, rounds as double */
  CHECK(v && v->u.num.is_int && v->u.num.i == 9007199254740993LL && v->u.num.d == 9007199254740992.0);
  v = parse("1.0");
  CHECK(v && !v->u.num.is_int && v->u.num.d == 1.0);
  v = parse("1e3");
  CHECK(v && !v->u.num.is_int && v->u.num.d == 1000.0);
  v = parse("-17");
  CHECK(v && v->u.num.i == -17 && v->u.num.raw_len == 3);
  CHECK_EQ_STR(v->u.num.raw, "-17");
}

TEST(reads_doubles_like_strtod) {
  static const char *const cases[] = {
      "0.1", "-0.5", "3.141592653589793", "0.30000000000000004", "1e-7", "1E+2", "2.5e-3",
      "1.7976931348623157e308", "4.9e-324", "5e-324", "2.2250738585072014e-308",
      "2.2250738585072011e-308", "1.00000000000000011102230246251565404236316680908203125",
      "123456789012345.6", "1234567890123456.7", "0.000000000000000000000000000001",
      "9007199254740993.0", "1e22", "1e23", "8.98846567431158e307", "-0.0", "1.5e300",
      "0.1e-22", "123.456e-10", "100000000000000000000000000000000000000000000e-20",
  };
  for (size_t i = 0; i < HR_ARRAY_LEN(cases); i++) {
    json_value *v = parse(cases[i]);
    CHECK(v && v->type == JSON_NUMBER);
    if (!v) continue;
    double want = strtod(cases[i], NULL);
    if (memcmp(&v->u.num.d, &want, sizeof want) != 0) {
      fprintf(stderr, "    %s: got %.17g want %.17g\n", cases[i], v->u.num.d, want);
      CHECK(0);
    }
    CHECK_EQ_STR(v->u.num.raw, cases[i]);
  }
  json_value *v = parse("1e400");
  CHECK(v && isinf(v->u.num.d) && v->u.num.d > 0);
  v = parse("-1e400");
  CHECK(v && isinf(v->u.num.d) && v->u.num.d < 0);
  v = parse("1e-400");
  CHECK(v && v->u.num.d == 0);
  v = parse("1e99999999999999999999");
  CHECK(v && isinf(v->u.num.d));
}

TEST(reads_string_escapes) {
  json_value *v = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\te\"");
  CHECK(v && v->u.str.len == 13);
  CHECK(v && memcmp(v->u.str.ptr, "a\"b\\c/d\b\f\n\r\te", 14) == 0);
  v = parse("\"\\u0041\\u00e9\\u20AC\\uD83D\\uDE00\"");
  CHECK(v && v->u.str.len == 1 + 2 + 3 + 4);
  CHECK(v && memcmp(v->u.str.ptr, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 11) == 0);
  v = parse("\"a\\u0000b\"");
  CHECK(v && v->u.str.len == 3 && v->u.str.ptr[1] == 0 && v->u.str.ptr[3] == 0);
  v = parse("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\"");
  CHECK(v && v->u.str.len == 19);
}

TEST(reads_long_strings) {
  /* plain, and with escapes at every position of a 16-byte block, and long
   * enough to move the escape buffer to the heap */
  char text[5000], want[5000];
  for (int pos = 0; pos < 40; pos++) {
    size_t n = 0, w = 0;
    text[n++] = '"';
    for (int i = 0; i < 3000; i++) {
      if (i == pos || i == 2999 - pos) {
        memcpy(text + n, "\\n", 2);
        n += 2;
        want[w++] = '\n';
      } else if (i % 97 == 50) {
        memcpy(text + n, "\xC3\xA9", 2);
        n += 2;
        want[w++] = '\xC3';
        want[w++] = '\xA9';
        i++;
      } else {
        text[n++] = (char)('a' + i % 26);
        want[w++] = (char)('a' + i % 26);
      }
    }
    text[n++] = '"';
    json_value *v = parse_n(text, n);
    CHECK(v && v->u.str.len == w && memcmp(v->u.str.ptr, want, w) == 0 && v->u.str.ptr[w] == 0);
    /* again as a member value: decoded straight into the tree's chunk */
    char doc[5100];
    int dn = snprintf(doc, sizeof doc, "{\"k\":%.*s,\"z\":\"\\u00e9\"}", (int)n, text);
    v = parse_n(doc, (size_t)dn);
    const json_value *k = json_get(v, "k");
    CHECK(k && k->u.str.len == w && memcmp(k->u.str.ptr, want, w) == 0 && k->u.str.ptr[w] == 0);
    CHECK(v && hr_str_eq_cstr(v->u.obj.members[1].key, "z") && strcmp(json_get(v, "z")->u.str.ptr, "\xC3\xA9") == 0);
  }
}

TEST(reads_containers) {
  json_value *v = parse("{\"a\": [1, 2, {\"b\": null}], \"c\": {}, \"d\": [], \"a\": 7}");
  CHECK(v && v->type == JSON_OBJECT && v->u.obj.n == 4);
  if (!v) return;
  CHECK_EQ_STR(v->u.obj.members[0].key.ptr, "a");
  CHECK_EQ_STR(v->u.obj.members[3].key.ptr, "a");
  const json_value *a = v->u.obj.members[0].value;
  CHECK(a->type == JSON_ARRAY && a->u.arr.n == 3 && a->u.arr.items[1]->u.num.i == 2);
  CHECK(json_get(a->u.arr.items[2], "b")->type == JSON_NULL);
  CHECK(json_get(v, "a")->u.num.i == 7); /* last duplicate wins */
  CHECK(json_get(v, "c")->u.obj.n == 0);
  CHECK(json_get(v, "d")->u.arr.n == 0 && json_get(v, "d")->type == JSON_ARRAY);
  CHECK(json_get(v, "zz") == NULL);
  CHECK(json_get(a, "a") == NULL);
  CHECK_EQ_STR(json_type_name(JSON_TRUE), "boolean");
  CHECK_EQ_STR(json_type_name(JSON_OBJECT), "object");
}

TEST(reads_big_containers) {
  /* past the on-stack scratch: 1000 members, arrays of 5000 */
  hr_buf b = HR_BUF_INIT;
  hr_buf_append_str(&b, "{");
  for (int i = 0; i < 1000; i++) hr_buf_appendf(&b, "%s\"k%d\":[%d,\"x\\ty\",{\"n\":[]}]", i ? "," : "", i, i);
  hr_buf_append_str(&b, ",\"big\":[");
  for (int i = 0; i < 5000; i++) hr_buf_appendf(&b, "%s%d", i ? "," : "", i);
  hr_buf_append_str(&b, "]}");
  json_value *v = parse_n(b.data, b.len);
  CHECK(v && v->u.obj.n == 1001);
  if (v) {
    CHECK_EQ_STR(v->u.obj.members[999].key.ptr, "k999");
    CHECK(v->u.obj.members[999].value->u.arr.items[0]->u.num.i == 999);
    const json_value *big = json_get(v, "big");
    CHECK(big && big->u.arr.n == 5000 && big->u.arr.items[4999]->u.num.i == 4999);
  }
  hr_buf_free(&b);
}

TEST(reports_error_positions) {
  CHECK_EQ_STR(fails("[1,2,]"), "trailing comma before ']' at byte 5 (line 1, column 6)");
  CHECK_EQ_INT(fail_rc, HR_EINVAL);
  CHECK_EQ_STR(fails("{\"a\":1,}"), "trailing comma before '}' at byte 7 (line 1, column 8)");
  CHECK_EQ_STR(fails("{\"key\": \"ab\xC0\xAF\"}"), "invalid UTF-8 at byte 11 (line 1, column 12)");
  CHECK_EQ_INT(last_err.offset, 11);
  CHECK_EQ_STR(fails("[01]"), "leading zero in number at byte 1 (line 1, column 2)");
  CHECK_EQ_STR(fails("{\n  \"a\": tru\n}"), "unexpected byte 0x0A at byte 12 (line 2, column 11)");
  CHECK_EQ_INT(last_err.line, 2);
  CHECK_EQ_INT(last_err.col, 11);
  CHECK_EQ_STR(fails("[1 2]"), "unexpected '2', expected ',' or ']' at byte 3 (line 1, column 4)");
  CHECK_EQ_STR(fails("{\"a\" 1}"), "unexpected '1', expected ':' at byte 5 (line 1, column 6)");
  CHECK_EQ_STR(fails("{1:2}"), "unexpected '1', expected a string key at byte 1 (line 1, column 2)");
  CHECK_EQ_STR(fails("\"a\\qb\""), "invalid escape at byte 2 (line 1, column 3)");
  CHECK_EQ_STR(fails("\"a\x01\""), "control character in string at byte 2 (line 1, column 3)");
  CHECK_EQ_STR(fails("\"abc"), "unterminated string at byte 4 (line 1, column 5)");
  CHECK_EQ_STR(fails(""), "empty input at byte 0 (line 1, column 1)");
  CHECK_EQ_STR(fails("  \n "), "unexpected end of input at byte 4 (line 2, column 2)");
  CHECK_EQ_STR(fails("[1] x"), "unexpected 'x', data after the value at byte 4 (line 1, column 5)");
  CHECK_EQ_STR(fails("\"\\uD800\""), "high surrogate escape not followed by a low one at byte 1 (line 1, column 2)");
  CHECK_EQ_STR(fails("[\"\\uDC00\"]"), "lone low surrogate escape at byte 2 (line 1, column 3)");
  CHECK_EQ_STR(fails("\"\\u12G4\""), "invalid \\u escape at byte 1 (line 1, column 2)");
  CHECK(strstr(fails("[1,"), "unexpected end of input") != NULL);
  /* err may be NULL */
  json_value *v;
  CHECK(json_read(A, "[", 1, NULL, &v, NULL) == HR_EINVAL && v == NULL);
}

TEST(rejects_non_json) {
  static const char *const bad[] = {
      "[1,]", "{,}", "[,1]", "{\"a\":1,,\"b\":2}", "// c\n1", "/* c */ 1", "[1] /* */",
      "'a'", "[NaN]", "[Infinity]", "[-Infinity]", "0x10", "+1", ".5", "1.", "1.e3", "1e",
      "1e+", "-", "--1", "-01", "00", "012", "[1.2.3]", "tru", "nul", "True", "NULL",
      "{\"a\"}", "{\"a\":}", "{:1}", "[1}", "{\"a\":1]", "]", "}", "\"\\x41\"",
      "\"\\u00\"", "\"\\uD800\\u0041\"", "\"\\uD800\\uD800\"", "\"\\uDFFF\"",
      "\"tab\there\"", "\"\xEF\xBB\xBF\"x", "\xEF\xBB\xBF{}", "1 2", "[] []", "\"a\" \"b\"",
      "\"\xE0\x80\x80\"", "\"\xC1\xBF\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"",
      "\"\xF5\x80\x80\x80\"", "\"\x80\"", "\"\xE2\x82\"", "\"\xF0\x9F\x98\"", "\"\xFF\"",
      "[\"a\",]", "{\"a\":1 \"b\":2}", "\"\\", "\"\\u", "[\v1]", "[\f1]", "\2401",
  };
  for (size_t i = 0; i < HR_ARRAY_LEN(bad); i++) {
    if (!*fails(bad[i])) {
      fprintf(stderr, "    accepted: %s\n", bad[i]);
      CHECK(0);
    }
  }
  CHECK(*fails_n("1\0", 2)); /* a NUL after the value */
  CHECK(*fails_n("\"a\0b\"", 5));
}

static char *nested(size_t depth) {
  char *s = malloc(depth * 2 + 1);
  memset(s, '[', depth);
  memset(s + depth, ']', depth);
  s[depth * 2] = 0;
  return s;
}

TEST(limits_depth) {
  char *s = nested(128);
  CHECK(parse(s) != NULL);
  free(s);
  s = nested(129);
  CHECK_EQ_STR(fails(s), "nesting deeper than 128 at byte 128 (line 1, column 129)");
  CHECK_EQ_INT(fail_rc, HR_ERANGE);
  free(s);
  CHECK_EQ_INT(fail_rc, HR_ERANGE);
  json_value *v;
  json_error e;
  json_read_opts o = {.max_depth = 2};
  CHECK(json_read(A, "[{\"a\":1}]", 9, &o, &v, &e) == 0);
  CHECK(json_read(A, "[{\"a\":[]}]", 10, &o, &v, &e) == HR_ERANGE);
  o.max_depth = 5000; /* frames past the on-stack ones */
  s = nested(5000);
  CHECK(json_read(A, s, 10000, &o, &v, &e) == 0);
  size_t d = 0;
  while (v && v->type == JSON_ARRAY && v->u.arr.n) {
    v = v->u.arr.items[0];
    d++;
  }
  CHECK_EQ_INT(d, 4999);
  free(s);
  s = nested(100000);
  CHECK(json_read(A, s, 100000, NULL, &v, &e) == HR_ERANGE); /* only the openings */
  free(s);
}

/* ---- writer ------------------------------------------------------------- */

static char wbuf[4096];
static const char *write_double(double d) {
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_double(&w, d);
  CHECK(json_w_finish(&w) == 0);
  snprintf(wbuf, sizeof wbuf, "%s", b.data ? b.data : "");
  hr_buf_free(&b);
  return wbuf;
}

static const char *write_float(float f) {
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_float(&w, f);
  CHECK(json_w_finish(&w) == 0);
  snprintf(wbuf, sizeof wbuf, "%s", b.data ? b.data : "");
  hr_buf_free(&b);
  return wbuf;
}

/* The fewest significant digits %g needs for f to read back. */
static size_t shortest_g_digits(float f) {
  char t[64];
  for (int p = 1; p <= 9; p++) {
    snprintf(t, sizeof t, "%.*g", p, (double)f);
    if (strtof(t, NULL) == f) return (size_t)p;
  }
  return 9;
}

static size_t significant_digits(const char *s) {
  size_t n = 0, lead = 1, trailing_zeros = 0;
  for (; *s && *s != 'e'; s++) {
    if (*s < '0' || *s > '9') continue;
    if (*s == '0' && lead) continue;
    lead = 0;
    n++;
    trailing_zeros = *s == '0' ? trailing_zeros + 1 : 0;
  }
  return n - trailing_zeros;
}

TEST(writes_floats_shortest) {
  CHECK_EQ_STR(write_float(0.1f), "0.1");
  CHECK_EQ_STR(write_float(-0.0234f), "-0.0234");
  CHECK_EQ_STR(write_float(1.5f), "1.5");
  CHECK_EQ_STR(write_float(100.0f), "100");
  CHECK_EQ_STR(write_float(0.0f), "0");
  CHECK_EQ_STR(write_float(1.0f / 3), "0.33333334");
  CHECK_EQ_STR(write_float(16777216.0f), "16777216");
  CHECK_EQ_STR(write_float(1e-7f), "1e-7");
  CHECK_EQ_STR(write_float(3.4028235e38f), "3.4028235e+38"); /* through snprintf */
  CHECK_EQ_STR(write_float(NAN), "null");
  /* exactly between two 8-digit decimals: to the even one, as %g rounds */
  CHECK_EQ_STR(write_float(2.00390625f), "2.0039062");
  CHECK_EQ_STR(write_float(-2.01953125f), "-2.0195312");
  CHECK_EQ_STR(write_float(1e-19f), "1e-19");
  CHECK_EQ_STR(write_float(1.5e-5f), "0.000015");
  CHECK_EQ_STR(write_float(123456.78f), "123456.78");
  /* Every float, written, reads back as itself and is the shortest %g
   * that does (the same decimal): random bit patterns over the whole range
   * and values like an embedding's. */
  uint64_t x = 0x9E3779B97F4A7C15ull;
  int bad = 0;
  for (int i = 0; i < 1000000 && bad < 5; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    float f;
    if (i % 2) {
      uint32_t bits = (uint32_t)x;
      memcpy(&f, &bits, 4);
      if (!isfinite(f)) continue;
    } else {
      f = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5) * 0.3f;
    }
    const char *s = write_float(f);
    char *end;
    float back = strtof(s, &end);
    char ref[64];
    snprintf(ref, sizeof ref, "%.*g", (int)shortest_g_digits(f), (double)f);
    if (*end || memcmp(&back, &f, 4) != 0 || strtod(s, NULL) != strtod(ref, NULL) ||
        significant_digits(s) != shortest_g_digits(f)) {
      fprintf(stderr, "    %.9g written as %s\n", (double)f, s);
      bad++;
    }
  }
  CHECK_EQ_INT(bad, 0);
  /* Just under and at powers of two and ten, where the neighbours are uneven. */
  for (int e = -40; e <= 38; e++) {
    float p2 = ldexpf(1.0f, e), below = nextafterf(p2, 0), p10 = (float)pow(10, e);
    float cases[] = {p2, below, p10, nextafterf(p10, 0), nextafterf(p10, INFINITY)};
    for (size_t k = 0; k < HR_ARRAY_LEN(cases); k++) {
      if (cases[k] == 0 || !isfinite(cases[k])) continue;
      float back = strtof(write_float(cases[k]), NULL);
      CHECK(memcmp(&back, &cases[k], 4) == 0);
    }
  }
}

/* json_w_floats writes what json_w_float does value by value, in place. */
TEST(writes_float_arrays) {
  float v[600];
  uint64_t x = 12345;
  for (int i = 0; i < 600; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    uint32_t bits = (uint32_t)x;
    memcpy(&v[i], &bits, 4);
    if (i % 3) v[i] = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5);
  }
  v[7] = NAN, v[8] = INFINITY, v[9] = -0.0f, v[10] = 3.4028235e38f, v[11] = -1e-45f;
  for (size_t n = 0; n <= 600; n += 150) {
    hr_buf one = HR_BUF_INIT, all = HR_BUF_INIT;
    json_writer a, b;
    json_w_init(&a, &one);
    json_w_init(&b, &all);
    json_w_arr_begin(&a);
    json_w_arr_begin(&b);
    json_w_int(&a, 1);
    json_w_int(&b, 1);
    json_w_arr_begin(&a);
    for (size_t i = 0; i < n; i++) json_w_float(&a, v[i]);
    json_w_arr_end(&a);
    json_w_floats(&b, v, n);
    json_w_int(&a, 2);
    json_w_int(&b, 2);
    json_w_arr_end(&a);
    json_w_arr_end(&b);
    CHECK(json_w_finish(&a) == 0 && json_w_finish(&b) == 0);
    CHECK_EQ_STR(all.data, one.data);
    CHECK(all.len == strlen(all.data));
    hr_buf_free(&one);
    hr_buf_free(&all);
  }
}

TEST(writes_structure) {
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_obj_begin(&w);
  json_w_key(&w, "id");
  json_w_str(&w, "chatcmpl-1");
  json_w_key(&w, "n");
  json_w_int(&w, -42);
  json_w_key(&w, "u");
  json_w_uint(&w, UINT64_MAX);
  json_w_key(&w, "list");
  json_w_arr_begin(&w);
  json_w_bool(&w, true);
  json_w_bool(&w, false);
  json_w_null(&w);
  json_w_arr_begin(&w);
  json_w_arr_end(&w);
  json_w_obj_begin(&w);
  json_w_obj_end(&w);
  json_w_raw(&w, "{\"r\":1}", 7);
  json_w_double(&w, 0.5);
  json_w_arr_end(&w);
  json_w_key(&w, "min");
  json_w_int(&w, INT64_MIN);
  json_w_obj_end(&w);
  CHECK(json_w_finish(&w) == 0);
  CHECK_EQ_STR(b.data, "{\"id\":\"chatcmpl-1\",\"n\":-42,\"u\":18446744073709551615,"
                       "\"list\":[true,false,null,[],{},{\"r\":1},0.5],"
                       "\"min\":-9223372036854775808}");
  hr_buf_free(&b);
}

TEST(writes_escapes) {
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_strn(&w, "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f caf\xC3\xA9 \xF0\x9F\x98\x80", 25);
  CHECK(json_w_finish(&w) == 0);
  CHECK_EQ_STR(b.data, "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f caf\xC3\xA9 \xF0\x9F\x98\x80\"");
  hr_buf_clear(&b);
  /* invalid UTF-8 (a cut sequence, a stray byte) becomes U+FFFD */
  CHECK(json_escape_append(&b, "a\xE2\x82" "b\xFF" "c\xED\xA0\x80", 9) == 0);
  CHECK_EQ_STR(b.data, "a\xEF\xBF\xBD\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  hr_buf_clear(&b);
  CHECK(json_escape_append(&b, "a\0b", 3) == 0);
  CHECK_EQ_STR(b.data, "a\\u0000b");
  /* a long string with escapes here and there survives a read back */
  hr_buf_clear(&b);
  char s[3000];
  for (size_t i = 0; i < sizeof s; i++) s[i] = (char)(i % 7 == 3 ? '"' : i % 11 == 5 ? '\n' : 'a' + i % 26);
  json_w_init(&w, &b);
  json_w_strn(&w, s, sizeof s);
  json_value *v = parse_n(b.data, b.len);
  CHECK(v && v->u.str.len == sizeof s && memcmp(v->u.str.ptr, s, sizeof s) == 0);
  hr_buf_free(&b);
}

TEST(writes_doubles_shortest) {
  CHECK_EQ_STR(write_double(0.1), "0.1");
  CHECK_EQ_STR(write_double(1.5), "1.5");
  CHECK_EQ_STR(write_double(100), "100");
  CHECK_EQ_STR(write_double(-3), "-3");
  CHECK_EQ_STR(write_double(0), "0");
  CHECK_EQ_STR(write_double(-0.0), "-0");
  CHECK_EQ_STR(write_double(1.0 / 3), "0.3333333333333333");
  CHECK_EQ_STR(write_double(0.1 + 0.2), "0.30000000000000004");
  CHECK_EQ_STR(write_double(1e21), "1e+21");
  CHECK_EQ_STR(write_double(1e-7), "1e-07");
  CHECK_EQ_STR(write_double(5e-324), "4.94065645841247e-324");
  CHECK_EQ_STR(write_double(1.7976931348623157e308), "1.7976931348623157e+308");
  CHECK_EQ_STR(write_double(NAN), "null");
  CHECK_EQ_STR(write_double(INFINITY), "null");
  CHECK_EQ_STR(write_double(-INFINITY), "null");
  CHECK_EQ_STR(write_double(9007199254740991.0), "9007199254740991");
  /* any bit pattern reads back to the same double */
  uint64_t x = 0x9E3779B97F4A7C15ull;
  int bad = 0;
  for (int i = 0; i < 20000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    double d;
    memcpy(&d, &x, sizeof d);
    if (!isfinite(d)) continue;
    const char *s = write_double(d);
    json_value *v = parse(s);
    if (!v || v->type != JSON_NUMBER || memcmp(&v->u.num.d, &d, sizeof d) != 0) bad++;
    if (strlen(s) > 24) bad++;
  }
  CHECK_EQ_INT(bad, 0);
}

TEST(writes_trees_back) {
  static const char *const docs[] = {
      "{\"a\":[1,-2.5e-3,\"x\\ny\",true,false,null],\"b\":{\"c\":{}},\"d\":[]}",
      "[]", "\"\\u0000\\\"\"", "-0", "1E+400", "{\"\":\"\",\"\\\\\":[[[]]]}",
  };
  for (size_t i = 0; i < HR_ARRAY_LEN(docs); i++) {
    json_value *v = parse(docs[i]);
    CHECK(v != NULL);
    if (!v) continue;
    hr_buf b = HR_BUF_INIT;
    json_writer w;
    json_w_init(&w, &b);
    json_w_value(&w, v);
    CHECK(json_w_finish(&w) == 0);
    CHECK_EQ_STR(b.data, docs[i]);
    hr_buf_free(&b);
  }
  /* a tree 128 deep writes, though the writer's own nesting stops at 64 */
  char *s = nested(128);
  json_value *v = parse(s);
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_arr_begin(&w);
  json_w_value(&w, v);
  json_w_value(&w, v);
  json_w_arr_end(&w);
  CHECK(json_w_finish(&w) == 0);
  CHECK(b.len == 2 + 256 * 2 + 1 && b.data[257] == ',');
  free(s);
  hr_buf_free(&b);
}

TEST(writer_errors_stick) {
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  for (int i = 0; i < 65; i++) json_w_arr_begin(&w);
  CHECK_EQ_INT(json_w_finish(&w), HR_ERANGE);
  json_w_init(&w, &b);
  json_w_arr_end(&w);
  CHECK_EQ_INT(json_w_finish(&w), HR_EINVAL);
  json_w_init(&w, &b);
  json_w_obj_begin(&w);
  CHECK_EQ_INT(json_w_finish(&w), HR_EINVAL); /* left open */
  hr_buf_free(&b);
}

/* ---- schemas ------------------------------------------------------------ */

typedef struct {
  hr_str name;
  int64_t qty;
  bool has_qty;
} item_t;

typedef struct {
  hr_str id;
  int64_t count;
  bool has_count;
  double ratio;
  bool has_ratio;
  bool flag;
  hr_str mode;
  bool has_mode;
  json_array_slot items;
  bool has_items;
  json_map_slot bias;
  bool has_bias;
  json_one_of_slot stop;
  bool has_stop;
  json_array_slot tags;
  bool has_tags;
  struct {
    bool on;
  } opts;
  bool has_opts;
  const json_value *extra;
  bool has_extra;
  json_one_of_slot prompt;
  bool has_prompt;
} doc_t;

static const char *check_even(const json_value *v, void *slot) {
  return *(int64_t *)slot % 2 ? "must be even" : NULL;
}

static const json_schema sc_str = {.kind = JS_STRING};
static const json_schema sc_opt_str = {.kind = JS_STRING, .nullable = true, .max_len = 5};
static const json_schema sc_count = {.kind = JS_INT, .has_min = true, .min = 0, .has_max = true,
                                     .max = 100, .check = check_even, .nullable = true};
static const json_schema sc_ratio = {.kind = JS_NUMBER, .has_min = true, .min = -2, .has_max = true, .max = 2};
static const json_schema sc_bool = {.kind = JS_BOOL};
static const char *const modes[] = {"auto", "none", NULL};
static const json_schema sc_mode = {.kind = JS_STRING, .enum_values = modes};
static const json_schema sc_int = {.kind = JS_INT};
static const json_field item_fields[] = {
    {"name", &sc_str, offsetof(item_t, name), true, -1},
    {"qty", &sc_int, offsetof(item_t, qty), false, offsetof(item_t, has_qty)},
};
static const json_schema sc_item = {.kind = JS_OBJECT, .fields = item_fields, .n_fields = 2, .strict = true};
static const json_schema sc_items = {.kind = JS_ARRAY, .items = &sc_item, .item_size = sizeof(item_t),
                                     .min_items = 1, .max_items = 3};
static const json_schema sc_num = {.kind = JS_NUMBER, .has_min = true, .min = -100, .has_max = true, .max = 100};
static const json_schema sc_bias = {.kind = JS_MAP, .items = &sc_num, .item_size = sizeof(double)};
static const json_schema sc_strs = {.kind = JS_ARRAY, .items = &sc_str, .item_size = sizeof(hr_str), .max_items = 4};
static const json_schema *const stop_variants[] = {&sc_str, &sc_strs};
static const json_schema sc_stop = {.kind = JS_ONE_OF, .variants = stop_variants, .n_variants = 2,
                                    .variant_offset = JSON_ONE_OF_VARIANT, .nullable = true};
static const json_schema sc_tags = {.kind = JS_ARRAY, .items = &sc_str, .item_size = sizeof(hr_str),
                                    .single_as_array = true};
static const json_field opts_fields[] = {{"on", &sc_bool, 0, false, -1}};
static const json_schema sc_opts = {.kind = JS_OBJECT, .fields = opts_fields, .n_fields = 1};
static const json_schema sc_any = {.kind = JS_ANY};
static const json_schema sc_ints = {.kind = JS_ARRAY, .items = &sc_int, .item_size = sizeof(int64_t), .min_items = 1};
static const json_schema sc_intss = {.kind = JS_ARRAY, .items = &sc_ints, .item_size = sizeof(json_array_slot)};
static const json_schema *const prompt_variants[] = {&sc_str, &sc_strs, &sc_ints, &sc_intss};
static const json_schema sc_prompt = {.kind = JS_ONE_OF, .variants = prompt_variants, .n_variants = 4,
                                      .variant_offset = JSON_ONE_OF_VARIANT};
#define F(name, sch, member, req) \
  {name, &sch, offsetof(doc_t, member), req, offsetof(doc_t, has_##member)}
static const json_field doc_fields[] = {
    {"id", &sc_str, offsetof(doc_t, id), true, -1},
    F("count", sc_count, count, false),
    F("ratio", sc_ratio, ratio, false),
    {"flag", &sc_bool, offsetof(doc_t, flag), false, -1},
    F("mode", sc_mode, mode, false),
    F("items", sc_items, items, false),
    F("bias", sc_bias, bias, false),
    F("stop", sc_stop, stop, false),
    F("tags", sc_tags, tags, false),
    F("opts", sc_opts, opts, false),
    F("extra", sc_any, extra, false),
    F("prompt", sc_prompt, prompt, false),
    {"nick", &sc_opt_str, offsetof(doc_t, id), false, -1},
};
static const json_schema sc_doc = {.kind = JS_OBJECT, .fields = doc_fields, .n_fields = HR_ARRAY_LEN(doc_fields)};

static doc_t D;
static json_validate_error VE;
static char vmsg[512];

/* "" when valid, else "path: message" */
static const char *validate(const char *text) {
  json_value *v = parse(text);
  if (!v) return "(bad json)";
  memset(&D, 0, sizeof D);
  int rc = json_validate(A, &sc_doc, v, &D, &VE);
  if (!rc) return "";
  snprintf(vmsg, sizeof vmsg, "%s: %s", VE.path, VE.message);
  return vmsg;
}

TEST(validates_and_fills) {
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"count\":4,\"ratio\":-1.5,\"flag\":true,\"mode\":\"none\","
                        "\"items\":[{\"name\":\"a\",\"qty\":3},{\"name\":\"b\"}],"
                        "\"bias\":{\"50256\":-100,\"7\":2.5},\"stop\":[\"\\n\",\"END\"],"
                        "\"tags\":\"solo\",\"opts\":{\"on\":true,\"other\":1},\"extra\":[1],"
                        "\"prompt\":[[1,2],[3]],\"unknown\":{\"deep\":[1]}}"),
               "");
  CHECK(hr_str_eq_cstr(D.id, "x"));
  CHECK(D.has_count && D.count == 4);
  CHECK(D.has_ratio && D.ratio == -1.5);
  CHECK(D.flag && D.has_mode && hr_str_eq_cstr(D.mode, "none"));
  CHECK(D.has_items && D.items.n == 2);
  item_t *it = D.items.items;
  CHECK(hr_str_eq_cstr(it[0].name, "a") && it[0].has_qty && it[0].qty == 3);
  CHECK(hr_str_eq_cstr(it[1].name, "b") && !it[1].has_qty);
  CHECK(D.has_bias && D.bias.n == 2 && hr_str_eq_cstr(D.bias.keys[0], "50256"));
  CHECK(((double *)D.bias.values)[0] == -100 && ((double *)D.bias.values)[1] == 2.5);
  CHECK(D.has_stop && D.stop.variant == 1 && D.stop.u.arr.n == 2);
  CHECK(hr_str_eq_cstr(((hr_str *)D.stop.u.arr.items)[1], "END"));
  CHECK(D.has_tags && D.tags.n == 1 && hr_str_eq_cstr(((hr_str *)D.tags.items)[0], "solo"));
  CHECK(D.has_opts && D.opts.on);
  CHECK(D.has_extra && D.extra->type == JSON_ARRAY);
  CHECK(D.has_prompt && D.prompt.variant == 3 && D.prompt.u.arr.n == 2);
  json_array_slot *lists = D.prompt.u.arr.items;
  CHECK(lists[0].n == 2 && ((int64_t *)lists[0].items)[1] == 2 && ((int64_t *)lists[1].items)[0] == 3);

  CHECK_EQ_STR(validate("{\"id\":\"x\",\"stop\":\"END\",\"count\":null,\"prompt\":\"hi\"}"), "");
  CHECK(D.has_stop && D.stop.variant == 0 && hr_str_eq_cstr(D.stop.u.str, "END"));
  CHECK(!D.has_count); /* null is absent */
  CHECK(D.prompt.variant == 0);
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"prompt\":[\"a\",\"b\"]}"), "");
  CHECK(D.prompt.variant == 1);
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"prompt\":[5,6,7]}"), "");
  CHECK(D.prompt.variant == 2 && D.prompt.u.arr.n == 3);
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"prompt\":[]}"), ""); /* [] picks the first array variant */
  CHECK(D.prompt.variant == 1);
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"tags\":[\"a\",\"b\"],\"count\":2.0,\"stop\":null}"), "");
  CHECK(D.tags.n == 2 && D.count == 2 && !D.has_stop);
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"count\":1e1}"), "");
  CHECK(D.count == 10);
}

TEST(validation_messages_name_the_path) {
  CHECK_EQ_STR(validate("[]"), ": expected an object");
  CHECK_EQ_STR(validate("{}"), "id: is required");
  CHECK_EQ_STR(validate("{\"id\":null}"), "id: expected a string");
  CHECK_EQ_STR(validate("{\"id\":1}"), "id: expected a string");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"count\":1.5}"), "count: expected an integer");
  /* a map's key given twice, as a field's, is refused: which value counts
   * would depend on the reader */
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"bias\":{\"7\":1,\"8\":2,\"9\":3,\"8\":4,\"7\":5}}"), "bias.8: is given more than once");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"bias\":{\"7\":1,\"77\":2}}"), "");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"count\":\"3\"}"), "count: expected an integer");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"count\":-2}"), "count: must be at least 0");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"count\":102}"), "count: must be at most 100");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"count\":1e400}"), "count: must be at most 100");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"count\":3}"), "count: must be even");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"ratio\":2.5}"), "ratio: must be at most 2");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"ratio\":-2.0001}"), "ratio: must be at least -2");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"ratio\":true}"), "ratio: expected a number");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"flag\":1}"), "flag: expected a boolean");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"mode\":\"on\"}"), "mode: must be one of: \"auto\", \"none\"");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"items\":{}}"), "items: expected an array");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"items\":[]}"), "items: must not be empty");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"items\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"d\"}]}"),
               "items: must have at most 3 items");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"items\":[{\"name\":\"a\"},{\"qty\":1}]}"), "items[1].name: is required");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"items\":[{\"name\":\"a\"},{\"name\":\"b\",\"qty\":1.5}]}"),
               "items[1].qty: expected an integer");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"items\":[{\"name\":\"a\",\"color\":1}]}"), "items[0].color: unknown field");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"items\":[7]}"), "items[0]: expected an object");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"bias\":{\"42\":101}}"), "bias.42: must be at most 100");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"bias\":{\"a.b\":\"x\"}}"), "bias[\"a.b\"]: expected a number");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"bias\":[]}"), "bias: expected an object");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"stop\":5}"), "stop: expected a string or an array");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"stop\":[\"a\",5]}"), "stop[1]: expected a string");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}"), "stop: must have at most 4 items");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"tags\":5}"), "tags: expected a string or an array");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"opts\":{\"on\":\"yes\"}}"), "opts.on: expected a boolean");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"prompt\":[[1],[2,\"x\"]]}"), "prompt[1][1]: expected an integer");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"prompt\":[1.5]}"), "prompt[0]: expected an integer");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"prompt\":[[]]}"), "prompt[0]: must not be empty");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"prompt\":{}}"), "prompt: expected a string or an array");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"nick\":\"toolong\"}"), "nick: must be at most 5 bytes long");
  CHECK_EQ_STR(validate("{\"id\":\"x\",\"count\":9223372036854775808}"), "count: must be at most 100");
  /* error paths stay in the buffer, even very deep ones */
  static const json_schema deep_int = {.kind = JS_INT};
  static const json_schema deep_arr = {.kind = JS_ARRAY, .items = &deep_arr, .item_size = sizeof(json_array_slot)};
  (void)deep_int;
  char *s = nested(100);
  s[99] = '1'; /* [[[...1]]] with 99 levels, and a ']' missing */
  memmove(s + 100, s + 101, strlen(s + 101) + 1);
  json_value *v = parse(s);
  CHECK(v != NULL);
  json_array_slot slot;
  CHECK(json_validate(A, &deep_arr, v, &slot, &VE) == HR_EINVAL);
  CHECK_EQ_STR(VE.message, "expected an array");
  CHECK(strlen(VE.path) < sizeof VE.path && strstr(VE.path, "[0][0]") == VE.path);
  free(s);
}

TEST(validates_big_ints_out_of_range) {
  static const json_schema any_int = {.kind = JS_INT};
  int64_t i = 0;
  json_value *v = parse("1e30");
  CHECK(json_validate(A, &any_int, v, &i, &VE) == HR_EINVAL);
  CHECK_EQ_STR(VE.message, "is out of range");
  v = parse("-9223372036854775808");
  CHECK(json_validate(A, &any_int, v, &i, &VE) == 0 && i == INT64_MIN);
  v = parse("-9223372036854775808.0");
  CHECK(json_validate(A, &any_int, v, &i, &VE) == 0 && i == INT64_MIN);
}

/* ---- JSONTestSuite ------------------------------------------------------ */

#define SUITE_DIR "tests/data/JSONTestSuite"

typedef struct {
  char name[128];
  bool accept;
  bool seen;
} choice;

static size_t load_choices(choice *out, size_t cap) {
  FILE *f = fopen(SUITE_DIR "/CHOICES.md", "r");
  if (!f) return 0;
  char line[512];
  size_t n = 0;
  while (fgets(line, sizeof line, f)) {
    char name[128], verdict[16];
    if (sscanf(line, "| %127s | %15s |", name, verdict) == 2 && strncmp(name, "i_", 2) == 0 && n < cap) {
      snprintf(out[n].name, sizeof out[n].name, "%s", name);
      out[n].accept = strcmp(verdict, "accept") == 0;
      out[n].seen = false;
      n++;
    }
  }
  fclose(f);
  return n;
}

TEST(json_test_suite) {
  static choice choices[128];
  size_t n_choices = load_choices(choices, HR_ARRAY_LEN(choices));
  DIR *d = opendir(SUITE_DIR);
  if (!d || n_choices == 0) {
    if (d) closedir(d);
    fprintf(stderr, "  FAIL json_test_suite: %s or its CHOICES.md missing (run from the repo root)\n", SUITE_DIR);
    CHECK(0);
    return;
  }
  size_t n_y = 0, n_n = 0, n_i = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", SUITE_DIR, e->d_name);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) continue;
    hr_buf b = HR_BUF_INIT;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) hr_buf_append(&b, chunk, got);
    fclose(f);
    json_value *v;
    json_error err;
    int rc = json_read(A, b.data ? b.data : "", b.len, NULL, &v, &err);
    hr_buf_free(&b);
    hr_arena_reset(A);
    char kind = e->d_name[0];
    bool ok = true;
    if (kind == 'y') {
      n_y++;
      ok = rc == 0;
    } else if (kind == 'n') {
      n_n++;
      ok = rc != 0;
    } else if (kind == 'i') {
      n_i++;
      choice *c = NULL;
      for (size_t k = 0; k < n_choices; k++)
        if (strcmp(choices[k].name, e->d_name) == 0) c = &choices[k];
      if (!c) {
        fprintf(stderr, "    %s is not in CHOICES.md\n", e->d_name);
        ok = false;
      } else {
        c->seen = true;
        ok = (rc == 0) == c->accept;
      }
    }
    if (!ok) {
      fprintf(stderr, "    %s: rc %d %s\n", e->d_name, rc, rc ? err.message : "");
      CHECK(0);
    }
  }
  closedir(d);
  for (size_t k = 0; k < n_choices; k++)
    if (!choices[k].seen) {
      fprintf(stderr, "    CHOICES.md lists %s, which is not in the suite\n", choices[k].name);
      CHECK(0);
    }
  fprintf(stderr, "  JSONTestSuite: %zu y_, %zu n_, %zu i_ files\n", n_y, n_n, n_i);
  CHECK(n_y == 95 && n_n == 188 && n_i == 35);
}

int main(void) {
  A = hr_arena_new(1 << 16);
  RUN(reads_scalars);
  RUN(reads_integers_exactly);
  RUN(reads_doubles_like_strtod);
  RUN(reads_string_escapes);
  RUN(reads_long_strings);
  RUN(reads_containers);
  RUN(reads_big_containers);
  RUN(reports_error_positions);
  RUN(rejects_non_json);
  RUN(limits_depth);
  RUN(writes_floats_shortest);
  RUN(writes_float_arrays);
  RUN(writes_structure);
  RUN(writes_escapes);
  RUN(writes_doubles_shortest);
  RUN(writes_trees_back);
  RUN(writer_errors_stick);
  RUN(validates_and_fills);
  RUN(validation_messages_name_the_path);
  RUN(validates_big_ints_out_of_range);
  RUN(json_test_suite);
  hr_arena_free(A);
  return test_report("json");
}
