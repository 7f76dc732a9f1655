#!/usr/bin/env bash
# Build the Unmask Studio bundle with PyInstaller (packaging/unmask_studio.spec).
#
#   packaging/build.sh              CPU build, one folder:  dist/UnmaskStudio/UnmaskStudio
#   packaging/build.sh --gpu        keep the CUDA/TensorRT providers: dist/gpu/UnmaskStudio/UnmaskStudio
#   packaging/build.sh --onefile    one self-extracting file:  dist/onefile/UnmaskStudio
#   packaging/build.sh --clean      also throw away PyInstaller's cache for this variant first
#
# Python: $PYTHON, else the project's .venv/ or /work/venv/, else python3 - with the app installed
# (pip install -e '.[package]').
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

GPU=0 ONEFILE=0 CLEAN=()
for arg in "$@"; do
  case "$arg" in
    --gpu) GPU=1 ;;
    --onefile) ONEFILE=1 ;;
    --clean) CLEAN=(--clean) ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

if [[ -z "${PYTHON:-}" ]]; then
  for cand in "$ROOT/.venv/bin/python" /work/venv/bin/python python3; do
    if command -v "$cand" >/dev/null 2>&1; then PYTHON="$cand"; break; fi
  done
fi
if ! "$PYTHON" -c "import PyInstaller, unmask_studio" 2>/dev/null; then
  echo "build.sh: $PYTHON lacks PyInstaller or unmask_studio; run: $PYTHON -m pip install -e '.[package]'" >&2
  exit 2
fi

variant=cpu; [[ $GPU == 1 ]] && variant=gpu
dist="$ROOT/dist"
[[ $GPU == 1 ]] && dist="$ROOT/dist/gpu"
[[ $ONEFILE == 1 ]] && { dist="$ROOT/dist/onefile"; variant="$variant-onefile"; }
work="$ROOT/build/pyinstaller-$variant"
version="$("$PYTHON" -c 'import unmask_studio; print(unmask_studio.__version__)')"

echo "Building Unmask Studio $version ($variant) with $("$PYTHON" -m PyInstaller --version) -> $dist"
start=$(date +%s)
UNMASK_BUILD_GPU=$GPU UNMASK_BUILD_ONEFILE=$ONEFILE \
  "$PYTHON" -m PyInstaller "${CLEAN[@]}" --noconfirm --log-level "${PYI_LOG_LEVEL:-WARN}" \
  --distpath "$dist" --workpath "$work" "$ROOT/packaging/unmask_studio.spec"

if [[ $ONEFILE == 0 && "$(uname -s)" == Linux ]]; then
  # Desktop integration files beside the executable (see packaging/README.md, "Linux desktop entry").
  cp "$ROOT/packaging/unmask-studio.desktop" "$ROOT/unmask_studio/resources/icons/unmask-studio.png" "$dist/UnmaskStudio/"
fi
out="$dist/UnmaskStudio"
echo "Built $out in $(( $(date +%s) - start )) s; size $(du -sh "$out" | cut -f1)"
