# One-word entry points: `make check` before every commit (lint, types, unit tests);
# `make test` runs what CI runs after setting up the machine (.ci/run does both).
BIN := .venv/bin

.PHONY: check lint format types unit test

check: lint types unit

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

types:
	$(BIN)/mypy

unit:
	$(BIN)/python -m pytest tests/unit -q

test: lint types
	$(BIN)/python -m pytest
