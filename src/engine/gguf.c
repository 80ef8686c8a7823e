/* gguf.c — the GGUF reader: one pass over the header, metadata and tensor
 * infos that checks everything, then hash tables for keys and tensor names.
 *
 * Layout of a GGUF v2/v3 file (all little-endian):
 *   "GGUF" u32 version u64 n_tensors u64 n_kv
 *   n_kv    x { string key, u32 type, value }
 *   n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset }
 *   padding to general.alignment (default 32), then the tensor data;
 *   string = u64 len + bytes; array = u32 type + u64 n + n values.
 *
 * Invariants after a successful parse: every hr_str and data pointer lies
 * inside the file; every allocation was bounded by the file's size before it
 * was made (a count is compared with the bytes left, each element needing at
 * least its minimum encoded size), so a hostile header cannot make us
 * allocate more than a small multiple of the file.
 *
 * Memory: one arena per gguf_file holds the key/tensor tables and the views;
 * the file bytes themselves stay in the mapping. */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tensor_types.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c reads little-endian values in place; port it for big-endian hosts"
#endif

typedef struct {
  const char *key; /* NUL-terminated copy */
  size_t key_len;
  gguf_type type;
  const uint8_t *raw; /* scalar bytes in the file (fixed-size types) */
  hr_str str;         /* STRING: view with a NUL-terminated copy */
  gguf_arr *arr;      /* ARRAY */
} gguf_kv;

struct gguf_file {
  const uint8_t *base;
  size_t size;
  bool mapped; /* base came from mmap and is ours to unmap */
  uint32_t version;
  uint32_t alignment;
  size_t data_offset;
  hr_arena *arena;
  gguf_kv *kvs;
  size_t n_kv;
  gguf_tensor *tensors;
  size_t n_tensors;
  uint32_t *kv_slots; /* open addressing: index+1, 0 = empty */
  uint32_t *tensor_slots;
  size_t kv_cap, tensor_cap; /* powers of two */
};

/* ---- errors ------------------------------------------------------------ */

typedef struct {
  const uint8_t *base;
  size_t size;
  size_t pos;
  hr_arena *arena;
  char *err;
  size_t err_len;
} reader;

__attribute__((format(printf, 2, 3))) static int fail(reader *r, const char *fmt, ...) {
  if (r->err && r->err_len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->err_len, fmt, ap);
    va_end(ap);
  }
  return HR_EFORMAT;
}

static int fail_nomem(reader *r) {
  if (r->err && r->err_len) snprintf(r->err, r->err_len, "out of memory reading GGUF");
  return HR_ENOMEM;
}

static size_t left(const reader *r) { return r->size - r->pos; }

/* ---- primitive reads --------------------------------------------------- */

static int rd_bytes(reader *r, size_t n, const uint8_t **out, const char *what) {
  if (n > left(r))
    return fail(r, "%s: needs %zu bytes at offset %zu but the file ends at %zu", what, n,
                r->pos, r->size);
  *out = r->base + r->pos;
  r->pos += n;
  return 0;
}

static int rd_u32(reader *r, uint32_t *v, const char *what) {
  const uint8_t *p = NULL;
  int rc = rd_bytes(r, 4, &p, what);
  if (rc == 0) memcpy(v, p, 4);
  return rc;
}

static int rd_u64(reader *r, uint64_t *v, const char *what) {
  const uint8_t *p = NULL;
  int rc = rd_bytes(r, 8, &p, what);
  if (rc == 0) memcpy(v, p, 8);
  return rc;
}

/* A string: u64 length then bytes. The length must fit in what is left. */
static int rd_str(reader *r, hr_str *s, uint64_t max_len, const char *what) {
  uint64_t n;
  size_t at = r->pos;
  int rc = rd_u64(r, &n, what);
  if (rc) return rc;
  if (n > max_len)
    return fail(r, "%s: string length %llu at offset %zu exceeds the limit %llu", what,
                (unsigned long long)n, at, (unsigned long long)max_len);
  if (n > left(r))
    return fail(r, "%s: string length %llu at offset %zu runs past the file end %zu", what,
                (unsigned long long)n, at, r->size);
  s->ptr = (const char *)r->base + r->pos;
  s->len = (size_t)n;
  r->pos += (size_t)n;
  return 0;
}

static size_t type_size(gguf_type t) {
  switch (t) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
    default: return 0; /* string, array: variable */
  }
}

/* The fewest bytes one element of type t takes in the file. */
static size_t type_min_size(gguf_type t) {
  if (t == GGUF_TYPE_STRING) return 8;
  if (t == GGUF_TYPE_ARRAY) return 12;
  return type_size(t);
}

const char *gguf_type_name(gguf_type t) {
  static const char *names[GGUF_TYPE_COUNT_] = {
      "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  return (unsigned)t < GGUF_TYPE_COUNT_ ? names[t] : "?";
}

/* ---- values ------------------------------------------------------------ */

static int rd_arr(reader *r, gguf_arr *a, int depth, const char *what);

static int rd_type(reader *r, gguf_type *t, const char *what) {
  uint32_t v;
  size_t at = r->pos;
  int rc = rd_u32(r, &v, what);
  if (rc) return rc;
  if (v >= GGUF_TYPE_COUNT_) return fail(r, "%s: unknown value type %u at offset %zu", what, v, at);
  *t = (gguf_type)v;
  return 0;
}

static int rd_arr(reader *r, gguf_arr *a, int depth, const char *what) {
  if (depth > GGUF_MAX_ARRAY_DEPTH)
    return fail(r, "%s: arrays nested deeper than %d", what, GGUF_MAX_ARRAY_DEPTH);
  int rc = rd_type(r, &a->type, what);
  if (rc) return rc;
  size_t at = r->pos;
  rc = rd_u64(r, &a->n, what);
  if (rc) return rc;
  size_t min = type_min_size(a->type);
  if (a->n > left(r) / min)
    return fail(r, "%s: array of %llu %s at offset %zu cannot fit in the %zu bytes left", what,
                (unsigned long long)a->n, gguf_type_name(a->type), at, left(r));
  a->data = NULL;
  a->strs = NULL;
  a->arrs = NULL;
  if (a->type == GGUF_TYPE_STRING) {
    hr_str *s = hr_arena_calloc(r->arena, a->n ? (size_t)a->n : 1, sizeof *s);
    if (!s) return fail_nomem(r);
    for (uint64_t i = 0; i < a->n; i++)
      if ((rc = rd_str(r, &s[i], UINT64_MAX, what))) return rc;
    a->strs = s;
  } else if (a->type == GGUF_TYPE_ARRAY) {
    gguf_arr *sub = hr_arena_calloc(r->arena, a->n ? (size_t)a->n : 1, sizeof *sub);
    if (!sub) return fail_nomem(r);
    for (uint64_t i = 0; i < a->n; i++)
      if ((rc = rd_arr(r, &sub[i], depth + 1, what))) return rc;
    a->arrs = sub;
  } else {
    rc = rd_bytes(r, (size_t)a->n * min, &a->data, what);
    if (rc) return rc;
  }
  return 0;
}

/* ---- hash tables ------------------------------------------------------- */

static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
  return h;
}

static size_t table_cap(size_t n) {
  size_t cap = 8;
  while (cap < n * 2) cap <<= 1;
  return cap;
}

typedef const char *(*name_at_fn)(const gguf_file *g, size_t i, size_t *len);

static const char *kv_name_at(const gguf_file *g, size_t i, size_t *len) {
  *len = g->kvs[i].key_len;
  return g->kvs[i].key;
}

static const char *tensor_name_at(const gguf_file *g, size_t i, size_t *len) {
  *len = strlen(g->tensors[i].name);
  return g->tensors[i].name;
}

/* Index of name in the table, or -1; *slot gets where it is or would go. */
static int64_t table_find(const gguf_file *g, const uint32_t *slots, size_t cap, name_at_fn at,
                          const char *name, size_t len, size_t *slot) {
  size_t mask = cap - 1, i = (size_t)hash_bytes(name, len) & mask;
  for (;; i = (i + 1) & mask) {
    if (slots[i] == 0) {
      if (slot) *slot = i;
      return -1;
    }
    size_t n;
    const char *s = at(g, slots[i] - 1, &n);
    if (n == len && memcmp(s, name, len) == 0) {
      if (slot) *slot = i;
      return slots[i] - 1;
    }
  }
}

/* ---- the parse --------------------------------------------------------- */

static int parse_kvs(gguf_file *g, reader *r, uint64_t n_kv) {
  int rc;
  g->kv_cap = table_cap((size_t)n_kv);
  g->kvs = hr_arena_calloc(r->arena, n_kv ? (size_t)n_kv : 1, sizeof *g->kvs);
  g->kv_slots = hr_arena_calloc(r->arena, g->kv_cap, sizeof *g->kv_slots);
  if (!g->kvs || !g->kv_slots) return fail_nomem(r);
  char what[128];
  for (uint64_t i = 0; i < n_kv; i++) {
    gguf_kv *kv = &g->kvs[i];
    hr_str key;
    snprintf(what, sizeof what, "metadata key %llu", (unsigned long long)i);
    if ((rc = rd_str(r, &key, GGUF_MAX_KEY_LEN, what))) return rc;
    if (memchr(key.ptr, 0, key.len)) return fail(r, "%s: key contains a NUL byte", what);
    kv->key = hr_arena_strndup(r->arena, key.ptr, key.len);
    if (!kv->key) return fail_nomem(r);
    kv->key_len = key.len;
    snprintf(what, sizeof what, "metadata '%.80s'", kv->key);
    size_t slot;
    if (table_find(g, g->kv_slots, g->kv_cap, kv_name_at, kv->key, key.len, &slot) >= 0)
      return fail(r, "%s: duplicate key", what);
    if ((rc = rd_type(r, &kv->type, what))) return rc;
    if (kv->type == GGUF_TYPE_STRING) {
      if ((rc = rd_str(r, &kv->str, UINT64_MAX, what))) return rc;
      char *copy = hr_arena_strndup(r->arena, kv->str.ptr, kv->str.len);
      if (!copy) return fail_nomem(r);
      kv->str.ptr = copy;
    } else if (kv->type == GGUF_TYPE_ARRAY) {
      kv->arr = hr_arena_calloc(r->arena, 1, sizeof *kv->arr);
      if (!kv->arr) return fail_nomem(r);
      if ((rc = rd_arr(r, kv->arr, 1, what))) return rc;
    } else {
      if ((rc = rd_bytes(r, type_size(kv->type), &kv->raw, what))) return rc;
    }
    g->kv_slots[slot] = (uint32_t)i + 1;
  }
  return 0;
}

static int parse_alignment(gguf_file *g, reader *r) {
  g->alignment = GGUF_DEFAULT_ALIGNMENT;
  int64_t i = gguf_find_key(g, "general.alignment");
  if (i < 0) return 0;
  const gguf_kv *kv = &g->kvs[i];
  if (kv->type != GGUF_TYPE_UINT32)
    return fail(r, "general.alignment has type %s, expected u32", gguf_type_name(kv->type));
  uint32_t a;
  memcpy(&a, kv->raw, 4);
  if (a == 0 || (a & (a - 1)) != 0 || a > GGUF_MAX_ALIGNMENT)
    return fail(r, "general.alignment %u is not a power of two up to %u", a, GGUF_MAX_ALIGNMENT);
  g->alignment = a;
  return 0;
}

/* Reads one tensor info and checks its shape and type (not yet its place). */
static int parse_tensor_info(gguf_file *g, reader *r, size_t i) {
  gguf_tensor *t = &g->tensors[i];
  char what[GGUF_MAX_TENSOR_NAME_LEN + 32];
  hr_str name;
  int rc;
  snprintf(what, sizeof what, "tensor %zu name", i);
  if ((rc = rd_str(r, &name, GGUF_MAX_TENSOR_NAME_LEN, what))) return rc;
  if (memchr(name.ptr, 0, name.len)) return fail(r, "tensor %zu: name contains a NUL byte", i);
  t->name = hr_arena_strndup(r->arena, name.ptr, name.len);
  if (!t->name) return fail_nomem(r);
  snprintf(what, sizeof what, "tensor '%s'", t->name);
  if ((rc = rd_u32(r, &t->n_dims, what))) return rc;
  if (t->n_dims > GGUF_MAX_DIMS)
    return fail(r, "%s: %u dimensions, at most %d allowed", what, t->n_dims, GGUF_MAX_DIMS);
  for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
  for (uint32_t d = 0; d < t->n_dims; d++) {
    uint64_t ne;
    if ((rc = rd_u64(r, &ne, what))) return rc;
    if (ne > (uint64_t)INT64_MAX)
      return fail(r, "%s: dimension %u is %llu, negative as int64", what, d,
                  (unsigned long long)ne);
    t->ne[d] = (int64_t)ne;
  }
  if ((rc = rd_u32(r, &t->type, what))) return rc;
  tensor_type_info ti = tensor_type_get(t->type);
  if (ti.block_elems == 0) return fail(r, "%s: unknown tensor type %u", what, t->type);
  if (t->ne[0] % ti.block_elems != 0)
    return fail(r, "%s: ne[0] = %lld is not a multiple of the %s block size %u", what,
                (long long)t->ne[0], ti.name, ti.block_elems);
  /* bytes = ne0/block * block_bytes * ne1 * ne2 * ne3, without overflow */
  uint64_t bytes = (uint64_t)t->ne[0] / ti.block_elems * ti.block_bytes;
  if (t->ne[0] && bytes / ti.block_bytes != (uint64_t)t->ne[0] / ti.block_elems)
    return fail(r, "%s: size overflows", what);
  for (int d = 1; d < GGUF_MAX_DIMS; d++) {
    uint64_t ne = (uint64_t)t->ne[d];
    if (ne && bytes > UINT64_MAX / ne) return fail(r, "%s: size overflows", what);
    bytes *= ne;
  }
  if (bytes > (uint64_t)SIZE_MAX || bytes > g->size)
    return fail(r, "%s: %llu bytes of data cannot fit in a file of %zu bytes", what,
                (unsigned long long)bytes, g->size);
  t->n_bytes = (size_t)bytes;
  if ((rc = rd_u64(r, &t->offset, what))) return rc;
  if (t->offset % g->alignment != 0)
    return fail(r, "%s: data offset %llu is not a multiple of the alignment %u", what,
                (unsigned long long)t->offset, g->alignment);
  size_t slot;
  if (table_find(g, g->tensor_slots, g->tensor_cap, tensor_name_at, t->name, name.len, &slot) >=
      0)
    return fail(r, "%s: duplicate tensor name", what);
  g->tensor_slots[slot] = (uint32_t)i + 1;
  return 0;
}

static int cmp_by_offset(const void *a, const void *b) {
  const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
  if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
  if (x->n_bytes != y->n_bytes) return x->n_bytes < y->n_bytes ? -1 : 1;
  return 0;
}

/* Every tensor's data inside the file, no two overlapping. */
static int check_tensor_data(gguf_file *g, reader *r) {
  if (g->n_tensors == 0) return 0;
  if (g->data_offset > g->size)
    return fail(r, "tensor data would start at %zu, past the file end %zu", g->data_offset,
                g->size);
  size_t room = g->size - g->data_offset;
  for (size_t i = 0; i < g->n_tensors; i++) {
    gguf_tensor *t = &g->tensors[i];
    if (t->offset > room || t->n_bytes > room - t->offset)
      return fail(r, "tensor '%s': data ends at %llu past file end %zu", t->name,
                  (unsigned long long)g->data_offset + t->offset + t->n_bytes, g->size);
    t->data = g->base + g->data_offset + t->offset;
  }
  const gguf_tensor **order = malloc(g->n_tensors * sizeof *order);
  if (!order) return fail_nomem(r);
  for (size_t i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
  qsort(order, g->n_tensors, sizeof *order, cmp_by_offset);
  int rc = 0;
  for (size_t i = 1; i < g->n_tensors && rc == 0; i++) {
    const gguf_tensor *a = order[i - 1], *b = order[i];
    if (a->offset + a->n_bytes > b->offset)
      rc = fail(r, "tensor '%s': data at %llu overlaps tensor '%s' (%llu..%llu)", b->name,
                (unsigned long long)b->offset, a->name, (unsigned long long)a->offset,
                (unsigned long long)(a->offset + a->n_bytes));
  }
  free(order);
  return rc;
}

static int parse(gguf_file *g, reader *r) {
  const uint8_t *magic;
  int rc;
  if (g->size < 4 || (rc = rd_bytes(r, 4, &magic, "magic")))
    return fail(r, "file too short for a GGUF header (%zu bytes)", g->size);
  if (memcmp(magic, "GGUF", 4) != 0)
    return fail(r, "bad magic %02x %02x %02x %02x, not a GGUF file", magic[0], magic[1],
                magic[2], magic[3]);
  if ((rc = rd_u32(r, &g->version, "version"))) return rc;
  if (g->version == 1) return fail(r, "GGUF version 1 is not supported (only 2 and 3)");
  if (g->version != 2 && g->version != 3) {
    if ((g->version & 0xffff) == 0)
      return fail(r, "GGUF version %u looks big-endian, which is not supported", g->version);
    return fail(r, "unknown GGUF version %u (only 2 and 3)", g->version);
  }
  uint64_t n_tensors, n_kv;
  if ((rc = rd_u64(r, &n_tensors, "tensor count"))) return rc;
  if ((rc = rd_u64(r, &n_kv, "metadata count"))) return rc;
  /* each KV takes >= 13 bytes (key length, type, one byte of value); each
   * tensor info >= 24 (name length, n_dims, type, offset) */
  if (n_kv > left(r) / 13)
    return fail(r, "metadata count %llu cannot fit in a file of %zu bytes",
                (unsigned long long)n_kv, g->size);
  if (n_tensors > left(r) / 24)
    return fail(r, "tensor count %llu cannot fit in a file of %zu bytes",
                (unsigned long long)n_tensors, g->size);
  if (n_kv >= UINT32_MAX / 4 || n_tensors >= UINT32_MAX / 4)
    return fail(r, "too many entries");
  g->n_kv = (size_t)n_kv;
  if ((rc = parse_kvs(g, r, n_kv))) return rc;
  if ((rc = parse_alignment(g, r))) return rc;

  g->n_tensors = (size_t)n_tensors;
  g->tensor_cap = table_cap(g->n_tensors);
  g->tensors = hr_arena_calloc(r->arena, g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
  g->tensor_slots = hr_arena_calloc(r->arena, g->tensor_cap, sizeof *g->tensor_slots);
  if (!g->tensors || !g->tensor_slots) return fail_nomem(r);
  for (size_t i = 0; i < g->n_tensors; i++)
    if ((rc = parse_tensor_info(g, r, i))) return rc;
  size_t a = g->alignment;
  g->data_offset = r->pos + (a - r->pos % a) % a;
  return check_tensor_data(g, r);
}

int gguf_open_memory(const void *data, size_t len, gguf_file **out, char *err,
                     size_t err_len) {
  *out = NULL;
  if (err && err_len) err[0] = 0;
  gguf_file *g = calloc(1, sizeof *g);
  hr_arena *arena = hr_arena_new(64 * 1024);
  if (!g || !arena) {
    free(g);
    hr_arena_free(arena);
    if (err && err_len) snprintf(err, err_len, "out of memory reading GGUF");
    return HR_ENOMEM;
  }
  g->base = data;
  g->size = len;
  g->arena = arena;
  reader r = {data, len, 0, arena, err, err_len};
  int rc = parse(g, &r);
  if (rc) {
    hr_arena_free(arena);
    free(g);
    return rc;
  }
  *out = g;
  return 0;
}

int gguf_open(const char *path, gguf_file **out, char *err, size_t err_len) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (err && err_len) snprintf(err, err_len, "%s: %s", path, strerror(errno));
    return HR_EIO;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (err && err_len) snprintf(err, err_len, "%s: not a regular file", path);
    close(fd);
    return HR_EIO;
  }
  size_t len = (size_t)st.st_size;
  if (len == 0) {
    close(fd);
    if (err && err_len) snprintf(err, err_len, "%s: empty file, not a GGUF file", path);
    return HR_EFORMAT;
  }
  void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  int saved = errno;
  close(fd);
  if (p == MAP_FAILED) {
    if (err && err_len) snprintf(err, err_len, "%s: mmap: %s", path, strerror(saved));
    return HR_EIO;
  }
  char msg[256];
  int rc = gguf_open_memory(p, len, out, msg, sizeof msg);
  if (rc) {
    munmap(p, len);
    if (err && err_len) snprintf(err, err_len, "%s: %s", path, msg);
    return rc;
  }
  (*out)->mapped = true;
  return 0;
}

bool gguf_is_mapped(const gguf_file *g) { return g->mapped; }

void gguf_close(gguf_file *g) {
  if (!g) return;
  if (g->mapped) munmap((void *)g->base, g->size);
  hr_arena_free(g->arena);
  free(g);
}

uint32_t gguf_version(const gguf_file *g) { return g->version; }
uint32_t gguf_alignment(const gguf_file *g) { return g->alignment; }
size_t gguf_data_offset(const gguf_file *g) { return g->data_offset; }
size_t gguf_size(const gguf_file *g) { return g->size; }
const void *gguf_base(const gguf_file *g) { return g->base; }

/* ---- metadata getters -------------------------------------------------- */

size_t gguf_kv_count(const gguf_file *g) { return g->n_kv; }

int64_t gguf_find_key(const gguf_file *g, const char *key) {
  return table_find(g, g->kv_slots, g->kv_cap, kv_name_at, key, strlen(key), NULL);
}

const char *gguf_kv_key(const gguf_file *g, size_t i) { return i < g->n_kv ? g->kvs[i].key : NULL; }
gguf_type gguf_kv_type(const gguf_file *g, size_t i) {
  return i < g->n_kv ? g->kvs[i].type : GGUF_TYPE_COUNT_;
}

/* An integer of type t at p (unaligned) as int64; u64 past INT64_MAX fails. */
static int int_at(gguf_type t, const uint8_t *p, int64_t *out) {
  switch (t) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_BOOL: *out = p[0]; return 0;
    case GGUF_TYPE_INT8: *out = (int8_t)p[0]; return 0;
    case GGUF_TYPE_UINT16: { uint16_t v; memcpy(&v, p, 2); *out = v; return 0; }
    case GGUF_TYPE_INT16: { int16_t v; memcpy(&v, p, 2); *out = v; return 0; }
    case GGUF_TYPE_UINT32: { uint32_t v; memcpy(&v, p, 4); *out = v; return 0; }
    case GGUF_TYPE_INT32: { int32_t v; memcpy(&v, p, 4); *out = v; return 0; }
    case GGUF_TYPE_INT64: { int64_t v; memcpy(&v, p, 8); *out = v; return 0; }
    case GGUF_TYPE_UINT64: {
      uint64_t v;
      memcpy(&v, p, 8);
      if (v > (uint64_t)INT64_MAX) return HR_EFORMAT;
      *out = (int64_t)v;
      return 0;
    }
    default: return HR_EFORMAT;
  }
}

static int float_at(gguf_type t, const uint8_t *p, double *out) {
  if (t == GGUF_TYPE_FLOAT32) {
    float v;
    memcpy(&v, p, 4);
    *out = v;
    return 0;
  }
  if (t == GGUF_TYPE_FLOAT64) {
    memcpy(out, p, 8);
    return 0;
  }
  int64_t i;
  if (int_at(t, p, &i)) return HR_EFORMAT;
  *out = (double)i;
  return 0;
}

static const gguf_kv *kv_get(const gguf_file *g, const char *key) {
  int64_t i = gguf_find_key(g, key);
  return i < 0 ? NULL : &g->kvs[i];
}

int gguf_kv_get_i64(const gguf_file *g, size_t i, int64_t *out) {
  if (i >= g->n_kv || !g->kvs[i].raw) return HR_EFORMAT;
  return int_at(g->kvs[i].type, g->kvs[i].raw, out);
}

int gguf_kv_get_f64(const gguf_file *g, size_t i, double *out) {
  if (i >= g->n_kv || !g->kvs[i].raw) return HR_EFORMAT;
  return float_at(g->kvs[i].type, g->kvs[i].raw, out);
}

int gguf_kv_get_str(const gguf_file *g, size_t i, hr_str *out) {
  if (i >= g->n_kv || g->kvs[i].type != GGUF_TYPE_STRING) return HR_EFORMAT;
  *out = g->kvs[i].str;
  return 0;
}

int gguf_kv_get_arr(const gguf_file *g, size_t i, const gguf_arr **out) {
  if (i >= g->n_kv || g->kvs[i].type != GGUF_TYPE_ARRAY) return HR_EFORMAT;
  *out = g->kvs[i].arr;
  return 0;
}

static int get_int(const gguf_file *g, const char *key, int64_t lo, int64_t hi, int64_t *v) {
  int64_t i = gguf_find_key(g, key);
  if (i < 0) return HR_ENOTFOUND;
  if (gguf_kv_get_i64(g, (size_t)i, v)) return HR_EFORMAT;
  return *v < lo || *v > hi ? HR_EFORMAT : 0;
}

int gguf_get_u32(const gguf_file *g, const char *key, uint32_t *out) {
  int64_t v;
  int rc = get_int(g, key, 0, UINT32_MAX, &v);
  if (rc == 0) *out = (uint32_t)v;
  return rc;
}

int gguf_get_i32(const gguf_file *g, const char *key, int32_t *out) {
  int64_t v;
  int rc = get_int(g, key, INT32_MIN, INT32_MAX, &v);
  if (rc == 0) *out = (int32_t)v;
  return rc;
}

int gguf_get_i64(const gguf_file *g, const char *key, int64_t *out) {
  return get_int(g, key, INT64_MIN, INT64_MAX, out);
}

int gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out) {
  const gguf_kv *kv = kv_get(g, key);
  if (!kv) return HR_ENOTFOUND;
  if (kv->type == GGUF_TYPE_UINT64) {
    memcpy(out, kv->raw, 8);
    return 0;
  }
  int64_t v;
  if (!kv->raw || int_at(kv->type, kv->raw, &v) || v < 0) return HR_EFORMAT;
  *out = (uint64_t)v;
  return 0;
}

int gguf_get_f32(const gguf_file *g, const char *key, float *out) {
  const gguf_kv *kv = kv_get(g, key);
  if (!kv) return HR_ENOTFOUND;
  if (kv->type != GGUF_TYPE_FLOAT32 && kv->type != GGUF_TYPE_FLOAT64) return HR_EFORMAT;
  double v;
  float_at(kv->type, kv->raw, &v);
  *out = (float)v;
  return 0;
}

int gguf_get_bool(const gguf_file *g, const char *key, bool *out) {
  const gguf_kv *kv = kv_get(g, key);
  if (!kv) return HR_ENOTFOUND;
  int64_t v;
  if (!kv->raw || int_at(kv->type, kv->raw, &v) || (kv->type != GGUF_TYPE_BOOL && v != 0 && v != 1))
    return HR_EFORMAT;
  *out = v != 0;
  return 0;
}

int gguf_get_str(const gguf_file *g, const char *key, hr_str *out) {
  const gguf_kv *kv = kv_get(g, key);
  if (!kv) return HR_ENOTFOUND;
  if (kv->type != GGUF_TYPE_STRING) return HR_EFORMAT;
  *out = kv->str;
  return 0;
}

int gguf_get_arr(const gguf_file *g, const char *key, const gguf_arr **out) {
  const gguf_kv *kv = kv_get(g, key);
  if (!kv) return HR_ENOTFOUND;
  if (kv->type != GGUF_TYPE_ARRAY) return HR_EFORMAT;
  *out = kv->arr;
  return 0;
}

int gguf_arr_get_i64(const gguf_arr *a, uint64_t i, int64_t *out) {
  if (i >= a->n || !a->data) return HR_EFORMAT;
  return int_at(a->type, a->data + i * type_size(a->type), out);
}

int gguf_arr_get_f32(const gguf_arr *a, uint64_t i, float *out) {
  if (i >= a->n || !a->data) return HR_EFORMAT;
  double v;
  if (float_at(a->type, a->data + i * type_size(a->type), &v)) return HR_EFORMAT;
  *out = (float)v;
  return 0;
}

hr_str gguf_arr_get_str(const gguf_arr *a, uint64_t i) {
  if (i >= a->n || !a->strs) return (hr_str){"", 0};
  return a->strs[i];
}

/* ---- tensors ----------------------------------------------------------- */

size_t gguf_tensor_count(const gguf_file *g) { return g->n_tensors; }

const gguf_tensor *gguf_tensor_at(const gguf_file *g, size_t i) {
  return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name) {
  int64_t i = table_find(g, g->tensor_slots, g->tensor_cap, tensor_name_at, name, strlen(name),
                         NULL);
  return i < 0 ? NULL : &g->tensors[i];
}
