# Two commands for a newcomer: `make demo` (the main job) and `make test` (everything CI runs).
# `make drift` then runs the pipelines' drift check against the demo stack (DEMO_PORT: the
# sandbox's port, 8787). `make check` is the quick loop: lint, types, every test but end-to-end.
# All set up what they need: the virtualenv (.venv) and the Pulumi engine (.tools/bin).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What `make venv` installs: a lock file of exact versions with their hashes (pip refuses any
# file whose hash differs), the dev tools included; CI's deploy jobs pass
# LOCK=requirements/run.txt, the package's own dependencies alone. `make lock` writes both.
LOCK ?= requirements/dev.txt
STAMP := $(VENV)/.installed-$(notdir $(LOCK))
# pytest-xdist workers: one per core by default. End-to-end tests each have their own sandbox
# port, PULUMI_HOME, state folder and process marker, so they run side by side.
TEST_WORKERS ?= auto
PYTEST := PATH="$(CURDIR)/.tools/bin:$$PATH" $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

.PHONY: demo drift check test engine venv lint clean bench docs lock actionlint soak sdk

demo: venv engine
	bash scripts/demo.sh

drift: venv engine
	bash scripts/drift.sh

test: venv engine actionlint lint
	$(PYTEST)

check: venv lint
	$(PYTEST) -m "not e2e"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Not part of `make test`: the real engine against the sandbox, this provider vs a naive one
# (see bench/README.md). BENCH_N / BENCH_N_UNLIMITED: room counts with and without the
# published limits; BENCH_WINDOW: the sandbox's minute in seconds; BENCH_QUICK=1: small N;
# BENCH_RUNNERS: rooms per stack of the runners scenario (0 skips it).
# Not part of `make test`: the stateful property test (tests/provider/test_stateful.py) run far longer than
# in `make check`, with fresh random seeds each run (SOAK_EXAMPLES: how many runs of the machine).
SOAK_EXAMPLES ?= 300
soak: venv
	NEXUDUS_SOAK_EXAMPLES=$(SOAK_EXAMPLES) $(BIN)/python -m pytest -q tests/provider/test_stateful.py

# BENCH_ARGS=--startup: only `nexudus-pulumi --help` against `python -c "import requests, pydantic"`
# (bench/startup.py; --startup-runs N), which needs neither the engine nor the plot's matplotlib.
BENCH_STARTUP = $(findstring --startup,$(BENCH_ARGS))
BENCH_PLOT = $(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[dev,bench]'
bench: venv $(if $(BENCH_STARTUP),,engine)
	$(if $(BENCH_STARTUP),,$(BENCH_PLOT))
	$(BIN)/python -m bench $(if $(BENCH_QUICK),--quick) $(if $(BENCH_N),--limited $(BENCH_N)) \
		$(if $(BENCH_N_UNLIMITED),--unlimited $(BENCH_N_UNLIMITED)) \
		$(if $(BENCH_WINDOW),--window-seconds $(BENCH_WINDOW)) \
		$(if $(BENCH_RUNNERS),--runners $(BENCH_RUNNERS)) $(BENCH_ARGS)

# The tables of docs/ (inputs, outputs, settings) written from the code, and the plugin's pages
# (docs/plugin/) from its schema; tests/tools/test_docs.py and tests/provider/test_plugin_schema.py fail when a
# committed page differs.
docs: venv
	$(BIN)/python -m nexudus_pulumi.docgen
	$(BIN)/python -m nexudus_pulumi.schemadocs

engine:
	bash scripts/install-engine.sh
	bash scripts/install-sdk-tools.sh

# The plugin's TypeScript, Go and C# SDKs, generated from its schema into sdk/ (not committed).
sdk: venv engine
	rm -rf sdk
	$(BIN)/python -c 'from nexudus_pulumi.schema import schema_text; print(schema_text())' >.tools/schema.json
	.tools/bin/nexudus-gensdk .tools/schema.json nodejs sdk/nodejs
	.tools/bin/nexudus-gensdk .tools/schema.json go sdk/go
	cp scripts/sdk/go/go.mod scripts/sdk/go/go.sum sdk/go/
	.tools/bin/nexudus-gensdk-dotnet .tools/schema.json sdk/dotnet

# actionlint, pinned by scripts/lint/go.mod and built from the Go module proxy (as the engine is):
# tests/tools/test_pipeline_recipes.py checks the GitHub workflow with it (and skips without it, but
# under CI=true fails).
actionlint: .tools/bin/actionlint

.tools/bin/actionlint: scripts/lint/go.mod scripts/lint/go.sum
	mkdir -p .tools/bin
	cd scripts/lint && go build -trimpath -o "$(CURDIR)/.tools/bin/actionlint" github.com/rhysd/actionlint/cmd/actionlint

venv: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# The lock files, after a change of pyproject.toml's dependencies (uv resolves for every platform
# and Python from 3.11; the run lock keeps the dev lock's versions).
lock: venv
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/python -m uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command 'make lock' -q -o requirements/dev.txt
	$(BIN)/python -m uv pip compile pyproject.toml requirements/run.in -c requirements/dev.txt \
		--universal --python-version 3.11 --generate-hashes --custom-compile-command 'make lock' \
		-q -o requirements/run.txt

clean:
	rm -rf $(VENV) .tools .pulumi-state .pytest_cache .mypy_cache .ruff_cache .hypothesis
