/* embed_cli.c — `hearth embed -m FILE TEXT...`: one JSON array of floats
 * per text, one per line, L2-normalized unless --no-normalize. Texts are
 * tokenized with the model's special tokens (CLS/SEP for BERT) and cut at
 * the model's context, as the embeddings API does. */
#include "forward.h"
#include "model.h"

#include "../base/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int eng_cli_embed(int argc, char **argv) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  const char *path = NULL;
  long threads = cores > 0 ? cores : 1;
  bool no_normalize = false;
  hr_opt_list texts = {0};
  const hr_option opts[] = {
      {"model", 'm', OPT_STR, &path, "GGUF embedding model (bert)", 0, 0},
      {"threads", 't', OPT_INT, &threads, "compute threads", 1, 256},
      {"no-normalize", 0, OPT_BOOL, &no_normalize, "do not L2-normalize", 0, 0},
  };
  hr_arena *a = hr_arena_new(4096);
  char err[512];
  bool help;
  int rc = 2;
  model *m = NULL;
  hr_pool *pool = NULL;
  bert_ctx *bc = NULL;
  int32_t *ids = NULL;
  float *out = NULL;
  if (!a) return 1;
  if (hr_options_parse(a, opts, HR_ARRAY_LEN(opts), argc, argv, &texts, &help, err, sizeof err)) {
    fprintf(stderr, "hearth embed: %s\n", err);
    goto done;
  }
  if (help || !path || texts.n == 0) {
    printf("usage: hearth embed -m FILE [options] TEXT...\n\n");
    hr_options_help(stdout, opts, HR_ARRAY_LEN(opts));
    rc = help ? 0 : 2;
    goto done;
  }
  rc = 1;
  if (model_load(path, &m, err, sizeof err)) {
    fprintf(stderr, "hearth embed: %s\n", err);
    goto done;
  }
  if (m->hp.arch != ARCH_BERT) {
    fprintf(stderr, "hearth embed: %s is a %s model; embeddings need a bert model\n", path,
            m->hp.arch_name);
    goto done;
  }
  int ctx = m->hp.n_ctx_train, E = m->hp.n_embd;
  pool = hr_pool_new((int)threads);
  ids = malloc(sizeof(int32_t) * (size_t)ctx);
  out = malloc(sizeof(float) * (size_t)E);
  if (!pool || !ids || !out || bert_ctx_new(m, pool, ctx, &bc)) goto done;
  for (size_t t = 0; t < texts.n; t++) {
    size_t n = 0;
    tok_encode(m->tok, texts.items[t], strlen(texts.items[t]), true, true, ids, (size_t)ctx, &n);
    int len = (int)HR_MIN(n, (size_t)ctx);
    if (n > (size_t)ctx && tok_sep(m->tok) >= 0) ids[len - 1] = tok_sep(m->tok); /* keep [SEP] */
    if (bert_embed(bc, ids, &len, 1, !no_normalize, out)) {
      fprintf(stderr, "hearth embed: the model failed on text %zu\n", t);
      goto done;
    }
    putchar('[');
    for (int d = 0; d < E; d++) printf("%s%.9g", d ? "," : "", out[d]);
    printf("]\n");
  }
  rc = 0;
done:
  bert_ctx_free(bc);
  hr_pool_free(pool);
  free(ids);
  free(out);
  model_free(m);
  hr_arena_free(a);
  return rc;
}
