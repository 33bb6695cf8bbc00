package org.deltadit.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.deltadit.cache.BlockRunner;
import org.deltadit.cache.CacheSpec;
import org.deltadit.cache.analysis.DeltaSimilarity;
import org.deltadit.cache.analysis.Fourier;
import org.deltadit.engine.Tensor;
import org.deltadit.pipeline.GenerationRequest;
import org.deltadit.pipeline.ModelSpec;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.pipeline.ProgressListener;
import org.deltadit.weights.AtomicFiles;
import org.deltadit.weights.ModelConfig;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit analyze}: the paper's analyses on a model — Δ similarity across steps (Fig. 4c) and Fourier profiles (Fig. 5). */
@Command(name = "analyze", mixinStandardHelpOptions = true, subcommands = {AnalyzeCommand.Similarity.class, AnalyzeCommand.Spectrum.class},
        description = "Paper analyses: 'delta-similarity' (Fig. 4c) and 'fourier' (Fig. 5), as PNG and CSV.")
final class AnalyzeCommand implements Callable<Integer> {
    @Override
    public Integer call() { return Usage.missingSubcommand(new picocli.CommandLine(this)); }

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

        @Mixin
        EngineOptions engine;

        /** Checks the options, opens the model: what both analyses start with. */
        Pipeline start(int count) {
            if (count < 1) throw new IllegalArgumentException("--count: " + count + " (must be at least 1)");
            if (steps < 2) throw new IllegalArgumentException("--steps: " + steps + " (at least 2)");
            if (batch < 1) throw new IllegalArgumentException("--batch: " + batch + " (must be at least 1)");
            if (!(cfg >= 0 && cfg <= 100)) throw new IllegalArgumentException("--cfg: " + cfg + " (0..100)");
            Pipeline p = Pipeline.open(ModelSpec.builder().model(model != null ? model : DemoModel.path()).heads(heads).device(engine.device).threads(engine.threads).build());
            if (p.textConditioned()) {
                p.close();
                throw new IllegalArgumentException("--model: the analyses take a class-conditional DiT");
            }
            return p;
        }

        /** {@code count} images, classes in turn, with {@code cache} (every block at every step for CacheSpec.NONE); the samples before any VAE. */
        Tensor sample(Pipeline p, int count, CacheSpec cache, ProgressListener listener) {
            GenerationRequest r = GenerationRequest.builder().classes(CompareCommand.classesInTurn(count, p.numClasses())).count(count).batch(batch)
                    .seed(seed).steps(steps).sampler(sampler).cfg(cfg).cache(cache).decode(false).keepLatents(true).build();
            return p.generate(r, listener).latents();
        }

        /** The output folder, checked (not yet created: nothing is left behind when the run fails). */
        Path folder() {
            AtomicFiles.checkWritable(out.resolve("delta_similarity.csv"), "--out");
            return out;
        }
    }

    @Command(name = "delta-similarity", mixinStandardHelpOptions = true, description = "Cosine similarity of each block's Δ between adjacent steps (paper Fig. 4c).")
    static final class Similarity extends Common implements Callable<Integer> {
        @Option(names = "--count", defaultValue = "10", description = "images (default: ${DEFAULT-VALUE})")
        int count;

        @Override
        public Integer call() {
            Path dir = folder();
            DeltaSimilarity sim;
            int depth;
            try (Pipeline p = start(count)) {
                depth = p.config().depth();
                sim = new DeltaSimilarity(depth, steps);
                sample(p, count, CacheSpec.NONE, new ProgressListener() {
                    @Override
                    public BlockRunner.BlockObserver blocks(int from, int to) {
                        sim.newBatch();
                        return sim;
                    }
                });
            }
            double[][] mat = sim.matrix();
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
            for (int i = 0; i < depth; i++) ys.add(i);
            List<Number[]> cells = new ArrayList<>();
            for (int i = 0; i < mat.length; i++) for (int s = 0; s < mat[i].length; s++) cells.add(new Number[] {s, i, mat[i][s]});
            HeatMapChart chart = new HeatMapChartBuilder().width(900).height(700).title("Δ cosine similarity with the previous step")
                    .xAxisTitle("step").yAxisTitle("block").build();
            chart.addSeries("similarity", xs, ys, cells);
            savePng(chart, dir.resolve("delta_similarity.png"));
            System.out.println("wrote " + dir.resolve("delta_similarity.png") + " and .csv (" + depth + " blocks × steps 2.." + steps + ", " + count + " images)");
            return 0;
        }
    }

    @Command(name = "fourier", mixinStandardHelpOptions = true, description = "Radial relative log magnitude spectra for no cache and shallow/middle/deep Δ-Cache (paper Fig. 5).")
    static final class Spectrum extends Common implements Callable<Integer> {
        @Option(names = "--count", defaultValue = "50", description = "images per setting (default: ${DEFAULT-VALUE})")
        int count;

        @Override
        public Integer call() {
            Path dir = folder();
            String[] names = {"none", "shallow", "middle", "deep"};
            List<double[]> profiles = new ArrayList<>();
            try (Pipeline p = start(count)) {
                ModelConfig c = p.config();
                for (String n : names) {
                    CacheSpec cache = n.equals("none") ? CacheSpec.NONE : new CacheSpec.Fixed(CacheSpec.deltaCache(n, c.depth()));
                    Tensor img = sample(p, count, cache, null);
                    profiles.add(Fourier.meanProfile(img.toFloatArray(), count, c.inChannels(), c.inputSize(), c.inputSize()));
                }
            }
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

    static void writeText(Path file, String text) { AtomicFiles.writeString(file, text); }

    static void savePng(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path file) {
        System.setProperty("java.awt.headless", "true");
        try {
            byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
            AtomicFiles.write(file, out -> out.write(png));
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write (" + AtomicFiles.reason(e) + ")", e);
        }
    }
}
