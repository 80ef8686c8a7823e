/* base.c — error strings, string slices, byte buffers, time and logging.
 * Arenas live in arena.c. */
#include "base.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *hr_strerror(int err) {
  switch (err) {
  case HR_OK: return "ok";
  case HR_ENOMEM: return "out of memory";
  case HR_EINVAL: return "invalid input";
  case HR_ERANGE: return "too large";
  case HR_EIO: return "input/output error";
  case HR_ENOTFOUND: return "not found";
  case HR_EFORMAT: return "malformed file";
  case HR_EUNSUPPORTED: return "unsupported";
  case HR_EAGAIN: return "need more input";
  case HR_ECLOSED: return "closed";
  case HR_EBUSY: return "busy";
  case HR_ESTORE: return "database error";
  }
  return "unknown error";
}

hr_str hr_str_cstr(const char *s) { return (hr_str){s, s ? strlen(s) : 0}; }

bool hr_str_eq(hr_str a, hr_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool hr_str_eq_cstr(hr_str a, const char *s) { return hr_str_eq(a, hr_str_cstr(s)); }

bool hr_str_ieq(hr_str a, hr_str b) {
  if (a.len != b.len) return false;
  for (size_t i = 0; i < a.len; i++)
    if (tolower((unsigned char)a.ptr[i]) != tolower((unsigned char)b.ptr[i])) return false;
  return true;
}

int hr_buf_reserve(hr_buf *b, size_t extra) {
  if (extra > SIZE_MAX / 2 - b->len) return HR_ERANGE;
  size_t need = b->len + extra + 1; /* room for the NUL */
  if (need <= b->cap) return HR_OK;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) return HR_ENOMEM;
  b->data = p;
  b->cap = cap;
  return HR_OK;
}

int hr_buf_append(hr_buf *b, const void *p, size_t n) {
  int rc = hr_buf_reserve(b, n);
  if (rc) return rc;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
  return HR_OK;
}

int hr_buf_append_str(hr_buf *b, const char *s) { return hr_buf_append(b, s, strlen(s)); }

char *hr_file_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  hr_buf b = HR_BUF_INIT;
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (hr_buf_append(&b, chunk, n)) {
      hr_buf_free(&b);
      fclose(f);
      return NULL;
    }
  bool bad = ferror(f);
  fclose(f);
  if (bad || hr_buf_putc(&b, 0)) {
    hr_buf_free(&b);
    return NULL;
  }
  *len = b.len - 1;
  return b.data;
}

int hr_buf_putc(hr_buf *b, char c) {
  if (b->len + 1 >= b->cap) {
    int rc = hr_buf_reserve(b, 1);
    if (rc) return rc;
  }
  b->data[b->len++] = c;
  b->data[b->len] = 0;
  return HR_OK;
}

int hr_buf_vappendf(hr_buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  size_t room = b->cap > b->len ? b->cap - b->len : 0;
  int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
  if (n < 0) {
    va_end(ap2);
    return HR_EINVAL;
  }
  if ((size_t)n >= room) {
    int rc = hr_buf_reserve(b, (size_t)n);
    if (rc) {
      va_end(ap2);
      return rc;
    }
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
  }
  va_end(ap2);
  b->len += (size_t)n;
  return HR_OK;
}

int hr_buf_appendf(hr_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = hr_buf_vappendf(b, fmt, ap);
  va_end(ap);
  return rc;
}

void hr_buf_consume(hr_buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
  } else {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
  }
  if (b->data) b->data[b->len] = 0;
}

void hr_buf_clear(hr_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = 0;
}

void hr_buf_free(hr_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

uint64_t hr_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t hr_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static hr_log_level log_min = HR_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER; /* guards stderr lines */

void hr_log_set_level(hr_log_level min) { log_min = min; }

void hr_log(hr_log_level level, const char *fmt, ...) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  if (level < log_min) return;
  char line[2048];
  int64_t ms = hr_wall_ms();
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, (int)(ms % 1000), names[level]);
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = (size_t)n + (m < 0 ? 0 : HR_MIN((size_t)m, sizeof line - (size_t)n - 2));
  line[len++] = '\n';
  pthread_mutex_lock(&log_lock);
  fwrite(line, 1, len, stderr);
  pthread_mutex_unlock(&log_lock);
}
