"""PyInstaller runtime hook for Unmask Studio (runs inside the bundle before the app's code).

1. matplotlib is not bundled, but ``import mediapipe`` imports ``matplotlib.pyplot`` for drawing
   helpers (``mediapipe.python.solutions.drawing_utils.plot_landmarks``) that the app never calls. A
   finder at the very end of ``sys.meta_path`` (so a real matplotlib would always win) supplies a stub
   whose attributes raise a clear error if anything ever does use them.
2. In the CPU build the CUDA/TensorRT provider libraries are left out, but onnxruntime-gpu still lists
   CUDAExecutionProvider as available; on a machine with an NVIDIA driver the app would ask for it and
   onnxruntime would print load errors before falling back. Pin the app to the CPU instead (the user can
   still override by setting UNMASK_FORCE_CPU themselves).
"""
import importlib.abc
import importlib.machinery
import os
import sys


class _MissingMatplotlib(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    NAMES = ("matplotlib", "matplotlib.pyplot")

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.NAMES:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname == "matplotlib")
        return None

    def create_module(self, spec):
        return None  # default module creation

    def exec_module(self, module):
        name = module.__name__

        def __getattr__(attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            raise RuntimeError(f"{name}.{attr}: matplotlib is not included in the Unmask Studio bundle")

        module.__getattr__ = __getattr__
        if name == "matplotlib":
            module.__path__ = []


sys.meta_path.append(_MissingMatplotlib())

_bundle = getattr(sys, "_MEIPASS", os.path.dirname(sys.executable))
_capi = os.path.join(_bundle, "onnxruntime", "capi")
if os.path.isdir(_capi) and not any(f.startswith(("libonnxruntime_providers_cuda", "onnxruntime_providers_cuda"))
                                    for f in os.listdir(_capi)):
    os.environ.setdefault("UNMASK_FORCE_CPU", "1")
