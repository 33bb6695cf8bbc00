package org.deltadit.bench;

import java.util.Collection;
import java.util.Locale;
import org.deltadit.engine.Backends;
import org.deltadit.engine.cpu.FmaPeak;
import org.deltadit.engine.cpu.KernelCeiling;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * {@link GemmBenchmark} through JMH's runner (any JMH option, e.g. {@code -p shape=… -wi 3 -i 5}), then this
 * machine's FMA peak measured in-process at the engine's thread count, and each result as GFLOP/s and as a
 * share of that peak — so the figure is a ratio to something measured in the same run:
 * {@code java -cp bench/target/benchmarks.jar org.deltadit.bench.GemmReport -p weights=F32,I8}. Two figures per
 * shape: JMH's mean over the measured iterations, and the best iteration — the statistic the peak itself is (the
 * best of three rounds), so that a neighbour's burst on a shared machine lowers neither side of that ratio. A line
 * after the peak gives the micro-kernel's own rate ({@link KernelCeiling}): with B in cache, and with B streamed from
 * memory, as a model's weights are — a shape whose weight outgrows the caches cannot beat the second.
 */
public final class GemmReport {
    private GemmReport() {}

    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args);
        Collection<RunResult> results = new Runner(new OptionsBuilder().parent(cli).include(GemmBenchmark.class.getSimpleName() + ".gemm").build()).run();
        int threads = Backends.select(null, null).threads();
        FmaPeak.Peak peak = FmaPeak.measure(threads, 1.5);
        System.out.printf(Locale.ROOT, "%nFMA peak %.1f GFLOP/s (%d threads, %d-bit vectors), %s%n", peak.gflops(), threads, peak.bits(), FmaPeak.machine());
        System.out.println(KernelCeiling.measure(threads, 2).describe(peak));
        System.out.println("| shape MxKxN | weights | layout | constant | copies | GFLOP/s (mean) | ± | % of peak | best iteration | % of peak |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
        for (RunResult r : results) {
            String shape = r.getParams().getParam("shape");
            String[] p = shape.split("x");
            double flop = 2.0 * Long.parseLong(p[0]) * Long.parseLong(p[1]) * Long.parseLong(p[2]) / 1e9;
            double gflops = r.getPrimaryResult().getScore() * flop, err = r.getPrimaryResult().getScoreError() * flop;
            double best = 0;
            for (BenchmarkResult b : r.getBenchmarkResults()) {
                for (IterationResult it : b.getIterationResults()) best = Math.max(best, it.getPrimaryResult().getScore() * flop);
            }
            System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s | %.1f | %.1f | %.1f %% | %.1f | %.1f %% |%n", shape, r.getParams().getParam("weights"), r.getParams().getParam("layout"),
                    r.getParams().getParam("constant"), r.getParams().getParam("copies"), gflops, Double.isNaN(err) ? 0 : err, peak.percent(gflops), best, peak.percent(best));
        }
    }
}
