# socflow: two commands do everything.
#   make run   - set up (if needed) and run the whole workflow on the default synthetic data
#   make test  - set up (if needed), then formatting, lint and tests
# Versions are pinned in environment.yml only; the virtualenv is built from those pins.

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

SACRO_VENV ?= .venv-sacro

.PHONY: run test lint bench setup browser sacro-viewer clean-results

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

# Headless Chromium for the offline-render check of the HTML report (tests/browser.py).
# Installed with apt when missing (sudo only when not root); if that is impossible, a warning,
# and `make test` then fails its browser tests instead of skipping them.
browser:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "WARNING: $(CHROMIUM) is missing and apt-get is unavailable: install Chromium" \
			"yourself, or the browser tests will fail" >&2; exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	echo "Installing chromium with apt-get (for the report's headless-browser check)"; \
	if $$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; then :; \
	else echo "WARNING: could not install chromium with apt-get: the browser tests will" \
		"fail until $(CHROMIUM) exists" >&2; fi

# The SACRO viewer (the output checkers' tool) in a virtualenv of its own, for the test that
# opens the checker folder with it (tests/sacro_check.py); pinned in environment.yml.
$(SACRO_VENV)/.installed: environment.yml tools/requirements_from_env.py
	@test -x $(SACRO_VENV)/bin/python || $(PYTHON) -m venv $(SACRO_VENV)
	$(PYTHON) tools/requirements_from_env.py environment.yml --extra sacro-viewer \
		> $(SACRO_VENV)/requirements.txt
	$(SACRO_VENV)/bin/python -m pip install --quiet -r $(SACRO_VENV)/requirements.txt
	touch $@

sacro-viewer: $(SACRO_VENV)/.installed

test: lint browser sacro-viewer
	SOCFLOW_REQUIRE_BROWSER=1 SOCFLOW_CHROMIUM=$(CHROMIUM) \
		SOCFLOW_SACRO_PYTHON=$(SACRO_VENV)/bin/python $(BIN)/python -m pytest

# Whole-stage timings at the full synthetic scale (medians of several runs, Snakemake's own
# benchmark files): synthesis and ingest, then every stage after the ingest.
bench: $(STAMP)
	$(BIN)/python tools/bench.py --scale full
	$(BIN)/python tools/bench_stages.py --scale full

clean-results:
	rm -rf results reports/release checker logs benchmarks
