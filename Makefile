# The two commands of the README: `make demo` and `make test`. Each installs what is
# missing (scripts/bootstrap.sh), builds incrementally under build/, and runs.
SHELL := /bin/bash
PY := .venv/bin/python
JOBS ?= $(shell nproc)
CMAKE_COMMON := -G Ninja -DSALESPERF_WERROR=ON

.PHONY: demo test deps build cpp-test asan-test fuzz install-test py-install py-test typecheck docs bench compare dev

demo: deps py-install
	.venv/bin/salesperf demo

test: deps cpp-test asan-test fuzz install-test py-install py-test typecheck docs
	@echo "make test: all suites passed"

deps:
	@scripts/bootstrap.sh

build: deps
	cmake -S . -B build/release $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build/release -j $(JOBS)

cpp-test: build
	ctest --test-dir build/release -j $(JOBS) --output-on-failure --timeout 600

# libFuzzer targets under ASan+UBSan (clang): every saved reproducer, then FUZZ_SECONDS
# of fuzzing per target from the seed corpus (docs/fuzzing.md).
FUZZ_SECONDS ?= 60
fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

# The C++ tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
asan-test: deps
	cmake -S . -B build/asan $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSALESPERF_SANITIZE=address,undefined -DSALESPERF_BUILD_BENCH=OFF >/dev/null
	cmake --build build/asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir build/asan -j $(JOBS) --output-on-failure --timeout 900

# Install the C++ package, then build and run a consumer that uses find_package(salesperf).
install-test: build
	rm -rf build/install build/consumer
	cmake --install build/release --prefix build/install >/dev/null
	cmake -S tests/install_consumer -B build/consumer -G Ninja \
	  -DCMAKE_PREFIX_PATH=$(CURDIR)/build/install >/dev/null
	cmake --build build/consumer
	build/consumer/consumer

py-install: deps
	$(PY) -m pip install -q --no-build-isolation --no-deps .

py-test: py-install
	cd /tmp && $(CURDIR)/$(PY) -c "import salesperf; print('import salesperf', salesperf.__version__, 'from', salesperf.__file__)"
	$(PY) -m pytest -n $(JOBS) -q tests/python --doctest-modules --pyargs salesperf

typecheck: deps
	$(PY) -m mypy

# The documentation site (Sphinx: the guides, the notebooks, the Python and C++ API
# reference) into build/docs/html; a warning fails the build.
docs: py-install
	scripts/build_docs.sh build/docs/html

bench: build py-install
	build/release/bench/ingest_bench --benchmark_counters_tabular=true
	build/release/bench/stages_bench
	build/release/bench/indicators_bench --benchmark_counters_tabular=true
	build/release/bench/leaks_bench --benchmark_counters_tabular=true
	build/release/bench/deviance_bench --benchmark_counters_tabular=true
	build/release/bench/end_to_end_bench --benchmark_filter=/10000000/
	$(PY) bench/stages_vs_pandas.py

# salesperf, pandas, polars and DuckDB on the same queries; the table goes into docs/performance.md.
compare: py-install
	$(PY) bench/compare.py --events 1000000 --events 10000000 --repeat 3 --write-docs

# For developing the Python side without reinstalling: build _core and link it into python/.
dev: deps
	cmake -S . -B build/pydev -G Ninja -DSALESPERF_BUILD_PYTHON=ON -DSALESPERF_BUILD_TESTS=OFF \
	  -DSALESPERF_BUILD_BENCH=OFF -DPython_EXECUTABLE=$(CURDIR)/$(PY) \
	  -Dpybind11_DIR=$$($(PY) -m pybind11 --cmakedir) >/dev/null
	cmake --build build/pydev -j $(JOBS)
	ln -sf ../../build/pydev/bindings/$$(cd build/pydev/bindings && ls _core*.so) python/salesperf/
