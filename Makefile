# socflow: two commands do everything.
#   make run   - set up (if needed) and run the whole workflow on the default synthetic data
#   make test  - set up (if needed), then formatting, lint and tests
#   make wheelhouse - every pinned runtime package as a wheel in wheelhouse/, to carry into a
#                     secure room without internet (README, "Installing without internet")
# Versions are pinned in environment.yml (runtime) and environment.dev.yml (development tools)
# only; the virtualenv is built from those pins.

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

SACRO_VENV ?= .venv-sacro

.PHONY: run test lint bench setup browser sacro-viewer fixtures clean-results wheelhouse \
	draft-mapping slurm test-slurm

WHEELHOUSE ?= wheelhouse

$(VENV)/requirements.txt: environment.yml environment.dev.yml tools/requirements_from_env.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python tools/requirements_from_env.py environment.yml environment.dev.yml > $@

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
# opens the checker folder with it (tests/sacro_check.py); pinned in environment.dev.yml.
$(SACRO_VENV)/.installed: environment.dev.yml tools/requirements_from_env.py
	@test -x $(SACRO_VENV)/bin/python || $(PYTHON) -m venv $(SACRO_VENV)
	$(PYTHON) tools/requirements_from_env.py environment.dev.yml --extra sacro-viewer \
		> $(SACRO_VENV)/requirements.txt
	$(SACRO_VENV)/bin/python -m pip install --quiet -r $(SACRO_VENV)/requirements.txt
	touch $@

sacro-viewer: $(SACRO_VENV)/.installed

test: lint browser sacro-viewer
	SOCFLOW_REQUIRE_BROWSER=1 SOCFLOW_CHROMIUM=$(CHROMIUM) \
		SOCFLOW_SACRO_PYTHON=$(SACRO_VENV)/bin/python $(BIN)/python -m pytest -m "not slurm"
	$(MAKE) test-slurm

# A single-node SLURM cluster on this machine (tools/slurm_local.sh), from Debian's packages,
# apt-installed when missing (as root, or with sudo); the daemons run as root.
SLURM_PACKAGES := munge slurm-wlm slurmdbd mariadb-server
slurm:
	@if command -v slurmctld >/dev/null 2>&1 && command -v slurmdbd >/dev/null 2>&1 && \
		command -v munged >/dev/null 2>&1 && command -v mariadbd >/dev/null 2>&1; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "ERROR: the SLURM test needs $(SLURM_PACKAGES), and apt-get is unavailable:" \
			"install them yourself" >&2; exit 1; fi; \
	if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	echo "Installing $(SLURM_PACKAGES) with apt-get (for the SLURM test)"; \
	$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SLURM_PACKAGES)

# The tiny workflow through `snakemake --profile profiles/slurm` (the SLURM executor plugin) on
# that cluster, against a local run (tests/test_slurm.py); the daemons are stopped however the
# test ends. Needs root (the daemons; sudo is used when not root).
SLURM_ACCOUNT_LOCAL := socflow
SLURM_PARTITION_LOCAL := socflow
test-slurm: $(STAMP) slurm
	@if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	dir=$$(mktemp -d "$${TMPDIR:-/tmp}/socflow-slurm.XXXXXX"); \
	trap '$$SUDO tools/slurm_local.sh stop "'"$$dir"'"; $$SUDO rm -rf "'"$$dir"'"' EXIT; \
	trap 'exit 130' INT TERM; \
	$$SUDO env SLURM_LOCAL_PARTITION=$(SLURM_PARTITION_LOCAL) \
		SLURM_LOCAL_ACCOUNT=$(SLURM_ACCOUNT_LOCAL) tools/slurm_local.sh start "$$dir" || exit 1; \
	SLURM_CONF="$$dir/slurm.conf" SOCFLOW_SLURM_ACCOUNT=$(SLURM_ACCOUNT_LOCAL) \
		SOCFLOW_SLURM_PARTITION=$(SLURM_PARTITION_LOCAL) \
		$(BIN)/python -m pytest -m slurm -s tests/test_slurm.py

# Reference values from R's survival package for tests/test_survival_reference.py, written to
# tests/data/survival_r/ by tests/fixtures/r/survival_reference.R, and from R's glm with
# sandwich::vcovCL for tests/test_establishments_reference.py (tests/data/establishments_r/)
# (committed; `make test` reads them and never needs R). R and the packages are installed with
# apt when missing.
R_PACKAGES := r-base-core r-cran-survival r-cran-sandwich r-cran-mass
fixtures:
	@if ! command -v Rscript >/dev/null 2>&1 || \
		! Rscript -e 'library(survival); library(sandwich); library(MASS)' >/dev/null 2>&1; then \
		if ! command -v apt-get >/dev/null 2>&1; then \
			echo "ERROR: R with the survival and sandwich packages is needed, and apt-get" \
				"is unavailable: install $(R_PACKAGES) yourself" >&2; exit 1; fi; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		echo "Installing $(R_PACKAGES) with apt-get"; \
		$$SUDO apt-get update -qq && \
			$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(R_PACKAGES); \
	fi
	Rscript tests/fixtures/r/survival_reference.R tests/data/survival_r
	Rscript tests/fixtures/r/establishments_reference.R tests/data/establishments_r

# Where the time and memory go: every job alone (median wall time, peak memory from
# /usr/bin/time), the whole workflow after the synthesis, the re-run after a one-line edit of
# the SOC code list, and the scaling line in input rows, at the tiny, small and full synthetic
# scales (BENCH_SCALES); printed and written to results/bench/bench.md. Needs 6 GB free.
BENCH_SCALES ?= tiny,small,full
BENCH_REPEATS ?= 3
bench: $(STAMP)
	$(BIN)/python tools/bench.py --scales $(BENCH_SCALES) --repeats $(BENCH_REPEATS)

# The mapping assistant: a draft mapping of one extract onto one canonical table, offline and
# without Snakemake. make draft-mapping TABLE=crown_defendant_cases EXTRACT=path/to/extract
# [FORMAT=auto|csv|parquet] [OUT=results/mapping/<table>]
FORMAT ?= auto
draft-mapping: $(STAMP)
	@if [ -z "$(TABLE)" ] || [ -z "$(EXTRACT)" ]; then \
		echo "usage: make draft-mapping TABLE=<canonical table> EXTRACT=<file or folder>" \
			"[FORMAT=auto|csv|parquet] [OUT=<folder>]" >&2; exit 2; fi
	$(BIN)/python workflow/scripts/draft_mapping.py --table "$(TABLE)" --format "$(FORMAT)" \
		$(if $(OUT),--out "$(OUT)") "$(EXTRACT)"

# The runtime pins only (no development tools), as wheels built for this machine's platform and
# Python: install them in the room with
#   python3.11 -m venv .venv
#   .venv/bin/pip install --no-index --find-links wheelhouse -r wheelhouse/requirements.txt
wheelhouse: $(STAMP)
	mkdir -p $(WHEELHOUSE)
	$(BIN)/python tools/requirements_from_env.py environment.yml > $(WHEELHOUSE)/requirements.txt
	$(BIN)/python -m pip wheel --quiet -r $(WHEELHOUSE)/requirements.txt -w $(WHEELHOUSE)

clean-results:
	rm -rf results reports/release checker logs benchmarks
