"""Train the 256² refinement stage (optional reference photo) on top of the shipped coarse inpainter.

    python -m training.train_refine --run-name refine --threads 2       # start or resume
    python -m training.train_refine --run-name refine --gan             # later phase, with the PatchGANs

The coarse generator comes from ``--coarse-run`` (EMA weights) and stays frozen unless
``--train-coarse``; the refinement's output layer starts at zero, so step 0 reproduces the shipped
model. Losses on the composite: hole L1, SSIM, and an L1 on the high-frequency band (photo minus its
Gaussian blur, σ 1.5) inside the hole, which asks for the detail that plain L1 averages away.
Validation every ``--val-every`` steps: 100 CelebA val faces without a reference (against the coarse
model on the same faces) and held-out LFW people with another photo as reference.
State as in ``train_inpaint``: ``ckpt_full.pt`` (exact resume), ``ckpt_compact.pt`` (fp16, committed),
``log.jsonl``.
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from training import losses as L
from training.checkpoint import append_log, ema_update, load_state, save_run, to_float
from training.models import PatchDiscriminator, n_params
from training.paths import RUNS
from training.ref_data import LfwPairSet, RefInpaintSet
from training.ref_models import CoarseAt128, RefineNet, TwoStage
from training.runtime import Runtime
from training.train_inpaint import build_generator, gan_losses


def high_pass(x, sigma=1.5):
    r = int(3 * sigma)
    g = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float32, device=x.device) ** 2 / (2 * sigma ** 2))
    g = (g / g.sum()).view(1, 1, 1, -1).repeat(x.shape[1], 1, 1, 1)
    b = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), g, groups=x.shape[1])
    b = F.conv2d(F.pad(b, (0, 0, r, r), mode="reflect"), g.transpose(2, 3), groups=x.shape[1])
    return x - b


def load_coarse(run: str) -> torch.nn.Module:
    state = load_state(RUNS / run)
    G = build_generator(state["cfg"])
    G.load_state_dict(to_float(state["ema"]))
    return CoarseAt128(G)


def metrics(pred, target):
    pred = torch.round(pred.clamp(0, 1) * 255) / 255
    out = []
    for a, b in zip(pred, target):
        mse = F.mse_loss(a, b).item()
        out.append((10 * math.log10(1 / max(mse, 1e-10)), L.ssim(a[None], b[None]).item(),
                    (a.mean(0) - b.mean(0)).abs().mean().item()))
    return out


@torch.no_grad()
def validate(model: TwoStage, n_celeba=100, n_lfw=60, batch=10):
    model.eval()
    res = {}
    ds = RefInpaintSet("val", seed=1234, train=False, mix=(1.0, 0.0, 0.0), limit=None)
    idx = np.linspace(0, len(ds.files) - 1, n_celeba).round().astype(int)
    rows_c, rows_r = [], []
    for i in range(0, len(idx), batch):
        img, mask, ref, valid = map(torch.stack, zip(*[ds[int(j)] for j in idx[i:i + batch]]))
        coarse = model.coarse(img, mask)
        rows_c += metrics(img * (1 - mask) + coarse * mask, img)
        rows_r += metrics(img * (1 - mask) + model(img, mask, ref, valid) * mask, img)
    for name, rows in (("coarse", rows_c), ("noref", rows_r)):
        a = np.array(rows)
        res.update({f"{name}_psnr": a[:, 0].mean(), f"{name}_ssim": a[:, 1].mean(), f"{name}_l1": a[:, 2].mean()})
    pairs = LfwPairSet("val", limit=n_lfw)
    rows_w, rows_wo, rows_c = [], [], []
    for i in range(0, len(pairs), batch):
        img, mask, ref, valid = map(torch.stack, zip(*[pairs[j] for j in range(i, min(i + batch, len(pairs)))]))
        rows_w += metrics(img * (1 - mask) + model(img, mask, ref, valid) * mask, img)
        rows_wo += metrics(img * (1 - mask) + model(img, mask, ref * 0, valid * 0) * mask, img)
        rows_c += metrics(img * (1 - mask) + model.coarse(img, mask) * mask, img)
    for name, rows in (("lfw_ref", rows_w), ("lfw_noref", rows_wo), ("lfw_coarse", rows_c)):
        a = np.array(rows)
        res.update({f"{name}_psnr": a[:, 0].mean(), f"{name}_ssim": a[:, 1].mean(), f"{name}_l1": a[:, 2].mean()})
    model.train()
    return {k: float(v) for k, v in res.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-name", "--name", dest="run", default="refine",
                    help="run folder under training/runs (not --run: torchrun would read that as its own "
                         "--run-path)")
    ap.add_argument("--coarse-run", default="inpaint_gan")
    ap.add_argument("--batch", type=int, default=6)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--steps", type=int, default=10 ** 9)
    ap.add_argument("--minutes", type=float, default=1e9)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--gan", action="store_true")
    ap.add_argument("--train-coarse", action="store_true")
    ap.add_argument("--hf-weight", type=float, default=1.0)
    ap.add_argument("--widths", default="32,96,48")
    ap.add_argument("--ckpt-minutes", type=float, default=5)
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    rt = Runtime.start(args.threads)
    run_dir = RUNS / args.run
    run_dir.mkdir(parents=True, exist_ok=True)
    state = load_state(run_dir)
    cfg = state["cfg"] if state else {"widths": [int(w) for w in args.widths.split(",")],
                                      "coarse_run": args.coarse_run}
    model = TwoStage(load_coarse(cfg["coarse_run"]), RefineNet(tuple(cfg["widths"]))).to(rt.device)
    D_global = PatchDiscriminator(4, 32, 4).to(rt.device)
    D_local = PatchDiscriminator(4, 32, 3).to(rt.device)
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    model.coarse.requires_grad_(args.train_coarse)
    params = [p for p in model.parameters() if p.requires_grad]
    opt_g = torch.optim.Adam(params, lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(list(D_global.parameters()) + list(D_local.parameters()), lr=args.lr,
                             betas=(0.5, 0.999))
    step, epoch, pos = 0, 0, 0
    if state:
        model.load_state_dict(to_float(state.get("G", state["ema"])))
        ema.load_state_dict(to_float(state["ema"]))
        D_global.load_state_dict(to_float(state["D_global"]))
        D_local.load_state_dict(to_float(state["D_local"]))
        if "opt_g" in state and state.get("train_coarse", False) == args.train_coarse:
            opt_g.load_state_dict(state["opt_g"])
            opt_d.load_state_dict(state["opt_d"])
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = args.lr
        step, epoch, pos = state["step"], state["epoch"], state["pos"]
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])
        rt.log(f"resumed {run_dir} at step {step} (epoch {epoch}, pos {pos}, from {state['_file']})")
    rt.log(f"refine {n_params(model.refine) / 1e6:.2f}M params (+ coarse {n_params(model.coarse) / 1e6:.2f}M, "
           f"{'trained' if args.train_coarse else 'frozen'}), batch {args.batch}, gan {args.gan}, "
           f"threads {torch.get_num_threads()}")
    model_train = rt.wrap(model)

    def save(final=False):
        if not rt.is_main:
            return
        full = {"cfg": cfg, "G": model.state_dict(), "ema": ema.state_dict(), "D_global": D_global.state_dict(),
                "D_local": D_local.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                "step": step, "epoch": epoch, "pos": pos, "torch_rng": torch.get_rng_state(),
                "train_coarse": args.train_coarse, "size": 256}
        save_run(run_dir, full, ("cfg", "step", "epoch", "pos", "size", "train_coarse"))
        rt.log(f"checkpoint at step {step}{' (final)' if final else ''}")

    t_start = last_ckpt = time.time()
    seen = 0
    running: dict[str, float] = {}
    while step < args.steps:
        ds = RefInpaintSet("train", seed=args.seed, epoch=epoch)
        order = np.random.default_rng([args.seed, epoch]).permutation(len(ds))
        order = order[:len(order) // rt.world * rt.world][rt.rank::rt.world]  # equal shares, same steps
        while pos + args.batch <= len(order):
            img, mask, ref, valid = (t.to(rt.device) for t in
                                     map(torch.stack, zip(*[ds[int(i)] for i in order[pos:pos + args.batch]])))
            out = model_train(img, mask, ref, valid)
            comp = img * (1 - mask) + out * mask
            loss_l1 = L.hole_l1(comp, img, mask)
            loss_ssim = 1 - L.ssim(comp, img)
            loss_hf = L.hole_l1(high_pass(comp), high_pass(img), mask)
            loss = loss_l1 + 0.4 * loss_ssim + args.hf_weight * loss_hf
            logs = {"l1": loss_l1.item(), "ssim": loss_ssim.item(), "hf": loss_hf.item()}
            if args.gan:
                loss_d, loss_adv, loss_fm, loss_style = gan_losses(D_global, D_local, img, comp, mask, opt_d, 256)
                loss = loss + 0.01 * loss_adv + 0.5 * loss_fm + 20.0 * loss_style
                logs.update(d=loss_d, adv=loss_adv.item(), fm=loss_fm.item(), style=loss_style.item())
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
            ema_update(ema, model, step)
            step += 1
            pos += args.batch
            seen += args.batch * rt.world
            for k, v in logs.items():
                running[k] = running.get(k, v) * 0.98 + v * 0.02
            if step % 25 == 0 and rt.is_main:
                rt.log(f"step {step} ep {epoch} pos {pos} " + " ".join(f"{k} {v:.4f}" for k, v in running.items())
                       + f" | {seen / (time.time() - t_start):.2f} img/s")
            if step % args.val_every == 0 and rt.is_main:
                m = validate(ema)
                append_log(run_dir, {"step": step, "epoch": epoch, "gan": args.gan, "time": time.time(),
                                     **{f"train_{k}": v for k, v in running.items()},
                                     **{f"val_{k}": v for k, v in m.items()}})
                rt.log(f"val step {step}: " + " ".join(f"{k} {v:.4f}" for k, v in m.items()))
            if time.time() - last_ckpt > args.ckpt_minutes * 60:
                save()
                last_ckpt = time.time()
            if rt.agree(step >= args.steps or (time.time() - t_start) > args.minutes * 60 or rt.stop_requested):
                save(final=True)
                return rt.leave(0)
        epoch += 1
        pos = 0
    save(final=True)
    return rt.leave(0)


if __name__ == "__main__":
    sys.exit(main())
