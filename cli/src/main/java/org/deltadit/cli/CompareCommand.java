package org.deltadit.cli;

import org.deltadit.pipeline.PlanJson;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import org.deltadit.cache.CachePolicy;
import org.deltadit.cache.CacheSpec;
import org.deltadit.engine.Tensor;
import org.deltadit.eval.DigitClassifier;
import org.deltadit.eval.Fid;
import org.deltadit.eval.ImageMetrics;
import org.deltadit.pipeline.GenerationRequest;
import org.deltadit.pipeline.GenerationResult;
import org.deltadit.pipeline.ModelSpec;
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
    static final String ROWS = "full,t13,faster,shallow,middle,deep,delta-dit,reverse";

    @Option(names = "--model", description = "DiT checkpoint (default: the demo model, models/demo)")
    Path model;
    @Option(names = "--heads", description = "attention heads when the checkpoint does not say")
    Integer heads;
    @Option(names = "--classifier", description = "evaluation network and FID statistics folder (default: the model's folder)")
    Path classifier;
    @Option(names = "--rows", defaultValue = ROWS, description = "rows: full, t<N>, faster (I = ⌈0.75·depth⌉, 21 of 28), faster<I>, shallow, middle, deep, forecast-shallow|middle|deep, delta-dit, reverse (default: ${DEFAULT-VALUE})")
    String rows;
    @Option(names = "--sampler", defaultValue = "dpm-solver++", description = "(default: ${DEFAULT-VALUE})")
    String sampler;
    @Option(names = "--steps", defaultValue = "20", description = "steps of the full run (default: ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--cfg", defaultValue = "4.0", description = "guidance scale (default: ${DEFAULT-VALUE})")
    double cfg;
    @Option(names = "--count", defaultValue = "100", description = "images per row, classes in turn (default: ${DEFAULT-VALUE})")
    int count;
    @Option(names = "--batch", defaultValue = "50", description = "images per model batch (default: ${DEFAULT-VALUE})")
    int batch;
    @Option(names = "--seed", defaultValue = "0")
    long seed;
    @Mixin
    EngineOptions engine;
    @Option(names = "--json", description = "JSON lines (one per row) instead of the Markdown table")
    boolean json;
    @Option(names = "--cache-config", description = "a policy file (see dit generate --cache-config) as one more row; repeatable")
    List<Path> policyFiles;

    record Row(String name, String label, int steps, CachePolicy policy) {}

    record Result(Row row, long macs, double speedup, double secondsPerImage, Double fid, Double accuracy, double psnr, double ssim) {}

    @Override
    public Integer call() {
        if (count < 1) throw new IllegalArgumentException("--count: " + count + " (must be at least 1)");
        if (batch < 1) throw new IllegalArgumentException("--batch: " + batch + " (must be at least 1)");
        if (steps < 2) throw new IllegalArgumentException("--steps: " + steps + " (at least 2)");
        if (!(cfg >= 0 && cfg <= 100)) throw new IllegalArgumentException("--cfg: " + cfg + " (0..100)");
        Path modelPath = model != null ? model : DemoModel.path();
        try (Pipeline p = Pipeline.open(ModelSpec.builder().model(modelPath).heads(heads).device(engine.device).threads(engine.threads).build())) {
            ModelConfig c = p.config();
            if (p.textConditioned()) throw new IllegalArgumentException("--model: bench compare takes a class-conditional DiT; " + c.archName() + " takes prompts");
            List<Row> list = new ArrayList<>(parseRows(rows, steps, c.depth()));
            if (policyFiles != null) {
                for (Path f : policyFiles) {
                    if (!Files.isRegularFile(f)) throw new IllegalArgumentException("--cache-config: " + f + ": no such file");
                    CachePolicy policy = org.deltadit.pipeline.PolicyFile.read(f).resolve(steps, c, cfg > 1 ? 2 : 1);
                    list.add(new Row(f.getFileName().toString(), "policy " + f.getFileName() + " (" + policy.describe() + ")", steps, policy));
                }
            }
            Path evalDir = classifier != null ? classifier : (Files.isDirectory(modelPath) ? modelPath : modelPath.toAbsolutePath().getParent());
            DigitClassifier net = null;
            Fid.Stats real = null;
            if (Files.exists(evalDir.resolve("classifier.safetensors")) && Files.exists(evalDir.resolve("fid_stats.safetensors")) && c.inChannels() == 1 && c.inputSize() == 32) {
                net = DigitClassifier.load(evalDir.resolve("classifier.safetensors"), p.backend());
                real = Fid.read(evalDir.resolve("fid_stats.safetensors"));
            } else {
                System.err.println("bench: no classifier for this model in " + evalDir + " (classifier.safetensors + fid_stats.safetensors for 1×32×32 digits): FID and accuracy are left out");
            }
            List<Integer> classes = classesInTurn(count, p.numClasses());
            System.err.println("bench: warming up (one image of the first row, untimed) …");
            p.generate(request(classes.subList(0, 1), list.get(0), 1), null); // JIT warm-up, so the first row is not charged for it
            int side = c.inputSize();
            Tensor reference = null;
            List<Result> results = new ArrayList<>();
            for (Row r : list) {
                GenerationResult g = p.generate(request(classes, r, count), null);
                Tensor images = g.latents();
                if (reference == null) reference = images; // the first row is the uncached baseline
                Double fid = null, acc = null;
                if (net != null) {
                    Tensor feats = net.features(images);
                    float[][] f = new float[count][];
                    for (int i = 0; i < count; i++) f[i] = feats.select(0, i).toFloatArray();
                    fid = count >= 2 ? Fid.distance(Fid.stats(f), real) : null;
                    int[] pred = net.classify(images);
                    int ok = 0;
                    for (int i = 0; i < count; i++) if (pred[i] == g.labels()[i]) ok++;
                    acc = ok / (double) count;
                }
                double psnr = 0, ssim = 0;
                for (int i = 0; i < count; i++) {
                    float[] a = reference.select(0, i).toFloatArray(), b = images.select(0, i).toFloatArray();
                    psnr += Math.min(ImageMetrics.psnr(a, b), 100) / count;
                    ssim += (side >= 11 ? ImageMetrics.ssim(a, b, c.inChannels(), side, side) : Double.NaN) / count;
                }
                long fullMacs = org.deltadit.cache.Plan.uncachedMacs(c, steps, count, g.cfg() > 1 ? 2 : 1); // T = --steps, every block
                Result res = new Result(r, g.macs() / count, fullMacs / (double) g.macs(), g.seconds() / count, fid, acc, psnr, ssim);
                results.add(res);
                System.err.printf(Locale.ROOT, "bench: %-28s %.3f s/image%n", r.label(), res.secondsPerImage());
            }
            print(results, c);
        }
        return 0;
    }

    /** Classes 0, 1, …, classes − 1, 0, … for {@code count} images: every row and analysis sees the same. */
    static List<Integer> classesInTurn(int count, int classes) {
        return IntStream.range(0, count).map(i -> i % classes).boxed().toList();
    }

    /** One row's request: classes in turn, the run's seed (so every row has the same noise), latents kept for the metrics. */
    private GenerationRequest request(List<Integer> classes, Row r, int images) {
        return GenerationRequest.builder().classes(classes).count(images).batch(batch).seed(seed).steps(r.steps()).sampler(sampler).cfg(cfg)
                .cache(new CacheSpec.Fixed(r.policy())).decode(false).keepLatents(true).build();
    }

    private void print(List<Result> results, ModelConfig c) {
        if (json) {
            for (Result r : results) {
                System.out.printf(Locale.ROOT, "{\"row\":\"%s\",\"method\":\"%s\",\"steps\":%d,\"macs\":%d,\"speedup\":%.4f,\"seconds_per_image\":%.4f,\"fid\":%s,\"accuracy\":%s,\"psnr\":%.3f,\"ssim\":%.4f,\"count\":%d}%n",
                        r.row().name(), r.row().label(), r.row().steps(), r.macs(), r.speedup(), r.secondsPerImage(),
                        r.fid() == null ? "null" : String.format(Locale.ROOT, "%.3f", r.fid()), r.accuracy() == null ? "null" : String.format(Locale.ROOT, "%.4f", r.accuracy()),
                        r.psnr(), r.ssim(), count);
            }
            return;
        }
        System.out.printf(Locale.ROOT, "%s, %s %d steps, guidance %.1f, %d images per row (MACs per image)%n%n", c.archName(), sampler, steps, cfg, count);
        System.out.println("| Method | MACs | Speedup | Latency (s/image) | FID | Accuracy | PSNR | SSIM |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "| %s | %s | %.2f× | %.3f | %s | %s | %s | %s |%n", r.row().label(), PlanJson.macs(r.macs(), ""), r.speedup(), r.secondsPerImage(),
                    r.fid() == null ? "–" : String.format(Locale.ROOT, "%.2f", r.fid()), r.accuracy() == null ? "–" : String.format(Locale.ROOT, "%.1f%%", 100 * r.accuracy()),
                    metric(r, results, r.psnr(), "%.2f"), metric(r, results, r.ssim(), "%.4f"));
        }
    }

    private static String metric(Result r, List<Result> all, double v, String fmt) {
        return r == all.get(0) ? "ref" : Double.isNaN(v) ? "–" : String.format(Locale.ROOT, fmt, v);
    }

    static List<Row> parseRows(String spec, int steps, int depth) {
        Map<String, Row> out = new LinkedHashMap<>();
        int b = CachePolicy.DeltaDit.defaultB(steps), nc = CachePolicy.DeltaDit.defaultCachedBlocks(depth);
        for (String raw : spec.split(",")) {
            String n = raw.trim().toLowerCase(Locale.ROOT);
            Row r;
            if (n.equals("full")) r = new Row(n, "Full (T = " + steps + ")", steps, new CachePolicy.None());
            else if (n.matches("t\\d{1,4}")) {
                int t = Integer.parseInt(n.substring(1));
                if (t < 1 || t > 1000) throw new IllegalArgumentException("--rows: '" + raw.trim() + "': fewer steps T must be 1..1000");
                r = new Row(n, "T = " + t, t, new CachePolicy.None());
            }
            else if (n.matches("faster\\d*")) {
                int i = n.length() > 6 ? Integer.parseInt(n.substring(6)) : nc;
                r = new Row(n, "Faster Diffusion (I = " + i + ")", steps, new CachePolicy.FasterDiffusion(i, CachePolicy.DEFAULT_INTERVAL));
            }
            else if (n.equals("shallow") || n.equals("middle") || n.equals("deep")) {
                CachePolicy.DeltaCache dc = CacheSpec.deltaCache(n, depth);
                r = new Row(n, "Δ-Cache " + n + " [" + dc.from() + "," + dc.to() + ")", steps, dc);
            } else if (n.matches("forecast-(shallow|middle|deep)")) {
                CachePolicy.DeltaCache dc = CacheSpec.deltaCache(n.substring(9), depth);
                r = new Row(n, "Δ-Cache forecast " + n.substring(9) + " [" + dc.from() + "," + dc.to() + ")", steps,
                        new CachePolicy.Forecast(dc.from(), dc.to(), CachePolicy.DEFAULT_INTERVAL));
            } else if (n.equals("delta-dit")) r = new Row(n, "Δ-DiT (b = " + b + ", N_c = " + nc + ")", steps, new CachePolicy.DeltaDit(b, CachePolicy.DEFAULT_INTERVAL, nc, false));
            else if (n.equals("reverse")) r = new Row(n, "Δ-DiT reversed", steps, new CachePolicy.DeltaDit(b, CachePolicy.DEFAULT_INTERVAL, nc, true));
            else throw new IllegalArgumentException("--rows: unknown row '" + raw.trim() + "' (full, t<N>, faster, faster<I>, shallow, middle, deep, forecast-shallow|middle|deep, delta-dit, reverse)");
            r.policy().check(r.steps(), depth); // the row's parameters against the run
            out.put(n, r);
        }
        if (out.isEmpty()) throw new IllegalArgumentException("--rows: no rows");
        List<Row> list = new ArrayList<>(out.values());
        if (!list.get(0).name().equals("full")) list.add(0, new Row("full", "Full (T = " + steps + ")", steps, new CachePolicy.None()));
        return list;
    }
}
