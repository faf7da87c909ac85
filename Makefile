# The two commands of the README: `make docs` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1

.PHONY: docs test validate build serve setup setup-test bench clean

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
	$(BIN)/python bench/runbook_overhead.py

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	.ci/system-packages python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	.ci/system-packages chromium
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) site records test-artifacts
