"""Face finding: stderr stays usable while lanes detect, and detection behaviour on real photos."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import REPO, data_path


def test_stderr_survives_two_lanes_detecting():
    """Issue 14 item 5: MediaPipe's chatter was silenced by pointing fd 2 at /dev/null around calls, from
    two lanes at once, so lines the main thread wrote were lost and fd 2 could stay on /dev/null for
    good (the batch's final "Stopped: the disk is full…" line vanished). Every line written through
    fd 2 while two finders detect must arrive, and stderr must still work afterwards."""
    photo = data_path("real_masked", "017.webp")  # a crowd: many faces, several the mesh rejects
    script = textwrap.dedent(f"""
        import os, sys, threading, time
        import numpy as np
        from unmask_studio.core.faces import FaceFinder
        from unmask_studio.core.io import load_image
        rgb = load_image({str(photo)!r}).rgb
        lanes = [FaceFinder(), FaceFinder()]   # what Engine.lane() builds for a two-lane batch
        blank = np.full((300, 300, 3), 128, np.uint8)
        done = threading.Event()
        def work(finder):
            for _ in range(3):
                finder.find(rgb)
                finder.landmarks(blank, np.array([50.0, 50, 250, 250]))  # the mesh finds nothing here
        threads = [threading.Thread(target=work, args=(f,)) for f in lanes]
        for t in threads:
            t.start()
        n = 0
        while any(t.is_alive() for t in threads):
            os.write(2, f"line {{n}}\\n".encode())
            n += 1
            time.sleep(0.002)
        for t in threads:
            t.join()
        os.write(2, f"wrote {{n}}\\n".encode())
        print("FINAL via sys.stderr", file=sys.stderr, flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    err = proc.stderr.splitlines()
    assert "FINAL via sys.stderr" in err, err[-5:]
    wrote = int(next(line for line in err if line.startswith("wrote ")).split()[1])
    assert wrote > 0
    got = {line for line in err if line.startswith("line ")}
    missing = [i for i in range(wrote) if f"line {i}" not in got]
    assert not missing, f"{len(missing)} of {wrote} lines written to fd 2 were lost"
    # ... and MediaPipe's native start-up chatter is still kept from the user.
    assert not any("W0000" in line or "XNNPACK" in line or "absl::InitializeLog" in line for line in err), err[:5]
