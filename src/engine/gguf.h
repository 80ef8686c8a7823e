/* gguf.h — read-only access to a GGUF file (versions 2 and 3).
 *
 * gguf_open maps the file read-only and checks all of it before returning:
 * every count, length, type and dimension in the header, the metadata and
 * the tensor infos, the alignment, and that every tensor's data lies inside
 * the file without overlapping another's. A file that passes can be read
 * through this API without further bounds checks; a file that fails gives
 * HR_EFORMAT and a message naming the first thing wrong.
 *
 * Ownership: a gguf_file owns the mapping (or borrows the caller's memory for
 * gguf_open_memory) and every pointer handed out by the getters; all of them
 * stay valid until gguf_close. A gguf_file is immutable after open and may be
 * read from any number of threads at once.
 *
 * Values in the file are little-endian and may sit at any alignment: read
 * array elements through gguf_arr_get_* (or memcpy from gguf_arr.data). */
#ifndef HEARTH_ENGINE_GGUF_H
#define HEARTH_ENGINE_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/base.h"

typedef enum {
  GGUF_TYPE_UINT8 = 0,
  GGUF_TYPE_INT8 = 1,
  GGUF_TYPE_UINT16 = 2,
  GGUF_TYPE_INT16 = 3,
  GGUF_TYPE_UINT32 = 4,
  GGUF_TYPE_INT32 = 5,
  GGUF_TYPE_FLOAT32 = 6,
  GGUF_TYPE_BOOL = 7,
  GGUF_TYPE_STRING = 8,
  GGUF_TYPE_ARRAY = 9,
  GGUF_TYPE_UINT64 = 10,
  GGUF_TYPE_INT64 = 11,
  GGUF_TYPE_FLOAT64 = 12,
  GGUF_TYPE_COUNT_ /* bound, not a type */
} gguf_type;

/* Limits a file must respect (beyond fitting in itself). */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4
#define GGUF_MAX_KEY_LEN 65535       /* bytes in a metadata key */
#define GGUF_MAX_TENSOR_NAME_LEN 255 /* llama.cpp itself allows 63 */
#define GGUF_MAX_ARRAY_DEPTH 8       /* arrays of arrays of ... */
#define GGUF_MAX_ALIGNMENT (1u << 30)

typedef struct gguf_file gguf_file;
typedef struct gguf_arr gguf_arr;

/* An array value. Elements of a fixed-size type are `n` packed little-endian
 * values at `data` (unaligned); strings are views in `strs`, nested arrays
 * are in `arrs`. The unused pointers are NULL. */
struct gguf_arr {
  gguf_type type; /* element type */
  uint64_t n;     /* element count */
  const uint8_t *data;
  const hr_str *strs;
  const gguf_arr *arrs;
};

/* One tensor. ne[] beyond n_dims are 1. data points into the mapping. */
typedef struct {
  const char *name; /* NUL-terminated */
  uint32_t type;    /* a tensor_type (see tensor_types.h), known to be valid */
  uint32_t n_dims;
  int64_t ne[GGUF_MAX_DIMS];
  uint64_t offset; /* from the start of the data section */
  const void *data;
  size_t n_bytes;
} gguf_tensor;

/* Opens and checks path. On failure returns a negative hr_err (HR_EIO when
 * the file cannot be read, HR_EFORMAT when it is malformed, HR_ENOMEM) and
 * writes a message into err (if err_len > 0). */
int gguf_open(const char *path, gguf_file **out, char *err, size_t err_len);
/* The same over bytes the caller keeps alive until gguf_close. */
int gguf_open_memory(const void *data, size_t len, gguf_file **out, char *err,
                     size_t err_len);
void gguf_close(gguf_file *g);

uint32_t gguf_version(const gguf_file *g);
uint32_t gguf_alignment(const gguf_file *g);
size_t gguf_data_offset(const gguf_file *g); /* start of tensor data */
size_t gguf_size(const gguf_file *g);        /* bytes in the file */
const void *gguf_base(const gguf_file *g);   /* the first byte of the file */
/* Whether the bytes are a read-only file mapping of ours (whose pages may be
 * dropped with MADV_DONTNEED and fault back in from the file). */
bool gguf_is_mapped(const gguf_file *g);

/* ---- metadata ---------------------------------------------------------- */

size_t gguf_kv_count(const gguf_file *g);
/* Index of key, or -1. A hash lookup. */
int64_t gguf_find_key(const gguf_file *g, const char *key);
const char *gguf_kv_key(const gguf_file *g, size_t i);
gguf_type gguf_kv_type(const gguf_file *g, size_t i);
/* A short name for a value type ("u32", "string", ...), "?" if unknown. */
const char *gguf_type_name(gguf_type t);

/* Typed getters by key. Each returns 0, HR_ENOTFOUND when the key is absent,
 * or HR_EFORMAT when the value has an unfitting type or does not fit.
 * Integer getters accept any integer type (and bool) whose value fits, as
 * converters differ in the widths they write; gguf_get_f32 accepts f32/f64. */
int gguf_get_u32(const gguf_file *g, const char *key, uint32_t *out);
int gguf_get_i32(const gguf_file *g, const char *key, int32_t *out);
int gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out);
int gguf_get_i64(const gguf_file *g, const char *key, int64_t *out);
int gguf_get_f32(const gguf_file *g, const char *key, float *out);
int gguf_get_bool(const gguf_file *g, const char *key, bool *out);
/* A string value; out->ptr is NUL-terminated (the string itself may hold
 * NUL bytes: use out->len). */
int gguf_get_str(const gguf_file *g, const char *key, hr_str *out);
int gguf_get_arr(const gguf_file *g, const char *key, const gguf_arr **out);

/* The same getters by index (i < gguf_kv_count). */
int gguf_kv_get_i64(const gguf_file *g, size_t i, int64_t *out);
int gguf_kv_get_f64(const gguf_file *g, size_t i, double *out);
int gguf_kv_get_str(const gguf_file *g, size_t i, hr_str *out);
int gguf_kv_get_arr(const gguf_file *g, size_t i, const gguf_arr **out);

/* Array elements, i < a->n. Integer reads accept any integer element type
 * (and bool); float reads accept f32/f64 and integers. HR_EFORMAT otherwise
 * or when i is out of range. gguf_arr_get_str returns an empty view for a
 * non-string array. */
int gguf_arr_get_i64(const gguf_arr *a, uint64_t i, int64_t *out);
int gguf_arr_get_f32(const gguf_arr *a, uint64_t i, float *out);
hr_str gguf_arr_get_str(const gguf_arr *a, uint64_t i);

/* ---- tensors ----------------------------------------------------------- */

size_t gguf_tensor_count(const gguf_file *g);
const gguf_tensor *gguf_tensor_at(const gguf_file *g, size_t i);
/* The tensor named name, or NULL. A hash lookup. */
const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name);

#endif
