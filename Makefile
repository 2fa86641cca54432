# Two commands do everything:  `make book`  and  `make test`.
# Both create .venv (if there is none) and install requirements.txt and `utils` into it.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Tiny models on few cores run fastest on one thread; progress bars stay out of the built book.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export PTDL_NO_PROGRESS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION = 1

.PHONY: help install book test lab clean clean-book check-pages check-lines

help:
	@echo "make book   build the HTML book into _build/html (executes every notebook)"
	@echo "make test   run the whole test suite (unit tests + every notebook)"
	@echo "make lab    open the notebooks in JupyterLab"
	@echo "make check-pages  screenshot every page (1280/420 px, light/dark) and check it"
	@echo "make check-lines  list code and printed lines over 79 characters"
	@echo "make clean  remove the build and the virtual environment"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W --keep-going
	@echo
	@echo "Book built. Open: $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest -n auto --durations=10

lab: $(STAMP)
	$(BIN)/python -m pip install --quiet jupyterlab
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

clean-book:
	rm -rf _build

clean: clean-book
	rm -rf $(VENV)
