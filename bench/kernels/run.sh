#!/bin/sh
# Builds and runs the kernel micro-benchmark (single thread). Arguments are
# type names to restrict it to (q4_0 q4_K ...).
set -e
cd "$(dirname "$0")/../.."
make -s -j2 build/libhearth.a
cc -O2 -g -std=c17 -D_GNU_SOURCE -Wall -Wextra -o build/bench_kernels bench/kernels/bench_kernels.c \
  build/libhearth.a $(pkg-config --libs libuv sqlite3 libcrypto libpcre2-8 libutf8proc) -lcurl -lm -pthread
exec ./build/bench_kernels "$@"
