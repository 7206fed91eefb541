# AXIOM build. Plain make: the library from src/, as libaxiom.a (what the CLI, tests,
# benchmarks and fuzz targets link) and libaxiom.so (what an embedding program links:
# it exports only the functions include/axiom.h declares), a thin CLI (src/cli/), one
# test program per tests/test_*.c and the examples (examples/*.c, against the .so).
# Sources are found by wildcard, so a new backend is a new file, not a Makefile edit.
#
#   make run     install what is missing, build, start `axiom serve`
#   make test    install, check the format, build, run the tests, then again under ASan+UBSan, then
#                every fuzz target for FUZZ_SMOKE_SECONDS (20 s)
#   make check   build and run the tests (no install step, no sanitizers)
#   make asan    the test suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench   build and print the benchmark figures
#   make fuzz    every fuzz target for FUZZ_SECONDS (FUZZ=name: one); the WebSocket
#                target for FUZZ_WS_RUNS inputs (1 M)
#   make soak    SOAK_CLIENTS clients for SOAK_MINUTES against axiom serve (50, 30)

BUILD   ?= build
CC      ?= cc
SAN     ?=
OPT     ?= -O2
ROOT    := $(CURDIR)

PKGS      := pocketsphinx sphinxbase libcjson libcurl sqlite3 sndfile samplerate speexdsp libutf8proc inih avahi-client
PKG_CF    := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Third-party headers are not ours to warn about.
SYS_INC   := $(patsubst -I%,-isystem %,$(PKG_CF)) -isystem $(ROOT)/deps/llama/include
# The voices themselves are opened at run time (tts_flite.c), not linked.
FLITE     := -lflite_usenglish -lflite_cmulex -lflite
LIBS      := $(PKG_LIBS) -lcivetweb $(FLITE) -lpthread -ldl -lm

CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror -Iinclude -Isrc $(SYS_INC) \
           -MMD -MP $(SAN) $(EXTRA_CFLAGS)
LDFLAGS := $(SAN) $(EXTRA_LDFLAGS)

LIB_SRCS  := $(sort $(shell find src -name '*.c' -not -path 'src/cli/*'))
CLI_SRCS  := $(sort $(wildcard src/cli/*.c))
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_HELP := $(sort $(wildcard tests/support/*.c))
BENCH_SRCS:= $(sort $(wildcard bench/*.c))

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
# One set of library objects serves both libraries: position-independent for the .so,
# and hidden unless axiom.h marks them AXIOM_API, so internal functions (even those
# named axiom_*, like axiom_root_dir) never leave the .so. Static linking ignores
# visibility, so the CLI and the tests still reach every internal function.
$(LIB_OBJS): CFLAGS += -fPIC -fvisibility=hidden -DAXIOM_BUILDING
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
HELP_OBJS := $(TEST_HELP:%.c=$(BUILD)/%.o)
TESTS     := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCHES   := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLES  := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)

# The C++ check of axiom.h (tests/api_cxx.cpp). The compiler follows CC so a sanitized
# build uses one sanitizer runtime (clang's with clang, gcc's with gcc).
CXX_FOR_CC := $(if $(findstring clang,$(CC)),clang++,g++)
CXXFLAGS  := -std=c++17 $(OPT) -g -Wall -Wextra -Werror -Iinclude -Itests -MMD -MP $(SAN)
# Programs linked to the shared library find it at ../libaxiom.so from their folder.
SO_RPATH  := -Wl,-rpath,'$$ORIGIN/..'

.PHONY: all build deps run test check asan bench format format-check clean fuzz fuzz-build soak
.SECONDARY:
all: build

build: $(BUILD)/axiom $(BUILD)/libaxiom.so $(TESTS) $(BUILD)/tests/test_api_cxx $(BENCHES) $(EXAMPLES)

deps:
	@scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libaxiom.a: $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

# The export list is the version script (axiom_* global, the rest local) on top of
# the hidden default. -z defs proves the .so needs nothing from the program that loads
# it; sanitized builds skip it (the sanitizer runtime lives in the executable).
$(BUILD)/libaxiom.so: $(LIB_OBJS) src/libaxiom.map
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) -shared -Wl,-soname,libaxiom.so -Wl,--version-script=src/libaxiom.map \
	  $(if $(SAN),,-Wl,-z,defs) $(LIB_OBJS) $(LIBS) -o $@

$(BUILD)/axiom: $(CLI_OBJS) $(BUILD)/libaxiom.a
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) $(CLI_OBJS) $(BUILD)/libaxiom.a $(LIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(HELP_OBJS) $(BUILD)/libaxiom.a
	@$(CC) $(LDFLAGS) $< $(HELP_OBJS) $(BUILD)/libaxiom.a $(LIBS) -o $@

# The public-API tests use the shared library: test_api_shared links nothing else (so
# it can only reach what the .so exports), test_api_cxx is C++, and test_api_symbols
# reads the .so's export table.
$(BUILD)/tests/test_api_shared: $(BUILD)/tests/test_api_shared.o $(BUILD)/libaxiom.so
	@$(CC) $(LDFLAGS) $< $(BUILD)/libaxiom.so $(SO_RPATH) -o $@

$(BUILD)/tests/test_api_cxx: tests/api_cxx.cpp $(BUILD)/libaxiom.so
	@mkdir -p $(dir $@)
	@echo "  CXX $<"
	@$(CXX_FOR_CC) $(CXXFLAGS) $(LDFLAGS) $< $(BUILD)/libaxiom.so $(SO_RPATH) -o $@

$(BUILD)/tests/test_api_symbols: $(BUILD)/libaxiom.so

$(BUILD)/examples/%: $(BUILD)/examples/%.o $(BUILD)/libaxiom.so
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) $< $(BUILD)/libaxiom.so $(SO_RPATH) -o $@

# Benchmarks may use the test helpers (the load generator drives the WebSocket client).
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(HELP_OBJS) $(BUILD)/libaxiom.a
	@$(CC) $(LDFLAGS) $< $(HELP_OBJS) $(BUILD)/libaxiom.a $(LIBS) -o $@

run: deps
	@$(MAKE) --no-print-directory build
	$(BUILD)/axiom serve $(ARGS)

check: build
	@AXIOM_BIN=$(ROOT)/$(BUILD)/axiom tests/run.sh $(BUILD)

# llama-server (built once from the source bundle, cached in deps/) is the real
# OpenAI-compatible peer of the LLM tests; they skip with the reason if it cannot build.
test: deps
	@$(MAKE) --no-print-directory format-check
	@scripts/build-llama-server.sh >/dev/null || echo "llama-server could not be built; OpenAI-compatible tests will skip"
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) FUZZ_WS_RUNS=0

# Sanitizer build in its own folder so it never mixes objects with the normal one.
# libstdc++ is linked in from the start so ASan's C++ exception interceptor is ready
# when a dlopen'ed C++ library (libllama) throws.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  EXTRA_LDFLAGS="-Wl,--no-as-needed -lstdc++ -Wl,--as-needed" AXIOM_SANITIZED=1 check

# libFuzzer targets (fuzz/fuzz_*.c), built with clang under ASan+UBSan in build-fuzz/.
# FUZZ_SECONDS per target; FUZZ=name runs one.
FUZZ_SRCS    := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZERS      := $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20
# The WebSocket target (through the socket to the speech stack) runs this many inputs
# in `make fuzz` instead of FUZZ_SECONDS; the smoke run in `make test` stays timed.
FUZZ_WS_RUNS ?= 1000000

fuzz:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT=-O1 \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" fuzz-build
	@FUZZ_WS_RUNS=$(FUZZ_WS_RUNS) fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ)

fuzz-build: $(FUZZERS)

$(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(BUILD)/libaxiom.a
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) -fsanitize=fuzzer $< $(BUILD)/libaxiom.a $(LIBS) -o $@

bench: deps
	@$(MAKE) --no-print-directory build
	@AXIOM_BIN=$(ROOT)/$(BUILD)/axiom bench/run.sh $(BUILD) $(BENCH)

# Long soak (not part of make test; test_hard_soak is its short CI variant).
SOAK_MINUTES ?= 30
SOAK_CLIENTS ?= 50
soak: deps
	@$(MAKE) --no-print-directory build
	@SOAK_MINUTES=$(SOAK_MINUTES) SOAK_CLIENTS=$(SOAK_CLIENTS) AXIOM_BIN=$(ROOT)/$(BUILD)/axiom \
	  bench/run.sh $(BUILD) soak

# Every C source and header, the examples and the C++ API check: `make format` rewrites
# them, `make format-check` (part of `make test`) fails on any that differs.
FORMAT_FILES = $(LIB_SRCS) $(CLI_SRCS) $(TEST_SRCS) $(TEST_HELP) $(BENCH_SRCS) $(EXAMPLE_SRCS) \
  $(FUZZ_SRCS) tests/api_cxx.cpp include/axiom.h $(shell find src tests bench fuzz -name '*.h')

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) 2>&1 | head -40; \
	  if clang-format --dry-run --Werror $(FORMAT_FILES) >/dev/null 2>&1; then echo "format: clean"; \
	  else echo "format: files differ from .clang-format; run make format"; exit 1; fi

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
