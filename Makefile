# LDD3 drivers in Rust: build the modules against the project's kernel and run them in QEMU.
# The modules themselves are described by ./Kbuild; this file drives everything around them.
# `make help` lists the targets.

LLVM ?= -19
TESTS ?=
CHECK_TIMEOUT ?= 2400
BENCH_TIMEOUT ?= 2400
BENCH_ROUNDS ?= 7
LDD3_C ?=
BENCH_BASE ?=
SOAK_CYCLES ?= 1000
SOAK_TIMEOUT ?= 36000

CACHE := $(or $(LDD3_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ldd3-rust)
export PATH := $(CACHE)/bin:$(HOME)/.cargo/bin:$(PATH)
export LIBCLANG_PATH ?= /usr/lib/llvm$(LLVM)/lib

# KDIR: the kernel build tree the modules are built against. Unless given (make KDIR=/path),
# the project's debug kernel is built (or found in the cache) the first time a recipe needs it,
# so `make help` or `make fmt` never build a kernel. KDIR_BENCH is the same for `make bench`.
kernel_dir = $(or $(shell $(CURDIR)/scripts/build-kernel.sh $(1)),$(error building the $(1) kernel failed, see above))
KDIR_GIVEN := $(filter-out undefined,$(origin KDIR))
ifeq ($(origin KDIR),undefined)
KDIR = $(eval KDIR := $$(call kernel_dir,debug))$(KDIR)
endif
ifeq ($(origin KDIR_BENCH),undefined)
KDIR_BENCH = $(eval KDIR_BENCH := $$(call kernel_dir,bench))$(KDIR_BENCH)
endif

KBUILD_ARGS = LLVM=$(LLVM) $(if $(CLIPPY),CLIPPY=$(CLIPPY)) $(if $(W),W=$(W))
PROG_MANIFEST := tests/prog/Cargo.toml
INITRD := build/initramfs-debug.cpio
RUST_DIRS := common scull scullp snull tests

.PHONY: all modules setup kernel prog check fuzz soak run demo bench fmt fmt-check rust-analyzer clean help
.DEFAULT_GOAL := all

all: modules

help:
	@echo 'make [modules]         build every module (scull/scull.ko, ...) against KDIR'
	@echo 'make setup             install missing host tools (Debian packages, rust-src, bindgen)'
	@echo 'make kernel            build the debug kernel into the cache and print its path'
	@echo 'make demo              set up everything, boot, show the drivers at work, power off'
	@echo 'make check [TESTS=..]  build what is stale, boot the debug kernel, run the tests'
	@echo '                       (TESTS=scull: scripts and KUnit modules starting with "scull";'
	@echo '                        TESTS=scull.sh: that script; TESTS=scull.sh/echo*: those cases;'
	@echo '                        TESTS=kunit: KUnit modules only; a,b: both)'
	@echo 'make fuzz [FUZZ_S=600] [SEED=N]  boot and run only the fuzzers (fuzz-chr, fuzz-net)'
	@echo 'make soak [SOAK_CYCLES=N] [TESTS=scull,..]  N (1000) load/use/unload cycles of each'
	@echo '                       module, rmmod racing its users; kmemleak and slab counts'
	@echo 'make run               boot with the modules loaded and a shell on the console'
	@echo 'make bench             boot the non-debug kernel and measure throughput, alternating each'
	@echo '                       driver with the kernel'"'"'s own equivalent, BENCH_ROUNDS=$(BENCH_ROUNDS) rounds;'
	@echo '                       LDD3_C=/path/to/ldd3 adds the C reference (a checkout of'
	@echo '                       martinezjavier/ldd3, built in build/ldd3-c) and rust/C ratios;'
	@echo '                       BENCH_BASE=REV adds this project'"'"'s modules at git revision REV'
	@echo '                       (built in build/bench-base) and rust/base ratios: a change'"'"'s effect,'
	@echo '                       measured against what it changed in the same boot;'
	@echo '                       PROFILE=1 then runs the scull, scullp and snull rows once more under perf and'
	@echo '                       prints their hottest symbols (build/bench/profile.txt)'
	@echo 'make fmt | fmt-check   rustfmt the Rust sources with the kernel'"'"'s .rustfmt.toml'
	@echo 'make rust-analyzer     write rust-project.json (editor support) for the modules and KDIR'
	@echo 'make clean             remove build products (not the cached kernels)'
	@echo 'Variables: KDIR=/path/to/kernel/build LLVM=$(LLVM) W=1 CLIPPY=1 CHECK_TIMEOUT=$(CHECK_TIMEOUT) SOAK_TIMEOUT=$(SOAK_TIMEOUT)'
	@echo '           BENCH_ROUNDS=$(BENCH_ROUNDS) LDD3_C=/path/to/ldd3 BENCH_BASE=REV QEMU_APPEND="ldd3.bench_only=snull ..."'
	@echo '           CONSOLE=1 (show the whole guest console during check/bench)'

setup:
	@scripts/setup-host.sh

kernel: setup
	@echo $(KDIR)

modules: setup
	@test -f Kbuild || { echo "error: no ./Kbuild: nothing to build" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_ARGS) modules

# The guest's test programs: ldd3test (Rust, static musl) and the C programs of tests/prog/c,
# built static against the user-space headers in include/uapi, each also as a 32-bit program
# NAME32 (gcc -m32, from Debian's gcc-multilib), which reaches the drivers through compat_ioctl.
C_PROGS := $(patsubst tests/prog/c/%.c,tests/prog/target/c/%,$(wildcard tests/prog/c/*.c))
C_PROGS32 := $(addsuffix 32,$(C_PROGS))
UAPI_HEADERS := $(wildcard include/uapi/ldd3/*.h)

prog: setup $(C_PROGS) $(C_PROGS32)
	@if [ -f $(PROG_MANIFEST) ]; then \
		cargo build --quiet --release --target x86_64-unknown-linux-musl --manifest-path $(PROG_MANIFEST); \
	fi

PROG_CC := gcc -static -O2 -Wall -Wextra -Werror -I include/uapi

tests/prog/target/c/%: tests/prog/c/%.c $(UAPI_HEADERS)
	@mkdir -p $(@D)
	$(PROG_CC) $< -o $@

tests/prog/target/c/%32: tests/prog/c/%.c $(UAPI_HEADERS)
	@mkdir -p $(@D)
	$(PROG_CC) -m32 $< -o $@

check: modules prog
	@scripts/check.sh -k $(KDIR) -T $(CHECK_TIMEOUT) $(if $(TESTS),-t '$(TESTS)')

# The fuzzers alone (tests/guest/fuzz.sh) for FUZZ_S seconds each, from SEED (default: a random
# one, printed; SEED=1,2,3 runs each fuzzer once per seed). The guest's limits grow with
# FUZZ_S and the seeds; results and logs go to build/fuzz.
FUZZ_S ?= 600
SEED ?=

fuzz: modules prog
	@seed='$(SEED)'; [ -n "$$seed" ] || seed=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); \
	echo "make fuzz: seed $$seed, $(FUZZ_S) s per fuzzer (again: make fuzz SEED=$$seed FUZZ_S=$(FUZZ_S))"; \
	n=$$(echo "$$seed" | tr ',' ' ' | wc -w); \
	LDD3_TEST_TIMEOUT=$$((n * $(FUZZ_S) + 240)) QEMU_APPEND="ldd3.fuzz_s=$(FUZZ_S) ldd3.seed=$$seed" \
		scripts/check.sh -k $(KDIR) -T $$((2 * n * $(FUZZ_S) + 900)) -t fuzz.sh -o $(CURDIR)/build/fuzz

# The soak: scripts/check.sh in the guest's soak mode (tests/guest/soak.sh); results and
# console in build/soak.
soak: modules prog
	@QEMU_APPEND="$(strip $(QEMU_APPEND) ldd3.cycles=$(SOAK_CYCLES))" scripts/check.sh -k $(KDIR) \
		-m soak -o $(CURDIR)/build/soak -T $(SOAK_TIMEOUT) $(if $(TESTS),-t '$(TESTS)')

run: modules prog
	@scripts/mkinitramfs.sh $(INITRD)
	@scripts/qemu.sh -k $(KDIR)/arch/x86/boot/bzImage -i $(INITRD) -m run

# The demo checks what it shows (tests/guest/demo): it fails unless all three drivers worked.
demo: modules prog
	@scripts/mkinitramfs.sh $(INITRD)
	@scripts/qemu.sh -k $(KDIR)/arch/x86/boot/bzImage -i $(INITRD) -m demo -o build/demo -T 600
	@for d in scull scullp snull; do \
		tr -d '\r' <build/demo/results.txt | grep -qx "demo ok $$d" || \
		{ echo "error: the demo did not show $$d working (see above and build/demo/guest.log)" >&2; exit 1; }; \
	done; echo "make demo: scull, scullp and snull work"

# The bench kernel has no debug options, so the modules are built again against it. Kbuild's
# MO= refuses a source tree holding the debug build, so this builds a copy of the sources in
# build/bench-src (tar keeps the timestamps: unchanged files are not rebuilt).
BENCH_SRC := $(CURDIR)/build/bench-src
# BENCH_BASE=REV: the sources of git revision REV, for its modules to run beside this tree's.
BENCH_BASE_SRC := $(CURDIR)/build/bench-base
BUILD_PRODUCTS := --exclude=./build --exclude=./.git --exclude=target --exclude='*.o' --exclude='*.ko' \
	--exclude='.*.cmd' --exclude='*.mod' --exclude='*.mod.c' --exclude=modules.order --exclude=Module.symvers --exclude='*_generated.rs'

bench: setup prog
	@test -f Kbuild || { echo "error: no ./Kbuild: nothing to build" >&2; exit 1; }
	@mkdir -p $(BENCH_SRC) && tar -c $(BUILD_PRODUCTS) . | tar -x -C $(BENCH_SRC)
	$(MAKE) -C $(KDIR_BENCH) M=$(BENCH_SRC) $(KBUILD_ARGS) modules
	$(if $(LDD3_C),@scripts/build-ldd3-c.sh $(KDIR_BENCH) $(LDD3_C) build/ldd3-c)
	$(if $(BENCH_BASE),@rm -rf $(BENCH_BASE_SRC) && mkdir -p $(BENCH_BASE_SRC) && \
		git archive --format=tar '$(BENCH_BASE)' | tar -x -C $(BENCH_BASE_SRC) && \
		git rev-parse --short '$(BENCH_BASE)^{commit}' >$(BENCH_BASE_SRC)/REVISION)
	$(if $(BENCH_BASE),$(MAKE) -C $(KDIR_BENCH) M=$(BENCH_BASE_SRC) $(KBUILD_ARGS) modules)
	@scripts/mkinitramfs.sh -b $(if $(PROFILE),-p) -m $(BENCH_SRC) $(if $(LDD3_C),-c build/ldd3-c/modules) \
		$(if $(BENCH_BASE),-a $(BENCH_BASE_SRC)) build/initramfs-bench.cpio
	@QEMU_APPEND="ldd3.bench_rounds=$(BENCH_ROUNDS)$(if $(PROFILE), ldd3.bench_profile=1)$(if $(QEMU_APPEND), $(QEMU_APPEND))" \
		scripts/qemu.sh -k $(KDIR_BENCH)/arch/x86/boot/bzImage -i build/initramfs-bench.cpio \
		-m bench -o build/bench -T $(BENCH_TIMEOUT)
	@grep -q '^# ldd3 guest done' build/bench/results.txt || \
		{ echo "error: the bench guest did not finish (build/bench/guest.log)" >&2; exit 1; }
	@sed -n 's/^sample //p' build/bench/results.txt >build/bench/samples.txt
	@echo; sed -n 's/^bench //p' build/bench/results.txt | tee build/bench/table.txt
	$(if $(PROFILE),@echo; sed -n 's/^profile //p' build/bench/results.txt | tee build/bench/profile.txt)

# rustfmt with the kernel's .rustfmt.toml (from KDIR's source, else the cached source tree; its
# settings, edition 2021 and Unix newlines, are the fallback). tests/prog is a Cargo crate.
RUST_SOURCES = $(shell find $(RUST_DIRS) -name '*.rs' -not -path '*/target/*' -not -path 'tests/prog/*' -not -name '*_generated.rs' 2>/dev/null)
RUSTFMT_TOML = $(firstword $(wildcard $(if $(KDIR_GIVEN),$(KDIR)/source/.rustfmt.toml $(KDIR)/.rustfmt.toml)) \
	$(wildcard $(CACHE)/src/linux-source-7.3*/.rustfmt.toml))
RUSTFMT = rustfmt $(if $(RUSTFMT_TOML),--config-path $(RUSTFMT_TOML),--edition 2021 --config newline_style=Unix)

fmt:
	$(if $(RUST_SOURCES),$(RUSTFMT) $(RUST_SOURCES))
	@if [ -f $(PROG_MANIFEST) ]; then cargo fmt --manifest-path $(PROG_MANIFEST); fi

fmt-check:
	$(if $(RUST_SOURCES),$(RUSTFMT) --check $(RUST_SOURCES))
	@if [ -f $(PROG_MANIFEST) ]; then cargo fmt --check --manifest-path $(PROG_MANIFEST); fi

# Editor support: the kernel's generator finds the crate roots of this directory (M=) and ties
# them to KDIR's core, kernel and pin_init; scripts/rust-analyzer.py adds what ./Kbuild gives
# them (the generated bindings, --cfg ldd3_net). `modules` first, so the bindings exist.
rust-analyzer: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_ARGS) rust-analyzer
	@python3 scripts/rust-analyzer.py $(CURDIR)/rust-project.json

clean:
	rm -rf build rust-project.json
	find $(RUST_DIRS) -not -path '*/target/*' \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.rmeta' -o -name '*.d' \
		-o -name 'modules.order' -o -name '*_generated.rs' \) -delete 2>/dev/null || true
	rm -f Module.symvers modules.order .*.cmd .module-common.o
	rm -rf common/.bindgen-*
	@if [ -f $(PROG_MANIFEST) ]; then cargo clean --quiet --manifest-path $(PROG_MANIFEST); fi
