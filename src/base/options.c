/* options.c — one table, three sources. Each source applies over the
 * previous one, so the order of application is the precedence: file, then
 * environment, then flags. A list option given by a later source replaces
 * the earlier list instead of appending to it, so `-m x.gguf` on the command
 * line is not mixed with models named in the config file. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SRC_FILE, SRC_ENV, SRC_FLAG } source;

static const char *source_names[] = {"config file", "environment", "flag"};

static const hr_option *find_long(const hr_option *o, size_t n, const char *name, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(o[i].name) == len && memcmp(o[i].name, name, len) == 0) return &o[i];
  return NULL;
}

static const hr_option *find_short(const hr_option *o, size_t n, char c) {
  for (size_t i = 0; i < n; i++)
    if (o[i].short_name && o[i].short_name == c) return &o[i];
  return NULL;
}

/* Lists are a handful of items given once at start, so each push copies
 * the array into a new arena block rather than managing capacity. */
static int list_push(hr_arena *a, hr_opt_list *l, const char *v) {
  const char **items = hr_arena_alloc(a, (l->n + 1) * sizeof *items);
  char *copy = hr_arena_strndup(a, v, strlen(v));
  if (!items || !copy) return HR_ENOMEM;
  if (l->n) memcpy(items, l->items, l->n * sizeof *items);
  items[l->n] = copy;
  l->items = items;
  l->n++;
  return HR_OK;
}

/* Which list options a source has already reset, so a source's first value
 * replaces what came before and later values append. */
typedef struct {
  const hr_option *reset[32];
  size_t n;
  source src;
  hr_arena *arena; /* owns every string and list the options take */
} apply_state;

static int apply(apply_state *st, const hr_option *o, const char *value, char *err,
                 size_t err_len) {
  const char *src = source_names[st->src];
  switch (o->type) {
  case OPT_STR: {
    char *copy = hr_arena_strndup(st->arena, value, strlen(value));
    if (!copy) return HR_ENOMEM;
    *(const char **)o->target = copy;
    return HR_OK;
  }
  case OPT_INT: {
    errno = 0;
    char *end;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < o->min || v > o->max) {
      snprintf(err, err_len, "%s %s: expected an integer from %ld to %ld, got '%s'", src,
               o->name, o->min, o->max, value);
      return HR_EINVAL;
    }
    *(long *)o->target = v;
    return HR_OK;
  }
  case OPT_BOOL: {
    bool v;
    if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes") ||
        !strcmp(value, "on"))
      v = true;
    else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no") ||
             !strcmp(value, "off"))
      v = false;
    else {
      snprintf(err, err_len, "%s %s: expected true or false, got '%s'", src, o->name, value);
      return HR_EINVAL;
    }
    *(bool *)o->target = v;
    return HR_OK;
  }
  case OPT_LIST: {
    hr_opt_list *l = o->target;
    bool was_reset = false;
    for (size_t i = 0; i < st->n; i++) was_reset |= st->reset[i] == o;
    if (!was_reset) {
      l->n = 0;
      l->items = NULL;
      if (st->n < HR_ARRAY_LEN(st->reset)) st->reset[st->n++] = o;
    }
    return list_push(st->arena, l, value);
  }
  }
  return HR_EINVAL;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
  return s;
}

static int apply_file(hr_arena *a, const hr_option *opts, size_t n, const char *path,
                      char *err, size_t err_len) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, err_len, "config file %s: %s", path, strerror(errno));
    return HR_EIO;
  }
  apply_state st = {.src = SRC_FILE, .arena = a};
  char line[4096];
  int lineno = 0, rc = HR_OK;
  while (!rc && fgets(line, sizeof line, f)) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *s = trim(line);
    if (!*s) continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      snprintf(err, err_len, "config file %s:%d: expected 'key = value'", path, lineno);
      rc = HR_EINVAL;
      break;
    }
    *eq = 0;
    char *key = trim(s), *value = trim(eq + 1);
    const hr_option *o = find_long(opts, n, key, strlen(key));
    if (!o) {
      snprintf(err, err_len, "config file %s:%d: unknown option '%s'", path, lineno, key);
      rc = HR_EINVAL;
      break;
    }
    rc = apply(&st, o, value, err, err_len);
  }
  fclose(f);
  return rc;
}

static void env_name(const char *name, char *out, size_t out_len) {
  size_t j = snprintf(out, out_len, "HEARTH_");
  for (size_t i = 0; name[i] && j + 1 < out_len; i++)
    out[j++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
  out[j] = 0;
}

static int apply_env(hr_arena *a, const hr_option *opts, size_t n, char *err, size_t err_len) {
  apply_state st = {.src = SRC_ENV, .arena = a};
  for (size_t i = 0; i < n; i++) {
    char name[96];
    env_name(opts[i].name, name, sizeof name);
    const char *v = getenv(name);
    if (!v) continue;
    if (opts[i].type != OPT_LIST) {
      int rc = apply(&st, &opts[i], v, err, err_len);
      if (rc) return rc;
      continue;
    }
    char *copy = strdup(v), *save = NULL;
    if (!copy) return HR_ENOMEM;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      int rc = apply(&st, &opts[i], trim(tok), err, err_len);
      if (rc) {
        free(copy);
        return rc;
      }
    }
    free(copy);
  }
  return HR_OK;
}

/* Finds --config/HEARTH_CONFIG before anything else is applied. */
static const char *config_path(int argc, char **argv) {
  const char *path = getenv("HEARTH_CONFIG");
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "--config") && i + 1 < argc) path = argv[i + 1];
    else if (!strncmp(argv[i], "--config=", 9)) path = argv[i] + 9;
  }
  return path;
}

int hr_options_parse(hr_arena *a, const hr_option *opts, size_t n, int argc, char **argv,
                     hr_opt_list *positional, bool *help_wanted, char *err, size_t err_len) {
  *help_wanted = false;
  const char *cfg = config_path(argc, argv);
  int rc;
  if (cfg && (rc = apply_file(a, opts, n, cfg, err, err_len))) return rc;
  if ((rc = apply_env(a, opts, n, err, err_len))) return rc;

  apply_state st = {.src = SRC_FLAG, .arena = a};
  bool only_positional = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (only_positional || a[0] != '-' || a[1] == 0) {
      if (!positional) {
        snprintf(err, err_len, "unexpected argument '%s'", a);
        return HR_EINVAL;
      }
      if ((rc = list_push(st.arena, positional, argv[i]))) return rc;
      continue;
    }
    if (!strcmp(a, "--")) {
      only_positional = true;
      continue;
    }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      *help_wanted = true;
      continue;
    }
    const hr_option *o;
    const char *value = NULL;
    if (a[1] == '-') {
      const char *name = a + 2, *eq = strchr(name, '=');
      size_t len = eq ? (size_t)(eq - name) : strlen(name);
      if (len == 6 && !memcmp(name, "config", 6)) {
        if (!eq) i++; /* its value was read by config_path */
        continue;
      }
      o = find_long(opts, n, name, len);
      if (!o && len > 3 && !memcmp(name, "no-", 3)) {
        const hr_option *neg = find_long(opts, n, name + 3, len - 3);
        if (neg && neg->type == OPT_BOOL && !eq) {
          *(bool *)neg->target = false;
          continue;
        }
      }
      if (!o) {
        snprintf(err, err_len, "unknown option '--%.*s' (see --help)", (int)len, name);
        return HR_EINVAL;
      }
      if (eq) value = eq + 1;
    } else {
      o = a[2] == 0 ? find_short(opts, n, a[1]) : NULL;
      if (!o) {
        snprintf(err, err_len, "unknown option '%s' (see --help)", a);
        return HR_EINVAL;
      }
    }
    if (!value) {
      if (o->type == OPT_BOOL) value = "true";
      else if (i + 1 < argc) value = argv[++i];
      else {
        snprintf(err, err_len, "option --%s needs a value", o->name);
        return HR_EINVAL;
      }
    }
    if ((rc = apply(&st, o, value, err, err_len))) return rc;
  }
  return HR_OK;
}

void hr_options_help(FILE *f, const hr_option *opts, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const hr_option *o = &opts[i];
    char flag[64], env[96], def[64] = "";
    const char *arg = o->type == OPT_INT ? " N" : o->type == OPT_BOOL ? "" : " VALUE";
    if (o->short_name) snprintf(flag, sizeof flag, "-%c, --%s%s", o->short_name, o->name, arg);
    else snprintf(flag, sizeof flag, "    --%s%s", o->name, arg);
    env_name(o->name, env, sizeof env);
    switch (o->type) {
    case OPT_STR:
      if (*(const char **)o->target) snprintf(def, sizeof def, " (default %s)", *(const char **)o->target);
      break;
    case OPT_INT: snprintf(def, sizeof def, " (default %ld)", *(long *)o->target); break;
    case OPT_BOOL: snprintf(def, sizeof def, " (default %s)", *(bool *)o->target ? "on" : "off"); break;
    case OPT_LIST: break;
    }
    fprintf(f, "  %-28s %s%s [%s]\n", flag, o->help, def, env);
  }
  fprintf(f, "  %-28s %s [HEARTH_CONFIG]\n", "    --config FILE",
          "read options from FILE (key = value lines)");
}

int hr_options_command(const char *name, const char *usage, const hr_option *opts,
                       size_t n_opts, int argc, char **argv, hr_opt_list *positional,
                       int (*run)(void *ctx), void *ctx) {
  hr_arena *a = hr_arena_new(4096);
  if (!a) return 1;
  char err[512];
  bool help;
  int rc = 2;
  if (hr_options_parse(a, opts, n_opts, argc, argv, positional, &help, err, sizeof err)) {
    fprintf(stderr, "hearth %s: %s\n", name, err);
  } else if (help) {
    printf("usage: %s\n\n", usage);
    hr_options_help(stdout, opts, n_opts);
    rc = 0;
  } else {
    rc = run(ctx);
  }
  hr_arena_free(a);
  return rc;
}
