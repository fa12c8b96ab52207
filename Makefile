# Masklet: two commands do all set-up on a fresh machine with Python 3.11.
#   make demo   install, migrate, bootstrap demo users and videos, serve on http://127.0.0.1:8000
#   make test   install, check, run the whole suite against the real services
#   make screenshots   the README's screenshots (docs/screenshots/), taken from a live demo in a temporary folder

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

NPM    ?= npm
FRONTEND_STAMP := frontend/node_modules/.installed
FRONTEND_SRC := $(shell find frontend/src frontend/index.html frontend/public frontend/vite.config.ts -type f 2>/dev/null)

.PHONY: demo test install lint check bench clean-demo frontend frontend-test screenshots

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Masklet needs Python 3.11 ($(PYTHON) not found); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstalls only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[test]"
	# The reference SAM 2, for the parity tests only (the product never imports it).
	$(PIP) install --quiet --no-deps "rf-sam-2==1.0.3"
	touch $(STAMP)

install: $(STAMP)

# The web UI: its packages when the lock changes, a build when a source changes.
$(FRONTEND_STAMP): frontend/package-lock.json
	@command -v $(NPM) >/dev/null 2>&1 || { echo "The web UI needs Node.js 20 and npm (e.g. apt-get install nodejs npm)"; exit 1; }
	# `npm install --no-save` rather than `npm ci`: the lock records no download addresses, and
	# npm ci then refuses it for lacking other platforms' optional packages; --no-save keeps it as is.
	cd frontend && $(NPM) install --no-save --no-audit --no-fund
	touch $(FRONTEND_STAMP)

frontend/dist/index.html: $(FRONTEND_STAMP) $(FRONTEND_SRC)
	cd frontend && $(NPM) run build

frontend: frontend/dist/index.html

frontend-test: $(FRONTEND_STAMP) install
	cd frontend && $(NPM) test
	cd frontend && PYTHON=$(abspath $(PY)) $(NPM) run check:api

lint: install
	$(VENV)/bin/ruff check .

check: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

test: install lint check frontend frontend-test
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(PY) -m bench

demo: install frontend
	$(PY) manage.py demo --host $(HOST) --port $(PORT)

# Starts the demo in a temporary folder (not var/), drives Chromium (CHROMIUM, default /usr/bin/chromium)
# through it as the demo users, writes docs/screenshots/*.png and stops everything it started.
screenshots: install frontend
	$(PY) -m browser_harness.screenshots

clean-demo:
	rm -rf var/
