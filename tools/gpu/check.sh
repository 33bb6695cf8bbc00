#!/usr/bin/env bash
# The CUDA backend's check on a GPU machine without a JDK (the device tool's H200; see engine/README.md, CUDA).
# Needs .gpu/payload.tar.xz from tools/gpu/pack.sh. Writes its log and figures under $OUT (default /tmp/dit-gpu-out):
# devices, selfcheck, the CUDA parity tests (engine kernels, model fixtures, dit generate vs cpu), then
# `dit bench forward` and a 20-step guided DiT-XL/2 generation (full vs Δ-DiT) against PyTorch eager.
#   tools/gpu/check.sh [SECTION ...]   sections: tests torch bench generate cpu (default: all); DIT_GPU_GEMMS="bf16" limits bench
set -uo pipefail
want=" ${*:-tests torch bench generate cpu} "
on() { [[ "$want" == *" $1 "* ]]; }
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
OUT=${OUT:-/tmp/dit-gpu-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/check.log") 2>&1
p=/tmp/dit-gpu
mkdir -p $p && tar -C $p -xJf .gpu/payload.tar.xz
J=$p/jre/bin/java
# CUDA's libraries: the driver under /usr/local/nvidia, NVRTC and cuBLAS from the toolkit or PyTorch's wheels
lp=""
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
         $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(q, s) for q in nvidia.__path__ for s in ("cu13/lib", "cublas/lib", "cuda_nvrtc/lib")))' 2>/dev/null); do
  [ -d "$d" ] && lp="$lp:$d"
done
export LD_LIBRARY_PATH="${lp#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "== libraries: $LD_LIBRARY_PATH"
for n in libcuda.so.1 'libnvrtc.so*' 'libcublas.so*'; do for d in ${LD_LIBRARY_PATH//:/ }; do ls $d/$n 2>/dev/null; done; done | sort -u | head -20
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv 2>/dev/null
jopts=(--add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:CompileCommand=quiet
       -XX:CompileCommand=inline,org.deltadit.engine.cpu.VectorMath::* -XX:CompileCommand=inline,org.deltadit.engine.cpu.CpuBackend::erf -Xmx48g)
# dit and junit as scripts, so that timeout can run them
mkdir -p $p/bin
cat >$p/bin/dit <<EOS
#!/usr/bin/env bash
exec "$J" ${jopts[*]} \${DITX:-} -Ddit.home="$root" -cp "$p/lib/*" org.deltadit.cli.Main "\$@"
EOS
cat >$p/bin/junit <<EOS
#!/usr/bin/env bash
mod=\$1; shift; cd "$root/\$mod" && exec "$J" ${jopts[*]} -jar $p/test/junit-platform-console-standalone-6.1.3.jar execute --disable-banner \\
  --details=\${JUNIT_DETAILS:-summary} --details-theme=ascii --class-path "src/test/resources:\$(ls $p/test/*-tests.jar $p/lib/*.jar | tr '\\n' ':')" "\$@"
EOS
chmod +x $p/bin/dit $p/bin/junit
export PATH=$p/bin:$PATH
# a run past its limit prints its threads (SIGQUIT makes the JVM dump them) before it is killed, so a hang says where
hang() { local s=$1; shift; timeout -s QUIT -k 15 "$s" "$@"; local rc=$?; [ $rc -ne 0 ] && echo "(exit status $rc)"; return 0; }
echo "== devices"; dit devices
if on tests; then
echo "== selfcheck"; timeout 90 dit selfcheck --device cuda
echo "== engine parity"; hang 150 junit engine --select-class org.deltadit.engine.CudaVsReferenceTest --select-class org.deltadit.engine.device.SharedKernelsTest \
  --select-class org.deltadit.engine.cuda.CudaToolchainTest 2>&1 | grep -v "^WARNING"
echo "== model fixtures (reference, cpu, cuda)"; hang 150 junit dit-model --select-class org.deltadit.dit.DitModelTest --select-class org.deltadit.dit.PixArtModelTest \
  --select-class org.deltadit.dit.T5EncoderTest --select-class org.deltadit.dit.VaeDecoderTest --select-class org.deltadit.dit.Sd3ModelTest \
  --select-class org.deltadit.dit.UNetModelTest --select-class org.deltadit.dit.ClipTest 2>&1 | grep -v "^WARNING"
echo "== dit generate: cuda vs cpu"; JUNIT_DETAILS=tree hang 150 junit cli --select-class org.deltadit.cli.CudaGenerateTest </dev/null 2>&1 | grep -v "^WARNING"
fi
on torch && { echo "== PyTorch eager, same blocks"; timeout 120 python3 tools/gpu/torch_dit_blocks.py --seconds ${DIT_TORCH_SECONDS:-3} | tee "$OUT/torch.jsonl"; }
on bench && for g in ${DIT_GPU_GEMMS:-bf16 tf32 fp32}; do
  echo "== dit bench forward, cuda $g"; DITX="-Ddit.cuda.gemm=$g" hang 150 dit bench forward --arch DiT-XL/2 --device cuda --seconds 6 | tee -a "$OUT/bench.jsonl"
done
on generate && for c in none delta-dit; do
  echo "== dit generate DiT-XL/2 random weights, 20 steps, guidance, bf16, cache $c"
  DITX="-Ddit.cuda.gemm=bf16" hang 200 dit generate --random-weights --arch DiT-XL/2 --steps 20 --class 1 --device cuda --cache $c --json | tail -1 | tee -a "$OUT/generate.jsonl"
done
on cpu && echo "== cpu on this machine, for scale" && timeout 150 dit bench forward --arch DiT-XL/2 --device cpu --seconds 6 | tee -a "$OUT/bench.jsonl"
echo "== done"
