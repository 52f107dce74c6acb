#!/usr/bin/env bash
# The checks for a lent GPU machine, in one call: it has torch with CUDA, pytest and hypothesis,
# but no streamlit, no plotly and no network, so dlviz runs from the checkout with its python3.
# Before the call, on a machine with the dashboard's packages, write the labs' default configs:
#   DLVIZ_WRITE_LAB_DEFAULTS=.gpu/configs ./dev.sh test tests/gpu/test_lab_defaults.py
# (.gpu/ is ignored by git: the device tool's call names it in `carry`.) Then, on the GPU
# machine, from the repository root (each part has its own time limit; results
# go to $OUT, at most 8 files):
#   OUT=out tests/gpu/check.sh .gpu/configs
set -u
CONFIGS=${1:-.gpu/configs}
OUT=${OUT:-/tmp/dlviz-gpu}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 DLVIZ_HOME=/tmp/dlviz-gpu-home
PY=${PYTHON:-python3}
part() { printf '\n=== %s (%s)\n' "$1" "$(date +%T)"; }

part "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
$PY -c "import torch, sys; print(sys.version.split()[0], torch.__version__, 'CUDA', torch.version.cuda, torch.cuda.get_device_name(0))"
nproc
part "the core imports without streamlit and plotly"
$PY -c "import dlviz.cli, dlviz.jobs, dlviz.train, dlviz.run_process, dlviz.bench.devices; print('ok')"

part "the CUDA tests"
timeout 150 $PY -m pytest -q -p no:cacheprovider -m cuda -rs --durations=5 \
  tests/core/test_cuda.py tests/core/test_faults.py tests/core/test_bench_graphs.py \
  tests/core/test_audio_features.py tests/core/test_bench_generative.py \
  tests/core/test_bench_devices.py 2>&1 | tee "$OUT/cuda_tests.txt" | tail -25

part "each lab's default trained on the GPU (the Image lab's Deep CNN and the Transformer also on the CPU)"
timeout 120 $PY tests/gpu/train_defaults.py "$CONFIGS" --device cuda --twins images-0 sequences-0 \
  > "$OUT/defaults.jsonl"
cut -c1-300 "$OUT/defaults.jsonl"

part "bench graphs on the GPU"
timeout 90 $PY -m dlviz bench graphs --device cuda --repeats 7 --json > "$OUT/graphs.json"
tail -c 2000 "$OUT/graphs.json"

part "bench devices on the GPU"
timeout 90 $PY -m dlviz bench devices --device cuda --json > "$OUT/devices.json"
$PY -c "
import json; r = json.load(open('$OUT/devices.json'))
for x in r['rows']:
    if x['bench'] == 'matmul' and x.get('size') in (4096, 8192): print(x)
" 2>&1 | cut -c1-400

part "bench recurrent and generative on the GPU"
timeout 50 $PY -m dlviz bench recurrent --device cuda --repeats 7 --json > "$OUT/recurrent.json"
timeout 50 $PY -m dlviz bench generative --device cuda --repeats 7 --json > "$OUT/generative.json"
part "bench overhead on the GPU"
timeout 150 $PY -m dlviz bench overhead --device cuda --repeats 3 --json > "$OUT/overhead.json"
part "done"
