/* json — hearth's JSON: a strict RFC 8259 reader into an arena-owned tree,
 * a writer into an hr_buf, and schema validation of a tree into a typed C
 * struct that names the first bad field by its path.
 *
 * Ownership: every node and string json_read makes belongs to the arena it
 * was given; the input text is not referenced after json_read returns. */
#ifndef HEARTH_JSON_H
#define HEARTH_JSON_H

#include "../base/base.h"

#include <sys/types.h>

/* ---- the tree ---------------------------------------------------------- */

typedef enum {
  JSON_NULL,
  JSON_FALSE,
  JSON_TRUE,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT,
} json_type;

typedef struct json_value json_value;
typedef struct json_member json_member;

struct json_value {
  json_type type;
  union {
    struct {
      const char *ptr; /* decoded UTF-8, NUL-terminated (may hold NULs) */
      size_t len;
    } str;
    struct {
      double d;        /* the value as a double */
      int64_t i;       /* exact value when is_int */
      bool is_int;     /* no fraction, no exponent, fits int64 */
      const char *raw; /* the number's text as written, NUL-terminated */
      size_t raw_len;
    } num;
    struct {
      json_value **items;
      size_t n;
    } arr;
    struct {
      json_member *members; /* in document order */
      size_t n;
    } obj;
  } u;
};

struct json_member {
  hr_str key; /* decoded, NUL-terminated */
  json_value *value;
};

typedef struct {
  size_t max_depth; /* arrays+objects nesting; 0 means the default, 128 */
} json_read_opts;

typedef struct {
  size_t offset;     /* byte offset of the error in the input (0-based) */
  size_t line, col;  /* 1-based; col counts bytes from the line's start */
  char message[128]; /* what and where, ready for a client:
                        "invalid UTF-8 at byte 12 (line 1, column 13)",
                        "trailing comma before '}' at byte 9 (line 1, column 10)" */
} json_error;

/* Parses text[0..len) as one JSON value (surrounding white space allowed).
 * Strict: no trailing commas, comments, single quotes, leading zeros, bad
 * escapes, control characters in strings, invalid UTF-8 or lone surrogates;
 * nesting deeper than max_depth fails with HR_ERANGE. Duplicate object keys
 * are kept in order (json_get returns the last, as JavaScript does).
 * A byte order mark is rejected. Numbers too large for a double read as
 * +-inf in .d (their .raw is kept). err may be NULL.
 * Returns 0 and *out, or HR_EINVAL/HR_ERANGE/HR_ENOMEM with err filled. */
int json_read(hr_arena *a, const char *text, size_t len, const json_read_opts *opts,
              json_value **out, json_error *err);

/* The member value for key in an object, or NULL (also when v is not an
 * object). */
const json_value *json_get(const json_value *v, const char *key);
const char *json_type_name(json_type t); /* "string", "object", ... */

/* ---- the writer -------------------------------------------------------- */

/* Appends JSON to an hr_buf. Commas and colons are placed by the writer;
 * the caller only nests calls correctly. Errors (out of memory, nesting
 * past 64 levels: HR_ERANGE, an unbalanced end: HR_EINVAL) are sticky and
 * reported by json_w_finish. Strings are escaped as RFC 8259 asks ('"',
 * '\\', controls as \n-style or \u00XX); valid UTF-8 is kept as is and
 * any byte of invalid UTF-8 becomes U+FFFD, so the output is always valid. */
typedef struct {
  hr_buf *out;
  int err;
  uint32_t depth;
  uint64_t need_comma; /* bit per depth level; depth limited to 64 */
  bool after_key;
} json_writer;

void json_w_init(json_writer *w, hr_buf *out);
void json_w_obj_begin(json_writer *w);
void json_w_obj_end(json_writer *w);
void json_w_arr_begin(json_writer *w);
void json_w_arr_end(json_writer *w);
void json_w_key(json_writer *w, const char *key);
void json_w_str(json_writer *w, const char *s);           /* NUL-terminated */
void json_w_strn(json_writer *w, const char *s, size_t n); /* escapes as RFC 8259 */
void json_w_int(json_writer *w, int64_t v);
void json_w_uint(json_writer *w, uint64_t v);
void json_w_double(json_writer *w, double v); /* shortest round-trip; NaN/Inf as null */
void json_w_float(json_writer *w, float v);   /* shortest that reads back as the float */
/* An array of n floats written as json_w_float would, in one reservation. */
void json_w_floats(json_writer *w, const float *v, size_t n);
void json_w_bool(json_writer *w, bool v);
void json_w_null(json_writer *w);
void json_w_raw(json_writer *w, const char *json, size_t n); /* already valid JSON */
/* A whole tree (numbers as their raw text); any depth up to 1024, not
 * limited by the writer's 64 levels. */
void json_w_value(json_writer *w, const json_value *v);
/* 0, or the first error; HR_EINVAL if a container or key is left open. */
int json_w_finish(json_writer *w);

/* Appends s escaped as a JSON string body (no quotes) to b. */
int json_escape_append(hr_buf *b, const char *s, size_t n);

/* ---- schemas ----------------------------------------------------------- */

/* A schema describes a JSON value and where its parts land in a C struct.
 * json_validate walks the tree and the schema together, fills the struct
 * (strings and arrays point into the arena), and on the first mismatch stops
 * with the field's path, e.g. "messages[2].content", and a message, e.g.
 * "expected a string". Unknown object members are ignored unless the object
 * schema says strict.
 *
 * Messages: "expected a string" / "an integer" / "a number" / "a boolean" /
 * "an object" / "an array" (a one-of lists its variants: "expected a string
 * or an array"); "must be at least 0", "must be at most 2"; "is required"
 * (the path names the missing field); "must be one of: \"auto\", \"none\"";
 * "unknown field"; "must not be empty", "must have at most 4 items";
 * "must be at most N bytes long"; "is out of range" (an integer past int64).
 * Paths: fields joined by '.', indexes in [], odd keys as ["a.b"].
 *
 * JS_INT accepts any integral number (2.0 and 1e3 too, as JavaScript does).
 * JSON null for a field whose schema is nullable is the same as absent. */

typedef enum {
  JS_ANY,     /* any value; stores const json_value * (checked against
                 .shape first when set) */
  JS_STRING,  /* stores hr_str */
  JS_INT,     /* stores int64_t; must be an integral number */
  JS_NUMBER,  /* stores double */
  JS_BOOL,    /* stores bool */
  JS_OBJECT,  /* stores a struct laid out by .fields, in place */
  JS_ARRAY,   /* stores json_array_slot: items of .items, each item_size bytes */
  JS_ONE_OF,  /* one of .variants, chosen by the value's JSON type (below) */
  JS_MAP,     /* object with arbitrary keys, values per .items; stores json_map_slot */
} json_schema_kind;

/* JS_ONE_OF, how the variant is chosen: the first variant whose kind takes
 * the value's JSON type (JS_INT and JS_NUMBER take any number); among array
 * variants, the first whose items take the first item too, recursively, so
 * [1,2] picks "array of integers" over an earlier "array of strings" and []
 * picks the first array variant. If none matches that deeply, the first of
 * the right type is validated (and names the bad item). No variant of the
 * value's type: "expected a string or an array".
 *
 * Where it lands: the value is stored at the slot itself (offset 0), in the
 * chosen variant's own layout, so the slot is a union of the variants; the
 * int index of the chosen variant goes to slot + variant_offset. A variant
 * index of 0 and "absent" look alike: use the field's present_offset.
 * json_one_of_slot below fits any variants but JS_OBJECT ones. */

typedef struct json_schema json_schema;
typedef struct json_field json_field;

/* Checks applied after the kind matched; return NULL if fine or a message. */
typedef const char *(*json_check_fn)(const json_value *v, void *slot);

struct json_schema {
  json_schema_kind kind;
  /* JS_OBJECT */
  const json_field *fields;
  size_t n_fields;
  bool strict;           /* unknown members are an error */
  /* JS_ARRAY and JS_MAP */
  const json_schema *items;
  size_t item_size;      /* bytes of one stored item */
  size_t min_items, max_items; /* max 0 means no limit */
  bool single_as_array;  /* JS_ARRAY: a lone value of the items' type is an
                            array of one ("stop": "x" as ["x"]) */
  /* JS_ONE_OF */
  const json_schema *const *variants;
  size_t n_variants;
  size_t variant_offset; /* of the int receiving the chosen variant's index,
                            relative to the slot; must not overlap the value */
  /* JS_STRING */
  const char *const *enum_values; /* NULL-terminated list, or NULL */
  size_t max_len;                 /* bytes; 0 means no limit */
  /* JS_INT and JS_NUMBER */
  bool has_min, has_max;
  double min, max;
  /* JS_ANY: the value must also validate against shape (into shape_size
   * bytes of scratch from the arena, then dropped), so a value kept as JSON
   * for later still gets its bad field named by path */
  const json_schema *shape;
  size_t shape_size;
  /* extra check, or NULL */
  json_check_fn check;
  /* accept JSON null as "absent" (the slot keeps its zero value) */
  bool nullable;
};

struct json_field {
  const char *name;
  const json_schema *schema;
  size_t offset;         /* of the slot in the parent struct */
  bool required;
  ssize_t present_offset; /* offset of a bool set when present, or -1 */
};

typedef struct {
  void *items; /* arena-allocated, n * item_size bytes */
  size_t n;
} json_array_slot;

typedef struct {
  hr_str *keys;
  void *values; /* n * item_size bytes */
  size_t n;
} json_map_slot;

/* A slot for a JS_ONE_OF of scalar, array, map or any variants; use
 * JSON_ONE_OF_VARIANT as the schema's variant_offset. */
typedef struct {
  union {
    hr_str str;
    int64_t i;
    double d;
    bool b;
    json_array_slot arr;
    json_map_slot map;
    const json_value *any;
  } u;
  int variant; /* index into .variants of the match */
} json_one_of_slot;
#define JSON_ONE_OF_VARIANT offsetof(json_one_of_slot, variant)

typedef struct {
  char path[256];    /* "messages[2].content"; "" for the root */
  char message[192]; /* "expected a string" */
} json_validate_error;

/* Validates v against s and fills out (a zeroed struct of the schema's
 * layout). 0, or HR_EINVAL with err filled, or HR_ENOMEM. On failure out
 * may be partly filled. A schema's check runs after its value is stored
 * (slot is where it went) and may return a message to fail with. */
int json_validate(hr_arena *a, const json_schema *s, const json_value *v, void *out,
                  json_validate_error *err);

#endif
