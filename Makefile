# The project's commands. Each one sets itself up first (a .venv with the
# requirements and the package installed editable). Notebooks run on the
# stock "python3" kernel of that environment.
#   make run      execute every notebook headless into build/ (notebooks + HTML),
#                 with a progress bar; build/html/index.html links them all
#   make test     lint, then nbval re-execution of every notebook, the unit
#                 tests, the browser tests and the installed-wheel test
#   make lint     ruff on the package, tests, tools and notebooks
#   make check    lint and the quick unit tests (the loop while developing)
#   make lab      JupyterLab on the notebooks, with the project's kernel
#   make execute  re-run the notebooks in place to refresh their stored outputs
#   make student  write each notebook's student edition (no answers, no check
#                 cells) to build/student/
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

.PHONY: setup run execute test lint check lab student bench dist figure clean

setup: $(STAMP)

# Re-runs only when the requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL)
	touch $(STAMP)

run: setup
	$(PY) tools/run_notebooks.py --out build $(NOTEBOOKS)

execute: setup
	$(PY) tools/run_notebooks.py --inplace $(NOTEBOOKS)

# The notebooks run first: notebook 01 trains and caches the tutorial's network,
# which the later notebooks and the browser tests then load instead of training it.
test: lint
	$(PY) -m pytest $(NOTEBOOKS) tests --nbval --nbval-kernel-name $(KERNEL) \
	    --nbval-sanitize-with notebooks/sanitize.cfg

# Lint, import order and the notebooks' code (ruff, configured in pyproject.toml).
lint: setup
	$(PY) -m ruff check .

# The quick loop while developing: lint and the unit tests that need no trained
# network, browser, wheel or notebook run.
check: lint
	$(PY) -m pytest tests -m "not slow" -q

student: setup
	for nb in $(NOTEBOOKS); do \
	    $(PY) tools/student_edition.py $$nb build/student/$$(basename $$nb) || exit 1; done

# tf-keras-vis is installed for the comparison only; the package never imports it.
$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PY) -m pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) bench/bench.py

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
