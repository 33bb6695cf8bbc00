package org.deltadit.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.deltadit.cache.DitDenoiser;
import org.deltadit.cache.PixArtDenoiser;
import org.deltadit.dit.DitLoader;
import org.deltadit.dit.DitModel;
import org.deltadit.dit.PixArtModel;
import org.deltadit.dit.VaeDecoder;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Backends;
import org.deltadit.engine.Tensor;
import org.deltadit.sampler.Denoiser;
import org.deltadit.sampler.Noise;
import org.deltadit.sampler.Sampler;
import org.deltadit.sampler.Samplers;
import org.deltadit.sampler.Spacing;
import org.deltadit.weights.Checkpoint;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.DitConfig;
import org.deltadit.weights.ModelConfig;
import org.deltadit.weights.PixArtConfig;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.SafetensorsWriter;
import org.deltadit.weights.StateDict;
import org.deltadit.cache.CachePolicy;
import org.deltadit.cache.DeltaStore;
import org.deltadit.cache.Plan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit generate}: class labels (DiT) or captions (PixArt-α) and noise to images (DESIGN.md §6). */
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
    @Option(names = "--heads", description = "attention heads when config and shapes do not tell")
    Integer heads;
    @Option(names = "--image-size", description = "output size in pixels (default: what the model was trained for)")
    Integer imageSize;
    @Option(names = "--vae", description = "AutoencoderKL folder or file for latent models (default: vae/ of a diffusers repository)")
    Path vae;
    @Option(names = "--class", split = ",", description = "class labels, one image each, repeated up to --count (default: drawn from the seed)")
    List<Integer> classes;
    @Option(names = "--prompt", description = "PixArt: the caption; repeat for several images (repeated up to --count)")
    List<String> prompts;
    @Option(names = "--negative-prompt", description = "PixArt (diffusers layout): the unconditional branch's caption (default: empty)")
    String negativePrompt;
    @Option(names = "--text-embeddings", description = "PixArt: safetensors with embeds [n, L, C] and mask [n, L] (see dit encode) instead of --prompt")
    Path textEmbeddings;
    @Option(names = "--text-encoder", description = "PixArt: T5 encoder folder (default: text_encoder/ of the repository)")
    Path textEncoder;
    @Option(names = "--tokenizer", description = "PixArt: folder or spiece.model (default: tokenizer/ beside the encoder)")
    Path tokenizer;
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
    @Option(names = "--eta", defaultValue = "0", description = "DDIM η (default: ${DEFAULT-VALUE})")
    double eta;
    @Option(names = "--final-sigma", defaultValue = "zero", description = "DPM-Solver++ last step: zero (diffusers ≥ 0.26) or min (older)")
    String finalSigma;
    @Option(names = "--lcm-timesteps", defaultValue = "current", description = "LCM: current (diffusers ≥ 0.24: 999, 759, 499, 259) or legacy (999, 759, 519, 279)")
    String lcmTimesteps;
    @Option(names = "--noise", description = "safetensors with tensor 'noise' [count, C, H, W] to use as x_T")
    Path noiseFile;
    @Option(names = "--save-latent", description = "write the final latents (tensor 'latent', F32) to this safetensors file")
    Path saveLatent;
    @Option(names = "--out", description = "FILE.png (one image, or a grid) or a folder (00000.png, …); default samples.png")
    Path out;
    @Option(names = "--grid", description = "write all images as one grid")
    boolean grid;
    @Option(names = "--threads", description = "worker threads (default: all cores)")
    Integer threads;
    @Option(names = "--random-weights", description = "random weights of --arch, for timing; no image unless --out")
    boolean randomWeights;
    @Option(names = "--json", description = "print one JSON line with the run's figures on stdout")
    boolean json;
    @Mixin
    CacheOptions cacheOptions;

    /** What the sampling loop needs of a model family: its config, the images, and a denoiser per batch. */
    private record Family(ModelConfig config, int images, String defaultSampler, double defaultCfg, Batches batches) {}

    @FunctionalInterface
    private interface Batches {
        Denoiser denoiser(int from, int to, double cfg, Plan plan, DeltaStore store);
    }

    @Override
    public Integer call() {
        checkArguments();
        Backend be = Backends.create("cpu", threads == null ? Runtime.getRuntime().availableProcessors() : threads);
        if (randomWeights && arch == null) throw new IllegalArgumentException("--random-weights needs --arch (e.g. DiT-XL/2 or PixArt-XL/2)");
        if (randomWeights && model != null) throw new IllegalArgumentException("--random-weights and --model exclude each other");
        if (!randomWeights && model == null) model = DemoModel.path();
        Checkpoint ck = randomWeights ? null : Checkpoint.open(model, config, weightsKey);
        boolean pixart = randomWeights ? arch.trim().startsWith("PixArt") : ck.format().isPixArt();
        if (pixart && classes != null) throw new IllegalArgumentException("--class applies to class-conditional DiT models; a PixArt model takes --prompt");
        if (!pixart && (prompts != null || textEmbeddings != null || textEncoder != null || negativePrompt != null)) {
            throw new IllegalArgumentException("--prompt, --negative-prompt, --text-embeddings and --text-encoder apply to PixArt models; this is a class-conditional DiT (use --class)");
        }
        VaeDecoder decoder = null;
        Path vaePath = vae;
        if (vaePath == null && !randomWeights && Files.isDirectory(model) && Files.isDirectory(model.resolve("vae")) && Files.exists(model.resolve("model_index.json"))) vaePath = model;
        if (vaePath != null) decoder = DitLoader.vae(vaePath, be);
        int factor = decoder == null ? (randomWeights ? 8 : 1) : decoder.config().factor();
        Integer input = null;
        if (imageSize != null) {
            if (imageSize % factor != 0) throw new IllegalArgumentException("--image-size: " + imageSize + " is not a multiple of the VAE factor " + factor);
            input = imageSize / factor;
        }
        Family f = pixart ? pixart(ck, be, input, factor) : dit(ck, be, input);
        return sample(f, decoder, factor);
    }

    private Family dit(Checkpoint ck, Backend be, Integer input) {
        DitModel m = randomWeights ? DitLoader.random(arch, input == null ? 32 : input, 4, 1000, seed, be)
                : DitLoader.dit(ck, new DitConfig.Overrides(heads, arch, input), be);
        DitConfig c = m.config();
        int n = count != null ? count : classes != null ? classes.size() : 1;
        int[] labels = labels(n, c.numClasses());
        for (int y : labels) if (y < 0 || y >= c.numClasses()) throw new IllegalArgumentException("--class: " + y + " outside [0, " + c.numClasses() + ")");
        int guided = guideChannels != null ? guideChannels : c.inChannels();
        return new Family(c, n, "dpm-solver++", 4.0,
                (from, to, g, plan, store) -> new DitDenoiser(m, java.util.Arrays.copyOfRange(labels, from, to), g, guided, plan, store));
    }

    private Family pixart(Checkpoint ck, Backend be, Integer input, int factor) {
        if (guideChannels != null) throw new IllegalArgumentException("--guide-channels applies to DiT; PixArt guides every channel, as diffusers does");
        PixArtModel m;
        CheckpointFormat format;
        if (randomWeights) {
            m = DitLoader.randomPixArt(PixArtConfig.preset(arch, input == null ? 512 : input * factor), seed, org.deltadit.engine.DType.BF16, be);
            format = CheckpointFormat.PIXART_ORIGINAL;
        } else {
            m = DitLoader.pixart(ck, heads, input, be);
            format = ck.format();
        }
        PixArtConfig c = m.config();
        int n = count != null ? count : prompts != null ? prompts.size() : 1;
        String defSampler = !randomWeights && LcmRepository.is(model) ? "lcm" : "dpm-solver++";
        double defCfg = (sampler != null ? sampler : defSampler).trim().equalsIgnoreCase("lcm") ? 1 : 4.5; // LCM runs unguided
        double g = cfg != null ? cfg : defCfg;
        Captions.Pair text;
        if (randomWeights && prompts == null && textEmbeddings == null) {
            text = Captions.random(c, n, seed); // timing only: random caption features, every token valid
        } else {
            Path repo = !randomWeights && Files.exists(model.resolve("model_index.json")) ? model : null;
            text = Captions.resolve(new Captions.Sources(prompts, negativePrompt, textEmbeddings, textEncoder, tokenizer, repo), m, format, n, g > 1, be);
        }
        int px = c.inputSize() * factor;
        return new Family(c, n, defSampler, defCfg, (from, to, gg, plan, store) -> new PixArtDenoiser(m, text.cond().rows(from, to, text.cond().tokens()),
                text.uncond() == null ? null : text.uncond().count() == 1 ? text.uncond() : text.uncond().rows(from, to, text.uncond().tokens()), gg, px, px, plan, store));
    }

    private Integer sample(Family f, VaeDecoder decoder, int factor) {
        ModelConfig c = f.config();
        if (decoder != null && decoder.config().latentChannels() != c.inChannels()) {
            throw new IllegalArgumentException("--vae: the decoder takes " + decoder.config().latentChannels() + " latent channels, the model makes " + c.inChannels());
        }
        boolean pixels = decoder == null && (c.inChannels() == 1 || c.inChannels() == 3);
        boolean canDecode = decoder != null || pixels;
        // Random weights write nothing unless asked; a latent model with --save-latent alone needs no VAE.
        boolean writeImages = randomWeights ? out != null : out != null || canDecode || saveLatent == null;
        if (writeImages && !canDecode) {
            throw new IllegalArgumentException("this model makes " + c.inChannels() + "-channel latents: give --vae (e.g. sd-vae-ft-ema)" + (saveLatent == null ? " or --save-latent" : ""));
        }
        String samplerName = sampler != null ? sampler : f.defaultSampler();
        boolean lcm = samplerName.trim().equalsIgnoreCase("lcm");
        int steps = this.steps != null ? this.steps : lcm ? 4 : 20;
        double g = cfg != null ? cfg : f.defaultCfg();
        int n = f.images();
        int bsz = batch != null ? batch : Math.min(n, 8);
        int side = c.inputSize();
        Tensor noise = noiseFile != null ? readNoise(n, c) : Tensor.of(new Noise(seed, n).next(0, n, c.inChannels() * side * side), n, c.inChannels(), side, side);
        Noise fresh = new Noise(seed ^ 0x5DEECE66DL, n);
        Sampler s = Samplers.create(samplerName, steps, spacing == null ? null : Spacing.parse(spacing), c instanceof DitConfig, eta,
                lcm ? lcmTimesteps.equals("legacy") : finalSigma.equals("min"));
        long rowsPerImage = g > 1 ? 2 : 1;
        CachePolicy policy = cacheOptions.policy(steps, c, rowsPerImage);
        Plan plan = Plan.of(policy, steps, c.depth());

        Progress progress = new Progress(System.err, "sampling", steps * ((n + bsz - 1) / bsz));
        List<Tensor> parts = new ArrayList<>();
        long cacheBytes = 0;
        int hits = 0;
        for (int from = 0; from < n; from += bsz) {
            int to = Math.min(n, from + bsz), f0 = from, cnt = to - from;
            boolean cached = !(policy instanceof CachePolicy.None);
            DeltaStore store = cached ? new DeltaStore(cacheOptions.bf16()) : null;
            Denoiser den = f.batches().denoiser(from, to, g, cached ? plan : null, store);
            parts.add(s.sample(noise.slice(0, from, to), den, k -> fresh.next(f0, cnt, k / cnt), (i, t) -> progress.step()));
            if (store != null) {
                cacheBytes = Math.max(cacheBytes, store.peakBytes());
                hits += store.hits();
            }
        }
        double seconds = progress.elapsed();
        Tensor latents = Tensor.concat(0, parts.toArray(new Tensor[0]));
        if (saveLatent != null) SafetensorsWriter.write(saveLatent, Map.of("latent", latents), Map.of("sampler", s.name(), "steps", String.valueOf(steps)));

        String written = "";
        if (writeImages) {
            Tensor images = decoder != null ? decoder.decode(latents) : latents;
            written = writeImages(images);
        }
        long rows = n * rowsPerImage;
        long macs = plan.macs(c, rows), macsAttn = plan.macsWithAttention(c, rows);
        long uncached = Plan.of(new CachePolicy.None(), steps, c.depth()).macs(c, rows);
        Run run = new Run(n, seconds, progress.stepSeconds, macs, macsAttn, uncached, hits, cacheBytes, written);
        System.err.printf(Locale.ROOT, "dit: %d image%s, %s %d steps, cfg %.1f, cache %s, %.1f s sampling (%.2f s/step), %.3f TMACs (%.2f× fewer)%s%s%n",
                n, n == 1 ? "" : "s", s.name(), steps, g, policy.describe(), seconds, seconds / (steps * ((n + bsz - 1) / bsz)), macs / 1e12, uncached / (double) macs,
                hits > 0 ? String.format(Locale.ROOT, ", %d cache hits, %.1f MB cached", hits, cacheBytes / 1e6) : "", written.isEmpty() ? "" : " → " + written);
        if (json) System.out.println(json(s, plan, c, run, steps, g));
        return 0;
    }

    private void checkArguments() {
        if (steps != null && steps < 1) throw new IllegalArgumentException("--steps: " + steps + " (must be at least 1)");
        if (count != null && count < 1) throw new IllegalArgumentException("--count: " + count + " (must be at least 1)");
        if (batch != null && batch < 1) throw new IllegalArgumentException("--batch: " + batch + " (must be at least 1)");
        if (threads != null && threads < 1) throw new IllegalArgumentException("--threads: " + threads + " (must be at least 1)");
        if (imageSize != null && imageSize < 8) throw new IllegalArgumentException("--image-size: " + imageSize + " (at least 8)");
        if (!lcmTimesteps.equals("current") && !lcmTimesteps.equals("legacy")) throw new IllegalArgumentException("--lcm-timesteps: '" + lcmTimesteps + "' (current or legacy)");
        if (prompts != null && textEmbeddings != null) throw new IllegalArgumentException("--prompt and --text-embeddings exclude each other");
        if (textEmbeddings != null && !Files.isRegularFile(textEmbeddings)) throw new IllegalArgumentException("--text-embeddings: " + textEmbeddings + ": no such file");
        if (cfg != null && (!(cfg >= 0) || cfg > 100)) throw new IllegalArgumentException("--cfg: " + cfg + " (0..100)");
        if (!finalSigma.equals("zero") && !finalSigma.equals("min")) throw new IllegalArgumentException("--final-sigma: '" + finalSigma + "' (zero or min)");
        if (classes != null && classes.isEmpty()) throw new IllegalArgumentException("--class: empty list");
        if (out != null && out.toString().endsWith(".png") && Files.isDirectory(out)) throw new IllegalArgumentException("--out: " + out + " is a folder");
        if (noiseFile != null && !Files.isRegularFile(noiseFile)) throw new IllegalArgumentException("--noise: " + noiseFile + ": no such file");
    }

    private int[] labels(int n, int numClasses) {
        int[] y = new int[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) y[i] = classes != null ? classes.get(i % classes.size()) : r.nextInt(numClasses);
        return y;
    }

    private Tensor readNoise(int n, ModelConfig c) {
        try (StateDict sd = Safetensors.open(noiseFile)) {
            if (!sd.has("noise")) throw new CheckpointException(noiseFile + ": no tensor 'noise'");
            Tensor t = sd.tensor("noise");
            int[] want = {n, c.inChannels(), c.inputSize(), c.inputSize()};
            if (!java.util.Arrays.equals(t.shape(), want)) {
                throw new CheckpointException(noiseFile + ": 'noise' is " + t.shapeString() + ", this run needs " + java.util.Arrays.toString(want));
            }
            return t.to(org.deltadit.engine.DType.F32);
        }
    }

    /** Writes the PNG(s) and says where. */
    private String writeImages(Tensor images) {
        Path target = out != null ? out : Path.of("samples.png");
        int n = images.dim(0);
        if (target.toString().toLowerCase(Locale.ROOT).endsWith(".png")) {
            Images.writePng(grid || n > 1 ? Images.grid(images) : Images.toImage(images, 0), target);
            return target.toString();
        }
        for (int i = 0; i < n; i++) Images.writePng(Images.toImage(images, i), target.resolve(String.format("%05d.png", i)));
        return target + "/ (" + n + " files)";
    }

    /** What a run measured, for the summary and --json. */
    private record Run(int images, double seconds, double[] stepSeconds, long macs, long macsWithAttention, long uncachedMacs, int hits, long cacheBytes, String out) {}

    private String json(Sampler s, Plan plan, ModelConfig c, Run r, int steps, double cfg) {
        StringBuilder b = new StringBuilder("{");
        b.append("\"images\":").append(r.images()).append(",\"model\":\"").append(c.archName()).append("\",\"sampler\":\"").append(s.name())
                .append("\",\"steps\":").append(steps).append(",\"cfg\":").append(cfg).append(",\"cache\":\"").append(plan.policy().describe()).append('"')
                .append(String.format(Locale.ROOT, ",\"seconds\":%.4f", r.seconds())).append(",\"step_seconds\":[");
        for (int i = 0; i < r.stepSeconds().length; i++) b.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.4f", r.stepSeconds()[i]));
        b.append("],\"macs\":").append(r.macs()).append(",\"macs_with_attention\":").append(r.macsWithAttention())
                .append(",\"macs_uncached\":").append(r.uncachedMacs()).append(String.format(Locale.ROOT, ",\"speedup\":%.4f", r.uncachedMacs() / (double) r.macs()))
                .append(",\"plan\":").append(Json.planArray(plan, s.timesteps()))
                .append(",\"cache_hits\":").append(r.hits()).append(",\"cache_bytes\":").append(r.cacheBytes())
                .append(",\"out\":\"").append(r.out().replace("\\", "\\\\").replace("\"", "\\\"")).append("\"}");
        return b.toString();
    }

}
