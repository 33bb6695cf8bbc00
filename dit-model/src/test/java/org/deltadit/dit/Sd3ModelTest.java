package org.deltadit.dit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.Json;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.Sd3Config;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;

/** SD3's MMDiT against tools/reference/sd3_reference.py: both streams after every block, and the output, on every backend. */
class Sd3ModelTest {
    static final Path FIX = Path.of("src/test/resources/fixtures/tiny_sd3.safetensors"), CONFIG = Path.of("src/test/resources/fixtures/tiny_sd3_config.json");

    @Test
    void everyBlockAndTheOutputMatchPyTorch() {
        try (StateDict sd = Safetensors.open(FIX)) {
            Map<String, Tensor> w = new LinkedHashMap<>();
            for (String k : sd.keys()) if (k.startsWith("w.")) w.put(k.substring(2), sd.tensor(k));
            Sd3Config cfg = Sd3Config.resolve("fixture", CONFIG.toString(), w, Json.readObject(CONFIG), null, null);
            assertEquals(3, cfg.depth());
            assertEquals(2, cfg.numHeads());
            assertEquals(16, cfg.tokens());
            assertEquals(CheckpointFormat.SD3_DIFFUSERS, cfg.format());
            Tensor x = sd.tensor("x"), pooled = sd.tensor("pooled"), context = sd.tensor("context");
            float[] t = sd.tensor("t").toFloatArray();
            for (Backend be : TestBackends.all()) {
                Sd3Model m = new Sd3Model(cfg, w, be);
                Sd3Model.Conditioning c = m.condition(t, pooled, context);
                Tensor h = m.embed(x, c);
                for (int i = 0; i < cfg.depth(); i++) {
                    h = m.block(i, h, c);
                    DitModelTest.close(sd.tensor("after_block" + i + "_x"), h.slice(1, 0, 16).contiguous(), be.name() + " block " + i + " image stream");
                    if (i < cfg.depth() - 1) DitModelTest.close(sd.tensor("after_block" + i + "_c"), h.slice(1, 16, 21).contiguous(), be.name() + " block " + i + " text stream");
                }
                DitModelTest.close(sd.tensor("out"), m.finalLayer(h, c), be.name() + " output");
                // without the stored table, the computed one (sin-cos over the 12² grid at base 4) gives the same
                Map<String, Tensor> noTable = new LinkedHashMap<>(w);
                noTable.remove("pos_embed.pos_embed");
                DitModelTest.close(sd.tensor("out"), new Sd3Model(cfg, noTable, be).forward(x, t, pooled, context), be.name() + " output, computed positions");
            }
        }
    }
}
