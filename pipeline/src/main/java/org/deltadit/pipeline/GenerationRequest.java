package org.deltadit.pipeline;

import static org.deltadit.engine.InvalidParameter.require;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.deltadit.cache.CacheSpec;
import org.deltadit.engine.Tensor;
import org.deltadit.sampler.Sampler;
import org.deltadit.sampler.Samplers;
import org.deltadit.sampler.Spacing;
import org.deltadit.sampler.Thresholding;

/**
 * What to generate. A bad request cannot be built: the compact constructor checks every field on its
 * own, and {@link Pipeline#generate} checks what depends on the model (class range, caption width,
 * noise shape). Null fields take the model's defaults. Errors are {@link org.deltadit.engine.InvalidParameter}s
 * naming the field.
 *
 * @param classes        DiT: class labels, one image each, repeated up to count (null: drawn from the seed)
 * @param prompts        PixArt: captions, one image each, repeated up to count
 * @param negativePrompt PixArt (diffusers layout): the unconditional branch's caption (null: empty)
 * @param textEmbeddings PixArt: a safetensors file of encoded captions (embeds, mask; see dit encode) instead of prompts
 * @param count          images (null: one per class or prompt, else 1)
 * @param batch          images per model batch (null: min(count, 8)); changes speed and memory, never the images
 * @param seed           noise seed: image i's noise depends only on (seed, i)
 * @param firstImage     the index of this request's first image in a larger run (0: none): image k draws the
 *                       noise of image firstImage + k of that run (and, without classes, its drawn class), so a
 *                       run split into parts (a cluster's partitions), each listing its own classes or prompts,
 *                       makes the same images as the whole
 * @param steps          sampling steps (null: 20, 4 for lcm)
 * @param sampler        ddpm, ddim, dpm-solver++, euler, deis, lcm (null: the model's default)
 * @param spacing        dit, linspace, leading, trailing (null: the sampler's default)
 * @param cfg            classifier-free guidance scale, 1 or less for none (null: the model's default)
 * @param guideChannels  DiT: latent channels guidance mixes (null: all)
 * @param eta            DDIM η (null: 0; only with ddim)
 * @param finalSigma     DPM-Solver++ last step: zero or min (null: zero; only with dpm-solver++)
 * @param lcmTimesteps   LCM: current or legacy (null: current; only with lcm)
 * @param clipSample     clamp each predicted x0 to [−clipSample, clipSample] (null: no clamp; ddpm, ddim and
 *                       dpm-solver++; for pixel-space models such as the demo, diffusers' clip_sample)
 * @param thresholding   dynamic thresholding of each predicted x0 (null: none; the same samplers; not with clipSample;
 *                       diffusers' thresholding, dynamic_thresholding_ratio and sample_max_value)
 * @param cache          the cache policy (null: none)
 * @param cacheBf16      keep cached state in BF16
 * @param noise          x_T [count, C, H, W] instead of seeded noise (null: seeded)
 * @param decode         return 8-bit images (needs a VAE for latent models)
 * @param keepLatents    return the final latents
 */
public record GenerationRequest(List<Integer> classes, List<String> prompts, String negativePrompt, Path textEmbeddings,
                                Integer count, Integer batch, long seed, int firstImage, Integer steps, String sampler, String spacing,
                                Double cfg, Integer guideChannels, Double eta, String finalSigma, String lcmTimesteps, Double clipSample,
                                Thresholding thresholding, CacheSpec cache, boolean cacheBf16, Tensor noise, boolean decode, boolean keepLatents) {

    private static final Set<String> SAMPLERS = Set.of("ddpm", "ddim", "dpm-solver++", "dpmsolver++", "dpm++", "euler", "deis", "lcm", "flow-euler", "pndm");

    public GenerationRequest {
        if (classes != null) {
            require(!classes.isEmpty(), "classes", "empty list");
            for (Integer y : classes) require(y != null && y >= 0, "classes", y + " (class labels are at least 0)");
            classes = List.copyOf(classes);
        }
        if (prompts != null) {
            require(!prompts.isEmpty(), "prompts", "empty list");
            for (String p : prompts) require(p != null, "prompts", "a missing prompt");
            prompts = List.copyOf(prompts);
        }
        require(classes == null || (prompts == null && textEmbeddings == null && negativePrompt == null), "classes",
                "class labels are for class-conditional models, prompts (a negative prompt, text embeddings) for text-to-image ones: give one kind");
        require(prompts == null || textEmbeddings == null, "textEmbeddings", "prompts and text embeddings exclude each other");
        require(count == null || count >= 1, "count", count + " (must be at least 1)");
        require(batch == null || batch >= 1, "batch", batch + " (must be at least 1)");
        require(firstImage >= 0, "firstImage", firstImage + " (must be at least 0)");
        require(firstImage == 0 || noise == null, "firstImage", "needs seeded noise; the request gives its noise");
        require(steps == null || steps >= 1, "steps", steps + " (must be at least 1)");
        if (sampler != null) {
            sampler = sampler.trim().toLowerCase(Locale.ROOT);
            require(SAMPLERS.contains(sampler), "sampler", "unknown sampler '" + sampler + "' (" + Samplers.NAMES + ", flow-euler for SD3, pndm for SD 1.x)");
        }
        if (spacing != null) Spacing.parse(spacing);
        require(cfg == null || (cfg >= 0 && cfg <= 100), "cfg", cfg + " (0..100)");
        require(guideChannels == null || guideChannels >= 1, "guideChannels", guideChannels + " (must be at least 1)");
        require(eta == null || (eta >= 0 && eta <= 1), "eta", eta + " (0..1)");
        if (clipSample != null) Sampler.checkClipRange(clipSample);
        require(clipSample == null || thresholding == null, "thresholding", "and the clip-sample clamp exclude each other (thresholding with max 1 is the clamp to ±1)");
        // a list longer than count would drop its tail without a word
        require(classes == null || count == null || count >= classes.size(), "count", count + " is fewer than the " + (classes == null ? 0 : classes.size()) + " classes listed");
        require(prompts == null || count == null || count >= prompts.size(), "count", count + " is fewer than the " + (prompts == null ? 0 : prompts.size()) + " prompts given");
        require(finalSigma == null || finalSigma.equals("zero") || finalSigma.equals("min"), "finalSigma", "'" + finalSigma + "' (zero or min)");
        require(lcmTimesteps == null || lcmTimesteps.equals("current") || lcmTimesteps.equals("legacy"), "lcmTimesteps", "'" + lcmTimesteps + "' (current or legacy)");
        if (cache == null) cache = CacheSpec.NONE;
        require(!cacheBf16 || !cache.isNone(), "cacheBf16", "needs a cache policy; the cache is none");
        require(noise == null || noise.rank() == 4, "noise", noise == null ? "" : noise.shapeString() + " (needs [count, C, H, W])");
        require(decode || keepLatents, "decode", "a request that neither decodes images nor keeps latents returns nothing");
    }

    /** The number of images: count, else one per class or prompt, else 1. */
    public int images() { return count != null ? count : classes != null ? classes.size() : prompts != null ? prompts.size() : 1; }

    public static Builder builder() { return new Builder(); }

    /** Fluent construction with the defaults (decode images, keep no latents); {@link #build} validates. */
    public static final class Builder {
        private List<Integer> classes;
        private List<String> prompts;
        private String negativePrompt, sampler, spacing, finalSigma, lcmTimesteps;
        private Path textEmbeddings;
        private Integer count, batch, steps, guideChannels;
        private long seed;
        private int firstImage;
        private Double cfg;
        private Double eta, clipSample;
        private Thresholding thresholding;
        private CacheSpec cache;
        private boolean cacheBf16, decode = true, keepLatents;
        private Tensor noise;

        public Builder classes(List<Integer> v) { classes = v; return this; }
        public Builder classes(Integer... v) { classes = List.of(v); return this; }
        public Builder prompts(List<String> v) { prompts = v; return this; }
        public Builder prompts(String... v) { prompts = List.of(v); return this; }
        public Builder negativePrompt(String v) { negativePrompt = v; return this; }
        public Builder textEmbeddings(Path v) { textEmbeddings = v; return this; }
        public Builder count(Integer v) { count = v; return this; }
        public Builder batch(Integer v) { batch = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder firstImage(int v) { firstImage = v; return this; }
        public Builder steps(Integer v) { steps = v; return this; }
        public Builder sampler(String v) { sampler = v; return this; }
        public Builder spacing(String v) { spacing = v; return this; }
        public Builder cfg(Double v) { cfg = v; return this; }
        public Builder guideChannels(Integer v) { guideChannels = v; return this; }
        public Builder eta(Double v) { eta = v; return this; }
        public Builder finalSigma(String v) { finalSigma = v; return this; }
        public Builder lcmTimesteps(String v) { lcmTimesteps = v; return this; }
        public Builder clipSample(Double v) { clipSample = v; return this; }
        public Builder thresholding(Thresholding v) { thresholding = v; return this; }
        public Builder cache(CacheSpec v) { cache = v; return this; }
        public Builder cacheBf16(boolean v) { cacheBf16 = v; return this; }
        public Builder noise(Tensor v) { noise = v; return this; }
        public Builder decode(boolean v) { decode = v; return this; }
        public Builder keepLatents(boolean v) { keepLatents = v; return this; }

        public GenerationRequest build() {
            return new GenerationRequest(classes, prompts, negativePrompt, textEmbeddings, count, batch, seed, firstImage, steps, sampler, spacing, cfg,
                    guideChannels, eta, finalSigma, lcmTimesteps, clipSample, thresholding, cache, cacheBf16, noise, decode, keepLatents);
        }
    }
}
