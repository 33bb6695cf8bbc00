package org.deltadit.spark;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deltadit.eval.CompareRow;
import org.deltadit.eval.Comparison;
import org.deltadit.eval.FidBootstrap;
import org.deltadit.eval.RowStats;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.weights.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code dit-spark compare}: the table of {@code dit bench compare} on a cluster. Each part runs every row
 * on its images (the full row first, so PSNR/SSIM compare images made in the same task) and returns sums
 * — feature moments, correct labels, PSNR, SSIM, MACs, seconds — that treeAggregate reduces; FID comes
 * from the reduced moments. For the same seeds and rows it prints the table of the single-machine command
 * (latency aside: there it is sampling seconds per image summed over the tasks).
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Compare caching configurations on a Spark cluster: MACs, speedup, latency, FID, accuracy, PSNR/SSIM.")
final class CompareCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Option(names = "--classifier", description = "evaluation network and FID statistics folder: classifier.safetensors + fid_stats.safetensors, for a 1×32×32 model (default: the model's folder, where the columns are left out if it has none; a folder named here that lacks them is refused)")
    Path classifier;
    @Option(names = "--rows", defaultValue = CompareRow.DEFAULT_ROWS, description = "rows, as dit bench compare (default: ${DEFAULT-VALUE})")
    String rows;
    @Option(names = "--sampler", defaultValue = "dpm-solver++", description = "(default: ${DEFAULT-VALUE})")
    String sampler;
    @Option(names = "--steps", defaultValue = "20", description = "steps of the full run (default: ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--cfg", defaultValue = "4.0", description = "guidance scale (default: ${DEFAULT-VALUE})")
    double cfg;
    @Option(names = "--clip-sample", description = "clamp each predicted x0 to [-R, R] (ddpm, ddim, dpm-solver++; pixel-space models; default: none)")
    Double clipSample;
    @Option(names = "--dynamic-thresholding", paramLabel = "RATIO[,MAX]", description = "threshold each predicted x0 per image (as dit bench compare; not with --clip-sample; default: none)")
    String thresholding;
    @Option(names = "--count", defaultValue = "100", description = "images per row, classes in turn (default: ${DEFAULT-VALUE})")
    int count;
    @Option(names = "--batch", defaultValue = "50", description = "images per model batch within a task (default: ${DEFAULT-VALUE})")
    int batch;
    @Option(names = "--seed", defaultValue = "0")
    long seed;
    @Option(names = "--cache-config", description = "a policy file as one more row; repeatable")
    List<Path> policyFiles;
    @Option(names = "--metrics", description = "metrics on the 8-bit images: fid, is (Inception-v3), clip (CLIP score with --prompts) (as dit bench compare)")
    String metrics;
    @Option(names = "--fid-weights", description = "the FID Inception-v3 weights (pt_inception-2015-12-05-6726825d.pth), on a path every executor sees")
    Path fidWeights;
    @Option(names = "--clip-model", description = "a CLIP ViT-L/14 folder (config.json, weights, vocab.json, merges.txt) for --metrics clip")
    Path clipModel;
    @Option(names = "--prompts", description = "text-to-image models: a UTF-8 file of prompts, one per line; image i takes prompt i (at least --count of them)")
    Path prompts;
    @Option(names = "--fid-stats", description = "reference statistics (.npz with mu, sigma) for --metrics fid")
    Path fidStats;
    @Option(names = "--bootstrap", paramLabel = "N", defaultValue = "0", description = "also a paired bootstrap of the digit FID with N resamples, as dit bench compare (default: none)")
    int bootstrap;
    @Mixin JobOptions job;

    /** What every task needs, serialised into it; {@code perImage}: ship each image's CNN features back (only the bootstrap reads them). */
    record Task(ModelRef model, List<CompareRow> rows, String classifier, Comparison.Metrics metrics, Comparison.Settings settings, boolean perImage) implements java.io.Serializable {
        RowStats[] run(Work.Part part) {
            Pipeline p = Pipelines.get(model);
            Comparison.Networks nets = Pipelines.cached("networks " + classifier + " " + metrics + " " + model.device(),
                    () -> Comparison.networks(classifier == null ? null : Path.of(classifier), metrics, p.backend())); // once per executor JVM
            Pipelines.warmOnce("compare " + model, () -> Comparison.warmUp(p, rows.get(0), settings)); // untimed, once per executor JVM
            RowStats[] out = Comparison.measure(p, rows, nets, settings, part.from(), part.to(), null);
            if (!perImage) for (RowStats r : out) r.withoutImages();
            return out;
        }
    }

    @Override
    public Integer call() {
        Comparison.Settings s = new Comparison.Settings(sampler, steps, cfg, count, batch, seed, prompts == null ? null : org.deltadit.pipeline.Captions.readPromptFile(prompts), clipSample,
                org.deltadit.sampler.Thresholding.parse(thresholding));
        Comparison.Metrics m = Comparison.Metrics.parse(metrics, fidWeights, fidStats, clipModel, prompts != null);
        ModelRef ref = modelOptions.ref(job);
        List<CompareRow> list;
        Path evalDir;
        ModelConfig c;
        RowStats[] zero;
        Comparison.References refs;
        try (Pipeline p = Pipeline.open(ref.spec())) { // rows, policy files and the model checked on the driver, before any task
            c = p.config();
            Comparison.checkModel(p, s);
            list = new ArrayList<>(CompareRow.parse(rows, steps, c, cfg > 1 ? 2 : 1));
            if (policyFiles != null) for (Path f : policyFiles) list.add(CompareRow.policyFile(f, steps, c, cfg));
            Comparison.checkRows(p, list, s, m);
            evalDir = Comparison.evaluationFolder(Path.of(ref.model()), classifier, c, System.err);
            Comparison.Networks nets = Comparison.networks(evalDir, m, p.backend()); // the networks and statistics checked here too
            refs = Comparison.references(evalDir, nets);
            if (bootstrap != 0) FidBootstrap.check(bootstrap, refs.cnn()); // before any task
            zero = new RowStats[list.size()];
            for (int k = 0; k < zero.length; k++) zero[k] = Comparison.empty(nets, s);
        }
        Task task = new Task(ref, List.copyOf(list), evalDir == null ? null : evalDir.toAbsolutePath().toString(), m, s, bootstrap != 0);
        try (JobOptions.Session session = job.session("dit-spark compare")) {
            SparkSession spark = session.spark();
            List<Work.Part> parts = job.parts(new Work(null, null, count), spark);
            System.err.printf(Locale.ROOT, "dit-spark: %d rows × %d images of %s in %d parts on %s%n", list.size(), count, c.archName(), parts.size(), spark.sparkContext().master());
            PartProgress progress = new PartProgress(parts, System.err);
            RowStats[] total = progress.during(spark, () -> JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(parts, parts.size()).map(task::run)
                    .treeAggregate(zero, CompareCommand::merge, CompareCommand::merge));
            System.err.printf(Locale.ROOT, "dit-spark: %d rows × %d images in %.1f s%n", list.size(), count, progress.seconds());
            FidBootstrap boot = bootstrap == 0 ? null : FidBootstrap.of(total, refs.cnn(), bootstrap, seed); // the reduced rows hold every image's features
            Comparison.print(System.out, list, total, refs, s, c.archName(), job.json, null, boot);
        }
        return 0;
    }

    private static RowStats[] merge(RowStats[] a, RowStats[] b) {
        for (int k = 0; k < a.length; k++) a[k].merge(b[k]);
        return a;
    }
}
