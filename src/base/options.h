/* options.h — command-line flags, HEARTH_* environment variables and a
 * config file, read through one table per command. Precedence: flag >
 * environment > config file > built-in default.
 *
 * Config file format: one `key = value` per line, `#` starts a comment,
 * keys are the long flag names (`io-threads = 2`); a list option repeats
 * its key. Environment: HEARTH_ + the name upper-cased with '-' as '_'
 * (HEARTH_IO_THREADS=2); a list option takes a comma-separated value. */
#ifndef HEARTH_OPTIONS_H
#define HEARTH_OPTIONS_H

#include "base.h"

#include <stdio.h>

typedef enum { OPT_STR, OPT_INT, OPT_BOOL, OPT_LIST } hr_opt_type;

/* A list option's values; the array and strings live in the arena given to
 * hr_options_parse. */
typedef struct {
  const char **items;
  size_t n;
} hr_opt_list;

typedef struct {
  const char *name; /* long flag without dashes, config key, env suffix */
  char short_name;  /* 0 if none */
  hr_opt_type type;
  void *target;     /* const char **, long *, bool *, hr_opt_list *; strings
                       and lists set by the parser live in its arena */
  const char *help;
  long min, max;    /* OPT_INT bounds */
} hr_option;

/* Fills targets (which hold their defaults on entry). argv[0] is the first
 * argument after the command name. Positional arguments are collected into
 * *positional (may be NULL if none are allowed). `--config FILE` and
 * HEARTH_CONFIG name the config file. `--help` sets *help_wanted.
 * Returns 0 or HR_EINVAL with a message naming the option and the source. */
int hr_options_parse(hr_arena *a, const hr_option *opts, size_t n_opts, int argc, char **argv,
                     hr_opt_list *positional, bool *help_wanted, char *err, size_t err_len);

/* The usual shape of a subcommand: parse (strings in an arena that lives
 * through run), answer --help with usage and the option list, report a bad
 * option as "hearth NAME: ..." with status 2, else return run(ctx). */
int hr_options_command(const char *name, const char *usage, const hr_option *opts,
                       size_t n_opts, int argc, char **argv, hr_opt_list *positional,
                       int (*run)(void *ctx), void *ctx);

/* Prints one line per option with its flag, env name and help. */
void hr_options_help(FILE *f, const hr_option *opts, size_t n_opts);

#endif
