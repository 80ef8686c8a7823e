/* Unit tests for src/engine/json_constraint: which texts a schema's
 * automaton accepts, where it refuses, what it refuses to compile; and,
 * for random byte walks through the automaton, that whatever it calls
 * complete is JSON that the strict reader parses. */
#include "../../src/engine/json_constraint.h"
#include "../../src/engine/json_regex.h"
#include "test.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>

static hr_arena *arena;

static jc_schema *compile_text(const char *schema_json, char *err, size_t err_len) {
  json_value *v = NULL;
  if (schema_json && json_read(arena, schema_json, strlen(schema_json), NULL, &v, NULL)) return NULL;
  jc_schema *s = NULL;
  if (jc_compile(v, &s, err, err_len)) return NULL;
  return s;
}

/* Feeds text in one go: 1 when accepted and complete, 0 when accepted
 * but incomplete, -1-offset when the byte at offset is refused. */
static long run(const jc_schema *s, const char *text) {
  jc_state st;
  jc_init(s, &st);
  for (size_t i = 0; text[i]; i++)
    if (!jc_feed(&st, text + i, 1)) return -1 - (long)i;
  return jc_complete(&st) ? 1 : 0;
}

static const char *person =
    "{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":8},"
    "\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":150},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\",3]},\"maxItems\":2},"
    "\"pet\":{\"anyOf\":[{\"type\":\"null\"},{\"$ref\":\"#/$defs/Pet\"}]}},"
    "\"required\":[\"name\",\"age\"],\"additionalProperties\":false,"
    "\"$defs\":{\"Pet\":{\"type\":\"object\",\"properties\":{\"kind\":{\"type\":\"string\"}},"
    "\"required\":[\"kind\"],\"additionalProperties\":false}}}";

TEST(json_object_mode_takes_any_object) {
  jc_schema *s = compile_text(NULL, NULL, 0);
  CHECK(s);
  CHECK_EQ_INT(run(s, "{}"), 1);
  CHECK_EQ_INT(run(s, " {\"a\": [1, -2.5e3, true, null, \"x\\u00e9\\n\"], \"b\": {\"c\": {}}}"), 1);
  CHECK_EQ_INT(run(s, "{\"a\":1"), 0);
  CHECK_EQ_INT(run(s, "[1]"), -1);          /* the root is an object */
  CHECK_EQ_INT(run(s, "{} "), -3);          /* nothing after the root */
  CHECK_EQ_INT(run(s, "{\"a\":01}"), -7);   /* no leading zeros */
  CHECK_EQ_INT(run(s, "{\"a\":tru}"), -9);  /* a literal cut short */
  CHECK_EQ_INT(run(s, "{\"a\":1,}"), -8);   /* no trailing comma */
  CHECK_EQ_INT(run(s, "{'a':1}"), -2);
  jc_free(s);
}

TEST(schema_accepts_what_it_describes) {
  char err[256];
  jc_schema *s = compile_text(person, err, sizeof err);
  CHECK(s);
  if (!s) {
    fprintf(stderr, "  %s\n", err);
    return;
  }
  CHECK_EQ_INT(run(s, "{\"name\":\"Ann\",\"age\":31}"), 1);
  CHECK_EQ_INT(run(s, "{\"age\": 4, \"name\": \"Bo\", \"tags\": [\"a\", 3], \"pet\": null}"), 1);
  CHECK_EQ_INT(run(s, "{\"age\": -4"), -10); /* minimum 0: -0 would do, -4 not */
  CHECK_EQ_INT(run(s, "{\n  \"name\": \"Cy\",\n  \"age\": 0,\n  \"pet\": {\"kind\": \"cat\"}\n}"), 1);
  jc_free(s);
}

TEST(schema_refuses_at_the_first_bad_byte) {
  jc_schema *s = compile_text(person, NULL, 0);
  CHECK(s);
  CHECK_EQ_INT(run(s, "{\"name\":\"Ann\"}"), -14);             /* age is required */
  CHECK_EQ_INT(run(s, "{\"nick\":1}"), -4);                     /* no such key */
  CHECK_EQ_INT(run(s, "{\"name\":\"\",\"age\":1}"), -10);       /* minLength 1 */
  CHECK_EQ_INT(run(s, "{\"name\":\"abcdefghi\"}"), -18);        /* maxLength 8 */
  CHECK_EQ_INT(run(s, "{\"age\":1.5}"), -9);                    /* an integer */
  CHECK_EQ_INT(run(s, "{\"age\":1e3}"), -9);
  CHECK_EQ_INT(run(s, "{\"age\":1,\"age\":2}"), -11);           /* each key once */
  CHECK_EQ_INT(run(s, "{\"age\":1,\"tags\":[\"c\"]}"), -19);    /* enum */
  CHECK_EQ_INT(run(s, "{\"age\":1,\"tags\":[3,3,3]}"), -21);    /* maxItems 2 */
  CHECK_EQ_INT(run(s, "{\"age\":1,\"pet\":{}}"), -17);          /* kind is required */
  CHECK_EQ_INT(run(s, "{\"age\":1,\"pet\":\"dog\"}"), -16);     /* null or an object */
  CHECK_EQ_INT(run(s, "{\"name\":1}"), -9);                     /* a string */
  jc_free(s);
}

TEST(keys_are_refused_as_soon_as_no_property_matches) {
  jc_schema *s = compile_text("{\"properties\":{\"alpha\":{},\"alps\":{}},\"additionalProperties\":false}",
                              NULL, 0);
  CHECK(s);
  CHECK_EQ_INT(run(s, "{\"alp"), 0);
  CHECK_EQ_INT(run(s, "{\"alx"), -5);
  CHECK_EQ_INT(run(s, "{\"al\""), -5); /* "al" is only a prefix */
  CHECK_EQ_INT(run(s, "{\"alps\":1,\"alpha\":[]}"), 1);
  CHECK_EQ_INT(run(s, "{\"alps\":1,\"alpha\":2,"), -20); /* no key is left */
  jc_free(s);
  /* additionalProperties absent: other keys are allowed, any value */
  s = compile_text("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"number\"}}}", NULL, 0);
  CHECK(s);
  CHECK_EQ_INT(run(s, "{\"other\":[{}],\"n\":2}"), 1);
  CHECK_EQ_INT(run(s, "{\"n\":\"x\"}"), -6);
  CHECK_EQ_INT(run(s, "{\"n\":1,\"n\":2}"), -10);
  /* other keys come once each, per object */
  CHECK_EQ_INT(run(s, "{\"x\":1,\"y\":{\"x\":2,\"y\":{}},\"xy\":3}"), 1);
  CHECK_EQ_INT(run(s, "{\"x\":1,\"y\":2,\"x\""), -16);
  CHECK_EQ_INT(run(s, "{\"x\":{\"x\":1,\"x\""), -15);
  jc_free(s);
  /* json_object mode: each object may hold up to JC_KEYS_MAX keys */
  s = compile_text(NULL, NULL, 0);
  char text[16 * (JC_KEYS_MAX + 2)];
  size_t n = 0;
  text[n++] = '{';
  for (int i = 0; i <= JC_KEYS_MAX; i++) n += (size_t)sprintf(text + n, "%s\"k%d\":0", i ? "," : "", i);
  text[n++] = '}';
  text[n] = 0;
  long r = run(s, text);
  CHECK(r < 0); /* the key after the limit */
  char *last = strrchr(text, ',');
  CHECK_EQ_INT(r, -1 - (long)(strchr(last, ':') - text - 1));
  jc_free(s);
}

TEST(strings_take_escapes_and_utf8_only_when_valid) {
  jc_schema *s = compile_text("{\"properties\":{\"s\":{\"type\":\"string\",\"maxLength\":3}}}", NULL, 0);
  CHECK(s);
  CHECK_EQ_INT(run(s, "{\"s\":\"\\\"\\\\\\/\"}"), 1);      /* three escapes, three characters */
  CHECK_EQ_INT(run(s, "{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"), 1); /* é € 😀 */
  CHECK_EQ_INT(run(s, "{\"s\":\"\\u00e9\"}"), 1);
  CHECK_EQ_INT(run(s, "{\"s\":\"abcd\"}"), -10);             /* the fourth character */
  CHECK_EQ_INT(run(s, "{\"s\":\"\\x\"}"), -8);
  CHECK_EQ_INT(run(s, "{\"s\":\"\\ud83d\"}"), -10);          /* surrogates go in as UTF-8 */
  CHECK_EQ_INT(run(s, "{\"s\":\"\\u12g\"}"), -11);
  CHECK_EQ_INT(run(s, "{\"s\":\"\x01\"}"), -7);              /* a control byte */
  CHECK_EQ_INT(run(s, "{\"s\":\"\xc0\xaf\"}"), -7);          /* overlong */
  CHECK_EQ_INT(run(s, "{\"s\":\"\xed\xa0\x80\"}"), -8);      /* a UTF-8 surrogate */
  CHECK_EQ_INT(run(s, "{\"s\":\"\xc3\"}"), -8);              /* a cut character */
  CHECK_EQ_INT(run(s, "{\"s\":\"\xf4\x90\x80\x80\"}"), -8);  /* past U+10FFFF */
  jc_free(s);
}

TEST(white_space_is_one_space_or_a_new_line_and_an_indent) {
  jc_schema *s = compile_text(NULL, NULL, 0);
  char text[200] = "{\"a\":\n";
  size_t n = strlen(text);
  for (int i = 0; i < JC_WS_MAX; i++) text[n++] = i % 2 ? ' ' : '\t';
  text[n++] = '1', text[n++] = '}', text[n] = 0;
  CHECK_EQ_INT(run(s, text), 1);
  memmove(text + 7, text + 6, strlen(text + 6) + 1);
  text[6] = ' ';
  CHECK_EQ_INT(run(s, text), -1 - (6 + JC_WS_MAX)); /* the 21st indent byte */
  CHECK_EQ_INT(run(s, "{\"a\": 1 ,\n  \"b\" :\n[ 2 ]\n}"), 1);
  CHECK_EQ_INT(run(s, "{\"a\":  1}"), -7);   /* two spaces */
  CHECK_EQ_INT(run(s, "{\"a\":\n\n1}"), -7); /* a blank line */
  CHECK_EQ_INT(run(s, "{\"a\": \n1}"), -7);  /* a space, then a new line */
  CHECK_EQ_INT(run(s, "{\"a\":\t1}"), -6);  /* a tab alone */
  jc_free(s);
}

TEST(nesting_stops_at_the_depth_limit) {
  jc_schema *s = compile_text(NULL, NULL, 0);
  char text[5 * JC_DEPTH_MAX + 8];
  size_t n = 0;
  text[n++] = '{';
  for (int i = 1; i < JC_DEPTH_MAX; i++) memcpy(text + n, "\"a\":", 4), n += 4, text[n++] = i % 2 ? '[' : '{';
  text[n] = 0;
  long r = run(s, text);
  CHECK(r <= -1); /* the last opening bracket is one level too many */
  jc_free(s);
}

TEST(numbers_and_literals_end_on_the_next_byte) {
  jc_schema *s = compile_text("{\"properties\":{\"v\":{\"enum\":[1,12,\"x\",true]},\"n\":{\"type\":\"number\"}},"
                              "\"additionalProperties\":false}",
                              NULL, 0);
  CHECK(s);
  CHECK_EQ_INT(run(s, "{\"v\":1}"), 1);
  CHECK_EQ_INT(run(s, "{\"v\":12 }"), 1);
  /* a number may take 32 bytes; none that would need a 33rd to end is
   * begun (the 31st digit may not be followed by an exponent or a dot) */
  CHECK_EQ_INT(run(s, "{\"n\":1234567890123456789012345678901}"), 1);
  CHECK_EQ_INT(run(s, "{\"n\":1234567890123456789012345678901E"), -37);
  CHECK_EQ_INT(run(s, "{\"n\":1234567890123456789012345678901."), -37);
  CHECK_EQ_INT(run(s, "{\"n\":123456789012345678901234567890E1}"), 1);
  CHECK_EQ_INT(run(s, "{\"v\":13}"), -7);
  CHECK_EQ_INT(run(s, "{\"v\":\"x\",\"n\":-0.5E+7}"), 1);
  CHECK_EQ_INT(run(s, "{\"n\":-}"), -7);
  CHECK_EQ_INT(run(s, "{\"n\":1.}"), -8);
  CHECK_EQ_INT(run(s, "{\"n\":1e}"), -8);
  jc_free(s);
}

/* {"v": value} through run(). */
static long run_value(const jc_schema *s, const char *value) {
  char text[128];
  snprintf(text, sizeof text, "{\"v\":%s}", value);
  return run(s, text);
}

TEST(number_bounds_are_kept_as_digits_arrive) {
  jc_schema *s = compile_text("{\"properties\":{\"v\":{\"type\":\"integer\",\"minimum\":-5,\"exclusiveMaximum\":120}}}",
                              NULL, 0);
  CHECK(s);
  const char *ok[] = {"-5", "-0", "0", "7", "119", "12", "100"};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) CHECK_EQ_INT(run_value(s, ok[i]), 1);
  CHECK_EQ_INT(run_value(s, "-6"), -7);   /* the 6 */
  CHECK_EQ_INT(run_value(s, "-50"), -8);  /* no digit can follow -5 */
  CHECK_EQ_INT(run_value(s, "120"), -8);
  CHECK_EQ_INT(run_value(s, "1200"), -8);
  CHECK_EQ_INT(run_value(s, "200"), -8);  /* 20 may end at 20, 200 is too big */
  CHECK_EQ_INT(run_value(s, "-"), -7);    /* a lone minus cannot end */
  jc_free(s);
  s = compile_text("{\"properties\":{\"v\":{\"type\":\"number\",\"minimum\":10,\"maximum\":20}}}", NULL, 0);
  CHECK(s);
  const char *fine[] = {"10", "10.5", "19.999", "20", "20.000", "15"};
  for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) CHECK_EQ_INT(run_value(s, fine[i]), 1);
  CHECK_EQ_INT(run_value(s, "-1"), -6);    /* no negative number fits */
  CHECK_EQ_INT(run_value(s, "9.9"), -6);   /* 9, 9x, 9xx: none within 10-20 */
  CHECK_EQ_INT(run_value(s, "20.01"), -10);
  CHECK_EQ_INT(run(s, "{\"v\":1"), 0);      /* 1 may still become 1x */
  CHECK_EQ_INT(run_value(s, "1"), -7);     /* but not end there */
  CHECK_EQ_INT(run_value(s, "1.5"), -7);   /* nor take a fraction */
  CHECK_EQ_INT(run_value(s, "1e1"), -7);   /* no exponent under bounds */
  CHECK_EQ_INT(run_value(s, "0"), -6);     /* a leading zero can never reach 10 */
  jc_free(s);
  s = compile_text("{\"properties\":{\"v\":{\"maximum\":-3}}}", NULL, 0); /* no type: a number */
  CHECK(s);
  CHECK_EQ_INT(run_value(s, "-3.5"), 1);
  CHECK_EQ_INT(run_value(s, "-2.5"), -8);  /* -2 may grow to -20; -2. may not */
  CHECK_EQ_INT(run_value(s, "\"x\""), -6);
  jc_free(s);
}

TEST(formats_take_their_canonical_spelling) {
  jc_schema *d = compile_text("{\"properties\":{\"v\":{\"type\":\"string\",\"format\":\"date\"}}}", NULL, 0);
  jc_schema *t = compile_text("{\"properties\":{\"v\":{\"format\":\"time\"}}}", NULL, 0);
  jc_schema *dt = compile_text("{\"properties\":{\"v\":{\"type\":\"string\",\"format\":\"date-time\"}}}", NULL, 0);
  jc_schema *u = compile_text("{\"properties\":{\"v\":{\"type\":\"string\",\"format\":\"uuid\"}}}", NULL, 0);
  CHECK(d && t && dt && u);
  const char *dates[] = {"\"2024-02-29\"", "\"2023-12-31\"", "\"0001-01-01\"", "\"2000-02-29\""};
  for (size_t i = 0; i < 4; i++) CHECK_EQ_INT(run_value(d, dates[i]), 1);
  CHECK_EQ_INT(run_value(d, "\"2023-02-29\""), -16); /* not a leap year */
  CHECK_EQ_INT(run_value(d, "\"1900-02-29\""), -16);
  CHECK_EQ_INT(run_value(d, "\"2024-02-30\""), -15); /* February has no 3x */
  CHECK_EQ_INT(run_value(d, "\"2024-04-31\""), -16);
  CHECK_EQ_INT(run_value(d, "\"2024-13-01\""), -13);
  CHECK_EQ_INT(run_value(d, "\"2024-00-01\""), -13);
  CHECK_EQ_INT(run_value(d, "\"2024-01-00\""), -16);
  CHECK_EQ_INT(run_value(d, "\"2024-1-01\""), -13);
  CHECK_EQ_INT(run_value(d, "\"2024-01\""), -14);   /* cut short */
  CHECK_EQ_INT(run_value(d, "\"2024\\u002d01-01\""), -11); /* no escapes */
  const char *times[] = {"\"23:59:59Z\"", "\"00:00:00.5+01:30\"", "\"12:30:00.123456789-11:00\""};
  for (size_t i = 0; i < 3; i++) CHECK_EQ_INT(run_value(t, times[i]), 1);
  CHECK_EQ_INT(run_value(t, "\"24:00:00Z\""), -8);
  CHECK_EQ_INT(run_value(t, "\"12:60:00Z\""), -10);
  CHECK_EQ_INT(run_value(t, "\"12:00:00\""), -15);  /* the offset is required */
  CHECK_EQ_INT(run_value(t, "\"12:00:00.Z\""), -16);
  CHECK_EQ_INT(run_value(t, "\"12:00:00.1234567890Z\""), -25);
  CHECK_EQ_INT(run_value(t, "\"12:00:00+1:00\""), -17);
  CHECK_EQ_INT(run_value(dt, "\"2024-06-01T08:15:00Z\""), 1);
  CHECK_EQ_INT(run_value(dt, "\"2024-06-01 08:15:00Z\""), -17);
  CHECK_EQ_INT(run_value(u, "\"123e4567-e89b-12d3-A456-426614174000\""), 1);
  CHECK_EQ_INT(run_value(u, "\"123e4567e89b\""), -15);
  CHECK_EQ_INT(run_value(u, "\"123e4567-e89b-12d3-a456-42661417400g\""), -42);
  jc_free(d);
  jc_free(t);
  jc_free(dt);
  jc_free(u);
}

TEST(patterns_and_email_read_as_regular_expressions) {
  jc_schema *s = compile_text("{\"properties\":{\"v\":{\"pattern\":\"^[A-Z]{2}-\\\\d{3,4}(x|yz)?$\"}}}", NULL, 0);
  CHECK(s);
  const char *ok[] = {"\"AB-123\"", "\"ZZ-9999\"", "\"AB-123x\"", "\"AB-1234yz\""};
  for (size_t i = 0; i < 4; i++) CHECK_EQ_INT(run_value(s, ok[i]), 1);
  CHECK_EQ_INT(run_value(s, "\"Ab-123\""), -8);
  CHECK_EQ_INT(run_value(s, "\"AB-12\""), -12);   /* three digits at least */
  CHECK_EQ_INT(run_value(s, "\"AB-12345\""), -14); /* four at most */
  CHECK_EQ_INT(run_value(s, "\"AB-123y\""), -14);  /* y without z */
  CHECK_EQ_INT(run_value(s, "\"AB-123xx\""), -14); /* anchored at the end */
  jc_free(s);
  /* unanchored: the expression may sit anywhere in the string */
  s = compile_text("{\"properties\":{\"v\":{\"pattern\":\"c[aeiou]t\"}}}", NULL, 0);
  CHECK(s);
  CHECK_EQ_INT(run_value(s, "\"the cat sat\""), 1);
  CHECK_EQ_INT(run_value(s, "\"cut\""), 1);
  CHECK_EQ_INT(run_value(s, "\"ct\""), -9); /* no match yet: the string cannot end */
  CHECK_EQ_INT(run_value(s, "\"a\\\"cat\""), -8); /* nothing that needs an escape */
  jc_free(s);
  s = compile_text("{\"properties\":{\"v\":{\"type\":\"string\",\"format\":\"email\"}}}", NULL, 0);
  CHECK(s);
  CHECK_EQ_INT(run_value(s, "\"ann.lee+tag@mail.example.org\""), 1);
  CHECK_EQ_INT(run_value(s, "\"a@b.co\""), 1);
  CHECK_EQ_INT(run_value(s, "\"a@b.c\""), -12);      /* a two-letter domain at least */
  CHECK_EQ_INT(run_value(s, "\"a..b@c.de\""), -9);  /* no empty dot-parts */
  CHECK_EQ_INT(run_value(s, "\"@c.de\""), -7);
  CHECK_EQ_INT(run_value(s, "\"a@-c.de\""), -9);    /* a label begins with a letter or digit */
  jc_free(s);
}

/* Random walks through each expression's automaton, a printable byte at a
 * time: every string it lets end must match the same pattern under PCRE2
 * (a search, as JSON Schema reads patterns). */
TEST(every_string_a_pattern_lets_end_matches_pcre2) {
  static const char *const patterns[] = {
      "^[A-Z]{2}-\\d{3,4}(x|yz)?$", "c[aeiou]+t", "^(ab|a)*b$", "^\\w+( \\w+){0,3}\\.?$",
      "^[^aeiou ]{3,}$", "x|yz", "^(?:0|[1-9]\\d*)(\\.\\d{1,2})?$", "^.{2}-.?$",
      "^[A-Za-z0-9_%+-]+(\\.[A-Za-z0-9_%+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z]{2,}$",
  };
  srand(777);
  for (size_t k = 0; k < sizeof patterns / sizeof *patterns; k++) {
    jr_prog prog;
    char err[200];
    CHECK(jr_compile(patterns[k], strlen(patterns[k]), &prog, err, sizeof err) == 0);
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)patterns[k], PCRE2_ZERO_TERMINATED, 0, &errcode, &erroff, NULL);
    CHECK(re != NULL);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int ended = 0;
    for (int walk = 0; walk < 1500; walk++) {
      uint64_t live = 1;
      char text[64];
      size_t n = 0;
      while (n < sizeof text - 1) {
        if (jr_matches(&prog, live) && rand() % 4 == 0) break;
        /* mostly the pattern's own characters (and digits), so that
         * unanchored walks meet their match now and then */
        char ok[96], near[96];
        int n_ok = 0, n_near = 0;
        for (int c = 0x20; c < 0x7f; c++) {
          if (!jr_step(&prog, live, (uint8_t)c)) continue;
          ok[n_ok++] = (char)c;
          if (strchr(patterns[k], c) || (c >= '0' && c <= '9')) near[n_near++] = (char)c;
        }
        if (!n_ok) break;
        char c = n_near && rand() % 5 ? near[rand() % n_near] : ok[rand() % n_ok];
        live = jr_step(&prog, live, (uint8_t)c);
        text[n++] = c;
      }
      text[n] = 0;
      if (!jr_matches(&prog, live)) continue;
      ended++;
      if (pcre2_match(re, (PCRE2_SPTR)text, n, 0, 0, md, NULL) < 0) {
        fprintf(stderr, "  /%s/ lets \"%s\" end, PCRE2 finds no match\n", patterns[k], text);
        test_cur_failed = 1;
        break;
      }
    }
    if (ended < 40) fprintf(stderr, "  /%s/: only %d walks ended\n", patterns[k], ended);
    CHECK(ended >= 40);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
  }
}

TEST(a_call_names_its_function_first_and_fits_its_arguments) {
  json_value *pick, *paint;
  const char *a = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"maximum\":9}},"
                  "\"required\":[\"n\"],\"additionalProperties\":false}";
  const char *b = "{\"properties\":{\"color\":{\"enum\":[\"red\",\"blue\"]}},\"required\":[\"color\"]}";
  CHECK(json_read(arena, a, strlen(a), NULL, &pick, NULL) == 0);
  CHECK(json_read(arena, b, strlen(b), NULL, &paint, NULL) == 0);
  jc_function fns[] = {{"pick", 4, pick}, {"paint", 5, paint}, {"noop", 4, NULL}};
  jc_schema *s;
  int bad;
  char err[200];
  CHECK(jc_compile_calls(fns, 3, &s, &bad, err, sizeof err) == 0);
  CHECK_EQ_INT(run(s, "{\"name\": \"pick\", \"arguments\": {\"n\": 7}}"), 1);
  CHECK_EQ_INT(run(s, "{\"name\":\"paint\",\"arguments\":{\"color\":\"blue\",\"shade\":1}}"), 1);
  CHECK_EQ_INT(run(s, "{\"name\":\"noop\",\"arguments\":{\"any\":[1]}}"), 1);
  CHECK_EQ_INT(run(s, "{\"name\":\"paint\",\"arguments\":{\"n\":7}}"), -35);   /* paint's arguments need a color */
  CHECK_EQ_INT(run(s, "{\"name\":\"pick\",\"arguments\":{\"color\":\"red\"}}"), -30); /* pick's take only n */
  CHECK_EQ_INT(run(s, "{\"arguments\""), -3);                         /* the name first */
  CHECK_EQ_INT(run(s, "{\"name\":\"draw\""), -10);
  jc_free(s);
  /* which function's parameters cannot be enforced; two of one name */
  json_value *bad_params;
  const char *c = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"number\",\"multipleOf\":2}}}";
  CHECK(json_read(arena, c, strlen(c), NULL, &bad_params, NULL) == 0);
  jc_function two[] = {{"pick", 4, pick}, {"odd", 3, bad_params}};
  CHECK(jc_compile_calls(two, 2, &s, &bad, err, sizeof err) == HR_EINVAL);
  CHECK_EQ_INT(bad, 1);
  CHECK(strstr(err, "parameters.properties.x: 'multipleOf' is not supported") != NULL);
  jc_function same[] = {{"pick", 4, pick}, {"pick", 4, NULL}};
  CHECK(jc_compile_calls(same, 2, &s, &bad, err, sizeof err) == HR_EINVAL);
  CHECK_EQ_INT(bad, -1);
  CHECK(strstr(err, "two tools are named \"pick\"") != NULL);
}

TEST(recursive_schemas_compile_and_read) {
  jc_schema *s = compile_text("{\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\","
                              "\"items\":{\"$ref\":\"#\"}}},\"additionalProperties\":false}",
                              NULL, 0);
  CHECK(s);
  CHECK_EQ_INT(run(s, "{\"kids\":[{\"kids\":[]},{\"kids\":[{}]}]}"), 1);
  CHECK_EQ_INT(run(s, "{\"kids\":[1]}"), -10);
  jc_free(s);
}

TEST(types_lists_and_all_of_one) {
  jc_schema *s = compile_text("{\"properties\":{\"x\":{\"type\":[\"string\",\"null\",\"integer\"]},"
                              "\"y\":{\"allOf\":[{\"type\":\"boolean\"}],\"description\":\"d\"}}}",
                              NULL, 0);
  CHECK(s);
  CHECK_EQ_INT(run(s, "{\"x\":null,\"y\":false}"), 1);
  CHECK_EQ_INT(run(s, "{\"x\":\"s\"}"), 1);
  CHECK_EQ_INT(run(s, "{\"x\":7}"), 1);
  CHECK_EQ_INT(run(s, "{\"x\":7.5}"), -7);
  CHECK_EQ_INT(run(s, "{\"y\":null}"), -6);
  jc_free(s);
}

static void refused(const char *schema, const char *needle) {
  char err[512] = "";
  jc_schema *s = compile_text(schema, err, sizeof err);
  CHECK(!s);
  if (!strstr(err, needle)) {
    fprintf(stderr, "  FAIL %s: \"%s\" lacks \"%s\"\n", test_cur_name, err, needle);
    test_cur_failed = 1;
  }
  jc_free(s);
}

TEST(unsupported_schemas_are_refused_with_their_place) {
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"multipleOf\":2}}}",
          "properties.a: 'multipleOf' is not supported");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\",\"maximum\":0.5}}}",
          "'maximum' is supported only as a whole number");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\",\"exclusiveMinimum\":0}}}",
          "only on integers");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"minimum\":3,\"maximum\":2}}}",
          "the bounds leave no number");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"(?=x)y\"}}}",
          "properties.a: pattern: lookarounds");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"pattern\":\"a{2,1}\"}}}", "out of order");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"pattern\":\"^a{1000000}$\"}}}", "a count above");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"pattern\":\"a{1,99999999999999999999}\"}}}", "a count above");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"format\":\"email\",\"maxLength\":9}}}",
          "'minLength'/'maxLength' beside 'format'");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"pattern\":\"^\\\\\\\\$\"}}}",
          "would have to escape");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"pattern\":\"[a-z]{40}[0-9]{30}\"}}}",
          "more than 63");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"format\":\"ipv4\"}}}",
          "format \"ipv4\" is not supported");
  refused("{\"type\":\"string\"}", "the root must be an object");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"oneOf\":[{\"type\":\"object\"},{\"type\":\"object\"}]}}}",
          "oneOf alternatives must begin differently");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"},"
          "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"string\"},{\"type\":\"string\"},{\"type\":\"string\"}]},"
          "{\"type\":\"string\"},{\"type\":\"string\"},{\"type\":\"string\"},{\"type\":\"string\"}]}}}",
          "more than 8 alternatives of one anyOf can begin with '\"'");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/Nope\"}}}", "names no definition");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"http://x/y\"}}}", "is not supported");
  refused("{\"type\":\"object\",\"required\":[\"b\"]}", "\"b\" is not in 'properties'");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"tuple\"}}}", "unknown type");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"minItems\":3,\"maxItems\":2}}}",
          "'minItems' is above 'maxItems'");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"enum\":[]}}}", "empty enum");
  refused("{\"$ref\":\"#\"}", "points only at itself");
  refused("false", "matches nothing");
  /* keywords beside one another that a schema could not drop silently */
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"enum\":[\"x\",1]}}}",
          "'enum' value 0 is not of the schema's 'type'");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"enum\":[\"x\",\"y\"],\"const\":\"y\"}}}",
          "'const' beside 'enum'");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"const\":5}}}",
          "'const' is not of the schema's 'type'");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"enum\":[\"x\"],\"maxLength\":3}}}",
          "'maxLength' beside 'enum'");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"string\"}],"
          "\"oneOf\":[{\"type\":\"integer\"}]}}}",
          "'oneOf' beside 'anyOf'");
  refused("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":[\"string\",\"null\",\"string\"]}}}",
          "lists a type twice");
  char big[400];
  snprintf(big, sizeof big, "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/%0300d\"}}}", 0);
  refused(big, "longer than 255 bytes");
}

/* A key may spell a declared property with escapes only as that name is
 * written: "\u0061" is "a" to every reader, so it must not pass as another
 * key (skipping a's schema, or writing a twice). */
TEST(escaped_keys_cannot_alias_declared_ones) {
  jc_schema *s = compile_text("{\"properties\":{\"a\":{\"type\":\"integer\"},\"q\\\"\":{\"type\":\"integer\"}}}",
                              NULL, 0);
  CHECK(s);
  CHECK(run(s, "{\"\\u0061\":\"str\"}") < 0);
  CHECK(run(s, "{\"a\":1,\"\\u0061\":2}") < 0);
  CHECK(run(s, "{\"b\\n\":1}") < 0);      /* an undeclared key: no escapes at all */
  CHECK_EQ_INT(run(s, "{\"b\":\"x\"}"), 1); /* but undeclared keys are allowed */
  CHECK_EQ_INT(run(s, "{\"q\\\"\":5}"), 1);  /* a declared name that needs its escape */
  CHECK(run(s, "{\"q\\u0022\":5}") < 0);   /* ... only in its own spelling */
  CHECK(run(s, "{\"q\\\"\":\"x\"}") < 0);
  jc_free(s);
}

/* Random walks: at each step pick a random byte the automaton accepts
 * (from a small alphabet that covers JSON's syntax); whenever the state is
 * complete, the text must parse with the strict reader. */
/* anyOf alternatives that begin alike (two object shapes, two kinds of
 * string) are each followed until the text rules one out. */
TEST(overlapping_anyof_alternatives_are_followed_together) {
  char err[300] = "";
  jc_schema *s = compile_text(
      "{\"type\":\"object\",\"properties\":{\"shape\":{\"anyOf\":["
      "{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"circle\"},\"r\":{\"type\":\"number\"}},"
      "\"required\":[\"kind\",\"r\"],\"additionalProperties\":false},"
      "{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"square\"},\"side\":{\"type\":\"number\"}},"
      "\"required\":[\"kind\",\"side\"],\"additionalProperties\":false},"
      "{\"type\":\"null\"}]},"
      "\"when\":{\"anyOf\":[{\"type\":\"string\",\"format\":\"date\"},{\"type\":\"string\",\"maxLength\":3}]}},"
      "\"required\":[\"shape\"],\"additionalProperties\":false}",
      err, sizeof err);
  CHECK(s);
  if (!s) {
    fprintf(stderr, "  %s\n", err);
    return;
  }
  CHECK_EQ_INT(run(s, "{\"shape\":{\"kind\":\"circle\",\"r\":2}}"), 1);
  CHECK_EQ_INT(run(s, "{\"shape\":{\"r\":2.5,\"kind\":\"circle\"}}"), 1);
  CHECK_EQ_INT(run(s, "{\"shape\":{\"side\":1,\"kind\":\"square\"}}"), 1);
  CHECK_EQ_INT(run(s, "{\"shape\":null}"), 1);
  /* a circle's kind rules out a side, a side rules out a circle's kind */
  CHECK_EQ_INT(run(s, "{\"shape\":{\"kind\":\"circle\",\"side\":1}}"), -28);
  CHECK_EQ_INT(run(s, "{\"shape\":{\"side\":1,\"kind\":\"circle\"}}"), -28);
  CHECK_EQ_INT(run(s, "{\"shape\":{\"kind\":\"triangle\"}}"), -19);
  CHECK_EQ_INT(run(s, "{\"shape\":{\"kind\":\"circle\"}}"), -26); /* r is required */
  CHECK_EQ_INT(run(s, "{\"shape\":{\"r\":1,\"r\":2}}"), -18);      /* each key once */
  /* a date, or any string of at most three characters */
  CHECK_EQ_INT(run(s, "{\"shape\":null,\"when\":\"2024-02-29\"}"), 1);
  CHECK_EQ_INT(run(s, "{\"shape\":null,\"when\":\"abc\"}"), 1);
  CHECK_EQ_INT(run(s, "{\"shape\":null,\"when\":\"abcd\"}"), -26);
  CHECK_EQ_INT(run(s, "{\"shape\":null,\"when\":\"2024-02-30\"}"), -31);
  jc_free(s);

  /* items that fit both of two shapes: the readings merge after each item,
   * so a long array never runs out of them */
  s = compile_text("{\"type\":\"object\",\"properties\":{\"xs\":{\"type\":\"array\",\"items\":{\"anyOf\":["
                   "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"additionalProperties\":false},"
                   "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\"}},"
                   "\"additionalProperties\":false}]}}}}",
                   err, sizeof err);
  CHECK(s);
  jc_state st;
  jc_init(s, &st);
  const char *open = "{\"xs\":[";
  CHECK(jc_feed(&st, open, strlen(open)));
  for (int i = 0; i < 50; i++) {
    if (i) CHECK(jc_feed(&st, ",", 1));
    const char *item = i % 2 ? "{\"a\":1}" : "{\"a\":2,\"b\":3}";
    CHECK(jc_feed(&st, item, strlen(item)));
    CHECK_EQ_INT(st.n, 1);
  }
  CHECK(jc_feed(&st, "]}", 2));
  CHECK(jc_complete(&st));
  jc_free(s);

  /* readings multiply where overlapping unions nest: two shapes that both
   * hold a five-way string union need ten at once, more than a state has */
  refused("{\"type\":\"object\",\"properties\":{\"item\":{\"anyOf\":["
          "{\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"#/$defs/S\"},\"a\":{\"type\":\"integer\"}}},"
          "{\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"#/$defs/S\"},\"b\":{\"type\":\"integer\"}}}]}},"
          "\"$defs\":{\"S\":{\"anyOf\":[{\"type\":\"string\",\"format\":\"date\"},{\"type\":\"string\",\"format\":\"uuid\"},"
          "{\"type\":\"string\",\"format\":\"time\"},{\"type\":\"string\",\"maxLength\":3},{\"type\":\"string\"}]}}}",
          "would need 10 readings at once");
  /* and without end through recursion that passes an overlapping step */
  refused("{\"type\":\"object\",\"properties\":{\"t\":{\"$ref\":\"#/$defs/N\"}},\"$defs\":{\"N\":{\"anyOf\":["
          "{\"type\":\"object\",\"properties\":{\"l\":{\"$ref\":\"#/$defs/N\"},\"v\":{\"type\":\"integer\"}}},"
          "{\"type\":\"object\",\"properties\":{\"l\":{\"$ref\":\"#/$defs/N\"},\"w\":{\"type\":\"string\"}}},"
          "{\"type\":\"integer\"}]}}}",
          "may not recurse through an anyOf alternative that begins like another");
  /* recursion through the one alternative that begins with '{' is fine,
   * however deep: a tree whose leaves are a date or a short string */
  s = compile_text("{\"type\":\"object\",\"properties\":{\"t\":{\"$ref\":\"#/$defs/T\"}},\"$defs\":{\"T\":{\"anyOf\":["
                   "{\"type\":\"object\",\"properties\":{\"l\":{\"$ref\":\"#/$defs/T\"},\"r\":{\"$ref\":\"#/$defs/T\"}},"
                   "\"additionalProperties\":false},"
                   "{\"type\":\"string\",\"format\":\"date\"},{\"type\":\"string\",\"maxLength\":2}]}}}",
                   err, sizeof err);
  CHECK(s);
  CHECK_EQ_INT(run(s, "{\"t\":{\"l\":{\"l\":{\"r\":\"ab\"},\"r\":\"2024-01-02\"},\"r\":{\"l\":\"x\"}}}"), 1);
  CHECK_EQ_INT(run(s, "{\"t\":{\"l\":{\"r\":\"abc\"}}}"), -19);
  jc_free(s);
  /* a wide union of unions is refused at once, not after a walk of every path */
  hr_buf b = HR_BUF_INIT;
  hr_buf_append_str(&b, "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/X0\"}},\"$defs\":{");
  for (int k = 0; k < 20; k++) {
    hr_buf_appendf(&b, "%s\"X%d\":{\"anyOf\":[", k ? "," : "", k);
    for (int i = 0; i < 3; i++)
      hr_buf_appendf(&b, "%s{\"$ref\":\"#/$defs/X%d\"}", i ? "," : "", k + 1);
    hr_buf_append_str(&b, "]}");
  }
  hr_buf_append_str(&b, ",\"X20\":{\"type\":\"string\"}}}");
  int64_t t0 = hr_now_ns();
  refused(b.data, "more than 8 alternatives of one anyOf");
  CHECK(hr_now_ns() - t0 < 1000000000); /* 3^20 paths */
  hr_buf_free(&b);
  /* twelve models that each may hold any of the twelve (every path of
   * which a walk would follow: 12!) are checked node by node */
  b = (hr_buf)HR_BUF_INIT;
  hr_buf_append_str(&b, "{\"type\":\"object\",\"properties\":{\"m\":{\"$ref\":\"#/$defs/M0\"}},\"$defs\":{");
  for (int k = 0; k < 12; k++) {
    hr_buf_appendf(&b, "%s\"M%d\":{\"type\":\"object\",\"properties\":{", k ? "," : "", k);
    for (int i = 0; i < 12; i++) hr_buf_appendf(&b, "%s\"p%d\":{\"$ref\":\"#/$defs/M%d\"}", i ? "," : "", i, i);
    hr_buf_appendf(&b, ",\"s\":{\"anyOf\":[{\"type\":\"string\",\"format\":\"date\"},{\"type\":\"string\",\"maxLength\":%d}]}}}", k + 1);
  }
  hr_buf_append_str(&b, "}}");
  t0 = hr_now_ns();
  s = compile_text(b.data, err, sizeof err);
  CHECK(hr_now_ns() - t0 < 1000000000);
  CHECK(s);
  CHECK_EQ_INT(run(s, "{\"m\":{\"p3\":{\"s\":\"abcd\",\"p0\":{\"s\":\"2024-05-06\"}}}}"), 1);
  CHECK_EQ_INT(run(s, "{\"m\":{\"p3\":{\"s\":\"abcde\"}}}"), -22); /* M3: at most 4 */
  jc_free(s);
  hr_buf_free(&b);
}

TEST(everything_complete_is_json) {
  static const char alphabet[] = "{}[]:,\" 0123456789-.eE+tfnrulsa\\/bu\xc3\xa9";
  jc_schema *schemas[2] = {compile_text(NULL, NULL, 0), compile_text(person, NULL, 0)};
  CHECK(schemas[0] && schemas[1]);
  srand(12345);
  int completed = 0;
  for (int walk = 0; walk < 3000; walk++) {
    const jc_schema *s = schemas[walk % 2];
    jc_state st, trial;
    jc_init(s, &st);
    char text[400];
    size_t n = 0;
    while (n < sizeof text - 1 && !jc_complete(&st)) {
      char ok[sizeof alphabet];
      int n_ok = 0;
      for (size_t k = 0; k + 1 < sizeof alphabet; k++) {
        jc_copy(&trial, &st);
        if (jc_feed(&trial, &alphabet[k], 1)) ok[n_ok++] = alphabet[k];
      }
      if (!n_ok) break;
      /* lean towards closing so walks end */
      char c = ok[rand() % n_ok];
      for (int k = 0; k < n_ok && n > 120; k++)
        if (ok[k] == '}' || ok[k] == ']' || ok[k] == '"') c = ok[k];
      CHECK(jc_feed(&st, &c, 1));
      text[n++] = c;
    }
    text[n] = 0;
    if (!jc_complete(&st)) continue;
    completed++;
    json_value *v;
    json_error e;
    hr_arena_reset(arena);
    if (json_read(arena, text, n, NULL, &v, &e)) {
      fprintf(stderr, "  not JSON (%s): %s\n", e.message, text);
      test_cur_failed = 1;
      break;
    }
    CHECK(v->type == JSON_OBJECT);
    const json_value *age = json_get(v, "age");
    if (walk % 2 == 1) CHECK(age && age->type == JSON_NUMBER && age->u.num.i >= 0 && age->u.num.i <= 150);
  }
  CHECK(completed > 1000);
  jc_free(schemas[0]);
  jc_free(schemas[1]);
}

int main(void) {
  arena = hr_arena_new(1 << 16);
  RUN(json_object_mode_takes_any_object);
  RUN(schema_accepts_what_it_describes);
  RUN(schema_refuses_at_the_first_bad_byte);
  RUN(keys_are_refused_as_soon_as_no_property_matches);
  RUN(strings_take_escapes_and_utf8_only_when_valid);
  RUN(white_space_is_one_space_or_a_new_line_and_an_indent);
  RUN(nesting_stops_at_the_depth_limit);
  RUN(numbers_and_literals_end_on_the_next_byte);
  RUN(number_bounds_are_kept_as_digits_arrive);
  RUN(formats_take_their_canonical_spelling);
  RUN(patterns_and_email_read_as_regular_expressions);
  RUN(every_string_a_pattern_lets_end_matches_pcre2);
  RUN(a_call_names_its_function_first_and_fits_its_arguments);
  RUN(recursive_schemas_compile_and_read);
  RUN(types_lists_and_all_of_one);
  RUN(unsupported_schemas_are_refused_with_their_place);
  RUN(escaped_keys_cannot_alias_declared_ones);
  RUN(overlapping_anyof_alternatives_are_followed_together);
  RUN(everything_complete_is_json);
  hr_arena_free(arena);
  return test_report("json_constraint");
}
