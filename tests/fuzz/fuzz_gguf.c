/* fuzz_gguf.c — libFuzzer target for the GGUF reader: any bytes must either
 * be rejected with HR_EFORMAT and a message, or parse into a file whose
 * every key, array element and tensor byte can be read without going out of
 * bounds (ASan checks the reads). */
// fuzz-sources: src/engine/gguf.c src/base/arena.c src/base/base.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/engine/gguf.h"

static volatile uint64_t sink;

static void walk_arr(const gguf_arr *a) {
  for (uint64_t i = 0; i < a->n; i++) {
    int64_t v;
    float f;
    if (a->type == GGUF_TYPE_ARRAY) walk_arr(&a->arrs[i]);
    else if (a->type == GGUF_TYPE_STRING) {
      hr_str s = gguf_arr_get_str(a, i);
      if (s.len) sink += (uint8_t)s.ptr[0] + (uint8_t)s.ptr[s.len - 1];
    } else if (gguf_arr_get_i64(a, i, &v) == 0) sink += (uint64_t)v;
    else if (gguf_arr_get_f32(a, i, &f) == 0) sink += (uint64_t)(f == f);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a private copy so ASan sees reads past the end of exactly `size` bytes */
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  gguf_file *g = NULL;
  char err[256];
  err[0] = 0;
  int rc = gguf_open_memory(copy, size, &g, err, sizeof err);
  if (rc != 0) {
    if (rc != HR_EFORMAT && rc != HR_ENOMEM) abort();
    if (err[0] == 0) abort();
    free(copy);
    return 0;
  }
  for (size_t i = 0; i < gguf_kv_count(g); i++) {
    const char *k = gguf_kv_key(g, i);
    if (gguf_find_key(g, k) != (int64_t)i) abort();
    uint32_t u;
    hr_str s;
    const gguf_arr *a;
    gguf_get_u32(g, k, &u);
    if (gguf_get_str(g, k, &s) == 0 && s.ptr[s.len] != 0) abort();
    if (gguf_get_arr(g, k, &a) == 0) walk_arr(a);
  }
  for (size_t i = 0; i < gguf_tensor_count(g); i++) {
    const gguf_tensor *t = gguf_tensor_at(g, i);
    if (gguf_find_tensor(g, t->name) != t) abort();
    if (t->n_bytes) {
      const uint8_t *p = t->data;
      sink += p[0] + p[t->n_bytes - 1];
    }
  }
  gguf_close(g);
  free(copy);
  return 0;
}
