#!/usr/bin/env bash
# Build the virtualenvs the interoperability tests (tests/interop) run the real libraries in:
#   DIR/lerobot     lerobot 0.4.4 (LeRobotDataset v3.0, its v2.1 -> v3.0 converter) on PyPI's torch 2.10
#                   and torchvision 0.25, installed without lerobot's hardware, training and logging extras
#   DIR/lerobot-0.3 lerobot 0.3.3 and datasets 3.6 (LeRobotDataset v2.1), a package folder that runs on
#                   DIR/lerobot's interpreter through PYTHONPATH (no dependencies of its own)
#   DIR/tfds        tensorflow-cpu 2.21 and tensorflow-datasets 4.9.10
# DIR is the first argument, else $FREEACTION_INTEROP_VENVS, else .venv-interop (git-ignored). Each
# environment is complete when it holds a READY file; a failed or timed-out one is rebuilt on the next run.
# Each install has a time limit (seconds): INTEROP_TFDS_TIMEOUT (default 900), INTEROP_LEROBOT_TIMEOUT
# (1800; about 1100 s and 7.5 GB on a loaded 2-core machine, mostly torch's CUDA libraries) and 300 for
# lerobot-0.3, so the whole script stays under 50 minutes. PYTHON picks the interpreter (python).
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-${FREEACTION_INTEROP_VENVS:-.venv-interop}}
python=${PYTHON:-python}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
mkdir -p "$dir"
status=0

build() {  # build NAME LIMIT COMMAND...: run COMMAND within LIMIT seconds, then mark DIR/NAME ready
  local name=$1 limit=$2; shift 2
  if [[ -f "$dir/$name/READY" ]]; then echo "interop: $dir/$name is ready"; return 0; fi
  rm -rf "${dir:?}/$name"
  local start=$SECONDS
  if timeout "$limit" bash -c "$*" >"$dir/$name.log" 2>&1; then
    echo "built in $((SECONDS - start)) s" >"$dir/$name/READY"
    echo "interop: built $dir/$name in $((SECONDS - start)) s"
  else
    echo "interop: could not build $dir/$name in $((SECONDS - start)) s (limit $limit s); see $dir/$name.log" >&2
    tail -5 "$dir/$name.log" >&2
    rm -rf "${dir:?}/$name"  # a half-built environment would fail the tests instead of skipping them
    status=1
  fi
}

build tfds "${INTEROP_TFDS_TIMEOUT:-900}" "$python -m venv $dir/tfds && $dir/tfds/bin/python -m pip install -q \
  tensorflow-cpu==2.21.0 tensorflow-datasets==4.9.10"

build lerobot "${INTEROP_LEROBOT_TIMEOUT:-1800}" "$python -m venv $dir/lerobot \
  && $dir/lerobot/bin/python -m pip install -q --no-deps lerobot==0.4.4 \
  && $dir/lerobot/bin/python -m pip install -q torch==2.10.0 torchvision==0.25.0 'datasets>=4,<5' \
  'huggingface-hub>=0.34.2,<0.36' 'accelerate>=1.10,<2' 'av>=15,<16' 'jsonlines>=4,<5' 'packaging>=24.2,<26' \
  'einops>=0.8,<0.9' draccus==0.10.0 'deepdiff>=7,<9' 'termcolor>=2.4,<4' pandas"

build lerobot-0.3 300 "mkdir -p $dir/lerobot-0.3 && $python -m pip install -q --no-deps --target $dir/lerobot-0.3 \
  lerobot==0.3.3 datasets==3.6.0"
exit $status
