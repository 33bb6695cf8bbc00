package org.deltadit.dit;

import static org.deltadit.dit.DitModelTest.close;
import static org.deltadit.dit.DitModelTest.fixture;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.engine.reference.ReferenceBackend;
import org.deltadit.weights.CheckpointException;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.KeyMap;
import org.deltadit.weights.PixArtConfig;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;

/**
 * The Java PixArt-α against tools/reference/pixart_reference.py (PyTorch, padding removed before
 * cross-attention as the original code does): every block's hidden state and the output of a tiny
 * MS model with a padded caption and non-square micro-conditions; the same without micro-conditions;
 * the learned null caption; and the diffusers layout through the key map. Tolerance as for DiT.
 */
class PixArtModelTest {
    static final Map<String, Object> ORIGINAL_CONFIG = Map.of("arch", "PixArtMS", "num_heads", 4L, "input_size", 8L, "lewei_scale", 2.0, "depth", 3L);

    static Map<String, Tensor> original(StateDict sd) {
        Map<String, Tensor> w = new LinkedHashMap<>();
        for (String k : sd.keys()) if (k.startsWith("w.")) w.put(k.substring(2), sd.tensor(k));
        return w;
    }

    static Tensor run(PixArtModel m, StateDict sd, Tensor caption, String hiddenPrefix) {
        float[] size = sd.tensor("size").toFloatArray();
        PixArtModel.Conditioning c = m.condition(sd.tensor("t").toFloatArray(), caption, sd.tensor("mask").toFloatArray(), (int) size[0], (int) size[1]);
        Tensor h = m.embed(sd.tensor("x"));
        for (int i = 0; i < m.depth(); i++) {
            if (hiddenPrefix != null) close(sd.tensor(hiddenPrefix + ".h" + i), h, m.backend().name() + " h" + i);
            h = m.block(i, h, c);
        }
        if (hiddenPrefix != null) close(sd.tensor(hiddenPrefix + ".h" + m.depth()), h, m.backend().name() + " last block");
        return m.finalLayer(h, c);
    }

    @Test
    void msModelMatchesPyTorchOnBothBackends() {
        try (StateDict sd = Safetensors.open(fixture("tiny_pixart_forward.safetensors"))) {
            Map<String, Tensor> w = original(sd);
            PixArtConfig cfg = PixArtConfig.resolve("fixture", w, CheckpointFormat.PIXART_ORIGINAL, ORIGINAL_CONFIG, null, null);
            assertTrue(cfg.microConditions());
            assertEquals(6, cfg.maxTokens(), "from the null caption's shape");
            for (Backend be : TestBackends.all()) {
                close(sd.tensor("ms.out"), run(new PixArtModel(cfg, w, be), sd, sd.tensor("caption"), "ms"), be.name() + " output");
            }
        }
    }

    @Test
    void modelWithoutMicroConditions() {
        try (StateDict sd = Safetensors.open(fixture("tiny_pixart_forward.safetensors"))) {
            Map<String, Tensor> w = original(sd);
            w.keySet().removeIf(k -> k.startsWith("csize_embedder") || k.startsWith("ar_embedder"));
            PixArtConfig cfg = PixArtConfig.resolve("fixture", w, CheckpointFormat.PIXART_ORIGINAL,
                    Map.of("num_heads", 4L, "input_size", 8L, "lewei_scale", 2.0), null, null);
            close(sd.tensor("plain.out"), run(new PixArtModel(cfg, w, new CpuBackend(2)), sd, sd.tensor("caption"), null), "no micro-conditions");
            assertThrows(CheckpointException.class, () -> PixArtConfig.resolve("fixture", w, CheckpointFormat.PIXART_ORIGINAL,
                    Map.of("num_heads", 4L, "input_size", 8L), null, 16), "a non-MS model runs only at its native size");
        }
    }

    @Test
    void learnedNullCaption() {
        try (StateDict sd = Safetensors.open(fixture("tiny_pixart_forward.safetensors"))) {
            Map<String, Tensor> w = original(sd);
            PixArtModel m = new PixArtModel(PixArtConfig.resolve("fixture", w, CheckpointFormat.PIXART_ORIGINAL, ORIGINAL_CONFIG, null, null), w, new CpuBackend(2));
            Tensor nul = m.nullCaption();
            Tensor both = Tensor.concat(0, nul.unsqueeze(0), nul.unsqueeze(0));
            close(sd.tensor("null.out"), run(m, sd, both, null), "null caption under the prompt's mask");
        }
    }

    @Test
    void diffusersLayoutLoadsToTheSameModel() {
        try (StateDict sd = Safetensors.open(fixture("tiny_pixart_forward.safetensors"));
             StateDict dsd = Safetensors.open(fixture("tiny_pixart_diffusers.safetensors"))) {
            Map<String, Tensor> w = KeyMap.canonical(dsd, CheckpointFormat.detect(dsd));
            assertEquals(CheckpointFormat.PIXART_DIFFUSERS, CheckpointFormat.detect(dsd));
            Map<String, Object> config = Map.of("sample_size", 8L, "num_attention_heads", 4L, "attention_head_dim", 12L, "interpolation_scale", 2.0,
                    "num_layers", 3L, "caption_channels", 32L, "in_channels", 4L, "patch_size", 2L);
            PixArtConfig cfg = PixArtConfig.resolve("fixture", w, CheckpointFormat.PIXART_DIFFUSERS, config, null, null);
            assertEquals(120, cfg.maxTokens(), "diffusers keeps no null caption: the T5 length");
            close(sd.tensor("ms.out"), run(new PixArtModel(cfg, w, new CpuBackend(2)), sd, sd.tensor("caption"), "ms"), "diffusers layout");
        }
    }

    /**
     * A run's caption is projected once and each block's keys and values computed at their first use: a second
     * step, and a batch of some of the rows, reuse them, and the output is the one of the per-step path.
     */
    @Test
    void theCaptionsKeysAndValuesAreComputedOncePerRun() {
        try (StateDict sd = Safetensors.open(fixture("tiny_pixart_forward.safetensors"))) {
            Map<String, Tensor> w = original(sd);
            PixArtModel m = new PixArtModel(PixArtConfig.resolve("fixture", w, CheckpointFormat.PIXART_ORIGINAL, ORIGINAL_CONFIG, null, null), w, new CpuBackend(2));
            float[] t = sd.tensor("t").toFloatArray(), size = sd.tensor("size").toFloatArray();
            PixArtModel.Caption text = m.caption(sd.tensor("caption"), sd.tensor("mask").toFloatArray());
            Tensor x = m.embed(sd.tensor("x"));
            PixArtModel.Conditioning step1 = m.condition(t, text, (int) size[0], (int) size[1]);
            Tensor once = m.block(0, x, step1);
            java.lang.foreign.MemorySegment kv0 = text.kv(0).segment();
            PixArtModel.Conditioning step2 = m.condition(new float[] {t[0] / 2, t[1] / 2}, text, (int) size[0], (int) size[1]);
            m.block(0, x, step2);
            assertSame(kv0, text.kv(0).segment(), "step 2 reuses block 0's keys and values");
            assertSame(kv0, text.rows(1, 2).kv(0).segment(), "a batch of some rows views them");
            assertEquals(1, text.rows(1, 2).kv(0).dim(0));
            // the same numbers as projecting the caption inside the block at every step
            Tensor perStep = m.block(0, x, m.condition(t, sd.tensor("caption"), sd.tensor("mask").toFloatArray(), (int) size[0], (int) size[1]));
            assertArrayEquals(perStep.toFloatArray(), once.toFloatArray(), 0f);
            assertThrows(IllegalArgumentException.class, () -> m.condition(new float[] {1}, text, 64, 64), "rows and timesteps must agree");
        }
    }

    @Test
    void badInputsAreNamed() {
        try (StateDict sd = Safetensors.open(fixture("tiny_pixart_forward.safetensors"))) {
            Map<String, Tensor> w = original(sd);
            PixArtModel m = new PixArtModel(PixArtConfig.resolve("fixture", w, CheckpointFormat.PIXART_ORIGINAL, ORIGINAL_CONFIG, null, null), w, new CpuBackend(2));
            float[] t = {999, 421};
            Tensor caption = sd.tensor("caption");
            var e = assertThrows(IllegalArgumentException.class, () -> m.condition(t, caption, new float[12], 64, 64));
            assertTrue(e.getMessage().contains("no unmasked token"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.condition(t, Tensor.zeros(2, 6, 7), new float[12], 64, 64));
            assertTrue(e.getMessage().contains("caption features"), e.getMessage());
            w.put("blocks.1.cross_attn.proj.weight", Tensor.zeros(48, 47));
            e = assertThrows(CheckpointException.class, () -> PixArtConfig.resolve("fixture", w, CheckpointFormat.PIXART_ORIGINAL, ORIGINAL_CONFIG, null, null));
            assertTrue(e.getMessage().contains("blocks.1.cross_attn.proj.weight"), e.getMessage());
        }
    }
}
