# JVM options ./dit and ./dit-spark both pass (sourced by each; sets the arrays dit_jit and dit_thp).

# The vector exp/erf inlined into the kernels (see <jit.inline> in pom.xml: a call C2 does not inline boxes its vectors).
dit_jit=(-XX:CompileCommand=quiet -XX:CompileCommand=inline,org.deltadit.engine.cpu.VectorMath::* -XX:CompileCommand=inline,org.deltadit.engine.cpu.CpuBackend::erf)

# The heap on 2 MB pages where Linux gives them on request (transparent_hugepage "madvise"; "always" gives them anyway,
# and with "never" the flag would only print a warning). Packing writes fresh memory, which faults in slowly on some
# machines (0.25-0.5 GB/s on this project's VM), and F32 weights are packed onto the heap: a random F32 DiT-XL/2 .pt's
# first step 12.0-15.9 s without, 4.8-8.1 s with (pack_seconds 9.5-12.1 -> 2.5-4.3), later steps and peak RSS the same
# (bench/README.md, "The heap on 2 MB pages"). Not added when DIT_JAVA_OPTS names the flag either way.
dit_thp=()
case " ${DIT_JAVA_OPTS:-} " in
  *"TransparentHugePages"*) ;;
  *) if grep -qs '\[madvise\]' /sys/kernel/mm/transparent_hugepage/enabled; then dit_thp=(-XX:+UseTransparentHugePages); fi ;;
esac
