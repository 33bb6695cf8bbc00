package org.deltadit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;

/** The FID Inception-v3 against tools/reference/inception_reference.py (a tiny network with the real keys, saved by torch.save). */
class InceptionTest {
    static Path fixture(String name) throws URISyntaxException {
        return Paths.get(InceptionTest.class.getResource("/fixtures/" + name).toURI());
    }

    @Test
    void blocksPoolAndLogitsMatchPyTorch() throws URISyntaxException {
        InceptionV3 net = InceptionV3.load(fixture("tiny_pt_inception.pth"), new CpuBackend(2));
        try (StateDict sd = Safetensors.open(fixture("inception.safetensors"))) {
            InceptionV3.Output out = net.run(sd.tensor("images"), true);
            for (String b : new String[] {"stem", "mixed_5b", "mixed_6a", "mixed_6e", "mixed_7a", "mixed_7c"}) {
                Tensor got = out.blocks().get(b);
                assertEquals(sd.tensor(b).shapeString(), got.shapeString(), b);
                QualityTest.assertClose(sd.tensor(b).toFloatArray(), got.toFloatArray(), b);
            }
            QualityTest.assertClose(sd.tensor("pool").toFloatArray(), out.pool().toFloatArray(), "pool");
            QualityTest.assertClose(sd.tensor("logits").toFloatArray(), out.logits().toFloatArray(), "logits");
            assertEquals(128, net.featureWidth());
            assertEquals(1008, net.classes());
        }
    }

    @Test
    void anotherNetworksWeightsAreOneClearError() throws URISyntaxException {
        CheckpointException e = assertThrows(CheckpointException.class, () -> InceptionV3.load(fixture("quality.safetensors"), new CpuBackend(1)));
        assertTrue(e.getMessage().contains("not the FID Inception-v3"), e.getMessage());
    }
}
