#!/usr/bin/env bash
# Debian's NVRTC (libnvrtc11.2 + libnvrtc-builtins11.8) and NVIDIA's driver library (libcuda1), from the
# non-free component, unpacked (not installed) under a cache folder: on a machine without a GPU the CUDA
# backend's tests then compile every shared kernel through NVRTC and resolve every driver call (cuInit
# answers "no device"). Prints the folders to put on LD_LIBRARY_PATH.
set -euo pipefail
dir="${XDG_CACHE_HOME:-$HOME/.cache}/dit-cuda-debs"
if [ ! -e "$dir/ok" ]; then
  . /etc/os-release
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/lists/partial" "$dir"
  echo "deb http://deb.debian.org/debian ${VERSION_CODENAME:-bookworm} non-free" >"$tmp/sources.list"
  o=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$tmp/lists" -o APT::Sandbox::User=root)
  apt-get "${o[@]}" update -qq >&2
  (cd "$tmp" && apt-get "${o[@]}" download -qq libnvrtc11.2 libnvrtc-builtins11.8 libcuda1 >&2)
  for f in "$tmp"/*.deb; do dpkg -x "$f" "$dir"; done
  touch "$dir/ok"
fi
echo "$dir/usr/lib/x86_64-linux-gnu:$dir/usr/lib/x86_64-linux-gnu/nvidia/current"
