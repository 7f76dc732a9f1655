"""Train the region-attentive inpainter. Resumable exactly; runs on CPU, one GPU or torchrun/DDP.

    python -m training.train_inpaint --run-name inpaint --size 128 --threads 1     # start or resume
    python -m training.train_inpaint --run-name inpaint --size 256 --gan           # later phase
    torchrun --standalone --nproc_per_node=4 -m training.train_inpaint --run-name inpaint   # 4 GPUs/processes

Losses are applied to the composite I_syn = (1-M)*I_in + M*I_out (mask-region-focused supervision,
``--supervision composite``) or to the raw output (``whole``, for the ablation). ``--gan`` adds the
two spectral-norm PatchGANs (whole face and lower half) with relativistic LSGAN, discriminator feature
matching and a Gram (style) loss on discriminator features.

The run folder is named by ``--run-name`` (alias ``--name``; not ``--run``, which torchrun would take
for its own ``--run-path``). Under torchrun every rank takes an equal share of the same data order and
all ranks stop at the same step.

State lives in ``training/runs/<run-name>/`` (``UNMASK_RUNS`` moves ``training/runs``): ``ckpt_full.pt``
(everything, for exact resume on this machine, git-ignored), ``ckpt_compact.pt`` (fp16 weights + EMA +
counters, small enough to commit; resume from it re-initialises the optimiser moments), and
``log.jsonl`` (losses and validation).
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
from training.data import CLOSED_MOUTH_GAP, InpaintSet, mouth_gap
from training.models import InpaintGenerator, PatchDiscriminator, n_params
from training.paths import RUNS
from training.checkpoint import append_log, ema_update, load_state, save_run, to_float
from training.runtime import Runtime


def build_generator(cfg) -> InpaintGenerator:
    return InpaintGenerator(tuple(cfg["widths"]), cfg["n_attention"], cfg["attention"])


def composite(img, mask, out):
    return img * (1 - mask) + out * mask


@torch.no_grad()
def validate(G, size, n=200, batch=20, device="cpu"):
    """PSNR / SSIM / l1 on the full composite of a fixed synthetic validation set (celeba/val)."""
    G.eval()
    ds = InpaintSet("val", size, seed=1234, epoch=0, train=False, limit=n)
    psnr, ssim, l1 = [], [], []
    for i in range(0, len(ds), batch):
        img, mask = map(torch.stack, zip(*[ds[j] for j in range(i, min(i + batch, len(ds)))]))
        img, mask = img.to(device), mask.to(device)
        comp = composite(img, mask, G(img, mask)).clamp(0, 1)
        comp = torch.round(comp * 255) / 255  # metrics on 8-bit images, as saved
        for a, b in zip(comp, img):
            mse = F.mse_loss(a, b).item()
            psnr.append(10 * math.log10(1 / max(mse, 1e-10)))
            ssim.append(L.ssim(a[None], b[None]).item())
            l1.append((a.mean(0) - b.mean(0)).abs().mean().item())
    G.train()
    return {"psnr": float(np.mean(psnr)), "ssim": float(np.mean(ssim)), "l1": float(np.mean(l1))}


def arg_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-name", "--name", dest="run", default="inpaint", metavar="NAME",
                    help="run folder under training/runs (not --run: torchrun reads that as its own --run-path)")
    ap.add_argument("--run", dest="run", default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # plain python -m
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--steps", type=int, default=10 ** 9, help="stop after this many total steps")
    ap.add_argument("--minutes", type=float, default=1e9, help="stop after this many minutes")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--gan", action="store_true")
    ap.add_argument("--supervision", choices=["composite", "whole"], default="composite")
    ap.add_argument("--widths", default="32,64,128,192")
    ap.add_argument("--n-attention", type=int, default=2)
    ap.add_argument("--no-attention", action="store_true")
    ap.add_argument("--ckpt-minutes", type=float, default=5)
    ap.add_argument("--val-every", type=int, default=1000)
    ap.add_argument("--val-n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--closed-mouth-share", type=float, default=None, metavar="S",
                    help="draw faces with closed lips this often (CelebA: about half; the rest smile with "
                         "teeth, so the model drew a grin on every masked face; people wearing a mask mostly "
                         "keep their lips closed). Default: every face once per epoch, as before")
    return ap


def epoch_order(ds, seed: int, epoch: int, closed_share: float | None) -> np.ndarray:
    """The faces of one epoch, in order: a permutation, or with ``closed_share`` a draw (same size, with
    replacement) in which faces with closed lips make up that share. Fixed by (seed, epoch): resumable."""
    rng = np.random.default_rng([seed, epoch])
    if closed_share is None:
        return rng.permutation(len(ds))
    closed = mouth_gap(ds.lms) < CLOSED_MOUTH_GAP
    p = np.where(closed, closed_share / max(closed.sum(), 1), (1 - closed_share) / max((~closed).sum(), 1))
    return rng.choice(len(ds), size=len(ds), p=p / p.sum())


def main(argv=None):
    args = arg_parser().parse_args(argv)

    rt = Runtime.start(args.threads)
    run_dir = RUNS / args.run
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg = {"widths": [int(w) for w in args.widths.split(",")], "n_attention": args.n_attention,
           "attention": not args.no_attention}
    state = load_state(run_dir)
    if state:
        cfg = state["cfg"]
    G = build_generator(cfg).to(rt.device)
    D_global = PatchDiscriminator(4, 32, 4).to(rt.device)
    D_local = PatchDiscriminator(4, 32, 3).to(rt.device)
    ema = copy.deepcopy(G).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(list(D_global.parameters()) + list(D_local.parameters()), lr=args.lr,
                             betas=(0.5, 0.999))
    step, epoch, pos = 0, 0, 0
    if state:
        G.load_state_dict(to_float(state.get("G", state["ema"])))
        ema.load_state_dict(to_float(state["ema"]))
        D_global.load_state_dict(to_float(state["D_global"]))
        D_local.load_state_dict(to_float(state["D_local"]))
        if "opt_g" in state:
            opt_g.load_state_dict(state["opt_g"])
            opt_d.load_state_dict(state["opt_d"])
        for opt in (opt_g, opt_d):  # the saved moments come back, the learning rate is today's --lr
            for group in opt.param_groups:
                group["lr"] = args.lr
        step, epoch, pos = state["step"], state["epoch"], state["pos"]
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])
        rt.log(f"resumed {run_dir} at step {step} (epoch {epoch}, pos {pos}, from {state['_file']})")
    rt.log(f"generator {n_params(G) / 1e6:.2f}M params, D {n_params(D_global) / 1e6 + n_params(D_local) / 1e6:.2f}M, "
           f"size {args.size}, batch {args.batch}, gan {args.gan}, {args.supervision}, threads {torch.get_num_threads()}")
    G_train = rt.wrap(G)

    def save(final=False):
        if not rt.is_main:
            return
        full = {"cfg": cfg, "G": G.state_dict(), "ema": ema.state_dict(), "D_global": D_global.state_dict(),
                "D_local": D_local.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                "step": step, "epoch": epoch, "pos": pos, "torch_rng": torch.get_rng_state(), "size": args.size}
        save_run(run_dir, full, ("cfg", "step", "epoch", "pos", "size"))
        rt.log(f"checkpoint at step {step}{' (final)' if final else ''}")

    t_start = time.time()
    last_ckpt = time.time()
    seen = 0
    running: dict[str, float] = {}
    while step < args.steps:
        ds = InpaintSet("train", args.size, seed=args.seed, epoch=epoch)
        order = epoch_order(ds, args.seed, epoch, args.closed_mouth_share)
        order = order[:len(order) // rt.world * rt.world]  # equal shares: every rank makes the same steps
        order = order[rt.rank::rt.world]  # each process its own share, same order on resume
        if len(order) < args.batch:  # no step would ever be made: say so instead of looping forever
            if rt.is_main:
                share = f" give each of the {rt.world} processes {len(order)}" if rt.world > 1 else ""
                print(f"error: {len(ds)} training faces{share}, fewer than --batch {args.batch}", file=sys.stderr)
            return 2
        while pos + args.batch <= len(order):
            idx = order[pos:pos + args.batch]
            img, mask = map(torch.stack, zip(*[ds[int(i)] for i in idx]))
            img, mask = img.to(rt.device), mask.to(rt.device)
            out = G_train(img, mask)
            comp = composite(img, mask, out)
            pred = comp if args.supervision == "composite" else out
            loss_l1 = L.hole_l1(comp, img, mask) if args.supervision == "composite" else F.l1_loss(out, img) * 4
            loss_ssim = 1 - L.ssim(pred, img)
            loss = loss_l1 + 0.4 * loss_ssim
            logs = {"l1": loss_l1.item(), "ssim": loss_ssim.item()}
            if args.gan:
                loss_d, loss_adv, loss_fm, loss_style = gan_losses(D_global, D_local, img, pred, mask, opt_d, args.size)
                loss = loss + 0.01 * loss_adv + 0.5 * loss_fm + 20.0 * loss_style
                logs.update(d=loss_d, adv=loss_adv.item(), fm=loss_fm.item(), style=loss_style.item())
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
            ema_update(ema, G, step)
            step += 1
            pos += args.batch
            seen += args.batch * rt.world
            for k, v in logs.items():
                running[k] = running.get(k, v) * 0.98 + v * 0.02
            if step % 50 == 0 and rt.is_main:
                rate = seen / (time.time() - t_start)
                rt.log(f"step {step} ep {epoch} pos {pos} " + " ".join(f"{k} {v:.4f}" for k, v in running.items())
                       + f" | {rate:.1f} img/s")
            if step % args.val_every == 0 and rt.is_main:
                metrics = validate(ema, args.size, n=args.val_n, device=rt.device)
                append_log(run_dir, {"step": step, "epoch": epoch, "size": args.size, "gan": args.gan,
                                     "time": time.time(), **{f"train_{k}": v for k, v in running.items()},
                                     **{f"val_{k}": v for k, v in metrics.items()}})
                rt.log(f"val step {step}: " + " ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            if time.time() - last_ckpt > args.ckpt_minutes * 60:
                save()
                last_ckpt = time.time()
            # every rank stops at the same step, or the ones still training wait forever in DDP's all-reduce
            if rt.agree(step >= args.steps or (time.time() - t_start) > args.minutes * 60 or rt.stop_requested):
                save(final=True)
                return rt.leave(0)
        epoch += 1
        pos = 0
    save(final=True)
    return rt.leave(0)


def gan_losses(D_global, D_local, real, fake, mask, opt_d, size):
    """Update both discriminators, then return their losses for the generator."""
    lower = slice(size * 3 // 8, size)  # the covered half of an aligned face

    def d_in(x, m):
        return torch.cat([x * 2 - 1, m], dim=1)

    loss_d = 0.0
    for D, rows in ((D_global, slice(None)), (D_local, lower)):
        r_logit, _ = D(d_in(real[:, :, rows], mask[:, :, rows]))
        f_logit, _ = D(d_in(fake.detach()[:, :, rows], mask[:, :, rows]))
        ld = L.rals_d(r_logit, f_logit)
        loss_d = loss_d + ld
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    adv = fm = st = 0.0
    for D, rows in ((D_global, slice(None)), (D_local, lower)):
        with torch.no_grad():
            r_logit, r_feats = D(d_in(real[:, :, rows], mask[:, :, rows]))
        f_logit, f_feats = D(d_in(fake[:, :, rows], mask[:, :, rows]))
        adv = adv + L.rals_g(r_logit, f_logit)
        fm = fm + L.feature_matching(r_feats, f_feats)
        st = st + L.style(r_feats, f_feats)
    return loss_d.item(), adv, fm, st


if __name__ == "__main__":
    sys.exit(main())
