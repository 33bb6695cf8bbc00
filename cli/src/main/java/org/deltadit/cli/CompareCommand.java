package org.deltadit.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import org.deltadit.eval.CompareRow;
import org.deltadit.eval.Comparison;
import org.deltadit.eval.FidBootstrap;
import org.deltadit.engine.Tensor;
import org.deltadit.eval.RowStats;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.weights.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code dit bench compare}: the paper's Table 1/2 layout on one model — each row a configuration run
 * on the same classes and noise: MACs, speedup, latency, FID (classifier features against held-out
 * digits), accuracy, and PSNR/SSIM against the uncached run. A one-image run of the full row warms the
 * JIT up before any row is timed.
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Compare caching configurations on one model: MACs, speedup, latency, FID, accuracy, PSNR/SSIM.")
final class CompareCommand implements Callable<Integer> {
    static final String ROWS = CompareRow.DEFAULT_ROWS;

    @Option(names = "--model", description = "DiT checkpoint (default: the demo model, models/demo)")
    Path model;
    @picocli.CommandLine.Mixin
    ModelOptions load;
    @Option(names = "--classifier", description = "evaluation network and FID statistics folder: classifier.safetensors + fid_stats.safetensors, for a 1×32×32 model (default: the model's folder, where the columns are left out if it has none; a folder named here that lacks them is refused)")
    Path classifier;
    @Option(names = "--rows", defaultValue = ROWS, description = "rows: full, t<N>, faster (I = ⌈0.75·depth⌉, 21 of 28), faster<I>, shallow, middle, deep, forecast-shallow|middle|deep, delta-dit, reverse (default: ${DEFAULT-VALUE})")
    String rows;
    @Option(names = "--sampler", defaultValue = "dpm-solver++", description = "(default: ${DEFAULT-VALUE})")
    String sampler;
    @Option(names = "--steps", defaultValue = "20", description = "steps of the full run (default: ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--cfg", defaultValue = "4.0", description = "guidance scale (default: ${DEFAULT-VALUE})")
    double cfg;
    @Option(names = "--clip-sample", description = "clamp each predicted x0 to [-R, R] (ddpm, ddim, dpm-solver++; pixel-space models; default: none)")
    Double clipSample;
    @Option(names = "--dynamic-thresholding", paramLabel = "RATIO[,MAX]", description = "threshold each predicted x0 per image (as dit generate; not with --clip-sample; default: none)")
    String thresholding;
    @Option(names = "--count", defaultValue = "100", description = "images per row, classes in turn (default: ${DEFAULT-VALUE})")
    int count;
    @Option(names = "--batch", defaultValue = "50", description = "images per model batch (default: ${DEFAULT-VALUE})")
    int batch;
    @Option(names = "--seed", defaultValue = "0")
    long seed;
    @Option(names = "--metrics", description = "metrics on the 8-bit images: fid, is (Inception-v3), clip (CLIP score with --prompts) (default: none; the digit CNN's FID and accuracy come with the demo model)")
    String metrics;
    @Option(names = "--fid-weights", description = "the FID Inception-v3 weights (pt_inception-2015-12-05-6726825d.pth) for --metrics fid/is")
    Path fidWeights;
    @Option(names = "--clip-model", description = "a CLIP ViT-L/14 folder (config.json, weights, vocab.json, merges.txt) for --metrics clip")
    Path clipModel;
    @Option(names = "--prompts", description = "text-to-image models: a UTF-8 file of prompts, one per line; image i takes prompt i (at least --count of them)")
    Path prompts;
    @Option(names = "--fid-stats", description = "reference statistics (.npz with mu, sigma; e.g. the published ImageNet or COCO ones) for --metrics fid")
    Path fidStats;
    @Mixin
    EngineOptions engine;
    @Option(names = "--json", description = "JSON lines (one per row) instead of the Markdown table")
    boolean json;
    @Option(names = "--cache-config", description = "a policy file (see dit generate --cache-config) as one more row; repeatable")
    List<Path> policyFiles;
    @Option(names = "--reference-model", description = "PSNR/SSIM against this model's full compute (same seeds and classes) instead of the first row's: e.g. the F32 model for an INT8 one (dit quantize)")
    Path referenceModel;
    @Option(names = "--bootstrap", paramLabel = "N", defaultValue = "0", description = "also a paired bootstrap of the digit FID with N resamples (at least 20; 200 is typical): each row's FID difference from the first row with its 95 %% interval, and how often each row's FID is lower than each other's (default: none)")
    int bootstrap;
    @Option(names = "--plot", description = "also draw the rows to this PNG: MAC speedup against FID (where measured) and against PSNR, a point per row")
    Path plot;

    @Override
    public Integer call() {
        if (plot != null) {
            if (!plot.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) throw new IllegalArgumentException("--plot: " + plot + " (a .png file)");
            org.deltadit.weights.AtomicFiles.checkWritable(plot, "--plot");
        }
        Comparison.Settings s = new Comparison.Settings(sampler, steps, cfg, count, batch, seed, prompts == null ? null : org.deltadit.pipeline.Captions.readPromptFile(prompts), clipSample,
                org.deltadit.sampler.Thresholding.parse(thresholding));
        Comparison.Metrics m = Comparison.Metrics.parse(metrics, fidWeights, fidStats, clipModel, prompts != null);
        Path modelPath = model != null ? model : DemoModel.path();
        try (Pipeline p = Pipeline.open(load.spec(modelPath, engine).build())) {
            ModelConfig c = p.config();
            Comparison.checkModel(p, s);
            List<CompareRow> list = new ArrayList<>(CompareRow.parse(rows, steps, c, cfg > 1 ? 2 : 1));
            if (policyFiles != null) for (Path f : policyFiles) list.add(CompareRow.policyFile(f, steps, c, cfg));
            Comparison.checkRows(p, list, s, m);
            Path evalDir = Comparison.evaluationFolder(modelPath, classifier, c, System.err);
            Comparison.Networks nets = Comparison.networks(evalDir, m, p.backend());
            Comparison.References refs = Comparison.references(evalDir, nets);
            if (bootstrap != 0) FidBootstrap.check(bootstrap, refs.cnn()); // before any image is made
            Tensor reference = referenceModel == null ? null : referenceLatents(p, list.get(0), s);
            System.err.println("bench: warming up (one image of the first row, untimed) …");
            Comparison.warmUp(p, list.get(0), s); // so the first row is not charged for the JIT
            RowStats[] stats = Comparison.measure(p, list, nets, s, 0, count,
                    (st, k) -> System.err.printf(Locale.ROOT, "bench: %-28s %.3f s/image%n", list.get(k).label(), st.secondsPerImage()), reference);
            FidBootstrap boot = bootstrap == 0 ? null : FidBootstrap.of(stats, refs.cnn(), bootstrap, seed);
            Comparison.print(System.out, list, stats, refs, s, c.archName(), json,
                    referenceModel == null ? null : list.get(0).label() + " on " + referenceModel, boot);
            if (plot != null) {
                drawPlot(list, stats, refs, c.archName());
                System.err.println("bench: drew " + plot);
            }
        }
        return 0;
    }

    /** The first row's latents on --reference-model, which must make images of this model's shape and classes. */
    private Tensor referenceLatents(Pipeline p, CompareRow full, Comparison.Settings s) {
        ModelConfig c = p.config();
        try (Pipeline r = Pipeline.open(load.spec(referenceModel, engine).build())) {
            ModelConfig rc = r.config();
            if (rc.inputSize() != c.inputSize() || rc.inChannels() != c.inChannels() || r.numClasses() != p.numClasses()) {
                throw new IllegalArgumentException("--reference-model: " + referenceModel + " makes " + rc.inChannels() + "×" + rc.inputSize() + "² latents of " + r.numClasses()
                        + " classes, the model " + c.inChannels() + "×" + c.inputSize() + "² of " + p.numClasses());
            }
            System.err.println("bench: reference images on " + referenceModel + " (" + full.label() + ") …");
            return Comparison.latents(r, full, s, 0, s.count());
        }
    }

    /** Speedup against FID (the digit CNN's, else Inception's; left out where neither was measured) and against PSNR, side by side. */
    private void drawPlot(List<CompareRow> list, RowStats[] stats, Comparison.References refs, String arch) {
        String what = String.format(Locale.ROOT, "MAC speedup (×); %s %d steps, cfg %.1f, n = %d per row", sampler, steps, cfg, count);
        org.knowm.xchart.XYChart fid = chart("FID (lower is better)", what), psnr = chart("PSNR against full compute (dB)", what);
        boolean anyFid = false;
        for (int k = 0; k < list.size(); k++) {
            RowStats st = stats[k];
            Double f = st.fid(refs.cnn());
            if (f == null) f = st.fidInception(refs.inception());
            if (f != null) {
                style(fid, fid.addSeries(shortLabel(list.get(k).label()), new double[] {st.speedup()}, new double[] {f}), k);
                anyFid = true;
            }
            if (k > 0 && !Double.isNaN(st.psnr())) style(psnr, psnr.addSeries(shortLabel(list.get(k).label()), new double[] {st.speedup()}, new double[] {st.psnr()}), k);
        }
        java.util.List<java.awt.image.BufferedImage> panels = new java.util.ArrayList<>();
        if (anyFid) panels.add(org.knowm.xchart.BitmapEncoder.getBufferedImage(fid));
        if (list.size() > 1) panels.add(org.knowm.xchart.BitmapEncoder.getBufferedImage(psnr));
        if (panels.isEmpty()) throw new IllegalStateException("--plot: nothing to draw (one row and no FID)");
        java.awt.image.BufferedImage all = new java.awt.image.BufferedImage(panels.stream().mapToInt(java.awt.image.BufferedImage::getWidth).sum(), 600, java.awt.image.BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = all.createGraphics();
        int x = 0;
        for (java.awt.image.BufferedImage p : panels) {
            g.drawImage(p, x, 0, null);
            x += p.getWidth();
        }
        g.dispose();
        org.deltadit.weights.AtomicFiles.write(plot, out -> javax.imageio.ImageIO.write(all, "png", out));
    }

    /** Row k's colour and marker, the same in both panels (the PSNR panel has no full-compute row to take the first). */
    private static void style(org.knowm.xchart.XYChart c, org.knowm.xchart.XYSeries series, int k) {
        java.awt.Color[] colors = c.getStyler().getSeriesColors();
        org.knowm.xchart.style.markers.Marker[] markers = c.getStyler().getSeriesMarkers();
        series.setMarkerColor(colors[k % colors.length]);
        series.setMarker(markers[k % markers.length]);
    }

    /** A row's label short enough for a legend: a policy file's name without its description, at most 36 characters. */
    static String shortLabel(String label) {
        String l = label.startsWith("policy ") && label.contains(" (") ? label.substring(0, label.indexOf(" (")) : label;
        return l.length() <= 36 ? l : l.substring(0, 35) + "…";
    }

    private static org.knowm.xchart.XYChart chart(String title, String xTitle) {
        System.setProperty("java.awt.headless", "true");
        org.knowm.xchart.XYChart c = new org.knowm.xchart.XYChartBuilder().width(800).height(600).title(title).xAxisTitle(xTitle).yAxisTitle(title).build();
        c.getStyler().setDefaultSeriesRenderStyle(org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Scatter);
        c.getStyler().setMarkerSize(10);
        c.getStyler().setXAxisDecimalPattern("0.00");
        c.getStyler().setYAxisDecimalPattern("0.0");
        c.getStyler().setChartTitleFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.BOLD, 13));
        return c;
    }

    /** Classes 0, 1, …, classes − 1, 0, … for {@code count} images: every row and analysis sees the same. */
    static List<Integer> classesInTurn(int count, int classes) {
        return IntStream.range(0, count).map(i -> i % classes).boxed().toList();
    }
}
