/* tok_spm.c — SentencePiece-style encoding as llama.cpp does it for
 * tokenizer.ggml.model = "llama": spaces become "▁" (with one more in front
 * when the fragment starts the text or follows a special token), the text is
 * cut into UTF-8 characters, and the adjacent pair whose concatenation is
 * the highest-scoring vocab entry is merged, again and again (ties: the
 * leftmost pair). Whatever is left that is not a token falls back to byte
 * tokens <0xXX>.
 *
 * Speed: merging runs separately on each stretch of text that no token can
 * span — cut where two adjacent characters appear next to each other in no
 * vocab entry. No merge crosses such a cut and merges in different stretches
 * never interact, so the result is the same as one pass over the whole text
 * (llama.cpp's way), but the pair heap stays word-sized instead of
 * text-sized.
 *
 * Scratch: one malloc per call for the escaped text, the symbols and the
 * pair heap; nothing survives the call. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

/* ---- the character-pair set ------------------------------------------- */

/* Up to 4 bytes of one character, packed. */
static uint32_t pack_char(const char *p, size_t n) {
  uint32_t v = 0;
  memcpy(&v, p, n);
  return v;
}

static size_t pair_slot(const tokenizer *t, uint64_t key) {
  uint64_t h = key * 0x9e3779b97f4a7c15ull;
  size_t mask = t->pair_cap - 1, i = (size_t)(h >> 20) & mask;
  while (t->pair_used[i] && t->pair_keys[i] != key) i = (i + 1) & mask;
  return i;
}

static bool pair_known(const tokenizer *t, uint64_t key) {
  return t->pair_used[pair_slot(t, key)] != 0;
}

int tok_spm_init(tokenizer *t) {
  size_t n_pairs = 0;
  for (uint32_t i = 0; i < t->n_tokens; i++) n_pairs += t->tokens[i].len;
  t->pair_cap = 64;
  while (t->pair_cap < n_pairs * 2) t->pair_cap <<= 1;
  t->pair_keys = hr_arena_alloc(t->arena, t->pair_cap * sizeof *t->pair_keys);
  t->pair_used = hr_arena_calloc(t->arena, t->pair_cap, 1);
  if (!t->pair_keys || !t->pair_used) return HR_ENOMEM;
  for (uint32_t i = 0; i < t->n_tokens; i++) {
    const char *s = tok_text(t, (int32_t)i);
    size_t len = t->tokens[i].len, off = 0, prev_off = 0, prev_n = 0;
    while (off < len) {
      size_t n = HR_MIN(tok_utf8_len((unsigned char)s[off]), len - off);
      if (prev_n) {
        uint64_t key = (uint64_t)pack_char(s + prev_off, prev_n) << 32 | pack_char(s + off, n);
        size_t slot = pair_slot(t, key);
        t->pair_used[slot] = 1;
        t->pair_keys[slot] = key;
      }
      prev_off = off, prev_n = n;
      off += n;
    }
  }
  return 0;
}

/* ---- merging ------------------------------------------------------------ */

typedef struct {
  int32_t prev, next;
  uint32_t off, n; /* bytes in the escaped text; n == 0 once merged away */
} sym;

typedef struct {
  float score;
  int32_t left, right;
  uint32_t size;
} bigram;

/* Max-heap order: higher score first, then the leftmost pair. */
static bool before(const bigram *a, const bigram *b) {
  return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(bigram *h, size_t *n, bigram b) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(&b, &h[p])) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = b;
}

static bigram heap_pop(bigram *h, size_t *n) {
  bigram top = h[0], last = h[--(*n)];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && before(&h[c + 1], &h[c])) c++;
    if (!before(&h[c], &last)) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = last;
  return top;
}

typedef struct {
  const tokenizer *t;
  const char *text;
  sym *syms;
  bigram *heap;
  size_t n_heap;
} spm;

static void try_add(spm *s, int32_t left, int32_t right) {
  if (left < 0 || right < 0) return;
  uint32_t size = s->syms[left].n + s->syms[right].n;
  int32_t id = tok_find(s->t, s->text + s->syms[left].off, size);
  if (id == TOK_NULL) return;
  heap_push(s->heap, &s->n_heap, (bigram){s->t->tokens[id].score, left, right, size});
}

static void merge(spm *s, int32_t start, int32_t end) {
  sym *syms = s->syms;
  s->n_heap = 0;
  for (int32_t i = start + 1; i < end; i++) try_add(s, i - 1, i);
  while (s->n_heap > 0) {
    bigram b = heap_pop(s->heap, &s->n_heap);
    sym *l = &syms[b.left], *r = &syms[b.right];
    if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
    l->n += r->n;
    r->n = 0;
    l->next = r->next;
    if (r->next >= 0) syms[r->next].prev = b.left;
    try_add(s, l->prev, b.left);
    try_add(s, b.left, l->next);
  }
}

static void emit(const tokenizer *t, const char *p, size_t n, tok_out *o) {
  int32_t id = tok_find(t, p, n);
  if (id != TOK_NULL) {
    tok_out_push(o, id);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    int32_t b = t->byte_ids[(uint8_t)p[i]];
    if (b == TOK_NULL) b = t->unk;
    if (b != TOK_NULL) tok_out_push(o, b);
  }
}

int tok_spm_encode(const tokenizer *t, const char *text, size_t len, bool space_prefix,
                   tok_out *o) {
  size_t cap = 3 * (len + 1);
  size_t max_syms = cap, max_heap = 3 * cap + 1;
  char *buf = malloc(cap + max_syms * sizeof(sym) + max_heap * sizeof(bigram) + 16);
  if (!buf) return HR_ENOMEM;
  sym *syms = (sym *)(((uintptr_t)(buf + cap) + 15) & ~(uintptr_t)15);
  bigram *heap = (bigram *)(syms + max_syms);

  size_t n = 0;
  if (space_prefix) memcpy(buf, "\xe2\x96\x81", 3), n = 3;
  for (size_t i = 0; i < len; i++) {
    if (text[i] == ' ') memcpy(buf + n, "\xe2\x96\x81", 3), n += 3;
    else buf[n++] = text[i];
  }
  int32_t n_syms = 0;
  for (size_t off = 0; off < n;) {
    size_t l = HR_MIN(tok_utf8_len((unsigned char)buf[off]), n - off);
    syms[n_syms] = (sym){n_syms - 1, n_syms + 1, (uint32_t)off, (uint32_t)l};
    n_syms++;
    off += l;
  }
  spm s = {t, buf, syms, heap, 0};
  for (int32_t start = 0; start < n_syms;) {
    /* the stretch [start, end): up to the first pair no token contains */
    int32_t end = start + 1;
    while (end < n_syms) {
      const sym *a = &syms[end - 1], *b = &syms[end];
      uint64_t key = (uint64_t)pack_char(buf + a->off, a->n) << 32 | pack_char(buf + b->off, b->n);
      if (!pair_known(t, key)) break;
      end++;
    }
    syms[start].prev = -1;
    syms[end - 1].next = -1;
    merge(&s, start, end);
    for (int32_t i = start; i != -1; i = syms[i].next) emit(t, buf + syms[i].off, syms[i].n, o);
    start = end;
  }
  free(buf);
  return 0;
}
