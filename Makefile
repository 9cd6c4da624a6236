# Two commands on a fresh machine:
#   make run    create .venv, install caliali-tk, open it on the demo video
#   make test   same venv with the test extras, system packages for the GUI tests, pytest
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test bench exe exe-test clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate setup.cfg pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/caliali-tk $(ARGS)

test: $(VENV)/.installed-test
	./tools/install-system-deps.sh
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run_all.py

# PyInstaller bundle: build/dist/caliali-tk/caliali-tk (one folder), or with
# ONEFILE=1 a single file build/dist/onefile/caliali-tk. See build/caliali_tk.spec.
ONEFILE ?= 0
EXE_DIST := build/dist$(if $(filter-out 0,$(ONEFILE)),/onefile)
EXE_APP  := $(EXE_DIST)/caliali-tk$(if $(filter-out 0,$(ONEFILE)),,/caliali-tk)

exe: $(VENV)/.installed
	$(BIN)/python -c "import PyInstaller" 2>/dev/null || $(BIN)/pip install -q -e '.[bundle]'
	CALIALI_ONEFILE=$(ONEFILE) $(BIN)/pyinstaller --noconfirm --log-level WARN \
		--distpath $(EXE_DIST) --workpath build/work build/caliali_tk.spec

exe-test: exe
	./build/exe_test.sh $(EXE_APP)

clean:
	rm -rf $(VENV) build/work build/dist *.egg-info
