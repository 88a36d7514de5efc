# convbook: every target does its own set-up, so each one works on a fresh clone
# with nothing but Python 3.11+ installed.
#   make lab        open the book in JupyterLab
#   make test       run every test, including every chapter under nbval
#   make test-fast  the unit tests only (no training, subprocess or notebook): about a minute
#   make notebooks  re-execute every chapter and save its outputs in the .ipynb
#   make translations  bring the Chinese edition (chapters/zh/) in step with the English
#   make lint       ruff and the pairing check
#   make book       the static HTML book in _build/html/ (from the committed notebooks)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.convbook-installed
CHAPTERS := $(sort $(wildcard chapters/[0-9][0-9]_*.md)) \
	$(sort $(wildcard chapters/zh/[0-9][0-9]_*.md))

# This checkout's package wins over any other installed copy (e.g. one venv shared by
# several git worktrees: `make test VENV=../main/.venv`); notebook kernels inherit it.
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))

# Offline copy of CIFAR-10 beside the checkout (CI and offline users).  An explicit
# CONVBOOK_DATA in the environment wins.
SHARED_CIFAR := $(abspath ../shared/data/cifar10-jpg.tar.gz)
ifeq ($(origin CONVBOOK_DATA), undefined)
ifneq ($(wildcard $(SHARED_CIFAR)),)
export CONVBOOK_DATA := $(SHARED_CIFAR)
endif
endif

.PHONY: setup lab test test-fast test-python test-notebooks test-browser notebooks translations sync lint \
	book clean

setup: $(STAMP)

# Re-runs only when pyproject.toml changes; otherwise `make` sees the stamp and does nothing.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)
	@echo "convbook environment ready in $(VENV)"

# JupyterLab refuses to start as root (containers, some VMs) unless told it may.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=chapters $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# CONVBOOK_QUICK=1 makes the CIFAR-10 chapter train on a small subset (about a minute).
# Two workers (pytest-xdist; --dist loadscope keeps each notebook's cells, and each test
# file, on one worker, in order), each with its share of the cores as torch threads
# (tests/conftest.py); the 15 slowest tests are listed at the end.
# TEST_WORKERS=0 runs everything in this one process.
# The Chinese chapter 08 runs under nbval inside tests/integration/test_machine_independence.py,
# with the other answer to "does this CPU have bfloat16 arithmetic?" than the English one
# gets here: both answers checked, and no notebook run twice.
TEST_WORKERS ?= 2
OTHER_BF16_ANSWER := chapters/zh/08_cifar10.ipynb
test: $(STAMP)
	CONVBOOK_QUICK=1 $(PY) -m pytest --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=900 \
		-n $(TEST_WORKERS) --dist loadscope --durations=15 \
		$(or $(ARGS),--deselect $(OTHER_BF16_ANSWER))

# The fast loop while developing: tests/unit and convbook's docstring examples, no training,
# no subprocess, no notebook (about a minute on 2 cores: 66 s on an idle 2-core EPYC).
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n $(TEST_WORKERS) --dist loadscope $(or $(ARGS),tests/unit convbook)

# Every test and docstring example of convbook (tests/unit, tests/integration, tests/repo),
# without the notebooks.  ARGS narrows or tunes the run:
#   make test-python ARGS="-q tests/unit/test_shapes.py"
test-python: $(STAMP)
	$(PY) -m pytest $(or $(ARGS),tests convbook)

test-notebooks: $(STAMP)
	CONVBOOK_QUICK=1 $(PY) -m pytest --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=900 \
		$(or $(ARGS),chapters)

# Real JupyterLab in a real Chromium (Debian's `chromium` package, not Playwright's).
# Screenshots land in artifacts/browser/.  ARGS narrows the run, as above.
BROWSER_STAMP := $(VENV)/.convbook-browser-installed
$(BROWSER_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,browser]'
	@touch $(BROWSER_STAMP)

test-browser: $(BROWSER_STAMP)
	$(PY) -m pytest $(or $(ARGS),browser_tests)

# Bring the Chinese edition's code cells in step with the English ones (tools/translations.py),
# then write the .ipynb of every chapter of both editions from its .md (keeping outputs) and
# execute it in place.  Pass CHAPTERS=chapters/01_cross_correlation.md to do one chapter
# (chapters/zh/01_cross_correlation.md its Chinese edition).  The committed outputs
# are those of a full run (CONVBOOK_QUICK=0, the default here): chapter 05 trains its
# autoencoder longer and chapter 08 trains every network on all 50,000 CIFAR-10 images, so on
# a 2-core CPU chapter 08 takes most of the time (README.md has each chapter's; both
# editions, twice that).  `make test` runs the chapters in quick mode; cells whose
# output depends on the mode are tagged
# nbval-ignore-output and assert what holds in both.
notebooks: export CONVBOOK_QUICK ?= 0
notebooks: $(STAMP)
	$(PY) tools/translations.py
	@for md in $(CHAPTERS); do \
		nb=$${md%.md}.ipynb; \
		echo "== $$nb"; \
		$(BIN)/jupytext --sync --quiet $$md || exit 1; \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=3600 $$nb || exit 1; \
		$(BIN)/jupytext --sync --quiet $$md || exit 1; \
	done

# The Chinese edition: each chapters/zh/NN_name.md and its .ipynb get the English chapter's
# code cells (the set-up cell names the language); `make notebooks` executes them.
translations: $(STAMP)
	$(PY) tools/translations.py

sync: $(STAMP)
	$(BIN)/jupytext --sync $(CHAPTERS)

lint: $(STAMP)
	$(BIN)/ruff check convbook tests benchmarks tools browser_tests
	$(PY) -m pytest tests/repo/test_pairing.py -q

# One HTML page per chapter from the committed .ipynb (nothing is re-executed).
book: $(STAMP)
	$(PY) tools/build_book.py --out _build/html

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache _build
