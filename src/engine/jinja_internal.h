/* jinja_internal — the pieces of the chat-template interpreter shared by its
 * files: tokens (jinja_lex.c), the syntax tree (jinja_parse.c), values
 * (jinja_value.c), the evaluator (jinja_eval.c), the built-in filters,
 * tests, globals and method dispatch (jinja_builtins.c) and Python's string
 * methods (jinja_str.c). Not for use outside src/engine/jinja_*.c.
 *
 * Invariants: syntax-tree nodes and constants live in the template's arena
 * and are never written after compile. Values made during a render live in
 * the render's arena and are immutable once built, except a namespace's dict
 * (`set ns.x = ...`) and a loop's cursor; so values are shared, never copied.
 * Strings are UTF-8 and NUL-terminated; lengths are in bytes, Python-style
 * indexes and lengths count code points. */
#ifndef HEARTH_JINJA_INTERNAL_H
#define HEARTH_JINJA_INTERNAL_H

#include "chat_template.h"

/* ---- tokens ---------------------------------------------------------------- */

typedef enum {
  TK_EOF,
  TK_DATA,        /* template text, already whitespace-controlled */
  TK_VAR_BEGIN,   /* {{ */
  TK_VAR_END,     /* }} */
  TK_BLOCK_BEGIN, /* {% */
  TK_BLOCK_END,   /* %} */
  TK_NAME,
  TK_STRING, /* decoded value in ptr/len */
  TK_INT,
  TK_FLOAT,
  TK_OP,
} jinja_tok_kind;

typedef enum {
  OP_NONE,
  OP_ADD, OP_SUB, OP_DIV, OP_FLOORDIV, OP_MUL, OP_MOD, OP_POW, OP_TILDE,
  OP_LBRACKET, OP_RBRACKET, OP_LPAREN, OP_RPAREN, OP_LBRACE, OP_RBRACE,
  OP_EQ, OP_NE, OP_GT, OP_GTEQ, OP_LT, OP_LTEQ, OP_ASSIGN, OP_DOT, OP_COLON,
  OP_PIPE, OP_COMMA, OP_SEMICOLON,
  /* compare-only operators made by the parser */
  OP_IN, OP_NOTIN,
} jinja_op;

typedef struct {
  uint8_t kind; /* jinja_tok_kind */
  uint8_t op;   /* jinja_op for TK_OP */
  uint32_t line;
  const char *ptr; /* DATA/NAME: text; STRING: decoded value (NUL-terminated) */
  size_t len;
  int64_t i;
  double f;
} jinja_token;

typedef struct {
  jinja_token *v; /* malloc'd; freed by the caller */
  size_t n, cap;
} jinja_tokens;

/* Tokenizes src (newlines normalized, Jinja2's trailing-newline rule, trim and
 * lstrip blocks). Text and decoded strings are placed in a (the template's
 * arena). Returns 0, or HR_EFORMAT/HR_ENOMEM with err set. */
int jinja_lex(hr_arena *a, const char *src, size_t len, jinja_tokens *out, char *err,
              size_t err_len);

/* ---- syntax tree ------------------------------------------------------------- */

typedef enum {
  /* expressions */
  N_CONST, N_NAME, N_GETATTR, N_GETITEM, N_SLICE, N_CALL, N_FILTER, N_TEST,
  N_BINOP, N_NEG, N_POS, N_NOT, N_AND, N_OR, N_COMPARE, N_CONDEXPR, N_CONCAT,
  N_LIST, N_TUPLE, N_DICT, N_NSREF,
  /* statements */
  N_TEXT, N_OUTPUT, N_IF, N_FOR, N_SET, N_SETBLOCK, N_MACRO, N_CALLBLOCK,
  N_FILTERBLOCK, N_WITH, N_BREAK, N_CONTINUE, N_SCOPE,
} jinja_node_kind;

typedef struct jinja_node jinja_node;
typedef struct {
  jinja_node **v;
  size_t n;
} jinja_nodes;

struct jinja_node {
  uint8_t kind;  /* jinja_node_kind */
  uint8_t op;    /* N_BINOP: jinja_op */
  uint8_t flags; /* N_TEST: negated; N_FOR: recursive */
  uint32_t line;
  hr_str name;   /* NAME, GETATTR attribute, FILTER/TEST name, MACRO name,
                    NSREF variable; TEXT: the text */
  hr_str attr;   /* NSREF attribute */
  jinja_node *a, *b, *c, *d; /* operands; see jinja_parse.c for each kind */
  jinja_nodes items;         /* list/tuple items, dict keys+values alternating,
                                call/filter/test positional args, compare
                                operands, macro parameter names, with/for
                                targets */
  jinja_nodes kw;            /* keyword args (N_CONST name in ->name, value in ->a);
                                macro defaults (NULL where none) */
  uint8_t *cmp_ops;          /* N_COMPARE: one jinja_op per operand */
  jinja_nodes body, else_body;
  const jinja_value *value;  /* N_CONST */
};

/* Parses tokens into the list of top-level statements. */
int jinja_parse(hr_arena *a, const jinja_tokens *toks, jinja_nodes *out, char *err,
                size_t err_len);

struct chat_template {
  hr_arena *arena;
  jinja_nodes body;
};

/* ---- values ------------------------------------------------------------------- */

typedef enum {
  JV_UNDEFINED, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_LIST, JV_DICT,
  JV_NAMESPACE, JV_MACRO, JV_FUNC, JV_LOOP,
} jinja_v_type;

enum { JV_F_SAFE = 1, JV_F_TUPLE = 2 };

typedef struct jinja_dict jinja_dict;
typedef struct jinja_scope jinja_scope;
typedef struct jinja_loop jinja_loop;

typedef struct {
  const jinja_value *key, *val;
} jinja_entry;

struct jinja_dict {
  jinja_entry *e;
  uint32_t n, cap;
  uint32_t *idx; /* open-addressing index into e (+1; 0 = empty), or NULL */
  uint32_t idx_cap;
};

struct jinja_value {
  uint8_t type;  /* jinja_v_type */
  uint8_t flags; /* JV_F_* */
  uint16_t fn;   /* JV_FUNC: builtin id */
  union {
    bool b;
    int64_t i;
    double f;
    struct {
      const char *ptr;
      size_t len;
    } s;
    struct {
      const jinja_value **items;
      size_t n;
    } list;
    jinja_dict *dict; /* JV_DICT, JV_NAMESPACE */
    struct {
      const jinja_node *node;   /* N_MACRO or N_CALLBLOCK */
      jinja_scope *scope;       /* where it was defined */
      const jinja_value *caller; /* for a call block's macro call, or NULL */
    } macro;
    struct {
      const jinja_value *self; /* bound receiver, or NULL */
    } fn;
    jinja_loop *loop;
    struct {
      const char *name; /* what was missing, for error messages */
      size_t len;
      uint8_t owner; /* jinja_v_type of the object it was looked up in, or 0xff */
      bool is_index;
    } undef;
  } u;
};

struct jinja_loop {
  const jinja_value **items;
  size_t n, i;
  int depth0;
};

struct jinja_scope {
  jinja_scope *parent;
  jinja_dict vars;
};

/* ---- render state ----------------------------------------------------------------- */

typedef struct {
  const chat_template *t;
  hr_arena *a;
  hr_buf *out;
  const jinja_value *ctx; /* dict of the caller's variables, or NULL */
  jinja_scope *root;      /* top-level variables (set outside any block) */
  jinja_scope *scope;     /* innermost scope of the statement being run */
  int nest;               /* C recursion depth of eval/exec */
  uint64_t steps, steps_max;
  size_t out_max, mem_base, mem_max;
  int depth, depth_max;
  int64_t now_s;
  uint32_t line; /* line of the node being evaluated, for messages */
  int err_code;  /* first error, 0 while none */
  char *err;
  size_t err_len;
} jinja_render;

/* Records the first error (HR_EFORMAT etc.) as "line N: fmt..." and returns
 * it. raise_exception uses jinja_raise, which keeps the message verbatim. */
int jinja_fail(jinja_render *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int jinja_raise(jinja_render *r, const char *msg, size_t len);
/* Counts n steps; fails with HR_ERANGE past the limit. */
int jinja_step(jinja_render *r, uint64_t n);

/* Allocation during a render (memory limit checked); NULL after failing. */
void *jinja_alloc(jinja_render *r, size_t bytes);

extern const jinja_value jinja_undefined_v, jinja_none_v, jinja_true_v, jinja_false_v;
const jinja_value *jinja_v_bool(bool b);
const jinja_value *jinja_v_int(jinja_render *r, int64_t i);
const jinja_value *jinja_v_float(jinja_render *r, double f);
const jinja_value *jinja_v_str(jinja_render *r, const char *p, size_t n); /* copies */
const jinja_value *jinja_v_str_ref(jinja_render *r, const char *p, size_t n); /* no copy */
const jinja_value *jinja_v_undef(jinja_render *r, const char *name, size_t len, int owner,
                            bool is_index);
jinja_value *jinja_v_list(jinja_render *r, size_t n); /* n items, all NULL */
jinja_value *jinja_v_dict(jinja_render *r);
const jinja_value *jinja_v_func(jinja_render *r, int fn, const jinja_value *self);

/* Dicts. Keys are any hashable value; lookups follow Python equality. */
const jinja_value *jinja_dict_get(const jinja_dict *d, const jinja_value *key);
const jinja_value *jinja_dict_get_str(const jinja_dict *d, const char *k, size_t n);
/* 0, or HR_ENOMEM / HR_EFORMAT (unhashable key) via r. */
int jinja_dict_put(jinja_render *r, jinja_dict *d, const jinja_value *key,
                   const jinja_value *val);
/* The same without a render (building contexts): a is where memory comes from. */
int jinja_dict_put_a(hr_arena *a, jinja_dict *d, const jinja_value *key,
                     const jinja_value *val);

bool jinja_v_truthy(const jinja_value *v);
bool jinja_v_is_str(const jinja_value *v);
bool jinja_v_is_num(const jinja_value *v); /* int, float or bool */
double jinja_v_num(const jinja_value *v);
const char *jinja_v_type_name(const jinja_value *v); /* Python's: "str", "dict"... */
/* Python ==, recursive (depth-bounded). */
bool jinja_v_equal(const jinja_value *a, const jinja_value *b);
/* Python <: sets *lt; fails for unorderable types. */
int jinja_v_less(jinja_render *r, const jinja_value *a, const jinja_value *b, bool *lt);

/* Python str() / repr() / json.dumps() appended to r->out (limits checked). */
int jinja_write_str(jinja_render *r, const jinja_value *v);
int jinja_write_repr(jinja_render *r, const jinja_value *v, int depth);
typedef struct {
  const char *indent; /* NULL: single line */
  size_t indent_len;
  const char *item_sep, *key_sep;
  bool ensure_ascii, sort_keys;
} jinja_json_opts;
int jinja_write_json(jinja_render *r, const jinja_value *v, const jinja_json_opts *o,
                     int depth);
int jinja_out(jinja_render *r, const char *p, size_t n);
/* str(v) as a string value (v itself when already a string). */
const jinja_value *jinja_to_str(jinja_render *r, const jinja_value *v);
/* The text written to r->out since mark, as a new string value; out is cut
 * back to mark. */
const jinja_value *jinja_take_out(jinja_render *r, size_t mark);
void jinja_float_repr(double f, char buf[32]);

/* UTF-8 and Python text helpers. */
size_t jinja_utf8_dec(const char *p, const char *end, uint32_t *cp);
size_t jinja_utf8_enc(uint32_t cp, char out[4]);
size_t jinja_cp_count(const char *p, size_t n);
/* Byte offset of code point index i (clamped to n). */
size_t jinja_cp_offset(const char *p, size_t n, size_t i);
bool jinja_is_space(uint32_t cp); /* Python str.isspace */
size_t jinja_space_fwd(const char *p, const char *end);    /* bytes, or 0 */
size_t jinja_space_back(const char *start, const char *p); /* bytes before p, or 0 */

/* ---- evaluation and built-ins ------------------------------------------------------ */

/* Ids of built-in functions and bound methods (jinja_value.fn). */
typedef enum {
  B_NONE,
  /* str methods */
  M_STRIP, M_LSTRIP, M_RSTRIP, M_SPLIT, M_RSPLIT, M_SPLITLINES, M_STARTSWITH, M_ENDSWITH,
  M_UPPER, M_LOWER, M_TITLE, M_CAPITALIZE, M_SWAPCASE, M_CASEFOLD, M_REPLACE, M_FIND, M_RFIND,
  M_SINDEX, M_SCOUNT, M_JOIN, M_ISDIGIT, M_ISALPHA, M_ISALNUM, M_ISSPACE, M_ISLOWER, M_ISUPPER,
  M_FORMAT, M_CENTER, M_LJUST, M_RJUST, M_ZFILL, M_PARTITION, M_RPARTITION,
  /* dict methods */
  M_ITEMS, M_KEYS, M_VALUES, M_GET, M_COPY,
  /* list methods */
  M_LINDEX, M_LCOUNT,
  /* loop */
  M_CYCLE,
  /* globals */
  G_RANGE, G_NAMESPACE, G_DICT, G_RAISE, G_STRFTIME,
} builtin_id;

/* Small helpers shared by the built-ins (jinja_value.c). Each failing one has
 * recorded a type error naming what. */
const jinja_value *jinja_type_error(jinja_render *r, const char *what, const jinja_value *v);
const jinja_value *jinja_need_str(jinja_render *r, const jinja_value *v, const char *what);
bool jinja_get_int(const jinja_value *v, int64_t *out); /* int or bool */
/* Appends to a list being built (capacity in *cap); false after failing. */
bool jinja_list_push(jinja_render *r, jinja_value *l, size_t *cap, const jinja_value *item);

const jinja_value *jinja_eval(jinja_render *r, const jinja_node *n);
/* Evaluated call arguments. */
typedef struct {
  const jinja_value **pos;
  size_t n_pos;
  const hr_str *kw_names;
  const jinja_value **kw;
  size_t n_kw;
} jinja_args;
/* Positional i, else keyword name, else NULL. */
const jinja_value *jinja_arg(const jinja_args *a, size_t i, const char *name);
const jinja_value *jinja_call_value(jinja_render *r, const jinja_value *fn,
                                    const jinja_args *args);
const jinja_value *jinja_getattr(jinja_render *r, const jinja_value *obj, const char *name,
                                 size_t len);
const jinja_value *jinja_getitem(jinja_render *r, const jinja_value *obj,
                                 const jinja_value *key);
/* Iterable -> list of items (dict: keys; str: characters); NULL after failing. */
int jinja_iterate(jinja_render *r, const jinja_value *v, const jinja_value ***items,
                  size_t *n);

/* Built-ins (jinja_builtins.c). Each returns NULL after failing. */
const jinja_value *jinja_filter(jinja_render *r, const char *name, size_t len,
                                const jinja_value *in, const jinja_args *args);
/* Sets *res; returns 0 or the error. */
int jinja_test(jinja_render *r, const char *name, size_t len, const jinja_value *v,
               const jinja_args *args, bool *res);
bool jinja_filter_known(const char *name, size_t len);
bool jinja_test_known(const char *name, size_t len);
/* A global function (range, namespace, dict, raise_exception, strftime_now...)
 * or NULL when name is none. */
const jinja_value *jinja_global(jinja_render *r, const char *name, size_t len);
/* A method bound to self (str.strip, dict.items ...) or NULL when none. */
const jinja_value *jinja_method(jinja_render *r, const jinja_value *self, const char *name,
                                size_t len);
const jinja_value *jinja_call_builtin(jinja_render *r, const jinja_value *fn,
                                      const jinja_args *args);

/* Strings (jinja_str.c): Python's str methods, case mapping, strftime. */
enum { CASE_UPPER, CASE_LOWER, CASE_CAPITALIZE, CASE_TITLE, CASE_SWAP, CASE_JTITLE };
const jinja_value *jinja_case(jinja_render *r, const jinja_value *s, int mode);
const jinja_value *jinja_strip(jinja_render *r, const jinja_value *s, const jinja_value *chars,
                               bool left, bool right);
const jinja_value *jinja_split(jinja_render *r, const jinja_value *s, const jinja_value *sep,
                               const jinja_value *maxsplit, bool from_right);
const jinja_value *jinja_splitlines(jinja_render *r, const jinja_value *s, bool keepends);
const jinja_value *jinja_replace(jinja_render *r, const jinja_value *s, const jinja_value *old,
                                 const jinja_value *new, const jinja_value *count);
const jinja_value *jinja_affix(jinja_render *r, const jinja_value *s, const jinja_args *a,
                               bool ends); /* startswith / endswith */
const jinja_value *jinja_find(jinja_render *r, const jinja_value *s, const jinja_args *a,
                              bool rev, bool raise); /* find rfind index */
/* where: 0 center (CPython's rounding), <0 ljust, >0 rjust */
const jinja_value *jinja_pad(jinja_render *r, const jinja_value *s, int64_t width,
                             const jinja_value *fill, int where);
/* sep.join(seq); soft: str() each item (the join filter), else items must
 * be strings (str.join). */
const jinja_value *jinja_join(jinja_render *r, const jinja_value *sep, const jinja_value *seq,
                              const jinja_value *attribute, bool soft);
const jinja_value *jinja_str_format(jinja_render *r, const jinja_value *s, const jinja_args *a);
const jinja_value *jinja_percent_format(jinja_render *r, const jinja_value *s,
                                        const jinja_args *a);
const jinja_value *jinja_str_pred(jinja_render *r, const jinja_value *s, int id); /* M_IS* */
const jinja_value *jinja_partition(jinja_render *r, const jinja_value *s, const jinja_value *sep,
                                   bool rev);
const jinja_value *jinja_strftime(jinja_render *r, const jinja_value *fmt);
/* Length of a Python line break (str.splitlines) at p, or 0. */
size_t jinja_line_break(const char *p, const char *e);
bool jinja_cp_alpha(uint32_t c);
bool jinja_cp_digit(uint32_t c);

#endif
