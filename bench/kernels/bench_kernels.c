/* bench_kernels.c — single-thread matrix-times-vector speed per weight type
 * and per kernel path, in GB/s of weights streamed, next to this machine's
 * single-thread memory read bandwidth (the ceiling for decode).
 *
 * Build and run (after `make`, which builds build/libhearth.a):
 *   cc -O2 -std=c17 -D_GNU_SOURCE -o build/bench_kernels bench/kernels/bench_kernels.c \
 *      build/libhearth.a $(pkg-config --libs libuv sqlite3 libcrypto) -lm -pthread
 *   ./build/bench_kernels            # every type, every path this CPU has
 *   ./build/bench_kernels q4_0 q4_K  # some types
 * or bench/kernels/run.sh.
 *
 * The matrix is 2048 x 5632 (an FFN down projection of a 1B model). "hot"
 * repeats one matrix (it may sit in L2/L3); "cold" walks copies of it
 * totalling COLD_BYTES (1 GiB, more than the L3 this VM reports), so
 * weights come from DRAM as they do in a real decode step. Prefill: kern_matmul with 32 activation rows, in GOP/s
 * (2 ops per weight per activation row). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/base/base.h"
#include "../../src/engine/kernels.h"

enum { ROWS = 2048, COLS = 5632, NX = 32 };
#define COLD_BYTES ((size_t)1024 << 20)
#define MIN_NS 150000000ull

static uint64_t rng = 88172645463325252ull;
static float rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (float)((int64_t)(rng >> 11) - (1ll << 52)) / (float)(1ll << 52);
}

/* Single-thread read bandwidth: sum the buffer in 16-byte vectors with
 * independent accumulators (GCC vector extension; plain SSE2 loads suffice
 * to saturate one core's memory path). Median of 5 passes. */
typedef uint64_t u64x2 __attribute__((vector_size(16)));
static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double mem_read_gbs(const uint64_t *buf, size_t words) {
  double gbs[5];
  volatile uint64_t sink = 0;
  const u64x2 *v = (const u64x2 *)buf;
  size_t nv = words / 2;
  for (int rep = 0; rep < 5; rep++) {
    uint64_t t0 = hr_now_ns();
    u64x2 s0 = {0, 0}, s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 4 <= nv; i += 4) {
      s0 += v[i];
      s1 += v[i + 1];
      s2 += v[i + 2];
      s3 += v[i + 3];
    }
    uint64_t t1 = hr_now_ns();
    u64x2 s = s0 + s1 + s2 + s3;
    sink += s[0] + s[1];
    gbs[rep] = (double)nv * 16 / (double)(t1 - t0);
  }
  (void)sink;
  qsort(gbs, 5, sizeof gbs[0], cmp_dbl);
  return gbs[2];
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Runs matvec over the copies round-robin for at least MIN_NS. Hot (one
 * copy): GB/s of the fastest pass, the one nobody interrupted on a shared
 * machine. Cold: the median pass, robust both to interruptions and to the
 * odd pass whose copy was still in a (large) L3. */
static double time_matvec(const kernel_table *k, tensor_type t, uint8_t *W, int copies,
                          size_t wbytes, const void *xq, float *y) {
  enum { MAX_PASSES = 4096 };
  static uint64_t ns[MAX_PASSES];
  uint64_t start = hr_now_ns();
  int iters = 0;
  do {
    const uint8_t *m = W + (size_t)(iters % copies) * wbytes;
    uint64_t t0 = hr_now_ns();
    kern_matvec_on(k, t, m, ROWS, COLS, xq, y, 0, ROWS);
    ns[iters++] = hr_now_ns() - t0;
  } while ((hr_now_ns() - start < MIN_NS || iters < 5) && iters < MAX_PASSES);
  qsort(ns, (size_t)iters, sizeof ns[0], cmp_u64);
  return (double)wbytes / (double)(copies > 1 ? ns[iters / 2] : ns[0]);
}

/* Prefill: NX activation rows through kern_matmul with table k; GOP/s of
 * the fastest pass. */
static double time_matmul(const kernel_table *k, tensor_type t, const uint8_t *W,
                          const uint8_t *X, size_t xb, float *Y) {
  uint64_t start = hr_now_ns(), best = UINT64_MAX;
  long iters = 0;
  do {
    uint64_t t0 = hr_now_ns();
    kern_matmul_on(k, t, W, ROWS, COLS, X, xb, NX, Y, ROWS, 0, ROWS);
    uint64_t dt = hr_now_ns() - t0;
    if (dt < best) best = dt;
    iters++;
  } while (hr_now_ns() - start < MIN_NS || iters < 2);
  return 2.0 * ROWS * COLS * NX / (double)best;
}

int main(int argc, char **argv) {
  static const tensor_type types[] = {TT_F32,  TT_F16,  TT_BF16, TT_Q8_0, TT_Q4_0,
                                      TT_Q4_1, TT_Q5_0, TT_Q5_1, TT_Q2_K, TT_Q3_K,
                                      TT_Q4_K, TT_Q5_K, TT_Q6_K};
  kernels_init();
  uint64_t *mem = malloc(COLD_BYTES);
  if (!mem) return 1;
  for (size_t i = 0; i < COLD_BYTES / 8; i++) mem[i] = i * 0x9e3779b97f4a7c15ull;
  printf("memory read bandwidth, 1 thread: %.1f GB/s (%zu MiB buffer)\n",
         mem_read_gbs(mem, COLD_BYTES / 8), COLD_BYTES >> 20);
  printf("matvec %d x %d, 1 thread, GB/s of weights (hot = one matrix repeated, cold = "
         "%zu MiB of copies)\n",
         ROWS, COLS, COLD_BYTES >> 20);
  printf("%-6s %-7s %8s %8s %8s %12s\n", "type", "path", "MiB", "hot", "cold", "prefill GOP/s");

  float *f = malloc(sizeof(float) * COLS * 64), *y = malloc(sizeof(float) * ROWS);
  float *Y = malloc(sizeof(float) * ROWS * NX);
  for (int i = 0; i < COLS * 64; i++) f[i] = rnd() * 0.05f;
  for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
    tensor_type t = types[ti];
    const char *name = tensor_type_get(t).name;
    if (argc > 1) {
      int want = 0;
      for (int a = 1; a < argc; a++) want |= !strcmp(argv[a], name);
      if (!want) continue;
    }
    const kern_type_ops *ro = &kernels_for_isa(KERN_ISA_REF)->types[t];
    size_t rb = quant_row_bytes(t, COLS), wbytes = rb * ROWS;
    int copies = (int)(COLD_BYTES / wbytes);
    if (copies < 1) copies = 1;
    /* the cold copies reuse the big buffer: 64 distinct rows, tiled */
    uint8_t *W = (uint8_t *)mem;
    for (int r = 0; r < 64; r++) ro->quantize(f + (size_t)r * COLS, W + r * rb, COLS);
    for (size_t off = 64 * rb; off + 64 * rb <= (size_t)copies * wbytes; off += 64 * rb)
      memcpy(W + off, W, 64 * rb);
    size_t xb = quant_row_bytes(ro->vec_dot_type, COLS);
    uint8_t *X = malloc(xb * NX);
    for (int j = 0; j < NX; j++) ro->from_float(f + (size_t)j * COLS, X + j * xb, COLS);
    for (int isa = KERN_ISA_REF; isa < KERN_ISA_COUNT; isa++) {
      const kernel_table *k = kernels_for_isa((kern_isa)isa);
      if (!k) continue;
      double hot = time_matvec(k, t, W, 1, wbytes, X, y);
      double cold = time_matvec(k, t, W, copies, wbytes, X, y);
      /* the plain-C path is too slow to time prefill in a short run */
      double mm = isa == KERN_ISA_REF ? 0 : time_matmul(k, t, W, X, xb, Y);
      printf("%-6s %-7s %8.2f %8.2f %8.2f ", name, k->name, wbytes / 1048576.0, hot, cold);
      if (isa == KERN_ISA_REF) printf("%12s\n", "-");
      else printf("%12.1f\n", mm);
      fflush(stdout);
    }
    free(X);
  }
  free(f), free(y), free(Y), free(mem);
  return 0;
}
