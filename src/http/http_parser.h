/* http_parser — HTTP/1.1 request heads and chunked bodies, without I/O.
 *
 * http_parse_head() reads a request line and header fields out of the bytes
 * a connection has received so far. It is zero-copy: every hr_str it fills
 * points into the caller's buffer, so the buffer must stay alive (and
 * unmoved) for as long as the request's slices are used. It is incremental:
 * call it again with the same http_request each time more bytes arrive; the
 * work done over all calls stays linear in the head size even when the peer
 * sends one byte at a time (slowloris). It is strict where leniency lets a
 * front proxy and hearth disagree on where a request ends (RFC 9112 6.3,
 * 11.2 "request smuggling"): see the rules next to http_parse_head().
 *
 * http_chunked_decode() removes the chunked framing from a body in place,
 * incrementally, and tells where the body ended.
 *
 * Invariant for both: the decision for a given byte stream does not depend on
 * how it was split into calls (one-shot == byte-at-a-time), errors included.
 *
 * Ownership: nothing here allocates. An http_request owns nothing; its
 * headers array is the caller's (see http_request_init). */
#ifndef HEARTH_HTTP_PARSER_H
#define HEARTH_HTTP_PARSER_H

#include "../base/base.h"

/* ---- methods ------------------------------------------------------------ */

typedef enum {
  HTTP_GET,
  HTTP_HEAD,
  HTTP_POST,
  HTTP_PUT,
  HTTP_DELETE,
  HTTP_PATCH,
  HTTP_OPTIONS,
  HTTP_OTHER, /* any other token; see http_request.method_token */
  HTTP_METHOD_COUNT
} http_method;

/* "GET", "HEAD", ... ; "OTHER" for HTTP_OTHER. Static. */
const char *http_method_name(http_method m);
/* The enum for a method token (case-sensitive, RFC 9110 9.1); HTTP_OTHER if
 * it is not one of the seven. */
http_method http_method_from_token(hr_str token);

/* ---- limits --------------------------------------------------------------- */

typedef struct {
  size_t max_head_bytes;   /* whole head incl. request line and the final
                              CRLF (and any leading CRLFs); default 16 KiB */
  size_t max_request_line; /* request line incl. its CRLF; default 8 KiB */
  size_t max_headers;      /* header field lines; default 100 (also capped by
                              the headers array given to http_request_init) */
} http_limits;

#define HTTP_LIMITS_DEFAULT ((http_limits){16384, 8192, 100})
/* Leading empty lines tolerated before the request line (RFC 9112 2.2). */
#define HTTP_MAX_LEADING_CRLF 8

/* ---- the request head ----------------------------------------------------- */

typedef struct {
  hr_str name;  /* as sent (compare with hr_str_ieq) */
  hr_str value; /* leading and trailing SP/HTAB removed; may be empty */
} http_header;

/* Private progress of an unfinished head (offsets, so the caller may move
 * or grow its buffer between calls as long as the bytes already given stay
 * the same). Zeroed by http_request_init. */
typedef struct {
  size_t pos;        /* start of the first line not yet complete */
  size_t lf_from;    /* no '\n' in [pos, lf_from) */
  uint32_t n_lines;  /* complete lines so far, leading CRLFs included */
  uint8_t n_leading; /* leading empty lines skipped */
  bool have_rl;      /* the request line is complete (and valid) */
  bool done;         /* the head is complete; pos is its length */
  const char *base;  /* buffer seen last call (only compared, never read) */
} http_head_state;

typedef struct {
  /* request line */
  http_method method;
  hr_str method_token; /* the method exactly as sent */
  hr_str target;       /* request-target as sent */
  hr_str path;         /* origin-form: target before '?'; absolute-form: the
                          path part ("/" if none); "*" for OPTIONS * */
  hr_str query;        /* after '?', without it; empty (len 0) if none */
  int version;         /* 10 or 11 */

  /* header fields in order */
  http_header *headers; /* caller's array (http_request_init) */
  size_t n_headers;
  size_t headers_cap;

  /* derived from the fields */
  int64_t content_length; /* -1 when absent */
  bool chunked;           /* Transfer-Encoding: chunked (the only coding) */
  bool keep_alive;        /* 1.1: unless "Connection: close"; 1.0: only with
                             "Connection: keep-alive" (and no close) */
  bool expect_continue;   /* "Expect: 100-continue" on HTTP/1.1 */
  bool upgrade_websocket; /* "Upgrade: websocket" + Connection has upgrade */
  hr_str host;            /* Host value (exactly one on 1.1; may be empty) */
  hr_str x_request_id;    /* first X-Request-Id, or len 0 */
  hr_str content_type;    /* first Content-Type, or len 0 */
  hr_str authorization;   /* first Authorization, or len 0 */
  hr_str upgrade;         /* first Upgrade, or len 0 */

  /* set when http_parse_head fails */
  int error_status;         /* 400, 417, 431, 501 or 505 */
  const char *error_reason; /* short static text, e.g. "bare LF" */

  http_head_state st; /* private */
} http_request;

/* Readies req for a new head (a new connection, or the next pipelined
 * request): clears every field and the progress state. headers/cap is where
 * header fields go (cap 0 is allowed: then any header line is a 431). */
void http_request_init(http_request *req, http_header *headers, size_t cap);

/* Parses the head at the start of buf[0..len). buf must begin at the
 * request's first byte; on later calls for the same request it must begin
 * with the same bytes as before, plus more (it may live elsewhere now).
 * lim may be NULL for HTTP_LIMITS_DEFAULT.
 *
 * Returns
 *   > 0         the head's length in bytes (through its final CRLF); the
 *               body, if any, and then any pipelined request follow it;
 *               req's fields are set and point into buf.
 *   HR_EAGAIN   the head is not complete yet and nothing is wrong so far.
 *   < 0 other   the request is bad: req->error_status and error_reason say
 *               what to answer (then close the connection):
 *     HR_EINVAL       400 — malformed or ambiguous
 *     HR_ERANGE       431 — a limit above was exceeded
 *     HR_EUNSUPPORTED 501 (unknown transfer coding), 505 (version other
 *                     than HTTP/1.0 or HTTP/1.1), 417 (Expect other than
 *                     100-continue)
 *
 * Rules (RFC 9112 unless noted): lines end in CRLF (bare LF or bare CR: 400);
 * method and field names are tokens; target is visible ASCII, origin-form,
 * absolute-form (http/https) or "*" for OPTIONS; version "HTTP/d.d";
 * no obs-fold and no whitespace before a colon; field values have no CTL
 * but HTAB; HTTP/1.1 needs exactly one Host (and 1.0 at most one);
 * Content-Length is digits, repeated only with the same value ("5, 5" ok);
 * Transfer-Encoding must end in a single "chunked" (else 400), may hold no
 * other coding (501), is not allowed on HTTP/1.0 or with Content-Length
 * (400). */
int http_parse_head(const char *buf, size_t len, const http_limits *lim,
                    http_request *req);

/* The first header named name (case-insensitive), or NULL. */
const http_header *http_request_header(const http_request *req, hr_str name);

/* ---- chunked bodies (RFC 9112 7.1) --------------------------------------- */

#define HTTP_CHUNK_SIZE_DIGITS_MAX 16   /* hex digits in a chunk size */
#define HTTP_CHUNK_EXT_MAX 4096         /* bytes of extensions on one line */
#define HTTP_CHUNK_EXT_TOTAL_MAX 65536  /* bytes of extensions in a body */
#define HTTP_CHUNK_TRAILER_MAX 16384    /* bytes of trailer section */

typedef struct {
  uint64_t body_max;  /* decoded bytes allowed in total (UINT64_MAX: no limit) */
  uint64_t body_len;  /* decoded bytes so far */
  int error_status;   /* on error: 400, 413 or 431 */
  const char *error_reason;
  /* private */
  uint64_t remaining; /* data bytes left in the current chunk, or the size
                         being read */
  uint32_t n_digits;
  uint32_t line_bytes; /* extension bytes on this line / trailer line bytes */
  uint32_t ext_total;
  uint32_t trailer_total;
  uint8_t state;
} http_chunked;

/* Readies st for a new body allowed body_max decoded bytes. */
void http_chunked_init(http_chunked *st, uint64_t body_max);

/* Decodes the next piece of a chunked body in place. buf[0..len) holds the
 * next received bytes of the body (continuing where the last call stopped).
 * On return the decoded data bytes of this call are in buf[0..*out_len)
 * (moved down; *out_len <= *consumed), and *consumed input bytes were used.
 *
 * Returns
 *   HR_OK      the body is complete (last chunk and trailers read); bytes
 *              buf[*consumed..len) belong to the next request.
 *   HR_EAGAIN  all len bytes were consumed; call again with more.
 *   < 0 other  bad body; st->error_status says what to answer:
 *     HR_EINVAL 400 (bad size, missing CRLF after data, bad extension or
 *               trailer, extensions too long), HR_ERANGE 413 (more than
 *               body_max) or 431 (trailer section too long).
 * After HR_OK or an error, further calls return the same result with
 * *consumed = *out_len = 0. */
int http_chunked_decode(http_chunked *st, char *buf, size_t len, size_t *consumed,
                        size_t *out_len);

#endif
