"""Export trained checkpoints to the ONNX files the app ships (``unmask_studio/resources/models``).

    python -m training.export                 # both models from training/runs/{inpaint,segment}
    python -m training.export --only segmenter
    python -m training.export --only straps   # the strap model from training/runs/straps

Names, shapes and ranges follow ``unmask_studio/resources/models/contract.json`` (written by ``training.contract``);
the batch dimension is dynamic so the app can run several faces at once. The exported graph is
checked against PyTorch on random input before it replaces the shipped file.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training.checkpoint import load_state, to_float
from training.models import SegmenterNet
from training.paths import MODELS, RUNS
from training.train_inpaint import build_generator
from training.train_segment import NET_SIZE


class SegmenterExport(torch.nn.Module):
    """Crop-size RGB in, crop-size covering probability out (the net itself runs at NET_SIZE)."""

    def __init__(self, net, size: int):
        super().__init__()
        self.net, self.size = net, size  # a constant size keeps the output shape static in the graph

    def forward(self, image):
        size = self.size
        x = F.interpolate(image, size=(NET_SIZE, NET_SIZE), mode="bilinear", align_corners=False, antialias=False)
        logit = F.interpolate(self.net(x), size=(size, size), mode="bilinear", align_corners=False)
        return torch.sigmoid(logit)


class InpainterAtTrainSize(torch.nn.Module):
    """Runs a generator trained at a smaller size inside the crop-size contract: 2x area-downsample
    the input, fill, bicubic-upsample the prediction (the app composites it with the mask)."""

    def __init__(self, G, factor: int, size: int):
        super().__init__()
        self.G, self.factor, self.size = G, factor, size

    def forward(self, image, mask):
        f = self.factor
        small_mask = (F.max_pool2d(mask, f) > 0).float()  # a hole pixel anywhere makes the cell a hole
        out = self.G(F.avg_pool2d(image, f), small_mask)
        return F.interpolate(out, size=(self.size, self.size), mode="bicubic", align_corners=False).clamp(0, 1)


class ColourMatched(torch.nn.Module):
    """Shift the fill's low frequencies so it agrees with the photo just outside the hole.

    The generator tends to paint an average skin tone; on a pale or warmly lit face that shows as a
    seam along the hole's edge. Where the generator's output in a thin ring around the hole differs
    from the photo, that difference is spread into the hole by normalised Gaussian convolution (a
    smooth colour offset that fades with distance). Measured on 100 synthetic val faces at 256²:
    +0.17 dB PSNR (Poisson cloning instead: -0.13 dB). Part of the graph, so the app and the
    evaluation both get it and the ONNX contract stays the same."""

    def __init__(self, inner, ring: int = 6, sigma: float = 24.0, reduce: int = 4, tolerance: float = 0.08):
        super().__init__()
        self.inner, self.ring, self.reduce, self.tolerance = inner, ring, reduce, tolerance
        sigma = sigma / reduce  # the offset is smooth: blurred at 1/4 resolution, ~5x cheaper
        r = int(3 * sigma)
        x = torch.arange(-r, r + 1, dtype=torch.float32)
        g = torch.exp(-x ** 2 / (2 * sigma ** 2))
        self.register_buffer("g", (g / g.sum()).view(1, 1, 1, -1).repeat(4, 1, 1, 1))

    def _blur(self, x):
        r = self.g.shape[-1] // 2
        x = F.conv2d(x, self.g, padding=(0, r), groups=4)
        return F.conv2d(x, self.g.transpose(2, 3), padding=(r, 0), groups=4)

    def forward(self, image, mask, *extra):
        out = self.inner(image, mask, *extra)
        k = 2 * self.ring + 1
        ring = F.max_pool2d(mask, k, stride=1, padding=self.ring) - mask
        diff = image - out
        # Only where the generator roughly agrees with the photo (skin): background, hair or what is
        # left of a covering in the ring would otherwise tint the fill.
        ring = ring * torch.exp(-(diff.abs().mean(1, keepdim=True) / self.tolerance) ** 2)
        acc = F.avg_pool2d(torch.cat([diff * ring, ring], dim=1), self.reduce)
        acc = F.interpolate(self._blur(acc), size=image.shape[-2:], mode="bilinear", align_corners=False)
        offset = acc[:, :3] / acc[:, 3:].clamp_min(1e-3)
        return (out + offset).clamp(0, 1)


def _pin_output_shape(path, name, shape):
    """The tracer leaves resized outputs with symbolic dims; the contract promises N x C x S x S."""
    import onnx

    m = onnx.load(str(path))
    out = next(o for o in m.graph.output if o.name == name)
    dims = out.type.tensor_type.shape.dim
    dims[0].dim_param = "N"
    for d, v in zip(dims[1:], shape[1:]):
        d.Clear()
        d.dim_value = int(v)
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def _export(model, args, names_in, name_out, path):
    import onnxruntime as ort

    model.eval()
    tmp = path.with_suffix(".onnx.tmp")
    dyn = {n: {0: "N"} for n in names_in + [name_out]}
    torch.onnx.export(model, args, str(tmp), input_names=names_in, output_names=[name_out],
                      dynamic_axes=dyn, opset_version=17, dynamo=False)
    with torch.no_grad():
        ref = model(*args).numpy()
    _pin_output_shape(tmp, name_out, ref.shape)
    sess = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    got = sess.run([name_out], {n: a.numpy() for n, a in zip(names_in, args)})[0]
    err = float(np.abs(ref - got).max())
    if err > 1e-3:
        raise RuntimeError(f"ONNX output differs from PyTorch by {err}")
    os.replace(tmp, path)
    print(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB, max |onnx - torch| = {err:.2e})")


def export_inpainter(run="inpaint", path=None, colour_match=True):
    state = load_state(RUNS / run)
    G = build_generator(state["cfg"])
    G.load_state_dict(to_float(state["ema"]))
    size = json.loads((MODELS / "contract.json").read_text())["crop_size"]
    train_size = state.get("size", 128)  # early checkpoints were all trained at 128
    model = G if train_size == size else InpainterAtTrainSize(G, size // train_size, size)
    if colour_match:
        model = ColourMatched(model)
    print(f"inpainter trained at {train_size}², exported for {size}², colour match {colour_match}")
    img = torch.rand(2, 3, size, size)
    mask = torch.zeros(2, 1, size, size)
    mask[:, :, size // 2:, size // 4:size * 3 // 4] = 1  # a hole shaped like a covering, with a ring around it
    img = img * (1 - mask)
    _export(model, (img, mask), ["image", "mask"], "output", path or MODELS / "inpainter.onnx")
    return state["step"]


class WithoutReference(torch.nn.Module):
    """The two-stage inpainter on its no-reference path, with the plain inpainter's inputs (image,
    mask): the reference is zeros and its mask 0, as the app feeds a face given no reference. Exported
    as ``inpainter.onnx`` it keeps the contract, so nothing in the app changes."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, image, mask):
        return self.inner(image, mask, torch.zeros_like(image), torch.zeros_like(mask))


def export_refined_inpainter(run="refine", path=None, colour_match=True, reference=True):
    """The two-stage 256² inpainter with its optional reference input (``training.train_refine``):
    inputs image, mask, reference (zeros when absent) and reference_mask (1 = reference pixel); with
    ``reference=False`` only image and mask (``WithoutReference``: the plain inpainter's contract)."""
    from training.ref_models import CoarseAt128, RefineNet, TwoStage
    from training.train_inpaint import build_generator

    state = load_state(RUNS / run)
    coarse_cfg = load_state(RUNS / state["cfg"]["coarse_run"])["cfg"]
    model = TwoStage(CoarseAt128(build_generator(coarse_cfg)), RefineNet(tuple(state["cfg"]["widths"])))
    model.load_state_dict(to_float(state["ema"]))
    if not reference:
        model = WithoutReference(model)
    if colour_match:
        model = ColourMatched(model)
    size = json.loads((MODELS / "contract.json").read_text())["crop_size"]
    g = torch.Generator().manual_seed(0)
    img = torch.rand(2, 3, size, size, generator=g)
    mask = torch.zeros(2, 1, size, size)
    mask[:, :, size // 2:, size // 4:size * 3 // 4] = 1
    args, names = (img * (1 - mask), mask), ["image", "mask"]
    if reference:
        ref = torch.rand(2, 3, size, size, generator=g)
        valid = torch.ones(2, 1, size, size)
        valid[1] = 0  # one face with a reference, one without: both paths are traced and checked
        args, names = args + (ref * valid, valid), names + ["reference", "reference_mask"]
    _export(model, args, names, "output", path or MODELS / "inpainter.onnx")
    return state["step"]


def quantize_inpainter(src=None, dst=None):
    """Dynamic int8 weights (onnxruntime.quantization). Measured on 40 val faces: PSNR 23.15 vs 23.14 dB
    (fp32), 4.9 vs 19.2 MB, but 125 vs 111 ms per face on 2 cores (ConvInteger is slower than MKL's fp32
    convs here), so the app ships fp32 and this is an option for size-bound builds."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src = src or MODELS / "inpainter.onnx"
    dst = dst or MODELS / "inpainter.int8.onnx"
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QUInt8)
    print(f"quantized {dst} ({dst.stat().st_size / 1e6:.1f} MB)")
    return dst


def export_segmenter(run="segment", out: Path | None = None):
    state = load_state(RUNS / run)
    net = SegmenterNet()
    net.load_state_dict(to_float(state["net"]))
    size = json.loads((MODELS / "contract.json").read_text())["crop_size"]
    _export(SegmenterExport(net, size), (torch.rand(2, 3, size, size),), ["image"], "mask",
            out or MODELS / "segmenter.onnx")
    return state["step"]


class StrapExport(torch.nn.Module):
    """Strap crop RGB and the covering found in it in, strap probability out (training.train_straps)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image, covering):
        return torch.sigmoid(self.net(torch.cat([image, covering], 1)))


def export_straps(run="straps", out: Path | None = None):
    from training.train_straps import NET_SIZE as STRAP_SIZE, WIDTHS

    state = load_state(RUNS / run)
    net = SegmenterNet(WIDTHS, in_channels=4)
    net.load_state_dict(to_float(state["net"]))
    covering = (torch.rand(2, 1, STRAP_SIZE, STRAP_SIZE) > 0.7).float()
    _export(StrapExport(net), (torch.rand(2, 3, STRAP_SIZE, STRAP_SIZE), covering), ["image", "covering"],
            "straps", out or MODELS / "straps.onnx")
    return state["step"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", choices=["inpainter", "segmenter", "straps"])
    ap.add_argument("--straps-run", default="straps")
    ap.add_argument("--straps-out", type=Path, default=None,
                    help="strap model path (default unmask_studio/resources/models/straps.onnx)")
    ap.add_argument("--inpaint-run", default="inpaint")
    ap.add_argument("--refine-run", default=None,
                    help="export the two-stage inpainter with a reference input from this run (train_refine)")
    ap.add_argument("--no-reference", action="store_true",
                    help="with --refine-run: export its no-reference path with the plain inpainter's inputs")
    ap.add_argument("--segment-run", default="segment")
    ap.add_argument("--no-colour-match", action="store_true",
                    help="no ColourMatched step (the refined inpainter ships so; for the coarse one an ablation)")
    ap.add_argument("--out", type=Path, default=None, help="inpainter path (default unmask_studio/resources/models/inpainter.onnx)")
    ap.add_argument("--segmenter-out", type=Path, default=None,
                    help="segmenter path (default unmask_studio/resources/models/segmenter.onnx): a candidate to benchmark")
    ap.add_argument("--quantize", action="store_true",
                    help="also write inpainter.int8.onnx (dynamic int8; not used by the app, see quantize_inpainter)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.only == "straps":
        print("strap model step", export_straps(args.straps_run, args.straps_out))
        return 0
    if args.only != "segmenter" and args.refine_run:
        print("refined inpainter step",
              export_refined_inpainter(args.refine_run, args.out, not args.no_colour_match,
                                       reference=not args.no_reference))
    elif args.only != "segmenter":
        print("inpainter step", export_inpainter(args.inpaint_run, args.out, not args.no_colour_match))
        if args.quantize:
            quantize_inpainter()
    if args.only != "inpainter":
        print("segmenter step", export_segmenter(args.segment_run, args.segmenter_out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
