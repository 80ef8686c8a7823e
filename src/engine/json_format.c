/* json_format.c — see json_format.h. Each format is a template of byte
 * classes; a time's fraction and offset follow its template. */
#include "json_format.h"

#include <string.h>

/* Template classes: y year digit, M m month, D d day, H h hour, S s a
 * minute's or second's two digits, x hex; anything else is itself. */
static const char *template_of(jf_kind k) {
  switch (k) {
  case JF_DATE: return "yyyy-Mm-Dd";
  case JF_TIME: return "Hh:Ss:Ss";
  case JF_DATE_TIME: return "yyyy-Mm-DdTHh:Ss:Ss";
  case JF_UUID: return "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
  default: return "";
  }
}

jf_kind jf_lookup(const char *name, size_t len) {
  static const struct {
    const char *name;
    jf_kind kind;
  } known[] = {{"date", JF_DATE}, {"time", JF_TIME}, {"date-time", JF_DATE_TIME}, {"uuid", JF_UUID}};
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    if (strlen(known[i].name) == len && !memcmp(name, known[i].name, len)) return known[i].kind;
  return JF_NONE;
}

static int days_in(unsigned year, unsigned month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return month == 2 && leap ? 29 : days[(month - 1) % 12];
}

static bool is_hex(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Whether c fits template class cls here, remembering what later classes
 * need (the year and month for the day, a pair's first digit). */
static bool fits(char cls, jf_state *s, uint8_t c) {
  bool digit = c >= '0' && c <= '9';
  unsigned d = (unsigned)(c - '0');
  switch (cls) {
  case 'y':
    if (!digit) return false;
    s->year = (uint16_t)(s->year * 10 + d);
    return true;
  case 'M':
    if (c != '0' && c != '1') return false;
    s->first = (uint8_t)d;
    return true;
  case 'm':
    if (!digit || (s->first == 0 && d == 0) || (s->first == 1 && d > 2)) return false;
    s->month = (uint8_t)(s->first * 10 + d);
    return true;
  case 'D':
    if (!digit || (int)d * 10 > days_in(s->year, s->month)) return false;
    s->first = (uint8_t)d;
    return true;
  case 'd': {
    unsigned day = s->first * 10u + d;
    return digit && day >= 1 && (int)day <= days_in(s->year, s->month);
  }
  case 'H':
    if (c < '0' || c > '2') return false;
    s->first = (uint8_t)d;
    return true;
  case 'h': return digit && (s->first < 2 || d <= 3);
  case 'S': return c >= '0' && c <= '5';
  case 's': return digit;
  case 'x': return is_hex(c);
  default: return (uint8_t)cls == c;
  }
}

/* Past a time's seconds (at L): '.' and 1-9 digits (L+1, L+2), then 'Z'
 * or an offset "+hh:mm" (L+3 .. L+7); L+8 is the end. */
#define TAIL_FRAC 1
#define TAIL_FRAC_DIGITS 2
#define TAIL_OFFSET 3
#define TAIL_END 8

bool jf_step(jf_kind k, jf_state *s, uint8_t c) {
  const char *t = template_of(k);
  size_t len = strlen(t);
  if (s->pos < len) {
    if (!fits(t[s->pos], s, c)) return false;
    s->pos++;
    return true;
  }
  if (k != JF_TIME && k != JF_DATE_TIME) return false;
  size_t p = s->pos - len;
  if (p == 0 && c == '.') {
    s->pos = (uint16_t)(len + TAIL_FRAC);
    return true;
  }
  if ((p == TAIL_FRAC || p == TAIL_FRAC_DIGITS) && c >= '0' && c <= '9') {
    if (++s->nfrac > 9) return false;
    s->pos = (uint16_t)(len + TAIL_FRAC_DIGITS);
    return true;
  }
  if (p == 0 || p == TAIL_FRAC_DIGITS) { /* the offset */
    if (c == 'Z') s->pos = (uint16_t)(len + TAIL_END);
    else if (c == '+' || c == '-') s->pos = (uint16_t)(len + TAIL_OFFSET);
    else return false;
    return true;
  }
  if (p >= TAIL_OFFSET && p < TAIL_END) {
    if (!fits("Hh:Ss"[p - TAIL_OFFSET], s, c)) return false;
    s->pos++;
    return true;
  }
  return false;
}

bool jf_complete(jf_kind k, const jf_state *s) {
  size_t len = strlen(template_of(k));
  return s->pos == (k == JF_TIME || k == JF_DATE_TIME ? len + TAIL_END : len);
}
