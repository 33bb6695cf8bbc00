package org.deltadit.eval;

import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ObjIntConsumer;
import java.util.stream.IntStream;
import org.deltadit.cache.CacheSpec;
import org.deltadit.cache.Plan;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;
import org.deltadit.pipeline.GenerationRequest;
import org.deltadit.pipeline.GenerationResult;
import org.deltadit.pipeline.Image;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.pipeline.PlanJson;
import org.deltadit.weights.ModelConfig;

/**
 * The comparison table of {@code dit bench compare} (and of the cluster's {@code compare} job): every
 * row generates the same images — image i has class i mod classes and the noise (seed, i) — and is
 * measured by MACs, latency, FID and accuracy by the evaluation network, and PSNR/SSIM against the full
 * row's image from the same noise. {@link #measure} measures a range of images for every row and returns
 * sums that merge, so a run split into parts prints the table of the whole.
 */
public final class Comparison {
    private Comparison() {}

    /**
     * The run every row shares; {@code prompts} (text-to-image models: image i takes prompt i; at least count of them) or null (classes in turn);
     * {@code clipSample} the x0 clamp, {@code thresholding} its dynamic thresholding (null: none; see {@link GenerationRequest}).
     */
    public record Settings(String sampler, int steps, double cfg, int count, int batch, long seed, List<String> prompts, Double clipSample,
                           org.deltadit.sampler.Thresholding thresholding) implements Serializable {
        public Settings {
            if (clipSample != null && thresholding != null) throw new IllegalArgumentException("--dynamic-thresholding and --clip-sample exclude each other (thresholding with max 1 is the clamp to ±1)");
            if (prompts != null && prompts.size() < count) {
                throw new IllegalArgumentException("--prompts: " + prompts.size() + " prompts for " + count + " images per row (image i takes prompt i: give at least --count)");
            }
            prompts = prompts == null ? null : List.copyOf(prompts);
            if (count < 1) throw new IllegalArgumentException("--count: " + count + " (must be at least 1)");
            if (batch < 1) throw new IllegalArgumentException("--batch: " + batch + " (must be at least 1)");
            if (steps < 2) throw new IllegalArgumentException("--steps: " + steps + " (at least 2)");
            if (!(cfg >= 0 && cfg <= 100)) throw new IllegalArgumentException("--cfg: " + cfg + " (0..100)");
        }
    }

    /**
     * The Inception metrics a run asked for ({@code --metrics fid,is}), with the weights and reference
     * statistics files as paths (strings: a cluster ships this to its executors). FID needs both files,
     * IS the weights only.
     */
    public record Metrics(boolean fid, boolean is, boolean clip, String weights, String stats, String clipModel) implements Serializable {
        public static final Metrics NONE = new Metrics(false, false, false, null, null, null);

        /** From the flags; a missing file or an unknown name is one clear message naming its flag. */
        public static Metrics parse(String list, Path weights, Path stats, Path clipModel, boolean prompts) {
            boolean fid = false, is = false, clip = false;
            if (list != null) {
                for (String raw : list.split(",")) {
                    switch (raw.trim().toLowerCase(java.util.Locale.ROOT)) {
                        case "fid" -> fid = true;
                        case "is" -> is = true;
                        case "clip" -> clip = true;
                        default -> throw new IllegalArgumentException("--metrics: unknown metric '" + raw.trim() + "' (fid, is, clip)");
                    }
                }
            }
            if ((fid || is) && weights == null) {
                throw new IllegalArgumentException("--metrics " + list + ": needs --fid-weights FILE (the FID Inception-v3, pt_inception-2015-12-05-6726825d.pth)");
            }
            if (fid && stats == null) throw new IllegalArgumentException("--metrics " + list + ": needs --fid-stats FILE (reference statistics .npz with mu and sigma)");
            if (!fid && !is && (weights != null || stats != null)) throw new IllegalArgumentException("--fid-weights/--fid-stats: give --metrics fid and/or is");
            if (clip && clipModel == null) throw new IllegalArgumentException("--metrics " + list + ": needs --clip-model DIR (a CLIP ViT-L/14 folder as Hugging Face saves it, e.g. openai/clip-vit-large-patch14)");
            if (clip && !prompts) throw new IllegalArgumentException("--metrics " + list + ": the CLIP score compares images with their prompts: give --prompts FILE (a text-to-image model)");
            if (!clip && clipModel != null) throw new IllegalArgumentException("--clip-model: only with --metrics clip");
            if (clipModel != null && !Files.isDirectory(clipModel)) throw new IllegalArgumentException("--clip-model: " + clipModel + ": no such folder");
            if (!fid && stats != null) throw new IllegalArgumentException("--fid-stats: only with --metrics fid");
            if (weights != null && !Files.isRegularFile(weights)) throw new IllegalArgumentException("--fid-weights: " + weights + ": no such file");
            if (stats != null && !Files.isRegularFile(stats)) throw new IllegalArgumentException("--fid-stats: " + stats + ": no such file");
            return new Metrics(fid, is, clip, abs(weights), abs(stats), abs(clipModel));
        }

        private static String abs(Path p) { return p == null ? null : p.toAbsolutePath().toString(); }

        /** Whether the images must be decoded to 8 bits (every metric here reads them). */
        public boolean any() { return fid || is || clip; }

        /** The Inception network (null without FID or IS); a file of another network is a CheckpointException. */
        public InceptionV3 network(Backend be) { return fid || is ? InceptionV3.load(Path.of(weights), be) : null; }

        /** The CLIP scorer (null without the CLIP score). */
        public ClipScorer clipScorer(Backend be) { return clip ? ClipScorer.open(Path.of(clipModel), be) : null; }

        /** The reference statistics, checked against the network's feature width (null without FID). */
        public Fid.Stats reference(InceptionV3 net) {
            if (!fid) return null;
            Fid.Stats r = Npz.readStats(Path.of(stats));
            if (r.mu().length != net.featureWidth()) {
                throw new IllegalArgumentException("--fid-stats: " + stats + " holds " + r.mu().length + "-wide statistics; the network's features are " + net.featureWidth() + " wide");
            }
            return r;
        }
    }

    /** The networks that measure every row: the digit CNN (may be null) and the Inception-v3 (may be null). */
    public record Networks(DigitClassifier cnn, InceptionV3 inception, ClipScorer clip, Metrics metrics) {}

    /** What each FID is measured against (either may be null). */
    public record References(Fid.Stats cnn, Fid.Stats inception) {}

    /**
     * The folder with an evaluation network for digits (classifier.safetensors + fid_stats.safetensors), or null (said on
     * {@code err}) where the model's own folder has none. A folder named by {@code --classifier} that cannot be used is
     * refused: the user asked for its columns.
     */
    public static Path evaluationFolder(Path model, Path classifier, ModelConfig c, PrintStream err) {
        Path dir = classifier != null ? classifier : (Files.isDirectory(model) ? model : model.toAbsolutePath().getParent());
        if (Files.exists(dir.resolve("classifier.safetensors")) && Files.exists(dir.resolve("fid_stats.safetensors")) && c.inChannels() == 1 && c.inputSize() == 32) return dir;
        if (classifier != null) {
            throw new IllegalArgumentException("--classifier: " + classifier + ": no classifier.safetensors and fid_stats.safetensors there, or " + c.archName() + " does not make 1×32×32 digits");
        }
        err.println("bench: no classifier for this model in " + dir + " (classifier.safetensors + fid_stats.safetensors for 1×32×32 digits): FID and accuracy are left out");
        return null;
    }

    /** Checks the run fits the model: prompts for a text-to-image model, classes (none given) for a class-conditional one. */
    public static void checkModel(Pipeline p, Settings s) {
        if (p.textConditioned() && s.prompts() == null) throw new IllegalArgumentException("--prompts: " + p.config().archName() + " is a text-to-image model: give its prompts (a file, one per line)");
        if (!p.textConditioned() && s.prompts() != null) throw new IllegalArgumentException("--prompts: " + p.config().archName() + " is class-conditional; its rows take classes in turn, not prompts");
    }

    /**
     * Every row's request for one image, checked against the model (sampler, steps, clamp, policy, and a VAE where
     * {@code m} reads decoded images), before any work is handed out.
     */
    public static void checkRows(Pipeline p, List<CompareRow> rows, Settings s, Metrics m) {
        for (CompareRow r : rows) p.validate(request(r, s, 0, 1, p.numClasses(), m.any()));
    }

    /** The latents of images [from, to) of {@code row} on {@code p}: the reference another model's rows are compared with. */
    public static Tensor latents(Pipeline p, CompareRow row, Settings s, int from, int to) {
        return p.generate(request(row, s, from, to, p.numClasses(), false), null).latents();
    }

    /** One untimed image of the first row: the JIT warms up before any row is timed. */
    public static void warmUp(Pipeline p, CompareRow first, Settings s) {
        p.generate(request(first, s, 0, 1, p.numClasses(), false), null);
    }

    /**
     * Runs images [from, to) of every row and measures them; element k of the result is row k's sums.
     * The first row must be the full one: the others are compared with its images. {@code done} (may be
     * null) hears of each row as it ends.
     */
    public static RowStats[] measure(Pipeline p, List<CompareRow> rows, Networks nets, Settings s, int from, int to, ObjIntConsumer<RowStats> done) {
        return measure(p, rows, nets, s, from, to, done, null);
    }

    /**
     * As above, with PSNR/SSIM taken against {@code reference} (the latents of images [from, to), e.g. full
     * compute of another model: F32 for an INT8 one) instead of the first row; null = the first row.
     */
    public static RowStats[] measure(Pipeline p, List<CompareRow> rows, Networks nets, Settings s, int from, int to, ObjIntConsumer<RowStats> done, Tensor reference) {
        ModelConfig c = p.config();
        int n = to - from, side = c.inputSize();
        DigitClassifier net = nets.cnn();
        InceptionV3 inception = nets.inception();
        RowStats[] out = new RowStats[rows.size()];
        for (int k = 0; k < rows.size(); k++) {
            GenerationResult g = p.generate(request(rows.get(k), s, from, to, p.numClasses(), nets.metrics().any()), null);
            Tensor images = g.latents();
            if (reference == null) reference = images;
            RowStats st = out[k] = empty(nets, s);
            if (inception != null) inceptionMetrics(inception, g.images(), from, st);
            if (nets.clip() != null) clipScores(nets.clip(), g.images(), s, from, st);
            st.count = n;
            st.macs = g.macs();
            st.uncachedMacs = Plan.uncachedMacs(c, s.steps(), n, g.cfg() > 1 ? 2 : 1); // T = --steps, every block
            st.seconds = g.seconds();
            if (net != null) {
                Tensor feats = net.features(images);
                int[] pred = net.classifyFeatures(feats);
                for (int i = 0; i < n; i++) {
                    float[] f = feats.select(0, i).toFloatArray();
                    st.features.add(f);
                    st.cnnByImage.put(from + i, f);
                    if (pred[i] == g.labels()[i]) st.correct++;
                }
            }
            for (int i = 0; i < n; i++) {
                float[] a = reference.select(0, i).toFloatArray(), b = images.select(0, i).toFloatArray();
                st.quality.add(0, Math.min(ImageMetrics.psnr(a, b), 100));
                st.quality.add(1, side >= 11 ? ImageMetrics.ssim(a, b, c.inChannels(), side, side) : Double.NaN);
            }
            if (done != null) done.accept(st, k);
        }
        return out;
    }

    /** A row's sums before any image: the zero a cluster's reduction starts from. */
    public static RowStats empty(Networks nets, Settings s) {
        return new RowStats(nets.cnn() == null ? 0 : nets.cnn().featureWidth(), nets.metrics().fid() ? nets.inception().featureWidth() : 0,
                nets.metrics().is() ? new InceptionScore(s.count(), 10, nets.inception().classes()) : null, nets.metrics().clip());
    }

    /** The CLIP score of each image with its prompt, in batches of 16. */
    private static void clipScores(ClipScorer clip, List<Image> images, Settings s, int from, RowStats st) {
        for (int b = 0; b < images.size(); b += 16) {
            int e = Math.min(images.size(), b + 16);
            List<String> prompts = s.prompts().subList(from + b, from + e);
            for (double v : clip.scores(images.subList(b, e), prompts)) st.clip.add(0, v);
        }
    }

    /** Inception features (FID) and logits (IS) of 8-bit images, in batches of 16. */
    private static void inceptionMetrics(InceptionV3 net, List<Image> images, int from, RowStats st) {
        for (int b = 0; b < images.size(); b += 16) {
            InceptionV3.Output o = net.run(InceptionV3.fromImages(images.subList(b, Math.min(images.size(), b + 16))), false);
            for (int i = 0; i < o.pool().dim(0); i++) {
                if (st.inception != null) st.inception.add(o.pool().select(0, i).toFloatArray());
                if (st.is != null) st.is.add(from + b + i, o.logits().select(0, i).toFloatArray());
            }
        }
    }

    /** Images [from, to) of a row: class i mod classes, noise (seed, i), latents kept for the metrics, 8-bit images when Inception measures them. */
    static GenerationRequest request(CompareRow r, Settings s, int from, int to, int classes, boolean decode) {
        GenerationRequest.Builder b = GenerationRequest.builder().count(to - from).firstImage(from).batch(s.batch()).seed(s.seed()).steps(r.steps())
                .sampler(s.sampler()).cfg(s.cfg()).clipSample(s.clipSample()).thresholding(s.thresholding()).cache(new CacheSpec.Fixed(r.policy())).decode(decode).keepLatents(true);
        if (s.prompts() != null) return b.prompts(s.prompts().subList(from, to)).build();
        return b.classes(IntStream.range(from, to).map(i -> i % classes).boxed().toList()).build();
    }

    /** The table as Markdown (or JSON lines), rows in order, the first the reference; Inception columns when measured. */
    public static void print(PrintStream out, List<CompareRow> rows, RowStats[] stats, References refs, Settings s, String arch, boolean json) {
        print(out, rows, stats, refs, s, arch, json, null);
    }

    /** As above; {@code reference} names what PSNR/SSIM were measured against when it is not the first row (null: the first row). */
    public static void print(PrintStream out, List<CompareRow> rows, RowStats[] stats, References refs, Settings s, String arch, boolean json, String reference) {
        print(out, rows, stats, refs, s, arch, json, reference, null);
    }

    /**
     * As above, with a paired bootstrap of the FID ({@link FidBootstrap}; null: none): a table under the Markdown one,
     * or in each JSON line {@code fid_minus_first} (its 95 % interval) and {@code fid_lower_share} (against every row, null for itself).
     */
    public static void print(PrintStream out, List<CompareRow> rows, RowStats[] stats, References refs, Settings s, String arch, boolean json, String reference, FidBootstrap boot) {
        int refRow = reference == null ? 0 : -1;
        boolean fidI = stats[0].inception != null, isI = stats[0].is != null, clipI = stats[0].clip != null;
        List<String> lines = new ArrayList<>();
        for (int k = 0; k < rows.size(); k++) {
            CompareRow r = rows.get(k);
            RowStats st = stats[k];
            Double fid = st.fid(refs.cnn()), acc = st.accuracy(), fidInception = st.fidInception(refs.inception());
            double[] is = isI ? st.is.score() : null;
            if (json) {
                lines.add(String.format(Locale.ROOT, "{\"row\":\"%s\",\"method\":\"%s\",\"steps\":%d,\"macs\":%d,\"speedup\":%.4f,\"seconds_per_image\":%.4f,\"fid\":%s,\"accuracy\":%s,%s%s\"psnr\":%.3f,\"ssim\":%.4f,\"count\":%d%s}",
                        r.name(), r.label(), r.steps(), st.macsPerImage(), st.speedup(), st.secondsPerImage(), num(fid, "%.3f", "null"), num(acc, "%.4f", "null"),
                        fidI ? "\"fid_inception\":" + num(fidInception, "%.3f", "null") + "," : "",
                        (isI ? String.format(Locale.ROOT, "\"is\":%.4f,\"is_std\":%.4f,", is[0], is[1]) : "") + (clipI ? String.format(Locale.ROOT, "\"clip_score\":%.4f,", st.clipScore()) : ""),
                        st.psnr(), st.ssim(), st.count(), boot == null ? "" : bootstrapJson(boot, k, rows.size())));
            } else {
                lines.add(String.format(Locale.ROOT, "| %s | %s | %.2f× | %.3f | %s | %s |%s%s %s | %s |", r.label(), PlanJson.macs(st.macsPerImage(), ""), st.speedup(), st.secondsPerImage(),
                        num(fid, "%.2f", "–"), acc == null ? "–" : String.format(Locale.ROOT, "%.1f%%", 100 * acc),
                        fidI ? " " + num(fidInception, "%.2f", "–") + " |" : "",
                        (isI ? String.format(Locale.ROOT, " %.2f ± %.2f |", is[0], is[1]) : "") + (clipI ? String.format(Locale.ROOT, " %.2f |", st.clipScore()) : ""),
                        k == refRow ? "ref" : Double.isNaN(st.psnr()) ? "–" : String.format(Locale.ROOT, "%.2f", st.psnr()),
                        k == refRow ? "ref" : Double.isNaN(st.ssim()) ? "–" : String.format(Locale.ROOT, "%.4f", st.ssim())));
            }
        }
        if (!json) {
            out.printf(Locale.ROOT, "%s, %s %d steps, guidance %.1f%s, %d images per row (MACs per image)%s%n%n", arch, s.sampler(), s.steps(), s.cfg(),
                    (s.clipSample() == null ? "" : ", x0 clamped to ±" + s.clipSample())
                            + (s.thresholding() == null ? "" : ", x0 thresholded (ratio " + s.thresholding().ratio() + ", max " + s.thresholding().maxValue() + ")"), s.count(),
                    reference == null ? "" : "; PSNR/SSIM against " + reference);
            out.println("| Method | MACs | Speedup | Latency (s/image) | FID | Accuracy |" + (fidI ? " FID (Inception) |" : "") + (isI ? " IS |" : "") + (clipI ? " CLIP |" : "") + " PSNR | SSIM |");
            out.println("|---|---|---|---|---|---|" + (fidI ? "---|" : "") + (isI ? "---|" : "") + (clipI ? "---|" : "") + "---|---|");
        }
        for (String l : lines) out.println(l);
        if (boot != null && !json) boot.print(out, rows.stream().map(CompareRow::label).toList());
    }

    private static String bootstrapJson(FidBootstrap boot, int k, int rows) {
        double[] d = boot.differenceInterval(k, 0);
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, ",\"fid_minus_first\":[%.3f,%.3f],\"fid_lower_share\":[", d[0], d[1]));
        for (int o = 0; o < rows; o++) b.append(o == 0 ? "" : ",").append(o == k ? "null" : String.format(Locale.ROOT, "%.3f", boot.shareLower(k, o)));
        return b.append("],\"bootstrap\":").append(boot.resamples()).toString();
    }

    private static String num(Double v, String fmt, String none) { return v == null ? none : String.format(Locale.ROOT, fmt, v); }

    /** The networks: the digit CNN of a folder {@link #evaluationFolder} found (or none) and the Inception-v3 the metrics ask for (or none). */
    public static Networks networks(Path cnnFolder, Metrics m, Backend be) {
        return new Networks(cnnFolder == null ? null : DigitClassifier.load(cnnFolder.resolve("classifier.safetensors"), be), m.network(be), m.clipScorer(be), m);
    }

    /** The statistics each FID is measured against: the CNN folder's fid_stats.safetensors, the --fid-stats file (checked against the network). */
    public static References references(Path cnnFolder, Networks nets) {
        return new References(cnnFolder == null ? null : Fid.read(cnnFolder.resolve("fid_stats.safetensors")), nets.metrics().reference(nets.inception()));
    }
}
