package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.dit.DitModel;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.sampler.Sampler;
import org.deltadit.sampler.Samplers;
import org.deltadit.sampler.Thresholding;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.DitConfig;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;

/**
 * Guided sampling of the tiny DiT against tools/reference/sampler_reference.py (PyTorch), from the
 * same noise: DDIM with DiT respacing, DPM-Solver++(2M), and DDIM guiding 3 of 4 channels.
 * Tolerance: max |error| ≤ 1e-4 × max |expected|.
 */
class SamplingParityTest {

    float[] run(String sampler, int guided, String expected) throws URISyntaxException { return run(sampler, 5, guided, null, expected); }

    /** Runs {@code steps} of {@code sampler} with an optional cache policy and compares with {@code expected}; returns the result. */
    static float[] run(String sampler, int steps, int guided, CachePolicy policy, String expected) throws URISyntaxException {
        return run(sampler, steps, guided, policy, null, expected, "tiny_dit_sampling");
    }

    /** As above with each predicted x0 thresholded ({@code thresholding} non-null), the expected latents read from fixtures/{@code file}.safetensors. */
    static float[] run(String sampler, int steps, int guided, CachePolicy policy, Thresholding thresholding, String expected, String file) throws URISyntaxException {
        try (StateDict sd = Safetensors.open(Paths.get(SamplingParityTest.class.getResource("/fixtures/tiny_dit_sampling.safetensors").toURI()));
             StateDict want = Safetensors.open(Paths.get(SamplingParityTest.class.getResource("/fixtures/" + file + ".safetensors").toURI()))) {
            Map<String, Tensor> w = new LinkedHashMap<>();
            for (String k : sd.keys()) if (k.startsWith("w.")) w.put(k.substring(2), sd.tensor(k));
            DitConfig cfg = DitConfig.resolve("fixture", w, CheckpointFormat.DIT_OFFICIAL, null, new DitConfig.Overrides(4, null, null));
            DitModel model = new DitModel(cfg, w, new CpuBackend(2));
            float[] yf = sd.tensor("y").toFloatArray();
            Plan plan = policy == null ? null : Plan.of(policy, steps, model.depth());
            GuidedDenoiser<DitModel.Conditioning> den = new GuidedDenoiser<>(model, Conditioner.dit(model, new int[] {(int) yf[0], (int) yf[1]}), 2, 4.0, guided, plan, null);
            Sampler s = Samplers.create(sampler, steps, null, true, 0, false);
            if (thresholding != null) s.thresholding(thresholding);
            Tensor out = s.sample(sd.tensor("noise"), den, n -> { throw new AssertionError("deterministic samplers draw no noise"); }, null);
            float[] a = out.toFloatArray();
            assertClose(want.tensor(expected).toFloatArray(), a, sampler + " vs " + expected);
            if (plan != null) assertTrue(den.store().hits() == plan.cachedSteps() - countSkips(plan), "every cached step took its entry from the store");
            return a;
        }
    }

    /** max |a − e| ≤ 1e-4 × max |e|. */
    static void assertClose(float[] e, float[] a, String what) {
        double rel = org.deltadit.engine.Compare.relativeMaxError(e, a);
        assertTrue(rel <= 1e-4, what + ": max error " + rel + " × max |expected| > 1e-4");
    }

    static int countSkips(Plan p) {
        int n = 0;
        for (StepPlan s : p.steps()) if (s.mode() == StepPlan.Mode.SKIP) n++;
        return n;
    }

    @Test
    void ddimWithDitRespacing() throws URISyntaxException { run("ddim", 4, "ddim5"); }

    @Test
    void dpmSolverPlusPlus() throws URISyntaxException { run("dpm-solver++", 4, "dpmpp5"); }

    /** Diffusers' dynamic thresholding (ratio 0.9, max 30): the fixture's thresholds reach the max at three steps and stay under it at two. */
    @Test
    void dynamicThresholdingOfX0() throws URISyntaxException {
        float[] ddim = run("ddim", 5, 4, null, new Thresholding(0.9, 30), "ddim5_thr", "tiny_dit_thresholding");
        run("dpm-solver++", 5, 4, null, new Thresholding(0.9, 30), "dpmpp5_thr", "tiny_dit_thresholding");
        float[] plain = run("ddim", 4, "ddim5");
        assertTrue(org.deltadit.engine.Compare.relativeMaxError(plain, ddim) > 1e-2, "thresholding changed the DDIM result");
    }

    @Test
    void threeGuidedChannelsAsTheOfficialScript() throws URISyntaxException { run("ddim", 3, "ddim5_g3"); }
}
