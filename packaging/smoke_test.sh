#!/usr/bin/env bash
# Smoke test of the bundled app (Linux).
#
#   packaging/smoke_test.sh              reuse dist/UnmaskStudio/ if it exists, else build it
#   packaging/smoke_test.sh --rebuild    build first (packaging/build.sh)
#
# Environment: UNMASK_BUNDLE (bundle folder, default dist/UnmaskStudio), UNMASK_SMOKE_PHOTO (default
# ../shared/data/pairs_dev/masked/107.png beside the repository), UNMASK_SMOKE_GUI_SECONDS (default 8),
# PYTHON (any python3 with numpy and Pillow, for the pixel checks).
#
# Checks: the bundle holds no torch / training code / jax / scipy / matplotlib (and, in the CPU build, no
# CUDA provider), the models are inside it; `--version`; `batch` on the photo with networking
# unavailable (unshare -n) and a clean environment: output written, report says done, output differs
# from the input inside the found mask and equals it away from it; the editor started offscreen with the
# photo runs for a few seconds, has opened the photo and quits with code 0, nothing logged as an error.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="${UNMASK_BUNDLE:-$ROOT/dist/UnmaskStudio}"
EXE="$BUNDLE/UnmaskStudio"
PHOTO="${UNMASK_SMOKE_PHOTO:-$ROOT/../shared/data/pairs_dev/masked/107.png}"
GUI_SECONDS="${UNMASK_SMOKE_GUI_SECONDS:-8}"
failures=0
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }
skip() { echo "SKIP  $*"; }
info() { echo "      $*"; }

if [[ "${1:-}" == "--rebuild" || ! -x "$EXE" ]]; then
  echo "== building the bundle"
  "$ROOT/packaging/build.sh" || { echo "FAIL  build"; exit 1; }
fi
[[ -x "$EXE" ]] || { echo "FAIL  no executable at $EXE"; exit 1; }
BUNDLE="$(cd "$BUNDLE" && pwd)"; EXE="$BUNDLE/UnmaskStudio"  # absolute: the checks run from a temp dir
[[ -f "$PHOTO" ]] || { echo "FAIL  test photo $PHOTO not found (set UNMASK_SMOKE_PHOTO)"; exit 1; }
PHOTO="$(cd "$(dirname "$PHOTO")" && pwd)/$(basename "$PHOTO")"
INTERNAL="$BUNDLE/_internal"; [[ -d "$INTERNAL" ]] || INTERNAL="$BUNDLE"

if [[ -z "${PYTHON:-}" ]]; then
  for cand in "$ROOT/.venv/bin/python" /work/venv/bin/python python3; do
    command -v "$cand" >/dev/null 2>&1 && "$cand" -c "import numpy, PIL" 2>/dev/null && { PYTHON="$cand"; break; }
  done
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/unmask-smoke.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
# A clean environment: nothing from the build venv (PYTHONPATH, UNMASK_RESOURCES, ...) can leak in, and
# settings / logs go to a throw-away home.
CLEAN_ENV=(env -i "PATH=/usr/bin:/bin" "HOME=$TMP/home" "LANG=C.UTF-8" "XDG_CONFIG_HOME=$TMP/home/config"
           "XDG_STATE_HOME=$TMP/home/state" "XDG_CACHE_HOME=$TMP/home/cache" "XDG_DATA_HOME=$TMP/home/data"
           "XDG_RUNTIME_DIR=$TMP/home" "TMPDIR=$TMP")
mkdir -p "$TMP/home"

echo "== bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
bad="$(cd "$INTERNAL" && find . -maxdepth 2 \( -iname 'torch*' -o -iname 'jax*' -o -iname 'scipy*' \
        -o -iname 'matplotlib*' -o -name training -o -iname 'sounddevice*' -o -iname '_tcl_data' \) | head)"
[[ -z "$bad" ]] && pass "no torch, training, jax, scipy, matplotlib, sounddevice, tk in the bundle" \
                || fail "unwanted packages in the bundle: $bad"
cuda="$(find "$INTERNAL" -name 'libonnxruntime_providers_cuda*' -o -name 'libonnxruntime_providers_tensorrt*')"
[[ -z "$cuda" ]] && info "CPU build (no CUDA/TensorRT provider libraries)" \
                || info "GPU build (has $(echo "$cuda" | xargs -n1 basename | tr '\n' ' '))"
# Every model file the package ships (unmask_studio/resources/models: *.onnx, *.json, *.md, LICENSE*,
# as pyproject.toml's package data, without the int8 experiment), so a model added later (or loaded
# without contract.json) cannot be forgotten by the spec.
MODELS="$ROOT/unmask_studio/resources/models"
models="$(cd "$MODELS" && ls -1 -- *.onnx *.json *.md LICENSE* 2>/dev/null | grep -v '\.int8\.onnx$' | tr '\n' ' ')"
missing=0
for f in $models; do
  [[ -f "$INTERNAL/resources/models/$f" ]] || { fail "model file resources/models/$f missing from the bundle"; missing=1; }
done
[[ "$models" == *contract.json* ]] || fail "no contract.json in $MODELS"
[[ $missing == 0 && "$models" == *contract.json* ]] && pass "models inside the bundle: $models"
dangling="$(find "$BUNDLE" -xtype l | head -5)"
[[ -z "$dangling" ]] && pass "no dangling symlinks" || fail "dangling symlinks: $dangling"

echo "== --version"
want="unmask-studio $(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/unmask_studio/__init__.py")"
got="$(cd "$TMP" && "${CLEAN_ENV[@]}" "$EXE" --version 2>&1)"
[[ "$got" == "$want" ]] && pass "--version: $got" || fail "--version printed '$got', expected '$want'"

echo "== batch, networking unavailable"
NET=()
if command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
  NET=(unshare -n)
  info "running inside 'unshare -n' (a network namespace with no interfaces)"
else
  skip "network isolation: 'unshare -n' needs root or unprivileged user namespaces; batch runs WITH the" \
       "network (the app makes no network calls; check with: strace -f -e trace=network ...)"
fi
OUT="$TMP/out"
start=$(date +%s.%N)
(cd "$TMP" && "${NET[@]}" "${CLEAN_ENV[@]}" "$EXE" batch "$PHOTO" -o "$OUT" --save-masks --quiet) \
  > "$TMP/batch.log" 2>&1
rc=$?
info "batch took $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $start}") s"
stem="$(basename "${PHOTO%.*}")"
outfile="$(ls "$OUT/$stem".* 2>/dev/null | grep -v '\.mask\.png$' | head -1)"
if [[ $rc -ne 0 ]]; then
  fail "batch exit code $rc"; tail -20 "$TMP/batch.log"
elif [[ -z "$outfile" ]]; then
  fail "batch wrote no output for $stem"
else
  pass "batch exit code 0, wrote $(basename "$outfile")"
fi
if grep -q '"status": "done"' "$OUT/unmask-report.json" 2>/dev/null; then
  pass "report says done: $(tr -d '\n ' < "$OUT/unmask-report.json" | grep -o '"faces":[0-9]*,"seconds":[0-9.]*')"
else
  fail "report $OUT/unmask-report.json missing or not done"; cat "$OUT/unmask-report.json" 2>/dev/null
fi
if grep -q Traceback "$TMP/batch.log"; then fail "traceback in the batch output"; tail -30 "$TMP/batch.log"; fi

if [[ -n "$outfile" && -n "${PYTHON:-}" ]]; then
  "$PYTHON" - "$PHOTO" "$outfile" "$OUT/$stem.mask.png" <<'EOF'
import sys
from pathlib import Path

import numpy as np
from PIL import Image

inp_p, out_p, mask_p = (Path(p) for p in sys.argv[1:4])
load = lambda p: np.asarray(Image.open(p).convert("RGB")).astype(np.int16)
inp, out = load(inp_p), load(out_p)
ok = True
def check(cond, msg):
    global ok
    print(("PASS  " if cond else "FAIL  ") + msg)
    ok &= bool(cond)
check(inp.shape == out.shape, f"output has the input's size {inp.shape[1]}x{inp.shape[0]}")
mask = np.asarray(Image.open(mask_p).convert("L")) > 127 if mask_p.exists() else None
check(mask is not None and mask.mean() > 0.005, f"a mask was found ({0 if mask is None else mask.mean():.1%} of the photo)")
if mask is not None and inp.shape == out.shape and mask.any():
    diff = np.abs(out - inp).max(axis=2)
    inside = diff[mask]
    check(inside.mean() > 8 and (inside > 0).mean() > 0.5,
          f"output differs from the input inside the mask (mean |diff| {inside.mean():.1f}, "
          f"{(inside > 0).mean():.0%} of the pixels changed)")
    ys, xs = np.nonzero(mask)
    pad = int(0.25 * max(np.ptp(ys), np.ptp(xs))) + 8  # past the feathered edge
    far = np.ones_like(mask)
    far[max(0, ys.min() - pad):ys.max() + pad + 1, max(0, xs.min() - pad):xs.max() + pad + 1] = False
    if far.any():
        same = (diff[far] == 0).mean()
        check(same > 0.99, f"output equals the input away from the mask ({same:.2%} of those pixels identical)")
    clean_p = Path(str(inp_p).replace("/masked/", "/clean/"))
    if clean_p != inp_p and clean_p.exists():
        clean = load(clean_p)
        if clean.shape == inp.shape:
            e_in = np.abs(inp - clean)[mask].mean()
            e_out = np.abs(out - clean)[mask].mean()
            check(e_out < e_in, f"inside the mask the output is closer to the unmasked photo than the input "
                                f"(mean |error| {e_out:.1f} vs {e_in:.1f})")
sys.exit(0 if ok else 1)
EOF
  [[ $? -eq 0 ]] || failures=$((failures + 1))
elif [[ -n "$outfile" ]]; then
  skip "pixel checks: no python3 with numpy and Pillow (set PYTHON)"
fi

echo "== editor, offscreen"
if [[ ! -f "$ROOT/unmask_studio/app/main.py" ]]; then
  skip "editor: unmask_studio/app/main.py does not exist yet, so the bundle has no GUI to test"
else
  start=$(date +%s.%N)
  (cd "$TMP" && timeout 120 "${NET[@]}" "${CLEAN_ENV[@]}" QT_QPA_PLATFORM=offscreen \
     UNMASK_QUIT_AFTER="$GUI_SECONDS" "$EXE" "$PHOTO") > "$TMP/gui.log" 2>&1
  rc=$?
  info "editor ran $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $start}") s (asked to quit after $GUI_SECONDS s)"
  title="$(sed -n 's/^UNMASK_TITLE //p' "$TMP/gui.log")"
  if [[ $rc -eq 0 ]]; then pass "editor ran ${GUI_SECONDS} s with the photo and quit with code 0"
  else fail "editor exit code $rc (124 = hung)"; tail -30 "$TMP/gui.log"; fi
  [[ "$title" == *"$(basename "$PHOTO")"* ]] && pass "editor opened the photo (title: $title)" \
                                             || fail "editor title '$title' does not name the photo"
  if grep -q Traceback "$TMP/gui.log"; then fail "traceback in the editor's output"; grep -A20 Traceback "$TMP/gui.log" | head -40; fi
  errors="$(grep -h -E ' (ERROR|CRITICAL) ' "$TMP"/home/state/unmask-studio/log/*.log 2>/dev/null | head -5)"
  [[ -z "$errors" ]] && pass "nothing logged as an error" || fail "the editor logged errors: $errors"
fi

echo
if [[ $failures -eq 0 ]]; then echo "SMOKE TEST PASSED"; exit 0; fi
echo "SMOKE TEST FAILED ($failures)"; exit 1
