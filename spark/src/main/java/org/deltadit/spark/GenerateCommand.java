package org.deltadit.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.weights.AtomicFiles;
import org.deltadit.weights.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit-spark generate}: images for (class or prompt, seed) rows, split into parts, one task each. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate images on a Spark cluster: PNGs named by row in --out, and/or a Parquet table.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Option(names = "--class", description = "class labels: N, N,M or A-B (image i: the (i mod n)-th); default: drawn from the seed")
    String classes;
    @Option(names = "--per-class", description = "images per listed class (count = per-class × classes)")
    Integer perClass;
    @Option(names = "--prompts", description = "PixArt: a UTF-8 file, one prompt per line (image i: the (i mod n)-th)")
    Path prompts;
    @Option(names = "--negative-prompt", description = "PixArt (diffusers layout): the unconditional branch's caption")
    String negativePrompt;
    @Option(names = "--count", description = "images (default: per-class × classes, else one per prompt, else 1)")
    Integer count;
    @Mixin SamplingOptions sampling;
    @Mixin CacheFlags cache;
    @Option(names = "--out", description = "folder for the PNGs, 00000.png … by row (default: none with --parquet, else samples/)")
    Path out;
    @Option(names = "--parquet", description = "also write a Parquet table (row, seed, class, prompt, policy, png, macs, seconds) to this new folder")
    Path parquet;
    @Option(names = "--fail-once", hidden = true, description = "test hook: the first attempt of part 0 fails after its first image")
    boolean failOnce;
    @Mixin JobOptions job;

    @Override
    public Integer call() {
        Work work = work();
        Path folder = out != null ? out : parquet == null ? Path.of("samples") : null;
        if (folder != null) {
            if (Files.exists(folder) && !Files.isDirectory(folder)) throw new IllegalArgumentException("--out: " + folder + " is a file, not a folder");
            AtomicFiles.checkWritable(folder.resolve(String.format(GenerateJob.FILE, 0)), "--out");
        }
        if (parquet != null) {
            if (Files.exists(parquet)) throw new IllegalArgumentException("--parquet: " + parquet + " exists (a job writes a new table)");
            AtomicFiles.checkWritable(parquet.resolve("part"), "--parquet");
        }
        ModelRef ref = modelOptions.ref(job);
        GenerateJob gj = new GenerateJob(ref, work, sampling.settings(cache.spec(), negativePrompt), folder == null ? null : folder.toAbsolutePath().toString(), parquet != null, failOnce);
        String arch;
        try (Pipeline p = Pipeline.open(ref.spec())) { // the whole request against the model, on the driver, before any task
            p.validate(gj.request(0, work.count()));
            arch = p.config().archName();
        }
        if (folder != null) try { Files.createDirectories(folder); } catch (java.io.IOException e) { throw new java.io.UncheckedIOException("--out: " + folder + ": " + e.getMessage(), e); }
        try (JobOptions.Session session = job.session("dit-spark generate")) {
            SparkSession spark = session.spark();
            List<Work.Part> parts = job.parts(work, spark);
            System.err.printf(Locale.ROOT, "dit-spark: %d images of %s in %d parts on %s%n", work.count(), arch, parts.size(), spark.sparkContext().master());
            PartProgress progress = new PartProgress(parts, System.err);
            double[] sums = progress.during(spark, () -> run(spark, parts, gj)); // {MACs, sampling seconds} over all images
            double seconds = progress.seconds();
            if (folder != null) GenerateJob.removeLeftovers(folder);
            String where = (folder != null ? folder + "/" : "") + (folder != null && parquet != null ? " and " : "") + (parquet != null ? parquet + " (Parquet)" : "");
            System.err.printf(Locale.ROOT, "dit-spark: %d images in %.1f s (%.2f images/s; %.2f s of sampling per image) → %s%n",
                    work.count(), seconds, work.count() / seconds, sums[1] / work.count(), where);
            if (job.json) {
                System.out.printf(Locale.ROOT, "{\"images\":%d,\"parts\":%d,\"master\":%s,\"seconds\":%.3f,\"images_per_second\":%.4f,\"sampling_seconds_per_image\":%.4f,\"macs\":%d,\"out\":%s,\"parquet\":%s}%n",
                        work.count(), parts.size(), Json.quote(spark.sparkContext().master()), seconds, work.count() / seconds, sums[1] / work.count(), (long) sums[0],
                        folder == null ? "null" : Json.quote(folder.toString()), parquet == null ? "null" : Json.quote(parquet.toString()));
            }
        }
        return 0;
    }

    /** Runs the tasks: a Parquet write when asked for (its commit keeps one attempt's rows per part), else a collect. */
    private double[] run(SparkSession spark, List<Work.Part> parts, GenerateJob gj) {
        JavaRDD<GenerateJob.Made> made = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(parts, parts.size()).flatMap(gj::run);
        if (parquet != null) {
            spark.createDataFrame(made.map(GenerateCommand::row), SCHEMA).write().parquet(parquet.toString());
            Row sums = spark.read().parquet(parquet.toString()).selectExpr("sum(macs)", "sum(seconds)").first();
            return new double[] {sums.getLong(0), sums.getDouble(1)};
        }
        List<double[]> rows = made.map(m -> new double[] {m.macs(), m.seconds()}).collect();
        return new double[] {rows.stream().mapToDouble(r -> r[0]).sum(), rows.stream().mapToDouble(r -> r[1]).sum()};
    }

    private Work work() {
        if (classes != null && prompts != null) throw new IllegalArgumentException("--class and --prompts exclude each other: class labels are for DiT, prompts for PixArt-α");
        if (perClass != null && classes == null) throw new IllegalArgumentException("--per-class: needs --class");
        if (perClass != null && perClass < 1) throw new IllegalArgumentException("--per-class: " + perClass + " (must be at least 1)");
        if (perClass != null && count != null) throw new IllegalArgumentException("--per-class and --count: give one (count = per-class × classes)");
        List<Integer> labels = classes == null ? null : Work.parseClasses(classes);
        List<String> texts = prompts == null ? null : org.deltadit.pipeline.Captions.readPromptFile(prompts);
        int n = count != null ? count : perClass != null ? perClass * labels.size() : labels != null ? labels.size() : texts != null ? texts.size() : 1;
        return new Work(labels, texts, n);
    }

    static final StructType SCHEMA = new StructType()
            .add("row", DataTypes.IntegerType, false).add("seed", DataTypes.LongType, false).add("class", DataTypes.IntegerType, true)
            .add("prompt", DataTypes.StringType, true).add("policy", DataTypes.StringType, false).add("png", DataTypes.BinaryType, false)
            .add("macs", DataTypes.LongType, false).add("seconds", DataTypes.DoubleType, false);

    private static Row row(GenerateJob.Made m) {
        return RowFactory.create(m.row(), m.seed(), m.label(), m.prompt(), m.policy(), m.png(), m.macs(), m.seconds());
    }
}
