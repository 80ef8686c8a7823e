/* fuzz_tokenizer.c — libFuzzer target for the tokenizers, run from the
 * repository root: the demo model's SentencePiece vocabulary
 * (models/stories260K.gguf, always), and when scripts/install.sh has put
 * them in models/, SmolLM2's byte-level BPE (with its regex pre-tokenizer)
 * and MiniLM's WordPiece. Any bytes must encode without crashing, with and
 * without special-token parsing; the ids must be in range and decode; for
 * SentencePiece and valid UTF-8 without "▁" (which it reads as a space),
 * decoding must give the input back exactly. The stream decoder must only
 * ever emit valid UTF-8. */
// fuzz-sources: src/engine/tokenizer.c src/engine/tok_spm.c src/engine/tok_bpe.c src/engine/tok_wpm.c src/engine/tok_unicode.c src/engine/gguf.c src/base/arena.c src/base/base.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/engine/tokenizer.h"

static tokenizer *g_toks[3]; /* SentencePiece, then those present */
static int g_n;

static void load(const char *path, bool required) {
  char err[256];
  gguf_file *g;
  if (gguf_open(path, &g, err, sizeof err)) {
    if (!required) return;
    fprintf(stderr, "fuzz_tokenizer: %s (run from the repository root)\n", err);
    abort();
  }
  if (tok_load(g, &g_toks[g_n], err, sizeof err)) {
    fprintf(stderr, "fuzz_tokenizer: %s\n", err);
    abort();
  }
  g_n++;
  gguf_close(g);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  load("models/stories260K.gguf", true);
  load("models/smollm2-135m-instruct.gguf", false);
  load("models/all-minilm-l6-v2.gguf", false);
  return 0;
}

/* Strict UTF-8 validity (no overlongs, surrogates, or past U+10FFFF). */
static bool valid_utf8(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n;) {
    uint8_t c = s[i];
    size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    for (size_t k = 1; k < len; k++)
      if ((s[i + k] & 0xc0) != 0x80) return false;
    if (c == 0xe0 && s[i + 1] < 0xa0) return false;
    if (c == 0xed && s[i + 1] > 0x9f) return false;
    if (c == 0xf0 && s[i + 1] < 0x90) return false;
    if (c == 0xf4 && s[i + 1] > 0x8f) return false;
    i += len;
  }
  return true;
}

static void check(tokenizer *g_tok, bool exact, const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  size_t max = 3 * size + 8, n = 0; /* a space can fall back to 3 byte tokens */
  int32_t *ids = malloc(max * sizeof *ids);
  char *dec = malloc(4 * size + 64);
  if (!ids || !dec) abort();
  for (int parse = 0; parse < 2; parse++) {
    if (tok_encode(g_tok, text, size, parse, parse, ids, max, &n) != 0) abort();
    for (size_t i = 0; i < n; i++)
      if (ids[i] < 0 || (uint32_t)ids[i] >= tok_vocab_size(g_tok)) abort();
  }
  /* special texts guarded in a span cut from the input's first bytes: the
   * ids in range, whatever the span */
  if (size >= 2) {
    tok_span span = {data[0] % size, data[0] % size + data[1] % (size - data[0] % size + 1)};
    size_t m = 0;
    if (tok_encode_guarded(g_tok, text, size, false, &span, 1, ids, max, &m) != 0) abort();
    for (size_t i = 0; i < m; i++)
      if (ids[i] < 0 || (uint32_t)ids[i] >= tok_vocab_size(g_tok)) abort();
    tok_has_special_text(g_tok, text, size);
  }
  /* ids from the last (non-special) encode of the raw text */
  if (tok_encode(g_tok, text, size, false, false, ids, max, &n) != 0) abort();
  size_t dl = 0;
  for (size_t i = 0; i < n; i++) {
    hr_str p = tok_decode_piece(g_tok, ids[i], true);
    if (dl + p.len > 4 * size + 64) abort(); /* decoding never grows past this */
    memcpy(dec + dl, p.ptr, p.len);
    dl += p.len;
  }
  const char *d = dec;
  if (dl > 0 && d[0] == ' ') d++, dl--; /* the SentencePiece space prefix */
  if (exact && valid_utf8(data, size) && !memmem(data, size, "\xe2\x96\x81", 3)) {
    if (dl != size || memcmp(d, data, size) != 0) abort();
  }
  /* the stream decoder on the same ids emits only valid UTF-8 */
  tok_stream st = TOK_STREAM_INIT;
  char chunk[512];
  for (size_t i = 0; i < n; i++) {
    size_t w = tok_stream_push(&st, g_tok, ids[i], true, chunk, sizeof chunk);
    if (!valid_utf8((const uint8_t *)chunk, w)) abort();
  }
  size_t w = tok_stream_flush(&st, chunk, sizeof chunk);
  if (!valid_utf8((const uint8_t *)chunk, w)) abort();
  free(ids);
  free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int i = 0; i < g_n; i++) check(g_toks[i], i == 0, data, size);
  return 0;
}
