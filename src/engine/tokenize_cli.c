/* tokenize_cli.c — `hearth tokenize`: the ids a model's tokenizer gives a
 * text, printed on one line. Useful for comparing with llama.cpp's
 * llama-tokenize --ids and for debugging chat templates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

static int usage(void) {
  fprintf(stderr,
          "usage: hearth tokenize -m FILE [--add-special] [--parse-special] TEXT\n"
          "  -m, --model FILE    a GGUF file with tokenizer metadata\n"
          "  --add-special       add BOS/EOS (or CLS/SEP) as the model asks\n"
          "  --parse-special     turn special-token texts in TEXT into those tokens\n");
  return 2;
}

/* argv[0] is the command name ("tokenize"); options and TEXT follow. */
int tok_cli_tokenize(int argc, char **argv) {
  const char *model = NULL, *text = NULL;
  bool add_special = false, parse_special = false, opts_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!opts_done && (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0)) {
      if (++i >= argc) return usage();
      model = argv[i];
    } else if (!opts_done && strcmp(a, "--add-special") == 0) {
      add_special = true;
    } else if (!opts_done && strcmp(a, "--parse-special") == 0) {
      parse_special = true;
    } else if (!opts_done && strcmp(a, "--") == 0) {
      opts_done = true;
    } else if (!opts_done && a[0] == '-' && a[1] != 0) {
      fprintf(stderr, "hearth tokenize: unknown option '%s'\n", a);
      return usage();
    } else if (!text) {
      text = a;
    } else {
      fprintf(stderr, "hearth tokenize: one TEXT only (quote it)\n");
      return usage();
    }
  }
  if (!model || !text) return usage();

  char err[512];
  gguf_file *g;
  tokenizer *t;
  int rc = gguf_open(model, &g, err, sizeof err);
  if (rc) {
    fprintf(stderr, "hearth tokenize: %s\n", err);
    return 1;
  }
  rc = tok_load(g, &t, err, sizeof err);
  gguf_close(g);
  if (rc) {
    fprintf(stderr, "hearth tokenize: %s: %s\n", model, err);
    return 1;
  }
  size_t len = strlen(text), max = len + 8, n = 0;
  int32_t *ids = malloc(max * sizeof *ids);
  rc = ids ? tok_encode(t, text, len, add_special, parse_special, ids, max, &n) : HR_ENOMEM;
  if (rc == HR_ERANGE) { /* rare: a space that falls back to bytes is 3 tokens */
    free(ids);
    max = n;
    ids = malloc(max * sizeof *ids);
    rc = ids ? tok_encode(t, text, len, add_special, parse_special, ids, max, &n) : HR_ENOMEM;
  }
  if (rc) {
    fprintf(stderr, "hearth tokenize: %s\n", hr_strerror(rc));
    free(ids);
    tok_free(t);
    return 1;
  }
  for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
  printf("\n");
  free(ids);
  tok_free(t);
  return 0;
}
