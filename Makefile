# Entry points for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKDIR ?= demo

.PHONY: install demo test lint lock bench clean browser

$(BIN)/forecast: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(BIN)/forecast

demo: install
	$(BIN)/forecast demo --workdir $(WORKDIR)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Headless Chromium from Debian for the report's browser test (never a downloaded build).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

test: lint browser
	$(BIN)/pytest

lock: install
	{ echo "# Resolved dependency set, installed with: pip install -c constraints.txt -e '.[dev]'"; \
	  echo "# Regenerate after changing pyproject.toml: make lock"; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^shortage-forecast'; } > constraints.txt

bench: install
	$(BIN)/python benchmarks/bench_panel.py
	$(BIN)/python benchmarks/bench_quality.py

clean:
	rm -rf $(VENV) $(WORKDIR) .pytest_cache .mypy_cache .ruff_cache
