/* run_cli.c — `hearth run`: load a model, tokenize a prompt, generate.
 * Prints the continuation (not the prompt, unless --echo) to stdout as it
 * is generated, in whole UTF-8 characters; with --ids, the generated token
 * ids on stderr; with --logprobs N, each token's top N on stderr; with
 * --json or --json-schema FILE, only JSON the schema allows (the server's
 * response_format), ending at the closing brace. */
#include "forward.h"
#include "kernels.h"
#include "model.h"
#include "sample_constrained.h"
#include "sampler.h"

#include "../base/options.h"
#include "../json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *model_path;
  const char *prompt;
  long n_predict, threads, ctx, seed, top_k, logprobs, repeat_last_n;
  const char *temp, *top_p, *min_p, *repeat_penalty;
  bool echo, ids, no_bos, parse_special, json;
  long batch;
  const char *dump_logits, *json_schema;
} run_options;

/* The output constraint --json or --json-schema asks for, in *out (NULL:
 * none). Non-zero, with the reason on stderr, for a file that cannot be
 * read or parsed or a schema that cannot be enforced. */
static int load_constraint(const run_options *o, jc_schema **out) {
  *out = NULL;
  if (!o->json && !o->json_schema) return 0;
  char err[400];
  if (!o->json_schema) {
    if (jc_compile(NULL, out, err, sizeof err) == 0) return 0;
    fprintf(stderr, "hearth run: %s\n", err);
    return 1;
  }
  size_t len;
  char *text = hr_file_read(o->json_schema, &len);
  if (!text) {
    fprintf(stderr, "hearth run: cannot read %s\n", o->json_schema);
    return 1;
  }
  hr_arena *a = hr_arena_new(4096);
  json_value *schema = NULL;
  json_error jerr;
  int rc = 1;
  if (!a) {
    fprintf(stderr, "hearth run: out of memory\n");
  } else if (json_read(a, text, len, NULL, &schema, &jerr)) {
    fprintf(stderr, "hearth run: %s: %s\n", o->json_schema, jerr.message);
  } else if (jc_compile(schema, out, err, sizeof err)) {
    fprintf(stderr, "hearth run: %s: %s\n", o->json_schema, err);
  } else {
    rc = 0;
  }
  hr_arena_free(a);
  free(text);
  return rc;
}

/* Appends n rows of logits as little-endian f32 to path (created anew when
 * first). For checking the forward pass against a reference. */
static int dump_rows(const char *path, const fwd_ctx *fc, int n, int n_vocab, bool first) {
  FILE *f = fopen(path, first ? "wb" : "ab");
  if (!f) {
    fprintf(stderr, "hearth run: cannot write %s\n", path);
    return -1;
  }
  for (int i = 0; i < n; i++) fwrite(fwd_logits(fc, i), sizeof(float), (size_t)n_vocab, f);
  return fclose(f) == 0 ? 0 : -1;
}

static int run(const run_options *o) {
  char err[512];
  model *m;
  jc_schema *jc = NULL;
  jc_state *jcs = NULL;
  if (load_constraint(o, &jc)) return 1;
  if (model_load(o->model_path, &m, err, sizeof err)) {
    fprintf(stderr, "hearth run: %s\n", err);
    jc_free(jc);
    return 1;
  }
  int rc = 1;
  if (m->hp.arch == ARCH_BERT) {
    fprintf(stderr, "hearth run: %s is an embedding model (bert); use hearth embed\n",
            o->model_path);
    model_free(m);
    jc_free(jc);
    return 1;
  }
  size_t plen = strlen(o->prompt), cap = plen + 16, n_prompt = 0;
  int32_t *ids = malloc(sizeof(int32_t) * (cap + (size_t)o->n_predict));
  kv_cache *kv = NULL;
  fwd_ctx *fc = NULL;
  sampler *smp = NULL;
  hr_pool *pool = hr_pool_new((int)o->threads);
  int n_ctx = (int)(o->ctx > 0 ? o->ctx : HR_MIN(m->hp.n_ctx_train, 4096));
  if (!ids || !pool) goto out;
  if (tok_encode(m->tok, o->prompt, plen, !o->no_bos, o->parse_special, ids, cap, &n_prompt) ==
      HR_ERANGE) {
    /* More tokens than the guess: size exactly and encode again. */
    int32_t *bigger = realloc(ids, sizeof(int32_t) * (n_prompt + (size_t)o->n_predict));
    if (!bigger) goto out;
    ids = bigger;
    tok_encode(m->tok, o->prompt, plen, !o->no_bos, o->parse_special, ids, n_prompt, &n_prompt);
  }
  if (n_prompt == 0) {
    fprintf(stderr, "hearth run: the prompt is empty\n");
    goto out;
  }
  if ((int)n_prompt + (int)o->n_predict > n_ctx) {
    fprintf(stderr, "hearth run: %zu prompt tokens + %ld to generate exceed the context of %d\n",
            n_prompt, o->n_predict, n_ctx);
    goto out;
  }
  int n_batch = HR_MIN((int)n_prompt, o->batch > 0 ? (int)o->batch : 512);
  if (kv_cache_new(m, 1, n_ctx, &kv) || fwd_ctx_new(m, kv, pool, HR_MAX(n_batch, 1), &fc)) {
    fprintf(stderr, "hearth run: out of memory\n");
    goto out;
  }
  sampler_params sp;
  sampler_params_default(&sp);
  sp.temperature = (float)atof(o->temp);
  sp.top_k = (int)o->top_k;
  sp.top_p = (float)atof(o->top_p);
  sp.min_p = (float)atof(o->min_p);
  sp.repeat_penalty = (float)atof(o->repeat_penalty);
  sp.repeat_last_n = (int)o->repeat_last_n;
  sp.seed = (uint64_t)o->seed;
  if (sampler_new(&sp, m->hp.n_vocab, &smp)) goto out;
  if (jc) {
    if (!(jcs = malloc(sizeof *jcs))) goto out;
    jc_init(jc, jcs);
  }
  for (size_t i = 0; i < n_prompt; i++) sampler_accept(smp, ids[i]);
  if (o->echo) {
    fwrite(o->prompt, 1, plen, stdout);
    fflush(stdout);
  }
  /* prefill in batches of n_batch */
  fwd_token *batch = malloc(sizeof(fwd_token) * (size_t)n_batch);
  if (!batch) goto out;
  for (size_t at = 0; at < n_prompt; at += (size_t)n_batch) {
    int n = (int)HR_MIN((size_t)n_batch, n_prompt - at);
    bool all = o->dump_logits != NULL;
    for (int i = 0; i < n; i++)
      batch[i] = (fwd_token){ids[at + (size_t)i], 0, (int32_t)(at + (size_t)i),
                             all || at + (size_t)i == n_prompt - 1};
    if (fwd_decode(fc, batch, n)) {
      fprintf(stderr, "hearth run: decode failed\n");
      free(batch);
      goto out;
    }
    if (all && dump_rows(o->dump_logits, fc, n, m->hp.n_vocab, at == 0)) {
      free(batch);
      goto out;
    }
  }
  free(batch);
  if (o->dump_logits) {
    rc = 0;
    goto out;
  }
  float *logits = malloc(sizeof(float) * (size_t)m->hp.n_vocab);
  token_logprob chosen, top[20];
  int n_top = (int)HR_MIN(o->logprobs, 20);
  tok_stream ts = TOK_STREAM_INIT;
  /* The stream decoder needs room for a held-back character and a piece. */
  size_t piece_cap = 3 * tok_max_piece_len(m->tok) + 16;
  char *piece = malloc(piece_cap);
  int pos = (int)n_prompt;
  bool whole = !jcs, stuck = false; /* a constrained answer is whole at its closing brace */
  for (long g = 0; g < o->n_predict && logits && piece; g++) {
    int32_t id = sample_constrained(smp, m->tok, jcs, fwd_logits(fc, 0), logits, m->hp.n_vocab, n_top,
                                    n_top ? &chosen : NULL, top);
    if (id < 0) {
      fprintf(stderr, "hearth run: no token continues the JSON the schema allows\n");
      stuck = true;
      break;
    }
    if (o->ids) fprintf(stderr, "%s%d", g ? " " : "", id);
    if (n_top) {
      fprintf(stderr, "%stop:", o->ids ? "\n" : "");
      for (int i = 0; i < n_top; i++) fprintf(stderr, " %d:%.4f", top[i].id, top[i].logprob);
      fprintf(stderr, "\n");
    }
    if (tok_is_eog(m->tok, id)) break;
    sampler_accept(smp, id);
    size_t w = tok_stream_push(&ts, m->tok, id, false, piece, piece_cap);
    fwrite(piece, 1, w, stdout);
    fflush(stdout);
    if (jcs && jc_complete(jcs)) {
      whole = true;
      break;
    }
    if (g + 1 == o->n_predict) break;
    fwd_token t = {id, 0, pos++, true};
    if (fwd_decode(fc, &t, 1)) break;
  }
  if (piece) fwrite(piece, 1, tok_stream_flush(&ts, piece, piece_cap), stdout);
  if (o->ids) fprintf(stderr, "\n");
  free(logits);
  free(piece);
  rc = 0;
  if (!whole) { /* the script reading stdout must not take it for JSON */
    if (!stuck) fprintf(stderr, "hearth run: the JSON is incomplete after %ld tokens (-n)\n", o->n_predict);
    rc = 1;
  }
out:
  free(jcs);
  jc_free(jc);
  sampler_free(smp);
  fwd_ctx_free(fc);
  kv_cache_free(kv);
  hr_pool_free(pool);
  free(ids);
  model_free(m);
  return rc;
}

static int run_checked(void *ctx) {
  const run_options *o = ctx;
  if (!o->model_path) {
    fprintf(stderr, "hearth run: -m FILE is required\n");
    return 2;
  }
  return run(o);
}

int eng_cli_run(int argc, char **argv) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  run_options o = {.prompt = "", .n_predict = 128, .threads = cores > 0 ? cores : 1,
                   .seed = 0x5eed, .top_k = 40, .temp = "0.8", .top_p = "0.95",
                   .min_p = "0.05", .repeat_penalty = "1.0", .repeat_last_n = 64};
  const hr_option opts[] = {
      {"model", 'm', OPT_STR, &o.model_path, "GGUF model file", 0, 0},
      {"prompt", 'p', OPT_STR, &o.prompt, "prompt text", 0, 0},
      {"n-predict", 'n', OPT_INT, &o.n_predict, "tokens to generate", 0, 1 << 20},
      {"threads", 't', OPT_INT, &o.threads, "compute threads", 1, 256},
      {"ctx-size", 'c', OPT_INT, &o.ctx, "context size (0: the model's, at most 4096)", 0, 1 << 20},
      {"temp", 0, OPT_STR, &o.temp, "temperature (0: greedy)", 0, 0},
      {"top-k", 0, OPT_INT, &o.top_k, "top-k (0: off)", 0, 1 << 20},
      {"top-p", 0, OPT_STR, &o.top_p, "top-p (1: off)", 0, 0},
      {"min-p", 0, OPT_STR, &o.min_p, "min-p (0: off)", 0, 0},
      {"repeat-penalty", 0, OPT_STR, &o.repeat_penalty, "repetition penalty (1: off)", 0, 0},
      {"repeat-last-n", 0, OPT_INT, &o.repeat_last_n, "tokens the penalties look back", 0, 1 << 20},
      {"seed", 's', OPT_INT, &o.seed, "random seed", 0, 1L << 62},
      {"logprobs", 0, OPT_INT, &o.logprobs, "print the top N log-probabilities per token on stderr", 0, 20},
      {"echo", 0, OPT_BOOL, &o.echo, "print the prompt before the continuation", 0, 0},
      {"ids", 0, OPT_BOOL, &o.ids, "print the generated token ids on stderr", 0, 0},
      {"no-bos", 0, OPT_BOOL, &o.no_bos, "do not add the BOS token", 0, 0},
      {"parse-special", 0, OPT_BOOL, &o.parse_special, "special-token texts in the prompt become those tokens", 0, 0},
      {"batch", 'b', OPT_INT, &o.batch, "prompt tokens per forward step (0: 512)", 0, 8192},
      {"dump-logits", 0, OPT_STR, &o.dump_logits, "write every prompt position's logits (f32) to FILE and stop", 0, 0},
      {"json", 0, OPT_BOOL, &o.json, "answer with a JSON object only", 0, 0},
      {"json-schema", 0, OPT_STR, &o.json_schema, "answer with JSON that the JSON Schema in FILE allows", 0, 0},
  };
  return hr_options_command("run", "hearth run -m FILE -p PROMPT [options]", opts,
                            HR_ARRAY_LEN(opts), argc, argv, NULL, run_checked, &o);
}
