# hearth — one Makefile.
#   make            build ./hearth (release)
#   make test       unit tests, then integration tests against ./hearth
#   make asan       the same suite built with ASan+UBSan (into build/asan)
#   make clang      the release build with clang, warnings as errors, and its unit tests
#   make fuzz       libFuzzer targets (clang), each run briefly on its corpus
#   make bench      the benchmarks in bench/
CC      ?= cc
PKGS    := libuv sqlite3 libcrypto libpcre2-8 libutf8proc libcurl
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -pthread \
           -fno-strict-aliasing $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm -pthread
BUILD   ?= build

SRC      := $(shell find src -name '*.c' ! -name main.c | sort)
OBJ      := $(SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# Kernels for one instruction set live in files named for it; only those
# files get the ISA flags, and the code picks a path at run time.
ISA_avx2   := -mavx2 -mfma -mf16c
ISA_avx512 := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx2 -mfma -mf16c
ISA_amx    := -mamx-tile -mamx-int8 -mamx-bf16
isa_flags   = $(if $(findstring _avx512,$<),$(ISA_avx512) $(if $(findstring _amx,$<),$(ISA_amx)) $(ISA_EXTRA),$(if $(findstring _avx2,$<),$(ISA_avx2) $(ISA_EXTRA)))
# Sanitizer builds compile the SIMD kernel files without instrumentation:
# their unrolled tiles take clang minutes under ASan/UBSan, and every kernel
# is checked against the plain-C reference (which is sanitized) in the tests.
ISA_EXTRA  ?=

.PHONY: all test unit integration asan clang fuzz fuzz-smoke bench clean
all: hearth

hearth: $(BUILD)/hearth
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/hearth: $(BUILD)/src/main.o $(BUILD)/libhearth.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libhearth.a: $(OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(isa_flags) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libhearth.a tests/unit/test.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libhearth.a $(LDLIBS)

unit: $(UNIT_BIN)
	@sh tests/unit/run.sh $(UNIT_BIN)

integration: hearth node_modules
	HEARTH_BIN=$(abspath $(BUILD)/hearth) node --test --test-concurrency=1 tests/integration/

node_modules: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error && touch node_modules

# The whole suite, as CI runs it: the release build's tests, the same
# under ASan+UBSan, the release build again with clang, and every fuzz
# target for a few seconds.
test: unit integration asan clang fuzz-smoke

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-8}

asan:
	$(MAKE) -j2 BUILD=build/asan CC=clang ISA_EXTRA="-fno-sanitize=all" \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  build/asan/hearth unit
	HEARTH_BIN=$(abspath build/asan/hearth) node --test --test-concurrency=1 tests/integration/

# GCC makes ./hearth; clang must build the same code warning-free at -O2
# too, and its unrolled kernel tiles pass the same unit tests (the
# sanitized builds compile the kernel files at -O1).
clang:
	$(MAKE) -j2 BUILD=build/clang CC=clang CFLAGS="-O2 -g -Werror" build/clang/hearth unit

# Fuzz targets link the whole library built with coverage instrumentation.
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
fuzz:
	$(MAKE) -j2 BUILD=build/fuzzlib CC=clang ISA_EXTRA="-fno-sanitize=all" CFLAGS="$(FUZZ_CFLAGS)" build/fuzzlib/libhearth.a
	@mkdir -p build/fuzz
	@set -e; for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  clang -O1 -g -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -I src \
	    -o build/fuzz/$$n $$f build/fuzzlib/libhearth.a $(LDLIBS); \
	  mkdir -p tests/fuzz/corpus/$$n build/fuzz/$$n.corpus; \
	  printf 'fuzz: %-22s ' $$n; \
	  if build/fuzz/$$n -max_total_time=$${FUZZ_SECONDS:-20} -max_len=65536 \
	       -artifact_prefix=build/fuzz/$$n- build/fuzz/$$n.corpus tests/fuzz/corpus/$$n \
	       > build/fuzz/$$n.log 2>&1; then \
	    grep -E '^Done [0-9]+ runs' build/fuzz/$$n.log || tail -n 1 build/fuzz/$$n.log; \
	  else \
	    echo FAILED; tail -n 40 build/fuzz/$$n.log; exit 1; \
	  fi; \
	done

# Every benchmark beside its peers; LLAMA_BENCH and LLAMA_SERVER name
# llama.cpp binaries to compare the engine with (see README).
bench: hearth
	bash bench/http/run.sh
	bash bench/engine/run.sh
	node bench/serve/run.js
	bash bench/embeddings/run.sh
	node bench/structured/run.js

clean:
	rm -rf build hearth

-include $(OBJ:.o=.d) $(BUILD)/src/main.d
