/* template_cli.c — `hearth template [--now UNIX_SECONDS] FILE.jinja CASE.json`:
 * renders a chat template against the variables in a JSON object (messages,
 * tools, add_generation_prompt, bos_token, ...) and prints the prompt as is.
 * For checking a model's template by hand and for comparing with Jinja2.
 * This is the only part of the template code that touches files. */
#include "chat_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int chat_template_cli(int argc, char **argv) {
  int64_t now_s = 0;
  int i = 1;
  if (i + 1 < argc && strcmp(argv[i], "--now") == 0) {
    now_s = strtoll(argv[i + 1], NULL, 10);
    i += 2;
  }
  if (argc - i != 2) {
    fprintf(stderr, "usage: hearth template [--now UNIX_SECONDS] FILE.jinja CASE.json\n");
    return 2;
  }
  size_t tlen, clen;
  char *tsrc = hr_file_read(argv[i], &tlen), *csrc = hr_file_read(argv[i + 1], &clen);
  if (!tsrc || !csrc) {
    fprintf(stderr, "hearth template: cannot read %s\n", !tsrc ? argv[i] : argv[i + 1]);
    free(tsrc);
    free(csrc);
    return 2;
  }
  int status = 2;
  char err[512];
  hr_arena *a = hr_arena_new(1 << 16);
  chat_template *t = NULL;
  json_value *j = NULL;
  json_error jerr;
  hr_buf out = HR_BUF_INIT;
  if (!a) goto done;
  if (json_read(a, csrc, clen, NULL, &j, &jerr)) {
    fprintf(stderr, "hearth template: %s:%zu:%zu: %s\n", argv[i + 1], jerr.line, jerr.col, jerr.message);
    goto done;
  }
  if (j->type != JSON_OBJECT) {
    fprintf(stderr, "hearth template: %s: expected a JSON object\n", argv[i + 1]);
    goto done;
  }
  jinja_value *ctx = jinja_from_json(a, j);
  if (!ctx) {
    fprintf(stderr, "hearth template: out of memory\n");
    goto done;
  }
  if (chat_template_compile(tsrc, tlen, &t, err, sizeof err)) {
    fprintf(stderr, "%s: %s\n", argv[i], err);
    status = 1;
    goto done;
  }
  chat_template_limits lim = {.now_s = now_s};
  if (chat_template_render(t, a, ctx, &lim, &out, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = 1;
    goto done;
  }
  fwrite(out.data ? out.data : "", 1, out.len, stdout);
  fflush(stdout);
  status = 0;
done:
  hr_buf_free(&out);
  chat_template_free(t);
  hr_arena_free(a);
  free(tsrc);
  free(csrc);
  return status;
}
