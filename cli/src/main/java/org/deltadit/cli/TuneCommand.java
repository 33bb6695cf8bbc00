package org.deltadit.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import org.deltadit.cache.BudgetSolver;
import org.deltadit.cache.CachePolicy;
import org.deltadit.cache.CacheSpec;
import org.deltadit.cache.Plan;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Tensor;
import org.deltadit.eval.ImageMetrics;
import org.deltadit.pipeline.Captions;
import org.deltadit.pipeline.GenerationRequest;
import org.deltadit.pipeline.GenerationResult;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.pipeline.PolicyWriter;
import org.deltadit.weights.AtomicFiles;
import org.deltadit.weights.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code dit tune} (paper App. F, as a search): for one model, sampler, step count and guidance, runs every
 * candidate policy on the same calibration images and scores it by its distance to full compute — the mean
 * PSNR of its final latents against the uncached ones (and their MSE) — at the MACs it spent. Candidates:
 * Δ-DiT with b at 20/40/60/80 % of the steps, either order, N and N_c solved for the budget; Δ-Cache and its
 * forecast on the front, middle and rear blocks with the fewest cached blocks that fit; First-Block Cache
 * and TeaCache at several thresholds (their MACs measured); MagCache with the magnitude ratios of the
 * stack's residual measured on the full calibration run. Prints every candidate with the Pareto front,
 * writes the best one within the budget as a policy file (a MagCache file carries its ratios). Where an evaluation
 * network is found (the demo model's digit CNN), each candidate is also scored by its images' CNN features and
 * labels against full compute's, image by image; the choice stays by PSNR.
 */
@Command(name = "tune", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Search cache policies at a MAC budget on calibration images; print the Pareto front; write the best as a policy file.")
final class TuneCommand implements Callable<Integer> {
    @Option(names = "--model", description = "weights file, folder or diffusers repository (default: the demo model, models/demo)")
    Path model;
    @picocli.CommandLine.Mixin
    ModelOptions load;
    @Option(names = "--speedup", description = "the budget as a MAC speedup over full compute (e.g. 1.6)")
    Double speedup;
    @Option(names = "--macs", description = "the budget as MACs per image (paper convention)")
    Double macs;
    @Option(names = "--calibration", defaultValue = "8", description = "calibration images (classes in turn, or the first of --prompts) (default: ${DEFAULT-VALUE})")
    int calibration;
    @Option(names = "--prompts", description = "text-to-image models: a file of calibration prompts, one per line")
    Path prompts;
    @Option(names = "--steps", defaultValue = "20", description = "(default: ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--sampler", description = "(default: the model's)")
    String sampler;
    @Option(names = "--cfg", description = "guidance scale (default: the model's)")
    Double cfg;
    @Option(names = "--clip-sample", description = "clamp each predicted x0 to [-R, R], as dit generate (default: none)")
    Double clipSample;
    @Option(names = "--dynamic-thresholding", paramLabel = "RATIO[,MAX]", description = "threshold each predicted x0 per image, as dit generate (default: none)")
    String thresholding;
    /** --dynamic-thresholding parsed once, when the command starts (every calibration run takes it). */
    private org.deltadit.sampler.Thresholding threshold;
    @Option(names = "--seed", defaultValue = "0")
    long seed;
    @Option(names = "--out", description = "the policy file to write (dit generate --cache-config reads it)")
    Path out;
    @Option(names = "--plot", description = "also draw the candidates (MAC speedup against PSNR, one series per kind, the Pareto front as a line) to this PNG")
    Path plot;
    @Option(names = "--json", description = "one JSON line per candidate instead of the table")
    boolean json;
    @Option(names = "--classifier", description = "evaluation network folder (classifier.safetensors + fid_stats.safetensors) for the feature columns (default: the model's folder, where the demo model has one)")
    Path classifier;
    @Mixin
    EngineOptions engine;

    /**
     * A scored candidate; {@code features} and {@code labels} are NaN without an evaluation network: the mean relative
     * squared distance of its images' CNN features from full compute's, image by image, and the share of images the
     * CNN labels as it labels full compute's.
     */
    record Candidate(String label, CachePolicy policy, long macs, double psnr, double mse, double features, double labels) {}

    /** The evaluation network, or null; its features and labels of full compute's images are taken once. */
    private org.deltadit.eval.DigitClassifier cnn;
    private Tensor fullFeatures;
    private int[] fullLabels;

    @Override
    public Integer call() {
        threshold = org.deltadit.sampler.Thresholding.parse(thresholding);
        if ((speedup == null) == (macs == null)) throw new IllegalArgumentException("dit tune: give the budget as --speedup X or --macs M (one of them)");
        if (speedup != null && !(speedup >= 1 && speedup <= 100)) throw new IllegalArgumentException("--speedup: " + speedup + " (1..100)");
        if (macs != null && !(macs > 0)) throw new IllegalArgumentException("--macs: " + macs + " (must be positive)");
        if (calibration < 1 || calibration > 1000) throw new IllegalArgumentException("--calibration: " + calibration + " (1..1000)");
        if (steps < 2) throw new IllegalArgumentException("--steps: " + steps + " (at least 2)");
        if (out != null) AtomicFiles.checkWritable(out, "--out");
        if (plot != null) {
            if (!plot.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) throw new IllegalArgumentException("--plot: " + plot + " (a .png file)");
            AtomicFiles.checkWritable(plot, "--plot");
        }
        long start = System.nanoTime();
        try (Pipeline p = Pipeline.open(load.spec(model != null ? model : DemoModel.path(), engine).build())) {
            ModelConfig c = p.config();
            if (c instanceof org.deltadit.weights.UNetConfig) throw new IllegalArgumentException("--model: dit tune searches transformer block stacks; for a U-Net compare deepcache/delta-cache spans with dit bench compare");
            List<String> texts = null;
            if (p.textConditioned()) {
                if (prompts == null) throw new IllegalArgumentException("--prompts: " + c.archName() + " is a text-to-image model: give calibration prompts (a file, one per line)");
                texts = Captions.readPromptFile(prompts);
            } else if (prompts != null) throw new IllegalArgumentException("--prompts: " + c.archName() + " is class-conditional (classes in turn)");
            List<String> calibrationTexts = texts;
            Path evalDir = org.deltadit.eval.Comparison.evaluationFolder(model != null ? model : DemoModel.path(), classifier, c, new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
            if (evalDir != null) cnn = org.deltadit.eval.DigitClassifier.load(evalDir.resolve("classifier.safetensors"), p.backend());
            double[] magnitude = new double[steps + 1]; // per step: mean |stack output − stack input|, MagCache's calibration
            int depth = c.depth();
            List<double[]> teaPoints = new ArrayList<>(); // (signal change, residual change) per row and step: TeaCache's calibration
            GenerationResult full = p.generate(request(p, calibrationTexts, CacheSpec.NONE), new org.deltadit.pipeline.ProgressListener() {
                @Override
                public org.deltadit.cache.BlockRunner.BlockObserver blocks(int from, int to) {
                    return new Calibration(p.backend(), depth, magnitude, teaPoints);
                }
            });
            if (cnn != null) {
                fullFeatures = cnn.features(full.latents());
                fullLabels = cnn.classifyFeatures(fullFeatures);
            }
            double[] ratios = new double[steps];
            for (int s = 0; s < steps; s++) ratios[s] = s == 0 || magnitude[s] == 0 ? 1 : magnitude[s + 1] / magnitude[s];
            long fullMacs = full.macs() / calibration;
            double budget = speedup != null ? fullMacs / speedup : macs;
            int branches = full.cfg() > 1 ? 2 : 1;
            List<Candidate> results = new ArrayList<>();
            List<String[]> skipped = new ArrayList<>();
            List<Object[]> all = candidates(c, budget, branches, skipped);
            for (double t : new double[] {0.03, 0.06, 0.12, 0.24}) for (int k : new int[] {2, 4}) all.add(new Object[] {"magcache " + t + " K=" + k, new CachePolicy.MagCache(t, k, ratios)});
            double[] poly = teaCachePolynomial(teaPoints);
            if (poly != null) {
                for (double t : new double[] {0.1, 0.2, 0.3, 0.5}) all.add(new Object[] {"teacache calibrated " + t, new CachePolicy.TeaCache(t, poly)});
                System.err.println("tune: TeaCache's polynomial, fitted to " + teaPoints.size() + " (signal, residual) changes: " + java.util.Arrays.toString(poly));
            } else {
                skipped.add(new String[] {"TeaCache calibrated", "too few steps to fit its polynomial"});
            }
            for (Object[] cand : all) {
                CachePolicy policy = (CachePolicy) cand[1];
                GenerationResult g = p.generate(request(p, calibrationTexts, new CacheSpec.Fixed(policy)), null);
                results.add(score((String) cand[0], policy, g, full));
                System.err.printf(Locale.ROOT, "tune: %-40s %.2f×%n", cand[0], fullMacs / (double) (g.macs() / calibration));
            }
            // the reference a cache must beat: fewer steps at the budget (not a policy file; never chosen)
            int fewer = (int) Math.floor(steps * budget / fullMacs);
            if (fewer >= 1 && fewer < steps) {
                GenerationResult g = p.generate(request(p, calibrationTexts, CacheSpec.NONE, fewer), null);
                results.add(score("fewer steps: T = " + fewer + " (reference)", null, g, full));
            }
            results.sort(Comparator.comparingLong(Candidate::macs));
            Candidate best = results.stream().filter(r -> r.policy() != null && r.macs() <= budget * 1.0001).max(Comparator.comparingDouble(Candidate::psnr)).orElse(null);
            double seconds = (System.nanoTime() - start) / 1e9;
            print(results, best, fullMacs, budget, c, full, seconds);
            if (plot != null) {
                drawPlot(results, fullMacs, budget, c, full);
                System.err.println("tune: drew " + plot);
            }
            for (String[] s : skipped) System.err.println("tune: left out " + s[0] + " (" + s[1] + ")");
            if (best == null) {
                System.err.printf(Locale.ROOT, "tune: no candidate fits %s MACs per image%n", org.deltadit.pipeline.PlanJson.macs((long) budget, ""));
                return 1;
            }
            if (out != null) {
                PolicyWriter.write(out, best.policy(), String.format(Locale.ROOT, "dit tune: %s on %s, %s %d steps, guidance %.1f%s: %.2f× MACs, PSNR %.2f dB against full compute on %d calibration images",
                        best.label(), c.archName(), full.sampler(), full.steps(), full.cfg(), x0Limit(), fullMacs / (double) best.macs(), best.psnr(), calibration));
                System.err.println("tune: wrote " + out + " (dit generate --cache-config " + out + ")");
            }
        }
        return 0;
    }

    /** The sampling flags that shape x0, as the header and the policy file's note name them (a policy is tuned for them). */
    private String x0Limit() {
        return (clipSample == null ? "" : ", x0 clamped to ±" + clipSample) + (threshold == null ? "" : ", x0 thresholded " + threshold);
    }

    private GenerationRequest request(Pipeline p, List<String> texts, CacheSpec cache) { return request(p, texts, cache, steps); }

    private GenerationRequest request(Pipeline p, List<String> texts, CacheSpec cache, int runSteps) {
        GenerationRequest.Builder b = GenerationRequest.builder().count(calibration).seed(seed).steps(runSteps).sampler(sampler).cfg(cfg).cache(cache).decode(false).keepLatents(true)
                .clipSample(clipSample).thresholding(threshold);
        if (texts != null) b.prompts(IntStream.range(0, calibration).mapToObj(i -> texts.get(i % texts.size())).toList());
        else b.classes(IntStream.range(0, calibration).map(i -> i % Math.max(1, p.numClasses())).boxed().toList());
        return b.build();
    }

    /** The candidates: {label, policy}; the ones that cannot reach the budget are said in {@code skipped}. */
    private List<Object[]> candidates(ModelConfig c, double budget, int branches, List<String[]> skipped) {
        List<Object[]> out = new ArrayList<>();
        int depth = c.depth();
        for (double frac : new double[] {0.2, 0.4, 0.6, 0.8}) {
            int b = Math.max(0, (int) Math.round(frac * steps));
            for (boolean reverse : new boolean[] {false, true}) {
                try {
                    long full = Plan.uncachedMacs(c, steps, 1, branches);
                    CachePolicy.DeltaDit d = BudgetSolver.solve(full / budget, steps, b, reverse, c, branches);
                    out.add(new Object[] {"Δ-DiT" + (reverse ? " reversed" : "") + " b=" + b + " N=" + d.interval() + " Nc=" + d.cachedBlocks(), d});
                } catch (InvalidParameter e) {
                    skipped.add(new String[] {"Δ-DiT b=" + b + (reverse ? " reversed" : ""), e.problem()});
                }
            }
        }
        int nc = 1;
        while (nc < depth && Plan.of(new CachePolicy.DeltaCache(0, nc, 2), steps, depth).macs(c, 1, branches) > budget) nc++;
        if (Plan.of(new CachePolicy.DeltaCache(0, nc, 2), steps, depth).macs(c, 1, branches) <= budget) {
            int[][] ranges = {CacheSpec.span("shallow", nc, depth), CacheSpec.span("middle", nc, depth), CacheSpec.span("deep", nc, depth)};
            String[] names = {"front", "middle", "rear"};
            for (int k = 0; k < 3; k++) {
                out.add(new Object[] {"Δ-Cache " + names[k] + " [" + ranges[k][0] + "," + ranges[k][1] + ")", new CachePolicy.DeltaCache(ranges[k][0], ranges[k][1], 2)});
                out.add(new Object[] {"forecast " + names[k] + " [" + ranges[k][0] + "," + ranges[k][1] + ")", new CachePolicy.Forecast(ranges[k][0], ranges[k][1], 2)});
            }
        } else {
            skipped.add(new String[] {"Δ-Cache", "N = 2 cannot reach the budget"});
        }
        for (double t : new double[] {0.05, 0.1, 0.15, 0.2, 0.3}) out.add(new Object[] {"fbcache " + t, new CachePolicy.FirstBlock(t)});
        for (double t : new double[] {0.1, 0.2, 0.3, 0.5}) out.add(new Object[] {"teacache " + t, new CachePolicy.TeaCache(t, new double[] {1, 0})});
        // ours: Δ-DiT's stages and default boundary, the refresh decided per row from the measured change, the reused Δ
        // forecast (closer to full compute than plain reuse in all 16 settings dit tune tried on the demo model, 2026-11-30);
        // N_c = depth caches the whole stack in both stages, which measured best there
        for (int ncAd : new int[] {CachePolicy.DeltaDit.defaultCachedBlocks(depth), depth}) {
            for (double t : new double[] {0.05, 0.1, 0.15, 0.25}) {
                for (int k : new int[] {1, 2}) out.add(new Object[] {"adaptive-delta Nc=" + ncAd + " " + t + " K=" + k, new CachePolicy.AdaptiveDelta(-1, ncAd, t, k, true)});
            }
        }
        return out;
    }

    /**
     * What the full calibration run shows the caches: per step, MagCache's mean residual magnitude; per row and
     * step, the relative change of block 0's modulated input (TeaCache's signal) beside the relative change of
     * the residual the whole stack adds (what a skipped step reuses), each against the step before.
     */
    private static final class Calibration implements org.deltadit.cache.BlockRunner.BlockObserver {
        private final org.deltadit.engine.Backend be;
        private final int depth;
        private final double[] magnitude;
        private final List<double[]> points;
        private Tensor entering, signal, lastSignal, lastResidual;

        Calibration(org.deltadit.engine.Backend be, int depth, double[] magnitude, List<double[]> points) {
            this.be = be;
            this.depth = depth;
            this.magnitude = magnitude;
            this.points = points;
        }

        @Override public boolean wantsSignal() { return true; }

        @Override public void signal(int step, Tensor modulated) { signal = modulated.contiguous(); }

        @Override
        public void afterBlock(int step, int block, Tensor in, Tensor out) {
            if (block == 0) entering = in;
            if (block != depth - 1) return;
            Tensor residual = be.sub(out, entering);
            magnitude[step] += meanAbs(residual);
            if (lastSignal != null && signal != null && lastSignal.dim(0) == signal.dim(0)) {
                for (int r = 0; r < signal.dim(0); r++) {
                    double x = org.deltadit.cache.Signals.relativeL1(signal.select(0, r), lastSignal.select(0, r));
                    double y = org.deltadit.cache.Signals.relativeL1(residual.select(0, r), lastResidual.select(0, r));
                    if (Double.isFinite(x) && Double.isFinite(y)) points.add(new double[] {x, y});
                }
            }
            lastSignal = signal;
            lastResidual = residual;
        }
    }

    /** TeaCache's rescaling polynomial (degree 4, as its authors fit it) from the calibration points; null with fewer than 5. */
    static double[] teaCachePolynomial(List<double[]> points) {
        if (points.size() < 5) return null;
        double[] x = points.stream().mapToDouble(p -> p[0]).toArray(), y = points.stream().mapToDouble(p -> p[1]).toArray();
        try {
            return org.deltadit.cache.Polyfit.fit(x, y, 4);
        } catch (IllegalStateException e) {
            return null;
        }
    }

    private static double meanAbs(Tensor t) {
        float[] x = t.toFloatArray();
        double s = 0;
        for (float v : x) s += Math.abs(v);
        return s / x.length;
    }

    /** MACs per image, and the mean PSNR (capped at 100 dB) and MSE of the final latents against full compute. */
    private Candidate score(String label, CachePolicy policy, GenerationResult g, GenerationResult full) {
        double psnr = 0, mse = 0;
        int n = calibration;
        for (int i = 0; i < n; i++) {
            float[] a = full.latents().select(0, i).toFloatArray(), b = g.latents().select(0, i).toFloatArray();
            psnr += Math.min(ImageMetrics.psnr(a, b), 100) / n;
            mse += squaredDistance(a, b) / a.length / n;
        }
        double[] f = {Double.NaN, Double.NaN};
        if (cnn != null) {
            Tensor features = cnn.features(g.latents());
            f = featureScores(fullFeatures, fullLabels, features, cnn.classifyFeatures(features));
        }
        return new Candidate(label, policy, g.macs() / n, psnr, mse, f[0], f[1]);
    }

    /**
     * Against full compute's features and labels, image by image: the mean of ‖f − f_full‖² / ‖f_full‖² and the share
     * of images labelled alike. Paired, so it means something on a few calibration images, where a FID would not.
     */
    static double[] featureScores(Tensor fullFeatures, int[] fullLabels, Tensor features, int[] labels) {
        int n = fullLabels.length;
        double distance = 0;
        int same = 0;
        for (int i = 0; i < n; i++) {
            float[] a = fullFeatures.select(0, i).toFloatArray(), b = features.select(0, i).toFloatArray();
            double d = squaredDistance(a, b), norm = 0;
            for (float v : a) norm += v * (double) v;
            distance += (norm > 0 ? d / norm : d) / n;
            if (labels[i] == fullLabels[i]) same++;
        }
        return new double[] {distance, same / (double) n};
    }

    /** ‖a − b‖², summed in double. */
    static double squaredDistance(float[] a, float[] b) {
        double s = 0;
        for (int k = 0; k < a.length; k++) s += (a[k] - b[k]) * (double) (a[k] - b[k]);
        return s;
    }

    /** The kind of a candidate, from its label's first word(s): one series per kind. */
    private static String kind(String label) {
        if (label.startsWith("fewer steps")) return "fewer steps";
        if (label.startsWith("teacache calibrated")) return "TeaCache (fitted)";
        if (label.startsWith("Δ-DiT")) return "Δ-DiT";
        return switch (label.split(" ")[0]) {
            case "teacache" -> "TeaCache [1, 0]";
            case "fbcache" -> "First-Block Cache";
            case "magcache" -> "MagCache";
            case "adaptive-delta" -> "adaptive Δ (ours)";
            case "forecast" -> "forecast";
            default -> label.split(" ")[0];
        };
    }

    private void drawPlot(List<Candidate> results, long fullMacs, double budget, ModelConfig c, GenerationResult full) {
        org.knowm.xchart.XYChart chart = new org.knowm.xchart.XYChartBuilder().width(1000).height(600)
                .title(String.format(Locale.ROOT, "%s, %s %d steps, cfg %.1f, %d images", c.archName(), full.sampler(), full.steps(), full.cfg(), calibration))
                .xAxisTitle("MAC speedup (×)").yAxisTitle("PSNR of the final latents vs full compute (dB)").build();
        chart.getStyler().setDefaultSeriesRenderStyle(org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(9);
        java.util.Map<String, List<Candidate>> byKind = new java.util.LinkedHashMap<>();
        for (Candidate r : results) byKind.computeIfAbsent(kind(r.label()), k -> new ArrayList<>()).add(r);
        for (var e : byKind.entrySet()) {
            chart.addSeries(e.getKey(), e.getValue().stream().mapToDouble(r -> fullMacs / (double) r.macs()).toArray(), e.getValue().stream().mapToDouble(Candidate::psnr).toArray());
        }
        List<Candidate> front = results.stream().filter(r -> results.stream().noneMatch(o -> o != r && o.macs() <= r.macs() && o.psnr() >= r.psnr() && (o.macs() < r.macs() || o.psnr() > r.psnr())))
                .sorted(Comparator.comparingLong(Candidate::macs)).toList();
        var line = chart.addSeries("Pareto front", front.stream().mapToDouble(r -> fullMacs / (double) r.macs()).toArray(), front.stream().mapToDouble(Candidate::psnr).toArray());
        line.setXYSeriesRenderStyle(org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Line);
        line.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
        double x = fullMacs / budget;
        var b = chart.addSeries("budget " + String.format(Locale.ROOT, "%.2f×", x), new double[] {x, x},
                new double[] {results.stream().mapToDouble(Candidate::psnr).min().orElse(0), results.stream().mapToDouble(Candidate::psnr).max().orElse(1)});
        b.setXYSeriesRenderStyle(org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Line);
        b.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
        AnalyzeCommand.savePng(chart, plot);
    }

    private void print(List<Candidate> results, Candidate best, long fullMacs, double budget, ModelConfig c, GenerationResult full, double seconds) {
        // Pareto: no other candidate is at most as costly and at least as close, and better in one of the two
        List<Candidate> front = new ArrayList<>();
        for (Candidate r : results) {
            boolean dominated = results.stream().anyMatch(o -> o != r && o.macs() <= r.macs() && o.psnr() >= r.psnr() && (o.macs() < r.macs() || o.psnr() > r.psnr()));
            if (!dominated) front.add(r);
        }
        if (json) {
            for (Candidate r : results) {
                String f = cnn == null ? "" : String.format(Locale.ROOT, "\"feature_distance\":%.6g,\"label_agreement\":%.4f,", r.features(), r.labels());
                System.out.printf(Locale.ROOT, "{\"candidate\":%s,\"macs\":%d,\"speedup\":%.4f,\"psnr\":%.3f,\"mse\":%.6g,%s\"within_budget\":%b,\"pareto\":%b,\"chosen\":%b}%n",
                        org.deltadit.weights.Json.quote(r.label()), r.macs(), fullMacs / (double) r.macs(), r.psnr(), r.mse(), f, r.macs() <= budget * 1.0001, front.contains(r), r == best);
            }
            return;
        }
        System.out.printf(Locale.ROOT, "%s, %s %d steps, guidance %.1f%s, %d calibration images; budget %s MACs per image (full %s); search %.1f s%n%n", c.archName(), full.sampler(),
                full.steps(), full.cfg(), x0Limit(), calibration, org.deltadit.pipeline.PlanJson.macs((long) budget, ""), org.deltadit.pipeline.PlanJson.macs(fullMacs, ""), seconds);
        System.out.println("| Candidate | MACs | Speedup | PSNR vs full (dB) | latent MSE |" + (cnn == null ? "" : " CNN feature distance | same label |") + " |");
        System.out.println("|---|---|---|---|---|" + (cnn == null ? "" : "---|---|") + "---|");
        for (Candidate r : results) {
            String mark = (r == best ? "chosen" : "") + (front.contains(r) ? (r == best ? ", " : "") + "Pareto" : "") + (r.macs() > budget * 1.0001 ? " (over budget)" : "");
            String f = cnn == null ? "" : String.format(Locale.ROOT, " %.3g | %.0f%% |", r.features(), 100 * r.labels());
            System.out.printf(Locale.ROOT, "| %s | %s | %.2f× | %.2f | %.3g |%s %s |%n", r.label(), org.deltadit.pipeline.PlanJson.macs(r.macs(), ""), fullMacs / (double) r.macs(), r.psnr(), r.mse(), f, mark);
        }
    }
}
