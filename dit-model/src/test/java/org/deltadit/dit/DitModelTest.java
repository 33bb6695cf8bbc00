package org.deltadit.dit;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.engine.reference.ReferenceBackend;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.DitConfig;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;

/**
 * The Java DiT against tools/reference/dit_reference.py (PyTorch): the hidden state entering every
 * block, the one leaving the last, and the output, in official and in diffusers numerics, on both
 * backends. Tolerance: max |error| ≤ 1e-4 × max |expected| per tensor.
 */
class DitModelTest {

    static Path fixture(String name) {
        try {
            return Paths.get(DitModelTest.class.getResource("/fixtures/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static void close(Tensor expected, Tensor actual, String what) {
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        assertTrue(java.util.Arrays.equals(expected.shape(), actual.shape()), what + ": shape " + actual.shapeString() + " vs " + expected.shapeString());
        double max = 0, err = 0;
        for (int i = 0; i < e.length; i++) {
            max = Math.max(max, Math.abs(e[i]));
            err = Math.max(err, Math.abs(e[i] - a[i]));
        }
        if (!(err <= 1e-4 * max)) fail(what + ": max error " + err + " > 1e-4 × " + max);
    }

    void parity(Backend be, String numerics) {
        try (StateDict sd = Safetensors.open(fixture("tiny_dit_forward.safetensors"))) {
            Map<String, Tensor> w = new LinkedHashMap<>();
            for (String k : sd.keys()) if (k.startsWith("w.")) w.put(k.substring(2), sd.tensor(k));
            CheckpointFormat format = numerics.equals("official") ? CheckpointFormat.DIT_OFFICIAL : CheckpointFormat.DIT_DIFFUSERS;
            // diffusers keeps no position table: the model must compute the same sin-cos one
            if (format == CheckpointFormat.DIT_DIFFUSERS) w.remove("pos_embed");
            DitConfig cfg = DitConfig.resolve("fixture", w, format, null, new DitConfig.Overrides(4, null, 8));
            DitModel model = new DitModel(cfg, w, be);
            float[] t = sd.tensor("t").toFloatArray();
            float[] yf = sd.tensor("y").toFloatArray();
            int[] y = {(int) yf[0], (int) yf[1]};
            DitModel.Conditioning c = model.condition(t, y);
            Tensor h = model.embed(sd.tensor("x"));
            for (int i = 0; i < model.depth(); i++) {
                close(sd.tensor(numerics + ".h" + i), h, be.name() + " " + numerics + " h" + i);
                h = model.block(i, h, c);
            }
            close(sd.tensor(numerics + ".h" + model.depth()), h, be.name() + " " + numerics + " last block");
            close(sd.tensor(numerics + ".out"), model.finalLayer(h, c), be.name() + " " + numerics + " output");
            close(sd.tensor(numerics + ".out"), model.forward(sd.tensor("x"), t, y), be.name() + " " + numerics + " forward");
        }
    }

    @Test
    void officialNumericsMatchPyTorch() {
        for (Backend be : TestBackends.all()) parity(be, "official");
    }

    @Test
    void diffusersNumericsMatchPyTorch() {
        for (Backend be : TestBackends.all()) parity(be, "diffusers");
    }

    @Test
    void halfPrecisionWeightsStayClose() {
        try (StateDict sd = Safetensors.open(fixture("tiny_dit_forward.safetensors"))) {
            Map<String, Tensor> w = new LinkedHashMap<>();
            for (String k : sd.keys()) if (k.startsWith("w.")) w.put(k.substring(2), sd.tensor(k).to(DType.BF16));
            DitConfig cfg = DitConfig.resolve("fixture", w, CheckpointFormat.DIT_OFFICIAL, null, new DitConfig.Overrides(4, null, null));
            Tensor out = new DitModel(cfg, w, new CpuBackend(2)).forward(sd.tensor("x"), sd.tensor("t").toFloatArray(), new int[] {3, 10});
            float[] e = sd.tensor("official.out").toFloatArray(), a = out.toFloatArray();
            double max = 0, err = 0;
            for (int i = 0; i < e.length; i++) {
                max = Math.max(max, Math.abs(e[i]));
                err = Math.max(err, Math.abs(e[i] - a[i]));
            }
            // BF16 keeps 8 bits of mantissa: a few percent of the output's range over three blocks.
            assertTrue(err <= 0.05 * max, "bf16 weights: max error " + err + " vs max " + max);
        }
    }
}
