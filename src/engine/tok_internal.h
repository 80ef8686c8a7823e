/* tok_internal.h — what the tokenizer files share and nobody else sees: the
 * tokenizer struct, the scratch output list, and the per-family encoders.
 *
 * Memory: everything a tokenizer owns comes from its arena (token texts,
 * tables, pieces) except the compiled regexes, freed in tok_free. Encoders
 * get a tok_out to append to and malloc their own scratch per call. */
#ifndef HEARTH_ENGINE_TOK_INTERNAL_H
#define HEARTH_ENGINE_TOK_INTERNAL_H

#include "tokenizer.h"

/* Token attributes, as llama.cpp's llama_token_attr. */
enum {
  TOK_ATTR_UNDEFINED = 0,
  TOK_ATTR_UNKNOWN = 1 << 0,
  TOK_ATTR_UNUSED = 1 << 1,
  TOK_ATTR_NORMAL = 1 << 2,
  TOK_ATTR_CONTROL = 1 << 3,
  TOK_ATTR_USER_DEFINED = 1 << 4,
  TOK_ATTR_BYTE = 1 << 5,
  TOK_ATTR_LSTRIP = 1 << 7,
  TOK_ATTR_RSTRIP = 1 << 8,
};

typedef struct {
  uint32_t off, len;             /* text in t->blob */
  uint32_t piece_off, piece_len; /* decoded bytes in t->pieces */
  float score;
  uint16_t attr;
  uint8_t type; /* tok_type as in the file */
} tok_entry;

/* A BPE merge: the pair (left, right) of token ids gives `merged` at `rank`. */
typedef struct {
  int32_t left, right, merged;
  uint32_t rank;
} tok_merge;

#define TOK_MAX_REGEX 8

struct tokenizer {
  tok_kind kind;
  char pre[64];
  hr_arena *arena;
  char *blob;   /* all token texts */
  char *pieces; /* all decoded pieces */
  tok_entry *tokens;
  uint32_t n_tokens;
  uint32_t max_token_len;
  size_t max_piece_len;
  uint32_t *text_slots; /* hash of token text -> id + 1 */
  size_t text_cap;

  int32_t bos, eos, eot, eom, unk, sep, pad, mask;
  bool add_bos, add_eos, add_sep, add_space_prefix, ignore_merges, clean_spaces;
  bool lowercase, strip_accents; /* WPM */
  uint8_t *eog;                  /* n_tokens flags */

  /* special tokens matched in raw text, longest first (ties by id) */
  int32_t *special_all; /* control, user-defined, unknown */
  size_t n_special_all;
  int32_t *special_user; /* user-defined only (parse_special = false) */
  size_t n_special_user;

  /* SPM: id of "<0xXX>" per byte (TOK_NULL if absent); BPE: id of the
   * byte-level character for each byte */
  int32_t byte_ids[256];

  /* SPM: every pair of adjacent characters inside some token (by the
   * packed bytes of both); text is only merged across pairs in this set */
  uint64_t *pair_keys;
  uint8_t *pair_used;
  size_t pair_cap;

  /* BPE */
  tok_merge *merges; /* open-addressed by (left, right); left < 0 = empty */
  size_t merge_cap;
  void *re[TOK_MAX_REGEX]; /* pcre2_code_8 * */
  size_t n_re;
};

/* ---- output list ---------------------------------------------------------
 * Writes at most max ids; counts all of them. Encoders may roll back. */
typedef struct {
  int32_t *ids;
  size_t max;
  size_t n;
} tok_out;

static inline void tok_out_push(tok_out *o, int32_t id) {
  if (o->n < o->max) o->ids[o->n] = id;
  o->n++;
}

static inline const char *tok_text(const tokenizer *t, int32_t id) {
  return t->blob + t->tokens[id].off;
}

/* ---- the families (tok_spm.c, tok_bpe.c, tok_wpm.c) --------------------- */

/* Encode one raw-text fragment (no special tokens inside). HR_ENOMEM only. */
int tok_spm_encode(const tokenizer *t, const char *text, size_t len, bool space_prefix,
                   tok_out *o);
int tok_bpe_encode(const tokenizer *t, const char *text, size_t len, tok_out *o);
int tok_wpm_encode(const tokenizer *t, const char *text, size_t len, tok_out *o);

/* SPM set-up: the character-pair set. */
int tok_spm_init(tokenizer *t);

/* BPE set-up: regexes by pre name, merges, byte table. err gets a message. */
int tok_bpe_init(tokenizer *t, const gguf_file *g, char *err, size_t err_len);
void tok_bpe_free(tokenizer *t);
/* The bytes a byte-level BPE token text stands for, appended at out (room
 * for len bytes is enough). Returns bytes written. */
size_t tok_bpe_unmap(const char *text, size_t len, char *out);

/* ---- Unicode helpers (tok_unicode.c) ----------------------------------- */

/* llama.cpp's lenient UTF-8 reader: the code point at s[*i], advancing *i.
 * A byte that starts no valid sequence reads as U+FFFD and advances 1. */
uint32_t tok_utf8_next(const char *s, size_t len, size_t *i);
/* Writes cp as UTF-8 (1-4 bytes), returns the length. */
size_t tok_utf8_put(uint32_t cp, char *out);
/* Bytes in the UTF-8 sequence led by byte c, by its top four bits (1 for a
 * continuation byte), as llama.cpp's unicode_len_utf8. */
static inline size_t tok_utf8_len(unsigned char c) {
  static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return lookup[c >> 4];
}
/* Rewrites text as valid UTF-8 (each bad byte -> U+FFFD; surrogates and
 * code points past U+10FFFF -> U+FFFD) into out (room for 3 * len bytes).
 * Returns the new length. */
size_t tok_utf8_sanitize(const char *text, size_t len, char *out);

#endif
