/* engine — hearth's inference engine: GGUF models on the CPU, served to many
 * requests at once.
 *
 * A served model (eng_model) owns its weights, tokenizer, KV cache of S
 * slots and one scheduler thread. The scheduler runs the decode loop:
 * between two forward steps it admits waiting requests into free slots
 * (reusing the KV of a slot whose cached tokens begin like the new prompt),
 * drops cancelled ones, prefills long prompts in chunks so running streams
 * keep flowing, and runs one step for every active sequence together
 * (continuous batching). Embedding models run batches of texts the same way.
 *
 * Threads: eng_* functions may be called from any thread. Events about a
 * request are delivered on the scheduler thread through the request's
 * callback, which must not block (copy, hand off, return).
 *
 * Ownership: an eng_seq is shared by the engine and the submitter; each
 * side drops its hold (the engine after the DONE event, the submitter with
 * eng_seq_release), and the last one frees it. */
#ifndef HEARTH_ENGINE_H
#define HEARTH_ENGINE_H

#include "../base/base.h"
#include "sampler.h"

typedef struct eng_model eng_model;
typedef struct eng_seq eng_seq;
typedef struct tokenizer tokenizer;
typedef struct jc_schema jc_schema;

typedef struct {
  const char *path;
  const char *name;  /* the API's model id; NULL: the file stem */
  int n_slots;       /* sequences decoded together (S) */
  int n_ctx;         /* tokens per slot; 0: the model's, at most 4096 */
  int n_threads;     /* compute threads */
  int n_batch;       /* tokens per forward step at most (prefill chunk) */
  int n_batch_busy;  /* prompt tokens per step while other sequences generate */
  int queue_max;     /* requests waiting for a slot before 503 */
} eng_model_params;

void eng_model_params_default(eng_model_params *p);
int eng_model_open(const eng_model_params *p, eng_model **out, char *err, size_t err_len);
/* Stops the scheduler (pending requests end with ENG_FINISH_CANCELLED)
 * and frees the model. */
void eng_model_close(eng_model *m);

typedef struct {
  const char *name;
  const char *arch;      /* "llama", "qwen2", "bert" */
  const char *type_name; /* weight type of the attention, "q4_0" */
  bool is_embedding;
  int n_ctx;             /* per slot */
  int n_ctx_train;
  int n_embd;
  int n_vocab;
  int n_slots;
  int queue_max;         /* requests that may wait for a slot */
  size_t file_bytes;
  int64_t created;       /* Unix seconds: when the model was loaded */
  size_t packed_bytes;   /* weights repacked for the CPU's products (0: none) */
  bool weights_streamed; /* too large to stay cached: float products prefetch them */
  size_t split_bytes;    /* F32/F16 weights split into bfloat16 parts (AMX-BF16 CPUs; 0: none) */
} eng_model_info;

void eng_model_get_info(const eng_model *m, eng_model_info *out);
const tokenizer *eng_model_tokenizer(const eng_model *m);
/* The chat template text from the file, or an empty slice. */
hr_str eng_model_chat_template(const eng_model *m);

/* ---- generation ---------------------------------------------------------- */

typedef enum {
  ENG_FINISH_NONE,
  ENG_FINISH_STOP,      /* end-of-generation token or a stop string */
  ENG_FINISH_LENGTH,    /* max_tokens or the context is full */
  ENG_FINISH_CANCELLED, /* eng_cancel, or the model closed */
  ENG_FINISH_ERROR,
} eng_finish;

/* PROMPT: the log-probability of a prompt token given those before it
 * (eng_gen_params.prompt_logprobs): token is prompt[pos], in order from
 * pos 1, all before the first TOKEN; text is empty. */
typedef enum { ENG_EV_TOKEN, ENG_EV_PROMPT, ENG_EV_DONE } eng_event_kind;

#define ENG_TOP_MAX 20

typedef struct {
  eng_event_kind kind;
  /* TOKEN: the text this token completes (valid UTF-8; may be empty while a
   * character or a possible stop string is held back) */
  const char *text;
  size_t text_len;
  int32_t token;
  token_logprob chosen;          /* when logprobs were asked for */
  token_logprob top[ENG_TOP_MAX];
  int n_top;
  /* DONE */
  eng_finish finish;
  int n_prompt;     /* prompt tokens */
  int n_cached;     /* of which reused from the prompt cache */
  int n_generated;  /* completion tokens */
  double queue_ms;  /* submit to slot */
  double ttft_ms;   /* submit to first token */
  double gen_ms;    /* first token to done */
} eng_event;

typedef void (*eng_event_fn)(eng_seq *s, const eng_event *ev, void *user);

typedef struct {
  const int32_t *prompt; /* copied at submit */
  int n_prompt;
  int max_tokens;        /* <= 0: until the context is full */
  sampler_params sampling;
  const char *const *stop; /* stop strings, copied at submit; ignored under a
                              constraint, whose JSON ends at its own brace
                              (a stop inside it would cut it invalid) */
  int n_stop;
  int n_logprobs;        /* -1: none; 0..ENG_TOP_MAX: chosen + this many top */
  /* With n_logprobs >= 0: PROMPT events for the prompt's tokens too. Such a
   * prompt is computed whole (a cached prefix would have no logits). */
  bool prompt_logprobs;
  /* Generate nothing: the prompt is computed (for its PROMPT events) and
   * the request ends ENG_FINISH_LENGTH. */
  bool prompt_only;
  /* The output must be JSON this automaton accepts (json_constraint.h):
   * tokens that would leave it are never sampled, and the generation ends
   * (ENG_FINISH_STOP) with the token that completes it. eng_submit takes
   * it over whatever it returns. NULL: free text. */
  jc_schema *constraint;
  eng_event_fn on_event;
  void *user;
} eng_gen_params;

/* Queues a generation. HR_EBUSY when the waiting queue is full (answer 503),
 * HR_ERANGE when the prompt does not fit the context (with room for one
 * token), HR_EINVAL for a model that cannot generate. */
int eng_submit(eng_model *m, const eng_gen_params *p, eng_seq **out);
/* Asks the scheduler to stop the request; it ends within one decode step
 * with a DONE event (ENG_FINISH_CANCELLED). Thread-safe; idempotent. */
void eng_cancel(eng_seq *s);
void eng_seq_release(eng_seq *s);

/* ---- embeddings ---------------------------------------------------------- */

/* Called once per eng_embed_submit, on the model's scheduler thread: rc is
 * HR_OK with out filled, HR_ECLOSED when the model closed first, or the
 * model's failure. It should return soon: the next step waits for it. */
typedef void (*eng_embed_fn)(void *user, int rc);
/* Queues the embedding of n texts given as token arrays (texts[i],
 * lens[i]; each cut to the model's context) into out (n rows of n_embd
 * floats, L2-normalized). Returns at once: the model's scheduler thread
 * runs the jobs between steps (an encoder's waiting jobs share passes, one
 * text of each in turn, so a short job does not wait behind a long one)
 * and calls done as each finishes; texts, lens and out must stay valid
 * until then. Without the scheduler in between,
 * a caller would need a thread to wait on, and the waking of it cost each
 * request ~0.1 ms. HR_ECLOSED (done not called) when the model is closing,
 * HR_ENOMEM. */
int eng_embed_submit(eng_model *m, const int32_t *const *texts, const int *lens, int n, float *out,
                     eng_embed_fn done, void *user);
/* eng_embed_submit for a caller that may stop waiting: once *gone reads
 * true (it must stay valid until done), the texts not yet embedded are
 * skipped and done gets HR_ECLOSED (a cancellation in the stats). */
int eng_embed_submit_until(eng_model *m, const int32_t *const *texts, const int *lens, int n,
                           float *out, eng_embed_fn done, void *user, const _Atomic bool *gone);

/* ---- counters for /metrics ---------------------------------------------- */

typedef struct {
  uint64_t requests, cancelled, prompt_tokens, cached_tokens, generated_tokens;
  uint64_t cache_hits;     /* requests that reused cached KV */
  uint64_t rejected_busy;  /* 503: the queue was full */
  uint64_t steps;
  uint64_t mixed_steps;    /* steps with prompt tokens beside generating sequences */
  uint64_t mixed_prompt_max; /* most prompt tokens in one such step */
  int active, waiting;     /* now */
  double busy_seconds;     /* time spent in forward steps */
  uint64_t embedded_texts; /* an encoder's texts embedded */
  uint64_t encoder_passes; /* and the passes they went through (texts of requests share them) */
} eng_stats;

void eng_model_stats(const eng_model *m, eng_stats *out);

/* ---- command line tools ---------------------------------------------------- */

int eng_cli_run(int argc, char **argv);
int eng_cli_bench(int argc, char **argv);
int eng_cli_embed(int argc, char **argv);
int eng_cli_pull(int argc, char **argv);   /* `hearth pull SOURCE`: download a model */
int eng_cli_models(int argc, char **argv); /* `hearth models`: list the models directory */
/* argv[0] is the subcommand name for these two. */
int tok_cli_tokenize(int argc, char **argv);
int chat_template_cli(int argc, char **argv);

#endif
