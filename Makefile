# Two commands matter: `make serve` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps ontology graph serve test bench clean

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

# The embedded store with the ontology, the shipped cases and the inferred graph.
graph: ontology
	$(BIN)/coprokg build --if-missing

serve: graph
	$(BIN)/coprokg serve

test: system-deps ontology
	$(BIN)/pytest

bench: setup
	@bash .ci/system-deps bench
	$(BIN)/python -m bench

clean:
	rm -rf data ontology/build tests/output
