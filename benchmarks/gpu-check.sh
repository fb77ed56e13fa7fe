#!/usr/bin/env bash
# The quick profile on a CUDA machine, in one command, for a machine that has a GPU (this
# project's own machine has none, so it has not run there):
#
#   bash benchmarks/gpu-check.sh [--ray]
#
# It checks the driver and that torch sees a device (installing a CUDA torch into the bridge's
# venv with `bootstrap.py --cuda` when it does not), then trains the quick profile's three
# versions again on CUDA (`--force`, their earlier checkpoints moved aside; the trainer takes CUDA
# wherever torch sees it) and prints the
# stage times of that run (`hyperwords store times`) and its wall time. With `--ray` the same run
# goes through a Ray head started here on loopback with every GPU, each fine-tune asking for one
# (`finetune.gpus` is 1 through HYPERWORDS_GPUS; the head is stopped at the end).
# Exit codes: 0 the run finished, 2 no usable GPU here, other: the failing step's.
set -euo pipefail
cd "$(dirname "$0")/.."
python=packages/train-bridge/python/.venv/bin/python
ray=false
[ "${1:-}" = "--ray" ] && ray=true

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: no NVIDIA GPU here (nvidia-smi is missing or sees no device); run this on a GPU machine" >&2
  exit 2
fi
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv

if ! "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "gpu-check: the bridge's torch sees no CUDA device; installing a CUDA build (bootstrap.py --cuda)"
  python3 packages/train-bridge/python/bootstrap.py --cuda
fi
"$python" -c 'import torch; assert torch.cuda.is_available(), "torch sees no CUDA device"; print("torch", torch.__version__, "CUDA", torch.version.cuda, "devices:", ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())))' || exit 2

# a forced fine-tune resumes from its work folder's checkpoints (a finished CPU run's last step):
# move them aside so the three versions train from step 0 on CUDA
stamp=$(date +%Y%m%dT%H%M%S)
for stage in finetune control placebo; do
  if [ -d ".hyperwords/work/$stage" ]; then
    mv ".hyperwords/work/$stage" ".hyperwords/work/$stage.before-gpu-check-$stamp"
    echo "gpu-check: moved .hyperwords/work/$stage (checkpoints of earlier runs) to .hyperwords/work/$stage.before-gpu-check-$stamp"
  fi
done
args=(--profile quick --force finetune,control,placebo)
if $ray; then
  gpus=$("$python" -c 'import torch; print(torch.cuda.device_count())')
  temp=$(mktemp -d /tmp/ray-gpu-XXXX)
  port=6390
  packages/train-bridge/python/.venv/bin/ray start --head --node-ip-address=127.0.0.1 --port=$port \
    --num-gpus="$gpus" --include-dashboard=false --disable-usage-stats --temp-dir="$temp" >/dev/null
  trap 'packages/train-bridge/python/.venv/bin/ray stop --force >/dev/null 2>&1; rm -rf "$temp"' EXIT
  export HYPERWORDS_GPUS=1
  args+=(--executor "ray:127.0.0.1:$port")
fi

start=$SECONDS
pnpm pipeline "${args[@]}"
echo
echo "wall time of the quick profile with its fine-tunes on CUDA: $((SECONDS - start)) s"
pnpm --silent hyperwords store times
