package org.deltadit.cli;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.deltadit.dit.ModelLoader;
import org.deltadit.dit.DitModel;
import org.deltadit.dit.PixArtModel;
import org.deltadit.weights.PixArtConfig;
import org.deltadit.engine.Backend;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.sampler.Noise;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code dit bench}: block-stack timings, and the paper-style comparison of caching configurations. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {BenchCommand.Forward.class, CompareCommand.class},
        description = "Benchmarks: 'dit bench forward' times the DiT block stack; 'dit bench compare' prints the paper-style table.")
final class BenchCommand implements Callable<Integer> {
    @Override
    public Integer call() { return Usage.missingSubcommand(new picocli.CommandLine(this)); }

    /**
     * The DiT block stack (all blocks, no embedding or final layer) on random weights, timed as
     * ../shared/tools/pytorch-baseline.py dit times PyTorch: same shapes, float32 weights by default.
     */
    @Command(name = "forward", mixinStandardHelpOptions = true, description = "Time the block stack (and the full forward) of DiT or PixArt-α on random weights; prints peak memory.")
    static final class Forward implements Callable<Integer> {
        @Option(names = "--arch", defaultValue = "DiT-XL/2", description = "DiT-XL/2, …, or PixArt-XL/2 (256, 512, 1024 px) (default: ${DEFAULT-VALUE})")
        String arch;
        @Option(names = "--image-size", defaultValue = "256", description = "image size in pixels; latents are 1/8 (default: ${DEFAULT-VALUE})")
        int imageSize;
        @Option(names = "--batch", defaultValue = "2", description = "batch (2 = one image with guidance; default: ${DEFAULT-VALUE})")
        int batch;
        @Option(names = "--dtype", defaultValue = "F32", description = "weight dtype: F32, BF16, F16, or INT8 (the block linears weight-only INT8 as dit quantize writes them, the rest F32; default: ${DEFAULT-VALUE})")
        String dtype;
        @Option(names = "--seconds", defaultValue = "20", description = "time spent measuring after warm-up (default: ${DEFAULT-VALUE})")
        double seconds;
        @Option(names = "--history", description = "file to append this run's JSON line to, or 'none' (default: ~/.cache/dit/bench-history.jsonl)")
        String history;
        @picocli.CommandLine.Mixin
        EngineOptions engine;

        @Override
        public Integer call() {
            if (batch < 1) throw new IllegalArgumentException("--batch: " + batch + " (must be at least 1)");
            if (imageSize < 16 || imageSize % 8 != 0) throw new IllegalArgumentException("--image-size: " + imageSize + " (a multiple of 8, at least 16)");
            if (!(seconds > 0 && seconds <= 86400)) throw new IllegalArgumentException("--seconds: " + seconds + " (more than 0, at most a day)");
            if (history != null && !"none".equals(history) && java.nio.file.Files.isDirectory(java.nio.file.Path.of(history))) {
                throw new IllegalArgumentException("--history: " + history + " is a folder (give a file to append to, or 'none')");
            }
            DType dt;
            try {
                String d = dtype.toUpperCase(Locale.ROOT);
                dt = DType.valueOf(d.equals("INT8") ? "I8" : d);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--dtype: '" + dtype + "' (F32, BF16, F16 or INT8)");
            }
            var planned = org.deltadit.pipeline.Pipeline.config(org.deltadit.pipeline.ModelSpec.builder().randomWeights(true).arch(arch).imageSize(imageSize).build());
            org.deltadit.pipeline.MemoryEstimate.check(org.deltadit.pipeline.MemoryEstimate.activations(planned, batch), "batch", "a batch of " + batch + " at " + imageSize + " px");
            Backend be = engine.backend();
            System.err.println("bench: building random " + arch + " weights (" + dt + ") …");
            int side = imageSize / 8;
            Tensor x = Tensor.of(new Noise(1, batch).next(0, batch, 4 * side * side), batch, 4, side, side);
            float[] t = new float[batch];
            Arrays.fill(t, 500f);
            double[] blockTimes, fullTimes;
            int tokens;
            if (arch.trim().startsWith("PixArt")) {
                PixArtModel m = ModelLoader.randomPixArt(PixArtConfig.preset(arch, imageSize), 0, dt, be);
                var text = org.deltadit.pipeline.Captions.random(m.config(), batch, 2).cond();
                PixArtModel.Conditioning c = m.condition(t, text.embeds(), text.mask(), imageSize, imageSize);
                blockTimes = time(blocks(m, m.embed(x), c), seconds * 0.75);
                fullTimes = time(() -> {
                    PixArtModel.Conditioning cc = m.condition(t, text.embeds(), text.mask(), imageSize, imageSize);
                    m.finalLayer(blocks(m, m.embed(x), cc).get(), cc);
                }, seconds * 0.25);
                tokens = m.config().tokens();
            } else {
                DitModel m = ModelLoader.random(org.deltadit.weights.DitConfig.ofPreset(arch, side, 4, 1000), 0, dt, be);
                int[] y = new int[batch];
                blockTimes = time(blocks(m, m.embed(x), m.condition(t, y)), seconds * 0.75);
                fullTimes = time(() -> m.forward(x, t, y), seconds * 0.25);
                tokens = m.config().tokens();
            }
            // the block stack's FLOPs: 2 × (its linears + attention products) for every sample of the batch
            double gflop = 2.0 * batch * (org.deltadit.cache.MacCount.blocks(planned, 0, planned.depth())
                    + (double) planned.depth() * org.deltadit.cache.MacCount.attentionPerBlock(planned)) / 1e9;
            double rate = gflop / median(blockTimes);
            long rss = peakRss(); // before the ceiling's panels (up to 256 MB)
            String peakFields = "";
            if (!(be instanceof org.deltadit.engine.device.DeviceBackend)) {
                org.deltadit.engine.cpu.FmaPeak.Peak peak = org.deltadit.engine.cpu.FmaPeak.measure(be.threads(), 1.5);
                peakFields = String.format(Locale.ROOT, ",\"peak_gflops\":%.1f,\"percent_of_peak\":%.1f", peak.gflops(), peak.percent(rate));
                if (be instanceof org.deltadit.engine.cpu.CpuBackend) {
                    // what the GEMM's kernel reaches here with its weights in cache and streamed from memory, as a model's are
                    org.deltadit.engine.cpu.KernelCeiling.Ceiling k = org.deltadit.engine.cpu.KernelCeiling.measure(be.threads(), 2);
                    peakFields += String.format(Locale.ROOT, ",\"kernel_in_cache_gflops\":%.1f,\"kernel_streamed_gflops\":%.1f", k.inCache(), k.streamed());
                }
            }
            String line = String.format(Locale.ROOT, "{\"what\":\"forward\",\"arch\":\"%s\",\"image_size\":%d,\"tokens\":%d,\"batch\":%d,\"dtype\":\"%s\",\"device\":%s,\"threads\":%d,"
                            + "\"blocks_seconds_median\":%.4f,\"blocks_seconds_min\":%.4f,\"runs\":%d,\"forward_seconds_median\":%.4f,\"blocks_gflop\":%.1f,\"blocks_gflops\":%.1f%s,"
                            + "\"peak_rss_bytes\":%d,\"machine\":%s,\"when\":\"%s\"}",
                    arch, imageSize, tokens, batch, dt, org.deltadit.weights.Json.quote(be.describe()), be.threads(),
                    median(blockTimes), blockTimes[0], blockTimes.length, median(fullTimes), gflop, rate, peakFields, rss,
                    org.deltadit.weights.Json.quote(org.deltadit.engine.cpu.FmaPeak.machine()), java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
            System.out.println(line);
            appendHistory(line);
            if (be instanceof org.deltadit.engine.device.DeviceBackend d) System.err.println("bench: " + d.stats());
            return 0;
        }

        /** Appends {@code line} to the history file (so a regression shows against earlier runs) and says where. */
        private void appendHistory(String line) {
            if ("none".equals(history)) return;
            java.nio.file.Path file;
            if (history != null) {
                file = java.nio.file.Path.of(history);
            } else {
                java.nio.file.Path base = org.deltadit.engine.CacheDir.dit();
                if (base == null) throw new IllegalStateException("--history: no home folder for ~/.cache/dit; give --history FILE or none");
                file = base.resolve("bench-history.jsonl");
            }
            try {
                if (file.getParent() != null) java.nio.file.Files.createDirectories(file.getParent());
                java.nio.file.Files.writeString(file, line + "\n", java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                System.err.println("bench: appended to " + file);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("--history: cannot append to " + file + " (" + e.getMessage() + ")", e);
            }
        }

        /** All blocks on a fixed input and conditioning; get() returns the last hidden state. */
        static <C> java.util.function.Supplier<Tensor> blocks(org.deltadit.dit.BlockStack<C> m, Tensor h0, C c) {
            return () -> m.blocks(0, m.depth(), h0, c);
        }

        static double[] time(java.util.function.Supplier<?> r, double budget) { return time((Runnable) r::get, budget); }

        /** The process's peak resident set (VmHWM of /proc/self/status), or −1 where there is none. */
        static long peakRss() {
            try {
                for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                    if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            } catch (java.io.IOException | NumberFormatException e) {
                return -1;
            }
            return -1;
        }

        /** Two warm-up runs, then runs until {@code budget} seconds have passed (at least 3); sorted seconds. */
        static double[] time(Runnable r, double budget) {
            for (int i = 0; i < 2; i++) r.run();
            double[] out = new double[1024];
            int n = 0;
            long end = System.nanoTime() + (long) (budget * 1e9);
            while (n < out.length && (n < 3 || System.nanoTime() < end)) {
                long t0 = System.nanoTime();
                r.run();
                out[n++] = (System.nanoTime() - t0) / 1e9;
            }
            double[] s = Arrays.copyOf(out, n);
            Arrays.sort(s);
            return s;
        }

        static double median(double[] sorted) { return sorted[sorted.length / 2]; }
    }
}
