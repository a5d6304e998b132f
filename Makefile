# Two commands do everything on a fresh machine:
#   make book   set up .venv if needed, build the HTML book into _build/html
#   make test   set up .venv if needed, then lint, unit tests, pair check, nbval, book build (-W)
# Everything runs offline once the packages are installed from PyPI.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(shell find chapters -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort)
SOURCES   := $(shell find chapters -name '*.md' -not -path '*/.ipynb_checkpoints/*' | sort)

# Kernels must use the inline backend so that figures are stored (and compared as text/plain).
unexport MPLBACKEND

# Tests run single-threaded (results must not depend on the thread count) and offline.
# The network guard (tests/netguard/sitecustomize.py) makes any non-loopback connection fail.
GUARD_ENV := BOOK_NO_NETWORK=1 PYTHONPATH=$(CURDIR)/tests/netguard
TEST_ENV := $(GUARD_ENV) OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONHASHSEED=0 \
            BOOK_SCALE=small
NBVAL_ARGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
              -p no:cacheprovider
# Publishing with Binder/Colab launch buttons: `make book BOOK_REPOSITORY=owner/name` (GitHub;
# BOOK_BRANCH defaults to main) builds with book.launch.yml, generated from book.yml by
# scripts/launch_config.py. Without it the pages carry download buttons but no launch buttons.
BOOK_REPOSITORY ?=
BOOK_BRANCH ?= main
BOOK_CONFIG := $(if $(BOOK_REPOSITORY),book.launch.yml,book.yml)
LAUNCH_CONFIG = $(if $(BOOK_REPOSITORY),$(BIN)/python scripts/launch_config.py $(BOOK_REPOSITORY) \
                $(BOOK_BRANCH),true)
JB := $(BIN)/jupyter-book build . --all --config $(BOOK_CONFIG) --toc toc.yml

.PHONY: help setup book test lint unit nbval nbval-2threads build sync execute timings bench browser index clean \
        distclean

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# requirements.txt is the lock (every package pinned, generated from requirements.in by
# `make lock`); pip installs it with dependency resolution on, so that a platform whose torch
# wheel needs more (PyPI's CUDA build: nvidia-*) still gets a working torch.
$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), \
	  f"Python 3.11 is required, found {sys.version.split()[0]} at {sys.executable}"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep -E '^pip==' requirements.txt || echo pip)"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP)  ## create .venv from the pinned requirements (done automatically)

# LOCK_ARGS: extra pip-compile options, e.g. --upgrade, --upgrade-package NAME, or
# --extra-index-url https://download.pytorch.org/whl/cpu where pip finds no CPU torch wheel.
LOCK_ARGS ?=
.PHONY: lock
lock: $(STAMP)  ## regenerate the lock requirements.txt and environment.yml from requirements.in
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) --output-file requirements.txt \
	  requirements.in
	$(BIN)/python scripts/sync_env_files.py

book: $(STAMP)  ## build the HTML book into _build/html (BOOK_REPOSITORY=owner/name: launch buttons)
	$(LAUNCH_CONFIG)
	$(GUARD_ENV) $(JB) -W --keep-going
	@echo "open _build/html/index.html"

test: $(STAMP)  ## lint, unit tests, pair check, nbval, book build with -W, browser check
	$(MAKE) --no-print-directory lint unit nbval build browser

lint: $(STAMP)  ## ruff on helpers/ and tests/
	$(BIN)/ruff check helpers tests scripts benchmarks _ext

unit: $(STAMP)  ## unit tests, docstring examples and the jupytext pair check
	$(TEST_ENV) $(BIN)/python -m pytest -q -n 2 tests

nbval: $(STAMP)  ## re-execute every committed notebook and compare its outputs (1 thread)
	$(TEST_ENV) $(BIN)/python -m pytest -q -n 2 --dist loadfile $(NBVAL_ARGS) $(NOTEBOOKS)

nbval-2threads: $(STAMP)  ## the same with 2 threads per kernel (outputs must not change)
	$(GUARD_ENV) OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 PYTHONHASHSEED=0 \
	BOOK_SCALE=small $(BIN)/python -m pytest -q $(NBVAL_ARGS) $(NOTEBOOKS)

build: $(STAMP)  ## the book build that must pass with zero warnings
	$(LAUNCH_CONFIG)
	$(GUARD_ENV) $(JB) -W --keep-going

browser: $(STAMP)  ## load every built page in headless Chromium (run after `make build`)
	BOOK_BROWSER=1 $(TEST_ENV) $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_browser.py

index: $(STAMP)  ## regenerate chapters/back/theorem_index.md and errata.md (+ .ipynb)
	$(BIN)/python scripts/make_index.py

sync: $(STAMP)  ## refresh the Jupyter macros cell, then jupytext --sync every pair
	$(BIN)/python scripts/macros_cell.py
	$(BIN)/jupytext --sync $(SOURCES)

execute: $(STAMP)  ## re-execute notebooks in place (NB=path/to/x.md for one), then sync
	$(TEST_ENV) $(BIN)/python scripts/execute_notebooks.py $(or $(NB),$(SOURCES))

bench: $(STAMP)  ## benchmarks: one `name: value` line per figure (2 threads, several repeats)
	OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 $(BIN)/python benchmarks/bench_gram.py
	OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 $(BIN)/python benchmarks/phase_transition_speedup.py

timings: $(STAMP)  ## execute every notebook (writing nothing) and print seconds per notebook
	$(TEST_ENV) $(BIN)/python scripts/execute_notebooks.py --timings $(SOURCES)

clean:  ## remove the built book
	rm -rf _build

distclean: clean  ## also remove the virtual environment
	rm -rf $(VENV)
