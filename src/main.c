/* main.c — hearth's command line: `serve`, `version`, and the engine's tools
 * as they land. Each command reads its options from one table (flags >
 * HEARTH_* environment > config file); see src/base/options.h. */
#include "api/api.h"
#include "base/options.h"
#include "base/workq.h"
#include "engine/engine.h"
#include "http/http.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
          "  pull       download a GGUF model (hf:OWNER/REPO/FILE[@REV] or a URL)\n"
          "  models     list the models directory (size, arch, quantization, context)\n"
          "  tokenize   print the token ids of a text\n"
          "  template   render a chat template for a JSON case (messages, tools...)\n"
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
  hr_opt_list models;
  hr_opt_list aliases;
  long slots, ctx_size, threads, batch, batch_busy, queue;
  const char *chat_template;
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

/* With no -m: the default models that scripts/install.sh put in models/,
 * or the tiny demo model when none is there. */
static const char *const default_models[] = {"models/smollm2-135m-instruct.gguf",
                                             "models/all-minilm-l6-v2.gguf"};
#define DEMO_MODEL "models/stories260K.gguf"

/* Loads every model in order; the API serves each as soon as it is in. */
static int load_models(api_context *ctx, const serve_options *o, char *err, size_t err_len) {
  const char *defaults[HR_ARRAY_LEN(default_models) + 1];
  size_t n_defaults = 0;
  for (size_t i = 0; i < HR_ARRAY_LEN(default_models); i++)
    if (access(default_models[i], R_OK) == 0) defaults[n_defaults++] = default_models[i];
  if (n_defaults == 0) defaults[n_defaults++] = DEMO_MODEL;
  const char *const *paths = o->models.n ? o->models.items : defaults;
  size_t n = o->models.n ? o->models.n : n_defaults;
  if (o->aliases.n > n) {
    snprintf(err, err_len, "%zu aliases for %zu models", o->aliases.n, n);
    return HR_EINVAL;
  }
  char *tmpl = NULL;
  size_t tmpl_len;
  if (o->chat_template && !(tmpl = hr_file_read(o->chat_template, &tmpl_len))) {
    snprintf(err, err_len, "cannot read %s", o->chat_template);
    return HR_EIO;
  }
  int rc = HR_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    eng_model_params p;
    eng_model_params_default(&p);
    p.path = paths[i];
    p.name = i < o->aliases.n ? o->aliases.items[i] : NULL;
    p.n_slots = (int)o->slots;
    p.n_ctx = (int)o->ctx_size;
    p.n_threads = (int)o->threads;
    p.n_batch = (int)o->batch;
    p.n_batch_busy = (int)o->batch_busy;
    p.queue_max = (int)o->queue;
    uint64_t t0 = hr_now_ns();
    eng_model *m;
    if ((rc = eng_model_open(&p, &m, err, err_len))) break;
    if ((rc = api_add_model(ctx, m, tmpl, err, err_len))) {
      eng_model_close(m);
      break;
    }
    eng_model_info info;
    eng_model_get_info(m, &info);
    hr_log(HR_LOG_INFO, "model %s: %s %s, %d slots x %d tokens, loaded in %.0f ms from %s%s",
           info.name, info.arch, info.type_name ? info.type_name : "", info.n_slots, info.n_ctx,
           (double)(hr_now_ns() - t0) / 1e6, paths[i],
           info.weights_streamed ? " (weights streamed from memory: its float products prefetch them)" : "");
  }
  free(tmpl);
  return rc;
}

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
  eng_model_params ep;
  eng_model_params_default(&ep);
  o.slots = ep.n_slots;
  o.ctx_size = ep.n_ctx;
  o.threads = ep.n_threads;
  o.batch = ep.n_batch;
  o.batch_busy = ep.n_batch_busy;
  o.queue = ep.queue_max;
  const hr_option opts[] = {
      {"host", 0, OPT_STR, &o.host, "address to listen on", 0, 0},
      {"port", 'p', OPT_INT, &o.port, "TCP port (0: any free port)", 0, 65535},
      {"data", 'd', OPT_STR, &o.data, "data directory (SQLite database, files)", 0, 0},
      {"io-threads", 0, OPT_INT, &o.io_threads, "I/O loop threads (the core count unless set)", 1, 256},
      {"access-log", 0, OPT_STR, &o.access_log, "access log: stdout, stderr, off or a file path", 0, 0},
      {"max-body-bytes", 0, OPT_INT, &o.max_body_bytes, "default request body limit", 1, 1L << 40},
      {"header-timeout-ms", 0, OPT_INT, &o.header_timeout_ms, "time allowed to send a request's headers, and a new connection its first bytes", 100, 3600000},
      {"body-timeout-ms", 0, OPT_INT, &o.body_timeout_ms, "time allowed to send a request's body", 100, 3600000},
      {"idle-timeout-ms", 0, OPT_INT, &o.idle_timeout_ms, "keep-alive wait for the next request", 100, 3600000},
      {"shutdown-timeout-ms", 0, OPT_INT, &o.shutdown_timeout_ms, "on SIGTERM, time in-flight requests get to finish", 0, 3600000},
      {"max-connections", 0, OPT_INT, &o.max_connections, "open client connections at most", 1, 1000000},
      {"log-level", 0, OPT_STR, &o.log_level, "debug, info, warn or error", 0, 0},
      {"model", 'm', OPT_LIST, &o.models, "a GGUF model to serve (repeat for more; default: models/smollm2-135m-instruct.gguf and models/all-minilm-l6-v2.gguf, those present, else models/stories260K.gguf)", 0, 0},
      {"alias", 0, OPT_LIST, &o.aliases, "the API name of the model given at the same position (default: the file stem)", 0, 0},
      {"slots", 0, OPT_INT, &o.slots, "sequences decoded together per model", 1, 256},
      {"ctx-size", 'c', OPT_INT, &o.ctx_size, "context per sequence (0: the model's, at most 4096)", 0, 1 << 20},
      {"threads", 't', OPT_INT, &o.threads, "compute threads per model", 1, 256},
      {"batch", 0, OPT_INT, &o.batch, "tokens per forward step at most (prompt chunk)", 1, 8192},
      {"batch-busy", 0, OPT_INT, &o.batch_busy, "prompt tokens per step while other sequences generate (their inter-token gap)", 1, 8192},
      {"queue", 0, OPT_INT, &o.queue, "requests waiting for a slot before 503", 0, 100000},
      {"chat-template", 0, OPT_STR, &o.chat_template, "a Jinja chat template FILE for every chat model", 0, 0},
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
  ctx.work = hr_workq_new(2);
  ctx.intake = hr_workq_new(1);

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
  int exit_code = 0;
  if (load_models(&ctx, &o, err, err_len)) {
    fprintf(stderr, "hearth serve: %s\n", err);
    exit_code = 1;
    goto stop;
  }
  atomic_store(&ctx.models_ready, true);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  hr_log(HR_LOG_INFO, "%s: stopping; in-flight requests get %ld ms", sig == SIGINT ? "SIGINT" : "SIGTERM",
         o.shutdown_timeout_ms);
stop:
  http_server_shutdown(ctx.server, (uint32_t)o.shutdown_timeout_ms);
  /* The loops have stopped, so no body enters the intake now; what it still
   * reads finds the models open and posts to closed loops. */
  hr_workq_free(ctx.intake);
  /* The models close before the server is freed: a request still in a
   * model past the deadline gets its last callback now, and the answer it
   * posts must find the (closed) loop to be refused by, not freed memory. */
  api_close_models(&ctx);
  hr_workq_free(ctx.work);
  http_server_free(ctx.server);
  store_close(ctx.db);
  hr_log(HR_LOG_INFO, "stopped");
  return exit_code;
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
  if (!strcmp(cmd, "pull")) return eng_cli_pull(argc - 2, argv + 2);
  if (!strcmp(cmd, "models")) return eng_cli_models(argc - 2, argv + 2);
  if (!strcmp(cmd, "tokenize")) return tok_cli_tokenize(argc - 1, argv + 1); /* argv[0]: "tokenize" */
  if (!strcmp(cmd, "template")) return chat_template_cli(argc - 1, argv + 1);
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
