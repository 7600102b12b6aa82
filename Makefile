# socflow: two commands do everything.
#   make run   - set up (if needed) and run the whole workflow on the default synthetic data
#   make test  - set up (if needed), then formatting, lint and tests
# Versions are pinned in environment.yml only; the virtualenv is built from those pins.

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
STAMP := $(VENV)/.installed

.PHONY: run test lint bench setup clean-results

$(VENV)/requirements.txt: environment.yml tools/requirements_from_env.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python tools/requirements_from_env.py environment.yml > $@

$(STAMP): $(VENV)/requirements.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(VENV)/requirements.txt
	touch $@

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

lint: $(STAMP)
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --cores 1
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python tools/bench.py

clean-results:
	rm -rf results reports/*.html reports/*.md logs benchmarks
