package org.deltadit.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.deltadit.cache.CachePolicy;
import org.deltadit.cache.Plan;
import org.deltadit.cache.analysis.DeltaSimilarity;
import org.deltadit.cache.analysis.Fourier;
import org.deltadit.dit.DitLoader;
import org.deltadit.dit.DitModel;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Backends;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.Checkpoint;
import org.deltadit.weights.DitConfig;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code dit analyze}: the paper's analyses on a model — Δ similarity across steps (Fig. 4c) and Fourier profiles (Fig. 5). */
@Command(name = "analyze", mixinStandardHelpOptions = true, subcommands = {AnalyzeCommand.Similarity.class, AnalyzeCommand.Spectrum.class},
        description = "Paper analyses: 'delta-similarity' (Fig. 4c) and 'fourier' (Fig. 5), as PNG and CSV.")
final class AnalyzeCommand implements Runnable {
    @Override
    public void run() { new picocli.CommandLine(this).usage(System.err); }

    /** Options both analyses share. */
    static class Common {
        @Option(names = "--model", description = "DiT checkpoint (default: the demo model)")
        Path model;
        @Option(names = "--heads", description = "attention heads when the checkpoint does not say")
        Integer heads;
        @Option(names = "--steps", defaultValue = "20")
        int steps;
        @Option(names = "--sampler", defaultValue = "dpm-solver++")
        String sampler;
        @Option(names = "--cfg", defaultValue = "4.0")
        double cfg;
        @Option(names = "--seed", defaultValue = "0")
        long seed;
        @Option(names = "--batch", defaultValue = "25", description = "images per model batch (default: ${DEFAULT-VALUE})")
        int batch;
        @Option(names = "--out", defaultValue = "analysis", description = "output folder (default: ${DEFAULT-VALUE})")
        Path out;

        DitModel load(Backend be) {
            if (steps < 2) throw new IllegalArgumentException("--steps: " + steps + " (at least 2)");
            if (batch < 1) throw new IllegalArgumentException("--batch: " + batch + " (must be at least 1)");
            Path m = model != null ? model : DemoModel.path();
            return DitLoader.dit(Checkpoint.open(m, null, null), new DitConfig.Overrides(heads, null, null), be);
        }

        /** Checks the options, loads the model: what both analyses start with. */
        DitModel start(int count) {
            if (count < 1) throw new IllegalArgumentException("--count: " + count + " (must be at least 1)");
            return load(Backends.create("cpu", Runtime.getRuntime().availableProcessors()));
        }

        Tensor sample(DitModel m, int count, Plan plan, DeltaSimilarity observer) {
            return Sampling.run(m, sampler, steps, cfg, Sampling.noise(m, seed, count), Sampling.labels(count, m.config().numClasses()), batch, plan, observer, seed);
        }

        Path folder() {
            try {
                return Files.createDirectories(out);
            } catch (IOException e) {
                throw new UncheckedIOException("--out: cannot create " + out + " (" + e.getMessage() + ")", e);
            }
        }
    }

    @Command(name = "delta-similarity", mixinStandardHelpOptions = true, description = "Cosine similarity of each block's Δ between adjacent steps (paper Fig. 4c).")
    static final class Similarity extends Common implements Callable<Integer> {
        @Option(names = "--count", defaultValue = "10", description = "images (default: ${DEFAULT-VALUE})")
        int count;

        @Override
        public Integer call() {
            DitModel m = start(count);
            DeltaSimilarity sim = new DeltaSimilarity(m.depth(), steps);
            sample(m, count, null, sim);
            double[][] mat = sim.matrix();
            Path dir = folder();
            StringBuilder csv = new StringBuilder("block");
            for (int s = 2; s <= steps; s++) csv.append(",step").append(s);
            csv.append('\n');
            for (int i = 0; i < mat.length; i++) {
                csv.append(i);
                for (double v : mat[i]) csv.append(',').append(String.format(Locale.ROOT, "%.5f", v));
                csv.append('\n');
            }
            writeText(dir.resolve("delta_similarity.csv"), csv.toString());
            List<Integer> xs = new ArrayList<>(), ys = new ArrayList<>();
            for (int s = 2; s <= steps; s++) xs.add(s);
            for (int i = 0; i < m.depth(); i++) ys.add(i);
            List<Number[]> cells = new ArrayList<>();
            for (int i = 0; i < mat.length; i++) for (int s = 0; s < mat[i].length; s++) cells.add(new Number[] {s, i, mat[i][s]});
            HeatMapChart chart = new HeatMapChartBuilder().width(900).height(700).title("Δ cosine similarity with the previous step")
                    .xAxisTitle("step").yAxisTitle("block").build();
            chart.addSeries("similarity", xs, ys, cells);
            savePng(chart, dir.resolve("delta_similarity.png"));
            System.out.println("wrote " + dir.resolve("delta_similarity.png") + " and .csv (" + m.depth() + " blocks × steps 2.." + steps + ", " + count + " images)");
            return 0;
        }
    }

    @Command(name = "fourier", mixinStandardHelpOptions = true, description = "Radial relative log magnitude spectra for no cache and shallow/middle/deep Δ-Cache (paper Fig. 5).")
    static final class Spectrum extends Common implements Callable<Integer> {
        @Option(names = "--count", defaultValue = "50", description = "images per setting (default: ${DEFAULT-VALUE})")
        int count;

        @Override
        public Integer call() {
            DitModel m = start(count);
            DitConfig c = m.config();
            String[] names = {"none", "shallow", "middle", "deep"};
            List<double[]> profiles = new ArrayList<>();
            for (String n : names) {
                Plan plan = null;
                if (!n.equals("none")) {
                    int[] r = CacheOptions.parseRange(n, c.depth());
                    plan = Plan.of(new CachePolicy.DeltaCache(r[0], r[1], 2), steps, c.depth());
                }
                Tensor img = sample(m, count, plan, null);
                profiles.add(Fourier.meanProfile(img.toFloatArray(), count, c.inChannels(), c.inputSize(), c.inputSize()));
            }
            Path dir = folder();
            int bins = profiles.get(0).length;
            StringBuilder csv = new StringBuilder("radius," + String.join(",", names) + "\n");
            XYChart chart = new XYChartBuilder().width(900).height(600).title("Fourier relative log magnitude (radial mean)").xAxisTitle("frequency radius").yAxisTitle("log(|F| / max |F|)").build();
            double[] xs = new double[bins];
            for (int r = 0; r < bins; r++) xs[r] = r;
            for (int r = 0; r < bins; r++) {
                csv.append(r);
                for (double[] p : profiles) csv.append(',').append(String.format(Locale.ROOT, "%.5f", p[r]));
                csv.append('\n');
            }
            for (int i = 0; i < names.length; i++) chart.addSeries(names[i].equals("none") ? "no cache" : "Δ-Cache " + names[i], xs, profiles.get(i));
            writeText(dir.resolve("fourier.csv"), csv.toString());
            savePng(chart, dir.resolve("fourier.png"));
            System.out.println("wrote " + dir.resolve("fourier.png") + " and .csv (" + count + " images per setting)");
            return 0;
        }
    }

    static void writeText(Path file, String text) {
        try {
            Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".tmp");
            Files.writeString(tmp, text);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
    }

    static void savePng(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path file) {
        System.setProperty("java.awt.headless", "true");
        try {
            Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".png");
            BitmapEncoder.saveBitmap(chart, tmp.toString(), BitmapEncoder.BitmapFormat.PNG);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
    }
}
