/* ops.c — the operations endpoints: liveness (/healthz), readiness
 * (/readyz: the store is open and the models are loaded) and Prometheus
 * metrics (/metrics). */
#include "routes.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_healthz(http_req *r, void *data) {
  HR_UNUSED(data);
  static const char body[] = "{\"status\":\"ok\"}";
  http_respond(r, 200, "application/json", body, sizeof body - 1);
}

static void on_readyz(http_req *r, void *data) {
  api_context *ctx = data;
  bool store_ok = atomic_load(&ctx->store_ready), models_ok = atomic_load(&ctx->models_ready);
  char body[160];
  int n = snprintf(body, sizeof body, "{\"status\":\"%s\",\"store\":%s,\"models\":%s}",
                   store_ok && models_ok ? "ready" : "starting", store_ok ? "true" : "false",
                   models_ok ? "true" : "false");
  http_respond(r, store_ok && models_ok ? 200 : 503, "application/json", body, (size_t)n);
}

/* Resident memory in bytes from /proc (0 where unavailable). */
static long long resident_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long long pages = 0, rss = 0;
  if (fscanf(f, "%lld %lld", &pages, &rss) != 2) rss = 0;
  fclose(f);
  return rss * sysconf(_SC_PAGESIZE);
}

static void on_metrics(http_req *r, void *data) {
  api_context *ctx = data;
  hr_buf b = HR_BUF_INIT;
  http_server_metrics(ctx->server, &b);
  api_models_metrics(ctx, &b);
  hr_buf_appendf(&b,
                 "# HELP hearth_up Whether hearth is ready (1) or starting (0).\n"
                 "# TYPE hearth_up gauge\nhearth_up %d\n"
                 "# HELP hearth_uptime_seconds Seconds since start.\n"
                 "# TYPE hearth_uptime_seconds gauge\nhearth_uptime_seconds %.3f\n"
                 "# HELP hearth_resident_memory_bytes Resident set size.\n"
                 "# TYPE hearth_resident_memory_bytes gauge\nhearth_resident_memory_bytes %lld\n",
                 atomic_load(&ctx->store_ready) && atomic_load(&ctx->models_ready),
                 (double)(hr_wall_ms() - ctx->started_ms) / 1000.0, resident_bytes());
  http_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
  hr_buf_free(&b);
}


int api_register_ops(http_server *s, api_context *ctx) {
  int rc = 0;
  rc |= http_server_route(s, HTTP_GET, "/healthz", on_healthz, ctx, 0);
  rc |= http_server_route(s, HTTP_GET, "/readyz", on_readyz, ctx, 0);
  rc |= http_server_route(s, HTTP_GET, "/metrics", on_metrics, ctx, 0);
  return rc;
}
