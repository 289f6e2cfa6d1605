#!/usr/bin/env bash
# Installs every Debian package dalnas needs to build, test and benchmark.
# Idempotent: runs `apt-get update` at most once and installs only what is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang-format
  clang libclang-rt-14-dev  # libFuzzer, AddressSanitizer, UBSan: the fuzz targets (scripts/fuzz.sh)
  libtorch-dev            # PyTorch C++ 1.13 (CPU): training
  libopenblas0-openmp     # optimised BLAS matching libtorch's OpenMP (replaces the reference BLAS)
  libgdal-dev gdal-bin    # GeoTIFF and other rasters
  libsqlite3-dev          # search journal
  nlohmann-json3-dev      # JSON (COCO, checkpoints' metadata, --json output)
  libtomlplusplus-dev     # TOML configs and device profiles
  libcli11-dev            # command line
  libspdlog-dev           # logging
  libonnx-dev             # ONNX import/export
  libprotobuf-dev         # protobuf, which libonnx's types are built on
  libopencv-dev           # tests only: OpenCV DNN checks the ONNX exports independently
  zlib1g-dev              # gzip-compressed ONNX files
  libopenmpi-dev openmpi-bin  # dalnas search --evaluator mpi (optional: builds without it)
  libgtest-dev            # tests
  libbenchmark-dev        # benchmarks
  python3-torch           # the PyTorch reference in bench/
  python3-numpy
  libjs-chart.js          # dalnas report: Chart.js 3, inlined into report.html
  chromium                # tests only: the report is rendered in headless Chromium
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: must run as root (or with sudo available) to install Debian packages" >&2
    exit 1
  fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#PACKAGES[@]} packages present"
fi

# libtorch calls BLAS through the system alternative; make sure it is the optimised one.
alt=libblas.so.3-x86_64-linux-gnu
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
if [ -e "$openblas" ] && command -v update-alternatives >/dev/null 2>&1; then
  current=$(readlink -f /etc/alternatives/$alt 2>/dev/null || true)
  if [ "$current" != "$openblas" ]; then
    $SUDO update-alternatives --set $alt "$openblas" >/dev/null
    echo "install-deps: BLAS alternative set to OpenBLAS (OpenMP)"
  fi
fi

# ONNX Runtime (CPU), to check the ONNX exports with a real runtime (tests/onnx/
# test_onnxruntime.cpp): Debian has no package of it; npm's onnxruntime-node ships the CPU
# library inside the package. Node.js and npm from Debian where they are missing. The
# package's install script is skipped (--ignore-scripts): it would download GPU files from
# outside the npm registry, and the CPU library needs nothing from it.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: installing nodejs npm"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
ort_dir="$(cd "$(dirname "$0")/.." && pwd)/tools/onnxruntime"
want=$(sed -n 's/.*"onnxruntime-node": *"\([^"]*\)".*/\1/p' "$ort_dir/package.json")
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
  "$ort_dir/node_modules/onnxruntime-node/package.json" 2>/dev/null | head -1 || true)
if [ "$have" != "$want" ]; then
  echo "install-deps: npm install onnxruntime-node@$want (--ignore-scripts)"
  (cd "$ort_dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
