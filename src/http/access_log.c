/* access_log.c — one JSON line per request, written off the I/O loops.
 * Each loop formats its lines into its own buffer; after each poll the loop
 * hands the buffer to the writer thread, which owns the file descriptor and
 * blocks on write() so the loops never do. If the writer falls behind by
 * more than LOG_BACKLOG_MAX bytes, new lines are dropped and counted rather
 * than growing memory without bound. */
#include "server_internal.h"

#include "../json/json.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_BACKLOG_MAX (16u << 20)

static void *writer_main(void *arg) {
  http_server *s = arg;
  hr_buf mine = HR_BUF_INIT;
  pthread_mutex_lock(&s->log_lock);
  for (;;) {
    while (s->log_pending.len == 0 && !s->log_stop) pthread_cond_wait(&s->log_cond, &s->log_lock);
    if (s->log_pending.len == 0 && s->log_stop) break;
    hr_buf tmp = mine;
    mine = s->log_pending;
    s->log_pending = tmp;
    pthread_mutex_unlock(&s->log_lock);
    size_t off = 0;
    while (off < mine.len) {
      ssize_t n = write(s->log_fd, mine.data + off, mine.len - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break; /* the log is gone; requests go on */
      off += (size_t)n;
    }
    hr_buf_clear(&mine);
    /* Lines gather for a while before the next write: under a steady
     * trickle of requests the writer would otherwise be woken for each one,
     * taking a core the loops and the models share. At most 10 ms of delay
     * (and of shutdown); the backlog bound above still holds. */
    pthread_mutex_lock(&s->log_lock);
    if (!s->log_stop) {
      pthread_mutex_unlock(&s->log_lock);
      nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000}, NULL);
      pthread_mutex_lock(&s->log_lock);
    }
  }
  pthread_mutex_unlock(&s->log_lock);
  hr_buf_free(&mine);
  return NULL;
}

int access_log_start(http_server *s) {
  const char *where = s->cfg.access_log;
  if (!where || !strcmp(where, "off") || !*where) return HR_OK;
  if (!strcmp(where, "stdout")) s->log_fd = dup(1);
  else if (!strcmp(where, "stderr")) s->log_fd = dup(2);
  else s->log_fd = open(where, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (s->log_fd < 0) return HR_EIO;
  if (pthread_create(&s->log_thread, NULL, writer_main, s) != 0) {
    close(s->log_fd);
    s->log_fd = -1;
    return HR_EIO;
  }
  s->log_running = true;
  return HR_OK;
}

void access_log_stop(http_server *s) {
  if (!s->log_running) return;
  pthread_mutex_lock(&s->log_lock);
  s->log_stop = true;
  pthread_cond_signal(&s->log_cond);
  pthread_mutex_unlock(&s->log_lock);
  pthread_join(s->log_thread, NULL);
  s->log_running = false;
  close(s->log_fd);
  s->log_fd = -1;
}

void access_log_request(http_req *r) {
  io_loop *l = r->loop;
  if (l->srv->log_fd < 0) return;
  if (l->log.len > LOG_BACKLOG_MAX) {
    counter_add(&l->metrics.log_dropped, 1);
    return;
  }
  hr_buf *b = &l->log;
  int64_t ms = hr_wall_ms();
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  double dur_ms = r->start_ns ? (double)(hr_now_ns() - r->start_ns) / 1e6 : 0;
  hr_buf_appendf(b, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"id\":\"", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
  json_escape_append(b, http_req_id(r), strlen(r->id));
  hr_buf_append_str(b, "\",\"method\":\"");
  json_escape_append(b, r->head.method_token.ptr ? r->head.method_token.ptr : "",
                     r->head.method_token.len);
  hr_buf_append_str(b, "\",\"path\":\"");
  json_escape_append(b, r->head.path.ptr ? r->head.path.ptr : "", HR_MIN(r->head.path.len, 512));
  hr_buf_appendf(b, "\",\"route\":\"%s\",\"status\":%d,\"bytes\":%llu,\"ms\":%.3f,\"remote\":\"%s\"%s}\n",
                 r->route ? r->route->name : "", r->status, (unsigned long long)r->bytes_out, dur_ms,
                 r->c ? r->c->remote : "", r->aborted ? ",\"aborted\":true" : "");
}

void access_log_handoff(io_loop *l) {
  http_server *s = l->srv;
  if (l->log.len == 0 || s->log_fd < 0) return;
  pthread_mutex_lock(&s->log_lock);
  if (s->log_pending.len + l->log.len <= LOG_BACKLOG_MAX) {
    hr_buf_append(&s->log_pending, l->log.data, l->log.len);
    pthread_cond_signal(&s->log_cond);
  } else {
    counter_add(&l->metrics.log_dropped, 1);
  }
  pthread_mutex_unlock(&s->log_lock);
  hr_buf_clear(&l->log);
}
