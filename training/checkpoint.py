"""Checkpoint files: atomic writes, full-or-compact resume, the JSONL progress log."""
from __future__ import annotations

import json
import os

import torch


def to_float(sd):
    return {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}


def atomic_save(obj, path):
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_state(run_dir):
    for name in ("ckpt_full.pt", "ckpt_compact.pt"):
        f = run_dir / name
        if f.exists():
            state = torch.load(f, map_location="cpu", weights_only=False)
            state["_file"] = name
            return state
    return None


def append_log(run_dir, rec):
    with open(run_dir / "log.jsonl", "a") as fh:
        fh.write(json.dumps(rec) + "\n")
