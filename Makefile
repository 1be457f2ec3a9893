# vobiz-billing — every entry point a person or CI needs. `make help` lists them.

CARGO   ?= cargo
PERIOD  ?= 2026-03
OUT     ?= reports
BIN      = target/release/vobiz-billing
# What `cargo test` builds (test profile, dev-dependencies' features): the demo runs it too.
DEV_BIN  = target/debug/vobiz-billing

.DEFAULT_GOAL := help
.PHONY: help demo test lint bench sim sim-memory fmt clean fuzz

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

demo: ## Run the whole month end to end on the built-in simulator (no credentials, no network)
	@# One build for the demo and the tests: the binary `cargo test` builds for the integration
	@# tests runs the demo's 50 customers in seconds, so a first `make demo` is no release build
	@# and a `make test` after it builds nothing again.
	@test -x $(DEV_BIN) || echo "First build: 12 to 30 minutes on 2 cores (shared with make test; later runs take seconds)."
	@$(CARGO) test --all-targets --no-run --quiet
	@# Exit 3 is the point of the messy month: its planted problems are reconciliation errors.
	@$(DEV_BIN) demo --period $(PERIOD) --out $(OUT); rc=$$?; \
	if [ $$rc -eq 3 ]; then echo "exit 3 (reconciliation errors, as planted): see $(OUT)/$(PERIOD)/reconciliation.html"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

test: .venv/ok ## Unit and integration tests, then Parquet interop with Python readers
	scripts/ensure-tools.sh
	$(CARGO) test --all-targets
	# `cargo test` built the binary for the integration tests; a separate `cargo build`
	# would resolve features without dev-dependencies and recompile half the tree.
	scripts/interop.sh $(DEV_BIN)

# Python readers for the interop check (pinned), in a local virtualenv.
.venv/ok: scripts/interop-requirements.txt
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/interop-requirements.txt
	touch $@

lint: ## Formatting and clippy, warnings are errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

bench: ## Extract+normalize rows/s and peak memory for 1M CDRs; 1,000 invoices (HTML+PDF)
	$(CARGO) build --release --quiet
	scripts/bench.sh $(BIN)

sim: ## Serve the simulator on 127.0.0.1:8787 (seed 7, 50 accounts)
	$(CARGO) run --release --quiet -- sim --addr 127.0.0.1:8787 --seed 7 --accounts 50 --period $(PERIOD)

sim-memory: ## Peak memory of the simulator at 1,000 accounts x 10,000 calls (truth + a crawl)
	$(CARGO) build --release --quiet
	scripts/sim-memory.sh $(BIN)

fuzz: ## Fuzz the wire decoders, redaction, money and GSTIN parsers (cargo fuzz, FUZZ_SECONDS=60 each)
	scripts/fuzz.sh

clean: ## Remove build output and generated reports
	$(CARGO) clean
	find $(OUT) -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
