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
THREADS_1 := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
THREADS_2 := OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
TEST_ENV := $(GUARD_ENV) $(THREADS_1) PYTHONHASHSEED=0 BOOK_SCALE=small
NBVAL_ARGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
              -p no:cacheprovider

# CPU configurations for the portability check. Committed outputs must not depend on the CPU:
# each variable caps the vector instructions of one library (read at process start), so one
# x86-64 machine can run the notebooks as machines with other vector units would. Caps only go
# down: on a machine without AVX-512, `native` and `avx2` are the same configuration.
#   ATEN_CPU_CAPABILITY     PyTorch's own vectorised kernels (default = no explicit SIMD)
#   MKL_ENABLE_INSTRUCTIONS MKL's BLAS/LAPACK code path (matmul, solve, eigh, QR)
#   ONEDNN_MAX_CPU_ISA      oneDNN (convolutions, some matmuls)
CPU_native  :=
CPU_avx2    := ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2
CPU_reduced := ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41
# `make nbval-portability` runs nbval under each CPU:THREADS pair below; `make test` runs the
# native suite (`nbval`) and the reduced one (`nbval-reduced`), both single-threaded.
PORTABILITY_MATRIX := native:1 native:2 avx2:1 reduced:1 reduced:2
CPU ?= reduced
THREADS ?= 2
# pytest-xdist workers: kernels x threads per kernel = 2 cores (oversubscribed OpenMP spins).
WORKERS_1 := 2
WORKERS_2 := 1
# NB=chapters/<part>/<name>.md (or .ipynb, several separated by spaces) restricts nbval to those.
NB_IPYNB = $(if $(NB),$(patsubst %.md,%.ipynb,$(NB)),$(NOTEBOOKS))
# Publishing with Binder/Colab launch buttons: `make book BOOK_REPOSITORY=owner/name` (GitHub;
# BOOK_BRANCH defaults to main) builds with book.launch.yml, generated from book.yml by
# scripts/launch_config.py. Without it the pages carry download buttons but no launch buttons.
BOOK_REPOSITORY ?=
BOOK_BRANCH ?= main
BOOK_CONFIG := $(if $(BOOK_REPOSITORY),book.launch.yml,book.yml)
LAUNCH_CONFIG = $(if $(BOOK_REPOSITORY),$(BIN)/python scripts/launch_config.py $(BOOK_REPOSITORY) \
                $(BOOK_BRANCH),true)
JB := $(BIN)/jupyter-book build . --all --config $(BOOK_CONFIG) --toc toc.yml

.PHONY: help setup book test lint unit nbval nbval-cpu nbval-reduced nbval-portability build sync \
        execute timings bench browser index clean distclean

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# requirements.txt is the lock (every package pinned, generated from requirements.in by
# `make lock`); pip installs it with dependency resolution on, so that a platform whose torch
# wheel needs more (PyPI's CUDA build: nvidia-*) still gets a working torch. --no-compile: pip
# would byte-compile every installed module (torch alone ships thousands that the book never
# imports), which took half of the set-up (53 s of the install against 28 s without, on the
# 2-core machine); Python compiles the modules it imports on first use instead.
$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), \
	  f"Python 3.11 is required, found {sys.version.split()[0]} at {sys.executable}"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep -E '^pip==' requirements.txt || echo pip)"
	$(BIN)/python -m pip install --quiet --no-compile -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-compile --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-compile --no-deps --no-build-isolation -e .
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

test: $(STAMP)  ## lint, unit tests, pair check, nbval (native + reduced CPU), book build -W, browser
	$(MAKE) --no-print-directory lint unit nbval nbval-reduced build browser

lint: $(STAMP)  ## ruff on helpers/ and tests/
	$(BIN)/ruff check helpers tests scripts benchmarks _ext

unit: $(STAMP)  ## unit tests, docstring examples and the jupytext pair check
	$(TEST_ENV) $(BIN)/python -m pytest -q -n 2 tests

nbval: $(STAMP)  ## re-execute every committed notebook and compare its outputs (native CPU, 1 thread)
	$(MAKE) --no-print-directory nbval-cpu CPU=native THREADS=1

nbval-reduced: $(STAMP)  ## the same on a reduced CPU (no AVX kernels, SSE BLAS), 1 thread
	$(MAKE) --no-print-directory nbval-cpu CPU=reduced THREADS=1

nbval-cpu: $(STAMP)  ## nbval under CPU=native|avx2|reduced, THREADS=1|2 (NB=... for some chapters)
	@test -n "$(filter $(CPU),native avx2 reduced)" || { echo "CPU must be native, avx2 or reduced"; exit 2; }
	@test -n "$(filter $(THREADS),1 2)" || { echo "THREADS must be 1 or 2"; exit 2; }
	@$(CPU_$(CPU)) $(BIN)/python -c 'import torch; print("nbval: CPU=$(CPU) THREADS=$(THREADS);", \
	  "PyTorch kernels:", torch.backends.cpu.get_cpu_capability())'
	$(GUARD_ENV) $(CPU_$(CPU)) $(THREADS_$(THREADS)) PYTHONHASHSEED=0 BOOK_SCALE=small \
	  $(BIN)/python -m pytest -q -n $(WORKERS_$(THREADS)) --dist loadfile $(NBVAL_ARGS) $(NB_IPYNB)

nbval-portability: $(STAMP)  ## nbval under every CPU:THREADS pair of PORTABILITY_MATRIX (NB=... ok)
	@failed=""; for pair in $(PORTABILITY_MATRIX); do \
	  $(MAKE) --no-print-directory nbval-cpu CPU=$${pair%:*} THREADS=$${pair#*:} || failed="$$failed $$pair"; \
	done; \
	if [ -n "$$failed" ]; then echo "portability: FAILED under$$failed"; exit 1; fi; \
	echo "portability: outputs reproduced under $(PORTABILITY_MATRIX)"

build: $(STAMP)  ## the book build that must pass with zero warnings
	$(LAUNCH_CONFIG)
	$(GUARD_ENV) $(JB) -W --keep-going

browser: $(STAMP)  ## load every built page in headless Chromium (run after `make build`)
	BOOK_BROWSER=1 $(TEST_ENV) $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_browser.py

index: $(STAMP)  ## regenerate the status pages, theorem_index, errata and checks (+ .ipynb)
	$(BIN)/python scripts/make_index.py

sync: $(STAMP)  ## refresh the Jupyter macros cell, then jupytext --sync every pair
	$(BIN)/python scripts/macros_cell.py
	$(BIN)/jupytext --sync $(SOURCES)

execute: $(STAMP)  ## re-execute notebooks in place (NB=path/to/x.md for one), then sync
	$(TEST_ENV) $(BIN)/python scripts/execute_notebooks.py $(or $(NB),$(SOURCES))

# BENCH_CPU=native|avx2|reduced: the CPU configuration of the benchmarks (as for nbval-cpu);
# BENCH_ARGS=--paths: only the Gram paths of every problem (default / fastest path).
BENCH_CPU ?= native
BENCH_ARGS ?=
bench: $(STAMP)  ## benchmarks: one `name: value` line per figure (2 threads; BENCH_CPU=reduced)
	@test -n "$(filter $(BENCH_CPU),native avx2 reduced)" || { echo "BENCH_CPU: native|avx2|reduced"; exit 2; }
	$(CPU_$(BENCH_CPU)) OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 $(BIN)/python benchmarks/bench_gram.py $(BENCH_ARGS)
	$(if $(BENCH_ARGS),,$(CPU_$(BENCH_CPU)) OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 $(BIN)/python benchmarks/bench_conv_kernels.py)
	$(if $(BENCH_ARGS),,$(CPU_$(BENCH_CPU)) OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 $(BIN)/python benchmarks/phase_transition_speedup.py)

timings: $(STAMP)  ## execute every notebook (writing nothing) and print seconds per notebook
	$(TEST_ENV) $(BIN)/python scripts/execute_notebooks.py --timings $(SOURCES)

# ---------------------------------------------------------------- full scale
# `make full-scale-plan` prints each chapter's full preset cost (FLOPs, peak memory, time on this
# CPU and on an H100) from its presets; `make full NB=chapters/<part>/<name>.md` runs one chapter
# at BOOK_SCALE=full on the device present, with a progress bar and checkpoints under
# _build/full/checkpoints (run it again to resume), writing _build/full/<part>/<name>.ipynb and
# never the committed small-scale notebook.
.PHONY: test-phases
test-phases: $(STAMP)  ## time each phase of `make test` (wall seconds and load average per phase)
	$(BIN)/python scripts/time_test_phases.py

.PHONY: full-scale-plan full
full-scale-plan: $(STAMP)  ## cost of every chapter's full preset (FLOPs, memory, CPU and GPU time)
	$(GUARD_ENV) $(BIN)/python scripts/full_scale_plan.py

full: $(STAMP)  ## run NB=chapters/<part>/<name>.md at full scale into _build/full/ (resumable)
	@test -n "$(NB)" || { echo "usage: make full NB=chapters/<part>/<name>.md"; exit 2; }
	$(GUARD_ENV) PYTHONHASHSEED=0 $(BIN)/python scripts/run_full_scale.py $(NB)

clean:  ## remove the built book
	rm -rf _build

distclean: clean  ## also remove the virtual environment
	rm -rf $(VENV)

# ---------------------------------------------------------------- running, teaching, citing
# The HTML build writes _build/html/nntheory-notebooks.zip (chapters, helpers, the lock,
# RUNNING.md; _ext/run_archive.py), and every chapter with code links to it from its first
# visible cell, inserted by scripts/run_cell.py.
.PHONY: run-cell
run-cell: $(STAMP)  ## insert or refresh the "Run this notebook" cell in every chapter (then sync)
	$(BIN)/python scripts/run_cell.py

# The student edition: the same book with the exercise solutions cut out of a copy of the
# sources (pages, page downloads and the run archive) and hidden by sphinx-exercise; no launch
# buttons. Built offline with -W, then checked (tests/test_student_edition.py).
.PHONY: student
student: $(STAMP)  ## the student edition (no solutions) into _build/student/html, then check it
	$(GUARD_ENV) $(BIN)/python scripts/student_edition.py --out _build/student
	BOOK_STUDENT=1 $(TEST_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider \
	  tests/test_student_edition.py

# The whole book as one PDF: a single-page HTML build (-W) printed by headless Chromium after
# MathJax has typeset it (scripts/print_pdf.py; Playwright drives the system Chromium, no
# download), then checked with poppler-utils (tests/test_pdf.py). Needs chromium and
# poppler-utils (Debian packages). About 690 A4 pages.
.PHONY: pdf
pdf: $(STAMP)  ## the whole book as _build/pdf/book.pdf (headless Chromium), then check it
	$(GUARD_ENV) $(BIN)/python scripts/print_pdf.py --out _build/pdf/book.pdf
	BOOK_PDF=1 $(TEST_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_pdf.py
.PHONY: lab a11y offenders
lab: $(STAMP)  ## JupyterLab on the chapters (open a .ipynb; jupyterlab-myst renders MyST)
	$(BIN)/jupyter lab --notebook-dir=$(CURDIR)

a11y: $(STAMP)  ## the browser check with axe's costly rules (colour contrast) on every page
	$(GUARD_ENV) $(BIN)/python scripts/browser_check.py --axe-all

offenders: $(STAMP)  ## rewrite docs/overflow_offenders.md from the built book (after make build)
	$(GUARD_ENV) $(BIN)/python scripts/browser_check.py --no-axe \
	  --write-offenders docs/overflow_offenders.md
