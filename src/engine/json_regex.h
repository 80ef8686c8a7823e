/* json_regex.h — JSON Schema's "pattern" for the response_format automaton
 * (json_constraint.h): a regular expression compiled into a position
 * automaton (Glushkov's construction: one state per character class in
 * the expression, no empty moves), small enough that the set of live
 * states is one 64-bit word in a frame.
 *
 * The subset: literals (UTF-8 bytes match themselves), '.', classes
 * [a-z0-9_] and [^...], \d \w \s and their negations, escaped
 * metacharacters, \t \n, groups (...) and (?:...), alternation |,
 * quantifiers * + ? {n} {n,} {n,m} (a lazy '?' after them changes nothing
 * here), '^' at the start and '$' at the end. A pattern without '^' or '$'
 * matches anywhere in the string, as JSON Schema says.
 *
 * What the model may write is narrower than what the pattern matches,
 * never wider: '.', negated classes and \D \W \S stand for printable ASCII
 * only, and '"', '\' and control characters are never generated (they
 * would need JSON escapes), so every string the automaton closes matches
 * the pattern read as ECMAScript does. Backreferences, lookarounds and
 * anything else are refused. */
#ifndef HEARTH_ENGINE_JSON_REGEX_H
#define HEARTH_ENGINE_JSON_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/base.h"

#define JR_POSITIONS_MAX 63 /* character classes after {n,m} is unrolled */

typedef struct {
  int n;                   /* positions, 1..n; 0 is the start */
  uint64_t first;          /* positions a match can begin with */
  uint64_t last;           /* positions a match can end with */
  bool nullable;           /* the empty string matches */
  uint64_t follow[JR_POSITIONS_MAX + 1];
  uint64_t by_byte[256];   /* positions whose class holds the byte */
} jr_prog;

/* Compiles pattern[0..len) into *out. HR_EINVAL with a message in err. */
int jr_compile(const char *pattern, size_t len, jr_prog *out, char *err, size_t err_len);

/* The live positions after reading byte c from set (1 = only the start);
 * 0: the text can no longer match. */
static inline uint64_t jr_step(const jr_prog *p, uint64_t set, uint8_t c) {
  uint64_t next = 0;
  for (uint64_t m = set; m; m &= m - 1) next |= p->follow[__builtin_ctzll(m)];
  return next & p->by_byte[c];
}
/* Whether the text read so far matches. */
static inline bool jr_matches(const jr_prog *p, uint64_t set) {
  return (set & p->last) || ((set & 1) && p->nullable);
}

#endif
