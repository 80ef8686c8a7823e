/* main.c — hearth's command line: `serve`, `version`, and the engine's tools
 * as they land. Each command reads its options from one table (flags >
 * HEARTH_* environment > config file); see src/base/options.h. */
#include "api/api.h"
#include "base/options.h"
#include "engine/engine.h"
#include "http/http.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEARTH_VERSION "0.1.0"

static void usage(FILE *f) {
  fprintf(f,
          "hearth %s — a complete backend for AI products in one program\n\n"
          "usage: hearth <command> [options]\n\n"
          "commands:\n"
          "  serve      run the HTTP server (OpenAI-compatible API)\n"
          "  run        generate text with a GGUF model\n"
          "  bench      prompt and generation speed of a model (like llama-bench)\n"
          "  embed      sentence embeddings from a bert model\n"
          "  tokenize   print the token ids of a text\n"
          "  version    print the version\n"
          "  help       this text\n\n"
          "`hearth <command> --help` lists a command's options.\n",
          HEARTH_VERSION);
}

typedef struct {
  const char *host;
  long port;
  const char *data;
  long io_threads;
  const char *access_log;
  long max_body_bytes;
  long header_timeout_ms;
  long body_timeout_ms;
  long idle_timeout_ms;
  long shutdown_timeout_ms;
  long max_connections;
  const char *log_level;
} serve_options;

static int set_log_level(const char *name) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(name, names[i])) {
      hr_log_set_level((hr_log_level)i);
      return 0;
    }
  fprintf(stderr, "hearth: --log-level: expected debug, info, warn or error, got '%s'\n", name);
  return -1;
}

static int cmd_serve_run(hr_arena *opt_arena, serve_options *op, http_config *hcp,
                         const hr_option *opts, size_t n_opts, int argc, char **argv, char *err,
                         size_t err_len);

static int cmd_serve(int argc, char **argv) {
  http_config hc;
  http_config_defaults(&hc);
  serve_options o = {
      .host = hc.host,
      .port = hc.port,
      .data = "./hearth-data",
      .io_threads = hc.io_threads,
      .access_log = hc.access_log,
      .max_body_bytes = (long)hc.max_body_bytes,
      .header_timeout_ms = hc.header_timeout_ms,
      .body_timeout_ms = hc.body_timeout_ms,
      .idle_timeout_ms = hc.idle_timeout_ms,
      .shutdown_timeout_ms = 10000,
      .max_connections = hc.max_connections,
      .log_level = "info",
  };
  const hr_option opts[] = {
      {"host", 0, OPT_STR, &o.host, "address to listen on", 0, 0},
      {"port", 'p', OPT_INT, &o.port, "TCP port (0: any free port)", 0, 65535},
      {"data", 'd', OPT_STR, &o.data, "data directory (SQLite database, files)", 0, 0},
      {"io-threads", 0, OPT_INT, &o.io_threads, "I/O loop threads (default: the core count)", 1, 256},
      {"access-log", 0, OPT_STR, &o.access_log, "access log: stdout, stderr, off or a file path", 0, 0},
      {"max-body-bytes", 0, OPT_INT, &o.max_body_bytes, "default request body limit", 1, 1L << 40},
      {"header-timeout-ms", 0, OPT_INT, &o.header_timeout_ms, "time allowed to send a request's headers", 100, 3600000},
      {"body-timeout-ms", 0, OPT_INT, &o.body_timeout_ms, "time allowed to send a request's body", 100, 3600000},
      {"idle-timeout-ms", 0, OPT_INT, &o.idle_timeout_ms, "keep-alive wait for the next request", 100, 3600000},
      {"shutdown-timeout-ms", 0, OPT_INT, &o.shutdown_timeout_ms, "on SIGTERM, time in-flight requests get to finish", 0, 3600000},
      {"max-connections", 0, OPT_INT, &o.max_connections, "open client connections at most", 1, 1000000},
      {"log-level", 0, OPT_STR, &o.log_level, "debug, info, warn or error", 0, 0},
  };
  char err[512];
  hr_arena *opt_arena = hr_arena_new(4096); /* owns the option strings until exit */
  if (!opt_arena) return 1;
  int rc = cmd_serve_run(opt_arena, &o, &hc, opts, HR_ARRAY_LEN(opts), argc, argv, err, sizeof err);
  hr_arena_free(opt_arena);
  return rc;
}

static int cmd_serve_run(hr_arena *opt_arena, serve_options *op, http_config *hcp,
                         const hr_option *opts, size_t n_opts, int argc, char **argv, char *err,
                         size_t err_len) {
  serve_options o;
  http_config hc = *hcp;
  bool help;
  if (hr_options_parse(opt_arena, opts, n_opts, argc, argv, NULL, &help, err, err_len)) {
    fprintf(stderr, "hearth serve: %s\n", err);
    return 2;
  }
  o = *op;
  if (help) {
    printf("usage: hearth serve [options]\n\noptions (flag, then environment variable):\n");
    hr_options_help(stdout, opts, n_opts);
    return 0;
  }
  if (set_log_level(o.log_level)) return 2;

  /* Signals are taken by sigwait below; every thread started from here on
   * inherits the mask, so none of them is interrupted. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
  signal(SIGPIPE, SIG_IGN);

  api_context ctx = {.started_ms = hr_wall_ms(), .version = HEARTH_VERSION};
  if (store_open(o.data, &ctx.db, err, err_len)) {
    fprintf(stderr, "hearth serve: %s\n", err);
    return 1;
  }
  atomic_store(&ctx.store_ready, true);
  atomic_store(&ctx.models_ready, true); /* no models to load yet */

  hc.host = o.host;
  hc.port = (int)o.port;
  hc.io_threads = (int)o.io_threads;
  hc.access_log = o.access_log;
  hc.max_body_bytes = (size_t)o.max_body_bytes;
  hc.header_timeout_ms = (uint32_t)o.header_timeout_ms;
  hc.body_timeout_ms = (uint32_t)o.body_timeout_ms;
  hc.idle_timeout_ms = (uint32_t)o.idle_timeout_ms;
  hc.max_connections = (uint32_t)o.max_connections;
  if (http_server_new(&hc, &ctx.server) || api_register(ctx.server, &ctx)) {
    fprintf(stderr, "hearth serve: cannot set up the server\n");
    return 1;
  }
  if (http_server_start(ctx.server, err, err_len)) {
    fprintf(stderr, "hearth serve: %s\n", err);
    return 1;
  }
  hr_log(HR_LOG_INFO, "hearth %s listening on http://%s:%d (%d I/O threads, data in %s)",
         HEARTH_VERSION, o.host, http_server_port(ctx.server), hc.io_threads, store_path(ctx.db));

  int sig = 0;
  sigwait(&stop_signals, &sig);
  hr_log(HR_LOG_INFO, "%s: stopping; in-flight requests get %ld ms", sig == SIGINT ? "SIGINT" : "SIGTERM",
         o.shutdown_timeout_ms);
  http_server_shutdown(ctx.server, (uint32_t)o.shutdown_timeout_ms);
  http_server_free(ctx.server);
  store_close(ctx.db);
  hr_log(HR_LOG_INFO, "stopped");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "serve")) return cmd_serve(argc - 2, argv + 2);
  if (!strcmp(cmd, "run")) return eng_cli_run(argc - 2, argv + 2);
  if (!strcmp(cmd, "bench")) return eng_cli_bench(argc - 2, argv + 2);
  if (!strcmp(cmd, "embed")) return eng_cli_embed(argc - 2, argv + 2);
  if (!strcmp(cmd, "tokenize")) return tok_cli_tokenize(argc - 1, argv + 1); /* argv[0]: "tokenize" */
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    printf("hearth %s\n", HEARTH_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "hearth: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return 2;
}
