package org.deltadit.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Backends;
import org.deltadit.engine.SelfCheck;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code dit selfcheck}: every op of the chosen backend against the reference, and a GEMM figure. */
@Command(name = "selfcheck", mixinStandardHelpOptions = true,
        description = "Check every engine op against the scalar reference and measure GEMM throughput.")
final class SelfCheckCommand implements Callable<Integer> {

    @Option(names = {"--device", "--backend"}, description = "cpu, reference, opencl[:N] or cuda[:N] (default: -Ddit.device, else cpu)")
    String device;

    @Option(names = "--threads", description = "worker threads (default: -Ddit.threads, else all cores)")
    Integer threads;

    @Option(names = "--gemm", defaultValue = "256x1152x1152", description = "MxKxN to time, or 'none' (default: ${DEFAULT-VALUE}, a DiT-XL/2 linear at 256 px)")
    String gemm;

    @Override
    public Integer call() {
        int[] shape = gemm.equals("none") ? null : parseShape(gemm);
        if (shape != null) {
            // the GEMM's three matrices, checked before any op runs (65536³ is in range per side, not in memory)
            long floats = (long) shape[0] * shape[1] + (long) shape[1] * shape[2] + (long) shape[0] * shape[2];
            if (floats > Integer.MAX_VALUE) throw new IllegalArgumentException("--gemm: " + gemm + " needs matrices of " + floats + " floats; one may hold at most 2^31");
            org.deltadit.pipeline.MemoryEstimate.check(floats * Float.BYTES, "gemm", gemm);
        }
        Backend be = Backends.select(device, threads);
        System.out.println("backend: " + be.describe());
        List<SelfCheck.Result> results = SelfCheck.run(be);
        int failed = 0;
        for (SelfCheck.Result r : results) {
            System.out.printf("  %-22s %s  max error %.2e (tolerance %.0e)%n", r.op(), r.ok() ? "ok  " : "FAIL", r.maxError(), r.tolerance());
            if (!r.ok()) failed++;
        }
        if (shape != null) {
            double gf = SelfCheck.gemmGflops(be, shape[0], shape[1], shape[2], 9);
            if (be instanceof org.deltadit.engine.device.DeviceBackend) {
                System.out.printf("gemm %s: %.1f GFLOP/s (median of 9, each copying its inputs and output; run bench/target/benchmarks.jar for JMH figures)%n", gemm, gf);
            } else {
                org.deltadit.engine.cpu.FmaPeak.Peak peak = org.deltadit.engine.cpu.FmaPeak.measure(be.threads(), 1.5);
                System.out.println("peak: " + peak.describe() + "; " + org.deltadit.engine.cpu.FmaPeak.machine());
                if (be instanceof org.deltadit.engine.cpu.CpuBackend) System.out.println(org.deltadit.engine.cpu.KernelCeiling.measure(be.threads(), 2).describe(peak));
                System.out.printf("gemm %s: %.1f GFLOP/s = %.0f %% of the peak (median of 9; run bench/target/benchmarks.jar for JMH figures)%n", gemm, gf, peak.percent(gf));
            }
        }
        System.out.println(failed == 0 ? "selfcheck: all " + results.size() + " ops match the reference" : "selfcheck: " + failed + " of " + results.size() + " ops FAILED");
        return failed == 0 ? 0 : 1;
    }

    static int[] parseShape(String s) {
        String[] p = s.split("x");
        if (p.length != 3) throw new IllegalArgumentException("--gemm: '" + s + "' is not MxKxN");
        int[] r = new int[3];
        for (int i = 0; i < 3; i++) {
            try {
                r[i] = Integer.parseInt(p[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--gemm: '" + s + "' is not MxKxN");
            }
            if (r[i] < 1 || r[i] > 65536) throw new IllegalArgumentException("--gemm: dimension " + r[i] + " in '" + s + "' (1..65536)");
        }
        return r;
    }
}
