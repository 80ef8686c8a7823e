/* cpu.c — which SIMD paths this CPU and its OS can run, asked once via
 * cpuid and xgetbv (the OS must save the wide registers, or using them
 * faults even when cpuid advertises them). Non-x86 builds report none.
 * Also the size of the last-level cache, from sysfs. */
#include "kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t cpu_cache_size_parse(const char *text) {
  char *end;
  unsigned long long v = strtoull(text, &end, 10);
  if (end == text) return 0;
  switch (*end) {
  case 'K': v <<= 10; break;
  case 'M': v <<= 20; break;
  case 'G': v <<= 30; break;
  default: break;
  }
  return (size_t)v;
}

/* sysfs rather than sysconf(_SC_LEVEL3_CACHE_SIZE): glibc computes the
 * latter from cpuid leaves that hypervisors fill loosely (an EPYC guest
 * whose sysfs says 32 MB got 320 MB from it). */
size_t cpu_llc_bytes(void) {
  size_t best = 0;
  int best_level = 0;
  for (int i = 0; i < 8; i++) {
    char path[96], buf[32];
    int level = 0;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
    FILE *f = fopen(path, "r");
    if (!f) break;
    if (fgets(buf, sizeof buf, f)) level = atoi(buf);
    fclose(f);
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    f = fopen(path, "r");
    if (!f) continue;
    size_t size = fgets(buf, sizeof buf, f) ? cpu_cache_size_parse(buf) : 0;
    fclose(f);
    if (level > best_level && size) best = size, best_level = level;
  }
  return best;
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t)hi << 32 | lo;
}

typedef struct {
  int avx2, avx512, amx_int8, amx_bf16;
} cpu_caps;

static cpu_caps cpu_detect(void) {
  cpu_caps c = {0, 0, 0, 0};
  unsigned a, b, cx, d;
  if (!__get_cpuid(1, &a, &b, &cx, &d)) return c;
  int osxsave = (cx >> 27) & 1, fma = (cx >> 12) & 1, f16c = (cx >> 29) & 1;
  int avx = (cx >> 28) & 1;
  if (!osxsave || !avx) return c;
  uint64_t xcr0 = xgetbv0();
  int ymm_os = (xcr0 & 0x6) == 0x6;           /* SSE + AVX state */
  int zmm_os = ymm_os && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM hi256, hi16 */
  if (__get_cpuid_max(0, NULL) < 7) return c;
  __cpuid_count(7, 0, a, b, cx, d);
  int avx2 = (b >> 5) & 1;
  int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
  int vnni = (cx >> 11) & 1;
  c.avx2 = ymm_os && avx2 && fma && f16c;
  c.avx512 = c.avx2 && zmm_os && f && dq && bw && vl && vnni;
  int amx_tile = (d >> 24) & 1, amx_int8 = (d >> 25) & 1, amx_bf16 = (d >> 22) & 1;
  int tiles_os = (xcr0 & 0x60000) == 0x60000; /* XTILECFG, XTILEDATA */
  c.amx_int8 = c.avx512 && amx_tile && amx_int8 && tiles_os;
  c.amx_bf16 = c.amx_int8 && amx_bf16;
  return c;
}

int cpu_has_avx2(void) { return cpu_detect().avx2; }
int cpu_has_avx512(void) { return cpu_detect().avx512; }
int cpu_has_amx_int8(void) { return cpu_detect().amx_int8; }
int cpu_has_amx_bf16(void) { return cpu_detect().amx_bf16; }
#else
int cpu_has_avx2(void) { return 0; }
int cpu_has_avx512(void) { return 0; }
int cpu_has_amx_int8(void) { return 0; }
int cpu_has_amx_bf16(void) { return 0; }
#endif
