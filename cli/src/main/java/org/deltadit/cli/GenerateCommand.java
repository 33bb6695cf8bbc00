package org.deltadit.cli;

import org.deltadit.pipeline.PlanJson;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.pipeline.GenerationRequest;
import org.deltadit.pipeline.GenerationResult;
import org.deltadit.pipeline.Image;
import org.deltadit.pipeline.ModelSpec;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.sampler.Samplers;
import org.deltadit.weights.AtomicFiles;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.SafetensorsWriter;
import org.deltadit.weights.StateDict;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit generate}: class labels (DiT) or captions (PixArt-α) and noise to images (DESIGN.md §6), through the pipeline. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate images with a class-conditional DiT (--class) or a PixArt-α text-to-image model (--prompt).")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", description = "weights file, folder or diffusers repository (default: the demo model, models/demo)")
    Path model;
    @Option(names = "--config", description = "config.json for the model (default: the one beside the weights)")
    Path config;
    @Option(names = "--weights-key", description = "nested state dict of a PyTorch checkpoint (default: the dict, else ema, model)")
    String weightsKey;
    @Option(names = "--arch", description = "architecture preset, e.g. DiT-XL/2 (needed with --random-weights)")
    String arch;
    @picocli.CommandLine.Mixin
    ModelOptions load;
    @Option(names = "--class", description = "class labels N[,N…], one image each, repeated up to --count (default: drawn from the seed)")
    String classList;
    @Option(names = "--prompt", description = "PixArt: the caption; repeat for several images (repeated up to --count)")
    List<String> prompts;
    @Option(names = "--negative-prompt", description = "PixArt (diffusers layout): the unconditional branch's caption (default: empty)")
    String negativePrompt;
    @Option(names = "--text-embeddings", description = "PixArt: safetensors with embeds [n, L, C] and mask [n, L] (see dit encode) instead of --prompt")
    Path textEmbeddings;
    @Option(names = "--count", description = "number of images (default: one per --class, else 1)")
    Integer count;
    @Option(names = "--batch", description = "images per model batch (default: min(count, 8))")
    Integer batch;
    @Option(names = "--seed", defaultValue = "0", description = "noise seed (default: ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--steps", description = "sampling steps (default: 20; 4 for lcm)")
    Integer steps;
    @Option(names = "--sampler", description = Samplers.NAMES + " (default: dpm-solver++; lcm for an LCM repository)")
    String sampler;
    @Option(names = "--spacing", description = "dit, linspace, leading, trailing (default: dit for ddpm/ddim, linspace otherwise)")
    String spacing;
    @Option(names = "--cfg", description = "classifier-free guidance scale; 1 or less: none (default: 4.0 DiT, 4.5 PixArt, none for lcm)")
    Double cfg;
    @Option(names = "--guide-channels", description = "latent channels guidance mixes (default: all; 3 reproduces DiT's sample.py)")
    Integer guideChannels;
    @Option(names = "--eta", description = "DDIM η (default: 0; ddim only)")
    Double eta;
    @Option(names = "--clip-sample", description = "clamp each predicted x0 to [-R, R], as diffusers' clip_sample (ddpm, ddim, dpm-solver++; for pixel-space models such as the demo; default: none)")
    Double clipSample;
    @Option(names = "--dynamic-thresholding", paramLabel = "RATIO[,MAX]", description = "threshold each predicted x0 per image at the RATIO quantile of |x0|, held to [1, MAX] (default MAX 1), and rescale: diffusers' thresholding (ddpm, ddim, dpm-solver++; not with --clip-sample; the demo model: 0.995,1.5; default: none)")
    String thresholding;
    @Option(names = "--final-sigma", description = "DPM-Solver++ last step: zero (default, diffusers ≥ 0.26) or min (older)")
    String finalSigma;
    @Option(names = "--lcm-timesteps", description = "LCM: current (default, diffusers ≥ 0.24: 999, 759, 499, 259) or legacy (999, 759, 519, 279)")
    String lcmTimesteps;
    @Option(names = "--noise", description = "safetensors with tensor 'noise' [count, C, H, W] to use as x_T")
    Path noiseFile;
    @Option(names = "--save-latent", description = "write the final latents (tensor 'latent', F32) to this safetensors file")
    Path saveLatent;
    @Option(names = "--out", description = "FILE.png (one image, or a grid) or a folder (00000.png, …); default samples.png")
    Path out;
    @Option(names = "--grid", description = "write all images as one grid")
    boolean grid;
    @Option(names = "--random-weights", description = "random weights of --arch, for timing; no image unless --out")
    boolean randomWeights;
    @Option(names = "--json", description = "print one JSON line with the run's figures on stdout")
    boolean json;
    @Mixin
    EngineOptions engine;
    @Mixin
    CacheOptions cacheOptions;

    @Override
    public Integer call() {
        checkOutputs();
        if (noiseFile != null && !Files.isRegularFile(noiseFile)) throw new IllegalArgumentException("--noise: " + noiseFile + ": no such file");
        if (textEmbeddings != null && !Files.isRegularFile(textEmbeddings)) throw new IllegalArgumentException("--text-embeddings: " + textEmbeddings + ": no such file");
        ModelSpec spec = load.spec(!randomWeights && model == null ? DemoModel.path() : model, engine).config(config).weightsKey(weightsKey).arch(arch)
                .randomWeights(randomWeights).weightsSeed(seed).build();
        GenerationRequest.Builder rb = GenerationRequest.builder().classes(classList == null ? null : parseClasses(classList)).prompts(prompts).negativePrompt(negativePrompt)
                .textEmbeddings(textEmbeddings).count(count).batch(batch).seed(seed).steps(steps).sampler(sampler).spacing(spacing).cfg(cfg)
                .guideChannels(guideChannels).eta(eta).clipSample(clipSample).thresholding(org.deltadit.sampler.Thresholding.parse(thresholding)).finalSigma(finalSigma).lcmTimesteps(lcmTimesteps)
                .cache(cacheOptions.spec()).cacheBf16(cacheOptions.bf16);
        rb.build(); // every field checked before the model loads
        try (Pipeline p = Pipeline.open(spec)) {
            p.validate(rb.decode(false).keepLatents(true).build()); // the request against the model, before anything about outputs
            // Random weights write nothing unless asked; a latent model with --save-latent alone needs no VAE.
            boolean writeImages = randomWeights ? out != null : out != null || p.canDecode() || saveLatent == null;
            if (writeImages && !p.canDecode()) {
                throw new IllegalArgumentException("this model makes " + p.config().inChannels() + "-channel latents: give --vae (e.g. sd-vae-ft-ema)"
                        + (saveLatent == null ? " or --save-latent" : ""));
            }
            if (noiseFile != null) rb.noise(readNoise());
            // without images to write the latents are kept even when not saved (timing runs): a request returns something
            GenerationRequest request = rb.decode(writeImages).keepLatents(saveLatent != null || !writeImages).build();
            double packedBefore = p.backend().packSeconds();
            GenerationResult r = p.generate(request, new Progress(System.err, "sampling"));
            double packed = p.backend().packSeconds() - packedBefore;
            if (saveLatent != null) {
                SafetensorsWriter.write(saveLatent, Map.of("latent", r.latents()), Map.of("sampler", r.sampler(), "steps", String.valueOf(r.steps())));
            }
            String written = writeImages ? writeImages(r.images()) : "";
            int n = request.images();
            System.err.printf(Locale.ROOT, "dit: %d image%s, %s %d steps, cfg %.1f, cache %s, %.1f s sampling (%.2f s/step), %s MACs (%.2f× fewer)%s%s%n",
                    n, n == 1 ? "" : "s", r.sampler(), r.steps(), r.cfg(), r.plan().policy().describe(), r.seconds(), r.seconds() / r.stepSeconds().length,
                    PlanJson.macs(r.macs()), r.speedup(),
                    r.cacheHits() > 0 ? String.format(Locale.ROOT, ", %d cache hits, %.1f MB cached", r.cacheHits(), r.cacheBytes() / 1e6) : "",
                    written.isEmpty() ? "" : " → " + written);
            // a device says what crossed between it and the host, and where the time went
            if (p.backend() instanceof org.deltadit.engine.device.DeviceBackend d) System.err.println("dit: " + d.stats());
            if (json) System.out.println(json(p, r, n, written, packed));
        }
        return 0;
    }

    /** Every output path, before any model work (with a real model a late failure costs hours). */
    private void checkOutputs() {
        Path target = out != null ? out : Path.of("samples.png");
        String name = target.getFileName() == null ? "" : target.getFileName().toString();
        if (target.toString().isEmpty()) throw new IllegalArgumentException("--out: an empty path (FILE.png or a folder)");
        if (isPng(target)) {
            AtomicFiles.checkWritable(target, "--out");
        } else {
            if (name.contains(".") && !Files.isDirectory(target)) {
                throw new IllegalArgumentException("--out: " + target + ": images are written as PNG: give FILE.png, or a folder");
            }
            if (Files.exists(target) && !Files.isDirectory(target)) throw new IllegalArgumentException("--out: " + target + " is a file, not a folder");
            if (grid) throw new IllegalArgumentException("--grid writes one PNG: give --out FILE.png, not a folder");
            AtomicFiles.checkWritable(target.resolve("00000.png"), "--out");
        }
        if (saveLatent != null) {
            AtomicFiles.checkWritable(saveLatent, "--save-latent");
            if (saveLatent.toAbsolutePath().normalize().equals(target.toAbsolutePath().normalize()) && (out != null || !randomWeights)) {
                throw new IllegalArgumentException("--save-latent: " + saveLatent + " is also the --out image: give two different files");
            }
        }
    }

    /** "3,1,4": every entry an integer; an empty entry ("1,,2", "1,2,") is a typo, not a list of two. */
    static List<Integer> parseClasses(String s) {
        List<Integer> out = new java.util.ArrayList<>();
        for (String part : s.split(",", -1)) {
            String t = part.trim();
            if (t.isEmpty()) throw new IllegalArgumentException("--class: '" + s + "' has an empty entry");
            try {
                out.add(Integer.parseInt(t));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--class: '" + t + "' is not a class number");
            }
        }
        return out;
    }

    private static boolean isPng(Path p) { return p.toString().toLowerCase(Locale.ROOT).endsWith(".png"); }

    private Tensor readNoise() {
        try (StateDict sd = Safetensors.open(noiseFile)) {
            if (!sd.has("noise")) throw new CheckpointException(noiseFile + ": no tensor 'noise'");
            var entry = sd.entry("noise");
            if (entry.type().engineType() == null) throw new CheckpointException(noiseFile + ": 'noise' holds " + entry.type() + " values; noise must be F32, F16 or BF16");
            return sd.tensor("noise").to(DType.F32); // a copy: the file is closed after
        }
    }

    /** Writes the PNG(s) and says where. */
    private String writeImages(List<Image> images) {
        Path target = out != null ? out : Path.of("samples.png");
        int n = images.size();
        if (isPng(target)) {
            (grid || n > 1 ? Image.grid(images) : images.get(0)).writePng(target);
            return target.toString();
        }
        // all files or none: a temporary folder beside the target, moved in when every image is written
        try (AtomicFiles.Folder folder = new AtomicFiles.Folder(target)) {
            for (int i = 0; i < n; i++) images.get(i).writePng(folder.file(String.format("%05d.png", i)));
            folder.commit();
        }
        return target + "/ (" + n + " files)";
    }

    /** {@code packed}: seconds the backend spent packing weights during the run (their first use), part of the first step's. */
    private static String json(Pipeline p, GenerationResult r, int images, String out, double packed) {
        StringBuilder b = new StringBuilder("{");
        b.append("\"images\":").append(images).append(",\"model\":\"").append(p.config().archName()).append("\",\"sampler\":\"").append(r.sampler())
                .append("\",\"steps\":").append(r.steps()).append(",\"cfg\":").append(r.cfg()).append(",\"cache\":\"").append(r.plan().policy().describe()).append('"')
                .append(String.format(Locale.ROOT, ",\"seconds\":%.4f", r.seconds())).append(",\"step_seconds\":[");
        for (int i = 0; i < r.stepSeconds().length; i++) b.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.4f", r.stepSeconds()[i]));
        b.append(String.format(Locale.ROOT, "],\"block_seconds\":%.4f,\"other_seconds\":%.4f,\"pack_seconds\":%.4f,\"step_block_seconds\":[", r.blockSeconds(), r.seconds() - r.blockSeconds(), packed));
        for (int i = 0; i < r.stepBlockSeconds().length; i++) b.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.4f", r.stepBlockSeconds()[i]));
        b.append("],\"macs\":").append(r.macs()).append(",\"macs_with_attention\":").append(r.macsWithAttention())
                .append(",\"macs_uncached\":").append(r.macsUncached()).append(String.format(Locale.ROOT, ",\"speedup\":%.4f", r.speedup()))
                .append(",\"plan\":").append(PlanJson.planArray(r.plan(), r.timesteps()))
                .append(",\"cache_hits\":").append(r.cacheHits()).append(",\"cache_bytes\":").append(r.cacheBytes())
                .append(r.reusedRows().length == 0 ? "" : ",\"reused_rows\":" + java.util.Arrays.toString(r.reusedRows()).replace(" ", ""))
                .append(",\"out\":").append(org.deltadit.weights.Json.quote(out)).append('}');
        return b.toString();
    }
}
