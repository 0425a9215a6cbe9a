# The two commands: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= deploy/hookgate.example.toml
# uv installs exactly what uv.lock names (versions and hashes, runtime and dev); pip only installs uv,
# itself pinned with hashes in requirements-uv.txt. --compile-bytecode writes the installed packages'
# .pyc files once, as pip does and uv does not by default: where PYTHONDONTWRITEBYTECODE is set, every
# hookgate process the tests start would otherwise compile its imports again (4.8 s to import the app
# on a 2-core machine, 1.7 s compiled).
UV := --quiet --disable-pip-version-check --require-hashes --requirement requirements-uv.txt

.PHONY: run test test-fast test-latest upgrade lint typecheck bench chaos fuzz clean chromium prometheus haproxy screenshots

$(BIN)/hookgate: pyproject.toml uv.lock requirements-uv.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(UV)
	$(BIN)/uv sync --frozen --inexact --extra dev --no-python-downloads --quiet --compile-bytecode
	touch $@

run: $(BIN)/hookgate
	$(BIN)/hookgate dev --config $(CONFIG)

test: $(BIN)/hookgate chromium prometheus haproxy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not long"

# The unit tests alone, in well under a minute: no redis-server, hookgate processes, browser or promtool.
test-fast: $(BIN)/hookgate
	$(BIN)/python -m pytest -m "not integration" -q

# Refresh uv.lock to the newest releases inside pyproject.toml's ranges (commit it after `make test`).
upgrade: $(BIN)/hookgate
	$(BIN)/uv lock --upgrade

# The whole suite against the newest releases inside the ranges, not the lock: what a library user of
# hookgate gets today. Its own venv, so .venv keeps the locked set.
LATEST := .venv-latest
test-latest: chromium prometheus haproxy
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install $(UV)
	$(LATEST)/bin/uv pip install --quiet --python $(LATEST)/bin/python --upgrade --resolution highest --compile-bytecode -e '.[dev]'
	$(LATEST)/bin/mypy
	$(LATEST)/bin/python -m pytest -p no:cacheprovider

# $(call debian,COMMAND,PACKAGE,WHO NEEDS IT,APT OPTIONS): Debian's PACKAGE, for tests that need COMMAND.
# Installed when root with apt-get; otherwise those tests skip locally and fail under CI=true.
debian = @command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's $(2) for $(3)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(4) $(2) >/dev/null; \
	  fi; \
	  command -v $(1) >/dev/null 2>&1 || echo "no $(1): $(3) will skip (and fail under CI=true)"; \
	}

# The dashboard's browser tests drive Debian's chromium (Playwright never downloads a browser here).
chromium:
	$(call debian,chromium,chromium,the browser tests)

# The alerting rules in deploy/prometheus are checked and unit-tested with Debian's promtool.
prometheus:
	$(call debian,promtool,prometheus,the Prometheus rule tests,--no-install-recommends)

# The failover and rolling-restart tests put two gateways behind Debian's haproxy, which the tests start.
haproxy:
	$(call debian,haproxy,haproxy,the high-availability tests)

# The README's dashboard screenshots, taken by the browser test.
screenshots: $(BIN)/hookgate chromium
	README_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e/test_dashboard.py

lint: $(BIN)/hookgate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/hookgate
	$(BIN)/mypy

bench: $(BIN)/hookgate
	$(BIN)/python tests/bench/ingest.py
	$(BIN)/python tests/bench/floor_vs.py
	$(BIN)/python tests/bench/processing.py
	$(BIN)/python tests/bench/filters.py
	$(BIN)/python tests/bench/outage.py
	$(BIN)/python tests/bench/ordering.py
	$(BIN)/python tests/bench/replay.py
	$(BIN)/python tests/bench/stats.py
	$(BIN)/python tests/bench/record.py
	$(BIN)/python tests/bench/dashboard.py
	$(BIN)/python tests/bench/tracing.py
	$(BIN)/python tests/bench/replicas.py
	$(BIN)/python tests/bench/redis_ceiling.py

# The fuzz suite, twenty times longer than in make test (FUZZ_SCALE scales the examples).
fuzz: $(BIN)/hookgate
	FUZZ_SCALE=20 $(BIN)/python -m pytest tests/fuzz

# Each fault (gateway, worker and Redis killed or shut down) five times under load; a table, exit 1 on loss.
# The long variants of make test's scenarios, then each fault five times with a table.
chaos: $(BIN)/hookgate haproxy
	$(BIN)/python -m pytest -m long
	ROUTING_EVENTS=1000 $(BIN)/python -m pytest tests/integration/test_routing.py
	$(BIN)/python tests/chaos/run.py

clean:
	rm -rf $(VENV) $(LATEST) .hookgate .pytest_cache .mypy_cache .ruff_cache
