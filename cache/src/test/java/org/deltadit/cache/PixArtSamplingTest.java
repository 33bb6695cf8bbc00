package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.dit.CaptionFeatures;
import org.deltadit.dit.PixArtModel;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.sampler.Sampler;
import org.deltadit.sampler.Samplers;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.PixArtConfig;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;

/**
 * Sampling the tiny PixArt-MS against tools/reference/pixart_reference.py (PyTorch): LCM with the
 * fixture's fresh noise, DPM-Solver++ with guidance against the learned null caption, and the same
 * under Δ-DiT. Tolerance: max |error| ≤ 1e-4 × max |expected|.
 */
class PixArtSamplingTest {

    /** The hits the last run's cache served (T-GATE: one per gated step). */
    static int lastHits;

    static float[] run(String sampler, int steps, double cfg, CachePolicy policy, String expected) throws URISyntaxException {
        try (StateDict sd = Safetensors.open(Paths.get(PixArtSamplingTest.class.getResource("/fixtures/tiny_pixart_sampling.safetensors").toURI()))) {
            Map<String, Tensor> w = new LinkedHashMap<>();
            for (String k : sd.keys()) if (k.startsWith("w.")) w.put(k.substring(2), sd.tensor(k));
            PixArtConfig cfgArch = PixArtConfig.resolve("fixture", w, CheckpointFormat.PIXART_ORIGINAL,
                    Map.of("num_heads", 4L, "input_size", 8L, "lewei_scale", 2.0), null, null);
            PixArtModel model = new PixArtModel(cfgArch, w, new CpuBackend(2));
            float[] size = sd.tensor("size").toFloatArray();
            CaptionFeatures cond = new CaptionFeatures(sd.tensor("caption"), sd.tensor("mask").toFloatArray());
            // the original checkpoint's unconditional branch: the learned null caption under the prompt's mask
            Tensor nul = model.nullCaption();
            CaptionFeatures uncond = new CaptionFeatures(Tensor.concat(0, nul.unsqueeze(0), nul.unsqueeze(0)), sd.tensor("mask").toFloatArray());
            Plan plan = policy == null ? null : Plan.of(policy, steps, model.depth());
            Conditioner<PixArtModel.Conditioning> text = Conditioner.pixart(model, cond, cfg > 1 ? uncond : null, (int) size[0], (int) size[1]);
            GuidedDenoiser<PixArtModel.Conditioning> den = new GuidedDenoiser<>(model, text, cond.count(), cfg, model.config().outChannels(), plan, null);
            Sampler s = Samplers.create(sampler, steps, null, false, 0, false);
            float[] z = sd.tensor("lcm_z").toFloatArray();
            int[] drawn = {0};
            Tensor out = s.sample(sd.tensor("noise"), den, n -> {
                float[] r = java.util.Arrays.copyOfRange(z, drawn[0], drawn[0] + n);
                drawn[0] += n;
                return r;
            }, null);
            float[] a = out.toFloatArray();
            SamplingParityTest.assertClose(sd.tensor(expected).toFloatArray(), a, sampler + " vs " + expected);
            if (sampler.equals("lcm")) assertTrue(drawn[0] == z.length, "LCM draws fresh noise after every step but the last");
            lastHits = den.store() == null ? 0 : den.store().hits();
            return a;
        }
    }

    @Test
    void lcmFourSteps() throws URISyntaxException {
        assertArrayEquals(new float[] {999, 759, 499, 259}, Samplers.create("lcm", 4, null, false, 0, false).timesteps());
        assertArrayEquals(new float[] {999, 759, 519, 279}, Samplers.create("lcm", 4, null, false, 0, true).timesteps(), "PixArt's own scheduler, diffusers ≤ 0.23");
        run("lcm", 4, 0, null, "lcm4");
    }

    @Test
    void dpmSolverWithNullCaptionGuidance() throws URISyntaxException {
        run("dpm-solver++", 6, 4.5, null, "dpmpp6_none");
    }

    @Test
    void tgateKeepsTheGateStepsCrossAttention() throws URISyntaxException {
        float[] gated = run("dpm-solver++", 6, 4.5, new CachePolicy.TGate(3), "dpmpp6_tgate");
        assertEquals(3, lastHits, "steps 4, 5 and 6 take the gate step's cross-attention from the store");
        assertTrue(!java.util.Arrays.equals(gated, run("dpm-solver++", 6, 4.5, null, "dpmpp6_none")), "T-GATE changed the result");
    }

    @Test
    void deltaDitOnPixArt() throws URISyntaxException {
        float[] cached = run("dpm-solver++", 6, 4.5, new CachePolicy.DeltaDit(3, 2, 2, false), "dpmpp6_deltadit");
        float[] full = run("dpm-solver++", 6, 4.5, null, "dpmpp6_none");
        assertTrue(!java.util.Arrays.equals(cached, full), "the plan changed the result");
    }
}
