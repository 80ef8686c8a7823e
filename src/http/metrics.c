/* metrics.c — what the server counts, per loop without locks, and its
 * Prometheus text rendering, which sums the loops when scraped. */
#include "server_internal.h"

#include <stdio.h>

static const int tracked_status[STATUS_SLOTS - 1] = {
    101, 200, 201, 202, 204, 206, 304, 400, 401, 403, 404, 405,
    408, 409, 413, 414, 415, 417, 429, 431, 500, 501, 503, 505};

int status_slot(int status) {
  for (int i = 0; i < STATUS_SLOTS - 1; i++)
    if (tracked_status[i] == status) return i;
  return STATUS_SLOTS - 1;
}

int status_of_slot(int slot) { return slot < STATUS_SLOTS - 1 ? tracked_status[slot] : 0; }

/* Upper bounds in microseconds. */
static const uint64_t lat_bounds_us[HTTP_LAT_BUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000};

void metrics_observe(http_req *r) {
  loop_metrics *m = &r->loop->metrics;
  int row = r->route ? r->route->index : HTTP_ROUTE_UNMATCHED;
  uint64_t us = r->start_ns ? (hr_now_ns() - r->start_ns) / 1000 : 0;
  counter_add(&m->requests[row][status_slot(r->status)], 1);
  int b = 0;
  while (b < HTTP_LAT_BUCKETS && us > lat_bounds_us[b]) b++;
  counter_add(&m->latency_bucket[row][b], 1);
  counter_add(&m->latency_sum_us[row], us);
}

static uint64_t sum(http_server *s, size_t offset) {
  uint64_t v = 0;
  for (int i = 0; i < s->n_loops; i++) v += counter_get((counter *)((char *)&s->loops[i].metrics + offset));
  return v;
}

#define SUM(field) sum(s, offsetof(loop_metrics, field))

static void route_label(http_server *s, int row, char *out, size_t n) {
  snprintf(out, n, "%s", row == HTTP_ROUTE_UNMATCHED ? "unmatched" : s->routes[row].name);
}

void http_server_metrics(http_server *s, hr_buf *o) {
  hr_buf_append_str(o, "# HELP hearth_http_requests_total HTTP requests answered, by route and status.\n"
                       "# TYPE hearth_http_requests_total counter\n");
  char label[128];
  for (int row = 0; row < HTTP_ROUTES_MAX; row++) {
    if (row >= s->n_routes && row != HTTP_ROUTE_UNMATCHED) continue;
    route_label(s, row, label, sizeof label);
    for (int slot = 0; slot < STATUS_SLOTS; slot++) {
      uint64_t v = SUM(requests[row][slot]);
      if (!v) continue;
      int st = status_of_slot(slot);
      if (st) hr_buf_appendf(o, "hearth_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", label, st, (unsigned long long)v);
      else hr_buf_appendf(o, "hearth_http_requests_total{route=\"%s\",status=\"other\"} %llu\n", label, (unsigned long long)v);
    }
  }
  hr_buf_append_str(o, "# HELP hearth_http_request_duration_seconds Time from a request's complete head to its complete response.\n"
                       "# TYPE hearth_http_request_duration_seconds histogram\n");
  for (int row = 0; row < HTTP_ROUTES_MAX; row++) {
    if (row >= s->n_routes && row != HTTP_ROUTE_UNMATCHED) continue;
    route_label(s, row, label, sizeof label);
    uint64_t cum = 0;
    for (int b = 0; b <= HTTP_LAT_BUCKETS; b++) {
      cum += SUM(latency_bucket[row][b]);
      if (b < HTTP_LAT_BUCKETS)
        hr_buf_appendf(o, "hearth_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                       label, (double)lat_bounds_us[b] / 1e6, (unsigned long long)cum);
      else
        hr_buf_appendf(o, "hearth_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                       label, (unsigned long long)cum);
    }
    hr_buf_appendf(o, "hearth_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", label,
                   (double)SUM(latency_sum_us[row]) / 1e6);
    hr_buf_appendf(o, "hearth_http_request_duration_seconds_count{route=\"%s\"} %llu\n", label,
                   (unsigned long long)cum);
  }
  hr_buf_appendf(o,
                 "# HELP hearth_http_connections_open Client connections open now.\n"
                 "# TYPE hearth_http_connections_open gauge\n"
                 "hearth_http_connections_open %lld\n"
                 "# HELP hearth_http_connections_total Client connections accepted.\n"
                 "# TYPE hearth_http_connections_total counter\n"
                 "hearth_http_connections_total %llu\n"
                 "# HELP hearth_http_connections_rejected_total Connections closed at once because max-connections was reached or the server was stopping.\n"
                 "# TYPE hearth_http_connections_rejected_total counter\n"
                 "hearth_http_connections_rejected_total %llu\n"
                 "# HELP hearth_http_timeouts_total Connections closed for a header, body or idle timeout.\n"
                 "# TYPE hearth_http_timeouts_total counter\n"
                 "hearth_http_timeouts_total %llu\n"
                 "# HELP hearth_http_parse_errors_total Requests refused as malformed.\n"
                 "# TYPE hearth_http_parse_errors_total counter\n"
                 "hearth_http_parse_errors_total %llu\n"
                 "# HELP hearth_access_log_dropped_total Access-log lines dropped because the writer fell behind.\n"
                 "# TYPE hearth_access_log_dropped_total counter\n"
                 "hearth_access_log_dropped_total %llu\n",
                 (long long)SUM(connections_open), (unsigned long long)SUM(connections_total),
                 (unsigned long long)SUM(connections_rejected), (unsigned long long)SUM(timeouts),
                 (unsigned long long)SUM(parse_errors), (unsigned long long)SUM(log_dropped));
  hr_buf_append_str(o, "# HELP hearth_event_loop_lag_seconds How late the loop's half-second timer fired last time.\n"
                       "# TYPE hearth_event_loop_lag_seconds gauge\n");
  for (int i = 0; i < s->n_loops; i++)
    hr_buf_appendf(o, "hearth_event_loop_lag_seconds{loop=\"%d\"} %.6f\n", i,
                   (double)counter_get(&s->loops[i].metrics.lag_us_last) / 1e6);
  hr_buf_append_str(o, "# HELP hearth_event_loop_lag_max_seconds The worst event-loop lag seen since start.\n"
                       "# TYPE hearth_event_loop_lag_max_seconds gauge\n");
  for (int i = 0; i < s->n_loops; i++)
    hr_buf_appendf(o, "hearth_event_loop_lag_max_seconds{loop=\"%d\"} %.6f\n", i,
                   (double)counter_get(&s->loops[i].metrics.lag_us_max) / 1e6);
}
