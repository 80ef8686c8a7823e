/* server.c — the server's life: configuration, routes, the K I/O loop
 * threads with one SO_REUSEPORT listener each, cross-thread posts, and the
 * graceful shutdown (stop accepting, let in-flight requests finish, close).
 *
 * The listening sockets are created and bound on the thread that calls
 * http_server_start, so a bind error is reported there; the first binds the
 * port (0 lets the OS pick) and the others join it through SO_REUSEPORT, and
 * the kernel spreads new connections over them. */
#include "server_internal.h"

#include "../store/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

static _Thread_local bool on_io_thread;

bool http_on_io_thread(void) { return on_io_thread; }

void http_config_defaults(http_config *c) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  *c = (http_config){
      .host = "127.0.0.1",
      .port = 8080,
      .io_threads = n > 0 ? (int)n : 1,
      .max_head_bytes = 16384,
      .max_request_line = 8192,
      .max_headers = 100,
      .max_body_bytes = 1u << 20,
      .header_timeout_ms = 10000,
      .body_timeout_ms = 30000,
      .idle_timeout_ms = 60000,
      .max_connections = 10000,
      .access_log = "stdout",
  };
}

int http_server_new(const http_config *c, http_server **out) {
  http_server *s = calloc(1, sizeof *s);
  if (!s) return HR_ENOMEM;
  s->cfg = *c;
  if (s->cfg.io_threads < 1) s->cfg.io_threads = 1;
  if (s->cfg.max_headers > HTTP_HEADERS_MAX) s->cfg.max_headers = HTTP_HEADERS_MAX;
  s->router = http_router_new();
  if (!s->router) {
    free(s);
    return HR_ENOMEM;
  }
  pthread_mutex_init(&s->state_lock, NULL);
  pthread_cond_init(&s->state_cond, NULL);
  pthread_mutex_init(&s->log_lock, NULL);
  pthread_cond_init(&s->log_cond, NULL);
  s->log_fd = -1;
  s->start_ms = (uint64_t)hr_wall_ms();
  *out = s;
  return HR_OK;
}

int http_server_route(http_server *s, http_method m, const char *pattern, http_handler_fn fn,
                      void *route_data, size_t body_limit) {
  if (s->n_routes >= HTTP_ROUTES_MAX - 1) return HR_ERANGE;
  route_entry *e = &s->routes[s->n_routes];
  e->fn = fn;
  e->data = route_data;
  e->index = s->n_routes;
  snprintf(e->name, sizeof e->name, "%s %s", http_method_name(m), pattern);
  http_route rt = {.handler = e, .user = route_data, .body_max = body_limit};
  int rc = http_router_add(s->router, m, pattern, &rt);
  if (rc) return rc;
  s->n_routes++;
  return HR_OK;
}

/* exclusive: bind without SO_REUSEPORT, only to learn whether another
 * process holds the port (SO_REUSEPORT would silently share it with another
 * hearth run by the same user). */
static int make_listener(const http_config *c, int port, bool exclusive, int *fd_out,
                         int *port_out, char *err, size_t err_len) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  const char *host = strcmp(c->host, "localhost") == 0 ? "127.0.0.1" : c->host;
  if (strchr(host, ':')) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) goto bad_host;
    len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) goto bad_host;
    len = sizeof *a;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, err_len, "socket: %s", strerror(errno));
    return HR_EIO;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (!exclusive) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
    snprintf(err, err_len, "cannot listen on %s:%d: %s", c->host, port,
             errno == EADDRINUSE ? "the port is in use" : strerror(errno));
    close(fd);
    return HR_EIO;
  }
  struct sockaddr_storage got;
  socklen_t glen = sizeof got;
  getsockname(fd, (struct sockaddr *)&got, &glen);
  *port_out = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                              : ((struct sockaddr_in *)&got)->sin_port);
  *fd_out = fd;
  return HR_OK;
bad_host:
  snprintf(err, err_len, "--host %s: not an IPv4 or IPv6 address", c->host);
  return HR_EINVAL;
}

static void run_posted(io_loop *l) {
  pthread_mutex_lock(&l->post_lock);
  posted_task *t = l->post_head;
  l->post_head = l->post_tail = NULL;
  pthread_mutex_unlock(&l->post_lock);
  while (t) {
    posted_task *next = t->next;
    t->fn(t->req, t->arg);
    free(t);
    t = next;
  }
}

static void on_handle_closed(uv_handle_t *h) { HR_UNUSED(h); }

static void maybe_finish_loop(io_loop *l) {
  if (!l->stopping || l->conns) return;
  pthread_mutex_lock(&l->post_lock);
  bool already = l->post_closed;
  l->post_closed = true;
  pthread_mutex_unlock(&l->post_lock);
  if (already) return;
  run_posted(l); /* tasks that raced in before the close */
  uv_close((uv_handle_t *)&l->wake, on_handle_closed);
  uv_close((uv_handle_t *)&l->sweep, on_handle_closed);
  uv_close((uv_handle_t *)&l->check, on_handle_closed);
}

static void begin_stop(io_loop *l) {
  if (!l->listener_closed) {
    l->listener_closed = true;
    uv_close((uv_handle_t *)&l->listener, on_handle_closed);
  }
  l->now_ms = uv_now(&l->uv);
  conn_sweep(l);
  maybe_finish_loop(l);
}

/* stopping is read under post_lock, as stop_all writes it: loop_wake
 * skips the wake-up when it sees the previous one still pending, and
 * without the lock this thread could clear that flag and read stopping
 * before the other thread's store showed (a store-buffer race: the loop
 * then slept with its listener open and shutdown waited forever). */
static int loop_stopping(io_loop *l) {
  pthread_mutex_lock(&l->post_lock);
  int stopping = l->stopping;
  pthread_mutex_unlock(&l->post_lock);
  return stopping;
}

static void on_wake(uv_poll_t *h, int status, int events) {
  HR_UNUSED(status), HR_UNUSED(events);
  io_loop *l = h->data;
  uint64_t n;
  if (read(l->wake_fd, &n, sizeof n) < 0) {} /* one read zeroes the count */
  /* cleared before the queue is taken: a post after this point writes again */
  atomic_store(&l->wake_pending, 0);
  run_posted(l);
  if (loop_stopping(l)) begin_stop(l);
}

void loop_wake(io_loop *l) {
  if (atomic_exchange(&l->wake_pending, 1)) return;
  uint64_t one = 1;
  ssize_t w;
  do w = write(l->wake_fd, &one, sizeof one);
  while (w < 0 && errno == EINTR);
}

static void on_sweep(uv_timer_t *t) {
  io_loop *l = t->data;
  uint64_t now = uv_now(&l->uv);
  /* Lag: how late this timer fired, i.e. how long the loop was busy. */
  uint64_t lag_ms = now > l->sweep_expected_ms ? now - l->sweep_expected_ms : 0;
  counter *last = &l->metrics.lag_us_last, *max = &l->metrics.lag_us_max;
  atomic_store_explicit(last, lag_ms * 1000, memory_order_relaxed);
  if (lag_ms * 1000 > counter_get(max)) atomic_store_explicit(max, lag_ms * 1000, memory_order_relaxed);
  l->sweep_expected_ms = now + 500;
  l->now_ms = now;
  if (loop_stopping(l)) begin_stop(l); /* also when a wake-up was missed */
  else conn_sweep(l);
}

static void on_check(uv_check_t *h) {
  io_loop *l = h->data;
  access_log_handoff(l);
}

static void loop_main(void *arg) {
  io_loop *l = arg;
  on_io_thread = true;
  store_forbid_this_thread();
  uv_run(&l->uv, UV_RUN_DEFAULT);
  access_log_handoff(l);
  atomic_fetch_sub(&l->srv->loops_running, 1);
  pthread_mutex_lock(&l->srv->state_lock);
  pthread_cond_broadcast(&l->srv->state_cond);
  pthread_mutex_unlock(&l->srv->state_lock);
}

static int loop_init(http_server *s, io_loop *l, int index, int fd, char *err, size_t err_len) {
  l->srv = s;
  l->index = index;
  pthread_mutex_init(&l->post_lock, NULL);
  int rc = uv_loop_init(&l->uv);
  if (!rc) rc = uv_tcp_init(&l->uv, &l->listener);
  if (!rc) rc = uv_tcp_open(&l->listener, fd);
  if (rc) {
    snprintf(err, err_len, "listen: %s", uv_strerror(rc));
    return HR_EIO;
  }
  l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (l->wake_fd < 0) {
    snprintf(err, err_len, "wake-up eventfd: %s", strerror(errno));
    return HR_EIO;
  }
  if ((rc = uv_poll_init(&l->uv, &l->wake, l->wake_fd)) ||
      (rc = uv_poll_start(&l->wake, UV_READABLE, on_wake))) {
    close(l->wake_fd);
    snprintf(err, err_len, "wake-up eventfd: %s", uv_strerror(rc));
    return HR_EIO;
  }
  l->wake.data = l;
  uv_timer_init(&l->uv, &l->sweep);
  l->sweep.data = l;
  uv_check_init(&l->uv, &l->check);
  l->check.data = l;
  l->now_ms = uv_now(&l->uv);
  l->sweep_expected_ms = l->now_ms + 500;
  uv_timer_start(&l->sweep, on_sweep, 500, 500);
  if (s->log_fd >= 0) uv_check_start(&l->check, on_check);
  return HR_OK;
}

int http_server_start(http_server *s, char *err, size_t err_len) {
  int n = s->cfg.io_threads;
  s->loops = calloc((size_t)n, sizeof *s->loops);
  if (!s->loops) return HR_ENOMEM;
  if (access_log_start(s)) {
    snprintf(err, err_len, "access log %s: %s", s->cfg.access_log, strerror(errno));
    return HR_EIO;
  }
  int port = s->cfg.port;
  if (port != 0) {
    int probe, got;
    int rc = make_listener(&s->cfg, port, true, &probe, &got, err, err_len);
    if (rc) return rc;
    close(probe);
  }
  for (int i = 0; i < n; i++) {
    int fd, got;
    int rc = make_listener(&s->cfg, port, false, &fd, &got, err, err_len);
    if (rc) return rc;
    port = got;
    if ((rc = loop_init(s, &s->loops[i], i, fd, err, err_len))) return rc;
    s->n_loops++;
    if ((rc = conn_accept(&s->loops[i]))) {
      snprintf(err, err_len, "listen: %s", uv_strerror(rc));
      return HR_EIO;
    }
  }
  s->port = port;
  for (int i = 0; i < n; i++) {
    atomic_fetch_add(&s->loops_running, 1);
    if (uv_thread_create(&s->loops[i].thread, loop_main, &s->loops[i]) != 0) {
      atomic_fetch_sub(&s->loops_running, 1);
      snprintf(err, err_len, "cannot start I/O thread %d", i);
      return HR_EIO;
    }
  }
  return HR_OK;
}

int http_server_port(const http_server *s) { return s->port; }

static void stop_all(http_server *s, int level) {
  for (int i = 0; i < s->n_loops; i++) {
    io_loop *l = &s->loops[i];
    pthread_mutex_lock(&l->post_lock);
    bool closed = l->post_closed;
    if (!closed) {
      l->stopping = level; /* read by the loop after the wake-up */
      loop_wake(l);
    }
    pthread_mutex_unlock(&l->post_lock);
  }
}

void http_server_shutdown(http_server *s, uint32_t deadline_ms) {
  stop_all(s, 1);
  uint64_t until = hr_now_ns() + (uint64_t)deadline_ms * 1000000ull;
  pthread_mutex_lock(&s->state_lock);
  while (atomic_load(&s->loops_running) > 0 && hr_now_ns() < until) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&s->state_cond, &s->state_lock, &ts);
  }
  pthread_mutex_unlock(&s->state_lock);
  if (atomic_load(&s->loops_running) > 0) {
    hr_log(HR_LOG_WARN, "shutdown: deadline of %u ms passed; closing remaining connections",
           deadline_ms);
    stop_all(s, 2);
  }
  for (int i = 0; i < s->n_loops; i++) uv_thread_join(&s->loops[i].thread);
  access_log_stop(s);
}

void http_server_free(http_server *s) {
  if (!s) return;
  for (int i = 0; i < s->n_loops; i++) {
    io_loop *l = &s->loops[i];
    uv_loop_close(&l->uv);
    close(l->wake_fd);
    hr_buf_free(&l->log);
    pthread_mutex_destroy(&l->post_lock);
  }
  free(s->loops);
  http_router_free(s->router);
  hr_buf_free(&s->log_pending);
  free(s);
}
