/* bench/json/floats.c — ns per float of the JSON writer's shortest
 * round-trip floats (an embedding is 384 or more of them per vector),
 * beside libc: the same shortest text from snprintf("%.*g") with strtof
 * checking each digit count, and plain snprintf("%.9g") (9 digits always
 * read back, but are not the shortest). Values shaped like a normalized
 * embedding's (sums of uniforms, |v| mostly below 0.2), best of 20 runs.
 * The values go to /tmp/hearth_bench_floats.f32 for bench/json/floats.js,
 * which times Node's JSON.stringify on them (a gateway's way: doubles'
 * shortest text, so longer).
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -o /tmp/bench_floats bench/json/floats.c \
 *      src/json/json*.c src/base/arena.c src/base/base.c -lm -pthread
 *   /tmp/bench_floats && node bench/json/floats.js */
#include "../../src/json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { DIMS = 384, VECTORS = 64, N = DIMS * VECTORS, RUNS = 20 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float values[N];

typedef void (*writer_fn)(hr_buf *b);

static void json_one_by_one(hr_buf *b) {
  json_writer w;
  json_w_init(&w, b);
  for (int v = 0; v < VECTORS; v++) {
    json_w_arr_begin(&w);
    for (int d = 0; d < DIMS; d++) json_w_float(&w, values[v * DIMS + d]);
    json_w_arr_end(&w);
  }
  json_w_finish(&w);
}

static void json_arrays(hr_buf *b) {
  json_writer w;
  json_w_init(&w, b);
  for (int v = 0; v < VECTORS; v++) json_w_floats(&w, values + v * DIMS, DIMS);
  json_w_finish(&w);
}

static void libc_shortest(hr_buf *b) {
  char t[48];
  for (int i = 0; i < N; i++) {
    int n = 0;
    for (int p = 1; p <= 9; p++) {
      n = snprintf(t, sizeof t, "%.*g", p, (double)values[i]);
      if (p == 9 || strtof(t, NULL) == values[i]) break;
    }
    hr_buf_append(b, t, (size_t)n);
    hr_buf_putc(b, ',');
  }
}

static void libc_9_digits(hr_buf *b) {
  for (int i = 0; i < N; i++) hr_buf_appendf(b, "%.9g,", (double)values[i]);
}

static double ns_per_float(writer_fn fn, size_t *bytes) {
  double best = 1e9;
  for (int r = 0; r < RUNS; r++) {
    hr_buf b = HR_BUF_INIT;
    double t0 = now();
    fn(&b);
    double t = now() - t0;
    if (t < best) best = t;
    *bytes = b.len;
    hr_buf_free(&b);
  }
  return best / N * 1e9;
}

int main(void) {
  srand(1);
  for (int i = 0; i < N; i++) {
    double g = 0;
    for (int k = 0; k < 12; k++) g += rand() / (double)RAND_MAX;
    values[i] = (float)((g - 6) * 0.05);
  }
  FILE *f = fopen("/tmp/hearth_bench_floats.f32", "wb");
  if (!f || fwrite(values, sizeof values, 1, f) != 1 || fclose(f)) perror("/tmp/hearth_bench_floats.f32");
  struct {
    const char *name;
    writer_fn fn;
  } cases[] = {{"json_w_floats (arrays, in place)", json_arrays},
               {"json_w_float (one by one)", json_one_by_one},
               {"libc shortest (snprintf %.*g + strtof)", libc_shortest},
               {"libc %.9g (not shortest)", libc_9_digits}};
  double base = 0;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    size_t bytes;
    double ns = ns_per_float(cases[c].fn, &bytes);
    if (c == 0) base = ns;
    printf("%-42s %6.1f ns/float  %5.1f us per %d  %5.2f bytes/float  %5.2fx\n", cases[c].name, ns,
           ns * DIMS / 1000, DIMS, (double)bytes / N, ns / base);
  }
  return 0;
}
