# Two commands matter: `make serve` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps ontology graph assets serve test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall whenever the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(STAMP)

# Debian packages the tests drive: headless Chromium and its driver.
system-deps:
	@bash .ci/system-deps

ontology: setup
	$(BIN)/coprokg ontology build
	$(BIN)/coprokg ontology docs

# The embedded store with the ontology, the shipped cases and the inferred graph.
graph: ontology
	$(BIN)/coprokg build --if-missing

# The query editor (CodeMirror 6 from the npm registry), bundled once and served locally: no CDN.
ASSETS := server/static/build/editor.js
$(ASSETS): package.json package-lock.json server/static/src/editor.js server/static/src/fonts.css
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build

assets: $(ASSETS)

serve: graph assets
	$(BIN)/coprokg serve

test: system-deps ontology assets
	$(BIN)/pytest

# Benchmarks (not part of `make test`): wrk from Debian, oxigraph and matplotlib from the bench extra.
# BENCH_ARGS passes options, e.g. `make bench BENCH_ARGS=--quick` or `BENCH_ARGS=--10m`.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	touch $@

bench: setup $(BENCH_STAMP)
	@bash .ci/system-deps bench
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf data ontology/build tests/output server/static/build
