# Two commands matter: `make serve` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps ontology graph assets serve test lint bench loadtest fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall whenever the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(STAMP)

# Debian packages: nginx (the service's HTTP edge) and what the tests drive, headless Chromium and its driver.
system-deps:
	@bash .ci/system-deps test

ontology: setup
	$(BIN)/coprokg ontology build
	$(BIN)/coprokg ontology docs

# The embedded store with the ontology, the shipped cases and the inferred graph; rebuilt when one of
# them changed since.
graph: ontology
	$(BIN)/coprokg build --if-outdated

# The query editor (CodeMirror 6 from the npm registry), bundled once and served locally: no CDN.
ASSETS := server/static/build/editor.js
$(ASSETS): package.json package-lock.json server/static/src/editor.js server/static/src/fonts.css
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build

assets: $(ASSETS)

serve: graph assets
	@bash .ci/system-deps serve
	$(BIN)/coprokg serve

test: system-deps ontology assets lint
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check kg server tests bench

# Benchmarks (not part of `make test`): wrk from Debian, oxigraph and matplotlib from the bench extra.
# BENCH_ARGS passes options, e.g. `make bench BENCH_ARGS=--quick` or `BENCH_ARGS=--10m`.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	touch $@

bench: setup $(BENCH_STAMP)
	@bash .ci/system-deps bench
	$(BIN)/python -m bench $(BENCH_ARGS)

# Load test (not part of `make test`): wrk at 8, 32 and 64 clients against `coprokg serve` on a fresh store,
# loopback only. LOADTEST_ARGS passes options, e.g. `make loadtest LOADTEST_ARGS="--seconds 10 --soak 600"`.
LOADTEST_ARGS ?= --seconds 20 --soak 60
loadtest: ontology
	@bash .ci/system-deps bench
	$(BIN)/python -m bench.loadtest $(LOADTEST_ARGS)

# The longer fuzz run: schemathesis over the API and random SPARQL against `coprokg serve`, then the
# Accept-header property tests with many more examples. FUZZ_ARGS passes options to bench.fuzz.
fuzz: ontology
	$(BIN)/python -m bench.fuzz $(FUZZ_ARGS)
	COPROKG_FUZZ_EXAMPLES=3000 $(BIN)/pytest -q -p no:cacheprovider tests/test_hostile.py -k accept

clean:
	rm -rf data ontology/build tests/output server/static/build
