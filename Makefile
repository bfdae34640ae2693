# Two commands: `make run` and `make test`. Both create .venv and install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run worker test lint format bench soak screenshots lighthouse lighthouse-deps clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/ecovarejo serve $(ARGS)

worker: install
	$(BIN)/ecovarejo worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Three pytest processes, each with its own embedded PostgreSQL and Redis: much of the suite
# waits (polls, subprocesses, servers starting), so a third process still pays on two cores
# (a fifth of the time in a measured slice: bench/README.md, "The test suite's time"). A
# module marked `xdist_group` runs whole on one of them (loadgroup), the rest is shared out.
PYTEST_WORKERS ?= 3

# Lighthouse's performance score depends on the CPU it gets: it runs after the suite, alone.
test: install lint lighthouse-deps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS) \
	  --ignore=tests/browser/test_storefront_lighthouse.py
	$(BIN)/python -m pytest -q -p no:randomly tests/browser/test_storefront_lighthouse.py

# Lighthouse for the storefront (npm, pinned in tools/lighthouse; Node 20 runs 12.2.3): the
# test module skips without it locally and fails under CI=true.
LIGHTHOUSE := tools/lighthouse/node_modules/.bin/lighthouse

$(LIGHTHOUSE): tools/lighthouse/package.json tools/lighthouse/package-lock.json
	cd tools/lighthouse && npm ci --no-audit --no-fund --silent
	@touch $@

lighthouse-deps:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(LIGHTHOUSE); \
	  else echo "make: npm not found: the Lighthouse test will skip (fail under CI=true)"; fi

lighthouse: install lighthouse-deps
	$(BIN)/python -m pytest -q -s -p no:randomly tests/browser/test_storefront_lighthouse.py

# The README's pictures of the console and the storefront, taken by the browser tests
# (tests/browser: desktop and 390 px phone for the storefront).
screenshots: install
	ECOVAREJO_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/browser -q \
	  --ignore=tests/browser/test_storefront_lighthouse.py

bench: install
	@command -v wrk >/dev/null || { echo "make bench: installing wrk (Debian package)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m bench

# Memory under a long mixed load (bench/soak.py); SOAK_MINUTES=5 for a shorter one.
soak: install
	@command -v wrk >/dev/null || { echo "make soak: installing wrk (Debian package)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
	@echo "removed build and test caches; your data is untouched."
	@echo "to reset the embedded system's data too: stop 'make run' / 'ecovarejo serve', then"
	@echo "  rm -rf \"\$${ECOVAREJO_DATA_DIR:-\$${XDG_DATA_HOME:-\$$HOME/.local/share}/ecovarejo}\""
	@echo "('ecovarejo where' shows which data dir and servers a configuration uses)"
