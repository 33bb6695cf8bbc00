package org.deltadit.pipeline;

import static org.deltadit.engine.InvalidParameter.require;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.deltadit.cache.CachePolicy;
import org.deltadit.cache.Conditioner;
import org.deltadit.cache.DeltaStore;
import org.deltadit.cache.GuidedDenoiser;
import org.deltadit.cache.Plan;
import org.deltadit.dit.DitModel;
import org.deltadit.dit.ModelLoader;
import org.deltadit.dit.PixArtModel;
import org.deltadit.dit.BlockStack;
import org.deltadit.dit.Sd3Model;
import org.deltadit.dit.UNetModel;
import org.deltadit.weights.UNetConfig;
import org.deltadit.sampler.FlowMatchEulerSampler;
import org.deltadit.weights.Sd3Config;
import org.deltadit.dit.VaeDecoder;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Backends;
import org.deltadit.engine.DType;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Tensor;
import org.deltadit.sampler.Guidance;
import org.deltadit.sampler.Noise;
import org.deltadit.sampler.Sampler;
import org.deltadit.sampler.Samplers;
import org.deltadit.sampler.Spacing;
import org.deltadit.weights.Checkpoint;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.DitConfig;
import org.deltadit.weights.ModelConfig;
import org.deltadit.weights.PixArtConfig;

/**
 * The library API of generation: a model (DiT or PixArt-α, with its VAE and text encoder) loaded once
 * on a device, and {@link #generate} turning a {@link GenerationRequest} into images and figures. Every
 * front end (the CLI, and the Spark and server front ends to come) calls this. One pipeline may serve
 * several threads at once: the loaded model is read-only, and everything a request changes (sampler
 * history, cached Δs, noise streams) lives in that call.
 */
public final class Pipeline implements AutoCloseable {
    private final ModelSpec spec;
    private final Backend backend;
    private final Checkpoint checkpoint; // the model views its mapped weights: open as long as the pipeline
    private final Model model;
    private final VaeDecoder decoder;
    private final int factor;

    /** The two families: what generate needs of each. */
    private sealed interface Model permits Dit, PixArt, Sd3, Sd15 {
        ModelConfig config();
    }

    private record Dit(DitModel net) implements Model {
        public DitConfig config() { return net.config(); }
    }

    private record PixArt(PixArtModel net, CheckpointFormat format, boolean lcm) implements Model {
        public PixArtConfig config() { return net.config(); }
    }

    /** SD 1.x: the U-Net, the repository its text encoder comes from, and its scheduler's settings. */
    private record Sd15(UNetModel net, Path repository, Sd15Scheduler scheduler) implements Model {
        public UNetConfig config() { return net.config(); }
    }

    /** SD3: the MMDiT, the repository its text encoders come from, and its scheduler's shift. */
    private record Sd3(Sd3Model net, Path repository, double shift) implements Model {
        public Sd3Config config() { return net.config(); }
    }

    /** A Stable Diffusion repository's pipeline: the denoiser {@code net} makes, the VAE (--vae or vae/), the model the repository's parts complete. */
    private static Pipeline stableDiffusion(ModelSpec spec, Backend backend, Checkpoint ck, String family, String parts,
                                            java.util.function.IntFunction<BlockStack<?>> net, java.util.function.BiFunction<BlockStack<?>, Path, Model> model) {
        Path repo = repository(spec);
        require(repo != null, "model", spec.model() + ": " + family + "'s denoiser alone cannot encode prompts; give the diffusers repository (model_index.json, " + parts + ")");
        require(spec.textEncoder() == null && spec.tokenizer() == null, "textEncoder", family + " reads its text encoders from the repository");
        VaeDecoder vae = spec.vae() != null ? ModelLoader.vae(spec.vae(), backend) : Files.isDirectory(repo.resolve("vae")) ? ModelLoader.vae(repo, backend) : null;
        int f = vae == null ? 8 : vae.config().factor();
        Model m = model.apply(net.apply(f), repo);
        MemoryEstimate.check(MemoryEstimate.activations(m.config(), 2), "imageSize", m.config().inputSize() * f + " px");
        if (vae != null && vae.config().latentChannels() != m.config().inChannels()) {
            throw new InvalidParameter("vae", "the decoder takes " + vae.config().latentChannels() + " latent channels, the model makes " + m.config().inChannels());
        }
        return new Pipeline(spec, backend, ck, m, vae, f);
    }

    /** SD3: transformer/, the three encoders and their tokenizers, vae/, scheduler/. */
    private static Pipeline sd3(ModelSpec spec, Backend backend, Checkpoint ck) {
        return stableDiffusion(spec, backend, ck, "SD3", "transformer/, text_encoder*/, tokenizer*/, vae/",
                f -> ModelLoader.sd3(ck, spec.heads(), latentSize(spec, f), backend), (net, repo) -> new Sd3((Sd3Model) net, repo, schedulerShift(repo)));
    }

    /** SD 1.x: unet/, text_encoder/, tokenizer/, vae/, scheduler/. */
    private static Pipeline sd15(ModelSpec spec, Backend backend, Checkpoint ck) {
        return stableDiffusion(spec, backend, ck, "SD 1.x", "unet/, text_encoder/, tokenizer/, vae/",
                f -> ModelLoader.unet(ck, latentSize(spec, f), backend), (net, repo) -> new Sd15((UNetModel) net, repo, Sd15Scheduler.read(repo)));
    }

    /** scheduler/scheduler_config.json's shift (SD3: 3.0), else 3.0. */
    private static double schedulerShift(Path repo) {
        Path f = repo.resolve("scheduler").resolve("scheduler_config.json");
        if (!Files.isRegularFile(f)) return 3.0;
        Object v = org.deltadit.weights.Json.readObject(f).get("shift");
        if (v == null) return 3.0;
        if (!(v instanceof Number n) || !(n.doubleValue() > 0)) throw new InvalidParameter("model", f + ": shift is " + v + ", not a positive number");
        return n.doubleValue();
    }

    private Pipeline(ModelSpec spec, Backend backend, Checkpoint ck, Model model, VaeDecoder decoder, int factor) {
        this.spec = spec;
        this.backend = backend;
        this.checkpoint = ck;
        this.model = model;
        this.decoder = decoder;
        this.factor = factor;
    }

    /** Loads the model of {@code spec}, its VAE (the one given, else a repository's vae/) and chooses the device. */
    public static Pipeline open(ModelSpec spec) {
        Backend be = Backends.select(spec.device(), spec.threads());
        require(!spec.randomWeights() || !spec.arch().trim().toUpperCase(java.util.Locale.ROOT).startsWith("SD3"), "arch",
                spec.arch() + ": random SD3 weights cannot encode prompts; dit plan --arch SD3-medium counts its MACs");
        Checkpoint ck = spec.randomWeights() ? null : Checkpoint.open(spec.model(), spec.config(), spec.weightsKey());
        try {
            if (ck != null && ck.format().isSd3()) return sd3(spec, be, ck);
            if (ck != null && ck.format().isUNet()) return sd15(spec, be, ck);
            boolean pixart = ck == null ? spec.arch().trim().startsWith("PixArt") : ck.format().isPixArt();
            if (!pixart) {
                require(spec.textEncoder() == null, "textEncoder", "applies to text-to-image models; this is a class-conditional DiT");
                require(spec.tokenizer() == null, "tokenizer", "applies to text-to-image models; this is a class-conditional DiT");
            }
            if (ck != null) requireTransformer(spec, ck);
            Path vaePath = spec.vae() != null ? spec.vae() : repository(spec) != null && Files.isDirectory(spec.model().resolve("vae")) ? spec.model() : null;
            VaeDecoder decoder = vaePath == null ? null : ModelLoader.vae(vaePath, be);
            int factor = vaeFactor(inChannels(spec, ck, pixart), decoder == null ? null : decoder.config());
            Integer input = latentSize(spec, factor);
            ModelConfig planned = config(spec, ck, pixart, factor, input);
            // the position table and one guided image's activations: an impossible size is refused before building anything
            MemoryEstimate.check(MemoryEstimate.activations(planned, 2), "imageSize", planned.inputSize() * factor + " px");
            Model m;
            if (pixart) {
                PixArtModel net = ck == null ? ModelLoader.randomPixArt((PixArtConfig) planned, spec.weightsSeed(), DType.BF16, be)
                        : ModelLoader.pixart(ck, spec.heads(), input, be);
                m = new PixArt(net, ck == null ? CheckpointFormat.PIXART_ORIGINAL : ck.format(), ck != null && LcmRepository.is(spec.model()));
            } else {
                m = new Dit(ck == null ? ModelLoader.random((DitConfig) planned, spec.weightsSeed(), DType.BF16, be)
                        : ModelLoader.dit(ck, new DitConfig.Overrides(spec.heads(), spec.arch(), input), be));
            }
            if (decoder != null && decoder.config().latentChannels() != m.config().inChannels()) {
                throw new InvalidParameter("vae", "the decoder takes " + decoder.config().latentChannels() + " latent channels, the model makes " + m.config().inChannels());
            }
            return new Pipeline(spec, be, ck, m, decoder, factor);
        } catch (RuntimeException e) {
            if (ck != null) ck.close();
            throw e;
        }
    }

    /**
     * Pixels per latent cell: the VAE's upsampling when one is given; 1 for a model that works in pixels
     * (1 or 3 channels, no VAE); 8 for every other latent model (SD's VAE), loaded or not.
     */
    static int vaeFactor(int inChannels, VaeDecoder.Config vae) {
        if (vae != null) return vae.factor();
        return inChannels == 1 || inChannels == 3 ? 1 : 8;
    }

    /** The diffusers repository {@code spec} names (a folder with model_index.json), or null. */
    private static Path repository(ModelSpec spec) {
        Path m = spec.model();
        return m != null && Files.isDirectory(m) && Files.exists(m.resolve("model_index.json")) ? m : null;
    }

    /**
     * The architecture of {@code spec} at the size asked for, read from the checkpoint's config and shapes
     * without loading weights, with the same VAE factor {@link #open} uses (for plans and MAC counts).
     */
    public static ModelConfig config(ModelSpec spec) {
        if (spec.randomWeights()) {
            String arch = spec.arch().trim();
            if (arch.startsWith("PixArt")) return PixArtConfig.preset(arch, spec.imageSize() != null ? spec.imageSize() : 1024);
            if (arch.toUpperCase(java.util.Locale.ROOT).startsWith("SD3")) return org.deltadit.weights.Sd3Config.preset(arch, spec.imageSize() != null ? spec.imageSize() : 1024);
            int px = spec.imageSize() != null ? spec.imageSize() : 256;
            require(px % 8 == 0, "imageSize", px + " is not a multiple of the VAE factor 8");
            return DitConfig.ofPreset(arch, px / 8, 4, 1000);
        }
        try (Checkpoint ck = Checkpoint.open(spec.model(), spec.config(), spec.weightsKey())) {
            if (ck.format().isSd3()) return ck.sd3Config(spec.heads(), latentSize(spec, 8));
            requireTransformer(spec, ck);
            VaeDecoder.Config vae = null;
            Path repo = repository(spec);
            if (repo != null && Files.isRegularFile(repo.resolve("vae").resolve("config.json"))) {
                Path vc = repo.resolve("vae").resolve("config.json");
                vae = VaeDecoder.Config.from(org.deltadit.weights.Json.readObject(vc), vc.toString());
            }
            boolean pixart = ck.format().isPixArt();
            int f = vaeFactor(inChannels(spec, ck, pixart), vae);
            return config(spec, ck, pixart, f, latentSize(spec, f));
        }
    }

    private static void requireTransformer(ModelSpec spec, Checkpoint ck) {
        require(ck.format().isPixArt() || ck.format().isDit(), "model", spec.model() + " is a " + ck.format().description() + " checkpoint, not a DiT or PixArt-α transformer");
    }

    /** The model's input channels: PixArt and the random presets are 4-channel latent models; a DiT's come from its checkpoint. */
    private static int inChannels(ModelSpec spec, Checkpoint ck, boolean pixart) {
        return pixart || ck == null ? 4 : ck.ditConfig(new DitConfig.Overrides(spec.heads(), spec.arch(), null)).inChannels();
    }

    /** The latent side for the requested image size at {@code factor} pixels per cell (null: the model's own size). */
    private static Integer latentSize(ModelSpec spec, int factor) {
        if (spec.imageSize() == null) return null;
        require(spec.imageSize() % factor == 0, "imageSize", spec.imageSize() + " is not a multiple of the VAE factor " + factor);
        return spec.imageSize() / factor;
    }

    /** The architecture at latent size {@code input} (null: native), from the checkpoint or the random preset. */
    private static ModelConfig config(ModelSpec spec, Checkpoint ck, boolean pixart, int factor, Integer input) {
        if (ck == null) {
            return pixart ? PixArtConfig.preset(spec.arch(), input == null ? 512 : input * factor)
                    : DitConfig.ofPreset(spec.arch(), input == null ? 32 : input, 4, 1000);
        }
        return pixart ? ck.pixartConfig(spec.heads(), input) : ck.ditConfig(new DitConfig.Overrides(spec.heads(), spec.arch(), input));
    }

    public ModelSpec spec() { return spec; }

    public Backend backend() { return backend; }

    /** The transformer's architecture at the size it was opened for. */
    public ModelConfig config() { return model.config(); }

    /** Whether the model takes prompts (PixArt-α) rather than class labels (DiT). */
    public boolean textConditioned() { return model instanceof PixArt || model instanceof Sd3 || model instanceof Sd15; }

    /** Pixels per latent cell (see {@link #vaeFactor}). */
    public int vaeFactor() { return factor; }

    /** The output size in pixels. */
    public int imageSize() { return config().inputSize() * factor; }

    /** Whether generate can return 8-bit images: a VAE is loaded, or the model works in pixels. */
    public boolean canDecode() { return decoder != null || factor == 1; }

    /** The sampler a request without one gets: lcm for an LCM repository, else dpm-solver++. */
    public String defaultSampler() {
        return model instanceof PixArt p && p.lcm() ? "lcm" : model instanceof Sd3 ? "flow-euler" : model instanceof Sd15 ? "pndm" : "dpm-solver++";
    }

    /** The guidance a request without one gets for {@code sampler}: none for lcm, 4.5 for PixArt, 4.0 for DiT. */
    public double defaultCfg(String sampler) {
        if (sampler.trim().equalsIgnoreCase("lcm")) return 1; // LCM runs unguided
        return model instanceof Sd15 ? 7.5 : model instanceof Sd3 ? 7.0 : model instanceof PixArt ? 4.5 : 4.0;
    }

    /** Steps a request without them gets: 4 for lcm, else 20. */
    public static int defaultSteps(String sampler) {
        String s = sampler.trim().toLowerCase(java.util.Locale.ROOT);
        return s.equals("lcm") ? 4 : s.equals("flow-euler") ? 28 : 20;
    }

    /** The number of classes of a class-conditional model (0 for text models). */
    public int numClasses() { return model instanceof Dit d ? d.config().numClasses() : 0; }

    /** A request checked against this model, with its defaults filled in. */
    private record Prepared(Sampler sampler, int steps, double cfg, int images, int batch, Plan plan, int[] labels) {
        int branches() { return cfg > 1 ? 2 : 1; }
    }

    /**
     * Checks {@code r} against this model without running it (class range, prompts versus classes, guided
     * channels, noise shape, sampler, cache policy); a bad field is an InvalidParameter naming it.
     * Caption encoding, which needs the text encoder, is checked when the request runs.
     */
    public void validate(GenerationRequest r) { prepare(r); }

    private Prepared prepare(GenerationRequest r) {
        ModelConfig c = model.config();
        String samplerName = r.sampler() != null ? r.sampler() : defaultSampler();
        boolean lcm = samplerName.equals("lcm");
        int steps = r.steps() != null ? r.steps() : model instanceof Sd15 ? 50 : defaultSteps(samplerName);
        double cfg = r.cfg() != null ? r.cfg() : defaultCfg(samplerName);
        int n = r.images();
        int batch = r.batch() != null ? r.batch() : Math.min(n, 8);
        // sizes first: nothing of the request's size is allocated before they are known to fit
        MemoryEstimate.check(MemoryEstimate.latents(c, n), "count", n + " images");
        MemoryEstimate.check(MemoryEstimate.activations(c, (long) Math.min(batch, n) * (cfg > 1 ? 2 : 1)), "batch", "a batch of " + Math.min(batch, n) + " images");
        int[] labels = null;
        switch (model) {
            case Dit d -> {
                // named as given, so the CLI says the flag the user typed
                String given = r.textEmbeddings() != null ? "textEmbeddings" : r.negativePrompt() != null ? "negativePrompt" : "prompts";
                require(r.prompts() == null && r.textEmbeddings() == null && r.negativePrompt() == null, given,
                        "a class-conditional DiT takes class labels, not prompts or text embeddings");
                labels = labels(r, n, d.config().numClasses());
                if (r.guideChannels() != null) Guidance.checkChannels(r.guideChannels(), c.inChannels());
            }
            case Sd15 x -> {
                require(r.classes() == null, "classes", "a text-to-image model takes prompts, not class labels");
                require(r.guideChannels() == null, "guideChannels", "applies to DiT; SD 1.x guides every channel");
                require(r.textEmbeddings() == null, "textEmbeddings", "SD 1.x encodes its prompts with its CLIP encoder (text embeddings are PixArt's)");
                require(r.prompts() != null, "prompts", "a text-to-image model needs prompts");
                require(samplerName.equals("ddim") || samplerName.equals("pndm") || Samplers.isDpmSolver(samplerName), "sampler",
                        "SD 1.x runs with pndm, ddim or dpm-solver++ here (its scheduler config's schedule); " + samplerName + " is not wired for it yet");
            }
            case Sd3 x -> {
                require(r.classes() == null, "classes", "a text-to-image model takes prompts, not class labels");
                require(r.guideChannels() == null, "guideChannels", "applies to DiT; SD3 guides every channel");
                require(r.textEmbeddings() == null, "textEmbeddings", "SD3 encodes its prompts with its three encoders (text embeddings are PixArt's)");
                require(r.prompts() != null, "prompts", "a text-to-image model needs prompts");
                require(samplerName.equals("flow-euler"), "sampler", "SD3 predicts a flow velocity: it samples with flow-euler, not " + samplerName);
                require(r.spacing() == null, "spacing", "flow-euler spaces its σ itself (shift " + x.shift() + ")");
            }
            case PixArt p -> {
                require(r.classes() == null, "classes", "a text-to-image model takes prompts, not class labels");
                require(r.guideChannels() == null, "guideChannels", "applies to DiT; PixArt guides every channel, as diffusers does");
                require(r.prompts() != null || r.textEmbeddings() != null || spec.randomWeights(), "prompts", "a text-to-image model needs prompts (or text embeddings)");
            }
        }
        require(r.eta() == null || samplerName.equals("ddim"), "eta", "applies to ddim, not " + samplerName);
        require(r.finalSigma() == null || Samplers.isDpmSolver(samplerName), "finalSigma", "applies to dpm-solver++, not " + samplerName);
        require(r.lcmTimesteps() == null || lcm, "lcmTimesteps", "applies to lcm, not " + samplerName);
        require(!r.decode() || canDecode(), "vae", "this model makes " + c.inChannels() + "-channel latents: give a VAE to decode them (or keep the latents only)");
        require(!samplerName.equals("flow-euler") || model instanceof Sd3, "sampler", "flow-euler is for flow-matching models (SD3); this model predicts noise");
        require(!samplerName.equals("pndm") || model instanceof Sd15, "sampler", "pndm is wired for SD 1.x repositories (their scheduler config); use " + defaultSampler());
        Sampler sampler = model instanceof Sd3 x ? new FlowMatchEulerSampler(steps, x.shift())
                : model instanceof Sd15 x ? x.scheduler().sampler(samplerName, steps, r.spacing(), r.eta() == null ? 0 : r.eta())
                : Samplers.create(samplerName, steps, r.spacing() == null ? null : Spacing.parse(r.spacing()), c instanceof DitConfig, r.eta() == null ? 0 : r.eta(),
                lcm ? "legacy".equals(r.lcmTimesteps()) : "min".equals(r.finalSigma()));
        if (r.clipSample() != null) sampler.clipSample(r.clipSample());
        if (r.thresholding() != null) sampler.thresholding(r.thresholding());
        steps = sampler.steps(); // PNDM runs the model N + 1 times for N steps: the plan covers every evaluation
        CachePolicy policy = r.cache().resolve(steps, c, cfg > 1 ? 2 : 1);
        if (c instanceof UNetConfig u) unetPolicy(policy, u);
        Plan plan = Plan.of(policy, steps, c.depth());
        if (r.noise() != null) {
            int side = c.inputSize();
            int[] want = {n, c.inChannels(), side, side};
            require(java.util.Arrays.equals(r.noise().shape(), want), "noise", r.noise().shapeString() + ", this run needs " + java.util.Arrays.toString(want));
        }
        return new Prepared(sampler, steps, cfg, n, batch, plan, labels);
    }

    /** Runs {@code request}; {@code listener} (may be null) hears of every step. */
    public GenerationResult generate(GenerationRequest r, ProgressListener listener) {
        ProgressListener l = listener != null ? listener : ProgressListener.NONE;
        Prepared pr = prepare(r);
        ModelConfig c = model.config();
        Sampler sampler = pr.sampler();
        int steps = pr.steps(), n = pr.images(), bsz = pr.batch(), branches = pr.branches();
        double cfg = pr.cfg();
        Plan plan = pr.plan();
        CachePolicy policy = plan.policy();
        Batches batches = batches(r, pr);
        Tensor noise = initialNoise(r, n, c);
        Noise fresh = Noise.fresh(r.seed(), r.firstImage(), n);

        int total = steps * ((n + bsz - 1) / bsz);
        double[] stepSeconds = new double[total], stepBlockSeconds = new double[total];
        int[] done = {0};
        long start = System.nanoTime();
        long[] last = {start};
        List<Tensor> parts = new ArrayList<>();
        long cacheBytes = 0;
        int hits = 0;
        CachePolicy dynamic = CachePolicy.runTime(policy) ? policy : null;
        boolean cached = !(policy instanceof CachePolicy.None) && dynamic == null;
        long[] dynamicMacs = {0, 0};
        int[] reusedRows = dynamic == null ? new int[0] : new int[steps];
        for (int from = 0; from < n; from += bsz) {
            int to = Math.min(n, from + bsz), f0 = from, cnt = to - from;
            DeltaStore store = cached ? new DeltaStore(r.cacheBf16()) : null;
            GuidedDenoiser<?> den = batches.denoiser(from, to, cached ? plan : null, store);
            den.observe(l.blocks(from, to));
            if (dynamic != null) den.dynamic(dynamic, c);
            long[] lastBlock = {0};
            parts.add(sampler.sample(noise.slice(0, from, to), den, k -> fresh.next(f0, cnt, k / cnt), (i, t) -> {
                long now = System.nanoTime(), inBlocks = den.blockNanos();
                stepBlockSeconds[done[0]] = (inBlocks - lastBlock[0]) / 1e9;
                lastBlock[0] = inBlocks;
                stepSeconds[done[0]++] = (now - last[0]) / 1e9;
                last[0] = now;
                l.step(done[0], total, (now - start) / 1e9);
            }));
            if (store != null) {
                cacheBytes = Math.max(cacheBytes, store.peakBytes());
                hits += store.hits();
            }
            if (dynamic != null) {
                long[] m = den.dynamicMacs();
                dynamicMacs[0] += m[0];
                dynamicMacs[1] += m[1];
                List<Integer> reuse = den.dynamicReuse();
                for (int s = 0; s < reuse.size(); s++) {
                    reusedRows[s] += reuse.get(s);
                    hits += reuse.get(s);
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Tensor latents = Tensor.concat(0, parts.toArray(new Tensor[0]));
        List<Image> images = new ArrayList<>();
        if (r.decode()) {
            Tensor pixels = decoder != null ? decoder.decode(latents) : latents;
            for (int i = 0; i < n; i++) images.add(Image.of(pixels, i));
        }
        return new GenerationResult(images, r.keepLatents() ? latents : null, pr.labels(), sampler.name(), steps, cfg, plan, sampler.timesteps(),
                dynamic != null ? dynamicMacs[0] : plan.macs(c, n, branches), dynamic != null ? dynamicMacs[1] : plan.macsWithAttention(c, n, branches),
                Plan.uncachedMacs(c, steps, n, branches), seconds, stepSeconds, stepBlockSeconds, hits, cacheBytes, reusedRows);
    }

    /** A request's conditioning, as denoisers for its batches. */
    @FunctionalInterface
    private interface Batches {
        GuidedDenoiser<?> denoiser(int from, int to, Plan plan, DeltaStore store);
    }

    private Batches batches(GenerationRequest r, Prepared pr) {
        double cfg = pr.cfg();
        return switch (model) {
            case Dit d -> {
                int guided = r.guideChannels() != null ? r.guideChannels() : d.config().inChannels();
                int[] labels = pr.labels();
                yield (from, to, plan, store) -> new GuidedDenoiser<>(d.net(), Conditioner.dit(d.net(), java.util.Arrays.copyOfRange(labels, from, to)),
                        to - from, cfg, guided, plan, store);
            }
            case Sd15 x -> {
                int n = pr.images();
                List<String> texts = new ArrayList<>();
                for (int i = 0; i < n; i++) texts.add(r.prompts().get(i % r.prompts().size()));
                if (cfg > 1) for (int i = 0; i < n; i++) texts.add(r.negativePrompt() == null ? "" : r.negativePrompt());
                Tensor states = ClipText.lastStates(x.repository(), texts, x.config().crossDim(), backend);
                yield (from, to, plan, store) -> {
                    Tensor rows = states.slice(0, from, to);
                    if (cfg > 1) rows = Tensor.concat(0, rows, states.slice(0, n + from, n + to));
                    Tensor text = rows.contiguous();
                    Conditioner<UNetModel.Step> cond = (t, a, b) -> {
                        float[] ts = new float[b - a];
                        java.util.Arrays.fill(ts, t);
                        return x.net().condition(ts, text.slice(0, a, b).contiguous());
                    };
                    return new GuidedDenoiser<>(x.net(), cond, to - from, cfg, x.config().outChannels(), plan, store);
                };
            }
            case Sd3 x -> {
                int n = pr.images();
                List<String> texts = new ArrayList<>();
                for (int i = 0; i < n; i++) texts.add(r.prompts().get(i % r.prompts().size()));
                if (cfg > 1) for (int i = 0; i < n; i++) texts.add(r.negativePrompt() == null ? "" : r.negativePrompt());
                Sd3Text.Encoded e = encodeDistinct(x, texts);
                yield (from, to, plan, store) -> {
                    Tensor pooled = e.pooled().slice(0, from, to), context = e.context().slice(0, from, to);
                    if (cfg > 1) {
                        pooled = Tensor.concat(0, pooled, e.pooled().slice(0, n + from, n + to));
                        context = Tensor.concat(0, context, e.context().slice(0, n + from, n + to));
                    }
                    return new GuidedDenoiser<>(x.net(), Conditioner.sd3(x.net(), pooled.contiguous(), context.contiguous()), to - from, cfg,
                            x.config().outChannels(), plan, store);
                };
            }
            case PixArt p -> {
                Captions.Pair text = spec.randomWeights() && r.prompts() == null && r.textEmbeddings() == null
                        ? Captions.random(p.config(), pr.images(), r.seed()) // timing only: random caption features, every token valid
                        : Captions.resolve(new Captions.Sources(r.prompts(), r.negativePrompt(), r.textEmbeddings(), spec.textEncoder(), spec.tokenizer(), repository(spec)),
                                p.net(), p.format(), pr.images(), cfg > 1, backend);
                int px = imageSize();
                yield (from, to, plan, store) -> {
                    var uncond = text.uncond() == null ? null : text.uncond().count() == 1 ? text.uncond() : text.uncond().rows(from, to, text.uncond().tokens());
                    var cond = text.cond().rows(from, to, text.cond().tokens());
                    return new GuidedDenoiser<>(p.net(), Conditioner.pixart(p.net(), cond, cfg > 1 ? uncond : null, px, px), to - from, cfg,
                            p.config().outChannels(), plan, store);
                };
            }
        };
    }

    /** The U-Net takes Δ-Cache (or its forecast) over a span {@link UNetConfig#checkSpan} accepts; the block-stack policies do not apply. */
    private static void unetPolicy(CachePolicy p, UNetConfig u) {
        switch (p) {
            case CachePolicy.None n -> { }
            case CachePolicy.DeltaCache d -> u.checkSpan(d.from(), d.to());
            case CachePolicy.Forecast f -> u.checkSpan(f.from(), f.to());
            case CachePolicy.DeepCache d -> u.checkSpan(d.from(), d.to());
            default -> throw new InvalidParameter("cache", p.describe() + " is for transformer block stacks; the U-Net takes deepcache (--branch K) or delta-cache (or forecast) --range I:J over a span with balanced skips (dit plan --arch SD1.5 lists its blocks)");
        }
    }

    /** Encodes each distinct text once (the negative prompt is one text for every image) and spreads the rows back. */
    private Sd3Text.Encoded encodeDistinct(Sd3 x, List<String> texts) {
        List<String> distinct = new ArrayList<>(new java.util.LinkedHashSet<>(texts));
        Sd3Text.Encoded d = Sd3Text.encode(x.repository(), distinct, x.config(), backend);
        Tensor[] ctx = new Tensor[texts.size()], pooled = new Tensor[texts.size()];
        for (int i = 0; i < texts.size(); i++) {
            int k = distinct.indexOf(texts.get(i));
            ctx[i] = d.context().slice(0, k, k + 1);
            pooled[i] = d.pooled().slice(0, k, k + 1);
        }
        return new Sd3Text.Encoded(Tensor.concat(0, ctx), Tensor.concat(0, pooled));
    }

    /** The class of each image: the listed ones in turn, else drawn from the seed; each checked against the model. */
    private static int[] labels(GenerationRequest r, int n, int numClasses) {
        int[] y = new int[n];
        SplittableRandom rnd = new SplittableRandom(r.seed());
        if (r.classes() == null) for (int i = 0; i < r.firstImage(); i++) rnd.nextInt(numClasses); // the draws of the images before this part
        for (int i = 0; i < n; i++) {
            y[i] = r.classes() != null ? r.classes().get(i % r.classes().size()) : rnd.nextInt(numClasses);
            require(y[i] < numClasses, "classes", y[i] + " outside [0, " + numClasses + ")");
        }
        return y;
    }

    /** x_T: the request's noise (its shape checked in prepare), else image i's values from the stream (seed, i). */
    private static Tensor initialNoise(GenerationRequest r, int n, ModelConfig c) {
        int side = c.inputSize();
        if (r.noise() != null) return r.noise().to(DType.F32);
        return Tensor.of(new Noise(r.seed(), r.firstImage(), n).next(0, n, c.inChannels() * side * side), n, c.inChannels(), side, side);
    }

    /** Unmaps the checkpoint; the pipeline cannot be used after. */
    @Override
    public void close() {
        if (checkpoint != null) checkpoint.close();
    }
}
