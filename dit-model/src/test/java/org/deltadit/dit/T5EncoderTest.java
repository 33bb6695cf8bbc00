package org.deltadit.dit;

import static org.deltadit.dit.DitModelTest.close;
import static org.deltadit.dit.DitModelTest.fixture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.engine.reference.ReferenceBackend;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.deltadit.weights.T5Config;
import org.junit.jupiter.api.Test;

/** The Java T5 encoder against tools/reference/t5_reference.py (PyTorch): buckets, and every output position of a padded batch. */
class T5EncoderTest {

    static int[][] ids(StateDict sd) {
        Tensor t = sd.tensor("ids");
        int[][] ids = new int[t.dim(0)][t.dim(1)];
        for (int i = 0; i < ids.length; i++) for (int k = 0; k < ids[i].length; k++) ids[i][k] = (int) t.get(i, k);
        return ids;
    }

    static float[][] mask(StateDict sd) {
        Tensor t = sd.tensor("mask");
        float[][] m = new float[t.dim(0)][t.dim(1)];
        for (int i = 0; i < m.length; i++) for (int k = 0; k < m[i].length; k++) m[i][k] = t.get(i, k);
        return m;
    }

    /** The Hugging Face names are already the canonical ones. */
    static Map<String, Tensor> weights(StateDict sd) {
        Map<String, Tensor> w = new java.util.LinkedHashMap<>();
        for (String k : sd.keys()) if (k.startsWith("shared.") || k.startsWith("encoder.")) w.put(k, sd.tensor(k));
        return w;
    }

    @Test
    void bucketsMatchHuggingFaceFloat32Math() {
        try (StateDict sd = Safetensors.open(fixture("tiny_t5_encoder.safetensors"))) {
            float[] want = sd.tensor("buckets").toFloatArray();
            for (int rel = -130; rel <= 130; rel++) assertEquals((int) want[rel + 130], T5Encoder.bucket(rel, 32, 128), "rel " + rel);
        }
    }

    @Test
    void paddedBatchMatchesPyTorch() {
        try (StateDict sd = Safetensors.open(fixture("tiny_t5_encoder.safetensors"))) {
            Map<String, Tensor> w = weights(sd);
            T5Config cfg = T5Config.resolve("fixture", w, null);
            assertEquals(2, cfg.numLayers());
            assertEquals(8, cfg.dKv());
            for (var be : TestBackends.all()) {
                close(sd.tensor("hidden"), T5Encoder.of(cfg, w, be).encode(ids(sd), mask(sd)), be.name() + " T5 output");
            }
            // The BF16 copy computes exactly what the F32 path computes over BF16-rounded matrices (how far
            // BF16 moves this tiny model's sharp, unscaled attention is the weights' business, not the copy's).
            Map<String, Tensor> rounded = new java.util.LinkedHashMap<>();
            w.forEach((k, t) -> rounded.put(k, t.rank() == 2 ? t.to(org.deltadit.engine.DType.BF16) : t));
            try (T5Encoder bf16 = T5Encoder.bf16Copy(cfg, w, new CpuBackend(2))) {
                close(T5Encoder.of(cfg, rounded, new CpuBackend(2)).encode(ids(sd), mask(sd)), bf16.encode(ids(sd), mask(sd)), "BF16 copy");
            }
        }
    }

    @Test
    void anExportWithOnlyTheTiedEmbeddingLoads() {
        try (StateDict sd = Safetensors.open(fixture("tiny_t5_encoder.safetensors"))) {
            Map<String, Tensor> w = weights(sd);
            w.put("encoder.embed_tokens.weight", w.remove("shared.weight"));
            Map<String, Tensor> tied = T5Config.tied(w);
            close(sd.tensor("hidden"), T5Encoder.of(T5Config.resolve("fixture", tied, null), tied, new CpuBackend(2)).encode(ids(sd), mask(sd)), "embed_tokens only");
        }
    }

    @Test
    void aWholeT5ForConditionalGenerationLoadsItsEncoder(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        // google/t5-v1_1-xxl ships the decoder and LM head too; the encoder is read and they are dropped, as T5EncoderModel does
        try (StateDict sd = Safetensors.open(fixture("tiny_t5_encoder.safetensors"))) {
            Map<String, Tensor> whole = new java.util.TreeMap<>(weights(sd));
            whole.put("decoder.block.0.layer.0.SelfAttention.q.weight", Tensor.zeros(32, 32));
            whole.put("decoder.final_layer_norm.weight", Tensor.zeros(32));
            whole.put("lm_head.weight", Tensor.zeros(96, 32));
            java.nio.file.Path file = dir.resolve("model.safetensors");
            org.deltadit.weights.SafetensorsWriter.write(file, whole, null);
            try (org.deltadit.weights.Checkpoint ck = org.deltadit.weights.Checkpoint.open(file, null, null)) {
                assertEquals(org.deltadit.weights.CheckpointFormat.T5_ENCODER, ck.format());
                Map<String, Tensor> w = org.deltadit.weights.KeyMap.canonical(ck.weights(), ck.format());
                assertEquals(weights(sd).keySet(), w.keySet(), "no decoder key is kept");
                close(sd.tensor("hidden"), T5Encoder.of(T5Config.resolve("fixture", w, null), w, new CpuBackend(2)).encode(ids(sd), mask(sd)), "the whole model's encoder");
            }
        }
    }

    @Test
    void wrongShapesAndIdsAreNamed() {
        try (StateDict sd = Safetensors.open(fixture("tiny_t5_encoder.safetensors"))) {
            Map<String, Tensor> w = weights(sd);
            T5Encoder enc = T5Encoder.of(T5Config.resolve("fixture", w, null), w, new CpuBackend(2));
            var e = assertThrows(IllegalArgumentException.class, () -> enc.encode(new int[][] {{5, 96}}, new float[][] {{1, 1}}));
            assertTrue(e.getMessage().contains("96"), e.getMessage());
            w.put("encoder.block.1.layer.1.DenseReluDense.wo.weight", Tensor.zeros(32, 47));
            var c = assertThrows(CheckpointException.class, () -> T5Config.resolve("fixture", w, null));
            assertTrue(c.getMessage().contains("encoder.block.1.layer.1.DenseReluDense.wo.weight"), c.getMessage());
        }
    }
}
