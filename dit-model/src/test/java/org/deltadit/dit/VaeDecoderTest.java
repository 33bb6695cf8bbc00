package org.deltadit.dit;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;

/** The Java VAE decoder against tools/reference/vae_reference.py (PyTorch); max |error| ≤ 1e-4 × max |expected|. */
class VaeDecoderTest {
    static final VaeDecoder.Config TINY = new VaeDecoder.Config(new int[] {16, 32}, 1, 8, 4, 3, 0.18215);

    static Map<String, Tensor> weights(StateDict sd) {
        Map<String, Tensor> w = new LinkedHashMap<>();
        for (String k : sd.keys()) if (k.startsWith("w.")) w.put(k.substring(2), sd.tensor(k));
        return w;
    }

    @Test
    void decodesLikePyTorch() {
        try (StateDict sd = Safetensors.open(DitModelTest.fixture("tiny_vae.safetensors"))) {
            for (var be : TestBackends.all()) {
                Tensor img = new VaeDecoder(TINY, weights(sd), be, "fixture").decode(sd.tensor("z"));
                DitModelTest.close(sd.tensor("image"), img, "tiny VAE image on " + be.name());
            }
        }
    }

    @Test
    void aDecoderThatDoesNotFitIsNamed() {
        try (StateDict sd = Safetensors.open(DitModelTest.fixture("tiny_vae.safetensors"))) {
            Map<String, Tensor> w = weights(sd);
            CheckpointException e = assertThrows(CheckpointException.class, () -> new VaeDecoder(VaeDecoder.Config.SD, w, new CpuBackend(1), "tiny"));
            assertTrue(e.getMessage().contains("tiny: "), e.getMessage());
            w.remove("decoder.conv_out.bias");
            e = assertThrows(CheckpointException.class, () -> new VaeDecoder(TINY, w, new CpuBackend(1), "tiny"));
            assertTrue(e.getMessage().contains("missing key 'decoder.conv_out.bias'"), e.getMessage());
        }
    }
}
