#!/bin/bash
# Ablation: same budget (600 steps x 8 at 128², seed 0), validated on the same 200 faces.
# Run from anywhere: training/ablate.sh (PYTHON=... picks another interpreter than .venv/bin/python).
# Finished runs are resumed at step 600 and stop at once; output is appended to ablation.out.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${UNMASK_RUNS:-training/runs}/ablation.out
mkdir -p "$(dirname "$OUT")"
$PY -m training.train_inpaint --run-name abl_mcsam_composite --size 128 --threads 1 --steps 600 --val-every 300 >> "$OUT" 2>&1
$PY -m training.train_inpaint --run-name abl_plain_composite --size 128 --threads 1 --steps 600 --val-every 300 --no-attention >> "$OUT" 2>&1
$PY -m training.train_inpaint --run-name abl_mcsam_whole --size 128 --threads 1 --steps 600 --val-every 300 --supervision whole >> "$OUT" 2>&1
