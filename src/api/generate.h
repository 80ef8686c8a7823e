/* generate.h — one generation request between an HTTP handler (on its I/O
 * loop) and a model's scheduler (on its thread): each of the answer's
 * choices is a sequence of its own (n per prompt; completions may send
 * several prompts); the engine's events are queued under a lock and handed
 * to the loop with one posted task at a time; the loop turns them into SSE
 * frames (each choice's under its index) or one JSON answer.
 * Shared by chat completions and (legacy) completions. */
#ifndef HEARTH_API_GENERATE_H
#define HEARTH_API_GENERATE_H

#include "api.h"
#include "chat_request.h"

#include "../engine/tokenizer.h"
#include "../json/json.h"

#include <pthread.h>
#include <stddef.h>

typedef enum { GEN_CHAT, GEN_COMPLETION } gen_kind;

/* Function calls in the answer: none (text), forced (the constraint makes
 * the answer one {"name", "arguments"} object), or the model's choice
 * ("auto": calls found in the text as tool_calls.h reads them; a stream
 * holds back text from where a call may begin). */
typedef enum { GEN_CALLS_NONE, GEN_CALLS_FORCED, GEN_CALLS_AUTO } gen_calls;

typedef struct gen_event {
  struct gen_event *next;
  int choice;       /* which of the answer's choices */
  eng_event ev;     /* text points into text[] below */
  char text[];
} gen_event;

/* One prompt of a request (completions take a list of them). */
typedef struct {
  const int32_t *ids;    /* token ids, in the request's arena */
  int n_ids;
  hr_str echo;           /* completions: its text to echo first */
} gen_prompt;

/* What to generate: a request's prompts and settings; n choices each. */
typedef struct {
  gen_kind kind;
  const gen_prompt *prompts; /* in the request's arena */
  int n_prompts;
  int n;                 /* choices per prompt (OpenAI's n) */
  int max_tokens;        /* <= 0: until the context is full */
  bool prompt_only;      /* generate nothing (completions: max_tokens 0 scoring an echo) */
  sampler_params sp;     /* choice k of a prompt draws with seed + k */
  const char *const *stop;
  int n_stop;
  int logprobs;          /* -1 none, else top count */
  bool prompt_logprobs;  /* completions' echo: the prompt's tokens scored too */
  bool stream, include_usage;
  /* response_format's automaton or a forced call's, or NULL; gen_start
   * takes it over in every case (every choice shares it) */
  jc_schema *constraint;
  gen_calls calls;       /* tools NULL for GEN_CALLS_NONE */
  const json_value *tools;
  bool one_call;         /* parallel_tool_calls false: the first call only */
} gen_params;

/* One choice of the answer: its sequence and its output so far. */
typedef struct gen_choice {
  struct gen_request *g;
  int index;
  eng_seq *seq;         /* NULL: not submitted, or released at its end */
  bool first_of_prompt; /* its prompt counts in usage through this choice */
  hr_str echo;          /* completions: prompt text to echo first */
  /* completions' echo with logprobs: where its next prompt token's text is
   * looked for in the echo, and whether a stream still owes the echo (sent
   * with the prompt's logprobs once they are all in) */
  size_t prompt_offset;  /* in bytes */
  size_t prompt_chars;   /* the characters before prompt_offset */
  bool space_added;     /* its first text token's space is the tokenizer's */
  bool echo_pending;
  /* accumulated for the non-streaming answer, owned here */
  hr_buf text;
  hr_buf logprob_json;  /* chat: the "content" array items, comma-joined */
  size_t n_logprob_items;
  /* completions: the four parallel logprobs arrays' items, comma-joined
   * (tokens, token_logprobs, top_logprobs, text_offset) */
  hr_buf lp[4];
  size_t text_offset;   /* completions logprobs: character offset of the next token */
  bool sent_role;
  /* GEN_CALLS_AUTO streams: the tokens held back (a call may begin in
   * them), after the text_sent bytes of text that went out */
  size_t text_sent;
  gen_event *held_head, *held_tail;
  gen_event *done_event; /* made at the start for its DONE (the scheduler's until then) */
  eng_event done_ev;    /* its DONE event, once done */
} gen_choice;

typedef struct gen_request {
  http_req *req;
  api_model *model;
  gen_kind kind;
  bool stream;
  bool include_usage;
  int logprobs;         /* -1 none, else top count */
  char id[48];          /* "chatcmpl-..." */
  int64_t created;
  bool aborted;
  gen_calls calls;      /* whether the answer may be function calls */
  const json_value *tools; /* the request's tools (its arena), for calls */
  bool one_call;        /* parallel_tool_calls false: the first call only */
  int n_choices;
  int n_submitted;      /* choices whose sequences the engine took */
  int n_done;           /* of those, ended (loop side) */
  int submit_rc;        /* a choice the engine refused: answered once the others end */
  /* shared with the scheduler thread */
  pthread_mutex_t lock; /* guards events, post_pending, orphaned, n_done_seen */
  gen_event *ev_head, *ev_tail;
  bool post_pending;
  bool orphaned;        /* a post found the server stopped: the request is gone */
  int n_done_seen;      /* DONE events the engine sent */
  gen_choice choices[];
} gen_request;

/* Starts generating: submits to the engine and answers errors itself. On
 * success the request belongs to the generation until it ends. Off the
 * loops (the intake thread) it posts itself to the request's loop. */
void gen_start(http_req *r, api_model *m, const gen_params *p);

/* Whether a request's choices (n per prompt, all its prompts) fit the
 * model's slots and queue together; a 400 naming param when not. */
int gen_check_choices(http_req *r, const api_model *m, int n_choices, const char *param);

/* Sampling settings from request fields (OpenAI's defaults where absent). */
typedef struct {
  bool has_temperature, has_top_p, has_top_k, has_min_p, has_seed, has_repeat_penalty;
  double temperature, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty;
  int64_t top_k, seed;
} gen_sampling_fields;
void gen_sampling(const gen_sampling_fields *f, sampler_params *out);
/* The sampling fields of a chat or completion request (same field names). */
#define GEN_SAMPLING_FIELDS(req)                                                                 \
  ((gen_sampling_fields){.has_temperature = (req).has_temperature,                               \
                         .temperature = (req).temperature,                                       \
                         .has_top_p = (req).has_top_p,                                           \
                         .top_p = (req).top_p,                                                   \
                         .has_top_k = (req).has_top_k,                                           \
                         .top_k = (req).top_k,                                                   \
                         .has_min_p = (req).has_min_p,                                           \
                         .min_p = (req).min_p,                                                   \
                         .has_repeat_penalty = (req).has_repeat_penalty,                         \
                         .repeat_penalty = (req).repeat_penalty,                                 \
                         .presence_penalty = (req).presence_penalty,                             \
                         .frequency_penalty = (req).frequency_penalty,                           \
                         .has_seed = (req).has_seed,                                             \
                         .seed = (req).seed})

/* The stop strings as C strings in the request's arena (NULL when none). */
const char **gen_stop_strings(http_req *r, const hr_str *items, size_t n);

/* Token ids given by the client, checked against the vocabulary; a bad one
 * is a 400 naming "<param>[i]". 0, or an answer was sent. */
int api_token_ids(http_req *r, const int64_t *ids, size_t n, int n_vocab, const char *param,
                  int32_t **out);

/* Parses OpenAI's logit_bias (token id strings to biases) into arrays in
 * the request's arena; answers 400 naming the bad key and returns non-zero. */
int gen_logit_bias(http_req *r, const hr_str *keys, const double *values, size_t n, int n_vocab,
                   sampler_params *sp);

/* An answer's id: prefix and 24 random letters and digits. */
void gen_make_id(char *out, size_t n, const char *prefix);
/* What answers give as system_fingerprint: the build that made them. */
#define GEN_SYSTEM_FINGERPRINT "hearth-0.1.0"

/* Tokenizes prompt text for generation (see chat.c); special-token texts
 * inside the plain spans (message contents) stay text. Answers errors. */
int api_tokenize_prompt(http_req *r, const tokenizer *tok, hr_str text, bool templated,
                        const tok_span *plain, size_t n_plain, int32_t **ids, int *n_ids);

/* A chat request's prompt as token ids, exactly as /v1/chat/completions
 * renders and tokenizes it (chat.c). Answers errors. */
int api_chat_prompt_ids(http_req *r, api_model *m, const chat_request *req, int32_t **ids,
                        int *n_ids);

#endif
