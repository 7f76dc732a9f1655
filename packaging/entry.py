"""Entry point of the bundled executable: the same command line as ``unmask-studio``
(no arguments opens the editor; ``UnmaskStudio batch IN -o OUT`` runs a batch)."""
import multiprocessing
import os
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not start the app again
    if os.environ.get("UNMASK_EXIT_AFTER_SHOWN") or os.environ.get("UNMASK_QUIT_AFTER"):  # tests only
        import startup_probe
        startup_probe.install()
    from unmask_studio.cli import main

    sys.exit(main())
