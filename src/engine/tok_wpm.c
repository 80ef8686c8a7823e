/* tok_wpm.c — WordPiece as llama.cpp does it for tokenizer.ggml.model =
 * "bert". First BERT's basic normalisation: NFD with accents (Mn) dropped
 * and lowercasing (both on unless the tokenizer.ggml.normalizer.* keys say
 * otherwise), control characters dropped, whitespace splits words, and each
 * punctuation mark, ASCII symbol or CJK ideograph becomes a word of its own.
 * Then each word, with "▁" in front (llama.cpp's converter marks word starts
 * that way instead of "##" on continuations), is cut greedily into the
 * longest vocab entries; a word that cannot be cut completely becomes the
 * unknown token.
 *
 * Unicode categories, case and decomposition come from utf8proc. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok_internal.h"

static bool is_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
         c == 0x205f || c == 0x3000;
}

/* The ideograph blocks BERT splits one by one (as the HF code lists them). */
static bool is_cjk(uint32_t c) {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
         (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f) ||
         (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
         (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/* Greedy longest-match of word[0..n) (which starts with "▁"). */
static void wordpiece(const tokenizer *t, const char *w, size_t n, tok_out *o) {
  size_t start = o->n;
  for (size_t i = 0; i < n;) {
    size_t j = HR_MIN(n, i + t->max_token_len + 1);
    int32_t id = TOK_NULL;
    for (; j > i; j--)
      if ((id = tok_find(t, w + i, j - i)) != TOK_NULL) break;
    if (id == TOK_NULL) { /* no way to cut the rest: the whole word is unknown */
      o->n = start;
      break;
    }
    tok_out_push(o, id);
    i = j;
  }
  if (o->n == start && t->unk != TOK_NULL) tok_out_push(o, t->unk);
}

/* BERT's WordPiece gives up on a word longer than this (in characters,
 * after normalisation): the word becomes the unknown token. */
#define WORD_CHARS_MAX 100

typedef struct {
  const tokenizer *t;
  tok_out *o;
  char *w; /* "▁" + the word so far */
  size_t n, cap;
  size_t chars; /* code points in the word */
} word_buf;

static void word_end(word_buf *b) {
  if (b->chars > WORD_CHARS_MAX && b->t->unk != TOK_NULL) tok_out_push(b->o, b->t->unk);
  else if (b->n > 3) wordpiece(b->t, b->w, b->n, b->o);
  b->n = 3;
  b->chars = 0;
}

static void word_add(word_buf *b, uint32_t cp) {
  if (b->n + 4 <= b->cap) b->n += tok_utf8_put(cp, b->w + b->n);
  b->chars++;
}

static void add_cp(const tokenizer *t, word_buf *b, uint32_t cp) {
  utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
  /* Control characters go before whitespace is looked for, as BERT's
   * normaliser does: form feed, vertical tab and U+0085 vanish instead of
   * splitting words; only tab, newline and carriage return are spaces. */
  bool tab_nl = cp == '\t' || cp == '\n' || cp == '\r';
  if (!tab_nl && (cp == 0 || cp == 0xfffd || cat == UTF8PROC_CATEGORY_CC ||
                  cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CS ||
                  cat == UTF8PROC_CATEGORY_CO))
    return;
  if (is_space(cp)) {
    word_end(b);
    return;
  }
  if (t->strip_accents && cat == UTF8PROC_CATEGORY_MN) return;
  uint32_t lc = t->lowercase ? (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp) : cp;
  bool punct = cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
  bool symbol = cat >= UTF8PROC_CATEGORY_SM && cat <= UTF8PROC_CATEGORY_SO;
  if (punct || (cp < 0x7f && symbol) || is_cjk(cp)) {
    word_end(b);
    word_add(b, lc);
    word_end(b);
  } else {
    word_add(b, lc);
  }
}

int tok_wpm_encode(const tokenizer *t, const char *text, size_t len, tok_out *o) {
  /* a word grows by at most 4 bytes per code point read */
  size_t cap = 4 * len + 16;
  word_buf b = {t, o, malloc(cap), 3, cap, 0};
  if (!b.w) return HR_ENOMEM;
  memcpy(b.w, "\xe2\x96\x81", 3);
  for (size_t i = 0; i < len;) {
    uint32_t cp = tok_utf8_next(text, len, &i);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
    if (!t->strip_accents) {
      add_cp(t, &b, cp);
      continue;
    }
    utf8proc_int32_t d[8];
    int last = 0;
    utf8proc_ssize_t nd = utf8proc_decompose_char((utf8proc_int32_t)cp, d, 8,
                                                  UTF8PROC_DECOMPOSE, &last);
    if (nd < 1 || nd > 8) {
      add_cp(t, &b, cp);
      continue;
    }
    for (utf8proc_ssize_t k = 0; k < nd; k++) add_cp(t, &b, (uint32_t)d[k]);
  }
  word_end(&b);
  free(b.w);
  return 0;
}
