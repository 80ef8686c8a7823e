/* tokenizer.h — text to token ids and back, the way llama.cpp does it for
 * the three vocabulary families a GGUF file can carry:
 *
 *   tokenizer.ggml.model = "llama"  SentencePiece (BPE by piece score, byte
 *                                   fallback <0xXX>, "▁" for space)
 *                          "gpt2"   byte-level BPE by merge rank, after a
 *                                   pre-tokenizer regex chosen by
 *                                   tokenizer.ggml.pre
 *                          "bert"   WordPiece after BERT's basic
 *                                   normalisation (lowercase, NFD accent
 *                                   stripping, CJK and punctuation split)
 *
 * A tokenizer is built once from a gguf_file (it copies what it needs, so
 * the file may be closed afterwards), is immutable, and may be used from any
 * number of threads at once. tok_encode allocates scratch memory for the
 * call only; tok_decode_piece and the stream decoder never allocate.
 *
 * Special tokens in the text: with parse_special, control and user-defined
 * token texts found in the text become those tokens (longest first); without
 * it only user-defined tokens do, exactly like llama_tokenize. */
#ifndef HEARTH_ENGINE_TOKENIZER_H
#define HEARTH_ENGINE_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/base.h"
#include "gguf.h"

typedef struct tokenizer tokenizer;

typedef enum { TOK_KIND_SPM, TOK_KIND_BPE, TOK_KIND_WPM } tok_kind;

/* Token types, numbered as GGUF's tokenizer.ggml.token_type numbers them. */
typedef enum {
  TOK_TYPE_UNDEFINED = 0,
  TOK_TYPE_NORMAL = 1,
  TOK_TYPE_UNKNOWN = 2,
  TOK_TYPE_CONTROL = 3,
  TOK_TYPE_USER_DEFINED = 4,
  TOK_TYPE_UNUSED = 5,
  TOK_TYPE_BYTE = 6,
} tok_type;

#define TOK_NULL (-1) /* "no such token" for the special ids */

/* Builds the tokenizer described by g's tokenizer.* metadata. HR_EFORMAT
 * (message in err) when the metadata is missing or malformed,
 * HR_EUNSUPPORTED for an unknown tokenizer.ggml.model. An unknown
 * tokenizer.ggml.pre falls back to llama.cpp's default regexes, with a
 * warning in the log. */
int tok_load(const gguf_file *g, tokenizer **out, char *err, size_t err_len);
void tok_free(tokenizer *t);

/* Encodes text[0..len). add_special adds BOS/EOS (SPM, BPE: as the model's
 * add_bos/add_eos say) or CLS/SEP (WPM). parse_special: see above. Writes at
 * most max ids to out and the full count to *n; returns 0, or HR_ERANGE when
 * the count exceeds max (out then holds the first max ids). Invalid UTF-8
 * never fails: SPM falls back to bytes, BPE/WPM read each bad byte as
 * U+FFFD, as llama.cpp does. */
int tok_encode(const tokenizer *t, const char *text, size_t len, bool add_special,
               bool parse_special, int32_t *out, size_t max, size_t *n);

/* A byte range [start, end) of a text. */
typedef struct {
  size_t start, end;
} tok_span;
/* tok_encode with parse_special, except that control-token texts that
 * overlap one of the plain spans stay text (a chat message's content inside
 * a rendered template: a user who types "<|im_end|>" gets those characters,
 * not the token that ends a turn); user-defined tokens, which tok_encode
 * matches in any text, are matched there too. Spans in any order, not
 * overlapping. */
int tok_encode_guarded(const tokenizer *t, const char *text, size_t len, bool add_special,
                       const tok_span *plain, size_t n_plain, int32_t *out, size_t max, size_t *n);
/* Whether text holds the text of a special token that only parse_special
 * matches (a control token such as "<|im_end|>"). */
bool tok_has_special_text(const tokenizer *t, const char *text, size_t len);

/* The bytes token id stands for: byte tokens give their byte, SPM/WPM "▁"
 * becomes a space, BPE's byte-level characters become their bytes. Control
 * and unknown tokens give their text when special is true, nothing
 * otherwise. The view lives as long as t; an id out of range gives "". */
hr_str tok_decode_piece(const tokenizer *t, int32_t id, bool special);

/* Streaming decode: pieces in, chunks of valid UTF-8 out. A multi-byte
 * character split across tokens is held back until it completes; bytes that
 * can never form valid UTF-8 come out as U+FFFD. No allocation. */
typedef struct {
  uint8_t pend[4]; /* an incomplete character carried over */
  uint8_t n_pend;
  uint8_t need; /* bytes the carried character needs in total */
} tok_stream;

#define TOK_STREAM_INIT {{0}, 0, 0}
/* Appends the UTF-8-complete part of token id's piece to out, which must
 * have room for 3 * tok_max_piece_len(t) + 12 bytes (every byte may turn
 * into a 3-byte U+FFFD; what does not fit is dropped). Returns bytes
 * written. */
size_t tok_stream_push(tok_stream *s, const tokenizer *t, int32_t id, bool special, char *out,
                       size_t cap);
/* The same for raw bytes (out: room for 3 * n + 12). */
size_t tok_stream_push_bytes(tok_stream *s, const char *p, size_t n, char *out, size_t cap);
/* At the end of the stream: whatever is still held back, as U+FFFD (at most
 * 3 bytes written). */
size_t tok_stream_flush(tok_stream *s, char *out, size_t cap);

/* ---- vocabulary facts -------------------------------------------------- */

tok_kind tok_get_kind(const tokenizer *t);
const char *tok_pre_name(const tokenizer *t); /* tokenizer.ggml.pre, or "" */
uint32_t tok_vocab_size(const tokenizer *t);
size_t tok_max_piece_len(const tokenizer *t);
/* The special ids, TOK_NULL when the model has none. */
int32_t tok_bos(const tokenizer *t);
int32_t tok_eos(const tokenizer *t);
int32_t tok_eot(const tokenizer *t);
int32_t tok_pad(const tokenizer *t);
int32_t tok_unk(const tokenizer *t);
int32_t tok_sep(const tokenizer *t);
bool tok_add_bos(const tokenizer *t);
bool tok_add_eos(const tokenizer *t);
/* Does id end generation (EOS, EOT, <|im_end|> and the other texts llama.cpp
 * knows)? */
bool tok_is_eog(const tokenizer *t, int32_t id);
tok_type tok_token_type(const tokenizer *t, int32_t id);
hr_str tok_token_text(const tokenizer *t, int32_t id); /* as in the vocab */
float tok_token_score(const tokenizer *t, int32_t id);
/* The id whose vocab text is exactly text[0..len), or TOK_NULL. */
int32_t tok_find(const tokenizer *t, const char *text, size_t len);

/* `hearth tokenize -m FILE [--add-special] [--parse-special] TEXT`: prints
 * the ids separated by spaces, then a newline. Returns the exit status. */
int tok_cli_tokenize(int argc, char **argv);

#endif
