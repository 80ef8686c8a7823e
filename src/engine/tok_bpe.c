/* tok_bpe.c — byte-level BPE as llama.cpp does it for
 * tokenizer.ggml.model = "gpt2": the text is made valid UTF-8 (each bad
 * byte reads as U+FFFD), cut into words by the pre-tokenizer regexes of its
 * tokenizer.ggml.pre (each regex in turn splits every piece the previous one
 * left; matches and the gaps between them both become pieces), and each word
 * is merged pair by pair, lowest merge rank first (ties: leftmost), starting
 * from one symbol per byte.
 *
 * The regexes run on PCRE2 (UTF + UCP, JIT), with \s, \p{L} and \p{N}
 * spelled out as the Hugging Face tokenizers read them (see spell_sets).
 * Bytes with no token in the vocabulary are dropped before merging, as the
 * Hugging Face BPE model drops them (see merge_word).
 *
 * Merges are stored by pair of token ids, so the hot loop never builds
 * strings: a symbol is a token id, a merge looks up (left, right).
 * Scratch: one malloc per call; the compiled regexes are shared read-only. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

/* ---- \s, \p{L}, \p{N} as the Hugging Face tokenizers read them ----------
 * The regexes below are written, as in llama.cpp, with \s, \p{L} and \p{N}.
 * PCRE2 10.42 (Debian 12's) reads those with Unicode 14 tables and its own
 * idea of white space; the Hugging Face tokenizers read them with
 * Oniguruma's Unicode 16 tables, and split digits with Rust's
 * char::is_numeric (Unicode 17). So each regex is compiled with them
 * spelled out:
 *   \s, \S  Unicode's White_Space (PCRE2 adds U+180E MONGOLIAN VOWEL
 *           SEPARATOR, white space before Unicode 6.3 and still in its \h,
 *           which would split "  \u180e 1" differently)
 *   \p{L}   \p{L} plus LETTERS_EXTRA, the letters assigned since Unicode 14
 *   \p{N}   \p{N} plus NUMBERS_EXTRA, the same for numbers
 * and R_DIGITS adds DIGITS_EXTRA, Rust's Unicode 17 digits. The lists were
 * measured, not guessed: every code point went through tokenizers 0.23.3's
 * Split(\p{L}), Split(\p{N}), Split(\s) and Digits and through PCRE2's
 * \p{L}, \p{N}, \s (see tests/data/tokenizer/README.md). A newer PCRE2
 * already counts the additions, which is harmless; nothing the Hugging Face
 * tokenizers leave out is in PCRE2's sets but U+180E. */
#define WHITE_SPACE                                                                                \
  "\\t-\\r\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}"            \
  "\\x{205f}\\x{3000}"
#define LETTERS_EXTRA                                                                              \
  "\\x{1c89}-\\x{1c8a}\\x{a7cb}-\\x{a7cd}\\x{a7da}-\\x{a7dc}\\x{105c0}-\\x{105f3}"                 \
  "\\x{10d4a}-\\x{10d65}\\x{10d6f}-\\x{10d85}\\x{10ec2}-\\x{10ec4}\\x{1123f}-\\x{11240}"           \
  "\\x{11380}-\\x{11389}\\x{1138b}\\x{1138e}\\x{11390}-\\x{113b5}\\x{113b7}\\x{113d1}"             \
  "\\x{113d3}\\x{11bc0}-\\x{11be0}\\x{11f02}\\x{11f04}-\\x{11f10}\\x{11f12}-\\x{11f33}"            \
  "\\x{1342f}\\x{13441}-\\x{13446}\\x{13460}-\\x{143fa}\\x{16100}-\\x{1611d}"                      \
  "\\x{16d40}-\\x{16d6c}\\x{18cff}\\x{1b132}\\x{1b155}\\x{1df25}-\\x{1df2a}"                       \
  "\\x{1e030}-\\x{1e06d}\\x{1e4d0}-\\x{1e4eb}\\x{1e5d0}-\\x{1e5ed}\\x{1e5f0}\\x{2b739}"            \
  "\\x{2ebf0}-\\x{2ee5d}\\x{31350}-\\x{323af}"
#define NUMBERS_EXTRA                                                                              \
  "\\x{10d40}-\\x{10d49}\\x{116d0}-\\x{116e3}\\x{11bf0}-\\x{11bf9}\\x{11f50}-\\x{11f59}"           \
  "\\x{16130}-\\x{16139}\\x{16d70}-\\x{16d79}\\x{1ccf0}-\\x{1ccf9}\\x{1d2c0}-\\x{1d2d3}"           \
  "\\x{1e4f0}-\\x{1e4f9}\\x{1e5f1}-\\x{1e5fa}"
#define DIGITS_EXTRA "\\x{11de0}-\\x{11de9}\\x{16ff4}-\\x{16ff6}"

/* re with \s, \S, \p{L}, \p{N} spelled out as above, into b (NUL-terminated).
 * Inside a class the members go in; outside, a class of them. HR_EINVAL for
 * \S inside a class, which a class cannot spell (no table regex has one). */
static int spell_sets(const char *re, hr_buf *b) {
  bool in_class = false;
  int rc = 0;
  for (size_t i = 0; re[i] && rc == 0; i++) {
    char c = re[i];
    if (c == '\\' && re[i + 1]) {
      const char *set = NULL;
      char e = re[++i];
      if (e == 'S') {
        if (in_class) return HR_EINVAL;
        rc = hr_buf_append_str(b, "[^" WHITE_SPACE "]");
        continue;
      }
      if (e == 's') set = WHITE_SPACE;
      else if (strncmp(re + i, "p{L}", 4) == 0) set = "\\p{L}" LETTERS_EXTRA;
      else if (strncmp(re + i, "p{N}", 4) == 0) set = "\\p{N}" NUMBERS_EXTRA;
      if (!set) {
        rc = hr_buf_append(b, re + i - 1, 2);
        continue;
      }
      if (e == 'p') i += 3;
      if (!in_class) rc = hr_buf_putc(b, '[');
      if (rc == 0) rc = hr_buf_append_str(b, set);
      if (rc == 0 && !in_class) rc = hr_buf_putc(b, ']');
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      size_t k = 1;
      if (re[i + k] == '^') k++;
      if (re[i + k] == ']') k++; /* a leading ']' is a member */
      rc = hr_buf_append(b, re + i, k);
      i += k - 1;
      continue;
    }
    if (c == ']') in_class = false;
    rc = hr_buf_putc(b, c);
  }
  return rc ? rc : hr_buf_putc(b, 0);
}

/* ---- pre-tokenizer regexes ---------------------------------------------- */

/* Hugging Face's Digits pre-tokenizer (individual_digits), which splits off
 * each character Rust's char::is_numeric takes: \p{N} plus DIGITS_EXTRA. */
#define R_DIGITS "[\\p{N}" DIGITS_EXTRA "]"
#define R_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define R_CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define R_LLAMA3                                                                        \
  R_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*" \
                 "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define R_QWEN2                                                                      \
  R_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*" \
                 "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* DeepSeek's cased-letter class, written by code point */
#define R_DS_LETTERS                                                                              \
  "A-Za-z\\x{b5}\\x{c0}-\\x{d6}\\x{d8}-\\x{f6}\\x{f8}-\\x{1ba}\\x{1bc}-\\x{1bf}\\x{1c4}-\\x{293}"  \
  "\\x{295}-\\x{2af}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37b}-\\x{37d}\\x{37f}\\x{386}"            \
  "\\x{388}-\\x{38a}\\x{38c}\\x{38e}-\\x{3a1}\\x{3a3}-\\x{3f5}\\x{3f7}-\\x{481}\\x{48a}-\\x{52f}"  \
  "\\x{531}-\\x{556}\\x{10a0}-\\x{10c5}\\x{13a0}-\\x{13f5}\\x{13f8}-\\x{13fd}\\x{1c90}-\\x{1cba}"  \
  "\\x{1cbd}-\\x{1cbf}\\x{1d00}-\\x{1d2b}\\x{1d6b}-\\x{1d77}\\x{1d79}-\\x{1d9a}\\x{1e00}-\\x{1f15}" \
  "\\x{1f18}-\\x{1f1d}\\x{1f20}-\\x{1f45}\\x{1f48}-\\x{1f4d}\\x{1f50}-\\x{1f57}\\x{1f59}\\x{1f5b}" \
  "\\x{1f5d}\\x{1f5f}-\\x{1f7d}\\x{1f80}-\\x{1fb4}\\x{1fb6}-\\x{1fbc}\\x{1fbe}\\x{1fc2}-\\x{1fc4}"  \
  "\\x{1fc6}-\\x{1fcc}\\x{1fd0}-\\x{1fd3}\\x{1fd6}-\\x{1fdb}\\x{1fe0}-\\x{1fec}\\x{1ff2}-\\x{1ff4}" \
  "\\x{1ff6}-\\x{1ffc}\\x{2102}\\x{2107}\\x{210a}-\\x{2113}\\x{2115}\\x{2119}-\\x{211d}\\x{2124}"   \
  "\\x{2126}\\x{2128}\\x{212a}-\\x{212d}\\x{212f}-\\x{2134}\\x{2139}\\x{213c}-\\x{213f}"            \
  "\\x{2145}-\\x{2149}\\x{214e}\\x{2183}\\x{2184}\\x{2c00}-\\x{2c7b}\\x{2c7e}-\\x{2ce4}"            \
  "\\x{2ceb}-\\x{2cee}\\x{2cf2}\\x{2cf3}\\x{a640}-\\x{a66d}\\x{a680}-\\x{a69b}\\x{a722}-\\x{a76f}"  \
  "\\x{a771}-\\x{a787}\\x{a78b}-\\x{a78e}\\x{ab70}-\\x{abbf}\\x{fb00}-\\x{fb06}\\x{fb13}-\\x{fb17}" \
  "\\x{ff21}-\\x{ff3a}\\x{ff41}-\\x{ff5a}\\x{10400}-\\x{1044f}\\x{104b0}-\\x{104d3}"               \
  "\\x{104d8}-\\x{104fb}\\x{10c80}-\\x{10cb2}\\x{10cc0}-\\x{10cf2}\\x{118a0}-\\x{118df}"           \
  "\\x{1e900}-\\x{1e943}"
#define R_DS_CJK "[\\x{4e00}-\\x{9fa5}\\x{800}-\\x{4e00}\\x{ac00}-\\x{d7ff}]+"

typedef struct {
  const char *names[12]; /* tokenizer.ggml.pre values */
  const char *re[TOK_MAX_REGEX];
  bool ignore_merges, add_bos;
} pre_def;

static const pre_def k_pres[] = {
    {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
      "jina-v5-nano"},
     {R_LLAMA3},
     true,
     true},
    {{"dbrx", "smaug-bpe", "chatglm-bpe", "glm4"}, {R_LLAMA3}, false, false},
    {{"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "hunyuan", "kormo", "grok-2"},
     {R_QWEN2},
     false,
     false},
    {{"deepseek-llm"},
     {"[\\r\\n]", "\\s?[" R_DS_LETTERS "]+",
      "\\s?[!-/:-~\\x{ff01}-\\x{ff0f}\\x{ff1a}-\\x{ff5e}\\x{2018}-\\x{201f}\\x{3000}-\\x{3002}]+",
      "\\s+$", R_DS_CJK, "\\p{N}+"},
     false,
     false},
    {{"deepseek-coder"},
     {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", R_DS_CJK, "\\p{N}"},
     false,
     false},
    {{"falcon"},
     {"[\\p{P}\\$\\+<=>\\^~\\|`]+", R_GPT2, "[0-9][0-9][0-9]"},
     false,
     false},
    {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b",
      "mellum2"},
     {R_DIGITS, R_GPT2},
     false,
     false},
    {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
      "mellum", "modern-bert", "mpt", "olmo"},
     {R_GPT2},
     false,
     false},
    {{"jais", "trillion", "granite-docling", "exaone4", "jina-v1-en", "jina-v2-code",
      "roberta-bpe"},
     {R_GPT2},
     false,
     false},
    {{"poro-chat", "bloom", "gpt3-finnish"},
     {" ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{ff0c}\\x{3001}\\x{964}\\x{6d4}\\x{60c})]+"},
     false,
     false},
    {{"viking"},
     {" ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{ff0c}\\x{3001}\\x{964}\\x{6d4}\\x{60c})]+", "\\p{N}"},
     false,
     false},
    {{"tekken"},
     {"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
      "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
      "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
     true,
     true},
    {{"gpt-4o", "llama4", "kanana2", "minimax-m2"},
     {"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
      "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}"
      "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
     false,
     false},
};

/* llama.cpp's regexes for "default" (and here for any name it lacks) */
static const pre_def k_default = {
    {"default"}, {"[\\p{P}\\$\\+<=>\\^~\\|]+", R_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}, false, false};

static const pre_def *find_pre(const char *name) {
  for (size_t i = 0; i < HR_ARRAY_LEN(k_pres); i++)
    for (size_t k = 0; k < HR_ARRAY_LEN(k_pres[i].names) && k_pres[i].names[k]; k++)
      if (strcmp(k_pres[i].names[k], name) == 0) return &k_pres[i];
  return NULL;
}

/* ---- GPT-2's byte <-> character map -------------------------------------- */

static uint32_t byte_cp(int b) {
  if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return (uint32_t)b;
  /* the others get 256, 257, ... in byte order */
  int n = 0;
  for (int x = 0; x < b; x++)
    if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) n++;
  return 256u + (uint32_t)n;
}

static struct {
  char utf8[256][2];
  uint8_t len[256];
  int16_t rev[324]; /* code point -> byte, -1 if none */
} g_map;

static void map_build(void) {
  for (int i = 0; i < 324; i++) g_map.rev[i] = -1;
  for (int b = 0; b < 256; b++) {
    uint32_t cp = byte_cp(b);
    char buf[4];
    g_map.len[b] = (uint8_t)tok_utf8_put(cp, buf);
    memcpy(g_map.utf8[b], buf, g_map.len[b]);
    g_map.rev[cp] = (int16_t)b;
  }
}

static void map_init(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, map_build);
}

size_t tok_bpe_unmap(const char *text, size_t len, char *out) {
  map_init();
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    size_t at = i;
    uint32_t cp = tok_utf8_next(text, len, &i);
    if (cp < 324 && g_map.rev[cp] >= 0) {
      out[n++] = (char)g_map.rev[cp];
    } else { /* not a byte-level character: keep the text as it is */
      memcpy(out + n, text + at, i - at);
      n += i - at;
    }
  }
  return n;
}

/* ---- merges --------------------------------------------------------------- */

static size_t merge_slot(const tokenizer *t, int32_t left, int32_t right) {
  uint64_t h = ((uint64_t)(uint32_t)left * 0x9e3779b97f4a7c15ull) ^
               ((uint64_t)(uint32_t)right * 0xc2b2ae3d27d4eb4full);
  h ^= h >> 29;
  size_t mask = t->merge_cap - 1, i = (size_t)h & mask;
  while (t->merges[i].left >= 0 && (t->merges[i].left != left || t->merges[i].right != right))
    i = (i + 1) & mask;
  return i;
}

static const tok_merge *merge_find(const tokenizer *t, int32_t left, int32_t right) {
  const tok_merge *m = &t->merges[merge_slot(t, left, right)];
  return m->left >= 0 ? m : NULL;
}

static int load_merges(tokenizer *t, const gguf_file *g, char *err, size_t err_len) {
  const gguf_arr *a;
  int rc = gguf_get_arr(g, "tokenizer.ggml.merges", &a);
  if (rc == HR_ENOTFOUND) {
    snprintf(err, err_len, "no tokenizer.ggml.merges in a gpt2 tokenizer");
    return HR_EFORMAT;
  }
  if (rc || a->type != GGUF_TYPE_STRING) {
    snprintf(err, err_len, "tokenizer.ggml.merges is not an array of strings");
    return HR_EFORMAT;
  }
  if (a->n > UINT32_MAX / 4) {
    snprintf(err, err_len, "tokenizer.ggml.merges has too many entries");
    return HR_EFORMAT;
  }
  t->merge_cap = 16;
  while (t->merge_cap < a->n * 2) t->merge_cap <<= 1;
  t->merges = hr_arena_alloc(t->arena, t->merge_cap * sizeof *t->merges);
  char *buf = malloc(t->max_token_len * 2 + 2);
  if (!t->merges || !buf) {
    free(buf);
    return HR_ENOMEM;
  }
  for (size_t i = 0; i < t->merge_cap; i++) t->merges[i].left = -1;
  for (uint64_t r = 0; r < a->n; r++) {
    hr_str s = a->strs[r];
    const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', s.len - 1) : NULL;
    if (!sp) continue;
    size_t ll = (size_t)(sp - s.ptr), rl = s.len - ll - 1;
    int32_t left = tok_find(t, s.ptr, ll), right = tok_find(t, sp + 1, rl);
    if (left == TOK_NULL || right == TOK_NULL || ll + rl > t->max_token_len) continue;
    memcpy(buf, s.ptr, ll);
    memcpy(buf + ll, sp + 1, rl);
    int32_t merged = tok_find(t, buf, ll + rl);
    if (merged == TOK_NULL) continue;
    size_t slot = merge_slot(t, left, right);
    if (t->merges[slot].left >= 0) continue; /* the first rank wins */
    t->merges[slot] = (tok_merge){left, right, merged, (uint32_t)r};
  }
  free(buf);
  return 0;
}

int tok_bpe_init(tokenizer *t, const gguf_file *g, char *err, size_t err_len) {
  map_init();
  int rc = load_merges(t, g, err, err_len);
  if (rc) return rc;
  for (int b = 0; b < 256; b++) t->byte_ids[b] = tok_find(t, g_map.utf8[b], g_map.len[b]);

  const pre_def *def = t->pre[0] ? find_pre(t->pre) : NULL;
  if (!def) {
    if (t->pre[0] && strcmp(t->pre, "default") != 0)
      hr_log(HR_LOG_WARN, "tokenizer: unknown pre-tokenizer '%s', using the default regexes",
             t->pre);
    def = &k_default;
  }
  t->ignore_merges = def->ignore_merges;
  if (def->add_bos) t->add_bos = true;
  if (strcmp(t->pre, "deepseek-llm") == 0 || strcmp(t->pre, "deepseek-coder") == 0 ||
      strcmp(t->pre, "qwen2") == 0 || strcmp(t->pre, "command-r") == 0)
    t->clean_spaces = false;
  for (size_t i = 0; i < TOK_MAX_REGEX && def->re[i]; i++) {
    int ec = 0;
    PCRE2_SIZE eo = 0;
    hr_buf src = HR_BUF_INIT;
    pcre2_code *re = NULL;
    rc = spell_sets(def->re[i], &src);
    if (rc == 0)
      re = pcre2_compile((PCRE2_SPTR)src.data, PCRE2_ZERO_TERMINATED,
                         PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &ec, &eo, NULL);
    hr_buf_free(&src);
    if (rc == HR_ENOMEM) return rc;
    if (rc) {
      snprintf(err, err_len, "pre-tokenizer regex %zu for '%s': \\S inside a class", i, t->pre);
      return HR_EFORMAT;
    }
    if (!re) {
      PCRE2_UCHAR msg[120];
      pcre2_get_error_message(ec, msg, sizeof msg);
      snprintf(err, err_len, "pre-tokenizer regex %zu for '%s': %s at %zu", i, t->pre,
               (const char *)msg, (size_t)eo);
      return HR_EFORMAT;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional: falls back to the interpreter */
    t->re[t->n_re++] = re;
  }
  return 0;
}

void tok_bpe_free(tokenizer *t) {
  for (size_t i = 0; i < t->n_re; i++) pcre2_code_free(t->re[i]);
  t->n_re = 0;
}

/* ---- splitting ------------------------------------------------------------ */

typedef struct {
  uint32_t off, len;
} span;

/* Splits each span of in by re: matches and the gaps between them. */
static size_t split_one(const pcre2_code *re, pcre2_match_data *md, const char *s,
                        const span *in, size_t n_in, span *out) {
  size_t n = 0;
  for (size_t k = 0; k < n_in; k++) {
    const char *sub = s + in[k].off;
    size_t len = in[k].len, pos = 0, last = 0;
    while (pos < len) {
      int rc = pcre2_match(re, (PCRE2_SPTR)sub, len, pos, PCRE2_NO_UTF_CHECK, md, NULL);
      if (rc < 0) break;
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
      size_t ms = ov[0], me = ov[1];
      if (me <= ms) { /* an empty match: step over one character */
        pos = ms + tok_utf8_len((unsigned char)sub[ms]);
        continue;
      }
      if (ms > last) out[n++] = (span){in[k].off + (uint32_t)last, (uint32_t)(ms - last)};
      out[n++] = (span){in[k].off + (uint32_t)ms, (uint32_t)(me - ms)};
      last = pos = me;
    }
    if (last < len) out[n++] = (span){in[k].off + (uint32_t)last, (uint32_t)(len - last)};
  }
  return n;
}

/* ---- merging one word ----------------------------------------------------- */

typedef struct {
  int32_t prev, next, id;
  bool live;
} bsym;

typedef struct {
  uint32_t rank;
  int32_t left, right;
  int32_t left_id, right_id, merged;
} bpair;

static bool pair_before(const bpair *a, const bpair *b) {
  return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void pair_push(bpair *h, size_t *n, bpair p) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t par = (i - 1) / 2;
    if (!pair_before(&p, &h[par])) break;
    h[i] = h[par];
    i = par;
  }
  h[i] = p;
}

static bpair pair_pop(bpair *h, size_t *n) {
  bpair top = h[0], last = h[--(*n)];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && pair_before(&h[c + 1], &h[c])) c++;
    if (!pair_before(&h[c], &last)) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = last;
  return top;
}

static void try_pair(const tokenizer *t, bsym *syms, bpair *heap, size_t *n_heap, int32_t l,
                     int32_t r) {
  if (l < 0 || r < 0) return;
  const tok_merge *m = merge_find(t, syms[l].id, syms[r].id);
  if (m) pair_push(heap, n_heap, (bpair){m->rank, l, r, syms[l].id, syms[r].id, m->merged});
}

/* A byte whose character is not in the vocabulary (SmolLM2 lacks 0x04 0x06
 * 0x13 0x14 0x16 0x1D 0xF1 0xF2, its alphabet was trained restricted) is
 * dropped before merging, so its neighbours meet and may merge: "..\x04.."
 * is the one token "....", not ".." "..". That is what the Hugging Face
 * BPE model does with no unk_token and no byte fallback (it skips the
 * character while building the word); dropping it only after merging
 * would keep the two halves apart. */
static void merge_word(const tokenizer *t, const uint8_t *w, size_t len, bsym *syms, bpair *heap,
                       tok_out *o) {
  int32_t n = 0;
  for (size_t i = 0; i < len; i++) {
    int32_t id = t->byte_ids[w[i]];
    if (id == TOK_NULL) continue;
    syms[n] = (bsym){n - 1, -1, id, true};
    if (n > 0) syms[n - 1].next = n;
    n++;
  }
  if (n == 0) return;
  size_t n_heap = 0;
  for (int32_t i = 1; i < n; i++) try_pair(t, syms, heap, &n_heap, i - 1, i);
  while (n_heap > 0) {
    bpair p = pair_pop(heap, &n_heap);
    bsym *l = &syms[p.left], *r = &syms[p.right];
    if (!l->live || !r->live || l->id != p.left_id || r->id != p.right_id) continue; /* stale */
    l->id = p.merged;
    r->live = false;
    l->next = r->next;
    if (r->next >= 0) syms[r->next].prev = p.left;
    try_pair(t, syms, heap, &n_heap, l->prev, p.left);
    try_pair(t, syms, heap, &n_heap, p.left, l->next);
  }
  for (int32_t i = 0; i != -1; i = syms[i].next) tok_out_push(o, syms[i].id);
}

int tok_bpe_encode(const tokenizer *t, const char *text, size_t len, tok_out *o) {
  if (len == 0) return 0;
  size_t cap = 3 * len;
  /* sanitized text, two span lists, symbols, pair heap, encoded word */
  size_t bytes = cap + 16 + 2 * (cap + 1) * sizeof(span) + cap * sizeof(bsym) +
                 3 * cap * sizeof(bpair) + 2 * cap + 16;
  char *mem = malloc(bytes);
  pcre2_match_data *md = pcre2_match_data_create(1, NULL);
  if (!mem || !md) {
    free(mem);
    pcre2_match_data_free(md);
    return HR_ENOMEM;
  }
  char *s = mem;
  size_t n = tok_utf8_sanitize(text, len, s);
  span *a = (span *)(((uintptr_t)(mem + cap) + 15) & ~(uintptr_t)15);
  span *b = a + cap + 1;
  bsym *syms = (bsym *)(b + cap + 1);
  bpair *heap = (bpair *)(syms + cap);
  char *enc = (char *)(heap + 3 * cap);

  size_t n_spans = 1;
  a[0] = (span){0, (uint32_t)n};
  for (size_t i = 0; i < t->n_re; i++) {
    n_spans = split_one(t->re[i], md, s, a, n_spans, b);
    span *tmp = a;
    a = b, b = tmp;
  }
  for (size_t k = 0; k < n_spans; k++) {
    const uint8_t *w = (const uint8_t *)s + a[k].off;
    size_t wl = a[k].len;
    if (t->ignore_merges) { /* a word that is itself a token stays whole */
      size_t el = 0;
      for (size_t i = 0; i < wl; i++) {
        memcpy(enc + el, g_map.utf8[w[i]], g_map.len[w[i]]);
        el += g_map.len[w[i]];
      }
      int32_t id = tok_find(t, enc, el);
      if (id != TOK_NULL) {
        tok_out_push(o, id);
        continue;
      }
    }
    merge_word(t, w, wl, syms, heap, o);
  }
  pcre2_match_data_free(md);
  free(mem);
  return 0;
}
