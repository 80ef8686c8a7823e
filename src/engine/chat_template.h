/* chat_template — renders a model's chat template (a Jinja template shipped
 * in the model's metadata) into the prompt text, the way Hugging Face's
 * apply_chat_template does with Jinja2: trim_blocks and lstrip_blocks on,
 * break/continue, a tojson that keeps non-ASCII text, raise_exception(msg)
 * and strftime_now(fmt).
 *
 * The interpreter implements the subset of Jinja that real chat templates use
 * (statements if/for/set/macro/call/filter/with/break/continue/raw, the
 * expression language with Python's value semantics, the common filters,
 * tests and str/dict/list methods). Templates come from untrusted model files:
 * compiling and rendering never crash, every loop, recursion, allocation and
 * the output size are bounded, and nothing does I/O.
 *
 * Ownership: a chat_template owns its syntax tree (one malloc'd arena) and is
 * read-only after chat_template_compile, so one compiled template may be
 * rendered by many threads at once. A render allocates its values from the
 * hr_arena the caller passes; values made by jinja_from_json and the jinja_*
 * builders belong to the arena they were given. */
#ifndef HEARTH_CHAT_TEMPLATE_H
#define HEARTH_CHAT_TEMPLATE_H

#include "../base/base.h"
#include "../json/json.h"

typedef struct chat_template chat_template;
typedef struct jinja_value jinja_value;

/* Compiles template text. Returns 0 and *out, or HR_EFORMAT with err holding
 * "line N: what went wrong" (err may be NULL), or HR_ERANGE (nesting or size
 * beyond limits), or HR_ENOMEM. */
int chat_template_compile(const char *src, size_t len, chat_template **out, char *err,
                          size_t err_len);
void chat_template_free(chat_template *t);

/* Limits of one render; a zero field means the default in brackets. */
typedef struct {
  size_t output_max;  /* bytes of rendered text [4 MiB] */
  size_t memory_max;  /* arena bytes the render may take [64 MiB] */
  uint64_t steps_max; /* evaluation steps: nodes, loop turns, items [20 M] */
  int depth_max;      /* nested macro calls [64] */
  int64_t now_s;      /* Unix seconds for strftime_now; 0 = the wall clock */
} chat_template_limits;

/* Renders t with the variables of context (a dict from jinja_from_json or
 * jinja_dict_new; NULL means none), appending the prompt to out. Returns 0,
 * or on failure leaves out as it was and returns:
 *   HR_EINVAL  the template called raise_exception(msg); err is msg exactly
 *              (the conversation does not fit the model, e.g. roles that do
 *              not alternate) — a client error;
 *   HR_EFORMAT any other template failure (undefined attribute access, a type
 *              error, an unknown filter); err is "line N: what";
 *   HR_ERANGE  a limit was reached (steps, depth, output, memory);
 *   HR_ENOMEM  out of memory.
 * limits may be NULL for the defaults. Thread-safe for a shared t. */
int chat_template_render(const chat_template *t, hr_arena *arena, const jinja_value *context,
                         const chat_template_limits *limits, hr_buf *out, char *err,
                         size_t err_len);

/* ---- context values ------------------------------------------------------ */

/* The JSON tree as template values: objects become dicts (document order kept,
 * the last of duplicate keys wins), arrays lists, integers ints, other numbers
 * floats. NULL when out of memory. */
jinja_value *jinja_from_json(hr_arena *a, const json_value *v);

/* Builders for contexts assembled in C. Strings are copied into the arena. */
jinja_value *jinja_dict_new(hr_arena *a);
/* Sets key (NUL-terminated) in a dict made by jinja_dict_new/jinja_from_json:
 * 0 or HR_ENOMEM/HR_EINVAL (not a dict). */
int jinja_dict_set(hr_arena *a, jinja_value *dict, const char *key, const jinja_value *v);
jinja_value *jinja_string_new(hr_arena *a, const char *s, size_t n);
jinja_value *jinja_bool_new(hr_arena *a, bool b);
jinja_value *jinja_int_new(hr_arena *a, int64_t i);

/* `hearth template [--now UNIX_SECONDS] FILE.jinja CASE.json`: renders FILE
 * with the JSON object in CASE as its variables and prints the prompt to
 * stdout (no newline added). argv[0] is the subcommand name. Returns 0, or 1
 * with the template's message on stderr, or 2 on a usage or file error. */
int chat_template_cli(int argc, char **argv);

#endif
