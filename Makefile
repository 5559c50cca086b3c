# MICS - one command to run it, one to test it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# pytest worker processes (pytest-xdist); 0 runs the suite in this process
PYTEST_WORKERS ?= 2

.PHONY: install install-dev demo test lint typecheck pytest lock bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock $(VENV)/.installed
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	touch $@

## install: create .venv and install the locked runtime dependencies (idempotent)
install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## demo: install, migrate the database, load the demo data, serve http://$(HOST):$(PORT)
demo: install
	$(BIN)/mics db upgrade
	$(BIN)/mics demo --host $(HOST) --port $(PORT)
	$(BIN)/mics serve --host $(HOST) --port $(PORT)

## test: ruff, mypy --strict and the whole pytest suite
test: install-dev lint typecheck pytest

lint:
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not serial"
	$(BIN)/pytest -m serial

## lock: re-resolve the lock files after changing pyproject.toml (needs uv)
lock:
	uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -q -o requirements.lock
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -q -o requirements-dev.lock

bench: install-dev
	$(BIN)/python bench/capture.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
