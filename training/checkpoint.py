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


def ema_update(ema, model, step: int) -> None:
    """Exponential moving average of the weights, with a warm-up so early steps are not averaged in."""
    decay = min(0.999, (1 + step) / (10 + step))
    with torch.no_grad():
        for pe, pg in zip(ema.parameters(), model.parameters()):
            pe.lerp_(pg, 1 - decay)


def save_run(run_dir, full: dict, counters) -> None:
    """``ckpt_full.pt`` (everything, exact resume) and ``ckpt_compact.pt`` (``counters`` plus the EMA
    and discriminators in fp16, small enough to commit; the generator restarts from the EMA)."""
    atomic_save(full, run_dir / "ckpt_full.pt")
    compact = {k: full[k] for k in counters}
    for k in ("ema", "D_global", "D_local"):
        compact[k] = {n: t.half() if t.is_floating_point() else t for n, t in full[k].items()}
    atomic_save(compact, run_dir / "ckpt_compact.pt")


def resume_one_cycle(run_dir, net, opt, lr: float, steps: int, pct_start: float = 0.05):
    """A fresh one-cycle schedule over ``steps``, or, with a checkpoint in ``run_dir``, the network,
    optimiser and schedule restored from it. Returns (the state or None, the scheduler). A checkpoint
    made for another step budget (or a compact one) gets a fresh one-cycle over what is left."""
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=pct_start)
    state = load_state(run_dir)
    if state:
        net.load_state_dict(to_float(state["net"]))
        if "opt" in state:
            opt.load_state_dict(state["opt"])
        if "sched" in state and state["sched"]["total_steps"] == steps:
            sched.load_state_dict(state["sched"])
        else:
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps - state["step"],
                                                        pct_start=pct_start)
    return state, sched


def save_net(run_dir, net, opt, sched, counters: dict) -> None:
    """``ckpt_full.pt`` (network, optimiser, schedule, ``counters``: exact resume) and
    ``ckpt_compact.pt`` (the network in fp16 and ``counters``, small enough to commit)."""
    full = {"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), **counters}
    atomic_save(full, run_dir / "ckpt_full.pt")
    atomic_save({"net": {k: v.half() if v.is_floating_point() else v for k, v in full["net"].items()},
                 **counters}, run_dir / "ckpt_compact.pt")
