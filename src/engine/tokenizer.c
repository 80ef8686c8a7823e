/* tokenizer.c — what all three tokenizer families share: loading the
 * vocabulary from GGUF metadata, the special ids and flags (with llama.cpp's
 * defaults and its by-text detection of end-of-turn tokens), splitting the
 * text around special tokens, decoded pieces, and the stream decoder.
 * The family-specific encoders live in tok_spm.c, tok_bpe.c, tok_wpm.c.
 *
 * Invariants once loaded: every token has non-empty text (llama.cpp's
 * "[EMPTY_i]" stands in for an empty one), text_slots maps each distinct
 * text to its first id, every special id is TOK_NULL or < n_tokens. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, qsort_r */
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

/* ---- hashing of token texts --------------------------------------------- */

static uint64_t hash_text(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
  return h;
}

int32_t tok_find(const tokenizer *t, const char *text, size_t len) {
  size_t mask = t->text_cap - 1, i = (size_t)hash_text(text, len) & mask;
  for (;; i = (i + 1) & mask) {
    uint32_t v = t->text_slots[i];
    if (v == 0) return TOK_NULL;
    const tok_entry *e = &t->tokens[v - 1];
    if (e->len == len && memcmp(t->blob + e->off, text, len) == 0) return (int32_t)(v - 1);
  }
}

/* Inserts id unless its text is already there (the first id wins). */
static void text_insert(tokenizer *t, int32_t id) {
  const tok_entry *e = &t->tokens[id];
  size_t mask = t->text_cap - 1, i = (size_t)hash_text(t->blob + e->off, e->len) & mask;
  for (;; i = (i + 1) & mask) {
    uint32_t v = t->text_slots[i];
    if (v == 0) {
      t->text_slots[i] = (uint32_t)id + 1;
      return;
    }
    const tok_entry *o = &t->tokens[v - 1];
    if (o->len == e->len && memcmp(t->blob + o->off, t->blob + e->off, e->len) == 0) return;
  }
}

/* ---- loading ------------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t err_len,
                                                      const char *fmt, ...) {
  if (err && err_len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
  }
  return HR_EFORMAT;
}

static uint16_t attr_of_type(int64_t type) {
  switch (type) {
    case TOK_TYPE_NORMAL: return TOK_ATTR_NORMAL;
    case TOK_TYPE_UNKNOWN: return TOK_ATTR_UNKNOWN;
    case TOK_TYPE_CONTROL: return TOK_ATTR_CONTROL;
    case TOK_TYPE_USER_DEFINED: return TOK_ATTR_USER_DEFINED;
    case TOK_TYPE_UNUSED: return TOK_ATTR_UNUSED;
    case TOK_TYPE_BYTE: return TOK_ATTR_BYTE;
    default: return TOK_ATTR_UNDEFINED;
  }
}

/* Token texts, scores and types into the arena, and the text hash. */
static int load_vocab(tokenizer *t, const gguf_file *g, char *err, size_t err_len) {
  const gguf_arr *toks, *scores = NULL, *types = NULL;
  int rc = gguf_get_arr(g, "tokenizer.ggml.tokens", &toks);
  if (rc == HR_ENOTFOUND) return fail(err, err_len, "no tokenizer.ggml.tokens in the model");
  if (rc || toks->type != GGUF_TYPE_STRING)
    return fail(err, err_len, "tokenizer.ggml.tokens is not an array of strings");
  if (toks->n == 0 || toks->n >= INT32_MAX / 2)
    return fail(err, err_len, "tokenizer.ggml.tokens has %llu entries",
                (unsigned long long)toks->n);
  uint32_t n = (uint32_t)toks->n;
  rc = gguf_get_arr(g, "tokenizer.ggml.scores", &scores);
  if (rc == HR_ENOTFOUND) scores = NULL;
  else if (rc || (scores->type != GGUF_TYPE_FLOAT32 && scores->type != GGUF_TYPE_INT32) ||
           scores->n < n)
    return fail(err, err_len, "tokenizer.ggml.scores must be %u f32 or i32 values", n);
  rc = gguf_get_arr(g, "tokenizer.ggml.token_type", &types);
  if (rc == HR_ENOTFOUND) types = NULL;
  else if (rc || !types->data || types->type == GGUF_TYPE_FLOAT32 ||
           types->type == GGUF_TYPE_FLOAT64 || types->n < n)
    return fail(err, err_len, "tokenizer.ggml.token_type must be %u integers", n);

  size_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    size_t len = toks->strs[i].len;
    if (len > UINT32_MAX / 2) return fail(err, err_len, "token %u is too long", i);
    total += len ? len : 24;
  }
  t->n_tokens = n;
  t->tokens = hr_arena_calloc(t->arena, n, sizeof *t->tokens);
  t->blob = hr_arena_alloc(t->arena, total + 1);
  t->eog = hr_arena_calloc(t->arena, n, 1);
  t->text_cap = 16;
  while (t->text_cap < (size_t)n * 2) t->text_cap <<= 1;
  t->text_slots = hr_arena_calloc(t->arena, t->text_cap, sizeof *t->text_slots);
  if (!t->tokens || !t->blob || !t->eog || !t->text_slots) return HR_ENOMEM;
  size_t at = 0;
  for (uint32_t i = 0; i < n; i++) {
    tok_entry *e = &t->tokens[i];
    hr_str s = toks->strs[i];
    e->off = (uint32_t)at;
    if (s.len) {
      memcpy(t->blob + at, s.ptr, s.len);
      e->len = (uint32_t)s.len;
    } else {
      e->len = (uint32_t)snprintf(t->blob + at, 24, "[EMPTY_%u]", i);
    }
    at += e->len;
    if (e->len > t->max_token_len) t->max_token_len = e->len;
    if (scores) gguf_arr_get_f32(scores, i, &e->score);
    int64_t type = TOK_TYPE_NORMAL;
    if (types) gguf_arr_get_i64(types, i, &type);
    e->type = type >= 0 && type <= TOK_TYPE_BYTE ? (uint8_t)type : TOK_TYPE_UNDEFINED;
    e->attr = types ? attr_of_type(type) : TOK_ATTR_NORMAL;
    text_insert(t, (int32_t)i);
  }
  return 0;
}

static bool get_bool(const gguf_file *g, const char *key, bool *v) {
  bool b;
  if (gguf_get_bool(g, key, &b) != 0) return false;
  *v = b;
  return true;
}

/* A special id from metadata if present and in range; else the default. */
static void special_id(const tokenizer *t, const gguf_file *g, const char *key, int32_t *id) {
  if (*id >= 0 && (uint32_t)*id >= t->n_tokens) *id = TOK_NULL;
  uint32_t v;
  if (gguf_get_u32(g, key, &v) == 0 && v < t->n_tokens) *id = (int32_t)v;
}

/* The first id among texts (in the order given) present in the vocab. */
static int32_t find_any(const tokenizer *t, const char *const *texts) {
  for (; *texts; texts++) {
    int32_t id = tok_find(t, *texts, strlen(*texts));
    if (id != TOK_NULL) return id;
  }
  return TOK_NULL;
}

/* llama.cpp finds end-of-turn and end-of-generation tokens by their text and
 * makes them control tokens; we do the same so that specials match. */
static void detect_special_texts(tokenizer *t) {
  static const char *const eot_texts[] = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
      "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
      "<end_of_utterance>", NULL};
  static const char *const eom_texts[] = {"<|eom_id|>", NULL};
  static const char *const fim_texts[] = {
      "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>", "\xe2\x96\x81<PRE>",
      "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>", "\xe2\x96\x81<SUF>",
      "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>", "\xe2\x96\x81<MID>",
      "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>",
      "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>", NULL};
  static const char *const eog_texts[] = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
      "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
      "<end_of_utterance>", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
      NULL};
  if (t->eot == TOK_NULL) t->eot = find_any(t, eot_texts);
  if (t->eom == TOK_NULL) t->eom = find_any(t, eom_texts);
  int32_t ids[3] = {t->eot, t->eom, TOK_NULL};
  for (int k = 0; k < 2; k++)
    if (ids[k] != TOK_NULL) t->tokens[ids[k]].attr |= TOK_ATTR_CONTROL;
  for (const char *const *s = fim_texts; *s; s++) {
    int32_t id = tok_find(t, *s, strlen(*s));
    if (id != TOK_NULL) t->tokens[id].attr |= TOK_ATTR_CONTROL;
  }
  for (const char *const *s = eog_texts; *s; s++) {
    int32_t id = tok_find(t, *s, strlen(*s));
    if (id == TOK_NULL) continue;
    t->eog[id] = 1;
    t->tokens[id].attr |= TOK_ATTR_CONTROL;
  }
  /* gpt-oss: these are always rendered */
  static const char *const user_texts[] = {"<|channel|>", "<|message|>", "<|start|>",
                                           "<|constrain|>", NULL};
  for (const char *const *s = user_texts; *s; s++) {
    int32_t id = tok_find(t, *s, strlen(*s));
    if (id != TOK_NULL) t->tokens[id].attr = TOK_ATTR_USER_DEFINED;
  }
  if (t->eos != TOK_NULL) t->eog[t->eos] = 1;
  if (t->eot != TOK_NULL) t->eog[t->eot] = 1;
  if (t->eom != TOK_NULL) t->eog[t->eom] = 1;
}

static int by_len_desc(const void *a, const void *b, void *ctx) {
  const tokenizer *t = ctx;
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  uint32_t lx = t->tokens[x].len, ly = t->tokens[y].len;
  if (lx != ly) return lx > ly ? -1 : 1;
  return x < y ? -1 : x > y;
}

static int build_special_lists(tokenizer *t) {
  size_t n_all = 0, n_user = 0;
  for (uint32_t i = 0; i < t->n_tokens; i++) {
    uint16_t a = t->tokens[i].attr;
    if (a & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN)) n_all++;
    if (a & TOK_ATTR_USER_DEFINED) n_user++;
  }
  t->special_all = hr_arena_alloc(t->arena, (n_all + 1) * sizeof(int32_t));
  t->special_user = hr_arena_alloc(t->arena, (n_user + 1) * sizeof(int32_t));
  if (!t->special_all || !t->special_user) return HR_ENOMEM;
  for (uint32_t i = 0; i < t->n_tokens; i++) {
    uint16_t a = t->tokens[i].attr;
    if (a & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN))
      t->special_all[t->n_special_all++] = (int32_t)i;
    if (a & TOK_ATTR_USER_DEFINED) t->special_user[t->n_special_user++] = (int32_t)i;
  }
  qsort_r(t->special_all, t->n_special_all, sizeof(int32_t), by_len_desc, t);
  qsort_r(t->special_user, t->n_special_user, sizeof(int32_t), by_len_desc, t);
  return 0;
}

/* Per-model strip attributes llama.cpp sets by name. */
static void set_strip_attrs(tokenizer *t, const gguf_file *g) {
  char name[128] = "";
  hr_str s;
  if (gguf_get_str(g, "general.name", &s) == 0) {
    size_t n = HR_MIN(s.len, sizeof name - 1);
    for (size_t i = 0; i < n; i++) name[i] = (char)tolower((unsigned char)s.ptr[i]);
    name[n] = 0;
  }
  hr_str arch = {"", 0};
  gguf_get_str(g, "general.architecture", &arch);
  if (strstr(t->pre, "jina-v2-de") || strstr(t->pre, "jina-v2-es") ||
      strstr(t->pre, "jina-v2-code") || strstr(arch.ptr, "nomic-bert-moe") ||
      strstr(arch.ptr, "jina-bert-v3")) {
    int32_t id = tok_find(t, "<mask>", 6);
    if (id != TOK_NULL) t->tokens[id].attr |= TOK_ATTR_LSTRIP;
  } else if (strstr(name, "phi-3") || strstr(name, "phi3")) {
    for (size_t i = 0; i < t->n_special_all; i++)
      t->tokens[t->special_all[i]].attr |= TOK_ATTR_RSTRIP;
    int32_t id = tok_find(t, "</s>", 4);
    if (id != TOK_NULL) t->tokens[id].attr |= TOK_ATTR_RSTRIP;
    static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>", NULL};
    for (const char *const *k = keep; *k; k++)
      if ((id = tok_find(t, *k, strlen(*k))) != TOK_NULL)
        t->tokens[id].attr &= (uint16_t)~TOK_ATTR_RSTRIP;
  } else if (strstr(name, "modern-bert")) {
    int32_t id = tok_find(t, "[MASK]", 6);
    if (id != TOK_NULL) t->tokens[id].attr |= TOK_ATTR_LSTRIP;
  }
}

/* The byte a "<0xXX>" token stands for, or -1. */
static int hex_byte(const char *s, size_t n) {
  if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
  int v = 0;
  for (int i = 3; i < 5; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Decoded bytes of every token, computed once (llama.cpp caches the same). */
static int build_pieces(tokenizer *t) {
  size_t total = 0;
  for (uint32_t i = 0; i < t->n_tokens; i++) total += t->tokens[i].len;
  t->pieces = hr_arena_alloc(t->arena, total + 1);
  if (!t->pieces) return HR_ENOMEM;
  size_t at = 0;
  for (uint32_t i = 0; i < t->n_tokens; i++) {
    tok_entry *e = &t->tokens[i];
    const char *s = t->blob + e->off;
    char *o = t->pieces + at;
    size_t n = 0;
    if (e->attr & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED)) {
      memcpy(o, s, e->len);
      n = e->len;
    } else if (e->attr & TOK_ATTR_NORMAL) {
      if (t->kind == TOK_KIND_BPE) {
        n = tok_bpe_unmap(s, e->len, o);
      } else { /* "▁" -> " " */
        for (size_t k = 0; k < e->len;) {
          if (k + 3 <= e->len && memcmp(s + k, "\xe2\x96\x81", 3) == 0) {
            o[n++] = ' ';
            k += 3;
          } else {
            o[n++] = s[k++];
          }
        }
      }
    } else if (e->attr & TOK_ATTR_BYTE) {
      int b = hex_byte(s, e->len);
      if (b >= 0) o[n++] = (char)b;
    }
    e->piece_off = (uint32_t)at;
    e->piece_len = (uint32_t)n;
    at += n;
    if (n > t->max_piece_len) t->max_piece_len = n;
  }
  return 0;
}

static int load(tokenizer *t, const gguf_file *g, char *err, size_t err_len) {
  hr_str model, pre = {"", 0};
  int rc = gguf_get_str(g, "tokenizer.ggml.model", &model);
  if (rc == HR_ENOTFOUND) return fail(err, err_len, "no tokenizer.ggml.model in the model");
  if (rc) return fail(err, err_len, "tokenizer.ggml.model is not a string");
  gguf_get_str(g, "tokenizer.ggml.pre", &pre);
  snprintf(t->pre, sizeof t->pre, "%.*s", (int)HR_MIN(pre.len, 63), pre.ptr);

  /* defaults by family, as llama.cpp sets them */
  if (hr_str_eq_cstr(model, "llama")) {
    t->kind = TOK_KIND_SPM;
    t->bos = 1, t->eos = 2, t->unk = 0, t->sep = t->pad = t->mask = TOK_NULL;
    t->add_space_prefix = true, t->add_bos = true;
  } else if (hr_str_eq_cstr(model, "bert")) {
    t->kind = TOK_KIND_WPM;
    t->bos = 101, t->eos = TOK_NULL, t->unk = 100, t->sep = 102, t->pad = 0, t->mask = 103;
    t->add_bos = true, t->add_sep = true, t->clean_spaces = true;
  } else if (hr_str_eq_cstr(model, "gpt2")) {
    t->kind = TOK_KIND_BPE;
    t->bos = 11, t->eos = 11, t->unk = t->sep = t->pad = t->mask = TOK_NULL;
    t->clean_spaces = true;
  } else {
    if (err && err_len)
      snprintf(err, err_len, "unsupported tokenizer model '%.*s' (llama, gpt2, bert are)",
               (int)HR_MIN(model.len, 64), model.ptr);
    return HR_EUNSUPPORTED;
  }
  t->eot = t->eom = TOK_NULL;
  t->lowercase = t->strip_accents = true;

  if ((rc = load_vocab(t, g, err, err_len))) return rc;
  if (t->kind == TOK_KIND_BPE && (rc = tok_bpe_init(t, g, err, err_len))) return rc;
  get_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix);

  special_id(t, g, "tokenizer.ggml.bos_token_id", &t->bos);
  special_id(t, g, "tokenizer.ggml.eos_token_id", &t->eos);
  special_id(t, g, "tokenizer.ggml.eot_token_id", &t->eot);
  special_id(t, g, "tokenizer.ggml.eom_token_id", &t->eom);
  special_id(t, g, "tokenizer.ggml.unknown_token_id", &t->unk);
  special_id(t, g, "tokenizer.ggml.seperator_token_id", &t->sep);
  special_id(t, g, "tokenizer.ggml.padding_token_id", &t->pad);
  special_id(t, g, "tokenizer.ggml.mask_token_id", &t->mask);
  get_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos);
  get_bool(g, "tokenizer.ggml.add_eos_token", &t->add_eos);
  get_bool(g, "tokenizer.ggml.add_sep_token", &t->add_sep);
  if (t->add_bos && t->bos == TOK_NULL)
    return fail(err, err_len, "tokenizer.ggml.add_bos_token is true, but there is no BOS token");
  if (t->add_eos && t->eos == TOK_NULL)
    return fail(err, err_len, "tokenizer.ggml.add_eos_token is true, but there is no EOS token");
  get_bool(g, "tokenizer.ggml.normalizer.lowercase", &t->lowercase);
  t->strip_accents = t->lowercase;
  get_bool(g, "tokenizer.ggml.normalizer.strip_accents", &t->strip_accents);

  detect_special_texts(t);
  if ((rc = build_special_lists(t))) return rc;
  set_strip_attrs(t, g);

  if (t->kind == TOK_KIND_SPM) {
    if ((rc = tok_spm_init(t))) return rc;
    for (int b = 0; b < 256; b++) {
      char buf[8];
      snprintf(buf, sizeof buf, "<0x%02X>", b);
      t->byte_ids[b] = tok_find(t, buf, 6);
      if (t->byte_ids[b] == TOK_NULL) {
        char c = (char)b;
        t->byte_ids[b] = tok_find(t, &c, 1);
      }
    }
  }
  return build_pieces(t);
}

int tok_load(const gguf_file *g, tokenizer **out, char *err, size_t err_len) {
  *out = NULL;
  if (err && err_len) err[0] = 0;
  tokenizer *t = calloc(1, sizeof *t);
  if (!t || !(t->arena = hr_arena_new(1 << 20))) {
    free(t);
    return HR_ENOMEM;
  }
  int rc = load(t, g, err, err_len);
  if (rc) {
    if (rc == HR_ENOMEM && err && err_len) snprintf(err, err_len, "out of memory loading tokenizer");
    tok_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

void tok_free(tokenizer *t) {
  if (!t) return;
  tok_bpe_free(t);
  hr_arena_free(t->arena);
  free(t);
}

/* ---- splitting around special tokens ------------------------------------ */

typedef struct {
  int32_t id; /* TOK_NULL for raw text */
  size_t off, len;
} frag;

typedef struct {
  frag *v;
  size_t n, cap;
} frag_list;

static int frag_push(frag_list *l, int32_t id, size_t off, size_t len) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    frag *v = realloc(l->v, cap * sizeof *v);
    if (!v) return HR_ENOMEM;
    l->v = v, l->cap = cap;
  }
  l->v[l->n++] = (frag){id, off, len};
  return 0;
}

/* Whether [at, at + n) overlaps one of the plain spans ([start, end), in
 * any order). */
static bool in_plain(const tok_span *plain, size_t n_plain, size_t at, size_t n) {
  for (size_t i = 0; i < n_plain; i++)
    if (at < plain[i].end && plain[i].start < at + n) return true;
  return false;
}

/* Splits raw text at every occurrence of each special token in turn,
 * longest token first, leftmost occurrence first — llama.cpp's
 * tokenizer_st_partition — except occurrences that overlap a plain span,
 * which stay text. */
static int partition(const tokenizer *t, const char *text, size_t len, bool parse_special,
                     const tok_span *plain, size_t n_plain, frag_list *out) {
  const int32_t *list = parse_special ? t->special_all : t->special_user;
  size_t n_list = parse_special ? t->n_special_all : t->n_special_user;
  frag_list a = {0}, b = {0};
  int rc = frag_push(&a, TOK_NULL, 0, len);
  bool present[256] = {false}; /* a cheap filter: bytes that occur at all */
  for (size_t i = 0; i < len; i++) present[(uint8_t)text[i]] = true;
  for (size_t k = 0; k < n_list && rc == 0; k++) {
    int32_t sid = list[k];
    const tok_entry *e = &t->tokens[sid];
    const char *st = t->blob + e->off;
    if (!present[(uint8_t)st[0]] || e->len > len) continue;
    b.n = 0;
    bool hit = false;
    for (size_t f = 0; f < a.n && rc == 0; f++) {
      frag fr = a.v[f];
      if (fr.id != TOK_NULL) {
        rc = frag_push(&b, fr.id, 0, 0);
        continue;
      }
      size_t off = fr.off, flen = fr.len, from = off; /* from: where to look next */
      while (flen > 0 && rc == 0) {
        const char *m = memmem(text + from, off + flen - from, st, e->len);
        if (!m) {
          rc = frag_push(&b, TOK_NULL, off, flen);
          break;
        }
        size_t mpos = (size_t)(m - text);
        /* user-defined tokens are words of the vocabulary, matched in any
         * text (as tok_encode without parse_special does) */
        if (n_plain && !(e->attr & TOK_ATTR_USER_DEFINED) && in_plain(plain, n_plain, mpos, e->len)) {
          from = mpos + 1;
          continue;
        }
        hit = true;
        size_t left = mpos - off;
        if (e->attr & TOK_ATTR_LSTRIP)
          while (left > 0 && isspace((unsigned char)text[off + left - 1])) left--;
        if (left > 0) rc = frag_push(&b, TOK_NULL, off, left);
        if (rc == 0) rc = frag_push(&b, sid, 0, 0);
        size_t roff = mpos + e->len, rlen = off + flen - roff;
        if (e->attr & TOK_ATTR_RSTRIP)
          while (rlen > 0 && isspace((unsigned char)text[roff])) roff++, rlen--;
        off = from = roff, flen = rlen;
      }
    }
    if (hit) {
      frag_list tmp = a;
      a = b, b = tmp;
    }
  }
  free(b.v);
  if (rc) {
    free(a.v);
    return rc;
  }
  *out = a;
  return 0;
}

static int encode(const tokenizer *t, const char *text, size_t len, bool add_special,
                  bool parse_special, const tok_span *plain, size_t n_plain, int32_t *out,
                  size_t max, size_t *n) {
  tok_out o = {out, max, 0};
  frag_list frags = {0};
  int rc = 0;
  if (len > 0 && (rc = partition(t, text, len, parse_special, plain, n_plain, &frags))) return rc;
  bool prev_special = true; /* SPM: a space before text that starts a fragment run */
  if (add_special && t->kind != TOK_KIND_WPM && t->add_bos) tok_out_push(&o, t->bos);
  if (add_special && t->kind == TOK_KIND_WPM && t->bos != TOK_NULL) tok_out_push(&o, t->bos);
  for (size_t i = 0; i < frags.n && rc == 0; i++) {
    frag f = frags.v[i];
    if (f.id != TOK_NULL) {
      tok_out_push(&o, f.id);
      prev_special = true;
      continue;
    }
    switch (t->kind) {
      case TOK_KIND_SPM:
        rc = tok_spm_encode(t, text + f.off, f.len, t->add_space_prefix && prev_special, &o);
        break;
      case TOK_KIND_BPE: rc = tok_bpe_encode(t, text + f.off, f.len, &o); break;
      case TOK_KIND_WPM: rc = tok_wpm_encode(t, text + f.off, f.len, &o); break;
    }
    prev_special = false;
  }
  free(frags.v);
  if (rc) return rc;
  if (add_special && t->kind != TOK_KIND_WPM && t->add_eos) tok_out_push(&o, t->eos);
  if (add_special && t->kind == TOK_KIND_WPM && t->sep != TOK_NULL) tok_out_push(&o, t->sep);
  *n = o.n;
  return o.n > max ? HR_ERANGE : 0;
}

int tok_encode(const tokenizer *t, const char *text, size_t len, bool add_special,
               bool parse_special, int32_t *out, size_t max, size_t *n) {
  return encode(t, text, len, add_special, parse_special, NULL, 0, out, max, n);
}

int tok_encode_guarded(const tokenizer *t, const char *text, size_t len, bool add_special,
                       const tok_span *plain, size_t n_plain, int32_t *out, size_t max, size_t *n) {
  return encode(t, text, len, add_special, true, plain, n_plain, out, max, n);
}

bool tok_has_special_text(const tokenizer *t, const char *text, size_t len) {
  if (!len || t->n_special_all == t->n_special_user) return false;
  frag_list frags = {0};
  if (partition(t, text, len, true, NULL, 0, &frags)) return true; /* out of memory: assume so */
  bool found = false;
  for (size_t i = 0; i < frags.n && !found; i++)
    found = frags.v[i].id != TOK_NULL && !(t->tokens[frags.v[i].id].attr & TOK_ATTR_USER_DEFINED);
  free(frags.v);
  return found;
}

/* ---- decoding ----------------------------------------------------------- */

hr_str tok_decode_piece(const tokenizer *t, int32_t id, bool special) {
  if (id < 0 || (uint32_t)id >= t->n_tokens) return (hr_str){"", 0};
  const tok_entry *e = &t->tokens[id];
  if (!special && (e->attr & (TOK_ATTR_UNKNOWN | TOK_ATTR_CONTROL))) return (hr_str){"", 0};
  return (hr_str){t->pieces + e->piece_off, e->piece_len};
}

static size_t put_bytes(char *out, size_t cap, size_t at, const void *p, size_t n) {
  if (at + n > cap) return at; /* the caller sized out too small: drop */
  memcpy(out + at, p, n);
  return at + n;
}

size_t tok_stream_push_bytes(tok_stream *s, const char *p, size_t n, char *out, size_t cap) {
  static const char repl[3] = {(char)0xef, (char)0xbf, (char)0xbd};
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    uint8_t c = (uint8_t)p[i];
    if (s->n_pend == 0) {
      i++;
      if (c < 0x80) {
        w = put_bytes(out, cap, w, &c, 1);
      } else if (c >= 0xc2 && c <= 0xf4) {
        s->pend[0] = c;
        s->n_pend = 1;
        s->need = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
      } else {
        w = put_bytes(out, cap, w, repl, 3);
      }
      continue;
    }
    uint8_t lo = 0x80, hi = 0xbf, lead = s->pend[0];
    if (s->n_pend == 1) {
      if (lead == 0xe0) lo = 0xa0;
      else if (lead == 0xed) hi = 0x9f;
      else if (lead == 0xf0) lo = 0x90;
      else if (lead == 0xf4) hi = 0x8f;
    }
    if (c < lo || c > hi) { /* the held bytes can never complete */
      w = put_bytes(out, cap, w, repl, 3);
      s->n_pend = 0;
      continue; /* read c again as a fresh start */
    }
    i++;
    s->pend[s->n_pend++] = c;
    if (s->n_pend == s->need) {
      w = put_bytes(out, cap, w, s->pend, s->n_pend);
      s->n_pend = 0;
    }
  }
  return w;
}

size_t tok_stream_push(tok_stream *s, const tokenizer *t, int32_t id, bool special, char *out,
                       size_t cap) {
  hr_str p = tok_decode_piece(t, id, special);
  return tok_stream_push_bytes(s, p.ptr, p.len, out, cap);
}

size_t tok_stream_flush(tok_stream *s, char *out, size_t cap) {
  if (s->n_pend == 0) return 0;
  s->n_pend = 0;
  return put_bytes(out, cap, 0, "\xef\xbf\xbd", 3);
}

/* ---- facts -------------------------------------------------------------- */

tok_kind tok_get_kind(const tokenizer *t) { return t->kind; }
const char *tok_pre_name(const tokenizer *t) { return t->pre; }
uint32_t tok_vocab_size(const tokenizer *t) { return t->n_tokens; }
size_t tok_max_piece_len(const tokenizer *t) { return t->max_piece_len; }
int32_t tok_bos(const tokenizer *t) { return t->bos; }
int32_t tok_eos(const tokenizer *t) { return t->eos; }
int32_t tok_eot(const tokenizer *t) { return t->eot; }
int32_t tok_pad(const tokenizer *t) { return t->pad; }
int32_t tok_unk(const tokenizer *t) { return t->unk; }
int32_t tok_sep(const tokenizer *t) { return t->sep; }
bool tok_add_bos(const tokenizer *t) { return t->add_bos; }
bool tok_add_eos(const tokenizer *t) { return t->add_eos; }

bool tok_is_eog(const tokenizer *t, int32_t id) {
  return id >= 0 && (uint32_t)id < t->n_tokens && t->eog[id];
}

tok_type tok_token_type(const tokenizer *t, int32_t id) {
  if (id < 0 || (uint32_t)id >= t->n_tokens) return TOK_TYPE_UNDEFINED;
  uint16_t a = t->tokens[id].attr;
  if (a & TOK_ATTR_BYTE) return TOK_TYPE_BYTE;
  if (a & TOK_ATTR_USER_DEFINED) return TOK_TYPE_USER_DEFINED;
  if (a & TOK_ATTR_CONTROL) return TOK_TYPE_CONTROL;
  if (a & TOK_ATTR_UNKNOWN) return TOK_TYPE_UNKNOWN;
  if (a & TOK_ATTR_UNUSED) return TOK_TYPE_UNUSED;
  if (a & TOK_ATTR_NORMAL) return TOK_TYPE_NORMAL;
  return TOK_TYPE_UNDEFINED;
}

hr_str tok_token_text(const tokenizer *t, int32_t id) {
  if (id < 0 || (uint32_t)id >= t->n_tokens) return (hr_str){"", 0};
  return (hr_str){tok_text(t, id), t->tokens[id].len};
}

float tok_token_score(const tokenizer *t, int32_t id) {
  if (id < 0 || (uint32_t)id >= t->n_tokens) return 0.0f;
  return t->tokens[id].score;
}
