/* membw.c — the machine's memory read bandwidth, the bound of token
 * generation (every weight is read once per token). Threads each sum their
 * share of a buffer far larger than the caches; the best of several passes
 * is reported in GB/s. Build: cc -O2 -march=native -pthread membw.c */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <immintrin.h>

#define BYTES (1ull << 30)

typedef struct {
  const __m256i *p;
  size_t n;
  long long sink;
} part;

static void *reader(void *arg) {
  part *t = arg;
  __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  for (size_t i = 0; i + 4 <= t->n; i += 4) {
    acc0 = _mm256_xor_si256(acc0, _mm256_load_si256(t->p + i));
    acc1 = _mm256_xor_si256(acc1, _mm256_load_si256(t->p + i + 1));
    acc2 = _mm256_xor_si256(acc2, _mm256_load_si256(t->p + i + 2));
    acc3 = _mm256_xor_si256(acc3, _mm256_load_si256(t->p + i + 3));
  }
  __m256i a = _mm256_xor_si256(_mm256_xor_si256(acc0, acc1), _mm256_xor_si256(acc2, acc3));
  t->sink = _mm256_extract_epi64(a, 0);
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (threads < 1 || threads > 64) threads = 2;
  __m256i *buf = aligned_alloc(64, BYTES);
  if (!buf) return 1;
  memset(buf, 1, BYTES);
  size_t n = BYTES / sizeof(__m256i);
  double best = 0;
  for (int pass = 0; pass < 5; pass++) {
    pthread_t th[64];
    part parts[64];
    double t0 = now();
    for (int i = 0; i < threads; i++) {
      parts[i] = (part){buf + n / threads * i, n / threads, 0};
      pthread_create(&th[i], NULL, reader, &parts[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    double gbs = BYTES / (now() - t0) / 1e9;
    if (gbs > best) best = gbs;
  }
  printf("%.2f\n", best);
  free(buf);
  return 0;
}
