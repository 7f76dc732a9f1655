"""File ▸ Batch…, split along the seams of Anki's browser table: ``table`` (rows, the Qt item model,
thumbnails), ``run`` (``BatchRun``: the controller that runs a batch as a JobRunner job),
``status_text`` (the words, no Qt), ``pages`` (the widgets) and ``dialog`` (``BatchDialog``)."""
from unmask_studio.app.batch.dialog import BatchDialog, ask_folder, ask_photos
from unmask_studio.core.batch import batch_engine

__all__ = ["BatchDialog", "ask_folder", "ask_photos", "batch_engine"]
