# The project's commands. Each one sets itself up first (a .venv with the
# requirements and the package installed editable). Notebooks run on the
# stock "python3" kernel of that environment.
#   make run      execute every notebook headless (with a progress bar) into
#                 build/notebooks, then build the book from them: build/site/index.html
#   make book     the book from the committed notebooks, without running them
#                 (REPOSITORY=<public address> adds launch buttons to both)
#   make test     lint, then nbval re-execution of every notebook, the unit
#                 tests, the browser tests and the installed-wheel test
#   make lint     ruff (lint, import order, format) on the code and the notebooks
#   make check    lint and the quick unit tests (the loop while developing)
#   make lab      JupyterLab on the notebooks, with the project's kernel
#   make execute  re-run the notebooks in place to refresh their stored outputs
#   make assignment  the student editions (no answers, no check cells) in
#                 build/assignment/student/ and notebook 02's autograder (otter-grader)
#   make grade SUBMISSIONS=DIR  grade the notebooks in DIR -> build/grades.csv
#   make bench    measure speed side by side with the alternatives -> bench/RESULTS.md
#   make dist     build the wheel into dist/ (pip install dist/*.whl)
#   make figure   redraw the README's figure, docs/images/digits.png

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.mnist-viz-setup
BENCH_STAMP := $(VENV)/.mnist-viz-bench
KERNEL := python3
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
# Kernels of this environment first, before any a user has installed elsewhere.
export JUPYTER_PREFER_ENV_PATH := 1

.PHONY: setup run book execute test lint check lab assignment grade bench dist figure clean

setup: $(STAMP)

# Re-runs only when the requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL)
	touch $(STAMP)

# The public repository's address, for the book's launch buttons (none when empty).
REPOSITORY ?=

run: setup
	$(PY) tools/run_notebooks.py --out build $(NOTEBOOKS)
	$(PY) tools/build_book.py --notebooks build/notebooks --out build/site \
	    --repository "$(REPOSITORY)"

book: setup
	$(PY) tools/build_book.py --notebooks notebooks --out build/site --repository "$(REPOSITORY)"

execute: setup
	$(PY) tools/run_notebooks.py --inplace $(NOTEBOOKS)

# The notebooks run first: notebook 01 trains and caches the tutorial's network,
# which the later notebooks and the browser tests then load instead of training it.
test: lint
	$(PY) -m pytest $(NOTEBOOKS) tests --nbval --nbval-kernel-name $(KERNEL) \
	    --nbval-sanitize-with notebooks/sanitize.cfg

# Lint, import order and format, the notebooks' code included (ruff, configured
# in pyproject.toml); `ruff format .` fixes the format.
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The quick loop while developing: lint and the unit tests that need no trained
# network, browser, wheel or notebook run.
check: lint
	$(PY) -m pytest tests -m "not slow" -q

assignment: setup
	$(PY) tools/make_assignment.py --out build/assignment $(NOTEBOOKS)

# Each submission runs with the cached networks; one still running after
# TIMEOUT seconds is stopped and marked in the table.
SUBMISSIONS ?= submissions
TIMEOUT ?= 600
grade: setup
	@test -f build/assignment/autograder/02_exercises.zip || $(MAKE) assignment
	$(PY) tools/grade.py "$(SUBMISSIONS)" --out build/grades.csv --timeout $(TIMEOUT)

# tf-keras-vis is installed for the comparison only; the package never imports it.
$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PY) -m pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) bench/bench.py $(BENCH_ARGS)

figure: setup
	$(PY) tools/readme_figure.py docs/images/digits.png

lab: setup
	$(PY) -m jupyter lab --KernelManager.transport=ipc notebooks

# setuptools builds in build/lib; it is removed so no stale module reaches a wheel.
dist: setup
	rm -rf dist build/lib build/bdist.*
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist .
	rm -rf build/lib build/bdist.*
	@echo "Built: $$(ls dist/*.whl)"

clean:
	rm -rf build dist cache .pytest_cache
