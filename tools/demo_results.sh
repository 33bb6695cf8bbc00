#!/usr/bin/env bash
# Regenerates the README's Results section from the demo model: sample grid, comparison table, figures.
# Usage: tools/demo_results.sh [COUNT]   (images per table row; default 100, --count 10000 for a real evaluation)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100}
mkdir -p docs
./dit generate --class 0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9 --seed 1 --out docs/demo_samples.png
./dit generate --class 0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9 --seed 1 --cache delta-dit --out docs/demo_samples_delta_dit.png
{
  echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%F)"
  echo
  ./dit bench compare --count "$count"
} > docs/results.md
./dit analyze delta-similarity --count 10 --out docs
./dit analyze fourier --count 50 --out docs
echo "results in docs/: results.md, demo_samples*.png, delta_similarity.png/.csv, fourier.png/.csv"
