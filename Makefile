# Two commands on a fresh machine with Python 3.11 and make: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint bench bench-national demo demo-plenary clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The main job: election night in Kuta Selatan (the seed incident) against the embedded mock,
# about 3 minutes; ends with the SLO table and the report's path. A breached SLO (exit code 1)
# or an inconclusive run (4) is a finding the report explains, not a failed demo.
demo: $(STAMP)
	@$(BIN)/sirekap-loadtest run scenarios/kuta_selatan_2024.toml || test $$? -eq 1 -o $$? -eq 4

# The seed's plenary: 14-18 Feb in Kuta Selatan (uploads, misreads, the stalled PPK plenary),
# about 3.5 minutes.
demo-plenary: $(STAMP)
	@$(BIN)/sirekap-loadtest run scenarios/kuta_selatan_plenary_2024.toml || test $$? -eq 1 -o $$? -eq 4

# Each short benchmark runs three times (the verdict is each target's median, with its spread);
# the compare-noise benchmark, N runs of its own, once. Every one runs even after one misses.
SHORT_BENCH := $(filter-out bench/bench_compare_noise.py,$(sort $(wildcard bench/bench_*.py)))
bench: $(STAMP)
	@$(BIN)/python bench/repeat.py --times 3 $(SHORT_BENCH); short=$$?; \
	echo "== bench/bench_compare_noise.py (once: its own repeated runs)"; \
	$(BIN)/python bench/bench_compare_noise.py; noise=$$?; \
	test $$short -eq 0 -a $$noise -eq 0

# national_sample_2024 to its end on this machine, once (about 11 minutes).
bench-national: $(STAMP)
	@$(BIN)/python bench/national.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
