package org.deltadit.pipeline;

import java.util.List;
import org.deltadit.cache.Plan;
import org.deltadit.engine.Tensor;

/**
 * What a generation made and measured.
 *
 * @param images            8-bit images in request order (empty when the request did not decode)
 * @param latents           the final samples before any VAE [count, C, H, W], F32 (null unless kept)
 * @param labels            DiT: the class of each image (null for text models)
 * @param sampler           the sampler's name
 * @param steps             sampling steps
 * @param cfg               the guidance scale used (1 or less: none)
 * @param plan              the per-step cache plan (its policy says which)
 * @param timesteps         the model timestep of each step
 * @param macs              multiply-accumulates of the run, paper convention, all images
 * @param macsWithAttention the same plus the attention products
 * @param macsUncached      the same run without a cache
 * @param seconds           wall time of sampling (all batches; loading, encoding and decoding excluded)
 * @param stepSeconds       wall time of each step of each batch, in order
 * @param stepBlockSeconds  of which inside the transformer blocks (the rest: embedding, final layer, Δ arithmetic, guidance, sampler)
 * @param cacheHits         cached steps (or gated steps) served from the cache, all batches
 * @param cacheBytes        the most cached state held at once by one batch
 * @param reusedRows        a run-time policy (fbcache): rows (image × guidance branch) that skipped the blocks at
 *                          each step, all batches; empty for a static plan — its MACs then count what ran
 */
public record GenerationResult(List<Image> images, Tensor latents, int[] labels, String sampler, int steps, double cfg, Plan plan,
                               float[] timesteps, long macs, long macsWithAttention, long macsUncached, double seconds, double[] stepSeconds,
                               double[] stepBlockSeconds, int cacheHits, long cacheBytes, int[] reusedRows) {
    public GenerationResult {
        images = List.copyOf(images);
        reusedRows = reusedRows.clone();
        if (stepBlockSeconds.length != stepSeconds.length) throw new IllegalArgumentException("generation result: " + stepBlockSeconds.length + " block times for " + stepSeconds.length + " steps");
    }

    /** Seconds inside the blocks, all steps. */
    public double blockSeconds() {
        double s = 0;
        for (double v : stepBlockSeconds) s += v;
        return s;
    }

    /** The MAC saving: uncached / cached. */
    public double speedup() { return macsUncached / (double) macs; }
}
