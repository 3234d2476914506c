# Two commands: `make demo` (set up, load the demo community, serve) and `make test`.
# With DATABASE_URL set, both use that database server instead of a local one.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSETS_STAMP := maps/assets/node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test fuzz setup lint bench-locate clean browser gis-clients

$(STAMP): pyproject.toml scripts/python-env
	scripts/python-env $(VENV)
	touch $@

# The map pages' JavaScript and CSS (npm ci of maps/assets), after the Python environment.
$(ASSETS_STAMP): maps/assets/package.json maps/assets/package-lock.json scripts/web-assets | $(STAMP)
	scripts/web-assets
	touch $@

# make demo runs in demo mode: the documented demo secret and accounts (README) are accepted.
setup: $(STAMP) $(ASSETS_STAMP)
	@url=$$(scripts/local-postgis gridline) && export DATABASE_URL="$${DATABASE_URL:-$$url}" && \
	export GRIDLINE_MODE="$${GRIDLINE_MODE:-demo}" && \
	$(BIN)/gridline db upgrade && $(BIN)/gridline demo load

demo: setup
	@url=$$(scripts/local-postgis gridline) && export DATABASE_URL="$${DATABASE_URL:-$$url}" && \
	export GRIDLINE_MODE="$${GRIDLINE_MODE:-demo}" && \
	echo "Gridline on http://$(HOST):$(PORT)/  (API docs /docs, map /maps/communities/330303003001)" && \
	exec $(BIN)/gridline serve --host $(HOST) --port $(PORT)

# Debian's chromium (and CJK fonts) for tests/browser; without root on Debian they are skipped.
browser:
	@scripts/browser

# GDAL's ogrinfo for the OGC API client tests; likewise skipped when it cannot be installed.
gis-clients:
	@scripts/gis-clients

test: $(STAMP) $(ASSETS_STAMP) browser gis-clients
	@url=$$(scripts/local-postgis gridline_test) && \
	export GRIDLINE_TEST_DATABASE_URL="$${GRIDLINE_TEST_DATABASE_URL:-$$url}" && \
	restore=$$(scripts/local-postgis gridline_test_restore) && \
	export GRIDLINE_RESTORE_TEST_DATABASE_URL="$${GRIDLINE_RESTORE_TEST_DATABASE_URL:-$$restore}" && \
	$(BIN)/ruff check --no-cache . && $(BIN)/ruff format --no-cache --check . && $(BIN)/pytest $(PYTEST_ARGS)

# Hostile input against the OpenAPI schema (schemathesis: fixed seed, bounded, about a minute)
# and the regression tests of what it found; `make test` runs both with the rest of the suite.
fuzz: $(STAMP)
	@url=$$(scripts/local-postgis gridline_test) && \
	export GRIDLINE_TEST_DATABASE_URL="$${GRIDLINE_TEST_DATABASE_URL:-$$url}" && \
	$(BIN)/pytest tests/test_fuzz.py tests/test_fuzz_regressions.py $(PYTEST_ARGS)

bench-locate: $(STAMP)
	@url=$$(scripts/local-postgis gridline_bench) && export DATABASE_URL="$${DATABASE_URL:-$$url}" && \
	$(BIN)/python bench/locate.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache maps/assets/node_modules
