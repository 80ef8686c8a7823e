/* tool_calls.h — the function calls a model wrote in its answer when the
 * request let it choose (tools with tool_choice "auto"), in the shapes chat
 * models are trained to write them:
 *
 *   <tool_call>{"name": N, "arguments": {...}}</tool_call>   Hermes, Qwen2.5,
 *        SmolLM, and what hearth tells a model whose template shows no
 *        tools; one or more, text may come before them; a last call cut by
 *        the end of the answer (no closing tag) counts;
 *   {"name": N, "parameters": {...}}                         Llama 3.x (an
 *        optional <|python_tag|>), or "arguments" (one of them required);
 *   [{"name": N, "arguments": {...}}, ...]                   Mistral (after
 *        [TOOL_CALLS], a control token the text does not show).
 *
 * A call counts only if its name is one of the request's functions and its
 * arguments are an object (or a string holding one); otherwise the whole
 * answer stays text, as the model wrote it. */
#ifndef HEARTH_API_TOOL_CALLS_H
#define HEARTH_API_TOOL_CALLS_H

#include "../base/base.h"
#include "../json/json.h"

typedef struct {
  hr_str name;
  const json_value *arguments; /* an object */
} tool_call;

#define TOOL_CALLS_MAX 64 /* calls in one answer; more is text */

typedef struct {
  tool_call *calls; /* in the arena */
  int n;
  hr_str content;   /* the text beside the calls: the parts, joined by new lines */
  hr_str parts[TOOL_CALLS_MAX + 1]; /* that text, trimmed pieces of the answer itself */
  int n_parts;
} tool_call_list;

/* Finds the calls in text[0..len), checked against tools (the request's
 * "tools" array); bare_only: the text is one JSON call or array of calls
 * and nothing else (a forced call), no tags searched. Returns the number
 * found (0: the answer is text), or HR_ENOMEM; *out's memory belongs to the
 * arena. */
int tool_calls_parse(hr_arena *a, const char *text, size_t len, const json_value *tools,
                     bool bare_only, tool_call_list *out);

/* While streaming: how many leading bytes of the answer so far can go out
 * as text, because no call can begin within them; from: bytes already
 * known to be free (no tag begins before them). An answer that so far is
 * only white space or begins like a JSON call is held whole; otherwise text
 * is held from a "<tool_call>" (or what may become one at the end). */
size_t tool_calls_text_prefix(const char *text, size_t len, size_t from);

#endif
