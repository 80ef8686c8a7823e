/* json_constraint.h — constrained decoding for response_format: an
 * automaton over the bytes a model writes that accepts exactly the JSON
 * texts a schema allows, so the sampler can refuse every token that would
 * leave them (OpenAI's "json_object" and "json_schema" modes).
 *
 * The schema language is the subset of JSON Schema that can be checked byte
 * by byte as the text grows: type (one or a list), properties, required,
 * additionalProperties (false, true or a schema; absent means true),
 * items, minItems, maxItems, minLength, maxLength, format (date, time,
 * date-time, uuid: json_format.h; email), pattern (json_regex.h), minimum
 * and maximum (whole numbers;
 * exclusiveMinimum/exclusiveMaximum on integers), enum,
 * const, anyOf (alternatives may overlap: two object shapes, a string or a
 * date string; each is followed while the text fits it, and a schema that
 * could need more than JC_READINGS_MAX readings at once, or recurses through
 * an alternative that begins like another, is refused), oneOf whose
 * alternatives begin with different characters (an object or null, a
 * string or a number: exactly one can match), allOf of one schema, $ref to "#",
 * "#/$defs/NAME" or "#/definitions/NAME", and the annotations (title,
 * description, default, examples, $schema, $id, $comment). Any other
 * keyword (multipleOf, uniqueItems, format ipv4...) is refused when the schema is
 * compiled, with its path: output that could break a constraint the
 * automaton does not check would be worse than a clear 400.
 *
 * The root must be an object (as OpenAI requires). Keys may come in any
 * order, each at most once (keys outside the schema's properties are told
 * apart by a 64-bit hash of their text; an object may hold JC_KEYS_MAX of
 * them with its enclosing objects). Strings and keys accept JSON's escapes except
 * \u escapes of surrogates (the characters go in as UTF-8 instead), and
 * only valid UTF-8. Between tokens the white space may be one space, or a
 * new line and an indent of at most JC_WS_MAX spaces or tabs, so a model
 * cannot spend its budget on blanks; nothing may follow the root's closing
 * brace.
 *
 * Ownership: jc_compile allocates the schema (jc_free); a jc_state is a
 * plain value that refers to its schema: copy it (jc_copy) to try bytes
 * without committing them. A schema is immutable and may serve many states
 * on many threads at once. */
#ifndef HEARTH_ENGINE_JSON_CONSTRAINT_H
#define HEARTH_ENGINE_JSON_CONSTRAINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../json/json.h"
#include "json_format.h"

#define JC_DEPTH_MAX 32 /* arrays, objects and their values, nested */
#define JC_WS_MAX 20    /* indent after a new line between tokens */
#define JC_PROPS_MAX 64 /* properties of one object schema, values of one enum */
#define JC_KEYS_MAX 256 /* keys outside the schema's properties, in the open objects */
#define JC_READINGS_MAX 8 /* overlapping anyOf alternatives followed at once */

typedef struct jc_schema jc_schema;
typedef struct jc_node jc_node;

typedef struct {
  const jc_node *node;
  uint8_t kind;     /* what is being read (json_constraint.c) */
  uint8_t phase;
  uint8_t esc;      /* string: escape progress */
  uint8_t utf8;     /* string: continuation bytes still due */
  uint8_t lead;     /* string: the character's lead byte, or the first hex digit */
  uint8_t is_key;   /* string: the key of the object frame below */
  uint16_t pos;     /* literal: bytes matched */
  uint32_t count;   /* array: items; string: characters; number: bytes */
  int32_t prop;     /* object: the property whose value comes next (-1: additional) */
  uint64_t seen;    /* object: properties present */
  uint64_t cand;    /* object key or literal: candidates still matching */
  uint16_t key_pos; /* object: bytes of the current key matched */
  uint16_t keys_from; /* object: where its other keys begin in keys[] */
  uint64_t key_hash;  /* object: hash of the current key's bytes */
  uint64_t value;     /* number: the integer part so far (saturates at 10^18);
                         string with a pattern: the expression's live positions;
                         a call's root object: the function its name chose */
  uint8_t neg, frac_nz; /* number: a minus sign; a nonzero fraction digit */
  jf_state fmt;       /* string with a format: where in it */
} jc_frame;

/* One reading of the output: the stack of values it is inside. */
typedef struct {
  int depth;  /* frames in use */
  int ws;     /* white space so far between two tokens: 0 none, -1 one space, 1+n a new line and n */
  bool done;  /* the root value is complete */
  int pick;   /* a reading forked at an anyOf: which of the fitting alternatives it takes */
  int n_keys;
  jc_frame f[JC_DEPTH_MAX];
  uint64_t keys[JC_KEYS_MAX]; /* hashes of the open objects' other keys, so none comes twice */
} jc_stack;

/* The readings the output so far still has: one, unless an anyOf's
 * alternatives overlap (two objects, two strings...), when each that fits
 * is followed until the text rules it out (up to JC_READINGS_MAX at once;
 * identical readings merge). */
typedef struct {
  int n;
  bool done; /* the root value is complete */
  jc_stack s[JC_READINGS_MAX];
} jc_state;

/* Compiles a JSON Schema (NULL: any JSON object, the "json_object" mode).
 * HR_EINVAL with a message naming the offending place ("properties.age:
 * 'multipleOf' is not supported") in err; HR_ENOMEM. */
int jc_compile(const json_value *schema, jc_schema **out, char *err, size_t err_len);
/* The automaton of a forced call of one of n functions: {"name": one of
 * the names, "arguments": JSON its params allow (NULL: any object)}, the
 * name first (it picks the arguments' automaton). HR_EINVAL with *bad the
 * function whose parameters cannot be enforced (messages name places from
 * "parameters"), or -1 (two functions of one name). */
typedef struct {
  const char *name;
  size_t name_len;
  const json_value *params;
} jc_function;
int jc_compile_calls(const jc_function *fns, int n_fns, jc_schema **out, int *bad, char *err,
                     size_t err_len);
void jc_free(jc_schema *s);
/* Another holder of s (several sequences under one constraint): each
 * holder calls jc_free once; the last one frees it. Returns s. */
jc_schema *jc_share(jc_schema *s);

/* The state before the first byte. */
void jc_init(const jc_schema *s, jc_state *st);
/* Feeds n bytes: true when every one is allowed (st advanced), false when
 * one is not (st is then unspecified: feed a copy to try). */
bool jc_feed(jc_state *st, const char *p, size_t n);
/* Whether the root value is complete (nothing more may follow). */
static inline bool jc_complete(const jc_state *st) { return st->done; }
/* dst = src, copying only the frames in use. */
void jc_copy(jc_state *dst, const jc_state *src);

#endif
