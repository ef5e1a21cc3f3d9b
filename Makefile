# demux — build, test, lint, bench, demo.
# Every .c under src/ is part of the binary; src/main.c holds main().
# tests/unit/test_*.c are cmocka programs linked against the same objects.

CC       ?= cc
PREFIX   ?= /usr/local
PKGS      = libmicrohttpd libcurl jansson libmariadb sqlite3 hiredis inih libnftables libxcrypt
CSTD      = -std=c17 -D_GNU_SOURCE
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla
OPT      ?= -O2 -g
SANITIZE ?=
ifneq ($(SANITIZE),)
SANFLAGS  = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   += $(CSTD) $(WARN) $(OPT) $(SANFLAGS) -Isrc $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lpthread -lm
LDFLAGS  += $(SANFLAGS)

# BUILD can be set on the command line (make BUILD=build/san ...): a build
# with other flags then has its own objects, tests and binary, and never
# mixes them with the normal build's. The normal binary is ./demux.
BUILD    := build
BIN      := $(if $(filter build,$(BUILD)),demux,$(BUILD)/demux)
SRCS     := $(shell find src -name '*.c' | sort)
OBJS     := $(SRCS:%.c=$(BUILD)/%.o)
LIBOBJS  := $(filter-out $(BUILD)/src/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELPER_SRCS := $(wildcard tests/unit/fake_*.c)
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%.c=$(BUILD)/%.o)
INTEG_SRCS := $(wildcard tests/integration/*.c)
INTEG_BINS := $(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/integ_%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test unit lint format install bench demo demo-stop demo-clean images clean deps fuzz chaos install-check

all: $(BIN)

V ?= 0
ifeq ($(V),0)
Q = @
SAY = @printf '  %-5s %s\n'
else
Q =
SAY = @true
endif

$(BIN): $(OBJS)
	$(SAY) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(SAY) CC $<
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBOBJS) $(TEST_HELPER_OBJS)
	@mkdir -p $(dir $@)
	$(SAY) LD $@
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIBOBJS) $(TEST_HELPER_OBJS) $(LDFLAGS) $(LDLIBS) -lcmocka

$(BUILD)/tests/integ_%: tests/integration/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(SAY) LD $@
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIBOBJS) $(LDFLAGS) $(LDLIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(SAY) LD $@
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIBOBJS) $(LDFLAGS) $(LDLIBS)

deps:
	@bash scripts/install-deps

# Proves install-deps' plan on a fresh Debian 12 chroot (docs/INSTALL.md).
install-check:
	@bash tests/install/bookworm.sh

# libFuzzer targets: request bodies, forms, cookies and paths (fuzz_http);
# configuration files and keys, X-Forwarded-For and listen addresses, Podman,
# Caddy, HAProxy, CRIU, template metadata and kernel text parsers
# (fuzz_parsers). Each runs FUZZ_RUNS inputs (corpus kept in build/fuzz/).
FUZZ_RUNS ?= 1000000
fuzz:
	@mkdir -p $(BUILD)/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(CSTD) -Isrc -Itests/unit $(PKG_CFLAGS) \
	  -o $(BUILD)/fuzz/fuzz_http tests/fuzz/fuzz_http.c $(filter-out src/main.c,$(SRCS)) \
	  tests/unit/fake_api_backend.c $(PKG_LIBS) -lpthread -lm
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(CSTD) -Isrc $(PKG_CFLAGS) \
	  -o $(BUILD)/fuzz/fuzz_parsers tests/fuzz/fuzz_parsers.c $(filter-out src/main.c,$(SRCS)) \
	  $(PKG_LIBS) -lpthread -lm
	@for f in fuzz_parsers fuzz_http; do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$f; \
	  $(BUILD)/fuzz/$$f -runs=$(FUZZ_RUNS) -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ \
	    $(BUILD)/fuzz/corpus-$$f \
	    >$(BUILD)/fuzz/$$f.log 2>&1 || { tail -40 $(BUILD)/fuzz/$$f.log; exit 1; }; \
	  echo "$$f: $$(grep -o 'number_of_executed_units: [0-9]*' $(BUILD)/fuzz/$$f.log), no crash"; \
	done

tests-build: $(BIN) $(UNIT_BINS) $(INTEG_BINS)

# The long chaos run (tests/chaos): faults injected into the real stack while
# demos are claimed, extended and ended. Starts containers: run it as
#   flock /tmp/demux-integration.lock make chaos
# CHAOS_ARGS go to tests/chaos/chaos.py (e.g. --seconds 1800).
chaos: $(BIN)
	@bash tests/chaos/run.sh $(CHAOS_ARGS)

# Installs what is missing, builds, runs unit and integration tests and ends
# with "N passed, N failed, N skipped".
test:
	@bash scripts/install-deps
	@bash scripts/build-image shop-fixture wordpress
	@$(MAKE) --no-print-directory tests-build
	@bash tests/run

unit: $(BIN) $(UNIT_BINS)
	@DEMUX_BUILD=$(BUILD) bash tests/run --unit

lint: $(BIN)
	clang-format --dry-run --Werror $(SRCS) $(wildcard src/*.h src/*/*.h) $(UNIT_SRCS) $(INTEG_SRCS)
	clang-tidy --quiet $(SRCS) -- $(CSTD) -Isrc $(PKG_CFLAGS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Isrc $(SRCS)
	bash -n scripts/* tests/run tests/lib/*.sh tests/integration/*.sh tests/chaos/*.sh tests/unit/*.sh tests/install/*.sh
	@# no document may point outside the repository
	bash scripts/check-doc-links
	@# a source or recipe file that .gitignore hides would be missing from a clone
	@ignored=$$(git ls-files --others --ignored --exclude-standard -- src tests images scripts bench/*.c bench/*.h bench/run 2>/dev/null); \
	  if [ -n "$$ignored" ]; then echo "lint: ignored by .gitignore but part of the tree:"; echo "$$ignored"; exit 1; fi

format:
	clang-format -i $(SRCS) $(wildcard src/*.h src/*/*.h) $(UNIT_SRCS) $(INTEG_SRCS)

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/demux
	install -D -m 0644 contrib/demux.service $(DESTDIR)/etc/systemd/system/demux.service
	install -D -m 0644 demux.conf.example $(DESTDIR)$(PREFIX)/share/doc/demux/demux.conf.example

images:
	@bash scripts/install-deps
	@bash scripts/build-image shop-fixture wordpress

bench: $(BIN) $(BENCH_BINS)
	@bash bench/run

# make demo TEMPLATE=wordpress serves the real WordPress instead of the
# shop fixture (the same as DEMUX_DEMO_TEMPLATE=wordpress).
demo:
	@DEMUX_DEMO_TEMPLATE=$(or $(TEMPLATE),$(DEMUX_DEMO_TEMPLATE)) bash scripts/demo

demo-stop:
	@bash scripts/demo --stop

# Stops the demo and removes what it made: templates, state, images.
demo-clean:
	@bash scripts/demo --clean

clean:
	rm -rf $(BUILD) $(BIN)

-include $(OBJS:.o=.d)
