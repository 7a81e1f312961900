#!/usr/bin/env bash
# The GPU figures of docs/rl2.md and docs/maml-rl-nav2d.md, in one bounded script for a lent accelerator
# machine (its own python3 with JAX for CUDA; adaptax from src/, nothing installed):
#   1. the RL² `paper` preset on bandits k = 5, n = 10 (GRU 256, TRPO, 250,000 steps per
#      iteration, 1000 iterations), stopped by time_limit if the machine is slower than that;
#   2. benchmarks/rl2.py at the paper's batch (PPO, GRU 256, bandits and MDPs);
#   3. benchmarks/maml_rl.py with the `paper` preset's MAML settings (its compile alone took
#      100 s on an H200).
# Usage: bash benchmarks/device_check.sh [TRAIN_SECONDS]   (outputs under $OUT)
set -u
OUT=${OUT:-/tmp/adaptax-device}
mkdir -p "$OUT/paper"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 ADAPTAX_NO_PROGRESS=1
LOG=$OUT/log.txt
PY=${PYTHON:-python3}
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PY -c "import jax, flax, optax; print('jax', jax.__version__, 'flax', flax.__version__,
'optax', optax.__version__, jax.devices())"
  echo "== 1. rl2-bandits --preset paper, k=5 n=10"
  timeout 370 $PY -m adaptax.cli run rl2-bandits --preset paper --set k=5 --set n=10 \
    --set time_limit="${1:-210}" --out /tmp/paper-run
  cp /tmp/paper-run/{results.json,report.md,metrics.jsonl} "$OUT/paper/" 2>/dev/null
  cp /tmp/paper-run/figures/learning_curve.png "$OUT/paper/" 2>/dev/null
  echo "== 2. benchmarks/rl2.py, GRU 256 PPO 4x4 at 250,000 steps per iteration"
  (cd benchmarks && timeout 100 $PY rl2.py --steps-per-iteration 250000 --iters 1 --repeats 2)
  echo "== 3. benchmarks/maml_rl.py, the paper preset's MAML"
  (cd benchmarks && timeout 200 $PY maml_rl.py --inner-steps 3 --meta-objective all \
    --fvp-subsample-by time --inner-estimator lvc --iters 3)
  date -u
} 2>&1 | tee "$LOG"
