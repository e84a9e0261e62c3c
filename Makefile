# The project's commands. Each one sets itself up first (a .venv with the
# requirements, the package installed editable, and a Jupyter kernel).
#   make run      execute every notebook headless into build/ (notebooks + HTML)
#   make test     unit tests + nbval re-execution of every notebook
#   make lab      JupyterLab on the notebooks, with the project's kernel
#   make execute  re-run the notebooks in place to refresh their stored outputs
#   make student  write the student edition of the exercises to build/student/
#   make bench    measure speed side by side with the alternatives -> build/bench.md

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.mnist-viz-setup
BENCH_STAMP := $(VENV)/.mnist-viz-bench
KERNEL := mnist-viz
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
NBCONVERT := $(PY) -m jupyter nbconvert --ExecutePreprocessor.timeout=1800 \
             --ExecutePreprocessor.kernel_name=$(KERNEL)

.PHONY: setup run execute test lab student bench clean

setup: $(STAMP)

# Re-runs only when the requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (mnist-viz)"
	touch $(STAMP)

run: setup
	mkdir -p build/notebooks build/html
	$(NBCONVERT) --to notebook --execute --output-dir build/notebooks $(NOTEBOOKS)
	$(PY) -m jupyter nbconvert --to html --output-dir build/html build/notebooks/*.ipynb
	@echo "Executed notebooks are in build/notebooks, HTML renderings in build/html."

execute: setup
	$(NBCONVERT) --to notebook --execute --inplace $(NOTEBOOKS)

test: setup
	$(PY) -m pytest tests $(NOTEBOOKS) --nbval --nbval-current-env \
	    --nbval-sanitize-with notebooks/sanitize.cfg

student: setup
	$(PY) tools/student_edition.py notebooks/02_exercises.ipynb build/student/02_exercises.ipynb

# tf-keras-vis is installed for the comparison only; the package never imports it.
$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PY) -m pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) bench/bench.py

lab: setup
	$(PY) -m jupyter lab notebooks

clean:
	rm -rf build cache .pytest_cache
