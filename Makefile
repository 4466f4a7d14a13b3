# nasbench-suite: `make compare` runs a real comparison from a fresh machine, `make test` runs the tests.
# Everything installs itself into .venv; benchmark data is imported from BENCHMARK_SOURCE into data/store.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BENCHMARK_SOURCE ?= ../shared/nasbench201
STORE ?= data/store
OUT ?= results/default
RUNS ?= 500
JOBS ?=

.PHONY: install check-source data reimport compare report reproduce validate test fuzz mutation chromium lint typecheck format bench clean

install: $(VENV)/.installed

# torch first, pinned to the version with a local CPU wheel: a looser requirement lets pip resolve the
# newest CUDA build (several GB) on a CPU machine.
$(VENV)/.installed: pyproject.toml
	@echo "==> [1/3] creating the virtualenv $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] installing torch 2.13.0 (the CPU wheel; a few minutes on a fresh machine)"
	$(BIN)/pip install --disable-pip-version-check --progress-bar on torch==2.13.0
	@echo "==> [3/3] installing nasbench-suite and its dependencies (editable, with the dev tools)"
	$(BIN)/pip install --disable-pip-version-check --progress-bar on -e '.[dev]'
	touch $@
	@echo "==> installed. The nasbench-suite command is $(BIN)/nasbench-suite; to have it on your PATH:"
	@echo "      source $(VENV)/bin/activate"

# Checked before anything installs: the benchmark data must exist where BENCHMARK_SOURCE points.
check-source:
	@test -e "$(BENCHMARK_SOURCE)" || { echo "make: BENCHMARK_SOURCE=$(BENCHMARK_SOURCE) does not exist (looked in $(CURDIR)); the NAS-Bench-201 data (nb201_tabular.parquet or its directory) is expected in ../shared/nasbench201 beside the project: point to it with  make $(or $(MAKECMDGOALS),compare) BENCHMARK_SOURCE=/path/to/nasbench201" >&2; exit 2; }

# An existing store must come from BENCHMARK_SOURCE: a changed source is refused, not silently ignored.
data: check-source $(STORE)/manifest.json
	@$(BIN)/nasbench-suite data info --store $(STORE) --expect-source $(BENCHMARK_SOURCE) >/dev/null \
		|| { echo "make: to replace the store with BENCHMARK_SOURCE's data: make reimport BENCHMARK_SOURCE=$(BENCHMARK_SOURCE)" >&2; exit 2; }

$(STORE)/manifest.json: $(VENV)/.installed
	$(BIN)/nasbench-suite data import $(BENCHMARK_SOURCE) --store $(STORE)

reimport: check-source $(VENV)/.installed
	$(BIN)/nasbench-suite data import $(BENCHMARK_SOURCE) --store $(STORE)

# The NAS-Bench-201 protocol: cifar10-valid, 12-epoch validation accuracy, 12000 simulated seconds.
compare: data
	$(BIN)/nasbench-suite compare --strategies random,rea --dataset cifar10-valid --time-budget 12000 \
		--runs $(RUNS) --seed 0 --out $(OUT) --store $(STORE) $(if $(JOBS),--jobs $(JOBS))
	@echo "==> next: source $(VENV)/bin/activate; nasbench-suite report $(OUT) --significance; nasbench-suite report $(OUT) --html"

# The default comparison (run or resumed) as one self-contained HTML page: $(OUT)/report.html
report: compare
	$(BIN)/nasbench-suite report $(OUT) --html --store $(STORE)

# NAS-Bench-201's Table 5 and NATS-Bench's topology protocol, ours beside the published numbers
reproduce: data
	$(BIN)/nasbench-suite reproduce nb201 --runs $(RUNS) --out results/reproduce --store $(STORE)
	$(BIN)/nasbench-suite reproduce nats --runs $(RUNS) --out results/reproduce --store $(STORE)

# Live training against the table (CIFAR-10 from ../shared/datasets): rank agreement over 20 archs,
# then a table search whose found arch is retrained beside the ResNet-like cell. A few minutes on a CPU.
validate: data
	$(BIN)/nasbench-suite validate live --store $(STORE)
	$(BIN)/nasbench-suite validate pipeline --store $(STORE)

# The HTML report is tested the way a reader sees it, rendered in headless Chromium (Debian's package).
test: install chromium
	$(BIN)/pytest

# The property-based fuzz tests' long profile: 2500 generated CLI argument sets and 4000+ store/parser API
# calls; every one must work or end in one error line (exit 2) with nothing written. Counts in $(FUZZ_REPORT).
FUZZ_REPORT ?= bench-results/fuzz.json
fuzz: install
	mkdir -p $(dir $(FUZZ_REPORT))
	NASBENCH_SUITE_FUZZ=long NASBENCH_SUITE_FUZZ_REPORT=$(FUZZ_REPORT) $(BIN)/pytest -q -p no:cacheprovider tests/test_fuzz.py
	cat $(FUZZ_REPORT)

# Mutation testing of the oracle's parts (oracle, budget, trajectory, lookup, cost model) with mutmut:
# every mutant must be killed by the tests that exercise them (pyproject.toml [tool.mutmut]); the kill rate
# and the surviving (equivalent) mutants are listed in the README. About 15 minutes on 2 cores.
mutation: install
	$(BIN)/pip install --quiet --disable-pip-version-check 'mutmut>=3.3'
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/mutmut results
	$(BIN)/python -c "import json; s = json.load(open('mutants/mutmut-cicd-stats.json')); \
		k = s['killed'] + s['timeout']; \
		print(f\"killed {k} of {s['total']} mutants ({100 * k / s['total']:.1f}%; {s['timeout']} of them by \
		running past mutmut's time limit), survived {s['survived']}, no tests {s['no_tests']}\")"

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| (echo "make test needs Debian's chromium for the HTML report test: apt-get install chromium" >&2; exit 1)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory typecheck

# mypy (pyproject.toml [tool.mypy]: strict on the core) on the installed layout: strategies/, analysis/ and
# live_training/ are subpackages of nasbench_suite, which a tree of links under build/typecheck shows it
typecheck: install
	rm -rf build/typecheck && mkdir -p build/typecheck/nasbench_suite
	for f in nasbench_suite/*; do ln -s "$(CURDIR)/$$f" build/typecheck/nasbench_suite/; done
	for d in strategies analysis live_training; do ln -s "$(CURDIR)/$$d" build/typecheck/nasbench_suite/$$d; done
	cd build/typecheck && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p nasbench_suite

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The strategy, run-loop and model-based benchmarks time this checkout beside the commit before that work (a git worktree)
BASELINE ?= /tmp/nasbench-suite-baseline-515caf2
bench: data
	test -d $(BASELINE)/nasbench_suite || git worktree add --detach $(BASELINE) 515caf2
	$(BIN)/python benchmarks/bench_store.py --store $(STORE) --out bench-results
	$(BIN)/python benchmarks/bench_strategies.py --store $(STORE) --baseline $(BASELINE) --out bench-results
	$(BIN)/python benchmarks/bench_run_loop.py --store $(STORE) --baseline $(BASELINE) --out bench-results
	$(BIN)/python benchmarks/bench_model_based.py --store $(STORE) --baseline $(BASELINE) --out bench-results
	$(BIN)/python benchmarks/bench_live.py --store $(STORE) --out bench-results
	$(BIN)/python benchmarks/bench_oneshot.py --out bench-results
	$(BIN)/python benchmarks/bench_executors.py --store $(STORE) --out bench-results
	$(BIN)/python benchmarks/bench_peer_synetune.py --store $(STORE) --out bench-results

clean:
	rm -rf $(VENV) $(STORE) results bench-results
