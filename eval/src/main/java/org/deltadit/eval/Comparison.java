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

    /** The run every row shares. */
    public record Settings(String sampler, int steps, double cfg, int count, int batch, long seed) implements Serializable {
        public Settings {
            if (count < 1) throw new IllegalArgumentException("--count: " + count + " (must be at least 1)");
            if (batch < 1) throw new IllegalArgumentException("--batch: " + batch + " (must be at least 1)");
            if (steps < 2) throw new IllegalArgumentException("--steps: " + steps + " (at least 2)");
            if (!(cfg >= 0 && cfg <= 100)) throw new IllegalArgumentException("--cfg: " + cfg + " (0..100)");
        }
    }

    /** The folder with an evaluation network for digits (classifier.safetensors + fid_stats.safetensors), or null (said on {@code err}). */
    public static Path evaluationFolder(Path model, Path classifier, ModelConfig c, PrintStream err) {
        Path dir = classifier != null ? classifier : (Files.isDirectory(model) ? model : model.toAbsolutePath().getParent());
        if (Files.exists(dir.resolve("classifier.safetensors")) && Files.exists(dir.resolve("fid_stats.safetensors")) && c.inChannels() == 1 && c.inputSize() == 32) return dir;
        err.println("bench: no classifier for this model in " + dir + " (classifier.safetensors + fid_stats.safetensors for 1×32×32 digits): FID and accuracy are left out");
        return null;
    }

    /** Checks the model is class-conditional (the table's classes in turn). */
    public static void checkModel(Pipeline p) {
        if (p.textConditioned()) throw new IllegalArgumentException("--model: bench compare takes a class-conditional DiT; " + p.config().archName() + " takes prompts");
    }

    /** One untimed image of the first row: the JIT warms up before any row is timed. */
    public static void warmUp(Pipeline p, CompareRow first, Settings s) {
        p.generate(request(first, s, 0, 1, p.numClasses()), null);
    }

    /**
     * Runs images [from, to) of every row and measures them; element k of the result is row k's sums.
     * The first row must be the full one: the others are compared with its images. {@code done} (may be
     * null) hears of each row as it ends.
     */
    public static RowStats[] measure(Pipeline p, List<CompareRow> rows, DigitClassifier net, Settings s, int from, int to, ObjIntConsumer<RowStats> done) {
        ModelConfig c = p.config();
        int n = to - from, side = c.inputSize();
        RowStats[] out = new RowStats[rows.size()];
        Tensor reference = null;
        for (int k = 0; k < rows.size(); k++) {
            GenerationResult g = p.generate(request(rows.get(k), s, from, to, p.numClasses()), null);
            Tensor images = g.latents();
            if (reference == null) reference = images;
            RowStats st = out[k] = new RowStats(net == null ? 0 : net.featureWidth());
            st.count = n;
            st.macs = g.macs();
            st.uncachedMacs = Plan.uncachedMacs(c, s.steps(), n, g.cfg() > 1 ? 2 : 1); // T = --steps, every block
            st.seconds = g.seconds();
            if (net != null) {
                Tensor feats = net.features(images);
                int[] pred = net.classify(images);
                for (int i = 0; i < n; i++) {
                    st.features.add(feats.select(0, i).toFloatArray());
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

    /** Images [from, to) of a row: class i mod classes, noise (seed, i), latents kept for the metrics. */
    static GenerationRequest request(CompareRow r, Settings s, int from, int to, int classes) {
        List<Integer> labels = IntStream.range(from, to).map(i -> i % classes).boxed().toList();
        return GenerationRequest.builder().classes(labels).count(to - from).firstImage(from).batch(s.batch()).seed(s.seed()).steps(r.steps())
                .sampler(s.sampler()).cfg(s.cfg()).cache(new CacheSpec.Fixed(r.policy())).decode(false).keepLatents(true).build();
    }

    /** The table as Markdown (or JSON lines), rows in order, the first the reference. */
    public static void print(PrintStream out, List<CompareRow> rows, RowStats[] stats, Fid.Stats real, Settings s, String arch, boolean json) {
        List<String> lines = new ArrayList<>();
        for (int k = 0; k < rows.size(); k++) {
            CompareRow r = rows.get(k);
            RowStats st = stats[k];
            Double fid = st.fid(real), acc = st.accuracy();
            if (json) {
                lines.add(String.format(Locale.ROOT, "{\"row\":\"%s\",\"method\":\"%s\",\"steps\":%d,\"macs\":%d,\"speedup\":%.4f,\"seconds_per_image\":%.4f,\"fid\":%s,\"accuracy\":%s,\"psnr\":%.3f,\"ssim\":%.4f,\"count\":%d}",
                        r.name(), r.label(), r.steps(), st.macsPerImage(), st.speedup(), st.secondsPerImage(),
                        fid == null ? "null" : String.format(Locale.ROOT, "%.3f", fid), acc == null ? "null" : String.format(Locale.ROOT, "%.4f", acc),
                        st.psnr(), st.ssim(), st.count()));
            } else {
                lines.add(String.format(Locale.ROOT, "| %s | %s | %.2f× | %.3f | %s | %s | %s | %s |", r.label(), PlanJson.macs(st.macsPerImage(), ""), st.speedup(), st.secondsPerImage(),
                        fid == null ? "–" : String.format(Locale.ROOT, "%.2f", fid), acc == null ? "–" : String.format(Locale.ROOT, "%.1f%%", 100 * acc),
                        k == 0 ? "ref" : Double.isNaN(st.psnr()) ? "–" : String.format(Locale.ROOT, "%.2f", st.psnr()),
                        k == 0 ? "ref" : Double.isNaN(st.ssim()) ? "–" : String.format(Locale.ROOT, "%.4f", st.ssim())));
            }
        }
        if (!json) {
            out.printf(Locale.ROOT, "%s, %s %d steps, guidance %.1f, %d images per row (MACs per image)%n%n", arch, s.sampler(), s.steps(), s.cfg(), s.count());
            out.println("| Method | MACs | Speedup | Latency (s/image) | FID | Accuracy | PSNR | SSIM |");
            out.println("|---|---|---|---|---|---|---|---|");
        }
        for (String l : lines) out.println(l);
    }

    /** Loads the evaluation network of a folder {@link #evaluationFolder} found (null stays null). */
    public static DigitClassifier network(Path folder, Backend be) { return folder == null ? null : DigitClassifier.load(folder.resolve("classifier.safetensors"), be); }

    /** The real digits' FID statistics of that folder (null stays null). */
    public static Fid.Stats realStats(Path folder) { return folder == null ? null : Fid.read(folder.resolve("fid_stats.safetensors")); }
}
