# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# hairpin: hairpin NAT for Linux routers on the TC hooks.
#
#   make            build build/hairpin
#   make deps       install missing Debian packages (apt-get)
#   make test       unit and namespace end-to-end tests on this kernel, unit tests
#                   with each compiler, and the tests on Debian 12's kernel in qemu
#   make test-kernels     only the qemu run (Debian 12's linux-image-amd64)
#   make test-toolchains  only the builds and unit tests with clang 14, 16, 19
#   make demo       the field report's failure, then the fix, in throwaway namespaces
#   make fuzz       the programs on millions of mutated packets, the config and
#                   command-line parsers under libFuzzer (FUZZ_TIME seconds each)
#   make bench      per-packet cost and router throughput against nftables
#   make install    install to $(DESTDIR)$(PREFIX)/sbin
#   V=1             show full commands
#   WERROR=1        warnings are errors (CI sets it)
#   CC=, CLANG=     compilers for user space and for the BPF object

OUTPUT ?= build
# Jobs of the builds make test runs.
NPROC ?= $(shell nproc)
PREFIX ?= /usr/local
CLANG ?= clang
CC ?= cc
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

LIBBPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS := $(or $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null),-lbpf) -lelf -lz
# libxdp loads the XDP program (its dispatcher beside other tools' programs).
LIBXDP_LIBS := $(or $(shell $(PKG_CONFIG) --libs libxdp 2>/dev/null),-lxdp)

# clang -target bpf does not search the host's multiarch include dir, where
# asm/types.h lives on Debian; pass the host's system dirs after our own.
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

CFLAGS ?= -g -O2
WARNINGS := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
ifneq ($(WERROR),)
WARNINGS += -Werror
endif
BPF_CFLAGS := -g -O2 -target bpf -Wall $(if $(WERROR),-Werror)

INCLUDES := -Iinclude -I$(OUTPUT) $(LIBBPF_CFLAGS)

# Two objects, each an entry file linked with the tables: the TC programs
# (the skeleton attach loads) and the XDP program (libxdp loads it, as a
# dispatcher's extension where the kernel allows, on the TC object's tables).
TC_BPF_OBJS := $(OUTPUT)/bpf/tc.bpf.o $(OUTPUT)/bpf/license.bpf.o
XDP_BPF_OBJS := $(OUTPUT)/bpf/xdp.bpf.o $(OUTPUT)/bpf/license.bpf.o

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
# The user objects every other binary may link against: all but main.
LIB_OBJS := $(filter-out $(OUTPUT)/user/main.o,$(USER_OBJS))

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/unit/%.o,$(UNIT_SRCS))
# BPF programs only the unit tests load, each with its skeleton.
UNIT_SKELS := $(patsubst tests/unit/progs/%.bpf.c,$(OUTPUT)/%.skel.h,$(wildcard tests/unit/progs/*.bpf.c))

# libFuzzer targets: the parsers built with the fuzzer and sanitizers.
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_LIB_SRCS := user/parse.c user/config.c user/common.c user/local.c
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(wildcard tests/fuzz/*.c))
FUZZ_TIME ?= 60
FUZZ_CASES ?= 5000000

# Programs of "other tools" the end-to-end tests load beside hairpin's (XDP
# with xdp-loader, TC with tc), and the tools they look at hooks with.
E2E_BPF := $(patsubst tests/e2e/progs/%.bpf.c,$(OUTPUT)/e2e/%.bpf.o,$(wildcard tests/e2e/progs/*.bpf.c)) \
	$(patsubst tests/e2e/tools/%.c,$(OUTPUT)/e2e/%,$(wildcard tests/e2e/tools/*.c))

BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(OUTPUT)/bench/%,$(filter-out bench/%.bpf.c,$(BENCH_SRCS)))
BENCH_BPF := $(patsubst bench/%.bpf.c,$(OUTPUT)/bench/%.bpf.o,$(wildcard bench/*.bpf.c))

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
MAKEFLAGS += --no-print-directory
endif

.PHONY: all deps test test-unit test-e2e test-kernels test-toolchains test-fuzz-corpus fuzz demo bench install clean format

all: $(OUTPUT)/hairpin

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/user $(OUTPUT)/tests/unit $(OUTPUT)/bench $(OUTPUT)/fuzz $(OUTPUT)/e2e:
	$(Q)mkdir -p $@

# One BPF object from an entry file per hook; the tables in bpf/maps.h are
# __weak, so the linker keeps one of each and every program shares them.
$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -Iinclude $(LIBBPF_CFLAGS) \
		$(CLANG_BPF_SYS_INCLUDES) -c $< -o $@

$(OUTPUT)/hairpin.bpf.o: $(TC_BPF_OBJS)
	$(call msg,BPF-LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUTPUT)/hairpin_xdp.bpf.o: $(XDP_BPF_OBJS)
	$(call msg,BPF-LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUTPUT)/%.bpf.o: tests/unit/progs/%.bpf.c | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP $(LIBBPF_CFLAGS) $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@

$(OUTPUT)/e2e/%.bpf.o: tests/e2e/progs/%.bpf.c | $(OUTPUT)/e2e
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP $(LIBBPF_CFLAGS) $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@

$(OUTPUT)/e2e/%: tests/e2e/tools/%.c | $(OUTPUT)/e2e
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(WARNINGS) $(INCLUDES) $< $(LIBBPF_LIBS) -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

$(OUTPUT)/user/%.o: user/%.c $(OUTPUT)/hairpin.skel.h $(OUTPUT)/hairpin_xdp.skel.h | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARNINGS) -MMD -MP $(INCLUDES) -c $< -o $@

$(OUTPUT)/hairpin: $(USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBXDP_LIBS) $(LIBBPF_LIBS) -o $@

$(OUTPUT)/tests/unit/%.o: tests/unit/%.c $(OUTPUT)/hairpin.skel.h $(OUTPUT)/hairpin_xdp.skel.h \
			  $(UNIT_SKELS) | $(OUTPUT)/tests/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARNINGS) -MMD -MP $(INCLUDES) -Iuser -Itests/unit -c $< -o $@

$(OUTPUT)/test_progs: $(UNIT_OBJS) $(LIB_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBXDP_LIBS) $(LIBBPF_LIBS) -o $@

$(OUTPUT)/bench/%.bpf.o: bench/%.bpf.c | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -Iinclude $(LIBBPF_CFLAGS) \
		$(CLANG_BPF_SYS_INCLUDES) -c $< -o $@

# Bench tools build their packets with the unit tests' packet builder and
# read counters with the command's own code.
$(OUTPUT)/bench/%: bench/%.c $(OUTPUT)/hairpin.skel.h $(OUTPUT)/hairpin_xdp.skel.h $(OUTPUT)/tests/unit/pkt.o $(LIB_OBJS) \
		| $(OUTPUT)/bench
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(WARNINGS) -MMD -MP $(INCLUDES) -Iuser -Itests/unit $< \
		$(OUTPUT)/tests/unit/pkt.o $(LIB_OBJS) $(LIBXDP_LIBS) $(LIBBPF_LIBS) -o $@

$(OUTPUT)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) user/hp.h include/hairpin.h | $(OUTPUT)/fuzz
	$(call msg,FUZZER,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARNINGS) -Iinclude -Iuser $< $(FUZZ_LIB_SRCS) -o $@

deps:
	$(Q)tests/deps.sh

test: deps
	$(Q)$(MAKE) -j$(NPROC) $(OUTPUT)/hairpin $(OUTPUT)/test_progs $(OUTPUT)/bench/inject \
		$(E2E_BPF) $(FUZZ_BINS)
	$(Q)tests/run.sh
	$(Q)$(MAKE) test-fuzz-corpus
	$(Q)OUTPUT=$(OUTPUT) tests/toolchains.sh
	$(Q)OUTPUT=$(OUTPUT) tests/kernels/run.sh

test-unit: $(OUTPUT)/test_progs
	$(Q)$(OUTPUT)/test_progs

test-e2e: $(OUTPUT)/hairpin $(OUTPUT)/bench/inject $(E2E_BPF)
	$(Q)tests/run.sh --e2e-only

# The libFuzzer targets on their corpus once: a crash or leak fails.
test-fuzz-corpus: $(FUZZ_BINS)
	$(Q)for t in $(FUZZ_BINS); do \
		out=$$($$t -runs=0 tests/fuzz/corpus/$${t##*fuzz_} 2>&1) || \
			{ echo "$$out" | tail -n 30; echo "FAIL  fuzz/$${t##*/}"; exit 1; }; \
		echo "PASS  fuzz/$${t##*/} ($$(echo "$$out" | tail -n 1))"; \
	done

# Long runs: the packet fuzzer, then each libFuzzer target for FUZZ_TIME s,
# with new inputs kept in build/fuzz/corpus-NAME/.
fuzz: $(OUTPUT)/test_progs $(FUZZ_BINS)
	$(Q)HP_FUZZ_CASES=$(FUZZ_CASES) HP_FUZZ_SEED=$${HP_FUZZ_SEED:-$$(date +%s)} \
		$(OUTPUT)/test_progs fuzz_programs
	$(Q)for t in $(FUZZ_BINS); do \
		name=$${t##*fuzz_}; mkdir -p $(OUTPUT)/fuzz/corpus-$$name; \
		$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 -artifact_prefix=$(OUTPUT)/fuzz/ \
			$(OUTPUT)/fuzz/corpus-$$name tests/fuzz/corpus/$$name || exit 1; \
	done

test-toolchains:
	$(Q)OUTPUT=$(OUTPUT) tests/toolchains.sh

test-kernels: $(OUTPUT)/hairpin $(OUTPUT)/test_progs $(E2E_BPF)
	$(Q)OUTPUT=$(OUTPUT) tests/kernels/run.sh

demo: deps
	$(Q)$(MAKE) $(OUTPUT)/hairpin
	$(Q)examples/demo.sh

bench: deps
	$(Q)$(MAKE) $(OUTPUT)/hairpin $(BENCH_BINS) $(BENCH_BPF)
	$(Q)bench/run.sh

install: $(OUTPUT)/hairpin
	install -D -m 0755 $(OUTPUT)/hairpin $(DESTDIR)$(PREFIX)/sbin/hairpin
	install -D -m 0644 doc/hairpin.8 $(DESTDIR)$(PREFIX)/share/man/man8/hairpin.8

format:
	clang-format -i bpf/*.c bpf/*.h include/*.h user/*.c user/*.h tests/unit/*.c tests/unit/*.h \
		tests/unit/progs/*.c tests/e2e/progs/*.c tests/e2e/tools/*.c tests/fuzz/*.c bench/*.c

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT)

.DELETE_ON_ERROR:
.SECONDARY:

# hairpin.bpf.o is linked now; a .d file of when it was compiled would ask for bpf/hairpin.bpf.c.
-include $(filter-out $(OUTPUT)/hairpin.bpf.d,$(wildcard $(OUTPUT)/*.d $(OUTPUT)/bpf/*.d $(OUTPUT)/user/*.d $(OUTPUT)/tests/unit/*.d $(OUTPUT)/bench/*.d $(OUTPUT)/e2e/*.d))
