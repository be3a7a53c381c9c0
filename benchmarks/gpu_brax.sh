#!/bin/bash
# The GPU numbers of docs/tasks.md ("Brax/MJX on a GPU"), in one script sized for a short loan of a GPU
# machine whose Python already has JAX with its CUDA plugin (run from the repository root):
#   1. one search batch of Ant-Brax, 16 candidates x 4 seeds in one program, against 1 x 1
#      (benchmarks/batch.py), with the task's GPU PPO settings;
#   2. a small LLM-free search on Ant-Brax through the sandbox (resident training child, probe child),
#      its wall time and where it went (events.jsonl);
#   3. random-action stepping of the three robots at 4,096 environments (benchmarks/brax_envs.py).
# Each part has its own time limit so that one slow part leaves the others their time. Wheels for what
# the machine lacks (brax, mujoco, mujoco-mjx, gymnax, gymnasium, ...) may wait in .whl/.
#   OUT=/tmp/out bash benchmarks/gpu_brax.sh
set -u
OUT=${OUT:-/tmp/rewardlab-gpu}
mkdir -p "$OUT"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
stamp() { echo "== $(date -u +%T) $*"; }
{
  stamp start
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  if ls .whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir .whl/*.whl 2>&1 | tail -3
  fi
  $PY -c "import jax, brax, mujoco; print('jax', jax.__version__, jax.devices(), 'brax', brax.__version__, 'mujoco', mujoco.__version__)"

  stamp "1. one batch: 16 candidates x 4 seeds vs 1 x 1"
  timeout ${T1:-220} $PY benchmarks/batch.py ${TASK:-Ant-Brax} --candidates 16 --seeds 4 --updates ${UPDATES:-20} --single
  echo "rc=$?"

  stamp "2. LLM-free search through the sandbox"
  rm -rf /tmp/rl-search
  s=$(date +%s)
  timeout ${T2:-230} $PY -m rewardlab.cli search ${TASK:-Ant-Brax} --samples 3 --iterations 1 --final-seeds 2 \
    --confirm-top 0 --timesteps ${SEARCH_STEPS:-1000000} --checkpoints 2 --eval-episodes 4 \
    --out /tmp/rl-search --quiet
  echo "rc=$? wall=$(( $(date +%s) - s ))s"
  run=$(ls -d /tmp/rl-search/*/ 2>/dev/null | head -1)
  if [ -n "$run" ]; then
    cp "$run/events.jsonl" "$OUT/search_events.jsonl" 2>/dev/null
    ls "$run" "$run/final" 2>/dev/null
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print({k: d[k] for k in list(d)[:6] if k != \"iterations\"})" "$run/summary.json" | head -c 1500; echo
    tail -5 "$run"/worker/resident-*/stderr.txt 2>/dev/null
    grep -ho "\"device\": \"[^\"]*\"" "$run"/worker/job-*/results.json | sort | uniq -c
    grep -rh "plugin\|Falling back\|CUDA\|rror" "$run"/worker --include="stderr*" | sort | uniq -c | head
  fi

  stamp "3. random-action stepping, 4096 envs"
  timeout ${T3:-110} $PY benchmarks/brax_envs.py Ant-Brax Humanoid-Brax Hopper-Brax --envs 4096 --steps 200 --repeats 3
  echo "rc=$?"
  stamp end
} 2>&1 | tee "$OUT/log.txt"
