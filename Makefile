# Two commands for a newcomer: `make demo` (the main job) and `make test` (everything CI runs).
# `make drift` then runs the pipelines' drift check against the demo stack (DEMO_PORT: the
# sandbox's port, 8787). `make check` is the quick loop: lint, types, every test but end-to-end.
# All set up what they need: the virtualenv (.venv) and the Pulumi engine (.tools/bin).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist workers: one per core by default. End-to-end tests each have their own sandbox
# port, PULUMI_HOME, state folder and process marker, so they run side by side.
TEST_WORKERS ?= auto
PYTEST := PATH="$(CURDIR)/.tools/bin:$$PATH" $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

.PHONY: demo drift check test engine venv lint clean bench docs sdk

demo: venv engine
	bash scripts/demo.sh

drift: venv engine
	bash scripts/drift.sh

test: venv engine lint
	$(PYTEST)

check: venv lint
	$(PYTEST) -m "not e2e"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Not part of `make test`: the real engine against the sandbox, this provider vs a naive one
# (see bench/README.md). BENCH_N / BENCH_N_UNLIMITED: room counts with and without the
# published limits; BENCH_WINDOW: the sandbox's minute in seconds; BENCH_QUICK=1: small N.
bench: venv engine
	$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench $(if $(BENCH_QUICK),--quick) $(if $(BENCH_N),--limited $(BENCH_N)) \
		$(if $(BENCH_N_UNLIMITED),--unlimited $(BENCH_N_UNLIMITED)) \
		$(if $(BENCH_WINDOW),--window-seconds $(BENCH_WINDOW)) $(BENCH_ARGS)

# The tables of docs/ (inputs, outputs, settings) written from the code, and the plugin's pages
# (docs/plugin/) from its schema; tests/test_docs.py and tests/test_plugin_schema.py fail when a
# committed page differs.
docs: venv
	$(BIN)/python -m nexudus_pulumi.docgen
	$(BIN)/python -m nexudus_pulumi.schemadocs

engine:
	bash scripts/install-engine.sh
	bash scripts/install-sdk-tools.sh

# The plugin's TypeScript and Go SDKs, generated from its schema into sdk/ (not committed).
sdk: venv engine
	rm -rf sdk
	$(BIN)/python -c 'from nexudus_pulumi.schema import schema_text; print(schema_text())' >.tools/schema.json
	.tools/bin/nexudus-gensdk .tools/schema.json nodejs sdk/nodejs
	.tools/bin/nexudus-gensdk .tools/schema.json go sdk/go
	cp scripts/sdk/go/go.mod scripts/sdk/go/go.sum sdk/go/

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) .tools .pulumi-state .pytest_cache .mypy_cache .ruff_cache .hypothesis
