package org.deltadit.spark;

import org.deltadit.cache.CacheSpec;
import picocli.CommandLine.Option;

/** The sampling flags of dit generate, with the same names, defaults and meanings. */
final class SamplingOptions {
    @Option(names = "--seed", defaultValue = "0", description = "noise seed: image i's noise is (seed, i) (default: ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--steps", description = "sampling steps (default: 20; 4 for lcm)")
    Integer steps;
    @Option(names = "--sampler", description = "ddpm, ddim, dpm-solver++, euler, deis, lcm (default: dpm-solver++)")
    String sampler;
    @Option(names = "--spacing", description = "dit, linspace, leading, trailing (default: the sampler's)")
    String spacing;
    @Option(names = "--cfg", description = "classifier-free guidance scale; 1 or less: none (default: 4.0 DiT, 4.5 PixArt)")
    Double cfg;
    @Option(names = "--batch", description = "images per model batch within a task (default: min(images of the task, 8))")
    Integer batch;
    @Option(names = "--guide-channels", description = "latent channels guidance mixes (default: all)")
    Integer guideChannels;
    @Option(names = "--eta", description = "DDIM η (default: 0; ddim only)")
    Double eta;
    @Option(names = "--clip-sample", description = "clamp each predicted x0 to [-R, R], as diffusers' clip_sample (ddpm, ddim, dpm-solver++; for pixel-space models such as the demo; default: none)")
    Double clipSample;
    @Option(names = "--dynamic-thresholding", paramLabel = "RATIO[,MAX]", description = "threshold each predicted x0 per image at the RATIO quantile of |x0|, held to [1, MAX], as diffusers' thresholding (as dit generate; default: none)")
    String thresholding;

    GenerateJob.Settings settings(CacheSpec cache, String negativePrompt) {
        return new GenerateJob.Settings(seed, steps, sampler, spacing, cfg, batch, guideChannels, eta, clipSample,
                org.deltadit.sampler.Thresholding.parse(thresholding), negativePrompt, cache, false);
    }
}
