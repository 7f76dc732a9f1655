"""Where ``BatchDialog`` lived before ``app/batch/``; kept so existing imports (main_window) work."""
from unmask_studio.app.batch import BatchDialog, ask_folder, ask_photos, batch_engine  # noqa: F401
