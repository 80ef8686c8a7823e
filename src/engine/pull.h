/* pull.h — the model store's own business: how `hearth pull` names a
 * download and reads the hub's answer. Internal to src/engine (pull.c,
 * models_cli.c and their unit test); the commands themselves are declared
 * in engine.h.
 *
 * Sources: `hf:OWNER/REPO/PATH[@REVISION]` is the Hugging Face hub's
 * resolve URL, {endpoint}/OWNER/REPO/resolve/REVISION/PATH (REVISION
 * defaults to main; endpoint is HF_ENDPOINT or https://huggingface.co);
 * `http://...` and `https://...` are taken as they are. The stored name is
 * the last path segment without `.gguf`.
 *
 * Hashes: for a file kept in LFS or Xet the hub answers the resolve request
 * with a redirect to its CDN and puts the file's sha256 in X-Linked-Etag
 * (quoted hex); a small file kept in git itself is answered directly and its
 * ETag is the git blob sha1 (40 hex), which is not a content hash. So only
 * a 64-hex-digit value is taken as a sha256. */
#ifndef HEARTH_ENGINE_PULL_H
#define HEARTH_ENGINE_PULL_H

#include "../base/base.h"

#define PULL_DEFAULT_ENDPOINT "https://huggingface.co"
#define PULL_NAME_MAX 200

typedef struct {
  const char *url;  /* what to GET */
  const char *name; /* stored as <models dir>/<name>.gguf */
  bool is_hub;      /* an hf: source: the first answer's ETag may be the sha256 */
} pull_source;

/* Parses spec into *out; strings live in a. endpoint NULL: the default.
 * HR_EINVAL with a message for a malformed spec. */
int pull_source_parse(hr_arena *a, const char *spec, const char *endpoint, pull_source *out,
                      char *err, size_t err_len);

/* True when name can be a file stem in the models directory: 1..200 bytes,
 * no '/', no control bytes, not starting with '.'. */
bool pull_name_ok(const char *name);

/* Writes the 64 lowercase hex digits of an ETag-style value (`"hex"`,
 * `W/"hex"` or bare hex, surrounding blanks ignored) into out and returns
 * true, or returns false when the value is not a sha256. */
bool pull_etag_sha256(const char *value, size_t len, char out[65]);

/* "1.2 MB", "734 kB", "3.41 GB": decimal units, as download sizes are. */
void pull_format_bytes(uint64_t n, char *out, size_t out_len);

#endif
