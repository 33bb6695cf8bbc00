package org.deltadit.dit;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.Json;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;

/** SD 1.x's U-Net against tools/reference/unet_reference.py: every level's output and the result, on every backend. */
class UNetModelTest {
    @Test
    void everyLevelAndTheOutputMatchPyTorch() {
        Path cfgFile = Path.of("src/test/resources/fixtures/tiny_unet_config.json");
        org.deltadit.weights.UNetConfig cfg = org.deltadit.weights.UNetConfig.from(Json.readObject(cfgFile), cfgFile.toString(), 16, null);
        try (StateDict sd = Safetensors.open(Path.of("src/test/resources/fixtures/tiny_unet.safetensors"))) {
            Map<String, Tensor> w = new LinkedHashMap<>();
            for (String k : sd.keys()) if (k.startsWith("w.")) w.put(k.substring(2), sd.tensor(k));
            for (Backend be : TestBackends.all()) {
                Map<String, Tensor> trace = new LinkedHashMap<>();
                Tensor out = new UNetModel(cfg, w, be).forward(sd.tensor("x"), sd.tensor("t").toFloatArray(), sd.tensor("text"), trace);
                for (String k : new String[] {"down0", "down1", "mid", "up0", "up1"}) DitModelTest.close(sd.tensor(k), trace.get(k), be.name() + " " + k);
                DitModelTest.close(sd.tensor("out"), out, be.name() + " output");
            }
        }
    }
}
