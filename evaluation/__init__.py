"""Shared quality measurement (no torch): metrics, the pairs_dev evaluation and model-folder helpers.

Used by ``training/`` and ``benchmarks/``; the dependency rule is benchmarks -> training ->
evaluation -> unmask_studio.core, never upward (checked by import-linter, pyproject.toml). Not part
of the installed package: scikit-image, scipy and dlib are not app dependencies.
"""
