/* json_format.h — JSON Schema's "format" for the response_format
 * automaton (json_constraint.h): date, time, date-time (RFC 3339) and uuid,
 * read byte by byte inside a string.
 *
 * The automaton only has to accept a subset of each format's texts, never
 * more, so it takes one canonical spelling: date YYYY-MM-DD with the days
 * each month has (leap years too); time hh:mm:ss, an optional fraction of
 * 1-9 digits, then Z or an offset ±hh:mm; date-time a date, T, a time;
 * uuid 8-4-4-4-12 hex digits. Every text it accepts passes the strict
 * readings of these formats (Ajv's "full" mode, Python's fromisoformat). */
#ifndef HEARTH_ENGINE_JSON_FORMAT_H
#define HEARTH_ENGINE_JSON_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { JF_NONE, JF_DATE, JF_TIME, JF_DATE_TIME, JF_UUID } jf_kind;

typedef struct {
  uint16_t pos;  /* bytes read */
  uint16_t year;
  uint8_t month;
  uint8_t first; /* the first digit of the two-digit field being read */
  uint8_t nfrac; /* fraction digits */
} jf_state;

/* The format a JSON Schema names (name[0..len)), or JF_NONE when it is
 * not one of these. */
jf_kind jf_lookup(const char *name, size_t len);
/* Reads byte c (of the string's content); false when the format refuses it. */
bool jf_step(jf_kind k, jf_state *s, uint8_t c);
/* Whether the text so far is a whole value of the format. */
bool jf_complete(jf_kind k, const jf_state *s);

#endif
