/* arena.c — bump allocation in linked blocks. Request-scoped memory comes
 * from here and dies with the request: nothing allocated from an arena is
 * freed on its own. Large requests get a block of their own. */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct block {
  struct block *next;
  size_t cap;
  size_t used;
  _Alignas(16) unsigned char data[];
} block;

struct hr_arena {
  block *head;  /* current block; older ones follow */
  block *first; /* kept across resets */
  size_t block_bytes;
  size_t used_total;
};

static block *block_new(size_t cap) {
  block *b = malloc(sizeof(block) + cap);
  if (!b) return NULL;
  b->next = NULL;
  b->cap = cap;
  b->used = 0;
  return b;
}

hr_arena *hr_arena_new(size_t block_bytes) {
  if (block_bytes < 256) block_bytes = 256;
  hr_arena *a = malloc(sizeof *a);
  if (!a) return NULL;
  a->first = a->head = block_new(block_bytes);
  if (!a->head) {
    free(a);
    return NULL;
  }
  a->block_bytes = block_bytes;
  a->used_total = 0;
  return a;
}

void *hr_arena_alloc(hr_arena *a, size_t bytes) {
  if (bytes > SIZE_MAX - 64) return NULL;
  size_t need = (bytes + 15) & ~(size_t)15;
  if (need == 0) need = 16;
  block *b = a->head;
  if (b->cap - b->used < need) {
    size_t cap = need > a->block_bytes ? need : a->block_bytes;
    block *nb = block_new(cap);
    if (!nb) return NULL;
    nb->next = a->head;
    a->head = nb;
    b = nb;
  }
  void *p = b->data + b->used;
  b->used += need;
  a->used_total += need;
  return p;
}

void *hr_arena_calloc(hr_arena *a, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = hr_arena_alloc(a, n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

char *hr_arena_strndup(hr_arena *a, const char *s, size_t n) {
  char *p = hr_arena_alloc(a, n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *hr_arena_sprintf(hr_arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = n < 0 ? NULL : hr_arena_alloc(a, (size_t)n + 1);
  if (p) vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}

void hr_arena_reset(hr_arena *a) {
  block *b = a->head;
  while (b != a->first) {
    block *next = b->next;
    free(b);
    b = next;
  }
  a->head = a->first;
  a->first->used = 0;
  a->used_total = 0;
}

void hr_arena_free(hr_arena *a) {
  if (!a) return;
  block *b = a->head;
  while (b) {
    block *next = b->next;
    free(b);
    b = next;
  }
  free(a);
}

size_t hr_arena_used(const hr_arena *a) { return a->used_total; }

typedef struct {
  hr_str s;
  size_t at;
} placed_str;

static int by_text_then_place(const void *x, const void *y) {
  const placed_str *a = x, *b = y;
  size_t n = a->s.len < b->s.len ? a->s.len : b->s.len;
  int c = n ? memcmp(a->s.ptr, b->s.ptr, n) : 0;
  if (c) return c;
  if (a->s.len != b->s.len) return a->s.len < b->s.len ? -1 : 1;
  return a->at < b->at ? -1 : a->at > b->at;
}

int hr_str_first_repeat(hr_arena *a, const hr_str *s, size_t n, size_t *at) {
  placed_str *v = n ? hr_arena_alloc(a, n * sizeof *v) : NULL;
  if (n && !v) return HR_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i].ptr) v[k++] = (placed_str){s[i], i};
  qsort(v, k, sizeof *v, by_text_then_place);
  bool found = false;
  for (size_t i = 1; i < k; i++) /* in a run of equal strings, each after the first repeats */
    if (hr_str_eq(v[i].s, v[i - 1].s) && (!found || v[i].at < *at)) {
      *at = v[i].at;
      found = true;
    }
  return found;
}
