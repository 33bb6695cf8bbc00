package org.deltadit.sampler;

import static org.deltadit.sampler.ClipSampleTest.WILD;
import static org.deltadit.sampler.ClipSampleTest.fresh;
import static org.deltadit.sampler.ClipSampleTest.noise;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Supplier;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Dynamic thresholding by hand (the quantile, both bounds, image by image) and in the samplers; the DDIM and
 * DPM-Solver++ runs against PyTorch are in cache's SamplingParityTest (tiny_dit_thresholding.safetensors).
 */
class ThresholdingTest {

    @Test
    void theQuantileIsInterpolatedAndEachImageHasItsOwn() {
        // image 0: |x0| sorted 0.5, 1, 2, 3 → the 0.5 quantile at position 1.5 is 1.5; image 1: all under 1 → s = 1
        double[] x0 = {-3, 0.5, 2, -1, 0.2, -0.9, 0.4, 0.1};
        new Thresholding(0.5, 10).apply(x0, 4);
        assertArrayEquals(new double[] {-1, 0.5 / 1.5, 1, -1 / 1.5, 0.2, -0.9, 0.4, 0.1}, x0, 1e-12);
    }

    @Test
    void theThresholdIsHeldToTheMaxValue() {
        double[] x0 = {-3, 0.5, 2, -1};
        new Thresholding(0.5, 1.2).apply(x0, 4);
        assertArrayEquals(new double[] {-1, 0.5 / 1.2, 1, -1 / 1.2}, x0, 1e-12);
        double[] top = {-3, 0.5, 2, -1};
        new Thresholding(1, 100).apply(top, 4); // the 1 quantile is the largest |x0|
        assertArrayEquals(new double[] {-1, 0.5 / 3, 2.0 / 3, -1.0 / 3}, top, 1e-12);
    }

    /** x0 = (x − σ·ε)/α a little past ±1 at the end: ε = x·(1 − 1.3·α)/σ, so x0 → 1.3·x. */
    private static final Denoiser MILD = (x, ctx) -> {
        float[] v = x.toFloatArray(), e = new float[v.length];
        double ab = new NoiseSchedule().alphaBar((int) Math.round(ctx.timestep())), a = Math.sqrt(ab), sg = Math.sqrt(1 - ab);
        for (int k = 0; k < v.length; k++) e[k] = (float) (v[k] * (1 - 1.3 * a) / sg);
        return Tensor.of(e, x.shape());
    };

    /** With max value 1, s is 1 whatever the quantile: the clamp to ±1 (clipSample 1), in every sampler that forms x0. */
    @Test
    void maxValueOneIsTheClampToOne() {
        for (Supplier<Sampler> make : java.util.List.<Supplier<Sampler>>of(() -> new DdimSampler(5, Spacing.LINSPACE, 0),
                () -> new DdpmSampler(5, Spacing.LINSPACE), () -> new DpmSolverPlusPlus(5, Spacing.LINSPACE, false))) {
            float[] t = make.get().thresholding(new Thresholding(0.995, 1)).sample(noise(), WILD, fresh(), null).toFloatArray();
            float[] c = make.get().clipSample(1).sample(noise(), WILD, fresh(), null).toFloatArray();
            assertArrayEquals(c, t, make.get().name());
        }
    }

    /** A larger max value rescales instead of flattening: the result differs from the clamp, and DPM-Solver++'s last step lands inside ±1. */
    @Test
    void aLargerMaxValueRescales() {
        float[] t = new DpmSolverPlusPlus(5, Spacing.LINSPACE, false).thresholding(new Thresholding(0.9, 1.5)).sample(noise(), MILD, fresh(), null).toFloatArray();
        float[] c = new DpmSolverPlusPlus(5, Spacing.LINSPACE, false).clipSample(1).sample(noise(), MILD, fresh(), null).toFloatArray();
        double moved = 0;
        for (int k = 0; k < t.length; k++) {
            assertTrue(t[k] >= -1 && t[k] <= 1, "the last step lands on the thresholded x0: " + t[k]);
            moved = Math.max(moved, Math.abs(t[k] - c[k]));
        }
        assertTrue(moved > 0.05, "thresholding to 1.5 equals the clamp to 1 (" + moved + ")");
    }

    @Test
    void badSpecsSamplersAndCombinationsAreRefused() {
        assertEquals(new Thresholding(0.995, 1.5), Thresholding.parse(" 0.995, 1.5 "));
        assertEquals(new Thresholding(0.9, 1), Thresholding.parse("0.9"));
        assertEquals(null, Thresholding.parse(null));
        for (String bad : new String[] {"abc", "0", "1.5", "-0.1", "0.9,0.5", "0.9,1,2", "0.9,", "NaN"}) {
            InvalidParameter e = assertThrows(InvalidParameter.class, () -> Thresholding.parse(bad), bad);
            assertTrue(e.getMessage().contains("thresholding"), e.getMessage());
        }
        InvalidParameter e = assertThrows(InvalidParameter.class, () -> new EulerSampler(5, Spacing.LINSPACE).thresholding(new Thresholding(0.9, 1)));
        assertTrue(e.getMessage().contains("not euler"), e.getMessage());
        assertThrows(InvalidParameter.class, () -> new DdimSampler(5, Spacing.LINSPACE, 0).clipSample(1).thresholding(new Thresholding(0.9, 1)));
        assertThrows(InvalidParameter.class, () -> new DdimSampler(5, Spacing.LINSPACE, 0).thresholding(new Thresholding(0.9, 1)).clipSample(1));
    }
}
