# Every target creates .venv when it is missing, so a fresh clone needs only Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench package lint requirements clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade 'pip<26.3'  # chalice 1.34 requires pip<26.3
	$(BIN)/pip install -q -e '.[dev]'
	# checkov (template checks in tests/functional/test_package.py) in its own virtualenv:
	# its pins conflict with the app's (pyproject.toml, dependency group "checkov").
	test -x $(VENV)/checkov/bin/python || $(BIN)/python -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install -q --upgrade 'pip<26.3'
	$(VENV)/checkov/bin/pip install -q --group checkov
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/pulse local

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pulse_local.bench

package: $(STAMP)
	$(BIN)/python -m pulse_local.package

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy chalicelib

requirements: $(STAMP)
	$(BIN)/python -m pulse_local.requirements --write

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache
