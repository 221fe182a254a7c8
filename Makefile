# The two commands a new user needs: `make demo` and `make test`. Each creates .venv if missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	PYTHONWARNINGS=ignore $(PY) -m pip install -q -e '.[test]'   # setuptools' editable-layout notice
	touch $(STAMP)

demo: $(STAMP)
	PYTHONWARNINGS=ignore $(PY) -m pip install -q -e '.[demo]'   # setuptools' editable-layout notice
	$(VENV)/bin/egopt demo

# The suite runs FAST_RUN on the C linker and FAST_COMPILE/DEBUG_MODE on the NumPy one; then the op
# table and the random graphs once more with FAST_COMPILE on C too (no optimizer: the kernels see
# the graphs as written, and the property tests check them against the py linker); then the
# packages whose tests run user graphs once more with FAST_RUN on the NumPy linker ("py").
# The built-in rule library's proofs (egopt check-rules) run inside pytest: tests/rules/test_soundness.py
# -n auto (pytest-xdist): one worker per core; the tests are independent of order and process.
test: $(STAMP)
	$(PY) -m pytest -q -n auto
	$(PY) -m pytest -q -n auto --linker=c --durations=5 tests/lang/test_op_table.py tests/property
	$(PY) -m pytest -q -n auto --linker=py --durations=5 tests/lang tests/grad tests/runtime tests/programs tests/compat tests/extract

test-slow: $(STAMP)
	EGOPT_HYPOTHESIS_PROFILE=slow $(PY) -m pytest -q -m "slow or not slow" tests/property tests/lang tests/grad tests/runtime/test_cuda_op_table.py

# make bench BENCH_ARGS="--only W1,W5 --quick"; a peer that does not install is reported as missing
bench: $(STAMP)
	$(PY) -m pip install -q -e '.[test,bench]' || for p in 'pytensor==3.0.7' 'jax[cpu]' matplotlib threadpoolctl; do \
		$(PY) -m pip install -q "$$p" || echo "make bench: $$p did not install (reported as missing)"; done
	$(VENV)/bin/egopt bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
