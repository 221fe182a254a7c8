#!/bin/sh
# issue 12's GPU check on a lent device machine, in one call (docs/gpu.md, "With the device tool").
# Run from the repository root there, with the wheels of .whl carried (egglog and platformdirs for
# the machine's Python; its image already has numpy, sympy, filelock, pytest, hypothesis, scipy,
# cupy-cuda13x). Results land in $OUT (or ./gpu-out): gpu-results.md, gpu-tests.log, gpu-check.log.
set -u
OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "gpu_device: installing the carried wheels failed"; exit 2; }
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 EGOPT_FLAGS="compiledir=/tmp/egopt-cache"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/gpu-check.log"
python3 -m bench.gpu_check --no-install --out "$OUT/gpu-results.md" 2>&1 | tee -a "$OUT/gpu-check.log"
