/* tool_calls.c — see tool_calls.h. */
#include "tool_calls.h"

#include <string.h>

#define OPEN_TAG "<tool_call>"
#define CLOSE_TAG "</tool_call>"

/* Texts a JSON call may follow at the answer's start: Llama 3's tag, and
 * Mistral's marker where a template's tokenizer shows it as text. */
static const char *const lead_tags[] = {"<|python_tag|>", "[TOOL_CALLS]"};

static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

static hr_str trim(const char *p, size_t n) {
  while (n && is_space(*p)) p++, n--;
  while (n && is_space(p[n - 1])) n--;
  return hr_str_make(p, n);
}

static bool declared(const json_value *tools, const json_value *name) {
  if (!tools || tools->type != JSON_ARRAY) return false;
  for (size_t i = 0; i < tools->u.arr.n; i++) {
    const json_value *n = json_get(json_get(tools->u.arr.items[i], "function"), "name");
    if (n && n->type == JSON_STRING && n->u.str.len == name->u.str.len &&
        !memcmp(n->u.str.ptr, name->u.str.ptr, name->u.str.len))
      return true;
  }
  return false;
}

/* v as a call of one of tools: {"name", "arguments" or "parameters"}, the
 * arguments an object or a string holding one; inside tags they may be
 * absent (none), in bare JSON not (or any object with a "name" would be a
 * call). */
static int call_of(hr_arena *a, const json_value *v, const json_value *tools, bool tagged,
                   tool_call *c) {
  if (!v || v->type != JSON_OBJECT) return 0;
  const json_value *name = json_get(v, "name");
  if (!name || name->type != JSON_STRING || !declared(tools, name)) return 0;
  const json_value *args = json_get(v, "arguments");
  if (!args) args = json_get(v, "parameters");
  if (!args) {
    if (!tagged) return 0;
    json_value *none = hr_arena_calloc(a, 1, sizeof *none);
    if (!none) return HR_ENOMEM;
    none->type = JSON_OBJECT;
    args = none;
  } else if (args->type == JSON_STRING) {
    json_value *parsed;
    int rc = json_read(a, args->u.str.ptr, args->u.str.len, NULL, &parsed, NULL);
    if (rc == HR_ENOMEM) return rc;
    if (rc) return 0;
    args = parsed;
  }
  if (args->type != JSON_OBJECT) return 0;
  c->name = hr_str_make(name->u.str.ptr, name->u.str.len);
  c->arguments = args;
  return 1;
}

/* The calls JSON text s holds (one object, or an array of them), appended
 * to out: 1, 0 when s is not that, or HR_ENOMEM. */
static int calls_of_json(hr_arena *a, hr_str s, const json_value *tools, bool tagged,
                         tool_call_list *out) {
  if (!s.len || (s.ptr[0] != '{' && s.ptr[0] != '[')) return 0;
  json_value *v;
  int rc = json_read(a, s.ptr, s.len, NULL, &v, NULL);
  if (rc == HR_ENOMEM) return rc;
  if (rc) return 0;
  size_t n = v->type == JSON_ARRAY ? v->u.arr.n : 1;
  if (!n || out->n + n > TOOL_CALLS_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    rc = call_of(a, v->type == JSON_ARRAY ? v->u.arr.items[i] : v, tools, tagged, &out->calls[out->n]);
    if (rc <= 0) return rc;
    out->n++;
  }
  return 1;
}

static void add_part(tool_call_list *out, const char *p, size_t n) {
  hr_str part = trim(p, n);
  if (part.len && out->n_parts < TOOL_CALLS_MAX + 1) out->parts[out->n_parts++] = part;
}

/* The call of one tag's body (from body to the end of the text): it ends
 * at the first closing tag after which it reads as JSON (a closing tag may
 * sit inside an argument's string), or at the end. *next: after it. */
static int tagged_call(hr_arena *a, const char *body, const char *end, const json_value *tools,
                       tool_call_list *out, const char **next) {
  const char *from = body;
  for (;;) {
    const char *close = memmem(from, (size_t)(end - from), CLOSE_TAG, strlen(CLOSE_TAG));
    int rc = calls_of_json(a, trim(body, (size_t)((close ? close : end) - body)), tools, true, out);
    if (rc) {
      *next = close ? close + strlen(CLOSE_TAG) : end;
      return rc;
    }
    if (!close) return 0;
    from = close + 1;
  }
}

/* <tool_call> blocks; the text outside them is the content. */
static int tagged_calls(hr_arena *a, const char *text, size_t len, const char *open,
                        const json_value *tools, tool_call_list *out) {
  const char *p = text, *end = text + len;
  while (open) {
    add_part(out, p, (size_t)(open - p));
    int rc = tagged_call(a, open + strlen(OPEN_TAG), end, tools, out, &p);
    if (rc <= 0) return rc;
    open = memmem(p, (size_t)(end - p), OPEN_TAG, strlen(OPEN_TAG));
  }
  add_part(out, p, (size_t)(end - p));
  return 1;
}

/* The whole answer as bare JSON calls, after an optional lead tag. */
static int bare_calls(hr_arena *a, const char *text, size_t len, const json_value *tools,
                      tool_call_list *out) {
  hr_str s = trim(text, len);
  for (size_t i = 0; i < HR_ARRAY_LEN(lead_tags); i++) {
    size_t n = strlen(lead_tags[i]);
    if (s.len >= n && !memcmp(s.ptr, lead_tags[i], n)) s = trim(s.ptr + n, s.len - n);
  }
  return calls_of_json(a, s, tools, false, out);
}

static int join_parts(hr_arena *a, tool_call_list *out) {
  size_t n = 0;
  for (int i = 0; i < out->n_parts; i++) n += out->parts[i].len + (i > 0);
  if (!n) return 0;
  char *c = hr_arena_alloc(a, n + 1);
  if (!c) return HR_ENOMEM;
  size_t at = 0;
  for (int i = 0; i < out->n_parts; i++) {
    if (i) c[at++] = '\n';
    memcpy(c + at, out->parts[i].ptr, out->parts[i].len);
    at += out->parts[i].len;
  }
  c[at] = 0;
  out->content = hr_str_make(c, n);
  return 0;
}

int tool_calls_parse(hr_arena *a, const char *text, size_t len, const json_value *tools,
                     bool bare_only, tool_call_list *out) {
  memset(out, 0, sizeof *out);
  out->content = HR_STR("");
  if (!tools || tools->type != JSON_ARRAY || !tools->u.arr.n || !text) return 0;
  out->calls = hr_arena_calloc(a, TOOL_CALLS_MAX, sizeof *out->calls);
  if (!out->calls) return HR_ENOMEM;
  /* bare JSON first: a tag inside an argument's string is no tag */
  int rc = bare_calls(a, text, len, tools, out);
  if (rc == 0 && !bare_only) {
    const char *open = memmem(text, len, OPEN_TAG, strlen(OPEN_TAG));
    out->n = 0;
    if (open) rc = tagged_calls(a, text, len, open, tools, out);
  }
  if (rc > 0) {
    int joined = join_parts(a, out);
    if (joined) rc = joined;
  }
  if (rc <= 0 || !out->n) { /* a call that does not read makes all of it text */
    memset(out, 0, sizeof *out);
    out->content = HR_STR("");
    return rc < 0 ? rc : 0;
  }
  return out->n;
}

size_t tool_calls_text_prefix(const char *text, size_t len, size_t from) {
  size_t i = 0;
  while (i < len && is_space(text[i])) i++;
  if (i == len || text[i] == '{' || text[i] == '[') return 0;
  for (size_t t = 0; t < HR_ARRAY_LEN(lead_tags); t++) {
    size_t n = strlen(lead_tags[t]), have = HR_MIN(n, len - i);
    if (!memcmp(text + i, lead_tags[t], have)) return 0;
  }
  from = HR_MIN(from, len);
  const char *open = memmem(text + from, len - from, OPEN_TAG, strlen(OPEN_TAG));
  if (open) return (size_t)(open - text);
  /* the end may be the start of a tag still coming */
  for (size_t k = HR_MIN(len - from, strlen(OPEN_TAG) - 1); k > 0; k--)
    if (!memcmp(text + len - k, OPEN_TAG, k)) return len - k;
  return len;
}
