package org.deltadit.spark;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.TaskContext;
import org.deltadit.cache.CacheSpec;
import org.deltadit.pipeline.GenerationRequest;
import org.deltadit.pipeline.GenerationResult;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.weights.AtomicFiles;

/**
 * A generate job as its executors see it (serialised into every task): the model, the images and the
 * request's settings. {@link #run} makes one part's images; each PNG is written under a temporary name
 * and renamed, so a failed, retried or speculative attempt never leaves a partial or duplicate file (a
 * second attempt renames identical bytes over the first's).
 */
record GenerateJob(ModelRef model, Work work, Settings settings, String out, boolean keepPng, boolean failOnce) implements Serializable {

    /** The request fields every part shares (the flags of dit generate). */
    record Settings(long seed, Integer steps, String sampler, String spacing, Double cfg, Integer batch, Integer guideChannels, Double eta, Double clipSample,
                    org.deltadit.sampler.Thresholding thresholding, String negativePrompt, CacheSpec cache, boolean cacheBf16) implements Serializable {}

    /** One made image: its row, and the PNG when the job keeps them (a Parquet table). */
    record Made(int row, long seed, Integer label, String prompt, String policy, byte[] png, long macs, double seconds) implements Serializable {}

    static final String FILE = "%05d.png";

    /** The request for images [from, to): their own classes or prompts, the noise of images from… of the whole run. */
    GenerationRequest request(int from, int to) {
        Settings s = settings;
        GenerationRequest.Builder b = GenerationRequest.builder().count(to - from).firstImage(from).seed(s.seed()).steps(s.steps()).sampler(s.sampler())
                .spacing(s.spacing()).cfg(s.cfg()).batch(s.batch()).guideChannels(s.guideChannels()).eta(s.eta()).clipSample(s.clipSample()).thresholding(s.thresholding()).cache(s.cache()).cacheBf16(s.cacheBf16());
        if (work.classes() != null) b.classes(IntStream.range(from, to).mapToObj(work::classOf).toList());
        if (work.prompts() != null) b.prompts(IntStream.range(from, to).mapToObj(work::promptOf).toList()).negativePrompt(s.negativePrompt());
        return b.build();
    }

    /** Makes the images of one part (in a task). */
    Iterator<Made> run(Work.Part part) {
        Pipeline p = Pipelines.get(model);
        GenerationResult g = p.generate(request(part.from(), part.to()), null);
        List<Made> made = new ArrayList<>();
        String policy = g.plan().policy().describe();
        for (int k = 0; k < part.size(); k++) {
            int row = part.from() + k;
            byte[] png = g.images().get(k).png();
            if (out != null) {
                Path target = Path.of(out).resolve(String.format(FILE, row));
                AtomicFiles.write(target, o -> o.write(png));
                if (failOnce && k == 0) failFirstAttempt(target);
            }
            made.add(new Made(row, settings.seed(), g.labels() == null ? null : g.labels()[k], work.promptOf(row), policy, keepPng ? png : null,
                    g.macs() / part.size(), g.seconds() / part.size()));
        }
        return made.iterator();
    }

    /**
     * Test hook (--fail-once): the first attempt of partition 0 dies after its first image, leaving the
     * temporary file a killed writer would leave; Spark retries the task (local[N,F] with F ≥ 2, or
     * spark.task.maxFailures on a cluster).
     */
    private static void failFirstAttempt(Path written) {
        TaskContext tc = TaskContext.get();
        if (tc == null || tc.partitionId() != 0 || tc.attemptNumber() != 0) return;
        try {
            Files.writeString(written.resolveSibling("." + written.getFileName() + ".killed.tmp"), "half a PNG");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("dit-spark: --fail-once: the first attempt of partition 0 fails on purpose");
    }

    /** Removes what failed attempts left (temporary files start with '.' and end in .tmp); returns how many. */
    static int removeLeftovers(Path out) {
        try (var files = Files.list(out)) {
            int n = 0;
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith(".") && f.getFileName().toString().endsWith(".tmp")).toList()) {
                Files.deleteIfExists(f);
                n++;
            }
            return n;
        } catch (IOException e) {
            throw new UncheckedIOException("--out: " + out + ": " + e.getMessage(), e);
        }
    }
}
