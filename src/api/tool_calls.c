/* tool_calls.c — see tool_calls.h. */
#include "tool_calls.h"

#include <string.h>

#define OPEN_TAG "<tool_call>"
#define CLOSE_TAG "</tool_call>"
#define CALLS_MAX 64 /* calls in one answer; more is text */

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
 * arguments an object or a string holding one (absent: none). */
static int call_of(hr_arena *a, const json_value *v, const json_value *tools, tool_call *c) {
  if (!v || v->type != JSON_OBJECT) return 0;
  const json_value *name = json_get(v, "name");
  if (!name || name->type != JSON_STRING || !declared(tools, name)) return 0;
  const json_value *args = json_get(v, "arguments");
  if (!args) args = json_get(v, "parameters");
  if (!args) {
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

/* Appends the calls JSON text s holds (one object, or an array of them) to
 * out; 0 when s is not that. */
static int calls_of_json(hr_arena *a, hr_str s, const json_value *tools, tool_call_list *out) {
  if (!s.len || (s.ptr[0] != '{' && s.ptr[0] != '[')) return 0;
  json_value *v;
  int rc = json_read(a, s.ptr, s.len, NULL, &v, NULL);
  if (rc == HR_ENOMEM) return rc;
  if (rc) return 0;
  size_t n = v->type == JSON_ARRAY ? v->u.arr.n : 1;
  if (!n || out->n + n > CALLS_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    rc = call_of(a, v->type == JSON_ARRAY ? v->u.arr.items[i] : v, tools, &out->calls[out->n]);
    if (rc <= 0) return rc;
    out->n++;
  }
  return 1;
}

/* <tool_call> blocks; the text outside them is the content. */
static int tagged_calls(hr_arena *a, const char *text, size_t len, const char *open,
                        const json_value *tools, tool_call_list *out) {
  hr_buf content = HR_BUF_INIT;
  const char *p = text, *end = text + len;
  int rc = 1;
  while (open) {
    hr_str before = trim(p, (size_t)(open - p));
    if (before.len) {
      if (content.len) hr_buf_putc(&content, '\n');
      hr_buf_append(&content, before.ptr, before.len);
    }
    const char *body = open + strlen(OPEN_TAG);
    const char *close = memmem(body, (size_t)(end - body), CLOSE_TAG, strlen(CLOSE_TAG));
    rc = calls_of_json(a, trim(body, (size_t)((close ? close : end) - body)), tools, out);
    if (rc <= 0) break;
    p = close ? close + strlen(CLOSE_TAG) : end;
    open = memmem(p, (size_t)(end - p), OPEN_TAG, strlen(OPEN_TAG));
  }
  if (rc > 0) {
    hr_str after = trim(p, (size_t)(end - p));
    if (after.len) {
      if (content.len) hr_buf_putc(&content, '\n');
      hr_buf_append(&content, after.ptr, after.len);
    }
    char *c = content.len ? hr_arena_strndup(a, content.data, content.len) : "";
    if (!c) rc = HR_ENOMEM;
    else out->content = hr_str_make(c, content.len);
  }
  hr_buf_free(&content);
  return rc;
}

int tool_calls_parse(hr_arena *a, const char *text, size_t len, const json_value *tools,
                     tool_call_list *out) {
  *out = (tool_call_list){.content = HR_STR("")};
  if (!tools || tools->type != JSON_ARRAY || !tools->u.arr.n || !text) return 0;
  out->calls = hr_arena_calloc(a, CALLS_MAX, sizeof *out->calls);
  if (!out->calls) return HR_ENOMEM;
  const char *open = memmem(text, len, OPEN_TAG, strlen(OPEN_TAG));
  int rc;
  if (open) {
    rc = tagged_calls(a, text, len, open, tools, out);
  } else {
    hr_str s = trim(text, len);
    for (size_t i = 0; i < HR_ARRAY_LEN(lead_tags); i++) {
      size_t n = strlen(lead_tags[i]);
      if (s.len >= n && !memcmp(s.ptr, lead_tags[i], n)) s = trim(s.ptr + n, s.len - n);
    }
    rc = calls_of_json(a, s, tools, out);
  }
  if (rc <= 0) {
    int n_err = rc;
    *out = (tool_call_list){.content = HR_STR("")};
    return n_err;
  }
  return out->n;
}

size_t tool_calls_text_prefix(const char *text, size_t len) {
  size_t i = 0;
  while (i < len && is_space(text[i])) i++;
  if (i == len || text[i] == '{' || text[i] == '[') return 0;
  for (size_t t = 0; t < HR_ARRAY_LEN(lead_tags); t++) {
    size_t n = strlen(lead_tags[t]), have = HR_MIN(n, len - i);
    if (!memcmp(text + i, lead_tags[t], have)) return 0;
  }
  const char *open = memmem(text, len, OPEN_TAG, strlen(OPEN_TAG));
  if (open) return (size_t)(open - text);
  /* the end may be the start of a tag still coming */
  for (size_t k = HR_MIN(len, strlen(OPEN_TAG) - 1); k > 0; k--)
    if (!memcmp(text + len - k, OPEN_TAG, k)) return len - k;
  return len;
}
