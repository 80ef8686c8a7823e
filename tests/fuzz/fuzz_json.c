/* fuzz_json — the JSON reader on arbitrary bytes. A document that reads is
 * written back and read again: the second read must succeed and give the
 * same tree; every finite number must also survive json_w_double. A
 * document that fails must say where, inside the input. Aborts otherwise. */
// fuzz-sources: src/json/json.c src/json/json_write.c src/json/json_schema.c src/base/arena.c src/base/base.c
#include "../../src/json/json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool same(const json_value *a, const json_value *b) {
  if (a->type != b->type) return false;
  switch (a->type) {
    case JSON_NULL:
    case JSON_TRUE:
    case JSON_FALSE: return true;
    case JSON_NUMBER:
      return a->u.num.raw_len == b->u.num.raw_len && memcmp(a->u.num.raw, b->u.num.raw, a->u.num.raw_len) == 0 &&
             a->u.num.is_int == b->u.num.is_int && a->u.num.i == b->u.num.i &&
             memcmp(&a->u.num.d, &b->u.num.d, sizeof(double)) == 0;
    case JSON_STRING:
      return a->u.str.len == b->u.str.len && memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0 &&
             a->u.str.ptr[a->u.str.len] == 0;
    case JSON_ARRAY:
      if (a->u.arr.n != b->u.arr.n) return false;
      for (size_t i = 0; i < a->u.arr.n; i++)
        if (!same(a->u.arr.items[i], b->u.arr.items[i])) return false;
      return true;
    case JSON_OBJECT:
      if (a->u.obj.n != b->u.obj.n) return false;
      for (size_t i = 0; i < a->u.obj.n; i++) {
        const json_member *x = &a->u.obj.members[i], *y = &b->u.obj.members[i];
        if (!hr_str_eq(x->key, y->key) || !same(x->value, y->value)) return false;
      }
      return true;
  }
  return false;
}

/* Every finite number's double, written shortest, reads back bit-exact. */
static void check_doubles(hr_arena *a, const json_value *v, hr_buf *b) {
  if (v->type == JSON_ARRAY)
    for (size_t i = 0; i < v->u.arr.n; i++) check_doubles(a, v->u.arr.items[i], b);
  if (v->type == JSON_OBJECT)
    for (size_t i = 0; i < v->u.obj.n; i++) check_doubles(a, v->u.obj.members[i].value, b);
  if (v->type != JSON_NUMBER || !isfinite(v->u.num.d)) return;
  hr_buf_clear(b);
  json_writer w;
  json_w_init(&w, b);
  json_w_double(&w, v->u.num.d);
  if (json_w_finish(&w)) abort();
  json_value *back;
  if (json_read(a, b->data, b->len, NULL, &back, NULL) || back->type != JSON_NUMBER ||
      memcmp(&back->u.num.d, &v->u.num.d, sizeof(double)) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static hr_arena *a;
  if (!a) a = hr_arena_new(1 << 16);
  json_value *v;
  json_error e;
  int rc = json_read(a, (const char *)data, size, NULL, &v, &e);
  if (rc) {
    if (e.offset > size || e.line < 1 || e.col < 1 || !e.message[0]) abort();
    if (rc != HR_EINVAL && rc != HR_ERANGE) abort();
    hr_arena_reset(a);
    return 0;
  }
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_value(&w, v);
  if (json_w_finish(&w)) abort();
  json_value *v2;
  if (json_read(a, b.data, b.len, NULL, &v2, &e)) abort();
  if (!same(v, v2)) abort();
  check_doubles(a, v, &b);
  hr_buf_free(&b);
  hr_arena_reset(a);
  return 0;
}
