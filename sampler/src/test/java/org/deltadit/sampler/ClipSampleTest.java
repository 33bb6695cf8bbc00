package org.deltadit.sampler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Tensor;
import org.junit.jupiter.api.Test;

/**
 * {@code clipSample}: a sampler that clamps x0 must equal the same sampler without clamping fed the ε that
 * gives the clamped x0 (ε' = (x/√ᾱ − clamp(x0))/√(1/ᾱ − 1), as IDDPM and diffusers re-derive it) at every step.
 */
class ClipSampleTest {
    private static final NoiseSchedule SCHEDULE = new NoiseSchedule();

    /** A model whose x0 lies far outside [−1, 1]: ε = −3x + 0.5. */
    private static float[] wild(float[] x) {
        float[] e = new float[x.length];
        for (int k = 0; k < x.length; k++) e[k] = -3 * x[k] + 0.5f;
        return e;
    }

    static final Denoiser WILD = (x, ctx) -> Tensor.of(wild(x.toFloatArray()), x.shape());

    /** The ε whose x0 is WILD's x0 clamped to [−1, 1], at the step's ᾱ. */
    private static final Denoiser REDERIVED = (x, ctx) -> {
        float[] v = x.toFloatArray(), e = wild(v);
        double ab = SCHEDULE.alphaBar(Math.round(ctx.timestep()));
        double a = Math.sqrt(1 / ab), s = Math.sqrt(1 / ab - 1);
        for (int k = 0; k < v.length; k++) {
            double x0 = Math.max(-1, Math.min(1, a * v[k] - s * e[k]));
            e[k] = (float) ((a * v[k] - x0) / s);
        }
        return Tensor.of(e, x.shape());
    };

    static Tensor noise() {
        SplittableRandom r = new SplittableRandom(3);
        float[] v = new float[2 * 1 * 4 * 4];
        for (int k = 0; k < v.length; k++) v[k] = (float) r.nextGaussian();
        return Tensor.of(v, 2, 1, 4, 4);
    }

    static Sampler.FreshNoise fresh() {
        SplittableRandom r = new SplittableRandom(9);
        return n -> {
            float[] v = new float[n];
            for (int k = 0; k < n; k++) v[k] = (float) r.nextGaussian();
            return v;
        };
    }

    private static void check(Supplier<Sampler> make) {
        Tensor clipped = make.get().clipSample(1).sample(noise(), WILD, fresh(), null);
        Tensor rederived = make.get().sample(noise(), REDERIVED, fresh(), null);
        Tensor plain = make.get().sample(noise(), WILD, fresh(), null);
        float[] c = clipped.toFloatArray(), r = rederived.toFloatArray(), p = plain.toFloatArray();
        double moved = 0;
        for (int k = 0; k < c.length; k++) {
            assertEquals(r[k], c[k], 1e-4 * Math.max(1, Math.abs(r[k])), make.get().name() + " element " + k);
            moved = Math.max(moved, Math.abs(c[k] - p[k]));
        }
        assertTrue(moved > 0.1, make.get().name() + ": clamping x0 changed nothing (" + moved + ")");
    }

    @Test
    void ddimClampsX0AndRederivesEps() { check(() -> new DdimSampler(5, Spacing.LINSPACE, 0)); }

    @Test
    void ddpmClampsX0InThePosteriorMean() { check(() -> new DdpmSampler(5, Spacing.LINSPACE)); }

    @Test
    void dpmSolverClampsX0AndEndsInRange() {
        check(() -> new DpmSolverPlusPlus(5, Spacing.LINSPACE, false));
        for (float v : new DpmSolverPlusPlus(5, Spacing.LINSPACE, false).clipSample(1).sample(noise(), WILD, fresh(), null).toFloatArray()) {
            assertTrue(v >= -1 && v <= 1, "the last step lands on the clamped x0: " + v);
        }
    }

    @Test
    void aWideRangeChangesNothing() {
        float[] a = new DpmSolverPlusPlus(5, Spacing.LINSPACE, false).clipSample(1e6).sample(noise(), WILD, fresh(), null).toFloatArray();
        float[] b = new DpmSolverPlusPlus(5, Spacing.LINSPACE, false).sample(noise(), WILD, fresh(), null).toFloatArray();
        org.junit.jupiter.api.Assertions.assertArrayEquals(b, a);
    }

    @Test
    void otherSamplersAndBadRangesAreRefused() {
        InvalidParameter e = assertThrows(InvalidParameter.class, () -> new EulerSampler(5, Spacing.LINSPACE).clipSample(1));
        assertTrue(e.getMessage().contains("not euler"), e.getMessage());
        assertThrows(InvalidParameter.class, () -> new DdimSampler(5, Spacing.LINSPACE, 0).clipSample(0));
        assertThrows(InvalidParameter.class, () -> new DdimSampler(5, Spacing.LINSPACE, 0).clipSample(Double.NaN));
    }
}
