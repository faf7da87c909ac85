# The two commands of the README: `make docs` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1

.PHONY: docs test validate build serve setup setup-test bench lock vendor mutate clean

# `mkdocs serve` builds the site itself (strictly, into a temporary directory): one build, not two.
docs: validate serve

test: setup-test validate
	$(BIN)/python -m pytest -n 2

validate: setup
	$(BIN)/homeops validate

build: setup validate
	$(BIN)/mkdocs build --strict

serve: setup
	$(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8000

bench: setup
	$(BIN)/python bench/validate_scale.py
	$(BIN)/python bench/docs_build.py
	$(BIN)/python bench/maintenance_log.py
	$(BIN)/python bench/runbook_overhead.py
	$(BIN)/python bench/stream_hold.py

# Mutation testing of the safety modules ([tool.mutmut] in pyproject.toml); not part of `make test`.
# Fails on a surviving mutant that tests/mutation/accepted.txt does not list with its reason.
# MUTANTS=homeops.gate* limits the run to one module; MUTMUT_JOBS sets how many run at once.
MUTANTS ?=
MUTMUT_JOBS ?= 2
mutate: setup-test
	nice -n 10 $(BIN)/mutmut run --max-children $(MUTMUT_JOBS) $(foreach m,$(MUTANTS),'$(m)')
	$(BIN)/python tests/mutation/survivors.py $(foreach m,$(MUTANTS),'$(m)')

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test

# Installs come from the lock files only (exact versions, hashes required); the project itself
# is installed without resolving anything. `make lock` regenerates them from pyproject.toml.
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

$(VENV)/.installed: pyproject.toml requirements/docs.lock
	.ci/system-packages python3-venv
	$(PYTHON) -m venv $(VENV)
	$(PIP) --require-hashes -r requirements/docs.lock
	$(PIP) --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements/test.lock
	.ci/system-packages chromium
	$(PIP) --require-hashes -r requirements/test.lock
	touch $@

# `--option=value` throughout: Renovate re-runs the command written in each lock file's header and
# accepts no other form (renovate.json, "pip-compile").
lock: setup-test
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version=3.11 --output-file=requirements/docs.lock -q
	$(BIN)/uv pip compile pyproject.toml --extra=test --generate-hashes --python-version=3.11 --output-file=requirements/test.lock -q

# The files requirements/vendored.json records (the Mermaid bundle), fetched at the recorded version.
vendor: setup
	$(BIN)/python requirements/vendor.py

clean:
	rm -rf $(VENV) site test-artifacts mutants  # never records/: the committed maintenance log
