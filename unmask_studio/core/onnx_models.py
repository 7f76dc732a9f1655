"""ONNX Runtime sessions for the shipped models: CUDA when it really works, otherwise the CPU, quietly.

onnxruntime-gpu lists the CUDA provider even on machines without a GPU or driver; asking for it there
prints pages of load errors. So CUDA is only requested when the NVIDIA driver library is present, and
a session that fails to start on it is rebuilt on the CPU.
"""
from __future__ import annotations

import ctypes.util
import json
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from unmask_studio.core.resources import models_dir


class ModelError(RuntimeError):
    """A model file is missing, corrupt or does not match the contract."""


@lru_cache(maxsize=1)
def _ort():
    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # errors only: no provider-probe chatter
    return ort


@lru_cache(maxsize=1)
def cuda_usable() -> bool:
    if os.environ.get("UNMASK_FORCE_CPU"):
        return False
    ort = _ort()
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False
    # The provider library must really be there (a CPU bundle strips it) ...
    capi = Path(ort.__file__).parent / "capi"
    if not any(capi.glob("*onnxruntime_providers_cuda*")):
        return False
    # ... and the NVIDIA driver too, not just the toolkit wheels.
    return ctypes.util.find_library("cuda") is not None


def providers() -> list[str]:
    return (["CUDAExecutionProvider"] if cuda_usable() else []) + ["CPUExecutionProvider"]


@lru_cache(maxsize=1)
def contract(directory: str | None = None) -> dict:
    path = Path(directory or models_dir()) / "contract.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f"Model contract {path} is missing or unreadable ({e}). Reinstall Unmask Studio.") from e


class OnnxModel:
    """A thread-safe wrapper around one inference session, checked against the contract."""

    def __init__(self, name: str, directory: str | None = None, threads: int | None = None):
        spec = contract(directory)[name]
        self.name, self.spec = name, spec
        self.path = Path(directory or models_dir()) / spec["file"]
        if not self.path.exists():
            raise ModelError(f"The {name} model is missing ({self.path}). Reinstall Unmask Studio or run "
                             f"the export in training/ to produce it.")
        ort = _ort()
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = threads or max(1, os.cpu_count() or 1)
        # Idle threads must not spin: decoding, encoding and the GUI need those cores.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=providers())
        except Exception as e:  # noqa: BLE001 - any provider failure falls back to the CPU
            try:
                self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
            except Exception as e2:
                raise ModelError(f"Could not load the {name} model {self.path} ({e2}); the file is damaged. "
                                 "Reinstall Unmask Studio.") from e
        self._check()
        self._lock = threading.Lock()

    def _check(self) -> None:
        inputs = {i.name for i in self.session.get_inputs()}
        outputs = {o.name for o in self.session.get_outputs()}
        if inputs != set(self.spec["inputs"]) or not set(self.spec["outputs"]) <= outputs:
            raise ModelError(f"{self.path.name} does not match the contract: inputs {sorted(inputs)}, "
                             f"outputs {sorted(outputs)}")

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def __call__(self, **inputs: np.ndarray) -> np.ndarray:
        feed = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}
        # Inputs the contract marks optional (a reference photo) are zeros when not given: callers
        # that know nothing of them keep working, and the model sees "absent".
        n = len(next(iter(feed.values())))
        for name, spec in self.spec["inputs"].items():
            if name not in feed and spec.get("optional"):
                feed[name] = np.zeros([n, *spec["shape"][1:]], np.float32)
        out_name = next(iter(self.spec["outputs"]))
        with self._lock:  # one run at a time per session: predictable memory, no oversubscription
            return self.session.run([out_name], feed)[0]
