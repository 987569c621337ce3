#!/usr/bin/env bash
# Installs clBNM's Debian dependencies (only those missing), then configures and builds
# into build/. Extra arguments go to `meson setup` (CI passes --werror).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential meson ninja-build pkg-config
  ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd
  libclblast-dev libhdf5-dev check librandom123-dev liblapacke-dev libcyaml-dev nettle-dev libzip-dev libyaml-dev
  # clbnm report draws its figures with matplotlib and reads results with h5py: a small
  # Python script serves users better than a hand-written plotting layer in C.
  python3 python3-numpy python3-matplotlib python3-h5py
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -d build/meson-private ]; then
  meson setup --reconfigure build "$@"
else
  meson setup build "$@"
fi
ninja -C build
