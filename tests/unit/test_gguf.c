/* test_gguf.c — the GGUF reader against the real demo model and against
 * files built in memory by the little writer below: a valid one read back
 * field by field, then each kind of damage a hostile file can carry, each of
 * which must give HR_EFORMAT and a message that names the problem. */
#include "../../src/engine/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/engine/tensor_types.h"
#include "test.h"

/* ---- a tiny GGUF writer ------------------------------------------------ */

static void w_raw(hr_buf *b, const void *p, size_t n) { hr_buf_append(b, p, n); }
static void w_u8(hr_buf *b, uint8_t v) { w_raw(b, &v, 1); }
static void w_u32(hr_buf *b, uint32_t v) { w_raw(b, &v, 4); }
static void w_u64(hr_buf *b, uint64_t v) { w_raw(b, &v, 8); }
static void w_str(hr_buf *b, const char *s) {
  w_u64(b, strlen(s));
  w_raw(b, s, strlen(s));
}
static void w_header(hr_buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
  w_raw(b, "GGUF", 4);
  w_u32(b, version);
  w_u64(b, n_tensors);
  w_u64(b, n_kv);
}
static void w_kv_u32(hr_buf *b, const char *k, uint32_t v) {
  w_str(b, k);
  w_u32(b, GGUF_TYPE_UINT32);
  w_u32(b, v);
}
static void w_kv_str(hr_buf *b, const char *k, const char *v) {
  w_str(b, k);
  w_u32(b, GGUF_TYPE_STRING);
  w_str(b, v);
}
static void w_tensor(hr_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                     uint32_t type, uint64_t offset) {
  w_str(b, name);
  w_u32(b, n_dims);
  for (uint32_t i = 0; i < n_dims; i++) w_u64(b, ne[i]);
  w_u32(b, type);
  w_u64(b, offset);
}
static void w_pad(hr_buf *b, size_t align) {
  while (b->len % align) w_u8(b, 0);
}
static void w_zeros(hr_buf *b, size_t n) {
  for (size_t i = 0; i < n; i++) w_u8(b, 0);
}

/* The valid file most tests start from: every value type once, two
 * tensors (f32 [4,2] and q8_0 [64]), the last ending at the file end. */
static void w_good(hr_buf *b) {
  w_header(b, 3, 2, 16);
  w_kv_str(b, "general.architecture", "test");
  w_kv_u32(b, "general.alignment", 64);
  w_str(b, "v.u8"); w_u32(b, GGUF_TYPE_UINT8); w_u8(b, 200);
  w_str(b, "v.i8"); w_u32(b, GGUF_TYPE_INT8); w_u8(b, 0xff);
  w_str(b, "v.u16"); w_u32(b, GGUF_TYPE_UINT16); uint16_t u16 = 65535; w_raw(b, &u16, 2);
  w_str(b, "v.i16"); w_u32(b, GGUF_TYPE_INT16); int16_t i16 = -300; w_raw(b, &i16, 2);
  w_str(b, "v.i32"); w_u32(b, GGUF_TYPE_INT32); w_u32(b, (uint32_t)-5);
  w_str(b, "v.f32"); w_u32(b, GGUF_TYPE_FLOAT32); float f = 1.5f; w_raw(b, &f, 4);
  w_str(b, "v.bool"); w_u32(b, GGUF_TYPE_BOOL); w_u8(b, 1);
  w_str(b, "v.u64"); w_u32(b, GGUF_TYPE_UINT64); w_u64(b, UINT64_MAX);
  w_str(b, "v.i64"); w_u32(b, GGUF_TYPE_INT64); w_u64(b, (uint64_t)-7);
  w_str(b, "v.f64"); w_u32(b, GGUF_TYPE_FLOAT64); double d = 2.25; w_raw(b, &d, 8);
  w_str(b, "v.arr_i32"); w_u32(b, GGUF_TYPE_ARRAY); w_u32(b, GGUF_TYPE_INT32); w_u64(b, 3);
  w_u32(b, 10); w_u32(b, (uint32_t)-20); w_u32(b, 30);
  w_str(b, "v.arr_str"); w_u32(b, GGUF_TYPE_ARRAY); w_u32(b, GGUF_TYPE_STRING); w_u64(b, 2);
  w_str(b, "hello"); w_str(b, "");
  /* [[1,2],[]] of u8 */
  w_str(b, "v.nested"); w_u32(b, GGUF_TYPE_ARRAY); w_u32(b, GGUF_TYPE_ARRAY); w_u64(b, 2);
  w_u32(b, GGUF_TYPE_UINT8); w_u64(b, 2); w_u8(b, 1); w_u8(b, 2);
  w_u32(b, GGUF_TYPE_UINT8); w_u64(b, 0);
  w_str(b, "v.empty"); w_u32(b, GGUF_TYPE_ARRAY); w_u32(b, GGUF_TYPE_FLOAT32); w_u64(b, 0);
  uint64_t ne_a[2] = {4, 2}, ne_b[1] = {64};
  w_tensor(b, "a", 2, ne_a, TT_F32, 0);
  w_tensor(b, "b", 1, ne_b, TT_Q8_0, 64);
  w_pad(b, 64);
  w_zeros(b, 32); /* a: 32 bytes */
  w_zeros(b, 32); /* pad to 64 */
  w_zeros(b, 68); /* b: two q8_0 blocks */
}

static char err[512];

static int open_buf(const hr_buf *b, gguf_file **g) {
  err[0] = 0;
  return gguf_open_memory(b->data, b->len, g, err, sizeof err);
}

/* The file must be rejected as malformed with a message containing want. */
static int rejects(const hr_buf *b, const char *want) {
  gguf_file *g = NULL;
  int rc = open_buf(b, &g);
  if (rc == 0) {
    gguf_close(g);
    fprintf(stderr, "    accepted a bad file (wanted '%s')\n", want);
    return 0;
  }
  if (rc != HR_EFORMAT || !strstr(err, want)) {
    fprintf(stderr, "    rc %d, message '%s' (wanted '%s')\n", rc, err, want);
    return 0;
  }
  return 1;
}

/* ---- the real model ---------------------------------------------------- */

TEST(stories260k_fields) {
  gguf_file *g;
  int rc = gguf_open("models/stories260K.gguf", &g, err, sizeof err);
  CHECK_EQ_INT(rc, 0);
  if (rc) {
    fprintf(stderr, "    %s\n", err);
    return;
  }
  CHECK_EQ_INT(gguf_version(g), 3);
  CHECK_EQ_INT(gguf_alignment(g), 32);
  hr_str s;
  CHECK_EQ_INT(gguf_get_str(g, "general.architecture", &s), 0);
  CHECK_EQ_STR(s.ptr, "llama");
  CHECK_EQ_INT(gguf_get_str(g, "tokenizer.ggml.model", &s), 0);
  CHECK_EQ_STR(s.ptr, "llama");
  uint32_t u;
  CHECK_EQ_INT(gguf_get_u32(g, "llama.block_count", &u), 0);
  CHECK_EQ_INT(u, 5);
  CHECK_EQ_INT(gguf_get_u32(g, "llama.embedding_length", &u), 0);
  CHECK_EQ_INT(u, 64);
  CHECK_EQ_INT(gguf_get_u32(g, "llama.attention.head_count", &u), 0);
  CHECK_EQ_INT(u, 8);
  CHECK_EQ_INT(gguf_get_u32(g, "llama.attention.head_count_kv", &u), 0);
  CHECK_EQ_INT(u, 4);
  CHECK_EQ_INT(gguf_get_u32(g, "llama.feed_forward_length", &u), 0);
  CHECK_EQ_INT(u, 172);
  float eps = 0;
  CHECK_EQ_INT(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &eps), 0);
  CHECK(eps > 0.9e-5f && eps < 1.1e-5f);
  const gguf_arr *a;
  CHECK_EQ_INT(gguf_get_arr(g, "tokenizer.ggml.tokens", &a), 0);
  CHECK_EQ_INT(a->type, GGUF_TYPE_STRING);
  CHECK_EQ_INT(a->n, 512);
  hr_str t1 = gguf_arr_get_str(a, 1);
  CHECK(hr_str_eq_cstr(t1, "<s>"));
  CHECK_EQ_INT(gguf_get_arr(g, "tokenizer.ggml.scores", &a), 0);
  CHECK_EQ_INT(a->n, 512);
  CHECK_EQ_INT(gguf_get_u32(g, "no.such.key", &u), HR_ENOTFOUND);
  CHECK_EQ_INT(gguf_get_u32(g, "general.architecture", &u), HR_EFORMAT);
  CHECK_EQ_INT(gguf_tensor_count(g), 48);
  const gguf_tensor *t = gguf_find_tensor(g, "token_embd.weight");
  CHECK(t != NULL);
  if (t) {
    CHECK_EQ_INT(t->type, TT_F32);
    CHECK_EQ_INT(t->n_dims, 2);
    CHECK_EQ_INT(t->ne[0], 64);
    CHECK_EQ_INT(t->ne[1], 512);
    CHECK_EQ_INT(t->ne[2], 1);
    CHECK_EQ_INT(t->n_bytes, 64 * 512 * 4);
    CHECK((const char *)t->data == (const char *)gguf_base(g) + gguf_data_offset(g) + t->offset);
  }
  t = gguf_find_tensor(g, "blk.4.ffn_down.weight");
  CHECK(t && t->ne[0] == 172 && t->ne[1] == 64);
  CHECK(gguf_find_tensor(g, "blk.5.ffn_down.weight") == NULL);
  /* every tensor is reachable by name */
  for (size_t i = 0; i < gguf_tensor_count(g); i++)
    CHECK(gguf_find_tensor(g, gguf_tensor_at(g, i)->name) == gguf_tensor_at(g, i));
  for (size_t i = 0; i < gguf_kv_count(g); i++)
    CHECK_EQ_INT(gguf_find_key(g, gguf_kv_key(g, i)), (int64_t)i);
  gguf_close(g);
}

TEST(open_missing_file) {
  gguf_file *g;
  CHECK_EQ_INT(gguf_open("/nonexistent/x.gguf", &g, err, sizeof err), HR_EIO);
  CHECK(strstr(err, "/nonexistent/x.gguf") != NULL);
  CHECK(g == NULL);
}

/* ---- the valid crafted file -------------------------------------------- */

TEST(good_file_reads_back) {
  hr_buf b = HR_BUF_INIT;
  w_good(&b);
  gguf_file *g;
  int rc = open_buf(&b, &g);
  CHECK_EQ_INT(rc, 0);
  if (rc) {
    fprintf(stderr, "    %s\n", err);
    hr_buf_free(&b);
    return;
  }
  CHECK_EQ_INT(gguf_alignment(g), 64);
  CHECK_EQ_INT(gguf_kv_count(g), 16);
  uint32_t u;
  int32_t i32;
  int64_t i64;
  uint64_t u64;
  float f;
  bool bo;
  CHECK_EQ_INT(gguf_get_u32(g, "v.u8", &u), 0);
  CHECK_EQ_INT(u, 200);
  CHECK_EQ_INT(gguf_get_i32(g, "v.i8", &i32), 0);
  CHECK_EQ_INT(i32, -1);
  CHECK_EQ_INT(gguf_get_u32(g, "v.i8", &u), HR_EFORMAT); /* negative */
  CHECK_EQ_INT(gguf_get_u32(g, "v.u16", &u), 0);
  CHECK_EQ_INT(u, 65535);
  CHECK_EQ_INT(gguf_get_i32(g, "v.i16", &i32), 0);
  CHECK_EQ_INT(i32, -300);
  CHECK_EQ_INT(gguf_get_i64(g, "v.i32", &i64), 0);
  CHECK_EQ_INT(i64, -5);
  CHECK_EQ_INT(gguf_get_f32(g, "v.f32", &f), 0);
  CHECK(f == 1.5f);
  CHECK_EQ_INT(gguf_get_f32(g, "v.f64", &f), 0);
  CHECK(f == 2.25f);
  CHECK_EQ_INT(gguf_get_f32(g, "v.i32", &f), HR_EFORMAT);
  CHECK_EQ_INT(gguf_get_bool(g, "v.bool", &bo), 0);
  CHECK(bo);
  CHECK_EQ_INT(gguf_get_u64(g, "v.u64", &u64), 0);
  CHECK(u64 == UINT64_MAX);
  CHECK_EQ_INT(gguf_get_i64(g, "v.u64", &i64), HR_EFORMAT); /* too big */
  CHECK_EQ_INT(gguf_get_u32(g, "v.u64", &u), HR_EFORMAT);
  CHECK_EQ_INT(gguf_get_i64(g, "v.i64", &i64), 0);
  CHECK_EQ_INT(i64, -7);
  CHECK_EQ_INT(gguf_get_u64(g, "v.i64", &u64), HR_EFORMAT);
  CHECK_EQ_INT(gguf_get_u32(g, "v.f32", &u), HR_EFORMAT);
  hr_str s;
  CHECK_EQ_INT(gguf_get_str(g, "general.architecture", &s), 0);
  CHECK_EQ_STR(s.ptr, "test");
  CHECK_EQ_INT(s.len, 4);
  CHECK_EQ_INT(gguf_get_str(g, "v.u8", &s), HR_EFORMAT);

  const gguf_arr *a;
  CHECK_EQ_INT(gguf_get_arr(g, "v.arr_i32", &a), 0);
  CHECK_EQ_INT(a->n, 3);
  CHECK_EQ_INT(gguf_arr_get_i64(a, 1, &i64), 0);
  CHECK_EQ_INT(i64, -20);
  CHECK_EQ_INT(gguf_arr_get_f32(a, 2, &f), 0);
  CHECK(f == 30.0f);
  CHECK_EQ_INT(gguf_arr_get_i64(a, 3, &i64), HR_EFORMAT); /* out of range */
  CHECK_EQ_INT(gguf_get_arr(g, "v.arr_str", &a), 0);
  CHECK(hr_str_eq_cstr(gguf_arr_get_str(a, 0), "hello"));
  CHECK_EQ_INT(gguf_arr_get_str(a, 1).len, 0);
  CHECK_EQ_INT(gguf_arr_get_str(a, 2).len, 0);
  CHECK_EQ_INT(gguf_arr_get_i64(a, 0, &i64), HR_EFORMAT);
  CHECK_EQ_INT(gguf_get_arr(g, "v.nested", &a), 0);
  CHECK_EQ_INT(a->type, GGUF_TYPE_ARRAY);
  CHECK_EQ_INT(a->n, 2);
  if (a->n == 2 && a->arrs) {
    CHECK_EQ_INT(a->arrs[0].n, 2);
    CHECK_EQ_INT(gguf_arr_get_i64(&a->arrs[0], 1, &i64), 0);
    CHECK_EQ_INT(i64, 2);
    CHECK_EQ_INT(a->arrs[1].n, 0);
  }
  CHECK_EQ_INT(gguf_get_arr(g, "v.empty", &a), 0);
  CHECK_EQ_INT(a->n, 0);
  CHECK_EQ_INT(gguf_get_arr(g, "v.u8", &a), HR_EFORMAT);

  CHECK_EQ_INT(gguf_tensor_count(g), 2);
  const gguf_tensor *ta = gguf_find_tensor(g, "a"), *tb = gguf_find_tensor(g, "b");
  CHECK(ta && tb);
  if (ta && tb) {
    CHECK_EQ_INT(ta->n_bytes, 32);
    CHECK_EQ_INT(tb->n_bytes, 68);
    CHECK_EQ_INT(tb->type, TT_Q8_0);
    CHECK_EQ_INT(gguf_data_offset(g) % 64, 0);
    CHECK_EQ_INT(gguf_data_offset(g) + tb->offset + tb->n_bytes, b.len);
  }
  gguf_close(g);

  /* version 2 reads the same */
  memcpy(b.data + 4, &(uint32_t){2}, 4);
  CHECK_EQ_INT(open_buf(&b, &g), 0);
  if (g) gguf_close(g);
  hr_buf_free(&b);
}

TEST(every_truncation_rejected) {
  hr_buf b = HR_BUF_INIT;
  w_good(&b);
  int bad = 0;
  for (size_t n = 0; n < b.len; n++) {
    gguf_file *g = NULL;
    err[0] = 0;
    int rc = gguf_open_memory(b.data, n, &g, err, sizeof err);
    if (rc != HR_EFORMAT || err[0] == 0) {
      if (bad++ < 5) fprintf(stderr, "    prefix %zu: rc %d '%s'\n", n, rc, err);
      if (g) gguf_close(g);
    }
  }
  CHECK_EQ_INT(bad, 0);
  hr_buf_free(&b);
}

/* Every single-byte change in the header region either parses or is
 * rejected cleanly (ASan catches the rest). */
TEST(byte_flips_do_not_crash) {
  hr_buf b = HR_BUF_INIT;
  w_good(&b);
  size_t hdr = b.len - 132;
  for (size_t i = 0; i < hdr; i++) {
    for (int k = 0; k < 3; k++) {
      static const uint8_t vals[3] = {0xff, 0x00, 0x80};
      uint8_t saved = (uint8_t)b.data[i];
      b.data[i] = (char)vals[k];
      gguf_file *g = NULL;
      int rc = gguf_open_memory(b.data, b.len, &g, err, sizeof err);
      CHECK(rc == 0 || rc == HR_EFORMAT);
      if (rc == 0) gguf_close(g);
      else CHECK(err[0] != 0);
      b.data[i] = (char)saved;
    }
  }
  hr_buf_free(&b);
}

/* ---- each kind of damage ----------------------------------------------- */

TEST(bad_magic_and_version) {
  hr_buf b = HR_BUF_INIT;
  w_good(&b);
  b.data[0] = 'X';
  CHECK(rejects(&b, "bad magic"));
  b.data[0] = 'G';
  memcpy(b.data + 4, &(uint32_t){1}, 4);
  CHECK(rejects(&b, "version 1"));
  memcpy(b.data + 4, &(uint32_t){4}, 4);
  CHECK(rejects(&b, "unknown GGUF version 4"));
  memcpy(b.data + 4, &(uint32_t){0x03000000}, 4);
  CHECK(rejects(&b, "big-endian"));
  hr_buf_free(&b);
  hr_buf e = HR_BUF_INIT;
  hr_buf_append(&e, "GG", 2);
  CHECK(rejects(&e, "too short"));
  hr_buf_free(&e);
}

TEST(huge_counts) {
  hr_buf b = HR_BUF_INIT;
  w_header(&b, 3, 0, UINT64_MAX);
  CHECK(rejects(&b, "metadata count"));
  hr_buf_clear(&b);
  w_header(&b, 3, (uint64_t)1 << 40, 0);
  w_zeros(&b, 100);
  CHECK(rejects(&b, "tensor count"));
  hr_buf_clear(&b);
  /* an array claiming 2^61 u64 elements */
  w_header(&b, 3, 0, 1);
  w_str(&b, "k");
  w_u32(&b, GGUF_TYPE_ARRAY);
  w_u32(&b, GGUF_TYPE_UINT64);
  w_u64(&b, (uint64_t)1 << 61);
  w_zeros(&b, 64);
  CHECK(rejects(&b, "array of 2305843009213693952 u64"));
  hr_buf_clear(&b);
  /* an array of 1M strings in a 100-byte file */
  w_header(&b, 3, 0, 1);
  w_str(&b, "k");
  w_u32(&b, GGUF_TYPE_ARRAY);
  w_u32(&b, GGUF_TYPE_STRING);
  w_u64(&b, 1000000);
  w_zeros(&b, 64);
  CHECK(rejects(&b, "cannot fit"));
  hr_buf_free(&b);
}

TEST(bad_strings) {
  hr_buf b = HR_BUF_INIT;
  w_header(&b, 3, 0, 1);
  w_u64(&b, UINT64_MAX); /* key length */
  w_raw(&b, "key", 3);
  w_zeros(&b, 16);
  CHECK(rejects(&b, "string length"));
  hr_buf_clear(&b);
  w_header(&b, 3, 0, 1);
  w_str(&b, "k");
  w_u32(&b, GGUF_TYPE_STRING);
  w_u64(&b, 1000); /* value length past the end */
  w_raw(&b, "abc", 3);
  CHECK(rejects(&b, "runs past the file end"));
  hr_buf_clear(&b);
  w_header(&b, 3, 0, 1);
  w_u64(&b, GGUF_MAX_KEY_LEN + 1);
  w_zeros(&b, GGUF_MAX_KEY_LEN + 100);
  CHECK(rejects(&b, "exceeds the limit"));
  hr_buf_free(&b);
}

TEST(bad_value_types) {
  hr_buf b = HR_BUF_INIT;
  w_header(&b, 3, 0, 1);
  w_str(&b, "k");
  w_u32(&b, 13);
  w_u32(&b, 0);
  CHECK(rejects(&b, "unknown value type 13"));
  hr_buf_clear(&b);
  w_header(&b, 3, 0, 1);
  w_str(&b, "k");
  w_u32(&b, GGUF_TYPE_ARRAY);
  w_u32(&b, 0x7fffffff);
  w_u64(&b, 1);
  CHECK(rejects(&b, "unknown value type"));
  hr_buf_clear(&b);
  /* arrays nested past the limit */
  w_header(&b, 3, 0, 1);
  w_str(&b, "k");
  w_u32(&b, GGUF_TYPE_ARRAY);
  for (int i = 0; i < GGUF_MAX_ARRAY_DEPTH + 2; i++) {
    w_u32(&b, GGUF_TYPE_ARRAY);
    w_u64(&b, 1);
  }
  w_u32(&b, GGUF_TYPE_UINT8);
  w_u64(&b, 0);
  CHECK(rejects(&b, "nested"));
  hr_buf_clear(&b);
  /* a duplicate key */
  w_header(&b, 3, 0, 2);
  w_kv_u32(&b, "k", 1);
  w_kv_u32(&b, "k", 2);
  CHECK(rejects(&b, "duplicate key"));
  hr_buf_free(&b);
}

TEST(bad_alignment) {
  hr_buf b = HR_BUF_INIT;
  w_header(&b, 3, 0, 1);
  w_kv_u32(&b, "general.alignment", 48);
  CHECK(rejects(&b, "power of two"));
  hr_buf_clear(&b);
  w_header(&b, 3, 0, 1);
  w_kv_u32(&b, "general.alignment", 0);
  CHECK(rejects(&b, "power of two"));
  hr_buf_clear(&b);
  w_header(&b, 3, 0, 1);
  w_kv_str(&b, "general.alignment", "32");
  CHECK(rejects(&b, "expected u32"));
  hr_buf_free(&b);
}

/* A file with one tensor, data padded after the infos. */
static void w_one_tensor(hr_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                         uint32_t type, uint64_t offset, size_t data_bytes) {
  w_header(b, 3, 1, 0);
  w_tensor(b, name, n_dims, ne, type, offset);
  w_pad(b, 32);
  w_zeros(b, data_bytes);
}

TEST(bad_tensor_infos) {
  hr_buf b = HR_BUF_INIT;
  uint64_t ne[5] = {32, 2, 1, 1, 1};
  w_one_tensor(&b, "t", 2, ne, 99, 0, 256);
  CHECK(rejects(&b, "tensor 't': unknown tensor type 99"));
  hr_buf_clear(&b);
  w_one_tensor(&b, "t", 5, ne, TT_F32, 0, 256);
  CHECK(rejects(&b, "5 dimensions"));
  hr_buf_clear(&b);
  uint64_t ne_odd[2] = {33, 2};
  w_one_tensor(&b, "t", 2, ne_odd, TT_Q4_0, 0, 256);
  CHECK(rejects(&b, "not a multiple of the q4_0 block size 32"));
  hr_buf_clear(&b);
  w_one_tensor(&b, "t", 2, ne, TT_F32, 8, 256);
  CHECK(rejects(&b, "offset 8 is not a multiple of the alignment 32"));
  hr_buf_clear(&b);
  uint64_t ne_neg[2] = {32, (uint64_t)1 << 63};
  w_one_tensor(&b, "t", 2, ne_neg, TT_F32, 0, 256);
  CHECK(rejects(&b, "negative"));
  hr_buf_clear(&b);
  uint64_t ne_big[4] = {(uint64_t)1 << 40, (uint64_t)1 << 40, 1 << 20, 4};
  w_one_tensor(&b, "t", 4, ne_big, TT_F32, 0, 256);
  CHECK(rejects(&b, "overflows"));
  hr_buf_clear(&b);
  uint64_t ne_huge[2] = {(uint64_t)1 << 30, 4};
  w_one_tensor(&b, "t", 2, ne_huge, TT_F32, 0, 256);
  CHECK(rejects(&b, "cannot fit in a file"));
  hr_buf_clear(&b);
  char longname[GGUF_MAX_TENSOR_NAME_LEN + 2];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  w_one_tensor(&b, longname, 2, ne, TT_F32, 0, 256);
  CHECK(rejects(&b, "exceeds the limit"));
  hr_buf_clear(&b);
  /* duplicate names */
  w_header(&b, 3, 2, 0);
  w_tensor(&b, "t", 2, ne, TT_F32, 0);
  w_tensor(&b, "t", 2, ne, TT_F32, 256);
  w_pad(&b, 32);
  w_zeros(&b, 512);
  CHECK(rejects(&b, "duplicate tensor"));
  hr_buf_free(&b);
}

TEST(tensor_data_out_of_file_or_overlapping) {
  hr_buf b = HR_BUF_INIT;
  uint64_t ne[2] = {64, 4}; /* 1024 bytes */
  w_header(&b, 3, 1, 0);
  w_tensor(&b, "blk.0.attn_q.weight", 2, ne, TT_F32, 0);
  w_pad(&b, 32);
  size_t data_at = b.len;
  w_zeros(&b, 1000);
  char want[160];
  snprintf(want, sizeof want, "tensor 'blk.0.attn_q.weight': data ends at %zu past file end %zu",
           data_at + 1024, b.len);
  CHECK(rejects(&b, want));
  hr_buf_clear(&b);
  /* an offset far past the end */
  w_one_tensor(&b, "t", 2, ne, TT_F32, (uint64_t)1 << 62, 1024);
  CHECK(rejects(&b, "past file end"));
  hr_buf_clear(&b);
  /* two tensors sharing bytes */
  w_header(&b, 3, 2, 0);
  w_tensor(&b, "x", 2, ne, TT_F32, 0);
  w_tensor(&b, "y", 2, ne, TT_F32, 512);
  w_pad(&b, 32);
  w_zeros(&b, 2048);
  CHECK(rejects(&b, "overlaps tensor 'x'"));
  hr_buf_clear(&b);
  /* the same two, apart: accepted */
  w_header(&b, 3, 2, 0);
  w_tensor(&b, "x", 2, ne, TT_F32, 1024);
  w_tensor(&b, "y", 2, ne, TT_F32, 0);
  w_pad(&b, 32);
  w_zeros(&b, 2048);
  gguf_file *g;
  CHECK_EQ_INT(open_buf(&b, &g), 0);
  if (g) gguf_close(g);
  hr_buf_free(&b);
}

TEST(many_keys_hash_lookup) {
  hr_buf b = HR_BUF_INIT;
  enum { N = 5000 };
  w_header(&b, 3, 0, N);
  char k[32];
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof k, "key.%d", i);
    w_kv_u32(&b, k, (uint32_t)i * 3);
  }
  gguf_file *g;
  CHECK_EQ_INT(open_buf(&b, &g), 0);
  if (g) {
    int wrong = 0;
    for (int i = 0; i < N; i++) {
      uint32_t v = 0;
      snprintf(k, sizeof k, "key.%d", i);
      if (gguf_get_u32(g, k, &v) != 0 || v != (uint32_t)i * 3) wrong++;
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(gguf_find_key(g, "key.5000"), -1);
    gguf_close(g);
  }
  hr_buf_free(&b);
}

int main(void) {
  RUN(stories260k_fields);
  RUN(open_missing_file);
  RUN(good_file_reads_back);
  RUN(every_truncation_rejected);
  RUN(byte_flips_do_not_crash);
  RUN(bad_magic_and_version);
  RUN(huge_counts);
  RUN(bad_strings);
  RUN(bad_value_types);
  RUN(bad_alignment);
  RUN(bad_tensor_infos);
  RUN(tensor_data_out_of_file_or_overlapping);
  RUN(many_keys_hash_lookup);
  return test_report("gguf");
}
