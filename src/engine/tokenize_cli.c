/* tokenize_cli.c — `hearth tokenize`: the ids a model's tokenizer gives a
 * text, printed on one line. Useful for comparing with llama.cpp's
 * llama-tokenize --ids and for debugging chat templates.
 *
 * With --jsonl FILE it tokenizes many texts with one load of the model:
 * FILE ("-" for standard input) holds one JSON string per line, so any
 * text — tabs, CR, LF, NUL — can be given exactly; one line of ids is
 * printed per input line, in order (an empty line for a text with no ids).
 * tests/integration/tokenizer_hf.test.js drives this mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../json/json.h"
#include "tokenizer.h"

static int usage_to(FILE *out, int rc) {
  fprintf(out,
          "usage: hearth tokenize -m FILE [--add-special] [--parse-special] TEXT\n"
          "       hearth tokenize -m FILE [--add-special] [--parse-special] --jsonl FILE\n"
          "  -m, --model FILE    a GGUF file with tokenizer metadata\n"
          "  --add-special       add BOS/EOS (or CLS/SEP) as the model asks\n"
          "  --parse-special     turn special-token texts in TEXT into those tokens\n"
          "  --jsonl FILE        tokenize each line of FILE (a JSON string; - for stdin),\n"
          "                      printing one line of ids per input line\n");
  return rc;
}
static int usage(void) { return usage_to(stderr, 2); }

/* Encodes text into *ids (grown as needed; *cap its capacity in ids) and
 * prints them on one line. Returns 0 or a negative hr_err. */
static int print_ids(const tokenizer *t, const char *text, size_t len, bool add_special,
                     bool parse_special, int32_t **ids, size_t *cap) {
  size_t want = len + 8, n = 0;
  if (*cap < want) {
    int32_t *p = realloc(*ids, want * sizeof *p);
    if (!p) return HR_ENOMEM;
    *ids = p, *cap = want;
  }
  int rc = tok_encode(t, text, len, add_special, parse_special, *ids, *cap, &n);
  if (rc == HR_ERANGE) { /* rare: a space that falls back to bytes is 3 tokens */
    int32_t *p = realloc(*ids, n * sizeof *p);
    if (!p) return HR_ENOMEM;
    *ids = p, *cap = n;
    rc = tok_encode(t, text, len, add_special, parse_special, *ids, *cap, &n);
  }
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (*ids)[i]);
  printf("\n");
  return 0;
}

/* The whole of path ("-": standard input) into b. */
static int read_file(const char *path, hr_buf *b) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) return HR_EIO;
  char tmp[65536];
  size_t n;
  int rc = 0;
  while (rc == 0 && (n = fread(tmp, 1, sizeof tmp, f)) > 0) rc = hr_buf_append(b, tmp, n);
  if (rc == 0 && ferror(f)) rc = HR_EIO;
  if (f != stdin) fclose(f);
  return rc;
}

/* --jsonl: every line of path is a JSON string to tokenize. A final newline
 * ends the last line; it does not start an empty one. */
static int run_jsonl(const tokenizer *t, const char *path, bool add_special, bool parse_special) {
  hr_buf in = HR_BUF_INIT;
  int rc = read_file(path, &in);
  if (rc) {
    fprintf(stderr, "hearth tokenize: %s: %s\n", path, hr_strerror(rc));
    hr_buf_free(&in);
    return 1;
  }
  hr_arena *a = hr_arena_new(1 << 16);
  int32_t *ids = NULL;
  size_t cap = 0, line_no = 0, at = 0;
  int status = a ? 0 : 1;
  while (status == 0 && at < in.len) {
    const char *line = in.data + at;
    const char *nl = memchr(line, '\n', in.len - at);
    size_t len = nl ? (size_t)(nl - line) : in.len - at;
    at += len + (nl ? 1 : 0);
    line_no++;
    json_value *v;
    json_error je;
    hr_arena_reset(a);
    rc = json_read(a, line, len, NULL, &v, &je);
    if (rc == 0 && v->type != JSON_STRING) {
      fprintf(stderr, "hearth tokenize: %s:%zu: expected a JSON string, got %s\n", path,
              line_no, json_type_name(v->type));
      status = 1;
    } else if (rc) {
      fprintf(stderr, "hearth tokenize: %s:%zu: %s\n", path, line_no, je.message);
      status = 1;
    } else if ((rc = print_ids(t, v->u.str.ptr, v->u.str.len, add_special, parse_special, &ids,
                               &cap))) {
      fprintf(stderr, "hearth tokenize: %s:%zu: %s\n", path, line_no, hr_strerror(rc));
      status = 1;
    }
  }
  if (!a) fprintf(stderr, "hearth tokenize: %s\n", hr_strerror(HR_ENOMEM));
  if (fflush(stdout) != 0) status = 1;
  free(ids);
  hr_arena_free(a);
  hr_buf_free(&in);
  return status;
}

/* argv[0] is the command name ("tokenize"); options and TEXT follow. */
int tok_cli_tokenize(int argc, char **argv) {
  const char *model = NULL, *text = NULL, *jsonl = NULL;
  bool add_special = false, parse_special = false, opts_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!opts_done && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) return usage_to(stdout, 0);
    if (!opts_done && (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0)) {
      if (++i >= argc) return usage();
      model = argv[i];
    } else if (!opts_done && strcmp(a, "--add-special") == 0) {
      add_special = true;
    } else if (!opts_done && strcmp(a, "--parse-special") == 0) {
      parse_special = true;
    } else if (!opts_done && strcmp(a, "--jsonl") == 0) {
      if (++i >= argc) return usage();
      jsonl = argv[i];
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
  if (!model || (!text && !jsonl)) return usage();
  if (text && jsonl) {
    fprintf(stderr, "hearth tokenize: TEXT or --jsonl FILE, not both\n");
    return usage();
  }

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
  int status = 0;
  if (jsonl) {
    status = run_jsonl(t, jsonl, add_special, parse_special);
  } else {
    int32_t *ids = NULL;
    size_t cap = 0;
    rc = print_ids(t, text, strlen(text), add_special, parse_special, &ids, &cap);
    if (rc) {
      fprintf(stderr, "hearth tokenize: %s\n", hr_strerror(rc));
      status = 1;
    }
    free(ids);
  }
  tok_free(t);
  return status;
}
