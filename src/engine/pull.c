/* pull.c — `hearth pull SOURCE`: downloads a GGUF model into the models
 * directory, resumably and verified.
 *
 * One pull, start to end:
 *   1. SOURCE becomes a URL and a name (pull.h); NAME.gguf already there is
 *      kept unless --force.
 *   2. NAME.gguf.part is opened and locked (flock), so two pulls of one name
 *      cannot interleave. Bytes already in it are hashed first: a resumed
 *      download is verified as a whole, not from where it restarted.
 *   3. One GET with libcurl's easy interface (a CLI may block), following
 *      redirects (the hub answers 302 to its CDN), with `Range: bytes=N-`
 *      when the .part holds N bytes. The headers of every answer in the
 *      chain are read: X-Linked-Etag (any answer) or, for hf: sources, the
 *      first answer's ETag gives the sha256 when it is 64 hex digits. The
 *      final answer decides what the body is: 206 from byte N is appended,
 *      200 means the server ignored the range and the .part starts over, 416
 *      with a total equal to N means the .part was already complete, and any
 *      other status is an error whose body is kept for the message.
 *   4. Every byte written is hashed as it arrives; the first four must be
 *      "GGUF", so an HTML error page is refused at once, not after 4 GB.
 *   5. Done: the size must equal what the server announced, the sha256 must
 *      equal the published one (a mismatch deletes the .part: resuming
 *      corrupt bytes cannot help), gguf_open must accept the file; then
 *      fsync, rename to NAME.gguf and fsync the directory, so NAME.gguf is
 *      either absent or whole.
 *
 * A network failure keeps the .part and exits 1; running the same command
 * again resumes it. HF_TOKEN is sent as a Bearer token; libcurl sends a
 * custom Authorization header only to the host first asked (>= 7.58), so it
 * does not follow the redirect to the CDN.
 *
 * Exit status: 0 pulled (or already present), 1 failed, 2 bad usage. */
#include "engine.h"
#include "gguf.h"
#include "pull.h"

#include "../base/options.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- sources ------------------------------------------------------------ */

bool pull_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > PULL_NAME_MAX || name[0] == '.') return false;
  for (size_t i = 0; i < n; i++)
    if (name[i] == '/' || (unsigned char)name[i] < 0x20 || name[i] == 0x7f) return false;
  return true;
}

static bool repo_part_ok(const char *p, size_t n) {
  if (n == 0 || n > 96) return false;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return false;
  }
  return !(n <= 2 && p[0] == '.' && (n == 1 || p[1] == '.'));
}

/* Percent-encodes everything but RFC 3986 unreserved bytes (and '/' when
 * keep_slash), as the hub's own client quotes paths and revisions. */
static int url_escape_append(hr_buf *b, const char *s, size_t n, bool keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    int rc = plain ? hr_buf_putc(b, (char)c)
                   : hr_buf_appendf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    if (rc) return rc;
  }
  return HR_OK;
}

/* The stem of the last path segment of s[0..n): "a/b/x.gguf" -> "x". */
static char *name_from_path(hr_arena *a, const char *s, size_t n) {
  const char *slash = memrchr(s, '/', n);
  const char *base = slash ? slash + 1 : s;
  size_t len = n - (size_t)(base - s);
  if (len > 5 && strncasecmp(base + len - 5, ".gguf", 5) == 0) len -= 5;
  return hr_arena_strndup(a, base, len);
}

static int parse_hub(hr_arena *a, const char *spec, const char *endpoint, pull_source *out,
                     char *err, size_t err_len) {
  const char *body = spec + 3, *end = body + strlen(body);
  const char *rev = "main";
  size_t rev_len = 4;
  const char *at = strrchr(body, '@');
  if (at) {
    rev = at + 1, rev_len = (size_t)(end - rev), end = at;
    if (rev_len == 0) {
      snprintf(err, err_len, "%s: empty revision after '@'", spec);
      return HR_EINVAL;
    }
  }
  const char *s1 = memchr(body, '/', (size_t)(end - body));
  const char *s2 = s1 ? memchr(s1 + 1, '/', (size_t)(end - s1 - 1)) : NULL;
  if (!s2 || s2 + 1 >= end) {
    snprintf(err, err_len, "%s: expected hf:OWNER/REPO/FILE[@REVISION]", spec);
    return HR_EINVAL;
  }
  if (!repo_part_ok(body, (size_t)(s1 - body)) || !repo_part_ok(s1 + 1, (size_t)(s2 - s1 - 1))) {
    snprintf(err, err_len, "%s: OWNER and REPO may hold only letters, digits, '-', '_', '.'",
             spec);
    return HR_EINVAL;
  }
  const char *file = s2 + 1;
  size_t file_len = (size_t)(end - file);
  /* No empty, "." or ".." segments: the hub would not resolve them, and the
   * URL must name exactly the file asked for. */
  for (const char *seg = file; seg <= end;) {
    const char *e = memchr(seg, '/', (size_t)(end - seg));
    if (!e) e = end;
    size_t sl = (size_t)(e - seg);
    if (sl == 0 || (sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.')) {
      snprintf(err, err_len, "%s: bad file path", spec);
      return HR_EINVAL;
    }
    seg = e + 1;
  }
  if (!endpoint || !*endpoint) endpoint = PULL_DEFAULT_ENDPOINT;
  size_t ep_len = strlen(endpoint);
  while (ep_len && endpoint[ep_len - 1] == '/') ep_len--;
  hr_buf u = HR_BUF_INIT;
  int rc = hr_buf_append(&u, endpoint, ep_len);
  if (!rc) rc = hr_buf_putc(&u, '/');
  if (!rc) rc = hr_buf_append(&u, body, (size_t)(s2 - body));
  if (!rc) rc = hr_buf_append_str(&u, "/resolve/");
  if (!rc) rc = url_escape_append(&u, rev, rev_len, false);
  if (!rc) rc = hr_buf_putc(&u, '/');
  if (!rc) rc = url_escape_append(&u, file, file_len, true);
  if (!rc) out->url = hr_arena_strndup(a, u.data, u.len);
  hr_buf_free(&u);
  out->name = name_from_path(a, file, file_len);
  out->is_hub = true;
  if (rc || !out->url || !out->name) return HR_ENOMEM;
  return HR_OK;
}

int pull_source_parse(hr_arena *a, const char *spec, const char *endpoint, pull_source *out,
                      char *err, size_t err_len) {
  *out = (pull_source){0};
  if (!strncmp(spec, "hf:", 3)) return parse_hub(a, spec, endpoint, out, err, err_len);
  if (strncasecmp(spec, "http://", 7) && strncasecmp(spec, "https://", 8)) {
    snprintf(err, err_len, "%s: expected hf:OWNER/REPO/FILE[@REVISION] or an http(s) URL", spec);
    return HR_EINVAL;
  }
  for (const char *p = spec; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
      snprintf(err, err_len, "the URL holds a blank or control byte");
      return HR_EINVAL;
    }
  const char *host = strstr(spec, "://") + 3;
  size_t path_end = strcspn(host, "?#");
  const char *path = memchr(host, '/', path_end);
  out->url = hr_arena_strndup(a, spec, strlen(spec));
  out->name = path ? name_from_path(a, path, path_end - (size_t)(path - host))
                   : hr_arena_strndup(a, "", 0);
  out->is_hub = false;
  if (!out->url || !out->name) return HR_ENOMEM;
  return HR_OK;
}

bool pull_etag_sha256(const char *v, size_t n, char out[65]) {
  while (n && (*v == ' ' || *v == '\t')) v++, n--;
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n')) n--;
  if (n >= 2 && v[0] == 'W' && v[1] == '/') v += 2, n -= 2;
  if (n >= 2 && v[0] == '"' && v[n - 1] == '"') v++, n -= 2;
  if (n != 64) return false;
  for (size_t i = 0; i < 64; i++) {
    char c = v[i];
    if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    out[i] = c;
  }
  out[64] = 0;
  return true;
}

void pull_format_bytes(uint64_t n, char *out, size_t out_len) {
  if (n >= 1000000000ull) snprintf(out, out_len, "%.2f GB", (double)n / 1e9);
  else if (n >= 1000000ull) snprintf(out, out_len, "%.1f MB", (double)n / 1e6);
  else if (n >= 1000ull) snprintf(out, out_len, "%.0f kB", (double)n / 1e3);
  else snprintf(out, out_len, "%llu B", (unsigned long long)n);
}

/* ---- one transfer ------------------------------------------------------- */

typedef struct {
  int fd;            /* the .part, locked */
  EVP_MD_CTX *sha;   /* over bytes [0, pos) of the .part */
  bool is_hub;
  uint64_t pos;      /* bytes in the .part now */
  uint64_t resumed;  /* bytes in the .part when this request began */
  uint64_t total;    /* the whole file's size as announced; 0: unknown */
  unsigned char magic[4];

  /* the answer being read; reset at each status line */
  int n_answers;
  long status;
  bool has_location;
  int64_t content_length;             /* -1: none */
  int64_t range_start, range_total;   /* Content-Range; -1: none or '*' */
  bool final;        /* this answer's body is the file (or the error) */

  char linked_sha[65], etag_sha[65]; /* "" until seen */
  char hub_error[256];               /* X-Error-Message */
  hr_buf error_body;                 /* the start of a failed answer's body */
  char fail[512];    /* why we stopped the transfer ourselves */
  bool not_gguf;

  /* progress */
  bool tty, quiet;
  const char *name;
  uint64_t t0_ns, drawn_ns;
} pull_xfer;

static bool header_is(const char *line, size_t n, const char *name, const char **value,
                      size_t *value_len) {
  size_t k = strlen(name);
  if (n <= k || line[k] != ':' || strncasecmp(line, name, k)) return false;
  const char *v = line + k + 1, *e = line + n;
  while (v < e && (*v == ' ' || *v == '\t')) v++;
  while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t')) e--;
  *value = v, *value_len = (size_t)(e - v);
  return true;
}

/* "bytes START-END/TOTAL"; a 416 answer has a star in place of the range. */
static void parse_content_range(pull_xfer *x, const char *v, size_t n) {
  char buf[128];
  if (n >= sizeof buf) return;
  memcpy(buf, v, n), buf[n] = 0;
  unsigned long long s, e, t;
  if (sscanf(buf, "bytes %llu-%llu/%llu", &s, &e, &t) == 3) {
    x->range_start = (int64_t)s, x->range_total = (int64_t)t;
  } else if (sscanf(buf, "bytes %llu-%llu/*", &s, &e) == 2) {
    x->range_start = (int64_t)s;
  } else if (sscanf(buf, "bytes */%llu", &t) == 1) {
    x->range_total = (int64_t)t;
  }
}

static void sha_restart(pull_xfer *x) { EVP_DigestInit_ex(x->sha, EVP_sha256(), NULL); }

/* The last answer's headers are in: decide what its body is. False stops
 * the transfer (x->fail says why). */
static bool on_final_headers(pull_xfer *x) {
  x->final = true;
  if (x->status == 200) {
    if (x->pos > 0) {
      if (!x->quiet)
        fprintf(stderr, "hearth pull: the server does not resume downloads; starting over\n");
      if (ftruncate(x->fd, 0) || lseek(x->fd, 0, SEEK_SET) < 0) {
        snprintf(x->fail, sizeof x->fail, "cannot truncate the .part: %s", strerror(errno));
        return false;
      }
      x->pos = x->resumed = 0;
      sha_restart(x);
    }
    x->total = x->content_length > 0 ? (uint64_t)x->content_length : 0;
  } else if (x->status == 206) {
    if (x->range_start != (int64_t)x->pos) {
      snprintf(x->fail, sizeof x->fail, "asked to resume at byte %llu, the server sent byte %lld",
               (unsigned long long)x->pos, (long long)x->range_start);
      return false;
    }
    x->total = x->range_total > 0 ? (uint64_t)x->range_total
               : x->content_length >= 0 ? x->pos + (uint64_t)x->content_length
                                        : 0;
  }
  return true;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *user) {
  pull_xfer *x = user;
  size_t n = size * nmemb;
  const char *v;
  size_t vn;
  if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
    x->n_answers++;
    x->status = 0, x->has_location = false, x->final = false;
    x->content_length = x->range_start = x->range_total = -1;
    const char *sp = memchr(line, ' ', n);
    if (sp) x->status = strtol(sp + 1, NULL, 10);
  } else if (n <= 2 && (line[0] == '\r' || line[0] == '\n')) {
    bool redirect = x->status >= 300 && x->status < 400 && x->has_location;
    if (x->status >= 200 && !redirect && !on_final_headers(x)) return 0;
  } else if (header_is(line, n, "X-Linked-Etag", &v, &vn)) {
    if (!x->linked_sha[0]) pull_etag_sha256(v, vn, x->linked_sha);
  } else if (header_is(line, n, "ETag", &v, &vn)) {
    /* Only the hub's own answer: a CDN's ETag is its own business (an MD5,
     * a multipart id...). */
    if (x->is_hub && x->n_answers == 1) pull_etag_sha256(v, vn, x->etag_sha);
  } else if (header_is(line, n, "Location", &v, &vn)) {
    x->has_location = vn > 0;
  } else if (header_is(line, n, "Content-Length", &v, &vn)) {
    x->content_length = strtoll(v, NULL, 10);
  } else if (header_is(line, n, "Content-Range", &v, &vn)) {
    parse_content_range(x, v, vn);
  } else if (header_is(line, n, "X-Error-Message", &v, &vn)) {
    snprintf(x->hub_error, sizeof x->hub_error, "%.*s", (int)HR_MIN(vn, 200), v);
  }
  return n;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
  pull_xfer *x = user;
  size_t n = size * nmemb;
  if (!x->final) return n; /* a redirect's body */
  if (x->status != 200 && x->status != 206) {
    if (x->error_body.len < 1024) hr_buf_append(&x->error_body, data, HR_MIN(n, 1024));
    return n;
  }
  if (x->pos < 4) {
    size_t k = HR_MIN(n, (size_t)(4 - x->pos));
    memcpy(x->magic + x->pos, data, k);
    if (x->pos + k == 4 && memcmp(x->magic, "GGUF", 4)) {
      x->not_gguf = true;
      snprintf(x->fail, sizeof x->fail, "not a GGUF file (it starts with %02x %02x %02x %02x)",
               x->magic[0], x->magic[1], x->magic[2], x->magic[3]);
      return 0;
    }
  }
  if (write_all(x->fd, data, n)) {
    snprintf(x->fail, sizeof x->fail, "cannot write the .part: %s", strerror(errno));
    return 0;
  }
  EVP_DigestUpdate(x->sha, data, n);
  x->pos += n;
  return n;
}

static void fmt_eta(double s, char *out, size_t out_len) {
  if (s < 0 || s > 359999) {
    snprintf(out, out_len, "--:--");
    return;
  }
  unsigned t = (unsigned)(s + 0.5);
  if (t >= 3600) snprintf(out, out_len, "%u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
  else snprintf(out, out_len, "%u:%02u", t / 60, t % 60);
}

static void draw_progress(pull_xfer *x, bool last) {
  double secs = (double)(hr_now_ns() - x->t0_ns) / 1e9;
  double rate = secs > 0 ? (double)(x->pos - x->resumed) / secs : 0;
  char eta[16] = "";
  if (x->total && rate > 0) fmt_eta((double)(x->total - HR_MIN(x->pos, x->total)) / rate, eta, sizeof eta);
  else snprintf(eta, sizeof eta, "--:--");
  if (x->total) {
    double frac = (double)HR_MIN(x->pos, x->total) / (double)x->total;
    char bar[31];
    int full = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < full ? '#' : '-';
    bar[30] = 0;
    fprintf(stderr, "\r%s %3d%% [%s] %.1f/%.1f MB  %.1f MB/s  ETA %s\033[K", x->name,
            (int)(frac * 100), bar, (double)x->pos / 1e6, (double)x->total / 1e6, rate / 1e6, eta);
  } else {
    fprintf(stderr, "\r%s %.1f MB  %.1f MB/s\033[K", x->name, (double)x->pos / 1e6, rate / 1e6);
  }
  if (last) fputc('\n', stderr);
  fflush(stderr);
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  pull_xfer *x = user;
  uint64_t now = hr_now_ns();
  if (x->tty && !x->quiet && x->final && (x->status == 200 || x->status == 206) &&
      now - x->drawn_ns > 100000000ull) {
    x->drawn_ns = now;
    draw_progress(x, false);
  }
  return 0;
}

/* ---- the command -------------------------------------------------------- */

typedef struct {
  const char *models_dir;
  const char *name;
  const char *sha256;
  bool force, quiet;
} pull_options;

static int mkdir_p(const char *dir) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) return -1;
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(path, 0755) && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

static void fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* Hashes the .part's bytes already there. False when they cannot be read
 * or do not begin like a GGUF file (then the .part is emptied). */
static int hash_existing(pull_xfer *x, const char *part) {
  struct stat st;
  if (fstat(x->fd, &st)) return -1;
  x->pos = (uint64_t)st.st_size;
  if (x->pos == 0) return 0;
  char *buf = malloc(1 << 20);
  if (!buf) return -1;
  uint64_t off = 0;
  while (off < x->pos) {
    ssize_t r = pread(x->fd, buf, 1 << 20, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (off == 0 && r >= 4) memcpy(x->magic, buf, 4);
    EVP_DigestUpdate(x->sha, buf, (size_t)r);
    off += (uint64_t)r;
  }
  free(buf);
  if (off != x->pos) return -1;
  if (x->pos < 4 || memcmp(x->magic, "GGUF", 4)) {
    if (ftruncate(x->fd, 0)) return -1;
    x->pos = 0;
    sha_restart(x);
    return 0;
  }
  if (lseek(x->fd, 0, SEEK_END) < 0) return -1;
  if (!x->quiet) {
    char b[32];
    pull_format_bytes(x->pos, b, sizeof b);
    fprintf(stderr, "hearth pull: resuming %s from %s already in %s\n", x->name, b, part);
  }
  return 0;
}

typedef enum { XFER_DONE, XFER_RETRY, XFER_FAILED } xfer_result;

static xfer_result transfer(pull_xfer *x, const pull_source *src, struct curl_slist *headers,
                            const char *part) {
  char curl_err[CURL_ERROR_SIZE] = "";
  CURL *c = curl_easy_init();
  if (!c) {
    fprintf(stderr, "hearth pull: cannot start libcurl\n");
    return XFER_FAILED;
  }
  x->resumed = x->pos;
  x->t0_ns = hr_now_ns();
  x->n_answers = 0;
  x->final = false;
  x->fail[0] = 0;
  curl_easy_setopt(c, CURLOPT_URL, src->url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "hearth (libcurl)");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  /* A stalled connection is a failure (the .part stays for a resume), not
   * a wait without end. */
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  /* CURLOPT_RANGE rather than RESUME_FROM: libcurl fails a resume that
   * gets 200, and a server that ignores ranges should cost a restart, not
   * an error. */
  char range[32];
  snprintf(range, sizeof range, "%llu-", (unsigned long long)x->pos);
  if (x->pos) curl_easy_setopt(c, CURLOPT_RANGE, range);
  CURLcode cc = curl_easy_perform(c);
  char *where = NULL;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &where);
  char url[512];
  snprintf(url, sizeof url, "%s", where ? where : src->url);
  curl_easy_cleanup(c);
  if (x->tty && !x->quiet && x->final && (x->status == 200 || x->status == 206))
    draw_progress(x, true);

  if (x->fail[0]) {
    fprintf(stderr, "hearth pull: %s: %s\n", src->url, x->fail);
    return XFER_FAILED;
  }
  if (cc != CURLE_OK) {
    char have[32];
    pull_format_bytes(x->pos, have, sizeof have);
    fprintf(stderr, "hearth pull: %s: %s%s%s\n", url, curl_easy_strerror(cc),
            curl_err[0] ? ": " : "", curl_err);
    if (x->pos)
      fprintf(stderr, "hearth pull: %s kept in %s; run the same command again to resume\n", have,
              part);
    return XFER_FAILED;
  }
  if (x->status == 416) {
    /* Our .part is not shorter than the file: complete if the sizes agree,
     * otherwise something else is in it; start over once. */
    if (x->range_total >= 0 && (uint64_t)x->range_total == x->pos) {
      x->total = x->pos;
      return XFER_DONE;
    }
    if (ftruncate(x->fd, 0) || lseek(x->fd, 0, SEEK_SET) < 0) return XFER_FAILED;
    x->pos = 0;
    sha_restart(x);
    return XFER_RETRY;
  }
  if (x->status != 200 && x->status != 206) {
    const char *why = x->status == 404   ? "not found"
                      : x->status == 401 ? "needs authentication (set HF_TOKEN)"
                      : x->status == 403 ? "access denied (a gated repository? accept its terms and set HF_TOKEN)"
                                         : "the server refused";
    fprintf(stderr, "hearth pull: %s: HTTP %ld, %s%s%s\n", url, x->status, why,
            x->hub_error[0] ? ": " : "", x->hub_error);
    size_t n = HR_MIN(x->error_body.len, 300);
    while (n && (x->error_body.data[n - 1] == '\n' || x->error_body.data[n - 1] == '\r')) n--;
    bool text = n > 0 && !x->hub_error[0];
    for (size_t i = 0; i < n && text; i++) text = (unsigned char)x->error_body.data[i] >= 0x20;
    if (text) fprintf(stderr, "hearth pull: the server said: %.*s\n", (int)n, x->error_body.data);
    return XFER_FAILED;
  }
  if (x->total && x->pos != x->total) {
    fprintf(stderr,
            "hearth pull: %s: the transfer ended at byte %llu of %llu; run the same command "
            "again to resume\n",
            url, (unsigned long long)x->pos, (unsigned long long)x->total);
    return XFER_FAILED;
  }
  return XFER_DONE;
}

static int pull(const pull_options *o, const pull_source *src) {
  char final_path[4096], part[4096];
  const char *dir = o->models_dir;
  if ((size_t)snprintf(final_path, sizeof final_path, "%s/%s.gguf", dir, src->name) >=
          sizeof final_path ||
      (size_t)snprintf(part, sizeof part, "%s/%s.gguf.part", dir, src->name) >= sizeof part) {
    fprintf(stderr, "hearth pull: the path is too long\n");
    return 1;
  }
  if (!o->force && access(final_path, F_OK) == 0) {
    fprintf(stderr, "hearth pull: %s is already there (--force downloads it again)\n", final_path);
    return 0;
  }
  if (mkdir_p(dir)) {
    fprintf(stderr, "hearth pull: cannot create %s: %s\n", dir, strerror(errno));
    return 1;
  }
  pull_xfer x = {.is_hub = src->is_hub, .name = src->name, .quiet = o->quiet,
                 .tty = isatty(STDERR_FILENO) == 1};
  x.fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (x.fd < 0) {
    fprintf(stderr, "hearth pull: cannot open %s: %s\n", part, strerror(errno));
    return 1;
  }
  if (flock(x.fd, LOCK_EX | LOCK_NB)) {
    fprintf(stderr, "hearth pull: another pull is writing %s\n", part);
    close(x.fd);
    return 1;
  }
  int rc = 1;
  bool drop_part = false;
  struct curl_slist *headers = NULL;
  x.sha = EVP_MD_CTX_new();
  if (!x.sha || !EVP_DigestInit_ex(x.sha, EVP_sha256(), NULL)) goto out;
  if (hash_existing(&x, part)) {
    fprintf(stderr, "hearth pull: cannot read %s: %s\n", part, strerror(errno));
    goto out;
  }
  const char *token = getenv("HF_TOKEN");
  char auth[1024];
  if (token && *token && src->is_hub) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    headers = curl_slist_append(headers, auth);
  }
  /* Identity bytes only: a range of a compressed body would not resume. */
  headers = curl_slist_append(headers, "Accept-Encoding: identity");
  if (!x.quiet) fprintf(stderr, "hearth pull: %s\n", src->url);
  uint64_t t0 = hr_now_ns(), start = x.pos;
  xfer_result r = transfer(&x, src, headers, part);
  if (r == XFER_RETRY) r = transfer(&x, src, headers, part);
  if (r == XFER_RETRY) fprintf(stderr, "hearth pull: the server refuses every range\n");
  if (r != XFER_DONE) {
    drop_part = x.not_gguf || x.pos == 0; /* nothing to resume from (a 404, say) */
    goto out;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned md_len = 0;
  char got[65];
  EVP_DigestFinal_ex(x.sha, md, &md_len);
  for (unsigned i = 0; i < 32; i++) snprintf(got + 2 * i, 3, "%02x", md[i]);
  const char *want = o->sha256 ? o->sha256 : x.linked_sha[0] ? x.linked_sha
                                           : x.etag_sha[0]   ? x.etag_sha
                                                             : NULL;
  if (want && strcmp(want, got)) {
    fprintf(stderr,
            "hearth pull: sha256 mismatch for %s: expected %s (%s), got %s; the download is "
            "deleted\n",
            src->name, want, o->sha256 ? "--sha256" : "published by the server", got);
    drop_part = true;
    goto out;
  }
  if (!want)
    fprintf(stderr,
            "hearth pull: warning: the server published no sha256 for %s; not verified "
            "(sha256 %s)\n",
            src->url, got);
  if (fsync(x.fd)) {
    fprintf(stderr, "hearth pull: cannot sync %s: %s\n", part, strerror(errno));
    goto out;
  }
  char err[512];
  gguf_file *g;
  if (gguf_open(part, &g, err, sizeof err)) {
    fprintf(stderr, "hearth pull: %s is not a usable GGUF file: %s; the download is deleted\n",
            src->url, err);
    drop_part = true;
    goto out;
  }
  gguf_close(g);
  if (rename(part, final_path)) {
    fprintf(stderr, "hearth pull: cannot rename %s: %s\n", part, strerror(errno));
    goto out;
  }
  fsync_dir(dir);
  double secs = (double)(hr_now_ns() - t0) / 1e9;
  char size[32];
  pull_format_bytes(x.pos, size, sizeof size);
  printf("pulled %s: %s in %.1f s (%.1f MB/s)%s, sha256 %s%s, saved as %s\n", src->name, size,
         secs, secs > 0 ? (double)(x.pos - start) / secs / 1e6 : 0.0,
         start ? " (resumed)" : "", got, want ? " (verified)" : " (unverified)", final_path);
  rc = 0;
out:
  if (drop_part) unlink(part);
  curl_slist_free_all(headers);
  EVP_MD_CTX_free(x.sha);
  hr_buf_free(&x.error_body);
  close(x.fd);
  return rc;
}

int eng_cli_pull(int argc, char **argv) {
  pull_options o = {.models_dir = "models"};
  const hr_option opts[] = {
      {"models-dir", 0, OPT_STR, &o.models_dir, "where models are stored", 0, 0},
      {"name", 0, OPT_STR, &o.name, "store as NAME.gguf (default: the file's own name)", 0, 0},
      {"sha256", 0, OPT_STR, &o.sha256, "expected sha256 (hex) when the server publishes none", 0, 0},
      {"force", 'f', OPT_BOOL, &o.force, "download again even if NAME.gguf exists", 0, 0},
      {"quiet", 'q', OPT_BOOL, &o.quiet, "no progress output", 0, 0},
  };
  hr_arena *a = hr_arena_new(4096);
  if (!a) return 1;
  hr_opt_list pos = {0};
  char err[512];
  bool help = false;
  int rc = 2;
  pull_source src;
  char want[65];
  if (hr_options_parse(a, opts, HR_ARRAY_LEN(opts), argc, argv, &pos, &help, err, sizeof err)) {
    fprintf(stderr, "hearth pull: %s\n", err);
  } else if (help) {
    printf("usage: hearth pull hf:OWNER/REPO/FILE[@REVISION] | URL [options]\n\n"
           "Downloads a GGUF model into the models directory, resuming an interrupted\n"
           "download and checking the sha256 the hub publishes. HF_ENDPOINT overrides\n"
           "https://huggingface.co; HF_TOKEN is sent as a Bearer token to the hub.\n\n");
    hr_options_help(stdout, opts, HR_ARRAY_LEN(opts));
    rc = 0;
  } else if (pos.n != 1) {
    fprintf(stderr, "hearth pull: expected one source: hf:OWNER/REPO/FILE[@REVISION] or a URL\n");
  } else if (o.sha256 && !pull_etag_sha256(o.sha256, strlen(o.sha256), want)) {
    fprintf(stderr, "hearth pull: --sha256: expected 64 hex digits\n");
  } else if (pull_source_parse(a, pos.items[0], getenv("HF_ENDPOINT"), &src, err, sizeof err)) {
    fprintf(stderr, "hearth pull: %s\n", err);
  } else {
    if (o.name) src.name = o.name;
    if (o.sha256) o.sha256 = want;
    if (!pull_name_ok(src.name)) {
      fprintf(stderr, "hearth pull: '%s' cannot be a model name (use --name NAME)\n", src.name);
    } else if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
      fprintf(stderr, "hearth pull: cannot start libcurl\n");
      rc = 1;
    } else {
      rc = pull(&o, &src);
      curl_global_cleanup();
    }
  }
  hr_arena_free(a);
  return rc;
}
