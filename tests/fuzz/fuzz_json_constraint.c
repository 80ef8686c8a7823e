/* fuzz_json_constraint — the response_format automaton on arbitrary
 * schemas and outputs. The input is a schema (JSON text; one that does not
 * read stands for json_object mode), a NUL byte, and the bytes a model
 * would write (an odd-length schema is compiled as the parameters of
 * function "f\"n" of a forced call between it and "g" (any arguments),
 * whose output must be {"name": one of them, "arguments": ...}, name first).
 * Compiling must succeed or fail with a message; every byte
 * is offered to a copy first, and the copy and the state must agree (all
 * their readings; all readings agree on whether the root is closed); an
 * output the automaton calls complete must be a JSON object the strict
 * reader parses. Aborts otherwise. */
// fuzz-sources: src/engine/json_constraint.c src/engine/json_format.c src/engine/json_regex.c src/json/json.c src/json/json_write.c src/base/arena.c src/base/base.c
#include "../../src/engine/json_constraint.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static hr_arena *a;
  if (!a) a = hr_arena_new(1 << 16);
  const uint8_t *nul = memchr(data, 0, size);
  size_t schema_len = nul ? (size_t)(nul - data) : size;
  const char *out = nul ? (const char *)nul + 1 : "";
  size_t out_len = nul ? size - schema_len - 1 : 0;
  json_value *v = NULL;
  if (json_read(a, (const char *)data, schema_len, NULL, &v, NULL)) v = NULL;
  jc_schema *s;
  char err[256] = "";
  /* an odd length compiles the schema as a forced call's parameters */
  bool call = schema_len & 1;
  jc_function fns[] = {{"f\"n", 3, v}, {"g", 1, NULL}};
  int bad;
  int rc = call ? jc_compile_calls(fns, 2, &s, &bad, err, sizeof err) : jc_compile(v, &s, err, sizeof err);
  if (rc) {
    if (rc != HR_EINVAL || !err[0] || strncmp(err, call ? "parameters" : "schema", call ? 10 : 6)) abort();
    hr_arena_reset(a);
    return 0;
  }
  jc_state st, trial;
  jc_init(s, &st);
  size_t n = 0;
  for (; n < out_len; n++) {
    jc_copy(&trial, &st);
    bool took = jc_feed(&trial, out + n, 1);
    if (!took) break;
    if (!jc_feed(&st, out + n, 1)) abort();
    if (st.n != trial.n || st.done != trial.done || st.n < 1 || st.n > JC_READINGS_MAX) abort();
    for (int i = 0; i < st.n; i++) {
      const jc_stack *x = &st.s[i], *y = &trial.s[i];
      if (x->depth != y->depth || x->done != y->done || x->ws != y->ws || x->n_keys != y->n_keys ||
          x->n_keys > JC_KEYS_MAX || x->depth > JC_DEPTH_MAX || x->done != st.done)
        abort(); /* every reading closes the root at the same byte */
    }
  }
  if (jc_complete(&st)) {
    json_value *doc;
    if (json_read(a, out, n, NULL, &doc, NULL) || doc->type != JSON_OBJECT) abort();
    const json_value *name = json_get(doc, "name");
    if (call && (!name || name->type != JSON_STRING ||
                 (strcmp(name->u.str.ptr, "f\"n") && strcmp(name->u.str.ptr, "g")) ||
                 !json_get(doc, "arguments") || doc->u.obj.n != 2 || strcmp(doc->u.obj.members[0].key.ptr, "name")))
      abort();
  }
  jc_free(s);
  hr_arena_reset(a);
  return 0;
}
