/* server_internal.h — the structures the server's files share: the server,
 * its I/O loops, connections and requests. Not part of http.h: nothing
 * outside src/http/ may depend on this layout. */
#ifndef HEARTH_HTTP_SERVER_INTERNAL_H
#define HEARTH_HTTP_SERVER_INTERNAL_H

#include "http.h"
#include "router.h"

#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#define HTTP_ROUTES_MAX 64
#define HTTP_ROUTE_UNMATCHED (HTTP_ROUTES_MAX - 1) /* 404/405/parse errors */
#define HTTP_HEADERS_MAX 128
#define HTTP_RES_HEADERS_MAX 16
#define HTTP_LAT_BUCKETS 14

/* Status codes tracked one by one in metrics; others fall in "other". */
enum { STATUS_SLOTS = 25 };
int status_slot(int status);
int status_of_slot(int slot);

/* A counter written by its loop only and read by whoever scrapes: relaxed
 * load+store (not a locked add) keeps the loop's increment cheap. */
typedef _Atomic uint64_t counter;
static inline void counter_add(counter *c, uint64_t v) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                        memory_order_relaxed);
}
static inline uint64_t counter_get(counter *c) {
  return atomic_load_explicit(c, memory_order_relaxed);
}

typedef struct {
  counter requests[HTTP_ROUTES_MAX][STATUS_SLOTS];
  counter latency_bucket[HTTP_ROUTES_MAX][HTTP_LAT_BUCKETS + 1]; /* +Inf last */
  counter latency_sum_us[HTTP_ROUTES_MAX];
  counter connections_open;
  counter connections_total;
  counter connections_rejected;
  counter timeouts;
  counter parse_errors;
  counter lag_us_last;   /* gauge: the latest event-loop lag sample */
  counter lag_us_max;    /* gauge: the worst since start */
  counter log_dropped;
} loop_metrics;

typedef struct route_entry {
  http_handler_fn fn;
  void *data;
  int index; /* metrics row */
  char name[96];
} route_entry;

typedef struct posted_task {
  struct posted_task *next;
  http_req *req;
  void (*fn)(http_req *r, void *arg);
  void *arg;
} posted_task;

typedef struct conn conn;
typedef struct io_loop io_loop;

struct io_loop {
  http_server *srv;
  int index;
  uv_loop_t uv;
  uv_thread_t thread;
  uv_tcp_t listener;
  /* Posted tasks and shutdown wake the loop through an eventfd it polls, not
   * a uv_async_t: libuv 1.44's loop, woken by uv_async_send's write, spins
   * and then sched_yields until the sender has also cleared its busy flag,
   * and a sender preempted between the two (the woken loop taking its core)
   * held an answer back ~0.8 ms (perf trace of /v1/embeddings). */
  uv_poll_t wake;
  int wake_fd;
  _Atomic int wake_pending; /* 1: a write is on its way or unread */
  uv_timer_t sweep;  /* timeouts and event-loop lag */
  uv_check_t check;  /* hands the access log to the writer thread */
  uint64_t sweep_expected_ms;
  pthread_mutex_t post_lock; /* guards post_head/post_tail and closed */
  posted_task *post_head, *post_tail;
  bool post_closed;
  conn *conns;       /* intrusive list of open connections */
  _Atomic int stopping; /* 1: drain; 2: force close (set by the stopping thread) */
  bool listener_closed;
  uint64_t now_ms;
  char date[40];     /* "Date: ...\r\n" cached per second */
  uint64_t date_sec;
  uint64_t next_id;
  hr_buf log;        /* access-log lines waiting for the writer */
  loop_metrics metrics;
};

struct http_req {
  conn *c;               /* NULL once the client went away */
  io_loop *loop;
  http_request head;
  http_header headers[HTTP_HEADERS_MAX];
  hr_str body;
  http_route_match match;
  const route_entry *route;
  hr_arena *arena;
  char id[48];
  uint64_t start_ns;
  int status;
  uint64_t bytes_out;
  const char *res_headers[HTTP_RES_HEADERS_MAX][2];
  size_t n_res_headers;
  bool responded;        /* a final response (or stream) was started */
  bool streaming;
  bool finished;         /* response complete */
  bool owned_by_handler; /* handler returned without finishing */
  bool aborted;
  bool close_after;      /* Connection: close on this response */
  char saved_byte;       /* the input byte the body's NUL covers */
  char *kept_in;         /* the connection's input buffer (head and body), taken at its close */
  void (*on_abort)(http_req *r, void *arg);
  void *on_abort_arg;
};

/* CONN_CLOSING: answer queued, close once sent; CONN_LINGER: sent and our
 * side shut down; reading and discarding until the client closes, so that
 * unread input does not make the kernel reset the answer away. */
typedef enum { CONN_HEAD, CONN_BODY, CONN_HANDLING, CONN_CLOSING, CONN_LINGER } conn_state;

struct conn {
  uv_tcp_t tcp;
  io_loop *loop;
  conn *prev, *next;
  conn_state state;
  char *in;              /* received bytes; a request's head starts at in[0] */
  size_t in_len, in_cap;
  size_t head_len;       /* of the current request once parsed */
  size_t body_done;      /* CL: bytes of body received; chunked: decoded */
  size_t chunk_in;       /* chunked: undecoded input starts at head_len+chunk_in */
  http_chunked chunked;
  uint64_t body_max;
  bool in_moved;         /* in was reallocated after the head was parsed */
  bool reading;
  bool keep_alive;
  bool sent_continue;
  bool processing;       /* inside process(): finishing must not recurse */
  hr_buf out;            /* bytes to send, not yet handed to libuv */
  hr_buf wbuf;           /* bytes handed to uv_write, in flight */
  bool writing;
  uint64_t deadline_ms;  /* 0: none */
  int deadline_kind;     /* which timeout: see conn.c */
  http_req *req;         /* the request being read or handled */
  http_req *spare;       /* a finished request kept for reuse */
  char remote[48];
};

struct http_server {
  http_config cfg;
  http_router *router;
  route_entry routes[HTTP_ROUTES_MAX];
  int n_routes;
  io_loop *loops;
  int n_loops;
  int port;
  _Atomic int conns_open;
  _Atomic int loops_running;
  pthread_mutex_t state_lock; /* guards the start/stop handshake below */
  pthread_cond_t state_cond;
  int loops_listening, loops_failed;
  char start_err[256];
  int log_fd;          /* -1: access log off */
  pthread_t log_thread;
  bool log_running;
  pthread_mutex_t log_lock; /* guards log_pending, log_stop */
  pthread_cond_t log_cond;
  hr_buf log_pending;
  bool log_stop;
  uint64_t start_ms;
};

/* conn.c */
int conn_accept(io_loop *l);
void conn_close(conn *c);
void conn_flush(conn *c);
void conn_sweep(io_loop *l);
/* Wakes l's thread to run its posted tasks and see stopping; any thread. */
void loop_wake(io_loop *l);
void conn_request_finished(http_req *r);
/* Frees a request its connection no longer holds (the client left). */
void req_free_detached(http_req *r);

/* response.c */
void req_reset(http_req *r);
void loop_date_refresh(io_loop *l);

/* access log (log.c) */
int access_log_start(http_server *s);
void access_log_stop(http_server *s);
void access_log_request(http_req *r);
void access_log_handoff(io_loop *l);

/* metrics.c */
void metrics_observe(http_req *r);

#endif
