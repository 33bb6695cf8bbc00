#!/usr/bin/env bash
# Reruns issue 16's evidence on a model (default: the demo model): `dit tune` at 1.6×, 2× and 2.5× MAC budgets,
# then one `bench compare` per sampler with the baselines, the paper's Δ-DiT at each budget, the field's adaptive
# caches and the tuned policies, all on the same seeds. Writes docs/policy_tables.md and the Pareto plots.
#   tools/policy_tables.sh [COUNT] [MODEL]   (COUNT images per row, default 1000; a run at 1000 takes ~2 h on 2 cores)
#   CALIBRATION=N sets dit tune's calibration images (default 32); SAMPLERS="dpm-solver++:20" runs one sampler
#   (default "dpm-solver++:20 ddim:50", each NAME:STEPS); SAMPLING="FLAGS" adds sampling flags to every tune and
#   compare (e.g. "--dynamic-thresholding 0.995,1.5"); OUT=FILE.md writes there instead of docs/policy_tables.md
#   (its plots beside it, named after it); BOOTSTRAP=N sets the paired FID bootstrap's resamples under each table
#   (default 200; 0 leaves it out).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
model=${2:-models/demo}
cal=${CALIBRATION:-32}
boot=${BOOTSTRAP:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=${OUT:-docs/policy_tables.md}
plots=$(basename "$out" .md | sed 's/^policy_tables/policy_pareto/')
read -r -a sampling <<< "${SAMPLING:-}"
echo '{"kind": "fbcache", "threshold": 0.1}' > "$work/fbcache-0.1.json"
echo '{"kind": "fbcache", "threshold": 0.2}' > "$work/fbcache-0.2.json"
{
  echo "# Cache policies at 1.6×, 2× and 2.5× on $model (n = $count per row)"
  echo
  echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%F). Made by \`CALIBRATION=$cal${SAMPLERS:+ SAMPLERS=\"$SAMPLERS\"}${SAMPLING:+ SAMPLING=\"$SAMPLING\"}${OUT:+ OUT=$OUT} tools/policy_tables.sh $count $model\`."
  [ "$boot" = 0 ] || { echo; echo "Under each table, a paired bootstrap of the FID ($boot resamples of the images, \`dit bench compare --bootstrap\`) tells which FID gaps are real."; }
  for sampler in ${SAMPLERS:-dpm-solver++:20 ddim:50}; do
    s=${sampler%%:*} n=${sampler##*:}
    configs=()
    echo
    echo "## $s, $n steps, guidance 4${SAMPLING:+, $SAMPLING}"
    echo
    for x in 1.6 2 2.5; do
      f="$work/tuned-$s-$x.json"
      ./dit tune --model "$model" --sampler "$s" --steps "$n" --speedup "$x" --calibration "$cal" ${sampling[@]+"${sampling[@]}"} --out "$f" > "$work/tune.txt"
      echo "\`dit tune --sampler $s --steps $n --speedup $x --calibration $cal\`: $(head -1 "$work/tune.txt")  "
      echo "chose \`$(tr -d '\n' < "$f")\`  "
      configs+=(--cache-config "$f")
    done
    t16=$(( (n * 10 + 8) / 16 )) t2=$(( n / 2 )) t25=$(( (n * 10 + 12) / 25 ))
    echo
    ./dit bench compare --model "$model" --sampler "$s" --steps "$n" --count "$count" \
        --rows "full,t$t16,t$t2,t$t25,delta-dit,delta-dit@2,delta-dit@2.5" ${sampling[@]+"${sampling[@]}"} \
        --cache-config "$work/fbcache-0.1.json" --cache-config "$work/fbcache-0.2.json" "${configs[@]}" \
        $([ "$boot" = 0 ] || echo --bootstrap "$boot") --plot "$(dirname "$out")/${plots}_$s.png"
    echo
    echo "![MAC speedup against FID and PSNR, $s](${plots}_$s.png)"
  done
} > "$out"
echo "written: $out, $(dirname "$out")/${plots}_*.png"
