#!/bin/sh
# Side by side with llama.cpp's CPU dot products. LLAMA_CPP_DIR is a
# llama.cpp source tree with ggml/src/ggml-cpu/ggml-cpu-quants.c (the layout
# of early 2025; later trees moved x86 kernels to ggml-cpu/arch/x86/). From
# a bare mirror:  git --git-dir=<mirror> archive HEAD ggml | tar -x -C <dir>
# llama.cpp is built as its release build would be on this CPU: -O3
# -march=native (LLAMA_FLAGS overrides, e.g. "-O3 -mavx2 -mfma -mf16c").
set -e
cd "$(dirname "$0")/../.."
D=${LLAMA_CPP_DIR:?set LLAMA_CPP_DIR to a llama.cpp source tree}
FLAGS=${LLAMA_FLAGS:-"-O3 -march=native"}
make -s -j2 build/libhearth.a
mkdir -p build/bench
cc $FLAGS -std=c11 -D_GNU_SOURCE -w -I"$D/ggml/src/ggml-cpu" -I"$D/ggml/src" -I"$D/ggml/include" \
  -c "$D/ggml/src/ggml-cpu/ggml-cpu-quants.c" -o build/bench/llama_quants.o
cc -O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -o build/bench/vs_llamacpp bench/kernels/vs_llamacpp.c \
  build/bench/llama_quants.o build/libhearth.a $(pkg-config --libs libuv sqlite3 libcrypto) -lm -pthread
exec ./build/bench/vs_llamacpp
