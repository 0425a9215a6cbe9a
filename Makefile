# The two commands: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= deploy/hookgate.example.toml

.PHONY: run test lint typecheck bench clean

$(BIN)/hookgate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/hookgate
	$(BIN)/hookgate dev --config $(CONFIG)

test: $(BIN)/hookgate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(BIN)/hookgate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/hookgate
	$(BIN)/mypy

bench: $(BIN)/hookgate
	$(BIN)/python tests/bench/ingest.py
	$(BIN)/python tests/bench/processing.py
	$(BIN)/python tests/bench/replay.py

clean:
	rm -rf $(VENV) .hookgate .pytest_cache .mypy_cache .ruff_cache
