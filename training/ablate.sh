#!/bin/bash
# Ablation: same budget (600 steps x 8 at 128², seed 0), validated on the same 200 faces.
cd /work/main
PY=/work/venv/bin/python
$PY -m training.train_inpaint --run abl_mcsam_composite --size 128 --threads 1 --steps 600 --val-every 300 >> training/runs/ablation.out 2>&1
$PY -m training.train_inpaint --run abl_plain_composite --size 128 --threads 1 --steps 600 --val-every 300 --no-attention >> training/runs/ablation.out 2>&1
$PY -m training.train_inpaint --run abl_mcsam_whole --size 128 --threads 1 --steps 600 --val-every 300 --supervision whole >> training/runs/ablation.out 2>&1
