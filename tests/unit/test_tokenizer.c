/* test_tokenizer.c — the tokenizers against llama.cpp's own test vectors:
 * every ggml-vocab-*.gguf in ../shared/vocab with its .inp/.out pair (read
 * the way test-tokenizer-0 reads them: inputs separated by
 * "\n__ggml_vocab_test__\n", one line of ids per input), decoding back where
 * the tokenizer is lossless, then the demo model's prompts from
 * ../shared/reference/stories260K.jsonl, special tokens, the stream decoder
 * and the speed of a long prompt. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, qsort_r */
#endif
#include "../../src/engine/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "test.h"

#define VOCAB_DIR "../shared/vocab"

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  hr_buf b = HR_BUF_INIT;
  char tmp[65536];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) hr_buf_append(&b, tmp, n);
  fclose(f);
  hr_buf_putc(&b, 0);
  *len = b.len - 1;
  return b.data;
}

typedef struct {
  gguf_file *g;
  tokenizer *t;
} loaded;

static int load_model(const char *path, loaded *m) {
  char err[256];
  m->g = NULL;
  m->t = NULL;
  int rc = gguf_open(path, &m->g, err, sizeof err);
  if (rc == 0) rc = tok_load(m->g, &m->t, err, sizeof err);
  if (rc) fprintf(stderr, "    %s: %s\n", path, err);
  return rc;
}

static void unload(loaded *m) {
  tok_free(m->t);
  gguf_close(m->g);
}

static void print_ids(const char *what, const int32_t *ids, size_t n) {
  fprintf(stderr, "      %s:", what);
  for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, " %d", ids[i]);
  fprintf(stderr, "%s\n", n > 40 ? " ..." : "");
}

/* Runs one vocab's .inp/.out; returns how many of the lines matched (and
 * decoded back, where checked). */
static int run_vocab(const char *name, int *n_lines) {
  char path[256];
  snprintf(path, sizeof path, VOCAB_DIR "/ggml-vocab-%s.gguf", name);
  loaded m;
  if (load_model(path, &m)) return -1;
  size_t inp_len, out_len;
  snprintf(path, sizeof path, VOCAB_DIR "/ggml-vocab-%s.gguf.inp", name);
  char *inp = read_all(path, &inp_len);
  snprintf(path, sizeof path, VOCAB_DIR "/ggml-vocab-%s.gguf.out", name);
  char *outs = read_all(path, &out_len);
  if (!inp || !outs) {
    free(inp);
    free(outs);
    unload(&m);
    return -1;
  }
  static const char sep[] = "\n__ggml_vocab_test__\n";
  const size_t sep_len = sizeof sep - 1;
  bool lossless = tok_get_kind(m.t) != TOK_KIND_WPM;
  int ok = 0, total = 0;
  char *inp_at = inp, *out_at = outs;
  int32_t ids[4096], want[4096];
  hr_buf dec = HR_BUF_INIT;
  while (inp_at < inp + inp_len) {
    char *end = memmem(inp_at, (size_t)(inp + inp_len - inp_at), sep, sep_len);
    if (!end) break; /* what follows the last separator is not a test */
    size_t text_len = (size_t)(end - inp_at);
    char *nl = strchr(out_at, '\n');
    if (!nl) nl = out_at + strlen(out_at);
    size_t n_want = 0;
    for (char *p = out_at; p < nl && n_want < 4096;) {
      char *q;
      long v = strtol(p, &q, 10);
      if (q == p) break;
      want[n_want++] = (int32_t)v;
      p = q;
    }
    out_at = *nl ? nl + 1 : nl;
    total++;
    size_t n = 0;
    int rc = tok_encode(m.t, inp_at, text_len, false, false, ids, 4096, &n);
    bool same = rc == 0 && n == n_want && memcmp(ids, want, n * sizeof *ids) == 0;
    if (!same) {
      fprintf(stderr, "    %s line %d: '%.*s'\n", name, total, (int)HR_MIN(text_len, 60), inp_at);
      print_ids("want", want, n_want);
      print_ids("got ", ids, n);
    }
    bool back = true;
    if (same && lossless) {
      hr_buf_clear(&dec);
      for (size_t i = 0; i < n; i++) {
        hr_str p = tok_decode_piece(m.t, ids[i], true);
        hr_buf_append(&dec, p.ptr, p.len);
      }
      const char *d = dec.data ? dec.data : "";
      size_t dl = dec.len;
      /* SPM puts a space in front of the text; llama.cpp strips it again */
      if (tok_get_kind(m.t) == TOK_KIND_SPM && dl > 0 && d[0] == ' ') d++, dl--;
      back = dl == text_len && memcmp(d, inp_at, dl) == 0;
      if (!back)
        fprintf(stderr, "    %s line %d: decodes to '%.*s'\n", name, total, (int)HR_MIN(dl, 60),
                d);
    }
    if (same && back) ok++;
    inp_at = end + sep_len;
  }
  hr_buf_free(&dec);
  free(inp);
  free(outs);
  unload(&m);
  *n_lines = total;
  return ok;
}

static bool have_vocab_dir(void) {
  FILE *f = fopen(VOCAB_DIR "/ggml-vocab-llama-spm.gguf", "rb");
  if (f) fclose(f);
  return f != NULL;
}

#define VOCAB_TEST(fn, name)                                                      \
  TEST(fn) {                                                                      \
    if (!have_vocab_dir()) SKIP(VOCAB_DIR " not found");                          \
    int total = 0, ok = run_vocab(name, &total);                                  \
    fprintf(stderr, "  vocab %-15s %d of %d lines\n", name, ok < 0 ? 0 : ok, total); \
    CHECK(total == 46);                                                           \
    CHECK_EQ_INT(ok, total);                                                      \
  }

VOCAB_TEST(vocab_llama_spm, "llama-spm")
VOCAB_TEST(vocab_phi_3, "phi-3")
VOCAB_TEST(vocab_llama_bpe, "llama-bpe")
VOCAB_TEST(vocab_qwen2, "qwen2")
VOCAB_TEST(vocab_gpt_2, "gpt-2")
VOCAB_TEST(vocab_deepseek_coder, "deepseek-coder")
VOCAB_TEST(vocab_deepseek_llm, "deepseek-llm")
VOCAB_TEST(vocab_falcon, "falcon")
VOCAB_TEST(vocab_mpt, "mpt")
VOCAB_TEST(vocab_starcoder, "starcoder")
VOCAB_TEST(vocab_refact, "refact")
VOCAB_TEST(vocab_bert_bge, "bert-bge")

/* ---- the demo model ----------------------------------------------------- */

/* The JSON string value after "key": in line, unescaped into out. */
static bool json_str(const char *line, const char *key, hr_buf *out) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\": \"", key);
  const char *p = strstr(line, pat);
  if (!p) return false;
  p += strlen(pat);
  hr_buf_clear(out);
  for (; *p && *p != '"'; p++) {
    if (*p != '\\') {
      hr_buf_putc(out, *p);
      continue;
    }
    p++;
    switch (*p) {
      case 'n': hr_buf_putc(out, '\n'); break;
      case 't': hr_buf_putc(out, '\t'); break;
      case 'r': hr_buf_putc(out, '\r'); break;
      case 'u': {
        unsigned cp = (unsigned)strtoul((char[5]){p[1], p[2], p[3], p[4], 0}, NULL, 16);
        p += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && p[1] == '\\' && p[2] == 'u') {
          unsigned lo = (unsigned)strtoul((char[5]){p[3], p[4], p[5], p[6], 0}, NULL, 16);
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          p += 6;
        }
        char u[4];
        size_t n = cp < 0x80 ? (u[0] = (char)cp, 1)
                   : cp < 0x800 ? (u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), 2)
                   : cp < 0x10000 ? (u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
                                     u[2] = (char)(0x80 | (cp & 0x3f)), 3)
                                  : (u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
                                     u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), 4);
        hr_buf_append(out, u, n);
        break;
      }
      default: hr_buf_putc(out, *p); break;
    }
  }
  return true;
}

static size_t json_ids(const char *line, const char *key, int32_t *ids, size_t max) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\": [", key);
  const char *p = strstr(line, pat);
  if (!p) return 0;
  p += strlen(pat);
  size_t n = 0;
  while (*p && *p != ']' && n < max) {
    char *q;
    long v = strtol(p, &q, 10);
    if (q == p) break;
    ids[n++] = (int32_t)v;
    p = q;
    while (*p == ',' || *p == ' ') p++;
  }
  return n;
}

TEST(stories_once_upon_a_time) {
  loaded m;
  if (load_model("models/stories260K.gguf", &m)) {
    CHECK(0);
    return;
  }
  CHECK_EQ_INT(tok_get_kind(m.t), TOK_KIND_SPM);
  CHECK_EQ_INT(tok_vocab_size(m.t), 512);
  CHECK_EQ_INT(tok_bos(m.t), 1);
  CHECK_EQ_INT(tok_eos(m.t), 2);
  CHECK_EQ_INT(tok_unk(m.t), 0);
  CHECK_EQ_INT(tok_sep(m.t), TOK_NULL); /* 4294967295 in the file: out of range */
  CHECK(tok_add_bos(m.t));
  CHECK(!tok_add_eos(m.t));
  CHECK(tok_is_eog(m.t, 2));
  CHECK(!tok_is_eog(m.t, 1));
  CHECK_EQ_INT(tok_token_type(m.t, 1), TOK_TYPE_CONTROL);
  CHECK_EQ_INT(tok_token_type(m.t, 13), TOK_TYPE_BYTE);
  CHECK_EQ_INT(tok_token_type(m.t, 403), TOK_TYPE_NORMAL);
  int32_t ids[64];
  size_t n = 0;
  const char *s = "Once upon a time";
  CHECK_EQ_INT(tok_encode(m.t, s, strlen(s), true, false, ids, 64, &n), 0);
  int32_t want[] = {1, 403, 407, 261, 378};
  CHECK_EQ_INT(n, 5);
  CHECK(n == 5 && memcmp(ids, want, sizeof want) == 0);
  /* too small a buffer: the count, and the first ids */
  CHECK_EQ_INT(tok_encode(m.t, s, strlen(s), true, false, ids, 2, &n), HR_ERANGE);
  CHECK_EQ_INT(n, 5);
  CHECK(ids[0] == 1 && ids[1] == 403);
  /* pieces */
  CHECK(hr_str_eq_cstr(tok_decode_piece(m.t, 13, false), "\n")); /* <0x0A> */
  CHECK(hr_str_eq_cstr(tok_decode_piece(m.t, 1, true), "<s>"));
  CHECK_EQ_INT(tok_decode_piece(m.t, 1, false).len, 0);
  CHECK_EQ_INT(tok_decode_piece(m.t, 99999, true).len, 0);
  hr_str p403 = tok_decode_piece(m.t, 403, false);
  CHECK(p403.len > 0 && p403.ptr[0] == ' '); /* "▁Once" */
  /* "<s>" in the text: plain text unless parse_special */
  s = "<s>Hi";
  CHECK_EQ_INT(tok_encode(m.t, s, strlen(s), false, true, ids, 64, &n), 0);
  CHECK(n >= 2 && ids[0] == 1);
  size_t n2 = 0;
  CHECK_EQ_INT(tok_encode(m.t, s, strlen(s), false, false, ids, 64, &n2), 0);
  CHECK(n2 > 0 && ids[0] != 1);
  /* empty text */
  CHECK_EQ_INT(tok_encode(m.t, "", 0, false, false, ids, 64, &n), 0);
  CHECK_EQ_INT(n, 0);
  CHECK_EQ_INT(tok_encode(m.t, "", 0, true, false, ids, 64, &n), 0);
  CHECK(n == 1 && ids[0] == 1);
  unload(&m);
}

TEST(stories_reference_prompts) {
  size_t len;
  char *all = read_all("../shared/reference/stories260K.jsonl", &len);
  if (!all) SKIP("../shared/reference/stories260K.jsonl not found");
  loaded m;
  if (load_model("models/stories260K.gguf", &m)) {
    free(all);
    CHECK(0);
    return;
  }
  hr_buf prompt = HR_BUF_INIT, text = HR_BUF_INIT, dec = HR_BUF_INIT;
  int n_prompts = 0;
  for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
    int32_t want[512], gen[512], ids[512];
    if (!json_str(line, "prompt", &prompt)) continue;
    size_t n_want = json_ids(line, "prompt_ids", want, 512);
    size_t n = 0;
    n_prompts++;
    CHECK_EQ_INT(tok_encode(m.t, prompt.data ? prompt.data : "", prompt.len, true, false, ids,
                            512, &n),
                 0);
    bool same = n == n_want && memcmp(ids, want, n * sizeof *ids) == 0;
    if (!same) {
      fprintf(stderr, "    prompt '%s'\n", prompt.data);
      print_ids("want", want, n_want);
      print_ids("got ", ids, n);
    }
    CHECK(same);
    /* the generated ids decode, through the stream decoder, to "text" */
    size_t n_gen = json_ids(line, "ids", gen, 512);
    if (json_str(line, "text", &text) && n_gen) {
      tok_stream st = TOK_STREAM_INIT;
      char chunk[256];
      hr_buf_clear(&dec);
      for (size_t i = 0; i < n_gen; i++) {
        size_t w = tok_stream_push(&st, m.t, gen[i], false, chunk, sizeof chunk);
        hr_buf_append(&dec, chunk, w);
      }
      size_t w = tok_stream_flush(&st, chunk, sizeof chunk);
      hr_buf_append(&dec, chunk, w);
      bool eq = dec.len == text.len && memcmp(dec.data, text.data, dec.len) == 0;
      if (!eq) fprintf(stderr, "    text: '%.*s'\n    got:  '%.*s'\n", (int)text.len, text.data,
                       (int)dec.len, dec.data);
      CHECK(eq);
    }
  }
  CHECK(n_prompts >= 8);
  hr_buf_free(&prompt);
  hr_buf_free(&text);
  hr_buf_free(&dec);
  free(all);
  unload(&m);
}

TEST(stream_decoder_holds_split_characters) {
  tok_stream s = TOK_STREAM_INIT;
  char out[64];
  /* "é" = C3 A9 split over two pushes; "€" = E2 82 AC over three */
  CHECK_EQ_INT(tok_stream_push_bytes(&s, "a\xc3", 2, out, sizeof out), 1);
  CHECK_EQ_INT(out[0], 'a');
  CHECK_EQ_INT(tok_stream_push_bytes(&s, "\xa9", 1, out, sizeof out), 2);
  CHECK(memcmp(out, "\xc3\xa9", 2) == 0);
  CHECK_EQ_INT(tok_stream_push_bytes(&s, "\xe2", 1, out, sizeof out), 0);
  CHECK_EQ_INT(tok_stream_push_bytes(&s, "\x82", 1, out, sizeof out), 0);
  CHECK_EQ_INT(tok_stream_push_bytes(&s, "\xac!", 2, out, sizeof out), 4);
  CHECK(memcmp(out, "\xe2\x82\xac!", 4) == 0);
  /* a lead byte followed by a non-continuation: U+FFFD, then the byte */
  CHECK_EQ_INT(tok_stream_push_bytes(&s, "\xe2x", 2, out, sizeof out), 4);
  CHECK(memcmp(out, "\xef\xbf\xbdx", 4) == 0);
  /* stray continuation, overlong lead, surrogate */
  CHECK_EQ_INT(tok_stream_push_bytes(&s, "\x80\xc0\xed\xa0\x80", 5, out, sizeof out), 15);
  /* an incomplete tail at the end */
  CHECK_EQ_INT(tok_stream_push_bytes(&s, "\xf0\x9f", 2, out, sizeof out), 0);
  CHECK_EQ_INT(tok_stream_flush(&s, out, sizeof out), 3);
  CHECK_EQ_INT(tok_stream_flush(&s, out, sizeof out), 0);
}

/* llama-bpe with parse_special: <|begin_of_text|> etc. become tokens. */
TEST(bpe_special_tokens_and_flags) {
  if (!have_vocab_dir()) SKIP(VOCAB_DIR " not found");
  loaded m;
  if (load_model(VOCAB_DIR "/ggml-vocab-llama-bpe.gguf", &m)) {
    CHECK(0);
    return;
  }
  CHECK_EQ_INT(tok_get_kind(m.t), TOK_KIND_BPE);
  CHECK(tok_add_bos(m.t)); /* llama3 pre-tokenizer implies BOS */
  CHECK_EQ_INT(tok_bos(m.t), 128000);
  CHECK_EQ_INT(tok_vocab_size(m.t), 128256);
  const char *s = "<|begin_of_text|>Hello<|end_of_text|>";
  int32_t ids[64];
  size_t n = 0;
  CHECK_EQ_INT(tok_encode(m.t, s, strlen(s), false, true, ids, 64, &n), 0);
  CHECK(n == 3 && ids[0] == 128000 && ids[2] == 128001);
  CHECK(tok_is_eog(m.t, 128001));
  CHECK_EQ_INT(tok_encode(m.t, s, strlen(s), true, false, ids, 64, &n), 0);
  CHECK(n > 3 && ids[0] == 128000 && ids[1] != 128000);
  /* decoding a byte-level token: "ĠHello" -> " Hello" */
  int32_t id = tok_find(m.t, "\xc4\xa0Hello", 7);
  CHECK(id >= 0);
  CHECK(hr_str_eq_cstr(tok_decode_piece(m.t, id, false), " Hello"));
  /* invalid UTF-8 does not fail */
  CHECK_EQ_INT(tok_encode(m.t, "a\xff\xfe b", 5, false, false, ids, 64, &n), 0);
  CHECK(n > 0);
  unload(&m);
}

/* Special-token texts inside a plain span stay text; outside they are
 * tokens, and the text around them tokenizes as it would with no span. */
TEST(guarded_spans_keep_special_texts_plain) {
  if (!have_vocab_dir()) SKIP(VOCAB_DIR " not found");
  loaded m;
  if (load_model(VOCAB_DIR "/ggml-vocab-llama-bpe.gguf", &m)) {
    CHECK(0);
    return;
  }
  /* a rendered turn whose content (bytes 30..64) types the end-of-turn */
  const char *s = "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>there<|eot_id|>";
  size_t len = strlen(s);
  const char *content = strstr(s, "hi");
  tok_span plain = {(size_t)(content - s), (size_t)(strstr(content + 2, "there") - s) + 5};
  CHECK(tok_has_special_text(m.t, content, plain.end - plain.start));
  CHECK(!tok_has_special_text(m.t, "hi there", 8));
  CHECK(!tok_has_special_text(m.t, "", 0));
  int32_t whole[64], guarded[64], text_ids[64], head[64];
  size_t n_whole = 0, n_guarded = 0, n_text = 0, n_head = 0;
  CHECK_EQ_INT(tok_encode(m.t, s, len, false, true, whole, 64, &n_whole), 0);
  CHECK_EQ_INT(tok_encode_guarded(m.t, s, len, false, &plain, 1, guarded, 64, &n_guarded), 0);
  /* the head's specials as tokens, the content as plain text, the last
   * <|eot_id|> (outside the span) as its token */
  CHECK_EQ_INT(tok_encode(m.t, s, (size_t)(content - s), false, true, head, 64, &n_head), 0);
  CHECK_EQ_INT(tok_encode(m.t, content, plain.end - plain.start, false, false, text_ids, 64, &n_text), 0);
  CHECK_EQ_INT((int)n_guarded, (int)(n_head + n_text + 1));
  CHECK(n_guarded > n_whole);
  CHECK(!memcmp(guarded, head, n_head * sizeof(int32_t)));
  CHECK(!memcmp(guarded + n_head, text_ids, n_text * sizeof(int32_t)));
  int32_t eot = tok_find(m.t, "<|eot_id|>", 10);
  CHECK(eot >= 0 && guarded[n_guarded - 1] == eot);
  for (size_t i = n_head; i < n_head + n_text; i++) CHECK(guarded[i] != eot);
  /* no spans: the same as tok_encode with parse_special */
  CHECK_EQ_INT(tok_encode_guarded(m.t, s, len, false, NULL, 0, guarded, 64, &n_guarded), 0);
  CHECK(n_guarded == n_whole && !memcmp(guarded, whole, n_whole * sizeof(int32_t)));
  unload(&m);
}

/* In Phi-3's vocabulary </s> is a user-defined token (matched in any text)
 * and <|assistant|> a control one: a plain span keeps only the latter as
 * text, and only the latter counts as special text. */
TEST(guarded_spans_still_match_user_defined_tokens) {
  if (!have_vocab_dir()) SKIP(VOCAB_DIR " not found");
  loaded m;
  if (load_model(VOCAB_DIR "/ggml-vocab-phi-3.gguf", &m)) {
    CHECK(0);
    return;
  }
  int32_t eos = tok_find(m.t, "</s>", 4), asst = tok_find(m.t, "<|assistant|>", 13);
  CHECK(eos >= 0 && tok_token_type(m.t, eos) == TOK_TYPE_USER_DEFINED);
  CHECK(asst >= 0 && tok_token_type(m.t, asst) == TOK_TYPE_CONTROL);
  CHECK(!tok_has_special_text(m.t, "a</s>b", 6));
  CHECK(tok_has_special_text(m.t, "a<|assistant|>b", 15));
  const char *s = "a</s>b<|assistant|>c";
  tok_span all = {0, strlen(s)};
  int32_t ids[64];
  size_t n = 0;
  CHECK_EQ_INT(tok_encode_guarded(m.t, s, strlen(s), false, &all, 1, ids, 64, &n), 0);
  bool has_eos = false, has_asst = false;
  for (size_t i = 0; i < n; i++) has_eos |= ids[i] == eos, has_asst |= ids[i] == asst;
  CHECK(has_eos && !has_asst);
  unload(&m);
}

/* WordPiece: CLS/SEP with add_special; accents and case folded. */
TEST(wpm_special_and_normalisation) {
  if (!have_vocab_dir()) SKIP(VOCAB_DIR " not found");
  loaded m;
  if (load_model(VOCAB_DIR "/ggml-vocab-bert-bge.gguf", &m)) {
    CHECK(0);
    return;
  }
  int32_t ids[64];
  size_t n = 0;
  const char *s = "Hello World";
  CHECK_EQ_INT(tok_encode(m.t, s, strlen(s), true, false, ids, 64, &n), 0);
  int32_t want[] = {101, 7592, 2088, 102};
  CHECK(n == 4 && memcmp(ids, want, sizeof want) == 0);
  size_t n2 = 0;
  int32_t ids2[64];
  s = "h\xc3\xa9llo WORLD"; /* accent stripped: "hello world" */
  CHECK_EQ_INT(tok_encode(m.t, s, strlen(s), true, false, ids2, 64, &n2), 0);
  CHECK(n2 == 4 && memcmp(ids2, want, sizeof want) == 0);
  /* [SEP] is a control token: text unless parse_special */
  s = "a[SEP]b";
  CHECK_EQ_INT(tok_encode(m.t, s, strlen(s), false, true, ids, 64, &n), 0);
  CHECK(n == 3 && ids[1] == 102);
  CHECK_EQ_INT(tok_encode(m.t, s, strlen(s), false, false, ids, 64, &n), 0);
  CHECK(n > 3);
  unload(&m);
}

/* Phi-3: llama.cpp strips whitespace after its special tokens. */
TEST(phi3_rstrip_after_special) {
  if (!have_vocab_dir()) SKIP(VOCAB_DIR " not found");
  loaded m;
  if (load_model(VOCAB_DIR "/ggml-vocab-phi-3.gguf", &m)) {
    CHECK(0);
    return;
  }
  int32_t user = tok_find(m.t, "<|user|>", 8), end = tok_find(m.t, "<|end|>", 7);
  CHECK(user >= 0 && end >= 0);
  CHECK_EQ_INT(tok_eot(m.t), end);
  CHECK(tok_is_eog(m.t, end));
  int32_t a[64], b[64];
  size_t na = 0, nb = 0;
  const char *s1 = "<|user|>\n  Hi<|end|>\n", *s2 = "<|user|>Hi<|end|>";
  CHECK_EQ_INT(tok_encode(m.t, s1, strlen(s1), false, true, a, 64, &na), 0);
  CHECK_EQ_INT(tok_encode(m.t, s2, strlen(s2), false, true, b, 64, &nb), 0);
  CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0);
  CHECK(na >= 3 && a[0] == user && a[na - 1] == end);
  unload(&m);
}

/* A 4k-token prompt must take well under a few ms (release build). */
TEST(long_prompt_speed) {
  if (!have_vocab_dir()) SKIP(VOCAB_DIR " not found");
  const char *names[] = {"llama-bpe", "llama-spm", "bert-bge"};
  for (size_t k = 0; k < 3; k++) {
    char path[128];
    snprintf(path, sizeof path, VOCAB_DIR "/ggml-vocab-%s.gguf", names[k]);
    loaded m;
    if (load_model(path, &m)) {
      CHECK(0);
      return;
    }
    hr_buf text = HR_BUF_INIT;
    while (text.len < 16000)
      hr_buf_append_str(&text, "The quick brown fox jumps over the lazy dog, doesn't it? "
                               "Numbers 12345 and \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac. ");
    static int32_t ids[16384];
    size_t n = 0;
    uint64_t t0 = hr_now_ns();
    int rc = tok_encode(m.t, text.data, text.len, true, false, ids, 16384, &n);
    uint64_t dt = hr_now_ns() - t0;
    CHECK_EQ_INT(rc, 0);
    fprintf(stderr, "  %-10s %zu bytes -> %zu tokens in %.2f ms\n", names[k], text.len, n,
            (double)dt / 1e6);
    hr_buf_free(&text);
    unload(&m);
  }
}

TEST(load_errors) {
  /* a GGUF without tokenizer metadata */
  static const unsigned char empty[32] = {'G', 'G', 'U', 'F', 3};
  gguf_file *g;
  char err[256];
  CHECK_EQ_INT(gguf_open_memory(empty, sizeof empty, &g, err, sizeof err), 0);
  tokenizer *t = (tokenizer *)1;
  CHECK_EQ_INT(tok_load(g, &t, err, sizeof err), HR_EFORMAT);
  CHECK(t == NULL);
  CHECK(strstr(err, "tokenizer.ggml.model") != NULL);
  gguf_close(g);
}

int main(void) {
  RUN(vocab_llama_spm);
  RUN(vocab_phi_3);
  RUN(vocab_llama_bpe);
  RUN(vocab_qwen2);
  RUN(vocab_gpt_2);
  RUN(vocab_deepseek_coder);
  RUN(vocab_deepseek_llm);
  RUN(vocab_falcon);
  RUN(vocab_mpt);
  RUN(vocab_starcoder);
  RUN(vocab_refact);
  RUN(vocab_bert_bge);
  RUN(stories_once_upon_a_time);
  RUN(stories_reference_prompts);
  RUN(stream_decoder_holds_split_characters);
  RUN(bpe_special_tokens_and_flags);
  RUN(guarded_spans_keep_special_texts_plain);
  RUN(guarded_spans_still_match_user_defined_tokens);
  RUN(wpm_special_and_normalisation);
  RUN(phi3_rstrip_after_special);
  RUN(long_prompt_speed);
  RUN(load_errors);
  return test_report("tokenizer");
}
