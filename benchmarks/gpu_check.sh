#!/usr/bin/env bash
# genart on a machine with an NVIDIA GPU: correctness (CPU-vs-GPU loss parity, fp16 with loss scaling), speed
# against the CPU, torch.compile, and a 2-process NCCL run when there are 2 or more GPUs. No network needed.
# About 6-7 minutes; exits non-zero when any check fails. See benchmarks/gpu_check.py for what each check does.
#
#   benchmarks/gpu_check.sh                      # everything, on cuda
#   benchmarks/gpu_check.sh --json gpu.json      # also keep the rows as JSON
#   benchmarks/gpu_check.sh --device cpu --quick --seconds 3 --cpu-seconds 2    # plumbing run on a CPU
#
# Python: $PYTHON if set, else the repository's .venv, else python3. Time limit: $GPU_CHECK_TIMEOUT seconds (900).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

PY=${PYTHON:-}
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export NO_COLOR=1 MPLBACKEND=Agg

echo "== genart GPU check: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), python: $PY"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=index,name,driver_version,memory.total,utilization.gpu --format=csv,noheader || true
else
    echo "nvidia-smi: not found"
fi
"$PY" -c 'import torch; print("torch", torch.__version__, "| CUDA", torch.version.cuda, "| GPUs", torch.cuda.device_count())' \
    || { echo "error: $PY cannot import torch"; exit 2; }

timeout "${GPU_CHECK_TIMEOUT:-900}" "$PY" benchmarks/gpu_check.py "$@"
rc=$?
if [ "$rc" = 124 ]; then echo "error: the check ran past ${GPU_CHECK_TIMEOUT:-900} s"; fi
exit "$rc"
