"""Train the strap model: ear loops and straps beside a covering the segmenter found.

    python -m training.train_straps --run-name straps --threads 2 --minutes 60

Why a model of its own: the segmenter sees a face at 128², where a loop is a pixel wide or less, and
its probability maps show no response to loops on real photos; the hand-written tracer
(``unmask_studio/core/straps.py``) follows the clear ones but leaves loops that run round or behind
the ear, down the neck, over hair, or that are faint (13 of 30 real photos looked at in session 9
still showed some). This model sees the engine's strap crop (the segmenter's crop widened by
``STRAP_REACH`` so the ears are inside) at ``NET_SIZE``², roughly 140 px across the face, together
with the covering already found as a fourth channel, and marks strap pixels outside that covering.

Data: CelebA faces with synthetic coverings from ``training.synth`` (loops drawn whole: over the cheek,
round the ear, back to the covering; respirators' head straps), labels = the loops. Thin things that
are not straps are drawn too, unlabelled: glasses' arms, necklaces, hair strands at the temples. Faces
are shrunk and enlarged back (the strap crop of a 60-150 px face is blurry) and JPEG-compressed.
Evaluation: strap IoU / precision / recall on 200 held-out CelebA val faces (pixels pooled).
Resume, checkpoints and logs work as in ``training.train_segment``.
"""
from __future__ import annotations

import argparse
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from training.contract import STRAP_CANVAS, STRAP_REACH, STRAP_SIZE
from training.checkpoint import append_log, resume_one_cycle, save_net
from training.data import SOURCE_SIZE, _subset, landmarks, load_face, paint_clothing, sample_rng
from training.framing import tight_to_loose
from training.models import SegmenterNet, n_params
from training.paths import RUNS
from training.runtime import Runtime
from training.synth import Frame, _bezier, jpeg, synthesize

LOOSE = 256  # the segmenter crop's framing, rendered at this size
PAD = int(round(LOOSE * (STRAP_REACH - 1) / 2))  # the strap crop is STRAP_REACH times as wide
CANVAS = LOOSE + 2 * PAD  # 358: the strap crop at half the engine's tracing resolution
NET_SIZE = STRAP_SIZE  # CANVAS padded to a multiple of 8 (three poolings)
assert CANVAS == STRAP_CANVAS
# Kinds with straps drawn most often; the others keep "a covering without loops" in the data.
KIND_WEIGHTS = {"surgical": 0.35, "sport": 0.15, "respirator": 0.15, "chin": 0.1,
                "cloth": 0.07, "n95": 0.06, "template": 0.06, "gaiter": 0.03, "scarf": 0.03}
DISTRACTOR_RATE = 0.6
LOWRES_RATE = 0.5
WIDTHS = (16, 32, 48, 64)
TRAIN_WINDOW = 192


def _curve(img, a, b, bend, colour, thick):
    pts = _bezier(a, (a + b) / 2 + bend, b, 16)
    cv2.polylines(img, [np.round(pts * 16).astype(np.int32)], False, tuple(float(c) for c in colour), thick,
                  cv2.LINE_AA, shift=4)


def draw_distractors(img: np.ndarray, lm: np.ndarray, rng) -> None:
    """Thin lines that are not straps (unlabelled): a pair of glasses' arms from the eyes' outer corners
    to the ears, a necklace under the chin, hair strands down the temples."""
    fr = Frame.from_landmarks(lm)
    s = fr.scale
    dark = rng.random() < 0.6
    colour = rng.uniform(10, 70, 3) if dark else rng.uniform(140, 250, 3)
    thick = max(1, int(round(s * rng.uniform(0.01, 0.03))))
    if rng.random() < 0.45:  # glasses' arms
        for corner, ear, sign in ((lm[33], lm[234], -1), (lm[263], lm[454], 1)):
            end = ear + fr.u * sign * s * rng.uniform(0.0, 0.15) - fr.v * s * rng.uniform(0.0, 0.1)
            _curve(img, corner + fr.u * sign * s * 0.05, end, -fr.v * s * rng.uniform(0, 0.05), colour, thick)
    if rng.random() < 0.3:  # a necklace or a collar's edge round the neck
        chin = lm[152]
        left, right = lm[172] + fr.v * s * rng.uniform(0.3, 0.6), lm[397] + fr.v * s * rng.uniform(0.3, 0.6)
        _curve(img, left, right, fr.v * s * rng.uniform(0.2, 0.6) + (chin - (lm[172] + lm[397]) / 2) * 0.2,
               rng.uniform(0, 255, 3), max(1, thick - 1))
    if rng.random() < 0.4:  # hair strands down the temples, over the cheek
        hair = np.array([(25, 20, 18), (60, 40, 25), (120, 90, 50), (200, 170, 120)][rng.integers(4)], np.float64)
        for _ in range(int(rng.integers(1, 5))):
            side = lm[234] if rng.random() < 0.5 else lm[454]
            top = side - fr.v * s * rng.uniform(0.3, 0.7) + fr.u * s * rng.normal(0, 0.1)
            bottom = side + fr.v * s * rng.uniform(0.1, 0.7) + fr.u * s * rng.normal(0, 0.15)
            _curve(img, top, bottom, fr.u * s * rng.normal(0, 0.12), hair * rng.uniform(0.8, 1.2),
                   int(rng.integers(1, 3)))


LOOP_COLOURS = [(245, 245, 245), (225, 225, 220), (25, 25, 28), (60, 60, 65), (120, 165, 215), (200, 200, 205)]
THICK_RATE, RECOLOUR_RATE = 0.5, 0.3


def restyle_straps(out: np.ndarray, straps: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Thicker and other-coloured straps than the synthesiser draws: it draws 1-2 px loops in the
    covering's own colour, while real cloth masks' loops are 4-6 % of the face wide (a black loop
    8 px wide on a 130 px face, wild_dev/0003_0017) and surgical masks often have white ones. The
    strap pixels are widened by 1-3 px and painted (soft-edged) in their own or another colour."""
    if not straps.any() or rng.random() > max(THICK_RATE, RECOLOUR_RATE):
        return out, straps
    k = int(rng.integers(1, 4)) if rng.random() < THICK_RATE / max(THICK_RATE, RECOLOUR_RATE) else 0
    wide = cv2.dilate(straps.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1,) * 2)) > 0 \
        if k else straps
    if rng.random() < RECOLOUR_RATE:
        colour = np.array(LOOP_COLOURS[rng.integers(len(LOOP_COLOURS))], np.float32) + rng.normal(0, 8, 3)
    else:
        colour = np.median(out[straps], 0).astype(np.float32)
    a = cv2.GaussianBlur(wide.astype(np.float32), (0, 0), 0.6)[..., None]
    shade = 1 + 0.08 * cv2.GaussianBlur(rng.standard_normal(straps.shape).astype(np.float32), (0, 0), 3)[..., None]
    painted = out.astype(np.float32) * (1 - a) + np.clip(colour * shade, 0, 255) * a
    return np.clip(painted, 0, 255).astype(np.uint8), wide


def perturb_covering(cov: np.ndarray, rng) -> np.ndarray:
    """The covering as the segmenter would hand it over: a few pixels too wide or too narrow, smooth
    (it is a 256² mask enlarged), sometimes missing a piece at a side."""
    m = cov.astype(np.uint8)
    k = int(rng.integers(-3, 4))
    if k:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(k) + 1,) * 2)
        m = cv2.dilate(m, disc) if k > 0 else cv2.erode(m, disc)
    if rng.random() < 0.15 and m.any():
        ys, xs = np.nonzero(m)
        i = rng.integers(len(ys))
        cv2.circle(m, (int(xs[i]), int(ys[i])), int(rng.uniform(0.05, 0.15) * CANVAS), 0, -1)
    return cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.5) > 0.5


class StrapSet(torch.utils.data.Dataset):
    """(RGB + covering channel, strap target) at NET_SIZE², in the engine's strap-crop framing."""

    def __init__(self, split: str, seed: int = 0, epoch: int = 0, train: bool = True, limit=None):
        self.files, self.lms = _subset(*landmarks(split), limit)
        self.seed, self.epoch, self.train = seed, epoch, train
        self.kinds = list(KIND_WEIGHTS)
        self.p = np.array(list(KIND_WEIGHTS.values()))
        self.p = self.p / self.p.sum()

    def __len__(self):
        return len(self.files)

    def sample(self, i):
        """(uint8 RGB, bool covering, bool straps), CANVAS² each."""
        rng = sample_rng(self.seed, self.epoch, i)
        A = tight_to_loose(LOOSE)
        A[:, 2] += PAD
        img = cv2.warpAffine(load_face(self.files[i], LOOSE), A, (CANVAS, CANVAS), flags=cv2.INTER_AREA,
                             borderMode=cv2.BORDER_REFLECT101)
        lm = self.lms[i] * (LOOSE / SOURCE_SIZE) @ A[:, :2].T + A[:, 2]
        if rng.random() < 0.4:
            img = paint_clothing(img, lm, rng)
        img = np.ascontiguousarray(img)
        if rng.random() < DISTRACTOR_RATE:
            draw_distractors(img, lm, rng)
        parts = {}
        kind = self.kinds[rng.choice(len(self.kinds), p=self.p)]
        out, _, _ = synthesize(img, lm, rng, kind=kind, parts=parts)
        out, straps = restyle_straps(out, parts["straps"] & ~parts["covering"], rng)
        return out, parts["covering"], straps | (parts["straps"] & parts["covering"]), rng, lm

    def __getitem__(self, i):
        out, covering, straps, rng, lm = self.sample(i)
        if self.train:
            # A window at one side of the face, ear height (where the straps are), or anywhere: a
            # whole strap crop per sample ran at 1.9 img/s.
            c = lm[234 if rng.random() < 0.5 else 454] + rng.normal(0, 25, 2) if rng.random() < 0.8 else \
                rng.uniform(TRAIN_WINDOW / 2, CANVAS - TRAIN_WINDOW / 2, 2)
            x0, y0 = (np.clip(np.round(c - TRAIN_WINDOW / 2), 0, CANVAS - TRAIN_WINDOW)).astype(int)
            win = np.s_[y0:y0 + TRAIN_WINDOW, x0:x0 + TRAIN_WINDOW]
            out, covering, straps = out[win], covering[win], straps[win]
            if rng.random() < 0.5:
                out, covering, straps = out[:, ::-1], covering[:, ::-1], straps[:, ::-1]
            f = out.astype(np.float32) * rng.uniform(0.7, 1.25) + rng.normal(0, 10, 3)
            out = np.clip(f, 0, 255).astype(np.uint8)
            if rng.random() < LOWRES_RATE:  # the strap crop of a small face: enlarged, blurry
                n = out.shape[0]
                side = int(n / rng.uniform(1.3, 4.0))
                small = cv2.resize(out, (side, side), interpolation=cv2.INTER_AREA)
                if rng.random() < 0.5:
                    small = jpeg(small, int(rng.integers(50, 95)))
                out = cv2.resize(small, (n, n), interpolation=cv2.INTER_LINEAR)
        given = perturb_covering(np.ascontiguousarray(covering), rng)
        target = np.ascontiguousarray(straps) & ~cv2.dilate(given.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        return to_tensors(np.ascontiguousarray(out), given), torch.from_numpy(target.astype(np.float32))[None]


class PastedMaskNegatives(torch.utils.data.Dataset):
    """MaskedFace-Net training faces (real FFHQ hair, ears, backgrounds; pasted masks without loops):
    every strap pixel the model marks there is false (``--negatives``). The 256² loose crops are
    mirror-padded to the strap crop; windows at a random side of the covering."""

    def __init__(self, seed: int = 0, epoch: int = 0):
        from training.data import MaskedFaceSegSet

        base = MaskedFaceSegSet(LOOSE, "train")  # the held-out fifth stays out (benchmarks/straps.py)
        self.images, self.masks = base.images, base.masks
        self.seed, self.epoch = seed, epoch

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        rng = sample_rng(self.seed + 11, self.epoch, i)
        img = cv2.copyMakeBorder(self.images[i], PAD, PAD, PAD, PAD, cv2.BORDER_REFLECT101)
        cov = cv2.copyMakeBorder(self.masks[i].astype(np.uint8), PAD, PAD, PAD, PAD, cv2.BORDER_CONSTANT, value=0) > 0
        if rng.random() < 0.5:
            img, cov = img[:, ::-1], cov[:, ::-1]
        ys, xs = np.nonzero(cov)
        if len(ys):
            side = xs.min() if rng.random() < 0.5 else xs.max()
            c = np.array([side, ys.mean()]) + rng.normal(0, 25, 2)
        else:
            c = rng.uniform(TRAIN_WINDOW / 2, CANVAS - TRAIN_WINDOW / 2, 2)
        x0, y0 = (np.clip(np.round(c - TRAIN_WINDOW / 2), 0, CANVAS - TRAIN_WINDOW)).astype(int)
        win = np.s_[y0:y0 + TRAIN_WINDOW, x0:x0 + TRAIN_WINDOW]
        img = np.ascontiguousarray(img[win])
        given = perturb_covering(np.ascontiguousarray(cov[win]), rng)
        return to_tensors(img, given), torch.zeros(1, TRAIN_WINDOW, TRAIN_WINDOW)


def to_tensors(rgb: np.ndarray, covering: np.ndarray) -> torch.Tensor:
    """4xN² input: RGB in 0..1 and the covering (0/1); a whole strap crop is padded at the bottom/right
    to NET_SIZE²."""
    x = np.concatenate([rgb.astype(np.float32) / 255, covering[..., None].astype(np.float32)], -1)
    if x.shape[0] == CANVAS:
        x = np.pad(x, ((0, NET_SIZE - x.shape[0]), (0, NET_SIZE - x.shape[1]), (0, 0)), mode="edge")
    return torch.from_numpy(x).permute(2, 0, 1).contiguous()


def pad_target(t: torch.Tensor, size: int) -> torch.Tensor:
    return F.pad(t, (0, size - t.shape[-1], 0, size - t.shape[-2]))


@torch.no_grad()
def evaluate(net, ds, batch=16):
    """Strap pixels pooled over the set: IoU, precision, recall at p > 0.5."""
    net.eval()
    inter = pred = true = 0
    for i in range(0, len(ds), batch):
        x, y = map(torch.stack, zip(*[ds[j] for j in range(i, min(i + batch, len(ds)))]))
        p = torch.sigmoid(net(x))[..., :CANVAS, :CANVAS] > 0.5
        g = y > 0.5
        inter += int((p & g).sum())
        pred += int(p.sum())
        true += int(g.sum())
    net.train()
    return inter / max(pred + true - inter, 1), inter / max(pred, 1), inter / max(true, 1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-name", "--name", dest="run", default="straps")
    ap.add_argument("--run", dest="run", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--minutes", type=float, default=1e9)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--ckpt-minutes", type=float, default=5)
    ap.add_argument("--val-every", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--negatives", type=int, default=0,
                    help="per batch, this many MaskedFace-Net faces with no strap anywhere (PastedMaskNegatives)")
    args = ap.parse_args(argv)

    rt = Runtime.start(args.threads)
    run_dir = RUNS / args.run
    run_dir.mkdir(parents=True, exist_ok=True)
    net = SegmenterNet(WIDTHS, in_channels=4).to(rt.device)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    step, epoch, pos = 0, 0, 0
    state, sched = resume_one_cycle(run_dir, net, opt, args.lr, args.steps)
    if state:
        step, epoch, pos = state["step"], state["epoch"], state["pos"]
        rt.log(f"resumed at step {step} from {state['_file']}")
    rt.log(f"strap model {n_params(net) / 1e6:.2f}M params, threads {torch.get_num_threads()}")
    val = StrapSet("val", seed=4321, train=False, limit=200)

    def save(final=False):
        save_net(run_dir, net, opt, sched, {"step": step, "epoch": epoch, "pos": pos})
        rt.log(f"checkpoint at step {step}{' (final)' if final else ''}")

    t0 = last = time.time()
    step0 = step
    pos_weight = torch.tensor(4.0)
    while step < args.steps:
        ds = StrapSet("train", seed=args.seed, epoch=epoch)
        neg = PastedMaskNegatives(seed=args.seed, epoch=epoch) if args.negatives else None
        order = np.random.default_rng([args.seed, epoch]).permutation(len(ds))
        n_syn = args.batch - args.negatives
        while pos + n_syn <= len(order) and step < args.steps:
            items = [ds[int(i)] for i in order[pos:pos + n_syn]]
            if neg is not None:
                items += [neg[(step * args.negatives + k) % len(neg)] for k in range(args.negatives)]
            x, y = map(torch.stack, zip(*items))
            y = pad_target(y, x.shape[-1])
            logit = net(x)
            p = torch.sigmoid(logit)
            bce = F.binary_cross_entropy_with_logits(logit, y, pos_weight=pos_weight)
            dice = 1 - (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1)  # pooled: most faces have few strap px
            loss = bce + 0.5 * dice
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            pos += n_syn
            if step % 25 == 0:
                rt.log(f"step {step} ep {epoch} loss {loss.item():.4f} bce {bce.item():.4f} dice {dice.item():.3f} | "
                       f"{(step - step0) * args.batch / (time.time() - t0):.1f} img/s")
            if step % args.val_every == 0:
                iou, prec, rec = evaluate(net, val)
                append_log(run_dir, {"step": step, "time": time.time(), "loss": loss.item(),
                                     "val_strap_iou": iou, "val_precision": prec, "val_recall": rec})
                rt.log(f"val step {step}: strap IoU {iou:.4f} precision {prec:.3f} recall {rec:.3f}")
            if time.time() - last > args.ckpt_minutes * 60:
                save()
                last = time.time()
            if (time.time() - t0) > args.minutes * 60 or rt.stop_requested:
                save(final=True)
                return rt.leave(0)
        if pos + n_syn > len(order):
            epoch, pos = epoch + 1, 0
    save(final=True)
    return rt.leave(0)


if __name__ == "__main__":
    sys.exit(main())
