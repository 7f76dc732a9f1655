"""The ONNX contract between training and the app: names, shapes, ranges, and sane behaviour."""
from __future__ import annotations

import json

import numpy as np
import pytest

from unmask_studio.core.onnx_models import OnnxModel, contract, providers
from unmask_studio.core.resources import models_dir

SPEC = json.loads((models_dir() / "contract.json").read_text())
S = SPEC["crop_size"]


@pytest.mark.parametrize("name", ["segmenter", "inpainter", "reference_inpainter", "straps"])
def test_model_matches_contract(name):
    import onnx

    spec = SPEC[name]
    model = onnx.load(str(models_dir() / spec["file"]))
    onnx.checker.check_model(model)
    graph_inputs = {i.name: i for i in model.graph.input}
    assert set(graph_inputs) == set(spec["inputs"])
    for io_name, io_spec in list(spec["inputs"].items()) + list(spec["outputs"].items()):
        vi = graph_inputs.get(io_name) or next(o for o in model.graph.output if o.name == io_name)
        t = vi.type.tensor_type
        assert t.elem_type == onnx.TensorProto.FLOAT
        dims = [d.dim_param or d.dim_value for d in t.shape.dim]
        assert dims[0] == "N"  # dynamic batch: several faces per call
        assert dims[1:] == io_spec["shape"][1:]


def test_models_run_on_a_batch_and_stay_in_range():
    rng = np.random.default_rng(0)
    img = rng.random((3, 3, S, S), dtype=np.float32)
    seg = OnnxModel("segmenter")(image=img)
    assert seg.shape == (3, 1, S, S) and seg.min() >= 0 and seg.max() <= 1
    mask = np.zeros((3, 1, S, S), np.float32)
    mask[:, :, S // 2:, S // 4:3 * S // 4] = 1
    out = OnnxModel("inpainter")(image=img * (1 - mask), mask=mask)
    assert out.shape == (3, 3, S, S) and out.min() >= 0 and out.max() <= 1


def test_cpu_is_always_the_fallback(monkeypatch):
    assert providers()[-1] == "CPUExecutionProvider"
    m = OnnxModel("segmenter")
    assert m.provider in ("CPUExecutionProvider", "CUDAExecutionProvider")


def test_training_side_pins_the_same_contract():
    pytest.importorskip("torch")
    from training.contract import CONTRACT

    for key, value in CONTRACT.items():
        assert contract()[key] == value, key


@pytest.mark.parametrize("name", ["inpainter", "reference_inpainter"])
def test_optional_reference_inputs_default_to_absent(name):
    """Callers that know nothing of the reference photo get the no-reference fill (zeros fed for the
    contract's optional inputs), identical to passing the zeros explicitly."""
    if name not in SPEC:
        pytest.skip(f"no {name} in contract.json")
    spec = SPEC[name]["inputs"]
    optional = [k for k, v in spec.items() if v.get("optional")]
    if not optional:
        pytest.skip("this inpainter has no optional inputs")
    rng = np.random.default_rng(1)
    img = rng.random((2, 3, S, S), dtype=np.float32)
    mask = np.zeros((2, 1, S, S), np.float32)
    mask[:, :, S // 2:, S // 4:3 * S // 4] = 1
    model = OnnxModel(name)
    plain = model(image=img * (1 - mask), mask=mask)
    zeros = {k: np.zeros((2, *spec[k]["shape"][1:]), np.float32) for k in optional}
    assert np.array_equal(plain, model(image=img * (1 - mask), mask=mask, **zeros))
    # ... and a reference really is an input: the fill moves when one is given.
    given = {k: np.ones((2, *spec[k]["shape"][1:]), np.float32) * (0.5 if k == "reference" else 1) for k in optional}
    moved = model(image=img * (1 - mask), mask=mask, **given)
    assert np.abs(moved - plain)[mask.repeat(3, 1) > 0].mean() > 1e-3


def test_one_generator_fills_faces_with_and_without_a_reference():
    """Both inpainters are exported from one checkpoint of the two-stage generator (issues 12, 13):
    ``inpainter.onnx`` is its no-reference path, so a face gets the same fill whether the engine sends
    it to the plain model or to the reference model without a reference. Shipped from different steps,
    giving a face a reference would change its fill by the other model's manner as well as by what
    the reference brings."""
    if "reference_inpainter" not in SPEC:
        pytest.skip("no reference_inpainter in contract.json")
    rng = np.random.default_rng(2)
    img = rng.random((2, 3, S, S), dtype=np.float32)
    mask = np.zeros((2, 1, S, S), np.float32)
    mask[:, :, S // 2:, S // 4:3 * S // 4] = 1
    plain = OnnxModel("inpainter")(image=img * (1 - mask), mask=mask)
    with_ref_model = OnnxModel("reference_inpainter")(image=img * (1 - mask), mask=mask)
    assert np.abs(plain - with_ref_model).max() < 1e-4
