"""Train the covering segmenter on synthetic Masked-Faces plus MaskedFace-Net's real labels.

    python -m training.train_segment --run segment --threads 1 --minutes 40

Every fifth MaskedFace-Net face is held out (``MaskedFaceSegSet(split="test")``) for evaluation.
Resume, checkpoints and logs work as in ``training.train_inpaint``.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.metrics import boundary_f1
from training.checkpoint import append_log, atomic_save, load_state, to_float
from training.data import MaskedFaceSegSet, SegmentSet
from training.models import SegmenterNet, n_params
from training.paths import RUNS
from training.runtime import Runtime

NET_SIZE = 128
REAL_SHARE = 0.3  # fraction of each batch drawn from MaskedFace-Net


@torch.no_grad()
def evaluate(net, ds, batch=32):
    """Mean IoU and boundary F-score at the crop size (256²), like the app sees the mask."""
    net.eval()
    ious, bfs = [], []
    for i in range(0, len(ds), batch):
        x, y = map(torch.stack, zip(*[ds[j] for j in range(i, min(i + batch, len(ds)))]))
        p = torch.sigmoid(F.interpolate(net(x), size=256, mode="bilinear", align_corners=False))
        g = F.interpolate(y, size=256, mode="bilinear", align_corners=False)
        for pm, gm in zip((p[:, 0] > 0.5).numpy().astype(np.uint8), (g[:, 0] > 0.5).numpy().astype(np.uint8)):
            union = (pm | gm).sum()
            ious.append(1.0 if union == 0 else (pm & gm).sum() / union)
            bfs.append(boundary_f1(pm, gm))
    net.train()
    return float(np.mean(ious)), float(np.mean(bfs))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run", default="segment")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--minutes", type=float, default=1e9)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--ckpt-minutes", type=float, default=5)
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    rt = Runtime.start(args.threads)
    run_dir = RUNS / args.run
    run_dir.mkdir(parents=True, exist_ok=True)
    net = SegmenterNet().to(rt.device)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.05)
    step, epoch, pos = 0, 0, 0
    state = load_state(run_dir)
    if state:
        net.load_state_dict(to_float(state["net"]))
        if "opt" in state:
            opt.load_state_dict(state["opt"])
        if "sched" in state and state["sched"]["total_steps"] == args.steps:
            sched.load_state_dict(state["sched"])
        else:  # a new step budget (or a compact checkpoint): a fresh one-cycle over what is left
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps - state["step"],
                                                        pct_start=0.05)
        step, epoch, pos = state["step"], state["epoch"], state["pos"]
        rt.log(f"resumed at step {step} from {state['_file']}")
    rt.log(f"segmenter {n_params(net) / 1e6:.2f}M params, threads {torch.get_num_threads()}")
    net_train = rt.wrap(net)
    val_syn = SegmentSet("val", NET_SIZE, seed=4321, train=False, limit=200)
    val_real = MaskedFaceSegSet(NET_SIZE, "test", train=False)

    def save(final=False):
        if not rt.is_main:
            return
        full = {"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                "step": step, "epoch": epoch, "pos": pos}
        atomic_save(full, run_dir / "ckpt_full.pt")
        atomic_save({"net": {k: v.half() if v.is_floating_point() else v for k, v in full["net"].items()},
                     "step": step, "epoch": epoch, "pos": pos}, run_dir / "ckpt_compact.pt")
        rt.log(f"checkpoint at step {step}{' (final)' if final else ''}")

    t0 = last = time.time()
    step0 = step
    n_real = int(round(args.batch * REAL_SHARE))
    while step < args.steps:
        syn = SegmentSet("train", NET_SIZE, seed=args.seed, epoch=epoch)
        real = MaskedFaceSegSet(NET_SIZE, "train", seed=args.seed, epoch=epoch)
        order = np.random.default_rng([args.seed, epoch]).permutation(len(syn))[rt.rank::rt.world]
        while pos + args.batch <= len(order) and step < args.steps:
            items = [syn[int(i)] for i in order[pos:pos + args.batch - n_real]]
            items += [real[(step * n_real + k) % len(real)] for k in range(n_real)]
            x, y = map(torch.stack, zip(*items))
            x, y = x.to(rt.device), y.to(rt.device)
            logit = net_train(x)
            p = torch.sigmoid(logit)
            dice = 1 - (2 * (p * y).sum((1, 2, 3)) + 1) / (p.sum((1, 2, 3)) + y.sum((1, 2, 3)) + 1)
            loss = F.binary_cross_entropy_with_logits(logit, y) + 0.5 * dice.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            pos += args.batch - n_real
            if step % 50 == 0:
                rt.log(f"step {step} ep {epoch} loss {loss.item():.4f} | "
                       f"{(step - step0) * args.batch / (time.time() - t0):.1f} img/s")
            if step % args.val_every == 0 and rt.is_main:
                iou_s, bf_s = evaluate(net, val_syn)
                iou_r, bf_r = evaluate(net, val_real)
                append_log(run_dir, {"step": step, "time": time.time(), "loss": loss.item(),
                                     "val_syn_iou": iou_s, "val_syn_bf": bf_s,
                                     "val_real_iou": iou_r, "val_real_bf": bf_r})
                rt.log(f"val step {step}: synthetic IoU {iou_s:.4f} BF {bf_s:.4f} | "
                       f"MaskedFace-Net held-out IoU {iou_r:.4f} BF {bf_r:.4f}")
            if time.time() - last > args.ckpt_minutes * 60:
                save()
                last = time.time()
            if (time.time() - t0) > args.minutes * 60 or rt.stop_requested:
                save(final=True)
                return 0
        if pos + args.batch > len(order):
            epoch, pos = epoch + 1, 0
    save(final=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
