# Two commands do everything:  `make book`  and  `make test`.
# Both create .venv (if there is none) and install requirements.txt and `utils` into it.
# BOOK_REPOSITORY_URL=https://github.com/OWNER/REPO (environment) names the repository the book's
# buttons and setup cells lead to (default: repository.url in _config.yml; empty: no buttons).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Tiny models on few cores run fastest on one thread; progress bars stay out of the built book.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export PTDL_NO_PROGRESS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION = 1

.PHONY: help install book test lint format lab setup-cells clean clean-book check-pages check-lines prose student answer-key grade gradebook

help:
	@echo "make book   build the HTML book into _build/html (executes every notebook)"
	@echo "make test   run the whole test suite (lint, unit tests, every notebook)"
	@echo "make lint   check the code style with ruff (make format fixes it)"
	@echo "make lab    open the notebooks in JupyterLab"
	@echo "make setup-cells  write the book's repository URL into every notebook's setup cell"
	@echo "make check-pages  screenshot every page (1280/420 px, light/dark) and check it"
	@echo "make check-lines  list code and printed lines over 79 characters"
	@echo "make prose  list the numbers in the text that the executed notebooks do not print"
	@echo "make student [TAG=...]  student copies (no solutions) in _build/student/chapters"
	@echo "make answer-key         answer keys in _build/answer-key/chapters"
	@echo "make grade SUBMISSIONS=\"a.ipynb b.ipynb\" GRADES=grades.csv  grade (sandboxed) into a CSV and a gradebook"
	@echo "make gradebook GRADES=grades.csv  rebuild the gradebook after marking the rubric sheet"
	@echo "make clean  remove the build and the virtual environment"

# torch: pinning torch==2.13.0 is not enough on Linux, where PyPI's wheel is the multi-GB CUDA build.
# So on Linux torch is first installed (without dependencies: the requirements step resolves them)
# from PyTorch's CPU index, by pip itself, so that pip's own settings apply (proxy, certificates,
# find-links, extra indexes), with a 15 s timeout and one retry. If that fails (the index is not
# reachable, or lacks the pinned version), the requirements step takes torch from pip's default
# index instead (on Linux the CUDA build). TORCH_INDEX= (empty) skips the CPU index, e.g. when
# pip's configured index serves CPU builds itself.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_PIN   := $(shell grep -E '^torch==' requirements.txt)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "Python >= 3.11 is needed (numpy 2.4 and scipy 1.17 require it): make PYTHON=python3.11"; exit 1; }
	@$(PYTHON) -c 'import platform, sys; sys.exit(platform.system() == "Darwin" and platform.machine() == "x86_64")' || { \
		echo "Intel macOS is not supported: $(TORCH_PIN) and numba 0.68.1 have no wheels for it."; \
		echo "Read the book's notebooks on Colab or Binder, or work on Linux (README: Supported platforms)."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if [ "$$(uname -s)" = Linux ] && [ -n "$(TORCH_INDEX)" ]; then \
		if $(BIN)/python -m pip install --quiet --no-deps --timeout 15 --retries 1 \
			--index-url "$(TORCH_INDEX)" "$(TORCH_PIN)"; then \
			echo "torch: $$($(BIN)/python -m pip show torch | sed -n 's/^Version: //p') (pip asked $(TORCH_INDEX) and its own sources)"; \
		else \
			echo "torch: not from $(TORCH_INDEX) (not reachable, or no $(TORCH_PIN) there): from pip's default index"; \
		fi; \
	fi
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W --keep-going
	@echo
	@echo "Book built. Open: $(CURDIR)/_build/html/index.html"

test: $(STAMP) lint
	$(BIN)/python -m pytest -n auto --durations=10

lint: $(STAMP)
	$(BIN)/ruff check utils tests bench
	$(BIN)/ruff format --check utils tests bench

format: $(STAMP)
	$(BIN)/ruff format utils tests bench
	$(BIN)/ruff check --fix utils tests bench

lab: $(STAMP)
	PTDL_NO_PROGRESS=0 $(BIN)/jupyter lab chapters/

# Headless Chromium looks at every page as a reader does (tests/check_pages.py); MathJax and
# the widget manager come from local npm copies in .pagecheck/, so it runs offline.
PAGECHECK := .pagecheck/node_modules/.installed

$(PAGECHECK):
	@command -v npm >/dev/null || { echo "check-pages needs npm (Node.js): e.g. sudo apt-get install npm"; exit 1; }
	npm install --prefix .pagecheck --no-save --no-audit --no-fund \
		mathjax@3.2.2 @jupyter-widgets/html-manager@1.0.6 requirejs@2.3.4
	@touch $@

check-pages: $(STAMP) $(PAGECHECK) book
	$(BIN)/python tests/check_pages.py

# Code lines of the notebooks, then lines printed by the executed copies that `make book` keeps.
check-lines: $(STAMP)
	@test -d _build/jupyter_execute || $(MAKE) book
	@$(BIN)/python tests/line_length.py chapters/*/*.ipynb; code=$$?; \
	$(BIN)/python tests/line_length.py --outputs _build/jupyter_execute/chapters/*/*.ipynb || code=1; \
	exit $$code

# Every number in a markdown cell is printed by its notebook or listed in the chapter's
# numbers.toml (tests/prose_numbers.py), checked on the executed copies that `make book` keeps.
prose: $(STAMP)
	@test -d _build/jupyter_execute || $(MAKE) book
	$(BIN)/python tests/prose_numbers.py _build/jupyter_execute/chapters/*/*.ipynb

# Write the book's repository (BOOK_REPOSITORY_URL, else _config.yml's repository.url) into every
# notebook's setup cell.
setup-cells: $(STAMP)
	$(BIN)/python tests/setup_cell.py
# Coursework (see instructors.md): TAG pins the Colab setup cell to a git tag. `make grade` runs each
# submission in a bubblewrap sandbox (it refuses without one unless UNSAFE=1): TIMEOUT seconds for a
# notebook's cells, CELL_TIMEOUT for one cell, JOBS submissions at once; ROSTER maps files to students.
# It writes GRADES (long CSV) and, beside it, <stem>-gradebook.csv (Canvas), <stem>-rubric.csv and
# <stem>-feedback/; `make gradebook` rebuilds those after the rubric sheet has been marked.
GRADES       ?= grades.csv
TIMEOUT      ?= 900
CELL_TIMEOUT ?= 300
JOBS         ?= 1

student: $(STAMP)
	$(BIN)/python -m utils.coursework student$(if $(TAG), --tag $(TAG))

answer-key: $(STAMP)
	$(BIN)/python -m utils.coursework answer-key$(if $(TAG), --tag $(TAG))

grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo 'usage: make grade SUBMISSIONS="a.ipynb b.ipynb" GRADES=grades.csv [ROSTER=roster.csv]'; exit 2; }
	$(BIN)/python -m utils.coursework grade $(SUBMISSIONS) --csv $(GRADES) --timeout $(TIMEOUT) \
		--cell-timeout $(CELL_TIMEOUT) --jobs $(JOBS)$(if $(ROSTER), --roster $(ROSTER))$(if $(filter 1,$(UNSAFE)), --unsafe)

gradebook: $(STAMP)
	$(BIN)/python -m utils.coursework gradebook --csv $(GRADES)$(if $(ROSTER), --roster $(ROSTER))

clean-book:
	rm -rf _build

clean: clean-book
	rm -rf $(VENV)
