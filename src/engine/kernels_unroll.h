/* kernels_unroll.h — UNROLL(n) before a loop of a kernel's tile unrolls it
 * whole, so that the tile's sums stay in registers. Every such loop's trip
 * count is a constant (at most n) once the tile is inlined into its
 * caller's switch case. GCC is given the count; clang gets `#pragma clang
 * loop unroll(full)`, because it reads `GCC unroll 12` as "by 12" and left
 * a loop of 8 rolled, with the sums in memory (MiniLM F32 16 tokens: 3x
 * slower than GCC's build). A kernel file compiled with a sanitizer skips
 * unrolling: instrumenting the unrolled tiles takes clang minutes per file
 * (the Makefile's sanitized builds compile the kernel files without
 * instrumentation, so they unroll). */
#ifndef HEARTH_ENGINE_KERNELS_UNROLL_H
#define HEARTH_ENGINE_KERNELS_UNROLL_H

#if defined(__SANITIZE_ADDRESS__)
#define HEARTH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEARTH_SANITIZED 1
#endif
#endif

#define UNROLL_PRAGMA_(x) _Pragma(#x)
#if defined(HEARTH_SANITIZED)
#define UNROLL(n)
#elif defined(__clang__)
#define UNROLL(n) UNROLL_PRAGMA_(clang loop unroll(full))
#else
#define UNROLL(n) UNROLL_PRAGMA_(GCC unroll n)
#endif

/* The float gemm files' tilef(t, n, W, rb, NR, Xj, xs, nj, Y, ldy), with
 * their runtime nj (1-4 activation rows) made a constant so that the
 * tile's loops over it unroll whole too; it reads those names from the
 * caller. */
#define TILEF_NJ(NR, Wt, Yt_)                                     \
  do {                                                            \
    switch (nj) {                                                 \
    case 1: tilef(t, n, Wt, rb, NR, Xj, xs, 1, Yt_, ldy); break;  \
    case 2: tilef(t, n, Wt, rb, NR, Xj, xs, 2, Yt_, ldy); break;  \
    case 3: tilef(t, n, Wt, rb, NR, Xj, xs, 3, Yt_, ldy); break;  \
    default: tilef(t, n, Wt, rb, NR, Xj, xs, 4, Yt_, ldy); break; \
    }                                                             \
  } while (0)

#endif
