package org.deltadit.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * memory, as a model's weights are — a shape whose weight outgrows the caches cannot beat the second. The last
 * column pairs each measured iteration with a peak measured right after it in the same fork
 * ({@link GemmBenchmark#peakAfter}): the median of those ratios, and their range, which a neighbour's burst in
 * the middle of a table does not shift the way it shifts a ratio to one peak measured at the end.
 */
public final class GemmReport {
    private GemmReport() {}

    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args);
        Path peaksFile = Files.createTempFile("gemm-peaks", ".tsv");
        // JMH lets these replace the @Fork annotation's, so they repeat its arguments unless -jvmArgsAppend gave others
        List<String> forkArgs = new ArrayList<>(cli.getJvmArgsAppend().orElse(List.of(GemmBenchmark.class.getAnnotation(org.openjdk.jmh.annotations.Fork.class).jvmArgsAppend())));
        forkArgs.add("-D" + GemmBenchmark.PEAKS_PROPERTY + "=" + peaksFile);
        Collection<RunResult> results;
        Map<String, List<Double>> peaks;
        try {
            results = new Runner(new OptionsBuilder().parent(cli).include(GemmBenchmark.class.getSimpleName() + ".gemm").jvmArgsAppend(forkArgs.toArray(String[]::new)).build()).run();
            peaks = peaks(Files.readAllLines(peaksFile));
        } finally {
            Files.deleteIfExists(peaksFile);
        }
        int threads = Backends.select(null, null).threads();
        FmaPeak.Peak peak = FmaPeak.measure(threads, 1.5);
        System.out.printf(Locale.ROOT, "%nFMA peak %.1f GFLOP/s (%d threads, %d-bit vectors), %s%n", peak.gflops(), threads, peak.bits(), FmaPeak.machine());
        System.out.println(KernelCeiling.measure(threads, 2).describe(peak));
        System.out.println("| shape MxKxN | weights | layout | constant | copies | GFLOP/s (mean) | ± | % of peak | best iteration | % of peak | % of the peak after each iteration: median (range) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        for (RunResult r : results) {
            String shape = r.getParams().getParam("shape");
            String[] p = shape.split("x");
            double flop = 2.0 * Long.parseLong(p[0]) * Long.parseLong(p[1]) * Long.parseLong(p[2]) / 1e9;
            double gflops = r.getPrimaryResult().getScore() * flop, err = r.getPrimaryResult().getScoreError() * flop;
            List<Double> iterations = new ArrayList<>();
            for (BenchmarkResult b : r.getBenchmarkResults()) {
                for (IterationResult it : b.getIterationResults()) iterations.add(it.getPrimaryResult().getScore() * flop);
            }
            double best = iterations.stream().mapToDouble(Double::doubleValue).max().orElse(0);
            String key = GemmBenchmark.key(shape, r.getParams().getParam("weights"), r.getParams().getParam("layout"), r.getParams().getParam("constant"), r.getParams().getParam("copies"));
            System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s | %.1f | %.1f | %.1f %% | %.1f | %.1f %% | %s |%n", shape, r.getParams().getParam("weights"), r.getParams().getParam("layout"),
                    r.getParams().getParam("constant"), r.getParams().getParam("copies"), gflops, Double.isNaN(err) ? 0 : err, peak.percent(gflops), best, peak.percent(best),
                    paired(iterations, peaks.getOrDefault(key, List.of())));
        }
    }

    /** The peaks {@link GemmBenchmark#peakAfter} wrote, per trial key, in the order of the iterations. */
    static Map<String, List<Double>> peaks(List<String> lines) {
        Map<String, List<Double>> byKey = new HashMap<>();
        for (String line : lines) {
            int tab = line.lastIndexOf('\t');
            if (tab > 0) byKey.computeIfAbsent(line.substring(0, tab), k -> new ArrayList<>()).add(Double.parseDouble(line.substring(tab + 1)));
        }
        return byKey;
    }

    /**
     * Each iteration's GFLOP/s over the peak measured after it, as "median % (min–max)"; "n/a" where the counts differ
     * (a fork that failed part way), since pairing them out of order would pair an iteration with another's peak.
     */
    static String paired(List<Double> iterations, List<Double> peaks) {
        if (iterations.isEmpty() || iterations.size() != peaks.size()) return "n/a";
        double[] r = new double[iterations.size()];
        for (int i = 0; i < r.length; i++) r[i] = 100 * iterations.get(i) / peaks.get(i);
        java.util.Arrays.sort(r);
        double median = r.length % 2 == 1 ? r[r.length / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
        return String.format(Locale.ROOT, "%.1f %% (%.1f–%.1f)", median, r[0], r[r.length - 1]);
    }
}
