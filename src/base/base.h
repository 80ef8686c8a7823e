/* base — the few things every hearth module leans on: the project-wide error
 * codes, arenas for request-scoped memory, growable byte buffers, string
 * slices, time and logging.
 *
 * Ownership: an hr_arena owns everything allocated from it and frees it all
 * at once; an hr_buf owns its bytes; an hr_str owns nothing (a view). */
#ifndef HEARTH_BASE_H
#define HEARTH_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors: 0 is success; a failing function returns one of these (negative). */
typedef enum {
  HR_OK = 0,
  HR_ENOMEM = -1,       /* allocation failed */
  HR_EINVAL = -2,       /* bad input (malformed bytes, bad argument value) */
  HR_ERANGE = -3,       /* too large, too deep, too many */
  HR_EIO = -4,          /* the OS said no (read, write, open) */
  HR_ENOTFOUND = -5,    /* no such thing */
  HR_EFORMAT = -6,      /* a file is malformed (GGUF, config) */
  HR_EUNSUPPORTED = -7, /* well-formed but not something we handle */
  HR_EAGAIN = -8,       /* need more input; call again */
  HR_ECLOSED = -9,      /* the peer or the queue is gone */
  HR_EBUSY = -10,       /* full: try later */
  HR_ESTORE = -11,      /* the database failed */
} hr_err;

/* A short, static description of an hr_err. */
const char *hr_strerror(int err);

#define HR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define HR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define HR_MAX(a, b) ((a) > (b) ? (a) : (b))
#define HR_UNUSED(x) ((void)(x))

/* ---- string slices ---------------------------------------------------- */

typedef struct {
  const char *ptr;
  size_t len;
} hr_str;

#define HR_STR(lit) ((hr_str){(lit), sizeof(lit) - 1})
static inline hr_str hr_str_make(const char *p, size_t n) { return (hr_str){p, n}; }
hr_str hr_str_cstr(const char *s);
bool hr_str_eq(hr_str a, hr_str b);
bool hr_str_eq_cstr(hr_str a, const char *s);
/* ASCII case-insensitive equality (HTTP header names, tokens). */
bool hr_str_ieq(hr_str a, hr_str b);

/* ---- arenas ------------------------------------------------------------ */

/* Bump allocator in linked blocks. Not thread-safe: one owner at a time. */
typedef struct hr_arena hr_arena;

/* A new arena whose blocks are at least block_bytes. NULL if out of memory. */
hr_arena *hr_arena_new(size_t block_bytes);
/* bytes from the arena, 16-byte aligned; NULL only when out of memory. */
void *hr_arena_alloc(hr_arena *a, size_t bytes);
/* 1 with *at the lowest index i whose string s[j] for some j < i equals
 * (entries with a NULL ptr take no part), 0 when all differ, or HR_ENOMEM;
 * by sorting (scratch in a), so tens of thousands of names cost little. */
int hr_str_first_repeat(hr_arena *a, const hr_str *s, size_t n, size_t *at);
void *hr_arena_calloc(hr_arena *a, size_t n, size_t size);
/* A NUL-terminated copy of s[0..n). */
char *hr_arena_strndup(hr_arena *a, const char *s, size_t n);
char *hr_arena_sprintf(hr_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees everything but the first block, which is kept for reuse. */
void hr_arena_reset(hr_arena *a);
void hr_arena_free(hr_arena *a);
/* Total bytes handed out since the last reset (for limits and tests). */
size_t hr_arena_used(const hr_arena *a);

/* ---- growable byte buffers -------------------------------------------- */

typedef struct {
  char *data; /* owned; NUL-terminated whenever len < cap */
  size_t len;
  size_t cap;
} hr_buf;

#define HR_BUF_INIT {NULL, 0, 0}
int hr_buf_reserve(hr_buf *b, size_t extra);
int hr_buf_append(hr_buf *b, const void *p, size_t n);
int hr_buf_append_str(hr_buf *b, const char *s);
int hr_buf_putc(hr_buf *b, char c);
int hr_buf_appendf(hr_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int hr_buf_vappendf(hr_buf *b, const char *fmt, va_list ap);
/* Drops the first n bytes, keeping the rest at the start. */
void hr_buf_consume(hr_buf *b, size_t n);
void hr_buf_clear(hr_buf *b);
void hr_buf_free(hr_buf *b);
/* A whole file, NUL-terminated (*len excludes the NUL); the caller frees
 * it. NULL when it cannot be opened or read, or memory runs out. For the
 * command-line tools; the server never reads files on its loops. */
char *hr_file_read(const char *path, size_t *len);

/* ---- time -------------------------------------------------------------- */

uint64_t hr_now_ns(void);      /* monotonic clock */
int64_t hr_wall_ms(void);      /* Unix time in milliseconds */

/* ---- logging ----------------------------------------------------------- */

typedef enum { HR_LOG_DEBUG, HR_LOG_INFO, HR_LOG_WARN, HR_LOG_ERROR } hr_log_level;
void hr_log_set_level(hr_log_level min);
/* One line to stderr, prefixed with time and level. Thread-safe. */
void hr_log(hr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
