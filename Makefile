# grubook: `make test` and `make book` work from a fresh clone (they create .venv first).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NOTEBOOKS := $(sort $(wildcard chapters/*.ipynb))
# OpenMP threads that wait sleep instead of spinning. Two pytest workers, or two notebook kernels,
# share the 2 cores: spinning made a torch loop 4-7x slower there, with bit-identical results.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install widgets-js lint test test-package test-notebooks book test-site browser-deps \
	execute student-notebooks clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# The widget manager the pages with widgets load from the site (package.json: require.js,
# @jupyter-widgets/html-manager, anywidget's front end), from the npm registry as the lock file
# pins it; the book's build copies the few files it needs into _build/html/_static/widgets/.
NODE_STAMP := node_modules/.grubook-stamp
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

widgets-js: $(NODE_STAMP)

# Everything CI runs: lint, package and book tests, every notebook run fresh and checked against
# its stored outputs and run again as Colab runs it, the strict book build, and the browser check
# of the built site. Each pytest run uses both cores (pytest-xdist).
test: lint test-package test-notebooks book test-site

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-package: install
	$(BIN)/python -m pytest tests -q -n 2 -m "not site and not notebooks"

# Each chapter once in a fresh kernel, compared with its stored outputs (tests/notebook_check.py:
# glued values, printed results, errors, 90 s), and each chapter as Colab runs it
# (tests/test_colab.py, on one worker); the run times are listed at the end.
test-notebooks: install
	$(BIN)/python -m pytest tests -q -n 2 --dist loadgroup -m notebooks -p notebook_check

# The site from the stored outputs (execute_notebooks: off); warnings are errors.
book: install widgets-js
	rm -rf _build/.doctrees
	$(BIN)/jupyter-book build . -W -n --keep-going

test-site: install browser-deps widgets-js
	$(BIN)/python -m pytest tests -q -m site

# Debian's Chromium (root, or sudo where the user is not root).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser-deps:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Re-execute every notebook in place (fresh kernel, top to bottom); record each run time.
execute: install
	$(BIN)/python scripts/execute_notebooks.py $(NOTEBOOKS)

# Copies of the chapters without the cells tagged `solution`, for a course.
student-notebooks: install
	$(BIN)/jupyter nbconvert --to notebook --output-dir student-notebooks \
		--TagRemovePreprocessor.enabled=True \
		--TagRemovePreprocessor.remove_cell_tags='["solution"]' $(NOTEBOOKS)

clean:
	rm -rf _build student-notebooks node_modules $(VENV)
