package org.deltadit.cache;

import static org.deltadit.cache.SamplingParityTest.run;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import org.junit.jupiter.api.Test;

/**
 * Cached guided sampling of the tiny 3-block DiT against tools/reference/sampler_reference.py: the
 * same policies applied in PyTorch (blocks skipped, Δ added, per batch row). Each policy must also
 * change the result, so a cache that does nothing cannot pass.
 */
class CachedParityTest {
    static final CachePolicy DELTA_DIT = new CachePolicy.DeltaDit(3, 2, 2, false);

    @Test
    void deltaDitWithDdimAndDpmSolver() throws URISyntaxException {
        float[] cached = run("ddim", 6, 4, DELTA_DIT, "ddim6_deltadit");
        float[] plain = run("ddim", 6, 4, new CachePolicy.None(), "ddim6_none");
        run("dpm-solver++", 6, 4, DELTA_DIT, "dpmpp6_deltadit");
        assertDiffers(plain, cached, "delta-dit");
    }

    @Test
    void reversedDeltaDit() throws URISyntaxException { run("dpm-solver++", 6, 4, new CachePolicy.DeltaDit(3, 2, 2, true), "dpmpp6_reverse"); }

    @Test
    void deltaCacheOnAFixedRange() throws URISyntaxException {
        assertDiffers(run("ddim", 6, 4, null, "ddim6_none"), run("ddim", 6, 4, new CachePolicy.DeltaCache(1, 2, 2), "ddim6_deltacache"), "delta-cache");
        run("dpm-solver++", 6, 4, new CachePolicy.DeltaCache(1, 2, 2), "dpmpp6_deltacache");
    }

    @Test
    void fasterDiffusionFeatureReuse() throws URISyntaxException {
        run("dpm-solver++", 6, 4, new CachePolicy.FasterDiffusion(2, 2), "dpmpp6_faster");
        assertDiffers(run("ddim", 6, 4, null, "ddim6_none"), run("ddim", 6, 4, new CachePolicy.FasterDiffusion(2, 2), "ddim6_faster"), "faster-diffusion");
    }

    @Test
    void skippingWithoutCompensation() throws URISyntaxException {
        assertDiffers(run("ddim", 6, 4, null, "ddim6_none"), run("ddim", 6, 4, new CachePolicy.Skip(0, 2, 3), "ddim6_skip"), "skip");
        run("dpm-solver++", 6, 4, new CachePolicy.Skip(0, 2, 3), "dpmpp6_skip");
    }

    static void assertDiffers(float[] plain, float[] cached, String what) {
        double diff = 0;
        for (int i = 0; i < plain.length; i++) diff = Math.max(diff, Math.abs(plain[i] - cached[i]));
        assertTrue(diff > 1e-3, what + " left the result unchanged (max difference " + diff + ")");
    }
}
