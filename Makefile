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

.PHONY: help install book test lab clean clean-book student answer-key grade

help:
	@echo "make book   build the HTML book into _build/html (executes every notebook)"
	@echo "make test   run the whole test suite (unit tests + every notebook)"
	@echo "make lab    open the notebooks in JupyterLab"
	@echo "make student [TAG=...]  student copies (no solutions) in _build/student/chapters"
	@echo "make answer-key         answer keys in _build/answer-key/chapters"
	@echo "make grade SUBMISSIONS=\"a.ipynb b.ipynb\" GRADES=grades.csv  grade into a CSV"
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

# Coursework (see instructors.md): TAG pins the Colab setup cell to a git tag; TIMEOUT is the
# seconds one submission may run; JOBS grades that many submissions at once.
GRADES  ?= grades.csv
TIMEOUT ?= 300
JOBS    ?= 1

student: $(STAMP)
	$(BIN)/python -m utils.coursework student$(if $(TAG), --tag $(TAG))

answer-key: $(STAMP)
	$(BIN)/python -m utils.coursework answer-key$(if $(TAG), --tag $(TAG))

grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo 'usage: make grade SUBMISSIONS="a.ipynb b.ipynb" GRADES=grades.csv'; exit 2; }
	$(BIN)/python -m utils.coursework grade $(SUBMISSIONS) --csv $(GRADES) --timeout $(TIMEOUT) --jobs $(JOBS)

clean-book:
	rm -rf _build

clean: clean-book
	rm -rf $(VENV)
