package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.dit.Sd3Model;
import org.deltadit.engine.Compare;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.sampler.FlowMatchEulerSampler;
import org.deltadit.weights.Json;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.Sd3Config;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;

/**
 * SD3's denoising loop against tools/reference/sd3_reference.py: flow-matching Euler (shift 3) with
 * guidance 3 on the tiny MMDiT, uncached, with Δ-DiT (N 2, b 2, N_c 2 of 3) and with Δ-Cache [1, 3)
 * over both streams' joint state.
 */
class Sd3SamplingTest {
    static final String FIX = "../dit-model/src/test/resources/fixtures/";

    @Test
    void flowMatchingTrajectoriesMatchPyTorchWithAndWithoutACache() {
        try (StateDict sd = Safetensors.open(Path.of(FIX + "tiny_sd3.safetensors"))) {
            Map<String, Tensor> w = new LinkedHashMap<>();
            for (String k : sd.keys()) if (k.startsWith("w.")) w.put(k.substring(2), sd.tensor(k));
            Path cfgFile = Path.of(FIX + "tiny_sd3_config.json");
            Sd3Config cfg = Sd3Config.resolve("fixture", cfgFile.toString(), w, Json.readObject(cfgFile), null, null);
            Sd3Model model = new Sd3Model(cfg, w, new CpuBackend(2));
            assertArrayEquals(sd.tensor("flow_timesteps").toFloatArray(), new FlowMatchEulerSampler(4, 3.0).timesteps(), "timesteps σ·1000 as diffusers' scheduler");
            Map<String, CachePolicy> rows = new LinkedHashMap<>();
            rows.put("sample_full", null);
            rows.put("sample_delta_cache", new CachePolicy.DeltaCache(1, 3, 2));
            rows.put("sample_delta_dit", new CachePolicy.DeltaDit(2, 2, 2, false));
            Tensor full = null;
            for (Map.Entry<String, CachePolicy> r : rows.entrySet()) {
                Plan plan = r.getValue() == null ? null : Plan.of(r.getValue(), 4, model.depth());
                var den = new GuidedDenoiser<>(model, Conditioner.sd3(model, sd.tensor("pooled_guided"), sd.tensor("context_guided")), 2, 3.0,
                        cfg.outChannels(), plan, plan == null ? null : new DeltaStore(false));
                Tensor out = new FlowMatchEulerSampler(4, 3.0).sample(sd.tensor("noise"), den, n -> { throw new AssertionError("no fresh noise"); }, null);
                double rel = Compare.relativeMaxError(sd.tensor(r.getKey()).toFloatArray(), out.toFloatArray());
                assertTrue(rel <= 1e-4, r.getKey() + ": max error " + rel + " × max |expected|");
                if (full == null) full = out;
                else assertTrue(Compare.relativeMaxError(full.toFloatArray(), out.toFloatArray()) > 1e-3, r.getKey() + " changes the result (not a no-op cache)");
            }
        }
    }
}
