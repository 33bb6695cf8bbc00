package org.deltadit.sampler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deltadit.engine.Tensor;
import org.junit.jupiter.api.Test;

/** Timestep lists and σ values against the ones listed in shared/reference/model-formats.md §5. */
class TimestepTest {

    static float[] f(int... v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = v[i];
        return r;
    }

    @Test
    void scheduleEndpoints() {
        NoiseSchedule s = new NoiseSchedule();
        assertEquals(0.9999, s.alphaBar(0), 1e-12);
        assertEquals(4.0358e-5, s.alphaBar(999), 1e-8);
        assertEquals(0.010001, s.sigma(0), 1e-6);
        assertEquals(157.4072, s.sigma(999), 1e-4);
    }

    @Test
    void dpmSolverLinspace20() {
        Sampler d = new DpmSolverPlusPlus(20, Spacing.LINSPACE, false);
        assertArrayEquals(f(999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 500, 450, 400, 350, 300, 250, 200, 150, 100, 50), d.timesteps());
        double[] sig = {157.407, 96.176, 60.271, 38.736, 25.529, 17.247, 11.940, 8.463, 6.135, 4.541, 3.443, 2.636, 2.041, 1.591, 1.240, 0.958, 0.724, 0.522, 0.342, 0.176};
        NoiseSchedule s = new NoiseSchedule();
        float[] ts = d.timesteps();
        for (int i = 0; i < 20; i++) assertEquals(sig[i], s.sigma((int) ts[i]), 1e-3, "sigma at step " + (i + 1));
        assertArrayEquals(d.timesteps(), new DeisSampler(20, Spacing.LINSPACE).timesteps(), "DEIS shares DPM-Solver++'s timesteps");
    }

    @Test
    void ditRespacing() {
        int[] kept = Spacing.ditKept(250);
        assertEquals(250, kept.length);
        assertArrayEquals(new int[] {0, 4, 8, 12, 16, 20}, java.util.Arrays.copyOf(kept, 6));
        assertArrayEquals(new int[] {987, 991, 995, 999}, java.util.Arrays.copyOfRange(kept, 246, 250));
        int[] fifty = Spacing.ditKept(50);
        assertArrayEquals(new int[] {0, 20, 41, 61, 82, 102}, java.util.Arrays.copyOf(fifty, 6));
        assertEquals(999, fifty[49]);
        float[] ddim = Samplers.create("ddim", 250, null, true, 0, false).timesteps();
        assertEquals(999f, ddim[0]);
        assertEquals(0f, ddim[249]);
        assertArrayEquals(f(999, 749, 500, 250, 0), new DdpmSampler(5, Spacing.DIT).timesteps(), "half-way values round to even");
    }

    @Test
    void diffusersSpacings() {
        float[] lin = new DdimSampler(20, Spacing.LINSPACE, 0).timesteps();
        assertArrayEquals(f(999, 946, 894), java.util.Arrays.copyOf(lin, 3));
        assertEquals(53f, lin[18]);
        assertEquals(0f, lin[19]);
        float[] lead250 = new DdimSampler(250, Spacing.LEADING, 0).timesteps();
        assertArrayEquals(f(996, 992), java.util.Arrays.copyOf(lead250, 2));
        assertArrayEquals(f(4, 0), java.util.Arrays.copyOfRange(lead250, 248, 250));
        float[] lead50 = new DdimSampler(50, Spacing.LEADING, 0).timesteps();
        assertArrayEquals(f(980, 960), java.util.Arrays.copyOf(lead50, 2));
        assertEquals(0f, lead50[49]);
        assertArrayEquals(f(999, 899, 799), java.util.Arrays.copyOf(new DdimSampler(10, Spacing.TRAILING, 0).timesteps(), 3));
    }

    @Test
    void eulerFractionalTimestepsAndSigmas() {
        EulerSampler e = new EulerSampler(20, Spacing.LINSPACE);
        float[] expect = {999.0f, 946.421f, 893.842f, 841.263f, 788.684f, 736.105f, 683.526f, 630.947f, 578.368f, 525.790f, 473.211f, 420.632f,
            368.053f, 315.474f, 262.895f, 210.316f, 157.737f, 105.158f, 52.579f, 0.0f};
        assertArrayEquals(expect, e.timesteps(), 1e-3f);
        double[] sig = {157.407, 93.829, 57.518, 36.257, 23.497, 15.650, 10.707, 7.516, 5.406, 3.975, 2.979, 2.266, 1.740, 1.340, 1.026, 0.769, 0.552, 0.360, 0.184, 0.010};
        NoiseSchedule s = new NoiseSchedule();
        for (int i = 0; i < 20; i++) assertEquals(sig[i], s.sigmaAt(expect[i]), 1e-3, "euler sigma " + i);
        assertEquals(157.407, e.initNoiseSigma(), 1e-3);
    }

    @Test
    void badStepCountsAndNamesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Samplers.create("ddim", 0, null, true, 0, false));
        assertThrows(IllegalArgumentException.class, () -> Samplers.create("ddim", 1001, null, true, 0, false));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Samplers.create("heun", 10, null, true, 0, false));
        assertTrue(e.getMessage().contains("heun"));
        assertThrows(IllegalArgumentException.class, () -> Spacing.parse("karras"));
    }

    @Test
    void nonFiniteLatentStopsWithTheStepNumber() {
        Sampler s = new DdimSampler(5, Spacing.DIT, 0);
        Denoiser blowsUp = (x, ctx) -> ctx.step() == 3 ? Tensor.of(new float[] {Float.NaN}, 1, 1, 1, 1) : Tensor.zeros(1, 1, 1, 1);
        Sampler.NonFiniteLatentException e = assertThrows(Sampler.NonFiniteLatentException.class,
                () -> s.sample(Tensor.of(new float[] {1f}, 1, 1, 1, 1), blowsUp, n -> new float[n], null));
        assertTrue(e.getMessage().contains("step 3 of 5"), e.getMessage());
    }

    @Test
    void aSamplerRunsBatchAfterBatchWithoutCarryingHistory() {
        // A denoiser whose output depends on x, so multistep history matters.
        Denoiser d = (x, ctx) -> {
            float[] v = x.toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] = (float) Math.tanh(v[i] * 0.3 + ctx.timestep() / 1000.0);
            return Tensor.of(v, x.shape());
        };
        for (String name : new String[] {"dpm-solver++", "deis", "euler", "ddim"}) {
            Tensor noise = Tensor.of(new float[] {0.5f, -1f, 2f, 0.1f}, 1, 1, 2, 2);
            Sampler reused = Samplers.create(name, 6, null, true, 0, false);
            float[] first = reused.sample(noise, d, n -> new float[n], null).toFloatArray();
            float[] second = reused.sample(noise, d, n -> new float[n], null).toFloatArray();
            float[] fresh = Samplers.create(name, 6, null, true, 0, false).sample(noise, d, n -> new float[n], null).toFloatArray();
            assertArrayEquals(fresh, first, name);
            assertArrayEquals(fresh, second, name + " run twice");
        }
    }

    @Test
    void noiseDoesNotDependOnBatching() {
        Noise a = new Noise(42, 3), b = new Noise(42, 3);
        float[] together = a.next(0, 3, 16);
        for (int i = 0; i < 3; i++) {
            float[] alone = b.next(i, 16);
            assertArrayEquals(alone, java.util.Arrays.copyOfRange(together, i * 16, (i + 1) * 16));
        }
    }

    @Test
    void guidanceMixesTheGuidedChannelsOnly() {
        // batch [cond; uncond] with 2 channels: cond = 3, uncond = 1; scale 4 → 1 + 4·2 = 9 on channel 0, cond on channel 1
        Tensor out = Tensor.of(new float[] {3, 3, 1, 1}, 2, 2, 1, 1);
        assertArrayEquals(new float[] {9, 3}, Guidance.combine(out, 4, 1).toFloatArray());
    }
}
