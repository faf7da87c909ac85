# The two commands of the README: `make docs` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1

.PHONY: docs test validate build serve setup setup-test bench lock clean

docs: build serve

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

lock: setup-test
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements/docs.lock -q
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11 -o requirements/test.lock -q

clean:
	rm -rf $(VENV) site test-artifacts  # never records/: the committed maintenance log
