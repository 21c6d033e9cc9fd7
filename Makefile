# ZeroBeta - developer and CI entry points.
#
#   make tools          Python tools (.venv) + DynamoDB Local (.cache), pinned, installed once
#   make test           tools, fmt-check, clippy, lint-template, cargo test against DynamoDB Local
#   make iam-report     after make test: IAM denials and unused grants over every test's local cloud
#   make lint-template  cfn-lint + sam validate --lint on template.yaml
#   make bench          criterion benchmarks of the pipeline
#   make build          release build of the whole workspace
#   make sam-build      SAM build (needs `cargo lambda`)
#   make run            the local cloud (zb up), built with the `local` profile
#   make reset          delete the local cloud's state (.state/: DynamoDB tables, histories, logs)
#   make browser        Debian's Chromium (apt) and console/node_modules (playwright-core, axe-core) for the browser tests
#   make console-vendor copy the console's pinned browser libraries into console/site/vendor (checked in)
#   make console-publish STACK=<stack>: upload console/site and its config.json to the stack's console bucket
#   make fuzz           cargo-fuzz targets, FUZZ_SECONDS (200) each; not part of `make test`
#   make clean          build outputs (distclean: also .venv/ and .cache/)
#
# Everything a target installs goes into ignored folders (.venv/, .cache/, console/node_modules/),
# except Debian's chromium, which `make browser` installs with apt-get when /usr/bin/chromium is missing.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV   := .venv
CACHE  := .cache

# One target dir for every cargo invocation (cargo test, clippy, bench, build, sam build).
export CARGO_TARGET_DIR ?= $(CURDIR)/target
# Never phone home from sam, never page in CI.
export SAM_CLI_TELEMETRY := 0

# Re-created automatically when tools/requirements.txt (the pinned versions) changes.
TOOLS_STAMP := $(VENV)/.tools.stamp


.PHONY: iam-report

.PHONY: browser console-vendor console-publish
.PHONY: reset all tools dynamodb-local fmt-check clippy lint-template test bench build sam-build run demo load local release fuzz clean distclean

all: test

# --------------------------------------------------------------------------- tools
tools: $(TOOLS_STAMP)
	@scripts/dynamodb-local install   # idempotent: instant when .cache/dynamodb-local exists

# What the local cloud alone needs (make run, make demo): no Python tools.
dynamodb-local:
	@scripts/dynamodb-local install

$(TOOLS_STAMP): tools/requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	touch $@

# The browser tests (tests/console_browser.rs) drive Debian's Chromium headless
# with playwright-core; neither downloads a browser of its own. apt-get needs
# root (CI runs as root); console/node_modules is ignored.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	    echo "installing Debian's chromium (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi
	@if [ ! -d console/node_modules ] || [ console/package-lock.json -nt console/node_modules ]; then \
	    (cd console && npm ci --no-audit --no-fund --loglevel=error) && touch console/node_modules; \
	fi

console-vendor:
	scripts/console-vendor

# Publishes the console to a deployed stack (STACK, default zerobeta; the AWS
# CLI's usual credentials and region): console/site/ to
# s3://<ConsoleBucketName>/console/, plus the config.json the local cloud
# generates, written here from the stack's outputs (local: false). With
# ExistingUserPoolId the stack has no HostedUiUrl output: pass HOSTED_UI.
# Cache-Control no-cache: CloudFront (Managed-CachingOptimized honours it)
# and browsers revalidate by ETag, so a publish shows without an invalidation.
STACK ?= zerobeta
HOSTED_UI ?=
console-publish: $(TOOLS_STAMP)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(VENV)/bin/aws cloudformation describe-stacks --stack-name "$(STACK)" \
	    --query 'Stacks[0].Outputs' --output json > "$$tmp/outputs.json"; \
	$(VENV)/bin/python -c 'import json, sys; \
	o = {x["OutputKey"]: x["OutputValue"] for x in json.load(open(sys.argv[1]))}; \
	hosted = o.get("HostedUiUrl") or sys.argv[3]; \
	hosted or sys.exit("the stack has no HostedUiUrl output (ExistingUserPoolId): pass HOSTED_UI=https://<domain>"); \
	admin = o["AdminApiUrl"].rstrip("/"); \
	region = admin.split("//", 1)[1].split(".")[2]; \
	url = o["ConsoleUrl"]; \
	config = {"adminApi": admin, "region": region, \
	          "auth": {"hostedUi": hosted.rstrip("/"), "clientId": o["UserPoolClientId"], \
	                   "redirectUri": url, "logoutUri": url, \
	                   "scopes": ["openid", "email", "profile", "aws.cognito.signin.user.admin"]}, \
	          "local": False}; \
	json.dump(config, open(sys.argv[2] + "/config.json", "w"), indent=2); \
	open(sys.argv[2] + "/bucket", "w").write(o["ConsoleBucketName"]); \
	open(sys.argv[2] + "/url", "w").write(url)' "$$tmp/outputs.json" "$$tmp" "$(HOSTED_UI)"; \
	bucket=$$(cat "$$tmp/bucket"); \
	$(VENV)/bin/aws s3 sync console/site/ "s3://$$bucket/console/" --delete \
	    --exclude '*.md' --exclude config.json --cache-control no-cache; \
	$(VENV)/bin/aws s3 cp "$$tmp/config.json" "s3://$$bucket/console/config.json" \
	    --content-type application/json --cache-control no-cache; \
	echo "console: $$(cat "$$tmp/url")"

# --------------------------------------------------------------------------- checks
fmt-check:
	cargo fmt --all --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

# cfn-lint and sam validate do not open the local DefinitionUri file, so
# scripts/lint-asl checks statemachines/*.asl.json (ASL schema + substitutions).
lint-template: $(TOOLS_STAMP)
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/sam validate --lint --template-file template.yaml
	$(VENV)/bin/python scripts/lint-asl

# The end-to-end tests run the function binaries (debug build: it reuses
# the test build's dependencies) behind an in-process local cloud.
# Each local cloud the tests start lists its stack and state folder in
# target/iam-runs.tsv, which `make iam-report` merges into one IAM report.
test: tools browser fmt-check clippy lint-template
	cargo build --workspace --bins
	mkdir -p $(CARGO_TARGET_DIR) && : > $(CARGO_TARGET_DIR)/iam-runs.tsv
	ZB_IAM_RUNS=$(CARGO_TARGET_DIR)/iam-runs.tsv scripts/with-dynamodb cargo test --workspace

# After `make test`: what every test's local cloud was denied and which granted
# permissions none of them used (SECURITY.md records the figures).
iam-report:
	$(CARGO_TARGET_DIR)/debug/zb iam report --runs $(CARGO_TARGET_DIR)/iam-runs.tsv

bench:
	cargo bench -p zb-shared --bench pipeline

# --------------------------------------------------------------------------- build
build:
	cargo build --release --workspace

# cargo: link with the host toolchain (no zig needed); the bootstraps then need
# the host glibc, which scripts/check-lambda-glibc holds to provided.al2023's 2.34.
# CARGO_LAMBDA_COMPILER=zig targets an older glibc wherever zig is installed.
CARGO_LAMBDA_COMPILER ?= cargo

sam-build: $(TOOLS_STAMP)
	@if ! cargo lambda --version >/dev/null 2>&1; then \
	    echo "error: 'cargo lambda' is not installed; sam build needs it for BuildMethod rust-cargolambda." >&2; \
	    echo "       install it with:  cargo install cargo-lambda --locked   (takes ~10 min)" >&2; \
	    exit 1; \
	fi
	CARGO_LAMBDA_COMPILER=$(CARGO_LAMBDA_COMPILER) $(VENV)/bin/sam build --template-file template.yaml
	scripts/check-lambda-glibc .aws-sam/build

# --------------------------------------------------------------------------- run
# The local cloud in the foreground: the partner API on :3000, the AWS
# endpoint (Step Functions, EventBridge, Lambda Invoke) on :4000, DynamoDB
# Local on :8000. Ctrl-C stops everything. ARGS="--api-port 3100" etc.
run: dynamodb-local local
	$(CARGO_TARGET_DIR)/local/zb up $(ARGS)

# Deletes .state/ (DynamoDB tables, execution histories, logs); refuses while a cloud runs.
reset: local
	$(CARGO_TARGET_DIR)/local/zb reset $(ARGS)

# Starts a local cloud on free ports, posts every sample feed in
# local/seed/feeds, waits for each execution and checks every outcome.
demo: dynamodb-local local
	$(CARGO_TARGET_DIR)/local/zb demo $(ARGS)

# 500 single-order feeds/s for 60 s against a local cloud on 127.0.0.1, then
# reconciliation. Bounded in count and time; stops on its own. The deployed
# (release) profile: load and cold-start figures measure what AWS would run.
load: dynamodb-local release
	$(CARGO_TARGET_DIR)/release/zb load --rate 500 --seconds 60 $(ARGS)

release:
	cargo build --release --workspace --bins

# The local cloud's own profile (Cargo.toml [profile.local]): built for a
# newcomer's first `make run`, not for speed; zb runs the binaries beside it.
local:
	cargo build --profile local --workspace --bins

# --------------------------------------------------------------------------- fuzz
# cargo-fuzz targets (fuzz/, outside the workspace): each partner format's
# parse -> validate -> transform path and the problem renderer, FUZZ_SECONDS
# each, one process (-jobs=1). Not part of `make test`. cargo fuzz needs
# nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain take them. No
# sanitizer: the code is safe Rust, and debug assertions (-a) turn integer
# overflow into a crash. New inputs go to .cache/fuzz/corpus, libFuzzer's
# log to .cache/fuzz/<target>.log, crashes to fuzz/artifacts/<target>/.
FUZZ_SECONDS ?= 200
FUZZ_TARGETS ?= partner_a_feed partner_b_feed problem_renderer
CARGO_FUZZ   := $(CACHE)/cargo-fuzz/bin/cargo-fuzz

$(CARGO_FUZZ):
	cargo install cargo-fuzz --version 0.13.2 --locked --root $(CACHE)/cargo-fuzz

fuzz: $(CARGO_FUZZ)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(CACHE)/fuzz/corpus/$$t; \
	    dict=""; [ -f fuzz/dict/$$t.dict ] && dict="-dict=fuzz/dict/$$t.dict"; \
	    echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	    ok=0; RUSTC_BOOTSTRAP=1 $(CARGO_FUZZ) fuzz run --fuzz-dir fuzz -s none -a $$t \
	        $(CACHE)/fuzz/corpus/$$t fuzz/seeds/$$t -- \
	        -max_total_time=$(FUZZ_SECONDS) -jobs=1 -print_final_stats=1 $$dict || ok=$$?; \
	    mv -f fuzz-0.log $(CACHE)/fuzz/$$t.log 2>/dev/null || true; \
	    [ $$ok -eq 0 ] || exit $$ok; \
	done

# --------------------------------------------------------------------------- clean
# clean: build outputs; distclean: also the installed tools.
clean:
	rm -rf .aws-sam
	cargo clean

distclean: clean
	rm -rf $(VENV) $(CACHE)
