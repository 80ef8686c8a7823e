/* models_cli.c — `hearth models`: what the models directory holds. One row
 * per *.gguf file, sorted by name: its name (the file stem), size,
 * architecture (general.architecture), quantization (the tensor type
 * holding most of the weight bytes), context length (<arch>.context_length)
 * and parameter count (the sum of the tensors' element counts). A file that
 * does not open as GGUF is listed with the reason instead; a *.gguf.part is
 * an interrupted `hearth pull` and is not listed.
 *
 * Only metadata is read: gguf_open maps the file and checks the header and
 * tensor table, no tensor data is touched, so listing many large models is
 * fast. Exit status: 0, or 1 when the directory cannot be read. */
#include "engine.h"
#include "gguf.h"
#include "pull.h"
#include "tensor_types.h"

#include "../base/options.h"
#include "../json/json.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  char name[PULL_NAME_MAX + 8];
  char path[4096];
  uint64_t bytes;
  char error[256];   /* "" when the file opened */
  char arch[64];
  const char *quant; /* NULL: unknown */
  const char *file_type; /* general.file_type's name, NULL when absent */
  int64_t n_ctx;     /* -1: unknown */
  uint64_t n_params;
} model_row;

/* llama.cpp's llama_ftype numbering, as general.file_type stores it. */
static const char *file_type_name(uint32_t t) {
  static const char *names[] = {
      [0] = "F32",       [1] = "F16",      [2] = "Q4_0",     [3] = "Q4_1",    [7] = "Q8_0",
      [8] = "Q5_0",      [9] = "Q5_1",     [10] = "Q2_K",    [11] = "Q3_K_S", [12] = "Q3_K_M",
      [13] = "Q3_K_L",   [14] = "Q4_K_S",  [15] = "Q4_K_M",  [16] = "Q5_K_S", [17] = "Q5_K_M",
      [18] = "Q6_K",     [19] = "IQ2_XXS", [20] = "IQ2_XS",  [21] = "Q2_K_S", [22] = "IQ3_XS",
      [23] = "IQ3_XXS",  [24] = "IQ1_S",   [25] = "IQ4_NL",  [26] = "IQ3_S",  [27] = "IQ3_M",
      [28] = "IQ2_S",    [29] = "IQ2_M",   [30] = "IQ4_XS",  [31] = "IQ1_M",  [32] = "BF16",
      [36] = "TQ1_0",    [37] = "TQ2_0",   [38] = "MXFP4_MOE",
  };
  return t < HR_ARRAY_LEN(names) ? names[t] : NULL;
}

static void describe(model_row *r) {
  char err[256];
  gguf_file *g;
  if (gguf_open(r->path, &g, err, sizeof err)) {
    snprintf(r->error, sizeof r->error, "%s", err);
    return;
  }
  hr_str s;
  if (gguf_get_str(g, "general.architecture", &s) == 0)
    snprintf(r->arch, sizeof r->arch, "%.*s", (int)HR_MIN(s.len, 60), s.ptr);
  char key[128];
  snprintf(key, sizeof key, "%s.context_length", r->arch);
  uint64_t ctx;
  r->n_ctx = r->arch[0] && gguf_get_u64(g, key, &ctx) == 0 ? (int64_t)ctx : -1;
  uint32_t ft;
  if (gguf_get_u32(g, "general.file_type", &ft) == 0) r->file_type = file_type_name(ft);
  /* Bytes per type over the weight matrices (2 or more dimensions): norms
   * and biases are f32 in every quantization and would only add noise. */
  uint64_t by_type[TT_COUNT_] = {0}, by_type_all[TT_COUNT_] = {0};
  for (size_t i = 0; i < gguf_tensor_count(g); i++) {
    const gguf_tensor *t = gguf_tensor_at(g, i);
    uint64_t n = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) n *= (uint64_t)t->ne[d];
    r->n_params += n;
    if (t->type >= TT_COUNT_) continue;
    by_type_all[t->type] += t->n_bytes;
    if (t->n_dims >= 2) by_type[t->type] += t->n_bytes;
  }
  int best = -1;
  for (int pass = 0; pass < 2 && best < 0; pass++) {
    const uint64_t *b = pass ? by_type_all : by_type;
    for (int t = 0; t < TT_COUNT_; t++)
      if (b[t] && (best < 0 || b[t] > b[best])) best = t;
  }
  r->quant = best >= 0 ? tensor_type_get((uint32_t)best).name : r->file_type;
  gguf_close(g);
}

static void format_params(uint64_t n, char *out, size_t len) {
  if (n >= 1000000000ull) snprintf(out, len, "%.1fB", (double)n / 1e9);
  else if (n >= 1000000ull) snprintf(out, len, "%.1fM", (double)n / 1e6);
  else if (n >= 1000ull) snprintf(out, len, "%.1fK", (double)n / 1e3);
  else snprintf(out, len, "%llu", (unsigned long long)n);
}

static void print_json(const model_row *r) {
  hr_buf b = HR_BUF_INIT;
  json_writer w;
  json_w_init(&w, &b);
  json_w_obj_begin(&w);
  json_w_key(&w, "name"), json_w_str(&w, r->name);
  json_w_key(&w, "path"), json_w_str(&w, r->path);
  json_w_key(&w, "bytes"), json_w_uint(&w, r->bytes);
  if (r->error[0]) {
    json_w_key(&w, "error"), json_w_str(&w, r->error);
  } else {
    json_w_key(&w, "arch");
    r->arch[0] ? json_w_str(&w, r->arch) : json_w_null(&w);
    json_w_key(&w, "quantization");
    r->quant ? json_w_str(&w, r->quant) : json_w_null(&w);
    json_w_key(&w, "file_type");
    r->file_type ? json_w_str(&w, r->file_type) : json_w_null(&w);
    json_w_key(&w, "context_length");
    r->n_ctx >= 0 ? json_w_int(&w, r->n_ctx) : json_w_null(&w);
    json_w_key(&w, "parameters"), json_w_uint(&w, r->n_params);
  }
  json_w_obj_end(&w);
  if (json_w_finish(&w) == 0) printf("%.*s\n", (int)b.len, b.data);
  hr_buf_free(&b);
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const model_row *)a)->name, ((const model_row *)b)->name);
}

/* Reads dir's *.gguf entries into *rows (malloc'd; the caller frees). */
static int scan(const char *dir, model_row **rows, size_t *n_rows) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  size_t n = 0, cap = 0;
  model_row *v = NULL;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len <= 5 || strcmp(e->d_name + len - 5, ".gguf") || e->d_name[0] == '.') continue;
    if (len - 5 > PULL_NAME_MAX) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      model_row *nv = realloc(v, cap * sizeof *v);
      if (!nv) break;
      v = nv;
    }
    model_row *r = &v[n];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%.*s", (int)(len - 5), e->d_name);
    snprintf(r->path, sizeof r->path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(r->path, &st) || !S_ISREG(st.st_mode)) continue;
    r->bytes = (uint64_t)st.st_size;
    n++;
  }
  closedir(d);
  if (n) qsort(v, n, sizeof *v, by_name);
  *rows = v, *n_rows = n;
  return 0;
}

static int list_models(const char *dir, bool json) {
  model_row *rows = NULL;
  size_t n = 0;
  if (scan(dir, &rows, &n)) {
    if (errno == ENOENT) {
      fprintf(stderr, "hearth models: no models directory %s (hearth pull creates it)\n", dir);
      return 0;
    }
    fprintf(stderr, "hearth models: cannot read %s: %s\n", dir, strerror(errno));
    return 1;
  }
  size_t w = 4;
  for (size_t i = 0; i < n; i++) w = HR_MAX(w, strlen(rows[i].name));
  if (!json && n) printf("%-*s  %9s  %-10s  %-8s  %7s  %7s\n", (int)w, "NAME", "SIZE", "ARCH",
                         "QUANT", "CONTEXT", "PARAMS");
  for (size_t i = 0; i < n; i++) {
    model_row *r = &rows[i];
    describe(r);
    if (json) {
      print_json(r);
      continue;
    }
    char size[32], params[32], ctx[32];
    pull_format_bytes(r->bytes, size, sizeof size);
    if (r->error[0]) {
      printf("%-*s  %9s  unreadable: %s\n", (int)w, r->name, size, r->error);
      continue;
    }
    format_params(r->n_params, params, sizeof params);
    if (r->n_ctx >= 0) snprintf(ctx, sizeof ctx, "%lld", (long long)r->n_ctx);
    else snprintf(ctx, sizeof ctx, "-");
    printf("%-*s  %9s  %-10s  %-8s  %7s  %7s\n", (int)w, r->name, size,
           r->arch[0] ? r->arch : "-", r->quant ? r->quant : "-", ctx, params);
  }
  if (!n && !json)
    fprintf(stderr, "hearth models: no models in %s (hearth pull hf:OWNER/REPO/FILE.gguf)\n", dir);
  fflush(stdout);
  free(rows);
  return 0;
}

int eng_cli_models(int argc, char **argv) {
  const char *dir = "models";
  bool json = false;
  const hr_option opts[] = {
      {"models-dir", 0, OPT_STR, &dir, "where models are stored", 0, 0},
      {"json", 0, OPT_BOOL, &json, "one JSON object per model", 0, 0},
  };
  hr_arena *a = hr_arena_new(4096);
  if (!a) return 1;
  char err[512];
  bool help = false;
  int rc = 2;
  if (hr_options_parse(a, opts, HR_ARRAY_LEN(opts), argc, argv, NULL, &help, err, sizeof err)) {
    fprintf(stderr, "hearth models: %s\n", err);
  } else if (help) {
    printf("usage: hearth models [options]\n\n");
    hr_options_help(stdout, opts, HR_ARRAY_LEN(opts));
    rc = 0;
  } else {
    rc = list_models(dir, json);
  }
  hr_arena_free(a);
  return rc;
}
