# Two commands: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The suite runs on one pytest-xdist worker per core. Tests go out one by one in pytest-django's
# order, so on each worker those that flush the database (live server, real workers) still run
# after those that roll back (not --dist loadscope: a module would carry its flushing tests ahead
# of another's). PYTEST_ARGS adds to it, e.g. PYTEST_ARGS="-k segment".
XDIST ?= -n auto

LOWEST := .venv-lowest
LOWEST_STAMP := $(LOWEST)/.installed-stamp

.PHONY: demo test test-lowest lowest-venv test-postgres chromium gettext messages axe benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,postgres,redis]"
	touch $(STAMP)

# Debian's Chromium drives the browser tests (a browser download does not work everywhere).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# GNU gettext: the tests run Django's makemessages over the package (tests/test_translations.py).
gettext:
	@command -v xgettext >/dev/null 2>&1 || { \
		echo "Installing Debian's gettext for the translation tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gettext >/dev/null; }

# The source catalogue translators start from (docs/translating.md): every string in English.
messages: $(STAMP) gettext
	cd wagtail_segments && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=.. \
		../$(BIN)/python -m django makemessages --locale en --no-obsolete --add-location file

# axe-core from npm (pinned in tests/js/package-lock.json): the browser tests run it inside
# the admin's pages (tests/axe.py). No CDN: the script is read from this directory.
AXE := tests/js/node_modules/axe-core/axe.min.js
$(AXE): tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --silent
	touch $(AXE)

axe: $(AXE)

demo: $(STAMP)
	$(BIN)/python example_site/manage.py migrate --noinput
	$(BIN)/python example_site/manage.py load_demo
	@bash example_site/run_demo.sh $(BIN)/python

test: $(STAMP) chromium gettext $(AXE)
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# The suite with every dependency at the lower bound pyproject.toml declares (.ci/lowest.txt
# pins them), in a venv of its own: the oldest Django and Wagtail the package claims to support.
# It runs on whatever TEST_DATABASE_URL names (.ci/run: PostgreSQL), else SQLite.
$(LOWEST_STAMP): pyproject.toml .ci/lowest.txt
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet --upgrade pip
	$(LOWEST)/bin/python -m pip install --quiet -c .ci/lowest.txt -e ".[test,postgres,redis]"
	touch $(LOWEST_STAMP)

lowest-venv: $(LOWEST_STAMP)

test-lowest: $(LOWEST_STAMP) chromium gettext $(AXE)
	$(LOWEST)/bin/python -m pytest $(XDIST) $(PYTEST_ARGS)

# The suite on a PostgreSQL database of its own (the server at 127.0.0.1:5432, user postgres).
test-postgres: $(STAMP) chromium gettext $(AXE)
	psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS wagtail_segments_dev;" -c "CREATE DATABASE wagtail_segments_dev;"
	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/wagtail_segments_dev $(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

benchmark: $(STAMP)
	$(BIN)/python -m tests.benchmarks --quick

clean:
	rm -rf $(VENV) $(LOWEST) example_site/db.sqlite3*
